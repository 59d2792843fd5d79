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

use std::io::Write;
use std::net::IpAddr;

use chrono::{DateTime, Datelike, Timelike, Utc};
use uuid::Uuid;

/// The version of the canonical form, written into every canonical event as
/// `"v"`. A future form gets a new number; events keep the one they were
/// hashed with.
pub const CANONICAL_VERSION: u32 = 1;

/// How deep `changes` and `metadata` may nest (jsonb allows about as much).
const MAX_DEPTH: usize = 1000;
/// Largest decimal exponent accepted in a JSON number. f64 needs ~330 and
/// PostgreSQL never prints one; the bound keeps `1e999999999` from becoming
/// a gigabyte of zeros.
const MAX_EXPONENT: i64 = 100_000;

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

/// Re-serialises the JSON document `text` canonically onto `out`.
pub fn write_canonical_json(
    field: &'static str,
    text: &str,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    let mut p = Parser { s: text.as_bytes(), pos: 0, field };
    p.ws();
    p.value(out, 0)?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.error("trailing characters"));
    }
    Ok(())
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    field: &'static str,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> CanonicalError {
        CanonicalError { field: self.field, reason, at: self.pos }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8, reason: &'static str) -> Result<(), CanonicalError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), CanonicalError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => self.object(out, depth),
            Some(b'[') => self.array(out, depth),
            Some(b'"') => {
                let s = self.string()?;
                write_str(out, &s);
                Ok(())
            }
            Some(b't') => self.literal(out, b"true"),
            Some(b'f') => self.literal(out, b"false"),
            Some(b'n') => self.literal(out, b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(out),
            _ => Err(self.error("expected a value")),
        }
    }

    fn literal(&mut self, out: &mut Vec<u8>, word: &[u8]) -> Result<(), CanonicalError> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            out.extend_from_slice(word);
            Ok(())
        } else {
            Err(self.error("expected true, false or null"))
        }
    }

    fn object(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), CanonicalError> {
        self.pos += 1;
        self.ws();
        // Values are written to the end of `out` as they are parsed, then
        // moved into key order: one allocation per object, not per member.
        let start = out.len();
        let mut members: Vec<(String, std::ops::Range<usize>)> = Vec::new();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                if self.peek() != Some(b'"') {
                    return Err(self.error("expected an object key"));
                }
                let key = self.string()?;
                self.ws();
                self.expect(b':', "expected ':'")?;
                self.ws();
                let value_start = out.len() - start;
                self.value(out, depth + 1)?;
                members.push((key, value_start..out.len() - start));
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected ',' or '}'")),
                }
            }
        }
        let values = out.split_off(start);
        // Stable, so among repeated keys the last stays last; jsonb keeps
        // that one, and so do we.
        members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        out.push(b'{');
        let mut first = true;
        for (i, (key, range)) in members.iter().enumerate() {
            if members.get(i + 1).is_some_and(|(next, _)| next == key) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            write_str(out, key);
            out.push(b':');
            out.extend_from_slice(&values[range.clone()]);
        }
        out.push(b'}');
        Ok(())
    }

    fn array(&mut self, out: &mut Vec<u8>, depth: usize) -> Result<(), CanonicalError> {
        self.pos += 1;
        self.ws();
        out.push(b'[');
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            let mut first = true;
            loop {
                if !first {
                    out.push(b',');
                }
                first = false;
                self.ws();
                self.value(out, depth + 1)?;
                self.ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected ',' or ']'")),
                }
            }
        }
        out.push(b']');
        Ok(())
    }

    /// A string literal, decoded. `self.pos` is at the opening quote.
    fn string(&mut self) -> Result<String, CanonicalError> {
        self.pos += 1;
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            buf.extend_from_slice(&self.s[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    // Whole UTF-8 sequences of valid input plus encoded chars.
                    return String::from_utf8(buf).map_err(|_| self.error("invalid UTF-8"));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escaped = self.peek().ok_or_else(|| self.error("unterminated escape"))?;
                    self.pos += 1;
                    let c = match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("unknown escape")),
                    };
                    let mut utf8 = [0; 4];
                    buf.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                }
                Some(_) => return Err(self.error("control character in string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// The character of a `\uXXXX` escape (after the `u`), joining a
    /// surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, CanonicalError> {
        let high = self.hex4()?;
        let code = match high {
            0xd800..=0xdbff => {
                if !self.s[self.pos..].starts_with(b"\\u") {
                    return Err(self.error("unpaired surrogate"));
                }
                self.pos += 2;
                let low = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&low) {
                    return Err(self.error("unpaired surrogate"));
                }
                0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
            }
            0xdc00..=0xdfff => return Err(self.error("unpaired surrogate")),
            c => c,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, CanonicalError> {
        let digits = self.s.get(self.pos..self.pos + 4).ok_or_else(|| self.error("short \\u escape"))?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(self.error("invalid \\u escape"));
        }
        let value = digits.iter().fold(0u32, |n, &b| n * 16 + (b as char).to_digit(16).unwrap_or(0));
        self.pos += 4;
        Ok(value)
    }

    fn digits(&mut self) -> &[u8] {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// A number, written as PostgreSQL's numeric prints it: value
    /// `digits * 10^-scale` with `scale = fraction digits - exponent`, shown
    /// with `max(scale, 0)` fractional digits and no exponent.
    fn number(&mut self, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let int = self.digits().to_vec();
        if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
            return Err(self.error("invalid number"));
        }
        let mut digits = int;
        let mut fraction_len = 0i64;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let fraction = self.digits();
            if fraction.is_empty() {
                return Err(self.error("invalid number"));
            }
            fraction_len = fraction.len() as i64;
            digits.extend_from_slice(fraction);
        }
        let mut exponent = 0i64;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            let exponent_negative = match self.peek() {
                Some(b'-') => {
                    self.pos += 1;
                    true
                }
                Some(b'+') => {
                    self.pos += 1;
                    false
                }
                _ => false,
            };
            let text = self.digits();
            if text.is_empty() {
                return Err(self.error("invalid number"));
            }
            // Leading zeros are legal in an exponent; anything longer than
            // the bound after them is out of range.
            let significant = &text[text.iter().position(|&b| b != b'0').unwrap_or(text.len())..];
            if significant.len() > 7 {
                return Err(self.error("exponent out of range"));
            }
            let magnitude = significant.iter().fold(0i64, |n, &b| n * 10 + i64::from(b - b'0'));
            if magnitude > MAX_EXPONENT {
                return Err(self.error("exponent out of range"));
            }
            exponent = if exponent_negative { -magnitude } else { magnitude };
        }
        let scale = fraction_len - exponent;
        let significant = &digits[digits.iter().position(|&b| b != b'0').unwrap_or(digits.len())..];
        let fraction_digits = scale.max(0) as usize;
        if significant.is_empty() {
            // numeric has no negative zero.
            out.push(b'0');
            if fraction_digits > 0 {
                out.push(b'.');
                out.resize(out.len() + fraction_digits, b'0');
            }
            return Ok(());
        }
        if negative {
            out.push(b'-');
        }
        if scale <= 0 {
            out.extend_from_slice(significant);
            out.resize(out.len() + (-scale) as usize, b'0');
        } else if significant.len() > fraction_digits {
            let point = significant.len() - fraction_digits;
            out.extend_from_slice(&significant[..point]);
            out.push(b'.');
            out.extend_from_slice(&significant[point..]);
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + fraction_digits - significant.len(), b'0');
            out.extend_from_slice(significant);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::{Value, json};

    fn canon(text: &str) -> String {
        let mut out = Vec::new();
        write_canonical_json("metadata", text, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

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
    fn numbers_are_written_as_postgresql_numeric_prints_them() {
        // Left: what serde_json may send; right: what jsonb returns for it
        // (checked against PostgreSQL 15). Both sides must give the right.
        for (input, expected) in [
            ("0", "0"),
            ("-0", "0"),
            ("-0.0", "0.0"),
            ("0e-3", "0.000"),
            ("123", "123"),
            ("-17", "-17"),
            ("1e0", "1"),
            ("10e-1", "1.0"),
            ("100.0", "100.0"),
            ("0.00100", "0.00100"),
            ("1e16", "10000000000000000"),
            ("1E+16", "10000000000000000"),
            ("-1E+2", "-100"),
            ("1.5e-7", "0.00000015"),
            ("1.2345678901234568e22", "12345678901234568000000"),
            ("18446744073709551616", "18446744073709551616"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("0.1", "0.1"),
            ("3.14159e2", "314.159"),
        ] {
            assert_eq!(canon(input), expected, "{input}");
            assert_eq!(canon(expected), expected, "idempotent for {expected}");
        }
        let tiny = canon("5e-324");
        assert_eq!(tiny.len(), 2 + 324);
        assert!(tiny.starts_with("0.000") && tiny.ends_with("05"));
    }

    #[test]
    fn objects_are_sorted_by_key_bytes_and_whitespace_is_dropped() {
        // jsonb's own order (shorter keys first) and spacing, and serde_json's.
        let from_db = r#"{"b": 1, "aa": [true, null, {"é": "x", "z": {}}], "a": {"é": "é\n\u001f\"/"}}"#;
        let from_writer = r#"{"a":{"é":"\u00e9\n\u001f\"\/"},"aa":[true,null,{"z":{},"é":"x"}],"b":1}"#;
        let expected = r#"{"a":{"é":"é\n\u001f\"/"},"aa":[true,null,{"z":{},"é":"x"}],"b":1}"#;
        assert_eq!(canon(from_db), expected);
        assert_eq!(canon(from_writer), expected);
        assert_eq!(canon(r#"{"k": 1, "k": 2}"#), r#"{"k":2}"#, "the last of repeated keys wins, as in jsonb");
        assert_eq!(canon(" [ ] "), "[]");
        assert_eq!(canon(r#""\ud83d\ude00 \u0007""#), "\"😀 \\u0007\"");
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
    fn invalid_json_is_an_error_not_a_guess() {
        for bad in ["", "{", "[1,]", "01", "1.", "1e", "\"\\x\"", "\"\\ud800\"", "tru", "{} {}", "{'a':1}"] {
            let mut out = Vec::new();
            assert!(write_canonical_json("changes", bad, &mut out).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(write_canonical_json("changes", &deep, &mut Vec::new()).is_err());
        assert!(write_canonical_json("changes", "1e999999999", &mut Vec::new()).is_err());
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
