//! `/o/{org}/dashboard`: what is going on in the organisation. Rendered on
//! the server as plain HTML (numbers, links, SVG charts, a GET form), so it
//! works before and without the wasm. Every number links to the timeline
//! filtered to exactly the events it counts.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::timeline::AppBar;
use crate::api::{current_viewer, load_dashboard};
use crate::components::{thousands, timeline_href};
use crate::model::Category;
use crate::model::dashboard::{Bar, DashRange, Dashboard, Story};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let org = Memo::new(move |_| params.with(|p| p.get("org").unwrap_or_default()));
    let range = Memo::new(move |_| query.with(|q| q.get("range")));
    let tz = Memo::new(move |_| query.with(|q| q.get("tz")));
    let who = Resource::new(move || org.get(), current_viewer);
    let data = Resource::new(move || (org.get(), range.get(), tz.get()), |(o, r, z)| load_dashboard(o, r, z));
    let timeline = move || format!("/o/{}", org.get());
    view! {
        <AppBar who />
        <header class="page-header">
            <p class="breadcrumb"><a href=timeline>"← Audit log"</a></p>
            <p class="page-links">
                <a href=move || format!("/o/{}/security", org.get()) rel="external">"Security events"</a>
                <a href=move || format!("/o/{}/system", org.get()) rel="external">"System events"</a>
            </p>
            <h1>"Dashboard"</h1>
            <p class="lede">"What is going on in your organisation, counted from the whole log."</p>
        </header>
        <Suspense fallback=|| view! { <p class="state loading">"Counting…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <DashboardBody org=org.get_untracked() d /> }.into_any(),
                    Err(e) => {
                        crate::components::mark_hydrated();
                        view! {
                            <p class="state error" role="alert">{format!("The dashboard could not be shown: {e}")}</p>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} bytes") } else { format!("{value:.1} {}", UNITS[unit]) }
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 { "0%".into() } else { format!("{:.0}%", part as f64 * 100.0 / whole as f64) }
}

#[component]
fn DashboardBody(org: String, d: Dashboard) -> impl IntoView {
    crate::components::mark_hydrated();
    let zone = d.zone.clone();
    let by_category = d.by_category();
    let in_range: u64 = by_category.iter().map(|(_, n)| n).sum();
    let range_links = DashRange::ALL
        .iter()
        .map(|r| {
            let href = format!(
                "/o/{org}/dashboard?range={}&tz={}",
                r.as_str(),
                crate::model::percent::encode(&zone, crate::model::percent::COMPONENT)
            );
            let current = (*r == d.range).then_some("page");
            // A full page load: the chart is SVG, drawn by the server.
            view! { <li><a href=href aria-current=current rel="external">{r.label()}</a></li> }
        })
        .collect_view();
    let periods = d
        .periods
        .iter()
        .map(|p| {
            let href = timeline_href(&org, &p.span.filter(&zone));
            view! {
                <div class="stat">
                    <dt>{p.label.clone()}</dt>
                    <dd><a href=href>{thousands(p.events)}" events"</a></dd>
                </div>
            }
        })
        .collect_view();
    let span_filter = d.span.filter(&zone);
    let export = crate::components::export_href(&org, "csv", &span_filter);
    view! {
        <div class="dashboard">
            <section aria-labelledby="recent-activity">
                <h2 id="recent-activity">"Recent activity"</h2>
                <form method="get" class="dash-zone">
                    <input type="hidden" name="range" value=d.range.as_str() />
                    <label>"Days and hours in the time zone "
                        <input name="tz" value=zone.clone() size="22" autocomplete="off" spellcheck="false" />
                    </label>
                    <button type="submit">"Show"</button>
                </form>
                <dl class="stats">
                    {periods}
                    <div class="stat">
                        <dt>"Storage used"</dt>
                        <dd><a href=timeline_href(&org, &Default::default())>{bytes(d.storage_bytes)}</a>
                            <span class="stat-note">{format!(" for {} events", thousands(d.total_events))}</span>
                        </dd>
                    </div>
                </dl>
                <p class="dash-actions">
                    <a href=timeline_href(&org, &Default::default())>"View all logs"</a>
                    <a href=export rel="external" download="">"Export " {d.range.label()} " (CSV)"</a>
                </p>
            </section>
            <section aria-labelledby="by-type">
                <h2 id="by-type">"Activity by type · last " {d.range.label()}</h2>
                <CategoryChart org=org.clone() counts=by_category.clone() total=in_range span_filter=span_filter.clone() />
            </section>
            <section aria-labelledby="over-time">
                <h2 id="over-time">"Activity over time"</h2>
                <nav aria-label="Chart range"><ul class="range-links">{range_links}</ul></nav>
                <ActivityChart org=org.clone() zone=zone.clone() bars=d.bars.clone() />
            </section>
            <section aria-labelledby="high-priority">
                <h2 id="high-priority">"Recent high-priority events"</h2>
                <StoryList org=org.clone() stories=d.high.clone() range=d.range />
                <p><a href=timeline_href(&org, &crate::model::TimelineFilter { priorities: vec![crate::model::Priority::High], ..span_filter.clone() })>
                    "All high-priority events of the last " {d.range.label()}
                </a></p>
            </section>
        </div>
    }
}

/// The categories as labelled horizontal bars: a label, a bar, the count
/// and its share, each a link. Readable without colour: every bar is
/// labelled in words and numbers.
#[component]
fn CategoryChart(
    org: String,
    counts: Vec<(Category, u64)>,
    total: u64,
    span_filter: crate::model::TimelineFilter,
) -> impl IntoView {
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let rows = counts
        .into_iter()
        .filter(|(c, n)| Category::MAIN.contains(c) || *n > 0)
        .map(|(c, n)| {
            let href = timeline_href(
                &org,
                &crate::model::TimelineFilter { categories: vec![c], ..span_filter.clone() },
            );
            let width = format!("{:.1}%", n as f64 * 100.0 / max as f64);
            view! {
                <li class=format!("cat cat-{}", c.as_str())>
                    <a href=href>
                        <span class="cat-label">{c.label()}</span>
                        <span class="cat-bar" aria-hidden="true"><span style:width=width></span></span>
                        <span class="cat-count">{thousands(n)}" · "{percent(n, total)}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="category-chart">{rows}</ul> }
}

/// Stacked bars in SVG, drawn on the server: each bar links to the timeline
/// for its hour or day, and says its counts in its title; a table under the
/// chart gives the same numbers to screen readers and to anyone who prefers
/// reading to shapes.
#[component]
fn ActivityChart(org: String, zone: String, bars: Vec<Bar>) -> impl IntoView {
    const HEIGHT: f64 = 160.0;
    let width = 720.0;
    let max = bars.iter().map(Bar::total).max().unwrap_or(0).max(1) as f64;
    let slot = width / bars.len().max(1) as f64;
    let bar_width = (slot * 0.8).max(1.0);
    let shown: Vec<(usize, Category)> = Category::ALL
        .iter()
        .enumerate()
        .filter(|(_, c)| Category::MAIN.contains(c) || **c == Category::View || **c == Category::Api)
        .map(|(i, c)| (i, *c))
        .collect();
    let columns = bars
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let href = timeline_href(&org, &b.span.filter(&zone));
            let x = i as f64 * slot + (slot - bar_width) / 2.0;
            let mut y = HEIGHT;
            let parts = shown
                .iter()
                .filter_map(|(at, c)| {
                    let n = *b.counts.get(*at)?;
                    if n == 0 {
                        return None;
                    }
                    let h = n as f64 / max * HEIGHT;
                    y -= h;
                    Some(view! {
                        <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{bar_width:.1}") height=format!("{h:.1}")
                              class=format!("seg seg-{}", c.as_str()) />
                    })
                })
                .collect_view();
            let title = format!("{}: {} events", b.label, thousands(b.total()));
            view! {
                <a href=href>
                    <title>{title}</title>
                    <rect class="hit" x=format!("{:.1}", i as f64 * slot) y="0" width=format!("{slot:.1}") height=format!("{HEIGHT}") />
                    {parts}
                </a>
            }
        })
        .collect_view();
    let legend = shown
        .iter()
        .map(|(_, c)| view! { <li><span class=format!("swatch seg-{}", c.as_str()) aria-hidden="true"></span>{c.label()}</li> })
        .collect_view();
    let first = bars.first().map(|b| b.label.clone()).unwrap_or_default();
    let last = bars.last().map(|b| b.label.clone()).unwrap_or_default();
    let rows = bars
        .iter()
        .map(|b| {
            let href = timeline_href(&org, &b.span.filter(&zone));
            let cells = shown.iter().map(|(at, _)| view! { <td>{thousands(b.counts.get(*at).copied().unwrap_or(0))}</td> }).collect_view();
            view! { <tr><th scope="row"><a href=href>{b.label.clone()}</a></th>{cells}<td>{thousands(b.total())}</td></tr> }
        })
        .collect_view();
    let heads = shown.iter().map(|(_, c)| view! { <th scope="col">{c.label()}</th> }).collect_view();
    view! {
        <figure class="activity-chart">
            // A group of links (one a bar), each named by its title.
            <svg viewBox=format!("0 0 {width} {HEIGHT}") role="group" aria-label=format!("Events per period from {first} to {last}, stacked by type; the table below has the numbers") preserveAspectRatio="none">
                {columns}
            </svg>
            <figcaption>
                <span>{first}</span><span>{last}</span>
            </figcaption>
            <ul class="legend">{legend}</ul>
            <details class="chart-table">
                <summary>"The numbers"</summary>
                <table>
                    <thead><tr><th scope="col">"Period"</th>{heads}<th scope="col">"All"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
}

#[component]
fn StoryList(org: String, stories: Vec<Story>, range: DashRange) -> impl IntoView {
    if stories.is_empty() {
        return view! {
            <p class="state empty">{format!("No high-priority events in the last {}.", range.label())}</p>
        }
        .into_any();
    }
    let items = stories
        .into_iter()
        .map(|s| {
            let href = match &s.record {
                Some((kind, id)) => crate::components::record_href(&org, kind, id),
                None => timeline_href(&org, &s.filter),
            };
            let when = s.at.format("%Y-%m-%d %H:%M UTC").to_string();
            let actor = s.actor.as_ref().map(|(id, name)| {
                let href = crate::components::person_href(&org, id);
                view! { <a class="story-actor" href=href title="Everything they did">{name.clone()}</a> }
            });
            view! {
                <li class="story">
                    <span class="story-mark" aria-hidden="true">"!"</span>
                    <a href=href>{s.title.clone()}</a>
                    {actor}
                    <time datetime=s.at.to_rfc3339()>{when}</time>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="stories">{items}</ul> }.into_any()
}
