//! Categories and priorities stored with each event, the owner's priority
//! rules, the rollups kept beside the log, and the recount.

use std::borrow::Cow;

use app::model::{ActorKind, Category, Priority, category_of, default_priority};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use server::store::{self, rollups};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

use crate::common::{app_pool, event, insert, minutes, t0};

const ORG: Uuid = Uuid::from_u128(0xC0);
const OTHER: Uuid = Uuid::from_u128(0xC1);

/// Actions, actors and metadata of every rule's shape.
fn corpus() -> Vec<(&'static str, ActorKind, serde_json::Value)> {
    let none = json!({});
    vec![
        ("invoice.update", ActorKind::User, none.clone()),
        ("invoice.delete", ActorKind::User, none.clone()),
        ("session.login", ActorKind::User, none.clone()),
        ("session.login_failed", ActorKind::User, none.clone()),
        ("user.locked", ActorKind::System, none.clone()),
        ("user.password_changed", ActorKind::User, none.clone()),
        ("user.mfa_disabled", ActorKind::User, none.clone()),
        ("user.create", ActorKind::User, none.clone()),
        ("member.role_change", ActorKind::User, none.clone()),
        ("role.update", ActorKind::User, none.clone()),
        ("api_key.create", ActorKind::User, json!({"environment": "production"})),
        ("api_key.create", ActorKind::User, json!({"environment": "staging"})),
        ("api_key.revoke", ActorKind::User, none.clone()),
        ("share_grant.share", ActorKind::User, none.clone()),
        ("client.export", ActorKind::User, json!({"rows": 20})),
        ("client.export", ActorKind::User, json!({"rows": 2500})),
        ("client.export", ActorKind::User, json!({"rows": "1000"})),
        ("client.export", ActorKind::User, json!({"rows": -1, "records": 4000})),
        ("settings.export", ActorKind::System, json!({"rows": 10})),
        ("customer.view", ActorKind::User, none.clone()),
        ("report.download", ActorKind::ApiKey, none.clone()),
        ("api.request", ActorKind::ApiKey, none.clone()),
        ("payment.sync", ActorKind::System, none.clone()),
        ("file.create", ActorKind::Integration, none.clone()),
        ("lead.create", ActorKind::ApiKey, none.clone()),
    ]
}

fn events_of(org: Uuid, at: DateTime<Utc>) -> Vec<app::model::NewAuditEvent> {
    corpus()
        .into_iter()
        .enumerate()
        .map(|(i, (action, kind, metadata))| {
            let mut e = event(org, at + minutes(i as i64), action, &format!("r{i}"));
            e.actor.kind = kind;
            e.metadata = metadata;
            e
        })
        .collect()
}

async fn stored(owner: &PgPool, org: Uuid) -> Vec<(String, String, serde_json::Value, String, String)> {
    sqlx::query_as(
        "SELECT action, actor_kind, metadata, category, priority FROM audit_events WHERE org_id = $1 ORDER BY seq",
    )
    .bind(org)
    .fetch_all(owner)
    .await
    .unwrap()
}

fn expected(action: &str, kind: &str, metadata: &serde_json::Value) -> (String, String) {
    let kind = ActorKind::parse(kind).unwrap();
    let c = category_of(action, kind);
    (c.as_str().to_string(), default_priority(action, c, metadata).as_str().to_string())
}

#[sqlx::test(migrations = "./migrations")]
async fn every_event_is_stored_with_its_category_and_priority(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    insert(&app, &events_of(ORG, t0())).await;
    // The bulk loader classifies the same way.
    store::ensure_org(&owner, OTHER, "globex", "Globex").await.unwrap();
    store::copy_events(&owner, OTHER, events_of(OTHER, t0()).into_iter(), |_| {}).await.unwrap();
    for org in [ORG, OTHER] {
        let rows = stored(&owner, org).await;
        assert_eq!(rows.len(), corpus().len());
        for (action, kind, metadata, category, priority) in rows {
            assert_eq!((category, priority), expected(&action, &kind, &metadata), "{action} {metadata}");
        }
    }
}

/// Rows written before migration 0020 get the same category and priority
/// from the migration's SQL as the writer gives new ones in Rust.
#[sqlx::test(migrations = false)]
async fn the_migration_classifies_older_events_as_the_writer_does(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let owner = PgPool::connect_with(connect).await.unwrap();
    let all = &server::db::MIGRATOR;
    let before = sqlx::migrate::Migrator {
        migrations: Cow::Owned(all.migrations.iter().filter(|m| m.version < 20).cloned().collect()),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&owner).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    for (i, (action, kind, metadata)) in corpus().into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO audit_events (org_id, id, occurred_at, actor_kind, actor_id, actor_name, action, \
                 entity_type, entity_id, metadata, seq, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, 'u', 'U', $5, split_part($5, '.', 1), 'r', $6, $7, \
                     decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))",
        )
        .bind(ORG)
        .bind(Uuid::now_v7())
        .bind(t0() + minutes(i as i64))
        .bind(kind.as_str())
        .bind(action)
        .bind(&metadata)
        .bind(i as i64 + 1)
        .execute(&owner)
        .await
        .unwrap();
    }
    all.run(&owner).await.unwrap();
    let rows = stored(&owner, ORG).await;
    assert_eq!(rows.len(), corpus().len());
    for (action, kind, metadata, category, priority) in rows {
        assert_eq!((category, priority), expected(&action, &kind, &metadata), "{action} {metadata}");
    }
    // And the rollups were filled from them.
    let (events,): (i64,) = sqlx::query_as("SELECT sum(events)::bigint FROM event_rollups WHERE org_id = $1")
        .bind(ORG)
        .fetch_one(&owner)
        .await
        .unwrap();
    assert_eq!(events as usize, corpus().len());
}

#[sqlx::test(migrations = "./migrations")]
async fn an_owners_rule_applies_to_later_events_and_is_recorded(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    insert(&app, &[event(ORG, t0(), "invoice.update", "inv_1")]).await;
    let by = server::self_audit::person(Uuid::from_u128(7), "Olive Owner", "olive@example.com");
    let p = store::priority_rules::set_rule(&app, ORG, "invoice.*", Some(Priority::High), &by).await.unwrap();
    assert!(p, "a new rule is a change");
    assert!(
        !store::priority_rules::set_rule(&app, ORG, "invoice.*", Some(Priority::High), &by).await.unwrap()
    );
    insert(&app, &[event(ORG, t0() + minutes(1), "invoice.update", "inv_1")]).await;
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT action, priority FROM audit_events WHERE org_id = $1 ORDER BY seq")
            .bind(ORG)
            .fetch_all(&owner)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            ("invoice.update".to_string(), "low".to_string()),
            ("priority_rule.update".to_string(), "low".to_string()),
            ("invoice.update".to_string(), "high".to_string()),
        ]
    );
    let (changes,): (serde_json::Value,) = sqlx::query_as(
        "SELECT changes FROM audit_events WHERE org_id = $1 AND action = 'priority_rule.update'",
    )
    .bind(ORG)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!(changes, json!({"diff": {"priority": {"old": null, "new": "high"}}}));
    // Removing it is recorded too; a malformed pattern is refused by name.
    assert!(store::priority_rules::set_rule(&app, ORG, "invoice.*", None, &by).await.unwrap());
    let err =
        store::priority_rules::set_rule(&app, ORG, "invoice.**", Some(Priority::Low), &by).await.unwrap_err();
    assert!(err.to_string().starts_with("pattern:"), "{err}");
    assert!(store::priority_rules::list_rules(&app, ORG).await.unwrap().is_empty());
}

async fn count_by_hour(owner: &PgPool, org: Uuid) -> Vec<(DateTime<Utc>, String, String, i64)> {
    sqlx::query_as(
        "SELECT date_trunc('hour', occurred_at, 'UTC'), category, priority, count(*) FROM audit_events \
          WHERE org_id = $1 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .bind(org)
    .fetch_all(owner)
    .await
    .unwrap()
}

async fn rollup_rows(owner: &PgPool, org: Uuid) -> Vec<(DateTime<Utc>, String, String, i64)> {
    sqlx::query_as(
        "SELECT hour, category, priority, events FROM event_rollups WHERE org_id = $1 ORDER BY 1, 2, 3",
    )
    .bind(org)
    .fetch_all(owner)
    .await
    .unwrap()
}

type ActorRow = (String, chrono::NaiveDate, String, String, i64);

async fn actor_rows(owner: &PgPool, org: Uuid) -> Vec<ActorRow> {
    sqlx::query_as(
        "SELECT actor_id, day, action, entity_type, events FROM actor_rollups WHERE org_id = $1 \
          ORDER BY 1, 2, 3, 4",
    )
    .bind(org)
    .fetch_all(owner)
    .await
    .unwrap()
}

async fn count_by_actor(owner: &PgPool, org: Uuid) -> Vec<ActorRow> {
    sqlx::query_as(
        "SELECT actor_id, (occurred_at AT TIME ZONE 'UTC')::date, action, entity_type, count(*) \
           FROM audit_events WHERE org_id = $1 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
    )
    .bind(org)
    .fetch_all(owner)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn rollups_equal_the_events_after_concurrent_writers(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    store::ensure_org(&owner, OTHER, "globex", "Globex").await.unwrap();
    let mut writers = Vec::new();
    for w in 0..8_i64 {
        let app = app.clone();
        writers.push(tokio::spawn(async move {
            for batch in 0..10_i64 {
                let org = if (w + batch) % 3 == 0 { OTHER } else { ORG };
                // Spread over hours, out of order, so many buckets are shared.
                let at = t0() + TimeDelta::minutes(((w * 37 + batch * 101) % 600) - 300);
                let events = events_of(org, at);
                store::insert_events(&app, &events).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    for org in [ORG, OTHER] {
        assert_eq!(rollup_rows(&owner, org).await, count_by_hour(&owner, org).await);
        assert_eq!(actor_rows(&owner, org).await, count_by_actor(&owner, org).await);
        let mut conn = owner.acquire().await.unwrap();
        let (events, _) = rollups::totals(&mut conn, org).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM audit_events WHERE org_id = $1")
            .bind(org)
            .fetch_one(&owner)
            .await
            .unwrap();
        assert_eq!(events as i64, n);
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn spans_are_counted_exactly_even_inside_an_hour(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    // One event every 7 minutes for ten hours.
    let events: Vec<_> = (0..86)
        .map(|i| {
            event(ORG, t0() + minutes(i * 7), if i % 4 == 0 { "session.login" } else { "task.update" }, "t")
        })
        .collect();
    insert(&app, &events).await;
    // Bounds on the hour, at :30 (a zone like India's) and at odd minutes.
    let bounds: Vec<DateTime<Utc>> =
        [0, 30, 90, 151, 240, 330, 599].iter().map(|m| t0() + minutes(*m)).collect();
    let mut conn = owner.acquire().await.unwrap();
    let counted = rollups::counts_between(&mut conn, ORG, &bounds).await.unwrap();
    assert_eq!(counted.len(), bounds.len() - 1);
    for (i, span) in bounds.windows(2).enumerate() {
        for c in [Category::User, Category::Record] {
            let exact = events
                .iter()
                .filter(|e| e.occurred_at >= span[0] && e.occurred_at < span[1])
                .filter(|e| category_of(&e.action, e.actor.kind) == c)
                .count() as u64;
            assert_eq!(counted[i].get(c), exact, "span {i} {c:?}");
        }
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn the_recount_finds_and_repairs_drift(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    insert(&app, &events_of(ORG, t0())).await;
    let clean = rollups::recount_org(&owner, ORG).await.unwrap();
    assert_eq!(
        (clean.events, clean.drifted_rows, clean.drifted_actor_rows, clean.total_drifted),
        (corpus().len() as u64, 0, 0, false)
    );
    // Drift from outside the product: one count changed, one row gone, one
    // row that no event backs, and a wrong total.
    for sql in [
        "UPDATE event_rollups SET events = events + 5 WHERE category = 'record' AND priority = 'medium'",
        "DELETE FROM event_rollups WHERE category = 'view'",
        "INSERT INTO event_rollups VALUES ('00000000-0000-0000-0000-0000000000c0', '2001-01-01', 'view', 'low', 3, 9)",
        "UPDATE event_totals SET events = 1",
        "UPDATE actor_rollups SET events = events * 2",
    ] {
        sqlx::query(sql).execute(&owner).await.unwrap();
    }
    let found = rollups::recount_org(&owner, ORG).await.unwrap();
    assert_eq!((found.drifted_rows, found.total_drifted), (3, true));
    assert!(found.drifted_actor_rows > 0);
    assert_eq!(rollup_rows(&owner, ORG).await, count_by_hour(&owner, ORG).await);
    assert_eq!(actor_rows(&owner, ORG).await, count_by_actor(&owner, ORG).await);
    let again = rollups::recount_org(&owner, ORG).await.unwrap();
    assert_eq!((again.drifted_rows, again.drifted_actor_rows, again.total_drifted), (0, 0, false));
    // The app role may read the rollups but never write them.
    let err = sqlx::query("UPDATE event_rollups SET events = 0").execute(&app).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
}
