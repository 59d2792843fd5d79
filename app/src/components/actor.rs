use leptos::either::Either;
use leptos::prelude::*;

use crate::model::{Actor, ActorKind};

/// Avatar and name of whoever acted. System actors show the process name.
#[component]
pub fn ActorCell(actor: Actor) -> impl IntoView {
    let avatar = match (&actor.avatar, actor.kind) {
        (Some(url), _) => Either::Left(view! {
            <img class="avatar" src=url.clone() alt="" width="28" height="28" loading="lazy" />
        }),
        (None, kind) => {
            let text = match kind {
                ActorKind::System => "⚙".to_string(),
                _ => initials(&actor.name),
            };
            let style = format!("--avatar-hue: {}", hue(&actor.id));
            Either::Right(view! {
                <span class="avatar avatar-initials" style=style aria-hidden="true">{text}</span>
            })
        }
    };
    let kind_label = match actor.kind {
        ActorKind::User => None,
        ActorKind::System => Some("System"),
        ActorKind::ApiKey => Some("API key"),
        ActorKind::Integration => Some("Integration"),
    };
    view! {
        <span class="actor">
            {avatar}
            <span class="actor-text">
                {kind_label.map(|k| view! { <span class="actor-kind">{k}</span> })}
                <span class="actor-name">{actor.name}</span>
            </span>
        </span>
    }
}

fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|w| w.chars().next()).take(2).flat_map(char::to_uppercase).collect()
}

/// A stable hue per actor, so the same person keeps the same colour.
fn hue(id: &str) -> u32 {
    id.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32)) % 360
}
