//! Database URLs: which backend they name, and how to print them without the password.

pub use crate::backend::Dialect;

/// The embedded default the CLI and the app share when no URL is configured.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/dev.db?mode=rwc";

/// The URL with any password replaced by `***`, safe to print and log.
///
/// Masks the userinfo password (`user:secret@host`) and `password=` query parameters.
pub fn mask(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| auth_start + i);
        if let Some(at) = out[auth_start..auth_end].rfind('@') {
            let userinfo = &out[auth_start..auth_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = auth_start + colon + 1;
                out.replace_range(start..auth_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let masked: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_string(),
            })
            .collect();
        out = format!("{head}{}", masked.join("&"));
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
