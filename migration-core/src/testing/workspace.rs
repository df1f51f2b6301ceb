//! Copies of this workspace's crates in a workspace of their own, for tests that edit files and rebuild.
//!
//! The copy shares the original target folder, so only the copied crates
//! compile; each copied package can take a name of its own so that its
//! artifacts (above all its binary) never overwrite the real crate's while
//! tests run in parallel. The library keeps its original name, so `use
//! migration::…` in copied code still resolves.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One crate of the original workspace, copied.
#[derive(Debug, Clone, Copy)]
pub struct CrateCopy<'a> {
    /// The crate's folder in the original workspace, which is also its
    /// package and library name (`migration`, `entity`, `app`).
    pub from: &'a str,
    /// The folder in the copy. Cargo tells path packages apart by their path
    /// relative to the workspace, so a copy of `entity` used by tests that run
    /// at once needs a folder of its own.
    pub to: &'a str,
    /// A package name of its own; its binary (`src/main.rs`, if any) takes
    /// the name too. Cargo names a workspace member's artifacts after its
    /// package and its path relative to the workspace: a copy at the same
    /// folder under the same name would overwrite the real crate's library
    /// in the shared target folder (and a doc test built against the real
    /// one would then find a library it was not compiled with).
    pub package: Option<&'a str>,
    /// Only these files of `src/` (the `versions` folder is created empty);
    /// `None`: all of `src/`.
    pub only: Option<&'a [&'a str]>,
}

impl<'a> CrateCopy<'a> {
    /// `from` copied to the folder of the same name, under its own name.
    pub fn new(from: &'a str) -> Self {
        Self {
            from,
            to: from,
            package: None,
            only: None,
        }
    }

    /// Copied to the folder `to`.
    #[must_use]
    pub fn to(mut self, to: &'a str) -> Self {
        self.to = to;
        self
    }

    /// Named `package` (its binary too).
    #[must_use]
    pub fn package(mut self, package: &'a str) -> Self {
        self.package = Some(package);
        self
    }

    /// Only `files` of `src/`, with an empty `src/versions`.
    #[must_use]
    pub fn only(mut self, files: &'a [&'a str]) -> Self {
        self.only = Some(files);
        self
    }
}

/// A workspace holding copies of some of this workspace's crates; the other
/// path dependencies point at the originals. Removed when dropped.
pub struct WorkspaceCopy {
    dir: tempfile::TempDir,
}

impl WorkspaceCopy {
    /// Copies `crates` of the workspace at `main` (its root manifest, with
    /// `members` replaced and each `dependencies` line whose name starts one
    /// of `dependencies` replaced by it, and `Cargo.lock`), plus the
    /// root-level `files` (such as `justfile`).
    ///
    /// # Panics
    /// A file cannot be read or written (this is test support).
    pub fn new(
        main: &Path,
        crates: &[CrateCopy<'_>],
        dependencies: &[&str],
        files: &[&str],
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path();
        let members: Vec<String> = crates.iter().map(|c| format!("\"{}\"", c.to)).collect();
        let mut manifest = String::new();
        let mut skip = false;
        for line in read(&main.join("Cargo.toml")).lines() {
            if line.starts_with("members") || line.starts_with("default-members") {
                if line.starts_with("members") {
                    manifest.push_str(&format!("members = [{}]\n", members.join(", ")));
                }
                skip = !line.trim_end().ends_with(']');
                continue;
            }
            if skip {
                skip = !line.trim_end().ends_with(']');
                continue;
            }
            let replaced = dependencies.iter().find(|d| {
                d.split_once(" = ")
                    .is_some_and(|(name, _)| line.starts_with(&format!("{name} = ")))
            });
            match replaced {
                Some(d) => manifest.push_str(d),
                None => manifest
                    .push_str(&line.replace("path = \"", &format!("path = \"{}/", main.display()))),
            }
            manifest.push('\n');
        }
        write(&root.join("Cargo.toml"), &manifest);
        copy(&main.join("Cargo.lock"), &root.join("Cargo.lock"));
        for f in files {
            copy(&main.join(f), &root.join(f));
        }
        for c in crates {
            let (from, to) = (main.join(c.from), root.join(c.to));
            match c.only {
                None => copy_dir(&from.join("src"), &to.join("src")),
                Some(files) => {
                    std::fs::create_dir_all(to.join("src/versions")).expect("create src/versions");
                    for f in files {
                        copy(&from.join("src").join(f), &to.join("src").join(f));
                    }
                }
            }
            if from.join("build.rs").exists() {
                copy(&from.join("build.rs"), &to.join("build.rs"));
            }
            let mut own = read(&from.join("Cargo.toml"));
            if let Some(package) = c.package {
                // A manifest that declares its binary (`migration`'s, with
                // `required-features`) has it renamed with the package below.
                let bin = if from.join("src/main.rs").exists() && !own.contains("[[bin]]") {
                    format!("[[bin]]\nname = \"{package}\"\npath = \"src/main.rs\"\n\n")
                } else {
                    String::new()
                };
                own = own
                    .replace(
                        &format!("name = \"{}\"", c.from),
                        &format!("name = \"{package}\""),
                    )
                    .replace(
                        "[dependencies]",
                        &format!(
                            "[lib]\nname = \"{}\"\npath = \"src/lib.rs\"\n\n{bin}[dependencies]",
                            c.from
                        ),
                    );
            }
            write(&to.join("Cargo.toml"), &own);
        }
        Self { dir }
    }

    /// The copy's root folder.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the copy.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// Rewrites the file at `rel` with `edit`; panics when the edit changes nothing.
    ///
    /// # Panics
    /// The file cannot be read or written, or the edit changed nothing.
    pub fn edit(&self, rel: &str, edit: impl Fn(&str) -> String) {
        let path = self.path(rel);
        let source = read(&path);
        let edited = edit(&source);
        assert_ne!(source, edited, "the edit of {rel} changed nothing");
        write(&path, &edited);
    }

    /// The target folder the copy shares: `CARGO_TARGET_DIR`, else the one
    /// the running test binary was built in.
    ///
    /// # Panics
    /// The running executable's path is unknown.
    pub fn target_dir() -> PathBuf {
        if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
            return PathBuf::from(dir);
        }
        let mut exe = std::env::current_exe().expect("the test executable's path");
        while exe
            .file_name()
            .is_some_and(|n| n != "debug" && n != "release")
        {
            exe.pop();
        }
        exe.pop();
        exe
    }

    /// Builds `package`'s binary (offline, debug) with the extra environment
    /// `env`, and returns its path.
    ///
    /// # Panics
    /// The build fails: the message holds cargo's output.
    pub fn build(&self, package: &str, env: &[(&str, &str)]) -> PathBuf {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--offline", "-q", "-p", package, "--bin", package])
            .current_dir(self.root())
            .env("CARGO_TARGET_DIR", Self::target_dir())
            .envs(env.iter().copied())
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building the copy's {package} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self::target_dir().join("debug").join(package)
    }

    /// Compiles `package`'s library (offline, debug) with `-D warnings`: the
    /// flag reaches that crate only (`cargo rustc`), so no dependency is
    /// rebuilt, unlike with `RUSTFLAGS`.
    ///
    /// # Panics
    /// The library does not compile, or warns: the message holds cargo's output.
    pub fn compile_lib_denying_warnings(&self, package: &str) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args([
                "rustc",
                "--offline",
                "-q",
                "-p",
                package,
                "--lib",
                "--",
                "-D",
                "warnings",
            ])
            .current_dir(self.root())
            .env("CARGO_TARGET_DIR", Self::target_dir())
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "the copy's {package} library does not compile without warnings:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs a copy's migration binary `bin` with `-u url` and `args`, no input,
/// and prints the command with its exit code and output (for the test log).
///
/// # Panics
/// The binary cannot be started.
pub fn run_cli(bin: &Path, url: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(bin)
        .arg("-u")
        .arg(url)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    eprintln!(
        "$ {} -> {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn copy(from: &Path, to: &Path) {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
}

/// Copies the folder `from` to `to`, recursively.
///
/// # Panics
/// A file cannot be read or written.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("a folder entry");
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_renames_and_points_the_rest_at_the_original() {
        let main = tempfile::tempdir().unwrap();
        let m = main.path();
        write(
            &m.join("Cargo.toml"),
            "[workspace]\nmembers = [\n  \"a\",\n  \"b\",\n]\n\n[workspace.dependencies]\na = { path = \"a\" }\nb = { path = \"b\" }\n",
        );
        write(&m.join("Cargo.lock"), "# lock\n");
        write(&m.join("justfile"), "x:\n");
        write(
            &m.join("a/Cargo.toml"),
            "[package]\nname = \"a\"\n\n[dependencies]\n",
        );
        write(&m.join("a/build.rs"), "fn main() {}\n");
        write(&m.join("a/src/lib.rs"), "");
        write(&m.join("a/src/main.rs"), "fn main() {}\n");
        write(&m.join("a/src/versions/v1.rs"), "");
        let ws = WorkspaceCopy::new(
            m,
            &[CrateCopy::new("a")
                .to("t-a")
                .package("t-a")
                .only(&["lib.rs", "main.rs"])],
            &["b = { path = \"elsewhere\" }"],
            &["justfile"],
        );
        let root = read(&ws.path("Cargo.toml"));
        assert!(root.contains("members = [\"t-a\"]\n"), "{root}");
        assert!(!root.contains("\"b\",\n"), "{root}");
        assert!(
            root.contains(&format!("a = {{ path = \"{}/a\" }}", m.display())),
            "{root}"
        );
        assert!(root.contains("b = { path = \"elsewhere\" }"), "{root}");
        let own = read(&ws.path("t-a/Cargo.toml"));
        assert!(own.contains("name = \"t-a\""), "{own}");
        assert!(own.contains("[lib]\nname = \"a\""), "{own}");
        assert!(own.contains("[[bin]]\nname = \"t-a\""), "{own}");
        assert!(ws.path("t-a/build.rs").exists());
        assert!(ws.path("t-a/src/versions").is_dir());
        assert!(!ws.path("t-a/src/versions/v1.rs").exists());
        assert!(ws.path("justfile").exists());
        ws.edit("justfile", |s| s.replace('x', "y"));
        assert_eq!(read(&ws.path("justfile")), "y:\n");
    }

    #[test]
    fn a_declared_binary_is_renamed_not_duplicated() {
        let main = tempfile::tempdir().unwrap();
        let m = main.path();
        write(&m.join("Cargo.toml"), "[workspace]\nmembers = [\"a\"]\n");
        write(&m.join("Cargo.lock"), "# lock\n");
        write(
            &m.join("a/Cargo.toml"),
            "[package]\nname = \"a\"\n\n[[bin]]\nname = \"a\"\npath = \"src/main.rs\"\nrequired-features = [\"cli\"]\n\n[dependencies]\n",
        );
        write(&m.join("a/src/lib.rs"), "");
        write(&m.join("a/src/main.rs"), "fn main() {}\n");
        let ws = WorkspaceCopy::new(m, &[CrateCopy::new("a").package("t-a")], &[], &[]);
        let own = read(&ws.path("a/Cargo.toml"));
        assert_eq!(own.matches("[[bin]]").count(), 1, "{own}");
        assert!(
            own.contains(
                "[[bin]]\nname = \"t-a\"\npath = \"src/main.rs\"\nrequired-features = [\"cli\"]"
            ),
            "{own}"
        );
        assert!(own.contains("[lib]\nname = \"a\""), "{own}");
    }
}
