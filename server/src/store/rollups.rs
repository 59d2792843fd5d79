//! Counts of the log without counting it: sums of the rollups the insert
//! trigger keeps (migration 0020), exact to the event for any span of time,
//! and the recount that checks them against the events and repairs drift.
//!
//! A span's whole hours come from `event_rollups`; where a span starts or
//! ends inside an hour (a zone 30 minutes off UTC, say), that part-hour is
//! counted from the events, an index walk over at most an hour.

use app::model::Category;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Events per category in each span `[bounds[i], bounds[i + 1])`; `bounds`
/// must be ascending. One statement for the whole hours and, only when a
/// bound is inside an hour, one for the part-hours.
pub async fn counts_between(
    conn: &mut PgConnection,
    org_id: Uuid,
    bounds: &[DateTime<Utc>],
) -> Result<Vec<CategoryCounts>, sqlx::Error> {
    let spans = bounds.len().saturating_sub(1);
    let mut out = vec![CategoryCounts::default(); spans];
    let (Some(first), Some(last)) = (bounds.first(), bounds.last()) else { return Ok(out) };
    if spans == 0 {
        return Ok(out);
    }
    let from = floor_hour(*first);
    let until = ceil_hour(*last);
    let hours = sqlx::query!(
        r#"SELECT hour, category, sum(events)::bigint AS "events!"
             FROM event_rollups WHERE org_id = $1 AND hour >= $2 AND hour < $3
            GROUP BY hour, category"#,
        org_id,
        from,
        until,
    )
    .fetch_all(&mut *conn)
    .await?;
    // The part of each split hour before its bound: [floor_hour(b), b).
    let split: Vec<(usize, DateTime<Utc>)> =
        bounds.iter().enumerate().filter(|(_, b)| floor_hour(**b) != **b).map(|(i, b)| (i, *b)).collect();
    let mut heads: Vec<(usize, Category, u64)> = Vec::new();
    if !split.is_empty() {
        let starts: Vec<DateTime<Utc>> = split.iter().map(|(_, b)| floor_hour(*b)).collect();
        let ends: Vec<DateTime<Utc>> = split.iter().map(|(_, b)| *b).collect();
        let rows = sqlx::query!(
            r#"SELECT x.i AS "i!", e.category, count(*) AS "events!"
                 FROM unnest($2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS x(f, t, i)
                 JOIN audit_events e ON e.org_id = $1 AND e.occurred_at >= x.f AND e.occurred_at < x.t
                GROUP BY 1, 2"#,
            org_id,
            &starts,
            &ends,
        )
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            let (Some(c), Ok(at)) = (Category::parse(&r.category), usize::try_from(r.i - 1)) else {
                continue;
            };
            if let Some((bound, _)) = split.get(at) {
                heads.push((*bound, c, u64::try_from(r.events).unwrap_or(0)));
            }
        }
    }
    for h in hours {
        let Some(c) = Category::parse(&h.category) else { continue };
        let n = u64::try_from(h.events).unwrap_or(0);
        match split.iter().find(|(_, b)| floor_hour(*b) == h.hour) {
            Some((bound, _)) => {
                // A split hour: its head belongs to the span before the
                // bound, the rest to the span from it.
                let head = heads.iter().filter(|(i, hc, _)| i == bound && *hc == c).map(|(_, _, n)| n).sum();
                if *bound > 0 {
                    out[bound - 1].add(c, head);
                }
                if *bound < spans {
                    out[*bound].add(c, n.saturating_sub(head));
                }
            }
            None => {
                // The span whose bounds hold this whole hour, if any.
                if let Some(i) = bounds.windows(2).position(|w| w[0] <= h.hour && h.hour < w[1]) {
                    out[i].add(c, n);
                }
            }
        }
    }
    Ok(out)
}

/// The org's whole log: events and their stored bytes.
pub async fn totals(conn: &mut PgConnection, org_id: Uuid) -> Result<(u64, u64), sqlx::Error> {
    let row = sqlx::query!("SELECT events, bytes FROM event_totals WHERE org_id = $1", org_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map_or((0, 0), |r| (u64::try_from(r.events).unwrap_or(0), u64::try_from(r.bytes).unwrap_or(0))))
}

/// Events per category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryCounts(pub [u64; Category::ALL.len()]);

impl CategoryCounts {
    pub fn add(&mut self, c: Category, n: u64) {
        if let Some(at) = Category::ALL.iter().position(|x| *x == c) {
            self.0[at] += n;
        }
    }

    pub fn get(&self, c: Category) -> u64 {
        Category::ALL.iter().position(|x| *x == c).map_or(0, |at| self.0[at])
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

fn floor_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::hours(1)).unwrap_or(t)
}

fn ceil_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = floor_hour(t);
    if floor == t { t } else { floor + TimeDelta::hours(1) }
}

/// What a recount found in one org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recount {
    pub org_id: Uuid,
    /// Events the org's log holds.
    pub events: u64,
    /// Rollup rows whose event count was wrong, missing or extra.
    pub drifted_rows: u64,
    /// Per-actor daily rows whose count was wrong, missing or extra.
    pub drifted_actor_rows: u64,
    /// Whether the org's total count was wrong.
    pub total_drifted: bool,
}

/// Recounts `org_id`'s rollups from its events and rewrites them, holding
/// the org's chain head so no write lands in between (the org's writers
/// wait: seconds for millions of events). Needs the owner's pool: the app
/// role may not write rollups. Byte sizes are rewritten too but not
/// reported: a value stored compressed may measure differently from the
/// row the trigger saw.
pub async fn recount_org(pool: &sqlx::PgPool, org_id: Uuid) -> Result<Recount, sqlx::Error> {
    let mut tx = pool.begin().await?;
    crate::chain::lock_head(&mut tx, org_id).await?;
    // A temporary table, so the events are read once; plain statements,
    // since the compile-time check cannot see a temporary table.
    sqlx::query(
        "CREATE TEMP TABLE recount_truth ON COMMIT DROP AS \
         SELECT date_trunc('hour', occurred_at, 'UTC') AS hour, category, priority, \
                count(*) AS events, sum(pg_column_size(e.*))::bigint AS bytes \
           FROM audit_events e WHERE org_id = $1 GROUP BY 1, 2, 3",
    )
    .bind(org_id)
    .execute(&mut *tx)
    .await?;
    let (drifted, events, kept_total): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM recount_truth t \
                   FULL JOIN (SELECT * FROM event_rollups WHERE org_id = $1) k \
                     USING (hour, category, priority) \
                  WHERE t.events IS DISTINCT FROM k.events), \
                (SELECT coalesce(sum(events), 0)::bigint FROM recount_truth), \
                (SELECT events FROM event_totals WHERE org_id = $1)",
    )
    .bind(org_id)
    .fetch_one(&mut *tx)
    .await?;
    let drifted_actor_rows = recount_actors(&mut tx, org_id).await?;
    sqlx::query("DELETE FROM event_rollups WHERE org_id = $1").bind(org_id).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO event_rollups (org_id, hour, category, priority, events, bytes) \
         SELECT $1, hour, category, priority, events, bytes FROM recount_truth",
    )
    .bind(org_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO event_totals (org_id, events, bytes) \
         SELECT $1, coalesce(sum(events), 0), coalesce(sum(bytes), 0) FROM recount_truth \
         ON CONFLICT (org_id) DO UPDATE SET events = EXCLUDED.events, bytes = EXCLUDED.bytes",
    )
    .bind(org_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Recount {
        org_id,
        events: u64::try_from(events).unwrap_or(0),
        drifted_rows: u64::try_from(drifted).unwrap_or(0),
        drifted_actor_rows,
        total_drifted: kept_total.unwrap_or(0) != events,
    })
}

/// Recounts and rewrites `org_id`'s per-actor daily rollups inside the
/// recount's transaction; returns how many rows had drifted.
async fn recount_actors(tx: &mut PgConnection, org_id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "CREATE TEMP TABLE recount_actors ON COMMIT DROP AS \
         SELECT actor_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, action, entity_type, \
                count(*) AS events \
           FROM audit_events WHERE org_id = $1 GROUP BY 1, 2, 3, 4",
    )
    .bind(org_id)
    .execute(&mut *tx)
    .await?;
    let (drifted,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM recount_actors t \
           FULL JOIN (SELECT * FROM actor_rollups WHERE org_id = $1) k \
             USING (actor_id, day, action, entity_type) \
          WHERE t.events IS DISTINCT FROM k.events",
    )
    .bind(org_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM actor_rollups WHERE org_id = $1").bind(org_id).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO actor_rollups (org_id, actor_id, day, action, entity_type, events) \
         SELECT $1, actor_id, day, action, entity_type, events FROM recount_actors",
    )
    .bind(org_id)
    .execute(&mut *tx)
    .await?;
    Ok(u64::try_from(drifted).unwrap_or(0))
}
