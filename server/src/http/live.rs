//! `GET /api/ui/live/{org}`: server-sent events telling a signed-in viewer
//! how far their org's log has grown.
//!
//! The stream carries positions only (`event: head`, `data: <seq>`): on
//! connect, and whenever the org's chain head moves. The browser then reads
//! what is new through the `events_since` server function, which applies the
//! viewer's filter, scope and permission like any page read; so nothing the
//! stream says needs filtering per viewer, and nothing a viewer may not see
//! ever travels on it. The viewer is checked exactly as page reads check
//! them (401 signed out, 404 not a member, 403 without the View Audit Log
//! permission) when the stream opens, and again every minute while it runs,
//! so a signed-out or demoted viewer stops hearing. EventSource reconnects
//! by itself; the first message of every connection is the current head,
//! and the browser continues from the last seq it has seen, so a dropped
//! connection loses nothing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use app::api::{AccessControl, Admission, Need, Permit, Work};
use app::error::AppError;
use app::model::Viewer;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use sqlx::PgPool;
use tokio::sync::broadcast;
use tokio::time::{Interval, MissedTickBehavior};
use uuid::Uuid;

use crate::live::{LiveHub, LiveSignal};

/// What the live route needs.
#[derive(Clone)]
pub struct LiveContext {
    pub hub: LiveHub,
    /// Who is asking: the same port the server functions use.
    pub access: Arc<dyn AccessControl>,
    /// The app pool, for reading an org's head under row-level security.
    pub pool: PgPool,
    /// Comment lines sent while nothing happens, so proxies and browsers do
    /// not time an idle stream out.
    pub keep_alive: Duration,
    /// How often a running stream checks that its viewer may still read.
    pub recheck: Duration,
    /// Streams per viewer, per org and per process (see [`Work::LiveStream`]).
    pub admission: Admission,
}

impl LiveContext {
    pub fn new(hub: LiveHub, access: Arc<dyn AccessControl>, pool: PgPool) -> LiveContext {
        LiveContext {
            hub,
            access,
            pool,
            keep_alive: Duration::from_secs(15),
            recheck: Duration::from_secs(60),
            admission: Admission::new(),
        }
    }

    /// Counts streams in `admission`, shared with the rest of the process.
    pub fn with_admission(mut self, admission: Admission) -> LiveContext {
        self.admission = admission;
        self
    }
}

/// Head reads after a resync (the listener lost its connection, so every
/// stream must ask the database where its org stands) run this many at a
/// time, each after a random pause of up to [`RESYNC_SPREAD`]: a thousand
/// open streams must not all query the database the moment it comes back.
static RESYNC_READS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
const RESYNC_SPREAD: Duration = Duration::from_secs(3);

/// How long a browser waits before reconnecting a dropped stream.
const RETRY: Duration = Duration::from_secs(2);

pub async fn stream(State(ctx): State<LiveContext>, Path(org): Path<String>, parts: Parts) -> Response {
    let (org_id, viewer) = match allowed(ctx.access.as_ref(), &parts, &org).await {
        Ok(found) => found,
        Err(err) => return refuse(err),
    };
    let permit = match ctx.admission.admit(Work::LiveStream, org_id, &viewer) {
        Ok(permit) => permit,
        Err(busy) => {
            return refuse(AppError::Busy { message: busy.message, retry_after: busy.retry_after });
        }
    };
    // Subscribe before reading the head: a write landing between the two is
    // then either in the head or heard on the channel, never neither.
    let signals = ctx.hub.subscribe(org_id);
    let head = match crate::store::head_seq(&ctx.pool, org_id).await {
        Ok(head) => head,
        Err(err) => {
            tracing::error!("live tail: reading the head of {org_id}: {err}");
            return refuse(AppError::Unavailable);
        }
    };
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + ctx.recheck, ctx.recheck);
    recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let tail = Tail {
        signals,
        first: Some(head),
        sent: head,
        org_id,
        org,
        parts,
        recheck,
        ctx: ctx.clone(),
        _permit: permit,
    };
    let mut response =
        Sse::new(events(tail)).keep_alive(KeepAlive::new().interval(ctx.keep_alive)).into_response();
    // Reverse proxies (nginx) would otherwise hold events back in a buffer.
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The org id and the viewer when the request's viewer may follow `org`'s
/// whole chain: the one authorization boundary, for the positions of the
/// whole org's log (an embedded, scoped viewer has no live tail: it would
/// learn how busy the org is, and when).
async fn allowed(access: &dyn AccessControl, parts: &Parts, org: &str) -> Result<(Uuid, Viewer), AppError> {
    let grant = app::api::authorize(access, parts, org, Need::ReadOrgWide).await?;
    Ok((grant.org_id, grant.viewer))
}

/// The error as the server functions send it: its status, and the same JSON.
fn refuse(err: AppError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry_after = match &err {
        AppError::Busy { retry_after, .. } => Some(*retry_after),
        _ => None,
    };
    let mut response = (status, Json(err)).into_response();
    if let Some(secs) = retry_after {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

struct Tail {
    signals: broadcast::Receiver<LiveSignal>,
    /// The head read at connect, sent first.
    first: Option<i64>,
    /// The highest seq sent: heads only ever move forward on the stream.
    sent: i64,
    org_id: Uuid,
    org: String,
    parts: Parts,
    recheck: Interval,
    ctx: LiveContext,
    /// This stream's share; given back when the stream ends.
    _permit: Permit,
}

/// The org's head after a resync: after a random pause, a few at a time.
async fn resync_head(pool: &PgPool, org_id: Uuid) -> Result<i64, sqlx::Error> {
    let [a, b] = crate::random::bytes::<2>();
    let pause = RESYNC_SPREAD.mul_f64(f64::from(u16::from_le_bytes([a, b])) / f64::from(u16::MAX));
    tokio::time::sleep(pause).await;
    let _turn = RESYNC_READS.acquire().await;
    crate::store::head_seq(pool, org_id).await
}

fn head_event(seq: i64) -> Event {
    Event::default().event("head").id(seq.to_string()).data(seq.to_string())
}

fn events(tail: Tail) -> impl Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold(tail, |mut tail| async move {
        if let Some(head) = tail.first.take() {
            return Some((Ok(head_event(head).retry(RETRY)), tail));
        }
        loop {
            let seq = tokio::select! {
                signal = tail.signals.recv() => match signal {
                    Ok(LiveSignal::Head(seq)) => seq,
                    // Lagging or a listener reconnect may have cost signals:
                    // the database knows the head.
                    Ok(LiveSignal::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        match resync_head(&tail.ctx.pool, tail.org_id).await {
                            Ok(seq) => seq,
                            Err(err) => {
                                tracing::warn!("live tail: resync of {}: {err}", tail.org_id);
                                continue;
                            }
                        }
                    }
                    // The hub is gone: the server is shutting down.
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = tail.recheck.tick() => {
                    if allowed(tail.ctx.access.as_ref(), &tail.parts, &tail.org).await.is_err() {
                        // The browser reconnects and gets the refusal.
                        return None;
                    }
                    continue;
                }
            };
            if seq > tail.sent {
                tail.sent = seq;
                return Some((Ok(head_event(seq)), tail));
            }
        }
    })
}
