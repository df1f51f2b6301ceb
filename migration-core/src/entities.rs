//! The entities a migrator is registered with: their schema builder, the indexes they cannot express, their captured DDL.
//!
//! This is the light holder the runtime carries ([`crate::Migrator::with_entities`]
//! is called by every project's `migrator()`, which services link too); the
//! comparison machinery that reads it (`autogen`, `check`, the lint) is tooling.

use crate::backend::Dialect;
use crate::schema::Index;
use async_trait::async_trait;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult,
    SchemaBuilder, Statement,
};
use std::sync::{Arc, Mutex};

/// Builds the entities' schema for a backend (`entity::schema` in this project).
pub type EntitySchemaFn = dyn Fn(DbBackend) -> SchemaBuilder + Send + Sync;

/// What the entities declare: the schema builder and the indexes entities cannot express.
#[derive(Clone)]
pub struct Entities {
    schema: Arc<EntitySchemaFn>,
    extra_indexes: Vec<(String, Index)>,
    ownership: Ownership,
    /// The captured DDL per backend, and the hints read from it: one command
    /// needs them up to three times (the entities' side, the comparison and
    /// the lint), and capturing 300 entities costs tens of milliseconds.
    pub(crate) captured: Arc<Captured>,
}

/// What [`Entities`] captured once (clones share it: the schema function is the same).
#[derive(Default)]
pub(crate) struct Captured {
    /// One cell per dialect, in the order of [`Dialect::ALL`].
    ddl: [tokio::sync::OnceCell<Vec<String>>; 3],
    /// Read by autogenerate (tooling) only; the runtime never needs them.
    #[cfg(feature = "tooling")]
    pub(crate) hints: tokio::sync::OnceCell<crate::autogen::Hints>,
}

/// A kind of database object a project can declare the migrations' own
/// ([`crate::Migrator::migrations_own`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A table (pattern: its name): never dropped, its differences not listed.
    Table,
    /// A column (pattern: `table.column`): never dropped or altered.
    Column,
    /// An index or unique constraint (pattern: its name, or `table.name`).
    Index,
    /// A column's server default (pattern: `table.column`).
    Default,
}

impl ObjectKind {
    /// The word `check` uses for it.
    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::Column => "column",
            ObjectKind::Index => "index",
            ObjectKind::Default => "server default",
        }
    }
}

/// Which database objects belong to the migrations rather than to the
/// entities (Alembic's `include_object`): `check` and autogenerate list
/// them as "managed by migrations" and never generate a change to them.
///
/// Whatever entities cannot declare is the migrations' already (expression,
/// partial and method-specific indexes, server defaults an entity does not
/// declare, views, triggers, functions, extensions, virtual tables); these
/// rules add what entities could declare but a project keeps in its
/// migrations. `--strict` compares everything regardless.
///
/// Patterns are globs: `*` any run of characters, `?` one.
#[derive(Debug, Clone, Default)]
pub struct Ownership {
    rules: Vec<(ObjectKind, String)>,
}

impl Ownership {
    /// Whether an object of `kind` named `name` (`table`, `table.column`,
    /// or an index's `table.index`) is the migrations'. An index rule
    /// without a `.` matches the index's own name.
    pub fn owns(&self, kind: ObjectKind, name: &str) -> bool {
        self.rules.iter().any(|(k, pattern)| {
            *k == kind
                && (glob(pattern, name)
                    || (kind == ObjectKind::Index
                        && !pattern.contains('.')
                        && name.split_once('.').is_some_and(|(_, n)| glob(pattern, n))))
        })
    }
}

/// Whether `text` matches the glob `pattern` (`*`, `?`).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Classic two-pointer glob with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

impl std::fmt::Debug for Entities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entities")
            .field("extra_indexes", &self.extra_indexes)
            .finish_non_exhaustive()
    }
}

impl Entities {
    /// The entities `schema` registers (e.g. `entity::schema`, which finds every
    /// entity through SeaORM's entity registry).
    pub fn new(schema: impl Fn(DbBackend) -> SchemaBuilder + Send + Sync + 'static) -> Self {
        Self {
            schema: Arc::new(schema),
            extra_indexes: Vec::new(),
            ownership: Ownership::default(),
            captured: Arc::default(),
        }
    }

    /// Declares the objects of `kind` whose names match `pattern` the
    /// migrations' (see [`Ownership`]).
    pub fn migrations_own(mut self, kind: ObjectKind, pattern: &str) -> Self {
        self.ownership.rules.push((kind, pattern.to_owned()));
        self
    }

    /// What the migrations own beyond what entities cannot declare.
    pub fn ownership(&self) -> &Ownership {
        &self.ownership
    }

    /// Declares an index the entities cannot express (a composite non-unique
    /// index): it is added to the entities' side of every comparison.
    pub fn with_index(mut self, table: &str, name: &str, columns: &[&str]) -> Self {
        self.extra_indexes
            .push((table.to_owned(), Index::new(Some(name), columns, false)));
        self
    }

    /// Declares an index with a shape entities cannot express (an
    /// expression, a predicate, an access method, …): the entities own it,
    /// so autogenerate creates, changes and drops it like any other.
    pub fn with_index_spec(mut self, table: &str, spec: crate::batch::IndexSpec) -> Self {
        self.extra_indexes.push((
            table.to_owned(),
            Index {
                name: Some(spec.name),
                columns: spec.columns,
                unique: spec.unique,
                shape: spec.shape,
            },
        ));
        self
    }

    /// Like [`Entities::with_index`], for a unique index.
    pub fn with_unique_index(mut self, table: &str, name: &str, columns: &[&str]) -> Self {
        self = self.with_index(table, name, columns);
        if let Some((_, i)) = self.extra_indexes.last_mut() {
            i.unique = true;
        }
        self
    }

    /// The extra indexes, `(table, index)`.
    pub fn extra_indexes(&self) -> &[(String, Index)] {
        &self.extra_indexes
    }

    /// The schema builder for `backend`.
    pub fn schema_builder(&self, backend: DbBackend) -> SchemaBuilder {
        (self.schema)(backend)
    }

    /// Creates every entity table (and the extra indexes) in an empty database.
    ///
    /// The statements are those `SchemaBuilder::apply` runs (captured, see
    /// [`capture_ddl`]), sent as one plain-text script: one round trip
    /// instead of a prepare and an execute per statement (300 tables with an
    /// index each: 0.84-0.90 s instead of 1.02-1.08 s on PostgreSQL with
    /// `psql`, measured on this project's W3 schema). All three backends take
    /// several statements in one simple query.
    ///
    /// # Errors
    /// A database error.
    pub async fn apply<C: ConnectionTrait>(&self, db: &C) -> Result<(), DbErr> {
        let script = self.script(db.get_database_backend()).await?;
        if script.is_empty() {
            return Ok(());
        }
        db.execute_unprepared(&script.join(";\n")).await.map(|_| ())
    }

    /// The statements [`Entities::apply`] sends on `backend`, in order.
    ///
    /// # Errors
    /// An extra index this backend cannot create, or the capture's own
    /// in-memory SQLite connection cannot be opened.
    pub async fn script(&self, backend: DbBackend) -> Result<Vec<String>, DbErr> {
        let mut script: Vec<String> = self.ddl(backend).await?.to_vec();
        for (table, index) in &self.extra_indexes {
            if !index.shape.is_plain() {
                let spec = crate::batch::IndexSpec {
                    name: index.name.clone().unwrap_or_default(),
                    columns: index.columns.clone(),
                    unique: index.unique,
                    shape: index.shape.clone(),
                };
                script.push(
                    crate::backend::of_db(backend)
                        .create_index_sql(table, &spec)
                        .map_err(DbErr::Migration)?,
                );
                continue;
            }
            let mut stmt = sea_orm::sea_query::Index::create();
            stmt.name(index.name.clone().unwrap_or_default())
                .table(table.clone());
            for c in &index.columns {
                stmt.col(c.clone());
            }
            if index.unique {
                stmt.unique();
            }
            script.push(backend.build(&stmt).sql);
        }
        Ok(script)
    }

    /// The statements `SchemaBuilder::apply` runs on `backend`, captured once.
    /// [`Entities::ddl`] if it was captured already (no capture here); read
    /// by the offline recorder's type guesses, which are tooling.
    #[cfg(feature = "tooling")]
    pub(crate) fn captured_ddl(&self, backend: DbBackend) -> Option<&[String]> {
        let dialect = Dialect::of_db_backend(backend);
        let slot = Dialect::ALL.iter().position(|d| *d == dialect)?;
        self.captured.ddl[slot].get().map(Vec::as_slice)
    }

    pub(crate) async fn ddl(&self, backend: DbBackend) -> Result<&[String], DbErr> {
        let dialect = Dialect::of_db_backend(backend);
        let slot = Dialect::ALL
            .iter()
            .position(|d| *d == dialect)
            .expect("Dialect::ALL lists every dialect");
        let cell = &self.captured.ddl[slot];
        // Boxed: SeaORM's `SchemaBuilder::apply` future is deep, and nesting it
        // in the cell's future again exceeds the compiler's layout depth in
        // callers that await this among other things.
        cell.get_or_try_init(|| Box::pin(capture_ddl(self.schema.as_ref(), backend)))
            .await
            .map(Vec::as_slice)
    }
}

/// A connection that records the SQL it is given and runs nothing.
///
/// `ExecResult` cannot be built outside SeaORM, so each statement is answered
/// with the result of `SELECT 1` on a private in-memory SQLite connection.
struct Recorder {
    backend: DbBackend,
    answer: DatabaseConnection,
    sql: Mutex<Vec<String>>,
}

#[async_trait]
impl ConnectionTrait for Recorder {
    fn get_database_backend(&self) -> DbBackend {
        self.backend
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.record(stmt.to_string());
        self.answer.execute_unprepared("SELECT 1").await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.record(sql.to_owned());
        self.answer.execute_unprepared("SELECT 1").await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.record(stmt.to_string());
        Ok(None)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.record(stmt.to_string());
        Ok(Vec::new())
    }
}

impl Recorder {
    fn record(&self, sql: String) {
        if let Ok(mut v) = self.sql.lock() {
            v.push(sql);
        }
    }
}

/// The statements `SchemaBuilder::apply` would run on `backend`.
///
/// # Errors
/// The in-memory SQLite connection used to answer cannot be opened.
pub async fn capture_ddl(
    entities: &(dyn Fn(DbBackend) -> SchemaBuilder + Send + Sync),
    backend: DbBackend,
) -> Result<Vec<String>, DbErr> {
    let recorder = Recorder {
        backend,
        answer: Database::connect("sqlite::memory:").await?,
        sql: Mutex::new(Vec::new()),
    };
    entities(backend).apply(&recorder).await?;
    let _ = recorder.answer.close().await;
    Ok(recorder.sql.into_inner().unwrap_or_default())
}

#[cfg(test)]
mod ownership_tests {
    use super::*;

    #[test]
    fn rules_match_by_kind_and_glob() {
        let o = Entities::new(|b| sea_orm::Schema::new(b).builder())
            .migrations_own(ObjectKind::Index, "*_trgm")
            .migrations_own(ObjectKind::Table, "audit_?")
            .migrations_own(ObjectKind::Default, "users.*")
            .ownership()
            .clone();
        assert!(o.owns(ObjectKind::Index, "members.members_name_trgm"));
        assert!(o.owns(ObjectKind::Index, "name_trgm"));
        assert!(!o.owns(ObjectKind::Index, "members.members_name_idx"));
        assert!(o.owns(ObjectKind::Table, "audit_1"));
        assert!(!o.owns(ObjectKind::Table, "audit_10"));
        assert!(o.owns(ObjectKind::Default, "users.created_at"));
        assert!(!o.owns(ObjectKind::Default, "orders.created_at"));
        assert!(!o.owns(ObjectKind::Column, "users.created_at"));
    }
}
