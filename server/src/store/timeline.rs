//! Reading the timeline.

use app::model::limits::{PAGE_BUDGET_BYTES, SINCE_BUDGET_BYTES};
use app::model::{
    Actor, ActorKind, ActorSummary, AuditEvent, Changes, Cursor, EntityRef, EventContext, EventCount,
    EventQuery, RecordNeighbors, TimelinePage,
};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use app::model::SHORT_TERM_SCAN;

use super::filter_sql::{escape_like, push_actor_ids, push_conditions};
use super::stored_json::StoredJson;
use super::tenant::READ_TIMEOUT;

/// A count is a nicety beside the page: it gets less time than the page.
const COUNT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

pub(super) const EVENT_COLUMNS: &str = "SELECT e.id, e.org_id, e.seq, e.occurred_at, e.received_at, e.actor_kind, e.actor_id, \
        e.actor_name, e.actor_email, e.actor_avatar, e.action, e.entity_type, e.entity_id, e.entity_name, \
        e.changes, host(e.ip) AS ip, e.user_agent, e.session_id, e.request_id, e.country, e.metadata, \
        EXISTS (SELECT 1 FROM entity_state s \
                 WHERE s.org_id = e.org_id AND s.entity_type = e.entity_type \
                   AND s.entity_id = e.entity_id AND s.deleted) AS entity_deleted ";

/// One page, newest first, strictly after `after`, with the org's chain head
/// as of the same snapshot (see [`begin_snapshot`]).
///
/// The inner query walks an index in time order from the cursor (the
/// planner picks the timeline, entity, actor or record index, or the
/// trigram index for a rare term) and stops after `limit + 1` rows: the extra
/// row only says whether another page exists. The deleted-entity lookup runs
/// on those rows alone, never on the whole log.
///
/// A page also stops once its events pass [`PAGE_BUDGET_BYTES`]: it then
/// holds fewer than `limit` events and a cursor, and the next page goes on
/// from there.
pub async fn list_events(
    pool: &PgPool,
    org_id: Uuid,
    query: &EventQuery,
    after: Option<Cursor>,
    limit: usize,
) -> Result<TimelinePage, sqlx::Error> {
    list_events_within(pool, org_id, query, after, limit, PAGE_BUDGET_BYTES).await
}

/// [`list_events`] with another byte budget (tests use small ones).
///
/// The budget is counted here, as the rows arrive, from their sizes on the
/// wire (as an export counts them): every row that starts within it is
/// kept (so the first always, whatever its size), and the statement's
/// remaining rows (at most `limit + 1` in all) are dropped undecoded.
/// Counting in SQL instead would turn every row's JSON into text once more
/// just to measure it, which cost more than the page's read itself.
pub async fn list_events_within(
    pool: &PgPool,
    org_id: Uuid,
    query: &EventQuery,
    after: Option<Cursor>,
    limit: usize,
    budget: usize,
) -> Result<TimelinePage, sqlx::Error> {
    // The plain timeline (no filter, only a position) has one plan good for
    // any org, a walk down the timeline index: plan it once per connection
    // rather than for every page (0.45 ms of a 0.9 ms read at 10M events).
    let custom_plans = !query.is_unfiltered();
    let mut tx = super::tenant::begin_read_planned(pool, org_id, true, READ_TIMEOUT, custom_plans).await?;
    let floor = scan_floor(&mut tx, org_id, query, after).await?;
    let mut sql = page_statement_with("", org_id, query, after, limit, true, floor);
    let mut rows: Vec<EventRow> = Vec::with_capacity(limit + 1);
    let (mut bytes, mut cut, mut head) = (0, false, None);
    {
        let mut stream = sql.build().fetch(&mut *tx);
        while let Some(row) = stream.try_next().await? {
            if !rows.is_empty() && bytes >= budget {
                cut = true;
                break;
            }
            bytes += super::export::row_bytes(&row);
            head = row.try_get::<Option<i64>, _>("head_seq")?;
            rows.push(EventRow::from_row(&row)?);
        }
    }
    // The head came with the rows; an empty page asks for it.
    let head_seq = match head {
        Some(seq) => seq,
        None if rows.is_empty() => head_in(&mut tx, org_id).await?,
        // An org never written has no head row.
        None => 0,
    };
    tx.commit().await?;
    let has_more = rows.len() > limit || cut;
    rows.truncate(limit);
    let (next_cursor, partial) = if has_more {
        (rows.last().map(|r| Cursor { occurred_at: r.occurred_at, id: r.id }.encode()), false)
    } else {
        // The stretch ended before the page filled: continue below it.
        (floor.map(|c| c.encode()), floor.is_some())
    };
    Ok(TimelinePage {
        events: rows.into_iter().map(EventRow::into_event).collect(),
        next_cursor,
        head_seq: Some(head_seq),
        partial,
    })
}

/// Whether `query` has a search term the trigram index cannot serve.
fn has_short_term(query: &EventQuery) -> bool {
    query.filters.iter().any(|f| f.search_terms().iter().any(|t| t.chars().count() < 3))
}

/// For a query with a short search term (and no actor filter, whose own
/// index already bounds the walk), the last of the next [`SHORT_TERM_SCAN`]
/// events after `after` that the rest of the query admits: the page tests
/// the search only above it. `None` when the query needs no bound, or fewer
/// events than that remain.
async fn scan_floor(
    conn: &mut sqlx::PgConnection,
    org_id: Uuid,
    query: &EventQuery,
    after: Option<Cursor>,
) -> Result<Option<Cursor>, sqlx::Error> {
    if !has_short_term(query) || query.filters.iter().any(|f| !f.actors.is_empty()) {
        return Ok(None);
    }
    let mut unsearched = query.clone();
    for f in &mut unsearched.filters {
        f.q.clear();
    }
    let mut sql = QueryBuilder::<Postgres>::new("SELECT occurred_at, id FROM audit_events WHERE org_id = ");
    sql.push_bind(org_id);
    push_conditions(&mut sql, org_id, &unsearched);
    if let Some(cursor) = after {
        sql.push(" AND (occurred_at, id) < (")
            .push_bind(cursor.occurred_at)
            .push(", ")
            .push_bind(cursor.id)
            .push(")");
    }
    sql.push(" ORDER BY occurred_at DESC, id DESC OFFSET ")
        .push_bind(SHORT_TERM_SCAN as i64 - 1)
        .push(" LIMIT 1");
    let found: Option<(DateTime<Utc>, Uuid)> = sql.build_query_as().fetch_optional(conn).await?;
    Ok(found.map(|(occurred_at, id)| Cursor { occurred_at, id }))
}

/// The statement that reads one page (see [`list_events`]), after `prefix`
/// (`EXPLAIN …` to see its plan), without the byte budget. Public for the
/// benchmark, which runs it bare to measure what the rest of a page read
/// costs, and counts every match through it.
pub fn page_statement(
    prefix: &str,
    org_id: Uuid,
    query: &EventQuery,
    after: Option<Cursor>,
    limit: usize,
) -> QueryBuilder<'static, Postgres> {
    page_statement_with(prefix, org_id, query, after, limit, false, None)
}

/// [`page_statement`], with the org's chain head as of the same statement
/// in every row (`head_seq`, NULL for an org never written) when `head`,
/// and reading no lower than `floor` (inclusive), the end of a bounded
/// stretch (see [`scan_floor`]).
fn page_statement_with(
    prefix: &str,
    org_id: Uuid,
    query: &EventQuery,
    after: Option<Cursor>,
    limit: usize,
    head: bool,
    floor: Option<Cursor>,
) -> QueryBuilder<'static, Postgres> {
    let mut sql = QueryBuilder::<Postgres>::new(prefix);
    sql.push(EVENT_COLUMNS);
    if head {
        sql.push(", (SELECT seq FROM chain_heads WHERE org_id = ").push_bind(org_id).push(") AS head_seq ");
    }
    let (actors, query) = split_actors(query);
    let query = &query;
    if let Some(actors) = &actors {
        // For a set of actors unknown when planning, the planner walks the
        // timeline and tests each event, which for a rare actor reads the
        // whole log. Walking each named actor's own index newest first and
        // merging reads at most a page per actor.
        sql.push("FROM (SELECT p.* FROM unnest(");
        push_actor_ids(&mut sql, org_id, actors);
        sql.push(") AS wanted(actor_id) CROSS JOIN LATERAL (SELECT * FROM audit_events WHERE org_id = ")
            .push_bind(org_id)
            .push(" AND audit_events.actor_id = wanted.actor_id");
    } else {
        sql.push("FROM (SELECT * FROM audit_events WHERE org_id = ").push_bind(org_id);
    }
    push_conditions(&mut sql, org_id, query);
    if let Some(cursor) = after {
        sql.push(" AND (occurred_at, id) < (")
            .push_bind(cursor.occurred_at)
            .push(", ")
            .push_bind(cursor.id)
            .push(")");
    }
    if let Some(floor) = floor {
        sql.push(" AND (occurred_at, id) >= (")
            .push_bind(floor.occurred_at)
            .push(", ")
            .push_bind(floor.id)
            .push(")");
    }
    // The limit is written into the statement, not bound: a plan made once
    // for any values (the plain timeline's) must know it reads a page, not
    // a tenth of the org, or it sorts the org instead of walking the index.
    sql.push(" ORDER BY occurred_at DESC, id DESC LIMIT ").push((limit + 1).to_string());
    if actors.is_some() {
        sql.push(") p ORDER BY p.occurred_at DESC, p.id DESC LIMIT ").push_bind((limit + 1) as i64);
    }
    sql.push(") e ORDER BY e.occurred_at DESC, e.id DESC");
    sql
}

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

/// The plan PostgreSQL picks for a page read, as `EXPLAIN` prints it, read
/// as the product reads (the app role, the org's snapshot): which index a
/// filter walks shows why it is fast or slow.
pub async fn page_plan(
    pool: &PgPool,
    org_id: Uuid,
    query: &EventQuery,
    limit: usize,
) -> Result<Vec<String>, sqlx::Error> {
    let mut sql = page_statement("EXPLAIN (COSTS OFF) ", org_id, query, None, limit);
    let mut tx = begin_snapshot(pool, org_id).await?;
    let lines: Vec<String> = sql.build_query_scalar().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(lines)
}

/// The first actor filter of `query`, taken out of it: a page walks those
/// actors' index itself, so the rest of the query need not test them again.
fn split_actors(query: &EventQuery) -> (Option<Vec<String>>, EventQuery) {
    let mut rest = query.clone();
    let actors =
        rest.filters.iter_mut().find(|f| !f.actors.is_empty()).map(|f| std::mem::take(&mut f.actors));
    (actors, rest)
}

/// Most seqs one [`events_since`] call looks at. A tab left open for a day
/// on a busy org may be millions of events behind; with a selective filter,
/// finding the few that match would read all of them in one statement. The
/// caller continues from the returned position instead, one bounded step at
/// a time, so no call reads more than this many rows.
pub const SINCE_SCAN_WINDOW: i64 = 10_000;

/// Events of `org_id` matching `query` with `after_seq < seq`, oldest first,
/// at most `limit`, and the seq through which the caller now has every
/// match: the org's chain head, or less when `limit` or
/// [`SINCE_SCAN_WINDOW`] cut the read short (then call again from there).
///
/// The head and the events are read in one snapshot, and an org's events
/// commit in seq order (seq is assigned under the chain head's lock, held to
/// commit), so continuing from the returned seq, or from a page's
/// `head_seq`, misses nothing and repeats nothing. The range walks the
/// `(org_id, seq)` index.
///
/// One answer also holds at most [`SINCE_BUDGET_BYTES`] of events (always
/// at least one): past it, the returned seq is the last event's.
pub async fn events_since(
    pool: &PgPool,
    org_id: Uuid,
    query: &EventQuery,
    after_seq: i64,
    limit: usize,
) -> Result<(Vec<AuditEvent>, i64), sqlx::Error> {
    events_since_within(pool, org_id, query, after_seq, limit, SINCE_BUDGET_BYTES).await
}

/// [`events_since`] with another byte budget (tests use small ones).
pub async fn events_since_within(
    pool: &PgPool,
    org_id: Uuid,
    query: &EventQuery,
    after_seq: i64,
    limit: usize,
    budget: usize,
) -> Result<(Vec<AuditEvent>, i64), sqlx::Error> {
    let mut tx = begin_snapshot(pool, org_id).await?;
    let head = head_in(&mut tx, org_id).await?;
    if head <= after_seq || limit == 0 {
        tx.commit().await?;
        return Ok((Vec::new(), head.min(after_seq)));
    }
    let through = head.min(after_seq.saturating_add(SINCE_SCAN_WINDOW));
    let mut sql = QueryBuilder::<Postgres>::new("");
    push_budget_open(&mut sql, "seq");
    sql.push(EVENT_COLUMNS).push(ROW_BYTES);
    sql.push("FROM (SELECT * FROM audit_events WHERE org_id = ")
        .push_bind(org_id)
        .push(" AND seq > ")
        .push_bind(after_seq)
        .push(" AND seq <= ")
        .push_bind(through);
    push_conditions(&mut sql, org_id, query);
    sql.push(" ORDER BY seq LIMIT ").push_bind(limit as i64).push(") e ORDER BY e.seq");
    push_budget_close(&mut sql, "seq", budget);
    let rows: Vec<BudgetedRow> = sql.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let cut = BudgetedRow::cut(&rows);
    let rows: Vec<EventRow> = rows.into_iter().map(|r| r.row).collect();
    let through =
        if rows.len() >= limit || cut { rows.last().and_then(|r| r.seq).unwrap_or(through) } else { through };
    Ok((rows.into_iter().map(EventRow::into_event).collect(), through))
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

/// How many events match, counting at most `cap + 1` rows: the answer is
/// exact below the cap and "more" above it, so a count never reads millions
/// of rows. A statement timeout bounds the rare filter that is slow to
/// satisfy even that.
pub async fn count_events(
    pool: &PgPool,
    org_id: Uuid,
    query: &EventQuery,
    cap: u64,
) -> Result<EventCount, sqlx::Error> {
    let mut tx = super::tenant::begin_read(pool, org_id, true, COUNT_TIMEOUT).await?;
    // A short term is counted over the same bounded stretch a first page
    // tests (see `scan_floor`); past it, the count can only say "at least".
    let floor = scan_floor(&mut tx, org_id, query, None).await?;
    let mut sql = QueryBuilder::<Postgres>::new("SELECT count(*) FROM (SELECT 1 FROM ");
    // Per actor on the actor index, as for a page (see `list_events`).
    let (actors, query) = split_actors(query);
    let query = &query;
    if let Some(actors) = &actors {
        sql.push("unnest(");
        push_actor_ids(&mut sql, org_id, actors);
        sql.push(") AS wanted(actor_id) CROSS JOIN LATERAL (SELECT 1 FROM audit_events WHERE org_id = ")
            .push_bind(org_id)
            .push(" AND audit_events.actor_id = wanted.actor_id");
    } else {
        sql.push("audit_events WHERE org_id = ").push_bind(org_id);
    }
    push_conditions(&mut sql, org_id, query);
    if let Some(floor) = floor {
        sql.push(" AND (occurred_at, id) >= (")
            .push_bind(floor.occurred_at)
            .push(", ")
            .push_bind(floor.id)
            .push(")");
    }
    sql.push(" LIMIT ").push_bind(cap as i64 + 1);
    if actors.is_some() {
        sql.push(") per_actor LIMIT ").push_bind(cap as i64 + 1);
    }
    sql.push(") matched");
    let n: i64 = sql.build_query_scalar().fetch_one(&mut *tx).await?;
    tx.commit().await?;
    let n = n.max(0) as u64;
    Ok(EventCount { count: n.min(cap), capped: n > cap || floor.is_some() })
}

/// The changes to event `id`'s record just before and after it, among the
/// events `within` admits.
pub async fn record_neighbors(
    pool: &PgPool,
    org_id: Uuid,
    id: Uuid,
    within: &EventQuery,
) -> Result<RecordNeighbors, sqlx::Error> {
    let mut tx = super::tenant::begin_read(pool, org_id, false, READ_TIMEOUT).await?;
    let mut origin = QueryBuilder::<Postgres>::new(
        "SELECT entity_type, entity_id, occurred_at, id FROM audit_events WHERE org_id = ",
    );
    origin.push_bind(org_id).push(" AND id = ").push_bind(id);
    push_conditions(&mut origin, org_id, within);
    let found: Option<(String, String, DateTime<Utc>, Uuid)> =
        origin.build_query_as().fetch_optional(&mut *tx).await?;
    let Some((entity_type, entity_id, at, id)) = found else {
        return Ok(RecordNeighbors::default());
    };
    let side = |older: bool| {
        let mut sql = QueryBuilder::<Postgres>::new(EVENT_COLUMNS);
        sql.push("FROM audit_events e WHERE e.org_id = ")
            .push_bind(org_id)
            .push(" AND e.entity_id = ")
            .push_bind(entity_id.clone())
            .push(" AND e.entity_type = ")
            .push_bind(entity_type.clone())
            .push(if older { " AND (e.occurred_at, e.id) < (" } else { " AND (e.occurred_at, e.id) > (" })
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
        push_conditions(&mut sql, org_id, within);
        sql.push(if older {
            " ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1"
        } else {
            " ORDER BY e.occurred_at, e.id LIMIT 1"
        });
        sql
    };
    let previous: Option<EventRow> = side(true).build_query_as().fetch_optional(&mut *tx).await?;
    let next: Option<EventRow> = side(false).build_query_as().fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    Ok(RecordNeighbors { previous: previous.map(EventRow::into_event), next: next.map(EventRow::into_event) })
}

/// Actors of an org, by skip scan over `audit_events_by_actor` (one index
/// probe per actor, whatever the number of events), each with the name and
/// kind of its latest event; filtered by `search` in name, email or id.
pub async fn actors(
    pool: &PgPool,
    org_id: Uuid,
    search: &str,
    limit: usize,
) -> Result<Vec<ActorSummary>, sqlx::Error> {
    let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
    let mut tx = super::tenant::begin_read(pool, org_id, false, READ_TIMEOUT).await?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "WITH RECURSIVE a(actor_id) AS ( \
             (SELECT actor_id FROM audit_events WHERE org_id = $1 ORDER BY actor_id LIMIT 1) \
             UNION ALL \
             SELECT (SELECT e.actor_id FROM audit_events e \
                      WHERE e.org_id = $1 AND e.actor_id > a.actor_id ORDER BY e.actor_id LIMIT 1) \
               FROM a WHERE a.actor_id IS NOT NULL) \
         SELECT a.actor_id, l.actor_kind, l.actor_name FROM a \
         CROSS JOIN LATERAL (SELECT actor_kind, actor_name, actor_email FROM audit_events e \
                              WHERE e.org_id = $1 AND e.actor_id = a.actor_id \
                              ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1) l \
         WHERE a.actor_id IS NOT NULL \
           AND (lower(l.actor_name) LIKE $2 OR lower(coalesce(l.actor_email, '')) LIKE $2 \
                OR lower(a.actor_id) LIKE $2) \
         ORDER BY lower(l.actor_name), a.actor_id LIMIT $3",
    )
    .bind(org_id)
    .bind(pattern)
    .bind(limit as i64)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, name)| ActorSummary {
            kind: ActorKind::parse(&kind).unwrap_or(ActorKind::System),
            id,
            name,
        })
        .collect())
}

/// The distinct entity categories of an org, by skip scan: each step jumps to
/// the next category in `audit_events_by_entity_type`, so the cost is one
/// index probe per category, not a scan of millions of events.
pub async fn entity_types(pool: &PgPool, org_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = super::tenant::begin_read(pool, org_id, false, READ_TIMEOUT).await?;
    let types = sqlx::query_scalar(
        "WITH RECURSIVE t(entity_type) AS ( \
             (SELECT entity_type FROM audit_events WHERE org_id = $1 ORDER BY entity_type LIMIT 1) \
             UNION ALL \
             SELECT (SELECT a.entity_type FROM audit_events a \
                      WHERE a.org_id = $1 AND a.entity_type > t.entity_type \
                      ORDER BY a.entity_type LIMIT 1) \
               FROM t WHERE t.entity_type IS NOT NULL) \
         SELECT entity_type FROM t WHERE entity_type IS NOT NULL",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(types)
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
    entity_deleted: bool,
}

impl EventRow {
    pub(super) fn into_event(self) -> AuditEvent {
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
        }
    }
}
