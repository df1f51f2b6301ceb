//! PostgreSQL: native `ALTER TABLE` statements inside a savepoint, re-creating the views a type change would break.
//!
//! PostgreSQL can do every batch operation natively and its DDL is
//! transactional, so the batch runs inside a savepoint of the migration's
//! transaction (or a transaction of its own): any failure undoes all of it.
//! Type changes of all columns go into one `ALTER TABLE`, so the table is
//! rewritten once. PostgreSQL refuses to change the type of a column a view
//! uses ("cannot alter type of a column used by a view or rule",
//! <https://www.postgresql.org/docs/current/sql-altertable.html>), so such
//! views are dropped first and created again from `pg_get_viewdef` after
//! (their grants and comments are not kept); so are triggers limited to
//! columns (`UPDATE OF col`), which block a type change the same way.
//!
//! Offline the same statements are planned on what the batch declares:
//! names to drop are not checked, a dropped unique is written as both
//! `DROP CONSTRAINT IF EXISTS` and `DROP INDEX IF EXISTS`, and no view or
//! column trigger is assumed (the script stops on PostgreSQL's refusal if one
//! exists).

use super::Postgres;
use crate::batch::ddl::{quote, render_column_def, render_expr, render_type};
use crate::batch::offline::{Offline, declared_table};
use crate::batch::plan::{
    self, CurrentTable, Kind, Normalized, PredicateSyntax, kind, new_default, normalize,
    unconvertible_with,
};
use crate::batch::{BatchAlter, BatchError};
use crate::schema::ColType;
use sea_orm::{
    ConnectionTrait, DatabaseExecutor, DatabaseTransaction, DbBackend, Statement, TransactionTrait,
};

const DB: DbBackend = DbBackend::Postgres;
const UNCHANGED: &str = "nothing was changed";
const ROLLED_BACK: &str =
    "everything this batch did was rolled back: the table and its rows are as they were";

const SYNTAX: PredicateSyntax = PredicateSyntax {
    as_text: |e| format!("{e}::text"),
    not_matches: |t, re| format!("{t} !~ '{re}'"),
    text_to_number: |t| format!("({t})::numeric"),
    trunc: |e| format!("trunc({e})"),
    length: |t| format!("char_length({t})"),
    guard_casts: true,
};

/// A view (or materialized view) that depends on the table.
struct View {
    name: String,
    materialized: bool,
    definition: String,
}

async fn query_strings(
    txn: &DatabaseTransaction,
    table: &str,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<Vec<String>>, BatchError> {
    let rows = txn
        .query_all_raw(Statement::from_sql_and_values(DB, sql, values))
        .await
        .map_err(BatchError::failed(table, "reading the catalog", UNCHANGED))?;
    let mut out = Vec::new();
    for row in rows {
        let mut cols = Vec::new();
        let mut i = 0;
        while let Ok(v) = row.try_get_by_index::<String>(i) {
            cols.push(v);
            i += 1;
        }
        out.push(cols);
    }
    Ok(out)
}

/// Views that read the table, directly or through other views, in an order
/// that can create them (dependencies first).
async fn dependent_views(txn: &DatabaseTransaction, table: &str) -> Result<Vec<View>, BatchError> {
    let sql = r"
WITH RECURSIVE deps(oid, depth) AS (
    SELECT r.ev_class, 1
    FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.refobjid = $1::regclass AND r.ev_class <> $1::regclass
  UNION ALL
    SELECT r.ev_class, deps.depth + 1
    FROM deps JOIN pg_depend d ON d.refobjid = deps.oid
      AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
    JOIN pg_rewrite r ON r.oid = d.objid
    WHERE r.ev_class <> deps.oid AND deps.depth < 50
)
SELECT c.oid::regclass::text, c.relkind::text, pg_get_viewdef(c.oid), MAX(deps.depth)::text
FROM deps JOIN pg_class c ON c.oid = deps.oid
GROUP BY c.oid, c.relkind
ORDER BY MAX(deps.depth), 1";
    let rows = query_strings(txn, table, sql, vec![quote(DB, table).into()]).await?;
    Ok(rows
        .into_iter()
        .filter(|r| r.len() >= 3)
        .map(|r| View {
            name: r[0].clone(),
            materialized: r[1] == "m",
            definition: r[2].trim().trim_end_matches(';').to_owned(),
        })
        .collect())
}

/// What the live catalog says about the table, as far as the statements need it.
#[derive(Default)]
struct Catalog {
    /// `(name, contype)` of the table's constraints.
    constraints: Vec<Vec<String>>,
    /// Names of the table's indexes.
    indexes: Vec<Vec<String>>,
    /// Views reading the table, dependencies first (only for a type change).
    views: Vec<View>,
    /// `(name, definition)` of triggers limited to columns (only for a type change).
    triggers: Vec<Vec<String>>,
}

async fn apply(txn: &DatabaseTransaction, batch: &BatchAlter) -> Result<(), BatchError> {
    let table = batch.table.as_str();
    let schema = super::reflect::reflect(txn, &[])
        .await
        .map_err(BatchError::failed(
            table,
            "reading the table definition",
            UNCHANGED,
        ))?;
    let reflected = schema.tables.get(table).ok_or_else(|| {
        BatchError::refused(
            table,
            "there is no such table in the current schema".to_owned(),
            "check the table name (and that the migration creating it ran first)",
        )
    })?;
    let current = CurrentTable::from_reflected(reflected);
    let mut norm = normalize(&current, batch)?;
    refuse_stale_trigger_functions(txn, table, &norm).await?;
    let checks = plan::prechecks(&Postgres, &current, &norm, batch.prechecks)?;
    plan::run_prechecks(txn, table, &checks).await?;

    let t = quote(DB, table);
    // Views and column triggers are carried around a type change as
    // PostgreSQL prints them. A rename rewrites those definitions (PostgreSQL
    // follows columns by number), so the renames run first and the
    // definitions are read after them; otherwise a rename plus a type change
    // would re-create the views with the old column names. A rename onto the
    // name of a column the batch drops has to wait for the drop.
    if retypes(&norm)
        && !norm.renames.is_empty()
        && norm
            .renames
            .iter()
            .all(|(_, to)| !norm.dropped.contains(to))
    {
        for (from, to) in std::mem::take(&mut norm.renames) {
            let sql = format!(
                "ALTER TABLE {t} RENAME COLUMN {} TO {}",
                quote(DB, &from),
                quote(DB, &to)
            );
            txn.execute_unprepared(&sql)
                .await
                .map_err(BatchError::failed(
                    table,
                    format!("running `{sql}`"),
                    ROLLED_BACK,
                ))?;
        }
    }
    let mut catalog = Catalog {
        constraints: query_strings(
            txn,
            table,
            "SELECT conname::text, contype::text FROM pg_constraint WHERE conrelid = $1::regclass",
            vec![t.clone().into()],
        )
        .await?,
        indexes: query_strings(
            txn,
            table,
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1",
            vec![table.into()],
        )
        .await?,
        ..Catalog::default()
    };
    if retypes(&norm) {
        catalog.views = dependent_views(txn, table).await?;
        // Likewise a trigger limited to columns (`UPDATE OF col`) blocks a type
        // change of the table: drop and re-create those too.
        catalog.triggers = query_strings(
            txn,
            table,
            "SELECT tgname::text, pg_get_triggerdef(oid) FROM pg_trigger \
             WHERE tgrelid = $1::regclass AND NOT tgisinternal AND tgattr::text <> ''",
            vec![t.into()],
        )
        .await?;
    }
    for sql in &statements(table, &norm, Some(&catalog))? {
        txn.execute_unprepared(sql)
            .await
            .map_err(BatchError::failed(
                table,
                format!("running `{sql}`"),
                ROLLED_BACK,
            ))?;
    }
    Ok(())
}

/// Refuses, before anything changes, a rename or drop of a column that a
/// trigger function on the table names as `NEW.col` or `OLD.col`:
/// PostgreSQL keeps views right by itself but never rewrites a function
/// body, so the batch would succeed and the next write firing the trigger
/// would fail (`record "new" has no field "col"`).
async fn refuse_stale_trigger_functions(
    txn: &DatabaseTransaction,
    table: &str,
    norm: &Normalized,
) -> Result<(), BatchError> {
    let gone = norm.vanishing();
    if gone.is_empty() {
        return Ok(());
    }
    let functions = query_strings(
        txn,
        table,
        "SELECT t.tgname::text, p.oid::regprocedure::text, p.prosrc FROM pg_trigger t \
         JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = $1::regclass AND NOT t.tgisinternal",
        vec![quote(DB, table).into()],
    )
    .await?;
    let mut found = Vec::new();
    for (column, doing) in &gone {
        for f in &functions {
            if record_field_used(&f[2], column) {
                found.push(format!(
                    "{doing} `{column}` breaks trigger `{}`: its function {} uses NEW/OLD.{column}",
                    f[0], f[1]
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
            "{}; PostgreSQL does not rewrite function bodies",
            found.join("; ")
        ),
        "in the same migration, before the batch, `CREATE OR REPLACE FUNCTION` with the new \
         column name (or drop the trigger before the batch and create it again after)",
    ))
}

/// Whether a function body reads `NEW.column` or `OLD.column` (quoted or
/// not, any case; string literals and comments do not count).
fn record_field_used(body: &str, column: &str) -> bool {
    let toks = crate::tokens::tokenize(body, crate::tokens::Quotes::Standard);
    toks.windows(3).any(|w| {
        (w[0].is("new") || w[0].is("old"))
            && w[1].punct('.')
            && w[2].ident().is_some_and(|c| c.eq_ignore_ascii_case(column))
    })
}

/// Whether the batch changes a column's type.
fn retypes(norm: &Normalized) -> bool {
    norm.altered().any(|(_, ch)| ch.type_.is_some())
}

/// The batch's statements, in order. With the live `catalog`, names to drop
/// are checked and views and triggers are carried around a type change;
/// without one (offline), nothing is checked and none are assumed.
fn statements(
    table: &str,
    norm: &Normalized,
    catalog: Option<&Catalog>,
) -> Result<Vec<String>, BatchError> {
    norm.require_unique_names(table)?;
    let t = quote(DB, table);
    let constraint = |name: &str, kinds: &[&str]| {
        catalog.is_none_or(|c| {
            c.constraints
                .iter()
                .any(|r| r[0] == name && kinds.contains(&r[1].as_str()))
        })
    };
    let index = |name: &str| catalog.is_none_or(|c| c.indexes.iter().any(|r| r[0] == name));
    let missing = |what: &str, name: &str| {
        BatchError::refused(
            table,
            format!("there is no {what} named `{name}` on the table"),
            "check the name (\\d+ in psql lists them)",
        )
    };

    let mut s: Vec<String> = Vec::new();
    for (name, _) in &norm.drop_foreign_keys {
        if !constraint(name, &["f"]) {
            return Err(missing("foreign key", name));
        }
        s.push(format!(
            "ALTER TABLE {t} DROP CONSTRAINT {}",
            quote(DB, name)
        ));
    }
    for name in &norm.drop_checks {
        if !constraint(name, &["c"]) {
            return Err(missing("check constraint", name));
        }
        s.push(format!(
            "ALTER TABLE {t} DROP CONSTRAINT {}",
            quote(DB, name)
        ));
    }
    for name in &norm.drop_uniques {
        let name_q = quote(DB, name);
        if catalog.is_none() {
            // A constraint or a unique index: whichever exists goes.
            s.push(format!(
                "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {name_q}"
            ));
            s.push(format!("DROP INDEX IF EXISTS {name_q}"));
        } else if constraint(name, &["u"]) {
            s.push(format!("ALTER TABLE {t} DROP CONSTRAINT {name_q}"));
        } else if index(name) {
            s.push(format!("DROP INDEX {name_q}"));
        } else {
            return Err(missing("unique constraint or index", name));
        }
    }
    for name in &norm.drop_indexes {
        if !index(name) {
            return Err(missing("index", name));
        }
        s.push(format!("DROP INDEX {}", quote(DB, name)));
    }
    let (views, triggers) = match catalog {
        Some(c) => (c.views.as_slice(), c.triggers.as_slice()),
        None => (&[][..], &[][..]),
    };
    for v in views.iter().rev() {
        let kind = if v.materialized {
            "MATERIALIZED VIEW"
        } else {
            "VIEW"
        };
        s.push(format!("DROP {kind} {}", v.name));
    }
    for trigger in triggers {
        s.push(format!("DROP TRIGGER {} ON {t}", quote(DB, &trigger[0])));
    }
    for name in &norm.dropped {
        s.push(format!("ALTER TABLE {t} DROP COLUMN {}", quote(DB, name)));
    }
    for (from, to) in &norm.renames {
        s.push(format!(
            "ALTER TABLE {t} RENAME COLUMN {} TO {}",
            quote(DB, from),
            quote(DB, to)
        ));
    }
    let cannot = |col: &str, e: String| {
        BatchError::refused(
            table,
            format!("alter_column `{col}`: cannot write it for PostgreSQL: {e}"),
            "use a type or default PostgreSQL has",
        )
    };
    let mut retype = Vec::new();
    let mut fills = Vec::new();
    let mut nullability = Vec::new();
    for (col, change) in norm.altered() {
        let c = quote(DB, &col.name);
        if let Some(ty) = &change.type_ {
            let ty = render_type(DB, ty).map_err(|e| cannot(&col.name, e))?;
            let using = match &change.using {
                Some(u) => format!("({u})::{ty}"),
                None => format!("{c}::{ty}"),
            };
            retype.push(format!("ALTER COLUMN {c} TYPE {ty} USING {using}"));
        } else if let Some(u) = &change.using {
            // A conversion without a type change: compute the new values in place.
            fills.push(format!("UPDATE {t} SET {c} = ({u})"));
        }
        match &change.default {
            Some(Some(value)) => {
                let v = render_expr(DB, value).map_err(|e| cannot(&col.name, e))?;
                retype.push(format!("ALTER COLUMN {c} SET DEFAULT {v}"));
            }
            Some(None) => retype.push(format!("ALTER COLUMN {c} DROP DEFAULT")),
            None => {}
        }
        match change.nullable {
            Some(false) => {
                if let Some(value) = new_default(change) {
                    let v = render_expr(DB, value).map_err(|e| cannot(&col.name, e))?;
                    fills.push(format!("UPDATE {t} SET {c} = {v} WHERE {c} IS NULL"));
                }
                nullability.push(format!("ALTER COLUMN {c} SET NOT NULL"));
            }
            Some(true) => nullability.push(format!("ALTER COLUMN {c} DROP NOT NULL")),
            None => {}
        }
    }
    if !retype.is_empty() {
        s.push(format!("ALTER TABLE {t} {}", retype.join(", ")));
    }
    s.extend(fills);
    if !nullability.is_empty() {
        s.push(format!("ALTER TABLE {t} {}", nullability.join(", ")));
    }
    let mut adds = Vec::new();
    for (col, def) in norm.added() {
        let text = render_column_def(DB, def).map_err(|e| cannot(&col.name, e))?;
        adds.push(format!("ADD COLUMN {text}"));
    }
    if !adds.is_empty() {
        s.push(format!("ALTER TABLE {t} {}", adds.join(", ")));
    }
    for fk in &norm.add_foreign_keys {
        s.push(format!(
            "ALTER TABLE {t} ADD CONSTRAINT {} {}",
            quote(DB, &fk.name),
            fk.clause(DB, &fk.ref_table)
        ));
    }
    for (name, cols) in &norm.add_uniques {
        s.push(format!(
            "ALTER TABLE {t} ADD CONSTRAINT {} UNIQUE ({})",
            quote(DB, name),
            cols.iter()
                .map(|c| quote(DB, c))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for (name, expr) in &norm.add_checks {
        s.push(format!(
            "ALTER TABLE {t} ADD CONSTRAINT {} CHECK ({expr})",
            quote(DB, name)
        ));
    }
    for index in &norm.create_indexes {
        s.push(
            super::index::create_index_sql(table, index)
                .map_err(|e| BatchError::refused(table, e, "write the index so this backend can build it, or create it in a migration of its own"))?,
        );
    }
    for v in views {
        let kind = if v.materialized {
            "MATERIALIZED VIEW"
        } else {
            "VIEW"
        };
        s.push(format!("CREATE {kind} {} AS {}", v.name, v.definition));
    }
    for trigger in triggers {
        s.push(trigger[1].clone());
    }
    Ok(s)
}

/// Offline: the same statements, planned on what the batch declares. Every
/// piece renders; the two assumptions (no view or column trigger blocks a
/// type change; a dropped unique is whichever of constraint or index exists)
/// are noted, and PostgreSQL fails the script's transaction where the first
/// one does not hold.
pub(super) async fn apply_offline(
    conn: &DatabaseExecutor<'_>,
    batch: &BatchAlter,
    script: &crate::offline::Script,
) -> Result<(), BatchError> {
    let out = Offline::new(conn, script, batch);
    let current = declared_table(batch, DB);
    let norm = normalize(&current, batch)?;
    out.prechecks(
        &plan::prechecks(&Postgres, &current, &norm, batch.prechecks)?,
        &current,
        &norm,
    );
    if retypes(&norm) {
        out.note(
            "online, views and triggers limited to columns (UPDATE OF) that use the table are \
             dropped and re-created around the type change; this script assumes there are none \
             (PostgreSQL refuses the ALTER, and the script stops, if there are)",
        );
    }
    if !norm.drop_uniques.is_empty() {
        out.note(
            "online, the catalog says whether each dropped unique is a constraint or an index; \
             this script drops whichever exists (IF EXISTS)",
        );
    }
    for sql in statements(&batch.table, &norm, None)? {
        out.exec(&sql).await?;
    }
    Ok(())
}

/// Applies `batch` on `conn` (see `Backend::run_batch`).
pub(super) async fn run(conn: &DatabaseExecutor<'_>, batch: &BatchAlter) -> Result<(), BatchError> {
    let table = batch.table.as_str();
    let txn =
        conn.begin()
            .await
            .map_err(BatchError::failed(table, "starting a savepoint", UNCHANGED))?;
    match apply(&txn, batch).await {
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

/// See `Backend::unconvertible`.
pub(super) fn unconvertible(
    expr: &str,
    from: &ColType,
    _from_decl: &str,
    to: &ColType,
    _to_decl: &str,
) -> Option<String> {
    let (from, to) = (kind(from), kind(to));
    if to == Kind::Bool {
        return match from {
            Kind::Int(..) => Some(format!("{expr} IS NOT NULL AND {expr} NOT IN (0, 1)")),
            Kind::Text(_) => Some(format!(
                "{expr} IS NOT NULL AND lower(trim({expr}::text)) NOT IN ('t', 'f', 'true', 'false', 'y', 'n', 'yes', 'no', 'on', 'off', '1', '0')"
            )),
            _ => None,
        };
    }
    unconvertible_with(&SYNTAX, expr, &from, &to)
}

#[cfg(test)]
mod dependents_tests {
    use super::record_field_used;

    #[test]
    fn trigger_bodies_naming_a_record_field() {
        let body =
            "BEGIN NEW.total := NEW.qty * 2; INSERT INTO log VALUES ('qty'); RETURN NEW; END";
        assert!(record_field_used(body, "qty"));
        assert!(record_field_used(
            "BEGIN IF OLD . \"Qty\" > 0 THEN END IF; END",
            "qty"
        ));
        assert!(!record_field_used(body, "id"));
        assert!(!record_field_used(
            "BEGIN PERFORM 'NEW.qty'; -- NEW.qty\nEND",
            "qty"
        ));
    }
}
