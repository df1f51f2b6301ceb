//! SeaORM 2.0 entities of the print-farm example domain: the schema the team edits.
//!
//! Tables: [`users`], [`teams`], [`team_members`] (the many-to-many join between
//! users and teams), [`printers`], [`products`] and [`print_jobs`].
//!
//! The project's migration history (`migration/src/versions`) must produce exactly
//! the schema these entities describe. The one thing an entity cannot declare is a
//! composite non-unique index; `idx-print_jobs-status-created_at` on
//! `print_jobs (status, created_at)` therefore exists only in the migrations.
//!
//! Every entity registers itself with SeaORM's entity registry (`inventory`), under
//! the module path `entity::<table>`, so
//! `db.get_schema_registry("entity::*")` collects all six.

pub mod prelude;

pub mod print_jobs;
pub mod printers;
pub mod products;
pub mod team_members;
pub mod teams;
pub mod users;

/// Every entity of this crate, found through SeaORM's entity registry: nobody
/// lists them by hand, so a new entity module cannot be forgotten.
///
/// Calling this (rather than `get_schema_registry` directly) also makes sure the
/// linker keeps this crate's registrations: `inventory` entries in a crate that
/// nothing references can be dropped from the final binary.
pub fn schema(backend: sea_orm::DbBackend) -> sea_orm::SchemaBuilder {
    sea_orm::EntityRegistry::build_schema(sea_orm::Schema::new(backend), "entity::*")
}
