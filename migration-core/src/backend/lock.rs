//! The migration lock's life, once for every engine: wait for it, keep it alive, prove it before each commit, release it.
//!
//! Each engine's folder says only how its lock session tries, proves, names
//! the holder and unlocks ([`LockSession`]); this module runs the rest. A
//! held lock is proven (fencing) right before each revision commits: a lock
//! whose connection the server, a pooler or a NAT dropped is released by the
//! server at once, so a second migrator may already be inside; the runner
//! then rolls the revision back instead of committing beside it. Between
//! proofs a heartbeat runs the same proof, which also keeps the lock session
//! from being reaped as idle (`idle_session_timeout`,
//! `idle_in_transaction_session_timeout`, MySQL's `wait_timeout`).

use crate::error::{Error, Result};
use async_trait::async_trait;
use sea_orm::DatabaseTransaction;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A held migration lock. Dropping it also releases it (the connection or file
/// closes), but [`MigrationLock::release`] says whether the release worked.
#[async_trait]
pub trait MigrationLock: Send {
    /// Proves the lock is still held: the runner asks right before each
    /// revision commits (and before a revision outside a transaction
    /// starts), passing the revision's transaction where it has one; a lock
    /// kept in a table proves itself inside it, so the proof commits (or
    /// rolls back) with the revision.
    ///
    /// # Errors
    /// [`Error::LockLost`] when it is not (or the proof could not be made).
    async fn prove(&mut self, txn: Option<&DatabaseTransaction>) -> Result<()>;

    /// Releases the lock.
    async fn release(self: Box<Self>) -> Result<()>;
}

/// Which migration lock a run takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockKind {
    /// The engine's own lock where it has a usable one, else the table lock.
    #[default]
    Auto,
    /// The engine's own: PostgreSQL's advisory lock, MySQL's `GET_LOCK`,
    /// SQLite's file lock.
    Advisory,
    /// A lease in a table (`<tracking table>_lock`): works on any engine and
    /// through any pooler.
    Table,
}

impl std::str::FromStr for LockKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "advisory" => Ok(Self::Advisory),
            "table" | "lease" => Ok(Self::Table),
            other => Err(Error::Usage(format!(
                "unknown lock `{other}`: use auto, advisory or table (MIGRATION_LOCK)"
            ))),
        }
    }
}

/// Called once if the lock is busy, with a description of the holder.
pub type OnWait<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// One engine's lock session: a connection (or file) of its own.
#[async_trait]
pub(crate) trait LockSession: Send + 'static {
    /// Tries to take the lock without waiting.
    async fn try_acquire(&mut self) -> Result<bool>;
    /// Describes the holder (`", held by ..."`), or nothing if the engine cannot tell.
    async fn holder(&mut self) -> String;
    /// Whether this session still holds the lock (asked inside `txn`, the
    /// revision's transaction, where the lock can be). It talks to the
    /// server, so it is also the heartbeat that keeps the session from
    /// looking idle.
    async fn still_held(&mut self, txn: Option<&DatabaseTransaction>) -> Result<bool>;
    /// Whether the lock dies with the session (a server's session lock: a
    /// heartbeat that fails means it is gone), or lives in the database
    /// (a lease: only a proof that finds another owner means it is gone; a
    /// heartbeat that fails, e.g. behind SQLite's write lock, is retried).
    fn lost_with_session(&self) -> bool {
        true
    }
    /// Gives the lock back and closes the session.
    async fn unlock(&mut self) -> Result<()>;
    /// What else the heartbeat does once the lock is proven (PostgreSQL:
    /// says which server process the migration waits behind). Not run by
    /// the proofs before commits, which stay one round trip.
    async fn after_heartbeat(&mut self) {}
    /// How often to prove the lock while it is held (`None`: it cannot be
    /// lost while the process lives, e.g. an OS file lock).
    fn heartbeat(&self) -> Option<Duration>;
}

/// The heartbeat for a session the server reaps after `timeouts` of
/// idleness (zero: never): a third of the shortest, between 200 ms and 10 s.
/// Ten seconds when none is set: poolers and NATs reap idle sessions too,
/// with timeouts the server cannot report.
pub(crate) fn heartbeat_for(timeouts: &[Duration]) -> Duration {
    let shortest = timeouts.iter().filter(|t| !t.is_zero()).min().copied();
    shortest.map_or(Duration::from_secs(10), |t| {
        (t / 3).clamp(Duration::from_millis(200), Duration::from_secs(10))
    })
}

/// Polls until `session` takes the lock or `timeout` passes; describes the
/// holder once when the lock is busy, and again on timeout. The lock is
/// then kept alive by a heartbeat until it is released.
pub(crate) async fn hold<S: LockSession>(
    mut session: S,
    timeout: Duration,
    on_wait: OnWait<'_>,
) -> Result<Box<dyn MigrationLock>> {
    let started = Instant::now();
    let mut announced = false;
    loop {
        if session.try_acquire().await? {
            break;
        }
        if !announced {
            on_wait(&session.holder().await);
            announced = true;
        }
        if started.elapsed() >= timeout {
            let holder = session.holder().await;
            let _ = session.unlock().await;
            return Err(Error::LockTimeout {
                waited: started.elapsed(),
                holder,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let every = session.heartbeat();
    let session = Arc::new(tokio::sync::Mutex::new(session));
    let lost = Arc::new(Mutex::new(None::<String>));
    let beat = every.map(|every| {
        let (session, lost) = (session.clone(), lost.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let mut session = session.lock().await;
                let verdict = session.still_held(None).await;
                if let Err(e) = &verdict
                    && !session.lost_with_session()
                {
                    tracing::debug!("the migration lock's heartbeat failed ({e}); retrying");
                    continue;
                }
                if let Some(why) = lost_because(verdict) {
                    if let Ok(mut slot) = lost.lock() {
                        slot.get_or_insert(why);
                    }
                    return;
                }
                session.after_heartbeat().await;
            }
        })
    });
    Ok(Box::new(Held {
        session,
        lost,
        beat,
    }))
}

/// Why a proof says the lock is lost, if it does.
fn lost_because(verdict: Result<bool>) -> Option<String> {
    match verdict {
        Ok(true) => None,
        Ok(false) => Some("the server no longer counts this session as its holder".into()),
        Err(e) => Some(format!("its session failed: {e}")),
    }
}

/// A lock held by a [`LockSession`], with its heartbeat.
struct Held<S> {
    session: Arc<tokio::sync::Mutex<S>>,
    /// Set by the heartbeat (or a proof) once the lock is known lost.
    lost: Arc<Mutex<Option<String>>>,
    beat: Option<tokio::task::JoinHandle<()>>,
}

impl<S> Held<S> {
    fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }
}

#[async_trait]
impl<S: LockSession> MigrationLock for Held<S> {
    async fn prove(&mut self, txn: Option<&DatabaseTransaction>) -> Result<()> {
        if let Some(reason) = self.lost() {
            return Err(Error::LockLost {
                reason,
                state: String::new(),
            });
        }
        let verdict = self.session.lock().await.still_held(txn).await;
        match lost_because(verdict) {
            None => Ok(()),
            Some(reason) => {
                if let Ok(mut slot) = self.lost.lock() {
                    slot.get_or_insert(reason.clone());
                }
                Err(Error::LockLost {
                    reason,
                    state: String::new(),
                })
            }
        }
    }

    async fn release(self: Box<Self>) -> Result<()> {
        if let Some(beat) = &self.beat {
            beat.abort();
        }
        let unlocked = self.session.lock().await.unlock().await;
        match self.lost() {
            // The server released it with the session: there is nothing to give back.
            Some(_) => Ok(()),
            None => unlocked,
        }
    }
}

impl<S> Drop for Held<S> {
    fn drop(&mut self) {
        if let Some(beat) = &self.beat {
            beat.abort();
        }
    }
}

/// No lock: a database only this process can reach (SQLite in memory).
pub(crate) struct NoLock;

#[async_trait]
impl MigrationLock for NoLock {
    async fn prove(&mut self, _txn: Option<&DatabaseTransaction>) -> Result<()> {
        Ok(())
    }

    async fn release(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    #[test]
    fn heartbeat_is_a_third_of_the_shortest_timeout_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(heartbeat_for(&[]), s(10));
        assert_eq!(heartbeat_for(&[s(0), s(0)]), s(10));
        assert_eq!(heartbeat_for(&[s(0), s(9)]), s(3));
        assert_eq!(heartbeat_for(&[s(90), s(6)]), s(2));
        assert_eq!(heartbeat_for(&[s(28_800)]), s(10));
        assert_eq!(
            heartbeat_for(&[Duration::from_millis(300)]),
            Duration::from_millis(200)
        );
    }

    /// A session that holds until `alive` turns false, counting its proofs.
    struct Fake {
        alive: Arc<AtomicBool>,
        proofs: Arc<AtomicUsize>,
        free_after: usize,
        tries: usize,
    }

    #[async_trait]
    impl LockSession for Fake {
        async fn try_acquire(&mut self) -> Result<bool> {
            self.tries += 1;
            Ok(self.tries > self.free_after)
        }
        async fn holder(&mut self) -> String {
            ", held by someone".into()
        }
        async fn still_held(&mut self, _txn: Option<&DatabaseTransaction>) -> Result<bool> {
            self.proofs.fetch_add(1, Ordering::SeqCst);
            Ok(self.alive.load(Ordering::SeqCst))
        }
        async fn unlock(&mut self) -> Result<()> {
            Ok(())
        }
        fn heartbeat(&self) -> Option<Duration> {
            Some(Duration::from_millis(20))
        }
    }

    fn fake(free_after: usize) -> (Fake, Arc<AtomicBool>, Arc<AtomicUsize>) {
        let alive = Arc::new(AtomicBool::new(true));
        let proofs = Arc::new(AtomicUsize::new(0));
        let f = Fake {
            alive: alive.clone(),
            proofs: proofs.clone(),
            free_after,
            tries: 0,
        };
        (f, alive, proofs)
    }

    #[tokio::test]
    async fn a_lost_lock_is_seen_by_the_heartbeat_and_every_later_proof() {
        let (session, alive, proofs) = fake(0);
        let mut lock = hold(session, Duration::from_secs(1), &|_| {})
            .await
            .unwrap();
        lock.prove(None).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(proofs.load(Ordering::SeqCst) >= 3, "the heartbeat proves");
        alive.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(60)).await;
        // The session is alive again, but the lock was lost in between:
        // whoever entered meanwhile may still be inside.
        alive.store(true, Ordering::SeqCst);
        let err = lock.prove(None).await.unwrap_err();
        assert!(matches!(err, Error::LockLost { .. }), "{err}");
        assert!(err.to_string().contains("lock was lost"), "{err}");
        // Releasing a lost lock is not an error: the server already let it go.
        lock.release().await.unwrap();
    }

    #[tokio::test]
    async fn a_busy_lock_is_announced_once_and_times_out_naming_the_holder() {
        let (session, _, _) = fake(usize::MAX);
        let waits = AtomicUsize::new(0);
        let on_wait = |holder: &str| {
            assert_eq!(holder, ", held by someone");
            waits.fetch_add(1, Ordering::SeqCst);
        };
        let Err(err) = hold(session, Duration::from_millis(120), &on_wait).await else {
            panic!("took a busy lock");
        };
        assert_eq!(waits.load(Ordering::SeqCst), 1);
        assert!(err.to_string().contains("held by someone"), "{err}");
    }
}
