//! Widen products.price to DECIMAL(12, 2) with a batch alter.
//!
//! Prices up to 9,999,999,999.99 instead of 99,999,999.99. One
//! `batch_alter_table` change does it on every backend: PostgreSQL runs
//! `ALTER COLUMN price TYPE numeric(12, 2)`, MySQL/MariaDB `MODIFY COLUMN`
//! with the rest of the column's definition kept, and SQLite, which cannot
//! change a column's type, rebuilds `products` inside the migration's
//! transaction (its unique `sku`, its index on `name`, and the `print_jobs`
//! rows that reference it with ON DELETE RESTRICT all come through; see
//! `migration_core::backend::sqlite::batch`).
//!
//! `down` is the same batch reversed: back to DECIMAL(10, 2). It is refused,
//! before anything changes, when a price no longer fits in 10 digits.

use migration_core::batch::{AlterColumn, BatchAlter};
use sea_orm_migration::prelude::*;

/// The revisions this one applies on top of (Alembic's `down_revision`); empty for a base.
pub const PARENTS: &[&str] = &["m20250612_100000_add_print_jobs_status_created_at_index"];

/// This revision.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The change, with what it changes from, so that `down` can reverse it.
fn widen_price() -> BatchAlter {
    let mut batch = BatchAlter::new("products");
    batch.alter_column(
        "price",
        AlterColumn::new()
            .type_(ColumnType::Decimal(Some((12, 2))))
            .existing_type(ColumnType::Decimal(Some((10, 2)))),
    );
    batch
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        widen_price().run(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        widen_price().reverse()?.run(manager).await?;
        Ok(())
    }
}
