//! Test support: the `app` binary as a child process, and a tiny HTTP/1.1 client.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an app may take to migrate and start listening.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `app` process; killed (and reaped) on drop.
pub struct AppProcess {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    status: Option<ExitStatus>,
    _dir: tempfile::TempDir,
}

/// Starts the app against `database_url` on a free port with `env` on top of
/// a clean configuration (no inherited `DATABASE_URL`, `.env`, `MIGRATE_ON_START`).
pub fn spawn(database_url: &str, env: &[(&str, &str)]) -> AppProcess {
    // An empty working directory: no `.env` is picked up and nothing is written
    // into the repository.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_app"));
    cmd.current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in app::config::VARIABLES {
        cmd.env_remove(name);
    }
    cmd.env("DATABASE_URL", database_url)
        .env("APP_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start the app binary");
    let stdout = Arc::new(Mutex::new(String::new()));
    let stderr = Arc::new(Mutex::new(String::new()));
    let readers = vec![
        collect(child.stdout.take().expect("stdout"), stdout.clone()),
        collect(child.stderr.take().expect("stderr"), stderr.clone()),
    ];
    AppProcess {
        child,
        stdout,
        stderr,
        readers,
        status: None,
        _dir: dir,
    }
}

fn collect(
    stream: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            into.lock().unwrap().push_str(&line);
            line.clear();
        }
    })
}

impl AppProcess {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the app wrote to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything the app wrote to stderr (its logs) so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for `listening on http://ADDR` and returns `ADDR`.
    ///
    /// # Panics
    /// The app exits or takes longer than [`READY_TIMEOUT`].
    pub fn wait_ready(&mut self) -> String {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(addr) = self
                .stdout()
                .lines()
                .find_map(|l| l.strip_prefix("listening on http://"))
            {
                return addr.trim().to_string();
            }
            if let Some(status) = self.try_status() {
                panic!(
                    "the app exited with {status} before listening\nstdout:\n{}\nstderr:\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the app did not start listening within {READY_TIMEOUT:?}\nstderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits for the process to exit (then for its output), at most `timeout`.
    ///
    /// # Panics
    /// It is still running after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the app did not exit within {timeout:?}\nstderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Sends a signal (`TERM`, `INT`) with `kill(1)`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg("-s")
            .arg(signal)
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} failed");
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP response: status and JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The parsed body.
    pub body: Value,
}

impl Response {
    /// The `error` message of an error body.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

/// Sends one request (`Connection: close`) with a JSON body and reads the whole response.
///
/// # Panics
/// The connection fails or the response is not HTTP/1.1 with a JSON (or empty) body.
pub fn request(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Response {
    let body = body.map(Value::to_string).unwrap_or_default();
    request_raw(addr, method, path, &body)
}

/// Sends one request with `body` as is (typed `application/json` when not empty).
///
/// # Panics
/// As [`request`].
pub fn request_raw(addr: &str, method: &str, path: &str, body: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "unparsable response to {method} {path}: {}",
            String::from_utf8_lossy(&raw)
        )
    })
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut payload = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        payload = dechunk(&payload)?;
    }
    let body = if payload.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&payload).ok()?
    };
    Some(Response { status, body })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// `GET path`.
pub fn get(addr: &str, path: &str) -> Response {
    request(addr, "GET", path, None)
}

/// `POST path` with a JSON body.
pub fn post(addr: &str, path: &str, body: Value) -> Response {
    request(addr, "POST", path, Some(&body))
}

/// `PATCH path` with a JSON body.
pub fn patch(addr: &str, path: &str, body: Value) -> Response {
    request(addr, "PATCH", path, Some(&body))
}

/// `DELETE path`.
pub fn delete(addr: &str, path: &str) -> Response {
    request(addr, "DELETE", path, None)
}

/// The project's revisions, in order, and its heads.
pub fn revisions() -> (Vec<String>, Vec<String>) {
    let migrator = migration::migrator().expect("migrator");
    let ids = migrator
        .graph()
        .ids_in_order()
        .map(str::to_string)
        .collect();
    let heads = migrator
        .graph()
        .heads()
        .into_iter()
        .map(str::to_string)
        .collect();
    (ids, heads)
}

/// Checks `/health` says the database is at the code's heads with nothing pending.
pub fn assert_healthy(addr: &str) {
    let (_, heads) = revisions();
    let health = get(addr, "/health");
    assert_eq!(health.status, 200, "{:?}", health.body);
    assert_eq!(health.body["status"], "ok", "{:?}", health.body);
    assert_eq!(health.body["database"], "ok", "{:?}", health.body);
    assert_eq!(health.body["pending"], 0, "{:?}", health.body);
    assert_eq!(health.body["heads"], serde_json::json!(heads));
    assert_eq!(health.body["current"], serde_json::json!(heads));
}

/// Defines one `#[tokio::test]` per backend (`sqlite`, `postgres`, `mysql`) in
/// a module `$name`, each calling `$body(dialect)`.
#[macro_export]
macro_rules! per_backend {
    ($name:ident, $body:path) => {
        mod $name {
            use migration_core::url::Dialect;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body(Dialect::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body(Dialect::Postgres).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                $body(Dialect::MySql).await;
            }
        }
    };
}
