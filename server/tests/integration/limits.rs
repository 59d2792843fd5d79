//! The event limits on every way in (the API over HTTP, the store's insert,
//! COPY) and the byte budgets of every way out (a timeline page, a live-tail
//! answer, an export batch), on a real PostgreSQL.

use crate::common::*;
use app::api::AuditStore;
use app::model::limits::{
    MAX_DEPTH, MAX_EVENT_BYTES, MAX_STRING_BYTES, PAGE_BUDGET_BYTES, check_event, event_bytes, nested,
};
use app::model::{Changes, Cursor, EventQuery, NewAuditEvent};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Map, Value, json};
use server::PgAuditStore;
use server::http::ApiContext;
use server::store::{self, export::ExportReader};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower::ServiceExt;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0b01);

async fn pools(connect: PgConnectOptions) -> (PgPool, PgPool) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    (owner, app_pool(connect).await)
}

async fn stored(owner: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE entity_type <> 'api_key'")
        .fetch_one(owner)
        .await
        .unwrap()
}

/// `n` bytes of prose (a long run of base64 letters would be stored as
/// `[BINARY DATA]` by redaction).
fn text(n: usize) -> String {
    let mut s = "lorem ipsum ".repeat(n / 12 + 1);
    s.truncate(n);
    s
}

/// Metadata of `n` strings of the longest allowed length.
fn wide_strings(n: usize) -> Value {
    let map: Map<String, Value> = (0..n).map(|i| (format!("s{i}"), json!(text(MAX_STRING_BYTES)))).collect();
    Value::Object(map)
}

/// An event of about `bytes` bytes.
fn sized(i: i64, bytes: usize) -> NewAuditEvent {
    let mut e = event(ORG, t0() + minutes(i), "task.update", &format!("task_{i}"));
    let mut map = Map::new();
    let mut left = bytes;
    let mut k = 0;
    while left > 0 {
        let n = left.min(MAX_STRING_BYTES);
        map.insert(format!("s{k}"), json!(text(n)));
        left -= n;
        k += 1;
    }
    e.metadata = Value::Object(map);
    e
}

#[sqlx::test(migrations = "./migrations")]
async fn the_api_refuses_events_over_the_limits_by_path_and_stores_nothing(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (owner, app) = pools(connect).await;
    let (_, key) = store::create_api_key(&app, ORG, "CI", &crate::common::event(ORG, t0(), "a.b", "x").actor)
        .await
        .unwrap();
    let router = server::http::routes(ApiContext::new(app.clone()));
    let post = |body: Value| {
        let router = router.clone();
        let key = key.clone();
        async move {
            let req = Request::post("/api/v1/events")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {key}"))
                .body(Body::from(body.to_string()))
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let event = |metadata: Value| {
        json!({
            "occurred_at": (chrono::Utc::now() - chrono::TimeDelta::minutes(1)).to_rfc3339(),
            "actor": {"kind": "user", "id": "usr_1", "name": "Alice"},
            "action": "task.update",
            "entity": {"type": "task", "id": "t1"},
            "metadata": metadata,
        })
    };

    let (status, body) =
        post(json!({"events": [event(json!({})), event(nested(MAX_DEPTH + 1, json!({})))]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], format!("events[1].metadata{}", ".a".repeat(MAX_DEPTH)));
    assert!(body["error"]["message"].as_str().unwrap().ends_with("nested deeper than 32 levels"));

    let (status, body) = post(event(json!({"note": "é".repeat(MAX_STRING_BYTES / 2 + 1)}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["message"], "metadata.note: string longer than 8192 bytes");

    let (status, body) = post(json!({"events": [event(json!({})), event(wide_strings(8))]})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert_eq!(body["error"]["field"], "events[1]");
    assert_eq!(stored(&owner).await, 0, "nothing of a refused batch is stored");

    // A number the database would hand back as one the reader refuses.
    let biggest: Value = serde_json::from_str(r#"{"big": 1.7976931348623157e308}"#).unwrap();
    let (status, body) = post(event(biggest)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "metadata.big");
    assert_eq!(stored(&owner).await, 0);

    // The largest and deepest allowed event is stored and reads back whole,
    // extreme numbers included.
    let mut largest = wide_strings(7);
    largest["deep"] = nested(MAX_DEPTH - 1, json!({"leaf": "é\u{301}"}));
    largest["numbers"] = serde_json::from_str("[1e308, 5e-324, -2.5e-7, 18446744073709551615]").unwrap();
    let (status, body) = post(event(largest.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let page = PgAuditStore::new(app).list_events(ORG, &EventQuery::default(), None, 50).await.unwrap();
    let read = page.events.iter().find(|e| e.action == "task.update").unwrap();
    assert_eq!(read.metadata, largest);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_store_refuses_over_limit_events_on_insert_and_copy(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (owner, app) = pools(connect).await;
    let good = event(ORG, t0(), "task.update", "t1");
    let mut deep = event(ORG, t0(), "task.update", "t2");
    deep.metadata = nested(MAX_DEPTH + 1, json!({}));
    let mut deep_change = event(ORG, t0(), "task.update", "t3");
    deep_change.changes =
        Some(serde_json::from_value::<Changes>(json!({"snapshot": nested(MAX_DEPTH, json!({}))})).unwrap());
    let mut big = event(ORG, t0(), "task.update", "t4");
    big.metadata = wide_strings(8);
    assert!(check_event(&good).is_ok());
    for (bad, what) in
        [(&deep, "metadata.a"), (&deep_change, "changes.snapshot.a"), (&big, "more than the limit")]
    {
        let err = store::insert_events(&app, &[good.clone(), bad.clone()]).await.unwrap_err();
        assert!(err.to_string().contains(what), "{err}");
        let err = store::copy_events(&owner, ORG, [good.clone(), bad.clone()].into_iter(), |_| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&bad.id.to_string()), "{err}");
    }
    assert_eq!(stored(&owner).await, 0, "neither path stored any part of a refused batch");
    store::copy_events(&owner, ORG, [good].into_iter(), |_| {}).await.unwrap();
    assert_eq!(stored(&owner).await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_page_of_huge_events_stops_at_the_budget_and_its_cursor_continues(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (_owner, app) = pools(connect).await;
    let events: Vec<NewAuditEvent> = (0..40).map(|i| sized(i, 60 * 1024)).collect();
    assert!(events.iter().all(|e| event_bytes(e) <= MAX_EVENT_BYTES));
    insert(&app, &events).await;
    let store = PgAuditStore::new(app.clone());
    let query = EventQuery::default();

    let first = store.list_events(ORG, &query, None, 50).await.unwrap();
    let held: usize = first.events.iter().map(|e| serde_json::to_vec(&e.metadata).unwrap().len()).sum();
    assert!(first.events.len() < 40 && first.events.len() > 1, "{} events", first.events.len());
    assert!(held <= PAGE_BUDGET_BYTES + MAX_EVENT_BYTES, "{held} bytes");
    assert!(first.next_cursor.is_some(), "a page cut by its budget continues");

    // Paging on reads every event once, newest first, whatever the budget.
    for budget in [1, 200 * 1024, PAGE_BUDGET_BYTES] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store::list_events_within(
                &app,
                ORG,
                &query,
                cursor.as_deref().and_then(Cursor::decode),
                50,
                budget,
            )
            .await
            .unwrap();
            if budget == 1 {
                assert_eq!(page.events.len(), 1, "always at least one event");
            }
            seen.extend(page.events.iter().map(|e| e.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let want: Vec<Uuid> = events.iter().rev().map(|e| e.id).collect();
        assert_eq!(seen, want, "budget {budget}");
    }
    // Small events still fill a page.
    let small: Vec<NewAuditEvent> = (100..160).map(|i| sized(i, 10)).collect();
    insert(&app, &small).await;
    assert_eq!(store.list_events(ORG, &query, None, 50).await.unwrap().events.len(), 50);
}

#[sqlx::test(migrations = "./migrations")]
async fn live_tail_answers_and_export_batches_stop_at_their_budgets(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (_owner, app) = pools(connect).await;
    let events: Vec<NewAuditEvent> = (0..12).map(|i| sized(i, 50 * 1024)).collect();
    insert(&app, &events).await;
    let query = EventQuery::default();

    // 120 KiB: two 50 KiB events start within it, the third does not.
    let (found, through) = store::events_since_within(&app, ORG, &query, 0, 100, 120 * 1024).await.unwrap();
    assert_eq!(found.len(), 3, "the third starts at 100 KiB, inside the budget");
    assert_eq!(through, found[2].seq, "continues after the last event sent");
    let mut seen: Vec<Uuid> = found.iter().map(|e| e.id).collect();
    let mut since = through;
    loop {
        let (found, through) =
            store::events_since_within(&app, ORG, &query, since, 100, 120 * 1024).await.unwrap();
        seen.extend(found.iter().map(|e| e.id));
        if through == since || found.is_empty() {
            break;
        }
        since = through;
    }
    assert_eq!(seen, events.iter().map(|e| e.id).collect::<Vec<_>>(), "all, once, in order");

    let mut reader = ExportReader::open_with_budget(&app, ORG, query, 2000, 120 * 1024).await.unwrap();
    let mut exported = Vec::new();
    loop {
        let batch = reader.next_batch().await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 3, "{} in one batch", batch.len());
        exported.extend(batch.rows().map(|r| r.unwrap().id));
    }
    reader.finish().await.unwrap();
    assert_eq!(exported, events.iter().rev().map(|e| e.id).collect::<Vec<_>>());
}
