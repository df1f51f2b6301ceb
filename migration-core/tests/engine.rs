//! `data::execute_on`: a statement for some engines runs there and nowhere else, live and offline.

use migration_core::prelude::*;
use migration_core::testing::{ALL, TestDb};
use sea_orm::Database;

#[tokio::test]
async fn a_statement_for_one_engine_runs_there_only() {
    for d in ALL {
        let Some(db) = TestDb::create(d, "engine_only").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        let manager = SchemaManager::new(&conn);
        assert_eq!(migration_core::data::dialect(&manager), d);
        let ran = execute_on(
            &manager,
            &[Dialect::Postgres],
            "CREATE TABLE only_pg (id INT)",
        )
        .await
        .unwrap();
        assert_eq!(ran, d == Dialect::Postgres, "{d:?}");
        assert_eq!(
            has_table(&manager, "only_pg").await.unwrap(),
            d == Dialect::Postgres,
            "{d:?}"
        );
        // A failing statement fails the migration where it runs.
        let err = execute_on(&manager, &[d], "CREATE TABLE broken (").await;
        assert!(err.is_err(), "{d:?}");
        conn.close().await.unwrap();
    }
}

#[tokio::test]
async fn offline_the_statement_is_in_its_engines_scripts_only() {
    for d in ALL {
        let (db, script) = migration_core::offline::recording_connection(d.db_backend());
        let manager = SchemaManager::new(&db);
        execute_on(
            &manager,
            &[Dialect::MySql, Dialect::Sqlite],
            "SELECT 1 /* marker */",
        )
        .await
        .unwrap();
        assert_eq!(
            script.render().contains("marker"),
            d != Dialect::Postgres,
            "{d:?}: {}",
            script.render()
        );
    }
}
