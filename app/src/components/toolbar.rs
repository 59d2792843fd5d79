use std::time::Duration;

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

use crate::error::AppError;
use crate::model::{TimelineFilter, entity_type_label};

/// How long typing must pause before the search runs.
const SEARCH_DEBOUNCE: Duration = Duration::from_millis(250);

/// Search box and entity-type menu. Both write the filter into the URL:
/// typing replaces the current history entry (no entry per keystroke), a menu
/// choice pushes one so Back returns to the previous view.
#[component]
pub fn Toolbar(
    filter: Memo<TimelineFilter>,
    types: Resource<Result<Vec<String>, AppError>>,
    pending: ReadSignal<bool>,
) -> impl IntoView {
    let navigate = use_navigate();
    let location = use_location();
    let apply = move |f: TimelineFilter, replace: bool| {
        let query = f.normalized().to_query();
        let path = location.pathname.get_untracked();
        let url = if query.is_empty() { path } else { format!("{path}?{query}") };
        navigate(&url, NavigateOptions { replace, scroll: false, ..Default::default() });
    };

    // What is in the search box; runs ahead of the URL while typing.
    let draft = RwSignal::new(filter.get_untracked().q);
    let timer = StoredValue::new(None::<TimeoutHandle>);
    // The URL changed by other means (Back, Forward, a link): show its search.
    Effect::watch(
        move || filter.get().q,
        move |q, _, _| {
            if timer.get_value().is_none() && draft.get_untracked().trim() != q {
                draft.set(q.clone());
            }
        },
        false,
    );
    let on_search = {
        let apply = apply.clone();
        move |ev| {
            draft.set(event_target_value(&ev));
            if let Some(handle) = timer.get_value() {
                handle.clear();
            }
            let apply = apply.clone();
            let handle = set_timeout_with_handle(
                move || {
                    timer.set_value(None);
                    let mut f = filter.get_untracked();
                    f.q = draft.get_untracked();
                    apply(f, true);
                },
                SEARCH_DEBOUNCE,
            );
            timer.set_value(handle.ok());
        }
    };
    let on_entity = move |ev| {
        let value = event_target_value(&ev);
        let mut f = filter.get_untracked();
        f.entity_type = (!value.is_empty()).then_some(value);
        apply(f, false);
    };

    view! {
        <form class="toolbar" role="search" on:submit=|ev| ev.prevent_default()>
            <label class="search">
                <span class="visually-hidden">"Search"</span>
                <input
                    type="search"
                    name="q"
                    aria-label="Search"
                    placeholder="Search actions, people, records…"
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=move || draft.get()
                    value=filter.get_untracked().q
                    on:input=on_search
                />
            </label>
            <Transition fallback={
                let on_entity = on_entity.clone();
                move || view! { <EntityTypeMenu filter types=Vec::new() on_change=on_entity.clone() /> }
            }>
                {move || {
                    let on_entity = on_entity.clone();
                    Suspend::new(async move {
                        let types = types.await.unwrap_or_default();
                        view! { <EntityTypeMenu filter types on_change=on_entity /> }
                    })
                }}
            </Transition>
            <span class="busy" aria-live="polite">{move || if pending.try_get().unwrap_or(false) { "Updating…" } else { "" }}</span>
        </form>
    }
}

#[component]
fn EntityTypeMenu(
    filter: Memo<TimelineFilter>,
    mut types: Vec<String>,
    on_change: impl Fn(leptos::ev::Event) + 'static,
) -> impl IntoView {
    // A shared link may name a category this log has no events of yet; keep
    // it visible so the menu always tells the truth about the filter.
    if let Some(current) = filter.get_untracked().entity_type.filter(|t| !types.contains(t)) {
        types.push(current);
        types.sort();
    }
    let is_selected = move |t: &str| filter.with(|f| f.entity_type.as_deref() == Some(t));
    let initially = filter.get_untracked().entity_type;
    view! {
        <label class="entity-type-filter">
            <span class="visually-hidden">"Entity type"</span>
            <select name="entity" aria-label="Entity type" on:change=on_change>
                <option value="" selected=initially.is_none() prop:selected=move || filter.with(|f| f.entity_type.is_none())>
                    "All entity types"
                </option>
                {types
                    .into_iter()
                    .map(|t| {
                        let label = entity_type_label(&t);
                        let selected_now = is_selected(&t);
                        let key = t.clone();
                        view! {
                            <option value=t selected=selected_now prop:selected=move || is_selected(&key)>
                                {label}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}
