//! What someone with the database's keys does behind the append-only trigger (change a byte, delete, insert, reorder) is found and named by seq.

use super::*;

#[sqlx::test(migrations = "./migrations")]
async fn a_changed_byte_is_found_at_its_seq(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    let diff =
        serde_json::from_value(serde_json::json!({"diff": {"status": {"old": "open", "new": "done"}}}));
    let mut events: Vec<_> = (1..=10).map(|i| task(ORG, i)).collect();
    events[3] = with_changes(events[3].clone(), diff.unwrap());
    insert(&app, &events[..5]).await;
    insert(&app, &events[5..]).await;
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 10);

    // Each change is undone before the next, and the chain is clean again.
    let cases = [
        ("actor_name = 'Blice Example'", "actor_name = 'Alice Example'"),
        (
            r#"changes = '{"diff": {"status": {"old": "open", "new": "dome"}}}'"#,
            r#"changes = '{"diff": {"status": {"old": "open", "new": "done"}}}'"#,
        ),
        ("ip = '203.0.113.8'", "ip = '203.0.113.7'"),
        ("ip = '203.0.113.7/24'", "ip = '203.0.113.7'"),
        (
            "occurred_at = occurred_at + interval '1 microsecond'",
            "occurred_at = occurred_at - interval '1 microsecond'",
        ),
        (
            "received_at = received_at + interval '1 second'",
            "received_at = received_at - interval '1 second'",
        ),
        ("metadata = '{\"a\": 1}'", "metadata = '{}'"),
        ("external_id = 'x'", "external_id = NULL"),
        (
            "hash = set_byte(hash, 0, get_byte(hash, 0) # 1)",
            "hash = set_byte(hash, 0, get_byte(hash, 0) # 1)",
        ),
        (
            "prev_hash = set_byte(prev_hash, 31, get_byte(prev_hash, 31) # 128)",
            "prev_hash = set_byte(prev_hash, 31, get_byte(prev_hash, 31) # 128)",
        ),
    ];
    for (change, undo) in cases {
        tamper(&owner, &[at_seq(4, change)]).await;
        let report = verify_org(&app, ORG).await.unwrap();
        assert_fault(&report, 4, FaultKind::Modified);
        assert_eq!(report.verified_through, 3, "{change}");
        tamper(&owner, &[at_seq(4, undo)]).await;
        assert_ok(&verify_org(&app, ORG).await.unwrap(), 10);
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_deleted_event_is_found_at_its_seq(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    chain_of(&app, ORG, 10).await;
    tamper(&owner, &[format!("DELETE FROM audit_events WHERE org_id = '{ORG}' AND seq = 5")]).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 5, FaultKind::Deleted);
    assert_eq!(report.fault.unwrap().reason, "seq 5 is missing");

    // The last one: nothing follows it, but the head still names it.
    tamper(&owner, &[format!("DELETE FROM audit_events WHERE org_id = '{ORG}' AND seq >= 9")]).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 5, FaultKind::Deleted);
    tamper(&owner, &[format!("DELETE FROM audit_events WHERE org_id = '{ORG}' AND seq >= 5")]).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 5, FaultKind::Deleted);
    assert!(report.fault.unwrap().reason.contains("seq 5 to 10 are missing"));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_deletion_closed_up_by_renumbering_is_found(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    chain_of(&app, ORG, 10).await;
    let mut statements = vec![format!("DELETE FROM audit_events WHERE org_id = '{ORG}' AND seq = 5")];
    statements.extend((6..=10).map(|s| at_seq(s, &format!("seq = {}", s - 1))));
    statements.push(format!(
        "UPDATE chain_heads SET seq = 9, hash = (SELECT hash FROM audit_events WHERE org_id = '{ORG}' AND seq = 9) \
          WHERE org_id = '{ORG}'"
    ));
    tamper(&owner, &statements).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 5, FaultKind::Deleted);
    assert!(report.fault.unwrap().reason.contains("written as seq 6"));
}

#[sqlx::test(migrations = "./migrations")]
async fn an_inserted_event_is_found_at_its_seq(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    chain_of(&app, ORG, 10).await;
    // A copy of the event at `from`, by Mallory, placed at `seq` after
    // `prev` (a column of the copied row).
    let copy_of = |from: i64, seq: i64, prev: &str| {
        format!(
            "INSERT INTO audit_events (org_id, id, occurred_at, received_at, actor_kind, actor_id, actor_name, \
                 action, entity_type, entity_id, metadata, seq, prev_hash, hash, category, priority) \
             SELECT org_id, gen_random_uuid(), occurred_at, received_at, actor_kind, actor_id, 'Mallory', \
                    action, entity_type, entity_id, metadata, {seq}, {prev}, hash, category, priority \
               FROM audit_events WHERE org_id = '{ORG}' AND seq = {from}"
        )
    };

    // Appended after the last event, linked to it, with a hash computed by
    // the public rules; only the head, which the forger left, gives it away.
    tamper(&owner, &[copy_of(10, 11, "hash")]).await;
    let rows: Vec<StoredEvent> = sqlx::query_as(&format!(
        "SELECT {} FROM audit_events WHERE org_id = $1 AND seq = 11",
        StoredEvent::COLUMNS
    ))
    .bind(ORG)
    .fetch_all(&owner)
    .await
    .unwrap();
    let prev: [u8; 32] = rows[0].prev_hash.clone().unwrap().try_into().unwrap();
    let forged = rows[0].canonical(11).hash(&prev, &mut Vec::new()).unwrap();
    tamper(&owner, &[at_seq(11, &format!("hash = '\\x{}'", hex(&forged)))]).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 11, FaultKind::Inserted);
    assert!(report.fault.unwrap().reason.contains("past the chain head"));
    tamper(&owner, &[format!("DELETE FROM audit_events WHERE org_id = '{ORG}' AND seq = 11")]).await;
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 10);

    // Into the middle, with the unique index out of the way: a second seq 3.
    tamper(&owner, &["DROP INDEX audit_events_chain".to_string(), copy_of(3, 3, "prev_hash")]).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 3, FaultKind::Inserted);
    assert!(report.fault.as_ref().unwrap().reason.contains("claims seq 3"), "{report}");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_event_inserted_and_chained_in_the_middle_is_found(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    chain_of(&app, ORG, 10).await;
    // The careful forger: make room at seq 4, put a copy of seq 3 there
    // linked and hashed by the public rules, move the head.
    let mut statements: Vec<String> =
        (4..=10).rev().map(|s| at_seq(s, &format!("seq = {}", s + 1))).collect();
    statements.push(format!(
        "INSERT INTO audit_events (org_id, id, occurred_at, received_at, actor_kind, actor_id, actor_name, \
             action, entity_type, entity_id, metadata, seq, prev_hash, hash, category, priority) \
         SELECT org_id, gen_random_uuid(), occurred_at, received_at, actor_kind, actor_id, 'Mallory', \
                action, entity_type, entity_id, metadata, 4, hash, hash, category, priority \
           FROM audit_events WHERE org_id = '{ORG}' AND seq = 3"
    ));
    tamper(&owner, &statements).await;
    let forged = recompute_from(&owner, ORG, 4).await;
    // Only seq 4 is rehashed: the shifted events keep their hashes, and the
    // head its hash, now that of seq 11.
    tamper(&owner, &[forged[0].clone(), format!("UPDATE chain_heads SET seq = 11 WHERE org_id = '{ORG}'")])
        .await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 4, FaultKind::Inserted);
    assert!(report.fault.unwrap().reason.contains("written as seq 4"));
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unchained_row_is_found(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    chain_of(&app, ORG, 3).await;
    tamper(
        &owner,
        &[
            "ALTER TABLE audit_events DROP CONSTRAINT audit_events_chained".to_string(),
            format!(
                "INSERT INTO audit_events (org_id, id, occurred_at, actor_kind, actor_id, actor_name, action, \
                     entity_type, entity_id, category, priority) \
                 VALUES ('{ORG}', gen_random_uuid(), now(), 'user', 'u', 'Mallory', 'task.update', 'task', 't', \
                         'record', 'low')"
            ),
        ],
    )
    .await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 4, FaultKind::Inserted);
    assert!(report.fault.unwrap().reason.contains("has no seq"));
}

#[sqlx::test(migrations = "./migrations")]
async fn reordered_events_are_found(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let app = app_pool(connect.clone()).await;
    let owner = PgPool::connect_with(connect).await.unwrap();
    chain_of(&app, ORG, 10).await;
    // Through a spare seq: the unique index checks every row as it changes.
    let swap = |a: i64, b: i64| {
        vec![at_seq(a, "seq = 1000"), at_seq(b, &format!("seq = {a}")), at_seq(1000, &format!("seq = {b}"))]
    };

    tamper(&owner, &swap(5, 6)).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 5, FaultKind::Reordered);
    assert_eq!(report.fault.unwrap().reason, "the events at seq 5 and 6 were swapped");
    tamper(&owner, &swap(5, 6)).await;
    assert_ok(&verify_org(&app, ORG).await.unwrap(), 10);

    tamper(&owner, &swap(3, 8)).await;
    let report = verify_org(&app, ORG).await.unwrap();
    assert_fault(&report, 3, FaultKind::Reordered);
    assert!(report.fault.unwrap().reason.contains("written as seq 8"));
}
