//! Everything that differs between SQLite, PostgreSQL and MySQL/MariaDB, behind one trait: a folder per engine.
//!
//! "How does MySQL do X?" has one answer: `backend/mysql/`. Each engine's
//! folder holds its migration lock and connection handling (`mod.rs`), its
//! catalog reflection (`reflect.rs`), its type mapping and default syntax
//! (`types.rs`) and its batch alter (`batch.rs`: native `ALTER` or the
//! SQLite rebuild), and implements [`Backend`] once. The rest of the engine
//! reaches an engine only through [`of`] (or [`of_db`] for a SeaORM
//! connection) and never matches on a backend: the models it works on
//! ([`crate::schema`], [`crate::batch`]'s declarations) sit below this layer.

mod dialect;
pub mod lease;
mod lock;
pub mod mysql;
pub mod postgres;
pub mod sqlite;

pub use dialect::Dialect;
pub use lock::{LockKind, MigrationLock, OnWait};
pub(crate) use lock::{LockSession, NoLock, heartbeat_for, hold};

use crate::batch::{BatchAlter, BatchError, IndexSpec, KeyKind, TableKey};
use crate::error::Result;
use crate::schema::{ColType, FkAction, Schema};
use async_trait::async_trait;
use sea_orm::sea_query::{
    ColumnType, ForeignKeyCreateStatement, ForeignKeyDropStatement, IndexCreateStatement,
    IndexDropStatement, QueryBuilder, SchemaBuilder, SelectStatement, TableAlterStatement,
    TableCreateStatement, TableDropStatement, TableRenameStatement,
};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseExecutor, DatabaseTransaction, DbBackend, DbErr,
    Statement,
};
use std::time::Duration;

/// How the database is reached: directly, or through a connection pooler
/// that hands a server connection to a client only for one transaction
/// (PgBouncer's `pool_mode = transaction`), where nothing may outlive a
/// transaction (named prepared statements, session locks, `SET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pooler {
    /// Find out: on PostgreSQL, a server whose own port differs from the
    /// URL's has something in between, and is treated as a pooler.
    #[default]
    Auto,
    /// A transaction pooler: prepare nothing, hold nothing across transactions.
    Transaction,
    /// Direct (or a session pooler): use the driver as it is.
    None,
}

impl std::str::FromStr for Pooler {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "transaction" | "on" => Ok(Self::Transaction),
            "none" | "off" | "session" => Ok(Self::None),
            other => Err(crate::error::Error::Usage(format!(
                "unknown pooler `{other}`: use auto, transaction or none (MIGRATION_POOLER)"
            ))),
        }
    }
}

/// The operations whose SQL or behaviour differs per backend.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Which backend this is.
    fn dialect(&self) -> Dialect;

    /// Whether DDL takes part in transactions. PostgreSQL and SQLite: yes.
    /// MySQL/MariaDB: no, every DDL statement commits implicitly
    /// (<https://dev.mysql.com/doc/refman/8.0/en/implicit-commit.html>).
    fn transactional_ddl(&self) -> bool;

    /// Takes the database-wide migration lock, waiting at most `timeout`.
    ///
    /// The lock lives on its own connection (or file), never a pooled one, so it
    /// cannot be handed back to the pool while held, and the server releases it
    /// when the process dies.
    async fn lock(
        &self,
        url: &str,
        key: &str,
        timeout: Duration,
        on_wait: OnWait<'_>,
    ) -> Result<Box<dyn MigrationLock>>;

    /// Prepares what connecting to `url` needs (SQLite: the database file's
    /// folder, which SQLite does not create).
    fn prepare_connect(&self, _url: &str) -> Result<()> {
        Ok(())
    }

    /// Whether the engine's own lock ([`Backend::lock`]) really excludes
    /// others on this server: not on engines that speak this protocol but
    /// make advisory locks no-ops or lack them (CockroachDB, YugabyteDB,
    /// TiDB, Vitess), where `--lock auto` takes the table lock instead.
    async fn native_lock_usable(&self, _db: &DatabaseConnection) -> bool {
        true
    }

    /// Settings of this engine's for the runner's pooled connection (on
    /// PostgreSQL an `application_name` naming the process, so that the
    /// lock's heartbeat can find the migration's session and say what
    /// blocks it).
    fn tune_connect(&self, _options: &mut sea_orm::ConnectOptions) {}

    /// What a pooled connection to `url` needs once it is made, given how
    /// the database is reached ([`Pooler`]): the connection itself by
    /// default; on PostgreSQL behind a transaction pooler, a driver that
    /// prepares nothing (`postgres/pooled.rs`).
    async fn finish_connect(
        &self,
        db: DatabaseConnection,
        _url: &str,
        _pooler: Pooler,
    ) -> Result<DatabaseConnection> {
        Ok(db)
    }

    /// One plain connection to `url`, closed at once: the pool hides why a
    /// connection fails behind its own timeout, this says it (the runner
    /// asks after a failed connect, see [`Backend::rejection_fix`]).
    /// `Ok` by default (the engine's failures are the pool's).
    async fn connect_once(&self, _url: &str) -> std::result::Result<(), sea_orm::sqlx::Error> {
        Ok(())
    }

    /// The fix for a server's answer to a connection that retrying cannot
    /// change (a wrong password, no such database), if `error` is one; what
    /// may pass by itself (a server still starting) is `None`.
    fn rejection_fix(
        &self,
        _error: &dyn sea_orm::sqlx::error::DatabaseError,
    ) -> Option<&'static str> {
        None
    }

    /// Whether `error` says the statement cannot run inside a transaction
    /// (PostgreSQL's `CREATE INDEX CONCURRENTLY`, SQLite's `VACUUM`): a
    /// revision that did not say whether it wants one is then run outside.
    fn refuses_transaction(&self, _error: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
        false
    }

    /// Whether the statement `sql` cannot run inside a transaction on this
    /// engine, read from its words (PostgreSQL's `… CONCURRENTLY`, `VACUUM`;
    /// SQLite's `VACUUM`): the lint's note to a revision that runs in one.
    fn refuses_transaction_sql(&self, _sql: &str) -> bool {
        false
    }

    /// A URL for a private in-memory database, where the engine has them
    /// (SQLite): `check` compares there when no server is given.
    fn memory_url(&self) -> Option<&'static str> {
        None
    }

    /// Whether offline SQL on this engine (`up --sql`) needs the tables'
    /// current definitions that only a copy of the schema the history builds
    /// can give (MySQL's `MODIFY COLUMN` restates the whole column), so that
    /// a copy is built in a scratch database on `--scratch-url`'s server when
    /// one is given. SQLite builds its copy in memory ([`Backend::memory_url`]).
    fn offline_needs_copy(&self) -> bool {
        false
    }

    /// Whether enums are named types of the schema (PostgreSQL `CREATE
    /// TYPE … AS ENUM`) rather than inline column types.
    fn named_enum_types(&self) -> bool {
        false
    }

    /// The statements that make an enum change ([`crate::enums`]): the type
    /// DDL where enums are types of the schema, the re-declared columns where
    /// they live in the columns; none by default (SQLite keeps no labels).
    fn enum_sql(&self, _change: crate::enums::EnumChange<'_>) -> Vec<String> {
        Vec::new()
    }

    /// The type a declared type text of this engine's catalog or DDL reads as.
    fn parse_declared_type(&self, text: &str) -> ColType;

    /// How this engine's DDL spells a sea-query type (`None`: it has none).
    fn type_spelling(&self, ty: &ColumnType) -> Option<String> {
        crate::batch::ddl::render_type(self.dialect().db_backend(), ty).ok()
    }

    /// The lint rules (`lint::rules`, by id and variant) that apply to
    /// migrations on this engine: those of every engine (data loss, renames)
    /// and its own ([`Backend::own_lint_rules`]).
    fn lint_rules(&self) -> Vec<&'static str> {
        let mut rules = vec![
            "drop-table",
            "drop-column",
            "truncate",
            "add-not-null-without-default",
            "rename-column",
            "rename-table",
        ];
        rules.extend_from_slice(self.own_lint_rules());
        rules
    }

    /// The lint rules only this engine has: what is risky depends on how it
    /// locks, rewrites and copies tables.
    fn own_lint_rules(&self) -> &'static [&'static str] {
        &[]
    }

    /// `url` with the database schema set to `schema` for every connection
    /// made from it; `None` where the engine has no schemas to choose.
    fn with_schema(&self, _url: &str, _schema: &str) -> Option<String> {
        None
    }

    /// Creates the schema the connection's search path names first when it
    /// does not exist yet (PostgreSQL with `-s`/`DATABASE_SCHEMA`), before a
    /// command that writes creates the tracking table there; nothing on the
    /// other engines.
    async fn ensure_schema(&self, _db: &DatabaseConnection) -> Result<(), DbErr> {
        Ok(())
    }

    /// Whether a table exists in the current database/schema.
    async fn has_table(&self, db: &DatabaseConnection, table: &str) -> Result<bool, DbErr>;

    /// Drops every table, view and type in the current database/schema but
    /// the `keep` tables (the lock's own); returns what it dropped. Used by `fresh`.
    async fn drop_everything(
        &self,
        db: &DatabaseConnection,
        keep: &[&str],
    ) -> Result<Vec<String>, DbErr>;

    /// Reflects the current database/schema, skipping the `exclude`d tables,
    /// with a constant number of catalog queries.
    async fn reflect(&self, db: &DatabaseExecutor<'_>, exclude: &[&str]) -> Result<Schema, DbErr>;

    /// Creates an empty database `name` on the server `admin_url` points at and
    /// returns its URL (scratch databases for tests and `check`).
    async fn create_database(&self, admin_url: &str, name: &str) -> Result<String, DbErr>;

    /// Drops a database made by [`Backend::create_database`].
    async fn drop_database(&self, admin_url: &str, name: &str) -> Result<(), DbErr>;

    /// The server `check` and autogenerate build their scratch places on
    /// when the command names the database `url` and no `--scratch-url`:
    /// that database's server ([`Backend::memory_url`] engines: none, they
    /// compare in memory).
    fn scratch_server_for(&self, url: &str) -> Option<String> {
        self.memory_url().is_none().then(|| url.to_owned())
    }

    /// Whether the statements a revision sends can be watched as it runs
    /// (`crate::sent`): sqlx reports them from the task that awaits them.
    fn statements_watchable(&self) -> bool {
        true
    }

    /// The URL scratch connections use on the server `admin_url` points at.
    fn scratch_connect_url(&self, admin_url: &str) -> String {
        admin_url.to_owned()
    }

    /// Whether a scratch schema is built in the admin database itself, inside
    /// a transaction that [`Backend::enter_scratch`] points at a private
    /// namespace and that is rolled back afterwards. PostgreSQL: yes.
    fn scratch_in_admin_database(&self) -> bool {
        false
    }

    /// The places a scratch side is tried in, in order, inside the admin
    /// database's transaction (see [`Backend::scratch_in_admin_database`]):
    /// a side that fails in one place is built again in the next, so a
    /// faster place with restrictions never changes what is reported.
    fn scratch_places(&self) -> &'static [ScratchPlace] {
        &[ScratchPlace::Schema]
    }

    /// Points the statements of `txn` at the private namespace `name` in
    /// `place` (see [`Backend::scratch_in_admin_database`]).
    async fn enter_scratch(
        &self,
        _txn: &DatabaseTransaction,
        _name: &str,
        _place: ScratchPlace,
    ) -> Result<(), DbErr> {
        Ok(())
    }

    /// Creates a private, empty place named `name` on the server `admin_url`
    /// points at, for a scratch schema that lives for one command (autogenerate
    /// and `check`), and returns the URL that connects into it. By default a
    /// database ([`Backend::create_database`]).
    async fn create_scratch(&self, admin_url: &str, name: &str) -> Result<String, DbErr> {
        self.create_database(admin_url, name).await
    }

    /// What the server at `admin_url` has that a scratch place cannot see
    /// (PostgreSQL: an extension installed in a schema that also holds
    /// tables, kept off the scratch search path so no migration reaches
    /// those tables), one description each: said when a migration fails
    /// there, since it may not fail on a real database.
    async fn scratch_blind_spots(&self, _admin_url: &str) -> Vec<String> {
        Vec::new()
    }

    /// Removes what [`Backend::create_scratch`] made.
    async fn drop_scratch(&self, admin_url: &str, name: &str) -> Result<(), DbErr> {
        self.drop_database(admin_url, name).await
    }

    // ---- SQL text --------------------------------------------------------

    /// Renders a sea-query statement in this engine's SQL.
    fn to_sql(&self, stmt: Sql<'_>) -> String;

    /// `name` as a quoted identifier (`"x"`; MySQL `` `x` ``).
    fn quote_ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    /// Whether string literals also escape with a backslash (MySQL/MariaDB:
    /// `'it\'s'`, <https://dev.mysql.com/doc/refman/8.0/en/string-literals.html>).
    fn backslash_escapes(&self) -> bool {
        false
    }

    /// `s` as a string literal (`''` doubled; backslashes doubled where
    /// [`Backend::backslash_escapes`]).
    fn quote_literal(&self, s: &str) -> String {
        let s = s.replace('\'', "''");
        if self.backslash_escapes() {
            format!("'{}'", s.replace('\\', "\\\\"))
        } else {
            format!("'{s}'")
        }
    }

    // ---- Types and catalog conventions -----------------------------------

    /// What a column created with the sea-query type `ct` reflects as here,
    /// so that an entity (or migration) compares with a reflected [`Schema`].
    /// Pass the entity's *original* column type (for enums the
    /// `ColumnType::Enum`, not the `Custom` SeaORM substitutes).
    fn col_type_of(&self, ct: &ColumnType) -> ColType;

    /// What a foreign-key action declared as `action` reflects as here.
    fn reflected_fk_action(&self, action: FkAction) -> FkAction {
        action
    }

    // ---- Batch alter and data helpers ------------------------------------

    /// Whether row transforms can run their closure inside the database, as
    /// an SQL function called by `UPDATE`s (SQLite, in process; see
    /// `data::transform`).
    fn in_engine_transform(&self) -> bool {
        false
    }

    /// Whether the engine changes a value a type change cannot convert
    /// instead of refusing it (SQLite's `CAST` turns `'8.5'` into 8 and
    /// `'d1'` into 0): the pre-checks guarding against that run even under
    /// `skip_prechecks()`. (MySQL/MariaDB refuse in a strict `sql_mode`; their
    /// batch runs every pre-check when the session's mode is not strict.)
    fn converts_silently(&self) -> bool {
        false
    }

    /// Applies a batch alter on `conn` (native `ALTER`s, or SQLite's rebuild).
    async fn run_batch(
        &self,
        conn: &DatabaseExecutor<'_>,
        batch: &BatchAlter,
    ) -> Result<(), BatchError>;

    /// Writes a batch into the offline script `script` through the recording
    /// connection `conn`, without the live table: what the batch declares is
    /// rendered, and what needs the table is marked.
    async fn run_batch_offline(
        &self,
        conn: &DatabaseExecutor<'_>,
        batch: &BatchAlter,
        script: &crate::offline::Script,
    ) -> Result<(), BatchError>;

    /// The foreign keys and unique keys of `table` with the names the
    /// catalog has for them: what a batch's drops given by definition are
    /// matched against ([`crate::batch::BatchAlter::drop_unique_on`]).
    async fn table_keys(
        &self,
        conn: &DatabaseExecutor<'_>,
        table: &str,
    ) -> Result<Vec<TableKey>, DbErr> {
        let (sql, binds) = self.table_keys_sql();
        let stmt = Statement::from_sql_and_values(
            self.dialect().db_backend(),
            sql,
            std::iter::repeat_n(sea_orm::Value::from(table), binds),
        );
        Ok(keys_from_rows(key_rows(conn, stmt).await?))
    }

    /// The catalog query behind [`Backend::table_keys`] (rows as
    /// [`keys_from_rows`] reads them), and how many times it binds the table name.
    fn table_keys_sql(&self) -> (&'static str, usize);

    /// An SQL predicate, true for rows whose `expr` (a `from` column,
    /// declared `from_decl`) cannot become `to` (declared `to_decl`) without
    /// an error or a silent change; `None` when every value converts.
    fn unconvertible(
        &self,
        expr: &str,
        from: &ColType,
        from_decl: &str,
        to: &ColType,
        to_decl: &str,
    ) -> Option<String>;

    /// The most bind parameters one statement may carry.
    fn max_bind_params(&self) -> usize;

    /// `UPDATE table SET c = <new value> … ` for `rows` rows of
    /// `(key, values…)` bound in that order, matched on `key`, followed by
    /// two more parameters: the lowest and the highest key. The key range
    /// lets the database find the rows with one index range scan whatever
    /// join it picks (without it, PostgreSQL hash-joins large batches
    /// against a scan of the whole table).
    fn bulk_update_sql(&self, table: &str, key: &str, columns: &[String], rows: usize) -> String;

    /// A query answering one text column that describes everything of the
    /// server, besides the statements sent, that decides how DDL reflects
    /// there (version, modes, collation, extensions): part of the key of the
    /// comparison cache (`autogen::cache`).
    fn server_identity_sql(&self) -> &'static str;

    /// A query counting tables named `$1` in the current database/schema.
    fn has_table_sql(&self) -> &'static str;

    /// A query counting columns `$2` of table `$1`.
    fn has_column_sql(&self) -> &'static str;

    /// A query counting indexes named `$2` on table `$1`.
    fn has_index_sql(&self) -> &'static str;

    /// The statement creating `index` on `table`, with its whole shape.
    ///
    /// # Errors
    /// A property this backend has not (see [`refuse_index`]).
    fn create_index_sql(&self, table: &str, index: &IndexSpec) -> Result<String, String>;
}

/// Refuses what only PostgreSQL's indexes have beyond a predicate:
/// `INCLUDE` columns and `NULLS NOT DISTINCT`.
pub(crate) fn refuse_postgres_only(backend: &str, index: &IndexSpec) -> Result<(), String> {
    if !index.shape.include.is_empty() {
        return Err(refuse_index(
            backend,
            index,
            "INCLUDE columns",
            "add them to the key, or leave them out",
        ));
    }
    if index.shape.nulls_not_distinct {
        return Err(refuse_index(
            backend,
            index,
            "NULLS NOT DISTINCT",
            "make the columns NOT NULL, or leave it out (NULLs never collide here)",
        ));
    }
    Ok(())
}

/// Why `backend` cannot create `index`: it has not `what`; `fix` says what
/// to write instead.
pub(crate) fn refuse_index(backend: &str, index: &IndexSpec, what: &str, fix: &str) -> String {
    format!(
        "index `{}`: {backend} does not support {what}; {fix} (or create it only on the \
         backends that do: `if manager.get_database_backend() == DbBackend::…`)",
        index.name
    )
}

/// The backend for a dialect: the one place a dialect picks an engine.
pub fn of(dialect: Dialect) -> &'static dyn Backend {
    match dialect {
        Dialect::Sqlite => &sqlite::Sqlite,
        Dialect::Postgres => &postgres::Postgres,
        Dialect::MySql => &mysql::MySql,
    }
}

/// The backend of a SeaORM backend value (a connection's `get_database_backend()`).
pub fn of_db(db: DbBackend) -> &'static dyn Backend {
    of(Dialect::of_db_backend(db))
}

/// Reflects the database `conn` is connected to (see [`Backend::reflect`]).
pub async fn reflect<'c>(
    conn: impl Into<DatabaseExecutor<'c>>,
    exclude: &[&str],
) -> Result<Schema, DbErr> {
    let conn = conn.into();
    of_db(conn.get_database_backend())
        .reflect(&conn, exclude)
        .await
}

/// A sea-query statement to render with [`Backend::to_sql`].
#[derive(Clone, Copy)]
pub enum Sql<'a> {
    /// `CREATE TABLE`.
    CreateTable(&'a TableCreateStatement),
    /// `ALTER TABLE`.
    AlterTable(&'a TableAlterStatement),
    /// `DROP TABLE`.
    DropTable(&'a TableDropStatement),
    /// `ALTER TABLE … RENAME` / `RENAME TABLE`.
    RenameTable(&'a TableRenameStatement),
    /// `CREATE INDEX`.
    CreateIndex(&'a IndexCreateStatement),
    /// `DROP INDEX`.
    DropIndex(&'a IndexDropStatement),
    /// `ALTER TABLE … ADD FOREIGN KEY`.
    CreateForeignKey(&'a ForeignKeyCreateStatement),
    /// `ALTER TABLE … DROP FOREIGN KEY` / `DROP CONSTRAINT`.
    DropForeignKey(&'a ForeignKeyDropStatement),
    /// A `SELECT` (values inlined).
    Select(&'a SelectStatement),
}

impl Sql<'_> {
    /// Renders with one engine's builder (each engine's [`Backend::to_sql`]
    /// passes its own).
    pub(crate) fn render<B: QueryBuilder + SchemaBuilder>(self, b: B) -> String {
        match self {
            Sql::CreateTable(s) => s.to_string(b),
            Sql::AlterTable(s) => s.to_string(b),
            Sql::DropTable(s) => s.to_string(b),
            Sql::RenameTable(s) => s.to_string(b),
            Sql::CreateIndex(s) => s.to_string(b),
            Sql::DropIndex(s) => s.to_string(b),
            Sql::CreateForeignKey(s) => s.to_string(b),
            Sql::DropForeignKey(s) => s.to_string(b),
            Sql::Select(s) => s.to_string(b),
        }
    }
}

/// A stable 31-bit hash (FNV-1a) used to derive lock keys from names; stable
/// across Rust versions, unlike `DefaultHasher`.
fn lock_key(name: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash & 0x7fff_ffff) as i32
}

/// Runs a query that returns one text (none on any failure).
pub(crate) async fn query_text(db: &impl ConnectionTrait, sql: &str) -> Option<String> {
    let stmt = Statement::from_string(db.get_database_backend(), sql);
    let row = db.query_one_raw(stmt).await.ok()??;
    row.try_get_by_index::<Option<String>>(0).ok()?
}

/// Runs a query that returns one integer.
pub(crate) async fn query_i64(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<i64, DbErr> {
    let stmt = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
    let row = db
        .query_one_raw(stmt)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("no row from `{sql}`")))?;
    row.try_get_by_index::<i64>(0)
}

/// Replaces the database name (the URL path) of a server URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Where a scratch side lives inside a transaction of the admin database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScratchPlace {
    /// The session's own temporary schema: nothing is written to the WAL and
    /// nothing is visible to other sessions; some objects cannot live there.
    Temporary,
    /// A schema created for the side and rolled back with it.
    Schema,
}

/// Groups catalog rows of `(key id, name, kind, column, referenced table,
/// referenced column)`, one per key column in order, into keys; `kind` is
/// `f` (foreign key) or `u` (unique), and the id keeps the rows of one key
/// together where keys have no names. Each engine's [`Backend::table_keys`]
/// reads its catalog into such rows.
pub(crate) fn keys_from_rows(rows: Vec<[Option<String>; 6]>) -> Vec<TableKey> {
    let mut out: Vec<(String, TableKey)> = Vec::new();
    for [id, name, kind, column, ref_table, ref_column] in rows {
        let kind = match kind.as_deref() {
            Some("f") => KeyKind::ForeignKey,
            Some("i") => KeyKind::Index,
            _ => KeyKind::Unique,
        };
        let id = id.unwrap_or_default();
        let at = match out.iter().position(|(i, _)| *i == id) {
            Some(at) => at,
            None => {
                out.push((
                    id,
                    TableKey {
                        kind,
                        name: name.clone(),
                        columns: Vec::new(),
                        ref_table: ref_table.clone(),
                        ref_columns: Vec::new(),
                    },
                ));
                out.len() - 1
            }
        };
        let key = &mut out[at].1;
        key.columns.extend(column);
        key.ref_columns.extend(ref_column);
    }
    out.into_iter().map(|(_, k)| k).collect()
}

/// Runs a catalog query whose rows are six nullable text columns (see [`keys_from_rows`]).
pub(crate) async fn key_rows(
    conn: &DatabaseExecutor<'_>,
    stmt: Statement,
) -> Result<Vec<[Option<String>; 6]>, DbErr> {
    let rows = conn.query_all_raw(stmt).await?;
    rows.iter()
        .map(|r| {
            Ok([
                r.try_get_by_index::<Option<String>>(0)?,
                r.try_get_by_index::<Option<String>>(1)?,
                r.try_get_by_index::<Option<String>>(2)?,
                r.try_get_by_index::<Option<String>>(3)?,
                r.try_get_by_index::<Option<String>>(4)?,
                r.try_get_by_index::<Option<String>>(5)?,
            ])
        })
        .collect()
}

/// The server's own error inside a database error, if it has one.
pub fn database_error(error: &DbErr) -> Option<&dyn sea_orm::sqlx::error::DatabaseError> {
    use sea_orm::RuntimeErr;
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => e.as_database_error(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_database_in_urls() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(
            with_database("mysql://root@h:3306", "t2"),
            "mysql://root@h:3306/t2"
        );
    }

    #[test]
    fn scratch_connections_skip_tls_only_on_loopback() {
        let pg = of(Dialect::Postgres);
        assert_eq!(
            pg.scratch_connect_url("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
        );
        assert_eq!(
            pg.scratch_connect_url("postgres://u:p@localhost/db?application_name=x"),
            "postgres://u:p@localhost/db?application_name=x&sslmode=disable"
        );
        for kept in [
            "postgres://u:p@db.example.com:5432/postgres",
            "postgres://u:p@127.0.0.1/postgres?sslmode=require",
            "postgres://u:p@10.0.0.5/postgres",
        ] {
            assert_eq!(pg.scratch_connect_url(kept), kept);
        }
        let my = of(Dialect::MySql);
        assert_eq!(
            my.scratch_connect_url("mysql://root@127.0.0.1/"),
            "mysql://root@127.0.0.1/"
        );
    }

    #[test]
    fn lock_keys_are_stable_and_positive() {
        assert_eq!(lock_key("seaorm_revisions"), lock_key("seaorm_revisions"));
        assert_ne!(lock_key("a"), lock_key("b"));
        assert!(lock_key("anything") >= 0);
    }
}
