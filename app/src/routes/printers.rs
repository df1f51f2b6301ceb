//! `/printers`: the machines of the farm, optionally owned by a team.

use super::{AppState, Page, page};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::validate::{self, Pagination};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use entity::{printers, teams};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder};
use serde::Deserialize;
use uuid::Uuid;

const CONFLICT: &str = "the printer conflicts with an existing one";
const NO_TEAM: &str = "team_id: the team does not exist";

/// `GET/POST /printers`, `GET/PATCH/DELETE /printers/{id}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/printers", get(list).post(create))
        .route("/printers/{id}", get(read).patch(update).delete(remove))
}

/// The body of `POST /printers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPrinter {
    /// Non-empty, up to 100 characters.
    pub name: String,
    /// Make and model, non-empty.
    pub manufacturer: String,
    /// Maintenance notes.
    pub notes: Option<String>,
    /// An existing team, or none.
    pub team_id: Option<Uuid>,
    /// Default `false`.
    pub is_online: Option<bool>,
    /// >= 0 (default 0).
    pub total_print_seconds: Option<i64>,
}

/// The body of `PATCH /printers/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterChanges {
    /// New name.
    pub name: Option<String>,
    /// New make and model.
    pub manufacturer: Option<String>,
    /// New notes; `null` clears them.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub notes: Option<Option<String>>,
    /// New owner; `null` makes it unowned.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub team_id: Option<Option<Uuid>>,
    /// Online or not.
    pub is_online: Option<bool>,
    /// New lifetime printing time.
    pub total_print_seconds: Option<i64>,
}

async fn team(state: &AppState, id: Option<Uuid>) -> Result<Option<Uuid>, ApiError> {
    if let Some(id) = id
        && teams::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .is_none()
    {
        return Err(ApiError::invalid(format!("team_id: no team with id {id}")));
    }
    Ok(id)
}

async fn list(
    State(state): State<AppState>,
    Query(p): Query<Pagination>,
) -> Result<axum::Json<Page<printers::Model>>, ApiError> {
    let (limit, offset) = p.checked()?;
    let select = printers::Entity::find().order_by_asc(printers::Column::Id);
    Ok(axum::Json(page(&state.db, select, limit, offset).await?))
}

async fn create(
    State(state): State<AppState>,
    Json(body): Json<NewPrinter>,
) -> Result<(StatusCode, axum::Json<printers::Model>), ApiError> {
    let printer = printers::ActiveModel {
        name: Set(validate::required_text("name", &body.name, 100)?),
        manufacturer: Set(validate::required_text(
            "manufacturer",
            &body.manufacturer,
            255,
        )?),
        notes: Set(validate::optional_text("notes", body.notes, None)?),
        team_id: Set(team(&state, body.team_id).await?),
        is_online: Set(body.is_online.unwrap_or(false)),
        total_print_seconds: Set(validate::at_least(
            "total_print_seconds",
            body.total_print_seconds.unwrap_or(0),
            0,
        )?),
        ..Default::default()
    };
    let printer = printer
        .insert(&state.db)
        .await
        .map_err(|e| ApiError::db(e, CONFLICT, NO_TEAM))?;
    tracing::info!(id = printer.id, "printer created");
    Ok((StatusCode::CREATED, axum::Json(printer)))
}

async fn find(state: &AppState, id: i32) -> Result<printers::Model, ApiError> {
    printers::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("printer {id}")))
}

async fn read(
    State(state): State<AppState>,
    Path(id): Path<i32>,
) -> Result<axum::Json<printers::Model>, ApiError> {
    Ok(axum::Json(find(&state, id).await?))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<i32>,
    Json(body): Json<PrinterChanges>,
) -> Result<axum::Json<printers::Model>, ApiError> {
    let mut printer: printers::ActiveModel = find(&state, id).await?.into();
    if let Some(name) = body.name {
        printer.name = Set(validate::required_text("name", &name, 100)?);
    }
    if let Some(manufacturer) = body.manufacturer {
        printer.manufacturer = Set(validate::required_text("manufacturer", &manufacturer, 255)?);
    }
    if let Some(notes) = body.notes {
        printer.notes = Set(validate::optional_text("notes", notes, None)?);
    }
    if let Some(team_id) = body.team_id {
        printer.team_id = Set(team(&state, team_id).await?);
    }
    if let Some(online) = body.is_online {
        printer.is_online = Set(online);
    }
    if let Some(seconds) = body.total_print_seconds {
        printer.total_print_seconds = Set(validate::at_least("total_print_seconds", seconds, 0)?);
    }
    let printer = printer
        .update(&state.db)
        .await
        .map_err(|e| ApiError::db(e, CONFLICT, NO_TEAM))?;
    Ok(axum::Json(printer))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    let deleted = printers::Entity::delete_by_id(id)
        .exec(&state.db)
        .await
        .map_err(|e| ApiError::db(e, CONFLICT, "the printer is still referenced"))?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found(format!("printer {id}")));
    }
    tracing::info!(id, "printer deleted");
    Ok(StatusCode::NO_CONTENT)
}
