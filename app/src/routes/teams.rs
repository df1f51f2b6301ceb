//! `/teams` (UUID ids, unique names) and their members `/teams/{id}/members`.

use super::{AppState, Page, page};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::validate::{self, Pagination};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use entity::{team_members, teams, users};
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use uuid::Uuid;

const NAME_TAKEN: &str = "a team with this name already exists";
const REFERENCED: &str = "the team is still referenced";
const ALREADY_MEMBER: &str = "the user is already a member of this team";

/// `GET/POST /teams`, `GET/PATCH/DELETE /teams/{id}`,
/// `GET/POST /teams/{id}/members`, `DELETE /teams/{id}/members/{user_id}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams", get(list).post(create))
        .route("/teams/{id}", get(read).patch(update).delete(remove))
        .route("/teams/{id}/members", get(members).post(add_member))
        .route("/teams/{id}/members/{user_id}", delete(remove_member))
}

/// The body of `POST /teams`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    /// Unique, non-empty, up to 100 characters.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
}

/// The body of `PATCH /teams/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamChanges {
    /// New name.
    pub name: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub description: Option<Option<String>>,
}

/// The body of `POST /teams/{id}/members`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// An existing user.
    pub user_id: i32,
    /// Role in the team (default `member`), up to 32 characters.
    pub role: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    Query(p): Query<Pagination>,
) -> Result<axum::Json<Page<teams::Model>>, ApiError> {
    let (limit, offset) = p.checked()?;
    let select = teams::Entity::find()
        .order_by_asc(teams::Column::Name)
        .order_by_asc(teams::Column::Id);
    Ok(axum::Json(page(&state.db, select, limit, offset).await?))
}

async fn create(
    State(state): State<AppState>,
    Json(body): Json<NewTeam>,
) -> Result<(StatusCode, axum::Json<teams::Model>), ApiError> {
    let team = teams::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set(validate::required_text("name", &body.name, 100)?),
        description: Set(validate::optional_text(
            "description",
            body.description,
            None,
        )?),
        ..Default::default()
    };
    let team = team
        .insert(&state.db)
        .await
        .map_err(|e| ApiError::db(e, NAME_TAKEN, REFERENCED))?;
    tracing::info!(id = %team.id, "team created");
    Ok((StatusCode::CREATED, axum::Json(team)))
}

async fn find(state: &AppState, id: Uuid) -> Result<teams::Model, ApiError> {
    teams::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("team {id}")))
}

async fn read(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<teams::Model>, ApiError> {
    Ok(axum::Json(find(&state, id).await?))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(body): Json<TeamChanges>,
) -> Result<axum::Json<teams::Model>, ApiError> {
    let mut team: teams::ActiveModel = find(&state, id).await?.into();
    if let Some(name) = body.name {
        team.name = Set(validate::required_text("name", &name, 100)?);
    }
    if let Some(description) = body.description {
        team.description = Set(validate::optional_text("description", description, None)?);
    }
    let team = team
        .update(&state.db)
        .await
        .map_err(|e| ApiError::db(e, NAME_TAKEN, REFERENCED))?;
    Ok(axum::Json(team))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let deleted = teams::Entity::delete_by_id(id)
        .exec(&state.db)
        .await
        .map_err(|e| ApiError::db(e, NAME_TAKEN, REFERENCED))?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found(format!("team {id}")));
    }
    tracing::info!(%id, "team deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn members(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(p): Query<Pagination>,
) -> Result<axum::Json<Page<team_members::Model>>, ApiError> {
    let (limit, offset) = p.checked()?;
    find(&state, id).await?;
    let select = team_members::Entity::find()
        .filter(team_members::Column::TeamId.eq(id))
        .order_by_asc(team_members::Column::Id);
    Ok(axum::Json(page(&state.db, select, limit, offset).await?))
}

async fn add_member(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(body): Json<NewMember>,
) -> Result<(StatusCode, axum::Json<team_members::Model>), ApiError> {
    find(&state, id).await?;
    let role = match body.role {
        Some(role) => validate::required_text("role", &role, 32)?,
        None => "member".to_string(),
    };
    if users::Entity::find_by_id(body.user_id)
        .one(&state.db)
        .await?
        .is_none()
    {
        return Err(ApiError::invalid(format!(
            "user_id: no user with id {}",
            body.user_id
        )));
    }
    let member = team_members::ActiveModel {
        team_id: Set(id),
        user_id: Set(body.user_id),
        role: Set(role),
        ..Default::default()
    };
    let member = member
        .insert(&state.db)
        .await
        .map_err(|e| ApiError::db(e, ALREADY_MEMBER, "the team or the user no longer exists"))?;
    Ok((StatusCode::CREATED, axum::Json(member)))
}

async fn remove_member(
    State(state): State<AppState>,
    Path((id, user_id)): Path<(Uuid, i32)>,
) -> Result<StatusCode, ApiError> {
    let deleted = team_members::Entity::delete_many()
        .filter(team_members::Column::TeamId.eq(id))
        .filter(team_members::Column::UserId.eq(user_id))
        .exec(&state.db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found(format!("user {user_id} in team {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
