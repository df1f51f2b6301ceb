//! SQLite: what each sea-query column type reflects as, and how the catalog writes defaults.

use crate::schema::{ColType, DefaultSyntax, string_len};
use sea_orm::sea_query::{ColumnType, StringLen};

pub(super) fn col_type_of(ct: &ColumnType) -> ColType {
    match ct {
        ColumnType::Char(n) => ColType::Char(*n),
        ColumnType::String(l) => ColType::String(string_len(l)),
        ColumnType::Text => ColType::Text,
        ColumnType::TinyInteger | ColumnType::TinyUnsigned => ColType::Other("tinyint".into()),
        ColumnType::SmallInteger | ColumnType::SmallUnsigned => ColType::SmallInt,
        ColumnType::Integer
        | ColumnType::Unsigned
        | ColumnType::BigInteger
        | ColumnType::BigUnsigned => ColType::Int,
        ColumnType::Float => ColType::Float,
        ColumnType::Double => ColType::Double,
        ColumnType::Decimal(p) => ColType::Decimal(*p),
        ColumnType::DateTime | ColumnType::Timestamp => ColType::Timestamp,
        ColumnType::TimestampWithTimeZone => ColType::TimestampTz,
        ColumnType::Time => ColType::Time,
        ColumnType::Date => ColType::Date,
        ColumnType::Binary(n) => ColType::Binary(Some(*n)),
        ColumnType::VarBinary(StringLen::N(n)) => ColType::Other(format!("varbinary({n})")),
        ColumnType::VarBinary(_) => ColType::Other("varbinary".into()),
        ColumnType::Blob => ColType::Blob,
        ColumnType::Boolean => ColType::Bool,
        ColumnType::Money(Some((p, s))) => ColType::Other(format!("real_money({p},{s})")),
        ColumnType::Money(None) => ColType::Other("real_money".into()),
        ColumnType::Json => ColType::Json,
        ColumnType::JsonBinary => ColType::JsonB,
        ColumnType::Uuid => ColType::Uuid,
        ColumnType::Enum { .. } => ColType::Enum {
            name: None,
            values: Vec::new(),
        },
        ColumnType::Custom(s) => super::reflect::parse_type(&s.to_string()),
        other => ColType::Other(format!("{other:?}").to_lowercase()),
    }
}

/// How this engine's catalog writes defaults back.
pub(super) const DEFAULTS: DefaultSyntax = DefaultSyntax {
    double_quoted_strings: true,
    casts: false,
    backslash_escapes: false,
};
