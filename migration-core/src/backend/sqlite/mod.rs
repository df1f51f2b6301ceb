//! SQLite: transactional DDL, a file lock beside the database, `sqlite_master` catalog.

pub mod batch;
mod index;
pub(crate) mod reflect;
mod types;

use super::Dialect;
use super::{Backend, LockSession, MigrationLock, NoLock, OnWait, Sql, hold, query_i64};
use crate::batch::{BatchAlter, BatchError};
use crate::error::{Error, Result};
use crate::schema::{ColType, Schema};
use crate::url::sqlite_path;
use async_trait::async_trait;
use sea_orm::DatabaseExecutor;
use sea_orm::sea_query::{ColumnType, SqliteQueryBuilder};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::time::Duration;

/// SQLite.
pub struct Sqlite;

/// An exclusive OS lock (`flock`/`LockFileEx`) on `<database>.migration-lock`.
///
/// SQLite's own locks cannot serve: a write lock held for the whole run would
/// block the migrations themselves, which use other pooled connections. The OS
/// releases the file lock when the process exits, however it exits.
struct FileLock {
    file: File,
    path: String,
}

#[async_trait]
impl LockSession for FileLock {
    async fn try_acquire(&mut self) -> Result<bool> {
        match self.file.try_lock() {
            Ok(()) => {
                // Leave our pid for whoever waits next; best effort.
                let _ = self.file.set_len(0);
                let _ = self.file.rewind();
                let _ = write!(self.file, "{}", std::process::id());
                let _ = self.file.flush();
                Ok(true)
            }
            Err(TryLockError::WouldBlock) => Ok(false),
            Err(TryLockError::Error(source)) => Err(Error::Io {
                context: format!("cannot lock {}", self.path),
                source,
            }),
        }
    }

    async fn holder(&mut self) -> String {
        let mut pid = String::new();
        let _ = self.file.rewind();
        let _ = self.file.read_to_string(&mut pid);
        match pid.trim() {
            "" => String::new(),
            pid => format!(", held by process {pid} (lock file {})", self.path),
        }
    }

    /// An OS file lock lasts as long as the open file: it cannot be lost.
    async fn still_held(&mut self, _txn: Option<&DatabaseTransaction>) -> Result<bool> {
        Ok(true)
    }

    async fn unlock(&mut self) -> Result<()> {
        // Clear our pid first: it names the holder only while there is one.
        let _ = self.file.set_len(0);
        self.file.unlock().map_err(|source| Error::Io {
            context: "cannot release the migration lock file".into(),
            source,
        })
    }

    fn heartbeat(&self) -> Option<Duration> {
        None
    }
}

#[async_trait]
impl Backend for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    async fn lock(
        &self,
        url: &str,
        key: &str,
        timeout: Duration,
        on_wait: OnWait<'_>,
    ) -> Result<Box<dyn MigrationLock>> {
        let Some(db_path) = sqlite_path(url) else {
            return Ok(Box::new(NoLock));
        };
        // Keyed on the file itself, not the URL's spelling of it: two
        // processes reaching one database through a symlink, `./x.db` and an
        // absolute path must meet at one lock file. The runner has connected
        // (and so created the file) before it locks.
        let db_path = std::fs::canonicalize(&db_path).unwrap_or(db_path);
        let lock_path = format!("{}.{key}.lock", db_path.display());
        let io = |source| Error::Io {
            context: format!("cannot open the migration lock file {lock_path}"),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        let lock = FileLock {
            file,
            path: lock_path,
        };
        hold(lock, timeout, on_wait).await
    }

    fn prepare_connect(&self, url: &str) -> Result<()> {
        if let Some(parent) = sqlite_path(url)
            .as_deref()
            .and_then(std::path::Path::parent)
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                context: format!("cannot create the database folder {}", parent.display()),
                source,
            })?;
        }
        Ok(())
    }

    async fn connect_once(&self, url: &str) -> std::result::Result<(), sea_orm::sqlx::Error> {
        use sea_orm::sqlx::Connection;
        sea_orm::sqlx::SqliteConnection::connect(url)
            .await?
            .close()
            .await
    }

    /// SQLITE_CANTOPEN (14): no such file without `mode=rwc`, or a file or
    /// folder this user may not open. <https://www.sqlite.org/rescode.html#cantopen>
    fn rejection_fix(
        &self,
        error: &dyn sea_orm::sqlx::error::DatabaseError,
    ) -> Option<&'static str> {
        (error.code()?.as_ref() == "14").then_some(
            "check the file's path and permissions; to create the file when it does not exist, \
             add ?mode=rwc to the URL (e.g. sqlite://data/dev.db?mode=rwc)",
        )
    }

    /// `cannot VACUUM from within a transaction`, `cannot change into wal
    /// mode from within a transaction` (SQLite gives them no code of their own).
    fn refuses_transaction(&self, error: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
        error.message().contains("from within a transaction")
    }

    fn memory_url(&self) -> Option<&'static str> {
        Some("sqlite::memory:")
    }

    /// `VACUUM` (<https://www.sqlite.org/lang_vacuum.html>: "cannot VACUUM from
    /// within a transaction").
    fn refuses_transaction_sql(&self, sql: &str) -> bool {
        crate::tokens::tokenize(sql, crate::tokens::Quotes::Standard)
            .first()
            .is_some_and(|t| t.is("VACUUM"))
    }

    /// sqlx-sqlite runs each connection's statements on a worker thread of
    /// its own, and reports them there, out of reach of the migration
    /// task's dispatcher.
    fn statements_watchable(&self) -> bool {
        false
    }

    fn parse_declared_type(&self, text: &str) -> ColType {
        reflect::parse_type(text)
    }

    async fn has_table(&self, db: &DatabaseConnection, table: &str) -> Result<bool, DbErr> {
        let sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?";
        Ok(query_i64(db, sql, vec![table.into()]).await? > 0)
    }

    async fn drop_everything(
        &self,
        db: &DatabaseConnection,
        keep: &[&str],
    ) -> Result<Vec<String>, DbErr> {
        // `PRAGMA foreign_keys` cannot change inside a transaction
        // (https://www.sqlite.org/foreignkeys.html#fk_enable); deferring the checks
        // to COMMIT lets tables go in any order within one transaction instead.
        let txn = db.begin().await?;
        txn.execute_unprepared("PRAGMA defer_foreign_keys = ON")
            .await?;
        let rows = txn
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') \
                 AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name",
            ))
            .await?;
        let mut dropped = Vec::new();
        for row in rows {
            let kind: String = row.try_get_by_index(0)?;
            let name: String = row.try_get_by_index(1)?;
            if keep.contains(&name.as_str()) {
                continue;
            }
            let quoted = name.replace('"', "\"\"");
            txn.execute_unprepared(&format!(
                "DROP {} IF EXISTS \"{quoted}\"",
                kind.to_uppercase()
            ))
            .await?;
            dropped.push(format!("{kind} {name}"));
        }
        txn.commit().await?;
        Ok(dropped)
    }

    async fn reflect(&self, db: &DatabaseExecutor<'_>, exclude: &[&str]) -> Result<Schema, DbErr> {
        reflect::reflect(db, exclude).await
    }

    async fn create_database(&self, admin_url: &str, name: &str) -> Result<String, DbErr> {
        // A scratch SQLite database is a file in the folder `admin_url` names
        // (e.g. `sqlite:///tmp/scratch`), created on first connect.
        let dir = sqlite_path(admin_url).unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&dir).map_err(|e| DbErr::Custom(e.to_string()))?;
        Ok(format!("sqlite://{}/{name}.db?mode=rwc", dir.display()))
    }

    async fn drop_database(&self, admin_url: &str, name: &str) -> Result<(), DbErr> {
        let dir = sqlite_path(admin_url).unwrap_or_else(std::env::temp_dir);
        let base = dir.join(format!("{name}.db"));
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", base.display()));
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let prefix = format!("{name}.db.");
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    fn to_sql(&self, stmt: Sql<'_>) -> String {
        stmt.render(SqliteQueryBuilder)
    }

    fn col_type_of(&self, ct: &ColumnType) -> ColType {
        types::col_type_of(ct)
    }

    async fn run_batch(
        &self,
        conn: &DatabaseExecutor<'_>,
        batch: &BatchAlter,
    ) -> Result<(), BatchError> {
        batch::run(conn, batch).await
    }

    fn table_keys_sql(&self) -> (&'static str, usize) {
        (TABLE_KEYS_SQL, 1)
    }

    async fn run_batch_offline(
        &self,
        conn: &DatabaseExecutor<'_>,
        batch: &BatchAlter,
        script: &crate::offline::Script,
    ) -> Result<(), BatchError> {
        batch::apply_offline(conn, batch, script).await
    }

    fn unconvertible(
        &self,
        expr: &str,
        from: &ColType,
        from_decl: &str,
        to: &ColType,
        to_decl: &str,
    ) -> Option<String> {
        batch::unconvertible(expr, from, from_decl, to, to_decl)
    }

    fn in_engine_transform(&self) -> bool {
        true
    }

    fn converts_silently(&self) -> bool {
        true
    }

    fn max_bind_params(&self) -> usize {
        // SQLITE_MAX_VARIABLE_NUMBER of the bundled SQLite (3.51; 32766 since 3.32).
        32766
    }

    fn bulk_update_sql(&self, table: &str, key: &str, columns: &[String], rows: usize) -> String {
        let width = columns.len() + 1;
        let row = format!("({})", vec!["?"; width].join(", "));
        let sets: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} = batch_v.column{}", self.quote_ident(c), i + 2))
            .collect();
        format!(
            "UPDATE {t} SET {} FROM (VALUES {}) AS batch_v WHERE {t}.{k} = batch_v.column1 AND {t}.{k} BETWEEN ? AND ?",
            sets.join(", "),
            vec![row; rows].join(", "),
            t = self.quote_ident(table),
            k = self.quote_ident(key),
        )
    }

    fn server_identity_sql(&self) -> &'static str {
        "SELECT 'sqlite ' || sqlite_version()"
    }

    fn has_table_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1"
    }

    fn has_column_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2"
    }

    fn create_index_sql(
        &self,
        table: &str,
        index: &crate::batch::IndexSpec,
    ) -> Result<String, String> {
        index::create_index_sql(table, index)
    }

    fn has_index_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND name = ?2"
    }
}

/// The table's foreign keys and unique indexes, one row per column in order
/// (see `backend::keys_from_rows`). SQLite names neither its foreign keys
/// nor the indexes behind inline `UNIQUE` (`sqlite_autoindex_…`, which
/// cannot be dropped): those have no name, and the rebuild matches them by
/// definition. Each key's `id`/`name` keeps its rows together.
const TABLE_KEYS_SQL: &str = r#"
SELECT grp, name, kind, col, ref_table, ref_col FROM (
  SELECT 'fk#' || f.id AS grp, NULL AS name, 'f' AS kind, f."from" AS col,
         f."table" AS ref_table, f."to" AS ref_col, f.seq AS pos
  FROM pragma_foreign_key_list(?1) f
  UNION ALL
  SELECT 'ix#' || l.name, CASE l.origin WHEN 'c' THEN l.name END, 'u', i.name, NULL, NULL, i.seqno
  FROM pragma_index_list(?1) l, pragma_index_info(l.name) i
  WHERE l."unique" = 1 AND l.origin <> 'pk' AND l.partial = 0
  UNION ALL
  SELECT 'ix#' || l.name, l.name, 'i', i.name, NULL, NULL, i.seqno
  FROM pragma_index_list(?1) l, pragma_index_info(l.name) i
  WHERE l."unique" = 0 AND l.origin = 'c' AND l.partial = 0 AND i.cid >= 0
) ORDER BY grp, pos
"#;
