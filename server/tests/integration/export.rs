//! Exports on a real PostgreSQL, through the routers the server serves:
//! the API with an org key and the Export menu's downloads with a session.
//! An export has exactly the events the timeline pages through for the same
//! filter; CSV reads back with the same ids and neutralised formulas; other
//! orgs stay invisible; bad parameters are 400s naming them; and every
//! export, finished or cut short, is recorded with its row count.

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

#[sqlx::test(migrations = "./migrations")]
async fn exports_have_exactly_the_timelines_events_in_its_order(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let env = setup(connect).await;
    insert(&env.app, &fixture()).await;
    for q in FILTERS {
        let f = filter(q);
        // Each export adds its own record to the log, so the expectation is
        // taken again right before each one.
        let expected = timeline_ids(&env.app, &f).await;
        assert!(!expected.is_empty(), "{q}: the filter matches something");

        // Small batches cross many keyset boundaries, twins included.
        let mut reader = ExportReader::open_with_batch(&env.app, ORG, query(&f), 3).await.unwrap();
        let mut read = Vec::new();
        loop {
            let batch = reader.next_batch().await.unwrap();
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= 3);
            read.extend(batch.rows().map(|r| r.unwrap().id));
        }
        reader.finish().await.unwrap();
        assert_eq!(read, expected, "{q}: the store read");

        let expected = timeline_ids(&env.app, &f).await;
        let csv = api(&env, &format!("format=csv&{q}")).await;
        assert_eq!(csv.status, StatusCode::OK, "{q}: {}", csv.text);
        let ids: Vec<Uuid> = parse_csv(&csv.text).iter().map(|r| r["id"].parse().unwrap()).collect();
        assert_eq!(ids, expected, "{q}: CSV");

        let expected = timeline_ids(&env.app, &f).await;
        let ndjson = api(&env, &format!("format=ndjson&{q}")).await;
        assert_eq!(ndjson.status, StatusCode::OK, "{q}: {}", ndjson.text);
        let ids: Vec<Uuid> =
            parse_ndjson(&ndjson.text).iter().map(|v| v["id"].as_str().unwrap().parse().unwrap()).collect();
        assert_eq!(ids, expected, "{q}: NDJSON");
    }
}

/// The deleted marks an export remembers are bounded; cleared again and
/// again (a memory of two records, batches of five), every row still gets
/// the mark the timeline shows.
#[sqlx::test(migrations = "./migrations")]
async fn deleted_marks_stay_right_when_the_export_forgets(_o: PgPoolOptions, connect: PgConnectOptions) {
    let env = setup(connect).await;
    insert(&env.app, &fixture()).await;
    let timeline: Vec<(Uuid, bool)> =
        whole_timeline(&env.app).await.iter().map(|e| (e.id, e.entity.deleted)).collect();
    assert!(timeline.iter().any(|(_, d)| *d) && timeline.iter().any(|(_, d)| !*d));
    for memory in [1, 2, 7] {
        let mut reader = ExportReader::open_with_batch(&env.app, ORG, EventQuery::default(), 5)
            .await
            .unwrap()
            .remembering(memory);
        let mut read = Vec::new();
        loop {
            let batch = reader.next_batch().await.unwrap();
            if batch.is_empty() {
                break;
            }
            read.extend(batch.rows().map(|r| r.map(|r| (r.id, r.entity_deleted)).unwrap()));
        }
        reader.finish().await.unwrap();
        assert_eq!(read, timeline, "remembering {memory} records");
    }
}

/// NDJSON is the timeline's model: every exported line reads back as the
/// very event the timeline shows (changes, metadata, context, the deleted
/// mark), though it is written from the stored JSON without parsing it.
#[sqlx::test(migrations = "./migrations")]
async fn ndjson_lines_are_the_timeline_events(_o: PgPoolOptions, connect: PgConnectOptions) {
    let env = setup(connect).await;
    insert(&env.app, &fixture()).await;
    let timeline = whole_timeline(&env.app).await;
    let got = api(&env, "format=ndjson").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    let exported: Vec<AuditEvent> =
        parse_ndjson(&got.text).into_iter().map(|v| serde_json::from_value(v).unwrap()).collect();
    assert_eq!(exported, timeline);
    assert!(exported.iter().any(|e| e.changes.is_some()) && exported.iter().any(|e| e.entity.deleted));
}

#[sqlx::test(migrations = "./migrations")]
async fn csv_reads_back_with_every_column_and_neutralised_formulas(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let env = setup(connect).await;
    insert(&env.app, &fixture()).await;
    let timeline = whole_timeline(&env.app).await;
    let got = api(&env, "format=csv").await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8; header=present");
    assert_eq!(got.headers[header::CACHE_CONTROL], "no-store");
    let disposition = got.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        regex_like(disposition, "attachment; filename=\"audit-log-acme-all-", "Z.csv\""),
        "{disposition}"
    );
    let rows = parse_csv(&got.text);
    assert_eq!(rows.len(), timeline.len(), "every event of the org, the key's own creation included");
    let by_id: HashMap<Uuid, &AuditEvent> = timeline.iter().map(|e| (e.id, e)).collect();
    let seqs: Vec<i64> = rows.iter().map(|r| r["seq"].parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] != w[1]), "seq is the chain position");
    for row in &rows {
        let e = by_id[&row["id"].parse::<Uuid>().unwrap()];
        assert_eq!(row["org_id"], ORG.to_string());
        assert_eq!(row["occurred_at"], e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        assert!(row["received_at"].ends_with('Z'));
        assert_eq!(row["action"], e.action);
        assert_eq!(row["actor_kind"], e.actor.kind.as_str());
        assert_eq!(row["entity_type"], e.entity.entity_type);
        assert_eq!(row["entity_deleted"], e.entity.deleted.to_string());
        assert_eq!(row["ip"], e.context.ip.clone().unwrap_or_default());
        if row["entity_id"].starts_with('\'') {
            continue;
        }
        assert_eq!(row["actor_id"], e.actor.id);
        assert_eq!(row["actor_name"], e.actor.name);
        assert_eq!(row["entity_id"], e.entity.id);
        let metadata: Value = serde_json::from_str(&row["metadata"]).unwrap();
        assert_eq!(metadata, e.metadata);
        if let Some(changes) = &e.changes {
            assert_eq!(
                serde_json::from_str::<Value>(&row["changes"]).unwrap(),
                serde_json::to_value(changes).unwrap()
            );
        }
    }

    let hostile =
        rows.iter().find(|r| r["entity_id"] == "'-5").expect("the hostile event, its id neutralised");
    assert_eq!(hostile["actor_name"], "'=HYPERLINK(\"http://evil.example\",\"click\")");
    assert_eq!(hostile["entity_name"], "'+1, \"quoted\"\r\nnext line", "quoted, line break kept");
    assert_eq!(hostile["user_agent"], "'@SUM(1+1)");
    assert_eq!(hostile["session_id"], "'\t=1");
    // JSON cells start with `{`; the formula inside stays data.
    assert_eq!(serde_json::from_str::<Value>(&hostile["metadata"]).unwrap()["note"], "=cmd|' /C calc'!A0");
    // Nothing that opens a cell starts a formula.
    for row in &rows {
        for (column, cell) in row {
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{column}: {cell:?}");
        }
    }

    // NDJSON is exact: the hostile text as stored, no apostrophes.
    let ndjson = parse_ndjson(&api(&env, "format=ndjson&record=-5").await.text);
    assert_eq!(ndjson.len(), 1);
    assert_eq!(ndjson[0]["entity"]["id"], "-5");
    assert_eq!(ndjson[0]["actor"]["name"], "=HYPERLINK(\"http://evil.example\",\"click\")");
    assert!(ndjson[0]["seq"].as_i64().unwrap() >= 1, "its place in the chain");
    let event: AuditEvent = serde_json::from_value(ndjson[0].clone()).unwrap();
    assert_eq!(&event, by_id[&event.id], "the line is the timeline's event");
}

fn regex_like(s: &str, prefix: &str, suffix: &str) -> bool {
    s.starts_with(prefix) && s.ends_with(suffix)
}

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
