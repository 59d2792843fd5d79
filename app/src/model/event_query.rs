use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TimelineFilter;

/// What a store is asked for: events matching every one of `filters` (a
/// viewer's fixed scope and the page's own filter, say), in the time window
/// `[from, until)`. Dates are resolved to instants before a store sees them,
/// so every store reads `after:2026-01-01` in the same zone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventQuery {
    pub filters: Vec<TimelineFilter>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// One event by id: an entry's own export.
    #[serde(default)]
    pub event: Option<uuid::Uuid>,
}

/// Why a filter's dates cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowError {
    pub field: &'static str,
    pub message: String,
}

impl EventQuery {
    /// Resolves every filter's presets and dates against `now`; the window is
    /// their intersection (a scope can only narrow).
    pub fn resolve(filters: Vec<TimelineFilter>, now: DateTime<Utc>) -> Result<EventQuery, WindowError> {
        let mut from: Option<DateTime<Utc>> = None;
        let mut until: Option<DateTime<Utc>> = None;
        for f in &filters {
            no_nul(f)?;
            let (f_from, f_until) = window(f, now)?;
            from = from.max(f_from);
            until = match (until, f_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(EventQuery { filters, from, until, event: None })
    }

    /// The query for one filter alone.
    pub fn single(filter: TimelineFilter, now: DateTime<Utc>) -> Result<EventQuery, WindowError> {
        EventQuery::resolve(vec![filter], now)
    }

    /// An empty window: nothing can match.
    /// Whether reading it may take real work: a text search or an actor
    /// lookup (by prefix), rather than a walk down an index that stops after
    /// a page of rows.
    pub fn is_costly(&self) -> bool {
        self.filters.iter().any(|f| !f.q.trim().is_empty() || !f.actors.is_empty())
    }

    /// No filter at all (dates count as one): the whole log newest first,
    /// whose one good plan is a walk down the timeline index whatever the
    /// org.
    pub fn is_unfiltered(&self) -> bool {
        self.filters.iter().all(TimelineFilter::is_empty)
            && self.from.is_none()
            && self.until.is_none()
            && self.event.is_none()
    }

    pub fn is_empty_window(&self) -> bool {
        matches!((self.from, self.until), (Some(a), Some(b)) if a >= b)
    }
}

/// Refuses a NUL in any of `f`'s text: PostgreSQL text cannot hold one, so
/// it would fail the read (a store error) rather than match nothing.
fn no_nul(f: &super::TimelineFilter) -> Result<(), WindowError> {
    let has_nul = |v: &str| v.contains('\0');
    let fields: [(&'static str, bool); 10] = [
        ("q", has_nul(&f.q)),
        ("action", f.actions.iter().any(|v| has_nul(v))),
        ("not_action", f.not_actions.iter().any(|v| has_nul(v))),
        ("entity", f.entity_types.iter().any(|v| has_nul(v))),
        ("actor", f.actors.iter().any(|v| has_nul(v))),
        ("record", f.record.as_deref().is_some_and(has_nul)),
        ("ip", f.ip.as_deref().is_some_and(has_nul)),
        ("session", f.session.as_deref().is_some_and(has_nul)),
        ("country", f.country.as_deref().is_some_and(has_nul)),
        ("tz", f.tz.as_deref().is_some_and(has_nul)),
    ];
    match fields.iter().find(|(_, bad)| *bad) {
        Some((field, _)) => Err(WindowError { field, message: "must not contain a NUL character".into() }),
        None => Ok(()),
    }
}

/// `[from, until)`; either end may be open.
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// One filter's `[from, until)`: the later of `within` and `after`, and
/// `before`, read in the filter's zone.
fn window(f: &TimelineFilter, now: DateTime<Utc>) -> Result<Window, WindowError> {
    let zone = match f.tz.as_deref() {
        None | Some("UTC") => chrono_tz::UTC,
        Some(name) => name.parse::<chrono_tz::Tz>().map_err(|_| {
            // The name comes from the client: quote only a bounded prefix.
            let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
            WindowError { field: "tz", message: format!("'{shown}' is not a time zone this server knows") }
        })?,
    };
    let instant = |field: &'static str, local: chrono::NaiveDateTime| -> Result<DateTime<Utc>, WindowError> {
        // A filter's dates come from the URL (four-digit years from 1970)
        // or from a client calling the server directly with any date chrono
        // can hold; past year 9999 the arithmetic below, the database's
        // timestamps and the UI's date format all run out.
        let (earliest, latest) = date_range();
        if local < earliest || local > latest {
            return Err(WindowError {
                field,
                message: "not a date between 1970-01-01 and 9999-12-31".to_string(),
            });
        }
        Ok(local_instant(zone, local))
    };
    let recent = f.within.and_then(|w| now.checked_sub_signed(chrono::TimeDelta::hours(w.hours())));
    let after = f.after.map(|d| instant("after", d)).transpose()?;
    let from = recent.max(after);
    let until = f.before.map(|d| instant("before", d)).transpose()?;
    Ok((from, until))
}

/// The instant a wall-clock time in `zone` names. In a DST gap the
/// wall-clock time does not exist; the hour after it does. In an overlap,
/// the earlier instant keeps a window wide.
pub fn local_instant(zone: chrono_tz::Tz, local: chrono::NaiveDateTime) -> DateTime<Utc> {
    use chrono::TimeZone;
    zone.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            let later = local.checked_add_signed(chrono::TimeDelta::hours(1))?;
            zone.from_local_datetime(&later).earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| local.and_utc())
}

/// The wall-clock dates a filter may name.
fn date_range() -> (chrono::NaiveDateTime, chrono::NaiveDateTime) {
    use chrono::NaiveDate;
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    (
        day(1970, 1, 1).and_time(chrono::NaiveTime::MIN),
        day(9999, 12, 31).and_hms_opt(23, 59, 59).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::filter::{Within, parse_date_time};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_nul_in_any_text_is_refused_naming_its_key() {
        let now = at("2026-01-01T00:00:00Z");
        let q = TimelineFilter { q: "a\0".into(), ..Default::default() };
        assert_eq!(EventQuery::single(q, now).unwrap_err().field, "q");
        let actor = TimelineFilter { actors: vec!["ok".into(), "usr\0".into()], ..Default::default() };
        assert_eq!(EventQuery::single(actor, now).unwrap_err().field, "actor");
        let fine = TimelineFilter { q: "a".into(), record: Some("inv_1".into()), ..Default::default() };
        assert!(EventQuery::single(fine, now).is_ok());
    }

    #[test]
    fn dates_are_read_in_the_filter_zone() {
        let f = TimelineFilter {
            after: Some(parse_date_time("2026-01-01").unwrap()),
            before: Some(parse_date_time("2026-07-01").unwrap()),
            tz: Some("Europe/Paris".into()),
            ..Default::default()
        };
        let q = EventQuery::single(f, at("2026-11-23T00:00:00Z")).unwrap();
        assert_eq!(q.from, Some(at("2025-12-31T23:00:00Z")), "winter: UTC+1");
        assert_eq!(q.until, Some(at("2026-06-30T22:00:00Z")), "summer: UTC+2");
    }

    #[test]
    fn presets_and_scopes_intersect() {
        let now = at("2026-11-23T12:00:00Z");
        let scope =
            TimelineFilter { after: Some(parse_date_time("2026-11-20").unwrap()), ..Default::default() };
        let page = TimelineFilter { within: Some(Within::Week), ..Default::default() };
        let q = EventQuery::resolve(vec![scope, page], now).unwrap();
        assert_eq!(q.from, Some(at("2026-11-20T00:00:00Z")));
        assert_eq!(q.until, None);
        let day = TimelineFilter { within: Some(Within::Day), ..Default::default() };
        assert_eq!(EventQuery::single(day, now).unwrap().from, Some(at("2026-11-22T12:00:00Z")));
    }

    #[test]
    fn a_missing_wall_clock_hour_still_resolves() {
        // 02:30 does not exist in Paris on 2026-03-29.
        let f = TimelineFilter {
            after: Some(parse_date_time("2026-03-29T02:30").unwrap()),
            tz: Some("Europe/Paris".into()),
            ..Default::default()
        };
        assert_eq!(EventQuery::single(f, Utc::now()).unwrap().from, Some(at("2026-03-29T01:30:00Z")));
    }

    #[test]
    fn an_unknown_zone_is_an_error_naming_tz() {
        let f = TimelineFilter {
            after: Some(parse_date_time("2026-01-01").unwrap()),
            tz: Some("Mars/Olympus_Mons".into()),
            ..Default::default()
        };
        assert_eq!(EventQuery::single(f, Utc::now()).unwrap_err().field, "tz");
    }

    #[test]
    fn extreme_dates_and_zones_are_errors_naming_their_key() {
        use chrono::NaiveDate;
        let date = |y: i32| NaiveDate::from_ymd_opt(y, 1, 1).unwrap().and_time(chrono::NaiveTime::MIN);
        let now = at("2026-11-23T12:00:00Z");
        for (y, field) in
            [(99999, "after"), (-1, "after"), (0, "before"), (1969, "before"), (262_000, "before")]
        {
            let mut f = TimelineFilter::default();
            if field == "after" {
                f.after = Some(date(y));
            } else {
                f.before = Some(date(y));
            }
            assert_eq!(EventQuery::single(f, now).unwrap_err().field, field, "{y}");
        }
        // The very last representable wall-clock time, in a zone ahead of UTC.
        let f = TimelineFilter {
            before: Some(chrono::NaiveDateTime::MAX),
            tz: Some("Pacific/Kiritimati".into()),
            ..Default::default()
        };
        assert_eq!(EventQuery::single(f, now).unwrap_err().field, "before");
        let f = TimelineFilter {
            after: Some(date(9999)),
            before: Some(parse_date_time("9999-12-31T23:59:59").unwrap()),
            tz: Some("Pacific/Kiritimati".into()),
            ..Default::default()
        };
        assert!(EventQuery::single(f, now).is_ok(), "the last allowed year resolves");
        for zone in ["../../etc/passwd", "Mars/Olympus_Mons", &"Europe/".repeat(10_000), "\u{0}"] {
            let f =
                TimelineFilter { after: Some(date(2026)), tz: Some(zone.to_string()), ..Default::default() }
                    .normalized();
            let err = EventQuery::single(f, now).unwrap_err();
            assert_eq!(err.field, "tz", "{zone}");
            assert!(err.message.len() < 200, "bounded message");
        }
        let month = TimelineFilter { within: Some(Within::Month), ..Default::default() };
        let start = EventQuery::single(month, DateTime::<Utc>::MIN_UTC).unwrap();
        assert_eq!(start.from, None, "a window reaching before time is open");
    }
}
