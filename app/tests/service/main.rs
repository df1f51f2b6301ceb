//! The `app` binary as a process against real databases (SQLite, PostgreSQL,
//! MariaDB/MySQL; unreachable servers are skipped unless `REQUIRE_ALL_BACKENDS=1`).

mod crud;
mod hold;
mod replicas;
mod startup;
mod support;
