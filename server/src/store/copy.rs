//! Bulk loading with COPY, for demo data and benchmarks at millions of events.

use std::fmt::Write;

use app::model::NewAuditEvent;
use sqlx::PgPool;

use super::insert::metadata_json;

/// Rows per COPY statement. Each statement commits on its own, so a long load
/// shows progress and a failure loses at most one chunk of demo data.
const ROWS_PER_COPY: usize = 50_000;
/// Rows buffered before a write to the server.
const ROWS_PER_SEND: usize = 5_000;

const COPY_SQL: &str = "COPY audit_events (org_id, id, occurred_at, actor_kind, actor_id, actor_name, \
    actor_email, actor_avatar, action, entity_type, entity_id, entity_name, changes, ip, user_agent, \
    session_id, request_id, country, metadata, external_id) FROM STDIN (FORMAT text)";

/// Streams `events` into the store with COPY; `progress` is told the running
/// total after each chunk. Returns the number of events written.
pub async fn copy_events(
    pool: &PgPool,
    events: impl Iterator<Item = NewAuditEvent>,
    mut progress: impl FnMut(usize),
) -> Result<usize, sqlx::Error> {
    let mut events = events.peekable();
    let mut total = 0;
    let mut buf = String::with_capacity(ROWS_PER_SEND * 600);
    while events.peek().is_some() {
        let mut conn = pool.acquire().await?;
        let mut copy = conn.copy_in_raw(COPY_SQL).await?;
        let mut in_statement = 0;
        while in_statement < ROWS_PER_COPY {
            let Some(mut event) = events.next() else { break };
            crate::redact::redact_event(&mut event);
            write_row(&mut buf, &event);
            in_statement += 1;
            if in_statement % ROWS_PER_SEND == 0 {
                copy.send(buf.as_bytes()).await?;
                buf.clear();
            }
        }
        if !buf.is_empty() {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
        copy.finish().await?;
        total += in_statement;
        progress(total);
    }
    Ok(total)
}

fn write_row(buf: &mut String, e: &NewAuditEvent) {
    let changes = e.changes.as_ref().map(|c| serde_json::to_string(c).expect("changes serialise"));
    let _ = write!(buf, "{}\t{}\t{}\t", e.org_id, e.id, e.occurred_at.to_rfc3339());
    let fields: [Option<&str>; 17] = [
        Some(e.actor.kind.as_str()),
        Some(&e.actor.id),
        Some(&e.actor.name),
        e.actor.email.as_deref(),
        e.actor.avatar.as_deref(),
        Some(&e.action),
        Some(&e.entity.entity_type),
        Some(&e.entity.id),
        e.entity.name.as_deref(),
        changes.as_deref(),
        e.context.ip.as_deref(),
        e.context.user_agent.as_deref(),
        e.context.session_id.as_deref(),
        e.context.request_id.as_deref(),
        e.context.country.as_deref(),
        Some(&metadata_json(e)),
        e.external_id.as_deref(),
    ];
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            buf.push('\t');
        }
        match field {
            None => buf.push_str("\\N"),
            Some(s) => escape_copy_text(buf, s),
        }
    }
    buf.push('\n');
}

/// COPY's text format: backslash, tab, newline and carriage return escaped.
fn escape_copy_text(buf: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_text_escapes_its_separators() {
        let mut buf = String::new();
        super::escape_copy_text(&mut buf, "a\tb\nc\\d\re");
        assert_eq!(buf, "a\\tb\\nc\\\\d\\re");
    }
}
