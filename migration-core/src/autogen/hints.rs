//! What the entities say that a reflected database cannot: rename markers and exact types.
//!
//! The entities' DDL is captured, without any database, by running
//! `SchemaBuilder::apply` against a recording connection that claims to be
//! PostgreSQL and then MySQL. No backend alone spells every sea-query type
//! apart, so the exact type of a column is read from both (see [`exact_type`]):
//!
//! * PostgreSQL keeps what MySQL merges: enum types with their names and
//!   labels, `jsonb` apart from `json`, `uuid` apart from `binary(16)`,
//!   `timestamp with time zone` apart from `timestamp`, `varchar` without a
//!   length apart from `varchar(255)`;
//! * MySQL keeps what PostgreSQL merges: `binary(n)`, `varbinary(n)` and
//!   `blob` (all `bytea` there), `tinyint` and the unsigned integers (widened
//!   to the next signed type there), `timestamp` apart from `datetime` (both
//!   `timestamp` without time zone there), and `year` (which PostgreSQL cannot
//!   declare).
//!
//! (SQLite, the default comparison backend, stores `i32` and `i64` alike as
//! `integer` and keeps no enum labels.) The MySQL `CREATE TABLE` also carries
//! the column and table comments, where SeaORM puts its `renamed_from` marker.
//!
//! # Rename markers
//!
//! * A column: `#[sea_orm(renamed_from = "old_name")]` on the field (SeaORM's
//!   own attribute; SeaORM stores it in the column comment as
//!   `renamed_from "old_name"`).
//! * A table: `#[sea_orm(table_name = "new_name", comment = "renamed_from \"old_name\"")]`
//!   on the model, the same marker in the table comment.
//!
//! A marker only matters while the old name exists in what the migrations
//! produce and the new one does not; afterwards it is ignored, so it can stay.

use crate::backend::{self, Dialect};
use crate::entities::Entities;
pub use crate::entities::capture_ddl;
use crate::schema::{ColType, FkAction, ForeignKey, squash_type, unquote_literal};
use sea_orm::DbErr;
use std::collections::{BTreeMap, HashMap};

/// Facts about the entities that reflection cannot recover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// Exact column types, `(table, column)` -> type: the sea-query type the
    /// entity declares, whatever backend the comparison runs on (read from
    /// both the PostgreSQL and the MySQL DDL, see [`exact_type`]).
    pub types: BTreeMap<(String, String), ColType>,
    /// PostgreSQL enum types the entities create: name -> labels in order.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Column renames: `(table, new column)` -> old column.
    pub column_renames: BTreeMap<(String, String), String>,
    /// Table renames: new table -> old table.
    pub table_renames: BTreeMap<String, String>,
    /// The entities' foreign keys as PostgreSQL declares them, `(table,
    /// key)`: their names (SQLite keeps none for a key sea-query declares
    /// without `CONSTRAINT`) and their rules (MySQL/MariaDB read RESTRICT
    /// back as NO ACTION). Used for the code, never for equality.
    pub foreign_keys: Vec<(String, ForeignKey)>,
}

// Defined here, not beside `Entities`: the hints are autogenerate's business,
// and the runtime (which carries `Entities`) is built without it.
impl Entities {
    /// Reads the hints (rename markers, exact types) from the entities' DDL.
    ///
    /// # Errors
    /// See [`capture_ddl`].
    pub async fn hints(&self) -> Result<Hints, DbErr> {
        self.captured
            .hints
            .get_or_try_init(|| async {
                let mut ddl = Vec::new();
                for dialect in Dialect::ALL {
                    ddl.push((dialect, self.ddl(dialect.db_backend()).await?.to_vec()));
                }
                Ok(from_dialect_ddl(&ddl))
            })
            .await
            .cloned()
    }
}

/// Each column's type as one backend's DDL spells it: `(table, column)` -> spelling.
pub type Spellings = BTreeMap<(String, String), String>;

impl Entities {
    /// Each column's type as each backend's DDL of the entities spells it.
    ///
    /// # Errors
    /// See [`capture_ddl`].
    pub async fn spellings(&self) -> Result<Vec<(Dialect, Spellings)>, DbErr> {
        let mut out = Vec::new();
        for dialect in Dialect::ALL {
            let ddl = self.ddl(dialect.db_backend()).await?;
            out.push((dialect, column_spellings(ddl, quote_char(dialect))));
        }
        Ok(out)
    }
}

/// The character `dialect` quotes identifiers with.
pub(crate) fn quote_char(dialect: Dialect) -> char {
    backend::of(dialect)
        .quote_ident("")
        .chars()
        .next()
        .unwrap_or('"')
}

/// The spelling of each column's type once `statements` (one backend's DDL,
/// in order) have run: `CREATE TABLE`, `ALTER TABLE` adding, retyping
/// (`ALTER COLUMN … TYPE`, `MODIFY`, `CHANGE`), renaming and dropping
/// columns, and renames and drops of tables. Other statements change no
/// column type and are skipped.
pub fn column_spellings(statements: &[String], q: char) -> Spellings {
    let mut cols = Spellings::new();
    for sql in statements {
        if let Some(t) = parse_create_table(sql, q) {
            cols.retain(|(name, _), _| *name != t.name);
            for c in t.columns {
                cols.insert((t.name.clone(), c.name), c.type_text);
            }
        } else if let Some(rest) = keyword(sql, "DROP").and_then(|r| keyword(r, "TABLE")) {
            let rest = keyword(rest, "IF")
                .and_then(|r| keyword(r, "EXISTS"))
                .unwrap_or(rest);
            for part in split_top(rest) {
                if let Some((t, _)) = read_ident(part, q) {
                    cols.retain(|(name, _), _| *name != t);
                }
            }
        } else if let Some(rest) = keyword(sql, "RENAME").and_then(|r| keyword(r, "TABLE")) {
            for part in split_top(rest) {
                if let Some((from, r)) = read_ident(part, q)
                    && let Some((to, _)) = keyword(r, "TO").and_then(|r| read_ident(r, q))
                {
                    rename_table(&mut cols, &from, &to);
                }
            }
        } else if let Some(rest) = keyword(sql, "ALTER").and_then(|r| keyword(r, "TABLE"))
            && let Some((mut table, rest)) = read_ident(rest, q)
        {
            for action in split_top(rest) {
                alter_spelling(&mut cols, &mut table, action, q);
            }
        }
    }
    cols
}

fn rename_table(cols: &mut Spellings, from: &str, to: &str) {
    let moved: Vec<((String, String), String)> = cols
        .iter()
        .filter(|((t, _), _)| t == from)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for ((_, column), spelling) in moved {
        cols.remove(&(from.to_owned(), column.clone()));
        cols.insert((to.to_owned(), column), spelling);
    }
}

/// One action of an `ALTER TABLE` on `table` (which a `RENAME TO` changes).
fn alter_spelling(cols: &mut Spellings, table: &mut String, action: &str, q: char) {
    let column = |r: &str| keyword(r, "COLUMN").unwrap_or(r).to_owned();
    if let Some(r) = keyword(action, "ADD") {
        let r = column(r);
        let r = keyword(&r, "IF")
            .and_then(|r| keyword(r, "NOT"))
            .and_then(|r| keyword(r, "EXISTS"))
            .unwrap_or(&r);
        if let Some((c, def)) = read_ident(r, q) {
            cols.insert((table.clone(), c), type_text(def));
        }
    } else if let Some(r) = keyword(action, "MODIFY") {
        if let Some((c, def)) = read_ident(&column(r), q) {
            cols.insert((table.clone(), c), type_text(def));
        }
    } else if let Some(r) = keyword(action, "CHANGE") {
        let r = column(r);
        if let Some((old, r)) = read_ident(&r, q)
            && let Some((new, def)) = read_ident(r, q)
        {
            cols.remove(&(table.clone(), old));
            cols.insert((table.clone(), new), type_text(def));
        }
    } else if let Some(r) = keyword(action, "ALTER") {
        if let Some((c, r)) = read_ident(&column(r), q) {
            let r = keyword(r, "SET")
                .and_then(|r| keyword(r, "DATA"))
                .unwrap_or(r);
            if let Some(def) = keyword(r, "TYPE") {
                cols.insert((table.clone(), c), type_text(def));
            }
        }
    } else if let Some(r) = keyword(action, "RENAME") {
        if let Some(r) = keyword(r, "COLUMN") {
            if let Some((from, r)) = read_ident(r, q)
                && let Some((to, _)) = keyword(r, "TO").and_then(|r| read_ident(r, q))
                && let Some(spelling) = cols.remove(&(table.clone(), from))
            {
                cols.insert((table.clone(), to), spelling);
            }
        } else if let Some((to, _)) = keyword(r, "TO").and_then(|r| read_ident(r, q)) {
            rename_table(cols, table, &to);
            *table = to;
        }
    } else if let Some(r) = keyword(action, "DROP")
        && let Some((c, _)) = read_ident(&column(r), q)
    {
        cols.remove(&(table.clone(), c));
    }
}

/// Reads the hints from the entities' DDL as each backend writes it.
pub fn from_dialect_ddl(ddl: &[(Dialect, Vec<String>)]) -> Hints {
    let mut hints = Hints::default();
    for (_, statements) in ddl {
        for sql in statements {
            if let Some((name, values)) = parse_create_enum(sql) {
                hints.enums.insert(name, values);
            }
        }
    }
    // Each column's type as each backend spells it, `(table, column)` -> spellings.
    let mut spelled: BTreeMap<(String, String), Vec<(Dialect, String)>> = BTreeMap::new();
    let mut keys: Vec<(String, ForeignKey)> = Vec::new();
    for (dialect, statements) in ddl {
        let q = quote_char(*dialect);
        for sql in statements {
            if let Some(fk) = parse_alter_add_fk(sql, q) {
                keys.push(fk);
            }
            let Some(table) = parse_create_table(sql, q) else {
                continue;
            };
            if let Some(old) = table.comment.as_deref().and_then(renamed_from) {
                hints.table_renames.insert(table.name.clone(), old);
            }
            for fk in table.foreign_keys {
                keys.push((table.name.clone(), fk));
            }
            for col in table.columns {
                let key = (table.name.clone(), col.name);
                if let Some(old) = col.comment.as_deref().and_then(renamed_from) {
                    hints.column_renames.insert(key.clone(), old);
                }
                spelled
                    .entry(key)
                    .or_default()
                    .push((*dialect, col.type_text));
            }
        }
    }
    // One entry per key, with its name where a backend's DDL gives one
    // (SQLite's does not: sea-query writes no CONSTRAINT there).
    for (table, fk) in keys {
        let same_key = |(t, h): &(String, ForeignKey)| {
            *t == table
                && h.columns == fk.columns
                && h.ref_table == fk.ref_table
                && h.ref_columns == fk.ref_columns
        };
        match hints.foreign_keys.iter_mut().find(|k| same_key(k)) {
            Some((_, known)) if known.name.is_none() => known.name = fk.name,
            Some(_) => {}
            None => hints.foreign_keys.push((table, fk)),
        }
    }
    // Columns of one type share their spellings (300 tables of the same
    // eight columns are a dozen of them): each is worked out once, since
    // weighing the candidates renders each on every backend.
    let mut known: HashMap<Vec<(Dialect, String)>, Option<ColType>> = HashMap::new();
    for (key, spellings) in spelled {
        let ty = known
            .entry(spellings)
            .or_insert_with_key(|spellings| exact_type(spellings, &hints.enums));
        if let Some(ty) = ty {
            hints.types.insert(key, ty.clone());
        }
    }
    hints
}

/// The exact type of one entity column: the type whose spelling on every
/// backend is the one the entity's DDL has there.
///
/// Each backend alone loses something (PostgreSQL writes every binary type
/// as `bytea` and has no unsigned or one-byte integers, MySQL reads RESTRICT
/// and JSONB back as others, SQLite writes `integer` for every integer), but
/// together the spellings pin the sea-query type down. The candidates are
/// each backend's reading of its own spelling, each spelling as a type of
/// its own (`custom`), and the enum type a spelling names; the one written
/// back exactly as captured on the most backends wins, the earlier
/// candidate on a tie (`None`: no spelling at all). The result is the
/// [`ColType`] whose sea-query type (`exec::to_column_type`) the entity
/// declared, so the generated migration writes that builder everywhere:
/// `varbinary(32)` is `.var_binary(32)`, `int unsigned` is `.unsigned()`,
/// sea-query's `Timestamp` is `.timestamp()`, `Money` is `.money()`.
pub(crate) fn exact_type(
    spellings: &[(Dialect, String)],
    enums: &BTreeMap<String, Vec<String>>,
) -> Option<ColType> {
    let mut candidates: Vec<ColType> = Vec::new();
    for (_, text) in spellings {
        let bare = text.trim().trim_matches(['"', '`']);
        if let Some(values) = enums.get(bare) {
            candidates.push(ColType::Enum {
                name: Some(bare.to_owned()),
                values: values.clone(),
            });
        }
    }
    for (dialect, text) in spellings {
        candidates.push(backend::of(*dialect).parse_declared_type(text));
    }
    // A spelling that is a builder's own name (`timestamp`, `money`, a
    // bare `varbinary`) where a backend reads it as another type.
    for (_, text) in spellings {
        let raw = ColType::Other(squash_type(text));
        if !matches!(
            super::exec::to_column_type(&raw),
            sea_orm::sea_query::ColumnType::Custom(_)
        ) {
            candidates.push(raw);
        }
    }
    let fits = |candidate: &ColType| {
        let written = super::exec::to_column_type(candidate);
        spellings
            .iter()
            .filter(|(dialect, text)| {
                backend::of(*dialect)
                    .type_spelling(&written)
                    .is_some_and(|w| squash_type(&w) == squash_type(text))
            })
            .count()
    };
    let mut best: Option<(usize, ColType)> = None;
    for candidate in candidates {
        let score = fits(&candidate);
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, ty)| ty)
}

/// The old name in a `renamed_from "old"` marker (SeaORM's format).
pub fn renamed_from(comment: &str) -> Option<String> {
    let (_, rest) = comment.rsplit_once("renamed_from \"")?;
    let (old, _) = rest.split_once('"')?;
    (!old.is_empty()).then(|| old.to_owned())
}

#[derive(Debug, Default)]
struct ParsedColumn {
    name: String,
    type_text: String,
    comment: Option<String>,
}

#[derive(Debug, Default)]
struct ParsedTable {
    name: String,
    columns: Vec<ParsedColumn>,
    comment: Option<String>,
    foreign_keys: Vec<ForeignKey>,
}

/// The type at the start of a column definition (up to [`TYPE_END`]).
fn type_text(def: &str) -> String {
    let end = TYPE_END
        .iter()
        .filter_map(|w| find_word(def, w))
        .min()
        .unwrap_or(def.len());
    def[..end].trim().to_owned()
}

/// Words that end a column's type in sea-query's `CREATE TABLE` and `ALTER
/// TABLE` output.
const TYPE_END: &[&str] = &[
    "USING",
    "FIRST",
    "AFTER",
    "NOT",
    "NULL",
    "DEFAULT",
    "UNIQUE",
    "PRIMARY",
    "GENERATED",
    "CHECK",
    "REFERENCES",
    "COLLATE",
    "COMMENT",
    "AUTO_INCREMENT",
    "AUTOINCREMENT",
];

/// Reads an identifier quoted with `q` at the start of `s`; returns it and the rest.
fn read_ident(s: &str, q: char) -> Option<(String, &str)> {
    let s = s.trim_start();
    let mut chars = s.char_indices();
    if chars.next()?.1 != q {
        return None;
    }
    let mut out = String::new();
    let mut iter = chars.peekable();
    while let Some((i, c)) = iter.next() {
        if c == q {
            if iter.peek().is_some_and(|(_, n)| *n == q) {
                iter.next();
                out.push(q);
            } else {
                return Some((out, &s[i + c.len_utf8()..]));
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// Splits `s` at top-level commas (outside parentheses and quotes).
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' && q == '\'' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Byte index of the `)` closing the `(` at byte 0.
fn closing_paren(s: &str) -> Option<usize> {
    let (mut depth, mut quote) = (0i32, None::<char>);
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' && q == '\'' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The text of a `COMMENT '...'` clause in `s` (MySQL escapes).
fn comment_in(s: &str) -> Option<String> {
    let at = find_word(s, "COMMENT")?;
    let rest = s[at + "COMMENT".len()..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    // The literal runs to its closing quote.
    let mut end = None;
    let mut chars = rest.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '\'' => {
                if rest[i + 1..].starts_with('\'') {
                    chars.next();
                } else {
                    end = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    unquote_literal(&rest[..=end?], true)
}

/// Byte index of `word` as a whole word outside quotes.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let mut quote = None::<char>;
    let bytes = s.as_bytes();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        if let Some(q) = quote {
            if c == '\\' && q == '\'' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if matches!(c, '\'' | '"' | '`') {
            quote = Some(c);
            continue;
        }
        if s[i..].len() >= word.len()
            && s[i..i + word.len()].eq_ignore_ascii_case(word)
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
            && s[i + word.len()..]
                .chars()
                .next()
                .is_none_or(|n| !(n.is_ascii_alphanumeric() || n == '_'))
        {
            return Some(i);
        }
    }
    None
}

fn parse_create_table(sql: &str, q: char) -> Option<ParsedTable> {
    let s = sql.trim_start();
    let upper = s.get(..12)?.to_ascii_uppercase();
    if !upper.starts_with("CREATE TABLE") {
        return None;
    }
    let mut rest = s[12..].trim_start();
    if rest.to_ascii_uppercase().starts_with("IF NOT EXISTS") {
        rest = rest[13..].trim_start();
    }
    let (mut name, mut after) = read_ident(rest, q)?;
    // Schema-qualified: keep the table part.
    if let Some(tail) = after.strip_prefix('.')
        && let Some((n, a)) = read_ident(tail, q)
    {
        name = n;
        after = a;
    }
    let after = after.trim_start();
    if !after.starts_with('(') {
        return None;
    }
    let close = closing_paren(after)?;
    let body = &after[1..close];
    let options = &after[close + 1..];
    let mut table = ParsedTable {
        name,
        comment: comment_in(options),
        ..Default::default()
    };
    for part in split_top(body) {
        if let Some(fk) = parse_foreign_key(part, q) {
            table.foreign_keys.push(fk);
            continue;
        }
        let Some((col, def)) = read_ident(part, q) else {
            continue;
        };
        table.columns.push(ParsedColumn {
            name: col,
            type_text: type_text(def),
            comment: comment_in(def),
        });
    }
    Some(table)
}

/// Strips the keyword `word` (any case) from the start of `s`.
fn keyword<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let s = s.trim_start();
    let head = s.get(..word.len())?;
    let rest = &s[word.len()..];
    (head.eq_ignore_ascii_case(word)
        && !rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(rest)
}

/// `("a", "b")` at the start of `s`: the identifiers, and the rest.
fn ident_list(s: &str, q: char) -> Option<(Vec<String>, &str)> {
    let s = s.trim_start().strip_prefix('(')?;
    let close = s.find(')')?;
    let names = split_top(&s[..close])
        .into_iter()
        .map(|part| read_ident(part, q).map(|(n, _)| n))
        .collect::<Option<Vec<_>>>()?;
    Some((names, &s[close + 1..]))
}

/// The rule after `ON DELETE` / `ON UPDATE` in `s` (none: NO ACTION).
fn fk_rule(s: &str, event: &str) -> FkAction {
    let Some(at) = s.to_ascii_uppercase().find(&format!("ON {event}")) else {
        return FkAction::NoAction;
    };
    let rest = s[at + 3 + event.len()..].trim_start().to_ascii_uppercase();
    for (word, action) in [
        ("CASCADE", FkAction::Cascade),
        ("SET NULL", FkAction::SetNull),
        ("SET DEFAULT", FkAction::SetDefault),
        ("RESTRICT", FkAction::Restrict),
    ] {
        if rest.starts_with(word) {
            return action;
        }
    }
    FkAction::NoAction
}

/// `[CONSTRAINT "name"] FOREIGN KEY ("a") REFERENCES "t" ("id") [ON DELETE …] [ON UPDATE …]`.
fn parse_foreign_key(part: &str, q: char) -> Option<ForeignKey> {
    let (name, rest) = match keyword(part, "CONSTRAINT") {
        Some(rest) => {
            let (name, rest) = read_ident(rest, q)?;
            (Some(name), rest)
        }
        None => (None, part),
    };
    let rest = keyword(keyword(rest, "FOREIGN")?, "KEY")?;
    let (columns, rest) = ident_list(rest, q)?;
    let rest = keyword(rest, "REFERENCES")?;
    let (mut ref_table, mut rest) = read_ident(rest, q)?;
    if let Some(tail) = rest.strip_prefix('.')
        && let Some((t, r)) = read_ident(tail, q)
    {
        ref_table = t;
        rest = r;
    }
    let (ref_columns, rules) = ident_list(rest, q)?;
    Some(ForeignKey {
        name,
        columns,
        ref_table,
        ref_columns,
        on_delete: fk_rule(rules, "DELETE"),
        on_update: fk_rule(rules, "UPDATE"),
    })
}

/// `ALTER TABLE "t" ADD <foreign key>`: the table and the key.
fn parse_alter_add_fk(sql: &str, q: char) -> Option<(String, ForeignKey)> {
    let rest = keyword(keyword(sql, "ALTER")?, "TABLE")?;
    let (table, rest) = read_ident(rest, q)?;
    let rest = keyword(rest, "ADD")?;
    Some((table, parse_foreign_key(rest, q)?))
}

fn parse_create_enum(sql: &str) -> Option<(String, Vec<String>)> {
    let s = sql.trim_start();
    if !s.get(..11)?.eq_ignore_ascii_case("CREATE TYPE") {
        return None;
    }
    let rest = s[11..].trim_start();
    let (name, after) = match read_ident(rest, '"') {
        Some(x) => x,
        None => {
            let end = rest.find(char::is_whitespace)?;
            (rest[..end].to_owned(), &rest[end..])
        }
    };
    let at = find_word(after, "ENUM")?;
    let list = after[at + 4..].trim_start();
    let close = closing_paren(list)?;
    let values = split_top(&list[1..close])
        .into_iter()
        .filter_map(|v| unquote_literal(v.trim(), false))
        .collect();
    Some((name, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hints from the PostgreSQL and MySQL DDL alone.
    fn from_ddl(postgres_ddl: &[String], mysql_ddl: &[String]) -> Hints {
        from_dialect_ddl(&[
            (Dialect::Postgres, postgres_ddl.to_vec()),
            (Dialect::MySql, mysql_ddl.to_vec()),
        ])
    }

    #[test]
    fn reads_postgres_types_and_enums() {
        let pg = vec![
            r#"CREATE TYPE "mood" AS ENUM ('happy', 'it''s ok')"#.to_owned(),
            r#"CREATE TABLE "Order Items" ( "id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL PRIMARY KEY, "price" numeric(10, 2) NOT NULL DEFAULT 0, "m" mood NULL, "at" timestamp with time zone NOT NULL DEFAULT CURRENT_TIMESTAMP, "say ""hi""" varchar(20), CONSTRAINT "fk-x" FOREIGN KEY ("id") REFERENCES "p" ("id") )"#.to_owned(),
        ];
        let h = from_ddl(&pg, &[]);
        let t = |c: &str| h.types[&("Order Items".to_owned(), c.to_owned())].clone();
        assert_eq!(t("id"), ColType::BigInt);
        assert_eq!(t("price"), ColType::Decimal(Some((10, 2))));
        assert_eq!(t("at"), ColType::TimestampTz);
        assert_eq!(t("say \"hi\""), ColType::String(Some(20)));
        assert_eq!(
            t("m"),
            ColType::Enum {
                name: Some("mood".into()),
                values: vec!["happy".into(), "it's ok".into()]
            }
        );
    }

    /// One column `c` of table `t`, spelled `pg` on PostgreSQL and `my` on MySQL.
    fn exact(pg: Option<&str>, my: Option<&str>) -> Option<ColType> {
        let pg: Vec<String> = pg
            .map(|t| format!(r#"CREATE TABLE "t" ( "c" {t} NOT NULL )"#))
            .into_iter()
            .collect();
        let my: Vec<String> = my
            .map(|t| format!("CREATE TABLE `t` ( `c` {t} NOT NULL COMMENT 'x' )"))
            .into_iter()
            .collect();
        from_ddl(&pg, &my)
            .types
            .get(&("t".to_owned(), "c".to_owned()))
            .cloned()
    }

    #[test]
    fn combines_the_postgres_and_mysql_spellings() {
        let other = |s: &str| Some(ColType::Other(s.to_owned()));
        let cases: &[(Option<&str>, Option<&str>, Option<ColType>)] = &[
            // What PostgreSQL merges, MySQL tells apart.
            (Some("bytea"), Some("varbinary(32)"), other("varbinary(32)")),
            (
                Some("bytea"),
                Some("binary(16)"),
                Some(ColType::Binary(Some(16))),
            ),
            (Some("bytea"), Some("blob"), Some(ColType::Blob)),
            // `VarBinary(StringLen::None)` (a plain `Vec<u8>`) is spelled the
            // same on both as `VarBinary(StringLen::N(255))`: only SQLite
            // (`varbinary_blob`) tells them apart, and no `ColType` is written
            // as the former (see tests/generate_anywhere.rs, KNOWN_GAPS).
            (
                Some("bytea"),
                Some("varbinary(255)"),
                other("varbinary(255)"),
            ),
            (Some("smallint"), Some("tinyint"), other("tinyint")),
            (
                Some("smallint"),
                Some("tinyint UNSIGNED"),
                other("tinyint unsigned"),
            ),
            (Some("smallint"), Some("smallint"), Some(ColType::SmallInt)),
            (
                Some("integer"),
                Some("smallint UNSIGNED"),
                other("smallint unsigned"),
            ),
            (Some("integer"), Some("int"), Some(ColType::Int)),
            (Some("bigint"), Some("int UNSIGNED"), other("int unsigned")),
            (
                Some("bigint"),
                Some("bigint UNSIGNED"),
                other("bigint unsigned"),
            ),
            (Some("bigint"), Some("bigint"), Some(ColType::BigInt)),
            (Some("timestamp"), Some("timestamp"), other("timestamp")),
            (
                Some("timestamp without time zone"),
                Some("datetime"),
                Some(ColType::Timestamp),
            ),
            (None, Some("year"), other("year")),
            // What MySQL merges, PostgreSQL tells apart.
            (
                Some("timestamp with time zone"),
                Some("timestamp"),
                Some(ColType::TimestampTz),
            ),
            (Some("json"), Some("json"), Some(ColType::Json)),
            (Some("jsonb"), Some("json"), Some(ColType::JsonB)),
            (Some("uuid"), Some("binary(16)"), Some(ColType::Uuid)),
            (
                Some("varchar"),
                Some("varchar(255)"),
                Some(ColType::String(None)),
            ),
            (
                Some("varchar(40)"),
                Some("varchar(40)"),
                Some(ColType::String(Some(40))),
            ),
            // The same on both.
            (
                Some("char(3)"),
                Some("char(3)"),
                Some(ColType::Char(Some(3))),
            ),
            (Some("char"), Some("char"), Some(ColType::Char(None))),
            (Some("text"), Some("text"), Some(ColType::Text)),
            (
                Some("decimal(12, 4)"),
                Some("decimal(12, 4)"),
                Some(ColType::Decimal(Some((12, 4)))),
            ),
            (
                Some("decimal"),
                Some("decimal"),
                Some(ColType::Decimal(None)),
            ),
            (Some("real"), Some("float"), Some(ColType::Float)),
            (
                Some("double precision"),
                Some("double"),
                Some(ColType::Double),
            ),
            (Some("date"), Some("date"), Some(ColType::Date)),
            (Some("time"), Some("time"), Some(ColType::Time)),
            (Some("bool"), Some("bool"), Some(ColType::Bool)),
            (Some("BIT(8)"), Some("BIT(8)"), other("bit(8)")),
            (Some("timestamp"), Some("timestamp"), other("timestamp")),
            // One side only.
            (Some("bytea"), None, Some(ColType::Blob)),
            (Some("smallint"), None, Some(ColType::SmallInt)),
            (None, Some("varbinary(8)"), other("varbinary(8)")),
            (None, None, None),
        ];
        let mut wrong = Vec::new();
        for (pg, my, want) in cases {
            let got = exact(*pg, *my);
            if got != *want {
                wrong.push(format!("{pg:?} + {my:?}: {got:?}, want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn an_enum_type_is_read_from_postgres_whatever_mysql_writes() {
        let pg = [
            r#"CREATE TYPE "status" AS ENUM ('new', 'paid')"#.to_owned(),
            r#"CREATE TABLE "t" ( "c" status NOT NULL, "d" "status" )"#.to_owned(),
        ];
        let my = [
            "CREATE TABLE `t` ( `c` ENUM('new', 'paid') NOT NULL, `d` ENUM('new', 'paid') )"
                .to_owned(),
        ];
        let h = from_ddl(&pg, &my);
        let status = ColType::Enum {
            name: Some("status".into()),
            values: vec!["new".into(), "paid".into()],
        };
        assert_eq!(h.types[&("t".to_owned(), "c".to_owned())], status);
        assert_eq!(h.types[&("t".to_owned(), "d".to_owned())], status);
        // Without PostgreSQL's DDL, MySQL's inline labels.
        let h = from_ddl(&[], &my);
        assert_eq!(
            h.types[&("t".to_owned(), "c".to_owned())],
            ColType::Enum {
                name: None,
                values: vec!["new".into(), "paid".into()]
            }
        );
    }

    /// Every sea-query type an entity can declare, through sea-query's own
    /// PostgreSQL and MySQL `CREATE TABLE` text: the hint is the expected
    /// [`ColType`], and the type a migration writes for it
    /// (`exec::to_column_type`) is stored on every backend as the entity's
    /// own type is, so `autogen::prepare` keeps the hint on every
    /// comparison backend and the generated file does not depend on it.
    #[test]
    fn every_entity_type_gives_a_hint_that_holds_on_every_backend() {
        use crate::autogen::exec::to_column_type;
        use crate::backend::{self, Dialect};
        use sea_orm::sea_query::{
            ColumnDef, ColumnType, MysqlQueryBuilder, PostgresQueryBuilder, StringLen, Table,
        };
        let other = |s: &str| ColType::Other(s.to_owned());
        let status = ColumnType::Enum {
            name: "status".into(),
            variants: vec!["new".into(), "paid".into()],
        };
        let cases: Vec<(ColumnType, ColType)> = vec![
            (ColumnType::Char(Some(3)), ColType::Char(Some(3))),
            (ColumnType::Char(None), ColType::Char(None)),
            (
                ColumnType::String(StringLen::N(40)),
                ColType::String(Some(40)),
            ),
            (ColumnType::String(StringLen::None), ColType::String(None)),
            (ColumnType::Text, ColType::Text),
            (ColumnType::TinyInteger, other("tinyint")),
            (ColumnType::TinyUnsigned, other("tinyint unsigned")),
            (ColumnType::SmallInteger, ColType::SmallInt),
            (ColumnType::SmallUnsigned, other("smallint unsigned")),
            (ColumnType::Integer, ColType::Int),
            (ColumnType::Unsigned, other("int unsigned")),
            (ColumnType::BigInteger, ColType::BigInt),
            (ColumnType::BigUnsigned, other("bigint unsigned")),
            (ColumnType::Float, ColType::Float),
            (ColumnType::Double, ColType::Double),
            (
                ColumnType::Decimal(Some((12, 4))),
                ColType::Decimal(Some((12, 4))),
            ),
            (ColumnType::Decimal(None), ColType::Decimal(None)),
            (ColumnType::DateTime, ColType::Timestamp),
            (ColumnType::Timestamp, other("timestamp")),
            (ColumnType::TimestampWithTimeZone, ColType::TimestampTz),
            (ColumnType::Time, ColType::Time),
            (ColumnType::Date, ColType::Date),
            (ColumnType::Year, other("year")),
            (ColumnType::Binary(16), ColType::Binary(Some(16))),
            (
                ColumnType::VarBinary(StringLen::N(32)),
                other("varbinary(32)"),
            ),
            (ColumnType::Blob, ColType::Blob),
            (ColumnType::Boolean, ColType::Bool),
            (ColumnType::Json, ColType::Json),
            (ColumnType::JsonBinary, ColType::JsonB),
            (ColumnType::Uuid, ColType::Uuid),
            (ColumnType::custom("BIT(8)"), other("bit(8)")),
            (ColumnType::custom("timestamp"), other("timestamp")),
            (
                status.clone(),
                ColType::Enum {
                    name: Some("status".into()),
                    values: vec!["new".into(), "paid".into()],
                },
            ),
        ];
        let mut wrong = Vec::new();
        for (ct, want) in cases {
            let table = Table::create()
                .table("t")
                .col(ColumnDef::new_with_type("c", ct.clone()).not_null())
                .to_owned();
            // sea-query cannot write `year` for PostgreSQL (it panics).
            let pg_only_mysql = ct == ColumnType::Year;
            let mut pg = vec![r#"CREATE TYPE "status" AS ENUM ('new', 'paid')"#.to_owned()];
            if !pg_only_mysql {
                pg.push(table.to_string(PostgresQueryBuilder));
            }
            let my = [table.to_string(MysqlQueryBuilder)];
            let got = from_ddl(&pg, &my)
                .types
                .get(&("t".to_owned(), "c".to_owned()))
                .cloned();
            if got.as_ref() != Some(&want) {
                wrong.push(format!("{ct:?} ({pg:?} / {my:?}): {got:?}, want {want:?}"));
                continue;
            }
            let written = to_column_type(&want);
            for dialect in Dialect::ALL {
                if pg_only_mysql && dialect.db_backend() != sea_orm::DbBackend::MySql {
                    continue;
                }
                let engine = backend::of(dialect);
                let (stored, declared) = (engine.col_type_of(&written), engine.col_type_of(&ct));
                if stored != declared {
                    wrong.push(format!(
                        "{ct:?} on {}: the hint {want:?} is written as {written:?}, stored as \
                         {stored:?}; the entity's type is stored as {declared:?}",
                        dialect.name()
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn reads_mysql_rename_markers() {
        let my = vec![
            r#"CREATE TABLE `accounts` ( `id` int NOT NULL AUTO_INCREMENT PRIMARY KEY, `display_name` varchar(255) NOT NULL COMMENT 'Public name; renamed_from \"username\"', `x` int COMMENT 'plain' ) COMMENT 'renamed_from \"users\"'"#.to_owned(),
        ];
        let h = from_ddl(&[], &my);
        assert_eq!(h.table_renames["accounts"], "users");
        assert_eq!(
            h.column_renames[&("accounts".to_owned(), "display_name".to_owned())],
            "username"
        );
        assert_eq!(h.column_renames.len(), 1);
        assert_eq!(renamed_from("renamed_from \"a\""), Some("a".into()));
        assert_eq!(renamed_from("nothing"), None);
    }

    #[test]
    fn column_spellings_follow_the_history() {
        let pg: Vec<String> = [
            r#"CREATE TABLE "t" ( "id" serial PRIMARY KEY, "n" integer NOT NULL, "gone" text )"#,
            r#"ALTER TABLE "t" ALTER COLUMN "n" TYPE bigint USING "n"::bigint, ADD COLUMN "d" bytea NULL"#,
            r#"ALTER TABLE "t" RENAME COLUMN "d" TO "digest""#,
            r#"ALTER TABLE "t" DROP COLUMN "gone""#,
            r#"ALTER TABLE "t" ADD CONSTRAINT "fk" FOREIGN KEY ("n") REFERENCES "p" ("id")"#,
            r#"ALTER TABLE "t" RENAME TO "counters""#,
            r#"CREATE TABLE "x" ( "a" integer )"#,
            r#"DROP TABLE "x""#,
        ]
        .map(String::from)
        .to_vec();
        let got = column_spellings(&pg, '"');
        let want: Spellings = [
            (("counters".into(), "id".into()), "serial".into()),
            (("counters".into(), "n".into()), "bigint".into()),
            (("counters".into(), "digest".into()), "bytea".into()),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);

        let mysql: Vec<String> = [
            "CREATE TABLE `t` ( `id` int NOT NULL AUTO_INCREMENT PRIMARY KEY, `n` int NOT NULL, `b` binary(16) NOT NULL )",
            "ALTER TABLE `t` MODIFY COLUMN `n` bigint NOT NULL, CHANGE COLUMN `b` `digest` varbinary(16) NOT NULL",
            "RENAME TABLE `t` TO `counters`",
            "ALTER TABLE `counters` DROP FOREIGN KEY `fk`",
        ]
        .map(String::from)
        .to_vec();
        let got = column_spellings(&mysql, '`');
        let want: Spellings = [
            (("counters".into(), "id".into()), "int".into()),
            (("counters".into(), "n".into()), "bigint".into()),
            (("counters".into(), "digest".into()), "varbinary(16)".into()),
        ]
        .into_iter()
        .collect();
        assert_eq!(got, want);
    }
}
