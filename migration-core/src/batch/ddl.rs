//! SQL text surgery for batch alter: a tokenizer, `CREATE TABLE` splitting and column-definition clauses.
//!
//! SQLite keeps every table's definition as the `CREATE TABLE` text it was
//! created with, and MySQL/MariaDB print one with `SHOW CREATE TABLE`. Batch
//! alter edits that text instead of regenerating it from a reflected model,
//! so whatever it does not touch (declared types, collations, `AUTOINCREMENT`,
//! inline checks, generated columns) survives exactly as written.

use crate::backend::Sql;
use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, ColumnDef, ColumnType, Expr, Query, Table};

pub(crate) use crate::tokens::{Quotes, Tok, Token, tokenize};

/// Index just past the `)` matching the `(` at `toks[i]`.
pub(crate) fn skip_group(toks: &[Token], i: usize) -> usize {
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(i) {
        if t.punct('(') {
            depth += 1;
        } else if t.punct(')') {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return k + 1;
            }
        }
    }
    toks.len()
}

/// The identifiers of a `(a, b COLLATE x DESC, …)` list starting at `toks[i]`.
pub(crate) fn ident_list(toks: &[Token], i: usize) -> Vec<String> {
    let end = skip_group(toks, i);
    let mut out = Vec::new();
    let mut expect = true;
    let mut depth = 0;
    for t in &toks[(i + 1).min(end)..end.saturating_sub(1)] {
        match &t.tok {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Punct(',') if depth == 0 => expect = true,
            Tok::Word(w) | Tok::Quoted(w) if expect && depth == 0 => {
                out.push(w.clone());
                expect = false;
            }
            _ => {}
        }
    }
    out
}

/// Whether `sql` mentions identifier `name` (case-insensitive), as a word or
/// a quoted identifier. Conservative: any mention counts.
pub(crate) fn mentions(sql: &str, name: &str) -> bool {
    tokenize(sql, Quotes::Standard)
        .iter()
        .any(|t| t.ident().is_some_and(|w| w.eq_ignore_ascii_case(name)))
}

/// Same identifier, compared as SQLite and MySQL compare column names.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

// ---------------------------------------------------------------------------
// CREATE TABLE
// ---------------------------------------------------------------------------

/// A `CREATE TABLE` statement split into its body items.
#[derive(Debug, Clone)]
pub(crate) struct CreateTable {
    /// Column definitions and table constraints, in order.
    pub items: Vec<Item>,
    /// Whatever follows the closing parenthesis (`WITHOUT ROWID`, `STRICT`, MySQL table options).
    pub options: String,
}

/// One body item of a `CREATE TABLE`.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// A column definition.
    Column(ColumnText),
    /// A table constraint.
    Constraint(ConstraintText),
}

/// A table constraint, as written.
#[derive(Debug, Clone)]
pub(crate) struct ConstraintText {
    /// `CONSTRAINT <name>`, if given.
    pub name: Option<String>,
    /// What kind of constraint.
    pub kind: ConstraintKind,
    /// The columns of a PRIMARY KEY, UNIQUE or FOREIGN KEY (empty for CHECK).
    pub columns: Vec<String>,
    /// The referenced table of a FOREIGN KEY.
    pub ref_table: Option<String>,
    /// The whole item's text.
    pub text: String,
}

/// Kinds of table constraints (and MySQL index lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstraintKind {
    /// `PRIMARY KEY (…)`.
    PrimaryKey,
    /// `UNIQUE (…)` / MySQL `UNIQUE KEY`.
    Unique,
    /// `CHECK (…)`.
    Check,
    /// `FOREIGN KEY (…) REFERENCES …`.
    ForeignKey,
    /// MySQL `KEY`/`INDEX`/`FULLTEXT`/`SPATIAL` lines, or anything unrecognised.
    Other,
}

/// A column definition split into name, type and constraint clauses.
#[derive(Debug, Clone)]
pub(crate) struct ColumnText {
    /// Column name, unquoted.
    pub name: String,
    /// The name as written (quoted or not).
    pub name_text: String,
    /// Declared type as written (may be empty on SQLite).
    pub type_text: String,
    /// Constraint clauses, in order.
    pub clauses: Vec<Clause>,
}

/// One column constraint clause (with its `CONSTRAINT name` prefix, if any).
#[derive(Debug, Clone)]
pub(crate) struct Clause {
    /// What the clause is.
    pub kind: ClauseKind,
    /// `CONSTRAINT <name>`, if given.
    pub name: Option<String>,
    /// The clause's text.
    pub text: String,
    /// Tokens of the clause after its keyword(s) (a REFERENCES target, a DEFAULT value…).
    pub rest: String,
}

/// Kinds of column clauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClauseKind {
    /// `PRIMARY KEY …`.
    PrimaryKey,
    /// `NOT NULL`.
    NotNull,
    /// `NULL`.
    Null,
    /// `UNIQUE`.
    Unique,
    /// `CHECK (…)`.
    Check,
    /// `DEFAULT …`.
    Default,
    /// `COLLATE …`.
    Collate,
    /// `REFERENCES table (…) …`, with the referenced table.
    References(String),
    /// `GENERATED ALWAYS AS (…)` / `AS (…)`.
    Generated,
    /// MySQL `CHARACTER SET x` / `CHARSET x`.
    Charset,
    /// Anything else (`AUTO_INCREMENT`, `COMMENT '…'`, `ON UPDATE …`, `INVISIBLE`…).
    Other(String),
}

impl ColumnText {
    /// The text of this column definition.
    pub fn render(&self) -> String {
        let mut out = self.name_text.clone();
        if !self.type_text.is_empty() {
            out.push(' ');
            out.push_str(&self.type_text);
        }
        for c in &self.clauses {
            out.push(' ');
            out.push_str(&c.text);
        }
        out
    }

    /// Whether any clause is of this kind.
    pub fn has(&self, kind: &ClauseKind) -> bool {
        self.clauses.iter().any(|c| &c.kind == kind)
    }

    /// The DEFAULT clause's value text, if any.
    pub fn default_text(&self) -> Option<&str> {
        self.clauses
            .iter()
            .find(|c| c.kind == ClauseKind::Default)
            .map(|c| c.rest.as_str())
    }

    /// Removes the clauses `drop` selects.
    pub fn remove(&mut self, drop: impl Fn(&Clause) -> bool) {
        self.clauses.retain(|c| !drop(c));
    }

    /// Inserts a clause right after the type (so `NOT NULL` reads naturally).
    pub fn insert_front(&mut self, kind: ClauseKind, text: String) {
        self.clauses.insert(
            0,
            Clause {
                kind,
                name: None,
                rest: String::new(),
                text,
            },
        );
    }

    /// Appends a clause.
    pub fn push(&mut self, kind: ClauseKind, text: String, rest: String) {
        self.clauses.push(Clause {
            kind,
            name: None,
            text,
            rest,
        });
    }
}

/// Splits a SQLite `CREATE TABLE` statement (SQL's quoting) into items.
/// `None` if it has no body.
pub(crate) fn parse_create_table(sql: &str) -> Option<CreateTable> {
    parse_create_table_with(sql, Quotes::Standard)
}

/// [`parse_create_table`] for MySQL/MariaDB's `SHOW CREATE TABLE` text,
/// whose string literals may escape with a backslash.
pub(crate) fn parse_show_create_table(sql: &str) -> Option<CreateTable> {
    parse_create_table_with(sql, Quotes::Backslash)
}

fn parse_create_table_with(sql: &str, quotes: Quotes) -> Option<CreateTable> {
    let toks = tokenize(sql, quotes);
    let open = toks.iter().position(|t| t.punct('('))?;
    let close = skip_group(&toks, open);
    if close <= open + 1 {
        return None;
    }
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = open + 1;
    let body_end = close - 1;
    for k in open + 1..=body_end {
        let at_end = k == body_end;
        let t = &toks[k];
        if !at_end {
            if t.punct('(') {
                depth += 1;
                continue;
            }
            if t.punct(')') {
                depth -= 1;
                continue;
            }
        }
        if at_end || (depth == 0 && t.punct(',')) {
            if start < k {
                items.push(parse_item(sql, &toks[start..k]));
            }
            start = k + 1;
        }
    }
    let options = sql[toks[body_end].end..]
        .trim()
        .trim_end_matches(';')
        .trim()
        .to_owned();
    Some(CreateTable { items, options })
}

fn span(sql: &str, toks: &[Token]) -> String {
    match (toks.first(), toks.last()) {
        (Some(a), Some(b)) => sql[a.start..b.end].to_owned(),
        _ => String::new(),
    }
}

fn parse_item(sql: &str, toks: &[Token]) -> Item {
    let text = span(sql, toks);
    let mut k = 0;
    let mut name = None;
    if toks.first().is_some_and(|t| t.is("CONSTRAINT")) {
        name = toks.get(1).and_then(|t| t.ident()).map(str::to_owned);
        k = 2;
    }
    let head = toks.get(k);
    let is = |kw: &str| head.is_some_and(|t| t.is(kw));
    let first_group = || {
        toks.iter()
            .skip(k)
            .position(|t| t.punct('('))
            .map(|p| k + p)
    };
    let kind = if is("PRIMARY") {
        Some(ConstraintKind::PrimaryKey)
    } else if is("UNIQUE") {
        Some(ConstraintKind::Unique)
    } else if is("CHECK") {
        Some(ConstraintKind::Check)
    } else if is("FOREIGN") {
        Some(ConstraintKind::ForeignKey)
    } else if name.is_some() || is("KEY") || is("INDEX") || is("FULLTEXT") || is("SPATIAL") {
        Some(ConstraintKind::Other)
    } else {
        None
    };
    if let Some(kind) = kind {
        let mut columns = Vec::new();
        let mut ref_table = None;
        if kind != ConstraintKind::Check
            && let Some(g) = first_group()
        {
            columns = ident_list(toks, g);
            if kind == ConstraintKind::ForeignKey {
                let after = skip_group(toks, g);
                if toks.get(after).is_some_and(|t| t.is("REFERENCES")) {
                    ref_table = toks
                        .get(after + 1)
                        .and_then(|t| t.ident())
                        .map(str::to_owned);
                }
            }
        }
        // MySQL's `UNIQUE KEY `name` (…)` and `KEY `name` (…)` name the index
        // after the keyword(s).
        if matches!(kind, ConstraintKind::Unique | ConstraintKind::Other) && name.is_none() {
            let mut j = k + 1;
            if toks.get(j).is_some_and(|t| t.is("KEY") || t.is("INDEX")) {
                j += 1;
            }
            if let Some(t) = toks.get(j)
                && !t.punct('(')
            {
                name = t.ident().map(str::to_owned);
            }
        }
        return Item::Constraint(ConstraintText {
            name,
            kind,
            columns,
            ref_table,
            text,
        });
    }
    Item::Column(parse_column(sql, toks))
}

/// Whether `toks[j]` starts a new column clause (given the clause we are in).
fn starts_clause(toks: &[Token], j: usize, current: Option<&ClauseKind>) -> bool {
    let t = &toks[j];
    let prev = j.checked_sub(1).map(|p| &toks[p]);
    let next = toks.get(j + 1);
    let in_refs = matches!(current, Some(ClauseKind::References(_)));
    if t.is("NOT") {
        return next.is_some_and(|n| n.is("NULL"));
    }
    if t.is("NULL") {
        // `DEFAULT NULL` (MariaDB writes it for every nullable column) is one clause.
        return !prev.is_some_and(|p| p.is("SET") || p.is("NOT") || p.is("DEFAULT"));
    }
    if t.is("DEFAULT") {
        return !prev.is_some_and(|p| p.is("SET"));
    }
    if t.is("ON") {
        // MySQL `ON UPDATE CURRENT_TIMESTAMP`; inside REFERENCES, `ON DELETE/UPDATE`
        // belong to the reference, and `ON CONFLICT` to the clause before it.
        return !in_refs && next.is_some_and(|n| n.is("UPDATE"));
    }
    if t.is("AS") {
        return !prev.is_some_and(|p| p.is("ALWAYS"));
    }
    if t.is("CHARACTER") {
        return next.is_some_and(|n| n.is("SET"));
    }
    if t.is("KEY") {
        // `PRIMARY KEY` / `UNIQUE KEY` continue their clause.
        return false;
    }
    [
        "CONSTRAINT",
        "PRIMARY",
        "UNIQUE",
        "CHECK",
        "COLLATE",
        "REFERENCES",
        "GENERATED",
        "AUTO_INCREMENT",
        "COMMENT",
        "CHARSET",
        "INVISIBLE",
        "VISIBLE",
        "COLUMN_FORMAT",
        "STORAGE",
        "SERIAL",
    ]
    .iter()
    .any(|kw| t.is(kw))
}

fn clause_kind(toks: &[Token], j: usize) -> ClauseKind {
    let t = &toks[j];
    if t.is("PRIMARY") {
        ClauseKind::PrimaryKey
    } else if t.is("NOT") {
        ClauseKind::NotNull
    } else if t.is("NULL") {
        ClauseKind::Null
    } else if t.is("UNIQUE") {
        ClauseKind::Unique
    } else if t.is("CHECK") {
        ClauseKind::Check
    } else if t.is("DEFAULT") {
        ClauseKind::Default
    } else if t.is("COLLATE") {
        ClauseKind::Collate
    } else if t.is("REFERENCES") {
        ClauseKind::References(
            toks.get(j + 1)
                .and_then(|t| t.ident())
                .unwrap_or_default()
                .to_owned(),
        )
    } else if t.is("GENERATED") || t.is("AS") {
        ClauseKind::Generated
    } else if t.is("CHARACTER") || t.is("CHARSET") {
        ClauseKind::Charset
    } else {
        ClauseKind::Other(t.ident().unwrap_or_default().to_ascii_uppercase())
    }
}

/// How many keyword tokens open a clause of this kind (`NOT NULL` is two).
fn keyword_len(kind: &ClauseKind) -> usize {
    match kind {
        ClauseKind::NotNull => 2,
        _ => 1,
    }
}

fn parse_column(sql: &str, toks: &[Token]) -> ColumnText {
    let name = toks
        .first()
        .and_then(|t| t.ident())
        .unwrap_or_default()
        .to_owned();
    let name_text = toks
        .first()
        .map_or(String::new(), |t| sql[t.start..t.end].to_owned());
    // The type runs until the first clause keyword at depth 0.
    let mut j = 1;
    while j < toks.len() {
        if toks[j].punct('(') {
            j = skip_group(toks, j);
            continue;
        }
        if starts_clause(toks, j, None) {
            break;
        }
        j += 1;
    }
    let type_text = span(sql, &toks[1.min(toks.len())..j]);
    let mut clauses = Vec::new();
    let mut pending_name: Option<(String, usize)> = None;
    while j < toks.len() {
        if toks[j].is("CONSTRAINT") {
            let n = toks.get(j + 1).and_then(|t| t.ident()).unwrap_or_default();
            pending_name = Some((n.to_owned(), j));
            j += 2;
            continue;
        }
        let kind = clause_kind(toks, j);
        let begin = pending_name.as_ref().map_or(j, |(_, at)| *at);
        let body = j + keyword_len(&kind);
        let mut k = body;
        while k < toks.len() {
            if toks[k].punct('(') {
                k = skip_group(toks, k);
                continue;
            }
            if starts_clause(toks, k, Some(&kind)) {
                break;
            }
            k += 1;
        }
        let rest = if body < k {
            span(sql, &toks[body..k])
        } else {
            String::new()
        };
        clauses.push(Clause {
            kind,
            name: pending_name.take().map(|(n, _)| n),
            text: span(sql, &toks[begin..k]),
            rest,
        });
        j = k;
    }
    ColumnText {
        name,
        name_text,
        type_text,
        clauses,
    }
}

// ---------------------------------------------------------------------------
// Quoting and sea-query rendering
// ---------------------------------------------------------------------------

/// Quotes an identifier for `backend`.
pub(crate) fn quote(backend: DbBackend, name: &str) -> String {
    crate::backend::of_db(backend).quote_ident(name)
}

/// Quotes a string literal for `backend`.
pub(crate) fn literal(backend: DbBackend, s: &str) -> String {
    crate::backend::of_db(backend).quote_literal(s)
}

/// Runs a sea-query renderer, turning its panics (`unimplemented!` for types a
/// backend lacks) into an error message.
fn guarded(render: impl FnOnce() -> String) -> Result<String, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(render)).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "sea-query cannot render it".to_owned())
    })
}

const PROBE_TABLE: &str = "batch_probe_table";

/// The column definition as the backend's `ALTER TABLE … ADD COLUMN` writes it,
/// starting with the quoted column name.
pub(crate) fn render_column_def(backend: DbBackend, def: &ColumnDef) -> Result<String, String> {
    let stmt = Table::alter()
        .table(Alias::new(PROBE_TABLE))
        .add_column(def.clone())
        .to_owned();
    let sql = guarded(|| crate::backend::of_db(backend).to_sql(Sql::AlterTable(&stmt)))?;
    let prefix = format!("ALTER TABLE {} ADD COLUMN ", quote(backend, PROBE_TABLE));
    sql.strip_prefix(&prefix)
        .map(str::to_owned)
        .ok_or_else(|| format!("unexpected ADD COLUMN text `{sql}`"))
}

/// A column definition without its name.
fn render_def_tail(backend: DbBackend, def: ColumnDef) -> Result<String, String> {
    let name = quote(backend, &def.get_column_name());
    let text = render_column_def(backend, &def)?;
    Ok(text.strip_prefix(&name).unwrap_or(&text).trim().to_owned())
}

/// A column type as the backend writes it (e.g. `bigint`, `varchar(20)`).
pub(crate) fn render_type(backend: DbBackend, ty: &ColumnType) -> Result<String, String> {
    render_def_tail(
        backend,
        ColumnDef::new_with_type(Alias::new("c"), ty.clone()),
    )
}

/// `DEFAULT …` as the backend writes it for `value`.
pub(crate) fn render_default(backend: DbBackend, value: &Expr) -> Result<String, String> {
    render_def_tail(
        backend,
        ColumnDef::new(Alias::new("c"))
            .default(value.clone())
            .to_owned(),
    )
}

/// The value of a default as a plain expression (for `COALESCE`, `UPDATE … SET`).
pub(crate) fn render_expr(backend: DbBackend, value: &Expr) -> Result<String, String> {
    let stmt = Query::select().expr(value.clone()).to_owned();
    let sql = guarded(|| crate::backend::of_db(backend).to_sql(Sql::Select(&stmt)))?;
    sql.strip_prefix("SELECT ")
        .map(str::to_owned)
        .ok_or_else(|| format!("unexpected SELECT text `{sql}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_create_table() {
        let sql = r#"CREATE TABLE "t" ( "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "qty" integer NOT NULL DEFAULT -1 CHECK (qty > 0), "p" int CONSTRAINT fk_p REFERENCES par (id) ON DELETE SET NULL ON UPDATE SET DEFAULT NOT DEFERRABLE, "s" text COLLATE nocase DEFAULT 'a, b', CONSTRAINT "u" UNIQUE ("qty", "s"), CHECK ((qty < 100)), FOREIGN KEY (p) REFERENCES "par" ("id") ) STRICT"#;
        let ct = parse_create_table(sql).unwrap();
        assert_eq!(ct.items.len(), 7);
        assert_eq!(ct.options, "STRICT");
        let Item::Column(qty) = &ct.items[1] else {
            panic!()
        };
        assert_eq!(qty.name, "qty");
        assert_eq!(qty.type_text, "integer");
        let kinds: Vec<_> = qty.clauses.iter().map(|c| c.kind.clone()).collect();
        assert_eq!(
            kinds,
            [ClauseKind::NotNull, ClauseKind::Default, ClauseKind::Check]
        );
        assert_eq!(qty.default_text(), Some("-1"));
        assert_eq!(
            qty.render(),
            r#""qty" integer NOT NULL DEFAULT -1 CHECK (qty > 0)"#
        );
        let Item::Column(p) = &ct.items[2] else {
            panic!()
        };
        assert_eq!(p.clauses.len(), 1);
        assert_eq!(p.clauses[0].name.as_deref(), Some("fk_p"));
        assert_eq!(p.clauses[0].kind, ClauseKind::References("par".into()));
        let Item::Column(s) = &ct.items[3] else {
            panic!()
        };
        assert_eq!(s.default_text(), Some("'a, b'"));
        let Item::Constraint(u) = &ct.items[4] else {
            panic!()
        };
        assert_eq!(
            (u.name.as_deref(), u.kind),
            (Some("u"), ConstraintKind::Unique)
        );
        assert_eq!(u.columns, ["qty", "s"]);
        let Item::Constraint(fk) = &ct.items[6] else {
            panic!()
        };
        assert_eq!(fk.ref_table.as_deref(), Some("par"));
        assert_eq!(fk.columns, ["p"]);
    }

    #[test]
    fn mysql_column_lines() {
        let sql = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT,\n  `name` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL COMMENT 'it''s',\n  `at` timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),\n  `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `uq` (`name`),\n  KEY `ix` (`at`)\n) ENGINE=InnoDB";
        let ct = parse_show_create_table(sql).unwrap();
        let cols: Vec<&ColumnText> = ct
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Column(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(cols.len(), 4);
        assert_eq!(cols[0].type_text, "int(11)");
        assert_eq!(cols[1].type_text, "varchar(20)");
        assert!(cols[1].has(&ClauseKind::Charset));
        // `DEFAULT NULL` is one clause, not a DEFAULT without value and a NULL.
        assert_eq!(cols[1].default_text(), Some("NULL"));
        assert!(!cols[1].has(&ClauseKind::Null));
        assert_eq!(cols[2].default_text(), Some("current_timestamp()"));
        assert!(cols[2].has(&ClauseKind::Other("ON".into())));
        assert!(cols[3].has(&ClauseKind::Check));
        let Item::Constraint(uq) = &ct.items[5] else {
            panic!()
        };
        assert_eq!(
            (uq.name.as_deref(), uq.kind),
            (Some("uq"), ConstraintKind::Unique)
        );
    }

    #[test]
    fn renders_pieces() {
        let lite = DbBackend::Sqlite;
        assert_eq!(
            render_type(lite, &ColumnType::BigInteger).unwrap(),
            "integer"
        );
        assert_eq!(
            render_type(DbBackend::Postgres, &ColumnType::BigInteger).unwrap(),
            "bigint"
        );
        assert_eq!(
            render_default(lite, &Expr::val(false)).unwrap(),
            "DEFAULT FALSE"
        );
        assert_eq!(render_expr(lite, &Expr::val("it's")).unwrap(), "'it''s'");
        assert!(render_type(lite, &ColumnType::Cidr).is_err());
    }
}
