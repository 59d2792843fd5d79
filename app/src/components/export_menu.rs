use leptos::prelude::*;

use crate::model::TimelineFilter;

/// The Export menu: what the timeline shows right now (its org, filter and
/// fixed scope) as a CSV or NDJSON download. Plain links, so the browser
/// streams the file to disk however large it is, and they work before
/// hydration and without JavaScript. The server checks the permission and
/// records the export.
///
/// Hidden when the page's scope and the URL's filter cannot be written as
/// one link filter (they set the same field differently); the file would
/// not match the screen.
#[component]
pub fn ExportMenu(
    #[prop(into)] org: Signal<String>,
    #[prop(into)] filter: Signal<TimelineFilter>,
    #[prop(optional)] scope: TimelineFilter,
) -> impl IntoView {
    let view_filter = Memo::new(move |_| filter.with(|f| combined(&scope, f)));
    move || {
        let f = view_filter.get()?;
        let org = org.get();
        // An embed's viewer token is not a session: downloads need one.
        if org.starts_with("vt1.") {
            return None;
        }
        let href = move |extension: &str| export_href(&org, extension, &f);
        let csv = href("csv");
        let ndjson = href("ndjson");
        Some(view! {
            <details class="export-menu">
                <summary>"Export"</summary>
                <ul class="menu-panel export-options" aria-label="Export formats">
                    // `rel="external"`: a download, not a page for the
                    // client-side router.
                    <li>
                        <a href=csv download="" rel="external">"CSV"</a>
                        <span class="export-hint">"for spreadsheets"</span>
                    </li>
                    <li>
                        <a href=ndjson download="" rel="external">"NDJSON"</a>
                        <span class="export-hint">"one JSON event per line"</span>
                    </li>
                </ul>
            </details>
        })
    }
}

/// `/o/acme/export.csv?action=delete&entity=invoice`.
pub fn export_href(org: &str, extension: &str, filter: &TimelineFilter) -> String {
    let query = filter.to_query();
    let org: String = org.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect();
    if query.is_empty() {
        format!("/o/{org}/export.{extension}")
    } else {
        format!("/o/{org}/export.{extension}?{query}")
    }
}

/// One filter that admits exactly what `scope` and `filter` together admit,
/// when there is one: every field is set by at most one of them, or by
/// both alike. The date fields go together, since `tz` reads `after` and
/// `before`.
pub fn combined(scope: &TimelineFilter, filter: &TimelineFilter) -> Option<TimelineFilter> {
    fn pick<T: Clone + PartialEq>(a: &T, b: &T, empty: &T) -> Option<T> {
        if a == empty || a == b {
            Some(b.clone())
        } else if b == empty {
            Some(a.clone())
        } else {
            None
        }
    }
    let dates = |f: &TimelineFilter| (f.within, f.after, f.before, f.tz.clone());
    let (within, after, before, tz) = pick(&dates(scope), &dates(filter), &(None, None, None, None))?;
    Some(TimelineFilter {
        q: pick(&scope.q, &filter.q, &String::new())?,
        actions: pick(&scope.actions, &filter.actions, &Vec::new())?,
        not_actions: pick(&scope.not_actions, &filter.not_actions, &Vec::new())?,
        entity_types: pick(&scope.entity_types, &filter.entity_types, &Vec::new())?,
        actors: pick(&scope.actors, &filter.actors, &Vec::new())?,
        categories: pick(&scope.categories, &filter.categories, &Vec::new())?,
        priorities: pick(&scope.priorities, &filter.priorities, &Vec::new())?,
        record: pick(&scope.record, &filter.record, &None)?,
        ip: pick(&scope.ip, &filter.ip, &None)?,
        session: pick(&scope.session, &filter.session, &None)?,
        country: pick(&scope.country, &filter.country, &None)?,
        within,
        after,
        before,
        tz,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(query: &str) -> TimelineFilter {
        let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
        TimelineFilter::from_pairs(pairs).0
    }

    #[test]
    fn links_carry_the_view_filter() {
        assert_eq!(export_href("acme", "csv", &TimelineFilter::default()), "/o/acme/export.csv");
        assert_eq!(
            export_href("acme", "ndjson", &f("action=delete&entity=invoice")),
            "/o/acme/export.ndjson?action=delete&entity=invoice"
        );
        assert_eq!(export_href("../x?y", "csv", &TimelineFilter::default()), "/o/xy/export.csv");
    }

    #[test]
    fn a_record_scope_and_a_filter_make_one_link_filter() {
        let record = f("entity=invoice&record=inv_1");
        assert_eq!(
            combined(&record, &f("action=delete")),
            Some(f("action=delete&entity=invoice&record=inv_1"))
        );
        assert_eq!(combined(&TimelineFilter::default(), &f("q=x")), Some(f("q=x")));
        assert_eq!(combined(&record, &f("record=inv_1")), Some(record.clone()), "the same value twice");
        assert_eq!(combined(&record, &f("record=inv_2")), None, "two records: no single filter says that");
        let dated = f("after=2026-01-01&tz=Europe/Paris");
        assert_eq!(combined(&dated, &f("before=2026-02-01")), None, "dates in two zones");
        assert_eq!(
            combined(&dated, &f("action=delete")),
            Some(f("action=delete&after=2026-01-01&tz=Europe/Paris"))
        );
    }
}
