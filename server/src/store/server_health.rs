//! Reads the server's own health (`server_minutes`, written by
//! `crate::health`) over a period, for the system view.

use app::model::oversight::{LATENCY_BOUNDS_MS, ServerHealth};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Uptime, requests, mean time and latency histogram from `since` to `now`.
/// The span starts at the first measurement if that is later: a server
/// installed yesterday was not down the month before.
pub async fn read(
    pool: &PgPool,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<ServerHealth, sqlx::Error> {
    let (up, requests, total_ms, first): (i64, i64, f64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(DISTINCT minute), coalesce(sum(requests), 0)::bigint, \
                coalesce(sum(total_ms), 0)::float8, \
                (SELECT min(minute) FROM server_minutes) \
           FROM server_minutes WHERE minute >= $1",
    )
    .bind(since)
    .fetch_one(pool)
    .await?;
    let per_bucket: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT b.i, sum(b.n)::bigint FROM server_minutes, unnest(buckets) WITH ORDINALITY AS b(n, i) \
          WHERE minute >= $1 GROUP BY 1",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    let mut buckets = vec![0u64; LATENCY_BOUNDS_MS.len() + 1];
    for (i, n) in per_bucket {
        if let Some(slot) = usize::try_from(i - 1).ok().and_then(|i| buckets.get_mut(i)) {
            *slot = u64::try_from(n).unwrap_or(0);
        }
    }
    let start = first.map_or(now, |f| f.max(since));
    let span_minutes = u64::try_from((now - start).num_minutes()).unwrap_or(0) + 1;
    let requests = u64::try_from(requests).unwrap_or(0);
    Ok(ServerHealth {
        up_minutes: u64::try_from(up).unwrap_or(0),
        span_minutes: if first.is_some() { span_minutes } else { 0 },
        requests,
        mean_ms: (requests > 0).then(|| total_ms / requests as f64),
        buckets,
    })
}
