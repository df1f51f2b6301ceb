//! MySQL/MariaDB: what each sea-query column type reflects as, and how the catalog writes defaults.

use crate::schema::{ColType, DefaultSyntax};
use sea_orm::sea_query::{ColumnType, StringLen};

pub(super) fn col_type_of(ct: &ColumnType) -> ColType {
    match ct {
        ColumnType::Char(n) => ColType::Char(Some(n.unwrap_or(1))),
        ColumnType::String(l) => ColType::String(Some(match l {
            StringLen::N(n) => *n,
            StringLen::None => 255,
            StringLen::Max => 65535,
        })),
        ColumnType::Text => ColType::Text,
        ColumnType::TinyInteger => ColType::Other("tinyint".into()),
        ColumnType::TinyUnsigned => ColType::Other("tinyint unsigned".into()),
        ColumnType::SmallInteger => ColType::SmallInt,
        ColumnType::SmallUnsigned => ColType::Other("smallint unsigned".into()),
        ColumnType::Integer => ColType::Int,
        ColumnType::Unsigned => ColType::Other("int unsigned".into()),
        ColumnType::BigInteger => ColType::BigInt,
        ColumnType::BigUnsigned => ColType::Other("bigint unsigned".into()),
        ColumnType::Float => ColType::Float,
        ColumnType::Double => ColType::Double,
        ColumnType::Decimal(p) | ColumnType::Money(p) => {
            ColType::Decimal(Some(p.unwrap_or((10, 0))))
        }
        ColumnType::DateTime => ColType::Timestamp,
        ColumnType::Timestamp | ColumnType::TimestampWithTimeZone => ColType::TimestampTz,
        ColumnType::Time => ColType::Time,
        ColumnType::Date => ColType::Date,
        ColumnType::Year => ColType::Other("year".into()),
        ColumnType::Binary(n) => ColType::Binary(Some(*n)),
        ColumnType::VarBinary(l) => ColType::Other(format!(
            "varbinary({})",
            match l {
                StringLen::N(n) => *n,
                StringLen::None => 255,
                StringLen::Max => 65535,
            }
        )),
        ColumnType::Blob => ColType::Blob,
        ColumnType::Bit(n) => ColType::Other(format!("bit({})", n.unwrap_or(1))),
        ColumnType::VarBit(n) => ColType::Other(format!("bit({n})")),
        ColumnType::Boolean => ColType::Bool,
        ColumnType::Json | ColumnType::JsonBinary => ColType::Json,
        ColumnType::Uuid => ColType::Binary(Some(16)),
        ColumnType::Enum { variants, .. } => ColType::Enum {
            name: None,
            values: variants.iter().map(|v| v.to_string()).collect(),
        },
        ColumnType::Custom(s) => super::reflect::parse_type(&s.to_string()),
        other => ColType::Other(format!("{other:?}").to_lowercase()),
    }
}

/// How this engine's catalog writes defaults back.
pub(super) const DEFAULTS: DefaultSyntax = DefaultSyntax {
    backslash_escapes: true,
    casts: false,
    double_quoted_strings: false,
};
