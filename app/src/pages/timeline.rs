use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::current_viewer;
use crate::components::{ChainBadge, TimeZonePicker, Timeline, install_shortcuts};
use crate::model::Viewer;

/// An org's audit log at `/o/{org}`: the org is in the URL so a bookmark
/// always opens the same org's log.
#[component]
pub fn TimelinePage() -> impl IntoView {
    let params = use_params_map();
    let org = Memo::new(move |_| params.with(|p| p.get("org").unwrap_or_default()));
    let who = Resource::new(move || org.get(), current_viewer);
    install_shortcuts();
    view! {
        <AppBar who />
        <header class="page-header">
            <h1>
                <Suspense fallback=|| "Audit log">
                    {move || Suspend::new(async move {
                        who.await.map(|v| format!("{} audit log", v.org.name)).unwrap_or_else(|_| "Audit log".into())
                    })}
                </Suspense>
            </h1>
            <p class="lede">"Every meaningful action in your organisation: who did what, to which record, when."</p>
            // A full page load: the dashboard's charts are SVG drawn by the server.
            <p class="page-links">
                <a href=move || format!("/o/{}/dashboard", org.get()) rel="external">"Dashboard"</a>
                <a href=move || format!("/o/{}/security", org.get()) rel="external">"Security events"</a>
                <a href=move || format!("/o/{}/system", org.get()) rel="external">"System events"</a>
            </p>
            <ChainBadge org=org who=who />
            <TimeZonePicker />
        </header>
        <Timeline org=org />
    }
}

/// The brand, and who is signed in.
#[component]
pub fn AppBar(who: Resource<Result<Viewer, crate::error::AppError>>) -> impl IntoView {
    view! {
        <header class="app-bar">
            <a class="brand" href="/" rel="external">"Audit log"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move { who.await.ok().map(|v| view! { <ViewerMenu viewer=v /> }) })}
            </Suspense>
        </header>
    }
}

/// The signed-in person, their role, the org menu and sign-out.
#[component]
fn ViewerMenu(viewer: Viewer) -> impl IntoView {
    let navigate = use_navigate();
    let current = viewer.org.slug.clone();
    let switch = move |ev| {
        let slug = event_target_value(&ev);
        navigate(&format!("/o/{slug}"), NavigateOptions::default());
    };
    let many = viewer.orgs.len() > 1;
    view! {
        <div class="viewer">
            {many.then(|| view! {
                <label class="org-menu">
                    <span class="visually-hidden">"Organisation"</span>
                    <select aria-label="Organisation" on:change=switch.clone()>
                        {viewer.orgs.iter().map(|o| {
                            let selected = o.slug == current;
                            view! { <option value=o.slug.clone() selected=selected>{o.name.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
            })}
            <span class="who">
                <span class="who-name">{viewer.name}</span>
                <span class="who-role">{viewer.role.label()}</span>
            </span>
            <form method="post" action="/auth/logout" class="sign-out">
                <button type="submit">"Sign out"</button>
            </form>
        </div>
    }
}
