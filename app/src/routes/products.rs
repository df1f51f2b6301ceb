//! `/products`: the catalogue (unique SKU, price >= 0).

use super::{AppState, Page, page};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::validate::{self, Pagination};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use entity::products;
use rust_decimal::Decimal;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder};
use serde::Deserialize;

const SKU_TAKEN: &str = "a product with this sku already exists";
const REFERENCED: &str = "the product is still referenced by print jobs; delete them first";

/// `GET/POST /products`, `GET/PATCH/DELETE /products/{id}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products", get(list).post(create))
        .route("/products/{id}", get(read).patch(update).delete(remove))
}

/// The body of `POST /products`. Decimals may be JSON numbers or strings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// Stock keeping unit: unique, non-empty, up to 64 characters.
    pub sku: String,
    /// Catalogue name, non-empty.
    pub name: String,
    /// Long description.
    pub description: Option<String>,
    /// Unit price, >= 0, at most 2 decimals (`DECIMAL(10, 2)`).
    pub price: Decimal,
    /// Filament for one item in grams, >= 0, at most 3 decimals.
    pub filament_grams: Option<Decimal>,
    /// Items in stock, >= 0 (default 0).
    pub stock_quantity: Option<i32>,
    /// Printing time of one item in seconds, >= 0.
    pub print_time_seconds: i64,
    /// Default `false`.
    pub is_featured: Option<bool>,
}

/// The body of `PATCH /products/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductChanges {
    /// New SKU.
    pub sku: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub description: Option<Option<String>>,
    /// New price.
    pub price: Option<Decimal>,
    /// New filament weight; `null` clears it.
    #[serde(default, deserialize_with = "validate::nullable")]
    pub filament_grams: Option<Option<Decimal>>,
    /// New stock.
    pub stock_quantity: Option<i32>,
    /// New printing time.
    pub print_time_seconds: Option<i64>,
    /// Feature it or not.
    pub is_featured: Option<bool>,
}

fn price(value: Decimal) -> Result<Decimal, ApiError> {
    validate::decimal("price", value, 10, 2)
}

fn grams(value: Option<Decimal>) -> Result<Option<Decimal>, ApiError> {
    value
        .map(|g| validate::decimal("filament_grams", g, 10, 3))
        .transpose()
}

async fn list(
    State(state): State<AppState>,
    Query(p): Query<Pagination>,
) -> Result<axum::Json<Page<products::Model>>, ApiError> {
    let (limit, offset) = p.checked()?;
    let select = products::Entity::find().order_by_asc(products::Column::Id);
    Ok(axum::Json(page(&state.db, select, limit, offset).await?))
}

async fn create(
    State(state): State<AppState>,
    Json(body): Json<NewProduct>,
) -> Result<(StatusCode, axum::Json<products::Model>), ApiError> {
    let product = products::ActiveModel {
        sku: Set(validate::required_text("sku", &body.sku, 64)?),
        name: Set(validate::required_text("name", &body.name, 255)?),
        description: Set(validate::optional_text(
            "description",
            body.description,
            None,
        )?),
        price: Set(price(body.price)?),
        filament_grams: Set(grams(body.filament_grams)?),
        stock_quantity: Set(validate::at_least(
            "stock_quantity",
            body.stock_quantity.unwrap_or(0),
            0,
        )?),
        print_time_seconds: Set(validate::at_least(
            "print_time_seconds",
            body.print_time_seconds,
            0,
        )?),
        is_featured: Set(body.is_featured.unwrap_or(false)),
        ..Default::default()
    };
    let product = product
        .insert(&state.db)
        .await
        .map_err(|e| ApiError::db(e, SKU_TAKEN, REFERENCED))?;
    tracing::info!(id = product.id, "product created");
    Ok((StatusCode::CREATED, axum::Json(product)))
}

async fn find(state: &AppState, id: i32) -> Result<products::Model, ApiError> {
    products::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("product {id}")))
}

async fn read(
    State(state): State<AppState>,
    Path(id): Path<i32>,
) -> Result<axum::Json<products::Model>, ApiError> {
    Ok(axum::Json(find(&state, id).await?))
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<i32>,
    Json(body): Json<ProductChanges>,
) -> Result<axum::Json<products::Model>, ApiError> {
    let mut product: products::ActiveModel = find(&state, id).await?.into();
    if let Some(sku) = body.sku {
        product.sku = Set(validate::required_text("sku", &sku, 64)?);
    }
    if let Some(name) = body.name {
        product.name = Set(validate::required_text("name", &name, 255)?);
    }
    if let Some(description) = body.description {
        product.description = Set(validate::optional_text("description", description, None)?);
    }
    if let Some(value) = body.price {
        product.price = Set(price(value)?);
    }
    if let Some(value) = body.filament_grams {
        product.filament_grams = Set(grams(value)?);
    }
    if let Some(stock) = body.stock_quantity {
        product.stock_quantity = Set(validate::at_least("stock_quantity", stock, 0)?);
    }
    if let Some(seconds) = body.print_time_seconds {
        product.print_time_seconds = Set(validate::at_least("print_time_seconds", seconds, 0)?);
    }
    if let Some(featured) = body.is_featured {
        product.is_featured = Set(featured);
    }
    let product = product
        .update(&state.db)
        .await
        .map_err(|e| ApiError::db(e, SKU_TAKEN, REFERENCED))?;
    Ok(axum::Json(product))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    let deleted = products::Entity::delete_by_id(id)
        .exec(&state.db)
        .await
        .map_err(|e| ApiError::db(e, SKU_TAKEN, REFERENCED))?;
    if deleted.rows_affected == 0 {
        return Err(ApiError::not_found(format!("product {id}")));
    }
    tracing::info!(id, "product deleted");
    Ok(StatusCode::NO_CONTENT)
}
