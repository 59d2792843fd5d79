//! People and their memberships. Created by the owner connection (the CLI,
//! the first-owner setup page and the demo loader); the app role only reads
//! them.

use app::model::{DemoAccount, Role};
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct Membership {
    pub org_id: Uuid,
    pub slug: String,
    pub org_name: String,
    pub role: String,
}

impl Membership {
    pub fn role(&self) -> Role {
        // The column's CHECK admits only known roles; unknown means least.
        Role::parse(&self.role).unwrap_or(Role::Member)
    }
}

/// Creates a user (email lower-cased) or, if the email exists, returns its id
/// unchanged.
pub async fn ensure_user(
    pool: &PgPool,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<Uuid, sqlx::Error> {
    insert_user(pool, email, name, password_hash, false).await
}

/// Like [`ensure_user`], for the demo loader only: a new user is marked as
/// a demo account, which a demo server's login page lists. An existing user
/// with that email keeps what it is (a real account never becomes listed).
pub async fn ensure_demo_user(
    pool: &PgPool,
    email: &str,
    name: &str,
    password_hash: &str,
) -> Result<Uuid, sqlx::Error> {
    insert_user(pool, email, name, password_hash, true).await
}

async fn insert_user(
    pool: &PgPool,
    email: &str,
    name: &str,
    password_hash: &str,
    demo: bool,
) -> Result<Uuid, sqlx::Error> {
    let email = email.trim().to_lowercase();
    sqlx::query_scalar!(
        r#"WITH new AS (INSERT INTO users (id, email, name, password_hash, demo) VALUES ($1, $2, $3, $4, $5)
                        ON CONFLICT (email) DO NOTHING RETURNING id)
           SELECT id AS "id!" FROM new UNION ALL SELECT id FROM users WHERE email = $2 LIMIT 1"#,
        Uuid::now_v7(),
        email,
        name,
        password_hash,
        demo,
    )
    .fetch_one(pool)
    .await
}

/// Whether anyone can sign in yet.
pub async fn any_user(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM users) AS "any!""#).fetch_one(pool).await
}

/// How many demo accounts exist (their password, `demo`, is public).
pub async fn demo_user_count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM users WHERE demo"#).fetch_one(pool).await
}

/// Makes `user_id` a member of `org_id` with `role` (replacing a former role).
pub async fn set_membership(
    pool: &PgPool,
    org_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT (org_id, user_id) DO UPDATE SET role = EXCLUDED.role",
        org_id,
        user_id,
        role.as_str(),
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as!(
        UserRecord,
        "SELECT id, email, name, password_hash FROM users WHERE email = $1",
        email.trim().to_lowercase(),
    )
    .fetch_optional(pool)
    .await
}

/// The orgs a user belongs to, by name.
pub async fn memberships(pool: &PgPool, user_id: Uuid) -> Result<Vec<Membership>, sqlx::Error> {
    sqlx::query_as!(
        Membership,
        "SELECT o.id AS org_id, o.slug, o.name AS org_name, m.role \
           FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.name, o.slug",
        user_id,
    )
    .fetch_all(pool)
    .await
}

/// The demo accounts with their orgs, for the login page of a demo server:
/// only users the demo loader created, never a real account added later.
pub async fn demo_accounts(pool: &PgPool) -> Result<Vec<DemoAccount>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT u.name, u.email, m.role, o.name AS org FROM users u \
           JOIN memberships m ON m.user_id = u.id JOIN orgs o ON o.id = m.org_id \
          WHERE u.demo \
          ORDER BY o.created_at, array_position(ARRAY['owner','admin','developer','member'], m.role), u.name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DemoAccount {
            name: row.name,
            email: row.email,
            role: Role::parse(&row.role).unwrap_or(Role::Member),
            org: row.org,
        })
        .collect())
}
