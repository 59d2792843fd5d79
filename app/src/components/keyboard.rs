//! Keyboard shortcuts of the timeline: `j`/`k` (and the arrow keys within
//! the list) move between entries, Enter or Space opens one (entries are
//! buttons), `/` jumps to the search box and Esc there clears it.

/// Installs the shortcuts once for the page; a no-op on the server.
pub fn install_shortcuts() {
    #[cfg(feature = "hydrate")]
    browser::install();
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::sync::atomic::{AtomicBool, Ordering};

    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{Document, Element, EventInit, HtmlElement, HtmlInputElement, KeyboardEvent};

    const SUMMARIES: &str = "li.entry > button.entry-summary";
    const SEARCH: &str = "input[type=search]";

    static INSTALLED: AtomicBool = AtomicBool::new(false);

    pub fn install() {
        // The page component can mount again (another org); one listener.
        if INSTALLED.swap(true, Ordering::Relaxed) {
            return;
        }
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let handler = Closure::<dyn Fn(KeyboardEvent)>::new(move |ev: KeyboardEvent| on_key(&ev));
        let _ = document.add_event_listener_with_callback("keydown", handler.as_ref().unchecked_ref());
        // Lives as long as the page.
        handler.forget();
    }

    fn on_key(ev: &KeyboardEvent) {
        if ev.default_prevented() || ev.ctrl_key() || ev.meta_key() || ev.alt_key() || ev.is_composing() {
            return;
        }
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let key = ev.key();
        let target = ev.target().and_then(|t| t.dyn_into::<Element>().ok());
        if let Some(el) = target.as_ref().filter(|el| is_typing_target(el)) {
            if key == "Escape" {
                clear_search(ev, el);
            }
            return;
        }
        let handled = match key.as_str() {
            "/" => focus_search(&document),
            "j" => move_focus(&document, 1, true),
            "k" => move_focus(&document, -1, true),
            // Arrows only within the list, so they still scroll the page
            // everywhere else.
            "ArrowDown" if !ev.shift_key() => move_focus(&document, 1, false),
            "ArrowUp" if !ev.shift_key() => move_focus(&document, -1, false),
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    }

    /// Fields that take typed text: shortcuts would steal the keystrokes.
    fn is_typing_target(el: &Element) -> bool {
        matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA")
            || el.dyn_ref::<HtmlElement>().is_some_and(|h| h.is_content_editable())
    }

    /// Esc in the search box empties it. The box is changed the way typing
    /// would change it (value, then a bubbling `input` event), so the
    /// toolbar's own handler updates the filter and the URL.
    fn clear_search(ev: &KeyboardEvent, el: &Element) {
        let Some(input) = el.dyn_ref::<HtmlInputElement>() else { return };
        if input.type_() != "search" || input.value().is_empty() {
            return;
        }
        ev.prevent_default();
        input.set_value("");
        let init = EventInit::new();
        init.set_bubbles(true);
        if let Ok(event) = web_sys::Event::new_with_event_init_dict("input", &init) {
            let _ = input.dispatch_event(&event);
        }
    }

    fn focus_search(document: &Document) -> bool {
        let Some(input) = document.query_selector(SEARCH).ok().flatten() else { return false };
        let Ok(input) = input.dyn_into::<HtmlInputElement>() else { return false };
        let _ = input.focus();
        input.select();
        true
    }

    /// Moves focus `step` entries down (or up). From outside the list, `j`
    /// and `k` enter it at the first entry; the arrows do nothing there.
    fn move_focus(document: &Document, step: i32, from_outside: bool) -> bool {
        let Ok(list) = document.query_selector_all(SUMMARIES) else { return false };
        let summaries: Vec<HtmlElement> =
            (0..list.length()).filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok()).collect();
        if summaries.is_empty() {
            return false;
        }
        // The entry holding focus: its summary, or anything in its detail.
        let current = document
            .active_element()
            .and_then(|a| a.closest("li.entry").ok().flatten())
            .and_then(|li| li.query_selector("button.entry-summary").ok().flatten())
            .and_then(|s| summaries.iter().position(|x| **x == s));
        let next = match current {
            Some(i) => (i as i32 + step).clamp(0, summaries.len() as i32 - 1) as usize,
            None if from_outside => 0,
            None => return false,
        };
        let _ = summaries[next].focus();
        true
    }
}
