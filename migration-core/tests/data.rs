//! Data helpers on every backend: backfills and row transforms on 100,000 rows against a single UPDATE,
//! chunked inserts, table handles and the conditionals.

use migration_core::data::{
    self, TransformPath, backfill, column, has_column, has_index, has_table, insert_many, on,
    table, transform,
};
use migration_core::testing::{ALL, TestDb, count};
use migration_core::url::Dialect;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbErr, Statement, TransactionTrait, Value,
};
use sea_orm_migration::SchemaManager;
use sea_orm_migration::prelude::{Alias, Expr, ExprTrait};

const ROWS: i64 = 100_000;

async fn exec(conn: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    conn.execute_unprepared(sql).await.map(|_| ())
}

fn first(i: i64) -> Option<String> {
    (i % 11 != 0).then(|| format!("First{i}"))
}

fn last(i: i64) -> Option<String> {
    (i % 13 != 0).then(|| format!(" Last {} ", i % 977))
}

/// `people` with ROWS rows (ids with gaps: every 7th id is missing), inserted with insert_many.
async fn setup(d: Dialect, label: &str) -> Option<(TestDb, DatabaseConnection)> {
    let db = TestDb::create(d, label).await?;
    let conn = Database::connect(&db.url).await.unwrap();
    let id = match d {
        Dialect::MySql => "BIGINT PRIMARY KEY",
        _ => "BIGINT PRIMARY KEY",
    };
    exec(
        &conn,
        &format!(
            "CREATE TABLE people (id {id}, first_name VARCHAR(100), last_name VARCHAR(100), full_name VARCHAR(250), expected VARCHAR(250))"
        ),
    )
    .await
    .unwrap();
    let rows = (1..=ROWS + ROWS / 6)
        .filter(|i| i % 7 != 0)
        .take(ROWS as usize)
        .map(|i| vec![Value::from(i), first(i).into(), last(i).into()]);
    let txn = conn.begin().await.unwrap();
    let inserted = insert_many(
        &SchemaManager::new(&txn),
        "people",
        &["id", "first_name", "last_name"],
        rows,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(inserted, ROWS as u64);
    Some((db, conn))
}

fn concat(d: Dialect) -> &'static str {
    match d {
        Dialect::MySql => "CONCAT(first_name, ' ', last_name)",
        _ => "first_name || ' ' || last_name",
    }
}

/// The path a transform must take on `d`: in-engine on SQLite (the test
/// connections open after `TestDb::create` installed the function).
fn path_on(d: Dialect) -> Option<TransformPath> {
    Some(match d {
        Dialect::Sqlite => TransformPath::InEngine,
        _ => TransformPath::Driver,
    })
}

fn differ(d: Dialect) -> &'static str {
    match d {
        Dialect::MySql => "NOT (full_name <=> expected)",
        Dialect::Postgres => "full_name IS DISTINCT FROM expected",
        Dialect::Sqlite => "full_name IS NOT expected",
    }
}

#[tokio::test]
async fn backfill_equals_one_update() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "backfill").await else {
            continue;
        };
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM people").await, ROWS);
        exec(
            &conn,
            &format!("UPDATE people SET expected = {}", concat(d)),
        )
        .await
        .unwrap();
        let txn = conn.begin().await.unwrap();
        let manager = SchemaManager::new(&txn);
        let done = backfill(&manager, "people")
            .key("id")
            .set("full_name", Expr::cust(concat(d)))
            .batch_size(3000)
            .quiet()
            .run()
            .await
            .unwrap();
        txn.commit().await.unwrap();
        assert_eq!(done, ROWS as u64, "{}", d.name());
        let sql = format!("SELECT COUNT(*) FROM people WHERE {}", differ(d));
        assert_eq!(count(&conn, &sql).await, 0, "{}", d.name());

        // Filtered, on a plain connection (each batch commits on its own), with a constant.
        let manager = SchemaManager::new(&conn);
        let done = backfill(&manager, "people")
            .set("full_name", Expr::val("?"))
            .filter(column("first_name").is_null())
            .quiet()
            .run()
            .await
            .unwrap();
        let nulls = count(
            &conn,
            "SELECT COUNT(*) FROM people WHERE first_name IS NULL",
        )
        .await;
        assert_eq!(done as i64, nulls, "{}", d.name());
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM people WHERE full_name = '?'").await,
            nulls
        );
    }
}

/// The Rust side of the transform: "first last", trimmed, empty parts left out.
fn join(first: Option<String>, last: Option<String>) -> Option<String> {
    let parts: Vec<String> = [first, last]
        .into_iter()
        .flatten()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[tokio::test]
async fn transform_equals_the_rust_function() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "transform").await else {
            continue;
        };
        let txn = conn.begin().await.unwrap();
        let manager = SchemaManager::new(&txn);
        let done = transform(&manager, "people")
            .read(&["first_name", "last_name"])
            .write(&["full_name", "expected"])
            .batch_size(7000)
            .quiet()
            .run(|row| {
                let id: i64 = row.get("id")?;
                let full = join(row.get("first_name")?, row.get("last_name")?);
                // Leave every 100th row alone.
                Ok((id % 100 != 1).then(|| {
                    vec![
                        full.clone().into(),
                        Value::from(full.map(|f| f.len().to_string())),
                    ]
                }))
            })
            .await
            .unwrap();
        txn.commit().await.unwrap();
        assert_eq!(data::last_transform_path(), path_on(d), "{}", d.name());
        let skipped = count(&conn, "SELECT COUNT(*) FROM people WHERE id % 100 = 1").await;
        assert_eq!(done as i64, ROWS - skipped, "{}", d.name());
        // Check every row against the function.
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT id, first_name, last_name, full_name, expected FROM people ORDER BY id",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len() as i64, ROWS);
        for r in rows {
            let id: i64 = r.try_get_by_index(0).unwrap();
            let full: Option<String> = r.try_get_by_index(3).unwrap();
            let len: Option<String> = r.try_get_by_index(4).unwrap();
            if id % 100 == 1 {
                assert_eq!((full, len), (None, None), "row {id}");
            } else {
                let want = join(
                    r.try_get_by_index(1).unwrap(),
                    r.try_get_by_index(2).unwrap(),
                );
                assert_eq!(len, want.as_ref().map(|w| w.len().to_string()), "row {id}");
                assert_eq!(full, want, "{}: row {id}", d.name());
            }
        }
    }
}

#[tokio::test]
async fn text_keys_and_errors() {
    for d in ALL {
        let Some(db) = TestDb::create(d, "textkeys").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        exec(
            &conn,
            "CREATE TABLE codes (code VARCHAR(20) PRIMARY KEY, n INTEGER, label VARCHAR(40))",
        )
        .await
        .unwrap();
        let manager = SchemaManager::new(&conn);
        let rows = (0..2500).map(|i| {
            vec![
                format!("k{i:05}").into(),
                Value::from(i),
                Value::String(None),
            ]
        });
        insert_many(&manager, "codes", &["code", "n", "label"], rows)
            .await
            .unwrap();
        let done = backfill(&manager, "codes")
            .key("code")
            .set("label", Expr::cust("code"))
            .batch_size(333)
            .quiet()
            .run()
            .await
            .unwrap();
        assert_eq!(done, 2500);
        let done = transform(&manager, "codes")
            .key("code")
            .read(&["n"])
            .write(&["n"])
            .batch_size(400)
            .quiet()
            .run(|row| Ok(Some(vec![Value::from(row.get::<i32>("n")? * 2)])))
            .await
            .unwrap();
        assert_eq!(done, 2500);
        assert_eq!(data::last_transform_path(), path_on(d), "{}", d.name());
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM codes WHERE label = code").await,
            2500
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM codes WHERE n % 2 = 0").await,
            2500
        );

        // Mistakes are errors with the table's name, not panics.
        let e = transform(&manager, "codes")
            .key("code")
            .write(&["n", "label"])
            .quiet()
            .run(|_| Ok(Some(vec![Value::from(1)])))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("returned 1 values for 2 columns"),
            "{e}"
        );
        let e = backfill(&manager, "codes")
            .key("code")
            .run()
            .await
            .unwrap_err();
        assert!(e.to_string().contains("nothing to set"), "{e}");
        let e = insert_many(&manager, "codes", &["code", "n"], [vec![Value::from("x")]])
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("a row has 1 values for 2 columns"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn insert_many_chunks_to_the_parameter_limit() {
    for d in ALL {
        let Some(db) = TestDb::create(d, "insertmany").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        exec(
            &conn,
            "CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER, d INTEGER)",
        )
        .await
        .unwrap();
        let limit = data::max_bind_params(&conn);
        assert_eq!(limit, if d == Dialect::Sqlite { 32766 } else { 65535 });
        // Two and a half statements' worth of rows.
        let n = (limit / 4) * 5 / 2;
        let rows = (0..n as i64).map(|i| {
            vec![
                Value::from(i),
                Value::from(i),
                Value::from(i),
                Value::from(i),
            ]
        });
        let manager = SchemaManager::new(&conn);
        assert_eq!(
            insert_many(&manager, "t", &["a", "b", "c", "d"], rows)
                .await
                .unwrap(),
            n as u64
        );
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM t").await, n as i64);
    }
}

#[tokio::test]
async fn handles_and_conditionals() {
    for d in ALL {
        let Some(db) = TestDb::create(d, "handles").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        exec(
            &conn,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100), active INTEGER)",
        )
        .await
        .unwrap();
        exec(&conn, "CREATE INDEX ix_users_email ON users (email)")
            .await
            .unwrap();
        let manager = SchemaManager::new(&conn);
        assert!(has_table(&manager, "users").await.unwrap());
        assert!(!has_table(&manager, "nope").await.unwrap());
        assert!(has_column(&manager, "users", "email").await.unwrap());
        assert!(!has_column(&manager, "users", "nope").await.unwrap());
        assert!(
            has_index(&manager, "users", "ix_users_email")
                .await
                .unwrap()
        );
        assert!(!has_index(&manager, "users", "ix_nope").await.unwrap());

        let users = table("users");
        let mut insert = users.insert(&["id", "email", "active"]);
        for i in 0..10 {
            insert.values_panic([i.into(), format!("u{i}@x").into(), 1.into()]);
        }
        conn.execute(&insert).await.unwrap();
        let update = users
            .update()
            .value(Alias::new("active"), 0)
            .and_where(users.col("id").lt(5))
            .to_owned();
        assert_eq!(conn.execute(&update).await.unwrap().rows_affected(), 5);
        let delete = users.delete().and_where(column("id").eq(9)).to_owned();
        conn.execute(&delete).await.unwrap();
        let select = users
            .select(&["id"])
            .and_where(column("active").eq(1))
            .to_owned();
        assert_eq!(conn.query_all(&select).await.unwrap().len(), 4);

        let mut ran = Vec::new();
        for target in ALL {
            if on(&manager, target, || async { Ok(()) }).await.unwrap() {
                ran.push(target);
            }
        }
        assert_eq!(ran, [d]);
        assert_eq!(data::dialect(&manager), d);
    }
}

/// A text key for row `i`: quotes, a backslash, non-ASCII letters and an emoji.
fn odd_key(i: i64) -> String {
    let tail = ["'", "\"", "\\", "ключ", "鍵", "🔑", " x"][(i % 7) as usize];
    format!("k{i:05}{tail}")
}

/// The values the transform writes for row `i`: every column NULL on every
/// fifth row, otherwise an integer past 2^53, a double that needs all 17
/// digits, a flipped flag, bytes including 0 and 255, and text with quotes.
fn new_values(i: i64, b: bool, bin: &[u8], t: &str) -> Vec<Value> {
    if i % 5 == 0 {
        return vec![
            Value::BigInt(None),
            Value::Double(None),
            Value::Bool(None),
            Value::Bytes(None),
            Value::String(None),
        ];
    }
    let mut bytes: Vec<u8> = bin.iter().rev().copied().collect();
    bytes.extend([0, 255, b'\'']);
    vec![
        Value::from((1i64 << 53) + i),
        Value::from(i as f64 / 3.0),
        Value::from(!b),
        Value::from(bytes),
        Value::from(format!("{t} ✓ 'q' \"d\" \\ {i}")),
    ]
}

/// The row transform writes values of several types back exactly (NULLs,
/// big integers, doubles, booleans, bytes, text), keyed by text keys with
/// quotes and non-ASCII characters, with batches bigger than one statement's
/// parameter limit; `Row::get` errors name the column.
#[tokio::test]
async fn transform_writes_every_type_back() {
    const N: i64 = 12_000;
    for d in ALL {
        let Some(db) = TestDb::create(d, "kinds").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        let (double, bytes) = match d {
            Dialect::Postgres => ("DOUBLE PRECISION", "BYTEA"),
            Dialect::MySql => ("DOUBLE", "VARBINARY(64)"),
            Dialect::Sqlite => ("DOUBLE", "BLOB"),
        };
        exec(
            &conn,
            &format!(
                "CREATE TABLE kinds (code VARCHAR(40) PRIMARY KEY, n BIGINT, f {double}, b BOOLEAN, bin {bytes}, t VARCHAR(200))"
            ),
        )
        .await
        .unwrap();
        let manager = SchemaManager::new(&conn);
        let rows = (0..N).map(|i| {
            vec![
                odd_key(i).into(),
                Value::from(i),
                Value::from(i as f64 + 0.5),
                Value::from(i % 2 == 0),
                Value::from(vec![1u8, 2, (i % 256) as u8]),
                Value::from(format!("t{i}")),
            ]
        });
        insert_many(
            &manager,
            "kinds",
            &["code", "n", "f", "b", "bin", "t"],
            rows,
        )
        .await
        .unwrap();
        // 5 columns + the key: one batch of 12000 rows is 72000 parameters,
        // more than one statement takes on every backend.
        let txn = conn.begin().await.unwrap();
        let manager = SchemaManager::new(&txn);
        let mut checked = false;
        let odd_key = odd_key;
        let done = transform(&manager, "kinds")
            .key("code")
            .read(&["code", "n", "f", "b", "bin", "t"])
            .write(&["n", "f", "b", "bin", "t"])
            .batch_size(N as u64)
            .quiet()
            .run(move |row| {
                let code: String = row.get("code")?;
                let i: i64 = row.get("n")?;
                assert_eq!(code, odd_key(i));
                assert_eq!(row.get::<f64>("f")?, i as f64 + 0.5);
                if !checked {
                    let e = row.get::<i64>("nope").unwrap_err().to_string();
                    assert!(e.contains("nope"), "{e}");
                    let e = row.get::<String>("n").unwrap_err().to_string();
                    assert!(!e.is_empty());
                    checked = true;
                }
                let b: bool = row.get("b")?;
                let bin: Vec<u8> = row.get("bin")?;
                let t: String = row.get("t")?;
                Ok(Some(new_values(i, b, &bin, &t)))
            })
            .await
            .unwrap();
        txn.commit().await.unwrap();
        assert_eq!(done, N as u64, "{}", d.name());
        assert_eq!(data::last_transform_path(), path_on(d), "{}", d.name());
        let rows = conn
            .query_all_raw(Statement::from_string(
                conn.get_database_backend(),
                "SELECT code, n, f, b, bin, t FROM kinds",
            ))
            .await
            .unwrap();
        assert_eq!(rows.len() as i64, N);
        let mut seen = std::collections::HashSet::new();
        for r in rows {
            let code: String = r.try_get_by_index(0).unwrap();
            let i: i64 = code[1..6].parse().unwrap();
            assert_eq!(code, odd_key(i), "{}", d.name());
            seen.insert(i);
            let want = new_values(i, i % 2 == 0, &[1u8, 2, (i % 256) as u8], &format!("t{i}"));
            let got = vec![
                Value::BigInt(r.try_get_by_index(1).unwrap()),
                Value::Double(r.try_get_by_index(2).unwrap()),
                Value::Bool(r.try_get_by_index(3).unwrap()),
                Value::Bytes(r.try_get_by_index(4).unwrap()),
                Value::String(r.try_get_by_index(5).unwrap()),
            ];
            assert_eq!(got, want, "{}: row {i}", d.name());
        }
        assert_eq!(seen.len() as i64, N);
        // A NULL read into a non-Option type is an error naming the column.
        let e = transform(&manager_for(&conn), "kinds")
            .key("code")
            .read(&["n"])
            .write(&["n"])
            .quiet()
            .run(|row| Ok(Some(vec![Value::from(row.get::<i64>("n")?)])))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("null") && e.contains("\"n\""),
            "{}: {e}",
            d.name()
        );
    }
}

fn manager_for(conn: &DatabaseConnection) -> SchemaManager<'_> {
    SchemaManager::new(conn)
}
