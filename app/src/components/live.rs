//! The live tail in the browser: hear that the org's log grew, fetch what is
//! new and matches the page's filter, and offer it in a "N new events" pill
//! that the reader merges when they choose, so nothing moves under their
//! eyes.
//!
//! The server's event stream (`/api/ui/live/{org}`) only says how far the
//! org's chain has grown (its head seq). What is new is read with the
//! `events_since` server function from the last seq this page has seen: the
//! page's own `head_seq` at first, then each answer's. Both reads are
//! snapshots and an org's events commit in seq order, so this misses nothing
//! and repeats nothing, and it resumes from the same seq after the stream
//! reconnects.

use leptos::prelude::*;

use crate::api::events_since;
use crate::model::{AuditEvent, TimelineFilter};

/// Most new events held for the pill. A burst beyond it pauses fetching
/// (the pill then says "500+") until the reader merges; the rest follow.
pub const MAX_PENDING: usize = 500;

/// The org's newest seq as the server's live stream last said, `None` until
/// its first message (and always on the server, which opens no stream).
/// The stream follows `org`, opens only while `enabled` (a store without a
/// chain has no live tail, and its host may not serve the stream), and
/// closes with the calling component.
pub fn live_head(org: Signal<String>, enabled: Signal<bool>) -> Signal<Option<i64>> {
    let head = RwSignal::new(None::<i64>);
    #[cfg(feature = "hydrate")]
    browser::follow(org, enabled, head);
    #[cfg(not(feature = "hydrate"))]
    let _ = (org, enabled);
    head.into()
}

/// New events matching one page's filter, gathered since that page was read
/// and not yet merged into it.
#[derive(Clone, Copy)]
pub struct NewEvents {
    /// In timeline order (newest first), each once.
    pending: RwSignal<Vec<AuditEvent>>,
    /// Fetching paused at [`MAX_PENDING`] with more still to read.
    paused: RwSignal<bool>,
    /// The seq through which everything new has been read.
    known: RwSignal<Option<i64>>,
    busy: StoredValue<bool>,
}

impl NewEvents {
    /// Watches for events of `org` matching `filter` and `scope` stored after
    /// `since` (a page's `head_seq`; `None` turns the tail off), whenever
    /// `head` moves past what has been read. `current` says whether the page
    /// is still the one on screen; once it is not, nothing more is fetched
    /// and late answers are dropped. `keep` says which new events the page
    /// has a place for; the others are not held (a list drops those older
    /// than its last row, which Load more brings in their place).
    pub fn watch(
        org: String,
        filter: TimelineFilter,
        scope: TimelineFilter,
        since: Option<i64>,
        head: Signal<Option<i64>>,
        current: impl Fn() -> bool + Clone + 'static,
        keep: impl Fn(&AuditEvent) -> bool + Clone + 'static,
    ) -> NewEvents {
        let this = NewEvents {
            pending: RwSignal::new(Vec::new()),
            paused: RwSignal::new(false),
            known: RwSignal::new(since),
            busy: StoredValue::new(false),
        };
        let query = StoredValue::new((org, filter, scope));
        // Effects run in the browser only; on the server this never fires.
        Effect::new(move |_| {
            // Tracked too: merging un-pauses, and reading resumes.
            if this.paused.get() {
                return;
            }
            let Some(latest) = head.get() else { return };
            let Some(known) = this.known.try_get_untracked().flatten() else { return };
            if latest > known && current() {
                this.catch_up(query, head, current.clone(), keep.clone());
            }
        });
        this
    }

    /// Reads from the last seen seq until the head, in bounded steps; one
    /// reader at a time (a head that arrives meanwhile is read by the same
    /// loop).
    fn catch_up(
        self,
        query: StoredValue<(String, TimelineFilter, TimelineFilter)>,
        head: Signal<Option<i64>>,
        current: impl Fn() -> bool + 'static,
        keep: impl Fn(&AuditEvent) -> bool + 'static,
    ) {
        if self.busy.try_get_value() != Some(false) {
            return;
        }
        self.busy.set_value(true);
        leptos::task::spawn_local(async move {
            loop {
                let (Some(Some(known)), Some(Some(latest)), Some(paused)) = (
                    self.known.try_get_untracked(),
                    head.try_get_untracked(),
                    self.paused.try_get_untracked(),
                ) else {
                    return; // the page is gone
                };
                if latest <= known || paused || !current() {
                    break;
                }
                let Some((org, filter, scope)) = query.try_get_value() else { return };
                let Ok(found) = events_since(org, filter, scope, known).await else {
                    // Tried again on the next head; the stream also resends
                    // the head whenever it reconnects.
                    break;
                };
                if !current() {
                    return;
                }
                if found.head_seq <= known && found.events.is_empty() {
                    break; // no progress: do not spin
                }
                self.known.try_set(Some(found.head_seq.max(known)));
                let full = self
                    .pending
                    .try_update(|pending| {
                        for event in found.events.into_iter().filter(|e| keep(e)) {
                            if !pending.iter().any(|p| p.id == event.id) {
                                let at = pending.partition_point(|p| newer(p, &event));
                                pending.insert(at, event);
                            }
                        }
                        pending.len() >= MAX_PENDING
                    })
                    .unwrap_or(true);
                if full {
                    self.paused.try_set(true);
                    break;
                }
            }
            self.busy.try_set_value(false);
        });
    }

    /// The seq through which new events have been read (what the page has
    /// seen of its org's log).
    pub fn seen(&self) -> Signal<Option<i64>> {
        self.known.into()
    }

    /// The events waiting to be merged, newest first.
    pub fn pending(&self) -> RwSignal<Vec<AuditEvent>> {
        self.pending
    }

    /// True when more events are waiting than the pill holds.
    pub fn paused(&self) -> bool {
        self.paused.get()
    }

    /// Hands over the waiting events; reading resumes after them if it had
    /// paused.
    pub fn take(&self) -> Vec<AuditEvent> {
        let taken = self.pending.try_update(std::mem::take).unwrap_or_default();
        self.paused.try_set(false);
        taken
    }
}

/// Timeline order: newest first by when it happened, then by id.
pub fn newer(a: &AuditEvent, b: &AuditEvent) -> bool {
    (a.occurred_at, a.id) > (b.occurred_at, b.id)
}

/// "1 new event", "12 new events", "500+ new events".
pub fn pill_text(count: usize, more: bool) -> String {
    let plus = if more { "+" } else { "" };
    let noun = if count == 1 && !more { "event" } else { "events" };
    format!("{count}{plus} new {noun}")
}

/// The pill above the list. It floats over the rows (the slot takes no
/// height), so it appearing never moves what the reader is looking at.
#[component]
pub fn NewEventsPill(
    #[prop(into)] count: Signal<usize>,
    #[prop(into)] more: Signal<bool>,
    /// Shown as `data-live-seq`, so tests and embedders can tell how far the
    /// page has read.
    #[prop(into)]
    seen: Signal<Option<i64>>,
    on_merge: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let on_merge = std::sync::Arc::new(on_merge);
    view! {
        <div class="live-slot" role="status" aria-live="polite" data-live-seq=move || seen.get().map(|s| s.to_string())>
            {move || {
                let n = count.get();
                let on_merge = on_merge.clone();
                (n > 0).then(move || view! {
                    <button type="button" class="live-pill" on:click=move |_| on_merge()>
                        <span class="live-pill-arrow" aria-hidden="true">"↑ "</span>
                        {pill_text(n, more.get())}
                    </button>
                })
            }}
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{Event, EventSource, MessageEvent};

    /// An open stream and its listeners, closed when dropped.
    struct Stream {
        source: EventSource,
        _on_head: Closure<dyn FnMut(MessageEvent)>,
        _on_error: Closure<dyn FnMut(Event)>,
    }

    impl Drop for Stream {
        fn drop(&mut self) {
            self.source.close();
        }
    }

    /// What one `follow` shares with its streams' listeners.
    #[derive(Clone, Copy)]
    struct Follow {
        head: RwSignal<Option<i64>>,
        open: StoredValue<Option<Stream>, LocalStorage>,
        /// Bumped whenever the org changes, so a retry planned for the old
        /// org does nothing.
        generation: StoredValue<u64>,
        /// Reopenings since the last message, for the backoff.
        failures: StoredValue<u32>,
    }

    /// Keeps one EventSource open for the current org, feeding `head`.
    /// EventSource reconnects by itself after a dropped connection; every
    /// connection starts with the current head, so nothing is missed
    /// meanwhile.
    pub(super) fn follow(org: Signal<String>, enabled: Signal<bool>, head: RwSignal<Option<i64>>) {
        let f = Follow {
            head,
            open: StoredValue::new_local(None),
            generation: StoredValue::new(0),
            failures: StoredValue::new(0),
        };
        Effect::new(move |_| {
            let org = if enabled.get() { org.get() } else { String::new() };
            // A new org: forget the old one's stream and head.
            f.open.try_update_value(|s| *s = None);
            f.generation.try_update_value(|g| *g += 1);
            f.failures.try_set_value(0);
            head.try_set(None);
            if !org.is_empty() {
                connect(f, org);
            }
        });
        on_cleanup(move || {
            f.open.try_update_value(|s| *s = None);
        });
    }

    fn connect(f: Follow, org: String) {
        let url = format!("/api/ui/live/{}", js_sys::encode_uri_component(&org));
        let Ok(source) = EventSource::new(&url) else { return };
        let on_head = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if let Some(seq) = ev.data().as_string().and_then(|d| d.trim().parse::<i64>().ok()) {
                f.failures.try_set_value(0);
                f.head.try_update(|h| *h = Some(h.map_or(seq, |h| h.max(seq))));
            }
        });
        let on_error = Closure::<dyn FnMut(Event)>::new({
            let source = source.clone();
            move |_: Event| {
                // While connecting again the browser is still on it. Closed
                // means it gave up: offline (Chromium deems retrying futile)
                // or a refusal. Try again ourselves, backing off to a
                // minute, so a laptop waking up or a server restart is
                // caught up on without a reload.
                if source.ready_state() != EventSource::CLOSED {
                    return;
                }
                let (Some(generation), Some(failures)) =
                    (f.generation.try_get_value(), f.failures.try_get_value())
                else {
                    return;
                };
                f.failures.try_set_value(failures.saturating_add(1));
                let delay = Duration::from_secs((1u64 << failures.min(6)).min(60));
                let org = org.clone();
                set_timeout(
                    move || {
                        if f.generation.try_get_value() == Some(generation) {
                            connect(f, org);
                        }
                    },
                    delay,
                );
            }
        });
        let _ = source.add_event_listener_with_callback("head", on_head.as_ref().unchecked_ref());
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        f.open.try_update_value(|s| *s = Some(Stream { source, _on_head: on_head, _on_error: on_error }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pill_counts_in_words() {
        assert_eq!(pill_text(1, false), "1 new event");
        assert_eq!(pill_text(2, false), "2 new events");
        assert_eq!(pill_text(500, true), "500+ new events");
    }
}
