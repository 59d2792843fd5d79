//! `/o/{org}/security` and `/o/{org}/system`: one category of the log as
//! a table with each event's status (and risk), plain HTML rendered on the
//! server; older events a link away. The system view adds the period's
//! health: failed jobs, and the server's uptime and response times.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::timeline::AppBar;
use crate::api::{current_viewer, load_oversight};
use crate::components::{person_href, record_href, thousands, timeline_href};
use crate::model::oversight::{OversightView, SystemHealth, ViewKind};
use crate::model::{AuditEvent, Outcome, Within, action_label, entity_type_label, outcome_of};

#[component]
pub fn SecurityPage() -> impl IntoView {
    view! { <OversightPage kind=ViewKind::Security /> }
}

#[component]
pub fn SystemPage() -> impl IntoView {
    view! { <OversightPage kind=ViewKind::System /> }
}

#[component]
fn OversightPage(kind: ViewKind) -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let org = Memo::new(move |_| params.with(|p| p.get("org").unwrap_or_default()));
    let range = Memo::new(move |_| query.with(|q| q.get("range")));
    let cursor = Memo::new(move |_| query.with(|q| q.get("cursor")));
    let who = Resource::new(move || org.get(), current_viewer);
    let data = Resource::new(
        move || (org.get(), range.get(), cursor.get()),
        move |(o, r, c)| load_oversight(o, kind.as_str().to_string(), r, c),
    );
    let lede = match kind {
        ViewKind::Security => "Sign-ins that failed, lockouts, changes of who may do what, keys and exports.",
        ViewKind::System => "What background jobs and integrations did, and how the server itself is doing.",
    };
    view! {
        <AppBar who />
        <header class="page-header">
            <p class="breadcrumb"><a href=move || format!("/o/{}", org.get())>"← Audit log"</a></p>
            <h1>{kind.title()}</h1>
            <p class="lede">{lede}</p>
        </header>
        <Suspense fallback=|| view! { <p class="state loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(v) => view! { <OversightBody org=org.get_untracked() v /> }.into_any(),
                    Err(e) => {
                        crate::components::mark_hydrated();
                        view! { <p class="state error" role="alert">{format!("This view could not be shown: {e}")}</p> }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn OversightBody(org: String, v: OversightView) -> impl IntoView {
    crate::components::mark_hydrated();
    let base = format!("/o/{org}/{}", v.kind.as_str());
    let ranges = Within::ALL
        .iter()
        .map(|r| {
            let href = format!("{base}?range={}", r.as_str());
            let current = (*r == v.range).then_some("page");
            view! { <li><a href=href aria-current=current rel="external">{r.label()}</a></li> }
        })
        .collect_view();
    let all = timeline_href(&org, &v.kind.filter(v.range));
    let older = v.next_cursor.clone().map(|c| {
        let href = format!(
            "{base}?range={}&cursor={}",
            v.range.as_str(),
            crate::model::percent::encode(&c, crate::model::percent::COMPONENT)
        );
        view! { <p class="dash-actions"><a href=href rel="external">"Older events →"</a></p> }
    });
    let top = match (v.kind, v.health.clone()) {
        (ViewKind::System, Some(h)) => Some(view! { <Health h range=v.range /> }.into_any()),
        (ViewKind::Security, _) => Some(
            view! {
                <section aria-labelledby="alerts">
                    <h2 id="alerts">"Security alerts active: 0"</h2>
                    <p class="state empty">
                        "No alert rules are set up in this log yet, so nothing is being watched for. "
                        "High-risk events are listed below, and on the "
                        <a href=format!("/o/{org}/dashboard")>"dashboard"</a>"."
                    </p>
                </section>
            }
            .into_any(),
        ),
        _ => None,
    };
    view! {
        <div class="dashboard oversight">
            {top}
            <section aria-labelledby="events">
                <h2 id="events">{format!("{} · {}", v.kind.title(), v.range.label())}</h2>
                <nav aria-label="Period"><ul class="range-links">{ranges}</ul></nav>
                <EventTable org=org.clone() kind=v.kind events=v.events />
                {older}
                <p class="dash-actions"><a href=all>"Open in the timeline"</a></p>
            </section>
        </div>
    }
}

/// The period's health: jobs that failed, uptime and response times.
#[component]
fn Health(h: SystemHealth, range: Within) -> impl IntoView {
    let share = if h.jobs == 0 {
        "0%".to_string()
    } else {
        format!("{:.1}%", h.failed as f64 * 100.0 / h.jobs as f64)
    };
    let read = if h.capped {
        format!("of the latest {} system events", thousands(h.jobs))
    } else {
        format!("of {} system events", thousands(h.jobs))
    };
    let server = h.server.clone().unwrap_or_default();
    let uptime = server.uptime_percent().map_or("not measured yet".to_string(), |p| format!("{p:.2}%"));
    let mean = server.mean_ms.map_or("no requests yet".to_string(), |ms| format!("{ms:.0} ms"));
    let median = match server.median_under_ms() {
        Some(ms) => format!("half of {} requests answered within {ms} ms", thousands(server.requests)),
        None if server.requests > 0 => format!("over {} requests", thousands(server.requests)),
        None => String::new(),
    };
    view! {
        <section aria-labelledby="health">
            <h2 id="health">{format!("System health · {}", range.label())}</h2>
            <dl class="stats">
                <div class="stat" data-stat="failed-jobs">
                    <dt>"Failed jobs"</dt>
                    <dd>{format!("{} ({share})", thousands(h.failed))}<span class="stat-note">{read}</span></dd>
                </div>
                <div class="stat" data-stat="uptime">
                    <dt>"Uptime"</dt>
                    <dd>{uptime}<span class="stat-note">"minutes a server process answered, as it recorded them"</span></dd>
                </div>
                <div class="stat" data-stat="response">
                    <dt>"Average response"</dt>
                    <dd>{mean}<span class="stat-note">{median}</span></dd>
                </div>
            </dl>
        </section>
    }
}

fn status(e: &AuditEvent) -> (Option<Outcome>, &'static str, &'static str) {
    match outcome_of(&e.action, e.actor.kind, &e.metadata) {
        Some(o) => (Some(o), o.glyph(), o.label()),
        None => (None, "", "Recorded"),
    }
}

#[component]
fn EventTable(org: String, kind: ViewKind, events: Vec<AuditEvent>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="state empty">"No events of this kind in this period."</p> }.into_any();
    }
    let rows = events
        .into_iter()
        .map(|e| {
            let when = e.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
            let record = record_href(&org, &e.entity.entity_type, &e.entity.id);
            let what = format!(
                "{} · {} {}",
                action_label(&e.action),
                entity_type_label(&e.entity.entity_type),
                e.entity.display_name()
            );
            let (outcome, glyph, label) = status(&e);
            let class = format!("outcome outcome-{}", outcome.map_or("none", Outcome::as_str));
            let who = person_href(&org, &e.actor.id);
            let risk = (kind == ViewKind::Security).then(|| {
                let (class, label) = e.priority.map_or(("risk", "—"), |p| (p.css_class(), p.label()));
                view! { <td class=class>{label}</td> }
            });
            view! {
                <tr>
                    <td><time datetime=e.occurred_at.to_rfc3339()>{when}</time></td>
                    <td><a href=record>{what}</a></td>
                    <td><a href=who>{e.actor.name.clone()}</a></td>
                    <td><span class=class>{glyph}" "{label}</span></td>
                    {risk}
                </tr>
            }
        })
        .collect_view();
    let who = match kind {
        ViewKind::Security => "User",
        ViewKind::System => "Component",
    };
    let risk = (kind == ViewKind::Security).then(|| view! { <th scope="col">"Risk"</th> });
    view! {
        <table class="recent oversight-table">
            <thead>
                <tr>
                    <th scope="col">"Time"</th>
                    <th scope="col">"Event"</th>
                    <th scope="col">{who}</th>
                    <th scope="col">"Status"</th>
                    {risk}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
