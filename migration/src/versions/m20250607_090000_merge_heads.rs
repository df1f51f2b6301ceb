//! Merge the is_featured and display_name branches.
//!
//! Both branches start from the print-jobs revision and touch different
//! tables, so the merge has nothing to do.

use sea_orm_migration::prelude::*;

/// The revisions this one applies on top of (Alembic's `down_revision`); empty for a base.
pub const PARENTS: &[&str] = &[
    "m20250606_120000_add_products_is_featured",
    "m20250606_123000_rename_username_to_display_name",
];

/// This revision.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
