//! Bad requests of every kind: each answered with the status and the field at fault, nothing of it stored.

use super::*;

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
