//! Bulk loading with COPY, for demo data and benchmarks at millions of events.

use std::fmt::Write;

use app::model::{Category, NewAuditEvent, Priority, category_of, priority_of};
use chrono::{SubsecRound, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgCopyIn;
use uuid::Uuid;

use super::insert::{StoredForm, within_limits};
use crate::chain::{self, Link, Linker};

/// Rows per COPY statement. Each statement commits on its own, so a long load
/// shows progress and a failure loses at most one chunk of demo data.
const ROWS_PER_COPY: usize = 50_000;
/// Rows buffered before a write to the server.
const ROWS_PER_SEND: usize = 5_000;

const COPY_SQL: &str = "COPY audit_events (org_id, id, occurred_at, actor_kind, actor_id, actor_name, \
    actor_email, actor_avatar, action, entity_type, entity_id, entity_name, changes, ip, user_agent, \
    session_id, request_id, country, metadata, external_id, seq, prev_hash, hash, received_at, category, \
    priority) FROM STDIN (FORMAT text)";

/// Streams `events`, all of org `org_id`, into the store with COPY, linking
/// each into the org's hash chain in the order given; `progress` is told the
/// running total after each chunk. Returns the number of events written.
///
/// Each chunk is one transaction holding the org's chain head locked: one
/// lock and one head update per 50,000 events, and the hashing happens in
/// Rust while the server ingests the rows already sent. An event of another
/// org fails the load; the chunks before it stay.
///
/// `pool` must be the owner's: PostgreSQL refuses COPY into a table under
/// row-level security, and bulk loading (demo data, benchmarks, imports) is
/// an operator's job, not the running server's.
pub async fn copy_events(
    pool: &PgPool,
    org_id: Uuid,
    events: impl Iterator<Item = NewAuditEvent>,
    mut progress: impl FnMut(usize),
) -> Result<usize, sqlx::Error> {
    let mut events = events.peekable();
    let mut total = 0;
    let mut buf = String::with_capacity(ROWS_PER_SEND * 800);
    while events.peek().is_some() {
        let mut tx = pool.begin().await?;
        let head = chain::lock_head(&mut tx, org_id).await?;
        let rules = super::priority_rules::rules_in(&mut tx, org_id).await?;
        let mut linker = Linker::new(head);
        let received_at = Utc::now().trunc_subsecs(6);
        let mut copy = tx.copy_in_raw(COPY_SQL).await?;
        let mut in_statement = 0;
        while in_statement < ROWS_PER_COPY {
            let Some(mut event) = events.next() else { break };
            // Checked before redaction, as the API and insert check it.
            let within = within_limits(&event);
            crate::redact::redact_event(&mut event);
            let row = if event.org_id == org_id {
                within.and_then(|()| StoredForm::of(&event)).and_then(|stored| {
                    let link = linker
                        .link(stored.canonical(&event, received_at))
                        .map_err(|err| sqlx::Error::Encode(err.into()))?;
                    Ok((stored, link))
                })
            } else {
                Err(sqlx::Error::InvalidArgument(format!(
                    "copy_events into org {org_id} was given event {} of org {}",
                    event.id, event.org_id
                )))
            };
            let (stored, link) = match row {
                Ok(row) => row,
                Err(err) => return abort(copy, err).await,
            };
            let category = category_of(&event.action, event.actor.kind);
            let priority = priority_of(&event.action, category, &event.metadata, &rules);
            let class = (category, priority);
            write_row(&mut buf, &event, &stored, &link, &received_at.to_rfc3339(), class);
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
        chain::advance_head(&mut tx, org_id, linker.head()).await?;
        tx.commit().await?;
        total += in_statement;
        progress(total);
    }
    Ok(total)
}

/// Ends a COPY that cannot go on, so its connection is clean for the
/// rollback, and returns `err`.
async fn abort<C>(copy: PgCopyIn<C>, err: sqlx::Error) -> Result<usize, sqlx::Error>
where
    C: std::ops::DerefMut<Target = sqlx::PgConnection>,
{
    copy.abort(err.to_string()).await?;
    Err(err)
}

fn write_row(
    buf: &mut String,
    e: &NewAuditEvent,
    stored: &StoredForm,
    link: &Link,
    received_at: &str,
    (category, priority): (Category, Priority),
) {
    let _ = write!(buf, "{}\t{}\t{}\t", e.org_id, e.id, stored.occurred_at.to_rfc3339());
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
        stored.changes.as_deref(),
        stored.ip.as_deref(),
        e.context.user_agent.as_deref(),
        e.context.session_id.as_deref(),
        e.context.request_id.as_deref(),
        e.context.country.as_deref(),
        Some(&stored.metadata),
        e.external_id.as_deref(),
    ];
    for field in fields {
        match field {
            None => buf.push_str("\\N"),
            Some(s) => escape_copy_text(buf, s),
        }
        buf.push('\t');
    }
    // bytea in hex input format; its backslash doubled for COPY's text format.
    let _ = write!(buf, "{}\t\\\\x", link.seq);
    push_hex(buf, &link.prev_hash);
    buf.push_str("\t\\\\x");
    push_hex(buf, &link.hash);
    buf.push('\t');
    buf.push_str(received_at);
    let _ = write!(buf, "\t{}\t{}", category.as_str(), priority.as_str());
    buf.push('\n');
}

fn push_hex(buf: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        buf.push(DIGITS[usize::from(b >> 4)] as char);
        buf.push(DIGITS[usize::from(b & 0xf)] as char);
    }
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

    #[test]
    fn hashes_are_written_as_escaped_bytea_hex() {
        let mut buf = String::new();
        super::push_hex(&mut buf, &[0x00, 0xab, 0x0f]);
        assert_eq!(buf, "00ab0f");
    }
}
