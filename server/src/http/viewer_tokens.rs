//! `POST /api/v1/viewer-tokens`: mint a short-lived token that shows the
//! caller's org's timeline, narrowed to a scope, at `/embed?token=…` (which
//! swaps it for a cookie at once, see `crate::embed`), for as long as the
//! calling key is not revoked.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ApiContext, ApiError, FieldError};
use crate::embed::{DEFAULT_LIFETIME_SECS, MAX_LIFETIME_SECS, ViewerToken, mint};
use crate::self_audit;
use crate::store::ApiKeyAuth;
use app::model::TimelineFilter;

/// What the token may show. Every field narrows; none may widen what the
/// org's own log holds.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    /// One record's history: the record id (`entity.id` of its events).
    #[serde(default)]
    pub record: Option<String>,
    /// One actor: an actor id, or the start of a name or email.
    #[serde(default)]
    pub actor: Option<String>,
    /// Any timeline filter, as the query string of a timeline URL, e.g.
    /// `action=delete&entity=invoice`. Same keys and forms as the UI.
    #[serde(default)]
    pub filter: Option<String>,
    /// Seconds until the token expires: 1 to 86400, default 900.
    /// Read as a number: `900.0` is the integer 900 to JSON Schema too.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub expires_in: Option<f64>,
}

/// A minted token.
#[derive(Debug, Serialize, ToSchema)]
pub struct MintedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// Path of the embeddable timeline on this server, token included: frame
    /// it, and the server answers with a redirect to a token-free address,
    /// keeping the token in a cookie. Or post `token` to `/embed` instead.
    pub embed_path: String,
    /// The scope the token carries, as a timeline query string.
    pub scope: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/viewer-tokens",
    tag = "embedding",
    operation_id = "mint_viewer_token",
    request_body = MintRequest,
    responses(
        (status = 201, description = "The token and the path that shows it.", body = MintedToken),
        (status = 400, description = "The body is not JSON.", body = super::ErrorBody),
        (status = 401, description = "Missing, unknown or revoked API key.", body = super::ErrorBody),
        (status = 422, description = "A field is invalid; the error names it.", body = super::ErrorBody),
        (status = 503, description = "This server has no signing key, or the store is unavailable.", body = super::ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn mint_token(
    State(api): State<ApiContext>,
    caller: ApiKeyAuth,
    body: Bytes,
) -> Result<(StatusCode, Json<MintedToken>), ApiError> {
    // An empty body is refused rather than read as `{}`: a request that
    // lost its body on the way must not mint an org-wide token.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("body", "required: a JSON object, `{}` for the whole org"));
    }
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::MalformedJson(format!("body: not valid JSON: {e}")))?;
    // serde would also read a struct from an array (`[null, null]`).
    if !value.is_object() {
        return Err(ApiError::invalid("body", "expected a JSON object"));
    }
    let request: MintRequest = serde_json::from_value(value).map_err(|e| ApiError::invalid("body", e))?;
    let scope = scope_of(&request).map_err(ApiError::Invalid)?;
    let lifetime = request.expires_in.unwrap_or(DEFAULT_LIFETIME_SECS as f64);
    if !(1.0..=MAX_LIFETIME_SECS as f64).contains(&lifetime) || lifetime.fract() != 0.0 {
        return Err(ApiError::invalid("expires_in", format!("must be 1 to {MAX_LIFETIME_SECS} seconds")));
    }
    let lifetime = lifetime as i64;
    let Some(signer) = api.token_signer.as_ref() else {
        return Err(ApiError::Internal("viewer tokens need the server's signing key".into()));
    };
    let now = Utc::now();
    let token = ViewerToken {
        id: Uuid::now_v7(),
        org_id: caller.org_id,
        scope: scope.to_query(),
        exp: now.timestamp() + lifetime,
        iat: now.timestamp(),
        key_id: caller.key_id,
    };
    let raw = mint(signer, &token);
    // Minting is an action on the org's log like any other: who can look,
    // at what, until when.
    let record = minted_event(&caller, &token, now);
    crate::store::insert_events(&api.pool, &[record]).await?;
    Ok((
        StatusCode::CREATED,
        Json(MintedToken {
            embed_path: format!("/embed?token={raw}"),
            expires_at: token.expires_at(),
            scope: token.scope,
            token: raw,
        }),
    ))
}

/// The scope a request asks for; every malformed part is named.
fn scope_of(request: &MintRequest) -> Result<TimelineFilter, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    if let Some(filter) = &request.filter {
        for part in filter.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match (percent_decode(k), percent_decode(v)) {
                (Some(k), Some(v)) => pairs.push((k, v)),
                _ => errors.push(FieldError::new("filter", format!("'{part}' is not percent-encoded UTF-8"))),
            }
        }
    }
    if let Some(record) = &request.record {
        pairs.push(("record".into(), record.clone()));
    }
    if let Some(actor) = &request.actor {
        pairs.push(("actor".into(), actor.clone()));
    }
    let (scope, ignored) = TimelineFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for i in ignored {
        let field = match i.key.as_str() {
            "record" if request.record.is_some() => "record".to_string(),
            "actor" if request.actor.is_some() => "actor".to_string(),
            key => format!("filter.{key}"),
        };
        errors.push(FieldError::new(field, format!("'{}': {}", i.value, i.reason)));
    }
    if errors.is_empty() { Ok(scope) } else { Err(errors) }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn minted_event(caller: &ApiKeyAuth, token: &ViewerToken, now: DateTime<Utc>) -> app::model::NewAuditEvent {
    let entity = self_audit::entity("viewer_token", token.id, "Embedded timeline");
    app::model::NewAuditEvent {
        occurred_at: now,
        metadata: serde_json::json!({
            "scope": token.scope,
            "expires_at": token.expires_at(),
        }),
        ..self_audit::event(caller.org_id, self_audit::api_key(caller), "viewer_token.create", entity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_combine_and_name_bad_fields() {
        let ok = MintRequest {
            record: Some("inv_1".into()),
            filter: Some("action=delete&entity=invoice%2Cticket".into()),
            ..Default::default()
        };
        let scope = scope_of(&ok).unwrap();
        assert_eq!(scope.to_query(), "action=delete&entity=invoice,ticket&record=inv_1");
        let bad = MintRequest { filter: Some("colour=red&ip=999.1.1.1".into()), ..Default::default() };
        let fields: Vec<String> = scope_of(&bad).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["filter.colour", "filter.ip"]);
    }
}
