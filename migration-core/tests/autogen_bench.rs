//! W3 timing (ignored by default): 300 tables (8 columns, an index and a
//! foreign key each) with 5 changes, through the autogenerate pipeline:
//! build both sides, reflect them, compare, render.
//!
//! `cargo test -p migration-core --release --test autogen_bench -- --ignored --nocapture`
//!
//! The two sides are built with raw DDL here (a project with 300 entity types
//! would have to be compiled), so this times everything but the runner's
//! bookkeeping and `SchemaBuilder::apply`, which do the same DDL.

use migration_core::autogen::render::{FileInfo, render};
use migration_core::autogen::{Hints, compare};
use migration_core::testing::TestDb;
use migration_core::url::Dialect;
use sea_orm::sea_query::{
    ColumnDef, ForeignKey, Index, MysqlQueryBuilder, PostgresQueryBuilder, SqliteQueryBuilder,
    Table,
};
use sea_orm::{ConnectionTrait, Database, DbBackend};
use std::time::Instant;

const TABLES: usize = 300;

fn ddl(i: usize, changed: bool, backend: DbBackend) -> Vec<String> {
    let t = format!("t{i}");
    let mut create = Table::create();
    create
        .table(t.clone())
        .col(
            ColumnDef::new("id")
                .integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(ColumnDef::new("prev_id").integer().null())
        .col(
            ColumnDef::new("counter")
                .big_integer()
                .not_null()
                .default(0),
        )
        .col(ColumnDef::new("name").string_len(64).not_null())
        .col(ColumnDef::new("body").text().null())
        .col(ColumnDef::new("active").boolean().not_null().default(true))
        .col(ColumnDef::new("amount").decimal_len(12, 2).null())
        .col(ColumnDef::new("created_at").timestamp().null());
    // The 5 changes: two added columns, a dropped index, a changed default
    // (refused on SQLite), a new table.
    if changed && (i == 10 || i == 20) {
        create.col(ColumnDef::new("phone").string_len(32).null());
    }
    if i > 0 {
        create.foreign_key(
            ForeignKey::create()
                .name(format!("fk-{t}-prev_id"))
                .from(t.clone(), "prev_id")
                .to(format!("t{}", i - 1), "id"),
        );
    }
    let mut out = vec![build(&create, backend)];
    if !(changed && i == 30) {
        out.push(build(
            Index::create()
                .name(format!("idx-{t}-name"))
                .table(t.clone())
                .col("name"),
            backend,
        ));
    }
    out
}

fn build<S: sea_orm::sea_query::SchemaStatementBuilder>(s: &S, backend: DbBackend) -> String {
    match backend {
        DbBackend::Postgres => s.to_string(PostgresQueryBuilder),
        DbBackend::MySql => s.to_string(MysqlQueryBuilder),
        _ => s.to_string(SqliteQueryBuilder),
    }
}

async fn side(url: &str, changed: bool, backend: DbBackend) -> migration_core::schema::Schema {
    let db = Database::connect(url).await.unwrap();
    let mut sql = Vec::new();
    for i in 0..TABLES {
        sql.extend(ddl(i, changed, backend));
    }
    if changed {
        sql.push(build(
            Table::create()
                .table("extra")
                .col(ColumnDef::new("id").integer().not_null().primary_key()),
            backend,
        ));
    }
    db.execute_unprepared(&sql.join(";\n")).await.unwrap();
    let t = Instant::now();
    let schema = migration_core::schema::reflect(&db, &[]).await.unwrap();
    eprintln!(
        "  reflect {} tables: {:?}",
        schema.tables.len(),
        t.elapsed()
    );
    db.close().await.ok();
    schema
}

#[tokio::test]
#[ignore]
async fn w3_300_tables_5_changes() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
        let backend = match dialect {
            Dialect::Sqlite => DbBackend::Sqlite,
            Dialect::Postgres => DbBackend::Postgres,
            Dialect::MySql => DbBackend::MySql,
        };
        let (a, b) = if dialect == Dialect::Sqlite {
            (None, None)
        } else {
            let Some(a) = TestDb::create(dialect, "w3a").await else {
                continue;
            };
            (Some(a), TestDb::create(dialect, "w3b").await)
        };
        let urls = match (&a, &b) {
            (Some(a), Some(b)) => (a.url.clone(), b.url.clone()),
            _ => ("sqlite::memory:".to_owned(), "sqlite::memory:".to_owned()),
        };
        eprintln!("{}:", dialect.name());
        let total = Instant::now();
        let from = side(&urls.0, false, backend).await;
        let to = side(&urls.1, true, backend).await;
        let t = Instant::now();
        let plan = compare(&from, &to, &Hints::default(), dialect);
        let compare_time = t.elapsed();
        let t = Instant::now();
        let file = render(
            FileInfo {
                id: "m20250101_000000_w3",
                message: "w3",
                parents: &[],
                dialect,
            },
            &plan,
        );
        eprintln!(
            "  compare: {compare_time:?} ({} ops, {} refused); render: {:?} ({} bytes); total with DDL: {:?}",
            plan.ops.len(),
            plan.refused.len(),
            t.elapsed(),
            file.len(),
            total.elapsed()
        );
        assert_eq!(plan.ops.len(), 4, "{:?}", plan.difference_lines());
    }
}
