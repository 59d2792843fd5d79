//! Reading the timeline: the rows every read selects and decodes, the byte
//! budget that bounds a read, and the snapshot a page and its chain head
//! share. Pages are in `page`, the live tail's reads in `since`, and the
//! [`AuditStore`](app::api::AuditStore) port with the rest of its queries
//! in `port`.

use app::model::limits::{PAGE_BUDGET_BYTES, SINCE_BUDGET_BYTES};
use app::model::{
    Actor, ActorKind, ActorSummary, AuditEvent, Category, Changes, Cursor, EntityRef, EventContext,
    EventCount, EventQuery, Priority, RecordNeighbors, TimelinePage,
};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use app::model::SHORT_TERM_SCAN;

use super::filter_sql::{escape_like, push_actor_ids, push_conditions};
use super::stored_json::StoredJson;
use super::tenant::READ_TIMEOUT;

mod page;
mod port;
mod since;

pub use page::{list_events_within, page_plan, page_statement};
pub use since::{SINCE_SCAN_WINDOW, events_since_within};

/// A count is a nicety beside the page: it gets less time than the page.
const COUNT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

pub(super) const EVENT_COLUMNS: &str = "SELECT e.id, e.org_id, e.seq, e.occurred_at, e.received_at, e.actor_kind, e.actor_id, \
        e.actor_name, e.actor_email, e.actor_avatar, e.action, e.entity_type, e.entity_id, e.entity_name, \
        e.changes, host(e.ip) AS ip, e.user_agent, e.session_id, e.request_id, e.country, e.metadata, \
        e.category, e.priority, EXISTS (SELECT 1 FROM entity_state s \
                 WHERE s.org_id = e.org_id AND s.entity_type = e.entity_type \
                   AND s.entity_id = e.entity_id AND s.deleted) AS entity_deleted ";

/// The size of one row as the read budgets count it: its JSON documents and
/// its longer texts as PostgreSQL holds them, plus a fixed allowance for
/// the rest (ids, times, short codes), close to what [`MAX_EVENT_BYTES`]
/// counts for the same event. Pushed after [`EVENT_COLUMNS`].
///
/// [`MAX_EVENT_BYTES`]: app::model::limits::MAX_EVENT_BYTES
pub(super) const ROW_BYTES: &str = ", coalesce(octet_length(e.changes::text), 0) \
        + coalesce(octet_length(e.metadata::text), 0) + octet_length(e.actor_id) \
        + octet_length(e.actor_name) + coalesce(octet_length(e.actor_email), 0) \
        + coalesce(octet_length(e.actor_avatar), 0) + octet_length(e.entity_id) \
        + coalesce(octet_length(e.entity_name), 0) + coalesce(octet_length(e.user_agent), 0) \
        + coalesce(octet_length(e.session_id), 0) + coalesce(octet_length(e.request_id), 0) \
        + coalesce(octet_length(e.external_id), 0) + 256 AS row_bytes ";

/// Opens a statement whose rows stop at a byte budget: around a statement
/// selecting [`EVENT_COLUMNS`] and [`ROW_BYTES`] in `order`, a running sum
/// of the row sizes keeps every row that starts within the budget (so the
/// first row always, whatever its size), and a count of the rows before
/// the cut says whether it cut any. The rows past the budget never leave
/// the database. Close with [`push_budget_close`].
pub(super) fn push_budget_open(sql: &mut QueryBuilder<'static, Postgres>, order: &str) {
    sql.push("SELECT * FROM (SELECT b.*, sum(b.row_bytes) OVER (ORDER BY ")
        .push(order)
        .push(" ROWS UNBOUNDED PRECEDING) AS running_bytes, count(*) OVER () AS inner_rows FROM (");
}

pub(super) fn push_budget_close(sql: &mut QueryBuilder<'static, Postgres>, order: &str, budget: usize) {
    sql.push(") b) w WHERE w.running_bytes - w.row_bytes < ")
        .push_bind(i64::try_from(budget).unwrap_or(i64::MAX))
        .push(" ORDER BY ")
        .push(order);
}

/// A row of a budgeted statement.
#[derive(sqlx::FromRow)]
pub(super) struct BudgetedRow {
    #[sqlx(flatten)]
    pub row: EventRow,
    /// Rows the statement had before the budget cut it.
    pub inner_rows: i64,
}

impl BudgetedRow {
    /// Whether the budget left rows out.
    pub fn cut(rows: &[BudgetedRow]) -> bool {
        rows.first().is_some_and(|r| usize::try_from(r.inner_rows).unwrap_or(0) > rows.len())
    }
}

/// The seq of `org_id`'s newest event (0 for an empty log), for a live
/// stream's first message.
pub async fn head_seq(pool: &PgPool, org_id: Uuid) -> Result<i64, sqlx::Error> {
    let mut tx = super::tenant::begin_read(pool, org_id, false, READ_TIMEOUT).await?;
    let head = head_in(&mut tx, org_id).await?;
    tx.commit().await?;
    Ok(head)
}

/// A read-only transaction on one snapshot (REPEATABLE READ), scoped to
/// `org_id`: every statement in it sees the same committed events and the
/// same chain head, so a page and the head it reports agree exactly.
/// Read-only snapshots never fail to serialize, and cost nothing more than
/// READ COMMITTED for a couple of statements.
async fn begin_snapshot(
    pool: &PgPool,
    org_id: Uuid,
) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
    super::tenant::begin_read(pool, org_id, true, READ_TIMEOUT).await
}

/// The org's chain head on `conn`: written in the same transaction as the
/// events it counts (0006), so it is exactly the highest visible seq.
async fn head_in(conn: &mut sqlx::PgConnection, org_id: Uuid) -> Result<i64, sqlx::Error> {
    let head: Option<i64> = sqlx::query_scalar("SELECT seq FROM chain_heads WHERE org_id = $1")
        .bind(org_id)
        .fetch_optional(conn)
        .await?;
    Ok(head.unwrap_or(0))
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    id: Uuid,
    org_id: Uuid,
    /// NULL only for rows older than the hash chain (0006).
    seq: Option<i64>,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    actor_kind: String,
    actor_id: String,
    actor_name: String,
    actor_email: Option<String>,
    actor_avatar: Option<String>,
    action: String,
    entity_type: String,
    entity_id: String,
    entity_name: Option<String>,
    changes: Option<StoredJson>,
    ip: Option<String>,
    user_agent: Option<String>,
    session_id: Option<String>,
    request_id: Option<String>,
    country: Option<String>,
    metadata: StoredJson,
    category: String,
    priority: String,
    entity_deleted: bool,
}

impl EventRow {
    pub(super) fn into_event(self) -> AuditEvent {
        let estimated_country = match (&self.country, &self.ip) {
            (None, Some(ip)) => crate::geo::estimate(ip),
            _ => None,
        };
        AuditEvent {
            id: self.id,
            org_id: self.org_id,
            seq: self.seq.unwrap_or(0),
            occurred_at: self.occurred_at,
            received_at: self.received_at,
            actor: Actor {
                // The column's CHECK constraint admits only known kinds.
                kind: ActorKind::parse(&self.actor_kind).unwrap_or(ActorKind::System),
                id: self.actor_id,
                name: self.actor_name,
                email: self.actor_email,
                avatar: self.actor_avatar,
            },
            action: self.action,
            entity: EntityRef {
                entity_type: self.entity_type,
                id: self.entity_id,
                name: self.entity_name,
                deleted: self.entity_deleted,
            },
            // Written through the same model, so this only fails for rows
            // put in by hand; show them without changes rather than fail.
            changes: self.changes.and_then(|StoredJson(v)| serde_json::from_value::<Changes>(v).ok()),
            context: EventContext {
                ip: self.ip,
                user_agent: self.user_agent,
                session_id: self.session_id,
                request_id: self.request_id,
                country: self.country,
            },
            metadata: self.metadata.0,
            category: Category::parse(&self.category),
            priority: Priority::parse(&self.priority),
            estimated_country,
        }
    }
}
