//! The filter's values one by one: what each key accepts, in the canonical
//! form it is kept in. Used by the URL codec and the search box alike.

use super::MAX_VALUE_CHARS;
use crate::model::names;

/// Printable, bounded, and without `"`, which the search box uses to quote.
pub(super) fn plain_text(v: &str) -> bool {
    !v.is_empty() && v.chars().count() <= MAX_VALUE_CHARS && !v.chars().any(|c| c.is_control() || c == '"')
}

pub(super) fn check_text(v: &str, what: &str) -> Result<String, String> {
    let v = v.trim();
    if plain_text(v) { Ok(v.to_string()) } else { Err(format!("not {what}")) }
}

/// `delete`, `invoice.update`, `invoice.*`, `*.view`: dot-separated
/// snake_case words, where the first or last word may be `*`.
pub fn check_action(v: &str) -> Result<String, String> {
    let v = v.trim().to_ascii_lowercase();
    let words: Vec<&str> = v.split('.').collect();
    let last = words.len() - 1;
    let ok = v.len() <= 100
        && words.iter().any(|w| *w != "*")
        && words.iter().enumerate().all(|(i, w)| (*w == "*" && (i == 0 || i == last)) || is_snake_word(w));
    if ok {
        Ok(v)
    } else {
        Err("not an action: use a type such as delete, an action such as invoice.update, or a pattern \
             such as invoice.*"
            .into())
    }
}

/// One word of a filter's action or entity type: the stored names' shape,
/// at most 64 bytes.
fn is_snake_word(w: &str) -> bool {
    w.len() <= 64 && names::is_snake_word(w)
}

/// Entity categories are snake_case words: `invoice`, `api_key`.
pub fn is_entity_type(s: &str) -> bool {
    is_snake_word(s)
}

pub(super) fn check_entity_type(v: &str) -> Result<String, String> {
    let v = v.trim();
    if is_entity_type(v) { Ok(v.to_string()) } else { Err("not an entity type such as invoice".into()) }
}

pub(super) fn check_actor(v: &str) -> Result<String, String> {
    let v = v.trim();
    if plain_text(v) && !v.contains(',') { Ok(v.to_string()) } else { Err("not an actor".into()) }
}

/// An IPv4 or IPv6 address, or a block such as `10.1.0.0/16`.
pub fn check_ip(v: &str) -> Result<String, String> {
    let v = v.trim();
    let (addr, bits) = match v.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let err = || format!("'{v}' is not an IP address or a block such as 10.1.0.0/16");
    let addr: std::net::IpAddr = addr.parse().map_err(|_| err())?;
    match bits {
        None => Ok(addr.to_string()),
        Some(b) => {
            let max = if addr.is_ipv4() { 32 } else { 128 };
            match b.parse::<u8>() {
                Ok(n) if n <= max => Ok(format!("{addr}/{n}")),
                _ => Err(err()),
            }
        }
    }
}

pub fn check_country(v: &str) -> Result<String, String> {
    let v = v.trim();
    if v.len() == 2 && v.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(v.to_ascii_uppercase())
    } else {
        Err("not a two-letter country code such as DE".into())
    }
}

/// An IANA zone name such as `Europe/Paris`, or `UTC`. Whether the zone
/// exists is checked where the dates are resolved, on the server.
pub fn check_time_zone(v: &str) -> Result<String, String> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.split('/').all(|part| {
            !part.is_empty()
                && part.starts_with(|c: char| c.is_ascii_alphabetic())
                && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        });
    if ok { Ok(v.to_string()) } else { Err("not a time zone such as Europe/Paris".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        assert_eq!(check_action("Invoice.*").unwrap(), "invoice.*");
        assert!(check_action("*.view").is_ok() && check_action("delete").is_ok());
        for bad in ["*", "*.*", "invoice.*.x", "a..b", "", "in voice", "1x"] {
            assert!(check_action(bad).is_err(), "{bad}");
        }
        assert_eq!(check_ip("2001:db8::1").unwrap(), "2001:db8::1");
        assert!(check_ip("10.0.0.0/33").is_err() && check_ip("10.0.0.0/").is_err());
        assert_eq!(check_country("de").unwrap(), "DE");
        assert!(check_time_zone("America/Argentina/Buenos_Aires").is_ok());
        assert!(check_time_zone("Etc/GMT+5").is_ok() && check_time_zone("../etc").is_err());
    }
}
