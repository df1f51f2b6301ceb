//! PostgreSQL: transactional DDL, a transaction-level advisory lock on a dedicated connection.

pub mod batch;
mod index;
mod pooled;
pub(crate) mod reflect;
mod types;

use super::Dialect;
use super::{
    Backend, LockSession, MigrationLock, OnWait, Pooler, ScratchPlace, Sql, hold, lock_key,
    query_i64, with_database,
};
use crate::batch::{BatchAlter, BatchError};
use crate::error::{Error, Result};
use crate::schema::{ColType, Schema};
use crate::url::mask;
use async_trait::async_trait;
use sea_orm::DatabaseExecutor;
use sea_orm::sea_query::{ColumnType, PostgresQueryBuilder};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{self, Connection};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DatabaseTransaction, DbErr,
    TransactionTrait,
};
use std::time::Duration;

/// PostgreSQL.
pub struct Postgres;

/// `name` as a double-quoted identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// First half of the advisory lock key; the second half hashes the tracking
/// table's name. Advisory locks are scoped to the current database
/// (<https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS>).
const LOCK_CLASS: i32 = 0x5EA0_0001;

/// The `application_name` of this process's migration connections (unless
/// the URL names one): how the lock's heartbeat finds them.
fn migration_app_name() -> String {
    format!("migration (pid {})", std::process::id())
}

/// A transaction-level advisory lock, held by a connection of its own that
/// keeps its transaction open for the whole run.
///
/// A dedicated connection, not a pooled one: a pooled connection could go
/// back to the pool with the lock still held and wedge every later start (a
/// known sqlx pitfall). A transaction-level lock, not a session-level one:
/// an open transaction pins one server connection even behind a pooler in
/// transaction mode (PgBouncer, Supavisor, Neon's pooler), where a session
/// lock is taken on one server connection and "released" on another
/// (<https://www.pgbouncer.org/features.html>). The server releases it
/// when the transaction ends, the connection drops or the process dies.
/// Everything on this connection uses the simple query protocol, with no
/// prepared statement a pooler could hand to another client.
struct AdvisoryLock {
    conn: PgConnection,
    key: i32,
    /// Server processes already reported as blocking the migration.
    reported: std::collections::HashSet<String>,
    /// Whether the connection is inside the transaction that holds the lock.
    in_transaction: bool,
    heartbeat: Duration,
}

impl AdvisoryLock {
    /// The first column of the first row `sql` returns, as text.
    async fn scalar(&mut self, sql: &str) -> std::result::Result<Option<String>, sqlx::Error> {
        use sqlx::Row;
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut self.conn)
            .await?;
        Ok(rows
            .iter()
            .rev()
            .find_map(|r| r.try_get::<Option<String>, _>(0).ok().flatten()))
    }

    /// How often to prove the lock: often enough that neither of the
    /// server's idle timeouts reaps this connection.
    async fn read_heartbeat(&mut self) -> Duration {
        let ms = self
            .scalar(
                "SELECT concat_ws(',', \
                 (SELECT setting FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'), \
                 (SELECT setting FROM pg_settings WHERE name = 'idle_session_timeout'))",
            )
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let timeouts: Vec<Duration> = ms
            .split(',')
            .filter_map(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis)
            .collect();
        super::heartbeat_for(&timeouts)
    }
}

impl AdvisoryLock {
    /// Says, once per blocker, which server process the migration's session
    /// has been waiting behind for over 5 s. The usual one is an orphan: a
    /// run killed in the middle of a long statement leaves its server
    /// process running that statement, holding its locks, until it ends
    /// (<https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-CLIENT-CONNECTION-CHECK-INTERVAL>).
    async fn report_blockers(&mut self) {
        let sql = format!(
            "SELECT b.pid::text, format('server pid %s (\"%s\", %s, for %s s: %s)', b.pid, \
             COALESCE(b.application_name, ''), b.state, \
             round(extract(epoch FROM clock_timestamp() - COALESCE(b.query_start, b.state_change))), \
             left(b.query, 200)) \
             FROM pg_stat_activity a CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS x(pid) \
             JOIN pg_stat_activity b ON b.pid = x.pid \
             WHERE a.application_name = '{}' AND a.wait_event_type = 'Lock' \
             AND clock_timestamp() - a.state_change > interval '5 seconds'",
            migration_app_name()
        );
        // This connection stays in one transaction, where the server keeps
        // the first view of pg_stat_activity it gave (drop it first) and
        // `now()` is the transaction's start (hence `clock_timestamp()`).
        let fresh = sqlx::raw_sql("SELECT pg_stat_clear_snapshot()")
            .execute(&mut self.conn)
            .await;
        let rows = match fresh {
            Ok(_) => {
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .fetch_all(&mut self.conn)
                    .await
            }
            Err(e) => Err(e),
        };
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::debug!("looking for what blocks the migration failed: {e}");
                return;
            }
        };
        use sqlx::Row;
        for row in rows {
            let (Ok(pid), Ok(what)) = (row.try_get::<String, _>(0), row.try_get::<String, _>(1))
            else {
                continue;
            };
            if self.reported.insert(pid.clone()) {
                tracing::warn!(
                    "the migration has waited over 5 s for locks held by {what}; if that is a \
                     run that was killed mid-statement, its server process keeps the locks until \
                     the statement ends: `SELECT pg_terminate_backend({pid})` ends it now"
                );
            }
        }
    }
}

fn lock_err(context: &'static str) -> impl Fn(sqlx::Error) -> Error {
    move |e| Error::db(context)(DbErr::Custom(e.to_string()))
}

#[async_trait]
impl LockSession for AdvisoryLock {
    async fn try_acquire(&mut self) -> Result<bool> {
        let got = self
            .scalar(&format!(
                "BEGIN; SELECT pg_try_advisory_xact_lock({LOCK_CLASS}, {})::text",
                self.key
            ))
            .await
            .map_err(lock_err("taking the migration lock"))?;
        self.in_transaction = true;
        if got.as_deref() == Some("true") {
            return Ok(true);
        }
        // Not ours: end the transaction, so that a pooler may use the
        // connection for others while we wait.
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut self.conn)
            .await
            .map_err(lock_err("waiting for the migration lock"))?;
        self.in_transaction = false;
        Ok(false)
    }

    async fn holder(&mut self) -> String {
        let holder = self
            .scalar(&format!(
                "SELECT format(', held by server pid %s (\"%s\" from %s, connected %s%s)', a.pid, \
                 COALESCE(a.application_name, ''), COALESCE(host(a.client_addr), 'local socket'), \
                 to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), \
                 CASE WHEN a.state = 'active' THEN format('; running for %s s: %s', \
                   round(extract(epoch FROM now() - a.query_start)), left(a.query, 200)) ELSE '' END) \
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.database = \
                 (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND l.classid = {LOCK_CLASS}::int4::oid AND l.objid = {}::int4::oid AND l.objsubid = 2",
                self.key
            ))
            .await;
        holder.ok().flatten().unwrap_or_default()
    }

    async fn still_held(&mut self, _txn: Option<&DatabaseTransaction>) -> Result<bool> {
        if !self.in_transaction {
            return Ok(false);
        }
        // A transaction-level lock lasts exactly as long as its transaction,
        // and only we end that (or the server, with the session): the session answering inside it
        // proves the lock (one round trip; reading pg_locks took ~7 ms).
        let held = self
            .scalar("SELECT 'true'")
            .await
            .map_err(lock_err("proving the migration lock"))?;
        Ok(held.as_deref() == Some("true"))
    }

    async fn after_heartbeat(&mut self) {
        self.report_blockers().await;
    }

    async fn unlock(&mut self) -> Result<()> {
        // Ending the transaction releases the lock; closing the connection
        // would too, if the rollback failed.
        let ended = if self.in_transaction {
            sqlx::raw_sql("ROLLBACK")
                .execute(&mut self.conn)
                .await
                .map(|_| ())
        } else {
            Ok(())
        };
        self.in_transaction = false;
        ended.map_err(lock_err("releasing the migration lock"))
    }

    fn heartbeat(&self) -> Option<Duration> {
        Some(self.heartbeat)
    }
}

/// The port the server itself listens on for this connection (none over a
/// Unix socket), asked over the simple protocol: behind a transaction
/// pooler a prepared statement is exactly what fails.
async fn server_port(db: &DatabaseConnection) -> Option<u16> {
    use sqlx::Row;
    let DatabaseConnectionType::SqlxPostgresPoolConnection(_) = &db.inner else {
        return None;
    };
    let row = sqlx::raw_sql("SELECT inet_server_port()::text")
        .fetch_one(db.get_postgres_connection_pool())
        .await
        .ok()?;
    row.try_get::<Option<String>, _>(0).ok()??.parse().ok()
}

#[async_trait]
impl Backend for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
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
        let connect_error = |e: sqlx::Error| Error::Connect {
            url: mask(url),
            attempts: 1,
            source: DbErr::Custom(crate::url::scrub(
                &format!("opening the migration lock connection: {e}"),
                url,
            )),
        };
        let options: PgConnectOptions = plain_on_loopback(url).parse().map_err(connect_error)?;
        let options =
            options.application_name(&format!("migration lock (pid {})", std::process::id()));
        let conn = PgConnection::connect_with(&options)
            .await
            .map_err(connect_error)?;
        let mut lock = AdvisoryLock {
            conn,
            key: lock_key(key),
            reported: Default::default(),
            in_transaction: false,
            heartbeat: Duration::from_secs(10),
        };
        lock.heartbeat = lock.read_heartbeat().await;
        hold(lock, timeout, on_wait).await
    }

    fn tune_connect(&self, options: &mut sea_orm::ConnectOptions) {
        let plain = plain_on_loopback(options.get_url()) != options.get_url();
        options.map_sqlx_postgres_opts(move |o| {
            let o = match o.get_application_name() {
                Some(_) => o,
                None => o.application_name(&migration_app_name()),
            };
            if plain {
                o.ssl_mode(sqlx::postgres::PgSslMode::Disable)
            } else {
                o
            }
        });
    }

    async fn native_lock_usable(&self, db: &DatabaseConnection) -> bool {
        // CockroachDB accepted advisory locks as no-ops for years (#13546;
        // transaction-level ones only landed in 2026), YugabyteDB refuses
        // them or makes them no-ops unless a flag is set (#18954): on either
        // the lock may not exclude a second migrator.
        let version = super::query_text(db, "SELECT version()")
            .await
            .unwrap_or_default();
        !(version.contains("CockroachDB") || version.contains("-YB-"))
    }

    async fn finish_connect(
        &self,
        db: DatabaseConnection,
        url: &str,
        pooler: Pooler,
    ) -> Result<DatabaseConnection> {
        let options: PgConnectOptions =
            plain_on_loopback(url)
                .parse()
                .map_err(|e: sqlx::Error| Error::Connect {
                    url: mask(url),
                    attempts: 1,
                    source: DbErr::Custom(crate::url::scrub(&e.to_string(), url)),
                })?;
        let pooled = match pooler {
            Pooler::Transaction => true,
            Pooler::None => false,
            Pooler::Auto => match server_port(&db).await {
                Some(port) if port != options.get_port() => {
                    tracing::info!(
                        url_port = options.get_port(),
                        server_port = port,
                        "PostgreSQL listens on another port than the URL's: a pooler or proxy is \
                         in between, so statements go over one connection without prepared \
                         statements (MIGRATION_POOLER=none turns this off)"
                    );
                    true
                }
                _ => false,
            },
        };
        if !pooled {
            return Ok(db);
        }
        let simple = pooled::connect(options).await.map_err(|e| Error::Connect {
            url: mask(url),
            attempts: 1,
            source: DbErr::Custom(crate::url::scrub(&e.to_string(), url)),
        })?;
        db.close().await.ok();
        Ok(simple)
    }

    fn named_enum_types(&self) -> bool {
        true
    }

    fn enum_sql(&self, change: crate::enums::EnumChange<'_>) -> Vec<String> {
        enum_sql(self, change)
    }

    fn parse_declared_type(&self, text: &str) -> ColType {
        reflect::parse_type(text)
    }

    fn own_lint_rules(&self) -> &'static [&'static str] {
        // PostgreSQL: besides the common rules, what takes an ACCESS EXCLUSIVE lock for a scan or a rewrite.
        &[
            "column-type-change/rewrite",
            "create-index-blocking",
            "foreign-key-not-valid",
            "check-not-valid",
            "set-not-null",
            "volatile-default",
        ]
    }

    async fn has_table(&self, db: &DatabaseConnection, table: &str) -> Result<bool, DbErr> {
        let sql = "SELECT COUNT(*) FROM information_schema.tables \
                   WHERE table_schema = current_schema() AND table_name = $1";
        Ok(query_i64(db, sql, vec![table.into()]).await? > 0)
    }

    async fn drop_everything(
        &self,
        db: &DatabaseConnection,
        keep: &[&str],
    ) -> Result<Vec<String>, DbErr> {
        let txn = db.begin().await?;
        let backend = db.get_database_backend();
        let rows = txn
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                // Tables and views of the current schema, then its enum/composite
                // types that no extension owns (extensions drop their own).
                "SELECT 'VIEW', table_name::text FROM information_schema.views WHERE table_schema = current_schema() \
                 UNION ALL SELECT 'TABLE', table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 UNION ALL SELECT 'TYPE', t.typname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                 WHERE n.nspname = current_schema() AND t.typtype = 'e' AND NOT EXISTS \
                 (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')",
            ))
            .await?;
        let mut dropped = Vec::new();
        for row in rows {
            let kind: String = row.try_get_by_index(0)?;
            let name: String = row.try_get_by_index(1)?;
            if keep.contains(&name.as_str()) {
                continue;
            }
            let quoted = ident(&name);
            txn.execute_unprepared(&format!("DROP {kind} IF EXISTS {quoted} CASCADE"))
                .await?;
            dropped.push(format!("{} {name}", kind.to_lowercase()));
        }
        txn.commit().await?;
        Ok(dropped)
    }

    async fn connect_once(&self, url: &str) -> std::result::Result<(), sqlx::Error> {
        PgConnection::connect(url).await?.close().await
    }

    /// SQLSTATE class 28 (authentication: a wrong password, no `pg_hba.conf`
    /// entry) and 3D000 (no such database); 57P03 (starting up) may pass.
    /// <https://www.postgresql.org/docs/current/errcodes-appendix.html>
    fn rejection_fix(&self, error: &dyn sqlx::error::DatabaseError) -> Option<&'static str> {
        match error.code()?.as_ref() {
            "3D000" => Some(
                "create the database (`createdb <name>`, or CREATE DATABASE as a user that may), \
                 or name one that exists in the URL's path",
            ),
            code if code.starts_with("28") => Some(
                "check the user name and password in the URL (a password with @ : / ? # % must be \
                 percent-encoded) and that pg_hba.conf lets this user in from this host",
            ),
            _ => None,
        }
    }

    /// `search_path` as the `options` startup parameter (`-c search_path=…`,
    /// percent-encoded), which sqlx passes on every connection it opens.
    fn with_schema(&self, url: &str, schema: &str) -> Option<String> {
        // Quoted unless it is a plain lower-case identifier, so `Tenant A` stays one name.
        let plain = schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !schema.starts_with(|c: char| c.is_ascii_digit());
        let name = if plain {
            schema.to_owned()
        } else {
            format!("\"{}\"", schema.replace('"', "\"\""))
        };
        // The server splits `options` at spaces unless a backslash escapes them.
        let escaped = name.replace('\\', "\\\\").replace(' ', "\\ ");
        let option = format!("-c search_path={escaped}");
        let mut encoded = String::new();
        for b in option.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                encoded.push(char::from(b));
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        Some(format!("{url}{sep}options={encoded}"))
    }

    async fn ensure_schema(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        // `current_schema()` is NULL when no schema of the search path exists.
        if super::query_text(db, "SELECT current_schema()::text")
            .await
            .is_some()
        {
            return Ok(());
        }
        let path = super::query_text(db, "SELECT current_setting('search_path')")
            .await
            .unwrap_or_default();
        let Some(first) = path
            .split(',')
            .map(str::trim)
            .find(|s| !s.is_empty() && *s != "\"$user\"" && *s != "$user")
        else {
            return Ok(());
        };
        let name = first
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .map_or_else(|| first.to_owned(), |s| s.replace("\"\"", "\""));
        db.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS {}", ident(&name)))
            .await
            .map(|_| ())
    }

    /// `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX …
    /// CONCURRENTLY`, `VACUUM`, `CREATE DATABASE`, `ALTER SYSTEM`
    /// (<https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY>).
    fn refuses_transaction_sql(&self, sql: &str) -> bool {
        let words = crate::tokens::tokenize(sql, crate::tokens::Quotes::Standard);
        let first = |kw: &str| words.first().is_some_and(|t| t.is(kw));
        let second = |kw: &str| words.get(1).is_some_and(|t| t.is(kw));
        words.iter().any(|t| t.is("CONCURRENTLY"))
            || first("VACUUM")
            || (first("CREATE") && second("DATABASE"))
            || (first("ALTER") && second("SYSTEM"))
    }

    /// SQLSTATE 25001 `active_sql_transaction`: "… cannot run inside a transaction block".
    fn refuses_transaction(&self, error: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
        error.code().is_some_and(|c| c == "25001")
    }

    async fn reflect(&self, db: &DatabaseExecutor<'_>, exclude: &[&str]) -> Result<Schema, DbErr> {
        reflect::reflect(db, exclude).await
    }

    async fn create_database(&self, admin_url: &str, name: &str) -> Result<String, DbErr> {
        let admin = sea_orm::Database::connect(admin_url).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {}", ident(name)))
            .await?;
        admin.close().await?;
        Ok(with_database(admin_url, name))
    }

    fn scratch_in_admin_database(&self) -> bool {
        true
    }

    /// The server's `postgres` database, not the one named: an extension
    /// installed in that database's `public`, beside its tables, is
    /// invisible to a scratch schema there (which keeps `public` off its
    /// search path).
    fn scratch_server_for(&self, url: &str) -> Option<String> {
        Some(crate::url::with_database(url, "postgres"))
    }

    /// Without TLS to a loopback address when the URL does not ask for it:
    /// nothing leaves the machine, and sqlx 0.9.0 sends TLS records without
    /// `TCP_NODELAY`, so each statement can wait for a delayed ACK
    /// (transact-rs/sqlx#4335); building 300 tables took 2-3x as long with TLS
    /// as without, measured on this project's W3 benchmark.
    fn scratch_connect_url(&self, admin_url: &str) -> String {
        plain_on_loopback(admin_url)
    }

    /// The session's temporary schema first: 300 tables with an index and a
    /// foreign key each take 0.6 s there against 6.5 s in a regular schema
    /// (`psql`, same DDL, rolled back, measured on this project's W3
    /// schema, on this 2-core machine while a build ran): temporary relations
    /// write no WAL and live in the session's local buffers. What cannot live
    /// there (functions
    /// called unqualified, `CREATE EXTENSION`, unlogged tables, materialized
    /// views over temporary tables) fails the side, which is then rebuilt in
    /// a schema of its own.
    /// <https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATH>
    fn scratch_places(&self) -> &'static [ScratchPlace] {
        &[ScratchPlace::Temporary, ScratchPlace::Schema]
    }

    /// `SET LOCAL search_path` to the temporary schema alone (unqualified
    /// names are created there and `current_schema()`, which reflection
    /// reads, names it), or `CREATE SCHEMA` and the search path set to it
    /// alone; either way an unqualified name can never reach another schema,
    /// and all of it ends with the transaction's rollback.
    async fn enter_scratch(
        &self,
        txn: &DatabaseTransaction,
        name: &str,
        place: ScratchPlace,
    ) -> Result<(), DbErr> {
        let visible = extension_schemas(txn, false).await?;
        let path = |first: String| {
            std::iter::once(first)
                .chain(visible.iter().map(|s| ident(s)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sql = match place {
            ScratchPlace::Temporary => {
                format!("SET LOCAL search_path TO {}", path("pg_temp".into()))
            }
            ScratchPlace::Schema => {
                let quoted = ident(name);
                format!(
                    "CREATE SCHEMA {quoted}; SET LOCAL search_path TO {}",
                    path(quoted.clone())
                )
            }
        };
        txn.execute_unprepared(&sql).await.map(|_| ())
    }

    async fn scratch_blind_spots(&self, admin_url: &str) -> Vec<String> {
        let Ok(admin) = sea_orm::Database::connect(&self.scratch_connect_url(admin_url)).await
        else {
            return Vec::new();
        };
        let spots = extension_schemas(&admin, true).await.unwrap_or_default();
        let _ = admin.close().await;
        spots
    }

    /// A schema in the admin database, not a database: `CREATE DATABASE` copies
    /// a template and `DROP DATABASE` waits for a checkpoint, while a schema is
    /// a catalog row. The URL puts the schema alone on the `search_path` (so an
    /// unqualified name can never reach another schema) and turns off
    /// `synchronous_commit` for its sessions: a scratch schema is thrown away,
    /// so its commits need not wait for the WAL flush
    /// (<https://www.postgresql.org/docs/current/wal-async-commit.html>).
    async fn create_scratch(&self, admin_url: &str, name: &str) -> Result<String, DbErr> {
        let admin_url = &self.scratch_connect_url(admin_url);
        let admin = sea_orm::Database::connect(admin_url).await?;
        admin
            .execute_unprepared(&format!("CREATE SCHEMA {}", ident(name)))
            .await?;
        let visible = extension_schemas(&admin, false).await?;
        admin.close().await?;
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let path: Vec<String> = std::iter::once(ident(name))
            .chain(visible.iter().map(|s| ident(s)))
            .collect();
        Ok(format!(
            "{admin_url}{separator}options[search_path]={}&options[synchronous_commit]=off",
            path.join(",")
        ))
    }

    async fn drop_scratch(&self, admin_url: &str, name: &str) -> Result<(), DbErr> {
        let admin = sea_orm::Database::connect(admin_url).await?;
        admin
            .execute_unprepared(&format!("DROP SCHEMA IF EXISTS {} CASCADE", ident(name)))
            .await?;
        admin.close().await
    }

    async fn drop_database(&self, admin_url: &str, name: &str) -> Result<(), DbErr> {
        let admin = sea_orm::Database::connect(admin_url).await?;
        // FORCE (PostgreSQL 13+) ends sessions a failed test may have left open.
        admin
            .execute_unprepared(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                ident(name)
            ))
            .await?;
        admin.close().await
    }

    fn to_sql(&self, stmt: Sql<'_>) -> String {
        stmt.render(PostgresQueryBuilder)
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

    fn max_bind_params(&self) -> usize {
        // The wire protocol counts parameters in 16 bits.
        65535
    }

    fn bulk_update_sql(&self, table: &str, key: &str, columns: &[String], rows: usize) -> String {
        let width = columns.len() + 1;
        let values: Vec<String> = (0..rows)
            .map(|r| {
                let params: Vec<String> =
                    (1..=width).map(|c| format!("${}", r * width + c)).collect();
                format!("({})", params.join(", "))
            })
            .collect();
        let names: Vec<String> = (1..=columns.len()).map(|i| format!("v{i}")).collect();
        let sets: Vec<String> = columns
            .iter()
            .zip(&names)
            .map(|(c, v)| format!("{} = batch_v.{v}", self.quote_ident(c)))
            .collect();
        let n = rows * width;
        format!(
            "UPDATE {t} SET {} FROM (VALUES {}) AS batch_v(k, {}) WHERE {t}.{k} = batch_v.k AND {t}.{k} BETWEEN ${} AND ${}",
            sets.join(", "),
            values.join(", "),
            names.join(", "),
            n + 1,
            n + 2,
            t = self.quote_ident(table),
            k = self.quote_ident(key),
        )
    }

    fn server_identity_sql(&self) -> &'static str {
        "SELECT concat_ws(' | ', version(), current_database(), \
         (SELECT datcollate || ' ' || datctype FROM pg_database WHERE datname = current_database()), \
         current_setting('server_encoding'), \
         (SELECT string_agg(extname || ' ' || extversion || ' ' || extnamespace::regnamespace::text, ',' ORDER BY extname) FROM pg_extension))"
    }

    fn has_table_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
    }

    fn has_column_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2"
    }

    fn create_index_sql(
        &self,
        table: &str,
        index: &crate::batch::IndexSpec,
    ) -> Result<String, String> {
        index::create_index_sql(table, index)
    }

    fn has_index_sql(&self) -> &'static str {
        "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexname = $2"
    }
}

/// The table's foreign keys and unique keys (constraints and unique indexes
/// without expressions or predicates), one row per column in order: see
/// `backend::keys_from_rows`.
/// The schemas extensions live in, and whether each also holds relations of
/// its own (not an extension's): the scratch search path adds those that do
/// not, so that `gin_trgm_ops` of a `pg_trgm` installed in `public` resolves
/// while no migration can reach a table outside the scratch schema.
const EXTENSION_SCHEMAS_SQL: &str = r#"
SELECT n.nspname::text AS schema_name,
       string_agg(e.extname::text, ', ' ORDER BY e.extname) AS extensions,
       EXISTS (SELECT 1 FROM pg_catalog.pg_class c
               WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                 WHERE d.classid = 'pg_catalog.pg_class'::regclass
                                   AND d.objid = c.oid AND d.deptype = 'e')) AS holds_relations
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
GROUP BY n.oid, n.nspname
ORDER BY n.nspname
"#;

/// With `blind` false, the schemas of [`EXTENSION_SCHEMAS_SQL`] a scratch
/// search path may add; with `blind`, descriptions of those it may not.
async fn extension_schemas<C: ConnectionTrait>(
    conn: &C,
    blind: bool,
) -> Result<Vec<String>, DbErr> {
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            EXTENSION_SCHEMAS_SQL,
        ))
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let schema: String = row.try_get("", "schema_name")?;
        let extensions: String = row.try_get("", "extensions")?;
        let holds: bool = row.try_get("", "holds_relations")?;
        match (blind, holds) {
            (false, false) => out.push(schema),
            (true, true) => out.push(format!(
                "extension(s) {extensions} in schema `{schema}`, which also holds tables (kept \
                 off the scratch search path so that no migration reaches them)"
            )),
            _ => {}
        }
    }
    Ok(out)
}

const TABLE_KEYS_SQL: &str = r#"
SELECT id, name, kind, col, ref_table, ref_col FROM (
  SELECT 'c:' || c.conname::text AS id, c.conname::text AS name,
         CASE c.contype WHEN 'f' THEN 'f' ELSE 'u' END AS kind,
         a.attname::text AS col, rt.relname::text AS ref_table, ra.attname::text AS ref_col,
         k.ord AS pos
  FROM pg_constraint c
  CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
  LEFT JOIN pg_class rt ON rt.oid = c.confrelid
  LEFT JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[k.ord]
  WHERE c.conrelid = quote_ident($1)::regclass AND c.contype IN ('f', 'u')
  UNION ALL
  SELECT 'i:' || i.relname::text, i.relname::text, 'u', a.attname::text, NULL, NULL, k.ord
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
  WHERE x.indrelid = quote_ident($1)::regclass AND x.indisunique AND NOT x.indisprimary
    AND x.indexprs IS NULL AND x.indpred IS NULL
    AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
  UNION ALL
  SELECT 'x:' || i.relname::text, i.relname::text, 'i', a.attname::text, NULL, NULL, k.ord
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
  WHERE x.indrelid = quote_ident($1)::regclass AND NOT x.indisunique
    AND x.indexprs IS NULL AND x.indpred IS NULL AND k.ord <= x.indnkeyatts
) tk ORDER BY id, pos
"#;

/// See `Backend::enum_sql`: labels only added are `ADD VALUE`s (placed
/// from the last one back, so that each `BEFORE` label already exists);
/// anything else re-creates the type, which is how labels are removed or
/// reordered (`ALTER TYPE` cannot): rename the old type, create the new
/// one, cast every column (its default dropped around the cast and set
/// again when the new type still has it), drop the old type.
fn enum_sql(pg: &Postgres, change: crate::enums::EnumChange<'_>) -> Vec<String> {
    use crate::enums::EnumChange;
    let q = |n: &str| pg.quote_ident(n);
    let labels = |v: &[String]| {
        v.iter()
            .map(|l| pg.quote_literal(l))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match change {
        EnumChange::Create { name, values } => {
            vec![format!(
                "CREATE TYPE {} AS ENUM ({})",
                q(name),
                labels(values)
            )]
        }
        EnumChange::Drop { name } => vec![format!("DROP TYPE {}", q(name))],
        EnumChange::Alter { name, from, to, .. } if crate::enums::only_added(from, to) => {
            let mut out = Vec::new();
            for (i, label) in to.iter().enumerate().rev() {
                if from.contains(label) {
                    continue;
                }
                out.push(match to.get(i + 1) {
                    Some(next) => format!(
                        "ALTER TYPE {} ADD VALUE {} BEFORE {}",
                        q(name),
                        pg.quote_literal(label),
                        pg.quote_literal(next)
                    ),
                    None => format!(
                        "ALTER TYPE {} ADD VALUE {}",
                        q(name),
                        pg.quote_literal(label)
                    ),
                });
            }
            out
        }
        EnumChange::Alter {
            name, to, columns, ..
        } => {
            let old = format!("{name}__old");
            let mut sql = vec![
                format!("ALTER TYPE {} RENAME TO {}", q(name), q(&old)),
                format!("CREATE TYPE {} AS ENUM ({})", q(name), labels(to)),
            ];
            for c in columns {
                let (t, col) = (q(&c.table), q(&c.column));
                if c.default.is_some() {
                    sql.push(format!("ALTER TABLE {t} ALTER COLUMN {col} DROP DEFAULT"));
                }
                sql.push(format!(
                    "ALTER TABLE {t} ALTER COLUMN {col} TYPE {n} USING {col}::text::{n}",
                    n = q(name)
                ));
                if let Some(d) = &c.default
                    && crate::schema::unquote_literal(d, false).is_some_and(|v| to.contains(&v))
                {
                    sql.push(format!(
                        "ALTER TABLE {t} ALTER COLUMN {col} SET DEFAULT {d}"
                    ));
                }
            }
            sql.push(format!("DROP TYPE {}", q(&old)));
            sql
        }
    }
}

/// `url` without TLS when it reaches a loopback address and does not ask
/// for TLS (no `sslmode`): nothing leaves the machine, and the TLS handshake
/// costs two delayed-ACK stalls of about 45 ms per connection under sqlx
/// 0.9.0, which sets no `TCP_NODELAY` before it (transact-rs/sqlx#4335; see
/// docs/benchmarks.md). A URL with `sslmode=` is kept as written.
fn plain_on_loopback(url: &str) -> String {
    let host = url
        .split_once("://")
        .map(|(_, rest)| rest.rsplit_once('@').map_or(rest, |(_, h)| h))
        .unwrap_or_default();
    let host = host.split(['/', '?']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
    if !loopback || url.contains("sslmode=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

#[cfg(test)]
mod tests {
    use super::plain_on_loopback;

    #[test]
    fn loopback_without_sslmode_goes_without_tls() {
        for (url, want) in [
            (
                "postgres://u:p@127.0.0.1:5432/db",
                "postgres://u:p@127.0.0.1:5432/db?sslmode=disable",
            ),
            (
                "postgres://localhost/db?application_name=a",
                "postgres://localhost/db?application_name=a&sslmode=disable",
            ),
            (
                "postgres://u@[::1]:5432/db",
                "postgres://u@[::1]:5432/db?sslmode=disable",
            ),
            // Asked for, or not loopback: as written.
            (
                "postgres://u@127.0.0.1/db?sslmode=require",
                "postgres://u@127.0.0.1/db?sslmode=require",
            ),
            (
                "postgres://u@db.example.com/db",
                "postgres://u@db.example.com/db",
            ),
            (
                "postgres://u:a@127.0.0.1@db.example.com/db",
                "postgres://u:a@127.0.0.1@db.example.com/db",
            ),
        ] {
            assert_eq!(plain_on_loopback(url), want);
        }
    }
}
