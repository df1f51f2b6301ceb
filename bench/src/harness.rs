//! `bench engine`: times every runner as a separate process and prints the tables.
//!
//! Each measurement spawns this binary again with a hidden subcommand (the
//! engine's CLI, the raw-SQL floor, or sea-orm-migration), times the whole
//! process with [`Instant`], and interleaves the runners round by round so
//! machine noise hits them alike. Scratch databases are made and dropped
//! outside the timed region.

use migration_core::backend::{self, Backend};
use migration_core::url::Dialect;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A boxed error with a readable message.
pub type BoxError = Box<dyn std::error::Error>;

/// `bench engine` options.
#[derive(Debug, clap::Args)]
pub struct Config {
    /// Revisions in the W1 history; W2 also uses a tenth and ten times as many.
    #[arg(long, default_value_t = 300)]
    pub revisions: usize,
    /// Backends, comma-separated: sqlite, postgres, mysql (MariaDB).
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres,mysql", value_parser = parse_dialect)]
    pub backends: Vec<Dialect>,
    /// Rounds per measurement; the tables show medians.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Smoke run: 30 revisions, 2 rounds.
    #[arg(long)]
    pub quick: bool,
    /// Server for the PostgreSQL scratch databases (trust auth).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_url: String,
    /// Server for the MySQL/MariaDB scratch databases.
    #[arg(long, default_value = "mysql://root@127.0.0.1:3306/")]
    pub mysql_url: String,
}

fn parse_dialect(name: &str) -> Result<Dialect, String> {
    Dialect::from_name(name).ok_or_else(|| format!("unknown backend `{name}`; use sqlite, postgres or mysql"))
}

/// One process the benchmark times.
#[derive(Debug, Clone, Copy)]
enum Job {
    /// The floor applying the history.
    FloorApply,
    /// The floor reading the tracking table.
    FloorRead,
    /// `migration up` (the engine's CLI).
    EngineUp,
    /// `migration status`.
    EngineStatus,
    /// sea-orm-migration's `MigratorTrait::up`.
    ReferenceUp,
}

impl Job {
    fn args(self, revisions: usize, url: &str) -> Vec<String> {
        let n = revisions.to_string();
        let args: &[&str] = match self {
            Job::FloorApply => &["floor", "--revisions", &n, "--url", url],
            Job::FloorRead => &["floor", "--read", "--revisions", &n, "--url", url],
            Job::EngineUp => &["migrator", "--revisions", &n, "--", "--database-url", url, "up"],
            Job::EngineStatus => &["migrator", "--revisions", &n, "--", "--database-url", url, "status"],
            Job::ReferenceUp => &["reference", "--revisions", &n, "--url", url],
        };
        args.iter().map(|s| (*s).to_string()).collect()
    }
}

/// Wall times of one measurement over the rounds.
#[derive(Debug, Default, Clone)]
struct Samples(Vec<Duration>);

impl Samples {
    fn median_ms(&self) -> f64 {
        let mut ms: Vec<f64> = self.0.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        match ms.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => ms[n / 2],
            n => (ms[n / 2 - 1] + ms[n / 2]) / 2.0,
        }
    }

    /// Half the min-max range, relative to the median.
    fn spread(&self) -> f64 {
        let ms = self.0.iter().map(|d| d.as_secs_f64() * 1000.0);
        let (min, max) = ms.fold((f64::INFINITY, 0.0_f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
        (max - min) / 2.0 / self.median_ms()
    }

    fn cell(&self) -> String {
        if self.0.is_empty() {
            return "–".to_string();
        }
        format!("{:.0} ±{:.0}%", self.median_ms(), self.spread() * 100.0)
    }
}

/// One backend's server, where scratch databases are made and dropped.
struct Server {
    dialect: Dialect,
    admin_url: String,
    backend: Box<dyn Backend>,
}

/// W1 results of one backend.
struct UpFromEmpty {
    floor: Samples,
    engine: Samples,
    reference: Samples,
}

/// W2 results of one backend at one history size.
struct NoOp {
    revisions: usize,
    floor_read: Samples,
    engine_up: Samples,
    engine_status: Samples,
    reference_up: Option<Samples>,
}

/// The running benchmark.
struct Bench {
    exe: PathBuf,
    rounds: usize,
    runtime: tokio::runtime::Runtime,
    sqlite_dir: tempfile::TempDir,
    created: std::cell::Cell<usize>,
}

/// Runs `bench engine` and prints its tables.
///
/// # Errors
/// A runner failing, or a scratch database that cannot be made.
pub fn run(mut config: Config) -> Result<(), BoxError> {
    if config.quick {
        config.revisions = 30;
        config.rounds = 2;
    }
    let bench = Bench {
        exe: std::env::current_exe()?,
        rounds: config.rounds.max(1),
        runtime: tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        sqlite_dir: tempfile::tempdir()?,
        created: std::cell::Cell::new(0),
    };
    let n = config.revisions;
    let sizes = [(n / 10).max(1), n, n * 10];
    let mut w1 = Vec::new();
    let mut w2 = Vec::new();
    let mut skipped = Vec::new();
    for &dialect in &config.backends {
        let server = bench.server(dialect, &config);
        if let Err(e) = bench.with_database(&server, |_| Ok(())) {
            skipped.push(format!("{}: server not reachable ({e})", dialect.name()));
            continue;
        }
        progress(&format!("{}: W1, up from empty, N={n}", dialect.name()));
        w1.push((dialect, bench.up_from_empty(&server, n)?));
        for size in sizes {
            progress(&format!("{}: W2, no-op commands, N={size}", dialect.name()));
            w2.push((dialect, bench.no_op(&server, size, size == n)?));
        }
    }
    print!("{}", report(&config, n, bench.rounds, &w1, &w2, &skipped));
    Ok(())
}

fn progress(what: &str) {
    eprintln!("bench: {what} ...");
}

impl Bench {
    fn server(&self, dialect: Dialect, config: &Config) -> Server {
        let admin_url = match dialect {
            Dialect::Sqlite => format!("sqlite://{}", self.sqlite_dir.path().display()),
            Dialect::Postgres => config.postgres_url.clone(),
            Dialect::MySql => config.mysql_url.clone(),
        };
        Server {
            dialect,
            admin_url,
            backend: backend::for_dialect(dialect),
        }
    }

    /// Makes a scratch database, runs `body` with its URL, and drops it (also on failure).
    fn with_database<T>(&self, server: &Server, body: impl FnOnce(&str) -> Result<T, BoxError>) -> Result<T, BoxError> {
        let id = self.created.get() + 1;
        self.created.set(id);
        let name = format!("bench_{}_{id}", std::process::id());
        let url = self.runtime.block_on(server.backend.create_database(&server.admin_url, &name))?;
        let result = body(&url);
        let dropped = self.runtime.block_on(server.backend.drop_database(&server.admin_url, &name));
        let value = result?;
        dropped?;
        Ok(value)
    }

    /// Runs one job as a whole process and returns its wall time; fails if the
    /// process fails or its output lacks `expect`.
    fn time(&self, job: Job, revisions: usize, url: &str, expect: &str) -> Result<Duration, BoxError> {
        let mut command = Command::new(&self.exe);
        command.args(job.args(revisions, url)).stdin(Stdio::null());
        let started = Instant::now();
        let output = command.output()?;
        let elapsed = started.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() || !stdout.contains(expect) {
            return Err(format!(
                "{job:?} (N={revisions}) on {url} failed ({}):\n{}\n{}",
                output.status,
                stdout.lines().rev().take(5).collect::<Vec<_>>().join("\n"),
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(elapsed)
    }

    /// W1: floor, engine and sea-orm-migration, interleaved, each on a fresh database.
    fn up_from_empty(&self, server: &Server, n: usize) -> Result<UpFromEmpty, BoxError> {
        let applied = format!("Applied {n} revision(s)");
        let mut result = UpFromEmpty {
            floor: Samples::default(),
            engine: Samples::default(),
            reference: Samples::default(),
        };
        for _ in 0..self.rounds {
            let runs = [
                (Job::FloorApply, "", &mut result.floor),
                (Job::EngineUp, applied.as_str(), &mut result.engine),
                (Job::ReferenceUp, "", &mut result.reference),
            ];
            for (job, expect, samples) in runs {
                let took = self.with_database(server, |url| self.time(job, n, url, expect))?;
                samples.0.push(took);
            }
        }
        Ok(result)
    }

    /// W2: with all `n` applied (by the floor, with the engine's tracking rows),
    /// a no-op `up` and `status` against the floor's read; with `reference`,
    /// also sea-orm-migration's no-op `up` on a database it migrated itself.
    fn no_op(&self, server: &Server, n: usize, reference: bool) -> Result<NoOp, BoxError> {
        self.with_database(server, |url| {
            self.time(Job::FloorApply, n, url, "")?;
            if reference {
                self.with_database(server, |seaql_url| {
                    self.time(Job::ReferenceUp, n, seaql_url, "")?;
                    self.no_op_rounds(n, url, Some(seaql_url))
                })
            } else {
                self.no_op_rounds(n, url, None)
            }
        })
    }

    fn no_op_rounds(&self, n: usize, url: &str, seaql_url: Option<&str>) -> Result<NoOp, BoxError> {
        let mut result = NoOp {
            revisions: n,
            floor_read: Samples::default(),
            engine_up: Samples::default(),
            engine_status: Samples::default(),
            reference_up: seaql_url.map(|_| Samples::default()),
        };
        for _ in 0..self.rounds {
            result.floor_read.0.push(self.time(Job::FloorRead, n, url, "")?);
            result.engine_up.0.push(self.time(Job::EngineUp, n, url, "Nothing to apply")?);
            result.engine_status.0.push(self.time(Job::EngineStatus, n, url, "Pending: 0")?);
            if let (Some(seaql_url), Some(samples)) = (seaql_url, result.reference_up.as_mut()) {
                samples.0.push(self.time(Job::ReferenceUp, n, seaql_url, "")?);
            }
        }
        Ok(result)
    }
}

/// The tables, as Markdown.
fn report(
    config: &Config,
    n: usize,
    rounds: usize,
    w1: &[(Dialect, UpFromEmpty)],
    w2: &[(Dialect, NoOp)],
    skipped: &[String],
) -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bench engine: {} (UTC), {cores} cores, {rounds} rounds{}; times are the median wall time of a whole \
         process in ms, ± half the min-max range\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        if config.quick { " (--quick)" } else { "" },
    );
    let _ = writeln!(out, "W1: `up` from an empty database to head, N={n}\n");
    let _ = writeln!(
        out,
        "| backend | floor (sqlx) | engine `up` | engine/floor | sea-orm-migration `up` | sea-orm-migration/floor |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for (dialect, r) in w1 {
        let floor = r.floor.median_ms();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2}x | {} | {:.2}x |",
            dialect.name(),
            r.floor.cell(),
            r.engine.cell(),
            r.engine.median_ms() / floor,
            r.reference.cell(),
            r.reference.median_ms() / floor,
        );
    }
    let _ = writeln!(out, "\nW2: no-op commands with every revision applied\n");
    let _ = writeln!(
        out,
        "| backend | N | floor (connect + read tracking table) | engine no-op `up` | engine `status` | sea-orm-migration no-op `up` |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for (dialect, r) in w2 {
        let reference = r.reference_up.as_ref().map_or_else(|| "–".to_string(), Samples::cell);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {reference} |",
            dialect.name(),
            r.revisions,
            r.floor_read.cell(),
            r.engine_up.cell(),
            r.engine_status.cell(),
        );
    }
    let _ = writeln!(out);
    for dialect in &config.backends {
        let rows: Vec<&NoOp> = w2.iter().filter(|(d, _)| d == dialect).map(|(_, r)| r).collect();
        if let (Some(first), Some(last)) = (rows.first(), rows.last())
            && last.revisions > first.revisions
        {
            let per_1k = |s: fn(&NoOp) -> &Samples| {
                (s(last).median_ms() - s(first).median_ms()) * 1000.0 / (last.revisions - first.revisions) as f64
            };
            let _ = writeln!(
                out,
                "W2 growth on {} from N={} to N={}: floor {:+.1}, engine up {:+.1}, status {:+.1} ms per 1000 revisions",
                dialect.name(),
                first.revisions,
                last.revisions,
                per_1k(|r| &r.floor_read),
                per_1k(|r| &r.engine_up),
                per_1k(|r| &r.engine_status),
            );
        }
    }
    for line in skipped {
        let _ = writeln!(out, "skipped {line}");
    }
    out
}
