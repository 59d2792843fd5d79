//! Hostile input stored inert, never a 500; secrets redacted on the way in.

use super::*;

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
