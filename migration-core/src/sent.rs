//! The statements a migration sends, as sqlx logs them while it runs: what a
//! failure or an interruption reports, never found by running it again.
//!
//! A revision that nothing can take back (MySQL/MariaDB DDL commits by
//! itself; `use_transaction() == Some(false)`) may stop part-way. To say which
//! of its statements ran, the runner watches the migration's future with a
//! dispatcher of its own ([`Sent::watch`]): sqlx reports every statement it
//! finishes as a `sqlx::query` event (prepared or not, which SeaORM's metric
//! callback misses for `execute_unprepared`), and the dispatcher keeps the
//! writes and forwards everything else to the dispatcher that was in place,
//! so the application's own logging is unchanged.

use std::sync::{Arc, Mutex};
use tracing::Dispatch;
use tracing::field::{Field, Visit};
use tracing::instrument::WithSubscriber;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{Interest, Subscriber};
use tracing::{Event, Metadata};

const TARGET: &str = "sqlx::query";

/// What one run's migrations sent (one revision at a time).
pub(crate) struct Sent {
    /// Made at the first [`Sent::watch`]: registering a dispatcher makes
    /// tracing recompute every callsite's interest, which runners that never
    /// watch (offline ones, one per revision in the lint) should not pay.
    dispatch: std::sync::OnceLock<Dispatch>,
    log: Arc<Mutex<Log>>,
}

/// How many statements are kept from the start and from the end of a
/// step's list, and how much of each statement's text (a data migration
/// may send a million inserts of a thousand rows each).
const KEEP: usize = 20;
const TEXT: usize = 300;

#[derive(Default)]
struct Log {
    /// The first [`KEEP`] statements, numbered from 1.
    head: Vec<(usize, String)>,
    /// The last [`KEEP`] after those.
    tail: std::collections::VecDeque<(usize, String)>,
    /// How many were sent.
    total: usize,
    /// Told (with the count so far) after each statement, for progress.
    notify: Option<tokio::sync::watch::Sender<usize>>,
}

impl Log {
    fn push(&mut self, sql: &str) {
        self.total += 1;
        let text = match sql.char_indices().nth(TEXT) {
            Some((at, _)) => format!("{} … ({} characters)", &sql[..at], sql.len()),
            None => sql.to_owned(),
        };
        if self.head.len() < KEEP {
            self.head.push((self.total, text));
        } else {
            self.tail.push_back((self.total, text));
            if self.tail.len() > KEEP {
                self.tail.pop_front();
            }
        }
        if let Some(tx) = &self.notify {
            let _ = tx.send(self.total);
        }
    }
}

impl Sent {
    /// Nothing watched yet.
    pub(crate) fn new() -> Sent {
        hold_interest();
        Sent {
            dispatch: std::sync::OnceLock::new(),
            log: Arc::new(Mutex::new(Log::default())),
        }
    }

    /// The watching dispatcher; everything else goes to the one in place at
    /// the first watch.
    fn dispatch(&self) -> Dispatch {
        self.dispatch
            .get_or_init(|| {
                Dispatch::new(Capture {
                    inner: tracing::dispatcher::get_default(Dispatch::clone),
                    log: self.log.clone(),
                })
            })
            .clone()
    }

    /// Runs `step`, keeping the statements it sends (those before are
    /// forgotten); `notify` hears the count after each one.
    pub(crate) async fn watch<F: Future>(
        &self,
        step: F,
        notify: Option<tokio::sync::watch::Sender<usize>>,
    ) -> F::Output {
        *self.log.lock().expect("sent log") = Log {
            notify,
            ..Log::default()
        };
        let out = step.with_subscriber(self.dispatch()).await;
        self.log.lock().expect("sent log").notify = None;
        out
    }

    /// The statements the last watched step sent that change something
    /// (reads are left out), in order and numbered from 1: the first and
    /// the last [`KEEP`] of them, each cut at [`TEXT`] characters.
    pub(crate) fn statements(&self) -> Vec<(usize, String)> {
        let log = self.log.lock().expect("sent log");
        log.head.iter().chain(&log.tail).cloned().collect()
    }
}

/// Keeps sqlx's statement callsites of interest to tracing for the life of
/// the process, whoever hits them first.
///
/// tracing caches each callsite's interest, computed from the dispatchers
/// registered at the time, and with one dispatcher or none registered it asks
/// only the thread's current one: a sqlx callsite first reached outside a
/// watch (another runner's connect, in a process without a subscriber) would
/// be cached as "never" and no watch would see its statements again. Two
/// dispatchers that live as long as the process and answer "sometimes" for
/// `sqlx::query` (and nothing else) keep the registry past that shortcut and
/// the interest open; they are never anyone's current dispatcher, so they
/// see no event.
fn hold_interest() {
    static HOLDERS: std::sync::OnceLock<[Dispatch; 2]> = std::sync::OnceLock::new();
    HOLDERS.get_or_init(|| [Dispatch::new(Holder), Dispatch::new(Holder)]);
}

/// See [`hold_interest`].
struct Holder;

impl Subscriber for Holder {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if Capture::ours(metadata) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::DEBUG)
    }

    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Whether `sql` only reads (a catalog query, `SHOW CREATE TABLE`): not worth
/// listing among what a stopped revision did.
fn reads_only(sql: &str) -> bool {
    let first = sql
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT" | "SHOW" | "DESCRIBE" | "DESC" | "EXPLAIN" | "PRAGMA" | "WITH"
    )
}

/// The statement of one `sqlx::query` event: its summary when that is the
/// whole statement, else the full text sqlx adds as `db.statement`.
#[derive(Default)]
struct Statement {
    summary: String,
    full: String,
}

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.full = value.trim().to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if matches!(field.name(), "summary" | "db.statement") {
            let text = format!("{value:?}");
            let text = text.trim_matches('"').replace("\\n", "\n");
            self.record_str(field, &text);
        }
    }
}

struct Capture {
    inner: Dispatch,
    log: Arc<Mutex<Log>>,
}

impl Capture {
    fn ours(metadata: &Metadata<'_>) -> bool {
        metadata.target() == TARGET
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if Self::ours(metadata) {
            Interest::sometimes()
        } else {
            self.inner.register_callsite(metadata)
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        Self::ours(metadata) || self.inner.enabled(metadata)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.inner.new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.inner.record(span, values);
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.inner.record_follows_from(span, follows);
    }

    fn event(&self, event: &Event<'_>) {
        if Self::ours(event.metadata()) {
            let mut s = Statement::default();
            event.record(&mut s);
            let sql = if s.full.is_empty() { s.summary } else { s.full };
            if !sql.is_empty() && !reads_only(&sql) {
                self.log.lock().expect("sent log").push(&sql);
            }
        }
        if self.inner.enabled(event.metadata()) {
            self.inner.event(event);
        }
    }

    fn enter(&self, span: &Id) {
        self.inner.enter(span);
    }

    fn exit(&self, span: &Id) {
        self.inner.exit(span);
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.inner.clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.inner.try_close(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_steps_keep_their_ends_and_cut_long_statements() {
        let mut log = Log::default();
        for n in 1..=100 {
            log.push(&format!("INSERT INTO t VALUES ({n}){}", " ".repeat(n * 5)));
        }
        let kept: Vec<usize> = log.head.iter().chain(&log.tail).map(|(n, _)| *n).collect();
        let want: Vec<usize> = (1..=20).chain(81..=100).collect();
        assert_eq!(kept, want);
        assert_eq!(log.total, 100);
        let last = &log.tail.back().unwrap().1;
        assert!(last.ends_with("… (526 characters)"), "{last}");
    }

    #[test]
    fn reads_are_not_listed() {
        assert!(reads_only("SELECT 1"));
        assert!(reads_only("  show create table `t`"));
        assert!(reads_only("(SELECT a FROM t)"));
        assert!(!reads_only("INSERT INTO t VALUES (1)"));
        assert!(!reads_only("ALTER TABLE t ADD c int"));
        assert!(!reads_only("SET FOREIGN_KEY_CHECKS = 0"));
    }

    /// On the servers (sqlx-sqlite runs its statements on a worker thread
    /// of its own, where no future's dispatcher reaches: SQLite is not
    /// watched).
    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn statements_sqlx_reports_are_kept_in_order() {
        use crate::url::Dialect;
        use sea_orm::ConnectionTrait;
        for dialect in [Dialect::Postgres, Dialect::MySql] {
            let Some(test_db) = crate::testing::TestDb::create(dialect, "sent").await else {
                continue;
            };
            let db = crate::runner::connect(&test_db.url, &Default::default())
                .await
                .unwrap();
            let backend = db.get_database_backend();
            let sent = Sent::new();
            let (tx, rx) = tokio::sync::watch::channel(0);
            let insert = match dialect {
                Dialect::Postgres => "INSERT INTO t (a) VALUES ($1)",
                _ => "INSERT INTO t (a) VALUES (?)",
            };
            let step = async {
                db.execute_unprepared("CREATE TABLE t (a int)").await?;
                db.query_one_raw(sea_orm::Statement::from_string(
                    backend,
                    "SELECT count(*) FROM t",
                ))
                .await?;
                db.execute_raw(sea_orm::Statement::from_sql_and_values(
                    backend,
                    insert,
                    [1.into()],
                ))
                .await?;
                db.execute_unprepared("INSERT INTO nowhere VALUES (1)")
                    .await
            };
            assert!(sent.watch(step, Some(tx)).await.is_err());
            let texts: Vec<String> = sent.statements().into_iter().map(|(_, t)| t).collect();
            assert_eq!(
                texts,
                [
                    "CREATE TABLE t (a int)",
                    insert,
                    "INSERT INTO nowhere VALUES (1)"
                ],
                "{}",
                dialect.name()
            );
            assert_eq!(*rx.borrow(), 3);
            // Outside `watch`, nothing is kept.
            db.execute_unprepared("DROP TABLE t").await.unwrap();
            assert_eq!(sent.statements().len(), 3);
            db.close().await.ok();
        }
    }
}
