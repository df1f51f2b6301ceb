//! `GET /migrations` in a real headless browser (Debian's chromium): the DOM it builds and a screenshot.
//!
//! The app runs in-process on a fresh SQLite database brought into every
//! state the page draws: applied, pending (`migration down -n 2`, which also
//! records a hold), changed (an applied revision's checksum edited) and failed
//! (a row marked failed). Chromium loads the page with `--dump-dom` and
//! `--screenshot`; it may only resolve 127.0.0.1 and has its background
//! services off, so it contacts nothing else. Without chromium the test is
//! skipped with a message, unless `REQUIRE_ALL_BACKENDS=1` or `CI` is set,
//! which make it fail. The screenshot is written to
//! `$CARGO_TARGET_TMPDIR/browser/migrations.png` (the path is printed).

use clap::Parser;
use migration_core::cli::{Cli, run};
use sea_orm::{ConnectionTrait, Database};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MERGE: &str = "m20250607_090000_merge_heads";
const HEAD: &str = "m20250614_090000_widen_products_price";
const CHANGED: &str = "m20250606_123000_rename_username_to_display_name";
const FAILED: &str = "m20250606_120000_add_products_is_featured";
const PENDING: [&str; 2] = [
    "m20250612_100000_add_print_jobs_status_created_at_index",
    HEAD,
];

fn chromium() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn must_run() -> bool {
    migration_core::testing::require_all_backends()
        || std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Runs chromium headless with `args` and the URL; its stdout. Killed after 90 s.
fn browse(chromium: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--disable-breakpad",
            "--metrics-recording-only",
            "--no-proxy-server",
            // Nothing but the app on 127.0.0.1 resolves.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium.display()));
    let started = Instant::now();
    loop {
        match child.try_wait().expect("chromium status") {
            Some(_) => break,
            None if started.elapsed() > Duration::from_secs(90) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish in 90 s");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let out = child.wait_with_output().expect("chromium output");
    assert!(
        out.status.success(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn cli(url: &str, args: &[&str]) {
    let migrator = migration::migrator().unwrap();
    let mut argv = vec!["migration", "-u", url];
    argv.extend_from_slice(args);
    run(&migrator, Cli::try_parse_from(argv).unwrap())
        .await
        .unwrap_or_else(|e| panic!("migration {args:?}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_page_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        assert!(
            !must_run(),
            "chromium is not installed and REQUIRE_ALL_BACKENDS=1 / CI is set (apt-get install chromium)"
        );
        eprintln!(
            "SKIPPED: chromium not found (apt-get install chromium); set REQUIRE_ALL_BACKENDS=1 to make this a failure"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("browser.db").display()
    );
    let config = app::Config {
        database_url: url.clone(),
        addr: "127.0.0.1:0".into(),
        ..app::Config::default()
    };
    let server = app::start(config).await.expect("the app starts");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    // Every state the page draws.
    cli(&url, &["down", "-n", "2"]).await;
    let conn = Database::connect(&url).await.unwrap();
    conn.execute_unprepared(&format!(
        "UPDATE seaorm_revisions SET checksum = '{}' WHERE revision = '{CHANGED}'",
        "0".repeat(64)
    ))
    .await
    .unwrap();
    conn.execute_unprepared(&format!(
        "UPDATE seaorm_revisions SET status = 'failed', error = 'duplicate column name: is_featured <&>' \
         WHERE revision = '{FAILED}'"
    ))
    .await
    .unwrap();
    conn.close().await.unwrap();

    let profile = tempfile::tempdir().unwrap();
    let base = format!("http://{addr}");
    let index = browse(
        &chromium,
        profile.path(),
        &["--dump-dom"],
        &format!("{base}/"),
    );
    assert!(
        index.contains(r#"<a href="/migrations">Migrations</a>"#),
        "{index}"
    );

    let dom = browse(
        &chromium,
        profile.path(),
        &["--dump-dom"],
        &format!("{base}/migrations"),
    );
    assert!(dom.contains("<title>Migrations</title>"), "{dom}");
    assert_eq!(dom.matches("<svg ").count(), 1, "one inline SVG: {dom}");
    let migrator = migration::migrator().unwrap();
    let ids: Vec<&str> = migrator.graph().ids_in_order().collect();
    assert_eq!(
        dom.matches(r#"<g class="revision state-"#).count(),
        ids.len(),
        "one node per revision"
    );
    for id in &ids {
        let state = if PENDING.contains(id) {
            "pending"
        } else if *id == CHANGED {
            "changed"
        } else if *id == FAILED {
            "failed"
        } else {
            "applied"
        };
        let head = *id == HEAD;
        let merge = *id == MERGE;
        let node = format!(
            r#"data-revision="{id}" data-state="{state}" data-head="{head}" data-merge="{merge}""#
        );
        assert!(dom.contains(&node), "no node {node}");
        assert!(
            dom.contains(&format!(r#"<tr data-revision="{id}">"#)),
            "no row for {id}"
        );
    }
    // Edges: one per parent link; the branches take a second lane.
    let links: usize = ids
        .iter()
        .map(|id| migrator.graph().get(id).unwrap().parents.len())
        .sum();
    assert_eq!(dom.matches(r#"<path class="edge""#).count(), links);
    assert!(
        dom.contains(r#"data-lane="1""#),
        "the branch has its own lane"
    );
    assert!(dom.contains("[branch point]") && dom.contains("[merge]") && dom.contains("[head]"));
    assert!(
        dom.contains(r#"<span id="pending">2</span> pending"#),
        "{dom}"
    );
    assert!(dom.contains(r#"id="hold""#), "the hold is shown");
    // Applied time and duration are drawn; the error is escaped, not markup.
    assert!(dom.contains(" ms · "), "durations drawn");
    assert!(dom.contains("duplicate column name: is_featured &lt;&amp;&gt;"));

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("migrations.png");
    let _ = std::fs::remove_file(&png);
    browse(
        &chromium,
        profile.path(),
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,1100",
            "--hide-scrollbars",
        ],
        &format!("{base}/migrations"),
    );
    let bytes = std::fs::read(&png).expect("the screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        bytes.len() > 20_000,
        "a screenshot with content ({} bytes)",
        bytes.len()
    );
    println!("screenshot: {}", png.display());

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
