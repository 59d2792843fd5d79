//! Keeping the search index's pending list short, away from the requests.
//!
//! The trigram index (`audit_events_search`, migration 0002) takes new
//! entries into a pending list, which is cheap to append to; once the list
//! passes `gin_pending_list_limit` (4 MB), the insert that finds it full
//! merges it into the index itself. That merge is most of what the index
//! costs a write (a quarter of an insert's time at ten million events, in a
//! profile of the benchmark), and it lands on one unlucky request: a
//! single event that should take milliseconds waits tens of them, and so
//! does every request queued behind it in the org's write group.
//!
//! Here a task merges the list every [`EVERY`], so under a steady stream
//! of events the list never fills and no request pays for the merge. With
//! several server processes each runs one; PostgreSQL lets one merge run at
//! a time and the others return at once. Searches read the pending list
//! too, so a short list also keeps them fast.

use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;

/// How often the list is merged: at a thousand events a second, about half
/// a megabyte has gathered by then.
pub const EVERY: Duration = Duration::from_millis(500);

/// Merges the search index's pending list into the index now; the number of
/// pending pages it removed (0 when another merge was running). `pool` must
/// be the owner's: only the index's owner may do this.
pub async fn merge_pending(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT gin_clean_pending_list('audit_events_search'::regclass)").fetch_one(pool).await
}

/// Runs [`merge_pending`] every [`EVERY`] for as long as the task lives.
/// Failures are logged and retried on the next tick.
pub fn spawn_pending_list_merger(pool: PgPool) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match merge_pending(&pool).await {
                Ok(pages) if pages > 0 => tracing::trace!(pages, "merged the search index's pending list"),
                Ok(_) => {}
                Err(err) => tracing::warn!(%err, "merging the search index's pending list failed; retrying"),
            }
        }
    })
}
