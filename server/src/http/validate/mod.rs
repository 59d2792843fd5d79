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

mod event;
mod values;

use event::{EventChecker, earliest};

pub use app::model::names::{is_action, is_snake_word};
use values::{
    document_limits, kind, object, optional_object, optional_text, required_object, required_text,
    storable_json, unknown_fields, unknown_fields_with,
};

#[cfg(test)]
mod tests;
