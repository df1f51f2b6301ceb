//! Golden tests for the lint, per rule and per backend: a migration that triggers
//! each rule, one that does the same thing safely, and one that acknowledges it;
//! the same for the operations of a `batch_alter_table`, whose offline SQL per
//! backend is golden too; and for dropping a column an entity still has.

use migration_core::batch::{AlterColumn, BatchAlter};
use migration_core::graph::Target;
use migration_core::lint::{self, Finding};
use migration_core::offline::Entry;
use migration_core::prelude::*;
use migration_core::url::Dialect;
use migration_core::{Migrator, Revision, Runner};
use sea_orm::{DbBackend, Schema, SchemaBuilder};
use sea_orm_migration::MigrationName;
use sea_orm_migration::schema::{integer, integer_null};
use std::collections::HashSet;

/// The entity the running application has for `items`: `email`, `phone` and
/// `extra` are fields, `note`, `legacy` and `label` are not.
mod items {
    use sea_orm::entity::prelude::*;
    #[sea_orm::model]
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "items")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub qty: Option<i32>,
        pub email: Option<String>,
        pub phone: Option<String>,
        pub extra: Option<String>,
    }
    impl ActiveModelBehavior for ActiveModel {}
}

fn entities(backend: DbBackend) -> SchemaBuilder {
    Schema::new(backend).builder().register(items::Entity)
}

/// What a fixture migration runs.
#[derive(Clone, Copy)]
enum Step {
    /// These statements per backend.
    Sql(fn(DbBackend) -> Vec<String>),
    /// This batch alter.
    Batch(fn() -> BatchAlter),
}

/// A fixture migration.
struct Fixture {
    name: &'static str,
    step: Step,
}

impl MigrationName for Fixture {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Fixture {
    /// The safe form of an online index build runs outside a transaction,
    /// as the lint asks (`in_a_transaction` fixtures leave it unsaid).
    fn use_transaction(&self) -> Option<bool> {
        (self.name.contains("concurrently") && !self.name.contains("in_a_transaction"))
            .then_some(false)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match self.step {
            Step::Sql(sql) => {
                for sql in sql(manager.get_database_backend()) {
                    manager.get_connection().execute_unprepared(&sql).await?;
                }
            }
            Step::Batch(batch) => batch().run(manager).await?,
        }
        Ok(())
    }
}

fn q(backend: DbBackend, ident: &str) -> String {
    match backend {
        DbBackend::MySql => format!("`{ident}`"),
        _ => format!("\"{ident}\""),
    }
}

/// A fixture: its name, the findings it acknowledges, what it runs.
type FixtureSpec = (&'static str, &'static [(&'static str, &'static str)], Step);

/// Plain-SQL fixtures: (name, acknowledged, statements per backend).
type SqlSpec = (
    &'static str,
    Option<(&'static str, &'static str)>,
    fn(DbBackend) -> Vec<String>,
);

fn batch(table: &str, build: impl FnOnce(&mut BatchAlter)) -> BatchAlter {
    let mut b = BatchAlter::new(table);
    build(&mut b);
    b
}

/// Fixtures on `items`, after the plain ones: batch alters, and drops of
/// columns the entity has.
fn item_fixtures() -> Vec<FixtureSpec> {
    vec![
        (
            "items_base",
            &[],
            Step::Sql(|b| {
                vec![format!(
                    "CREATE TABLE {} (id integer PRIMARY KEY, qty integer NULL, note text NULL, \
                     legacy text NULL, label text NULL, code text NULL, email text NULL, \
                     phone text NULL, extra text NULL)",
                    q(b, "items")
                )]
            }),
        ),
        // Everywhere: SQLite's own DROP COLUMN, PostgreSQL's, one MySQL ALTER TABLE.
        (
            "batch_drop_column",
            &[],
            Step::Batch(|| {
                batch("items", |t| {
                    t.drop_column("note");
                })
            }),
        ),
        (
            "batch_drop_column_ack",
            &[(
                "drop-column",
                "legacy was copied into the archive in ticket 7",
            )],
            Step::Batch(|| {
                batch("items", |t| {
                    t.drop_column("legacy");
                })
            }),
        ),
        // SQLite rebuilds for the check: the dropped column is declared to the lint.
        (
            "batch_rebuild_drop_column",
            &[],
            Step::Batch(|| {
                batch("items", |t| {
                    t.drop_column("label").add_check("ck-items-qty", "qty >= 0");
                })
            }),
        ),
        // A narrowing type change: rendered on PostgreSQL; on MySQL the MODIFY
        // needs the live column, so it is declared; SQLite rebuilds (no rule).
        (
            "batch_narrow_type",
            &[],
            Step::Batch(|| {
                batch("items", |t| {
                    t.alter_column(
                        "qty",
                        AlterColumn::new()
                            .type_(ColumnType::SmallInteger)
                            .existing_type(ColumnType::Integer),
                    );
                })
            }),
        ),
        // The whole column declared: MySQL's MODIFY renders too.
        (
            "batch_narrow_type_ack",
            &[(
                "column-type-change",
                "qty never exceeded 1000, checked in ticket 9",
            )],
            Step::Batch(|| {
                batch("items", |t| {
                    t.alter_column(
                        "qty",
                        AlterColumn::new()
                            .type_(ColumnType::SmallInteger)
                            .existing_type(ColumnType::Integer)
                            .existing_nullable(true)
                            .existing_no_default(),
                    );
                })
            }),
        ),
        (
            "batch_rename_column",
            &[],
            Step::Batch(|| {
                batch("items", |t| {
                    t.rename_column("code", "sku");
                })
            }),
        ),
        // SQLite cannot ADD a NOT NULL column without a default: a rebuild, declared.
        (
            "batch_add_not_null",
            &[],
            Step::Batch(|| {
                batch("items", |t| {
                    t.add_column(integer("n"));
                })
            }),
        ),
        (
            "batch_add_nullable",
            &[],
            Step::Batch(|| {
                batch("items", |t| {
                    t.add_column(integer_null("m"));
                })
            }),
        ),
        // The entity still has `email`, `phone` and `extra`.
        (
            "drop_entity_column",
            &[],
            Step::Sql(|b| {
                vec![format!(
                    "ALTER TABLE {} DROP COLUMN {}",
                    q(b, "items"),
                    q(b, "email")
                )]
            }),
        ),
        (
            "batch_drop_entity_column",
            &[],
            Step::Batch(|| {
                batch("items", |t| {
                    t.drop_column("phone");
                })
            }),
        ),
        (
            "batch_drop_entity_column_ack",
            &[
                ("drop-column", "extra is empty in every deployment"),
                (
                    "drop-column-in-entity",
                    "the app reading items is retired in this release",
                ),
            ],
            Step::Batch(|| {
                batch("items", |t| {
                    t.drop_column("extra");
                })
            }),
        ),
    ]
}

fn fixtures() -> Vec<FixtureSpec> {
    let mut all: Vec<FixtureSpec> = sql_fixtures()
        .into_iter()
        .map(|(name, ack, sql)| {
            let ack: &'static [(&'static str, &'static str)] = match ack {
                Some(a) => Vec::leak(vec![a]),
                None => &[],
            };
            (name, ack, Step::Sql(sql))
        })
        .collect();
    all.extend(item_fixtures());
    all
}

fn sql_fixtures() -> Vec<SqlSpec> {
    vec![
        ("base", None, |b| {
            vec![
                format!(
                    "CREATE TABLE {} (id integer PRIMARY KEY, a integer NULL, b text NULL)",
                    q(b, "t")
                ),
                format!("CREATE TABLE {} (id integer PRIMARY KEY)", q(b, "parent")),
                format!(
                    "CREATE INDEX {} ON {} (a)",
                    q(b, "idx-new-table-is-fine"),
                    q(b, "t")
                ),
            ]
        }),
        ("drop_column", None, |b| {
            vec![format!(
                "ALTER TABLE {} DROP COLUMN {}",
                q(b, "t"),
                q(b, "b")
            )]
        }),
        (
            "drop_column_ack",
            Some((
                "drop-column",
                "b was unused since v2, backed up in ticket 42",
            )),
            |b| {
                vec![format!(
                    "ALTER TABLE {} DROP COLUMN {}",
                    q(b, "t"),
                    q(b, "a")
                )]
            },
        ),
        ("add_not_null", None, |b| {
            vec![format!(
                "ALTER TABLE {} ADD COLUMN {} integer NOT NULL",
                q(b, "t"),
                q(b, "c")
            )]
        }),
        ("add_not_null_default", None, |b| {
            vec![format!(
                "ALTER TABLE {} ADD COLUMN {} integer NOT NULL DEFAULT 0",
                q(b, "t"),
                q(b, "d")
            )]
        }),
        ("create_index", None, |b| {
            vec![format!(
                "CREATE INDEX {} ON {} (d)",
                q(b, "idx-t-d"),
                q(b, "t")
            )]
        }),
        ("create_index_concurrently", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "CREATE INDEX CONCURRENTLY {} ON {} (d)",
                q(b, "idx-t-d2"),
                q(b, "t")
            )],
            _ => vec![],
        }),
        ("add_foreign_key", None, |b| match b {
            DbBackend::Sqlite => vec![],
            _ => vec![format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY (d) REFERENCES {} (id)",
                q(b, "t"),
                q(b, "fk-t-d"),
                q(b, "parent")
            )],
        }),
        ("add_foreign_key_not_valid", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY (d) REFERENCES {} (id) NOT VALID",
                q(b, "t"),
                q(b, "fk-t-d2"),
                q(b, "parent")
            )],
            _ => vec![],
        }),
        ("set_not_null", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "ALTER TABLE {} ALTER COLUMN {} SET NOT NULL",
                q(b, "t"),
                q(b, "d")
            )],
            _ => vec![],
        }),
        ("change_type", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "ALTER TABLE {} ALTER COLUMN {} TYPE bigint",
                q(b, "t"),
                q(b, "d")
            )],
            DbBackend::MySql => vec![format!(
                "ALTER TABLE {} MODIFY COLUMN {} bigint NOT NULL",
                q(b, "t"),
                q(b, "d")
            )],
            _ => vec![],
        }),
        ("volatile_default", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "ALTER TABLE {} ADD COLUMN {} double precision NULL DEFAULT random()",
                q(b, "t"),
                q(b, "r")
            )],
            _ => vec![],
        }),
        ("rename_column", None, |b| {
            vec![format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                q(b, "t"),
                q(b, "d"),
                q(b, "e")
            )]
        }),
        ("rename_table", None, |b| match b {
            DbBackend::MySql => vec![format!(
                "RENAME TABLE {} TO {}",
                q(b, "parent"),
                q(b, "parents")
            )],
            _ => vec![format!(
                "ALTER TABLE {} RENAME TO {}",
                q(b, "parent"),
                q(b, "parents")
            )],
        }),
        ("truncate", None, |b| match b {
            DbBackend::Sqlite => vec![],
            _ => vec![format!("TRUNCATE TABLE {}", q(b, "t"))],
        }),
        ("drop_table", None, |b| {
            vec![format!("DROP TABLE {}", q(b, "t"))]
        }),
        ("concurrently_in_a_transaction", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "CREATE INDEX CONCURRENTLY {} ON {} (d)",
                q(b, "idx-t-d3"),
                q(b, "t")
            )],
            DbBackend::Sqlite => vec!["VACUUM".to_owned()],
            _ => vec![],
        }),
    ]
}

fn migrator() -> Migrator {
    migrator_without_entities().with_entities(entities)
}

fn migrator_without_entities() -> Migrator {
    let mut revisions = Vec::new();
    let mut parent: Option<String> = None;
    for (i, (name, ack, step)) in fixtures().into_iter().enumerate() {
        let id = format!("m20250101_{:06}_{name}", i + 1);
        let parents: Vec<&str> = parent.iter().map(String::as_str).collect();
        let rev = Revision::new(
            &id,
            &parents,
            name,
            name,
            "fixture",
            Box::new(Fixture { name, step }),
        )
        .with_lint_allow(ack);
        revisions.push(rev);
        parent = Some(id);
    }
    Migrator::new(revisions).unwrap()
}

async fn findings(dialect: Dialect) -> Vec<Finding> {
    let migrator = migrator();
    let all: Vec<String> = migrator
        .graph()
        .topo_order()
        .map(|r| r.id.clone())
        .collect();
    lint::lint(&migrator, &all, &[dialect]).await.unwrap()
}

/// Which rule fired on which fixture (fixture name, rule, acknowledged?).
fn hits(findings: &[Finding]) -> Vec<(String, &'static str, bool)> {
    findings
        .iter()
        .map(|f| {
            (
                f.revision[17..].to_string(),
                f.rule,
                f.acknowledged.is_some(),
            )
        })
        .collect()
}

#[tokio::test]
async fn golden_report_per_backend() {
    for dialect in migration_core::testing::ALL {
        let report = lint::render(&findings(dialect).await, false);
        insta::assert_snapshot!(format!("lint_{}", dialect.name()), report);
    }
}

#[tokio::test]
async fn each_rule_fires_on_the_unsafe_form_only() {
    for dialect in migration_core::testing::ALL {
        let got = hits(&findings(dialect).await);
        let fired = |fixture: &str| {
            got.iter()
                .filter(|h| h.0 == fixture)
                .map(|h| h.1)
                .collect::<Vec<_>>()
        };
        // Everywhere.
        assert_eq!(fired("drop_column"), ["drop-column"], "{dialect:?}");
        assert_eq!(
            fired("add_not_null"),
            ["add-not-null-without-default"],
            "{dialect:?}"
        );
        assert_eq!(fired("rename_column"), ["rename-column"], "{dialect:?}");
        assert_eq!(fired("rename_table"), ["rename-table"], "{dialect:?}");
        assert_eq!(fired("drop_table"), ["drop-table"], "{dialect:?}");
        // What the server refuses inside a transaction, in a revision that
        // runs in one (MySQL/MariaDB: nothing of the kind).
        let outside: &[&str] = match dialect {
            Dialect::MySql => &[],
            _ => &["statement-outside-transaction"],
        };
        assert_eq!(
            fired("concurrently_in_a_transaction"),
            outside,
            "{dialect:?}"
        );
        // The safe forms, and the new table's own index, are clean.
        for clean in [
            "base",
            "add_not_null_default",
            "create_index_concurrently",
            "add_foreign_key_not_valid",
        ] {
            assert!(
                fired(clean).is_empty(),
                "{dialect:?} {clean}: {:?}",
                fired(clean)
            );
        }
        // Acknowledged: reported, with the reason, but not failing.
        let ack: Vec<_> = got.iter().filter(|h| h.0 == "drop_column_ack").collect();
        assert_eq!(ack.len(), 1);
        assert!(ack[0].2);
        match dialect {
            Dialect::Postgres => {
                assert_eq!(fired("create_index"), ["create-index-blocking"]);
                assert_eq!(fired("add_foreign_key"), ["foreign-key-not-valid"]);
                assert_eq!(fired("set_not_null"), ["set-not-null"]);
                assert_eq!(fired("change_type"), ["column-type-change"]);
                assert_eq!(fired("volatile_default"), ["volatile-default"]);
                assert_eq!(fired("truncate"), ["truncate"]);
            }
            Dialect::MySql => {
                assert!(fired("create_index").is_empty(), "online DDL on InnoDB");
                assert_eq!(
                    fired("change_type"),
                    ["column-type-change", "mysql-table-copy"]
                );
                assert_eq!(fired("truncate"), ["truncate"]);
            }
            Dialect::Sqlite => assert!(fired("create_index").is_empty()),
        }
    }
}

#[tokio::test]
async fn batch_alter_operations_fire_the_rules_of_the_plain_statements() {
    for dialect in migration_core::testing::ALL {
        let got = hits(&findings(dialect).await);
        let fired = |fixture: &str| {
            got.iter()
                .filter(|h| h.0 == fixture)
                .map(|h| (h.1, h.2))
                .collect::<Vec<_>>()
        };
        let d = dialect.name();
        // Data loss and breaking renames, everywhere (inside a SQLite rebuild too).
        assert_eq!(fired("batch_drop_column"), [("drop-column", false)], "{d}");
        assert_eq!(
            fired("batch_drop_column_ack"),
            [("drop-column", true)],
            "{d}"
        );
        assert_eq!(
            fired("batch_rename_column"),
            [("rename-column", false)],
            "{d}"
        );
        assert_eq!(
            fired("batch_add_not_null"),
            [("add-not-null-without-default", false)],
            "{d}"
        );
        assert!(fired("batch_add_nullable").is_empty(), "{d}");
        let rebuild = fired("batch_rebuild_drop_column");
        assert_eq!(rebuild[0], ("drop-column", false), "{d}");
        match dialect {
            Dialect::Postgres => {
                assert_eq!(rebuild[1..], [("check-not-valid", false)]);
                assert_eq!(fired("batch_narrow_type"), [("column-type-change", false)]);
                assert_eq!(
                    fired("batch_narrow_type_ack"),
                    [("column-type-change", true)]
                );
            }
            Dialect::MySql => {
                assert_eq!(rebuild.len(), 1);
                for fixture in ["batch_narrow_type", "batch_narrow_type_ack"] {
                    let ack = fixture.ends_with("ack");
                    assert_eq!(
                        fired(fixture),
                        [("column-type-change", ack), ("mysql-table-copy", false)],
                        "{fixture}"
                    );
                }
            }
            // A SQLite type change is a rebuild: no rule (docs/offline-and-lint.md).
            Dialect::Sqlite => {
                assert_eq!(rebuild.len(), 1);
                assert!(fired("batch_narrow_type").is_empty());
            }
        }
    }
}

#[tokio::test]
async fn dropping_a_column_the_entity_still_has_breaks_running_code() {
    for dialect in migration_core::testing::ALL {
        let got = hits(&findings(dialect).await);
        let fired = |fixture: &str| {
            got.iter()
                .filter(|h| h.0 == fixture)
                .map(|h| (h.1, h.2))
                .collect::<Vec<_>>()
        };
        let d = dialect.name();
        for fixture in ["drop_entity_column", "batch_drop_entity_column"] {
            assert_eq!(
                fired(fixture),
                [("drop-column", false), ("drop-column-in-entity", false)],
                "{d} {fixture}"
            );
        }
        assert_eq!(
            fired("batch_drop_entity_column_ack"),
            [("drop-column", true), ("drop-column-in-entity", true)],
            "{d}"
        );
        // Columns the entity no longer has: only the data-loss rule.
        for fixture in [
            "drop_column",
            "batch_drop_column",
            "batch_rebuild_drop_column",
        ] {
            assert!(
                !fired(fixture)
                    .iter()
                    .any(|f| f.0 == "drop-column-in-entity"),
                "{d} {fixture}"
            );
        }
    }
    // Without entities, the rule has nothing to compare with.
    let plain = migrator_without_entities();
    let all: Vec<String> = plain.graph().topo_order().map(|r| r.id.clone()).collect();
    let found = lint::lint(&plain, &all, &[Dialect::Postgres])
        .await
        .unwrap();
    assert!(!found.iter().any(|f| f.rule == "drop-column-in-entity"));
}

/// The offline SQL of the `items` fixtures on one backend, without the
/// tracking-table lines (they carry the time).
async fn items_offline_sql(dialect: Dialect) -> String {
    let migrator = migrator();
    let ids: Vec<String> = migrator
        .graph()
        .topo_order()
        .map(|r| r.id.clone())
        .collect();
    let first = ids
        .iter()
        .position(|id| id.ends_with("items_base"))
        .unwrap();
    let applied: HashSet<String> = ids[..first].iter().cloned().collect();
    let (runner, script) = Runner::offline(&migrator, dialect, applied);
    runner.upgrade(&Target::Heads).await.unwrap();
    let mut rendered = String::new();
    let mut revisions = ids[first..].iter();
    for line in script.render().lines() {
        if line.contains(migrator.history_table()) {
            continue;
        }
        if line == "BEGIN;" {
            rendered.push_str(&format!("-- {}\n", &revisions.next().unwrap()[17..]));
        }
        rendered.push_str(line);
        rendered.push('\n');
    }
    for entry in script.entries() {
        if let Entry::Declared(sql) = entry {
            rendered.push_str(&format!("-- declared for the lint: {sql}\n"));
        }
    }
    rendered
}

#[tokio::test]
async fn batch_alter_offline_sql_per_backend() {
    for dialect in migration_core::testing::ALL {
        let sql = items_offline_sql(dialect).await;
        insta::assert_snapshot!(format!("batch_offline_{}", dialect.name()), sql);
    }
}

#[tokio::test]
async fn acknowledged_findings_do_not_fail_and_show_their_reason() {
    let findings = findings(Dialect::Postgres).await;
    let ack = findings.iter().find(|f| f.acknowledged.is_some()).unwrap();
    assert!(!ack.fails(true));
    let report = lint::render(&findings, false);
    assert!(
        report.contains("accepted:  b was unused since v2, backed up in ticket 42"),
        "{report}"
    );
}

/// The seed pattern of SeaORM's guides: `ActiveModel::insert`, which reads
/// the inserted row back, then a second row that uses the first one's id.
struct SeedsThroughActiveModel;

impl MigrationName for SeedsThroughActiveModel {
    fn name(&self) -> &str {
        "m20250101_000001_seed"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SeedsThroughActiveModel {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use sea_orm::{ActiveModelTrait, Set};
        let first = items::ActiveModel {
            qty: Set(Some(3)),
            email: Set(Some("a@example.com".into())),
            ..Default::default()
        }
        .insert(manager.get_connection())
        .await?;
        items::ActiveModel {
            qty: Set(Some(first.id)),
            ..Default::default()
        }
        .insert(manager.get_connection())
        .await?;
        Ok(())
    }
}

/// A step that needs a row to exist: offline no table has one.
struct NeedsARow;

impl MigrationName for NeedsARow {
    fn name(&self) -> &str {
        "m20250101_000002_needs_a_row"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for NeedsARow {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use sea_orm::EntityTrait;
        items::Entity::find()
            .one(manager.get_connection())
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the migration needs one item".into()))?;
        Ok(())
    }
}

fn seed_migrator() -> Migrator {
    Migrator::new(vec![
        Revision::new(
            "m20250101_000001_seed",
            &[],
            "seed",
            "seed",
            "fixture",
            Box::new(SeedsThroughActiveModel),
        ),
        Revision::new(
            "m20250101_000002_needs_a_row",
            &["m20250101_000001_seed"],
            "needs a row",
            "needs a row",
            "fixture",
            Box::new(NeedsARow),
        ),
    ])
    .unwrap()
    .with_entities(entities)
}

/// SeaORM's seed pattern renders offline on every backend: the inserts are
/// in the script with the values they bind, and the id read back (made up
/// offline) is a marked part, since the second insert uses it.
#[tokio::test]
async fn a_seed_through_active_model_renders_offline_with_the_made_up_id_marked() {
    let migrator = seed_migrator();
    for dialect in migration_core::testing::ALL {
        let stmts = lint::statements(&migrator, "m20250101_000001_seed", dialect)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", dialect.name()));
        let inserts: Vec<&str> = stmts
            .iter()
            .map(|s| s.sql.as_str())
            .filter(|s| s.starts_with("INSERT"))
            .collect();
        assert_eq!(inserts.len(), 2, "{}: {inserts:?}", dialect.name());
        assert!(
            inserts[0].contains("3") && inserts[0].contains("'a@example.com'"),
            "{}: {inserts:?}",
            dialect.name()
        );
        let (runner, script) = Runner::offline(&migrator, dialect, HashSet::new());
        runner
            .upgrade(&Target::Revision("m20250101_000001_seed".into()))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", dialect.name()));
        let text = script.render();
        assert!(
            text.contains("-- OFFLINE: the migration reads back the row it wrote to `items`"),
            "{}: {text}",
            dialect.name()
        );
        assert!(
            text.contains("made-up values for `id`"),
            "{}: {text}",
            dialect.name()
        );
        assert!(script.unrenderable() >= 1, "{}: {text}", dialect.name());
    }
}

/// A migration that cannot be rendered offline fails the lint with a typed
/// cause, the fix, and exit code 1 (it is not a usage error).
#[tokio::test]
async fn a_migration_that_cannot_render_offline_says_why_and_how_to_fix() {
    let migrator = seed_migrator();
    for dialect in migration_core::testing::ALL {
        let err = lint::statements(&migrator, "m20250101_000002_needs_a_row", dialect)
            .await
            .expect_err("no row comes back offline");
        assert_eq!(err.exit_code(), 1, "{err}");
        let migration_core::Error::Rehearsal { source, .. } = &err else {
            panic!("not a rehearsal failure: {err:?}");
        };
        assert!(
            matches!(
                **source,
                migration_core::error::MigrationError::Step(DbErr::RecordNotFound(_))
            ),
            "{source:?}"
        );
        assert!(err.to_string().contains("read finds nothing"), "{err}");
    }
}
