//! API keys, the OpenAPI document and the avatar route.

use super::*;

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
