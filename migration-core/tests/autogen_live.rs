//! Autogenerate round trips on real SQLite, PostgreSQL and MariaDB/MySQL.
//!
//! Each scenario has entities at version 1 (what the "migrations" produce: a
//! revision that creates them) and version 2 (what the entities now declare,
//! defined below as SeaORM entity modules and registered through a
//! `SchemaBuilder`). For each backend: compare (scratch databases, as
//! `revision --autogenerate` does), apply the ops to a database at version 1,
//! check that comparing again finds nothing, run `down`, and check that the
//! database is back at version 1.
//!
//! `rendered_files_compile_and_run` then writes the generated files into a
//! scratch copy of the `migration` crate, builds it, and runs them with the
//! real binary on every backend: the rendered code does what the executor did.

use async_trait::async_trait;
use migration_core::autogen::{
    Entities, Plan, Scratch, compare_project, compare_reflected, exec, render,
};
use migration_core::graph::Target;
use migration_core::revision::{Migrator, Revision};
use migration_core::runner::{Runner, RunnerOptions};
use migration_core::schema::Schema;
use migration_core::testing::workspace::{CrateCopy, WorkspaceCopy};
use migration_core::testing::{ALL, TestDb, admin_url};
use migration_core::url::Dialect;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Schema as OrmSchema, SchemaBuilder};
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager};
use std::path::{Path, PathBuf};

/// Scenario A, version 1: runs on every backend.
mod a1 {
    pub mod customers {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "customers")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(column_type = "String(StringLen::N(120))", unique)]
            pub email: String,
            pub username: String,
            #[sea_orm(has_many)]
            pub orders: HasMany<super::orders::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod orders {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "orders")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub customer_id: i32,
            #[sea_orm(column_type = "Decimal(Some((10, 2)))")]
            pub total: Decimal,
            #[sea_orm(belongs_to, from = "customer_id", to = "id", on_delete = "Cascade")]
            pub customer: BelongsTo<super::customers::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod legacy {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "legacy")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(column_type = "Text", nullable)]
            pub payload: Option<String>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod tags {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "tags")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub label: String,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

/// Scenario A, version 2: a renamed column and table, added columns (one a
/// PostgreSQL enum, one 64-bit), an index, a new table whose identifiers need
/// quoting, a dropped table.
mod a2 {
    pub mod customers {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "customers")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(column_type = "String(StringLen::N(120))", unique)]
            pub email: String,
            #[sea_orm(renamed_from = "username")]
            pub display_name: String,
            #[sea_orm(column_type = "String(StringLen::N(32))", nullable, indexed)]
            pub phone: Option<String>,
            #[sea_orm(has_many)]
            pub orders: HasMany<super::orders::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod orders {
        use sea_orm::entity::prelude::*;
        #[derive(Debug, Clone, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "order_status")]
        pub enum OrderStatus {
            #[sea_orm(string_value = "new")]
            New,
            #[sea_orm(string_value = "paid")]
            Paid,
        }
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "orders")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub customer_id: i32,
            #[sea_orm(column_type = "Decimal(Some((10, 2)))")]
            pub total: Decimal,
            pub status: Option<OrderStatus>,
            pub weight_mg: Option<i64>,
            pub created_at: Option<DateTimeWithTimeZone>,
            #[sea_orm(belongs_to, from = "customer_id", to = "id", on_delete = "Cascade")]
            pub customer: BelongsTo<super::customers::Entity>,
            #[sea_orm(has_many)]
            pub items: HasMany<super::order_items::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod order_items {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "Order Items")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(column_name = "order")]
            pub order: i32,
            #[sea_orm(column_name = "Qty \"x\"", default_value = 1)]
            pub qty: i32,
            #[sea_orm(
                column_name = "prix_€",
                column_type = "Decimal(Some((8, 2)))",
                nullable
            )]
            pub prix: Option<Decimal>,
            #[sea_orm(column_name = "MixedCase")]
            pub mixed_case: Option<bool>,
            #[sea_orm(belongs_to, from = "order", to = "id", on_delete = "Cascade")]
            pub parent: BelongsTo<super::orders::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod labels {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "labels", comment = "renamed_from \"tags\"")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub label: String,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

/// Scenario B, version 1: changes SQLite cannot make with ALTER TABLE (they go
/// through batch alter: a table rebuild there).
mod b1 {
    pub mod owners {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "owners")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(has_many)]
            pub accounts: HasMany<super::accounts::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod accounts {
        use sea_orm::entity::prelude::*;
        #[derive(Debug, Clone, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "mood")]
        pub enum Mood {
            #[sea_orm(string_value = "sad")]
            Sad,
            #[sea_orm(string_value = "ok")]
            Ok,
        }
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "accounts")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
            pub code: Option<String>,
            #[sea_orm(default_value = 1)]
            pub qty: i32,
            pub owner_id: Option<i32>,
            #[sea_orm(default_value = "ok")]
            pub mood: Mood,
            #[sea_orm(belongs_to, from = "owner_id", to = "id", on_delete = "SetNull")]
            pub owner: BelongsTo<Option<super::owners::Entity>>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

/// Scenario B, version 2: a narrowed NOT NULL unique column, a changed default
/// and nullability, a foreign key with another ON DELETE rule, an enum label added.
mod b2 {
    pub mod owners {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "owners")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(has_many)]
            pub accounts: HasMany<super::accounts::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod accounts {
        use sea_orm::entity::prelude::*;
        #[derive(Debug, Clone, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "mood")]
        pub enum Mood {
            #[sea_orm(string_value = "sad")]
            Sad,
            #[sea_orm(string_value = "ok")]
            Ok,
            #[sea_orm(string_value = "happy")]
            Happy,
        }
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "accounts")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            #[sea_orm(column_type = "String(StringLen::N(32))", unique)]
            pub code: String,
            #[sea_orm(default_value = 5)]
            pub qty: Option<i32>,
            pub owner_id: Option<i32>,
            #[sea_orm(default_value = "ok")]
            pub mood: Mood,
            #[sea_orm(belongs_to, from = "owner_id", to = "id", on_delete = "Cascade")]
            pub owner: BelongsTo<Option<super::owners::Entity>>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

fn a1_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b)
        .builder()
        .register(a1::customers::Entity)
        .register(a1::orders::Entity)
        .register(a1::legacy::Entity)
        .register(a1::tags::Entity)
}

fn a2_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b)
        .builder()
        .register(a2::customers::Entity)
        .register(a2::orders::Entity)
        .register(a2::order_items::Entity)
        .register(a2::labels::Entity)
}

fn b1_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b)
        .builder()
        .register(b1::owners::Entity)
        .register(b1::accounts::Entity)
}

fn b2_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b)
        .builder()
        .register(b2::owners::Entity)
        .register(b2::accounts::Entity)
}

/// Version 1 and 2 of a table whose changes some backend's reflection
/// hides: SQLite writes `integer` for `i32` and `i64`, PostgreSQL `bytea`
/// for `binary(16)` and `varbinary(16)`.
mod m1 {
    pub mod counters {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "counters")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub hits: i32,
            #[sea_orm(column_type = "Binary(16)")]
            pub digest: Vec<u8>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

mod m2 {
    pub mod counters {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "counters")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub hits: i64,
            #[sea_orm(column_type = "VarBinary(StringLen::N(16))")]
            pub digest: Vec<u8>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

fn m1_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b).builder().register(m1::counters::Entity)
}

fn m2_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b).builder().register(m2::counters::Entity)
}

/// A revision that creates the entities of `schema` (stands for "the migrations").
struct CreateEntities {
    name: &'static str,
    /// Captures its DDL once: every `up` of this revision sends the same
    /// statements in the same order, as a migration's code does.
    entities: Entities,
}

impl MigrationName for CreateEntities {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait]
impl MigrationTrait for CreateEntities {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        self.entities.apply(manager.get_connection()).await
    }
}

fn migrator_of(name: &'static str, schema: fn(DbBackend) -> SchemaBuilder) -> Migrator {
    Migrator::new(vec![Revision::new(
        name,
        &[],
        "create the version-1 entities",
        "test",
        "test",
        Box::new(CreateEntities {
            name,
            entities: Entities::new(schema),
        }),
    )])
    .expect("valid graph")
}

fn scratch(dialect: Dialect) -> Scratch {
    Scratch {
        dialect,
        server_url: (dialect != Dialect::Sqlite).then(|| admin_url(dialect)),
        cache: None,
    }
}

async fn reflect(url: &str, _dialect: Dialect) -> Schema {
    let db = sea_orm::Database::connect(url).await.expect("connect");
    // Bookkeeping: the tracking table, the rollback hold `down` records, sea-orm-migration's.
    let schema = migration_core::backend::reflect(
        &db,
        &[
            "seaorm_revisions",
            "seaorm_revisions_hold",
            "seaql_migrations",
        ],
    )
    .await
    .expect("reflect");
    db.close().await.ok();
    schema
}

/// Compares the migrations of one revision creating `migrations`' entities
/// with the entities of `entities`, on `dialect` (as `check` does).
async fn compared(
    dialect: Dialect,
    migrations: fn(DbBackend) -> SchemaBuilder,
    entities: fn(DbBackend) -> SchemaBuilder,
) -> migration_core::autogen::Comparison {
    let migrator = migrator_of("m20250101_000000_v1", migrations);
    compare_project(
        &migrator,
        &Entities::new(entities),
        &scratch(dialect),
        &Target::Heads,
    )
    .await
    .unwrap()
}

/// Whether the backend's server answers (prints why not and skips otherwise).
async fn reachable(dialect: Dialect) -> bool {
    TestDb::create(dialect, "probe").await.is_some()
}

struct Scenario {
    name: &'static str,
    v1: fn(DbBackend) -> SchemaBuilder,
    v2: fn(DbBackend) -> SchemaBuilder,
    /// Whether the plan changes existing tables (through batch alter).
    batched: bool,
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "a",
        v1: a1_schema,
        v2: a2_schema,
        batched: true,
    },
    Scenario {
        name: "b",
        v1: b1_schema,
        v2: b2_schema,
        batched: true,
    },
];

fn describe(plan: &Plan) -> String {
    plan.difference_lines().join("\n")
}

/// Applies the plan to a database at version 1, checks, reverts, checks.
async fn round_trip(dialect: Dialect, s: &Scenario) {
    let migrator = migrator_of("m20250101_000000_v1", s.v1);
    let entities = Entities::new(s.v2);
    let cmp = compare_project(&migrator, &entities, &scratch(dialect), &Target::Heads)
        .await
        .expect("compare");
    let plan = &cmp.plan;
    eprintln!("{} on {}:\n{}", s.name, dialect.name(), describe(plan));
    assert!(!plan.ops.is_empty());
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);
    let batched = |ops: &[migration_core::autogen::Op]| ops.iter().any(|o| o.is_table_change());
    assert_eq!(
        batched(&plan.ops) && batched(&plan.down_ops()),
        s.batched,
        "batched ops of scenario {}",
        s.name,
    );
    // Renames are renames, never drop + add.
    if s.name == "a" {
        let text = describe(plan);
        assert!(
            text.contains("rename column `customers`.`username` to `display_name`"),
            "{text}"
        );
        assert!(text.contains("rename table `tags` to `labels`"), "{text}");
        assert!(!text.contains("drop column `username`"), "{text}");
    }

    let db = TestDb::create(dialect, &format!("autogen_{}", s.name))
        .await
        .expect("server was reachable a moment ago");
    let runner = Runner::connect(&migrator, &db.url, RunnerOptions::default())
        .await
        .unwrap();
    runner.upgrade(&Target::Heads).await.unwrap();
    let conn = runner.connection().clone();
    let start = reflect(&db.url, dialect).await;
    let mut expected_start = cmp.migrations.clone();
    if dialect != Dialect::Postgres {
        // The enum types recorded there for PostgreSQL's sake (see `autogen::prepare`).
        expected_start.enums.clear();
    }
    assert!(
        start.diff_lines(&expected_start).is_empty(),
        "{}",
        start.diff_lines(&expected_start).join("\n")
    );
    let manager = SchemaManager::new(&conn);

    exec::run(&manager, &plan.ops)
        .await
        .unwrap_or_else(|e| panic!("up on {}: {e}", dialect.name()));
    let after = reflect(&db.url, dialect).await;
    let again = compare_reflected(&after, &cmp.entities, &cmp.hints, dialect);
    assert!(
        again.is_empty(),
        "check after up on {} finds:\n{}",
        dialect.name(),
        describe(&again)
    );

    exec::run(&manager, &plan.down_ops())
        .await
        .unwrap_or_else(|e| panic!("down on {}: {e}", dialect.name()));
    let back = reflect(&db.url, dialect).await;
    assert!(
        back.diff_lines(&start).is_empty(),
        "down on {} does not restore the start:\n{}",
        dialect.name(),
        back.diff_lines(&start).join("\n")
    );
    conn.close().await.ok();
}

#[tokio::test]
async fn generate_apply_check_downgrade_on_every_backend() {
    for dialect in ALL {
        if !reachable(dialect).await {
            continue;
        }
        for s in &SCENARIOS {
            round_trip(dialect, s).await;
        }
    }
}

#[tokio::test]
async fn no_difference_means_no_ops() {
    for dialect in ALL {
        if !reachable(dialect).await {
            continue;
        }
        let cmp = compared(dialect, a2_schema, a2_schema).await;
        assert!(
            cmp.plan.is_empty(),
            "{}: {}",
            dialect.name(),
            describe(&cmp.plan)
        );
    }
}

/// The comparison cache on every backend: a second comparison of the same
/// migrations and entities reads both sides from it and finds exactly what
/// building them finds; a migration whose body changed while its id and
/// checksum did not (a helper it calls was edited) is built again, and so
/// are entities whose script changed.
#[tokio::test]
async fn the_comparison_cache_serves_only_what_would_be_built_the_same() {
    use migration_core::autogen::Cache;
    for dialect in ALL {
        if !reachable(dialect).await {
            continue;
        }
        let dir = std::env::temp_dir().join(format!(
            "autogen-cache-{}-{}-{}",
            dialect.name(),
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        ));
        let cached = Scratch {
            cache: Some(Cache::at(&dir)),
            ..scratch(dialect)
        };
        // One migrator per history, kept: its revision captures the
        // entities' DDL once, as a migration's fixed statements are.
        let (a1, b1) = (
            migrator_of("m20250101_000000_v1", a1_schema),
            migrator_of("m20250101_000000_v1", b1_schema),
        );
        let run = |migrations: &'static Migrator,
                   entities: fn(DbBackend) -> SchemaBuilder,
                   scratch: Scratch| async move {
            compare_project(
                migrations,
                &Entities::new(entities),
                &scratch,
                &Target::Heads,
            )
            .await
            .unwrap()
        };
        let (a1, b1): (&'static Migrator, &'static Migrator) =
            (Box::leak(Box::new(a1)), Box::leak(Box::new(b1)));
        let name = dialect.name();
        let built = run(a1, a2_schema, scratch(dialect)).await;
        let cold = run(a1, a2_schema, cached.clone()).await;
        assert!(cold.cached.is_empty(), "{name}: {:?}", cold.cached);
        let entries = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(entries, 2, "{name}: one entry per side");
        let warm = run(a1, a2_schema, cached.clone()).await;
        assert_eq!(warm.cached, ["migrations", "entities"], "{name}");
        // What the cache gives is what building gives.
        assert_eq!(warm.migrations, built.migrations, "{name}");
        assert_eq!(warm.entities, built.entities, "{name}");
        assert_eq!(describe(&warm.plan), describe(&built.plan), "{name}");
        assert!(!warm.plan.is_empty(), "{name}: a1 -> a2 changes something");

        // Same id, same checksum ("test"), another body: the statements it
        // sends key the side, so it is built, and what it builds is new.
        let edited = run(b1, a2_schema, cached.clone()).await;
        assert_eq!(edited.cached, ["entities"], "{name}");
        assert!(edited.migrations.tables.contains_key("owners"), "{name}");
        assert!(
            !edited.migrations.tables.contains_key("customers"),
            "{name}"
        );
        // Other entities: their side is built, the migrations' is read.
        let other = run(a1, a1_schema, cached.clone()).await;
        assert_eq!(other.cached, ["migrations"], "{name}");
        assert!(other.plan.is_empty(), "{name}: {}", describe(&other.plan));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A change one backend's reflection hides is found on every backend, and
/// the same ops come out wherever the comparison ran: the migrations' own
/// DDL, rendered offline, says what the scratch database cannot.
#[tokio::test]
async fn changes_a_backend_merges_are_found_on_every_backend() {
    let mut plans = Vec::new();
    for dialect in ALL {
        if !reachable(dialect).await {
            continue;
        }
        let cmp = compared(dialect, m1_schema, m2_schema).await;
        let text = describe(&cmp.plan);
        assert!(
            text.contains("alter column `counters`.`hits`: type int -> bigint"),
            "{}: {text}",
            dialect.name()
        );
        assert!(
            text.contains("alter column `counters`.`digest`: type binary(16) -> "),
            "{}: {text}",
            dialect.name()
        );
        plans.push((dialect, cmp.plan.ops));
        // Once the migrations declare what the entities do, nothing is left.
        let cmp = compared(dialect, m2_schema, m2_schema).await;
        assert!(
            cmp.plan.is_empty(),
            "{}: {}",
            dialect.name(),
            describe(&cmp.plan)
        );
    }
    for (dialect, ops) in &plans[1..] {
        assert_eq!(
            ops,
            &plans[0].1,
            "{} vs {}",
            dialect.name(),
            plans[0].0.name()
        );
    }
}

// ---------------------------------------------------------------------------
// The rendered files, compiled and run by the real binary
// ---------------------------------------------------------------------------

/// A copy of the `migration` crate in its own workspace (sharing the target
/// folder, so only the copy compiles), with its versions replaced.
struct Scratchpad {
    copy: WorkspaceCopy,
}

impl Scratchpad {
    fn new() -> Scratchpad {
        let main = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let copy = WorkspaceCopy::new(
            main,
            &[CrateCopy::new("migration")
                .package("migration-autogen-files")
                .only(&["lib.rs", "main.rs"])],
            &[],
            &[],
        );
        Scratchpad { copy }
    }

    fn write(&self, id: &str, source: &str) {
        std::fs::write(
            self.copy
                .path("migration/src/versions")
                .join(format!("{id}.rs")),
            source,
        )
        .unwrap();
    }

    /// Compiles the library with warnings denied (the generated files must
    /// compile cleanly), then builds the binary. The flag reaches the copy
    /// alone: `RUSTFLAGS` would rebuild every dependency.
    fn build(&self) -> PathBuf {
        self.copy
            .compile_lib_denying_warnings("migration-autogen-files");
        self.copy.build("migration-autogen-files", &[])
    }
}

use migration_core::testing::workspace::run_cli as run;

/// Generates the plan from `v1` (or nothing) to `v2` on `dialect` and renders it.
async fn rendered(
    dialect: Dialect,
    id: &str,
    parent: Option<&str>,
    v1: Option<fn(DbBackend) -> SchemaBuilder>,
    v2: fn(DbBackend) -> SchemaBuilder,
) -> String {
    let (migrator, target) = match v1 {
        Some(v1) => (migrator_of("m20250101_000000_v1", v1), Target::Heads),
        None => (Migrator::new(vec![]).unwrap(), Target::Base),
    };
    let cmp = compare_project(&migrator, &Entities::new(v2), &scratch(dialect), &target)
        .await
        .unwrap();
    assert!(cmp.plan.refused.is_empty(), "{:?}", cmp.plan.refused);
    let parents: Vec<String> = parent.map(str::to_owned).into_iter().collect();
    render::render(
        render::FileInfo {
            id,
            message: &format!("generated {id}"),
            parents: &parents,
        },
        &cmp.plan,
    )
}

/// The part of `schema` made of `tables` and the enum types they use.
fn restrict(schema: &Schema, tables: &[&str]) -> Schema {
    let mut s = schema.clone();
    s.tables.retain(|n, _| tables.contains(&n.as_str()));
    let used: Vec<String> = s
        .tables
        .values()
        .flat_map(|t| &t.columns)
        .filter_map(|c| match &c.col_type {
            migration_core::schema::ColType::Enum { name: Some(n), .. } => Some(n.clone()),
            _ => None,
        })
        .collect();
    s.enums.retain(|n, _| used.contains(n));
    s
}

#[tokio::test]
async fn rendered_files_compile_and_run() {
    // Generate on PostgreSQL when it is there (exact types), else on SQLite.
    let on = if reachable(Dialect::Postgres).await {
        Dialect::Postgres
    } else {
        Dialect::Sqlite
    };
    let ids = [
        "m20250101_000001_a1",
        "m20250101_000002_a2",
        "m20250101_000003_b1",
        "m20250101_000004_b2",
    ];
    let pad = Scratchpad::new();
    pad.write(ids[0], &rendered(on, ids[0], None, None, a1_schema).await);
    pad.write(
        ids[1],
        &rendered(on, ids[1], Some(ids[0]), Some(a1_schema), a2_schema).await,
    );
    pad.write(
        ids[2],
        &rendered(on, ids[2], Some(ids[1]), None, b1_schema).await,
    );
    let b2_file = rendered(on, ids[3], Some(ids[2]), Some(b1_schema), b2_schema).await;
    // SQLite cannot ALTER these columns: the file says so and uses batch alter.
    assert!(
        b2_file.contains("batch_alter_table(") && b2_file.contains("\"accounts\""),
        "{b2_file}"
    );
    pad.write(ids[3], &b2_file);
    let bin = pad.build();

    let a_tables = [
        "customers",
        "orders",
        "legacy",
        "tags",
        "Order Items",
        "labels",
    ];
    let b_tables = ["owners", "accounts"];
    for dialect in ALL {
        let Some(expected_db) = TestDb::create(dialect, "autogen_expected").await else {
            continue;
        };
        // What each version of the entities looks like on this backend.
        let expect = |schema: fn(DbBackend) -> SchemaBuilder| {
            let url = expected_db.url.clone();
            async move {
                let conn = sea_orm::Database::connect(&url).await.unwrap();
                migration_core::backend::of(dialect)
                    .drop_everything(&conn, &[])
                    .await
                    .unwrap();
                Entities::new(schema).apply(&conn).await.unwrap();
                conn.close().await.ok();
                reflect(&url, dialect).await
            }
        };
        let (a1, a2) = (expect(a1_schema).await, expect(a2_schema).await);
        let (b1, b2) = (expect(b1_schema).await, expect(b2_schema).await);
        let db = TestDb::create(dialect, "autogen_files").await.unwrap();
        let same = |got: &Schema, want: &Schema, what: &str| {
            let diff = got.diff_lines(want);
            assert!(
                diff.is_empty(),
                "{} {what}:\n{}",
                dialect.name(),
                diff.join("\n")
            );
        };

        assert_eq!(run(&bin, &db.url, &["up", ids[1]]).status.code(), Some(0));
        same(
            &restrict(&reflect(&db.url, dialect).await, &a_tables),
            &a2,
            "after a2",
        );
        assert_eq!(
            run(&bin, &db.url, &["down", "--to", ids[0]]).status.code(),
            Some(0)
        );
        same(
            &restrict(&reflect(&db.url, dialect).await, &a_tables),
            &a1,
            "after down to a1",
        );
        if on == Dialect::Sqlite && dialect != Dialect::Sqlite {
            // Generated on SQLite: the exact types of the other backends are unknown.
            assert_eq!(
                run(&bin, &db.url, &["down", "--to", "base"]).status.code(),
                Some(0)
            );
            same(
                &reflect(&db.url, dialect).await,
                &Schema::default(),
                "after down to base",
            );
            continue;
        }
        assert_eq!(run(&bin, &db.url, &["up"]).status.code(), Some(0));
        let all = reflect(&db.url, dialect).await;
        same(&restrict(&all, &a_tables), &a2, "after up");
        same(&restrict(&all, &b_tables), &b2, "after up");
        assert_eq!(
            run(&bin, &db.url, &["down", "--to", ids[2]]).status.code(),
            Some(0)
        );
        same(
            &restrict(&reflect(&db.url, dialect).await, &b_tables),
            &b1,
            "after down to b1",
        );
        assert_eq!(
            run(&bin, &db.url, &["down", "--to", "base"]).status.code(),
            Some(0)
        );
        let mut empty = reflect(&db.url, dialect).await;
        empty.enums.clear();
        same(&empty, &Schema::default(), "after down to base");
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL scratch places: the temporary schema, and the fallback from it
// ---------------------------------------------------------------------------

/// A trigger whose function is called unqualified: PostgreSQL never looks up
/// functions in the temporary schema, so this revision fails there.
struct TriggerRevision;

impl MigrationName for TriggerRevision {
    fn name(&self) -> &str {
        "m20250102_000000_touch_trigger"
    }
}

#[async_trait]
impl MigrationTrait for TriggerRevision {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE FUNCTION touch_customer() RETURNS trigger LANGUAGE plpgsql \
                 AS $$ BEGIN RETURN NEW; END $$; \
                 CREATE TRIGGER customers_touch BEFORE UPDATE ON customers \
                 FOR EACH ROW EXECUTE FUNCTION touch_customer()",
            )
            .await
            .map(|_| ())
    }
}

#[tokio::test]
async fn postgres_scratch_uses_the_temporary_schema_and_falls_back() {
    use migration_core::backend::ScratchPlace;
    use sea_orm::TransactionTrait;
    if !reachable(Dialect::Postgres).await {
        return;
    }
    let pg = migration_core::backend::of(Dialect::Postgres);
    assert_eq!(
        pg.scratch_places(),
        &[ScratchPlace::Temporary, ScratchPlace::Schema]
    );

    // The temporary place: unqualified DDL lands in this session's pg_temp_N,
    // which is what reflection's current_schema() reads.
    let db = sea_orm::Database::connect(admin_url(Dialect::Postgres))
        .await
        .unwrap();
    let txn = db.begin().await.unwrap();
    pg.enter_scratch(&txn, "unused", ScratchPlace::Temporary)
        .await
        .unwrap();
    txn.execute_unprepared("CREATE TABLE scratch_probe (id serial PRIMARY KEY)")
        .await
        .unwrap();
    let row = txn
        .query_one_raw(sea_orm::Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_schema()::text, c.relpersistence::text FROM pg_class c \
             WHERE c.relname = 'scratch_probe'",
        ))
        .await
        .unwrap()
        .unwrap();
    let schema: String = row.try_get_by_index(0).unwrap();
    let persistence: String = row.try_get_by_index(1).unwrap();
    assert!(schema.starts_with("pg_temp"), "{schema}");
    assert_eq!(persistence, "t");
    txn.rollback().await.unwrap();
    db.close().await.unwrap();

    // A revision that cannot run in the temporary schema: the side is built
    // again in a schema of its own, and the comparison is as clean as ever.
    let migrator = Migrator::new(vec![
        Revision::new(
            "m20250101_000000_v1",
            &[],
            "create the entities",
            "test",
            "test",
            Box::new(CreateEntities {
                name: "m20250101_000000_v1",
                entities: Entities::new(a2_schema),
            }),
        ),
        Revision::new(
            "m20250102_000000_touch_trigger",
            &["m20250101_000000_v1"],
            "a trigger",
            "test",
            "test",
            Box::new(TriggerRevision),
        ),
    ])
    .expect("valid graph");
    let cmp = compare_project(
        &migrator,
        &Entities::new(a2_schema),
        &scratch(Dialect::Postgres),
        &Target::Heads,
    )
    .await
    .expect("the side is rebuilt in a schema and compared");
    assert!(cmp.plan.is_empty(), "{}", describe(&cmp.plan));
    assert!(
        cmp.migrations.tables.contains_key("customers"),
        "the migrations side was reflected"
    );
}
