//! Live tail: one LISTEN per server process, fanned out to the viewers of
//! each org.
//!
//! Migration 0012 makes every INSERT or COPY into `audit_events` send
//! `<org id>:<highest seq>` on the `audit_events` channel when it commits.
//! [`LiveHub::listen`] holds a single [`PgListener`] for the whole process
//! (not one connection per browser) and forwards each notification to the
//! subscribers of that org only, through a [`broadcast`] channel per org.
//! Every process of a deployment listens for itself, so a write taken by one
//! process reaches viewers connected to any other.
//!
//! Notifications are hints, not data: they say how far an org's chain has
//! grown. A subscriber that missed some (it lagged, or the database
//! connection dropped) is told to [`LiveSignal::Resync`] and reads the head
//! itself, so a lost notification delays nothing by more than a reconnect.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The channel migration 0012 notifies on.
pub const CHANNEL: &str = "audit_events";

/// How the listener's connection names itself in `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "audit-timeline live";

/// Signals queued per org before a slow subscriber lags. A subscriber only
/// ever needs the latest head, and a lagging one resyncs, so this stays small.
const PER_ORG_BUFFER: usize = 16;

/// What a subscriber of one org hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveSignal {
    /// The org's chain has grown to at least this seq.
    Head(i64),
    /// Notifications may have been lost (the listener reconnected): read
    /// the head from the database.
    Resync,
}

/// The process's fan-out of org notifications. Cheap to clone.
#[derive(Clone, Default)]
pub struct LiveHub {
    orgs: Arc<Mutex<HashMap<Uuid, broadcast::Sender<LiveSignal>>>>,
    closed: Arc<AtomicBool>,
}

impl LiveHub {
    /// A hub nobody feeds: for tests and for hosts that deliver signals
    /// themselves through [`LiveHub::publish`].
    pub fn new() -> LiveHub {
        LiveHub::default()
    }

    /// Connects the process's listener to the database at `options` and
    /// starts forwarding notifications. Fails if the first connection or
    /// LISTEN fails, so a misconfigured server says so at start; later
    /// connection losses are retried for as long as the task runs.
    pub async fn listen(options: PgConnectOptions) -> Result<(LiveHub, JoinHandle<()>), sqlx::Error> {
        // Its own one-connection pool: the listener holds its connection for
        // the life of the process and must not take one from the requests'.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options.application_name(APPLICATION_NAME));
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(CHANNEL).await?;
        let hub = LiveHub::new();
        let task = tokio::spawn(run(listener, hub.clone()));
        Ok((hub, task))
    }

    /// Signals for `org_id` from now on.
    pub fn subscribe(&self, org_id: Uuid) -> broadcast::Receiver<LiveSignal> {
        let mut orgs = self.orgs.lock().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::SeqCst) {
            // Already closed: a channel whose sender is gone.
            return broadcast::channel(1).1;
        }
        // Orgs nobody watches any more are forgotten here and on publish.
        orgs.retain(|_, tx| tx.receiver_count() > 0);
        orgs.entry(org_id).or_insert_with(|| broadcast::channel(PER_ORG_BUFFER).0).subscribe()
    }

    /// Sends `signal` to the subscribers of `org_id`, if there are any.
    pub fn publish(&self, org_id: Uuid, signal: LiveSignal) {
        let mut orgs = self.orgs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = orgs.get(&org_id)
            && tx.send(signal).is_err()
        {
            orgs.remove(&org_id);
        }
    }

    /// Tells every subscriber to read its head again.
    pub fn resync_all(&self) {
        let orgs = self.orgs.lock().unwrap_or_else(|e| e.into_inner());
        for tx in orgs.values() {
            let _ = tx.send(LiveSignal::Resync);
        }
    }

    /// Ends every subscription, now and from now on. Event streams never
    /// finish by themselves, and a graceful shutdown waits for every open
    /// response: call this when shutdown begins so it can complete.
    pub fn close(&self) {
        let mut orgs = self.orgs.lock().unwrap_or_else(|e| e.into_inner());
        self.closed.store(true, Ordering::SeqCst);
        orgs.clear();
    }

    /// How many orgs have subscribers (for tests and diagnostics).
    pub fn watched_orgs(&self) -> usize {
        let orgs = self.orgs.lock().unwrap_or_else(|e| e.into_inner());
        orgs.values().filter(|tx| tx.receiver_count() > 0).count()
    }
}

/// `<org id>:<seq>` as migration 0012 writes it.
pub fn parse_payload(payload: &str) -> Option<(Uuid, i64)> {
    let (org, seq) = payload.split_once(':')?;
    Some((org.parse().ok()?, seq.parse().ok()?))
}

/// The listener loop: forward notifications; on a lost connection, get it
/// back (sqlx re-LISTENs on reconnect) and have everyone resync, since
/// whatever was notified while it was down is gone.
async fn run(mut listener: PgListener, hub: LiveHub) {
    const MAX_BACKOFF: Duration = Duration::from_secs(30);
    let mut backoff = Duration::from_millis(500);
    let mut reconnect = false;
    loop {
        if reconnect {
            // Any statement on the listener reconnects it and re-issues
            // LISTEN before running; only then is a resync complete.
            match sqlx::query("SELECT 1").execute(&mut listener).await {
                Ok(_) => {
                    tracing::info!("live tail: listening again; subscribers resync");
                    hub.resync_all();
                    reconnect = false;
                    backoff = Duration::from_millis(500);
                }
                Err(err) => {
                    tracing::warn!(
                        "live tail: cannot reconnect to the database ({err}); retrying in {backoff:?}"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
        }
        match listener.try_recv().await {
            Ok(Some(notification)) => match parse_payload(notification.payload()) {
                Some((org_id, seq)) => hub.publish(org_id, LiveSignal::Head(seq)),
                None => tracing::warn!("live tail: unexpected payload {:?}", notification.payload()),
            },
            Ok(None) => {
                tracing::warn!("live tail: lost the database connection; reconnecting");
                reconnect = true;
            }
            Err(sqlx::Error::PoolClosed) => {
                tracing::info!("live tail: stopped");
                return;
            }
            Err(err) => {
                tracing::warn!("live tail: listener error ({err}); reconnecting in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                reconnect = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_an_org_and_a_seq() {
        let org = Uuid::from_u128(7);
        assert_eq!(parse_payload(&format!("{org}:42")), Some((org, 42)));
        for bad in ["", "42", "not-a-uuid:1", &format!("{org}:"), &format!("{org}:x")] {
            assert_eq!(parse_payload(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn signals_reach_only_their_org() {
        let hub = LiveHub::new();
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut rx_a = hub.subscribe(a);
        let mut rx_b = hub.subscribe(b);
        hub.publish(a, LiveSignal::Head(5));
        assert_eq!(rx_a.recv().await.unwrap(), LiveSignal::Head(5));
        assert!(rx_b.try_recv().is_err(), "org b heard org a");
        hub.resync_all();
        assert_eq!(rx_a.recv().await.unwrap(), LiveSignal::Resync);
        assert_eq!(rx_b.recv().await.unwrap(), LiveSignal::Resync);
        drop(rx_b);
        hub.publish(b, LiveSignal::Head(1));
        assert_eq!(hub.watched_orgs(), 1, "an org nobody watches is forgotten");
        hub.close();
        assert!(matches!(rx_a.recv().await, Err(broadcast::error::RecvError::Closed)));
        let mut late = hub.subscribe(a);
        assert!(matches!(late.recv().await, Err(broadcast::error::RecvError::Closed)));
    }
}
