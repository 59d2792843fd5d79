//! `POST /api/v1/events`: one event or a batch, all stored or none.

use std::collections::HashSet;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::ApiContext;
use super::error::{ApiError, ErrorBody, FieldError};
use super::validate::{self, Ingest};
use crate::store::{
    ApiKeyAuth, IdempotencyRecord, KeyClaim, PreparedEvent, WriteError, Written, find_idempotency_record,
};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// Longest `Idempotency-Key` taken, in bytes (the header is ASCII).
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// The answer to an accepted request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// How many events were stored.
    #[schema(example = 1)]
    pub accepted: usize,
    /// The ids the server gave the events (UUIDv7), in request order.
    pub ids: Vec<Uuid>,
}

/// Stores one event or a batch for the API key's org.
///
/// The whole batch is stored in one transaction, or nothing is. With an
/// `Idempotency-Key`, a retry with the same body gets the first answer
/// (marked `Idempotent-Replayed: true`) and stores nothing.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "events",
    operation_id = "ingest_events",
    request_body(
        content = super::openapi::IngestRequest,
        content_type = "application/json",
        description = "One event, or `{\"events\": [...]}` with 1 to 1000 events. At most 5 MiB."
    ),
    params(
        ("Idempotency-Key" = Option<String>, Header,
         description = "Up to 200 visible ASCII characters. The same key with the same body returns the \
                        first answer and stores nothing; with a different body, 409."),
    ),
    responses(
        (status = 201, description = "Stored, all of them.", body = Accepted, headers(
            ("Idempotent-Replayed" = String, description = "`true` when this is the stored answer to an earlier request with the same Idempotency-Key"),
        )),
        (status = 400, description = "Malformed JSON (with line and column), or an unusable header.", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked API key.", body = ErrorBody),
        (status = 409, description = "An `external_id` already stored or given twice in the request, or an Idempotency-Key reused with a different body. Nothing stored.", body = ErrorBody),
        (status = 413, description = "Body over the size limit (5 MiB), or an event over 64 KiB of JSON, named in `error.errors`. Nothing stored.", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json, or the body is compressed.", body = ErrorBody),
        (status = 422, description = "Invalid events: every problem listed in `error.errors`, each naming its field path. Nothing stored. Limits: `changes` and `metadata` nest at most 32 levels; strings at most 8 KiB, keys 256 bytes; at most 500 keys per object and 1,000 items per array.", body = ErrorBody),
        (status = 503, description = "The store is unavailable. `unavailable` (with Retry-After): nothing was stored, retry. `outcome_unknown`: the commit was not confirmed and the events may be stored; retry only with the same Idempotency-Key or external_ids.", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn ingest(
    State(api): State<ApiContext>,
    caller: ApiKeyAuth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let idempotency_key = idempotency_key(&headers)?;
    let bytes = read_body(&headers, body, api.limits.max_body_bytes).await?;
    let request_hash: [u8; 32] = Sha256::digest(&bytes).into();

    // A retry is answered from the record before any parsing: it gets the
    // first answer even if the rules (say, the clock for occurred_at) would
    // judge it differently now.
    if let Some(key) = &idempotency_key
        && let Some(record) = find_idempotency_record(&api.pool, caller.org_id, key).await?
    {
        return replay(record, &request_hash);
    }

    let value: Value = serde_json::from_slice(&bytes).map_err(malformed)?;
    let mut ingest = validate::ingest_request(value, caller.org_id, &api.limits, chrono::Utc::now())
        .map_err(ApiError::from)?;
    let repeated = validate::duplicate_external_ids(&ingest);
    if !repeated.is_empty() {
        return Err(ApiError::Conflict(repeated));
    }
    let accepted =
        Accepted { accepted: ingest.events.len(), ids: ingest.events.iter().map(|e| e.id).collect() };
    let response = serde_json::to_value(&accepted).map_err(|e| ApiError::Internal(Box::new(e)))?;

    // Stored in the org's next write group, with the request's claim on its
    // key: concurrent requests share one commit (see `store::group`).
    let claim = idempotency_key.as_ref().map(|key| KeyClaim {
        key: key.clone(),
        request_hash,
        status: 201,
        response: response.clone(),
    });
    // Redacted and encoded here, in the request's own task, so the org's
    // writer holds its chain head only to hash and insert. Shared with the
    // writer task, which goes on if this request is dropped.
    let events: std::sync::Arc<[PreparedEvent]> =
        crate::store::prepare(std::mem::take(&mut ingest.events))?.into();
    match api.writer.write(caller.org_id, events.clone(), claim).await {
        Ok(Written::Stored) => {}
        Ok(Written::KeyTaken) => {
            // A concurrent request with this key committed first: answer as
            // a retry of that one.
            let key = idempotency_key.as_deref().unwrap_or_default();
            return match find_idempotency_record(&api.pool, caller.org_id, key).await? {
                Some(record) => replay(record, &request_hash),
                None => Err(ApiError::conflict("idempotency_key", "in use by a concurrent request; retry")),
            };
        }
        Err(WriteError::NotStarted(err)) => return Err(err.into()),
        Err(WriteError::Refused(err)) => {
            return Err(insert_error(&api, caller.org_id, &ingest, &events, err).await);
        }
        Err(WriteError::Commit(err)) => return commit_failed(&api, caller.org_id, &accepted, err).await,
    }
    tracing::debug!(org = %caller.org_id, key = %caller.key_id, events = accepted.accepted, "events stored");
    Ok((StatusCode::CREATED, axum::Json(accepted)).into_response())
}

/// A commit whose answer was lost (the connection or the database died):
/// the events may or may not be stored. Ask the store which, for a few
/// seconds while it comes back, so the sender learns either "stored" (201)
/// or "nothing stored, retry" (503); only if it cannot be asked, say that
/// the outcome is unknown, so a retry without a key does not double it.
async fn commit_failed(
    api: &ApiContext,
    org_id: Uuid,
    accepted: &Accepted,
    err: sqlx::Error,
) -> Result<Response, ApiError> {
    let Some(first) = accepted.ids.first().copied() else { return Err(err.into()) };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let stored = async {
            let mut tx = crate::store::tenant::begin_for_org(&api.pool, org_id).await?;
            let found: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM audit_events WHERE org_id = $1 AND id = $2)",
            )
            .bind(org_id)
            .bind(first)
            .fetch_one(&mut *tx)
            .await?;
            tx.rollback().await?;
            Ok::<_, sqlx::Error>(found)
        };
        match stored.await {
            Ok(true) => {
                tracing::warn!(error = %err, "commit unconfirmed, but the events are stored");
                return Ok((StatusCode::CREATED, axum::Json(accepted.clone())).into_response());
            }
            Ok(false) => return Err(ApiError::Unavailable(err)),
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(_) => return Err(ApiError::OutcomeUnknown(err)),
        }
    }
}

/// Answers `GET` and the rest on the events path in JSON.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed { allow: "POST" }
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence != "application/json" && !(essence.starts_with("application/") && essence.ends_with("+json")) {
        let got = if content_type.is_empty() { "none".to_string() } else { format!("`{content_type}`") };
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type: expected application/json, got {got}"
        )));
    }
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING)
        && !encoding.as_bytes().eq_ignore_ascii_case(b"identity")
    {
        return Err(ApiError::UnsupportedMediaType(
            "Content-Encoding: compressed bodies are not accepted; send plain JSON".into(),
        ));
    }
    Ok(())
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let bad = |problem: &str| ApiError::InvalidHeader(FieldError::new("idempotency_key", problem));
    let key = value.to_str().map_err(|_| bad("must be visible ASCII characters"))?.trim();
    if key.is_empty() {
        return Err(bad("must not be empty"));
    }
    if key.len() > MAX_IDEMPOTENCY_KEY {
        return Err(bad(&format!("longer than {MAX_IDEMPOTENCY_KEY} characters")));
    }
    Ok(Some(key.to_string()))
}

/// The body, refused with 413 as soon as it is known to be over `limit`:
/// from Content-Length before reading a byte, else while streaming.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(ApiError::PayloadTooLarge { limit }),
        // The client went away or sent a broken chunked body.
        Err(err) => Err(ApiError::MalformedJson(format!("body: could not be read: {err}"))),
    }
}

fn malformed(err: serde_json::Error) -> ApiError {
    // serde_json's message already ends "at line L column C".
    ApiError::MalformedJson(format!("body: not valid JSON: {err}"))
}

fn replay(record: IdempotencyRecord, request_hash: &[u8]) -> Result<Response, ApiError> {
    if record.request_hash != request_hash {
        return Err(ApiError::conflict("idempotency_key", "reused with a different request body"));
    }
    let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
    let mut response = (status, axum::Json(record.response)).into_response();
    response.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    Ok(response)
}

/// What a failed insert means to the sender. Only a stored external id is
/// expected here (validation has refused everything else the database
/// would); the rest is a 4xx if the database judged the data, else ours.
/// `events` are the request's (taken out of `ingest`, which names their
/// paths).
async fn insert_error(
    api: &ApiContext,
    org_id: Uuid,
    ingest: &Ingest,
    events: &[PreparedEvent],
    err: sqlx::Error,
) -> ApiError {
    let Some(db) = err.as_database_error() else { return err.into() };
    if db.constraint() == Some("audit_events_external_id") {
        return external_id_conflict(api, org_id, ingest, events).await;
    }
    let data_error = db.code().is_some_and(|c| c.starts_with("22") || c == "23514");
    if data_error {
        // Our validation missed something the database refuses. Still the
        // sender's data, so a 4xx, but log it: the validator needs the rule.
        tracing::warn!(error = %err, "the database refused events that passed validation");
        return ApiError::invalid("events", "refused by the store's checks; nothing was stored");
    }
    err.into()
}

/// Names every event of the request whose external id is already stored.
async fn external_id_conflict(
    api: &ApiContext,
    org_id: Uuid,
    ingest: &Ingest,
    events: &[PreparedEvent],
) -> ApiError {
    let wanted: Vec<&str> = events.iter().filter_map(|e| e.event().external_id.as_deref()).collect();
    let lookup = async {
        let mut tx = crate::store::tenant::begin_for_org(&api.pool, org_id).await?;
        let stored: Vec<String> = sqlx::query_scalar(
            "SELECT external_id FROM audit_events WHERE org_id = $1 AND external_id = ANY($2)",
        )
        .bind(org_id)
        .bind(&wanted)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(stored)
    };
    let stored: Vec<String> = match lookup.await {
        Ok(stored) => stored,
        Err(err) => return err.into(),
    };
    let stored: HashSet<&str> = stored.iter().map(String::as_str).collect();
    let errors: Vec<FieldError> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.event().external_id.as_deref().is_some_and(|id| stored.contains(id)))
        .take(validate::MAX_ERRORS)
        .map(|(i, _)| FieldError::new(ingest.event_field(i, "external_id"), "already stored"))
        .collect();
    if errors.is_empty() {
        // Not expected: a unique violation is only raised once the other
        // row is committed. Say what is known rather than guess a field.
        return ApiError::conflict("events", "an external_id was being stored concurrently; retry");
    }
    ApiError::Conflict(errors)
}
