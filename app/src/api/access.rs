//! The one authorization boundary: every server function and every route a
//! browser calls (the live stream, the Export menu's downloads) turns its
//! request into a [`Grant`] here, so who may do what, the messages that say
//! no, and how a viewer's scope narrows a read are written once.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::AppError;
use crate::model::{EventQuery, Role, TimelineFilter, Viewer};

/// The port that says who is asking and what they may do: the server reads
/// the session from the request; an embedding application may answer from
/// its own sign-in. Provided through context as `Arc<dyn AccessControl>`.
#[async_trait]
pub trait AccessControl: Send + Sync + 'static {
    /// The viewer of `org_slug` for this request, with the org's id.
    async fn viewer(
        &self,
        request: &http::request::Parts,
        org_slug: &str,
    ) -> Result<(Viewer, Uuid), AccessError>;

    /// Demo accounts for the login page; empty unless the server runs in
    /// demo mode.
    async fn demo_accounts(&self) -> Vec<crate::model::DemoAccount> {
        Vec::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("not signed in")]
    Unauthenticated,
    /// No such org, or not a member of it.
    #[error("no such org")]
    NoSuchOrg,
    #[error("{0}")]
    Unavailable(String),
}

/// What a request wants to do with an org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Know who they are in the org (the header, the permission message):
    /// a session and a membership.
    Member,
    /// Read the log, as far as the viewer's scope reaches: the View Audit
    /// Log permission.
    Read,
    /// Read positions of the whole org's chain (the live tail): the
    /// permission and no scope, since a head seq says how busy the org is.
    ReadOrgWide,
    /// Re-walk the whole chain now: owners and admins.
    Verify,
}

/// A request's viewer, allowed what it asked for in `org_id`.
#[derive(Debug, Clone)]
pub struct Grant {
    pub viewer: Viewer,
    pub org_id: Uuid,
}

impl Grant {
    /// Whether the viewer sees only part of the org's log (an embed).
    pub fn is_scoped(&self) -> bool {
        !self.viewer.scope.is_empty()
    }

    /// The store query for `filters` as this viewer may see it: the
    /// viewer's scope and every one of the filters must match.
    pub fn query(&self, filters: impl IntoIterator<Item = TimelineFilter>) -> Result<EventQuery, AppError> {
        let mut all = vec![self.viewer.scope.clone()];
        all.extend(filters.into_iter().map(|f| f.normalized()));
        all.retain(|f| !f.is_empty());
        EventQuery::resolve(all, chrono::Utc::now()).map_err(|e| AppError::bad_request(e.field, e.message))
    }
}

/// Checks that the request's viewer of `org_slug` may do `need`.
pub async fn authorize(
    access: &dyn AccessControl,
    request: &http::request::Parts,
    org_slug: &str,
    need: Need,
) -> Result<Grant, AppError> {
    let (viewer, org_id) = access.viewer(request, org_slug).await.map_err(|e| refused(e, org_slug))?;
    permit(Grant { viewer, org_id }, need)
}

/// Whether an already resolved viewer may do `need` (a request that asks
/// several things resolves its viewer once).
pub(super) fn permit(grant: Grant, need: Need) -> Result<Grant, AppError> {
    let viewer = &grant.viewer;
    let allowed = match need {
        Need::Member => true,
        Need::Read => viewer.role.can_view_audit_log(),
        Need::ReadOrgWide => viewer.role.can_view_audit_log() && !grant.is_scoped(),
        Need::Verify => matches!(viewer.role, Role::Owner | Role::Admin) && !grant.is_scoped(),
    };
    if allowed {
        return Ok(grant);
    }
    let message = if !viewer.role.can_view_audit_log() {
        format!(
            "You need the View Audit Log permission to see {org}'s audit log. It comes with the Owner, \
             Admin and Developer roles; your role is {role}. Ask an owner of {org} for access.",
            org = viewer.org.name,
            role = viewer.role.label(),
        )
    } else if grant.is_scoped() {
        "An embedded timeline shows its own events only: it has no live tail and no whole-log checks."
            .to_string()
    } else {
        "Only owners and admins can run a verification.".to_string()
    };
    Err(AppError::Forbidden(message))
}

/// The answer for a viewer the access port could not find.
fn refused(err: AccessError, org_slug: &str) -> AppError {
    match err {
        AccessError::Unauthenticated => AppError::Unauthenticated,
        AccessError::NoSuchOrg => AppError::NotFound(format!("there is no org '{org_slug}' you belong to")),
        AccessError::Unavailable(detail) => {
            tracing::error!("access control: {detail}");
            AppError::Unavailable
        }
    }
}
