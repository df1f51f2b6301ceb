//! The floor: the synthetic history's SQL executed over one bare sqlx connection.
//!
//! No engine, no pool, no lock, no catalog queries: the tracking table, then per
//! migration `BEGIN`, `CREATE TABLE`, `CREATE INDEX`, the tracking `INSERT` and
//! `COMMIT`, each sent as plain text. In `--read` mode it only reads the
//! tracking table, the least a no-op `up` or `status` must do.

use crate::synthetic;
use migration_core::url::Dialect;
use sea_orm::sea_query::{
    MysqlQueryBuilder, PostgresQueryBuilder, QueryBuilder, SchemaBuilder, SqliteQueryBuilder,
};
use sea_orm::sqlx::mysql::MySqlConnection;
use sea_orm::sqlx::postgres::PgConnection;
use sea_orm::sqlx::sqlite::SqliteConnection;
use sea_orm::sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};
use std::error::Error;
use std::time::Instant;

/// What the floor process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply migrations `0..n` to an empty database.
    Apply,
    /// Read every row of the tracking table.
    Read,
}

/// Runs the floor against `url` (the one place that picks types per backend).
///
/// # Errors
/// A connection or SQL error.
pub async fn run(url: &str, revisions: usize, mode: Mode) -> Result<(), Box<dyn Error>> {
    match Dialect::from_url(url)? {
        Dialect::Sqlite => {
            run_with::<SqliteConnection, SqliteQueryBuilder>(url, revisions, mode).await
        }
        Dialect::Postgres => {
            run_with::<PgConnection, PostgresQueryBuilder>(url, revisions, mode).await
        }
        Dialect::MySql => {
            run_with::<MySqlConnection, MysqlQueryBuilder>(url, revisions, mode).await
        }
    }
}

async fn run_with<C, B>(url: &str, revisions: usize, mode: Mode) -> Result<(), Box<dyn Error>>
where
    C: Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    B: QueryBuilder + SchemaBuilder + Default,
{
    let options: C::Options = url.parse()?;
    let mut conn = C::connect_with(&options.disable_statement_logging()).await?;
    match mode {
        Mode::Read => {
            let rows = conn
                .fetch_all(sql(synthetic::tracking_select().to_string(B::default())))
                .await?;
            drop(rows);
        }
        Mode::Apply => {
            conn.execute(sql(synthetic::tracking_table().to_string(B::default())))
                .await?;
            for i in 0..revisions {
                let started = Instant::now();
                conn.execute("BEGIN").await?;
                conn.execute(sql(synthetic::create_table(i).to_string(B::default())))
                    .await?;
                conn.execute(sql(synthetic::create_index(i).to_string(B::default())))
                    .await?;
                let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
                conn.execute(sql(
                    synthetic::tracking_insert(i, ms).to_string(B::default())
                ))
                .await?;
                conn.execute("COMMIT").await?;
            }
        }
    }
    conn.close().await?;
    Ok(())
}

fn sql(text: String) -> AssertSqlSafe<String> {
    AssertSqlSafe(text)
}
