//! `check` and `revision --autogenerate` on this project, as processes.
//!
//! The project's own entities and migrations must pass `check` on every
//! backend. A model changed without a migration (in a scratch copy of the
//! workspace) must fail it; `revision --autogenerate` then writes a file that
//! compiles, after which `check` passes and the file runs up and down.

mod common;

use common::*;
use migration_core::testing::workspace::{CrateCopy, WorkspaceCopy};
use migration_core::testing::{ALL, TestDb, admin_url};
use migration_core::url::Dialect;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `--dialect` arguments for a backend (the scratch server is the test server).
fn dialect_args(dialect: Dialect) -> Vec<String> {
    match dialect {
        Dialect::Sqlite => vec![],
        d => vec![
            "--dialect".into(),
            d.name().into(),
            "--scratch-url".into(),
            admin_url(d),
        ],
    }
}

fn args_with<'a>(base: &[&'a str], extra: &'a [String]) -> Vec<&'a str> {
    base.iter()
        .copied()
        .chain(extra.iter().map(String::as_str))
        .collect()
}

#[tokio::test]
async fn check_passes_on_the_project_on_every_backend() {
    for dialect in ALL {
        // Skip a backend whose server is not there (as every test does).
        if TestDb::create(dialect, "check_probe").await.is_none() {
            continue;
        }
        let extra = dialect_args(dialect);
        let out = cli("", &args_with(&["check"], &extra));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}{}",
            dialect.name(),
            stdout(&out),
            stderr(&out)
        );
        assert!(stdout(&out).starts_with("OK: one head"), "{}", stdout(&out));
    }
}

/// `check` through the comparison cache on every backend: the first run
/// builds and stores the sides it can key, the second reads them and says so, and
/// `--no-cache` builds them again; each run's verdict is the same.
#[tokio::test]
async fn check_reads_its_sides_from_the_cache_and_no_cache_builds_them() {
    for dialect in ALL {
        if TestDb::create(dialect, "check_cache_probe").await.is_none() {
            continue;
        }
        let cache = tempfile::tempdir().unwrap();
        let extra = dialect_args(dialect);
        let check = |more: &[&str]| {
            let cwd = tempfile::tempdir().unwrap();
            let mut args = args_with(&["check"], &extra);
            args.extend(more);
            Command::new(BIN)
                .args(&args)
                .current_dir(cwd.path())
                .env_remove("DATABASE_URL")
                .env_remove("MIGRATION_SCRATCH_URL")
                .env_remove("MIGRATION_NO_CACHE")
                .env("MIGRATION_CACHE_DIR", cache.path())
                .stdin(Stdio::null())
                .output()
                .unwrap()
        };
        let name = dialect.name();
        let note = "came from the comparison cache";
        let cold = check(&[]);
        assert_eq!(cold.status.code(), Some(0), "{name}: {}", stderr(&cold));
        assert!(!stderr(&cold).contains(note), "{name}: {}", stderr(&cold));
        // The entities' side is always stored; the migrations' only where
        // this project's history renders offline in full (on SQLite and
        // MySQL its batch alters read the table first: not keyed, not stored).
        let mut stored: Vec<String> = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter_map(|f| f.split_once('-').map(|(side, _)| side.to_owned()))
            .collect();
        stored.sort_unstable_by(|a, b| b.cmp(a));
        let expected: &[&str] = match dialect {
            Dialect::Postgres => &["migrations", "entities"],
            _ => &["entities"],
        };
        assert_eq!(stored, expected, "{name}");
        let warm = check(&[]);
        assert_eq!(warm.status.code(), Some(0), "{name}: {}", stderr(&warm));
        assert!(
            stderr(&warm).contains(&format!("the {} side(s) {note}", stored.join(" and "))),
            "{name}: {}",
            stderr(&warm)
        );
        assert_eq!(stdout(&warm), stdout(&cold), "{name}: the same verdict");
        let rebuilt = check(&["--no-cache"]);
        assert_eq!(rebuilt.status.code(), Some(0), "{name}");
        assert!(
            !stderr(&rebuilt).contains(note),
            "{name}: {}",
            stderr(&rebuilt)
        );
        assert_eq!(stdout(&rebuilt), stdout(&cold), "{name}");
    }
}

#[tokio::test]
async fn check_with_a_named_database_requires_it_at_head() {
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "check_named").await else {
            continue;
        };
        // The models and the migrations agree; the database is behind:
        // its own section and exit code 3 (run `up`), not 1 (autogenerate).
        let out = cli(&db.url, &["check"]);
        assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
        assert!(
            stdout(&out).contains("revision(s) pending"),
            "{}",
            stdout(&out)
        );
        assert!(stdout(&out).contains("behind: "), "{}", stdout(&out));
        assert!(stderr(&out).contains("not at head"), "{}", stderr(&out));
        assert_eq!(cli(&db.url, &["up"]).status.code(), Some(0));
        let out = cli(&db.url, &["check"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(stdout(&out).contains("is at head"), "{}", stdout(&out));
        // Compared on that database's backend, on its server (not SQLite).
        let on = match dialect {
            Dialect::Sqlite => "compared on in-memory SQLite".to_owned(),
            d => format!("compared on a temporary {} database on ", d.name()),
        };
        assert!(stdout(&out).contains(&on), "{}", stdout(&out));
        // `--dialect sqlite` still compares in memory.
        let out = cli(&db.url, &["check", "--dialect", "sqlite"]);
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
        assert!(
            stdout(&out).contains("compared on in-memory SQLite"),
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn autogenerate_without_changes_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(
        "",
        &[
            "revision",
            "--autogenerate",
            "-m",
            "nothing",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("No changes"), "{}", stdout(&out));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------
// A model changed without a migration, in a scratch copy of the workspace
// ---------------------------------------------------------------------------

/// A copy of the `entity` and `migration` crates in a workspace of their own
/// (sharing the target folder, so only the copies compile).
struct Workspace {
    copy: WorkspaceCopy,
    /// Package and binary name, one per test (tests run at the same time and
    /// share the target folder).
    bin: &'static str,
}

impl Workspace {
    fn new(bin: &'static str) -> Workspace {
        let main = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        // The entity copy's folder is named after the test: Cargo hashes path
        // packages by their path relative to the workspace, so a copy at
        // `entity/` would share (and overwrite) the real crate's artifacts.
        let entity_dir = format!("{bin}-entity");
        let entity_dep = format!("entity = {{ path = \"{entity_dir}\" }}");
        let copy = WorkspaceCopy::new(
            main,
            &[
                CrateCopy::new("migration").package(bin),
                CrateCopy::new("entity").to(&entity_dir),
            ],
            &[&entity_dep],
            &[],
        );
        Workspace { copy, bin }
    }

    /// The entity crate's folder, relative to the workspace.
    fn entity(&self, file: &str) -> String {
        format!("{}-entity/src/{file}", self.bin)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.copy.path(rel)
    }

    fn edit(&self, rel: &str, edit: impl Fn(&str) -> String) {
        self.copy.edit(rel, edit);
    }

    fn build(&self) -> PathBuf {
        self.copy.build(self.bin, &[])
    }

    fn versions(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path("migration/src/versions"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// Runs the scratch binary in `cwd` (no DATABASE_URL unless `-u` is in `args`).
fn run(bin: &Path, cwd: &Path, args: &[&str]) -> Output {
    let out = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATION_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "$ migration {} -> {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test]
async fn a_model_changed_without_a_migration_fails_check_until_one_is_generated() {
    let ws = Workspace::new("migration-autogen-phone");
    // The model changes without a migration: a nullable, indexed phone number on `users`.
    ws.edit(&ws.entity("users.rs"), |s| {
        s.replace(
            "    /// Rows of the join table `team_members`.",
            "    /// Contact number.\n    #[sea_orm(column_type = \"String(StringLen::N(32))\", nullable, indexed)]\n    pub phone: Option<String>,\n    /// Rows of the join table `team_members`.",
        )
    });
    let bin = ws.build();
    let cwd = tempfile::tempdir().unwrap();
    let before = ws.versions();

    // `check` fails, lists the difference, and creates no file anywhere.
    for dialect in ALL {
        if TestDb::create(dialect, "drift_probe").await.is_none() {
            continue;
        }
        let extra = dialect_args(dialect);
        let out = run(&bin, cwd.path(), &args_with(&["check"], &extra));
        assert_eq!(out.status.code(), Some(1), "{}", dialect.name());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("add column `phone`"), "{text}");
        assert!(text.contains("create index `idx-users-phone`"), "{text}");
    }
    assert_eq!(ws.versions(), before);
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);

    // Generate the migration (alias `generate --autogenerate NAME`).
    let out = run(
        &bin,
        cwd.path(),
        &["generate", "--autogenerate", "add phone to users"],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("add column `phone`"), "{text}");
    assert!(text.contains("Created "), "{text}");
    let after = ws.versions();
    assert_eq!(after.len(), before.len() + 1);
    let new_file = after.iter().find(|f| !before.contains(f)).unwrap();
    assert!(new_file.ends_with("_add_phone_to_users.rs"), "{new_file}");
    let source = std::fs::read_to_string(ws.path("migration/src/versions").join(new_file)).unwrap();
    assert!(source.starts_with("//! add phone to users\n"), "{source}");
    assert!(source.contains("GENERATED by `migration revision --autogenerate`"));
    // Tables by name, as strings; the change to `users` is one batch alter.
    assert!(source.contains("\"users\""), "{source}");
    assert!(source.contains("batch_alter_table("), "{source}");
    assert!(!source.contains("DbBackend"), "{source}");

    // The file compiles as it is, and then the entities and migrations agree.
    let bin = ws.build();
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "drift_fixed").await else {
            continue;
        };
        let extra = dialect_args(dialect);
        let out = run(&bin, cwd.path(), &args_with(&["check"], &extra));
        assert_eq!(out.status.code(), Some(0), "{}", dialect.name());

        // It runs up and down on a real database.
        let (_, empty) = snapshot(&db.url).await;
        let old_head = project_ids().last().unwrap().clone();
        assert_eq!(
            run(&bin, cwd.path(), &["-u", &db.url, "up", &old_head])
                .status
                .code(),
            Some(0)
        );
        let (_, at_old_head) = snapshot(&db.url).await;
        assert_eq!(
            run(&bin, cwd.path(), &["-u", &db.url, "up"]).status.code(),
            Some(0)
        );
        let out = run(&bin, cwd.path(), &["-u", &db.url, "check"]);
        assert_eq!(out.status.code(), Some(0), "{}", dialect.name());
        assert_eq!(
            run(&bin, cwd.path(), &["-u", &db.url, "down"])
                .status
                .code(),
            Some(0)
        );
        let (_, reverted) = snapshot(&db.url).await;
        assert!(
            reverted.diff_lines(&at_old_head).is_empty(),
            "{}: {}",
            dialect.name(),
            reverted.diff_lines(&at_old_head).join("\n")
        );
        let _ = empty;
    }
}

#[tokio::test]
async fn an_unmarked_rename_is_flagged_and_a_marked_one_is_a_rename() {
    let ws = Workspace::new("migration-autogen-rename");
    ws.edit(&ws.entity("products.rs"), |s| {
        s.replace("pub print_time_seconds: i64,", "pub print_seconds: i64,")
    });
    let bin = ws.build();
    let cwd = tempfile::tempdir().unwrap();
    let unmarked = ws.versions();
    let out = run(
        &bin,
        cwd.path(),
        &["revision", "--autogenerate", "-m", "rename"],
    );
    // A drop + add of the same type is flagged; the file carries the warning.
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("SUSPECTED RENAME"), "{text}");
    assert!(
        text.contains("renamed_from = \"print_time_seconds\""),
        "{text}"
    );
    // SQLite cannot add a NOT NULL column without a default with ALTER TABLE:
    // the file does it through batch alter, and carries the warning where the
    // data would be lost.
    assert_eq!(out.status.code(), Some(0), "{text}");
    let written: Vec<String> = ws
        .versions()
        .into_iter()
        .filter(|v| !unmarked.contains(v))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let file = ws.path("migration/src/versions").join(&written[0]);
    let source = std::fs::read_to_string(&file).unwrap();
    assert!(source.contains("// WARNING: SUSPECTED RENAME"), "{source}");
    assert!(source.contains("batch_alter_table("), "{source}");
    std::fs::remove_file(&file).unwrap();

    // Marked as a rename, it is one.
    ws.edit(&ws.entity("products.rs"), |s| {
        s.replace(
            "pub print_seconds: i64,",
            "#[sea_orm(renamed_from = \"print_time_seconds\")]\n    pub print_seconds: i64,",
        )
    });
    let bin = ws.build();
    let before = ws.versions();
    let out = run(
        &bin,
        cwd.path(),
        &["revision", "--autogenerate", "-m", "rename print time"],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("rename column `products`.`print_time_seconds` to `print_seconds`"),
        "{text}"
    );
    assert!(!text.contains("drop column"), "{text}");
    assert_eq!(ws.versions().len(), before.len() + 1);
    let bin = ws.build();
    let out = run(&bin, cwd.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0));
}

/// A migration written by hand the way real applications write their
/// search indexes: raw SQL per backend, every kind an entity cannot declare.
const SEARCH_INDEXES: &str = r#"//! Search indexes, written by hand (entities cannot declare them).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// The revisions this one applies on top of.
pub const PARENTS: &[&str] = &["m20250614_090000_widen_products_price"];

/// This revision.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX users_lower_name ON users (lower(display_name)) WHERE is_active",
                "CREATE INDEX products_name_trgm ON products USING gin (name gin_trgm_ops)",
                "CREATE INDEX products_sku_desc ON products (sku DESC)",
            ],
            DbBackend::MySql => &[
                "CREATE INDEX users_name_prefix ON users (display_name(10))",
                "CREATE FULLTEXT INDEX products_name_ft ON products (name)",
                "CREATE INDEX products_sku_desc ON products (sku DESC)",
            ],
            _ => &[
                "CREATE INDEX users_lower_name ON users (lower(display_name)) WHERE is_active",
                "CREATE INDEX products_sku_desc ON products (sku DESC)",
            ],
        };
        for statement in sql {
            manager.get_connection().execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql: &[&str] = match manager.get_database_backend() {
            DbBackend::MySql => &[
                "DROP INDEX users_name_prefix ON users",
                "DROP INDEX products_name_ft ON products",
                "DROP INDEX products_sku_desc ON products",
            ],
            _ => &[
                "DROP INDEX IF EXISTS users_lower_name",
                "DROP INDEX IF EXISTS products_name_trgm",
                "DROP INDEX products_sku_desc",
            ],
        };
        for statement in sql {
            manager.get_connection().execute_unprepared(statement).await?;
        }
        Ok(())
    }
}
"#;

#[tokio::test]
async fn hand_written_shaped_indexes_check_clean_and_a_declared_one_changes_exactly() {
    let ws = Workspace::new("migration-autogen-shaped");
    let search = "m20250701_090000_search_indexes.rs";
    std::fs::write(
        ws.path("migration/src/versions").join(search),
        SEARCH_INDEXES,
    )
    .unwrap();
    let bin = ws.build();
    let cwd = tempfile::tempdir().unwrap();

    // `check` is clean on every backend, each hand-written index listed once
    // as the migrations'; autogenerate writes nothing; `up --sql` renders.
    let managed: [(Dialect, &[&str]); 3] = [
        (
            Dialect::Postgres,
            &[
                "users_lower_name",
                "products_name_trgm",
                "products_sku_desc",
            ],
        ),
        (
            Dialect::MySql,
            &["users_name_prefix", "products_name_ft", "products_sku_desc"],
        ),
        (Dialect::Sqlite, &["users_lower_name", "products_sku_desc"]),
    ];
    let before = ws.versions();
    for (dialect, names) in managed {
        if TestDb::create(dialect, "shaped_probe").await.is_none() {
            continue;
        }
        let extra = dialect_args(dialect);
        let out = run(&bin, cwd.path(), &args_with(&["check"], &extra));
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{}: {text}", dialect.name());
        for name in names {
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains(&format!("`{name}`")) && l.contains("managed by migrations"))
                .collect();
            assert_eq!(lines.len(), 1, "{}: {name}: {text}", dialect.name());
        }
        let out = run(
            &bin,
            cwd.path(),
            &args_with(&["revision", "--autogenerate", "-m", "nothing"], &extra),
        );
        assert_eq!(out.status.code(), Some(0), "{}", dialect.name());
        assert!(stdout(&out).contains("No changes"), "{}", stdout(&out));
        assert_eq!(ws.versions(), before);
        let mut sql = vec!["up", "--sql", "--dialect", dialect.name()];
        let admin = admin_url(dialect);
        if dialect == Dialect::MySql {
            sql.extend(["--scratch-url", &admin]);
        }
        let out = run(&bin, cwd.path(), &sql);
        assert_eq!(out.status.code(), Some(0), "{}", dialect.name());
        assert!(
            stdout(&out).contains("products_sku_desc"),
            "{}: {}",
            dialect.name(),
            stdout(&out)
        );
    }

    // The project now declares one of them, with another shape, and adds a
    // column: the generated file changes exactly that, on every backend.
    ws.edit("migration/src/lib.rs", |s| {
        s.replace(
            "        .with_entity_index(\n",
            "        .with_entity_index_spec(\n            \"products\",\n            \
             migration_core::prelude::IndexSpec::new(\"products_sku_desc\", &[]).col(\"sku\").desc().col(\"id\"),\n        )\n        .with_entity_index(\n",
        )
    });
    ws.edit(&ws.entity("users.rs"), |s| {
        s.replace(
            "    /// Rows of the join table `team_members`.",
            "    /// Shown instead of the name.\n    #[sea_orm(column_type = \"String(StringLen::N(40))\", nullable)]\n    pub nickname: Option<String>,\n    /// Rows of the join table `team_members`.",
        )
    });
    let bin = ws.build();
    let out = run(
        &bin,
        cwd.path(),
        &["revision", "--autogenerate", "-m", "nickname and sku order"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = ws.versions();
    assert_eq!(after.len(), before.len() + 1, "{}", stdout(&out));
    let new_file = after.iter().find(|f| !before.contains(f)).unwrap();
    let source = std::fs::read_to_string(ws.path("migration/src/versions").join(new_file)).unwrap();
    assert!(source.contains("\"nickname\""), "{source}");
    assert!(source.contains("products_sku_desc"), "{source}");
    for untouched in [
        "users_lower_name",
        "products_name_trgm",
        "users_name_prefix",
    ] {
        assert!(!source.contains(untouched), "{untouched}: {source}");
    }
    let bin = ws.build();
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "shaped_change").await else {
            continue;
        };
        let search_id = search.trim_end_matches(".rs");
        assert_eq!(
            run(&bin, cwd.path(), &["-u", &db.url, "up", search_id])
                .status
                .code(),
            Some(0),
            "{}",
            dialect.name()
        );
        let (_, at_search) = snapshot(&db.url).await;
        let out = run(&bin, cwd.path(), &["-u", &db.url, "up"]);
        assert_eq!(out.status.code(), Some(0), "{}", dialect.name());
        // The database is what the entities declare, the rest untouched.
        let out = run(&bin, cwd.path(), &["-u", &db.url, "check"]);
        assert_eq!(out.status.code(), Some(0), "{}", dialect.name());
        let (_, changed) = snapshot(&db.url).await;
        let sku = changed.tables["products"]
            .indexes
            .iter()
            .find(|i| i.name.as_deref() == Some("products_sku_desc"))
            .unwrap();
        assert_eq!(sku.columns, ["sku", "id"], "{}", dialect.name());
        assert!(sku.shape.parts[0].descending, "{}", dialect.name());
        assert!(changed.tables["users"].column("nickname").is_some());
        // `down` gives back every index exactly as the hand-written SQL made it.
        let out = run(&bin, cwd.path(), &["-u", &db.url, "down"]);
        assert_eq!(out.status.code(), Some(0), "{}", dialect.name());
        let (_, reverted) = snapshot(&db.url).await;
        assert!(
            reverted.diff_lines(&at_search).is_empty(),
            "{}: {}",
            dialect.name(),
            reverted.diff_lines(&at_search).join("\n")
        );
        assert_eq!(reverted.tables["products"], at_search.tables["products"]);
    }
}
