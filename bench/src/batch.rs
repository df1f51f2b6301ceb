//! Benchmarks W4 (SQLite batch alter against a raw-SQL rebuild) and W5 (backfill and row transform against one UPDATE).
//!
//! * [`w4`]: a SQLite table of `rows` rows (`id, name text, qty integer,
//!   price real, note text`); one `batch_alter_table` that changes `qty` to
//!   BIGINT, drops `note` and adds `flag boolean NOT NULL DEFAULT false`,
//!   against the same rebuild written by hand (create, copy, drop, rename) in
//!   one transaction. Target: at most 1.2× the floor.
//! * [`w5`]: `users` with `rows` rows; fill `full_name` from `first_name` and
//!   `last_name` with a batched [`backfill`] and with a Rust [`transform`],
//!   against one `UPDATE` of the whole table, on SQLite and PostgreSQL.
//!   Targets: backfill ≤ 1.5×, transform ≤ 3×, peak RSS < 100 MiB. On
//!   SQLite the transform runs its closure in-engine; with `W5_DRIVER_PATH=1`
//!   in the environment it takes the driver path (rows read through sqlx).
//!
//! Every variant runs on an identical fresh table (a copy of one SQLite file;
//! a re-created, vacuumed PostgreSQL table) inside one transaction, as a
//! migration would; times are the median of `runs`. Peak memory is the
//! process's VmHWM, reset before each variant through `/proc/self/clear_refs`
//! (Linux), so it includes the process's baseline (runtime, driver, SQLite's
//! page cache).

use migration_core::batch::{AlterColumn, batch_alter_table};
use migration_core::data::{backfill, transform};
use migration_core::testing::TestDb;
use migration_core::url::Dialect;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbErr, TransactionTrait, Value};
use sea_orm_migration::SchemaManager;
use sea_orm_migration::prelude::{Alias, ColumnType, Expr};
use sea_orm_migration::schema::boolean;
use std::error::Error;
use std::fmt;
use std::path::Path;
use std::time::Instant;

/// A boxed error.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// One measured variant.
#[derive(Debug, Clone)]
pub struct Line {
    /// What ran (`"sqlite: backfill (5000/batch)"`).
    pub name: String,
    /// Median wall time, seconds.
    pub seconds: f64,
    /// Time relative to the floor of its group (`None` for the floor itself).
    pub ratio: Option<f64>,
    /// The highest allowed ratio.
    pub max_ratio: Option<f64>,
    /// Peak resident memory of the process while it ran, MiB.
    pub peak_mib: Option<f64>,
    /// The highest allowed peak, MiB.
    pub max_peak_mib: Option<f64>,
}

impl Line {
    /// Whether the line meets its targets.
    pub fn ok(&self) -> bool {
        let ratio_ok = match (self.ratio, self.max_ratio) {
            (Some(r), Some(max)) => r <= max,
            _ => true,
        };
        let peak_ok = match (self.peak_mib, self.max_peak_mib) {
            (Some(p), Some(max)) => p < max,
            _ => true,
        };
        ratio_ok && peak_ok
    }
}

/// The result of one workload.
#[derive(Debug, Clone)]
pub struct Report {
    /// Workload and size.
    pub title: String,
    /// The variants, floors first in each group.
    pub lines: Vec<Line>,
}

impl Report {
    /// Whether every line meets its targets.
    pub fn passed(&self) -> bool {
        self.lines.iter().all(Line::ok)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.title)?;
        writeln!(
            f,
            "  {:<44} {:>9} {:>14} {:>18}",
            "variant", "seconds", "x floor", "peak RSS MiB"
        )?;
        for l in &self.lines {
            let ratio = match (l.ratio, l.max_ratio) {
                (Some(r), Some(m)) => format!("{r:.2} (≤{m})"),
                (Some(r), None) => format!("{r:.2}"),
                _ => "floor".to_owned(),
            };
            let peak = match (l.peak_mib, l.max_peak_mib) {
                (Some(p), Some(m)) => format!("{p:.1} (<{m})"),
                (Some(p), None) => format!("{p:.1}"),
                _ => "-".to_owned(),
            };
            writeln!(
                f,
                "  {:<44} {:>9.3} {:>14} {:>18} {}",
                l.name,
                l.seconds,
                ratio,
                peak,
                if l.ok() { "ok" } else { "FAIL" }
            )?;
        }
        Ok(())
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Resets the process's peak RSS (VmHWM) to its current RSS; false where unsupported.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak RSS (VmHWM) in MiB.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn exec(conn: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
    conn.execute_unprepared(sql).await.map(|_| ())
}

async fn scalar(conn: &impl ConnectionTrait, sql: &str) -> Result<i64, DbErr> {
    let stmt = sea_orm::Statement::from_string(conn.get_database_backend(), sql);
    match conn.query_one_raw(stmt).await? {
        Some(row) => row.try_get_by_index::<i64>(0),
        None => Ok(0),
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

// ---------------------------------------------------------------------------
// W4
// ---------------------------------------------------------------------------

/// The W4 rebuild by hand: SQLite's documented steps, in one transaction.
const W4_FLOOR: [&str; 4] = [
    "CREATE TABLE items_new (id INTEGER PRIMARY KEY, name TEXT, qty BIGINT, price REAL, flag boolean NOT NULL DEFAULT FALSE)",
    "INSERT INTO items_new (id, name, qty, price) SELECT id, name, qty, price FROM items",
    "DROP TABLE items",
    "ALTER TABLE items_new RENAME TO items",
];

async fn w4_floor(url: &str) -> Result<f64, BoxError> {
    let db = Database::connect(url).await?;
    let started = Instant::now();
    let txn = db.begin().await?;
    for sql in W4_FLOOR {
        exec(&txn, sql).await?;
    }
    txn.commit().await?;
    let took = started.elapsed().as_secs_f64();
    db.close().await?;
    Ok(took)
}

async fn w4_batch(url: &str) -> Result<f64, BoxError> {
    let db = Database::connect(url).await?;
    let started = Instant::now();
    let txn = db.begin().await?;
    batch_alter_table(&SchemaManager::new(&txn), "items", |t| {
        // sea-query writes BigInteger as `integer` on SQLite; the workload asks for BIGINT.
        t.alter_column(
            "qty",
            AlterColumn::new().type_(ColumnType::custom("BIGINT")),
        )
        .drop_column("note")
        .add_column(boolean(Alias::new("flag")).default(false));
    })
    .await?;
    txn.commit().await?;
    let took = started.elapsed().as_secs_f64();
    db.close().await?;
    Ok(took)
}

async fn w4_check(url: &str, rows: usize) -> Result<(), BoxError> {
    let db = Database::connect(url).await?;
    let n = scalar(&db, "SELECT COUNT(*) FROM items WHERE flag = 0").await?;
    let qty = scalar(
        &db,
        "SELECT COUNT(*) FROM pragma_table_info('items') WHERE name = 'qty' AND upper(type) = 'BIGINT'",
    )
    .await?;
    let note = scalar(
        &db,
        "SELECT COUNT(*) FROM pragma_table_info('items') WHERE name = 'note'",
    )
    .await?;
    db.close().await?;
    if n as usize != rows || qty != 1 || note != 0 {
        return Err(format!("W4 result is wrong: {n} rows, qty bigint {qty}, note {note}").into());
    }
    Ok(())
}

/// W4: a batch alter on a SQLite table of `rows` rows against the raw-SQL
/// rebuild in one transaction; median of `runs` runs each.
///
/// # Errors
/// A database error, or a result that is not the expected table.
pub async fn w4(rows: usize, runs: usize) -> Result<Report, BoxError> {
    let dir = tempfile::tempdir()?;
    let base = dir.path().join("base.db");
    let db = Database::connect(sqlite_url(&base)).await?;
    exec(
        &db,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL, note TEXT)",
    )
    .await?;
    exec(
        &db,
        &format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) \
             INSERT INTO items SELECT x, 'name ' || x, x % 1000, x * 0.25, \
             CASE WHEN x % 3 = 0 THEN 'note ' || x END FROM c"
        ),
    )
    .await?;
    db.close().await?;
    // sqlx opens SQLite in WAL mode; fold the WAL into the file before copying it.
    let runs = runs.max(1);
    let (mut floor, mut batch) = (Vec::new(), Vec::new());
    for run in 0..runs {
        for variant in ["floor", "batch"] {
            let copy = dir.path().join(format!("{variant}-{run}.db"));
            std::fs::copy(&base, &copy)?;
            let url = sqlite_url(&copy);
            if variant == "floor" {
                floor.push(w4_floor(&url).await?);
            } else {
                batch.push(w4_batch(&url).await?);
                w4_check(&url, rows).await?;
            }
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
            }
        }
    }
    let (floor, batch) = (median(floor), median(batch));
    Ok(Report {
        title: format!("W4: SQLite batch alter on {rows} rows (median of {runs})"),
        lines: vec![
            Line {
                name: "sqlite: raw rebuild in one transaction".into(),
                seconds: floor,
                ratio: None,
                max_ratio: None,
                peak_mib: None,
                max_peak_mib: None,
            },
            Line {
                name: "sqlite: batch_alter_table".into(),
                seconds: batch,
                ratio: Some(batch / floor),
                max_ratio: Some(1.2),
                peak_mib: None,
                max_peak_mib: None,
            },
        ],
    })
}

// ---------------------------------------------------------------------------
// W5
// ---------------------------------------------------------------------------

/// Rows per backfill batch.
pub const W5_BACKFILL_BATCH: u64 = 5000;
/// Rows per transform batch.
pub const W5_TRANSFORM_BATCH: u64 = 20_000;

const CONCAT: &str = "first_name || ' ' || last_name";

/// A fresh `users` table of `rows` rows with `full_name` empty.
async fn w5_table(db: &DatabaseConnection, d: Dialect, rows: usize) -> Result<(), BoxError> {
    exec(db, "DROP TABLE IF EXISTS users").await?;
    exec(
        db,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, first_name VARCHAR(50) NOT NULL, last_name VARCHAR(50) NOT NULL, full_name VARCHAR(101))",
    )
    .await?;
    let fill = match d {
        Dialect::Postgres => format!(
            "INSERT INTO users (id, first_name, last_name) \
             SELECT g, 'First' || g, 'Last' || (g % 997) FROM generate_series(1, {rows}) g"
        ),
        _ => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) \
             INSERT INTO users (id, first_name, last_name) SELECT x, 'First' || x, 'Last' || (x % 997) FROM c"
        ),
    };
    exec(db, &fill).await?;
    if d == Dialect::Postgres {
        exec(db, "VACUUM ANALYZE users").await?;
    }
    Ok(())
}

async fn w5_check(db: &DatabaseConnection) -> Result<(), BoxError> {
    let bad = scalar(
        db,
        &format!("SELECT COUNT(*) FROM users WHERE full_name IS NULL OR full_name <> {CONCAT}"),
    )
    .await?;
    if bad != 0 {
        return Err(format!("W5: {bad} rows have a wrong full_name").into());
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum W5 {
    Floor,
    Backfill,
    Transform,
}

/// Runs one variant on a fresh table; returns (seconds, peak MiB).
async fn w5_variant(
    db: &DatabaseConnection,
    d: Dialect,
    rows: usize,
    variant: W5,
) -> Result<(f64, Option<f64>), BoxError> {
    w5_table(db, d, rows).await?;
    let measured = reset_peak();
    let started = Instant::now();
    let txn = db.begin().await?;
    let manager = SchemaManager::new(&txn);
    match variant {
        W5::Floor => exec(&txn, &format!("UPDATE users SET full_name = {CONCAT}")).await?,
        W5::Backfill => {
            backfill(&manager, "users")
                .key("id")
                .set("full_name", Expr::cust(CONCAT))
                .batch_size(W5_BACKFILL_BATCH)
                .quiet()
                .run()
                .await?;
        }
        W5::Transform => {
            transform(&manager, "users")
                .key("id")
                .read(&["first_name", "last_name"])
                .write(&["full_name"])
                .batch_size(W5_TRANSFORM_BATCH)
                .quiet()
                .run(|row| {
                    let first: String = row.get("first_name")?;
                    let last: String = row.get("last_name")?;
                    Ok(Some(vec![Value::from(format!("{first} {last}"))]))
                })
                .await?;
        }
    }
    txn.commit().await?;
    let took = started.elapsed().as_secs_f64();
    let peak = if measured { peak_mib() } else { None };
    w5_check(db).await?;
    Ok((took, peak))
}

/// W5: filling `full_name` on `rows` users, on each of `dialects` (SQLite in
/// a temporary file, PostgreSQL in a scratch database from
/// `TEST_POSTGRES_URL`); median of `runs` runs each.
///
/// # Errors
/// A database error, or a wrong result.
pub async fn w5(rows: usize, runs: usize, dialects: &[Dialect]) -> Result<Report, BoxError> {
    // Before connecting: the SQLite transform runs its closure in-engine.
    // `W5_DRIVER_PATH=1` leaves the function out, to time the driver path.
    if std::env::var_os("W5_DRIVER_PATH").is_none() {
        migration_core::data::install_sqlite_functions();
    }
    let runs = runs.max(1);
    let dir = tempfile::tempdir()?;
    let mut lines = Vec::new();
    for &d in dialects {
        let _scratch;
        let url = match d {
            Dialect::Sqlite => sqlite_url(&dir.path().join("w5.db")),
            _ => {
                let Some(db) = TestDb::create(d, "benchw5").await else {
                    continue;
                };
                let url = db.url.clone();
                _scratch = db;
                url
            }
        };
        let db = Database::connect(&url).await?;
        let mut results = Vec::new();
        for variant in [W5::Floor, W5::Backfill, W5::Transform] {
            let mut times = Vec::new();
            let mut peak: Option<f64> = None;
            for _ in 0..runs {
                let (t, p) = w5_variant(&db, d, rows, variant).await?;
                times.push(t);
                peak = match (peak, p) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            results.push((variant, median(times), peak));
        }
        db.close().await?;
        let floor = results[0].1;
        for (variant, seconds, peak) in results {
            let (name, max_ratio) = match variant {
                W5::Floor => ("one UPDATE".to_owned(), None),
                W5::Backfill => (format!("backfill ({W5_BACKFILL_BATCH}/batch)"), Some(1.5)),
                W5::Transform => (
                    format!("Rust row transform ({W5_TRANSFORM_BATCH}/batch)"),
                    Some(3.0),
                ),
            };
            lines.push(Line {
                name: format!("{}: {name}", d.name()),
                seconds,
                ratio: (variant != W5::Floor).then_some(seconds / floor),
                max_ratio,
                peak_mib: peak,
                max_peak_mib: (variant != W5::Floor).then_some(100.0),
            });
        }
    }
    Ok(Report {
        title: format!("W5: fill full_name on {rows} users (median of {runs})"),
        lines,
    })
}
