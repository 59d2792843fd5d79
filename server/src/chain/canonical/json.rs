//! `changes` and `metadata` in canonical form: the stored JSON parsed and
//! written again with sorted keys, no whitespace, strings re-escaped and
//! numbers as PostgreSQL's `numeric` prints them (see the parent module for
//! the rules). A parser of its own rather than serde_json's: it must keep
//! every digit of a number exactly and refuse what jsonb would not hold.

use super::{CanonicalError, write_str};

/// How deep `changes` and `metadata` may nest (jsonb allows about as much).
const MAX_DEPTH: usize = 1000;
/// Largest decimal exponent accepted in a JSON number. f64 needs ~330 and
/// PostgreSQL never prints one; the bound keeps `1e999999999` from becoming
/// a gigabyte of zeros.
const MAX_EXPONENT: i64 = 100_000;

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

/// `text` in canonical form, for tests.
#[cfg(test)]
pub(super) fn canon(text: &str) -> String {
    let mut out = Vec::new();
    write_canonical_json("metadata", text, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn invalid_json_is_an_error_not_a_guess() {
        for bad in ["", "{", "[1,]", "01", "1.", "1e", "\"\\x\"", "\"\\ud800\"", "tru", "{} {}", "{'a':1}"] {
            let mut out = Vec::new();
            assert!(write_canonical_json("changes", bad, &mut out).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(write_canonical_json("changes", &deep, &mut Vec::new()).is_err());
        assert!(write_canonical_json("changes", "1e999999999", &mut Vec::new()).is_err());
    }
}
