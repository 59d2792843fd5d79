//! The export's pipeline: one snapshot read in keyset batches by one task,
//! formatted into pieces by another, handed to the connection a few pieces
//! ahead at most, so memory stays flat whatever the size of the log.

use std::sync::Arc;
use std::time::Duration;

use app::api::{Admission, Busy, Gate, Permit, Work};
use app::model::{Actor, EventContext, EventQuery, TimelineFilter};
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use chrono::Utc;
use futures_util::StreamExt;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::ExportFormat;
use super::file_name::file_name;
use super::record::{Outcome, Record};
use crate::store::export::{ExportBatch, ExportReader};

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

/// What one export reads, and for whom.
pub(super) struct Job {
    /// Where the export's own record is written.
    pub pool: PgPool,
    /// Where the events are read.
    pub reads: PgPool,
    pub org_id: Uuid,
    pub slug: String,
    pub format: ExportFormat,
    /// The filter as asked for (without a viewer's fixed scope), recorded
    /// and used in the file name.
    pub filter: TimelineFilter,
    pub query: EventQuery,
    pub actor: Actor,
    pub context: EventContext,
    /// Whose share of exports this takes (a person, an embed, an API key).
    pub who: String,
}

pub(super) enum Refused {
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
pub(super) async fn start(job: Job, admission: &Admission) -> Result<Response, Refused> {
    let permit = admission.admit_as(Work::Export, job.org_id, &job.who).map_err(Refused::Busy)?;
    let started = Utc::now();
    let reader =
        ExportReader::open(&job.reads, job.org_id, job.query.clone()).await.map_err(Refused::Store)?;
    let filename = match job.query.event {
        Some(id) => super::file_name::entry_file_name(&job.slug, id, job.format),
        None => file_name(&job.slug, &job.filter, job.format, started),
    };
    let (tx, rx) = mpsc::channel(PIECES_AHEAD);
    // Both ends hold the share: the export runs until the reader is done
    // with the database *and* the client has the last byte (a small export
    // is read in full long before it is downloaded).
    let permit = Arc::new(permit);
    let gate = (admission.gate().clone(), job.org_id);
    tokio::spawn(produce(reader, job.format, tx, permit.clone(), gate));
    let filter = recorded_filter(&job);
    let outcome = Outcome::new(Record {
        pool: job.pool,
        org_id: job.org_id,
        format: job.format,
        filter,
        actor: job.actor,
        context: job.context,
        started,
    });
    let body = futures_util::stream::unfold(Some((rx, outcome, permit)), |state| async move {
        let (mut rx, mut outcome, permit) = state?;
        match rx.recv().await {
            Some(Piece::Bytes { bytes, rows }) => {
                outcome.sent(rows);
                Some((Ok(bytes), Some((rx, outcome, permit))))
            }
            Some(Piece::Done) => {
                outcome.complete().await;
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
    _share: Arc<Permit>,
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
    let mut first = true;
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
            format.write(&mut buf, &row, first);
            first = false;
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
    buf.extend_from_slice(format.epilogue());
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
    batches: mpsc::Sender<ExportBatch>,
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

/// The filter as recorded with the export: the timeline's URL form, and
/// the one event's id for an entry's export.
fn recorded_filter(job: &Job) -> String {
    let query = job.filter.to_query();
    match (job.query.event, query.is_empty()) {
        (Some(id), true) => format!("event={id}"),
        (Some(id), false) => format!("{query}&event={id}"),
        (None, _) => query,
    }
}
