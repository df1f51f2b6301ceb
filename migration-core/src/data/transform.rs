//! Row transforms in Rust: on SQLite the closure runs inside `UPDATE`s as an SQL function; elsewhere keyset-paginated reads and bulk `UPDATE`s back.

use super::progress::Progress;
use super::sqlite_values::{self, Decoded};
use super::{Key, KeyKind, KeyRanges};
use crate::backend::of_db as backend_for;
use migration_sqlite_fn::{Arg, Call, Handler, Registration, Ret};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, ValueType};
use sea_orm::{
    ConnectionTrait, DatabaseExecutor, DbErr, QueryResult, Statement, TryGetable, Value,
};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// One row read by a [`Transform`].
pub struct Row<'r> {
    inner: RowInner<'r>,
}

enum RowInner<'r> {
    /// A row read through the driver.
    Driver {
        row: &'r QueryResult,
        /// The selected columns in order: the key, then the `read` columns.
        columns: &'r [String],
    },
    /// The arguments of an in-engine call: `(-1, key, read…)`.
    Engine {
        call: &'r Call<'r>,
        /// The key, then the `read` columns (argument `i + 1` is column `i`).
        columns: &'r [String],
        /// Set when a read asks for a type not mirrored in-engine.
        unsupported: &'r RefCell<Option<String>>,
    },
}

impl Row<'_> {
    /// The value of a column listed in [`Transform::read`] (or the key).
    ///
    /// `T` is any type sea-orm decodes (`TryGetable`) that is also a
    /// sea-query `ValueType`: `i64`, `String`, `Option<f64>`, `Vec<u8>`, … On
    /// SQLite the value is converted the way sqlx-sqlite decodes that type.
    ///
    /// # Errors
    /// No such column, or a value of another type.
    pub fn get<T: TryGetable + ValueType>(&self, column: &str) -> Result<T, DbErr> {
        match &self.inner {
            // The position is known from the SELECT list: decoding by index
            // skips the driver's name lookup. A failure is decoded again by
            // name, so the error names the column as before.
            RowInner::Driver { row, columns } => match columns.iter().position(|c| c == column) {
                Some(i) => row.try_get_by_index(i).or_else(|_| row.try_get("", column)),
                None => row.try_get("", column),
            },
            RowInner::Engine {
                call,
                columns,
                unsupported,
            } => {
                let arg = columns
                    .iter()
                    .position(|c| c == column)
                    .map(|i| call.arg(i + 1));
                match sqlite_values::decode::<T>(arg, column) {
                    Ok(v) => Ok(v),
                    Err(Decoded::Err(e)) => Err(e),
                    Err(Decoded::Unsupported(why)) => {
                        let e = DbErr::Custom(format!(
                            "transform: {why} is not supported in-engine (the transform falls back to the driver path)"
                        ));
                        *unsupported.borrow_mut() = Some(why);
                        Err(e)
                    }
                }
            }
        }
    }
}

/// Which way a row transform ran (see [`last_transform_path`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformPath {
    /// SQLite: the closure ran inside the `UPDATE`s, as an SQL function.
    InEngine,
    /// Rows read through the driver and written back with bulk `UPDATE`s
    /// (PostgreSQL, MySQL/MariaDB, and SQLite connections without the function).
    Driver,
    /// SQLite: started in-engine, met a type it does not mirror, and did the
    /// rest of the table through the driver.
    FellBack,
}

thread_local! {
    static LAST_PATH: Cell<Option<TransformPath>> = const { Cell::new(None) };
}

/// The path the last [`Transform::run`] polled to completion *on this thread*
/// took: diagnostics and tests (a single-threaded runtime runs the whole
/// transform on the calling thread).
pub fn last_transform_path() -> Option<TransformPath> {
    LAST_PATH.with(Cell::get)
}

/// Registers the in-engine transform's SQL function on every SQLite
/// connection opened from now on in this process (idempotent). Call it
/// before connecting: connections opened earlier lack the function, and a
/// transform on them takes the driver path. `runner::connect` and
/// `testing::TestDb::create` call it.
pub fn install_sqlite_functions() {
    if !migration_sqlite_fn::install() {
        tracing::debug!("SQLite auto-extension not installed: transforms take the driver path");
    }
}

/// A row transform of one table, built with [`super::transform`]:
///
/// ```ignore
/// let rows = transform(manager, "users")
///     .key("id")
///     .read(&["first_name", "last_name"])
///     .write(&["full_name"])
///     .batch_size(2000)
///     .run(|row| {
///         let first: Option<String> = row.get("first_name")?;
///         let last: Option<String> = row.get("last_name")?;
///         Ok(Some(vec![join(first, last).into()]))
///     })
///     .await?;
/// ```
///
/// The closure returns the new values of the `write` columns (or `None` to
/// leave the row alone).
///
/// **PostgreSQL, MySQL/MariaDB**: rows are read `batch_size` at a time in key
/// order (`WHERE key > last ORDER BY key LIMIT n`, so every page is an index
/// range scan, however deep), and each batch is written back with as few
/// bulk `UPDATE`s as the backend's parameter limit allows (`UPDATE … FROM
/// (VALUES …)` on PostgreSQL and SQLite, a join on a `UNION ALL` of rows on
/// MySQL/MariaDB). One batch is in memory at a time.
///
/// **SQLite**: reading rows through sqlx costs 2.4–4× an in-engine `UPDATE`
/// by itself (sqlx runs SQLite on a worker thread and hands every row over a
/// channel with its values copied; `docs/batch-and-data.md`). So the closure
/// runs *inside* SQLite instead, as the SQL function
/// `migration_core_transform` (see [`install_sqlite_functions`]): the table
/// is walked in key ranges as [`super::backfill`] does, one
/// `UPDATE t SET w = migration_core_transform(tok, 0, key), … WHERE key > ?
/// AND key <= ? AND CASE WHEN (filter) THEN migration_core_transform(tok, -1,
/// key, read…) END` per range. The call in `WHERE` runs the closure and keeps
/// its values for that key (returning 0 for `None`, so the row is not
/// touched); the calls in `SET` hand them out. The closure therefore runs on
/// sqlx's SQLite worker thread, owned by the function's registry while the
/// statements run (hence `F: Send + 'static`). A connection opened before
/// the function was installed takes the driver path; so does the rest of the
/// table when the closure reads or returns a type the in-engine conversion
/// does not mirror (the closure may then see the rows of one range twice).
#[must_use = "a transform does nothing until .run() is awaited"]
pub struct Transform<'a> {
    conn: &'a DatabaseExecutor<'a>,
    table: String,
    key: String,
    read: Vec<String>,
    write: Vec<String>,
    filter: Option<Expr>,
    batch_size: u64,
    progress: bool,
}

impl<'a> Transform<'a> {
    /// A transform of `table` through `conn` (key `id`, 10000 rows per batch).
    pub fn new(conn: &'a DatabaseExecutor<'a>, table: &str) -> Self {
        Transform {
            conn,
            table: table.to_owned(),
            key: "id".to_owned(),
            read: Vec::new(),
            write: Vec::new(),
            filter: None,
            batch_size: 10_000,
            progress: true,
        }
    }

    /// The key column (unique and indexed; default `id`).
    pub fn key(mut self, column: &str) -> Self {
        self.key = column.to_owned();
        self
    }

    /// The columns the closure reads.
    pub fn read(mut self, columns: &[&str]) -> Self {
        self.read = columns.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// The columns the closure writes, in the order of the values it returns.
    pub fn write(mut self, columns: &[&str]) -> Self {
        self.write = columns.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// Only reads rows matching `condition`.
    pub fn filter(mut self, condition: Expr) -> Self {
        self.filter = Some(condition);
        self
    }

    /// Rows per batch (default 10000). Bigger batches mean fewer round trips;
    /// memory holds one batch.
    pub fn batch_size(mut self, rows: u64) -> Self {
        self.batch_size = Ord::max(rows, 1);
        self
    }

    /// No progress output.
    pub fn quiet(mut self) -> Self {
        self.progress = false;
        self
    }

    /// Runs the transform; returns the rows written.
    ///
    /// # Errors
    /// No `write` columns, the closure's error, a closure result with the
    /// wrong number of values, or a failed statement.
    pub async fn run<F>(self, mut f: F) -> Result<u64, DbErr>
    where
        F: FnMut(&Row<'_>) -> Result<Option<Vec<Value>>, DbErr> + Send + 'static,
    {
        if self.write.is_empty() {
            return Err(DbErr::Custom(format!(
                "transform of `{}`: no columns to write (call .write(&[…]))",
                self.table
            )));
        }
        let db = self.conn.get_database_backend();
        let backend = backend_for(db);
        let width = self.write.len() + 1;
        // Two parameters more: the chunk's key range.
        let per_statement = ((backend.max_bind_params() - 2) / width).max(1);
        let t = Alias::new(&self.table);
        let k = Alias::new(&self.key);
        let total = if Progress::wants_total(self.progress) {
            let mut q = Query::select();
            q.expr(Expr::cust("COUNT(*)")).from(t.clone());
            if let Some(f) = &self.filter {
                q.and_where(f.clone());
            }
            match self.conn.query_one(&q).await? {
                Some(row) => Some(Ord::max(row.try_get_by_index::<i64>(0)?, 0) as u64),
                None => None,
            }
        } else {
            None
        };
        let mut progress = Progress::new(format!("transform {}", self.table), total, self.progress);
        // The bulk UPDATE's text depends only on its row count: build each once,
        // so the driver's statement cache reuses the prepared statement.
        let mut sql_for: std::collections::HashMap<usize, String> = Default::default();
        let mut last: Option<Key> = None;
        let mut key_kind: Option<KeyKind> = None;
        let mut done = 0u64;
        let mut seen = 0u64;
        let columns: Vec<String> = std::iter::once(self.key.clone())
            .chain(self.read.iter().filter(|c| **c != self.key).cloned())
            .collect();
        let mut path = TransformPath::Driver;
        if backend.in_engine_transform() && sqlite_function_present(self.conn).await? {
            let (back, engine) = self
                .run_in_engine(f, &columns, &mut progress, &mut done, &mut seen)
                .await;
            f = back;
            match engine? {
                None => {
                    progress.finish(seen);
                    LAST_PATH.with(|p| p.set(Some(TransformPath::InEngine)));
                    return Ok(done);
                }
                Some((from, why)) => {
                    tracing::debug!(
                        table = %self.table,
                        reason = %why,
                        "transform: not supported in-engine on SQLite; the rest of the table goes through the driver"
                    );
                    last = from;
                    path = TransformPath::FellBack;
                }
            }
        }
        loop {
            let mut select = Query::select();
            for c in &columns {
                select.column(Alias::new(c));
            }
            select
                .from(t.clone())
                .order_by(k.clone(), Order::Asc)
                .limit(self.batch_size);
            if let Some(l) = &last {
                select.and_where(Expr::col(k.clone()).gt(l.value()));
            }
            if let Some(f) = &self.filter {
                select.and_where(f.clone());
            }
            let rows = self.conn.query_all(&select).await?;
            let Some(tail) = rows.last() else { break };
            last = Some(Key::read_as(tail, 0, &mut key_kind)?);
            let mut values: Vec<Value> = Vec::with_capacity(rows.len() * width + 2);
            let mut pending = 0usize;
            let mut range: Option<(Key, Key)> = None;
            for row in &rows {
                let key = Key::read_as(row, 0, &mut key_kind)?;
                let Some(new) = f(&Row {
                    inner: RowInner::Driver {
                        row,
                        columns: &columns,
                    },
                })?
                else {
                    continue;
                };
                if new.len() != self.write.len() {
                    return Err(DbErr::Custom(format!(
                        "transform of `{}`: the closure returned {} values for {} columns",
                        self.table,
                        new.len(),
                        self.write.len()
                    )));
                }
                values.push(key.value());
                values.extend(new);
                range = match range {
                    None => Some((key.clone(), key)),
                    Some((low, _)) => Some((low, key)),
                };
                pending += 1;
                if pending == per_statement {
                    self.flush(&mut sql_for, &mut values, range.take(), pending)
                        .await?;
                    done += pending as u64;
                    pending = 0;
                }
            }
            if pending > 0 {
                self.flush(&mut sql_for, &mut values, range.take(), pending)
                    .await?;
                done += pending as u64;
            }
            seen += rows.len() as u64;
            progress.update(seen);
            if (rows.len() as u64) < self.batch_size {
                break;
            }
        }
        progress.finish(seen);
        LAST_PATH.with(|p| p.set(Some(path)));
        Ok(done)
    }

    /// The SQLite path: key-range `UPDATE`s that call the closure through
    /// `migration_core_transform`. `Ok(None)` when the table is done;
    /// `Ok(Some((lower, why)))` when a range met a type not mirrored
    /// in-engine: that range's statement failed and changed nothing, and
    /// the rows after `lower` are left to the driver path.
    ///
    /// The closure moves into SQLite's function registry for the duration
    /// (the registry owns what it may call, see `migration_sqlite_fn`) and
    /// comes back with the outcome, for the driver path to go on with.
    async fn run_in_engine<F>(
        &self,
        f: F,
        columns: &[String],
        progress: &mut Progress,
        done: &mut u64,
        seen: &mut u64,
    ) -> (F, Result<Option<(Option<Key>, String)>, DbErr>)
    where
        F: FnMut(&Row<'_>) -> Result<Option<Vec<Value>>, DbErr> + Send + 'static,
    {
        let engine = Engine {
            f,
            columns: columns.to_vec(),
            table: self.table.clone(),
            width: self.write.len(),
            memo: Memo::default(),
            seen: 0,
            failure: None,
        };
        let mut registration = Registration::new(engine);
        let outcome = self
            .in_engine_ranges(&mut registration, columns, progress, done, seen)
            .await;
        let engine = registration
            .into_handler()
            .expect("the transform owns its registration until here");
        (engine.f, outcome)
    }

    /// The range loop of [`Transform::run_in_engine`].
    async fn in_engine_ranges<F>(
        &self,
        registration: &mut Registration<Engine<F>>,
        columns: &[String],
        progress: &mut Progress,
        done: &mut u64,
        seen: &mut u64,
    ) -> Result<Option<(Option<Key>, String)>, DbErr>
    where
        F: FnMut(&Row<'_>) -> Result<Option<Vec<Value>>, DbErr> + Send + 'static,
    {
        let t = Alias::new(&self.table);
        let token = registration.token();
        let call = |i: i64, args: &[String]| {
            // One `args` call: sea-query's `args` replaces, it does not append.
            Func::cust(Alias::new(migration_sqlite_fn::FUNCTION_NAME)).args(
                [Expr::val(token), Expr::val(i)]
                    .into_iter()
                    .chain(args.iter().map(|c| Expr::col(Alias::new(c)))),
            )
        };
        // The WHERE call runs the closure; CASE keeps it behind the user's
        // filter whatever order SQLite evaluates the terms in.
        let decide: Expr = match &self.filter {
            Some(filter) => Expr::case(filter.clone(), call(-1, columns))
                .finally(0)
                .into(),
            None => call(-1, columns).into(),
        };
        let mut ranges = KeyRanges::new(&self.table, &self.key, self.batch_size);
        loop {
            let start = ranges.lower().cloned();
            let Some(range) = ranges.next(self.conn).await? else {
                break;
            };
            let mut update = Query::update();
            update.table(t.clone()).cond_where(range);
            for (i, column) in self.write.iter().enumerate() {
                update.value(
                    Alias::new(column),
                    call(i as i64, std::slice::from_ref(&self.key)),
                );
            }
            update.and_where(decide.clone());
            let result = self.conn.execute(&update).await;
            let (failure, rows_seen) = {
                let mut engine = registration.handler();
                // Entries left over (a SET that never ran) go with the range.
                engine.memo.clear();
                (engine.failure.take(), engine.seen)
            };
            if let Some(panic) = registration.take_panic() {
                // The registration drops (and unregisters) while unwinding.
                std::panic::resume_unwind(panic);
            }
            match (result, failure) {
                (_, Some(Failure::Closure(e))) => return Err(e),
                (_, Some(Failure::Unsupported(why))) => return Ok(Some((start, why))),
                (Err(e), None) => return Err(e),
                (Ok(r), None) => *done += r.rows_affected(),
            }
            *seen = rows_seen;
            progress.update(*seen);
        }
        Ok(None)
    }

    async fn flush(
        &self,
        sql_for: &mut std::collections::HashMap<usize, String>,
        values: &mut Vec<Value>,
        range: Option<(Key, Key)>,
        rows: usize,
    ) -> Result<(), DbErr> {
        // Rows come in key order: the first and last keys bound the chunk.
        if let Some((low, high)) = range {
            values.push(low.value());
            values.push(high.value());
        }
        let db = self.conn.get_database_backend();
        let sql = sql_for.entry(rows).or_insert_with(|| {
            backend_for(db).bulk_update_sql(&self.table, &self.key, &self.write, rows)
        });
        let stmt = Statement::from_sql_and_values(db, sql.as_str(), std::mem::take(values));
        self.conn.execute_raw(stmt).await?;
        Ok(())
    }
}

/// Whether this SQLite connection has `migration_core_transform` (it was
/// opened after [`install_sqlite_functions`]). The probe must answer 1: the
/// offline recorder (`up --sql`) answers every query with no rows, and must
/// get the driver path's statements, not calls of a function plain SQLite
/// lacks.
async fn sqlite_function_present(conn: &DatabaseExecutor<'_>) -> Result<bool, DbErr> {
    let probe = Statement::from_string(
        conn.get_database_backend(),
        format!("SELECT {}(0)", migration_sqlite_fn::FUNCTION_NAME),
    );
    match conn.query_one_raw(probe).await {
        Ok(row) => Ok(row.is_some_and(|r| r.try_get_by_index::<i64>(0).is_ok_and(|v| v == 1))),
        Err(e) if e.to_string().contains("no such function") => Ok(false),
        Err(e) => Err(e),
    }
}

/// Why the in-engine statement failed.
enum Failure {
    /// The closure's error (or a wrong value count): returned as is.
    Closure(DbErr),
    /// A type not mirrored in-engine: fall back to the driver path.
    Unsupported(String),
}

/// A key as SQLite hands it to the function, to find a row's values again
/// in the SET calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum MemoKey {
    Int(i64),
    Real(u64),
    Text(Box<[u8]>),
    Blob(Box<[u8]>),
}

impl MemoKey {
    fn of(arg: Arg<'_>) -> Option<MemoKey> {
        Some(match arg {
            Arg::Null => return None,
            Arg::Integer(v) => MemoKey::Int(v),
            Arg::Real(v) => MemoKey::Real(v.to_bits()),
            Arg::Text(b) => MemoKey::Text(b.into()),
            Arg::Blob(b) => MemoKey::Blob(b.into()),
        })
    }
}

/// The closure's values for one row, handed out by the SET calls.
struct Entry {
    values: Vec<Option<Ret>>,
    left: usize,
}

/// Entries by key. In the usual one-pass UPDATE each row's SET calls come
/// right after its WHERE call: the newest entry waits in `last`, found
/// without hashing; older ones (a two-pass UPDATE) go to the map.
#[derive(Default)]
struct Memo {
    last: Option<(MemoKey, Entry)>,
    older: HashMap<MemoKey, Entry>,
}

impl Memo {
    fn insert(&mut self, key: MemoKey, entry: Entry) {
        if let Some((k, e)) = self.last.replace((key, entry)) {
            self.older.insert(k, e);
        }
    }

    /// Value `i` for `key`: `None` without an entry, `Some(None)` when
    /// already taken. The entry goes once every value was taken.
    fn take(&mut self, key: &MemoKey, i: usize) -> Option<Option<Ret>> {
        let in_last = matches!(&self.last, Some((k, _)) if k == key);
        let entry = if in_last {
            self.last.as_mut().map(|(_, e)| e)?
        } else {
            self.older.get_mut(key)?
        };
        let ret = entry.values.get_mut(i).and_then(Option::take);
        if ret.is_some() {
            entry.left -= 1;
            if entry.left == 0 {
                if in_last {
                    self.last = None;
                } else {
                    self.older.remove(key);
                }
            }
        }
        Some(ret)
    }

    fn clear(&mut self) {
        self.last = None;
        self.older.clear();
    }
}

/// The in-engine transform's side of `migration_core_transform`: owned by
/// the function registry while the statements run.
struct Engine<F> {
    f: F,
    /// The key, then the `read` columns.
    columns: Vec<String>,
    table: String,
    /// How many columns are written.
    width: usize,
    /// New values by key, from the WHERE call until every SET call took its
    /// own. SQLite may evaluate WHERE for a whole range before any SET (a
    /// two-pass UPDATE, with triggers or foreign keys): bounded by one range.
    memo: Memo,
    /// Rows the closure saw.
    seen: u64,
    failure: Option<Failure>,
}

impl<F> Engine<F>
where
    F: FnMut(&Row<'_>) -> Result<Option<Vec<Value>>, DbErr> + Send + 'static,
{
    /// `(-1, key, read…)`: runs the closure; 1 to update the row, 0 not to.
    fn decide(&mut self, call: &Call<'_>) -> Result<Ret, String> {
        let Some(key) = MemoKey::of(call.arg(1)) else {
            return self.fail(Failure::Closure(DbErr::Custom(format!(
                "transform of `{}`: a row has a NULL key",
                self.table
            ))));
        };
        let unsupported = RefCell::new(None);
        let row = Row {
            inner: RowInner::Engine {
                call,
                columns: &self.columns,
                unsupported: &unsupported,
            },
        };
        let result = (self.f)(&row);
        self.seen += 1;
        // Checked first: the closure may have turned the read's error into
        // something else, or ignored it.
        if let Some(why) = unsupported.into_inner() {
            return self.fail(Failure::Unsupported(why));
        }
        let new = match result {
            Ok(Some(new)) => new,
            Ok(None) => return Ok(Ret::Integer(0)),
            Err(e) => return self.fail(Failure::Closure(e)),
        };
        if new.len() != self.width {
            return self.fail(Failure::Closure(DbErr::Custom(format!(
                "transform of `{}`: the closure returned {} values for {} columns",
                self.table,
                new.len(),
                self.width
            ))));
        }
        // Encoded here, before any SET: a value not mirrored in-engine fails
        // the statement before this row is written.
        let mut values = Vec::with_capacity(new.len());
        for value in new {
            match sqlite_values::encode(value) {
                Ok(ret) => values.push(Some(ret)),
                Err(what) => return self.fail(Failure::Unsupported(format!("writing {what}"))),
            }
        }
        self.memo.insert(
            key,
            Entry {
                values,
                left: self.width,
            },
        );
        Ok(Ret::Integer(1))
    }

    /// `(i, key)`: value `i` of the row's memo entry.
    fn value(&mut self, i: usize, call: &Call<'_>) -> Result<Ret, String> {
        let taken = MemoKey::of(call.arg(1)).and_then(|key| self.memo.take(&key, i));
        match taken {
            Some(Some(ret)) => Ok(ret),
            Some(None) => self.fail(Failure::Closure(DbErr::Custom(format!(
                "transform of `{}`: internal error: value {i} of a row read twice",
                self.table
            )))),
            None => self.fail(Failure::Closure(DbErr::Custom(format!(
                "transform of `{}`: internal error: no values for a row being updated",
                self.table
            )))),
        }
    }

    fn fail(&mut self, failure: Failure) -> Result<Ret, String> {
        let message = match &failure {
            Failure::Closure(e) => format!("transform of `{}`: {e}", self.table),
            Failure::Unsupported(why) => {
                format!("transform of `{}`: unsupported: {why}", self.table)
            }
        };
        // The first failure is the one to report: later calls of the same
        // statement can only fail because of it.
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
        Err(message)
    }
}

impl<F> Handler for Engine<F>
where
    F: FnMut(&Row<'_>) -> Result<Option<Vec<Value>>, DbErr> + Send + 'static,
{
    fn call(&mut self, call: &Call<'_>) -> Result<Ret, String> {
        match call.arg(0) {
            Arg::Integer(-1) => self.decide(call),
            Arg::Integer(i) if i >= 0 && (i as usize) < self.width => self.value(i as usize, call),
            _ => self.fail(Failure::Closure(DbErr::Custom(format!(
                "transform of `{}`: internal error: bad call of {}",
                self.table,
                migration_sqlite_fn::FUNCTION_NAME
            )))),
        }
    }
}
