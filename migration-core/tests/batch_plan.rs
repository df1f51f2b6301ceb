//! SQL capture of the SQLite batch planner: given `sqlite_master` rows and a batch, the exact statements. No database.

use migration_core::backend::sqlite::batch::{MasterRow, SqliteSnapshot, plan};
use migration_core::batch::{AlterColumn, BatchAlter, BatchError, ForeignKeySpec, IndexSpec};
use sea_orm_migration::prelude::{Alias, ColumnDef, ColumnType, Expr, ForeignKeyAction};
use sea_orm_migration::schema::{boolean, text_null};

const ITEMS: &str = "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(100) NOT NULL, qty INTEGER NOT NULL DEFAULT 1, price REAL, note TEXT, owner_id INTEGER, parent_id INTEGER REFERENCES items (id), CONSTRAINT uq_items_name UNIQUE (name), CONSTRAINT ck_items_qty CHECK (qty >= 0), CONSTRAINT fk_items_owner FOREIGN KEY (owner_id) REFERENCES owners (id) ON DELETE SET NULL)";

fn snapshot() -> SqliteSnapshot {
    let mut s = SqliteSnapshot::new(
        "items",
        vec![
            MasterRow::new(
                "table",
                "owners",
                "owners",
                "CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT)",
            ),
            MasterRow::new("table", "items", "items", ITEMS),
            MasterRow::new(
                "index",
                "ix_items_qty",
                "items",
                "CREATE INDEX ix_items_qty ON items (qty)",
            ),
            MasterRow::new(
                "index",
                "ix_items_note",
                "items",
                "CREATE INDEX ix_items_note ON items (note)",
            ),
            MasterRow::new(
                "table",
                "orders",
                "orders",
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items (id))",
            ),
            MasterRow::new(
                "trigger",
                "tr_items_audit",
                "items",
                "CREATE TRIGGER tr_items_audit AFTER UPDATE OF qty ON items BEGIN SELECT 1; END",
            ),
            MasterRow::new(
                "view",
                "v_items",
                "v_items",
                "CREATE VIEW v_items AS SELECT id, name, qty FROM items",
            ),
            MasterRow::new(
                "view",
                "v_big",
                "v_big",
                "CREATE VIEW v_big AS SELECT * FROM v_items WHERE qty > 10",
            ),
            MasterRow::new(
                "view",
                "v_owners",
                "v_owners",
                "CREATE VIEW v_owners AS SELECT * FROM owners",
            ),
        ],
    );
    s.sequence = Some(42);
    s
}

fn refused(e: BatchError) -> (String, String) {
    match e {
        BatchError::Refused { problem, fix, .. } => (problem, fix),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[test]
fn rebuild_statements_in_order() {
    let mut b = BatchAlter::new("items");
    b.alter_column(
        "qty",
        AlterColumn::new().type_(ColumnType::Text).default("1"),
    )
    .alter_column(
        "price",
        AlterColumn::new().not_null().default(Expr::val(0.0)),
    )
    .drop_column("note")
    .add_column(boolean(Alias::new("flag")).default(false))
    .add_check("ck_items_price", "price >= 0");
    let p = plan(&snapshot(), &b).unwrap();
    assert!(p.rebuild && p.remaining.is_none());
    assert_eq!(
        p.statements,
        [
            "PRAGMA defer_foreign_keys = ON",
            "DROP VIEW \"v_big\"",
            "DROP VIEW \"v_items\"",
            "CREATE TABLE \"_batch_tmp_items\" ( id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(100) NOT NULL, qty text NOT NULL DEFAULT '1', price REAL NOT NULL DEFAULT 0, owner_id INTEGER, parent_id INTEGER REFERENCES \"_batch_tmp_items\" (id), \"flag\" boolean NOT NULL DEFAULT FALSE, CONSTRAINT uq_items_name UNIQUE (name), CONSTRAINT ck_items_qty CHECK (qty >= 0), CONSTRAINT fk_items_owner FOREIGN KEY (owner_id) REFERENCES owners (id) ON DELETE SET NULL, CONSTRAINT \"ck_items_price\" CHECK (price >= 0) )",
            "INSERT INTO \"_batch_tmp_items\" (\"id\", \"name\", \"qty\", \"price\", \"owner_id\", \"parent_id\") SELECT \"id\", \"name\", CAST(\"qty\" AS text), COALESCE(\"price\", 0), \"owner_id\", \"parent_id\" FROM \"items\"",
            "DROP TABLE \"items\"",
            "PRAGMA legacy_alter_table = ON",
            "ALTER TABLE \"_batch_tmp_items\" RENAME TO \"items\"",
            "PRAGMA legacy_alter_table = OFF",
            "CREATE INDEX ix_items_qty ON items (qty)",
            "UPDATE sqlite_sequence SET seq = MAX(seq, 42) WHERE name = 'items'",
            "INSERT INTO sqlite_sequence (name, seq) SELECT 'items', 42 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'items')",
            "CREATE TRIGGER tr_items_audit AFTER UPDATE OF qty ON items BEGIN SELECT 1; END",
            "CREATE VIEW v_items AS SELECT id, name, qty FROM items",
            "CREATE VIEW v_big AS SELECT * FROM v_items WHERE qty > 10",
        ]
    );
    assert_eq!(p.views, ["v_items", "v_big"]);
    assert_eq!(p.fk_check_tables, ["items", "orders"]);
    // NOT NULL with a default needs no NULL check; text needs no conversion check;
    // the new check is verified on the rows as they will be.
    assert_eq!(
        p.precheck_sql(),
        [
            "SELECT COUNT(*) FROM (SELECT \"id\" AS \"id\", \"name\" AS \"name\", \"qty\" AS \"qty\", COALESCE(\"price\", 0) AS \"price\", \"owner_id\" AS \"owner_id\", \"parent_id\" AS \"parent_id\", FALSE AS \"flag\" FROM \"items\") batch_p WHERE NOT (price >= 0)"
        ]
    );
}

#[test]
fn conversions_are_checked_and_cast() {
    let snap = SqliteSnapshot::new(
        "t",
        vec![MasterRow::new(
            "table",
            "t",
            "t",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, code TEXT, amount TEXT)",
        )],
    );
    let mut b = BatchAlter::new("t");
    b.alter_column("code", AlterColumn::new().type_(ColumnType::Integer))
        .alter_column(
            "amount",
            AlterColumn::new().type_(ColumnType::Double).not_null(),
        );
    let p = plan(&snap, &b).unwrap();
    assert_eq!(
        p.precheck_sql(),
        [
            "SELECT COUNT(*) FROM \"t\" WHERE \"code\" IS NOT NULL AND NOT ((typeof(\"code\") IN ('integer', 'real') OR CAST(\"code\" AS NUMERIC) = \"code\") AND CAST(CAST(\"code\" AS NUMERIC) AS INTEGER) = CAST(\"code\" AS NUMERIC))",
            "SELECT COUNT(*) FROM \"t\" WHERE \"amount\" IS NOT NULL AND NOT (typeof(\"amount\") IN ('integer', 'real') OR CAST(\"amount\" AS NUMERIC) = \"amount\")",
            "SELECT COUNT(*) FROM \"t\" WHERE \"amount\" IS NULL",
        ]
    );
    assert!(p.statements.contains(
        &"INSERT INTO \"_batch_tmp_t\" (\"id\", \"code\", \"amount\") SELECT \"id\", CAST(\"code\" AS integer), CAST(\"amount\" AS double) FROM \"t\"".to_string()
    ));
    // Without a view, trigger, sequence or child table: the bare 12 steps.
    assert_eq!(p.statements.len(), 7, "{:#?}", p.statements);
}

#[test]
fn native_when_sqlite_can() {
    let mut b = BatchAlter::new("items");
    b.add_column(text_null(Alias::new("comment")))
        .rename_column("price", "unit_price")
        .drop_index("ix_items_note")
        .drop_column("note")
        .create_index(IndexSpec::new("ix_items_price", &["unit_price"]));
    let p = plan(&snapshot(), &b).unwrap();
    assert!(!p.rebuild && !p.batch_rebuilds);
    assert_eq!(
        p.statements,
        [
            "DROP INDEX \"ix_items_note\"",
            "ALTER TABLE \"items\" RENAME COLUMN \"price\" TO \"unit_price\"",
            "ALTER TABLE \"items\" DROP COLUMN \"note\"",
            "ALTER TABLE \"items\" ADD COLUMN \"comment\" text NULL",
            "CREATE INDEX \"ix_items_price\" ON \"items\" (\"unit_price\")",
        ]
    );
}

#[test]
fn indexed_column_drop_rebuilds_without_its_index() {
    let mut b = BatchAlter::new("items");
    b.drop_column("note");
    let p = plan(&snapshot(), &b).unwrap();
    assert!(p.rebuild);
    assert!(
        !p.statements.iter().any(|s| s.contains("ix_items_note")),
        "{:#?}",
        p.statements
    );
    assert!(
        p.statements
            .contains(&"CREATE INDEX ix_items_qty ON items (qty)".to_string())
    );
}

#[test]
fn same_type_is_a_no_op() {
    // sea-query writes BigInteger as `integer` on SQLite: nothing to do.
    let mut b = BatchAlter::new("items");
    b.alter_column("qty", AlterColumn::new().type_(ColumnType::BigInteger));
    let p = plan(&snapshot(), &b).unwrap();
    assert!(p.statements.is_empty(), "{:#?}", p.statements);
}

#[test]
fn renames_run_first_then_the_rebuild_is_planned_again() {
    let mut b = BatchAlter::new("items");
    b.rename_column("owner_id", "owner")
        .alter_column("owner", AlterColumn::new().not_null().default(0));
    let p = plan(&snapshot(), &b).unwrap();
    assert!(p.batch_rebuilds && !p.rebuild);
    assert_eq!(
        p.statements,
        ["ALTER TABLE \"items\" RENAME COLUMN \"owner_id\" TO \"owner\""]
    );
    let rest = p.remaining.clone().unwrap();
    assert_eq!(rest.ops().len(), 1);
    // The pre-checks of the whole batch run before step one.
    assert!(p.precheck_sql().is_empty());
}

#[test]
fn foreign_keys_by_name_or_by_definition() {
    let mut b = BatchAlter::new("items");
    b.drop_foreign_key("fk_items_owner").add_foreign_key(
        ForeignKeySpec::new("fk_items_owner2", &["owner_id"], "owners", &["id"])
            .on_delete(ForeignKeyAction::Cascade),
    );
    let p = plan(&snapshot(), &b).unwrap();
    let create = p
        .statements
        .iter()
        .find(|s| s.starts_with("CREATE TABLE"))
        .unwrap();
    assert!(!create.contains("fk_items_owner FOREIGN"), "{create}");
    assert!(
        create.contains("CONSTRAINT \"fk_items_owner2\" FOREIGN KEY (\"owner_id\") REFERENCES \"owners\" (\"id\") ON DELETE CASCADE"),
        "{create}"
    );
    assert_eq!(
        p.precheck_sql().len(),
        1,
        "orphans are counted before the key is added"
    );

    // The column-level reference to items has no name: only its definition finds it.
    let mut b = BatchAlter::new("items");
    b.drop_foreign_key("fk_parent");
    let (problem, fix) = refused(plan(&snapshot(), &b).unwrap_err());
    assert!(
        problem.contains("no foreign key named `fk_parent`"),
        "{problem}"
    );
    assert!(fix.contains("drop_foreign_key_def"), "{fix}");
    let mut b = BatchAlter::new("items");
    b.drop_foreign_key_def(ForeignKeySpec::new(
        "fk_parent",
        &["parent_id"],
        "items",
        &["id"],
    ));
    let p = plan(&snapshot(), &b).unwrap();
    let create = p
        .statements
        .iter()
        .find(|s| s.starts_with("CREATE TABLE"))
        .unwrap();
    assert!(
        create.contains(", parent_id INTEGER, CONSTRAINT uq_items_name"),
        "{create}"
    );
}

#[test]
fn foreign_keys_off_keeps_self_references() {
    let mut snap = snapshot();
    snap.foreign_keys = false;
    let mut b = BatchAlter::new("items");
    b.add_unique("uq_items_qty", &["qty", "name"]);
    let p = plan(&snap, &b).unwrap();
    assert_eq!(p.statements[0], "DROP VIEW \"v_big\"");
    assert!(
        p.statements[2].contains("parent_id INTEGER REFERENCES items (id)"),
        "{}",
        p.statements[2]
    );
    assert!(p.statements[2].ends_with("CONSTRAINT \"uq_items_qty\" UNIQUE (\"qty\", \"name\") )"));
    assert_eq!(
        p.precheck_sql(),
        [
            "SELECT COUNT(*) FROM (SELECT \"qty\", \"name\" FROM (SELECT \"id\" AS \"id\", \"name\" AS \"name\", \"qty\" AS \"qty\", \"price\" AS \"price\", \"note\" AS \"note\", \"owner_id\" AS \"owner_id\", \"parent_id\" AS \"parent_id\" FROM \"items\") batch_p WHERE \"qty\" IS NOT NULL AND \"name\" IS NOT NULL GROUP BY \"qty\", \"name\" HAVING COUNT(*) > 1) batch_d"
        ]
    );
}

/// Adds operations to a batch.
type Build = Box<dyn Fn(&mut BatchAlter)>;

#[test]
fn refusals_before_anything() {
    let cases: Vec<(Build, &str)> = vec![
        (
            Box::new(|b| {
                b.drop_column("id");
            }),
            "part of the primary key",
        ),
        (
            Box::new(|b| {
                b.drop_column("nope");
            }),
            "no column `nope`",
        ),
        (
            Box::new(|b| {
                b.add_column(text_null(Alias::new("name")));
            }),
            "already exists",
        ),
        (
            Box::new(|b| {
                b.rename_column("qty", "name");
            }),
            "`name` already exists",
        ),
        (
            Box::new(|b| {
                b.drop_index("uq_items_name");
            }),
            "no index named `uq_items_name`",
        ),
        (
            Box::new(|b| {
                b.drop_check("ck_nope");
            }),
            "no check constraint named `ck_nope`",
        ),
        (
            Box::new(|b| {
                b.add_foreign_key(ForeignKeySpec::new("", &["qty"], "owners", &["id"]));
            }),
            "has no name",
        ),
        (
            Box::new(|b| {
                b.drop_column("qty");
            }),
            "trigger `tr_items_audit` uses column `qty`",
        ),
        (
            Box::new(|b| {
                b.drop_column("name");
            }),
            "view `v_items` uses column `name`",
        ),
        (
            Box::new(|b| {
                b.add_column(
                    ColumnDef::new(Alias::new("x"))
                        .integer()
                        .not_null()
                        .to_owned(),
                );
                b.alter_column("x", AlterColumn::new().null());
            }),
            "added by this same batch",
        ),
    ];
    for (build, expected) in cases {
        let mut b = BatchAlter::new("items");
        build(&mut b);
        let (problem, _) = refused(plan(&snapshot(), &b).unwrap_err());
        assert!(
            problem.contains(expected),
            "{problem} (expected {expected})"
        );
    }
    let mut b = BatchAlter::new("orders");
    b.drop_column("id");
    let mut snap = snapshot();
    snap.table = "nope".into();
    let (problem, _) = refused(plan(&snap, &b).unwrap_err());
    assert!(problem.contains("no such table"));
}

#[test]
fn dropping_a_referenced_column_is_refused() {
    let mut snap = snapshot();
    snap.master.push(MasterRow::new(
        "table",
        "tags",
        "tags",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, item_name TEXT REFERENCES items (name))",
    ));
    let mut b = BatchAlter::new("items");
    b.drop_column("price").drop_column("name");
    let (problem, fix) = refused(plan(&snap, &b).unwrap_err());
    assert!(
        problem.contains("`tags` (item_name) references column `name`"),
        "{problem}"
    );
    assert!(fix.contains("drop that foreign key first"), "{fix}");
}

#[test]
fn reverse_inverts_in_reverse_order() {
    let mut b = BatchAlter::new("items");
    b.alter_column(
        "qty",
        AlterColumn::new()
            .type_(ColumnType::BigInteger)
            .existing_type(ColumnType::Integer)
            .not_null()
            .existing_nullable(true),
    )
    .drop_column_def(text_null(Alias::new("note")))
    .add_column(boolean(Alias::new("flag")).default(false))
    .rename_column("owner_id", "owner")
    .add_unique("uq", &["name", "qty"])
    .add_check("ck", "qty > 0")
    .create_index(IndexSpec::new("ix", &["qty"]).unique());
    let back = b.reverse().unwrap();
    let names: Vec<String> = back.ops().iter().map(|op| format!("{op:?}")).collect();
    assert_eq!(names.len(), 7);
    assert!(
        names[0].starts_with("DropIndex { name: \"ix\""),
        "{}",
        names[0]
    );
    assert!(names[1].starts_with("DropCheck { name: \"ck\", expr: Some(\"qty > 0\")"));
    assert!(names[2].starts_with("DropUnique { name: \"uq\""));
    assert!(names[3].starts_with("RenameColumn { from: \"owner\", to: \"owner_id\" }"));
    assert!(names[4].starts_with("DropColumn { name: \"flag\""));
    assert!(names[5].starts_with("AddColumn("));
    assert!(names[6].starts_with("AlterColumn { name: \"qty\""));
    // Twice reversed is the same batch again.
    let again = back.reverse().unwrap();
    assert_eq!(format!("{:?}", again.ops()), format!("{:?}", b.ops()));

    let mut b = BatchAlter::new("items");
    b.drop_column("note");
    match b.reverse().unwrap_err() {
        BatchError::NotReversible { fix, .. } => assert!(fix.contains("drop_column_def")),
        other => panic!("{other}"),
    }
    let mut b = BatchAlter::new("items");
    b.alter_column("qty", AlterColumn::new().type_(ColumnType::BigInteger));
    assert!(matches!(b.reverse(), Err(BatchError::NotReversible { .. })));
}

/// In SQLite a backslash is an ordinary character in a literal: `'C:\'` is a
/// whole string, and the column after it is a column of its own (MySQL's
/// backslash escape would swallow the rest of the statement).
#[test]
fn a_backslash_before_a_quote_ends_a_sqlite_literal() {
    let snap = SqliteSnapshot::new(
        "paths",
        vec![MasterRow::new(
            "table",
            "paths",
            "paths",
            r"CREATE TABLE paths (id INTEGER PRIMARY KEY, root TEXT NOT NULL DEFAULT 'C:\', qty TEXT)",
        )],
    );
    let mut b = BatchAlter::new("paths");
    b.alter_column("qty", AlterColumn::new().type_(ColumnType::Integer));
    let p = plan(&snap, &b).unwrap();
    assert!(p.rebuild);
    let create = p
        .statements
        .iter()
        .find(|s| s.starts_with("CREATE TABLE"))
        .unwrap();
    assert_eq!(
        create,
        r#"CREATE TABLE "_batch_tmp_paths" ( id INTEGER PRIMARY KEY, root TEXT NOT NULL DEFAULT 'C:\', qty integer )"#
    );
}
