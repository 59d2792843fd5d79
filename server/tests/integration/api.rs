//! The ingestion API through its router, on a real PostgreSQL: what is
//! stored, and that bad input of every kind gets a 4xx naming the field,
//! never a 500 and never a half-written batch.

use std::time::{Duration, Instant};

use crate::common::*;
use app::api::AuditStore;
use app::model::{Actor, ActorKind, EventQuery};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};
use server::PgAuditStore;
use server::http::{ApiContext, Limits};
use server::store;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower::ServiceExt;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1);
const OTHER_ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a2);

struct Api {
    router: Router,
    key: String,
    app: PgPool,
    owner: PgPool,
}

fn admin() -> Actor {
    Actor {
        kind: ActorKind::User,
        id: "usr_admin".into(),
        name: "Ada Admin".into(),
        email: Some("ada@example.com".into()),
        avatar: None,
    }
}

async fn setup(connect: PgConnectOptions) -> Api {
    setup_with(connect, Limits::default()).await
}

async fn setup_with(connect: PgConnectOptions, limits: Limits) -> Api {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    store::ensure_org(&owner, OTHER_ORG, "other", "Other").await.unwrap();
    let app = app_pool(connect).await;
    let (_, key) = store::create_api_key(&app, ORG, "CI", &admin()).await.unwrap();
    let router = server::http::routes(ApiContext { limits, ..ApiContext::new(app.clone()) });
    Api { router, key, app, owner }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or_default()
    }

    fn messages(&self) -> Vec<String> {
        self.body["error"]["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e["message"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }
}

impl Api {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{status}: body is not JSON: {}", String::from_utf8_lossy(&bytes)));
        Answer { status, headers, body }
    }

    /// POST with this org's key and a JSON content type.
    async fn post(&self, body: impl Into<Body>) -> Answer {
        self.send(request(Some(&self.key), body)).await
    }

    async fn post_json(&self, body: &Value) -> Answer {
        self.post(body.to_string()).await
    }

    async fn post_keyed(&self, idempotency_key: &str, body: &Value) -> Answer {
        let mut req = request(Some(&self.key), body.to_string());
        req.headers_mut().insert("idempotency-key", idempotency_key.parse().unwrap());
        self.send(req).await
    }

    /// Events sent through the API (not the key events the setup wrote).
    async fn stored(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE entity_type <> 'api_key'")
            .fetch_one(&self.owner)
            .await
            .unwrap()
    }
}

fn request(key: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut builder = Request::post("/api/v1/events").header(header::CONTENT_TYPE, "application/json");
    if let Some(key) = key {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    builder.body(body.into()).unwrap()
}

fn recent() -> String {
    (chrono::Utc::now() - chrono::TimeDelta::minutes(5)).to_rfc3339()
}

fn event(action: &str, entity_id: &str) -> Value {
    json!({
        "occurred_at": recent(),
        "actor": {"kind": "user", "id": "usr_1", "name": "Alice Example", "email": "alice@example.com"},
        "action": action,
        "entity": {"type": action.split('.').next().unwrap(), "id": entity_id, "name": entity_id.to_uppercase()},
        "context": {"ip": "203.0.113.7", "country": "gb"},
        "metadata": {"plan": "pro"}
    })
}

fn batch(n: usize) -> Value {
    json!({"events": (0..n).map(|i| event("task.update", &format!("task_{i}"))).collect::<Vec<_>>()})
}

async fn timeline(app: &PgPool, org: Uuid) -> Vec<app::model::AuditEvent> {
    PgAuditStore::new(app.clone()).list_events(org, &EventQuery::default(), None, 50).await.unwrap().events
}

fn ids(answer: &Answer) -> Vec<Uuid> {
    serde_json::from_value(answer.body["ids"].clone()).unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn one_event_and_a_batch_are_stored_for_the_keys_org_in_request_order(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = setup(connect).await;
    let mut one = event("invoice.update", "inv_1");
    one["changes"] = json!({"diff": {"status": {"old": "draft", "new": "sent"}, "billing": {"fields": {"city": {"old": "Leeds", "new": "York"}}}}});
    one["external_id"] = json!("evt-1");
    let a = api.post_json(&one).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["accepted"], 1);
    let first = ids(&a);

    let b = api.post_json(&batch(3)).await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    assert_eq!(b.body["accepted"], 3);
    let later = ids(&b);
    assert!(later.windows(2).all(|w| w[0] < w[1]), "UUIDv7, in request order");
    assert_eq!(later[0].get_version_num(), 7);

    let events = timeline(&api.app, ORG).await;
    let stored = events.iter().find(|e| e.id == first[0]).expect("the single event");
    assert_eq!(stored.org_id, ORG, "the org comes from the key");
    assert_eq!(stored.actor.email.as_deref(), Some("alice@example.com"));
    assert_eq!(stored.context.country.as_deref(), Some("GB"));
    assert_eq!(stored.context.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        serde_json::to_value(&stored.changes).unwrap(),
        json!({"diff": {"billing": {"fields": {"city": {"old": "Leeds", "new": "York"}}}, "status": {"old": "draft", "new": "sent"}}})
    );
    for (i, id) in later.iter().enumerate() {
        let e = events.iter().find(|e| e.id == *id).unwrap();
        assert_eq!(e.entity.id, format!("task_{i}"));
    }
    assert!(timeline(&api.app, OTHER_ORG).await.is_empty());
}

#[sqlx::test(migrations = "./migrations")]
async fn malformed_json_wrong_types_and_missing_fields_name_the_field(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = setup(connect).await;

    let a = api.post("{\"events\": [\n  {\"action\": \"x.y\",}\n]}").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["error"]["code"], "malformed_json");
    assert!(a.message().contains("line 2 column"), "{}", a.message());

    let a = api.post("").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "an empty body is malformed JSON");

    let mut no_actor_id = event("invoice.update", "inv_1");
    no_actor_id["actor"].as_object_mut().unwrap().remove("id");
    let mut wrong_types = event("invoice.update", "inv_2");
    wrong_types["occurred_at"] = json!(1_700_000_000);
    wrong_types["entity"]["id"] = json!(42);
    wrong_types["metadata"] = json!(["not", "an", "object"]);
    let mut bad_ip = event("invoice.update", "inv_3");
    bad_ip["context"]["ip"] = json!("999.1.1.1");
    let mut future = event("invoice.update", "inv_4");
    future["occurred_at"] = json!((chrono::Utc::now() + chrono::TimeDelta::days(400)).to_rfc3339());
    let good = event("invoice.update", "inv_5");
    let a =
        api.post_json(&json!({"events": [good, wrong_types, bad_ip, no_actor_id, future, "event"]})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(a.body["error"]["code"], "invalid_request");
    assert_eq!(a.message(), "events[1].occurred_at: expected an RFC 3339 timestamp string, got a number");
    assert_eq!(a.field(), "events[1].occurred_at");
    let messages = a.messages();
    assert_eq!(
        messages[1..5],
        [
            "events[1].entity.id: expected a string, got a number",
            "events[1].metadata: expected an object, got an array",
            "events[2].context.ip: not an IP address",
            "events[3].actor.id: required",
        ]
    );
    assert!(
        messages[5].starts_with("events[4].occurred_at: more than 24 hours in the future"),
        "{messages:?}"
    );
    assert_eq!(messages[6], "events[5]: expected an object, got a string");
    assert_eq!(api.stored().await, 0, "the valid event of the batch was not stored either");

    let a = api.post_json(&json!({"action": "invoice.update"})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        a.messages(),
        [
            "occurred_at: required (an RFC 3339 timestamp such as 2026-01-15T09:00:00Z)",
            "actor: required",
            "entity: required"
        ],
        "a single event's paths have no prefix"
    );

    let a = api.post_json(&json!([event("invoice.update", "inv_1")])).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.message().starts_with("body: expected a JSON object"), "{}", a.message());
}

#[sqlx::test(migrations = "./migrations")]
async fn unknown_fields_are_refused_with_their_path(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    let mut typo = event("invoice.update", "inv_1");
    typo["ocurred_at"] = json!(recent());
    typo["actor"]["emial"] = json!("a@example.com");
    let a = api.post_json(&json!({"events": [typo], "dry_run": true})).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        a.messages(),
        [
            "dry_run: unknown field",
            "events[0].actor.emial: unknown field",
            "events[0].ocurred_at: unknown field"
        ]
    );
    let mut org = event("invoice.update", "inv_1");
    org["org_id"] = json!(OTHER_ORG);
    let a = api.post_json(&org).await;
    assert_eq!(a.message(), "org_id: unknown field", "the org is the key's, never the body's");
    assert_eq!(api.stored().await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn oversize_bodies_are_413_in_json_whether_declared_or_streamed(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = setup_with(connect, Limits { max_body_bytes: 64 * 1024, ..Limits::default() }).await;
    let mut big = event("file.upload", "f1");
    big["metadata"] = json!({"notes": "x".repeat(100 * 1024)});
    let a = api.post_json(&big).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.body["error"]["code"], "payload_too_large");

    // No Content-Length: refused while streaming, after 64 KiB, not after
    // the whole body.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..100).map(|_| Ok(vec![b' '; 4096])).collect();
    let a = api.post(Body::from_stream(futures_util::stream::iter(chunks))).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Just under the limit is fine.
    let mut fits = event("file.upload", "f2");
    // (Strings of at most 8 KiB, as the event limits require.)
    fits["metadata"] =
        json!((0..7).map(|i| (format!("n{i}"), json!("x ".repeat(4096)))).collect::<serde_json::Map<_, _>>());
    assert_eq!(api.post_json(&fits).await.status, StatusCode::CREATED);
    assert_eq!(api.stored().await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn wrong_content_types_are_415(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    let body = event("invoice.update", "inv_1").to_string();
    for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
        let mut builder =
            Request::post("/api/v1/events").header(header::AUTHORIZATION, format!("Bearer {}", api.key));
        if let Some(ct) = content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        let a = api.send(builder.body(Body::from(body.clone())).unwrap()).await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
        assert!(a.message().starts_with("Content-Type: expected application/json"), "{}", a.message());
    }
    let mut gz = request(Some(&api.key), body.clone());
    gz.headers_mut().insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    assert_eq!(api.send(gz).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut charset = request(Some(&api.key), body);
    charset.headers_mut().insert(header::CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
    assert_eq!(api.send(charset).await.status, StatusCode::CREATED);
}

#[sqlx::test(migrations = "./migrations")]
async fn missing_malformed_unknown_and_revoked_keys_are_401(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    let body = event("invoice.update", "inv_1").to_string();
    let (info, revoked) = store::create_api_key(&api.app, ORG, "Old", &admin()).await.unwrap();
    assert!(store::revoke_api_key(&api.app, ORG, info.id, &admin()).await.unwrap());
    let unknown = format!("atl_{}", "A".repeat(40));
    let mut basic = request(None, body.clone());
    basic.headers_mut().insert(header::AUTHORIZATION, "Basic dXNlcjpwYXNz".parse().unwrap());
    for (what, req) in [
        ("missing", request(None, body.clone())),
        ("malformed", request(Some("not-a-key"), body.clone())),
        ("unknown", request(Some(&unknown), body.clone())),
        ("revoked", request(Some(&revoked), body.clone())),
        ("basic", basic),
    ] {
        let a = api.send(req).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(a.body["error"]["code"], "unauthorized", "{what}");
        let challenge = a.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
    }
    assert_eq!(api.stored().await, 0);
    let mut lower = request(None, body);
    lower.headers_mut().insert(header::AUTHORIZATION, format!("bearer  {} ", api.key).parse().unwrap());
    let a = api.send(lower).await;
    assert_eq!(a.status, StatusCode::CREATED, "the scheme is case-insensitive");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_a_different_body(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = setup(connect).await;
    let body = batch(2);
    let first = api.post_keyed("order-77", &body).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert!(first.headers.get("idempotent-replayed").is_none());

    let again = api.post_keyed("order-77", &body).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body, "the same ids");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(api.stored().await, 2, "nothing written again");

    let other = api.post_keyed("order-77", &batch(1)).await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.message(), "idempotency_key: reused with a different request body");
    assert_eq!(other.field(), "idempotency_key");
    assert_eq!(api.stored().await, 2);

    // A failed request holds no key: fixed and resent under it, it is stored.
    let bad = json!({"events": [{"action": "x"}]});
    assert_eq!(api.post_keyed("order-78", &bad).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.post_keyed("order-78", &batch(1)).await.status, StatusCode::CREATED);
    assert_eq!(api.stored().await, 3);

    let too_long = api.post_keyed(&"k".repeat(201), &batch(1)).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_long.message(), "idempotency_key: longer than 200 characters");
}

#[sqlx::test(migrations = "./migrations")]
async fn concurrent_retries_with_one_idempotency_key_store_once(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = std::sync::Arc::new(setup(connect).await);
    let body = batch(5);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let api = api.clone();
            let body = body.clone();
            tokio::spawn(async move { api.post_keyed("retry-storm", &body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(answers.iter().all(|a| a.status == StatusCode::CREATED));
    assert!(answers.iter().all(|a| a.body == answers[0].body), "every retry gets the first answer");
    assert_eq!(answers.iter().filter(|a| a.headers.get("idempotent-replayed").is_none()).count(), 1);
    assert_eq!(api.stored().await, 5);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_1001_event_batch_is_refused_and_1000_are_stored(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    let a = api.post_json(&batch(1001)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.message(), "events: at most 1000 events per request");
    assert_eq!(a.field(), "events");
    assert_eq!(api.stored().await, 0);
    let a = api.post_json(&json!({"events": []})).await;
    assert_eq!(a.message(), "events: at least one event is required");

    let a = api.post_json(&batch(1000)).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(ids(&a).len(), 1000);
    assert_eq!(api.stored().await, 1000);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stored_external_id_is_409_naming_the_event_and_nothing_of_the_batch_is_written(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = setup(connect).await;
    let with_id = |entity: &str, id: &str| {
        let mut e = event("invoice.create", entity);
        e["external_id"] = json!(id);
        e
    };
    assert_eq!(api.post_json(&with_id("inv_1", "evt-1")).await.status, StatusCode::CREATED);
    assert_eq!(api.post_json(&with_id("inv_2", "evt-2")).await.status, StatusCode::CREATED);

    let a = api.post_json(&with_id("inv_1", "evt-1")).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.message(), "external_id: already stored");

    let a = api
        .post_json(&json!({"events": [
            with_id("inv_3", "evt-3"), event("invoice.update", "inv_3"), with_id("inv_2", "evt-2"),
            with_id("inv_1", "evt-1")
        ]}))
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.body["error"]["code"], "conflict");
    assert_eq!(a.field(), "events[2].external_id");
    assert_eq!(
        a.messages(),
        ["events[2].external_id: already stored", "events[3].external_id: already stored"]
    );
    assert_eq!(api.stored().await, 2, "the new events of the batch were not stored");

    // Twice in one request: each event is valid, together they conflict.
    let a = api.post_json(&json!({"events": [with_id("inv_4", "evt-4"), with_id("inv_5", "evt-4")]})).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(
        a.message(),
        "events[1].external_id: same as events[0].external_id; external ids are unique per org"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn sql_and_html_injection_strings_are_stored_verbatim_and_read_back_inert(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = setup(connect).await;
    let sql = "Robert'); DROP TABLE audit_events;--";
    let html = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>";
    let mut e = event("invoice.update", "inv_1");
    e["actor"]["id"] = json!(sql);
    e["actor"]["name"] = json!(html);
    e["entity"]["id"] = json!("1 OR 1=1; --");
    e["entity"]["name"] = json!(html);
    e["context"]["user_agent"] = json!(sql);
    e["metadata"] = json!({html: sql, "quote": "'\"\\", "unicode": "Zoë 🚀 \u{202e}"});
    e["changes"] = json!({"diff": {"notes": {"old": sql, "new": html}}});
    e["external_id"] = json!("'; SELECT pg_sleep(10); --");
    let a = api.post_json(&e).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);

    let events = timeline(&api.app, ORG).await;
    let back = events.iter().find(|x| x.id == ids(&a)[0]).unwrap();
    assert_eq!(back.actor.id, sql);
    assert_eq!(back.actor.name, html);
    assert_eq!(back.entity.id, "1 OR 1=1; --");
    assert_eq!(back.entity.name.as_deref(), Some(html));
    assert_eq!(back.context.user_agent.as_deref(), Some(sql));
    assert_eq!(back.metadata, e["metadata"]);
    assert_eq!(serde_json::to_value(&back.changes).unwrap(), e["changes"]);
    let external: String = sqlx::query_scalar("SELECT external_id FROM audit_events WHERE id = $1")
        .bind(back.id)
        .fetch_one(&api.owner)
        .await
        .unwrap();
    assert_eq!(external, "'; SELECT pg_sleep(10); --");
    assert_eq!(api.stored().await, 1, "the table is still there, with the one event");

    // Markup in a field name comes back in an error message as JSON text,
    // quoted, never as markup.
    let mut bad = event("invoice.update", "inv_2");
    bad["<script>alert(1)</script>"] = json!(1);
    let a = api.post_json(&bad).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(a.message(), "[\"<script>alert(1)</script>\"]: unknown field");
}

#[sqlx::test(migrations = "./migrations")]
async fn hostile_inputs_get_a_4xx_and_never_a_500(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    // An event with `value` put at the dotted `path`.
    let with = |path: &str, value: Value| {
        let mut e = event("invoice.update", "inv_1");
        let (parents, last) = path.rsplit_once('.').map_or(("", path), |(p, l)| (p, l));
        let mut at = &mut e;
        for p in parents.split('.').filter(|p| !p.is_empty()) {
            at = &mut at[p];
        }
        at[last] = value;
        e
    };
    // (where, what is put there, the field the error names)
    let invalid: Vec<(&str, Value, &str)> = vec![
        ("actor", json!([1, 2]), "actor"),
        ("action", json!(7), "action"),
        ("actor.kind", json!("robot"), "actor.kind"),
        ("actor.name", json!("a\u{0}b"), "actor.name"),
        ("metadata", json!({"x": ["ok", "a\u{0}"]}), "metadata.x[1]"),
        ("changes", json!({"diff": {"a": {"new": "\u{0}"}}}), "changes.diff.a.new"),
        ("external_id", json!("\u{0}"), "external_id"),
        ("actor.id", json!("x".repeat(100_000)), "actor.id"),
        ("action", json!(format!("a.{}", "b".repeat(200))), "action"),
        ("entity.type", json!("Invoice Line"), "entity.type"),
        ("entity.id", json!("  "), "entity.id"),
        ("actor.avatar", json!("javascript:alert(1)"), "actor.avatar"),
        ("changes", json!({"diff": {}, "snapshot": {}}), "changes"),
        ("changes", json!("everything"), "changes"),
        ("changes", json!({"diff": {"a": 1}}), "changes.diff.a"),
        ("context.country", json!("GBR"), "context.country"),
        ("context.ip", json!("fe80::1%eth0"), "context.ip"),
        ("occurred_at", json!("+10000-01-01T00:00:00Z"), "occurred_at"),
        ("occurred_at", json!("1970-01-01T00:00:00Z"), "occurred_at"),
        ("occurred_at", json!(null), "occurred_at"),
    ];
    for (path, value, field) in invalid {
        let a = api.post_json(&with(path, value)).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", a.body);
        assert_eq!(a.field(), field, "{path}: {}", a.body);
    }
    for (body, field) in [
        (json!({"events": {"0": {}}}), "events"),
        (json!({"events": [null]}), "events[0]"),
        (json!("hello"), "body"),
        (json!(null), "body"),
    ] {
        let a = api.post_json(&body).await;
        assert_eq!((a.status, a.field()), (StatusCode::UNPROCESSABLE_ENTITY, field), "{body}");
    }
    let deep = (0..200).fold(json!(1), |inner, _| json!({ "a": inner }));
    for (what, body) in [
        ("nesting past the parser's limit", with("metadata", deep).to_string()),
        ("a number out of range", "{\"metadata\": {\"n\": 1e400}}".into()),
        ("a lone surrogate", "{\"action\": \"\\ud800\"}".into()),
        ("trailing garbage", format!("{} x", event("a.b", "c"))),
    ] {
        let a = api.post(body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{what}: {}", a.body);
        assert_eq!(a.body["error"]["code"], "malformed_json", "{what}");
    }
    let bytes = [b"{\"action\": \"".as_slice(), &[0xff, 0xfe], b"\"}"].concat();
    assert_eq!(api.post(bytes).await.status, StatusCode::BAD_REQUEST, "invalid UTF-8");
    assert_eq!(api.stored().await, 0);

    // Deep but within the parser's limit, and big but within the body
    // limit: past the event limits, so a 422 naming each, not a 500.
    let deep = (0..100).fold(json!(1), |inner, _| json!([inner]));
    let e = with("metadata", json!({"deep": deep, "big": "é".repeat(1_000_000)}));
    let a = api.post_json(&e).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let fields: Vec<&str> =
        a.body["error"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["metadata.big".to_string(), format!("metadata.deep{}", "[0]".repeat(31))]);
    assert_eq!(api.stored().await, 0);

    let get = Request::get("/api/v1/events").body(Body::empty()).unwrap();
    let a = api.send(get).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers[header::ALLOW], "POST");
}

#[sqlx::test(migrations = "./migrations")]
async fn secrets_and_binary_values_sent_through_the_api_are_redacted(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = setup(connect).await;
    let mut e = event("member.update", "m1");
    e["changes"] = json!({"diff": {"password": {"old": "hunter2", "new": "s3cret!"}}});
    e["metadata"] =
        json!({"api_key": "sk_live_abc", "avatar": format!("data:image/png;base64,{}", "QUJD".repeat(100))});
    assert_eq!(api.post_json(&e).await.status, StatusCode::CREATED);
    let raw: String = sqlx::query_scalar(
        "SELECT changes::text || metadata::text FROM audit_events WHERE entity_type <> 'api_key'",
    )
    .fetch_one(&api.owner)
    .await
    .unwrap();
    assert!(!raw.contains("hunter2") && !raw.contains("s3cret") && !raw.contains("sk_live"), "{raw}");
    assert!(raw.contains("[REDACTED]") && raw.contains("[BINARY DATA]"), "{raw}");
}

#[sqlx::test(migrations = "./migrations")]
async fn api_keys_are_shown_once_stored_hashed_listed_and_revoked_with_audit_events(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    let app = app_pool(connect).await;
    let (info, secret) = store::create_api_key(&app, ORG, "  Billing service ", &admin()).await.unwrap();
    assert!(secret.starts_with("atl_") && secret.len() == 44, "{secret}");
    assert_eq!(info.name, "Billing service");
    assert!(secret.starts_with(&info.prefix) && info.prefix.len() == 12);
    assert_eq!(info.created_by, "Ada Admin");

    let (hash, prefix): (Vec<u8>, String) =
        sqlx::query_as("SELECT key_hash, prefix FROM api_keys WHERE id = $1")
            .bind(info.id)
            .fetch_one(&owner)
            .await
            .unwrap();
    assert_eq!(hash, store::hash_secret(&secret), "SHA-256 of the secret");
    let whole_row: String = sqlx::query_scalar("SELECT api_keys::text FROM api_keys WHERE id = $1")
        .bind(info.id)
        .fetch_one(&owner)
        .await
        .unwrap();
    assert!(!whole_row.contains(&secret[prefix.len()..]), "the secret is stored nowhere");

    let auth = store::authenticate_api_key(&app, &secret).await.unwrap().expect("a live key");
    assert_eq!((auth.org_id, auth.key_id, auth.name.as_str()), (ORG, info.id, "Billing service"));
    assert_eq!(store::list_api_keys(&app, ORG).await.unwrap(), std::slice::from_ref(&info));
    assert!(store::list_api_keys(&app, OTHER_ORG).await.unwrap().is_empty());

    assert!(!store::revoke_api_key(&app, OTHER_ORG, info.id, &admin()).await.unwrap(), "another org's key");
    assert!(store::revoke_api_key(&app, ORG, info.id, &admin()).await.unwrap());
    assert!(!store::revoke_api_key(&app, ORG, info.id, &admin()).await.unwrap(), "already revoked");
    assert!(store::authenticate_api_key(&app, &secret).await.unwrap().is_none());
    let listed = store::list_api_keys(&app, ORG).await.unwrap();
    assert!(listed[0].revoked_at.is_some());

    let events = timeline(&app, ORG).await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["api_key.revoke", "api_key.create"],
        "one event each, nothing for the refused revokes"
    );
    for e in &events {
        assert_eq!(e.actor, admin());
        assert_eq!((e.entity.entity_type.as_str(), e.entity.id.clone()), ("api_key", info.id.to_string()));
        assert_eq!(e.entity.name.as_deref(), Some("Billing service"));
        assert!(!serde_json::to_string(e).unwrap().contains(&secret), "the secret is not in the log");
    }

    assert!(matches!(
        store::create_api_key(&app, ORG, " ", &admin()).await,
        Err(store::ApiKeyError::InvalidName)
    ));
}

#[sqlx::test(migrations = "./migrations")]
async fn the_app_role_can_revoke_keys_but_not_rewrite_or_unrevoke_them(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    let app = app_pool(connect).await;
    let (info, _) = store::create_api_key(&app, ORG, "CI", &admin()).await.unwrap();
    for sql in [
        "UPDATE api_keys SET key_hash = sha256('x')",
        "UPDATE api_keys SET org_id = gen_random_uuid()",
        "DELETE FROM api_keys",
        "DELETE FROM idempotency_keys",
        "UPDATE idempotency_keys SET status = 200",
    ] {
        let err = sqlx::query(sql).execute(&app).await.expect_err(sql);
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }
    assert!(store::revoke_api_key(&app, ORG, info.id, &admin()).await.unwrap());
    let err = sqlx::query("UPDATE api_keys SET revoked_at = NULL").execute(&owner).await.unwrap_err();
    assert!(err.to_string().contains("revocation cannot be changed"), "even the owner: {err}");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_openapi_document_describes_the_events_endpoint(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    let a = api.send(Request::get("/api/v1/openapi.json").body(Body::empty()).unwrap()).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body["openapi"].as_str().unwrap().starts_with("3."));
    let post = &a.body["paths"]["/api/v1/events"]["post"];
    assert!(post.is_object(), "the events endpoint is documented");
    for status in ["201", "400", "401", "409", "413", "415", "422"] {
        assert!(post["responses"][status].is_object(), "response {status}");
    }
    assert_eq!(post["security"][0]["api_key"], json!([]));
    assert_eq!(a.body["components"]["securitySchemes"]["api_key"]["scheme"], "bearer");
    for schema in ["Event", "Actor", "Entity", "Accepted", "ErrorBody"] {
        assert!(a.body["components"]["schemas"][schema].is_object(), "{schema}");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn the_avatar_route_still_answers(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    let response = api
        .router
        .clone()
        .oneshot(Request::get("/avatars/alice.svg").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/svg+xml");
}

/// Ingestion through a real socket: single events one after another
/// (events/s, p50/p95 latency) and 1,000-event batches (events/s). Run with
/// `cargo test --release -p server --test api -- --ignored --nocapture`.
#[sqlx::test(migrations = "./migrations")]
#[ignore = "a measurement, not a check; run in --release"]
async fn ingestion_throughput(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, api.router.clone()).into_future());
    let mut client = http1::Client::connect(addr, &api.key).await;

    // Warm up connections and plans.
    for i in 0..50 {
        client.post(&event("task.update", &format!("warm_{i}")).to_string()).await;
    }

    let singles = 2000;
    let mut latencies = Vec::with_capacity(singles);
    let started = Instant::now();
    for i in 0..singles {
        let body = event("task.update", &format!("t_{i}")).to_string();
        let t = Instant::now();
        let status = client.post(&body).await;
        latencies.push(t.elapsed());
        assert_eq!(status, 201);
    }
    let single_secs = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];

    let batches = 20;
    let bodies: Vec<String> = (0..batches).map(|_| batch(1000).to_string()).collect();
    let started = Instant::now();
    for body in &bodies {
        assert_eq!(client.post(body).await, 201);
    }
    let batch_secs = started.elapsed().as_secs_f64();

    println!(
        "single events, sequential: {singles} in {single_secs:.2}s = {:.0} events/s; p50 {:?}, p95 {:?}, p99 {:?}",
        singles as f64 / single_secs,
        pct(0.50),
        pct(0.95),
        pct(0.99),
    );
    println!(
        "1,000-event batches, sequential: {batches} in {batch_secs:.2}s = {:.0} events/s ({:?} per batch, {} KiB each)",
        (batches * 1000) as f64 / batch_secs,
        Duration::from_secs_f64(batch_secs / batches as f64),
        bodies[0].len() / 1024,
    );
    assert_eq!(api.stored().await, 50 + singles as i64 + batches as i64 * 1000);
    server.abort();
}

/// Just enough HTTP/1.1 over one keep-alive connection to time the server,
/// not a client library.
mod http1 {
    use std::net::SocketAddr;

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    pub struct Client {
        stream: BufReader<TcpStream>,
        key: String,
    }

    impl Client {
        pub async fn connect(addr: SocketAddr, key: &str) -> Client {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            Client { stream: BufReader::new(stream), key: key.to_string() }
        }

        /// POSTs `body` to the events endpoint; the response status.
        pub async fn post(&mut self, body: &str) -> u16 {
            let head = format!(
                "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                self.key,
                body.len()
            );
            let s = self.stream.get_mut();
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body.as_bytes()).await.unwrap();
            let mut line = String::new();
            self.stream.read_line(&mut line).await.unwrap();
            let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
            let mut length = 0usize;
            loop {
                line.clear();
                self.stream.read_line(&mut line).await.unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut rest = vec![0; length];
            self.stream.read_exact(&mut rest).await.unwrap();
            status
        }
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn verify_reports_the_keys_org_chain_and_records_it(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    assert_eq!(api.post_json(&batch(5)).await.status, StatusCode::CREATED);
    let verify = |key: Option<&str>| {
        let mut builder = Request::builder().method("POST").uri("/api/v1/verify");
        if let Some(key) = key {
            builder = builder.header("authorization", format!("Bearer {key}"));
        }
        builder.body(Body::empty()).unwrap()
    };
    let answer = api.send(verify(Some(&api.key))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // The key's own creation is an audit event too: 1 + 5 events.
    assert_eq!(answer.body["ok"], true);
    assert_eq!(answer.body["verified_through"], 6);
    assert_eq!(answer.body["summary"], "verified through seq 6 (0 checkpoints)");
    let recorded = server::chain::latest_verification(&api.app, ORG).await.unwrap().expect("recorded");
    assert_eq!(recorded.verified_through, 6);
    assert_eq!(api.send(verify(None)).await.status, StatusCode::UNAUTHORIZED);
}

/// How many transactions wrote the events sent through the API: rows
/// written by one transaction share its id (`xmin`), so a write group's
/// events count once.
async fn writing_transactions(api: &Api) -> i64 {
    sqlx::query_scalar("SELECT count(DISTINCT xmin::text) FROM audit_events WHERE entity_type <> 'api_key'")
        .fetch_one(&api.owner)
        .await
        .unwrap()
}

async fn verified_through(api: &Api) -> i64 {
    let request = Request::post("/api/v1/verify")
        .header(header::AUTHORIZATION, format!("Bearer {}", api.key))
        .body(Body::empty())
        .unwrap();
    let answer = api.send(request).await;
    assert_eq!(answer.body["ok"], true, "{}", answer.body);
    answer.body["verified_through"].as_i64().unwrap()
}

/// Concurrent single events of one org are written in groups that share a
/// commit, each answered only after it, and linked into one unbroken chain.
#[sqlx::test(migrations = "./migrations")]
async fn concurrent_single_events_share_commits_and_the_chain_holds(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = std::sync::Arc::new(setup(connect).await);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move { api.post_json(&event("task.update", &format!("task_{i}"))).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let answer = t.await.unwrap();
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        ids.extend(self::ids(&answer));
    }
    assert_eq!(ids.len(), 64);
    assert_eq!(api.stored().await, 64);
    let commits = writing_transactions(&api).await;
    assert!(commits < 64, "64 requests were written in {commits} commits, not grouped");
    assert_eq!(verified_through(&api).await, 65, "the key's event and 64 more, unbroken");
}

/// In a group, a request that cannot be stored fails alone with its own
/// answer; the others are stored, and the chain has no gap.
#[sqlx::test(migrations = "./migrations")]
async fn a_request_that_fails_in_a_group_fails_alone(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = std::sync::Arc::new(setup(connect).await);
    let with_id = |entity: &str, id: &str| {
        let mut e = event("invoice.create", entity);
        e["external_id"] = json!(id);
        e
    };
    assert_eq!(api.post_json(&with_id("inv_0", "evt-stored")).await.status, StatusCode::CREATED);
    // Sent together: 20 good events, one whose external id is stored, and
    // two that share a new one.
    let mut bodies: Vec<Value> = (0..20).map(|i| event("task.update", &format!("task_{i}"))).collect();
    bodies.insert(7, with_id("inv_1", "evt-stored"));
    bodies.insert(12, with_id("inv_2", "evt-new"));
    bodies.insert(15, with_id("inv_3", "evt-new"));
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let api = api.clone();
            tokio::spawn(async move { api.post_json(&body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let created = answers.iter().filter(|a| a.status == StatusCode::CREATED).count();
    let conflicts: Vec<&Answer> = answers.iter().filter(|a| a.status == StatusCode::CONFLICT).collect();
    assert_eq!(created, 21, "the 20 good events and one of the pair");
    assert_eq!(conflicts.len(), 2);
    assert!(conflicts.iter().all(|a| a.message() == "external_id: already stored"), "{}", conflicts[0].body);
    assert_eq!(api.stored().await, 1 + 21);
    assert_eq!(verified_through(&api).await, 1 + 1 + 21);
}
