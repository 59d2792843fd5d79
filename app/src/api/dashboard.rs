//! The dashboard's one server function: every count from the store's
//! rollups (never by counting the log), the recent high-priority events and
//! the failed sign-in bursts from two bounded timeline reads.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::dashboard::Dashboard;

/// Failed sign-ins read to find bursts: enough for every burst of a busy
/// week, bounded whatever happens.
#[cfg(feature = "ssr")]
const FAILED_READ: usize = 500;
/// High-priority events listed (before bursts are added).
#[cfg(feature = "ssr")]
const HIGH_SHOWN: usize = 8;

/// The dashboard of `org` over `range` (`24h`, `7d`, `30d`, `90d`; default
/// `7d`) in `tz` (an IANA zone; default UTC). Needs the whole org's log:
/// a viewer limited to part of it (an embed's token) is refused, since the
/// counts would tell of the rest.
#[server(prefix = "/api/ui", endpoint = "dashboard")]
pub async fn load_dashboard(
    org: String,
    range: Option<String>,
    tz: Option<String>,
) -> Result<Dashboard, AppError> {
    use chrono::Utc;

    use super::store::{admit, authorize, fail, unavailable};
    use super::{Need, Work};
    use crate::model::dashboard::{DashRange, PeriodCount, Span, Story, failed_sign_in_bursts, plan};
    use crate::model::{EventQuery, Priority, TimelineFilter};

    let (store, grant) = authorize(&org, Need::ReadOrgWide).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    let range = match range.as_deref().map(str::trim) {
        None | Some("") => DashRange::Week,
        Some(r) => DashRange::parse(r)
            .ok_or_else(|| fail(AppError::bad_request("range", "use 24h, 7d, 30d or 90d")))?,
    };
    let zone_name = tz.as_deref().map(str::trim).filter(|z| !z.is_empty()).unwrap_or("UTC");
    let zone: chrono_tz::Tz = zone_name.parse().map_err(|_| {
        let shown: String = zone_name.chars().filter(|c| !c.is_control()).take(64).collect();
        fail(AppError::bad_request("tz", format!("'{shown}' is not a time zone this server knows")))
    })?;
    let zone_name = zone.name().to_string();
    let now = Utc::now();
    let plan = plan::plan(range, zone, now);
    let _permit = admit(Work::Read, org_id, viewer, false).await?;

    // Every bound of every period and bar, once, ascending; each number is
    // then a sum of the spans between its two bounds.
    let spans: Vec<&Span> = plan.periods.iter().chain(plan.bars.iter()).map(|(_, s)| s).collect();
    let mut bounds: Vec<chrono::DateTime<Utc>> =
        spans.iter().flat_map(|s| [plan::instant(zone, s.after), plan::instant(zone, s.before)]).collect();
    bounds.sort();
    bounds.dedup();
    let counts = store.span_counts(org_id, &bounds).await.map_err(unavailable)?;
    let between = |s: &Span| -> Vec<u64> {
        let (from, until) = (plan::instant(zone, s.after), plan::instant(zone, s.before));
        let mut sum = vec![0; crate::model::Category::ALL.len()];
        for (i, w) in bounds.windows(2).enumerate() {
            if w[0] >= from && w[1] <= until {
                for (total, n) in sum.iter_mut().zip(counts.get(i).into_iter().flatten()) {
                    *total += n;
                }
            }
        }
        sum
    };
    let periods = plan
        .periods
        .iter()
        .map(|(label, span)| PeriodCount {
            label: label.clone(),
            span: span.clone(),
            events: between(span).iter().sum(),
        })
        .collect();
    let bars: Vec<crate::model::dashboard::Bar> = plan
        .bars
        .iter()
        .map(|(label, span)| crate::model::dashboard::Bar {
            label: label.clone(),
            span: span.clone(),
            counts: between(span),
        })
        .collect();
    let (total_events, storage_bytes) = store.log_totals(org_id).await.map_err(unavailable)?;
    let span = Span {
        after: bars.first().map(|b| b.span.after).unwrap_or_default(),
        before: bars.last().map(|b| b.span.before).unwrap_or_default(),
    };

    // The recent high-priority events and the failed sign-in bursts of the
    // chart's span: two bounded walks down indexes.
    let in_span = span.filter(&zone_name);
    let high_filter = TimelineFilter { priorities: vec![Priority::High], ..in_span.clone() };
    let query =
        EventQuery::single(high_filter, now).map_err(|e| fail(AppError::bad_request(e.field, e.message)))?;
    let high = store.list_events(org_id, &query, None, HIGH_SHOWN).await.map_err(unavailable)?;
    let failed_filter = TimelineFilter { actions: vec!["login_failed".into()], ..in_span };
    let query = EventQuery::single(failed_filter, now)
        .map_err(|e| fail(AppError::bad_request(e.field, e.message)))?;
    let failed = store.list_events(org_id, &query, None, FAILED_READ).await.map_err(unavailable)?;
    let mut stories: Vec<Story> = high
        .events
        .iter()
        .map(|e| Story {
            title: format!(
                "{} · {}",
                crate::model::action_label(&e.action),
                e.entity.name.clone().unwrap_or_else(|| e.entity.id.clone())
            ),
            count: 1,
            at: e.occurred_at,
            filter: TimelineFilter {
                record: Some(e.entity.id.clone()),
                entity_types: vec![e.entity.entity_type.clone()],
                ..Default::default()
            },
            record: Some((e.entity.entity_type.clone(), e.entity.id.clone())),
            actor: Some((e.actor.id.clone(), e.actor.name.clone())),
        })
        .collect();
    stories.extend(failed_sign_in_bursts(&failed.events, &zone_name));
    stories.sort_by_key(|s| std::cmp::Reverse(s.at));
    stories.truncate(HIGH_SHOWN + 2);
    Ok(Dashboard { zone: zone_name, range, periods, total_events, storage_bytes, span, bars, high: stories })
}
