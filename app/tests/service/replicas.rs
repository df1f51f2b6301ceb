//! Four app processes started at once on one fresh database apply each migration once.

use crate::support;
use migration_core::history::History;
use migration_core::testing::TestDb;
use migration_core::url::Dialect;
use sea_orm::{ConnectionTrait, Database, Statement};
use std::collections::BTreeMap;

crate::per_backend!(four_replicas, super::four_replicas_on);

async fn four_replicas_on(dialect: Dialect) {
    let Some(db) = TestDb::create(dialect, "appreplicas").await else {
        return;
    };
    let mut apps: Vec<_> = (0..4).map(|_| support::spawn(&db.url, &[])).collect();
    let addrs: Vec<String> = apps
        .iter_mut()
        .map(support::AppProcess::wait_ready)
        .collect();
    for addr in &addrs {
        support::assert_healthy(addr);
    }
    let (ids, _) = support::revisions();

    // Each revision was applied by exactly one process.
    let mut applying: BTreeMap<String, usize> = BTreeMap::new();
    for app in &apps {
        for line in app.stderr().lines() {
            if let Some(rest) = line.split("applying revision=").nth(1) {
                let id = rest.split_whitespace().next().unwrap_or_default();
                *applying.entry(id.to_string()).or_default() += 1;
            }
        }
    }
    let expected: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(
        applying, expected,
        "\"applying\" lines across the 4 processes"
    );

    // And recorded once.
    let migrator = migration::migrator().unwrap();
    let conn = Database::connect(&db.url).await.unwrap();
    let count = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) FROM {}", migrator.history_table()),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(count, i64::try_from(ids.len()).unwrap());
    let rows = History::new(migrator.history_table())
        .read_existing(&conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let mut recorded: Vec<String> = rows.iter().map(|r| r.revision.clone()).collect();
    assert_eq!(recorded.len(), ids.len(), "{recorded:?}");
    recorded.sort();
    recorded.dedup();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(recorded, want);
}
