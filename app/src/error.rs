use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// The one error type of the UI's API. It crosses the wire as JSON, so the
/// browser can show a message that names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// 400: the request itself is wrong; `field` names the part at fault.
    #[error("{field}: {message}")]
    BadRequest { field: String, message: String },
    /// 401: no valid session; the page sends the viewer to sign in.
    #[error("your session has ended; sign in again")]
    Unauthenticated,
    /// 403: signed in, but not allowed to see this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such org, or the viewer is not a member (the same answer, so
    /// org names cannot be probed).
    #[error("{0}")]
    NotFound(String),
    /// 503: the store could not answer; retrying may help. Details are logged
    /// on the server, never sent.
    #[error("the audit store is unavailable right now; try again in a moment")]
    Unavailable,
    /// 429: too much of this kind of work is running for this viewer or org;
    /// sent with `Retry-After: retry_after` seconds.
    #[error("{message}")]
    Busy { message: String, retry_after: u32 },
    /// 503: the read ran past its time limit and was stopped; a narrower
    /// filter (dates, a type, a person) makes it cheaper.
    #[error("{0}")]
    TooSlow(String),
    /// The request never got a proper answer (network, decoding).
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn bad_request(field: &str, message: impl Into<String>) -> AppError {
        AppError::BadRequest { field: field.to_string(), message: message.into() }
    }

    /// The HTTP status this error is sent with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest { .. } => 400,
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Unavailable | AppError::TooSlow(_) => 503,
            AppError::Busy { .. } => 429,
            AppError::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Arguments the server could not decode are the caller's fault.
            ServerFnErrorErr::Args(msg) | ServerFnErrorErr::MissingArg(msg) => caller_fault(msg),
            // On the server, what fails to deserialize is the request (a
            // body that is not UTF-8, say): the caller's fault too.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(msg) => caller_fault(msg),
            other => AppError::Transport(other.to_string()),
        }
    }
}

/// A 400 for a request the server function could not decode. Decoding runs
/// before the function's body, which is where statuses are set otherwise:
/// without this it would be a 500.
fn caller_fault(msg: String) -> AppError {
    #[cfg(feature = "ssr")]
    if let Some(res) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::BAD_REQUEST);
    }
    AppError::bad_request("arguments", msg)
}
