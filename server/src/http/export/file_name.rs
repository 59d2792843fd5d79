//! The name an export is saved under.

use app::model::TimelineFilter;
use chrono::{DateTime, Utc};

use super::ExportFormat;

/// `audit-log-acme-action-delete_entity-invoice-20260115T090000Z.csv`: the
/// org, what was filtered, and when, in ASCII that every file system and
/// `Content-Disposition` parser takes.
pub fn file_name(org_slug: &str, filter: &TimelineFilter, format: ExportFormat, at: DateTime<Utc>) -> String {
    let summary = filter_summary(filter);
    format!(
        "audit-log-{}-{}-{}.{}",
        ascii_safe(org_slug, 40),
        if summary.is_empty() { "all".to_string() } else { summary },
        at.format("%Y%m%dT%H%M%SZ"),
        format.extension()
    )
}

/// `audit-log-<org>-event-<id>.<format>`: one entry's file.
pub fn entry_file_name(org_slug: &str, id: uuid::Uuid, format: ExportFormat) -> String {
    format!("audit-log-{}-event-{id}.{}", ascii_safe(org_slug, 40), format.extension())
}

fn filter_summary(f: &TimelineFilter) -> String {
    let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
    let fields: [(&str, Vec<String>); 15] = [
        ("q", f.search_terms()),
        ("action", f.actions.clone()),
        ("not-action", f.not_actions.clone()),
        ("entity", f.entity_types.clone()),
        ("actor", f.actors.clone()),
        ("category", f.categories.iter().map(|c| c.as_str().to_string()).collect()),
        ("priority", f.priorities.iter().map(|p| p.as_str().to_string()).collect()),
        ("record", one(&f.record)),
        ("ip", one(&f.ip)),
        ("session", one(&f.session)),
        ("country", one(&f.country)),
        ("within", f.within.iter().map(|w| w.as_str().to_string()).collect()),
        ("after", f.after.iter().map(|d| app::model::filter::format_date_time(*d)).collect()),
        ("before", f.before.iter().map(|d| app::model::filter::format_date_time(*d)).collect()),
        ("tz", one(&f.tz)),
    ];
    let parts: Vec<String> = fields
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(key, values)| ascii_safe(&format!("{key}-{}", values.join("-")), 200))
        .filter(|p| !p.is_empty())
        .collect();
    let mut out = String::new();
    for part in parts {
        let sep = usize::from(!out.is_empty());
        if out.len() + sep + part.len() > 80 {
            // Whole parts only; the file's record keeps the full filter.
            break;
        }
        if sep == 1 {
            out.push('_');
        }
        out.push_str(&part);
    }
    out
}

/// Letters, digits, `.` and `-` kept; anything else becomes `-`; no runs of
/// `-`, nothing leading or trailing but letters and digits; at most `max`.
fn ascii_safe(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(max);
    out.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

#[cfg(test)]
mod tests {
    use axum::extract::Query;
    use axum::http::Uri;

    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-01-15T09:00:05Z".parse().unwrap()
    }

    fn filter(query: &str) -> TimelineFilter {
        let pairs: Vec<(String, String)> =
            Query::try_from_uri(&format!("/x?{query}").parse::<Uri>().unwrap()).map(|Query(p)| p).unwrap();
        TimelineFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).0
    }

    #[test]
    fn file_names_say_org_filter_and_time_in_ascii() {
        assert_eq!(
            file_name("acme", &filter("action=delete&entity=invoice"), ExportFormat::Csv, at()),
            "audit-log-acme-action-delete_entity-invoice-20260115T090005Z.csv"
        );
        assert_eq!(
            file_name("acme", &TimelineFilter::default(), ExportFormat::Ndjson, at()),
            "audit-log-acme-all-20260115T090005Z.ndjson"
        );
        let odd = file_name(
            "acme",
            &filter(
                "q=%22Zo%C3%AB%20%E2%80%9Cx%E2%80%9D%22&action=invoice.*&ip=10.1.0.0/16&after=2026-01-01T09:30&tz=Europe/Paris",
            ),
            ExportFormat::Csv,
            at(),
        );
        assert_eq!(
            odd,
            "audit-log-acme-q-Zo-x_action-invoice_ip-10.1.0.0-16_after-2026-01-01T09-30_tz-Europe-Paris-20260115T090005Z.csv"
        );
        assert!(odd.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "{odd}");
        let long = filter(&format!(
            "actor={}",
            (0..20).map(|i| format!("someone{i}@example.com")).collect::<Vec<_>>().join(",")
        ));
        let name = file_name("acme", &long, ExportFormat::Csv, at());
        assert!(name.len() < 140, "{name}");
        assert!(name.starts_with("audit-log-acme-") && name.ends_with("-20260115T090005Z.csv"), "{name}");
    }
}
