//! The append-only store on a real PostgreSQL: refusal of changes, keyset
//! pages, search and filter semantics, and the deleted-entity projection.

use std::collections::HashSet;

use crate::common::*;
use app::api::AuditStore;
use app::model::{Changes, Cursor, EventQuery, TimelineFilter};
use server::PgAuditStore;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
const OTHER_ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);

fn filter(q: &str, entity_type: Option<&str>) -> EventQuery {
    let f = TimelineFilter {
        q: q.into(),
        entity_types: entity_type.into_iter().map(Into::into).collect(),
        ..Default::default()
    };
    EventQuery::single(f.normalized(), chrono::Utc::now()).unwrap()
}

/// Every page of a filtered timeline, following cursors to the end.
async fn all_pages(
    store: &PgAuditStore,
    org: Uuid,
    f: &EventQuery,
    limit: usize,
) -> Vec<app::model::AuditEvent> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_events(org, f, after, limit).await.unwrap();
        assert!(page.events.len() <= limit);
        out.extend(page.events);
        match page.next_cursor {
            Some(c) => after = Some(Cursor::decode(&c).expect("store issues decodable cursors")),
            None => return out,
        }
    }
}

async fn names(store: &PgAuditStore, q: &str, entity_type: Option<&str>) -> HashSet<String> {
    all_pages(store, ORG, &filter(q, entity_type), 50)
        .await
        .into_iter()
        .map(|e| e.entity.name.unwrap_or_default())
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn update_delete_and_truncate_are_refused_for_the_app_role_and_the_owner(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    let app = app_pool(connect).await;
    insert(&app, &[event(ORG, t0(), "invoice.create", "inv_1")]).await;

    for pool in [&app, &owner] {
        for sql in [
            "UPDATE audit_events SET action = 'invoice.delete'",
            "UPDATE audit_events SET action = 'invoice.delete' WHERE false",
            "DELETE FROM audit_events",
            "DELETE FROM audit_events WHERE false",
            "TRUNCATE audit_events",
        ] {
            let err = sqlx::query(sql).execute(pool).await.expect_err(sql);
            let msg = err.to_string();
            assert!(
                msg.contains("append-only") || msg.contains("permission denied"),
                "{sql}: unexpected error {msg}"
            );
        }
    }
    // The app role is refused by privileges before the trigger is reached;
    // the owner, who has the privileges, by the trigger.
    let err = sqlx::query("DELETE FROM audit_events").execute(&owner).await.unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = sqlx::query("DELETE FROM audit_events").execute(&app).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");

    let (count, action): (i64, String) =
        sqlx::query_as("SELECT count(*), min(action) FROM audit_events").fetch_one(&owner).await.unwrap();
    assert_eq!((count, action.as_str()), (1, "invoice.create"));
}

#[sqlx::test(migrations = "./migrations")]
async fn the_app_role_holds_only_select_and_insert_on_events(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect).await;
    let privileges: Vec<String> = sqlx::query_scalar(
        "SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p \
          WHERE has_table_privilege('audit_app', 'audit_events', p) ORDER BY p",
    )
    .fetch_all(&app)
    .await
    .unwrap();
    assert_eq!(privileges, ["INSERT", "SELECT"]);
    let role: String = sqlx::query_scalar("SELECT current_user::text").fetch_one(&app).await.unwrap();
    assert_eq!(role, "audit_app");
}

#[sqlx::test(migrations = "./migrations")]
async fn keyset_pages_have_no_duplicates_or_gaps_while_events_arrive(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect).await;
    let store = PgAuditStore::new(app.clone());
    // 130 events; 60 of them share one timestamp, so page boundaries fall
    // inside a tie and only the id can order them.
    let mut events = Vec::new();
    for i in 0..70 {
        events.push(event(ORG, t0() + minutes(i), "task.update", &format!("task_{i}")));
    }
    for i in 0..60 {
        events.push(event(ORG, t0() - minutes(5), "task.update", &format!("tie_{i}")));
    }
    insert(&app, &events).await;
    let expected: HashSet<Uuid> = events.iter().map(|e| e.id).collect();

    let f = EventQuery::default();
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store.list_events(ORG, &f, after, 50).await.unwrap();
        pages += 1;
        seen.extend(page.events.iter().map(|e| (e.occurred_at, e.id)));
        // New events keep arriving between page loads: newer than everything
        // read so far, as live traffic is.
        insert(&app, &[event(ORG, t0() + minutes(1000 + pages), "task.create", "late")]).await;
        match page.next_cursor {
            Some(c) => after = Cursor::decode(&c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let ids: Vec<Uuid> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), 130, "no duplicates and no extras");
    assert_eq!(ids.iter().copied().collect::<HashSet<_>>(), expected, "no gaps");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "strictly newest first by (occurred_at, id)");
}

#[sqlx::test(migrations = "./migrations")]
async fn search_is_case_insensitive_across_action_actor_and_entity_names(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect).await;
    let store = PgAuditStore::new(app.clone());
    let mut by_bob = event(ORG, t0(), "project.update", "p1");
    by_bob.actor.name = "Bob Stone".into();
    by_bob.entity.name = Some("Website redesign".into());
    let mut by_jose = event(ORG, t0() + minutes(1), "invoice.send", "inv_42");
    by_jose.actor.name = "José Álvarez".into();
    by_jose.entity.name = Some("INV-0042".into());
    let mut literal = event(ORG, t0() + minutes(2), "quote.update", "q1");
    literal.entity.name = Some("50%_off deal".into());
    let mut hidden = event(ORG, t0() + minutes(3), "client.update", "c1");
    hidden.entity.name = Some("Acme".into());
    hidden.actor.email = Some("stone@example.com".into());
    let mut other_org = by_bob.clone();
    other_org.id = Uuid::now_v7();
    other_org.org_id = OTHER_ORG;
    insert(&app, &[by_bob, by_jose, literal, hidden, other_org]).await;

    assert_eq!(names(&store, "STONE", None).await, HashSet::from(["Website redesign".into()]), "actor name");
    assert_eq!(
        names(&store, "redesign", None).await,
        HashSet::from(["Website redesign".into()]),
        "entity name"
    );
    assert_eq!(names(&store, "Invoice.SEND", None).await, HashSet::from(["INV-0042".into()]), "action");
    assert_eq!(names(&store, "josé álv", None).await, HashSet::from(["INV-0042".into()]), "non-ASCII folds");
    assert_eq!(names(&store, "inv-0042", None).await, HashSet::from(["INV-0042".into()]));
    assert_eq!(
        names(&store, "%_", None).await,
        HashSet::from(["50%_off deal".into()]),
        "wildcards are literal"
    );
    assert!(names(&store, "example.com", None).await.is_empty(), "emails are not searched");
    assert!(
        names(&store, "\"update\nbob\"", None).await.is_empty(),
        "a phrase does not match across field boundaries"
    );
    assert_eq!(
        names(&store, "update bob", None).await,
        HashSet::from(["Website redesign".into()]),
        "separate words may match separate fields"
    );
    assert_eq!(names(&store, "", None).await.len(), 4, "only this org's events");
}

#[sqlx::test(migrations = "./migrations")]
async fn entity_type_filter_combines_with_search(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let store = PgAuditStore::new(app.clone());
    insert(
        &app,
        &[
            event(ORG, t0(), "invoice.create", "inv_1"),
            event(ORG, t0() + minutes(1), "invoice.update", "inv_2"),
            event(ORG, t0() + minutes(2), "task.update", "task_1"),
            event(ORG, t0() + minutes(3), "api_key.revoke", "key_1"),
            event(OTHER_ORG, t0(), "domain.verify", "dom_1"),
        ],
    )
    .await;
    assert_eq!(names(&store, "", Some("invoice")).await, HashSet::from(["INV_1".into(), "INV_2".into()]));
    assert_eq!(names(&store, "update", Some("invoice")).await, HashSet::from(["INV_2".into()]));
    assert!(names(&store, "", Some("domain")).await.is_empty(), "other org's categories are not visible");
    assert_eq!(store.entity_types(ORG).await.unwrap(), ["api_key", "invoice", "task"]);
    assert_eq!(store.entity_types(OTHER_ORG).await.unwrap(), ["domain"]);
}

#[sqlx::test(migrations = "./migrations")]
async fn deleted_entities_are_projected_and_converge_out_of_order(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect).await;
    let store = PgAuditStore::new(app.clone());
    let snapshot =
        || Changes::Snapshot(serde_json::from_value(serde_json::json!({"number": "INV-7"})).unwrap());
    insert(
        &app,
        &[
            event(ORG, t0(), "invoice.create", "inv_7"),
            event(ORG, t0() + minutes(1), "invoice.update", "inv_7"),
            event(ORG, t0(), "invoice.create", "inv_8"),
        ],
    )
    .await;
    let deleted = |events: &[app::model::AuditEvent], id: &str| {
        events.iter().filter(|e| e.entity.id == id).map(|e| e.entity.deleted).collect::<Vec<_>>()
    };
    let page = all_pages(&store, ORG, &EventQuery::default(), 50).await;
    assert_eq!(deleted(&page, "inv_7"), [false, false]);

    insert(&app, &[with_changes(event(ORG, t0() + minutes(2), "invoice.delete", "inv_7"), snapshot())]).await;
    let page = all_pages(&store, ORG, &EventQuery::default(), 50).await;
    assert_eq!(
        deleted(&page, "inv_7"),
        [true, true, true],
        "every entry of a deleted record is struck through"
    );
    assert_eq!(deleted(&page, "inv_8"), [false], "other records are untouched");
    let delete = page.iter().find(|e| e.action == "invoice.delete").unwrap();
    assert_eq!(delete.changes, Some(snapshot()), "the snapshot is kept with the delete");

    // Restored later, then a delete that happened earlier arrives late: the
    // latest lifecycle event wins whatever the arrival order.
    insert(&app, &[event(ORG, t0() + minutes(10), "invoice.restore", "inv_7")]).await;
    insert(&app, &[event(ORG, t0() + minutes(5), "invoice.delete", "inv_7")]).await;
    let page = all_pages(&store, ORG, &EventQuery::default(), 50).await;
    assert!(deleted(&page, "inv_7").iter().all(|d| !d), "restored");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_batch_is_all_or_nothing(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    let good = event(ORG, t0(), "invoice.create", "inv_1");
    let bad = event(ORG, t0(), "not an action", "inv_2");
    assert!(server::store::insert_events(&app, &[good, bad]).await.is_err());
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&owner).await.unwrap();
    assert_eq!(count, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn copy_loads_events_and_keeps_the_projection(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    let store = PgAuditStore::new(app.clone());
    let mut tricky = event(ORG, t0(), "file.update", "f1");
    tricky.entity.name = Some("tab\there, newline\nthere, back\\slash".into());
    tricky = with_changes(
        tricky,
        serde_json::from_value(
            serde_json::json!({"diff": {"notes": {"old": "a\tb", "new": "line1\nline2 \"q\""}}}),
        )
        .unwrap(),
    );
    let events = vec![
        tricky.clone(),
        event(ORG, t0() + minutes(1), "task.create", "t1"),
        event(ORG, t0() + minutes(2), "task.delete", "t1"),
    ];
    let mut reported = Vec::new();
    // COPY is refused under row-level security: bulk loads run as the owner.
    let written =
        server::store::copy_events(&owner, ORG, events.into_iter(), |n| reported.push(n)).await.unwrap();
    assert_eq!((written, reported), (3, vec![3]));
    let page = all_pages(&store, ORG, &EventQuery::default(), 50).await;
    assert_eq!(page.len(), 3);
    let back = page.iter().find(|e| e.entity.id == "f1").unwrap();
    assert_eq!(back.entity.name, tricky.entity.name, "COPY escaping round-trips");
    assert_eq!(back.changes, tricky.changes);
    assert!(page.iter().filter(|e| e.entity.id == "t1").all(|e| e.entity.deleted));
}

#[sqlx::test(migrations = "./migrations")]
async fn secrets_are_redacted_before_they_are_stored(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    let diff = serde_json::from_value(
        serde_json::json!({"diff": {"password": {"old": "hunter2", "new": "s3cret!"}}}),
    )
    .unwrap();
    let mut by_insert = with_changes(event(ORG, t0(), "member.update", "m1"), diff);
    by_insert.metadata = serde_json::json!({"api_key": "sk_live_abc"});
    let mut by_copy = by_insert.clone();
    by_copy.id = Uuid::now_v7();
    insert(&app, &[by_insert]).await;
    server::store::copy_events(&owner, ORG, std::iter::once(by_copy), |_| {}).await.unwrap();
    // Read the raw rows as the owner: nothing of the secrets is stored.
    let raw: Vec<String> = sqlx::query_scalar("SELECT changes::text || metadata::text FROM audit_events")
        .fetch_all(&owner)
        .await
        .unwrap();
    assert_eq!(raw.len(), 2);
    for row in raw {
        assert!(!row.contains("hunter2") && !row.contains("s3cret") && !row.contains("sk_live"), "{row}");
        assert!(row.contains("[REDACTED]"));
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn an_external_id_is_stored_once_per_org(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let mut first = event(ORG, t0(), "invoice.create", "inv_1");
    first.external_id = Some("evt-1".into());
    let mut again = first.clone();
    again.id = Uuid::now_v7();
    let mut elsewhere = again.clone();
    elsewhere.id = Uuid::now_v7();
    elsewhere.org_id = OTHER_ORG;
    insert(&app, &[first]).await;
    let err = server::store::insert_events(&app, &[again]).await.unwrap_err();
    assert!(err.to_string().contains("audit_events_external_id"), "{err}");
    insert(&app, &[elsewhere]).await;
}

#[sqlx::test(migrations = "./migrations")]
async fn row_level_security_keeps_tenants_apart_even_without_an_org_filter(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect).await;
    insert(&app, &[event(ORG, t0(), "invoice.create", "inv_1"), event(ORG, t0(), "task.create", "t_1")])
        .await;
    insert(&app, &[event(OTHER_ORG, t0(), "domain.verify", "dom_1")]).await;

    // A query with no org filter at all, scoped to one org, sees that org only.
    for (org, expected) in [(ORG, 2), (OTHER_ORG, 1)] {
        let mut tx = server::store::tenant::begin_for_org(&app, org).await.unwrap();
        let orgs: Vec<Uuid> =
            sqlx::query_scalar("SELECT org_id FROM audit_events").fetch_all(&mut *tx).await.unwrap();
        assert_eq!(orgs.len(), expected);
        assert!(orgs.iter().all(|o| *o == org));
        // Writing another org's rows is refused too.
        let forged = sqlx::query(
            "INSERT INTO entity_state (org_id, entity_type, entity_id, deleted, as_of, event_id) \
             VALUES ($1, 'invoice', 'x', true, now(), $2)",
        )
        .bind(if org == ORG { OTHER_ORG } else { ORG })
        .bind(Uuid::now_v7())
        .execute(&mut *tx)
        .await;
        assert!(forged.unwrap_err().to_string().contains("row-level security"));
    }
    // With no org named, nothing is visible.
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events").fetch_one(&app).await.unwrap();
    assert_eq!(none, 0);
}

/// New events wait in the search index's pending list until it is merged;
/// the background merge empties it (so no write has to), and searches find
/// the events before and after.
#[sqlx::test(migrations = "./migrations")]
async fn the_search_index_pending_list_is_merged_off_the_write_path(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    let app = app_pool(connect).await;
    let events: Vec<_> =
        (0..200).map(|i| event(ORG, t0() + minutes(i), "invoice.update", &format!("inv_{i}"))).collect();
    insert(&app, &events).await;
    let store = PgAuditStore::new(app.clone());
    let before = names(&store, "inv_17", None).await;

    let merged = server::store::search_index::merge_pending(&owner).await.unwrap();
    assert!(merged > 0, "the inserts left pages in the pending list");
    assert_eq!(server::store::search_index::merge_pending(&owner).await.unwrap(), 0, "and now it is empty");
    assert_eq!(names(&store, "inv_17", None).await, before, "the same events are found once merged");
    assert!(!before.is_empty());
}
