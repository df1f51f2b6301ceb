//! The project's own history on every backend: a stairway test (up one step at a
//! time, down one step at a time comparing the reflected schema with the schema
//! before that revision), up again, the data migration's rows, and the final schema
//! against the entities'.

mod common;

use migration_core::graph::Target;
use migration_core::revision::DEFAULT_HISTORY_TABLE;
use migration_core::schema::Schema;
use migration_core::testing::{ALL, TestDb, count};
use migration_core::{Runner, RunnerOptions};
use sea_orm::{ConnectionTrait, Statement};

async fn reflect(runner: &Runner<'_>) -> Schema {
    migration_core::backend::reflect(runner.connection(), &[DEFAULT_HISTORY_TABLE])
        .await
        .expect("reflect")
}

/// Compares two reflected schemas. Column *order* is not compared: a `down`
/// that re-adds a dropped column appends it, and no backend can put it back in
/// place without rebuilding the table.
fn assert_same(actual: &Schema, expected: &Schema, context: &str) {
    let diff = expected.diff_lines(actual);
    assert!(diff.is_empty(), "{context}:\n{}", diff.join("\n"));
    assert_eq!(actual.tables.len(), expected.tables.len(), "{context}");
}

#[tokio::test]
async fn stairway_down_one_step_at_a_time_restores_each_schema() {
    let migrator = migration::migrator().unwrap();
    let steps = migrator.graph().len();
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "stairway").await else {
            continue;
        };
        let runner = Runner::connect(&migrator, &db.url, RunnerOptions::default())
            .await
            .unwrap();

        let mut before = Vec::new();
        for _ in 0..steps {
            before.push(reflect(&runner).await);
            let applied = runner.upgrade(&Target::Relative(1)).await.unwrap();
            assert_eq!(applied.len(), 1);
        }
        let head = reflect(&runner).await;
        assert!(head.tables.len() >= 6, "{head}");

        for step in (0..steps).rev() {
            let reverted = runner.downgrade(&Target::Relative(-1)).await.unwrap();
            let context = format!("{}: after reverting {}", dialect.name(), reverted[0]);
            assert_same(&reflect(&runner).await, &before[step], &context);
        }
        assert!(runner.state().await.unwrap().applied.is_empty());

        runner.upgrade(&Target::Head).await.unwrap();
        assert_same(
            &reflect(&runner).await,
            &head,
            &format!("{}: up again", dialect.name()),
        );
    }
}

#[tokio::test]
async fn data_migration_and_not_null_default_keep_every_row() {
    let migrator = migration::migrator().unwrap();
    let merge = migrator
        .graph()
        .topo_order()
        .find(|r| r.is_merge())
        .unwrap()
        .id
        .clone();
    let full_name = migrator
        .graph()
        .topo_order()
        .find(|r| r.id.contains("full_name"))
        .unwrap()
        .id
        .clone();
    let featured = migrator
        .graph()
        .topo_order()
        .find(|r| r.id.contains("is_featured"))
        .unwrap()
        .id
        .clone();
    for dialect in ALL {
        let Some(db) = TestDb::create(dialect, "datamig").await else {
            continue;
        };
        let runner = Runner::connect(&migrator, &db.url, RunnerOptions::default())
            .await
            .unwrap();
        let conn = runner.connection();
        runner
            .upgrade(&Target::Revision("m20250605".into()))
            .await
            .unwrap();
        // Rows before the NOT NULL column with a default arrives.
        for i in 0..50 {
            conn.execute_unprepared(&format!(
                "INSERT INTO products (sku, name, price, print_time_seconds) VALUES ('SKU-{i}', 'Product {i}', {i}.50, 3600)"
            ))
            .await
            .unwrap();
        }
        runner
            .upgrade(&Target::Revision(featured.clone()))
            .await
            .unwrap();
        assert_eq!(count(conn, "SELECT COUNT(*) FROM products").await, 50);
        assert_eq!(
            count(
                conn,
                "SELECT COUNT(*) FROM products WHERE is_featured = false"
            )
            .await,
            50
        );

        runner
            .upgrade(&Target::Revision(merge.clone()))
            .await
            .unwrap();
        let users = [
            ("Ada", "Lovelace"),
            ("Grace", "Hopper"),
            ("Linus", ""),
            ("Guido", "van Rossum"),
        ];
        for (i, (first, last)) in users.iter().enumerate() {
            conn.execute_unprepared(&format!(
                "INSERT INTO users (email, display_name, first_name, last_name) VALUES ('u{i}@example.com', 'u{i}', '{first}', '{last}')"
            ))
            .await
            .unwrap();
        }
        runner
            .upgrade(&Target::Revision(full_name.clone()))
            .await
            .unwrap();
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT full_name FROM users ORDER BY email",
            ))
            .await
            .unwrap();
        let names: Vec<String> = rows
            .iter()
            .map(|r| r.try_get_by_index(0).unwrap())
            .collect();
        assert_eq!(
            names,
            ["Ada Lovelace", "Grace Hopper", "Linus", "Guido van Rossum"],
            "{}",
            dialect.name()
        );

        // And back: first/last are split again at the first space.
        runner.downgrade(&Target::Relative(-1)).await.unwrap();
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT first_name, last_name FROM users ORDER BY email",
            ))
            .await
            .unwrap();
        let split: Vec<(String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get_by_index(0).unwrap(),
                    r.try_get_by_index::<Option<String>>(1)
                        .unwrap()
                        .unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(split[0], ("Ada".to_string(), "Lovelace".to_string()));
        assert_eq!(split[3], ("Guido".to_string(), "van Rossum".to_string()));
        assert_eq!(count(conn, "SELECT COUNT(*) FROM users").await, 4);
    }
}

#[tokio::test]
async fn migrations_produce_exactly_the_entities_schema() {
    let migrator = migration::migrator().unwrap();
    for dialect in ALL {
        let Some(migrated) = TestDb::create(dialect, "from_migrations").await else {
            continue;
        };
        let Some(declared) = TestDb::create(dialect, "from_entities").await else {
            continue;
        };
        let runner = Runner::connect(&migrator, &migrated.url, RunnerOptions::default())
            .await
            .unwrap();
        runner.upgrade(&Target::Head).await.unwrap();
        let from_migrations = reflect(&runner).await;

        let conn = sea_orm::Database::connect(&declared.url).await.unwrap();
        entity::schema(conn.get_database_backend())
            .apply(&conn)
            .await
            .unwrap();
        let from_entities = migration_core::backend::reflect(&conn, &[]).await.unwrap();
        conn.close().await.unwrap();

        // Entities cannot declare a composite non-unique index; the one the
        // history adds is the only allowed difference.
        let diff: Vec<String> = from_entities
            .diff_lines(&from_migrations)
            .into_iter()
            .filter(|line| !line.contains("idx-print_jobs-status-created_at"))
            .collect();
        assert!(
            diff.is_empty(),
            "{}: migrations and entities differ:\n{}",
            dialect.name(),
            diff.join("\n")
        );
        assert_eq!(from_entities.tables.len(), from_migrations.tables.len());
    }
}
