//! Writing events in batches, each one linked into its org's hash chain.

use std::collections::BTreeMap;

use app::model::{Category, NewAuditEvent, Priority, PriorityRule, category_of, priority_of};
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::chain::{self, CanonicalEvent, Head, Link, Linker};

/// Inserts `events` in one transaction: all of them or, on any error, none.
pub async fn insert_events(pool: &PgPool, events: &[NewAuditEvent]) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let written = insert_events_in(&mut tx, events).await?;
    tx.commit().await?;
    Ok(written)
}

/// Inserts `events` on `conn`, inside the caller's transaction, so other
/// writes (an idempotency record, say) commit or roll back with them.
/// [`prepare`], then [`insert_prepared_in`].
pub async fn insert_events_in(conn: &mut PgConnection, events: &[NewAuditEvent]) -> Result<u64, sqlx::Error> {
    let prepared = prepare(events.to_vec())?;
    insert_prepared_in(conn, &prepared.iter().collect::<Vec<_>>()).await
}

/// An event ready for its org's chain: checked against the limits,
/// redacted, in the form it is stored in, and with its canonical bytes but
/// for its seq. That is everything a write does that needs no lock, so
/// callers do it before they queue for the org's chain head, and the time
/// the head is held is spent on hashing and the insert alone.
pub struct PreparedEvent {
    /// Redacted: what is stored and hashed.
    event: NewAuditEvent,
    stored: StoredForm,
    /// When the server accepted it; part of the hash.
    received_at: DateTime<Utc>,
    canonical: chain::SeqSplit,
    category: Category,
}

impl PreparedEvent {
    /// The event as it will be stored (secrets replaced).
    pub fn event(&self) -> &NewAuditEvent {
        &self.event
    }

    /// Its priority under the org's rules (read when the head is locked).
    fn priority(&self, rules: &[PriorityRule]) -> Priority {
        priority_of(&self.event.action, self.category, &self.event.metadata, rules)
    }
}

/// Prepares `events` (accepted now) for [`insert_prepared_in`]. Fails,
/// naming the event, if one is over the limits or cannot be encoded.
pub fn prepare(events: Vec<NewAuditEvent>) -> Result<Vec<PreparedEvent>, sqlx::Error> {
    // No event over the limits reaches the table, whoever calls: the API
    // refuses them with a field path first; this is the guard for every
    // other way in. Checked on the event as given, as the API checks it.
    for e in &events {
        within_limits(e)?;
    }
    // One acceptance time for the call, to the microsecond PostgreSQL keeps.
    let received_at = Utc::now().trunc_subsecs(6);
    events
        .into_iter()
        .map(|mut event| {
            // Secrets never reach the table (or the hash), whoever calls.
            crate::redact::redact_event(&mut event);
            let stored = StoredForm::of(&event)?;
            let canonical = stored
                .canonical(&event, received_at)
                .split_at_seq()
                .map_err(|err| sqlx::Error::Encode(format!("event {}: {err}", event.id).into()))?;
            let category = category_of(&event.action, event.actor.kind);
            Ok(PreparedEvent { event, stored, received_at, canonical, category })
        })
        .collect()
}

/// Inserts prepared `events` on `conn`, inside the caller's transaction.
///
/// Each event gets the next seq of its org's chain, in the order given.
/// Per org in the batch (in ascending org id order, so concurrent writers
/// never wait on each other in a cycle): lock the org's chain head, hash the
/// org's events, insert them and move the head (one statement). The head
/// stays locked until the caller's transaction ends, so keep it short;
/// other writers of the same org wait, writers of other orgs do not.
///
/// Columns travel as parallel arrays through UNNEST, so a batch of a thousand
/// is one round trip and one statement per org (and one run of the
/// projection trigger). Every event is stored or the call fails: there is no
/// ON CONFLICT here, since a skipped row would leave a gap in the chain (a
/// repeated external id fails the batch instead).
pub async fn insert_prepared_in(
    conn: &mut PgConnection,
    events: &[&PreparedEvent],
) -> Result<u64, sqlx::Error> {
    let mut by_org: BTreeMap<Uuid, Vec<&PreparedEvent>> = BTreeMap::new();
    for e in events {
        by_org.entry(e.event.org_id).or_default().push(e);
    }
    let mut written = 0;
    for (org_id, rows) in by_org {
        let head = chain::lock_head(conn, org_id).await?;
        // Read under the head's lock: every event after a rule change sees it.
        let rules = super::priority_rules::rules_in(conn, org_id).await?;
        let mut linker = Linker::new(head);
        let links: Vec<Link> = rows.iter().map(|e| linker.link_split(&e.canonical)).collect();
        let priorities: Vec<&str> = rows.iter().map(|e| e.priority(&rules).as_str()).collect();
        written += insert_rows(conn, org_id, &rows, &links, &priorities, linker.head()).await?;
    }
    Ok(written)
}

async fn insert_rows(
    conn: &mut PgConnection,
    org_id: Uuid,
    rows: &[&PreparedEvent],
    links: &[Link],
    priorities: &[&str],
    head: Head,
) -> Result<u64, sqlx::Error> {
    // Columns borrow from the events: nothing is copied but the pointers.
    let text = |f: &dyn Fn(&NewAuditEvent) -> &str| rows.iter().map(|e| f(&e.event)).collect::<Vec<&str>>();
    let optional = |f: &dyn Fn(&NewAuditEvent) -> Option<&str>| {
        rows.iter().map(|e| f(&e.event)).collect::<Vec<Option<&str>>>()
    };
    // The org's head moves to the last event in the same statement (one
    // round trip); a data-modifying CTE runs whether or not it is read.
    let result = sqlx::query(
        "WITH moved AS (UPDATE chain_heads SET seq = $25, hash = $26, updated_at = now() WHERE org_id = $27) \
         INSERT INTO audit_events (org_id, id, occurred_at, actor_kind, actor_id, actor_name, actor_email, \
             actor_avatar, action, entity_type, entity_id, entity_name, changes, ip, user_agent, session_id, \
             request_id, country, metadata, external_id, seq, prev_hash, hash, received_at, category, priority) \
         SELECT org_id, id, occurred_at, actor_kind, actor_id, actor_name, actor_email, actor_avatar, action, \
                entity_type, entity_id, entity_name, changes::jsonb, ip::inet, user_agent, session_id, \
                request_id, country, metadata::jsonb, external_id, seq, prev_hash, hash, received_at, \
                category, priority \
           FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], \
                       $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                       $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], \
                       $19::text[], $20::text[], $21::bigint[], $22::bytea[], $23::bytea[], \
                       $24::timestamptz[], $28::text[], $29::text[]) \
             AS t(org_id, id, occurred_at, actor_kind, actor_id, actor_name, actor_email, actor_avatar, \
                  action, entity_type, entity_id, entity_name, changes, ip, user_agent, session_id, \
                  request_id, country, metadata, external_id, seq, prev_hash, hash, received_at, \
                  category, priority)",
    )
    .bind(rows.iter().map(|e| e.event.org_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.event.id).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.stored.occurred_at).collect::<Vec<_>>())
    .bind(text(&|e| e.actor.kind.as_str()))
    .bind(text(&|e| &e.actor.id))
    .bind(text(&|e| &e.actor.name))
    .bind(optional(&|e| e.actor.email.as_deref()))
    .bind(optional(&|e| e.actor.avatar.as_deref()))
    .bind(text(&|e| &e.action))
    .bind(text(&|e| &e.entity.entity_type))
    .bind(text(&|e| &e.entity.id))
    .bind(optional(&|e| e.entity.name.as_deref()))
    .bind(rows.iter().map(|e| e.stored.changes.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.stored.ip.as_deref()).collect::<Vec<_>>())
    .bind(optional(&|e| e.context.user_agent.as_deref()))
    .bind(optional(&|e| e.context.session_id.as_deref()))
    .bind(optional(&|e| e.context.request_id.as_deref()))
    .bind(optional(&|e| e.context.country.as_deref()))
    .bind(rows.iter().map(|e| e.stored.metadata.as_str()).collect::<Vec<_>>())
    .bind(optional(&|e| e.external_id.as_deref()))
    .bind(links.iter().map(|l| l.seq).collect::<Vec<_>>())
    .bind(links.iter().map(|l| l.prev_hash.as_slice()).collect::<Vec<_>>())
    .bind(links.iter().map(|l| l.hash.as_slice()).collect::<Vec<_>>())
    .bind(rows.iter().map(|e| e.received_at).collect::<Vec<_>>())
    .bind(head.seq)
    .bind(head.hash.as_slice())
    .bind(org_id)
    .bind(rows.iter().map(|e| e.category.as_str()).collect::<Vec<_>>())
    .bind(priorities)
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

/// The parts of a (redacted) event that are written in a normalised form,
/// computed once and used both for the database and for the hash, so the
/// two cannot disagree: the hash is over exactly what is stored.
pub(crate) struct StoredForm {
    /// Truncated to microseconds, what timestamptz keeps.
    pub occurred_at: DateTime<Utc>,
    pub changes: Option<String>,
    pub metadata: String,
    /// As `std::net::IpAddr` displays it.
    pub ip: Option<String>,
}

impl StoredForm {
    pub fn of(e: &NewAuditEvent) -> Result<Self, sqlx::Error> {
        let ip = match &e.context.ip {
            None => None,
            Some(text) => Some(chain::canonical::canonical_ip(text).ok_or_else(|| {
                sqlx::Error::Encode(
                    format!("event {}: context.ip {text:?} is not an IP address", e.id).into(),
                )
            })?),
        };
        Ok(StoredForm {
            // Whole microseconds since the epoch and back: truncates, and
            // turns a leap second into the next second, as PostgreSQL would.
            occurred_at: DateTime::from_timestamp_micros(e.occurred_at.timestamp_micros())
                .unwrap_or_else(|| e.occurred_at.trunc_subsecs(6)),
            changes: e
                .changes
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|err| sqlx::Error::Encode(format!("event {}: changes: {err}", e.id).into()))?,
            metadata: metadata_json(e),
            ip,
        })
    }

    /// The event as its hash covers it (its seq is set by the linker).
    pub fn canonical<'a>(&'a self, e: &'a NewAuditEvent, received_at: DateTime<Utc>) -> CanonicalEvent<'a> {
        CanonicalEvent {
            org_id: e.org_id,
            id: e.id,
            seq: 0,
            occurred_at: self.occurred_at,
            received_at,
            actor_kind: e.actor.kind.as_str(),
            actor_id: &e.actor.id,
            actor_name: &e.actor.name,
            actor_email: e.actor.email.as_deref(),
            actor_avatar: e.actor.avatar.as_deref(),
            action: &e.action,
            entity_type: &e.entity.entity_type,
            entity_id: &e.entity.id,
            entity_name: e.entity.name.as_deref(),
            changes: self.changes.as_deref(),
            ip: self.ip.as_deref(),
            user_agent: e.context.user_agent.as_deref(),
            session_id: e.context.session_id.as_deref(),
            request_id: e.context.request_id.as_deref(),
            country: e.context.country.as_deref(),
            metadata: Some(&self.metadata),
            external_id: e.external_id.as_deref(),
        }
    }
}

/// [`app::model::limits::check_event`] as a store error naming the event.
pub(crate) fn within_limits(e: &NewAuditEvent) -> Result<(), sqlx::Error> {
    app::model::limits::check_event(e)
        .map_err(|err| sqlx::Error::InvalidArgument(format!("event {}: over the event limits: {err}", e.id)))
}

pub(crate) fn metadata_json(e: &NewAuditEvent) -> String {
    if e.metadata.is_null() { "{}".to_string() } else { e.metadata.to_string() }
}
