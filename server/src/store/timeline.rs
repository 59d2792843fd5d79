//! Reading the timeline.

use app::model::{
    Actor, ActorKind, AuditEvent, Changes, Cursor, EntityRef, EventContext, TimelineFilter, TimelinePage,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

/// One page, newest first, strictly after `after`.
///
/// The inner query walks `audit_events_timeline` (or `_by_entity_type`) from
/// the cursor and stops after `limit + 1` rows: the extra row only says
/// whether another page exists. The deleted-entity lookup runs on those rows
/// alone, never on the whole log.
pub async fn list_events(
    pool: &PgPool,
    org_id: Uuid,
    filter: &TimelineFilter,
    after: Option<Cursor>,
    limit: usize,
) -> Result<TimelinePage, sqlx::Error> {
    let mut sql = QueryBuilder::<Postgres>::new(
        "SELECT e.id, e.org_id, e.occurred_at, e.received_at, e.actor_kind, e.actor_id, e.actor_name, \
                e.actor_email, e.actor_avatar, e.action, e.entity_type, e.entity_id, e.entity_name, \
                e.changes, host(e.ip) AS ip, e.user_agent, e.session_id, e.request_id, e.country, e.metadata, \
                EXISTS (SELECT 1 FROM entity_state s \
                         WHERE s.org_id = e.org_id AND s.entity_type = e.entity_type \
                           AND s.entity_id = e.entity_id AND s.deleted) AS entity_deleted \
           FROM (SELECT * FROM audit_events WHERE org_id = ",
    );
    sql.push_bind(org_id);
    if let Some(entity_type) = &filter.entity_type {
        sql.push(" AND entity_type = ").push_bind(entity_type.clone());
    }
    if !filter.q.is_empty() {
        // lower() on the server, so the pattern is folded exactly like the
        // stored search_text; escaping first keeps % and _ literal.
        sql.push(" AND search_text LIKE lower(").push_bind(format!("%{}%", escape_like(&filter.q))).push(")");
    }
    if let Some(cursor) = after {
        sql.push(" AND (occurred_at, id) < (")
            .push_bind(cursor.occurred_at)
            .push(", ")
            .push_bind(cursor.id)
            .push(")");
    }
    sql.push(" ORDER BY occurred_at DESC, id DESC LIMIT ")
        .push_bind((limit + 1) as i64)
        .push(") e ORDER BY e.occurred_at DESC, e.id DESC");

    let mut tx = super::tenant::begin_for_org(pool, org_id).await?;
    let mut rows: Vec<EventRow> = sql.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if has_more {
        rows.last().map(|r| Cursor { occurred_at: r.occurred_at, id: r.id }.encode())
    } else {
        None
    };
    Ok(TimelinePage { events: rows.into_iter().map(EventRow::into_event).collect(), next_cursor })
}

/// The distinct entity categories of an org, by skip scan: each step jumps to
/// the next category in `audit_events_by_entity_type`, so the cost is one
/// index probe per category, not a scan of millions of events.
pub async fn entity_types(pool: &PgPool, org_id: Uuid) -> Result<Vec<String>, sqlx::Error> {
    let mut tx = super::tenant::begin_for_org(pool, org_id).await?;
    let types = sqlx::query_scalar(
        "WITH RECURSIVE t(entity_type) AS ( \
             (SELECT entity_type FROM audit_events WHERE org_id = $1 ORDER BY entity_type LIMIT 1) \
             UNION ALL \
             SELECT (SELECT a.entity_type FROM audit_events a \
                      WHERE a.org_id = $1 AND a.entity_type > t.entity_type \
                      ORDER BY a.entity_type LIMIT 1) \
               FROM t WHERE t.entity_type IS NOT NULL) \
         SELECT entity_type FROM t WHERE entity_type IS NOT NULL",
    )
    .bind(org_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(types)
}

/// Escapes LIKE's wildcards so user input matches literally.
pub(crate) fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: Uuid,
    org_id: Uuid,
    occurred_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    actor_kind: String,
    actor_id: String,
    actor_name: String,
    actor_email: Option<String>,
    actor_avatar: Option<String>,
    action: String,
    entity_type: String,
    entity_id: String,
    entity_name: Option<String>,
    changes: Option<Json<Value>>,
    ip: Option<String>,
    user_agent: Option<String>,
    session_id: Option<String>,
    request_id: Option<String>,
    country: Option<String>,
    metadata: Json<Value>,
    entity_deleted: bool,
}

impl EventRow {
    fn into_event(self) -> AuditEvent {
        AuditEvent {
            id: self.id,
            org_id: self.org_id,
            occurred_at: self.occurred_at,
            received_at: self.received_at,
            actor: Actor {
                // The column's CHECK constraint admits only known kinds.
                kind: ActorKind::parse(&self.actor_kind).unwrap_or(ActorKind::System),
                id: self.actor_id,
                name: self.actor_name,
                email: self.actor_email,
                avatar: self.actor_avatar,
            },
            action: self.action,
            entity: EntityRef {
                entity_type: self.entity_type,
                id: self.entity_id,
                name: self.entity_name,
                deleted: self.entity_deleted,
            },
            // Written through the same model, so this only fails for rows
            // put in by hand; show them without changes rather than fail.
            changes: self.changes.and_then(|Json(v)| serde_json::from_value::<Changes>(v).ok()),
            context: EventContext {
                ip: self.ip,
                user_agent: self.user_agent,
                session_id: self.session_id,
                request_id: self.request_id,
                country: self.country,
            },
            metadata: self.metadata.0,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(super::escape_like(r"50%_off\"), r"50\%\_off\\");
    }
}
