//! The print-farm HTTP service: migrates its database on start, then serves a JSON API.
//!
//! [`run`] does everything `main` does after reading the configuration:
//! connect (with retries), apply or check migrations under the migration lock
//! ([`migration_core::embed::on_start`]), bind, print the address, serve until
//! SIGTERM or Ctrl-C. [`start`] stops before serving, for callers that want the
//! bound address or their own shutdown signal.

pub mod config;
pub mod error;
pub mod extract;
pub mod routes;
pub mod validate;

pub use config::Config;
pub use error::{ApiError, StartError};

use migration_core::embed::{self, OnStart};
use migration_core::url::mask;
use routes::AppState;
use sea_orm::DatabaseConnection;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Installs the `tracing` subscriber: `RUST_LOG` filter (default `info`), to stderr.
pub fn init_tracing() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    for directive in migration_core::url::QUIET_DRIVER_LOGS {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// A migrated database and a bound listener, ready to serve.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    db: DatabaseConnection,
    router: axum::Router,
}

/// Connects, runs the start-up migration policy, and binds `config.addr`.
///
/// # Errors
/// The database stays unreachable after every attempt, the migrations fail or
/// (with `MIGRATE_ON_START=check`) are pending, the database is ahead of the
/// code, or the address cannot be bound.
pub async fn start(config: Config) -> Result<Server, StartError> {
    let migrator = Arc::new(migration::migrator()?);
    let url = config.database_url.clone();
    let options = config.runner_options();
    tracing::info!(
        url = %mask(&url),
        migrate_on_start = ?config.migrate_on_start,
        attempts = options.connect_attempts,
        "connecting to the database"
    );
    let db = migration_core::runner::connect(&url, &options).await?;
    let standing = embed::on_start(
        &migrator,
        db.clone(),
        &url,
        config.migrate_on_start,
        options,
    )
    .await?;
    tracing::info!(
        current = ?standing.current,
        heads = ?standing.heads,
        applied = standing.applied.len(),
        pending = standing.pending.len(),
        "database ready"
    );
    if config.migrate_on_start == OnStart::Off && !standing.pending.is_empty() {
        tracing::warn!(
            pending = ?standing.pending,
            "MIGRATE_ON_START=off and migrations are pending; apply them with `migration up`"
        );
    }
    let listener = TcpListener::bind(&config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.addr.clone(),
        source,
    })?;
    let router = routes::router(AppState {
        db: db.clone(),
        migrator,
        database_url: url.into(),
    });
    Ok(Server {
        listener,
        addr,
        db,
        router,
    })
}

impl Server {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, lets in-flight requests finish, then
    /// closes the connection pool.
    ///
    /// # Errors
    /// The server fails.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        tracing::info!(addr = %self.addr, "listening");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(StartError::Serve)?;
        if let Err(e) = self.db.close().await {
            tracing::warn!(error = %e, "closing the database pool failed");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Starts (see [`start`]), prints `listening on http://ADDR` on stdout, and
/// serves until SIGTERM or Ctrl-C.
///
/// # Errors
/// As [`start`] and [`Server::serve`].
pub async fn run(config: Config) -> Result<(), StartError> {
    let server = start(config).await?;
    println!("listening on http://{}", server.local_addr());
    server.serve(shutdown_signal()).await
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
