//! Redaction at write: secrets and binary blobs never reach the store.
//!
//! Applied by the store to every event before it is written (and so before
//! it is hashed into the chain), whatever the path: single insert, batch,
//! COPY. Values are replaced, keys kept, so the timeline still shows *that*
//! a password changed, never what it was.

use std::sync::OnceLock;

use app::model::{ChangeNode, ChangeTree, Changes, NewAuditEvent};
use serde_json::{Map, Value};

pub const REDACTED: &str = "[REDACTED]";
pub const BINARY: &str = "[BINARY DATA]";

/// Key fragments that mark a secret, compared after lower-casing and
/// dropping `_` and `-` (so `apiKey`, `api_key` and `API-KEY` all match).
const SECRET_FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "encrypted",
    "credential",
    "mfa",
    "authorization",
    "jwt",
    "bearer",
    "accesskey",
];
/// Fragments that are also parts of other words (`otp` is in `footprint`,
/// `session` in `possession`, `cookie` in `document.cookie` prose): they
/// mark a secret only as a whole word of the key (`otp_code`, `smsOtp`,
/// `Set-Cookie`, `session_key`), words being split at `_`, `-`, `.`,
/// spaces and lower-to-upper case changes.
const SECRET_WORDS: &[&str] = &["otp", "totp", "hotp", "cookie", "cookies", "session"];
/// Endings that make such a key a harmless fact about the secret
/// (`password_changed_at`, `mfa_enabled`, `api_key_id`, `token_prefix`,
/// `session_id`, `session_duration`, `otp_sent`, `cookie_consent`). A
/// session id names a session (the context's `session_id` is not even
/// redacted); the session's cookie or token is the secret.
const HARMLESS_SUFFIXES: &[&str] = &[
    "id", "ids", "at", "enabled", "count", "prefix", "name", "type", "expires", "expiry", "last4",
    "duration", "timeout", "ttl", "length", "started", "ended", "verified", "required", "sent", "status",
    "consent",
];

/// Extra sensitive key fragments from `AUDIT_REDACT_KEYS` (comma-separated).
fn extra_fragments() -> &'static [String] {
    static EXTRA: OnceLock<Vec<String>> = OnceLock::new();
    EXTRA.get_or_init(|| {
        std::env::var("AUDIT_REDACT_KEYS")
            .unwrap_or_default()
            .split(',')
            .map(normalize)
            .filter(|k| !k.is_empty())
            .collect()
    })
}

fn normalize(key: &str) -> String {
    key.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
}

/// Whether values under `key` are secrets.
pub fn is_sensitive_key(key: &str) -> bool {
    let k = normalize(key);
    let secret = SECRET_FRAGMENTS.iter().any(|f| k.contains(f))
        || extra_fragments().iter().any(|f| k.contains(f))
        || words(key).any(|w| SECRET_WORDS.contains(&w.as_str()));
    secret && !HARMLESS_SUFFIXES.iter().any(|s| k.ends_with(s) && !SECRET_FRAGMENTS.contains(&k.as_str()))
}

/// The words of a key, lower-cased: `smsOtpCode` -> `sms`, `otp`, `code`.
fn words(key: &str) -> impl Iterator<Item = String> + '_ {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            out.push(std::mem::take(&mut word));
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    out.push(word);
    out.into_iter().filter(|w| !w.is_empty())
}

/// A payment card number as a whole string value: 13 to 19 digits, maybe
/// grouped by single spaces or dashes, passing the Luhn check. One random
/// digit string in ten passes Luhn, so a 13-19 digit id may be masked too:
/// the price of never storing a card number that arrived under an
/// innocent key (`note`, `reference`).
pub fn is_card_number(s: &str) -> bool {
    let s = s.trim();
    let bytes = s.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else { return false };
    if !first.is_ascii_digit() || !last.is_ascii_digit() {
        return false;
    }
    let mut digits = Vec::with_capacity(19);
    let mut prev_separator = false;
    for &b in bytes {
        match b {
            b'0'..=b'9' => {
                digits.push(b - b'0');
                prev_separator = false;
            }
            b' ' | b'-' if !prev_separator => prev_separator = true,
            _ => return false,
        }
        if digits.len() > 19 {
            return false;
        }
    }
    if digits.len() < 13 {
        return false;
    }
    // Luhn: from the right, double every second digit.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Redacts an event in place: its changes and its metadata.
pub fn redact_event(event: &mut NewAuditEvent) {
    match &mut event.changes {
        Some(Changes::Diff(tree)) => redact_tree(tree),
        Some(Changes::Snapshot(map)) | Some(Changes::Initial(map)) => redact_map(map),
        None => {}
    }
    redact_value(&mut event.metadata);
}

fn redact_tree(tree: &mut ChangeTree) {
    for (key, node) in tree.iter_mut() {
        match node {
            ChangeNode::Nested { fields } => {
                if is_sensitive_key(key) {
                    for node in fields.values_mut() {
                        redact_whole_node(node);
                    }
                } else {
                    redact_tree(fields);
                }
            }
            ChangeNode::Value { old, new } => {
                for side in [old, new].into_iter().flatten() {
                    if is_sensitive_key(key) {
                        *side = Value::String(REDACTED.into());
                    } else {
                        redact_value(side);
                    }
                }
            }
        }
    }
}

fn redact_whole_node(node: &mut ChangeNode) {
    match node {
        ChangeNode::Nested { fields } => fields.values_mut().for_each(redact_whole_node),
        ChangeNode::Value { old, new } => {
            for side in [old, new].into_iter().flatten() {
                *side = Value::String(REDACTED.into());
            }
        }
    }
}

fn redact_map(map: &mut Map<String, Value>) {
    for (key, value) in map.iter_mut() {
        if is_sensitive_key(key) && !value.is_null() {
            *value = Value::String(REDACTED.into());
        } else {
            redact_value(value);
        }
    }
}

fn redact_value(value: &mut Value) {
    if is_binary(value) {
        *value = Value::String(BINARY.into());
        return;
    }
    if let Value::String(s) = value
        && is_card_number(s)
    {
        *value = Value::String(REDACTED.into());
        return;
    }
    match value {
        Value::Object(map) => redact_map(map),
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// Binary data as it shows up in JSON: a base64 data URI, a long base64 run,
/// or a serialised byte buffer (`{"type": "Buffer", "data": [...]}`).
fn is_binary(value: &Value) -> bool {
    match value {
        Value::String(s) => {
            // Bytes, not `&str` slicing: byte 200 may fall inside a
            // multi-byte character.
            (s.starts_with("data:") && s.as_bytes()[..s.len().min(200)].windows(8).any(|w| w == b";base64,"))
                || (s.len() >= 512
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'\n')))
        }
        Value::Object(map) => {
            map.len() == 2
                && map.get("type") == Some(&Value::String("Buffer".into()))
                && map.contains_key("data")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(v: Value) -> Changes {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn secret_keys_are_recognised_and_facts_about_them_are_not() {
        for k in [
            "password",
            "new_password",
            "apiKey",
            "API-KEY",
            "mfa_secret",
            "token",
            "client_secret",
            "encrypted_ssn",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in
            ["password_changed_at", "mfa_enabled", "api_key_id", "token_prefix", "status", "name", "total"]
        {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }

    #[test]
    fn diffs_snapshots_and_metadata_are_redacted_keys_kept() {
        let blob = "QUJD".repeat(200);
        let mut e = NewAuditEvent {
            id: uuid::Uuid::nil(),
            org_id: uuid::Uuid::nil(),
            external_id: None,
            occurred_at: chrono::Utc::now(),
            actor: app::model::Actor {
                kind: app::model::ActorKind::User,
                id: "u".into(),
                name: "U".into(),
                email: None,
                avatar: None,
            },
            action: "user.update".into(),
            entity: app::model::EntityRef {
                entity_type: "user".into(),
                id: "u".into(),
                name: None,
                deleted: false,
            },
            changes: Some(changes(json!({"diff": {
                "password": {"old": "hunter2", "new": "correct horse"},
                "status": {"old": "a", "new": "b"},
                "settings": {"fields": {"webhook_secret": {"new": "whsec_1"}, "colour": {"old": "red", "new": "blue"}}},
                "avatar": {"old": null, "new": format!("data:image/png;base64,{blob}")}
            }}))),
            context: Default::default(),
            metadata: json!({"request": {"token": "xoxb-1", "size": 3}, "file": {"type": "Buffer", "data": [1, 2]}}),
        };
        redact_event(&mut e);
        assert_eq!(
            serde_json::to_value(&e.changes).unwrap(),
            json!({"diff": {
                "password": {"old": REDACTED, "new": REDACTED},
                "status": {"old": "a", "new": "b"},
                "settings": {"fields": {"webhook_secret": {"new": REDACTED}, "colour": {"old": "red", "new": "blue"}}},
                "avatar": {"old": null, "new": BINARY}
            }})
        );
        assert_eq!(e.metadata, json!({"request": {"token": REDACTED, "size": 3}, "file": BINARY}));

        let mut snap =
            changes(json!({"snapshot": {"api_key": "sk_live_1", "name": "CI", "key": {"secret": "x"}}}));
        if let Changes::Snapshot(m) = &mut snap {
            redact_map(m);
        }
        assert_eq!(
            serde_json::to_value(&snap).unwrap(),
            json!({"snapshot": {"api_key": REDACTED, "name": "CI", "key": {"secret": REDACTED}}})
        );
    }

    #[test]
    fn session_cookie_and_token_keys_are_secrets_their_facts_are_not() {
        for k in [
            "authorization",
            "Authorization",
            "proxy_authorization",
            "cookie",
            "Set-Cookie",
            "session",
            "session_key",
            "sessionCookie",
            "jwt",
            "id_jwt",
            "bearer",
            "access_key",
            "secret_access_key",
            "otp",
            "otp_code",
            "smsOtp",
            "totp",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in [
            "session_id",
            "sessionId",
            "session_duration",
            "session_started_at",
            "session_count",
            "access_key_id",
            "jwt_expires",
            "otp_sent",
            "otp_verified",
            "cookie_consent",
            "authorization_status",
            "footprint",
            "hotpink",
            "possession",
            "notes",
            "<script>alert(document.cookie)</script>",
        ] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }

    #[test]
    fn card_numbers_are_redacted_wherever_they_appear() {
        for card in ["4111111111111111", "4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"] {
            assert!(is_card_number(card), "{card}");
        }
        for not in [
            "4111111111111112",
            "411111111111",
            "41111111111111111111",
            "4111  1111 1111 1111",
            "-4111111111111111",
            "4111111111111111x",
            "",
            "2026-01-15",
            "+44 20 7946 0958",
        ] {
            assert!(!is_card_number(not), "{not}");
        }
        let mut v = json!({"note": "4111 1111 1111 1111", "items": [{"ref": "5500-0000-0000-0004"}], "n": 4111111111111111u64});
        redact_value(&mut v);
        assert_eq!(v, json!({"note": REDACTED, "items": [{"ref": REDACTED}], "n": 4111111111111111u64}));
    }

    #[test]
    fn multi_byte_text_at_the_sniffing_boundary_does_not_panic() {
        // Byte 200 falls inside a character, the case that once panicked.
        for pad in 190..200 {
            let s = format!("data:{}{}", "a".repeat(pad - 5), "é€😀".repeat(20));
            let mut v = Value::String(s.clone());
            redact_value(&mut v);
            assert_eq!(v, Value::String(s), "plain text kept");
        }
        let mut v = Value::String(format!("data:{};base64,QUJD", "é".repeat(10)));
        redact_value(&mut v);
        assert_eq!(v, Value::String(BINARY.into()));
    }
}
