//! What is new since a seq, for the live tail.

use super::*;

/// Most seqs one [`events_since_within`] call looks at. A tab left open for a day
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
///
/// `budget` is [`SINCE_BUDGET_BYTES`] for the product; tests use small ones.
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
