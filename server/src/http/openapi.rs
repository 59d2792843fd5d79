//! The OpenAPI 3.1 document of the ingestion API, served at
//! `GET /api/v1/openapi.json`.
//!
//! Requests are checked by hand (`validate`, the filter parser, the token
//! endpoint) to report every problem with its path, so the request schemas
//! are not derived from types: `wire` and `filters` restate the checks as
//! JSON Schema, and replace the derived placeholders below when the
//! document is rendered. The campaign (`scripts/attack.sh`) holds the server
//! to the document with schemathesis; unit tests here run the documented
//! example through the validator and pin the rules that are easy to drift.

mod filters;
mod wire;

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::error::{ErrorBody, ErrorDetail, FieldError};
use super::events::Accepted;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Audit Timeline ingestion API",
        version = "1",
        description = "Send audit events to the append-only log. Authenticate with an org API key \
                       (`audit-timeline api-key create`) as `Authorization: Bearer atl_…`. Errors are \
                       JSON: `{\"error\": {\"code\", \"message\", \"field\", \"errors\"}}`, where \
                       `message` starts with the path of the field at fault."
    ),
    paths(
        super::events::ingest,
        super::export::api_export,
        super::verify::verify,
        super::viewer_tokens::mint_token
    ),
    components(schemas(
        IngestRequest, EventBatch, Event, Actor, ActorKind, Entity, Changes, Context, Accepted, ErrorBody,
        ErrorDetail, FieldError, super::verify::Verification, super::viewer_tokens::MintRequest,
        super::viewer_tokens::MintedToken
    )),
    modifiers(&BearerApiKey),
    tags(
        (name = "events", description = "Writing audit events"),
        (name = "export", description = "Reading the log out as CSV or NDJSON, with the timeline's filters"),
        (name = "integrity", description = "Checking that nothing stored was changed"),
        (name = "embedding", description = "Showing the timeline in another product's pages")
    )
)]
pub struct ApiDoc;

struct BearerApiKey;

impl Modify for BearerApiKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("atl_ followed by 40 base62 characters")
                    .description(Some(
                        "An org API key, shown once when created. Missing, unknown and revoked keys get 401.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document, rendered once per process: the `occurred_at` pattern
/// names the years before the one the server started in.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    use chrono::Datelike;
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    exact_inputs(&mut doc, chrono::Utc::now().year());
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_string())
});

/// Whether `name` (trimmed, as the filters read it) is a zone the
/// document lists.
pub fn is_known_zone(name: &str) -> bool {
    let name = name.trim();
    name == "UTC" || name.parse::<chrono_tz::Tz>().is_ok()
}

/// Replaces the derived request schemas and parameters with the exact ones.
fn exact_inputs(doc: &mut Value, year: i32) {
    let schemas = &mut doc["components"]["schemas"];
    let example = schemas["Event"]["example"].take();
    for (name, schema) in [
        ("Event", wire::event(year, example)),
        ("EventBatch", wire::event_batch()),
        ("Actor", wire::actor()),
        ("Entity", wire::entity()),
        ("Changes", wire::changes()),
        ("Context", wire::context()),
        ("DiffTree", wire::diff_tree()),
        ("ChangeNode", wire::change_node()),
        ("FreeObject", wire::free_object()),
        ("JsonValue", wire::json_value()),
        ("MintRequest", filters::mint_request()),
    ] {
        schemas[name] = schema;
    }
    if let Some(schemas) = schemas.as_object_mut() {
        // ActorKind is inlined as an enum on Actor.kind.
        schemas.remove("ActorKind");
    }
    let paths = &mut doc["paths"];
    if let Some(params) = paths["/api/v1/events/export"]["get"]["parameters"].as_array_mut() {
        for param in params {
            let name = param["name"].as_str().unwrap_or_default().to_string();
            param["schema"] = match name.as_str() {
                "format" => serde_json::json!({"type": "string", "enum": ["csv", "ndjson"]}),
                key => filters::filter_value(key),
            };
        }
    }
    if let Some(params) = paths["/api/v1/events"]["post"]["parameters"].as_array_mut() {
        for param in params.iter_mut().filter(|p| p["name"] == "Idempotency-Key") {
            // Visible ASCII as HTTP carries it (surrounding spaces are not
            // part of a header value), 1 to 200 characters.
            param["schema"] = serde_json::json!({
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": "^[!-~]([ -~\\t]*[!-~])?$",
            });
        }
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT.as_str())
}

/// One event, or a batch of them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum IngestRequest {
    Batch(EventBatch),
    One(Box<Event>),
}

/// 1 to 1000 events, stored together or not at all.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    #[schema(min_items = 1, max_items = 1000)]
    pub events: Vec<Event>,
}

/// An audit event as a program sends it. The server sets the id (UUIDv7)
/// and the org (from the API key). Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "occurred_at": "2026-01-15T09:00:00Z",
    "actor": {"kind": "user", "id": "usr_42", "name": "Alice Example", "email": "alice@example.com"},
    "action": "invoice.update",
    "entity": {"type": "invoice", "id": "inv_1042", "name": "INV-1042"},
    "changes": {"diff": {"status": {"old": "draft", "new": "sent"}}},
    "context": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "country": "GB"},
    "metadata": {"plan": "pro"},
    "external_id": "evt_01HZX3"
}))]
pub struct Event {
    /// When it happened, RFC 3339. Not more than 24 hours ahead of the
    /// server's clock, not before 2000-01-01.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub actor: Actor,
    /// Dotted lower snake_case `resource.verb`.
    #[schema(
        pattern = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$",
        max_length = 100,
        example = "invoice.update"
    )]
    pub action: String,
    pub entity: Entity,
    pub changes: Option<Changes>,
    pub context: Option<Context>,
    /// Free-form; secrets (keys such as `password`, `token`, `api_key`) and
    /// binary values are replaced before storing.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Your own id for the event, unique per org: a second event with it is
    /// refused (409), so a retried send cannot store it twice.
    #[schema(max_length = 200)]
    pub external_id: Option<String>,
}

/// Who did it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub kind: ActorKind,
    #[schema(max_length = 200, example = "usr_42")]
    pub id: String,
    #[schema(max_length = 200, example = "Alice Example")]
    pub name: String,
    #[schema(max_length = 320)]
    pub email: Option<String>,
    /// An `https://` URL (printable ASCII, no user-info), or one of this
    /// server's identicons, `/avatars/<key>.svg`.
    #[schema(
        max_length = 2048,
        pattern = r"^(https://[\x21\x22\x24-\x2e\x30-\x39\x3b-\x3e\x41-\x5b\x5d-\x7e][\x21\x22\x24-\x2e\x30-\x3e\x41-\x5b\x5d-\x7e]*([/?#][\x21-\x5b\x5d-\x7e]*)?|/avatars/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\.svg)$"
    )]
    pub avatar: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    System,
    ApiKey,
    Integration,
}

/// The record acted on.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    /// Lower snake_case category, e.g. `invoice`, `api_key`.
    #[serde(rename = "type")]
    #[schema(pattern = r"^[a-z][a-z0-9_]*$", max_length = 100, example = "invoice")]
    pub entity_type: String,
    #[schema(max_length = 200, example = "inv_1042")]
    pub id: String,
    /// What the timeline shows, e.g. `INV-1042`.
    #[schema(max_length = 500)]
    pub name: Option<String>,
}

/// What changed: exactly one of `diff`, `snapshot` or `initial`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Changes {
    /// For updates: field → `{"old": …, "new": …}` (either side may be left
    /// out for an added or removed field), or `{"fields": {…}}` for a nested
    /// object.
    #[schema(value_type = Option<Object>)]
    pub diff: Option<Value>,
    /// For deletes: the record's final field values.
    #[schema(value_type = Option<Object>)]
    pub snapshot: Option<Value>,
    /// For creates: the initial field values.
    #[schema(value_type = Option<Object>)]
    pub initial: Option<Value>,
}

/// Where the request came from.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// IPv4 or IPv6 address.
    #[schema(example = "203.0.113.7")]
    pub ip: Option<String>,
    #[schema(max_length = 1000)]
    pub user_agent: Option<String>,
    #[schema(max_length = 200)]
    pub session_id: Option<String>,
    #[schema(max_length = 200)]
    pub request_id: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(min_length = 2, max_length = 2, example = "GB")]
    pub country: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_event_is_valid() {
        let doc: Value = serde_json::from_str(&DOCUMENT).unwrap();
        let example = doc["components"]["schemas"]["Event"]["example"].clone();
        assert!(example.is_object(), "Event has an example");
        let ingest = super::super::validate::ingest_request(
            example,
            uuid::Uuid::nil(),
            &super::super::Limits::default(),
            chrono::Utc::now(),
        );
        assert!(ingest.is_ok(), "{:?}", ingest.err());
        assert!(doc["paths"]["/api/v1/events"]["post"].is_object());
        assert_eq!(doc["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
    }

    #[test]
    fn the_export_is_documented_with_every_filter_key() {
        let doc: Value = serde_json::from_str(&DOCUMENT).unwrap();
        let export = &doc["paths"]["/api/v1/events/export"]["get"];
        assert!(export.is_object(), "GET /api/v1/events/export is documented");
        let params: Vec<&str> =
            export["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(params[0], "format");
        assert_eq!(params[1..], super::super::export::FILTER_KEYS);
        let content = &export["responses"]["200"]["content"];
        assert!(content["text/csv"].is_object() && content["application/x-ndjson"].is_object(), "{content}");
        assert_eq!(
            export["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }
}
