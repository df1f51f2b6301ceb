//! A SQLite connection opened before the in-engine transform's function was installed takes the driver path,
//! with the same result as a connection opened after. Its own test binary: nothing may install first.

use migration_core::data::{
    TransformPath, install_sqlite_functions, last_transform_path, transform,
};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement, Value};
use sea_orm_migration::SchemaManager;

async fn table(conn: &DatabaseConnection) {
    conn.execute_unprepared(
        "CREATE TABLE t (code TEXT PRIMARY KEY, n INTEGER, f REAL, s TEXT, b BLOB)",
    )
    .await
    .unwrap();
    conn.execute_unprepared(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) \
         INSERT INTO t (code, n, f) SELECT 'k' || printf('%05d', x) || char(39), x, x / 3.0 FROM c",
    )
    .await
    .unwrap();
}

async fn run(conn: &DatabaseConnection) -> u64 {
    transform(&SchemaManager::new(conn), "t")
        .key("code")
        .read(&["n", "f"])
        .write(&["n", "s", "b"])
        .batch_size(700)
        .quiet()
        .run(|row| {
            let n: i64 = row.get("n")?;
            let f: f64 = row.get("f")?;
            Ok((n % 10 != 0).then(|| {
                vec![
                    Value::from((1i64 << 60) + n),
                    Value::from(format!("{f:?} ✓ '{n}'")),
                    Value::from(vec![0u8, 255, (n % 256) as u8]),
                ]
            }))
        })
        .await
        .unwrap()
}

async fn dump(conn: &DatabaseConnection) -> Vec<String> {
    conn.query_all_raw(Statement::from_string(
        conn.get_database_backend(),
        "SELECT code || '|' || quote(n) || '|' || typeof(n) || '|' || quote(s) || '|' || quote(b) FROM t ORDER BY code",
    ))
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get_by_index::<String>(0).unwrap())
    .collect()
}

#[tokio::test]
async fn connections_opened_before_install_take_the_driver_path() {
    let dir = tempfile::tempdir().unwrap();
    let url = |name: &str| format!("sqlite://{}?mode=rwc", dir.path().join(name).display());
    // One connection, opened now and reused: the pool must not open a
    // second one (which would have the function) later.
    let before = Database::connect(
        ConnectOptions::new(url("before.db"))
            .max_connections(1)
            .to_owned(),
    )
    .await
    .unwrap();
    install_sqlite_functions();
    let after = Database::connect(url("after.db")).await.unwrap();
    table(&before).await;
    table(&after).await;
    assert_eq!(run(&before).await, 2700);
    assert_eq!(last_transform_path(), Some(TransformPath::Driver));
    assert_eq!(run(&after).await, 2700);
    assert_eq!(last_transform_path(), Some(TransformPath::InEngine));
    let (a, b) = (dump(&before).await, dump(&after).await);
    assert_eq!(a.len(), 3000);
    assert_eq!(a, b);
}
