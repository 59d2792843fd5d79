//! Tamper evidence on a real PostgreSQL: every insert path chains, the chain
//! survives concurrent writers, and what a superuser does behind the
//! append-only trigger (change a byte, delete, insert, reorder, recompute)
//! is found and named by seq.

mod checkpoints;
mod tampering;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::*;
use app::model::{Changes, NewAuditEvent};
use chrono::{TimeZone, Utc};
use server::chain::{
    self, ChainSigner, Checkpoint, FaultKind, GENESIS, StoredEvent, VerifyReport, checkpoint_due,
    latest_verification, verify_org, verify_org_trusting,
};
use server::store::{copy_events, insert_events};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
const OTHER_ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);
const HOUR: Duration = Duration::from_secs(3600);

fn task(org: Uuid, i: i64) -> NewAuditEvent {
    event(org, t0() + minutes(i), "task.update", &format!("task_{i}"))
}

/// `n` events for `org`, inserted in batches of four.
async fn chain_of(app: &PgPool, org: Uuid, n: i64) {
    let events: Vec<_> = (1..=n).map(|i| task(org, i)).collect();
    for batch in events.chunks(4) {
        insert(app, batch).await;
    }
}

/// (seq, id) of an org's events in seq order.
async fn seqs(pool: &PgPool, org: Uuid) -> Vec<(i64, Uuid)> {
    // Scoped to the org like every read of the app role (row-level security).
    let mut tx = server::store::tenant::begin_for_org(pool, org).await.unwrap();
    let rows = sqlx::query_as("SELECT seq, id FROM audit_events WHERE org_id = $1 ORDER BY seq")
        .bind(org)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    rows
}

/// Runs `statements` as the superuser with the append-only triggers (of
/// events, checkpoints and keys) off, as someone with the database's keys
/// would: `session_replication_role = replica` skips ordinary triggers.
async fn tamper(owner: &PgPool, statements: &[String]) {
    let mut tx = owner.begin().await.unwrap();
    sqlx::query("SET LOCAL session_replication_role = replica").execute(&mut *tx).await.unwrap();
    for sql in statements {
        sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap_or_else(|err| panic!("{sql}: {err}"));
    }
    tx.commit().await.unwrap();
}

fn at_seq(seq: i64, set: &str) -> String {
    format!("UPDATE audit_events SET {set} WHERE org_id = '{ORG}' AND seq = {seq}")
}

#[track_caller]
fn assert_ok(report: &VerifyReport, through: i64) {
    assert!(report.is_ok() && report.verified_through == through, "expected a clean chain: {report}");
}

#[track_caller]
fn assert_fault(report: &VerifyReport, seq: i64, kind: FaultKind) {
    let fault = report.fault.as_ref().unwrap_or_else(|| panic!("expected a fault at seq {seq}: {report}"));
    assert_eq!((fault.seq, fault.kind), (seq, kind), "{report}");
    assert!(report.to_string().starts_with(&format!("chain broken at seq {seq}: ")), "{report}");
    assert!(report.verified_through < seq, "{report}");
}

/// The stored events of `org` from `from` on, hashes recomputed from `from`
/// with the public canonical form: what a forger who knows the format does.
async fn recompute_from(owner: &PgPool, org: Uuid, from: i64) -> Vec<String> {
    let prev: Vec<u8> = if from == 1 {
        GENESIS.to_vec()
    } else {
        sqlx::query_scalar("SELECT hash FROM audit_events WHERE org_id = $1 AND seq = $2")
            .bind(org)
            .bind(from - 1)
            .fetch_one(owner)
            .await
            .unwrap()
    };
    let mut prev: [u8; 32] = prev.try_into().unwrap();
    let rows: Vec<StoredEvent> = sqlx::query_as(&format!(
        "SELECT {} FROM audit_events WHERE org_id = $1 AND seq >= $2 ORDER BY seq",
        StoredEvent::COLUMNS
    ))
    .bind(org)
    .bind(from)
    .fetch_all(owner)
    .await
    .unwrap();
    let mut buf = Vec::new();
    let mut statements = Vec::new();
    for row in rows {
        let seq = row.seq.unwrap();
        let hash = row.canonical(seq).hash(&prev, &mut buf).unwrap();
        statements.push(format!(
            "UPDATE audit_events SET prev_hash = '\\x{}', hash = '\\x{}' WHERE org_id = '{org}' AND seq = {seq}",
            hex(&prev),
            hex(&hash)
        ));
        statements.push(format!(
            "UPDATE chain_heads SET seq = {seq}, hash = '\\x{}' WHERE org_id = '{org}'",
            hex(&hash)
        ));
        prev = hash;
    }
    statements
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn seqs_run_from_one_per_org_across_batches_and_orgs(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    let mut given = Vec::new();
    for batch in 0..3 {
        // Orgs interleaved within a batch; each org's events keep the
        // batch's order.
        let events: Vec<_> =
            (0..6).map(|i| task(if i % 2 == 0 { ORG } else { OTHER_ORG }, batch * 10 + i)).collect();
        assert_eq!(insert_events(&app, &events).await.unwrap(), 6);
        given.extend(events);
    }
    for org in [ORG, OTHER_ORG] {
        let stored = seqs(&app, org).await;
        let expected: Vec<(i64, Uuid)> =
            given.iter().filter(|e| e.org_id == org).enumerate().map(|(i, e)| (i as i64 + 1, e.id)).collect();
        assert_eq!(stored, expected, "seq 1..n in the order given");
        let report = verify_org(&app, org).await.unwrap();
        assert_ok(&report, 9);
        assert_eq!(report.to_string(), "verified through seq 9 (0 checkpoints)");
    }
    let (first_prev, head): (Vec<u8>, i64) = sqlx::query_as(
        "SELECT e.prev_hash, h.seq FROM audit_events e JOIN chain_heads h USING (org_id) \
          WHERE e.org_id = $1 AND e.seq = 1",
    )
    .bind(ORG)
    .fetch_one(&owner)
    .await
    .unwrap();
    assert_eq!((first_prev, head), (GENESIS.to_vec(), 9), "genesis is 32 zero bytes; the head is the end");
}

#[sqlx::test(migrations = "./migrations")]
async fn concurrent_writers_keep_one_contiguous_chain(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let mut writers = Vec::new();
    for w in 0..4i64 {
        let app = app.clone();
        writers.push(tokio::spawn(async move {
            for b in 0..8i64 {
                // Half the writers also write the other org in the same
                // batch, locking both heads (in org id order).
                let events: Vec<_> = (0..25i64)
                    .map(|i| {
                        let org = if w % 2 == 1 && i % 5 == 0 { OTHER_ORG } else { ORG };
                        task(org, w * 1000 + b * 100 + i)
                    })
                    .collect();
                insert_events(&app, &events).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let org_seqs: Vec<i64> = seqs(&app, ORG).await.into_iter().map(|(s, _)| s).collect();
    let other_seqs: Vec<i64> = seqs(&app, OTHER_ORG).await.into_iter().map(|(s, _)| s).collect();
    assert_eq!(org_seqs.len() + other_seqs.len(), 4 * 8 * 25);
    assert_eq!(org_seqs, (1..=org_seqs.len() as i64).collect::<Vec<_>>());
    assert_eq!(other_seqs, (1..=other_seqs.len() as i64).collect::<Vec<_>>());
    assert_ok(&verify_org(&app, ORG).await.unwrap(), org_seqs.len() as i64);
    assert_ok(&verify_org(&app, OTHER_ORG).await.unwrap(), other_seqs.len() as i64);
}

#[sqlx::test(migrations = "./migrations")]
async fn copy_chains_and_continues_the_chain_of_inserts(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    // COPY is refused under row-level security: bulk loads run as the owner.
    let owner = PgPool::connect_with(connect).await.unwrap();
    chain_of(&app, ORG, 3).await;
    let events: Vec<_> = (10..510).map(|i| task(ORG, i)).collect();
    let written = copy_events(&owner, ORG, events.clone().into_iter(), |_| {}).await.unwrap();
    assert_eq!(written, 500);
    chain_of(&app, ORG, 2).await;
    let stored = seqs(&app, ORG).await;
    assert_eq!(stored.len(), 505);
    assert!(stored.iter().enumerate().all(|(i, (s, _))| *s == i as i64 + 1));
    assert_eq!(stored[3].1, events[0].id, "COPY continues after the inserted events, in order");
    assert_eq!(stored[502].1, events[499].id);
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 505);

    // A stream must be of the org it is copied into; nothing of that chunk
    // is kept and the chain is untouched.
    let mixed = vec![task(ORG, 600), task(OTHER_ORG, 601)];
    let err = copy_events(&owner, ORG, mixed.into_iter(), |_| {}).await.unwrap_err();
    assert!(err.to_string().contains(&OTHER_ORG.to_string()), "{err}");
    assert_eq!(seqs(&app, ORG).await.len(), 505);
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 505);
    chain_of(&app, ORG, 1).await;
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 506);
}

#[sqlx::test(migrations = "./migrations")]
async fn awkward_values_hash_the_same_written_and_read_back(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    // COPY is refused under row-level security: bulk loads run as the owner.
    let owner = PgPool::connect_with(connect).await.unwrap();
    let diff: Changes = serde_json::from_value(serde_json::json!({"diff": {
        "big": {"old": 1e16, "new": 1.2345678901234568e22},
        "small": {"old": 1.5e-7, "new": 0.1},
        "whole": {"old": 100.0, "new": -0.0},
        "ints": {"old": u64::MAX, "new": i64::MIN},
        "nulls": {"old": null},
        "added": {"new": "x"},
        "text": {"old": "tab\there \"q\" back\\slash", "new": "line\nbreak \u{1} é 😀 שלום"},
        "nested": {"fields": {"deep": {"fields": {"list": {"new": [1, [2, {"b": 1, "a": [null, true]}]]}}}}}
    }}))
    .unwrap();
    let mut a = with_changes(task(ORG, 1), diff.clone());
    a.context.ip = Some("2001:DB8:0:0:0:0:0:1".into());
    a.actor.name = "Zoë Ünal 李".into();
    a.entity.name = Some(String::new());
    a.occurred_at = t0() + chrono::Duration::nanoseconds(123_456_789);
    a.metadata = serde_json::json!({"z": 1, "a": {"k": [1.0, 2.5e300, "v"]}, "": "empty key"});
    let mut b = task(ORG, 2);
    b.context.ip = Some("::ffff:192.0.2.1".into());
    b.occurred_at =
        Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::nanoseconds(999);
    b.metadata = serde_json::json!(["not", "an", "object"]);
    b.external_id = Some("ext-1".into());
    let mut c = task(ORG, 3);
    c.context = Default::default();
    c.metadata = serde_json::Value::Null;
    // A leap second, as chrono can hold it and PostgreSQL cannot.
    let leap =
        chrono::NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_micro_opt(23, 59, 59, 1_500_000);
    c.occurred_at = leap.unwrap().and_utc();
    c.changes = Some(Changes::Snapshot(serde_json::from_value(serde_json::json!({"k": null})).unwrap()));
    let mut d = a.clone();
    d.id = Uuid::now_v7();
    d.context.ip = Some("::1.2.3.4".into());
    insert(&app, &[a, b, c]).await;
    copy_events(&owner, ORG, std::iter::once(d), |_| {}).await.unwrap();
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 4);

    let rows: Vec<StoredEvent> = sqlx::query_as(&format!(
        "SELECT {} FROM audit_events WHERE org_id = $1 ORDER BY seq",
        StoredEvent::COLUMNS
    ))
    .bind(ORG)
    .fetch_all(&owner)
    .await
    .unwrap();
    let json = rows[0].canonical(1).to_json().unwrap();
    assert!(json.contains(r#""ip":"2001:db8::1""#), "{json}");
    assert!(json.contains(r#""big":{"new":12345678901234568000000,"old":10000000000000000}"#), "{json}");
    assert!(json.contains(r#""small":{"new":0.1,"old":0.00000015}"#), "{json}");
    assert!(json.contains(r#""nulls":{"old":null}"#) && json.contains(r#""added":{"new":"x"}"#), "{json}");
    assert!(json.contains(r#""occurred_at":"2026-01-15T09:00:00.123456Z""#), "truncated to µs: {json}");
    assert!(json.contains(r#""entity_name":"""#), "{json}");
    assert!(json.contains("\\u0001 é 😀 שלום"), "{json}");
    let json = rows[1].canonical(2).to_json().unwrap();
    assert!(json.contains(r#""occurred_at":"1969-12-31T23:59:59.000000Z""#), "{json}");
    assert!(json.contains(r#""ip":"::ffff:192.0.2.1""#), "{json}");
    let json = rows[2].canonical(3).to_json().unwrap();
    assert!(!json.contains(r#""ip""#) && json.contains(r#""metadata":{}"#), "{json}");
    assert!(json.contains(r#""occurred_at":"2017-01-01T00:00:00.500000Z""#), "{json}");
    assert_eq!(rows[3].ip.as_deref(), Some("::1.2.3.4"), "PostgreSQL's spelling...");
    assert!(
        rows[3].canonical(4).to_json().unwrap().contains(r#""ip":"::102:304""#),
        "...and the canonical one"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn an_ip_that_is_no_address_is_refused(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    // COPY is refused under row-level security: bulk loads run as the owner.
    let owner = PgPool::connect_with(connect).await.unwrap();
    let mut e = task(ORG, 1);
    e.context.ip = Some("10.0.0.1/24".into());
    let err = insert_events(&app, &[task(ORG, 0), e.clone()]).await.unwrap_err();
    assert!(err.to_string().contains("not an IP address"), "{err}");
    assert!(copy_events(&owner, ORG, std::iter::once(e), |_| {}).await.is_err());
    assert!(seqs(&app, ORG).await.is_empty());
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_latest_verification_is_recorded_for_the_header(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    assert_eq!(latest_verification(&app, ORG).await.unwrap(), None);
    chain_of(&app, ORG, 5).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_eq!(latest_verification(&app, ORG).await.unwrap(), Some(report));

    tamper(&owner, &[at_seq(2, "actor_name = 'Blice Example'")]).await;
    let broken = verify_org(&app, ORG).await.unwrap();
    let latest = latest_verification(&app, ORG).await.unwrap().unwrap();
    assert_eq!(latest, broken);
    assert_fault(&latest, 2, FaultKind::Modified);
    assert_eq!(latest.verified_through, 1);
    assert_eq!(latest_verification(&app, OTHER_ORG).await.unwrap(), None);
}
