//! What an export holds: the timeline's events, in its order, in both formats, read back column by column.

use super::*;

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
