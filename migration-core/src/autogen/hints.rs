//! What the entities say that a reflected database cannot: rename markers and exact types.
//!
//! The entities' DDL is captured, without any database, by running
//! `SchemaBuilder::apply` against a recording connection that claims to be
//! PostgreSQL (for exact column types and enum types: SQLite stores `i32` and
//! `i64` alike as `integer` and keeps no enum labels) and then MySQL (whose
//! `CREATE TABLE` carries column and table comments, where SeaORM puts its
//! `renamed_from` marker).
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

use crate::backend::postgres;
use crate::entities::Entities;
pub use crate::entities::capture_ddl;
use crate::schema::{ColType, unquote_literal};
use sea_orm::{DbBackend, DbErr};
use std::collections::BTreeMap;

/// Facts about the entities that reflection cannot recover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    /// Exact column types, `(table, column)` -> type, as PostgreSQL spells them.
    pub types: BTreeMap<(String, String), ColType>,
    /// PostgreSQL enum types the entities create: name -> labels in order.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Column renames: `(table, new column)` -> old column.
    pub column_renames: BTreeMap<(String, String), String>,
    /// Table renames: new table -> old table.
    pub table_renames: BTreeMap<String, String>,
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
                let pg = self.ddl(DbBackend::Postgres).await?;
                let my = self.ddl(DbBackend::MySql).await?;
                Ok(from_ddl(pg, my))
            })
            .await
            .cloned()
    }
}

/// Reads the hints from the PostgreSQL and MySQL DDL of the entities.
pub fn from_ddl(postgres_ddl: &[String], mysql_ddl: &[String]) -> Hints {
    let mut hints = Hints::default();
    for sql in postgres_ddl {
        if let Some((name, values)) = parse_create_enum(sql) {
            hints.enums.insert(name, values);
        }
    }
    for sql in postgres_ddl {
        let Some(table) = parse_create_table(sql, '"') else {
            continue;
        };
        for col in &table.columns {
            let bare = col.type_text.trim().trim_matches('"');
            let ty = match hints.enums.get(bare) {
                Some(values) => ColType::Enum {
                    name: Some(bare.to_owned()),
                    values: values.clone(),
                },
                None => postgres::parse_type(&col.type_text),
            };
            hints
                .types
                .insert((table.name.clone(), col.name.clone()), ty);
        }
    }
    for sql in mysql_ddl {
        let Some(table) = parse_create_table(sql, '`') else {
            continue;
        };
        if let Some(old) = table.comment.as_deref().and_then(renamed_from) {
            hints.table_renames.insert(table.name.clone(), old);
        }
        for col in &table.columns {
            if let Some(old) = col.comment.as_deref().and_then(renamed_from) {
                hints
                    .column_renames
                    .insert((table.name.clone(), col.name.clone()), old);
            }
        }
    }
    hints
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
}

/// Words that end a column's type in sea-query's `CREATE TABLE` output.
const TYPE_END: &[&str] = &[
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
        let Some((col, def)) = read_ident(part, q) else {
            continue;
        };
        let end = TYPE_END
            .iter()
            .filter_map(|w| find_word(def, w))
            .min()
            .unwrap_or(def.len());
        table.columns.push(ParsedColumn {
            name: col,
            type_text: def[..end].trim().to_owned(),
            comment: comment_in(def),
        });
    }
    Some(table)
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
}
