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
];
/// Endings that make such a key a harmless fact about the secret
/// (`password_changed_at`, `mfa_enabled`, `api_key_id`, `token_prefix`).
const HARMLESS_SUFFIXES: &[&str] =
    &["id", "ids", "at", "enabled", "count", "prefix", "name", "type", "expires", "expiry", "last4"];

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
    let secret =
        SECRET_FRAGMENTS.iter().any(|f| k.contains(f)) || extra_fragments().iter().any(|f| k.contains(f));
    secret && !HARMLESS_SUFFIXES.iter().any(|s| k.ends_with(s) && !SECRET_FRAGMENTS.contains(&k.as_str()))
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
            (s.starts_with("data:") && s[..s.len().min(200)].contains(";base64,"))
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
}
