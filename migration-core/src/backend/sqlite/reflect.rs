//! SQLite reflection through `sqlite_master` joined with the `pragma_*` table-valued functions.
//!
//! Exactly 4 queries are run, whatever the number of tables:
//! `sqlite_master ⋈ pragma_table_info` (with each table's `CREATE TABLE` text),
//! `sqlite_master ⋈ pragma_index_list ⋈ pragma_index_info`, and
//! `sqlite_master ⋈ pragma_foreign_key_list`, and one listing views,
//! triggers and virtual tables ([`Schema::others`]). Internal (`sqlite_*`),
//! virtual and shadow tables (FTS5's `<name>_data`, `_idx`, `_docsize`,
//! `_config`, …) are not tables of the model.
//!
//! What the pragmas do not tell is recovered, best effort, from the stored
//! `CREATE TABLE` text with a small tokenizer: the `AUTOINCREMENT` keyword
//! (a single-column `INTEGER PRIMARY KEY AUTOINCREMENT` column is
//! `auto_increment`; a bare `INTEGER PRIMARY KEY` rowid alias is not, because
//! sea-query writes `AUTOINCREMENT` exactly for auto-increment columns),
//! `CONSTRAINT <name>` names of UNIQUE constraints (their autoindexes are
//! otherwise `sqlite_autoindex_*`, reported as `None`) and of foreign keys
//! (which SQLite does not record at all), and CHECK expressions (as written).
//!
//! Types are mapped from the declared type text (see [`parse_type`]), which
//! SQLite stores verbatim, so sea-query's own spellings (`timestamp_text`,
//! `real(10, 2)`, `json_text`, `uuid_text`, …) map back to their logical types.

use std::collections::BTreeMap;

use crate::tokens::{Quotes, Tok, Token, tokenize};

use sea_orm::{ConnectionTrait, DbErr};

use crate::schema::{
    ColType, Column, FkAction, ForeignKey, Index, IndexShape, KeyPart, Schema, Table, get_i64,
    get_opt_i64, get_opt_str, get_str, normalize_default, parse_pair, parse_u32, query, split_type,
    squash_type, strip_outer_parens,
};

const TABLE_FILTER: &str = "m.type = 'table' AND substr(m.name, 1, 7) <> 'sqlite_' \
     AND coalesce(upper(substr(ltrim(m.sql), 1, 14)), '') <> 'CREATE VIRTUAL' \
     AND m.name NOT IN (SELECT s.name FROM pragma_table_list s WHERE s.type = 'shadow')";

/// Views, triggers and virtual tables (with how many shadow tables each
/// keeps, which SQLite names `<table>_<part>` and marks `shadow`), which
/// entities cannot declare.
const OTHERS_SQL: &str = "SELECT m.type AS kind, m.name AS name, m.tbl_name AS tbl_name, \
     m.sql AS sql, (SELECT count(*) FROM pragma_table_list s WHERE s.type = 'shadow' \
       AND substr(s.name, 1, length(m.name) + 1) = m.name || '_') AS shadows \
     FROM sqlite_master m WHERE m.type IN ('view', 'trigger') \
     OR (m.type = 'table' AND upper(substr(ltrim(m.sql), 1, 14)) = 'CREATE VIRTUAL') \
     ORDER BY m.type, m.name";

fn columns_sql() -> String {
    format!(
        "SELECT m.name AS table_name, m.sql AS table_sql, p.cid AS cid, p.name AS column_name, \
         p.type AS declared_type, p.\"notnull\" AS not_null, p.dflt_value AS dflt_value, p.pk AS pk \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE {TABLE_FILTER} ORDER BY m.name, p.cid"
    )
}

fn indexes_sql() -> String {
    // `index_xinfo` (key parts only) tells DESC and expression parts (cid
    // -2); the `CREATE INDEX` text gives the expressions and the partial
    // predicate, which no pragma reports. It is read only for those (the
    // lookup scans sqlite_master: 40 ms for 300 indexes when done for all).
    format!(
        "SELECT m.name AS table_name, il.name AS index_name, il.\"unique\" AS is_unique, \
         il.origin AS origin, il.partial AS partial, ii.seqno AS seqno, ii.cid AS cid, \
         ii.name AS column_name, ii.\"desc\" AS descending, \
         CASE WHEN il.partial = 1 OR ii.cid = -2 THEN \
           (SELECT x.sql FROM sqlite_master x WHERE x.type = 'index' AND x.name = il.name) \
         END AS index_sql \
         FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_xinfo(il.name) ii \
         WHERE {TABLE_FILTER} AND ii.key = 1 ORDER BY m.name, il.name, ii.seqno"
    )
}

fn foreign_keys_sql() -> String {
    format!(
        "SELECT m.name AS table_name, f.id AS id, f.seq AS seq, f.\"table\" AS ref_table, \
         f.\"from\" AS from_column, f.\"to\" AS to_column, f.on_update AS on_update, \
         f.on_delete AS on_delete \
         FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
         WHERE {TABLE_FILTER} ORDER BY m.name, f.id, f.seq"
    )
}

/// Reflects an SQLite database (the `main` schema) with 4 queries.
///
/// `exclude` lists table names to skip.
pub async fn reflect<C: ConnectionTrait>(conn: &C, exclude: &[&str]) -> Result<Schema, DbErr> {
    let column_rows = query(conn, &columns_sql()).await?;
    let index_rows = query(conn, &indexes_sql()).await?;
    let fk_rows = query(conn, &foreign_keys_sql()).await?;
    let other_rows = query(conn, OTHERS_SQL).await?;

    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut parsed: BTreeMap<String, ParsedTable> = BTreeMap::new();
    // table -> (pk position, column)
    let mut pks: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    // (table, column) -> squashed declared type, for the rowid-alias check.
    let mut declared: BTreeMap<(String, String), String> = BTreeMap::new();
    for row in &column_rows {
        let table_name = get_str(row, "table_name")?;
        if exclude.contains(&table_name.as_str()) {
            continue;
        }
        if !parsed.contains_key(&table_name) {
            let sql = get_opt_str(row, "table_sql")?.unwrap_or_default();
            parsed.insert(table_name.clone(), parse_create_table(&sql));
        }
        let table = tables
            .entry(table_name.clone())
            .or_insert_with(|| Table::new(table_name.clone()));
        let name = get_str(row, "column_name")?;
        let declared_type = get_opt_str(row, "declared_type")?.unwrap_or_default();
        let col_type = parse_type(&declared_type);
        declared.insert(
            (table_name.clone(), name.clone()),
            squash_type(&declared_type),
        );
        let not_null = get_i64(row, "not_null")? != 0;
        let pk = get_i64(row, "pk")?;
        if pk > 0 {
            pks.entry(table_name.clone())
                .or_default()
                .push((pk, name.clone()));
        }
        let default = get_opt_str(row, "dflt_value")?
            .and_then(|d| normalize_default(&d, &col_type, super::types::DEFAULTS));
        table.columns.push(Column {
            name,
            col_type,
            nullable: !not_null,
            default,
            auto_increment: false,
        });
        let _cid = get_i64(row, "cid")?;
    }

    for (table_name, mut cols) in pks {
        cols.sort();
        let Some(table) = tables.get_mut(&table_name) else {
            continue;
        };
        table.primary_key = cols.into_iter().map(|(_, c)| c).collect();
        let autoinc = parsed.get(&table_name).is_some_and(|p| p.autoincrement);
        if table.primary_key.len() == 1 {
            let pk = table.primary_key[0].clone();
            if let Some(c) = table.columns.iter_mut().find(|c| c.name == pk)
                && declared
                    .get(&(table_name.clone(), pk))
                    .is_some_and(|d| d == "integer")
            {
                // A rowid alias: never NULL (the pragma says nullable unless
                // NOT NULL was written); AUTOINCREMENT makes it auto_increment.
                c.nullable = false;
                if autoinc {
                    c.auto_increment = true;
                    c.default = None;
                }
            }
        }
    }

    // Indexes grouped by (table, index name).
    struct Found {
        unique: bool,
        origin: String,
        sql: Option<String>,
        partial: bool,
        columns: Vec<String>,
        parts: Vec<KeyPart>,
    }
    let mut idx: BTreeMap<(String, String), Found> = BTreeMap::new();
    for row in &index_rows {
        let table_name = get_str(row, "table_name")?;
        if !tables.contains_key(&table_name) {
            continue;
        }
        let index_name = get_str(row, "index_name")?;
        let found = idx.entry((table_name, index_name)).or_insert(Found {
            unique: get_i64(row, "is_unique")? != 0,
            origin: get_str(row, "origin")?,
            sql: get_opt_str(row, "index_sql")?,
            partial: get_i64(row, "partial")? != 0,
            columns: Vec::new(),
            parts: Vec::new(),
        });
        if found.sql.is_none() {
            found.sql = get_opt_str(row, "index_sql")?;
        }
        let expression = get_i64(row, "cid")? == -2;
        found
            .columns
            .push(get_opt_str(row, "column_name")?.unwrap_or_default());
        found.parts.push(KeyPart {
            expression,
            descending: get_i64(row, "descending")? != 0,
            ..KeyPart::default()
        });
    }
    for ((table_name, index_name), mut found) in idx {
        if found.origin == "pk" {
            continue;
        }
        let written = found.sql.as_deref().map(parse_create_index);
        if let Some(w) = &written {
            // Expression parts are known only by their text.
            for (i, part) in found.parts.iter().enumerate() {
                if part.expression
                    && let Some(text) = w.parts.get(i)
                {
                    found.columns[i] = text.clone();
                }
            }
        }
        let predicate = written.and_then(|w| w.predicate).filter(|_| found.partial);
        let columns = found.columns;
        let name = if index_name.starts_with("sqlite_autoindex_") {
            parsed.get(&table_name).and_then(|p| {
                p.uniques
                    .iter()
                    .find(|(cols, _)| same_idents(cols, &columns))
                    .and_then(|(_, n)| n.clone())
            })
        } else {
            Some(index_name)
        };
        if let Some(t) = tables.get_mut(&table_name) {
            t.indexes.push(Index {
                name,
                columns,
                unique: found.unique,
                shape: IndexShape {
                    // An inline UNIQUE (origin `u`) is dropped only by a rebuild.
                    constraint: found.origin == "u",
                    predicate,
                    ..IndexShape::default()
                }
                .with_parts(found.parts),
            });
        }
    }

    // Foreign keys grouped by (table, id).
    let mut fks: BTreeMap<(String, i64), ForeignKey> = BTreeMap::new();
    for row in &fk_rows {
        let table_name = get_str(row, "table_name")?;
        if !tables.contains_key(&table_name) {
            continue;
        }
        let id = get_i64(row, "id")?;
        let _seq = get_opt_i64(row, "seq")?;
        let ref_table = get_str(row, "ref_table")?;
        let from = get_str(row, "from_column")?;
        let to = get_opt_str(row, "to_column")?;
        let on_update = FkAction::parse(&get_opt_str(row, "on_update")?.unwrap_or_default());
        let on_delete = FkAction::parse(&get_opt_str(row, "on_delete")?.unwrap_or_default());
        let fk = fks.entry((table_name, id)).or_insert_with(|| ForeignKey {
            name: None,
            columns: Vec::new(),
            ref_table,
            ref_columns: Vec::new(),
            on_delete,
            on_update,
        });
        fk.columns.push(from);
        // `to` is NULL when the clause omits the column list (refers to the parent's PK).
        fk.ref_columns.push(to.unwrap_or_default());
    }
    for ((table_name, _), mut fk) in fks {
        if fk.ref_columns.iter().any(String::is_empty)
            && let Some(parent) = tables
                .values()
                .find(|t| t.name.eq_ignore_ascii_case(&fk.ref_table))
        {
            fk.ref_columns = parent.primary_key.clone();
        }
        if let Some(p) = parsed.get(&table_name) {
            fk.name = p
                .foreign_keys
                .iter()
                .find(|(cols, rt, _)| {
                    same_idents(cols, &fk.columns) && rt.eq_ignore_ascii_case(&fk.ref_table)
                })
                .and_then(|(_, _, n)| n.clone());
        }
        if let Some(t) = tables.get_mut(&table_name) {
            t.foreign_keys.push(fk);
        }
    }

    let mut schema = Schema::default();
    for (name, mut table) in tables {
        if let Some(p) = parsed.remove(&name) {
            table.checks = p.checks;
        }
        table.sort_canonical();
        schema.tables.insert(name, table);
    }
    for row in &other_rows {
        let name = get_str(row, "name")?;
        if exclude.contains(&name.as_str()) {
            continue;
        }
        let on = get_str(row, "tbl_name")?;
        schema.others.push(match get_str(row, "kind")?.as_str() {
            "view" => format!("view `{name}`"),
            "trigger" => format!("trigger `{name}` on `{on}`"),
            _ => {
                // `CREATE VIRTUAL TABLE x USING fts5(…)`: the module after USING.
                let sql = get_opt_str(row, "sql")?.unwrap_or_default();
                let module = sql
                    .to_ascii_lowercase()
                    .split_once(" using ")
                    .map(|(_, m)| {
                        m.trim()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect::<String>()
                    })
                    .unwrap_or_default();
                let shadows = get_i64(row, "shadows")?;
                format!("virtual table `{name}` ({module}, with {shadows} shadow tables)")
            }
        });
    }
    Ok(schema)
}

fn same_idents(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Maps an SQLite declared column type to a [`ColType`].
///
/// This inverts sea-query 1.0.2's SQLite writer (`integer` is written for both
/// `Integer` and `BigInteger` and maps to `Int`; `real(p, s)`/`real_decimal`
/// are `Decimal`; `*_text` date/time, JSON and UUID spellings; `blob(n)` is
/// `Binary(n)`; `varbinary_blob(n)` is `Other("varbinary(n)")`; `enum_text` is
/// an `Enum` without values) and also accepts the usual hand-written names
/// (`int`, `bigint`, `bool`, `varchar`, `decimal(p,s)`, `datetime`, …).
pub fn parse_type(s: &str) -> ColType {
    let t = squash_type(&s.replace('"', ""));
    let (base, args, rest) = split_type(&t);
    if !rest.is_empty() {
        return ColType::Other(t);
    }
    match (base, args) {
        ("integer" | "int", None) => ColType::Int,
        ("bigint", None) => ColType::BigInt,
        ("smallint", None) => ColType::SmallInt,
        ("boolean" | "bool", None) => ColType::Bool,
        ("char" | "character", a) => ColType::Char(parse_u32(a)),
        ("varchar" | "character varying", a) => ColType::String(parse_u32(a)),
        ("text", None) => ColType::Text,
        ("float" | "real", None) => ColType::Float,
        ("double" | "double precision", None) => ColType::Double,
        ("real" | "decimal" | "numeric", Some(a)) => match parse_pair(Some(a)) {
            Some(p) => ColType::Decimal(Some(p)),
            None => ColType::Other(t),
        },
        ("real_decimal" | "decimal" | "numeric", None) => ColType::Decimal(None),
        ("date_text" | "date", None) => ColType::Date,
        ("time_text" | "time", None) => ColType::Time,
        ("timestamp_text" | "datetime_text" | "timestamp" | "datetime", None) => ColType::Timestamp,
        ("timestamp_with_timezone_text" | "timestamptz" | "timestamp with time zone", None) => {
            ColType::TimestampTz
        }
        ("json_text" | "json", None) => ColType::Json,
        ("jsonb_text" | "jsonb", None) => ColType::JsonB,
        ("uuid_text" | "uuid", None) => ColType::Uuid,
        // Hand-written DDL spells the standard names; SQLite stores them
        // verbatim (BLOB affinity), and sea-query writes `blob(n)` and
        // `varbinary_blob(n)` for the same types.
        ("blob" | "binary", Some(a)) => match parse_u32(Some(a)) {
            Some(n) => ColType::Binary(Some(n)),
            None => ColType::Other(t),
        },
        ("blob", None) => ColType::Blob,
        ("binary", None) => ColType::Binary(None),
        ("varbinary_blob" | "varbinary", Some(a)) => ColType::Other(format!("varbinary({a})")),
        ("varbinary_blob" | "varbinary", None) => ColType::Other("varbinary".into()),
        ("enum_text", None) => ColType::Enum {
            name: None,
            values: Vec::new(),
        },
        _ => ColType::Other(t),
    }
}

// ---------------------------------------------------------------------------
// CREATE TABLE text parsing (best effort)
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct ParsedTable {
    autoincrement: bool,
    /// (columns, constraint name)
    uniques: Vec<(Vec<String>, Option<String>)>,
    /// (columns, referenced table, constraint name)
    foreign_keys: Vec<(Vec<String>, String, Option<String>)>,
    checks: Vec<String>,
}

fn is_kw(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(kw))
}

fn ident(t: Option<&Token>) -> Option<String> {
    match t.map(|t| &t.tok) {
        Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => Some(w.clone()),
        _ => None,
    }
}

/// Index just past the `)` matching the `(` at `toks[i]`.
fn skip_group(toks: &[Token], i: usize) -> usize {
    let mut depth = 0;
    let mut k = i;
    while k < toks.len() {
        match toks[k].tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
        k += 1;
    }
    toks.len()
}

/// Identifiers of a `( a, b COLLATE x DESC, … )` list starting at `toks[i]`;
/// returns them and the index after `)`.
fn ident_list(toks: &[Token], i: usize) -> (Vec<String>, usize) {
    let end = skip_group(toks, i);
    let mut out = Vec::new();
    let mut expect = true;
    for t in &toks[(i + 1).min(end)..end.saturating_sub(1)] {
        match &t.tok {
            Tok::Punct(',') => expect = true,
            Tok::Word(w) | Tok::Quoted(w) if expect => {
                out.push(w.clone());
                expect = false;
            }
            _ => {}
        }
    }
    (out, end)
}

/// Text of the parenthesized group at `toks[i]`, without the outer parentheses.
fn group_text(sql: &str, toks: &[Token], i: usize) -> (String, usize) {
    let end = skip_group(toks, i);
    if end <= i + 1 || end > toks.len() {
        return (String::new(), end);
    }
    let text = &sql[toks[i].end..toks[end - 1].start];
    (strip_outer_parens(text.trim()).to_owned(), end)
}

/// What a stored `CREATE INDEX` text says that the pragmas do not.
struct WrittenIndex {
    /// Each key part's text, without `COLLATE` and `ASC`/`DESC`.
    parts: Vec<String>,
    /// The text after `WHERE`.
    predicate: Option<String>,
}

/// Reads `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (parts) [WHERE expr]`.
fn parse_create_index(sql: &str) -> WrittenIndex {
    let toks = tokenize(sql, Quotes::Standard);
    let mut out = WrittenIndex {
        parts: Vec::new(),
        predicate: None,
    };
    let Some(on) = toks.iter().position(|t| t.is("ON")) else {
        return out;
    };
    let Some(open) = (on..toks.len()).find(|&k| toks[k].punct('(')) else {
        return out;
    };
    let end = skip_group(&toks, open);
    let mut depth = 0;
    let mut start = open + 1;
    for k in open + 1..end {
        let t = &toks[k];
        let last = k + 1 == end;
        if t.punct('(') {
            depth += 1;
        } else if t.punct(')') && !last {
            depth -= 1;
        }
        if (depth == 0 && t.punct(',')) || last {
            let mut stop = k;
            // Drop the trailing ASC/DESC and COLLATE x.
            if stop > start && (toks[stop - 1].is("ASC") || toks[stop - 1].is("DESC")) {
                stop -= 1;
            }
            if stop >= start + 2 && toks[stop - 2].is("COLLATE") {
                stop -= 2;
            }
            if stop > start {
                let text = sql[toks[start].start..toks[stop - 1].end].trim();
                out.parts.push(strip_outer_parens(text).to_owned());
            }
            start = k + 1;
        }
    }
    if let Some(w) = (end..toks.len()).find(|&k| toks[k].is("WHERE"))
        && let Some(first) = toks.get(w + 1)
    {
        out.predicate = Some(
            sql[first.start..]
                .trim()
                .trim_end_matches(';')
                .trim()
                .to_owned(),
        );
    }
    out
}

fn parse_create_table(sql: &str) -> ParsedTable {
    let toks = tokenize(sql, Quotes::Standard);
    let mut out = ParsedTable {
        autoincrement: toks.iter().any(|t| is_kw(Some(t), "AUTOINCREMENT")),
        ..Default::default()
    };
    let Some(open) = toks.iter().position(|t| t.tok == Tok::Punct('(')) else {
        return out;
    };
    let close = skip_group(&toks, open);
    // Split the body on top-level commas.
    let mut items: Vec<&[Token]> = Vec::new();
    let mut depth = 0;
    let mut item_start = open + 1;
    for k in open + 1..close.saturating_sub(1) {
        match toks[k].tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                items.push(&toks[item_start..k]);
                item_start = k + 1;
            }
            _ => {}
        }
    }
    if item_start < close.saturating_sub(1) {
        items.push(&toks[item_start..close - 1]);
    }

    for item in items {
        let mut k = 0;
        let mut name = None;
        if is_kw(item.first(), "CONSTRAINT") {
            name = ident(item.get(1));
            k = 2;
        }
        let head = item.get(k);
        if is_kw(head, "PRIMARY") {
            continue;
        } else if is_kw(head, "UNIQUE") {
            if let Some(p) = item.iter().skip(k).position(|t| t.tok == Tok::Punct('(')) {
                let (cols, _) = ident_list(item, k + p);
                out.uniques.push((cols, name));
            }
        } else if is_kw(head, "CHECK") {
            if matches!(item.get(k + 1).map(|t| &t.tok), Some(Tok::Punct('('))) {
                out.checks.push(group_text(sql, item, k + 1).0);
            }
        } else if is_kw(head, "FOREIGN") {
            if let Some(p) = item.iter().skip(k).position(|t| t.tok == Tok::Punct('(')) {
                let (cols, after) = ident_list(item, k + p);
                if is_kw(item.get(after), "REFERENCES")
                    && let Some(rt) = ident(item.get(after + 1))
                {
                    out.foreign_keys.push((cols, rt, name));
                }
            }
        } else if name.is_none() {
            // Column definition.
            let Some(col) = ident(item.first()) else {
                continue;
            };
            let mut pending: Option<String> = None;
            let mut j = 1;
            while j < item.len() {
                let t = &item[j];
                if t.tok == Tok::Punct('(') {
                    j = skip_group(item, j);
                    continue;
                }
                if is_kw(Some(t), "CONSTRAINT") {
                    pending = ident(item.get(j + 1));
                    j += 2;
                    continue;
                }
                if is_kw(Some(t), "UNIQUE") {
                    out.uniques.push((vec![col.clone()], pending.take()));
                } else if is_kw(Some(t), "CHECK") {
                    if matches!(item.get(j + 1).map(|t| &t.tok), Some(Tok::Punct('('))) {
                        let (text, after) = group_text(sql, item, j + 1);
                        out.checks.push(text);
                        pending = None;
                        j = after;
                        continue;
                    }
                } else if is_kw(Some(t), "REFERENCES") {
                    if let Some(rt) = ident(item.get(j + 1)) {
                        out.foreign_keys
                            .push((vec![col.clone()], rt, pending.take()));
                    }
                    j += 2;
                    continue;
                } else if [
                    "PRIMARY",
                    "NOT",
                    "NULL",
                    "DEFAULT",
                    "COLLATE",
                    "GENERATED",
                    "AS",
                ]
                .iter()
                .any(|kw| is_kw(Some(t), kw))
                {
                    pending = None;
                }
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(parse_type("integer"), ColType::Int);
        assert_eq!(parse_type("INTEGER"), ColType::Int);
        assert_eq!(parse_type("real(10, 2)"), ColType::Decimal(Some((10, 2))));
        assert_eq!(parse_type("varchar(255)"), ColType::String(Some(255)));
        assert_eq!(
            parse_type("timestamp_with_timezone_text"),
            ColType::TimestampTz
        );
        assert_eq!(parse_type("blob(16)"), ColType::Binary(Some(16)));
        // Hand-written standard spellings are the same types as sea-query's.
        assert_eq!(parse_type("binary(1)"), ColType::Binary(Some(1)));
        assert_eq!(parse_type("BINARY(16)"), parse_type("blob(16)"));
        assert_eq!(parse_type("varbinary(8)"), parse_type("varbinary_blob(8)"));
        assert_eq!(
            parse_type("varbinary_blob(10)"),
            ColType::Other("varbinary(10)".into())
        );
    }

    #[test]
    fn parse_sql() {
        let p = parse_create_table(
            r#"CREATE TABLE "we""ird" (id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
               b varchar(10) DEFAULT 'x, CHECK (' CONSTRAINT "uq b" UNIQUE CHECK (length(b) > 0),
               c int REFERENCES par(id) ON DELETE CASCADE,
               CONSTRAINT uq2 UNIQUE (b, c), UNIQUE ([c]),
               CONSTRAINT "fk x" FOREIGN KEY (c) REFERENCES `par` (id),
               CHECK ((c > 0)))"#,
        );
        assert!(p.autoincrement);
        assert_eq!(
            p.uniques,
            vec![
                (vec!["b".to_string()], Some("uq b".to_string())),
                (
                    vec!["b".to_string(), "c".to_string()],
                    Some("uq2".to_string())
                ),
                (vec!["c".to_string()], None),
            ]
        );
        assert_eq!(
            p.checks,
            vec!["length(b) > 0".to_string(), "c > 0".to_string()]
        );
        assert_eq!(
            p.foreign_keys,
            vec![
                (vec!["c".to_string()], "par".to_string(), None),
                (
                    vec!["c".to_string()],
                    "par".to_string(),
                    Some("fk x".to_string())
                ),
            ]
        );
    }
}
