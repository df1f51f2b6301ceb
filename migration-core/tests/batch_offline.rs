//! Batch alter offline equals batch alter online, on real SQLite, PostgreSQL and MariaDB.
//!
//! A history of batch alters runs twice per backend: online on one database;
//! on the other, each revision's offline statements (what `up --sql` prints
//! for it) are executed as they are, or, where the backend cannot render the
//! batch without the live table (a SQLite rebuild), the revision runs online.
//! The two databases must end with the same schema and tracking rows, and
//! each case must render on the backends listed for it. The statements are
//! executed even where a part is marked OFFLINE for what this table does not
//! have (MySQL: the keys of a dropped column), which is when they are exact.

use migration_core::batch::{AlterColumn, BatchAlter, ForeignKeySpec, IndexSpec};
use migration_core::graph::Target;
use migration_core::offline::Entry;
use migration_core::prelude::*;
use migration_core::testing::{ALL, TestDb};
use migration_core::url::Dialect;
use migration_core::{Migrator, Revision, Runner, RunnerOptions, backend};
use sea_orm::{Database, DbBackend};
use sea_orm_migration::MigrationName;
use sea_orm_migration::schema::string_len_null;
use std::collections::HashSet;

/// What a fixture migration runs.
#[derive(Clone, Copy)]
enum Step {
    Sql(fn(DbBackend) -> Vec<String>),
    Batch(fn() -> BatchAlter),
}

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

fn batch(build: impl FnOnce(&mut BatchAlter)) -> BatchAlter {
    let mut b = BatchAlter::new("items");
    build(&mut b);
    b
}

const ALL_THREE: &[Dialect] = &[Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];
const SERVERS: &[Dialect] = &[Dialect::Postgres, Dialect::MySql];

/// The cases: name, what runs, the backends whose offline statements must
/// equal the online batch.
fn cases() -> Vec<(&'static str, Step, &'static [Dialect])> {
    vec![
        (
            "base",
            Step::Sql(|_| {
                vec![
                    "CREATE TABLE parents (id integer PRIMARY KEY)".into(),
                    "CREATE TABLE items (id integer PRIMARY KEY, qty integer NULL, note text NULL, \
                     code varchar(20) NULL, parent_id integer NULL, \
                     CONSTRAINT uq_items_code UNIQUE (code))"
                        .into(),
                    "INSERT INTO parents (id) VALUES (1)".into(),
                    "INSERT INTO items (id, qty, note, code, parent_id) VALUES \
                     (1, NULL, 'x', 'a', 1), (2, 5, NULL, 'b', NULL)"
                        .into(),
                ]
            }),
            ALL_THREE,
        ),
        // What SQLite's own ALTER TABLE does: no rebuild anywhere.
        (
            "native",
            Step::Batch(|| {
                batch(|t| {
                    t.add_column(string_len_null(Alias::new("nickname"), 40))
                        .rename_column("code", "sku")
                        .drop_column("note")
                        .create_index(IndexSpec::new("ix_items_sku", &["sku"]));
                })
            }),
            ALL_THREE,
        ),
        // Type, nullability and default, all stated: MySQL's MODIFY renders;
        // the NULL in row 1 becomes the default first.
        (
            "retype_declared",
            Step::Batch(|| {
                batch(|t| {
                    t.alter_column(
                        "qty",
                        AlterColumn::new()
                            .type_(ColumnType::BigInteger)
                            .not_null()
                            .default(0)
                            .existing_type(ColumnType::Integer)
                            .existing_nullable(true)
                            .existing_no_default(),
                    );
                })
            }),
            SERVERS,
        ),
        // A rename and a change of the same column: MySQL's CHANGE COLUMN.
        (
            "rename_and_alter",
            Step::Batch(|| {
                batch(|t| {
                    t.rename_column("nickname", "nick").alter_column(
                        "nick",
                        AlterColumn::new()
                            .type_(ColumnType::String(sea_orm::sea_query::StringLen::N(60)))
                            .existing_type(ColumnType::String(sea_orm::sea_query::StringLen::N(40)))
                            .existing_nullable(true)
                            .existing_no_default(),
                    );
                })
            }),
            SERVERS,
        ),
        // Constraints: a check and a foreign key come, a unique constraint goes
        // (PostgreSQL offline: DROP CONSTRAINT IF EXISTS and DROP INDEX IF EXISTS).
        (
            "constraints",
            Step::Batch(|| {
                batch(|t| {
                    t.add_check("ck_items_qty", "qty >= 0")
                        .add_foreign_key(ForeignKeySpec::new(
                            "fk_items_parent",
                            &["parent_id"],
                            "parents",
                            &["id"],
                        ))
                        .drop_unique("uq_items_code");
                })
            }),
            SERVERS,
        ),
    ]
}

fn migrator() -> Migrator {
    let mut revisions = Vec::new();
    let mut parent: Option<String> = None;
    for (i, (name, step, _)) in cases().into_iter().enumerate() {
        let id = format!("m20250101_{:06}_{name}", i + 1);
        let parents: Vec<&str> = parent.iter().map(String::as_str).collect();
        revisions.push(Revision::new(
            &id,
            &parents,
            name,
            name,
            "fixture",
            Box::new(Fixture { name, step }),
        ));
        parent = Some(id);
    }
    Migrator::new(revisions).unwrap()
}

/// One revision's offline script (as `show REV --sql` renders it).
async fn offline_entries(migrator: &Migrator, id: &str, dialect: Dialect) -> Vec<Entry> {
    let graph = migrator.graph();
    let mut applied = HashSet::new();
    for parent in &graph.get(id).unwrap().parents {
        applied.extend(graph.plan_stamp(&Target::Revision(parent.clone())).unwrap());
    }
    let (runner, script) = Runner::offline(migrator, dialect, applied);
    runner
        .upgrade(&Target::Revision(id.to_owned()))
        .await
        .unwrap();
    script.entries()
}

#[tokio::test]
async fn offline_statements_equal_the_online_batch() {
    let migrator = migrator();
    let ids: Vec<String> = migrator
        .graph()
        .topo_order()
        .map(|r| r.id.clone())
        .collect();
    let options = RunnerOptions {
        connect_attempts: 1,
        ..RunnerOptions::default()
    };
    for dialect in ALL {
        let Some(online) = TestDb::create(dialect, "batchonline").await else {
            continue;
        };
        let Some(offline) = TestDb::create(dialect, "batchoffline").await else {
            continue;
        };
        let runner = Runner::connect(&migrator, &online.url, options.clone())
            .await
            .unwrap();
        runner.upgrade(&Target::Heads).await.unwrap();
        let _ = runner.connection().clone().close().await;

        let conn = Database::connect(&offline.url).await.unwrap();
        for (id, (name, _, exact_on)) in ids.iter().zip(cases()) {
            let entries = offline_entries(&migrator, id, dialect).await;
            if exact_on.contains(&dialect) {
                // Transactions are the script's business; here each statement
                // runs on its own, in order.
                for entry in entries {
                    if let Entry::Execute(sql) = entry {
                        conn.execute_unprepared(&sql)
                            .await
                            .unwrap_or_else(|e| panic!("{dialect:?} {name}: `{sql}`: {e}"));
                    }
                }
            } else {
                assert!(
                    entries.iter().any(|e| matches!(e, Entry::Unrenderable(_))),
                    "{dialect:?} {name}: renders completely; list it for this backend"
                );
                let runner = Runner::connect(&migrator, &offline.url, options.clone())
                    .await
                    .unwrap();
                runner.upgrade(&Target::Revision(id.clone())).await.unwrap();
                let _ = runner.connection().clone().close().await;
            }
        }

        let be = backend::of(dialect);
        let reflect = |url: String| {
            let be = &be;
            async move {
                let db = Database::connect(&url).await.unwrap();
                let schema = backend::reflect(&db, &["seaorm_revisions"]).await.unwrap();
                let rows = migration_core::history::History::new("seaorm_revisions")
                    .read(&db, *be)
                    .await
                    .unwrap();
                let _ = db.close().await;
                let mut revisions: Vec<String> = rows.into_iter().map(|r| r.revision).collect();
                revisions.sort();
                (schema, revisions)
            }
        };
        let (schema_online, rows_online) = reflect(online.url.clone()).await;
        let (schema_offline, rows_offline) = reflect(offline.url.clone()).await;
        let diff = schema_online.diff_lines(&schema_offline);
        assert!(diff.is_empty(), "{dialect:?}:\n{}", diff.join("\n"));
        assert_eq!(rows_online, rows_offline, "{dialect:?}");
        assert_eq!(rows_online.len(), ids.len());
        // The NULL was filled from the default, offline too.
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT COUNT(*) FROM items WHERE qty = 0",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 1, "{dialect:?}");
        let _ = conn.close().await;
    }
}

/// A batch alter, then a statement that fails.
struct FailsAfterBatch;

impl MigrationName for FailsAfterBatch {
    fn name(&self) -> &str {
        "fails_after_batch"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FailsAfterBatch {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        batch(|t| {
            t.add_column(string_len_null(Alias::new("nickname"), 40));
        })
        .run(manager)
        .await?;
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE no_such_table ADD COLUMN x int")
            .await?;
        Ok(())
    }
}

/// On MySQL/MariaDB a failed revision may be partly applied; the error lists
/// its statements, a batch alter's included (rendered as offline).
#[tokio::test]
async fn a_partly_applied_mysql_revision_lists_its_batch_statements() {
    let Some(db) = TestDb::create(Dialect::MySql, "batchfaillist").await else {
        return;
    };
    let base = cases().remove(0);
    let migrator = Migrator::new(vec![
        Revision::new(
            "m20250101_000001_base",
            &[],
            "base",
            "base",
            "fixture",
            Box::new(Fixture {
                name: "base",
                step: base.1,
            }),
        ),
        Revision::new(
            "m20250101_000002_fails",
            &["m20250101_000001_base"],
            "fails",
            "fails",
            "fixture",
            Box::new(FailsAfterBatch),
        ),
    ])
    .unwrap();
    let runner = Runner::connect(&migrator, &db.url, RunnerOptions::default())
        .await
        .unwrap();
    let error = runner
        .upgrade(&Target::Heads)
        .await
        .unwrap_err()
        .to_string();
    let _ = runner.connection().clone().close().await;
    assert!(
        error.contains("1. ALTER TABLE `items` ADD COLUMN `nickname` varchar(40) NULL")
            && error.contains("2. ALTER TABLE no_such_table"),
        "{error}"
    );
}
