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

use std::time::Duration;

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// How long one read statement of a page, a menu or the live tail may run.
/// Well-indexed reads take milliseconds even at ten million events; one that
/// runs for seconds is a filter the indexes cannot serve, and past this it is
/// cancelled so that it cannot hold a connection others are waiting for.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one batch of an export may take to read. Longer than a page
/// (an export may filter on what no index serves), but bounded, so a stuck
/// statement cannot keep a snapshot open while its reader waits.
pub const EXPORT_BATCH_TIMEOUT: Duration = Duration::from_secs(60);

/// A read transaction scoped to `org_id` whose statements are cancelled
/// after `timeout` ([`Duration::ZERO`]: never, for a verification that walks
/// the whole chain in one statement); with `snapshot`, on one REPEATABLE READ snapshot (every
/// statement sees the same committed events and chain head). Read-only, so
/// it never fails to serialize. The transaction begins and the org, the
/// timeout and custom planning are set in one round trip (a simple query: the values are a
/// UUID and a number, written by us), both LOCAL: they end with the
/// transaction, which also keeps them right behind a transaction-mode
/// pooler.
pub async fn begin_read(
    pool: &PgPool,
    org_id: Uuid,
    snapshot: bool,
    timeout: Duration,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    begin_read_planned(pool, org_id, snapshot, timeout, true).await
}

/// [`begin_read`], planning every statement for its values (`custom`), or
/// else planning each once and reusing that plan whatever the values, for
/// statements whose best plan does not depend on them. Not PostgreSQL's
/// `auto`: with the org and the limit as parameters it kept choosing
/// custom plans for the plain timeline, planned anew on every page.
pub async fn begin_read_planned(
    pool: &PgPool,
    org_id: Uuid,
    snapshot: bool,
    timeout: Duration,
    custom: bool,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let begin = if snapshot { "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" } else { "BEGIN READ ONLY" };
    // Custom plans: a search is planned with its actual term, which decides
    // between the trigram and the time index (migrations 0002, 0019).
    let plans = if custom { "force_custom_plan" } else { "force_generic_plan" };
    pool.begin_with(format!(
        "{begin}; SELECT set_config('app.org_id', '{org_id}', true), \
         set_config('statement_timeout', '{}ms', true), \
         set_config('plan_cache_mode', '{plans}', true)",
        timeout.as_millis()
    ))
    .await
}

/// Whether `err` is PostgreSQL cancelling a statement at its timeout.
pub fn is_timeout(err: &sqlx::Error) -> bool {
    err.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "57014")
}

/// A transaction scoped to `org_id`.
pub async fn begin_for_org(
    pool: &PgPool,
    org_id: Uuid,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    begin_for_org_then(pool, org_id, "").await
}

/// [`begin_for_org`], followed by `then` (statements without parameters,
/// such as a `SAVEPOINT`), all in one round trip.
pub async fn begin_for_org_then(
    pool: &PgPool,
    org_id: Uuid,
    then: &str,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    // Generic plans may be kept (the default), whatever the role's own
    // setting says: a write's statements are the same every time.
    pool.begin_with(format!(
        "BEGIN; SELECT set_config('app.org_id', '{org_id}', true), \
         set_config('plan_cache_mode', 'auto', true); {then}"
    ))
    .await
}

/// Scopes the rest of the caller's transaction to `org_id`.
pub async fn set_org(conn: &mut PgConnection, org_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('app.org_id', $1, true)").bind(org_id.to_string()).execute(conn).await?;
    Ok(())
}
