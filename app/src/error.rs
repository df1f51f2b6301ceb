//! Errors: HTTP errors as JSON `{"error": ...}` (never SQL or credentials), and start-up errors.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sea_orm::{DbErr, SqlErr};
use serde_json::json;

/// An error answered to an HTTP client as `{"error": "..."}` with a matching status.
///
/// Messages are written for the client; database details are logged, not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: the request cannot be parsed (bad JSON syntax, bad path or query).
    BadRequest(String),
    /// 413: the body is larger than the service accepts.
    PayloadTooLarge(String),
    /// 415: the body is not `application/json`.
    UnsupportedMediaType(String),
    /// 422: the request parses but its values are not acceptable.
    Invalid(String),
    /// 404: no such resource.
    NotFound(String),
    /// 405: the path exists, the method does not.
    MethodNotAllowed,
    /// 409: conflicts with existing data (a unique value taken, a row still referenced).
    Conflict(String),
    /// 503: the database cannot be reached.
    Unavailable,
    /// 500: anything else; the details are in the log.
    Internal,
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        match self {
            Self::BadRequest(m)
            | Self::PayloadTooLarge(m)
            | Self::UnsupportedMediaType(m)
            | Self::Invalid(m)
            | Self::NotFound(m)
            | Self::Conflict(m) => m,
            Self::MethodNotAllowed => "method not allowed",
            Self::Unavailable => "the database is unavailable; try again later",
            Self::Internal => "internal error",
        }
    }

    /// A 404 for `what` (e.g. "user 7").
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    /// A 422 with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// Maps a database error to a client error without revealing it:
    /// a unique violation becomes 409 `unique`, a foreign-key violation 409
    /// `foreign_key`, a lost connection 503, anything else 500. The details
    /// are logged.
    pub fn db(err: DbErr, unique: &str, foreign_key: &str) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => {
                tracing::debug!(%detail, "unique violation");
                Self::Conflict(unique.to_string())
            }
            Some(SqlErr::ForeignKeyConstraintViolation(detail)) => {
                tracing::debug!(%detail, "foreign key violation");
                Self::Conflict(foreign_key.to_string())
            }
            // SQLite reports `ON DELETE RESTRICT` as SQLITE_CONSTRAINT_TRIGGER
            // (1811), which `sql_err` does not classify; its message is fixed.
            _ if err.to_string().contains("FOREIGN KEY constraint failed") => {
                tracing::debug!(error = %err, "foreign key violation");
                Self::Conflict(foreign_key.to_string())
            }
            _ => Self::from(err),
        }
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        match err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => {
                tracing::warn!(error = %err, "database unavailable");
                Self::Unavailable
            }
            _ => {
                tracing::error!(error = %err, "database error");
                Self::Internal
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({ "error": self.message() }))).into_response()
    }
}

/// Why the service could not start (or stopped serving).
#[derive(Debug)]
pub enum StartError {
    /// A configuration variable has an unusable value.
    Config(String),
    /// Building the migrator, connecting, or the start-up migration policy failed.
    Migrations(migration_core::Error),
    /// The listening address could not be bound.
    Bind {
        /// The address from `APP_ADDR`.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server failed while serving.
    Serve(std::io::Error),
}

impl StartError {
    /// The process exit code: 2 for configuration errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => 2,
            _ => 1,
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(m) => write!(f, "invalid configuration: {m}"),
            Self::Migrations(e) => write!(f, "{e}"),
            Self::Bind { addr, source } => write!(
                f,
                "cannot listen on {addr}: {source}\n  set APP_ADDR to a free host:port"
            ),
            Self::Serve(e) => write!(f, "the server failed: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Migrations(e) => Some(e),
            Self::Bind { source, .. } | Self::Serve(source) => Some(source),
            Self::Config(_) => None,
        }
    }
}

impl From<migration_core::Error> for StartError {
    fn from(e: migration_core::Error) -> Self {
        Self::Migrations(e)
    }
}
