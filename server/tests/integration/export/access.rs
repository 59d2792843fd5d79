//! Who may export what, how a bad request is refused, and how an export is recorded, cut, shared out and gated.

use super::*;

#[sqlx::test(migrations = "./migrations")]
async fn a_key_exports_its_own_org_only(_o: PgPoolOptions, connect: PgConnectOptions) {
    let env = setup(connect).await;
    insert(&env.app, &fixture()).await;
    let ours = parse_ndjson(&api(&env, "format=ndjson&action=invoice.delete").await.text);
    assert!(!ours.is_empty());
    assert!(ours.iter().all(|v| v["org_id"] == ORG.to_string()));

    let theirs = send(&env, with_key("/api/v1/events/export?format=ndjson", &env.other_key)).await;
    assert_eq!(theirs.status, StatusCode::OK);
    let theirs = parse_ndjson(&theirs.text);
    assert!(!theirs.is_empty() && theirs.iter().all(|v| v["org_id"] == OTHER_ORG.to_string()));
    let our_ids: Vec<&Value> = ours.iter().map(|v| &v["id"]).collect();
    assert!(theirs.iter().all(|v| !our_ids.contains(&&v["id"])));

    // No parameter names another org: the key decides.
    let pick = api(&env, "org=other").await;
    assert_eq!(pick.status, StatusCode::BAD_REQUEST);
    assert_eq!(pick.json()["error"]["field"], "org");

    for key in [None, Some("atl_not_a_key"), Some("atl_0000000000000000000000000000000000000000")] {
        let mut request = get("/api/v1/events/export");
        if let Some(key) = key {
            request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {key}").parse().unwrap());
        }
        let refused = send(&env, request).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(refused.json()["error"]["code"], "unauthorized");
    }
    assert!(exports(&env.owner).await.len() == 1, "refused requests export nothing and record nothing");
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_parameters_are_400s_naming_each_one(_o: PgPoolOptions, connect: PgConnectOptions) {
    let env = setup(connect).await;
    insert(&env.app, &fixture()).await;
    for (query, field) in [
        ("format=xlsx", "format"),
        ("format=csv&format=ndjson", "format"),
        ("colour=red", "colour"),
        ("action=in%20voice", "action"),
        ("entity=DROP%20TABLE", "entity"),
        ("after=2026-13-45", "after"),
        ("within=1y", "within"),
        ("ip=10.1.2.300", "ip"),
        ("country=Germany", "country"),
        ("tz=..%2Fetc", "tz"),
        ("after=2026-01-01&tz=Mars/Olympus_Mons", "tz"),
        ("tz=Mars/Olympus_Mons", "tz"),
        ("action=delete&action=create", "action"),
    ] {
        let got = api(&env, query).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{query}: {}", got.text);
        let body = got.json();
        assert_eq!(body["error"]["code"], "invalid_query", "{query}");
        assert_eq!(body["error"]["field"], field, "{query}");
        assert!(body["error"]["message"].as_str().unwrap().starts_with(&format!("{field}: ")), "{body}");
    }
    let all = api(&env, "format=pdf&colour=red&after=nope").await.json();
    let fields: Vec<&str> =
        all["error"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["format", "colour", "after"], "every problem at once");
    assert!(exports(&env.owner).await.is_empty(), "a refused export is not recorded");
}

#[sqlx::test(migrations = "./migrations")]
async fn every_export_is_recorded_with_its_filter_and_row_count(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let env = setup(connect).await;
    insert(&env.app, &fixture()).await;
    let got = api(&env, "format=ndjson&entity=invoice&action=delete").await;
    let rows = parse_ndjson(&got.text).len();
    assert!(rows > 0);
    // Recorded before the body ended: whoever holds the file finds its record.
    let recorded = exports(&env.owner).await;
    assert_eq!(recorded.len(), 1);
    let (kind, actor_id, entity_id, metadata) = &recorded[0];
    assert_eq!(kind, "api_key");
    assert_eq!(actor_id, &env.key_id.to_string());
    assert_eq!(entity_id, &ORG.to_string());
    assert_eq!(
        metadata,
        &serde_json::json!({"filter": "action=delete&entity=invoice", "format": "ndjson", "rows": rows, "complete": true})
    );
    let event = PgAuditStore::new(env.app.clone())
        .list_events(ORG, &query(&filter("action=audit_log.export")), None, 10)
        .await
        .unwrap()
        .events;
    assert_eq!(event.len(), 1, "on the timeline like any event");
    assert_eq!(event[0].entity.entity_type, "audit_log");
    assert_eq!(event[0].entity.name.as_deref(), Some("Audit log"));
    assert_eq!(event[0].actor.kind, ActorKind::ApiKey);
    assert_eq!(event[0].actor.name, "Nightly export");
    assert_eq!(event[0].context.ip.as_deref(), Some("198.51.100.9"));
    assert_eq!(event[0].context.user_agent.as_deref(), Some("export-test/1"));

    // An empty result is an export too, of a header row alone.
    let none = api(&env, "format=csv&within=24h&action=delete").await;
    assert_eq!(none.text.lines().count(), 1);
    let recorded = exports(&env.owner).await;
    assert_eq!(recorded[1].3["rows"], 0);
    assert_eq!(recorded[1].3["complete"], true);
    assert_eq!(recorded[1].3["filter"], "action=delete&within=24h");
}

/// HTTP layers (compression, for one) may poll a body again after its end;
/// the stream must keep saying "ended", not fail.
#[sqlx::test(migrations = "./migrations")]
async fn a_finished_body_can_be_polled_again(_o: PgPoolOptions, connect: PgConnectOptions) {
    let env = setup(connect).await;
    insert(&env.app, &fixture()).await;
    let response =
        env.router.clone().oneshot(with_key("/api/v1/events/export?format=csv", &env.key)).await.unwrap();
    let mut body = response.into_body();
    let mut text = Vec::new();
    while let Some(frame) = body.frame().await {
        text.extend_from_slice(&frame.unwrap().into_data().unwrap());
    }
    assert!(body.frame().await.is_none() && body.frame().await.is_none());
    assert_eq!(parse_csv(std::str::from_utf8(&text).unwrap()).len(), 40);
}

/// More rows than one batch and one piece of the body: the stream crosses
/// both boundaries in order, without repeats or gaps. A client that goes
/// away half-way gets its export recorded as incomplete, with the rows
/// actually handed to it.
#[sqlx::test(migrations = "./migrations")]
async fn large_exports_stream_in_pieces_and_a_cut_one_is_recorded_as_such(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let env = setup(connect).await;
    let start = t0();
    let events: Vec<NewAuditEvent> = (0..5_000)
        .map(|i| {
            let mut e =
                event(ORG, start + chrono::Duration::seconds(i / 2), "task.update", &format!("task_{i}"));
            e.metadata = serde_json::json!({"padding": "x".repeat(200)});
            e
        })
        .collect();
    for chunk in events.chunks(1000) {
        insert(&env.app, chunk).await;
    }
    let all = api(&env, "format=csv&entity=task").await;
    let rows = parse_csv(&all.text);
    assert_eq!(rows.len(), 5_000);
    let expected = timeline_ids(&env.app, &filter("entity=task")).await;
    assert_eq!(rows.iter().map(|r| r["id"].parse::<Uuid>().unwrap()).collect::<Vec<_>>(), expected);
    assert_eq!(exports(&env.owner).await[0].3["rows"], 5_000);

    let response =
        env.router.clone().oneshot(with_key("/api/v1/events/export?format=csv", &env.key)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(first.len() >= 200 * 1024, "pieces are a few hundred KiB: {}", first.len());
    let sent = String::from_utf8_lossy(&first).matches("\r\n").count() - 1;
    drop(body);
    let deadline = Instant::now() + Duration::from_secs(10);
    let cut = loop {
        let recorded = exports(&env.owner).await;
        if recorded.len() == 2 {
            break recorded[1].3.clone();
        }
        assert!(Instant::now() < deadline, "the cut export was recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(cut["complete"], false);
    assert_eq!(cut["rows"], sent, "the rows handed over before the client left");
}

#[sqlx::test(migrations = "./migrations")]
async fn downloads_need_a_session_membership_and_the_view_permission(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let env = setup(connect).await;
    insert(&env.app, &fixture()).await;
    let hash = server::auth::hash_password("correct horse");
    let owner = users::ensure_user(&env.owner, "olive@example.com", "Olive Owner", &hash).await.unwrap();
    users::set_membership(&env.owner, ORG, owner, Role::Owner).await.unwrap();
    let member = users::ensure_user(&env.owner, "mo@example.com", "Mo Member", &hash).await.unwrap();
    users::set_membership(&env.owner, ORG, member, Role::Member).await.unwrap();
    let owner_cookie = sign_in(&env, "olive@example.com").await;
    let member_cookie = sign_in(&env, "mo@example.com").await;
    let download = |path: &str, cookie: Option<&str>| {
        let mut request = get(path);
        if let Some(cookie) = cookie {
            request.headers_mut().insert(header::COOKIE, format!("atl_session={cookie}").parse().unwrap());
        }
        send(&env, request)
    };

    let signed_out = download("/o/acme/export.csv?action=delete", None).await;
    assert_eq!(signed_out.status, StatusCode::UNAUTHORIZED, "not a redirect to the login page");
    assert!(signed_out.text.contains("Sign in"), "{}", signed_out.text);
    let not_ours = download("/o/other/export.csv", Some(&owner_cookie)).await;
    assert_eq!(not_ours.status, StatusCode::NOT_FOUND, "{}", not_ours.text);
    let forbidden = download("/o/acme/export.ndjson", Some(&member_cookie)).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert!(forbidden.text.contains("View Audit Log permission"), "{}", forbidden.text);
    assert!(exports(&env.owner).await.is_empty(), "refusals export nothing");

    // The page's lenient reading: an unusable parameter is left out, as the
    // timeline leaves it out, so the file still matches the screen.
    let ok = download(
        "/o/acme/export.csv?action=delete&entity=invoice&colour=red&theme=dark",
        Some(&owner_cookie),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let disposition = ok.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        regex_like(
            disposition,
            "attachment; filename=\"audit-log-acme-action-delete_entity-invoice-",
            "Z.csv\""
        ),
        "{disposition}"
    );
    let ids: Vec<Uuid> = parse_csv(&ok.text).iter().map(|r| r["id"].parse().unwrap()).collect();
    assert_eq!(ids, timeline_ids(&env.app, &filter("action=delete&entity=invoice")).await);
    let ndjson = download("/o/acme/export.ndjson?record=inv_twin", Some(&owner_cookie)).await;
    assert_eq!(ndjson.headers[header::CONTENT_TYPE], "application/x-ndjson");
    assert_eq!(parse_ndjson(&ndjson.text).len(), 2);

    let recorded = exports(&env.owner).await;
    assert_eq!(recorded.len(), 2);
    let (kind, actor_id, _, metadata) = &recorded[0];
    assert_eq!(
        (kind.as_str(), actor_id.as_str()),
        ("user", owner.to_string().as_str()),
        "the person, by user id"
    );
    assert_eq!(metadata["filter"], "action=delete&entity=invoice");
    assert_eq!(metadata["format"], "csv");
    assert_eq!(metadata["rows"], ids.len());
    assert_eq!(recorded[1].3["format"], "ndjson");
    assert_eq!(recorded[1].3["rows"], 2);
}

/// Signs in through the real login route; returns the session token.
async fn sign_in(env: &Env, email: &str) -> String {
    let mut request = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("email={email}&password=correct%20horse&next=")))
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 9], 50_000))));
    let response = env.router.clone().oneshot(request).await.unwrap();
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("atl_session="))
        .unwrap_or_else(|| panic!("signed in as {email}: {:?}", response.headers()))
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(!cookie.is_empty());
    cookie
}

/// Over its share of exports a caller is told at once to come back (429
/// with Retry-After), before any connection or snapshot is taken; the share
/// is given back when an export ends.
#[sqlx::test(migrations = "./migrations")]
async fn exports_over_the_callers_share_are_429_with_retry_after(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use app::api::{Admission, Shares, Work};
    let mut env = setup(connect).await;
    let admission = Admission::new()
        .with_shares(Work::Export, Shares { per_org: 1, per_viewer: 1, per_process: 1, retry_after: 7 });
    let auth = AuthState::new(env.app.clone(), false);
    env.router = Router::new()
        .merge(server::http::routes(ApiContext::new(env.app.clone()).with_admission(admission.clone())))
        .layer(axum::middleware::from_fn_with_state(auth, server::auth::guard));
    insert(&env.app, &fixture()).await;

    // One export holds the only share while its body is unread.
    let running: Response =
        env.router.clone().oneshot(with_key("/api/v1/events/export", &env.key)).await.unwrap();
    assert_eq!(running.status(), StatusCode::OK);
    assert_eq!(admission.running(Work::Export, ORG), 1);

    let refused = api(&env, "format=ndjson").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text);
    assert_eq!(refused.headers[header::RETRY_AFTER], "7");
    assert_eq!(refused.json()["error"]["code"], "too_many_requests");

    // Read to the end: the share comes back, and the next export runs.
    let body = running.into_body().collect().await.expect("the whole body").to_bytes();
    assert!(body.len() > 100);
    for _ in 0..50 {
        if admission.running(Work::Export, ORG) == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(api(&env, "format=ndjson").await.status, StatusCode::OK);
}

/// An export reads batch by batch through the process's gate for expensive
/// reads: while every place is taken it waits (no rows yet), and it goes on
/// as soon as a place is free, whole.
#[sqlx::test(migrations = "./migrations")]
async fn export_batches_wait_their_turn_at_the_gate(_o: PgPoolOptions, connect: PgConnectOptions) {
    use app::api::Admission;
    let mut env = setup(connect).await;
    let admission = Admission::new().with_heavy_slots(1);
    let auth = AuthState::new(env.app.clone(), false);
    env.router = Router::new()
        .merge(server::http::routes(ApiContext::new(env.app.clone()).with_admission(admission.clone())))
        .layer(axum::middleware::from_fn_with_state(auth, server::auth::guard));
    let events = fixture();
    insert(&env.app, &events).await;

    // Someone else's search holds the only place.
    let held = admission.gate().enter(uuid::Uuid::from_u128(77), Duration::ZERO).await.unwrap();
    let response: Response =
        env.router.clone().oneshot(with_key("/api/v1/events/export?format=ndjson", &env.key)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let waited = tokio::time::timeout(Duration::from_millis(300), body.frame()).await;
    assert!(waited.is_err(), "no rows while the gate is full");

    drop(held);
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("the export finishes").into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    let waited_for = String::from_utf8(bytes).unwrap();
    assert_eq!(admission.gate().taken(), 0, "the export gave its place back");
    // Whole: the same file as an export that never waited.
    // (less the record of the first export itself, which is in the log now).
    let unhindered: Vec<Value> = parse_ndjson(&api(&env, "format=ndjson").await.text)
        .into_iter()
        .filter(|e| e["action"] != server::http::export::EXPORT_ACTION)
        .collect();
    assert_eq!(parse_ndjson(&waited_for), unhindered, "every event, once the export had its turn");
    assert!(unhindered.len() >= events.len() - 5, "the org's events are all there");
}
