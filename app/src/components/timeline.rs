use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::apply_filter::ApplyFilter;
use super::embed_mode::{EmbedMode, embed_refusal};
use super::filters::ActiveFilters;
use super::live::{NewEvents, NewEventsPill, live_head, newer};
use super::toolbar::Controls;
use super::{EntryRow, Toolbar};
use crate::api::{count_events, entity_types, list_actors, list_events};
use crate::error::AppError;
use crate::model::{AuditEvent, EventCount, TimelineFilter, TimelinePage};

/// Events appended by "Load more" after the first page.
#[derive(Clone, Copy)]
struct MorePages {
    events: RwSignal<Vec<AuditEvent>>,
    /// `None` until the first "Load more"; then the cursor after the last page.
    cursor: RwSignal<Option<Option<String>>>,
    loading: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    /// Entries per page; `None` is the server's default ([`PAGE_SIZE`]).
    ///
    /// [`PAGE_SIZE`]: crate::model::PAGE_SIZE
    page_size: Option<usize>,
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
/// already filtered. This is also the component a host Leptos app mounts.
#[component]
pub fn Timeline(
    #[prop(into)] org: Signal<String>,
    /// Fixed by the page and applied on the server on top of the URL's
    /// filter; the URL can narrow it, never widen it (a record's history).
    #[prop(optional)]
    scope: TimelineFilter,
    /// Which filter controls show.
    #[prop(optional)]
    controls: Controls,
    /// The view while the URL names no filter: a host's default (say, only
    /// deletes). Unlike `scope` the reader can change it; clearing the
    /// filters comes back to it.
    #[prop(optional)]
    initial: TimelineFilter,
    /// Entries per page and per "Load more" (the server keeps it between 1
    /// and [`MAX_PAGE_SIZE`](crate::model::MAX_PAGE_SIZE)); 50 when unset.
    #[prop(optional)]
    page_size: Option<usize>,
) -> impl IntoView {
    let query = use_query_map();
    let parsed = Memo::new(move |_| {
        query.with(|q| {
            // Keys a host page or an embed uses for itself are not filters.
            let (filter, ignored) = TimelineFilter::from_pairs(
                q.into_iter()
                    .map(|(k, v)| (k.as_ref(), v))
                    .filter(|(k, _)| !crate::model::PAGE_KEYS.contains(k)),
            );
            let named = q.into_iter().any(|(k, _)| {
                let k: &str = k.as_ref();
                !crate::model::PAGE_KEYS.contains(&k)
            });
            (if named { filter } else { initial.clone() }, ignored)
        })
    });
    let filter = Memo::new(move |_| parsed.with(|(f, _)| f.clone()));
    provide_context(super::TimelineOrg { org, history: controls.history });
    let ignored = Memo::new(move |_| parsed.with(|(_, i)| i.clone()));
    let scope = StoredValue::new(scope);
    // The first page is a resource: it runs on the server for a cold URL and
    // its result travels with the HTML. A stale response never replaces a
    // newer one (the resource keeps only its latest run).
    let first_page = Resource::new(
        move || (org.get(), filter.get()),
        move |(org, f)| list_events(org, f, scope.get_value(), None, page_size),
    );
    // Counted in the browser only: the page never waits for a count.
    let count = LocalResource::new(move || count_events(org.get(), filter.get(), scope.get_value()));
    let types = Resource::new(move || org.get(), entity_types);
    let actor_names = LocalResource::new(move || {
        let wanted = filter.with(|f| f.actors.clone());
        async move {
            if wanted.is_empty() {
                return Vec::new();
            }
            let found = list_actors(org.get_untracked(), String::new()).await.unwrap_or_default();
            found.into_iter().map(|a| (a.id, a.name)).collect::<Vec<_>>()
        }
    });
    let more = MorePages {
        events: RwSignal::new(Vec::new()),
        cursor: RwSignal::new(None),
        loading: RwSignal::new(false),
        error: RwSignal::new(None),
        page_size,
    };
    // A new filter or org starts again from page one.
    Effect::watch(move || (org.get(), filter.get()), move |_, _, _| more.reset(), false);
    // Live only for stores that say where their chain is (ours does). A
    // memo, so a new page of the same store does not reopen the stream.
    let live_enabled =
        Memo::new(move |_| first_page.with(|page| matches!(page, Some(Ok(p)) if p.head_seq.is_some())));
    let live = Live { org, filter, scope, head: live_head(org, live_enabled.into()) };
    let pending = RwSignal::new(false);
    let zone = super::viewer_zone();
    let apply = ApplyFilter::new();

    view! {
        <section class="timeline-panel">
            {view! { <Toolbar org filter types pending=pending.read_only() controls zone apply=apply.clone() /> }.into_any()}
            {view! {
                <ActiveFilters filter apply actor_name=Signal::derive(move || actor_names.get().unwrap_or_default()) />
            }
                .into_any()}
            {move || {
                let ignored = ignored.get();
                (!ignored.is_empty()).then(|| view! {
                    <div class="notice ignored" role="note">
                        <p>"Some of this link's filters were not used:"</p>
                        <ul>
                            {ignored.into_iter().map(|i| view! {
                                <li><code>{format!("{}={}", i.key, i.value)}</code>": "{i.reason}</li>
                            }).collect_view()}
                        </ul>
                    </div>
                })
            }}
            <super::ExportMenu org filter scope=scope.get_value() />
            // A plain text node, not a Suspense: the count is counted in the
            // browser only, so the server and the hydrating client both say
            // "Counting…" whatever surrounds the timeline.
            <p class="match-count" role="status" aria-live="polite">
                {move || match count.get() {
                    None => "Counting…".to_string(),
                    Some(Ok(c)) => count_text(c),
                    Some(Err(_)) => "The number of matching entries is not available.".to_string(),
                }}
            </p>
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
                            Ok(page) if page.events.is_empty() && page.next_cursor.is_none() => {
                                let reload = move || {
                                    first_page.refetch();
                                    count.refetch();
                                };
                                EitherOf3::A(view! {
                                    <EmptyState filter=filter.get_untracked() since=page.head_seq live reload />
                                })
                            }
                            Ok(page) => {
                                let merged = move || count.refetch();
                                EitherOf3::B(view! { <EventList page org filter scope more live merged /> })
                            }
                            Err(err) => EitherOf3::C(view! { <LoadError err retry=move || first_page.refetch() /> }),
                        }
                    })}
                </Transition>
            </div>
        </section>
    }
}

/// "1 matching entry", "1,234 matching entries", "10,000+ matching entries";
/// a count cut short before its cap (a short search term is counted over a
/// bounded stretch of the log) says "at least".
pub fn count_text(c: EventCount) -> String {
    if c.capped && c.count < crate::model::COUNT_CAP {
        return match c.count {
            0 => "No matching entries among the newest events searched".to_string(),
            1 => "At least 1 matching entry".to_string(),
            n => format!("At least {} matching entries", thousands(n)),
        };
    }
    let grouped = thousands(c.count);
    let plus = if c.capped { "+" } else { "" };
    let noun = if c.count == 1 && !c.capped { "entry" } else { "entries" };
    format!("{grouped}{plus} matching {noun}")
}

/// `1234567` as "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    grouped
}

/// Why the timeline is not shown, in words, with the way forward.
#[component]
fn LoadError(err: AppError, retry: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    if use_context::<EmbedMode>().is_some() {
        let text = embed_refusal(&err);
        return view! { <div class="notice error" role="alert"><p>{text}</p></div> }.into_any();
    }
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

/// What a page needs to follow the live tail: whose log, which filter, and
/// the head the server's stream reports.
#[derive(Clone, Copy)]
struct Live {
    org: Signal<String>,
    filter: Memo<TimelineFilter>,
    scope: StoredValue<TimelineFilter>,
    head: Signal<Option<i64>>,
}

impl Live {
    /// New events for the page on screen, read with `since` (its head_seq),
    /// that `keep` has a place for. They stop as soon as the filter or org
    /// changes: the next page starts its own.
    fn watch(self, since: Option<i64>, keep: impl Fn(&AuditEvent) -> bool + Clone + 'static) -> NewEvents {
        let (org, filter) = (self.org.get_untracked(), self.filter.get_untracked());
        let current = {
            let (org, filter) = (org.clone(), filter.clone());
            move || {
                self.org.try_get_untracked().as_ref() == Some(&org)
                    && self.filter.try_get_untracked().as_ref() == Some(&filter)
            }
        };
        NewEvents::watch(org, filter, self.scope.get_value(), since, self.head, current, keep)
    }
}

#[component]
fn EmptyState(
    filter: TimelineFilter,
    since: Option<i64>,
    live: Live,
    reload: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    mark_hydrated();
    let text = if filter.is_empty() {
        "No events yet. Actions taken in your organisation will appear here."
    } else {
        "No events match these filters."
    };
    // Nothing on screen to keep in place: the pill loads the page afresh.
    let new_events = live.watch(since, |_| true);
    let count = Signal::derive(move || new_events.pending().with(Vec::len));
    let more = Signal::derive(move || new_events.paused());
    view! {
        <NewEventsPill count more seen=new_events.seen() on_merge=reload />
        <p class="status empty" role="status">{text}</p>
    }
}

#[component]
fn EventList(
    page: TimelinePage,
    org: Signal<String>,
    filter: Memo<TimelineFilter>,
    scope: StoredValue<TimelineFilter>,
    more: MorePages,
    live: Live,
    /// Called after new events were merged into the list.
    merged: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    mark_hydrated();
    // The first page is a signal too, so new events can be merged into it
    // in their place.
    let first = RwSignal::new(page.events);
    let first_cursor = page.next_cursor.clone();
    let partial = page.partial;
    let next_cursor = move || more.cursor.get().unwrap_or_else(|| first_cursor.clone());
    // Whether a new event has a place on the list: above its last row, or
    // anywhere once the list reaches the beginning of the log. Older ones
    // are for Load more to bring, in their place.
    let fits = {
        let next_cursor = next_cursor.clone();
        move |e: &AuditEvent| -> bool {
            let at_end = next_cursor().is_none();
            let last = more.events.with(|m| m.last().cloned()).or_else(|| first.with(|f| f.last().cloned()));
            at_end || last.as_ref().is_none_or(|last| newer(e, last))
        }
    };
    let new_events = live.watch(page.head_seq, {
        let fits = fits.clone();
        // Called from the reader task, which may outlive the list.
        move |e: &AuditEvent| {
            first.try_with_untracked(|_| ()).is_some()
                && more.events.try_with_untracked(|_| ()).is_some()
                && untrack(|| fits(e))
        }
    });
    // New events that go on the list now: not on it already (Load more may
    // have brought them meanwhile), and still with a place.
    let mergeable = move || -> Vec<AuditEvent> {
        let on_list: std::collections::HashSet<uuid::Uuid> =
            first.with(|f| more.events.with(|m| f.iter().chain(m).map(|e| e.id).collect()));
        new_events
            .pending()
            .with(|pending| pending.iter().filter(|e| !on_list.contains(&e.id) && fits(e)).cloned().collect())
    };
    let new_count = Memo::new({
        let mergeable = mergeable.clone();
        move |_| mergeable().len()
    });
    let merge = move || {
        let fresh = mergeable();
        new_events.take();
        // Above the first page's last row: into the first page; below it
        // (possible once Load more has run): among the later pages.
        let boundary = first.with_untracked(|f| f.last().cloned());
        let has_more_pages = more.events.with_untracked(|m| !m.is_empty());
        let (top, lower): (Vec<_>, Vec<_>) = fresh
            .into_iter()
            .partition(|e| !has_more_pages || boundary.as_ref().is_none_or(|last| newer(e, last)));
        if !top.is_empty() {
            first.update(|f| top.into_iter().for_each(|e| insert_in_order(f, e)));
        }
        if !lower.is_empty() {
            more.events.update(|m| lower.into_iter().for_each(|e| insert_in_order(m, e)));
        }
        merged();
    };
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
                let result = list_events(
                    org_now.clone(),
                    asked_for.clone(),
                    scope.get_value(),
                    Some(cursor),
                    more.page_size,
                )
                .await;
                // The view changed while this page was on its way: drop it.
                if filter.get_untracked() != asked_for || org.get_untracked() != org_now {
                    return;
                }
                more.loading.set(false);
                match result {
                    Ok(page) => {
                        // An event merged live is never below the cursor,
                        // but a repeated id would confuse the keyed list.
                        let mut seen: std::collections::HashSet<uuid::Uuid> =
                            first.with_untracked(|f| f.iter().map(|e| e.id).collect());
                        more.events.update(|events| {
                            seen.extend(events.iter().map(|e| e.id));
                            events.extend(page.events.into_iter().filter(|e| seen.insert(e.id)))
                        });
                        more.cursor.set(Some(page.next_cursor));
                    }
                    Err(err) => more.error.set(Some(err.to_string())),
                }
            });
        }
    };
    view! {
        <NewEventsPill
            count=new_count
            more=Signal::derive(move || new_events.paused())
            seen=new_events.seen()
            on_merge=merge
        />
        {partial.then(|| view! {
            <p class="notice partial" role="note">
                {format!(
                    "Search terms shorter than 3 characters are tested {} events at a time. Load more \
                     searches older events; a longer term or a date range finds them faster.",
                    thousands(crate::model::SHORT_TERM_SCAN as u64),
                )}
            </p>
        })}
        <ol class="entries" aria-label="Audit log">
            <For each=move || first.get() key=|event| event.id let:event>
                <EntryRow event />
            </For>
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

/// Inserts `event` into `list` (newest first) at its place.
fn insert_in_order(list: &mut Vec<AuditEvent>, event: AuditEvent) {
    let at = list.partition_point(|e| newer(e, &event));
    list.insert(at, event);
}

/// Marks the body once the list is interactive, so tests and embedders can
/// wait for hydration instead of racing it.
pub fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
