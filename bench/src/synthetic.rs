//! The synthetic history: N linear revisions, revision `i` creating table `t{i}`.
//!
//! Every runner in the benchmark (the engine, sea-orm-migration, the raw-SQL
//! floor) gets its statements from here, so they all execute the same DDL.

use migration_core::history::STATUS_APPLIED;
use migration_core::revision::DEFAULT_HISTORY_TABLE;
use migration_core::{Migrator, Revision};
use sea_orm_migration::prelude::*;

/// The revision id of migration `i` (0-based): `m20250101_000001_create_t0`, ...
pub fn id(i: usize) -> String {
    format!("m20250101_{:06}_create_t{i}", i + 1)
}

/// The checksum recorded for migration `i` (stands in for the build script's hash).
pub fn checksum(i: usize) -> String {
    format!("{:064x}", 0xbe0c_0000_0000_u64 + i as u64)
}

fn table(i: usize) -> Alias {
    Alias::new(format!("t{i}"))
}

/// `CREATE TABLE t{i}`: an id primary key plus seven columns of mixed types, and
/// a foreign key to `t{i-1}` for every table but the first.
pub fn create_table(i: usize) -> TableCreateStatement {
    let mut create = Table::create();
    create
        .table(table(i))
        .col(
            ColumnDef::new("id")
                .integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(ColumnDef::new("prev_id").integer().null())
        .col(
            ColumnDef::new("counter")
                .big_integer()
                .not_null()
                .default(0),
        )
        .col(ColumnDef::new("name").string_len(64).not_null())
        .col(ColumnDef::new("body").text().null())
        .col(ColumnDef::new("active").boolean().not_null().default(true))
        .col(ColumnDef::new("amount").decimal_len(12, 2).null())
        .col(ColumnDef::new("created_at").timestamp().not_null());
    if i > 0 {
        create.foreign_key(
            ForeignKey::create()
                .name(format!("fk-t{i}-prev_id"))
                .from(table(i), "prev_id")
                .to(table(i - 1), "id")
                .on_delete(ForeignKeyAction::Cascade),
        );
    }
    create
}

/// `CREATE INDEX idx_t{i}_name ON t{i} (name)`.
pub fn create_index(i: usize) -> IndexCreateStatement {
    Index::create()
        .name(format!("idx_t{i}_name"))
        .table(table(i))
        .col("name")
        .to_owned()
}

/// `DROP TABLE t{i}`.
pub fn drop_table(i: usize) -> TableDropStatement {
    Table::drop().table(table(i)).to_owned()
}

/// The engine's tracking table, column for column as
/// `migration_core::history::History::ensure` creates it.
pub fn tracking_table() -> TableCreateStatement {
    Table::create()
        .table(Alias::new(DEFAULT_HISTORY_TABLE))
        .if_not_exists()
        .col(
            ColumnDef::new("revision")
                .string_len(255)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new("applied_at").string_len(40).not_null())
        .col(ColumnDef::new("execution_ms").big_integer().not_null())
        .col(ColumnDef::new("checksum").string_len(64).null())
        .col(
            ColumnDef::new("status")
                .string_len(16)
                .not_null()
                .default(STATUS_APPLIED),
        )
        .col(ColumnDef::new("error").text().null())
        .col(
            ColumnDef::new(migration_core::history::DIRECTION_COLUMN)
                .string_len(8)
                .null(),
        )
        .to_owned()
}

const TRACKING_COLUMNS: [&str; 6] = [
    "revision",
    "applied_at",
    "execution_ms",
    "checksum",
    "status",
    "error",
];

/// The row the engine records when migration `i` is applied (same columns and values).
pub fn tracking_insert(i: usize, execution_ms: i64) -> InsertStatement {
    Query::insert()
        .into_table(Alias::new(DEFAULT_HISTORY_TABLE))
        .columns(TRACKING_COLUMNS.map(Alias::new))
        .values_panic([
            id(i).into(),
            migration_core::history::now().into(),
            execution_ms.into(),
            checksum(i).into(),
            STATUS_APPLIED.into(),
            Option::<String>::None.into(),
        ])
        .to_owned()
}

/// The engine's read of the tracking table (what `up` and `status` start from).
pub fn tracking_select() -> SelectStatement {
    Query::select()
        .columns(TRACKING_COLUMNS.map(Alias::new))
        .from(Alias::new(DEFAULT_HISTORY_TABLE))
        .order_by("applied_at", Order::Asc)
        .order_by("revision", Order::Asc)
        .to_owned()
}

/// Migration `i` as a sea-orm-migration [`MigrationTrait`].
#[derive(Debug)]
pub struct CreateTable {
    index: usize,
    name: String,
}

impl CreateTable {
    /// Migration `i` of the history.
    pub fn new(index: usize) -> Self {
        Self {
            index,
            name: id(index),
        }
    }
}

impl MigrationName for CreateTable {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(create_table(self.index)).await?;
        manager.create_index(create_index(self.index)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(drop_table(self.index)).await
    }

    /// One transaction per migration on every backend. The engine does that
    /// anyway; sea-orm-migration would otherwise skip it on SQLite and MySQL.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// The first `n` migrations, oldest first.
pub fn migrations(n: usize) -> Vec<Box<dyn MigrationTrait>> {
    (0..n)
        .map(|i| Box::new(CreateTable::new(i)) as Box<dyn MigrationTrait>)
        .collect()
}

/// The engine's [`Migrator`] over the first `n` migrations, as a linear chain.
///
/// # Errors
/// Never for a linear chain; the graph check is the engine's.
pub fn migrator(n: usize) -> migration_core::Result<Migrator> {
    let revisions = (0..n)
        .map(|i| {
            let parent = i.checked_sub(1).map(id);
            let parents: Vec<&str> = parent.as_deref().into_iter().collect();
            Revision::new(
                &id(i),
                &parents,
                &format!("create table t{i}"),
                &checksum(i),
                &format!("bench://synthetic/{}.rs", id(i)),
                Box::new(CreateTable::new(i)),
            )
        })
        .collect();
    Migrator::new(revisions)
}
