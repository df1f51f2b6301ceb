//! Golden tests for the lint, per rule and per backend: a migration that triggers
//! each rule, one that does the same thing safely, and one that acknowledges it.

use migration_core::lint::{self, Finding};
use migration_core::prelude::*;
use migration_core::url::Dialect;
use migration_core::{Migrator, Revision};
use sea_orm::DbBackend;
use sea_orm_migration::MigrationName;

/// A fixture migration: the statements it runs per backend.
struct Fixture {
    name: &'static str,
    sql: fn(DbBackend) -> Vec<String>,
}

impl MigrationName for Fixture {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Fixture {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for sql in (self.sql)(manager.get_database_backend()) {
            manager.get_connection().execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

fn q(backend: DbBackend, ident: &str) -> String {
    match backend {
        DbBackend::MySql => format!("`{ident}`"),
        _ => format!("\"{ident}\""),
    }
}

/// A fixture: its name, the finding it acknowledges, its statements per backend.
type FixtureSpec = (
    &'static str,
    Option<(&'static str, &'static str)>,
    fn(DbBackend) -> Vec<String>,
);

fn fixtures() -> Vec<FixtureSpec> {
    vec![
        ("base", None, |b| {
            vec![
                format!(
                    "CREATE TABLE {} (id integer PRIMARY KEY, a integer NULL, b text NULL)",
                    q(b, "t")
                ),
                format!("CREATE TABLE {} (id integer PRIMARY KEY)", q(b, "parent")),
                format!(
                    "CREATE INDEX {} ON {} (a)",
                    q(b, "idx-new-table-is-fine"),
                    q(b, "t")
                ),
            ]
        }),
        ("drop_column", None, |b| {
            vec![format!(
                "ALTER TABLE {} DROP COLUMN {}",
                q(b, "t"),
                q(b, "b")
            )]
        }),
        (
            "drop_column_ack",
            Some((
                "drop-column",
                "b was unused since v2, backed up in ticket 42",
            )),
            |b| {
                vec![format!(
                    "ALTER TABLE {} DROP COLUMN {}",
                    q(b, "t"),
                    q(b, "a")
                )]
            },
        ),
        ("add_not_null", None, |b| {
            vec![format!(
                "ALTER TABLE {} ADD COLUMN {} integer NOT NULL",
                q(b, "t"),
                q(b, "c")
            )]
        }),
        ("add_not_null_default", None, |b| {
            vec![format!(
                "ALTER TABLE {} ADD COLUMN {} integer NOT NULL DEFAULT 0",
                q(b, "t"),
                q(b, "d")
            )]
        }),
        ("create_index", None, |b| {
            vec![format!(
                "CREATE INDEX {} ON {} (d)",
                q(b, "idx-t-d"),
                q(b, "t")
            )]
        }),
        ("create_index_concurrently", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "CREATE INDEX CONCURRENTLY {} ON {} (d)",
                q(b, "idx-t-d2"),
                q(b, "t")
            )],
            _ => vec![],
        }),
        ("add_foreign_key", None, |b| match b {
            DbBackend::Sqlite => vec![],
            _ => vec![format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY (d) REFERENCES {} (id)",
                q(b, "t"),
                q(b, "fk-t-d"),
                q(b, "parent")
            )],
        }),
        ("add_foreign_key_not_valid", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY (d) REFERENCES {} (id) NOT VALID",
                q(b, "t"),
                q(b, "fk-t-d2"),
                q(b, "parent")
            )],
            _ => vec![],
        }),
        ("set_not_null", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "ALTER TABLE {} ALTER COLUMN {} SET NOT NULL",
                q(b, "t"),
                q(b, "d")
            )],
            _ => vec![],
        }),
        ("change_type", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "ALTER TABLE {} ALTER COLUMN {} TYPE bigint",
                q(b, "t"),
                q(b, "d")
            )],
            DbBackend::MySql => vec![format!(
                "ALTER TABLE {} MODIFY COLUMN {} bigint NOT NULL",
                q(b, "t"),
                q(b, "d")
            )],
            _ => vec![],
        }),
        ("volatile_default", None, |b| match b {
            DbBackend::Postgres => vec![format!(
                "ALTER TABLE {} ADD COLUMN {} double precision NULL DEFAULT random()",
                q(b, "t"),
                q(b, "r")
            )],
            _ => vec![],
        }),
        ("rename_column", None, |b| {
            vec![format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                q(b, "t"),
                q(b, "d"),
                q(b, "e")
            )]
        }),
        ("rename_table", None, |b| match b {
            DbBackend::MySql => vec![format!(
                "RENAME TABLE {} TO {}",
                q(b, "parent"),
                q(b, "parents")
            )],
            _ => vec![format!(
                "ALTER TABLE {} RENAME TO {}",
                q(b, "parent"),
                q(b, "parents")
            )],
        }),
        ("truncate", None, |b| match b {
            DbBackend::Sqlite => vec![],
            _ => vec![format!("TRUNCATE TABLE {}", q(b, "t"))],
        }),
        ("drop_table", None, |b| {
            vec![format!("DROP TABLE {}", q(b, "t"))]
        }),
    ]
}

fn migrator() -> Migrator {
    let mut revisions = Vec::new();
    let mut parent: Option<String> = None;
    for (i, (name, ack, sql)) in fixtures().into_iter().enumerate() {
        let id = format!("m20250101_{:06}_{name}", i + 1);
        let parents: Vec<&str> = parent.iter().map(String::as_str).collect();
        let mut rev = Revision::new(
            &id,
            &parents,
            name,
            name,
            "fixture",
            Box::new(Fixture { name, sql }),
        );
        if let Some(ack) = ack {
            rev = rev.with_lint_allow(&[ack]);
        }
        revisions.push(rev);
        parent = Some(id);
    }
    Migrator::new(revisions).unwrap()
}

async fn findings(dialect: Dialect) -> Vec<Finding> {
    let migrator = migrator();
    let all: Vec<String> = migrator
        .graph()
        .topo_order()
        .map(|r| r.id.clone())
        .collect();
    lint::lint(&migrator, &all, &[dialect]).await.unwrap()
}

/// Which rule fired on which fixture (fixture name, rule, acknowledged?).
fn hits(findings: &[Finding]) -> Vec<(String, &'static str, bool)> {
    findings
        .iter()
        .map(|f| {
            (
                f.revision[17..].to_string(),
                f.rule,
                f.acknowledged.is_some(),
            )
        })
        .collect()
}

#[tokio::test]
async fn golden_report_per_backend() {
    for dialect in migration_core::testing::ALL {
        let report = lint::render(&findings(dialect).await, false);
        insta::assert_snapshot!(format!("lint_{}", dialect.name()), report);
    }
}

#[tokio::test]
async fn each_rule_fires_on_the_unsafe_form_only() {
    for dialect in migration_core::testing::ALL {
        let got = hits(&findings(dialect).await);
        let fired = |fixture: &str| {
            got.iter()
                .filter(|h| h.0 == fixture)
                .map(|h| h.1)
                .collect::<Vec<_>>()
        };
        // Everywhere.
        assert_eq!(fired("drop_column"), ["drop-column"], "{dialect:?}");
        assert_eq!(
            fired("add_not_null"),
            ["add-not-null-without-default"],
            "{dialect:?}"
        );
        assert_eq!(fired("rename_column"), ["rename-column"], "{dialect:?}");
        assert_eq!(fired("rename_table"), ["rename-table"], "{dialect:?}");
        assert_eq!(fired("drop_table"), ["drop-table"], "{dialect:?}");
        // The safe forms, and the new table's own index, are clean.
        for clean in [
            "base",
            "add_not_null_default",
            "create_index_concurrently",
            "add_foreign_key_not_valid",
        ] {
            assert!(
                fired(clean).is_empty(),
                "{dialect:?} {clean}: {:?}",
                fired(clean)
            );
        }
        // Acknowledged: reported, with the reason, but not failing.
        let ack: Vec<_> = got.iter().filter(|h| h.0 == "drop_column_ack").collect();
        assert_eq!(ack.len(), 1);
        assert!(ack[0].2);
        match dialect {
            Dialect::Postgres => {
                assert_eq!(fired("create_index"), ["create-index-blocking"]);
                assert_eq!(fired("add_foreign_key"), ["foreign-key-not-valid"]);
                assert_eq!(fired("set_not_null"), ["set-not-null"]);
                assert_eq!(fired("change_type"), ["column-type-change"]);
                assert_eq!(fired("volatile_default"), ["volatile-default"]);
                assert_eq!(fired("truncate"), ["truncate"]);
            }
            Dialect::MySql => {
                assert!(fired("create_index").is_empty(), "online DDL on InnoDB");
                assert_eq!(
                    fired("change_type"),
                    ["column-type-change", "mysql-table-copy"]
                );
                assert_eq!(fired("truncate"), ["truncate"]);
            }
            Dialect::Sqlite => assert!(fired("create_index").is_empty()),
        }
    }
}

#[tokio::test]
async fn acknowledged_findings_do_not_fail_and_show_their_reason() {
    let findings = findings(Dialect::Postgres).await;
    let ack = findings.iter().find(|f| f.acknowledged.is_some()).unwrap();
    assert!(!ack.fails(true));
    let report = lint::render(&findings, false);
    assert!(
        report.contains("accepted:  b was unused since v2, backed up in ticket 42"),
        "{report}"
    );
}
