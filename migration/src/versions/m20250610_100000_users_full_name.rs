//! Replace users.first_name and last_name with full_name.
//!
//! A data migration in three steps: add the nullable `full_name` column, fill it
//! with "first last" (each part trimmed, an empty part left out, NULL when both
//! are empty), then drop `first_name` and `last_name`. `down` re-adds the two
//! columns, splits `full_name` at its first space (first name before it, the
//! rest as last name) and drops `full_name`.
//!
//! The rows go through `migration_core::data::transform`: read in batches of
//! `BATCH` (500) by keyset pagination on `id`, joined or split in Rust, and
//! written back with one bulk `UPDATE` per batch through the migration's own
//! connection, so the same code runs on SQLite, PostgreSQL and MySQL/MariaDB
//! (no `||` versus `CONCAT`, no `SUBSTR`/`INSTR` versus `SPLIT_PART`).
//!
//! The columns come and go through `batch_alter_table`, which writes one
//! `ALTER TABLE` per change on SQLite (none of the dropped columns is indexed,
//! unique or a key, so SQLite's own `DROP COLUMN` does it, without a rebuild).
//!
//! The round trip is exact for names of the form "First Last" with a one-word
//! first name; otherwise `down` puts everything after the first space into
//! `last_name`.

use migration_core::batch::batch_alter_table;
use migration_core::data::transform;
use sea_orm_migration::{prelude::*, schema::*};

/// The revisions this one applies on top of (Alembic's `down_revision`); empty for a base.
pub const PARENTS: &[&str] = &["m20250607_090000_merge_heads"];

/// This revision.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Rows read and written back per round trip.
const BATCH: u64 = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        batch_alter_table(manager, "users", |t| {
            t.add_column(string_len_null(Alias::new("full_name"), 200));
        })
        .await?;

        transform(manager, "users")
            .key("id")
            .read(&["first_name", "last_name"])
            .write(&["full_name"])
            .batch_size(BATCH)
            .run(|row| {
                let full = join_name(&row.get("first_name")?, &row.get("last_name")?);
                Ok(Some(vec![full.into()]))
            })
            .await?;

        // The names are in full_name now (`down` splits them back), and the
        // entity reads full_name only.
        // lint: allow drop-column -- first_name and last_name are copied into full_name just above; down restores them
        batch_alter_table(manager, "users", |t| {
            t.drop_column("first_name").drop_column("last_name");
        })
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        batch_alter_table(manager, "users", |t| {
            t.add_column(string_len_null(Alias::new("first_name"), 100))
                .add_column(string_len_null(Alias::new("last_name"), 100));
        })
        .await?;

        transform(manager, "users")
            .key("id")
            .read(&["full_name"])
            .write(&["first_name", "last_name"])
            .batch_size(BATCH)
            .run(|row| {
                let (first, last) = split_name(&row.get("full_name")?);
                Ok(Some(vec![first.into(), last.into()]))
            })
            .await?;

        batch_alter_table(manager, "users", |t| {
            t.drop_column("full_name");
        })
        .await?;
        Ok(())
    }
}

/// "first last", each part trimmed and an empty part left out; `None` if both are empty.
fn join_name(first: &Option<String>, last: &Option<String>) -> Option<String> {
    let parts: Vec<&str> = [first, last]
        .into_iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The inverse of `join_name`: split at the first space.
fn split_name(full: &Option<String>) -> (Option<String>, Option<String>) {
    let Some(full) = full.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return (None, None);
    };
    match full.split_once(' ') {
        Some((first, last)) => (Some(first.to_owned()), Some(last.trim_start().to_owned())),
        None => (Some(full.to_owned()), None),
    }
}
