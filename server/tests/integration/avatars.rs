//! Actor avatars through the ingestion API, on a real PostgreSQL: only
//! addresses a viewer's browser may fetch safely are stored, and the field
//! at fault is named.

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use server::http::ApiContext;
use server::store;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower::ServiceExt;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0a01);

fn event(avatar: &str) -> Value {
    json!({
        "occurred_at": (chrono::Utc::now() - chrono::TimeDelta::minutes(1)).to_rfc3339(),
        "actor": {"kind": "user", "id": "usr_1", "name": "Alice Example", "avatar": avatar},
        "action": "invoice.update",
        "entity": {"type": "invoice", "id": "inv_1"},
    })
}

async fn post(router: &axum::Router, key: &str, body: &Value) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/events")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[sqlx::test(migrations = "./migrations")]
async fn only_https_and_identicon_avatars_are_stored(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    let app = app_pool(connect).await;
    let (_, key) = store::create_api_key(&app, ORG, "CI", &store::cli_actor()).await.unwrap();
    let router = server::http::routes(ApiContext::new(app.clone()));

    for ok in ["https://avatars.example.com/u/1.png", "/avatars/usr_1.svg"] {
        let (status, body) = post(&router, &key, &event(ok)).await;
        assert_eq!(status, StatusCode::CREATED, "{ok}: {body}");
    }
    for bad in [
        "/o/acme/export.ndjson",
        "/o/acme/export.csv?action=delete",
        "/avatars/../o/acme/export.csv",
        "http://avatars.example.com/u/1.png",
        "//evil.example/a.png",
        "data:image/png;base64,QUJD",
    ] {
        let (status, body) = post(&router, &key, &event(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["error"]["field"], "actor.avatar", "{bad}: {body}");
    }
    let stored: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT actor_avatar FROM audit_events WHERE action = 'invoice.update' ORDER BY seq",
    )
    .fetch_all(&owner)
    .await
    .unwrap();
    assert_eq!(
        stored,
        [Some("https://avatars.example.com/u/1.png".to_string()), Some("/avatars/usr_1.svg".to_string())]
    );
}
