//! Golden files for autogenerate: for each kind of change, the migration file
//! it renders and the SQL that file runs on SQLite, PostgreSQL and MySQL
//! (up, then down), or what it refuses. No database: the schemas are built by
//! hand in the reflected model. Review changes with `cargo insta review`.

use migration_core::autogen::Hints;
use migration_core::autogen::exec::sql;
use migration_core::autogen::render::{FileInfo, render};
use migration_core::schema::{ColType, Column, FkAction, ForeignKey, Index, Schema, Table};
use migration_core::url::Dialect;
use sea_orm::DbBackend;

fn col(name: &str, t: ColType, nullable: bool) -> Column {
    Column {
        name: name.into(),
        col_type: t,
        nullable,
        default: None,
        auto_increment: false,
    }
}

fn with_default(mut c: Column, d: &str) -> Column {
    c.default = Some(d.into());
    c
}

fn id() -> Column {
    Column {
        auto_increment: true,
        ..col("id", ColType::Int, false)
    }
}

fn table(name: &str, extra: Vec<Column>) -> Table {
    let mut t = Table::new(name);
    t.columns = std::iter::once(id()).chain(extra).collect();
    t.primary_key = vec!["id".into()];
    t
}

fn schema(tables: Vec<Table>) -> Schema {
    let mut s = Schema::default();
    for mut t in tables {
        t.sort_canonical();
        s.tables.insert(t.name.clone(), t);
    }
    s
}

fn unique(cols: &[&str], name: Option<&str>) -> Index {
    Index::new(name, cols, true)
}

fn index(cols: &[&str], name: &str) -> Index {
    Index::new(Some(name), cols, false)
}

fn fk(table: &str, column: &str, ref_table: &str, on_delete: FkAction) -> ForeignKey {
    ForeignKey {
        name: Some(format!("fk-{table}-{column}")),
        columns: vec![column.into()],
        ref_table: ref_table.into(),
        ref_columns: vec!["id".into()],
        on_delete,
        on_update: FkAction::NoAction,
    }
}

fn users() -> Table {
    let mut t = table(
        "users",
        vec![
            col("email", ColType::String(Some(255)), false),
            col("name", ColType::Text, true),
        ],
    );
    t.indexes = vec![unique(&["email"], None)];
    t
}

/// The golden text of one change: the plan per backend, the file, the SQL.
fn golden(from: &Schema, to: &Schema, hints: &Hints) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(golden_async(from, to, hints))
}

async fn golden_async(from: &Schema, to: &Schema, hints: &Hints) -> String {
    let mut out = String::new();
    // One plan: it does not depend on the backend it was compared on.
    // Strict, so that every difference is rendered (a server default the
    // entity drops is otherwise left to the migrations).
    let strict = migration_core::autogen::compare::Scope {
        strict: true,
        ..Default::default()
    };
    let plan = migration_core::autogen::compare::compare_in(from, to, hints, &strict);
    if !plan.refused.is_empty() {
        out.push_str("refused:\n");
        for r in &plan.refused {
            out.push_str(&format!("  {r}\n"));
        }
    }
    for line in plan.difference_lines() {
        out.push_str(&format!("- {line}\n"));
    }
    for (dialect, backend) in [
        (Dialect::Sqlite, DbBackend::Sqlite),
        (Dialect::Postgres, DbBackend::Postgres),
        (Dialect::MySql, DbBackend::MySql),
    ] {
        // The SQL the one file runs there, recorded offline.
        out.push_str(&format!("==== {} ====\n", dialect.name()));
        out.push_str("-- up\n");
        for s in sql(&plan.ops, backend, false).await {
            out.push_str(&format!("{s};\n"));
        }
        out.push_str("-- down\n");
        for s in sql(&plan.down_ops(), backend, false).await {
            out.push_str(&format!("{s};\n"));
        }
    }
    out.push_str("==== file ====\n");
    let file = render(
        FileInfo {
            id: "m20250701_120000_golden",
            message: "golden change",
            parents: &["m20250612_100000_parent".to_owned()],
        },
        &plan,
    );
    // The file parses as Rust and names no backend.
    syn_check(&file);
    assert!(!file.contains("DbBackend"), "{file}");
    out.push_str(&file);
    out
}

fn syn_check(source: &str) {
    let tokens: proc_macro2::TokenStream = source.parse().expect("the file tokenizes");
    assert!(!tokens.is_empty());
}

#[test]
fn table_added_with_unique_index_and_foreign_key() {
    let from = schema(vec![users()]);
    let mut posts = table(
        "posts",
        vec![
            col("user_id", ColType::Int, false),
            col("title", ColType::String(Some(200)), false),
            with_default(col("published", ColType::Bool, false), "false"),
            with_default(
                col("created_at", ColType::TimestampTz, false),
                "CURRENT_TIMESTAMP",
            ),
        ],
    );
    posts.indexes = vec![
        unique(&["title"], None),
        index(&["user_id", "created_at"], "idx-posts-user_id-created_at"),
    ];
    posts.foreign_keys = vec![fk("posts", "user_id", "users", FkAction::Cascade)];
    let to = schema(vec![users(), posts]);
    insta::assert_snapshot!(golden(&from, &to, &Hints::default()));
}

#[test]
fn table_dropped() {
    let mut posts = table("posts", vec![col("user_id", ColType::Int, true)]);
    posts.foreign_keys = vec![fk("posts", "user_id", "users", FkAction::SetNull)];
    let from = schema(vec![users(), posts]);
    let to = schema(vec![users()]);
    insta::assert_snapshot!(golden(&from, &to, &Hints::default()));
}

#[test]
fn column_added_and_dropped() {
    let from = schema(vec![users()]);
    let mut changed = users();
    changed.columns.retain(|c| c.name != "name");
    changed
        .columns
        .push(col("phone", ColType::String(Some(32)), true));
    changed
        .columns
        .push(with_default(col("score", ColType::BigInt, false), "0"));
    let to = schema(vec![changed]);
    let mut hints = Hints::default();
    hints
        .types
        .insert(("users".into(), "score".into()), ColType::BigInt);
    insta::assert_snapshot!(golden(&from, &to, &hints));
}

#[test]
fn not_null_column_without_default() {
    let from = schema(vec![users()]);
    let mut changed = users();
    changed.columns.push(col("age", ColType::Int, false));
    let to = schema(vec![changed]);
    insta::assert_snapshot!(golden(&from, &to, &Hints::default()));
}

#[test]
fn type_nullability_and_default_changed() {
    let mut t = table(
        "items",
        vec![
            col("code", ColType::String(Some(64)), true),
            with_default(col("qty", ColType::Int, false), "1"),
            col("price", ColType::Decimal(Some((10, 2))), false),
        ],
    );
    let from = schema(vec![t.clone()]);
    t.columns = vec![
        id(),
        col("code", ColType::String(Some(32)), false),
        col("qty", ColType::Int, true),
        with_default(col("price", ColType::Decimal(Some((12, 2))), false), "0"),
    ];
    let to = schema(vec![t]);
    insta::assert_snapshot!(golden(&from, &to, &Hints::default()));
}

#[test]
fn unique_added_and_dropped() {
    let from = schema(vec![users()]);
    let mut changed = users();
    changed.indexes = vec![unique(&["name"], None)];
    let to = schema(vec![changed]);
    insta::assert_snapshot!(golden(&from, &to, &Hints::default()));
}

#[test]
fn indexes_added_and_dropped_composite_and_unique() {
    let mut t = users();
    t.columns.push(col("team", ColType::Int, true));
    t.indexes.push(index(&["name"], "idx-users-name"));
    let from = schema(vec![t.clone()]);
    t.indexes = vec![
        unique(&["email"], None),
        index(&["team", "name"], "idx-users-team-name"),
        unique(&["team", "email"], Some("uq-users-team-email")),
    ];
    let to = schema(vec![t]);
    insta::assert_snapshot!(golden(&from, &to, &Hints::default()));
}

#[test]
fn foreign_keys_added_and_dropped_with_rules() {
    let mut posts = table(
        "posts",
        vec![
            col("user_id", ColType::Int, true),
            col("editor_id", ColType::Int, true),
        ],
    );
    posts.foreign_keys = vec![fk("posts", "editor_id", "users", FkAction::Restrict)];
    let from = schema(vec![users(), posts.clone()]);
    posts.foreign_keys = vec![fk("posts", "user_id", "users", FkAction::SetNull)];
    let to = schema(vec![users(), posts]);
    insta::assert_snapshot!(golden(&from, &to, &Hints::default()));
}

#[test]
fn postgres_enum_created_and_value_added() {
    let mood = |values: &[&str]| ColType::Enum {
        name: Some("mood".into()),
        values: values.iter().map(|v| (*v).into()).collect(),
    };
    let mut from = schema(vec![table(
        "people",
        vec![with_default(
            col("mood", mood(&["sad", "ok"]), false),
            "'ok'",
        )],
    )]);
    from.enums
        .insert("mood".into(), vec!["sad".into(), "ok".into()]);
    let mut to = schema(vec![table(
        "people",
        vec![
            with_default(col("mood", mood(&["sad", "ok", "happy"]), false), "'ok'"),
            col(
                "size",
                ColType::Enum {
                    name: Some("shirt_size".into()),
                    values: vec!["s".into(), "m".into()],
                },
                true,
            ),
        ],
    )]);
    to.enums.insert(
        "mood".into(),
        vec!["sad".into(), "ok".into(), "happy".into()],
    );
    to.enums
        .insert("shirt_size".into(), vec!["s".into(), "m".into()]);
    insta::assert_snapshot!(golden(&from, &to, &Hints::default()));
}

#[test]
fn column_and_table_renamed_by_marker() {
    let mut old = users();
    old.columns[2].name = "username".into();
    let from = schema(vec![old]);
    let mut new = users();
    new.name = "accounts".into();
    let to = schema(vec![new]);
    let mut hints = Hints::default();
    hints
        .table_renames
        .insert("accounts".into(), "users".into());
    hints
        .column_renames
        .insert(("accounts".into(), "name".into()), "username".into());
    insta::assert_snapshot!(golden(&from, &to, &hints));
}

#[test]
fn unmarked_rename_is_flagged() {
    let mut old = users();
    old.columns[2].name = "username".into();
    let from = schema(vec![old]);
    let to = schema(vec![users()]);
    let text = golden(&from, &to, &Hints::default());
    assert!(text.contains("SUSPECTED RENAME"), "{text}");
    assert!(text.contains(r#"renamed_from = "username""#), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn identifiers_that_need_quoting() {
    let from = schema(vec![]);
    let mut t = table(
        "Order Items",
        vec![
            col("order", ColType::Int, false),
            with_default(col("say \"hi\"", ColType::Text, true), "'it''s'"),
            col("prix_€", ColType::Decimal(Some((8, 2))), true),
            col("MixedCase", ColType::Bool, true),
        ],
    );
    t.indexes = vec![index(&["order", "MixedCase"], "idx Order Items")];
    let to = schema(vec![t]);
    insta::assert_snapshot!(golden(&from, &to, &Hints::default()));
}

/// An index the entities own with a shape (an expression and a predicate)
/// whose predicate changes, and a UNIQUE constraint turned into a unique
/// index: each is dropped as what it is and re-created with its whole
/// shape; `down` re-creates the constraint as a constraint. A backend that
/// lacks a property (MySQL: predicates) says so in its SQL.
#[test]
fn shaped_index_changed_and_constraint_turned_index() {
    use migration_core::schema::{IndexShape, KeyPart};
    let shaped = |predicate: &str| Index {
        name: Some("users_lower_email".into()),
        columns: vec!["lower(email)".into()],
        unique: true,
        shape: IndexShape {
            predicate: Some(predicate.into()),
            ..IndexShape::default()
        }
        .with_parts(vec![KeyPart {
            expression: true,
            ..KeyPart::default()
        }]),
    };
    let mut before = users();
    before.indexes.push(shaped("deleted_at IS NULL"));
    before.indexes.push(Index {
        shape: IndexShape {
            constraint: true,
            ..IndexShape::default()
        },
        ..Index::new(Some("users_name_key"), &["name"], true)
    });
    let mut after = users();
    after
        .indexes
        .push(shaped("deleted_at IS NULL AND email IS NOT NULL"));
    after
        .indexes
        .push(Index::new(Some("users_name_uidx"), &["name"], true));
    insta::assert_snapshot!(golden(
        &schema(vec![before]),
        &schema(vec![after]),
        &Hints::default()
    ));
}
