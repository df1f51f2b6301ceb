//! The `app` binary as a process against real databases (SQLite, PostgreSQL,
//! MariaDB/MySQL; unreachable servers are skipped unless `REQUIRE_ALL_BACKENDS=1`).

// The scenario futures nest deeply (a test per backend around each scenario,
// each awaiting the app's HTTP calls and the runner): rustc's default depth
// for computing their layout is just too small.
#![recursion_limit = "256"]

mod crud;
mod hold;
mod replicas;
mod startup;
mod support;
