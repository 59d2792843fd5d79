use chrono::{Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// How long a sign-in lasts.
pub const SESSION_TTL: Duration = Duration::hours(12);

#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Starts a session; returns the cookie token (shown to the browser only)
/// and the session's public id (used in audit events).
pub async fn start(
    pool: &PgPool,
    user_id: Uuid,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Result<(String, Uuid), sqlx::Error> {
    let token = crate::random::hex(&crate::random::bytes::<32>());
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO sessions (token_hash, id, user_id, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6)",
        token_hash(&token),
        id,
        user_id,
        Utc::now() + SESSION_TTL,
        ip,
        user_agent.map(|ua| ua.chars().take(500).collect::<String>()),
    )
    .execute(pool)
    .await?;
    Ok((token, id))
}

/// The live session for `token`, if any.
pub async fn find(pool: &PgPool, token: &str) -> Result<Option<SessionUser>, sqlx::Error> {
    sqlx::query_as!(
        SessionUser,
        "SELECT s.id AS session_id, u.id AS user_id, u.name, u.email \
           FROM sessions s JOIN users u ON u.id = s.user_id \
          WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now()",
        token_hash(token),
    )
    .fetch_optional(pool)
    .await
}

/// Ends the session for `token`; returns whose it was.
pub async fn end(pool: &PgPool, token: &str) -> Result<Option<SessionUser>, sqlx::Error> {
    let user = find(pool, token).await?;
    if user.is_some() {
        sqlx::query!(
            "UPDATE sessions SET ended_at = now() WHERE token_hash = $1 AND ended_at IS NULL",
            token_hash(token)
        )
        .execute(pool)
        .await?;
    }
    Ok(user)
}
