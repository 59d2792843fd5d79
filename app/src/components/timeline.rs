use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{EntryRow, Toolbar};
use crate::api::{entity_types, list_events};
use crate::error::AppError;
use crate::model::{AuditEvent, TimelineFilter, TimelinePage};

/// Events appended by "Load more" after the first page.
#[derive(Clone, Copy)]
struct MorePages {
    events: RwSignal<Vec<AuditEvent>>,
    /// `None` until the first "Load more"; then the cursor after the last page.
    cursor: RwSignal<Option<Option<String>>>,
    loading: RwSignal<bool>,
    error: RwSignal<Option<String>>,
}

impl MorePages {
    fn reset(&self) {
        self.events.set(Vec::new());
        self.cursor.set(None);
        self.loading.set(false);
        self.error.set(None);
    }
}

/// The filterable, paginated audit timeline of `org` (a slug). The filter is
/// read from the page's query string, so the server renders a shared link
/// already filtered.
#[component]
pub fn Timeline(#[prop(into)] org: Signal<String>) -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(|q| TimelineFilter::from_query(|k| q.get(k))));
    // The first page is a resource: it runs on the server for a cold URL and
    // its result travels with the HTML. A stale response never replaces a
    // newer one (the resource keeps only its latest run).
    let first_page = Resource::new(move || (org.get(), filter.get()), |(org, f)| list_events(org, f, None));
    let types = Resource::new(move || org.get(), entity_types);
    let more = MorePages {
        events: RwSignal::new(Vec::new()),
        cursor: RwSignal::new(None),
        loading: RwSignal::new(false),
        error: RwSignal::new(None),
    };
    // A new filter or org starts again from page one.
    Effect::watch(move || (org.get(), filter.get()), move |_, _, _| more.reset(), false);
    let pending = RwSignal::new(false);

    view! {
        <section class="timeline-panel">
            <Toolbar filter types pending=pending.read_only() />
            // try_get: server rendering can outlive this component's owner
            // (a route re-render while a page is being streamed); a pending
            // flag that is gone means nothing is pending.
            <div class="timeline" aria-busy=move || pending.try_get().unwrap_or(false).to_string()>
                <Transition
                    fallback=|| view! { <p class="status" role="status">"Loading events…"</p> }
                    set_pending=pending.write_only()
                >
                    {move || Suspend::new(async move {
                        match first_page.await {
                            Ok(page) if page.events.is_empty() => {
                                EitherOf3::A(view! { <EmptyState filter=filter.get_untracked() /> })
                            }
                            Ok(page) => EitherOf3::B(view! { <EventList page org filter more /> }),
                            Err(err) => EitherOf3::C(view! { <LoadError err retry=move || first_page.refetch() /> }),
                        }
                    })}
                </Transition>
            </div>
        </section>
    }
}

/// Why the timeline is not shown, in words, with the way forward.
#[component]
fn LoadError(err: AppError, retry: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    match err {
        AppError::Forbidden(message) => view! {
            <div class="notice denied" role="alert">
                <h2>"You don't have access to this audit log"</h2>
                <p>{message}</p>
            </div>
        }
        .into_any(),
        AppError::Unauthenticated => view! {
            <div class="notice error" role="alert">
                <p>"Your session has ended. " <a href="/login" rel="external">"Sign in again"</a></p>
            </div>
        }
        .into_any(),
        AppError::NotFound(message) => view! {
            <div class="notice error" role="alert"><p>{message}</p></div>
        }
        .into_any(),
        err => view! {
            <div class="notice error" role="alert">
                <p>"The timeline could not be loaded: " {err.to_string()}</p>
                <button type="button" on:click=move |_| retry()>"Try again"</button>
            </div>
        }
        .into_any(),
    }
}

#[component]
fn EmptyState(filter: TimelineFilter) -> impl IntoView {
    let text = if filter.is_empty() {
        "No events yet. Actions taken in your organisation will appear here."
    } else {
        "No events match these filters."
    };
    view! { <p class="status empty" role="status">{text}</p> }
}

#[component]
fn EventList(
    page: TimelinePage,
    org: Signal<String>,
    filter: Memo<TimelineFilter>,
    more: MorePages,
) -> impl IntoView {
    mark_hydrated();
    let first_cursor = page.next_cursor.clone();
    let next_cursor = move || more.cursor.get().unwrap_or_else(|| first_cursor.clone());
    let at_end = {
        let next_cursor = next_cursor.clone();
        move || next_cursor().is_none()
    };
    let load_more = {
        let next_cursor = next_cursor.clone();
        move |_| {
            let Some(cursor) = next_cursor() else { return };
            if more.loading.get_untracked() {
                return;
            }
            let asked_for = filter.get_untracked();
            let org_now = org.get_untracked();
            more.loading.set(true);
            more.error.set(None);
            leptos::task::spawn_local(async move {
                let result = list_events(org_now.clone(), asked_for.clone(), Some(cursor)).await;
                // The view changed while this page was on its way: drop it.
                if filter.get_untracked() != asked_for || org.get_untracked() != org_now {
                    return;
                }
                more.loading.set(false);
                match result {
                    Ok(page) => {
                        more.events.update(|events| events.extend(page.events));
                        more.cursor.set(Some(page.next_cursor));
                    }
                    Err(err) => more.error.set(Some(err.to_string())),
                }
            });
        }
    };
    view! {
        <ol class="entries" aria-label="Audit log">
            {page.events.into_iter().map(|event| view! { <EntryRow event /> }).collect_view()}
            <For each=move || more.events.get() key=|event| event.id let:event>
                <EntryRow event />
            </For>
        </ol>
        <div class="list-footer">
            {move || more.error.get().map(|e| view! {
                <p class="notice error" role="alert">"More events could not be loaded: " {e}</p>
            })}
            <Show
                when=at_end
                fallback=move || {
                    let load_more = load_more.clone();
                    view! {
                        <button
                            type="button"
                            class="load-more"
                            on:click=load_more
                            disabled=move || more.loading.get()
                            aria-busy=move || more.loading.get().to_string()
                        >
                            {move || if more.loading.get() { "Loading…" } else { "Load more" }}
                        </button>
                    }
                }
            >
                <p class="status end" role="status">"You have reached the beginning of the log."</p>
            </Show>
        </div>
    }
}

/// Marks the body once the list is interactive, so tests and embedders can
/// wait for hydration instead of racing it.
fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
