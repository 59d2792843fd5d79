use leptos::either::Either;
use leptos::prelude::*;

use crate::model::{Actor, ActorKind, displayed_avatar};

/// Avatar and name of whoever acted. System actors show the process name.
#[component]
pub fn ActorCell(actor: Actor) -> impl IntoView {
    // Checked again here, not only at ingestion: rows stored before the rule
    // existed are still in the append-only log (see `model::avatar`).
    let avatar = match (displayed_avatar(actor.avatar.as_deref()), actor.kind) {
        (Some(url), _) => Either::Left(view! {
            <img class="avatar" src=url.to_string() alt="" width="28" height="28" loading="lazy" />
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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn actor(avatar: Option<&str>) -> Actor {
        Actor {
            kind: ActorKind::User,
            id: "usr_1".into(),
            name: "Alice Example".into(),
            email: None,
            avatar: avatar.map(str::to_string),
        }
    }

    fn render(avatar: Option<&str>) -> String {
        Owner::new().with(|| view! { <ActorCell actor=actor(avatar) /> }.to_html())
    }

    #[test]
    fn an_allowed_avatar_is_shown() {
        let html = render(Some("https://avatars.example.com/alice.png"));
        assert!(html.contains(r#"<img src="https://avatars.example.com/alice.png""#), "{html}");
        assert!(render(Some("/avatars/usr_1.svg")).contains(r#"src="/avatars/usr_1.svg""#));
    }

    #[test]
    fn a_stored_same_site_path_is_never_fetched() {
        for bad in ["/o/acme/export.ndjson", "http://example.com/a.png", "javascript:alert(1)"] {
            let html = render(Some(bad));
            assert!(!html.contains("<img") && !html.contains(bad), "{bad}: {html}");
            assert!(html.contains(">AE</span>"), "initials instead: {html}");
        }
    }
}
