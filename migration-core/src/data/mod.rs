//! Data-migration helpers: tables by name, batched backfills, Rust row transforms, chunked inserts, conditionals.
//!
//! A data migration must not import the application's entities: they
//! describe the schema of *today*, not the one the migration runs against.
//! These helpers name tables and columns as strings on top of sea-query
//! (Alembic's `table()`/`column()`), and do the slow parts in batches:
//!
//! * [`backfill`]: `UPDATE … SET col = <SQL expression>` in primary-key ranges,
//!   one statement per batch;
//! * [`transform`]: new values computed by a Rust closure. On SQLite the
//!   closure runs inside key-range `UPDATE`s as an SQL function (see
//!   [`install_sqlite_functions`]); elsewhere rows are streamed by keyset
//!   pagination (`WHERE key > last ORDER BY key LIMIT n`) and written back
//!   with one bulk `UPDATE` per batch;
//! * [`insert_many`]: `INSERT` chunked to the backend's bind-parameter limit.
//!
//! Memory stays flat: at most one batch of rows is held at a time. Inside a
//! migration they run in its transaction; on a plain connection each batch
//! commits on its own, so an interrupted run keeps its finished batches.
//! Progress goes to stderr as a bar when it is a terminal, and to `tracing`
//! (`MIGRATION_LOG=info`) otherwise.

mod backfill;
mod progress;
mod sqlite_values;
mod transform;

pub use backfill::Backfill;
pub use transform::{Row, Transform, TransformPath, install_sqlite_functions, last_transform_path};

use crate::backend::of_db as backend_for;
use crate::url::Dialect;
use sea_orm::sea_query::{
    Alias, DeleteStatement, Expr, InsertStatement, Query, SelectStatement, UpdateStatement,
};
use sea_orm::{ConnectionTrait, DatabaseExecutor, DbErr, Statement, Value};
use sea_orm_migration::SchemaManager;
use std::future::Future;

/// A table named by a string, for building statements without entities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableHandle {
    name: String,
}

/// A handle on table `name` (Alembic's `table()`).
///
/// ```ignore
/// let users = table("users");
/// let stmt = users.update().value(Alias::new("active"), false).and_where(column("id").lt(10)).to_owned();
/// manager.get_connection().execute(&stmt).await?;
/// ```
pub fn table(name: &str) -> TableHandle {
    TableHandle {
        name: name.to_owned(),
    }
}

/// Column `name`, unqualified, as an expression (Alembic's `column()`).
pub fn column(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

impl TableHandle {
    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table as a sea-query identifier.
    pub fn iden(&self) -> Alias {
        Alias::new(&self.name)
    }

    /// Column `name` qualified with this table (`"users"."id"`).
    pub fn col(&self, name: &str) -> Expr {
        Expr::col((self.iden(), Alias::new(name)))
    }

    /// `SELECT columns FROM table`.
    pub fn select(&self, columns: &[&str]) -> SelectStatement {
        Query::select()
            .columns(columns.iter().map(|c| Alias::new(*c)))
            .from(self.iden())
            .to_owned()
    }

    /// `INSERT INTO table (columns)`; add rows with `.values(…)`.
    pub fn insert(&self, columns: &[&str]) -> InsertStatement {
        Query::insert()
            .into_table(self.iden())
            .columns(columns.iter().map(|c| Alias::new(*c)))
            .to_owned()
    }

    /// `UPDATE table`; add `.value(…)` and `.and_where(…)`.
    pub fn update(&self) -> UpdateStatement {
        Query::update().table(self.iden()).to_owned()
    }

    /// `DELETE FROM table`; add `.and_where(…)`.
    pub fn delete(&self) -> DeleteStatement {
        Query::delete().from_table(self.iden()).to_owned()
    }
}

/// The dialect the migration runs on.
pub fn dialect(manager: &SchemaManager<'_>) -> Dialect {
    crate::backend::Dialect::of_db_backend(manager.get_database_backend())
}

/// Runs `f` only on `dialect` (e.g. a PostgreSQL-only extension or index);
/// returns whether it ran.
///
/// ```ignore
/// on(manager, Dialect::Postgres, || async {
///     manager.get_connection().execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
///     Ok(())
/// })
/// .await?;
/// ```
///
/// # Errors
/// Whatever `f` returns.
pub async fn on<F, Fut>(manager: &SchemaManager<'_>, dialect: Dialect, f: F) -> Result<bool, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), DbErr>>,
{
    if self::dialect(manager) != dialect {
        return Ok(false);
    }
    f().await?;
    Ok(true)
}

/// Runs `sql` (one or more statements) only when the migration runs on one
/// of `dialects`, and does nothing elsewhere; returns whether it ran. The
/// SQL form of [`on`]; offline (`up --sql`) the statements land in those
/// engines' scripts only.
///
/// # Errors
/// The statement failed.
pub async fn execute_on(
    manager: &SchemaManager<'_>,
    dialects: &[Dialect],
    sql: &str,
) -> Result<bool, DbErr> {
    if !dialects.contains(&dialect(manager)) {
        return Ok(false);
    }
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(true)
}

async fn count(conn: &DatabaseExecutor<'_>, sql: &str, values: Vec<Value>) -> Result<i64, DbErr> {
    let stmt = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
    match conn.query_one_raw(stmt).await? {
        Some(row) => row.try_get_by_index::<i64>(0),
        None => Ok(0),
    }
}

/// Whether table `table` exists (in the current database/schema).
///
/// # Errors
/// The catalog query failed.
pub async fn has_table(manager: &SchemaManager<'_>, table: &str) -> Result<bool, DbErr> {
    let conn = manager.get_connection();
    let sql = backend_for(conn.get_database_backend()).has_table_sql();
    Ok(count(conn, sql, vec![table.into()]).await? > 0)
}

/// Whether table `table` has column `column`.
///
/// # Errors
/// The catalog query failed.
pub async fn has_column(
    manager: &SchemaManager<'_>,
    table: &str,
    column: &str,
) -> Result<bool, DbErr> {
    let conn = manager.get_connection();
    let sql = backend_for(conn.get_database_backend()).has_column_sql();
    Ok(count(conn, sql, vec![table.into(), column.into()]).await? > 0)
}

/// Whether table `table` has an index named `index` (unique constraints
/// count: they are indexes on MySQL and SQLite, and have one on PostgreSQL).
///
/// # Errors
/// The catalog query failed.
pub async fn has_index(
    manager: &SchemaManager<'_>,
    table: &str,
    index: &str,
) -> Result<bool, DbErr> {
    let conn = manager.get_connection();
    let sql = backend_for(conn.get_database_backend()).has_index_sql();
    Ok(count(conn, sql, vec![table.into(), index.into()]).await? > 0)
}

/// How many bind parameters one statement may carry on this connection's
/// backend (SQLite 32766, PostgreSQL and MySQL/MariaDB 65535).
pub fn max_bind_params(conn: &impl ConnectionTrait) -> usize {
    backend_for(conn.get_database_backend()).max_bind_params()
}

/// Inserts `rows` (each one value per column, in order) into `table`, as
/// few statements as the backend's parameter limit allows; returns the rows
/// inserted. `rows` is consumed lazily: memory holds one statement's rows.
///
/// # Errors
/// A row with the wrong number of values, or a failed `INSERT`.
pub async fn insert_many(
    manager: &SchemaManager<'_>,
    table: &str,
    columns: &[&str],
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> Result<u64, DbErr> {
    insert_many_on(manager.get_connection(), table, columns, rows).await
}

/// [`insert_many`] on any connection or transaction.
///
/// # Errors
/// As [`insert_many`].
pub async fn insert_many_on(
    conn: &DatabaseExecutor<'_>,
    table: &str,
    columns: &[&str],
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> Result<u64, DbErr> {
    if columns.is_empty() {
        return Err(DbErr::Custom("insert_many: no columns".into()));
    }
    let per_statement = (max_bind_params(conn) / columns.len()).max(1);
    let handle = self::table(table);
    let mut done = 0u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut stmt = handle.insert(columns);
        let mut n = 0;
        for row in rows.by_ref().take(per_statement) {
            if row.len() != columns.len() {
                return Err(DbErr::Custom(format!(
                    "insert_many into `{table}`: a row has {} values for {} columns",
                    row.len(),
                    columns.len()
                )));
            }
            stmt.values(row.into_iter().map(Expr::val))
                .map_err(|e| DbErr::Custom(format!("insert_many into `{table}`: {e}")))?;
            n += 1;
        }
        conn.execute(&stmt).await?;
        done += n;
    }
    Ok(done)
}

/// A batched backfill of `table` (see [`Backfill`]).
pub fn backfill<'a>(manager: &'a SchemaManager<'_>, table: &str) -> Backfill<'a> {
    Backfill::new(manager.get_connection(), table)
}

/// A row transform of `table` (see [`Transform`]).
pub fn transform<'a>(manager: &'a SchemaManager<'_>, table: &str) -> Transform<'a> {
    Transform::new(manager.get_connection(), table)
}

/// The key ranges [`backfill`] and the in-engine [`transform`] update, one
/// statement each: `lower < key <= upper`, where each range's upper bound is
/// read from the key's index (`SELECT key … WHERE key > lower ORDER BY key
/// LIMIT 1 OFFSET n-1`), so gaps in the keys cost nothing and no row is held
/// in memory.
pub(crate) struct KeyRanges {
    table: Alias,
    key: Alias,
    batch_size: u64,
    /// The upper bound of the range last returned (`None`: from the start).
    lower: Option<Key>,
    done: bool,
}

impl KeyRanges {
    pub(crate) fn new(table: &str, key: &str, batch_size: u64) -> Self {
        Self {
            table: Alias::new(table),
            key: Alias::new(key),
            batch_size: batch_size.max(1),
            lower: None,
            done: false,
        }
    }

    /// The next range as a condition on the key, `None` after the last one
    /// (which is open-ended, so rows added meanwhile past the end are in it).
    pub(crate) async fn next(
        &mut self,
        conn: &sea_orm::DatabaseExecutor<'_>,
    ) -> Result<Option<sea_orm::sea_query::Condition>, DbErr> {
        use sea_orm::sea_query::{Condition, ExprTrait, Order};
        if self.done {
            return Ok(None);
        }
        let mut bound = Query::select();
        bound
            .column(self.key.clone())
            .from(self.table.clone())
            .order_by(self.key.clone(), Order::Asc)
            .limit(1)
            .offset(self.batch_size - 1);
        if let Some(l) = &self.lower {
            bound.and_where(Expr::col(self.key.clone()).gt(l.value()));
        }
        let upper = match conn.query_one(&bound).await? {
            Some(row) => Some(Key::read(&row, 0)?),
            None => None,
        };
        let mut range = Condition::all();
        if let Some(l) = &self.lower {
            range = range.add(Expr::col(self.key.clone()).gt(l.value()));
        }
        if let Some(u) = &upper {
            range = range.add(Expr::col(self.key.clone()).lte(u.value()));
        }
        self.done = upper.is_none();
        self.lower = upper;
        Ok(Some(range))
    }

    /// Where the next range starts: the upper bound of the range last
    /// returned (`None` before the first one).
    pub(crate) fn lower(&self) -> Option<&Key> {
        self.lower.as_ref()
    }
}

/// A key value read back from the database, for keyset pagination.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    Int(i64),
    Text(String),
    Uuid(sea_orm::prelude::Uuid),
}

/// How a key column decodes, found on the first row and reused (a failed
/// decode builds an error message: too slow to repeat for every row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    I64,
    I32,
    Text,
    Uuid,
}

impl Key {
    /// Reads column `index` of `row` as an integer, text or UUID key.
    pub(crate) fn read(row: &sea_orm::QueryResult, index: usize) -> Result<Key, DbErr> {
        Self::read_as(row, index, &mut None)
    }

    /// [`Key::read`], trying the decoder that worked before first.
    pub(crate) fn read_as(
        row: &sea_orm::QueryResult,
        index: usize,
        kind: &mut Option<KeyKind>,
    ) -> Result<Key, DbErr> {
        if let Some(k) = *kind {
            let known = match k {
                KeyKind::I64 => row.try_get_by_index::<i64>(index).map(Key::Int),
                KeyKind::I32 => row
                    .try_get_by_index::<i32>(index)
                    .map(|v| Key::Int(v.into())),
                KeyKind::Text => row.try_get_by_index::<String>(index).map(Key::Text),
                KeyKind::Uuid => row
                    .try_get_by_index::<sea_orm::prelude::Uuid>(index)
                    .map(Key::Uuid),
            };
            if known.is_ok() {
                return known;
            }
        }
        if let Ok(v) = row.try_get_by_index::<i64>(index) {
            *kind = Some(KeyKind::I64);
            return Ok(Key::Int(v));
        }
        if let Ok(v) = row.try_get_by_index::<i32>(index) {
            *kind = Some(KeyKind::I32);
            return Ok(Key::Int(v.into()));
        }
        if let Ok(v) = row.try_get_by_index::<String>(index) {
            *kind = Some(KeyKind::Text);
            return Ok(Key::Text(v));
        }
        let v = row.try_get_by_index::<sea_orm::prelude::Uuid>(index)?;
        *kind = Some(KeyKind::Uuid);
        Ok(Key::Uuid(v))
    }

    pub(crate) fn value(&self) -> Value {
        match self {
            Key::Int(v) => (*v).into(),
            Key::Text(v) => v.clone().into(),
            Key::Uuid(v) => (*v).into(),
        }
    }
}
