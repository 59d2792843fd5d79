//! The audit timeline: the shared model, the Leptos UI and the server
//! functions it calls. Compiles for the browser (`hydrate`) and for the
//! server (`ssr`); the server side reaches the data only through the
//! [`api::AuditStore`] port, so this crate never names a database.

// Leptos view types nest deeply; the default limit is too low for them.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod model;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, SsrMode, StaticSegment,
    components::{Route, Router, Routes},
};

pub use components::Timeline;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    components::provide_clock();
    view! {
        <Stylesheet id="app-css" href="/pkg/audit-timeline.css" />
        <Title text="Audit log" />
        <Router>
            <main class="page">
                // Async: a shared, filtered link arrives fully rendered, rows
                // included, before any script runs.
                <Routes fallback=pages::NotFound>
                    <Route path=StaticSegment("login") view=pages::LoginPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("embed") view=pages::EmbedPage ssr=SsrMode::Async />
                    <Route
                        path=(StaticSegment("o"), ParamSegment("org"))
                        view=pages::TimelinePage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("o"), ParamSegment("org"), StaticSegment("dashboard"))
                        view=pages::DashboardPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("o"), ParamSegment("org"), StaticSegment("security"))
                        view=pages::SecurityPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("o"), ParamSegment("org"), StaticSegment("system"))
                        view=pages::SystemPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(StaticSegment("o"), ParamSegment("org"), StaticSegment("people"), ParamSegment("actor"))
                        view=pages::PersonPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=(
                            StaticSegment("o"),
                            ParamSegment("org"),
                            StaticSegment("records"),
                            ParamSegment("type"),
                            ParamSegment("id"),
                        )
                        view=pages::RecordHistoryPage
                        ssr=SsrMode::Async
                    />
                </Routes>
            </main>
        </Router>
    }
}
