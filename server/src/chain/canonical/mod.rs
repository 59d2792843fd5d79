//! The canonical form of a stored event: the bytes its chain hash covers.
//!
//! Version 1 ([`CANONICAL_VERSION`]). One JSON object, no whitespace, keys
//! sorted by their UTF-8 bytes, one key per column of `audit_events` (after
//! redaction: what is stored, never what was sent):
//!
//! ```text
//! action actor_avatar actor_email actor_id actor_kind actor_name changes
//! country entity_id entity_name entity_type external_id id ip metadata
//! occurred_at org_id received_at request_id seq session_id user_agent v
//! ```
//!
//! - A column that is SQL NULL is left out, so NULL and `""`, and NULL and
//!   JSON `null` in `changes`, stay distinct. `v` is always `1`.
//! - Text columns: JSON strings, escaped as described below.
//! - `id`, `org_id`: lower-case hyphenated UUIDs.
//! - `seq`: a JSON integer.
//! - `occurred_at`, `received_at`: RFC 3339 in UTC with exactly six
//!   fractional digits and `Z` (`2026-01-15T09:00:00.000000Z`): PostgreSQL
//!   keeps microseconds, so the writer truncates to them before storing.
//! - `ip`: the address as Rust's `std::net::IpAddr` displays it (IPv6 in
//!   RFC 5952 form: lower case, longest zero run as `::`). Read back with
//!   `host(ip)`; a stored netmask other than /32 or /128 (the writer never
//!   stores one) is appended as `/len` so it shows as a change.
//! - `changes`, `metadata`: the stored JSON, re-serialised canonically: no
//!   whitespace, object keys sorted by UTF-8 bytes (a repeated key keeps its
//!   last value, as jsonb does), strings decoded and re-escaped, numbers
//!   written as PostgreSQL's `numeric` prints them: plain decimal, never an
//!   exponent, with as many fractional digits as the input's scale
//!   (`1e16` -> `10000000000000000`, `1.5e-7` -> `0.00000015`,
//!   `100.0` -> `100.0`, `-0.0` -> `0.0`). That is exactly what jsonb stores,
//!   so the form computed from what the writer sends equals the form computed
//!   from what the database returns, and every digit the database holds is
//!   covered by the hash (no round trip through `f64`).
//! - Strings: `"` and `\` backslash-escaped; U+0008, U+0009, U+000A, U+000C
//!   and U+000D as `\b \t \n \f \r`; other characters below U+0020 as
//!   `\u00xx` (lower-case hex); everything else, including `/` and all
//!   non-ASCII, as raw UTF-8.
//!
//! The hash input is `prev_hash || canonical bytes` (see [`super::chain_hash`]).

mod json;

use std::io::Write;
use std::net::IpAddr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use uuid::Uuid;

pub use json::write_canonical_json;

/// The version of the canonical form, written into every canonical event as
/// `"v"`. A future form gets a new number; events keep the one they were
/// hashed with.
pub const CANONICAL_VERSION: u32 = 1;

/// Why `changes` or `metadata` could not be put in canonical form. The
/// writer only produces valid JSON and jsonb only returns valid JSON, so this
/// means a bug or a row put in by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is not valid JSON: {reason} at byte {at}")]
pub struct CanonicalError {
    pub field: &'static str,
    pub reason: &'static str,
    pub at: usize,
}

/// One event as its hash sees it: the stored columns, borrowed. Built by the
/// writer from the event it is about to store and by the verifier from the
/// row it read ([`super::StoredEvent::canonical`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CanonicalEvent<'a> {
    pub org_id: Uuid,
    pub id: Uuid,
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub actor_kind: &'a str,
    pub actor_id: &'a str,
    pub actor_name: &'a str,
    pub actor_email: Option<&'a str>,
    pub actor_avatar: Option<&'a str>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub entity_name: Option<&'a str>,
    /// JSON text, as sent to the database or as `changes::text` returns it.
    pub changes: Option<&'a str>,
    /// An IP address in any notation `IpAddr` parses; other text is kept
    /// as it is (and so never matches what the writer hashed).
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub country: Option<&'a str>,
    /// JSON text, like `changes`.
    pub metadata: Option<&'a str>,
    pub external_id: Option<&'a str>,
}

impl CanonicalEvent<'_> {
    /// Appends the canonical JSON to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
        let mut o = ObjectWriter { out, first: true };
        self.write_before_seq(&mut o)?;
        o.int("seq", self.seq);
        self.write_after_seq(&mut o);
        o.finish();
        Ok(())
    }

    /// The canonical JSON in two pieces around the value of `seq`, which a
    /// writer only learns once it holds the org's chain head: everything
    /// else (the costly part: escaping, re-serialising `changes` and
    /// `metadata`) is done before, without the lock. [`SeqSplit::hash`]
    /// gives what [`CanonicalEvent::hash`] gives for the same seq.
    pub fn split_at_seq(&self) -> Result<SeqSplit, CanonicalError> {
        let mut before = Vec::with_capacity(512);
        let mut o = ObjectWriter { out: &mut before, first: true };
        self.write_before_seq(&mut o)?;
        o.key("seq");
        let mut after = Vec::with_capacity(64);
        let mut o = ObjectWriter { out: &mut after, first: false };
        self.write_after_seq(&mut o);
        o.finish();
        Ok(SeqSplit { before, after })
    }

    /// The keys before `seq`, in sorted order (a test checks it stays
    /// sorted).
    fn write_before_seq(&self, o: &mut ObjectWriter<'_>) -> Result<(), CanonicalError> {
        o.str("action", Some(self.action));
        o.str("actor_avatar", self.actor_avatar);
        o.str("actor_email", self.actor_email);
        o.str("actor_id", Some(self.actor_id));
        o.str("actor_kind", Some(self.actor_kind));
        o.str("actor_name", Some(self.actor_name));
        o.json("changes", self.changes)?;
        o.str("country", self.country);
        o.str("entity_id", Some(self.entity_id));
        o.str("entity_name", self.entity_name);
        o.str("entity_type", Some(self.entity_type));
        o.str("external_id", self.external_id);
        o.uuid("id", self.id);
        o.ip("ip", self.ip);
        o.json("metadata", self.metadata)?;
        o.time("occurred_at", self.occurred_at);
        o.uuid("org_id", self.org_id);
        o.time("received_at", self.received_at);
        o.str("request_id", self.request_id);
        Ok(())
    }

    /// The keys after `seq`.
    fn write_after_seq(&self, o: &mut ObjectWriter<'_>) {
        o.str("session_id", self.session_id);
        o.str("user_agent", self.user_agent);
        o.int("v", i64::from(CANONICAL_VERSION));
    }

    /// The canonical JSON as a string.
    pub fn to_json(&self) -> Result<String, CanonicalError> {
        let mut out = Vec::with_capacity(512);
        self.write_to(&mut out)?;
        Ok(String::from_utf8(out).expect("canonical JSON is built from UTF-8 pieces"))
    }

    /// This event's chain hash after `prev_hash`. `buf` is scratch space,
    /// passed in so a batch reuses one allocation.
    pub fn hash(&self, prev_hash: &[u8; 32], buf: &mut Vec<u8>) -> Result<[u8; 32], CanonicalError> {
        buf.clear();
        self.write_to(buf)?;
        Ok(super::chain_hash(prev_hash, buf))
    }
}

/// An event's canonical JSON but for the value of its `seq`
/// ([`CanonicalEvent::split_at_seq`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqSplit {
    /// Up to and including `"seq":`.
    before: Vec<u8>,
    /// From the key after `seq` to the closing brace.
    after: Vec<u8>,
}

impl SeqSplit {
    /// The chain hash of the event at `seq` after `prev_hash`:
    /// `SHA-256(prev_hash || canonical bytes)`, fed in pieces.
    pub fn hash(&self, prev_hash: &[u8; 32], seq: i64) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(prev_hash);
        hasher.update(&self.before);
        // The digits as `o.int` writes them; writing into a hasher cannot fail.
        let _ = write!(hasher, "{seq}");
        hasher.update(&self.after);
        hasher.finalize().into()
    }
}

/// `ip` in canonical text, or `None` when it is no IP address.
pub fn canonical_ip(text: &str) -> Option<String> {
    text.parse::<IpAddr>().ok().map(|ip| ip.to_string())
}

/// A timestamp as the canonical form writes it.
pub fn canonical_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl ObjectWriter<'_> {
    fn key(&mut self, key: &str) {
        self.out.push(if self.first { b'{' } else { b',' });
        self.first = false;
        write_str(self.out, key);
        self.out.push(b':');
    }

    fn str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.key(key);
            write_str(self.out, v);
        }
    }

    fn json(&mut self, key: &'static str, value: Option<&str>) -> Result<(), CanonicalError> {
        if let Some(v) = value {
            self.key(key);
            write_canonical_json(key, v, self.out)?;
        }
        Ok(())
    }

    fn ip(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.key(key);
            match v.parse::<IpAddr>() {
                Ok(ip) => {
                    let _ = write!(self.out, "\"{ip}\"");
                }
                Err(_) => write_str(self.out, v),
            }
        }
    }

    fn uuid(&mut self, key: &str, value: Uuid) {
        self.key(key);
        let _ = write!(self.out, "\"{}\"", value.hyphenated());
    }

    fn time(&mut self, key: &str, value: DateTime<Utc>) {
        self.key(key);
        let (date, time) = (value.date_naive(), value.time());
        if (0..=9999).contains(&date.year()) {
            // What the format below gives, several times faster.
            let _ = write!(
                self.out,
                "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z\"",
                date.year(),
                date.month(),
                date.day(),
                time.hour(),
                time.minute(),
                time.second(),
                time.nanosecond() / 1000
            );
        } else {
            let _ = write!(self.out, "\"{}\"", canonical_time(value));
        }
    }

    fn int(&mut self, key: &str, value: i64) {
        self.key(key);
        let _ = write!(self.out, "{value}");
    }

    fn finish(self) {
        if self.first {
            self.out.push(b'{');
        }
        self.out.push(b'}');
    }
}

/// A JSON string with the canonical escapes.
fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                let _ = write!(out, "\\u{b:04x}");
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::{Value, json};

    use super::json::canon;

    fn sample() -> CanonicalEvent<'static> {
        CanonicalEvent {
            org_id: Uuid::from_u128(1),
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00ff),
            seq: 42,
            occurred_at: Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap(),
            received_at: Utc.timestamp_micros(1_768_467_600_123_456).unwrap(),
            actor_kind: "user",
            actor_id: "usr_1",
            actor_name: "Zoë \"Z\" Ünal",
            actor_email: Some("zoe@example.com"),
            actor_avatar: None,
            action: "invoice.update",
            entity_type: "invoice",
            entity_id: "inv_1",
            entity_name: Some(""),
            changes: Some(r#"{"diff": {"total": {"old": 1, "new": 2}}}"#),
            ip: Some("2001:DB8:0:0::1"),
            user_agent: Some("curl/8\t(x)"),
            session_id: None,
            request_id: None,
            country: Some("DE"),
            metadata: Some("{}"),
            external_id: None,
        }
    }

    #[test]
    fn null_absent_and_empty_stay_distinct() {
        let e = sample();
        let without = CanonicalEvent { changes: None, ..e }.to_json().unwrap();
        let null = CanonicalEvent { changes: Some("null"), ..e }.to_json().unwrap();
        let empty = CanonicalEvent { changes: Some("{}"), ..e }.to_json().unwrap();
        assert!(!without.contains("\"changes\""));
        assert!(null.contains(r#""changes":null"#));
        assert!(empty.contains(r#""changes":{}"#));
        let no_name = CanonicalEvent { entity_name: None, ..e }.to_json().unwrap();
        assert_ne!(no_name, e.to_json().unwrap(), "NULL and \"\" differ");
        // Inside changes: a field set to null is not a field left out.
        assert_ne!(canon(r#"{"diff":{"x":{"old":null,"new":1}}}"#), canon(r#"{"diff":{"x":{"new":1}}}"#));
    }

    #[test]
    fn the_event_has_sorted_keys_and_normalised_values() {
        let json = sample().to_json().unwrap();
        // Re-serialising through serde_json's sorted map changes nothing:
        // the keys are sorted and the text is plain JSON.
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), json);
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "action",
                "actor_email",
                "actor_id",
                "actor_kind",
                "actor_name",
                "changes",
                "country",
                "entity_id",
                "entity_name",
                "entity_type",
                "id",
                "ip",
                "metadata",
                "occurred_at",
                "org_id",
                "received_at",
                "seq",
                "user_agent",
                "v"
            ]
        );
        assert_eq!(value["ip"], json!("2001:db8::1"));
        assert_eq!(value["occurred_at"], json!("2026-01-15T09:00:00.000000Z"));
        assert_eq!(value["received_at"], json!("2026-01-15T09:00:00.123456Z"));
        assert_eq!(value["id"], json!("01900000-0000-7000-8000-0000000000ff"));
        assert_eq!(value["seq"], json!(42));
        assert_eq!(value["v"], json!(1));
        assert!(json.contains(r#""user_agent":"curl/8\t(x)""#));
    }

    #[test]
    fn every_key_is_in_sorted_order_when_all_are_present() {
        let all = CanonicalEvent {
            actor_avatar: Some("a"),
            session_id: Some("s"),
            request_id: Some("r"),
            external_id: Some("x"),
            ..sample()
        };
        let value: Value = serde_json::from_str(&all.to_json().unwrap()).unwrap();
        let keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 23);
        assert_eq!(serde_json::to_string(&value).unwrap(), all.to_json().unwrap());
    }

    #[test]
    fn ips_are_normalised_and_non_ips_kept_as_text() {
        for (input, expected) in [
            ("203.0.113.7", "203.0.113.7"),
            ("2001:DB8:0000:0:0:0:0:1", "2001:db8::1"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::1.2.3.4", "::102:304"),
            ("fe80:0:0:1:0:0:0:0", "fe80:0:0:1::"),
        ] {
            assert_eq!(canonical_ip(input).as_deref(), Some(expected), "{input}");
        }
        assert_eq!(canonical_ip("10.0.0.1/24"), None);
        let masked = CanonicalEvent { ip: Some("10.0.0.1/24"), ..sample() }.to_json().unwrap();
        assert!(masked.contains(r#""ip":"10.0.0.1/24""#));
    }

    #[test]
    fn each_field_changes_the_hash() {
        let e = sample();
        let mut buf = Vec::new();
        let base = e.hash(&super::super::GENESIS, &mut buf).unwrap();
        let variants = [
            CanonicalEvent { seq: 43, ..e },
            CanonicalEvent { actor_name: "Zoe", ..e },
            CanonicalEvent { changes: Some(r#"{"diff": {"total": {"old": 1, "new": 3}}}"#), ..e },
            CanonicalEvent { ip: Some("2001:db8::2"), ..e },
            CanonicalEvent { received_at: e.received_at + chrono::Duration::microseconds(1), ..e },
            CanonicalEvent { org_id: Uuid::from_u128(2), ..e },
        ];
        for v in variants {
            assert_ne!(v.hash(&super::super::GENESIS, &mut buf).unwrap(), base, "{v:?}");
        }
        assert_ne!(e.hash(&[1; 32], &mut buf).unwrap(), base, "the previous hash is covered");
    }

    #[test]
    fn the_hash_split_around_seq_equals_the_whole_hash() {
        let full = sample();
        let bare = CanonicalEvent {
            actor_email: None,
            actor_avatar: None,
            entity_name: None,
            changes: None,
            ip: None,
            user_agent: None,
            session_id: None,
            request_id: None,
            country: None,
            metadata: None,
            external_id: None,
            ..full
        };
        let mut buf = Vec::new();
        for e in [full, bare] {
            let split = e.split_at_seq().unwrap();
            for seq in [1, 42, 9_999_999_999, i64::MAX] {
                let prev = [7; 32];
                let whole = CanonicalEvent { seq, ..e }.hash(&prev, &mut buf).unwrap();
                assert_eq!(split.hash(&prev, seq), whole, "seq {seq} of {e:?}");
            }
        }
    }
}
