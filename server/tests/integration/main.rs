//! The server's tests on a real PostgreSQL, one binary with a module per
//! concern (linked once). Every store test gets its own database from
//! `#[sqlx::test]`, with the migrations applied, on the PostgreSQL named by
//! DATABASE_URL; `scripts/test.sh` starts a throwaway one when it is unset.

mod api;
mod avatars;
mod categories;
mod chain;
mod common;
mod embedded_key;
mod export;
mod filters;
mod limits;
mod live;
mod people;
mod saved_statements;
mod server_health;
mod sign_in_limits;
mod store;
mod trust;
mod viewer_tokens;
