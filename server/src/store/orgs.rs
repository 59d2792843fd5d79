use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Org {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// Creates the org unless one with this id exists. Needs the owner pool.
pub async fn ensure_org(pool: &PgPool, id: Uuid, slug: &str, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO orgs (id, slug, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        id,
        slug,
        name
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn find_org(pool: &PgPool, slug: &str) -> Result<Option<Org>, sqlx::Error> {
    sqlx::query_as!(Org, "SELECT id, slug, name FROM orgs WHERE slug = $1", slug).fetch_optional(pool).await
}

pub async fn org_by_id(pool: &PgPool, id: Uuid) -> Result<Option<Org>, sqlx::Error> {
    sqlx::query_as!(Org, "SELECT id, slug, name FROM orgs WHERE id = $1", id).fetch_optional(pool).await
}

/// The oldest org: the one a single-tenant install shows.
pub async fn first_org(pool: &PgPool) -> Result<Option<Org>, sqlx::Error> {
    sqlx::query_as!(Org, "SELECT id, slug, name FROM orgs ORDER BY created_at, slug LIMIT 1")
        .fetch_optional(pool)
        .await
}

pub async fn all_orgs(pool: &PgPool) -> Result<Vec<Org>, sqlx::Error> {
    sqlx::query_as!(Org, "SELECT id, slug, name FROM orgs ORDER BY created_at, slug").fetch_all(pool).await
}
