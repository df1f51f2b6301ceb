//! The HTTP API: the router, its shared state, and one module per resource.

pub mod health;
pub mod pages;
pub mod print_jobs;
pub mod printers;
pub mod products;
pub mod teams;
pub mod users;

use crate::error::ApiError;
use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use migration_core::Migrator;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, QuerySelect, Select};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The connection pool.
    pub db: DatabaseConnection,
    /// The project's migrations (for `/health` and `/migrations`).
    pub migrator: Arc<Migrator>,
    /// The database URL (the engine needs it to pick the backend; never sent out).
    pub database_url: Arc<str>,
}

/// The largest request body accepted (a 413 above it): every resource is a
/// few fields of JSON.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .merge(pages::routes())
        .merge(users::routes())
        .merge(teams::routes())
        .merge(products::routes())
        .merge(printers::routes())
        .merge(print_jobs::routes())
        .fallback(async || ApiError::NotFound("no such endpoint".into()))
        .method_not_allowed_fallback(async || ApiError::MethodNotAllowed)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Logs each request with its status and duration.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(%method, %path, status, ms, "request");
    } else {
        tracing::info!(%method, %path, status, ms, "request");
    }
    response
}

/// One page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows in all pages.
    pub total: u64,
    /// The page size asked for.
    pub limit: u64,
    /// The rows skipped.
    pub offset: u64,
}

/// Runs `select` for one page, with the total count.
///
/// # Errors
/// A database error.
pub async fn page<E: EntityTrait>(
    db: &DatabaseConnection,
    select: Select<E>,
    limit: u64,
    offset: u64,
) -> Result<Page<E::Model>, ApiError>
where
    E::Model: Sync,
{
    let total = select.clone().count(db).await?;
    let items = select.limit(limit).offset(offset).all(db).await?;
    Ok(Page {
        items,
        total,
        limit,
        offset,
    })
}
