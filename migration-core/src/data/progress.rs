//! Progress of a long data migration: a `\r` bar when stderr is a terminal, log lines through `tracing` otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Reports rows done.
pub(crate) struct Progress {
    label: String,
    total: Option<u64>,
    tty: bool,
    enabled: bool,
    started: Instant,
    last: Instant,
    last_logged_tenth: u64,
}

impl Progress {
    /// A reporter for `label`; `total` rows when known.
    pub fn new(label: String, total: Option<u64>, enabled: bool) -> Self {
        let now = Instant::now();
        Progress {
            label,
            total,
            tty: std::io::stderr().is_terminal(),
            enabled,
            started: now,
            last: now,
            last_logged_tenth: 0,
        }
    }

    /// Whether a total is worth counting (only a bar shows it).
    pub fn wants_total(enabled: bool) -> bool {
        enabled && std::io::stderr().is_terminal()
    }

    fn rate(&self, done: u64) -> u64 {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        (done as f64 / secs) as u64
    }

    /// `done` rows are finished.
    pub fn update(&mut self, done: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self.tty {
            if now.duration_since(self.last) < Duration::from_millis(100) {
                return;
            }
            self.last = now;
            self.draw(done, false);
        } else {
            let tenth = self.total.map(|t| done * 10 / t.max(1));
            let due = match tenth {
                Some(t) => t > self.last_logged_tenth,
                None => now.duration_since(self.last) >= Duration::from_secs(10),
            };
            if due {
                self.last = now;
                self.last_logged_tenth = tenth.unwrap_or(0);
                tracing::info!(rows = done, rate = self.rate(done), "{}", self.label);
            }
        }
    }

    fn draw(&self, done: u64, end: bool) {
        let mut line = format!("\r{} ", self.label);
        if let Some(total) = self.total.filter(|t| *t > 0) {
            let filled = ((done.min(total) * 30) / total) as usize;
            line.push_str(&format!(
                "[{}{}] {:>3}% {done}/{total} rows",
                "#".repeat(filled),
                "-".repeat(30 - filled),
                done.min(total) * 100 / total
            ));
        } else {
            line.push_str(&format!("{done} rows"));
        }
        line.push_str(&format!(", {} rows/s", self.rate(done)));
        if end {
            line.push('\n');
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }

    /// The run is over after `done` rows.
    pub fn finish(&mut self, done: u64) {
        if !self.enabled {
            return;
        }
        if self.tty {
            self.draw(done, true);
        } else {
            tracing::info!(
                rows = done,
                ms = self.started.elapsed().as_millis() as u64,
                "{}: done",
                self.label
            );
        }
    }
}
