//! MySQL/MariaDB: DDL commits implicitly; `GET_LOCK` on a dedicated connection.

pub mod batch;
mod index;
pub(crate) mod reflect;
mod types;

use super::Dialect;
use super::{Backend, LockSession, MigrationLock, OnWait, Sql, hold, query_i64, with_database};
use crate::batch::{BatchAlter, BatchError};
use crate::error::{Error, Result};
use crate::schema::{ColType, FkAction, Schema};
use crate::url::mask;
use async_trait::async_trait;
use sea_orm::DatabaseExecutor;
use sea_orm::sea_query::{ColumnType, MysqlQueryBuilder};
use sea_orm::sqlx::mysql::MySqlConnection;
use sea_orm::sqlx::{self, Connection};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use std::time::Duration;

/// MySQL and MariaDB.
pub struct MySql;

/// A named lock from `GET_LOCK`, held by a connection of its own.
///
/// Named locks are server-wide, so the name includes the database; the server
/// releases them when the session ends
/// (<https://mariadb.com/kb/en/get_lock/>), so a killed process cannot leave one behind.
struct NamedLock {
    conn: MySqlConnection,
    name: String,
    heartbeat: Duration,
}

#[async_trait]
impl LockSession for NamedLock {
    async fn try_acquire(&mut self) -> Result<bool> {
        let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 0)")
            .bind(&self.name)
            .fetch_one(&mut self.conn)
            .await
            .map_err(sqlx_err("taking the migration lock"))?;
        Ok(got == Some(1))
    }

    async fn holder(&mut self) -> String {
        let holder: Result<Option<(i64, String, String, i64)>, _> = sqlx::query_as(
            "SELECT CAST(ID AS SIGNED), CAST(USER AS CHAR), CAST(HOST AS CHAR), CAST(TIME AS SIGNED) \
             FROM information_schema.PROCESSLIST WHERE ID = IS_USED_LOCK(?)",
        )
        .bind(&self.name)
        .fetch_optional(&mut self.conn)
        .await;
        match holder {
            Ok(Some((id, user, host, secs))) => {
                format!(", held by connection {id} ({user}@{host}, {secs}s in its current state)")
            }
            _ => String::new(),
        }
    }

    async fn still_held(&mut self, _txn: Option<&DatabaseTransaction>) -> Result<bool> {
        let ours: Option<i64> = sqlx::query_scalar("SELECT IS_USED_LOCK(?) = CONNECTION_ID()")
            .bind(&self.name)
            .fetch_one(&mut self.conn)
            .await
            .map_err(sqlx_err("proving the migration lock"))?;
        Ok(ours == Some(1))
    }

    async fn unlock(&mut self) -> Result<()> {
        let released: Result<Option<i64>, _> = sqlx::query_scalar("SELECT RELEASE_LOCK(?)")
            .bind(&self.name)
            .fetch_one(&mut self.conn)
            .await;
        // Dropping the session closes the connection, which releases the
        // lock even if RELEASE_LOCK failed.
        released
            .map(|_| ())
            .map_err(sqlx_err("releasing the migration lock"))
    }

    fn heartbeat(&self) -> Option<Duration> {
        Some(self.heartbeat)
    }
}

fn sqlx_err(context: &'static str) -> impl Fn(sqlx::Error) -> Error {
    move |e| Error::db(context)(DbErr::Custom(e.to_string()))
}

#[async_trait]
impl Backend for MySql {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    fn transactional_ddl(&self) -> bool {
        false
    }

    /// `MODIFY COLUMN` restates the whole column (batch.rs).
    fn offline_needs_copy(&self) -> bool {
        true
    }

    async fn lock(
        &self,
        url: &str,
        key: &str,
        timeout: Duration,
        on_wait: OnWait<'_>,
    ) -> Result<Box<dyn MigrationLock>> {
        let mut conn = MySqlConnection::connect(url)
            .await
            .map_err(|e| Error::Connect {
                url: mask(url),
                attempts: 1,
                source: DbErr::Custom(crate::url::scrub(
                    &format!("opening the migration lock connection: {e}"),
                    url,
                )),
            })?;
        // Lock names are limited to 64 characters; a SHA1 of database + key fits.
        let name: String =
            sqlx::query_scalar("SELECT SHA1(CONCAT('migration-lock:', DATABASE(), ':', ?))")
                .bind(key)
                .fetch_one(&mut conn)
                .await
                .map_err(sqlx_err("naming the migration lock"))?;
        // The server drops a connection idle for `wait_timeout` seconds, and
        // its GET_LOCK locks with it: prove the lock more often than that.
        let wait: Option<u64> =
            sqlx::query_scalar("SELECT CAST(@@session.wait_timeout AS UNSIGNED)")
                .fetch_one(&mut conn)
                .await
                .ok();
        let heartbeat = super::heartbeat_for(&[Duration::from_secs(wait.unwrap_or(0))]);
        let lock = NamedLock {
            conn,
            name,
            heartbeat,
        };
        hold(lock, timeout, on_wait).await
    }

    async fn native_lock_usable(&self, db: &DatabaseConnection) -> bool {
        // Vitess (PlanetScale) routes a session's statements through vtgate
        // to tablets, so a GET_LOCK is not tied to the session that runs the
        // migrations. TiDB's GET_LOCK works cluster-wide: it stays.
        let version = super::query_text(db, "SELECT CONCAT(VERSION(), ' ', @@version_comment)")
            .await
            .unwrap_or_default();
        !version.contains("Vitess")
    }

    fn parse_declared_type(&self, text: &str) -> ColType {
        reflect::parse_type(text)
    }

    fn own_lint_rules(&self) -> &'static [&'static str] {
        // MySQL/MariaDB: besides the common rules, MODIFY/CHANGE COLUMN and what needs ALGORITHM=COPY.
        &["column-type-change/modify", "mysql-table-copy"]
    }

    async fn has_table(&self, db: &DatabaseConnection, table: &str) -> Result<bool, DbErr> {
        let sql = "SELECT COUNT(*) FROM information_schema.tables \
                   WHERE table_schema = DATABASE() AND table_name = ?";
        Ok(query_i64(db, sql, vec![table.into()]).await? > 0)
    }

    async fn drop_everything(
        &self,
        db: &DatabaseConnection,
        keep: &[&str],
    ) -> Result<Vec<String>, DbErr> {
        // The transaction only pins one pooled connection, so the session
        // variable below applies to every DROP; each DROP commits on its own.
        let txn = db.begin().await?;
        txn.execute_unprepared("SET FOREIGN_KEY_CHECKS = 0").await?;
        let rows = txn
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT CAST(IF(table_type = 'VIEW', 'VIEW', 'TABLE') AS CHAR), CAST(table_name AS CHAR) \
                 FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1 DESC, 2",
            ))
            .await?;
        let mut dropped = Vec::new();
        for row in rows {
            let kind: String = row.try_get_by_index(0)?;
            let name: String = row.try_get_by_index(1)?;
            if keep.contains(&name.as_str()) {
                continue;
            }
            let quoted = name.replace('`', "``");
            txn.execute_unprepared(&format!("DROP {kind} IF EXISTS `{quoted}`"))
                .await?;
            dropped.push(format!("{} {name}", kind.to_lowercase()));
        }
        txn.execute_unprepared("SET FOREIGN_KEY_CHECKS = 1").await?;
        txn.commit().await?;
        Ok(dropped)
    }

    /// A MySQL/MariaDB URL must name its database: without one the session
    /// has none selected, and every migration fails with error 1046.
    fn prepare_connect(&self, url: &str) -> Result<()> {
        match crate::url::database_name(url) {
            Some(_) => Ok(()),
            None => Err(Error::BadUrl {
                url: mask(url),
                reason: "it names no database: add one to the path, e.g. \
                         mysql://user:password@localhost:3306/app"
                    .into(),
            }),
        }
    }

    async fn connect_once(&self, url: &str) -> std::result::Result<(), sqlx::Error> {
        MySqlConnection::connect(url).await?.close().await
    }

    /// Errors 1044/1045/1698 (access denied: user, password, authentication
    /// plugin) and 1049 (unknown database).
    /// <https://mariadb.com/kb/en/mariadb-error-code-reference/>
    fn rejection_fix(&self, error: &dyn sqlx::error::DatabaseError) -> Option<&'static str> {
        let number = error
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()?
            .number();
        match number {
            1049 => Some(
                "create the database (CREATE DATABASE as a user that may), or name one that \
                 exists in the URL's path",
            ),
            1044 | 1045 | 1698 => Some(
                "check the user name and password in the URL (a password with @ : / ? # % must be \
                 percent-encoded), and that this user may connect from this host and use the \
                 database (GRANT)",
            ),
            _ => None,
        }
    }

    async fn reflect(&self, db: &DatabaseExecutor<'_>, exclude: &[&str]) -> Result<Schema, DbErr> {
        reflect::reflect(db, exclude).await
    }

    async fn create_database(&self, admin_url: &str, name: &str) -> Result<String, DbErr> {
        let admin = sea_orm::Database::connect(admin_url).await?;
        admin
            .execute_unprepared(&format!(
                "CREATE DATABASE `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                name.replace('`', "``")
            ))
            .await?;
        admin.close().await?;
        Ok(with_database(admin_url, name))
    }

    async fn drop_database(&self, admin_url: &str, name: &str) -> Result<(), DbErr> {
        let admin = sea_orm::Database::connect(admin_url).await?;
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS `{}`",
                name.replace('`', "``")
            ))
            .await?;
        admin.close().await
    }

    fn to_sql(&self, stmt: Sql<'_>) -> String {
        stmt.render(MysqlQueryBuilder)
    }

    fn col_type_of(&self, ct: &ColumnType) -> ColType {
        types::col_type_of(ct)
    }

    fn quote_ident(&self, name: &str) -> String {
        format!("`{}`", name.replace('`', "``"))
    }

    fn backslash_escapes(&self) -> bool {
        true
    }

    /// MySQL/InnoDB reports an absent clause as `RESTRICT`, treats `RESTRICT`
    /// and `NO ACTION` identically and does not support `SET DEFAULT`
    /// (reported as `RESTRICT`), so `Restrict` and `SetDefault` reflect as
    /// `NoAction` (<https://dev.mysql.com/doc/refman/8.0/en/create-table-foreign-keys.html>).
    fn reflected_fk_action(&self, action: FkAction) -> FkAction {
        match action {
            FkAction::Restrict | FkAction::SetDefault => FkAction::NoAction,
            a => a,
        }
    }

    async fn run_batch(
        &self,
        conn: &DatabaseExecutor<'_>,
        batch: &BatchAlter,
    ) -> Result<(), BatchError> {
        batch::run(conn, batch).await
    }

    fn enum_sql(&self, change: crate::enums::EnumChange<'_>) -> Vec<String> {
        enum_sql(self, change)
    }

    fn table_keys_sql(&self) -> (&'static str, usize) {
        (TABLE_KEYS_SQL, 3)
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

    fn max_bind_params(&self) -> usize {
        // Prepared statements count placeholders in 16 bits.
        65535
    }

    fn bulk_update_sql(&self, table: &str, key: &str, columns: &[String], rows: usize) -> String {
        let first: Vec<String> = std::iter::once("? AS k".to_owned())
            .chain((1..=columns.len()).map(|i| format!("? AS v{i}")))
            .collect();
        let other = format!("SELECT {}", vec!["?"; columns.len() + 1].join(", "));
        let mut selects = vec![format!("SELECT {}", first.join(", "))];
        selects.extend(std::iter::repeat_n(other, rows.saturating_sub(1)));
        let sets: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "{t}.{} = batch_v.v{}",
                    self.quote_ident(c),
                    i + 1,
                    t = self.quote_ident(table)
                )
            })
            .collect();
        format!(
            "UPDATE {t} JOIN ({}) AS batch_v ON {t}.{k} = batch_v.k SET {} WHERE {t}.{k} BETWEEN ? AND ?",
            selects.join(" UNION ALL "),
            sets.join(", "),
            t = self.quote_ident(table),
            k = self.quote_ident(key),
        )
    }

    fn server_identity_sql(&self) -> &'static str {
        "SELECT CONCAT_WS(' | ', VERSION(), @@version_comment, @@sql_mode, \
         @@lower_case_table_names, @@character_set_server, @@collation_server, \
         @@default_storage_engine, @@explicit_defaults_for_timestamp, @@innodb_default_row_format)"
    }

    fn has_table_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
    }

    fn has_column_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?"
    }

    fn create_index_sql(
        &self,
        table: &str,
        index: &crate::batch::IndexSpec,
    ) -> Result<String, String> {
        index::create_index_sql(table, index)
    }

    fn has_index_sql(&self) -> &'static str {
        "SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? AND index_name = ?"
    }
}

/// The table's foreign keys and unique indexes, one row per column in order:
/// see `backend::keys_from_rows`. Text goes through `CONVERT(… USING
/// utf8mb4)`: MariaDB returns some `information_schema` columns as binary.
const TABLE_KEYS_SQL: &str = r#"
SELECT CONCAT(kind, ':', name), name, kind, col, ref_table, ref_col FROM (
  SELECT CONVERT(k.CONSTRAINT_NAME USING utf8mb4) AS name, 'f' AS kind,
         CONVERT(k.COLUMN_NAME USING utf8mb4) AS col,
         CONVERT(k.REFERENCED_TABLE_NAME USING utf8mb4) AS ref_table,
         CONVERT(k.REFERENCED_COLUMN_NAME USING utf8mb4) AS ref_col,
         CAST(k.ORDINAL_POSITION AS SIGNED) AS pos
  FROM information_schema.KEY_COLUMN_USAGE k
  WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
  UNION ALL
  SELECT CONVERT(s.INDEX_NAME USING utf8mb4), 'u', CONVERT(s.COLUMN_NAME USING utf8mb4),
         NULL, NULL, CAST(s.SEQ_IN_INDEX AS SIGNED)
  FROM information_schema.STATISTICS s
  WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 0
    AND s.INDEX_NAME <> 'PRIMARY' AND s.COLUMN_NAME IS NOT NULL
  UNION ALL
  SELECT CONVERT(s.INDEX_NAME USING utf8mb4), 'i', CONVERT(s.COLUMN_NAME USING utf8mb4),
         NULL, NULL, CAST(s.SEQ_IN_INDEX AS SIGNED)
  FROM information_schema.STATISTICS s
  WHERE s.TABLE_SCHEMA = DATABASE() AND s.TABLE_NAME = ? AND s.NON_UNIQUE = 1
    AND s.COLUMN_NAME IS NOT NULL
) tk ORDER BY name, kind, pos
"#;

/// See `Backend::enum_sql`: MySQL/MariaDB keep the labels in each column,
/// so a change re-declares every column that uses the type, with its
/// nullability and its default (dropped when the new labels lack it).
fn enum_sql(my: &MySql, change: crate::enums::EnumChange<'_>) -> Vec<String> {
    let crate::enums::EnumChange::Alter { to, columns, .. } = change else {
        return Vec::new();
    };
    let labels = to
        .iter()
        .map(|l| my.quote_literal(l))
        .collect::<Vec<_>>()
        .join(", ");
    columns
        .iter()
        .map(|c| {
            let mut def = format!(
                "ALTER TABLE {} MODIFY COLUMN {} ENUM({labels}) {}",
                my.quote_ident(&c.table),
                my.quote_ident(&c.column),
                if c.nullable { "NULL" } else { "NOT NULL" }
            );
            if let Some(d) = &c.default
                && crate::schema::unquote_literal(d, true).is_some_and(|v| to.contains(&v))
            {
                def.push_str(&format!(" DEFAULT {d}"));
            }
            def
        })
        .collect()
}
