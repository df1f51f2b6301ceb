//! Batched backfill: `UPDATE … SET col = <SQL expression>` over key ranges, one statement per batch.

use super::KeyRanges;
use super::progress::Progress;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseExecutor, DbErr};

/// A backfill of one table, built with [`super::backfill`]:
///
/// ```ignore
/// let rows = backfill(manager, "users")
///     .key("id")
///     .set("full_name", Expr::cust("first_name || ' ' || last_name"))
///     .batch_size(5000)
///     .run()
///     .await?;
/// ```
///
/// The table is walked in key order in ranges of `batch_size` rows: each
/// range's upper bound is read from the key's index
/// (`SELECT key … WHERE key > lower ORDER BY key LIMIT 1 OFFSET n-1`), then
/// one `UPDATE … WHERE key > lower AND key <= upper` runs. Gaps in the keys
/// cost nothing, the key can be any orderable column (integer, text, UUID),
/// and no row is held in memory. The result equals one `UPDATE` of the whole
/// table, provided the expressions only read the row they update.
#[derive(Debug)]
#[must_use = "a backfill does nothing until .run() is awaited"]
pub struct Backfill<'a> {
    conn: &'a DatabaseExecutor<'a>,
    table: String,
    key: String,
    sets: Vec<(String, Expr)>,
    filter: Option<Expr>,
    batch_size: u64,
    progress: bool,
}

impl<'a> Backfill<'a> {
    /// A backfill of `table` through `conn` (key `id`, 5000 rows per batch).
    pub fn new(conn: &'a DatabaseExecutor<'a>, table: &str) -> Self {
        Backfill {
            conn,
            table: table.to_owned(),
            key: "id".to_owned(),
            sets: Vec::new(),
            filter: None,
            batch_size: 5000,
            progress: true,
        }
    }

    /// The key column the batches are ranges of (default `id`); it should be
    /// unique and indexed (the primary key).
    pub fn key(mut self, column: &str) -> Self {
        self.key = column.to_owned();
        self
    }

    /// Sets `column` to `value` (an expression over the row, e.g.
    /// `Expr::cust("lower(email)")`, or a constant).
    pub fn set(mut self, column: &str, value: impl Into<Expr>) -> Self {
        self.sets.push((column.to_owned(), value.into()));
        self
    }

    /// Only updates rows matching `condition` (e.g. `column("full_name").is_null()`).
    pub fn filter(mut self, condition: Expr) -> Self {
        self.filter = Some(condition);
        self
    }

    /// Rows per batch (default 5000).
    pub fn batch_size(mut self, rows: u64) -> Self {
        self.batch_size = Ord::max(rows, 1);
        self
    }

    /// No progress output.
    pub fn quiet(mut self) -> Self {
        self.progress = false;
        self
    }

    /// Runs the backfill; returns the rows updated.
    ///
    /// # Errors
    /// No `set`, or a failed statement (earlier batches stay done when the
    /// connection is not inside a transaction).
    pub async fn run(self) -> Result<u64, DbErr> {
        if self.sets.is_empty() {
            return Err(DbErr::Custom(format!(
                "backfill of `{}`: nothing to set (call .set(column, value))",
                self.table
            )));
        }
        let t = Alias::new(&self.table);
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
        let mut progress = Progress::new(format!("backfill {}", self.table), total, self.progress);
        let mut ranges = KeyRanges::new(&self.table, &self.key, self.batch_size);
        let mut done = 0u64;
        while let Some(range) = ranges.next(self.conn).await? {
            let mut update = Query::update();
            update.table(t.clone()).cond_where(range);
            for (column, value) in &self.sets {
                update.value(Alias::new(column), value.clone());
            }
            if let Some(f) = &self.filter {
                update.and_where(f.clone());
            }
            done += self.conn.execute(&update).await?.rows_affected();
            progress.update(done);
        }
        progress.finish(done);
        Ok(done)
    }
}
