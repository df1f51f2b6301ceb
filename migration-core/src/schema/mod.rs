//! Backend-neutral model of a live database schema, reflected from PostgreSQL, MySQL/MariaDB or SQLite.
//!
//! Each engine's reflection (`backend/<engine>/reflect.rs`, reached through
//! [`crate::backend::reflect`]) reads the catalog with a *constant* number of
//! bulk queries (PostgreSQL 4, MySQL/MariaDB 5, SQLite 3), whatever the
//! number of tables, and returns a [`Schema`]: this module is the model the
//! engines fill in, and imports none of them.
//!
//! # Normalization
//!
//! The model is normalized so that the same logical definition reflects
//! identically wherever the backend can tell:
//!
//! * column types become a [`ColType`] (see its docs for the per-backend
//!   mapping; `Backend::col_type_of` predicts what a sea-query
//!   [`ColumnType`] reflects as on a given backend, which is what an
//!   entity-vs-database comparison must use);
//! * defaults are normalized by [`normalize_default`] (casts stripped,
//!   `now()`/`current_timestamp()` → `CURRENT_TIMESTAMP`, booleans →
//!   `true`/`false`, numbers unquoted with trailing zeros removed, string
//!   literals re-quoted with `''` escaping); identity/serial/auto-increment
//!   columns have `default: None` and `auto_increment: true`;
//! * every UNIQUE constraint and unique index is an [`Index`] with
//!   `unique: true`; names the backend generated become `None`;
//! * foreign-key names the backend generated become `None`.
//!
//! [`Schema::diff_lines`] compares two models and [`Schema`]'s `Display` is a
//! stable text rendering for snapshots.

use std::collections::BTreeMap;
use std::fmt;

use sea_orm::sea_query::StringLen;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement};
use serde::{Deserialize, Serialize};

/// A reflected database schema (one PostgreSQL schema, one MySQL database, or one SQLite file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Tables by name (views are not included).
    pub tables: BTreeMap<String, Table>,
    /// PostgreSQL enum types of the current schema: type name -> labels in sort order.
    /// Always empty on MySQL (enums are inline column types) and SQLite.
    pub enums: BTreeMap<String, Vec<String>>,
    /// The other objects of the schema, which entities cannot declare, one
    /// description each (`view \`active_users\``, `trigger \`t_touch\` on
    /// \`t\``, `extension \`pg_trgm\``, `virtual table \`docs\` (fts5)`): never
    /// compared, listed by `check` as managed by migrations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<String>,
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Table name, exactly as stored in the catalog (no case folding).
    pub name: String,
    /// Columns in ordinal order.
    pub columns: Vec<Column>,
    /// Primary-key column names in key order (empty when there is no primary key).
    pub primary_key: Vec<String>,
    /// Unique constraints and (unique or not) indexes, the primary key's own index
    /// excluded, sorted by columns then name.
    pub indexes: Vec<Index>,
    /// Foreign keys, sorted by columns, referenced table, referenced columns, name.
    pub foreign_keys: Vec<ForeignKey>,
    /// CHECK constraint expressions (best effort, backend-specific text, sorted).
    /// MariaDB's implicit `json_valid` checks on JSON columns are not listed.
    pub checks: Vec<String>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name, exactly as stored.
    pub name: String,
    /// Normalized type.
    pub col_type: ColType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Normalized default expression (see [`normalize_default`]); `None` when
    /// there is no default, the default is `NULL`, or the column is auto-increment.
    pub default: Option<String>,
    /// Identity (PostgreSQL), `serial`/`nextval(...)` (PostgreSQL),
    /// `AUTO_INCREMENT` (MySQL) or `INTEGER PRIMARY KEY AUTOINCREMENT` (SQLite).
    pub auto_increment: bool,
}

/// A backend-neutral column type.
///
/// | ColType | PostgreSQL | MySQL / MariaDB | SQLite (declared type) |
/// |---|---|---|---|
/// | `SmallInt` | `smallint`/`int2`/`smallserial` | `smallint` | `smallint` |
/// | `Int` | `integer`/`int4`/`serial` | `int(N)` | `integer`, `int` (sea-query writes `integer` for *both* Integer and BigInteger) |
/// | `BigInt` | `bigint`/`int8`/`bigserial` | `bigint(N)` | `bigint` |
/// | `Bool` | `boolean` | `tinyint(1)`/`bool` | `boolean`/`bool` |
/// | `Char(n)` | `character(n)` | `char(n)` | `char(n)` |
/// | `String(n)` | `character varying(n)` | `varchar(n)` | `varchar(n)` |
/// | `Text` | `text` | `text` | `text` |
/// | `Decimal(p,s)` | `numeric(p,s)` | `decimal(p,s)` | `real(p, s)`, `real_decimal`, `decimal(p,s)`, `numeric(p,s)` |
/// | `Float` | `real` | `float` | `float`, `real` |
/// | `Double` | `double precision` | `double` | `double` |
/// | `Date` / `Time` | `date` / `time without time zone` | `date` / `time` | `date_text`,`date` / `time_text`,`time` |
/// | `Timestamp` | `timestamp without time zone` | `datetime` | `timestamp_text`, `datetime_text`, `timestamp`, `datetime` |
/// | `TimestampTz` | `timestamp with time zone` | `timestamp` (MySQL's UTC-converting type; sea-query writes it for both Timestamp and TimestampWithTimeZone) | `timestamp_with_timezone_text`, `timestamptz` |
/// | `Json` | `json` | `json`, MariaDB `longtext` + `CHECK (json_valid(col))` | `json_text`, `json` |
/// | `JsonB` | `jsonb` | — (sea-query writes `json`) | `jsonb_text`, `jsonb` |
/// | `Uuid` | `uuid` | MariaDB ≥ 10.7 native `uuid` (sea-query writes `binary(16)` → `Binary(16)`) | `uuid_text`, `uuid` |
/// | `Binary(n)` | — | `binary(n)` | `blob(n)` |
/// | `Blob` | `bytea` (sea-query Binary/VarBinary/Blob all become `bytea`) | `blob` | `blob` |
/// | `Enum` | a `CREATE TYPE … AS ENUM` type (`name: Some`) | inline `enum('a','b')` (`name: None`) | `enum_text` (`name: None`, `values` empty: SQLite does not store them) |
/// | `Other(s)` | anything else, `format_type()` text | anything else (`tinyint`, `… unsigned`, `varbinary(n)`, `longtext`, `datetime(6)`, …) | anything else, lowercased (`tinyint`, `varbinary(n)`, …) |
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ColType {
    /// 16-bit integer.
    SmallInt,
    /// 32-bit integer.
    Int,
    /// 64-bit integer.
    BigInt,
    /// Boolean.
    Bool,
    /// Fixed-length character string.
    Char(Option<u32>),
    /// Variable-length character string (`varchar`).
    String(Option<u32>),
    /// Unbounded text.
    Text,
    /// Exact numeric with optional (precision, scale).
    Decimal(Option<(u32, u32)>),
    /// Single-precision float.
    Float,
    /// Double-precision float.
    Double,
    /// Calendar date.
    Date,
    /// Time of day.
    Time,
    /// Timestamp without time zone.
    Timestamp,
    /// Timestamp with time zone.
    TimestampTz,
    /// JSON (text).
    Json,
    /// Binary JSON (PostgreSQL `jsonb`).
    JsonB,
    /// UUID.
    Uuid,
    /// Fixed-length binary.
    Binary(Option<u32>),
    /// Unbounded binary.
    Blob,
    /// Enumeration.
    Enum {
        /// Type name (PostgreSQL enum types only).
        name: Option<String>,
        /// Labels in order (empty when the backend does not record them).
        values: Vec<String>,
    },
    /// Any other type, as the backend spells it (lowercased where case is not significant).
    Other(String),
}

/// An index or a unique constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Index {
    /// User-given name; `None` when the backend generated it
    /// (PostgreSQL `<table>_<cols>_key`/`_idx`, MySQL named after the first column,
    /// SQLite `sqlite_autoindex_*`).
    pub name: Option<String>,
    /// The key parts in order: a column name, or an expression's text as the
    /// backend prints it back (`lower((name)::text)`; see [`KeyPart::expression`]).
    pub columns: Vec<String>,
    /// Unique index or UNIQUE constraint.
    pub unique: bool,
    /// How it is built beyond its key list; the default is what entities
    /// declare (a B-tree over plain ascending columns).
    #[serde(default, skip_serializing_if = "IndexShape::is_default")]
    pub shape: IndexShape,
}

/// What an index is beyond its key list: the properties entities cannot
/// declare (SeaORM's `indexed`/`unique_key` and `with_entity_index` give
/// plain column lists), and whether it is a constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexShape {
    /// A UNIQUE constraint rather than an index: dropped with `ALTER TABLE …
    /// DROP CONSTRAINT` (PostgreSQL) or only by rebuilding the table
    /// (SQLite's inline `UNIQUE`). Both enforce the same thing, so it does
    /// not tell two indexes apart; MySQL/MariaDB have no such difference.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub constraint: bool,
    /// The access method where it is not the backend's default: PostgreSQL
    /// `gin`, `gist`, `hash`, `brin`, `spgist`; MySQL/MariaDB `fulltext`,
    /// `spatial`, `hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Per key part, in the order of [`Index::columns`]; empty when every
    /// part is a plain ascending column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<KeyPart>,
    /// Non-key columns stored in the index (PostgreSQL `INCLUDE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// The `WHERE` of a partial index, as the backend prints it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// PostgreSQL 15's `NULLS NOT DISTINCT`: NULLs collide in a unique index.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nulls_not_distinct: bool,
}

/// One key part of an index, where it is more than a plain ascending column.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyPart {
    /// The part is an expression, not a column.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expression: bool,
    /// `DESC`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub descending: bool,
    /// `NULLS FIRST` (`Some(true)`) or `NULLS LAST` (`Some(false)`) where
    /// it is not the direction's default (PostgreSQL: last ascending, first
    /// descending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nulls_first: Option<bool>,
    /// An operator class other than the type's default (`gin_trgm_ops`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opclass: Option<String>,
    /// MySQL/MariaDB prefix length: `name(10)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
}

impl KeyPart {
    /// Whether it is a plain ascending column.
    pub fn is_plain(&self) -> bool {
        *self == KeyPart::default()
    }
}

impl IndexShape {
    /// Whether nothing is set (serde's skip test).
    pub fn is_default(&self) -> bool {
        *self == IndexShape::default()
    }

    /// Whether entities can declare it: a plain column list (a constraint
    /// or not).
    pub fn is_plain(&self) -> bool {
        IndexShape {
            constraint: false,
            ..self.clone()
        }
        .is_default()
    }

    /// Puts `parts` in canonical form: empty when every part is plain.
    pub fn with_parts(mut self, parts: Vec<KeyPart>) -> Self {
        self.parts = if parts.iter().all(KeyPart::is_plain) {
            Vec::new()
        } else {
            parts
        };
        self
    }

    /// The same shape, constraint or not (what pairs two indexes).
    fn as_index(&self) -> IndexShape {
        IndexShape {
            constraint: false,
            ..self.clone()
        }
    }
}

impl Index {
    /// A plain index of `columns` (named `name` unless `None`).
    pub fn new(name: Option<&str>, columns: &[&str], unique: bool) -> Self {
        Index {
            name: name.map(str::to_owned),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            unique,
            shape: IndexShape::default(),
        }
    }

    /// Whether entities can declare it (see [`IndexShape::is_plain`]):
    /// an index they cannot is the migrations' unless `--strict`.
    pub fn entities_can_declare(&self) -> bool {
        self.shape.is_plain()
    }

    /// The key part `i` as DDL writes it before its options: a column
    /// quoted with `quote`, an expression in parentheses.
    pub fn part_text(&self, i: usize, quote: impl Fn(&str) -> String) -> String {
        let text = &self.columns[i];
        if self.shape.parts.get(i).is_some_and(|p| p.expression) {
            format!("({text})")
        } else {
            quote(text)
        }
    }
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ForeignKey {
    /// User-given constraint name; `None` when the backend generated it
    /// (PostgreSQL `<table>_<cols>_fkey`, MySQL `<table>_ibfk_<n>`) and always
    /// `None` on SQLite unless the `CREATE TABLE` text names it with `CONSTRAINT`.
    pub name: Option<String>,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced table.
    pub ref_table: String,
    /// Referenced columns.
    pub ref_columns: Vec<String>,
    /// `ON DELETE` action.
    pub on_delete: FkAction,
    /// `ON UPDATE` action.
    pub on_update: FkAction,
}

/// A referential action.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub enum FkAction {
    /// `NO ACTION`, or no clause. On MySQL, `RESTRICT` also reflects as this (see `Backend::reflected_fk_action`).
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

// ---------------------------------------------------------------------------
// Helpers shared by the backends
// ---------------------------------------------------------------------------

/// Catalog queries run by reflection in this process (see [`catalog_queries`]).
static CATALOG_QUERIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many catalog queries reflection has run in this process: the W3
/// benchmark reads it to show that the count does not grow with the tables.
pub fn catalog_queries() -> usize {
    CATALOG_QUERIES.load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) async fn query(
    conn: &impl ConnectionTrait,
    sql: &str,
) -> Result<Vec<QueryResult>, DbErr> {
    CATALOG_QUERIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let backend = conn.get_database_backend();
    conn.query_all_raw(Statement::from_string(backend, sql.to_owned()))
        .await
}

pub(crate) fn get_str(row: &QueryResult, col: &str) -> Result<String, DbErr> {
    row.try_get::<String>("", col)
}

pub(crate) fn get_opt_str(row: &QueryResult, col: &str) -> Result<Option<String>, DbErr> {
    row.try_get::<Option<String>>("", col)
}

pub(crate) fn get_i64(row: &QueryResult, col: &str) -> Result<i64, DbErr> {
    row.try_get::<i64>("", col)
}

pub(crate) fn get_opt_i64(row: &QueryResult, col: &str) -> Result<Option<i64>, DbErr> {
    row.try_get::<Option<i64>>("", col)
}

/// Two lists of one kind of object paired: the one matching both the
/// comparison (`check`, autogenerate) and [`Schema::diff_lines`] use, so
/// "no difference" means the same to both.
#[derive(Debug)]
pub struct Pairing<'a, T> {
    /// The same object on both sides (possibly with other attributes).
    pub pairs: Vec<(&'a T, &'a T)>,
    /// Only on the left.
    pub left: Vec<&'a T>,
    /// Only on the right.
    pub right: Vec<&'a T>,
}

/// Pairs equal objects first, then by `same`, each object at most once.
fn pair_up<'a, T: PartialEq>(
    a: &'a [T],
    b: &'a [T],
    same: impl Fn(&T, &T) -> bool,
) -> Pairing<'a, T> {
    let mut right: Vec<&T> = b.iter().collect();
    let mut pairs = Vec::new();
    let mut rest = Vec::new();
    for x in a {
        match right.iter().position(|y| *y == x) {
            Some(p) => pairs.push((x, right.remove(p))),
            None => rest.push(x),
        }
    }
    let mut left = Vec::new();
    for x in rest {
        match right.iter().position(|y| same(x, y)) {
            Some(p) => pairs.push((x, right.remove(p))),
            None => left.push(x),
        }
    }
    Pairing { pairs, left, right }
}

/// Whether two optional names can be the same object's: equal, or one unset.
pub fn names_compatible(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

impl Table {
    /// The indexes of `self` and `other` that are one index: the same
    /// columns and uniqueness, and the same name where both have one (an
    /// index under another name is another index: it is dropped and
    /// created by its name).
    pub fn pair_indexes<'a>(&'a self, other: &'a Table) -> Pairing<'a, Index> {
        pair_up(&self.indexes, &other.indexes, |a, b| {
            a.columns == b.columns
                && a.unique == b.unique
                && a.shape.as_index() == b.shape.as_index()
                && names_compatible(&a.name, &b.name)
        })
    }

    /// The foreign keys of `self` and `other` that are one key: the same
    /// columns, referenced table and referenced columns. A key is what it
    /// enforces, so its name does not pair it (one named by hand in a
    /// migration and the entity's by SeaORM's convention are one key); the
    /// caller compares the rules (and, strictly, the names) of each pair.
    pub fn pair_foreign_keys<'a>(&'a self, other: &'a Table) -> Pairing<'a, ForeignKey> {
        pair_up(&self.foreign_keys, &other.foreign_keys, |a, b| {
            a.columns == b.columns && a.ref_table == b.ref_table && a.ref_columns == b.ref_columns
        })
    }

    /// Creates an empty table model.
    pub fn new(name: impl Into<String>) -> Self {
        Table {
            name: name.into(),
            ..Default::default()
        }
    }

    /// The column called `name`, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Sorts indexes, foreign keys and checks into their canonical order.
    pub fn sort_canonical(&mut self) {
        self.indexes.sort_by(|a, b| {
            (&a.columns, &a.name, a.unique, &a.shape)
                .cmp(&(&b.columns, &b.name, b.unique, &b.shape))
        });
        self.foreign_keys.sort_by(|a, b| {
            (&a.columns, &a.ref_table, &a.ref_columns, &a.name).cmp(&(
                &b.columns,
                &b.ref_table,
                &b.ref_columns,
                &b.name,
            ))
        });
        self.checks.sort();
    }
}

impl Schema {
    /// The table called `name`, if any.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Human-readable differences between `self` ("left") and `other` ("right"),
    /// e.g. ``table `users`: column `email`: type varchar(255) vs text``.
    /// Empty when the two models are equivalent.
    ///
    /// Rules: column order is ignored; indexes are matched by (columns, unique)
    /// and foreign keys by (columns, referenced table, referenced columns); their
    /// names are compared only when both sides have one (a `None` name means
    /// "backend-generated / not recorded", e.g. every foreign key on SQLite);
    /// checks are compared as sets of text.
    pub fn diff_lines(&self, other: &Schema) -> Vec<String> {
        let mut out = Vec::new();
        for (name, values) in &self.enums {
            match other.enums.get(name) {
                None => out.push(format!("enum `{name}`: only on left")),
                Some(v) if v != values => out.push(format!(
                    "enum `{name}`: values {} vs {}",
                    quoted_list(values),
                    quoted_list(v)
                )),
                _ => {}
            }
        }
        for name in other.enums.keys() {
            if !self.enums.contains_key(name) {
                out.push(format!("enum `{name}`: only on right"));
            }
        }
        for (name, table) in &self.tables {
            match other.tables.get(name) {
                None => out.push(format!("table `{name}`: only on left")),
                Some(t) => diff_table(table, t, &mut out),
            }
        }
        for name in other.tables.keys() {
            if !self.tables.contains_key(name) {
                out.push(format!("table `{name}`: only on right"));
            }
        }
        out
    }
}

fn quoted_list(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote_literal(v)).collect();
    format!("({})", items.join(", "))
}

fn ident_list(names: &[String]) -> String {
    let items: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!("({})", items.join(", "))
}

fn opt_default(d: &Option<String>) -> &str {
    d.as_deref().unwrap_or("none")
}

fn diff_table(a: &Table, b: &Table, out: &mut Vec<String>) {
    let t = &a.name;
    for ca in &a.columns {
        let Some(cb) = b.column(&ca.name) else {
            out.push(format!("table `{t}`: column `{}`: only on left", ca.name));
            continue;
        };
        let c = &ca.name;
        if ca.col_type != cb.col_type {
            out.push(format!(
                "table `{t}`: column `{c}`: type {} vs {}",
                ca.col_type, cb.col_type
            ));
        }
        if ca.nullable != cb.nullable {
            let n = |x: bool| if x { "null" } else { "not null" };
            out.push(format!(
                "table `{t}`: column `{c}`: {} vs {}",
                n(ca.nullable),
                n(cb.nullable)
            ));
        }
        if ca.default != cb.default {
            out.push(format!(
                "table `{t}`: column `{c}`: default {} vs {}",
                opt_default(&ca.default),
                opt_default(&cb.default)
            ));
        }
        if ca.auto_increment != cb.auto_increment {
            out.push(format!(
                "table `{t}`: column `{c}`: auto_increment {} vs {}",
                ca.auto_increment, cb.auto_increment
            ));
        }
    }
    for cb in &b.columns {
        if a.column(&cb.name).is_none() {
            out.push(format!("table `{t}`: column `{}`: only on right", cb.name));
        }
    }
    if a.primary_key != b.primary_key {
        out.push(format!(
            "table `{t}`: primary key {} vs {}",
            ident_list(&a.primary_key),
            ident_list(&b.primary_key)
        ));
    }

    // Indexes and foreign keys, paired as the comparison pairs them.
    let indexes = a.pair_indexes(b);
    for ia in indexes.left {
        out.push(format!("table `{t}`: {ia}: only on left"));
    }
    for ib in indexes.right {
        out.push(format!("table `{t}`: {ib}: only on right"));
    }
    let keys = a.pair_foreign_keys(b);
    for (fa, fb) in keys.pairs {
        let what = format!(
            "foreign key {} -> `{}` {}",
            ident_list(&fa.columns),
            fa.ref_table,
            ident_list(&fa.ref_columns)
        );
        // Stricter than `check`, which takes a key under another name for
        // the same key: a round trip must give back the very names.
        if !names_compatible(&fa.name, &fb.name) {
            out.push(format!(
                "table `{t}`: {what}: name {} vs {}",
                fmt_name(&fa.name),
                fmt_name(&fb.name)
            ));
        }
        if fa.on_delete != fb.on_delete {
            out.push(format!(
                "table `{t}`: {what}: on delete {} vs {}",
                fa.on_delete, fb.on_delete
            ));
        }
        if fa.on_update != fb.on_update {
            out.push(format!(
                "table `{t}`: {what}: on update {} vs {}",
                fa.on_update, fb.on_update
            ));
        }
    }
    for fa in keys.left {
        out.push(format!("table `{t}`: {fa}: only on left"));
    }
    for fb in keys.right {
        out.push(format!("table `{t}`: {fb}: only on right"));
    }

    for c in &a.checks {
        if !b.checks.contains(c) {
            out.push(format!("table `{t}`: check ({c}): only on left"));
        }
    }
    for c in &b.checks {
        if !a.checks.contains(c) {
            out.push(format!("table `{t}`: check ({c}): only on right"));
        }
    }
}

fn fmt_name(n: &Option<String>) -> String {
    match n {
        Some(n) => format!("`{n}`"),
        None => "<generated>".to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------

impl fmt::Display for FkAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FkAction::NoAction => "no action",
            FkAction::Restrict => "restrict",
            FkAction::Cascade => "cascade",
            FkAction::SetNull => "set null",
            FkAction::SetDefault => "set default",
        })
    }
}

impl fmt::Display for ColType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColType::SmallInt => f.write_str("smallint"),
            ColType::Int => f.write_str("int"),
            ColType::BigInt => f.write_str("bigint"),
            ColType::Bool => f.write_str("bool"),
            ColType::Char(Some(n)) => write!(f, "char({n})"),
            ColType::Char(None) => f.write_str("char"),
            ColType::String(Some(n)) => write!(f, "varchar({n})"),
            ColType::String(None) => f.write_str("varchar"),
            ColType::Text => f.write_str("text"),
            ColType::Decimal(Some((p, s))) => write!(f, "decimal({p},{s})"),
            ColType::Decimal(None) => f.write_str("decimal"),
            ColType::Float => f.write_str("float"),
            ColType::Double => f.write_str("double"),
            ColType::Date => f.write_str("date"),
            ColType::Time => f.write_str("time"),
            ColType::Timestamp => f.write_str("timestamp"),
            ColType::TimestampTz => f.write_str("timestamptz"),
            ColType::Json => f.write_str("json"),
            ColType::JsonB => f.write_str("jsonb"),
            ColType::Uuid => f.write_str("uuid"),
            ColType::Binary(Some(n)) => write!(f, "binary({n})"),
            ColType::Binary(None) => f.write_str("binary"),
            ColType::Blob => f.write_str("blob"),
            ColType::Enum { name, values } => {
                f.write_str("enum")?;
                if let Some(n) = name {
                    write!(f, " `{n}`")?;
                }
                f.write_str(&quoted_list(values))
            }
            ColType::Other(s) => write!(f, "other({s})"),
        }
    }
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unique {
            f.write_str("unique ")?;
        }
        if self.shape.constraint {
            f.write_str("constraint ")?;
        } else {
            f.write_str("index ")?;
        }
        if let Some(n) = &self.name {
            write!(f, "`{n}` ")?;
        }
        let sh = &self.shape;
        if let Some(m) = &sh.method {
            write!(f, "using {m} ")?;
        }
        if sh.parts.is_empty() {
            f.write_str(&ident_list(&self.columns))?;
        } else {
            let parts: Vec<String> = self
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let p = sh.parts.get(i).cloned().unwrap_or_default();
                    let mut t = if p.expression {
                        c.clone()
                    } else {
                        format!("`{c}`")
                    };
                    if let Some(n) = p.length {
                        t.push_str(&format!("({n})"));
                    }
                    if let Some(o) = &p.opclass {
                        t.push_str(&format!(" {o}"));
                    }
                    if p.descending {
                        t.push_str(" desc");
                    }
                    match p.nulls_first {
                        Some(true) => t.push_str(" nulls first"),
                        Some(false) => t.push_str(" nulls last"),
                        None => {}
                    }
                    t
                })
                .collect();
            write!(f, "({})", parts.join(", "))?;
        }
        if !sh.include.is_empty() {
            write!(f, " include {}", ident_list(&sh.include))?;
        }
        if sh.nulls_not_distinct {
            f.write_str(" nulls not distinct")?;
        }
        if let Some(p) = &sh.predicate {
            write!(f, " where {p}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ForeignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("foreign key ")?;
        if let Some(n) = &self.name {
            write!(f, "`{n}` ")?;
        }
        write!(
            f,
            "{} -> `{}` {} on delete {} on update {}",
            ident_list(&self.columns),
            self.ref_table,
            ident_list(&self.ref_columns),
            self.on_delete,
            self.on_update
        )
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` {} {}",
            self.name,
            self.col_type,
            if self.nullable { "null" } else { "not null" }
        )?;
        if let Some(d) = &self.default {
            write!(f, " default {d}")?;
        }
        if self.auto_increment {
            f.write_str(" auto_increment")?;
        }
        Ok(())
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "table `{}`", self.name)?;
        for c in &self.columns {
            writeln!(f, "  {c}")?;
        }
        if !self.primary_key.is_empty() {
            writeln!(f, "  primary key {}", ident_list(&self.primary_key))?;
        }
        for i in &self.indexes {
            writeln!(f, "  {i}")?;
        }
        for k in &self.foreign_keys {
            writeln!(f, "  {k}")?;
        }
        for c in &self.checks {
            writeln!(f, "  check ({c})")?;
        }
        Ok(())
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, values) in &self.enums {
            writeln!(f, "enum `{name}` {}", quoted_list(values))?;
        }
        for t in self.tables.values() {
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

impl ColType {
    /// Whether defaults of this type are numbers (used to unquote `'5'`).
    pub(crate) fn is_numeric(&self) -> bool {
        matches!(
            self,
            ColType::SmallInt
                | ColType::Int
                | ColType::BigInt
                | ColType::Decimal(_)
                | ColType::Float
                | ColType::Double
        ) || matches!(self, ColType::Other(s) if is_numeric_other(s))
    }
}

fn is_numeric_other(s: &str) -> bool {
    let base = s.split(['(', ' ']).next().unwrap_or("");
    matches!(
        base,
        "tinyint"
            | "smallint"
            | "mediumint"
            | "int"
            | "integer"
            | "bigint"
            | "decimal"
            | "numeric"
            | "float"
            | "double"
            | "real"
            | "money"
    )
}

pub(crate) fn string_len(l: &StringLen) -> Option<u32> {
    match l {
        StringLen::N(n) => Some(*n),
        _ => None,
    }
}

/// Lowercases, collapses whitespace and removes blanks next to `(`, `)` and `,`.
pub(crate) fn squash_type(s: &str) -> String {
    let lower = s.trim().to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut pending_space = false;
    for ch in lower.chars() {
        if ch.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space
            && !out.is_empty()
            && !matches!(ch, '(' | ')' | ',')
            && !out.ends_with(['(', ','])
        {
            out.push(' ');
        }
        pending_space = false;
        out.push(ch);
    }
    out
}

/// Splits `name(args) rest` into (`name`, `Some(args)`, `rest`).
pub(crate) fn split_type(s: &str) -> (&str, Option<&str>, &str) {
    if let Some(open) = s.find('(')
        && let Some(close) = s[open..].find(')')
    {
        let close = open + close;
        return (
            s[..open].trim(),
            Some(&s[open + 1..close]),
            s[close + 1..].trim(),
        );
    }
    (s.trim(), None, "")
}

pub(crate) fn parse_u32(s: Option<&str>) -> Option<u32> {
    s.and_then(|s| s.trim().parse().ok())
}

pub(crate) fn parse_pair(s: Option<&str>) -> Option<(u32, u32)> {
    let s = s?;
    let mut it = s.split(',');
    let p = it.next()?.trim().parse().ok()?;
    let sc = match it.next() {
        Some(x) => x.trim().parse().ok()?,
        None => 0,
    };
    Some((p, sc))
}

// ---------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------

/// Quotes `s` as an SQL string literal with `''` escaping.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Parses a complete single-quoted SQL literal (`''` escapes; with
/// `backslash`, also MySQL's `\'`, `\\`, `\n`, ... escapes). `None` if `s` is
/// not exactly one literal.
pub(crate) fn unquote_literal(s: &str, backslash: bool) -> Option<String> {
    let mut chars = s.chars().peekable();
    if chars.next()? != '\'' {
        return None;
    }
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    return if chars.next().is_none() {
                        Some(out)
                    } else {
                        None
                    };
                }
            }
            '\\' if backslash => {
                let e = chars.next()?;
                out.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    '0' => '\0',
                    'Z' => '\u{1a}',
                    other => other,
                });
            }
            c => out.push(c),
        }
    }
    None
}

/// Index of the `)` matching the `(` at byte 0, skipping quoted text.
fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Removes parentheses that wrap the whole expression.
pub(crate) fn strip_outer_parens(mut s: &str) -> &str {
    loop {
        s = s.trim();
        if s.starts_with('(') && matching_paren(s) == Some(s.len() - 1) {
            s = &s[1..s.len() - 1];
        } else {
            return s;
        }
    }
}

/// Length of the leading "atom" of `s`: a quoted literal, a parenthesized
/// group, a number or NULL — the things PostgreSQL decorates with casts.
fn leading_atom_len(s: &str) -> Option<usize> {
    let first = s.chars().next()?;
    if first == '\'' {
        let mut chars = s.char_indices().skip(1).peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if matches!(chars.peek(), Some((_, '\''))) {
                    chars.next();
                } else {
                    return Some(i + 1);
                }
            }
        }
        None
    } else if first == '(' {
        matching_paren(s).map(|i| i + 1)
    } else if s.len() >= 4 && s[..4].eq_ignore_ascii_case("null") {
        Some(4)
    } else {
        let len = s
            .char_indices()
            .take_while(|(i, c)| {
                c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '-' || *c == '+'))
            })
            .count();
        (len > 0).then_some(len)
    }
}

/// Strips PostgreSQL `::type` casts that follow a literal, group, number or NULL.
pub(crate) fn strip_pg_casts(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let Some(len) = leading_atom_len(s) else {
            return s;
        };
        let rest = &s[len..];
        if rest.starts_with("::")
            && rest[2..].chars().all(|c| {
                c.is_alphanumeric()
                    || matches!(c, ' ' | '_' | '"' | '(' | ')' | ',' | '[' | ']' | '.')
            })
        {
            s = s[..len].trim();
            let inner = strip_outer_parens(s);
            if inner.len() != s.len() {
                s = inner;
                continue;
            }
            return s;
        }
        return s;
    }
}

/// Canonical text of a plain number (`+1.50` -> `1.5`, `2.0` -> `2`), or `None`.
pub(crate) fn canonical_number(s: &str) -> Option<String> {
    let s = s.trim();
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.strip_prefix('-').unwrap_or(body);
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        || digits.chars().filter(|c| *c == '.').count() > 1
        || !digits.chars().any(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mut out = body.to_owned();
    if out.contains('.') {
        while out.ends_with('0') {
            out.pop();
        }
        if out.ends_with('.') {
            out.pop();
        }
    }
    if out == "-0" {
        out = "0".into();
    }
    Some(out)
}

fn bool_word(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "y" | "yes" | "on" | "b'1'" => Some(true),
        "false" | "f" | "0" | "n" | "no" | "off" | "b'0'" => Some(false),
        _ => None,
    }
}

/// How an engine writes default expressions back in its catalog: what
/// [`normalize_default`] must undo before defaults compare.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultSyntax {
    /// Casts after literals (`'x'::character varying`, PostgreSQL).
    pub casts: bool,
    /// Backslash escapes inside string literals (MySQL/MariaDB).
    pub backslash_escapes: bool,
    /// A double-quoted string accepted as a literal (SQLite).
    pub double_quoted_strings: bool,
}

/// Normalizes a default expression as reflected (written in `syntax`) for a column of type `ty`.
///
/// * `NULL` (with any cast) -> `None`;
/// * casts after literals are stripped (`'x'::character varying` -> `'x'`,
///   `'-1'::integer` -> `-1`), as are parentheses around the whole expression;
/// * `now()`, `CURRENT_TIMESTAMP`, `current_timestamp()` (any case) -> `CURRENT_TIMESTAMP`;
/// * on a [`ColType::Bool`] column `true`/`t`/`1`/`'1'`/`b'1'` -> `true` (and the same for `false`);
/// * numbers (quoted or not, on numeric columns) -> plain text without trailing zeros;
/// * string literals -> `'…'` with `''` escaping (backslash escapes decoded);
/// * anything else is kept as written (trimmed).
pub fn normalize_default(raw: &str, ty: &ColType, syntax: DefaultSyntax) -> Option<String> {
    let mut s = raw.trim();
    if syntax.casts {
        s = strip_pg_casts(s);
    }
    s = strip_outer_parens(s);
    if syntax.casts {
        s = strip_pg_casts(s);
    }
    if s.is_empty() || s.eq_ignore_ascii_case("null") {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "now()" | "current_timestamp" | "current_timestamp()"
    ) {
        return Some("CURRENT_TIMESTAMP".into());
    }
    let literal = unquote_literal(s, syntax.backslash_escapes);
    if *ty == ColType::Bool {
        let word = literal.as_deref().unwrap_or(s);
        if let Some(b) = bool_word(word) {
            return Some(b.to_string());
        }
    }
    if let Some(lit) = literal {
        if ty.is_numeric()
            && let Some(n) = canonical_number(&lit)
        {
            return Some(n);
        }
        return Some(quote_literal(&lit));
    }
    if let Some(n) = canonical_number(s) {
        return Some(n);
    }
    if syntax.double_quoted_strings && s.starts_with('"') && s.ends_with('"') && s.len() >= 2 {
        return Some(quote_literal(&s[1..s.len() - 1].replace("\"\"", "\"")));
    }
    Some(s.to_owned())
}

impl FkAction {
    /// Parses `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL`, `SET DEFAULT` (any case); anything else is `NoAction`.
    pub(crate) fn parse(s: &str) -> FkAction {
        match squash_type(s).as_str() {
            "restrict" => FkAction::Restrict,
            "cascade" => FkAction::Cascade,
            "set null" => FkAction::SetNull,
            "set default" => FkAction::SetDefault,
            _ => FkAction::NoAction,
        }
    }
}

/// [`Schema::others`] from catalog rows of `kind`, `name` and `on_table`
/// (a trigger's table): `trigger \`t\` on \`members\``, `view \`v\``; names in
/// `exclude` are left out.
///
/// # Errors
/// A row without those columns.
pub(crate) fn others_of(rows: &[QueryResult], exclude: &[&str]) -> Result<Vec<String>, DbErr> {
    let mut out = Vec::new();
    for row in rows {
        let (kind, name) = (get_str(row, "kind")?, get_str(row, "name")?);
        if exclude.contains(&name.as_str()) {
            continue;
        }
        out.push(match get_opt_str(row, "on_table")? {
            Some(on) => format!("{kind} `{name}` on `{on}`"),
            None => format!("{kind} `{name}`"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_normalize() {
        let pg = DefaultSyntax {
            casts: true,
            ..DefaultSyntax::default()
        };
        let s = ColType::String(Some(10));
        assert_eq!(
            normalize_default("'x'::character varying", &s, pg).as_deref(),
            Some("'x'")
        );
        assert_eq!(
            normalize_default("'it''s'::text", &ColType::Text, pg).as_deref(),
            Some("'it''s'")
        );
        assert_eq!(
            normalize_default("'-1'::integer", &ColType::Int, pg).as_deref(),
            Some("-1")
        );
        assert_eq!(
            normalize_default("(-1)", &ColType::Int, pg).as_deref(),
            Some("-1")
        );
        assert_eq!(
            normalize_default("1.50", &ColType::Decimal(None), pg).as_deref(),
            Some("1.5")
        );
        assert_eq!(
            normalize_default("now()", &ColType::TimestampTz, pg).as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        assert_eq!(normalize_default("NULL::character varying", &s, pg), None);
        assert_eq!(
            normalize_default("true", &ColType::Bool, pg).as_deref(),
            Some("true")
        );
        let my = DefaultSyntax {
            backslash_escapes: true,
            ..DefaultSyntax::default()
        };
        assert_eq!(
            normalize_default("'it\\'s'", &ColType::Text, my).as_deref(),
            Some("'it''s'")
        );
        assert_eq!(
            normalize_default("current_timestamp()", &ColType::Timestamp, my).as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        assert_eq!(
            normalize_default("1", &ColType::Bool, my).as_deref(),
            Some("true")
        );
        assert_eq!(normalize_default("NULL", &ColType::Int, my), None);
        let lite = DefaultSyntax {
            double_quoted_strings: true,
            ..DefaultSyntax::default()
        };
        assert_eq!(
            normalize_default("TRUE", &ColType::Bool, lite).as_deref(),
            Some("true")
        );
        assert_eq!(
            normalize_default("(1+2)", &ColType::Int, lite).as_deref(),
            Some("1+2")
        );
        assert_eq!(
            normalize_default("'5'", &ColType::Int, lite).as_deref(),
            Some("5")
        );
        assert_eq!(
            normalize_default("'5'", &ColType::Text, lite).as_deref(),
            Some("'5'")
        );
    }

    fn table_with(indexes: Vec<Index>, fks: Vec<ForeignKey>) -> Table {
        Table {
            name: "t".into(),
            columns: vec![Column {
                name: "a".into(),
                col_type: ColType::Int,
                nullable: false,
                default: None,
                auto_increment: true,
            }],
            primary_key: vec!["a".into()],
            indexes,
            foreign_keys: fks,
            checks: vec![],
        }
    }

    fn schema_of(t: Table) -> Schema {
        let mut s = Schema::default();
        s.tables.insert(t.name.clone(), t);
        s
    }

    #[test]
    fn diff_names_and_actions() {
        let idx = |name: Option<&str>, unique| Index {
            name: name.map(Into::into),
            columns: vec!["a".into()],
            unique,
            shape: Default::default(),
        };
        let fk = |name: Option<&str>, on_delete| ForeignKey {
            name: name.map(Into::into),
            columns: vec!["a".into()],
            ref_table: "p".into(),
            ref_columns: vec!["id".into()],
            on_delete,
            on_update: FkAction::NoAction,
        };
        let a = schema_of(table_with(
            vec![idx(None, true)],
            vec![fk(Some("f"), FkAction::Cascade)],
        ));
        let b = schema_of(table_with(
            vec![idx(Some("u"), true)],
            vec![fk(None, FkAction::Cascade)],
        ));
        assert!(a.diff_lines(&b).is_empty(), "{:?}", a.diff_lines(&b));
        let c = schema_of(table_with(
            vec![idx(Some("v"), true)],
            vec![fk(Some("g"), FkAction::SetNull)],
        ));
        assert_eq!(
            b.diff_lines(&c),
            vec![
                // Another name is another index (the comparison drops and
                // creates it by name); a key is paired by what it enforces.
                "table `t`: unique index `u` (`a`): only on left",
                "table `t`: unique index `v` (`a`): only on right",
                "table `t`: foreign key (`a`) -> `p` (`id`): on delete cascade vs set null",
            ]
        );
        let d = schema_of(table_with(vec![idx(None, false)], vec![]));
        assert_eq!(
            a.diff_lines(&d),
            vec![
                "table `t`: unique index (`a`): only on left",
                "table `t`: index (`a`): only on right",
                "table `t`: foreign key `f` (`a`) -> `p` (`id`) on delete cascade on update no action: only on left",
            ]
        );
        let mut e = a.clone();
        e.enums.insert("mood".into(), vec!["x".into()]);
        e.tables.get_mut("t").unwrap().primary_key.clear();
        e.tables.get_mut("t").unwrap().columns[0].auto_increment = false;
        assert_eq!(
            a.diff_lines(&e),
            vec![
                "enum `mood`: only on right",
                "table `t`: column `a`: auto_increment true vs false",
                "table `t`: primary key (`a`) vs ()",
            ]
        );
        assert_eq!(
            e.to_string(),
            "enum `mood` ('x')\ntable `t`\n  `a` int not null\n  unique index (`a`)\n  foreign key `f` (`a`) -> `p` (`id`) on delete cascade on update no action\n"
        );
    }

    #[test]
    fn squash() {
        assert_eq!(squash_type("  Real(10, 2) "), "real(10,2)");
        assert_eq!(
            squash_type("timestamp  WITH time zone"),
            "timestamp with time zone"
        );
        assert_eq!(squash_type("bigint(20) unsigned"), "bigint(20) unsigned");
    }
}
