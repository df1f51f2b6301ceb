//! Start-up behaviour: `MIGRATE_ON_START=check`, unreachable or late databases,
//! a database ahead of the code, bad configuration, and signals.

use crate::support;
use migration_core::backend;
use migration_core::history::{History, HistoryRow};
use migration_core::testing::{TestDb, admin_url};
use migration_core::url::Dialect;
use sea_orm::Database;
use std::time::{Duration, Instant};

crate::per_backend!(check_policy, super::check_policy_on);

/// `check` refuses a fresh database (pending migrations) without touching it,
/// and starts once `upgrade` has migrated it.
async fn check_policy_on(dialect: Dialect) {
    let Some(db) = TestDb::create(dialect, "appcheck").await else {
        return;
    };
    let mut refused = support::spawn(&db.url, &[("MIGRATE_ON_START", "check")]);
    let status = refused.wait_exit(Duration::from_secs(30));
    let stderr = refused.stderr();
    assert!(!status.success(), "check started with pending migrations");
    assert!(
        stderr.contains("MIGRATE_ON_START=check") && stderr.contains("pending"),
        "{stderr}"
    );
    assert!(!refused.stdout().contains("listening"));
    let conn = Database::connect(&db.url).await.unwrap();
    let schema = backend::reflect(&conn, &[]).await.unwrap();
    assert!(
        schema.tables.is_empty(),
        "check changed the database: {:?}",
        schema.tables.keys()
    );
    conn.close().await.unwrap();

    let mut upgrade = support::spawn(&db.url, &[("MIGRATE_ON_START", "upgrade")]);
    upgrade.wait_ready();
    drop(upgrade);
    let mut checked = support::spawn(&db.url, &[("MIGRATE_ON_START", "check")]);
    let addr = checked.wait_ready();
    support::assert_healthy(&addr);
}

/// A database with a revision the code does not know is ahead of the code:
/// the app refuses to start in every mode that migrates or checks, and never
/// downgrades.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_ahead_of_the_code_refuses_to_start() {
    let Some(db) = TestDb::create(Dialect::Sqlite, "appahead").await else {
        return;
    };
    let mut first = support::spawn(&db.url, &[]);
    first.wait_ready();
    drop(first);
    let migrator = migration::migrator().unwrap();
    let history = History::new(migrator.history_table());
    let conn = Database::connect(&db.url).await.unwrap();
    let future = "m29991231_000000_from_the_future";
    history
        .insert(&conn, &HistoryRow::applied(future, 0, "0"))
        .await
        .unwrap();
    let before = history.read_existing(&conn).await.unwrap();
    for policy in ["upgrade", "check"] {
        let mut app = support::spawn(&db.url, &[("MIGRATE_ON_START", policy)]);
        let status = app.wait_exit(Duration::from_secs(30));
        assert!(!status.success(), "{policy}: started on a database ahead");
        assert!(app.stderr().contains(future), "{policy}: {}", app.stderr());
    }
    assert_eq!(history.read_existing(&conn).await.unwrap(), before);
    conn.close().await.unwrap();
}

/// A server that refuses connections: the app retries (logging the masked
/// URL), then exits non-zero with a clear message, never printing the password.
#[test]
fn unreachable_database_retries_then_exits_without_the_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let password = "S3cr3t-Pa55word";
    let url = format!("postgres://app:{password}@127.0.0.1:{port}/app");
    let started = Instant::now();
    let mut app = support::spawn(
        &url,
        &[
            ("DB_CONNECT_ATTEMPTS", "3"),
            ("DB_CONNECT_TIMEOUT", "1"),
            ("DB_CONNECT_BACKOFF_MS", "100"),
        ],
    );
    let status = app.wait_exit(Duration::from_secs(30));
    let (stdout, stderr) = (app.stdout(), app.stderr());
    assert!(!status.success());
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains("cannot connect") && stderr.contains("after 3 attempt(s)"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("retrying").count(), 2, "{stderr}");
    assert!(stderr.contains("app:***@127.0.0.1"), "{stderr}");
    assert!(!stderr.contains(password) && !stdout.contains(password));
    assert!(started.elapsed() < Duration::from_secs(20));
}

/// Creates and drops a PostgreSQL database by name (the app waits for it).
struct LateDatabase {
    name: String,
    admin: String,
}

impl Drop for LateDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _ = rt.block_on(backend::of(Dialect::Postgres).drop_database(&admin, &name));
        })
        .join();
    }
}

/// The database does not exist when the app starts and appears ~2 s later: the
/// app retries the failed connections and becomes healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_created_late_is_waited_for() {
    // Learn the URL of a database of our chosen name, then make it disappear.
    let Some(probe) = TestDb::create(Dialect::Postgres, "probe").await else {
        return;
    };
    drop(probe);
    let backend = backend::of(Dialect::Postgres);
    let admin = admin_url(Dialect::Postgres);
    let late = LateDatabase {
        name: format!(
            "t_applate_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_subsec_micros()
        ),
        admin: admin.clone(),
    };
    let url = backend.create_database(&admin, &late.name).await.unwrap();
    backend.drop_database(&admin, &late.name).await.unwrap();

    let mut app = support::spawn(
        &url,
        &[
            ("DB_CONNECT_ATTEMPTS", "30"),
            ("DB_CONNECT_TIMEOUT", "2"),
            ("DB_CONNECT_BACKOFF_MS", "200"),
        ],
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !app.stdout().contains("listening"),
        "started without a database"
    );
    backend.create_database(&admin, &late.name).await.unwrap();
    let addr = app.wait_ready();
    support::assert_healthy(&addr);
    let stderr = app.stderr();
    assert!(stderr.contains("retrying"), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
}

/// SIGTERM and Ctrl-C (SIGINT) stop the server promptly with exit code 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_ctrl_c_exit_zero_promptly() {
    let Some(db) = TestDb::create(Dialect::Sqlite, "appsignal").await else {
        return;
    };
    for (signal, logged) in [("TERM", "SIGTERM received"), ("INT", "Ctrl-C received")] {
        let mut app = support::spawn(&db.url, &[]);
        let addr = app.wait_ready();
        support::assert_healthy(&addr);
        let sent = Instant::now();
        app.signal(signal);
        let status = app.wait_exit(Duration::from_secs(10));
        assert_eq!(status.code(), Some(0), "SIG{signal}: {}", app.stderr());
        assert!(sent.elapsed() < Duration::from_secs(5));
        assert!(app.stderr().contains(logged), "{}", app.stderr());
    }
}

/// An unusable variable is a configuration error: exit code 2, naming it.
#[test]
fn bad_configuration_exits_2() {
    let mut app = support::spawn("sqlite::memory:", &[("MIGRATE_ON_START", "sideways")]);
    let status = app.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(2));
    assert!(
        app.stderr().contains("MIGRATE_ON_START"),
        "{}",
        app.stderr()
    );
}

/// `/health` answers 503 `"database": "unavailable"` (no details) while the
/// database refuses connections, and `ok` again once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_an_unavailable_database_without_details() {
    use sea_orm::ConnectionTrait;
    let Some(db) = TestDb::create(Dialect::Postgres, "apphealth").await else {
        return;
    };
    let name = db
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let mut app = support::spawn(&db.url, &[("DB_CONNECT_TIMEOUT", "1")]);
    let addr = app.wait_ready();
    support::assert_healthy(&addr);

    let admin = Database::connect(admin_url(Dialect::Postgres))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap();
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .unwrap();
    let health = support::get(&addr, "/health");
    assert_eq!(health.status, 503, "{:?}", health.body);
    assert_eq!(health.body["database"], "unavailable");
    assert_eq!(health.body["status"], "unavailable");
    let shown = health.body.to_string();
    assert!(!shown.contains(name) && !shown.contains("allow"), "{shown}");
    // An API call answers 503 with a generic message too.
    let users = support::get(&addr, "/users");
    assert_eq!(users.status, 503, "{:?}", users.body);
    assert!(!users.error().contains(name), "{}", users.error());

    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" WITH ALLOW_CONNECTIONS true"
        ))
        .await
        .unwrap();
    admin.close().await.unwrap();
    support::assert_healthy(&addr);
}

/// Behind PgBouncer in transaction pooling (what managed PostgreSQL poolers
/// run): the app sees the pooler (`MIGRATION_POOLER=auto`), migrates on
/// start, serves the whole CRUD scenario, and a second start applies nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_and_serves_through_a_transaction_pooler() {
    let Some(db) = TestDb::create(Dialect::Postgres, "apppool").await else {
        return;
    };
    let Some(bouncer) = migration_core::testing::pgbouncer::PgBouncer::start() else {
        return;
    };
    let url = bouncer.url(&db.url);
    let mut first = support::spawn(&url, &[]);
    let addr = first.wait_ready();
    support::assert_healthy(&addr);
    crate::crud::scenario(&addr);
    let log = first.stderr();
    assert!(log.contains("a pooler or proxy is in between"), "{log}");
    drop(first);

    let mut second = support::spawn(&url, &[]);
    let addr = second.wait_ready();
    support::assert_healthy(&addr);
    let log = second.stderr();
    assert!(!log.contains("applying"), "{log}");
    let conn = Database::connect(&db.url).await.unwrap();
    let rows = History::new(migration_core::revision::DEFAULT_HISTORY_TABLE)
        .read(&conn, backend::of(Dialect::Postgres))
        .await
        .unwrap();
    let (ids, _) = support::revisions();
    assert_eq!(rows.len(), ids.len(), "each revision recorded once");
    conn.close().await.ok();
}

/// Every hostile URL of `testing::HOSTILE_URLS` as `DATABASE_URL` with
/// `RUST_LOG=trace`: the app exits non-zero and nothing it prints carries
/// the URL's secret.
#[test]
fn hostile_database_urls_never_print_their_credentials_even_at_trace() {
    for (url, secrets) in migration_core::testing::HOSTILE_URLS {
        let mut app = support::spawn(
            url,
            &[
                ("RUST_LOG", "trace"),
                ("DB_CONNECT_ATTEMPTS", "1"),
                ("DB_CONNECT_TIMEOUT", "2"),
            ],
        );
        let status = app.wait_exit(Duration::from_secs(30));
        let all = format!("{}{}", app.stdout(), app.stderr());
        assert!(!status.success(), "{url}: started\n{all}");
        for secret in *secrets {
            assert!(!all.contains(secret), "{url} printed `{secret}`:\n{all}");
        }
    }
}
