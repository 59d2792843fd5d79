//! The security and system views' server function: a page of one
//! category's events, and for the system view the period's health.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::oversight::OversightView;

/// A page of `view`'s events (`security` or `system`) in `org` over `range`
/// (`24h`, `7d`, `30d`; default `7d`), continuing after `cursor`. Needs the
/// whole org's log: the health numbers count all of it.
#[server(prefix = "/api/ui", endpoint = "oversight")]
pub async fn load_oversight(
    org: String,
    view: String,
    range: Option<String>,
    cursor: Option<String>,
) -> Result<OversightView, AppError> {
    use chrono::Utc;

    use super::store::{admit, authorize, fail, unavailable};
    use super::{Need, Work};
    use crate::model::oversight::{JOBS_READ, SystemHealth, VIEW_PAGE, ViewKind};
    use crate::model::{Cursor, EventQuery, Outcome, Within, outcome_of};

    let kind = ViewKind::parse(view.trim())
        .ok_or_else(|| fail(AppError::bad_request("view", "use security or system")))?;
    let range = match range.as_deref().map(str::trim) {
        None | Some("") => Within::Week,
        Some(r) => {
            Within::parse(r).ok_or_else(|| fail(AppError::bad_request("range", "use 24h, 7d or 30d")))?
        }
    };
    let cursor = match cursor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(Cursor::decode(raw).ok_or_else(|| {
            fail(AppError::bad_request("cursor", "not a cursor this server issued; open the view again"))
        })?),
    };
    let (store, grant) = authorize(&org, Need::ReadOrgWide).await?;
    let (org_id, viewer) = (grant.org_id, &grant.viewer);
    let _permit = admit(Work::Read, org_id, viewer, false).await?;
    let now = Utc::now();
    let query = EventQuery::single(kind.filter(range), now)
        .map_err(|e| fail(AppError::bad_request(e.field, e.message)))?;
    let page = store.list_events(org_id, &query, cursor, VIEW_PAGE).await.map_err(unavailable)?;

    let health = match (kind, cursor.is_none()) {
        (ViewKind::System, true) => {
            // The period's jobs, read page by page up to a bound: the share
            // that failed is exact below it and says so above it.
            let (mut jobs, mut failed, mut after) = (0u64, 0u64, None);
            let capped = loop {
                let read = store.list_events(org_id, &query, after, 200).await.map_err(unavailable)?;
                for e in &read.events {
                    jobs += 1;
                    if matches!(
                        outcome_of(&e.action, e.actor.kind, &e.metadata),
                        Some(Outcome::Failure | Outcome::Blocked)
                    ) {
                        failed += 1;
                    }
                }
                match read.next_cursor.as_deref().and_then(Cursor::decode) {
                    Some(next) if (jobs as usize) < JOBS_READ => after = Some(next),
                    Some(_) => break true,
                    None => break false,
                }
            };
            let since = now - chrono::TimeDelta::hours(range.hours());
            let server = store.server_health(since).await.map_err(unavailable)?;
            Some(SystemHealth { jobs, failed, capped, server })
        }
        _ => None,
    };
    Ok(OversightView { kind, range, events: page.events, next_cursor: page.next_cursor, health })
}
