//! `POST /api/v1/verify`: re-walk the caller's org's hash chain now.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiContext, ApiError};
use crate::chain::VerifyReport;
use crate::store::ApiKeyAuth;

/// The outcome of a verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    /// True when every event and checkpoint checked out.
    pub ok: bool,
    /// Every event up to this sequence number checked out.
    pub verified_through: i64,
    /// Signed checkpoints that checked out.
    pub checkpoints: i64,
    /// The first bad sequence number, when the chain is broken.
    pub first_bad_seq: Option<i64>,
    /// What is wrong there, e.g. "event 41 was changed after it was stored".
    pub reason: Option<String>,
    /// "verified through seq N (K checkpoints)" or "chain broken at seq N: …".
    pub summary: String,
    pub checked_at: DateTime<Utc>,
}

/// Re-walks the org's chain (constant memory), checks every signed
/// checkpoint against the keys the server is configured with (never the
/// database's list of keys), records the result for the timeline header, and
/// returns it.
#[utoipa::path(
    post,
    path = "/api/v1/verify",
    tag = "integrity",
    operation_id = "verify_chain",
    responses(
        (status = 200, description = "The verification ran; `ok` says whether the chain is intact.", body = Verification),
        (status = 401, description = "Missing, unknown or revoked API key.", body = super::ErrorBody),
        (status = 429, description = "A verification of this org is already running; retry after the `Retry-After` seconds.", body = super::ErrorBody),
        (status = 503, description = "The store is unavailable; retry later.", body = super::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn verify(
    State(api): State<ApiContext>,
    caller: ApiKeyAuth,
) -> Result<Json<Verification>, ApiError> {
    // One verification per org at a time: each reads the whole chain.
    let _share = api
        .admission
        .admit_as(app::api::Work::Verify, caller.org_id, &format!("key:{}", caller.key_id))
        .map_err(ApiError::Busy)?;
    let report = crate::chain::verify_org_trusting(&api.reads, caller.org_id, &api.trusted_keys).await?;
    Ok(Json(Verification::from(&report)))
}

/// The API's answer is the report in the documented wire shape: what a
/// client checks (`ok`), where the chain broke, and the report's own
/// one-line summary.
impl From<&VerifyReport> for Verification {
    fn from(report: &VerifyReport) -> Verification {
        Verification {
            ok: report.is_ok(),
            verified_through: report.verified_through,
            checkpoints: report.checkpoints,
            first_bad_seq: report.fault.as_ref().map(|f| f.seq),
            reason: report.fault.as_ref().map(|f| f.reason.clone()),
            summary: report.to_string(),
            checked_at: report.checked_at,
        }
    }
}
