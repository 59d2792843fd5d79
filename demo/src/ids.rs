//! Identifiers in the shapes real systems use: ULID-style record ids with a
//! type prefix (`inv_01J…`), `req_` request ids, and UUIDv7 event ids.

use uuid::Uuid;

use super::rng::Rng;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `prefix` + `_` + a 26-character ULID for the given time. The 80 random
/// bits make collisions between records practically impossible, and the
/// time prefix makes ids of older records sort first, as in production.
pub fn record_id(prefix: &str, unix_millis: i64, rng: &mut Rng) -> String {
    let time = (unix_millis.max(0) as u128) & ((1 << 48) - 1);
    let random = u128::from(rng.next_u64()) << 16 | u128::from(rng.next_u64() >> 48);
    let value = time << 80 | random;
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for i in (0..26).rev() {
        out.push(CROCKFORD[((value >> (i * 5)) & 31) as usize] as char);
    }
    out
}

/// `prefix` followed by `n` lowercase hex digits.
pub fn hex_id(prefix: &str, n: usize, rng: &mut Rng) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(prefix.len() + n);
    out.push_str(prefix);
    let mut bits = 0u64;
    for i in 0..n {
        if i % 16 == 0 {
            bits = rng.next_u64();
        }
        out.push(HEX[(bits & 15) as usize] as char);
        bits >>= 4;
    }
    out
}

/// A random string over `alphabet`, for fake secrets and tokens.
pub fn token(prefix: &str, alphabet: &[u8], n: usize, rng: &mut Rng) -> String {
    let mut out = String::with_capacity(prefix.len() + n);
    out.push_str(prefix);
    for _ in 0..n {
        out.push(alphabet[rng.below(alphabet.len())] as char);
    }
    out
}

pub const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The event id: a UUIDv7 whose 12 bits after the millisecond carry the
/// sub-millisecond microseconds (RFC 9562, method 3). Demo instants are
/// strictly ascending in microseconds, so ids ascend with them and the
/// store's id tiebreaker agrees with the time order.
pub fn event_id(unix_micros: i64, rng: &mut Rng) -> Uuid {
    let micros = unix_micros.max(0) as u64;
    let millis = micros / 1000;
    let sub = (micros % 1000) as u16;
    let mut bytes = [0u8; 10];
    rng.fill(&mut bytes[2..]);
    bytes[0] = (sub >> 8) as u8;
    bytes[1] = sub as u8;
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

/// `José Álvarez` -> `jose.alvarez`: the local part of a work email.
pub fn email_local(full_name: &str) -> String {
    let mut words = full_name.split_whitespace();
    let first = words.next().unwrap_or("user");
    let last = words.last();
    let mut out = fold(first);
    if let Some(last) = last {
        out.push('.');
        out.push_str(&fold(last));
    }
    out
}

/// Lowercase ASCII with accents dropped; apostrophes and spaces vanish.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mapped = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
            'í' | 'ì' | 'î' | 'ï' | 'Í' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ó' | 'Ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ü' => 'u',
            'ç' | 'č' | 'Ç' | 'Č' => 'c',
            'ñ' | 'ń' => 'n',
            'ł' | 'Ł' => 'l',
            'ś' | 'š' | 'ß' | 'Ś' | 'Š' => 's',
            'ž' | 'ź' | 'ż' | 'Ž' => 'z',
            c if c.is_ascii_alphanumeric() || c == '-' => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(mapped);
    }
    out
}

/// `Café Lumière Ltd` -> `cafelumiere`: a domain label for fake addresses.
pub fn domain_label(company: &str) -> String {
    let mut out = fold(company);
    out.retain(|c| c != '-');
    if out.is_empty() { "example".to_string() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let mut rng = Rng::new(1);
        let id = record_id("inv", 1_717_000_000_000, &mut rng);
        assert!(id.starts_with("inv_01"), "{id}");
        assert_eq!(id.len(), 4 + 26);
        let req = hex_id("req_", 16, &mut rng);
        assert_eq!(req.len(), 20);
        assert!(req[4..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(email_local("José Álvarez"), "jose.alvarez");
        assert_eq!(email_local("Siobhán O'Connor"), "siobhan.oconnor");
        assert_eq!(email_local("Łukasz Wiśniewski"), "lukasz.wisniewski");
        assert_eq!(domain_label("Fjord & Co"), "fjordco");
    }

    #[test]
    fn event_ids_are_v7_and_follow_time() {
        let mut rng = Rng::new(2);
        let a = event_id(1_717_000_000_000_001, &mut rng);
        let b = event_id(1_717_000_000_000_002, &mut rng);
        let c = event_id(1_717_000_000_001_000, &mut rng);
        assert_eq!(a.get_version_num(), 7);
        assert!(a < b && b < c);
    }
}
