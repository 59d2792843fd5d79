//! Exports of an org's audit log as a file, streamed as it is read:
//!
//! - `GET /api/v1/events/export?format=csv|ndjson&<filters>` with an org API
//!   key, for scripted exports. Strict: an unknown or malformed parameter is
//!   a 400 naming it, so a typo never silently exports more than meant.
//! - `GET /o/{org}/export.csv?<filters>` and `/o/{org}/export.ndjson` with
//!   the session cookie and the View Audit Log permission, for the Export
//!   menu. Reads its filters like the timeline page does (what the page
//!   ignores, the export ignores), so the file has the rows the page shows.
//!
//! Both take the timeline's query keys and go through the one translation of
//! a filter into SQL. Rows are read in keyset batches from one snapshot and
//! written out batch by batch: the server holds a few batches at most,
//! whatever the size of the log. Every export is itself recorded as an
//! `audit_log.export` event when its stream ends, with the filter, the format,
//! the rows sent and whether the file was complete.

mod format;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use app::api::Need;
use app::api::{Admission, Busy, Gate, Permit, Work};
use app::error::AppError;
use app::model::{Actor, ActorKind, EntityRef, EventContext, EventQuery, NewAuditEvent, TimelineFilter};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

pub use format::{CSV_COLUMNS, ExportFormat, write_cell};

use super::ApiContext;
use super::error::{ApiError, ErrorBody, ErrorDetail, FieldError};
use crate::store::ApiKeyAuth;
use crate::store::export::ExportReader;

/// The action every export is recorded under.
pub const EXPORT_ACTION: &str = "audit_log.export";

/// The filter keys, as the timeline's URL spells them.
pub const FILTER_KEYS: [&str; 13] = [
    "q",
    "action",
    "not_action",
    "entity",
    "actor",
    "record",
    "ip",
    "session",
    "country",
    "within",
    "after",
    "before",
    "tz",
];

/// Bytes gathered before handing a piece to the connection: large enough
/// for few wake-ups per batch, small enough to keep memory flat.
const CHUNK_BYTES: usize = 256 * 1024;
/// Pieces waiting between the reader and the connection. The reader runs at
/// most this far ahead of a slow client, then waits (and so does its
/// snapshot), which is what keeps memory constant.
const PIECES_AHEAD: usize = 4;
/// A client that reads nothing for this long is dropped, so a stalled
/// download cannot hold a database snapshot and a slot forever.
const STALL_LIMIT: Duration = Duration::from_secs(300);
/// How long one batch waits for its turn at the gate for expensive reads
/// before the export gives up (as long as a batch may take to read).
const GATE_WAIT: Duration = Duration::from_secs(60);

/// The longest one export may stream, however steadily its client reads: a
/// snapshot held open for hours keeps PostgreSQL from cleaning up behind
/// every write made since. Half an hour is a few hundred million rows at
/// the export's speed; a bigger one is cut (the client sees an incomplete
/// transfer, and the record says so) and should be split by date.
const MAX_EXPORT_TIME: Duration = Duration::from_secs(30 * 60);

/// Exports the events of the API key's org that match the filters, newest
/// first, as CSV or NDJSON.
///
/// The response is streamed as the log is read, so any size can be
/// exported; it is one consistent snapshot of the log taken when the request
/// arrived. A transfer that ends without the terminating chunk was cut
/// short. Every export is recorded in the org's log (`audit_log.export`,
/// with the filter and the rows sent).
#[utoipa::path(
    get,
    path = "/api/v1/events/export",
    tag = "export",
    operation_id = "export_events",
    params(
        ("format" = Option<String>, Query, description = "`csv` (the default) or `ndjson`."),
        ("q" = Option<String>, Query, description = "Free text: words and \"quoted phrases\", each a case-insensitive substring of the action, actor name or entity name; all must match."),
        ("action" = Option<String>, Query, description = "Comma-separated action types (`delete`, `login_failed`, `permission_change`), actions (`invoice.update`) or patterns (`invoice.*`, `*.view`); any may match."),
        ("not_action" = Option<String>, Query, description = "Actions to leave out, same forms as `action`."),
        ("entity" = Option<String>, Query, description = "Comma-separated entity types, e.g. `invoice,api_key`."),
        ("actor" = Option<String>, Query, description = "Comma-separated actors: an actor id exactly, or the start of a name or email."),
        ("record" = Option<String>, Query, description = "One record's id (`entity.id`)."),
        ("ip" = Option<String>, Query, description = "An IP address or a CIDR block such as `10.1.0.0/16`."),
        ("session" = Option<String>, Query, description = "A session id."),
        ("country" = Option<String>, Query, description = "ISO 3166-1 alpha-2 code, e.g. `DE`."),
        ("within" = Option<String>, Query, description = "`24h`, `7d` or `30d`, ending now."),
        ("after" = Option<String>, Query, description = "Inclusive start: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`, in `tz`."),
        ("before" = Option<String>, Query, description = "Exclusive end, same forms as `after`."),
        ("tz" = Option<String>, Query, description = "IANA time zone `after` and `before` are read in; UTC when absent."),
    ),
    responses(
        (status = 200, description = "The matching events, newest first. CSV: a header row, then one row per event with every column (ids in full, times in RFC 3339 UTC, `changes` and `metadata` as JSON); cells starting with `=`, `+`, `-`, `@`, tab or carriage return are prefixed with `'` so spreadsheets read them as text. NDJSON: one event object per line, as the timeline's model has it, with its `seq` in the hash chain.",
         content(
            (String = "text/csv"),
            (String = "application/x-ndjson"),
         ),
         headers(("Content-Disposition" = String, description = "`attachment; filename=\"audit-log-<org>-<filter>-<UTC time>.<csv|ndjson>\"`"))),
        (status = 400, description = "An unknown parameter or an unusable value: every problem listed, each naming its parameter.", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked API key.", body = ErrorBody),
        (status = 429, description = "Too many exports are running for this key or org; retry after the `Retry-After` seconds.", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry later.", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn api_export(State(api): State<ApiContext>, caller: ApiKeyAuth, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let (format, filter) = match strict_params(&parts.uri) {
        Ok(found) => found,
        Err(errors) => return bad_query(errors),
    };
    let query = match EventQuery::resolve(nonempty(filter.clone()), Utc::now()) {
        Ok(query) => query,
        Err(e) => return bad_query(vec![FieldError::new(e.field, e.message)]),
    };
    let slug = match crate::store::export::org_slug(&api.pool, caller.org_id).await {
        Ok(slug) => slug.unwrap_or_else(|| caller.org_id.to_string()),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let actor = Actor {
        kind: ActorKind::ApiKey,
        id: caller.key_id.to_string(),
        name: caller.name.clone(),
        email: None,
        avatar: None,
    };
    let job = Job {
        pool: api.pool.clone(),
        reads: api.reads.clone(),
        org_id: caller.org_id,
        slug,
        format,
        filter,
        query,
        actor,
        context: context(&parts),
        who: format!("key:{}", caller.key_id),
    };
    match start(job, &api.admission).await {
        Ok(response) => response,
        Err(Refused::Busy(busy)) => busy_json(&busy),
        Err(Refused::Store(e)) => ApiError::from(e).into_response(),
    }
}

/// `GET /o/{org}/export.csv`.
pub async fn ui_export_csv(
    State(api): State<ApiContext>,
    Path(org): Path<String>,
    request: Request,
) -> Response {
    ui_export(api, org, ExportFormat::Csv, request).await
}

/// `GET /o/{org}/export.ndjson`.
pub async fn ui_export_ndjson(
    State(api): State<ApiContext>,
    Path(org): Path<String>,
    request: Request,
) -> Response {
    ui_export(api, org, ExportFormat::Ndjson, request).await
}

/// Whether `path` is one of the Export menu's downloads. These answer a
/// missing session with a plain 401 themselves: a redirect to the login
/// page would be saved as the "export" file by a download link.
pub fn is_download(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/o/") else { return false };
    let Some((org, file)) = rest.split_once('/') else { return false };
    !org.is_empty() && matches!(file, "export.csv" | "export.ndjson")
}

/// The Export menu's download: the session's viewer, with the View Audit
/// Log permission, gets the timeline's current view as a file. Answers in
/// plain text, since the one reading an error here is a person whose
/// browser was about to save a file.
async fn ui_export(api: ApiContext, org: String, format: ExportFormat, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let grant = match app::api::authorize(api.access.as_ref(), &parts, &org, Need::Read).await {
        Ok(grant) => grant,
        Err(err) => return text(plain_status(&err), &plain_message(&err, &org)),
    };
    let pairs = match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
        Ok(Query(pairs)) => pairs,
        Err(_) => return text(StatusCode::BAD_REQUEST, "The link's query string is malformed."),
    };
    // Lenient like the page: what the timeline leaves out (and says so), the
    // export leaves out too, so the file matches what is on screen.
    let (filter, _ignored) = TimelineFilter::from_pairs(
        pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| !app::model::PAGE_KEYS.contains(k)),
    );
    let query = match grant.query(nonempty(filter.clone())) {
        Ok(query) => query,
        Err(err) => return text(plain_status(&err), &plain_message(&err, &org)),
    };
    let (viewer, org_id) = (grant.viewer, grant.org_id);
    // The same id as the person's sign-in events, so filtering the log by
    // this actor finds their exports too.
    let user_id = match crate::auth::users::find_by_email(&api.pool, &viewer.email).await {
        Ok(user) => user.map(|u| u.id.to_string()),
        Err(e) => {
            tracing::error!("export: looking up the user: {e}");
            None
        }
    };
    let actor = Actor {
        kind: ActorKind::User,
        id: user_id.unwrap_or_else(|| viewer.email.clone()),
        name: viewer.name.clone(),
        email: Some(viewer.email.clone()),
        avatar: None,
    };
    let job = Job {
        pool: api.pool.clone(),
        reads: api.reads.clone(),
        org_id,
        slug: viewer.org.slug.clone(),
        format,
        filter,
        query,
        actor,
        context: context(&parts),
        who: app::api::viewer_key(&viewer),
    };
    match start(job, &api.admission).await {
        Ok(response) => response,
        Err(Refused::Busy(busy)) => {
            let mut response = text(StatusCode::TOO_MANY_REQUESTS, &busy.message);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(busy.retry_after));
            response
        }
        Err(Refused::Store(e)) => {
            tracing::error!("export: {e}");
            text(StatusCode::SERVICE_UNAVAILABLE, "The audit log is unavailable; try again shortly.")
        }
    }
}

fn plain_status(err: &AppError) -> StatusCode {
    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The boundary's refusal in words for a person whose browser was about to
/// save a file.
fn plain_message(err: &AppError, org: &str) -> String {
    match err {
        AppError::Unauthenticated => "Sign in to export this audit log.".into(),
        AppError::NotFound(_) => format!("There is no org '{org}' you belong to."),
        AppError::Unavailable => "The audit log is unavailable; try again shortly.".into(),
        other => other.to_string(),
    }
}

/// The API's parameters: `format` and the filter keys, nothing else, every
/// value valid. All problems are reported at once.
fn strict_params(uri: &Uri) -> Result<(ExportFormat, TimelineFilter), Vec<FieldError>> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| vec![FieldError::new("query", format!("not a valid query string: {e}"))])?;
    let mut errors = Vec::new();
    let mut format = None;
    let mut filter_pairs = Vec::new();
    for (key, value) in &pairs {
        match key.as_str() {
            "format" if format.is_some() => errors.push(FieldError::new("format", "given more than once")),
            "format" => match ExportFormat::parse(value) {
                Some(f) => format = Some(f),
                None => errors
                    .push(FieldError::new("format", format!("'{value}' is not a format: use csv or ndjson"))),
            },
            // Each key once, and a zone only by a name the server knows:
            // the document states one value per key, and a query read two
            // ways (first or last value, zone used or ignored) is not strict.
            k if filter_pairs.iter().any(|(seen, _)| *seen == k) => {
                errors.push(FieldError::new(key.clone(), "given more than once"))
            }
            "tz" if !crate::http::openapi::is_known_zone(value) => {
                errors.push(FieldError::new("tz", format!("'{value}' is not a time zone this server knows")))
            }
            k if FILTER_KEYS.contains(&k) => filter_pairs.push((key.as_str(), value.as_str())),
            _ => errors.push(FieldError::new(
                key.clone(),
                format!(
                    "not a parameter of this endpoint: use format or a filter ({})",
                    FILTER_KEYS.join(", ")
                ),
            )),
        }
    }
    let (filter, ignored) = TimelineFilter::from_pairs(filter_pairs);
    errors.extend(ignored.into_iter().map(|i| FieldError::new(i.key, i.reason)));
    if errors.is_empty() { Ok((format.unwrap_or(ExportFormat::Csv), filter)) } else { Err(errors) }
}

fn nonempty(filter: TimelineFilter) -> Vec<TimelineFilter> {
    if filter.is_empty() { Vec::new() } else { vec![filter] }
}

/// Where the request came from, for the recorded event.
fn context(parts: &Parts) -> EventContext {
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(1000).collect::<String>())
    };
    EventContext {
        ip: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()),
        user_agent: header(header::USER_AGENT),
        session_id: None,
        request_id: parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .map(str::to_string),
        country: None,
    }
}

/// What one export reads, and for whom.
struct Job {
    /// Where the export's own record is written.
    pool: PgPool,
    /// Where the events are read.
    reads: PgPool,
    org_id: Uuid,
    slug: String,
    format: ExportFormat,
    /// The filter as asked for (without a viewer's fixed scope), recorded
    /// and used in the file name.
    filter: TimelineFilter,
    query: EventQuery,
    actor: Actor,
    context: EventContext,
    /// Whose share of exports this takes (a person, an embed, an API key).
    who: String,
}

enum Refused {
    /// The caller, the org or the process already runs its share of exports.
    Busy(Busy),
    Store(sqlx::Error),
}

/// One piece of the file, from the reader to the connection.
enum Piece {
    Bytes {
        bytes: Bytes,
        rows: u64,
    },
    /// Every matching event was sent.
    Done,
}

/// Takes a share of exports, opens the snapshot (so a database that cannot
/// be reached is an error status, not a broken download), and answers with
/// the stream.
async fn start(job: Job, admission: &Admission) -> Result<Response, Refused> {
    let permit = admission.admit_as(Work::Export, job.org_id, &job.who).map_err(Refused::Busy)?;
    let started = Utc::now();
    let reader =
        ExportReader::open(&job.reads, job.org_id, job.query.clone()).await.map_err(Refused::Store)?;
    let filename = file_name(&job.slug, &job.filter, job.format, started);
    let (tx, rx) = mpsc::channel(PIECES_AHEAD);
    // Both ends hold the share: the export runs until the reader is done
    // with the database *and* the client has the last byte (a small export
    // is read in full long before it is downloaded).
    let permit = std::sync::Arc::new(permit);
    let gate = (admission.gate().clone(), job.org_id);
    tokio::spawn(produce(reader, job.format, tx, permit.clone(), gate));
    let outcome = Outcome {
        record: Some(Record {
            pool: job.pool,
            org_id: job.org_id,
            format: job.format,
            filter: job.filter.to_query(),
            actor: job.actor,
            context: job.context,
            started,
        }),
        rows: std::sync::Arc::new(AtomicU64::new(0)),
    };
    let body = futures_util::stream::unfold(Some((rx, outcome, permit)), |state| async move {
        let (mut rx, mut outcome, permit) = state?;
        match rx.recv().await {
            Some(Piece::Bytes { bytes, rows }) => {
                outcome.rows.fetch_add(rows, Ordering::Relaxed);
                Some((Ok(bytes), Some((rx, outcome, permit))))
            }
            Some(Piece::Done) => {
                // Written before the body ends, so whoever has the whole
                // file can already find its record.
                if let Some(record) = outcome.record.take() {
                    record.write(outcome.rows.load(Ordering::Relaxed), true).await;
                }
                None
            }
            // The reader failed or gave up: end the body with an error, so
            // the client sees a cut transfer, never a short file that looks
            // whole. `outcome` is dropped here and records the rows sent.
            None => Some((Err(std::io::Error::other("the export was interrupted")), None)),
        }
    })
    // Layers around the body (compression) may poll once more after the
    // end, which an unfused unfold answers with a panic.
    .fuse();
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(job.format.content_type()));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    // An audit log export is nobody's to cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Formats batch after batch into pieces for the connection, while a task
/// of its own reads the next batch (the database works on batch n + 1 while
/// this formats batch n). Stops as soon as the connection is gone (the
/// receiver dropped) or stalls; ends without [`Piece::Done`] if reading
/// failed, so the client sees a cut transfer.
async fn produce(
    reader: ExportReader,
    format: ExportFormat,
    tx: mpsc::Sender<Piece>,
    _share: std::sync::Arc<Permit>,
    gate: (Gate, Uuid),
) {
    let started = tokio::time::Instant::now();
    let send = |piece: Piece| {
        let tx = tx.clone();
        async move { matches!(tokio::time::timeout(STALL_LIMIT, tx.send(piece)).await, Ok(Ok(()))) }
    };
    // One batch read ahead: memory stays at a few batches, whatever the size
    // of the log.
    let (batches_tx, mut batches) = mpsc::channel(1);
    let reading = tokio::spawn(read_batches(reader, batches_tx, gate));
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 64 * 1024);
    buf.extend_from_slice(format.preamble());
    let mut rows_in_buf = 0u64;
    while let Some(batch) = batches.recv().await {
        if started.elapsed() > MAX_EXPORT_TIME {
            tracing::warn!("export: stopped after {} s, its time limit", MAX_EXPORT_TIME.as_secs());
            return;
        }
        for row in batch.rows() {
            let row = match row {
                Ok(row) => row,
                Err(e) => {
                    tracing::error!("export: a row could not be read: {e}");
                    return;
                }
            };
            format.write(&mut buf, &row);
            rows_in_buf += 1;
            if buf.len() >= CHUNK_BYTES {
                let bytes =
                    Bytes::from(std::mem::replace(&mut buf, Vec::with_capacity(CHUNK_BYTES + 64 * 1024)));
                if !send(Piece::Bytes { bytes, rows: std::mem::take(&mut rows_in_buf) }).await {
                    return;
                }
            }
        }
    }
    // The channel closed: the reader read everything, or stopped early.
    if !matches!(reading.await, Ok(true)) {
        return;
    }
    if (!buf.is_empty() && !send(Piece::Bytes { bytes: Bytes::from(buf), rows: rows_in_buf }).await)
        || !send(Piece::Done).await
    {
        tracing::debug!("export: the client went away at the end");
    }
}

/// Reads the snapshot batch by batch into `batches`; true once every
/// matching event was read. Stops when the formatter is gone.
async fn read_batches(
    mut reader: ExportReader,
    batches: mpsc::Sender<crate::store::export::ExportBatch>,
    (gate, org_id): (Gate, Uuid),
) -> bool {
    loop {
        // Each batch is an expensive read like a search: it takes its turn
        // at the gate, so a few exports share the database with every org's
        // searches instead of holding it.
        let Ok(pass) = gate.enter(org_id, GATE_WAIT).await else {
            tracing::warn!("export: stopped, the server stayed too busy for {} s", GATE_WAIT.as_secs());
            return false;
        };
        let batch = reader.next_batch().await;
        drop(pass);
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!("export: reading the log failed: {e}");
                return false;
            }
        };
        if batch.is_empty() {
            break;
        }
        if batches.send(batch).await.is_err() {
            return false;
        }
    }
    if let Err(e) = reader.finish().await {
        tracing::warn!("export: ending the snapshot: {e}");
    }
    true
}

/// What is known about an export while it streams; records it once, when
/// the stream ends or is dropped.
struct Outcome {
    record: Option<Record>,
    /// Rows handed to the connection so far.
    rows: std::sync::Arc<AtomicU64>,
}

impl Drop for Outcome {
    fn drop(&mut self) {
        // Still here: the stream did not finish (the client went away, or
        // reading failed). Record what was sent, from a task of its own,
        // since this runs in synchronous code.
        let Some(record) = self.record.take() else { return };
        let rows = self.rows.load(Ordering::Relaxed);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(record.write(rows, false));
            }
            Err(_) => tracing::error!(rows, "export ended outside the runtime; not recorded"),
        }
    }
}

struct Record {
    pool: PgPool,
    org_id: Uuid,
    format: ExportFormat,
    filter: String,
    actor: Actor,
    context: EventContext,
    started: DateTime<Utc>,
}

impl Record {
    async fn write(self, rows: u64, complete: bool) {
        let event = NewAuditEvent {
            id: Uuid::now_v7(),
            org_id: self.org_id,
            external_id: None,
            occurred_at: self.started,
            actor: self.actor,
            action: EXPORT_ACTION.to_string(),
            entity: EntityRef {
                entity_type: "audit_log".into(),
                id: self.org_id.to_string(),
                name: Some("Audit log".into()),
                deleted: false,
            },
            changes: None,
            context: self.context,
            metadata: serde_json::json!({
                "filter": self.filter,
                "format": self.format.as_str(),
                "rows": rows,
                "complete": complete,
            }),
        };
        if let Err(e) = crate::store::insert_events(&self.pool, &[event]).await {
            tracing::error!(org = %self.org_id, rows, complete, "recording an export failed: {e}");
        }
    }
}

/// `audit-log-acme-action-delete_entity-invoice-20260115T090000Z.csv`: the
/// org, what was filtered, and when, in ASCII that every file system and
/// `Content-Disposition` parser takes.
pub fn file_name(org_slug: &str, filter: &TimelineFilter, format: ExportFormat, at: DateTime<Utc>) -> String {
    let summary = filter_summary(filter);
    format!(
        "audit-log-{}-{}-{}.{}",
        ascii_safe(org_slug, 40),
        if summary.is_empty() { "all".to_string() } else { summary },
        at.format("%Y%m%dT%H%M%SZ"),
        format.extension()
    )
}

fn filter_summary(f: &TimelineFilter) -> String {
    let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
    let fields: [(&str, Vec<String>); 13] = [
        ("q", f.search_terms()),
        ("action", f.actions.clone()),
        ("not-action", f.not_actions.clone()),
        ("entity", f.entity_types.clone()),
        ("actor", f.actors.clone()),
        ("record", one(&f.record)),
        ("ip", one(&f.ip)),
        ("session", one(&f.session)),
        ("country", one(&f.country)),
        ("within", f.within.iter().map(|w| w.as_str().to_string()).collect()),
        ("after", f.after.iter().map(|d| app::model::filter::format_date_time(*d)).collect()),
        ("before", f.before.iter().map(|d| app::model::filter::format_date_time(*d)).collect()),
        ("tz", one(&f.tz)),
    ];
    let parts: Vec<String> = fields
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(key, values)| ascii_safe(&format!("{key}-{}", values.join("-")), 200))
        .filter(|p| !p.is_empty())
        .collect();
    let mut out = String::new();
    for part in parts {
        let sep = usize::from(!out.is_empty());
        if out.len() + sep + part.len() > 80 {
            // Whole parts only; the file's record keeps the full filter.
            break;
        }
        if sep == 1 {
            out.push('_');
        }
        out.push_str(&part);
    }
    out
}

/// Letters, digits, `.` and `-` kept; anything else becomes `-`; no runs of
/// `-`, nothing leading or trailing but letters and digits; at most `max`.
fn ascii_safe(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(max);
    out.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

fn bad_query(errors: Vec<FieldError>) -> Response {
    let first = errors[0].clone();
    let body = ErrorBody {
        error: ErrorDetail {
            code: "invalid_query".into(),
            message: first.message,
            field: Some(first.field),
            errors: errors.into_iter().take(50).collect(),
        },
    };
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn busy_json(busy: &Busy) -> Response {
    ApiError::Busy(busy.clone()).into_response()
}

fn text(status: StatusCode, message: &str) -> Response {
    let mut response = (status, format!("{message}\n")).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-01-15T09:00:05Z".parse().unwrap()
    }

    fn filter(query: &str) -> TimelineFilter {
        let pairs: Vec<(String, String)> =
            Query::try_from_uri(&format!("/x?{query}").parse::<Uri>().unwrap()).map(|Query(p)| p).unwrap();
        TimelineFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).0
    }

    #[test]
    fn file_names_say_org_filter_and_time_in_ascii() {
        assert_eq!(
            file_name("acme", &filter("action=delete&entity=invoice"), ExportFormat::Csv, at()),
            "audit-log-acme-action-delete_entity-invoice-20260115T090005Z.csv"
        );
        assert_eq!(
            file_name("acme", &TimelineFilter::default(), ExportFormat::Ndjson, at()),
            "audit-log-acme-all-20260115T090005Z.ndjson"
        );
        let odd = file_name(
            "acme",
            &filter(
                "q=%22Zo%C3%AB%20%E2%80%9Cx%E2%80%9D%22&action=invoice.*&ip=10.1.0.0/16&after=2026-01-01T09:30&tz=Europe/Paris",
            ),
            ExportFormat::Csv,
            at(),
        );
        assert_eq!(
            odd,
            "audit-log-acme-q-Zo-x_action-invoice_ip-10.1.0.0-16_after-2026-01-01T09-30_tz-Europe-Paris-20260115T090005Z.csv"
        );
        assert!(odd.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "{odd}");
        let long = filter(&format!(
            "actor={}",
            (0..20).map(|i| format!("someone{i}@example.com")).collect::<Vec<_>>().join(",")
        ));
        let name = file_name("acme", &long, ExportFormat::Csv, at());
        assert!(name.len() < 140, "{name}");
        assert!(name.starts_with("audit-log-acme-") && name.ends_with("-20260115T090005Z.csv"), "{name}");
    }

    #[test]
    fn only_export_paths_are_downloads() {
        assert!(is_download("/o/acme/export.csv"));
        assert!(is_download("/o/acme/export.ndjson"));
        for path in [
            "/o/acme",
            "/o/acme/records/invoice/export.csv",
            "/o//export.csv",
            "/api/v1/events/export",
            "/o/acme/export.xlsx",
        ] {
            assert!(!is_download(path), "{path}");
        }
    }

    #[test]
    fn api_parameters_are_strict() {
        let parse = |q: &str| strict_params(&format!("/api/v1/events/export?{q}").parse::<Uri>().unwrap());
        let (format, f) = parse("format=ndjson&action=delete&entity=invoice").unwrap();
        assert_eq!(format, ExportFormat::Ndjson);
        assert_eq!(f.to_query(), "action=delete&entity=invoice");
        assert_eq!(parse("").unwrap().0, ExportFormat::Csv);
        let fields = |q: &str| parse(q).unwrap_err().into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields("format=xlsx"), ["format"]);
        assert_eq!(fields("format=csv&format=csv"), ["format"]);
        assert_eq!(fields("colour=red&after=2026-13-45&ip=nope"), ["colour", "after", "ip"]);
        let errors = parse("entity=DROP%20TABLE").unwrap_err();
        assert!(errors[0].message.starts_with("entity: not an entity type"), "{:?}", errors[0]);
    }
}
