//! The OpenAPI 3.1 document of the ingestion API, served at
//! `GET /api/v1/openapi.json`.
//!
//! Requests are checked by hand (`validate`, the filter parser, the token
//! endpoint) to report every problem with its path, so the request schemas
//! are not derived from types: `wire` and `filters` state the checks as
//! JSON Schema, with the validator's own limits (`app::model::limits`), and
//! replace the placeholders below when the document is rendered. The campaign (`scripts/attack.sh`) holds the server
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
        IngestRequest, EventBatch, Event, Actor, Entity, Changes, Context, Accepted, ErrorBody,
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
    let paths = &mut doc["paths"];
    if let Some(params) = paths["/api/v1/events/export"]["get"]["parameters"].as_array_mut() {
        for param in params {
            let name = param["name"].as_str().unwrap_or_default().to_string();
            param["schema"] = match name.as_str() {
                "format" => serde_json::json!({"type": "string", "enum": ["csv", "ndjson", "json"]}),
                key => filters::filter_value(key),
            };
        }
    }
    // `format=json`: one array of the NDJSON lines' objects.
    let json = &mut paths["/api/v1/events/export"]["get"]["responses"]["200"]["content"]["application/json"];
    if json.is_object() {
        json["schema"] = serde_json::json!({"type": "array", "items": {"type": "object"}});
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

// The request schemas by name. Each is a placeholder: `exact_inputs`
// replaces it with the exact schema from `wire`, which states the
// validator's own rules and limits (`app::model::limits`), so the document
// and the validator cannot drift apart; only the names, the references
// between them and the example are taken from here.

#[derive(Serialize, ToSchema)]
pub struct EventBatch {
    pub events: Vec<Event>,
}

#[derive(Serialize, ToSchema)]
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
    pub actor: Actor,
    pub entity: Entity,
    pub changes: Option<Changes>,
    pub context: Option<Context>,
}

#[derive(Serialize, ToSchema)]
pub struct Actor {}

#[derive(Serialize, ToSchema)]
pub struct Entity {}

#[derive(Serialize, ToSchema)]
pub struct Changes {}

#[derive(Serialize, ToSchema)]
pub struct Context {}

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
        assert_eq!(content["application/json"]["schema"]["type"], "array", "{content}");
        assert_eq!(
            export["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
    }

    /// Every text limit the document states is the one the validator
    /// enforces: the example event with that field at the limit is
    /// accepted, one character over it is refused naming the field.
    #[test]
    fn every_documented_text_limit_is_the_validators() {
        use app::model::limits::*;
        let doc: Value = serde_json::from_str(&DOCUMENT).unwrap();
        let schemas = &doc["components"]["schemas"];
        let example = schemas["Event"]["example"].clone();
        let cases: [(&str, &str, &str, usize); 11] = [
            ("Actor", "id", "/actor/id", MAX_ID_CHARS),
            ("Actor", "name", "/actor/name", MAX_NAME_CHARS),
            ("Actor", "email", "/actor/email", MAX_EMAIL_CHARS),
            ("Entity", "id", "/entity/id", MAX_ID_CHARS),
            ("Entity", "name", "/entity/name", MAX_ENTITY_NAME_CHARS),
            ("Entity", "type", "/entity/type", MAX_TYPE_CHARS),
            ("Event", "action", "/action", MAX_ACTION_CHARS),
            ("Event", "external_id", "/external_id", MAX_ID_CHARS),
            ("Context", "user_agent", "/context/user_agent", MAX_USER_AGENT_CHARS),
            ("Context", "session_id", "/context/session_id", MAX_ID_CHARS),
            ("Context", "request_id", "/context/request_id", MAX_ID_CHARS),
        ];
        let ingest = |event: Value| {
            super::super::validate::ingest_request(
                event,
                uuid::Uuid::nil(),
                &super::super::Limits::default(),
                chrono::Utc::now(),
            )
        };
        for (schema, property, pointer, limit) in cases {
            // A required field states it directly, an optional one on the
            // string branch of its `anyOf`.
            let property_schema = &schemas[schema]["properties"][property];
            let documented = property_schema["maxLength"].as_u64().or_else(|| {
                property_schema["anyOf"].as_array()?.iter().find_map(|branch| branch["maxLength"].as_u64())
            });
            assert_eq!(documented, Some(limit as u64), "{schema}.{property} in the document");
            // A value of the field's own shape, `limit` characters long.
            let value = |n: usize| match property {
                "action" => format!("a.{}", "b".repeat(n - 2)),
                "type" => "t".repeat(n),
                "email" => format!("{}@x.example", "a".repeat(n - 10)),
                _ => "x".repeat(n),
            };
            let mut event = example.clone();
            let set = |event: &mut Value, text: String| {
                let slot = pointer.trim_start_matches('/').split('/').fold(event, |v, key| &mut v[key]);
                *slot = text.into();
            };
            set(&mut event, value(limit));
            assert!(ingest(event.clone()).is_ok(), "{pointer} at {limit} characters is accepted");
            set(&mut event, value(limit + 1));
            let refused = format!("{:?}", ingest(event).err());
            let field = pointer.trim_start_matches('/').replace('/', ".");
            assert!(
                refused.contains(&field),
                "{pointer} over {limit} characters is refused naming it: {refused}"
            );
        }
    }
}
