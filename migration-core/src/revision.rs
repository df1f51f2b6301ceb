//! Revisions (a migration plus its metadata) and the [`Migrator`] that owns them.

use crate::error::Result;
use crate::graph::{RevisionGraph, RevisionInfo};
use sea_orm_migration::MigrationTrait;
use std::collections::HashMap;
use std::path::PathBuf;

/// Which way a revision runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// `up`
    Up,
    /// `down`
    Down,
}

impl Direction {
    /// `up` or `down`, as the tracking table records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    /// The direction [`Direction::as_str`] names.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "up" => Some(Direction::Up),
            "down" => Some(Direction::Down),
            _ => None,
        }
    }

    /// `applying` or `reverting`, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Direction::Up => "applying",
            Direction::Down => "reverting",
        }
    }

    /// `applied` or `reverted`, for messages.
    pub fn past(self) -> &'static str {
        match self {
            Direction::Up => "applied",
            Direction::Down => "reverted",
        }
    }
}

/// Default name of the tracking table.
pub const DEFAULT_HISTORY_TABLE: &str = "seaorm_revisions";

/// One migration with its place in the graph.
///
/// The `migration` crate's build script creates these from the files in its
/// versions folder; tests may build them by hand.
pub struct Revision {
    /// The revision id: the migration file's stem.
    pub id: String,
    /// The revisions this one applies on top of (Alembic's `down_revision`).
    pub parents: Vec<String>,
    /// One-line description (the file's first `//!` line).
    pub message: String,
    /// Checksum of the migration's code at build time.
    pub checksum: String,
    /// Where the migration's source lives.
    pub path: String,
    /// The migration itself.
    pub migration: Box<dyn MigrationTrait>,
    /// Lint findings the migration acknowledges on purpose: (rule, reason), from
    /// `// lint: allow RULE -- reason` lines in its file.
    pub lint_allow: Vec<(String, String)>,
}

impl Revision {
    /// A revision from its parts (called by the generated `revisions()` list).
    pub fn new(
        id: &str,
        parents: &[&str],
        message: &str,
        checksum: &str,
        path: &str,
        migration: Box<dyn MigrationTrait>,
    ) -> Self {
        Self {
            id: id.to_string(),
            parents: parents.iter().map(|p| (*p).to_string()).collect(),
            message: message.to_string(),
            checksum: checksum.to_string(),
            path: path.to_string(),
            migration,
            lint_allow: Vec::new(),
        }
    }

    /// Acknowledges lint findings: each (rule, reason) is reported as accepted,
    /// with its reason, instead of failing `lint` and `check`.
    #[must_use]
    pub fn with_lint_allow(mut self, allow: &[(&str, &str)]) -> Self {
        self.lint_allow = allow
            .iter()
            .map(|(r, why)| ((*r).to_string(), (*why).to_string()))
            .collect();
        self
    }

    /// Whether the runner wraps this revision in a transaction.
    ///
    /// Unlike sea-orm-migration (which only uses transactions on PostgreSQL by
    /// default), every backend gets one unless the migration opts out with
    /// `use_transaction() -> Some(false)` (e.g. for `CREATE INDEX CONCURRENTLY`):
    /// it makes SQLite atomic and roughly 2.5x faster.
    pub fn use_transaction(&self) -> bool {
        self.migration.use_transaction() != Some(false)
    }

    /// Whether the migration left the choice open (`use_transaction()` is
    /// `None`): one that then cannot run inside a transaction (the server
    /// says so) is run again outside one, with a warning.
    pub fn transaction_unspecified(&self) -> bool {
        self.migration.use_transaction().is_none()
    }
}

impl std::fmt::Debug for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revision")
            .field("id", &self.id)
            .field("parents", &self.parents)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// The project's revisions, their graph, and where new files go.
#[derive(Debug)]
pub struct Migrator {
    revisions: Vec<Revision>,
    index: HashMap<String, usize>,
    graph: RevisionGraph,
    versions_dir: Option<PathBuf>,
    table: String,
    /// sea-orm-migration's tracking table to adopt (its
    /// `migration_table_name()`).
    adopt_from: String,
    entities: Option<crate::entities::Entities>,
}

impl Migrator {
    /// Builds the revision graph.
    ///
    /// # Errors
    /// The graph is invalid: duplicate ids, a missing parent or a cycle.
    pub fn new(revisions: Vec<Revision>) -> Result<Self> {
        let infos = revisions
            .iter()
            .map(|r| RevisionInfo {
                id: r.id.clone(),
                parents: r.parents.clone(),
                message: r.message.clone(),
            })
            .collect();
        let graph = RevisionGraph::new(infos)?;
        let index = revisions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        Ok(Self {
            revisions,
            index,
            graph,
            versions_dir: None,
            table: DEFAULT_HISTORY_TABLE.to_string(),
            adopt_from: crate::history::SEAQL_MIGRATIONS.to_string(),
            entities: None,
        })
    }

    /// The table sea-orm-migration recorded its migrations in, when the
    /// project renamed it (`MigratorTrait::migration_table_name()`; the
    /// default is `seaql_migrations`): its rows are adopted as they are from
    /// `seaql_migrations`.
    pub fn with_sea_orm_migration_table(mut self, table: impl Into<String>) -> Self {
        self.adopt_from = table.into();
        self
    }

    /// The sea-orm-migration table adopted (see
    /// [`Migrator::with_sea_orm_migration_table`]).
    pub fn sea_orm_migration_table(&self) -> &str {
        &self.adopt_from
    }

    /// Sets the folder where `generate` and `merge` write new migration files.
    pub fn with_versions_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.versions_dir = Some(dir.into());
        self
    }

    /// Registers the entities `revision --autogenerate` and `check` compare the
    /// migrations with (this project: `entity::schema`, which finds every entity
    /// through SeaORM's entity registry).
    pub fn with_entities(
        mut self,
        schema: impl Fn(sea_orm::DbBackend) -> sea_orm::SchemaBuilder + Send + Sync + 'static,
    ) -> Self {
        self.entities = Some(crate::entities::Entities::new(schema));
        self
    }

    /// Declares an index the entities cannot express (entities cannot declare a
    /// composite non-unique index); autogenerate adds it to the entities' side.
    /// Call after [`Migrator::with_entities`].
    pub fn with_entity_index(mut self, table: &str, name: &str, columns: &[&str]) -> Self {
        self.entities = self.entities.map(|e| e.with_index(table, name, columns));
        self
    }

    /// Declares the objects of `kind` matching `pattern` (a glob) the
    /// migrations': `check` and autogenerate list them as "managed by
    /// migrations" and never change them (Alembic's `include_object`; see
    /// [`crate::entities::Ownership`]). Call after [`Migrator::with_entities`].
    ///
    /// ```ignore
    /// Migrator::new(revisions)?
    ///     .with_entities(entity::schema)
    ///     .migrations_own(ObjectKind::Table, "audit_*")
    ///     .migrations_own(ObjectKind::Index, "*_trgm")
    /// ```
    pub fn migrations_own(mut self, kind: crate::entities::ObjectKind, pattern: &str) -> Self {
        self.entities = self.entities.map(|e| e.migrations_own(kind, pattern));
        self
    }

    /// Declares an index with a shape entities cannot express (an
    /// expression, a partial predicate, an access method, operator classes:
    /// [`crate::batch::IndexSpec`]'s builder), owned by the entities: autogenerate
    /// creates, changes and drops it. Call after [`Migrator::with_entities`].
    pub fn with_entity_index_spec(mut self, table: &str, spec: crate::batch::IndexSpec) -> Self {
        self.entities = self.entities.map(|e| e.with_index_spec(table, spec));
        self
    }

    /// The registered entities, if any.
    pub fn entities(&self) -> Option<&crate::entities::Entities> {
        self.entities.as_ref()
    }

    /// Renames the tracking table.
    ///
    /// # Warning: dangerous
    /// A migrator pointed at a different table sees an empty history and will try
    /// to apply every revision again on a database that already has them.
    pub fn dangerous_set_history_table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The revision graph.
    pub fn graph(&self) -> &RevisionGraph {
        &self.graph
    }

    /// A revision by its full id.
    pub fn revision(&self, id: &str) -> Option<&Revision> {
        self.index.get(id).map(|&i| &self.revisions[i])
    }

    /// All revisions, in the order the build script listed them.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// Where new migration files go, if known.
    pub fn versions_dir(&self) -> Option<&std::path::Path> {
        self.versions_dir.as_deref()
    }

    /// The tracking table's name.
    pub fn history_table(&self) -> &str {
        &self.table
    }
}
