//! Sign-in and sign-out, the redirect at `/`, and the guard in front of
//! every page and server function.

use std::net::SocketAddr;
use std::sync::Arc;

use app::model::{EventContext, NewAuditEvent};
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, http::Uri};
use chrono::Utc;
use serde::Deserialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::client_address::TrustedProxies;
use super::rate_limit::{Limits, SignInLimiter};
use super::{SESSION_COOKIE, SessionCache, sessions, users};
use crate::self_audit;

#[derive(Clone)]
pub struct AuthState {
    pool: PgPool,
    /// Sessions looked up lately (shared with `SessionAccess`).
    cache: Arc<SessionCache>,
    limiter: Arc<SignInLimiter>,
    /// Proxies whose `X-Forwarded-For` names the client; none by default.
    proxies: Arc<TrustedProxies>,
    /// Add `Secure` to the cookie: set when the site is served over HTTPS.
    secure_cookies: bool,
}

impl AuthState {
    /// `pool`: the app pool (acting as `audit_app`).
    pub fn new(pool: PgPool, secure_cookies: bool) -> AuthState {
        AuthState {
            pool,
            cache: Arc::new(SessionCache::new()),
            limiter: Arc::new(SignInLimiter::new(Limits::default())),
            proxies: Arc::new(TrustedProxies::default()),
            secure_cookies,
        }
    }

    /// Believe `X-Forwarded-For` from these proxies (see `client_address`).
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> AuthState {
        self.proxies = Arc::new(proxies);
        self
    }

    /// Share `cache` with the process's `SessionAccess`: signing out here
    /// then forgets the session there.
    pub fn with_session_cache(mut self, cache: Arc<SessionCache>) -> AuthState {
        self.cache = cache;
        self
    }

    /// Other sign-in limits (tests use small ones).
    pub fn with_limits(mut self, limits: Limits) -> AuthState {
        self.limiter = Arc::new(SignInLimiter::new(limits));
        self
    }
}

/// `/`, `/auth/login` and `/auth/logout`.
pub fn routes<S: Clone + Send + Sync + 'static>(state: AuthState) -> Router<S> {
    Router::new()
        .route("/", get(home))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .with_state(state)
}

/// Signed in: the first of your orgs. Otherwise: the login page.
async fn home(State(state): State<AuthState>, headers: HeaderMap) -> Response {
    let Some(user) = current_user(&state.pool, &headers).await else {
        return Redirect::to("/login").into_response();
    };
    match users::memberships(&state.pool, user.user_id).await {
        Ok(m) if !m.is_empty() => Redirect::to(&format!("/o/{}", m[0].slug)).into_response(),
        Ok(_) => {
            (StatusCode::FORBIDDEN, "Your account belongs to no organisation yet; ask an owner to add you.")
                .into_response()
        }
        Err(e) => unavailable(e),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(state): State<AuthState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let email = form.email.trim().to_lowercase();
    let client = state.proxies.client_address(peer.ip(), &headers);
    let address = client.to_string();
    let back = |error: &str| {
        let q = format!("error={error}&email={}&next={}", encode(&email), encode(&form.next));
        Redirect::to(&format!("/login?{q}")).into_response()
    };
    // Checked and counted in one step before the password hash runs, so
    // parallel guesses cannot all slip past the limit (see `rate_limit`).
    let attempt = match state.limiter.begin(&email, client) {
        Ok(attempt) => attempt,
        Err(_) => return back("too_many"),
    };
    if !attempt.delay.is_zero() {
        tokio::time::sleep(attempt.delay).await;
    }
    let user = match users::find_by_email(&state.pool, &email).await {
        Ok(user) => user,
        Err(e) => return unavailable(e),
    };
    // Verify against a real hash even for unknown emails, so the response
    // time does not tell which emails have accounts.
    let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| dummy_hash().to_string());
    let password = form.password.clone();
    let ok =
        tokio::task::spawn_blocking(move || super::verify_password(&password, &hash)).await.unwrap_or(false);
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    let user = match user {
        Some(user) if ok => user,
        known => {
            // Already counted by `begin`.
            if let Some(known) = known {
                record(
                    &state.pool,
                    known.id,
                    &known.name,
                    &known.email,
                    "user.login_failed",
                    None,
                    &address,
                    &user_agent,
                )
                .await;
            }
            return back("invalid");
        }
    };
    state.limiter.succeeded(attempt);
    let (token, session_id) =
        match sessions::start(&state.pool, user.id, Some(&address), user_agent.as_deref()).await {
            Ok(s) => s,
            Err(e) => return unavailable(e),
        };
    let memberships = record(
        &state.pool,
        user.id,
        &user.name,
        &user.email,
        "user.login",
        Some(session_id),
        &address,
        &user_agent,
    )
    .await;
    let target = match safe_next(&form.next) {
        Some(next) => next,
        None => memberships.first().map(|m| format!("/o/{}", m.slug)).unwrap_or_else(|| "/".to_string()),
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        sessions::SESSION_TTL.num_seconds(),
        if state.secure_cookies { "; Secure" } else { "" }
    );
    with_cookie(Redirect::to(&target).into_response(), &cookie)
}

async fn logout(
    State(state): State<AuthState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Some(token) = super::session_token(&headers) {
        state.cache.forget(&token);
        match sessions::end(&state.pool, &token).await {
            Ok(Some(user)) => {
                let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
                let address = state.proxies.client_address(peer.ip(), &headers).to_string();
                record(
                    &state.pool,
                    user.user_id,
                    &user.name,
                    &user.email,
                    "user.logout",
                    Some(user.session_id),
                    &address,
                    &ua,
                )
                .await;
            }
            Ok(None) => {}
            Err(e) => return unavailable(e),
        }
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    with_cookie(Redirect::to("/login?error=signed_out").into_response(), &cookie)
}

/// In front of everything:
/// - writes (POST and friends) from another site are refused, so a page
///   elsewhere cannot make a signed-in browser call server functions (CSRF);
///   browsers say where a request comes from in `Sec-Fetch-Site`/`Origin`;
/// - an org page without a session goes to the login page, coming back
///   after sign-in (export downloads answer 401 themselves: a browser would
///   save the login page as the file).
pub async fn guard(State(state): State<AuthState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    // The REST API authenticates with a bearer key, which a browser never
    // attaches by itself, so a cross-site page cannot forge its requests.
    let bearer_api = request.uri().path().starts_with("/api/v1/");
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !bearer_api
        && is_cross_site(request.headers())
    {
        return (StatusCode::FORBIDDEN, "cross-site requests are refused").into_response();
    }
    if method == Method::GET
        && request.uri().path().starts_with("/o/")
        && !crate::http::export::is_download(request.uri().path())
        && !signed_in(&state, request.headers()).await
    {
        return Redirect::to(&format!("/login?next={}", encode(&path_and_query(request.uri()))))
            .into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or("");
            let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
            origin_host != host.to_str().unwrap_or("")
        }
        // No browser provenance at all: not a browser, so not CSRF.
        _ => false,
    }
}

async fn current_user(pool: &PgPool, headers: &HeaderMap) -> Option<sessions::SessionUser> {
    let token = super::session_token(headers)?;
    sessions::find(pool, &token).await.ok().flatten()
}

/// Whether the request carries a live session (one looked up in the last
/// couple of seconds counts).
async fn signed_in(state: &AuthState, headers: &HeaderMap) -> bool {
    let Some(token) = super::session_token(headers) else { return false };
    state.cache.get(&token).is_some() || matches!(sessions::find(&state.pool, &token).await, Ok(Some(_)))
}

/// Sign-in, sign-out and failed sign-in are audit events in every org the
/// person belongs to. Returns those memberships (empty if they could not be
/// read), so callers need not look them up again.
#[allow(clippy::too_many_arguments)]
async fn record(
    pool: &PgPool,
    user_id: Uuid,
    name: &str,
    email: &str,
    action: &str,
    session_id: Option<Uuid>,
    address: &str,
    user_agent: &Option<String>,
) -> Vec<users::Membership> {
    let orgs = match users::memberships(pool, user_id).await {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("recording {action}: {e}");
            return Vec::new();
        }
    };
    let context = EventContext {
        ip: Some(address.to_string()),
        user_agent: user_agent.clone(),
        session_id: session_id.map(|s| s.to_string()),
        request_id: None,
        country: None,
    };
    let (actor, entity, now) =
        (self_audit::person(user_id, name, email), self_audit::entity("user", user_id, email), Utc::now());
    // One event in each org, all at the same moment.
    let events: Vec<NewAuditEvent> = orgs
        .iter()
        .map(|m| NewAuditEvent {
            occurred_at: now,
            context: context.clone(),
            ..self_audit::event(m.org_id, actor.clone(), action, entity.clone())
        })
        .collect();
    if let Err(e) = crate::store::insert_events(pool, &events).await {
        tracing::error!("recording {action}: {e}");
    }
    orgs
}

/// Where to go after sign-in: only this site's org pages.
fn safe_next(next: &str) -> Option<String> {
    (next.starts_with("/o/") && !next.contains("//") && !next.contains('\\')).then(|| next.to_string())
}

fn path_and_query(uri: &Uri) -> String {
    uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into())
}

fn encode(s: &str) -> String {
    app::model::percent::encode(s, app::model::percent::COMPONENT)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn unavailable(e: sqlx::Error) -> Response {
    tracing::error!("sign-in store error: {e}");
    (StatusCode::SERVICE_UNAVAILABLE, "The sign-in service is unavailable; try again in a moment.")
        .into_response()
}

/// An argon2id hash of a random password nobody knows, verified against for
/// unknown emails to keep timing even.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| super::hash_password(&crate::random::hex(&crate::random::bytes::<16>())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_org_pages_are_followed_after_sign_in() {
        assert_eq!(safe_next("/o/acme?q=x"), Some("/o/acme?q=x".into()));
        for bad in ["", "/", "https://evil.example/o/x", "//evil.example", "/o//evil", "/o/\\evil"] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }

    #[test]
    fn cross_site_writes_are_recognised() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        assert!(is_cross_site(&h(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&h(&[("sec-fetch-site", "same-site")])));
        assert!(!is_cross_site(&h(&[("sec-fetch-site", "same-origin")])));
        assert!(is_cross_site(&h(&[("origin", "https://evil.example"), ("host", "audit.example")])));
        assert!(!is_cross_site(&h(&[("origin", "https://audit.example"), ("host", "audit.example")])));
        assert!(!is_cross_site(&h(&[("host", "audit.example")])));
    }
}
