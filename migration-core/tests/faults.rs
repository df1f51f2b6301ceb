//! Fault injection on every backend: a migration that fails after its first
//! statement, one that panics, SIGKILL during a long backfill, the server
//! dropping the connection, and a second run meeting the held lock. After each:
//! the lock is free, the tracking table is consistent, no row is lost, and the
//! error says what happened.

use migration_core::backend;
use migration_core::history::History;
use migration_core::revision::DEFAULT_HISTORY_TABLE;
use migration_core::testing::{ALL, TestDb};
use migration_core::url::Dialect;
use sea_orm::{ConnectionTrait, Statement};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The fixture CLI (`examples/fixture_migrator.rs`), built by `cargo test`.
fn fixture_bin() -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples").join("fixture_migrator")
}

fn command(url: &str, revisions: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(fixture_bin());
    cmd.arg("-u")
        .arg(url)
        .args(args)
        .env("FIXTURE_REVISIONS", revisions)
        .env("MIGRATION_CONNECT_ATTEMPTS", "1")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn run(url: &str, revisions: &str, args: &[&str]) -> Output {
    let out = command(url, revisions, args)
        .output()
        .expect("run fixture_migrator");
    eprintln!(
        "$ [{revisions}] {}\n  exit {:?}\n  {}\n  {}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out
}

fn err(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn connect(url: &str) -> sea_orm::DatabaseConnection {
    sea_orm::Database::connect(url).await.unwrap()
}

/// (revision, status) rows of the tracking table.
async fn recorded(url: &str) -> Vec<(String, String)> {
    let db = connect(url).await;
    let backend = backend::of(Dialect::from_url(url).unwrap());
    let rows = History::new(DEFAULT_HISTORY_TABLE)
        .read(&db, backend)
        .await
        .unwrap();
    db.close().await.ok();
    let mut rows: Vec<_> = rows.into_iter().map(|r| (r.revision, r.status)).collect();
    rows.sort();
    rows
}

async fn tables(url: &str) -> Vec<String> {
    let db = connect(url).await;
    let schema = backend::reflect(&db, &[DEFAULT_HISTORY_TABLE])
        .await
        .unwrap();
    db.close().await.ok();
    schema.tables.into_keys().collect()
}

async fn count_items(url: &str) -> i64 {
    count_rows(url, "items").await
}

/// The lock is free: a run with a 2 s lock timeout gets it.
fn assert_lock_free(url: &str, revisions: &str) {
    let out = run(url, revisions, &["--lock-timeout", "2", "status"]);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let stamp = run(url, revisions, &["--lock-timeout", "2", "repair"]);
    assert_eq!(
        stamp.status.code(),
        Some(0),
        "lock still held: {}",
        err(&stamp)
    );
}

const ITEMS: &str = "m20250101_000001_items";

/// A test that changes a server-wide setting (MariaDB's global
/// `wait_timeout`) takes this for writing; every other test of this file
/// takes it for reading, so none of them meets the changed setting.
static SERVER_SETTINGS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Rounds of the lock-loss test per backend: CI runs 1; `just test-heavy`
/// (`LOCK_LOSS_ROUNDS=20`) the full count.
fn lock_loss_rounds() -> usize {
    std::env::var("LOCK_LOSS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

async fn count_rows(url: &str, table: &str) -> i64 {
    let db = connect(url).await;
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    db.close().await.ok();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::test]
async fn failing_migration_rolls_back_or_is_recorded_as_failed() {
    let _servers = SERVER_SETTINGS.read().await;
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "fault_fail").await else {
            continue;
        };
        let url = db.url.as_str();
        let runs = tempfile::NamedTempFile::new().unwrap();
        let out = command(url, "items,fail", &["up"])
            .env("FIXTURE_RUNS", runs.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        // The failing `up` ran once: the report did not run it again.
        let ran = std::fs::read_to_string(runs.path()).unwrap();
        assert_eq!(ran.lines().count(), 1, "{}", dialect.name());
        let e = err(&out);
        assert!(
            e.contains("m20250101_000002_fail") && e.contains("while applying"),
            "{e}"
        );
        assert!(
            e.contains("no_such_table"),
            "the database error is shown: {e}"
        );
        let rows = recorded(url).await;
        if dialect == Dialect::MySql {
            // DDL committed implicitly: the half-applied state is recorded and explained.
            assert!(
                e.contains("may be partly applied") && e.contains("recorded as failed"),
                "{e}"
            );
            // What it sent, as sent (the migration is not run again to list
            // it), the refused statement last.
            assert!(
                e.contains("the last is the one that failed")
                    && e.contains("1. CREATE TABLE `half_done`")
                    && e.contains("2. INSERT INTO no_such_table VALUES (1)")
                    && !e.contains("3. "),
                "{e}"
            );
            assert_eq!(
                rows,
                vec![
                    (ITEMS.into(), "applied".into()),
                    ("m20250101_000002_fail".into(), "failed".into())
                ]
            );
            assert!(tables(url).await.contains(&"half_done".to_string()));
            let again = run(url, "items,fail", &["up"]);
            assert_eq!(again.status.code(), Some(1));
            assert!(
                err(&again).contains("failed on an earlier run") && err(&again).contains("repair"),
                "{}",
                err(&again)
            );
            // The next run reads them from the record.
            assert!(
                err(&again).contains("2. INSERT INTO no_such_table VALUES (1)"),
                "{}",
                err(&again)
            );
            let status = run(url, "items,fail", &["status"]);
            assert!(String::from_utf8_lossy(&status.stdout).contains("FAILED"));
            // The operator fixes the schema by hand, then `repair` forgets the failed attempt.
            let conn = connect(url).await;
            conn.execute_unprepared("DROP TABLE half_done")
                .await
                .unwrap();
            conn.close().await.unwrap();
            let repair = run(url, "items,fail", &["repair"]);
            assert_eq!(repair.status.code(), Some(0));
            assert!(String::from_utf8_lossy(&repair.stdout).contains("cleared the failed record"));
            assert_eq!(recorded(url).await, vec![(ITEMS.into(), "applied".into())]);
        } else {
            assert!(
                e.contains("rolled back") && e.contains("exactly as before"),
                "{e}"
            );
            assert!(
                e.contains("1 revision(s) before it in this run stay applied"),
                "{e}"
            );
            assert_eq!(rows, vec![(ITEMS.into(), "applied".into())]);
            assert_eq!(
                tables(url).await,
                vec!["items".to_string()],
                "half_done was rolled back"
            );
        }
        assert_lock_free(url, "items,fail");
    }
}

#[tokio::test]
async fn panic_inside_a_migration_is_an_error_and_releases_the_lock() {
    let _servers = SERVER_SETTINGS.read().await;
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "fault_panic").await else {
            continue;
        };
        let url = db.url.as_str();
        let out = run(url, "items,panic", &["up"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            err(&out).contains("panicked: fixture panic inside a migration"),
            "{}",
            err(&out)
        );
        let rows = recorded(url).await;
        assert_eq!(rows[0], (ITEMS.into(), "applied".into()));
        if dialect != Dialect::MySql {
            assert_eq!(rows.len(), 1);
            assert_eq!(tables(url).await, vec!["items".to_string()]);
        }
        if dialect == Dialect::MySql {
            let repair = run(url, "items,panic", &["repair"]);
            assert_eq!(repair.status.code(), Some(0));
        }
        assert_lock_free(url, "items");
    }
}

/// Starts the fixture CLI with `env` and returns once its long revision is
/// under way (it touches `FIXTURE_MARKER`).
fn under_way(url: &str, revisions: &str, args: &[&str], env: &[(&str, &str)]) -> Child {
    let marker = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    std::fs::remove_file(&marker).unwrap();
    let mut child = command(url, revisions, args)
        .envs(env.iter().copied())
        .env("FIXTURE_MARKER", &*marker)
        .spawn()
        .unwrap();
    wait_for(&marker, &mut child);
    child
}

fn wait_for(marker: &std::path::Path, child: &mut Child) {
    let started = Instant::now();
    while !marker.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the migration ended ({status}) before it was under way");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the migration never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the running `fill`'s record lists statements it finished
/// (the runner rewrites it once the revision has run for a while).
async fn progress_recorded(url: &str, child: &mut Child) {
    let started = Instant::now();
    let db = connect(url).await;
    let backend = backend::of(Dialect::from_url(url).unwrap());
    loop {
        let rows = History::new(DEFAULT_HISTORY_TABLE)
            .read(&db, backend)
            .await
            .unwrap();
        let listed = rows.iter().any(|r| {
            r.revision == "m20250101_000002_fill"
                && r.error
                    .as_deref()
                    .is_some_and(|e| e.contains("1. INSERT INTO"))
        });
        if listed {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the fill ended ({status}) before its progress was recorded");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no progress recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    db.close().await.ok();
}

/// A fresh database at the `items` fixture with three rows (-1, -2, -3) in it.
async fn items_with_three_rows(dialect: Dialect, name: &str) -> Option<TestDb> {
    let db = TestDb::create(dialect, name).await?;
    assert_eq!(run(&db.url, "items", &["up"]).status.code(), Some(0));
    let conn = connect(&db.url).await;
    conn.execute_unprepared("INSERT INTO items (n) VALUES (-1), (-2), (-3)")
        .await
        .unwrap();
    conn.close().await.unwrap();
    Some(db)
}

#[tokio::test]
async fn sigkill_during_a_backfill_loses_nothing_and_the_next_run_finishes() {
    let _servers = SERVER_SETTINGS.read().await;
    let rows: i64 = std::env::var("FAULT_FILL_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let rounds: usize = std::env::var("KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for (dialect, round) in ALL
        .into_iter()
        .flat_map(|d| (0..rounds).map(move |r| (d, r)))
    {
        let Some(db) = items_with_three_rows(dialect, "fault_kill").await else {
            continue;
        };
        let url = db.url.as_str();

        let rows_text = rows.to_string();
        let mut child = under_way(url, "items,fill", &["up"], &[("FIXTURE_ROWS", &rows_text)]);
        // MySQL: past the first progress record of what it sent.
        if dialect == Dialect::MySql {
            progress_recorded(url, &mut child).await;
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();

        // The backfill was one transaction on PostgreSQL and SQLite: nothing of it
        // remains, the rows that were there are intact, and it is not recorded.
        if dialect != Dialect::MySql {
            assert_eq!(count_items(url).await, 3);
            assert_eq!(recorded(url).await, vec![(ITEMS.into(), "applied".into())]);
        }
        if dialect == Dialect::MySql {
            // Nothing could take it back there, so it was recorded as
            // interrupted before its first statement: the next run refuses
            // to build on it, says so, and lists what may have run.
            assert_eq!(
                recorded(url).await,
                vec![
                    (ITEMS.into(), "applied".into()),
                    ("m20250101_000002_fill".into(), "running".into())
                ]
            );
            let refused = run(url, "items,fill", &["--lock-timeout", "5", "up"]);
            let said = err(&refused);
            assert_eq!(refused.status.code(), Some(1), "{said}");
            assert!(
                said.contains("interrupted")
                    && said.contains("What it sent, in order")
                    && said.contains("1. INSERT INTO `items`"),
                "{said}"
            );
            // The operator checks (InnoDB rolled the insert back) and repairs.
            assert_eq!(count_items(url).await, 3);
            assert_eq!(run(url, "items,fill", &["repair"]).status.code(), Some(0));
        }
        // The next run takes the lock at once and finishes the job.
        let out = run(url, "items,fill", &["--lock-timeout", "5", "up"]);
        assert_eq!(out.status.code(), Some(0), "{}", err(&out));
        // No row lost, none doubled: the rows from before and one full fill.
        assert_eq!(count_items(url).await, rows + 3, "round {round}");
        assert_eq!(recorded(url).await.len(), 2);
        if round + 1 == rounds {
            eprintln!(
                "kills on {}: {rounds} round(s), 0 rows lost, 0 unrecorded partial revisions",
                dialect.name()
            );
        }
    }
}

/// A revision that runs outside a transaction (`use_transaction() ==
/// Some(false)`) on PostgreSQL and SQLite, killed part-way: nothing can take
/// it back, so it was recorded as interrupted before its first statement;
/// the next run refuses to build on it and lists what may have run; the
/// operator undoes the part that ran, repairs, and the next run finishes.
#[tokio::test]
async fn sigkill_outside_a_transaction_leaves_the_revision_recorded_as_interrupted() {
    let _servers = SERVER_SETTINGS.read().await;
    let rounds: usize = std::env::var("KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let rows: i64 = 200_000;
    let outside = [("FIXTURE_NO_TRANSACTION", "fill")];
    for (dialect, round) in ALL
        .into_iter()
        // MySQL's DDL commits by itself anyway: the test above covers it.
        .filter(|d| *d != Dialect::MySql)
        .flat_map(|d| (0..rounds).map(move |r| (d, r)))
    {
        let Some(db) = items_with_three_rows(dialect, "fault_kill_outside").await else {
            continue;
        };
        let url = db.url.as_str();

        let rows_text = rows.to_string();
        let env = [outside[0], ("FIXTURE_ROWS", rows_text.as_str())];
        let mut child = under_way(url, "items,fill", &["up"], &env);
        // PostgreSQL: past the first progress record of what it sent.
        if dialect == Dialect::Postgres {
            progress_recorded(url, &mut child).await;
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();

        assert_eq!(
            recorded(url).await,
            vec![
                (ITEMS.into(), "applied".into()),
                ("m20250101_000002_fill".into(), "running".into())
            ],
            "{} round {round}",
            dialect.name()
        );
        // Its first chunk committed (no transaction): the rows stay.
        let partial = count_items(url).await;
        assert!(partial >= 1003 && partial < rows + 3, "{partial} rows");
        let mut refused = command(url, "items,fill", &["--lock-timeout", "5", "up"]);
        let refused = refused.envs(outside).output().unwrap();
        let said = err(&refused);
        assert_eq!(refused.status.code(), Some(1), "{said}");
        assert!(said.contains("interrupted"), "{said}");
        if dialect == Dialect::Postgres {
            // What finished is recorded as it ran: at least those chunks
            // are in the table (the one after the last listed may be too).
            let listed = said
                .lines()
                .filter_map(|l| l.trim().split_once(". INSERT INTO"))
                .filter_map(|(n, _)| n.parse::<i64>().ok())
                .max()
                .unwrap_or_else(|| panic!("no statement listed: {said}"));
            assert!(said.contains("What it sent, in order"), "{said}");
            assert!(
                listed * 1000 + 3 <= partial,
                "{listed} listed, {partial} rows"
            );
        } else {
            // sqlx-sqlite runs statements on a thread the runner cannot watch.
            assert!(said.contains("No statement of it is recorded"), "{said}");
        }
        assert!(said.contains("use_transaction() is Some(false)"), "{said}");
        assert_eq!(
            count_items(url).await,
            partial,
            "a refused run changes nothing"
        );

        // The operator undoes the part that ran and repairs.
        let conn = connect(url).await;
        conn.execute_unprepared("DELETE FROM items WHERE n >= 0")
            .await
            .unwrap();
        conn.close().await.unwrap();
        assert_eq!(run(url, "items,fill", &["repair"]).status.code(), Some(0));
        let mut again = command(url, "items,fill", &["--lock-timeout", "5", "up"]);
        let again = again.envs(outside).output().unwrap();
        assert_eq!(again.status.code(), Some(0), "{}", err(&again));
        assert_eq!(count_items(url).await, rows + 3, "round {round}");
        assert_eq!(
            recorded(url).await,
            vec![
                (ITEMS.into(), "applied".into()),
                ("m20250101_000002_fill".into(), "applied".into())
            ]
        );
    }
}

/// A revision that leaves `use_transaction()` at `None` and runs a statement
/// the server refuses inside a transaction (PostgreSQL's `CREATE INDEX
/// CONCURRENTLY`, SQLite's `VACUUM`) is rolled back and run again outside
/// one, with a warning naming the fix.
#[tokio::test]
async fn a_revision_the_server_refuses_in_a_transaction_runs_outside_one() {
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "fault_outside").await else {
            continue;
        };
        let url = db.url.as_str();
        let out = run(url, "items,outside", &["up"]);
        assert_eq!(out.status.code(), Some(0), "{}", err(&out));
        let said = err(&out) + &String::from_utf8_lossy(&out.stdout);
        if dialect != Dialect::MySql {
            assert!(
                said.contains("cannot run inside a transaction") && said.contains("Some(false)"),
                "{said}"
            );
        }
        assert_eq!(
            recorded(url).await,
            vec![
                (ITEMS.into(), "applied".into()),
                ("m20250101_000002_outside".into(), "applied".into())
            ]
        );
        assert!(tables(url).await.contains(&"outside_done".to_owned()));
    }
}

/// Kills every other session on the test database, as a failover or an admin would.
async fn kill_sessions(url: &str, dialect: Dialect) -> usize {
    let admin = connect(url).await;
    let killed = match dialect {
        Dialect::Postgres => {
            let rows = admin
                .query_all_raw(Statement::from_string(
                    admin.get_database_backend(),
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                ))
                .await
                .unwrap();
            rows.len()
        }
        Dialect::MySql => {
            let rows = admin
                .query_all_raw(Statement::from_string(
                    admin.get_database_backend(),
                    "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST \
                     WHERE DB = DATABASE() AND ID <> CONNECTION_ID()",
                ))
                .await
                .unwrap();
            for row in &rows {
                let id: i64 = row.try_get_by_index(0).unwrap();
                let _ = admin.execute_unprepared(&format!("KILL {id}")).await;
            }
            rows.len()
        }
        Dialect::Sqlite => 0,
    };
    admin.close().await.ok();
    killed
}

#[tokio::test]
async fn server_dropping_the_connection_mid_migration() {
    let _servers = SERVER_SETTINGS.read().await;
    for dialect in [Dialect::Postgres, Dialect::MySql] {
        let Some(db) = TestDb::create(dialect, "fault_drop").await else {
            continue;
        };
        let url = db.url.as_str();
        assert_eq!(run(url, "items", &["up"]).status.code(), Some(0));
        let child = under_way(url, "items,slow", &["up"], &[("FIXTURE_SLEEP_MS", "3000")]);
        assert!(
            kill_sessions(url, dialect).await >= 2,
            "the migration and lock connections"
        );
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", err(&out));
        assert!(err(&out).contains("m20250101_000002_slow"), "{}", err(&out));
        // Consistent: on PostgreSQL the revision left nothing; either way `items` is
        // applied and the lock is free for the next run, which completes.
        let rows = recorded(url).await;
        assert_eq!(rows[0], (ITEMS.into(), "applied".into()));
        if dialect == Dialect::Postgres {
            assert_eq!(rows.len(), 1);
            assert_eq!(tables(url).await, vec!["items".to_string()]);
        } else {
            let conn = connect(url).await;
            let _ = conn
                .execute_unprepared("DROP TABLE IF EXISTS slow_done")
                .await;
            conn.close().await.ok();
            assert_eq!(run(url, "items,slow", &["repair"]).status.code(), Some(0));
        }
        let out = run(url, "items,slow", &["--lock-timeout", "5", "up"]);
        assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    }
}

#[tokio::test]
async fn a_second_run_waits_for_the_lock_or_times_out_clearly() {
    let _servers = SERVER_SETTINGS.read().await;
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "lock_wait").await else {
            continue;
        };
        let url = db.url.as_str();
        let holder = under_way(
            url,
            "slow,items",
            &["up", "-n", "1"],
            &[("FIXTURE_SLEEP_MS", "2500")],
        );

        // With a short timeout: a clear failure, and nothing changes.
        let out = run(url, "slow,items", &["--lock-timeout", "1", "up"]);
        assert_eq!(out.status.code(), Some(1));
        let e = err(&out);
        assert!(
            e.contains("timed out") && e.contains("waiting for the migration lock"),
            "{e}"
        );
        assert!(e.contains("held by"), "says who holds it: {e}");

        // With the default timeout: waits, says so once, then applies the rest.
        let out = run(url, "slow,items", &["up"]);
        let holder_out = holder.wait_with_output().unwrap();
        assert_eq!(holder_out.status.code(), Some(0), "{}", err(&holder_out));
        assert_eq!(out.status.code(), Some(0), "{}", err(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout.matches("Waiting for the migration lock").count(),
            1,
            "{stdout}"
        );
        assert!(
            stdout.contains("Applying m20250101_000002_items"),
            "{stdout}"
        );
        assert!(
            !stdout.contains("Applying m20250101_000001_slow"),
            "re-read after the lock: {stdout}"
        );
        assert_eq!(recorded(url).await.len(), 2);
    }
}

/// Kills the migration lock's own connection (only it), as a server, a
/// pooler or a NAT dropping an idle connection would; returns how many.
async fn kill_lock_session(url: &str, dialect: Dialect) -> usize {
    let admin = connect(url).await;
    let ids: Vec<i64> = match dialect {
        Dialect::Postgres => admin
            .query_all_raw(Statement::from_string(
                admin.get_database_backend(),
                "SELECT pg_terminate_backend(pid)::int::int8 FROM pg_stat_activity \
                 WHERE datname = current_database() AND application_name LIKE 'migration lock%'",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<i64>(0).unwrap())
            .collect(),
        Dialect::MySql => {
            let rows = admin
                .query_all_raw(Statement::from_string(
                    admin.get_database_backend(),
                    format!(
                        "SELECT CAST(IS_USED_LOCK(SHA1(CONCAT('migration-lock:', DATABASE(), ':', \
                         '{DEFAULT_HISTORY_TABLE}'))) AS SIGNED)"
                    ),
                ))
                .await
                .unwrap();
            let ids: Vec<i64> = rows
                .iter()
                .filter_map(|r| r.try_get_by_index::<Option<i64>>(0).unwrap())
                .collect();
            for id in &ids {
                admin
                    .execute_unprepared(&format!("KILL {id}"))
                    .await
                    .unwrap();
            }
            ids
        }
        Dialect::Sqlite => Vec::new(),
    };
    admin.close().await.ok();
    ids.len()
}

/// Sets MariaDB's global `wait_timeout` back when dropped, on every path (a
/// failed assertion included): later tests must not meet a 2 s reaper.
struct RestoreWaitTimeout {
    url: String,
    old: i64,
}

impl Drop for RestoreWaitTimeout {
    fn drop(&mut self) {
        let (url, old) = (self.url.clone(), self.old);
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let admin = sea_orm::Database::connect(&url).await.unwrap();
                admin
                    .execute_unprepared(&format!("SET GLOBAL wait_timeout = {old}"))
                    .await
                    .unwrap();
                admin.close().await.ok();
            });
        })
        .join()
        .unwrap();
    }
}

/// The heartbeat: with the servers reaping sessions idle for about a
/// second, the lock's connection (idle while a revision runs) survives a
/// 4 s revision, so a second run waits instead of entering beside it.
#[tokio::test]
async fn the_lock_outlives_idle_reapers_and_a_second_run_waits() {
    let _servers = SERVER_SETTINGS.write().await;
    for dialect in [Dialect::Postgres, Dialect::MySql] {
        let Some(db) = TestDb::create(dialect, "idle_reap").await else {
            continue;
        };
        let url = db.url.as_str();
        assert_eq!(run(url, "items", &["up"]).status.code(), Some(0));
        let admin = connect(url).await;
        let mut restore = None;
        match dialect {
            Dialect::Postgres => {
                let name = url.rsplit('/').next().unwrap();
                for setting in [
                    "idle_in_transaction_session_timeout",
                    "idle_session_timeout",
                ] {
                    admin
                        .execute_unprepared(&format!(
                            "ALTER DATABASE \"{name}\" SET {setting} = '1s'"
                        ))
                        .await
                        .unwrap();
                }
            }
            _ => {
                let row = admin
                    .query_one_raw(Statement::from_string(
                        admin.get_database_backend(),
                        "SELECT CAST(@@global.wait_timeout AS SIGNED)",
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                restore = Some(RestoreWaitTimeout {
                    url: url.to_owned(),
                    old: row.try_get_by_index(0).unwrap(),
                });
                admin
                    .execute_unprepared("SET GLOBAL wait_timeout = 2")
                    .await
                    .unwrap();
            }
        }
        admin.close().await.ok();
        let first = under_way(url, "items,busy", &["up"], &[("FIXTURE_SLEEP_MS", "4000")]);
        // The first run's connections are open and carry the short timeout.
        drop(restore.take());
        // Longer than either reaper: without a heartbeat the lock is gone now.
        std::thread::sleep(Duration::from_millis(2500));
        let second = run(url, "items,busy", &["--lock-timeout", "30", "up"]);
        let first = first.wait_with_output().unwrap();
        assert_eq!(first.status.code(), Some(0), "{}", err(&first));
        assert_eq!(second.status.code(), Some(0), "{}", err(&second));
        let said = String::from_utf8_lossy(&second.stdout);
        assert!(said.contains("Waiting for the migration lock"), "{said}");
        assert!(!said.contains("Applying"), "the second run applied: {said}");
        assert_eq!(recorded(url).await.len(), 2);
        assert_eq!(count_rows(url, "busy_done").await, 1, "applied once");
    }
}

/// Fencing: the lock's connection is killed while a revision runs, a
/// second run takes the lock and applies the revision; the first proves
/// its lock before committing, finds it lost, and stops without committing
/// beside the second (PostgreSQL: rolled back; MariaDB, whose DDL commits
/// by itself: stopped before recording, and says so).
#[tokio::test]
async fn a_lost_lock_stops_the_run_before_it_commits_beside_another() {
    let _servers = SERVER_SETTINGS.read().await;
    let rounds = lock_loss_rounds();
    for dialect in [Dialect::Postgres, Dialect::MySql] {
        let mut doubled = 0;
        for round in 0..rounds {
            let Some(db) = TestDb::create(dialect, "lock_lost").await else {
                break;
            };
            let url = db.url.as_str();
            assert_eq!(run(url, "items", &["up"]).status.code(), Some(0));
            let first = under_way(url, "items,busy", &["up"], &[("FIXTURE_SLEEP_MS", "3000")]);
            assert_eq!(kill_lock_session(url, dialect).await, 1, "round {round}");
            let second = (dialect == Dialect::Postgres)
                .then(|| run(url, "items,busy", &["--lock-timeout", "30", "up"]));
            let first = first.wait_with_output().unwrap();
            let said = err(&first);
            assert_eq!(first.status.code(), Some(1), "round {round}: {said}");
            assert!(said.contains("the migration lock was lost"), "{said}");
            if let Some(second) = second {
                // PostgreSQL: the first run's revision was rolled back; the
                // second applied it, once.
                assert!(said.contains("was rolled back"), "{said}");
                assert_eq!(second.status.code(), Some(0), "{}", err(&second));
                assert_eq!(recorded(url).await.len(), 2);
            } else {
                // MariaDB: the DDL and the insert committed as they ran; the
                // revision is recorded as interrupted, not applied, and the
                // message says so.
                assert!(
                    said.contains("recorded as applied but as interrupted"),
                    "{said}"
                );
                assert_eq!(
                    recorded(url).await,
                    vec![
                        (ITEMS.into(), "applied".into()),
                        ("m20250101_000002_busy".into(), "running".into())
                    ]
                );
            }
            let rows = count_rows(url, "busy_done").await;
            assert!(rows <= 1, "round {round}: applied {rows} times");
            doubled += usize::from(rows > 1);
        }
        eprintln!(
            "lock loss on {}: {rounds} round(s), {doubled} double applications",
            dialect.name()
        );
    }
}

const LOCK_TABLE: &str = "seaorm_revisions_lock";

/// The table lock (a lease in `<tracking table>_lock`) on every backend: a
/// second run waits and names the holder; the lease of a run killed while
/// it held it is taken over once its heartbeat has been still for a lease,
/// with a warning; a lease taken from a run while a revision runs stops the
/// run before it records beside the new owner.
#[tokio::test]
async fn the_table_lock_waits_takes_over_a_dead_holders_lease_and_fences() {
    let _servers = SERVER_SETTINGS.read().await;
    assert_eq!(
        migration_core::backend::lease::table_for(DEFAULT_HISTORY_TABLE),
        LOCK_TABLE
    );
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "table_lock").await else {
            continue;
        };
        let url = db.url.as_str();
        let table = ["--lock", "table"];
        assert_eq!(
            run(url, "items", &[&table[..], &["up"]].concat())
                .status
                .code(),
            Some(0)
        );

        // 1. A second run waits for the lease and names its holder.
        let first = under_way(
            url,
            "items,slow",
            &["--lock", "table", "up"],
            &[("FIXTURE_SLEEP_MS", "2000")],
        );
        let pid = first.id();
        let second = run(
            url,
            "items,slow",
            &["--lock", "table", "--lock-timeout", "30", "up"],
        );
        let first = first.wait_with_output().unwrap();
        assert_eq!(first.status.code(), Some(0), "{}", err(&first));
        assert_eq!(second.status.code(), Some(0), "{}", err(&second));
        let said = String::from_utf8_lossy(&second.stdout);
        assert!(
            said.contains("Waiting for the migration lock, held by")
                && said.contains(&format!("pid {pid} "))
                && said.contains(LOCK_TABLE),
            "{dialect:?}: {said}"
        );
        assert!(!said.contains("Applying"), "{said}");
        assert_eq!(recorded(url).await.len(), 2);

        // 2. A holder killed with its lease held: the next run takes it over.
        let mut doomed = under_way(
            url,
            "items,slow,busy",
            &["--lock", "table", "up"],
            &[("FIXTURE_SLEEP_MS", "20000")],
        );
        doomed.kill().unwrap();
        doomed.wait().unwrap();
        // MariaDB recorded it as interrupted and committed its DDL: the
        // operator undoes that and `repair`s, the run that takes the lease
        // over there.
        let next_command = if dialect == Dialect::MySql {
            let conn = connect(url).await;
            conn.execute_unprepared("DROP TABLE busy_done")
                .await
                .unwrap();
            conn.close().await.ok();
            "repair"
        } else {
            "up"
        };
        let started = Instant::now();
        let next = command(
            url,
            "items,slow,busy",
            &[
                "--lock",
                "table",
                "--lock-lease",
                "2",
                "--lock-timeout",
                "30",
                next_command,
            ],
        )
        .env("FIXTURE_SLEEP_MS", "0")
        .output()
        .unwrap();
        assert_eq!(next.status.code(), Some(0), "{dialect:?}: {}", err(&next));
        assert!(
            err(&next).contains("took over a stale migration lock"),
            "{}",
            err(&next)
        );
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "taken over early"
        );
        if dialect == Dialect::MySql {
            let up = command(url, "items,slow,busy", &["--lock", "table", "up"])
                .env("FIXTURE_SLEEP_MS", "0")
                .output()
                .unwrap();
            assert_eq!(up.status.code(), Some(0), "{}", err(&up));
        }
        assert_eq!(recorded(url).await.len(), 3);
        assert_eq!(count_rows(url, "busy_done").await, 1);

        // 3. Fencing: the lease is taken from a run while its revision runs.
        // (SQLite: a writer waits for the revision's own write lock, so no
        // one can take the lease from under a running revision there.)
        if dialect == Dialect::Sqlite {
            continue;
        }
        let db = TestDb::create(dialect, "table_fence").await.unwrap();
        let url = db.url.as_str();
        let robbed = under_way(
            url,
            "items,busy",
            &["--lock", "table", "--lock-lease", "3", "up"],
            &[("FIXTURE_SLEEP_MS", "3000")],
        );
        let conn = connect(url).await;
        let stolen = conn
            .execute_unprepared(&format!(
                "UPDATE {LOCK_TABLE} SET owner = 'another migrator'"
            ))
            .await
            .unwrap();
        assert_eq!(stolen.rows_affected(), 1);
        conn.close().await.ok();
        let robbed = robbed.wait_with_output().unwrap();
        let said = err(&robbed);
        assert_eq!(robbed.status.code(), Some(1), "{said}");
        assert!(said.contains("the migration lock was lost"), "{said}");
        let mut expected = vec![(ITEMS.to_string(), "applied".to_string())];
        if dialect == Dialect::MySql {
            // Recorded as interrupted before its first statement.
            expected.push(("m20250101_000002_busy".into(), "running".into()));
        }
        assert_eq!(recorded(url).await, expected);
        if dialect == Dialect::Postgres {
            assert!(said.contains("was rolled back"), "{said}");
            assert_eq!(
                tables(url).await,
                vec!["items".to_string(), LOCK_TABLE.to_string()]
            );
        }
    }
}

/// PostgreSQL after a kill: the killed run's server process goes on with
/// its statement, holding its locks, until the statement ends. The next
/// run takes the migration lock at once and then waits behind those locks:
/// it says which server process it waits for, and what that one runs.
#[tokio::test]
async fn the_next_run_names_the_orphaned_server_process_it_waits_for() {
    let _servers = SERVER_SETTINGS.read().await;
    let Some(db) = TestDb::create(Dialect::Postgres, "orphan").await else {
        return;
    };
    let url = db.url.as_str();
    assert_eq!(run(url, "items", &["up"]).status.code(), Some(0));
    // A 3 s idle reaper makes the lock's heartbeat (which watches for
    // blockers) beat every second.
    let admin = connect(url).await;
    let name = url.rsplit('/').next().unwrap();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" SET idle_session_timeout = '3s'"
        ))
        .await
        .unwrap();
    admin.close().await.ok();
    let mut doomed = under_way(url, "items,busy", &["up"], &[("FIXTURE_SLEEP_MS", "10000")]);
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let next = command(url, "items,busy", &["--lock-timeout", "30", "up"])
        .env("FIXTURE_SLEEP_MS", "0")
        .output()
        .unwrap();
    let said = err(&next);
    assert_eq!(next.status.code(), Some(0), "{said}");
    assert!(
        said.contains("waited over 5 s for locks held by server pid")
            && said.contains("pg_sleep")
            && said.contains("pg_terminate_backend("),
        "{said}"
    );
    assert_eq!(recorded(url).await.len(), 2);
    assert_eq!(count_rows(url, "busy_done").await, 1);
}
