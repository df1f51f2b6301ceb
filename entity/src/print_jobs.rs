//! `print_jobs`: one order to print a product, with a native enum status.
//!
//! Foreign keys: a product cannot be deleted while jobs reference it
//! (ON DELETE RESTRICT); deleting a printer or a user keeps the job and
//! clears the reference (ON DELETE SET NULL).
//!
//! Note: the composite index `idx-print_jobs-status-created_at` on
//! `(status, created_at)` is not declared here: entities cannot declare a
//! composite non-unique index, so it exists only in the migrations.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Lifecycle of a print job. A native enum: `CREATE TYPE print_job_status` on
/// PostgreSQL, an inline `ENUM(...)` on MySQL/MariaDB, text on SQLite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "print_job_status")]
pub enum PrintJobStatus {
    /// Waiting for a printer.
    #[sea_orm(string_value = "queued")]
    Queued,
    /// On a printer now.
    #[sea_orm(string_value = "printing")]
    Printing,
    /// Done.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Stopped by an error.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Withdrawn.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

/// A row of `print_jobs`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "print_jobs")]
pub struct Model {
    /// Surrogate key (64-bit).
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What to print.
    pub product_id: i32,
    /// Where it is printed, once assigned.
    pub printer_id: Option<i32>,
    /// Who asked for it.
    pub user_id: Option<i32>,
    /// Lifecycle state; starts as `queued`.
    #[sea_orm(default_value = "queued")]
    pub status: PrintJobStatus,
    /// Number of items.
    #[sea_orm(default_value = 1)]
    pub quantity: i32,
    /// Free-form notes.
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    /// When printing started.
    pub started_at: Option<DateTimeWithTimeZone>,
    /// When printing ended.
    pub finished_at: Option<DateTimeWithTimeZone>,
    /// Set by the database on insert.
    #[sea_orm(default_expr = "Expr::current_timestamp()")]
    pub created_at: DateTimeWithTimeZone,
    /// The product (ON DELETE RESTRICT).
    #[sea_orm(belongs_to, from = "product_id", to = "id", on_delete = "Restrict")]
    pub product: BelongsTo<super::products::Entity>,
    /// The printer (ON DELETE SET NULL).
    #[sea_orm(belongs_to, from = "printer_id", to = "id", on_delete = "SetNull")]
    pub printer: BelongsTo<Option<super::printers::Entity>>,
    /// The user (ON DELETE SET NULL).
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "SetNull")]
    pub user: BelongsTo<Option<super::users::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
