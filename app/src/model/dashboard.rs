//! The audit dashboard's data: what is counted over which spans, in the
//! viewer's zone, and the stories of the recent high-priority events. Every
//! number carries the filter of exactly the events it counts, so the page
//! can link each one to the timeline.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Category, TimelineFilter};

/// The span the activity chart covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DashRange {
    Day,
    Week,
    Month,
    Quarter,
}

impl DashRange {
    pub const ALL: [DashRange; 4] = [Self::Day, Self::Week, Self::Month, Self::Quarter];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
            Self::Quarter => "90d",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Day => "24 hours",
            Self::Week => "7 days",
            Self::Month => "30 days",
            Self::Quarter => "90 days",
        }
    }
}

/// A span of wall-clock time in the dashboard's zone: what a timeline link
/// says with `after`, `before` and `tz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub after: NaiveDateTime,
    pub before: NaiveDateTime,
}

impl Span {
    /// The timeline filter for this span in `zone`.
    pub fn filter(&self, zone: &str) -> TimelineFilter {
        TimelineFilter {
            after: Some(self.after),
            before: Some(self.before),
            tz: Some(zone.to_string()),
            ..Default::default()
        }
        .normalized()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodCount {
    pub label: String,
    pub span: Span,
    pub events: u64,
}

/// One bar of the activity chart: events per category, in
/// [`Category::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bar {
    pub label: String,
    pub span: Span,
    pub counts: Vec<u64>,
}

impl Bar {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// A recent high-priority happening: one event, or several that tell one
/// story (five failed sign-ins to one account).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Story {
    pub title: String,
    pub count: u64,
    pub at: DateTime<Utc>,
    /// The events it is made of, for the link.
    pub filter: TimelineFilter,
    /// The event itself, when it is one: its record's history.
    pub record: Option<(String, String)>,
    /// Who it was about or by: id and name, for their people page.
    pub actor: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub zone: String,
    pub range: DashRange,
    /// Today, this week, this month.
    pub periods: Vec<PeriodCount>,
    pub total_events: u64,
    pub storage_bytes: u64,
    /// The chart's span as a whole.
    pub span: Span,
    pub bars: Vec<Bar>,
    pub high: Vec<Story>,
}

impl Dashboard {
    /// Events per category over the chart's span, in [`Category::ALL`] order.
    pub fn by_category(&self) -> Vec<(Category, u64)> {
        Category::ALL
            .iter()
            .enumerate()
            .map(|(i, c)| (*c, self.bars.iter().map(|b| b.counts.get(i).copied().unwrap_or(0)).sum()))
            .collect()
    }
}

/// Failed sign-ins this close together belong to one story.
pub const BURST_GAP_MINUTES: i64 = 15;
/// How many failed sign-ins in a row make a high-priority story.
pub const BURST_MIN: usize = 5;

/// Runs of at least [`BURST_MIN`] failed sign-ins by one actor, each within
/// [`BURST_GAP_MINUTES`] of the next, from `failed` (newest first, as the
/// timeline reads them). `zone` is the links' zone.
#[cfg(feature = "ssr")]
pub fn failed_sign_in_bursts(failed: &[super::AuditEvent], zone: &str) -> Vec<Story> {
    use std::collections::BTreeMap;
    let mut by_actor: BTreeMap<&str, Vec<&super::AuditEvent>> = BTreeMap::new();
    for e in failed {
        by_actor.entry(e.actor.id.as_str()).or_default().push(e);
    }
    let mut stories = Vec::new();
    for (actor, events) in by_actor {
        let mut run: Vec<&super::AuditEvent> = Vec::new();
        let mut flush = |run: &mut Vec<&super::AuditEvent>| {
            if run.len() >= BURST_MIN
                && let (Some(newest), Some(oldest)) = (run.first(), run.last())
            {
                let name = &newest.actor.name;
                let filter = TimelineFilter {
                    actions: vec!["login_failed".into()],
                    actors: vec![actor.to_string()],
                    after: Some(local(oldest.occurred_at, zone)),
                    // `before` is exclusive: a second past the newest.
                    before: Some(local(newest.occurred_at + chrono::TimeDelta::seconds(1), zone)),
                    tz: Some(zone.to_string()),
                    ..Default::default()
                }
                .normalized();
                stories.push(Story {
                    title: format!("Failed sign-ins ({}) · {name}", run.len()),
                    count: run.len() as u64,
                    at: newest.occurred_at,
                    filter,
                    record: None,
                    actor: Some((actor.to_string(), name.clone())),
                });
            }
            run.clear();
        };
        for e in events {
            let joins = run.last().is_some_and(|prev| {
                prev.occurred_at - e.occurred_at <= chrono::TimeDelta::minutes(BURST_GAP_MINUTES)
            });
            if !joins {
                flush(&mut run);
            }
            run.push(e);
        }
        flush(&mut run);
    }
    stories
}

/// `at` as a wall-clock time in `zone` (whole seconds, as the filters
/// read them); UTC when the zone is unknown.
#[cfg(feature = "ssr")]
pub fn local(at: DateTime<Utc>, zone: &str) -> NaiveDateTime {
    use chrono::Timelike;
    let t = match zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => at.with_timezone(&tz).naive_local(),
        Err(_) => at.naive_utc(),
    };
    t.with_nanosecond(0).unwrap_or(t)
}

/// Where the dashboard's numbers are counted, in `zone` at `now`: the
/// three periods, and the chart's bars (hours for a day, days otherwise),
/// as wall-clock spans and as instants.
#[cfg(feature = "ssr")]
pub mod plan {
    use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};

    use super::{DashRange, Span};

    pub struct Plan {
        pub periods: Vec<(String, Span)>,
        pub bars: Vec<(String, Span)>,
    }

    /// The instant a wall-clock time in `tz` names.
    pub use crate::model::event_query::local_instant as instant;

    pub fn plan(range: DashRange, tz: chrono_tz::Tz, now: DateTime<Utc>) -> Plan {
        let here = now.with_timezone(&tz).naive_local();
        let today = here.date();
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        let day = |d: NaiveDate| Span { after: midnight(d), before: midnight(d + TimeDelta::days(1)) };
        let monday = today - TimeDelta::days(i64::from(today.weekday().num_days_from_monday()));
        let first = today.with_day(1).unwrap_or(today);
        let next_month = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        }
        .unwrap_or(first + TimeDelta::days(31));
        let periods = vec![
            ("Today".to_string(), day(today)),
            (
                "This week".to_string(),
                Span { after: midnight(monday), before: midnight(monday + TimeDelta::days(7)) },
            ),
            ("This month".to_string(), Span { after: midnight(first), before: midnight(next_month) }),
        ];
        let bars = match range {
            DashRange::Day => {
                let hour = today.and_hms_opt(here.hour(), 0, 0).unwrap_or(midnight(today));
                (0..24)
                    .rev()
                    .map(|back| {
                        let after = hour - TimeDelta::hours(back);
                        (
                            after.format("%H:00").to_string(),
                            Span { after, before: after + TimeDelta::hours(1) },
                        )
                    })
                    .collect()
            }
            DashRange::Week | DashRange::Month | DashRange::Quarter => {
                let days = match range {
                    DashRange::Week => 7,
                    DashRange::Month => 30,
                    _ => 90,
                };
                (0..days)
                    .rev()
                    .map(|back| {
                        let d = today - TimeDelta::days(back);
                        (d.format("%b %-d").to_string(), day(d))
                    })
                    .collect()
            }
        };
        Plan { periods, bars }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::model::{Actor, ActorKind, AuditEvent, EntityRef, EventContext};
    use uuid::Uuid;

    fn failed(actor: &str, at: &str) -> AuditEvent {
        let at: DateTime<Utc> = at.parse().unwrap();
        AuditEvent {
            id: Uuid::from_u128(at.timestamp_micros() as u128),
            org_id: Uuid::nil(),
            seq: 0,
            occurred_at: at,
            received_at: at,
            actor: Actor {
                kind: ActorKind::User,
                id: actor.into(),
                name: format!("{actor} name"),
                email: None,
                avatar: None,
            },
            action: "session.login_failed".into(),
            entity: EntityRef { entity_type: "session".into(), id: "s".into(), name: None, deleted: false },
            changes: None,
            context: EventContext::default(),
            metadata: serde_json::json!({}),
            category: None,
            priority: None,
            estimated_country: None,
        }
    }

    #[test]
    fn five_failed_sign_ins_close_together_are_one_story() {
        let mut events: Vec<AuditEvent> =
            (0..6).map(|i| failed("john", &format!("2026-01-22T10:{:02}:00Z", 40 - i * 5))).collect();
        // Four for someone else, and one for John an hour earlier: no story.
        events.extend((0..4).map(|i| failed("mike", &format!("2026-01-22T10:{:02}:00Z", 30 - i))));
        events.push(failed("john", "2026-01-22T09:00:00Z"));
        events.sort_by_key(|e| std::cmp::Reverse(e.occurred_at));
        let stories = failed_sign_in_bursts(&events, "UTC");
        assert_eq!(stories.len(), 1, "{stories:?}");
        assert_eq!(stories[0].title, "Failed sign-ins (6) · john name");
        assert_eq!(
            stories[0].filter.to_query(),
            "action=login_failed&actor=john&after=2026-01-22T10:15&before=2026-01-22T10:40:01"
        );
    }

    #[test]
    fn periods_and_bars_start_at_local_midnight() {
        let tz: chrono_tz::Tz = "Asia/Kolkata".parse().unwrap();
        // Wednesday 2026-01-21 20:00 UTC is Thursday 01:30 in India.
        let p = plan::plan(DashRange::Week, tz, "2026-01-21T20:00:00Z".parse().unwrap());
        assert_eq!(p.periods[0].1.after.to_string(), "2026-01-22 00:00:00");
        assert_eq!(p.periods[1].1.after.to_string(), "2026-01-19 00:00:00", "Monday");
        assert_eq!(p.periods[2].1.before.to_string(), "2026-02-01 00:00:00");
        assert_eq!(p.bars.len(), 7);
        assert_eq!(p.bars[6].1, p.periods[0].1, "the last bar is today");
        let day = plan::plan(DashRange::Day, tz, "2026-01-21T20:00:00Z".parse().unwrap());
        assert_eq!(day.bars.len(), 24);
        assert_eq!(day.bars[23].1.after.to_string(), "2026-01-22 01:00:00");
        let dec = plan::plan(DashRange::Month, chrono_tz::UTC, "2026-12-31T23:00:00Z".parse().unwrap());
        assert_eq!(dec.periods[2].1.before.to_string(), "2027-01-01 00:00:00");
    }
}
