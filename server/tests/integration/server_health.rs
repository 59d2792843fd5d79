//! The server's own health: minutes written by several processes read back
//! as uptime over the measured span, requests, mean and latency buckets.

use chrono::{DurationRound, TimeDelta, Utc};
use server::health::{Minute, write};
use server::store::server_health::read;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::Duration;
use uuid::Uuid;

#[sqlx::test(migrations = "./migrations")]
async fn minutes_of_several_processes_read_as_one_servers_health(
    _o: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    let now = Utc::now().duration_trunc(TimeDelta::minutes(1)).unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let mut busy = Minute::default();
    for ms in [3, 3, 40, 900] {
        busy.add(Duration::from_millis(ms));
    }
    // Process a for the last ten minutes but two; process b overlapping it
    // and covering one of the gaps; an idle minute is still a heartbeat.
    for m in 0..10 {
        if m != 3 && m != 4 {
            write(&owner, a, now - TimeDelta::minutes(m), &busy).await.unwrap();
        }
    }
    write(&owner, b, now - TimeDelta::minutes(3), &Minute::default()).await.unwrap();
    write(&owner, b, now - TimeDelta::minutes(2), &busy).await.unwrap();

    let h = read(&owner, now - TimeDelta::hours(24), now).await.unwrap();
    assert_eq!(h.span_minutes, 10, "from the first measurement, not the whole day");
    assert_eq!(h.up_minutes, 9, "minute 4 had no process");
    assert_eq!(h.requests, 9 * 4);
    assert_eq!(h.median_under_ms(), Some(5));
    let mean = h.mean_ms.unwrap();
    assert!((mean - 236.5).abs() < 1.0, "{mean}");
    assert_eq!(h.buckets.iter().sum::<u64>(), 36);

    // Nothing measured in a span: no uptime claimed, no mean.
    let empty = read(&owner, now + TimeDelta::minutes(5), now + TimeDelta::minutes(5)).await.unwrap();
    assert_eq!((empty.up_minutes, empty.requests, empty.mean_ms), (0, 0, None));

    // The app role reads it; only the server's owner connection writes it.
    let app = crate::common::app_pool(connect).await;
    assert_eq!(read(&app, now - TimeDelta::hours(1), now).await.unwrap().up_minutes, 9);
    let err = write(&app, a, now + TimeDelta::minutes(1), &busy).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");
}
