//! SQLite: native `ALTER TABLE` where SQLite can, otherwise the 12-step table rebuild inside the migration's transaction.
//!
//! SQLite's `ALTER TABLE` can add a column (without PRIMARY KEY/UNIQUE, with
//! a constant default), rename a column and drop a plain one; indexes are
//! separate objects. Anything else — a type, nullability or default change,
//! adding or dropping a foreign key, unique or check constraint — needs the
//! rebuild from <https://www.sqlite.org/lang_altertable.html#otheralter>:
//! create the new table under a temporary name, copy the rows with
//! `INSERT … SELECT` (with `CAST` where the type's affinity changes and
//! `COALESCE` where NULLs become a new default), drop the old table, rename
//! the new one, then re-create the indexes and triggers, and the views that
//! read the table.
//!
//! The new definition is the old `CREATE TABLE` text with only the affected
//! pieces edited ([`super::ddl`]), so declared types, collations, checks and
//! `AUTOINCREMENT` survive as written.
//!
//! **Foreign keys.** sqlx turns `PRAGMA foreign_keys` on, and it cannot be
//! switched off inside a transaction
//! (<https://www.sqlite.org/foreignkeys.html#fk_enable>). Inside the
//! migration's transaction the rebuild therefore runs with
//! `PRAGMA defer_foreign_keys = ON`: dropping the old table then only counts
//! the references from other tables instead of failing, the renamed table
//! satisfies them again, and switching the pragma off afterwards clears the
//! count — after `PRAGMA foreign_key_check` has verified that nothing is
//! actually broken. What deferring cannot stop is an `ON DELETE CASCADE`,
//! `SET NULL` or `SET DEFAULT` action of another table firing when the old
//! table is dropped; when such a table has rows pointing at this one, the
//! batch is refused inside a transaction and runs, in a migration with
//! `use_transaction() -> Some(false)`, in a transaction of its own on a
//! connection with foreign keys off, as the SQLite documentation prescribes.
//! `PRAGMA legacy_alter_table = ON` during the final rename keeps SQLite from
//! re-checking every trigger and view of the schema against a table that is
//! momentarily missing (<https://www.sqlite.org/pragma.html#pragma_legacy_alter_table>).
//!
//! Offline the rebuild cannot be written (it edits the live `CREATE TABLE`
//! text): renames, index drops and creations and, when the batch needs no
//! rebuild, column drops and additions are rendered natively; a rebuild is a
//! marked comment naming the declared operations, whose column drops and
//! additions are declared to the lint.

use super::Sqlite;
use crate::batch::ddl::{
    self, ClauseKind, ColumnText, ConstraintKind, Item, mentions, parse_create_table, quote,
    render_column_def, render_default, render_type, same,
};
use crate::batch::offline::{Offline, declared_table, describe};
use crate::batch::plan::{self, CurrentColumn, CurrentTable, Normalized, Precheck, normalize};
use crate::batch::{AlterColumn, BatchAlter, BatchError, Op};
use crate::schema::ColType;
use crate::tokens::{Quotes, tokenize};
use sea_orm::sqlx::sqlite::SqlitePoolOptions;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseExecutor, DatabaseTransaction, DbBackend, DbErr,
    SqlxSqliteConnector, Statement, TransactionTrait,
};

const DB: DbBackend = DbBackend::Sqlite;
const UNCHANGED: &str = "nothing was changed";
const ROLLED_BACK: &str =
    "everything this batch did was rolled back: the table and its rows are as they were";

/// One row of `sqlite_master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterRow {
    /// `table`, `index`, `trigger` or `view`.
    pub kind: String,
    /// Object name.
    pub name: String,
    /// The table it belongs to.
    pub tbl_name: String,
    /// Its `CREATE …` text.
    pub sql: String,
}

impl MasterRow {
    /// A row from its parts.
    pub fn new(kind: &str, name: &str, tbl_name: &str, sql: &str) -> Self {
        MasterRow {
            kind: kind.to_owned(),
            name: name.to_owned(),
            tbl_name: tbl_name.to_owned(),
            sql: sql.to_owned(),
        }
    }
}

/// What SQLite's catalog says about a table and everything around it: the
/// input of [`plan`].
#[derive(Debug, Clone)]
pub struct SqliteSnapshot {
    /// The table the batch changes.
    pub table: String,
    /// `sqlite_master` rows with SQL text, in creation (rowid) order.
    pub master: Vec<MasterRow>,
    /// `PRAGMA foreign_keys`.
    pub foreign_keys: bool,
    /// `PRAGMA defer_foreign_keys` before the batch.
    pub defer_foreign_keys: bool,
    /// `PRAGMA legacy_alter_table` before the batch.
    pub legacy_alter_table: bool,
    /// The table's `sqlite_sequence` value (AUTOINCREMENT tables).
    pub sequence: Option<i64>,
    /// `PRAGMA schema_version`, read from the live database; `None` (a
    /// snapshot built by hand) never edits the schema in place.
    pub schema_version: Option<i64>,
}

impl SqliteSnapshot {
    /// A snapshot from `sqlite_master` rows, with foreign keys on (sqlx's
    /// default) and the other pragmas off.
    pub fn new(table: &str, master: Vec<MasterRow>) -> Self {
        SqliteSnapshot {
            table: table.to_owned(),
            master,
            foreign_keys: true,
            defer_foreign_keys: false,
            legacy_alter_table: false,
            sequence: None,
            schema_version: None,
        }
    }

    /// Reads the snapshot through `conn`.
    ///
    /// # Errors
    /// A catalog query failed.
    pub async fn read(conn: &impl ConnectionTrait, table: &str) -> Result<Self, DbErr> {
        let rows = conn
            .query_all_raw(Statement::from_string(
                DB,
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid",
            ))
            .await?;
        let mut master = Vec::with_capacity(rows.len());
        for row in rows {
            master.push(MasterRow {
                kind: row.try_get_by_index(0)?,
                name: row.try_get_by_index(1)?,
                tbl_name: row.try_get_by_index(2)?,
                sql: row.try_get_by_index(3)?,
            });
        }
        let pragma = |name: &'static str| async move {
            let row = conn
                .query_one_raw(Statement::from_string(DB, format!("PRAGMA {name}")))
                .await?;
            Ok::<bool, DbErr>(match row {
                Some(r) => r.try_get_by_index::<i64>(0)? != 0,
                None => false,
            })
        };
        let mut snapshot = SqliteSnapshot::new(table, master);
        snapshot.foreign_keys = pragma("foreign_keys").await?;
        snapshot.defer_foreign_keys = pragma("defer_foreign_keys").await?;
        snapshot.legacy_alter_table = pragma("legacy_alter_table").await?;
        snapshot.schema_version = match conn
            .query_one_raw(Statement::from_string(DB, "PRAGMA schema_version"))
            .await?
        {
            Some(r) => Some(r.try_get_by_index::<i64>(0)?),
            None => None,
        };
        if snapshot.master.iter().any(|r| r.name == "sqlite_sequence") {
            let row = conn
                .query_one_raw(Statement::from_sql_and_values(
                    DB,
                    "SELECT seq FROM sqlite_sequence WHERE name = ?",
                    [table.into()],
                ))
                .await?;
            snapshot.sequence = match row {
                Some(r) => r.try_get_by_index::<Option<i64>>(0)?,
                None => None,
            };
        }
        Ok(snapshot)
    }

    fn table_row(&self) -> Option<&MasterRow> {
        self.master
            .iter()
            .find(|r| r.kind == "table" && same(&r.name, &self.table))
    }

    /// Rows of `kind` that belong to the table.
    fn own(&self, kind: &'static str) -> impl Iterator<Item = &MasterRow> {
        self.master
            .iter()
            .filter(move |r| r.kind == kind && same(&r.tbl_name, &self.table))
    }
}

/// A table that references the batch's table with a foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The referencing table.
    pub child: String,
    /// Its referencing columns.
    pub columns: Vec<String>,
    /// The referenced columns (empty: the primary key).
    pub ref_columns: Vec<String>,
    /// Its `ON DELETE` action, upper case (`CASCADE`, `SET NULL`, …), if any.
    pub on_delete: Option<String>,
}

impl Incoming {
    /// Whether dropping the referenced table fires an action that changes
    /// this table's rows.
    pub fn destructive(&self) -> bool {
        matches!(
            self.on_delete.as_deref(),
            Some("CASCADE" | "SET NULL" | "SET DEFAULT")
        )
    }
}

/// One step of a batch on SQLite, from [`plan`].
#[derive(Debug, Clone)]
pub struct SqlitePlan {
    /// The statements, in order.
    pub statements: Vec<String>,
    /// Whether this step rebuilds the table.
    pub rebuild: bool,
    /// Whether the batch as a whole rebuilds the table (in this step or the next).
    pub batch_rebuilds: bool,
    /// Whether that rebuild drops the old table (a copy and swap), rather
    /// than editing its definition in place (constraints and defaults only).
    pub drops_table: bool,
    /// Views the rebuild re-created, to be checked afterwards.
    pub views: Vec<String>,
    /// Tables whose foreign keys `PRAGMA foreign_key_check` must pass afterwards.
    pub fk_check_tables: Vec<String>,
    /// Tables referencing this one, with their actions.
    pub incoming: Vec<Incoming>,
    /// What is left for a next step, planned on the schema as this step leaves it
    /// (renames come first, natively, so SQLite rewrites indexes, triggers and
    /// views; the rebuild then works on the renamed table).
    pub remaining: Option<BatchAlter>,
    /// Queries that must count 0 rows before anything runs.
    pub(crate) prechecks: Vec<Precheck>,
}

impl SqlitePlan {
    /// The pre-check queries (each must count 0 rows).
    pub fn precheck_sql(&self) -> Vec<String> {
        self.prechecks.iter().map(|p| p.sql.clone()).collect()
    }
}

/// The table parsed from its `CREATE TABLE` text.
struct Parsed {
    create: ddl::CreateTable,
    current: CurrentTable,
}

fn parse(snapshot: &SqliteSnapshot) -> Result<Parsed, BatchError> {
    let table = &snapshot.table;
    let row = snapshot.table_row().ok_or_else(|| {
        BatchError::refused(
            table,
            "there is no such table".to_owned(),
            "check the table name (and that the migration creating it ran first)",
        )
    })?;
    let create = parse_create_table(&row.sql).ok_or_else(|| {
        BatchError::refused(
            table,
            format!("cannot read its definition `{}`", row.sql),
            "rebuild the table by hand",
        )
    })?;
    let mut primary_key = Vec::new();
    for item in &create.items {
        match item {
            Item::Column(c) if c.has(&ClauseKind::PrimaryKey) => primary_key.push(c.name.clone()),
            Item::Constraint(k) if k.kind == ConstraintKind::PrimaryKey => {
                primary_key.extend(k.columns.iter().cloned());
            }
            _ => {}
        }
    }
    let columns = create
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Column(c) => Some(CurrentColumn {
                name: c.name.clone(),
                col_type: super::reflect::parse_type(&c.type_text),
                decl: c.type_text.clone(),
                nullable: !c.has(&ClauseKind::NotNull)
                    && !primary_key.iter().any(|p| same(p, &c.name)),
            }),
            Item::Constraint(_) => None,
        })
        .collect();
    Ok(Parsed {
        current: CurrentTable {
            name: row.name.clone(),
            columns,
            primary_key,
            complete: true,
        },
        create,
    })
}

/// SQLite's type affinity of a declared type
/// (<https://www.sqlite.org/datatype3.html#determination_of_column_affinity>).
pub fn affinity(decl: &str) -> &'static str {
    let t = decl.to_ascii_uppercase();
    if t.contains("INT") {
        "INTEGER"
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        "TEXT"
    } else if t.contains("BLOB") || t.trim().is_empty() {
        "BLOB"
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        "REAL"
    } else {
        "NUMERIC"
    }
}

/// The tables referencing `snapshot.table` (other than itself).
fn incoming(snapshot: &SqliteSnapshot) -> Vec<Incoming> {
    let mut out = Vec::new();
    for row in &snapshot.master {
        if row.kind != "table" || same(&row.name, &snapshot.table) {
            continue;
        }
        let Some(ct) = parse_create_table(&row.sql) else {
            continue;
        };
        for item in &ct.items {
            match item {
                Item::Column(c) => {
                    for clause in &c.clauses {
                        if let ClauseKind::References(t) = &clause.kind
                            && same(t, &snapshot.table)
                        {
                            let (ref_columns, on_delete) = reference_details(&clause.text);
                            out.push(Incoming {
                                child: row.name.clone(),
                                columns: vec![c.name.clone()],
                                ref_columns,
                                on_delete,
                            });
                        }
                    }
                }
                Item::Constraint(k) => {
                    if k.kind == ConstraintKind::ForeignKey
                        && k.ref_table
                            .as_deref()
                            .is_some_and(|t| same(t, &snapshot.table))
                    {
                        let (ref_columns, on_delete) = reference_details(&k.text);
                        out.push(Incoming {
                            child: row.name.clone(),
                            columns: k.columns.clone(),
                            ref_columns,
                            on_delete,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The referenced columns and the `ON DELETE` action of a `… REFERENCES t (…) …` text.
fn reference_details(text: &str) -> (Vec<String>, Option<String>) {
    let toks = tokenize(text, Quotes::Standard);
    let Some(r) = toks.iter().position(|t| t.is("REFERENCES")) else {
        return (Vec::new(), None);
    };
    let mut ref_columns = Vec::new();
    if toks
        .get(r + 2)
        .is_some_and(|t| t.tok == ddl::Tok::Punct('('))
    {
        ref_columns = ddl::ident_list(&toks, r + 2);
    }
    let mut on_delete = None;
    for k in r..toks.len() {
        if toks[k].is("ON") && toks.get(k + 1).is_some_and(|t| t.is("DELETE")) {
            let words: Vec<String> = toks[k + 2..]
                .iter()
                .take(2)
                .filter_map(|t| t.ident().map(str::to_ascii_uppercase))
                .collect();
            on_delete = Some(match words.first().map(String::as_str) {
                Some("SET") | Some("NO") => words.join(" "),
                Some(w) => w.to_owned(),
                None => String::new(),
            });
        }
    }
    (ref_columns, on_delete)
}

/// Views that read `table`, directly or through other views, in creation order.
fn dependent_views(snapshot: &SqliteSnapshot) -> Vec<&MasterRow> {
    let mut names: Vec<String> = vec![snapshot.table.clone()];
    let mut out: Vec<&MasterRow> = Vec::new();
    loop {
        let before = out.len();
        for row in snapshot.master.iter().filter(|r| r.kind == "view") {
            if out.iter().any(|v| v.name == row.name) {
                continue;
            }
            if names.iter().any(|n| mentions(&row.sql, n)) {
                out.push(row);
                names.push(row.name.clone());
            }
        }
        if out.len() == before {
            break;
        }
    }
    let order = |r: &MasterRow| snapshot.master.iter().position(|m| m == r);
    out.sort_by_key(|r| order(r));
    out
}

/// Whether SQLite's `ALTER TABLE … ADD COLUMN` accepts this definition
/// (<https://www.sqlite.org/lang_altertable.html#altertabaddcol>).
fn addable(def_text: &str) -> bool {
    let Some(ct) = parse_create_table(&format!("CREATE TABLE x ({def_text})")) else {
        return false;
    };
    let Some(Item::Column(c)) = ct.items.first() else {
        return false;
    };
    if c.has(&ClauseKind::PrimaryKey) || c.has(&ClauseKind::Unique) {
        return false;
    }
    if c.clauses.iter().any(|cl| {
        cl.kind == ClauseKind::Generated && cl.text.to_ascii_uppercase().contains("STORED")
    }) {
        return false;
    }
    let default = c.default_text().map(str::trim);
    let is_null = |d: Option<&str>| d.is_none_or(|d| d.eq_ignore_ascii_case("NULL"));
    if let Some(d) = default {
        let upper = d.to_ascii_uppercase();
        if d.starts_with('(') || upper.starts_with("CURRENT_") {
            return false;
        }
    }
    if c.has(&ClauseKind::NotNull) && is_null(default) {
        return false;
    }
    let references = c
        .clauses
        .iter()
        .any(|cl| matches!(cl.kind, ClauseKind::References(_)));
    !references || is_null(default)
}

/// Applies an [`AlterColumn`] to a column definition's text.
fn apply_change(c: &mut ColumnText, change: &AlterColumn, table: &str) -> Result<(), BatchError> {
    let name = c.name.clone();
    let cannot = |what: &str, e: String| {
        BatchError::refused(
            table,
            format!("alter_column `{name}`: cannot write the {what} for SQLite: {e}"),
            "use a type or default SQLite has",
        )
    };
    if let Some(ty) = &change.type_ {
        let text = render_type(DB, ty).map_err(|e| cannot("type", e))?;
        // Keep the declared spelling when only its case differs (`INTEGER` vs `integer`).
        if !c.type_text.eq_ignore_ascii_case(&text) {
            c.type_text = text;
        }
    }
    match change.nullable {
        Some(false) => {
            c.remove(|cl| matches!(cl.kind, ClauseKind::NotNull | ClauseKind::Null));
            c.insert_front(ClauseKind::NotNull, "NOT NULL".into());
        }
        Some(true) => c.remove(|cl| cl.kind == ClauseKind::NotNull),
        None => {}
    }
    match &change.default {
        Some(Some(value)) => {
            let text = render_default(DB, value).map_err(|e| cannot("default", e))?;
            c.remove(|cl| cl.kind == ClauseKind::Default);
            let rest = text.trim_start_matches("DEFAULT").trim().to_owned();
            c.push(ClauseKind::Default, text, rest);
        }
        Some(None) => c.remove(|cl| cl.kind == ClauseKind::Default),
        None => {}
    }
    Ok(())
}

/// Replaces the table named right after `REFERENCES` in `text` with `to`.
fn retarget_reference(text: &str, to: &str) -> String {
    let toks = tokenize(text, Quotes::Standard);
    match toks
        .iter()
        .position(|t| t.is("REFERENCES"))
        .and_then(|r| toks.get(r + 1))
    {
        Some(t) => format!("{}{}{}", &text[..t.start], quote(DB, to), &text[t.end..]),
        None => text.to_owned(),
    }
}

/// Plans one step of `batch` on the table `snapshot` describes: pure, no database.
///
/// The statements include the `PRAGMA`s the rebuild needs; the executor
/// additionally checks the re-created views and runs `PRAGMA
/// foreign_key_check` afterwards, and runs [`SqlitePlan::precheck_sql`]
/// before anything.
///
/// # Errors
/// [`BatchError::Refused`] for a batch that cannot apply to this table.
pub fn plan(snapshot: &SqliteSnapshot, batch: &BatchAlter) -> Result<SqlitePlan, BatchError> {
    let table = snapshot.table.as_str();
    let parsed = parse(snapshot)?;
    let norm = normalize(&parsed.current, batch)?;
    let prechecks = plan::prechecks(&Sqlite, &parsed.current, &norm, batch.prechecks)?;
    let incoming = incoming(snapshot);
    validate(snapshot, &norm, &incoming)?;

    let rebuild = build_rebuild(snapshot, &parsed, &norm, batch.prechecks)?;
    let batch_rebuilds = rebuild.is_some();
    let mut plan = SqlitePlan {
        statements: Vec::new(),
        rebuild: false,
        batch_rebuilds,
        drops_table: rebuild.as_ref().is_some_and(|r| r.drops_table),
        views: Vec::new(),
        fk_check_tables: Vec::new(),
        incoming,
        remaining: None,
        prechecks,
    };
    let renames: Vec<String> = norm
        .renames
        .iter()
        .map(|(from, to)| {
            format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                quote(DB, table),
                quote(DB, from),
                quote(DB, to)
            )
        })
        .collect();
    if batch_rebuilds && !renames.is_empty() {
        // Step 1: the renames alone; the rest is planned on the renamed table.
        plan.statements = renames;
        plan.remaining = Some(norm.without_renames(table, batch.prechecks));
        return Ok(plan);
    }

    // Index drops first (plain indexes, and unique indexes dropped with drop_unique).
    for name in index_drops(snapshot, &parsed, &norm)? {
        plan.statements
            .push(format!("DROP INDEX {}", quote(DB, &name)));
    }
    plan.statements.extend(renames);
    match rebuild {
        Some(r) => {
            plan.rebuild = true;
            plan.statements.extend(r.statements);
            plan.views = r.views;
            plan.fk_check_tables = r.fk_check_tables;
            if let Some(rest) = r.remaining {
                // The new indexes are part of the next step.
                plan.remaining = Some(rest);
                return Ok(plan);
            }
        }
        None => {
            for name in &norm.dropped {
                plan.statements.push(format!(
                    "ALTER TABLE {} DROP COLUMN {}",
                    quote(DB, table),
                    quote(DB, name)
                ));
            }
            for (_, def) in norm.added() {
                let text = column_def(table, def)?;
                plan.statements.push(format!(
                    "ALTER TABLE {} ADD COLUMN {text}",
                    quote(DB, table)
                ));
            }
        }
    }
    for index in &norm.create_indexes {
        plan.statements.push(
            super::index::create_index_sql(table, index)
                .map_err(|e| BatchError::refused(table, e, "write the index so this backend can build it, or create it in a migration of its own"))?,
        );
    }
    Ok(plan)
}

/// Refuses a rename or drop of a column that an FTS5 table with
/// `content='<this table>'` indexes: SQLite rewrites views and triggers on
/// `RENAME COLUMN`, but an external-content FTS5 table reads the content
/// table's columns by name when it is queried, so it would fail afterwards
/// (<https://www.sqlite.org/fts5.html#external_content_tables>).
fn refuse_broken_fts(snapshot: &SqliteSnapshot, norm: &Normalized) -> Result<(), BatchError> {
    let table = snapshot.table.as_str();
    let gone = norm.vanishing();
    let mut found = Vec::new();
    for row in snapshot.master.iter().filter(|r| r.kind == "table") {
        let Some((columns, content)) = fts5_external_content(&row.sql) else {
            continue;
        };
        if !same(&content, table) {
            continue;
        }
        for (column, doing) in &gone {
            if columns.iter().any(|c| same(c, column)) {
                found.push(format!(
                    "{doing} `{column}` breaks FTS5 table `{}` (content='{table}')",
                    row.name
                ));
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(BatchError::refused(
        table,
        format!("{}: FTS5 is not rewritten by SQLite", found.join("; ")),
        "in the same migration, drop the FTS5 table (and the triggers that feed it) before the \
         batch, create them again after it with the new column names, and run \
         `INSERT INTO <fts>(<fts>) VALUES('rebuild')`",
    ))
}

/// The indexed columns and the `content=` table of an FTS5 `CREATE VIRTUAL
/// TABLE`, or `None` for any other statement.
fn fts5_external_content(sql: &str) -> Option<(Vec<String>, String)> {
    let lower = sql.to_ascii_lowercase();
    if !lower.trim_start().starts_with("create virtual table") {
        return None;
    }
    let using = lower.find(" using ")?;
    let open = using + lower[using..].find('(')?;
    if lower[using + 7..open].trim() != "fts5" {
        return None;
    }
    let close = sql.rfind(')')?;
    let unquote = |s: &str| {
        let s = s.trim();
        let inner = s
            .strip_prefix(['\'', '"', '`', '['])
            .and_then(|r| r.strip_suffix(['\'', '"', '`', ']']))
            .unwrap_or(s);
        inner.to_owned()
    };
    let (mut columns, mut content) = (Vec::new(), None);
    for arg in sql[open + 1..close].split(',') {
        match arg.split_once('=') {
            Some((key, value)) if key.trim().eq_ignore_ascii_case("content") => {
                content = Some(unquote(value));
            }
            Some(_) => {}
            None => {
                let name = arg.split_whitespace().next().unwrap_or_default();
                columns.push(unquote(name));
            }
        }
    }
    content
        .filter(|c| !c.is_empty())
        .map(|content| (columns, content))
}

/// SQLite-specific refusals, before anything runs.
fn validate(
    snapshot: &SqliteSnapshot,
    norm: &Normalized,
    incoming: &[Incoming],
) -> Result<(), BatchError> {
    let table = snapshot.table.as_str();
    refuse_broken_fts(snapshot, norm)?;
    for (from, to) in &norm.renames {
        if norm.is_dropped(to) {
            return Err(BatchError::refused(
                table,
                format!(
                    "`{from}` is renamed to `{to}`, a column this batch drops; SQLite renames before it rebuilds"
                ),
                "drop the old column in one batch and rename in a second one",
            ));
        }
    }
    let pk: Vec<String> = parse(snapshot)?.current.primary_key;
    for dropped in &norm.dropped {
        for inc in incoming {
            let refs_it = if inc.ref_columns.is_empty() {
                pk.iter().any(|p| same(p, dropped))
            } else {
                inc.ref_columns.iter().any(|c| same(c, dropped))
            };
            if refs_it {
                return Err(BatchError::refused(
                    table,
                    format!(
                        "`{}` ({}) references column `{dropped}`, which this batch drops",
                        inc.child,
                        inc.columns.join(", ")
                    ),
                    format!(
                        "drop that foreign key first (batch_alter_table on `{}`)",
                        inc.child
                    ),
                ));
            }
        }
        for row in &snapshot.master {
            let on_table = (row.kind == "trigger" && same(&row.tbl_name, table))
                || ((row.kind == "view" || row.kind == "trigger") && mentions(&row.sql, table));
            if on_table && mentions(&row.sql, dropped) {
                return Err(BatchError::refused(
                    table,
                    format!(
                        "{} `{}` uses column `{dropped}`, which this batch drops",
                        row.kind, row.name
                    ),
                    format!(
                        "drop the {} before this batch and create it again, without the column, after it",
                        row.kind
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Names of indexes to drop natively, checking that each exists.
fn index_drops(
    snapshot: &SqliteSnapshot,
    parsed: &Parsed,
    norm: &Normalized,
) -> Result<Vec<String>, BatchError> {
    let table = snapshot.table.as_str();
    let indexes: Vec<&MasterRow> = snapshot.own("index").collect();
    let mut out = Vec::new();
    for name in &norm.drop_indexes {
        match indexes.iter().find(|r| same(&r.name, name)) {
            Some(r) => out.push(r.name.clone()),
            None => {
                let is_constraint = parsed.create.items.iter().any(|i| match i {
                    Item::Constraint(k) => k.name.as_deref().is_some_and(|n| same(n, name)),
                    Item::Column(c) => c
                        .clauses
                        .iter()
                        .any(|cl| cl.name.as_deref().is_some_and(|n| same(n, name))),
                });
                let names: Vec<String> = indexes.iter().map(|r| format!("`{}`", r.name)).collect();
                return Err(BatchError::refused(
                    table,
                    format!(
                        "drop_index: no index named `{name}` on the table (it has {})",
                        if names.is_empty() {
                            "none".into()
                        } else {
                            names.join(", ")
                        }
                    ),
                    if is_constraint {
                        "it is a constraint: use drop_unique, drop_check or drop_foreign_key"
                    } else {
                        "check the index name"
                    },
                ));
            }
        }
    }
    for name in &norm.drop_uniques {
        if let Some(r) = indexes.iter().find(|r| same(&r.name, name)) {
            out.push(r.name.clone());
        }
    }
    Ok(out)
}

struct Rebuild {
    statements: Vec<String>,
    views: Vec<String>,
    fk_check_tables: Vec<String>,
    /// A copy and swap (`false`: the definition edited in place).
    drops_table: bool,
    /// What a next step makes, planned on the table as this one leaves it.
    remaining: Option<BatchAlter>,
}

/// The rebuild, or `None` when SQLite's own `ALTER TABLE` can do the batch.
fn build_rebuild(
    snapshot: &SqliteSnapshot,
    parsed: &Parsed,
    norm: &Normalized,
    prechecks: bool,
) -> Result<Option<Rebuild>, BatchError> {
    let table = snapshot.table.as_str();
    let tmp = format!("_batch_tmp_{table}");
    // With foreign keys on, a reference to the table itself must point at the
    // new table while it is built, or dropping the old one would fire its
    // actions on the new rows; the final rename points it back. With them
    // off, nothing fires and the text stays as it is.
    let self_target = tmp.as_str();
    let dropped = |name: &str| norm.is_dropped(name);
    let dropped_index = |name: &str| norm.drop_indexes.iter().any(|n| same(n, name));
    let mentions_dropped = |text: &str| norm.dropped.iter().any(|d| mentions(text, d));

    // Which constraint drops name something in the text; the others must be
    // unique indexes (dropped natively) or foreign keys given by definition.
    let mut named: Vec<(&'static str, String)> = Vec::new();
    for item in &parsed.create.items {
        match item {
            Item::Column(c) => {
                for cl in &c.clauses {
                    if let (Some(kind), Some(n)) = (clause_drop_kind(&cl.kind), &cl.name) {
                        named.push((kind, n.clone()));
                    }
                }
            }
            Item::Constraint(k) => {
                if let (Some(kind), Some(n)) = (constraint_drop_kind(k.kind), &k.name) {
                    named.push((kind, n.clone()));
                }
            }
        }
    }
    let in_text = |kind: &str, name: &str| named.iter().any(|(k, n)| *k == kind && same(n, name));
    let is_index = |name: &str| snapshot.own("index").any(|r| same(&r.name, name));
    let mut fk_by_def = Vec::new();
    for (name, def) in &norm.drop_foreign_keys {
        if in_text("fk", name) {
            continue;
        }
        match def {
            Some(def) => fk_by_def.push(def),
            None => return Err(missing(table, "foreign key", name, true)),
        }
    }
    for name in &norm.drop_uniques {
        if !in_text("unique", name) && !is_index(name) {
            return Err(missing(table, "unique constraint", name, false));
        }
    }
    for name in &norm.drop_checks {
        if !in_text("check", name) {
            return Err(missing(table, "check constraint", name, false));
        }
    }
    let drops_on = |cols: &[String]| {
        norm.drop_uniques_on
            .iter()
            .any(|on| on.len() == cols.len() && on.iter().zip(cols).all(|(a, b)| same(a, b)))
    };
    let drops = |kind: &str, name: Option<&String>| {
        let Some(name) = name else { return false };
        match kind {
            "fk" => norm.drop_foreign_keys.iter().any(|(n, _)| same(n, name)),
            "unique" => norm.drop_uniques.iter().any(|n| same(n, name)),
            _ => norm.drop_checks.iter().any(|n| same(n, name)),
        }
    };
    let fk_matches = |cols: &[String], target: Option<&str>| {
        fk_by_def.iter().any(|def| {
            target.is_some_and(|t| same(t, &def.ref_table))
                && cols.len() == def.columns.len()
                && cols.iter().zip(&def.columns).all(|(a, b)| same(a, b))
        })
    };

    let mut old_items = Vec::new();
    let mut new_items = Vec::new();
    let mut plain_drops = true;
    let mut generated: Vec<String> = Vec::new();
    for item in &parsed.create.items {
        match item {
            Item::Column(c) => {
                if c.has(&ClauseKind::Generated) {
                    generated.push(c.name.clone());
                }
                if dropped(&c.name) {
                    if c.clauses.iter().any(|cl| {
                        matches!(
                            cl.kind,
                            ClauseKind::PrimaryKey
                                | ClauseKind::Unique
                                | ClauseKind::References(_)
                                | ClauseKind::Generated
                        )
                    }) {
                        plain_drops = false;
                    }
                    continue;
                }
                old_items.push(c.render());
                let mut c = c.clone();
                let name = c.name.clone();
                c.remove(|cl| match &cl.kind {
                    ClauseKind::References(t) => {
                        drops("fk", cl.name.as_ref())
                            || fk_matches(std::slice::from_ref(&name), Some(t))
                    }
                    ClauseKind::Unique if drops_on(std::slice::from_ref(&name)) => true,
                    kind => clause_drop_kind(kind).is_some_and(|k| drops(k, cl.name.as_ref())),
                });
                if c.clauses.iter().any(|cl| {
                    matches!(cl.kind, ClauseKind::Check | ClauseKind::Generated)
                        && mentions_dropped(&cl.text)
                }) {
                    plain_drops = false;
                }
                if let Some(change) = norm
                    .columns
                    .iter()
                    .find(|f| f.source.as_deref().is_some_and(|s| same(s, &c.name)))
                    .and_then(|f| f.change.as_ref())
                {
                    apply_change(&mut c, change, table)?;
                }
                new_items.push((c.render(), self_reference(&c, table)));
            }
            Item::Constraint(k) => {
                old_items.push(k.text.clone());
                if constraint_drop_kind(k.kind).is_some_and(|kind| drops(kind, k.name.as_ref()))
                    || (k.kind == ConstraintKind::Unique && drops_on(&k.columns))
                {
                    continue;
                }
                if k.kind == ConstraintKind::ForeignKey
                    && fk_matches(&k.columns, k.ref_table.as_deref())
                {
                    continue;
                }
                let uses_dropped = match k.kind {
                    ConstraintKind::Check => mentions_dropped(&k.text),
                    _ => k.columns.iter().any(|c| dropped(c)),
                };
                if uses_dropped {
                    plain_drops = false;
                    continue;
                }
                let self_ref = k.kind == ConstraintKind::ForeignKey
                    && k.ref_table.as_deref().is_some_and(|t| same(t, table));
                new_items.push((k.text.clone(), self_ref));
            }
        }
    }
    // Before additions: did the kept items' text change?
    let text_changed = !new_items.iter().map(|(t, _)| t).eq(old_items.iter())
        || !norm.add_foreign_keys.is_empty()
        || !norm.add_uniques.is_empty()
        || !norm.add_checks.is_empty();
    let columns_end = new_items
        .iter()
        .rposition(|(text, _)| !is_constraint_text(text))
        .map_or(0, |i| i + 1);
    let mut added_all_addable = true;
    let mut added = Vec::new();
    for (_, def) in norm.added() {
        let text = column_def(table, def)?;
        added_all_addable &= addable(&text);
        added.push((text, false));
    }
    new_items.splice(columns_end..columns_end, added);
    for fk in &norm.add_foreign_keys {
        let self_ref = same(&fk.ref_table, table);
        new_items.push((
            format!(
                "CONSTRAINT {} {}",
                quote(DB, &fk.name),
                fk.clause(DB, &fk.ref_table)
            ),
            self_ref,
        ));
    }
    for (name, cols) in &norm.add_uniques {
        new_items.push((
            format!(
                "CONSTRAINT {} UNIQUE ({})",
                quote(DB, name),
                cols.iter()
                    .map(|c| quote(DB, c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            false,
        ));
    }
    for (name, expr) in &norm.add_checks {
        new_items.push((
            format!("CONSTRAINT {} CHECK ({expr})", quote(DB, name)),
            false,
        ));
    }

    // The copy: each surviving column from its old value.
    let mut copy_cols = Vec::new();
    let mut copy_exprs = Vec::new();
    let mut converts = false;
    for fc in &norm.columns {
        let Some(src) = &fc.source else { continue };
        if generated.iter().any(|g| same(g, src)) {
            continue;
        }
        let mut expr = plan::source_expr(DB, table, src, fc.change.as_ref())?;
        if let Some(change) = &fc.change
            && let (Some(ty), None) = (&change.type_, &change.using)
            && let Some(before) = parsed.current.columns.iter().find(|c| same(&c.name, src))
        {
            let decl = render_type(DB, ty).unwrap_or_default();
            if affinity(&decl) != affinity(&before.decl) {
                expr = format!("CAST({expr} AS {decl})");
            }
        }
        converts |= expr != quote(DB, src);
        copy_cols.push(quote(DB, &fc.name));
        copy_exprs.push(expr);
    }
    if copy_cols.is_empty() {
        return Err(BatchError::refused(
            table,
            "the batch drops every original column".to_owned(),
            "create a new table instead",
        ));
    }

    let drops_native = plain_drops
        && norm.dropped.iter().all(|d| {
            !snapshot
                .own("index")
                .any(|r| mentions(&r.sql, d) && !dropped_index(&r.name))
        });
    if !text_changed && !converts && drops_native && added_all_addable {
        return Ok(None);
    }
    if let Some(version) = snapshot.schema_version
        && in_place(snapshot, parsed, norm, converts, prechecks)
    {
        if norm.dropped.is_empty() && norm.added().next().is_none() {
            return Ok(Some(edit_in_place(
                snapshot, parsed, norm, &new_items, version,
            )));
        }
        if drops_and_adds_natively(snapshot, parsed, norm) && added_all_addable {
            return Ok(Some(staged(snapshot, parsed, norm, prechecks, version)?));
        }
    }
    if snapshot.master.iter().any(|r| same(&r.name, &tmp)) {
        return Err(BatchError::refused(
            table,
            format!(
                "a table named `{tmp}` exists (left over by a batch run outside a transaction?)"
            ),
            format!("drop `{tmp}` after checking that it holds nothing you need"),
        ));
    }

    let items: Vec<String> = new_items
        .into_iter()
        .map(|(text, self_ref)| {
            if self_ref && snapshot.foreign_keys {
                retarget_reference(&text, self_target)
            } else {
                text
            }
        })
        .collect();
    let mut s = Vec::new();
    if snapshot.foreign_keys {
        s.push("PRAGMA defer_foreign_keys = ON".to_owned());
    }
    let views = dependent_views(snapshot);
    for v in views.iter().rev() {
        s.push(format!("DROP VIEW {}", quote(DB, &v.name)));
    }
    let options = if parsed.create.options.is_empty() {
        String::new()
    } else {
        format!(" {}", parsed.create.options)
    };
    s.push(format!(
        "CREATE TABLE {} ( {} ){options}",
        quote(DB, &tmp),
        items.join(", ")
    ));
    s.push(format!(
        "INSERT INTO {} ({}) SELECT {} FROM {}",
        quote(DB, &tmp),
        copy_cols.join(", "),
        copy_exprs.join(", "),
        quote(DB, table)
    ));
    s.push(format!("DROP TABLE {}", quote(DB, table)));
    if !snapshot.legacy_alter_table {
        s.push("PRAGMA legacy_alter_table = ON".to_owned());
    }
    s.push(format!(
        "ALTER TABLE {} RENAME TO {}",
        quote(DB, &tmp),
        quote(DB, table)
    ));
    if !snapshot.legacy_alter_table {
        s.push("PRAGMA legacy_alter_table = OFF".to_owned());
    }
    for index in snapshot.own("index") {
        let dropped_here = norm
            .drop_indexes
            .iter()
            .chain(&norm.drop_uniques)
            .any(|n| same(n, &index.name));
        if !dropped_here && !mentions_dropped(&index.sql) {
            s.push(index.sql.clone());
        }
    }
    if let Some(seq) = snapshot.sequence
        && items.iter().any(|i| {
            tokenize(i, Quotes::Standard)
                .iter()
                .any(|t| t.is("AUTOINCREMENT"))
        })
    {
        // Dropping the old table dropped its sqlite_sequence row; the copy
        // only knows the highest id left, not the highest ever handed out.
        let name = ddl::literal(DB, table);
        s.push(format!(
            "UPDATE sqlite_sequence SET seq = MAX(seq, {seq}) WHERE name = {name}"
        ));
        s.push(format!(
            "INSERT INTO sqlite_sequence (name, seq) SELECT {name}, {seq} WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = {name})"
        ));
    }
    for trigger in snapshot.own("trigger") {
        s.push(trigger.sql.clone());
    }
    for v in &views {
        s.push(v.sql.clone());
    }
    let mut fk_check_tables = vec![table.to_owned()];
    for inc in incoming(snapshot) {
        if !fk_check_tables.iter().any(|t| same(t, &inc.child)) {
            fk_check_tables.push(inc.child);
        }
    }
    Ok(Some(Rebuild {
        statements: s,
        views: views.iter().map(|v| v.name.clone()).collect(),
        fk_check_tables,
        drops_table: true,
        remaining: None,
    }))
}

/// Whether the batch's changes to existing columns and constraints are
/// ones SQLite keeps in the `CREATE TABLE` text and nowhere on disk, so the
/// definition can be edited in place (the "simpler procedure" of
/// <https://www.sqlite.org/lang_altertable.html#otheralter>) instead of
/// copying the table: foreign keys added, dropped or with new rules (added
/// ones are verified with `PRAGMA foreign_key_check` afterwards), checks
/// dropped, NOT NULL dropped, defaults set or dropped, a type changed to one
/// of the same affinity (stored values stay as they are), and, when the
/// pre-checks ran (they count the rows that would break them), NOT NULL and
/// checks added. No table is dropped, so none of the `ON DELETE` actions of
/// the tables referencing this one fire: it works inside the migration's
/// transaction with rows everywhere. A type of another affinity (values are
/// converted), a unique constraint in the table's text (its index is on
/// disk) and NULLs filled with a default (values change) still rebuild.
fn in_place(
    snapshot: &SqliteSnapshot,
    parsed: &Parsed,
    norm: &Normalized,
    converts: bool,
    prechecks: bool,
) -> bool {
    let is_index = |name: &String| snapshot.own("index").any(|r| same(&r.name, name));
    let same_affinity = |src: &str, ty: &sea_orm::sea_query::ColumnType| {
        let before = parsed.current.columns.iter().find(|c| same(&c.name, src));
        let decl = render_type(DB, ty).unwrap_or_default();
        before.is_some_and(|b| affinity(&b.decl) == affinity(&decl))
    };
    !converts
        && norm.add_uniques.is_empty()
        && norm.drop_uniques.iter().all(is_index)
        && norm.drop_uniques_on.is_empty()
        && (prechecks || norm.add_checks.is_empty())
        && norm.columns.iter().all(|fc| {
            let (Some(src), Some(ch)) = (&fc.source, &fc.change) else {
                return true;
            };
            ch.using.is_none()
                && (prechecks || ch.nullable != Some(false))
                && ch.type_.as_ref().is_none_or(|ty| same_affinity(src, ty))
        })
}

/// Whether SQLite's own `DROP COLUMN` and `ADD COLUMN` can make the batch's
/// column drops and additions once the constraints naming a dropped column
/// are gone from the text: no dropped column is in the primary key, a
/// unique constraint or a generated column, or an index the batch keeps.
fn drops_and_adds_natively(snapshot: &SqliteSnapshot, parsed: &Parsed, norm: &Normalized) -> bool {
    let dropped = |name: &str| norm.is_dropped(name);
    let dropped_index = |name: &str| norm.drop_indexes.iter().any(|n| same(n, name));
    parsed.create.items.iter().all(|item| match item {
        Item::Column(c) if dropped(&c.name) => !c.clauses.iter().any(|cl| {
            matches!(
                cl.kind,
                ClauseKind::PrimaryKey | ClauseKind::Unique | ClauseKind::Generated
            )
        }),
        Item::Column(c) => !c.clauses.iter().any(|cl| {
            cl.kind == ClauseKind::Generated && norm.dropped.iter().any(|d| mentions(&cl.text, d))
        }),
        Item::Constraint(k) => {
            !matches!(k.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique)
                || !k.columns.iter().any(|c| dropped(c))
        }
    }) && norm.dropped.iter().all(|d| {
        !snapshot
            .own("index")
            .any(|r| mentions(&r.sql, d) && !dropped_index(&r.name))
    })
}

/// A batch that drops or adds columns besides in-place changes, in two
/// steps: first the foreign keys and checks that name a dropped column are
/// edited out of the text (SQLite's `DROP COLUMN` refuses a column they
/// use), then SQLite's own `DROP COLUMN`s and `ADD COLUMN`s; the rest of
/// the batch (constraints, column changes, new indexes) is planned again on
/// the table as that leaves it, as an in-place edit.
fn staged(
    snapshot: &SqliteSnapshot,
    parsed: &Parsed,
    norm: &Normalized,
    prechecks: bool,
    version: i64,
) -> Result<Rebuild, BatchError> {
    let table = snapshot.table.as_str();
    let t = quote(DB, table);
    let mentions_dropped = |text: &str| norm.dropped.iter().any(|d| mentions(text, d));
    // The constraints that go with the dropped columns, and their names.
    let mut gone: Vec<String> = Vec::new();
    let mut items = Vec::new();
    let mut old_items = Vec::new();
    for item in &parsed.create.items {
        match item {
            Item::Column(c) => {
                old_items.push(c.render());
                let mut c = c.clone();
                let dropped = norm.is_dropped(&c.name);
                for cl in &c.clauses {
                    let goes = match cl.kind {
                        ClauseKind::References(_) => dropped,
                        ClauseKind::Check => dropped || mentions_dropped(&cl.text),
                        _ => false,
                    };
                    if goes {
                        gone.extend(cl.name.clone());
                    }
                }
                c.remove(|cl| match cl.kind {
                    ClauseKind::References(_) => dropped,
                    ClauseKind::Check => dropped || mentions_dropped(&cl.text),
                    _ => false,
                });
                items.push((c.render(), false));
            }
            Item::Constraint(k) => {
                old_items.push(k.text.clone());
                let goes = match k.kind {
                    ConstraintKind::Check => mentions_dropped(&k.text),
                    ConstraintKind::ForeignKey => k.columns.iter().any(|c| norm.is_dropped(c)),
                    _ => false,
                };
                if goes {
                    gone.extend(k.name.clone());
                } else {
                    items.push((k.text.clone(), false));
                }
            }
        }
    }
    let mut statements = Vec::new();
    if !items.iter().map(|(t, _)| t).eq(old_items.iter()) {
        statements = edit_in_place(snapshot, parsed, norm, &items, version).statements;
    }
    for name in &norm.dropped {
        statements.push(format!("ALTER TABLE {t} DROP COLUMN {}", quote(DB, name)));
    }
    for (_, def) in norm.added() {
        let text = column_def(table, def)?;
        statements.push(format!("ALTER TABLE {t} ADD COLUMN {text}"));
    }
    // What is left: everything but the drops and additions, the
    // constraints that went with the dropped columns, and the indexes this
    // step drops natively first (`index_drops`).
    let mut rest = norm.without_renames(table, prechecks);
    let named_gone = |name: &String| gone.iter().any(|g| same(g, name));
    let is_index = |name: &String| snapshot.own("index").any(|r| same(&r.name, name));
    rest.ops.retain(|op| match op {
        Op::DropColumn { .. } | Op::AddColumn(_) | Op::DropIndex { .. } => false,
        Op::DropUnique { name, .. } => !is_index(name),
        Op::DropForeignKey { name, def } => {
            !named_gone(name)
                && !def
                    .as_ref()
                    .is_some_and(|d| d.columns.iter().any(|c| norm.is_dropped(c)))
        }
        Op::DropCheck { name, .. } => !named_gone(name),
        _ => true,
    });
    Ok(Rebuild {
        statements,
        views: Vec::new(),
        fk_check_tables: Vec::new(),
        drops_table: false,
        remaining: Some(rest),
    })
}

/// The in-place edit of the table's definition (see [`in_place`]):
/// the new text is first parsed by SQLite as a temporary table (a syntax
/// error in `sqlite_master` would make the database unreadable), then
/// written with `PRAGMA writable_schema`, and the schema version bumped so
/// that every connection reloads it.
fn edit_in_place(
    snapshot: &SqliteSnapshot,
    parsed: &Parsed,
    norm: &Normalized,
    new_items: &[(String, bool)],
    version: i64,
) -> Rebuild {
    let table = snapshot.table.as_str();
    let body = new_items
        .iter()
        .map(|(text, _)| text.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let options = if parsed.create.options.is_empty() {
        String::new()
    } else {
        format!(" {}", parsed.create.options)
    };
    let check = quote(DB, &format!("_batch_check_{table}"));
    let sql = format!("CREATE TABLE {} ( {body} ){options}", quote(DB, table));
    let statements = vec![
        format!("CREATE TEMP TABLE {check} ( {body} ){options}"),
        format!("DROP TABLE temp.{check}"),
        "PRAGMA writable_schema = ON".to_owned(),
        format!(
            "UPDATE sqlite_master SET sql = {} WHERE type = 'table' AND name = {}",
            ddl::literal(DB, &sql),
            ddl::literal(DB, table)
        ),
        format!("PRAGMA schema_version = {}", version + 1),
        "PRAGMA writable_schema = OFF".to_owned(),
    ];
    Rebuild {
        statements,
        views: Vec::new(),
        fk_check_tables: if norm.add_foreign_keys.is_empty() {
            Vec::new()
        } else {
            vec![table.to_owned()]
        },
        drops_table: false,
        remaining: None,
    }
}

/// Whether a body item's text is a table constraint.
fn is_constraint_text(text: &str) -> bool {
    matches!(
        parse_create_table(&format!("CREATE TABLE x ({text})"))
            .and_then(|ct| ct.items.into_iter().next()),
        Some(Item::Constraint(_))
    )
}

/// Whether a column definition references its own table.
fn self_reference(c: &ColumnText, table: &str) -> bool {
    c.clauses
        .iter()
        .any(|cl| matches!(&cl.kind, ClauseKind::References(t) if same(t, table)))
}

fn clause_drop_kind(kind: &ClauseKind) -> Option<&'static str> {
    match kind {
        ClauseKind::References(_) => Some("fk"),
        ClauseKind::Unique => Some("unique"),
        ClauseKind::Check => Some("check"),
        _ => None,
    }
}

fn constraint_drop_kind(kind: ConstraintKind) -> Option<&'static str> {
    match kind {
        ConstraintKind::ForeignKey => Some("fk"),
        ConstraintKind::Unique => Some("unique"),
        ConstraintKind::Check => Some("check"),
        _ => None,
    }
}

fn missing(table: &str, what: &str, name: &str, fk: bool) -> BatchError {
    BatchError::refused(
        table,
        format!("there is no {what} named `{name}` in the table's definition"),
        if fk {
            "SQLite keeps no name for a foreign key created without CONSTRAINT <name> (sea-query writes none): use drop_foreign_key_def(ForeignKeySpec::new(name, columns, ref_table, ref_columns)), which finds it by its columns"
        } else {
            "check the name (see the CREATE TABLE text in sqlite_master)"
        },
    )
}

/// A connection of its own, with foreign keys off, on the same database.
async fn fk_off_connection(db: &DatabaseConnection) -> Result<DatabaseConnection, DbErr> {
    let options = db.get_sqlite_connection_pool().connect_options();
    let options = (*options).clone().foreign_keys(false);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| DbErr::Custom(format!("opening a connection with foreign keys off: {e}")))?;
    Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

async fn exec(txn: &DatabaseTransaction, table: &str, sql: &str) -> Result<(), BatchError> {
    txn.execute_unprepared(sql)
        .await
        .map(|_| ())
        .map_err(BatchError::failed(
            table,
            format!("running `{sql}`"),
            ROLLED_BACK,
        ))
}

/// Runs the whole batch (all its steps) in `txn`.
async fn apply(txn: &DatabaseTransaction, batch: &BatchAlter) -> Result<(), BatchError> {
    let table = batch.table.clone();
    let mut batch = batch.clone();
    let mut first = true;
    loop {
        let snapshot =
            SqliteSnapshot::read(txn, &batch.table)
                .await
                .map_err(BatchError::failed(
                    &table,
                    "reading the table definition",
                    UNCHANGED,
                ))?;
        let plan = plan(&snapshot, &batch)?;
        if first {
            plan::run_prechecks(txn, &table, &plan.prechecks).await?;
            first = false;
        }
        if plan.drops_table && snapshot.foreign_keys {
            refuse_destructive_children(txn, &table, &plan.incoming).await?;
        }
        for sql in &plan.statements {
            exec(txn, &table, sql).await?;
        }
        if plan.rebuild {
            verify(txn, &snapshot, &plan).await?;
        }
        match plan.remaining {
            Some(rest) => batch = rest,
            None => return Ok(()),
        }
    }
}

/// Refuses when dropping the old table would fire another table's ON DELETE
/// action on rows that exist.
async fn refuse_destructive_children(
    txn: &DatabaseTransaction,
    table: &str,
    incoming: &[Incoming],
) -> Result<(), BatchError> {
    for inc in incoming.iter().filter(|i| i.destructive()) {
        let cond = inc
            .columns
            .iter()
            .map(|c| format!("{} IS NOT NULL", quote(DB, c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE {cond})",
            quote(DB, &inc.child)
        );
        let row = txn
            .query_one_raw(Statement::from_string(DB, sql.clone()))
            .await
            .map_err(BatchError::failed(
                table,
                format!("running `{sql}`"),
                UNCHANGED,
            ))?;
        let has_rows = row
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()
            .map_err(BatchError::failed(
                table,
                format!("reading `{sql}`"),
                UNCHANGED,
            ))?
            .unwrap_or(0)
            != 0;
        if has_rows {
            return Err(BatchError::refused(
                table,
                format!(
                    "the rebuild would drop the old `{table}`, and `{}` references it with ON DELETE {} from rows that exist: SQLite would apply that action to them, and foreign keys cannot be switched off inside the migration's transaction (https://www.sqlite.org/foreignkeys.html#fk_enable)",
                    inc.child,
                    inc.on_delete.as_deref().unwrap_or_default()
                ),
                "give this migration `fn use_transaction(&self) -> Option<bool> { Some(false) }`: batch_alter_table then rebuilds in a transaction of its own with foreign keys off, as https://www.sqlite.org/lang_altertable.html#otheralter prescribes",
            ));
        }
    }
    Ok(())
}

/// After a rebuild: the re-created views must compile, and no foreign key may be broken.
async fn verify(
    txn: &DatabaseTransaction,
    snapshot: &SqliteSnapshot,
    plan: &SqlitePlan,
) -> Result<(), BatchError> {
    let table = snapshot.table.as_str();
    for view in &plan.views {
        let sql = format!("SELECT * FROM {} LIMIT 0", quote(DB, view));
        txn.query_all_raw(Statement::from_string(DB, sql))
            .await
            .map_err(BatchError::failed(
                table,
                format!("checking view `{view}` after the rebuild"),
                ROLLED_BACK,
            ))?;
    }
    let mut checks: Vec<String> = plan
        .fk_check_tables
        .iter()
        .map(|t| format!("PRAGMA foreign_key_check({})", quote(DB, t)))
        .collect();
    if snapshot.defer_foreign_keys {
        // Switching the pragma off below also forgets violations counted before
        // the batch, so check the whole database, not just these tables.
        checks = vec!["PRAGMA foreign_key_check".to_owned()];
    }
    for sql in checks {
        let rows = txn
            .query_all_raw(Statement::from_string(DB, sql.clone()))
            .await
            .map_err(BatchError::failed(
                table,
                format!("running `{sql}`"),
                ROLLED_BACK,
            ))?;
        if !rows.is_empty() {
            let mut found = Vec::new();
            for row in rows.iter().take(5) {
                let child: String = row.try_get_by_index(0).unwrap_or_default();
                let rowid: Option<i64> = row.try_get_by_index(1).unwrap_or_default();
                let parent: String = row.try_get_by_index(2).unwrap_or_default();
                found.push(format!(
                    "{child} rowid {} -> {parent}",
                    rowid.map_or("?".into(), |r| r.to_string())
                ));
            }
            return Err(BatchError::Failed {
                table: table.to_owned(),
                step: "checking foreign keys after the rebuild".into(),
                source: Box::new(DbErr::Custom(format!(
                    "{} row(s) violate a foreign key, e.g. {}",
                    rows.len(),
                    found.join(", ")
                ))),
                state: ROLLED_BACK.into(),
            });
        }
    }
    if snapshot.foreign_keys {
        // Clears the count of references the DROP TABLE deferred (all of them
        // satisfied again, as foreign_key_check just showed).
        exec(txn, table, "PRAGMA defer_foreign_keys = OFF").await?;
        if snapshot.defer_foreign_keys {
            exec(txn, table, "PRAGMA defer_foreign_keys = ON").await?;
        }
    }
    Ok(())
}

async fn finish(
    txn: DatabaseTransaction,
    table: &str,
    result: Result<(), BatchError>,
) -> Result<(), BatchError> {
    match result {
        Ok(()) => txn
            .commit()
            .await
            .map_err(BatchError::failed(table, "committing", ROLLED_BACK)),
        Err(e) => {
            let _ = txn.rollback().await;
            Err(e)
        }
    }
}

/// Offline: SQLite's own `ALTER TABLE` where the batch declares only what it
/// can do (renames, column drops and additions it accepts, indexes). A
/// rebuild writes the new table from the current `CREATE TABLE` text, which
/// needs the live table: it becomes a marked comment naming the declared
/// operations (with their final column names: the renames run first, as
/// online), and the column drops and additions it would make are declared
/// for the lint.
pub(super) async fn apply_offline(
    conn: &DatabaseExecutor<'_>,
    batch: &BatchAlter,
    script: &crate::offline::Script,
) -> Result<(), BatchError> {
    if let Some(shadow) = script.shadow().await {
        return offline_on_shadow(conn, &shadow, batch, script).await;
    }
    let table = batch.table.as_str();
    let t = quote(DB, table);
    let out = Offline::new(conn, script, batch);
    let norm = normalize(&declared_table(batch, DB), batch)?;
    for (from, to) in &norm.renames {
        if norm.is_dropped(to) {
            return Err(BatchError::refused(
                table,
                format!(
                    "`{from}` is renamed to `{to}`, a column this batch drops; SQLite renames before it rebuilds"
                ),
                "drop the old column in one batch and rename in a second one",
            ));
        }
    }
    let mut added = Vec::new();
    for (_, def) in norm.added() {
        added.push(column_def(table, def)?);
    }
    let rebuilds = norm.altered().next().is_some()
        || !added.iter().all(|text| addable(text))
        || !norm.drop_foreign_keys.is_empty()
        || !norm.drop_uniques_on.is_empty()
        || !norm.drop_checks.is_empty()
        || !norm.add_foreign_keys.is_empty()
        || !norm.add_uniques.is_empty()
        || !norm.add_checks.is_empty();
    let index_sql = |index: &crate::batch::IndexSpec| {
        super::index::create_index_sql(table, index)
            .map_err(|e| BatchError::refused(table, e, "write the index so this backend can build it, or create it in a migration of its own"))
    };
    for name in &norm.drop_indexes {
        out.exec(&format!("DROP INDEX {}", quote(DB, name))).await?;
    }
    if !norm.drop_uniques.is_empty() {
        // What migrations create is a unique index (CREATE UNIQUE INDEX); a
        // UNIQUE constraint of that name in the CREATE TABLE text has no
        // index of that name, so DROP INDEX fails and the script stops there.
        out.note(
            "this script drops each unique by name as an index; online, a UNIQUE constraint of \
             that name in the table's definition is removed by a rebuild instead (the script \
             stops at DROP INDEX then)",
        );
    }
    for name in &norm.drop_uniques {
        out.exec(&format!("DROP INDEX {}", quote(DB, name))).await?;
    }
    for (from, to) in &norm.renames {
        out.exec(&format!(
            "ALTER TABLE {t} RENAME COLUMN {} TO {}",
            quote(DB, from),
            quote(DB, to)
        ))
        .await?;
    }
    if !rebuilds {
        if !norm.dropped.is_empty() {
            out.note(
                "SQLite's DROP COLUMN refuses a column that an index, key, constraint, view or \
                 trigger uses; online, batch alter rebuilds the table then (this script stops there)",
            );
        }
        for name in &norm.dropped {
            out.exec(&format!("ALTER TABLE {t} DROP COLUMN {}", quote(DB, name)))
                .await?;
        }
        for text in &added {
            out.exec(&format!("ALTER TABLE {t} ADD COLUMN {text}"))
                .await?;
        }
        for index in &norm.create_indexes {
            out.exec(&index_sql(index)?).await?;
        }
        return Ok(());
    }
    // An index on columns that exist before the rebuild can be created after
    // it natively; one on a column the rebuild adds is part of the rebuild.
    let is_added = |c: &String| norm.added().any(|(f, _)| same(&f.name, c));
    let (native, rebuilt): (Vec<_>, Vec<_>) = norm
        .create_indexes
        .iter()
        .partition(|index| !index.columns.iter().any(is_added));
    let rest = norm.without_renames(table, batch.prechecks);
    let described: Vec<String> = rest
        .ops
        .iter()
        .filter(|op| match op {
            Op::DropIndex { .. } => false,
            Op::CreateIndex(index) => rebuilt.iter().any(|r| same(&r.name, &index.name)),
            _ => true,
        })
        .map(|op| describe(DB, op))
        .collect();
    let declared = norm
        .dropped
        .iter()
        .map(|name| format!("ALTER TABLE {t} DROP COLUMN {}", quote(DB, name)))
        .chain(
            added
                .iter()
                .map(|text| format!("ALTER TABLE {t} ADD COLUMN {text}")),
        )
        .collect();
    out.unrenderable(
        &format!(
            "the table rebuild ({}) needs the live table: SQLite's ALTER TABLE cannot do it, and the new \
             table is written from the current CREATE TABLE text, its indexes, triggers and views \
             re-created from sqlite_master; run this revision online, or review its code",
            described.join("; ")
        ),
        declared,
    );
    for index in native {
        out.exec(&index_sql(index)?).await?;
    }
    Ok(())
}

/// Offline with the in-memory copy of the schema the history builds
/// (`Script::shadow`): the batch is planned on that copy's table exactly as
/// online, rebuild included, and its statements are the script's. What the
/// copy cannot know is said: it has no rows (the pre-checks become a
/// comment to run first), and the script must not edit `sqlite_master`
/// (the definition is rebuilt instead of edited in place).
async fn offline_on_shadow(
    conn: &DatabaseExecutor<'_>,
    shadow: &DatabaseConnection,
    batch: &BatchAlter,
    script: &crate::offline::Script,
) -> Result<(), BatchError> {
    let table = batch.table.clone();
    let out = Offline::new(conn, script, batch);
    out.note(
        "the table's definition is the one these migrations build (replayed in memory): \
         this script assumes a database built by them",
    );
    let mut batch = batch.clone();
    let mut first = true;
    loop {
        let mut snapshot =
            SqliteSnapshot::read(shadow, &batch.table)
                .await
                .map_err(BatchError::failed(
                    &table,
                    "reading the table definition from the in-memory copy",
                    "nothing was changed (offline)",
                ))?;
        // A script never writes sqlite_master: its schema_version is unknown.
        snapshot.schema_version = None;
        let plan = plan(&snapshot, &batch)?;
        if first {
            out.precheck_queries(&plan.prechecks);
            first = false;
        }
        if plan.drops_table && plan.incoming.iter().any(Incoming::destructive) {
            out.note(
                "this rebuild drops the table while others reference it with ON DELETE \
                 CASCADE/SET NULL/SET DEFAULT: run the script with foreign keys off \
                 (sqlite3's default), or their rows are changed; online, the batch is refused \
                 when such rows exist",
            );
        }
        for sql in &plan.statements {
            out.exec(sql).await?;
        }
        if script.shadow().await.is_none() {
            out.unrenderable(
                "the in-memory copy of the schema could not follow this batch; the rest of \
                 the script does not use it",
                Vec::new(),
            );
            return Ok(());
        }
        match plan.remaining {
            Some(rest) => batch = rest,
            None => return Ok(()),
        }
    }
}

/// Applies `batch` on `conn` (see `Backend::run_batch`).
pub(super) async fn run(conn: &DatabaseExecutor<'_>, batch: &BatchAlter) -> Result<(), BatchError> {
    let table = batch.table.as_str();
    match conn {
        DatabaseExecutor::Connection(db) => {
            // No migration transaction: a transaction of our own, on a
            // connection with foreign keys off (the documented procedure).
            let own = fk_off_connection(db).await.map_err(BatchError::failed(
                table,
                "opening a connection",
                UNCHANGED,
            ))?;
            let txn = own.begin().await.map_err(BatchError::failed(
                table,
                "starting a transaction",
                UNCHANGED,
            ))?;
            let result = apply(&txn, batch).await;
            let result = finish(txn, table, result).await;
            let _ = own.close().await;
            result
        }
        _ => {
            // Inside the migration's transaction: a savepoint, so that a
            // failure also undoes this batch's part if the caller goes on.
            let txn = conn.begin().await.map_err(BatchError::failed(
                table,
                "starting a savepoint",
                UNCHANGED,
            ))?;
            let result = apply(&txn, batch).await;
            finish(txn, table, result).await
        }
    }
}

/// See `Backend::unconvertible`.
pub(super) fn unconvertible(
    expr: &str,
    _from: &ColType,
    from_decl: &str,
    to: &ColType,
    to_decl: &str,
) -> Option<String> {
    let target = affinity(to_decl);
    if target == affinity(from_decl) {
        // Same affinity: the value is copied as it is, nothing converts.
        return None;
    }
    // A value converts losslessly when SQLite's NUMERIC affinity (applied
    // by the comparison) turns it into the same number CAST makes of it.
    let numeric =
        format!("(typeof({expr}) IN ('integer', 'real') OR CAST({expr} AS NUMERIC) = {expr})");
    match target {
        "INTEGER" => Some(format!(
            "{expr} IS NOT NULL AND NOT ({numeric} AND CAST(CAST({expr} AS NUMERIC) AS INTEGER) = CAST({expr} AS NUMERIC))"
        )),
        "REAL" => Some(format!("{expr} IS NOT NULL AND NOT {numeric}")),
        "NUMERIC" if *to == ColType::Bool => Some(format!(
            "{expr} IS NOT NULL AND NOT ({numeric} AND CAST({expr} AS NUMERIC) IN (0, 1))"
        )),
        "NUMERIC"
            if matches!(
                to,
                ColType::Decimal(_) | ColType::SmallInt | ColType::Int | ColType::BigInt
            ) =>
        {
            Some(format!("{expr} IS NOT NULL AND NOT {numeric}"))
        }
        _ => None,
    }
}

/// `def` written for SQLite, or the batch refused for a type SQLite cannot write.
fn column_def(table: &str, def: &sea_orm::sea_query::ColumnDef) -> Result<String, BatchError> {
    render_column_def(DB, def).map_err(|e| {
        BatchError::refused(
            table,
            format!(
                "cannot write column `{}` for SQLite: {e}",
                def.get_column_name()
            ),
            "use a type SQLite has",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_external_content_tables() {
        assert_eq!(
            fts5_external_content(
                "CREATE VIRTUAL TABLE docs_fts USING fts5(title, body UNINDEXED, content='docs', content_rowid='id')"
            ),
            Some((vec!["title".into(), "body".into()], "docs".into()))
        );
        assert_eq!(
            fts5_external_content("CREATE VIRTUAL TABLE f USING fts5(a, b)"),
            None
        );
        assert_eq!(
            fts5_external_content("CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT)"),
            None
        );
    }

    #[test]
    fn affinities() {
        assert_eq!(affinity("integer"), "INTEGER");
        assert_eq!(affinity("bigint"), "INTEGER");
        assert_eq!(affinity("varchar(20)"), "TEXT");
        assert_eq!(affinity("timestamp_with_timezone_text"), "TEXT");
        assert_eq!(affinity("real(10, 2)"), "REAL");
        assert_eq!(affinity("boolean"), "NUMERIC");
        assert_eq!(affinity(""), "BLOB");
    }

    #[test]
    fn reference_details_read_actions() {
        assert_eq!(
            reference_details("REFERENCES \"p\" (\"id\") ON UPDATE CASCADE ON DELETE SET NULL"),
            (vec!["id".to_string()], Some("SET NULL".to_string()))
        );
        assert_eq!(reference_details("REFERENCES p"), (vec![], None));
    }

    #[test]
    fn addable_columns() {
        assert!(addable("\"flag\" boolean NOT NULL DEFAULT FALSE"));
        assert!(addable("\"n\" text"));
        assert!(!addable("\"n\" text NOT NULL"));
        assert!(!addable(
            "\"at\" timestamp_text NOT NULL DEFAULT CURRENT_TIMESTAMP"
        ));
        assert!(!addable("\"u\" text UNIQUE"));
    }
}
