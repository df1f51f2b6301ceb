//! A real PgBouncer in transaction pooling mode in front of the test PostgreSQL server, for one test.
//!
//! It runs Debian's `pgbouncer` binary (`.ci/run` installs it) on a free
//! port with `pool_mode = transaction` and two server connections per
//! database and user, so that clients really share server connections
//! between their transactions, as they do behind Neon's, Supabase's or a
//! self-run PgBouncer.

use super::{admin_url, require_all_backends};
use crate::url::Dialect;
use sea_orm::sqlx::postgres::PgConnectOptions;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running PgBouncer; stopped when dropped.
pub struct PgBouncer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

fn binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|d| d.join("pgbouncer"))
        .find(|p| p.is_file())
}

impl PgBouncer {
    /// Starts one in front of the PostgreSQL test server.
    ///
    /// Returns `None` (after printing why) when PgBouncer is not installed
    /// and [`require_all_backends`] is off.
    ///
    /// # Panics
    /// PgBouncer is missing while [`require_all_backends`] is on, or it does
    /// not start.
    pub fn start() -> Option<PgBouncer> {
        let Some(bin) = binary() else {
            let why = "pgbouncer is not installed (Debian: apt-get install pgbouncer)";
            assert!(!require_all_backends(), "{why}");
            eprintln!("skipped: {why}");
            return None;
        };
        let server: PgConnectOptions = admin_url(Dialect::Postgres)
            .parse()
            .expect("TEST_POSTGRES_URL parses");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        // PgBouncer refuses to run as root; it switches to `-u`'s user, who
        // must be able to read the configuration and write the log.
        let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o777);
        std::fs::set_permissions(dir.path(), perms).unwrap();
        let users = dir.path().join("users.txt");
        std::fs::write(&users, format!("\"{}\" \"\"\n", server.get_username())).unwrap();
        let log = dir.path().join("pgbouncer.log");
        let config = dir.path().join("pgbouncer.ini");
        std::fs::write(
            &config,
            format!(
                "[databases]\n* = host={host} port={server_port}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {users}\npool_mode = transaction\n\
                 default_pool_size = 2\nmax_client_conn = 200\n\
                 ignore_startup_parameters = extra_float_digits,options\n\
                 logfile = {log}\n",
                host = server.get_host(),
                server_port = server.get_port(),
                users = users.display(),
                log = log.display(),
            ),
        )
        .unwrap();
        let mut cmd = Command::new(bin);
        // PgBouncer checks the effective user id, as `id -u` prints it.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if root {
            cmd.args(["-u", "postgres"]);
        }
        let mut child = cmd
            .arg(&config)
            // It logs to its logfile too; a pipe nobody reads would fill up
            // (64 KiB) and stop PgBouncer at its next log line.
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("pgbouncer exited with {status}:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(PgBouncer { child, port, dir })
    }

    /// `url` (a database on the test server) reached through this PgBouncer.
    pub fn url(&self, url: &str) -> String {
        let options: PgConnectOptions = url.parse().expect("a PostgreSQL URL");
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        format!(
            "postgres://{}@127.0.0.1:{}{path}",
            options.get_username(),
            self.port
        )
    }

    /// What PgBouncer logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
