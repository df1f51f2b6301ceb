//! Input validation shared by the routes: text, e-mail addresses, numbers, pagination.

use crate::error::ApiError;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

/// Trims `value` and requires it non-empty and at most `max` characters.
///
/// # Errors
/// A 422 naming `field`.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid(format!("{field} must not be empty")));
    }
    at_most(field, value, max)?;
    Ok(value.to_string())
}

/// Trims an optional text; blank becomes `None`; at most `max` characters.
///
/// # Errors
/// A 422 naming `field`.
pub fn optional_text(
    field: &str,
    value: Option<String>,
    max: Option<usize>,
) -> Result<Option<String>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if let Some(max) = max {
        at_most(field, value, max)?;
    }
    Ok(Some(value.to_string()))
}

fn at_most(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok(())
}

/// Checks an e-mail address (`local@domain.tld`, no spaces, at most 255
/// characters) and returns it trimmed and lower-cased, so that uniqueness
/// does not depend on case.
///
/// # Errors
/// A 422 when it does not look like an address.
pub fn email(value: &str) -> Result<String, ApiError> {
    let value = value.trim().to_lowercase();
    let bad = || ApiError::invalid(format!("email `{value}` is not a valid e-mail address"));
    if value.is_empty() {
        return Err(ApiError::invalid("email must not be empty"));
    }
    at_most("email", &value, 255)?;
    let Some((local, domain)) = value.split_once('@') else {
        return Err(bad());
    };
    let labels: Vec<&str> = domain.split('.').collect();
    let ok = !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    if ok { Ok(value) } else { Err(bad()) }
}

/// Requires `value >= 0` with at most `scale` decimals and `digits` digits in
/// all (the column's `DECIMAL(digits, scale)`).
///
/// # Errors
/// A 422 naming `field`.
pub fn decimal(field: &str, value: Decimal, digits: u32, scale: u32) -> Result<Decimal, ApiError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(ApiError::invalid(format!("{field} must be >= 0")));
    }
    let value = value.normalize();
    if value.scale() > scale {
        return Err(ApiError::invalid(format!(
            "{field} must have at most {scale} decimal places"
        )));
    }
    if value.trunc() >= Decimal::from(10_i64.pow(digits - scale)) {
        return Err(ApiError::invalid(format!(
            "{field} must be less than {}",
            10_i64.pow(digits - scale)
        )));
    }
    Ok(value)
}

/// Requires `value >= min`.
///
/// # Errors
/// A 422 naming `field`.
pub fn at_least<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    min: T,
) -> Result<T, ApiError> {
    if value < min {
        return Err(ApiError::invalid(format!("{field} must be >= {min}")));
    }
    Ok(value)
}

/// Default page size of list endpoints.
pub const DEFAULT_LIMIT: u64 = 50;
/// Largest page size of list endpoints.
pub const MAX_LIMIT: u64 = 100;

/// `?limit=&offset=` of list endpoints.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Pagination {
    /// Page size, 1 to [`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]).
    pub limit: Option<u64>,
    /// Rows to skip (default 0).
    pub offset: Option<u64>,
}

impl Pagination {
    /// The checked `(limit, offset)`.
    ///
    /// # Errors
    /// A 400 when `limit` is 0 or above [`MAX_LIMIT`], or `offset` above
    /// `i64::MAX` (the databases count rows in signed 64 bits).
    pub fn checked(self) -> Result<(u64, u64), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let offset = self.offset.unwrap_or(0);
        if i64::try_from(offset).is_err() {
            return Err(ApiError::BadRequest(format!(
                "offset must be between 0 and {}",
                i64::MAX
            )));
        }
        Ok((limit, offset))
    }
}

/// For `PATCH` fields that may be cleared: absent is `None`, `null` is
/// `Some(None)`, a value is `Some(Some(v))`. Use with
/// `#[serde(default, deserialize_with = "validate::nullable")]`.
///
/// # Errors
/// The value's own deserialization errors.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn emails() {
        assert_eq!(email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        assert!(email("first.last+tag@sub.example.org").is_ok());
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
            "a@-b.com",
            ".a@b.com",
            "a..b@c.com",
        ] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn texts() {
        assert_eq!(required_text("name", "  x ", 10).unwrap(), "x");
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", "abcdef", 5).is_err());
        assert_eq!(
            optional_text("d", Some(" ".into()), None).unwrap(),
            None::<String>
        );
    }

    #[test]
    fn decimals() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(decimal("price", d("19.90"), 10, 2).unwrap(), d("19.9"));
        assert!(decimal("price", d("0"), 10, 2).is_ok());
        assert!(decimal("price", d("-0.01"), 10, 2).is_err());
        assert!(decimal("price", d("1.234"), 10, 2).is_err());
        assert!(decimal("price", d("99999999.99"), 10, 2).is_ok());
        assert!(decimal("price", d("100000000"), 10, 2).is_err());
    }

    #[test]
    fn pagination() {
        assert_eq!(Pagination::default().checked().unwrap(), (50, 0));
        let p = |limit| Pagination {
            limit: Some(limit),
            offset: Some(5),
        };
        assert_eq!(p(100).checked().unwrap(), (100, 5));
        assert!(p(0).checked().is_err());
        assert!(p(101).checked().is_err());
    }
}
