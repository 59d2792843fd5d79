//! A timeline page: the statement that walks an index from the cursor, the
//! bounded stretch a short search term is tested on, and the plan a page
//! gets (for the benchmark's report).

use super::*;

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
///
/// `budget` is [`PAGE_BUDGET_BYTES`] for the product; tests use small ones.
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
    let mut tx =
        crate::store::tenant::begin_read_planned(pool, org_id, true, READ_TIMEOUT, custom_plans).await?;
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
            bytes += crate::store::export::row_bytes(&row);
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
pub(super) fn has_short_term(query: &EventQuery) -> bool {
    query.filters.iter().any(|f| f.search_terms().iter().any(|t| t.chars().count() < 3))
}

/// For a query with a short search term (and no actor filter, whose own
/// index already bounds the walk), the last of the next [`SHORT_TERM_SCAN`]
/// events after `after` that the rest of the query admits: the page tests
/// the search only above it. `None` when the query needs no bound, or fewer
/// events than that remain.
pub(super) async fn scan_floor(
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

/// The statement that reads one page (see [`list_events_within`]), after `prefix`
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
pub(super) fn page_statement_with(
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
pub(super) fn split_actors(query: &EventQuery) -> (Option<Vec<String>>, EventQuery) {
    let mut rest = query.clone();
    let actors =
        rest.filters.iter_mut().find(|f| !f.actors.is_empty()).map(|f| std::mem::take(&mut f.actors));
    (actors, rest)
}
