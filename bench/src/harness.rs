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
    /// Backends, comma-separated: `sqlite`, `postgres` and `mysql` (MariaDB) on
    /// their default servers, or `LABEL=URL` for another server (a PostgreSQL or
    /// MySQL admin URL, or `sqlite:///dir` for the folder the SQLite files go in).
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres,mysql", value_parser = Target::parse)]
    pub backends: Vec<Target>,
    /// Rounds per measurement; the tables show medians.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Smoke run: 30 revisions, 2 rounds.
    #[arg(long)]
    pub quick: bool,
}

/// Default PostgreSQL server (trust auth).
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Default MySQL/MariaDB server.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/";

/// A backend to measure, and the server its scratch databases live on.
#[derive(Debug, Clone)]
pub struct Target {
    /// The name in the tables.
    pub label: String,
    /// Which backend.
    pub dialect: Dialect,
    /// The admin URL; `None` for the default server (SQLite: a temporary folder).
    pub admin_url: Option<String>,
}

impl Target {
    /// Parses `sqlite`, `postgres`, `mysql` or `LABEL=URL`.
    ///
    /// # Errors
    /// An unknown backend name or a URL naming none.
    pub fn parse(spec: &str) -> Result<Self, String> {
        match spec.split_once('=') {
            Some((label, url)) => Ok(Self {
                label: label.to_string(),
                dialect: Dialect::from_url(url).map_err(|e| e.to_string())?,
                admin_url: Some(url.to_string()),
            }),
            None => Ok(Self {
                label: spec.to_string(),
                dialect: Dialect::from_name(spec).ok_or_else(|| {
                    format!("unknown backend `{spec}`; use sqlite, postgres, mysql or LABEL=URL")
                })?,
                admin_url: None,
            }),
        }
    }
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
            Job::EngineUp => &[
                "migrator",
                "--revisions",
                &n,
                "--",
                "--database-url",
                url,
                "up",
            ],
            Job::EngineStatus => &[
                "migrator",
                "--revisions",
                &n,
                "--",
                "--database-url",
                url,
                "status",
            ],
            Job::ReferenceUp => &["reference", "--revisions", &n, "--url", url],
        };
        args.iter().map(|s| (*s).to_string()).collect()
    }
}

/// Wall times of one measurement over the rounds.
#[derive(Debug, Default, Clone)]
struct Samples(Vec<Duration>);

impl Samples {
    fn ms(&self) -> Vec<f64> {
        self.0.iter().map(|d| d.as_secs_f64() * 1000.0).collect()
    }

    fn median_ms(&self) -> f64 {
        median(self.ms())
    }

    /// The median of the per-round ratios `self / base` (the runs of a round are
    /// back to back, so this cancels slow drifts of the machine).
    fn ratio(&self, base: &Samples) -> f64 {
        median(
            self.ms()
                .iter()
                .zip(base.ms())
                .map(|(a, b)| a / b)
                .collect(),
        )
    }

    /// `median (min–max)` in ms.
    fn cell(&self) -> String {
        let ms = self.ms();
        let (min, max) = ms.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
        match ms.len() {
            0 => "–".to_string(),
            1 => format!("{min:.0}"),
            _ => format!("{:.0} ({min:.0}–{max:.0})", self.median_ms()),
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

/// One backend's server, where scratch databases are made and dropped.
struct Server {
    admin_url: String,
    backend: &'static dyn Backend,
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
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        sqlite_dir: tempfile::tempdir()?,
        created: std::cell::Cell::new(0),
    };
    let n = config.revisions;
    let sizes = [(n / 10).max(1), n, n * 10];
    let mut w1 = Vec::new();
    let mut w2 = Vec::new();
    let mut skipped = Vec::new();
    for target in &config.backends {
        let label = target.label.as_str();
        let server = bench.server(target);
        if let Err(e) = bench.with_database(&server, |_| Ok(())) {
            skipped.push(format!("{label}: server not reachable ({e})"));
            continue;
        }
        progress(&format!("{label}: W1, up from empty, N={n}"));
        w1.push((label, bench.up_from_empty(&server, n)?));
        for size in sizes {
            progress(&format!("{label}: W2, no-op commands, N={size}"));
            w2.push((label, bench.no_op(&server, size, size == n)?));
        }
    }
    print!("{}", report(&config, n, bench.rounds, &w1, &w2, &skipped));
    Ok(())
}

fn progress(what: &str) {
    eprintln!("bench: {what} ...");
}

impl Bench {
    fn server(&self, target: &Target) -> Server {
        let admin_url = target
            .admin_url
            .clone()
            .unwrap_or_else(|| match target.dialect {
                Dialect::Sqlite => format!("sqlite://{}", self.sqlite_dir.path().display()),
                Dialect::Postgres => DEFAULT_POSTGRES_URL.to_string(),
                Dialect::MySql => DEFAULT_MYSQL_URL.to_string(),
            });
        Server {
            admin_url,
            backend: backend::of(target.dialect),
        }
    }

    /// Makes a scratch database, runs `body` with its URL, and drops it (also on failure).
    fn with_database<T>(
        &self,
        server: &Server,
        body: impl FnOnce(&str) -> Result<T, BoxError>,
    ) -> Result<T, BoxError> {
        let id = self.created.get() + 1;
        self.created.set(id);
        let name = format!("bench_{}_{id}", std::process::id());
        let url = self
            .runtime
            .block_on(server.backend.create_database(&server.admin_url, &name))?;
        let result = body(&url);
        let dropped = self
            .runtime
            .block_on(server.backend.drop_database(&server.admin_url, &name));
        let value = result?;
        dropped?;
        Ok(value)
    }

    /// Runs one job as a whole process and returns its wall time; fails if the
    /// process fails or its output lacks `expect`.
    fn time(
        &self,
        job: Job,
        revisions: usize,
        url: &str,
        expect: &str,
    ) -> Result<Duration, BoxError> {
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
                tail(&stdout, 5),
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
            result
                .floor_read
                .0
                .push(self.time(Job::FloorRead, n, url, "")?);
            result
                .engine_up
                .0
                .push(self.time(Job::EngineUp, n, url, "Nothing to apply")?);
            result
                .engine_status
                .0
                .push(self.time(Job::EngineStatus, n, url, "Pending: 0")?);
            if let (Some(seaql_url), Some(samples)) = (seaql_url, result.reference_up.as_mut()) {
                samples
                    .0
                    .push(self.time(Job::ReferenceUp, n, seaql_url, "")?);
            }
        }
        Ok(result)
    }
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The tables, as Markdown.
fn report(
    config: &Config,
    n: usize,
    rounds: usize,
    w1: &[(&str, UpFromEmpty)],
    w2: &[(&str, NoOp)],
    skipped: &[String],
) -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bench engine: {} (UTC), {cores} cores, {rounds} rounds{}; times are the median (min–max) wall time \
         of a whole process in ms; ratios are the median of the per-round ratios\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        if config.quick { " (--quick)" } else { "" },
    );
    let _ = writeln!(out, "W1: `up` from an empty database to head, N={n}\n");
    let _ = writeln!(
        out,
        "| backend | floor (sqlx) | engine `up` | engine/floor | sea-orm-migration `up` | sea-orm-migration/floor |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for (label, r) in w1 {
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {:.2}x | {} | {:.2}x |",
            r.floor.cell(),
            r.engine.cell(),
            r.engine.ratio(&r.floor),
            r.reference.cell(),
            r.reference.ratio(&r.floor),
        );
    }
    let _ = writeln!(out, "\nW2: no-op commands with every revision applied\n");
    let _ = writeln!(
        out,
        "| backend | N | floor (connect + read tracking table) | engine no-op `up` | engine `status` | sea-orm-migration no-op `up` |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
    for (label, r) in w2 {
        let reference = r
            .reference_up
            .as_ref()
            .map_or_else(|| "–".to_string(), Samples::cell);
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {reference} |",
            r.revisions,
            r.floor_read.cell(),
            r.engine_up.cell(),
            r.engine_status.cell(),
        );
    }
    let _ = writeln!(out);
    for target in &config.backends {
        let rows: Vec<&NoOp> = w2
            .iter()
            .filter(|(l, _)| *l == target.label)
            .map(|(_, r)| r)
            .collect();
        if let (Some(first), Some(last)) = (rows.first(), rows.last())
            && last.revisions > first.revisions
        {
            let per_1k = |s: fn(&NoOp) -> &Samples| {
                (s(last).median_ms() - s(first).median_ms()) * 1000.0
                    / (last.revisions - first.revisions) as f64
            };
            let _ = writeln!(
                out,
                "W2 growth on {} from N={} to N={}: floor {:+.1}, engine up {:+.1}, status {:+.1} ms per 1000 revisions",
                target.label,
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
