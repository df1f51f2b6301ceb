//! Rename users.username to users.display_name.
//!
//! A manual migration: autogeneration would see a dropped and an added column.
//! `RENAME COLUMN` keeps the data, and is supported by SQLite (3.25+),
//! PostgreSQL and MariaDB (10.5+) / MySQL (8.0+).

use sea_orm_migration::prelude::*;

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
                    .table(Users::Table)
                    .rename_column(Users::Username, Users::DisplayName)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .rename_column(Users::DisplayName, Users::Username)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Username,
    DisplayName,
}
