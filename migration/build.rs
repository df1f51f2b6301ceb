//! Discovers the migration files in `src/versions` and computes their checksums.

fn main() {
    migration_build::generate("src/versions");
}
