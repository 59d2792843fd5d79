//! Exports of an org's audit log as a file, streamed as it is read:
//!
//! - `GET /api/v1/events/export?format=csv|ndjson|json&<filters>` with an org API
//!   key, for scripted exports. Strict: an unknown or malformed parameter is
//!   a 400 naming it, so a typo never silently exports more than meant.
//! - `GET /o/{org}/export.csv?<filters>`, `/o/{org}/export.ndjson` and
//!   `/o/{org}/export.json` with the session cookie and the View Audit Log
//!   permission, for the Export menu. Reads its filters like the timeline
//!   page does (what the page ignores, the export ignores), so the file has
//!   the rows the page shows; `event=<id>` narrows it to one entry.
//!
//! Both take the timeline's query keys and go through the one translation of
//! a filter into SQL. Rows are read in keyset batches from one snapshot and
//! written out batch by batch: the server holds a few batches at most,
//! whatever the size of the log. Every export is itself recorded as an
//! `audit_log.export` event when its stream ends, with the filter, the format,
//! the rows sent and whether the file was complete.
//!
//! The rooms: `params` reads the query, `stream` runs the pipeline,
//! `format` writes the rows, `record` writes the export's own event and
//! `file_name` names the file.

mod file_name;
mod format;
mod params;
mod record;
mod stream;

use app::api::{Busy, Need};
use app::error::AppError;
use app::model::{EventQuery, TimelineFilter};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

pub use file_name::file_name;
pub use format::{CSV_COLUMNS, ExportFormat, write_cell};
pub use params::FILTER_KEYS;
pub use record::EXPORT_ACTION;

use super::ApiContext;
use super::error::{ApiError, ErrorBody, FieldError};
use crate::self_audit;
use crate::store::ApiKeyAuth;
use stream::{Job, Refused};

/// Exports the events of the API key's org that match the filters, newest
/// first, as CSV or NDJSON.
///
/// The response is streamed as the log is read, so any size can be
/// exported; it is one consistent snapshot of the log taken when the request
/// arrived. A transfer that ends without the terminating chunk was cut
/// short. Every export is recorded in the org's log (`audit_log.export`,
/// with the filter and the rows sent).
#[utoipa::path(
    get,
    path = "/api/v1/events/export",
    tag = "export",
    operation_id = "export_events",
    params(
        ("format" = Option<String>, Query, description = "`csv` (the default), `ndjson` or `json` (one array of the NDJSON objects; a file cut short is not valid JSON)."),
        ("q" = Option<String>, Query, description = "Free text: words and \"quoted phrases\", each a case-insensitive substring of the action, actor name or entity name; all must match."),
        ("action" = Option<String>, Query, description = "Comma-separated action types (`delete`, `login_failed`, `permission_change`), actions (`invoice.update`) or patterns (`invoice.*`, `*.view`); any may match."),
        ("not_action" = Option<String>, Query, description = "Actions to leave out, same forms as `action`."),
        ("entity" = Option<String>, Query, description = "Comma-separated entity types, e.g. `invoice,api_key`."),
        ("actor" = Option<String>, Query, description = "Comma-separated actors: an actor id exactly, or the start of a name or email."),
        ("category" = Option<String>, Query, description = "Comma-separated categories: `record`, `user`, `system`, `security`, `view`, `api`."),
        ("priority" = Option<String>, Query, description = "Comma-separated priorities: `low`, `medium`, `high`."),
        ("record" = Option<String>, Query, description = "One record's id (`entity.id`)."),
        ("ip" = Option<String>, Query, description = "An IP address or a CIDR block such as `10.1.0.0/16`."),
        ("session" = Option<String>, Query, description = "A session id."),
        ("country" = Option<String>, Query, description = "ISO 3166-1 alpha-2 code, e.g. `DE`."),
        ("within" = Option<String>, Query, description = "`24h`, `7d` or `30d`, ending now."),
        ("after" = Option<String>, Query, description = "Inclusive start: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`, in `tz`."),
        ("before" = Option<String>, Query, description = "Exclusive end, same forms as `after`."),
        ("tz" = Option<String>, Query, description = "IANA time zone `after` and `before` are read in; UTC when absent."),
    ),
    responses(
        (status = 200, description = "The matching events, newest first. CSV: a header row, then one row per event with every column (ids in full, times in RFC 3339 UTC, `changes` and `metadata` as JSON); cells starting with `=`, `+`, `-`, `@`, tab or carriage return are prefixed with `'` so spreadsheets read them as text. NDJSON: one event object per line, as the timeline's model has it, with its `seq` in the hash chain.",
         content(
            (String = "text/csv"),
            (String = "application/x-ndjson"),
            (String = "application/json"),
         ),
         headers(("Content-Disposition" = String, description = "`attachment; filename=\"audit-log-<org>-<filter>-<UTC time>.<csv|ndjson|json>\"`"))),
        (status = 400, description = "An unknown parameter or an unusable value: every problem listed, each naming its parameter.", body = ErrorBody),
        (status = 401, description = "Missing, unknown or revoked API key.", body = ErrorBody),
        (status = 429, description = "Too many exports are running for this key or org; retry after the `Retry-After` seconds.", body = ErrorBody),
        (status = 503, description = "The store is unavailable; retry later.", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn api_export(State(api): State<ApiContext>, caller: ApiKeyAuth, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let (format, filter) = match params::strict(&parts.uri) {
        Ok(found) => found,
        Err(errors) => return ApiError::InvalidQuery(errors).into_response(),
    };
    let query = match EventQuery::resolve(nonempty(filter.clone()), Utc::now()) {
        Ok(query) => query,
        Err(e) => return ApiError::InvalidQuery(vec![FieldError::new(e.field, e.message)]).into_response(),
    };
    let slug = match crate::store::export::org_slug(&api.pool, caller.org_id).await {
        Ok(slug) => slug.unwrap_or_else(|| caller.org_id.to_string()),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let job = Job {
        pool: api.pool.clone(),
        reads: api.reads.clone(),
        org_id: caller.org_id,
        slug,
        format,
        filter,
        query,
        actor: self_audit::api_key(&caller),
        context: params::context(&parts),
        who: format!("key:{}", caller.key_id),
    };
    match stream::start(job, &api.admission).await {
        Ok(response) => response,
        Err(Refused::Busy(busy)) => ApiError::Busy(busy).into_response(),
        Err(Refused::Store(e)) => ApiError::from(e).into_response(),
    }
}

/// `GET /o/{org}/export.csv`.
pub async fn ui_export_csv(
    State(api): State<ApiContext>,
    Path(org): Path<String>,
    request: Request,
) -> Response {
    ui_export(api, org, ExportFormat::Csv, request).await
}

/// `GET /o/{org}/export.json`.
pub async fn ui_export_json(
    State(api): State<ApiContext>,
    Path(org): Path<String>,
    request: Request,
) -> Response {
    ui_export(api, org, ExportFormat::Json, request).await
}

/// `GET /o/{org}/export.ndjson`.
pub async fn ui_export_ndjson(
    State(api): State<ApiContext>,
    Path(org): Path<String>,
    request: Request,
) -> Response {
    ui_export(api, org, ExportFormat::Ndjson, request).await
}

/// Whether `path` is one of the Export menu's downloads. These answer a
/// missing session with a plain 401 themselves: a redirect to the login
/// page would be saved as the "export" file by a download link.
pub fn is_download(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/o/") else { return false };
    let Some((org, file)) = rest.split_once('/') else { return false };
    !org.is_empty() && matches!(file, "export.csv" | "export.ndjson" | "export.json")
}

/// The Export menu's download: the session's viewer, with the View Audit
/// Log permission, gets the timeline's current view as a file. Answers in
/// plain text, since the one reading an error here is a person whose
/// browser was about to save a file.
async fn ui_export(api: ApiContext, org: String, format: ExportFormat, request: Request) -> Response {
    match download(api, &org, format, request).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    }
}

async fn download(
    api: ApiContext,
    org: &str,
    format: ExportFormat,
    request: Request,
) -> Result<Response, DownloadRefusal> {
    let (parts, _) = request.into_parts();
    let refused = |err: AppError| DownloadRefusal::App(err, org.to_string());
    let grant = app::api::authorize(api.access.as_ref(), &parts, org, Need::Read).await.map_err(refused)?;
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) else {
        return Err(DownloadRefusal::MalformedQuery);
    };
    // Lenient like the page: what the timeline leaves out (and says so), the
    // export leaves out too, so the file matches what is on screen.
    let (filter, _ignored) = TimelineFilter::from_pairs(
        pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .filter(|(k, _)| !app::model::PAGE_KEYS.contains(k) && *k != "event"),
    );
    // `event`: one entry's export ("Export entry"), within the same scope.
    let event = match pairs.iter().find(|(k, _)| k == "event") {
        None => None,
        Some((_, v)) => Some(uuid::Uuid::parse_str(v.trim()).map_err(|_| DownloadRefusal::BadEvent)?),
    };
    let mut query = grant.query(nonempty(filter.clone())).map_err(refused)?;
    query.event = event;
    let (viewer, org_id) = (grant.viewer, grant.org_id);
    // The same id as the person's sign-in events, so filtering the log by
    // this actor finds their exports too.
    let user_id = match crate::auth::users::find_by_email(&api.pool, &viewer.email).await {
        Ok(user) => user.map(|u| u.id.to_string()),
        Err(e) => {
            tracing::error!("export: looking up the user: {e}");
            None
        }
    };
    let job = Job {
        pool: api.pool.clone(),
        reads: api.reads.clone(),
        org_id,
        slug: viewer.org.slug.clone(),
        format,
        filter,
        query,
        actor: self_audit::person(
            user_id.unwrap_or_else(|| viewer.email.clone()),
            &viewer.name,
            &viewer.email,
        ),
        context: params::context(&parts),
        who: app::api::viewer_key(&viewer),
    };
    stream::start(job, &api.admission).await.map_err(|refused| match refused {
        Refused::Busy(busy) => DownloadRefusal::Busy(busy),
        Refused::Store(e) => {
            tracing::error!("export: {e}");
            DownloadRefusal::App(AppError::Unavailable, org.to_string())
        }
    })
}

/// Why the Export menu's download was refused. Answered in plain text, not
/// the API's JSON ([`ApiError`]): the one reading it is a person whose
/// browser was about to save a file, and shows a text answer as a page.
enum DownloadRefusal {
    /// The boundary's refusal (not signed in, no such org, no permission,
    /// the store unavailable), and the org asked for.
    App(AppError, String),
    MalformedQuery,
    /// `event` is not an event id.
    BadEvent,
    /// 429 with `Retry-After`, like the API's.
    Busy(Busy),
}

impl IntoResponse for DownloadRefusal {
    fn into_response(self) -> Response {
        let (status, message, retry_after) = match self {
            DownloadRefusal::App(err, org) => {
                let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let message = match err {
                    AppError::Unauthenticated => "Sign in to export this audit log.".into(),
                    AppError::NotFound(_) => format!("There is no org '{org}' you belong to."),
                    AppError::Unavailable => "The audit log is unavailable; try again shortly.".into(),
                    other => other.to_string(),
                };
                (status, message, None)
            }
            DownloadRefusal::MalformedQuery => {
                (StatusCode::BAD_REQUEST, "The link's query string is malformed.".into(), None)
            }
            DownloadRefusal::BadEvent => {
                (StatusCode::BAD_REQUEST, "event: not an event id (a UUID).".into(), None)
            }
            DownloadRefusal::Busy(busy) => {
                (StatusCode::TOO_MANY_REQUESTS, busy.message, Some(busy.retry_after))
            }
        };
        let mut response = (status, format!("{message}\n")).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

fn nonempty(filter: TimelineFilter) -> Vec<TimelineFilter> {
    if filter.is_empty() { Vec::new() } else { vec![filter] }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_export_paths_are_downloads() {
        assert!(is_download("/o/acme/export.csv"));
        assert!(is_download("/o/acme/export.ndjson"));
        assert!(is_download("/o/acme/export.json"));
        for path in [
            "/o/acme",
            "/o/acme/records/invoice/export.csv",
            "/o//export.csv",
            "/api/v1/events/export",
            "/o/acme/export.xlsx",
        ] {
            assert!(!is_download(path), "{path}");
        }
    }
}
