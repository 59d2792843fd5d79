//! The people page's server function: one actor's activity over a period,
//! counted from the per-actor daily rollups, with their latest events and
//! sessions from two bounded reads down the actor's index.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::people::PersonActivity;

/// Longest actor id accepted in the path.
pub const MAX_ACTOR_CHARS: usize = 256;
/// Record types listed by name; the rest are summed as "Other".
#[cfg(feature = "ssr")]
const MODULES: usize = 8;
/// Latest events shown.
#[cfg(feature = "ssr")]
const RECENT: usize = 10;
/// Sign-ins and sign-outs read to measure sessions: a busy year's worth.
#[cfg(feature = "ssr")]
const SESSION_READ: usize = 2_000;

/// What `actor` did in `org` over the last `days` UTC days (7, 30, 90 or
/// 365; default 30). Needs the whole org's log, like the dashboard: a
/// viewer limited to part of it is refused.
#[server(prefix = "/api/ui", endpoint = "person")]
pub async fn load_person(
    org: String,
    actor: String,
    days: Option<String>,
) -> Result<PersonActivity, AppError> {
    use chrono::Utc;

    use super::store::{admit, authorize, fail, unavailable};
    use super::{Need, Work};
    use crate::model::dashboard::Span;
    use crate::model::people::{
        Count, DEFAULT_DAYS, Measure, PERIOD_DAYS, SESSIONS, SIGN_OUTS, SUMMARY, period, session_lengths,
    };
    use crate::model::{EventQuery, TimelineFilter};

    let actor = actor.trim().to_string();
    if actor.is_empty() || actor.chars().count() > MAX_ACTOR_CHARS || actor.chars().any(char::is_control) {
        return Err(fail(AppError::bad_request(
            "actor",
            format!("an actor id of 1 to {MAX_ACTOR_CHARS} printable characters"),
        )));
    }
    let days = match days.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_DAYS,
        Some(d) => d
            .parse::<u32>()
            .ok()
            .filter(|d| PERIOD_DAYS.contains(d))
            .ok_or_else(|| fail(AppError::bad_request("days", "use 7, 30, 90 or 365")))?,
    };
    let (store, grant) = authorize(&org, Need::ReadOrgWide).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    let _permit = admit(Work::Read, org_id, viewer, false).await?;
    let now = Utc::now();
    let (from, until) = period(days, now);
    let span =
        Span { after: from.and_time(chrono::NaiveTime::MIN), before: until.and_time(chrono::NaiveTime::MIN) };
    let in_span = TimelineFilter { actors: vec![actor.clone()], ..span.filter("UTC") };
    let query = |filter: TimelineFilter| {
        EventQuery::single(filter, now).map_err(|e| fail(AppError::bad_request(e.field, e.message)))
    };

    let latest = TimelineFilter { actors: vec![actor.clone()], ..Default::default() };
    // The actor filter also takes the start of a name; this page is one id's.
    let recent: Vec<_> = store
        .list_events(org_id, &query(latest)?, None, RECENT)
        .await
        .map_err(unavailable)?
        .events
        .into_iter()
        .filter(|e| e.actor.id == actor)
        .collect();
    let Some(who) = recent.first().map(|e| e.actor.clone()) else {
        return Err(fail(AppError::NotFound(format!("No event in this log was done by '{actor}'."))));
    };

    let measures: Vec<&Measure> = SUMMARY.iter().chain(SESSIONS).collect();
    let terms: Vec<Vec<String>> = measures.iter().map(|m| m.terms()).collect();
    let counts =
        store.actor_counts(org_id, &actor, (from, until), &terms, MODULES).await.map_err(unavailable)?;
    let count = |label: &str, events: u64, filter: TimelineFilter| Count {
        label: label.to_string(),
        events,
        filter: filter.normalized(),
    };
    let mut measured = measures
        .iter()
        .zip(counts.measures.iter().copied())
        .map(|(m, n)| count(m.label, n, TimelineFilter { actions: m.terms(), ..in_span.clone() }));
    let summary: Vec<Count> = measured.by_ref().take(SUMMARY.len()).collect();
    let sessions: Vec<Count> = measured.collect();
    let listed: u64 = counts.modules.iter().map(|(_, n)| n).sum();
    let modules = counts
        .modules
        .iter()
        .map(|(t, n)| {
            let label = crate::model::entity_type_label(t);
            count(&label, *n, TimelineFilter { entity_types: vec![t.clone()], ..in_span.clone() })
        })
        .collect();

    let sign_ins_and_outs: Vec<String> =
        ["login", "sign_in"].iter().chain(SIGN_OUTS).map(|t| t.to_string()).collect();
    let session_filter = TimelineFilter { actions: sign_ins_and_outs, ..in_span.clone() };
    let read =
        store.list_events(org_id, &query(session_filter)?, None, SESSION_READ).await.map_err(unavailable)?;
    let own: Vec<_> = read.events.into_iter().filter(|e| e.actor.id == actor).collect();
    let lengths = session_lengths(&own);
    let average_session_secs =
        (!lengths.is_empty()).then(|| lengths.iter().sum::<i64>() / lengths.len() as i64);

    Ok(PersonActivity {
        actor_id: actor,
        name: who.name,
        kind: who.kind,
        email: who.email,
        days,
        span,
        total: count("Total actions", counts.total, in_span),
        summary,
        modules,
        other_modules: counts.total.saturating_sub(listed),
        sessions,
        average_session_secs,
        sessions_measured: u32::try_from(lengths.len()).unwrap_or(u32::MAX),
        recent,
    })
}
