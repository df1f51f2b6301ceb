//! Add composite index for print job queries.
//!
//! `idx-print_jobs-status-created_at` on `print_jobs (status, created_at)`, for
//! "the oldest queued jobs" style queries. An entity cannot declare a composite
//! non-unique index, so this index lives only in the migration history.

use sea_orm_migration::prelude::*;

/// The revisions this one applies on top of (Alembic's `down_revision`); empty for a base.
pub const PARENTS: &[&str] = &["m20250610_100000_users_full_name"];

/// This revision.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx-print_jobs-status-created_at")
                    .table(PrintJobs::Table)
                    .col(PrintJobs::Status)
                    .col(PrintJobs::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // MySQL needs the table (`DROP INDEX … ON print_jobs`); the others ignore it.
        manager
            .drop_index(
                Index::drop()
                    .name("idx-print_jobs-status-created_at")
                    .table(PrintJobs::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum PrintJobs {
    Table,
    Status,
    CreatedAt,
}
