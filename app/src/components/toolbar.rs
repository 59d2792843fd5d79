use std::time::Duration;

use leptos::prelude::*;

use super::apply_filter::ApplyFilter;
use super::filters::{DateRange, MoreFilters, MultiSelect, Options};
use crate::api::list_actors;
use crate::error::AppError;
use crate::model::{ACTION_TYPES, TimelineFilter, entity_type_label, query};

/// How long typing must pause before the search runs.
const SEARCH_DEBOUNCE: Duration = Duration::from_millis(250);

/// Which controls a timeline shows (an embedded or record timeline may
/// hide some; the server applies its scope regardless).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Controls {
    pub search: bool,
    pub actions: bool,
    pub entity_types: bool,
    pub actors: bool,
    pub dates: bool,
    pub more: bool,
    /// Links from entries to each record's history page.
    pub history: bool,
}

impl Default for Controls {
    fn default() -> Controls {
        Controls {
            search: true,
            actions: true,
            entity_types: true,
            actors: true,
            dates: true,
            more: true,
            history: true,
        }
    }
}

/// The search box (query syntax, round-tripping with the controls) and the
/// filter menus.
#[component]
pub fn Toolbar(
    org: Signal<String>,
    filter: Memo<TimelineFilter>,
    types: Resource<Result<Vec<String>, AppError>>,
    pending: ReadSignal<bool>,
    controls: Controls,
    /// The viewer's zone, which typed or picked dates are read in.
    zone: Signal<String>,
    /// The timeline's way of changing its filter (the URL).
    apply: ApplyFilter,
) -> impl IntoView {
    super::filters::close_menus_on_outside_click();

    // What is in the search box; runs ahead of the URL while typing.
    let draft = RwSignal::new(query::render(&filter.get_untracked()));
    let problem = RwSignal::new(None::<String>);
    let timer = StoredValue::new(None::<TimeoutHandle>);
    // The filter changed by other means (a menu, a chip, Back): show it,
    // unless the box already says the same thing in the user's own words.
    Effect::watch(
        move || filter.get(),
        move |f, _, _| {
            let same = query::parse(&draft.get_untracked())
                .is_ok_and(|typed| TimelineFilter { tz: f.tz.clone(), ..typed }.normalized() == *f);
            if timer.get_value().is_none() && !same {
                draft.set(query::render(f));
                problem.set(None);
            }
        },
        false,
    );
    let run_search = {
        let apply = apply.clone();
        move || {
            timer.set_value(None);
            match query::parse(&draft.get_untracked()) {
                Ok(mut typed) => {
                    problem.set(None);
                    if typed.after.is_some() || typed.before.is_some() {
                        typed.tz = Some(zone.get_untracked());
                    }
                    let typed = typed.normalized();
                    if typed != filter.get_untracked() {
                        apply.call(typed, true);
                    }
                }
                Err(err) => problem.set(Some(err.0)),
            }
        }
    };
    let on_search = {
        let run_search = run_search.clone();
        move |ev| {
            draft.set(event_target_value(&ev));
            if let Some(handle) = timer.get_value() {
                handle.clear();
            }
            let handle = set_timeout_with_handle(run_search.clone(), SEARCH_DEBOUNCE);
            timer.set_value(handle.ok());
        }
    };

    let action_options = Signal::derive(|| {
        ACTION_TYPES.iter().map(|t| (t.key.to_string(), t.label.to_string())).collect::<Options>()
    });
    let type_options = Signal::derive(move || {
        types
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|t| {
                let label = entity_type_label(&t);
                (t, label)
            })
            .collect::<Options>()
    });
    let actor_search = RwSignal::new(String::new());
    let actors = LocalResource::new(move || list_actors(org.get(), actor_search.get()));
    let actor_options = Signal::derive(move || {
        actors
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                let label = match a.kind {
                    crate::model::ActorKind::User => a.name,
                    kind => format!("{} ({})", a.name, actor_kind_label(kind)),
                };
                (a.id, label)
            })
            .collect::<Options>()
    });

    let set_actions = {
        let apply = apply.clone();
        move |values: Vec<String>| {
            let mut f = filter.get_untracked();
            f.actions = values;
            apply.call(f, false);
        }
    };
    let set_types = {
        let apply = apply.clone();
        move |values: Vec<String>| {
            let mut f = filter.get_untracked();
            f.entity_types = values;
            apply.call(f, false);
        }
    };
    let set_actors = {
        let apply = apply.clone();
        move |values: Vec<String>| {
            let mut f = filter.get_untracked();
            f.actors = values;
            apply.call(f, false);
        }
    };

    view! {
        <form class="toolbar" role="search" on:submit=move |ev| {
            ev.prevent_default();
            if let Some(handle) = timer.get_value() {
                handle.clear();
            }
            run_search();
        }>
            {controls.search.then(|| view! {
                <div class="search">
                    <label for="timeline-search" class="visually-hidden">"Search"</label>
                    <input
                        id="timeline-search"
                        type="search"
                        name="q"
                        aria-label="Search"
                        aria-describedby="search-help"
                        aria-invalid=move || problem.get().is_some().to_string()
                        placeholder="Search, or filter: actor:alice action:invoice.* after:2026-01-01"
                        autocomplete="off"
                        spellcheck="false"
                        prop:value=move || draft.get()
                        value=query::render(&filter.get_untracked())
                        on:input=on_search
                    />
                    <p id="search-help" class="search-problem" role="status" aria-live="polite">
                        {move || problem.get()}
                    </p>
                </div>
            }.into_any())}
            <div class="filter-menus">
                {controls.actions.then(|| view! {
                    <MultiSelect
                        label="Action type"
                        options=action_options
                        selected=Signal::derive(move || filter.with(|f| f.actions.clone()))
                        on_change=set_actions
                    />
                }.into_any())}
                {controls.entity_types.then(|| view! {
                    <MultiSelect
                        label="Entity type"
                        options=type_options
                        selected=Signal::derive(move || filter.with(|f| f.entity_types.clone()))
                        on_change=set_types
                    />
                }.into_any())}
                {controls.actors.then(|| view! {
                    <MultiSelect
                        label="Actor"
                        options=actor_options
                        selected=Signal::derive(move || filter.with(|f| f.actors.clone()))
                        on_change=set_actors
                        search=actor_search
                    />
                }.into_any())}
                {controls.dates.then(|| view! { <DateRange filter zone apply=apply.clone() /> }.into_any())}
                {controls.more.then(|| view! { <MoreFilters filter apply=apply.clone() /> }.into_any())}
                <span class="busy" aria-live="polite">
                    {move || if pending.try_get().unwrap_or(false) { "Updating…" } else { "" }}
                </span>
            </div>
        </form>
    }
}

pub fn actor_kind_label(kind: crate::model::ActorKind) -> &'static str {
    use crate::model::ActorKind;
    match kind {
        ActorKind::User => "User",
        ActorKind::System => "System",
        ActorKind::ApiKey => "API key",
        ActorKind::Integration => "Integration",
    }
}
