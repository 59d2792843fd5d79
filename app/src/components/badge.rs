use leptos::prelude::*;

use crate::model::Tone;

/// The action as a badge coloured by its verb, with a glyph and the action's
/// text so that colour is never the only signal.
#[component]
pub fn ActionBadge(action: String) -> impl IntoView {
    let tone = Tone::of_action(&action);
    view! {
        <span class=tone.css_class()>
            <span class="badge-glyph" aria-hidden="true">{tone.glyph()}</span>
            <span class="badge-text">{action}</span>
        </span>
    }
}
