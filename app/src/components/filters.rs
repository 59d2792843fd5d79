//! The filter menus: multi-selects, the date range and the less common
//! fields. Each is a `<details>` disclosure whose panel is rendered only
//! while open: the server and the first browser render agree (closed), and a
//! closed menu costs nothing.

use leptos::prelude::*;

use super::apply_filter::ApplyFilter;
use crate::model::filter::{check_country, check_ip, format_date_time, parse_date_time};
use crate::model::{TimelineFilter, Within};

/// `(value, label)` pairs.
pub type Options = Vec<(String, String)>;

/// Tracks a `<details>` element's open state.
fn on_toggle(open: RwSignal<bool>) -> impl Fn(leptos::ev::Event) + 'static {
    move |ev| {
        use leptos::wasm_bindgen::JsCast;
        if let Some(details) = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok()) {
            open.set(details.has_attribute("open"));
        }
    }
}

/// Escape closes a menu and puts focus back on its button.
fn on_menu_key(ev: leptos::ev::KeyboardEvent) {
    use leptos::wasm_bindgen::JsCast;
    if ev.key() != "Escape" {
        return;
    }
    let Some(details) = ev.current_target().and_then(|t| t.dyn_into::<leptos::web_sys::HtmlElement>().ok())
    else {
        return;
    };
    if details.has_attribute("open") {
        ev.stop_propagation();
        let _ = details.remove_attribute("open");
        if let Some(summary) =
            details.first_element_child().and_then(|s| s.dyn_into::<leptos::web_sys::HtmlElement>().ok())
        {
            let _ = summary.focus();
        }
    }
}

/// Closes open menus when a click lands outside them, as popovers do.
pub fn close_menus_on_outside_click() {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::click, |ev| {
            let target = ev.target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
            let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
            let Ok(open) = doc.query_selector_all("details.multi[open]") else { return };
            for i in 0..open.length() {
                if let Some(menu) = open.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok())
                    && !target.as_ref().is_some_and(|t| menu.contains(Some(t)))
                {
                    let _ = menu.remove_attribute("open");
                }
            }
        });
        on_cleanup(move || handle.remove());
    }
}

/// A menu of checkboxes. Selected values missing from `options` (a shared
/// link naming something this log has none of yet) stay listed, so the menu
/// always tells the truth about the filter.
#[component]
pub fn MultiSelect(
    label: &'static str,
    options: Signal<Options>,
    selected: Signal<Vec<String>>,
    on_change: impl Fn(Vec<String>) + Clone + Send + Sync + 'static,
    /// A search box in the panel, bound to this signal (for long lists).
    #[prop(optional)]
    search: Option<RwSignal<String>>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let count = move || selected.with(Vec::len);
    let class = move || if count() > 0 { "multi active" } else { "multi" };
    let panel = move || {
        let on_change = on_change.clone();
        open.get().then(move || {
            let rows = move || {
                let mut all = options.get();
                for v in selected.get() {
                    if !all.iter().any(|(value, _)| *value == v) {
                        all.push((v.clone(), v));
                    }
                }
                let on_change = on_change.clone();
                all.into_iter()
                    .map(move |(value, text)| {
                        let on_change = on_change.clone();
                        let v = value.clone();
                        let checked = move || selected.with(|s| s.contains(&v));
                        let v = value.clone();
                        let toggle = move |_| {
                            let mut now = selected.get_untracked();
                            if let Some(at) = now.iter().position(|s| *s == v) {
                                now.remove(at);
                            } else {
                                now.push(v.clone());
                            }
                            on_change(now);
                        };
                        view! {
                            <li>
                                <label class="check">
                                    <input type="checkbox" value=value prop:checked=checked on:change=toggle />
                                    <span>{text}</span>
                                </label>
                            </li>
                        }
                    })
                    .collect_view()
            };
            view! {
                <fieldset class="menu-panel">
                    <legend class="visually-hidden">{label}</legend>
                    {search.map(|s| view! {
                        <input
                            type="search"
                            class="menu-search"
                            aria-label=format!("Find {}", label.to_lowercase())
                            placeholder="Find…"
                            prop:value=move || s.get()
                            on:input=move |ev| s.set(event_target_value(&ev))
                        />
                    })}
                    <ul class="menu-options">{rows}</ul>
                </fieldset>
            }
        })
    };
    view! {
        <details class=class on:toggle=on_toggle(open) on:keydown=on_menu_key>
            <summary>
                {label}
                <span class="menu-count">{move || match count() { 0 => String::new(), n => format!(" · {n}") }}</span>
            </summary>
            {panel}
        </details>
    }
}

/// Presets and an exact start and end, read in the filter's zone (the
/// viewer's when the filter has none yet).
#[component]
pub fn DateRange(filter: Memo<TimelineFilter>, zone: Signal<String>, apply: ApplyFilter) -> impl IntoView {
    let open = RwSignal::new(false);
    let summary = move || {
        filter.with(|f| match (f.within, f.after.is_some() || f.before.is_some()) {
            (Some(w), false) => w.label().to_string(),
            (None, false) => "All time".to_string(),
            _ => "Custom dates".to_string(),
        })
    };
    let class = move || {
        if filter.with(|f| f.within.is_some() || f.after.is_some() || f.before.is_some()) {
            "multi active"
        } else {
            "multi"
        }
    };
    let problem = RwSignal::new(None::<String>);
    let panel = move || {
        let apply = apply.clone();
        open.get().then(move || {
            let set_preset = {
                let apply = apply.clone();
                move |within: Option<Within>| {
                    let mut f = filter.get_untracked();
                    f.within = within;
                    apply.call(f, false);
                }
            };
            let set_date = move |which: &'static str, raw: String| {
                let mut f = filter.get_untracked();
                let value = if raw.trim().is_empty() {
                    None
                } else {
                    match parse_date_time(&raw) {
                        Ok(d) => Some(d),
                        Err(e) => {
                            problem.set(Some(e));
                            return;
                        }
                    }
                };
                if f.tz.is_none() {
                    f.tz = Some(zone.get_untracked());
                }
                if which == "after" { f.after = value } else { f.before = value }
                if let (Some(a), Some(b)) = (f.after, f.before)
                    && a >= b
                {
                    problem.set(Some("The start must be before the end.".into()));
                    return;
                }
                problem.set(None);
                apply.call(f, false);
            };
            let set_after = {
                let set_date = set_date.clone();
                move |ev| set_date("after", event_target_value(&ev))
            };
            let set_before = move |ev| set_date("before", event_target_value(&ev));
            let input_value = move |d: Option<chrono::NaiveDateTime>| {
                // datetime-local always wants the minutes.
                d.map(|d| {
                    let text = format_date_time(d);
                    if text.len() == 10 { format!("{text}T00:00") } else { text[..16].to_string() }
                })
                .unwrap_or_default()
            };
            let presets = [None, Some(Within::Day), Some(Within::Week), Some(Within::Month)];
            view! {
                <fieldset class="menu-panel dates">
                    <legend class="visually-hidden">"Date range"</legend>
                    <ul class="menu-options">
                        {presets
                            .into_iter()
                            .map(|w| {
                                let set_preset = set_preset.clone();
                                let text = w.map(Within::label).unwrap_or("All time");
                                view! {
                                    <li>
                                        <label class="check">
                                            <input
                                                type="radio"
                                                name="within"
                                                prop:checked=move || filter.with(|f| f.within == w)
                                                on:change=move |_| set_preset(w)
                                            />
                                            <span>{text}</span>
                                        </label>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                    <label class="field">
                        <span>"From"</span>
                        <input
                            type="datetime-local"
                            prop:value=move || input_value(filter.with(|f| f.after))
                            on:change=set_after
                        />
                    </label>
                    <label class="field">
                        <span>"Until"</span>
                        <input
                            type="datetime-local"
                            prop:value=move || input_value(filter.with(|f| f.before))
                            on:change=set_before
                        />
                    </label>
                    <p class="hint">
                        {move || format!("Times in {}", filter.with(|f| f.tz.clone()).unwrap_or_else(|| zone.get()))}
                    </p>
                    <p class="field-problem" role="alert">{move || problem.get()}</p>
                </fieldset>
            }
        })
    };
    view! {
        <details class=class on:toggle=on_toggle(open) on:keydown=on_menu_key>
            <summary>"Date: " {summary}</summary>
            {panel}
        </details>
    }
}

/// Record id, IP address, session id and country: exact matches, applied
/// when a field is left or Enter is pressed.
#[component]
pub fn MoreFilters(filter: Memo<TimelineFilter>, apply: ApplyFilter) -> impl IntoView {
    let open = RwSignal::new(false);
    let count = move || {
        filter.with(|f| [&f.record, &f.ip, &f.session, &f.country].iter().filter(|v| v.is_some()).count())
    };
    let problem = RwSignal::new(None::<String>);
    let panel = move || {
        let apply = apply.clone();
        open.get().then(move || {
            let field = move |label: &'static str, key: &'static str, placeholder: &'static str| {
                let apply = apply.clone();
                let current = move || {
                    filter.with(|f| match key {
                        "record" => f.record.clone(),
                        "ip" => f.ip.clone(),
                        "session" => f.session.clone(),
                        _ => f.country.clone(),
                    })
                    .unwrap_or_default()
                };
                let on_change = move |ev| {
                    let raw = event_target_value(&ev).trim().to_string();
                    let checked = if raw.is_empty() {
                        Ok(None)
                    } else {
                        match key {
                            "ip" => check_ip(&raw).map(Some),
                            "country" => check_country(&raw).map(Some),
                            _ => Ok(Some(raw)),
                        }
                    };
                    match checked {
                        Err(e) => problem.set(Some(format!("{label}: {e}"))),
                        Ok(value) => {
                            problem.set(None);
                            let mut f = filter.get_untracked();
                            match key {
                                "record" => f.record = value,
                                "ip" => f.ip = value,
                                "session" => f.session = value,
                                _ => f.country = value,
                            }
                            apply.call(f, false);
                        }
                    }
                };
                view! {
                    <label class="field">
                        <span>{label}</span>
                        <input type="text" name=key placeholder=placeholder prop:value=current on:change=on_change />
                    </label>
                }
            };
            view! {
                <fieldset class="menu-panel more">
                    <legend class="visually-hidden">"More filters"</legend>
                    {field("Record id", "record", "inv_0042")}
                    {field("IP address", "ip", "10.1.2.3 or 10.1.0.0/16")}
                    {field("Session id", "session", "")}
                    {field("Country", "country", "DE")}
                    <p class="field-problem" role="alert">{move || problem.get()}</p>
                </fieldset>
            }
        })
    };
    let class = move || if count() > 0 { "multi active" } else { "multi" };
    view! {
        <details class=class on:toggle=on_toggle(open) on:keydown=on_menu_key>
            <summary>
                "More filters"
                <span class="menu-count">{move || match count() { 0 => String::new(), n => format!(" · {n}") }}</span>
            </summary>
            {panel}
        </details>
    }
}

/// Every active filter as a removable chip, and Clear filters.
#[component]
pub fn ActiveFilters(
    filter: Memo<TimelineFilter>,
    apply: ApplyFilter,
    /// Actor id -> display name, when known.
    actor_name: Signal<Vec<(String, String)>>,
) -> impl IntoView {
    let chips = move || {
        let f = filter.get();
        let mut out: Vec<(String, TimelineFilter)> = Vec::new();
        let without = |change: &dyn Fn(&mut TimelineFilter)| {
            let mut g = f.clone();
            change(&mut g);
            g
        };
        for term in f.search_terms() {
            out.push((
                format!("Text: {term}"),
                without(&|g| {
                    let kept: Vec<String> = g
                        .search_terms()
                        .into_iter()
                        .filter(|t| *t != term)
                        .map(|t| if t.contains(' ') { format!("\"{t}\"") } else { t })
                        .collect();
                    g.q = kept.join(" ");
                }),
            ));
        }
        for (i, a) in f.actions.iter().enumerate() {
            out.push((
                format!("Action: {}", crate::model::action_label(a)),
                without(&|g| {
                    g.actions.remove(i);
                }),
            ));
        }
        for (i, a) in f.not_actions.iter().enumerate() {
            out.push((
                format!("Not action: {}", crate::model::action_label(a)),
                without(&|g| {
                    g.not_actions.remove(i);
                }),
            ));
        }
        for (i, t) in f.entity_types.iter().enumerate() {
            out.push((
                format!("Entity: {}", crate::model::entity_type_label(t)),
                without(&|g| {
                    g.entity_types.remove(i);
                }),
            ));
        }
        for (i, c) in f.categories.iter().enumerate() {
            out.push((
                format!("Category: {}", c.label()),
                without(&|g| {
                    g.categories.remove(i);
                }),
            ));
        }
        for (i, p) in f.priorities.iter().enumerate() {
            out.push((
                format!("Priority: {}", p.label()),
                without(&|g| {
                    g.priorities.remove(i);
                }),
            ));
        }
        let names = actor_name.get();
        for (i, a) in f.actors.iter().enumerate() {
            let shown =
                names.iter().find(|(id, _)| id == a).map(|(_, n)| n.clone()).unwrap_or_else(|| a.clone());
            out.push((
                format!("Actor: {shown}"),
                without(&|g| {
                    g.actors.remove(i);
                }),
            ));
        }
        type Clear = fn(&mut TimelineFilter);
        let single: [(&str, Option<String>, Clear); 4] = [
            ("Record", f.record.clone(), |g| g.record = None),
            ("IP", f.ip.clone(), |g| g.ip = None),
            ("Session", f.session.clone(), |g| g.session = None),
            ("Country", f.country.clone(), |g| g.country = None),
        ];
        for (label, value, clear) in single {
            if let Some(v) = value {
                out.push((format!("{label}: {v}"), without(&clear)));
            }
        }
        if let Some(w) = f.within {
            out.push((w.label().to_string(), without(&|g| g.within = None)));
        }
        let zone = f.tz.clone().unwrap_or_else(|| "UTC".into());
        if let Some(a) = f.after {
            out.push((format!("From: {} ({zone})", format_date_time(a)), without(&|g| g.after = None)));
        }
        if let Some(b) = f.before {
            out.push((format!("Until: {} ({zone})", format_date_time(b)), without(&|g| g.before = None)));
        }
        out
    };
    let clear = {
        let apply = apply.clone();
        move |_| apply.call(TimelineFilter::default(), false)
    };
    view! {
        <Show when=move || !filter.with(TimelineFilter::is_empty)>
            <div class="active-filters" role="region" aria-label="Active filters">
                <ul class="chips">
                    {
                        let apply = apply.clone();
                        move || {
                            let apply = apply.clone();
                            chips()
                                .into_iter()
                                .map(|(text, rest)| {
                                    let apply = apply.clone();
                                    let name = format!("Remove filter {text}");
                                    view! {
                                        <li class="chip">
                                            <span>{text}</span>
                                            <button type="button" aria-label=name on:click=move |_| apply.call(rest.clone(), false)>
                                                "×"
                                            </button>
                                        </li>
                                    }
                                })
                                .collect_view()
                        }
                    }
                </ul>
                <button type="button" class="clear-filters" on:click=clear.clone()>"Clear filters"</button>
            </div>
        </Show>
    }
}
