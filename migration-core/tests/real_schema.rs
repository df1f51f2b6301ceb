//! A schema written the way real applications write theirs, on each backend:
//! sea-orm-migration-style revisions (schema helpers, hand-written indexes of
//! every kind the backend has, extensions, a trigger function, seed rows
//! through `ActiveModel::insert`) and codegen-style entities that declare no
//! server defaults.
//!
//! `check`'s comparison is clean with one "managed by migrations" line per
//! object the entities cannot declare, the lint renders every revision
//! offline, `up --sql` renders. Then the entities change (a column added,
//! an expression index's predicate changed, a unique constraint turned into
//! a unique index): the generated ops apply on the database with its rows,
//! the comparison is clean again, and `down` restores every index property
//! exactly.

use migration_core::autogen::compare::{Scope, compare_in};
use migration_core::autogen::{Comparison, Scratch, compare_project_in, exec};
use migration_core::graph::Target;
use migration_core::prelude::*;
use migration_core::revision::{Migrator, Revision};
use migration_core::runner::{Runner, RunnerOptions};
use migration_core::schema::Schema;
use migration_core::testing::{ALL, TestDb, admin_url, count};
use migration_core::url::Dialect;
use sea_orm::{DatabaseConnection, DbBackend, Schema as OrmSchema, SchemaBuilder};
use sea_orm_migration::MigrationName;
use sea_orm_migration::schema::{date_time_null, integer, pk_auto, string, string_null};
use std::collections::HashSet;

/// The application's entities before the change, as sea-orm-codegen writes
/// them from the database: no server defaults.
mod v1 {
    pub mod members {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "members")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(indexed)]
            pub team_id: i32,
            #[sea_orm(unique)]
            pub handle: String,
            pub name: String,
            pub email: Option<String>,
            pub deleted_at: Option<DateTime>,
            pub created_at: DateTime,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

/// After the change: `nickname` added; `handle`'s UNIQUE is now a named
/// unique index (declared with `with_entity_index_spec`).
mod v2 {
    pub mod members {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "members")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(indexed)]
            pub team_id: i32,
            pub handle: String,
            pub name: String,
            pub email: Option<String>,
            pub deleted_at: Option<DateTime>,
            pub created_at: DateTime,
            pub nickname: Option<String>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

fn v1_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b).builder().register(v1::members::Entity)
}

fn v2_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b).builder().register(v2::members::Entity)
}

/// The index the entities own: an expression (a prefix on MySQL/MariaDB,
/// which has no functional indexes) with a predicate where the backend has them.
fn lower_email(dialect: Dialect, predicate: &str) -> IndexSpec {
    match dialect {
        Dialect::MySql => IndexSpec::new("members_lower_email", &[])
            .col("email")
            .prefix(if predicate.contains("AND") { 20 } else { 10 }),
        _ => IndexSpec::new("members_lower_email", &[])
            .expr("lower(email)")
            .unique()
            .where_(predicate),
    }
}

const P1: &str = "deleted_at IS NULL";
const P2: &str = "deleted_at IS NULL AND email IS NOT NULL";

#[derive(DeriveIden)]
enum Members {
    Table,
    Id,
    TeamId,
    Handle,
    Name,
    Email,
    DeletedAt,
    CreatedAt,
}

/// The table, the way sea-orm-migration users write it.
struct CreateMembers;

impl MigrationName for CreateMembers {
    fn name(&self) -> &str {
        "m20250101_000001_create_members"
    }
}

#[async_trait]
impl MigrationTrait for CreateMembers {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Members::Table)
                    .col(pk_auto(Members::Id))
                    .col(integer(Members::TeamId))
                    .col(string(Members::Handle))
                    .col(string(Members::Name))
                    .col(string_null(Members::Email))
                    .col(date_time_null(Members::DeletedAt))
                    .col(
                        ColumnDef::new(Members::CreatedAt)
                            .date_time()
                            .not_null()
                            .default(Expr::current_timestamp()),
                    )
                    .index(
                        Index::create()
                            .name("members_handle_unique")
                            .col(Members::Handle)
                            .unique(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Members::Table).to_owned())
            .await
    }
}

/// Hand-written SQL per backend: every index kind, an extension, a trigger.
struct Indexes;

impl MigrationName for Indexes {
    fn name(&self) -> &str {
        "m20250101_000002_indexes"
    }
}

fn indexes_sql(backend: DbBackend) -> Vec<&'static str> {
    match backend {
        DbBackend::Postgres => vec![
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE EXTENSION IF NOT EXISTS btree_gin",
            "CREATE INDEX ON members (team_id)",
            "CREATE UNIQUE INDEX members_lower_email ON members ((lower(email))) \
             WHERE deleted_at IS NULL",
            "CREATE INDEX members_name_trgm ON members USING gin (name gin_trgm_ops)",
            "CREATE INDEX members_team_gin ON members USING gin (team_id)",
            "CREATE INDEX members_recent ON members (created_at DESC NULLS LAST, id)",
            "CREATE UNIQUE INDEX members_team_email ON members (team_id, email) \
             INCLUDE (name) NULLS NOT DISTINCT",
            "CREATE FUNCTION members_touch() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN NEW.name := trim(NEW.name); RETURN NEW; END $$",
            "CREATE TRIGGER members_touch BEFORE INSERT OR UPDATE ON members \
             FOR EACH ROW EXECUTE FUNCTION members_touch()",
        ],
        DbBackend::MySql => vec![
            "CREATE INDEX `idx-members-team_id` ON members (team_id)",
            "CREATE INDEX members_lower_email ON members (email(10))",
            "CREATE FULLTEXT INDEX members_name_ft ON members (name)",
            "CREATE INDEX members_recent ON members (created_at DESC, id)",
        ],
        DbBackend::Sqlite => vec![
            "CREATE INDEX \"idx-members-team_id\" ON members (team_id)",
            "CREATE UNIQUE INDEX members_lower_email ON members (lower(email)) \
             WHERE deleted_at IS NULL",
            "CREATE INDEX members_recent ON members (created_at DESC, id)",
            "CREATE VIRTUAL TABLE members_search USING fts5(name, content='members', \
             content_rowid='id')",
            "CREATE TRIGGER members_search_ai AFTER INSERT ON members BEGIN \
             INSERT INTO members_search(rowid, name) VALUES (new.id, new.name); END",
        ],
        _ => Vec::new(),
    }
}

#[async_trait]
impl MigrationTrait for Indexes {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for sql in indexes_sql(manager.get_database_backend()) {
            manager.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }
}

/// Seed rows the SeaORM way (`ActiveModel::insert`, which reads the row back).
struct Seed;

impl MigrationName for Seed {
    fn name(&self) -> &str {
        "m20250101_000003_seed"
    }
}

#[async_trait]
impl MigrationTrait for Seed {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (handle, email) in [("ada", "ada@example.com"), ("bob", "bob@example.com")] {
            v1::members::ActiveModel {
                team_id: Set(1),
                handle: Set(handle.into()),
                name: Set(format!(" {handle} ")),
                email: Set(Some(email.into())),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
        Ok(())
    }
}

fn revisions() -> Vec<Revision> {
    let ids = [
        "m20250101_000001_create_members",
        "m20250101_000002_indexes",
        "m20250101_000003_seed",
    ];
    let steps: Vec<Box<dyn MigrationTrait>> =
        vec![Box::new(CreateMembers), Box::new(Indexes), Box::new(Seed)];
    steps
        .into_iter()
        .enumerate()
        .map(|(i, step)| {
            let parents: &[&str] = if i == 0 { &[] } else { &ids[i - 1..i] };
            Revision::new(ids[i], parents, ids[i], ids[i], "fixture", step)
        })
        .collect()
}

fn migrator(
    dialect: Dialect,
    entities: fn(DbBackend) -> SchemaBuilder,
    predicate: &str,
) -> Migrator {
    let m = Migrator::new(revisions())
        .unwrap()
        .with_entities(entities)
        .with_entity_index_spec("members", lower_email(dialect, predicate));
    if std::ptr::fn_addr_eq(entities, v2_schema as fn(DbBackend) -> SchemaBuilder) {
        m.with_entity_index_spec(
            "members",
            IndexSpec::new("members_handle_uidx", &["handle"]).unique(),
        )
    } else {
        m
    }
}

fn scratch(dialect: Dialect) -> Scratch {
    Scratch {
        dialect,
        server_url: (dialect != Dialect::Sqlite).then(|| admin_url(dialect)),
        cache: None,
    }
}

async fn compared(m: &Migrator, dialect: Dialect) -> Comparison {
    compare_project_in(
        m,
        m.entities().unwrap(),
        &scratch(dialect),
        &Target::Heads,
        false,
    )
    .await
    .unwrap_or_else(|e| panic!("{}: {e}", dialect.name()))
}

async fn reflect(conn: &DatabaseConnection) -> Schema {
    migration_core::backend::reflect(
        conn,
        &[
            "seaorm_revisions",
            "seaorm_revisions_lock",
            "seaorm_revisions_hold",
        ],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_real_applications_schema_checks_clean_then_evolves_and_reverts_exactly() {
    for dialect in ALL {
        let d = dialect.name();
        let Some(db) = TestDb::create(dialect, "real_schema").await else {
            continue;
        };
        let before_change = migrator(dialect, v1_schema, P1);

        // `check`: clean, with the objects the entities cannot declare listed.
        let cmp = compared(&before_change, dialect).await;
        assert!(
            cmp.plan.is_empty(),
            "{d}: {:#?}",
            cmp.plan.difference_lines()
        );
        let managed = cmp.plan.managed.join("\n");
        assert!(
            managed.contains("column `created_at`: server default"),
            "{d}: {managed}"
        );
        assert!(managed.contains("`members_recent`"), "{d}: {managed}");
        match dialect {
            Dialect::Postgres => {
                for object in [
                    "`members_name_trgm` using gin",
                    "`members_team_email`",
                    "trigger `members_touch` on `members`",
                    "function `members_touch`",
                    "extension `pg_trgm`",
                    "extension `btree_gin`",
                ] {
                    assert!(managed.contains(object), "{d}: {object} in {managed}");
                }
            }
            Dialect::MySql => assert!(
                managed.contains("`members_name_ft` using fulltext"),
                "{managed}"
            ),
            Dialect::Sqlite => {
                assert!(
                    managed.contains("virtual table `members_search` (fts5"),
                    "{managed}"
                );
                assert!(managed.contains("trigger `members_search_ai`"), "{managed}");
                assert!(!managed.contains("members_search_data"), "{managed}");
            }
        }
        // The lint renders every revision (the seed included) on every backend.
        let all: Vec<String> = revisions().iter().map(|r| r.id.clone()).collect();
        migration_core::lint::lint(&before_change, &all, &ALL)
            .await
            .unwrap_or_else(|e| panic!("{d}: lint: {e}"));
        // `up --sql` renders the whole history.
        let (offline, script) = Runner::offline(&before_change, dialect, HashSet::new());
        offline
            .upgrade(&Target::Heads)
            .await
            .unwrap_or_else(|e| panic!("{d}: up --sql: {e}"));
        assert!(
            script.render().contains("members_lower_email"),
            "{d}: {}",
            script.render()
        );

        // The database, migrated by the runner, with its seed rows.
        let runner = Runner::connect(&before_change, &db.url, RunnerOptions::default())
            .await
            .unwrap();
        runner.upgrade(&Target::Heads).await.unwrap();
        let conn = runner.connection().clone();
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM members").await, 2, "{d}");
        let before = reflect(&conn).await;

        // The change, as autogenerate plans it.
        let after_change = migrator(dialect, v2_schema, P2);
        let cmp = compared(&after_change, dialect).await;
        let lines = cmp.plan.difference_lines();
        assert!(cmp.plan.refused.is_empty(), "{d}: {:?}", cmp.plan.refused);
        assert!(
            lines.iter().any(|l| l.contains("nickname")),
            "{d}: {lines:#?}"
        );
        assert!(
            // MySQL/MariaDB have no UNIQUE constraint apart from the index.
            lines
                .iter()
                .any(|l| l.contains(if dialect == Dialect::MySql {
                    "drop unique index `members_handle_unique`"
                } else {
                    "drop unique constraint `members_handle_unique`"
                })),
            "{d}: {lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.contains("members_handle_uidx")),
            "{d}: {lines:#?}"
        );
        assert!(
            lines
                .iter()
                .filter(|l| l.contains("members_lower_email"))
                .count()
                == 2,
            "{d}: the changed index is dropped and created: {lines:#?}"
        );
        // Nothing the entities cannot declare is touched.
        assert!(
            !lines
                .iter()
                .any(|l| l.contains("members_recent") || l.contains("trgm")),
            "{d}: {lines:#?}"
        );

        // It applies on the database with its rows...
        let manager = SchemaManager::new(&conn);
        exec::run(&manager, &cmp.plan.ops)
            .await
            .unwrap_or_else(|e| panic!("{d}: up: {e}"));
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM members").await, 2, "{d}");
        // ...and the database is now what the entities declare.
        let upgraded = reflect(&conn).await;
        let scope = Scope::default();
        let again = compare_in(&upgraded, &cmp.entities, &cmp.hints, &scope);
        assert!(again.is_empty(), "{d}: {:#?}", again.difference_lines());
        let lower = upgraded.tables["members"]
            .indexes
            .iter()
            .find(|i| i.name.as_deref() == Some("members_lower_email"))
            .unwrap();
        if dialect != Dialect::MySql {
            assert!(
                lower
                    .shape
                    .predicate
                    .as_deref()
                    .unwrap_or_default()
                    .contains("email IS NOT NULL"),
                "{d}: {lower}"
            );
        }

        // `down` restores every index property exactly.
        exec::run(&manager, &cmp.plan.down_ops())
            .await
            .unwrap_or_else(|e| panic!("{d}: down: {e}"));
        let reverted = reflect(&conn).await;
        assert!(
            reverted.diff_lines(&before).is_empty(),
            "{d}: {:#?}",
            reverted.diff_lines(&before)
        );
        let (b, r) = (&before.tables["members"], &reverted.tables["members"]);
        for index in &b.indexes {
            assert!(
                r.indexes.iter().any(|i| i.name == index.name
                    && i.columns == index.columns
                    && i.unique == index.unique
                    && i.shape == index.shape),
                "{d}: {index} ({:?}) not restored: {:#?}",
                index.shape,
                r.indexes
            );
        }
        assert_eq!(r.indexes.len(), b.indexes.len(), "{d}");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM members").await, 2, "{d}");
        runner.connection().clone().close().await.ok();
    }
}

/// The scratch database offers what the target does: `pg_trgm` installed in
/// `public` (where `CREATE EXTENSION IF NOT EXISTS` then does nothing) is
/// usable by the migrations replayed in the scratch schema; installed in a
/// `public` that also holds tables (kept off the scratch search path), the
/// failure says the scratch database may be the cause.
#[tokio::test]
async fn scratch_schemas_see_extensions_installed_in_the_scratch_database() {
    let dialect = Dialect::Postgres;
    let m = migrator(dialect, v1_schema, P1);
    for (label, setup, clean) in [
        ("absent", &[][..], true),
        (
            "in_public",
            &["CREATE EXTENSION pg_trgm SCHEMA public"][..],
            true,
        ),
        (
            "beside_tables",
            &[
                "CREATE EXTENSION pg_trgm SCHEMA public",
                "CREATE TABLE public.app_data (id int)",
            ][..],
            false,
        ),
    ] {
        let Some(server) = TestDb::create(dialect, &format!("scratch_{label}")).await else {
            return;
        };
        let conn = sea_orm::Database::connect(&server.url).await.unwrap();
        for sql in setup {
            conn.execute_unprepared(sql).await.unwrap();
        }
        conn.close().await.ok();
        let scratch = Scratch {
            dialect,
            server_url: Some(server.url.clone()),
            cache: None,
        };
        let result =
            compare_project_in(&m, m.entities().unwrap(), &scratch, &Target::Heads, false).await;
        if clean {
            let cmp = result.unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(
                cmp.plan.is_empty(),
                "{label}: {:?}",
                cmp.plan.difference_lines()
            );
            assert!(
                cmp.plan
                    .managed
                    .iter()
                    .any(|l| l.contains("members_name_trgm")),
                "{label}: {:?}",
                cmp.plan.managed
            );
        } else {
            let err = result.expect_err("gin_trgm_ops is out of the scratch schema's sight");
            let text = err.to_string();
            assert!(
                text.contains("this may be the scratch database, not the migration")
                    && text.contains("pg_trgm in schema `public`, which also holds tables"),
                "{label}: {text}"
            );
            assert_eq!(err.exit_code(), 1, "{label}");
        }
        // The scratch schemas are gone; the server's own tables are untouched.
        let conn = sea_orm::Database::connect(&server.url).await.unwrap();
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM pg_namespace WHERE nspname LIKE 'autogen_%'"
            )
            .await,
            0,
            "{label}"
        );
        conn.close().await.ok();
    }
}
