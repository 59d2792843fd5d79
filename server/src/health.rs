//! The server measuring itself: how long it takes to answer pages and API
//! calls, and that it is up. Each process keeps the current minute's
//! counts in memory and writes one row per minute to `server_minutes`
//! (migration 0021), even an idle minute: that row is the heartbeat the
//! uptime is counted from. Several processes write their own rows; a
//! restart starts a new instance. Rows older than [`KEEP_DAYS`] are pruned.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use app::model::oversight::LATENCY_BOUNDS_MS;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DurationRound, TimeDelta, Utc};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Minutes kept, for the longest period a view shows and a margin.
pub const KEEP_DAYS: i64 = 400;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Minute {
    pub requests: u32,
    pub total_ms: f64,
    pub buckets: [u32; LATENCY_BOUNDS_MS.len() + 1],
}

impl Minute {
    pub fn add(&mut self, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        self.requests = self.requests.saturating_add(1);
        self.total_ms += ms;
        let at =
            LATENCY_BOUNDS_MS.iter().position(|b| ms <= f64::from(*b)).unwrap_or(LATENCY_BOUNDS_MS.len());
        self.buckets[at] = self.buckets[at].saturating_add(1);
    }
}

static CURRENT: Mutex<Minute> =
    Mutex::new(Minute { requests: 0, total_ms: 0.0, buckets: [0; LATENCY_BOUNDS_MS.len() + 1] });

/// Whether a request's time says how the product answers people: pages,
/// server functions and the ingestion API, not the live tail's open stream,
/// exports that stream for minutes, or static files.
pub fn is_measured(path: &str) -> bool {
    let long = path.starts_with("/api/ui/live/") || path.contains("/export") || path.starts_with("/pkg/");
    !long && (path.starts_with("/o/") || path.starts_with("/api/") || path == "/")
}

/// Middleware: times every measured request to its response head.
pub async fn time_requests(request: Request, next: Next) -> Response {
    if !is_measured(request.uri().path()) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let response = next.run(request).await;
    if let Ok(mut minute) = CURRENT.lock() {
        minute.add(started.elapsed());
    }
    response
}

/// Writes each minute's row for this process, and prunes old rows hourly.
pub fn spawn_recorder(pool: PgPool) -> JoinHandle<()> {
    tokio::spawn(async move {
        let instance = Uuid::now_v7();
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut written = 0u64;
        loop {
            tick.tick().await;
            let minute = CURRENT.lock().map(|mut m| std::mem::take(&mut *m)).unwrap_or_default();
            let at = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap_or_else(|_| Utc::now());
            if let Err(e) = write(&pool, instance, at, &minute).await {
                tracing::warn!(error = %e, "recording the server's health failed");
            }
            written += 1;
            if written % 60 == 1
                && let Err(e) =
                    sqlx::query("DELETE FROM server_minutes WHERE minute < now() - make_interval(days => $1)")
                        .bind(KEEP_DAYS as i32)
                        .execute(&pool)
                        .await
            {
                tracing::warn!(error = %e, "pruning the server's health failed");
            }
        }
    })
}

pub async fn write(
    pool: &PgPool,
    instance: Uuid,
    minute: chrono::DateTime<Utc>,
    m: &Minute,
) -> Result<(), sqlx::Error> {
    let buckets: Vec<i32> = m.buckets.iter().map(|n| i32::try_from(*n).unwrap_or(i32::MAX)).collect();
    sqlx::query(
        "INSERT INTO server_minutes (instance, minute, requests, total_ms, buckets) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
    )
    .bind(instance)
    .bind(minute)
    .bind(i32::try_from(m.requests).unwrap_or(i32::MAX))
    .bind(m.total_ms)
    .bind(buckets)
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fall_in_their_buckets() {
        let mut m = Minute::default();
        for ms in [0, 1, 3, 40, 40, 9_000] {
            m.add(Duration::from_millis(ms));
        }
        assert_eq!(m.requests, 6);
        assert_eq!(m.buckets[0], 2, "up to 1 ms");
        assert_eq!(m.buckets[2], 1, "up to 5 ms");
        assert_eq!(m.buckets[5], 2, "up to 50 ms");
        assert_eq!(m.buckets[12], 1, "slower than 5 s");
    }

    #[test]
    fn only_answers_to_people_are_measured() {
        assert!(is_measured("/o/acme"));
        assert!(is_measured("/api/ui/timeline"));
        assert!(is_measured("/api/v1/events"));
        assert!(!is_measured("/api/ui/live/acme"));
        assert!(!is_measured("/o/acme/export.csv"));
        assert!(!is_measured("/api/v1/events/export"));
        assert!(!is_measured("/pkg/audit-timeline.wasm"));
    }
}
