//! Plain HTTP routes beside the Leptos pages and server functions: the
//! ingestion API (`/api/v1/…`), the live tail's event stream and the avatar
//! images.

pub mod auth;
pub mod error;
pub mod events;
pub mod export;
pub mod live;
pub mod openapi;
mod validate;
mod verify;
pub mod viewer_tokens;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use sqlx::PgPool;

pub use error::{ApiError, ErrorBody, ErrorDetail, FieldError};
pub use events::Accepted;
pub use live::LiveContext;

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiContext {
    /// The app pool: connections acting as `audit_app`, which may add
    /// events and read keys but never change or remove an event.
    pub pool: PgPool,
    pub limits: Limits,
    /// Signs viewer tokens; without it, minting answers 500.
    pub token_signer: Option<std::sync::Arc<crate::chain::ChainSigner>>,
    /// The keys whose checkpoints `POST /api/v1/verify` trusts; none: no
    /// checkpoint counts.
    pub trusted_keys: crate::chain::TrustedKeys,
}

impl ApiContext {
    pub fn new(pool: PgPool) -> ApiContext {
        ApiContext { pool, limits: Limits::default(), token_signer: None, trusted_keys: Default::default() }
    }

    pub fn with_token_signer(mut self, signer: std::sync::Arc<crate::chain::ChainSigner>) -> ApiContext {
        self.token_signer = Some(signer);
        self
    }

    pub fn with_trusted_keys(mut self, keys: crate::chain::TrustedKeys) -> ApiContext {
        self.trusted_keys = keys;
        self
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
        .route("/api/v1/events/export", get(export::api_export))
        .route("/o/{org}/export.csv", get(export::ui_export_csv))
        .route("/o/{org}/export.ndjson", get(export::ui_export_ndjson))
        .route("/api/v1/verify", post(verify::verify))
        .route("/api/v1/viewer-tokens", post(viewer_tokens::mint_token))
        .route("/api/v1/openapi.json", get(openapi::document))
        .with_state(api);
    Router::new().route("/avatars/{file}", get(avatar)).merge(api_routes)
}

/// The live tail's server-sent events, `/api/ui/live/{org}`, for signed-in
/// viewers (beside the UI's server functions, not the key-authenticated API).
pub fn live_routes<S: Clone + Send + Sync + 'static>(live: LiveContext) -> Router<S> {
    Router::new().route("/api/ui/live/{org}", get(live::stream)).with_state(live)
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

/// Clickjacking protection: no page of the product may be framed by another
/// site, except the embeddable timeline, which exists to be framed (it is
/// read-only and shows only what its token allows).
pub async fn frame_policy(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let embeddable = request.uri().path() == "/embed";
    let mut response = next.run(request).await;
    if !embeddable {
        let headers = response.headers_mut();
        headers.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(header::HeaderValue::from_static("frame-ancestors 'none'"));
    }
    response
}
