//! The `app` binary: reads the configuration, migrates the database, serves HTTP.

use std::process::ExitCode;

fn main() -> ExitCode {
    let dotenv = dotenvy::dotenv();
    app::init_tracing();
    if let Err(e) = dotenv
        && !e.not_found()
    {
        tracing::warn!(error = %e, "ignoring an unreadable .env file");
    }
    let config = match app::Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {}", app::StartError::Config(e));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(app::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
