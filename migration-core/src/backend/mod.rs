//! What differs between SQLite, PostgreSQL and MySQL/MariaDB, behind one trait.
//!
//! Everything backend-specific the engine needs (locking, transactional DDL,
//! catalog queries, dropping everything, creating scratch databases) lives in
//! this module, one file per backend. Nothing else matches on the backend.

mod mysql;
mod postgres;
mod sqlite;

use crate::error::Result;
use crate::schema::Schema;
use crate::url::Dialect;
use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, Statement};
use std::time::Duration;

/// A held migration lock. Dropping it also releases it (the connection or file
/// closes), but [`MigrationLock::release`] says whether the release worked.
#[async_trait]
pub trait MigrationLock: Send {
    /// Releases the lock.
    async fn release(self: Box<Self>) -> Result<()>;
}

/// Called once if the lock is busy, with a description of the holder.
pub type OnWait<'a> = &'a (dyn Fn(&str) + Send + Sync);

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

    /// Whether a table exists in the current database/schema.
    async fn has_table(&self, db: &DatabaseConnection, table: &str) -> Result<bool, DbErr>;

    /// Drops every table, view and type in the current database/schema; returns
    /// what it dropped. Used by `fresh`.
    async fn drop_everything(&self, db: &DatabaseConnection) -> Result<Vec<String>, DbErr>;

    /// Reflects the current database/schema, skipping the `exclude`d tables.
    async fn reflect(&self, db: &DatabaseConnection, exclude: &[&str]) -> Result<Schema, DbErr>;

    /// Creates an empty database `name` on the server `admin_url` points at and
    /// returns its URL (scratch databases for tests and `check`).
    async fn create_database(&self, admin_url: &str, name: &str) -> Result<String, DbErr>;

    /// Drops a database made by [`Backend::create_database`].
    async fn drop_database(&self, admin_url: &str, name: &str) -> Result<(), DbErr>;

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

    /// Removes what [`Backend::create_scratch`] made.
    async fn drop_scratch(&self, admin_url: &str, name: &str) -> Result<(), DbErr> {
        self.drop_database(admin_url, name).await
    }
}

/// The backend for a dialect.
pub fn for_dialect(dialect: Dialect) -> Box<dyn Backend> {
    match dialect {
        Dialect::Sqlite => Box::new(sqlite::Sqlite),
        Dialect::Postgres => Box::new(postgres::Postgres),
        Dialect::MySql => Box::new(mysql::MySql),
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

/// One backend's way of trying the lock once, and of naming who holds it.
#[async_trait]
trait LockAttempt: Send {
    /// Tries to take the lock without waiting.
    async fn try_acquire(&mut self) -> Result<bool>;
    /// Describes the holder (`", held by ..."`), or nothing if the backend cannot tell.
    async fn holder(&mut self) -> String;
}

/// Polls until the lock is taken or `timeout` passes; describes the holder once
/// when the lock is busy, and again on timeout.
async fn poll_lock(
    attempt: &mut dyn LockAttempt,
    timeout: Duration,
    on_wait: OnWait<'_>,
) -> Result<()> {
    let started = std::time::Instant::now();
    let mut announced = false;
    loop {
        if attempt.try_acquire().await? {
            return Ok(());
        }
        if !announced {
            on_wait(&attempt.holder().await);
            announced = true;
        }
        if started.elapsed() >= timeout {
            return Err(crate::error::Error::LockTimeout {
                waited: started.elapsed(),
                holder: attempt.holder().await,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
        let pg = for_dialect(Dialect::Postgres);
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
        let my = for_dialect(Dialect::MySql);
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
