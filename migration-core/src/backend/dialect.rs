//! Which database engine a name, a URL or a SeaORM connection means: the one place that turns names into a [`Dialect`].

use crate::error::{Error, Result};
use crate::url::mask;

/// Which database a URL names. The default is SQLite, the embedded engine
/// a project runs on when nothing else is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dialect {
    /// SQLite (file or in-memory).
    #[default]
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Dialect {
    /// Parses a dialect name as given to `--dialect`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Some(Self::Sqlite),
            "postgres" | "postgresql" | "pg" => Some(Self::Postgres),
            "mysql" | "mariadb" => Some(Self::MySql),
            _ => None,
        }
    }

    /// The dialect a URL's scheme names.
    ///
    /// # Errors
    /// [`Error::BadUrl`] for a URL without a known scheme.
    pub fn from_url(url: &str) -> Result<Self> {
        let Some((scheme, rest)) = url.split_once(':') else {
            return Err(bad(url, "it has no scheme"));
        };
        let dialect = Self::from_name(scheme).ok_or_else(|| {
            bad(
                url,
                &format!("unknown scheme `{scheme}`; use sqlite, postgres or mysql"),
            )
        })?;
        if dialect != Self::Sqlite && !rest.starts_with("//") {
            return Err(bad(url, "expected `scheme://host/database`"));
        }
        if dialect != Self::Sqlite {
            // The host follows the userinfo, which may hold an unencoded
            // `/`, `?`, `#` or `@` (see `url::userinfo_end`).
            let host = match crate::url::userinfo_end(url) {
                Some((at, host_end)) => &url[at + 1..host_end],
                None => rest[2..].split(['/', '?', '#']).next().unwrap_or_default(),
            };
            if host.is_empty() {
                return Err(bad(url, "it names no host"));
            }
            if let Some((_, port)) = host.rsplit_once(':')
                && !port.is_empty()
                && port.parse::<u16>().is_err()
            {
                return Err(bad(url, &format!("port `{port}` is not a number")));
            }
        }
        Ok(dialect)
    }

    /// SeaORM's name for this backend.
    pub fn db_backend(self) -> sea_orm::DbBackend {
        match self {
            Self::Sqlite => sea_orm::DbBackend::Sqlite,
            Self::Postgres => sea_orm::DbBackend::Postgres,
            Self::MySql => sea_orm::DbBackend::MySql,
        }
    }

    /// The dialect of a SeaORM backend.
    pub fn of_db_backend(backend: sea_orm::DbBackend) -> Self {
        match backend {
            sea_orm::DbBackend::Postgres => Self::Postgres,
            sea_orm::DbBackend::MySql => Self::MySql,
            sea_orm::DbBackend::Sqlite => Self::Sqlite,
            // SeaORM 2.0 has exactly these three; the enum is non-exhaustive.
            other => panic!("unsupported SeaORM backend {other:?}"),
        }
    }

    /// Every dialect, for code that does something once per backend.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

    /// Lower-case name: `sqlite`, `postgres` or `mysql`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }

    /// The engine's name as people write it, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
            Self::MySql => "MySQL/MariaDB",
        }
    }
}

fn bad(url: &str, reason: &str) -> Error {
    Error::BadUrl {
        url: mask(url),
        reason: reason.to_string(),
    }
}
