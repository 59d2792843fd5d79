//! The ingestion API through its router, on a real PostgreSQL: what is
//! stored, and that bad input of every kind gets a 4xx naming the field,
//! never a 500 and never a half-written batch.

mod hostile;
mod keys;
mod validation;
mod writes;

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
