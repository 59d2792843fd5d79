//! How the server's own connections log in: as `audit_app`, with its own
//! password, never as the owner switching role.
//!
//! A connection that logged in as the owner and ran `SET ROLE audit_app`
//! could be switched back with `RESET ROLE` by anything able to run SQL on
//! it. A session that logs in as `audit_app` has no other role to reach:
//! `audit_app` is a member of no role.
//!
//! The password is one per cluster (roles are cluster-wide) and is never
//! rotated behind a running process's back. It is, in this order:
//!
//! 1. `AUDIT_APP_PASSWORD`, when the operator manages the role themselves
//!    (then the server never changes the role's password);
//! 2. derived from the owner's own secret when the owner is a superuser:
//!    SHA-256 over a fixed label and the owner's password verifier in
//!    `pg_authid`, which only superusers can read. Every process and every
//!    database of the cluster that migrates as that owner derives the same
//!    password, so concurrent test databases agree, and it is stored nowhere;
//! 3. otherwise, a random password kept in `app_role_credentials`, a table
//!    no role but the owner can read (one per database: several audit
//!    databases in one cluster under a non-superuser owner should set
//!    `AUDIT_APP_PASSWORD`).
//!
//! The server first tries to log in with it; only when PostgreSQL refuses
//! the password (or the login) does the owner set it, so a cluster that
//! trusts local connections is never altered at all.

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// The role the server's product connections log in as (migration 0004).
pub const APP_ROLE: &str = "audit_app";
/// Set to manage the app role's password yourself.
pub const APP_PASSWORD_ENV: &str = "AUDIT_APP_PASSWORD";

/// Label mixed into the derived password, so it is never the hash of the
/// owner's verifier for any other purpose.
const DERIVATION_LABEL: &[u8] = b"audit-timeline:app-role-password:v1\0";

/// Connection options that log in as [`APP_ROLE`] to the database `owner`
/// names, setting the role's password first if it does not work yet.
pub async fn app_login(owner: &PgConnectOptions) -> Result<PgConnectOptions, sqlx::Error> {
    let mut conn = PgConnection::connect_with(owner).await?;
    let outcome = login_with(&mut conn, owner).await;
    let _ = conn.close().await;
    outcome
}

async fn login_with(
    conn: &mut PgConnection,
    owner: &PgConnectOptions,
) -> Result<PgConnectOptions, sqlx::Error> {
    let (password, managed_by_operator) = match std::env::var(APP_PASSWORD_ENV) {
        Ok(p) if !p.is_empty() => (p, true),
        _ => (password(conn).await?, false),
    };
    let app = owner.clone().username(APP_ROLE).password(&password);
    match try_login(&app).await {
        Ok(()) => return Ok(app),
        Err(err) if managed_by_operator || !is_login_refused(&err) => return Err(err),
        Err(_) => {}
    }
    // The password is hex (derived or random), so it quotes safely.
    debug_assert!(password.bytes().all(|b| b.is_ascii_hexdigit()));
    let set = format!("ALTER ROLE {APP_ROLE} WITH LOGIN PASSWORD '{password}'");
    if let Err(err) = sqlx::raw_sql(&set).execute(&mut *conn).await {
        // Another process setting the same password at the same moment
        // fails one of the two ALTERs ("tuple concurrently updated"); the
        // login below tells whether the role ended up usable anyway.
        tracing::debug!("setting the {APP_ROLE} password: {err}");
    }
    try_login(&app).await?;
    tracing::info!("set the password of the {APP_ROLE} login role");
    Ok(app)
}

async fn try_login(app: &PgConnectOptions) -> Result<(), sqlx::Error> {
    let conn = PgConnection::connect_with(app).await?;
    conn.close().await
}

/// 28P01: wrong password; 28000: e.g. the role may not log in yet.
fn is_login_refused(err: &sqlx::Error) -> bool {
    err.as_database_error().and_then(|e| e.code()).is_some_and(|c| c == "28P01" || c == "28000")
}

/// The app role's password, as derived or stored (see the module docs).
async fn password(conn: &mut PgConnection) -> Result<String, sqlx::Error> {
    // Two statements: PostgreSQL checks the privilege on pg_authid for a
    // whole statement, even for a branch that would not run.
    let superuser: bool = sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_one(&mut *conn)
        .await?;
    let verifier: Option<String> = if superuser {
        sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = current_user")
            .fetch_one(&mut *conn)
            .await?
    } else {
        None
    };
    if let Some(verifier) = verifier.filter(|v| !v.is_empty()) {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(DERIVATION_LABEL);
        hasher.update(verifier.as_bytes());
        return Ok(hex::encode(hasher.finalize()));
    }
    let fresh = crate::random::hex(&crate::random::bytes::<24>());
    sqlx::query(
        "INSERT INTO app_role_credentials (role_name, password) VALUES ($1, $2) ON CONFLICT (role_name) DO NOTHING",
    )
    .bind(APP_ROLE)
    .bind(&fresh)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar("SELECT password FROM app_role_credentials WHERE role_name = $1")
        .bind(APP_ROLE)
        .fetch_one(&mut *conn)
        .await
}
