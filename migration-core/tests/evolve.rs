//! Evolve with rows in every table: one generated change, applied up, down and up again on every backend, keeping the data the change keeps.
//!
//! Version 0 of the entities is what "the migrations" produce (one revision
//! that creates it); version 1 is what the entities declare now. The change
//! between them is generated once, on PostgreSQL, and holds:
//!
//! * a foreign-key rule change (CASCADE -> RESTRICT) on `orders`, a table
//!   that `order_items` references with ON DELETE CASCADE and rows;
//! * nullability flips both ways (`customers.name` becomes nullable,
//!   `orders.note` NOT NULL) and a type widening (`orders.qty` i32 -> i64);
//! * a marked rename (`order_items.sku` -> `code`) and an unmarked drop +
//!   add (`customers.nickname` -> `handle`, data lost, as warned);
//! * the drop of a table others reference (`regions`, with the
//!   `customers.region_id` column and foreign key);
//! * a new unique (`customers.name`) and a dropped index (`tags.label`).
//!
//! On each backend, with rows in every table: up (then the database matches
//! the entities there, the rows are all there, RESTRICT holds), down (the
//! schema is version 0 again, every row kept, the dropped columns empty),
//! and up again.

use async_trait::async_trait;
use migration_core::autogen::{
    Comparison, Entities, Scratch, compare_project, compare_reflected, exec,
};
use migration_core::graph::Target;
use migration_core::revision::{Migrator, Revision};
use migration_core::runner::{Runner, RunnerOptions};
use migration_core::schema::Schema;
use migration_core::testing::{ALL, TestDb, admin_url};
use migration_core::url::Dialect;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Schema as OrmSchema,
    SchemaBuilder, Statement, TransactionTrait,
};
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager};

mod v0 {
    pub mod regions {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "regions")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            pub name: String,
            #[sea_orm(has_many)]
            pub customers: HasMany<super::customers::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod customers {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "customers")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            #[sea_orm(column_type = "String(StringLen::N(40))")]
            pub name: String,
            pub nickname: Option<String>,
            pub region_id: Option<i32>,
            #[sea_orm(belongs_to, from = "region_id", to = "id", on_delete = "SetNull")]
            pub region: BelongsTo<Option<super::regions::Entity>>,
            #[sea_orm(has_many)]
            pub orders: HasMany<super::orders::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod orders {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "orders")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            pub customer_id: i32,
            pub qty: i32,
            pub note: Option<String>,
            #[sea_orm(belongs_to, from = "customer_id", to = "id", on_delete = "Cascade")]
            pub customer: BelongsTo<super::customers::Entity>,
            #[sea_orm(has_many)]
            pub items: HasMany<super::order_items::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod order_items {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "order_items")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            pub order_id: i32,
            pub sku: String,
            #[sea_orm(belongs_to, from = "order_id", to = "id", on_delete = "Cascade")]
            pub order: BelongsTo<super::orders::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod tags {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "tags")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            #[sea_orm(indexed)]
            pub label: String,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

mod v1 {
    pub mod customers {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "customers")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            #[sea_orm(column_type = "String(StringLen::N(40))", unique)]
            pub name: Option<String>,
            pub handle: Option<String>,
            #[sea_orm(has_many)]
            pub orders: HasMany<super::orders::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod orders {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "orders")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            pub customer_id: i32,
            pub qty: i64,
            pub note: String,
            #[sea_orm(belongs_to, from = "customer_id", to = "id", on_delete = "Restrict")]
            pub customer: BelongsTo<super::customers::Entity>,
            #[sea_orm(has_many)]
            pub items: HasMany<super::order_items::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod order_items {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "order_items")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            pub order_id: i32,
            #[sea_orm(renamed_from = "sku")]
            pub code: String,
            #[sea_orm(belongs_to, from = "order_id", to = "id", on_delete = "Cascade")]
            pub order: BelongsTo<super::orders::Entity>,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
    pub mod tags {
        use sea_orm::entity::prelude::*;
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "tags")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: i32,
            pub label: String,
        }
        impl ActiveModelBehavior for ActiveModel {}
    }
}

fn v0_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b)
        .builder()
        .register(v0::regions::Entity)
        .register(v0::customers::Entity)
        .register(v0::orders::Entity)
        .register(v0::order_items::Entity)
        .register(v0::tags::Entity)
}

fn v1_schema(b: DbBackend) -> SchemaBuilder {
    OrmSchema::new(b)
        .builder()
        .register(v1::customers::Entity)
        .register(v1::orders::Entity)
        .register(v1::order_items::Entity)
        .register(v1::tags::Entity)
}

/// The revision that creates version 0 (stands for "the migrations").
struct CreateV0;

impl MigrationName for CreateV0 {
    fn name(&self) -> &str {
        "m20250101_000000_v0"
    }
}

#[async_trait]
impl MigrationTrait for CreateV0 {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        Entities::new(v0_schema)
            .apply(manager.get_connection())
            .await
    }
}

fn migrator() -> Migrator {
    Migrator::new(vec![Revision::new(
        "m20250101_000000_v0",
        &[],
        "create version 0",
        "test",
        "test",
        Box::new(CreateV0),
    )])
    .expect("valid graph")
}

fn scratch(dialect: Dialect) -> Scratch {
    Scratch {
        dialect,
        server_url: (dialect != Dialect::Sqlite).then(|| admin_url(dialect)),
        cache: None,
    }
}

async fn reflect(conn: &DatabaseConnection) -> Schema {
    migration_core::backend::reflect(conn, &["seaorm_revisions", "seaorm_revisions_hold"])
        .await
        .expect("reflect")
}

async fn exec_sql(conn: &DatabaseConnection, sql: &str) -> Result<(), DbErr> {
    conn.execute_unprepared(sql).await.map(|_| ())
}

/// The one integer a query returns, whatever type the backend gives it.
async fn number(conn: &DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("a row");
    if let Ok(v) = row.try_get_by_index::<i64>(0) {
        return v;
    }
    if let Ok(v) = row.try_get_by_index::<i32>(0) {
        return v.into();
    }
    let v: sea_orm::prelude::Decimal = row.try_get_by_index(0).expect("a number");
    v.to_string().parse().expect("an integer")
}

const ROWS: &[&str] = &[
    "INSERT INTO regions (id, name) VALUES (1, 'north'), (2, 'south')",
    "INSERT INTO customers (id, name, nickname, region_id) VALUES (1, 'ann', 'a', 1), (2, 'bob', 'b', 2), (3, 'cy', NULL, NULL)",
    "INSERT INTO orders (id, customer_id, qty, note) VALUES (10, 1, 5, 'n10'), (11, 1, 7, 'n11'), (12, 2, 9, 'n12'), (13, 3, 1, 'n13')",
    "INSERT INTO order_items (id, order_id, sku) VALUES (100, 10, 's100'), (101, 10, 's101'), (102, 11, 's102'), (103, 12, 's103'), (104, 13, 's104'), (105, 13, 's105')",
    "INSERT INTO tags (id, label) VALUES (1, 'x'), (2, 'y'), (3, 'z')",
];

/// Runs `ops` the way the runner runs a migration: in a transaction.
async fn run(conn: &DatabaseConnection, ops: &[migration_core::autogen::Op]) -> Result<(), DbErr> {
    let txn = conn.begin().await?;
    match exec::run(&SchemaManager::new(&txn), ops).await {
        Ok(()) => txn.commit().await,
        Err(e) => {
            let _ = txn.rollback().await;
            Err(e)
        }
    }
}

/// What version 1 keeps: every row, the values of kept and renamed
/// columns, RESTRICT in force; `nickname`'s data went with it.
async fn assert_v1_rows(conn: &DatabaseConnection, d: Dialect, when: &str) {
    let n = |sql: &'static str| number(conn, sql);
    assert_eq!(n("SELECT COUNT(*) FROM customers").await, 3, "{d:?} {when}");
    assert_eq!(n("SELECT COUNT(*) FROM orders").await, 4, "{d:?} {when}");
    assert_eq!(
        n("SELECT COUNT(*) FROM order_items").await,
        6,
        "{d:?} {when}"
    );
    assert_eq!(n("SELECT COUNT(*) FROM tags").await, 3, "{d:?} {when}");
    assert_eq!(n("SELECT SUM(qty) FROM orders").await, 22, "{d:?} {when}");
    assert_eq!(
        n("SELECT COUNT(*) FROM customers WHERE name IN ('ann', 'bob', 'cy')").await,
        3,
        "{d:?} {when}"
    );
    assert_eq!(
        n("SELECT COUNT(*) FROM order_items WHERE code LIKE 's1%'").await,
        6,
        "{d:?} {when}"
    );
    assert_eq!(
        n("SELECT COUNT(handle) FROM customers").await,
        0,
        "{d:?} {when}"
    );
    // RESTRICT: a customer with orders cannot go, and nothing cascades.
    assert!(
        exec_sql(conn, "DELETE FROM customers WHERE id = 3")
            .await
            .is_err(),
        "{d:?} {when}: RESTRICT did not hold"
    );
    assert_eq!(
        n("SELECT COUNT(*) FROM order_items").await,
        6,
        "{d:?} {when}"
    );
    // A wider qty holds a 64-bit value (SQLite's integer always did).
    exec_sql(conn, "UPDATE orders SET qty = 5000000000 WHERE id = 13")
        .await
        .unwrap_or_else(|e| panic!("{d:?} {when}: {e}"));
    exec_sql(conn, "UPDATE orders SET qty = 1 WHERE id = 13")
        .await
        .unwrap();
}

/// What version 0 gets back: every row, the renamed column's values under
/// the old name, the re-created table and columns empty.
async fn assert_v0_rows(conn: &DatabaseConnection, d: Dialect) {
    let n = |sql: &'static str| number(conn, sql);
    assert_eq!(n("SELECT COUNT(*) FROM customers").await, 3, "{d:?} down");
    assert_eq!(n("SELECT COUNT(*) FROM orders").await, 4, "{d:?} down");
    assert_eq!(n("SELECT COUNT(*) FROM order_items").await, 6, "{d:?} down");
    assert_eq!(n("SELECT COUNT(*) FROM regions").await, 0, "{d:?} down");
    assert_eq!(n("SELECT SUM(qty) FROM orders").await, 22, "{d:?} down");
    assert_eq!(
        n("SELECT COUNT(*) FROM order_items WHERE sku LIKE 's1%'").await,
        6,
        "{d:?} down"
    );
    assert_eq!(n("SELECT COUNT(note) FROM orders").await, 4, "{d:?} down");
    assert_eq!(
        n("SELECT COUNT(region_id) FROM customers").await,
        0,
        "{d:?} down"
    );
}

fn no_difference(cmp: &Comparison, schema: &Schema, d: Dialect, when: &str) {
    let again = compare_reflected(schema, &cmp.entities, &cmp.hints, d);
    assert!(
        again.is_empty(),
        "{d:?} {when}: the database differs from the entities:\n{}",
        again.difference_lines().join("\n")
    );
}

#[tokio::test]
async fn one_generated_change_up_down_up_with_rows_on_every_backend() {
    let migrator = migrator();
    let entities = Entities::new(v1_schema);
    // Generated once.
    let generated = compare_project(
        &migrator,
        &entities,
        &scratch(Dialect::Postgres),
        &Target::Heads,
    )
    .await
    .expect("compare on PostgreSQL");
    let plan = &generated.plan;
    assert!(plan.refused.is_empty(), "{:?}", plan.refused);
    let text = plan.difference_lines().join("\n");
    eprintln!("the change:\n{text}");
    assert!(
        text.contains("rename column `order_items`.`sku` to `code`"),
        "{text}"
    );
    assert!(text.contains("drop table `regions`"), "{text}");

    for d in ALL {
        let Some(db) = TestDb::create(d, "evolve").await else {
            continue;
        };
        let runner = Runner::connect(&migrator, &db.url, RunnerOptions::default())
            .await
            .unwrap();
        runner.upgrade(&Target::Heads).await.unwrap();
        let mut conn = Database::connect(&db.url).await.unwrap();
        for sql in ROWS {
            exec_sql(&conn, sql)
                .await
                .unwrap_or_else(|e| panic!("{d:?}: {sql}: {e}"));
        }
        let start = reflect(&conn).await;
        // The entities as this backend keeps them, to check against.
        let here = compare_project(&migrator, &entities, &scratch(d), &Target::Heads)
            .await
            .expect("compare");

        run(&conn, &plan.ops)
            .await
            .unwrap_or_else(|e| panic!("{d:?} up: {e}"));
        // A column's new type invalidates statements this connection prepared
        // (PostgreSQL: "cached plan must not change result type").
        conn = Database::connect(&db.url).await.unwrap();
        no_difference(&here, &reflect(&conn).await, d, "after up");
        assert_v1_rows(&conn, d, "after up").await;

        run(&conn, &plan.down_ops())
            .await
            .unwrap_or_else(|e| panic!("{d:?} down: {e}"));
        // A column's new type invalidates statements this connection prepared
        // (PostgreSQL: "cached plan must not change result type").
        conn = Database::connect(&db.url).await.unwrap();
        let back = reflect(&conn).await;
        assert!(
            back.diff_lines(&start).is_empty(),
            "{d:?}: down does not give version 0 back:\n{}",
            back.diff_lines(&start).join("\n")
        );
        assert_v0_rows(&conn, d).await;

        run(&conn, &plan.ops)
            .await
            .unwrap_or_else(|e| panic!("{d:?} up again: {e}"));
        // A column's new type invalidates statements this connection prepared
        // (PostgreSQL: "cached plan must not change result type").
        conn = Database::connect(&db.url).await.unwrap();
        no_difference(&here, &reflect(&conn).await, d, "after up again");
        assert_v1_rows(&conn, d, "after up again").await;
        eprintln!(
            "{}: up, down and up again, with rows: as expected",
            d.name()
        );
        conn.close().await.ok();
        drop(runner);
    }
}
