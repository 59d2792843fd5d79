//! Turning a request body into events, or into the list of everything wrong
//! with it.
//!
//! The body is parsed into a `serde_json::Value` and walked by hand rather
//! than deserialised into structs: serde stops at the first error and names
//! it by line and column, while a sender fixing a batch wants every problem
//! at once, each named by its path (`events[3].actor.id: required`).
//!
//! Everything PostgreSQL would refuse is refused here first, with a field
//! path (NUL characters, the action and entity-type formats, lengths), so bad
//! input never surfaces as a database error.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use app::model::{Actor, ActorKind, ChangeNode, ChangeTree, Changes, EntityRef, EventContext, NewAuditEvent};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use app::model::limits;

use super::Limits;
use super::error::{ApiError, FieldError};

/// Problems reported per request; past this the list ends with a note. A
/// thousand copies of one mistake are better said fifty times than a
/// thousand.
pub const MAX_ERRORS: usize = 50;

/// Where in the body a value sits, for messages. Borrowed and built on the
/// stack as the walk descends, so naming a path costs nothing until a
/// problem is actually reported.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("body"),
            Path::Key(Path::Root, key) => write_key(f, key, false),
            Path::Key(parent, key) => {
                write!(f, "{parent}")?;
                write_key(f, key, true)
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// Plain keys as `.key`; anything else (spaces, dots, control characters,
/// markup) quoted and escaped as a JSON string, `["odd key"]`, so a path is
/// never ambiguous and never carries raw control characters.
fn write_key(f: &mut fmt::Formatter<'_>, key: &str, dot: bool) -> fmt::Result {
    let plain = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        if dot {
            f.write_str(".")?;
        }
        f.write_str(key)
    } else {
        let quoted = serde_json::to_string(key).map_err(|_| fmt::Error)?;
        write!(f, "[{quoted}]")
    }
}

/// The problems found so far.
#[derive(Default)]
pub struct Report {
    errors: Vec<FieldError>,
    full: bool,
    /// Whether an event is over the byte limit: answered 413, not 422.
    too_large: bool,
}

impl Report {
    pub fn add(&mut self, path: &Path<'_>, problem: impl fmt::Display) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(FieldError::new(path.to_string(), problem));
        } else if !self.full {
            self.full = true;
            self.errors.push(FieldError::new(
                "body",
                format!("more problems follow; only the first {MAX_ERRORS} are listed"),
            ));
        }
    }

    /// For problems found after the walk, named by a path already rendered.
    fn add_field(&mut self, field: String, problem: impl fmt::Display) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(FieldError::new(field, problem));
        }
    }

    pub fn is_full(&self) -> bool {
        self.full
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

/// A valid request: its events with server-made ids, in request order.
pub struct Ingest {
    pub events: Vec<NewAuditEvent>,
    /// Whether the events came as `{"events": [...]}`; names paths in later
    /// errors (`events[2].external_id` rather than `external_id`).
    pub batch: bool,
}

impl Ingest {
    /// The path of event `i` as the request wrote it.
    pub fn event_field(&self, i: usize, field: &str) -> String {
        let root = Path::Root;
        let events = root.key("events");
        let item = events.index(i);
        if self.batch { item.key(field).to_string() } else { root.key(field).to_string() }
    }
}

/// A refused request: every problem, and whether one is an event over the
/// byte limit (413 Payload Too Large rather than 422).
#[derive(Debug)]
pub struct Refusal {
    pub errors: Vec<FieldError>,
    pub too_large: bool,
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        if refusal.too_large { ApiError::TooLarge(refusal.errors) } else { ApiError::Invalid(refusal.errors) }
    }
}

impl From<Report> for Refusal {
    fn from(report: Report) -> Refusal {
        let too_large = report.too_large;
        Refusal { errors: report.into_errors(), too_large }
    }
}

/// Validates a whole request body: one event object, or `{"events": [...]}`.
pub fn ingest_request(
    body: Value,
    org_id: Uuid,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Ingest, Refusal> {
    let mut report = Report::default();
    let root = Path::Root;
    let Value::Object(mut map) = body else {
        report.add(
            &root,
            format!("expected a JSON object (one event, or {{\"events\": [...]}}), got {}", kind(&body)),
        );
        return Err(report.into());
    };
    let checker = EventChecker { org_id, now, earliest: earliest(), latest: now + limits.max_future };
    let (events, batch) = if let Some(list) = map.remove("events") {
        unknown_fields(&mut report, &root, map);
        let path = root.key("events");
        let items = match list {
            Value::Array(items) => items,
            other => {
                report.add(&path, format!("expected an array of events, got {}", kind(&other)));
                return Err(report.into());
            }
        };
        if items.is_empty() {
            report.add(&path, "at least one event is required");
        }
        if items.len() > limits.max_events {
            // Only this: checking a batch that cannot be taken would be work
            // for nothing, and its list of problems noise.
            report.add(&path, format!("at most {} events per request", limits.max_events));
            return Err(report.into());
        }
        let mut events = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            if report.is_full() {
                break;
            }
            if let Some(event) = checker.event(&mut report, &path.index(i), item) {
                events.push(event);
            }
        }
        (events, true)
    } else {
        (checker.event(&mut report, &root, Value::Object(map)).into_iter().collect(), false)
    };
    let ingest = Ingest { events, batch };
    if report.is_empty() { Ok(ingest) } else { Err(report.into()) }
}

/// Two events of one request with one external id: the second would hit the
/// unique index, so say which two, before the database does. A conflict
/// (409) like an id already stored, not a malformed event: each event is
/// valid on its own.
pub fn duplicate_external_ids(ingest: &Ingest) -> Vec<FieldError> {
    let mut report = Report::default();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, e) in ingest.events.iter().enumerate() {
        let Some(id) = e.external_id.as_deref() else { continue };
        let first = *seen.entry(id).or_insert(i);
        if first != i {
            report.add_field(
                ingest.event_field(i, "external_id"),
                format!(
                    "same as {}; external ids are unique per org",
                    ingest.event_field(first, "external_id")
                ),
            );
        }
    }
    report.into_errors()
}

fn earliest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

struct EventChecker {
    org_id: Uuid,
    now: DateTime<Utc>,
    earliest: DateTime<Utc>,
    latest: DateTime<Utc>,
}

/// The limits of each text field, in characters. Generous for real data,
/// small enough that one field cannot dominate a row or a timeline line.
const ID_CHARS: usize = 200;
const NAME_CHARS: usize = 200;
const ENTITY_NAME_CHARS: usize = 500;
const ACTION_CHARS: usize = 100;
const TYPE_CHARS: usize = 100;
const EMAIL_CHARS: usize = 320;
const URL_CHARS: usize = 2048;
const USER_AGENT_CHARS: usize = 1000;

impl EventChecker {
    fn event(&self, r: &mut Report, path: &Path<'_>, value: Value) -> Option<NewAuditEvent> {
        let mut map = object(r, path, value)?;
        let before = r.errors.len();
        let occurred_at = self.occurred_at(r, &path.key("occurred_at"), map.remove("occurred_at"));
        let actor = actor(r, &path.key("actor"), map.remove("actor"));
        let action = {
            let p = path.key("action");
            required_text(r, &p, map.remove("action"), ACTION_CHARS).filter(|a| {
                let ok = is_action(a);
                if !ok {
                    r.add(&p, "not a dotted lower snake_case action like `invoice.update`");
                }
                ok
            })
        };
        let entity = entity(r, &path.key("entity"), map.remove("entity"));
        let changes = {
            let (p, value) = (path.key("changes"), map.remove("changes"));
            if let Some(doc) = &value {
                document_limits(r, &p, doc, 1);
            }
            changes(r, &p, value)
        };
        let context = context(r, &path.key("context"), map.remove("context"));
        let metadata = {
            let (p, value) = (path.key("metadata"), map.remove("metadata"));
            if let Some(doc) = &value {
                document_limits(r, &p, doc, 1);
            }
            metadata(r, &p, value)
        };
        let external_id = optional_text(r, &path.key("external_id"), map.remove("external_id"), ID_CHARS);
        unknown_fields(r, path, map);
        if r.errors.len() != before {
            return None;
        }
        let event = NewAuditEvent {
            id: Uuid::now_v7(),
            org_id: self.org_id,
            external_id,
            occurred_at: occurred_at?,
            actor: actor?,
            action: action?,
            entity: entity?,
            changes: changes?,
            context: context?,
            metadata: metadata?,
        };
        // Last, on an event otherwise valid: its size as the store counts it.
        let bytes = limits::event_bytes(&event);
        if bytes > limits::MAX_EVENT_BYTES {
            r.too_large = true;
            r.add(path, limits::event_size_problem(bytes));
            return None;
        }
        Some(event)
    }

    fn occurred_at(&self, r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<DateTime<Utc>> {
        let text = match value {
            None | Some(Value::Null) => {
                r.add(path, "required (an RFC 3339 timestamp such as 2026-01-15T09:00:00Z)");
                return None;
            }
            Some(Value::String(s)) => s,
            Some(other) => {
                r.add(path, format!("expected an RFC 3339 timestamp string, got {}", kind(&other)));
                return None;
            }
        };
        let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) else {
            r.add(path, "not an RFC 3339 timestamp (such as 2026-01-15T09:00:00Z)");
            return None;
        };
        // The lower bound is on the date as written, in its own offset, so
        // that "from the year 2000" is a rule a pattern can state.
        let written = at.naive_local();
        let at = at.with_timezone(&Utc);
        if at > self.latest {
            let hours = (self.latest - self.now).num_hours();
            r.add(
                path,
                format!(
                    "more than {hours} hours in the future (server time is {}); check the sender's clock",
                    self.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            );
            return None;
        }
        if written < self.earliest.naive_utc() {
            r.add(path, "before 2000-01-01; check the sender's clock and the unit (seconds, not days)");
            return None;
        }
        Some(at)
    }
}

fn actor(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<Actor> {
    let mut map = required_object(r, path, value)?;
    let kind = {
        let p = path.key("kind");
        required_text(r, &p, map.remove("kind"), 20).and_then(|k| {
            let parsed = ActorKind::parse(&k);
            if parsed.is_none() {
                r.add(&p, "expected one of user, system, api_key, integration");
            }
            parsed
        })
    };
    let id = required_text(r, &path.key("id"), map.remove("id"), ID_CHARS);
    let name = required_text(r, &path.key("name"), map.remove("name"), NAME_CHARS);
    let email = optional_text(r, &path.key("email"), map.remove("email"), EMAIL_CHARS);
    let avatar = {
        let p = path.key("avatar");
        optional_text(r, &p, map.remove("avatar"), URL_CHARS).and_then(|url| {
            // Every viewer's browser fetches it with their cookies: another
            // host over https, or one of our identicons, never any other
            // path of this site (see `app::model::is_allowed_avatar`).
            let ok = app::model::is_allowed_avatar(&url);
            if !ok {
                r.add(&p, "expected an https:// URL or /avatars/<key>.svg");
            }
            ok.then_some(url)
        })
    };
    unknown_fields(r, path, map);
    Some(Actor { kind: kind?, id: id?, name: name?, email, avatar })
}

fn entity(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<EntityRef> {
    let mut map = required_object(r, path, value)?;
    let entity_type = {
        let p = path.key("type");
        required_text(r, &p, map.remove("type"), TYPE_CHARS).filter(|t| {
            let ok = is_snake_word(t);
            if !ok {
                r.add(&p, "not a lower snake_case type like `invoice` or `api_key`");
            }
            ok
        })
    };
    let id = required_text(r, &path.key("id"), map.remove("id"), ID_CHARS);
    let name = optional_text(r, &path.key("name"), map.remove("name"), ENTITY_NAME_CHARS);
    unknown_fields(r, path, map);
    Some(EntityRef { entity_type: entity_type?, id: id?, name, deleted: false })
}

/// `Some(None)`: absent, fine. `None`: invalid, reported.
fn changes(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<Option<Changes>> {
    let Some(map) = optional_object(r, path, value, "an object with one of diff, snapshot or initial")?
    else {
        return Some(None);
    };
    if map.len() != 1 {
        r.add(path, "expected exactly one of diff, snapshot or initial");
        return None;
    }
    let (kind_name, inner) = map.into_iter().next()?;
    let p = path.key(&kind_name);
    match kind_name.as_str() {
        "diff" => {
            let tree = object(r, &p, inner)?;
            diff_tree(r, &p, tree).map(|t| Some(Changes::Diff(t)))
        }
        "snapshot" | "initial" => {
            let fields = object(r, &p, inner)?;
            let before = r.errors.len();
            for (key, value) in &fields {
                storable_json(r, &p.key(key), key, value);
            }
            (r.errors.len() == before).then_some(Some(if kind_name == "snapshot" {
                Changes::Snapshot(fields)
            } else {
                Changes::Initial(fields)
            }))
        }
        _ => {
            r.add(&p, "unknown kind of change; expected diff, snapshot or initial");
            None
        }
    }
}

/// A diff: field -> `{"old": …, "new": …}` (either may be absent, not both)
/// or `{"fields": {…}}` for a nested object. Strict, unlike the untagged
/// serde form, which would read `{"typo": 1}` as a change with neither side.
fn diff_tree(r: &mut Report, path: &Path<'_>, map: Map<String, Value>) -> Option<ChangeTree> {
    let before = r.errors.len();
    let mut tree = ChangeTree::new();
    for (key, value) in map {
        let p = path.key(&key);
        if key.contains('\0') {
            r.add(path, "a field name contains a NUL character, which cannot be stored");
            continue;
        }
        let Some(mut node) = object(r, &p, value) else { continue };
        if let Some(fields) = node.remove("fields") {
            unknown_fields_with(r, &p, node, "a nested change has only `fields`");
            let pf = p.key("fields");
            if let Some(fields) = object(r, &pf, fields)
                && let Some(fields) = diff_tree(r, &pf, fields)
            {
                tree.insert(key, ChangeNode::Nested { fields });
            }
            continue;
        }
        let old = node.remove("old");
        let new = node.remove("new");
        unknown_fields_with(r, &p, node, "a changed value has `old` and/or `new`");
        if old.is_none() && new.is_none() {
            r.add(&p, "expected `old` and/or `new` (or `fields` for a nested object)");
            continue;
        }
        for (side, v) in [("old", &old), ("new", &new)] {
            if let Some(v) = v {
                storable_json(r, &p.key(side), side, v);
            }
        }
        tree.insert(key, ChangeNode::Value { old, new });
    }
    (r.errors.len() == before).then_some(tree)
}

fn context(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<EventContext> {
    let Some(mut map) = optional_object(r, path, value, "an object")? else {
        return Some(EventContext::default());
    };
    let before = r.errors.len();
    let ip = {
        let p = path.key("ip");
        optional_text(r, &p, map.remove("ip"), 100).and_then(|ip| match ip.trim().parse::<IpAddr>() {
            // Canonical form: what PostgreSQL's inet prints back.
            Ok(addr) => Some(addr.to_string()),
            Err(_) => {
                r.add(&p, "not an IP address");
                None
            }
        })
    };
    let user_agent = optional_text(r, &path.key("user_agent"), map.remove("user_agent"), USER_AGENT_CHARS);
    let session_id = optional_text(r, &path.key("session_id"), map.remove("session_id"), ID_CHARS);
    let request_id = optional_text(r, &path.key("request_id"), map.remove("request_id"), ID_CHARS);
    let country = {
        let p = path.key("country");
        optional_text(r, &p, map.remove("country"), 100).and_then(|c| {
            let ok = c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic());
            if !ok {
                r.add(&p, "not a two-letter country code (ISO 3166-1 alpha-2, such as GB)");
            }
            ok.then(|| c.to_ascii_uppercase())
        })
    };
    unknown_fields(r, path, map);
    (r.errors.len() == before).then_some(EventContext { ip, user_agent, session_id, request_id, country })
}

fn metadata(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<Value> {
    let Some(map) = optional_object(r, path, value, "an object")? else {
        return Some(Value::Object(Map::new()));
    };
    let before = r.errors.len();
    for (key, value) in &map {
        storable_json(r, &path.key(key), key, value);
    }
    (r.errors.len() == before).then_some(Value::Object(map))
}

mod values;

pub use app::model::names::{is_action, is_snake_word};
use values::{
    document_limits, kind, object, optional_object, optional_text, required_object, required_text,
    storable_json, unknown_fields, unknown_fields_with,
};

#[cfg(test)]
mod tests;
