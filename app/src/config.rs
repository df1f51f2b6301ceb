//! Configuration from the environment (and `.env`): database, address, start-up policy, retries.

use migration_core::backend::{LockKind, Pooler};
use migration_core::embed::OnStart;
use migration_core::runner::RunnerOptions;
use migration_core::url::{DEFAULT_DATABASE_URL, mask};
use std::time::Duration;

/// Every environment variable the service reads (`.env.example` documents each one).
pub const VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_SCHEMA",
    "APP_ADDR",
    "MIGRATE_ON_START",
    "DB_CONNECT_ATTEMPTS",
    "DB_CONNECT_TIMEOUT",
    "DB_CONNECT_BACKOFF_MS",
    "MIGRATION_LOCK_TIMEOUT",
    "MIGRATION_POOLER",
    "MIGRATION_LOCK",
    "MIGRATION_LOCK_LEASE",
    "RUST_LOG",
];

/// Where the service listens when `APP_ADDR` is not set.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The service's settings.
///
/// `Debug` masks the database password, so the value can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// `DATABASE_URL`: the database to migrate and serve
    /// (default: [`DEFAULT_DATABASE_URL`], the embedded SQLite file).
    pub database_url: String,
    /// `APP_ADDR`: the address to listen on, `host:port` (port 0 picks a free one).
    pub addr: String,
    /// `MIGRATE_ON_START`: `upgrade` (default), `check` or `off`.
    pub migrate_on_start: OnStart,
    /// `DB_CONNECT_ATTEMPTS`: connection attempts before giving up (default 10).
    pub connect_attempts: u32,
    /// `DB_CONNECT_TIMEOUT`: seconds one connection attempt may take (default 5).
    pub connect_timeout: Duration,
    /// `DB_CONNECT_BACKOFF_MS`: pause before the second attempt, doubling
    /// after each failure up to 5 s (default 500 ms).
    pub connect_backoff: Duration,
    /// `MIGRATION_LOCK_TIMEOUT`: seconds to wait for another process's
    /// migration lock (default 60).
    pub lock_timeout: Duration,
    /// `MIGRATION_POOLER`: `auto` (default), `transaction` or `none`: whether
    /// the database is reached through a transaction pooler (PgBouncer's
    /// `pool_mode = transaction`), where nothing may be prepared.
    pub pooler: Pooler,
    /// `MIGRATION_LOCK`: `auto` (default), `advisory` or `table`: which
    /// migration lock start-up takes (see `docs/reliability.md`).
    pub lock: LockKind,
    /// `MIGRATION_LOCK_LEASE`: seconds without a heartbeat after which the
    /// table lock's lease is taken over (default 30).
    pub lease: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.to_string(),
            addr: DEFAULT_ADDR.to_string(),
            migrate_on_start: OnStart::Upgrade,
            connect_attempts: 10,
            connect_timeout: Duration::from_secs(5),
            connect_backoff: Duration::from_millis(500),
            lock_timeout: Duration::from_secs(60),
            pooler: Pooler::Auto,
            lock: LockKind::Auto,
            lease: Duration::from_secs(30),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &mask(&self.database_url))
            .field("addr", &self.addr)
            .field("migrate_on_start", &self.migrate_on_start)
            .field("connect_attempts", &self.connect_attempts)
            .field("connect_timeout", &self.connect_timeout)
            .field("connect_backoff", &self.connect_backoff)
            .field("lock_timeout", &self.lock_timeout)
            .field("pooler", &self.pooler)
            .field("lock", &self.lock)
            .field("lease", &self.lease)
            .finish()
    }
}

impl Config {
    /// Reads the configuration from the process environment (load `.env` first
    /// with `dotenvy::dotenv()`; variables already set win over the file).
    ///
    /// # Errors
    /// A variable with a value that cannot be used, e.g. `MIGRATE_ON_START=sideways`.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `get` (tests pass a map). Empty values
    /// count as unset.
    ///
    /// # Errors
    /// As [`Config::from_env`].
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let defaults = Self::default();
        let migrate_on_start = match get("MIGRATE_ON_START") {
            Some(v) => v.parse::<OnStart>().map_err(|e| e.to_string())?,
            None => defaults.migrate_on_start,
        };
        let connect_attempts = match get("DB_CONNECT_ATTEMPTS") {
            Some(v) => number::<u32>("DB_CONNECT_ATTEMPTS", &v)?.max(1),
            None => defaults.connect_attempts,
        };
        let seconds = |name: &str, default: Duration| -> Result<Duration, String> {
            match get(name) {
                Some(v) => Ok(Duration::from_secs(number::<u64>(name, &v)?.max(1))),
                None => Ok(default),
            }
        };
        let connect_backoff = match get("DB_CONNECT_BACKOFF_MS") {
            Some(v) => Duration::from_millis(number::<u64>("DB_CONNECT_BACKOFF_MS", &v)?),
            None => defaults.connect_backoff,
        };
        Ok(Self {
            database_url: {
                let url = get("DATABASE_URL")
                    .map(|v| v.trim().to_string())
                    .unwrap_or(defaults.database_url);
                // sea-orm-cli's `DATABASE_SCHEMA`: PostgreSQL's search path.
                match get("DATABASE_SCHEMA").filter(|v| !v.trim().is_empty()) {
                    Some(schema) => migration_core::url::with_schema(&url, &schema)
                        .map_err(|e| e.to_string())?,
                    None => url,
                }
            },
            addr: get("APP_ADDR")
                .map(|v| v.trim().to_string())
                .unwrap_or(defaults.addr),
            migrate_on_start,
            connect_attempts,
            connect_timeout: seconds("DB_CONNECT_TIMEOUT", defaults.connect_timeout)?,
            connect_backoff,
            lock_timeout: seconds("MIGRATION_LOCK_TIMEOUT", defaults.lock_timeout)?,
            pooler: match get("MIGRATION_POOLER") {
                Some(v) => v.parse::<Pooler>().map_err(|e| e.to_string())?,
                None => defaults.pooler,
            },
            lock: match get("MIGRATION_LOCK") {
                Some(v) => v.parse::<LockKind>().map_err(|e| e.to_string())?,
                None => defaults.lock,
            },
            lease: seconds("MIGRATION_LOCK_LEASE", defaults.lease)?,
        })
    }

    /// The engine's connection and lock settings.
    pub fn runner_options(&self) -> RunnerOptions {
        RunnerOptions {
            lock_timeout: self.lock_timeout,
            connect_attempts: self.connect_attempts,
            connect_timeout: self.connect_timeout,
            connect_backoff: self.connect_backoff,
            // The same pool serves the HTTP handlers, for as long as the service runs.
            max_connections: 10,
            test_before_acquire: true,
            // Beside its database the service waits for it to be created
            // (`DB_CONNECT_ATTEMPTS` bounds the wait).
            retry_rejected: true,
            pooler: self.pooler,
            lock: self.lock,
            lease: self.lease,
        }
    }
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{name}=`{value}` is not a valid non-negative whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        Config::from_lookup(|k| vars.get(k).cloned())
    }

    #[test]
    fn defaults_without_variables() {
        let c = config(&[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.addr, "127.0.0.1:8080");
        assert_eq!(c.migrate_on_start, OnStart::Upgrade);
        assert_eq!(c.connect_attempts, 10);
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[
            ("DATABASE_URL", "postgres://u:pw@db:5432/app"),
            ("APP_ADDR", "0.0.0.0:9000"),
            ("MIGRATE_ON_START", "check"),
            ("DB_CONNECT_ATTEMPTS", "4"),
            ("DB_CONNECT_TIMEOUT", "2"),
            ("DB_CONNECT_BACKOFF_MS", "100"),
            ("MIGRATION_LOCK_TIMEOUT", "7"),
        ])
        .unwrap();
        assert_eq!(c.database_url, "postgres://u:pw@db:5432/app");
        assert_eq!(c.addr, "0.0.0.0:9000");
        assert_eq!(c.migrate_on_start, OnStart::Check);
        let o = c.runner_options();
        assert_eq!(o.connect_attempts, 4);
        assert_eq!(o.connect_timeout, Duration::from_secs(2));
        assert_eq!(o.connect_backoff, Duration::from_millis(100));
        assert_eq!(o.lock_timeout, Duration::from_secs(7));
        assert_eq!(
            config(&[("MIGRATE_ON_START", "OFF")])
                .unwrap()
                .migrate_on_start,
            OnStart::Off
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        assert_eq!(
            config(&[("DATABASE_URL", ""), ("MIGRATE_ON_START", " ")]).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn database_schema_sets_the_postgres_search_path_and_is_refused_elsewhere() {
        let c = config(&[
            ("DATABASE_URL", "postgres://u:pw@db:5432/app"),
            ("DATABASE_SCHEMA", "tenant_a"),
        ])
        .unwrap();
        assert_eq!(
            c.database_url,
            "postgres://u:pw@db:5432/app?options=-c%20search_path%3Dtenant_a"
        );
        let e = config(&[("DATABASE_SCHEMA", "tenant_a")]).unwrap_err();
        assert!(
            e.contains("DATABASE_SCHEMA") && e.contains("PostgreSQL"),
            "{e}"
        );
    }

    #[test]
    fn rejects_bad_values_with_the_variable_name() {
        let e = config(&[("MIGRATE_ON_START", "sideways")]).unwrap_err();
        assert!(e.contains("MIGRATE_ON_START"), "{e}");
        let e = config(&[("DB_CONNECT_ATTEMPTS", "many")]).unwrap_err();
        assert!(e.contains("DB_CONNECT_ATTEMPTS"), "{e}");
    }

    #[test]
    fn debug_masks_the_password() {
        let c = config(&[("DATABASE_URL", "postgres://u:hunter2@db/app")]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("u:***@db"), "{shown}");
    }
}
