//! Errors of batch alter and the data helpers: what went wrong, what state it left, and how to fix it.

use sea_orm::DbErr;

/// Why a batch alter (or a data helper) did not complete.
///
/// Every variant says which table, what happened and what to do. It converts
/// into [`DbErr`] (as [`DbErr::Migration`] with the full message), so `?`
/// works in a migration's `up`/`down`.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Refused before touching anything: the batch is invalid, or the data
    /// would not survive it (found by a pre-check query).
    #[error("batch alter of `{table}` refused: {problem}\n  nothing was changed; fix: {fix}")]
    Refused {
        /// The table.
        table: String,
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: String,
    },

    /// [`BatchAlter::reverse`](super::BatchAlter::reverse) met an operation
    /// that does not record what it undoes.
    #[error("batch alter of `{table}` cannot be reversed: {reason}\n  fix: {fix}")]
    NotReversible {
        /// The table.
        table: String,
        /// Which operation, and what it lacks.
        reason: String,
        /// How to make it reversible.
        fix: String,
    },

    /// A statement failed while applying the batch.
    #[error("batch alter of `{table}` failed while {step}: {source}\n  {state}")]
    Failed {
        /// The table.
        table: String,
        /// What was being done.
        step: String,
        /// The database error.
        source: Box<DbErr>,
        /// What the failure left behind.
        state: String,
    },
}

impl BatchError {
    /// A refusal.
    pub(crate) fn refused(table: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        BatchError::Refused {
            table: table.to_owned(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// Wraps a database error with the step and the state it leaves.
    pub(crate) fn failed(
        table: &str,
        step: impl Into<String>,
        state: impl Into<String>,
    ) -> impl FnOnce(DbErr) -> BatchError {
        let (table, step, state) = (table.to_owned(), step.into(), state.into());
        move |source| BatchError::Failed {
            table,
            step,
            source: Box::new(source),
            state,
        }
    }
}

impl From<BatchError> for DbErr {
    fn from(e: BatchError) -> Self {
        DbErr::Migration(e.to_string())
    }
}
