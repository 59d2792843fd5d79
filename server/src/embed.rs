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
