//! The architecture as a test: backend differences live in `src/backend/` alone.
//!
//! Outside `src/backend/`, non-test code must not name a backend
//! (`DbBackend::Sqlite`, `Dialect::MySql`, ...): it asks the engine through
//! `backend::of(dialect)` instead, so "how does MySQL do X?" has one answer,
//! `src/backend/mysql/`. Comments and `#[cfg(test)]` code are not read.
//!
//! `OWED` lists what is still left outside, file by file, with the count of
//! lines: the test fails when a file gains one (a new leak) *and* when it
//! loses one (then lower the count here, so that it cannot grow back).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Files allowed to name backends, and why.
const ALLOWED: &[(&str, &str)] = &[
    // Test support: each engine's test server (env variable, default URL).
    ("testing.rs", "per-engine test server configuration"),
    (
        "testing/pgbouncer.rs",
        "PgBouncer, a PostgreSQL pooler, in front of the PostgreSQL test server",
    ),
];

/// Leaks still owed, file by file, with their line counts: none left. (A
/// file listed here may name backends on that many lines and no more, and
/// the test fails once it names fewer, so the list can only shrink.)
const OWED: &[(&str, usize)] = &[];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `line` names a backend variant (`DbBackend::X` or `Dialect::X`).
fn names_backend(line: &str) -> bool {
    ["DbBackend::", "Dialect::"].iter().any(|prefix| {
        line.match_indices(prefix).any(|(at, _)| {
            let before = line[..at].chars().next_back();
            let word_start = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            let rest = &line[at + prefix.len()..];
            word_start
                && ["Sqlite", "Postgres", "MySql"].iter().any(|v| {
                    rest.starts_with(v)
                        && !rest[v.len()..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
        })
    })
}

/// Lines of non-test, non-comment code naming a backend, per file (relative to `src/`).
fn leaks() -> BTreeMap<String, Vec<String>> {
    let root = src_dir();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in files {
        let rel = path
            .strip_prefix(&root)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("backend/") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read file");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if code.starts_with("//") || !names_backend(code) {
                continue;
            }
            out.entry(rel.clone())
                .or_default()
                .push(format!("{rel}:{}: {}", n + 1, code));
        }
    }
    out
}

#[test]
fn the_detector_finds_backend_names() {
    assert!(names_backend("if d == Dialect::Sqlite {"));
    assert!(names_backend("match b { DbBackend::MySql => 1 }"));
    assert!(!names_backend("Dialect::ALL"));
    assert!(!names_backend("Dialect::from_name(s)"));
    assert!(!names_backend("MyDialect::Sqlite"));
    assert!(!names_backend("Dialect::SqliteLike"));
}

#[test]
fn backend_differences_stay_in_the_backend_folder() {
    let mut problems = Vec::new();
    let found = leaks();
    for (file, lines) in &found {
        if ALLOWED.iter().any(|(f, _)| f == file) {
            continue;
        }
        let owed = OWED.iter().find(|(f, _)| f == file).map_or(0, |(_, n)| *n);
        if lines.len() > owed {
            problems.push(format!(
                "{file} names a backend outside src/backend/ ({} line(s), {owed} owed): ask the \
                 engine through backend::of(dialect) (add a method to the Backend trait) instead:\n  {}",
                lines.len(),
                lines.join("\n  ")
            ));
        } else if lines.len() < owed {
            problems.push(format!(
                "{file}: {} line(s) left of {owed} owed: lower its count in OWED (tests/architecture.rs)",
                lines.len()
            ));
        }
    }
    for (file, owed) in OWED {
        if *owed > 0 && !found.contains_key(*file) {
            problems.push(format!(
                "{file}: no line left of {owed} owed: remove it from OWED (tests/architecture.rs)"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
