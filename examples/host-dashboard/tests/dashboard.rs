//! The host dashboard renders the embedded timeline on the server, with the
//! host's store and sign-in, and filters it from the URL like the product.

use std::sync::Arc;

use app::model::{Actor, ActorKind, AuditEvent, EntityRef, EventContext};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, Utc};
use host_dashboard::{MemoryStore, ORG_ID, router};
use tower::ServiceExt;
use uuid::Uuid;

fn event(minutes_ago: i64, action: &str, name: &str) -> AuditEvent {
    AuditEvent {
        id: Uuid::now_v7(),
        org_id: ORG_ID,
        seq: 0,
        occurred_at: Utc::now() - Duration::minutes(minutes_ago),
        received_at: Utc::now(),
        actor: Actor {
            kind: ActorKind::User,
            id: "u1".into(),
            name: "Grace Host".into(),
            email: None,
            avatar: None,
        },
        action: action.into(),
        entity: EntityRef {
            entity_type: action.split('.').next().unwrap().into(),
            id: name.to_lowercase(),
            name: Some(name.into()),
            deleted: false,
        },
        changes: None,
        context: EventContext::default(),
        metadata: serde_json::Value::Null,
        category: None,
        priority: None,
        estimated_country: None,
    }
}

async fn get(path: &str) -> (StatusCode, String) {
    let store = Arc::new(MemoryStore::new(vec![
        event(5, "invoice.create", "INV-1"),
        event(4, "deploy.start", "Release 42"),
        event(3, "invoice.send", "INV-1"),
    ]));
    render(store, path).await
}

/// One page of the host, failing (not hanging) if it is not rendered within
/// a generous time: a render that waits forever is a bug to see.
async fn render(store: Arc<MemoryStore>, path: &str) -> (StatusCode, String) {
    let page = async {
        let response = router(store).oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), page)
        .await
        .unwrap_or_else(|_| panic!("{path} was not rendered within 30 s"))
}

fn actions(html: &str) -> Vec<String> {
    html.split("class=\"badge-text\">").skip(1).map(|s| s.split('<').next().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_dashboard_renders_the_timeline_from_the_hosts_store() {
    let (status, html) = get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Operations dashboard"), "the host's own page");
    assert_eq!(actions(&html), ["invoice.send", "deploy.start", "invoice.create"], "newest first");
    assert!(html.contains(r#"aria-label="Audit log""#), "the timeline's list, labelled");
}

#[tokio::test]
async fn the_url_filters_the_mounted_timeline() {
    let (_, html) = get("/dashboard?entity=invoice").await;
    assert_eq!(actions(&html), ["invoice.send", "invoice.create"]);
    let (_, html) = get("/dashboard?q=release").await;
    assert_eq!(actions(&html), ["deploy.start"]);
    let (_, html) = get("/dashboard?q=nothing-like-this").await;
    assert!(html.contains("No events match these filters."));
}

#[tokio::test]
async fn a_host_sets_the_initial_view_and_the_page_size() {
    let (status, html) = get("/invoices").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(actions(&html), ["invoice.send", "invoice.create"], "invoices only, by default");
    assert!(!html.contains("class=\"record-history\""), "no history pages in this host");
    let more = MemoryStore::new((0..5).map(|i| event(i, "invoice.update", &format!("INV-{i}"))).collect());
    let (_, html) = render(Arc::new(more), "/invoices").await;
    assert_eq!(actions(&html).len(), 2, "two to a page");
    assert!(html.contains("Load more"), "and the rest one click away");
    // A filter in the URL replaces the host's default view.
    let (_, html) = get("/invoices?q=release").await;
    assert_eq!(actions(&html), ["deploy.start"]);
}
