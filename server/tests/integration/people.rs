//! A person's counts from the per-actor rollups: each equals the timeline's
//! own count of the filter the people page links it to, over whole UTC
//! days, and other actors and orgs never leak in.

use crate::common::*;
use app::api::AuditStore;
use app::model::people::{SESSIONS, SUMMARY};
use app::model::{EventQuery, TimelineFilter};
use chrono::{NaiveDate, NaiveTime, TimeDelta, Utc};
use server::PgAuditStore;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0xD0);
const OTHER: Uuid = Uuid::from_u128(0xD1);

#[sqlx::test(migrations = "./migrations")]
async fn a_persons_counts_equal_the_timelines_counts(_o: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let actions = [
        "invoice.update",
        "invoice.delete",
        "order.create",
        "customer.view",
        "file.download",
        "report.create",
        "invoice.export",
        "session.login",
        "session.logout",
        "user.login_failed",
        "password.update",
        "user.password_reset",
        "ticket.assign",
    ];
    let mut events = Vec::new();
    for day in 0..12_i64 {
        for (i, action) in actions.iter().enumerate() {
            // Around midnight too: the rollups' days are UTC days.
            let at = t0() + TimeDelta::days(day) + TimeDelta::minutes(i as i64 * 67 - 400);
            events.push(event(ORG, at, action, &format!("r{i}")));
            let mut other = event(ORG, at, action, &format!("r{i}"));
            other.actor.id = "usr_9".into();
            other.actor.name = "Zed".into();
            events.push(other);
            events.push(event(OTHER, at, action, &format!("r{i}")));
        }
    }
    insert(&app, &events).await;
    let store = PgAuditStore::new(app);
    let from = (t0() + TimeDelta::days(3)).date_naive();
    let until = (t0() + TimeDelta::days(9)).date_naive();
    let measures: Vec<Vec<String>> = SUMMARY.iter().chain(SESSIONS).map(|m| m.terms()).collect();
    let counts = store.actor_counts(ORG, "usr_1", (from, until), &measures, 3).await.unwrap();

    let span = |actions: Vec<String>, entity_types: Vec<String>| TimelineFilter {
        actors: vec!["usr_1".into()],
        actions,
        entity_types,
        after: Some(from.and_time(NaiveTime::MIN)),
        before: Some(until.and_time(NaiveTime::MIN)),
        tz: Some("UTC".into()),
        ..Default::default()
    };
    let timeline = |f: TimelineFilter| {
        let store = store.clone();
        async move {
            let q = EventQuery::single(f.normalized(), Utc::now()).unwrap();
            store.count_events(ORG, &q, 10_000).await.unwrap().count
        }
    };
    assert_eq!(counts.total, timeline(span(vec![], vec![])).await);
    assert_eq!(counts.total, 6 * actions.len() as u64);
    for (terms, n) in measures.iter().zip(&counts.measures) {
        assert_eq!(*n, timeline(span(terms.clone(), vec![])).await, "{terms:?}");
        assert!(*n > 0, "{terms:?} counts something in this log");
    }
    assert_eq!(counts.modules.len(), 3);
    for (t, n) in &counts.modules {
        assert_eq!(*n, timeline(span(vec![], vec![t.clone()])).await, "{t}");
    }
    assert!(counts.modules.windows(2).all(|w| w[0].1 >= w[1].1), "busiest first");

    // Nobody's counts outside the days asked for, and none for a stranger.
    let old = NaiveDate::from_ymd_opt(2001, 1, 1).unwrap();
    let empty = (old, old + chrono::Days::new(365));
    assert_eq!(store.actor_counts(ORG, "usr_1", empty, &measures, 3).await.unwrap().total, 0);
    assert_eq!(store.actor_counts(ORG, "nobody", (from, until), &measures, 3).await.unwrap().total, 0);
}
