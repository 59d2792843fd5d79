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
            let (f_from, f_until) = window(f, now)?;
            from = from.max(f_from);
            until = match (until, f_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(EventQuery { filters, from, until })
    }

    /// The query for one filter alone.
    pub fn single(filter: TimelineFilter, now: DateTime<Utc>) -> Result<EventQuery, WindowError> {
        EventQuery::resolve(vec![filter], now)
    }

    /// An empty window: nothing can match.
    pub fn is_empty_window(&self) -> bool {
        matches!((self.from, self.until), (Some(a), Some(b)) if a >= b)
    }
}

/// `[from, until)`; either end may be open.
type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// One filter's `[from, until)`: the later of `within` and `after`, and
/// `before`, read in the filter's zone.
fn window(f: &TimelineFilter, now: DateTime<Utc>) -> Result<Window, WindowError> {
    let zone = match f.tz.as_deref() {
        None | Some("UTC") => chrono_tz::UTC,
        Some(name) => name.parse::<chrono_tz::Tz>().map_err(|_| WindowError {
            field: "tz",
            message: format!("'{name}' is not a time zone this server knows"),
        })?,
    };
    let instant = |local: chrono::NaiveDateTime| -> DateTime<Utc> {
        use chrono::TimeZone;
        // In a DST gap the wall-clock time does not exist; the hour after it
        // does. In an overlap, the earlier instant keeps the window wide.
        zone.from_local_datetime(&local)
            .earliest()
            .or_else(|| zone.from_local_datetime(&(local + chrono::Duration::hours(1))).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| local.and_utc())
    };
    let recent = f.within.map(|w| now - chrono::Duration::hours(w.hours()));
    let from = recent.max(f.after.map(instant));
    let until = f.before.map(instant);
    Ok((from, until))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::filter::{Within, parse_date_time};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
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
}
