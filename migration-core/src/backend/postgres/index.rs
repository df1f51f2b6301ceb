//! PostgreSQL's `CREATE INDEX`: access methods, expressions, operator classes, order and NULLS placement, `INCLUDE`, `NULLS NOT DISTINCT`, partial predicates.

use crate::backend::refuse_index;
use crate::batch::IndexSpec;
use crate::batch::ddl::quote;
use sea_orm::DbBackend;

const DB: DbBackend = DbBackend::Postgres;

/// `CREATE [UNIQUE] INDEX name ON table [USING m] (parts) [INCLUDE (…)]
/// [NULLS NOT DISTINCT] [WHERE …]`.
///
/// # Errors
/// A property PostgreSQL has not (a prefix length), named.
pub(crate) fn create_index_sql(table: &str, index: &IndexSpec) -> Result<String, String> {
    let sh = &index.shape;
    let mut parts = Vec::new();
    for (i, column) in index.columns.iter().enumerate() {
        let p = sh.parts.get(i).cloned().unwrap_or_default();
        if p.length.is_some() {
            return Err(refuse_index(
                "PostgreSQL",
                index,
                "a prefix length",
                "index the whole column, or an expression such as left(name, 10)",
            ));
        }
        let mut text = if p.expression {
            format!("({column})")
        } else {
            quote(DB, column)
        };
        if let Some(o) = &p.opclass {
            text.push(' ');
            text.push_str(o);
        }
        if p.descending {
            text.push_str(" DESC");
        }
        match p.nulls_first {
            Some(true) => text.push_str(" NULLS FIRST"),
            Some(false) => text.push_str(" NULLS LAST"),
            None => {}
        }
        parts.push(text);
    }
    let mut sql = format!(
        "CREATE {}INDEX {} ON {}",
        if index.unique { "UNIQUE " } else { "" },
        quote(DB, &index.name),
        quote(DB, table)
    );
    if let Some(m) = &sh.method {
        sql.push_str(&format!(" USING {m}"));
    }
    sql.push_str(&format!(" ({})", parts.join(", ")));
    if !sh.include.is_empty() {
        let cols: Vec<String> = sh.include.iter().map(|c| quote(DB, c)).collect();
        sql.push_str(&format!(" INCLUDE ({})", cols.join(", ")));
    }
    if sh.nulls_not_distinct {
        sql.push_str(" NULLS NOT DISTINCT");
    }
    if let Some(p) = &sh.predicate {
        sql.push_str(&format!(" WHERE {p}"));
    }
    Ok(sql)
}
