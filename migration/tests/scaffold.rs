//! Files the CLI writes (`revision -m`, `generate`, `merge`) compile without warnings, and one
//! import (`migration_core::prelude`) covers a migration with an inline entity that seeds rows.

mod common;

use common::*;
use migration_core::testing::workspace::{CrateCopy, WorkspaceCopy};
use std::path::Path;
use std::process::{Command, Stdio};

/// Package and binary name of the copy (its own, so that tests running at the
/// same time never overwrite the real crate's artifacts).
const PACKAGE: &str = "scaffold-migration";

/// A migration written by hand the way the guide says: its own frozen copy of
/// the table as an inline entity, rows seeded through SeaORM, and nothing
/// imported but the prelude.
const SEED: &str = r#"//! Seed the default settings.

use migration_core::prelude::*;

/// The revisions this one applies on top of (Alembic's `down_revision`).
pub const PARENTS: &[&str] = &["@PARENT@"];

/// The table as this migration knows it (never the live entity's type).
mod setting {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "scaffold_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub value: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Revision `@ID@`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("scaffold_settings")
                    .col(ColumnDef::new("name").string_len(64).not_null().primary_key())
                    .col(ColumnDef::new("value").string_len(64).not_null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        setting::ActiveModel {
            name: Set("theme".to_owned()),
            value: Set("light".to_owned()),
        }
        .insert(db)
        .await?;
        let mut theme = setting::Entity::find()
            .filter(setting::Column::Name.is_in(["theme"]))
            .one(db)
            .await?
            .ok_or_else(|| DbErr::Migration("the seeded row is missing".into()))?
            .into_active_model();
        theme.value = Set("dark".to_owned());
        theme.update(db).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("scaffold_settings").to_owned())
            .await
    }
}
"#;

fn run(bin: &Path, cwd: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATION_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    eprintln!(
        "$ {PACKAGE} {} -> {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The file in `dir` whose name ends with `suffix` that is not one of the project's.
fn written(dir: &Path, suffix: &str) -> (String, String) {
    let files = migration_build::discover(dir).unwrap();
    let project = project_ids();
    let file = files
        .iter()
        .find(|f| f.id.ends_with(suffix) && !project.contains(&f.id))
        .unwrap_or_else(|| panic!("no revision `*{suffix}` in {}", dir.display()));
    (
        file.id.clone(),
        std::fs::read_to_string(&file.path).unwrap(),
    )
}

#[tokio::test]
async fn generated_and_merge_files_compile_without_warnings_and_the_prelude_seeds_rows() {
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let ws = WorkspaceCopy::new(
        main,
        &[CrateCopy::new("migration").package(PACKAGE)],
        &[],
        &[],
    );
    let versions = ws.path("migration/src/versions");
    let dir = versions.to_str().unwrap();
    let head = project_ids().last().unwrap().clone();

    // Two revisions on the head (two heads once both exist), by the real CLI.
    let out = cli("", &["revision", "-m", "add phone to users", "--dir", dir]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = cli(
        "",
        &["generate", "other branch", "--dir", dir, "--head", &head],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (phone, phone_src) = written(&versions, "_add_phone_to_users");
    let (other, _) = written(&versions, "_other_branch");
    for needed in [
        "use migration_core::prelude::*;\n",
        "#[async_trait]\nimpl MigrationTrait",
    ] {
        assert!(phone_src.contains(needed), "{needed:?} in:\n{phone_src}");
    }
    assert!(!phone_src.contains("sea_orm_migration"), "{phone_src}");

    // The hand-written seed on the second branch.
    let seed_id = "m29990101_000000_seed_settings";
    std::fs::write(
        versions.join(format!("{seed_id}.rs")),
        SEED.replace("@PARENT@", &other).replace("@ID@", seed_id),
    )
    .unwrap();

    // The copy's CLI knows both heads and writes the merge.
    let bin = ws.build(PACKAGE, &[]);
    let out = run(&bin, ws.root(), &["merge", "-m", "merge heads"]);
    assert_eq!(out.status.code(), Some(0));
    let (merge, merge_src) = written(&versions, "_merge_heads");
    assert!(
        merge_src.contains(&format!("&[\"{phone}\", \"{seed_id}\"]"))
            || merge_src.contains(&format!("&[\"{seed_id}\", \"{phone}\"]")),
        "{merge_src}"
    );
    assert!(
        merge_src.contains("use migration_core::prelude::*;"),
        "{merge_src}"
    );

    // Every file, the merge's unused parameters included, passes `-D warnings`.
    ws.compile_lib_denying_warnings(PACKAGE);

    // And runs: one head, the seed applied through the inline entity.
    let bin = ws.build(PACKAGE, &[]);
    let heads = run(&bin, ws.root(), &["heads"]);
    assert!(String::from_utf8_lossy(&heads.stdout).contains(&merge));
    let db_dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/seed.db?mode=rwc", db_dir.path().display());
    let out = run(&bin, ws.root(), &["-u", &url, "up"]);
    assert_eq!(out.status.code(), Some(0));
    let theme: String = sqlite_one(
        &url,
        "SELECT value FROM scaffold_settings WHERE name = 'theme'",
    )
    .await;
    assert_eq!(theme, "dark");

    // Three `generate`s with no build in between chain (the parent is read
    // from the files on disk, not from the graph this binary was built with).
    let mut parent = merge.clone();
    for name in ["chain_one", "chain_two", "chain_three"] {
        let out = run(&bin, ws.root(), &["generate", name]);
        assert_eq!(out.status.code(), Some(0));
        let (id, src) = written(&versions, &format!("_{name}"));
        assert!(
            src.contains(&format!("pub const PARENTS: &[&str] = &[\"{parent}\"];")),
            "{name} does not build on {parent}:\n{src}"
        );
        parent = id;
    }
}

/// A migration parameterised by a field, as sea-orm-migration users write
/// them (`Box::new(m…::Migration { table: "…" })` in their list): here the
/// file's `migration()` makes the value.
const WITH_FIELDS: &str = r#"//! A table named by the migration's field.

use migration_core::prelude::*;

/// The revisions this one applies on top of.
pub const PARENTS: &[&str] = &["@PARENT@"];

/// The migration, with the table it creates.
pub struct Migration {
    table: &'static str,
}

/// The value the generated list runs.
pub fn migration() -> Migration {
    Migration { table: "init_audit" }
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m29990101_000000_audit_table"
    }
}

#[async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(self.table)
                    .col(ColumnDef::new("id").integer().not_null().primary_key())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(self.table).to_owned())
            .await
    }
}
"#;

#[tokio::test]
async fn init_writes_a_migration_crate_that_builds_and_runs() {
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let ws = WorkspaceCopy::new(main, &[], &[], &[]);
    let package = "billing-migration";
    let dir = ws.path(package);
    let out = cli("", &["init", "-d", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("Add \"{package}\" to `members`")),
        "{}",
        stdout(&out)
    );
    let versions = dir.join("src/versions");
    let files = migration_build::discover(&versions).unwrap();
    assert_eq!(files.len(), 1);
    let first = files[0].id.clone();
    assert!(first.ends_with("_first_migration"), "{first}");

    // Again: refused, nothing changed.
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let out = cli("", &["init", "-d", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.join("Cargo.toml")).unwrap(),
        manifest
    );

    // Outside a workspace that has migration-core: refused, nothing written.
    let outside = tempfile::tempdir().unwrap();
    let lone = outside.path().join("migration");
    let out = cli("", &["init", "-d", lone.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("[workspace.dependencies]"),
        "{}",
        stderr(&out)
    );
    assert!(!lone.exists());

    // A member of the workspace, with a migration that has fields: it
    // compiles without warnings, and runs up, lists, and down.
    ws.edit("Cargo.toml", |s| {
        s.replace("members = []", &format!("members = [\"{package}\"]"))
    });
    std::fs::write(
        versions.join("m29990101_000000_audit_table.rs"),
        WITH_FIELDS.replace("@PARENT@", &first),
    )
    .unwrap();
    ws.compile_lib_denying_warnings(package);
    let bin = ws.build(package, &[]);
    for dialect in migration_core::testing::ALL {
        let Some(db) = migration_core::testing::TestDb::create(dialect, "init_crate").await else {
            continue;
        };
        let url = db.url.as_str();
        let out = run(&bin, ws.root(), &["-u", url, "up"]);
        assert_eq!(out.status.code(), Some(0), "{}", dialect.name());
        let out = run(&bin, ws.root(), &["-u", url, "history"]);
        assert!(stdout(&out).contains(&first), "{}", stdout(&out));
        let (rows, schema) = snapshot(url).await;
        assert_eq!(rows.len(), 2, "{}", dialect.name());
        assert!(
            schema.tables.contains_key("init_audit"),
            "{}",
            dialect.name()
        );
        let out = run(&bin, ws.root(), &["-u", url, "down"]);
        assert_eq!(out.status.code(), Some(0), "{}", dialect.name());
        let (_, schema) = snapshot(url).await;
        assert!(
            !schema.tables.contains_key("init_audit"),
            "{}",
            dialect.name()
        );
    }
}

/// The first column of the one row `sql` returns on the SQLite database `url`.
async fn sqlite_one<T: sea_orm::TryGetable>(url: &str, sql: &str) -> T {
    let db = sea_orm::Database::connect(url).await.unwrap();
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, sql),
    )
    .await
    .unwrap()
    .expect("a row");
    let value = row.try_get_by_index::<T>(0).unwrap();
    db.close().await.ok();
    value
}
