//! Errors the engine reports; each one says what went wrong and how to fix it.

use crate::graph::GraphError;
use crate::revision::Direction;
use sea_orm::DbErr;
use std::time::Duration;

/// Everything that can go wrong in a migration command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The revision graph or a revision target is invalid.
    #[error("{0}")]
    Graph(#[from] GraphError),

    /// The database URL cannot be used.
    #[error(
        "invalid database URL `{url}`: {reason}\n  expected e.g. sqlite://data/dev.db?mode=rwc, \
         postgres://user:password@host:5432/db or mysql://user:password@host:3306/db \
         (set it with -u/--database-url or DATABASE_URL)"
    )]
    BadUrl {
        /// The URL, with its password masked.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The database could not be reached.
    #[error(
        "cannot connect to {url} after {attempts} attempt(s): {source}\n  check that the database \
         server is running and reachable, and that the URL (-u/--database-url or DATABASE_URL) is right"
    )]
    Connect {
        /// The URL, with its password masked.
        url: String,
        /// How many times we tried.
        attempts: u32,
        /// The last connection error.
        source: DbErr,
    },

    /// The server answered and refused the connection (a wrong password, no
    /// such database): retrying cannot help, so it is not retried.
    #[error(
        "cannot connect to {url}: {reason} (not retried: retrying cannot change this)\n  {fix}"
    )]
    ConnectRejected {
        /// The URL, with its password masked.
        url: String,
        /// The server's words (credentials scrubbed).
        reason: String,
        /// What to do about it.
        fix: &'static str,
        /// The connection error the pool reported (boxed: the variant stays small).
        source: Box<DbErr>,
    },

    /// A migration failed; `state` says what it left behind.
    ///
    /// The cause is [`std::error::Error::source`] too (a [`MigrationError`]),
    /// for callers that tell a database error from a panic.
    #[error("revision `{revision}` failed while {}: {source}\n  {state}", direction.verb())]
    MigrationFailed {
        /// The revision that failed.
        revision: String,
        /// Whether it was being applied or reverted.
        direction: Direction,
        /// Why: the migration's database error, its panic, or recording it.
        source: MigrationError,
        /// What state the database is in now, and what to do.
        state: String,
    },

    /// A migration failed where a command rehearses it, not on the target
    /// database: applied to a scratch database (`check`, autogenerate) or
    /// rendered offline (the lint, `--sql`). Nothing was changed.
    #[error("revision `{revision}` fails when {where_}: {source}\n  {fix}")]
    Rehearsal {
        /// The revision.
        revision: String,
        /// Where it ran, e.g. "applied to the scratch database".
        where_: String,
        /// Why it failed.
        #[source]
        source: Box<MigrationError>,
        /// What to do about it.
        fix: String,
    },

    /// Another process holds the migration lock for longer than the timeout.
    #[error(
        "timed out after {}s waiting for the migration lock{holder}\n  another migration is running \
         against this database; wait for it to finish, or raise --lock-timeout (MIGRATION_LOCK_TIMEOUT)",
        waited.as_secs_f32()
    )]
    LockTimeout {
        /// How long we waited.
        waited: Duration,
        /// Who holds it, where the backend can tell (starts with ", held by").
        holder: String,
    },

    /// The lock's session died or stopped holding it while the run held it
    /// (a server, pooler or NAT dropped the connection): the server released
    /// it then, so another migrator may have entered. The run stops; what it
    /// did to the revision in flight is in `state`.
    #[error(
        "the migration lock was lost ({reason}); another migrator may be running against this \
         database, so this run stopped and applied nothing more{state}\n  run `status` to see what \
         is applied, then `up` again"
    )]
    LockLost {
        /// Why the proof failed.
        reason: String,
        /// What became of the revision in flight (empty between revisions).
        state: String,
    },

    /// Applied migrations were edited after they were applied.
    #[error(
        "applied migration(s) changed since they were applied: {}\n  revert the edit (an applied \
         migration must not change), or run `repair` to accept the new version if the change is deliberate",
        .0.join(", ")
    )]
    ChecksumMismatch(Vec<String>),

    /// A revision is recorded as failed (MySQL/MariaDB, where DDL is not transactional).
    #[error(
        "revision `{revision}` failed on an earlier run (while {}) and may be partly {}: {error}{statements}\n  \
         inspect the schema and fix it by hand, then run `repair` to forget the failed attempt {}",
        direction.verb(),
        direction.past(),
        match direction {
            Direction::Up => format!(
                "(the next `up` re-runs it) or `stamp {revision}` if you completed it by hand"
            ),
            Direction::Down => format!(
                "(`{revision}` is recorded as applied again and the next `down` re-runs it) or \
                 `stamp` its parent(s) if you completed the revert by hand"
            ),
        }
    )]
    FailedRevision {
        /// The failed revision.
        revision: String,
        /// Whether it failed while being applied or reverted (recorded with it).
        direction: Direction,
        /// The error recorded when it failed. Text: it was read back from the
        /// tracking table, written by whichever run failed.
        error: String,
        /// The revision's statements in order, as the code renders them now
        /// (empty where they could not be rendered), so the operator can see
        /// which may have run.
        statements: String,
    },

    /// A destructive command needs confirmation.
    #[error("{0} is destructive: it drops data. Re-run with --yes to confirm")]
    NeedsConfirmation(&'static str),

    /// A database error outside a migration (tracking table, catalog queries).
    #[error("database error while {context}: {source}")]
    Db {
        /// What we were doing.
        context: String,
        /// The error.
        source: DbErr,
    },

    /// A file could not be written or read.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The error.
        source: std::io::Error,
    },

    /// The database is not at head where it must be (`MIGRATE_ON_START=check`,
    /// `check -u` when the entities and the migrations agree): behind, ahead,
    /// edited or failed revisions. Exit code 3: run `up`, not autogenerate.
    #[error("{0}")]
    NotAtHead(String),

    /// The lint found problems that are not acknowledged.
    #[error(
        "{0} lint finding(s) fail (see above); use the safe alternative, or acknowledge one on purpose \
         with a line `// lint: allow RULE -- reason` in the migration"
    )]
    Lint(usize),

    /// `check` found differences, or autogenerate refused a change (the details were printed).
    #[error("{0}")]
    CheckFailed(String),

    /// The command line asked for something impossible.
    #[error("{0}")]
    Usage(String),
}

/// Why a revision's step failed: the [`Error::MigrationFailed`] cause.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The migration's `up` or `down` returned an error. A batch alter's or a
    /// data helper's ([`crate::batch::BatchError`]) arrives here as
    /// [`DbErr::Migration`] with its full message: `MigrationTrait` returns
    /// `DbErr`.
    #[error(transparent)]
    Step(DbErr),

    /// The migration panicked; the payload's message (`unknown panic` when it
    /// is not a string).
    #[error("the migration panicked: {0}")]
    Panicked(String),

    /// The step succeeded, but recording it in the tracking table failed.
    #[error(transparent)]
    Record(Box<Error>),

    /// The step and its record succeeded, but committing its transaction failed.
    #[error("committing its transaction failed: {0}")]
    Commit(#[source] DbErr),
}

impl Error {
    /// Wraps a database error with what we were doing.
    pub fn db(context: impl Into<String>) -> impl FnOnce(DbErr) -> Error {
        let context = context.into();
        move |source| Error::Db { context, source }
    }

    /// The process exit code for this error: 2 when the input is wrong (a
    /// flag, a URL, a target the graph cannot resolve: nothing was tried),
    /// 1 when something failed while running (a server, a migration, the
    /// lock, the state of the database or of the migration files).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::NeedsConfirmation(_) | Error::BadUrl { .. } => 2,
            Error::NotAtHead(_) => 3,
            Error::Graph(
                GraphError::BadTarget { .. }
                | GraphError::UnknownRevision { .. }
                | GraphError::AmbiguousRevision { .. }
                | GraphError::MultipleHeads { .. }
                | GraphError::NotEnough { .. }
                | GraphError::BranchPoint { .. }
                | GraphError::MergePoint { .. }
                | GraphError::NotApplied { .. },
            ) => 2,
            _ => 1,
        }
    }
}

/// Result alias for the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;
