//! Shared helpers for the `migration` crate's integration tests.
#![allow(dead_code, missing_docs)]

use migration_core::backend;
use migration_core::history::{History, HistoryRow};
use migration_core::revision::DEFAULT_HISTORY_TABLE;
use migration_core::schema::Schema;
use migration_core::url::Dialect;
use std::process::{Command, Output, Stdio};

/// The `migration` binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_migration");

/// Runs the CLI as a user would, in an empty working directory (no `.env`, no
/// `data/`), with `url` as `-u` unless it is empty.
pub fn cli(url: &str, args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(BIN);
    if !url.is_empty() {
        cmd.arg("-u").arg(url);
    }
    cmd.args(args)
        .current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .env_remove("DATABASE_SCHEMA")
        .env_remove("MIGRATION_DIR")
        .env_remove("MIGRATION_SCRATCH_URL")
        .env("MIGRATION_CONNECT_ATTEMPTS", "2")
        .env("MIGRATION_CONNECT_TIMEOUT", "2")
        .stdin(Stdio::null());
    let out = cmd.output().expect("run the migration binary");
    eprintln!(
        "$ migration {}\n  exit {:?}\n  stdout: {}\n  stderr: {}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out
}

/// Runs `n` copies of the CLI with `args` at once (same working directory,
/// no inherited `DATABASE_URL` or `MIGRATION_POOLER`) and returns each
/// one's output, in start order.
pub fn at_once(n: usize, args: &[&str]) -> Vec<Output> {
    let cwd = tempfile::tempdir().expect("temp dir");
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(BIN)
                .args(args)
                .current_dir(cwd.path())
                .env_remove("DATABASE_URL")
                .env_remove("MIGRATION_POOLER")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run the migration binary")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait for the migration binary"))
        .collect()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the CLI and parses its stdout as JSON, asserting exit 0.
pub fn cli_json(url: &str, args: &[&str]) -> serde_json::Value {
    let out = cli(url, args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// Strings of a JSON array.
pub fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|v| v.as_str().expect("a string").to_string())
        .collect()
}

/// The tracking rows and the reflected schema (without the tracking and hold tables):
/// what "the database is unchanged" compares.
pub async fn snapshot(url: &str) -> (Vec<HistoryRow>, Schema) {
    let dialect = Dialect::from_url(url).unwrap();
    let backend = backend::of(dialect);
    let db = sea_orm::Database::connect(url).await.expect("connect");
    let rows = History::new(DEFAULT_HISTORY_TABLE)
        .read(&db, backend)
        .await
        .expect("read history");
    // Bookkeeping is not schema: the tracking table, the rollback hold `down`
    // records and the table lock's lease.
    let hold = format!("{DEFAULT_HISTORY_TABLE}_hold");
    let lease = migration_core::backend::lease::table_for(DEFAULT_HISTORY_TABLE);
    let schema = migration_core::backend::reflect(&db, &[DEFAULT_HISTORY_TABLE, &hold, &lease])
        .await
        .expect("reflect");
    db.close().await.ok();
    (rows, schema)
}

/// Revision ids of the project, in topological order.
pub fn project_ids() -> Vec<String> {
    let migrator = migration::migrator().expect("valid graph");
    migrator
        .graph()
        .topo_order()
        .map(|r| r.id.clone())
        .collect()
}
