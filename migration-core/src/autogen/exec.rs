//! Ops to sea-query statements, and running them through a `SchemaManager`.
//!
//! [`steps`] lowers each [`Op`] to the calls a migration makes (which
//! `SchemaManager` method, which statement, on which backends). The executor
//! here runs those calls; [`render`](super::render) writes the same calls as
//! Rust code. Both go through [`steps`], so a generated file does what the
//! executor does (the golden tests pin the SQL of each, the round-trip test
//! compiles and runs the rendered file).

use super::compare::object_name;
use super::ops::Op;
use crate::backend::{Sql, postgres};
use crate::schema::{ColType, Column, FkAction, ForeignKey, Index, Table};
use sea_orm::DbBackend;
use sea_orm::sea_query::extension::postgres::Type;
use sea_orm::sea_query::{
    self, ColumnDef, ColumnType, Expr, ForeignKeyAction, PostgresQueryBuilder, StringLen,
    Table as SqTable,
};
use sea_orm_migration::SchemaManager;

/// On which backends a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    /// Every backend.
    All,
    /// PostgreSQL only (enum types, raw PostgreSQL SQL).
    Postgres,
    /// MySQL/MariaDB only.
    MySql,
}

impl Only {
    /// Whether the step runs on `backend`.
    pub fn runs_on(self, backend: DbBackend) -> bool {
        match self {
            Only::All => true,
            Only::Postgres => backend == DbBackend::Postgres,
            Only::MySql => backend == DbBackend::MySql,
        }
    }
}

/// One call a migration makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `manager.create_table(...)`; single-column unnamed unique indexes are inline `UNIQUE`.
    CreateTable(Table),
    /// `manager.drop_table(...)`.
    DropTable(String),
    /// `manager.rename_table(...)`.
    RenameTable(String, String),
    /// `manager.alter_table(... add_column ...)`.
    AddColumn(String, Column),
    /// `manager.alter_table(... drop_column ...)`.
    DropColumn(String, String),
    /// `manager.alter_table(... rename_column ...)`.
    RenameColumn(String, String, String),
    /// `manager.alter_table(... modify_column ...)` with the full new definition.
    ModifyColumn(String, Column),
    /// `manager.create_index(...)` (the index has a name).
    CreateIndex(String, Index),
    /// `manager.drop_index(...)`.
    DropIndex(String, String),
    /// `manager.alter_table(... drop_constraint ...)`.
    DropConstraint(String, String),
    /// `manager.create_foreign_key(...)` (the key has a name).
    CreateForeignKey(String, ForeignKey),
    /// `manager.drop_foreign_key(...)`.
    DropForeignKey(String, String),
    /// `if manager.has_index(..)? { manager.drop_index(..) }`: the index InnoDB
    /// made for a foreign key outlives the key.
    DropIndexIfExists(String, String),
    /// `manager.create_type(...)`.
    CreateType(String, Vec<String>),
    /// `manager.alter_type(... add_value ...)`.
    AddTypeValue(String, String, Option<String>),
    /// `manager.drop_type(...)`.
    DropType(String),
    /// `manager.get_connection().execute_unprepared(...)`.
    Raw(String),
    /// `return Err(DbErr::Migration(...))`.
    Fail(String),
    /// `batch_alter_table(manager, table, |t| ...)` with the ops SQLite cannot
    /// `ALTER` (add/drop foreign key, alter column, some add/drop column):
    /// native `ALTER TABLE` on PostgreSQL and MySQL, a rebuild on SQLite.
    Batch(String, Vec<Op>),
}

/// A call and where it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Backends it runs on.
    pub only: Only,
    /// The call.
    pub action: Action,
}

fn step(only: Only, action: Action) -> Step {
    Step { only, action }
}

/// PostgreSQL's double-quoted identifier.
pub(crate) fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The name PostgreSQL gives an unnamed constraint of `table` on `columns` (`label`: `key`, `fkey`).
fn pg_generated_name(table: &str, columns: &[String], label: &str) -> String {
    postgres::generated_name(table, columns, label)
}

/// The calls that make `op`.
pub fn steps(op: &Op) -> Vec<Step> {
    use Action as A;
    match op {
        Op::CreateTable { table } => {
            let mut out = vec![step(Only::All, A::CreateTable(table.clone()))];
            for index in &table.indexes {
                if is_inline_unique(index) {
                    continue;
                }
                let mut index = index.clone();
                if index.name.is_none() {
                    index.name = Some(object_name("idx", &table.name, &index.columns));
                }
                out.push(step(Only::All, A::CreateIndex(table.name.clone(), index)));
            }
            out
        }
        Op::DropTable { table } => vec![step(Only::All, A::DropTable(table.name.clone()))],
        Op::RenameTable { from, to } => {
            vec![step(Only::All, A::RenameTable(from.clone(), to.clone()))]
        }
        Op::AddColumn { table, column } => {
            vec![step(Only::All, A::AddColumn(table.clone(), column.clone()))]
        }
        Op::DropColumn { table, column } => vec![step(
            Only::All,
            A::DropColumn(table.clone(), column.name.clone()),
        )],
        Op::RenameColumn { table, from, to } => vec![step(
            Only::All,
            A::RenameColumn(table.clone(), from.clone(), to.clone()),
        )],
        Op::AlterColumn { table, .. } => {
            vec![step(Only::All, A::Batch(table.clone(), vec![op.clone()]))]
        }
        Op::CreateIndex { table, index } => {
            let mut index = index.clone();
            if index.name.is_none() {
                index.name = Some(object_name("idx", table, &index.columns));
            }
            vec![step(Only::All, A::CreateIndex(table.clone(), index))]
        }
        Op::DropIndex { table, index } => match &index.name {
            Some(name) => vec![step(Only::All, A::DropIndex(table.clone(), name.clone()))],
            None => vec![
                step(
                    Only::Postgres,
                    A::DropConstraint(
                        table.clone(),
                        pg_generated_name(table, &index.columns, "key"),
                    ),
                ),
                step(
                    Only::MySql,
                    A::DropIndex(table.clone(), index.columns[0].clone()),
                ),
            ],
        },
        Op::AddForeignKey { table, .. } => {
            vec![step(Only::All, A::Batch(table.clone(), vec![op.clone()]))]
        }
        Op::DropForeignKey { table, .. } => batch_steps(table, std::slice::from_ref(op)),
        Op::CreateEnum { name, values } => vec![step(
            Only::Postgres,
            A::CreateType(name.clone(), values.clone()),
        )],
        Op::AddEnumValue {
            name,
            value,
            before,
            values,
            uses,
        } => {
            let mut out = vec![step(
                Only::Postgres,
                A::AddTypeValue(name.clone(), value.clone(), before.clone()),
            )];
            out.extend(mysql_enum_columns(name, values, uses));
            out
        }
        Op::RecreateEnum { name, to, uses, .. } => {
            let old = format!("{name}__old");
            let mut sql = vec![
                format!("ALTER TYPE {} RENAME TO {}", pg_ident(name), pg_ident(&old)),
                format!(
                    "CREATE TYPE {} AS ENUM ({})",
                    pg_ident(name),
                    to.iter()
                        .map(|v| crate::schema::quote_literal(v))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ];
            for u in uses {
                let (t, c) = (pg_ident(&u.table), pg_ident(&u.column));
                if u.default.is_some() {
                    sql.push(format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"));
                }
                sql.push(format!(
                    "ALTER TABLE {t} ALTER COLUMN {c} TYPE {n} USING {c}::text::{n}",
                    n = pg_ident(name)
                ));
                if let Some(d) = &u.default
                    && crate::schema::unquote_literal(d, false).is_some_and(|v| to.contains(&v))
                {
                    sql.push(format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {d}"));
                }
            }
            sql.push(format!("DROP TYPE {}", pg_ident(&old)));
            let mut out: Vec<Step> = sql
                .into_iter()
                .map(|s| step(Only::Postgres, A::Raw(s)))
                .collect();
            out.extend(mysql_enum_columns(name, to, uses));
            out
        }
        Op::DropEnum { name, .. } => vec![step(Only::Postgres, A::DropType(name.clone()))],
    }
}

/// The steps of one batch alter of `table` made of `ops`.
fn batch_steps(table: &str, ops: &[Op]) -> Vec<Step> {
    let mut out = vec![step(
        Only::All,
        Action::Batch(table.to_owned(), ops.to_vec()),
    )];
    for op in ops {
        if let Op::DropForeignKey { table, fk } = op {
            // InnoDB keeps the index it made for a foreign key after the key is dropped.
            out.push(step(
                Only::MySql,
                Action::DropIndexIfExists(table.clone(), fk_name(table, fk)),
            ));
        }
    }
    out
}

/// The name a foreign key is dropped by: its own, or the one PostgreSQL gives
/// an unnamed key (SQLite matches the key by its definition instead).
pub(crate) fn fk_name(table: &str, fk: &ForeignKey) -> String {
    fk.name
        .clone()
        .unwrap_or_else(|| pg_generated_name(table, &fk.columns, "fkey"))
}

/// A run of ops that is written as one unit: a plain op, or consecutive
/// batched ops on the same table, written as one `batch_alter_table` call
/// (one rebuild on SQLite instead of one per op).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Group {
    /// One op, through its own [`steps`].
    Plain(usize),
    /// Ops (indexes, consecutive) of one table, through one batch alter.
    Batch(String, Vec<usize>),
}

/// Groups `ops`; `batched` are the indexes that must go through batch alter
/// ([`Plan::batched_up`](super::compare::Plan::batched_up) or `_down`).
pub fn groups(ops: &[Op], batched: &[usize]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if !batched.contains(&i) && !always_batched(op) {
            out.push(Group::Plain(i));
            continue;
        }
        let table = op.table().unwrap_or_default().to_owned();
        match out.last_mut() {
            Some(Group::Batch(t, members)) if *t == table => members.push(i),
            _ => out.push(Group::Batch(table, vec![i])),
        }
    }
    out
}

/// Ops that have no plain `ALTER TABLE` form on SQLite, whatever the table holds.
fn always_batched(op: &Op) -> bool {
    matches!(
        op,
        Op::AlterColumn { .. } | Op::AddForeignKey { .. } | Op::DropForeignKey { .. }
    )
}

/// The steps of one group.
pub fn group_steps(ops: &[Op], group: &Group) -> Vec<Step> {
    match group {
        Group::Plain(i) => steps(&ops[*i]),
        Group::Batch(table, members) => {
            let members: Vec<Op> = members.iter().map(|i| ops[*i].clone()).collect();
            batch_steps(table, &members)
        }
    }
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
                let name = match op {
                    Op::AddForeignKey { .. } => fk
                        .name
                        .clone()
                        .unwrap_or_else(|| object_name("fk", table, &fk.columns)),
                    _ => fk_name(table, fk),
                };
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
            other => unreachable!("not a batch op: {other}"),
        }
    }
    b
}

/// MySQL keeps enum labels in each column (`ENUM(...)`): re-declare every column using the type.
fn mysql_enum_columns(name: &str, values: &[String], uses: &[super::ops::EnumUse]) -> Vec<Step> {
    uses.iter()
        .map(|u| {
            step(
                Only::MySql,
                Action::ModifyColumn(
                    u.table.clone(),
                    Column {
                        name: u.column.clone(),
                        col_type: ColType::Enum {
                            name: Some(name.to_owned()),
                            values: values.to_vec(),
                        },
                        nullable: u.nullable,
                        default: u.default.clone(),
                        auto_increment: false,
                    },
                ),
            )
        })
        .collect()
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
        ("varbinary", false) => {
            ColumnType::VarBinary(StringLen::N(crate::schema::parse_u32(args)?))
        }
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

fn index_drop(table: &str, name: &str) -> sea_query::IndexDropStatement {
    sea_query::Index::drop()
        .name(name.to_owned())
        .table(table.to_owned())
        .to_owned()
}

/// The SQL of one step on `backend` (`None` for [`Action::Fail`]).
fn build(action: &Action, backend: DbBackend) -> Option<String> {
    use Action as A;
    fn sql(s: Sql<'_>, backend: DbBackend) -> String {
        crate::backend::of_db(backend).to_sql(s)
    }
    Some(match action {
        A::CreateTable(t) => sql(Sql::CreateTable(&table_create(t)), backend),
        A::DropTable(n) => sql(
            Sql::DropTable(&SqTable::drop().table(n.clone()).to_owned()),
            backend,
        ),
        A::RenameTable(f, t) => sql(
            Sql::RenameTable(&SqTable::rename().table(f.clone(), t.clone()).to_owned()),
            backend,
        ),
        A::AddColumn(t, c) => sql(
            Sql::AlterTable(
                &SqTable::alter()
                    .table(t.clone())
                    .add_column(column_def(c, false, false))
                    .to_owned(),
            ),
            backend,
        ),
        A::DropColumn(t, c) => sql(
            Sql::AlterTable(
                &SqTable::alter()
                    .table(t.clone())
                    .drop_column(c.clone())
                    .to_owned(),
            ),
            backend,
        ),
        A::RenameColumn(t, f, to) => sql(
            Sql::AlterTable(
                &SqTable::alter()
                    .table(t.clone())
                    .rename_column(f.clone(), to.clone())
                    .to_owned(),
            ),
            backend,
        ),
        A::ModifyColumn(t, c) => sql(
            Sql::AlterTable(
                &SqTable::alter()
                    .table(t.clone())
                    .modify_column(column_def(c, false, false))
                    .to_owned(),
            ),
            backend,
        ),
        A::CreateIndex(t, i) => sql(Sql::CreateIndex(&index_create(t, i)), backend),
        A::DropIndex(t, n) | A::DropIndexIfExists(t, n) => {
            sql(Sql::DropIndex(&index_drop(t, n)), backend)
        }
        A::DropConstraint(t, n) => sql(
            Sql::AlterTable(
                &SqTable::alter()
                    .table(t.clone())
                    .drop_constraint(n.clone())
                    .to_owned(),
            ),
            backend,
        ),
        A::CreateForeignKey(t, fk) => sql(Sql::CreateForeignKey(&fk_create(t, fk)), backend),
        A::DropForeignKey(t, n) => sql(
            Sql::DropForeignKey(
                &sea_query::ForeignKey::drop()
                    .name(n.clone())
                    .table(t.clone())
                    .to_owned(),
            ),
            backend,
        ),
        A::CreateType(n, v) => Type::create()
            .as_enum(n.clone())
            .values(v.iter().cloned())
            .to_owned()
            .to_string(PostgresQueryBuilder),
        A::AddTypeValue(n, v, before) => {
            let mut s = Type::alter().name(n.clone()).add_value(v.clone());
            if let Some(b) = before {
                s = s.before(b.clone());
            }
            s.to_string(PostgresQueryBuilder)
        }
        A::DropType(n) => Type::drop()
            .name(n.clone())
            .to_owned()
            .to_string(PostgresQueryBuilder),
        A::Raw(sql) => sql.clone(),
        A::Fail(_) | A::Batch(..) => return None,
    })
}

/// The message of the up-front SQLite refusal of a migration.
pub fn sqlite_guard_message(blockers: &[String]) -> String {
    format!(
        "this migration cannot run on SQLite: {}. Autogenerate cannot write this for SQLite; \
         write it by hand with migration_core::batch::batch_alter_table (see docs/batch-and-data.md)",
        blockers.join("; ")
    )
}

/// The SQL `ops` run on `backend`, one statement per line; steps that do not
/// run there are left out, conditional ones are commented. A batch alter is
/// rendered as offline SQL does it (see [`crate::batch::offline`]): what
/// depends on the live table (a SQLite rebuild) is an `-- OFFLINE:` line,
/// followed, when `declared` is set (for the lint), by the statements its
/// operations stand for.
pub async fn sql(
    ops: &[Op],
    batched: &[usize],
    blockers: &[String],
    backend: DbBackend,
    declared: bool,
) -> Vec<String> {
    if backend == DbBackend::Sqlite && !blockers.is_empty() {
        return vec![format!("-- refused: {}", sqlite_guard_message(blockers))];
    }
    let mut out = Vec::new();
    for group in groups(ops, batched) {
        for s in group_steps(ops, &group) {
            if !s.only.runs_on(backend) {
                continue;
            }
            let text = match (&s.action, build(&s.action, backend)) {
                (Action::Fail(m), _) => format!("-- fails: {m}"),
                (Action::Batch(t, members), _) => {
                    out.extend(batch_sql(t, members, backend, declared).await);
                    continue;
                }
                (_, sql) => sql.unwrap_or_default(),
            };
            if matches!(s.action, Action::DropIndexIfExists(..)) {
                out.push(format!("-- if the index exists: {text}"));
            } else {
                out.push(text);
            }
        }
    }
    out
}

/// A batch alter's statements, recorded offline.
async fn batch_sql(table: &str, ops: &[Op], backend: DbBackend, declared: bool) -> Vec<String> {
    use crate::offline::Entry;
    let (db, script) = crate::offline::recording_connection(backend);
    let batch = batch_alter(table, ops);
    let run =
        crate::offline::with_recording(script.clone(), async { batch.run_on(&(&db).into()).await })
            .await;
    let mut out = Vec::new();
    if let Err(e) = run {
        out.push(format!("-- batch alter of {table} fails: {e}"));
    }
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
    out
}

/// Runs `ops` through `manager`, as the rendered migration does.
///
/// `batched` and `sqlite_blockers` are the plan's for this direction
/// ([`Plan::batched_up`](super::compare::Plan::batched_up) and
/// [`Plan::sqlite_blockers_up`](super::compare::Plan::sqlite_blockers_up), or
/// the `_down` ones): on SQLite a run with blockers is refused before
/// anything changes.
///
/// # Errors
/// A database error, or the refusal.
pub async fn run(
    manager: &SchemaManager<'_>,
    ops: &[Op],
    batched: &[usize],
    sqlite_blockers: &[String],
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, DbErr};
    let backend = manager.get_database_backend();
    if backend == DbBackend::Sqlite && !sqlite_blockers.is_empty() {
        return Err(DbErr::Migration(sqlite_guard_message(sqlite_blockers)));
    }
    for group in groups(ops, batched) {
        for s in group_steps(ops, &group) {
            if !s.only.runs_on(backend) {
                continue;
            }
            match &s.action {
                Action::DropIndexIfExists(t, n)
                    if !manager.has_index(t.clone(), n.clone()).await? =>
                {
                    continue;
                }
                Action::Fail(m) => return Err(DbErr::Migration(m.clone())),
                Action::Batch(t, members) => {
                    batch_alter(t, members).run(manager).await?;
                    continue;
                }
                _ => {}
            }
            if let Some(sql) = build(&s.action, backend) {
                manager.get_connection().execute_unprepared(&sql).await?;
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
