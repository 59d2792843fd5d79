//! Exports on a real PostgreSQL, through the routers the server serves:
//! the API with an org key and the Export menu's downloads with a session.
//! An export has exactly the events the timeline pages through for the same
//! filter; CSV reads back with the same ids and neutralised formulas; other
//! orgs stay invisible; bad parameters are 400s naming them; and every
//! export, finished or cut short, is recorded with its row count.

mod access;
mod contents;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::*;
use app::api::AuditStore;
use app::model::{ActorKind, AuditEvent, EventQuery, NewAuditEvent, Role, TimelineFilter};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::Value;
use server::PgAuditStore;
use server::auth::{AuthState, users};
use server::http::ApiContext;
use server::http::export::CSV_COLUMNS;
use server::store;
use server::store::export::ExportReader;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower::ServiceExt;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1);
const OTHER_ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a2);

struct Env {
    router: Router,
    app: PgPool,
    owner: PgPool,
    /// An API key of ORG, and one of OTHER_ORG.
    key: String,
    other_key: String,
    key_id: Uuid,
}

/// Both orgs, a key for each, and the routes as `src/main.rs` layers them
/// (the sign-in guard in front).
async fn setup(connect: PgConnectOptions) -> Env {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    store::ensure_org(&owner, OTHER_ORG, "other", "Other").await.unwrap();
    let app = app_pool(connect).await;
    let (info, key) = store::create_api_key(&app, ORG, "Nightly export", &store::cli_actor()).await.unwrap();
    let (_, other_key) =
        store::create_api_key(&app, OTHER_ORG, "Other's key", &store::cli_actor()).await.unwrap();
    let auth = AuthState::new(app.clone(), false);
    let router = Router::new()
        .merge(server::auth::routes(auth.clone()))
        .merge(server::http::routes(ApiContext::new(app.clone())))
        .layer(axum::middleware::from_fn_with_state(auth, server::auth::guard));
    Env { router, app, owner, key, other_key, key_id: info.id }
}

/// A small log: one distinguishing trait per event, several of each kind,
/// and hostile text for spreadsheets and CSV quoting.
fn fixture() -> Vec<NewAuditEvent> {
    let at = |m: i64| t0() + minutes(m);
    let mut out = Vec::new();
    let actions =
        ["invoice.create", "invoice.update", "invoice.delete", "ticket.delete", "file.view", "user.login"];
    for i in 0..36 {
        let action = actions[i % actions.len()];
        let mut e = event(ORG, at(i as i64), action, &format!("{}_{}", &action[..3], i / 3));
        if i % 4 == 0 {
            e.actor.id = "usr_2".into();
            e.actor.name = "Bob Stone".into();
            e.actor.email = Some("bob@example.com".into());
            e.context.ip = Some(format!("10.1.{i}.4"));
        }
        out.push(e);
    }
    // Two events in the same microsecond: the id breaks the tie, in the
    // export as on the timeline.
    let mut twin = event(ORG, at(40), "invoice.delete", "inv_twin");
    twin.id = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_1001);
    out.push(twin.clone());
    twin.id = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_1002);
    out.push(twin);
    let mut hostile = event(ORG, at(41), "invoice.update", "inv_hostile");
    hostile.actor.name = "=HYPERLINK(\"http://evil.example\",\"click\")".into();
    hostile.entity.name = Some("+1, \"quoted\"\r\nnext line".into());
    hostile.entity.id = "-5".into();
    hostile.context.user_agent = Some("@SUM(1+1)".into());
    hostile.context.session_id = Some("\t=1".into());
    hostile.metadata = serde_json::json!({"note": "=cmd|' /C calc'!A0"});
    out.push(hostile);
    // Another org's events matching every filter above: never exported.
    for i in 0..5 {
        out.push(event(OTHER_ORG, at(i), "invoice.delete", &format!("inv_{i}")));
    }
    out
}

fn get(uri: &str) -> Request<Body> {
    let mut request = Request::get(uri).body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([198, 51, 100, 9], 50_000))));
    request
}

fn with_key(uri: &str, key: &str) -> Request<Body> {
    let mut request = get(uri);
    request.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {key}").parse().unwrap());
    request.headers_mut().insert(header::USER_AGENT, "export-test/1".parse().unwrap());
    request
}

struct Download {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Download {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|_| panic!("{}: not JSON: {}", self.status, self.text))
    }
}

async fn send(env: &Env, request: Request<Body>) -> Download {
    let response: Response = env.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("the whole body").to_bytes();
    Download { status, headers, text: String::from_utf8(bytes.to_vec()).unwrap() }
}

async fn api(env: &Env, query: &str) -> Download {
    send(env, with_key(&format!("/api/v1/events/export?{query}"), &env.key)).await
}

/// Reads the file back with the `csv` crate, independent of the writer
/// under test: rows end in CRLF (every line break outside a field's own
/// text is one), every row has every column, the header row becomes the keys.
fn parse_csv(text: &str) -> Vec<HashMap<String, String>> {
    assert!(text.ends_with("\r\n"), "the file ends with a whole row");
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes());
    let mut rows: Vec<Vec<String>> =
        reader.records().map(|r| r.expect("well-formed CSV").iter().map(str::to_string).collect()).collect();
    let bare_lf = |s: &str| s.matches('\n').count() - s.matches("\r\n").count();
    let in_fields: usize = rows.iter().flatten().map(|f| bare_lf(f)).sum();
    assert_eq!(bare_lf(text), in_fields, "no row ends in a bare LF");
    let header = rows.remove(0);
    assert_eq!(header, CSV_COLUMNS, "the header row");
    rows.into_iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "every row has every column: {r:?}");
            header.iter().cloned().zip(r).collect()
        })
        .collect()
}

fn parse_ndjson(text: &str) -> Vec<Value> {
    assert!(text.is_empty() || text.ends_with('\n'));
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Every event the timeline shows for `filter`, following its pages.
async fn timeline_ids(app: &PgPool, filter: &TimelineFilter) -> Vec<Uuid> {
    let store = PgAuditStore::new(app.clone());
    let query = query(filter);
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_events(ORG, &query, after, 7).await.unwrap();
        out.extend(page.events.iter().map(|e| e.id));
        match page.next_cursor {
            Some(c) => after = Some(app::model::Cursor::decode(&c).unwrap()),
            None => return out,
        }
    }
}

/// Every event of the org as the timeline shows it (the fixture fits on
/// one page).
async fn whole_timeline(app: &PgPool) -> Vec<AuditEvent> {
    PgAuditStore::new(app.clone()).list_events(ORG, &EventQuery::default(), None, 1000).await.unwrap().events
}

fn query(filter: &TimelineFilter) -> EventQuery {
    let filters = if filter.is_empty() { vec![] } else { vec![filter.clone()] };
    EventQuery::resolve(filters, Utc::now()).unwrap()
}

fn filter(query: &str) -> TimelineFilter {
    let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    let (f, ignored) = TimelineFilter::from_pairs(pairs);
    assert!(ignored.is_empty(), "{ignored:?}");
    f
}

/// The recorded exports of ORG, oldest first.
async fn exports(owner: &PgPool) -> Vec<(String, String, String, Value)> {
    sqlx::query_as::<_, (String, String, String, sqlx::types::Json<Value>)>(
        "SELECT actor_kind, actor_id, entity_id, metadata FROM audit_events \
          WHERE org_id = $1 AND action = 'audit_log.export' ORDER BY seq",
    )
    .bind(ORG)
    .fetch_all(owner)
    .await
    .unwrap()
    .into_iter()
    .map(|(kind, id, entity, m)| (kind, id, entity, m.0))
    .collect()
}

const FILTERS: [&str; 10] = [
    "",
    "action=delete",
    "action=delete&entity=invoice",
    "q=bob",
    "actor=usr_2",
    "not_action=*.view,login",
    "ip=10.1.0.0/16",
    "after=2026-01-15T09:10&before=2026-01-15T09:30",
    "after=2026-01-15T10:10&tz=Europe/Paris",
    "within=24h",
];

fn regex_like(s: &str, prefix: &str, suffix: &str) -> bool {
    s.starts_with(prefix) && s.ends_with(suffix)
}
