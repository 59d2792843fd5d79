//! What changes when the timeline runs inside another product's page.

use crate::error::AppError;

/// Present in context inside an embed: error messages speak of the embed's
/// link rather than of a sign-in.
#[derive(Clone, Copy)]
pub struct EmbedMode;

/// What an embed says when its token is refused.
pub fn embed_refusal(err: &AppError) -> &'static str {
    match err {
        AppError::Unauthenticated => {
            "This embedded timeline has expired or its link is not valid. Reload the page that shows it."
        }
        AppError::NotFound(_) => "This embedded timeline's organisation no longer exists.",
        _ => "The timeline could not be loaded. Try again shortly.",
    }
}
