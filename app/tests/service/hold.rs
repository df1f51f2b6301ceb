//! The rollback hold: after `migration down`, a restarted app (MIGRATE_ON_START=upgrade)
//! keeps the rollback; `migration up` or changed migrations lift it.

use crate::support;
use clap::Parser;
use migration_core::cli::{Cli, run};
use migration_core::testing::TestDb;
use migration_core::url::Dialect;
use sea_orm::{ConnectionTrait, Database};

crate::per_backend!(restart_keeps_a_rollback, super::restart_keeps_a_rollback_on);

async fn cli(url: &str, args: &[&str]) {
    let migrator = migration::migrator().unwrap();
    let mut argv = vec!["migration", "-u", url];
    argv.extend_from_slice(args);
    run(&migrator, Cli::try_parse_from(argv).unwrap())
        .await
        .unwrap_or_else(|e| panic!("migration {args:?}: {e}"));
}

fn applied_lines(stderr: &str) -> usize {
    stderr.matches(" applied revision=").count()
}

/// down -n 3, restart: nothing re-applied, /health reports 3 pending and the
/// hold; `migration up` lifts it; the next start has nothing to do.
async fn restart_keeps_a_rollback_on(dialect: Dialect) {
    let Some(db) = TestDb::create(dialect, "apphold").await else {
        return;
    };
    let (ids, _) = support::revisions();
    let mut first = support::spawn(&db.url, &[]);
    first.wait_ready();
    assert_eq!(applied_lines(&first.stderr()), ids.len());
    drop(first);

    cli(&db.url, &["down", "-n", "3"]).await;
    let mut held = support::spawn(&db.url, &[]);
    let addr = held.wait_ready();
    let stderr = held.stderr();
    assert_eq!(
        applied_lines(&stderr),
        0,
        "the restart re-applied: {stderr}"
    );
    assert!(stderr.contains("migrations on hold"), "{stderr}");
    let health = support::get(&addr, "/health");
    assert_eq!(health.body["pending"], 3, "{:?}", health.body);
    assert_eq!(health.body["status"], "outdated");
    let reverted = health.body["hold"]["reverted"]
        .as_array()
        .expect("hold reported");
    let mut want: Vec<&str> = ids[ids.len() - 3..].iter().map(String::as_str).collect();
    want.reverse();
    assert_eq!(
        reverted
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect::<Vec<_>>(),
        want
    );
    drop(held);

    // A second `down` adds to the hold.
    cli(&db.url, &["down"]).await;
    let mut again = support::spawn(&db.url, &[]);
    let addr = again.wait_ready();
    let health = support::get(&addr, "/health");
    assert_eq!(health.body["pending"], 4, "{:?}", health.body);
    assert_eq!(health.body["hold"]["reverted"].as_array().unwrap().len(), 4);
    drop(again);

    cli(&db.url, &["up"]).await;
    let mut lifted = support::spawn(&db.url, &[]);
    let addr = lifted.wait_ready();
    assert_eq!(applied_lines(&lifted.stderr()), 0);
    support::assert_healthy(&addr);
    assert!(support::get(&addr, "/health").body["hold"].is_null());
}

/// A hold recorded for other migrations (here: a fingerprint that is not the
/// code's, as after editing a reverted migration and rebuilding) is lifted on
/// start and the upgrade runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_migrations_lift_the_hold() {
    let Some(db) = TestDb::create(Dialect::Sqlite, "appholdchanged").await else {
        return;
    };
    let mut first = support::spawn(&db.url, &[]);
    first.wait_ready();
    drop(first);
    cli(&db.url, &["down", "-n", "2"]).await;
    let conn = Database::connect(&db.url).await.unwrap();
    conn.execute_unprepared(
        "UPDATE seaorm_revisions_hold SET fingerprint = 'built-from-other-migrations'",
    )
    .await
    .unwrap();
    conn.close().await.unwrap();

    let mut next = support::spawn(&db.url, &[]);
    let addr = next.wait_ready();
    let stderr = next.stderr();
    assert!(stderr.contains("lifting the rollback hold"), "{stderr}");
    assert_eq!(applied_lines(&stderr), 2, "{stderr}");
    support::assert_healthy(&addr);
}

/// `MIGRATE_ON_START=check` is not changed by a hold: pending is pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_still_refuses_a_held_database() {
    let Some(db) = TestDb::create(Dialect::Sqlite, "appholdcheck").await else {
        return;
    };
    let mut first = support::spawn(&db.url, &[]);
    first.wait_ready();
    drop(first);
    cli(&db.url, &["down"]).await;
    let mut check = support::spawn(&db.url, &[("MIGRATE_ON_START", "check")]);
    let status = check.wait_exit(std::time::Duration::from_secs(30));
    assert!(!status.success());
    assert!(check.stderr().contains("pending"), "{}", check.stderr());
}
