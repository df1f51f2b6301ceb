//! Enum types written once for every backend: PostgreSQL's named `CREATE TYPE … AS ENUM`, MySQL's inline `ENUM(…)` columns, SQLite's text.
//!
//! PostgreSQL keeps an enum's labels in a type of the schema; MySQL/MariaDB
//! keep them in every column declared `ENUM(…)`; SQLite keeps none (the
//! column is text). A migration says what it means once —
//! [`create_enum`], [`alter_enum`], [`drop_enum`] — and each backend does
//! its part (`Backend::enum_sql`): on PostgreSQL the type DDL, on
//! MySQL/MariaDB a `MODIFY COLUMN` of each column using the type, on SQLite
//! nothing. Offline (`up --sql`) the same statements are recorded.
//!
//! ```ignore
//! create_enum(manager, "mood", &["happy", "sad"]).await?;
//! alter_enum(manager, "mood", &["happy", "sad"], &["happy", "meh", "sad"],
//!     &[EnumColumn::new("users", "mood").not_null().default_sql("'happy'")]).await?;
//! ```

use sea_orm::{ConnectionTrait, DbErr};
use sea_orm_migration::SchemaManager;

/// A column declared with an enum type, as [`alter_enum`] re-declares it on
/// MySQL/MariaDB (which keeps the labels in the column) and casts it on
/// PostgreSQL (when labels are removed or reordered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumColumn {
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
    /// Whether it allows NULL.
    pub nullable: bool,
    /// Its default as an SQL literal (`'happy'`), if any.
    pub default: Option<String>,
}

impl EnumColumn {
    /// A nullable column without default.
    pub fn new(table: &str, column: &str) -> Self {
        EnumColumn {
            table: table.to_owned(),
            column: column.to_owned(),
            nullable: true,
            default: None,
        }
    }

    /// The column is NOT NULL.
    pub fn not_null(mut self) -> Self {
        self.nullable = false;
        self
    }

    /// The column's default, an SQL literal such as `'happy'`.
    pub fn default_sql(mut self, literal: &str) -> Self {
        self.default = Some(literal.to_owned());
        self
    }
}

/// One change to an enum type, as the backends turn it into SQL.
#[derive(Debug, Clone, Copy)]
pub enum EnumChange<'a> {
    /// A new type with these labels.
    Create {
        /// Type name.
        name: &'a str,
        /// Labels in order.
        values: &'a [String],
    },
    /// The labels change from `from` to `to`.
    Alter {
        /// Type name.
        name: &'a str,
        /// Labels now.
        from: &'a [String],
        /// Labels wanted.
        to: &'a [String],
        /// The columns using the type.
        columns: &'a [EnumColumn],
    },
    /// The type goes.
    Drop {
        /// Type name.
        name: &'a str,
    },
}

fn owned(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

async fn run(manager: &SchemaManager<'_>, change: EnumChange<'_>) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let backend = crate::backend::of_db(conn.get_database_backend());
    for sql in backend.enum_sql(change) {
        conn.execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Creates enum type `name` with `values` (PostgreSQL; MySQL/MariaDB and
/// SQLite declare enums in their columns, so there it does nothing).
///
/// # Errors
/// A database error.
pub async fn create_enum(
    manager: &SchemaManager<'_>,
    name: &str,
    values: &[&str],
) -> Result<(), DbErr> {
    let values = owned(values);
    run(
        manager,
        EnumChange::Create {
            name,
            values: &values,
        },
    )
    .await
}

/// Changes the labels of enum type `name` from `from` to `to`, for every
/// column in `columns` (the columns that use it).
///
/// On PostgreSQL, labels only added become `ALTER TYPE … ADD VALUE`; any
/// other change re-creates the type (rename, create, cast each column,
/// drop the old one). On MySQL/MariaDB each column is re-declared with the
/// new labels, keeping its nullability and default. SQLite: nothing.
///
/// # Errors
/// A database error (a row holding a removed label, say).
pub async fn alter_enum(
    manager: &SchemaManager<'_>,
    name: &str,
    from: &[&str],
    to: &[&str],
    columns: &[EnumColumn],
) -> Result<(), DbErr> {
    let (from, to) = (owned(from), owned(to));
    run(
        manager,
        EnumChange::Alter {
            name,
            from: &from,
            to: &to,
            columns,
        },
    )
    .await
}

/// Drops enum type `name` (PostgreSQL; elsewhere nothing).
///
/// # Errors
/// A database error.
pub async fn drop_enum(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    run(manager, EnumChange::Drop { name }).await
}

/// PostgreSQL: whether `to` is `from` with labels only added (every old
/// label kept, in the same order): then `ALTER TYPE … ADD VALUE` does it.
pub(crate) fn only_added(from: &[String], to: &[String]) -> bool {
    let mut kept = to.iter().filter(|v| from.contains(v));
    from.iter().all(|f| kept.next() == Some(f)) && kept.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::only_added;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn added_labels_are_told_from_reorders_and_removals() {
        assert!(only_added(&v(&["a", "b"]), &v(&["a", "x", "b", "y"])));
        assert!(only_added(&v(&[]), &v(&["a"])));
        assert!(!only_added(&v(&["a", "b"]), &v(&["b", "a"])));
        assert!(!only_added(&v(&["a", "b"]), &v(&["a"])));
    }
}
