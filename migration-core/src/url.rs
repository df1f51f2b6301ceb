//! Database URLs: which backend they name, and how to print them without the password.

pub use crate::backend::Dialect;

/// The embedded default the CLI and the app share when no URL is configured.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/dev.db?mode=rwc";

/// Where a URL's userinfo ends: the byte index of the `@` before the host,
/// and where the host part (`host[:port]`) ends.
///
/// A password is often pasted unencoded (`u:pa/ss@h`, `u:p@ss:w%rd?x@h`), so
/// the userinfo is not cut at the first `/`, `?` or `#`: it runs to the last
/// `@` that is followed by something shaped like a host. With no such `@`,
/// the last `@` is taken (masking too much is safe; too little is not).
pub(crate) fn userinfo_end(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let host_end = |at: usize| {
        rest[at + 1..]
            .find(['/', '?', '#'])
            .map_or(rest.len(), |i| at + 1 + i)
    };
    let looks_like_host = |h: &str| {
        if h.is_empty() || h.contains('@') {
            return false;
        }
        let (name, port) = match h.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((addr, tail)) => (addr, tail.strip_prefix(':')),
                None => return false,
            },
            None => match h.rsplit_once(':') {
                Some((n, p)) => (n, Some(p)),
                None => (h, None),
            },
        };
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '%'))
            && port.is_none_or(|p| p.chars().all(|c| c.is_ascii_digit()))
    };
    let ats: Vec<usize> = rest.match_indices('@').map(|(i, _)| i).collect();
    let hosts: Vec<usize> = ats
        .iter()
        .copied()
        .filter(|&at| looks_like_host(&rest[at + 1..host_end(at)]))
        .collect();
    // A database URL names its database after the host (`host/db`): the
    // last `@` followed by a host and a path is the one; an `@` inside the
    // query (`?application_name=a@b`) is not followed by one.
    let at = hosts
        .iter()
        .rev()
        .copied()
        .find(|&at| rest[host_end(at)..].starts_with('/'))
        .or_else(|| hosts.last().copied())
        .or_else(|| ats.last().copied())?;
    Some((start + at, start + host_end(at)))
}

/// Whether a query parameter's name says it holds a secret.
fn secret_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "passwd", "pwd", "pass", "secret", "token"]
        .iter()
        .any(|k| key.contains(k))
}

/// The database a server URL names in its path (`host:port/<db>`), if any;
/// the userinfo (an unencoded `/` in a password) is skipped.
pub fn database_name(url: &str) -> Option<&str> {
    let after_host = match userinfo_end(url) {
        Some((_, host_end)) => &url[host_end..],
        None => {
            let start = url.find("://")? + 3;
            let rest = &url[start..];
            &rest[rest.find(['/', '?', '#']).unwrap_or(rest.len())..]
        }
    };
    let path = after_host.strip_prefix('/')?;
    let name = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    (!name.is_empty()).then_some(name)
}

/// `url` naming the database `name` on the same server, with the same
/// credentials and parameters (the userinfo, unencoded `/` in a password
/// included, is kept as it is).
pub fn with_database(url: &str, name: &str) -> String {
    let host_end = match userinfo_end(url) {
        Some((_, host_end)) => host_end,
        None => match url.find("://") {
            Some(i) => {
                let rest = &url[i + 3..];
                i + 3 + rest.find(['/', '?', '#']).unwrap_or(rest.len())
            }
            None => return url.to_owned(),
        },
    };
    let (head, tail) = url.split_at(host_end);
    let params = tail.find(['?', '#']).map_or("", |i| &tail[i..]);
    format!("{head}/{name}{params}")
}

/// The URL with any password replaced by `***`, safe to print and log.
///
/// Masks the userinfo password (`user:secret@host`, also with unencoded
/// `/ ? # @ :` or `%` in the password) and secret-looking query parameters
/// (`password=`, `Password=`, `sslpassword=`, ...) in any case.
pub fn mask(url: &str) -> String {
    let mut out = url.to_string();
    let mut query_from = 0;
    if let Some((at, host_end)) = userinfo_end(url) {
        let start = url.find("://").map_or(0, |i| i + 3);
        if let Some(colon) = url[start..at].find(':') {
            out.replace_range(start + colon + 1..at, "***");
            query_from = host_end - (at - (start + colon + 1)) + 3;
        } else {
            query_from = host_end;
        }
    }
    if let Some(q) = out[query_from.min(out.len())..].find('?') {
        let q = query_from + q;
        let (head, query) = out.split_at(q + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if secret_param(k) => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}{}", masked.join("&"));
    }
    out
}

/// `text` (a driver's error or log message) with every occurrence of `url`
/// masked and of its password replaced by `***`: sqlx repeats the raw
/// connection string in some of its errors.
pub fn scrub(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &mask(url));
    if let (Some(start), Some((at, _))) = (url.find("://"), userinfo_end(url))
        && let Some(colon) = url[start + 3..at].find(':')
    {
        let password = &url[start + 3 + colon + 1..at];
        if !password.is_empty() {
            out = out.replace(password, "***");
        }
    }
    out
}

/// A connection error whose text names the URL's password, re-made with the
/// text [`scrub`]bed; any other error as it is.
pub fn scrub_err(err: sea_orm::DbErr, url: &str) -> sea_orm::DbErr {
    let text = err.to_string();
    let clean = scrub(&text, url);
    if clean == text {
        err
    } else {
        sea_orm::DbErr::Custom(clean)
    }
}

/// Log filter directives every subscriber adds after the user's filter:
/// sqlx's URL parsers log an unrecognized parameter *with its value*
/// (`ignoring unrecognized connect parameter key=Password value=…`), which
/// would print a password given in the wrong case; at `error` they say nothing.
pub const QUIET_DRIVER_LOGS: &[&str] = &[
    "sqlx_postgres::options=error",
    "sqlx_mysql::options=error",
    "sqlx_sqlite::options=error",
];

/// The file path of a SQLite URL, or `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.split_once(':')?.1;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// The URL with the database schema set to `schema` (sea-orm-cli's `-s` /
/// `DATABASE_SCHEMA`), so that every connection made from it (the pool, the
/// lock's, a pooled driver's) creates and reads the tracking table and the
/// migrations' tables there. How is the engine's ([`Backend::with_schema`]:
/// PostgreSQL's `search_path` as a startup option).
///
/// # Errors
/// `schema` is empty, or the engine has no schemas to choose (a MySQL
/// database is its own schema; SQLite has none): the message says what to
/// do instead.
///
/// [`Backend::with_schema`]: crate::backend::Backend::with_schema
pub fn with_schema(url: &str, schema: &str) -> crate::Result<String> {
    let schema = schema.trim();
    if schema.is_empty() {
        return Err(crate::Error::Usage(
            "the database schema is empty; pass a name with -s (or unset DATABASE_SCHEMA)".into(),
        ));
    }
    crate::backend::of(Dialect::from_url(url)?)
        .with_schema(url, schema)
        .ok_or_else(|| {
            crate::Error::Usage(format!(
                "a database schema (-s/--database-schema, DATABASE_SCHEMA) is PostgreSQL's; {} \
                 has none to choose: name the database in the URL instead, or unset \
                 DATABASE_SCHEMA",
                mask(url)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_database_on_the_same_server() {
        for (url, want) in [
            (
                "postgres://u:pa/ss@h:5432/app?sslmode=require",
                "postgres://u:pa/ss@h:5432/postgres?sslmode=require",
            ),
            ("postgres://h/app", "postgres://h/postgres"),
            ("postgres://u@h:5432", "postgres://u@h:5432/postgres"),
            ("postgres://u:p@h/app#x", "postgres://u:p@h/postgres#x"),
        ] {
            assert_eq!(with_database(url, "postgres"), want);
            assert_eq!(
                database_name(&with_database(url, "postgres")),
                Some("postgres")
            );
        }
    }

    #[test]
    fn masks_hostile_urls_whole() {
        for (url, secret) in [
            ("postgres://u:pa/ss@127.0.0.1:5432/db", "pa/ss"),
            ("postgres://u:pa?ss@h/db", "pa?ss"),
            ("postgres://u:pa#ss@h/db", "pa#ss"),
            (
                "mysql://u:p@ss:w%rd/x@db.example.com:3306/app",
                "p@ss:w%rd/x",
            ),
            ("postgres://u:s3cr3t@[::1]:5432/db", "s3cr3t"),
            ("postgres://u:s3cr3t@h/db?application_name=a@b", "s3cr3t"),
            ("postgres://h/db?user=u&Password=hunter2", "hunter2"),
            ("postgres://h/db?sslpassword=hunter2&x=1", "hunter2"),
            ("mysql://u:top:secret@h/db", "top:secret"),
            ("postgres://u:p@h/x@realhost/db", "p@h/x"),
            ("mysql://root:pw@h:3306", "pw"),
        ] {
            let masked = mask(url);
            assert!(!masked.contains(secret), "{url} -> {masked}");
            assert!(masked.contains("***"), "{url} -> {masked}");
        }
        assert_eq!(
            mask("postgres://u:pa/ss@127.0.0.1:5432/db"),
            "postgres://u:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            mask("postgres://u:s3cr3t@h/db?application_name=a@b"),
            "postgres://u:***@h/db?application_name=a@b"
        );
    }

    #[test]
    fn scrubs_driver_texts() {
        let url = "postgres://u:pa/ss@127.0.0.1:1/db";
        let text = format!("The connection string '{url}' is invalid; pa/ss again");
        let clean = scrub(&text, url);
        assert!(!clean.contains("pa/ss"), "{clean}");
        assert!(clean.contains("postgres://u:***@127.0.0.1:1/db"), "{clean}");
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask("postgres://u:s3cr@t@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(mask("mysql://root@h/db"), "mysql://root@h/db");
        assert_eq!(
            mask("postgres://h/db?user=u&password=x"),
            "postgres://h/db?user=u&password=***"
        );
        assert_eq!(
            mask("sqlite://data/dev.db?mode=rwc"),
            "sqlite://data/dev.db?mode=rwc"
        );
    }

    #[test]
    fn detects_dialects_and_rejects_bad_urls() {
        assert_eq!(
            Dialect::from_url("sqlite::memory:").unwrap(),
            Dialect::Sqlite
        );
        assert_eq!(
            Dialect::from_url("postgresql://h/db").unwrap(),
            Dialect::Postgres
        );
        assert_eq!(Dialect::from_url("mariadb://h/db").unwrap(), Dialect::MySql);
        for bad in [
            "nonsense",
            "oracle://h/db",
            "postgres:h/db",
            "postgres:///db",
            "mysql://h:port/db",
        ] {
            assert!(Dialect::from_url(bad).is_err(), "{bad}");
        }
        let err = Dialect::from_url("postgres://u:pw@h:x/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://data/dev.db?mode=rwc").unwrap(),
            std::path::Path::new("data/dev.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db").unwrap(),
            std::path::Path::new("/tmp/x.db")
        );
        assert!(sqlite_path("sqlite::memory:").is_none());
    }

    #[test]
    fn database_name_is_the_path_after_the_host() {
        assert_eq!(
            database_name("mysql://root@127.0.0.1:3306/test"),
            Some("test")
        );
        assert_eq!(
            database_name("mysql://u:pa/ss@h:3306/app?ssl-mode=disabled"),
            Some("app")
        );
        assert_eq!(database_name("mysql://u:p@ss@h/db"), Some("db"));
        assert_eq!(database_name("mysql://root@127.0.0.1:3306"), None);
        assert_eq!(database_name("mysql://root@127.0.0.1:3306/"), None);
        assert_eq!(database_name("mysql://127.0.0.1/?x=1"), None);
        assert_eq!(database_name("postgres://h/db#frag"), Some("db"));
    }

    #[test]
    fn a_schema_becomes_the_search_path_startup_option() {
        assert_eq!(
            with_schema("postgres://u:p@h/db", "tenant").unwrap(),
            "postgres://u:p@h/db?options=-c%20search_path%3Dtenant"
        );
        assert_eq!(
            with_schema("postgres://h/db?sslmode=disable", "t1").unwrap(),
            "postgres://h/db?sslmode=disable&options=-c%20search_path%3Dt1"
        );
        // Quoted, and its space escaped for the server's option parser.
        assert!(
            with_schema("postgres://h/db", "Tenant A")
                .unwrap()
                .ends_with("search_path%3D%22Tenant%5C%20A%22")
        );
        let err = with_schema("sqlite://x.db", "t").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("PostgreSQL"), "{err}");
    }
}
