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

use super::Limits;
use super::error::FieldError;

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

/// Validates a whole request body: one event object, or `{"events": [...]}`.
pub fn ingest_request(
    body: Value,
    org_id: Uuid,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Ingest, Vec<FieldError>> {
    let mut report = Report::default();
    let root = Path::Root;
    let Value::Object(mut map) = body else {
        report.add(
            &root,
            format!("expected a JSON object (one event, or {{\"events\": [...]}}), got {}", kind(&body)),
        );
        return Err(report.into_errors());
    };
    let checker = EventChecker { org_id, now, earliest: earliest(), latest: now + limits.max_future };
    let (events, batch) = if let Some(list) = map.remove("events") {
        unknown_fields(&mut report, &root, map);
        let path = root.key("events");
        let items = match list {
            Value::Array(items) => items,
            other => {
                report.add(&path, format!("expected an array of events, got {}", kind(&other)));
                return Err(report.into_errors());
            }
        };
        if items.is_empty() {
            report.add(&path, "at least one event is required");
        }
        if items.len() > limits.max_events {
            // Only this: checking a batch that cannot be taken would be work
            // for nothing, and its list of problems noise.
            report.add(&path, format!("at most {} events per request", limits.max_events));
            return Err(report.into_errors());
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
    if report.is_empty() { Ok(ingest) } else { Err(report.into_errors()) }
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
        let changes = changes(r, &path.key("changes"), map.remove("changes"));
        let context = context(r, &path.key("context"), map.remove("context"));
        let metadata = metadata(r, &path.key("metadata"), map.remove("metadata"));
        let external_id = optional_text(r, &path.key("external_id"), map.remove("external_id"), ID_CHARS);
        unknown_fields(r, path, map);
        if r.errors.len() != before {
            return None;
        }
        Some(NewAuditEvent {
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
        })
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
            // The timeline puts it in an <img src>: web addresses and
            // same-site paths only, no `javascript:` or `data:` payloads.
            let ok = url.starts_with("https://")
                || url.starts_with("http://")
                || (url.starts_with('/') && !url.starts_with("//"));
            if !ok {
                r.add(&p, "expected an http(s) URL or a path starting with /");
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

/// Free-form JSON (metadata, changed values) that jsonb can store: no NUL
/// character in any string or key, which jsonb refuses (`\u0000 cannot be
/// converted to text`). Depth needs no check here: the JSON parser already
/// refuses nesting deeper than 128.
fn storable_json(r: &mut Report, path: &Path<'_>, key: &str, value: &Value) {
    if key.contains('\0') {
        r.add(path, "the field name contains a NUL character, which cannot be stored");
        return;
    }
    match value {
        Value::String(s) if s.contains('\0') => {
            r.add(path, "contains a NUL character (\\u0000), which cannot be stored")
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                storable_json(r, &path.index(i), "", item);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                storable_json(r, &path.key(k), k, v);
            }
        }
        _ => {}
    }
}

fn object(r: &mut Report, path: &Path<'_>, value: Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            r.add(path, format!("expected an object, got {}", kind(&other)));
            None
        }
    }
}

fn required_object(r: &mut Report, path: &Path<'_>, value: Option<Value>) -> Option<Map<String, Value>> {
    match value {
        None | Some(Value::Null) => {
            r.add(path, "required");
            None
        }
        Some(v) => object(r, path, v),
    }
}

/// `Some(None)`: absent or null. `None`: present but not an object (reported).
fn optional_object(
    r: &mut Report,
    path: &Path<'_>,
    value: Option<Value>,
    expected: &str,
) -> Option<Option<Map<String, Value>>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(Value::Object(map)) => Some(Some(map)),
        Some(other) => {
            r.add(path, format!("expected {expected}, got {}", kind(&other)));
            None
        }
    }
}

fn required_text(r: &mut Report, path: &Path<'_>, value: Option<Value>, max_chars: usize) -> Option<String> {
    match value {
        None | Some(Value::Null) => {
            r.add(path, "required");
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            r.add(path, "must not be empty");
            None
        }
        Some(Value::String(s)) => storable_text(r, path, s, max_chars),
        Some(other) => {
            r.add(path, format!("expected a string, got {}", kind(&other)));
            None
        }
    }
}

/// Absent, null and empty all mean "not given".
fn optional_text(r: &mut Report, path: &Path<'_>, value: Option<Value>, max_chars: usize) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => storable_text(r, path, s, max_chars),
        Some(other) => {
            r.add(path, format!("expected a string, got {}", kind(&other)));
            None
        }
    }
}

/// Text a PostgreSQL `text` column takes: no NUL, which it refuses outright.
fn storable_text(r: &mut Report, path: &Path<'_>, s: String, max_chars: usize) -> Option<String> {
    if s.contains('\0') {
        r.add(path, "contains a NUL character (\\u0000), which cannot be stored");
        return None;
    }
    // Bytes first: a string of fewer bytes than the limit has fewer chars,
    // so only long strings are counted.
    if s.len() > max_chars && s.chars().count() > max_chars {
        r.add(path, format!("longer than {max_chars} characters"));
        return None;
    }
    Some(s)
}

fn unknown_fields(r: &mut Report, path: &Path<'_>, rest: Map<String, Value>) {
    unknown_fields_with(r, path, rest, "unknown field");
}

fn unknown_fields_with(r: &mut Report, path: &Path<'_>, rest: Map<String, Value>, problem: &str) {
    for key in rest.keys() {
        if key.contains('\0') {
            r.add(path, "a field name contains a NUL character");
        } else {
            r.add(
                &path.key(key),
                if problem == "unknown field" {
                    problem.to_string()
                } else {
                    format!("unknown field; {problem}")
                },
            );
        }
    }
}

/// `resource.verb`, dotted lower snake_case: the same rule as the
/// `audit_events.action` CHECK, `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`.
pub fn is_action(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        if !is_snake_word(part) {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

/// `^[a-z][a-z0-9_]*$`, the `entity_type` CHECK.
pub fn is_snake_word(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> Limits {
        Limits::default()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap()
    }

    fn good() -> Value {
        json!({
            "occurred_at": "2026-01-15T09:00:00Z",
            "actor": {"kind": "user", "id": "usr_1", "name": "Alice"},
            "action": "invoice.update",
            "entity": {"type": "invoice", "id": "inv_1"}
        })
    }

    fn errors(body: Value) -> Vec<String> {
        match ingest_request(body, Uuid::nil(), &limits(), now()) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.message).collect(),
        }
    }

    #[test]
    fn actions_and_types_follow_the_database_checks() {
        for ok in ["invoice.update", "api_key.revoke", "a.b.c", "x1.y_2"] {
            assert!(is_action(ok), "{ok}");
        }
        for bad in ["invoice", "Invoice.update", "invoice.", ".update", "invoice..x", "1a.b", "a.b-c", ""] {
            assert!(!is_action(bad), "{bad}");
        }
        assert!(is_snake_word("api_key") && !is_snake_word("ApiKey") && !is_snake_word("_x"));
    }

    #[test]
    fn a_single_event_and_a_batch_are_both_accepted() {
        let one = ingest_request(good(), Uuid::nil(), &limits(), now()).ok().unwrap();
        assert_eq!((one.events.len(), one.batch), (1, false));
        let many = ingest_request(json!({"events": [good(), good()]}), Uuid::nil(), &limits(), now());
        let many = many.ok().unwrap();
        assert_eq!((many.events.len(), many.batch), (2, true));
        assert!(many.events[0].id < many.events[1].id, "ids in request order");
    }

    #[test]
    fn every_problem_is_named_by_its_path() {
        let mut e0 = good();
        e0["actor"].as_object_mut().unwrap().remove("id");
        e0["occurred_at"] = json!(1736931600);
        let mut e1 = good();
        e1["context"] = json!({"ip": "nope", "country": "GBR", "colour": 1});
        e1["acter"] = json!({});
        let mut e2 = good();
        e2["changes"] = json!({"diff": {"status": {"typo": 1}, "total": {"old": 1, "new": 2}}});
        e2["metadata"] = json!({"note": "a\u{0}b", "list": [1, {"k\u{0}": 2}]});
        e2["action"] = json!("Invoice Update");
        let got = errors(json!({"events": [e0, e1, e2, []], "extra": true}));
        assert_eq!(
            got,
            [
                "extra: unknown field",
                "events[0].occurred_at: expected an RFC 3339 timestamp string, got a number",
                "events[0].actor.id: required",
                "events[1].context.ip: not an IP address",
                "events[1].context.country: not a two-letter country code (ISO 3166-1 alpha-2, such as GB)",
                "events[1].context.colour: unknown field",
                "events[1].acter: unknown field",
                "events[2].action: not a dotted lower snake_case action like `invoice.update`",
                "events[2].changes.diff.status.typo: unknown field; a changed value has `old` and/or `new`",
                "events[2].changes.diff.status: expected `old` and/or `new` (or `fields` for a nested object)",
                "events[2].metadata.list[1][\"k\\u0000\"]: the field name contains a NUL character, which cannot be stored",
                "events[2].metadata.note: contains a NUL character (\\u0000), which cannot be stored",
                "events[3]: expected an object, got an array",
            ]
        );
    }

    #[test]
    fn timestamps_must_be_plausible() {
        let at = |t: &str| {
            let mut e = good();
            e["occurred_at"] = json!(t);
            errors(e)
        };
        assert!(at("2026-01-16T11:59:00Z").is_empty(), "within 24 hours ahead");
        assert!(at("2026-01-15T13:00:00+02:00").is_empty(), "offsets");
        assert!(at("2026-01-16T12:01:00Z")[0].starts_with("occurred_at: more than 24 hours in the future"));
        assert!(at("1999-12-31T23:59:59Z")[0].starts_with("occurred_at: before 2000-01-01"));
        assert!(at("2000-01-01T00:00:00+05:00").is_empty(), "the date as written counts");
        assert!(at("1999-12-31T23:00:00-05:00")[0].starts_with("occurred_at: before 2000-01-01"));
        assert!(at("15/01/2026")[0].starts_with("occurred_at: not an RFC 3339 timestamp"));
    }

    #[test]
    fn batches_are_bounded_and_external_ids_unique_within_one() {
        let batch = |n: usize| json!({"events": vec![good(); n]});
        assert_eq!(errors(batch(0)), ["events: at least one event is required"]);
        assert_eq!(errors(batch(1001)), ["events: at most 1000 events per request"]);
        assert!(errors(batch(1000)).is_empty());
        let with_id = |id: &str| {
            let mut e = good();
            e["external_id"] = json!(id);
            e
        };
        let repeated = ingest_request(
            json!({"events": [with_id("a"), with_id("b"), with_id("a")]}),
            Uuid::nil(),
            &limits(),
            now(),
        );
        let repeated: Vec<String> =
            duplicate_external_ids(&repeated.ok().unwrap()).into_iter().map(|e| e.message).collect();
        assert_eq!(
            repeated,
            ["events[2].external_id: same as events[0].external_id; external ids are unique per org"]
        );
        let mut bad = good();
        bad["actor"] = json!("alice");
        assert_eq!(errors(json!({"events": vec![bad; 80]})).len(), MAX_ERRORS + 1, "capped, with a note");
    }

    #[test]
    fn odd_keys_are_quoted_in_paths() {
        let mut e = good();
        e["metadata"] = json!({"a b": {"<script>": "x\u{0}"}});
        assert_eq!(
            errors(e),
            ["metadata[\"a b\"][\"<script>\"]: contains a NUL character (\\u0000), which cannot be stored"]
        );
    }
}
