//! `users`: the people who use the print farm.
//!
//! History: `username` was renamed to `display_name`, and `first_name` /
//! `last_name` were folded into `full_name` by a data migration.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `users`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Login address; unique.
    #[sea_orm(column_type = "String(StringLen::N(255))", unique)]
    pub email: String,
    /// Public name (formerly `username`).
    pub display_name: String,
    /// Disabled accounts cannot log in.
    #[sea_orm(default_value = true)]
    pub is_active: bool,
    /// Free-form UI preferences.
    pub preferences: Option<Json>,
    /// Set by the database on insert.
    #[sea_orm(default_expr = "Expr::current_timestamp()")]
    pub created_at: DateTimeWithTimeZone,
    /// "First Last", filled from the former `first_name` / `last_name`.
    #[sea_orm(column_type = "String(StringLen::N(200))", nullable)]
    pub full_name: Option<String>,
    /// Rows of the join table `team_members`.
    #[sea_orm(has_many)]
    pub memberships: HasMany<super::team_members::Entity>,
    /// Many-to-many through `team_members`.
    #[sea_orm(has_many, via = "team_members")]
    pub teams: HasMany<super::teams::Entity>,
    /// Jobs this user submitted.
    #[sea_orm(has_many)]
    pub print_jobs: HasMany<super::print_jobs::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
