//! Running [`Op`]s through a `SchemaManager`, as the rendered migration does.
//!
//! Each op is the call a migration makes: a table's creation (with its
//! named indexes), drop or rename are `SchemaManager` calls; an
//! [`Op::Batch`] is one `batch_alter_table`; enum types go through
//! [`crate::enums`]. None of them names a backend: each backend does its
//! part when the call runs (SQLite decides there whether it can `ALTER` or
//! must rebuild the table), so the same file runs everywhere, whatever it
//! was compared on. [`render`](super::render) writes the same calls as Rust
//! code; offline SQL is this executor on a recording connection ([`sql`]).
//! The golden tests pin the SQL of each, the round-trip test compiles and
//! runs the rendered file.

use super::ops::{EnumUse, Op};
use crate::backend::Sql;
use crate::enums::EnumColumn;
use crate::naming::{foreign_key_name, index_name};
use crate::schema::{ColType, Column, FkAction, ForeignKey, Index, IndexShape, Table};
use sea_orm::DbBackend;
use sea_orm::sea_query::{
    self, ColumnDef, ColumnType, Expr, ForeignKeyAction, StringLen, Table as SqTable,
};
use sea_orm_migration::SchemaManager;

/// The batch alter of `table` that makes `ops` (what an [`Op::Batch`] runs).
pub fn batch_alter(table: &str, ops: &[Op]) -> crate::batch::BatchAlter {
    use crate::batch::{AlterColumn, ForeignKeySpec};
    let mut b = crate::batch::BatchAlter::new(table);
    for op in ops {
        match op {
            Op::AddColumn { column, .. } => {
                b.add_column(column_def(column, false, false));
            }
            Op::DropColumn { column, .. } => {
                b.drop_column_def(column_def(column, false, false));
            }
            Op::RenameColumn { from, to, .. } => {
                b.rename_column(from, to);
            }
            Op::AlterColumn { from, to, .. } => {
                // What changes, then the whole column as it was: MySQL's
                // MODIFY COLUMN restates the column, and offline SQL renders
                // it from these instead of the live table.
                let mut change = AlterColumn::new();
                if from.col_type != to.col_type {
                    change = change.type_(to_column_type(&to.col_type));
                }
                if from.nullable != to.nullable {
                    change = if to.nullable {
                        change.null()
                    } else {
                        change.not_null()
                    };
                }
                if from.default != to.default {
                    change = match &to.default {
                        Some(d) => change.default(DefaultExpr::of(d, &to.col_type).expr()),
                        None => change.drop_default(),
                    };
                }
                change = change
                    .existing_type(to_column_type(&from.col_type))
                    .existing_nullable(from.nullable);
                change = match &from.default {
                    Some(d) => change.existing_default(DefaultExpr::of(d, &from.col_type).expr()),
                    None => change.existing_no_default(),
                };
                b.alter_column(&to.name, change);
            }
            Op::AddForeignKey { table, fk } | Op::DropForeignKey { table, fk } => {
                let name = fk_name(table, fk);
                let cols: Vec<&str> = fk.columns.iter().map(String::as_str).collect();
                let refs: Vec<&str> = fk.ref_columns.iter().map(String::as_str).collect();
                let mut spec = ForeignKeySpec::new(&name, &cols, &fk.ref_table, &refs);
                if fk.on_delete != FkAction::NoAction {
                    spec = spec.on_delete(fk_action(fk.on_delete));
                }
                if fk.on_update != FkAction::NoAction {
                    spec = spec.on_update(fk_action(fk.on_update));
                }
                if matches!(op, Op::AddForeignKey { .. }) {
                    b.add_foreign_key(spec);
                } else {
                    b.drop_foreign_key_def(spec);
                }
            }
            Op::CreateIndex { table, index } => {
                // A UNIQUE constraint comes back as a constraint (it is
                // dropped as one), an index as an index with its shape.
                if is_unique_constraint(index) {
                    let cols: Vec<&str> = index.columns.iter().map(String::as_str).collect();
                    b.add_unique(&index_name_of(table, index), &cols);
                } else {
                    b.create_index(index_spec(table, index));
                }
            }
            Op::DropIndex { table, index } => {
                let cols: Vec<&str> = index.columns.iter().map(String::as_str).collect();
                // By its real name where it has one of its own; else found
                // in the catalog by its columns, as what it is (a unique or
                // an index), so that one migration drops the same object on
                // every backend whatever name each gave it.
                match &index.name {
                    Some(name) if index.unique && index.shape.is_plain() => {
                        b.drop_unique_def(name, &cols)
                    }
                    Some(_) => b.drop_index_def(index_spec(table, index)),
                    None if index.unique => b.drop_unique_on(&cols),
                    None => b.drop_index_on(&cols),
                };
            }
            other => unreachable!("not a batch op: {other}"),
        }
    }
    b
}

/// The batch's spec of an index, with its shape (named by the convention
/// when unnamed).
pub(crate) fn index_spec(table: &str, index: &Index) -> crate::batch::IndexSpec {
    crate::batch::IndexSpec {
        name: index_name_of(table, index),
        columns: index.columns.clone(),
        unique: index.unique,
        shape: IndexShape {
            constraint: false,
            ..index.shape.clone()
        },
    }
}

/// Whether `index` is re-created as a UNIQUE constraint (`add_unique`):
/// one that was a constraint, with nothing a constraint cannot have.
pub(crate) fn is_unique_constraint(index: &Index) -> bool {
    index.unique && index.shape.constraint && index.shape.is_plain()
}

/// The name an index is created or dropped by: its own, or the one of the
/// naming convention (what the generated file writes, too).
pub(crate) fn index_name_of(table: &str, index: &Index) -> String {
    index.name.clone().unwrap_or_else(|| {
        // An expression part is named by its words: `lower(name)` -> `lower_name`.
        let words: Vec<String> = index
            .columns
            .iter()
            .map(|c| {
                c.split(|ch: char| !ch.is_alphanumeric() && ch != '_')
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join("_")
            })
            .collect();
        index_name(table, &words)
    })
}

/// The name a foreign key is created or dropped by: its own, or the one of
/// the naming convention. A key of that name that the table lacks is
/// dropped by its definition instead (batch alter reads the real name).
pub(crate) fn fk_name(table: &str, fk: &ForeignKey) -> String {
    fk.name
        .clone()
        .unwrap_or_else(|| foreign_key_name(table, &fk.columns))
}

/// Whether a table's index is written inline in `CREATE TABLE` (`UNIQUE` on the column).
pub(crate) fn is_inline_unique(index: &Index) -> bool {
    index.name.is_none() && index.unique && index.columns.len() == 1 && index.shape.is_plain()
}

/// The sea-query type that reflects as `t` (see [`ColType::from_column_type`]).
pub fn to_column_type(t: &ColType) -> ColumnType {
    match t {
        ColType::SmallInt => ColumnType::SmallInteger,
        ColType::Int => ColumnType::Integer,
        ColType::BigInt => ColumnType::BigInteger,
        ColType::Bool => ColumnType::Boolean,
        ColType::Char(n) => ColumnType::Char(*n),
        ColType::String(Some(n)) => ColumnType::String(StringLen::N(*n)),
        ColType::String(None) => ColumnType::String(StringLen::None),
        ColType::Text => ColumnType::Text,
        ColType::Decimal(p) => ColumnType::Decimal(*p),
        ColType::Float => ColumnType::Float,
        ColType::Double => ColumnType::Double,
        ColType::Date => ColumnType::Date,
        ColType::Time => ColumnType::Time,
        ColType::Timestamp => ColumnType::DateTime,
        ColType::TimestampTz => ColumnType::TimestampWithTimeZone,
        ColType::Json => ColumnType::Json,
        ColType::JsonB => ColumnType::JsonBinary,
        ColType::Uuid => ColumnType::Uuid,
        ColType::Binary(Some(n)) => ColumnType::Binary(*n),
        ColType::Binary(None) | ColType::Blob => ColumnType::Blob,
        ColType::Enum {
            name: Some(name),
            values,
        } => ColumnType::Enum {
            name: name.clone().into(),
            variants: values.iter().map(|v| v.clone().into()).collect(),
        },
        ColType::Enum { name: None, values } if !values.is_empty() => ColumnType::custom(format!(
            "ENUM({})",
            values
                .iter()
                .map(|v| crate::schema::quote_literal(v))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        ColType::Enum { .. } => ColumnType::custom("enum_text"),
        ColType::Other(s) => portable_type(s).unwrap_or_else(|| ColumnType::custom(s.clone())),
    }
}

/// The sea-query type of a reflected type name that has a builder of its
/// own (`varbinary(32)` is `var_binary(32)`, not a `custom` spelling one
/// backend has): a generated migration then writes each backend's own type
/// (`bytea` on PostgreSQL, which has no `varbinary`).
fn portable_type(name: &str) -> Option<ColumnType> {
    let (base, args, rest) = crate::schema::split_type(name);
    let unsigned = rest == "unsigned" || base.ends_with(" unsigned");
    let base = base.trim_end_matches(" unsigned");
    if !(rest.is_empty() || rest == "unsigned") {
        return None;
    }
    Some(match (base, unsigned) {
        ("varbinary", false) if args.is_none() => ColumnType::VarBinary(StringLen::None),
        ("varbinary", false) => {
            ColumnType::VarBinary(StringLen::N(crate::schema::parse_u32(args)?))
        }
        // sea-query's `Timestamp` (PostgreSQL and MySQL `timestamp`), which
        // `ColType::Timestamp` (sea-query's `DateTime`) is not.
        ("timestamp", false) if args.is_none() => ColumnType::Timestamp,
        ("money", false) if args.is_none() => ColumnType::Money(None),
        ("tinyint", false) => ColumnType::TinyInteger,
        ("tinyint", true) => ColumnType::TinyUnsigned,
        ("smallint", true) => ColumnType::SmallUnsigned,
        ("int", true) => ColumnType::Unsigned,
        ("bigint", true) => ColumnType::BigUnsigned,
        ("year", false) => ColumnType::Year,
        _ => return None,
    })
}

/// A column default as a sea-query expression.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultExpr {
    /// `Expr::current_timestamp()`.
    CurrentTimestamp,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string literal.
    Str(String),
    /// Any other expression, written as is (`Expr::cust`).
    Raw(String),
}

impl DefaultExpr {
    /// Reads a normalized default (see [`crate::schema::normalize_default`]).
    pub fn of(default: &str, ty: &ColType) -> DefaultExpr {
        if default == "CURRENT_TIMESTAMP" {
            return DefaultExpr::CurrentTimestamp;
        }
        if *ty == ColType::Bool {
            match default {
                "true" => return DefaultExpr::Bool(true),
                "false" => return DefaultExpr::Bool(false),
                _ => {}
            }
        }
        if let Ok(n) = default.parse::<i64>() {
            return DefaultExpr::Int(n);
        }
        if let Some(s) = crate::schema::unquote_literal(default, false) {
            return DefaultExpr::Str(s);
        }
        DefaultExpr::Raw(default.to_owned())
    }

    fn expr(&self) -> Expr {
        match self {
            DefaultExpr::CurrentTimestamp => Expr::current_timestamp(),
            DefaultExpr::Bool(b) => Expr::val(*b),
            DefaultExpr::Int(n) => Expr::val(*n),
            DefaultExpr::Str(s) => Expr::val(s.clone()),
            DefaultExpr::Raw(s) => Expr::cust(s.clone()),
        }
    }
}

/// The column definition a migration writes for `c`.
pub fn column_def(c: &Column, primary_key: bool, unique: bool) -> ColumnDef {
    let mut def = ColumnDef::new_with_type(c.name.clone(), to_column_type(&c.col_type));
    if c.nullable {
        def.null();
    } else {
        def.not_null();
    }
    if let Some(d) = &c.default {
        def.default(DefaultExpr::of(d, &c.col_type).expr());
    }
    if c.auto_increment {
        def.auto_increment();
    }
    if primary_key {
        def.primary_key();
    }
    if unique {
        def.unique_key();
    }
    def
}

/// The `ForeignKeyAction` of an [`FkAction`].
pub fn fk_action(a: FkAction) -> ForeignKeyAction {
    match a {
        FkAction::NoAction => ForeignKeyAction::NoAction,
        FkAction::Restrict => ForeignKeyAction::Restrict,
        FkAction::Cascade => ForeignKeyAction::Cascade,
        FkAction::SetNull => ForeignKeyAction::SetNull,
        FkAction::SetDefault => ForeignKeyAction::SetDefault,
    }
}

fn fk_create(table: &str, fk: &ForeignKey) -> sea_query::ForeignKeyCreateStatement {
    let mut s = sea_query::ForeignKey::create();
    if let Some(n) = &fk.name {
        s.name(n.clone());
    }
    s.from_tbl(table.to_owned());
    for c in &fk.columns {
        s.from_col(c.clone());
    }
    s.to_tbl(fk.ref_table.clone());
    for c in &fk.ref_columns {
        s.to_col(c.clone());
    }
    if fk.on_delete != FkAction::NoAction {
        s.on_delete(fk_action(fk.on_delete));
    }
    if fk.on_update != FkAction::NoAction {
        s.on_update(fk_action(fk.on_update));
    }
    s
}

fn table_create(t: &Table) -> sea_query::TableCreateStatement {
    let mut s = SqTable::create();
    s.table(t.name.clone());
    let single_pk = t.primary_key.len() == 1;
    for c in &t.columns {
        let pk = single_pk && t.primary_key[0] == c.name;
        let unique = t
            .indexes
            .iter()
            .any(|i| is_inline_unique(i) && i.columns[0] == c.name);
        s.col(column_def(c, pk, unique));
    }
    if t.primary_key.len() > 1 {
        let mut pk = sea_query::Index::create();
        for c in &t.primary_key {
            pk.col(c.clone());
        }
        s.primary_key(&mut pk);
    }
    for index in t.indexes.iter().filter(|i| is_table_constraint(i)) {
        s.index(&mut unique_constraint(index));
    }
    for fk in &t.foreign_keys {
        s.foreign_key(&mut fk_create(&t.name, fk));
    }
    s
}

/// Whether `index` is a UNIQUE constraint of its own in `CREATE TABLE`
/// (`CONSTRAINT <name> UNIQUE (..)`, MySQL's `UNIQUE KEY`): one that was a
/// constraint and is not a column's inline `UNIQUE`. Re-created as an index
/// after the table, it would come back as an index, not as what it was.
pub(crate) fn is_table_constraint(index: &Index) -> bool {
    is_unique_constraint(index) && !is_inline_unique(index)
}

/// The table-level UNIQUE constraint `index` is (see [`is_table_constraint`]).
fn unique_constraint(index: &Index) -> sea_query::IndexCreateStatement {
    let mut s = sea_query::Index::create();
    if let Some(name) = &index.name {
        s.name(name.clone());
    }
    for c in &index.columns {
        s.col(c.clone());
    }
    s.unique();
    s
}

fn index_create(table: &str, index: &Index) -> sea_query::IndexCreateStatement {
    let mut s = sea_query::Index::create();
    s.name(index.name.clone().unwrap_or_default())
        .table(table.to_owned());
    for c in &index.columns {
        s.col(c.clone());
    }
    if index.unique {
        s.unique();
    }
    s
}

/// The SQL `ops` run on `backend`, one statement per line: the executor
/// ([`run`]) on a recording connection, as `up --sql` records a migration.
/// What depends on the live database (a SQLite rebuild, a name read from
/// the catalog) is an `-- OFFLINE:` line, followed, when `declared` is set
/// (for the lint), by the statements its operations stand for.
pub async fn sql(ops: &[Op], backend: DbBackend, declared: bool) -> Vec<String> {
    use crate::offline::Entry;
    let (db, script) = crate::offline::recording_connection(backend);
    let manager = SchemaManager::new(&db);
    let result = crate::offline::with_recording(script.clone(), run(&manager, ops)).await;
    let mut out = Vec::new();
    for entry in script.entries() {
        match entry {
            Entry::Execute(sql) => out.push(sql),
            Entry::Unrenderable(why) => {
                out.push(format!("-- OFFLINE: {}", why.replace('\n', " ")));
            }
            Entry::Declared(sql) if declared => out.push(sql),
            _ => {}
        }
    }
    if let Err(e) = result {
        out.push(format!("-- fails: {e}"));
    }
    out
}

/// An enum type's change as `alter_enum` takes it.
pub(crate) struct EnumAlter<'a> {
    /// The type.
    pub name: &'a str,
    /// Labels now.
    pub from: Vec<String>,
    /// Labels wanted.
    pub to: Vec<String>,
    /// The columns using it.
    pub columns: Vec<EnumColumn>,
}

/// The `alter_enum` call of an enum label change (`None` for other ops).
pub(crate) fn enum_change(op: &Op) -> Option<EnumAlter<'_>> {
    let columns = |uses: &[EnumUse]| {
        uses.iter()
            .map(|u| EnumColumn {
                table: u.table.clone(),
                column: u.column.clone(),
                nullable: u.nullable,
                default: u.default.clone(),
            })
            .collect()
    };
    match op {
        Op::AddEnumValue {
            name,
            value,
            values,
            uses,
            ..
        } => Some(EnumAlter {
            name,
            from: values.iter().filter(|v| *v != value).cloned().collect(),
            to: values.clone(),
            columns: columns(uses),
        }),
        Op::RecreateEnum {
            name,
            from,
            to,
            uses,
        } => Some(EnumAlter {
            name,
            from: from.clone(),
            to: to.clone(),
            columns: columns(uses),
        }),
        _ => None,
    }
}

/// The indexes `CREATE TABLE` leaves to `CREATE INDEX` statements after it,
/// each with its name (the convention's when it has none).
pub(crate) fn indexes_after_create(table: &Table) -> Vec<Index> {
    table
        .indexes
        .iter()
        .filter(|i| !is_inline_unique(i) && !is_table_constraint(i))
        .map(|i| Index {
            name: Some(index_name_of(&table.name, i)),
            ..i.clone()
        })
        .collect()
}

/// Runs `ops` through `manager`, as the rendered migration does.
///
/// # Errors
/// A database error, or a batch alter's refusal.
pub async fn run(manager: &SchemaManager<'_>, ops: &[Op]) -> Result<(), sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    let backend = crate::backend::of_db(manager.get_database_backend());
    let execute =
        |sql: String| async move { manager.get_connection().execute_unprepared(&sql).await };
    for op in ops {
        if let Some(change) = enum_change(op) {
            let from: Vec<&str> = change.from.iter().map(String::as_str).collect();
            let to: Vec<&str> = change.to.iter().map(String::as_str).collect();
            crate::enums::alter_enum(manager, change.name, &from, &to, &change.columns).await?;
            continue;
        }
        match op {
            Op::Batch { table, ops } => batch_alter(table, ops).run(manager).await?,
            change if change.is_table_change() => {
                let table = change.table().unwrap_or_default();
                batch_alter(table, std::slice::from_ref(change))
                    .run(manager)
                    .await?;
            }
            Op::CreateTable { table } => {
                execute(backend.to_sql(Sql::CreateTable(&table_create(table)))).await?;
                for index in indexes_after_create(table) {
                    let sql = if index.shape.is_plain() {
                        backend.to_sql(Sql::CreateIndex(&index_create(&table.name, &index)))
                    } else {
                        backend
                            .create_index_sql(&table.name, &index_spec(&table.name, &index))
                            .map_err(sea_orm::DbErr::Migration)?
                    };
                    execute(sql).await?;
                }
            }
            Op::DropTable { table } => {
                let drop = SqTable::drop().table(table.name.clone()).to_owned();
                execute(backend.to_sql(Sql::DropTable(&drop))).await?;
            }
            Op::RenameTable { from, to } => {
                let rename = SqTable::rename().table(from.clone(), to.clone()).to_owned();
                execute(backend.to_sql(Sql::RenameTable(&rename))).await?;
            }
            Op::CreateEnum { name, values } => {
                let values: Vec<&str> = values.iter().map(String::as_str).collect();
                crate::enums::create_enum(manager, name, &values).await?;
            }
            Op::DropEnum { name, .. } => crate::enums::drop_enum(manager, name).await?,
            other => unreachable!("handled above: {other}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Dialect;

    #[test]
    fn column_types_round_trip_through_sea_query() {
        let types = [
            ColType::SmallInt,
            ColType::Int,
            ColType::BigInt,
            ColType::Bool,
            ColType::String(Some(20)),
            ColType::Text,
            ColType::Decimal(Some((10, 2))),
            ColType::Float,
            ColType::Double,
            ColType::Date,
            ColType::Time,
            ColType::Timestamp,
            ColType::TimestampTz,
            ColType::Json,
            ColType::Uuid,
        ];
        for dialect in Dialect::ALL {
            // The spellings with builders of their own round-trip where the
            // backend reflects them so.
            let backend = crate::backend::of(dialect);
            for ct in [
                ColumnType::VarBinary(StringLen::N(32)),
                ColumnType::TinyInteger,
                ColumnType::TinyUnsigned,
                ColumnType::Unsigned,
                ColumnType::BigUnsigned,
            ] {
                let reflected = backend.col_type_of(&ct);
                let written = to_column_type(&reflected);
                assert!(
                    !matches!(written, ColumnType::Custom(_)),
                    "{reflected} on {dialect:?} is written as {written:?}"
                );
                assert_eq!(
                    backend.col_type_of(&written),
                    reflected,
                    "{reflected} on {dialect:?}"
                );
            }
        }
        for dialect in Dialect::ALL {
            let backend = crate::backend::of(dialect);
            for t in &types {
                let reflected = backend.col_type_of(&to_column_type(t));
                let again = backend.col_type_of(&to_column_type(&reflected));
                assert_eq!(reflected, again, "{t} on {dialect:?}");
            }
        }
        assert_eq!(
            crate::backend::of(Dialect::Postgres).col_type_of(&to_column_type(&ColType::BigInt)),
            ColType::BigInt
        );
    }

    #[test]
    fn defaults() {
        assert_eq!(
            DefaultExpr::of("true", &ColType::Bool),
            DefaultExpr::Bool(true)
        );
        assert_eq!(DefaultExpr::of("-3", &ColType::Int), DefaultExpr::Int(-3));
        assert_eq!(
            DefaultExpr::of("'it''s'", &ColType::Text),
            DefaultExpr::Str("it's".into())
        );
        assert_eq!(
            DefaultExpr::of("1.5", &ColType::Double),
            DefaultExpr::Raw("1.5".into())
        );
        assert_eq!(
            DefaultExpr::of("CURRENT_TIMESTAMP", &ColType::TimestampTz),
            DefaultExpr::CurrentTimestamp
        );
    }
}
