//! The reference: sea-orm-migration 2.0.4's own runner over the same history.

use crate::synthetic;
use sea_orm::{ConnectOptions, Database};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use std::sync::OnceLock;
use std::time::Duration;

/// How many migrations [`Reference`] lists: `MigratorTrait::migrations` takes
/// no `self`, so the count is set once per process before the run.
static REVISIONS: OnceLock<usize> = OnceLock::new();

/// sea-orm-migration's migrator over the synthetic history.
#[derive(Debug)]
pub struct Reference;

impl MigratorTrait for Reference {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        synthetic::migrations(REVISIONS.get().copied().unwrap_or_default())
    }
}

/// `Reference::up(db, None)`: applies whatever is pending (nothing, for a no-op run).
///
/// # Errors
/// A connection or migration error.
pub async fn up(url: &str, revisions: usize) -> Result<(), sea_orm::DbErr> {
    REVISIONS.get_or_init(|| revisions);
    // The same connection settings as the engine's `runner::connect`.
    let mut options = ConnectOptions::new(url);
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(30));
    let db = Database::connect(options).await?;
    Reference::up(&db, None).await?;
    db.close().await
}
