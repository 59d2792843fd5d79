use app::api::{AccessControl, AccessError};
use app::model::{DemoAccount, OrgRef, Role, Viewer};
use async_trait::async_trait;
use sqlx::PgPool;
use uuid::Uuid;

use std::sync::Arc;

use super::{SessionCache, sessions, users};

/// [`AccessControl`] from the session cookie and the memberships table.
#[derive(Clone)]
pub struct SessionAccess {
    pool: PgPool,
    /// Sessions looked up in the last couple of seconds (shared with
    /// [`super::AuthState`], whose sign-out forgets them).
    cache: Arc<SessionCache>,
    demo: bool,
    /// Checks viewer tokens (embedded timelines); none: tokens are refused.
    token_key: Option<ed25519_dalek::VerifyingKey>,
}

impl SessionAccess {
    /// `demo`: list the demo accounts (users the demo loader marked, never
    /// anyone else) on the login page. Otherwise it lists nobody.
    pub fn new(pool: PgPool, demo: bool) -> SessionAccess {
        SessionAccess { pool, cache: Arc::new(SessionCache::new()), demo, token_key: None }
    }

    /// Remember sessions in `cache`: give the same one to the process's
    /// [`super::AuthState`] so that signing out forgets the session here.
    pub fn with_session_cache(mut self, cache: Arc<SessionCache>) -> SessionAccess {
        self.cache = cache;
        self
    }

    /// Also accept viewer tokens signed by this key in place of an org slug.
    pub fn with_viewer_tokens(mut self, key: ed25519_dalek::VerifyingKey) -> SessionAccess {
        self.token_key = Some(key);
        self
    }

    /// The viewer a token grants: the token's org, its scope, read-only,
    /// while the API key that minted it is live. `expected`: the token id
    /// the request named (`embed.<id>`), when it came from a cookie.
    async fn token_viewer(&self, raw: &str, expected: Option<&str>) -> Result<(Viewer, Uuid), AccessError> {
        let key = self.token_key.as_ref().ok_or(AccessError::Unauthenticated)?;
        let token = crate::embed::verify(key, raw, chrono::Utc::now()).map_err(|e| {
            tracing::debug!("viewer token refused: {e}");
            AccessError::Unauthenticated
        })?;
        if expected.is_some_and(|id| id != token.id.simple().to_string()) {
            return Err(AccessError::Unauthenticated);
        }
        // One lookup answers both "which org" and "is the minting key still
        // live": revoking the key revokes its tokens at their next request.
        let org = crate::store::viewer_token_org(&self.pool, token.org_id, token.key_id)
            .await
            .map_err(|e| AccessError::Unavailable(e.to_string()))?
            .ok_or_else(|| {
                tracing::debug!("viewer token {} refused: its API key is revoked", token.id);
                AccessError::Unauthenticated
            })?;
        // Written by `to_query` at minting and signed since: it reads back whole.
        let pairs: Vec<(String, String)> = token
            .scope
            .split('&')
            .filter_map(|p| p.split_once('='))
            .filter_map(|(k, v)| Some((k.to_string(), decode(v)?)))
            .collect();
        let (scope, _) =
            app::model::TimelineFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let viewer = Viewer {
            name: "Embedded view".into(),
            email: String::new(),
            org: OrgRef { slug: org.slug.clone(), name: org.name.clone() },
            role: Role::Viewer,
            orgs: Vec::new(),
            scope,
        };
        Ok((viewer, token.org_id))
    }
}

/// Percent-decoding of a query value written by `TimelineFilter::to_query`.
fn decode(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[async_trait]
impl AccessControl for SessionAccess {
    async fn viewer(
        &self,
        request: &axum::http::request::Parts,
        org_slug: &str,
    ) -> Result<(Viewer, Uuid), AccessError> {
        if let Some(id) = org_slug.strip_prefix(crate::embed::EMBED_REF_PREFIX) {
            let raw = crate::embed::token_from_cookie(&request.headers, org_slug)
                .ok_or(AccessError::Unauthenticated)?;
            return self.token_viewer(&raw, Some(id)).await;
        }
        if org_slug.starts_with(crate::embed::TOKEN_PREFIX) {
            // A token itself is taken from a request body (a server
            // function's form) or the embed's cookie, never from an address:
            // paths and query strings end up in proxy logs and histories.
            if request.uri.to_string().contains(crate::embed::TOKEN_PREFIX) {
                return Err(AccessError::Unauthenticated);
            }
            return self.token_viewer(org_slug, None).await;
        }
        let unavailable = |e: sqlx::Error| AccessError::Unavailable(e.to_string());
        let token = super::session_token(&request.headers).ok_or(AccessError::Unauthenticated)?;
        let (user, memberships) = match self.cache.get(&token) {
            Some(known) => known,
            None => {
                let user = sessions::find(&self.pool, &token)
                    .await
                    .map_err(unavailable)?
                    .ok_or(AccessError::Unauthenticated)?;
                let memberships = users::memberships(&self.pool, user.user_id).await.map_err(unavailable)?;
                self.cache.put(&token, user.clone(), memberships.clone());
                (user, memberships)
            }
        };
        let here = memberships.iter().find(|m| m.slug == org_slug).ok_or(AccessError::NoSuchOrg)?;
        let viewer = Viewer {
            name: user.name,
            email: user.email,
            org: OrgRef { slug: here.slug.clone(), name: here.org_name.clone() },
            role: here.role(),
            orgs: memberships
                .iter()
                .map(|m| OrgRef { slug: m.slug.clone(), name: m.org_name.clone() })
                .collect(),
            scope: Default::default(),
        };
        Ok((viewer, here.org_id))
    }

    async fn demo_accounts(&self) -> Vec<DemoAccount> {
        if !self.demo {
            return Vec::new();
        }
        users::demo_accounts(&self.pool).await.unwrap_or_else(|e| {
            tracing::error!("listing demo accounts: {e}");
            Vec::new()
        })
    }
}
