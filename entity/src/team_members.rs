//! `team_members`: the join table of the users <-> teams many-to-many relation.
//!
//! One row per (team, user) pair, enforced by the composite unique key
//! `team_user` (index `idx-team_members-team_user`). Deleting a team or a user
//! deletes its memberships (ON DELETE CASCADE).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `team_members`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "team_members")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The team; part of the unique key `team_user`.
    #[sea_orm(unique_key = "team_user")]
    pub team_id: Uuid,
    /// The user; part of the unique key `team_user`, and indexed on its own.
    #[sea_orm(unique_key = "team_user", indexed)]
    pub user_id: i32,
    /// Role in the team, e.g. "member" or "admin".
    #[sea_orm(column_type = "String(StringLen::N(32))", default_value = "member")]
    pub role: String,
    /// Set by the database on insert.
    #[sea_orm(default_expr = "Expr::current_timestamp()")]
    pub joined_at: DateTimeWithTimeZone,
    /// The team (ON DELETE CASCADE).
    #[sea_orm(
        belongs_to,
        from = "team_id",
        to = "id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    pub team: BelongsTo<super::teams::Entity>,
    /// The user (ON DELETE CASCADE).
    #[sea_orm(
        belongs_to,
        from = "user_id",
        to = "id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    pub user: BelongsTo<super::users::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
