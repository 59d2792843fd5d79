//! Signed checkpoints: taken when due, checked, and what they catch that the chain alone cannot; the app role's limits; benchmarks.

use super::*;

#[sqlx::test(migrations = "./migrations")]
async fn checkpoints_are_signed_when_due_and_checked(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    let signer = ChainSigner::from_seed([9; 32]);
    signer.register(&owner).await.unwrap();
    // The checkpointer looks at the orgs there are.
    server::store::ensure_org(&owner, ORG, "org", "Org").await.unwrap();
    server::store::ensure_org(&owner, OTHER_ORG, "other", "Other").await.unwrap();
    chain_of(&app, ORG, 25).await;
    chain_of(&app, OTHER_ORG, 3).await;

    // ORG is 25 past nothing: due by count; OTHER_ORG is not, yet.
    let written = checkpoint_due(&owner, &signer, 10, HOUR).await.unwrap();
    assert_eq!(written.iter().map(|c| (c.org_id, c.seq)).collect::<Vec<_>>(), [(ORG, 25)]);
    assert!(written[0].is_signed_by(&signer.verifying_key()));
    assert!(checkpoint_due(&owner, &signer, 10, HOUR).await.unwrap().is_empty(), "nothing new");
    chain_of(&app, ORG, 5).await;
    assert!(checkpoint_due(&owner, &signer, 10, HOUR).await.unwrap().is_empty(), "5 < 10 and recent");
    // Unsigned events older than the age limit: both orgs are due.
    let written = checkpoint_due(&owner, &signer, 10, Duration::ZERO).await.unwrap();
    let mut signed: Vec<_> = written.iter().map(|c| (c.org_id, c.seq)).collect();
    signed.sort();
    assert_eq!(signed, [(ORG, 30), (OTHER_ORG, 3)]);
    let key: (String, Vec<u8>) =
        sqlx::query_as("SELECT key_id, public_key FROM signing_keys").fetch_one(&app).await.unwrap();
    assert_eq!(key, (signer.key_id().to_string(), signer.verifying_key().as_bytes().to_vec()));

    let report = verify_org(&app, ORG).await.unwrap();
    assert_ok(&report, 30);
    assert_eq!(report.to_string(), "verified through seq 30 (2 checkpoints)");
    assert_ok(&verify_org_trusting(&app, ORG, &[signer.verifying_key()]).await.unwrap(), 30);

    // A key the caller does not trust, even though it is registered.
    let stranger = ChainSigner::from_seed([10; 32]).verifying_key();
    let report = verify_org_trusting(&app, ORG, &[stranger]).await.unwrap();
    assert_fault(&report, 25, FaultKind::Checkpoint);
    assert!(report.fault.unwrap().reason.contains("not trusted"));

    // One flipped bit of a signature.
    let flip = format!(
        "UPDATE chain_checkpoints SET signature = set_byte(signature, 10, get_byte(signature, 10) # 1) \
          WHERE org_id = '{ORG}' AND seq = 25"
    );
    tamper(&owner, std::slice::from_ref(&flip)).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 25, FaultKind::Checkpoint);
    assert!(report.fault.as_ref().unwrap().reason.contains("signature"), "{report}");
    tamper(&owner, &[flip]).await;
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 30);

    // A checkpoint moved to another seq no longer verifies either.
    tamper(&owner, &[format!("UPDATE chain_checkpoints SET seq = 24 WHERE org_id = '{ORG}' AND seq = 25")])
        .await;
    assert_fault(&verify_org(&app, ORG).await.unwrap(), 24, FaultKind::Checkpoint);

    // The app role can add checkpoints, never change or remove them.
    for sql in [
        "UPDATE chain_checkpoints SET seq = seq",
        "DELETE FROM chain_checkpoints",
        "DELETE FROM signing_keys",
    ] {
        let err = sqlx::query(sql).execute(&app).await.unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_recomputed_chain_is_caught_by_its_checkpoint(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    let signer = ChainSigner::from_seed([9; 32]);
    signer.register(&owner).await.unwrap();
    // The checkpointer looks at the orgs there are.
    server::store::ensure_org(&owner, ORG, "org", "Org").await.unwrap();
    server::store::ensure_org(&owner, OTHER_ORG, "other", "Other").await.unwrap();
    chain_of(&app, ORG, 8).await;
    checkpoint_due(&owner, &signer, 1, HOUR).await.unwrap();
    chain_of(&app, ORG, 12).await;
    checkpoint_due(&owner, &signer, 1, HOUR).await.unwrap();
    chain_of(&app, ORG, 10).await;
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 30);

    // Change seq 12 and recompute every hash after it: the chain alone is
    // consistent again, but the checkpoint at 20 was signed before.
    let mut statements = vec![at_seq(12, "actor_name = 'Blice Example'")];
    tamper(&owner, &statements).await;
    statements = recompute_from(&owner, ORG, 12).await;
    tamper(&owner, &statements).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 20, FaultKind::Checkpoint);
    assert!(report.fault.as_ref().unwrap().reason.contains("between seq 9 and 20"), "{report}");
    assert_eq!((report.verified_through, report.checkpoints), (8, 1), "{report}");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_cut_off_tail_is_caught_by_its_checkpoint(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    let signer = ChainSigner::from_seed([9; 32]);
    signer.register(&owner).await.unwrap();
    // The checkpointer looks at the orgs there are.
    server::store::ensure_org(&owner, ORG, "org", "Org").await.unwrap();
    server::store::ensure_org(&owner, OTHER_ORG, "other", "Other").await.unwrap();
    chain_of(&app, ORG, 20).await;
    checkpoint_due(&owner, &signer, 1, HOUR).await.unwrap();
    // Remove the last ten and move the head back: the chain itself is clean.
    tamper(
        &owner,
        &[
            format!("DELETE FROM audit_events WHERE org_id = '{ORG}' AND seq > 10"),
            format!(
                "UPDATE chain_heads SET seq = 10, \
                     hash = (SELECT hash FROM audit_events WHERE org_id = '{ORG}' AND seq = 10) \
                  WHERE org_id = '{ORG}'"
            ),
        ],
    )
    .await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 11, FaultKind::Deleted);
    assert!(report.fault.unwrap().reason.contains("signed at seq 20"));
}

#[sqlx::test(migrations = "./migrations")]
async fn the_app_role_may_move_heads_but_not_rewrite_events(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let privileges: Vec<(String, String)> = sqlx::query_as(
        "SELECT t, string_agg(p, ',' ORDER BY p) FROM \
           unnest(ARRAY['audit_events','chain_heads','chain_checkpoints','signing_keys','chain_verifications']) t, \
           unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE']) p \
          WHERE has_table_privilege('audit_app', t, p) GROUP BY t ORDER BY t",
    )
    .fetch_all(&app)
    .await
    .unwrap();
    let privileges: HashMap<String, String> = privileges.into_iter().collect();
    assert_eq!(privileges["audit_events"], "INSERT,SELECT");
    assert_eq!(privileges["chain_checkpoints"], "INSERT,SELECT");
    // Keys are registered by the owner; the app role only reads them.
    assert_eq!(privileges["signing_keys"], "SELECT");
    assert_eq!(privileges["chain_heads"], "INSERT,SELECT,UPDATE");
    assert_eq!(privileges["chain_verifications"], "INSERT,SELECT,UPDATE");
}

#[test]
fn a_checkpoint_names_what_it_signs() {
    let signer = ChainSigner::from_seed([1; 32]);
    let at = Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap();
    let c = Checkpoint::sign(&signer, ORG, 7, [0; 32], at);
    assert_eq!(c.message(), chain::checkpoint_message(ORG, 7, &[0; 32], at));
    assert!(c.message().starts_with("audit-checkpoint:v1:01900000-0000-7000-8000-000000000001:7:0000"));
}

// Benchmarks: `cargo test --release -p server --test integration chain::checkpoints::bench -- --ignored --nocapture`.

/// 100 batches of 1,000 realistic demo events through `insert_events`.
#[sqlx::test(migrations = "./migrations")]
#[ignore]
async fn bench_insert_100_batches_of_1000(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect).await;
    let events = demo_events(100_000);
    let started = Instant::now();
    for batch in events.chunks(1000) {
        insert_events(&app, batch).await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!("chained insert: 100 x 1,000 events in {secs:.2}s ({:.0} events/s)", 100_000.0 / secs);
    assert_ok(&verify_org(&app, events[0].org_id).await.unwrap(), 100_000);
}

/// 200,000 demo events through `copy_events`, then a verify of them all.
#[sqlx::test(migrations = "./migrations")]
#[ignore]
async fn bench_copy_200k(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    // COPY is refused under row-level security: bulk loads run as the owner.
    let owner = PgPool::connect_with(connect).await.unwrap();
    let org = demo::demo_org(42, 0);
    let opts = demo::DemoOptions { events: 200_000, ..Default::default() };
    let started = Instant::now();
    let written = copy_events(&owner, org.id, demo::events(&org, &opts), |_| {}).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!("chained COPY: {written} events in {secs:.2}s ({:.0} events/s)", written as f64 / secs);
    let started = Instant::now();
    let report = verify_org(&app, org.id).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!("verify: {report} in {secs:.2}s ({:.0} events/s)", written as f64 / secs);
    assert_ok(&report, 200_000);
}

fn demo_events(n: usize) -> Vec<NewAuditEvent> {
    let org = demo::demo_org(42, 0);
    demo::events(&org, &demo::DemoOptions { events: n, ..Default::default() }).collect()
}

/// A checkpoint records itself as a system event of its org's log, once:
/// the checkpoint that signs only that record is not recorded again.
#[sqlx::test(migrations = "./migrations")]
async fn a_checkpoint_records_itself_once(_opts: PgPoolOptions, connect: PgConnectOptions) {
    use server::chain::{CHECKPOINT_ACTION, record_checkpoint};
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    let signer = ChainSigner::from_seed([7; 32]);
    signer.register(&owner).await.unwrap();
    server::store::ensure_org(&owner, ORG, "org", "Org").await.unwrap();
    chain_of(&app, ORG, 4).await;
    let first = checkpoint_due(&owner, &signer, 1, HOUR).await.unwrap();
    assert!(record_checkpoint(&owner, &first[0]).await.unwrap(), "it signed real events");
    let recorded: Vec<(i64, String, String, serde_json::Value)> = sqlx::query_as(
        "SELECT seq, actor_kind, category, metadata FROM audit_events WHERE org_id = $1 AND action = $2",
    )
    .bind(ORG)
    .bind(CHECKPOINT_ACTION)
    .fetch_all(&owner)
    .await
    .unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!((recorded[0].0, recorded[0].1.as_str(), recorded[0].2.as_str()), (5, "system", "system"));
    assert_eq!(recorded[0].3["status"], "success");
    assert_eq!(recorded[0].3["seq"], 4);
    // The record moved the head: the next checkpoint signs it, and stops.
    let second = checkpoint_due(&owner, &signer, 1, HOUR).await.unwrap();
    assert_eq!(second[0].seq, 5);
    assert!(!record_checkpoint(&owner, &second[0]).await.unwrap(), "only its own record: not again");
    assert!(checkpoint_due(&owner, &signer, 1, HOUR).await.unwrap().is_empty());
}
