//! The service links migration-core's runtime only: no CLI, code generation or test support.
//!
//! `cargo tree -e normal` also lists what proc-macro crates depend on
//! (sea-orm's derive macros use syn, quote and proc-macro2): those are built
//! for the compiler and never linked into the service. So the rule is checked
//! twice:
//!
//! * on the linked graph (`-e normal,no-proc-macro`), no crate of the tooling
//!   at all, syn, quote and proc-macro2 included;
//! * on the whole normal graph (`-e normal`, macros' dependencies too), none of
//!   the crates only the tooling or the tests bring (clap, prettyplease,
//!   tempfile, insta): no macro needs them either, so finding one means a
//!   feature leaked in.

use std::path::Path;
use std::process::Command;

/// Crates the service must not link: the CLI (clap), autogenerate's Rust
/// rendering (syn, quote, proc-macro2, prettyplease) and test support.
const NOT_LINKED: &[&str] = &[
    "clap",
    "clap_complete",
    "syn",
    "quote",
    "proc-macro2",
    "prettyplease",
    "tempfile",
    "insta",
];

/// Crates that must not appear even among the macros' build-time dependencies.
const NOT_EVEN_BUILT: &[&str] = &["clap", "clap_complete", "prettyplease", "tempfile", "insta"];

/// The package names `cargo tree -p app` prints for `edges`.
fn tree(edges: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-p",
            "app",
            "-e",
            edges,
            "--prefix",
            "none",
        ])
        .current_dir(root)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree -e {edges} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

fn found<'a>(names: &[String], forbidden: &[&'a str]) -> Vec<&'a str> {
    forbidden
        .iter()
        .copied()
        .filter(|f| names.iter().any(|n| n == f))
        .collect()
}

#[test]
fn the_service_links_no_tooling() {
    let linked = tree("normal,no-proc-macro");
    // The graph really is the service's: its own runtime dependencies are there.
    for expected in ["app", "migration", "migration-core", "sea-orm", "axum"] {
        assert!(
            linked.iter().any(|n| n == expected),
            "{expected} missing from app's tree: {linked:?}"
        );
    }
    let bad = found(&linked, NOT_LINKED);
    assert!(
        bad.is_empty(),
        "app links tooling crates {bad:?}: a dependency of app enables migration-core's \
         `tooling` or `testing` feature, or migration's `cli` feature (see `cargo tree -p app \
         -e normal,no-proc-macro -i {}`). The service depends on `migration` and \
         `migration-core` without default features; only the `migration` binary and tests \
         need the tooling (docs/architecture.md, \"Runtime and tooling\")",
        bad[0]
    );
}

#[test]
fn no_tooling_crate_is_built_for_the_service_even_by_a_macro() {
    let all = tree("normal");
    let bad = found(&all, NOT_EVEN_BUILT);
    assert!(
        bad.is_empty(),
        "building app builds {bad:?} (see `cargo tree -p app -e normal -i {}`): a feature of \
         the tooling leaked into the service's dependencies (docs/architecture.md, \"Runtime \
         and tooling\")",
        bad[0]
    );
}
