//! SQLite function arguments to sea-query `Value`s and back, exactly as sqlx-sqlite decodes and sea-query-sqlx binds them.
//!
//! The in-engine transform (see `transform.rs`) hands the closure SQLite's
//! own argument values instead of sqlx rows, and returns the closure's values
//! as the SQL function's results instead of bind parameters. Both directions
//! must give what the driver path gives, byte for byte:
//!
//! * reading (`Row::get::<T>`): the value is converted to the `Value` variant
//!   `T::array_type()` names, with the storage-class check and the conversion
//!   sqlx-sqlite 0.9's `Type::compatible` and `Decode` use for that Rust type
//!   (and sea-orm's `TryGetable` on top: `Decimal` is read as an `f64`), then
//!   `T::try_from(value)`;
//! * writing: each `Value` variant becomes the SQLite value sea-query-sqlx
//!   0.9 binds it as (booleans as 0/1, UUIDs as 16-byte BLOBs, decimals and
//!   JSON as text, chrono values in sqlx's text formats).
//!
//! Types this module does not mirror (chrono *reads*, `u64`, arrays, …) are
//! [`Unsupported`](Decoded::Unsupported): the transform then falls back to
//! the driver path, which decodes them as it always did.

use migration_sqlite_fn::{Arg, Ret};
use sea_orm::sea_query::{ArrayType, ValueType};
use sea_orm::{DbErr, RuntimeErr, Value};

/// Why a read did not produce a value.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// The driver path would fail the same way: the closure sees this error.
    Err(DbErr),
    /// Not mirrored here: the transform must take the driver path.
    Unsupported(String),
}

fn storage(arg: &Arg<'_>) -> &'static str {
    match arg {
        Arg::Null => "NULL",
        Arg::Integer(_) => "INTEGER",
        Arg::Real(_) => "REAL",
        Arg::Text(_) => "TEXT",
        Arg::Blob(_) => "BLOB",
    }
}

/// sqlx's "mismatched types" error, naming the column as a decode by name does.
fn mismatch<T>(column: &str, sql: &str, arg: &Arg<'_>) -> Decoded {
    Decoded::Err(DbErr::Type(format!(
        "error occurred while decoding column {column:?}: mismatched types; Rust type `{}` (as SQL type `{sql}`) is not compatible with SQL type `{}`",
        std::any::type_name::<T>(),
        storage(arg)
    )))
}

fn decode_err(column: &str, e: impl std::fmt::Display) -> Decoded {
    Decoded::Err(DbErr::Type(format!(
        "error occurred while decoding column {column:?}: {e}"
    )))
}

/// The NULL of the `Value` variant for `ty`; `None` for variants not mirrored.
fn null_of(ty: &ArrayType) -> Option<Value> {
    Some(match ty {
        ArrayType::Bool => Value::Bool(None),
        ArrayType::TinyInt => Value::TinyInt(None),
        ArrayType::SmallInt => Value::SmallInt(None),
        ArrayType::Int => Value::Int(None),
        ArrayType::BigInt => Value::BigInt(None),
        ArrayType::TinyUnsigned => Value::TinyUnsigned(None),
        ArrayType::SmallUnsigned => Value::SmallUnsigned(None),
        ArrayType::Unsigned => Value::Unsigned(None),
        ArrayType::Float => Value::Float(None),
        ArrayType::Double => Value::Double(None),
        ArrayType::String => Value::String(None),
        ArrayType::Bytes => Value::Bytes(None),
        ArrayType::Json => Value::Json(None),
        ArrayType::Uuid => Value::Uuid(None),
        ArrayType::Decimal => Value::Decimal(None),
        _ => return None,
    })
}

fn unsupported_read(ty: &ArrayType) -> Decoded {
    Decoded::Unsupported(format!("reading a {ty:?} value in SQLite"))
}

/// Column `column` as a `T`: `arg` is its argument, `None` when the column
/// is not among the key and `read` columns.
pub(crate) fn decode<T: ValueType>(arg: Option<Arg<'_>>, column: &str) -> Result<T, Decoded> {
    let ty = T::array_type();
    let Some(null) = null_of(&ty) else {
        return Err(unsupported_read(&ty));
    };
    let arg = match arg {
        // sea-orm reads an `Option` of a missing column as `None`.
        None => {
            return T::try_from(null).map_err(|_| {
                Decoded::Err(DbErr::Query(RuntimeErr::Internal(format!(
                    "no column found for name: {column}"
                ))))
            });
        }
        Some(Arg::Null) => {
            return T::try_from(null).map_err(|_| {
                Decoded::Err(DbErr::Type(format!(
                    "A null value was encountered while decoding {column:?}"
                )))
            });
        }
        Some(arg) => arg,
    };
    let value = value_of(&ty, arg, column)?;
    T::try_from(value).map_err(|e| decode_err(column, e))
}

/// A non-NULL argument as the `Value` variant for `ty`.
fn value_of(ty: &ArrayType, arg: Arg<'_>, column: &str) -> Result<Value, Decoded> {
    // sqlx-sqlite reads integers with `sqlite3_value_int64` and a checked
    // `try_into`, and accepts only the INTEGER storage class for them.
    macro_rules! int {
        ($t:ty, $variant:ident) => {
            match arg {
                Arg::Integer(v) => <$t as TryFrom<i64>>::try_from(v)
                    .map(|v| Value::$variant(Some(v)))
                    .map_err(|e| decode_err(column, e)),
                _ => Err(mismatch::<$t>(column, "INTEGER", &arg)),
            }
        };
    }
    match ty {
        ArrayType::Bool => match arg {
            Arg::Integer(v) => Ok(Value::Bool(Some(v != 0))),
            _ => Err(mismatch::<bool>(column, "BOOLEAN", &arg)),
        },
        ArrayType::TinyInt => int!(i8, TinyInt),
        ArrayType::SmallInt => int!(i16, SmallInt),
        ArrayType::Int => int!(i32, Int),
        ArrayType::BigInt => int!(i64, BigInt),
        ArrayType::TinyUnsigned => int!(u8, TinyUnsigned),
        ArrayType::SmallUnsigned => int!(u16, SmallUnsigned),
        ArrayType::Unsigned => int!(u32, Unsigned),
        // f32/f64 are compatible with REAL only (sqlx's default check); a REAL
        // column hands integers over as REAL already.
        ArrayType::Float => match arg {
            Arg::Real(v) => Ok(Value::Float(Some(v as f32))),
            _ => Err(mismatch::<f32>(column, "REAL", &arg)),
        },
        ArrayType::Double => match arg {
            Arg::Real(v) => Ok(Value::Double(Some(v))),
            _ => Err(mismatch::<f64>(column, "REAL", &arg)),
        },
        ArrayType::String => match arg {
            Arg::Text(b) => std::str::from_utf8(b)
                .map(|s| Value::String(Some(s.to_owned())))
                .map_err(|e| decode_err(column, e)),
            _ => Err(mismatch::<String>(column, "TEXT", &arg)),
        },
        ArrayType::Bytes => match arg {
            Arg::Text(b) | Arg::Blob(b) => Ok(Value::Bytes(Some(b.to_vec()))),
            _ => Err(mismatch::<Vec<u8>>(column, "BLOB", &arg)),
        },
        ArrayType::Json => match arg {
            Arg::Text(b) => serde_json::from_slice::<serde_json::Value>(b)
                .map(|j| Value::Json(Some(Box::new(j))))
                .map_err(|e| decode_err(column, e)),
            _ => Err(mismatch::<serde_json::Value>(column, "TEXT", &arg)),
        },
        ArrayType::Uuid => match arg {
            Arg::Text(b) | Arg::Blob(b) => sea_orm::prelude::Uuid::from_slice(b)
                .map(|u| Value::Uuid(Some(u)))
                .map_err(|e| decode_err(column, e)),
            _ => Err(mismatch::<sea_orm::prelude::Uuid>(column, "BLOB", &arg)),
        },
        // sea-orm reads a Decimal on SQLite as an f64 and converts it.
        ArrayType::Decimal => match arg {
            Arg::Real(v) => <sea_orm::prelude::Decimal as TryFrom<f64>>::try_from(v)
                .map(|d| Value::Decimal(Some(d)))
                .map_err(|e| {
                    Decoded::Err(DbErr::TryIntoErr {
                        from: "f64",
                        into: "Decimal",
                        source: std::sync::Arc::new(e),
                    })
                }),
            _ => Err(mismatch::<f64>(column, "REAL", &arg)),
        },
        _ => Err(unsupported_read(ty)),
    }
}

/// `value` as the SQL function's result, as sea-query-sqlx binds it on
/// SQLite; `Err` names a variant that is not mirrored (the transform then
/// falls back to the driver path).
pub(crate) fn encode(value: Value) -> Result<Ret, String> {
    use chrono::SecondsFormat;
    fn or_null<T>(v: Option<T>, f: impl FnOnce(T) -> Ret) -> Ret {
        v.map_or(Ret::Null, f)
    }
    Ok(match value {
        Value::Bool(v) => or_null(v, |b| Ret::Integer(b.into())),
        Value::TinyInt(v) => or_null(v, |i| Ret::Integer(i.into())),
        Value::SmallInt(v) => or_null(v, |i| Ret::Integer(i.into())),
        Value::Int(v) => or_null(v, |i| Ret::Integer(i.into())),
        Value::BigInt(v) => or_null(v, Ret::Integer),
        Value::TinyUnsigned(v) => or_null(v, |i| Ret::Integer(i.into())),
        Value::SmallUnsigned(v) => or_null(v, |i| Ret::Integer(i.into())),
        Value::Unsigned(v) => or_null(v, |i| Ret::Integer(i.into())),
        // sea-query-sqlx panics past i64::MAX: let the driver path do that.
        Value::BigUnsigned(Some(u)) => match <i64 as TryFrom<u64>>::try_from(u) {
            Ok(i) => Ret::Integer(i),
            Err(_) => return Err(format!("the u64 {u} (over i64::MAX)")),
        },
        Value::BigUnsigned(None) => Ret::Null,
        Value::Float(v) => or_null(v, |f| Ret::Real(f.into())),
        Value::Double(v) => or_null(v, Ret::Real),
        Value::String(v) => or_null(v, Ret::Text),
        Value::Char(v) => or_null(v, |c| Ret::Text(c.to_string())),
        Value::Bytes(v) => or_null(v, Ret::Blob),
        Value::Json(v) => match v {
            Some(j) => Ret::Text(serde_json::to_string(&*j).map_err(|e| e.to_string())?),
            None => Ret::Null,
        },
        Value::Uuid(v) => or_null(v, |u| Ret::Blob(u.as_bytes().to_vec())),
        Value::Decimal(v) => or_null(v, |d| Ret::Text(d.to_string())),
        Value::ChronoDate(v) => or_null(v, |d| Ret::Text(d.format("%F").to_string())),
        Value::ChronoTime(v) => or_null(v, |t| Ret::Text(t.format("%T%.f").to_string())),
        Value::ChronoDateTime(v) => or_null(v, |t| Ret::Text(t.format("%F %T%.f").to_string())),
        Value::ChronoDateTimeUtc(v) => or_null(v, |t| {
            Ret::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        }),
        Value::ChronoDateTimeLocal(v) => or_null(v, |t| {
            Ret::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        }),
        Value::ChronoDateTimeWithTimeZone(v) => or_null(v, |t| {
            Ret::Text(t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
        }),
        other => return Err(format!("a {} value", variant_name(&other))),
    })
}

fn variant_name(value: &Value) -> String {
    let debug = format!("{value:?}");
    debug.split('(').next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::prelude::{Decimal, Uuid};

    fn ok<T: ValueType>(arg: Arg<'_>) -> T {
        decode::<T>(Some(arg), "c").unwrap()
    }

    fn err<T: ValueType + std::fmt::Debug>(arg: Option<Arg<'_>>) -> String {
        match decode::<T>(arg, "c") {
            Err(Decoded::Err(e)) => e.to_string(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn integers_are_range_checked_like_sqlx() {
        assert_eq!(ok::<i64>(Arg::Integer(i64::MAX)), i64::MAX);
        assert_eq!(ok::<i32>(Arg::Integer(-5)), -5);
        assert_eq!(ok::<u8>(Arg::Integer(255)), 255);
        assert!(err::<i8>(Some(Arg::Integer(128))).contains("out of range"));
        assert!(err::<u32>(Some(Arg::Integer(-1))).contains("out of range"));
        assert!(err::<i64>(Some(Arg::Text(b"12"))).contains("mismatched types"));
        assert!(err::<i64>(Some(Arg::Real(1.0))).contains("mismatched types"));
        assert!(ok::<bool>(Arg::Integer(2)));
        assert!(!ok::<bool>(Arg::Integer(0)));
    }

    #[test]
    fn floats_text_and_bytes() {
        assert_eq!(ok::<f64>(Arg::Real(0.1 + 0.2)), 0.1 + 0.2);
        assert_eq!(ok::<f32>(Arg::Real(1.5)), 1.5f32);
        assert!(err::<f64>(Some(Arg::Integer(1))).contains("mismatched types"));
        assert_eq!(ok::<String>(Arg::Text("ключ 🔑".as_bytes())), "ключ 🔑");
        assert!(err::<String>(Some(Arg::Integer(1))).contains("mismatched types"));
        assert!(err::<String>(Some(Arg::Blob(b"x"))).contains("mismatched types"));
        assert!(err::<String>(Some(Arg::Text(&[0xff]))).contains("utf-8"));
        assert_eq!(ok::<Vec<u8>>(Arg::Blob(&[0, 255])), vec![0, 255]);
        assert_eq!(ok::<Vec<u8>>(Arg::Text(b"ab")), b"ab".to_vec());
        assert_eq!(ok::<Vec<u8>>(Arg::Blob(&[])), Vec::<u8>::new());
    }

    #[test]
    fn nulls_and_missing_columns() {
        assert_eq!(ok::<Option<i64>>(Arg::Null), None);
        assert_eq!(ok::<Option<String>>(Arg::Text(b"x")), Some("x".to_owned()));
        let e = err::<i64>(Some(Arg::Null));
        assert!(e.contains("null") && e.contains("\"c\""), "{e}");
        assert_eq!(decode::<Option<i64>>(None, "c").unwrap(), None);
        assert!(err::<i64>(None).contains("no column found for name: c"));
    }

    #[test]
    fn json_uuid_decimal() {
        let j: serde_json::Value = ok(Arg::Text(br#"{"a":[1,2]}"#));
        assert_eq!(j, serde_json::json!({"a": [1, 2]}));
        let u = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(ok::<Uuid>(Arg::Blob(u.as_bytes())), u);
        assert!(err::<Uuid>(Some(Arg::Blob(b"short"))).contains("decoding"));
        assert_eq!(ok::<Decimal>(Arg::Real(2.5)), Decimal::new(25, 1));
        assert!(err::<Decimal>(Some(Arg::Text(b"2.5"))).contains("mismatched"));
    }

    #[test]
    fn unmirrored_reads_are_unsupported() {
        assert!(matches!(
            decode::<u64>(Some(Arg::Integer(1)), "c"),
            Err(Decoded::Unsupported(_))
        ));
        assert!(matches!(
            decode::<chrono::NaiveDate>(Some(Arg::Text(b"2024-01-02")), "c"),
            Err(Decoded::Unsupported(_))
        ));
    }

    #[test]
    fn values_encode_as_sea_query_sqlx_binds_them() {
        assert_eq!(encode(Value::from(true)).unwrap(), Ret::Integer(1));
        assert_eq!(
            encode(Value::from(1i64 << 60)).unwrap(),
            Ret::Integer(1 << 60)
        );
        assert_eq!(
            encode(Value::from(u32::MAX)).unwrap(),
            Ret::Integer(u32::MAX.into())
        );
        assert_eq!(encode(Value::from(7u64)).unwrap(), Ret::Integer(7));
        assert!(encode(Value::from(u64::MAX)).is_err());
        assert_eq!(
            encode(Value::from(0.1f32)).unwrap(),
            Ret::Real(f64::from(0.1f32))
        );
        assert_eq!(
            encode(Value::from(1.0 / 3.0)).unwrap(),
            Ret::Real(1.0 / 3.0)
        );
        assert_eq!(
            encode(Value::from("q'\"")).unwrap(),
            Ret::Text("q'\"".into())
        );
        assert_eq!(
            encode(Value::Char(Some('é'))).unwrap(),
            Ret::Text("é".into())
        );
        assert_eq!(
            encode(Value::from(vec![0u8, 255])).unwrap(),
            Ret::Blob(vec![0, 255])
        );
        assert_eq!(encode(Value::String(None)).unwrap(), Ret::Null);
        assert_eq!(encode(Value::Bytes(None)).unwrap(), Ret::Null);
        let u = Uuid::from_u128(42);
        assert_eq!(
            encode(Value::from(u)).unwrap(),
            Ret::Blob(u.as_bytes().to_vec())
        );
        assert_eq!(
            encode(Value::from(Decimal::new(1050, 2))).unwrap(),
            Ret::Text("10.50".into())
        );
        assert_eq!(
            encode(Value::from(serde_json::json!({"a": 1}))).unwrap(),
            Ret::Text(r#"{"a":1}"#.into())
        );
        let d = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(
            encode(Value::from(d)).unwrap(),
            Ret::Text("2024-02-29".into())
        );
        let t = d.and_hms_micro_opt(1, 2, 3, 456).unwrap();
        assert_eq!(
            encode(Value::from(t)).unwrap(),
            Ret::Text("2024-02-29 01:02:03.000456".into())
        );
        let utc = chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(t, chrono::Utc);
        assert_eq!(
            encode(Value::from(utc)).unwrap(),
            Ret::Text("2024-02-29T01:02:03.000456+00:00".into())
        );
    }
}
