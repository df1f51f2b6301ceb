//! MySQL / MariaDB reflection through `information_schema`, for the current database (`DATABASE()`).
//!
//! Exactly 6 queries are run, whatever the number of tables: `VERSION()`
//! (MariaDB and MySQL format `COLUMN_DEFAULT` and expose CHECK constraints
//! differently), `COLUMNS` ⋈ `TABLES` (base tables only), `STATISTICS`,
//! `KEY_COLUMN_USAGE` ⋈ `REFERENTIAL_CONSTRAINTS`, and `CHECK_CONSTRAINTS`
//! (a server without that table is treated as having no checks), and one
//! listing views, triggers and routines ([`Schema::others`]). Every text
//! column is read through `CONVERT(… USING utf8mb4)` and every number through
//! `CAST(… AS SIGNED)`, because MariaDB returns some `information_schema`
//! columns as binary strings or unsigned integers that sqlx will not decode
//! as `String`/`i64`.
//!
//! Normalization specific to MySQL:
//! * display widths are ignored (`int(11)` is `Int`); `tinyint(1)` is `Bool`;
//! * MariaDB stores `JSON` as `longtext` plus a column-level
//!   `CHECK (json_valid(`col`))`: such a column is reported as `Json` and the
//!   check is not listed;
//! * an index named after its first column (`col`, `col_2`, …), which is what
//!   MySQL names an unnamed (inline) UNIQUE or KEY, has `name: None`;
//!   a foreign key named `<table>_ibfk_<n>` has `name: None`;
//! * InnoDB requires an index on foreign-key columns and creates one when none
//!   exists; it is named after the constraint (or, for an unnamed constraint,
//!   after the first column). A non-unique index whose columns equal a foreign
//!   key's columns and whose name is the constraint's name (or, for a
//!   generated constraint name, the generated column-based name) is therefore
//!   not reported, so that MySQL matches PostgreSQL and SQLite, which create
//!   no such index;
//! * `RESTRICT` (which is also what an absent `ON DELETE/UPDATE` clause is
//!   reported as) reflects as [`FkAction::NoAction`]: InnoDB treats them alike;
//! * an index's shape ([`IndexShape`]): `FULLTEXT`/`SPATIAL`/`HASH`, prefix
//!   lengths, `DESC` parts (MariaDB 10.8+, MySQL 8), and on MySQL 8 the
//!   expression of a functional key part (MariaDB has none).

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbErr};

use crate::schema::{
    ColType, Column, FkAction, ForeignKey, Index, IndexShape, KeyPart, Schema, Table, get_i64,
    get_opt_i64, get_opt_str, get_str, normalize_default, parse_pair, parse_u32, query,
    quote_literal, split_type, squash_type, strip_outer_parens, unquote_literal,
};

const VERSION_SQL: &str = "SELECT CONVERT(VERSION() USING utf8mb4) AS version";

const COLUMNS_SQL: &str = r#"
SELECT CONVERT(c.TABLE_NAME USING utf8mb4) AS table_name,
       CAST(c.ORDINAL_POSITION AS SIGNED) AS ordinal,
       CONVERT(c.COLUMN_NAME USING utf8mb4) AS column_name,
       CONVERT(c.COLUMN_DEFAULT USING utf8mb4) AS column_default,
       CONVERT(c.IS_NULLABLE USING utf8mb4) AS is_nullable,
       CONVERT(c.DATA_TYPE USING utf8mb4) AS data_type,
       CONVERT(c.COLUMN_TYPE USING utf8mb4) AS column_type,
       CONVERT(c.EXTRA USING utf8mb4) AS extra
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t
  ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE'
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION
"#;

/// `STATISTICS`, one row per key part; `{expression}` is MySQL 8's
/// `EXPRESSION` column (functional key parts), which MariaDB has not.
const STATISTICS_SQL: &str = r#"
SELECT CONVERT(TABLE_NAME USING utf8mb4) AS table_name,
       CONVERT(INDEX_NAME USING utf8mb4) AS index_name,
       CAST(NON_UNIQUE AS SIGNED) AS non_unique,
       CAST(SEQ_IN_INDEX AS SIGNED) AS seq,
       CONVERT(COLUMN_NAME USING utf8mb4) AS column_name,
       CAST(SUB_PART AS SIGNED) AS sub_part,
       CONVERT(COLLATION USING utf8mb4) AS collation,
       CONVERT(INDEX_TYPE USING utf8mb4) AS index_type,
       {expression} AS expression
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
"#;

/// Views, triggers and routines, which entities cannot declare.
const OTHERS_SQL: &str = r#"
SELECT kind, name, on_table FROM (
  SELECT 'view' AS kind, CONVERT(TABLE_NAME USING utf8mb4) AS name, NULL AS on_table
  FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()
  UNION ALL
  SELECT 'trigger', CONVERT(TRIGGER_NAME USING utf8mb4),
         CONVERT(EVENT_OBJECT_TABLE USING utf8mb4)
  FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
  UNION ALL
  SELECT CONVERT(LOWER(ROUTINE_TYPE) USING utf8mb4), CONVERT(ROUTINE_NAME USING utf8mb4), NULL
  FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()
) o ORDER BY kind, name
"#;

const FOREIGN_KEYS_SQL: &str = r#"
SELECT CONVERT(k.TABLE_NAME USING utf8mb4) AS table_name,
       CONVERT(k.CONSTRAINT_NAME USING utf8mb4) AS name,
       CONVERT(k.COLUMN_NAME USING utf8mb4) AS column_name,
       CAST(k.ORDINAL_POSITION AS SIGNED) AS ordinal,
       CONVERT(k.REFERENCED_TABLE_SCHEMA USING utf8mb4) AS ref_schema,
       CONVERT(k.REFERENCED_TABLE_NAME USING utf8mb4) AS ref_table,
       CONVERT(k.REFERENCED_COLUMN_NAME USING utf8mb4) AS ref_column,
       CONVERT(r.UPDATE_RULE USING utf8mb4) AS on_update,
       CONVERT(r.DELETE_RULE USING utf8mb4) AS on_delete,
       CONVERT(DATABASE() USING utf8mb4) AS current_db
FROM information_schema.KEY_COLUMN_USAGE k
JOIN information_schema.REFERENTIAL_CONSTRAINTS r
  ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA
 AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
 AND r.TABLE_NAME = k.TABLE_NAME
WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION
"#;

/// MariaDB: `CHECK_CONSTRAINTS` has `TABLE_NAME` and `LEVEL` (column-level
/// checks are named after their column, so names repeat across tables).
const CHECKS_MARIADB_SQL: &str = r#"
SELECT CONVERT(TABLE_NAME USING utf8mb4) AS table_name,
       CONVERT(CONSTRAINT_NAME USING utf8mb4) AS name,
       CONVERT(LEVEL USING utf8mb4) AS level,
       CONVERT(CHECK_CLAUSE USING utf8mb4) AS clause
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = DATABASE()
"#;

/// MySQL 8: `CHECK_CONSTRAINTS` has no table name; join `TABLE_CONSTRAINTS`.
const CHECKS_MYSQL_SQL: &str = r#"
SELECT CONVERT(t.TABLE_NAME USING utf8mb4) AS table_name,
       CONVERT(c.CONSTRAINT_NAME USING utf8mb4) AS name,
       CONVERT('Table' USING utf8mb4) AS level,
       CONVERT(c.CHECK_CLAUSE USING utf8mb4) AS clause
FROM information_schema.TABLE_CONSTRAINTS t
JOIN information_schema.CHECK_CONSTRAINTS c
  ON c.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA AND c.CONSTRAINT_NAME = t.CONSTRAINT_NAME
WHERE t.TABLE_SCHEMA = DATABASE() AND t.CONSTRAINT_TYPE = 'CHECK'
"#;

struct RawColumn {
    name: String,
    default: Option<String>,
    nullable: bool,
    data_type: String,
    column_type: String,
    extra: String,
}

/// Reflects the current MySQL/MariaDB database with 6 queries.
///
/// `exclude` lists table names to skip.
pub async fn reflect<C: ConnectionTrait>(conn: &C, exclude: &[&str]) -> Result<Schema, DbErr> {
    let version_rows = query(conn, VERSION_SQL).await?;
    let version = match version_rows.first() {
        Some(row) => get_str(row, "version")?,
        None => String::new(),
    };
    let mariadb = version.to_ascii_lowercase().contains("mariadb");
    let column_rows = query(conn, COLUMNS_SQL).await?;
    let expression = if mariadb {
        "NULL"
    } else {
        "CONVERT(EXPRESSION USING utf8mb4)"
    };
    let stat_rows = query(conn, &STATISTICS_SQL.replace("{expression}", expression)).await?;
    let fk_rows = query(conn, FOREIGN_KEYS_SQL).await?;
    let other_rows = query(conn, OTHERS_SQL).await?;
    let checks_sql = if mariadb {
        CHECKS_MARIADB_SQL
    } else {
        CHECKS_MYSQL_SQL
    };
    let check_rows = match query(conn, checks_sql).await {
        Ok(rows) => rows,
        // MySQL < 8.0.16 / MariaDB < 10.2 have no CHECK_CONSTRAINTS table.
        Err(e)
            if e.to_string()
                .to_ascii_uppercase()
                .contains("CHECK_CONSTRAINTS") =>
        {
            Vec::new()
        }
        Err(e) => return Err(e),
    };

    // table -> raw columns (ordered by ORDINAL_POSITION by the query).
    let mut raw: BTreeMap<String, Vec<RawColumn>> = BTreeMap::new();
    for row in &column_rows {
        let table = get_str(row, "table_name")?;
        if exclude.contains(&table.as_str()) {
            continue;
        }
        let _ordinal = get_i64(row, "ordinal")?;
        raw.entry(table).or_default().push(RawColumn {
            name: get_str(row, "column_name")?,
            default: get_opt_str(row, "column_default")?,
            nullable: get_str(row, "is_nullable")?.eq_ignore_ascii_case("YES"),
            data_type: get_str(row, "data_type")?.to_ascii_lowercase(),
            column_type: get_str(row, "column_type")?,
            extra: get_opt_str(row, "extra")?.unwrap_or_default(),
        });
    }

    // Checks: MariaDB JSON markers and real checks.
    let mut json_columns: BTreeMap<(String, String), ()> = BTreeMap::new();
    let mut checks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in &check_rows {
        let table = get_str(row, "table_name")?;
        let name = get_str(row, "name")?;
        let level = get_opt_str(row, "level")?.unwrap_or_default();
        let clause = get_opt_str(row, "clause")?.unwrap_or_default();
        if level.eq_ignore_ascii_case("column")
            && strip_outer_parens(&clause) == format!("json_valid({})", backtick(&name))
        {
            json_columns.insert((table, name), ());
            continue;
        }
        checks
            .entry(table)
            .or_default()
            .push(strip_outer_parens(&clause).to_owned());
    }

    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    for (table_name, cols) in raw {
        let mut table = Table::new(table_name.clone());
        for rc in cols {
            let is_json_marker = json_columns.contains_key(&(table_name.clone(), rc.name.clone()));
            let col_type = if is_json_marker && rc.data_type == "longtext" {
                ColType::Json
            } else {
                parse_type(&rc.column_type)
            };
            let extra = rc.extra.to_ascii_lowercase();
            let auto_increment = extra.contains("auto_increment");
            let default = if auto_increment {
                None
            } else {
                rc.default.as_deref().and_then(|d| {
                    let raw_text = mariadb
                        || extra.contains("default_generated")
                        || is_unquoted_literal_type(&rc.data_type);
                    let text = if raw_text {
                        d.to_owned()
                    } else {
                        // MySQL 8 reports literal string defaults unquoted.
                        quote_literal(d)
                    };
                    normalize_default(&text, &col_type, super::types::DEFAULTS)
                })
            };
            table.columns.push(Column {
                name: rc.name,
                col_type,
                nullable: rc.nullable,
                default,
                auto_increment,
            });
        }
        if let Some(c) = checks.remove(&table_name) {
            table.checks = c;
        }
        tables.insert(table_name, table);
    }

    // Foreign keys, grouped by (table, constraint).
    let mut fks: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for row in &fk_rows {
        let table = get_str(row, "table_name")?;
        if !tables.contains_key(&table) {
            continue;
        }
        let name = get_str(row, "name")?;
        let column = get_str(row, "column_name")?;
        let ref_column = get_opt_str(row, "ref_column")?.unwrap_or_default();
        let ref_schema = get_opt_str(row, "ref_schema")?;
        let current_db = get_opt_str(row, "current_db")?;
        let ref_table = get_opt_str(row, "ref_table")?.unwrap_or_default();
        let ref_table = match ref_schema {
            Some(s) if Some(&s) != current_db.as_ref() => format!("{s}.{ref_table}"),
            _ => ref_table,
        };
        let on_update = action(&get_opt_str(row, "on_update")?.unwrap_or_default());
        let on_delete = action(&get_opt_str(row, "on_delete")?.unwrap_or_default());
        let fk = fks
            .entry((table.clone(), name.clone()))
            .or_insert_with(|| ForeignKey {
                name: Some(name),
                columns: Vec::new(),
                ref_table,
                ref_columns: Vec::new(),
                on_delete,
                on_update,
            });
        fk.columns.push(column);
        fk.ref_columns.push(ref_column);
    }

    // Indexes, grouped by (table, index).
    // (table, index) -> (unique, method, key parts' names, key parts).
    type Parts = (bool, Option<String>, Vec<String>, Vec<KeyPart>);
    let mut idx: BTreeMap<(String, String), Parts> = BTreeMap::new();
    for row in &stat_rows {
        let table = get_str(row, "table_name")?;
        if !tables.contains_key(&table) {
            continue;
        }
        let name = get_str(row, "index_name")?;
        if name == "PRIMARY" {
            let column = get_opt_str(row, "column_name")?.unwrap_or_default();
            if let Some(t) = tables.get_mut(&table) {
                t.primary_key.push(column);
            }
            continue;
        }
        let non_unique = get_i64(row, "non_unique")? != 0;
        let _seq = get_i64(row, "seq")?;
        let length = get_opt_i64(row, "sub_part")?.and_then(|n| u32::try_from(n).ok());
        let (column, expression) = match get_opt_str(row, "column_name")? {
            Some(c) => (c, false),
            None => (
                get_opt_str(row, "expression")?.unwrap_or_else(|| "<expr>".to_owned()),
                true,
            ),
        };
        let part = KeyPart {
            expression,
            descending: get_opt_str(row, "collation")?.as_deref() == Some("D"),
            length,
            ..KeyPart::default()
        };
        let method = get_opt_str(row, "index_type")?
            .map(|t| t.to_ascii_lowercase())
            .filter(|t| t != "btree");
        let entry =
            idx.entry((table, name))
                .or_insert((!non_unique, method, Vec::new(), Vec::new()));
        entry.2.push(column);
        entry.3.push(part);
    }

    for ((table_name, name), (unique, method, columns, parts)) in idx {
        let table_fks: Vec<&ForeignKey> = fks
            .iter()
            .filter(|((t, _), _)| *t == table_name)
            .map(|(_, fk)| fk)
            .collect();
        let generated = is_generated_index_name(&name, &columns);
        let fk_auto_index = !unique
            && table_fks.iter().any(|fk| {
                fk.columns == columns
                    && match &fk.name {
                        Some(fk_name) => {
                            *fk_name == name
                                || (is_generated_fk_name(fk_name, &table_name) && generated)
                        }
                        None => false,
                    }
            });
        if fk_auto_index {
            continue;
        }
        if let Some(t) = tables.get_mut(&table_name) {
            t.indexes.push(Index {
                name: (!generated).then_some(name),
                columns,
                unique,
                shape: IndexShape {
                    // A SPATIAL key reports a prefix length (32) it cannot be
                    // created with.
                    method: method.clone(),
                    ..IndexShape::default()
                }
                .with_parts(if method.as_deref() == Some("spatial") {
                    parts
                        .into_iter()
                        .map(|p| KeyPart { length: None, ..p })
                        .collect()
                } else {
                    parts
                }),
            });
        }
    }

    for ((table_name, _), mut fk) in fks {
        if let Some(n) = &fk.name
            && is_generated_fk_name(n, &table_name)
        {
            fk.name = None;
        }
        if let Some(t) = tables.get_mut(&table_name) {
            t.foreign_keys.push(fk);
        }
    }

    let mut schema = Schema::default();
    for (name, mut table) in tables {
        table.sort_canonical();
        schema.tables.insert(name, table);
    }
    schema.others = crate::schema::others_of(&other_rows, exclude)?;
    Ok(schema)
}

fn backtick(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Types whose MySQL 8 `COLUMN_DEFAULT` literal is written without quotes.
fn is_unquoted_literal_type(data_type: &str) -> bool {
    matches!(
        data_type,
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
            | "bit"
            | "year"
    )
}

fn action(rule: &str) -> FkAction {
    match FkAction::parse(rule) {
        FkAction::Restrict => FkAction::NoAction,
        a => a,
    }
}

/// MySQL names an unnamed index after its first column, adding `_2`, `_3`, …
/// on collision.
fn is_generated_index_name(name: &str, columns: &[String]) -> bool {
    let Some(first) = columns.first() else {
        return false;
    };
    if name == first {
        return true;
    }
    name.strip_prefix(first.as_str())
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// InnoDB names an unnamed foreign key `<table>_ibfk_<n>`.
fn is_generated_fk_name(name: &str, table: &str) -> bool {
    name.strip_prefix(table)
        .and_then(|rest| rest.strip_prefix("_ibfk_"))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// Parses the values of `enum('a','it''s')` / `ENUM('a', 'b')` (original case).
fn parse_enum_values(s: &str) -> Option<Vec<String>> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let inner = &s[open + 1..close];
    let mut values = Vec::new();
    let mut chars = inner.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => {
                // find the end of this literal
                let mut end = None;
                while let Some((j, d)) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == '\'' {
                        if matches!(chars.peek(), Some((_, '\''))) {
                            chars.next();
                        } else {
                            end = Some(j);
                            break;
                        }
                    }
                }
                let end = end?;
                values.push(unquote_literal(&inner[i..=end], true)?);
            }
            ',' | ' ' => {}
            _ => return None,
        }
    }
    Some(values)
}

/// Maps a MySQL `COLUMN_TYPE` (or any type text such as `ENUM('a', 'b')`,
/// `int unsigned`, `bool`) to a [`ColType`].
pub fn parse_type(s: &str) -> ColType {
    let trimmed = s.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("enum(") || lower.starts_with("enum (") {
        if let Some(values) = parse_enum_values(trimmed) {
            return ColType::Enum { name: None, values };
        }
        return ColType::Other(trimmed.to_owned());
    }
    let t = squash_type(trimmed);
    let (base, args, rest) = split_type(&t);
    let unsigned = rest.split(' ').any(|w| w == "unsigned");
    let zerofill = rest.split(' ').any(|w| w == "zerofill");
    let int_other = |b: &str| {
        let mut o = b.to_owned();
        if unsigned {
            o.push_str(" unsigned");
        }
        if zerofill {
            o.push_str(" zerofill");
        }
        ColType::Other(o)
    };
    let plain = !unsigned && !zerofill;
    match (base, args) {
        ("tinyint", Some("1")) if plain => ColType::Bool,
        ("bool" | "boolean", _) => ColType::Bool,
        ("tinyint", _) => int_other("tinyint"),
        ("smallint", _) if plain => ColType::SmallInt,
        ("smallint", _) => int_other("smallint"),
        ("mediumint", _) => int_other("mediumint"),
        ("int" | "integer", _) if plain => ColType::Int,
        ("int" | "integer", _) => int_other("int"),
        ("bigint", _) if plain => ColType::BigInt,
        ("bigint", _) => int_other("bigint"),
        ("decimal" | "numeric" | "dec" | "fixed", a) if plain => {
            ColType::Decimal(Some(parse_pair(a).unwrap_or((10, 0))))
        }
        ("float", None) if plain => ColType::Float,
        ("double" | "double precision" | "real", None) if plain => ColType::Double,
        ("char" | "character", a) if rest.is_empty() => {
            ColType::Char(Some(parse_u32(a).unwrap_or(1)))
        }
        ("varchar" | "character varying", Some(a)) if rest.is_empty() => {
            ColType::String(parse_u32(Some(a)))
        }
        ("text", None) => ColType::Text,
        ("json", None) => ColType::Json,
        ("uuid", None) => ColType::Uuid,
        ("date", None) => ColType::Date,
        ("time", None) => ColType::Time,
        ("datetime", None) => ColType::Timestamp,
        ("timestamp", None) => ColType::TimestampTz,
        ("binary", a) if rest.is_empty() => ColType::Binary(Some(parse_u32(a).unwrap_or(1))),
        ("blob", None) => ColType::Blob,
        _ => ColType::Other(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(parse_type("int(11)"), ColType::Int);
        assert_eq!(parse_type("tinyint(1)"), ColType::Bool);
        assert_eq!(parse_type("tinyint(4)"), ColType::Other("tinyint".into()));
        assert_eq!(
            parse_type("bigint(20) unsigned"),
            ColType::Other("bigint unsigned".into())
        );
        assert_eq!(
            parse_type("int UNSIGNED"),
            ColType::Other("int unsigned".into())
        );
        assert_eq!(parse_type("decimal(10,2)"), ColType::Decimal(Some((10, 2))));
        assert_eq!(
            parse_type("enum('a','it''s')"),
            ColType::Enum {
                name: None,
                values: vec!["a".into(), "it's".into()]
            }
        );
        assert_eq!(
            parse_type("ENUM('A', 'b,c')"),
            ColType::Enum {
                name: None,
                values: vec!["A".into(), "b,c".into()]
            }
        );
        assert_eq!(
            parse_type("varbinary(255)"),
            ColType::Other("varbinary(255)".into())
        );
    }

    #[test]
    fn names() {
        assert!(is_generated_index_name("a", &["a".into()]));
        assert!(is_generated_index_name("a_2", &["a".into(), "b".into()]));
        assert!(!is_generated_index_name("idx_a", &["a".into()]));
        assert!(is_generated_fk_name("p_ibfk_1", "p"));
        assert!(!is_generated_fk_name("fk_p", "p"));
    }
}
