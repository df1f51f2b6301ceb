//! Failed revisions as data, on every backend: the direction is a column of the
//! tracking table (an old table gains it once, idempotently), rows written with
//! the old `while reverting: ` prefix still read, and a failure's cause is a
//! typed [`MigrationError`] behind `Error::source`.

use migration_core::data::has_column;
use migration_core::history::{DIRECTION_COLUMN, History, STATUS_FAILED};
use migration_core::prelude::*;
use migration_core::revision::DEFAULT_HISTORY_TABLE;
use migration_core::testing::{ALL, TestDb};
use migration_core::{
    Direction, Error, MigrationError, Migrator, Revision, Runner, RunnerOptions, Target,
};
use sea_orm::{ConnectionTrait, Database};
use sea_orm_migration::MigrationName;

/// A migration whose `up` and `down` do what its name says.
struct Step(&'static str);

impl MigrationName for Step {
    fn name(&self) -> &str {
        self.0
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Step {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match self.0 {
            "up_fails" => Err(DbErr::Migration("up said no".into())),
            "up_panics" => panic!("up blew up"),
            _ => manager
                .get_connection()
                .execute_unprepared("SELECT 1")
                .await
                .map(|_| ()),
        }
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        match self.0 {
            "down_fails" => Err(DbErr::Migration("down said no".into())),
            _ => Ok(()),
        }
    }

    // Without a transaction, a failure is recorded on every backend (as DDL
    // on MySQL always is), which is what these tests read back.
    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }
}

/// A linear history of the steps, ids `r0_<step>`, `r1_<step>`, ...
fn migrator(steps: &[&'static str]) -> Migrator {
    let ids: Vec<String> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("r{i}_{s}"))
        .collect();
    let revisions = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let parents: Vec<&str> = if i == 0 { vec![] } else { vec![&ids[i - 1]] };
            Revision::new(&ids[i], &parents, s, "sum", "", Box::new(Step(s)))
        })
        .collect();
    Migrator::new(revisions).unwrap()
}

fn options() -> RunnerOptions {
    RunnerOptions {
        connect_attempts: 1,
        ..RunnerOptions::default()
    }
}

/// The tracking table as versions before the `direction` column created it,
/// with an applied row and a row that failed while reverting.
async fn old_layout(db: &impl ConnectionTrait) {
    let create = Table::create()
        .table(DEFAULT_HISTORY_TABLE)
        .col(
            ColumnDef::new("revision")
                .string_len(255)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new("applied_at").string_len(40).not_null())
        .col(ColumnDef::new("execution_ms").big_integer().not_null())
        .col(ColumnDef::new("checksum").string_len(64).null())
        .col(
            ColumnDef::new("status")
                .string_len(16)
                .not_null()
                .default("applied"),
        )
        .col(ColumnDef::new("error").text().null())
        .to_owned();
    db.execute(&create).await.unwrap();
    let insert = Query::insert()
        .into_table(DEFAULT_HISTORY_TABLE)
        .columns([
            "revision",
            "applied_at",
            "execution_ms",
            "checksum",
            "status",
            "error",
        ])
        .values_panic([
            "r0_ok".into(),
            "2025-01-01T00:00:00.000Z".into(),
            1.into(),
            "sum".into(),
            "applied".into(),
            Option::<String>::None.into(),
        ])
        .values_panic([
            "r1_ok".into(),
            "2025-01-01T00:00:01.000Z".into(),
            1.into(),
            "sum".into(),
            STATUS_FAILED.into(),
            "while reverting: Migration Error: gone wrong".into(),
        ])
        .to_owned();
    db.execute(&insert).await.unwrap();
}

#[tokio::test]
async fn an_old_tracking_table_is_upgraded_once_and_its_prefixed_rows_still_read() {
    for dialect in ALL {
        let Some(test) = TestDb::create(dialect, "failrec_upgrade").await else {
            continue;
        };
        let db = Database::connect(&test.url).await.unwrap();
        old_layout(&db).await;
        let backend = migration_core::backend::of(dialect);
        let history = History::new(DEFAULT_HISTORY_TABLE);

        // `status` reads the old table as it is, without altering it.
        let rows = history.read(&db, backend).await.unwrap();
        let failed = rows.iter().find(|r| r.is_failed()).unwrap();
        assert_eq!(
            failed.failed_direction(),
            Some(Direction::Down),
            "{dialect:?}"
        );
        assert_eq!(failed.failure_cause(), "Migration Error: gone wrong");
        let manager = SchemaManager::new(&db);
        assert!(
            !has_column(&manager, DEFAULT_HISTORY_TABLE, DIRECTION_COLUMN)
                .await
                .unwrap()
        );

        // `up` upgrades the table under the lock, then refuses on the failed
        // row, telling which way it failed.
        let m = migrator(&["ok", "ok"]);
        let runner = Runner::with_connection(&m, db.clone(), &test.url, options()).unwrap();
        let e = runner.upgrade(&Target::Heads).await.unwrap_err();
        match &e {
            Error::FailedRevision {
                revision,
                direction,
                error,
                ..
            } => {
                assert_eq!(
                    (revision.as_str(), *direction, error.as_str()),
                    ("r1_ok", Direction::Down, "Migration Error: gone wrong")
                );
            }
            other => panic!("{dialect:?}: expected FailedRevision, got {other}"),
        }
        let message = e.to_string();
        assert!(
            message.contains("failed on an earlier run (while reverting)")
                && message.contains("may be partly reverted")
                && message.contains("recorded as applied again"),
            "{message}"
        );
        assert!(
            has_column(&manager, DEFAULT_HISTORY_TABLE, DIRECTION_COLUMN)
                .await
                .unwrap(),
            "{dialect:?}: the upgrade added the column"
        );
        // Idempotent: a second and third ensure change nothing and do not fail.
        for _ in 0..2 {
            assert!(
                history
                    .ensure(&db, backend, &|_| true)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        let again = history.read(&db, backend).await.unwrap();
        assert_eq!(
            again, rows,
            "{dialect:?}: the upgrade kept every row as it was"
        );

        // `repair` reads the legacy prefix: a failed `down` is applied again.
        let changes = runner.repair().await.unwrap();
        assert_eq!(changes.restored, vec!["r1_ok".to_string()], "{dialect:?}");
        assert!(changes.removed.is_empty());
        db.close().await.ok();
    }
}

#[tokio::test]
async fn a_failure_records_its_direction_as_a_column_and_its_cause_without_prefix() {
    for dialect in ALL {
        let Some(test) = TestDb::create(dialect, "failrec_down").await else {
            continue;
        };
        let db = Database::connect(&test.url).await.unwrap();
        let m = migrator(&["ok", "down_fails"]);
        let runner = Runner::with_connection(&m, db.clone(), &test.url, options()).unwrap();
        runner.upgrade(&Target::Heads).await.unwrap();
        let e = runner.downgrade(&Target::Base).await.unwrap_err();
        let Error::MigrationFailed {
            revision,
            direction,
            source,
            state,
        } = &e
        else {
            panic!("{dialect:?}: expected MigrationFailed, got {e}");
        };
        assert_eq!(
            (revision.as_str(), *direction),
            ("r1_down_fails", Direction::Down)
        );
        assert!(
            matches!(source, MigrationError::Step(DbErr::Migration(m)) if m == "down said no"),
            "{source:?}"
        );
        assert!(state.contains("may be partly reverted"), "{state}");
        assert!(
            e.to_string().starts_with(
                "revision `r1_down_fails` failed while reverting: Migration Error: down said no"
            ),
            "{e}"
        );

        let select = Query::select()
            .columns(["status", "error", DIRECTION_COLUMN])
            .from(DEFAULT_HISTORY_TABLE)
            .and_where(Expr::col("revision").eq("r1_down_fails"))
            .to_owned();
        let row = db.query_one(&select).await.unwrap().unwrap();
        let (status, error, dir): (String, String, String) = (
            row.try_get("", "status").unwrap(),
            row.try_get("", "error").unwrap(),
            row.try_get("", DIRECTION_COLUMN).unwrap(),
        );
        assert_eq!(
            (status.as_str(), error.as_str(), dir.as_str()),
            (STATUS_FAILED, "Migration Error: down said no", "down"),
            "{dialect:?}"
        );

        // The next run refuses with the direction; `repair` puts it back to applied.
        let refused = runner.downgrade(&Target::Base).await.unwrap_err();
        assert!(
            matches!(
                &refused,
                Error::FailedRevision {
                    direction: Direction::Down,
                    ..
                }
            ),
            "{refused}"
        );
        let changes = runner.repair().await.unwrap();
        assert_eq!(changes.restored, vec!["r1_down_fails".to_string()]);
        let state = runner.state().await.unwrap();
        assert!(state.failed.is_empty() && state.applied.contains("r1_down_fails"));
        db.close().await.ok();
    }
}

#[tokio::test]
async fn a_failure_s_cause_is_typed_and_is_the_error_s_source() {
    let Some(test) = TestDb::create(migration_core::url::Dialect::Sqlite, "failrec_src").await
    else {
        return;
    };
    for (step, expect_panic) in [("up_fails", false), ("up_panics", true)] {
        let m = migrator(&[step]);
        let runner = Runner::connect(&m, &test.url, options()).await.unwrap();
        let e = runner.upgrade(&Target::Heads).await.unwrap_err();
        let source = std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<MigrationError>())
            .unwrap_or_else(|| panic!("{step}: the source is a MigrationError: {e:?}"));
        match (source, expect_panic) {
            (MigrationError::Panicked(message), true) => assert_eq!(message, "up blew up"),
            (MigrationError::Step(DbErr::Migration(message)), false) => {
                assert_eq!(message, "up said no")
            }
            (other, _) => panic!("{step}: unexpected cause {other:?}"),
        }
        let text = e.to_string();
        let shown = if expect_panic {
            "failed while applying: the migration panicked: up blew up"
        } else {
            "failed while applying: Migration Error: up said no"
        };
        assert!(text.contains(shown), "{text}");
        // Recorded (no transaction), then forgotten so the next step starts clean.
        assert_eq!(runner.repair().await.unwrap().removed.len(), 1);
    }
}
