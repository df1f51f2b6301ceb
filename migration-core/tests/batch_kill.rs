//! A process killed during a batch alter (SQLite's rebuild, PostgreSQL's ALTER), mid-statement or
//! before the commit, leaves the original table with every row.
//!
//! The test runs itself as the child process (`BATCH_KILL_URL` set): it opens
//! a transaction as the runner does, runs a batch on 200,000 rows, and says
//! where it is on stdout; the parent kills it with SIGKILL and checks.

use migration_core::batch::{AlterColumn, BatchAlter};
use migration_core::data::insert_many;
use migration_core::testing::TestDb;
use migration_core::url::Dialect;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, TransactionTrait, Value};
use sea_orm_migration::SchemaManager;
use sea_orm_migration::prelude::{Alias, ColumnType};
use sea_orm_migration::schema::boolean;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const ROWS: i64 = 200_000;
const NAME: &str = "killed_mid_batch_leaves_the_table";

async fn child(url: &str) {
    let conn = Database::connect(url).await.unwrap();
    let txn = conn.begin().await.unwrap();
    let mut b = BatchAlter::new("big");
    b.alter_column("qty", AlterColumn::new().type_(ColumnType::Text).not_null())
        .drop_column("note")
        .add_column(boolean(Alias::new("flag")).default(false));
    println!("started");
    std::io::stdout().flush().unwrap();
    b.run(&SchemaManager::new(&txn)).await.unwrap();
    println!("done");
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
}

async fn state(conn: &DatabaseConnection) -> (String, Vec<i64>) {
    let schema = migration_core::backend::reflect(conn, &[]).await.unwrap();
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*), CAST(SUM(qty) AS BIGINT), COUNT(note) FROM big",
        ))
        .await
        .unwrap()
        .unwrap();
    let numbers = (0..3)
        .map(|i| row.try_get_by_index::<i64>(i).unwrap())
        .collect();
    (schema.to_string(), numbers)
}

#[tokio::test]
async fn killed_mid_batch_leaves_the_table() {
    if let Ok(url) = std::env::var("BATCH_KILL_URL") {
        child(&url).await;
        return;
    }
    for d in [Dialect::Sqlite, Dialect::Postgres] {
        let Some(db) = TestDb::create(d, "batchkill").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        conn.execute_unprepared(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL, qty INTEGER NOT NULL, note TEXT)",
        )
        .await
        .unwrap();
        conn.execute_unprepared("CREATE INDEX ix_big_qty ON big (qty)")
            .await
            .unwrap();
        let rows = (1..=ROWS).map(|i| {
            vec![
                Value::from(i),
                format!("name {i}").into(),
                Value::from(i % 1000),
                (i % 3 == 0).then(|| format!("note {i}")).into(),
            ]
        });
        insert_many(
            &SchemaManager::new(&conn),
            "big",
            &["id", "name", "qty", "note"],
            rows,
        )
        .await
        .unwrap();
        let before = state(&conn).await;
        assert_eq!(before.1[0], ROWS);
        conn.close().await.unwrap();

        for (wait_for, then_sleep) in [("started", 150), ("done", 0)] {
            let exe = std::env::current_exe().unwrap();
            let mut proc = Command::new(exe)
                .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
                .env("BATCH_KILL_URL", &db.url)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = proc.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            loop {
                let line = rx
                    .recv_timeout(Duration::from_secs(120))
                    .unwrap_or_else(|_| panic!("{}: the child never said `{wait_for}`", d.name()));
                if line.trim_end().ends_with(wait_for) {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(then_sleep));
            proc.kill().unwrap();
            proc.wait().unwrap();

            let conn = Database::connect(&db.url).await.unwrap();
            let after = state(&conn).await;
            assert_eq!(after, before, "{}: killed after `{wait_for}`", d.name());
            if d == Dialect::Sqlite {
                let leftovers = conn
                    .query_all_raw(Statement::from_string(
                        conn.get_database_backend(),
                        "SELECT name FROM sqlite_master WHERE name LIKE '_batch_tmp%'",
                    ))
                    .await
                    .unwrap();
                assert!(leftovers.is_empty());
            }
            conn.close().await.unwrap();
        }
    }
}
