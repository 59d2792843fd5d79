use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_location, use_navigate};

use crate::model::TimelineFilter;

/// Writes a filter into the URL: the one place the timeline's filter lives.
/// `replace` for typing (no history entry per keystroke); a menu choice
/// pushes one so Back returns to the previous view.
#[derive(Clone)]
pub struct ApplyFilter(std::sync::Arc<dyn Fn(TimelineFilter, bool) + Send + Sync>);

impl ApplyFilter {
    pub fn new() -> ApplyFilter {
        let navigate = use_navigate();
        let location = use_location();
        ApplyFilter(std::sync::Arc::new(move |f: TimelineFilter, replace: bool| {
            let query = f.normalized().to_query();
            let path = location.pathname.get_untracked();
            let url = if query.is_empty() { path } else { format!("{path}?{query}") };
            navigate(&url, NavigateOptions { replace, scroll: false, ..Default::default() });
        }))
    }

    pub fn call(&self, f: TimelineFilter, replace: bool) {
        (self.0)(f, replace)
    }
}
