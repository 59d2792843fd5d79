//! The one error type of the API handlers, and the JSON every error answers
//! with:
//!
//! ```json
//! {"error": {"code": "invalid_request",
//!            "message": "events[3].actor.id: required",
//!            "field": "events[3].actor.id",
//!            "errors": [{"field": "events[3].actor.id", "message": "events[3].actor.id: required"}]}}
//! ```
//!
//! `message` is always there and readable on its own; `field` names what to
//! fix when one thing is at fault; `errors` lists every problem found
//! (validation and conflicts), `message` being the first. Internal details
//! (SQL errors, connection failures) are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `malformed_json`, `invalid_header`,
    /// `invalid_query`, `unauthorized`, `method_not_allowed`, `conflict`, `payload_too_large`,
    /// `unsupported_media_type`, `invalid_request`, `unavailable`, `internal`.
    pub code: String,
    /// For people; with a field path first when a field is at fault.
    #[schema(example = "events[3].actor.id: required")]
    pub message: String,
    /// Path of the field at fault, e.g. `events[3].actor.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "events[3].actor.id")]
    pub field: Option<String>,
    /// Every problem found (at most 50), the first being `message`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// e.g. `events[0].occurred_at`; `body` for the request as a whole.
    pub field: String,
    /// e.g. `events[0].occurred_at: not an RFC 3339 timestamp`.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, problem: impl std::fmt::Display) -> FieldError {
        let field = field.into();
        FieldError { message: format!("{field}: {problem}"), field }
    }
}

#[derive(Debug)]
pub enum ApiError {
    /// 400 Bad Request: the body is not well-formed JSON (or not UTF-8). The
    /// message carries the parser's line and column, so the sender can find
    /// the spot.
    MalformedJson(String),
    /// 400 Bad Request: a request header is unusable, e.g. an
    /// `Idempotency-Key` that is empty, too long or not visible ASCII.
    InvalidHeader(FieldError),
    /// 400 Bad Request: a query parameter is unknown, repeated or unusable
    /// (the export's strict parameters). Lists every problem found, each
    /// naming its parameter, so a typo never silently widens what is read.
    InvalidQuery(Vec<FieldError>),
    /// 401 Unauthorized with `WWW-Authenticate: Bearer`: no API key, or one
    /// that is malformed, unknown or revoked. Never says which, so the answer
    /// does not tell a prober whether a key ever existed.
    Unauthorized,
    /// 405 Method Not Allowed with `Allow`: the path exists, the method does
    /// not (say, GET on the events endpoint). JSON like every other error,
    /// where axum's default is an empty body.
    MethodNotAllowed { allow: &'static str },
    /// 409 Conflict: a valid request that contradicts what is stored: an
    /// `external_id` already stored, or an `Idempotency-Key` reused with a
    /// different body. Sending the same request again gets the same answer;
    /// nothing was written.
    Conflict(Vec<FieldError>),
    /// 413 Payload Too Large: the body is over the configured limit. Checked
    /// on Content-Length before reading and again while reading, so an
    /// oversize body is never buffered whole.
    PayloadTooLarge { limit: usize },
    /// 413 Payload Too Large: an event over the per-event byte limit, each
    /// named by its path (with any other problems found); nothing stored.
    TooLarge(Vec<FieldError>),
    /// 415 Unsupported Media Type: the body is not declared as JSON, or is
    /// compressed. Refused before parsing, so a form post or a gzip body gets
    /// this clear answer rather than a confusing parse error.
    UnsupportedMediaType(String),
    /// 422 Unprocessable Content: well-formed JSON that is not a valid
    /// request. Lists every problem found (up to 50), each naming its field
    /// path; nothing of the request was written.
    Invalid(Vec<FieldError>),
    /// 503 Service Unavailable with `Retry-After`: the database cannot be
    /// reached or every connection stayed busy. Not the sender's fault, and
    /// the same request will work later, so it must not look like a 4xx
    /// (don't fix) or a 500 (bug).
    Unavailable(sqlx::Error),
    /// 503 Service Unavailable without `Retry-After`: the commit of a
    /// request was sent but never confirmed, and the store could not be
    /// asked afterwards whether it took. The events may be stored: only a
    /// retry with the same `Idempotency-Key` (or `external_id`s) is safe.
    OutcomeUnknown(sqlx::Error),
    /// 429 Too Many Requests with `Retry-After`: the caller, its org or the
    /// server already runs its share of this kind of work (exports,
    /// verifications; see `app::api::Admission`). Nothing was done.
    Busy(app::api::Busy),
    /// 500 Internal Server Error: a bug or an unexpected database failure.
    /// Logged in full; the response says only that it happened.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::InvalidHeader(_) | ApiError::InvalidQuery(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } | ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) | ApiError::OutcomeUnknown(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// One invalid field.
    pub fn invalid(field: impl Into<String>, problem: impl std::fmt::Display) -> ApiError {
        ApiError::Invalid(vec![FieldError::new(field, problem)])
    }

    pub fn conflict(field: impl Into<String>, problem: impl std::fmt::Display) -> ApiError {
        ApiError::Conflict(vec![FieldError::new(field, problem)])
    }

    fn detail(&self) -> ErrorDetail {
        let simple = |code: &str, message: String| ErrorDetail {
            code: code.into(),
            message,
            field: None,
            errors: Vec::new(),
        };
        let listed = |code: &str, errors: &[FieldError]| {
            let first = errors.first().cloned().unwrap_or_else(|| FieldError::new("body", "invalid"));
            ErrorDetail {
                code: code.into(),
                message: first.message,
                field: Some(first.field),
                errors: errors.to_vec(),
            }
        };
        match self {
            ApiError::MalformedJson(message) => simple("malformed_json", message.clone()),
            ApiError::InvalidHeader(e) => {
                ErrorDetail { field: Some(e.field.clone()), ..simple("invalid_header", e.message.clone()) }
            }
            ApiError::Unauthorized => simple(
                "unauthorized",
                "a valid API key is required: send `Authorization: Bearer atl_…`".into(),
            ),
            ApiError::MethodNotAllowed { allow } => {
                simple("method_not_allowed", format!("this endpoint accepts {allow} only"))
            }
            // A query string can name hundreds of bad parameters; the
            // body lists the first 50, as the validator does for bodies.
            ApiError::InvalidQuery(errors) => listed("invalid_query", &errors[..errors.len().min(50)]),
            ApiError::Conflict(errors) => listed("conflict", errors),
            ApiError::PayloadTooLarge { limit } => simple(
                "payload_too_large",
                format!("body: larger than the limit of {limit} bytes; send fewer events per request"),
            ),
            ApiError::TooLarge(errors) => listed("payload_too_large", errors),
            ApiError::UnsupportedMediaType(message) => simple("unsupported_media_type", message.clone()),
            ApiError::Invalid(errors) => listed("invalid_request", errors),
            ApiError::Unavailable(_) => {
                simple("unavailable", "the audit store is unavailable; retry shortly".into())
            }
            ApiError::OutcomeUnknown(_) => simple(
                "outcome_unknown",
                "the store did not confirm the commit: the events may be stored; retry only with the same \
                 Idempotency-Key or external_id values, which store them at most once"
                    .into(),
            ),
            ApiError::Busy(busy) => simple("too_many_requests", busy.message.clone()),
            ApiError::Internal(_) => simple("internal", "internal error; nothing was stored".into()),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> ApiError {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                ApiError::Unavailable(err)
            }
            // The server went away or is restarting (connection exceptions,
            // shutdowns, crash recovery, too many connections): not a bug,
            // and the request can be tried again.
            sqlx::Error::Database(ref db)
                if db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300") =>
            {
                ApiError::Unavailable(err)
            }
            sqlx::Error::Protocol(_) => ApiError::Unavailable(err),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(err) => tracing::error!(error = %err, "API request failed"),
            ApiError::Unavailable(err) => tracing::warn!(error = %err, "audit store unavailable"),
            ApiError::OutcomeUnknown(err) => tracing::error!(error = %err, "commit not confirmed"),
            other => tracing::debug!(status = status.as_u16(), error = ?other, "API request refused"),
        }
        let mut response = (status, axum::Json(ErrorBody { error: self.detail() })).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"audit-timeline\""),
                );
            }
            ApiError::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            ApiError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Busy(busy) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(busy.retry_after));
            }
            _ => {}
        }
        response
    }
}
