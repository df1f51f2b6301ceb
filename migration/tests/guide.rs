//! Runs `docs/migrations.md`: every command in its code blocks, in order, in a
//! scratch copy of the workspace, against SQLite and PostgreSQL. The guide's
//! `<!-- guide: ... -->` markers say how to apply the code edits it shows.

mod common;

use common::stderr;
use migration_core::testing::TestDb;
use migration_core::testing::workspace::{CrateCopy, WorkspaceCopy};
use migration_core::url::Dialect;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One step of the guide.
#[derive(Debug)]
enum Step {
    /// Shell commands, run in order.
    Commands {
        lines: Vec<String>,
        expect_failure: Option<String>,
    },
    /// `cargo run -p app`: start the app, wait for /health, stop it.
    App,
    /// Insert `text` after the first line of `file` containing `anchor`.
    Insert {
        file: String,
        anchor: String,
        text: String,
    },
    /// Write a new file.
    NewFile { file: String, text: String },
    /// Replace the newest migration's `impl MigrationTrait` with `text`.
    WriteLatestMigration { text: String },
}

fn parse(markdown: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut marker: Option<String> = None;
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if let Some(m) = line
            .trim()
            .strip_prefix("<!-- guide: ")
            .and_then(|m| m.strip_suffix(" -->"))
        {
            marker = Some(m.to_string());
            continue;
        }
        let Some(lang) = line.trim().strip_prefix("```") else {
            continue;
        };
        if lang.is_empty() {
            continue;
        }
        let mut block = Vec::new();
        for inner in lines.by_ref() {
            if inner.trim() == "```" {
                break;
            }
            block.push(inner.to_string());
        }
        let text = block.join("\n") + "\n";
        let marker = marker.take();
        match (lang, marker.as_deref()) {
            ("sh", Some("app")) => steps.push(Step::App),
            ("sh", m) => {
                let expect_failure = m
                    .and_then(|m| m.strip_prefix("expect-failure "))
                    .map(|s| s.trim_matches('"').to_string());
                assert!(
                    m.is_none() || expect_failure.is_some(),
                    "unknown marker {m:?}"
                );
                let lines = block
                    .into_iter()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .collect();
                steps.push(Step::Commands {
                    lines,
                    expect_failure,
                });
            }
            ("rust", Some(m)) => {
                if let Some(rest) = m.strip_prefix("insert ") {
                    let (file, anchor) = rest
                        .split_once(" after ")
                        .expect("insert FILE after \"ANCHOR\"");
                    steps.push(Step::Insert {
                        file: file.to_string(),
                        anchor: anchor.trim_matches('"').to_string(),
                        text,
                    });
                } else if let Some(file) = m.strip_prefix("new-file ") {
                    steps.push(Step::NewFile {
                        file: file.to_string(),
                        text,
                    });
                } else if m == "write-latest-migration" {
                    steps.push(Step::WriteLatestMigration { text });
                } else {
                    panic!("unknown marker {m}");
                }
            }
            // Illustrations (a rust snippet without a marker, a table...): not steps.
            _ => {}
        }
    }
    steps
}

/// A copy of the workspace's entity, migration and app crates and justfile,
/// sharing the main target folder, in a git repository of its own.
struct Workspace {
    copy: WorkspaceCopy,
}

impl Workspace {
    fn new() -> Workspace {
        let main = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        // Own package and binary names, so the shared target folder keeps the real ones.
        let copy = WorkspaceCopy::new(
            main,
            &[
                CrateCopy::new("entity").package("guide-entity"),
                CrateCopy::new("migration").package("guide-migration"),
                CrateCopy::new("app").package("guide-app"),
            ],
            &[
                "migration = { path = \"migration\", package = \"guide-migration\" }",
                "entity = { path = \"entity\", package = \"guide-entity\" }",
            ],
            &["justfile", ".gitignore"],
        );
        let ws = Workspace { copy };
        // Build once first: the renamed packages update Cargo.lock, which the
        // first commit should hold (a later `git merge` refuses a dirty lock file).
        ws.build("guide-migration");
        for args in [
            &["init", "-q", "-b", "main"][..],
            &["add", "-A"],
            &[
                "-c",
                "user.name=guide",
                "-c",
                "user.email=guide@example.com",
                "commit",
                "-q",
                "-m",
                "start",
            ],
        ] {
            assert!(
                Command::new("git")
                    .args(args)
                    .current_dir(ws.root())
                    .status()
                    .unwrap()
                    .success()
            );
        }
        ws
    }

    fn root(&self) -> &Path {
        self.copy.root()
    }

    fn build(&self, package: &str) -> PathBuf {
        self.copy.build(package, &[])
    }

    /// Runs one command line of the guide with bash, `cargo run -p migration --`
    /// and `just` pointed at the scratch build.
    fn run(&self, line: &str, database_url: &str) -> std::process::Output {
        let bin = self.build("guide-migration");
        let prelude = r#"
cargo() { if [ "$1 $2 $3 $4" = "run -p migration --" ]; then shift 4; "$GUIDE_MIGRATION" "$@"; else echo "unexpected cargo $*" >&2; return 97; fi; }
just() { command just --set migration "$GUIDE_MIGRATION" "$@"; }
"#;
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!("{prelude}\n{line}"))
            .current_dir(self.root())
            .env("GUIDE_MIGRATION", &bin)
            .env("DATABASE_URL", database_url)
            .env("GIT_AUTHOR_NAME", "guide")
            .env("GIT_AUTHOR_EMAIL", "guide@example.com")
            .env("GIT_COMMITTER_NAME", "guide")
            .env("GIT_COMMITTER_EMAIL", "guide@example.com")
            .env_remove("MIGRATION_DIR")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        eprintln!(
            "$ {line}   [{}]\n  exit {:?}\n{}{}",
            migration_core::url::mask(database_url),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `cargo run -p app`: the app migrates, serves, and /health says it is at head.
    fn run_app(&self, database_url: &str) {
        let bin = self.build("guide-app");
        let mut child = Command::new(bin)
            .current_dir(self.root())
            .env("DATABASE_URL", database_url)
            .env("APP_ADDR", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let started = Instant::now();
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "the app exited before listening"
            );
            if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                break addr.to_string();
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the app never listened"
            );
        };
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("\"pending\":0"), "{response}");
    }
}

/// Commands that write files or touch git run once; the others run against
/// every database.
fn runs_once(line: &str) -> bool {
    line.starts_with("git ")
        || [
            "migrate-create",
            "migrate-empty",
            "migrate-merge",
            " revision",
            " generate",
            " merge",
        ]
        .iter()
        .any(|w| line.contains(w))
}

#[tokio::test]
async fn the_migrations_guide_runs_end_to_end_on_sqlite_and_postgres() {
    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/migrations.md"),
    )
    .unwrap();
    let steps = parse(&guide);
    assert!(steps.len() > 20, "the guide has {} steps", steps.len());
    let ws = Workspace::new();
    let sqlite = format!("sqlite://{}/guide.db?mode=rwc", ws.root().display());
    let pg = TestDb::create(Dialect::Postgres, "guide").await;
    let mut urls = vec![sqlite];
    urls.extend(pg.as_ref().map(|db| db.url.clone()));

    let mut commands = 0;
    for step in &steps {
        match step {
            Step::Commands {
                lines,
                expect_failure,
            } => {
                for line in lines {
                    let targets = if runs_once(line) {
                        &urls[..1]
                    } else {
                        &urls[..]
                    };
                    for url in targets {
                        let out = ws.run(line, url);
                        commands += 1;
                        match expect_failure {
                            None => {
                                assert!(out.status.success(), "`{line}` failed:\n{}", stderr(&out))
                            }
                            Some(text) => {
                                assert!(!out.status.success(), "`{line}` was expected to fail");
                                let all = format!(
                                    "{}{}",
                                    stderr(&out),
                                    String::from_utf8_lossy(&out.stdout)
                                );
                                assert!(
                                    all.contains(text.as_str()),
                                    "`{line}`: expected `{text}` in:\n{all}"
                                );
                            }
                        }
                    }
                }
            }
            Step::App => {
                for url in &urls {
                    ws.run_app(url);
                    commands += 1;
                }
            }
            Step::Insert { file, anchor, text } => {
                let path = ws.root().join(file);
                let source = std::fs::read_to_string(&path).unwrap();
                let at = source
                    .find(anchor.as_str())
                    .unwrap_or_else(|| panic!("`{anchor}` not in {file}"));
                let line_end = at + source[at..].find('\n').unwrap() + 1;
                std::fs::write(
                    &path,
                    format!("{}{text}{}", &source[..line_end], &source[line_end..]),
                )
                .unwrap();
            }
            Step::NewFile { file, text } => std::fs::write(ws.root().join(file), text).unwrap(),
            Step::WriteLatestMigration { text } => {
                let versions = ws.root().join("migration/src/versions");
                let mut files: Vec<PathBuf> = std::fs::read_dir(&versions)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .collect();
                files.sort();
                let latest = files.last().unwrap();
                let source = std::fs::read_to_string(latest).unwrap();
                // The template's attribute (`#[async_trait]` from the prelude;
                // files written before it spelled out the path).
                let at = ["#[async_trait]\nimpl", "#[async_trait::async_trait]"]
                    .iter()
                    .find_map(|attr| source.find(attr))
                    .expect("an impl to replace");
                std::fs::write(latest, format!("{}{text}", &source[..at])).unwrap();
            }
        }
    }
    eprintln!(
        "guide: {} steps, {commands} command runs on {} database(s)",
        steps.len(),
        urls.len()
    );
}
