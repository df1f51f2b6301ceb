//! The `migration` command line: sea-orm-migration's commands plus Alembic's.

pub mod scaffold;

use crate::error::{Error, Result};
use crate::graph::{RevisionInfo, Target};
use crate::graph_svg;
use crate::hold::{self, Hold};
use crate::revision::Migrator;
use crate::runner::{Direction, Event, Runner, RunnerOptions, State};
use crate::url::{DEFAULT_DATABASE_URL, Dialect, mask};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Database migrations for SeaORM: a revision graph with branches and merges,
/// a locked runner with checksums, and Alembic's workflow.
#[derive(Debug, Parser)]
#[command(name = "migration", version, propagate_version = true)]
pub struct Cli {
    /// Database URL [default: sqlite://data/dev.db?mode=rwc, or DATABASE_URL, or .env].
    #[arg(
        short = 'u',
        long,
        env = "DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Seconds to wait for another migration run to release the lock.
    #[arg(
        long,
        env = "MIGRATION_LOCK_TIMEOUT",
        default_value_t = 60,
        global = true
    )]
    pub lock_timeout: u64,

    /// How many times to try connecting before giving up.
    #[arg(
        long,
        env = "MIGRATION_CONNECT_ATTEMPTS",
        default_value_t = 3,
        global = true
    )]
    pub connect_attempts: u32,

    /// Seconds one connection attempt may take.
    #[arg(
        long,
        env = "MIGRATION_CONNECT_TIMEOUT",
        default_value_t = 5,
        global = true
    )]
    pub connect_timeout: u64,

    /// How the database is reached: `auto` (PostgreSQL: a server on another
    /// port than the URL's has a pooler in between), `transaction` (a
    /// transaction pooler such as PgBouncer's `pool_mode = transaction`:
    /// prepare nothing) or `none`.
    #[arg(long, env = "MIGRATION_POOLER", default_value = "auto", global = true)]
    pub pooler: crate::backend::Pooler,

    /// Which migration lock to take: `auto` (the engine's own where it
    /// works, else the table lock), `advisory` (PostgreSQL advisory lock,
    /// MySQL GET_LOCK, SQLite lock file) or `table` (a lease in
    /// `<tracking table>_lock`, for engines and poolers without a usable one).
    #[arg(long, env = "MIGRATION_LOCK", default_value = "auto", global = true)]
    pub lock: crate::backend::LockKind,

    /// Seconds without a heartbeat after which the table lock's lease is
    /// taken over from a holder that died.
    #[arg(
        long,
        env = "MIGRATION_LOCK_LEASE",
        default_value_t = 30,
        global = true
    )]
    pub lock_lease: u64,

    /// PostgreSQL schema to migrate and read (sea-orm-cli's `-s`): the
    /// tracking table and the migrations' tables live there; created by the
    /// first command that writes.
    #[arg(
        short = 's',
        long,
        env = "DATABASE_SCHEMA",
        global = true,
        hide_env_values = true
    )]
    pub database_schema: Option<String>,

    /// Log more: `-v` the engine's steps (debug), `-vv` every statement
    /// (trace); `MIGRATION_LOG` sets the filter itself.
    #[arg(short = 'v', long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// What to do; `up` when omitted (as in sea-orm-migration).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending revisions (all of them, or up to a target).
    #[command(visible_alias = "upgrade")]
    Up(StepArgs),
    /// Revert applied revisions (one by default).
    #[command(visible_alias = "downgrade")]
    Down(StepArgs),
    /// Every revision, applied or pending, with when it was applied.
    Status(FormatArg),
    /// The revisions the database is at.
    Current(FormatArg),
    /// The newest revisions of the code (more than one means the history branched).
    Heads(FormatArg),
    /// The revisions, newest first.
    History(HistoryArgs),
    /// One revision in detail.
    Show {
        /// A revision id, a unique prefix, `head` or `base`.
        revision: String,
        /// Print the revision's SQL (its `up`, run offline; Django's `sqlmigrate`).
        #[arg(long)]
        sql: bool,
        /// With --sql: the SQL dialect [default: the URL's scheme].
        #[arg(long, requires = "sql", value_parser = ["sqlite", "postgres", "mysql"])]
        dialect: Option<String>,
        /// With --sql on MySQL/MariaDB: a server for the scratch database the
        /// history is replayed on (see `up --scratch-url`).
        #[arg(long, env = "MIGRATION_SCRATCH_URL", hide_env_values = true)]
        scratch_url: Option<String>,
    },
    /// Record a revision as the database's state without running migrations.
    Stamp {
        /// A revision, `head`, `heads` or `base`.
        target: String,
        /// First remove every recorded row, including ones no migration defines.
        #[arg(long)]
        purge: bool,
    },
    /// Create a new, empty migration file (Alembic: `revision -m`).
    #[command(visible_alias = "revision")]
    Generate(GenerateArgs),
    /// Create a migration crate in a Cargo workspace (sea-orm-cli's
    /// `migrate init`): manifest, build script, library, command, a first
    /// revision.
    Init {
        /// Folder of the new crate; its name is the package's
        /// (sea-orm-cli's `-d/--migration-dir`).
        #[arg(
            short = 'd',
            long,
            visible_alias = "migration-dir",
            default_value = "migration"
        )]
        dir: PathBuf,
    },
    /// Create a merge revision joining heads.
    Merge {
        /// The heads to merge (`heads`: all of them, Alembic's `merge heads`)
        /// [default: all heads].
        revisions: Vec<String>,
        /// What the merge is for.
        #[arg(short, long, default_value = "merge heads")]
        message: String,
        /// Folder to write the file into [default: the migration crate's src/versions]
        /// (sea-orm-cli's `-d/--migration-dir`).
        #[arg(
            short = 'd',
            long,
            visible_alias = "migration-dir",
            env = "MIGRATION_DIR"
        )]
        dir: Option<PathBuf>,
    },
    /// DESTRUCTIVE: drop every table in the database, then apply all revisions.
    Fresh(ConfirmArg),
    /// Revert every revision, then apply them all again.
    Refresh(ConfirmArg),
    /// DESTRUCTIVE: revert every revision and drop the tracking table.
    Reset(ConfirmArg),
    /// Accept edited migrations' new checksums and clear failed records.
    Repair,
    /// Fail (exit 1) if the entities and the migrations differ, the history has
    /// several heads, or (with -u/DATABASE_URL) that database is not at head.
    Check(CheckArgs),
    /// Check what migrations will execute for data loss, long locks and breaking changes.
    Lint(LintArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// How far `up` / `down` go.
#[derive(Debug, Args, Default)]
pub struct StepArgs {
    /// A target: a revision (or unique prefix), `head`, `heads`, `base`, `+N`, `-N`, `REV+N`.
    #[arg(allow_hyphen_values = true, conflicts_with_all = ["num", "to"])]
    pub target: Option<String>,
    /// Number of revisions to apply or revert.
    #[arg(short, long, conflicts_with = "to")]
    pub num: Option<u32>,
    /// Target revision (same forms as TARGET).
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Print the SQL instead of running it (no connection is made).
    #[arg(long)]
    pub sql: bool,
    /// With --sql: the revision the database is assumed to be at, or
    /// `current` to read it from the database (read only; the one offline
    /// form that connects) [default: base for `up`, the heads for `down`].
    #[arg(long, requires = "sql")]
    pub from: Option<String>,
    /// With --sql: the SQL dialect [default: the URL's scheme].
    #[arg(long, requires = "sql", value_parser = ["sqlite", "postgres", "mysql"])]
    pub dialect: Option<String>,
    /// With --sql on MySQL/MariaDB: a server where a scratch database may be
    /// created (and is dropped afterwards) to build the schema the history
    /// builds, so that a `MODIFY COLUMN` is written from the column's
    /// current definition, e.g. mysql://root@localhost:3306/mysql. The target
    /// database is never connected to.
    #[arg(long, env = "MIGRATION_SCRATCH_URL", hide_env_values = true)]
    pub scratch_url: Option<String>,
}

/// Output format of listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// Graphviz (history only).
    Dot,
    /// SVG: the graph with each revision's state (history only; the app's
    /// `GET /migrations` draws the same).
    Svg,
}

/// `--format`.
#[derive(Debug, Args)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `history` options.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Range `A:B` (either side may be empty; `base`, `head`, `heads`, revisions).
    #[arg(short, long, allow_hyphen_values = true)]
    pub rev_range: Option<String>,
    /// Draw branches and merges as text lanes.
    #[arg(long)]
    pub graph: bool,
    /// Output format (`dot` gives Graphviz, `svg` a drawing with each revision's state).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `generate` / `revision` options.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Name of the migration (sea-orm-migration style).
    pub name: Option<String>,
    /// Message (Alembic style); same as NAME.
    #[arg(short, long, conflicts_with = "name")]
    pub message: Option<String>,
    /// The parent revision [default: the single head].
    #[arg(long)]
    pub head: Option<String>,
    /// Fill the migration from the difference between entities and migrations.
    #[arg(long)]
    pub autogenerate: bool,
    /// Name the file by the local time (sea-orm-cli's `--local-time`).
    #[arg(long, conflicts_with = "universal_time")]
    pub local_time: bool,
    /// Name the file by UTC, the default (sea-orm-cli's `--universal-time`).
    #[arg(long)]
    pub universal_time: bool,
    /// Folder to write the file into [default: the migration crate's src/versions]
    /// (sea-orm-cli's `-d/--migration-dir`).
    #[arg(
        short = 'd',
        long,
        visible_alias = "migration-dir",
        env = "MIGRATION_DIR"
    )]
    pub dir: Option<PathBuf>,
    /// Where `--autogenerate` compares.
    #[command(flatten)]
    pub scratch: ScratchArgs,
}

/// Where autogenerate and `check` build their scratch databases.
#[derive(Debug, Args, Default)]
pub struct ScratchArgs {
    /// Backend to compare on: sqlite (in memory, the default), postgres or mysql
    /// (a temporary database on --scratch-url's server, dropped afterwards).
    #[arg(long, value_parser = parse_dialect)]
    pub dialect: Option<Dialect>,
    /// Server for the temporary databases, e.g. postgres://postgres@localhost:5432/postgres
    /// [default: the local test server: TEST_POSTGRES_URL / TEST_MYSQL_URL or 127.0.0.1].
    #[arg(long, env = "MIGRATION_SCRATCH_URL", hide_env_values = true)]
    pub scratch_url: Option<String>,
    /// Compare everything, also what entities cannot declare (indexes with
    /// expressions, predicates or access methods; server defaults the
    /// entities leave out; objects the migrator gives the migrations): by
    /// default those are listed as managed by migrations and never changed.
    #[arg(long)]
    pub strict: bool,
    /// Build both sides even when the comparison cache holds them (it is
    /// keyed by the exact statements each side sends and the server's
    /// identity; `MIGRATION_CACHE_DIR` moves it, see docs/autogenerate.md).
    #[arg(long, env = "MIGRATION_NO_CACHE")]
    pub no_cache: bool,
}

/// `check` options.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Where to compare.
    #[command(flatten)]
    pub scratch: ScratchArgs,
}

fn parse_dialect(s: &str) -> std::result::Result<Dialect, String> {
    Dialect::from_name(s)
        .ok_or_else(|| format!("unknown dialect `{s}`; use sqlite, postgres or mysql"))
}

impl ScratchArgs {
    /// Where to compare: on `--dialect` / `--scratch-url` when given; else on
    /// the backend of the database the command was given (`-u`,
    /// `DATABASE_URL`), on that server (PostgreSQL: a schema inside a
    /// transaction that is rolled back, in the server's `postgres` database;
    /// MySQL/MariaDB: a temporary database, dropped afterwards; see
    /// `Backend::scratch_server_for`), so that
    /// what is compared is what that backend
    /// makes; else on in-memory SQLite.
    fn scratch(&self, named: Option<&str>) -> Result<crate::autogen::Scratch> {
        let named = named.map(|u| Ok::<_, Error>((u, Dialect::from_url(u)?)));
        let named = named.transpose()?;
        let dialect = match (&self.dialect, &self.scratch_url, named) {
            (Some(d), _, _) => *d,
            (None, Some(url), _) => Dialect::from_url(url)?,
            (None, None, Some((_, d))) => d,
            (None, None, None) => Dialect::default(),
        };
        let server_url = match (&self.scratch_url, named) {
            (Some(url), _) => Some(url.clone()),
            (None, Some((url, d))) if d == dialect => crate::backend::of(d).scratch_server_for(url),
            _ => None,
        };
        if let Some(url) = &self.scratch_url
            && Dialect::from_url(url)? != dialect
        {
            return Err(Error::Usage(format!(
                "--scratch-url {} is not a {} server; pass one that matches --dialect",
                mask(url),
                dialect.name()
            )));
        }
        let cache = if self.no_cache {
            None
        } else {
            crate::autogen::Cache::default_dir().map(crate::autogen::Cache::at)
        };
        Ok(crate::autogen::Scratch {
            dialect,
            server_url,
            cache,
        })
    }
}

/// `lint` options.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Revisions to lint [default: those pending in the database].
    pub revisions: Vec<String>,
    /// Lint every revision.
    #[arg(long, conflicts_with = "revisions")]
    pub all: bool,
    /// Backend to render for: sqlite, postgres, mysql or all [default: the URL's].
    #[arg(long, value_parser = ["sqlite", "postgres", "mysql", "all"])]
    pub dialect: Option<String>,
    /// Fail on warnings too, not only on errors.
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--yes`.
#[derive(Debug, Args)]
pub struct ConfirmArg {
    /// Confirm a destructive command without asking.
    #[arg(short, long)]
    pub yes: bool,
}

/// Runs the CLI: loads `.env`, parses the arguments, runs, prints errors.
///
/// `migrator` builds the project's migrator (it fails if the revision graph is
/// invalid, which is reported like any other error).
pub fn main(migrator: impl FnOnce() -> Result<Migrator>) -> ExitCode {
    quiet_broken_pipe();
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = migrator().and_then(|m| runtime.block_on(run(&m, cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `migration history | head` closes stdout early; that is not a crash, so exit
/// quietly instead of printing a panic (Rust ignores SIGPIPE, and `println!`
/// panics on the broken pipe).
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "migration_core=debug,warn",
        _ => "migration_core=trace,sea_orm=debug,sqlx=info,warn",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("MIGRATION_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    for directive in crate::url::QUIET_DRIVER_LOGS {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs one parsed command.
///
/// # Errors
/// Whatever the command fails with.
pub async fn run(migrator: &Migrator, cli: Cli) -> Result<()> {
    let url = cli
        .database_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
    let url = match cli
        .database_schema
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        Some(schema) => crate::url::with_schema(&url, schema)?,
        None => url,
    };
    let options = RunnerOptions {
        lock_timeout: Duration::from_secs(cli.lock_timeout),
        connect_attempts: cli.connect_attempts,
        connect_timeout: Duration::from_secs(cli.connect_timeout.max(1)),
        pooler: cli.pooler,
        lock: cli.lock,
        lease: Duration::from_secs(cli.lock_lease.max(1)),
        ..RunnerOptions::default()
    };
    let ctx = Ctx {
        migrator,
        url,
        options,
    };
    // The URL as the user named it (`-u`, `DATABASE_URL`, `.env`), with the
    // schema of `-s` applied; `None` for the built-in default.
    let named = cli
        .database_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map(|_| ctx.url.clone());
    let named = named.as_deref();
    match cli.command.unwrap_or(Command::Up(StepArgs::default())) {
        Command::Up(args) => ctx.up(args).await,
        Command::Down(args) => ctx.down(args).await,
        Command::Status(f) => ctx.status(f.format).await,
        Command::Current(f) => ctx.current(f.format).await,
        Command::Heads(f) => heads(migrator, f.format),
        Command::History(args) => {
            let state = ctx.state_if_reachable().await;
            if args.format == Format::Svg {
                print!("{}", history_svg(migrator, &ctx.url, state.as_ref()));
                return Ok(());
            }
            let applied = state.map(|(s, _)| s.applied);
            // Alembic's `history -v`: parents, file and checksum too.
            history(migrator, &args, applied.as_ref(), cli.verbose > 0)
        }
        Command::Show {
            revision,
            sql: false,
            ..
        } => show(migrator, &revision),
        Command::Show {
            revision,
            sql: true,
            dialect,
            scratch_url,
        } => {
            let id = migrator.graph().resolve(&revision)?.to_string();
            let parents: Vec<String> = migrator
                .graph()
                .get(&id)
                .map(|r| r.parents.clone())
                .unwrap_or_default();
            let mut applied = HashSet::new();
            for parent in &parents {
                applied.extend(
                    migrator
                        .graph()
                        .plan_stamp(&Target::Revision(parent.clone()))?,
                );
            }
            ctx.offline(
                dialect.as_deref(),
                scratch_url.as_deref(),
                applied,
                &Target::Revision(id),
                Direction::Up,
            )
            .await
        }
        Command::Stamp { target, purge } => ctx.stamp(&target, purge).await,
        Command::Generate(args) => generate(migrator, args, named).await,
        Command::Init { dir } => init(&dir),
        Command::Merge {
            revisions,
            message,
            dir,
        } => merge(migrator, &revisions, &message, dir),
        Command::Fresh(c) => ctx.fresh(c.yes).await,
        Command::Refresh(c) => ctx.refresh(c.yes).await,
        Command::Reset(c) => ctx.reset(c.yes).await,
        Command::Repair => ctx.repair().await,
        Command::Check(args) => check(&ctx, args, named).await,
        Command::Lint(args) => ctx.lint(args).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "migration",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

struct Ctx<'m> {
    migrator: &'m Migrator,
    url: String,
    options: RunnerOptions,
}

fn print_progress(event: Event<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = match event {
        Event::LockWaiting(holder) => writeln!(out, "Waiting for the migration lock{holder} ..."),
        Event::Adopted(ids, table) => writeln!(
            out,
            "Adopted {} revision(s) recorded by sea-orm-migration in {table}; they will not run again. \
             From now on this tool keeps the record ({table} is left as it was and no longer \
             updated): do not run sea-orm-migration against this database again.",
            ids.len()
        ),
        Event::Started(rev, direction) => {
            let verb = match direction {
                Direction::Up => "Applying",
                Direction::Down => "Reverting",
            };
            match rev.message.as_str() {
                "" => write!(out, "{verb} {} ... ", rev.id),
                message => write!(out, "{verb} {} ({message}) ... ", rev.id),
            }
        }
        Event::Finished(_, _, took) => writeln!(out, "done in {} ms", took.as_millis()),
        Event::Warning(text) => writeln!(std::io::stderr(), "warning: {text}"),
    };
    let _ = out.flush();
}

impl<'m> Ctx<'m> {
    async fn runner(&self) -> Result<Runner<'m>> {
        Ok(
            Runner::connect(self.migrator, &self.url, self.options.clone())
                .await?
                .on_progress(print_progress),
        )
    }

    /// The revisions an offline run assumes applied: `--from REV` and its
    /// ancestors; `--from current`, what the database records (read only:
    /// the one offline form that connects); without it, nothing for `up` and
    /// everything for `down`.
    async fn assumed_applied(
        &self,
        from: Option<&str>,
        direction: Direction,
    ) -> Result<HashSet<String>> {
        let graph = self.migrator.graph();
        match (from, direction) {
            (Some("current"), _) => {
                let runner = self.runner().await?;
                let state = runner.state().await?;
                if let Some(row) = state.failed.first() {
                    return Err(Error::Usage(format!(
                        "revision `{}` is recorded as failed or interrupted in this database; \
                         `--from current` cannot tell what it left: fix it (see `status`), or \
                         pass `--from REV`",
                        row.revision
                    )));
                }
                Ok(state.applied)
            }
            (Some(spec), _) => Ok(graph.plan_stamp(&Target::parse(spec)?)?),
            (None, Direction::Up) => Ok(HashSet::new()),
            (None, Direction::Down) => Ok(graph.plan_stamp(&Target::Heads)?),
        }
    }

    /// Runs the plan against a recording connection and prints the script.
    async fn offline(
        &self,
        dialect: Option<&str>,
        scratch_url: Option<&str>,
        applied: HashSet<String>,
        target: &Target,
        direction: Direction,
    ) -> Result<()> {
        let dialect = match dialect {
            Some(name) => Dialect::from_name(name)
                .ok_or_else(|| Error::Usage(format!("unknown dialect `{name}`")))?,
            None => Dialect::from_url(&self.url)?,
        };
        let from = self.migrator.graph().current(&applied);
        let (runner, script) = Runner::offline(self.migrator, dialect, applied);
        // A SQLite table rebuild and a MySQL MODIFY COLUMN are written from
        // the definitions the history builds (in memory, or on --scratch-url).
        let needs_copy = crate::backend::of(dialect).offline_needs_copy();
        let server = scratch_url.filter(|_| needs_copy);
        if let Some(url) = server
            && Dialect::from_url(url)? != dialect
        {
            return Err(Error::Usage(format!(
                "--scratch-url {} is not a {} server; pass one that matches the script's dialect",
                mask(url),
                dialect.name()
            )));
        }
        let copied = runner.prepare_shadow(server).await?;
        if server.is_some() && !copied {
            eprintln!(
                "note: the applied revisions could not be replayed on a scratch database of \
                 --scratch-url's server; the parts that need a table's definition are marked \
                 `-- OFFLINE:`"
            );
        }
        let result = self
            .offline_script(runner, &script, dialect, &from, target, direction)
            .await;
        script.drop_shadow().await;
        result
    }

    /// Runs the offline runner and prints its script.
    async fn offline_script(
        &self,
        runner: Runner<'_>,
        script: &crate::offline::Script,
        dialect: Dialect,
        from: &[String],
        target: &Target,
        direction: Direction,
    ) -> Result<()> {
        let notes = script.clone();
        let runner = runner.on_progress(move |event| {
            if let Event::Started(rev, dir) = event {
                let verb = if dir == Direction::Up {
                    "Applying"
                } else {
                    "Reverting"
                };
                notes.comment(match rev.message.as_str() {
                    "" => format!("{verb} {}", rev.id),
                    message => format!("{verb} {}: {message}", rev.id),
                });
            }
        });
        let done = match direction {
            Direction::Up => runner.upgrade(target).await?,
            Direction::Down => runner.downgrade(target).await?,
        };
        let unrenderable = script.unrenderable();
        println!(
            "-- Offline SQL ({}) from `migration {} --sql`, generated {}.",
            dialect.name(),
            if direction == Direction::Up {
                "up"
            } else {
                "down"
            },
            crate::history::now()
        );
        println!(
            "-- From {} to {}; {} revision(s). Review it, then run it with psql -f, mysql < or sqlite3.\n",
            if from.is_empty() {
                "base".to_string()
            } else {
                from.join(", ")
            },
            target,
            done.len()
        );
        print!("{}", script.render());
        if unrenderable > 0 {
            println!(
                "-- {unrenderable} part(s) could not be rendered offline (marked OFFLINE above)."
            );
            eprintln!(
                "note: {unrenderable} part(s) of this script need the live database (a read, or a table \
                 definition) and could not be rendered offline; they are marked `-- OFFLINE:` in the output"
            );
        }
        Ok(())
    }

    /// The tracking table and the hold, if the database can be read without
    /// creating anything (no new SQLite file) and answers at once.
    async fn state_if_reachable(&self) -> Option<(State, Option<Hold>)> {
        if let Some(path) = crate::url::sqlite_path(&self.url)
            && !path.exists()
        {
            return None;
        }
        let options = RunnerOptions {
            connect_attempts: 1,
            ..self.options.clone()
        };
        let runner = Runner::connect(self.migrator, &self.url, options)
            .await
            .ok()?;
        let state = runner.state().await.ok()?;
        let held = hold::read(self.migrator, runner.connection(), runner.backend())
            .await
            .ok()
            .flatten();
        Some((state, held))
    }

    fn database_line(&self) -> String {
        let dialect = Dialect::from_url(&self.url)
            .map(Dialect::name)
            .unwrap_or("?");
        format!("Database: {} ({dialect})", mask(&self.url))
    }

    async fn up(&self, args: StepArgs) -> Result<()> {
        let target = step_target(&args, Direction::Up)?;
        if args.sql {
            let applied = self
                .assumed_applied(args.from.as_deref(), Direction::Up)
                .await?;
            return self
                .offline(
                    args.dialect.as_deref(),
                    args.scratch_url.as_deref(),
                    applied,
                    &target,
                    Direction::Up,
                )
                .await;
        }
        let runner = self.runner().await?;
        println!("{}", self.database_line());
        let applied = runner.upgrade(&target).await;
        if let Err(Error::MigrationFailed { .. }) = &applied {
            println!("failed");
        }
        let applied = applied?;
        fewer_than_asked(&target, applied.len(), "pending", "applied");
        self.lift_hold(&runner).await?;
        match applied.len() {
            0 => println!(
                "Nothing to apply: the database is at {}.",
                describe_current(&runner.state().await?, self.migrator)
            ),
            n => println!(
                "Applied {n} revision(s); the database is at {}.",
                describe_current(&runner.state().await?, self.migrator)
            ),
        }
        Ok(())
    }

    async fn down(&self, args: StepArgs) -> Result<()> {
        let target = step_target(&args, Direction::Down)?;
        if args.sql {
            let applied = self
                .assumed_applied(args.from.as_deref(), Direction::Down)
                .await?;
            return self
                .offline(
                    args.dialect.as_deref(),
                    args.scratch_url.as_deref(),
                    applied,
                    &target,
                    Direction::Down,
                )
                .await;
        }
        let runner = self.runner().await?;
        println!("{}", self.database_line());
        let reverted = runner.downgrade(&target).await;
        if let Err(Error::MigrationFailed { .. }) = &reverted {
            println!("failed");
        }
        let reverted = reverted?;
        fewer_than_asked(&target, reverted.len(), "applied", "reverted");
        let state = runner.state().await?;
        println!(
            "Reverted {} revision(s); the database is at {}.",
            reverted.len(),
            describe_current(&state, self.migrator)
        );
        if !reverted.is_empty() {
            self.record_hold(&runner, reverted).await?;
        }
        Ok(())
    }

    /// After a live `down`: the hold that keeps a service's
    /// `MIGRATE_ON_START=upgrade` from re-applying what was reverted.
    async fn record_hold(&self, runner: &Runner<'m>, reverted: Vec<String>) -> Result<()> {
        let mut all = hold::read(self.migrator, runner.connection(), runner.backend())
            .await?
            .filter(|h| h.applies_to(self.migrator))
            .map(|h| h.reverted)
            .unwrap_or_default();
        all.extend(reverted);
        let held = Hold::new(self.migrator, all);
        hold::record(self.migrator, runner.connection(), &held).await?;
        println!(
            "Hold recorded: a service started with MIGRATE_ON_START=upgrade does not re-apply {} \
             revision(s) until `migration up` runs or its migrations change.",
            held.reverted.len()
        );
        Ok(())
    }

    /// After `up`, `refresh`, `fresh`: the operator moved on; no hold.
    async fn lift_hold(&self, runner: &Runner<'m>) -> Result<()> {
        if hold::clear(self.migrator, runner.connection(), runner.backend())
            .await?
            .is_some()
        {
            println!("Hold lifted: services apply pending migrations on start again.");
        }
        Ok(())
    }

    async fn status(&self, format: Format) -> Result<()> {
        let runner = self.runner().await?;
        let state = runner.state().await?;
        let graph = self.migrator.graph();
        let current = graph.current(&state.applied);
        let heads: Vec<&str> = graph.heads();
        let pending = graph
            .plan_upgrade(&state.applied, &Target::Heads)
            .unwrap_or_default();
        let held = hold::read(self.migrator, runner.connection(), runner.backend()).await?;
        if format == Format::Json {
            let revisions: Vec<_> = graph
                .topo_order()
                .map(|info| {
                    let row = state.row(&info.id);
                    json!({
                        "revision": info.id,
                        "parents": info.parents,
                        "message": info.message,
                        "applied": state.applied.contains(&info.id),
                        "applied_at": row.filter(|r| !r.is_failed()).map(|r| r.applied_at.clone()),
                        "execution_ms": row.map(|r| r.execution_ms),
                        "failed": row.is_some_and(|r| r.is_failed()),
                        "running": row.is_some_and(|r| r.is_running()),
                        "failed_direction": row.and_then(|r| r.failed_direction()),
                        "error": row.filter(|r| r.is_failed()).map(|r| r.failure_cause()),
                        "checksum_changed": state.changed.contains(&info.id),
                    })
                })
                .collect();
            let doc = json!({
                "heads": heads,
                "current": current,
                "pending": pending,
                "unknown": state.unknown,
                "revisions": revisions,
                "hold": held.as_ref().map(|h| json!({
                    "held_at": h.held_at,
                    "reverted": h.reverted,
                    "applies": h.applies_to(self.migrator),
                })),
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            return Ok(());
        }
        println!("{}", self.database_line());
        let width = graph
            .topo_order()
            .map(|r| r.id.len())
            .max()
            .unwrap_or(8)
            .max(8);
        println!(
            "{:<width$}  {:<8}  {:<24}  Message",
            "Revision", "Status", "Applied at (UTC)"
        );
        for info in graph.topo_order() {
            let row = state.row(&info.id);
            let (status, at) = match row {
                // Running, to a reader without the lock: a run may be in it
                // now, or may have died in it (interrupted).
                Some(r) if r.is_running() => ("RUNNING", r.applied_at.as_str()),
                Some(r) if r.is_failed() => ("FAILED", r.applied_at.as_str()),
                Some(r) if state.changed.contains(&info.id) => ("CHANGED", r.applied_at.as_str()),
                Some(r) => ("applied", r.applied_at.as_str()),
                None => ("pending", ""),
            };
            let mut marks = Vec::new();
            if heads.contains(&info.id.as_str()) {
                marks.push("head");
            }
            if info.is_merge() {
                marks.push("merge");
            }
            let marks = if marks.is_empty() {
                String::new()
            } else {
                format!(" ({})", marks.join(", "))
            };
            println!(
                "{:<width$}  {status:<8}  {at:<24}  {}{marks}",
                info.id, info.message
            );
        }
        for id in &state.unknown {
            println!(
                "{id:<width$}  {:<8}  {:<24}  not defined by any migration file",
                "UNKNOWN", ""
            );
        }
        println!();
        println!("Current: {}", describe_current(&state, self.migrator));
        println!(
            "Heads:   {}",
            if heads.is_empty() {
                "(none)".to_string()
            } else {
                heads.join(", ")
            }
        );
        println!("Pending: {}", pending.len());
        match &held {
            Some(h) if h.applies_to(self.migrator) => println!(
                "Hold:    since {} (`down` reverted {}); MIGRATE_ON_START=upgrade does not \
                 re-apply them until `migration up`.",
                h.held_at,
                h.reverted.join(", ")
            ),
            Some(h) => println!(
                "Hold:    recorded {} for other migrations; a service lifts it on start.",
                h.held_at
            ),
            None => {}
        }
        if !state.changed.is_empty() {
            println!(
                "CHANGED: {} was edited after it was applied; revert the edit or run `repair`.",
                state.changed.join(", ")
            );
        }
        for failed in &state.failed {
            println!(
                "FAILED: {} ({}); fix the schema by hand, then `repair` or `stamp`.",
                failed.revision,
                failed.failure_description()
            );
        }
        if !state.unknown.is_empty() {
            println!("UNKNOWN: the database is ahead of this code (revisions no file defines).");
        }
        Ok(())
    }

    async fn current(&self, format: Format) -> Result<()> {
        let runner = self.runner().await?;
        let state = runner.state().await?;
        let mut current = self.migrator.graph().current(&state.applied);
        current.extend(state.unknown.iter().cloned());
        if format == Format::Json {
            println!("{}", json!({ "current": current }));
        } else if current.is_empty() {
            println!("(base) nothing applied");
        } else {
            let heads = self.migrator.graph().heads();
            for id in current {
                let head = if heads.contains(&id.as_str()) {
                    " (head)"
                } else {
                    ""
                };
                let unknown = if state.unknown.contains(&id) {
                    " (unknown to this code)"
                } else {
                    ""
                };
                println!("{id}{head}{unknown}");
            }
        }
        Ok(())
    }

    async fn stamp(&self, target: &str, purge: bool) -> Result<()> {
        let target = Target::parse(target)?;
        let runner = self.runner().await?;
        println!("{}", self.database_line());
        let changes = runner.stamp(&target, purge).await?;
        for id in &changes.removed {
            println!("unstamped {id}");
        }
        for id in &changes.added {
            println!("stamped {id}");
        }
        println!(
            "Stamped {target}: {} added, {} removed; no migration ran.",
            changes.added.len(),
            changes.removed.len()
        );
        Ok(())
    }

    async fn lint(&self, args: LintArgs) -> Result<()> {
        let graph = self.migrator.graph();
        let revisions: Vec<String> = if args.all {
            graph.topo_order().map(|r| r.id.clone()).collect()
        } else if !args.revisions.is_empty() {
            args.revisions
                .iter()
                .map(|spec| graph.resolve(spec).map(str::to_string))
                .collect::<Result<_, _>>()?
        } else {
            self.runner().await?.pending().await?
        };
        let dialects = match args.dialect.as_deref() {
            Some("all") => crate::testing::ALL.to_vec(),
            Some(name) => vec![
                Dialect::from_name(name)
                    .ok_or_else(|| Error::Usage(format!("unknown dialect `{name}`")))?,
            ],
            None => vec![Dialect::from_url(&self.url)?],
        };
        let findings = crate::lint::lint(self.migrator, &revisions, &dialects).await?;
        if args.format == Format::Json {
            let doc = json!({
                "revisions": revisions,
                "findings": findings,
                "failing": findings.iter().filter(|f| f.fails(args.strict)).count(),
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        } else if revisions.is_empty() {
            println!("Nothing to lint: no revision is pending (use --all or name revisions).");
        } else {
            print!("{}", crate::lint::render(&findings, args.strict));
        }
        let failing = findings.iter().filter(|f| f.fails(args.strict)).count();
        if failing > 0 {
            return Err(Error::Lint(failing));
        }
        Ok(())
    }

    async fn repair(&self) -> Result<()> {
        let runner = self.runner().await?;
        println!("{}", self.database_line());
        let changes = runner.repair().await?;
        for id in &changes.rechecksummed {
            println!("re-recorded the checksum of {id} (its code changed after it was applied)");
        }
        for id in &changes.removed {
            println!("cleared the failed record of {id}; the next `up` runs it again");
        }
        for id in &changes.restored {
            println!("marked {id} applied again (its `down` had failed)");
        }
        if changes.rechecksummed.is_empty()
            && changes.removed.is_empty()
            && changes.restored.is_empty()
        {
            println!("Nothing to repair.");
        }
        Ok(())
    }

    async fn fresh(&self, yes: bool) -> Result<()> {
        confirm(
            "fresh",
            yes,
            &format!(
                "This DROPS EVERY TABLE in {} and re-applies all migrations.",
                mask(&self.url)
            ),
        )?;
        let runner = self.runner().await?;
        println!("{}", self.database_line());
        let (dropped, applied) = runner.fresh(&default_up_target(self.migrator)).await?;
        self.lift_hold(&runner).await?;
        println!(
            "Dropped {} object(s); applied {} revision(s).",
            dropped.len(),
            applied.len()
        );
        Ok(())
    }

    async fn refresh(&self, yes: bool) -> Result<()> {
        confirm(
            "refresh",
            yes,
            &format!(
                "This reverts every revision in {} (data in dropped tables is lost) and re-applies them.",
                mask(&self.url)
            ),
        )?;
        let runner = self.runner().await?;
        println!("{}", self.database_line());
        let (reverted, applied) = runner.refresh(&default_up_target(self.migrator)).await?;
        self.lift_hold(&runner).await?;
        println!(
            "Reverted {} and applied {} revision(s).",
            reverted.len(),
            applied.len()
        );
        Ok(())
    }

    async fn reset(&self, yes: bool) -> Result<()> {
        confirm(
            "reset",
            yes,
            &format!(
                "This reverts every revision in {} and drops the tracking table.",
                mask(&self.url)
            ),
        )?;
        let runner = self.runner().await?;
        println!("{}", self.database_line());
        let reverted = runner.reset().await?;
        hold::drop_table(self.migrator, runner.connection()).await?;
        println!(
            "Reverted {} revision(s) and dropped the tracking table.",
            reverted.len()
        );
        Ok(())
    }
}

/// `up`'s default: the single head; `heads` when branched is refused by the graph
/// with a message suggesting `merge` or `heads`.
fn default_up_target(_migrator: &Migrator) -> Target {
    Target::Head
}

/// Says so when `-n N` found fewer than N revisions to run (sea-orm-migration
/// runs what there is, silently; a line keeps a script's log honest).
fn fewer_than_asked(target: &Target, ran: usize, there: &str, done: &str) {
    if let Target::Steps(n) = target {
        let asked = usize::try_from(n.unsigned_abs()).unwrap_or(usize::MAX);
        if ran < asked {
            println!(
                "-n {asked} asked for {asked} revision(s); {ran} were {there}, so {ran} {done}."
            );
        }
    }
}

fn step_target(args: &StepArgs, direction: Direction) -> Result<Target> {
    // sea-orm-migration's `-n`: up to N (0: none), fewer when fewer are there.
    if let Some(n) = args.num {
        return Ok(match direction {
            Direction::Up => Target::Steps(i64::from(n)),
            Direction::Down => Target::Steps(-i64::from(n)),
        });
    }
    match args.to.as_deref().or(args.target.as_deref()) {
        Some(spec) => Ok(Target::parse(spec)?),
        None => Ok(match direction {
            Direction::Up => Target::Head,
            Direction::Down => Target::Relative(-1),
        }),
    }
}

fn confirm(command: &'static str, yes: bool, what: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        eprintln!("{what}");
        return Err(Error::NeedsConfirmation(command));
    }
    eprint!("{what}\nType `yes` to continue: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{command} cancelled; nothing was changed"
        )))
    }
}

fn describe_current(state: &State, migrator: &Migrator) -> String {
    let current = migrator.graph().current(&state.applied);
    if current.is_empty() && state.unknown.is_empty() {
        return "base (nothing applied)".to_string();
    }
    current
        .into_iter()
        .chain(state.unknown.iter().cloned())
        .collect::<Vec<_>>()
        .join(", ")
}

fn heads(migrator: &Migrator, format: Format) -> Result<()> {
    let heads = migrator.graph().heads();
    if format == Format::Json {
        println!("{}", json!({ "heads": heads }));
        return Ok(());
    }
    if heads.is_empty() {
        println!("(no revisions yet)");
    }
    for head in &heads {
        let message = migrator
            .graph()
            .get(head)
            .map(|r| r.message.as_str())
            .unwrap_or_default();
        println!("{head} (head)  {message}");
    }
    if heads.len() > 1 {
        println!(
            "The history has {} heads: run `merge` to join them.",
            heads.len()
        );
    }
    Ok(())
}

/// `history --format svg`: the drawing `GET /migrations` shows. With a reachable
/// database each revision is applied / pending / failed / changed; without
/// one, every state is unknown and the title says so.
fn history_svg(migrator: &Migrator, url: &str, state: Option<&(State, Option<Hold>)>) -> String {
    let graph = migrator.graph();
    let Some((state, held)) = state else {
        let options = graph_svg::Options {
            title: Some(format!(
                "{} revision(s); no database reachable at {}, states unknown",
                graph.len(),
                mask(url)
            )),
            ..graph_svg::Options::default()
        };
        return graph_svg::render(graph, &HashMap::new(), &options);
    };
    let options = graph_svg::Options {
        title: Some(format!("Migrations of {}", mask(url))),
        unknown: state.unknown.clone(),
        note: held
            .as_ref()
            .filter(|h| h.applies_to(migrator))
            .map(Hold::describe),
    };
    graph_svg::render(graph, &graph_svg::statuses(graph, state), &options)
}

/// `history` works without a database; when one is reachable, applied revisions
/// are marked (`--graph`, `dot`, `json`).
fn history(
    migrator: &Migrator,
    args: &HistoryArgs,
    applied: Option<&HashSet<String>>,
    verbose: bool,
) -> Result<()> {
    let graph = migrator.graph();
    let none = HashSet::new();
    let marks = applied.unwrap_or(&none);
    if args.format == Format::Dot {
        print!("{}", graph.render_dot(marks));
        return Ok(());
    }
    let revisions: Vec<&RevisionInfo> = match &args.rev_range {
        Some(range) => graph.history_range(range, marks)?,
        None => graph
            .topo_order()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    };
    if args.format == Format::Json {
        let heads = graph.heads();
        let list: Vec<_> = revisions
            .iter()
            .map(|r| {
                let rev = migrator.revision(&r.id);
                json!({
                    "revision": r.id,
                    "parents": r.parents,
                    "children": graph.children(&r.id),
                    "message": r.message,
                    "head": heads.contains(&r.id.as_str()),
                    "merge": r.is_merge(),
                    "path": rev.map(|x| x.path.clone()),
                    "checksum": rev.map(|x| x.checksum.clone()),
                    "applied": applied.map(|a| a.contains(&r.id)),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "revisions": list })).unwrap_or_default()
        );
        return Ok(());
    }
    if args.graph {
        let drawing = graph.render_ascii(marks);
        if applied.is_some() {
            print!("{drawing}");
        } else {
            // Without a database, "[pending]" would be a guess: leave it out.
            print!("{}", drawing.replace(" [pending]", ""));
        }
        return Ok(());
    }
    let heads = graph.heads();
    for r in revisions {
        let parents = if r.parents.is_empty() {
            "<base>".to_string()
        } else {
            r.parents.join(", ")
        };
        let mut marks = Vec::new();
        if heads.contains(&r.id.as_str()) {
            marks.push("head");
        }
        if r.is_merge() {
            marks.push("mergepoint");
        }
        if graph.children(&r.id).len() > 1 {
            marks.push("branchpoint");
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" ({})", marks.join(", "))
        };
        match r.message.as_str() {
            "" => println!("{parents} -> {}{marks}", r.id),
            message => println!("{parents} -> {}{marks}, {message}", r.id),
        }
        if verbose && let Some(rev) = migrator.revision(&r.id) {
            println!("    path:     {}\n    checksum: {}", rev.path, rev.checksum);
        }
    }
    Ok(())
}

fn show(migrator: &Migrator, spec: &str) -> Result<()> {
    let graph = migrator.graph();
    let id = match Target::parse(spec)? {
        Target::Head | Target::Heads => graph
            .heads()
            .first()
            .map(|s| (*s).to_string())
            .ok_or_else(|| Error::Usage("there are no revisions yet".into()))?,
        Target::Revision(spec) => graph.resolve(&spec)?.to_string(),
        _ => {
            return Err(Error::Usage(format!(
                "`show` takes one revision, not `{spec}`"
            )));
        }
    };
    if matches!(Target::parse(spec)?, Target::Heads) || (spec == "head" && graph.heads().len() > 1)
    {
        graph.plan_upgrade(&HashSet::new(), &Target::Head)?;
    }
    let info = graph
        .get(&id)
        .ok_or_else(|| Error::Usage(format!("no revision `{id}`")))?;
    let rev = migrator.revision(&id);
    let mut kinds = Vec::new();
    if info.is_base() {
        kinds.push("base");
    }
    if info.is_merge() {
        kinds.push("merge");
    }
    if graph.heads().contains(&id.as_str()) {
        kinds.push("head");
    }
    println!(
        "Revision: {id}{}",
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    );
    println!(
        "Parents:  {}",
        if info.parents.is_empty() {
            "<base>".into()
        } else {
            info.parents.join(", ")
        }
    );
    let children = graph.children(&id);
    println!(
        "Children: {}",
        if children.is_empty() {
            "<none>".into()
        } else {
            children.join(", ")
        }
    );
    println!("Message:  {}", info.message);
    if let Some(rev) = rev {
        println!("Path:     {}", rev.path);
        println!("Checksum: {}", rev.checksum);
        println!(
            "Transaction: {}",
            if rev.use_transaction() {
                "yes"
            } else {
                "no (use_transaction() is Some(false))"
            }
        );
    }
    Ok(())
}

fn versions_dir(migrator: &Migrator, dir: Option<PathBuf>) -> Result<PathBuf> {
    dir.or_else(|| migrator.versions_dir().map(std::path::Path::to_path_buf))
        .ok_or_else(|| {
            Error::Usage("no migrations folder is known; pass --dir or set MIGRATION_DIR".into())
        })
}

fn taken(migrator: &Migrator, dir: &std::path::Path) -> impl Fn(&str) -> bool {
    let known: HashSet<String> = migrator.revisions().iter().map(|r| r.id.clone()).collect();
    let dir = dir.to_path_buf();
    move |id| known.contains(id) || dir.join(format!("{id}.rs")).exists()
}

/// The revision graph this binary was built with, plus the files in `dir`
/// written since (each file's `PARENTS`), so that `generate`, `revision` and
/// `merge` chain onto files no build has seen yet. `None` when the folder or
/// a new file's `PARENTS` cannot be read, or they do not form a graph: the
/// built graph is used then.
fn graph_on_disk(
    migrator: &Migrator,
    dir: &std::path::Path,
) -> Option<crate::graph::RevisionGraph> {
    let mut revisions: Vec<RevisionInfo> = migrator.graph().topo_order().cloned().collect();
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        let Some(id) = path.file_stem().and_then(|s| s.to_str()).filter(|s| {
            migration_build::is_valid_id(s) && path.extension().is_some_and(|e| e == "rs")
        }) else {
            continue;
        };
        if migrator.revision(id).is_some() {
            continue;
        }
        let parents = scaffold::parents_in(&std::fs::read_to_string(&path).ok()?)?;
        let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
        revisions.push(RevisionInfo::new(id, &parents, ""));
    }
    crate::graph::RevisionGraph::new(revisions).ok()
}

/// Ids on disk that this binary was not built with.
fn not_built(migrator: &Migrator, disk: &crate::graph::RevisionGraph) -> Vec<String> {
    disk.ids_in_order()
        .filter(|id| migrator.revision(id).is_none())
        .map(str::to_string)
        .collect()
}

/// The time a new revision's id is named by: UTC, or the local time.
fn now(local: bool) -> chrono::NaiveDateTime {
    if local {
        chrono::Local::now().naive_local()
    } else {
        chrono::Utc::now().naive_utc()
    }
}

/// `init`: writes a migration crate at `dir` inside the enclosing workspace.
fn init(dir: &Path) -> Result<()> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::Usage(format!(
            "{} already exists and is not empty; pick a new folder with -d",
            dir.display()
        )));
    }
    let package = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| {
            n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .ok_or_else(|| {
            Error::Usage(format!(
                "{} cannot name a package (letters, digits, `-` and `_`, starting with a letter); \
                 pick another folder with -d",
                dir.display()
            ))
        })?
        .to_owned();
    // The crate takes its dependencies from the workspace: the one whose
    // manifest declares migration-core among `[workspace.dependencies]`.
    let absolute =
        std::path::absolute(dir).map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
    let root = absolute
        .ancestors()
        .skip(1)
        .find(|a| {
            std::fs::read_to_string(a.join("Cargo.toml")).is_ok_and(|m| {
                m.contains("[workspace.dependencies]")
                    && m.lines()
                        .any(|l| l.trim_start().starts_with("migration-core"))
            })
        })
        .ok_or_else(|| {
            Error::Usage(format!(
                "no Cargo workspace above {} declares migration-core in [workspace.dependencies]; \
                 run `init` inside one (this repository's Cargo.toml shows the entries: \
                 migration-core, migration-build, sea-orm, sea-orm-migration, tokio, async-trait)",
                dir.display()
            ))
        })?;
    let first = scaffold::new_id("first migration", now(false), |_| false)?;
    for (rel, text) in scaffold::init_files(&package, &first) {
        let path = absolute.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::Usage(format!("cannot create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    let member = absolute.strip_prefix(root).unwrap_or(&absolute);
    println!(
        "Created the migration crate `{package}` in {} with a first revision {first}.",
        dir.display()
    );
    println!(
        "Add \"{}\" to `members` in {}, then: cargo run -p {package} -- up",
        member.display(),
        root.join("Cargo.toml").display()
    );
    Ok(())
}

async fn generate(migrator: &Migrator, args: GenerateArgs, named: Option<&str>) -> Result<()> {
    let local_time = args.local_time;
    let message = args.name.or(args.message).ok_or_else(|| {
        Error::Usage("name the migration: `generate add_phone_to_users` or `revision -m \"add phone to users\"`".into())
    })?;
    let dir = versions_dir(migrator, args.dir.clone())?;
    let disk = graph_on_disk(migrator, &dir);
    if args.autogenerate
        && let Some(disk) = &disk
        && let new = not_built(migrator, disk)
        && !new.is_empty()
    {
        return Err(Error::Usage(format!(
            "{} has revision(s) this binary was not built with ({}); autogenerate compares \
             what the built migrations produce, so rebuild first (`cargo run -p migration -- \
             revision --autogenerate ...` rebuilds) and run it again",
            dir.display(),
            new.join(", ")
        )));
    }
    let graph = disk.as_ref().unwrap_or(migrator.graph());
    let parents = match &args.head {
        Some(spec) => vec![graph.resolve(spec)?.to_string()],
        None => match graph.heads().as_slice() {
            [] => Vec::new(),
            [head] => vec![(*head).to_string()],
            heads => {
                return Err(Error::Usage(format!(
                    "the history has {} heads ({}); run `merge` first, or choose the parent with --head REV",
                    heads.len(),
                    heads.join(", ")
                )));
            }
        },
    };
    let parent_text = if parents.is_empty() {
        "<base>".to_string()
    } else {
        parents.join(", ")
    };
    if !args.autogenerate {
        let id = scaffold::new_id(&message, now(local_time), taken(migrator, &dir))?;
        let path = scaffold::write(&dir, &id, &scaffold::render(&id, &message, &parents, false))?;
        println!("Created {} (parent: {parent_text})", path.display());
        println!("Write its `up` and `down`, then apply it with `up`; the next build picks it up.");
        return Ok(());
    }

    // --autogenerate: compare what the migrations produce (up to the parent)
    // with what the entities declare, on scratch databases.
    let entities = registered_entities(migrator)?;
    let scratch = args.scratch.scratch(named)?;
    let target = match parents.first() {
        Some(p) => Target::Revision(p.clone()),
        None => Target::Base,
    };
    println!(
        "Comparing the entities with the migrations at {parent_text} (on {}) ...",
        scratch_description(&scratch)
    );
    let comparison = crate::autogen::compare_project_in(
        migrator,
        entities,
        &scratch,
        &target,
        args.scratch.strict,
    )
    .await?;
    say_cached(&comparison, &scratch);
    let plan = &comparison.plan;
    if !plan.managed.is_empty() {
        println!(
            "Left to the migrations: {} object(s) the entities cannot declare or the migrator \
             gives the migrations (`check` lists them; --strict compares them).",
            plan.managed.len()
        );
    }
    if plan.is_empty() {
        println!(
            "No changes: the migrations already produce exactly the entities' schema; no file written."
        );
        return Ok(());
    }
    print_plan(plan);
    if !plan.refused.is_empty() {
        eprintln!("Cannot generate this migration:");
        for r in &plan.refused {
            eprintln!("  x {r}");
        }
        return Err(Error::CheckFailed(format!(
            "autogenerate refused {} change(s) (listed above); nothing was written",
            plan.refused.len()
        )));
    }
    let id = scaffold::new_id(&message, now(local_time), taken(migrator, &dir))?;
    let info = crate::autogen::render::FileInfo {
        id: &id,
        message: &message,
        parents: &parents,
    };
    let source = crate::autogen::render::rustfmt(&crate::autogen::render::render(info, plan));
    let path = scaffold::write(&dir, &id, &source)?;
    println!("Created {} (parent: {parent_text})", path.display());
    // The lint over what the new file will execute, on every backend.
    let mut findings = Vec::new();
    for dialect in crate::testing::ALL {
        let statements = crate::autogen::exec::sql(&plan.ops, dialect.db_backend(), true).await;
        findings.extend(crate::lint::rules::check(&id, dialect, &statements));
    }
    if !findings.is_empty() {
        println!("Lint findings for the new migration (see docs/offline-and-lint.md):");
        print!("{}", crate::lint::render(&findings, false));
    }
    println!(
        "GENERATED code: review it (above all every WARNING), then apply it with `up`; the next build picks it up."
    );
    Ok(())
}

fn registered_entities(migrator: &Migrator) -> Result<&crate::autogen::Entities> {
    migrator.entities().ok_or_else(|| {
        Error::Usage(
            "no entities are registered to compare with: call `.with_entities(entity::schema)` on the \
             Migrator (migration/src/lib.rs)"
                .into(),
        )
    })
}

/// Says which sides of a comparison came from the cache, and how not to.
fn say_cached(comparison: &crate::autogen::Comparison, scratch: &crate::autogen::Scratch) {
    if comparison.cached.is_empty() {
        return;
    }
    let dir = scratch
        .cache
        .as_ref()
        .map(|c| c.dir().display().to_string())
        .unwrap_or_default();
    eprintln!(
        "note: the {} side(s) came from the comparison cache in {dir}, keyed by the exact \
         statements they send and the server's identity; --no-cache builds them again",
        comparison.cached.join(" and ")
    );
}

fn scratch_description(scratch: &crate::autogen::Scratch) -> String {
    let in_memory = crate::backend::of(scratch.dialect).memory_url().is_some();
    match (&scratch.dialect, &scratch.server_url) {
        (d, None) if in_memory => format!("in-memory {}", d.title()),
        (d, _) => format!(
            "a temporary {} database on {}",
            d.name(),
            mask(&scratch.admin_url())
        ),
    }
}

/// Prints the ops of a plan in plain words with their warnings.
fn print_plan(plan: &crate::autogen::Plan) {
    println!("Operations (up):");
    for (i, op) in plan.flat_ops().into_iter().enumerate() {
        let flag = if op.destructive().is_some() {
            "  [DESTRUCTIVE]"
        } else {
            ""
        };
        println!("  - {op}{flag}");
        for w in plan.warnings_of(i) {
            println!("      WARNING: {w}");
        }
    }
}

/// Runs `io` (which waits on databases) and `cpu` (pure computation over
/// recorded SQL, such as the lint) at once. On a multi-threaded runtime (the
/// CLI's) `cpu` gets a thread of its own, so it does not hold up the polling
/// of `io`; elsewhere they are joined on the current task.
async fn side_by_side<A, B>(
    io: impl Future<Output = A> + Send,
    cpu: impl Future<Output = B> + Send,
) -> (A, B)
where
    A: Send,
    B: Send,
{
    use tokio::runtime::{Builder, Handle, RuntimeFlavor};
    if Handle::current().runtime_flavor() != RuntimeFlavor::MultiThread {
        return tokio::join!(io, cpu);
    }
    let Ok(runtime) = Builder::new_current_thread().enable_all().build() else {
        return tokio::join!(io, cpu);
    };
    tokio::task::block_in_place(|| {
        std::thread::scope(|s| {
            let cpu = s.spawn(move || runtime.block_on(cpu));
            let a = Handle::current().block_on(io);
            let b = cpu
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (a, b)
        })
    })
}

/// `check`: one head, migrations == entities, and (with a named database) at head.
async fn check(ctx: &Ctx<'_>, args: CheckArgs, named_url: Option<&str>) -> Result<()> {
    let migrator = ctx.migrator;
    let entities = registered_entities(migrator)?;
    let scratch = args.scratch.scratch(named_url)?;
    // The named database first, with the command's own connect options: a
    // wrong URL or a server that is down fails here, at once and with its
    // fix, not after the comparison (which builds its scratch places on
    // that server too).
    let runner = match named_url {
        Some(url) => Some(Runner::connect(migrator, url, ctx.options.clone()).await?),
        None => None,
    };
    let mut problems: Vec<String> = Vec::new();
    let heads = migrator.graph().heads();
    if heads.len() > 1 {
        problems.push(format!(
            "the history has {} heads ({}): run `merge` to join them",
            heads.len(),
            heads.join(", ")
        ));
    }
    let all: Vec<String> = migrator
        .graph()
        .topo_order()
        .map(|r| r.id.clone())
        .collect();
    let compare = crate::autogen::compare_project_in(
        migrator,
        entities,
        &scratch,
        &Target::Heads,
        args.scratch.strict,
    );
    let lint = crate::lint::lint(migrator, &all, &crate::testing::ALL);
    let (comparison, findings) = side_by_side(compare, lint).await;
    let (comparison, findings) = (comparison?, findings?);
    say_cached(&comparison, &scratch);
    let differences = comparison.plan.difference_lines();
    // The database's state (only when one is given): behind, ahead, edited
    // or failed revisions. Its own section and exit code, so that a deploy
    // gate tells "run `up`" from "the models and the migrations disagree".
    let mut state: Vec<String> = Vec::new();
    if let Some(runner) = &runner {
        let db = runner.state().await?;
        let pending = migrator
            .graph()
            .plan_upgrade(&db.applied, &Target::Heads)
            .unwrap_or_default();
        if !pending.is_empty() {
            state.push(format!(
                "behind: {} revision(s) pending ({}); run `up`",
                pending.len(),
                pending.join(", ")
            ));
        }
        for id in &db.changed {
            state.push(format!(
                "applied revision {id} was edited after it was applied (checksum changed); revert the \
                 edit or run `repair`"
            ));
        }
        for id in &db.unknown {
            state.push(format!(
                "ahead: the database has revision {id}, which no migration file defines (deploy \
                 the code that has it, or `down` it with that code)"
            ));
        }
        for row in &db.failed {
            state.push(format!(
                "revision {} is recorded as failed {}",
                row.revision,
                row.failure_description()
            ));
        }
        let _ = runner.connection().clone().close().await;
    }
    // The safety lint's errors (data loss) fail `check` too, unless a migration
    // acknowledges them; warnings are `lint`'s business.
    // One line per finding, with every backend it fires on: (rule,
    // revision, message, safe) and the dialects.
    type Seen<'f> = ((&'f str, &'f str, &'f str, &'f str), Vec<&'f str>);
    let mut lint_lines: Vec<Seen<'_>> = Vec::new();
    for f in findings.iter().filter(|f| f.fails(false)) {
        let key = (f.rule, f.revision.as_str(), f.message.as_str(), f.safe);
        match lint_lines.iter_mut().find(|(k, _)| *k == key) {
            Some((_, dialects)) => dialects.push(f.dialect),
            None => lint_lines.push((key, vec![f.dialect])),
        }
    }
    for ((rule, revision, message, safe), dialects) in lint_lines {
        problems.push(format!(
            "lint error[{rule}] in {revision} ({}): {message}; {safe}",
            dialects.join(", ")
        ));
    }
    let on = scratch_description(&scratch);
    if differences.is_empty() && problems.is_empty() && state.is_empty() {
        println!(
            "OK: one head ({}); the migrations produce exactly the entities' schema (compared on {on}){}.",
            heads.first().copied().unwrap_or("<none>"),
            match named_url {
                Some(url) => format!("; {} is at head", mask(url)),
                None => String::new(),
            }
        );
    }
    let section = |title: String, lines: &[String]| {
        if !lines.is_empty() {
            println!("{title}");
            for l in lines {
                println!("  - {l}");
            }
        }
    };
    section(
        format!(
            "Differences between the entities and the migrations (compared on {on}); \
             `revision --autogenerate` would:"
        ),
        &differences,
    );
    if let Some(url) = named_url {
        section(format!("Database {}:", mask(url)), &state);
    }
    section("History and lint:".to_owned(), &problems);
    section(
        format!(
            "Managed by migrations ({}; not compared, never changed; --strict compares them):",
            comparison.plan.managed.len()
        ),
        &comparison.plan.managed,
    );
    if !differences.is_empty() || !problems.is_empty() {
        return Err(Error::CheckFailed(format!(
            "check failed: {} difference(s) between the entities and the migrations, {} other \
             problem(s){}",
            differences.len(),
            problems.len(),
            if state.is_empty() {
                String::new()
            } else {
                format!(
                    ", and the database is not at head ({} line(s))",
                    state.len()
                )
            }
        )));
    }
    if !state.is_empty() {
        return Err(Error::NotAtHead(format!(
            "check: the entities and the migrations agree, but the database is not at head ({} \
             problem(s) above)",
            state.len()
        )));
    }
    Ok(())
}

fn merge(
    migrator: &Migrator,
    revisions: &[String],
    message: &str,
    dir: Option<PathBuf>,
) -> Result<()> {
    let dir = versions_dir(migrator, dir)?;
    let disk = graph_on_disk(migrator, &dir);
    let graph = disk.as_ref().unwrap_or(migrator.graph());
    // No revisions, or Alembic's `merge heads`: every head.
    let mut parents: Vec<String> = Vec::new();
    let all_heads = revisions.is_empty() || revisions.iter().any(|r| r == "heads");
    for spec in revisions.iter().filter(|r| *r != "heads") {
        parents.push(graph.resolve(spec)?.to_string());
    }
    if all_heads {
        parents.extend(graph.heads().into_iter().map(str::to_string));
    }
    let mut seen = HashSet::new();
    parents.retain(|p| seen.insert(p.clone()));
    if parents.len() < 2 {
        return Err(Error::Usage(format!(
            "nothing to merge: {} head(s); a merge needs at least two (see `heads`)",
            parents.len()
        )));
    }
    let id = scaffold::new_id(message, now(false), taken(migrator, &dir))?;
    let path = scaffold::write(&dir, &id, &scaffold::render(&id, message, &parents, true))?;
    println!(
        "Created merge revision {} joining {}",
        path.display(),
        parents.join(", ")
    );
    Ok(())
}
