//! Reading `changes` and `metadata` back so that a stored event always
//! renders.
//!
//! jsonb keeps numbers as exact decimals and prints them without an
//! exponent. Ingestion refuses numbers that would not read back
//! (`app::model::limits::number_problem`), but an event stored before that
//! rule, or put in by hand, may hold one: the largest double comes back as
//! 309 digits, which serde_json rounds past the largest double and refuses,
//! and with it the whole page, export or live message. The log is
//! append-only, so such a row must be read, not skipped: numbers the reader
//! refuses are read as the nearest double, or (past every double) as their
//! digits in a string.

use serde_json::Value;
use sqlx::decode::Decode;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef, Postgres};
use sqlx::types::Json;

/// A jsonb column, read leniently (see the module).
pub struct StoredJson(pub Value);

impl sqlx::Type<Postgres> for StoredJson {
    fn type_info() -> PgTypeInfo {
        <Json<Value> as sqlx::Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <Json<Value> as sqlx::Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for StoredJson {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Postgres>>::decode(value)?;
        // jsonb's binary form starts with its version byte, 1; no JSON
        // document starts with that character.
        let text = text.strip_prefix('\u{1}').unwrap_or(text);
        Ok(StoredJson(read_stored(text)?))
    }
}

/// `text` as JSON, numbers the reader refuses made readable.
pub fn read_stored(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(text).or_else(|_| serde_json::from_str(&tame_numbers(text)))
}

/// `text` with every number outside strings that serde_json would refuse
/// rewritten: as the nearest double when there is one, else as a string of
/// its digits.
fn tame_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.char_indices().peekable();
    let (mut in_string, mut escaped) = (false, false);
    while let Some((i, c)) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c == '"' {
            in_string = true;
            out.push(c);
            continue;
        }
        if c == '-' || c.is_ascii_digit() {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_ascii_digit() || matches!(d, '.' | 'e' | 'E' | '+' | '-') {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let token = &text[i..end];
            if serde_json::from_str::<serde_json::Number>(token).is_ok() {
                out.push_str(token);
            } else {
                match token.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                    Some(n) => out.push_str(&n.to_string()),
                    None => out.push_str(&serde_json::to_string(token).unwrap_or_default()),
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_the_reader_refuses_are_read_as_the_nearest_double() {
        // 1.7976931348623157e308 as jsonb prints it.
        let max = format!("179769313486231570{}", "0".repeat(291));
        assert!(serde_json::from_str::<Value>(&max).is_err(), "the reader's own limit");
        let doc = format!(r#"{{"big": {max}, "n": [1, -2.5, 1e3], "s": "{max} \" {{"}}"#);
        let read = read_stored(&doc).unwrap();
        assert_eq!(read["big"].as_f64(), Some(f64::MAX));
        assert_eq!(read["n"], serde_json::json!([1, -2.5, 1000.0]));
        assert_eq!(read["s"], format!("{max} \" {{"), "strings are left alone");
    }

    #[test]
    fn numbers_past_every_double_become_strings() {
        let huge = format!("1{}", "0".repeat(400));
        let read = read_stored(&format!(r#"{{"huge": -{huge}}}"#)).unwrap();
        assert_eq!(read["huge"], format!("-{huge}"));
    }
}
