//! `/users`: the people who use the print farm (unique, lower-cased e-mail).

use super::{AppState, Page, page};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::validate::{self, Pagination};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use entity::users;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder};
use serde::Deserialize;

const EMAIL_TAKEN: &str = "a user with this email already exists";
const REFERENCED: &str = "the user is still referenced";

/// `GET/POST /users`, `GET/PATCH/DELETE /users/{id}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(read).patch(update).delete(remove))
}

/// The body of `POST /users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// A valid e-mail address, unique (stored lower-cased).
    pub email: String,
    /// Public name, non-empty.
    pub display_name: String,
    /// "First Last", up to 200 characters.
    pub full_name: Option<String>,
    /// Default `true`.
    pub is_active: Option<bool>,
    /// Free-form JSON.
    pub preferences: Option<serde_json::Value>,
}

/// The body of `PATCH /users/{id}`: only the fields present change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    /// New e-mail address.
    pub email: Option<String>,
    /// New public name.
    pub display_name: Option<String>,
    /// New full name; `null` clears it.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub full_name: Option<Option<String>>,
    /// Enable or disable the account.
    pub is_active: Option<bool>,
    /// New preferences; `null` clears them.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub preferences: Option<Option<serde_json::Value>>,
}

async fn list(
    State(state): State<AppState>,
    Query(p): Query<Pagination>,
) -> Result<axum::Json<Page<users::Model>>, ApiError> {
    let (limit, offset) = p.checked()?;
    let select = users::Entity::find().order_by_asc(users::Column::Id);
    Ok(axum::Json(page(&state.db, select, limit, offset).await?))
}

async fn create(
    State(state): State<AppState>,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, axum::Json<users::Model>), ApiError> {
    let user = users::ActiveModel {
        email: Set(validate::email(&body.email)?),
        display_name: Set(validate::required_text(
            "display_name",
            &body.display_name,
            255,
        )?),
        full_name: Set(validate::optional_text(
            "full_name",
            body.full_name,
            Some(200),
        )?),
        is_active: Set(body.is_active.unwrap_or(true)),
        preferences: Set(body.preferences.filter(|p| !p.is_null())),
        ..Default::default()
    };
    let user = user
        .insert(&state.db)
        .await
        .map_err(|e| ApiError::db(e, EMAIL_TAKEN, REFERENCED))?;
    tracing::info!(id = user.id, "user created");
    Ok((StatusCode::CREATED, axum::Json(user)))
}

async fn find(state: &AppState, id: i32) -> Result<users::Model, ApiError> {
    users::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {id}")))
}

async fn read(
    State(state): State<AppState>,
    Path(id): Path<i32>,
) -> Result<axum::Json<users::Model>, ApiError> {
    Ok(axum::Json(find(&state, id).await?))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<i32>,
    Json(body): Json<UserChanges>,
) -> Result<axum::Json<users::Model>, ApiError> {
    let mut user: users::ActiveModel = find(&state, id).await?.into();
    if let Some(email) = body.email {
        user.email = Set(validate::email(&email)?);
    }
    if let Some(name) = body.display_name {
        user.display_name = Set(validate::required_text("display_name", &name, 255)?);
    }
    if let Some(full_name) = body.full_name {
        user.full_name = Set(validate::optional_text("full_name", full_name, Some(200))?);
    }
    if let Some(active) = body.is_active {
        user.is_active = Set(active);
    }
    if let Some(preferences) = body.preferences {
        user.preferences = Set(preferences.filter(|p| !p.is_null()));
    }
    let user = user
        .update(&state.db)
        .await
        .map_err(|e| ApiError::db(e, EMAIL_TAKEN, REFERENCED))?;
    Ok(axum::Json(user))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    let deleted = users::Entity::delete_by_id(id)
        .exec(&state.db)
        .await
        .map_err(|e| ApiError::db(e, EMAIL_TAKEN, REFERENCED))?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found(format!("user {id}")));
    }
    tracing::info!(id, "user deleted");
    Ok(StatusCode::NO_CONTENT)
}
