//! A migration framework for SeaORM: revision graph, locked runner, checksums, CLI.
//!
//! Start with `docs/architecture.md` at the workspace root. The pieces:
//! [`graph`] (pure planning), [`runner`] (the checklist that applies revisions),
//! [`backend`] (everything that differs per database), [`history`] (the
//! tracking table), [`schema`] (reflecting a database), `cli` (the commands).
//!
//! # Runtime and tooling
//!
//! Without default features this is the runtime a service links: the graph,
//! the [`Migrator`], the [`Runner`], the history, the lock, the backends,
//! reflection, batch alter, the data helpers, [`embed`] and offline SQL. The
//! `tooling` feature (on by default) adds what only the `migration` command
//! needs, with its dependencies (clap, syn, quote, prettyplease, regex): `cli`,
//! `autogen` and `lint`. The `testing` feature adds `testing::workspace`
//! (scratch copies of a workspace, with tempfile) for tests. See "Runtime and
//! tooling" in `docs/architecture.md`.

#[cfg(feature = "tooling")]
pub mod autogen;
pub mod backend;
pub mod batch;
#[cfg(feature = "tooling")]
pub mod cli;
pub mod data;
pub mod embed;
pub mod entities;
pub mod enums;
pub mod error;
pub mod graph;
pub mod graph_svg;
pub mod history;
pub mod hold;
#[cfg(feature = "tooling")]
pub mod lint;
pub mod naming;
pub mod nodelay;
pub mod offline;
pub mod revision;
pub mod runner;
pub mod schema;
mod sent;
pub mod testing;
mod tokens;
pub mod url;

pub use entities::{ObjectKind, Ownership};
pub use error::{Error, MigrationError, Result};
pub use graph::{RevisionGraph, RevisionInfo, Target};
pub use revision::{Direction, Migrator, Revision};
pub use runner::{Runner, RunnerOptions};

/// Everything a migration file needs, in one import: `use migration_core::prelude::*;`.
///
/// * sea-orm-migration's prelude: `MigrationTrait`, `SchemaManager`,
///   `DeriveMigrationName`, `DbErr`, `ConnectionTrait` and all of sea-query
///   (`Table`, `ColumnDef`, `Expr`, `Query`, `Alias`, ...);
/// * `#[async_trait]` for the `impl MigrationTrait` block (the crate itself
///   stays reachable as `async_trait::…`: the attribute lives in the macro
///   namespace, the module in the type namespace, so the two never clash);
/// * batch alter and the data helpers of this crate;
/// * `sea_orm` as a path, and the traits and helpers that seed or fix rows
///   through an entity: `EntityTrait`, `ActiveModelTrait`, `Set`, `NotSet`,
///   `ColumnTrait`, `QueryFilter`, ... Sea-query, glob-imported above, has
///   none of these names; where a name is in both (`Condition`, `Value`),
///   sea-orm re-exports sea-query's item, so it is the same one.
///
/// An inline entity (a frozen copy of a table as this migration knows it,
/// never the live `entity` crate's type) goes in a module of its own, which
/// imports SeaORM's entity prelude for the derives:
///
/// ```ignore
/// mod user {
///     use sea_orm::entity::prelude::*;
///     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
///     #[sea_orm(table_name = "users")]
///     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub name: String }
///     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
///     pub enum Relation {}
///     impl ActiveModelBehavior for ActiveModel {}
/// }
/// ```
pub mod prelude {
    pub use sea_orm_migration::prelude::*;

    pub use async_trait::async_trait;
    pub use sea_orm::{
        ActiveModelTrait, ActiveValue, ColumnTrait, EntityTrait, IntoActiveModel, ModelTrait,
        NotSet, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
    };

    pub use crate::batch::{
        AlterColumn, BatchAlter, BatchError, ForeignKeySpec, IndexSpec, batch_alter_table,
    };
    pub use crate::data::{
        backfill, column, execute_on, has_column, has_index, has_table, on, table, transform,
    };
    pub use crate::enums::{EnumColumn, alter_enum, create_enum, drop_enum};
    pub use crate::url::Dialect;
}
