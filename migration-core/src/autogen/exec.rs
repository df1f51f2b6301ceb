//! Ops to the calls a migration makes, and running them through a `SchemaManager`.
//!
//! [`steps`] lowers each [`Op`] to the calls a migration makes: a table's
//! creation, drop or rename and a named index are `SchemaManager` calls;
//! every other change to a table is part of one `batch_alter_table` per
//! run of changes to that table; enum types go through [`crate::enums`].
//! None of them names a backend: each backend does its part when the call
//! runs (SQLite decides there whether it can `ALTER` or must rebuild the
//! table), so the same file runs everywhere, whatever it was compared on.
//! The executor here runs the calls; [`render`](super::render) writes the
//! same calls as Rust code; offline SQL is the executor on a recording
//! connection ([`sql`]). The golden tests pin the SQL of each, the
//! round-trip test compiles and runs the rendered file.

use super::ops::{EnumUse, Op};
use crate::backend::Sql;
use crate::enums::EnumColumn;
use crate::naming::{foreign_key_name, index_name};
use crate::schema::{ColType, Column, FkAction, ForeignKey, Index, Table};
use sea_orm::DbBackend;
use sea_orm::sea_query::{
    self, ColumnDef, ColumnType, Expr, ForeignKeyAction, StringLen, Table as SqTable,
};
use sea_orm_migration::SchemaManager;

/// One call a migration makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `manager.create_table(...)`; single-column unnamed unique indexes are inline `UNIQUE`.
    CreateTable(Table),
    /// `manager.drop_table(...)`.
    DropTable(String),
    /// `manager.rename_table(...)`.
    RenameTable(String, String),
    /// `manager.create_index(...)` (the index has a name).
    CreateIndex(String, Index),
    /// `create_enum(manager, name, values)`.
    CreateEnum(String, Vec<String>),
    /// `alter_enum(manager, name, from, to, columns)`.
    AlterEnum {
        /// Type name.
        name: String,
        /// Labels now.
        from: Vec<String>,
        /// Labels wanted.
        to: Vec<String>,
        /// The columns using the type.
        columns: Vec<EnumColumn>,
    },
    /// `drop_enum(manager, name)`.
    DropEnum(String),
    /// `batch_alter_table(manager, table, |t| ...)` with the changes to one
    /// table: native `ALTER TABLE` on PostgreSQL and MySQL, and on SQLite
    /// native where SQLite can, a rebuild of the table where it cannot.
    Batch(String, Vec<Op>),
}

/// The calls that make `op` on its own.
pub fn steps(op: &Op) -> Vec<Action> {
    use Action as A;
    if is_table_change(op) {
        let table = op.table().unwrap_or_default().to_owned();
        return vec![A::Batch(table, vec![op.clone()])];
    }
    match op {
        Op::CreateTable { table } => {
            let mut out = vec![A::CreateTable(table.clone())];
            for index in &table.indexes {
                if is_inline_unique(index) {
                    continue;
                }
                let mut index = index.clone();
                if index.name.is_none() {
                    index.name = Some(index_name(&table.name, &index.columns));
                }
                out.push(A::CreateIndex(table.name.clone(), index));
            }
            out
        }
        Op::DropTable { table } => vec![A::DropTable(table.name.clone())],
        Op::RenameTable { from, to } => vec![A::RenameTable(from.clone(), to.clone())],
        Op::CreateEnum { name, values } => vec![A::CreateEnum(name.clone(), values.clone())],
        Op::AddEnumValue {
            name, values, uses, ..
        } => {
            let from: Vec<String> = values
                .iter()
                .filter(|v| match op {
                    Op::AddEnumValue { value, .. } => *v != value,
                    _ => true,
                })
                .cloned()
                .collect();
            vec![alter_enum(name, from, values.clone(), uses)]
        }
        Op::RecreateEnum {
            name,
            from,
            to,
            uses,
        } => vec![alter_enum(name, from.clone(), to.clone(), uses)],
        Op::DropEnum { name, .. } => vec![A::DropEnum(name.clone())],
        _ => unreachable!("table changes are batched above"),
    }
}

fn alter_enum(name: &str, from: Vec<String>, to: Vec<String>, uses: &[EnumUse]) -> Action {
    Action::AlterEnum {
        name: name.to_owned(),
        from,
        to,
        columns: uses
            .iter()
            .map(|u| EnumColumn {
                table: u.table.clone(),
                column: u.column.clone(),
                nullable: u.nullable,
                default: u.default.clone(),
            })
            .collect(),
    }
}

/// Whether `op` changes an existing table in place (columns, keys,
/// indexes): it is made by batch alter, which each backend carries out its
/// own way.
pub fn is_table_change(op: &Op) -> bool {
    matches!(
        op,
        Op::AddColumn { .. }
            | Op::DropColumn { .. }
            | Op::RenameColumn { .. }
            | Op::AlterColumn { .. }
            | Op::AddForeignKey { .. }
            | Op::DropForeignKey { .. }
            | Op::CreateIndex { .. }
            | Op::DropIndex { .. }
    )
}

/// The calls of `ops`, in order, with the changes to one table gathered in
/// one batch alter (one rebuild on SQLite instead of one per op).
///
/// A change joins the table's earlier batch when nothing planned in between
/// touches a table either of them touches (the table itself, a table its
/// foreign keys reference): the comparison orders ops in phases (drops of
/// keys, new tables, columns, new keys, ...), so the changes to one table
/// arrive apart, and gathering them must not move one across an op it
/// depends on (a foreign key onto a table created in between, say).
pub fn actions(ops: &[Op]) -> Vec<(Vec<usize>, Vec<Action>)> {
    let mut out: Vec<(Vec<usize>, Vec<Action>)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if is_table_change(op) {
            let table = op.table().unwrap_or_default();
            let batch_at = out.iter().rposition(
                |(_, calls)| matches!(calls.as_slice(), [Action::Batch(t, _)] if t == table),
            );
            if let Some(at) = batch_at {
                let mut touched: Vec<&str> = op.tables();
                for &m in &out[at].0 {
                    touched.extend(ops[m].tables());
                }
                let independent = out[at + 1..].iter().all(|(members, _)| {
                    members
                        .iter()
                        .all(|&k| ops[k].tables().iter().all(|t| !touched.contains(t)))
                });
                if independent {
                    let (members, calls) = &mut out[at];
                    members.push(i);
                    if let [Action::Batch(_, batched)] = calls.as_mut_slice() {
                        batched.push(op.clone());
                    }
                    continue;
                }
            }
        }
        out.push((vec![i], steps(op)));
    }
    out
}

/// The batch alter of `table` that makes `ops` (what [`Action::Batch`] runs).
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
                b.create_index(index_spec(table, index));
            }
            Op::DropIndex { table, index } => {
                let cols: Vec<&str> = index.columns.iter().map(String::as_str).collect();
                match &index.name {
                    Some(name) if index.unique => b.drop_unique_def(name, &cols),
                    Some(_) => b.drop_index_def(index_spec(table, index)),
                    None => b.drop_unique_on(&cols),
                };
            }
            other => unreachable!("not a batch op: {other}"),
        }
    }
    b
}

/// The batch's spec of an index (named by the convention when unnamed).
fn index_spec(table: &str, index: &Index) -> crate::batch::IndexSpec {
    let name = index_name_of(table, index);
    let cols: Vec<&str> = index.columns.iter().map(String::as_str).collect();
    let spec = crate::batch::IndexSpec::new(&name, &cols);
    if index.unique { spec.unique() } else { spec }
}

/// The name an index is created or dropped by: its own, or the one of the
/// naming convention (what the generated file writes, too).
pub(crate) fn index_name_of(table: &str, index: &Index) -> String {
    index
        .name
        .clone()
        .unwrap_or_else(|| index_name(table, &index.columns))
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
    index.name.is_none() && index.unique && index.columns.len() == 1
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
    for fk in &t.foreign_keys {
        s.foreign_key(&mut fk_create(&t.name, fk));
    }
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

/// The SQL of a plain call on `backend`.
fn build(action: &Action, backend: DbBackend) -> String {
    use Action as A;
    let sql = |s: Sql<'_>| crate::backend::of_db(backend).to_sql(s);
    match action {
        A::CreateTable(t) => sql(Sql::CreateTable(&table_create(t))),
        A::DropTable(n) => sql(Sql::DropTable(&SqTable::drop().table(n.clone()).to_owned())),
        A::RenameTable(f, t) => sql(Sql::RenameTable(
            &SqTable::rename().table(f.clone(), t.clone()).to_owned(),
        )),
        A::CreateIndex(t, i) => sql(Sql::CreateIndex(&index_create(t, i))),
        A::CreateEnum(..) | A::AlterEnum { .. } | A::DropEnum(_) | A::Batch(..) => {
            unreachable!("not a plain statement: {action:?}")
        }
    }
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

/// Runs `ops` through `manager`, as the rendered migration does.
///
/// # Errors
/// A database error, or a batch alter's refusal.
pub async fn run(manager: &SchemaManager<'_>, ops: &[Op]) -> Result<(), sea_orm::DbErr> {
    use sea_orm::ConnectionTrait;
    let backend = manager.get_database_backend();
    for (_, calls) in actions(ops) {
        for call in calls {
            match &call {
                Action::Batch(t, members) => batch_alter(t, members).run(manager).await?,
                Action::CreateEnum(name, values) => {
                    let values: Vec<&str> = values.iter().map(String::as_str).collect();
                    crate::enums::create_enum(manager, name, &values).await?;
                }
                Action::AlterEnum {
                    name,
                    from,
                    to,
                    columns,
                } => {
                    let from: Vec<&str> = from.iter().map(String::as_str).collect();
                    let to: Vec<&str> = to.iter().map(String::as_str).collect();
                    crate::enums::alter_enum(manager, name, &from, &to, columns).await?;
                }
                Action::DropEnum(name) => crate::enums::drop_enum(manager, name).await?,
                plain => {
                    manager
                        .get_connection()
                        .execute_unprepared(&build(plain, backend))
                        .await?;
                }
            }
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
