//! `ApiError`, the one error type of the HTTP layer, and its one mapping to RFC 9457 problem+json.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

tokio::task_local! {
    /// The id of the request being handled (set by `http::request_id`), quoted in 500 answers.
    pub static REQUEST_ID: String;
}

/// The id of the request being handled, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

const PROBLEM_BASE: &str = "https://anzu.example/problems/";

/// What a 503 asks the client to wait: the waits that cause it (a database turn, a password hash) are 5 s.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// The one sentence a 503 answers when the database cannot serve: never a host name or driver text.
pub const DATABASE_UNAVAILABLE: &str = "The database cannot be reached for now; try again shortly.";

/// One bad field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field's path in the request, as `tenant.id_number`.
    pub field: String,
    /// A stable machine-readable code such as `required`, `length`, `checksum`.
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document, as every error answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    /// A query string whose parameters do not parse, each named.
    #[error("malformed query")]
    MalformedQuery(Vec<FieldError>),
    #[error("authentication required: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Forbidden because the caller's membership does not allow it (`membership-inactive`).
    #[error("membership inactive: {0}")]
    MembershipInactive(String),
    #[error("not found")]
    NotFound,
    /// The path exists, but not with this method; `allow` lists those it has.
    #[error("method not allowed")]
    MethodNotAllowed { allow: String },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("payload too large")]
    PayloadTooLarge,
    /// The body did not arrive within the time allowed.
    #[error("request timeout")]
    RequestTimeout,
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The database's storage is full: nothing can be written until space is freed (503 `storage-full`).
    #[error("storage full")]
    StorageFull,
    #[error("internal error: {0:#}")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A validation error about a single field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    /// The error for a command-line caller: an internal error keeps its whole chain of causes (its display
    /// here has the causes in one line, for logs).
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            ApiError::Internal(cause) => cause.context("internal error"),
            other => anyhow::Error::new(other),
        }
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) | ApiError::MalformedQuery(_) => ("bad-request", "Malformed request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::MembershipInactive(_) => ("membership-inactive", "Membership not active"),
            ApiError::NotFound => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict(_) => ("conflict", "Conflict with the current state"),
            ApiError::PreconditionFailed(_) => ("precondition-failed", "Version does not match"),
            ApiError::PayloadTooLarge => ("payload-too-large", "Request body too large"),
            ApiError::RequestTimeout => ("request-timeout", "Request body too slow"),
            ApiError::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            ApiError::Validation(_) => ("validation", "Invalid request"),
            ApiError::RateLimited { .. } => ("rate-limited", "Too many requests"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::StorageFull => ("storage-full", "Storage full"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::BadRequest(d)
            | ApiError::Unauthorized(d)
            | ApiError::Forbidden(d)
            | ApiError::MembershipInactive(d)
            | ApiError::Conflict(d)
            | ApiError::PreconditionFailed(d)
            | ApiError::UnsupportedMediaType(d)
            | ApiError::Unavailable(d) => d.clone(),
            ApiError::NotFound => "The resource does not exist.".into(),
            ApiError::MethodNotAllowed { allow } => format!("This address answers {allow}."),
            ApiError::PayloadTooLarge => "The request body is larger than allowed.".into(),
            ApiError::RequestTimeout => "The request body did not arrive in time; send it again.".into(),
            ApiError::StorageFull => {
                "The service cannot store anything new for now; reading still works. Try again later.".into()
            }
            ApiError::Validation(errors) | ApiError::MalformedQuery(errors) => {
                let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                format!("Invalid fields: {}.", fields.join(", "))
            }
            ApiError::RateLimited { retry_after_secs } => {
                format!("Too many attempts; try again in {retry_after_secs} seconds.")
            }
            ApiError::Internal(_) => "Something went wrong on our side; quote the request id when reporting it.".into(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::MalformedQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::MembershipInactive(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::StorageFull => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let request_id = current_request_id();
        if let ApiError::Internal(cause) = self {
            // The cause goes to the log only; the client sees the request id to quote.
            tracing::error!(request_id = request_id.as_deref().unwrap_or("-"), error = %format!("{cause:#}"), "internal error");
        }
        let (slug, title) = self.slug_and_title();
        let problem = Problem {
            problem_type: format!("{PROBLEM_BASE}{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match self {
                ApiError::Validation(errors) | ApiError::MalformedQuery(errors) => Some(errors.clone()),
                _ => None,
            },
            request_id,
        };
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if let ApiError::RateLimited { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)));
        }
        if let ApiError::Unavailable(_) | ApiError::StorageFull = self {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS)));
        }
        if let ApiError::MethodNotAllowed { allow } = self
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.insert_header((header::ALLOW, value));
        }
        if let ApiError::Unauthorized(_) = self {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(problem)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => ApiError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                ApiError::Conflict("A record with the same unique value already exists.".into())
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
                ApiError::Unavailable(DATABASE_UNAVAILABLE.into())
            }
            Error::DatabaseError(_, ref info) if is_storage_full(info.message()) => {
                tracing::warn!(cause = info.message(), "the database's storage is full");
                ApiError::StorageFull
            }
            Error::RollbackErrorOnCommit { commit_error, .. } => ApiError::from(*commit_error),
            other => ApiError::Internal(other.into()),
        }
    }
}

/// A write that may meet a unique index, answered in the words of what it duplicates.
pub trait ConflictOnDuplicate<T> {
    /// A unique violation is 409 with `message`; any other failure maps as every database error does.
    fn conflict_on_duplicate(self, message: impl FnOnce() -> String) -> Result<T, ApiError>;
}

impl<T> ConflictOnDuplicate<T> for diesel::QueryResult<T> {
    fn conflict_on_duplicate(self, message: impl FnOnce() -> String) -> Result<T, ApiError> {
        use diesel::result::{DatabaseErrorKind, Error};
        self.map_err(|err| match err {
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => ApiError::Conflict(message()),
            other => ApiError::from(other),
        })
    }
}

/// Whether a database error says its storage is full. Neither driver gives this a kind of its own, so the text
/// is read: SQLite's `SQLITE_FULL` ("database or disk is full", which it also answers for `ENOSPC`) and
/// PostgreSQL's failed file extensions and writes (`ENOSPC`, "No space left on device").
fn is_storage_full(message: &str) -> bool {
    message.contains("database or disk is full") || message.contains("No space left on device")
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        // The pool's error holds the driver's text (host names among it): the log gets it, the client not.
        tracing::warn!(error = %err, "no database connection");
        ApiError::Unavailable(DATABASE_UNAVAILABLE.into())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(anyhow::anyhow!("blocking task failed: {err}"))
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        ApiError::Validation(field_errors(&errors))
    }
}

/// Every broken rule, one entry per field (`tenant.id_number`, `results[2].note`), sorted by field.
pub fn field_errors(errors: &validator::ValidationErrors) -> Vec<FieldError> {
    let mut fields = Vec::new();
    collect_validation_errors(errors, "", &mut fields);
    fields.sort_by(|a, b| a.field.cmp(&b.field));
    fields
}

fn collect_validation_errors(errors: &validator::ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| format!("{path} is invalid ({})", e.code));
                    out.push(FieldError::new(&path, e.code.as_ref(), message));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect_validation_errors(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect_validation_errors(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}
