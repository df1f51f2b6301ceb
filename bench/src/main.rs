//! Benchmarks the migration engine against a raw-SQL floor and sea-orm-migration.
//!
//! `bench engine` is the entry point; the hidden subcommands are the processes
//! it times: the engine's real `migration` CLI over a synthetic history
//! (`migrator`), the floor (`floor`) and sea-orm-migration's runner (`reference`).

mod batch;
mod floor;
mod harness;
mod reference;
mod synthetic;
mod w3;

use clap::{Parser, Subcommand};
use migration_core::cli::Cli;
use std::process::ExitCode;

/// Benchmarks for the migration engine (see docs/benchmarks.md).
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Time the engine's `up` and `status` against the floor and sea-orm-migration; prints tables.
    Engine(harness::Config),
    /// W4 (SQLite batch alter) and W5 (backfill, row transform) against raw-SQL floors.
    Data {
        /// Rows in the benchmark tables.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Runs per measurement (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Only these workloads (`w4`, `w5`; comma-separated). Default: all.
        #[arg(long, value_delimiter = ',', value_parser = ["w4", "w5"])]
        only: Vec<String>,
        /// W5 on these dialects (`sqlite`, `postgres`; comma-separated).
        #[arg(long, value_delimiter = ',', value_parser = ["sqlite", "postgres"], default_value = "sqlite,postgres")]
        dialects: Vec<String>,
    },
    /// W3: `revision --autogenerate` and `check` on 300 tables with 5 changes, as whole processes.
    Autogen {
        /// Runs per command (the median is reported).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// Backends, comma-separated: sqlite, postgres, mysql.
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
        /// Also measure PostgreSQL with its temporary tables in this
        /// tablespace (one in RAM: `scripts/pg-ram-tablespace.sh`); the target
        /// is then judged there.
        #[arg(long, env = "W3_PG_TEMP_TABLESPACE")]
        pg_temp_tablespace: Option<String>,
    },
    /// The `migration` CLI over a synthetic history: `bench migrator --revisions N -- up`.
    #[command(hide = true)]
    Migrator {
        /// Revisions in the synthetic history.
        #[arg(long)]
        revisions: usize,
        /// The W3 history and entities (300 tables); prints the catalog query count.
        #[arg(long)]
        w3: bool,
        /// Arguments for the `migration` CLI.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The floor: the same SQL over one bare sqlx connection.
    #[command(hide = true)]
    Floor {
        /// Revisions to apply.
        #[arg(long)]
        revisions: usize,
        /// Database URL.
        #[arg(long)]
        url: String,
        /// Only read the tracking table.
        #[arg(long)]
        read: bool,
    },
    /// sea-orm-migration's `MigratorTrait::up` over the synthetic history.
    #[command(hide = true)]
    Reference {
        /// Revisions in the synthetic history.
        #[arg(long)]
        revisions: usize,
        /// Database URL.
        #[arg(long)]
        url: String,
    },
}

fn main() -> ExitCode {
    match Args::parse().command {
        Command::Engine(config) => exit_code(harness::run(config)),
        Command::Data {
            rows,
            runs,
            only,
            dialects,
        } => exit_code(block_on(async move {
            let wants = |w: &str| only.is_empty() || only.iter().any(|o| o == w);
            let mut passed = true;
            if wants("w4") {
                let w4 = batch::w4(rows, runs).await.map_err(|e| e.to_string())?;
                println!("{w4}");
                passed &= w4.passed();
            }
            if wants("w5") {
                // clap has kept the names to `sqlite` and `postgres`.
                let dialects: Vec<_> = dialects
                    .iter()
                    .filter_map(|d| migration_core::url::Dialect::from_name(d))
                    .collect();
                let w5 = batch::w5(rows, runs, &dialects)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{w5}");
                passed &= w5.passed();
            }
            if passed {
                Ok(())
            } else {
                Err("a workload missed its target (see the tables)".into())
            }
        })),
        Command::Autogen {
            rounds,
            backends,
            pg_temp_tablespace,
        } => {
            let dialects: Result<Vec<_>, String> = backends
                .iter()
                .map(|b| {
                    migration_core::url::Dialect::from_name(b).ok_or_else(|| {
                        format!("unknown backend `{b}`: use sqlite, postgres or mysql")
                    })
                })
                .collect();
            exit_code(
                dialects
                    .map_err(Into::into)
                    .and_then(|d| w3::run(rounds, &d, pg_temp_tablespace.as_deref()))
                    .map(|table| println!("{table}")),
            )
        }
        Command::Migrator {
            revisions,
            w3,
            args,
        } => migrator(revisions, w3, args),
        Command::Floor {
            revisions,
            url,
            read,
        } => {
            let mode = if read {
                floor::Mode::Read
            } else {
                floor::Mode::Apply
            };
            exit_code(block_on(floor::run(&url, revisions, mode)))
        }
        Command::Reference { revisions, url } => exit_code(block_on(async {
            Ok(reference::up(&url, revisions).await?)
        })),
    }
}

/// What `migration_core::cli::main` does, with the arguments after `--`.
fn migrator(revisions: usize, w3: bool, args: Vec<String>) -> ExitCode {
    let cli = Cli::parse_from(std::iter::once("migration".to_string()).chain(args));
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => return exit_code(Err(format!("cannot start the async runtime: {e}").into())),
    };
    let migrator = if w3 {
        w3::migrator()
    } else {
        synthetic::migrator(revisions)
    };
    let result = migrator.and_then(|m| runtime.block_on(migration_core::cli::run(&m, cli)));
    if w3 {
        eprintln!(
            "{} {}",
            w3::QUERIES_LINE,
            migration_core::schema::catalog_queries()
        );
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The runtime every timed process uses: the one `migration_core::cli::main` builds.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn block_on(
    work: impl Future<Output = Result<(), harness::BoxError>>,
) -> Result<(), harness::BoxError> {
    runtime()?.block_on(work)
}

fn exit_code(result: Result<(), harness::BoxError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
