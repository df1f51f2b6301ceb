//! Offline SQL: `up --sql` makes no connection, and the script it prints, run with
//! `psql -f`, `mysql <` or `sqlite3`, gives the same schema and tracking rows as
//! an online `up`; so does each later revision's script that renders completely
//! (the batch alter of `widen_products_price` on PostgreSQL), the others applied
//! online in between; `down --sql` takes it back to base; `show --sql` prints one
//! revision. On MySQL/MariaDB the scripts are made with `--scratch-url`: the
//! history is replayed on a scratch database there (dropped afterwards), so
//! that `widen_products_price`'s `MODIFY COLUMN` restates the column the
//! history built; without it that part is marked.

mod common;

use common::*;
use migration_core::testing::{ALL, TestDb, admin_url};
use migration_core::url::{Dialect, sqlite_path};
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs a SQL script with the backend's own command-line client.
fn run_script(url: &str, dialect: Dialect, script: &str) {
    let mut cmd = match dialect {
        Dialect::Postgres => {
            let mut c = Command::new("psql");
            c.args(["-v", "ON_ERROR_STOP=1", "-q", "-X", url]);
            c
        }
        Dialect::MySql => {
            // mysql://user@host:port/db
            let rest = url.trim_start_matches("mysql://");
            let (auth, rest) = rest.split_once('@').unwrap();
            let (hostport, db) = rest.split_once('/').unwrap();
            let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
            let mut c = Command::new("mysql");
            c.args([
                "-h",
                host,
                "-P",
                port,
                "-u",
                auth.split(':').next().unwrap(),
                db.split('?').next().unwrap(),
            ]);
            c
        }
        Dialect::Sqlite => {
            let mut c = Command::new("sqlite3");
            c.args(["-bail", sqlite_path(url).unwrap().to_str().unwrap()]);
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("the {} client is needed for this test: {e}", dialect.name()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} rejected the script: {}\n{script}",
        dialect.name(),
        stderr(&out)
    );
}

/// Whether a script has parts that need the live database (a data migration's
/// read, a batch alter's table rebuild), marked `-- OFFLINE:`.
fn marked(script: &str) -> bool {
    script.contains("-- OFFLINE: ")
}

/// `--dialect` and, on MySQL/MariaDB, `--scratch-url` for an offline command.
fn offline_args(dialect: Dialect) -> Vec<String> {
    let mut args = vec!["--dialect".to_owned(), dialect.name().to_owned()];
    if dialect == Dialect::MySql {
        args.extend(["--scratch-url".to_owned(), admin_url(dialect)]);
    }
    args
}

/// `args` followed by [`offline_args`].
fn offline_cli(url: &str, args: &[&str], dialect: Dialect) -> std::process::Output {
    let extra = offline_args(dialect);
    let all: Vec<&str> = args
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .collect();
    cli(url, &all)
}

/// The MySQL scratch databases an offline copy left behind (there must be none).
async fn leftover_copies() -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let db = sea_orm::Database::connect(admin_url(Dialect::MySql))
        .await
        .unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            sea_orm::DbBackend::MySql,
            "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata \
             WHERE schema_name LIKE 'offline\\_copy\\_%'",
        ))
        .await
        .unwrap();
    db.close().await.ok();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

/// The newest revision up to which every revision renders completely offline,
/// and the revisions that do not.
fn last_fully_renderable(dialect: Dialect) -> (String, Vec<String>) {
    let ids = project_ids();
    let mut last = String::from("base");
    let mut unrenderable = Vec::new();
    for id in &ids {
        let out = offline_cli("", &["show", id, "--sql"], dialect);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        if marked(&stdout(&out)) {
            unrenderable.push(id.clone());
        } else if unrenderable.is_empty() {
            last = id.clone();
        }
    }
    (last, unrenderable)
}

/// The two databases have the same schema and tracking rows.
async fn assert_same(dialect: Dialect, online: &str, offline: &str) {
    let (rows_offline, schema_offline) = snapshot(offline).await;
    let (rows_online, schema_online) = snapshot(online).await;
    let diff = schema_online.diff_lines(&schema_offline);
    assert!(diff.is_empty(), "{}: {}", dialect.name(), diff.join("\n"));
    assert!(schema_online.tables.len() >= 6);
    let key = |rows: &[migration_core::history::HistoryRow]| {
        let mut k: Vec<_> = rows
            .iter()
            .map(|r| (r.revision.clone(), r.checksum.clone(), r.status.clone()))
            .collect();
        k.sort();
        k
    };
    assert_eq!(key(&rows_offline), key(&rows_online));
}

#[tokio::test]
async fn offline_scripts_run_by_the_database_clients_equal_an_online_up() {
    for dialect in ALL {
        let Some(online) = TestDb::create(dialect, "online").await else {
            continue;
        };
        let Some(offline) = TestDb::create(dialect, "offline").await else {
            continue;
        };
        let (last, unrenderable) = last_fully_renderable(dialect);
        assert!(
            project_ids().iter().position(|id| *id == last).unwrap() >= 5,
            "{last}"
        );

        // No connection is made: an unreachable URL works.
        let unreachable = "postgres://app:secret@127.0.0.1:1/nowhere";
        let out = offline_cli(unreachable, &["up", "--sql", "--to", &last], dialect);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains("BEGIN;") && script.contains("COMMIT;"));
        assert!(script.contains("seaorm_revisions"));
        assert!(!script.contains("-- OFFLINE"), "{script}");

        run_script(&offline.url, dialect, &script);
        assert_eq!(
            cli(&online.url, &["up", "--to", &last]).status.code(),
            Some(0)
        );

        assert_same(dialect, &online.url, &offline.url).await;
        // The CLI agrees the scripted database is where the online one is.
        let offline_current = cli_json(&offline.url, &["current", "--format", "json"]);
        assert_eq!(strings(&offline_current["current"]), vec![last.clone()]);

        // The rest of the history, one revision at a time: each whose script
        // renders completely runs as that script, the others run online.
        let ids = project_ids();
        let tail = &ids[ids.iter().position(|id| *id == last).unwrap() + 1..];
        let mut scripted = Vec::new();
        for id in tail {
            let out = offline_cli("", &["show", id, "--sql"], dialect);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            if marked(&stdout(&out)) {
                let up = cli(&offline.url, &["up", "--to", id]);
                assert_eq!(up.status.code(), Some(0), "{}", stderr(&up));
            } else {
                run_script(&offline.url, dialect, &stdout(&out));
                scripted.push(id.as_str());
            }
        }
        assert_eq!(cli(&online.url, &["up"]).status.code(), Some(0));
        assert_same(dialect, &online.url, &offline.url).await;
        assert!(
            scripted.contains(&"m20250612_100000_add_print_jobs_status_created_at_index"),
            "{scripted:?}"
        );
        // Its batch alter renders: from what it declares on PostgreSQL, from
        // the table the history builds on SQLite (replayed in memory, rebuild
        // included) and MySQL (replayed on --scratch-url's server).
        assert!(
            scripted.contains(&"m20250614_090000_widen_products_price"),
            "{scripted:?}"
        );
        if dialect == Dialect::MySql {
            let widen = ["show", "m20250614_090000_widen_products_price", "--sql"];
            let with_copy = stdout(&offline_cli("", &widen, dialect));
            assert!(
                with_copy.contains("MODIFY COLUMN `price` decimal(12, 2) NOT NULL"),
                "{with_copy}"
            );
            let without = cli("", &[&widen[..], &["--dialect", "mysql"]].concat());
            assert_eq!(without.status.code(), Some(0), "{}", stderr(&without));
            assert!(marked(&stdout(&without)), "{}", stdout(&without));
            assert_eq!(leftover_copies().await, Vec::<String>::new());
        }
        // And back, the same way, to where the prefix script left it.
        let migrator = migration::migrator().unwrap();
        for id in tail.iter().rev() {
            let parents = &migrator.graph().get(id).unwrap().parents;
            assert_eq!(parents.len(), 1, "{id}");
            let parent = parents[0].as_str();
            let out = offline_cli(
                "",
                &["down", "--sql", "--from", id, "--to", parent],
                dialect,
            );
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            if marked(&stdout(&out)) {
                let down = cli(&offline.url, &["down", "--to", parent]);
                assert_eq!(down.status.code(), Some(0), "{}", stderr(&down));
            } else {
                run_script(&offline.url, dialect, &stdout(&out));
            }
        }
        let offline_current = cli_json(&offline.url, &["current", "--format", "json"]);
        assert_eq!(strings(&offline_current["current"]), vec![last.clone()]);

        // And back down to base, offline too.
        let down = cli(
            &offline.url,
            &["down", "--sql", "--from", &last, "--to", "base"],
        );
        assert_eq!(down.status.code(), Some(0), "{}", stderr(&down));
        run_script(&offline.url, dialect, &stdout(&down));
        let (rows, schema) = snapshot(&offline.url).await;
        assert!(rows.is_empty() && schema.tables.is_empty(), "{schema}");

        // The whole history: the parts that need a live database are marked and counted.
        let full = cli(unreachable, &["up", "--sql", "--dialect", dialect.name()]);
        assert_eq!(full.status.code(), Some(0), "{}", stderr(&full));
        let marked = stdout(&full).matches("-- OFFLINE: ").count();
        assert!(
            !unrenderable.is_empty() && marked >= unrenderable.len(),
            "{}",
            stdout(&full)
        );
        assert!(
            stderr(&full).contains(&format!("{marked} part(s) of this script")),
            "{}",
            stderr(&full)
        );
    }
}

#[test]
fn show_sql_prints_one_revision_and_from_to_select_a_range() {
    let ids = project_ids();
    let out = cli("", &["show", &ids[3], "--sql", "--dialect", "postgres"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.matches("-- Applying ").count(), 1, "{text}");
    assert!(
        text.contains(&ids[3]) && text.contains("is_featured"),
        "{text}"
    );

    let out = cli(
        "",
        &[
            "up",
            "--sql",
            "--from",
            &ids[1],
            "--to",
            &ids[2],
            "--dialect",
            "mysql",
        ],
    );
    let text = stdout(&out);
    assert_eq!(text.matches("-- Applying ").count(), 1, "{text}");
    assert!(text.contains("`print_jobs`"), "{text}");

    let out = cli("", &["up", "--sql", "--dialect", "oracle"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `up --sql --from current` (what `just migrate-dry-run` runs) reads where the
/// database is, read only, and scripts only what is pending there; the
/// script then takes the database to the head.
#[tokio::test]
async fn from_current_scripts_what_is_pending_on_the_database() {
    let ids = project_ids();
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "offline_current").await else {
            continue;
        };
        let url = db.url.as_str();
        // A fresh database: everything is pending, and nothing is created.
        let out = cli(url, &["up", "--sql", "--from", "current"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            stdout(&out).matches("-- Applying ").count(),
            ids.len(),
            "{}",
            stdout(&out)
        );
        let (rows, schema) = snapshot(url).await;
        assert!(rows.is_empty() && schema.tables.is_empty(), "{schema}");

        assert_eq!(cli(url, &["up", "--to", &ids[2]]).status.code(), Some(0));
        let before = snapshot(url).await;
        let out = offline_cli(url, &["up", "--sql", "--from", "current"], dialect);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let script = stdout(&out);
        assert_eq!(
            before,
            snapshot(url).await,
            "--from current wrote something"
        );
        assert_eq!(
            script.matches("-- Applying ").count(),
            ids.len() - 3,
            "{script}"
        );
        assert!(
            !script.contains(&format!("-- Applying {}", ids[2])),
            "{script}"
        );
        assert!(
            script.contains(&format!("-- Applying {}", ids[3])),
            "{script}"
        );
        if !marked(&script) {
            run_script(url, dialect, &script);
            let status = cli_json(url, &["status", "--format", "json"]);
            assert_eq!(
                status["pending"].as_array().map(Vec::len),
                Some(0),
                "{status}"
            );
        }
    }
}
