//! The schema changes autogenerate produces, as data: what [`compare`](super::compare)
//! finds, what [`render`](super::render) writes and what [`exec`](super::exec) runs.
//!
//! This is the one operation model: the comparison produces a list of
//! [`Op`]s in which the changes to one existing table are gathered in one
//! [`Op::Batch`]; `down` is that list reversed; the renderer writes each op
//! as the call a migration makes and the executor runs the same op (live,
//! or on a recording connection for offline SQL).
//!
//! Every [`Op`] knows its exact reverse ([`Op::reverse`]); a migration's
//! `down` is the reversed list of reversed ops ([`reverse_all`]). An op also
//! knows whether it destroys data ([`Op::destructive`]) and what a reviewer
//! should check ([`Op::warnings`]), and can be applied to a [`Schema`] model
//! ([`Op::apply`]) so a plan can be simulated without a database.

use crate::schema::{ColType, Column, ForeignKey, Index, Schema, Table};
use std::fmt;

/// A column that uses a PostgreSQL enum type, with its default (needed to
/// re-create the type: the default must be dropped and set again around the cast).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumUse {
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
    /// The column's normalized default, if any.
    pub default: Option<String>,
    /// Whether the column allows NULL (MySQL re-declares the whole column).
    pub nullable: bool,
}

/// One schema change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `CREATE TABLE` with its columns, primary key and foreign keys, then its indexes.
    CreateTable {
        /// The whole table.
        table: Table,
    },
    /// `DROP TABLE`; carries the whole definition so that the reverse can re-create it.
    DropTable {
        /// The whole table.
        table: Table,
    },
    /// `ALTER TABLE … RENAME TO …`.
    RenameTable {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `ALTER TABLE … ADD COLUMN`.
    AddColumn {
        /// Table name.
        table: String,
        /// The new column.
        column: Column,
    },
    /// `ALTER TABLE … DROP COLUMN`; carries the full definition for the reverse.
    DropColumn {
        /// Table name.
        table: String,
        /// The dropped column.
        column: Column,
    },
    /// `ALTER TABLE … RENAME COLUMN`.
    RenameColumn {
        /// Table name.
        table: String,
        /// Old column name.
        from: String,
        /// New column name.
        to: String,
    },
    /// A change of type, nullability and/or default of one column.
    AlterColumn {
        /// Table name.
        table: String,
        /// The column as it is.
        from: Column,
        /// The column as it should be (same name).
        to: Column,
    },
    /// `CREATE [UNIQUE] INDEX` (the index always has a name).
    CreateIndex {
        /// Table name.
        table: String,
        /// The index.
        index: Index,
    },
    /// `DROP INDEX` (or dropping an unnamed UNIQUE constraint).
    DropIndex {
        /// Table name.
        table: String,
        /// The index; `name: None` for a constraint whose name the backend chose.
        index: Index,
    },
    /// `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY` (always named).
    AddForeignKey {
        /// Referencing table.
        table: String,
        /// The foreign key.
        fk: ForeignKey,
    },
    /// `ALTER TABLE … DROP CONSTRAINT` / `DROP FOREIGN KEY`.
    DropForeignKey {
        /// Referencing table.
        table: String,
        /// The foreign key.
        fk: ForeignKey,
    },
    /// PostgreSQL `CREATE TYPE … AS ENUM` (nothing on other backends).
    CreateEnum {
        /// Type name.
        name: String,
        /// Labels in order.
        values: Vec<String>,
    },
    /// PostgreSQL `ALTER TYPE … ADD VALUE` (nothing on other backends).
    AddEnumValue {
        /// Type name.
        name: String,
        /// The new label.
        value: String,
        /// The existing label it goes before (`None`: at the end).
        before: Option<String>,
        /// All labels once it is added (needed by the reverse).
        values: Vec<String>,
        /// Columns using the type (needed by the reverse).
        uses: Vec<EnumUse>,
    },
    /// PostgreSQL: replace an enum type by one with other labels (rename the old
    /// type, create the new one, cast every column, drop the old one). This is
    /// how labels are removed or reordered, which `ALTER TYPE` cannot do.
    RecreateEnum {
        /// Type name.
        name: String,
        /// Labels now.
        from: Vec<String>,
        /// Labels wanted.
        to: Vec<String>,
        /// Columns using the type.
        uses: Vec<EnumUse>,
    },
    /// PostgreSQL `DROP TYPE` (nothing on other backends).
    DropEnum {
        /// Type name.
        name: String,
        /// Its labels (for the reverse).
        values: Vec<String>,
    },
    /// Changes to one existing table made together (`batch_alter_table`):
    /// native `ALTER TABLE` on PostgreSQL and MySQL, and on SQLite native
    /// where SQLite can and one rebuild of the table where it cannot. Its
    /// members are table changes ([`Op::is_table_change`]) of `table`.
    Batch {
        /// The table.
        table: String,
        /// The changes, in order.
        ops: Vec<Op>,
    },
}

/// The reverse of a list of ops: each op reversed, in reverse order.
pub fn reverse_all(ops: &[Op]) -> Vec<Op> {
    ops.iter().rev().map(Op::reverse).collect()
}

impl Op {
    /// Whether `self` changes an existing table in place (columns, keys,
    /// indexes): such a change is made by batch alter, which each backend
    /// carries out its own way.
    pub fn is_table_change(&self) -> bool {
        matches!(
            self,
            Op::AddColumn { .. }
                | Op::DropColumn { .. }
                | Op::RenameColumn { .. }
                | Op::AlterColumn { .. }
                | Op::AddForeignKey { .. }
                | Op::DropForeignKey { .. }
                | Op::CreateIndex { .. }
                | Op::DropIndex { .. }
                | Op::Batch { .. }
        )
    }

    /// The single changes this op is made of: a batch's members, or the op itself.
    pub fn members(&self) -> &[Op] {
        match self {
            Op::Batch { ops, .. } => ops,
            other => std::slice::from_ref(other),
        }
    }

    /// The op that undoes this one exactly.
    pub fn reverse(&self) -> Op {
        match self {
            Op::Batch { table, ops } => Op::Batch {
                table: table.clone(),
                ops: reverse_all(ops),
            },
            Op::CreateTable { table } => Op::DropTable {
                table: table.clone(),
            },
            Op::DropTable { table } => Op::CreateTable {
                table: table.clone(),
            },
            Op::RenameTable { from, to } => Op::RenameTable {
                from: to.clone(),
                to: from.clone(),
            },
            Op::AddColumn { table, column } => Op::DropColumn {
                table: table.clone(),
                column: column.clone(),
            },
            Op::DropColumn { table, column } => Op::AddColumn {
                table: table.clone(),
                column: column.clone(),
            },
            Op::RenameColumn { table, from, to } => Op::RenameColumn {
                table: table.clone(),
                from: to.clone(),
                to: from.clone(),
            },
            Op::AlterColumn { table, from, to } => Op::AlterColumn {
                table: table.clone(),
                from: to.clone(),
                to: from.clone(),
            },
            Op::CreateIndex { table, index } => Op::DropIndex {
                table: table.clone(),
                index: index.clone(),
            },
            Op::DropIndex { table, index } => Op::CreateIndex {
                table: table.clone(),
                index: index.clone(),
            },
            Op::AddForeignKey { table, fk } => Op::DropForeignKey {
                table: table.clone(),
                fk: fk.clone(),
            },
            Op::DropForeignKey { table, fk } => Op::AddForeignKey {
                table: table.clone(),
                fk: fk.clone(),
            },
            Op::CreateEnum { name, values } => Op::DropEnum {
                name: name.clone(),
                values: values.clone(),
            },
            Op::DropEnum { name, values } => Op::CreateEnum {
                name: name.clone(),
                values: values.clone(),
            },
            Op::AddEnumValue {
                name,
                value,
                values,
                uses,
                ..
            } => Op::RecreateEnum {
                name: name.clone(),
                from: values.clone(),
                to: values.iter().filter(|v| *v != value).cloned().collect(),
                uses: uses.clone(),
            },
            Op::RecreateEnum {
                name,
                from,
                to,
                uses,
            } => Op::RecreateEnum {
                name: name.clone(),
                from: to.clone(),
                to: from.clone(),
                uses: uses.clone(),
            },
        }
    }

    /// The table this op changes (`None` for enum types).
    pub fn table(&self) -> Option<&str> {
        match self {
            Op::CreateTable { table } | Op::DropTable { table } => Some(&table.name),
            Op::RenameTable { to, .. } => Some(to),
            Op::AddColumn { table, .. }
            | Op::DropColumn { table, .. }
            | Op::RenameColumn { table, .. }
            | Op::AlterColumn { table, .. }
            | Op::CreateIndex { table, .. }
            | Op::DropIndex { table, .. }
            | Op::AddForeignKey { table, .. }
            | Op::DropForeignKey { table, .. }
            | Op::Batch { table, .. } => Some(table),
            _ => None,
        }
    }

    /// Every table the op touches or depends on: its own, the tables its
    /// foreign keys reference, the tables whose columns use its enum type.
    pub fn tables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        match self {
            Op::CreateTable { table } | Op::DropTable { table } => {
                out.push(&table.name);
                out.extend(table.foreign_keys.iter().map(|f| f.ref_table.as_str()));
            }
            Op::RenameTable { from, to } => out.extend([from.as_str(), to.as_str()]),
            Op::AddForeignKey { table, fk } | Op::DropForeignKey { table, fk } => {
                out.extend([table.as_str(), fk.ref_table.as_str()]);
            }
            Op::AddEnumValue { uses, .. } | Op::RecreateEnum { uses, .. } => {
                out.extend(uses.iter().map(|u| u.table.as_str()));
            }
            Op::CreateEnum { .. } | Op::DropEnum { .. } => {}
            Op::Batch { ops, .. } => {
                for op in ops {
                    for t in op.tables() {
                        if !out.contains(&t) {
                            out.push(t);
                        }
                    }
                }
            }
            other => out.extend(other.table()),
        }
        out
    }

    /// Why this op destroys data or can fail on a table with rows, if it does.
    pub fn destructive(&self) -> Option<String> {
        match self {
            Op::Batch { ops, .. } => {
                let why: Vec<String> = ops.iter().filter_map(Op::destructive).collect();
                (!why.is_empty()).then(|| why.join("; "))
            }
            Op::DropTable { table } => {
                Some(format!("drops table `{}` and every row in it", table.name))
            }
            Op::DropColumn { table, column } => Some(format!(
                "drops column `{table}`.`{}` and the data in it",
                column.name
            )),
            Op::AddColumn { table, column }
                if !column.nullable && column.default.is_none() && !column.auto_increment =>
            {
                Some(format!(
                    "adds NOT NULL column `{table}`.`{}` without a default: fails if `{table}` has rows \
                     (give it a default, make it nullable, or backfill in steps)",
                    column.name
                ))
            }
            Op::AlterColumn { table, from, to } => {
                let mut why = Vec::new();
                if from.col_type != to.col_type {
                    match type_change(&from.col_type, &to.col_type) {
                        TypeChange::Widening => {}
                        TypeChange::Narrowing => why.push(format!(
                            "narrows `{table}`.`{}` from {} to {}: values that do not fit fail or are cut",
                            to.name, from.col_type, to.col_type
                        )),
                        TypeChange::Conversion => why.push(format!(
                            "converts `{table}`.`{}` from {} to {}: every existing value must convert",
                            to.name, from.col_type, to.col_type
                        )),
                    }
                }
                if from.nullable && !to.nullable {
                    why.push(format!(
                        "makes `{table}`.`{}` NOT NULL: fails if a row holds NULL (backfill first)",
                        to.name
                    ));
                }
                (!why.is_empty()).then(|| why.join("; "))
            }
            Op::RecreateEnum { name, from, to, .. } => {
                let removed: Vec<&String> = from.iter().filter(|v| !to.contains(v)).collect();
                (!removed.is_empty()).then(|| {
                    format!(
                        "removes value(s) {} from enum `{name}`: fails if a row holds one",
                        removed
                            .iter()
                            .map(|v| format!("'{v}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            }
            _ => None,
        }
    }

    /// Everything a reviewer should check about this op, destructive effects first.
    pub fn warnings(&self) -> Vec<String> {
        if let Op::Batch { ops, .. } = self {
            return ops.iter().flat_map(Op::warnings).collect();
        }
        let mut out: Vec<String> = self
            .destructive()
            .map(|d| format!("DESTRUCTIVE: {d}"))
            .into_iter()
            .collect();
        let mut type_notes = |table: &str, c: &Column| {
            match &c.col_type {
            ColType::Other(s) => out.push(format!(
                "`{table}`.`{}` has the backend-specific type `{s}`: check it on every backend",
                c.name
            )),
            ColType::Enum { values, .. } if values.is_empty() => out.push(format!(
                "`{table}`.`{}` is an enum whose name and values this backend does not record \
                 (SQLite); it is written as `enum_text`: generate with `--dialect postgres` for the \
                 real type",
                c.name
            )),
            _ => {}
        }
        };
        match self {
            Op::CreateTable { table } | Op::DropTable { table } => {
                for c in &table.columns {
                    type_notes(&table.name, c);
                }
            }
            Op::AddColumn { table, column } | Op::DropColumn { table, column } => {
                type_notes(table, column);
            }
            Op::AlterColumn { table, from, to } => {
                type_notes(table, to);
                if from.col_type != to.col_type
                    && type_change(&from.col_type, &to.col_type) == TypeChange::Conversion
                {
                    out.push(format!(
                        "PostgreSQL may refuse to cast `{table}`.`{}` implicitly: add \
                         `.using(Expr::cust(\"...\"))` to the column definition if it does",
                        to.name
                    ));
                }
            }
            Op::AddEnumValue { name, value, .. } => out.push(format!(
                "PostgreSQL: the new value '{value}' of `{name}` cannot be used in the same transaction \
                 that adds it"
            )),
            _ => {}
        }
        out
    }

    /// The op in plain words, e.g. ``add column `phone` (varchar(32) null) to `users` ``.
    pub fn describe(&self) -> String {
        self.to_string()
    }

    /// Applies the op to a schema model (to simulate a plan without a database).
    pub fn apply(&self, schema: &mut Schema) {
        match self {
            Op::Batch { ops, .. } => {
                for op in ops {
                    op.apply(schema);
                }
            }
            Op::CreateTable { table } => {
                schema.tables.insert(table.name.clone(), table.clone());
            }
            Op::DropTable { table } => {
                schema.tables.remove(&table.name);
            }
            Op::RenameTable { from, to } => {
                if let Some(mut t) = schema.tables.remove(from) {
                    t.name.clone_from(to);
                    schema.tables.insert(to.clone(), t);
                }
                for t in schema.tables.values_mut() {
                    for fk in &mut t.foreign_keys {
                        if &fk.ref_table == from {
                            fk.ref_table.clone_from(to);
                        }
                    }
                    t.sort_canonical();
                }
            }
            Op::AddColumn { table, column } => {
                if let Some(t) = schema.tables.get_mut(table) {
                    t.columns.push(column.clone());
                }
            }
            Op::DropColumn { table, column } => {
                if let Some(t) = schema.tables.get_mut(table) {
                    t.columns.retain(|c| c.name != column.name);
                    t.indexes.retain(|i| !i.columns.contains(&column.name));
                    t.foreign_keys.retain(|f| !f.columns.contains(&column.name));
                }
            }
            Op::RenameColumn { table, from, to } => {
                let rename = |names: &mut Vec<String>| {
                    for n in names.iter_mut() {
                        if n == from {
                            n.clone_from(to);
                        }
                    }
                };
                for t in schema.tables.values_mut() {
                    if &t.name == table {
                        for c in &mut t.columns {
                            if &c.name == from {
                                c.name.clone_from(to);
                            }
                        }
                        rename(&mut t.primary_key);
                        for i in &mut t.indexes {
                            rename(&mut i.columns);
                        }
                        for f in &mut t.foreign_keys {
                            rename(&mut f.columns);
                        }
                    }
                    for f in &mut t.foreign_keys {
                        if &f.ref_table == table {
                            rename(&mut f.ref_columns);
                        }
                    }
                    t.sort_canonical();
                }
            }
            Op::AlterColumn { table, to, .. } => {
                if let Some(t) = schema.tables.get_mut(table)
                    && let Some(c) = t.columns.iter_mut().find(|c| c.name == to.name)
                {
                    *c = to.clone();
                }
            }
            Op::CreateIndex { table, index } => {
                if let Some(t) = schema.tables.get_mut(table) {
                    t.indexes.push(index.clone());
                    t.sort_canonical();
                }
            }
            Op::DropIndex { table, index } => {
                if let Some(t) = schema.tables.get_mut(table)
                    && let Some(pos) = t.indexes.iter().position(|i| i == index)
                {
                    t.indexes.remove(pos);
                }
            }
            Op::AddForeignKey { table, fk } => {
                if let Some(t) = schema.tables.get_mut(table) {
                    t.foreign_keys.push(fk.clone());
                    t.sort_canonical();
                }
            }
            Op::DropForeignKey { table, fk } => {
                if let Some(t) = schema.tables.get_mut(table)
                    && let Some(pos) = t.foreign_keys.iter().position(|f| f == fk)
                {
                    t.foreign_keys.remove(pos);
                }
            }
            Op::CreateEnum { name, values } => {
                schema.enums.insert(name.clone(), values.clone());
            }
            Op::DropEnum { name, .. } => {
                schema.enums.remove(name);
            }
            Op::AddEnumValue { name, values, .. } => {
                schema.enums.insert(name.clone(), values.clone());
                retype_enum(schema, name, values);
            }
            Op::RecreateEnum { name, to, .. } => {
                schema.enums.insert(name.clone(), to.clone());
                retype_enum(schema, name, to);
            }
        }
    }
}

/// Updates the labels recorded in the columns that use enum `name`.
fn retype_enum(schema: &mut Schema, name: &str, values: &[String]) {
    for t in schema.tables.values_mut() {
        for c in &mut t.columns {
            if let ColType::Enum {
                name: Some(n),
                values: v,
            } = &mut c.col_type
                && n == name
            {
                *v = values.to_vec();
            }
        }
    }
}

/// How a type change treats existing values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeChange {
    /// Every value fits (e.g. `int` to `bigint`, `varchar(10)` to `varchar(20)` or `text`).
    Widening,
    /// Some values may not fit (e.g. `bigint` to `int`, `text` to `varchar(10)`).
    Narrowing,
    /// A different kind of value (e.g. `text` to `int`): every value must convert.
    Conversion,
}

/// Classifies the change from `from` to `to`.
pub fn type_change(from: &ColType, to: &ColType) -> TypeChange {
    use ColType::*;
    let int_rank = |t: &ColType| match t {
        SmallInt => Some(1),
        Int => Some(2),
        BigInt => Some(3),
        _ => None,
    };
    // Character types: None = unbounded.
    let text_len = |t: &ColType| match t {
        String(n) | Char(n) => Some(*n),
        Text => Some(None),
        _ => None,
    };
    if let (Some(a), Some(b)) = (int_rank(from), int_rank(to)) {
        return if b >= a {
            TypeChange::Widening
        } else {
            TypeChange::Narrowing
        };
    }
    if let (Some(a), Some(b)) = (text_len(from), text_len(to)) {
        return match (a, b) {
            (_, None) => TypeChange::Widening,
            (None, Some(_)) => TypeChange::Narrowing,
            (Some(a), Some(b)) if b >= a => TypeChange::Widening,
            _ => TypeChange::Narrowing,
        };
    }
    match (from, to) {
        (Decimal(Some((p1, s1))), Decimal(Some((p2, s2)))) => {
            if p2 >= p1 && s2 >= s1 && p2 - s2 >= p1 - s1 {
                TypeChange::Widening
            } else {
                TypeChange::Narrowing
            }
        }
        (Decimal(_), Decimal(None)) | (Float, Double) => TypeChange::Widening,
        (Decimal(None), Decimal(Some(_))) | (Double, Float) => TypeChange::Narrowing,
        (SmallInt | Int | BigInt, Decimal(None) | Double) => TypeChange::Widening,
        (Json, JsonB) | (JsonB, Json) | (Timestamp, TimestampTz) | (TimestampTz, Timestamp) => {
            TypeChange::Conversion
        }
        (Enum { values: a, .. }, Enum { values: b, .. }) => {
            if a.iter().all(|v| b.contains(v)) {
                TypeChange::Widening
            } else {
                TypeChange::Narrowing
            }
        }
        (Binary(Some(a)), Binary(Some(b))) if b >= a => TypeChange::Widening,
        (Binary(_), Blob) => TypeChange::Widening,
        (Blob | Binary(_), Binary(_)) => TypeChange::Narrowing,
        _ => TypeChange::Conversion,
    }
}

fn cols(names: &[String]) -> String {
    format!(
        "({})",
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn column_summary(c: &Column) -> String {
    let mut s = format!(
        "{} {}",
        c.col_type,
        if c.nullable { "null" } else { "not null" }
    );
    if let Some(d) = &c.default {
        s.push_str(&format!(" default {d}"));
    }
    if c.auto_increment {
        s.push_str(" auto_increment");
    }
    s
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Batch { table, ops } => {
                write!(f, "batch alter `{table}`: ")?;
                for (i, op) in ops.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{op}")?;
                }
                Ok(())
            }
            Op::CreateTable { table } => write!(
                f,
                "create table `{}` ({} column(s){}{})",
                table.name,
                table.columns.len(),
                if table.indexes.is_empty() {
                    String::new()
                } else {
                    format!(", {} index(es)", table.indexes.len())
                },
                if table.foreign_keys.is_empty() {
                    String::new()
                } else {
                    format!(", {} foreign key(s)", table.foreign_keys.len())
                }
            ),
            Op::DropTable { table } => write!(f, "drop table `{}`", table.name),
            Op::RenameTable { from, to } => write!(f, "rename table `{from}` to `{to}`"),
            Op::AddColumn { table, column } => write!(
                f,
                "add column `{}` ({}) to `{table}`",
                column.name,
                column_summary(column)
            ),
            Op::DropColumn { table, column } => {
                write!(f, "drop column `{}` from `{table}`", column.name)
            }
            Op::RenameColumn { table, from, to } => {
                write!(f, "rename column `{table}`.`{from}` to `{to}`")
            }
            Op::AlterColumn { table, from, to } => {
                let mut changes = Vec::new();
                if from.col_type != to.col_type {
                    changes.push(format!("type {} -> {}", from.col_type, to.col_type));
                }
                if from.nullable != to.nullable {
                    changes.push(if to.nullable {
                        "null".to_owned()
                    } else {
                        "not null".to_owned()
                    });
                }
                if from.default != to.default {
                    changes.push(format!(
                        "default {} -> {}",
                        from.default.as_deref().unwrap_or("none"),
                        to.default.as_deref().unwrap_or("none")
                    ));
                }
                write!(
                    f,
                    "alter column `{table}`.`{}`: {}",
                    to.name,
                    changes.join(", ")
                )
            }
            // An index with a shape (or a constraint) says all of it.
            Op::CreateIndex { table, index } if !index.shape.is_default() => {
                write!(f, "create {index} on `{table}`")
            }
            Op::DropIndex { table, index } if !index.shape.is_default() => {
                write!(f, "drop {index} on `{table}`")
            }
            Op::CreateIndex { table, index } => write!(
                f,
                "create {}index {}on `{table}` {}",
                if index.unique { "unique " } else { "" },
                index
                    .name
                    .as_deref()
                    .map(|n| format!("`{n}` "))
                    .unwrap_or_default(),
                cols(&index.columns)
            ),
            Op::DropIndex { table, index } => write!(
                f,
                "drop {}index {}on `{table}` {}",
                if index.unique { "unique " } else { "" },
                index
                    .name
                    .as_deref()
                    .map(|n| format!("`{n}` "))
                    .unwrap_or_default(),
                cols(&index.columns)
            ),
            Op::AddForeignKey { table, fk } => write!(
                f,
                "add foreign key {}on `{table}` {} -> `{}` {} on delete {} on update {}",
                fk.name
                    .as_deref()
                    .map(|n| format!("`{n}` "))
                    .unwrap_or_default(),
                cols(&fk.columns),
                fk.ref_table,
                cols(&fk.ref_columns),
                fk.on_delete,
                fk.on_update
            ),
            Op::DropForeignKey { table, fk } => write!(
                f,
                "drop foreign key {}on `{table}` {} -> `{}` {}",
                fk.name
                    .as_deref()
                    .map(|n| format!("`{n}` "))
                    .unwrap_or_default(),
                cols(&fk.columns),
                fk.ref_table,
                cols(&fk.ref_columns)
            ),
            Op::CreateEnum { name, values } => write!(
                f,
                "create enum type `{name}` ({}) (PostgreSQL)",
                quoted(values)
            ),
            Op::AddEnumValue {
                name,
                value,
                before,
                ..
            } => write!(
                f,
                "add value '{value}' to enum `{name}`{}",
                before
                    .as_deref()
                    .map(|b| format!(" before '{b}'"))
                    .unwrap_or_default()
            ),
            Op::RecreateEnum { name, from, to, .. } => write!(
                f,
                "change enum `{name}` from ({}) to ({})",
                quoted(from),
                quoted(to)
            ),
            Op::DropEnum { name, .. } => write!(f, "drop enum type `{name}` (PostgreSQL)"),
        }
    }
}

fn quoted(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FkAction;

    fn col(name: &str, t: ColType, nullable: bool) -> Column {
        Column {
            name: name.into(),
            col_type: t,
            nullable,
            default: None,
            auto_increment: false,
        }
    }

    fn sample() -> Schema {
        let mut s = Schema::default();
        let mut users = Table::new("users");
        users.columns = vec![
            Column {
                auto_increment: true,
                ..col("id", ColType::Int, false)
            },
            col("email", ColType::String(Some(255)), false),
        ];
        users.primary_key = vec!["id".into()];
        users.indexes = vec![Index {
            name: None,
            columns: vec!["email".into()],
            unique: true,
            shape: Default::default(),
        }];
        let mut posts = Table::new("posts");
        posts.columns = vec![
            col("id", ColType::Int, false),
            col("user_id", ColType::Int, true),
        ];
        posts.primary_key = vec!["id".into()];
        posts.foreign_keys = vec![ForeignKey {
            name: Some("fk-posts-user_id".into()),
            columns: vec!["user_id".into()],
            ref_table: "users".into(),
            ref_columns: vec!["id".into()],
            on_delete: FkAction::Cascade,
            on_update: FkAction::NoAction,
        }];
        s.tables.insert("users".into(), users);
        s.tables.insert("posts".into(), posts);
        s
    }

    #[test]
    fn every_op_reverses_exactly() {
        let s = sample();
        let users = s.tables["users"].clone();
        let fk = s.tables["posts"].foreign_keys[0].clone();
        let ops = vec![
            Op::CreateTable {
                table: Table::new("t"),
            },
            Op::DropTable { table: users },
            Op::RenameTable {
                from: "a".into(),
                to: "b".into(),
            },
            Op::AddColumn {
                table: "users".into(),
                column: col("phone", ColType::Text, true),
            },
            Op::RenameColumn {
                table: "users".into(),
                from: "email".into(),
                to: "mail".into(),
            },
            Op::AlterColumn {
                table: "users".into(),
                from: col("email", ColType::String(Some(255)), false),
                to: col("email", ColType::Text, true),
            },
            Op::CreateIndex {
                table: "users".into(),
                index: Index {
                    name: Some("i".into()),
                    columns: vec!["email".into()],
                    unique: false,
                    shape: Default::default(),
                },
            },
            Op::AddForeignKey {
                table: "posts".into(),
                fk,
            },
            Op::CreateEnum {
                name: "mood".into(),
                values: vec!["a".into()],
            },
            Op::RecreateEnum {
                name: "mood".into(),
                from: vec!["a".into(), "b".into()],
                to: vec!["b".into()],
                uses: vec![],
            },
        ];
        for op in &ops {
            assert_eq!(&op.reverse().reverse(), op, "{op}");
            assert_ne!(&op.reverse(), op, "{op}");
        }
        let add = Op::AddEnumValue {
            name: "mood".into(),
            value: "c".into(),
            before: None,
            values: vec!["a".into(), "b".into(), "c".into()],
            uses: vec![],
        };
        assert_eq!(
            add.reverse(),
            Op::RecreateEnum {
                name: "mood".into(),
                from: vec!["a".into(), "b".into(), "c".into()],
                to: vec!["a".into(), "b".into()],
                uses: vec![],
            }
        );
        let down = reverse_all(&ops[..2]);
        assert!(matches!(down[0], Op::CreateTable { .. }));
        assert!(matches!(down[1], Op::DropTable { .. }));
    }

    #[test]
    fn apply_then_reverse_restores_the_model() {
        let s = sample();
        let ops = vec![
            Op::RenameTable {
                from: "users".into(),
                to: "accounts".into(),
            },
            Op::RenameColumn {
                table: "accounts".into(),
                from: "id".into(),
                to: "account_id".into(),
            },
            Op::AddColumn {
                table: "posts".into(),
                column: col("title", ColType::Text, true),
            },
        ];
        let mut t = s.clone();
        for op in &ops {
            op.apply(&mut t);
        }
        assert_eq!(
            t.tables["posts"].foreign_keys[0].ref_columns,
            vec!["account_id".to_string()]
        );
        assert_eq!(t.tables["posts"].foreign_keys[0].ref_table, "accounts");
        for op in reverse_all(&ops) {
            op.apply(&mut t);
        }
        assert_eq!(t, s, "{}", t.diff_lines(&s).join("\n"));
    }

    #[test]
    fn destructive_flags() {
        let drop = Op::DropColumn {
            table: "t".into(),
            column: col("c", ColType::Int, true),
        };
        assert!(drop.destructive().is_some());
        assert!(drop.reverse().destructive().is_none());
        let narrow = Op::AlterColumn {
            table: "t".into(),
            from: col("c", ColType::String(Some(64)), true),
            to: col("c", ColType::String(Some(32)), true),
        };
        assert!(narrow.destructive().unwrap().contains("narrows"));
        assert!(narrow.reverse().destructive().is_none());
        let not_null = Op::AddColumn {
            table: "t".into(),
            column: col("c", ColType::Int, false),
        };
        assert!(not_null.destructive().unwrap().contains("NOT NULL"));
        assert!(
            Op::AddColumn {
                table: "t".into(),
                column: Column {
                    default: Some("0".into()),
                    ..col("c", ColType::Int, false)
                },
            }
            .destructive()
            .is_none()
        );
        assert_eq!(
            type_change(&ColType::Int, &ColType::BigInt),
            TypeChange::Widening
        );
        assert_eq!(
            type_change(&ColType::Text, &ColType::Int),
            TypeChange::Conversion
        );
        assert_eq!(
            type_change(
                &ColType::Decimal(Some((10, 2))),
                &ColType::Decimal(Some((12, 2)))
            ),
            TypeChange::Widening
        );
    }
}
