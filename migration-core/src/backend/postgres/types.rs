//! PostgreSQL: what each sea-query column type reflects as, and how the catalog writes defaults.

use crate::schema::{ColType, DefaultSyntax, string_len};
use sea_orm::sea_query::ColumnType;

pub(super) fn col_type_of(ct: &ColumnType) -> ColType {
    match ct {
        ColumnType::Char(n) => ColType::Char(Some(n.unwrap_or(1))),
        ColumnType::String(l) => ColType::String(string_len(l)),
        ColumnType::Text => ColType::Text,
        ColumnType::TinyInteger | ColumnType::TinyUnsigned | ColumnType::SmallInteger => {
            ColType::SmallInt
        }
        ColumnType::Integer | ColumnType::SmallUnsigned => ColType::Int,
        ColumnType::BigInteger | ColumnType::Unsigned | ColumnType::BigUnsigned => ColType::BigInt,
        ColumnType::Float => ColType::Float,
        ColumnType::Double => ColType::Double,
        ColumnType::Decimal(p) => ColType::Decimal(*p),
        ColumnType::DateTime | ColumnType::Timestamp => ColType::Timestamp,
        ColumnType::TimestampWithTimeZone => ColType::TimestampTz,
        ColumnType::Time => ColType::Time,
        ColumnType::Date => ColType::Date,
        ColumnType::Binary(_) | ColumnType::VarBinary(_) | ColumnType::Blob => ColType::Blob,
        ColumnType::Boolean => ColType::Bool,
        ColumnType::Money(_) => ColType::Other("money".into()),
        ColumnType::Json => ColType::Json,
        ColumnType::JsonBinary => ColType::JsonB,
        ColumnType::Uuid => ColType::Uuid,
        ColumnType::Enum { name, variants } => ColType::Enum {
            name: Some(name.to_string()),
            values: variants.iter().map(|v| v.to_string()).collect(),
        },
        ColumnType::Custom(s) => super::reflect::parse_type(&s.to_string()),
        ColumnType::Interval(_, _) => ColType::Other("interval".into()),
        ColumnType::Bit(n) => ColType::Other(format!("bit({})", n.unwrap_or(1))),
        ColumnType::VarBit(n) => ColType::Other(format!("bit varying({n})")),
        ColumnType::Array(inner) => match col_type_of(inner) {
            ColType::Other(s) => ColType::Other(format!("{s}[]")),
            other => ColType::Other(format!("{}[]", super::reflect::type_name(&other))),
        },
        ColumnType::Vector(n) => ColType::Other(match n {
            Some(n) => format!("vector({n})"),
            None => "vector".into(),
        }),
        ColumnType::Cidr => ColType::Other("cidr".into()),
        ColumnType::Inet => ColType::Other("inet".into()),
        ColumnType::MacAddr => ColType::Other("macaddr".into()),
        ColumnType::LTree => ColType::Other("ltree".into()),
        other => ColType::Other(format!("{other:?}").to_lowercase()),
    }
}

/// How this engine's catalog writes defaults back.
pub(super) const DEFAULTS: DefaultSyntax = DefaultSyntax {
    casts: true,
    backslash_escapes: false,
    double_quoted_strings: false,
};
