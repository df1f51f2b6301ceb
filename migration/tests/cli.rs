//! The `migration` CLI as a process: exit codes, JSON, and bad input leaving the database unchanged.

mod common;

use common::*;
use migration_core::testing::{ALL, TestDb};
use migration_core::url::Dialect;

/// `down` records the hold, `status` shows it, `history --format svg` draws
/// the states, `up` lifts the hold.
#[tokio::test]
async fn down_holds_and_history_svg_draws_the_states() {
    let Some(db) = TestDb::create(Dialect::Sqlite, "cli_hold").await else {
        return;
    };
    let url = db.url.as_str();
    let ids = project_ids();
    assert_eq!(cli(url, &["up"]).status.code(), Some(0));
    let down = cli(url, &["down", "-n", "2"]);
    assert_eq!(down.status.code(), Some(0));
    assert!(stdout(&down).contains("Hold recorded"), "{}", stdout(&down));
    let status = stdout(&cli(url, &["status"]));
    assert!(status.contains("Hold:    since"), "{status}");
    let json = cli_json(url, &["status", "--format", "json"]);
    assert_eq!(json["hold"]["reverted"].as_array().unwrap().len(), 2);
    assert_eq!(json["hold"]["applies"], true);
    let svg = stdout(&cli(url, &["history", "--format", "svg"]));
    assert_eq!(
        svg.matches(r#"data-state="applied""#).count(),
        ids.len() - 2
    );
    assert_eq!(svg.matches(r#"data-state="pending""#).count(), 2);
    assert!(svg.contains("On hold since"), "{svg}");
    let up = cli(url, &["up"]);
    assert!(stdout(&up).contains("Hold lifted"), "{}", stdout(&up));
    assert!(cli_json(url, &["status", "--format", "json"])["hold"].is_null());
}

#[tokio::test]
async fn up_down_status_and_json_on_every_backend() {
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "cli_updown").await else {
            continue;
        };
        let url = db.url.as_str();
        let ids = project_ids();
        let head = ids.last().unwrap().clone();

        let status = cli_json(url, &["status", "--format", "json"]);
        assert_eq!(strings(&status["heads"]), vec![head.clone()]);
        assert!(strings(&status["current"]).is_empty());
        let revisions = status["revisions"].as_array().unwrap();
        assert_eq!(revisions.len(), ids.len());
        assert!(
            revisions
                .iter()
                .all(|r| r["applied"] == false && r["applied_at"].is_null())
        );

        let up = cli(url, &["up"]);
        assert_eq!(up.status.code(), Some(0), "{dialect:?}: {}", stderr(&up));
        assert!(stdout(&up).contains(&format!("Applied {} revision(s)", ids.len())));

        let status = cli_json(url, &["status", "--format", "json"]);
        assert_eq!(strings(&status["current"]), vec![head.clone()]);
        for r in status["revisions"].as_array().unwrap() {
            assert_eq!(r["applied"], true, "{r}");
            assert!(r["applied_at"].as_str().unwrap().ends_with('Z'));
        }
        assert_eq!(
            strings(&cli_json(url, &["current", "--format", "json"])["current"]),
            vec![head.clone()]
        );
        assert_eq!(
            strings(&cli_json(url, &["heads", "--format", "json"])["heads"]),
            vec![head.clone()]
        );

        // A no-op `up` succeeds and applies nothing.
        let again = cli(url, &["upgrade", "head"]);
        assert_eq!(again.status.code(), Some(0));
        assert!(stdout(&again).contains("Nothing to apply"));

        // Down N undoes everything from the merge on (the merge, the data
        // migration, the index, …): the two branch tips remain current.
        let merge = migration::migrator().unwrap();
        let from_merge = merge
            .graph()
            .topo_order()
            .skip_while(|r| !r.is_merge())
            .count()
            .to_string();
        assert_eq!(
            cli(url, &["down", "-n", &from_merge]).status.code(),
            Some(0)
        );
        let current = strings(&cli_json(url, &["current", "--format", "json"])["current"]);
        assert_eq!(current.len(), 2, "{current:?}");
        let merge_rev = merge.graph().topo_order().find(|r| r.is_merge()).unwrap();
        let mut parents = merge_rev.parents.clone();
        parents.sort();
        let mut current_sorted = current.clone();
        current_sorted.sort();
        assert_eq!(current_sorted, parents);

        // `up` to a prefix, then relative steps, then to base and back.
        assert_eq!(cli(url, &["up", "+1"]).status.code(), Some(0));
        assert_eq!(
            strings(&cli_json(url, &["current", "--format", "json"])["current"]),
            vec![merge_rev.id.clone()]
        );
        assert_eq!(
            cli(url, &["downgrade", "--to", "base"]).status.code(),
            Some(0)
        );
        assert!(strings(&cli_json(url, &["current", "--format", "json"])["current"]).is_empty());
        let (rows, _) = snapshot(url).await;
        assert!(rows.is_empty(), "{rows:?}");
        let first = &ids[0];
        assert_eq!(
            cli(url, &["up", "--to", &first[..12]]).status.code(),
            Some(0)
        );
        assert_eq!(
            strings(&cli_json(url, &["current", "--format", "json"])["current"]),
            vec![first.clone()]
        );
        assert_eq!(
            cli(url, &["up", &format!("{first}+1")]).status.code(),
            Some(0)
        );
        assert_eq!(
            strings(&cli_json(url, &["current", "--format", "json"])["current"]),
            vec![ids[1].clone()]
        );
    }
}

/// sea-orm-migration's `-n` and Alembic's `+N` where they differ from a strict
/// reading only by strictness: `-n 0` does nothing, `-n` past what is there
/// runs what there is and says so, `+N` at the head does nothing.
#[tokio::test]
async fn step_counts_behave_as_sea_orm_migration_and_alembic_users_expect() {
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "cli_steps").await else {
            continue;
        };
        let url = db.url.as_str();
        let ids = project_ids();
        assert_eq!(cli(url, &["up", "--to", &ids[2]]).status.code(), Some(0));
        for args in [&["up", "-n", "0"][..], &["down", "-n", "0"]] {
            let before = snapshot(url).await;
            let out = cli(url, args);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            assert_eq!(snapshot(url).await, before, "{args:?} changed something");
        }
        let out = cli(url, &["up", "-n", "999"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let pending = ids.len() - 3;
        assert!(
            stdout(&out).contains(&format!(
                "-n 999 asked for 999 revision(s); {pending} were pending"
            )),
            "{}",
            stdout(&out)
        );
        assert_eq!(snapshot(url).await.0.len(), ids.len());
        // At the head, `+1` is a no-op.
        let before = snapshot(url).await;
        let out = cli(url, &["up", "+1"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("Nothing to apply"),
            "{}",
            stdout(&out)
        );
        assert_eq!(snapshot(url).await, before);
        // `down -n` past what is applied reverts what there is.
        let out = cli(url, &["down", "-n", "999"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("{} were applied", ids.len())),
            "{}",
            stdout(&out)
        );
        assert!(snapshot(url).await.0.is_empty());
    }
}

/// sea-orm-cli's `-s` / `DATABASE_SCHEMA` on PostgreSQL: every command works
/// in that schema (created by the first that writes), tracking table
/// included, and `public` is never touched; elsewhere the flag is refused.
#[tokio::test]
async fn a_postgres_schema_other_than_public_for_every_command() {
    use sea_orm::ConnectionTrait;
    let Some(db) = TestDb::create(Dialect::Postgres, "cli_schema").await else {
        return;
    };
    let url = db.url.as_str();
    let ids = project_ids();
    let tables_in = |schema: &'static str| async move {
        let conn = sea_orm::Database::connect(url).await.unwrap();
        let rows = conn
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = '{schema}' ORDER BY 1"
                ),
            ))
            .await
            .unwrap();
        conn.close().await.ok();
        rows.iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect::<Vec<_>>()
    };
    let s = |args: &[&str]| {
        let mut all = vec!["-s", "Tenant A"];
        all.extend_from_slice(args);
        cli(url, &all)
    };
    let out = s(&["up"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let tenant = tables_in("Tenant A").await;
    assert!(
        tenant.contains(&"seaorm_revisions".to_owned()),
        "{tenant:?}"
    );
    assert!(tenant.len() > 3, "{tenant:?}");
    assert!(tables_in("public").await.is_empty());

    // Read-only commands read there; without the schema nothing is applied.
    let status = s(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(json["pending"].as_array().map(Vec::len), Some(0), "{json}");
    let plain = cli_json(url, &["status", "--format", "json"]);
    assert_eq!(plain["pending"].as_array().map(Vec::len), Some(ids.len()));
    // DATABASE_SCHEMA is the same setting.
    let env = std::process::Command::new(BIN)
        .args(["-u", url, "current", "--format", "json"])
        .env("DATABASE_SCHEMA", "Tenant A")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let current: serde_json::Value = serde_json::from_slice(&env.stdout).unwrap();
    assert!(!strings(&current["current"]).is_empty(), "{current}");

    assert_eq!(s(&["down", "-n", "2"]).status.code(), Some(0));
    assert_eq!(s(&["up"]).status.code(), Some(0));
    let check = s(&["check", "-u", url]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        stdout(&check),
        stderr(&check)
    );
    assert_eq!(s(&["fresh", "--yes"]).status.code(), Some(0));
    assert_eq!(tables_in("Tenant A").await, tenant);
    assert_eq!(s(&["reset", "--yes"]).status.code(), Some(0));
    assert!(
        !tables_in("Tenant A")
            .await
            .contains(&"seaorm_revisions".to_owned())
    );
    assert!(tables_in("public").await.is_empty());

    // A schema is PostgreSQL's: refused on the others, with what to do.
    let out = cli("sqlite::memory:", &["-s", "x", "status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("PostgreSQL"), "{}", stderr(&out));
}

/// Asserts that running `args` exits with `code`, prints `message` on stderr and
/// leaves tracking rows and schema as they were.
async fn refused(url: &str, args: &[&str], code: i32, message: &str) {
    let before = snapshot(url).await;
    let out = cli(url, args);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
    assert!(
        stderr(&out).contains(message),
        "{args:?}: expected `{message}` in: {}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let after = snapshot(url).await;
    assert_eq!(before.0, after.0, "{args:?} changed the tracking table");
    assert_eq!(before.1, after.1, "{args:?} changed the schema");
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "cli_bad").await else {
            continue;
        };
        let url = db.url.as_str();
        let ids = project_ids();
        assert_eq!(cli(url, &["up", "--to", &ids[2]]).status.code(), Some(0));

        refused(
            url,
            &["up", "--to", "m2099"],
            2,
            "no revision matches `m2099`",
        )
        .await;
        refused(url, &["up", "--to", "m2025"], 2, "matches").await;
        refused(url, &["down", "-99"], 2, "applied").await;
        refused(url, &["up", "+99"], 2, "pending").await;
        refused(url, &["up", "--to", "-1"], 2, "").await;
        refused(url, &["down", "--to", &ids[5]], 2, "not applied").await;
        refused(url, &["stamp", "nonsense"], 2, "no revision matches").await;
        refused(url, &["fresh"], 2, "--yes").await;
        refused(url, &["reset"], 2, "--yes").await;
        refused(url, &["up", "--bogus-flag"], 2, "").await;

        // A revision recorded in the database that no file defines: the database is ahead.
        let conn = sea_orm::Database::connect(url).await.unwrap();
        let history = migration_core::history::History::new("seaorm_revisions");
        history
            .insert(
                &conn,
                &migration_core::history::HistoryRow::applied(
                    "m20990101_000000_from_the_future",
                    1,
                    "x",
                ),
            )
            .await
            .unwrap();
        conn.close().await.unwrap();
        refused(url, &["up"], 1, "ahead of this code").await;
        refused(url, &["down"], 1, "ahead of this code").await;
        let status = cli(url, &["status"]);
        assert!(stdout(&status).contains("UNKNOWN"), "{}", stdout(&status));
        // `stamp --purge` is the way out, with the target that keeps what
        // is applied here (never `head`), which the refusal names.
        let up = cli(url, &["up"]);
        assert!(
            stderr(&up).contains(&format!("`stamp --purge {}`", ids[2])),
            "{}",
            stderr(&up)
        );
        assert_eq!(
            cli(url, &["stamp", "--purge", &ids[2]]).status.code(),
            Some(0)
        );
        let (rows, _) = snapshot(url).await;
        assert_eq!(rows.len(), 3);
    }
}

#[test]
fn bad_urls_and_unreachable_servers_fail_clearly_without_leaking_passwords() {
    let out = cli("nonsense://x", &["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid database URL"),
        "{}",
        stderr(&out)
    );

    let out = cli("postgres://app:hunter2@127.0.0.1:1/db", &["up"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot connect") && err.contains("after 2 attempt"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && err.contains("app:***@"),
        "{err}"
    );

    let out = cli("mysql://root:s3cret@127.0.0.1:1/db", &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("s3cret"), "{}", stderr(&out));
}

/// `url` (a server's test URL) with `user:password` and the database `db`.
fn with_user_and_db(url: &str, user: &str, db: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host.split(['/', '?']).next().unwrap();
    format!("{scheme}://{user}@{host}/{db}")
}

#[tokio::test]
async fn servers_that_refuse_are_not_retried_and_say_how_to_fix() {
    for dialect in [Dialect::Postgres, Dialect::MySql] {
        // The server is up (a TestDb proves it); only the URL is wrong.
        let Some(db) = TestDb::create(dialect, "refusing").await else {
            continue;
        };
        let admin = migration_core::testing::admin_url(dialect);
        let cases = [
            (
                with_user_and_db(&admin, &superuser(dialect), "no_such_database_x"),
                "create the database",
            ),
            (
                with_user_and_db(&admin, "nobody_x:hunter2", db.name()),
                "check the user name and password",
            ),
        ];
        for (url, fix) in cases {
            let out = cli(&url, &["status"]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert!(err.contains(fix) && err.contains("not retried"), "{err}");
            // One attempt: no retry was logged.
            assert!(!err.contains("not reachable yet; retrying"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
    // A MySQL URL without a database is refused before connecting.
    let out = cli("mysql://root:s3cret@127.0.0.1:3306", &["status"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("names no database"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    // A SQLite file that does not exist, without mode=rwc: the fix says so.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/missing.db", dir.path().display());
    let out = cli(&url, &["status"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("mode=rwc") && !err.contains("not reachable yet; retrying"),
        "{err}"
    );
    assert!(!dir.path().join("missing.db").exists());
}

/// The user the test server's URL connects as.
fn superuser(dialect: Dialect) -> String {
    let admin = migration_core::testing::admin_url(dialect);
    let rest = admin.split_once("://").unwrap().1;
    let userinfo = rest.rsplit_once('@').map_or("", |(u, _)| u);
    userinfo.to_owned()
}

#[tokio::test]
async fn stamp_records_without_running_and_base_clears() {
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "cli_stamp").await else {
            continue;
        };
        let url = db.url.as_str();
        let ids = project_ids();
        let out = cli(url, &["stamp", "head"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let (rows, schema) = snapshot(url).await;
        assert_eq!(rows.len(), ids.len());
        assert!(schema.tables.is_empty(), "stamp ran migrations: {schema}");
        // `up` is now a no-op.
        assert!(stdout(&cli(url, &["up"])).contains("Nothing to apply"));
        assert_eq!(cli(url, &["stamp", "base"]).status.code(), Some(0));
        let (rows, _) = snapshot(url).await;
        assert!(rows.is_empty());
    }
}

#[tokio::test]
async fn stamp_baselines_a_schema_created_by_hand() {
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "cli_baseline").await else {
            continue;
        };
        let url = db.url.as_str();
        // A schema that exists without any record of how it got there.
        assert_eq!(cli(url, &["up"]).status.code(), Some(0));
        let conn = sea_orm::Database::connect(url).await.unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(&conn, "DROP TABLE seaorm_revisions")
            .await
            .unwrap();
        conn.close().await.unwrap();
        let (rows, schema) = snapshot(url).await;
        assert!(rows.is_empty());

        let out = cli(url, &["stamp", "head"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let up = cli(url, &["up"]);
        assert!(stdout(&up).contains("Nothing to apply"), "{}", stdout(&up));
        let (rows, after) = snapshot(url).await;
        assert_eq!(rows.len(), project_ids().len());
        assert_eq!(after, schema);
    }
}

/// A column added by hand before its migration runs: `up` fails, says the
/// database already has it and names the `stamp` that records it; after
/// that `stamp`, `up` finishes the rest.
#[tokio::test]
async fn a_column_added_by_hand_points_at_stamp() {
    let featured = "m20250606_120000_add_products_is_featured";
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "cli_by_hand").await else {
            continue;
        };
        let url = db.url.as_str();
        let before = "m20250605_110000_create_print_jobs";
        assert_eq!(cli(url, &["up", before]).status.code(), Some(0));
        let conn = sea_orm::Database::connect(url).await.unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(
            &conn,
            "ALTER TABLE products ADD COLUMN is_featured boolean NOT NULL DEFAULT false",
        )
        .await
        .unwrap();
        conn.close().await.unwrap();
        let up = cli(url, &["up"]);
        assert_eq!(up.status.code(), Some(1), "{}", dialect.name());
        let said = stderr(&up);
        assert!(
            said.contains(&format!("already has what `{featured}` creates"))
                && said.contains(&format!("`stamp {featured}`")),
            "{}: {said}",
            dialect.name()
        );
        // Where the failure was recorded (MySQL: DDL commits by itself), the
        // record is forgotten first, as the message says.
        if said.contains("recorded as failed") {
            assert_eq!(cli(url, &["repair"]).status.code(), Some(0));
        }
        let stamp = cli(url, &["stamp", featured]);
        assert_eq!(stamp.status.code(), Some(0), "{}", stderr(&stamp));
        let up = cli(url, &["up"]);
        assert_eq!(
            up.status.code(),
            Some(0),
            "{}: {}",
            dialect.name(),
            stderr(&up)
        );
        let (rows, _) = snapshot(url).await;
        assert_eq!(rows.len(), project_ids().len(), "{}", dialect.name());
    }
}

#[tokio::test]
async fn fresh_refresh_and_reset() {
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "cli_fresh").await else {
            continue;
        };
        let url = db.url.as_str();
        let n = project_ids().len();
        assert_eq!(cli(url, &["up"]).status.code(), Some(0));
        let (_, migrated) = snapshot(url).await;
        // A table no migration knows: `fresh` drops it too (it drops everything).
        let conn = sea_orm::Database::connect(url).await.unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(
            &conn,
            "CREATE TABLE stray (id INTEGER PRIMARY KEY)",
        )
        .await
        .unwrap();
        conn.close().await.unwrap();

        let out = cli(url, &["fresh", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let (rows, schema) = snapshot(url).await;
        assert_eq!(rows.len(), n);
        assert_eq!(
            schema,
            migrated,
            "{}",
            schema.diff_lines(&migrated).join("\n")
        );

        let out = cli(url, &["refresh", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(snapshot(url).await.1, migrated);

        let out = cli(url, &["reset", "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let (rows, schema) = snapshot(url).await;
        assert!(rows.is_empty() && schema.tables.is_empty(), "{schema}");
        let _ = dialect == Dialect::Sqlite;
    }
}

#[test]
fn history_heads_show_work_without_a_database() {
    let ids = project_ids();
    let out = cli("", &["history"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), ids.len(), "{text}");
    assert!(text.lines().next().unwrap().contains(ids.last().unwrap()));
    assert!(text.contains("mergepoint") && text.contains("branchpoint"));

    let graph = stdout(&cli("", &["history", "--graph"]));
    assert!(graph.contains("|\\") && graph.contains("|/"), "{graph}");
    let dot = stdout(&cli("", &["history", "--format", "dot"]));
    assert!(dot.starts_with("digraph"), "{dot}");
    let svg = stdout(&cli("", &["history", "--format", "svg"]));
    assert!(svg.starts_with("<svg xmlns="), "{svg}");
    assert_eq!(svg.matches(r#"data-state="unknown""#).count(), ids.len());
    let json = cli_json(
        "",
        &["history", "--format", "json", "-r", &format!("{}:", ids[3])],
    );
    assert!(json["revisions"].as_array().unwrap().len() < ids.len());

    let show = cli("", &["show", &ids[0][..12]]);
    assert_eq!(show.status.code(), Some(0));
    assert!(stdout(&show).contains(&ids[0]) && stdout(&show).contains("Checksum:"));
    let ambiguous = cli("", &["show", "m2025"]);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(stderr(&ambiguous).contains("matches"));
}

#[test]
fn generate_writes_a_compilable_revision_on_the_head_and_merge_needs_two_heads() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = cli("", &["revision", "-m", "Add phone to users", "--dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = migration_build::discover(dir.path()).unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0].id.ends_with("_add_phone_to_users"));
    assert_eq!(files[0].message, "Add phone to users");
    let source = std::fs::read_to_string(&files[0].path).unwrap();
    let head = project_ids().last().unwrap().clone();
    assert!(
        source.contains(&format!("pub const PARENTS: &[&str] = &[\"{head}\"];")),
        "{source}"
    );

    let out = cli(
        "",
        &[
            "generate",
            "add_index",
            "--dir",
            d,
            "--head",
            &project_ids()[0],
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = cli("", &["generate", "--dir", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("name the migration"));

    // The two files on disk are two heads (one on the head, one on the
    // first revision), though this binary was built with one: `merge`
    // (Alembic's `merge heads` too) joins them.
    let out = cli("", &["merge", "heads", "-m", "merge", "--dir", d]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = migration_build::discover(dir.path()).unwrap();
    let merge = files.iter().find(|f| f.id.ends_with("_merge")).unwrap();
    let source = std::fs::read_to_string(&merge.path).unwrap();
    for f in files.iter().filter(|f| !f.id.ends_with("_merge")) {
        assert!(source.contains(&format!("\"{}\"", f.id)), "{source}");
    }
    let out = cli("", &["merge", "-m", "merge again", "--dir", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nothing to merge"),
        "{}",
        stderr(&out)
    );
}

/// sea-orm-cli's `generate --local-time` names the file by the local clock
/// (`TZ`), `--universal-time` (the default) by UTC.
#[test]
fn generate_names_files_by_utc_or_local_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let id_time = |args: &[&str]| {
        let before: std::collections::HashSet<String> = migration_build::discover(dir.path())
            .unwrap()
            .into_iter()
            .map(|f| f.id)
            .collect();
        let out = std::process::Command::new(BIN)
            .args(["generate", "--dir", d])
            .args(args)
            // 14 hours ahead of UTC, all year round.
            .env("TZ", "Etc/GMT-14")
            .env_remove("MIGRATION_DIR")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let id = migration_build::discover(dir.path())
            .unwrap()
            .into_iter()
            .map(|f| f.id)
            .find(|id| !before.contains(id))
            .unwrap();
        let stamp = chrono::NaiveDateTime::parse_from_str(&id[1..16], "%Y%m%d_%H%M%S").unwrap();
        (stamp - chrono::Utc::now().naive_utc()).num_seconds()
    };
    let utc = id_time(&["utc_one"]);
    assert!(utc.abs() < 60, "{utc} s from UTC");
    let utc = id_time(&["utc_two", "--universal-time"]);
    assert!(utc.abs() < 60, "{utc} s from UTC");
    let local = id_time(&["local_one", "--local-time"]);
    assert!((local - 14 * 3600).abs() < 60, "{local} s from UTC");
    let both = std::process::Command::new(BIN)
        .args([
            "generate",
            "x",
            "--dir",
            d,
            "--local-time",
            "--universal-time",
        ])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2));
}

/// Every hostile URL of `testing::HOSTILE_URLS` through `status`, `up` and
/// `check -u` with every log at `trace`: each fails (exit 1, or 2 for a URL
/// no parser accepts) and no byte of stdout or stderr carries its secret.
#[test]
fn hostile_urls_never_print_their_credentials_even_at_trace() {
    let mut runs = 0;
    for (url, secrets) in migration_core::testing::HOSTILE_URLS {
        for args in [&["status"][..], &["up"], &["check", "-u", url]] {
            let cwd = tempfile::tempdir().unwrap();
            let out = std::process::Command::new(BIN)
                .arg("-u")
                .arg(url)
                .args(args)
                .current_dir(cwd.path())
                .env_remove("DATABASE_URL")
                .env("MIGRATION_LOG", "trace")
                .env("RUST_LOG", "trace")
                .env("MIGRATION_CONNECT_ATTEMPTS", "1")
                .env("MIGRATION_CONNECT_TIMEOUT", "2")
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            runs += 1;
            let all = format!("{}{}", stdout(&out), stderr(&out));
            assert!(
                matches!(out.status.code(), Some(1 | 2)),
                "{url} {args:?}: exit {:?}\n{all}",
                out.status.code()
            );
            for secret in *secrets {
                assert!(
                    !all.contains(secret),
                    "{url} {args:?} printed `{secret}`:\n{all}"
                );
            }
        }
    }
    eprintln!("hostile URLs: {runs} runs at trace, 0 leaks");
}
