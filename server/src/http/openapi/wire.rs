//! The exact wire rules of the API's inputs, as JSON Schema.
//!
//! The validator (`validate`), the filter parser (`app::model::filter`) and
//! the token endpoint read requests by hand; these schemas restate their
//! rules one for one (which characters trimming ignores, which strings count
//! as absent, which dates exist), so that every request valid by the
//! document is taken and every request the document forbids is refused.
//! Rules a schema cannot state (the clock-relative window of `occurred_at`,
//! byte budgets, nesting depth, unique external ids) are in the prose and
//! answered with the status the document lists for them.

use app::model::ActorKind;
use app::model::limits::{
    MAX_ACTION_CHARS, MAX_EMAIL_CHARS, MAX_ENTITY_NAME_CHARS, MAX_ID_CHARS, MAX_NAME_CHARS, MAX_TYPE_CHARS,
    MAX_URL_CHARS, MAX_USER_AGENT_CHARS,
};
use serde_json::{Value, json};

/// What Rust's `str::trim` removes: the Unicode White_Space characters.
/// Spelled out because `\s` differs between regex engines.
const WS: &str = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// A string that, once trimmed, is empty: the API reads it as absent.
fn blank() -> Value {
    json!({"type": "string", "pattern": format!("^[{WS}]*$")})
}

/// A required text field: not blank, no NUL (PostgreSQL text refuses it),
/// at most `max` characters.
pub fn required_text(max: usize, description: &str) -> Value {
    json!({
        "type": "string",
        "maxLength": max,
        "pattern": format!("^[^\\u0000]*[^\\u0000{WS}][^\\u0000]*$"),
        "description": description,
    })
}

/// An optional text field: absent, null or blank, or a string without NUL
/// of at most `max` characters.
pub fn optional_text(max: usize, description: &str) -> Value {
    json!({
        "anyOf": [
            {"type": "null"},
            blank(),
            {"type": "string", "maxLength": max, "pattern": "^[^\\u0000]*$"},
        ],
        "description": description,
    })
}

/// Optional, with its own pattern once not blank.
fn optional_pattern(pattern: &str, max: usize, description: &str) -> Value {
    json!({
        "anyOf": [
            {"type": "null"},
            blank(),
            {"type": "string", "maxLength": max, "pattern": pattern},
        ],
        "description": description,
    })
}

/// Month and day pairs that exist in every year: 29 February is left out
/// (the server takes it in leap years; a pattern cannot tell which those are).
const MONTH_DAY: &str =
    "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))";

/// `occurred_at`: RFC 3339 as the server parses it, dated (as written, in
/// its own offset) from 2000 to the year before `year`. Every such instant
/// is within the accepted window whatever the server's clock says, as the
/// window reaches 24 hours past now.
pub fn occurred_at(year: i32) -> Value {
    let last = year - 1;
    json!({
        "type": "string",
        "format": "date-time",
        "pattern": format!(
            "^({})-{MONTH_DAY}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{{1,9}})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$",
            years_from_2000(last)
        ),
        "description": format!(
            "When it happened, RFC 3339 with an offset. Taken from 2000-01-01T00:00:00 (as written, \
             in its own offset) up to 24 hours after the server's clock; the pattern lists the years \
             every server takes ({}), this year's events are taken too. Outside the window: 422.",
            if last > 2000 { format!("2000 to {last}") } else { "2000".to_string() }
        ),
    })
}

/// A regex alternation matching the four-digit years 2000..=last (last
/// before 2100, which is as far as this product needs to look).
fn years_from_2000(last: i32) -> String {
    let offset = last.clamp(2000, 2099) - 2000;
    let (decade, unit) = (offset / 10, offset % 10);
    let mut parts = Vec::new();
    if decade > 0 {
        parts.push(format!("20{}[0-9]", digit_range(0, decade - 1)));
    }
    parts.push(format!("20{decade}{}", digit_range(0, unit)));
    parts.join("|")
}

fn digit_range(low: i32, high: i32) -> String {
    if low == high { low.to_string() } else { format!("[{low}-{high}]") }
}

/// Any JSON value jsonb can store: no NUL in a string or key. The byte,
/// depth and key-count limits are stated in prose on the event.
pub fn json_value() -> Value {
    json!({
        "description": "Any JSON value; no NUL character (\\u0000) in a string or key.",
        "type": ["null", "boolean", "number", "string", "array", "object"],
        "pattern": "^[^\\u0000]*$",
        "items": {"$ref": "#/components/schemas/JsonValue"},
        "propertyNames": {"pattern": "^[^\\u0000]*$"},
        "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
    })
}

/// A free-form object (metadata, a snapshot, initial values).
pub fn free_object() -> Value {
    json!({
        "type": "object",
        "propertyNames": {"pattern": "^[^\\u0000]*$"},
        "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
    })
}

pub fn diff_tree() -> Value {
    json!({
        "description": "Field name → a changed value (`old` and/or `new`) or a nested object's changes (`fields`).",
        "type": "object",
        "propertyNames": {"pattern": "^[^\\u0000]*$"},
        "additionalProperties": {"$ref": "#/components/schemas/ChangeNode"},
    })
}

pub fn change_node() -> Value {
    json!({
        "oneOf": [
            {
                "type": "object",
                "required": ["fields"],
                "additionalProperties": false,
                "properties": {"fields": {"$ref": "#/components/schemas/DiffTree"}},
            },
            {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": false,
                "properties": {
                    "old": {"$ref": "#/components/schemas/JsonValue"},
                    "new": {"$ref": "#/components/schemas/JsonValue"},
                },
            },
        ],
    })
}

pub fn changes() -> Value {
    json!({
        "description": "What changed: exactly one of `diff` (updates), `snapshot` (deletes: the final values) or `initial` (creates).",
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": false,
        "properties": {
            "diff": {"$ref": "#/components/schemas/DiffTree"},
            "snapshot": {"$ref": "#/components/schemas/FreeObject"},
            "initial": {"$ref": "#/components/schemas/FreeObject"},
        },
    })
}

pub fn actor() -> Value {
    json!({
        "description": "Who did it.",
        "type": "object",
        "required": ["kind", "id", "name"],
        "additionalProperties": false,
        "properties": {
            "kind": {"type": "string", "enum": ActorKind::ALL.map(ActorKind::as_str)},
            "id": required_text(MAX_ID_CHARS, "The actor's id in your system, e.g. `usr_42`."),
            "name": required_text(MAX_NAME_CHARS, "What the timeline shows, e.g. `Alice Example`."),
            "email": optional_text(MAX_EMAIL_CHARS, "Shown beside the name."),
            // What `app::model::is_allowed_avatar` admits, as a pattern.
            "avatar": optional_pattern(
                r"^(https://[\x21\x22\x24-\x2e\x30-\x39\x3b-\x3e\x41-\x5b\x5d-\x7e][\x21\x22\x24-\x2e\x30-\x3e\x41-\x5b\x5d-\x7e]*([/?#][\x21-\x5b\x5d-\x7e]*)?|/avatars/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\.svg)$",
                MAX_URL_CHARS,
                "An https URL, or one of this server's identicons, `/avatars/<key>.svg`.",
            ),
        },
    })
}

pub fn entity() -> Value {
    json!({
        "description": "The record acted on.",
        "type": "object",
        "required": ["type", "id"],
        "additionalProperties": false,
        "properties": {
            "type": {
                "type": "string",
                "maxLength": MAX_TYPE_CHARS,
                "pattern": "^[a-z][a-z0-9_]*$",
                "description": "Lower snake_case category, e.g. `invoice`, `api_key`.",
            },
            "id": required_text(MAX_ID_CHARS, "The record's id, e.g. `inv_1042`."),
            "name": optional_text(MAX_ENTITY_NAME_CHARS, "What the timeline shows, e.g. `INV-1042`."),
        },
    })
}

pub fn context() -> Value {
    json!({
        "description": "Where the request came from.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "ip": {
                "anyOf": [
                    {"type": "null"},
                    blank(),
                    {"type": "string", "maxLength": 100, "format": "ipv4"},
                    {"type": "string", "maxLength": 100, "format": "ipv6"},
                ],
                "description": "IPv4 or IPv6 address (stored in canonical form).",
            },
            "user_agent": optional_text(MAX_USER_AGENT_CHARS, "The client's User-Agent."),
            "session_id": optional_text(MAX_ID_CHARS, "Your session id."),
            "request_id": optional_text(MAX_ID_CHARS, "Your request id."),
            "country": optional_pattern("^[A-Za-z]{2}$", 100, "ISO 3166-1 alpha-2, e.g. `GB` (stored upper case)."),
        },
    })
}

pub fn event(year: i32, example: Value) -> Value {
    json!({
        "description": "An audit event as a program sends it. The server sets the id (UUIDv7) and the org \
                        (from the API key). Unknown fields are refused. Limits on `changes` and `metadata`: \
                        nesting at most 32 levels, strings at most 8 KiB (UTF-8), at most 500 keys per \
                        object and 1,000 items per array (422 naming the path); the whole event at most \
                        64 KiB as stored (413). Two events of one request with the same `external_id`: \
                        409, nothing stored.",
        "type": "object",
        "required": ["occurred_at", "actor", "action", "entity"],
        "additionalProperties": false,
        "properties": {
            "occurred_at": occurred_at(year),
            "actor": {"$ref": "#/components/schemas/Actor"},
            "action": {
                "type": "string",
                "maxLength": MAX_ACTION_CHARS,
                "pattern": "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$",
                "description": "Dotted lower snake_case `resource.verb`, e.g. `invoice.update`.",
            },
            "entity": {"$ref": "#/components/schemas/Entity"},
            "changes": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Changes"}]},
            "context": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Context"}]},
            "metadata": {
                "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/FreeObject"}],
                "description": "Free-form; secrets (keys such as `password`, `token`, `api_key`) and binary \
                                values are replaced before storing.",
            },
            "external_id": optional_text(
                MAX_ID_CHARS,
                "Your own id for the event, unique per org: a second event with it is refused (409), so \
                 a retried send cannot store it twice.",
            ),
        },
        "example": example,
    })
}

pub fn event_batch() -> Value {
    json!({
        "description": "1 to 1000 events, stored together or not at all.",
        "type": "object",
        "required": ["events"],
        "additionalProperties": false,
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {"$ref": "#/components/schemas/Event"},
            },
        },
    })
}
