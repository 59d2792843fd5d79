//! Writing events in batches.

use app::model::NewAuditEvent;
use sqlx::{PgConnection, PgPool};

/// Inserts `events` in one transaction: all of them or, on any error, none.
pub async fn insert_events(pool: &PgPool, events: &[NewAuditEvent]) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let written = insert_events_in(&mut tx, events).await?;
    tx.commit().await?;
    Ok(written)
}

/// Inserts `events` on `conn`, inside the caller's transaction, so other
/// writes (an idempotency record, say) commit or roll back with them.
///
/// Columns travel as parallel arrays through UNNEST, so a batch of a thousand
/// is one round trip and one statement (and one run of the projection
/// trigger).
pub async fn insert_events_in(conn: &mut PgConnection, events: &[NewAuditEvent]) -> Result<u64, sqlx::Error> {
    if events.is_empty() {
        return Ok(0);
    }
    // Secrets never reach the table, whoever calls.
    let events: Vec<NewAuditEvent> = events
        .iter()
        .cloned()
        .map(|mut e| {
            crate::redact::redact_event(&mut e);
            e
        })
        .collect();
    let events = events.as_slice();
    let col = |f: &dyn Fn(&NewAuditEvent) -> Option<String>| events.iter().map(f).collect::<Vec<_>>();
    let result = sqlx::query(
        "INSERT INTO audit_events (org_id, id, occurred_at, actor_kind, actor_id, actor_name, actor_email, \
             actor_avatar, action, entity_type, entity_id, entity_name, changes, ip, user_agent, session_id, \
             request_id, country, metadata, external_id) \
         SELECT org_id, id, occurred_at, actor_kind, actor_id, actor_name, actor_email, actor_avatar, action, \
                entity_type, entity_id, entity_name, changes::jsonb, ip::inet, user_agent, session_id, \
                request_id, country, metadata::jsonb, external_id \
           FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], \
                       $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                       $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], \
                       $19::text[], $20::text[]) \
             AS t(org_id, id, occurred_at, actor_kind, actor_id, actor_name, actor_email, actor_avatar, \
                  action, entity_type, entity_id, entity_name, changes, ip, user_agent, session_id, \
                  request_id, country, metadata, external_id)",
    )
    .bind(events.iter().map(|e| e.org_id).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.id).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
    .bind(col(&|e| Some(e.actor.kind.as_str().to_string())))
    .bind(col(&|e| Some(e.actor.id.clone())))
    .bind(col(&|e| Some(e.actor.name.clone())))
    .bind(col(&|e| e.actor.email.clone()))
    .bind(col(&|e| e.actor.avatar.clone()))
    .bind(col(&|e| Some(e.action.clone())))
    .bind(col(&|e| Some(e.entity.entity_type.clone())))
    .bind(col(&|e| Some(e.entity.id.clone())))
    .bind(col(&|e| e.entity.name.clone()))
    .bind(col(&|e| e.changes.as_ref().map(|c| serde_json::to_string(c).expect("changes serialise"))))
    .bind(col(&|e| e.context.ip.clone()))
    .bind(col(&|e| e.context.user_agent.clone()))
    .bind(col(&|e| e.context.session_id.clone()))
    .bind(col(&|e| e.context.request_id.clone()))
    .bind(col(&|e| e.context.country.clone()))
    .bind(col(&|e| Some(metadata_json(e))))
    .bind(col(&|e| e.external_id.clone()))
    .execute(conn)
    .await?;
    Ok(result.rows_affected())
}

pub(crate) fn metadata_json(e: &NewAuditEvent) -> String {
    if e.metadata.is_null() { "{}".to_string() } else { e.metadata.to_string() }
}
