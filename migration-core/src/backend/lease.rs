//! The table lock: a lease kept in a row of `<tracking table>_lock`, for engines and poolers with no usable advisory lock.
//!
//! One row per lock key holds the owner's token and a heartbeat counter the
//! owner bumps every third of the lease. A waiter never compares clocks: it
//! watches the counter, and a lease whose counter has not moved for a whole
//! lease by the waiter's own clock is stale (its owner died or lost the
//! database) and is taken over with a compare-and-set on (owner, counter),
//! which says so. The owner proves the lease before each commit by bumping
//! the counter where the row still names it; a takeover needs a whole lease
//! of silence after that, so a revision that commits within its lease of its
//! last proof cannot commit beside a new owner. Every statement is plain
//! portable SQL (sea-query), so it works on every engine and through any
//! pooler.

use super::lock::LockSession;
use crate::error::{Error, Result};
use async_trait::async_trait;
use sea_orm::sea_query::{Alias, ColumnDef, Expr, ExprTrait, Query, Table};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, SqlErr, StatementBuilder,
};
use std::time::{Duration, Instant};

/// The lock table's name for a tracking table.
pub fn table_for(history_table: &str) -> String {
    format!("{history_table}_lock")
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// A lease on one key, held through its own connection.
pub(crate) struct Lease {
    db: DatabaseConnection,
    table: String,
    key: String,
    /// This run's token: unique per process and attempt.
    token: String,
    ttl: Duration,
    /// The (owner, counter) a waiter last saw, and since when (its clock).
    seen: Option<(String, i64, Instant)>,
}

impl Lease {
    /// Prepares a lease on `key` in `table` (created if missing) with a
    /// lease of `ttl`.
    pub(crate) async fn new(
        db: DatabaseConnection,
        table: String,
        key: &str,
        ttl: Duration,
    ) -> Result<Self> {
        let create = Table::create()
            .table(col(&table))
            .if_not_exists()
            .col(
                ColumnDef::new(col("lock_key"))
                    .string_len(190)
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(col("owner")).string_len(190).not_null())
            .col(ColumnDef::new(col("heartbeat")).big_integer().not_null())
            .col(ColumnDef::new(col("acquired_at")).string_len(40).not_null())
            .to_owned();
        // Two first runs may create it at once: PostgreSQL's `IF NOT EXISTS`
        // then fails one of them on its catalog's unique index; the table
        // is there after all, and a second try sees it.
        if run(&db, &create).await.is_err() {
            run(&db, &create)
                .await
                .map_err(Error::db("creating the migration lock table"))?;
        }
        let host = hostname();
        let token = format!(
            "{host} pid {} #{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        );
        Ok(Self {
            db,
            table,
            key: key.to_owned(),
            token,
            ttl: ttl.max(Duration::from_secs(1)),
            seen: None,
        })
    }

    /// The row for our key: (owner, heartbeat, acquired_at).
    async fn row(&self) -> Result<Option<(String, i64, String)>, DbErr> {
        let select = Query::select()
            .columns([col("owner"), col("heartbeat"), col("acquired_at")])
            .from(col(&self.table))
            .and_where(Expr::col(col("lock_key")).eq(self.key.as_str()))
            .to_owned();
        let stmt = self.db.get_database_backend().build(&select);
        let Some(row) = self.db.query_one_raw(stmt).await? else {
            return Ok(None);
        };
        Ok(Some((
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
        )))
    }

    /// Sets the row to us if it still is `(owner, heartbeat)`: how a stale
    /// lease is taken over, by one waiter only.
    async fn take_over(&self, owner: &str, heartbeat: i64) -> Result<bool, DbErr> {
        let update = Query::update()
            .table(col(&self.table))
            .value(col("owner"), self.token.as_str())
            .value(col("heartbeat"), 0)
            .value(col("acquired_at"), now())
            .and_where(Expr::col(col("lock_key")).eq(self.key.as_str()))
            .and_where(Expr::col(col("owner")).eq(owner))
            .and_where(Expr::col(col("heartbeat")).eq(heartbeat))
            .to_owned();
        Ok(run(&self.db, &update).await? == 1)
    }
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown host".into())
}

async fn run(db: &DatabaseConnection, stmt: &impl StatementBuilder) -> Result<u64, DbErr> {
    let stmt = db.get_database_backend().build(stmt);
    Ok(db.execute_raw(stmt).await?.rows_affected())
}

#[async_trait]
impl LockSession for Lease {
    async fn try_acquire(&mut self) -> Result<bool> {
        // Read first: a waiter that inserted every 50 ms would fill the
        // server's log with unique violations.
        let row = self
            .row()
            .await
            .map_err(Error::db("reading the migration lock"))?;
        let Some((owner, beat, since)) = row else {
            let insert = Query::insert()
                .into_table(col(&self.table))
                .columns([
                    col("lock_key"),
                    col("owner"),
                    col("heartbeat"),
                    col("acquired_at"),
                ])
                .values_panic([
                    self.key.as_str().into(),
                    self.token.as_str().into(),
                    0i64.into(),
                    now().into(),
                ])
                .to_owned();
            return match run(&self.db, &insert).await {
                Ok(_) => Ok(true),
                // Another waiter inserted first.
                Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    Ok(false)
                }
                Err(e) => Err(Error::db("taking the migration lock")(e)),
            };
        };
        match &self.seen {
            Some((o, b, at)) if *o == owner && *b == beat => {
                if at.elapsed() < self.ttl {
                    return Ok(false);
                }
                let taken = self
                    .take_over(&owner, beat)
                    .await
                    .map_err(Error::db("taking over the migration lock"))?;
                if taken {
                    tracing::warn!(
                        "took over a stale migration lock held by {owner} since {since}: its \
                         heartbeat had not moved for {}s (its process died or lost the database)",
                        self.ttl.as_secs()
                    );
                }
                Ok(taken)
            }
            _ => {
                self.seen = Some((owner, beat, Instant::now()));
                Ok(false)
            }
        }
    }

    async fn holder(&mut self) -> String {
        match self.row().await {
            Ok(Some((owner, beat, since))) => {
                let quiet = self
                    .seen
                    .as_ref()
                    .filter(|(o, b, _)| *o == owner && *b == beat)
                    .map(|(_, _, at)| {
                        format!(", heartbeat unchanged for {}s", at.elapsed().as_secs())
                    })
                    .unwrap_or_default();
                format!(
                    ", held by {owner} since {since} (table lock `{}`; a lease is taken over after \
                     {}s without a heartbeat{quiet})",
                    self.table,
                    self.ttl.as_secs()
                )
            }
            _ => String::new(),
        }
    }

    async fn still_held(&mut self, txn: Option<&DatabaseTransaction>) -> Result<bool> {
        let bump = Query::update()
            .table(col(&self.table))
            .value(col("heartbeat"), Expr::col(col("heartbeat")).add(1))
            .and_where(Expr::col(col("lock_key")).eq(self.key.as_str()))
            .and_where(Expr::col(col("owner")).eq(self.token.as_str()))
            .to_owned();
        // Inside the revision's transaction, the proof commits with it: a
        // takeover after the proof must wait for our commit (the row is
        // locked), and one before it makes the proof fail.
        let done = match txn {
            Some(txn) => {
                let stmt = txn.get_database_backend().build(&bump);
                txn.execute_raw(stmt).await.map(|r| r.rows_affected())
            }
            None => run(&self.db, &bump).await,
        };
        Ok(done.map_err(Error::db("proving the migration lock"))? == 1)
    }

    fn lost_with_session(&self) -> bool {
        false
    }

    async fn unlock(&mut self) -> Result<()> {
        let delete = Query::delete()
            .from_table(col(&self.table))
            .and_where(Expr::col(col("lock_key")).eq(self.key.as_str()))
            .and_where(Expr::col(col("owner")).eq(self.token.as_str()))
            .to_owned();
        let done = run(&self.db, &delete).await;
        self.db.close_by_ref().await.ok();
        done.map(|_| ())
            .map_err(Error::db("releasing the migration lock"))
    }

    fn heartbeat(&self) -> Option<Duration> {
        Some(self.ttl / 3)
    }
}
