//! `/o/{org}/people/{actor}`: what one person (or process, or key) did over
//! a period. Server-rendered plain HTML: numbers as links to exactly the
//! events they count, period links that reload the page.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::timeline::AppBar;
use crate::api::{current_viewer, load_person};
use crate::components::{person_href, record_href, thousands, timeline_href};
use crate::model::people::{Count, PERIOD_DAYS, PersonActivity, duration_words};
use crate::model::{ActorKind, AuditEvent, TimelineFilter, action_label, entity_type_label};

#[component]
pub fn PersonPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let org = Memo::new(move |_| params.with(|p| p.get("org").unwrap_or_default()));
    let actor = Memo::new(move |_| params.with(|p| p.get("actor").unwrap_or_default()));
    let days = Memo::new(move |_| query.with(|q| q.get("days")));
    let who = Resource::new(move || org.get(), current_viewer);
    let data = Resource::new(move || (org.get(), actor.get(), days.get()), |(o, a, d)| load_person(o, a, d));
    let timeline = move || format!("/o/{}", org.get());
    let dashboard = move || format!("/o/{}/dashboard", org.get());
    view! {
        <AppBar who />
        <Suspense fallback=|| view! { <p class="state loading">"Counting…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(p) => view! { <PersonBody org=org.get_untracked() p /> }.into_any(),
                    Err(e) => {
                        crate::components::mark_hydrated();
                        view! {
                            <header class="page-header">
                                <p class="breadcrumb"><a href=timeline>"← Audit log"</a></p>
                                <h1>"Activity"</h1>
                            </header>
                            <p class="state error" role="alert">{format!("This activity could not be shown: {e}")}</p>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
        <p class="page-links"><a href=dashboard>"Dashboard"</a></p>
    }
}

/// A stat tile whose number links to its events.
fn stat(org: &str, c: &Count) -> impl IntoView + use<> {
    let href = timeline_href(org, &c.filter);
    view! {
        <div class="stat">
            <dt>{c.label.clone()}</dt>
            <dd><a href=href>{thousands(c.events)}</a></dd>
        </div>
    }
}

#[component]
fn PersonBody(org: String, p: PersonActivity) -> impl IntoView {
    crate::components::mark_hydrated();
    let kind = match p.kind {
        ActorKind::User => "Person",
        ActorKind::System => "System process",
        ActorKind::ApiKey => "API key",
        ActorKind::Integration => "Integration",
    };
    let periods = PERIOD_DAYS
        .iter()
        .map(|d| {
            let href = format!("{}?days={d}", person_href(&org, &p.actor_id));
            let current = (*d == p.days).then_some("page");
            view! { <li><a href=href aria-current=current rel="external">{format!("{d} days")}</a></li> }
        })
        .collect_view();
    let summary = std::iter::once(&p.total).chain(p.summary.iter()).map(|c| stat(&org, c)).collect_view();
    let max = p.modules.iter().map(|c| c.events).max().unwrap_or(0).max(p.other_modules).max(1);
    let bar = move |n: u64| format!("{:.1}%", n as f64 * 100.0 / max as f64);
    let modules = p
        .modules
        .iter()
        .map(|c| {
            let href = timeline_href(&org, &c.filter);
            view! {
                <li>
                    <a href=href>
                        <span class="cat-label">{c.label.clone()}</span>
                        <span class="cat-bar" aria-hidden="true"><span style:width=bar(c.events)></span></span>
                        <span class="cat-count">{thousands(c.events)}" actions"</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    let other = (p.other_modules > 0).then(|| {
        view! {
            <li class="other">
                <span class="cat-label">"Other"</span>
                <span class="cat-bar" aria-hidden="true"><span style:width=bar(p.other_modules)></span></span>
                <span class="cat-count">{thousands(p.other_modules)}" actions"</span>
            </li>
        }
    });
    let mut sessions = p.sessions.iter();
    let sign_ins = sessions.next().map(|c| stat(&org, c));
    let rest = sessions.map(|c| stat(&org, c)).collect_view();
    let average = match p.average_session_secs {
        Some(secs) => view! {
            {duration_words(secs)}
            <span class="stat-note">{format!("over {} sessions with a sign-out", p.sessions_measured)}</span>
        }
        .into_any(),
        None => view! { "—" <span class="stat-note">"no session with both a sign-in and a sign-out"</span> }
            .into_any(),
    };
    let all = timeline_href(&org, &TimelineFilter { actors: vec![p.actor_id.clone()], ..Default::default() });
    let period_words = format!("Last {} days (UTC days, today included)", p.days);
    view! {
        <header class="page-header">
            <p class="breadcrumb"><a href=format!("/o/{org}")>"← Audit log"</a></p>
            <h1>{p.name.clone()}</h1>
            <p class="lede person-facts">
                <span>{kind}</span>
                {p.email.clone().map(|e| view! { <span>{e}</span> })}
                <span>"Id "<code>{p.actor_id.clone()}</code></span>
            </p>
        </header>
        <div class="dashboard person">
            <section aria-labelledby="summary">
                <h2 id="summary">"Activity summary"</h2>
                <nav aria-label="Period"><ul class="range-links">{periods}</ul></nav>
                <p class="stat-note">{period_words}</p>
                <dl class="stats">{summary}</dl>
                <p class="dash-actions"><a href=all>"All of their events"</a></p>
            </section>
            <section aria-labelledby="modules">
                <h2 id="modules">"Activity by module"</h2>
                {if p.modules.is_empty() {
                    view! { <p class="state empty">"No activity in this period."</p> }.into_any()
                } else {
                    view! { <ul class="category-chart modules">{modules}{other}</ul> }.into_any()
                }}
            </section>
            <section aria-labelledby="sessions">
                <h2 id="sessions">"Sessions"</h2>
                <dl class="stats">
                    {sign_ins}
                    <div class="stat">
                        <dt>"Average session"</dt>
                        <dd>{average}</dd>
                    </div>
                    {rest}
                </dl>
            </section>
            <section aria-labelledby="recent">
                <h2 id="recent">"Latest activity"</h2>
                <RecentTable org=org.clone() events=p.recent.clone() />
            </section>
        </div>
    }
}

#[component]
fn RecentTable(org: String, events: Vec<AuditEvent>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="state empty">"No events yet."</p> }.into_any();
    }
    let rows = events
        .into_iter()
        .map(|e| {
            let record = record_href(&org, &e.entity.entity_type, &e.entity.id);
            let detail = e.context.ip.clone().map(|ip| format!("From {ip}")).unwrap_or_default();
            view! {
                <tr>
                    <td><time datetime=e.occurred_at.to_rfc3339()>{e.occurred_at.format("%Y-%m-%d %H:%M UTC").to_string()}</time></td>
                    <td>{action_label(&e.action)}</td>
                    <td><a href=record>{entity_type_label(&e.entity.entity_type)}" "{e.entity.display_name()}</a></td>
                    <td>{detail}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="recent">
            <thead><tr><th scope="col">"Time"</th><th scope="col">"Action"</th><th scope="col">"Record"</th><th scope="col">"Details"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
