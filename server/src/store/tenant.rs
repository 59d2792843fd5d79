//! Row-level security: the database itself keeps tenants apart.
//!
//! Policies on every tenant table (migration 0009) admit only rows whose
//! org_id equals the `app.org_id` setting, and the app role is not the
//! tables' owner, so they apply to every query it runs. Each store operation
//! opens a transaction and sets `app.org_id` with `set_config(.., true)`
//! (that is `SET LOCAL`: it ends with the transaction, so a pooled
//! connection never carries one tenant's setting into another's request).
//! A query that forgot its `WHERE org_id = ...` still sees one org only, and
//! with no org set it sees nothing.

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// A transaction scoped to `org_id`.
pub async fn begin_for_org(
    pool: &PgPool,
    org_id: Uuid,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    set_org(&mut tx, org_id).await?;
    Ok(tx)
}

/// Scopes the rest of the caller's transaction to `org_id`.
pub async fn set_org(conn: &mut PgConnection, org_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('app.org_id', $1, true)").bind(org_id.to_string()).execute(conn).await?;
    Ok(())
}
