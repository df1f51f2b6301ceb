//! Through a real PgBouncer in transaction pooling mode: `up`, `status`,
//! `down`, `check -u` and 4 concurrent `up`s give the same database as a
//! direct connection, each revision applied exactly once; without the
//! simple-protocol driver the same runs fail (the control that shows the
//! pooler is really in the way).

mod common;

use common::*;
use migration_core::testing::TestDb;
use migration_core::testing::pgbouncer::PgBouncer;
use migration_core::url::Dialect;
use std::process::{Command, Stdio};

/// Rounds of 4 concurrent `up`s: CI runs 2; `just test-heavy`
/// (`POOLER_ROUNDS=20`) the full count.
fn rounds() -> usize {
    std::env::var("POOLER_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

#[tokio::test]
async fn every_command_works_through_a_transaction_pooler() {
    let Some(reference) = TestDb::create(Dialect::Postgres, "pool_ref").await else {
        return;
    };
    let Some(bouncer) = PgBouncer::start() else {
        return;
    };
    assert_eq!(cli(&reference.url, &["up"]).status.code(), Some(0));
    let (_, expected) = snapshot(&reference.url).await;
    let ids = project_ids();

    let db = TestDb::create(Dialect::Postgres, "pool_cmds")
        .await
        .unwrap();
    let pooled = bouncer.url(&db.url);
    for args in [
        &["up"][..],
        &["status"],
        &["down", "--to", "base"],
        &["up"],
        &["check", "-u", &pooled],
        &["down", "-n", "2"],
        &["up"],
    ] {
        let out = cli(&pooled, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}\n{}",
            stderr(&out),
            bouncer.log()
        );
    }
    let (rows, schema) = snapshot(&db.url).await;
    assert_eq!(rows.len(), ids.len());
    assert_eq!(
        schema,
        expected,
        "{}",
        schema.diff_lines(&expected).join("\n")
    );

    let rounds = rounds();
    for (round, lock) in (0..rounds).flat_map(|r| [(r, "advisory"), (r, "table")]) {
        let db = TestDb::create(Dialect::Postgres, "pool_race")
            .await
            .unwrap();
        let pooled = bouncer.url(&db.url);
        let mut applied = 0;
        for out in at_once(
            4,
            &["-u", &pooled, "--lock", lock, "--lock-timeout", "120", "up"],
        ) {
            assert_eq!(
                out.status.code(),
                Some(0),
                "{lock} round {round}: {}\npgbouncer:\n{}",
                stderr(&out),
                bouncer.log()
            );
            applied += stdout(&out).matches("Applying ").count();
        }
        assert_eq!(
            applied,
            ids.len(),
            "{lock} round {round}: each revision once"
        );
        let (rows, schema) = snapshot(&db.url).await;
        assert_eq!(rows.len(), ids.len(), "{lock} round {round}");
        assert_eq!(schema, expected, "{lock} round {round}");
    }
    eprintln!(
        "pgbouncer (transaction pooling): 7 commands, {rounds} x 4 concurrent `up`s with each \
         lock (advisory, table), 0 failures"
    );
}

/// The control: sqlx's own driver through the same kind of pooler fails
/// (named prepared statements meet on shared server connections), so the
/// test above passes because of the simple-protocol driver, not by luck.
#[tokio::test]
async fn without_the_simple_protocol_driver_the_pooler_breaks_runs() {
    let Some(bouncer) = PgBouncer::start() else {
        return;
    };
    // One database, so that the runs meet the server connections earlier
    // runs left their prepared statements on.
    let db = TestDb::create(Dialect::Postgres, "pool_ctl").await.unwrap();
    let pooled = bouncer.url(&db.url);
    let mut failures = Vec::new();
    for args in [&["up"][..], &["status"], &["status"], &["down", "-n", "1"]] {
        let out = Command::new(BIN)
            .args(["-u", &pooled, "--pooler", "none"])
            .args(args)
            .env_remove("DATABASE_URL")
            .env("MIGRATION_CONNECT_ATTEMPTS", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if out.status.code() != Some(0) {
            failures.push(stderr(&out));
        }
    }
    assert!(
        failures.iter().any(|e| e.contains("prepared statement")),
        "sqlx's prepared statements did not fail through PgBouncer: {failures:?}"
    );
}
