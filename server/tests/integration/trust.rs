//! What the database itself cannot forge or reach, on a real PostgreSQL:
//! checkpoints and keys are append-only for every role, verification trusts
//! only the keys it is given, the app role logs in as itself and cannot
//! climb back to the owner, and row-level security binds the owner too.

use std::net::SocketAddr;

use crate::common::*;
use app::api::AuditStore;
use app::model::{Actor, ActorKind};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use server::chain::{ChainSigner, Checkpoint, FaultKind, TrustedKeys, verify_org_trusting};
use server::http::ApiContext;
use server::{PgAuditStore, store};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower::ServiceExt;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00c1);

async fn chain_of(app: &PgPool, n: i64) {
    let events: Vec<_> =
        (1..=n).map(|i| event(ORG, t0() + minutes(i), "task.update", &format!("task_{i}"))).collect();
    insert(app, &events).await;
}

/// Plants `forger`'s key and a checkpoint it signed at the org's head, as
/// someone who can write the database (but holds no server key) would.
async fn plant_checkpoint(owner: &PgPool, forger: &ChainSigner) {
    forger.register(owner).await.unwrap();
    let (seq, hash): (i64, Vec<u8>) = sqlx::query_as("SELECT seq, hash FROM chain_heads WHERE org_id = $1")
        .bind(ORG)
        .fetch_one(owner)
        .await
        .unwrap();
    let c = Checkpoint::sign(forger, ORG, seq, hash.try_into().unwrap(), chrono::Utc::now());
    sqlx::query(
        "INSERT INTO chain_checkpoints (org_id, seq, hash, signed_at, key_id, signature) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.org_id)
    .bind(c.seq)
    .bind(c.hash.as_slice())
    .bind(c.signed_at)
    .bind(&c.key_id)
    .bind(c.signature.as_slice())
    .execute(owner)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_checkpoint_signed_by_a_key_planted_in_the_database_fails_verification(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    let app = app_pool(connect).await;
    let server_key = ChainSigner::from_seed([21; 32]);
    server_key.register(&owner).await.unwrap();
    chain_of(&app, 12).await;
    let trusted: TrustedKeys = vec![server_key.verifying_key()].into();

    // Honest checkpoints by the server's key verify.
    server::chain::checkpoint_due(&app, &server_key, 1, std::time::Duration::from_secs(3600)).await.unwrap();
    assert!(verify_org_trusting(&app, ORG, &trusted).await.unwrap().is_ok());

    chain_of(&app, 3).await;
    plant_checkpoint(&owner, &ChainSigner::from_seed([66; 32])).await;

    // The store ("Verify now") and the API both refuse it.
    let store = PgAuditStore::new(app.clone()).with_trusted_keys(trusted.clone());
    let status = store.verify_chain(ORG).await.unwrap();
    let (seq, reason) = status.broken_at.expect("the planted checkpoint is refused");
    assert_eq!(seq, 15);
    assert!(reason.contains("not trusted"), "{reason}");

    let (_, key) = store::create_api_key(
        &app,
        ORG,
        "CI",
        &Actor { kind: ActorKind::System, id: "ci".into(), name: "CI".into(), email: None, avatar: None },
    )
    .await
    .unwrap();
    let router = server::http::routes(ApiContext::new(app.clone()).with_trusted_keys(trusted));
    let request = Request::post("/api/v1/verify")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["first_bad_seq"], 15, "{body}");

    // What the database's own list says does not matter.
    let report = server::chain::verify_org(&app, ORG).await.unwrap();
    assert!(report.is_ok(), "trusting the table's keys is fooled: {report}");
    let report = verify_org_trusting(&app, ORG, &[server_key.verifying_key()]).await.unwrap();
    assert_eq!(report.fault.map(|f| f.kind), Some(FaultKind::Checkpoint));
}

#[sqlx::test(migrations = "./migrations")]
async fn checkpoints_and_keys_cannot_be_changed_by_any_role(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    let app = app_pool(connect).await;
    let signer = ChainSigner::from_seed([22; 32]);
    signer.register(&owner).await.unwrap();
    chain_of(&app, 3).await;
    server::chain::checkpoint_due(&app, &signer, 1, std::time::Duration::from_secs(3600)).await.unwrap();

    let changes = [
        "UPDATE chain_checkpoints SET seq = seq",
        "DELETE FROM chain_checkpoints",
        "TRUNCATE chain_checkpoints",
        "UPDATE signing_keys SET created_at = now()",
        "DELETE FROM signing_keys",
        "TRUNCATE signing_keys CASCADE",
    ];
    for sql in changes {
        // The superuser who owns the tables: the trigger refuses.
        let err = sqlx::query(sql).execute(&owner).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "owner, {sql}: {err}");
        // The app role, scoped to its org: no privilege to begin with.
        let mut tx = server::store::tenant::begin_for_org(&app, ORG).await.unwrap();
        let err = sqlx::query(sql).execute(&mut *tx).await.unwrap_err();
        assert!(err.to_string().contains("permission denied"), "app, {sql}: {err}");
    }
    // The app role cannot add a key either.
    let stranger = ChainSigner::from_seed([23; 32]);
    let err = stranger.register(&app).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM signing_keys").fetch_one(&owner).await.unwrap();
    assert_eq!(count, 1);
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM chain_checkpoints").fetch_one(&owner).await.unwrap();
    assert_eq!(count, 1, "the checkpoint is still there");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_app_role_logs_in_as_itself_and_cannot_become_the_owner(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    let owner_name: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&owner).await.unwrap();
    let app = app_pool(connect).await;
    let mut conn = app.acquire().await.unwrap();
    let who = |sql: &'static str| sqlx::query_scalar::<_, String>(sql);
    assert_eq!(who("SELECT session_user::text").fetch_one(&mut *conn).await.unwrap(), "audit_app");
    sqlx::query("RESET ROLE").execute(&mut *conn).await.unwrap();
    assert_eq!(who("SELECT current_user::text").fetch_one(&mut *conn).await.unwrap(), "audit_app");
    let err = sqlx::query(&format!("SET ROLE \"{owner_name}\"")).execute(&mut *conn).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
    // Custom plans where a read asks for them, in its own transaction
    // (the role's own setting is cluster-wide, and other tests' migrations
    // set and reset it, so it is not asserted here).
    drop(conn);
    let mut read =
        server::store::tenant::begin_read(&app, ORG, true, std::time::Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        who("SELECT current_setting('plan_cache_mode')").fetch_one(&mut *read).await.unwrap(),
        "force_custom_plan"
    );
    read.rollback().await.unwrap();
    let mut conn = app.acquire().await.unwrap();
    for sql in [
        "SELECT password FROM app_role_credentials",
        "SELECT token_hash::text FROM setup_tokens",
        "SELECT rolpassword FROM pg_authid",
        "SELECT pg_read_file('PG_VERSION')",
        "INSERT INTO users (id, email, name, password_hash) VALUES (gen_random_uuid(), 'x@y.z', 'x', 'x')",
    ] {
        let err = sqlx::query(sql).execute(&mut *conn).await.unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }
    // Connecting again reuses the role's password rather than changing it.
    let again = app_pool(owner.connect_options().as_ref().clone()).await;
    sqlx::query("SELECT 1").execute(&again).await.unwrap();
    sqlx::query("SELECT 1").execute(&mut *conn).await.unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn row_level_security_is_forced_and_binds_a_table_owner(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    let app = app_pool(connect).await;
    chain_of(&app, 4).await;
    let unforced: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' \
            AND relrowsecurity AND NOT relforcerowsecurity",
    )
    .fetch_all(&owner)
    .await
    .unwrap();
    assert!(unforced.is_empty(), "row-level security not forced on {unforced:?}");
    let tenant_tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relforcerowsecurity",
    )
    .fetch_one(&owner)
    .await
    .unwrap();
    assert!(tenant_tables >= 7, "{tenant_tables}");

    // A non-superuser owner of audit_events sees nothing without an org,
    // and its org's rows with one. All in one transaction that is rolled
    // back: the role exists nowhere afterwards (roles are cluster-wide).
    let mut tx = owner.begin().await.unwrap();
    let role = format!("audit_owner_probe_{}", Uuid::now_v7().simple());
    for sql in [
        format!("CREATE ROLE {role} NOLOGIN"),
        format!("ALTER TABLE audit_events OWNER TO {role}"),
        format!("SET LOCAL ROLE {role}"),
    ] {
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    let seen: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(seen, 0, "FORCE binds the owner");
    server::store::tenant::set_org(&mut tx, ORG).await.unwrap();
    let seen: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(seen, 4);
    tx.rollback().await.unwrap();

    // The operator's tools still work as the (superuser) owner: COPY, and
    // API keys looked up by hash before the org is known.
    let written = store::copy_events(
        &owner,
        ORG,
        (1..=5).map(|i| event(ORG, t0() + minutes(100 + i), "task.create", "t")),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(written, 5);
    let (_, secret) = store::create_api_key(&app, ORG, "CI", &store::cli_actor()).await.unwrap();
    let found = store::authenticate_api_key(&app, &secret).await.unwrap();
    assert!(found.is_some(), "the key is found by its hash through the owner's function");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_setup_link_creates_the_first_owner_once(_opts: PgPoolOptions, connect: PgConnectOptions) {
    use server::auth::setup::{SetupForm, SetupOutcome, create_first_owner};
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    let app = app_pool(connect).await;
    let token = server::auth::issue_setup_token(&owner).await.unwrap().expect("nobody can sign in yet");
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT token_hash FROM setup_tokens").fetch_one(&owner).await.unwrap();
    assert_ne!(stored, token.as_bytes(), "only the hash is stored");

    let router = server::auth::setup_routes(server::auth::SetupState {
        owner: owner.clone(),
        app: app.clone(),
        secure_cookies: false,
    });
    let send = |request: Request<Body>| {
        let router = router.clone();
        let mut request = request;
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
        async move { router.oneshot(request).await.unwrap() }
    };
    let get = |t: &str| Request::get(format!("/setup?token={t}")).body(Body::empty()).unwrap();
    assert_eq!(send(get(&token)).await.status(), StatusCode::OK);
    assert_eq!(send(get("nope")).await.status(), StatusCode::FORBIDDEN);

    let post = |body: String| {
        Request::post("/setup")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let form = |t: &str, slug: &str, password: &str| {
        format!(
            "token={t}&org_name=Acme+Corp&org_slug={slug}&name=Olive+Owner&email=Olive%40acme.test&password={password}"
        )
    };
    // A bad field: 422 naming it, nothing created, the token still good.
    let response = send(post(form(&token, "Acme!", "correct horse battery"))).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = String::from_utf8(axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec())
        .unwrap();
    assert!(page.contains("org_slug:") && !page.contains("correct horse"), "{page}");
    // A wrong token.
    assert_eq!(
        send(post(form("0000", "acme", "correct horse battery"))).await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(!server::auth::users::any_user(&owner).await.unwrap());

    let response = send(post(form(&token, "acme", "correct+horse+battery"))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/o/acme");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("atl_session=") && cookie.contains("HttpOnly"), "{cookie}");

    let user = server::auth::users::find_by_email(&app, "olive@acme.test").await.unwrap().expect("created");
    assert!(server::auth::verify_password("correct horse battery", &user.password_hash));
    let memberships = server::auth::users::memberships(&app, user.id).await.unwrap();
    assert_eq!(
        (memberships.len(), memberships[0].slug.as_str(), memberships[0].role.as_str()),
        (1, "acme", "owner")
    );
    // Recorded in the new org's log.
    let mut tx = server::store::tenant::begin_for_org(&app, memberships[0].org_id).await.unwrap();
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_events ORDER BY seq").fetch_all(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(actions, ["org.create", "user.create"]);

    // Used once; refused once anyone exists, even with a fresh token.
    assert_eq!(
        send(post(form(&token, "acme2", "correct+horse+battery"))).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(send(get(&token)).await.status(), StatusCode::GONE);
    assert!(server::auth::issue_setup_token(&owner).await.unwrap().is_none());
    let late = SetupForm {
        token: token.clone(),
        org_name: "Other".into(),
        org_slug: "other".into(),
        name: "Mallory".into(),
        email: "m@evil.test".into(),
        password: "0123456789".into(),
    };
    sqlx::query("INSERT INTO setup_tokens (token_hash, expires_at) VALUES (sha256('late'), now() + interval '1 hour')")
        .execute(&owner)
        .await
        .unwrap();
    let outcome = create_first_owner(&owner, &SetupForm { token: "late".into(), ..late }, "x").await.unwrap();
    assert!(matches!(outcome, SetupOutcome::AlreadySetUp), "{outcome:?}");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_demo_login_page_lists_demo_accounts_only(_opts: PgPoolOptions, connect: PgConnectOptions) {
    use server::auth::users;
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    let app = app_pool(connect).await;
    let demo = users::ensure_demo_user(&owner, "dee@acme.example", "Dee Demo", "h").await.unwrap();
    users::set_membership(&owner, ORG, demo, app::model::Role::Admin).await.unwrap();
    let real = users::ensure_user(&owner, "rita@acme.com", "Rita Real", "h").await.unwrap();
    users::set_membership(&owner, ORG, real, app::model::Role::Owner).await.unwrap();
    // A real account never becomes a demo one by a later demo load.
    assert_eq!(users::ensure_demo_user(&owner, "rita@acme.com", "Rita", "h").await.unwrap(), real);

    let listed: Vec<String> =
        users::demo_accounts(&app).await.unwrap().into_iter().map(|a| a.email).collect();
    assert_eq!(listed, ["dee@acme.example"]);
    assert_eq!(users::demo_user_count(&app).await.unwrap(), 1);

    use app::api::AccessControl;
    let demo_server = server::auth::SessionAccess::new(app.clone(), true);
    assert_eq!(demo_server.demo_accounts().await.len(), 1);
    let real_server = server::auth::SessionAccess::new(app.clone(), false);
    assert!(real_server.demo_accounts().await.is_empty(), "without --demo nobody is listed");
}
