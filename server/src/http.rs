//! Plain HTTP routes beside the Leptos pages and server functions.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Routes the product serves outside Leptos. Generic over the router's state
/// so the binary can merge them into its Leptos router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/avatars/{file}", get(avatar))
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
