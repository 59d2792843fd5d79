use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A keyset position in a timeline: the `(occurred_at, id)` of the last
/// event of a page. Pages continue strictly after it in
/// `(occurred_at DESC, id DESC)` order, so inserts elsewhere never shift them.
///
/// Clients treat the encoded form as opaque; it is versioned so the encoding
/// can change without breaking bookmarked "load more" links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("v1.{:x}.{}", self.occurred_at.timestamp_micros(), self.id.simple())
    }

    pub fn decode(raw: &str) -> Option<Cursor> {
        let rest = raw.strip_prefix("v1.")?;
        let (micros, id) = rest.split_once('.')?;
        let micros = i64::from_str_radix(micros, 16).ok()?;
        // Only instants PostgreSQL can hold (and far wider than any event):
        // an edited cursor must be refused here, not by the database.
        let occurred_at = DateTime::<Utc>::from_timestamp_micros(micros)
            .filter(|t| (1..=9999).contains(&chrono::Datelike::year(t)))?;
        let id = Uuid::try_parse(id).ok()?;
        Some(Cursor { occurred_at, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let c = Cursor {
            occurred_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0042),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        let far = format!("v1.{:x}.00000000000000000000000000000000", i64::MAX / 2);
        let before = "v1.-7000000000000000.00000000000000000000000000000000";
        for bad in
            ["", "v1.", "v2.1.2", "v1.zz.00000000000000000000000000000000", "v1.10.not-a-uuid", &far, before]
        {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
