//! Trustworthy under concurrency and edits: 8 processes racing `up`, edited
//! migrations caught by checksums (in a scratch copy of this crate, rebuilt),
//! branches and merges made with the CLI, and adopting a database that
//! sea-orm-migration's own runner migrated.

mod common;

use common::*;
use migration_core::testing::workspace::{CrateCopy, WorkspaceCopy};
use migration_core::testing::{ALL, TestDb};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Rounds of the concurrency test per backend: CI runs a few; `just test-heavy`
/// (`CONCURRENCY_ROUNDS=20`) runs the full count.
fn rounds() -> usize {
    std::env::var("CONCURRENCY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

#[tokio::test]
async fn eight_processes_racing_up_apply_each_revision_exactly_once() {
    let ids = project_ids();
    for dialect in ALL {
        let Some(reference) = TestDb::create(dialect, "race_ref").await else {
            continue;
        };
        assert_eq!(cli(&reference.url, &["up"]).status.code(), Some(0));
        let (_, expected) = snapshot(&reference.url).await;
        let rounds = rounds();
        for round in 0..rounds {
            // Every other round takes the table lock (a lease) instead of
            // the engine's own.
            let lock = if round % 2 == 1 { "table" } else { "advisory" };
            let db = TestDb::create(dialect, "race")
                .await
                .expect("server was reachable a moment ago");
            let mut applied_lines = 0;
            for out in at_once(8, &["-u", &db.url, "--lock", lock, "up"]) {
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{} {lock} round {round}: {}",
                    dialect.name(),
                    stderr(&out)
                );
                applied_lines += stdout(&out).matches("Applying ").count();
            }
            assert_eq!(
                applied_lines,
                ids.len(),
                "{} round {round}: each revision applied once",
                dialect.name()
            );
            let (rows, schema) = snapshot(&db.url).await;
            let mut recorded: Vec<_> = rows.iter().map(|r| r.revision.clone()).collect();
            recorded.sort();
            let mut all = ids.clone();
            all.sort();
            assert_eq!(recorded, all);
            assert_eq!(
                schema,
                expected,
                "{}",
                schema.diff_lines(&expected).join("\n")
            );
        }
        eprintln!(
            "concurrency: {} x 8 processes on {} (advisory and table lock alternating): all exited 0",
            rounds,
            dialect.name()
        );
    }
}

/// A copy of this crate in its own workspace (sharing the target folder, so only
/// the copy compiles), for tests that edit migration files and rebuild.
struct Scratch {
    copy: WorkspaceCopy,
    /// Package and binary name: one per test, as tests run in parallel and
    /// share the target folder.
    bin: &'static str,
}

impl Scratch {
    fn new(bin: &'static str) -> Scratch {
        let main = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        // A package of its own name, so its binary does not overwrite the real one.
        let copy = WorkspaceCopy::new(main, &[CrateCopy::new("migration").package(bin)], &[], &[]);
        Scratch { copy, bin }
    }

    fn versions(&self) -> PathBuf {
        self.copy.path("migration/src/versions")
    }

    fn build(&self) -> PathBuf {
        self.copy.build(self.bin, &[])
    }

    fn edit(&self, file_prefix: &str, edit: impl Fn(&str) -> String) -> String {
        let path = std::fs::read_dir(self.versions())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(file_prefix)
            })
            .unwrap();
        let source = std::fs::read_to_string(&path).unwrap();
        let edited = edit(&source);
        assert_ne!(source, edited, "the edit changed nothing");
        std::fs::write(&path, edited).unwrap();
        path.file_stem().unwrap().to_string_lossy().into_owned()
    }
}

use migration_core::testing::workspace::run_cli as run;

#[tokio::test]
async fn edited_applied_migrations_are_caught_and_repair_accepts_them() {
    let scratch = Scratch::new("migration-scratch-checksum");
    let bin = scratch.build();
    let mut dbs = Vec::new();
    for dialect in ALL {
        if let Some(db) = TestDb::create(dialect, "checksum").await {
            assert_eq!(run(&bin, &db.url, &["up"]).status.code(), Some(0));
            dbs.push(db);
        }
    }

    // Comments and formatting are not edits.
    scratch.edit("m20250607", |s| {
        s.replace(
            "impl MigrationTrait for Migration {",
            "// Reviewed in PR #42.\nimpl   MigrationTrait   for Migration\n{",
        )
    });
    let bin = scratch.build();
    for db in &dbs {
        let status = run(&bin, &db.url, &["status"]);
        assert!(!stdout(&status).contains("CHANGED"), "{}", stdout(&status));
        assert_eq!(run(&bin, &db.url, &["up"]).status.code(), Some(0));
    }

    // A change to the code is.
    let edited = scratch.edit("m20250607", |s| {
        s.replacen("Ok(())", "{ let _edited = 1; Ok(()) }", 1)
    });
    let bin = scratch.build();
    for db in &dbs {
        let status = run(&bin, &db.url, &["status"]);
        assert_eq!(status.status.code(), Some(0));
        assert!(
            stdout(&status).contains("CHANGED") && stdout(&status).contains(&edited),
            "{}",
            stdout(&status)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&run(&bin, &db.url, &["status", "--format", "json"]).stdout)
                .unwrap();
        let changed: Vec<_> = json["revisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["checksum_changed"] == true)
            .map(|r| r["revision"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(changed, vec![edited.clone()]);

        let before = snapshot(&db.url).await;
        let up = run(&bin, &db.url, &["up"]);
        assert_eq!(up.status.code(), Some(1));
        assert!(
            stderr(&up).contains(&edited) && stderr(&up).contains("repair"),
            "{}",
            stderr(&up)
        );
        assert_eq!(snapshot(&db.url).await, before);

        let repair = run(&bin, &db.url, &["repair"]);
        assert_eq!(repair.status.code(), Some(0));
        assert!(
            stdout(&repair).contains(&format!("re-recorded the checksum of {edited}")),
            "{}",
            stdout(&repair)
        );
        assert_eq!(run(&bin, &db.url, &["up"]).status.code(), Some(0));
        assert!(!stdout(&run(&bin, &db.url, &["status"])).contains("CHANGED"));
    }
}

#[tokio::test]
async fn two_branches_show_as_two_heads_until_merged() {
    let scratch = Scratch::new("migration-scratch-branches");
    let versions = scratch.versions();
    let v = versions.to_str().unwrap();
    let bin = scratch.build();
    let head = project_ids().last().unwrap().clone();
    // Two developers branch from the same head (each on their own checkout:
    // the second has not seen the first one's file, hence `--head`).
    for name in ["add phone to users", "add printer location"] {
        let out = Command::new(&bin)
            .args(["generate", name, "--dir", v, "--head", &head])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let bin = scratch.build();
    let heads: serde_json::Value = serde_json::from_slice(
        &Command::new(&bin)
            .args(["heads", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(strings(&heads["heads"]).len(), 2);
    for db in [
        TestDb::create(migration_core::url::Dialect::Sqlite, "branches").await,
        TestDb::create(migration_core::url::Dialect::Postgres, "branches").await,
    ]
    .into_iter()
    .flatten()
    {
        let up = run(&bin, &db.url, &["up"]);
        assert_eq!(up.status.code(), Some(2));
        assert!(
            stderr(&up).contains("merge") && stderr(&up).contains("heads"),
            "{}",
            stderr(&up)
        );
        assert_eq!(run(&bin, &db.url, &["up", "heads"]).status.code(), Some(0));
    }
    let out = Command::new(&bin)
        // Alembic's spelling: `merge heads -m ...`.
        .args([
            "merge",
            "heads",
            "-m",
            "merge phone and location",
            "--dir",
            v,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bin = scratch.build();
    let heads: serde_json::Value = serde_json::from_slice(
        &Command::new(&bin)
            .args(["heads", "--format", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let heads = strings(&heads["heads"]);
    assert_eq!(heads.len(), 1);
    assert!(heads[0].ends_with("_merge_phone_and_location"));
    let history = stdout(&Command::new(&bin).args(["history"]).output().unwrap());
    assert!(history.contains(&format!("{head} -> ")), "{history}");
    if let Some(db) = TestDb::create(migration_core::url::Dialect::MySql, "branches").await {
        let up = run(&bin, &db.url, &["up"]);
        assert_eq!(up.status.code(), Some(0));
        assert!(stdout(&up).contains(&format!("Applied {} revision(s)", project_ids().len() + 3)));
    }
}

/// sea-orm-migration's own runner over the same migration files.
struct SeaOrmMigrator;

impl sea_orm_migration::MigratorTrait for SeaOrmMigrator {
    fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
        let migrator = migration::migrator().unwrap();
        let order: Vec<String> = migrator
            .graph()
            .topo_order()
            .map(|r| r.id.clone())
            .collect();
        let mut revisions = migration::versions::revisions();
        order
            .iter()
            .map(|id| {
                let at = revisions.iter().position(|r| &r.id == id).unwrap();
                revisions.remove(at).migration
            })
            .collect()
    }
}

#[tokio::test]
async fn a_database_migrated_by_sea_orm_migration_is_adopted() {
    use sea_orm_migration::MigratorTrait;
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "adopt").await else {
            continue;
        };
        let conn = sea_orm::Database::connect(&db.url).await.unwrap();
        SeaOrmMigrator::up(&conn, None).await.unwrap();
        let (_, schema_before) = snapshot(&db.url).await;

        // Read-only commands already see what will be adopted, and write nothing.
        let status = cli_json(&db.url, &["status", "--format", "json"]);
        assert_eq!(
            status["pending"].as_array().map(Vec::len),
            Some(0),
            "{status}"
        );
        let current = cli_json(&db.url, &["current", "--format", "json"]);
        assert!(!strings(&current["current"]).is_empty(), "{current}");
        assert!(!tracked(dialect, &conn).await, "a read-only command wrote");
        conn.close().await.unwrap();

        let up = cli(&db.url, &["up"]);
        assert_eq!(up.status.code(), Some(0), "{}", stderr(&up));
        let out = stdout(&up);
        assert!(
            out.contains(&format!("Adopted {} revision(s)", project_ids().len())),
            "{out}"
        );
        assert!(
            out.contains("Nothing to apply") && !out.contains("Applying"),
            "{out}"
        );
        let (rows, schema_after) = snapshot(&db.url).await;
        assert_eq!(rows.len(), project_ids().len());
        assert!(rows.iter().all(|r| r.checksum.is_some()));
        // Nothing ran: the schema is untouched (seaql_migrations stays, for rollbacks to the old runner).
        assert_eq!(schema_after, schema_before);
        // A second run adopts nothing more.
        assert!(!stdout(&cli(&db.url, &["up"])).contains("Adopted"));

        // A sea-orm-migration database ahead of this code: `up` is refused
        // before anything is written (no adoption committed).
        let Some(ahead) = TestDb::create(dialect, "adopt_ahead").await else {
            continue;
        };
        let conn = sea_orm::Database::connect(&ahead.url).await.unwrap();
        SeaOrmMigrator::up(&conn, None).await.unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(
            &conn,
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20990101_000000_future', 0)",
        )
        .await
        .unwrap();
        let up = cli(&ahead.url, &["up"]);
        assert_eq!(up.status.code(), Some(1), "{}", stderr(&up));
        assert!(
            stderr(&up).contains("ahead of this code"),
            "{}",
            stderr(&up)
        );
        assert!(!tracked(dialect, &conn).await, "a refused up adopted");
        conn.close().await.unwrap();
    }
}

/// Whether this engine's tracking table exists.
async fn tracked(
    dialect: migration_core::url::Dialect,
    conn: &sea_orm::DatabaseConnection,
) -> bool {
    migration_core::backend::of(dialect)
        .has_table(conn, migration_core::revision::DEFAULT_HISTORY_TABLE)
        .await
        .unwrap()
}

/// SQLite's lock is keyed on the database file itself: processes reaching
/// one file through a symlink, a relative path and an absolute one meet at
/// one lock, so each revision is applied once (keyed on the URL's text,
/// they all ran and failed on `table ... already exists`).
#[test]
fn one_sqlite_file_under_three_spellings_is_migrated_once() {
    let ids = project_ids();
    for round in 0..rounds() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let other = dir.path().join("other");
        std::fs::create_dir_all(&real).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        // The file exists before anyone connects, as a deployed database does.
        std::fs::write(real.join("app.db"), b"").unwrap();
        std::os::unix::fs::symlink(real.join("app.db"), other.join("link.db")).unwrap();
        let spellings = [
            (
                format!("sqlite://{}/app.db?mode=rwc", real.display()),
                &real,
            ),
            (
                format!("sqlite://{}/link.db?mode=rwc", other.display()),
                &other,
            ),
            ("sqlite://./app.db?mode=rwc".to_string(), &real),
            ("sqlite://app.db?mode=rwc".to_string(), &real),
        ];
        let children: Vec<_> = spellings
            .iter()
            .map(|(url, cwd)| {
                Command::new(BIN)
                    .args(["-u", url, "--lock-timeout", "60", "up"])
                    .current_dir(cwd)
                    .env_remove("DATABASE_URL")
                    .stdin(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut applied = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                stderr(&out)
            );
            applied += stdout(&out).matches("Applying ").count();
        }
        assert_eq!(applied, ids.len(), "round {round}: each revision once");
    }
}

/// sea-orm-migration's runner with its table renamed
/// (`migration_table_name()`), as some projects configure it.
struct RenamedSeaOrmMigrator;

impl sea_orm_migration::MigratorTrait for RenamedSeaOrmMigrator {
    fn migration_table_name() -> sea_orm::DynIden {
        sea_orm::sea_query::IntoIden::into_iden(sea_orm::sea_query::Alias::new("legacy_migrations"))
    }

    fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
        SeaOrmMigrator::migrations()
    }
}

#[tokio::test]
async fn a_renamed_sea_orm_migration_table_is_adopted_when_the_migrator_names_it() {
    use migration_core::{Runner, RunnerOptions, Target};
    use sea_orm_migration::MigratorTrait;
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "adopt_renamed").await else {
            continue;
        };
        let conn = sea_orm::Database::connect(&db.url).await.unwrap();
        RenamedSeaOrmMigrator::up(&conn, None).await.unwrap();
        conn.close().await.unwrap();
        let (_, schema_before) = snapshot(&db.url).await;

        // Named: adopted, nothing runs again, the schema is untouched.
        let migrator = migration::migrator()
            .unwrap()
            .with_sea_orm_migration_table("legacy_migrations");
        let runner = Runner::connect(&migrator, &db.url, RunnerOptions::default())
            .await
            .unwrap();
        let applied = runner.upgrade(&Target::Heads).await.unwrap();
        assert!(applied.is_empty(), "{}: ran {applied:?}", dialect.name());
        let state = runner.state().await.unwrap();
        assert_eq!(
            state.applied.len(),
            project_ids().len(),
            "{}",
            dialect.name()
        );
        let _ = runner.connection().clone().close().await;
        let (_, schema_after) = snapshot(&db.url).await;
        let without = |s: &migration_core::schema::Schema| {
            let mut s = s.clone();
            s.tables.remove("legacy_migrations");
            s
        };
        assert_eq!(without(&schema_after), without(&schema_before));

        // Not named, on a second such database: nothing is adopted, so `up`
        // tries to run the first revision again and fails on its tables
        // (rolled back where the backend allows): why the name matters.
        let Some(other) = TestDb::create(dialect, "adopt_unnamed").await else {
            continue;
        };
        let conn = sea_orm::Database::connect(&other.url).await.unwrap();
        RenamedSeaOrmMigrator::up(&conn, None).await.unwrap();
        conn.close().await.unwrap();
        let out = cli(&other.url, &["up"]);
        assert_eq!(out.status.code(), Some(1), "{}", dialect.name());
        assert!(!stdout(&out).contains("Adopted"), "{}", stdout(&out));
    }
}
