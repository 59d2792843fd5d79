//! The validator's rules, each with the messages a sender reads.

use super::*;
use serde_json::json;

fn limits() -> Limits {
    Limits::default()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap()
}

fn good() -> Value {
    json!({
        "occurred_at": "2026-01-15T09:00:00Z",
        "actor": {"kind": "user", "id": "usr_1", "name": "Alice"},
        "action": "invoice.update",
        "entity": {"type": "invoice", "id": "inv_1"}
    })
}

fn errors(body: Value) -> Vec<String> {
    match ingest_request(body, Uuid::nil(), &limits(), now()) {
        Ok(_) => Vec::new(),
        Err(refusal) => refusal.errors.into_iter().map(|e| e.message).collect(),
    }
}

#[test]
fn actions_and_types_follow_the_database_checks() {
    for ok in ["invoice.update", "api_key.revoke", "a.b.c", "x1.y_2"] {
        assert!(is_action(ok), "{ok}");
    }
    for bad in ["invoice", "Invoice.update", "invoice.", ".update", "invoice..x", "1a.b", "a.b-c", ""] {
        assert!(!is_action(bad), "{bad}");
    }
    assert!(is_snake_word("api_key") && !is_snake_word("ApiKey") && !is_snake_word("_x"));
}

#[test]
fn a_single_event_and_a_batch_are_both_accepted() {
    let one = ingest_request(good(), Uuid::nil(), &limits(), now()).ok().unwrap();
    assert_eq!((one.events.len(), one.batch), (1, false));
    let many = ingest_request(json!({"events": [good(), good()]}), Uuid::nil(), &limits(), now());
    let many = many.ok().unwrap();
    assert_eq!((many.events.len(), many.batch), (2, true));
    assert!(many.events[0].id < many.events[1].id, "ids in request order");
}

#[test]
fn every_problem_is_named_by_its_path() {
    let mut e0 = good();
    e0["actor"].as_object_mut().unwrap().remove("id");
    e0["occurred_at"] = json!(1736931600);
    let mut e1 = good();
    e1["context"] = json!({"ip": "nope", "country": "GBR", "colour": 1});
    e1["acter"] = json!({});
    let mut e2 = good();
    e2["changes"] = json!({"diff": {"status": {"typo": 1}, "total": {"old": 1, "new": 2}}});
    e2["metadata"] = json!({"note": "a\u{0}b", "list": [1, {"k\u{0}": 2}]});
    e2["action"] = json!("Invoice Update");
    let got = errors(json!({"events": [e0, e1, e2, []], "extra": true}));
    assert_eq!(
        got,
        [
            "extra: unknown field",
            "events[0].occurred_at: expected an RFC 3339 timestamp string, got a number",
            "events[0].actor.id: required",
            "events[1].context.ip: not an IP address",
            "events[1].context.country: not a two-letter country code (ISO 3166-1 alpha-2, such as GB)",
            "events[1].context.colour: unknown field",
            "events[1].acter: unknown field",
            "events[2].action: not a dotted lower snake_case action like `invoice.update`",
            "events[2].changes.diff.status.typo: unknown field; a changed value has `old` and/or `new`",
            "events[2].changes.diff.status: expected `old` and/or `new` (or `fields` for a nested object)",
            "events[2].metadata.list[1][\"k\\u0000\"]: the field name contains a NUL character, which cannot be stored",
            "events[2].metadata.note: contains a NUL character (\\u0000), which cannot be stored",
            "events[3]: expected an object, got an array",
        ]
    );
}

#[test]
fn timestamps_must_be_plausible() {
    let at = |t: &str| {
        let mut e = good();
        e["occurred_at"] = json!(t);
        errors(e)
    };
    assert!(at("2026-01-16T11:59:00Z").is_empty(), "within 24 hours ahead");
    assert!(at("2026-01-15T13:00:00+02:00").is_empty(), "offsets");
    assert!(at("2026-01-16T12:01:00Z")[0].starts_with("occurred_at: more than 24 hours in the future"));
    assert!(at("1999-12-31T23:59:59Z")[0].starts_with("occurred_at: before 2000-01-01"));
    assert!(at("2000-01-01T00:00:00+05:00").is_empty(), "the date as written counts");
    assert!(at("1999-12-31T23:00:00-05:00")[0].starts_with("occurred_at: before 2000-01-01"));
    assert!(at("15/01/2026")[0].starts_with("occurred_at: not an RFC 3339 timestamp"));
}

#[test]
fn batches_are_bounded_and_external_ids_unique_within_one() {
    let batch = |n: usize| json!({"events": vec![good(); n]});
    assert_eq!(errors(batch(0)), ["events: at least one event is required"]);
    assert_eq!(errors(batch(1001)), ["events: at most 1000 events per request"]);
    assert!(errors(batch(1000)).is_empty());
    let with_id = |id: &str| {
        let mut e = good();
        e["external_id"] = json!(id);
        e
    };
    let repeated = ingest_request(
        json!({"events": [with_id("a"), with_id("b"), with_id("a")]}),
        Uuid::nil(),
        &limits(),
        now(),
    );
    let repeated: Vec<String> =
        duplicate_external_ids(&repeated.ok().unwrap()).into_iter().map(|e| e.message).collect();
    assert_eq!(
        repeated,
        ["events[2].external_id: same as events[0].external_id; external ids are unique per org"]
    );
    let mut bad = good();
    bad["actor"] = json!("alice");
    assert_eq!(errors(json!({"events": vec![bad; 80]})).len(), MAX_ERRORS + 1, "capped, with a note");
}

#[test]
fn odd_keys_are_quoted_in_paths() {
    let mut e = good();
    e["metadata"] = json!({"a b": {"<script>": "x\u{0}"}});
    assert_eq!(
        errors(e),
        ["metadata[\"a b\"][\"<script>\"]: contains a NUL character (\\u0000), which cannot be stored"]
    );
}

#[test]
fn documents_over_the_event_limits_are_named_by_path() {
    use app::model::limits::{MAX_DEPTH, MAX_EVENT_BYTES, MAX_KEYS, MAX_STRING_BYTES, nested};
    let with = |metadata: Value, changes: Value| {
        let mut e = good();
        e["metadata"] = metadata;
        e["changes"] = changes;
        e
    };
    // The deepest and longest allowed pass.
    let deepest = with(
        nested(MAX_DEPTH, json!({"s": "é".repeat(MAX_STRING_BYTES / 2)})),
        json!({"snapshot": nested(MAX_DEPTH - 1, json!({}))}),
    );
    assert_eq!(errors(deepest), Vec::<String>::new());

    let deep_path = format!("events[0].metadata{}", ".a".repeat(MAX_DEPTH));
    let got = errors(json!({"events": [with(
        nested(MAX_DEPTH + 1, json!({})),
        json!({"diff": {"note": {"new": "x".repeat(MAX_STRING_BYTES + 1)}}}),
    )]}));
    assert_eq!(
        got,
        [
            "events[0].changes.diff.note.new: string longer than 8192 bytes".to_string(),
            format!("{deep_path}: nested deeper than 32 levels"),
        ]
    );
    let wide: Map<String, Value> = (0..=MAX_KEYS).map(|i| (format!("k{i}"), json!(i))).collect();
    let long_key = "k".repeat(300);
    assert_eq!(
        errors(with(json!({"wide": wide, "ok": {long_key: 1}}), Value::Null)),
        ["metadata.ok: a key longer than 256 bytes", "metadata.wide: more than 500 keys"]
    );

    // Every value within its limit, the event over its total: 413.
    let many: Map<String, Value> =
        (0..9).map(|i| (format!("s{i}"), json!("x".repeat(MAX_STRING_BYTES)))).collect();
    let big = with(Value::Object(many), Value::Null);
    let refusal =
        ingest_request(json!({"events": [good(), big]}), Uuid::nil(), &limits(), now()).err().unwrap();
    assert!(refusal.too_large);
    assert_eq!(refusal.errors.len(), 1);
    assert_eq!(refusal.errors[0].field, "events[1]");
    assert!(refusal.errors[0].message.contains(&format!("more than the limit of {MAX_EVENT_BYTES}")));
    let other = ingest_request(with(nested(40, json!(1)), Value::Null), Uuid::nil(), &limits(), now());
    assert!(!other.err().unwrap().too_large, "a depth problem is a 422");
}
