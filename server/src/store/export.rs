//! Reading every event of an org that matches a query, newest first, for
//! exports of any size in constant memory.
//!
//! The read walks the timeline in keyset batches (`(occurred_at, id) <` the
//! last row sent), each a `LIMIT`ed query of the same shape as a timeline
//! page, so the planner keeps using the indexes a page uses and the server
//! holds one batch at a time. All batches run in one REPEATABLE READ, READ
//! ONLY transaction: the export is one consistent snapshot, so an event
//! stored meanwhile (even one whose `occurred_at` lies in the part already
//! sent) is either in the file once or not at all, never half seen.

use app::model::{AuditEvent, EventQuery};
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use super::filter_sql::push_conditions;
use super::timeline::{BudgetedRow, EVENT_COLUMNS, ROW_BYTES, push_budget_close, push_budget_open};
use app::model::limits::EXPORT_BATCH_BUDGET_BYTES;

/// Rows per query. Large enough that the per-query cost (planning, a round
/// trip) is small against the rows; a batch of big events also stops at
/// [`EXPORT_BATCH_BUDGET_BYTES`], so the server never holds more than that.
pub const EXPORT_BATCH: usize = 2_000;

/// One exported event and its place in the org's hash chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedEvent {
    /// Position in the org's hash chain (`None` only for rows stored before
    /// chaining existed).
    pub seq: Option<i64>,
    pub event: AuditEvent,
}

/// An export in progress: a snapshot of one org's log and a position in it.
/// Holds one pooled connection until [`ExportReader::finish`] or drop.
pub struct ExportReader {
    tx: Transaction<'static, Postgres>,
    org_id: Uuid,
    query: EventQuery,
    after: Option<(DateTime<Utc>, Uuid)>,
    batch: usize,
    budget: usize,
    done: bool,
}

impl ExportReader {
    /// Opens the snapshot. Fails early (before anything is sent) when no
    /// connection can be had.
    pub async fn open(pool: &PgPool, org_id: Uuid, query: EventQuery) -> Result<ExportReader, sqlx::Error> {
        Self::open_with_batch(pool, org_id, query, EXPORT_BATCH).await
    }

    /// [`ExportReader::open`] with another batch size (tests use small ones
    /// to cross many batch boundaries with few events).
    pub async fn open_with_batch(
        pool: &PgPool,
        org_id: Uuid,
        query: EventQuery,
        batch: usize,
    ) -> Result<ExportReader, sqlx::Error> {
        Self::open_with_budget(pool, org_id, query, batch, EXPORT_BATCH_BUDGET_BYTES).await
    }

    /// [`ExportReader::open_with_batch`] with another byte budget per batch.
    pub async fn open_with_budget(
        pool: &PgPool,
        org_id: Uuid,
        query: EventQuery,
        batch: usize,
        budget: usize,
    ) -> Result<ExportReader, sqlx::Error> {
        let tx = super::tenant::begin_read(pool, org_id, true, super::tenant::EXPORT_BATCH_TIMEOUT).await?;
        let done = query.is_empty_window();
        Ok(ExportReader { tx, org_id, query, after: None, batch: batch.max(1), budget, done })
    }

    /// The next events, newest first; empty once every match was returned.
    pub async fn next_batch(&mut self) -> Result<Vec<ExportedEvent>, sqlx::Error> {
        if self.done {
            return Ok(Vec::new());
        }
        // The same statement as a timeline page (inner query on the indexes,
        // deleted-entity lookup on the batch only), plus the chain position.
        const ORDER: &str = "occurred_at DESC, id DESC";
        let mut sql = QueryBuilder::<Postgres>::new("");
        push_budget_open(&mut sql, ORDER);
        sql.push(EVENT_COLUMNS).push(ROW_BYTES);
        sql.push("FROM (SELECT * FROM audit_events WHERE org_id = ").push_bind(self.org_id);
        push_conditions(&mut sql, self.org_id, &self.query);
        if let Some((at, id)) = self.after {
            sql.push(" AND (occurred_at, id) < (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        sql.push(" ORDER BY occurred_at DESC, id DESC LIMIT ")
            .push_bind(self.batch as i64)
            .push(") e ORDER BY e.occurred_at DESC, e.id DESC");
        push_budget_close(&mut sql, ORDER, self.budget);
        let rows: Vec<BudgetedRow> = sql.build_query_as().fetch_all(&mut *self.tx).await?;
        // Done when the read ran out of matches, not when the budget cut it.
        if !BudgetedRow::cut(&rows) && rows.len() < self.batch {
            self.done = true;
        }
        let events: Vec<ExportedEvent> = rows
            .into_iter()
            .map(|r| r.row.into_event())
            .map(|event| ExportedEvent { seq: (event.seq > 0).then_some(event.seq), event })
            .collect();
        if let Some(last) = events.last() {
            self.after = Some((last.event.occurred_at, last.event.id));
        }
        Ok(events)
    }

    /// Ends the snapshot and gives the connection back.
    pub async fn finish(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// The slug of an org, for naming its export files.
pub async fn org_slug(pool: &PgPool, org_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT slug FROM orgs WHERE id = $1").bind(org_id).fetch_optional(pool).await
}
