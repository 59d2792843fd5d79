//! Everything that runs only on the server: the append-only PostgreSQL audit
//! store behind `app`'s [`AuditStore`](app::api::AuditStore) port, the
//! embedded PostgreSQL launcher used when no database is configured, and the
//! plain HTTP routes that are not server functions.

pub mod app_login;
pub mod auth;
pub mod avatar;
pub mod chain;
pub mod cookies;
pub mod db;
pub mod embed;
pub mod embedded_pg;
pub mod geo;
pub mod health;
pub mod http;
pub mod live;
pub mod random;
pub mod redact;
pub mod self_audit;
pub mod store;

pub use db::Database;
pub use store::PgAuditStore;

/// Where the release build wrote the site (`<target>/site`, beside the
/// profile's directory of the running binary), else `target/site`.
pub fn default_site_root() -> std::path::PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|target| target.join("site")))
        .filter(|p| p.join("pkg").is_dir())
        .unwrap_or_else(|| std::path::PathBuf::from("target/site"))
}
