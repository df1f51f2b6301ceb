//! SQLite's `CREATE INDEX`: expression key parts, `DESC` and partial predicates (no access methods, operator classes or `INCLUDE`).

use crate::backend::{refuse_index, refuse_postgres_only};
use crate::batch::IndexSpec;
use crate::batch::ddl::quote;
use sea_orm::DbBackend;

const DB: DbBackend = DbBackend::Sqlite;

/// `CREATE [UNIQUE] INDEX name ON table (parts) [WHERE …]`.
///
/// # Errors
/// A property SQLite has not, named.
pub(crate) fn create_index_sql(table: &str, index: &IndexSpec) -> Result<String, String> {
    let sh = &index.shape;
    let refuse = |what: &str, fix: &str| Err(refuse_index("SQLite", index, what, fix));
    if let Some(m) = &sh.method {
        return refuse(
            &format!("the access method `{m}`"),
            "leave it out (SQLite has B-trees only; full-text search is an FTS5 virtual table)",
        );
    }
    refuse_postgres_only("SQLite", index)?;
    let mut parts = Vec::new();
    for (i, column) in index.columns.iter().enumerate() {
        let p = sh.parts.get(i).cloned().unwrap_or_default();
        if p.opclass.is_some() || p.length.is_some() || p.nulls_first.is_some() {
            return refuse(
                "an operator class, prefix length or NULLS placement",
                "leave it out, or index an expression such as substr(name, 1, 10)",
            );
        }
        let mut text = if p.expression {
            format!("({column})")
        } else {
            quote(DB, column)
        };
        if p.descending {
            text.push_str(" DESC");
        }
        parts.push(text);
    }
    let mut sql = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        quote(DB, &index.name),
        quote(DB, table),
        parts.join(", ")
    );
    if let Some(p) = &sh.predicate {
        sql.push_str(&format!(" WHERE {p}"));
    }
    Ok(sql)
}
