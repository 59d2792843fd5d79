//! Plain HTTP routes beside the Leptos pages and server functions: the
//! ingestion API (`/api/v1/…`), the live tail's event stream and the avatar
//! images.

pub mod auth;
pub mod error;
pub mod events;
pub mod export;
pub mod live;
pub mod openapi;
pub mod render_pool;
mod serve;
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
pub use serve::serve;

/// What the API handlers share.
#[derive(Clone)]
pub struct ApiContext {
    /// The app pool: connections acting as `audit_app`, which may add
    /// events and read keys but never change or remove an event.
    pub pool: PgPool,
    /// Exports and verifications read through their own pool, so a long
    /// export never holds a connection ingestion is waiting for.
    pub reads: PgPool,
    pub limits: Limits,
    /// Signs viewer tokens; without it, minting answers 500.
    pub token_signer: Option<std::sync::Arc<crate::chain::ChainSigner>>,
    /// Shares of expensive work (exports, verifications) per caller, org and
    /// process; the same counters the server functions use.
    pub admission: app::api::Admission,
    /// The keys whose checkpoints `POST /api/v1/verify` trusts; none: no
    /// checkpoint counts.
    pub trusted_keys: crate::chain::TrustedKeys,
    /// Who a browser's request is (the Export menu's downloads): the same
    /// port, and so the same authorization boundary, as the server
    /// functions.
    pub access: std::sync::Arc<dyn app::api::AccessControl>,
    /// Ingestion's group committer on the app pool.
    pub writer: crate::store::GroupWriter,
}

impl ApiContext {
    pub fn new(pool: PgPool) -> ApiContext {
        ApiContext {
            reads: pool.clone(),
            limits: Limits::default(),
            token_signer: None,
            admission: Default::default(),
            trusted_keys: Default::default(),
            access: std::sync::Arc::new(crate::auth::SessionAccess::new(pool.clone(), false)),
            writer: crate::store::GroupWriter::new(pool.clone()),
            pool,
        }
    }

    /// Reads browsers' viewers through `access` (the server functions' port).
    pub fn with_access(mut self, access: std::sync::Arc<dyn app::api::AccessControl>) -> ApiContext {
        self.access = access;
        self
    }

    pub fn with_read_pool(mut self, reads: PgPool) -> ApiContext {
        self.reads = reads;
        self
    }

    pub fn with_admission(mut self, admission: app::api::Admission) -> ApiContext {
        self.admission = admission;
        self
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
        .route("/o/{org}/export.json", get(export::ui_export_json))
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
/// read-only and shows only what its token allows). The CSP's
/// `frame-ancestors` says the same to current browsers (see
/// [`content_security_policy`]); `X-Frame-Options` to older ones.
pub async fn frame_policy(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let embeddable = is_embeddable(request.uri().path());
    let mut response = next.run(request).await;
    if !embeddable {
        response.headers_mut().insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    }
    response
}

fn is_embeddable(path: &str) -> bool {
    path == "/embed"
}

/// The nonce of one response's inline scripts: made by
/// [`content_security_policy`], put in the request's extensions for the
/// page renderer to stamp on the scripts it writes (Leptos's hydration and
/// resource scripts), and named in the response's policy.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// A Content-Security-Policy on every response, so that markup slipped into
/// a page (an event's text, a hostile avatar) can run no script and load
/// nothing from elsewhere:
/// - scripts: this site's files, the inline scripts carrying this response's
///   nonce, and `'wasm-unsafe-eval'`, which `WebAssembly.instantiateStreaming`
///   needs to compile the app (it allows WebAssembly only, not `eval`);
/// - styles: this site's stylesheet and nonce-carrying `<style>`; inline
///   `style` attributes are allowed because the app sets CSS variables on
///   elements (an actor's hue, an embed's accent) from checked values, and
///   attributes cannot run script;
/// - images: this site and any https host (actor avatars, see
///   `app::model::is_allowed_avatar`); connections: this site only;
/// - no plugins, no `<base>`, forms post to this site only, and framing only
///   for `/embed`.
///
/// And by fetch metadata: what a browser fetches for an `<img>` (or media,
/// font, `<object>`) may only be an image or asset of ours. A stored
/// `https://` avatar pointing at this very site's `/o/acme/export.ndjson`
/// passes the avatar rule, but its fetch says `Sec-Fetch-Dest: image` and
/// is refused here, before it can run an export with the viewer's cookies.
pub async fn content_security_policy(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !may_load_as_subresource(&request) {
        return (StatusCode::FORBIDDEN, "only images and assets may be loaded by an <img> or media element")
            .into_response();
    }
    let nonce = crate::random::hex(&crate::random::bytes::<16>());
    let embeddable = is_embeddable(request.uri().path());
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let policy = policy(&nonce, embeddable);
    if let Ok(value) = header::HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn may_load_as_subresource(request: &axum::extract::Request) -> bool {
    let dest = request.headers().get("sec-fetch-dest").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !matches!(dest, "image" | "audio" | "video" | "track" | "font" | "object" | "embed") {
        return true;
    }
    let path = request.uri().path();
    path.starts_with("/avatars/") || path.starts_with("/pkg/") || path == "/favicon.svg"
}

fn policy(nonce: &str, embeddable: bool) -> String {
    let mut policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; img-src 'self' https:; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
    );
    if !embeddable {
        policy.push_str("; frame-ancestors 'none'");
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_img_may_load_images_and_assets_only() {
        let fetch = |path: &str, dest: &str| {
            let r =
                axum::http::Request::get(path).header("sec-fetch-dest", dest).body(axum::body::Body::empty());
            may_load_as_subresource(&r.unwrap())
        };
        assert!(fetch("/avatars/usr_1.svg", "image") && fetch("/favicon.svg", "image"));
        assert!(fetch("/pkg/audit-timeline.css", "font"));
        for path in ["/o/acme/export.ndjson", "/o/acme/export.csv", "/api/ui/timeline", "/auth/logout"] {
            assert!(!fetch(path, "image") && !fetch(path, "video"), "{path}");
            // Downloads, pages and scripts' fetches are not subresource loads.
            assert!(fetch(path, "document") && fetch(path, "empty") && fetch(path, ""), "{path}");
        }
    }

    #[test]
    fn the_policy_allows_self_the_nonce_and_wasm_and_framing_only_for_the_embed() {
        let page = policy("abc123", false);
        assert!(page.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"), "{page}");
        let script_src = page.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
        assert!(!script_src.contains("unsafe-inline"), "{script_src}");
        assert!(!page.replace("'wasm-unsafe-eval'", "").contains("unsafe-eval"), "{page}");
        assert!(page.ends_with("frame-ancestors 'none'"), "{page}");
        assert!(!policy("abc123", true).contains("frame-ancestors"));
    }
}
