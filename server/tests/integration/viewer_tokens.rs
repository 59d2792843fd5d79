//! Viewer tokens end to end on a real PostgreSQL: minting through the API
//! (with every bad field named), the audit event it leaves, and the access a
//! token grants through the `AccessControl` port: its org, its scope, until
//! it expires and while the key that minted it is live, and nothing for a
//! forged or foreign token or one carried in a URL; and the embed's swap of
//! the framed token for a cookie.

use std::sync::Arc;

use crate::common::*;
use app::api::{AccessControl, AccessError};
use app::model::{Actor, ActorKind, Role};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
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
    key_id: Uuid,
    admin: Actor,
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
    let (info, key) = store::create_api_key(&app, ORG, "Dashboard", &admin).await.unwrap();
    let router = server::http::routes(ApiContext::new(app.clone()).with_token_signer(Arc::new(signer())));
    Setup { router, key, key_id: info.id, admin, app, owner }
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
        key_id: s.key_id,
    };
    let expired = mint(&signer(), &token(ORG, now - 1));
    assert!(matches!(access.viewer(&no_request(), &expired).await, Err(AccessError::Unauthenticated)));
    let foreign = mint(&ChainSigner::from_seed([12; 32]), &token(ORG, now + 60));
    assert!(matches!(access.viewer(&no_request(), &foreign).await, Err(AccessError::Unauthenticated)));
    let no_org = mint(&signer(), &token(Uuid::from_u128(99), now + 60));
    assert!(matches!(access.viewer(&no_request(), &no_org).await, Err(AccessError::Unauthenticated)));
    // Signed by us, but naming a key that never existed.
    let no_key = mint(&signer(), &ViewerToken { key_id: Uuid::now_v7(), ..token(ORG, now + 60) });
    assert!(matches!(access.viewer(&no_request(), &no_key).await, Err(AccessError::Unauthenticated)));
    let without_key = SessionAccess::new(s.app.clone(), false);
    let valid = mint(&signer(), &token(ORG, now + 60));
    assert!(matches!(without_key.viewer(&no_request(), &valid).await, Err(AccessError::Unauthenticated)));
    assert!(access.viewer(&no_request(), &valid).await.is_ok());
}

fn access(s: &Setup) -> SessionAccess {
    SessionAccess::new(s.app.clone(), false).with_viewer_tokens(signer().verifying_key())
}

async fn minted(s: &Setup) -> String {
    let (status, body) = mint_via_api(s, json!({"filter": "entity=invoice", "expires_in": 60})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_string()
}

#[sqlx::test(migrations = "./migrations")]
async fn revoking_the_key_revokes_the_tokens_it_minted(_o: PgPoolOptions, connect: PgConnectOptions) {
    let s = setup(connect).await;
    let access = access(&s);
    let token = minted(&s).await;
    assert!(access.viewer(&no_request(), &token).await.is_ok());
    // A second key, and a token of its own, which the revocation leaves alone.
    let (_, other_key) = store::create_api_key(&s.app, ORG, "Other", &s.admin).await.unwrap();
    let other = Setup { key: other_key, ..setup_again(&s) };
    let other_token = minted(&other).await;
    assert!(store::revoke_api_key(&s.app, ORG, s.key_id, &s.admin).await.unwrap());
    assert!(matches!(access.viewer(&no_request(), &token).await, Err(AccessError::Unauthenticated)));
    assert!(access.viewer(&no_request(), &other_token).await.is_ok());
}

/// The same database and org, another key.
fn setup_again(s: &Setup) -> Setup {
    Setup {
        router: s.router.clone(),
        key: String::new(),
        key_id: Uuid::nil(),
        admin: s.admin.clone(),
        app: s.app.clone(),
        owner: s.owner.clone(),
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_token_in_a_url_is_refused(_o: PgPoolOptions, connect: PgConnectOptions) {
    let s = setup(connect).await;
    let access = access(&s);
    let token = minted(&s).await;
    for uri in [
        format!("/api/ui/live/{token}"),
        format!("/o/{token}/export.csv"),
        format!("/api/ui/timeline?org={token}"),
    ] {
        let parts = Request::get(uri.as_str()).body(()).unwrap().into_parts().0;
        assert!(matches!(access.viewer(&parts, &token).await, Err(AccessError::Unauthenticated)), "{uri}");
    }
    // In a server function's form body (the request's URI names no token).
    let parts = Request::post("/api/ui/timeline").body(()).unwrap().into_parts().0;
    assert!(access.viewer(&parts, &token).await.is_ok());
}

/// A router with the embed's token exchange in front of a stand-in page.
fn embed_router() -> axum::Router {
    axum::Router::new()
        .route("/embed", axum::routing::get(|| async { "the embed page" }))
        .layer(axum::middleware::from_fn_with_state(signer().verifying_key(), server::embed::exchange_token))
}

async fn send(router: &axum::Router, request: Request<Body>) -> axum::response::Response {
    router.clone().oneshot(request).await.unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn the_framed_token_becomes_a_cookie_and_leaves_the_url(_o: PgPoolOptions, connect: PgConnectOptions) {
    let s = setup(connect).await;
    let access = access(&s);
    let token = minted(&s).await;
    let router = embed_router();
    let response =
        send(&router, Request::get(format!("/embed?token={token}&theme=dark")).body(Body::empty()).unwrap())
            .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_string();
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
    assert_eq!(response.headers()[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let id = location.strip_prefix("/embed?theme=dark&view=").expect(&location).to_string();
    assert!(!location.contains("vt1."), "{location}");
    assert_eq!(id.len(), 32, "{location}");
    for attribute in ["HttpOnly", "Secure", "SameSite=None", "Partitioned", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let max_age: i64 = cookie.split("Max-Age=").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    assert!((1..=60).contains(&max_age), "{cookie}");
    let (name, value) = cookie.split(';').next().unwrap().split_once('=').unwrap();
    assert_eq!((name, value), (format!("atl_embed_{id}").as_str(), token.as_str()));

    // Later requests name the embed by id and carry the token in the cookie.
    let reference = format!("embed.{id}");
    let with_cookie = |uri: &str, cookie: &str| {
        Request::post(uri).header(header::COOKIE, cookie).body(()).unwrap().into_parts().0
    };
    let parts = with_cookie("/api/ui/timeline", &format!("atl_session=x; {name}={value}"));
    let (viewer, org_id) = access.viewer(&parts, &reference).await.unwrap();
    assert_eq!((org_id, viewer.scope.entity_types.as_slice()), (ORG, ["invoice".to_string()].as_slice()));
    // Another embed's id, or no cookie, gets nothing.
    let other = format!("embed.{}", Uuid::now_v7().simple());
    let wrong = with_cookie("/api/ui/timeline", &format!("atl_embed_{}={value}", &other[6..]));
    assert!(matches!(access.viewer(&wrong, &other).await, Err(AccessError::Unauthenticated)));
    let none = with_cookie("/api/ui/timeline", "atl_session=x");
    assert!(matches!(access.viewer(&none, &reference).await, Err(AccessError::Unauthenticated)));

    // The page itself, without a token, is served as it is.
    let page = send(&router, Request::get(location.as_str()).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status(), StatusCode::OK);

    // Posted instead of framed (embed.js with data-token): the same swap.
    let posted = send(
        &router,
        Request::post("/embed?density=compact")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("token={token}")))
            .unwrap(),
    )
    .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    assert_eq!(posted.headers()[header::LOCATION], format!("/embed?density=compact&view={id}"));

    // A token that does not verify is dropped, not kept in a cookie.
    let forged = format!("{}AAAA", &token[..token.len() - 4]);
    let refused =
        send(&router, Request::get(format!("/embed?token={forged}&theme=dark")).body(Body::empty()).unwrap())
            .await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    assert_eq!(refused.headers()[header::LOCATION], "/embed?theme=dark");
    assert!(refused.headers().get(header::SET_COOKIE).is_none());
}
