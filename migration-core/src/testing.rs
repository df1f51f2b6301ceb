//! Scratch databases for tests: a fresh database per test on each backend, dropped after.
//!
//! Server URLs come from `TEST_POSTGRES_URL` and `TEST_MYSQL_URL` (defaults: the
//! local servers). When a server is unreachable the test is skipped with a
//! message, unless `REQUIRE_ALL_BACKENDS=1` (CI sets it), which turns that into
//! a failure.

// Test support with dependencies of its own (tempfile): behind `testing`.
#[cfg(feature = "testing")]
pub mod pgbouncer;
#[cfg(feature = "testing")]
pub mod workspace;

use crate::backend::{self, Backend};
use crate::url::Dialect;
use std::sync::atomic::{AtomicU32, Ordering};

/// Default PostgreSQL server for tests (trust auth on the local machine).
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Default MySQL/MariaDB server for tests (root with an empty password).
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// The three backends, for tests that loop over them.
pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

/// Connection URLs that hide a credential in every shape users write, each
/// with the texts that must never be printed: unencoded `/ ? # @ :` and `%`
/// in passwords, an IPv6 host, passwords as query parameters in any case,
/// a percent-encoded password (whose decoded form must not show either),
/// and URLs no parser accepts. Every port is closed (1), so each fails.
pub const HOSTILE_URLS: &[(&str, &[&str])] = &[
    (
        "postgres://u:pa/ss0rd@127.0.0.1:1/db",
        &["pa/ss0rd", "ss0rd"],
    ),
    (
        "postgres://u:pa?ss0rd@127.0.0.1:1/db",
        &["pa?ss0rd", "ss0rd"],
    ),
    (
        "postgres://u:pa#ss0rd@127.0.0.1:1/db",
        &["pa#ss0rd", "ss0rd"],
    ),
    (
        "mysql://u:p@ss:w%rd/x9@127.0.0.1:1/app",
        &["p@ss", "w%rd", "rd/x9"],
    ),
    ("postgres://u:s3cr3t-v6@[::1]:1/db", &["s3cr3t-v6"]),
    (
        "postgres://127.0.0.1:1/db?user=u&password=s3cr3t-q",
        &["s3cr3t-q"],
    ),
    (
        "postgres://127.0.0.1:1/db?user=u&Password=s3cr3t-Q",
        &["s3cr3t-Q"],
    ),
    (
        "mysql://u:s3cr3t-m@127.0.0.1:1/db?ssl-mode=disabled",
        &["s3cr3t-m"],
    ),
    (
        "postgres://u:%73%33cr3t-pe@127.0.0.1:1/db",
        &["s3cr3t-pe", "%73%33cr3t-pe"],
    ),
    (
        "postgres://u:s3cr3t-bad@127.0.0.1:notaport/db",
        &["s3cr3t-bad"],
    ),
    ("mysql://u:s3cr3t-nodb@127.0.0.1:1", &["s3cr3t-nodb"]),
    ("postgres://u:s3cr3t-x@", &["s3cr3t-x"]),
];

/// A database created for one test and dropped when this value is dropped.
pub struct TestDb {
    /// Connection URL of the fresh database.
    pub url: String,
    /// Its backend.
    pub dialect: Dialect,
    name: String,
    admin_url: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The server URL tests use for `dialect`.
pub fn admin_url(dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => std::env::var("TEST_SQLITE_DIR")
            .map(|d| format!("sqlite://{d}"))
            .unwrap_or_else(|_| format!("sqlite://{}", std::env::temp_dir().display())),
        Dialect::Postgres => {
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into())
        }
        Dialect::MySql => {
            std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_MYSQL_URL.into())
        }
    }
}

/// Whether unreachable backends must fail the test run (CI) instead of skipping.
pub fn require_all_backends() -> bool {
    std::env::var("REQUIRE_ALL_BACKENDS").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

impl TestDb {
    /// Creates a fresh, empty database named after `label`.
    ///
    /// Returns `None` (after printing why) when the server is unreachable and
    /// [`require_all_backends`] is off.
    ///
    /// # Panics
    /// When the server is unreachable and [`require_all_backends`] is on.
    pub async fn create(dialect: Dialect, label: &str) -> Option<TestDb> {
        // Tests connect with `Database::connect` themselves: give their SQLite
        // connections the in-engine transform's function, as `runner::connect` does.
        crate::data::install_sqlite_functions();
        let admin_url = admin_url(dialect);
        let name = format!(
            "t_{}_{}_{}_{}",
            label
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(24)
                .collect::<String>()
                .to_lowercase(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            chrono::Utc::now().timestamp_subsec_micros()
        );
        let backend = backend::of(dialect);
        match backend.create_database(&admin_url, &name).await {
            Ok(url) => Some(TestDb {
                url,
                dialect,
                name,
                admin_url,
            }),
            Err(e) if !require_all_backends() => {
                eprintln!(
                    "SKIPPED on {}: server {} unreachable ({e}); set REQUIRE_ALL_BACKENDS=1 to make this a failure",
                    dialect.name(),
                    crate::url::mask(&admin_url)
                );
                None
            }
            Err(e) => panic!(
                "{} server {} is unreachable and REQUIRE_ALL_BACKENDS=1: {e}",
                dialect.name(),
                crate::url::mask(&admin_url)
            ),
        }
    }

    /// The database's name on its server (the file stem for SQLite).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The backend implementation.
    pub fn backend(&self) -> &'static dyn Backend {
        backend::of(self.dialect)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside any runtime guarantee (maybe inside a panicking test),
        // so the cleanup gets a thread and a runtime of its own.
        let (dialect, admin_url, name) = (self.dialect, self.admin_url.clone(), self.name.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                let backend = backend::of(dialect);
                if let Err(e) = runtime.block_on(backend.drop_database(&admin_url, &name)) {
                    eprintln!("warning: could not drop test database {name}: {e}");
                }
            }
        });
        let _ = cleanup.join();
    }
}

/// The integer in the first column of the first row `sql` returns (a
/// `COUNT(*)`, say), for assertions.
///
/// # Panics
/// The query fails, returns no row, or no integer.
pub async fn count(conn: &impl sea_orm::ConnectionTrait, sql: &str) -> i64 {
    backend::query_i64(conn, sql, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("`{sql}`: {e}"))
}
