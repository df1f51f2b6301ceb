//! `printers`: the machines of the farm, optionally owned by a team.
//!
//! Deleting a team keeps its printers, unowned (ON DELETE SET NULL).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `printers`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "printers")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Name shown on the dashboard.
    #[sea_orm(column_type = "String(StringLen::N(100))")]
    pub name: String,
    /// Make and model, e.g. "Prusa MK4".
    pub manufacturer: String,
    /// Maintenance notes.
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// Owning team, if any; indexed.
    #[sea_orm(indexed)]
    pub team_id: Option<Uuid>,
    /// Whether the printer reported in recently.
    #[sea_orm(default_value = false)]
    pub is_online: bool,
    /// Lifetime printing time.
    #[sea_orm(default_value = 0)]
    pub total_print_seconds: i64,
    /// Set by the database on insert.
    #[sea_orm(default_expr = "Expr::current_timestamp()")]
    pub created_at: DateTimeWithTimeZone,
    /// Owning team (ON DELETE SET NULL).
    #[sea_orm(belongs_to, from = "team_id", to = "id", on_delete = "SetNull")]
    pub team: BelongsTo<Option<super::teams::Entity>>,
    /// Jobs run on this printer.
    #[sea_orm(has_many)]
    pub print_jobs: HasMany<super::print_jobs::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
