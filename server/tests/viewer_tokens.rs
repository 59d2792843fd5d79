//! Viewer tokens end to end on a real PostgreSQL: minting through the API
//! (with every bad field named), the audit event it leaves, and the access a
//! token grants through the `AccessControl` port: its org, its scope, until
//! it expires, and nothing for a forged or foreign token.

mod common;

use std::sync::Arc;

use app::api::{AccessControl, AccessError};
use app::model::{Actor, ActorKind, Role};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use server::auth::SessionAccess;
use server::chain::ChainSigner;
use server::embed::{ViewerToken, mint};
use server::http::ApiContext;
use server::store;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower::ServiceExt;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00c1);
const OTHER_ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00c2);

fn signer() -> ChainSigner {
    ChainSigner::from_seed([11; 32])
}

struct Setup {
    router: axum::Router,
    key: String,
    app: PgPool,
    owner: PgPool,
}

async fn setup(connect: PgConnectOptions) -> Setup {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    store::ensure_org(&owner, OTHER_ORG, "other", "Other").await.unwrap();
    let app = app_pool(connect).await;
    let admin = Actor {
        kind: ActorKind::User,
        id: "usr_admin".into(),
        name: "Ada Admin".into(),
        email: None,
        avatar: None,
    };
    let (_, key) = store::create_api_key(&app, ORG, "Dashboard", &admin).await.unwrap();
    let router = server::http::routes(ApiContext::new(app.clone()).with_token_signer(Arc::new(signer())));
    Setup { router, key, app, owner }
}

async fn mint_via_api(s: &Setup, body: Value) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/viewer-tokens")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {}", s.key))
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = s.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn no_request() -> axum::http::request::Parts {
    Request::get("/embed").body(()).unwrap().into_parts().0
}

#[sqlx::test(migrations = "./migrations")]
async fn a_minted_token_shows_its_org_within_its_scope(_o: PgPoolOptions, connect: PgConnectOptions) {
    let s = setup(connect).await;
    let (status, body) =
        mint_via_api(&s, json!({"record": "inv_1", "filter": "action=delete,update", "expires_in": 60}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().unwrap();
    assert_eq!(body["embed_path"], format!("/embed?token={token}"));
    assert_eq!(body["scope"], "action=delete,update&record=inv_1");

    let access = SessionAccess::new(s.app.clone(), false).with_viewer_tokens(signer().verifying_key());
    let (viewer, org_id) = access.viewer(&no_request(), token).await.unwrap();
    assert_eq!(org_id, ORG);
    assert_eq!(viewer.org.slug, "acme");
    assert_eq!(viewer.role, Role::Viewer);
    assert_eq!(viewer.scope.record.as_deref(), Some("inv_1"));
    assert_eq!(viewer.scope.actions, ["delete", "update"]);
    assert!(viewer.orgs.is_empty(), "no org switcher for a token");

    // Minting is on the record, by the key, with the scope.
    let (org, kind, actor, scope): (Uuid, String, String, Value) = sqlx::query_as(
        "SELECT org_id, actor_kind, actor_name, metadata->'scope' FROM audit_events \
          WHERE action = 'viewer_token.create'",
    )
    .fetch_one(&s.owner)
    .await
    .unwrap();
    assert_eq!((org, kind.as_str(), actor.as_str()), (ORG, "api_key", "Dashboard"));
    assert_eq!(scope, json!("action=delete,update&record=inv_1"));
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_requests_name_the_field(_o: PgPoolOptions, connect: PgConnectOptions) {
    let s = setup(connect).await;
    for (body, field) in [
        (json!({"filter": "colour=red"}), "filter.colour"),
        (json!({"filter": "ip=10.0.0.999"}), "filter.ip"),
        (json!({"record": ""}), "record"),
        (json!({"expires_in": 0}), "expires_in"),
        (json!({"expires_in": 86401}), "expires_in"),
        (json!({"scope": "everything"}), "body"),
    ] {
        let (status, answer) = mint_via_api(&s, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let request = Request::post("/api/v1/viewer-tokens").body(Body::from("{}")).unwrap();
    let response = s.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "no key, no token");
}

#[sqlx::test(migrations = "./migrations")]
async fn expired_forged_and_unknown_tokens_get_nothing(_o: PgPoolOptions, connect: PgConnectOptions) {
    let s = setup(connect).await;
    let access = SessionAccess::new(s.app.clone(), false).with_viewer_tokens(signer().verifying_key());
    let now = chrono::Utc::now().timestamp();
    let token = |org_id: Uuid, exp: i64| ViewerToken {
        id: Uuid::now_v7(),
        org_id,
        scope: String::new(),
        exp,
        iat: now,
        key_id: Uuid::nil(),
    };
    let expired = mint(&signer(), &token(ORG, now - 1));
    assert!(matches!(access.viewer(&no_request(), &expired).await, Err(AccessError::Unauthenticated)));
    let foreign = mint(&ChainSigner::from_seed([12; 32]), &token(ORG, now + 60));
    assert!(matches!(access.viewer(&no_request(), &foreign).await, Err(AccessError::Unauthenticated)));
    let no_org = mint(&signer(), &token(Uuid::from_u128(99), now + 60));
    assert!(matches!(access.viewer(&no_request(), &no_org).await, Err(AccessError::NoSuchOrg)));
    let without_key = SessionAccess::new(s.app.clone(), false);
    let valid = mint(&signer(), &token(ORG, now + 60));
    assert!(matches!(without_key.viewer(&no_request(), &valid).await, Err(AccessError::Unauthenticated)));
    assert!(access.viewer(&no_request(), &valid).await.is_ok());
}
