//! `Authorization: Bearer atl_…`: which org (and key) a request speaks for.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::ApiContext;
use super::error::ApiError;
use crate::store::{ApiKeyAuth, authenticate_api_key};

/// Extracting an [`ApiKeyAuth`] authenticates the request: a handler that
/// takes one only runs for a live key, and takes the org from it, never
/// from the request body. Runs before the body is read.
impl FromRequestParts<ApiContext> for ApiKeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &ApiContext) -> Result<ApiKeyAuth, ApiError> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .ok_or(ApiError::Unauthorized)?;
        // Revocation takes effect on the next request: no cache in front of
        // this lookup, which is one unique-index probe.
        authenticate_api_key(&api.pool, secret).await?.ok_or(ApiError::Unauthorized)
    }
}

/// The token of a `Bearer` credential; the scheme name is case-insensitive
/// (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_tokens_are_read_whatever_the_scheme_case() {
        assert_eq!(bearer_token("Bearer atl_x"), Some("atl_x"));
        assert_eq!(bearer_token("bearer   atl_x "), Some("atl_x"));
        assert_eq!(bearer_token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("atl_x"), None);
    }
}
