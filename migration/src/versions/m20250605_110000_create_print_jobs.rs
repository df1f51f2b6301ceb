//! Create print jobs with the native enum print_job_status.
//!
//! On PostgreSQL the enum is a type of its own, created before the table and
//! dropped after it; MySQL/MariaDB get an inline `ENUM(...)` column and SQLite a
//! text column, so there is nothing to create or drop there.
//! Foreign keys: product ON DELETE RESTRICT, printer and user ON DELETE SET NULL.

use migration_core::prelude::*;
use sea_orm_migration::schema::*;

/// The revisions this one applies on top of (Alembic's `down_revision`); empty for a base.
pub const PARENTS: &[&str] = &["m20250603_100000_create_printers_and_products"];

/// This revision.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The enum's name and its values, in declaration order.
const STATUS_TYPE: &str = "print_job_status";
const STATUS_VALUES: [&str; 5] = ["queued", "printing", "completed", "failed", "cancelled"];

#[async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // A type of its own on PostgreSQL; nothing elsewhere (the column carries it).
        create_enum(manager, STATUS_TYPE, &STATUS_VALUES).await?;

        manager
            .create_table(
                Table::create()
                    .table(PrintJobs::Table)
                    .col(big_pk_auto(PrintJobs::Id))
                    .col(integer(PrintJobs::ProductId))
                    .col(integer_null(PrintJobs::PrinterId))
                    .col(integer_null(PrintJobs::UserId))
                    .col(
                        enumeration(PrintJobs::Status, STATUS_TYPE, STATUS_VALUES)
                            .default("queued"),
                    )
                    .col(integer(PrintJobs::Quantity).default(1))
                    .col(text_null(PrintJobs::Notes))
                    .col(timestamp_with_time_zone_null(PrintJobs::StartedAt))
                    .col(timestamp_with_time_zone_null(PrintJobs::FinishedAt))
                    .col(
                        timestamp_with_time_zone(PrintJobs::CreatedAt)
                            .default(Expr::current_timestamp()),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk-print_jobs-product_id")
                            .from(PrintJobs::Table, PrintJobs::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk-print_jobs-printer_id")
                            .from(PrintJobs::Table, PrintJobs::PrinterId)
                            .to(Printers::Table, Printers::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk-print_jobs-user_id")
                            .from(PrintJobs::Table, PrintJobs::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PrintJobs::Table).to_owned())
            .await?;

        drop_enum(manager, STATUS_TYPE).await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Printers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PrintJobs {
    Table,
    Id,
    ProductId,
    PrinterId,
    UserId,
    Status,
    Quantity,
    Notes,
    StartedAt,
    FinishedAt,
    CreatedAt,
}
