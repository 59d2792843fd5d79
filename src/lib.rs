//! The browser entry point: hydrates the server-rendered timeline.

// Leptos view types nest deeply; the default limit is too low for them.
#![recursion_limit = "256"]

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
