use async_trait::async_trait;
use uuid::Uuid;

use crate::model::Viewer;

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
