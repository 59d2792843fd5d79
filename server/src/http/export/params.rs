//! The export's query parameters: strict for the API (every key known, every
//! value valid, each once), and where a request came from for the record.

use std::net::SocketAddr;

use app::model::{EventContext, TimelineFilter};
use axum::extract::{ConnectInfo, Query};
use axum::http::request::Parts;
use axum::http::{Uri, header};

use super::ExportFormat;
use crate::http::error::FieldError;

/// The filter keys, as the timeline's URL spells them.
pub const FILTER_KEYS: [&str; 15] = [
    "q",
    "action",
    "not_action",
    "entity",
    "actor",
    "category",
    "priority",
    "record",
    "ip",
    "session",
    "country",
    "within",
    "after",
    "before",
    "tz",
];

/// The API's parameters: `format` and the filter keys, nothing else, every
/// value valid. All problems are reported at once.
pub(super) fn strict(uri: &Uri) -> Result<(ExportFormat, TimelineFilter), Vec<FieldError>> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| vec![FieldError::new("query", format!("not a valid query string: {e}"))])?;
    let mut errors = Vec::new();
    let mut format = None;
    let mut filter_pairs = Vec::new();
    for (key, value) in &pairs {
        match key.as_str() {
            "format" if format.is_some() => errors.push(FieldError::new("format", "given more than once")),
            "format" => match ExportFormat::parse(value) {
                Some(f) => format = Some(f),
                None => errors.push(FieldError::new(
                    "format",
                    format!("'{value}' is not a format: use csv, ndjson or json"),
                )),
            },
            // Each key once, and a zone only by a name the server knows:
            // the document states one value per key, and a query read two
            // ways (first or last value, zone used or ignored) is not strict.
            k if filter_pairs.iter().any(|(seen, _)| *seen == k) => {
                errors.push(FieldError::new(key.clone(), "given more than once"))
            }
            "tz" if !crate::http::openapi::is_known_zone(value) => {
                errors.push(FieldError::new("tz", format!("'{value}' is not a time zone this server knows")))
            }
            k if FILTER_KEYS.contains(&k) => filter_pairs.push((key.as_str(), value.as_str())),
            _ => errors.push(FieldError::new(
                key.clone(),
                format!(
                    "not a parameter of this endpoint: use format or a filter ({})",
                    FILTER_KEYS.join(", ")
                ),
            )),
        }
    }
    let (filter, ignored) = TimelineFilter::from_pairs(filter_pairs);
    errors.extend(ignored.into_iter().map(|i| FieldError::new(i.key, i.reason)));
    if errors.is_empty() { Ok((format.unwrap_or(ExportFormat::Csv), filter)) } else { Err(errors) }
}

/// Where the request came from, for the recorded event.
pub(super) fn context(parts: &Parts) -> EventContext {
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(1000).collect::<String>())
    };
    EventContext {
        ip: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()),
        user_agent: header(header::USER_AGENT),
        session_id: None,
        request_id: parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .map(str::to_string),
        country: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_parameters_are_strict() {
        let parse = |q: &str| strict(&format!("/api/v1/events/export?{q}").parse::<Uri>().unwrap());
        let (format, f) = parse("format=ndjson&action=delete&entity=invoice").unwrap();
        assert_eq!(format, ExportFormat::Ndjson);
        assert_eq!(f.to_query(), "action=delete&entity=invoice");
        assert_eq!(parse("").unwrap().0, ExportFormat::Csv);
        let fields = |q: &str| parse(q).unwrap_err().into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields("format=xlsx"), ["format"]);
        assert_eq!(fields("format=csv&format=csv"), ["format"]);
        assert_eq!(fields("colour=red&after=2026-13-45&ip=nope"), ["colour", "after", "ip"]);
        let errors = parse("entity=DROP%20TABLE").unwrap_err();
        assert!(errors[0].message.starts_with("entity: not an entity type"), "{:?}", errors[0]);
    }
}
