//! MySQL/MariaDB: every change of a batch in one `ALTER TABLE`, after pre-checks, since DDL commits implicitly.
//!
//! MySQL and MariaDB commit before and after each DDL statement
//! (<https://dev.mysql.com/doc/refman/8.0/en/implicit-commit.html>), so the
//! migration's transaction cannot undo a batch. What they do guarantee is
//! that one `ALTER TABLE` either completes or leaves the table as it was
//! (the copy is discarded; MySQL 8 has atomic DDL). So the whole batch is one
//! `ALTER TABLE t spec, spec, …`, and the pre-checks run first: a refusal
//! comes before anything is touched. The only statements before it are the
//! `UPDATE`s that turn NULLs into a new default for a column that becomes
//! NOT NULL, and, when a renamed column takes part in a foreign key, an
//! `ALTER TABLE` with the renames alone (MariaDB renames such a column only
//! in place, and a type change copies the table; one statement cannot do both).
//!
//! `MODIFY`/`CHANGE COLUMN` must restate the whole column, so the current
//! definition is taken from `SHOW CREATE TABLE` and only the changed pieces
//! are edited ([`super::ddl`]). In one `ALTER TABLE` the column clauses name
//! the columns as they were and the index clauses as they will be, which is
//! exactly how [`super::plan::Normalized`] names them.
//!
//! Offline there is no `SHOW CREATE TABLE`: a `MODIFY`/`CHANGE COLUMN` is
//! written from the change when it states the type, nullability and default
//! (new or `existing_*`), and is otherwise a marked part whose declared
//! change reaches the lint; the index MySQL made for a dropped foreign key
//! and the keys and checks of a dropped column are marked as unknown.

use super::MySql;
use crate::batch::ddl::{
    ClauseKind, ColumnText, ConstraintKind, Item, mentions, parse_show_create_table, quote,
    render_column_def, render_default, render_expr, render_type, same,
};
use crate::batch::offline::{Offline, declared_table, describe_change};
use crate::batch::plan::{
    self, CurrentTable, Kind, Normalized, PredicateSyntax, kind, new_default, normalize,
    unconvertible_with,
};
use crate::batch::{AlterColumn, BatchAlter, BatchError};
use crate::schema::ColType;
use sea_orm::{ConnectionTrait, DatabaseExecutor, DbBackend, Statement};

const DB: DbBackend = DbBackend::MySql;
const UNCHANGED: &str = "nothing was changed";

const SYNTAX: PredicateSyntax = PredicateSyntax {
    as_text: |e| format!("CAST({e} AS CHAR)"),
    not_matches: |t, re| format!("{t} NOT REGEXP '{re}'"),
    text_to_number: |t| format!("CAST({t} AS DECIMAL(65, 30))"),
    trunc: |e| format!("TRUNCATE({e}, 0)"),
    length: |t| format!("CHAR_LENGTH({t})"),
    guard_casts: false,
};

/// A column definition (without its name) with `change` applied.
fn modified(c: &ColumnText, change: &AlterColumn, table: &str) -> Result<String, BatchError> {
    let name = c.name.clone();
    let cannot = |what: &str, e: String| {
        BatchError::refused(
            table,
            format!("alter_column `{name}`: cannot write the {what} for MySQL: {e}"),
            "use a type or default MySQL/MariaDB has",
        )
    };
    let mut c = c.clone();
    if let Some(ty) = &change.type_ {
        c.type_text = render_type(DB, ty).map_err(|e| cannot("type", e))?;
        // The character set and collation belonged to the old type.
        c.remove(|cl| matches!(cl.kind, ClauseKind::Charset | ClauseKind::Collate));
    }
    match change.nullable {
        Some(false) => {
            c.remove(|cl| {
                matches!(cl.kind, ClauseKind::NotNull | ClauseKind::Null)
                    || (cl.kind == ClauseKind::Default && cl.rest.eq_ignore_ascii_case("NULL"))
            });
            c.insert_front(ClauseKind::NotNull, "NOT NULL".into());
        }
        Some(true) => {
            c.remove(|cl| matches!(cl.kind, ClauseKind::NotNull | ClauseKind::Null));
            c.insert_front(ClauseKind::Null, "NULL".into());
        }
        None => {}
    }
    match &change.default {
        Some(Some(value)) => {
            let text = render_default(DB, value).map_err(|e| cannot("default", e))?;
            c.remove(|cl| cl.kind == ClauseKind::Default);
            let at = c
                .clauses
                .iter()
                .position(|cl| !matches!(cl.kind, ClauseKind::NotNull | ClauseKind::Null))
                .unwrap_or(c.clauses.len());
            c.clauses.insert(
                at,
                crate::batch::ddl::Clause {
                    kind: ClauseKind::Default,
                    name: None,
                    rest: String::new(),
                    text,
                },
            );
        }
        Some(None) => c.remove(|cl| cl.kind == ClauseKind::Default),
        None => {}
    }
    let mut out = c.type_text.clone();
    for cl in &c.clauses {
        out.push(' ');
        out.push_str(&cl.text);
    }
    Ok(out)
}

/// Refuses, before anything changes, a rename or drop of a column that a
/// view or trigger still names: MySQL and MariaDB do not rewrite them
/// (PostgreSQL and SQLite do), so the batch would succeed and leave the view
/// invalid (error 1356) and every later write firing the trigger failing
/// (error 1054). <https://mariadb.com/kb/en/alter-table/#rename-column>
async fn refuse_broken_dependents(
    conn: &DatabaseExecutor<'_>,
    table: &str,
    norm: &Normalized,
) -> Result<(), BatchError> {
    let gone = norm.vanishing();
    if gone.is_empty() {
        return Ok(());
    }
    let read = |sql: &'static str, values: Vec<sea_orm::Value>| async move {
        conn.query_all_raw(Statement::from_sql_and_values(DB, sql, values))
            .await
            .map_err(BatchError::failed(
                table,
                "reading the views and triggers",
                UNCHANGED,
            ))
    };
    let views = read(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(VIEW_DEFINITION AS CHAR) FROM information_schema.VIEWS \
         WHERE TABLE_SCHEMA = DATABASE() AND VIEW_DEFINITION LIKE CONCAT('%`', ?, '`%')",
        vec![table.into()],
    )
    .await?;
    // Every trigger of the database: one on this table, or one elsewhere
    // whose body writes or reads this table.
    let triggers = read(
        "SELECT CAST(TRIGGER_NAME AS CHAR), CAST(ACTION_STATEMENT AS CHAR), CAST(EVENT_OBJECT_TABLE AS CHAR) \
         FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
        vec![],
    )
    .await?;
    let text = |row: &sea_orm::QueryResult, i: usize| {
        row.try_get_by_index::<String>(i).unwrap_or_default()
    };
    let mut found = Vec::new();
    for (column, doing) in &gone {
        // MySQL prints a view's columns qualified: `db`.`table`.`column`.
        let qualified = format!("`{}`.`{}`", table.to_lowercase(), column.to_lowercase());
        for v in &views {
            if text(v, 1).to_lowercase().contains(&qualified) {
                found.push(format!("{doing} `{column}` breaks view `{}`", text(v, 0)));
            }
        }
        for t in &triggers {
            let body = text(t, 1);
            let on_table = text(t, 2).eq_ignore_ascii_case(table);
            if (on_table || names_word(&body, table)) && names_word(&body, column) {
                found.push(format!(
                    "{doing} `{column}` breaks trigger `{}`",
                    text(t, 0)
                ));
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(BatchError::refused(
        table,
        format!(
            "{}: MySQL/MariaDB do not rewrite views and triggers when a column is renamed or dropped, \
             so they would fail afterwards",
            found.join("; ")
        ),
        "in the same migration, drop those views and triggers before the batch and create them \
         again after it with the new column names (e.g. `DROP VIEW v` ... `CREATE VIEW v AS ...`)",
    ))
}

/// Whether the session's `sql_mode` makes MySQL/MariaDB refuse values it
/// cannot store (<https://mariadb.com/kb/en/sql-mode/#strict-mode>).
async fn strict_mode(conn: &DatabaseExecutor<'_>, table: &str) -> Result<bool, BatchError> {
    let mode = conn
        .query_one_raw(Statement::from_string(
            DB,
            "SELECT CAST(@@SESSION.sql_mode AS CHAR)",
        ))
        .await
        .and_then(|row| match row {
            Some(r) => r.try_get_by_index::<String>(0),
            None => Ok(String::new()),
        })
        .map_err(BatchError::failed(
            table,
            "reading the session's sql_mode",
            UNCHANGED,
        ))?;
    Ok(mode.contains("STRICT_TRANS_TABLES") || mode.contains("STRICT_ALL_TABLES"))
}

/// Whether SQL `text` names `word` as an identifier (bare or in
/// backticks, any case; string literals and comments do not count).
fn names_word(text: &str, word: &str) -> bool {
    crate::tokens::tokenize(text, crate::tokens::Quotes::Backslash)
        .iter()
        .filter_map(crate::tokens::Token::ident)
        .any(|ident| ident.eq_ignore_ascii_case(word))
}

/// Where [`apply`]'s statements go: to the database it reads, or (offline,
/// `conn` being the copy of the schema the history builds) to that copy and
/// into the script.
#[derive(Clone, Copy)]
enum Writes<'a> {
    Live,
    CopyAndScript(&'a crate::offline::Script),
}

impl Writes<'_> {
    async fn run(self, conn: &DatabaseExecutor<'_>, sql: &str) -> Result<(), sea_orm::DbErr> {
        conn.execute_unprepared(sql).await?;
        if let Writes::CopyAndScript(script) = self {
            script.executed_on_shadow(sql).await;
        }
        Ok(())
    }
}

async fn apply(
    conn: &DatabaseExecutor<'_>,
    batch: &BatchAlter,
    writes: Writes<'_>,
) -> Result<(), BatchError> {
    let table = batch.table.as_str();
    let schema = super::reflect::reflect(conn, &[])
        .await
        .map_err(BatchError::failed(
            table,
            "reading the table definition",
            UNCHANGED,
        ))?;
    let reflected = schema.tables.get(table).ok_or_else(|| {
        BatchError::refused(
            table,
            "there is no such table in the current database".to_owned(),
            "check the table name (and that the migration creating it ran first)",
        )
    })?;
    let current = CurrentTable::from_reflected(reflected);
    let norm = normalize(&current, batch)?;
    norm.require_unique_names(table)?;
    refuse_using(table, &norm)?;
    refuse_broken_dependents(conn, table, &norm).await?;
    // Outside a strict sql_mode MySQL/MariaDB convert what they cannot store
    // (NULL -> 0, '8.5' -> 8) with a warning: then every pre-check runs, even
    // under skip_prechecks(), so nothing is changed silently.
    let all = batch.prechecks || !strict_mode(conn, table).await?;
    let checks = plan::prechecks(&MySql, &current, &norm, all)?;
    if let Writes::CopyAndScript(script) = writes {
        // The copy has no rows: the checks are the script's to run first.
        Offline::new(conn, script, batch).prechecks(&checks, &current, &norm);
    }
    plan::run_prechecks(conn, table, &checks).await?;

    let t = quote(DB, table);
    let show = conn
        .query_one_raw(Statement::from_string(DB, format!("SHOW CREATE TABLE {t}")))
        .await
        .and_then(|row| match row {
            Some(r) => r.try_get_by_index::<String>(1),
            None => Ok(String::new()),
        })
        .map_err(BatchError::failed(
            table,
            "reading SHOW CREATE TABLE",
            UNCHANGED,
        ))?;
    let ct = parse_show_create_table(&show).ok_or_else(|| {
        BatchError::refused(
            table,
            format!("cannot read `{show}`"),
            "alter the table by hand",
        )
    })?;
    let column = |name: &str| {
        ct.items.iter().find_map(|i| match i {
            Item::Column(c) if same(&c.name, name) => Some(c),
            _ => None,
        })
    };
    let constraints: Vec<&crate::batch::ddl::ConstraintText> = ct
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Constraint(k) => Some(k),
            Item::Column(_) => None,
        })
        .collect();
    let find = |kinds: &[ConstraintKind], name: &str| {
        constraints
            .iter()
            .find(|k| kinds.contains(&k.kind) && k.name.as_deref().is_some_and(|n| same(n, name)))
            .copied()
    };
    let missing = |what: &str, name: &str| {
        BatchError::refused(
            table,
            format!("there is no {what} named `{name}` on the table"),
            "check the name (SHOW CREATE TABLE lists them)",
        )
    };
    let is_index = [ConstraintKind::Unique, ConstraintKind::Other];

    let mut specs: Vec<String> = Vec::new();
    let mut dropped_fks: Vec<String> = Vec::new();
    let mut dropped_indexes: Vec<String> = Vec::new();
    let mut dropped_checks: Vec<String> = Vec::new();
    let mut drop_fk = |k: &crate::batch::ddl::ConstraintText,
                       specs: &mut Vec<String>,
                       dropped_indexes: &mut Vec<String>| {
        let name = k.name.clone().unwrap_or_default();
        if dropped_fks.iter().any(|n| same(n, &name)) {
            return;
        }
        specs.push(format!("DROP FOREIGN KEY {}", quote(DB, &name)));
        // ADD FOREIGN KEY creates an index of the same name when the columns
        // have none; it stays behind when the key goes, so it goes too.
        if let Some(ix) = find(&is_index, &name)
            && ix.columns.len() == k.columns.len()
            && !dropped_indexes.iter().any(|n| same(n, &name))
        {
            specs.push(format!("DROP INDEX {}", quote(DB, &name)));
            dropped_indexes.push(name.clone());
        }
        dropped_fks.push(name);
    };
    for (name, _) in &norm.drop_foreign_keys {
        let k = find(&[ConstraintKind::ForeignKey], name)
            .ok_or_else(|| missing("foreign key", name))?;
        drop_fk(k, &mut specs, &mut dropped_indexes);
    }
    for k in constraints
        .iter()
        .filter(|k| k.kind == ConstraintKind::ForeignKey)
    {
        if k.columns.iter().any(|c| norm.is_dropped(c)) {
            drop_fk(k, &mut specs, &mut dropped_indexes);
        }
    }
    let mut drop_index = |name: &str, specs: &mut Vec<String>| {
        if !dropped_indexes.iter().any(|n| same(n, name)) {
            specs.push(format!("DROP INDEX {}", quote(DB, name)));
            dropped_indexes.push(name.to_owned());
        }
    };
    for name in norm.drop_uniques.iter() {
        let k = find(&[ConstraintKind::Unique], name)
            .ok_or_else(|| missing("unique constraint", name))?;
        drop_index(k.name.as_deref().unwrap_or(name), &mut specs);
    }
    for name in norm.drop_indexes.iter() {
        let k = find(&is_index, name).ok_or_else(|| missing("index", name))?;
        drop_index(k.name.as_deref().unwrap_or(name), &mut specs);
    }
    for k in constraints.iter().filter(|k| is_index.contains(&k.kind)) {
        if let Some(name) = &k.name
            && k.columns.iter().any(|c| norm.is_dropped(c))
        {
            drop_index(name, &mut specs);
        }
    }
    for name in &norm.drop_checks {
        let k = find(&[ConstraintKind::Check], name)
            .ok_or_else(|| missing("check constraint", name))?;
        let name = k.name.clone().unwrap_or_default();
        specs.push(format!("DROP CONSTRAINT {}", quote(DB, &name)));
        dropped_checks.push(name);
    }
    for k in constraints
        .iter()
        .filter(|k| k.kind == ConstraintKind::Check)
    {
        if let Some(name) = &k.name
            && !dropped_checks.iter().any(|n| same(n, name))
            && norm.dropped.iter().any(|d| mentions(&k.text, d))
        {
            specs.push(format!("DROP CONSTRAINT {}", quote(DB, name)));
        }
    }
    for name in &norm.dropped {
        specs.push(format!("DROP COLUMN {}", quote(DB, name)));
    }
    // MariaDB renames a column that takes part in a foreign key only in place,
    // while a type change copies the table, and one ALTER TABLE cannot do both
    // ("ALGORITHM=COPY is not supported. Reason: Columns participating in a
    // foreign key are renamed"). Then the renames go first, in an ALTER TABLE
    // of their own.
    let mut renames_first = false;
    if !norm.renames.is_empty() {
        let outgoing = constraints
            .iter()
            .filter(|k| k.kind == ConstraintKind::ForeignKey)
            .flat_map(|k| k.columns.iter());
        let mut fk_columns: Vec<String> = outgoing.cloned().collect();
        let rows = conn
            .query_all_raw(Statement::from_sql_and_values(
                DB,
                "SELECT CAST(referenced_column_name AS CHAR) FROM information_schema.key_column_usage \
                 WHERE referenced_table_schema = DATABASE() AND referenced_table_name = ?",
                [table.into()],
            ))
            .await
            .map_err(BatchError::failed(table, "reading the foreign keys", UNCHANGED))?;
        for row in rows {
            if let Ok(c) = row.try_get_by_index::<String>(0) {
                fk_columns.push(c);
            }
        }
        renames_first = norm
            .renames
            .iter()
            .any(|(from, _)| fk_columns.iter().any(|c| same(c, from)));
    }
    let mut first = Vec::new();
    let mut fills = Vec::new();
    for fc in &norm.columns {
        let Some(src) = &fc.source else { continue };
        let renamed = !same(src, &fc.name);
        if renamed && renames_first {
            first.push(format!(
                "RENAME COLUMN {} TO {}",
                quote(DB, src),
                quote(DB, &fc.name)
            ));
        }
        match &fc.change {
            Some(change) => {
                let c = column(src).ok_or_else(|| missing("column", src))?;
                let mut def = modified(c, change, table)?;
                if renamed {
                    // An inline CHECK (MariaDB's json_valid) names the column.
                    def = def.replace(&quote(DB, src), &quote(DB, &fc.name));
                }
                if renamed && !renames_first {
                    specs.push(format!(
                        "CHANGE COLUMN {} {} {def}",
                        quote(DB, src),
                        quote(DB, &fc.name)
                    ));
                } else {
                    specs.push(format!("MODIFY COLUMN {} {def}", quote(DB, &fc.name)));
                }
                fills.extend(fill(table, src, change)?);
            }
            None if renamed && !renames_first => specs.push(format!(
                "RENAME COLUMN {} TO {}",
                quote(DB, src),
                quote(DB, &fc.name)
            )),
            None => {}
        }
    }
    specs.extend(additions(table, &norm)?);
    // InnoDB cannot drop a foreign key and add one of the same name in one
    // ALTER TABLE (error 1005, errno 121 "Duplicate key on write or
    // update"): a key re-created under its name (a rule change) is dropped
    // in an ALTER TABLE of its own first.
    let readded: Vec<String> = dropped_fks
        .iter()
        .filter(|n| norm.add_foreign_keys.iter().any(|fk| same(&fk.name, n)))
        .cloned()
        .collect();
    let mut keys_first = Vec::new();
    if !readded.is_empty() {
        let goes_first = |spec: &String| {
            readded.iter().any(|n| {
                *spec == format!("DROP FOREIGN KEY {}", quote(DB, n))
                    || *spec == format!("DROP INDEX {}", quote(DB, n))
            })
        };
        (keys_first, specs) = specs.into_iter().partition(goes_first);
    }
    let filled = !fills.is_empty();
    if !keys_first.is_empty() {
        let sql = format!("ALTER TABLE {t} {}", keys_first.join(", "));
        writes
            .run(conn, &sql)
            .await
            .map_err(BatchError::failed(
                table,
                format!("running `{sql}`"),
                "dropping the foreign keys that are re-created failed as a whole: the table and its rows are as they were",
            ))?;
    }
    if !first.is_empty() {
        let sql = format!("ALTER TABLE {t} {}", first.join(", "));
        writes.run(conn, &sql).await.map_err(BatchError::failed(
            table,
            format!("running `{sql}`"),
            "the renames failed as a whole: the table and its rows are as they were",
        ))?;
    }
    for sql in &fills {
        writes
            .run(conn, sql)
            .await
            .map_err(BatchError::failed(table, format!("running `{sql}`"), "the table's definition is unchanged; earlier NULL-filling UPDATEs of this batch may be committed"))?;
    }
    if specs.is_empty() {
        return Ok(());
    }
    let sql = format!("ALTER TABLE {t} {}", specs.join(", "));
    let state = match (filled, !first.is_empty()) {
        (false, false) => {
            "the ALTER TABLE failed as a whole: the table and its rows are as they were"
        }
        (true, false) => {
            "the ALTER TABLE failed as a whole, so the table's definition is unchanged; but MySQL/MariaDB committed the UPDATEs that turned NULLs into the new default"
        }
        (_, true) => {
            "the ALTER TABLE failed as a whole, but the column renames before it are committed (MariaDB renames foreign-key columns only in an ALTER TABLE of their own), as are any UPDATEs that turned NULLs into a new default: rename them back by hand or finish the batch"
        }
    };
    let dropped_first;
    let state = if keys_first.is_empty() {
        state
    } else {
        dropped_first = format!(
            "{state}; the foreign key(s) {} it re-creates were already dropped in an ALTER TABLE before it (InnoDB cannot drop and add one name in one statement): add them back by hand or finish the batch",
            readded
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        dropped_first.as_str()
    };
    writes.run(conn, &sql).await.map_err(BatchError::failed(
        table,
        format!("running `{sql}`"),
        state,
    ))
}

/// `.using(…)` has no MySQL/MariaDB form: refused before anything runs.
fn refuse_using(table: &str, norm: &Normalized) -> Result<(), BatchError> {
    match norm.altered().find(|(_, ch)| ch.using.is_some()) {
        Some((col, _)) => Err(BatchError::refused(
            table,
            format!(
                "alter_column `{}` uses .using(…), which MySQL/MariaDB's ALTER TABLE cannot do",
                col.name
            ),
            "add a new column, fill it with data::backfill, drop the old one and rename the new one",
        )),
        None => Ok(()),
    }
}

/// The `UPDATE` that turns NULLs of `src` into the new default, when `change`
/// makes it NOT NULL with one (it runs, and commits, before the ALTER TABLE).
fn fill(table: &str, src: &str, change: &AlterColumn) -> Result<Option<String>, BatchError> {
    if change.nullable != Some(false) {
        return Ok(None);
    }
    let Some(value) = new_default(change) else {
        return Ok(None);
    };
    let v = render_expr(DB, value).map_err(|e| {
        BatchError::refused(
            table,
            format!("cannot write the default of `{src}`: {e}"),
            "use a default MySQL has",
        )
    })?;
    let q = quote(DB, src);
    Ok(Some(format!(
        "UPDATE {} SET {q} = {v} WHERE {q} IS NULL",
        quote(DB, table)
    )))
}

/// The `ALTER TABLE` clauses that add: columns, then foreign keys, unique
/// constraints, checks and indexes (named as after the batch).
fn additions(table: &str, norm: &Normalized) -> Result<Vec<String>, BatchError> {
    let mut specs = Vec::new();
    for (col, def) in norm.added() {
        let text = render_column_def(DB, def).map_err(|e| {
            BatchError::refused(
                table,
                format!("cannot write column `{}` for MySQL: {e}", col.name),
                "use a type MySQL has",
            )
        })?;
        specs.push(format!("ADD COLUMN {text}"));
    }
    for fk in &norm.add_foreign_keys {
        specs.push(format!(
            "ADD CONSTRAINT {} {}",
            quote(DB, &fk.name),
            fk.clause(DB, &fk.ref_table)
        ));
    }
    for (name, cols) in &norm.add_uniques {
        specs.push(format!(
            "ADD CONSTRAINT {} UNIQUE ({})",
            quote(DB, name),
            cols.iter()
                .map(|c| quote(DB, c))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (name, expr) in &norm.add_checks {
        specs.push(format!("ADD CONSTRAINT {} CHECK ({expr})", quote(DB, name)));
    }
    for index in &norm.create_indexes {
        let clause = super::index::index_clause(index)
            .map_err(|e| BatchError::refused(table, e, "write the index so this backend can build it, or create it in a migration of its own"))?;
        specs.push(format!("ADD {clause}"));
    }
    Ok(specs)
}

/// The column as the batch declares it before the change, when the change
/// says enough to restate it: its type, nullability and default, each new or
/// given as `existing_*`.
fn declared_column(name: &str, change: &AlterColumn) -> Option<ColumnText> {
    let ty = change.type_.as_ref().or(change.existing_type.as_ref())?;
    let nullable = change.nullable.or(change.existing_nullable)?;
    let default = change
        .default
        .as_ref()
        .or(change.existing_default.as_ref())?;
    let mut text = format!(
        "{} {} {}",
        quote(DB, name),
        render_type(DB, ty).ok()?,
        if nullable { "NULL" } else { "NOT NULL" }
    );
    if let Some(value) = default {
        text.push(' ');
        text.push_str(&render_default(DB, value).ok()?);
    }
    match parse_show_create_table(&format!("CREATE TABLE x ({text})"))?
        .items
        .into_iter()
        .next()?
    {
        Item::Column(c) => Some(c),
        Item::Constraint(_) => None,
    }
}

/// Offline: one `ALTER TABLE` planned on what the batch declares. What
/// online reads from `SHOW CREATE TABLE` is marked: a `MODIFY`/`CHANGE
/// COLUMN` whose change does not say the whole column (it is declared for the
/// lint instead), the index MySQL may have made for a dropped foreign key,
/// and the keys and checks that include a dropped column.
pub(super) async fn apply_offline(
    conn: &DatabaseExecutor<'_>,
    batch: &BatchAlter,
    script: &crate::offline::Script,
) -> Result<(), BatchError> {
    if let Some(copy) = script.shadow().await {
        // Planned on the copy's table exactly as online; its statements run
        // there and are the script's.
        Offline::new(conn, script, batch).note(
            "the table's definition is the one these migrations build (replayed on a scratch \
             database): this script assumes a database built by them",
        );
        return apply(&(&copy).into(), batch, Writes::CopyAndScript(script)).await;
    }
    let table = batch.table.as_str();
    let t = quote(DB, table);
    let out = Offline::new(conn, script, batch);
    let current = declared_table(batch, DB);
    let norm = normalize(&current, batch)?;
    refuse_using(table, &norm)?;
    out.prechecks(
        &plan::prechecks(&MySql, &current, &norm, batch.prechecks)?,
        &current,
        &norm,
    );
    let names = |list: &mut dyn Iterator<Item = &String>| {
        list.map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut specs: Vec<String> = Vec::new();
    if !norm.drop_foreign_keys.is_empty() {
        out.unrenderable(
            &format!(
                "MySQL/MariaDB create an index named like a foreign key that has none to use; online, \
                 dropping foreign key(s) {} also drops such an index when SHOW CREATE TABLE lists one. \
                 This script drops only the key(s): check for the index and drop it by hand",
                names(&mut norm.drop_foreign_keys.iter().map(|(n, _)| n))
            ),
            Vec::new(),
        );
    }
    // A key re-created under its name is dropped in a statement of its own
    // (InnoDB refuses both in one ALTER TABLE; see `apply`).
    let mut keys_first = Vec::new();
    for (name, _) in &norm.drop_foreign_keys {
        let spec = format!("DROP FOREIGN KEY {}", quote(DB, name));
        if norm.add_foreign_keys.iter().any(|fk| same(&fk.name, name)) {
            keys_first.push(spec);
        } else {
            specs.push(spec);
        }
    }
    if !keys_first.is_empty() {
        out.exec(&format!("ALTER TABLE {t} {}", keys_first.join(", ")))
            .await?;
    }
    let mut dropped_indexes: Vec<&String> = Vec::new();
    for name in norm.drop_uniques.iter().chain(&norm.drop_indexes) {
        if !dropped_indexes.iter().any(|n| same(n, name)) {
            specs.push(format!("DROP INDEX {}", quote(DB, name)));
            dropped_indexes.push(name);
        }
    }
    for name in &norm.drop_checks {
        specs.push(format!("DROP CONSTRAINT {}", quote(DB, name)));
    }
    if !norm.dropped.is_empty() {
        out.unrenderable(
            &format!(
                "online, the foreign keys, indexes and checks that include dropped column(s) {} are \
                 dropped first, as SHOW CREATE TABLE lists them; this script does not know them \
                 (MySQL/MariaDB refuse to drop a column a foreign key uses, and narrow a \
                 multi-column index to its other columns)",
                names(&mut norm.dropped.iter())
            ),
            Vec::new(),
        );
    }
    for name in &norm.dropped {
        specs.push(format!("DROP COLUMN {}", quote(DB, name)));
    }
    let mut fills = Vec::new();
    let mut restated = Vec::new();
    for fc in &norm.columns {
        let Some(src) = &fc.source else { continue };
        let renamed = !same(src, &fc.name);
        let (from, to) = (quote(DB, src), quote(DB, &fc.name));
        let Some(change) = &fc.change else {
            if renamed {
                specs.push(format!("RENAME COLUMN {from} TO {to}"));
            }
            continue;
        };
        let Some(c) = declared_column(src, change) else {
            if renamed {
                specs.push(format!("RENAME COLUMN {from} TO {to}"));
            }
            let declared = describe_change(DB, change);
            out.unrenderable(
                &format!(
                    "MODIFY COLUMN {to} restates the whole column from SHOW CREATE TABLE, which needs \
                     the live table; the migration declares: alter column {} {declared}. To render it \
                     offline, give the change's .existing_type(…), .existing_nullable(…) and \
                     .existing_default(…) or .existing_no_default()",
                    fc.name
                ),
                vec![format!("ALTER TABLE {t} MODIFY COLUMN {to} {declared}")],
            );
            continue;
        };
        let mut def = modified(&c, change, table)?;
        if renamed {
            def = def.replace(&from, &to);
            specs.push(format!("CHANGE COLUMN {from} {to} {def}"));
        } else {
            specs.push(format!("MODIFY COLUMN {to} {def}"));
        }
        restated.push(format!("`{}`", fc.name));
        fills.extend(fill(table, src, change)?);
    }
    if !restated.is_empty() {
        out.note(&format!(
            "{} restated from the declared type, nullability and default; online, the rest of the \
             live definition is kept too (COMMENT, AUTO_INCREMENT, ON UPDATE)",
            restated.join(", ")
        ));
        if !norm.renames.is_empty() {
            out.note(
                "online, renames of columns that take part in a foreign key run first, in an ALTER \
                 TABLE of their own (MariaDB renames those only in place); this script assumes \
                 there are none (MariaDB refuses the ALTER TABLE, and the script stops, if there are)",
            );
        }
    }
    specs.extend(additions(table, &norm)?);
    for sql in &fills {
        out.exec(sql).await?;
    }
    if !specs.is_empty() {
        out.exec(&format!("ALTER TABLE {t} {}", specs.join(", ")))
            .await?;
    }
    Ok(())
}

/// Applies `batch` on `conn` (see `Backend::run_batch`).
pub(super) async fn run(conn: &DatabaseExecutor<'_>, batch: &BatchAlter) -> Result<(), BatchError> {
    apply(conn, batch, Writes::Live).await
}

/// See `Backend::unconvertible`.
pub(super) fn unconvertible(
    expr: &str,
    from: &ColType,
    _from_decl: &str,
    to: &ColType,
    _to_decl: &str,
) -> Option<String> {
    // BOOL is TINYINT(1): any TINYINT value fits.
    let as_mysql = |k: Kind| match k {
        Kind::Bool => Kind::Int(i8::MIN.into(), i8::MAX.into()),
        k => k,
    };
    unconvertible_with(&SYNTAX, expr, &as_mysql(kind(from)), &as_mysql(kind(to)))
}
