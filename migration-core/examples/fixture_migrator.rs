//! A `migration` CLI over test fixtures: migrations that fail, panic, sleep or fill
//! a big table, for the fault-injection tests (`tests/faults.rs`).
//!
//! `FIXTURE_REVISIONS` lists which fixtures form the (linear) history, in order,
//! e.g. `items,fill,fail`. `FIXTURE_ROWS` sizes `fill`; `FIXTURE_SLEEP_MS` sizes
//! `slow`; `FIXTURE_MARKER` is a file `fill` and `slow` create once they are under way;
//! `FIXTURE_RUNS` is a file `fail` adds a line to each time its `up` runs;
//! `FIXTURE_NO_TRANSACTION` lists the fixtures that run outside a transaction
//! (`use_transaction() == Some(false)`).

use migration_core::prelude::*;
use migration_core::{Migrator, Revision};
use sea_orm_migration::MigrationName;

struct Fixture(&'static str);

impl MigrationName for Fixture {
    fn name(&self) -> &str {
        self.0
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mark_started() {
    if let Ok(path) = std::env::var("FIXTURE_MARKER") {
        let _ = std::fs::write(path, std::process::id().to_string());
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Fixture {
    fn use_transaction(&self) -> Option<bool> {
        let list = std::env::var("FIXTURE_NO_TRANSACTION").unwrap_or_default();
        list.split(',').any(|n| n.trim() == self.0).then_some(false)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match self.0 {
            "items" => {
                manager
                    .create_table(
                        Table::create()
                            .table("items")
                            .col(
                                ColumnDef::new("id")
                                    .integer()
                                    .not_null()
                                    .auto_increment()
                                    .primary_key(),
                            )
                            .col(ColumnDef::new("n").big_integer().not_null())
                            .to_owned(),
                    )
                    .await
            }
            "fill" => {
                let rows = env_u64("FIXTURE_ROWS", 200_000);
                let mut next = 0;
                while next < rows {
                    let end = std::cmp::min(next + 1000, rows);
                    let mut insert = Query::insert()
                        .into_table("items")
                        .columns(["n"])
                        .to_owned();
                    for n in next..end {
                        insert.values_panic([<i64 as std::convert::TryFrom<u64>>::try_from(n)
                            .unwrap_or_default()
                            .into()]);
                    }
                    manager.execute(insert).await?;
                    if next == 0 {
                        mark_started();
                    }
                    next = end;
                }
                Ok(())
            }
            "slow" => {
                manager
                    .create_table(
                        Table::create()
                            .table("slow_done")
                            .col(ColumnDef::new("id").integer())
                            .to_owned(),
                    )
                    .await?;
                mark_started();
                tokio::time::sleep(std::time::Duration::from_millis(env_u64(
                    "FIXTURE_SLEEP_MS",
                    3000,
                )))
                .await;
                // Touch the connection again, so a connection killed while we slept is noticed.
                db.execute_unprepared("INSERT INTO slow_done (id) VALUES (1)")
                    .await
                    .map(|_| ())
            }
            "busy" => {
                // Like `slow`, but the wait is a statement the server runs, so
                // the migration's connection is busy the whole time while the
                // lock's own connection sits idle (what the idle reapers see).
                manager
                    .create_table(
                        Table::create()
                            .table("busy_done")
                            .col(ColumnDef::new("id").integer())
                            .to_owned(),
                    )
                    .await?;
                mark_started();
                let ms = env_u64("FIXTURE_SLEEP_MS", 3000);
                let secs = ms as f64 / 1000.0;
                match db.get_database_backend() {
                    sea_orm::DbBackend::Postgres => {
                        db.execute_unprepared(&format!("SELECT pg_sleep({secs})"))
                            .await?;
                    }
                    sea_orm::DbBackend::MySql => {
                        db.execute_unprepared(&format!("SELECT SLEEP({secs})"))
                            .await?;
                    }
                    // SQLite has no server to reap idle sessions: waiting here is the same.
                    _ => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
                }
                db.execute_unprepared("INSERT INTO busy_done (id) VALUES (1)")
                    .await
                    .map(|_| ())
            }
            "outside" => {
                // A statement the server refuses inside a transaction, in a
                // revision that does not say whether it wants one.
                manager
                    .create_table(
                        Table::create()
                            .table("outside_done")
                            .col(ColumnDef::new("id").integer())
                            .to_owned(),
                    )
                    .await?;
                let refused = match db.get_database_backend() {
                    sea_orm::DbBackend::Postgres => {
                        "CREATE INDEX CONCURRENTLY outside_done_id ON outside_done (id)"
                    }
                    sea_orm::DbBackend::Sqlite => "VACUUM",
                    // MySQL has no such statement: its DDL ends the transaction anyway.
                    _ => "CREATE INDEX outside_done_id ON outside_done (id)",
                };
                db.execute_unprepared(refused).await.map(|_| ())
            }
            "fail" => {
                // Each run of this `up` leaves a line in `FIXTURE_RUNS`: a
                // failure report must not run it again to list its statements.
                if let Ok(path) = std::env::var("FIXTURE_RUNS") {
                    use std::io::Write as _;
                    let mut f = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| DbErr::Custom(e.to_string()))?;
                    let _ = writeln!(f, "up");
                }
                manager
                    .create_table(
                        Table::create()
                            .table("half_done")
                            .col(ColumnDef::new("id").integer())
                            .to_owned(),
                    )
                    .await?;
                db.execute_unprepared("INSERT INTO no_such_table VALUES (1)")
                    .await
                    .map(|_| ())
            }
            "panic" => {
                manager
                    .create_table(
                        Table::create()
                            .table("panic_done")
                            .col(ColumnDef::new("id").integer())
                            .to_owned(),
                    )
                    .await?;
                panic!("fixture panic inside a migration")
            }
            other => Err(DbErr::Migration(format!("unknown fixture {other}"))),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = match self.0 {
            "items" => "items",
            "slow" => "slow_done",
            "busy" => "busy_done",
            "outside" => "outside_done",
            "fail" => "half_done",
            "panic" => "panic_done",
            _ => {
                return manager
                    .get_connection()
                    .execute_unprepared("DELETE FROM items")
                    .await
                    .map(|_| ());
            }
        };
        manager
            .drop_table(Table::drop().table(table).to_owned())
            .await
    }
}

fn migrator() -> migration_core::Result<Migrator> {
    let list = std::env::var("FIXTURE_REVISIONS").unwrap_or_else(|_| "items".into());
    let mut revisions = Vec::new();
    let mut parent: Option<&'static str> = None;
    for (i, name) in list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .enumerate()
    {
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        let id: &'static str = Box::leak(format!("m20250101_{:06}_{name}", i + 1).into_boxed_str());
        let parents: Vec<&str> = parent.into_iter().collect();
        revisions.push(Revision::new(
            id,
            &parents,
            name,
            name,
            "fixture",
            Box::new(Fixture(name)),
        ));
        parent = Some(id);
    }
    Migrator::new(revisions)
}

fn main() -> std::process::ExitCode {
    migration_core::cli::main(migrator)
}
