//! Row transforms in Rust: keyset-paginated reads, a closure per row, bulk `UPDATE`s back.

use super::progress::Progress;
use super::{Key, KeyKind};
use crate::batch::backend_for;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{
    ConnectionTrait, DatabaseExecutor, DbErr, QueryResult, Statement, TryGetable, Value,
};

/// One row read by a [`Transform`].
pub struct Row<'r> {
    row: &'r QueryResult,
    /// The selected columns in order: the key, then the `read` columns.
    columns: &'r [String],
}

impl Row<'_> {
    /// The value of a column listed in [`Transform::read`] (or the key).
    ///
    /// # Errors
    /// No such column, or a value of another type.
    pub fn get<T: TryGetable>(&self, column: &str) -> Result<T, DbErr> {
        // The position is known from the SELECT list: decoding by index skips
        // the driver's name lookup. A failure is decoded again by name, so the
        // error names the column as before.
        match self.columns.iter().position(|c| c == column) {
            Some(i) => self
                .row
                .try_get_by_index(i)
                .or_else(|_| self.row.try_get("", column)),
            None => self.row.try_get("", column),
        }
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
/// Rows are read `batch_size` at a time in key order
/// (`WHERE key > last ORDER BY key LIMIT n`, so every page is an index range
/// scan, however deep), the closure returns the new values of the `write`
/// columns (or `None` to leave the row alone), and each batch is written
/// back with as few bulk `UPDATE`s as the backend's parameter limit allows
/// (`UPDATE … FROM (VALUES …)` on PostgreSQL and SQLite, a join on a
/// `UNION ALL` of rows on MySQL/MariaDB). One batch is in memory at a time.
///
/// On SQLite most of the time goes to reading: sqlx runs SQLite on a worker
/// thread and hands every row over a channel with its values copied, about
/// 2.4–4× the cost of an in-engine `UPDATE` of the same rows (measurements in
/// `docs/batch-and-data.md`; sqlx's worker:
/// <https://github.com/launchbadge/sqlx/blob/main/sqlx-sqlite/src/connection/worker.rs>).
/// Prefer [`super::backfill`] there when the new value is an SQL expression.
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
        F: FnMut(&Row<'_>) -> Result<Option<Vec<Value>>, DbErr>,
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
                    row,
                    columns: &columns,
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
        Ok(done)
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
