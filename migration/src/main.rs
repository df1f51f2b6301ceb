//! The `migration` command: `cargo run -p migration -- --help`.

fn main() -> std::process::ExitCode {
    migration_core::cli::main(migration::migrator)
}
