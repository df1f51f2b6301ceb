//! What a migration asks about the engine it runs on, without naming SeaORM's `DbBackend`.
//!
//! Most of a migration is the same everywhere (sea-query builders, batch
//! alter, [`crate::enums`]). What belongs to one engine only (a PostgreSQL
//! extension, a MySQL table option) is said with [`execute_on`]:
//!
//! ```ignore
//! execute_on(manager, &[Dialect::Postgres], "CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
//! if engine(manager) == Dialect::Sqlite { /* … */ }
//! ```

use crate::backend::Dialect;
use sea_orm::{ConnectionTrait, DbErr};
use sea_orm_migration::SchemaManager;

/// The engine `manager` runs on.
pub fn engine(manager: &SchemaManager<'_>) -> Dialect {
    Dialect::of_db_backend(manager.get_database_backend())
}

/// Runs `sql` (one or more statements) when the migration runs on one of
/// `engines`, and does nothing elsewhere; returns whether it ran. Offline
/// (`up --sql`) the statements land in the script of those engines only.
///
/// # Errors
/// The statement failed.
pub async fn execute_on(
    manager: &SchemaManager<'_>,
    engines: &[Dialect],
    sql: &str,
) -> Result<bool, DbErr> {
    if !engines.contains(&engine(manager)) {
        return Ok(false);
    }
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(true)
}
