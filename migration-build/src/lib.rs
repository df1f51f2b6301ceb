//! Build-time discovery of migration files and their checksums.
//!
//! The `migration` crate's `build.rs` calls [`generate`]: it scans the versions
//! folder, so a new migration file needs no hand-edited list (two branches that
//! each add a file never conflict textually; they show up as two heads), and it
//! computes each file's checksum from its token stream, so reformatting and
//! comments do not count as an edit while any change to the code does.
//!
//! This crate is deliberately tiny (no SeaORM): build scripts compile their
//! dependencies separately, and pulling the whole engine into `build.rs` would
//! compile SeaORM twice.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One migration file found in the versions folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// The file stem, which is also the revision id (`m20250101_000001_create_users`).
    pub id: String,
    /// Absolute path of the file.
    pub path: PathBuf,
    /// The first line of the file's `//!` doc comment: the revision message.
    pub message: String,
    /// Hex SHA-256 of the file's normalized token stream (see [`checksum`]).
    pub checksum: String,
    /// Lint findings acknowledged in the file (see [`lint_allows`]).
    pub lint_allow: Vec<(String, String)>,
    /// How the list gets the file's migration value (see [`constructor_of`]).
    pub constructor: Constructor,
}

/// How the generated list makes a file's migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constructor {
    /// `Migration`: the unit struct `DeriveMigrationName` files declare.
    Unit,
    /// `migration()`: a function of the file (a `Migration` with fields, or
    /// any `MigrationTrait` value built by code).
    Function,
}

/// How the file's migration value is made: a top-level `fn migration()` when
/// the file has one (a struct with fields, sea-orm-migration's
/// `Migration { table: … }` in a list, becomes that function), else the unit
/// struct `Migration`.
///
/// # Errors
/// `Migration` is a struct with fields (or a tuple struct) and the file has no
/// `fn migration()`: the message says what to add.
pub fn constructor_of(source: &str) -> Result<Constructor, String> {
    let tokens: Vec<TokenTree> = TokenStream::from_str(source)
        .map_err(|e| format!("cannot tokenize: {e}"))?
        .into_iter()
        .collect();
    let ident = |t: &TokenTree, s: &str| matches!(t, TokenTree::Ident(i) if i == s);
    let function = tokens
        .windows(2)
        .any(|w| ident(&w[0], "fn") && ident(&w[1], "migration"));
    if function {
        return Ok(Constructor::Function);
    }
    let with_fields = tokens.windows(3).any(|w| {
        ident(&w[0], "struct")
            && ident(&w[1], "Migration")
            && matches!(&w[2], TokenTree::Group(g) if g.delimiter() != Delimiter::None)
    });
    if with_fields {
        return Err(
            "`Migration` has fields, so the list cannot name it as a value; add \
             `pub fn migration() -> Migration { Migration { /* its fields */ } }` to the file \
             (the generated list calls `migration()` when the file has one)"
                .into(),
        );
    }
    Ok(Constructor::Unit)
}

/// Checksum of a migration's source: SHA-256 over its tokens, without comments.
///
/// Whitespace, line endings, `//` comments and doc comments (`///`, `//!`) do
/// not change the result; any change to an identifier, literal or punctuation
/// does.
///
/// # Errors
/// The source does not tokenize as Rust (for example an unclosed delimiter).
pub fn checksum(source: &str) -> Result<String, String> {
    let tokens = TokenStream::from_str(source).map_err(|e| format!("cannot tokenize: {e}"))?;
    let mut canonical = String::with_capacity(source.len());
    write_canonical(tokens, &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    Ok(hex)
}

/// Writes tokens one per space, dropping doc attributes (`#[doc = ...]`, `#![doc = ...]`),
/// which is what `///` and `//!` comments become once tokenized.
fn write_canonical(tokens: TokenStream, out: &mut String) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        if let Some(skip) = doc_attribute_len(&tokens[i..]) {
            i += skip;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                out.push(' ');
                write_canonical(group.stream(), out);
                out.push_str(close);
            }
            // Spacing is ignored on purpose: `x::*` and `x :: *` tokenize with different
            // `Spacing` on the second `:`, yet they are the same code.
            TokenTree::Punct(punct) => out.push(punct.as_char()),
            TokenTree::Ident(ident) => out.push_str(&ident.to_string()),
            TokenTree::Literal(literal) => out.push_str(&literal.to_string()),
        }
        out.push(' ');
        i += 1;
    }
}

/// Length (in tokens) of a doc attribute starting at `tokens[0]`, if there is one.
fn doc_attribute_len(tokens: &[TokenTree]) -> Option<usize> {
    let TokenTree::Punct(hash) = tokens.first()? else {
        return None;
    };
    if hash.as_char() != '#' {
        return None;
    }
    let (bang, group_at) = match tokens.get(1)? {
        TokenTree::Punct(p) if p.as_char() == '!' => (true, 2),
        _ => (false, 1),
    };
    let TokenTree::Group(group) = tokens.get(group_at)? else {
        return None;
    };
    if group.delimiter() != Delimiter::Bracket {
        return None;
    }
    match group.stream().into_iter().next() {
        Some(TokenTree::Ident(ident)) if ident == "doc" => Some(if bang { 3 } else { 2 }),
        _ => None,
    }
}

/// The revision message: the first non-empty line of the leading `//!` comment.
pub fn message_of(source: &str) -> String {
    source
        .lines()
        .map(str::trim_start)
        .take_while(|line| line.starts_with("//!") || line.is_empty())
        .filter_map(|line| line.strip_prefix("//!"))
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// Lint acknowledgements: lines `// lint: allow RULE -- reason` (a comment, so
/// adding one does not change the checksum). The reason is required.
pub fn lint_allows(source: &str) -> Result<Vec<(String, String)>, String> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("// lint: allow ") else {
            continue;
        };
        match rest.split_once(" -- ") {
            Some((rule, reason)) if !rule.trim().is_empty() && !reason.trim().is_empty() => {
                found.push((rule.trim().to_string(), reason.trim().to_string()));
            }
            _ => {
                return Err(format!(
                    "line {}: `// lint: allow` needs a rule and a reason: `// lint: allow drop-column -- the column was unused since v2`",
                    n + 1
                ));
            }
        }
    }
    Ok(found)
}

/// Whether `stem` is a valid revision file stem: `m` + `YYYYMMDD_HHMMSS_` + a slug of
/// lowercase letters, digits and underscores (it becomes a Rust module name).
pub fn is_valid_id(stem: &str) -> bool {
    let bytes = stem.as_bytes();
    if bytes.len() < 18 || bytes[0] != b'm' || bytes[9] != b'_' || bytes[16] != b'_' {
        return false;
    }
    let digits = bytes[1..9]
        .iter()
        .chain(&bytes[10..16])
        .all(u8::is_ascii_digit);
    let slug = &stem[17..];
    digits
        && !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Lists the migration files in `dir`, sorted by id.
///
/// # Errors
/// The folder cannot be read, a `.rs` file has a name that is not a valid revision id
/// (the message says how to rename it), or a file does not tokenize.
pub fn discover(dir: &Path) -> Result<Vec<MigrationFile>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read migrations folder {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        if stem == "mod" {
            continue;
        }
        if !is_valid_id(&stem) {
            return Err(format!(
                "migration file {} is not named mYYYYMMDD_HHMMSS_slug.rs (slug: lowercase letters, \
                 digits, underscores); rename it, or create files with `cargo run -p migration -- generate NAME`",
                path.display()
            ));
        }
        let source = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let checksum = checksum(&source).map_err(|e| format!("{}: {e}", path.display()))?;
        let lint_allow = lint_allows(&source).map_err(|e| format!("{}: {e}", path.display()))?;
        let constructor =
            constructor_of(&source).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(MigrationFile {
            id: stem,
            lint_allow,
            constructor,
            message: message_of(&source),
            path: std::fs::canonicalize(&path).unwrap_or(path),
            checksum,
        });
    }
    files.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(files)
}

/// Rust source that declares one module per file and a `revisions()` list.
///
/// The list hands each migration to `migration_core::Revision::new` with its id,
/// `PARENTS`, message and checksum.
pub fn render(files: &[MigrationFile]) -> String {
    let mut out = String::from(
        "// @generated by migration-build from the versions folder at build time; do not edit.\n\n",
    );
    for file in files {
        let _ = writeln!(
            out,
            "#[path = {:?}]\n#[allow(missing_docs)]\npub mod {};\n",
            file.path.display().to_string(),
            file.id
        );
    }
    out.push_str(
        "/// Every migration in the versions folder, with its build-time checksum.\n\
         pub fn revisions() -> ::std::vec::Vec<::migration_core::Revision> {\n    ::std::vec![\n",
    );
    for file in files {
        let allow: Vec<String> = file
            .lint_allow
            .iter()
            .map(|(rule, reason)| format!("({rule:?}, {reason:?})"))
            .collect();
        let allow = if allow.is_empty() {
            String::new()
        } else {
            format!(".with_lint_allow(&[{}])", allow.join(", "))
        };
        let value = match file.constructor {
            Constructor::Unit => "Migration",
            Constructor::Function => "migration()",
        };
        let _ = writeln!(
            out,
            "        ::migration_core::Revision::new({id:?}, {id}::PARENTS, {msg:?}, {sum:?}, {path:?}, \
             ::std::boxed::Box::new({id}::{value})){allow},",
            id = file.id,
            msg = file.message,
            sum = file.checksum,
            path = file.path.display().to_string(),
        );
    }
    out.push_str("    ]\n}\n");
    out
}

/// Build-script entry point: discover `versions_dir`, write `$OUT_DIR/revisions.rs`,
/// and tell Cargo to rebuild when the folder changes.
///
/// # Panics
/// On any discovery error, with a message that says how to fix it: a build script
/// reports errors by failing.
pub fn generate(versions_dir: &str) {
    println!("cargo:rerun-if-changed={versions_dir}");
    let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR is set by Cargo for build scripts");
    let files = match discover(Path::new(versions_dir)) {
        Ok(files) => files,
        Err(e) => panic!("{e}"),
    };
    let target = Path::new(&out_dir).join("revisions.rs");
    let rendered = render(&files);
    // Rewrite only on change so dependents are not rebuilt needlessly.
    if std::fs::read_to_string(&target).ok().as_deref() != Some(rendered.as_str()) {
        std::fs::write(&target, rendered).expect("cannot write revisions.rs into OUT_DIR");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "//! Add phone.\n\nuse x::*;\n\n/// Parents.\npub const PARENTS: &[&str] = &[];\nfn up() -> i32 { a - > b; 1 }\n";

    #[test]
    fn comments_and_formatting_do_not_change_the_checksum() {
        let reformatted = "//! Another message.\n// a comment\nuse x :: * ;\n/** block doc */\npub const PARENTS : & [ & str ] = & [ ] ;\n\n\nfn up()->i32{a - > b;1}\n";
        assert_eq!(checksum(BODY).unwrap(), checksum(reformatted).unwrap());
    }

    #[test]
    fn code_changes_change_the_checksum() {
        let base = checksum(BODY).unwrap();
        assert_ne!(base, checksum(&BODY.replace("1 }", "2 }")).unwrap());
        assert_ne!(base, checksum(&BODY.replace("a - > b", "a + b")).unwrap());
        assert_ne!(base, checksum(&BODY.replace("x::*", "y::*")).unwrap());
        assert_ne!(
            checksum("fn f() { g(\"a\") }").unwrap(),
            checksum("fn f() { g(\"b\") }").unwrap()
        );
    }

    #[test]
    fn invalid_source_is_an_error() {
        assert!(checksum("fn f() {").is_err());
    }

    #[test]
    fn message_is_first_inner_doc_line() {
        assert_eq!(message_of(BODY), "Add phone.");
        assert_eq!(message_of("use x;"), "");
    }

    #[test]
    fn lint_acknowledgements_need_a_reason() {
        let ok = "// lint: allow drop-column -- unused since v2\nfn f() {}";
        assert_eq!(
            lint_allows(ok).unwrap(),
            vec![("drop-column".to_string(), "unused since v2".to_string())]
        );
        assert!(lint_allows("    // lint: allow drop-column").is_err());
        assert_eq!(checksum(ok).unwrap(), checksum("fn f() {}").unwrap());
    }

    #[test]
    fn ids_are_validated() {
        assert!(is_valid_id("m20250101_000001_create_users"));
        assert!(!is_valid_id("m20250101_000001_"));
        assert!(!is_valid_id("m2025010_0000001_x"));
        assert!(!is_valid_id("m20250101_000001_Create"));
        assert!(!is_valid_id("m20250101_000001_add-phone"));
    }

    #[test]
    fn discover_lists_sorted_and_rejects_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m20250102_000000_b.rs"), BODY).unwrap();
        std::fs::write(dir.path().join("m20250101_000000_a.rs"), BODY).unwrap();
        std::fs::write(dir.path().join("README.md"), "not rust").unwrap();
        let files = discover(dir.path()).unwrap();
        let ids: Vec<_> = files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["m20250101_000000_a", "m20250102_000000_b"]);
        let rendered = render(&files);
        assert!(rendered.contains("pub mod m20250101_000000_a;"));
        assert!(rendered.contains("Box::new(m20250102_000000_b::Migration)"));

        // A migration with fields is made by the file's `migration()`.
        let with_fields = "pub struct Migration { table: &'static str }\n\
            pub fn migration() -> Migration { Migration { table: \"t\" } }";
        std::fs::write(dir.path().join("m20250103_000000_c.rs"), with_fields).unwrap();
        let rendered = render(&discover(dir.path()).unwrap());
        assert!(rendered.contains("Box::new(m20250103_000000_c::migration())"));
        assert!(rendered.contains("Box::new(m20250102_000000_b::Migration)"));
        // Without it, the build says what to add.
        std::fs::write(
            dir.path().join("m20250103_000000_c.rs"),
            "pub struct Migration { table: &'static str }",
        )
        .unwrap();
        let err = discover(dir.path()).unwrap_err();
        assert!(
            err.contains("add `pub fn migration() -> Migration"),
            "{err}"
        );
        std::fs::write(dir.path().join("m20250103_000000_c.rs"), BODY).unwrap();

        std::fs::write(dir.path().join("add phone.rs"), BODY).unwrap();
        let err = discover(dir.path()).unwrap_err();
        assert!(err.contains("mYYYYMMDD_HHMMSS_slug.rs"), "{err}");
    }
}
