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
//!
//! Rows stay as PostgreSQL sent them: a batch is the wire rows, and
//! [`ExportedRow`] borrows its text from them, `changes` and `metadata`
//! included as the JSON text the database keeps. The file writers copy
//! those bytes straight out, so exporting a row parses no JSON and
//! allocates nothing per cell.

use std::collections::HashMap;

use app::model::EventQuery;
use app::model::limits::EXPORT_BATCH_BUDGET_BYTES;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, Transaction};
use uuid::Uuid;

use super::filter_sql::push_conditions;

/// Rows per query. Large enough that the per-query cost (planning, a round
/// trip) is small against the rows; a batch of big events also stops at
/// [`EXPORT_BATCH_BUDGET_BYTES`], so the server never holds more than that.
pub const EXPORT_BATCH: usize = 2_000;

/// The columns of an exported row; `changes` and `metadata` as JSON text.
/// Whether the record was deleted is not looked up row by row here (a
/// probe per row would cost more than reading the row): see
/// [`ExportReader::deleted_marks`].
const EXPORT_COLUMNS: &str = "SELECT id, org_id, seq, occurred_at, received_at, actor_kind, actor_id, \
        actor_name, actor_email, actor_avatar, action, entity_type, entity_id, entity_name, \
        changes::text AS changes, host(ip) AS ip, user_agent, session_id, request_id, country, \
        metadata::text AS metadata, category, priority ";

/// Records whose deleted mark an export remembers, so a record seen again
/// (most records have several events) costs no second look-up. Past this
/// many the memory is cleared and filled again, which keeps it bounded
/// (a few MB) whatever the size of the log.
const KNOWN_RECORDS: usize = 50_000;

/// What a row is counted as against the byte budget beyond its text: the
/// fixed-size columns and the row's bookkeeping (as the page reads count).
const ROW_OVERHEAD_BYTES: usize = 256;

/// One exported event, borrowed from its batch.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedRow<'a> {
    pub id: Uuid,
    pub org_id: Uuid,
    /// Position in the org's hash chain (`None` only for rows stored before
    /// chaining existed).
    pub seq: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub actor_kind: &'a str,
    pub actor_id: &'a str,
    pub actor_name: &'a str,
    pub actor_email: Option<&'a str>,
    pub actor_avatar: Option<&'a str>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub entity_name: Option<&'a str>,
    /// JSON text, as stored.
    pub changes: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub country: Option<&'a str>,
    /// JSON text, as stored.
    pub metadata: &'a str,
    pub category: &'a str,
    pub priority: &'a str,
    /// Whether a later event deleted the record (from the deleted-entity
    /// projection, as of the export's snapshot).
    pub entity_deleted: bool,
}

impl<'a> ExportedRow<'a> {
    /// Decodes a row of [`EXPORT_COLUMNS`] by position (a million rows make
    /// the by-name look-up and type check per cell count); every value is
    /// still decoded and checked.
    fn decode(row: &'a PgRow, entity_deleted: bool) -> Result<Self, sqlx::Error> {
        Ok(ExportedRow {
            id: row.try_get_unchecked(0)?,
            org_id: row.try_get_unchecked(1)?,
            seq: row.try_get_unchecked(2)?,
            occurred_at: row.try_get_unchecked(3)?,
            received_at: row.try_get_unchecked(4)?,
            actor_kind: row.try_get_unchecked(5)?,
            actor_id: row.try_get_unchecked(6)?,
            actor_name: row.try_get_unchecked(7)?,
            actor_email: row.try_get_unchecked(8)?,
            actor_avatar: row.try_get_unchecked(9)?,
            action: row.try_get_unchecked(10)?,
            entity_type: row.try_get_unchecked(ENTITY_TYPE)?,
            entity_id: row.try_get_unchecked(ENTITY_ID)?,
            entity_name: row.try_get_unchecked(13)?,
            changes: row.try_get_unchecked(14)?,
            ip: row.try_get_unchecked(15)?,
            user_agent: row.try_get_unchecked(16)?,
            session_id: row.try_get_unchecked(17)?,
            request_id: row.try_get_unchecked(18)?,
            country: row.try_get_unchecked(19)?,
            metadata: row.try_get_unchecked(20)?,
            category: row.try_get_unchecked(21)?,
            priority: row.try_get_unchecked(22)?,
            entity_deleted,
        })
    }
}

/// Positions of the record's columns in [`EXPORT_COLUMNS`].
const ENTITY_TYPE: usize = 11;
const ENTITY_ID: usize = 12;

/// One batch of rows, newest first, as they came off the connection, and
/// the deleted mark of each.
pub struct ExportBatch {
    rows: Vec<PgRow>,
    deleted: Vec<bool>,
}

impl ExportBatch {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows, decoded as they are walked (decoding borrows; a column the
    /// database sent in an unexpected type is an error).
    pub fn rows(&self) -> impl Iterator<Item = Result<ExportedRow<'_>, sqlx::Error>> {
        self.rows.iter().zip(&self.deleted).map(|(row, &deleted)| ExportedRow::decode(row, deleted))
    }
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
    /// Deleted marks already looked up, by [`record_key`].
    known: HashMap<String, bool>,
    /// Most records [`ExportReader::known`] holds ([`KNOWN_RECORDS`]).
    known_limit: usize,
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
        // Every batch of an export without filters is the same statement,
        // planned once (see `list_events_within`).
        let tx = super::tenant::begin_read_planned(
            pool,
            org_id,
            true,
            super::tenant::EXPORT_BATCH_TIMEOUT,
            !query.is_unfiltered(),
        )
        .await?;
        let done = query.is_empty_window();
        Ok(ExportReader {
            tx,
            org_id,
            query,
            after: None,
            batch: batch.max(1),
            budget,
            done,
            known: HashMap::new(),
            known_limit: KNOWN_RECORDS,
        })
    }

    /// The next events, newest first; empty once every match was returned.
    ///
    /// Rows are taken off the connection one by one while they start within
    /// the byte budget (so the first always, whatever its size); the rest of
    /// the statement's rows are dropped unread and the next batch starts
    /// after the last row kept.
    pub async fn next_batch(&mut self) -> Result<ExportBatch, sqlx::Error> {
        if self.done {
            return Ok(ExportBatch { rows: Vec::new(), deleted: Vec::new() });
        }
        // The same walk as a timeline page, on the same indexes, plus the
        // chain position.
        let mut sql = QueryBuilder::<Postgres>::new(EXPORT_COLUMNS);
        sql.push("FROM audit_events WHERE org_id = ").push_bind(self.org_id);
        push_conditions(&mut sql, self.org_id, &self.query);
        if let Some((at, id)) = self.after {
            sql.push(" AND (occurred_at, id) < (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        // Written in, not bound: see `page_statement`'s limit.
        sql.push(" ORDER BY occurred_at DESC, id DESC LIMIT ").push(self.batch.to_string());
        let mut rows = Vec::with_capacity(self.batch.min(EXPORT_BATCH));
        let mut bytes = 0;
        let mut cut = false;
        {
            let mut stream = sql.build().fetch(&mut *self.tx);
            while let Some(row) = stream.try_next().await? {
                bytes += row_bytes(&row);
                rows.push(row);
                if bytes >= self.budget {
                    cut = true;
                    break;
                }
            }
        }
        // Done when the read ran out of matches, not when the budget cut it.
        if !cut && rows.len() < self.batch {
            self.done = true;
        }
        if let Some(last) = rows.last() {
            self.after = Some((last.try_get("occurred_at")?, last.try_get("id")?));
        }
        let deleted = self.deleted_marks(&rows).await?;
        Ok(ExportBatch { rows, deleted })
    }

    /// Whether each row's record is deleted: one look-up for the batch's
    /// records not seen before, none for the rest.
    async fn deleted_marks(&mut self, rows: &[PgRow]) -> Result<Vec<bool>, sqlx::Error> {
        let keys = rows
            .iter()
            .map(|r| Ok(record_key(r.try_get_unchecked(ENTITY_TYPE)?, r.try_get_unchecked(ENTITY_ID)?)))
            .collect::<Result<Vec<String>, sqlx::Error>>()?;
        let mut unknown: Vec<&str> =
            keys.iter().map(String::as_str).filter(|k| !self.known.contains_key(*k)).collect();
        unknown.sort_unstable();
        unknown.dedup();
        let mut learned: HashMap<&str, bool> = unknown.iter().map(|k| (*k, false)).collect();
        if !unknown.is_empty() {
            let (types, ids): (Vec<&str>, Vec<&str>) =
                unknown.iter().filter_map(|k| k.split_once('\0')).unzip();
            let deleted: Vec<(String, String)> = sqlx::query_as(
                "SELECT s.entity_type, s.entity_id \
                   FROM unnest($2::text[], $3::text[]) AS k(entity_type, entity_id) \
                   JOIN entity_state s ON s.org_id = $1 AND s.entity_type = k.entity_type \
                                      AND s.entity_id = k.entity_id \
                  WHERE s.deleted",
            )
            .bind(self.org_id)
            .bind(types)
            .bind(ids)
            .fetch_all(&mut *self.tx)
            .await?;
            for (t, i) in &deleted {
                if let Some(mark) = learned.get_mut(record_key(t, i).as_str()) {
                    *mark = true;
                }
            }
        }
        let marks = keys
            .iter()
            .map(|k| self.known.get(k).or_else(|| learned.get(k.as_str())).copied().unwrap_or(false))
            .collect();
        if self.known.len() + learned.len() > self.known_limit {
            self.known.clear();
        }
        self.known.extend(learned.into_iter().map(|(k, mark)| (k.to_string(), mark)));
        Ok(marks)
    }

    /// Remembers at most `records` deleted marks (tests use a few, so the
    /// memory is cleared many times in one export).
    pub fn remembering(mut self, records: usize) -> Self {
        self.known_limit = records;
        self
    }

    /// Ends the snapshot and gives the connection back.
    pub async fn finish(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// A record as one string: its type (a snake_case word) and id, split by a
/// NUL, which PostgreSQL text never holds.
fn record_key(entity_type: &str, entity_id: &str) -> String {
    let mut key = String::with_capacity(entity_type.len() + 1 + entity_id.len());
    key.push_str(entity_type);
    key.push('\0');
    key.push_str(entity_id);
    key
}

/// A row's size against the budget: its variable-length columns as sent,
/// plus a fixed allowance for the rest.
pub(super) fn row_bytes(row: &PgRow) -> usize {
    (0..row.len())
        .filter_map(|i| row.try_get_raw(i).ok().and_then(|v| v.as_bytes().ok()).map(<[u8]>::len))
        .sum::<usize>()
        + ROW_OVERHEAD_BYTES
}

/// The slug of an org, for naming its export files.
pub async fn org_slug(pool: &PgPool, org_id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT slug FROM orgs WHERE id = $1").bind(org_id).fetch_optional(pool).await
}
