//! What the recording connection answers to a migration's data steps, so that
//! SeaORM's `ActiveModel::insert`/`update` (which read the row back) render
//! offline instead of failing.
//!
//! SeaORM reads an inserted row back with `INSERT … RETURNING` (PostgreSQL,
//! SQLite) or with `SELECT … WHERE pk = last_insert_id` right after the
//! insert (MySQL/MariaDB), and refuses a write that affected no row. Offline
//! there is no row, so the recorder makes one up from what it knows: the
//! values the statement itself binds, and for the other columns (the id, the
//! server defaults) a plausible value of the type the script's own DDL gives
//! the column. A column whose type it cannot tell is left out of the row (an
//! `Option` field reads `None`) and the part is marked `-- OFFLINE:` and
//! counted, like any read the script cannot answer.

use std::collections::BTreeMap;

use sea_orm::{Statement, Value};

/// Each column's type as the script's DDL spells it: `(table, column)` -> spelling
/// (`autogen::hints::Spellings`).
pub(super) type Spellings = BTreeMap<(String, String), String>;
use crate::tokens::{Quotes, Tok, Token, tokenize};

/// A write's shape, read from its SQL with placeholders and its bound values.
#[derive(Debug, Default)]
pub(super) struct Write {
    /// `INSERT`, `UPDATE` or `DELETE`, upper case.
    pub verb: String,
    /// The table written to.
    pub table: String,
    /// The values the statement binds per column (first row of an insert).
    pub values: BTreeMap<String, Value>,
    /// How many rows an insert lists (1 for the other verbs).
    pub rows: u64,
    /// The columns of its `RETURNING` list, by the name the row reads them.
    pub returning: Vec<String>,
}

/// A `SELECT` of one table: what SeaORM's `find_by_id` sends after an insert.
#[derive(Debug, Default)]
pub(super) struct Select {
    /// The table read.
    pub table: String,
    /// The selected columns, by the name the row reads them.
    pub columns: Vec<String>,
    /// `column = value` conditions of its `WHERE`.
    pub equal: BTreeMap<String, Value>,
}

/// Reads `stmt` as a write, if it is an `INSERT`, `UPDATE` or `DELETE`.
pub(super) fn write(stmt: &Statement) -> Option<Write> {
    // Most of what a script records is DDL: tell it apart before tokenizing
    // (5 % of `revision --autogenerate`'s instructions on 300 tables when not).
    let head = stmt.sql.trim_start().get(..6)?;
    if !["INSERT", "UPDATE", "DELETE"]
        .iter()
        .any(|verb| head.eq_ignore_ascii_case(verb))
    {
        return None;
    }
    let (toks, bound) = Bound::read(stmt);
    let verb = word(toks.first()?)?.to_ascii_uppercase();
    let mut out = Write {
        rows: 1,
        ..Default::default()
    };
    let mut i = 1;
    match verb.as_str() {
        "INSERT" => {
            i = skip_word(&toks, i, "INTO");
            out.table = toks.get(i)?.ident()?.to_owned();
            i += 1;
            let mut columns = Vec::new();
            if toks.get(i).is_some_and(|t| t.punct('(')) {
                let end = close(&toks, i);
                columns = idents(&toks[i + 1..end.saturating_sub(1)]);
                i = end;
            }
            if toks.get(i).is_some_and(|t| t.is("VALUES")) {
                i += 1;
                let mut first = true;
                out.rows = 0;
                while toks.get(i).is_some_and(|t| t.punct('(')) {
                    let end = close(&toks, i);
                    if first {
                        for (column, item) in columns
                            .iter()
                            .zip(split_commas(&toks[i + 1..end.saturating_sub(1)]))
                        {
                            if let Some(v) = bound.first_in(item) {
                                out.values.insert(column.clone(), v);
                            }
                        }
                        first = false;
                    }
                    out.rows += 1;
                    i = end;
                    if toks.get(i).is_some_and(|t| t.punct(',')) {
                        i += 1;
                    }
                }
                out.rows = out.rows.max(1);
            }
        }
        "UPDATE" => {
            out.table = toks.get(i)?.ident()?.to_owned();
            i += 1;
            if toks.get(i).is_some_and(|t| t.is("SET")) {
                let end = (i + 1..toks.len())
                    .find(|&j| toks[j].is("WHERE") || toks[j].is("RETURNING"))
                    .unwrap_or(toks.len());
                for item in split_commas(&toks[i + 1..end]) {
                    if let [name, eq, rest @ ..] = item
                        && eq.punct('=')
                        && let (Some(name), Some(v)) = (name.ident(), bound.first_in(rest))
                    {
                        out.values.insert(name.to_owned(), v);
                    }
                }
                i = end;
            }
        }
        "DELETE" => {
            i = skip_word(&toks, i, "FROM");
            out.table = toks.get(i)?.ident()?.to_owned();
        }
        _ => return None,
    }
    out.verb = verb;
    if let Some(r) = (i..toks.len()).find(|&j| toks[j].is("RETURNING")) {
        out.returning = split_commas(&toks[r + 1..])
            .into_iter()
            .filter_map(output_name)
            .collect();
    }
    Some(out)
}

/// Reads `stmt` as a `SELECT … FROM one_table [WHERE col = v AND …]`.
pub(super) fn select(stmt: &Statement) -> Option<Select> {
    let (toks, bound) = Bound::read(stmt);
    if !toks.first()?.is("SELECT") {
        return None;
    }
    let from = toks.iter().position(|t| t.is("FROM"))?;
    let table = toks.get(from + 1)?.ident()?.to_owned();
    // One table only: a join or a second FROM item is not a `find_by_id`.
    let after = toks.get(from + 2);
    if after.is_some_and(|t| t.punct(',') || t.is("JOIN") || t.is("INNER") || t.is("LEFT")) {
        return None;
    }
    let mut out = Select {
        table,
        columns: split_commas(&toks[1..from])
            .into_iter()
            .filter_map(output_name)
            .collect(),
        ..Default::default()
    };
    if let Some(w) = toks.iter().position(|t| t.is("WHERE")) {
        let end = (w + 1..toks.len())
            .find(|&j| toks[j].is("LIMIT") || toks[j].is("ORDER"))
            .unwrap_or(toks.len());
        for cond in split_and(&toks[w + 1..end]) {
            if let Some(eq) = cond.iter().position(|t| t.punct('='))
                && let Some(name) = cond[..eq].iter().rev().find_map(Token::ident)
                && let Some(v) = bound.first_in(&cond[eq + 1..])
            {
                out.equal.insert(name.to_owned(), v);
            }
        }
    }
    Some(out)
}

/// A plausible value of a column spelled `spelling` in the script's DDL:
/// `id` for integers (the made-up key), zero, empty or the epoch for the rest;
/// `None` for a type it cannot tell.
pub(super) fn plausible(spelling: &str, id: i64) -> Option<Value> {
    let lower = spelling.trim().to_ascii_lowercase();
    let head: String = lower
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    // sea-query's SQLite spellings keep the type in the name:
    // `timestamp_text`, `timestamp_with_timezone_text`, `uuid_text`.
    let head = match head.strip_suffix("_text") {
        Some("timestamp_with_timezone") => "timestamptz".to_owned(),
        Some(t) => t.to_owned(),
        None => head,
    };
    let epoch = chrono::DateTime::UNIX_EPOCH;
    Some(match head.as_str() {
        "bigint" | "int8" | "bigserial" | "serial8" => Value::BigInt(Some(id)),
        "smallint" | "int2" | "smallserial" | "serial2" => {
            Value::SmallInt(Some(i16::try_from(id).unwrap_or(1)))
        }
        "int" | "integer" | "int4" | "serial" | "serial4" | "mediumint" => {
            Value::Int(Some(i32::try_from(id).unwrap_or(1)))
        }
        "tinyint" => Value::TinyInt(Some(i8::try_from(id).unwrap_or(1))),
        "bool" | "boolean" => Value::Bool(Some(false)),
        "text" | "varchar" | "char" | "character" | "clob" | "citext" | "tinytext"
        | "mediumtext" | "longtext" | "string" | "enum" | "nvarchar" | "nchar" => {
            Value::String(Some(String::new()))
        }
        "real" | "float" | "float4" => Value::Float(Some(0.0)),
        "double" | "float8" => Value::Double(Some(0.0)),
        "timestamptz" => Value::ChronoDateTimeWithTimeZone(Some(epoch.fixed_offset())),
        "timestamp" if lower.contains("with time zone") => {
            Value::ChronoDateTimeWithTimeZone(Some(epoch.fixed_offset()))
        }
        "timestamp" | "datetime" => Value::ChronoDateTime(Some(epoch.naive_utc())),
        "date" => Value::ChronoDate(Some(epoch.date_naive())),
        "json" | "jsonb" => Value::Json(Some(Box::new(serde_json::Value::Null))),
        "uuid" => Value::Uuid(Some(sea_orm::prelude::Uuid::nil())),
        _ => return None,
    })
}

/// The row SeaORM reads back: each of `columns` from `known` first, then a
/// plausible value by the column's spelling in `spellings` (`id` for an
/// integer). Also returns the columns it could not give a value.
pub(super) fn made_up_row(
    table: &str,
    columns: &[String],
    known: &BTreeMap<String, Value>,
    spellings: &Spellings,
    id: i64,
) -> (BTreeMap<String, Value>, Vec<String>, Vec<String>) {
    let mut row = BTreeMap::new();
    let (mut made_up, mut unknown) = (Vec::new(), Vec::new());
    for c in columns {
        if let Some(v) = known.get(c) {
            row.insert(c.clone(), v.clone());
        } else if let Some(v) = spellings
            .get(&(table.to_owned(), c.clone()))
            .and_then(|s| plausible(s, id))
        {
            row.insert(c.clone(), v);
            made_up.push(c.clone());
        } else {
            unknown.push(c.clone());
        }
    }
    (row, made_up, unknown)
}

fn word(t: &Token) -> Option<&str> {
    match &t.tok {
        Tok::Word(w) => Some(w),
        _ => None,
    }
}

fn skip_word(toks: &[Token], i: usize, kw: &str) -> usize {
    if toks.get(i).is_some_and(|t| t.is(kw)) {
        i + 1
    } else {
        i
    }
}

/// Index just past the `)` closing the `(` at `toks[i]`.
fn close(toks: &[Token], i: usize) -> usize {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(i) {
        if t.punct('(') {
            depth += 1;
        } else if t.punct(')') {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return j + 1;
            }
        }
    }
    toks.len()
}

/// Splits at commas outside parentheses.
fn split_commas(toks: &[Token]) -> Vec<&[Token]> {
    split_top(toks, |t| t.punct(','))
}

/// Splits a condition at `AND`s outside parentheses.
fn split_and(toks: &[Token]) -> Vec<&[Token]> {
    split_top(toks, |t| t.is("AND"))
}

fn split_top(toks: &[Token], at: impl Fn(&Token) -> bool) -> Vec<&[Token]> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (j, t) in toks.iter().enumerate() {
        if t.punct('(') {
            depth += 1;
        } else if t.punct(')') {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && at(t) {
            out.push(&toks[start..j]);
            start = j + 1;
        }
    }
    if start < toks.len() {
        out.push(&toks[start..]);
    }
    out
}

fn idents(toks: &[Token]) -> Vec<String> {
    split_commas(toks)
        .into_iter()
        .filter_map(|item| item.last().and_then(Token::ident).map(str::to_owned))
        .collect()
}

/// The name a select or `RETURNING` item is read by: its alias, else its
/// last identifier (`"t"."id"` -> `id`).
fn output_name(item: &[Token]) -> Option<String> {
    if let [.., kw, alias] = item
        && kw.is("AS")
    {
        return alias.ident().map(str::to_owned);
    }
    item.last()?.ident().map(str::to_owned)
}

/// A statement's bound values and where its `?` placeholders are (a `$n`
/// says its own position; a `?` is the k-th of the statement).
struct Bound<'a> {
    values: &'a [Value],
    questions: Vec<usize>,
}

impl<'a> Bound<'a> {
    /// `stmt`'s tokens, and its bound values (borrowed) by placeholder.
    fn read(stmt: &'a Statement) -> (Vec<Token>, Self) {
        let toks = tokenize(&stmt.sql, Quotes::Standard);
        let bound = Bound {
            values: stmt.values.as_ref().map_or(&[][..], |v| v.0.as_slice()),
            questions: toks
                .iter()
                .filter(|t| t.punct('?'))
                .map(|t| t.start)
                .collect(),
        };
        (toks, bound)
    }

    /// The value bound to the first placeholder in `toks`.
    fn first_in(&self, toks: &[Token]) -> Option<Value> {
        for t in toks {
            // The tokenizer reads `$2` as one word.
            if let Some(n) = word(t)
                .and_then(|w| w.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
            {
                return self.values.get(n.checked_sub(1)?).cloned();
            }
            if t.punct('?') {
                let n = self.questions.iter().position(|&s| s == t.start)?;
                return self.values.get(n).cloned();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::DbBackend;

    fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(backend, sql, values)
    }

    #[test]
    fn an_insert_returning_is_read_with_its_values() {
        let s = stmt(
            DbBackend::Postgres,
            r#"INSERT INTO "items" ("qty", "status") VALUES ($1, CAST($2 AS "status")) RETURNING "id", "qty", CAST("status" AS "text") AS "status""#,
            vec![3.into(), "new".into()],
        );
        let w = write(&s).unwrap();
        assert_eq!(
            (w.verb.as_str(), w.table.as_str(), w.rows),
            ("INSERT", "items", 1)
        );
        assert_eq!(w.values.get("qty"), Some(&Value::Int(Some(3))));
        assert_eq!(w.values.get("status"), Some(&Value::from("new")));
        assert_eq!(w.returning, ["id", "qty", "status"]);
    }

    #[test]
    fn a_multi_row_insert_with_question_marks_counts_its_rows() {
        let s = stmt(
            DbBackend::MySql,
            "INSERT INTO `items` (`qty`, `name`) VALUES (?, ?), (?, ?)",
            vec![1.into(), "a".into(), 2.into(), "b".into()],
        );
        let w = write(&s).unwrap();
        assert_eq!(w.rows, 2);
        assert_eq!(w.values.get("name"), Some(&Value::from("a")));
    }

    #[test]
    fn find_by_id_is_read_as_a_select_of_one_table() {
        let s = stmt(
            DbBackend::MySql,
            "SELECT `items`.`id`, `items`.`qty` FROM `items` WHERE `items`.`id` = ? LIMIT ?",
            vec![7i64.into(), 1u64.into()],
        );
        let q = select(&s).unwrap();
        assert_eq!(q.table, "items");
        assert_eq!(q.columns, ["id", "qty"]);
        assert_eq!(q.equal.get("id"), Some(&Value::BigInt(Some(7))));
    }

    #[test]
    fn plausible_values_follow_the_spelled_type() {
        assert_eq!(plausible("integer", 4), Some(Value::Int(Some(4))));
        assert_eq!(
            plausible("bigint NOT NULL", 4),
            Some(Value::BigInt(Some(4)))
        );
        assert_eq!(plausible("int(11)", 4), Some(Value::Int(Some(4))));
        assert_eq!(plausible("varchar(20)", 4), Some(Value::from("")));
        assert!(matches!(
            plausible("timestamp with time zone", 1),
            Some(Value::ChronoDateTimeWithTimeZone(_))
        ));
        assert!(matches!(
            plausible("timestamp_text", 1),
            Some(Value::ChronoDateTime(_))
        ));
        assert!(matches!(
            plausible("timestamp_with_timezone_text", 1),
            Some(Value::ChronoDateTimeWithTimeZone(_))
        ));
        assert!(matches!(plausible("uuid_text", 1), Some(Value::Uuid(_))));
        assert_eq!(plausible("interval", 1), None);
        assert_eq!(plausible("geometry", 1), None);
    }
}
