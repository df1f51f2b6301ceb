//! Replace users.first_name and last_name with full_name.
//!
//! A data migration in three steps: add the nullable `full_name` column, fill it
//! with "first last" (each part trimmed, an empty part left out, NULL when both
//! are empty), then drop `first_name` and `last_name`. `down` re-adds the two
//! columns, splits `full_name` at its first space (first name before it, the
//! rest as last name) and drops `full_name`.
//!
//! The rows are read and written back in batches of `BATCH` (500) through the
//! migration's own connection, with sea-query statements only, so the same code
//! runs on SQLite, PostgreSQL and MySQL/MariaDB (no `||` versus `CONCAT`, no
//! `SUBSTR`/`INSTR` versus `SPLIT_PART`). Each batch is a single
//! `UPDATE users SET col = CASE WHEN id = … THEN … END WHERE id IN (…)`.
//!
//! Every ALTER is a statement of its own: SQLite accepts one alteration per
//! `ALTER TABLE`. None of the dropped columns is indexed, unique or a key, so
//! SQLite's `DROP COLUMN` accepts them.
//!
//! The round trip is exact for names of the form "First Last" with a one-word
//! first name; otherwise `down` puts everything after the first space into
//! `last_name`.

use sea_orm_migration::{prelude::*, schema::*};

/// The revisions this one applies on top of (Alembic's `down_revision`); empty for a base.
pub const PARENTS: &[&str] = &["m20250607_090000_merge_heads"];

/// This revision.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// Rows read and written back per round trip.
const BATCH: u64 = 500;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(string_len_null(Users::FullName, 200))
                    .to_owned(),
            )
            .await?;

        let conn = manager.get_connection();
        let mut after = None;
        loop {
            let rows = read_batch(conn, &[Users::FirstName, Users::LastName], after).await?;
            let Some(&(last_id, _)) = rows.last() else {
                break;
            };
            let updates: Vec<(i32, Vec<Option<String>>)> = rows
                .into_iter()
                .map(|(id, names)| (id, vec![join_name(&names[0], &names[1])]))
                .collect();
            write_batch(conn, &[Users::FullName], &updates).await?;
            after = Some(last_id);
        }

        for column in [Users::FirstName, Users::LastName] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Users::FirstName, Users::LastName] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(string_len_null(column, 100))
                        .to_owned(),
                )
                .await?;
        }

        let conn = manager.get_connection();
        let mut after = None;
        loop {
            let rows = read_batch(conn, &[Users::FullName], after).await?;
            let Some(&(last_id, _)) = rows.last() else {
                break;
            };
            let updates: Vec<(i32, Vec<Option<String>>)> = rows
                .into_iter()
                .map(|(id, names)| {
                    let (first, last) = split_name(&names[0]);
                    (id, vec![first, last])
                })
                .collect();
            write_batch(conn, &[Users::FirstName, Users::LastName], &updates).await?;
            after = Some(last_id);
        }

        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::FullName)
                    .to_owned(),
            )
            .await
    }
}

/// "first last", each part trimmed and an empty part left out; `None` if both are empty.
fn join_name(first: &Option<String>, last: &Option<String>) -> Option<String> {
    let parts: Vec<&str> = [first, last]
        .into_iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The inverse of `join_name`: split at the first space.
fn split_name(full: &Option<String>) -> (Option<String>, Option<String>) {
    let Some(full) = full.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return (None, None);
    };
    match full.split_once(' ') {
        Some((first, last)) => (Some(first.to_owned()), Some(last.trim_start().to_owned())),
        None => (Some(full.to_owned()), None),
    }
}

/// Up to `BATCH` rows of `users` with `id > after`, in id order: the id and
/// the given (nullable string) columns.
async fn read_batch(
    conn: &SchemaManagerConnection<'_>,
    columns: &[Users],
    after: Option<i32>,
) -> Result<Vec<(i32, Vec<Option<String>>)>, DbErr> {
    let mut select = Query::select();
    select
        .column(Users::Id)
        .columns(columns.iter().copied())
        .from(Users::Table)
        .order_by(Users::Id, Order::Asc)
        .limit(BATCH);
    if let Some(after) = after {
        select.and_where(Expr::col(Users::Id).gt(after));
    }
    let mut rows = Vec::new();
    for row in conn.query_all(&select).await? {
        let id: i32 = row.try_get("", &Users::Id.to_string())?;
        let values = columns
            .iter()
            .map(|column| row.try_get::<Option<String>>("", &column.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        rows.push((id, values));
    }
    Ok(rows)
}

/// One `UPDATE users SET c = CASE WHEN id = … THEN … END, … WHERE id IN (…)`
/// writing `values[i]` into `columns[i]` for each `(id, values)`.
async fn write_batch(
    conn: &SchemaManagerConnection<'_>,
    columns: &[Users],
    rows: &[(i32, Vec<Option<String>>)],
) -> Result<(), DbErr> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut update = Query::update();
    update.table(Users::Table);
    for (i, column) in columns.iter().enumerate() {
        let mut case = CaseStatement::new();
        for (id, values) in rows {
            case = case.case(Expr::col(Users::Id).eq(*id), Expr::val(values[i].clone()));
        }
        update.value(*column, case);
    }
    update.and_where(Expr::col(Users::Id).is_in(rows.iter().map(|(id, _)| *id)));
    conn.execute(&update).await?;
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    FirstName,
    LastName,
    FullName,
}
