//! Batch alter on every backend against a table with rows, indexes, a unique and a check constraint,
//! incoming and outgoing foreign keys, a trigger and a view: round trips, refusals, and failures halfway.

use migration_core::batch::{AlterColumn, BatchAlter, BatchError, IndexSpec};
use migration_core::schema::{ColType, Schema};
use migration_core::testing::{ALL, TestDb};
use migration_core::url::Dialect;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr, Statement, TransactionTrait};
use sea_orm_migration::SchemaManager;
use sea_orm_migration::prelude::{Alias, ColumnDef, ColumnType, Expr, StringLen};
use sea_orm_migration::schema::{boolean, integer, text_null};

fn fixture(d: Dialect) -> Vec<&'static str> {
    match d {
        Dialect::Sqlite => vec![
            "CREATE TABLE owners (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL)",
            "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(100) NOT NULL, qty INTEGER NOT NULL DEFAULT 1, price REAL, note TEXT, owner_id INTEGER, \
             CONSTRAINT uq_items_name UNIQUE (name), CONSTRAINT ck_items_qty CHECK (qty >= 0), \
             CONSTRAINT fk_items_owner FOREIGN KEY (owner_id) REFERENCES owners (id) ON DELETE SET NULL)",
            "CREATE INDEX ix_items_qty ON items (qty)",
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL, CONSTRAINT fk_orders_item FOREIGN KEY (item_id) REFERENCES items (id))",
            "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER, what TEXT)",
            "CREATE TRIGGER tr_items_audit AFTER UPDATE OF qty ON items BEGIN INSERT INTO audit (item_id, what) VALUES (NEW.id, 'qty'); END",
            "CREATE VIEW v_items AS SELECT id, name, qty FROM items",
        ],
        Dialect::Postgres => vec![
            "CREATE TABLE owners (id SERIAL PRIMARY KEY, name TEXT NOT NULL)",
            "CREATE TABLE items (id SERIAL PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INTEGER NOT NULL DEFAULT 1, price DOUBLE PRECISION, note TEXT, owner_id INTEGER, \
             CONSTRAINT uq_items_name UNIQUE (name), CONSTRAINT ck_items_qty CHECK (qty >= 0), \
             CONSTRAINT fk_items_owner FOREIGN KEY (owner_id) REFERENCES owners (id) ON DELETE SET NULL)",
            "CREATE INDEX ix_items_qty ON items (qty)",
            "CREATE TABLE orders (id SERIAL PRIMARY KEY, item_id INTEGER NOT NULL, CONSTRAINT fk_orders_item FOREIGN KEY (item_id) REFERENCES items (id))",
            "CREATE TABLE audit (id SERIAL PRIMARY KEY, item_id INTEGER, what TEXT)",
            "CREATE FUNCTION f_items_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit (item_id, what) VALUES (NEW.id, 'qty'); RETURN NEW; END $$",
            "CREATE TRIGGER tr_items_audit AFTER UPDATE OF qty ON items FOR EACH ROW EXECUTE FUNCTION f_items_audit()",
            "CREATE VIEW v_items AS SELECT id, name, qty FROM items",
        ],
        Dialect::MySql => vec![
            "CREATE TABLE owners (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL)",
            "CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, qty INT NOT NULL DEFAULT 1, price DOUBLE, note TEXT, owner_id INT, \
             CONSTRAINT uq_items_name UNIQUE (name), CONSTRAINT ck_items_qty CHECK (qty >= 0), \
             CONSTRAINT fk_items_owner FOREIGN KEY (owner_id) REFERENCES owners (id) ON DELETE SET NULL)",
            "CREATE INDEX ix_items_qty ON items (qty)",
            "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, item_id INT NOT NULL, CONSTRAINT fk_orders_item FOREIGN KEY (item_id) REFERENCES items (id))",
            "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, item_id INT, what TEXT)",
            "CREATE TRIGGER tr_items_audit AFTER UPDATE ON items FOR EACH ROW INSERT INTO audit (item_id, what) VALUES (NEW.id, 'qty')",
            "CREATE VIEW v_items AS SELECT id, name, qty FROM items",
        ],
    }
}

async fn exec(conn: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    conn.execute_unprepared(sql).await.map(|_| ())
}

/// The one integer a query returns (COUNT, MAX or SUM, whatever type the backend gives it).
async fn count(conn: &impl ConnectionTrait, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    if let Ok(v) = row.try_get_by_index::<i64>(0) {
        return v;
    }
    if let Ok(v) = row.try_get_by_index::<i32>(0) {
        return v.into();
    }
    let v: sea_orm::prelude::Decimal = row.try_get_by_index(0).unwrap();
    v.to_string().parse().unwrap()
}

/// A fresh database with the fixture and 49 items (item 50 was deleted, so
/// the auto-increment counter is ahead of the highest id).
async fn setup(d: Dialect, label: &str) -> Option<(TestDb, DatabaseConnection)> {
    let db = TestDb::create(d, label).await?;
    let conn = Database::connect(&db.url).await.unwrap();
    for sql in fixture(d) {
        exec(&conn, sql).await.unwrap();
    }
    exec(
        &conn,
        "INSERT INTO owners (name) VALUES ('a'), ('b'), ('c')",
    )
    .await
    .unwrap();
    for i in 1..=50 {
        let note = if i % 2 == 0 {
            format!("'note {i}'")
        } else {
            "NULL".into()
        };
        exec(
            &conn,
            &format!(
                "INSERT INTO items (name, qty, price, note, owner_id) VALUES ('item-{i}', {i}, {}, {note}, {})",
                f64::from(i) * 1.5,
                i % 3 + 1
            ),
        )
        .await
        .unwrap();
    }
    for i in 1..=20 {
        exec(&conn, &format!("INSERT INTO orders (item_id) VALUES ({i})"))
            .await
            .unwrap();
    }
    exec(&conn, "DELETE FROM items WHERE id = 50")
        .await
        .unwrap();
    Some((db, conn))
}

/// Runs a batch the way the runner runs a migration: in a transaction, through a SchemaManager.
async fn run(conn: &DatabaseConnection, batch: &BatchAlter) -> Result<(), BatchError> {
    let txn = conn.begin().await.unwrap();
    let result = batch.run(&SchemaManager::new(&txn)).await;
    match result {
        Ok(()) => {
            txn.commit().await.unwrap();
            Ok(())
        }
        Err(e) => {
            txn.rollback().await.unwrap();
            Err(e)
        }
    }
}

async fn reflect(conn: &DatabaseConnection) -> Schema {
    migration_core::backend::reflect(conn, &[]).await.unwrap()
}

fn text(d: Dialect, col: &str) -> String {
    match d {
        Dialect::MySql => format!("CAST({col} AS CHAR)"),
        _ => format!("CAST({col} AS TEXT)"),
    }
}

/// Every item as text, in id order.
async fn rows(conn: &DatabaseConnection, d: Dialect, columns: &[&str]) -> Vec<Vec<Option<String>>> {
    let list: Vec<String> = columns.iter().map(|c| text(d, c)).collect();
    let sql = format!("SELECT {} FROM items ORDER BY id", list.join(", "));
    let result = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap();
    result
        .iter()
        .map(|r| {
            (0..columns.len())
                .map(|i| r.try_get_by_index::<Option<String>>(i).unwrap())
                .collect()
        })
        .collect()
}

/// The definitions of the views and triggers, as the catalog keeps them.
async fn objects(conn: &DatabaseConnection, d: Dialect) -> Vec<String> {
    let sql = match d {
        Dialect::Sqlite => {
            "SELECT type || ' ' || name || ': ' || sql FROM sqlite_master WHERE type IN ('view', 'trigger') ORDER BY name"
        }
        Dialect::Postgres => {
            "SELECT 'view ' || viewname || ': ' || definition FROM pg_views WHERE schemaname = current_schema() \
             UNION ALL SELECT 'trigger ' || tgname || ': ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"
        }
        Dialect::MySql => {
            "SELECT CAST(CONCAT('view ', table_name, ': ', view_definition) AS CHAR) FROM information_schema.views WHERE table_schema = DATABASE() \
             UNION ALL SELECT CAST(CONCAT('trigger ', trigger_name, ': ', action_statement) AS CHAR) FROM information_schema.triggers WHERE trigger_schema = DATABASE() ORDER BY 1"
        }
    };
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

fn up_batch() -> BatchAlter {
    let mut b = BatchAlter::new("items");
    b.alter_column(
        "qty",
        AlterColumn::new()
            .type_(ColumnType::BigInteger)
            .existing_type(ColumnType::Integer),
    )
    .alter_column(
        "price",
        AlterColumn::new()
            .not_null()
            .default(0.0)
            .existing_nullable(true)
            .existing_no_default(),
    )
    .drop_column_def(text_null(Alias::new("note")))
    .add_column(boolean(Alias::new("flag")).default(false))
    .rename_column("owner_id", "owner")
    .add_check("ck_items_price", "price >= 0")
    .add_unique("uq_items_name_qty", &["name", "qty"])
    .create_index(IndexSpec::new("ix_items_price", &["price"]))
    .drop_index_def(IndexSpec::new("ix_items_qty", &["qty"]));
    b
}

#[tokio::test]
async fn round_trip_keeps_rows_constraints_and_references() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "batchroundtrip").await else {
            continue;
        };
        let before = reflect(&conn).await;
        let kept = ["id", "name", "qty", "price"];
        let rows_before = rows(&conn, d, &["id", "name", "qty", "price", "owner_id"]).await;
        let objects_before = objects(&conn, d).await;
        let batch = up_batch();
        run(&conn, &batch)
            .await
            .unwrap_or_else(|e| panic!("{}: up: {e}", d.name()));

        // The new shape.
        let after = reflect(&conn).await;
        let items = after.table("items").unwrap();
        let col = |n: &str| items.column(n);
        assert!(
            col("note").is_none() && col("owner_id").is_none(),
            "{items}"
        );
        assert!(!col("flag").unwrap().nullable, "{items}");
        assert!(!col("price").unwrap().nullable, "{items}");
        if d != Dialect::Sqlite {
            // SQLite writes `integer` for both (see ColType).
            assert_eq!(col("qty").unwrap().col_type, ColType::BigInt, "{items}");
        }
        assert!(items.checks.iter().any(|c| c.contains("price")), "{items}");
        assert!(
            items
                .indexes
                .iter()
                .any(|i| i.unique && i.columns == ["name", "qty"]),
            "{items}"
        );
        assert!(
            !items.indexes.iter().any(|i| i.columns == ["qty"]),
            "{items}"
        );
        assert_eq!(items.foreign_keys.len(), 1, "{items}");
        assert_eq!(items.foreign_keys[0].columns, ["owner"], "{items}");
        // Every row, with the kept columns unchanged and the new one filled.
        let mut now = rows(&conn, d, &["id", "name", "qty", "price", "owner"]).await;
        assert_eq!(now, rows_before, "{}", d.name());
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM items WHERE flag = false").await,
            49
        );
        // References, both ways, the view, the trigger and the new check still work.
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM orders").await, 20);
        assert!(
            exec(&conn, "DELETE FROM items WHERE id = 1").await.is_err(),
            "{}: incoming FK",
            d.name()
        );
        assert!(
            exec(
                &conn,
                "INSERT INTO items (name, qty, price, owner) VALUES ('x', 1, 1, 999)"
            )
            .await
            .is_err(),
            "{}: outgoing FK",
            d.name()
        );
        assert!(
            exec(&conn, "UPDATE items SET price = -1 WHERE id = 1")
                .await
                .is_err(),
            "{}: check",
            d.name()
        );
        assert!(
            exec(&conn, "UPDATE items SET qty = -1 WHERE id = 1")
                .await
                .is_err(),
            "{}: old check",
            d.name()
        );
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM v_items").await, 49);
        exec(&conn, "UPDATE items SET qty = qty + 1 WHERE id = 1")
            .await
            .unwrap();
        exec(&conn, "UPDATE items SET qty = qty - 1 WHERE id = 1")
            .await
            .unwrap();
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM audit").await,
            2,
            "{}: trigger",
            d.name()
        );
        // The auto-increment counter survived: item 50 was used once already.
        exec(
            &conn,
            "INSERT INTO items (name, qty, price, owner) VALUES ('new', 1, 1, 1)",
        )
        .await
        .unwrap();
        // (PostgreSQL and InnoDB also spent a value on the failed insert above.)
        assert!(
            count(&conn, "SELECT MAX(id) FROM items").await > 50,
            "{}",
            d.name()
        );
        exec(&conn, "DELETE FROM items WHERE name = 'new'")
            .await
            .unwrap();
        if d == Dialect::Sqlite {
            assert!(
                conn.query_all_raw(Statement::from_string(
                    conn.get_database_backend(),
                    "PRAGMA foreign_key_check"
                ))
                .await
                .unwrap()
                .is_empty()
            );
        }

        // And back.
        run(&conn, &batch.reverse().unwrap())
            .await
            .unwrap_or_else(|e| panic!("{}: down: {e}", d.name()));
        let back = reflect(&conn).await;
        let diff = before.diff_lines(&back);
        assert!(diff.is_empty(), "{}:\n{}", d.name(), diff.join("\n"));
        now = rows(&conn, d, &["id", "name", "qty", "price", "owner_id"]).await;
        assert_eq!(now, rows_before, "{}", d.name());
        assert_eq!(rows(&conn, d, &kept).await.len(), 49);
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM items WHERE note IS NOT NULL").await,
            0
        );
        assert_eq!(objects(&conn, d).await, objects_before, "{}", d.name());
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM orders").await, 20);
        assert!(
            exec(&conn, "DELETE FROM items WHERE id = 2").await.is_err(),
            "{}: incoming FK after down",
            d.name()
        );
    }
}

async fn assert_unchanged(
    conn: &DatabaseConnection,
    d: Dialect,
    before: &Schema,
    rows_before: &[Vec<Option<String>>],
) {
    let diff = before.diff_lines(&reflect(conn).await);
    assert!(diff.is_empty(), "{}:\n{}", d.name(), diff.join("\n"));
    assert_eq!(
        rows(conn, d, &["id", "name", "qty", "price", "note", "owner_id"]).await,
        rows_before,
        "{}",
        d.name()
    );
}

#[tokio::test]
async fn failure_halfway_leaves_table_and_rows() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "batchhalfway").await else {
            continue;
        };
        let before = reflect(&conn).await;
        let rows_before = rows(
            &conn,
            d,
            &["id", "name", "qty", "price", "note", "owner_id"],
        )
        .await;
        let mut b = BatchAlter::new("items");
        b.add_column(boolean(Alias::new("flag")).default(false))
            .alter_column("qty", AlterColumn::new().type_(ColumnType::BigInteger))
            .alter_column("note", AlterColumn::new().not_null());

        // The pre-check refuses before anything is touched, on every backend.
        match run(&conn, &b).await.unwrap_err() {
            BatchError::Refused { problem, fix, .. } => {
                assert!(
                    problem.contains("25 row(s) have NULL in `note`"),
                    "{problem}"
                );
                assert!(fix.contains(".default("), "{fix}");
            }
            other => panic!("{}: {other}", d.name()),
        }
        assert_unchanged(&conn, d, &before, &rows_before).await;

        // Without pre-checks the database itself fails halfway: SQLite in the
        // INSERT … SELECT of the rebuild, PostgreSQL at SET NOT NULL, both
        // inside the transaction; MySQL/MariaDB in its one ALTER TABLE.
        b.skip_prechecks();
        match run(&conn, &b).await.unwrap_err() {
            BatchError::Failed { state, source, .. } => {
                let expected = if d == Dialect::MySql {
                    "failed as a whole"
                } else {
                    "rolled back"
                };
                assert!(state.contains(expected), "{}: {state} ({source})", d.name());
            }
            other => panic!("{}: {other}", d.name()),
        }
        assert_unchanged(&conn, d, &before, &rows_before).await;
        if d == Dialect::Sqlite {
            assert_eq!(
                count(
                    &conn,
                    "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '_batch_tmp%'"
                )
                .await,
                0
            );
        }
    }
}

/// Adds operations to a batch.
type Build = Box<dyn Fn(&mut BatchAlter)>;

#[tokio::test]
async fn prechecks_refuse_with_counts_and_a_fix() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "batchprecheck").await else {
            continue;
        };
        exec(
            &conn,
            "CREATE TABLE codes (id INTEGER PRIMARY KEY, code VARCHAR(20), amount VARCHAR(20))",
        )
        .await
        .unwrap();
        exec(&conn, "INSERT INTO codes (id, code, amount) VALUES (1, '1', '1.5'), (2, 'x2', 'abc'), (3, ' 3', '2e3'), (4, NULL, NULL)")
            .await
            .unwrap();
        let before = reflect(&conn).await;
        let rows_before = rows(
            &conn,
            d,
            &["id", "name", "qty", "price", "note", "owner_id"],
        )
        .await;
        let cases: Vec<(&str, Build, &str)> = vec![
            (
                "codes",
                Box::new(|b| {
                    b.alter_column("code", AlterColumn::new().type_(ColumnType::Integer));
                }),
                "1 row(s) have a value in `code` that cannot become",
            ),
            (
                "codes",
                Box::new(|b| {
                    b.alter_column("amount", AlterColumn::new().type_(ColumnType::Double));
                }),
                "1 row(s) have a value in `amount`",
            ),
            (
                "items",
                Box::new(|b| {
                    b.add_unique("uq_owner", &["owner_id"]);
                }),
                "3 value(s) of",
            ),
            (
                "items",
                Box::new(|b| {
                    b.add_check("ck_small", "qty < 10");
                }),
                "40 row(s) fail CHECK (qty < 10)",
            ),
            (
                "items",
                Box::new(|b| {
                    b.add_foreign_key(migration_core::batch::ForeignKeySpec::new(
                        "fk_qty",
                        &["qty"],
                        "owners",
                        &["id"],
                    ));
                }),
                "46 row(s) reference rows of `owners` that do not exist",
            ),
            (
                "items",
                Box::new(|b| {
                    b.add_column(integer(Alias::new("required")));
                }),
                "has no default to fill them",
            ),
            (
                "items",
                Box::new(|b| {
                    b.rename_column("owner_id", "owner")
                        .add_check("ck_owner", "owner < 3");
                }),
                "row(s) fail CHECK (owner < 3)",
            ),
        ];
        for (table, build, expected) in cases {
            let mut b = BatchAlter::new(table);
            build(&mut b);
            match run(&conn, &b).await {
                Err(BatchError::Refused { problem, .. }) => {
                    assert!(
                        problem.contains(expected),
                        "{}: {problem} (expected {expected})",
                        d.name()
                    );
                }
                other => panic!(
                    "{}: expected a refusal ({expected}), got {other:?}",
                    d.name()
                ),
            }
        }
        if d != Dialect::Sqlite {
            // SQLite does not enforce lengths; the others would cut or fail.
            let mut b = BatchAlter::new("items");
            b.alter_column(
                "name",
                AlterColumn::new().type_(ColumnType::String(StringLen::N(6))),
            );
            match run(&conn, &b).await.unwrap_err() {
                BatchError::Refused { problem, .. } => {
                    assert!(problem.contains("40 row(s)"), "{problem}")
                }
                other => panic!("{other}"),
            }
        }
        assert_unchanged(&conn, d, &before, &rows_before).await;

        // Convertible data converts; the bad row fixed first.
        exec(&conn, "UPDATE codes SET code = '2' WHERE id = 2")
            .await
            .unwrap();
        let mut b = BatchAlter::new("codes");
        b.alter_column("code", AlterColumn::new().type_(ColumnType::Integer));
        run(&conn, &b).await.unwrap();
        assert_eq!(count(&conn, "SELECT SUM(code) FROM codes").await, 6);
        if d == Dialect::Sqlite {
            assert_eq!(
                count(
                    &conn,
                    "SELECT COUNT(*) FROM codes WHERE typeof(code) = 'integer'"
                )
                .await,
                3
            );
        }
        // A conversion of your own with using() (not on MySQL/MariaDB).
        let mut b = BatchAlter::new("codes");
        b.alter_column(
            "amount",
            AlterColumn::new().type_(ColumnType::Double).using(match d {
                Dialect::Postgres => {
                    "CASE WHEN amount ~ '^[0-9.e]+$' THEN amount::double precision END"
                }
                _ => "CASE WHEN amount GLOB '[0-9]*' THEN amount END",
            }),
        );
        let result = run(&conn, &b).await;
        if d == Dialect::MySql {
            assert!(
                matches!(result, Err(BatchError::Refused { .. })),
                "{result:?}"
            );
        } else {
            result.unwrap();
            assert_eq!(
                count(&conn, "SELECT COUNT(*) FROM codes WHERE amount IS NULL").await,
                2
            );
        }
    }
}

#[tokio::test]
async fn not_null_with_a_default_fills_the_nulls() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "batchfill").await else {
            continue;
        };
        let mut b = BatchAlter::new("items");
        b.alter_column(
            "note",
            AlterColumn::new().not_null().default(Expr::val("none")),
        );
        run(&conn, &b).await.unwrap();
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM items WHERE note = 'none'").await,
            25
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM items WHERE note LIKE 'note %'").await,
            24
        );
        assert!(
            exec(&conn, "INSERT INTO items (name, note) VALUES ('z', NULL)")
                .await
                .is_err()
        );
        exec(&conn, "INSERT INTO items (name) VALUES ('z')")
            .await
            .unwrap();
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM items WHERE note = 'none'").await,
            26
        );
    }
}

#[tokio::test]
async fn sqlite_cascading_children_need_their_own_transaction() {
    let Some((_db, conn)) = setup(Dialect::Sqlite, "batchcascade").await else {
        return;
    };
    exec(&conn, "CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items (id) ON DELETE CASCADE, label TEXT)")
        .await
        .unwrap();
    for i in 1..=10 {
        exec(
            &conn,
            &format!("INSERT INTO tags (item_id, label) VALUES ({i}, 't{i}')"),
        )
        .await
        .unwrap();
    }
    let mut b = BatchAlter::new("items");
    b.alter_column("note", AlterColumn::new().not_null().default(Expr::val("")));
    // Inside a transaction, dropping the old table would cascade to tags: refused.
    match run(&conn, &b).await.unwrap_err() {
        BatchError::Refused { problem, fix, .. } => {
            assert!(
                problem.contains("`tags` references it with ON DELETE CASCADE"),
                "{problem}"
            );
            assert!(fix.contains("use_transaction"), "{fix}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM tags").await, 10);
    // A migration without a transaction: the batch takes its own, with foreign keys off.
    b.run(&SchemaManager::new(&conn)).await.unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM tags").await, 10);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM orders").await, 20);
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM items WHERE note = ''").await,
        25
    );
    // Foreign keys are still on for everyone else, and still hold.
    assert_eq!(count(&conn, "PRAGMA foreign_keys").await, 1);
    assert!(
        exec(&conn, "INSERT INTO tags (item_id) VALUES (999)")
            .await
            .is_err()
    );
    exec(&conn, "DELETE FROM orders WHERE item_id = 3")
        .await
        .unwrap();
    exec(&conn, "DELETE FROM items WHERE id = 3").await.unwrap();
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM tags").await,
        9,
        "the cascade works on the new table"
    );
}

#[tokio::test]
async fn self_referencing_table_keeps_its_tree() {
    for d in ALL {
        let Some(db) = TestDb::create(d, "batchselfref").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        let ddl = match d {
            Dialect::MySql => {
                "CREATE TABLE nodes (id INT PRIMARY KEY, parent_id INT, label VARCHAR(20), CONSTRAINT fk_nodes_parent FOREIGN KEY (parent_id) REFERENCES nodes (id) ON DELETE CASCADE)"
            }
            _ => {
                "CREATE TABLE nodes (id INTEGER PRIMARY KEY, parent_id INTEGER, label VARCHAR(20), CONSTRAINT fk_nodes_parent FOREIGN KEY (parent_id) REFERENCES nodes (id) ON DELETE CASCADE)"
            }
        };
        exec(&conn, ddl).await.unwrap();
        exec(
            &conn,
            "INSERT INTO nodes VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 2, 'b'), (4, 1, NULL)",
        )
        .await
        .unwrap();
        let mut b = BatchAlter::new("nodes");
        b.alter_column(
            "label",
            AlterColumn::new().not_null().default(Expr::val("?")),
        );
        run(&conn, &b).await.unwrap();
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM nodes").await,
            4,
            "{}",
            d.name()
        );
        exec(&conn, "DELETE FROM nodes WHERE id = 2").await.unwrap();
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM nodes").await,
            2,
            "{}: cascade on itself",
            d.name()
        );
        assert!(
            exec(&conn, "INSERT INTO nodes VALUES (9, 8, 'x')")
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn column_def_from_sea_query_round_trips() {
    // A column added with a ColumnDef and dropped again restores the schema.
    for d in ALL {
        let Some((_db, conn)) = setup(d, "batchcoldef").await else {
            continue;
        };
        let before = reflect(&conn).await;
        let mut b = BatchAlter::new("items");
        b.add_column(
            ColumnDef::new(Alias::new("sku"))
                .string_len(32)
                .null()
                .to_owned(),
        )
        .create_index(IndexSpec::new("ix_items_sku", &["sku"]).unique());
        run(&conn, &b).await.unwrap();
        assert!(
            reflect(&conn)
                .await
                .table("items")
                .unwrap()
                .column("sku")
                .is_some()
        );
        run(&conn, &b.reverse().unwrap()).await.unwrap();
        let diff = before.diff_lines(&reflect(&conn).await);
        assert!(diff.is_empty(), "{}:\n{}", d.name(), diff.join("\n"));
    }
}

/// A rename of a column that a view and a trigger use leaves both working
/// (SQLite and PostgreSQL rewrite them) or is refused before anything
/// changes, naming them (MySQL/MariaDB rewrite neither); after the fix the
/// doc gives (drop the view, batch, create it again), it works there too.
#[tokio::test]
async fn renaming_a_column_views_and_triggers_use() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "batchrenamedeps").await else {
            continue;
        };
        let mut batch = BatchAlter::new("items");
        batch.rename_column("qty", "quantity");
        if d == Dialect::MySql {
            let before = reflect(&conn).await;
            let err = run(&conn, &batch).await.unwrap_err().to_string();
            assert!(err.contains("breaks view `v_items`"), "{err}");
            assert!(err.contains("drop those views"), "{err}");
            // The trigger's body has `'qty'` only as a string: not a use.
            assert!(!err.contains("tr_items_audit"), "{err}");
            assert!(before.diff_lines(&reflect(&conn).await).is_empty());
            exec(&conn, "DROP VIEW v_items").await.unwrap();
            run(&conn, &batch).await.unwrap();
            exec(
                &conn,
                "CREATE VIEW v_items AS SELECT id, name, quantity FROM items",
            )
            .await
            .unwrap();
        } else {
            run(&conn, &batch).await.unwrap();
        }
        let audit = count(&conn, "SELECT COUNT(*) FROM audit").await;
        exec(
            &conn,
            "UPDATE items SET quantity = quantity + 1 WHERE id <= 3",
        )
        .await
        .unwrap();
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM audit").await,
            audit + 3,
            "{}: the trigger fires after the rename",
            d.name()
        );
        let view_column = renamed_view_column(d);
        assert_eq!(
            count(&conn, &format!("SELECT SUM({view_column}) FROM v_items")).await,
            (1..=49).sum::<i64>() + 3,
            "{}: the view reads the renamed column",
            d.name()
        );
    }
}

/// A rename and a type change in one batch work where views use the column
/// (PostgreSQL re-creates them from their definitions after the rename), and
/// MySQL/MariaDB refuse it before anything changes.
#[tokio::test]
async fn rename_and_type_change_in_one_batch_with_a_view() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "batchrenametype").await else {
            continue;
        };
        let mut batch = BatchAlter::new("items");
        batch.rename_column("qty", "quantity");
        batch.alter_column("quantity", AlterColumn::new().type_(ColumnType::BigInteger));
        let before = reflect(&conn).await;
        let result = run(&conn, &batch).await;
        if d == Dialect::MySql {
            let err = result.unwrap_err().to_string();
            assert!(err.contains("breaks view `v_items`"), "{err}");
            assert!(before.diff_lines(&reflect(&conn).await).is_empty());
            continue;
        }
        result.unwrap();
        let after = reflect(&conn).await;
        let column = after.tables["items"].column("quantity").unwrap();
        assert_eq!(column.col_type, reflect_big_int(d), "{}", d.name());
        let view_column = renamed_view_column(d);
        assert_eq!(
            count(&conn, &format!("SELECT SUM({view_column}) FROM v_items")).await,
            (1..=49).sum::<i64>(),
            "{}",
            d.name()
        );
    }
}

/// The name `v_items` gives `qty` after the rename: PostgreSQL keeps a
/// view's own column names (the view follows the table's column, still
/// calling it `qty`); SQLite rewrites the view's text, and MySQL's view was
/// created again with the new name.
fn renamed_view_column(d: Dialect) -> &'static str {
    if d == Dialect::Postgres {
        "qty"
    } else {
        "quantity"
    }
}

/// What `BigInteger` reflects as (SQLite has one integer type).
fn reflect_big_int(d: Dialect) -> ColType {
    migration_core::backend::of(d).col_type_of(&ColumnType::BigInteger)
}

/// PostgreSQL never rewrites a trigger function's body: renaming or dropping
/// a column it reads as `NEW.col` is refused before anything changes.
#[tokio::test]
async fn postgres_trigger_function_naming_the_column_is_refused() {
    let Some((_db, conn)) = setup(Dialect::Postgres, "batchtrigfn").await else {
        return;
    };
    exec(
        &conn,
        "CREATE FUNCTION f_items_check() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.qty > 1000 THEN RAISE EXCEPTION 'too many'; END IF; RETURN NEW; END $$",
    )
    .await
    .unwrap();
    exec(
        &conn,
        "CREATE TRIGGER tr_items_check BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION f_items_check()",
    )
    .await
    .unwrap();
    let before = reflect(&conn).await;
    for build in [
        (|b: &mut BatchAlter| {
            b.rename_column("qty", "quantity");
        }) as fn(&mut BatchAlter),
        |b| {
            b.drop_column("qty");
        },
    ] {
        let mut batch = BatchAlter::new("items");
        build(&mut batch);
        let err = run(&conn, &batch).await.unwrap_err().to_string();
        assert!(err.contains("breaks trigger `tr_items_check`"), "{err}");
        assert!(err.contains("CREATE OR REPLACE FUNCTION"), "{err}");
        assert!(before.diff_lines(&reflect(&conn).await).is_empty());
    }
    // Writes still work: nothing was changed.
    exec(&conn, "UPDATE items SET qty = qty + 1 WHERE id = 1")
        .await
        .unwrap();
}

/// SQLite rewrites views and triggers on a rename, but not an FTS5 table
/// whose content is this table: refused before anything changes.
#[tokio::test]
async fn sqlite_fts5_external_content_is_refused() {
    let Some((_db, conn)) = setup(Dialect::Sqlite, "batchfts").await else {
        return;
    };
    exec(
        &conn,
        "CREATE VIRTUAL TABLE items_fts USING fts5(name, note, content='items', content_rowid='id')",
    )
    .await
    .unwrap();
    exec(&conn, "INSERT INTO items_fts(items_fts) VALUES('rebuild')")
        .await
        .unwrap();
    let before = reflect(&conn).await;
    let mut batch = BatchAlter::new("items");
    batch.rename_column("note", "remark");
    let err = run(&conn, &batch).await.unwrap_err().to_string();
    assert!(err.contains("breaks FTS5 table `items_fts`"), "{err}");
    assert!(before.diff_lines(&reflect(&conn).await).is_empty());
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM items_fts WHERE items_fts MATCH 'note'"
        )
        .await,
        24
    );
    // A column the FTS5 table does not index renames as usual.
    let mut other = BatchAlter::new("items");
    other.rename_column("price", "unit_price");
    run(&conn, &other).await.unwrap();
}

/// `skip_prechecks()` lets the database find bad rows, but never lets a
/// value be converted or filled silently: on every backend a type change
/// that cannot convert `'8.5'` or `'d1'`, and a new NOT NULL column without
/// a default on a table with rows, fail and leave the rows as they were.
#[tokio::test]
async fn skip_prechecks_never_converts_or_fills_silently() {
    for d in ALL {
        let Some((_db, conn)) = setup(d, "batchskipchecks").await else {
            continue;
        };
        exec(
            &conn,
            "CREATE TABLE codes (id INTEGER PRIMARY KEY, code VARCHAR(20))",
        )
        .await
        .unwrap();
        exec(
            &conn,
            "INSERT INTO codes (id, code) VALUES (1, '7'), (2, '8.5'), (3, 'd1')",
        )
        .await
        .unwrap();
        let before = reflect(&conn).await;
        let mut retype = BatchAlter::new("codes");
        retype
            .alter_column("code", AlterColumn::new().type_(ColumnType::Integer))
            .skip_prechecks();
        let err = run(&conn, &retype).await.unwrap_err();
        let mut add = BatchAlter::new("codes");
        add.add_column(integer("weight")).skip_prechecks();
        let err2 = run(&conn, &add).await.unwrap_err();
        assert!(
            before.diff_lines(&reflect(&conn).await).is_empty(),
            "{}: {err} / {err2}",
            d.name()
        );
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM codes WHERE (id = 2 AND code = '8.5') OR (id = 3 AND code = 'd1')"
            )
            .await,
            2,
            "{}: {err}",
            d.name()
        );
    }
}

/// Keys the backend named (`children_parent_id_fkey`, `children_ibfk_1`,
/// `code`, SQLite's unnamed inline ones) are dropped by their definition:
/// the batch reads each real name from the catalog, on every backend, with
/// rows in the table; the reverse re-creates them under the convention's names.
#[tokio::test]
async fn keys_the_backend_named_are_dropped_by_their_definition() {
    use migration_core::batch::ForeignKeySpec;
    use sea_orm_migration::prelude::ForeignKeyAction;
    for d in ALL {
        let Some(db) = TestDb::create(d, "batch_keys_by_def").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        for sql in [
            "CREATE TABLE parents (id INT PRIMARY KEY)",
            "CREATE TABLE children (id INT PRIMARY KEY, parent_id INT, code VARCHAR(20) UNIQUE, a INT, b INT, \
             UNIQUE (a, b), FOREIGN KEY (parent_id) REFERENCES parents (id) ON DELETE CASCADE)",
            "INSERT INTO parents (id) VALUES (1), (2), (3)",
            "INSERT INTO children (id, parent_id, code, a, b) VALUES (1, 1, 'x1', 1, 1), (2, 1, 'x2', 1, 2), (3, 2, 'x3', 2, 1)",
        ] {
            exec(&conn, sql).await.unwrap();
        }
        let before = reflect(&conn).await;

        // Columns in another order match nothing: refused, nothing changed.
        let mut wrong = BatchAlter::new("children");
        wrong.drop_unique_on(&["b", "a"]);
        let e = run(&conn, &wrong).await.unwrap_err().to_string();
        assert!(
            e.contains("no UNIQUE constraint or unique index is on exactly (b, a)")
                && e.contains("(a, b)"),
            "{d:?}: {e}"
        );
        assert!(reflect(&conn).await.diff_lines(&before).is_empty(), "{d:?}");

        let mut batch = BatchAlter::new("children");
        batch
            .drop_foreign_key_def(
                ForeignKeySpec::new("fk-children-parent_id", &["parent_id"], "parents", &["id"])
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .drop_unique_on(&["code"])
            .drop_unique_on(&["a", "b"]);
        run(&conn, &batch)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        let after = reflect(&conn).await;
        let t = &after.tables["children"];
        assert!(t.foreign_keys.is_empty(), "{d:?}: {:?}", t.foreign_keys);
        assert!(
            t.indexes.iter().all(|i| !i.unique),
            "{d:?}: {:?}",
            t.indexes
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM children").await,
            3,
            "{d:?}"
        );

        // The reverse puts them back, named by the convention.
        run(&conn, &batch.reverse().unwrap())
            .await
            .unwrap_or_else(|e| panic!("{d:?} reverse: {e}"));
        let back = reflect(&conn).await;
        let t = &back.tables["children"];
        assert_eq!(
            t.foreign_keys
                .iter()
                .map(|f| f.name.clone())
                .collect::<Vec<_>>(),
            [Some("fk-children-parent_id".to_owned())],
            "{d:?}"
        );
        let mut uniques: Vec<(Option<String>, Vec<String>)> = t
            .indexes
            .iter()
            .filter(|i| i.unique)
            .map(|i| (i.name.clone(), i.columns.clone()))
            .collect();
        uniques.sort();
        assert_eq!(
            uniques,
            [
                (
                    Some("idx-children-a-b".to_owned()),
                    vec!["a".to_owned(), "b".to_owned()]
                ),
                (
                    Some("idx-children-code".to_owned()),
                    vec!["code".to_owned()]
                ),
            ],
            "{d:?}"
        );
        // The cascade came back too: deleting a parent deletes its children.
        exec(&conn, "DELETE FROM parents WHERE id = 1")
            .await
            .unwrap();
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM children").await,
            1,
            "{d:?}"
        );
        conn.close().await.unwrap();
    }
}

/// SQLite: a foreign-key rule change on a table that other tables reference
/// with `ON DELETE CASCADE`, rows everywhere, inside the migration's
/// transaction: the definition is edited in place (no drop, so no cascade
/// fires), every row stays, and the new rule is in force. The same batch on
/// PostgreSQL and MariaDB, for comparison.
#[tokio::test]
async fn foreign_key_rule_change_on_a_referenced_table_keeps_every_row() {
    use migration_core::batch::ForeignKeySpec;
    use sea_orm_migration::prelude::ForeignKeyAction;
    for d in ALL {
        let Some(db) = TestDb::create(d, "batch_fk_rule_referenced").await else {
            continue;
        };
        let conn = Database::connect(&db.url).await.unwrap();
        for sql in [
            "CREATE TABLE customers (id INT PRIMARY KEY)",
            "CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, note VARCHAR(20) DEFAULT 'x', \
             CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE)",
            "CREATE TABLE order_items (id INT PRIMARY KEY, order_id INT NOT NULL, \
             CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE)",
            "INSERT INTO customers (id) VALUES (1), (2)",
            "INSERT INTO orders (id, customer_id) VALUES (10, 1), (11, 1), (12, 2)",
            "INSERT INTO order_items (id, order_id) VALUES (100, 10), (101, 10), (102, 11), (103, 12)",
        ] {
            exec(&conn, sql).await.unwrap();
        }
        let mut batch = BatchAlter::new("orders");
        batch
            .drop_foreign_key_def(
                ForeignKeySpec::new("fk_orders_customer", &["customer_id"], "customers", &["id"])
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .add_foreign_key(
                ForeignKeySpec::new("fk_orders_customer", &["customer_id"], "customers", &["id"])
                    .on_delete(ForeignKeyAction::SetNull),
            )
            .alter_column(
                "note",
                AlterColumn::new()
                    .default(Expr::val("y"))
                    .existing_default(Expr::val("x")),
            );
        run(&conn, &batch)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM orders").await,
            3,
            "{d:?}"
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM order_items").await,
            4,
            "{d:?}"
        );
        let fk = &reflect(&conn).await.tables["orders"].foreign_keys[0];
        assert_eq!(
            fk.on_delete,
            migration_core::schema::FkAction::SetNull,
            "{d:?}"
        );
        // The new rule holds: the orders of customer 1 stay, without it.
        exec(&conn, "DELETE FROM customers WHERE id = 1")
            .await
            .unwrap();
        assert_eq!(
            count(
                &conn,
                "SELECT COUNT(*) FROM orders WHERE customer_id IS NULL"
            )
            .await,
            2,
            "{d:?}"
        );
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM order_items").await,
            4,
            "{d:?}"
        );
        // And the new default.
        exec(&conn, "INSERT INTO orders (id) VALUES (13)")
            .await
            .unwrap();
        assert_eq!(
            count(&conn, "SELECT COUNT(*) FROM orders WHERE note = 'y'").await,
            1,
            "{d:?}"
        );
        conn.close().await.unwrap();
    }
}
