//! Every export is itself an event of the org's log (`audit_log.export`):
//! the filter, the format, the rows sent and whether the file was complete,
//! written once when the stream ends, however it ends.

use std::sync::atomic::{AtomicU64, Ordering};

use app::model::{Actor, EventContext, NewAuditEvent};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::ExportFormat;
use crate::self_audit;

/// The action every export is recorded under.
pub const EXPORT_ACTION: &str = "audit_log.export";

/// What is known about an export while it streams; records it once, when
/// the stream ends or is dropped.
pub(super) struct Outcome {
    record: Option<Record>,
    /// Rows handed to the connection so far.
    rows: AtomicU64,
}

impl Outcome {
    pub(super) fn new(record: Record) -> Outcome {
        Outcome { record: Some(record), rows: AtomicU64::new(0) }
    }

    pub(super) fn sent(&self, rows: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }

    /// Every matching event was sent: record the export as complete.
    /// Awaited before the body ends, so whoever has the whole file can
    /// already find its record.
    pub(super) async fn complete(&mut self) {
        if let Some(record) = self.record.take() {
            record.write(self.rows.load(Ordering::Relaxed), true).await;
        }
    }
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

/// Who exported what, from where and when: the record's fixed part.
pub(super) struct Record {
    pub pool: PgPool,
    pub org_id: Uuid,
    pub format: ExportFormat,
    /// The filter as asked for, in the timeline's URL form.
    pub filter: String,
    pub actor: Actor,
    pub context: EventContext,
    pub started: DateTime<Utc>,
}

impl Record {
    async fn write(self, rows: u64, complete: bool) {
        let entity = self_audit::entity("audit_log", self.org_id, "Audit log");
        let event = NewAuditEvent {
            occurred_at: self.started,
            context: self.context,
            metadata: serde_json::json!({
                "filter": self.filter,
                "format": self.format.as_str(),
                "rows": rows,
                "complete": complete,
            }),
            ..self_audit::event(self.org_id, self.actor, EXPORT_ACTION, entity)
        };
        if let Err(e) = crate::store::insert_events(&self.pool, &[event]).await {
            tracing::error!(org = %self.org_id, rows, complete, "recording an export failed: {e}");
        }
    }
}
