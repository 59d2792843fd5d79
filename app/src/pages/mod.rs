mod dashboard;
pub mod embed;
mod login;
mod oversight;
mod people;
mod record;
mod timeline;

pub use dashboard::DashboardPage;
pub use embed::EmbedPage;
pub use login::LoginPage;
pub use oversight::{SecurityPage, SystemPage};
pub use people::PersonPage;
pub use record::RecordHistoryPage;
pub use timeline::TimelinePage;

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <header class="page-header">
            <h1>"Page not found"</h1>
            <p><a href="/" rel="external">"Back to the audit log"</a></p>
        </header>
    }
}
