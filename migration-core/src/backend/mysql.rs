//! MySQL/MariaDB: DDL commits implicitly; `GET_LOCK` on a dedicated connection.

use super::{Backend, LockAttempt, MigrationLock, OnWait, poll_lock, query_i64, with_database};
use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::url::{Dialect, mask};
use async_trait::async_trait;
use sea_orm::sqlx::mysql::MySqlConnection;
use sea_orm::sqlx::{self, Connection};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use std::time::Duration;

/// MySQL and MariaDB.
pub(super) struct MySql;

/// A named lock from `GET_LOCK`, held by a connection of its own.
///
/// Named locks are server-wide, so the name includes the database; the server
/// releases them when the session ends
/// (<https://mariadb.com/kb/en/get_lock/>), so a killed process cannot leave one behind.
struct NamedLock {
    conn: MySqlConnection,
    name: String,
}

#[async_trait]
impl LockAttempt for NamedLock {
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
}

#[async_trait]
impl MigrationLock for NamedLock {
    async fn release(mut self: Box<Self>) -> Result<()> {
        let released: Result<Option<i64>, _> = sqlx::query_scalar("SELECT RELEASE_LOCK(?)")
            .bind(&self.name)
            .fetch_one(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
        released
            .map(|_| ())
            .map_err(|e| Error::db("releasing the migration lock")(DbErr::Custom(e.to_string())))
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
                source: DbErr::Custom(format!("opening the migration lock connection: {e}")),
            })?;
        // Lock names are limited to 64 characters; a SHA1 of database + key fits.
        let name: String =
            sqlx::query_scalar("SELECT SHA1(CONCAT('migration-lock:', DATABASE(), ':', ?))")
                .bind(key)
                .fetch_one(&mut conn)
                .await
                .map_err(sqlx_err("naming the migration lock"))?;
        let mut lock = NamedLock { conn, name };
        poll_lock(&mut lock, timeout, on_wait).await?;
        Ok(Box::new(lock))
    }

    async fn has_table(&self, db: &DatabaseConnection, table: &str) -> Result<bool, DbErr> {
        let sql = "SELECT COUNT(*) FROM information_schema.tables \
                   WHERE table_schema = DATABASE() AND table_name = ?";
        Ok(query_i64(db, sql, vec![table.into()]).await? > 0)
    }

    async fn drop_everything(&self, db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
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
            let quoted = name.replace('`', "``");
            txn.execute_unprepared(&format!("DROP {kind} IF EXISTS `{quoted}`"))
                .await?;
            dropped.push(format!("{} {name}", kind.to_lowercase()));
        }
        txn.execute_unprepared("SET FOREIGN_KEY_CHECKS = 1").await?;
        txn.commit().await?;
        Ok(dropped)
    }

    async fn reflect(&self, db: &DatabaseConnection, exclude: &[&str]) -> Result<Schema, DbErr> {
        crate::schema::mysql::reflect(db, exclude).await
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
}
