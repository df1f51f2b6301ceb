//! The rollback hold: what `migration down` records so a service does not re-apply it on restart.
//!
//! A service started with `MIGRATE_ON_START=upgrade` applies every pending
//! revision. Without a hold, an emergency `migration down -n 3` in a running
//! stack would be undone by the next restart (a crash, `docker compose
//! restart`, a restart policy). So a live `down` records a hold in the table
//! `<tracking table>_hold` (one row): when, what it reverted, and a
//! [`fingerprint`] of the migrations the code had. [`crate::embed::on_start`]
//! then skips the upgrade, logs why, and the service starts at the reverted
//! revision. The hold ends when:
//!
//! - `migration up` (or `refresh`, `fresh`, `reset`) runs: the operator moves on;
//! - the service starts with different migrations (a revision added, removed
//!   or edited): a fixed migration ships and is applied.
//!
//! The table is created by the first `down`; reading a database without it
//! finds no hold. Built with sea-query, so it is the same code on every backend.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::revision::Migrator;
use sea_orm::sea_query::{Alias, ColumnDef, Query, Table};
use sea_orm::{ConnectionTrait, DatabaseConnection, StatementBuilder};
use sha2::{Digest, Sha256};

/// A recorded hold.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hold {
    /// When `down` recorded it (UTC, RFC 3339).
    pub held_at: String,
    /// The revisions that `down` reverted, in the order it reverted them.
    pub reverted: Vec<String>,
    /// [`fingerprint`] of the migrations of the code that ran `down`.
    pub fingerprint: String,
}

impl Hold {
    /// A hold recorded now for `reverted`, with `migrator`'s fingerprint.
    pub fn new(migrator: &Migrator, reverted: Vec<String>) -> Self {
        Self {
            held_at: crate::history::now(),
            reverted,
            fingerprint: fingerprint(migrator),
        }
    }

    /// One line for pictures and pages.
    pub fn describe(&self) -> String {
        format!(
            "On hold since {}: `migration down` reverted {}; services do not re-apply them until `migration up`.",
            self.held_at.replace('T', " "),
            self.reverted.join(", ")
        )
    }

    /// Whether the hold applies to this code: it has the same migrations
    /// (ids and checksums) as the code that recorded the hold.
    pub fn applies_to(&self, migrator: &Migrator) -> bool {
        self.fingerprint == fingerprint(migrator)
    }
}

/// SHA-256 over every revision's id and checksum, sorted by id (hex, 64 chars).
/// Adding, removing or editing a migration changes it; reformatting or
/// commenting one does not (the checksums ignore both).
pub fn fingerprint(migrator: &Migrator) -> String {
    let mut entries: Vec<(&str, &str)> = migrator
        .revisions()
        .iter()
        .map(|r| (r.id.as_str(), r.checksum.as_str()))
        .collect();
    entries.sort_unstable();
    let mut hasher = Sha256::new();
    for (id, checksum) in entries {
        hasher.update(id.as_bytes());
        hasher.update(b"\t");
        hasher.update(checksum.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hold table of a migrator: `<tracking table>_hold`.
pub fn table_name(migrator: &Migrator) -> String {
    format!("{}_hold", migrator.history_table())
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// The hold recorded in the database, if any.
///
/// # Errors
/// A database error.
pub async fn read(
    migrator: &Migrator,
    db: &DatabaseConnection,
    backend: &dyn Backend,
) -> Result<Option<Hold>> {
    let table = table_name(migrator);
    if !backend
        .has_table(db, &table)
        .await
        .map_err(Error::db("looking for the hold table"))?
    {
        return Ok(None);
    }
    let select = Query::select()
        .columns(["held_at", "reverted", "fingerprint"].map(col))
        .from(col(&table))
        .to_owned();
    let row = db
        .query_one(&select)
        .await
        .map_err(Error::db("reading the hold"))?;
    let Some(row) = row else { return Ok(None) };
    let get = |name: &str| -> Result<String> {
        row.try_get("", name).map_err(Error::db("reading the hold"))
    };
    let reverted = get("reverted")?;
    Ok(Some(Hold {
        held_at: get("held_at")?,
        reverted: reverted
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        fingerprint: get("fingerprint")?,
    }))
}

/// Records `hold`, replacing any earlier one (creates the table if needed).
///
/// # Errors
/// A database error.
pub async fn record(migrator: &Migrator, db: &impl ConnectionTrait, hold: &Hold) -> Result<()> {
    let table = table_name(migrator);
    let create = Table::create()
        .table(col(&table))
        .if_not_exists()
        .col(ColumnDef::new(col("held_at")).string_len(40).not_null())
        .col(ColumnDef::new(col("reverted")).text().not_null())
        .col(ColumnDef::new(col("fingerprint")).string_len(64).not_null())
        .to_owned();
    exec(db, &create, "creating the hold table").await?;
    let delete = Query::delete().from_table(col(&table)).to_owned();
    exec(db, &delete, "replacing the hold").await?;
    let insert = Query::insert()
        .into_table(col(&table))
        .columns(["held_at", "reverted", "fingerprint"].map(col))
        .values_panic([
            hold.held_at.clone().into(),
            hold.reverted.join(",").into(),
            hold.fingerprint.clone().into(),
        ])
        .to_owned();
    exec(db, &insert, "recording the hold").await
}

/// Removes the hold; returns the one there was.
///
/// # Errors
/// A database error.
pub async fn clear(
    migrator: &Migrator,
    db: &DatabaseConnection,
    backend: &dyn Backend,
) -> Result<Option<Hold>> {
    let held = read(migrator, db, backend).await?;
    if held.is_some() {
        let delete = Query::delete()
            .from_table(col(&table_name(migrator)))
            .to_owned();
        exec(db, &delete, "lifting the hold").await?;
    }
    Ok(held)
}

/// Drops the hold table (`reset`, which also drops the tracking table).
///
/// # Errors
/// A database error.
pub async fn drop_table(migrator: &Migrator, db: &impl ConnectionTrait) -> Result<()> {
    let drop = Table::drop()
        .table(col(&table_name(migrator)))
        .if_exists()
        .to_owned();
    exec(db, &drop, "dropping the hold table").await
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
