//! The timeline filter keys as JSON Schema: what `TimelineFilter::from_pairs`
//! takes for each query key (values trimmed, lists comma-separated with
//! empty items skipped), and the viewer-token request built from them.

use serde_json::{Value, json};

/// What `str::trim` removes (see `wire::WS`).
const WS: &str = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// A plain-text character: not a control character, not `"`.
const PLAIN: &str = r#"[^\u0000-\u001f\u007f-\u009f"]"#;
/// A plain-text character that is not whitespace either (trimming would
/// remove it at either end).
const PLAIN_EDGE: &str =
    r#"[^\u0000-\u001f\u007f-\u009f"\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000 ]"#;

/// One plain-text value of 1 to 200 characters once trimmed; `extra` are
/// characters it may not contain either.
fn plain_value(extra: &str) -> String {
    let inner = PLAIN.replacen('"', &format!("\"{extra}"), 1);
    let edge = PLAIN_EDGE.replacen('"', &format!("\"{extra}"), 1);
    format!("[{WS}]*{edge}({inner}{{0,198}}{edge})?[{WS}]*")
}

/// A comma-separated list of `item`s, each with whitespace around it, empty
/// items allowed (and skipped).
fn list(item: &str) -> String {
    let slot = format!("[{WS}]*({item})?[{WS}]*");
    format!("^{slot}(,{slot})*$")
}

/// A snake_case word as the filters take it: at most 64 characters.
const SNAKE: &str = "[a-z][a-z0-9_]{0,63}";

/// An action filter item, checked after ASCII lower-casing: snake words
/// separated by dots, `*` allowed as the first or last word, at least one
/// real word, at most 100 characters.
fn action_item() -> String {
    let word = "[A-Za-z][A-Za-z0-9_]{0,63}";
    format!("(?=[A-Za-z0-9_.*]{{1,100}}(?![A-Za-z0-9_.*]))(\\*\\.)?{word}(\\.{word})*(\\.\\*)?")
}

/// A wall-clock date as the filters read it (years 1970 to 9999; 29
/// February is left out, see `wire::MONTH_DAY`).
fn date_time() -> String {
    let month_day = "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))";
    format!(
        "^[{WS}]*(19[7-9][0-9]|[2-9][0-9]{{3}})-{month_day}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?[{WS}]*$"
    )
}

const IPV4: &str =
    r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}";

/// The schema of each filter key's value, in `export::FILTER_KEYS` order.
pub fn filter_value(key: &str) -> Value {
    let s = |pattern: String| json!({"type": "string", "pattern": pattern});
    match key {
        "q" => json!({"type": "string"}),
        "action" | "not_action" => s(list(&action_item())),
        "entity" => s(list(SNAKE)),
        "actor" => s(list(&plain_value(","))),
        "category" => s(list("(record|user|system|security|view|api)")),
        "priority" => s(list("(low|medium|high)")),
        "record" | "session" => s(format!("^{}$", plain_value(""))),
        // An address (IPv4 here; IPv6 in any form Rust's parser reads is
        // also taken, as the description says) or a block.
        "ip" => json!({
            "anyOf": [
                {"type": "string", "pattern": format!("^[{WS}]*{IPV4}(/(3[0-2]|[12]?[0-9]))?[{WS}]*$")},
                {"type": "string", "format": "ipv6"},
            ]
        }),
        "country" => s(format!("^[{WS}]*[A-Za-z]{{2}}[{WS}]*$")),
        "within" => json!({"type": "string", "enum": ["24h", "7d", "30d"]}),
        "after" | "before" => s(date_time()),
        "tz" => json!({"type": "string", "enum": time_zones()}),
        _ => json!({"type": "string"}),
    }
}

/// Every zone the server knows, by its IANA name.
pub fn time_zones() -> Vec<&'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect()
}

/// The viewer-token request, with the same value rules as the filters.
pub fn mint_request() -> Value {
    let pair = |key: &str, value: &str| format!("{key}={value}");
    // Filter strings in the unreserved characters only, so the pattern is
    // exact without modelling percent-decoding (`%xx` and `+` are read too).
    let safe = "[A-Za-z0-9_.~-]";
    let pairs = [
        pair("q", &format!("{safe}*")),
        pair("(action|not_action)", "([a-z][a-z0-9_]{0,30})(\\.[a-z][a-z0-9_]{0,30}){0,1}"),
        pair("entity", "[a-z][a-z0-9_]{0,63}"),
        pair("(record|session|actor)", &format!("{safe}{{1,200}}")),
        pair("ip", IPV4),
        pair("country", "[A-Za-z]{2}"),
        pair("within", "(24h|7d|30d)"),
        pair("(after|before)", "(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"),
    ];
    let one = format!("({})", pairs.join("|"));
    json!({
        "description": "What the token may show. Every field narrows; none may widen what the org's own log \
                        holds. The body is required: `{}` mints a token for the whole org.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "record": {
                "oneOf": [{"type": "null"}, {"type": "string", "pattern": format!("^{}$", plain_value(""))}],
                "description": "One record's history: the record id (`entity.id` of its events).",
            },
            "actor": {
                "oneOf": [{"type": "null"}, filter_value("actor")],
                "description": "Actors: actor ids, or the start of a name or email, comma-separated.",
            },
            "filter": {
                "oneOf": [{"type": "null"}, {"type": "string", "pattern": format!("^({one})?(&({one})?)*$")}],
                "description": "Any timeline filter, as the query string of a timeline URL, e.g. \
                                `action=delete&entity=invoice`: the keys and value forms of \
                                GET /api/v1/events/export (percent-encoded UTF-8). The pattern shows the \
                                common unreserved forms; every form the export parameters take is taken.",
            },
            "expires_in": {
                "oneOf": [{"type": "null"}, {"type": "integer", "minimum": 1, "maximum": 86400}],
                "description": "Seconds until the token expires: 1 to 86400, default 900.",
            },
        },
    })
}
