//! Create printers and products.
//!
//! `printers.team_id` references `teams` with ON DELETE SET NULL: a team's
//! printers outlive it. `products` carries the decimal, text and bigint columns.

use sea_orm_migration::{prelude::*, schema::*};

/// The revisions this one applies on top of (Alembic's `down_revision`); empty for a base.
pub const PARENTS: &[&str] = &["m20250601_090000_create_users_and_teams"];

/// This revision.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Printers::Table)
                    .col(pk_auto(Printers::Id))
                    .col(string_len(Printers::Name, 100))
                    .col(string(Printers::Manufacturer))
                    .col(text_null(Printers::Notes))
                    .col(uuid_null(Printers::TeamId))
                    .col(boolean(Printers::IsOnline).default(false))
                    .col(big_integer(Printers::TotalPrintSeconds).default(0))
                    .col(
                        timestamp_with_time_zone(Printers::CreatedAt)
                            .default(Expr::current_timestamp()),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk-printers-team_id")
                            .from(Printers::Table, Printers::TeamId)
                            .to(Teams::Table, Teams::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx-printers-team_id")
                    .table(Printers::Table)
                    .col(Printers::TeamId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(pk_auto(Products::Id))
                    .col(string_len_uniq(Products::Sku, 64))
                    .col(string(Products::Name))
                    .col(text_null(Products::Description))
                    .col(decimal_len(Products::Price, 10, 2))
                    .col(decimal_len_null(Products::FilamentGrams, 10, 3))
                    .col(integer(Products::StockQuantity).default(0))
                    .col(big_integer(Products::PrintTimeSeconds))
                    .col(
                        timestamp_with_time_zone(Products::CreatedAt)
                            .default(Expr::current_timestamp()),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(
                Index::create()
                    .name("idx-products-name")
                    .table(Products::Table)
                    .col(Products::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Products::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Printers::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Teams {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Printers {
    Table,
    Id,
    Name,
    Manufacturer,
    Notes,
    TeamId,
    IsOnline,
    TotalPrintSeconds,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Sku,
    Name,
    Description,
    Price,
    FilamentGrams,
    StockQuantity,
    PrintTimeSeconds,
    CreatedAt,
}
