//! `/print_jobs`: orders to print a product (quantity >= 1, status lifecycle).

use super::{AppState, Page, page};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::validate::{self, Pagination};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use entity::prelude::PrintJobStatus;
use entity::{print_jobs, printers, products, users};
use sea_orm::ActiveValue::Set;
use sea_orm::prelude::DateTimeWithTimeZone;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

const CONFLICT: &str = "the print job conflicts with an existing one";
const MISSING_REFERENCE: &str = "the product, printer or user does not exist";

/// `GET/POST /print_jobs` (`?status=` filters), `GET/PATCH/DELETE /print_jobs/{id}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/print_jobs", get(list).post(create))
        .route("/print_jobs/{id}", get(read).patch(update).delete(remove))
}

/// A print job's status as the API spells it (the database's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for a printer.
    Queued,
    /// On a printer now.
    Printing,
    /// Done.
    Completed,
    /// Stopped by an error.
    Failed,
    /// Withdrawn.
    Cancelled,
}

impl From<Status> for PrintJobStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Queued => Self::Queued,
            Status::Printing => Self::Printing,
            Status::Completed => Self::Completed,
            Status::Failed => Self::Failed,
            Status::Cancelled => Self::Cancelled,
        }
    }
}

impl From<PrintJobStatus> for Status {
    fn from(s: PrintJobStatus) -> Self {
        match s {
            PrintJobStatus::Queued => Self::Queued,
            PrintJobStatus::Printing => Self::Printing,
            PrintJobStatus::Completed => Self::Completed,
            PrintJobStatus::Failed => Self::Failed,
            PrintJobStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// A print job as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct PrintJob {
    /// Id.
    pub id: i64,
    /// What is printed.
    pub product_id: i32,
    /// Where, once assigned.
    pub printer_id: Option<i32>,
    /// Who asked.
    pub user_id: Option<i32>,
    /// Lifecycle state.
    pub status: Status,
    /// Number of items.
    pub quantity: i32,
    /// Notes.
    pub notes: Option<String>,
    /// When printing started.
    pub started_at: Option<DateTimeWithTimeZone>,
    /// When printing ended.
    pub finished_at: Option<DateTimeWithTimeZone>,
    /// When the job was created.
    pub created_at: DateTimeWithTimeZone,
}

impl From<print_jobs::Model> for PrintJob {
    fn from(m: print_jobs::Model) -> Self {
        Self {
            id: m.id,
            product_id: m.product_id,
            printer_id: m.printer_id,
            user_id: m.user_id,
            status: m.status.into(),
            quantity: m.quantity,
            notes: m.notes,
            started_at: m.started_at,
            finished_at: m.finished_at,
            created_at: m.created_at,
        }
    }
}

/// The body of `POST /print_jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPrintJob {
    /// An existing product.
    pub product_id: i32,
    /// An existing printer, or none.
    pub printer_id: Option<i32>,
    /// An existing user, or none.
    pub user_id: Option<i32>,
    /// Default `queued`.
    pub status: Option<Status>,
    /// >= 1 (default 1).
    pub quantity: Option<i32>,
    /// Notes.
    pub notes: Option<String>,
    /// RFC 3339 time.
    pub started_at: Option<DateTimeWithTimeZone>,
    /// RFC 3339 time, not before `started_at`.
    pub finished_at: Option<DateTimeWithTimeZone>,
}

/// The body of `PATCH /print_jobs/{id}`. Moving to `printing` sets
/// `started_at`, and to `completed`, `failed` or `cancelled` sets
/// `finished_at`, unless given or already set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintJobChanges {
    /// New status.
    pub status: Option<Status>,
    /// New printer; `null` unassigns.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub printer_id: Option<Option<i32>>,
    /// New quantity.
    pub quantity: Option<i32>,
    /// New notes; `null` clears them.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub notes: Option<Option<String>>,
    /// New start time; `null` clears it.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub started_at: Option<Option<DateTimeWithTimeZone>>,
    /// New end time; `null` clears it.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub finished_at: Option<Option<DateTimeWithTimeZone>>,
}

/// `?limit=&offset=&status=` of `GET /print_jobs`.
#[derive(Debug, Deserialize)]
pub struct JobFilter {
    /// Page size.
    pub limit: Option<u64>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Only jobs in this status.
    pub status: Option<Status>,
}

async fn check_refs(
    state: &AppState,
    product_id: Option<i32>,
    printer_id: Option<i32>,
    user_id: Option<i32>,
) -> Result<(), ApiError> {
    if let Some(id) = product_id
        && products::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .is_none()
    {
        return Err(ApiError::invalid(format!(
            "product_id: no product with id {id}"
        )));
    }
    if let Some(id) = printer_id
        && printers::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .is_none()
    {
        return Err(ApiError::invalid(format!(
            "printer_id: no printer with id {id}"
        )));
    }
    if let Some(id) = user_id
        && users::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .is_none()
    {
        return Err(ApiError::invalid(format!("user_id: no user with id {id}")));
    }
    Ok(())
}

fn check_times(
    started: Option<DateTimeWithTimeZone>,
    finished: Option<DateTimeWithTimeZone>,
) -> Result<(), ApiError> {
    if let (Some(s), Some(f)) = (started, finished)
        && f < s
    {
        return Err(ApiError::invalid(
            "finished_at must not be before started_at",
        ));
    }
    Ok(())
}

fn now() -> DateTimeWithTimeZone {
    chrono::Utc::now().fixed_offset()
}

async fn list(
    State(state): State<AppState>,
    Query(f): Query<JobFilter>,
) -> Result<axum::Json<Page<PrintJob>>, ApiError> {
    let (limit, offset) = Pagination {
        limit: f.limit,
        offset: f.offset,
    }
    .checked()?;
    let mut select = print_jobs::Entity::find().order_by_asc(print_jobs::Column::Id);
    if let Some(status) = f.status {
        select = select.filter(print_jobs::Column::Status.eq(PrintJobStatus::from(status)));
    }
    let p = page(&state.db, select, limit, offset).await?;
    Ok(axum::Json(Page {
        items: p.items.into_iter().map(PrintJob::from).collect(),
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    }))
}

async fn create(
    State(state): State<AppState>,
    Json(body): Json<NewPrintJob>,
) -> Result<(StatusCode, axum::Json<PrintJob>), ApiError> {
    let quantity = validate::at_least("quantity", body.quantity.unwrap_or(1), 1)?;
    let notes = validate::optional_text("notes", body.notes, None)?;
    check_times(body.started_at, body.finished_at)?;
    check_refs(&state, Some(body.product_id), body.printer_id, body.user_id).await?;
    let job = print_jobs::ActiveModel {
        product_id: Set(body.product_id),
        printer_id: Set(body.printer_id),
        user_id: Set(body.user_id),
        status: Set(body.status.unwrap_or(Status::Queued).into()),
        quantity: Set(quantity),
        notes: Set(notes),
        started_at: Set(body.started_at),
        finished_at: Set(body.finished_at),
        ..Default::default()
    };
    let job = job
        .insert(&state.db)
        .await
        .map_err(|e| ApiError::db(e, CONFLICT, MISSING_REFERENCE))?;
    tracing::info!(id = job.id, "print job created");
    Ok((StatusCode::CREATED, axum::Json(job.into())))
}

async fn find(state: &AppState, id: i64) -> Result<print_jobs::Model, ApiError> {
    print_jobs::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("print job {id}")))
}

async fn read(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<axum::Json<PrintJob>, ApiError> {
    Ok(axum::Json(find(&state, id).await?.into()))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<PrintJobChanges>,
) -> Result<axum::Json<PrintJob>, ApiError> {
    let current = find(&state, id).await?;
    let mut started = body.started_at.unwrap_or(current.started_at);
    let mut finished = body.finished_at.unwrap_or(current.finished_at);
    if let Some(status) = body.status {
        match status {
            Status::Printing if started.is_none() => started = Some(now()),
            Status::Completed | Status::Failed | Status::Cancelled if finished.is_none() => {
                finished = Some(now());
            }
            _ => {}
        }
    }
    check_times(started, finished)?;
    if let Some(Some(printer_id)) = body.printer_id {
        check_refs(&state, None, Some(printer_id), None).await?;
    }
    let mut job: print_jobs::ActiveModel = current.into();
    if let Some(status) = body.status {
        job.status = Set(status.into());
    }
    if let Some(printer_id) = body.printer_id {
        job.printer_id = Set(printer_id);
    }
    if let Some(quantity) = body.quantity {
        job.quantity = Set(validate::at_least("quantity", quantity, 1)?);
    }
    if let Some(notes) = body.notes {
        job.notes = Set(validate::optional_text("notes", notes, None)?);
    }
    if started != *job.started_at.as_ref() {
        job.started_at = Set(started);
    }
    if finished != *job.finished_at.as_ref() {
        job.finished_at = Set(finished);
    }
    let job = job
        .update(&state.db)
        .await
        .map_err(|e| ApiError::db(e, CONFLICT, MISSING_REFERENCE))?;
    Ok(axum::Json(job.into()))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let deleted = print_jobs::Entity::delete_by_id(id)
        .exec(&state.db)
        .await
        .map_err(|e| ApiError::db(e, CONFLICT, "the print job is still referenced"))?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found(format!("print job {id}")));
    }
    tracing::info!(id, "print job deleted");
    Ok(StatusCode::NO_CONTENT)
}
