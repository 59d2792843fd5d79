use leptos::prelude::*;

use super::{
    ActionBadge, ActorCell, ChangesTree, EntityCell, ExactTime, InitialValues, RelativeTime, SnapshotTable,
};
use crate::model::{AuditEvent, Changes, describe_user_agent, entity_type_label};

/// One timeline entry; its summary is a button that expands the entry inline
/// to everything known about it: when exactly, who and from where, and what
/// changed (a tree for updates, the final values for deletes).
#[component]
pub fn EntryRow(event: AuditEvent) -> impl IntoView {
    let expanded = RwSignal::new(false);
    let detail_id = format!("entry-{}", event.id.simple());
    let detail = StoredValue::new(event.clone());
    let detail_el_id = detail_id.clone();
    let entity_id = event.entity.id.clone();
    // Every row leads to its record's full history; a link cannot sit inside
    // the summary button, so it is the row's last cell (none in an embed).
    let history =
        use_context::<super::TimelineOrg>().and_then(|o| o.record_path(&event.entity)).map(|href| {
            let label = format!(
                "History of {} {}",
                entity_type_label(&event.entity.entity_type),
                event.entity.display_name()
            );
            view! { <a class="record-history" href=href title=label.clone() aria-label=label>"History"</a> }
        });
    view! {
        <li class="entry" class:expanded=move || expanded.get() data-event-id=event.id.to_string() data-entity-id=entity_id>
            <button
                type="button"
                class="entry-summary"
                aria-expanded=move || expanded.get().to_string()
                aria-controls=detail_id
                on:click=move |_| expanded.update(|open| *open = !*open)
            >
                <ActorCell actor=event.actor />
                <ActionBadge action=event.action />
                <EntityCell entity=event.entity />
                <IpCell ip=event.context.ip country=event.context.country />
                <RelativeTime at=event.occurred_at />
            </button>
            {history}
            <Show when=move || expanded.get()>
                <EntryDetail event=detail.get_value() id=detail_el_id.clone() />
            </Show>
        </li>
    }
}

/// Where the request came from: the address, and the country code beside it.
#[component]
fn IpCell(ip: Option<String>, country: Option<String>) -> impl IntoView {
    match ip {
        Some(ip) => view! {
            <span class="ip">
                <span class="ip-address">{ip}</span>
                {country.map(|c| view! { " " <span class="ip-country">{c}</span> })}
            </span>
        }
        .into_any(),
        None => view! {
            <span class="ip none">
                <span aria-hidden="true">"—"</span>
                <span class="visually-hidden">"No IP address"</span>
            </span>
        }
        .into_any(),
    }
}

#[component]
fn EntryDetail(event: AuditEvent, id: String) -> impl IntoView {
    let text = |key: &'static str, label: &'static str, value: Option<String>| {
        value.filter(|v| !v.trim().is_empty()).map(|v| {
            view! {
                <div class="fact" data-fact=key>
                    <dt>{label}</dt>
                    <dd>{v}</dd>
                </div>
            }
        })
    };
    let code = |key: &'static str, label: &'static str, value: Option<String>| {
        value.filter(|v| !v.trim().is_empty()).map(|v| {
            view! {
                <div class="fact" data-fact=key>
                    <dt>{label}</dt>
                    <dd><code>{v}</code></dd>
                </div>
            }
        })
    };
    let outcome = crate::model::outcome_of(&event.action, event.actor.kind, &event.metadata).map(|o| {
        view! {
            <div class="fact" data-fact="result">
                <dt>"Result"</dt>
                <dd><span class=format!("outcome outcome-{}", o.as_str())>{o.glyph()}" "{o.label()}</span></dd>
            </div>
        }
    });
    let kind = match (event.category, event.priority) {
        (Some(c), Some(p)) => Some(format!("{} · {} risk", c.label(), p.label())),
        (Some(c), None) => Some(c.label().to_string()),
        (None, Some(p)) => Some(format!("{} risk", p.label())),
        (None, None) => None,
    };
    let exports = use_context::<super::TimelineOrg>().and_then(|o| {
        let (json, csv) = (o.entry_export(event.id, "json")?, o.entry_export(event.id, "csv")?);
        // `rel="external"`: downloads, not pages for the client-side router.
        Some(view! {
            <p class="entry-export">
                "Export entry: "
                <a href=json download="" rel="external">"JSON"</a>
                " · "
                <a href=csv download="" rel="external">"CSV"</a>
            </p>
        })
    });
    let ctx = event.context;
    let event_id = event.id;
    let nav_entity = event.entity.clone();
    let history = use_context::<super::TimelineOrg>().and_then(|o| o.record_path(&event.entity));
    let person = use_context::<super::TimelineOrg>().and_then(|o| o.person_path(&event.actor.id));
    let record = format!("{} {}", entity_type_label(&event.entity.entity_type), event.entity.display_name());
    let named = |code: String| match country_name(&code) {
        Some(name) => format!("{name} ({code})"),
        None => code,
    };
    let country = ctx.country.map(named);
    // Only where the sender gave no country: what they say comes first.
    let estimated = event.estimated_country.filter(|_| country.is_none()).map(|code| {
        view! {
            <div class="fact" data-fact="location">
                <dt>"Location"</dt>
                <dd>
                    {named(code)} ", "
                    <abbr title="Estimated from the IP address with the IPFire Location Database (CC BY-SA 4.0); the sender gave no country">
                        "estimated"
                    </abbr>
                </dd>
            </div>
        }
    });
    let user_agent = ctx.user_agent.filter(|ua| !ua.trim().is_empty()).map(|raw| {
        let words = describe_user_agent(&raw);
        let body = if words == raw.trim() {
            view! { <code>{raw}</code> }.into_any()
        } else {
            // The words are a reading of the raw string; keep the original
            // one click away for anyone who needs the exact value.
            view! {
                <details class="user-agent">
                    <summary title=raw.clone()>{words}</summary>
                    <code class="user-agent-raw">{raw}</code>
                </details>
            }
            .into_any()
        };
        view! {
            <div class="fact" data-fact="user-agent">
                <dt>"User agent"</dt>
                <dd>{body}</dd>
            </div>
        }
    });
    let body = match event.changes {
        Some(Changes::Diff(tree)) if !tree.is_empty() => Some(view! { <ChangesTree tree /> }.into_any()),
        Some(Changes::Snapshot(values)) => Some(view! { <SnapshotTable values /> }.into_any()),
        Some(Changes::Initial(values)) if !values.is_empty() => {
            Some(view! { <InitialValues values /> }.into_any())
        }
        // State changes with nothing recorded: the action itself is the story.
        _ => None,
    };
    view! {
        <div class="entry-detail" id=id>
            <dl class="facts">
                <div class="fact" data-fact="when">
                    <dt>"When"</dt>
                    <dd><ExactTime at=event.occurred_at /></dd>
                </div>
                {outcome}
                {text("kind", "Type", kind)}
                <div class="fact" data-fact="actor">
                    <dt>"Actor"</dt>
                    <dd>
                        {match person {
                            Some(href) => view! { <a href=href title="Everything they did">{event.actor.name}</a> }.into_any(),
                            None => view! { <span>{event.actor.name}</span> }.into_any(),
                        }}
                    </dd>
                </div>
                {text("email", "Email", event.actor.email)}
                {code("actor-id", "Actor id", Some(event.actor.id))}
                <div class="fact" data-fact="record">
                    <dt>"Record"</dt>
                    <dd>
                        {match history {
                            Some(href) => view! { <a href=href title="This record's full history">{record}</a> }.into_any(),
                            None => view! { <span>{record}</span> }.into_any(),
                        }}
                    </dd>
                </div>
                {code("record-id", "Record id", Some(event.entity.id))}
                {code("ip", "IP address", ctx.ip)}
                {text("country", "Country", country)}
                {estimated}
                {user_agent}
                {code("session", "Session id", ctx.session_id)}
                {code("request", "Request id", ctx.request_id)}
            </dl>
            {body}
            <super::RecordNav event_id entity=nav_entity />
            {exports}
        </div>
    }
}

/// English names of the countries requests most often come from, by ISO
/// 3166-1 alpha-2 code; others are shown by code alone.
fn country_name(code: &str) -> Option<&'static str> {
    let code = code.trim().to_ascii_uppercase();
    COUNTRY_NAMES.binary_search_by(|(c, _)| (*c).cmp(code.as_str())).ok().map(|i| COUNTRY_NAMES[i].1)
}

/// Sorted by code, for the binary search.
const COUNTRY_NAMES: &[(&str, &str)] = &[
    ("AE", "United Arab Emirates"),
    ("AR", "Argentina"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("BE", "Belgium"),
    ("BG", "Bulgaria"),
    ("BR", "Brazil"),
    ("CA", "Canada"),
    ("CH", "Switzerland"),
    ("CL", "Chile"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DK", "Denmark"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("ES", "Spain"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("GR", "Greece"),
    ("HK", "Hong Kong"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IN", "India"),
    ("IR", "Iran"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("NG", "Nigeria"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NZ", "New Zealand"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("RO", "Romania"),
    ("RU", "Russia"),
    ("SA", "Saudi Arabia"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("TH", "Thailand"),
    ("TR", "Türkiye"),
    ("TW", "Taiwan"),
    ("UA", "Ukraine"),
    ("US", "United States"),
    ("VN", "Vietnam"),
    ("ZA", "South Africa"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_countries_have_names_and_others_keep_their_code() {
        assert_eq!(country_name("GB"), Some("United Kingdom"));
        assert_eq!(country_name("us"), Some("United States"));
        assert_eq!(country_name("KP"), Some("North Korea"));
        assert_eq!(country_name("ZZ"), None);
        assert_eq!(country_name(""), None);
        assert!(COUNTRY_NAMES.windows(2).all(|w| w[0].0 < w[1].0), "sorted by code");
    }
}
