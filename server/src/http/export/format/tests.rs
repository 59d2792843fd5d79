//! The formats against readers of their own: every value read back as written.

use super::*;
use app::model::AuditEvent;

fn cell(v: &str) -> String {
    let mut out = Vec::new();
    write_cell(&mut out, v);
    String::from_utf8(out).unwrap()
}

#[test]
fn plain_cells_are_written_as_they_are() {
    assert_eq!(cell("invoice.update"), "invoice.update");
    assert_eq!(cell(""), "");
    assert_eq!(cell("Zoë Ångström"), "Zoë Ångström");
    assert_eq!(cell("2001:db8::1"), "2001:db8::1");
    assert_eq!(cell("a=b+c-d@e"), "a=b+c-d@e", "only a leading sign is a formula");
}

#[test]
fn rfc_4180_quoting() {
    assert_eq!(cell("Smith, Jane"), "\"Smith, Jane\"");
    assert_eq!(cell(r#"say "hi""#), r#""say ""hi""""#);
    assert_eq!(cell("\""), "\"\"\"\"");
    assert_eq!(cell("two\nlines"), "\"two\nlines\"");
    assert_eq!(cell("two\r\nlines"), "\"two\r\nlines\"");
    assert_eq!(cell(r#"{"a":1,"b":"x"}"#), r#""{""a"":1,""b"":""x""}""#);
}

#[test]
fn formula_triggers_are_neutralised() {
    assert_eq!(cell("=1+2"), "'=1+2");
    assert_eq!(cell("+44 20 7946 0000"), "'+44 20 7946 0000");
    assert_eq!(cell("-2"), "'-2");
    assert_eq!(cell("@SUM(A1:A2)"), "'@SUM(A1:A2)");
    assert_eq!(cell("\t=1"), "'\t=1");
    assert_eq!(cell("\r=1"), "\"'\r=1\"");
    // After leading whitespace or line breaks, which trimming readers skip.
    assert_eq!(cell("  =1+1"), "'  =1+1");
    assert_eq!(cell("\u{a0}@SUM(A1)"), "'\u{a0}@SUM(A1)");
    assert_eq!(cell("\n=cmd|' /C calc'!A0"), "\"'\n=cmd|' /C calc'!A0\"");
    assert_eq!(cell("\r\n+1"), "\"'\r\n+1\"");
    assert_eq!(cell("\u{FF1D}1+1"), "'\u{FF1D}1+1");
    // Neutralised and quoted: the apostrophe goes inside the quotes.
    assert_eq!(
        cell(r#"=HYPERLINK("http://x.example","a, b")"#),
        r#""'=HYPERLINK(""http://x.example"",""a, b"")""#
    );
}

#[test]
fn a_separator_before_a_formula_keeps_the_cell_whole() {
    // Quoted, so a reader splitting on `;`, tab or `|` still sees one cell
    // that starts with `a`, never one that starts with `=`.
    assert_eq!(cell("a;=1+1"), "\"a;=1+1\"");
    assert_eq!(cell("a; @SUM(A1)"), "\"a; @SUM(A1)\"");
    assert_eq!(cell("a\t=1"), "\"a\t=1\"");
    assert_eq!(cell("a|-2+3"), "\"a|-2+3\"");
    assert_eq!(cell("x,=1"), "\"x,=1\"");
    // Separators followed by anything else are plain text, as before.
    assert_eq!(cell("a;b"), "a;b");
    assert_eq!(cell("a|b c"), "a|b c");
    assert_eq!(cell("1;2;3"), "1;2;3");
    // Every such cell reads back exactly as sent.
    for value in ["a;=1+1", "  =1+1", "\n=cmd", "a\t=1", "x,=1"] {
        let mut out = Vec::new();
        write_cell(&mut out, value);
        let text = String::from_utf8(out).unwrap();
        let back = &parse_csv(&format!("{text}\r\n"))[0][0];
        let back = back.strip_prefix('\'').filter(|_| starts_formula(value)).unwrap_or(back);
        assert_eq!(back, value, "{text:?}");
    }
}

/// Read back with the `csv` crate, independent of the writer under test.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("well-formed CSV").iter().map(str::to_string).collect())
        .collect()
}

fn sample() -> AuditEvent {
    use app::model::{Actor, ActorKind, Changes, EntityRef, EventContext};
    let at = "2026-01-15T09:00:00.123456Z".parse().unwrap();
    AuditEvent {
        seq: 42,
        id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        org_id: uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00a1),
        occurred_at: at,
        received_at: "2026-01-15T09:00:01Z".parse().unwrap(),
        actor: Actor {
            kind: ActorKind::User,
            id: "usr_1".into(),
            name: "=cmd|' /C calc'!A0".into(),
            email: Some("alice@example.com".into()),
            avatar: None,
        },
        action: "invoice.update".into(),
        entity: EntityRef {
            entity_type: "invoice".into(),
            id: "inv_1".into(),
            name: Some("INV-1, \"draft\"\nsecond line \u{1F600}".into()),
            deleted: true,
        },
        changes: Some(Changes::Initial(serde_json::from_str(r#"{"total": "-5", "note": "a,b"}"#).unwrap())),
        context: EventContext { ip: Some("203.0.113.7".into()), ..Default::default() },
        metadata: serde_json::json!({"plan": "pro"}),
        category: Some(app::model::Category::Record),
        priority: Some(app::model::Priority::Low),
        estimated_country: None,
    }
}

/// An event with nothing optional: no email, context, changes or name.
fn bare() -> AuditEvent {
    let mut e = sample();
    e.actor.email = None;
    e.entity.name = None;
    e.entity.deleted = false;
    e.changes = None;
    e.context = Default::default();
    e.metadata = serde_json::json!({});
    e
}

/// The row the database would send for `e`, its JSON spelled as jsonb
/// prints it (spaces after separators, its own key order).
fn with_row<T>(e: &AuditEvent, f: impl FnOnce(&ExportedRow<'_>) -> T) -> T {
    let jsonb = |v: &serde_json::Value| {
        serde_json::to_string(v).unwrap().replace("\",\"", "\", \"").replace("\":", "\": ")
    };
    let changes = e.changes.as_ref().map(|c| jsonb(&serde_json::to_value(c).unwrap()));
    let metadata = jsonb(&e.metadata);
    let row = ExportedRow {
        id: e.id,
        org_id: e.org_id,
        seq: Some(e.seq),
        occurred_at: e.occurred_at,
        received_at: e.received_at,
        actor_kind: e.actor.kind.as_str(),
        actor_id: &e.actor.id,
        actor_name: &e.actor.name,
        actor_email: e.actor.email.as_deref(),
        actor_avatar: e.actor.avatar.as_deref(),
        action: &e.action,
        entity_type: &e.entity.entity_type,
        entity_id: &e.entity.id,
        entity_name: e.entity.name.as_deref(),
        changes: changes.as_deref(),
        ip: e.context.ip.as_deref(),
        user_agent: e.context.user_agent.as_deref(),
        session_id: e.context.session_id.as_deref(),
        request_id: e.context.request_id.as_deref(),
        country: e.context.country.as_deref(),
        metadata: &metadata,
        category: e.category.map_or("record", |c| c.as_str()),
        priority: e.priority.map_or("low", |p| p.as_str()),
        entity_deleted: e.entity.deleted,
    };
    f(&row)
}

fn written(format: ExportFormat, e: &AuditEvent) -> String {
    let mut out = format.preamble().to_vec();
    with_row(e, |row| format.write(&mut out, row, true));
    String::from_utf8(out).unwrap()
}

#[test]
fn a_csv_row_reads_back_column_by_column() {
    let rows = parse_csv(&written(ExportFormat::Csv, &sample()));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0], CSV_COLUMNS);
    let row: std::collections::HashMap<&str, &str> =
        CSV_COLUMNS.iter().copied().zip(rows[1].iter().map(String::as_str)).collect();
    assert_eq!(row["id"], "01900000-0000-7000-8000-000000000001");
    assert_eq!(row["seq"], "42");
    assert_eq!(row["org_id"], "01900000-0000-7000-8000-0000000000a1");
    assert_eq!(row["occurred_at"], "2026-01-15T09:00:00.123456Z");
    assert_eq!(row["received_at"], "2026-01-15T09:00:01.000000Z");
    assert_eq!(row["actor_kind"], "user");
    assert_eq!(row["actor_name"], "'=cmd|' /C calc'!A0");
    assert_eq!(row["actor_email"], "alice@example.com");
    assert_eq!(row["actor_avatar"], "");
    assert_eq!(row["entity_name"], "INV-1, \"draft\"\nsecond line \u{1F600}");
    assert_eq!(row["entity_deleted"], "true");
    assert_eq!(row["ip"], "203.0.113.7");
    let changes: serde_json::Value = serde_json::from_str(row["changes"]).unwrap();
    assert_eq!(changes["initial"]["total"], "-5");
    let metadata: serde_json::Value = serde_json::from_str(row["metadata"]).unwrap();
    assert_eq!(metadata, serde_json::json!({"plan": "pro"}));
    let bare = parse_csv(&written(ExportFormat::Csv, &bare()));
    assert_eq!(bare[1].len(), CSV_COLUMNS.len());
    assert_eq!(bare[1][14], "false");
}

#[test]
fn times_are_fixed_width_microseconds_in_utc() {
    let mut out = Vec::new();
    write_time(&mut out, "0001-02-03T04:05:06.000007Z".parse().unwrap());
    write_time(&mut out, "2026-12-31T23:59:59.999999Z".parse().unwrap());
    assert_eq!(String::from_utf8(out).unwrap(), "0001-02-03T04:05:06.000007Z2026-12-31T23:59:59.999999Z");
}

/// Every object key of `v`, as a path from the top.
fn paths(v: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let serde_json::Value::Object(map) = v {
        for (k, v) in map {
            out.push(k.clone());
            out.extend(paths(v).into_iter().map(|p| format!("{k}.{p}")));
        }
    }
    out
}

#[test]
fn an_ndjson_line_is_the_event_as_the_model_serialises_it() {
    for event in [sample(), bare()] {
        let text = written(ExportFormat::Ndjson, &event);
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "one line: {text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        // The same keys in the same places, the same ones left out, as
        // the model's own serialisation; the same values once read
        // (exact, unlike CSV: no neutralising).
        assert_eq!(paths(&value), paths(&serde_json::to_value(&event).unwrap()), "{text}");
        assert_eq!(text.matches("\"seq\"").count(), 1, "seq is written once: {text}");
        let back: AuditEvent = serde_json::from_value(value).unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn a_json_file_is_one_array_of_the_ndjson_objects_and_only_whole_when_closed() {
    let format = ExportFormat::Json;
    let mut out = format.preamble().to_vec();
    for (i, e) in [sample(), bare()].iter().enumerate() {
        with_row(e, |row| format.write(&mut out, row, i == 0));
    }
    assert!(serde_json::from_slice::<serde_json::Value>(&out).is_err(), "a file cut short does not parse");
    out.extend_from_slice(format.epilogue());
    let parsed: Vec<AuditEvent> = serde_json::from_slice(&out).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0].id, sample().id);
    let line: AuditEvent = serde_json::from_str(written(ExportFormat::Ndjson, &sample()).trim()).unwrap();
    assert_eq!(parsed[0], line);
}
