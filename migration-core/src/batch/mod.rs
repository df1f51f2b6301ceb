//! Batch ALTER TABLE that works the same on SQLite, PostgreSQL and MySQL/MariaDB (Alembic's `batch_alter_table`).
//!
//! ```ignore
//! use migration_core::batch::{AlterColumn, batch_alter_table};
//!
//! batch_alter_table(manager, "print_jobs", |t| {
//!     t.alter_column("quantity", AlterColumn::new().type_(ColumnType::BigInteger));
//!     t.drop_column("notes");
//!     t.add_column(boolean("flag").default(false));
//! })
//! .await?;
//! ```
//!
//! One call changes one table. The operations are collected first and
//! validated together, then:
//!
//! * **Pre-checks** count the rows that would not survive (NULLs in a column
//!   becoming NOT NULL, values a type change cannot convert, duplicates for a
//!   new unique constraint, rows failing a new CHECK, orphans for a new foreign
//!   key). Any count above zero refuses the batch *before anything is touched*,
//!   with the count, the query that finds those rows and how to fix it.
//! * **PostgreSQL** (`backend/postgres/batch.rs`) runs native `ALTER TABLE` statements inside
//!   a savepoint (or a transaction of its own), so a failure undoes all of them.
//! * **MySQL/MariaDB** (`backend/mysql/batch.rs`) runs one `ALTER TABLE` with every change;
//!   DDL commits implicitly there, but a single statement that fails leaves
//!   the table as it was (the exceptions are in `backend/mysql/batch.rs`).
//! * **SQLite** (`backend/sqlite/batch.rs`) uses `ALTER TABLE` where SQLite can (add a column
//!   with a constant default, rename or drop a plain column, create or drop an
//!   index), and otherwise rebuilds the table with the documented 12 steps
//!   (<https://www.sqlite.org/lang_altertable.html#otheralter>) inside the
//!   migration's transaction.
//!
//! Operations apply in order (a later one sees the names an earlier rename
//! gave), but the statements run grouped: drops of constraints and indexes
//! first, then column drops, renames, alterations, additions, and finally new
//! constraints and indexes. Dropping a column also drops the indexes, unique
//! constraints, checks and foreign keys that include it, on every backend (as
//! PostgreSQL does).
//!
//! A batch can be reversed for `down` with [`BatchAlter::reverse`] when every
//! operation records what it undoes (`existing_*` on [`AlterColumn`], the
//! `*_def` variants of the drops).
//!
//! Offline (`up --sql`, the lint) there is no table to read: each backend
//! plans on what the batch declares ([`offline`]). PostgreSQL renders every
//! statement; MySQL/MariaDB all but a `MODIFY COLUMN` whose change does not
//! state the whole column and the keys that go with a dropped column or
//! foreign key; SQLite its native `ALTER`s, with a rebuild written as a
//! marked `-- OFFLINE:` comment naming the operations. The operations of a
//! marked part still reach the lint.

pub(crate) mod ddl;
pub mod error;
pub(crate) mod offline;
pub(crate) mod plan;

pub use error::BatchError;

use sea_orm::sea_query::{
    ColumnDef, ColumnType, Expr, ForeignKeyAction, ForeignKeyCreateStatement, IndexCreateStatement,
    IntoColumnDef, TableRef,
};
use sea_orm::{DatabaseExecutor, DbBackend};
use sea_orm_migration::SchemaManager;

/// A change to one existing column: type, nullability, default.
///
/// Unset fields are left as they are. The `existing_*` fields describe the
/// column before the change (Alembic's `existing_type`, …); they are only
/// used by [`BatchAlter::reverse`].
#[derive(Debug, Clone, Default)]
pub struct AlterColumn {
    pub(crate) type_: Option<ColumnType>,
    pub(crate) nullable: Option<bool>,
    pub(crate) default: Option<Option<Expr>>,
    pub(crate) using: Option<String>,
    pub(crate) existing_type: Option<ColumnType>,
    pub(crate) existing_nullable: Option<bool>,
    pub(crate) existing_default: Option<Option<Expr>>,
}

impl AlterColumn {
    /// No change yet.
    pub fn new() -> Self {
        <Self as Default>::default()
    }

    /// Changes the column's type. The data is converted (`CAST` on SQLite,
    /// `USING col::type` on PostgreSQL, MySQL's own conversion); rows whose
    /// value cannot convert refuse the batch before anything changes.
    pub fn type_(mut self, ty: ColumnType) -> Self {
        self.type_ = Some(ty);
        self
    }

    /// Makes the column NOT NULL. With [`AlterColumn::default`] in the same
    /// change, existing NULLs become the default; without one, NULLs refuse
    /// the batch.
    pub fn not_null(mut self) -> Self {
        self.nullable = Some(false);
        self
    }

    /// Makes the column nullable.
    pub fn null(mut self) -> Self {
        self.nullable = Some(true);
        self
    }

    /// Sets the column's default (`Expr::val(0)`, `Expr::current_timestamp()`,
    /// `Expr::cust("…")`).
    pub fn default(mut self, value: impl Into<Expr>) -> Self {
        self.default = Some(Some(value.into()));
        self
    }

    /// Removes the column's default.
    pub fn drop_default(mut self) -> Self {
        self.default = Some(None);
        self
    }

    /// The SQL expression computing the new value from the old row, instead
    /// of the plain conversion (e.g. `"ROUND(price * 100)"`). Skips the
    /// convertibility pre-check: the expression is yours. Not available on
    /// MySQL/MariaDB, whose `ALTER TABLE` has no `USING`.
    pub fn using(mut self, sql: impl Into<String>) -> Self {
        self.using = Some(sql.into());
        self
    }

    /// The type before the change (for [`BatchAlter::reverse`]).
    pub fn existing_type(mut self, ty: ColumnType) -> Self {
        self.existing_type = Some(ty);
        self
    }

    /// Whether the column was nullable before the change (for [`BatchAlter::reverse`]).
    pub fn existing_nullable(mut self, nullable: bool) -> Self {
        self.existing_nullable = Some(nullable);
        self
    }

    /// The default before the change (for [`BatchAlter::reverse`]).
    pub fn existing_default(mut self, value: impl Into<Expr>) -> Self {
        self.existing_default = Some(Some(value.into()));
        self
    }

    /// The column had no default before the change (for [`BatchAlter::reverse`]).
    pub fn existing_no_default(mut self) -> Self {
        self.existing_default = Some(None);
        self
    }

    /// Whether nothing is changed.
    pub(crate) fn is_empty(&self) -> bool {
        self.type_.is_none()
            && self.nullable.is_none()
            && self.default.is_none()
            && self.using.is_none()
    }

    /// This change followed by `later` (later fields win).
    pub(crate) fn then(&self, later: &AlterColumn) -> AlterColumn {
        AlterColumn {
            type_: later.type_.clone().or_else(|| self.type_.clone()),
            nullable: later.nullable.or(self.nullable),
            default: later.default.clone().or_else(|| self.default.clone()),
            using: later.using.clone().or_else(|| self.using.clone()),
            existing_type: self
                .existing_type
                .clone()
                .or_else(|| later.existing_type.clone()),
            existing_nullable: self.existing_nullable.or(later.existing_nullable),
            existing_default: self
                .existing_default
                .clone()
                .or_else(|| later.existing_default.clone()),
        }
    }

    /// The change that undoes this one, or what is missing to build it.
    fn inverse(&self) -> Result<AlterColumn, &'static str> {
        let mut back = AlterColumn::new();
        if let Some(ty) = &self.type_ {
            let Some(old) = &self.existing_type else {
                return Err("it changes the type without .existing_type(…)");
            };
            back.type_ = Some(old.clone());
            back.existing_type = Some(ty.clone());
        }
        if let Some(nullable) = self.nullable {
            let Some(old) = self.existing_nullable else {
                return Err("it changes nullability without .existing_nullable(…)");
            };
            back.nullable = Some(old);
            back.existing_nullable = Some(nullable);
        }
        if let Some(default) = &self.default {
            let Some(old) = &self.existing_default else {
                return Err(
                    "it changes the default without .existing_default(…) or .existing_no_default()",
                );
            };
            back.default = Some(old.clone());
            back.existing_default = Some(default.clone());
        }
        if self.using.is_some() {
            return Err("a .using(…) conversion has no known inverse");
        }
        Ok(back)
    }
}

/// A named foreign key from the batch's table to another (or the same) table.
#[derive(Debug, Clone)]
pub struct ForeignKeySpec {
    /// Constraint name (required: it is how the key is dropped later).
    pub name: String,
    /// Referencing columns of this table.
    pub columns: Vec<String>,
    /// Referenced table.
    pub ref_table: String,
    /// Referenced columns.
    pub ref_columns: Vec<String>,
    /// `ON DELETE` action (`None`: the backend's default, NO ACTION).
    pub on_delete: Option<ForeignKeyAction>,
    /// `ON UPDATE` action.
    pub on_update: Option<ForeignKeyAction>,
}

impl ForeignKeySpec {
    /// A foreign key `name` from `columns` to `ref_table (ref_columns)`.
    pub fn new(name: &str, columns: &[&str], ref_table: &str, ref_columns: &[&str]) -> Self {
        ForeignKeySpec {
            name: name.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            ref_table: ref_table.to_owned(),
            ref_columns: ref_columns.iter().map(|c| (*c).to_owned()).collect(),
            on_delete: None,
            on_update: None,
        }
    }

    /// Sets the `ON DELETE` action.
    pub fn on_delete(mut self, action: ForeignKeyAction) -> Self {
        self.on_delete = Some(action);
        self
    }

    /// Sets the `ON UPDATE` action.
    pub fn on_update(mut self, action: ForeignKeyAction) -> Self {
        self.on_update = Some(action);
        self
    }

    /// The `FOREIGN KEY (…) REFERENCES … ON …` text (without `CONSTRAINT name`).
    pub(crate) fn clause(&self, db: DbBackend, ref_table: &str) -> String {
        let q = |c: &String| ddl::quote(db, c);
        let mut s = format!(
            "FOREIGN KEY ({}) REFERENCES {} ({})",
            self.columns.iter().map(q).collect::<Vec<_>>().join(", "),
            ddl::quote(db, ref_table),
            self.ref_columns
                .iter()
                .map(q)
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (word, action) in [("DELETE", self.on_delete), ("UPDATE", self.on_update)] {
            if let Some(action) = action {
                s.push_str(&format!(" ON {word} {}", action_sql(action)));
            }
        }
        s
    }
}

fn action_sql(action: ForeignKeyAction) -> &'static str {
    match action {
        ForeignKeyAction::Restrict => "RESTRICT",
        ForeignKeyAction::Cascade => "CASCADE",
        ForeignKeyAction::SetNull => "SET NULL",
        ForeignKeyAction::NoAction => "NO ACTION",
        ForeignKeyAction::SetDefault => "SET DEFAULT",
        _ => "NO ACTION",
    }
}

fn table_ref_name(t: &TableRef) -> Option<String> {
    match t {
        TableRef::Table(name, _) => Some(name.1.to_string()),
        _ => None,
    }
}

impl From<&ForeignKeyCreateStatement> for ForeignKeySpec {
    fn from(stmt: &ForeignKeyCreateStatement) -> Self {
        let fk = stmt.get_foreign_key();
        ForeignKeySpec {
            name: fk.get_name().unwrap_or_default().to_owned(),
            columns: fk.get_columns(),
            ref_table: fk
                .get_ref_table()
                .and_then(table_ref_name)
                .unwrap_or_default(),
            ref_columns: fk.get_ref_columns(),
            on_delete: fk.get_on_delete(),
            on_update: fk.get_on_update(),
        }
    }
}

impl From<&mut ForeignKeyCreateStatement> for ForeignKeySpec {
    fn from(stmt: &mut ForeignKeyCreateStatement) -> Self {
        ForeignKeySpec::from(&*stmt)
    }
}

impl From<ForeignKeyCreateStatement> for ForeignKeySpec {
    fn from(stmt: ForeignKeyCreateStatement) -> Self {
        ForeignKeySpec::from(&stmt)
    }
}

/// An index: its name, key parts and, beyond a plain column list, its shape
/// (access method, expressions, order, operator classes, `INCLUDE`, a
/// partial predicate: [`crate::schema::IndexShape`]).
///
/// ```ignore
/// // CREATE INDEX members_name_trgm ON members USING gin (lower(name) gin_trgm_ops)
/// //   WHERE deleted_at IS NULL
/// IndexSpec::new("members_name_trgm", &[])
///     .expr("lower(name)")
///     .opclass("gin_trgm_ops")
///     .using("gin")
///     .where_("deleted_at IS NULL");
/// ```
///
/// A property a backend does not have (a prefix length on PostgreSQL, a
/// predicate on MySQL) is refused by that backend with a message naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    /// Index name.
    pub name: String,
    /// Key parts, in order: column names, or expressions (see `shape.parts`).
    pub columns: Vec<String>,
    /// Whether it is a unique index.
    pub unique: bool,
    /// Everything beyond the key list.
    pub shape: crate::schema::IndexShape,
}

impl IndexSpec {
    /// An index `name` on `columns`.
    pub fn new(name: &str, columns: &[&str]) -> Self {
        IndexSpec {
            name: name.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            unique: false,
            shape: crate::schema::IndexShape::default(),
        }
    }

    /// Makes it a unique index.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// Adds a key part that is a column.
    pub fn col(mut self, column: &str) -> Self {
        self.part_options();
        self.columns.push(column.to_owned());
        self.shape.parts.push(Default::default());
        self.normalize()
    }

    /// Adds a key part that is an expression (`lower(name)`), written as the
    /// backend takes it.
    pub fn expr(mut self, sql: &str) -> Self {
        self.part_options();
        self.columns.push(sql.to_owned());
        self.shape.parts.push(crate::schema::KeyPart {
            expression: true,
            ..Default::default()
        });
        self
    }

    /// The last key part sorts descending.
    pub fn desc(self) -> Self {
        self.last_part(|p| p.descending = true)
    }

    /// The last key part puts NULLs first (PostgreSQL).
    pub fn nulls_first(self) -> Self {
        self.last_part(|p| p.nulls_first = Some(true))
    }

    /// The last key part puts NULLs last (PostgreSQL).
    pub fn nulls_last(self) -> Self {
        self.last_part(|p| p.nulls_first = Some(false))
    }

    /// The last key part uses operator class `opclass` (PostgreSQL: `gin_trgm_ops`).
    pub fn opclass(self, opclass: &str) -> Self {
        self.last_part(|p| p.opclass = Some(opclass.to_owned()))
    }

    /// The last key part indexes the first `length` characters (MySQL/MariaDB).
    pub fn prefix(self, length: u32) -> Self {
        self.last_part(|p| p.length = Some(length))
    }

    /// The access method: PostgreSQL `gin`, `gist`, `hash`, `brin`, `spgist`;
    /// MySQL/MariaDB `fulltext`, `spatial`, `hash`.
    pub fn using(mut self, method: &str) -> Self {
        let m = method.to_ascii_lowercase();
        self.shape.method = (m != "btree").then_some(m);
        self
    }

    /// Columns stored in the index but not part of its key (PostgreSQL `INCLUDE`).
    pub fn include(mut self, columns: &[&str]) -> Self {
        self.shape.include = columns.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// Makes it a partial index: only rows where `predicate` holds (PostgreSQL, SQLite).
    pub fn where_(mut self, predicate: &str) -> Self {
        self.shape.predicate = Some(predicate.to_owned());
        self
    }

    /// NULLs collide in this unique index (PostgreSQL 15+ `NULLS NOT DISTINCT`).
    pub fn nulls_not_distinct(mut self) -> Self {
        self.shape.nulls_not_distinct = true;
        self
    }

    /// Gives every key part an entry in `shape.parts` before one is changed.
    fn part_options(&mut self) {
        let n = self.columns.len();
        self.shape.parts.resize(n, Default::default());
    }

    fn last_part(mut self, change: impl FnOnce(&mut crate::schema::KeyPart)) -> Self {
        self.part_options();
        if let Some(p) = self.shape.parts.last_mut() {
            change(p);
        }
        self.normalize()
    }

    /// Keeps `shape.parts` empty while every part is plain (the canonical form).
    fn normalize(mut self) -> Self {
        let parts = std::mem::take(&mut self.shape.parts);
        self.shape = std::mem::take(&mut self.shape).with_parts(parts);
        self
    }

    /// Whether key part `i` is an expression.
    pub fn is_expression(&self, i: usize) -> bool {
        self.shape.parts.get(i).is_some_and(|p| p.expression)
    }
}

impl From<&IndexCreateStatement> for IndexSpec {
    fn from(stmt: &IndexCreateStatement) -> Self {
        let spec = stmt.get_index_spec();
        IndexSpec {
            name: spec.get_name().unwrap_or_default().to_owned(),
            columns: spec.get_column_names(),
            unique: stmt.is_unique_key(),
            shape: crate::schema::IndexShape::default(),
        }
    }
}

impl From<&mut IndexCreateStatement> for IndexSpec {
    fn from(stmt: &mut IndexCreateStatement) -> Self {
        IndexSpec::from(&*stmt)
    }
}

impl From<IndexCreateStatement> for IndexSpec {
    fn from(stmt: IndexCreateStatement) -> Self {
        IndexSpec::from(&stmt)
    }
}

/// One operation of a batch.
#[derive(Debug, Clone)]
pub enum Op {
    /// Adds a column.
    AddColumn(ColumnDef),
    /// Drops a column; `def` (when given) lets [`BatchAlter::reverse`] re-add it.
    DropColumn {
        /// The column.
        name: String,
        /// Its definition, for reversing.
        def: Option<ColumnDef>,
    },
    /// Changes a column's type, nullability or default.
    AlterColumn {
        /// The column.
        name: String,
        /// The change.
        change: AlterColumn,
    },
    /// Renames a column.
    RenameColumn {
        /// Current name.
        from: String,
        /// New name.
        to: String,
    },
    /// Adds a foreign key.
    AddForeignKey(ForeignKeySpec),
    /// Drops a foreign key by name; `def` lets [`BatchAlter::reverse`] re-add it.
    DropForeignKey {
        /// Constraint name.
        name: String,
        /// Its definition, for reversing.
        def: Option<ForeignKeySpec>,
    },
    /// Adds a UNIQUE constraint.
    AddUnique {
        /// Constraint name.
        name: String,
        /// Its columns.
        columns: Vec<String>,
    },
    /// Drops a UNIQUE constraint (or unique index) by name.
    DropUnique {
        /// Constraint name.
        name: String,
        /// Its columns, for reversing.
        columns: Option<Vec<String>>,
    },
    /// Adds a CHECK constraint.
    AddCheck {
        /// Constraint name.
        name: String,
        /// The SQL expression (column names as they are after the batch).
        expr: String,
    },
    /// Drops a CHECK constraint by name.
    DropCheck {
        /// Constraint name.
        name: String,
        /// Its expression, for reversing.
        expr: Option<String>,
    },
    /// Creates an index.
    CreateIndex(IndexSpec),
    /// Drops an index by name.
    DropIndex {
        /// Index name.
        name: String,
        /// Its definition, for reversing.
        def: Option<IndexSpec>,
    },
}

/// The operations of one batch on one table; run it with [`BatchAlter::run`]
/// or build and run it at once with [`batch_alter_table`].
#[derive(Debug, Clone)]
pub struct BatchAlter {
    pub(crate) table: String,
    pub(crate) ops: Vec<Op>,
    pub(crate) prechecks: bool,
}

impl BatchAlter {
    /// An empty batch on `table`.
    pub fn new(table: impl Into<String>) -> Self {
        BatchAlter {
            table: table.into(),
            ops: Vec::new(),
            prechecks: true,
        }
    }

    /// The table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The operations, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Adds a column (any sea-query [`ColumnDef`], e.g. from
    /// `sea_orm_migration::schema::*`). A NOT NULL column needs a default
    /// when the table has rows.
    pub fn add_column(&mut self, def: impl IntoColumnDef) -> &mut Self {
        self.ops.push(Op::AddColumn(def.into_column_def()));
        self
    }

    /// Drops a column (and the indexes and constraints that include it).
    pub fn drop_column(&mut self, name: &str) -> &mut Self {
        self.ops.push(Op::DropColumn {
            name: name.to_owned(),
            def: None,
        });
        self
    }

    /// Drops the column `def` describes; [`BatchAlter::reverse`] re-adds it as `def`.
    pub fn drop_column_def(&mut self, def: impl IntoColumnDef) -> &mut Self {
        let def = def.into_column_def();
        self.ops.push(Op::DropColumn {
            name: def.get_column_name(),
            def: Some(def),
        });
        self
    }

    /// Changes a column's type, nullability or default.
    pub fn alter_column(&mut self, name: &str, change: AlterColumn) -> &mut Self {
        self.ops.push(Op::AlterColumn {
            name: name.to_owned(),
            change,
        });
        self
    }

    /// Renames a column.
    pub fn rename_column(&mut self, from: &str, to: &str) -> &mut Self {
        self.ops.push(Op::RenameColumn {
            from: from.to_owned(),
            to: to.to_owned(),
        });
        self
    }

    /// Adds a foreign key: a [`ForeignKeySpec`] or a sea-query
    /// `ForeignKey::create().name(…).from_col(…).to(…, …)` (the name is required).
    pub fn add_foreign_key(&mut self, fk: impl Into<ForeignKeySpec>) -> &mut Self {
        self.ops.push(Op::AddForeignKey(fk.into()));
        self
    }

    /// Drops a foreign key by name.
    pub fn drop_foreign_key(&mut self, name: &str) -> &mut Self {
        self.ops.push(Op::DropForeignKey {
            name: name.to_owned(),
            def: None,
        });
        self
    }

    /// Drops the foreign key `fk` describes; [`BatchAlter::reverse`] re-adds it.
    pub fn drop_foreign_key_def(&mut self, fk: impl Into<ForeignKeySpec>) -> &mut Self {
        let fk = fk.into();
        self.ops.push(Op::DropForeignKey {
            name: fk.name.clone(),
            def: Some(fk),
        });
        self
    }

    /// Adds a UNIQUE constraint `name` on `columns`.
    pub fn add_unique(&mut self, name: &str, columns: &[&str]) -> &mut Self {
        self.ops.push(Op::AddUnique {
            name: name.to_owned(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        });
        self
    }

    /// Drops a UNIQUE constraint (or a unique index) by name.
    pub fn drop_unique(&mut self, name: &str) -> &mut Self {
        self.ops.push(Op::DropUnique {
            name: name.to_owned(),
            columns: None,
        });
        self
    }

    /// Drops UNIQUE constraint `name` on `columns`; [`BatchAlter::reverse`] re-adds it.
    pub fn drop_unique_def(&mut self, name: &str, columns: &[&str]) -> &mut Self {
        self.ops.push(Op::DropUnique {
            name: name.to_owned(),
            columns: Some(columns.iter().map(|c| (*c).to_owned()).collect()),
        });
        self
    }

    /// Drops the UNIQUE constraint or unique index on exactly `columns`,
    /// whatever its name: the name is read from the live catalog when the
    /// batch runs (PostgreSQL calls an unnamed one `{table}_{col}_key`,
    /// MySQL/MariaDB after its first column, SQLite gives it none and the
    /// rebuild leaves it out). [`BatchAlter::reverse`] re-adds it under the
    /// name of [`crate::naming::index_name`]. Offline, where there is no
    /// catalog, the drop is a marked `-- OFFLINE:` part of the script.
    pub fn drop_unique_on(&mut self, columns: &[&str]) -> &mut Self {
        self.ops.push(Op::DropUnique {
            name: String::new(),
            columns: Some(columns.iter().map(|c| (*c).to_owned()).collect()),
        });
        self
    }

    /// Adds CHECK constraint `name` with the SQL expression `expr`.
    pub fn add_check(&mut self, name: &str, expr: &str) -> &mut Self {
        self.ops.push(Op::AddCheck {
            name: name.to_owned(),
            expr: expr.to_owned(),
        });
        self
    }

    /// Drops a CHECK constraint by name.
    pub fn drop_check(&mut self, name: &str) -> &mut Self {
        self.ops.push(Op::DropCheck {
            name: name.to_owned(),
            expr: None,
        });
        self
    }

    /// Drops CHECK constraint `name` (`expr`); [`BatchAlter::reverse`] re-adds it.
    pub fn drop_check_def(&mut self, name: &str, expr: &str) -> &mut Self {
        self.ops.push(Op::DropCheck {
            name: name.to_owned(),
            expr: Some(expr.to_owned()),
        });
        self
    }

    /// Creates an index: an [`IndexSpec`] or a sea-query `Index::create()…`
    /// (its table is ignored: it is this batch's table).
    pub fn create_index(&mut self, index: impl Into<IndexSpec>) -> &mut Self {
        self.ops.push(Op::CreateIndex(index.into()));
        self
    }

    /// Drops an index by name.
    pub fn drop_index(&mut self, name: &str) -> &mut Self {
        self.ops.push(Op::DropIndex {
            name: name.to_owned(),
            def: None,
        });
        self
    }

    /// Drops the index `index` describes; [`BatchAlter::reverse`] re-creates it.
    pub fn drop_index_def(&mut self, index: impl Into<IndexSpec>) -> &mut Self {
        let index = index.into();
        self.ops.push(Op::DropIndex {
            name: index.name.clone(),
            def: Some(index),
        });
        self
    }

    /// Drops the (non-unique) index on exactly `columns`, whatever its name:
    /// the name is read from the live catalog when the batch runs, as
    /// [`BatchAlter::drop_unique_on`] does for uniques (PostgreSQL calls an
    /// unnamed index `{table}_{col}_idx`, MySQL/MariaDB after its first
    /// column). [`BatchAlter::reverse`] re-creates it under the name of
    /// [`crate::naming::index_name`]. Offline the drop is a marked
    /// `-- OFFLINE:` part of the script.
    pub fn drop_index_on(&mut self, columns: &[&str]) -> &mut Self {
        self.ops.push(Op::DropIndex {
            name: String::new(),
            def: Some(IndexSpec::new("", columns)),
        });
        self
    }

    /// Skips the pre-check scans whose rows the database refuses by itself
    /// (NULLs for NOT NULL, duplicates for UNIQUE, rows failing a CHECK or a
    /// foreign key, and every check on PostgreSQL), and lets it find them.
    ///
    /// It never lets a value be converted or filled silently: where the
    /// engine would change a row instead of refusing it (SQLite's `CAST`
    /// turns `'8.5'` into 8 and `'d1'` into 0; MySQL/MariaDB without a strict
    /// `sql_mode` turn NULL into 0), and for a new NOT NULL column without a
    /// default on a table with rows (MySQL fills it with 0), the check runs
    /// anyway. On SQLite and PostgreSQL the batch still runs in a transaction
    /// (or savepoint), so a failure leaves nothing behind; on MySQL/MariaDB
    /// the `UPDATE`s that fill NULLs with a new default may already be
    /// committed. Use it when the pre-check scans cost more than they save.
    pub fn skip_prechecks(&mut self) -> &mut Self {
        self.prechecks = false;
        self
    }

    /// The batch that undoes this one (operations inverted, in reverse order).
    ///
    /// # Errors
    /// [`BatchError::NotReversible`] when an operation does not record what
    /// it undoes: a plain `drop_*` (use the `drop_*_def` variant) or an
    /// [`AlterColumn`] without the matching `existing_*`.
    pub fn reverse(&self) -> Result<BatchAlter, BatchError> {
        let not = |reason: String, fix: &str| BatchError::NotReversible {
            table: self.table.clone(),
            reason,
            fix: fix.to_owned(),
        };
        let mut back = BatchAlter::new(self.table.clone());
        back.prechecks = self.prechecks;
        for op in self.ops.iter().rev() {
            let inverse = match op {
                Op::AddColumn(def) => Op::DropColumn {
                    name: def.get_column_name(),
                    def: Some(def.clone()),
                },
                Op::DropColumn { name, def } => match def {
                    Some(def) => Op::AddColumn(def.clone()),
                    None => {
                        return Err(not(
                            format!("drop_column(\"{name}\") does not record the column"),
                            "use drop_column_def(<the column's definition>)",
                        ));
                    }
                },
                Op::AlterColumn { name, change } => Op::AlterColumn {
                    name: name.clone(),
                    change: change.inverse().map_err(|why| {
                        not(
                            format!("alter_column(\"{name}\", …): {why}"),
                            "describe the column as it was with AlterColumn::existing_type / existing_nullable / existing_default",
                        )
                    })?,
                },
                Op::RenameColumn { from, to } => Op::RenameColumn {
                    from: to.clone(),
                    to: from.clone(),
                },
                Op::AddForeignKey(fk) => Op::DropForeignKey {
                    name: fk.name.clone(),
                    def: Some(fk.clone()),
                },
                Op::DropForeignKey { name, def } => match def {
                    Some(fk) => Op::AddForeignKey(fk.clone()),
                    None => {
                        return Err(not(
                            format!("drop_foreign_key(\"{name}\") does not record the key"),
                            "use drop_foreign_key_def(<the key>)",
                        ));
                    }
                },
                Op::AddUnique { name, columns } => Op::DropUnique {
                    name: name.clone(),
                    columns: Some(columns.clone()),
                },
                Op::DropUnique { name, columns } => match columns {
                    Some(columns) => Op::AddUnique {
                        name: if name.is_empty() {
                            crate::naming::index_name(&self.table, columns)
                        } else {
                            name.clone()
                        },
                        columns: columns.clone(),
                    },
                    None => {
                        return Err(not(
                            format!("drop_unique(\"{name}\") does not record its columns"),
                            "use drop_unique_def(name, columns)",
                        ));
                    }
                },
                Op::AddCheck { name, expr } => Op::DropCheck {
                    name: name.clone(),
                    expr: Some(expr.clone()),
                },
                Op::DropCheck { name, expr } => match expr {
                    Some(expr) => Op::AddCheck {
                        name: name.clone(),
                        expr: expr.clone(),
                    },
                    None => {
                        return Err(not(
                            format!("drop_check(\"{name}\") does not record its expression"),
                            "use drop_check_def(name, expr)",
                        ));
                    }
                },
                Op::CreateIndex(index) => Op::DropIndex {
                    name: index.name.clone(),
                    def: Some(index.clone()),
                },
                Op::DropIndex { name, def } => match def {
                    Some(index) if index.name.is_empty() => Op::CreateIndex(IndexSpec {
                        name: crate::naming::index_name(&self.table, &index.columns),
                        ..index.clone()
                    }),
                    Some(index) => Op::CreateIndex(index.clone()),
                    None => {
                        return Err(not(
                            format!("drop_index(\"{name}\") does not record the index"),
                            "use drop_index_def(<the index>)",
                        ));
                    }
                },
            };
            back.ops.push(inverse);
        }
        Ok(back)
    }

    /// Applies the batch through a migration's [`SchemaManager`] (inside its
    /// transaction when it has one).
    ///
    /// # Errors
    /// [`BatchError::Refused`] before anything is touched;
    /// [`BatchError::Failed`] when a statement fails (its `state` says what
    /// is left: on SQLite and PostgreSQL, nothing).
    pub async fn run(&self, manager: &SchemaManager<'_>) -> Result<(), BatchError> {
        self.run_on(manager.get_connection()).await
    }

    /// [`BatchAlter::run`] on any connection or transaction.
    ///
    /// # Errors
    /// As [`BatchAlter::run`].
    pub async fn run_on(&self, conn: &DatabaseExecutor<'_>) -> Result<(), BatchError> {
        if self.ops.is_empty() {
            return Ok(());
        }
        let backend = crate::backend::of_db(sea_orm::ConnectionTrait::get_database_backend(conn));
        // Offline (`up --sql`, the lint) there is no table to read: the
        // backend renders what the batch declares and marks the rest.
        if let Some(script) = crate::offline::recording() {
            let batch = self.without_catalog_drops(&script);
            return backend.run_batch_offline(conn, &batch, &script).await;
        }
        // Drops given by definition find their real names in the catalog
        // first, so that one migration drops the same object on every backend.
        if !self.names_by_definition() {
            return backend.run_batch(conn, self).await;
        }
        let keys = backend
            .table_keys(conn, &self.table)
            .await
            .map_err(BatchError::failed(
                &self.table,
                "reading the table's keys",
                "nothing was changed",
            ))?;
        backend
            .run_batch(conn, &plan::resolve_names(self, &keys)?)
            .await
    }

    /// Whether a drop names its object by definition (a foreign key's
    /// columns and target, a unique's columns), so its real name is looked up.
    fn names_by_definition(&self) -> bool {
        self.ops.iter().any(|op| {
            matches!(
                op,
                Op::DropForeignKey { def: Some(_), .. }
                    | Op::DropUnique {
                        columns: Some(_),
                        ..
                    }
                    | Op::DropIndex { def: Some(_), .. }
            )
        })
    }

    /// The batch without its drops of a unique by columns alone, each written
    /// as a marked part of the offline script: only the live catalog knows
    /// the name it has.
    fn without_catalog_drops(&self, script: &crate::offline::Script) -> BatchAlter {
        let mut kept = self.clone();
        kept.ops.retain(|op| match op {
            Op::DropUnique {
                name,
                columns: Some(columns),
            } if name.is_empty() => {
                script.unrenderable_part(format!(
                    "batch alter of `{}`: drop the UNIQUE constraint or unique index on ({}): \
                     its name is read from the live catalog, which a script does not have; drop \
                     it by the name the database gave it",
                    self.table,
                    columns.join(", ")
                ));
                false
            }
            Op::DropIndex {
                name,
                def: Some(def),
            } if name.is_empty() => {
                script.unrenderable_part(format!(
                    "batch alter of `{}`: drop the index on ({}): its name is read from the live \
                     catalog, which a script does not have; drop it by the name the database \
                     gave it",
                    self.table,
                    def.columns.join(", ")
                ));
                false
            }
            _ => true,
        });
        kept
    }
}

/// A foreign key or unique key of a table as the live catalog has it: what
/// a drop given by definition is matched against ([`crate::backend::Backend::table_keys`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKey {
    /// A foreign key, or a UNIQUE constraint or unique index.
    pub kind: KeyKind,
    /// Its name; `None` where the backend gives it none that can be dropped
    /// (SQLite's inline keys).
    pub name: Option<String>,
    /// Its columns, in order.
    pub columns: Vec<String>,
    /// The referenced table (foreign keys).
    pub ref_table: Option<String>,
    /// The referenced columns (foreign keys).
    pub ref_columns: Vec<String>,
}

/// What a [`TableKey`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `FOREIGN KEY`.
    ForeignKey,
    /// `UNIQUE` constraint or unique index (not the primary key).
    Unique,
    /// A non-unique index on plain columns.
    Index,
}

/// Builds a batch on `table` with `build` and applies it (see the module docs).
///
/// ```ignore
/// batch_alter_table(manager, "users", |t| {
///     t.alter_column("qty", AlterColumn::new().type_(ColumnType::BigInteger).not_null().default(0));
///     t.drop_column("note");
/// })
/// .await?;
/// ```
///
/// # Errors
/// As [`BatchAlter::run`].
pub async fn batch_alter_table(
    manager: &SchemaManager<'_>,
    table: &str,
    build: impl FnOnce(&mut BatchAlter),
) -> Result<(), BatchError> {
    let mut batch = BatchAlter::new(table);
    build(&mut batch);
    batch.run(manager).await
}
