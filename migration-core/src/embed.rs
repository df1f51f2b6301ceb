//! Embedding the migrator in a service: migrate, or check, when it starts.

use crate::error::{Error, Result};
use crate::graph::Target;
use crate::hold::{self, Hold};
use crate::revision::Migrator;
use crate::runner::{Direction, Event, Runner, RunnerOptions, State};
use sea_orm::DatabaseConnection;

/// What a service does with migrations when it starts (`MIGRATE_ON_START`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnStart {
    /// Apply pending migrations under the lock (the development default).
    #[default]
    Upgrade,
    /// Refuse to start while migrations are pending or the database is ahead.
    Check,
    /// Do nothing.
    Off,
}

impl std::str::FromStr for OnStart {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "upgrade" | "up" | "" => Ok(Self::Upgrade),
            "check" => Ok(Self::Check),
            "off" | "none" | "false" => Ok(Self::Off),
            other => Err(Error::Usage(format!(
                "MIGRATE_ON_START=`{other}` is not one of `upgrade`, `check`, `off`"
            ))),
        }
    }
}

/// Where the database stands relative to the code.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Standing {
    /// Revisions applied by this call (only with [`OnStart::Upgrade`]).
    pub applied: Vec<String>,
    /// The revisions the database is at.
    pub current: Vec<String>,
    /// The code's heads.
    pub heads: Vec<String>,
    /// Revisions not applied yet.
    pub pending: Vec<String>,
    /// Revisions the database has that the code does not (it is ahead).
    pub unknown: Vec<String>,
    /// The rollback hold that applies to this code (see [`crate::hold`]):
    /// `upgrade` does not re-apply what `migration down` reverted.
    pub hold: Option<Hold>,
}

impl Standing {
    fn of(migrator: &Migrator, state: &State, applied: Vec<String>, hold: Option<Hold>) -> Self {
        let graph = migrator.graph();
        Self {
            hold,
            applied,
            current: graph.current(&state.applied),
            heads: graph.heads().into_iter().map(str::to_string).collect(),
            pending: graph
                .plan_upgrade(&state.applied, &Target::Heads)
                .unwrap_or_default(),
            unknown: state.unknown.clone(),
        }
    }
}

/// Reads where the database stands, changing nothing.
///
/// # Errors
/// A database error.
pub async fn standing(migrator: &Migrator, db: DatabaseConnection, url: &str) -> Result<Standing> {
    let runner = Runner::with_connection(migrator, db, url, RunnerOptions::default())?;
    let state = runner.state().await?;
    let hold = hold::read(migrator, runner.connection(), runner.backend())
        .await?
        .filter(|h| h.applies_to(migrator));
    Ok(Standing::of(migrator, &state, Vec::new(), hold))
}

/// Runs the start-up policy: upgrade to head under the migration lock (several
/// replicas starting together apply each revision once), or check, or nothing.
/// It never downgrades: a database ahead of the code is an error in both modes.
///
/// `upgrade` honours the rollback hold `migration down` records: while the
/// code has the same migrations as when it was recorded, nothing is applied
/// and a warning says so; with different migrations the hold is lifted and the
/// upgrade runs (see [`crate::hold`]).
///
/// # Errors
/// [`OnStart::Check`] with pending revisions, a database ahead of the code, a
/// changed or failed revision, or any error of [`Runner::upgrade`].
pub async fn on_start(
    migrator: &Migrator,
    db: DatabaseConnection,
    url: &str,
    policy: OnStart,
    options: RunnerOptions,
) -> Result<Standing> {
    let runner = Runner::with_connection(migrator, db, url, options)?.on_progress(log_progress);
    let state = runner.state().await?;
    if !state.unknown.is_empty() {
        migrator.graph().check_applied(&state.applied)?;
    }
    let mut held = None;
    let applied = match policy {
        OnStart::Off => Vec::new(),
        OnStart::Upgrade => {
            match hold::read(migrator, runner.connection(), runner.backend()).await? {
                Some(h) if h.applies_to(migrator) => {
                    let pending = migrator
                        .graph()
                        .plan_upgrade(&state.applied, &Target::Head)
                        .unwrap_or_default();
                    tracing::warn!(
                        held_at = %h.held_at,
                        reverted = ?h.reverted,
                        pending = pending.len(),
                        "migrations on hold: `migration down` reverted these and this code has the same \
                         migrations, so they are not re-applied; run `migration up` to apply them \
                         (a build with changed migrations lifts the hold)"
                    );
                    held = Some(h);
                    Vec::new()
                }
                Some(h) => {
                    tracing::info!(
                        held_at = %h.held_at,
                        reverted = ?h.reverted,
                        "lifting the rollback hold: the migrations changed since `migration down`"
                    );
                    hold::clear(migrator, runner.connection(), runner.backend()).await?;
                    runner.upgrade(&Target::Head).await?
                }
                None => runner.upgrade(&Target::Head).await?,
            }
        }
        OnStart::Check => {
            let pending = migrator
                .graph()
                // Same target as `Upgrade`: an unmerged history fails both the same way.
                .plan_upgrade(&state.applied, &Target::Head)?;
            if !pending.is_empty() {
                return Err(Error::NotAtHead(format!(
                    "MIGRATE_ON_START=check: {} migration(s) are pending ({}); apply them with \
                     `cargo run -p migration -- up` (or `just migrate`), or start with MIGRATE_ON_START=upgrade",
                    pending.len(),
                    pending.join(", ")
                )));
            }
            if !state.changed.is_empty() {
                return Err(Error::ChecksumMismatch(state.changed.clone()));
            }
            Vec::new()
        }
    };
    let state = runner.state().await?;
    if policy != OnStart::Upgrade {
        held = hold::read(migrator, runner.connection(), runner.backend())
            .await?
            .filter(|h| h.applies_to(migrator));
    }
    Ok(Standing::of(migrator, &state, applied, held))
}

fn log_progress(event: Event<'_>) {
    match event {
        Event::LockWaiting(holder) => tracing::info!("waiting for the migration lock{holder}"),
        Event::Adopted(ids, table) => tracing::info!(
            count = ids.len(),
            table,
            "adopted sea-orm-migration's applied revisions"
        ),
        Event::Started(rev, Direction::Up) => tracing::info!(revision = %rev.id, "applying"),
        Event::Started(rev, Direction::Down) => tracing::info!(revision = %rev.id, "reverting"),
        Event::Finished(rev, _, took) => {
            tracing::info!(revision = %rev.id, ms = took.as_millis() as u64, message = %rev.message, "applied");
        }
        Event::Warning(text) => tracing::warn!("{text}"),
    }
}
