//! MySQL/MariaDB indexes: `FULLTEXT`, `SPATIAL`, `USING HASH`, prefix lengths, `DESC` and (MySQL 8) functional key parts.

use crate::backend::{refuse_index, refuse_postgres_only};
use crate::batch::IndexSpec;
use crate::batch::ddl::quote;
use sea_orm::DbBackend;

const DB: DbBackend = DbBackend::MySql;

/// The index as `ALTER TABLE … ADD` and `CREATE … ON table` both write it:
/// `[UNIQUE |FULLTEXT |SPATIAL ]INDEX name (parts)[ USING HASH]`.
///
/// # Errors
/// A property MySQL/MariaDB have not (a partial predicate, `INCLUDE`, an
/// operator class, NULLS placement, `NULLS NOT DISTINCT`), named.
pub(crate) fn index_clause(index: &IndexSpec) -> Result<String, String> {
    let sh = &index.shape;
    let refuse = |what: &str, fix: &str| Err(refuse_index("MySQL/MariaDB", index, what, fix));
    if sh.predicate.is_some() {
        return refuse(
            "a partial predicate (WHERE)",
            "index every row, or index a generated column that is NULL for the rows left out",
        );
    }
    refuse_postgres_only("MySQL/MariaDB", index)?;
    let mut parts = Vec::new();
    for (i, column) in index.columns.iter().enumerate() {
        let p = sh.parts.get(i).cloned().unwrap_or_default();
        if p.opclass.is_some() {
            return refuse("an operator class", "leave it out");
        }
        if p.nulls_first.is_some() {
            return refuse(
                "NULLS FIRST/LAST",
                "leave it out: NULLs sort first ascending",
            );
        }
        let mut text = if p.expression {
            format!("({column})")
        } else {
            quote(DB, column)
        };
        if let Some(n) = p.length {
            text.push_str(&format!("({n})"));
        }
        if p.descending {
            text.push_str(" DESC");
        }
        parts.push(text);
    }
    let (kind, using) = match sh.method.as_deref() {
        None => ("", ""),
        Some("fulltext") => ("FULLTEXT ", ""),
        Some("spatial") => ("SPATIAL ", ""),
        Some("hash") => ("", " USING HASH"),
        Some(other) => {
            return refuse(
                &format!("the access method `{other}`"),
                "use fulltext, spatial, hash or the default",
            );
        }
    };
    Ok(format!(
        "{}{kind}INDEX {} ({}){using}",
        if index.unique { "UNIQUE " } else { "" },
        quote(DB, &index.name),
        parts.join(", ")
    ))
}

/// `CREATE … INDEX name ON table (parts)`.
///
/// # Errors
/// As [`index_clause`].
pub(crate) fn create_index_sql(table: &str, index: &IndexSpec) -> Result<String, String> {
    let clause = index_clause(index)?;
    // `UNIQUE INDEX n (…)` -> `CREATE UNIQUE INDEX n ON t (…)`.
    let at = clause.find(" (").unwrap_or(clause.len());
    Ok(format!(
        "CREATE {} ON {}{}",
        &clause[..at],
        quote(DB, table),
        &clause[at..]
    ))
}
