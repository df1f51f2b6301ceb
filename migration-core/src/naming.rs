//! One naming convention for the constraints and indexes migrations create: SeaORM's `idx-…`, `fk-…`, `pk-…`.
//!
//! SeaORM names what an entity declares `idx-{table}-{column}` (an indexed
//! column, a `unique_key` group), `fk-{table}-{column}` (a `belongs_to`
//! relation) and `pk-{table}` (a composite primary key). Migrations written
//! by autogenerate and the helpers name everything they create the same way,
//! so a later migration finds an object by one name on every backend
//! (left to itself, each backend picks its own: `orders_customer_id_fkey` on
//! PostgreSQL, `orders_ibfk_1` on MySQL/MariaDB, none at all on SQLite).
//! Objects someone else created are found by their definition instead; see
//! `BatchAlter::drop_unique_on` and `BatchAlter::drop_foreign_key_def`.

/// The name for an object of kind `prefix` (`idx`, `fk`) on `columns` of
/// `table`: `{prefix}-{table}-{col1}-{col2}…`, shortened with a hash suffix
/// to stay within PostgreSQL's 63 and MySQL's 64 bytes.
pub fn object_name(prefix: &str, table: &str, columns: &[String]) -> String {
    let raw = format!("{prefix}-{table}-{}", columns.join("-"));
    if raw.len() <= 60 {
        return raw;
    }
    let mut hash: u32 = 0x811c_9dc5;
    for byte in raw.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let mut cut = 51;
    while !raw.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{hash:08x}", &raw[..cut])
}

/// An index's (or a unique constraint's) name: `idx-{table}-{cols}`.
pub fn index_name(table: &str, columns: &[String]) -> String {
    object_name("idx", table, columns)
}

/// A foreign key's name: `fk-{table}-{cols}`.
pub fn foreign_key_name(table: &str, columns: &[String]) -> String {
    object_name("fk", table, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_seaorm_and_fit_every_backend() {
        assert_eq!(foreign_key_name("a", &["b".into()]), "fk-a-b");
        assert_eq!(
            index_name("users", &["org_id".into(), "email".into()]),
            "idx-users-org_id-email"
        );
        let long = index_name(&"t".repeat(50), &["c".repeat(30)]);
        assert!(long.len() <= 63, "{long}");
        assert_eq!(long, index_name(&"t".repeat(50), &["c".repeat(30)]));
        assert_ne!(long, index_name(&"t".repeat(50), &["d".repeat(30)]));
    }
}
