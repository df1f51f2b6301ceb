//! The runner: lock, ensure the tracking table, plan, apply and record each step, unlock.

use crate::backend::{self, Backend};
use crate::error::{Error, MigrationError, Result};
use crate::graph::Target;
use crate::history::{History, HistoryRow};
pub use crate::revision::Direction;
use crate::revision::{Migrator, Revision};
use crate::url::{Dialect, mask, scrub};
use futures_util::FutureExt;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use sea_orm_migration::SchemaManager;
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// Progress the runner reports while it works.
#[derive(Debug)]
pub enum Event<'a> {
    /// Another process holds the lock; we wait (reported once).
    LockWaiting(&'a str),
    /// Revisions taken over from sea-orm-migration's table (`seaql_migrations`
    /// unless the project renamed it), named second.
    Adopted(&'a [String], &'a str),
    /// A revision starts.
    Started(&'a Revision, Direction),
    /// A revision finished and was recorded.
    Finished(&'a Revision, Direction, Duration),
    /// Something the operator should know that did not fail the command.
    Warning(&'a str),
}

/// Connection settings for [`Runner::connect`].
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// How long to wait for another migration to release the lock.
    pub lock_timeout: Duration,
    /// How many times to try connecting before giving up.
    pub connect_attempts: u32,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// Size of the connection pool. The runner itself needs one connection
    /// (the lock has its own); a service serving requests wants more.
    pub max_connections: u32,
    /// Ping a pooled connection before handing it out. Off for the CLI: the
    /// ping races sqlx's own ping on release and makes the pool open extra
    /// connections (measured: 2-4 per command instead of 1, ~100 ms each over
    /// TCP with TLS). On for a long-lived service, whose idle connections may
    /// have been closed by the server since.
    pub test_before_acquire: bool,
    /// Pause before the second attempt; doubles each time (capped at 5 s).
    pub connect_backoff: Duration,
    /// Retry also when the server refuses for a reason that only someone
    /// else can change (no such database yet, a user not yet created). Off
    /// for the CLI, which then fails at once with the fix; on for a service
    /// starting beside its database, which another service may still be
    /// creating.
    pub retry_rejected: bool,
    /// How the database is reached: directly or through a transaction
    /// pooler ([`backend::Pooler`]; `auto` finds out).
    pub pooler: backend::Pooler,
    /// Which migration lock to take ([`backend::LockKind`]; `auto`: the
    /// engine's own where it works, else the table lock).
    pub lock: backend::LockKind,
    /// The table lock's lease: a lease whose heartbeat has not moved for
    /// this long is taken over.
    pub lease: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(60),
            connect_attempts: 3,
            connect_timeout: Duration::from_secs(5),
            max_connections: 1,
            test_before_acquire: false,
            connect_backoff: Duration::from_millis(500),
            retry_rejected: false,
            pooler: backend::Pooler::Auto,
            lock: backend::LockKind::Auto,
            lease: Duration::from_secs(30),
        }
    }
}

/// What the tracking table says, checked against the code.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Every row of the tracking table.
    pub rows: Vec<HistoryRow>,
    /// Revisions recorded as applied.
    pub applied: HashSet<String>,
    /// Revisions recorded as failed (MySQL/MariaDB, or a migration without a transaction).
    pub failed: Vec<HistoryRow>,
    /// Applied revisions no migration file defines: the database is ahead of this code.
    pub unknown: Vec<String>,
    /// Applied revisions whose code changed since they were applied.
    pub changed: Vec<String>,
    /// Position of each revision's row in `rows`.
    index: std::collections::HashMap<String, usize>,
}

impl State {
    /// The row for a revision.
    pub fn row(&self, id: &str) -> Option<&HistoryRow> {
        self.index.get(id).map(|&i| &self.rows[i])
    }
}

/// What `stamp` and `repair` changed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Changes {
    /// Rows added.
    pub added: Vec<String>,
    /// Rows removed.
    pub removed: Vec<String>,
    /// Rows whose checksum was re-recorded.
    pub rechecksummed: Vec<String>,
    /// Failed rows put back to applied (a failed `down`).
    pub restored: Vec<String>,
}

/// Opens a pooled connection, retrying with backoff.
///
/// # Errors
/// [`Error::BadUrl`] for a malformed URL (no attempt is made), [`Error::Connect`]
/// when every attempt failed.
pub async fn connect(url: &str, options: &RunnerOptions) -> Result<DatabaseConnection> {
    let dialect = Dialect::from_url(url)?;
    // Before any SQLite connection opens: row transforms run their closures
    // in-engine only on connections that have the function.
    crate::data::install_sqlite_functions();
    backend::of(dialect).prepare_connect(url)?;
    let mut connect_options = ConnectOptions::new(url);
    connect_options
        // sqlx reports each statement it finishes at DEBUG (slow ones too):
        // nothing reaches a subscriber at INFO, and the runner watches what a
        // revision without a transaction sends (`crate::sent`).
        .sqlx_logging(true)
        .sqlx_logging_level(log::LevelFilter::Debug)
        .sqlx_slow_statements_logging_settings(log::LevelFilter::Debug, Duration::from_secs(1))
        .connect_timeout(options.connect_timeout)
        // sqlx keeps retrying a refused connection until the acquire timeout, so
        // this bounds one attempt; our own loop adds the retries and the backoff.
        .acquire_timeout(options.connect_timeout)
        .max_connections(options.max_connections.max(1))
        .test_before_acquire(options.test_before_acquire);
    backend::of(dialect).tune_connect(&mut connect_options);
    let attempts = options.connect_attempts.max(1);
    let mut backoff = options.connect_backoff;
    let mut attempt = 1;
    loop {
        match Database::connect(connect_options.clone()).await {
            Ok(db) => {
                // The pool's first connection is open: before its first
                // statement, no small write of it waits on Nagle.
                crate::nodelay::sweep();
                return backend::of(dialect)
                    .finish_connect(db, url, options.pooler)
                    .await;
            }
            Err(pooled) => {
                // The pool says only that it timed out: one plain attempt
                // tells a server that said no (not retried) from one not up
                // yet, and gives the cause to report.
                // The pool has waited a whole connect timeout already: a
                // server that refuses or rejects answers the probe at once,
                // so a second full wait would only double it for a host
                // that never answers (the message still names the pool's wait).
                let source = match probe(dialect, url, options.connect_timeout).await {
                    Probe::Rejected { source, .. } if options.retry_rejected => source,
                    Probe::Rejected {
                        reason,
                        fix,
                        source,
                    } => {
                        return Err(Error::ConnectRejected {
                            url: mask(url),
                            reason: crate::url::scrub(&reason, url),
                            fix,
                            source: Box::new(crate::url::scrub_err(source, url)),
                        });
                    }
                    Probe::Failed(cause) => cause,
                    Probe::Connected => pooled,
                };
                if attempt >= attempts {
                    return Err(Error::Connect {
                        url: mask(url),
                        attempts,
                        source: crate::url::scrub_err(source, url),
                    });
                }
                let error = crate::url::scrub(&source.to_string(), url);
                tracing::warn!(url = %mask(url), attempt, %error, "database not reachable yet; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
        }
    }
}

/// What one plain connection attempt says about a failed pooled connect.
enum Probe {
    /// The server answered no, for a reason retrying cannot change.
    Rejected {
        reason: String,
        fix: &'static str,
        source: sea_orm::DbErr,
    },
    /// It failed too (refused, timed out, a server starting up): the cause.
    Failed(sea_orm::DbErr),
    /// It worked: the pool's own error stands.
    Connected,
}

async fn probe(dialect: Dialect, url: &str, timeout: Duration) -> Probe {
    let backend = backend::of(dialect);
    let wait = timeout.min(Duration::from_secs(1));
    let err = match tokio::time::timeout(wait, backend.connect_once(url)).await {
        Err(_) => {
            return Probe::Failed(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal(
                format!("no answer within {} s", timeout.as_secs_f32()),
            )));
        }
        Ok(Ok(())) => return Probe::Connected,
        Ok(Err(e)) => e,
    };
    let rejected = match &err {
        sea_orm::sqlx::Error::Database(db) => backend
            .rejection_fix(db.as_ref())
            .map(|fix| (db.message().to_owned(), fix)),
        _ => None,
    };
    let source = sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(err)));
    match rejected {
        Some((reason, fix)) => Probe::Rejected {
            reason,
            fix,
            source,
        },
        None => Probe::Failed(source),
    }
}

/// Where the runner's statements go.
enum Mode {
    /// A live database.
    Live,
    /// A recording connection (offline SQL): no lock, no catalog reads; the
    /// applied revisions are given instead of read.
    Offline {
        applied: HashSet<String>,
        script: crate::offline::Script,
    },
}

/// Applies and reverts revisions against one database.
pub struct Runner<'m> {
    migrator: &'m Migrator,
    mode: Mode,
    db: DatabaseConnection,
    url: String,
    backend: &'static dyn Backend,
    history: History,
    options: RunnerOptions,
    progress: Box<dyn Fn(Event<'_>) + Send + Sync + 'm>,
    /// The migration lock while a command holds it, for the proofs before
    /// each commit.
    lock: tokio::sync::Mutex<Option<Box<dyn backend::MigrationLock>>>,
    /// When the lock was last proven.
    proven: std::sync::Mutex<Option<Instant>>,
    /// What the revision running without a transaction has sent.
    sent: crate::sent::Sent,
}

impl<'m> Runner<'m> {
    /// Connects to `url` (with retries) and prepares a runner.
    ///
    /// # Errors
    /// See [`connect`].
    pub async fn connect(
        migrator: &'m Migrator,
        url: &str,
        options: RunnerOptions,
    ) -> Result<Self> {
        let db = connect(url, &options).await?;
        Self::with_connection(migrator, db, url, options)
    }

    /// A runner over an existing connection; `url` is used for the lock's own connection.
    ///
    /// # Errors
    /// [`Error::BadUrl`] if `url` names no known backend.
    pub fn with_connection(
        migrator: &'m Migrator,
        db: DatabaseConnection,
        url: &str,
        options: RunnerOptions,
    ) -> Result<Self> {
        let backend = backend::of(Dialect::from_url(url)?);
        Ok(Self {
            migrator,
            mode: Mode::Live,
            db,
            url: url.to_string(),
            backend,
            history: History::new(migrator.history_table())
                .adopting(migrator.sea_orm_migration_table()),
            options,
            progress: Box::new(|_| {}),
            lock: tokio::sync::Mutex::new(None),
            proven: std::sync::Mutex::new(None),
            sent: crate::sent::Sent::new(),
        })
    }

    /// A runner that records the SQL it would run instead of running it, as if
    /// the database had exactly the `applied` revisions (`up --sql`).
    pub fn offline(
        migrator: &'m Migrator,
        dialect: Dialect,
        applied: HashSet<String>,
    ) -> (Self, crate::offline::Script) {
        let (db, script) = crate::offline::recording_connection(dialect.db_backend());
        let runner = Self {
            migrator,
            mode: Mode::Offline {
                applied,
                script: script.clone(),
            },
            db,
            url: String::new(),
            backend: backend::of(dialect),
            history: History::new(migrator.history_table())
                .adopting(migrator.sea_orm_migration_table()),
            options: RunnerOptions::default(),
            progress: Box::new(|_| {}),
            lock: tokio::sync::Mutex::new(None),
            proven: std::sync::Mutex::new(None),
            sent: crate::sent::Sent::new(),
        };
        (runner, script)
    }

    /// Offline: builds a copy of the schema the applied revisions produce
    /// and gives it to the script, so that a batch alter that needs a table's
    /// current definition (a SQLite rebuild, a MySQL `MODIFY COLUMN`) writes
    /// it from there instead of a marked part. The copy is in memory where
    /// the engine has that (SQLite), else, where the engine needs one
    /// ([`Backend::offline_needs_copy`]), a scratch database on `server`
    /// (dropped by [`Script::drop_shadow`]). Returns whether the copy was
    /// built (a revision failing on an empty copy leaves none).
    ///
    /// # Errors
    /// The scratch database cannot be created on `server`: the message says
    /// how to pass another.
    pub async fn prepare_shadow(&self, server: Option<&str>) -> Result<bool> {
        let Mode::Offline { applied, script } = &self.mode else {
            return Ok(false);
        };
        let conn = match (self.backend.memory_url(), server) {
            (Some(url), _) => match sea_orm::Database::connect(url).await {
                Ok(conn) => conn,
                Err(_) => return Ok(false),
            },
            (None, Some(server)) if self.backend.offline_needs_copy() => {
                let name = format!(
                    "offline_copy_{}_{}",
                    std::process::id(),
                    chrono::Utc::now().timestamp_micros()
                );
                let cannot = |e: sea_orm::DbErr| {
                    Error::Usage(format!(
                        "cannot create the scratch database for the offline copy on {} ({}); pass \
                         a server where this user may create databases with --scratch-url (or \
                         MIGRATION_SCRATCH_URL), or leave it out to get the parts that need the \
                         tables' definitions marked `-- OFFLINE:`",
                        mask(server),
                        scrub(&e.to_string(), server)
                    ))
                };
                let url = self
                    .backend
                    .create_scratch(server, &name)
                    .await
                    .map_err(cannot)?;
                let conn = match sea_orm::Database::connect(&url).await {
                    Ok(conn) => conn,
                    Err(e) => {
                        let _ = self.backend.drop_scratch(server, &name).await;
                        return Err(cannot(e));
                    }
                };
                script
                    .attach_scratch_shadow(conn.clone(), self.backend.dialect(), server, &name)
                    .await;
                conn
            }
            _ => return Ok(false),
        };
        let order = match self
            .migrator
            .graph()
            .plan_upgrade(&Default::default(), &Target::Heads)
        {
            Ok(order) => order,
            Err(_) => {
                script.drop_shadow().await;
                return Ok(false);
            }
        };
        for id in order.iter().filter(|id| applied.contains(*id)) {
            let Some(rev) = self.migrator.revision(id) else {
                script.drop_shadow().await;
                return Ok(false);
            };
            if guarded(rev, Direction::Up, SchemaManager::new(&conn))
                .await
                .is_err()
            {
                script.drop_shadow().await;
                return Ok(false);
            }
        }
        // A scratch copy is attached already (so that it is dropped on every
        // path); nothing was recorded since.
        if self.backend.memory_url().is_some() {
            script.attach_shadow(conn).await;
        }
        Ok(true)
    }

    /// Reports progress to `progress` (the CLI prints it, the app logs it).
    pub fn on_progress(mut self, progress: impl Fn(Event<'_>) + Send + Sync + 'm) -> Self {
        self.progress = Box::new(progress);
        self
    }

    /// The pooled connection.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The backend behind the URL.
    pub fn backend(&self) -> &dyn Backend {
        self.backend
    }

    /// The migrator.
    pub fn migrator(&self) -> &'m Migrator {
        self.migrator
    }

    /// Reads the tracking table (without creating it) and checks it against the code.
    ///
    /// # Errors
    /// A database error.
    pub async fn state(&self) -> Result<State> {
        if let Mode::Offline { applied, .. } = &self.mode {
            let rows = applied
                .iter()
                .map(|id| {
                    HistoryRow::applied(
                        id,
                        0,
                        self.migrator
                            .revision(id)
                            .map_or("", |r| r.checksum.as_str()),
                    )
                })
                .collect();
            return Ok(self.state_of(rows));
        }
        let rows = self.history.read(&self.db, self.backend).await?;
        Ok(self.state_of(rows))
    }

    fn state_of(&self, rows: Vec<HistoryRow>) -> State {
        let mut state = State::default();
        for row in &rows {
            match self.migrator.revision(&row.revision) {
                _ if row.is_failed() => state.failed.push(row.clone()),
                None => {
                    state.unknown.push(row.revision.clone());
                    state.applied.insert(row.revision.clone());
                }
                Some(rev) => {
                    if row.checksum.as_deref().is_some_and(|c| c != rev.checksum) {
                        state.changed.push(row.revision.clone());
                    }
                    state.applied.insert(row.revision.clone());
                }
            }
        }
        state.index = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.revision.clone(), i))
            .collect();
        state.rows = rows;
        state
    }

    /// Revisions `up heads` would apply, in order.
    ///
    /// # Errors
    /// A database error, or the database is ahead of the code.
    pub async fn pending(&self) -> Result<Vec<String>> {
        let state = self.state().await?;
        Ok(self
            .migrator
            .graph()
            .plan_upgrade(&state.applied, &Target::Heads)?)
    }

    /// Applies revisions up to `target`; returns the revisions applied.
    ///
    /// # Errors
    /// An invalid target, a changed or failed revision, the lock timing out, or
    /// a migration failing (earlier revisions of the run stay applied).
    pub async fn upgrade(&self, target: &Target) -> Result<Vec<String>> {
        self.locked(async || self.upgrade_locked(target).await)
            .await
    }

    /// Reverts revisions down to `target`; returns the revisions reverted.
    ///
    /// # Errors
    /// As [`Runner::upgrade`].
    pub async fn downgrade(&self, target: &Target) -> Result<Vec<String>> {
        self.locked(async || self.downgrade_locked(target).await)
            .await
    }

    /// Records the state `target` describes without running any migration.
    ///
    /// With `purge`, rows that no migration defines are removed too.
    ///
    /// # Errors
    /// An invalid target, or unknown rows without `purge`.
    pub async fn stamp(&self, target: &Target, purge: bool) -> Result<Changes> {
        self.locked(async || {
            self.ensure_table().await?;
            let state = self.state().await?;
            if !purge && !state.unknown.is_empty() {
                self.migrator.graph().check_applied(&state.applied)?;
            }
            let wanted = self.migrator.graph().plan_stamp(target)?;
            let mut changes = Changes::default();
            let txn = self
                .db
                .begin()
                .await
                .map_err(Error::db("starting the stamp transaction"))?;
            for row in &state.rows {
                if !wanted.contains(&row.revision) || row.is_failed() {
                    self.history.delete(&txn, &row.revision).await?;
                    changes.removed.push(row.revision.clone());
                }
            }
            for rev in self.migrator.graph().topo_order() {
                let id = &rev.id;
                if wanted.contains(id)
                    && (!state.applied.contains(id)
                        || state.failed.iter().any(|f| &f.revision == id))
                {
                    let checksum = &self.revision(id)?.checksum;
                    self.history
                        .insert(&txn, &HistoryRow::applied(id, 0, checksum))
                        .await?;
                    changes.added.push(id.clone());
                }
            }
            txn.commit()
                .await
                .map_err(Error::db("committing the stamp"))?;
            Ok(changes)
        })
        .await
    }

    /// Re-records the checksums of changed migrations and clears failed records.
    ///
    /// A failed `up` is forgotten (the next `up` runs it again); a failed `down`
    /// is put back to applied.
    ///
    /// # Errors
    /// A database error.
    pub async fn repair(&self) -> Result<Changes> {
        self.locked(async || {
            self.ensure_table().await?;
            let state = self.state().await?;
            let mut changes = Changes::default();
            let txn = self
                .db
                .begin()
                .await
                .map_err(Error::db("starting the repair transaction"))?;
            for failed in &state.failed {
                self.history.delete(&txn, &failed.revision).await?;
                if failed.failed_direction() == Some(Direction::Down) {
                    let checksum = self
                        .revision(&failed.revision)
                        .map(|r| r.checksum.clone())
                        .unwrap_or_default();
                    let mut row =
                        HistoryRow::applied(&failed.revision, failed.execution_ms, &checksum);
                    row.applied_at.clone_from(&failed.applied_at);
                    self.history.insert(&txn, &row).await?;
                    changes.restored.push(failed.revision.clone());
                } else {
                    changes.removed.push(failed.revision.clone());
                }
            }
            for id in &state.changed {
                self.history
                    .set_checksum(&txn, id, &self.revision(id)?.checksum)
                    .await?;
                changes.rechecksummed.push(id.clone());
            }
            txn.commit()
                .await
                .map_err(Error::db("committing the repair"))?;
            Ok(changes)
        })
        .await
    }

    /// Drops every table (not only migrated ones), then upgrades to `target`.
    ///
    /// # Errors
    /// As [`Runner::upgrade`].
    pub async fn fresh(&self, target: &Target) -> Result<(Vec<String>, Vec<String>)> {
        self.locked(async || {
            let dropped = self
                .backend
                .drop_everything(
                    &self.db,
                    &[&backend::lease::table_for(self.history.table())],
                )
                .await
                .map_err(Error::db("dropping everything"))?;
            let applied = self.upgrade_locked(target).await?;
            Ok((dropped, applied))
        })
        .await
    }

    /// Reverts everything, then upgrades to `target`.
    ///
    /// # Errors
    /// As [`Runner::upgrade`].
    pub async fn refresh(&self, target: &Target) -> Result<(Vec<String>, Vec<String>)> {
        self.locked(async || {
            let reverted = self.downgrade_locked(&Target::Base).await?;
            let applied = self.upgrade_locked(target).await?;
            Ok((reverted, applied))
        })
        .await
    }

    /// Reverts everything and drops the tracking table.
    ///
    /// # Errors
    /// As [`Runner::downgrade`].
    pub async fn reset(&self) -> Result<Vec<String>> {
        self.locked(async || {
            let reverted = self.downgrade_locked(&Target::Base).await?;
            self.history.drop(&self.db).await?;
            Ok(reverted)
        })
        .await
    }

    /// Runs `body` while holding the migration lock, and releases it on every path.
    async fn locked<T>(&self, body: impl AsyncFnOnce() -> Result<T>) -> Result<T> {
        if let Mode::Offline { script, .. } = &self.mode {
            // A script takes no lock: whoever runs it serializes it. The
            // entities' tables are taken to exist, so that a row a seed
            // reads back gets values of its columns' types.
            script
                .assume_entities(self.migrator, self.db.get_database_backend())
                .await;
            return body().await;
        }
        // 1. Lock: one migrator per database at a time, from before we read the
        //    applied revisions until after the last one is recorded.
        let waited = std::sync::atomic::AtomicBool::new(false);
        let on_wait = |holder: &str| {
            waited.store(true, std::sync::atomic::Ordering::Relaxed);
            (self.progress)(Event::LockWaiting(holder));
        };
        let lock = self.take_lock(&on_wait).await?;
        *self.lock.lock().await = Some(lock);
        if waited.load(std::sync::atomic::Ordering::Relaxed) {
            // The pool's connection sat idle while we waited, and a server
            // reaping idle sessions (`idle_session_timeout`, `wait_timeout`)
            // may have closed it: a ping finds that out here, and the pool
            // drops it, instead of the first statement of the run failing.
            let _ = self.db.ping().await;
        }
        let result = body().await;
        // 7. Unlock on every path. (A panic that escapes drops `lock`, which closes
        //    its connection or file: the server or the OS releases it.)
        let released = match self.lock.lock().await.take() {
            Some(lock) => lock.release().await,
            None => Ok(()),
        };
        let value = result?;
        if let Err(e) = released {
            // Everything was applied under a lock proven at each commit; a
            // release that fails afterwards (its connection dropped) leaves
            // nothing held: the server ends the session's locks with it.
            (self.progress)(Event::Warning(&format!(
                "the run finished, but releasing the migration lock failed ({e}); the server \
                 releases it with its connection"
            )));
        }
        Ok(value)
    }

    /// Takes the lock `options.lock` names: the engine's own, or the lease
    /// in `<tracking table>_lock` (on its own connection).
    async fn take_lock(
        &self,
        on_wait: backend::OnWait<'_>,
    ) -> Result<Box<dyn backend::MigrationLock>> {
        let table = match self.options.lock {
            backend::LockKind::Advisory => false,
            backend::LockKind::Table => true,
            backend::LockKind::Auto => !self.backend.native_lock_usable(&self.db).await,
        };
        let (key, timeout) = (self.history.table(), self.options.lock_timeout);
        if !table {
            return self.backend.lock(&self.url, key, timeout, on_wait).await;
        }
        let options = RunnerOptions {
            max_connections: 1,
            ..self.options.clone()
        };
        let db = connect(&self.url, &options).await?;
        let lease =
            backend::lease::Lease::new(db, backend::lease::table_for(key), key, self.options.lease)
                .await?;
        backend::hold(lease, timeout, on_wait).await
    }

    /// Proves the migration lock is still held (fencing): right before a
    /// revision commits, and before one outside a transaction starts.
    async fn prove_lock(&self, txn: Option<&sea_orm::DatabaseTransaction>) -> Result<()> {
        match self.lock.lock().await.as_mut() {
            Some(lock) => {
                lock.prove(txn).await?;
                if let Ok(mut proven) = self.proven.lock() {
                    *proven = Some(Instant::now());
                }
                Ok(())
            }
            // Offline, and commands that take no lock.
            None => Ok(()),
        }
    }

    /// [`Runner::prove_lock`] unless it was proven within the last second
    /// (by the previous revision's commit): each proof is a round trip, and
    /// over a slow link two in a row add up.
    async fn prove_lock_unless_fresh(&self) -> Result<()> {
        let fresh = self
            .proven
            .lock()
            .ok()
            .and_then(|p| *p)
            .is_some_and(|at| at.elapsed() < Duration::from_secs(1));
        if fresh {
            Ok(())
        } else {
            self.prove_lock(None).await
        }
    }

    async fn upgrade_locked(&self, target: &Target) -> Result<Vec<String>> {
        // 2. Ensure the tracking table exists (adopting sea-orm-migration's).
        self.ensure_table().await?;
        // 3. Re-read the applied revisions now that we hold the lock: another
        //    process may have applied some while we waited.
        let state = self.state().await?;
        // 4. Refuse to build on a failed or edited revision.
        self.verified(&state).await?;
        // 5. Plan.
        let plan = self.migrator.graph().plan_upgrade(&state.applied, target)?;
        // 6. Apply and record each step; each commits with its record.
        for (done, id) in plan.iter().enumerate() {
            // Boxed, like each attempt: a revision's future is large, and
            // inline it would make every caller's future deeper than rustc's
            // layout limit.
            Box::pin(self.run(self.revision(id)?, Direction::Up, done)).await?;
        }
        Ok(plan)
    }

    async fn downgrade_locked(&self, target: &Target) -> Result<Vec<String>> {
        self.ensure_table().await?;
        let state = self.state().await?;
        self.verified(&state).await?;
        let plan = self
            .migrator
            .graph()
            .plan_downgrade(&state.applied, target)?;
        for (done, id) in plan.iter().enumerate() {
            Box::pin(self.run(self.revision(id)?, Direction::Down, done)).await?;
        }
        Ok(plan)
    }

    /// [`verify`], with a failed revision's statements listed, so the
    /// operator sees what may have run before the failure or interruption.
    async fn verified(&self, state: &State) -> Result<()> {
        match verify(state) {
            Err(Error::FailedRevision {
                revision,
                direction,
                error,
                ..
            }) => {
                // What it sent is in the record (the failure's, or the
                // progress of an interrupted run): the migration is never
                // run again to find out.
                let statements = if error.contains(SENT_HEADING) {
                    String::new()
                } else {
                    "\n  No statement of it is recorded as finished (it stopped before its \
                     first one finished, or before the runner recorded its progress, or the \
                     backend's statements are not watched): read its file for what it does."
                        .to_owned()
                };
                Err(Error::FailedRevision {
                    revision,
                    direction,
                    error,
                    statements,
                })
            }
            other => other,
        }
    }

    async fn ensure_table(&self) -> Result<()> {
        if let Mode::Offline { .. } = self.mode {
            return self.history.create(&self.db).await;
        }
        self.backend
            .ensure_schema(&self.db)
            .await
            .map_err(Error::db("creating the schema of the search path"))?;
        let known = |id: &str| self.migrator.revision(id).is_some();
        let adopted = self.history.ensure(&self.db, self.backend, &known).await?;
        if !adopted.is_empty() {
            // sea-orm-migration keeps no checksums: trust the code as it is now.
            for id in &adopted {
                if let Some(rev) = self.migrator.revision(id) {
                    self.history
                        .set_checksum(&self.db, id, &rev.checksum)
                        .await?;
                }
            }
            (self.progress)(Event::Adopted(
                &adopted,
                self.migrator.sea_orm_migration_table(),
            ));
        }
        Ok(())
    }

    fn revision(&self, id: &str) -> Result<&'m Revision> {
        self.migrator.revision(id).ok_or_else(|| {
            Error::Usage(format!(
                "revision `{id}` is in the graph but has no migration"
            ))
        })
    }

    /// Runs one revision and records it; `done` is how many revisions of this run
    /// already succeeded (for the error message).
    async fn run(&self, rev: &Revision, direction: Direction, done: usize) -> Result<()> {
        (self.progress)(Event::Started(rev, direction));
        let mut in_transaction = rev.use_transaction();
        loop {
            let started = Instant::now();
            match self
                .attempt(rev, direction, done, in_transaction, started)
                .await?
            {
                Ok(()) => {
                    (self.progress)(Event::Finished(rev, direction, started.elapsed()));
                    return Ok(());
                }
                // The server refused a statement inside the transaction,
                // which rolled back: nothing of the revision is left. One
                // that did not say whether it wants a transaction runs again
                // outside one (what sea-orm-migration does for it everywhere
                // but PostgreSQL).
                Err(MigrationError::Step(e))
                    if in_transaction
                        && rev.transaction_unspecified()
                        && matches!(self.mode, Mode::Live)
                        && crate::backend::database_error(&e)
                            .is_some_and(|d| self.backend.refuses_transaction(d)) =>
                {
                    (self.progress)(Event::Warning(&format!(
                        "`{}` cannot run inside a transaction ({e}); running it again outside \
                         one. Say so in the migration: `fn use_transaction(&self) -> \
                         Option<bool> {{ Some(false) }}`",
                        rev.id
                    )));
                    in_transaction = false;
                }
                Err(cause) => {
                    let atomic = in_transaction && self.backend.transactional_ddl();
                    return Err(self
                        .failed(rev, direction, cause, atomic, done, started)
                        .await);
                }
            }
        }
    }

    /// One attempt at a revision, inside a transaction or not. The outer
    /// error ends the run at once (the lock was lost, the transaction could
    /// not start); the inner one is the revision's failure, not yet reported.
    async fn attempt(
        &self,
        rev: &Revision,
        direction: Direction,
        done: usize,
        in_transaction: bool,
        started: Instant,
    ) -> Result<Result<(), MigrationError>> {
        let atomic = in_transaction && self.backend.transactional_ddl();
        // Connections the pool or the lock opened since: `TCP_NODELAY` too.
        crate::nodelay::sweep();
        // Fencing: prove the lock before the first statement (a revision
        // outside a transaction cannot be taken back once it starts) ...
        if let Err(lost) = self.prove_lock_unless_fresh().await {
            return Err(self.lock_lost(lost, rev, direction, Lost::BeforeStart, done));
        }
        // Where nothing can take the revision back (DDL commits by itself,
        // or no transaction), record it as interrupted before its first
        // statement, with its statements: a run killed part-way leaves that
        // record, and the next run refuses to build on it and says what may
        // have run. The revision's own record replaces it when it ends.
        if !atomic && matches!(self.mode, Mode::Live) {
            self.mark_interrupted(rev, direction).await?;
        }
        if in_transaction {
            let txn = self
                .db
                .begin()
                .await
                .map_err(Error::db("starting the migration transaction"))?;
            return Ok(
                match self
                    .guarded(rev, direction, SchemaManager::new(&txn), !atomic)
                    .await
                {
                    Ok(()) => {
                        // Where DDL commits by itself (MySQL), the transaction
                        // ended with the first DDL statement and the record
                        // would commit on its own: prove the lock before it.
                        if !atomic && let Err(lost) = self.prove_lock(Some(&txn)).await {
                            let _ = txn.rollback().await;
                            return Err(self.lock_lost(lost, rev, direction, Lost::Ran, done));
                        }
                        match self.record(&txn, rev, direction, started, atomic).await {
                            // ... and again right before the commit: a lock lost
                            // meanwhile may have let another migrator in.
                            Ok(()) if atomic => match self.prove_lock(Some(&txn)).await {
                                Ok(()) => txn.commit().await.map_err(MigrationError::Commit),
                                Err(lost) => {
                                    let _ = txn.rollback().await;
                                    let at = Lost::RolledBack;
                                    return Err(self.lock_lost(lost, rev, direction, at, done));
                                }
                            },
                            Ok(()) => txn.commit().await.map_err(MigrationError::Commit),
                            Err(e) => Err(MigrationError::Record(Box::new(e))),
                        }
                    }
                    Err(cause) => {
                        let _ = txn.rollback().await;
                        Err(cause)
                    }
                },
            );
        }
        Ok(
            match self
                .guarded(rev, direction, SchemaManager::new(&self.db), !atomic)
                .await
            {
                Ok(()) => match self.prove_lock(None).await {
                    Ok(()) => self
                        .record(&self.db, rev, direction, started, atomic)
                        .await
                        .map_err(|e| MigrationError::Record(Box::new(e))),
                    Err(lost) => {
                        return Err(self.lock_lost(lost, rev, direction, Lost::Ran, done));
                    }
                },
                Err(cause) => Err(cause),
            },
        )
    }

    /// Runs a step; offline, with the script visible to helpers that must
    /// mark what they cannot render ([`crate::offline::recording`]).
    /// `watched`: nothing can take the step back, so what it sends is kept
    /// ([`crate::sent`]) and, while it runs long, recorded as its progress.
    async fn guarded(
        &self,
        rev: &Revision,
        direction: Direction,
        manager: SchemaManager<'_>,
        watched: bool,
    ) -> Result<(), MigrationError> {
        match &self.mode {
            Mode::Live if watched => {
                let (tx, rx) = tokio::sync::watch::channel(0);
                let step = self.sent.watch(guarded(rev, direction, manager), Some(tx));
                let (result, ()) = tokio::join!(step, self.record_progress(rev, direction, rx));
                result
            }
            Mode::Live => guarded(rev, direction, manager).await,
            Mode::Offline { script, .. } => {
                crate::offline::with_recording(script.clone(), guarded(rev, direction, manager))
                    .await
            }
        }
    }

    async fn record(
        &self,
        conn: &impl ConnectionTrait,
        rev: &Revision,
        direction: Direction,
        started: Instant,
        atomic: bool,
    ) -> Result<()> {
        match direction {
            Direction::Up => {
                let ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
                let row = HistoryRow::applied(&rev.id, ms, &rev.checksum);
                if !atomic && matches!(self.mode, Mode::Live) {
                    // Over the running mark, in one statement.
                    self.history.upsert(conn, &row).await
                } else {
                    self.history.insert(conn, &row).await
                }
            }
            Direction::Down => self.history.delete(conn, &rev.id).await,
        }
    }

    /// Why a revision here cannot be taken back once it runs.
    fn why_not_atomic(&self, rev: &Revision) -> String {
        if self.backend.transactional_ddl() && !rev.use_transaction() {
            "it runs without a transaction (use_transaction() is Some(false))".to_string()
        } else if self.backend.transactional_ddl() {
            "it runs without a transaction (the server refused it inside one)".to_string()
        } else {
            format!(
                "{} commits each DDL statement implicitly",
                self.backend.dialect().name()
            )
        }
    }

    /// Records `rev` as interrupted (a failed row saying so, with its
    /// statements), committed before its first statement runs.
    async fn mark_interrupted(&self, rev: &Revision, direction: Direction) -> Result<()> {
        let row = HistoryRow::running(
            &rev.id,
            direction,
            &rev.checksum,
            self.interrupted(rev, direction, &[]),
        );
        // Over the applied row when reverting; none is there when applying.
        self.history.upsert(&self.db, &row).await
    }

    /// The cause an interrupted revision is recorded with, and what it had
    /// sent so far.
    fn interrupted(
        &self,
        rev: &Revision,
        direction: Direction,
        sent: &[(usize, String)],
    ) -> String {
        let why = self.why_not_atomic(rev);
        format!(
            "interrupted: the run {} it stopped before the revision ended (the process was \
             killed, or it lost its connection or its lock), and {why}, so some of its \
             statements may have run{}",
            direction.verb(),
            sent_list(sent, false),
        )
    }

    /// Keeps the interrupted record of a revision that runs long up to date
    /// with the statements it has finished, until `rx` closes (the step
    /// ended). A step that ends within [`PROGRESS_AFTER`] of its first
    /// statement writes nothing; a run killed in that window leaves the
    /// record without them.
    async fn record_progress(
        &self,
        rev: &Revision,
        direction: Direction,
        mut rx: tokio::sync::watch::Receiver<usize>,
    ) {
        let mut due: Option<tokio::time::Instant> = None;
        let mut written = 0;
        // A connection of its own, opened at the first write: the pool's
        // one connection is the migration's (inside its transaction on
        // MySQL, where DDL commits by itself), and a short revision needs none.
        let mut conn: Option<DatabaseConnection> = None;
        let mut broken = false;
        loop {
            let wait = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    due.get_or_insert_with(|| tokio::time::Instant::now() + PROGRESS_AFTER);
                }
                () = wait => {
                    due = None;
                    let sent = self.sent.statements();
                    let last = sent.last().map_or(0, |(n, _)| *n);
                    if last <= written || broken {
                        continue;
                    }
                    if conn.is_none() {
                        let options = RunnerOptions {
                            max_connections: 1,
                            connect_attempts: 1,
                            ..self.options.clone()
                        };
                        match connect(&self.url, &options).await {
                            Ok(c) => conn = Some(c),
                            Err(e) => {
                                tracing::warn!("recording the progress of {}: {e}", rev.id);
                                broken = true;
                                continue;
                            }
                        }
                    }
                    let Some(c) = &conn else { continue };
                    written = last;
                    let cause = self.interrupted(rev, direction, &sent);
                    let row = HistoryRow::running(&rev.id, direction, &rev.checksum, cause);
                    if let Err(e) = self.history.upsert(c, &row).await {
                        tracing::warn!("recording the progress of {}: {e}", rev.id);
                    }
                }
            }
        }
        if let Some(c) = conn {
            let _ = c.close().await;
        }
    }

    /// Builds the error for a failed revision, recording the failure durably when
    /// the revision could not be rolled back.
    async fn failed(
        &self,
        rev: &Revision,
        direction: Direction,
        cause: MigrationError,
        atomic: bool,
        done: usize,
        started: Instant,
    ) -> Error {
        let earlier = earlier_in_run(done, direction)
            .map(|e| format!("; {e}"))
            .unwrap_or_default();
        let state = if matches!(self.mode, Mode::Offline { .. }) {
            // Nothing ran against a database: there is nothing to roll back or record.
            "it failed while its SQL was being recorded offline: no database was touched and \
             nothing was recorded"
                .to_owned()
        } else if atomic {
            format!(
                "its transaction was rolled back: the database is exactly as before `{}`{earlier}",
                rev.id
            )
        } else {
            let why = self.why_not_atomic(rev);
            let statements = if self.backend.statements_watchable() {
                sent_list(&self.sent.statements(), failed_in_database(&cause))
            } else {
                String::new()
            };
            let recorded = self
                .record_failure(rev, direction, &cause, &statements, started)
                .await;
            format!(
                "{why}, so `{}` may be partly {}{earlier}. {recorded} Inspect the schema and fix it by hand, then \
                 run `repair` (forget the failed attempt) or `stamp` (accept the state you completed by hand).{statements}",
                rev.id,
                direction.past(),
            )
        };
        let state = match already_there(&cause, direction) {
            Some(hint) => format!("{state}\n  {hint}", hint = hint.replace("{id}", &rev.id)),
            None => state,
        };
        Error::MigrationFailed {
            revision: rev.id.clone(),
            direction,
            source: cause,
            state,
        }
    }

    /// The error for a lock found lost while `rev` ran, saying what became
    /// of it. Nothing is written to the tracking table: another migrator may
    /// own it now.
    fn lock_lost(
        &self,
        lost: Error,
        rev: &Revision,
        direction: Direction,
        at: Lost,
        done: usize,
    ) -> Error {
        let Error::LockLost { reason, .. } = lost else {
            return lost;
        };
        let earlier = earlier_in_run(done, direction)
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        let id = &rev.id;
        let state = match at {
            Lost::BeforeStart => format!(": `{id}` did not start{earlier}"),
            Lost::RolledBack => {
                format!(": `{id}` was rolled back, the database is exactly as before it{earlier}")
            }
            Lost::Ran => format!(
                ": `{id}` ran without a transaction that could take it back, so its changes are in \
                 the database; it is not recorded as applied but as interrupted{earlier}, so no \
                 run builds on it: check the schema, then `repair` (after undoing it) or `stamp`"
            ),
        };
        Error::LockLost { reason, state }
    }

    async fn record_failure(
        &self,
        rev: &Revision,
        direction: Direction,
        cause: &MigrationError,
        statements: &str,
        started: Instant,
    ) -> String {
        // The direction is a column of its own; the error is the cause, and
        // what the revision sent before it.
        let row = HistoryRow::failed(
            &rev.id,
            direction,
            i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            &rev.checksum,
            format!("{cause}{statements}"),
        );
        let table = self.history.table();
        let recorded = async {
            self.history.delete(&self.db, &rev.id).await?;
            self.history.insert(&self.db, &row).await
        }
        .await;
        match recorded {
            Ok(()) => format!(
                "It is recorded as failed in `{table}`; `up` and `down` refuse to run until it is resolved."
            ),
            Err(e) => format!("Recording the failure in `{table}` also failed ({e})."),
        }
    }
}

/// How long a revision without a transaction runs before its progress is
/// recorded (and then at most this often): shorter revisions cost no write.
const PROGRESS_AFTER: Duration = Duration::from_millis(250);

/// The heading of the statements a stopped revision is recorded with.
const SENT_HEADING: &str = "What it sent, in order";

/// The statements a stopped revision sent, for its record and its report.
/// `last_failed`: the last one is the statement the database refused.
fn sent_list(sent: &[(usize, String)], last_failed: bool) -> String {
    if sent.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n  {SENT_HEADING} (a DDL statement that finished has committed, and so has DML \
         outside a transaction{}):",
        if last_failed {
            "; the last is the one that failed"
        } else {
            "; the one after the last may have run too"
        }
    );
    let mut expected = 1;
    for (n, stmt) in sent {
        if *n > expected {
            out.push_str(&format!(
                "\n    … statements {expected} to {} not kept …",
                n - 1
            ));
        }
        out.push_str(&format!("\n    {n}. {}", stmt.replace('\n', " ")));
        expected = n + 1;
    }
    out
}

/// The fix for an `up` that failed because what it creates is already
/// there (a column or table added by hand, or by a run recorded
/// elsewhere), in every engine's words for it; `{id}` stands for the revision.
fn already_there(cause: &MigrationError, direction: Direction) -> Option<&'static str> {
    let MigrationError::Step(e) = cause else {
        return None;
    };
    let text = e.to_string().to_ascii_lowercase();
    let there = ["already exists", "duplicate column", "duplicate key name"]
        .iter()
        .any(|w| text.contains(w));
    (there && direction == Direction::Up).then_some(
        "The database already has what `{id}` creates. If it is what the revision makes \
         (added by hand, say), record it as applied without running it: `stamp {id}`; if not, \
         drop it and run `up` again.",
    )
}

/// Whether `cause` is the database refusing a statement (so the last
/// statement sent is the one that failed).
fn failed_in_database(cause: &MigrationError) -> bool {
    matches!(
        cause,
        MigrationError::Step(sea_orm::DbErr::Exec(_) | sea_orm::DbErr::Query(_))
    )
}

/// What became of the `done` revisions a run finished before the one that
/// failed (`None` when there were none).
fn earlier_in_run(done: usize, direction: Direction) -> Option<String> {
    match (done, direction) {
        (0, _) => None,
        (n, Direction::Up) => Some(format!(
            "the {n} revision(s) before it in this run stay applied"
        )),
        (n, Direction::Down) => Some(format!(
            "the {n} revision(s) reverted before it in this run stay reverted"
        )),
    }
}

/// Where in a revision the lock was found lost.
#[derive(Debug, Clone, Copy)]
enum Lost {
    /// Before its first statement: it did not run.
    BeforeStart,
    /// Before its commit, and the rollback took all of it back.
    RolledBack,
    /// After statements no transaction could take back (DDL on MySQL, a
    /// revision with `use_transaction() == Some(false)`).
    Ran,
}

/// Refuses to run while a revision is failed or an applied one changed.
fn verify(state: &State) -> Result<()> {
    if let Some(failed) = state.failed.first() {
        return Err(Error::FailedRevision {
            revision: failed.revision.clone(),
            direction: failed.failed_direction().unwrap_or(Direction::Up),
            error: failed.failure_cause().to_string(),
            statements: String::new(),
        });
    }
    if !state.changed.is_empty() {
        return Err(Error::ChecksumMismatch(state.changed.clone()));
    }
    Ok(())
}

/// Runs a migration step, turning a panic into an error so the transaction is
/// rolled back and the lock released like on any other failure.
pub(crate) async fn guarded(
    rev: &Revision,
    direction: Direction,
    manager: SchemaManager<'_>,
) -> Result<(), MigrationError> {
    let step = async {
        match direction {
            Direction::Up => rev.migration.up(&manager).await,
            Direction::Down => rev.migration.down(&manager).await,
        }
    };
    match AssertUnwindSafe(step).catch_unwind().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(MigrationError::Step(e)),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(MigrationError::Panicked(message))
        }
    }
}
