//! The live tail on a real PostgreSQL: notifications arrive at commit with
//! the right org and seq and never cross orgs; the process's listener fans
//! them out and recovers from a dropped connection; `events_since` honours
//! filters and, continued from a page's `head_seq`, misses nothing and
//! repeats nothing while writers race; and the event stream route answers
//! like page reads (401, 404, 403) and streams only its org's heads.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use app::api::{AccessControl, AuditStore};
use app::model::{EventQuery, NewAuditEvent, Role, query};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use http_body_util::BodyExt;
use server::auth::{AuthState, SessionAccess, users};
use server::http::LiveContext;
use server::live::{LiveHub, LiveSignal};
use server::{PgAuditStore, store};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::broadcast;
use tower::ServiceExt;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00b1);
const OTHER_ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00b2);

/// Long enough for a notification on a local database to arrive, short
/// enough to keep "nothing arrives" tests quick.
const QUIET: Duration = Duration::from_millis(400);
const PATIENCE: Duration = Duration::from_secs(10);

fn events(org: Uuid, n: usize, action: &str) -> Vec<NewAuditEvent> {
    (0..n).map(|i| event(org, Utc::now() - minutes(i as i64), action, &format!("rec_{i}"))).collect()
}

async fn listener(connect: &PgConnectOptions) -> PgListener {
    let pool = PgPool::connect_with(connect.clone()).await.unwrap();
    let mut listener = PgListener::connect_with(&pool).await.unwrap();
    listener.listen(server::live::CHANNEL).await.unwrap();
    listener
}

async fn next_signal(rx: &mut broadcast::Receiver<LiveSignal>) -> Option<LiveSignal> {
    tokio::time::timeout(PATIENCE, rx.recv()).await.ok().and_then(Result::ok)
}

async fn quiet(rx: &mut broadcast::Receiver<LiveSignal>) -> bool {
    tokio::time::timeout(QUIET, rx.recv()).await.is_err()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_commit_notifies_once_per_org_with_its_highest_seq(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let mut listener = listener(&connect).await;

    // Nothing is heard before the commit, and nothing of a rollback.
    let mut tx = app.begin().await.unwrap();
    store::insert_events_in(&mut tx, &events(ORG, 3, "invoice.create")).await.unwrap();
    assert!(
        tokio::time::timeout(QUIET, listener.recv()).await.is_err(),
        "notified before the events were committed"
    );
    tx.rollback().await.unwrap();
    assert!(tokio::time::timeout(QUIET, listener.recv()).await.is_err(), "a rollback notified");

    let mut tx = app.begin().await.unwrap();
    store::insert_events_in(&mut tx, &events(ORG, 3, "invoice.create")).await.unwrap();
    tx.commit().await.unwrap();
    let n = tokio::time::timeout(PATIENCE, listener.recv()).await.expect("notified").unwrap();
    assert_eq!(n.channel(), "audit_events");
    assert_eq!(n.payload(), format!("{ORG}:3"), "the org and its highest seq");

    // One batch across two orgs: one notification each, with each org's own
    // highest seq (seqs are per org).
    let mut batch = events(ORG, 2, "invoice.update");
    batch.extend(events(OTHER_ORG, 5, "ticket.create"));
    insert(&app, &batch).await;
    let mut heard = HashSet::new();
    for _ in 0..2 {
        let n = tokio::time::timeout(PATIENCE, listener.recv()).await.expect("notified").unwrap();
        heard.insert(n.payload().to_string());
    }
    assert_eq!(heard, HashSet::from([format!("{ORG}:5"), format!("{OTHER_ORG}:5")]));
    assert!(tokio::time::timeout(QUIET, listener.recv()).await.is_err(), "one notification per org");

    // A bulk COPY (demo data, imports) notifies too, once.
    let owner = PgPool::connect_with(connect).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    let written =
        store::copy_events(&owner, ORG, events(ORG, 120, "file.view").into_iter(), |_| {}).await.unwrap();
    assert_eq!(written, 120);
    let n = tokio::time::timeout(PATIENCE, listener.recv()).await.expect("notified").unwrap();
    assert_eq!(n.payload(), format!("{ORG}:125"));
}

#[sqlx::test(migrations = "./migrations")]
async fn the_hub_fans_out_by_org_and_resyncs_after_a_lost_connection(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    let (hub, task) = LiveHub::listen(connect).await.unwrap();
    let mut ours = hub.subscribe(ORG);
    let mut theirs = hub.subscribe(OTHER_ORG);

    insert(&app, &events(OTHER_ORG, 4, "ticket.create")).await;
    assert_eq!(next_signal(&mut theirs).await, Some(LiveSignal::Head(4)));
    assert!(quiet(&mut ours).await, "another org's write reached this org's subscriber");

    insert(&app, &events(ORG, 2, "invoice.create")).await;
    assert_eq!(next_signal(&mut ours).await, Some(LiveSignal::Head(2)));
    assert!(quiet(&mut theirs).await);

    // The database drops the listener's connection (a restart, a failover,
    // an idle reaper): the hub reconnects, has everyone resync, and goes on.
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
          WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(server::live::APPLICATION_NAME)
    .fetch_all(&owner)
    .await
    .unwrap();
    assert_eq!(killed, [true], "one listening connection per process");
    assert_eq!(next_signal(&mut ours).await, Some(LiveSignal::Resync));
    assert_eq!(next_signal(&mut theirs).await, Some(LiveSignal::Resync));
    insert(&app, &events(ORG, 1, "invoice.update")).await;
    assert_eq!(next_signal(&mut ours).await, Some(LiveSignal::Head(3)), "listening again");

    drop(theirs);
    assert_eq!(hub.watched_orgs(), 1);
    task.abort();
}

fn filtered(text: &str) -> EventQuery {
    EventQuery::single(query::parse(text).unwrap().normalized(), Utc::now()).unwrap()
}

/// Every event of a page read and everything `events_since` returns after
/// its head, in small steps.
async fn page_then_since(store: &PgAuditStore, query: &EventQuery) -> (Vec<Uuid>, Vec<Uuid>) {
    let page = store.list_events(ORG, query, None, 100_000).await.unwrap();
    assert!(page.next_cursor.is_none());
    let mut since = page.head_seq.expect("a page says where the org's chain was");
    let before: Vec<Uuid> = page.events.iter().map(|e| e.id).collect();
    (before, {
        let mut after = Vec::new();
        loop {
            let (found, through) = store.events_since(ORG, query, since, 7).await.unwrap();
            assert!(through >= since, "never backwards");
            assert!(found.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first");
            assert!(found.iter().all(|e| e.seq > since && e.seq <= through));
            after.extend(found.iter().map(|e| e.id));
            if through == since {
                break;
            }
            since = through;
        }
        after
    })
}

#[sqlx::test(migrations = "./migrations")]
async fn events_since_a_page_honour_its_filter(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let store = PgAuditStore::new(app.clone());
    insert(&app, &events(ORG, 5, "invoice.create")).await;
    insert(&app, &events(OTHER_ORG, 5, "invoice.create")).await;

    let deletes = filtered("action:delete entity:invoice");
    let page = store.list_events(ORG, &deletes, None, 50).await.unwrap();
    assert!(page.events.is_empty());
    assert_eq!(page.head_seq, Some(5), "the org's head, whatever the filter");

    let mut batch = events(ORG, 2, "invoice.delete");
    batch.extend(events(ORG, 3, "ticket.delete"));
    batch.extend(events(ORG, 1, "invoice.update"));
    batch.extend(events(OTHER_ORG, 4, "invoice.delete"));
    insert(&app, &batch).await;

    let (found, through) = store.events_since(ORG, &deletes, 5, 100).await.unwrap();
    assert_eq!(through, 11);
    assert_eq!(found.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["invoice.delete"; 2]);
    assert_eq!(found.iter().map(|e| e.seq).collect::<Vec<_>>(), [6, 7], "oldest first, with their seq");
    assert!(found.iter().all(|e| e.org_id == ORG), "never another org's");

    let (all, _) = store.events_since(ORG, &EventQuery::default(), 5, 100).await.unwrap();
    assert_eq!(all.len(), 6);
    // A limit stops at the last event returned, so the next call goes on.
    let (two, through) = store.events_since(ORG, &EventQuery::default(), 5, 2).await.unwrap();
    assert_eq!((two.len(), through), (2, 7));
    let (rest, through) = store.events_since(ORG, &EventQuery::default(), through, 100).await.unwrap();
    assert_eq!((rest.len(), through), (4, 11));
    let (none, through) = store.events_since(ORG, &EventQuery::default(), 11, 100).await.unwrap();
    assert_eq!((none.len(), through), (0, 11), "nothing new");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_selective_filter_reads_a_long_backlog_in_bounded_steps(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect).await;
    let store = PgAuditStore::new(app.clone());
    let window = server::store::SINCE_SCAN_WINDOW as usize;
    // A tab that slept through more than one window of writes, of which
    // only two events match its filter: one in each window.
    for chunk in 0..(window / 1000 + 1) {
        let mut batch = events(ORG, 1000, "file.view");
        if chunk == 0 || chunk == window / 1000 {
            batch[500].action = "invoice.delete".into();
        }
        insert(&app, &batch).await;
    }
    let deletes = filtered("action:delete");
    let (found, through) = store.events_since(ORG, &deletes, 0, 100).await.unwrap();
    assert_eq!((found.len(), through), (1, window as i64), "stops at the window");
    let (found, through) = store.events_since(ORG, &deletes, through, 100).await.unwrap();
    assert_eq!((found.len(), through), (1, window as i64 + 1000));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_page_and_what_follows_it_have_no_gap_and_no_duplicate_under_concurrent_writes(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect).await;
    let store = PgAuditStore::new(app.clone());
    insert(&app, &events(ORG, 20, "invoice.create")).await;

    // Four writers add batches of mixed actions as fast as they can while
    // pages are read, each followed by events_since from its head.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let app = app.clone();
            tokio::spawn(async move {
                for round in 0..25 {
                    let size = 1 + (w * 7 + round * 3) % 9;
                    let mut batch = events(ORG, size, "invoice.update");
                    for (i, e) in batch.iter_mut().enumerate() {
                        if (i + round) % 3 == 0 {
                            e.action = "ticket.delete".into();
                        }
                    }
                    insert(&app, &batch).await;
                }
            })
        })
        .collect();
    let filters = [EventQuery::default(), filtered("action:update")];
    let mut reads = Vec::new();
    for i in 0..12 {
        let query = &filters[i % 2];
        let page = store.list_events(ORG, query, None, 100_000).await.unwrap();
        reads.push((i % 2, page));
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    for w in writers {
        w.await.unwrap();
    }

    let everything = store.list_events(ORG, &EventQuery::default(), None, 100_000).await.unwrap();
    let all: HashSet<Uuid> = everything.events.iter().map(|e| e.id).collect();
    let updates: HashSet<Uuid> =
        everything.events.iter().filter(|e| e.action == "invoice.update").map(|e| e.id).collect();
    assert!(all.len() > 200, "the writers wrote ({})", all.len());
    let mut heads = Vec::new();
    for (which, page) in reads {
        let query = &filters[which];
        let head = page.head_seq.unwrap();
        heads.push(head);
        if which == 0 {
            let max_seq = page.events.iter().map(|e| e.seq).max().unwrap();
            assert_eq!(head, max_seq, "an unfiltered page's head is its newest seq");
        }
        let before: Vec<Uuid> = page.events.iter().map(|e| e.id).collect();
        let mut since = head;
        let mut after = Vec::new();
        loop {
            let (found, through) = store.events_since(ORG, query, since, 7).await.unwrap();
            after.extend(found.iter().map(|e| e.id));
            if through == since {
                break;
            }
            since = through;
        }
        let mut seen = HashSet::new();
        for id in before.iter().chain(&after) {
            assert!(seen.insert(*id), "event {id} came twice (head {head})");
        }
        let expected = if which == 0 { &all } else { &updates };
        let missed = expected.difference(&seen).count();
        let foreign = seen.difference(expected).count();
        assert_eq!((missed, foreign), (0, 0), "page at head {head} plus what followed: missed, not matching");
    }
    assert!(heads.windows(2).any(|w| w[0] != w[1]), "pages were read while the log grew: {heads:?}");

    // The helper used by the other tests agrees.
    let (before, after) = page_then_since(&store, &EventQuery::default()).await;
    assert_eq!((before.len(), after.len()), (all.len(), 0));
}

// --- The event stream route ----------------------------------------------

struct Site {
    router: Router,
    app: PgPool,
    hub_task: tokio::task::JoinHandle<()>,
}

const PASSWORD: &str = "correct horse battery";

/// The live route and the sign-in routes over a real database, with Acme's
/// owner, a member, and an owner of another org.
async fn site(connect: PgConnectOptions, recheck: Duration) -> Site {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    store::ensure_org(&owner, OTHER_ORG, "other", "Other").await.unwrap();
    let hash = tokio::task::spawn_blocking(|| server::auth::hash_password(PASSWORD)).await.unwrap();
    for (email, org, role) in [
        ("owner@acme.test", ORG, Role::Owner),
        ("member@acme.test", ORG, Role::Member),
        ("owner@other.test", OTHER_ORG, Role::Owner),
    ] {
        let user = users::ensure_user(&owner, email, email, &hash).await.unwrap();
        users::set_membership(&owner, org, user, role).await.unwrap();
    }
    let app = app_pool(connect.clone()).await;
    let (hub, hub_task) = LiveHub::listen(connect).await.unwrap();
    let access: Arc<dyn AccessControl> = Arc::new(SessionAccess::new(app.clone(), false));
    let mut live = LiveContext::new(hub, access, app.clone());
    live.keep_alive = Duration::from_millis(300);
    live.recheck = recheck;
    let router = Router::new()
        .merge(server::auth::routes(AuthState::new(app.clone(), false)))
        .merge(server::http::live_routes(live));
    Site { router, app, hub_task }
}

impl Site {
    async fn send(&self, mut request: Request<Body>) -> axum::response::Response {
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
        self.router.clone().oneshot(request).await.unwrap()
    }

    /// Signs in through the real login route; the session cookie.
    async fn sign_in(&self, email: &str) -> String {
        let body =
            format!("email={}&password={}&next=", email.replace('@', "%40"), PASSWORD.replace(' ', "+"));
        let res = self
            .send(
                Request::post("/auth/login")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("atl_session="), "signed in as {email}");
        cookie.split(';').next().unwrap().to_string()
    }

    async fn live(&self, org: &str, cookie: Option<&str>) -> axum::response::Response {
        let mut request = Request::get(format!("/api/ui/live/{org}"));
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }
}

#[derive(Debug, PartialEq)]
enum Chunk {
    Text(String),
    End,
    Nothing,
}

async fn next_chunk(body: &mut Body, wait: Duration) -> Chunk {
    match tokio::time::timeout(wait, body.frame()).await {
        Err(_) => Chunk::Nothing,
        Ok(None) => Chunk::End,
        Ok(Some(frame)) => match frame.unwrap().into_data() {
            Ok(bytes) => Chunk::Text(String::from_utf8(bytes.to_vec()).unwrap()),
            Err(_) => Chunk::Nothing,
        },
    }
}

/// The next `head` event's seq, skipping keep-alive comments.
async fn next_head(body: &mut Body) -> Option<i64> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        match next_chunk(body, PATIENCE).await {
            Chunk::Text(text) if text.contains("event: head") => {
                let data = text.lines().find_map(|l| l.strip_prefix("data: ")).expect("a head has data");
                return Some(data.parse().unwrap());
            }
            Chunk::Text(_) => continue,
            _ => return None,
        }
    }
    None
}

#[sqlx::test(migrations = "./migrations")]
async fn the_stream_answers_like_page_reads(_o: PgPoolOptions, connect: PgConnectOptions) {
    let site = site(connect, Duration::from_secs(60)).await;
    let res = site.live("acme", None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body, serde_json::json!("Unauthenticated"), "the server functions' error, as JSON");

    let member = site.sign_in("member@acme.test").await;
    let res = site.live("acme", Some(&member)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let text = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(text.contains("View Audit Log permission"), "{text}");

    let owner = site.sign_in("owner@acme.test").await;
    assert_eq!(site.live("other", Some(&owner)).await.status(), StatusCode::NOT_FOUND, "not a member");
    assert_eq!(site.live("nope", Some(&owner)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(site.live("acme", Some("atl_session=forged")).await.status(), StatusCode::UNAUTHORIZED);

    let res = site.live("acme", Some(&owner)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    site.hub_task.abort();
}

#[sqlx::test(migrations = "./migrations")]
async fn the_stream_sends_its_orgs_heads_only(_o: PgPoolOptions, connect: PgConnectOptions) {
    let site = site(connect, Duration::from_secs(60)).await;
    let owner = site.sign_in("owner@acme.test").await;
    let other_owner = site.sign_in("owner@other.test").await;
    // Signing in is itself recorded: each org's log is not empty.
    let acme_head = store::head_seq(&site.app, ORG).await.unwrap();
    assert!(acme_head >= 1);

    let mut ours = site.live("acme", Some(&owner)).await.into_body();
    let first = next_chunk(&mut ours, PATIENCE).await;
    let Chunk::Text(first) = first else { panic!("no first message: {first:?}") };
    assert!(first.contains("event: head"), "{first}");
    assert!(first.contains(&format!("data: {acme_head}\n")), "the current head on connect: {first}");
    assert!(first.contains("retry: "), "tells the browser how soon to reconnect");
    let mut theirs = site.live("other", Some(&other_owner)).await.into_body();
    let other_head = next_head(&mut theirs).await.unwrap();

    // Many events in the other org: its viewer hears, ours hears nothing
    // but keep-alives.
    insert(&site.app, &events(OTHER_ORG, 25, "ticket.create")).await;
    assert_eq!(next_head(&mut theirs).await, Some(other_head + 25));
    let deadline = tokio::time::Instant::now() + Duration::from_millis(900);
    let mut keep_alives = 0;
    while tokio::time::Instant::now() < deadline {
        match next_chunk(&mut ours, Duration::from_millis(100)).await {
            Chunk::Text(text) => {
                assert!(!text.contains("event:"), "another org's head reached this stream: {text}");
                keep_alives += 1;
            }
            Chunk::End => panic!("the stream ended"),
            Chunk::Nothing => {}
        }
    }
    assert!(keep_alives >= 1, "idle streams carry keep-alive comments");

    insert(&site.app, &events(ORG, 2, "invoice.create")).await;
    assert_eq!(next_head(&mut ours).await, Some(acme_head + 2));
    site.hub_task.abort();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stream_ends_when_its_viewer_signs_out(_o: PgPoolOptions, connect: PgConnectOptions) {
    let site = site(connect, Duration::from_millis(300)).await;
    let owner = site.sign_in("owner@acme.test").await;
    let mut stream = site.live("acme", Some(&owner)).await.into_body();
    assert!(next_head(&mut stream).await.is_some());
    let res = site
        .send(Request::post("/auth/logout").header(header::COOKIE, &owner).body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The sign-out is an event of Acme's log (a head may come first); then
    // the next check of the viewer ends the stream.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "the stream outlived the session");
        if next_chunk(&mut stream, PATIENCE).await == Chunk::End {
            break;
        }
    }
    assert_eq!(site.live("acme", Some(&owner)).await.status(), StatusCode::UNAUTHORIZED);
    site.hub_task.abort();
}
