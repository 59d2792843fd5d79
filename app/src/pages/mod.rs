use leptos::prelude::*;

use crate::components::Timeline;

/// The organisation's audit log.
#[component]
pub fn TimelinePage() -> impl IntoView {
    view! {
        <header class="page-header">
            <h1>"Audit log"</h1>
            <p class="lede">"Every meaningful action in your organisation: who did what, to which record, when."</p>
        </header>
        <Timeline />
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <header class="page-header">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the audit log"</a></p>
        </header>
    }
}
