//! `products`: the catalogue of printable items.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A row of `products`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "products")]
pub struct Model {
    /// Surrogate key.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Stock keeping unit; unique.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub sku: String,
    /// Catalogue name; indexed.
    #[sea_orm(indexed)]
    pub name: String,
    /// Long description.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// Unit price (widened from DECIMAL(10, 2) by `m20250614_090000_widen_products_price`).
    #[sea_orm(column_type = "Decimal(Some((12, 2)))")]
    pub price: Decimal,
    /// Filament needed for one item.
    #[sea_orm(column_type = "Decimal(Some((10, 3)))", nullable)]
    pub filament_grams: Option<Decimal>,
    /// Items in stock.
    #[sea_orm(default_value = 0)]
    pub stock_quantity: i32,
    /// Printing time of one item.
    pub print_time_seconds: i64,
    /// Set by the database on insert.
    #[sea_orm(default_expr = "Expr::current_timestamp()")]
    pub created_at: DateTimeWithTimeZone,
    /// Added later (NOT NULL DEFAULT false on a table with rows).
    #[sea_orm(default_value = false)]
    pub is_featured: bool,
    /// Jobs printing this product.
    #[sea_orm(has_many)]
    pub print_jobs: HasMany<super::print_jobs::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
