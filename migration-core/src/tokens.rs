//! A small SQL tokenizer (words, quoted identifiers, string literals, punctuation, with byte spans) shared by SQLite reflection, batch alter and the lint.
//!
//! It reads DDL as the databases print it back (`sqlite_master.sql`, MySQL's
//! `SHOW CREATE TABLE`) and as sea-query renders it: enough to find items,
//! clauses and names, and to cut the source text at token boundaries so that
//! what is not edited survives byte for byte.

use crate::url::Dialect;

/// How a string literal escapes its quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Quotes {
    /// SQL's rule (SQLite, PostgreSQL): a quote inside a literal is doubled
    /// (`'it''s'`); a backslash is an ordinary character (`'C:\'` is complete).
    Standard,
    /// MySQL/MariaDB also escape with a backslash inside `'…'` (`'it\'s'`).
    /// <https://dev.mysql.com/doc/refman/8.0/en/string-literals.html>
    Backslash,
}

impl Quotes {
    /// The rule of `dialect`'s string literals (see `Backend::backslash_escapes`).
    // Callers outside tests are the lint's (tooling); reflection and batch
    // alter know their backend's rule statically.
    #[cfg_attr(not(feature = "tooling"), allow(dead_code))]
    pub(crate) fn of(dialect: Dialect) -> Quotes {
        if crate::backend::of(dialect).backslash_escapes() {
            Quotes::Backslash
        } else {
            Quotes::Standard
        }
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Unquoted word (keywords, identifiers, numbers).
    Word(String),
    /// `"x"`, `` `x` `` or `[x]` identifier, unquoted.
    Quoted(String),
    /// `'x'` string literal.
    Str,
    /// One punctuation character.
    Punct(char),
}

/// A token and its byte span in the source text.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// Whether this is the (case-insensitive) keyword `kw`.
    pub(crate) fn is(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    /// The identifier this token names, if it is a word or a quoted identifier.
    pub(crate) fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word(w) | Tok::Quoted(w) => Some(w),
            _ => None,
        }
    }

    /// Whether this is the punctuation character `c`.
    pub(crate) fn punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }
}

/// Splits SQL into tokens, skipping whitespace and comments.
pub(crate) fn tokenize(sql: &str, quotes: Quotes) -> Vec<Token> {
    let chars: Vec<(usize, char)> = sql.char_indices().collect();
    let end_of = |k: usize| chars.get(k).map_or(sql.len(), |(b, _)| *b);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let next = chars.get(i + 1).map(|x| x.1);
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i].1 != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len()
                && !(chars[i].1 == '*' && chars.get(i + 1).map(|x| x.1) == Some('/'))
            {
                i += 1;
            }
            i = (i + 2).min(chars.len());
        } else if matches!(c, '"' | '`' | '[' | '\'') {
            let close = if c == '[' { ']' } else { c };
            let mut text = String::new();
            i += 1;
            while i < chars.len() {
                let d = chars[i].1;
                if d == '\\' && c == '\'' && quotes == Quotes::Backslash && i + 1 < chars.len() {
                    text.push(d);
                    text.push(chars[i + 1].1);
                    i += 2;
                    continue;
                }
                if d == close {
                    if close != ']' && chars.get(i + 1).map(|x| x.1) == Some(close) {
                        text.push(close);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                text.push(d);
                i += 1;
            }
            let tok = if c == '\'' {
                Tok::Str
            } else {
                Tok::Quoted(text)
            };
            out.push(Token {
                tok,
                start,
                end: end_of(i),
            });
        } else if c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii() {
            let mut w = String::new();
            while i < chars.len() {
                let d = chars[i].1;
                if d.is_alphanumeric()
                    || d == '_'
                    || d == '$'
                    || (!d.is_ascii() && !d.is_whitespace())
                {
                    w.push(d);
                    i += 1;
                } else {
                    break;
                }
            }
            out.push(Token {
                tok: Tok::Word(w),
                start,
                end: end_of(i),
            });
        } else {
            i += 1;
            out.push(Token {
                tok: Tok::Punct(c),
                start,
                end: end_of(i),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(sql: &str, quotes: Quotes) -> Vec<Tok> {
        tokenize(sql, quotes).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_quoted_identifiers_literals_and_comments() {
        let sql = "CREATE TABLE \"Order Items\" (`a``b` int, [c] text DEFAULT 'it''s', -- note\n d /* x */ real)";
        assert_eq!(
            toks(sql, Quotes::Standard),
            vec![
                Tok::Word("CREATE".into()),
                Tok::Word("TABLE".into()),
                Tok::Quoted("Order Items".into()),
                Tok::Punct('('),
                Tok::Quoted("a`b".into()),
                Tok::Word("int".into()),
                Tok::Punct(','),
                Tok::Quoted("c".into()),
                Tok::Word("text".into()),
                Tok::Word("DEFAULT".into()),
                Tok::Str,
                Tok::Punct(','),
                Tok::Word("d".into()),
                Tok::Word("real".into()),
                Tok::Punct(')'),
            ]
        );
        // Spans cut the source at token boundaries.
        let t = tokenize(sql, Quotes::Standard);
        assert_eq!(&sql[t[2].start..t[2].end], "\"Order Items\"");
        assert_eq!(&sql[t[10].start..t[10].end], "'it''s'");
    }

    #[test]
    fn a_backslash_escapes_only_in_mysql() {
        // SQLite: 'C:\' is a whole literal, and the comma after it separates.
        let sql = r"a TEXT DEFAULT 'C:\', b INT";
        let standard = toks(sql, Quotes::Standard);
        assert_eq!(standard[3], Tok::Str);
        assert_eq!(standard[4], Tok::Punct(','));
        assert_eq!(standard.len(), 7);
        // MySQL: 'it\'s' is one literal.
        let mysql = toks(r"DEFAULT 'it\'s', b", Quotes::Backslash);
        assert_eq!(
            mysql,
            vec![
                Tok::Word("DEFAULT".into()),
                Tok::Str,
                Tok::Punct(','),
                Tok::Word("b".into())
            ]
        );
        assert_eq!(Quotes::of(Dialect::MySql), Quotes::Backslash);
        assert_eq!(Quotes::of(Dialect::Sqlite), Quotes::Standard);
    }
}
