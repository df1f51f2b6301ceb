//! Row transform semantics on every backend, and the SQLite in-engine path's corners: skipped rows, closure
//! errors and panics, filters, text keys, triggers and foreign keys (two-pass UPDATEs), the driver fallback.

use futures_util::FutureExt;
use migration_core::data::{TransformPath, column, insert_many, last_transform_path, transform};
use migration_core::testing::{ALL, TestDb, count};
use migration_core::url::Dialect;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr, TransactionTrait, Value};
use sea_orm_migration::SchemaManager;
use sea_orm_migration::prelude::ExprTrait;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const N: i64 = 5000;

async fn exec(conn: &impl ConnectionTrait, sql: &str) {
    conn.execute_unprepared(sql).await.unwrap();
}

/// Table `t (id, n, s)` with ids 1..=N, `n = id`, `s` NULL.
async fn setup(d: Dialect, label: &str) -> Option<(TestDb, DatabaseConnection)> {
    let db = TestDb::create(d, label).await?;
    let conn = Database::connect(&db.url).await.unwrap();
    exec(
        &conn,
        "CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT, s VARCHAR(40))",
    )
    .await;
    let rows = (1..=N).map(|i| vec![Value::from(i), Value::from(i), Value::String(None)]);
    insert_many(&SchemaManager::new(&conn), "t", &["id", "n", "s"], rows)
        .await
        .unwrap();
    Some((db, conn))
}

/// The rows still as `setup` left them, and the rows with `s` set.
async fn state(conn: &impl ConnectionTrait) -> (i64, i64) {
    (
        count(conn, "SELECT COUNT(*) FROM t WHERE n = id").await,
        count(conn, "SELECT COUNT(*) FROM t WHERE s IS NOT NULL").await,
    )
}

fn expected_path(d: Dialect) -> Option<TransformPath> {
    Some(if d == Dialect::Sqlite {
        TransformPath::InEngine
    } else {
        TransformPath::Driver
    })
}

/// `None` leaves a row untouched and out of the count; a filter limits the
/// rows the closure sees.
#[tokio::test]
async fn skipped_rows_and_filters() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "skipfilter").await else {
            continue;
        };
        let manager = SchemaManager::new(&conn);
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let done = transform(&manager, "t")
            .read(&["n"])
            .write(&["n", "s"])
            .batch_size(700)
            .quiet()
            .run(move |row| {
                counter.fetch_add(1, Ordering::SeqCst);
                let n: i64 = row.get("n")?;
                Ok((n % 3 != 0).then(|| vec![Value::from(n * 10), Value::from(format!("s{n}"))]))
            })
            .await
            .unwrap();
        assert_eq!(last_transform_path(), expected_path(d), "{}", d.name());
        assert_eq!(calls.load(Ordering::SeqCst) as i64, N, "{}", d.name());
        let untouched = N / 3;
        assert_eq!(done as i64, N - untouched, "{}", d.name());
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM t WHERE s IS NULL AND n = id").await,
            untouched,
            "{}",
            d.name()
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM t WHERE n = id * 10").await,
            N - untouched
        );

        // A filter: only rows with n > 40000 (ids 4001..=N, less the skipped ones).
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let done = transform(&manager, "t")
            .read(&["n", "s"])
            .write(&["s"])
            .filter(column("n").gt(40_000))
            .batch_size(333)
            .quiet()
            .run(move |row| {
                counter.fetch_add(1, Ordering::SeqCst);
                let s: Option<String> = row.get("s")?;
                let n: i64 = row.get("n")?;
                assert!(n > 40_000);
                Ok(Some(vec![Value::from(format!(
                    "{}!",
                    s.unwrap_or_default()
                ))]))
            })
            .await
            .unwrap();
        let matching = count(&conn, "SELECT COUNT(*) FROM t WHERE n > 40000").await;
        assert_eq!(
            calls.load(Ordering::SeqCst) as i64,
            matching,
            "{}",
            d.name()
        );
        assert_eq!(done as i64, matching, "{}", d.name());
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM t WHERE s LIKE '%!'").await,
            matching
        );
    }
}

/// A closure error aborts the run with that very error; inside a transaction
/// nothing is left changed.
#[tokio::test]
async fn closure_errors_abort() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "closureerr").await else {
            continue;
        };
        let before = state(&conn).await;
        let txn = conn.begin().await.unwrap();
        let manager = SchemaManager::new(&txn);
        let e = transform(&manager, "t")
            .read(&["n"])
            .write(&["n", "s"])
            .batch_size(1000)
            .quiet()
            .run(|row| {
                let n: i64 = row.get("n")?;
                if n == 2500 {
                    return Err(DbErr::Custom(format!("no row {n} please")));
                }
                Ok(Some(vec![Value::from(n + 1), Value::from("x")]))
            })
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            DbErr::Custom("no row 2500 please".into()).to_string(),
            "{}",
            d.name()
        );
        if d == Dialect::Sqlite {
            // The failed statement (ids 2001..=3000) is undone by itself:
            // only the two ranges before it are written.
            assert_eq!(
                count(&txn, "SELECT COUNT(*) FROM t WHERE s IS NOT NULL").await,
                2000
            );
        }
        txn.rollback().await.unwrap();
        assert_eq!(state(&conn).await, before, "{}", d.name());
    }
}

/// A panic in the closure propagates as a panic, and the connection (and
/// the next transform) work afterwards.
#[tokio::test]
async fn closure_panics_propagate() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "closurepanic").await else {
            continue;
        };
        let manager = SchemaManager::new(&conn);
        let run = transform(&manager, "t")
            .read(&["n"])
            .write(&["s"])
            .batch_size(1000)
            .quiet()
            .run(|row| {
                let n: i64 = row.get("n")?;
                assert!(n != 1234, "closure panic at {n}");
                Ok(Some(vec![Value::from("p")]))
            });
        let payload = std::panic::AssertUnwindSafe(run)
            .catch_unwind()
            .await
            .expect_err("the panic propagates");
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(message.contains("closure panic at 1234"), "{message}");
        // Plain connection: the first range (ids 1..=1000) committed; the
        // range that panicked did not.
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM t WHERE s = 'p'").await,
            1000
        );
        let done = transform(&manager, "t")
            .read(&["n"])
            .write(&["s"])
            .quiet()
            .run(|_| Ok(Some(vec![Value::from("q")])))
            .await
            .unwrap();
        assert_eq!(done as i64, N, "{}", d.name());
        assert_eq!(last_transform_path(), expected_path(d));
    }
}

/// SQLite: an UPDATE trigger and a foreign key make SQLite evaluate WHERE
/// for the rows of a range before any SET (a two-pass UPDATE); the result
/// equals the Rust function, and the trigger fires only for written rows.
#[tokio::test]
async fn sqlite_triggers_and_foreign_keys() {
    let Some((_db, conn)) = setup(Dialect::Sqlite, "trigger").await else {
        return;
    };
    exec(&conn, "CREATE TABLE parent (id INTEGER PRIMARY KEY)").await;
    exec(
        &conn,
        "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 99) INSERT INTO parent SELECT x FROM c",
    )
    .await;
    exec(
        &conn,
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id), v TEXT, key2 TEXT)",
    )
    .await;
    exec(
        &conn,
        "INSERT INTO child (id, parent_id, v) SELECT id, id % 100, 'v' || id FROM t",
    )
    .await;
    exec(
        &conn,
        "CREATE TABLE log (child_id INTEGER, old TEXT, new TEXT)",
    )
    .await;
    exec(
        &conn,
        "CREATE TRIGGER child_log AFTER UPDATE ON child BEGIN INSERT INTO log VALUES (old.id, old.v, new.v); END",
    )
    .await;
    let manager = SchemaManager::new(&conn);
    let txn = conn.begin().await.unwrap();
    let m = SchemaManager::new(&txn);
    let done = transform(&m, "child")
        .read(&["parent_id", "v"])
        .write(&["parent_id", "v", "key2"])
        .batch_size(900)
        .quiet()
        .run(|row| {
            let id: i64 = row.get("id")?;
            let parent: i64 = row.get("parent_id")?;
            let v: String = row.get("v")?;
            Ok((id % 4 != 0).then(|| {
                vec![
                    Value::from((parent + 1) % 100),
                    Value::from(format!("{v}/{id}")),
                    Value::from(format!("k{}", id * 7)),
                ]
            }))
        })
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(last_transform_path(), Some(TransformPath::InEngine));
    let written = N - N / 4;
    assert_eq!(done as i64, written);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM log").await, written);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM child WHERE id % 4 <> 0 AND parent_id = (id % 100 + 1) % 100 AND v = 'v' || id || '/' || id AND key2 = 'k' || (id * 7)"
        )
        .await,
        written
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM child WHERE id % 4 = 0 AND parent_id = id % 100 AND v = 'v' || id AND key2 IS NULL"
        )
        .await,
        N / 4
    );
    // A value breaking the foreign key fails the statement (foreign keys are on).
    let e = transform(&manager, "child")
        .write(&["parent_id"])
        .quiet()
        .run(|_| Ok(Some(vec![Value::from(1000)])))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("FOREIGN KEY"), "{e}");
}

/// SQLite: a read type the in-engine conversion does not mirror (a chrono
/// date) falls back to the driver path for the rest of the table; every row
/// is still transformed exactly once.
#[tokio::test]
async fn sqlite_unsupported_types_fall_back() {
    let Some((_db, conn)) = setup(Dialect::Sqlite, "fallback").await else {
        return;
    };
    exec(&conn, "ALTER TABLE t ADD COLUMN day TEXT").await;
    exec(&conn, "UPDATE t SET day = '2024-01-02'").await;
    let manager = SchemaManager::new(&conn);
    let txn = conn.begin().await.unwrap();
    let m = SchemaManager::new(&txn);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let done = transform(&m, "t")
        .read(&["n", "day"])
        .write(&["n", "s"])
        .batch_size(1000)
        .quiet()
        .run(move |row| {
            counter.fetch_add(1, Ordering::SeqCst);
            let n: i64 = row.get("n")?;
            // Only rows past 2500 read the date: the third range falls back.
            let s = if n > 2500 {
                let day: chrono::NaiveDate = row.get("day")?;
                day.to_string()
            } else {
                "early".to_owned()
            };
            Ok(Some(vec![Value::from(n + 1), Value::from(s)]))
        })
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(last_transform_path(), Some(TransformPath::FellBack));
    assert_eq!(done as i64, N);
    // Rows 2001..=2501 were seen twice (the aborted range, up to the first
    // date read), all others once.
    assert_eq!(calls.load(Ordering::SeqCst) as i64, N + 501);
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM t WHERE n = id + 1").await,
        N
    );
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM t WHERE s = 'early'").await,
        2500
    );
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM t WHERE s = '2024-01-02'").await,
        N - 2500
    );

    // A closure that swallows the read's error still falls back.
    let done = transform(&manager, "t")
        .read(&["day"])
        .write(&["s"])
        .quiet()
        .run(|row| {
            let day = row.get::<Option<chrono::NaiveDate>>("day").ok().flatten();
            Ok(Some(vec![Value::from(day.map(|d| d.to_string()))]))
        })
        .await
        .unwrap();
    assert_eq!(done as i64, N);
    assert_eq!(last_transform_path(), Some(TransformPath::FellBack));
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM t WHERE s = '2024-01-02'").await,
        N
    );
}

/// The values written for row `i`: every type the in-engine path mirrors,
/// all NULL on every ninth row.
fn values_for(code: &str, i: i64) -> Vec<Value> {
    if i % 9 == 0 {
        return vec![
            Value::Int(None),
            Value::Float(None),
            Value::Bytes(None),
            Value::String(None),
            Value::Uuid(None),
            Value::Decimal(None),
            Value::Json(None),
            Value::ChronoDate(None),
            Value::ChronoDateTimeUtc(None),
            Value::Bool(None),
        ];
    }
    let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(i as u64);
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp(
        1_700_000_000 + i * 3601,
        (i % 7) as u32 * 1000,
    )
    .unwrap();
    vec![
        Value::from(i as i32 - 700),
        Value::from(i as f32 / 7.0),
        Value::from(vec![0u8, 255, (i % 256) as u8]),
        Value::from(format!("{code} ✓")),
        Value::from(sea_orm::prelude::Uuid::from_u128(i as u128 * 0x1_0001)),
        Value::from(sea_orm::prelude::Decimal::new(i * 1001, 3)),
        Value::from(serde_json::json!({"i": i, "s": code})),
        Value::from(day),
        Value::from(at),
        Value::from(i % 2 == 0),
    ]
}

const WRITES: [&str; 10] = ["i", "f", "b", "t", "u", "d", "j", "c", "dt", "flag"];

/// SQLite: what the in-engine path stores equals, byte for byte and type
/// for type, what the driver binds for the same values (text keys with
/// quotes and non-ASCII characters).
#[tokio::test]
async fn sqlite_in_engine_stores_what_the_driver_binds() {
    let Some(db) = TestDb::create(Dialect::Sqlite, "bytes").await else {
        return;
    };
    let conn = Database::connect(&db.url).await.unwrap();
    let manager = SchemaManager::new(&conn);
    let code = |i: i64| format!("k{i:04}{}", ["'", "\"", "ключ", "🔑"][(i % 4) as usize]);
    for table in ["a", "b"] {
        exec(
            &conn,
            &format!("CREATE TABLE {table} (code TEXT PRIMARY KEY, i INTEGER, f REAL, b BLOB, t TEXT, u BLOB, d TEXT, j TEXT, c TEXT, dt TEXT, flag BOOLEAN)"),
        )
        .await;
    }
    let rows = (0..1500).map(|i| vec![Value::from(code(i)), Value::from(i)]);
    insert_many(&manager, "a", &["code", "i"], rows)
        .await
        .unwrap();
    let done = transform(&manager, "a")
        .key("code")
        .read(&["i"])
        .write(&WRITES)
        .batch_size(400)
        .quiet()
        .run(|row| {
            let code: String = row.get("code")?;
            Ok(Some(values_for(&code, row.get("i")?)))
        })
        .await
        .unwrap();
    assert_eq!(done, 1500);
    assert_eq!(last_transform_path(), Some(TransformPath::InEngine));
    // The driver's bytes for the same values: bound by insert_many.
    let rows = (0..1500).map(|i| {
        let mut v = vec![Value::from(code(i))];
        v.extend(values_for(&code(i), i));
        v
    });
    let columns: Vec<&str> = std::iter::once("code").chain(WRITES).collect();
    insert_many(&manager, "b", &columns, rows).await.unwrap();
    let same: Vec<String> = WRITES
        .iter()
        .map(|c| format!("a.{c} IS b.{c} AND typeof(a.{c}) = typeof(b.{c})"))
        .collect();
    let sql = format!(
        "SELECT COUNT(*) FROM a JOIN b USING (code) WHERE {}",
        same.join(" AND ")
    );
    assert_eq!(count(&conn, &sql).await, 1500);
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM a WHERE i IS NULL").await,
        167
    );
}

/// SQLite: dropping the transform's future mid-statement (a timeout) stops
/// the closure at once; sqlx's worker finishes the statement, which fails
/// and changes nothing, and the connection keeps working.
#[tokio::test]
async fn sqlite_dropped_mid_statement() {
    let Some((_db, conn)) = setup(Dialect::Sqlite, "dropped").await else {
        return;
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let manager = SchemaManager::new(&conn);
    let run = transform(&manager, "t")
        .read(&["n"])
        .write(&["s"])
        .batch_size(N as u64)
        .quiet()
        .run(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(1));
            Ok(Some(vec![Value::from("late")]))
        });
    let timed_out = tokio::time::timeout(std::time::Duration::from_millis(150), run).await;
    assert!(timed_out.is_err(), "the transform should still be running");
    let seen = calls.load(Ordering::SeqCst);
    assert!(seen > 0 && (seen as i64) < N, "{seen}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(calls.load(Ordering::SeqCst), seen);
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM t WHERE s IS NOT NULL").await,
        0
    );
    let done = transform(&manager, "t")
        .write(&["s"])
        .quiet()
        .run(|_| Ok(Some(vec![Value::from("ok")])))
        .await
        .unwrap();
    assert_eq!(done as i64, N);
    assert_eq!(last_transform_path(), Some(TransformPath::InEngine));
}
