use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Changes;

/// Who performed an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    /// A background process of the product; `Actor::name` carries the process name.
    System,
    ApiKey,
    Integration,
}

impl ActorKind {
    pub const ALL: [ActorKind; 4] = [Self::User, Self::System, Self::ApiKey, Self::Integration];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::System => "system",
            Self::ApiKey => "api_key",
            Self::Integration => "integration",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// URL of an avatar image; when absent the UI draws initials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// The record an action was taken on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityRef {
    /// Category in snake_case, e.g. `invoice`, `api_key`.
    #[serde(rename = "type")]
    pub entity_type: String,
    pub id: String,
    /// Display name such as `INV-0042`, when the sender knows one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// True when a later event deleted this record. Derived by the store
    /// from its deleted-entity projection, never sent by event producers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl EntityRef {
    /// What the timeline shows for the record: its name, or a shortened id.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(name) if !name.trim().is_empty() => name.clone(),
            _ => {
                let short: String = self.id.chars().take(8).collect();
                if short.len() < self.id.len() { format!("{short}…") } else { short }
            }
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// One stored audit event, as the timeline reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// UUIDv7, made by the writer; the tiebreaker of every ordering.
    pub id: Uuid,
    pub org_id: Uuid,
    /// Position in the org's hash chain: gap-free and increasing in the
    /// order events were stored, so "newer than seq N" is what the live tail
    /// asks for. 0 from a store that keeps no chain.
    #[serde(default)]
    pub seq: i64,
    /// When it happened, by the sender's clock.
    pub occurred_at: DateTime<Utc>,
    /// When the store accepted it.
    pub received_at: DateTime<Utc>,
    pub actor: Actor,
    /// Dotted `resource.verb`, e.g. `invoice.update`.
    pub action: String,
    pub entity: EntityRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
    #[serde(default)]
    pub context: EventContext,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub metadata: serde_json::Value,
    /// What kind of happening it is, as the store classified it on writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<super::Category>,
    /// Its risk, as the store rated it on writing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<super::Priority>,
    /// Where the IP address probably is (ISO 3166-1 alpha-2), worked out by
    /// the reading server from a local table when the sender gave no
    /// country; never stored, never sent by producers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_country: Option<String>,
}

/// An event on its way into the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAuditEvent {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The sender's own id for the event, unique per org: a retried send
    /// with the same external id is recognised instead of stored twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub actor: Actor,
    pub action: String,
    pub entity: EntityRef,
    pub changes: Option<Changes>,
    pub context: EventContext,
    pub metadata: serde_json::Value,
}

/// One page of a timeline, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelinePage {
    pub events: Vec<AuditEvent>,
    /// Opaque position after the last event; `None` at the end of the log.
    pub next_cursor: Option<String>,
    /// The org's newest seq when this page was read, from the same snapshot:
    /// every event with a higher seq is new since, and none with a lower or
    /// equal one is. The live tail continues from here. `None` when the
    /// store cannot say (then the timeline has no live tail).
    #[serde(default)]
    pub head_seq: Option<i64>,
    /// The read stopped at its work bound before filling the page (a search
    /// term too short for the search index is tested on a bounded stretch of
    /// the log per request): `next_cursor` continues after that stretch,
    /// so fewer rows, even none, do not mean the end of the matches.
    #[serde(default)]
    pub partial: bool,
}

/// What is new in an org's log since a seq, as the live tail asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventsSince {
    /// New events matching the filter, oldest first.
    pub events: Vec<AuditEvent>,
    /// The seq through which `events` is complete; ask again from here.
    pub head_seq: i64,
}

/// How many new events one live-tail request returns at most.
pub const SINCE_BATCH: usize = 100;

/// How many events match a filter, counted up to a cap: past it the UI says
/// "10,000+" instead of counting millions on every keystroke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCount {
    pub count: u64,
    /// True when there are more than `count`.
    pub capped: bool,
}

/// Count no further than this.
pub const COUNT_CAP: u64 = 10_000;

/// One actor of an org's log, for the actor filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorSummary {
    pub kind: ActorKind,
    pub id: String,
    pub name: String,
}

/// The changes just before and just after one event to the same record,
/// and the events of the same request or session around it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordNeighbors {
    pub previous: Option<AuditEvent>,
    pub next: Option<AuditEvent>,
    /// Events sharing the request id or session id, at most
    /// [`RELATED_WINDOW_SECS`] away, oldest first, at most [`RELATED_MAX`].
    #[serde(default)]
    pub related: Vec<AuditEvent>,
}

/// How far apart a related event may be.
pub const RELATED_WINDOW_SECS: i64 = 10;
/// Most related events listed.
pub const RELATED_MAX: usize = 10;
