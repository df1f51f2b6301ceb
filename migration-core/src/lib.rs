//! A migration framework for SeaORM: revision graph, locked runner, checksums, CLI.
//!
//! Start with `docs/architecture.md` at the workspace root. The pieces:
//! [`graph`] (pure planning), [`runner`] (the checklist that applies revisions),
//! [`backend`] (everything that differs per database), [`history`] (the
//! tracking table), [`schema`] (reflecting a database), [`cli`] (the commands).

pub mod autogen;
pub mod backend;
pub mod batch;
pub mod cli;
pub mod data;
pub mod embed;
pub mod error;
pub mod graph;
pub mod graph_svg;
pub mod history;
pub mod hold;
pub mod lint;
pub mod offline;
pub mod revision;
pub mod runner;
pub mod schema;
pub mod testing;
mod tokens;
pub mod url;

pub use error::{Error, Result};
pub use graph::{RevisionGraph, RevisionInfo, Target};
pub use revision::{Migrator, Revision};
pub use runner::{Runner, RunnerOptions};

/// What a migration file needs: sea-orm-migration's prelude.
pub mod prelude {
    pub use sea_orm_migration::prelude::*;

    pub use crate::batch::{
        AlterColumn, BatchAlter, BatchError, ForeignKeySpec, IndexSpec, batch_alter_table,
    };
    pub use crate::data::{
        backfill, column, has_column, has_index, has_table, on, table, transform,
    };
    pub use crate::url::Dialect;
}
