//! Viewer tokens: how a page of another product shows one org's timeline
//! without a sign-in of ours.
//!
//! An org's API key mints a short-lived token naming the org and a scope (a
//! timeline filter: a record, an actor, any filter). `/embed?token=…` renders
//! the timeline with the token standing in for the org: every server
//! function resolves its viewer from it, on every request, so expiry holds
//! for an open page too, and the scope is ANDed with whatever the URL asks
//! for, so a URL can narrow it and never widen it.
//!
//! The token travels in one URL only, the first: the host frames
//! `/embed?token=…` (or posts the token there, see `public/embed.js`), and
//! [`exchange_token`] answers with a redirect to a token-free
//! `/embed?view=<token id>`, having put the token in an HttpOnly cookie
//! named after the token's id. Every later request of the frame (server
//! functions, the export) names the embed as `embed.<token id>` and carries
//! the token only in that cookie, so no address a proxy, a browser history
//! or a `Referer` keeps holds it. The cookie is `SameSite=None; Secure;
//! Partitioned`: sent only inside frames on the host's own site (CHIPS), so
//! embedding needs HTTPS (browsers accept Secure cookies over plain HTTP on
//! localhost only).
//!
//! Format: `vt1.<payload>.<signature>`, both base64url without padding. The
//! payload is JSON; the signature is Ed25519 over a domain-separated message
//! (so nothing signed for checkpoints can pass as a token, or the reverse),
//! with the server's signing key: no database state, so any server process
//! holding the key accepts a token any other one minted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, TimeZone, Utc};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::chain::ChainSigner;

pub const TOKEN_PREFIX: &str = "vt1.";
const DOMAIN: &[u8] = b"audit-timeline viewer token v1\n";
/// Longest life a token may be given: an embed is for looking now, and a
/// leaked link should not stay useful.
pub const MAX_LIFETIME_SECS: i64 = 24 * 3600;
pub const DEFAULT_LIFETIME_SECS: i64 = 15 * 60;

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewerToken {
    /// Token id, recorded with its minting.
    pub id: Uuid,
    pub org_id: Uuid,
    /// The scope as a timeline query string (`record=inv_1&action=delete`).
    pub scope: String,
    /// Unix seconds.
    pub exp: i64,
    pub iat: i64,
    /// The API key that minted it.
    pub key_id: Uuid,
}

impl ViewerToken {
    pub fn expires_at(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.exp, 0).single().unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a viewer token")]
    Malformed,
    #[error("the viewer token's signature does not verify")]
    BadSignature,
    #[error("the viewer token expired at {0}")]
    Expired(DateTime<Utc>),
}

/// Signs a token.
pub fn mint(signer: &ChainSigner, token: &ViewerToken) -> String {
    let payload = B64.encode(serde_json::to_vec(token).expect("a token serializes"));
    let signature = signer.sign(&message(&payload));
    format!("{TOKEN_PREFIX}{payload}.{}", B64.encode(signature))
}

/// Checks a token's form, signature and expiry at `now`.
pub fn verify(key: &VerifyingKey, raw: &str, now: DateTime<Utc>) -> Result<ViewerToken, TokenError> {
    let rest = raw.strip_prefix(TOKEN_PREFIX).ok_or(TokenError::Malformed)?;
    let (payload, signature) = rest.split_once('.').ok_or(TokenError::Malformed)?;
    let signature: [u8; 64] =
        B64.decode(signature).ok().and_then(|s| s.try_into().ok()).ok_or(TokenError::Malformed)?;
    key.verify(&message(payload), &Signature::from_bytes(&signature))
        .map_err(|_| TokenError::BadSignature)?;
    let token: ViewerToken = B64
        .decode(payload)
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .ok_or(TokenError::Malformed)?;
    if now.timestamp() >= token.exp {
        return Err(TokenError::Expired(token.expires_at()));
    }
    Ok(token)
}

pub use app::api::EMBED_REF_PREFIX;
const COOKIE_PREFIX: &str = "atl_embed_";

/// The name an embed goes by in URLs: its token's id, which grants nothing.
pub fn embed_ref(token_id: Uuid) -> String {
    format!("{EMBED_REF_PREFIX}{}", token_id.simple())
}

/// The token of embed `reference` (`embed.<id>`), from its cookie.
pub fn token_from_cookie(headers: &HeaderMap, reference: &str) -> Option<String> {
    let id = reference.strip_prefix(EMBED_REF_PREFIX)?;
    let name = format!("{COOKIE_PREFIX}{id}");
    crate::cookies::value(headers, &name).filter(|v| v.starts_with(TOKEN_PREFIX)).map(str::to_string)
}

/// In front of `/embed`: a request carrying a token (`GET ?token=…`, or a
/// `POST` form with `token`) gets it back as a cookie and a redirect to the
/// same view without it. A token that does not verify is not kept; the
/// page it is sent to then says its link is not valid.
pub async fn exchange_token(
    State(key): State<VerifyingKey>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.uri().path() != "/embed" || !matches!(*request.method(), Method::GET | Method::POST) {
        return next.run(request).await;
    }
    let query = request.uri().query().unwrap_or_default().to_string();
    let mut rest: Vec<&str> = Vec::new();
    let mut raw = None;
    for part in query.split('&').filter(|p| !p.is_empty()) {
        match part.strip_prefix("token=") {
            Some(t) => raw = Some(t.to_string()),
            // A `view` from an earlier exchange is replaced by this one's.
            None if part.starts_with("view=") => {}
            None => rest.push(part),
        }
    }
    if *request.method() == Method::POST {
        // A form of one short field; anything longer is not a token.
        let Ok(body) = axum::body::to_bytes(request.into_body(), 16 * 1024).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "a viewer token form is one short field").into_response();
        };
        raw = String::from_utf8_lossy(&body)
            .split('&')
            .find_map(|p| p.strip_prefix("token="))
            .map(|t| t.trim().to_string());
    } else if raw.is_none() {
        return next.run(request).await;
    }
    let now = Utc::now();
    let mut response = match raw.as_deref().map(|r| (r, verify(&key, r, now))) {
        Some((raw, Ok(token))) => {
            rest.push("");
            let view = format!("view={}", token.id.simple());
            let location = format!("/embed?{}{view}", rest.join("&"));
            let cookie = format!(
                "{COOKIE_PREFIX}{}={raw}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=None; Partitioned",
                token.id.simple(),
                (token.exp - now.timestamp()).max(1),
            );
            let mut response = Redirect::to(&location).into_response();
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Some((_, Err(e))) => {
            tracing::debug!("viewer token refused at the embed: {e}");
            let location =
                if rest.is_empty() { "/embed".to_string() } else { format!("/embed?{}", rest.join("&")) };
            Redirect::to(&location).into_response()
        }
        None => (StatusCode::UNPROCESSABLE_ENTITY, "token: required").into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn message(payload: &str) -> Vec<u8> {
    [DOMAIN, payload.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(exp: i64) -> ViewerToken {
        ViewerToken {
            id: Uuid::nil(),
            org_id: Uuid::from_u128(7),
            scope: "record=inv_1".into(),
            exp,
            iat: 0,
            key_id: Uuid::from_u128(9),
        }
    }

    #[test]
    fn a_minted_token_verifies_until_it_expires() {
        let signer = ChainSigner::from_seed([3; 32]);
        let now = Utc::now();
        let t = token(now.timestamp() + 60);
        let raw = mint(&signer, &t);
        assert!(raw.starts_with(TOKEN_PREFIX));
        assert_eq!(verify(&signer.verifying_key(), &raw, now), Ok(t.clone()));
        let later = now + chrono::Duration::seconds(61);
        assert!(matches!(verify(&signer.verifying_key(), &raw, later), Err(TokenError::Expired(_))));
    }

    #[test]
    fn tampering_or_another_key_is_refused() {
        let signer = ChainSigner::from_seed([3; 32]);
        let now = Utc::now();
        let raw = mint(&signer, &token(now.timestamp() + 60));
        // Widen the scope by swapping the payload: the signature no longer fits.
        let wider =
            B64.encode(serde_json::to_vec(&ViewerToken { scope: String::new(), ..token(i64::MAX) }).unwrap());
        let signature = raw.rsplit('.').next().unwrap();
        let forged = format!("{TOKEN_PREFIX}{wider}.{signature}");
        assert_eq!(verify(&signer.verifying_key(), &forged, now), Err(TokenError::BadSignature));
        let other = ChainSigner::from_seed([4; 32]);
        assert_eq!(verify(&other.verifying_key(), &raw, now), Err(TokenError::BadSignature));
        for junk in ["", "vt1.", "vt1.a.b", "acme", "vt1.%%%.***"] {
            assert_eq!(verify(&signer.verifying_key(), junk, now), Err(TokenError::Malformed), "{junk}");
        }
    }
}
