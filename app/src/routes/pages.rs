//! HTML pages: `GET /` (what the service offers) and `GET /migrations` (the revision graph as SVG).

use super::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use migration_core::graph_svg::{self, RevState, escape};
use migration_core::hold;
use migration_core::runner::{Runner, RunnerOptions};
use std::collections::HashMap;
use std::fmt::Write as _;

/// `GET /` and `GET /migrations`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/migrations", get(migrations))
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI','DejaVu Sans',sans-serif;\
margin:24px;color:#212121;background:#fff}h1{font-size:22px;margin:0 0 12px}\
table{border-collapse:collapse;margin-top:16px;font-size:13px}th,td{border-bottom:1px solid #e0e0e0;\
padding:4px 10px;text-align:left}code{font-family:ui-monospace,'DejaVu Sans Mono',monospace}\
.summary{margin:8px 0 16px;font-size:14px}.hold{color:#b71c1c;font-weight:600}\
.state-applied{color:#2e7d32}.state-pending{color:#616161}.state-failed{color:#c62828}\
.state-changed{color:#ef6c00}.graph{overflow-x:auto;border:1px solid #e0e0e0;display:inline-block}";

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>\n{body}\n</body></html>\n",
        escape(title)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// `GET /`: links to the pages and the API.
async fn index() -> Response {
    let mut body = String::from(
        "<h1>Print farm service</h1>\n<ul id=\"links\">\n\
         <li><a href=\"/migrations\">Migrations</a>: the revision graph, what is applied, pending, failed or changed</li>\n\
         <li><a href=\"/health\">/health</a>: database status and where its migrations stand (JSON)</li>\n",
    );
    for resource in ["users", "teams", "products", "printers", "print_jobs"] {
        let _ = writeln!(
            body,
            "<li><a href=\"/{resource}\">/{resource}</a> (JSON)</li>"
        );
    }
    body.push_str("</ul>");
    html(StatusCode::OK, "Print farm service", &body)
}

/// `GET /migrations`: the revision graph drawn as SVG (branches, merges,
/// heads; each revision applied / pending / failed / changed with its applied
/// time and duration), a summary and the same as a table. 503 with the graph
/// in the "unknown" state when the database does not answer; no error details.
async fn migrations(State(state): State<AppState>) -> Response {
    let migrator = &state.migrator;
    let graph = migrator.graph();
    let read = async {
        let runner = Runner::with_connection(
            migrator,
            state.db.clone(),
            &state.database_url,
            RunnerOptions::default(),
        )?;
        let tracked = runner.state().await?;
        let held = hold::read(migrator, runner.connection(), runner.backend()).await?;
        Ok::<_, migration_core::Error>((tracked, held))
    };
    let (status, statuses, options, summary) = match read.await {
        Ok((tracked, held)) => {
            let held = held.filter(|h| h.applies_to(migrator));
            let statuses = graph_svg::statuses(graph, &tracked);
            let pending = statuses
                .values()
                .filter(|s| s.state == RevState::Pending)
                .count();
            let mut summary = format!(
                "<p class=\"summary\">Current: <code>{}</code> · heads: <code>{}</code> · \
                 <span id=\"pending\">{pending}</span> pending · {} revision(s)</p>",
                escape(&join_or_base(&graph.current(&tracked.applied))),
                escape(&graph.heads().join(", ")),
                graph.len()
            );
            if let Some(h) = &held {
                let _ = write!(
                    summary,
                    "\n<p class=\"hold\" id=\"hold\">{}</p>",
                    escape(&h.describe())
                );
            }
            // The hold is the paragraph above; the drawing need not repeat it.
            let options = graph_svg::Options {
                title: None,
                unknown: tracked.unknown.clone(),
                note: None,
            };
            (StatusCode::OK, statuses, options, summary)
        }
        Err(e) => {
            tracing::warn!(error = %e, "migrations page: the database is unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                HashMap::new(),
                graph_svg::Options {
                    title: Some("The database is unavailable: states unknown".into()),
                    ..graph_svg::Options::default()
                },
                "<p class=\"summary hold\">The database is unavailable.</p>".to_string(),
            )
        }
    };
    let svg = graph_svg::render(graph, &statuses, &options);
    let mut body = format!(
        "<h1>Migrations</h1>\n<p><a href=\"/\">home</a> · <a href=\"/health\">/health</a></p>\n\
         {summary}\n<div class=\"graph\">\n{svg}</div>\n"
    );
    body.push_str(
        "<table id=\"revisions\"><thead><tr><th>revision</th><th>state</th><th>applied at (UTC)</th>\
         <th>ms</th><th>parents</th><th>message</th></tr></thead><tbody>\n",
    );
    for info in graph.topo_order().collect::<Vec<_>>().into_iter().rev() {
        let s = statuses.get(&info.id);
        let name = s.map_or("unknown", |s| s.state.name());
        let _ = writeln!(
            body,
            "<tr data-revision=\"{id}\"><td><code>{id}</code></td><td class=\"state-{name}\">{name}</td>\
             <td>{at}</td><td>{ms}</td><td><code>{parents}</code></td><td>{message}</td></tr>",
            id = escape(&info.id),
            at = escape(
                &s.and_then(|s| s.applied_at.clone())
                    .unwrap_or_default()
                    .replace('T', " ")
            ),
            ms = s
                .and_then(|s| s.execution_ms)
                .map(|ms| ms.to_string())
                .unwrap_or_default(),
            parents = escape(&info.parents.join(", ")),
            message = escape(info.message.lines().next().unwrap_or("")),
        );
    }
    body.push_str("</tbody></table>");
    html(status, "Migrations", &body)
}

fn join_or_base(ids: &[String]) -> String {
    if ids.is_empty() {
        "base".to_string()
    } else {
        ids.join(", ")
    }
}
