//! Reflected comparison sides kept between runs, keyed by exactly what built them.
//!
//! Building a side means sending its DDL to a scratch database and reflecting
//! it; on PostgreSQL in its default setup that is most of a `check` (300
//! tables: about a second of server time per side). The same statements on
//! the same server reflect the same way, so a side is looked up by a SHA-256
//! over everything that decides its reflection:
//!
//! * this crate's version and the digest of its source (`build.rs`): another
//!   build of the reflection or the comparison never reads this one's entries;
//! * the backend and what the scratch server says of itself
//!   ([`Backend::server_identity_sql`](crate::backend::Backend::server_identity_sql):
//!   version, modes, collation, installed extensions);
//! * the tables left out of the reflection;
//! * for the entities: the statements of the script
//!   [`Entities::apply`](crate::Entities::apply) sends, sorted: SeaORM's
//!   `SchemaBuilder` orders tables that do not depend on each other
//!   differently from one process to the next, and the script only creates
//!   (tables, indexes, types), so any order it emits builds the same schema;
//! * for the migrations: each revision's id and checksum in the order they
//!   run, and every statement their `up`s send, rendered offline for this
//!   backend: an edit to a helper the migrations call changes the key even
//!   where no checksum changes. A history that cannot be rendered offline in
//!   full (a step that reads the database) is never cached.
//!
//! Only a side that was built and reflected is stored; a failure never is.
//! Entries are JSON files (`<side>-<key>.json`), written atomically; one that
//! does not parse is a miss and is replaced. `--no-cache` (or
//! `MIGRATION_NO_CACHE=1`) builds both sides; `MIGRATION_CACHE_DIR` moves the
//! folder.

use crate::schema::Schema;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// How many entries are kept; the oldest beyond it are removed after a write.
const KEEP: usize = 64;

/// Bumped when the stored format or the key's parts change.
const FORMAT: &str = "1";

/// A folder of reflected sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// A cache in `dir` (created on the first write).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The default folder: `MIGRATION_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/seaorm-migrations/reflections`, else
    /// `$HOME/.cache/seaorm-migrations/reflections`; `None` when none is set.
    pub fn default_dir() -> Option<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = var("MIGRATION_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        let base = var("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("seaorm-migrations").join("reflections"))
    }

    fn path(&self, side: &str, key: &str) -> PathBuf {
        self.dir.join(format!("{side}-{key}.json"))
    }

    /// The side stored under `key`, if any (an unreadable entry is a miss).
    pub fn get(&self, side: &str, key: &str) -> Option<Schema> {
        let path = self.path(side, key);
        let text = std::fs::read(&path).ok()?;
        match serde_json::from_slice(&text) {
            Ok(schema) => Some(schema),
            Err(e) => {
                tracing::debug!(
                    "cache entry {} unreadable ({e}): rebuilding",
                    path.display()
                );
                None
            }
        }
    }

    /// Stores `schema` under `key`. Best effort: a cache that cannot be
    /// written (read-only folder, full disk) only costs the next run a build.
    pub fn put(&self, side: &str, key: &str, schema: &Schema) {
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let json = serde_json::to_vec(schema).map_err(std::io::Error::other)?;
            // Written beside, then renamed: a reader never sees half a file,
            // and two processes storing the same key store the same bytes.
            let tmp = self
                .dir
                .join(format!(".{side}-{key}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, json)?;
            std::fs::rename(&tmp, self.path(side, key))
        };
        match write() {
            Ok(()) => self.prune(),
            Err(e) => tracing::debug!(
                "could not write the comparison cache in {}: {e}",
                self.dir.display()
            ),
        }
    }

    /// Keeps the [`KEEP`] newest entries.
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if files.len() <= KEEP {
            return;
        }
        files.sort();
        for (_, path) in &files[..files.len() - KEEP] {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The key of a side: a SHA-256 over this build's identity and `parts`, each
/// length-prefixed so that no two lists of parts collide by concatenation.
pub fn key<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut digest = Sha256::new();
    let build = [
        FORMAT,
        env!("CARGO_PKG_VERSION"),
        env!("MIGRATION_CORE_SOURCE_DIGEST"),
    ];
    for part in build.into_iter().chain(parts) {
        digest.update((part.len() as u64).to_le_bytes());
        digest.update(part.as_bytes());
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Table;

    fn schema(table: &str) -> Schema {
        let mut s = Schema::default();
        s.tables.insert(
            table.to_owned(),
            Table {
                name: table.to_owned(),
                ..Table::default()
            },
        );
        s
    }

    #[test]
    fn keys_depend_on_every_part_and_its_boundaries() {
        assert_eq!(key(["a", "b"]), key(["a", "b"]));
        assert_ne!(key(["a", "b"]), key(["a", "c"]));
        assert_ne!(key(["ab", ""]), key(["a", "b"]));
        assert_ne!(key(["a"]), key(["a", ""]));
        assert_eq!(key(["x"]).len(), 64);
    }

    #[test]
    fn stores_reads_back_and_treats_a_broken_entry_as_a_miss() {
        let dir = tempdir();
        let cache = Cache::at(dir.join("nested"));
        assert_eq!(cache.get("migrations", "k"), None);
        cache.put("migrations", "k", &schema("users"));
        assert_eq!(cache.get("migrations", "k"), Some(schema("users")));
        assert_eq!(cache.get("entities", "k"), None, "sides are apart");
        std::fs::write(cache.path("migrations", "k"), b"{ not json").unwrap();
        assert_eq!(cache.get("migrations", "k"), None);
        cache.put("migrations", "k", &schema("orders"));
        assert_eq!(cache.get("migrations", "k"), Some(schema("orders")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn keeps_only_the_newest_entries() {
        let dir = tempdir();
        let cache = Cache::at(&dir);
        for i in 0..KEEP + 5 {
            cache.put("entities", &format!("k{i:03}"), &schema("t"));
            // Distinct modification times, oldest first.
            let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(i as u64);
            let f = std::fs::File::options()
                .write(true)
                .open(cache.path("entities", &format!("k{i:03}")))
                .unwrap();
            f.set_modified(old).unwrap();
        }
        cache.put("entities", "last", &schema("t"));
        let left = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(left, KEEP);
        assert!(cache.get("entities", "last").is_some());
        assert!(cache.get("entities", "k000").is_none(), "the oldest went");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unwritable_folder_is_only_a_miss() {
        let dir = tempdir();
        let file = dir.join("a-file");
        std::fs::write(&file, b"").unwrap();
        let cache = Cache::at(file.join("below"));
        cache.put("migrations", "k", &schema("t"));
        assert_eq!(cache.get("migrations", "k"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "migration-cache-test-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
