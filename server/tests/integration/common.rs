//! Helpers shared by the test modules: pools as the product opens them,
//! fixed times, and plausible events to adjust.

use app::model::{Actor, ActorKind, Changes, EntityRef, EventContext, NewAuditEvent};
use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use uuid::Uuid;

/// The pool the product uses: connections acting as `audit_app`.
pub async fn app_pool(connect: PgConnectOptions) -> PgPool {
    server::db::app_pool(connect).await.expect("app pool")
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap()
}

pub fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

/// A plausible event; tests adjust the fields they care about.
pub fn event(org_id: Uuid, at: DateTime<Utc>, action: &str, entity_id: &str) -> NewAuditEvent {
    let entity_type = action.split('.').next().unwrap().to_string();
    NewAuditEvent {
        id: Uuid::now_v7(),
        org_id,
        external_id: None,
        occurred_at: at,
        actor: Actor {
            kind: ActorKind::User,
            id: "usr_1".into(),
            name: "Alice Example".into(),
            email: Some("alice@example.com".into()),
            avatar: None,
        },
        action: action.to_string(),
        entity: EntityRef {
            entity_type,
            id: entity_id.to_string(),
            name: Some(entity_id.to_uppercase()),
            deleted: false,
        },
        changes: None,
        context: EventContext { ip: Some("203.0.113.7".into()), ..Default::default() },
        metadata: serde_json::json!({}),
    }
}

pub fn with_changes(mut e: NewAuditEvent, changes: Changes) -> NewAuditEvent {
    e.changes = Some(changes);
    e
}

pub async fn insert(pool: &PgPool, events: &[NewAuditEvent]) {
    server::store::insert_events(pool, events).await.expect("insert events");
}
