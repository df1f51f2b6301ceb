//! Writing new migration files: `generate` (an empty revision) and `merge`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A slug for file names: lowercase ASCII letters and digits joined by `_`.
pub fn slug(message: &str) -> String {
    let mut out = String::new();
    for word in message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if out.len() + word.len() > 60 {
            break;
        }
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

/// Picks a revision id `mYYYYMMDD_HHMMSS_slug` that is not taken, moving the
/// time forward a second at a time on a clash.
pub fn new_id(
    message: &str,
    now: chrono::NaiveDateTime,
    taken: impl Fn(&str) -> bool,
) -> Result<String> {
    let slug = slug(message);
    if slug.is_empty() {
        return Err(Error::Usage(format!(
            "the message `{message}` has no letters or digits to name the file with; describe the change, e.g. -m \"add phone to users\""
        )));
    }
    let mut time = now;
    loop {
        let id = format!("m{}_{slug}", time.format("%Y%m%d_%H%M%S"));
        if !taken(&id) {
            return Ok(id);
        }
        time += chrono::Duration::seconds(1);
    }
}

/// Rust source of a new migration.
pub fn render(id: &str, message: &str, parents: &[String], merge: bool) -> String {
    let parents_list = parents
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let message = message.replace('\n', " ");
    let (what, body_up, body_down) = if merge {
        (
            format!(
                "Merge revision: joins {} so the history has one head again. It usually\n//! needs no code; \
                 add some only if the branches conflict.",
                parents
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            "        Ok(())\n".to_string(),
            "        Ok(())\n".to_string(),
        )
    } else {
        (
            "Created by `migration generate`: write `up` and its exact reverse in `down`,\n//! naming tables and \
             columns as strings (never today's entity types), then review and apply it."
                .to_string(),
            "        // For example:\n        // manager\n        //     .alter_table(\n        //         Table::alter()\n        //             .table(\"users\")\n        //             .add_column(ColumnDef::new(\"phone\").string_len(32).null())\n        //             .to_owned(),\n        //     )\n        //     .await\n        let _ = manager;\n        Ok(())\n".to_string(),
            "        let _ = manager;\n        Ok(())\n".to_string(),
        )
    };
    // A merge has no code: its parameter is named `_manager` so the file
    // compiles without warnings (`-D warnings` in CI) and still reads as the
    // usual signature when someone adds code to it.
    let manager = if merge { "_manager" } else { "manager" };
    format!(
        "//! {message}\n//!\n//! {what}\n\nuse migration_core::prelude::*;\n\n\
         /// The revisions this one applies on top of (Alembic's `down_revision`).\n\
         pub const PARENTS: &[&str] = &[{parents_list}];\n\n\
         /// Revision `{id}`.\n#[derive(DeriveMigrationName)]\npub struct Migration;\n\n\
         #[async_trait]\nimpl MigrationTrait for Migration {{\n\
         \x20   async fn up(&self, {manager}: &SchemaManager) -> Result<(), DbErr> {{\n{body_up}    }}\n\n\
         \x20   async fn down(&self, {manager}: &SchemaManager) -> Result<(), DbErr> {{\n{body_down}    }}\n}}\n"
    )
}

/// Writes a new migration file into `dir`, refusing to overwrite.
pub fn write(dir: &Path, id: &str, source: &str) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "the migrations folder {} does not exist; run from the workspace, or pass --dir / set MIGRATION_DIR",
            dir.display()
        )));
    }
    let path = dir.join(format!("{id}.rs"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|source| Error::Io {
            context: format!("cannot create {}", path.display()),
            source,
        })?;
    std::io::Write::write_all(&mut file, source.as_bytes()).map_err(|source| Error::Io {
        context: format!("cannot write {}", path.display()),
        source,
    })?;
    Ok(path)
}

/// The ids in a migration file's `pub const PARENTS: &[&str] = &[...];`, as
/// its source says now (`None`: the file declares no readable `PARENTS`).
pub fn parents_in(source: &str) -> Option<Vec<String>> {
    let at = source.find("const PARENTS")?;
    let rest = &source[at..];
    let open = rest.find('=')?;
    let rest = &rest[open + 1..];
    let list_start = rest.find('[')?;
    let list_end = rest[list_start..].find(']')? + list_start;
    let list = &rest[list_start + 1..list_end];
    let mut out = Vec::new();
    let mut parts = list.split('"');
    parts.next();
    while let Some(id) = parts.next() {
        out.push(id.to_owned());
        // What lies between two literals: a comma and spaces.
        parts.next();
    }
    Some(out)
}

/// The files of a new migration crate at `dir` (sea-orm-cli's `migrate
/// init`): its manifest, `build.rs`, `src/lib.rs`, `src/main.rs`, a first
/// revision `first_id` in `src/versions/` and a README. The package is named
/// after the folder (`migration` for `./migration`); its dependencies are the
/// enclosing workspace's (`[workspace.dependencies]` with `migration-core`).
pub fn init_files(package: &str, first_id: &str) -> Vec<(PathBuf, String)> {
    let lib = package.replace('-', "_");
    let dependencies = "migration-core = { workspace = true }\n\
         sea-orm-migration = { workspace = true }\n\
         sea-orm = { workspace = true }\n\
         tokio = { workspace = true }\n\
         async-trait = { workspace = true }\n\n\
         [build-dependencies]\n\
         migration-build = { workspace = true }\n";
    let manifest = format!(
        "[package]\n\
         name = \"{package}\"\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\n\
         [features]\n\
         default = [\"cli\"]\n\
         # The command line; a service embedding `migrator()` depends on this\n\
         # crate with `default-features = false`.\n\
         cli = [\"migration-core/tooling\"]\n\n\
         [[bin]]\n\
         name = \"{package}\"\n\
         path = \"src/main.rs\"\n\
         required-features = [\"cli\"]\n\n\
         [dependencies]\n\
         {dependencies}"
    );
    let lib_rs = "//! The migrations: every file in `src/versions`, found at build time.\n\
        //!\n\
        //! Add one with `cargo run -p PACKAGE -- generate NAME`; no list needs editing.\n\n\
        /// The migration files, one module each (generated by `build.rs`).\n\
        pub mod versions {\n    include!(concat!(env!(\"OUT_DIR\"), \"/revisions.rs\"));\n}\n\n\
        pub use migration_core::{Error, Migrator, Result};\n\n\
        /// The migrator: every revision in `src/versions`, new files going there too.\n\
        ///\n\
        /// # Errors\n\
        /// The revision graph is invalid (a cycle, a missing parent, a duplicate id).\n\
        pub fn migrator() -> Result<Migrator> {\n    \
            Ok(Migrator::new(versions::revisions())?\n        \
            .with_versions_dir(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/src/versions\")))\n    \
            // For `check` and `revision --autogenerate`, add the entities:\n    \
            // `.with_entities(entity::schema)` (see docs/autogenerate.md).\n}\n"
        .replace("PACKAGE", package);
    let main_rs = format!(
        "//! The migration command: `cargo run -p {package} -- --help`.\n\n\
         fn main() -> std::process::ExitCode {{\n    \
         migration_core::cli::main({lib}::migrator)\n}}\n"
    );
    let build_rs = "//! Finds the migration files in `src/versions` and computes their checksums.\n\n\
        fn main() {\n    migration_build::generate(\"src/versions\");\n}\n";
    let readme = format!(
        "# {package}\n\n\
         The migrations, and their command line.\n\n\
         ```sh\n\
         cargo run -p {package} -- generate create_posts   # a new file in src/versions\n\
         cargo run -p {package} -- -u sqlite://data/dev.db?mode=rwc up\n\
         cargo run -p {package} -- status\n\
         cargo run -p {package} -- --help\n\
         ```\n"
    );
    let first = render(first_id, "first migration", &[], false);
    vec![
        (PathBuf::from("Cargo.toml"), manifest),
        (PathBuf::from("build.rs"), build_rs.to_owned()),
        (PathBuf::from("src/lib.rs"), lib_rs),
        (PathBuf::from("src/main.rs"), main_rs),
        (PathBuf::from(format!("src/versions/{first_id}.rs")), first),
        (PathBuf::from("README.md"), readme),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Add phone to users!"), "add_phone_to_users");
        assert_eq!(slug("  --  "), "");
        assert_eq!(
            slug("Rename user.username -> display_name"),
            "rename_user_username_display_name"
        );
    }

    #[test]
    fn ids_skip_taken_ones() {
        let now = chrono::DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .unwrap()
            .naive_utc();
        let id = new_id("add phone", now, |id| id == "m20250601_120000_add_phone").unwrap();
        assert_eq!(id, "m20250601_120001_add_phone");
        assert!(migration_build::is_valid_id(&id));
        assert!(new_id("!!!", now, |_| false).is_err());
    }

    #[test]
    fn rendered_files_are_valid_revisions() {
        let source = render(
            "m20250601_120000_x",
            "Add phone",
            &["m1".into(), "m2".into()],
            true,
        );
        assert!(source.contains("pub const PARENTS: &[&str] = &[\"m1\", \"m2\"];"));
        assert_eq!(migration_build::message_of(&source), "Add phone");
        assert!(migration_build::checksum(&source).is_ok());
        let plain = render("m20250601_120000_x", "Add phone", &[], false);
        assert!(plain.contains("pub const PARENTS: &[&str] = &[];"));
    }
}
