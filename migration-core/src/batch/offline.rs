//! Batch alter in offline SQL (`up --sql`, the lint): statements rendered from what the batch declares, without the live table.
//!
//! Online, a batch reads the table first (reflection, `SHOW CREATE TABLE`,
//! `sqlite_master`) and plans on what it finds. Offline there is no table, so
//! each backend plans on [`declared_table`], the table as far as the batch's
//! own operations describe it, and writes through [`Offline`]:
//!
//! * statements that do not depend on the live table are executed on the
//!   recording connection, so they land in the script in order;
//! * a piece that does depend on it becomes a marked `-- OFFLINE:` comment
//!   that names the declared operations and says why (the command counts
//!   these), and the statements those operations stand for are recorded for
//!   the lint ([`Script::declared`]), so a column dropped inside a SQLite
//!   rebuild is still reported;
//! * assumptions under which the script is exact, and which the database
//!   itself enforces by failing the script, are plain comments, as are the
//!   pre-check queries the online batch would run first.

use super::ddl::{render_column_def, render_expr, render_type, same};
use super::plan::{CurrentColumn, CurrentTable, Normalized, Precheck, projection_known};
use super::{AlterColumn, BatchAlter, BatchError, Op};
use crate::offline::Script;
use crate::schema::ColType;
use sea_orm::sea_query::ColumnType;
use sea_orm::{ConnectionTrait, DatabaseExecutor, DbBackend};

/// Writes one batch's part of the offline script.
pub(crate) struct Offline<'a, 'c> {
    conn: &'a DatabaseExecutor<'c>,
    script: &'a Script,
    table: &'a str,
}

impl<'a, 'c> Offline<'a, 'c> {
    /// A writer for `batch` on the recording connection `conn`.
    pub fn new(conn: &'a DatabaseExecutor<'c>, script: &'a Script, batch: &'a BatchAlter) -> Self {
        Offline {
            conn,
            script,
            table: &batch.table,
        }
    }

    /// A statement of the script (recorded by the connection, in order).
    pub async fn exec(&self, sql: &str) -> Result<(), BatchError> {
        self.conn
            .execute_unprepared(sql)
            .await
            .map(|_| ())
            .map_err(BatchError::failed(
                self.table,
                format!("recording `{sql}`"),
                "nothing was changed (offline)",
            ))
    }

    /// A plain comment about the batch.
    pub fn note(&self, text: &str) {
        self.script
            .comment(wrap(&format!("batch alter of `{}`: {text}", self.table)));
    }

    /// A part that needs the live table: a marked, counted comment, and the
    /// statements its operations stand for, for the lint.
    pub fn unrenderable(&self, why: &str, declared: Vec<String>) {
        self.script
            .unrenderable_part(wrap(&format!("batch alter of `{}`: {why}", self.table)));
        for sql in declared {
            self.script.declared(sql);
        }
    }

    /// The pre-check queries, as a comment: online they refuse the batch
    /// before anything changes; a script cannot refuse, so whoever runs it
    /// runs them first. Those of new constraints need the table after the
    /// batch as a query, which offline is only known when the batch changes
    /// no column (`projection_known`); otherwise the comment says they are left out.
    pub fn prechecks(&self, checks: &[Precheck], current: &CurrentTable, norm: &Normalized) {
        let constraints = !norm.add_uniques.is_empty()
            || !norm.add_checks.is_empty()
            || !norm.add_foreign_keys.is_empty();
        let left_out = constraints && !projection_known(current, norm);
        if left_out {
            self.note(
                "online, the rows are also checked against the new constraints before anything \
                 changes; that query needs every column of the table, so it is left out here",
            );
        }
        self.precheck_queries(checks);
    }

    /// The pre-check queries alone, as a comment (see [`Offline::prechecks`]).
    pub fn precheck_queries(&self, checks: &[Precheck]) {
        if checks.is_empty() {
            return;
        }
        // The queries stay on one line each, to be copied.
        let mut text = wrap(&format!(
            "batch alter of `{}`: online, these pre-checks run first and refuse the batch unless \
             each counts 0 rows:",
            self.table
        ));
        for check in checks {
            text.push_str("\n  ");
            text.push_str(&check.sql);
        }
        self.script.comment(text);
    }
}

/// Prose wrapped at about 90 columns, for comments a reviewer reads.
fn wrap(text: &str) -> String {
    const WIDTH: usize = 90;
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if line > 0 && line + 1 + word.len() > WIDTH {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

/// The table as the batch's operations describe it: every column they name
/// and do not add, in order of first mention, typed by `existing_type` and
/// `existing_nullable` where the batch gives them (unknown otherwise). The
/// primary key is unknown, so dropping a key column is not refused offline.
pub(crate) fn declared_table(batch: &BatchAlter, db: DbBackend) -> CurrentTable {
    let mut columns: Vec<CurrentColumn> = Vec::new();
    // Names live at this point of the batch, and the original column each is.
    let mut live: Vec<(String, Option<usize>)> = Vec::new();
    // Every name seen: an unknown column is assumed to exist only on first mention.
    let mut seen: Vec<String> = Vec::new();
    let mut need = |name: &str,
                    columns: &mut Vec<CurrentColumn>,
                    live: &mut Vec<(String, Option<usize>)>|
     -> Option<usize> {
        if let Some((_, original)) = live.iter().find(|(n, _)| same(n, name)) {
            return *original;
        }
        if seen.iter().any(|n| same(n, name)) {
            return None;
        }
        seen.push(name.to_owned());
        columns.push(CurrentColumn {
            name: name.to_owned(),
            col_type: ColType::Other(String::new()),
            decl: String::new(),
            nullable: true,
        });
        live.push((name.to_owned(), Some(columns.len() - 1)));
        Some(columns.len() - 1)
    };
    for op in &batch.ops {
        match op {
            Op::AddColumn(def) => live.push((def.get_column_name(), None)),
            Op::DropColumn { name, .. } => {
                need(name, &mut columns, &mut live);
                live.retain(|(n, _)| !same(n, name));
            }
            Op::AlterColumn { name, change } => {
                if let Some(i) = need(name, &mut columns, &mut live) {
                    if let Some(ty) = &change.existing_type {
                        columns[i].col_type = crate::backend::of_db(db).col_type_of(ty);
                        columns[i].decl = render_type(db, ty).unwrap_or_default();
                    }
                    if let Some(nullable) = change.existing_nullable {
                        columns[i].nullable = nullable;
                    }
                }
            }
            Op::RenameColumn { from, to } => {
                need(from, &mut columns, &mut live);
                if let Some(entry) = live.iter_mut().find(|(n, _)| same(n, from)) {
                    entry.0 = to.clone();
                }
            }
            Op::AddForeignKey(fk) => {
                for c in &fk.columns {
                    need(c, &mut columns, &mut live);
                }
            }
            Op::AddUnique { columns: cols, .. } => {
                for c in cols {
                    need(c, &mut columns, &mut live);
                }
            }
            Op::CreateIndex(index) => {
                for (i, c) in index.columns.iter().enumerate() {
                    if !index.is_expression(i) {
                        need(c, &mut columns, &mut live);
                    }
                }
            }
            Op::DropForeignKey { .. }
            | Op::DropUnique { .. }
            | Op::AddCheck { .. }
            | Op::DropCheck { .. }
            | Op::DropIndex { .. } => {}
        }
    }
    CurrentTable {
        name: batch.table.clone(),
        columns,
        primary_key: Vec::new(),
        complete: false,
    }
}

fn type_text(db: DbBackend, ty: &ColumnType) -> String {
    render_type(db, ty).unwrap_or_else(|_| format!("{ty:?}"))
}

/// A change as words and SQL pieces: `bigint NOT NULL DEFAULT 0`.
pub(crate) fn describe_change(db: DbBackend, change: &AlterColumn) -> String {
    let mut parts = Vec::new();
    if let Some(ty) = &change.type_ {
        parts.push(type_text(db, ty));
    }
    match change.nullable {
        Some(false) => parts.push("NOT NULL".to_owned()),
        Some(true) => parts.push("NULL".to_owned()),
        None => {}
    }
    match &change.default {
        Some(Some(value)) => parts.push(format!(
            "DEFAULT {}",
            render_expr(db, value).unwrap_or_else(|e| e)
        )),
        Some(None) => parts.push("DROP DEFAULT".to_owned()),
        None => {}
    }
    if let Some(using) = &change.using {
        parts.push(format!("USING {using}"));
    }
    parts.join(" ")
}

/// One declared operation in words, for an OFFLINE comment:
/// `drop column note`, `alter column qty bigint NOT NULL`.
pub(crate) fn describe(db: DbBackend, op: &Op) -> String {
    let list = |cols: &[String]| cols.join(", ");
    match op {
        Op::AddColumn(def) => format!(
            "add column {}",
            render_column_def(db, def).unwrap_or_else(|_| def.get_column_name())
        ),
        Op::DropColumn { name, .. } => format!("drop column {name}"),
        Op::AlterColumn { name, change } => {
            format!("alter column {name} {}", describe_change(db, change))
        }
        Op::RenameColumn { from, to } => format!("rename column {from} to {to}"),
        Op::AddForeignKey(fk) => format!(
            "add foreign key {} ({}) references {} ({})",
            fk.name,
            list(&fk.columns),
            fk.ref_table,
            list(&fk.ref_columns)
        ),
        Op::DropForeignKey { name, .. } => format!("drop foreign key {name}"),
        Op::AddUnique { name, columns } => format!("add unique {name} ({})", list(columns)),
        Op::DropUnique { name, .. } => format!("drop unique {name}"),
        Op::AddCheck { name, expr } => format!("add check {name} ({expr})"),
        Op::DropCheck { name, .. } => format!("drop check {name}"),
        Op::CreateIndex(index) => format!(
            "create {}index {} ({})",
            if index.unique { "unique " } else { "" },
            index.name,
            list(&index.columns)
        ),
        Op::DropIndex { name, .. } => format!("drop index {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{Alias, ColumnDef};

    #[test]
    fn the_declared_table_has_the_columns_the_batch_names() {
        let mut b = BatchAlter::new("t");
        b.rename_column("a", "b")
            .alter_column(
                "b",
                AlterColumn::new()
                    .type_(ColumnType::BigInteger)
                    .existing_type(ColumnType::Integer)
                    .existing_nullable(false),
            )
            .add_column(ColumnDef::new(Alias::new("n")).text().null().to_owned())
            .drop_column("n")
            .drop_column("c")
            .create_index(super::super::IndexSpec::new("i", &["b", "d"]));
        let t = declared_table(&b, DbBackend::Postgres);
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "d"]);
        assert_eq!(t.columns[0].col_type, ColType::Int);
        assert!(!t.columns[0].nullable);
        assert!(t.columns[1].nullable);
        // Offline, normalizing on it gives the same net effect as online.
        let norm = super::super::plan::normalize(&t, &b).unwrap();
        assert_eq!(norm.renames, [("a".to_owned(), "b".to_owned())]);
        assert_eq!(norm.dropped, ["c"]);
    }

    #[test]
    fn operations_are_described_in_words() {
        let db = DbBackend::Postgres;
        let alter = Op::AlterColumn {
            name: "qty".into(),
            change: AlterColumn::new()
                .type_(ColumnType::BigInteger)
                .not_null()
                .default(0),
        };
        assert_eq!(
            describe(db, &alter),
            "alter column qty bigint NOT NULL DEFAULT 0"
        );
        let drop = Op::DropColumn {
            name: "note".into(),
            def: None,
        };
        assert_eq!(describe(db, &drop), "drop column note");
    }
}
