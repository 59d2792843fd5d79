//! Plain HTTP routes beside the Leptos pages and server functions: the
//! ingestion API (`/api/v1/…`) and the avatar images.

pub mod auth;
pub mod error;
pub mod events;
pub mod openapi;
mod validate;
mod verify;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sqlx::PgPool;

pub use error::{ApiError, ErrorBody, ErrorDetail, FieldError};
pub use events::Accepted;

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiContext {
    /// The app pool: connections acting as `audit_app`, which may add
    /// events and read keys but never change or remove an event.
    pub pool: PgPool,
    pub limits: Limits,
}

impl ApiContext {
    pub fn new(pool: PgPool) -> ApiContext {
        ApiContext { pool, limits: Limits::default() }
    }
}

/// Bounds on one request.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest body taken, in bytes. 5 MiB: a full batch of 1,000 events
    /// with modest diffs and metadata is 1-3 MiB; 1 MiB would turn away
    /// legitimate batches, while anything bigger mostly means a sender is
    /// shipping blobs that redaction would discard anyway.
    pub max_body_bytes: usize,
    /// Most events in one request. A batch is one transaction and one
    /// INSERT; past a thousand, lock and memory time grow with no gain in
    /// throughput.
    pub max_events: usize,
    /// How far ahead of the server's clock `occurred_at` may be: enough for
    /// skewed clocks and time zones gone wrong by a day, not for a
    /// milliseconds-as-seconds timestamp thousands of years out, which would
    /// sit at the top of the timeline forever.
    pub max_future: chrono::TimeDelta,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_body_bytes: 5 * 1024 * 1024, max_events: 1000, max_future: chrono::TimeDelta::hours(24) }
    }
}

/// Routes the product serves outside Leptos. Generic over the router's state
/// so the binary can merge them into its Leptos router; the API routes carry
/// their own state, `api`.
pub fn routes<S: Clone + Send + Sync + 'static>(api: ApiContext) -> Router<S> {
    let api_routes = Router::new()
        .route("/api/v1/events", post(events::ingest).fallback(events::method_not_allowed))
        .route("/api/v1/verify", post(verify::verify))
        .route("/api/v1/openapi.json", get(openapi::document))
        .with_state(api);
    Router::new().route("/avatars/{file}", get(avatar)).merge(api_routes)
}

/// Locally generated identicons, so demo data needs no external image host.
async fn avatar(Path(file): Path<String>) -> Response {
    let Some(key) = file.strip_suffix(".svg").filter(|k| !k.is_empty() && k.len() <= 128) else {
        return (StatusCode::NOT_FOUND, "avatars are served as /avatars/<key>.svg").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400, immutable"),
        ],
        crate::avatar::identicon_svg(key),
    )
        .into_response()
}
