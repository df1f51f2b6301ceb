//! The tracking table: one row per applied (or, on MySQL, failed) revision.
//!
//! Columns: `revision` (primary key), `applied_at` (UTC, RFC 3339 text so it
//! sorts and reads the same on every backend), `execution_ms`, `checksum` of
//! the migration's code, `status` (`applied` | `failed`) and `error` (why a
//! revision failed where DDL is not transactional). The statements are built
//! with sea-query, so they are the same code on all three backends.

use crate::backend::Backend;
use crate::error::{Error, Result};
use sea_orm::sea_query::{Alias, ColumnDef, Expr, ExprTrait, Order, Query, Table};
use sea_orm::{ConnectionTrait, DatabaseConnection, StatementBuilder};

/// `status` of a revision that ran to completion.
pub const STATUS_APPLIED: &str = "applied";
/// `status` of a revision that failed part-way where DDL is not transactional.
pub const STATUS_FAILED: &str = "failed";

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
        }
    }

    /// Whether the revision is recorded as failed.
    pub fn is_failed(&self) -> bool {
        self.status == STATUS_FAILED
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
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

impl History {
    /// The tracking table named `table`.
    pub fn new(table: &str) -> Self {
        Self {
            table: table.to_string(),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table if it does not exist.
    ///
    /// Returns the revisions adopted from sea-orm-migration's `seaql_migrations`
    /// when the table is created in a database that has one.
    pub async fn ensure(
        &self,
        db: &DatabaseConnection,
        backend: &dyn Backend,
    ) -> Result<Vec<String>> {
        if backend
            .has_table(db, &self.table)
            .await
            .map_err(Error::db("looking for the tracking table"))?
        {
            return Ok(Vec::new());
        }
        self.create(db).await?;
        self.adopt_seaql_migrations(db, backend).await
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
            .to_owned();
        exec(db, &create, "creating the tracking table").await
    }

    /// Copies sea-orm-migration's applied versions into the new table, so a
    /// database it migrated is taken over without re-running anything.
    async fn adopt_seaql_migrations(
        &self,
        db: &DatabaseConnection,
        backend: &dyn Backend,
    ) -> Result<Vec<String>> {
        if !backend
            .has_table(db, SEAQL_MIGRATIONS)
            .await
            .map_err(Error::db("looking for seaql_migrations"))?
        {
            return Ok(Vec::new());
        }
        let select = Query::select()
            .columns([col("version"), col("applied_at")])
            .from(col(SEAQL_MIGRATIONS))
            .order_by(col("version"), Order::Asc)
            .to_owned();
        let rows = db
            .query_all(&select)
            .await
            .map_err(Error::db("reading seaql_migrations"))?;
        let mut adopted = Vec::new();
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
            let row = HistoryRow {
                revision: version.clone(),
                applied_at,
                execution_ms: 0,
                // Unknown: sea-orm-migration keeps none. `None` is filled in by
                // the first verification with the code's current checksum.
                checksum: None,
                status: STATUS_APPLIED.to_string(),
                error: None,
            };
            self.insert(db, &row).await?;
            adopted.push(version);
        }
        Ok(adopted)
    }

    /// Every row, oldest first; empty when the table does not exist yet.
    pub async fn read(
        &self,
        db: &DatabaseConnection,
        backend: &dyn Backend,
    ) -> Result<Vec<HistoryRow>> {
        if !backend
            .has_table(db, &self.table)
            .await
            .map_err(Error::db("looking for the tracking table"))?
        {
            return Ok(Vec::new());
        }
        self.read_existing(db).await
    }

    /// Every row of a table known to exist.
    pub async fn read_existing(&self, db: &impl ConnectionTrait) -> Result<Vec<HistoryRow>> {
        let select = Query::select()
            .columns(
                [
                    "revision",
                    "applied_at",
                    "execution_ms",
                    "checksum",
                    "status",
                    "error",
                ]
                .map(col),
            )
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
                Ok(HistoryRow {
                    revision: r.try_get("", "revision")?,
                    applied_at: r.try_get("", "applied_at")?,
                    execution_ms: r.try_get("", "execution_ms")?,
                    checksum: r.try_get("", "checksum")?,
                    status: r.try_get("", "status")?,
                    error: r.try_get("", "error")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(Error::db("reading the tracking table"))
    }

    /// Records a row (inside the caller's transaction, if any).
    pub async fn insert(&self, db: &impl ConnectionTrait, row: &HistoryRow) -> Result<()> {
        let insert = Query::insert()
            .into_table(col(&self.table))
            .columns(
                [
                    "revision",
                    "applied_at",
                    "execution_ms",
                    "checksum",
                    "status",
                    "error",
                ]
                .map(col),
            )
            .values_panic([
                row.revision.clone().into(),
                row.applied_at.clone().into(),
                row.execution_ms.into(),
                row.checksum.clone().into(),
                row.status.clone().into(),
                row.error.clone().into(),
            ])
            .to_owned();
        exec(db, &insert, "recording the revision").await
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
