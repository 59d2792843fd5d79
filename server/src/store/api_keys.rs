//! API keys: created (and shown) once, stored as a hash, listed, revoked.
//!
//! Creating and revoking a key are themselves audit events, written in the
//! same transaction as the key row: there is never a key the log does not
//! know about, nor a log entry for a key that was not made.

use app::model::{Actor, ActorKind, ChangeNode, ChangeTree, Changes, NewAuditEvent};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// Every secret starts with this, so a leaked one is recognisable (secret
/// scanners, logs) and a request carrying something else is refused before
/// it costs a database lookup.
pub const KEY_PREFIX: &str = "atl_";
/// Random characters after [`KEY_PREFIX`]: 40 base62 characters, ~238 bits.
const SECRET_CHARS: usize = 40;
/// How much of the secret lists show: the prefix and 8 random characters,
/// enough to tell keys apart, far too few to guess the other 32.
const DISPLAY_CHARS: usize = KEY_PREFIX.len() + 8;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An API key as lists show it: never the secret, never its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub org_id: Uuid,
    pub id: Uuid,
    pub name: String,
    /// The secret's first characters, e.g. `atl_3fA9xK2p`.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Who a request's API key speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyAuth {
    pub org_id: Uuid,
    pub key_id: Uuid,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("an API key name must be 1 to 200 characters, without NUL")]
    InvalidName,
    #[error("the operating system gave no random bytes: {0}")]
    Random(std::io::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Makes a key for `org_id` and returns it with its secret, which exists
/// nowhere else afterwards: show it to the person once.
///
/// Needs the org to exist. Writes an `api_key.create` event by `created_by`.
pub async fn create_api_key(
    pool: &PgPool,
    org_id: Uuid,
    name: &str,
    created_by: &Actor,
) -> Result<(ApiKeyInfo, String), ApiKeyError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.contains('\0') {
        return Err(ApiKeyError::InvalidName);
    }
    let secret = new_secret()?;
    let id = Uuid::now_v7();
    let prefix = &secret[..DISPLAY_CHARS];

    let key_hash = hash_secret(&secret);
    let mut tx = super::tenant::begin_for_org(pool, org_id).await?;
    let info = sqlx::query_as!(
        ApiKeyInfo,
        "INSERT INTO api_keys (org_id, id, name, prefix, key_hash, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         RETURNING org_id, id, name, prefix, created_at, created_by, revoked_at",
        org_id,
        id,
        name,
        prefix,
        key_hash.as_slice(),
        created_by.name,
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut initial = Map::new();
    initial.insert("name".into(), json!(info.name));
    initial.insert("prefix".into(), json!(info.prefix));
    let event = key_event(&info, "api_key.create", created_by, Changes::Initial(initial));
    super::insert_events_in(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok((info, secret))
}

/// The org's keys, newest first, revoked ones included (marked).
pub async fn list_api_keys(pool: &PgPool, org_id: Uuid) -> Result<Vec<ApiKeyInfo>, sqlx::Error> {
    let mut tx = super::tenant::begin_for_org(pool, org_id).await?;
    let keys = sqlx::query_as!(
        ApiKeyInfo,
        "SELECT org_id, id, name, prefix, created_at, created_by, revoked_at \
           FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC, id DESC",
        org_id,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(keys)
}

/// Revokes a key at once: the next request carrying it is refused. Returns
/// false, and writes nothing, when the org has no such key or it is already
/// revoked. Writes an `api_key.revoke` event by `by`.
pub async fn revoke_api_key(
    pool: &PgPool,
    org_id: Uuid,
    key_id: Uuid,
    by: &Actor,
) -> Result<bool, sqlx::Error> {
    let mut tx = super::tenant::begin_for_org(pool, org_id).await?;
    let revoked = sqlx::query_as!(
        ApiKeyInfo,
        "UPDATE api_keys SET revoked_at = now() \
          WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL \
         RETURNING org_id, id, name, prefix, created_at, created_by, revoked_at",
        org_id,
        key_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(info) = revoked else {
        return Ok(false);
    };
    let revoked_at = ChangeNode::Value { old: Some(Value::Null), new: Some(json!(info.revoked_at)) };
    let changes = Changes::Diff(ChangeTree::from([("revoked_at".to_string(), revoked_at)]));
    let event = key_event(&info, "api_key.revoke", by, changes);
    super::insert_events_in(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(true)
}

/// The org and key a secret belongs to; `None` for anything that is not a
/// live key (malformed, unknown or revoked), without saying which.
///
/// The lookup is by the secret's SHA-256, so its timing depends on the hash,
/// which a caller cannot steer towards a real key's: no constant-time compare
/// is needed.
pub async fn authenticate_api_key(pool: &PgPool, secret: &str) -> Result<Option<ApiKeyAuth>, sqlx::Error> {
    if !looks_like_secret(secret) {
        return Ok(None);
    }
    // Row-level security hides every org's keys until the org is known, and
    // the key is what tells it: a narrow SECURITY DEFINER function answers
    // this one question (migration 0009).
    let key_hash = hash_secret(secret);
    // A function's columns are nullable to the compiler; the table's are not.
    sqlx::query_as!(
        ApiKeyAuth,
        r#"SELECT org_id AS "org_id!", id AS "key_id!", name AS "name!"
             FROM api_key_by_hash($1) WHERE revoked_at IS NULL"#,
        key_hash.as_slice(),
    )
    .fetch_optional(pool)
    .await
}

/// The org a viewer token minted by `key_id` shows, while that key is live;
/// `None` once it is revoked (or never existed), which revokes its tokens.
/// One indexed lookup by primary keys through `viewer_token_org` (migration
/// 0017): cheap enough to run on every request a token makes.
pub async fn viewer_token_org(
    pool: &PgPool,
    org_id: Uuid,
    key_id: Uuid,
) -> Result<Option<super::Org>, sqlx::Error> {
    sqlx::query_as!(
        super::Org,
        r#"SELECT id AS "id!", slug AS "slug!", name AS "name!" FROM viewer_token_org($1, $2)"#,
        org_id,
        key_id,
    )
    .fetch_optional(pool)
    .await
}

/// SHA-256 of the whole secret, as stored in `api_keys.key_hash`.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn looks_like_secret(secret: &str) -> bool {
    secret
        .strip_prefix(KEY_PREFIX)
        .is_some_and(|rest| rest.len() == SECRET_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `atl_` and 40 base62 characters from the operating system's CSPRNG.
/// Rejection sampling (bytes below 248 = 4 × 62 only) keeps every character
/// equally likely; a plain `% 62` would favour the first eight.
fn new_secret() -> Result<String, ApiKeyError> {
    let mut secret = String::with_capacity(KEY_PREFIX.len() + SECRET_CHARS);
    secret.push_str(KEY_PREFIX);
    let mut buf = [0u8; 64];
    while secret.len() < KEY_PREFIX.len() + SECRET_CHARS {
        crate::random::fill(&mut buf).map_err(ApiKeyError::Random)?;
        for b in buf.iter().filter(|b| **b < 248) {
            if secret.len() == KEY_PREFIX.len() + SECRET_CHARS {
                break;
            }
            secret.push(BASE62[usize::from(*b % 62)] as char);
        }
    }
    Ok(secret)
}

fn key_event(info: &ApiKeyInfo, action: &str, actor: &Actor, changes: Changes) -> NewAuditEvent {
    let entity = crate::self_audit::entity("api_key", info.id, info.name.clone());
    NewAuditEvent {
        changes: Some(changes),
        ..crate::self_audit::event(info.org_id, actor.clone(), action, entity)
    }
}

/// The actor for key changes made from the command line on this machine.
pub fn cli_actor() -> Actor {
    let user = std::env::var("USER").ok().filter(|u| !u.is_empty() && u.len() <= 100);
    Actor {
        kind: ActorKind::System,
        id: format!("cli:{}", user.as_deref().unwrap_or("unknown")),
        name: match user {
            Some(user) => format!("{user} (command line)"),
            None => "command line".to_string(),
        },
        email: None,
        avatar: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_base62_and_different_each_time() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        for s in [&a, &b] {
            assert_eq!(s.len(), 44);
            assert!(looks_like_secret(s), "{s}");
        }
        assert!(!looks_like_secret("atl_short"));
        assert!(!looks_like_secret(&format!("xyz_{}", &a[4..])));
        assert!(!looks_like_secret(&format!("{}!", &a[..43])));
    }
}
