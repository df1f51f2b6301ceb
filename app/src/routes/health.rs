//! `GET /health`: database reachability and where its migrations stand.

use super::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use migration_core::embed;
use serde_json::{Value, json};

/// `GET /health`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// 200 with `{"status": "ok", "database": "ok", "current": [...], "heads":
/// [...], "pending": 0, "hold": null}` when the database answers (`status` is
/// `"outdated"` while migrations are pending or the database is ahead of the
/// code; `hold` is the rollback hold `migration down` recorded, with
/// `held_at` and `reverted`, while it applies to this code), 503 with
/// `"database": "unavailable"` when it does not. Never includes error details.
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let heads: Vec<&str> = state.migrator.graph().heads();
    match embed::standing(&state.migrator, state.db.clone(), &state.database_url).await {
        Ok(standing) => {
            let up_to_date = standing.pending.is_empty() && standing.unknown.is_empty();
            (
                StatusCode::OK,
                Json(json!({
                    "status": if up_to_date { "ok" } else { "outdated" },
                    "database": "ok",
                    "current": standing.current,
                    "heads": standing.heads,
                    "pending": standing.pending.len(),
                    "unknown": standing.unknown,
                    "hold": standing.hold,
                })),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "health: the database is unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "database": "unavailable",
                    "current": null,
                    "heads": heads,
                    "pending": null,
                })),
            )
        }
    }
}
