use app::api::{AccessControl, AccessError};
use app::model::{DemoAccount, OrgRef, Viewer};
use async_trait::async_trait;
use sqlx::PgPool;
use uuid::Uuid;

use super::{sessions, users};

/// [`AccessControl`] from the session cookie and the memberships table.
#[derive(Clone)]
pub struct SessionAccess {
    pool: PgPool,
    demo: bool,
}

impl SessionAccess {
    /// `demo`: list the demo accounts on the login page.
    pub fn new(pool: PgPool, demo: bool) -> SessionAccess {
        SessionAccess { pool, demo }
    }
}

#[async_trait]
impl AccessControl for SessionAccess {
    async fn viewer(
        &self,
        request: &axum::http::request::Parts,
        org_slug: &str,
    ) -> Result<(Viewer, Uuid), AccessError> {
        let unavailable = |e: sqlx::Error| AccessError::Unavailable(e.to_string());
        let token = super::session_token(&request.headers).ok_or(AccessError::Unauthenticated)?;
        let user = sessions::find(&self.pool, &token)
            .await
            .map_err(unavailable)?
            .ok_or(AccessError::Unauthenticated)?;
        let memberships = users::memberships(&self.pool, user.user_id).await.map_err(unavailable)?;
        let here = memberships.iter().find(|m| m.slug == org_slug).ok_or(AccessError::NoSuchOrg)?;
        let viewer = Viewer {
            name: user.name,
            email: user.email,
            org: OrgRef { slug: here.slug.clone(), name: here.org_name.clone() },
            role: here.role(),
            orgs: memberships
                .iter()
                .map(|m| OrgRef { slug: m.slug.clone(), name: m.org_name.clone() })
                .collect(),
        };
        Ok((viewer, here.org_id))
    }

    async fn demo_accounts(&self) -> Vec<DemoAccount> {
        if !self.demo {
            return Vec::new();
        }
        users::demo_accounts(&self.pool).await.unwrap_or_else(|e| {
            tracing::error!("listing demo accounts: {e}");
            Vec::new()
        })
    }
}
