//! The product's records of its own administration: sign-ins, exports,
//! viewer tokens, API keys, people added. Every such action lands in the
//! org's log like any other event, so it is chained, searchable and
//! exported with the rest; this is the one place those events are shaped.
//!
//! A caller names who did what to which record and adds only what differs
//! (when, from where, what changed, details) with struct update syntax:
//!
//! ```ignore
//! NewAuditEvent { metadata: json!({"rows": 10}), ..self_audit::event(org, actor, "audit_log.export", entity) }
//! ```

use app::model::{Actor, ActorKind, EntityRef, EventContext, NewAuditEvent};
use chrono::Utc;
use uuid::Uuid;

use crate::store::ApiKeyAuth;

/// An event the server records about itself, happening now: no external
/// id, no changes, no request context and empty metadata until the caller
/// sets them.
pub fn event(org_id: Uuid, actor: Actor, action: &str, entity: EntityRef) -> NewAuditEvent {
    NewAuditEvent {
        id: Uuid::now_v7(),
        org_id,
        external_id: None,
        occurred_at: Utc::now(),
        actor,
        action: action.to_string(),
        entity,
        changes: None,
        context: EventContext::default(),
        metadata: serde_json::Value::Object(serde_json::Map::new()),
    }
}

/// The record an event is about, by type, id and the name people know it by.
pub fn entity(entity_type: &str, id: impl ToString, name: impl Into<String>) -> EntityRef {
    EntityRef {
        entity_type: entity_type.to_string(),
        id: id.to_string(),
        name: Some(name.into()),
        deleted: false,
    }
}

/// A person signed in to the product (the id is their user id, so filtering
/// the log by them finds everything they did).
pub fn person(id: impl ToString, name: &str, email: &str) -> Actor {
    Actor {
        kind: ActorKind::User,
        id: id.to_string(),
        name: name.to_string(),
        email: Some(email.to_string()),
        avatar: None,
    }
}

/// The API key a request was made with.
pub fn api_key(caller: &ApiKeyAuth) -> Actor {
    Actor {
        kind: ActorKind::ApiKey,
        id: caller.key_id.to_string(),
        name: caller.name.clone(),
        email: None,
        avatar: None,
    }
}
