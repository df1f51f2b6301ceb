//! The tracking table: one row per applied (or, on MySQL, failed) revision.
//!
//! Columns: `revision` (primary key), `applied_at` (UTC, RFC 3339 text so it
//! sorts and reads the same on every backend), `execution_ms`, `checksum` of
//! the migration's code, `status` (`applied` | `failed`), `error` (why a
//! revision failed where DDL is not transactional) and `direction` (`up` |
//! `down`: what a failed revision was doing; `NULL` on applied rows). The
//! statements are built with sea-query, so they are the same code on all
//! three backends.
//!
//! `direction` was added later: tables created before it get it from
//! [`History::ensure`] (under the migration lock, once), and their failed rows,
//! which have none, told the direction with a prefix of `error` (`while
//! applying: `, `while reverting: `), still read.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::revision::Direction;
use sea_orm::sea_query::{Alias, ColumnDef, Expr, ExprTrait, Order, Query, Table};
use sea_orm::{ConnectionTrait, DatabaseConnection, StatementBuilder};
use sea_orm_migration::SchemaManager;

/// `status` of a revision that ran to completion.
pub const STATUS_APPLIED: &str = "applied";
/// `status` of a revision that failed part-way where DDL is not transactional.
pub const STATUS_FAILED: &str = "failed";
/// `status` of a revision that nothing can take back while it runs (MySQL
/// DDL, a revision without a transaction), written before its first
/// statement: a run killed part-way leaves it, and it reads as failed
/// ("interrupted") to every later run.
pub const STATUS_RUNNING: &str = "running";

/// The column that records which way a failed revision ran.
pub const DIRECTION_COLUMN: &str = "direction";

/// How failed rows written before [`DIRECTION_COLUMN`] existed began their `error`.
const LEGACY_PREFIXES: [(&str, Direction); 2] = [
    ("while applying: ", Direction::Up),
    ("while reverting: ", Direction::Down),
];

/// sea-orm-migration's table, adopted on first contact.
pub const SEAQL_MIGRATIONS: &str = "seaql_migrations";

/// One row of the tracking table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryRow {
    /// The revision id.
    pub revision: String,
    /// When it was applied (UTC, RFC 3339).
    pub applied_at: String,
    /// How long it took.
    pub execution_ms: i64,
    /// Checksum of the migration's code when it was applied.
    pub checksum: Option<String>,
    /// `applied` or `failed`.
    pub status: String,
    /// The error, for a failed revision.
    pub error: Option<String>,
    /// Which way a failed revision ran (`None` on applied rows, and on failed
    /// rows written before the column existed: see [`HistoryRow::failed_direction`]).
    pub direction: Option<Direction>,
}

impl HistoryRow {
    /// A row for a revision applied now.
    pub fn applied(revision: &str, execution_ms: i64, checksum: &str) -> Self {
        Self {
            revision: revision.to_string(),
            applied_at: now(),
            execution_ms,
            checksum: Some(checksum.to_string()),
            status: STATUS_APPLIED.to_string(),
            error: None,
            direction: None,
        }
    }

    /// A row for a revision that failed now while running `direction`.
    pub fn failed(
        revision: &str,
        direction: Direction,
        execution_ms: i64,
        checksum: &str,
        error: String,
    ) -> Self {
        Self {
            revision: revision.to_string(),
            applied_at: now(),
            execution_ms,
            checksum: Some(checksum.to_string()),
            status: STATUS_FAILED.to_string(),
            error: Some(error),
            direction: Some(direction),
        }
    }

    /// A row for a revision starting now to run `direction`, where nothing
    /// can take it back: `cause` says so, for whoever finds it left behind.
    pub fn running(revision: &str, direction: Direction, checksum: &str, cause: String) -> Self {
        Self {
            status: STATUS_RUNNING.to_string(),
            ..Self::failed(revision, direction, 0, checksum, cause)
        }
    }

    /// Whether the revision is recorded as failed, or as running (which,
    /// to a run holding the lock, means interrupted: its run is gone).
    pub fn is_failed(&self) -> bool {
        self.status == STATUS_FAILED || self.is_running()
    }

    /// Whether the revision is recorded as running (or interrupted).
    pub fn is_running(&self) -> bool {
        self.status == STATUS_RUNNING
    }

    /// Which way a failed revision ran: the `direction` column, else (a row
    /// written before it existed) the prefix of its error; `up` when neither
    /// says. `None` for a row that is not failed.
    pub fn failed_direction(&self) -> Option<Direction> {
        if !self.is_failed() {
            return None;
        }
        self.direction.or_else(|| {
            let error = self.error.as_deref().unwrap_or_default();
            Some(
                LEGACY_PREFIXES
                    .iter()
                    .find(|(p, _)| error.starts_with(p))
                    .map_or(Direction::Up, |(_, d)| *d),
            )
        })
    }

    /// The recorded error of a failed row, without the direction prefix rows
    /// written before the `direction` column carried.
    pub fn failure_cause(&self) -> &str {
        let error = self.error.as_deref().unwrap_or("no error recorded");
        if self.direction.is_some() {
            return error;
        }
        LEGACY_PREFIXES
            .iter()
            .find_map(|(p, _)| error.strip_prefix(p))
            .unwrap_or(error)
    }

    /// `while applying: CAUSE` (or reverting), for messages about a failed row.
    pub fn failure_description(&self) -> String {
        format!(
            "while {}: {}",
            self.failed_direction().unwrap_or(Direction::Up).verb(),
            self.failure_cause()
        )
    }
}

/// The current UTC time as stored in `applied_at`.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Reads and writes the tracking table.
#[derive(Debug, Clone)]
pub struct History {
    table: String,
    /// sea-orm-migration's table, adopted when this one is created.
    adopt_from: String,
}

/// The tracking table's columns but the direction (which tables from before
/// it lack until they are upgraded).
const COLUMNS: [&str; 6] = [
    "revision",
    "applied_at",
    "execution_ms",
    "checksum",
    "status",
    "error",
];

/// The columns a row is written with, and its values, in that order.
fn row_columns(
    row: &HistoryRow,
    with_direction: bool,
) -> (Vec<&'static str>, Vec<sea_orm::sea_query::SimpleExpr>) {
    let mut columns = COLUMNS.to_vec();
    let mut values: Vec<sea_orm::sea_query::SimpleExpr> = vec![
        row.revision.clone().into(),
        row.applied_at.clone().into(),
        row.execution_ms.into(),
        row.checksum.clone().into(),
        row.status.clone().into(),
        row.error.clone().into(),
    ];
    if with_direction {
        columns.push(DIRECTION_COLUMN);
        values.push(row.direction.map(|d| d.as_str().to_owned()).into());
    }
    (columns, values)
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

impl History {
    /// The tracking table named `table`.
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_string(),
            adopt_from: SEAQL_MIGRATIONS.to_string(),
        }
    }

    /// Adopts sea-orm-migration's rows from `table` instead of
    /// `seaql_migrations` (a project that renamed it).
    #[must_use]
    pub fn adopting(mut self, table: &str) -> Self {
        table.clone_into(&mut self.adopt_from);
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table if it does not exist, and adds the columns a table
    /// created by an earlier version lacks. Call it under the migration lock:
    /// the upgrade then runs once, whoever comes first.
    ///
    /// Returns the revisions adopted from sea-orm-migration's `seaql_migrations`
    /// when the table is created in a database that has one.
    ///
    /// `known` says which revisions the code defines: a `seaql_migrations`
    /// that records one it does not is "the database is ahead of this code",
    /// refused before anything is written.
    pub async fn ensure(
        &self,
        db: &DatabaseConnection,
        backend: &dyn Backend,
        known: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Vec<String>> {
        // One catalog query on the common path (an up-to-date table), as before
        // the column existed: the column's presence implies the table's.
        if self.has_direction_column(db).await? {
            return Ok(Vec::new());
        }
        if backend
            .has_table(db, &self.table)
            .await
            .map_err(Error::db("looking for the tracking table"))?
        {
            return self.add_direction_column(db).await.map(|()| Vec::new());
        }
        let adopt = self.seaql_rows(db, backend).await?;
        let mut unknown: Vec<String> = adopt
            .iter()
            .filter(|r| !known(&r.revision))
            .map(|r| r.revision.clone())
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(Error::Graph(crate::graph::GraphError::UnknownApplied {
                ids: unknown,
                keep: Vec::new(),
            }));
        }
        self.create(db).await?;
        let mut adopted = Vec::new();
        for row in adopt {
            self.insert(db, &row).await?;
            adopted.push(row.revision);
        }
        Ok(adopted)
    }

    async fn has_direction_column(&self, db: &DatabaseConnection) -> Result<bool> {
        crate::data::has_column(&SchemaManager::new(db), &self.table, DIRECTION_COLUMN)
            .await
            .map_err(Error::db(
                "looking for the tracking table's direction column",
            ))
    }

    /// The upgrade of a table created before `direction` existed: one
    /// `ALTER TABLE ... ADD COLUMN` (a nullable column without a default, so
    /// no backend rewrites the table; old rows read as `NULL`).
    async fn add_direction_column(&self, db: &DatabaseConnection) -> Result<()> {
        let alter = Table::alter()
            .table(col(&self.table))
            .add_column(direction_column())
            .to_owned();
        exec(
            db,
            &alter,
            "adding the direction column to the tracking table (an upgrade of a table created by an \
             earlier version; the database user needs ALTER on it)",
        )
        .await
    }

    /// `CREATE TABLE IF NOT EXISTS` for the tracking table.
    pub async fn create(&self, db: &impl ConnectionTrait) -> Result<()> {
        let create = Table::create()
            .table(col(&self.table))
            .if_not_exists()
            .col(
                ColumnDef::new(col("revision"))
                    .string_len(255)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(col("applied_at")).string_len(40).not_null())
            .col(ColumnDef::new(col("execution_ms")).big_integer().not_null())
            .col(ColumnDef::new(col("checksum")).string_len(64).null())
            .col(
                ColumnDef::new(col("status"))
                    .string_len(16)
                    .not_null()
                    .default(STATUS_APPLIED),
            )
            .col(ColumnDef::new(col("error")).text().null())
            .col(direction_column())
            .to_owned();
        exec(db, &create, "creating the tracking table").await
    }

    /// sea-orm-migration's applied versions as this table's rows (what
    /// adopting them writes; read-only commands show them as they are).
    /// Empty when the database has no `seaql_migrations`.
    async fn seaql_rows(
        &self,
        db: &DatabaseConnection,
        backend: &dyn Backend,
    ) -> Result<Vec<HistoryRow>> {
        if !backend
            .has_table(db, &self.adopt_from)
            .await
            .map_err(Error::db("looking for seaql_migrations"))?
        {
            return Ok(Vec::new());
        }
        let select = Query::select()
            .columns([col("version"), col("applied_at")])
            .from(col(self.adopt_from.as_str()))
            .order_by(col("version"), Order::Asc)
            .to_owned();
        let rows = db
            .query_all(&select)
            .await
            .map_err(Error::db("reading seaql_migrations"))?;
        let mut out = Vec::new();
        for row in rows {
            let version: String = row
                .try_get("", "version")
                .map_err(Error::db("reading seaql_migrations"))?;
            let secs: i64 = row
                .try_get("", "applied_at")
                .map_err(Error::db("reading seaql_migrations"))?;
            let applied_at = chrono::DateTime::from_timestamp(secs, 0)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            out.push(HistoryRow {
                revision: version,
                applied_at,
                execution_ms: 0,
                // Unknown: sea-orm-migration keeps none. `None` is filled in by
                // the first verification with the code's current checksum.
                checksum: None,
                status: STATUS_APPLIED.to_string(),
                error: None,
                direction: None,
            });
        }
        Ok(out)
    }

    /// Every row, oldest first; empty when the table does not exist yet. Reads
    /// a table [`History::ensure`] has not upgraded yet too (`status` runs
    /// without the lock, so it never alters the table).
    pub async fn read(
        &self,
        db: &DatabaseConnection,
        backend: &dyn Backend,
    ) -> Result<Vec<HistoryRow>> {
        if self.has_direction_column(db).await? {
            return self.read_columns(db, true).await;
        }
        if !backend
            .has_table(db, &self.table)
            .await
            .map_err(Error::db("looking for the tracking table"))?
        {
            // Not created yet: a database sea-orm-migration migrated reads
            // as what the first command that writes will adopt.
            return self.seaql_rows(db, backend).await;
        }
        self.read_columns(db, false).await
    }

    /// Every row of a table known to exist and be up to date (created or
    /// upgraded by [`History::ensure`]).
    pub async fn read_existing(&self, db: &impl ConnectionTrait) -> Result<Vec<HistoryRow>> {
        self.read_columns(db, true).await
    }

    async fn read_columns(
        &self,
        db: &impl ConnectionTrait,
        with_direction: bool,
    ) -> Result<Vec<HistoryRow>> {
        let mut columns = COLUMNS.to_vec();
        if with_direction {
            columns.push(DIRECTION_COLUMN);
        }
        let select = Query::select()
            .columns(columns.into_iter().map(col))
            .from(col(&self.table))
            .order_by(col("applied_at"), Order::Asc)
            .order_by(col("revision"), Order::Asc)
            .to_owned();
        let rows = db
            .query_all(&select)
            .await
            .map_err(Error::db("reading the tracking table"))?;
        rows.into_iter()
            .map(|r| {
                let direction: Option<String> = if with_direction {
                    r.try_get("", DIRECTION_COLUMN)?
                } else {
                    None
                };
                Ok(HistoryRow {
                    revision: r.try_get("", "revision")?,
                    applied_at: r.try_get("", "applied_at")?,
                    execution_ms: r.try_get("", "execution_ms")?,
                    checksum: r.try_get("", "checksum")?,
                    status: r.try_get("", "status")?,
                    error: r.try_get("", "error")?,
                    // A value this version does not know reads as unrecorded:
                    // the error's prefix, or `up`, decides (`failed_direction`).
                    direction: direction.as_deref().and_then(Direction::from_name),
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(Error::db("reading the tracking table"))
    }

    /// Records a row (inside the caller's transaction, if any).
    ///
    /// `direction` is written only when the row has one (a failure, recorded
    /// live after [`History::ensure`]): an applied row's insert names the
    /// original columns only, so an `up --sql` script also runs against a
    /// table created by an earlier version.
    pub async fn insert(&self, db: &impl ConnectionTrait, row: &HistoryRow) -> Result<()> {
        // The direction column only where the row has one (applied rows
        // leave it NULL).
        let (columns, values) = row_columns(row, row.direction.is_some());
        let insert = Query::insert()
            .into_table(col(&self.table))
            .columns(columns.into_iter().map(col))
            .values_panic(values)
            .to_owned();
        exec(db, &insert, "recording the revision").await
    }

    /// Writes `row` over the revision's row, if it has one, in one
    /// statement (`ON CONFLICT` / `ON DUPLICATE KEY UPDATE`): how a running
    /// mark becomes the revision's record.
    pub async fn upsert(&self, db: &impl ConnectionTrait, row: &HistoryRow) -> Result<()> {
        let (columns, values) = row_columns(row, true);
        let upsert = Query::insert()
            .into_table(col(&self.table))
            .columns(columns.iter().map(|c| col(c)))
            .values_panic(values)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(col("revision"))
                    .update_columns(columns[1..].iter().map(|c| col(c)))
                    .to_owned(),
            )
            .to_owned();
        exec(db, &upsert, "recording the revision").await
    }

    /// Deletes a revision's row.
    pub async fn delete(&self, db: &impl ConnectionTrait, revision: &str) -> Result<()> {
        let delete = Query::delete()
            .from_table(col(&self.table))
            .and_where(Expr::col(col("revision")).eq(revision))
            .to_owned();
        exec(db, &delete, "removing the revision's record").await
    }

    /// Deletes every row.
    pub async fn delete_all(&self, db: &impl ConnectionTrait) -> Result<()> {
        let delete = Query::delete().from_table(col(&self.table)).to_owned();
        exec(db, &delete, "clearing the tracking table").await
    }

    /// Sets a revision's checksum.
    pub async fn set_checksum(
        &self,
        db: &impl ConnectionTrait,
        revision: &str,
        checksum: &str,
    ) -> Result<()> {
        let update = Query::update()
            .table(col(&self.table))
            .value(col("checksum"), checksum)
            .and_where(Expr::col(col("revision")).eq(revision))
            .to_owned();
        exec(db, &update, "updating a checksum").await
    }

    /// Drops the table (`reset`).
    pub async fn drop(&self, db: &impl ConnectionTrait) -> Result<()> {
        let drop = Table::drop().table(col(&self.table)).if_exists().to_owned();
        exec(db, &drop, "dropping the tracking table").await
    }
}

/// `direction`: nullable, no default (see [`History::ensure`]'s upgrade).
fn direction_column() -> ColumnDef {
    ColumnDef::new(col(DIRECTION_COLUMN))
        .string_len(8)
        .null()
        .to_owned()
}

async fn exec<S: StatementBuilder>(
    db: &impl ConnectionTrait,
    stmt: &S,
    context: &str,
) -> Result<()> {
    db.execute(stmt)
        .await
        .map(|_| ())
        .map_err(Error::db(context))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(error: &str, direction: Option<Direction>) -> HistoryRow {
        HistoryRow {
            status: STATUS_FAILED.to_string(),
            error: Some(error.to_string()),
            direction,
            ..HistoryRow::applied("r", 0, "sum")
        }
    }

    #[test]
    fn the_direction_column_wins_and_old_rows_are_read_from_their_prefix() {
        let new = failed(
            "while reverting: is the cause's own text",
            Some(Direction::Up),
        );
        assert_eq!(new.failed_direction(), Some(Direction::Up));
        assert_eq!(
            new.failure_cause(),
            "while reverting: is the cause's own text"
        );
        let old_down = failed("while reverting: boom", None);
        assert_eq!(old_down.failed_direction(), Some(Direction::Down));
        assert_eq!(old_down.failure_cause(), "boom");
        assert_eq!(old_down.failure_description(), "while reverting: boom");
        let old_up = failed("while applying: boom", None);
        assert_eq!(old_up.failed_direction(), Some(Direction::Up));
        assert_eq!(old_up.failure_description(), "while applying: boom");
        // Neither says: the safe reading is a failed `up` (`repair` forgets it).
        assert_eq!(failed("boom", None).failed_direction(), Some(Direction::Up));
        assert_eq!(HistoryRow::applied("r", 0, "sum").failed_direction(), None);
    }
}
