//! Signing in, sessions, and who may read which org's log.
//!
//! People sign in with email and password (argon2id hashes) and get an
//! HTTP-only session cookie. Every server function asks [`SessionAccess`]
//! (the `AccessControl` port of `app`) for the viewer of the org in the URL;
//! pages without a session are sent to the login page; writes from other
//! sites are refused (CSRF).

mod access;
pub mod client_address;
mod password;
pub mod rate_limit;
mod routes;
pub mod session_cache;
mod sessions;
pub mod setup;
pub mod users;

pub use access::SessionAccess;
pub use password::{hash_password, verify_password};
pub use routes::{AuthState, guard, routes};
pub use session_cache::SessionCache;
pub use setup::{SetupState, issue_setup_token, setup_routes};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "atl_session";

/// The session token in a request's Cookie header, if any.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    crate::cookies::value(headers, SESSION_COOKIE).filter(|v| !v.is_empty()).map(str::to_string)
}
