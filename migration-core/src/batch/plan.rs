//! The backend-neutral part of a batch: validating its operations against the table, and the pre-check queries.
//!
//! [`normalize`] replays the operations on a model of the table and returns
//! their net effect ([`Normalized`]): which original columns are dropped,
//! renamed or altered, which are added, and which constraints come and go,
//! with every column named as it is *after* the batch. Each backend turns
//! that into statements. [`prechecks`] turns it into `SELECT COUNT(*)`
//! queries that find the rows the batch would fail on.

use super::ddl::{quote, render_expr, render_type, same};
use super::{
    AlterColumn, BatchAlter, BatchError, ForeignKeySpec, IndexSpec, KeyKind, Op, TableKey,
};
use crate::backend::Backend;
use crate::schema::{ColType, Table};
use sea_orm::sea_query::{ColumnDef, Expr};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The table as it is before the batch.
#[derive(Debug, Clone)]
pub(crate) struct CurrentTable {
    /// Table name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<CurrentColumn>,
    /// Primary-key columns.
    pub primary_key: Vec<String>,
    /// Whether `columns` are all of the table's columns: false for the table
    /// an offline batch declares ([`super::offline::declared_table`]).
    pub complete: bool,
}

/// One column before the batch.
#[derive(Debug, Clone)]
pub(crate) struct CurrentColumn {
    /// Name.
    pub name: String,
    /// Normalized type.
    pub col_type: ColType,
    /// Declared type text (SQLite) or the normalized type's name.
    pub decl: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

impl CurrentTable {
    /// From a reflected table (PostgreSQL, MySQL/MariaDB).
    pub fn from_reflected(t: &Table) -> Self {
        CurrentTable {
            name: t.name.clone(),
            columns: t
                .columns
                .iter()
                .map(|c| CurrentColumn {
                    name: c.name.clone(),
                    col_type: c.col_type.clone(),
                    decl: c.col_type.to_string(),
                    nullable: c.nullable,
                })
                .collect(),
            primary_key: t.primary_key.clone(),
            complete: true,
        }
    }

    fn column(&self, name: &str) -> Option<&CurrentColumn> {
        self.columns.iter().find(|c| same(&c.name, name))
    }
}

/// A column of the table after the batch.
#[derive(Debug, Clone)]
pub(crate) struct FinalColumn {
    /// Name after the batch.
    pub name: String,
    /// The original column it comes from (`None`: added by the batch).
    pub source: Option<String>,
    /// The merged change to its type/nullability/default.
    pub change: Option<AlterColumn>,
    /// Its definition, when added by the batch.
    pub added: Option<ColumnDef>,
}

/// The net effect of a batch, every column named as after the batch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Normalized {
    /// Renames of original columns that survive, in the order they were asked.
    pub renames: Vec<(String, String)>,
    /// Original columns that are dropped (original names).
    pub dropped: Vec<String>,
    /// Columns after the batch: originals in their order, then additions.
    pub columns: Vec<FinalColumn>,
    /// Foreign keys to drop: name, and the definition when the batch gave it.
    pub drop_foreign_keys: Vec<(String, Option<ForeignKeySpec>)>,
    /// Unique constraints (or unique indexes) to drop, by name.
    pub drop_uniques: Vec<String>,
    /// Unique constraints to drop that have no name the backend can drop
    /// them by (SQLite's inline `UNIQUE`), by their original columns.
    pub drop_uniques_on: Vec<Vec<String>>,
    /// Checks to drop, by name.
    pub drop_checks: Vec<String>,
    /// Indexes to drop, by name.
    pub drop_indexes: Vec<String>,
    /// Foreign keys to add.
    pub add_foreign_keys: Vec<ForeignKeySpec>,
    /// Unique constraints to add: (name, columns).
    pub add_uniques: Vec<(String, Vec<String>)>,
    /// Checks to add: (name, expression).
    pub add_checks: Vec<(String, String)>,
    /// Indexes to create.
    pub create_indexes: Vec<IndexSpec>,
}

impl Normalized {
    /// Original columns whose type, nullability or default changes: (final column, change).
    pub fn altered(&self) -> impl Iterator<Item = (&FinalColumn, &AlterColumn)> {
        self.columns
            .iter()
            .filter(|c| c.source.is_some())
            .filter_map(|c| c.change.as_ref().map(|ch| (c, ch)))
    }

    /// Original columns whose name goes away (renamed or dropped), each
    /// with what happens to it ("renaming", "dropping"): what views,
    /// triggers and other objects naming the column would break on.
    pub fn vanishing(&self) -> Vec<(&str, &'static str)> {
        self.renames
            .iter()
            .map(|(from, _)| (from.as_str(), "renaming"))
            .chain(self.dropped.iter().map(|c| (c.as_str(), "dropping")))
            .collect()
    }

    /// Refuses uniques still named only by their columns: PostgreSQL and
    /// MySQL/MariaDB name every key, so [`resolve_names`] found a name for
    /// each one it could; what is left matched nothing.
    pub fn require_unique_names(&self, table: &str) -> Result<(), BatchError> {
        match self.drop_uniques_on.first() {
            None => Ok(()),
            Some(cols) => Err(BatchError::refused(
                table,
                format!(
                    "drop_unique_on: no UNIQUE constraint or unique index is on exactly ({})",
                    cols.join(", ")
                ),
                "check the columns and their order",
            )),
        }
    }

    /// Columns added by the batch.
    pub fn added(&self) -> impl Iterator<Item = (&FinalColumn, &ColumnDef)> {
        self.columns
            .iter()
            .filter_map(|c| c.added.as_ref().map(|d| (c, d)))
    }

    /// Whether a name is dropped (original names).
    pub fn is_dropped(&self, name: &str) -> bool {
        self.dropped.iter().any(|d| same(d, name))
    }

    /// The batch that is left once the renames have run: the same net
    /// effect, with every column already under its final name.
    pub fn without_renames(&self, table: &str, prechecks: bool) -> BatchAlter {
        let mut b = BatchAlter::new(table);
        b.prechecks = prechecks;
        for (name, def) in &self.drop_foreign_keys {
            match def {
                Some(fk) => b.drop_foreign_key_def(fk.clone()),
                None => b.drop_foreign_key(name),
            };
        }
        for name in &self.drop_uniques {
            b.drop_unique(name);
        }
        for cols in &self.drop_uniques_on {
            let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
            b.drop_unique_on(&cols);
        }
        for name in &self.drop_checks {
            b.drop_check(name);
        }
        for name in &self.drop_indexes {
            b.drop_index(name);
        }
        for name in &self.dropped {
            b.drop_column(name);
        }
        for (col, change) in self.altered() {
            b.alter_column(&col.name, change.clone());
        }
        for (_, def) in self.added() {
            b.add_column(def.clone());
        }
        for fk in &self.add_foreign_keys {
            b.add_foreign_key(fk.clone());
        }
        for (name, cols) in &self.add_uniques {
            b.ops.push(Op::AddUnique {
                name: name.clone(),
                columns: cols.clone(),
            });
        }
        for (name, expr) in &self.add_checks {
            b.add_check(name, expr);
        }
        for index in &self.create_indexes {
            b.create_index(index.clone());
        }
        b
    }
}

struct State {
    source: Option<String>,
    name: String,
    dropped: bool,
    change: Option<AlterColumn>,
    added: Option<ColumnDef>,
}

/// Replays `batch` on `current` and returns its net effect.
///
/// # Errors
/// [`BatchError::Refused`] for an operation that does not fit the table at
/// its point in the batch (unknown or duplicate column, a primary-key column
/// dropped, an unnamed foreign key…).
pub(crate) fn normalize(
    current: &CurrentTable,
    batch: &BatchAlter,
) -> Result<Normalized, BatchError> {
    let table = &batch.table;
    let refuse = |problem: String, fix: &str| BatchError::refused(table, problem, fix);
    let mut cols: Vec<State> = current
        .columns
        .iter()
        .map(|c| State {
            source: Some(c.name.clone()),
            name: c.name.clone(),
            dropped: false,
            change: None,
            added: None,
        })
        .collect();
    let live =
        |cols: &[State], name: &str| cols.iter().position(|c| !c.dropped && same(&c.name, name));
    let existing = |cols: &[State]| {
        cols.iter()
            .filter(|c| !c.dropped)
            .map(|c| format!("`{}`", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut renames: Vec<(usize, String, String)> = Vec::new();
    let mut out = Normalized::default();
    // Column references of constraint ops, as indexes into `cols`, resolved at the end.
    let mut fks: Vec<(ForeignKeySpec, Vec<usize>)> = Vec::new();
    let mut uniques: Vec<(String, Vec<usize>)> = Vec::new();
    let mut indexes: Vec<(IndexSpec, Vec<usize>)> = Vec::new();
    let resolve = |cols: &[State],
                   names: &[String],
                   what: &str|
     -> Result<Vec<usize>, BatchError> {
        if names.is_empty() {
            return Err(refuse(
                format!("{what} names no columns"),
                "list its columns",
            ));
        }
        names
            .iter()
            .map(|n| {
                live(cols, n).ok_or_else(|| {
                    refuse(
                        format!("{what} uses column `{n}`, which the table does not have at that point (it has {})", existing(cols)),
                        "check the column name and the order of the operations",
                    )
                })
            })
            .collect()
    };
    for op in &batch.ops {
        match op {
            Op::AddColumn(def) => {
                let name = def.get_column_name();
                if live(&cols, &name).is_some() {
                    return Err(refuse(
                        format!("add_column: column `{name}` already exists"),
                        "drop it first, or alter it with alter_column",
                    ));
                }
                cols.push(State {
                    source: None,
                    name,
                    dropped: false,
                    change: None,
                    added: Some(def.clone()),
                });
            }
            Op::DropColumn { name, .. } => {
                let i = live(&cols, name).ok_or_else(|| {
                    refuse(
                        format!(
                            "drop_column: no column `{name}` (the table has {})",
                            existing(&cols)
                        ),
                        "check the column name",
                    )
                })?;
                if let Some(src) = &cols[i].source
                    && current.primary_key.iter().any(|p| same(p, src))
                {
                    return Err(refuse(
                        format!("drop_column: `{name}` is part of the primary key"),
                        "create a new table with the key you want and copy the rows into it",
                    ));
                }
                cols[i].dropped = true;
            }
            Op::RenameColumn { from, to } => {
                let i = live(&cols, from).ok_or_else(|| {
                    refuse(
                        format!(
                            "rename_column: no column `{from}` (the table has {})",
                            existing(&cols)
                        ),
                        "check the column name",
                    )
                })?;
                if !same(from, to) && live(&cols, to).is_some() {
                    return Err(refuse(
                        format!("rename_column: `{to}` already exists"),
                        "drop or rename that column first",
                    ));
                }
                if cols[i].added.is_some() {
                    return Err(refuse(
                        format!("rename_column: `{from}` is added by this same batch"),
                        "give it its final name in add_column",
                    ));
                }
                renames.push((i, cols[i].name.clone(), to.clone()));
                cols[i].name = to.clone();
            }
            Op::AlterColumn { name, change } => {
                let i = live(&cols, name).ok_or_else(|| {
                    refuse(
                        format!(
                            "alter_column: no column `{name}` (the table has {})",
                            existing(&cols)
                        ),
                        "check the column name",
                    )
                })?;
                if cols[i].added.is_some() {
                    return Err(refuse(
                        format!("alter_column: `{name}` is added by this same batch"),
                        "put the definition you want in add_column",
                    ));
                }
                cols[i].change = Some(match &cols[i].change {
                    Some(earlier) => earlier.then(change),
                    None => change.clone(),
                });
            }
            Op::AddForeignKey(fk) => {
                if fk.name.is_empty() {
                    return Err(refuse(
                        "add_foreign_key: the foreign key has no name".into(),
                        "name it (ForeignKey::create().name(\"fk-…\") or ForeignKeySpec::new): the name is how it is dropped later",
                    ));
                }
                if fk.ref_table.is_empty() || fk.columns.len() != fk.ref_columns.len() {
                    return Err(refuse(
                        format!(
                            "add_foreign_key `{}`: it needs a referenced table and as many referenced columns as columns",
                            fk.name
                        ),
                        "complete the foreign key definition",
                    ));
                }
                let idx = resolve(&cols, &fk.columns, &format!("foreign key `{}`", fk.name))?;
                fks.push((fk.clone(), idx));
            }
            Op::DropForeignKey { name, def } => {
                out.drop_foreign_keys.push((name.clone(), def.clone()))
            }
            Op::AddUnique { name, columns } => {
                let idx = resolve(&cols, columns, &format!("unique constraint `{name}`"))?;
                uniques.push((name.clone(), idx));
            }
            Op::DropUnique { name, columns } if name.is_empty() => {
                let columns = columns.as_deref().unwrap_or_default();
                let idx = resolve(&cols, columns, "the unique constraint to drop")?;
                out.drop_uniques_on.push(
                    idx.iter()
                        .map(|&i| cols[i].source.clone().unwrap_or_default())
                        .collect(),
                );
            }
            Op::DropUnique { name, .. } => out.drop_uniques.push(name.clone()),
            Op::AddCheck { name, expr } => {
                if name.is_empty() {
                    return Err(refuse(
                        "add_check: the check has no name".into(),
                        "name it: the name is how it is dropped later",
                    ));
                }
                out.add_checks.push((name.clone(), expr.clone()));
            }
            Op::DropCheck { name, .. } => out.drop_checks.push(name.clone()),
            Op::CreateIndex(index) => {
                if index.name.is_empty() {
                    return Err(refuse(
                        "create_index: the index has no name".into(),
                        "name it: the name is how it is dropped later",
                    ));
                }
                // Expression parts name no column to follow through the
                // batch (their text is kept as written); column parts do.
                let named: Vec<String> = (0..index.columns.len())
                    .filter(|&i| !index.is_expression(i))
                    .map(|i| index.columns[i].clone())
                    .collect();
                let idx = if named.is_empty() {
                    Vec::new()
                } else {
                    resolve(&cols, &named, &format!("index `{}`", index.name))?
                };
                indexes.push((index.clone(), idx));
            }
            Op::DropIndex { name, .. } => out.drop_indexes.push(name.clone()),
        }
    }
    let final_names =
        |idx: &[usize]| -> Vec<String> { idx.iter().map(|&i| cols[i].name.clone()).collect() };
    for (fk, idx) in &fks {
        if idx.iter().any(|&i| cols[i].dropped) {
            continue;
        }
        let mut fk = fk.clone();
        fk.columns = final_names(idx);
        out.add_foreign_keys.push(fk);
    }
    for (name, idx) in &uniques {
        if !idx.iter().any(|&i| cols[i].dropped) {
            out.add_uniques.push((name.clone(), final_names(idx)));
        }
    }
    for (index, idx) in &indexes {
        if !idx.iter().any(|&i| cols[i].dropped) {
            let mut index = index.clone();
            let mut renamed = final_names(idx).into_iter();
            for i in 0..index.columns.len() {
                if !index.is_expression(i)
                    && let Some(name) = renamed.next()
                {
                    index.columns[i] = name;
                }
            }
            out.create_indexes.push(index);
        }
    }
    out.renames = renames
        .into_iter()
        .filter(|(i, _, _)| !cols[*i].dropped)
        .map(|(_, from, to)| (from, to))
        .collect();
    for c in cols {
        match (c.dropped, c.source) {
            (true, Some(src)) => out.dropped.push(src),
            (true, None) => {}
            (false, source) => out.columns.push(FinalColumn {
                name: c.name,
                source,
                change: c.change.filter(|ch| !ch.is_empty()),
                added: c.added,
            }),
        }
    }
    Ok(out)
}

/// One pre-check: a `SELECT COUNT(*)` that must return 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Precheck {
    /// The counting query.
    pub sql: String,
    /// What is wrong when the count is not 0 (`{n}` is replaced by the count).
    pub problem: String,
    /// How to fix it.
    pub fix: String,
    /// Whether it runs even under `skip_prechecks()`: the backend would not
    /// refuse these rows but change them silently (SQLite's CAST; a new NOT
    /// NULL column's implicit default on MySQL, which is also one cheap probe).
    pub always: bool,
}

/// Whether [`prechecks`] can write the table after the batch as a query
/// (the pre-checks of new unique constraints, checks and foreign keys need
/// it): with every column known, or when the batch changes no column (the
/// table as it is), but not offline on a table known only in part.
pub(crate) fn projection_known(current: &CurrentTable, norm: &Normalized) -> bool {
    current.complete
        || (norm.renames.is_empty()
            && norm.altered().next().is_none()
            && norm.added().next().is_none())
}

/// The `SELECT … FROM table` projection of the table after the batch, for
/// pre-checks on new constraints: each final column computed from the old row.
fn projection(
    be: &dyn Backend,
    current: &CurrentTable,
    norm: &Normalized,
) -> Result<String, BatchError> {
    let db = be.dialect().db_backend();
    let table = current.name.as_str();
    if !current.complete {
        // The batch changes no column (see `projection_known`).
        return Ok(format!("SELECT * FROM {}", quote(db, table)));
    }
    let mut exprs = Vec::new();
    for c in &norm.columns {
        let expr = match (&c.source, &c.added) {
            (Some(src), _) => source_expr(db, table, src, c.change.as_ref())?,
            (None, Some(def)) => match &def.get_column_spec().default {
                Some(d) => render_expr(db, d).map_err(|e| bad_expr(table, e))?,
                None => "NULL".to_owned(),
            },
            (None, None) => "NULL".to_owned(),
        };
        exprs.push(format!("{expr} AS {}", quote(db, &c.name)));
    }
    Ok(format!(
        "SELECT {} FROM {}",
        exprs.join(", "),
        quote(db, table)
    ))
}

fn bad_expr(table: &str, e: String) -> BatchError {
    BatchError::refused(
        table,
        format!("cannot write an expression: {e}"),
        "use an expression this backend supports",
    )
}

/// The expression for an original column after the batch, over the old row
/// (without type conversion): its `using`, or `COALESCE` with a new default
/// when it becomes NOT NULL.
pub(crate) fn source_expr(
    db: DbBackend,
    table: &str,
    source: &str,
    change: Option<&AlterColumn>,
) -> Result<String, BatchError> {
    let mut expr = quote(db, source);
    if let Some(ch) = change {
        if let Some(using) = &ch.using {
            expr = format!("({using})");
        }
        if ch.nullable == Some(false)
            && let Some(Some(default)) = &ch.default
        {
            let d = render_expr(db, default).map_err(|e| bad_expr(table, e))?;
            expr = format!("COALESCE({expr}, {d})");
        }
    }
    Ok(expr)
}

/// The pre-check queries for a batch; with `all` false (`skip_prechecks()`)
/// only those that guard against a silent change ([`Precheck::always`]).
///
/// # Errors
/// [`BatchError::Refused`] when a type or default cannot be written for this backend.
pub(crate) fn prechecks(
    be: &dyn Backend,
    current: &CurrentTable,
    norm: &Normalized,
    all: bool,
) -> Result<Vec<Precheck>, BatchError> {
    let db = be.dialect().db_backend();
    let table = &current.name;
    let t = quote(db, table);
    let mut out = Vec::new();
    for (col, change) in norm.altered() {
        let Some(src) = &col.source else { continue };
        let Some(before) = current.column(src) else {
            continue;
        };
        let q = quote(db, src);
        if let (Some(ty), None) = (&change.type_, &change.using) {
            let to_decl = render_type(db, ty).map_err(|e| {
                BatchError::refused(
                    table,
                    format!(
                        "alter_column `{}`: type {ty:?} is not available on {}: {e}",
                        col.name,
                        db_name(db)
                    ),
                    "pick a type this backend has (or ColumnType::custom(\"…\"))",
                )
            })?;
            let to = be.col_type_of(ty);
            if let Some(pred) = be.unconvertible(&q, &before.col_type, &before.decl, &to, &to_decl)
            {
                out.push(Precheck {
                    sql: format!("SELECT COUNT(*) FROM {t} WHERE {pred}"),
                    problem: format!(
                        "{{n}} row(s) have a value in `{src}` that cannot become {to_decl} (find them with: SELECT * FROM {t} WHERE {pred})"
                    ),
                    fix: "fix or delete those rows first, or give the conversion with AlterColumn::using(\"…\")".into(),
                    always: be.converts_silently(),
                });
            }
        }
        let fills = matches!(change.default, Some(Some(_)));
        if change.nullable == Some(false) && !fills && before.nullable {
            out.push(Precheck {
                sql: format!("SELECT COUNT(*) FROM {t} WHERE {q} IS NULL"),
                problem: format!("{{n}} row(s) have NULL in `{src}`, which this batch makes NOT NULL"),
                fix: "fill them first (an UPDATE, or data::backfill), or give a default in the same change: AlterColumn::new().not_null().default(…) turns the NULLs into it".into(),
                always: false,
            });
        }
    }
    for (col, def) in norm.added() {
        let spec = def.get_column_spec();
        if spec.nullable == Some(false)
            && spec.default.is_none()
            && !spec.auto_increment
            && spec.generated.is_none()
        {
            out.push(Precheck {
                sql: format!("SELECT COUNT(*) FROM (SELECT 1 AS x FROM {t} LIMIT 1) batch_any"),
                problem: format!("`{t}` has rows, and the new NOT NULL column `{}` has no default to fill them", col.name),
                fix: "give it a default (.default(…)), or add it nullable, fill it (data::backfill), then make it NOT NULL with alter_column".into(),
                always: true,
            });
        }
    }
    let needs_projection = !norm.add_uniques.is_empty()
        || !norm.add_checks.is_empty()
        || !norm.add_foreign_keys.is_empty();
    if needs_projection && projection_known(current, norm) {
        let proj = projection(be, current, norm)?;
        for (name, cols) in &norm.add_uniques {
            let list = cols
                .iter()
                .map(|c| quote(db, c))
                .collect::<Vec<_>>()
                .join(", ");
            let not_null = cols
                .iter()
                .map(|c| format!("{} IS NOT NULL", quote(db, c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            out.push(Precheck {
                sql: format!(
                    "SELECT COUNT(*) FROM (SELECT {list} FROM ({proj}) batch_p WHERE {not_null} GROUP BY {list} HAVING COUNT(*) > 1) batch_d"
                ),
                problem: format!("{{n}} value(s) of ({list}) occur more than once, so unique constraint `{name}` cannot hold"),
                fix: "remove or change the duplicate rows first".into(),
                always: false,
            });
        }
        for (name, expr) in &norm.add_checks {
            out.push(Precheck {
                sql: format!("SELECT COUNT(*) FROM ({proj}) batch_p WHERE NOT ({expr})"),
                problem: format!("{{n}} row(s) fail CHECK ({expr}) of constraint `{name}`"),
                fix: "fix or delete those rows first".into(),
                always: false,
            });
        }
        for fk in &norm.add_foreign_keys {
            let not_null = fk
                .columns
                .iter()
                .map(|c| format!("batch_p.{} IS NOT NULL", quote(db, c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let matches = fk
                .columns
                .iter()
                .zip(&fk.ref_columns)
                .map(|(c, r)| format!("batch_r.{} = batch_p.{}", quote(db, r), quote(db, c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            out.push(Precheck {
                sql: format!(
                    "SELECT COUNT(*) FROM ({proj}) batch_p WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {} batch_r WHERE {matches})",
                    quote(db, &fk.ref_table)
                ),
                problem: format!(
                    "{{n}} row(s) reference rows of `{}` that do not exist, so foreign key `{}` cannot hold",
                    fk.ref_table, fk.name
                ),
                fix: "delete those rows, set their reference to NULL, or add the missing rows first".into(),
                always: false,
            });
        }
    }
    out.retain(|c| all || c.always);
    Ok(out)
}

fn db_name(db: DbBackend) -> &'static str {
    crate::backend::Dialect::of_db_backend(db).name()
}

/// Runs the pre-checks; the first one that counts rows refuses the batch.
///
/// # Errors
/// [`BatchError::Refused`] with the count, or [`BatchError::Failed`] when a query fails.
pub(crate) async fn run_prechecks(
    conn: &impl ConnectionTrait,
    table: &str,
    checks: &[Precheck],
) -> Result<(), BatchError> {
    for check in checks {
        let stmt = Statement::from_string(conn.get_database_backend(), check.sql.clone());
        let count = conn
            .query_one_raw(stmt)
            .await
            .and_then(|row| match row {
                Some(row) => row.try_get_by_index::<i64>(0),
                None => Ok(0),
            })
            .map_err(BatchError::failed(
                table,
                format!("running the pre-check `{}`", check.sql),
                "nothing was changed",
            ))?;
        if count > 0 {
            return Err(BatchError::refused(
                table,
                check.problem.replace("{n}", &count.to_string()),
                check.fix.clone(),
            ));
        }
    }
    Ok(())
}

/// The default of `change` as an expression, if it sets one.
pub(crate) fn new_default(change: &AlterColumn) -> Option<&Expr> {
    match &change.default {
        Some(Some(e)) => Some(e),
        _ => None,
    }
}

/// What kind of values a column type holds, for the convertibility pre-checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Integers in `[min, max]`.
    Int(i128, i128),
    /// Exact decimals with at most this many digits before the point.
    Exact(Option<u32>),
    /// Floating point.
    Approx,
    /// Booleans.
    Bool,
    /// Strings of at most this many characters.
    Text(Option<u32>),
    /// One of these labels.
    Enum(Vec<String>),
    /// Anything else: no pre-check (the database converts or fails).
    Other,
}

/// The [`Kind`] of a normalized column type.
pub(crate) fn kind(t: &ColType) -> Kind {
    match t {
        ColType::SmallInt => Kind::Int(i16::MIN.into(), i16::MAX.into()),
        ColType::Int => Kind::Int(i32::MIN.into(), i32::MAX.into()),
        ColType::BigInt => Kind::Int(i64::MIN.into(), i64::MAX.into()),
        ColType::Bool => Kind::Bool,
        ColType::Char(n) | ColType::String(n) => Kind::Text(*n),
        ColType::Text => Kind::Text(None),
        ColType::Decimal(Some((p, s))) => Kind::Exact(Some(p.saturating_sub(*s))),
        ColType::Decimal(None) => Kind::Exact(None),
        ColType::Float | ColType::Double => Kind::Approx,
        ColType::Enum { values, .. } if !values.is_empty() => Kind::Enum(values.clone()),
        ColType::Other(s) => match s.as_str() {
            "tinyint" => Kind::Int(i8::MIN.into(), i8::MAX.into()),
            "tinyint unsigned" => Kind::Int(0, u8::MAX.into()),
            "smallint unsigned" => Kind::Int(0, u16::MAX.into()),
            "mediumint" => Kind::Int(-8_388_608, 8_388_607),
            "int unsigned" => Kind::Int(0, u32::MAX.into()),
            "bigint unsigned" => Kind::Int(0, u64::MAX.into()),
            "tinytext" | "mediumtext" | "longtext" => Kind::Text(None),
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// Digits needed to write every integer in `[min, max]`.
pub(crate) fn int_digits(min: i128, max: i128) -> u32 {
    let biggest = min.unsigned_abs().max(max.unsigned_abs());
    biggest.checked_ilog10().map_or(1, |d| d + 1)
}

/// How a backend writes the pieces of a convertibility predicate.
pub(crate) struct PredicateSyntax {
    /// `{e}` as text.
    pub as_text: fn(&str) -> String,
    /// A predicate: text `{t}` does NOT match regular expression `{re}`.
    pub not_matches: fn(&str, &str) -> String,
    /// `{t}` (text) as an exact number.
    pub text_to_number: fn(&str) -> String,
    /// `{e}` truncated to an integer.
    pub trunc: fn(&str) -> String,
    /// Character length of text `{t}`.
    pub length: fn(&str) -> String,
    /// Whether a guarded cast needs `CASE` (PostgreSQL errors on a bad cast; MySQL does not).
    pub guard_casts: bool,
}

const INT_RE: &str = "^[+-]?[0-9]+$";
const NUM_RE: &str = "^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$";

/// The predicate for rows of `e` (a `from` value) that cannot become `to`,
/// shared by PostgreSQL and MySQL/MariaDB.
pub(crate) fn unconvertible_with(
    syn: &PredicateSyntax,
    e: &str,
    from: &Kind,
    to: &Kind,
) -> Option<String> {
    let text = (syn.as_text)(e);
    let trimmed = format!("TRIM({text})");
    let guarded = |re: &str, check: String| {
        if syn.guard_casts {
            format!(
                "CASE WHEN {} THEN true ELSE {check} END",
                (syn.not_matches)(&trimmed, re)
            )
        } else {
            format!("({} OR {check})", (syn.not_matches)(&trimmed, re))
        }
    };
    let pred = match (to, from) {
        (Kind::Int(min, max), Kind::Int(fmin, fmax)) => {
            if fmin >= min && fmax <= max {
                return None;
            }
            format!("{e} NOT BETWEEN {min} AND {max}")
        }
        (Kind::Int(min, max), Kind::Exact(_) | Kind::Approx) => format!(
            "({e} <> {} OR {e} NOT BETWEEN {min} AND {max})",
            (syn.trunc)(e)
        ),
        (Kind::Int(min, max), Kind::Text(_) | Kind::Enum(_)) => guarded(
            INT_RE,
            format!(
                "{} NOT BETWEEN {min} AND {max}",
                (syn.text_to_number)(&trimmed)
            ),
        ),
        (Kind::Exact(Some(d)), Kind::Int(fmin, fmax)) => {
            if int_digits(*fmin, *fmax) <= *d {
                return None;
            }
            format!("ABS({e}) >= 1e{d}")
        }
        (Kind::Exact(Some(d)), Kind::Exact(fd)) => {
            if fd.is_some_and(|fd| fd <= *d) {
                return None;
            }
            format!("ABS({e}) >= 1e{d}")
        }
        (Kind::Exact(Some(d)), Kind::Approx) => format!("ABS({e}) >= 1e{d}"),
        (Kind::Exact(d), Kind::Text(_) | Kind::Enum(_)) => match d {
            Some(d) => guarded(
                NUM_RE,
                format!("ABS({}) >= 1e{d}", (syn.text_to_number)(&trimmed)),
            ),
            None => (syn.not_matches)(&trimmed, NUM_RE),
        },
        (Kind::Approx, Kind::Text(_) | Kind::Enum(_)) => (syn.not_matches)(&trimmed, NUM_RE),
        (Kind::Text(Some(n)), from) => {
            if matches!(from, Kind::Text(Some(m)) if m <= n) {
                return None;
            }
            format!("{} > {n}", (syn.length)(&text))
        }
        (Kind::Enum(values), _) => {
            let list: Vec<String> = values
                .iter()
                .map(|v| format!("'{}'", v.replace('\'', "''")))
                .collect();
            format!("{text} NOT IN ({})", list.join(", "))
        }
        _ => return None,
    };
    Some(format!("{e} IS NOT NULL AND {pred}"))
}

/// The batch with each drop given by definition pointed at the object's
/// real name in `keys` (the live catalog's, [`crate::backend::Backend::table_keys`]):
///
/// * a foreign key dropped with its definition whose name the table does not
///   have takes the name of the one key with the same columns and target
///   (the backend named it: `orders_customer_id_fkey`, `orders_ibfk_1`);
/// * a unique dropped by its columns ([`BatchAlter::drop_unique_on`]), or
///   by a name the table does not have, takes the name of the one UNIQUE
///   constraint or unique index on exactly those columns; one without a
///   droppable name (SQLite's inline `UNIQUE`) stays a drop by columns.
///
/// # Errors
/// [`BatchError::Refused`] when a unique named by its columns matches no key
/// or several, or a foreign key's definition matches several.
pub(crate) fn resolve_names(
    batch: &BatchAlter,
    keys: &[TableKey],
) -> Result<BatchAlter, BatchError> {
    let table = batch.table.as_str();
    let same_list =
        |a: &[String], b: &[String]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y));
    let has_name = |kind: KeyKind, name: &str| {
        keys.iter()
            .any(|k| k.kind == kind && k.name.as_deref().is_some_and(|n| same(n, name)))
    };
    let listed = |found: &[&TableKey]| {
        if found.is_empty() {
            return "none".to_owned();
        }
        found
            .iter()
            .map(|k| format!("`{}`", k.name.as_deref().unwrap_or("(unnamed)")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = batch.clone();
    for op in &mut out.ops {
        match op {
            Op::DropForeignKey {
                name,
                def: Some(def),
            } if !has_name(KeyKind::ForeignKey, name) => {
                let found: Vec<&TableKey> = keys
                    .iter()
                    .filter(|k| {
                        k.kind == KeyKind::ForeignKey
                            && same_list(&k.columns, &def.columns)
                            && k.ref_table
                                .as_deref()
                                .is_some_and(|t| same(t, &def.ref_table))
                            && same_list(&k.ref_columns, &def.ref_columns)
                    })
                    .collect();
                match found.as_slice() {
                    [one] => {
                        if let Some(real) = &one.name {
                            *name = real.clone();
                        }
                    }
                    [] => {} // The backend says there is no such key.
                    many => {
                        return Err(BatchError::refused(
                            table,
                            format!(
                                "drop_foreign_key_def: no foreign key is named `{name}`, and {} have its columns and target: {}",
                                many.len(),
                                listed(many)
                            ),
                            "drop the one you mean by its name with drop_foreign_key(\"…\")",
                        ));
                    }
                }
            }
            Op::DropUnique {
                name,
                columns: Some(columns),
            } if name.is_empty() || !has_name(KeyKind::Unique, name) => {
                let found: Vec<&TableKey> = keys
                    .iter()
                    .filter(|k| k.kind == KeyKind::Unique && same_list(&k.columns, columns))
                    .collect();
                match found.as_slice() {
                    [one] => *name = one.name.clone().unwrap_or_default(),
                    [] if !name.is_empty() => {} // The backend says there is no such unique.
                    [] => {
                        let on_table: Vec<&TableKey> =
                            keys.iter().filter(|k| k.kind == KeyKind::Unique).collect();
                        return Err(BatchError::refused(
                            table,
                            format!(
                                "drop_unique_on: no UNIQUE constraint or unique index is on exactly ({}); the table's uniques are {}",
                                columns.join(", "),
                                if on_table.is_empty() {
                                    "none".to_owned()
                                } else {
                                    on_table
                                        .iter()
                                        .map(|k| format!("({})", k.columns.join(", ")))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                }
                            ),
                            "check the columns and their order",
                        ));
                    }
                    many => {
                        return Err(BatchError::refused(
                            table,
                            format!(
                                "drop_unique_on: {} uniques are on ({}): {}",
                                many.len(),
                                columns.join(", "),
                                listed(many)
                            ),
                            "drop the one you mean by its name with drop_unique(\"…\")",
                        ));
                    }
                }
            }
            Op::DropIndex {
                name,
                def: Some(def),
            } if name.is_empty() || !has_name(KeyKind::Index, name) => {
                let found: Vec<&TableKey> = keys
                    .iter()
                    .filter(|k| k.kind == KeyKind::Index && same_list(&k.columns, &def.columns))
                    .collect();
                match found.as_slice() {
                    [one] => *name = one.name.clone().unwrap_or_default(),
                    [] if !name.is_empty() => {} // The backend says there is no such index.
                    [] => {
                        return Err(BatchError::refused(
                            table,
                            format!(
                                "drop_index_on: no index is on exactly ({}); the table's indexes \
                                 are {}",
                                def.columns.join(", "),
                                listed(
                                    &keys
                                        .iter()
                                        .filter(|k| k.kind == KeyKind::Index)
                                        .collect::<Vec<_>>()
                                )
                            ),
                            "check the columns and their order",
                        ));
                    }
                    many => {
                        return Err(BatchError::refused(
                            table,
                            format!(
                                "drop_index_on: {} indexes are on ({}): {}",
                                many.len(),
                                def.columns.join(", "),
                                listed(many)
                            ),
                            "drop the one you mean by its name with drop_index(\"…\")",
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod resolve_tests {
    use super::*;
    use crate::batch::{ForeignKeySpec, KeyKind, TableKey};

    fn key(
        kind: KeyKind,
        name: Option<&str>,
        cols: &[&str],
        target: Option<(&str, &[&str])>,
    ) -> TableKey {
        TableKey {
            kind,
            name: name.map(str::to_owned),
            columns: cols.iter().map(|c| (*c).to_owned()).collect(),
            ref_table: target.map(|(t, _)| t.to_owned()),
            ref_columns: target
                .map(|(_, c)| c.iter().map(|c| (*c).to_owned()).collect())
                .unwrap_or_default(),
        }
    }

    fn names(b: &BatchAlter) -> Vec<String> {
        b.ops
            .iter()
            .map(|op| match op {
                Op::DropForeignKey { name, .. } | Op::DropUnique { name, .. } => name.clone(),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn a_foreign_key_named_by_the_backend_is_found_by_its_definition() {
        let keys = [
            key(
                KeyKind::ForeignKey,
                Some("orders_ibfk_1"),
                &["customer_id"],
                Some(("customers", &["id"])),
            ),
            key(
                KeyKind::ForeignKey,
                Some("orders_ibfk_2"),
                &["shop_id"],
                Some(("shops", &["id"])),
            ),
        ];
        let mut b = BatchAlter::new("orders");
        b.drop_foreign_key_def(ForeignKeySpec::new(
            "fk-orders-customer_id",
            &["customer_id"],
            "customers",
            &["id"],
        ));
        assert_eq!(names(&resolve_names(&b, &keys).unwrap()), ["orders_ibfk_1"]);
        // Its own name wins when the table has it.
        let keys = [key(
            KeyKind::ForeignKey,
            Some("fk-orders-customer_id"),
            &["customer_id"],
            Some(("customers", &["id"])),
        )];
        assert_eq!(
            names(&resolve_names(&b, &keys).unwrap()),
            ["fk-orders-customer_id"]
        );
        // No match: left to the backend, which says the key does not exist.
        assert_eq!(
            names(&resolve_names(&b, &[]).unwrap()),
            ["fk-orders-customer_id"]
        );
    }

    #[test]
    fn two_foreign_keys_with_one_definition_are_refused() {
        let keys = [
            key(KeyKind::ForeignKey, Some("a"), &["c"], Some(("t", &["id"]))),
            key(KeyKind::ForeignKey, Some("b"), &["c"], Some(("t", &["id"]))),
        ];
        let mut b = BatchAlter::new("x");
        b.drop_foreign_key_def(ForeignKeySpec::new("fk-x-c", &["c"], "t", &["id"]));
        let e = resolve_names(&b, &keys).unwrap_err().to_string();
        assert!(
            e.contains("`a`, `b`") && e.contains("drop_foreign_key(\""),
            "{e}"
        );
    }

    #[test]
    fn a_unique_is_found_by_its_columns() {
        let keys = [
            key(KeyKind::Unique, Some("users_email_key"), &["email"], None),
            key(KeyKind::Unique, None, &["org", "slug"], None),
        ];
        let mut b = BatchAlter::new("users");
        b.drop_unique_on(&["email"])
            .drop_unique_on(&["org", "slug"]);
        assert_eq!(
            names(&resolve_names(&b, &keys).unwrap()),
            ["users_email_key", ""]
        );
        let mut wrong = BatchAlter::new("users");
        wrong.drop_unique_on(&["slug", "org"]);
        let e = resolve_names(&wrong, &keys).unwrap_err().to_string();
        assert!(
            e.contains("(slug, org)") && e.contains("(email), (org, slug)"),
            "{e}"
        );
        // A name the table lacks falls back to the columns.
        let mut named = BatchAlter::new("users");
        named.drop_unique_def("idx-users-email", &["email"]);
        assert_eq!(
            names(&resolve_names(&named, &keys).unwrap()),
            ["users_email_key"]
        );
    }
}
