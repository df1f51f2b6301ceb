//! Add is_featured flag to products.
//!
//! A NOT NULL column on a table that may already have rows: the server-side
//! default (false) fills the existing rows, so no separate backfill is needed,
//! and it works unchanged on SQLite, PostgreSQL and MySQL/MariaDB.

use sea_orm_migration::{prelude::*, schema::*};

/// The revisions this one applies on top of (Alembic's `down_revision`); empty for a base.
pub const PARENTS: &[&str] = &["m20250605_110000_create_print_jobs"];

/// This revision.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Products::Table)
                    .add_column(boolean(Products::IsFeatured).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Not indexed, not a key: SQLite's ALTER TABLE DROP COLUMN accepts it.
        manager
            .alter_table(
                Table::alter()
                    .table(Products::Table)
                    .drop_column(Products::IsFeatured)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Products {
    Table,
    IsFeatured,
}
