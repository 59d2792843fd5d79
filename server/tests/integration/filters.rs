//! Every investigation filter against a real PostgreSQL: action types,
//! exact actions and patterns (and their exclusion), entity types, actors,
//! record, IP blocks, session, country, date windows in a zone, scopes that
//! only narrow, capped counts, the actor list and record neighbours.

use crate::common::*;
use app::api::AuditStore;
use app::model::filter::parse_date_time;
use app::model::{ActorKind, Cursor, EventQuery, NewAuditEvent, TimelineFilter, Within, query};
use chrono::Utc;
use server::PgAuditStore;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1);
const OTHER_ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a2);

/// A small log with one distinguishing trait per event, named by entity id.
fn fixture() -> Vec<NewAuditEvent> {
    let at = |m: i64| t0() + minutes(m);
    let mut out = Vec::new();
    let mut push = |e: NewAuditEvent, tweak: &dyn Fn(&mut NewAuditEvent)| {
        let mut e = e;
        tweak(&mut e);
        out.push(e);
    };
    push(event(ORG, at(0), "invoice.create", "inv_1"), &|_| {});
    push(event(ORG, at(1), "invoice.update", "inv_1"), &|e| {
        e.context.session_id = Some("sess_a".into());
    });
    push(event(ORG, at(2), "invoice.delete", "inv_1"), &|e| {
        e.context.ip = Some("10.1.2.3".into());
        e.context.country = Some("DE".into());
    });
    push(event(ORG, at(3), "ticket.delete", "tkt_9"), &|e| {
        e.context.ip = Some("10.1.200.4".into());
        e.actor.id = "usr_2".into();
        e.actor.name = "Bob Stone".into();
        e.actor.email = Some("bob@example.com".into());
    });
    push(event(ORG, at(4), "user.login_failed", "usr_2"), &|e| {
        e.actor.id = "usr_2".into();
        e.actor.name = "Bob Stone".into();
        e.context.ip = Some("2001:db8::7".into());
        e.context.country = Some("US".into());
    });
    push(event(ORG, at(5), "member.role_change", "mem_3"), &|_| {});
    push(event(ORG, at(6), "file.view", "file_1"), &|_| {});
    push(event(ORG, at(7), "client.sync", "cl_1"), &|e| {
        e.actor.kind = ActorKind::System;
        e.actor.id = "crm-sync".into();
        e.actor.name = "crm-sync".into();
        e.actor.email = None;
        e.context = Default::default();
    });
    // Another org's event matching everything: it must never show.
    push(event(OTHER_ORG, at(8), "invoice.delete", "inv_1"), &|e| {
        e.context.ip = Some("10.1.2.3".into());
    });
    out
}

async fn setup(connect: PgConnectOptions) -> PgAuditStore {
    let app = app_pool(connect).await;
    insert(&app, &fixture()).await;
    PgAuditStore::new(app)
}

fn q(filter: TimelineFilter) -> EventQuery {
    EventQuery::single(filter.normalized(), Utc::now()).unwrap()
}

/// The actions matched, oldest first, following every page.
async fn matched(store: &PgAuditStore, query: &EventQuery) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_events(ORG, query, after, 2).await.unwrap();
        out.extend(page.events.iter().map(|e| format!("{}:{}", e.action, e.entity.id)));
        match page.next_cursor {
            Some(c) => after = Cursor::decode(&c),
            None => break,
        }
    }
    out.reverse();
    let counted = store.count_events(ORG, query, 1_000).await.unwrap();
    assert_eq!(counted.count as usize, out.len(), "count agrees with the pages");
    assert!(!counted.capped);
    out
}

async fn typed(store: &PgAuditStore, text: &str) -> Vec<String> {
    matched(store, &q(query::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")))).await
}

#[sqlx::test(migrations = "./migrations")]
async fn actions_by_type_exact_pattern_and_exclusion(_o: PgPoolOptions, connect: PgConnectOptions) {
    let store = setup(connect).await;
    assert_eq!(typed(&store, "action:delete").await, ["invoice.delete:inv_1", "ticket.delete:tkt_9"]);
    assert_eq!(typed(&store, "action:invoice.update").await, ["invoice.update:inv_1"]);
    assert_eq!(
        typed(&store, "action:invoice.*").await,
        ["invoice.create:inv_1", "invoice.update:inv_1", "invoice.delete:inv_1"]
    );
    assert_eq!(typed(&store, "action:login_failed").await, ["user.login_failed:usr_2"]);
    assert_eq!(typed(&store, "action:login").await, Vec::<String>::new(), "login is not login_failed");
    assert_eq!(typed(&store, "action:permission_change").await, ["member.role_change:mem_3"]);
    assert_eq!(typed(&store, "action:sync,view").await, ["file.view:file_1", "client.sync:cl_1"]);
    assert_eq!(
        typed(&store, "action:invoice.* -action:*.update -action:invoice.create").await,
        ["invoice.delete:inv_1"]
    );
    assert_eq!(typed(&store, "-action:*.view").await.len(), 7);
}

#[sqlx::test(migrations = "./migrations")]
async fn entity_actor_record_session_country_and_ip(_o: PgPoolOptions, connect: PgConnectOptions) {
    let store = setup(connect).await;
    assert_eq!(typed(&store, "entity:ticket,client").await, ["ticket.delete:tkt_9", "client.sync:cl_1"]);
    let bob = ["ticket.delete:tkt_9", "user.login_failed:usr_2"];
    assert_eq!(typed(&store, "actor:usr_2").await, bob, "by id");
    assert_eq!(typed(&store, "actor:bob").await, bob, "by the start of the name");
    // A value names actors: every event of Bob's, even one without his email.
    assert_eq!(typed(&store, "actor:BOB@EXAMPLE").await, bob, "by email");
    assert_eq!(typed(&store, "actor:crm-sync").await, ["client.sync:cl_1"], "a System actor");
    assert_eq!(typed(&store, "actor:usr_").await, Vec::<String>::new(), "ids match exactly");
    assert_eq!(typed(&store, "record:inv_1").await.len(), 3);
    assert_eq!(typed(&store, "session:sess_a").await, ["invoice.update:inv_1"]);
    assert_eq!(typed(&store, "country:de").await, ["invoice.delete:inv_1"]);
    assert_eq!(typed(&store, "ip:10.1.2.3").await, ["invoice.delete:inv_1"]);
    assert_eq!(typed(&store, "ip:10.1.0.0/16").await, ["invoice.delete:inv_1", "ticket.delete:tkt_9"]);
    assert_eq!(typed(&store, "ip:2001:db8::/32").await, ["user.login_failed:usr_2"]);
    // Everything at once: the question the product must answer.
    assert_eq!(
        typed(&store, "action:delete entity:ticket,invoice ip:10.1.0.0/16 -action:invoice.*").await,
        ["ticket.delete:tkt_9"]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn free_text_words_and_phrases(_o: PgPoolOptions, connect: PgConnectOptions) {
    let store = setup(connect).await;
    assert_eq!(typed(&store, "bob delete").await, ["ticket.delete:tkt_9"]);
    assert_eq!(typed(&store, "\"bob stone\" login").await, ["user.login_failed:usr_2"]);
    assert_eq!(typed(&store, "\"stone login\"").await, Vec::<String>::new());
}

#[sqlx::test(migrations = "./migrations")]
async fn dates_are_read_in_the_filters_zone(_o: PgPoolOptions, connect: PgConnectOptions) {
    let store = setup(connect).await;
    // t0 is 09:00 UTC, which is 10:00 in Paris in January.
    let in_paris = |after: &str, before: &str| TimelineFilter {
        after: Some(parse_date_time(after).unwrap()),
        before: Some(parse_date_time(before).unwrap()),
        tz: Some("Europe/Paris".into()),
        ..Default::default()
    };
    let got = matched(&store, &q(in_paris("2026-01-15T10:01", "2026-01-15T10:03"))).await;
    assert_eq!(got, ["invoice.update:inv_1", "invoice.delete:inv_1"], "start inclusive, end exclusive");
    let utc = TimelineFilter { tz: None, ..in_paris("2026-01-15T10:01", "2026-01-15T10:03") };
    assert!(matched(&store, &q(utc)).await.is_empty(), "the same wall-clock times in UTC are an hour later");
    let recent = TimelineFilter { within: Some(Within::Day), ..Default::default() };
    assert!(matched(&store, &q(recent)).await.is_empty(), "the fixture is months old");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_scope_only_narrows(_o: PgPoolOptions, connect: PgConnectOptions) {
    let store = setup(connect).await;
    let scope = TimelineFilter { record: Some("inv_1".into()), ..Default::default() };
    let widen = TimelineFilter { record: Some("tkt_9".into()), ..Default::default() };
    let both = EventQuery::resolve(vec![scope.clone(), widen], Utc::now()).unwrap();
    assert!(matched(&store, &both).await.is_empty(), "a second record cannot widen the scope");
    let narrow = query::parse("action:delete").unwrap();
    let both = EventQuery::resolve(vec![scope, narrow], Utc::now()).unwrap();
    assert_eq!(matched(&store, &both).await, ["invoice.delete:inv_1"]);
}

#[sqlx::test(migrations = "./migrations")]
async fn counts_stop_at_the_cap(_o: PgPoolOptions, connect: PgConnectOptions) {
    let store = setup(connect).await;
    let all = EventQuery::default();
    let c = store.count_events(ORG, &all, 5).await.unwrap();
    assert_eq!((c.count, c.capped), (5, true));
    let c = store.count_events(ORG, &all, 8).await.unwrap();
    assert_eq!((c.count, c.capped), (8, false), "exactly the cap is not more than it");
    let c = store.count_events(OTHER_ORG, &all, 100).await.unwrap();
    assert_eq!(c.count, 1, "counts stay inside their org");
}

#[sqlx::test(migrations = "./migrations")]
async fn actors_are_listed_once_with_their_latest_name(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let mut events = fixture();
    let mut renamed = event(ORG, t0() + minutes(30), "ticket.update", "tkt_9");
    renamed.actor.id = "usr_2".into();
    renamed.actor.name = "Bobby Stone".into();
    events.push(renamed);
    insert(&app, &events).await;
    let store = PgAuditStore::new(app);
    let all = store.actors(ORG, "", 50).await.unwrap();
    let listed: Vec<(&str, &str)> = all.iter().map(|a| (a.id.as_str(), a.name.as_str())).collect();
    assert_eq!(listed, [("usr_1", "Alice Example"), ("usr_2", "Bobby Stone"), ("crm-sync", "crm-sync")]);
    assert_eq!(all[2].kind, ActorKind::System);
    let found = store.actors(ORG, "STONE", 50).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(store.actors(ORG, "alice@", 50).await.unwrap()[0].id, "usr_1", "by email");
    assert_eq!(store.actors(ORG, "", 1).await.unwrap().len(), 1, "limited");
    assert!(store.actors(OTHER_ORG, "stone", 50).await.unwrap().is_empty());
}

#[sqlx::test(migrations = "./migrations")]
async fn neighbours_are_the_same_records_adjacent_changes(_o: PgPoolOptions, connect: PgConnectOptions) {
    let store = setup(connect).await;
    let page = store.list_events(ORG, &q(query::parse("record:inv_1").unwrap()), None, 50).await.unwrap();
    let [delete, update, create] = &page.events[..] else { panic!("three inv_1 events") };
    let n = store.record_neighbors(ORG, update.id, &EventQuery::default()).await.unwrap();
    assert_eq!(n.previous.as_ref().map(|e| e.id), Some(create.id));
    assert_eq!(n.next.as_ref().map(|e| e.id), Some(delete.id));
    let n = store.record_neighbors(ORG, create.id, &EventQuery::default()).await.unwrap();
    assert_eq!((n.previous.is_none(), n.next.map(|e| e.id)), (true, Some(update.id)));
    // Within a scope that hides the update, the create's next change is the delete.
    let scope = q(query::parse("-action:*.update").unwrap());
    let n = store.record_neighbors(ORG, create.id, &scope).await.unwrap();
    assert_eq!(n.next.map(|e| e.id), Some(delete.id));
    // Outside the scope, or in another org, there is nothing to see.
    assert_eq!(store.record_neighbors(ORG, update.id, &scope).await.unwrap(), Default::default());
    assert_eq!(
        store.record_neighbors(OTHER_ORG, update.id, &EventQuery::default()).await.unwrap(),
        Default::default()
    );
}

/// Related events share the request or the session and lie within a few
/// seconds; a scope still hides what it hides.
#[sqlx::test(migrations = "./migrations")]
async fn related_events_share_a_request_or_session_nearby(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let at = |s: i64| t0() + chrono::Duration::seconds(s);
    let with = |s: i64, action: &str, request: Option<&str>, session: Option<&str>| {
        let mut e = event(ORG, at(s), action, &format!("r{s}"));
        e.context.request_id = request.map(str::to_string);
        e.context.session_id = session.map(str::to_string);
        e
    };
    insert(
        &app,
        &[
            with(0, "approval.create", Some("req_1"), Some("s_1")),
            with(3, "notification.send", Some("req_1"), None),
            with(5, "invoice.update", None, Some("s_1")),
            with(7, "invoice.view", Some("req_2"), Some("s_2")),
            with(30, "invoice.delete", Some("req_1"), Some("s_1")),
            with(-4, "session.login", None, Some("s_1")),
        ],
    )
    .await;
    let store = PgAuditStore::new(app);
    let all = store.list_events(ORG, &q(TimelineFilter::default()), None, 50).await.unwrap().events;
    let origin = all.iter().find(|e| e.action == "approval.create").unwrap();
    let n = store.record_neighbors(ORG, origin.id, &EventQuery::default()).await.unwrap();
    let related: Vec<&str> = n.related.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(related, ["session.login", "notification.send", "invoice.update"]);
    let scope = q(query::parse("-action:*.send").unwrap());
    let n = store.record_neighbors(ORG, origin.id, &scope).await.unwrap();
    assert_eq!(n.related.len(), 2, "the scope hides the notification");
    // An event whose request and session nothing else shares has none.
    let lone = all.iter().find(|e| e.action == "invoice.view").unwrap();
    let n = store.record_neighbors(ORG, lone.id, &EventQuery::default()).await.unwrap();
    assert!(n.related.is_empty(), "{:?}", n.related);
}

/// A search term under 3 characters cannot use the trigram index, so each
/// page tests a bounded stretch of the log and continues after it: the
/// matches all arrive, page by page, and no request reads the whole log.
#[sqlx::test(migrations = "./migrations")]
async fn short_terms_are_searched_a_bounded_stretch_at_a_time(o: PgPoolOptions, connect: PgConnectOptions) {
    use app::model::SHORT_TERM_SCAN;
    let owner = o.connect_with(connect.clone()).await.unwrap();
    server::store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    // The oldest 20 events carry the term; the newer ones (more than one
    // stretch of them) do not.
    let (rare, plain) = (20, SHORT_TERM_SCAN + 30);
    let events = (0..rare + plain).map(|i| {
        let mut e =
            event(ORG, t0() + chrono::Duration::seconds(i as i64), "invoice.update", &format!("inv_{i}"));
        e.entity.name = Some(if i < rare { format!("ZQ-{i}") } else { format!("INV-{i}") });
        e
    });
    server::store::copy_events(&owner, ORG, events, |_| {}).await.unwrap();
    let store = PgAuditStore::new(app_pool(connect).await);

    let short = q(TimelineFilter { q: "zq".into(), ..Default::default() });
    let first = store.list_events(ORG, &short, None, 50).await.unwrap();
    assert!(first.events.is_empty(), "the newest stretch has no match");
    assert!(first.partial, "and says it stopped at its bound");
    assert!(first.next_cursor.is_some(), "with a cursor to go on from");
    let count = store.count_events(ORG, &short, 10_000).await.unwrap();
    assert_eq!((count.count, count.capped), (0, true), "a count over one stretch says 'at least'");

    let mut found = Vec::new();
    let mut after = first.next_cursor.as_deref().and_then(Cursor::decode);
    let mut pages = 1;
    while let Some(cursor) = after {
        let page = store.list_events(ORG, &short, Some(cursor), 50).await.unwrap();
        found.extend(page.events.iter().map(|e| e.entity.id.clone()));
        after = page.next_cursor.as_deref().and_then(Cursor::decode);
        pages += 1;
        assert!(pages < 10, "paging ends");
    }
    assert_eq!(found.len(), rare, "every match arrives: {found:?}");
    assert_eq!(found.first().map(String::as_str), Some("inv_19"), "newest first");

    // Three characters use the index: no bound, one page.
    let long = q(TimelineFilter { q: "zq-".into(), ..Default::default() });
    let page = store.list_events(ORG, &long, None, 50).await.unwrap();
    assert_eq!((page.events.len(), page.partial, page.next_cursor.is_none()), (rare, false, true));
}

/// Every read runs under a statement timeout, and its cancellation is told
/// apart from other failures (the UI says "too slow; narrow it", not
/// "unavailable").
#[sqlx::test(migrations = "./migrations")]
async fn reads_are_cancelled_at_their_timeout(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let mut tx = server::store::tenant::begin_read(&app, ORG, true, std::time::Duration::from_millis(100))
        .await
        .unwrap();
    let err = sqlx::query("SELECT pg_sleep(2)").execute(&mut *tx).await.unwrap_err();
    assert!(server::store::tenant::is_timeout(&err), "{err}");
    drop(tx);
    // The timeout was LOCAL: the pooled connection does not keep it.
    let mut tx = app.begin().await.unwrap();
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout").fetch_one(&mut *tx).await.unwrap();
    assert_ne!(timeout, "100ms");
}
