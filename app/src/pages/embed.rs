use leptos::prelude::*;
use leptos_meta::Script;
use leptos_router::hooks::use_query_map;

use crate::api::current_viewer;
use crate::components::{Controls, EmbedMode, Timeline};

/// The timeline for another product's page, at `/embed?view=<token id>`
/// (the server swaps the framed `/embed?token=…` for it, keeping the token
/// in a cookie): no app chrome, the token in place of a sign-in. Every
/// server function names the embed as `embed.<token id>` and checks the
/// token again, so its scope, expiry and API key hold for as long as the
/// page is open, and no request of the page carries the token in its URL.
///
/// Looks are set by the URL, since a host page cannot style a cross-origin
/// frame: `theme=light|dark`, `density=compact`, `accent=1f6feb` (hex),
/// `font=system|serif|mono`, and `controls=search,actions,entities,actors,dates,more`
/// (or `none`) for which filters show.
#[component]
pub fn EmbedPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with_untracked(|q| q.get(key)).unwrap_or_default();
    let token = Memo::new(move |_| embed_org(&query.with(|q| q.get("view")).unwrap_or_default()));
    let look = EmbedLook::from_params(&param("theme"), &param("density"), &param("accent"), &param("font"));
    let controls = controls_from(&param("controls"));
    let who = Resource::new(move || token.get(), current_viewer);
    provide_context(EmbedMode);
    // The timeline is not nested in a Suspense of its own: it handles a
    // refused token itself (see `EmbedMode`), and a nested boundary would
    // hold its server-rendered rows back.
    view! {
        <div class="embed" data-theme=look.theme style=look.style>
            <h1 class="visually-hidden">
                <Suspense fallback=|| "Audit log">
                    {move || Suspend::new(async move {
                        who.await.map(|v| format!("{} audit log", v.org.name)).unwrap_or_else(|_| "Audit log".into())
                    })}
                </Suspense>
            </h1>
            <Timeline org=token controls />
        </div>
        // Reports the content height to the host page (see public/embed.js).
        <Script src="/embed-frame.js" defer="" />
    }
}

/// What the embed's server functions are given for `org`: its reference,
/// `embed.<token id>`. Anything but a token id gives a reference no token
/// matches, so the page says its link is not valid.
fn embed_org(view: &str) -> String {
    let id = if view.len() == 32 && view.bytes().all(|b| b.is_ascii_hexdigit()) { view } else { "" };
    format!("{}{id}", crate::api::EMBED_REF_PREFIX)
}

/// The embed's theme, checked value by value so nothing from the URL
/// reaches the style attribute unless it is a known word or a hex colour.
struct EmbedLook {
    theme: Option<&'static str>,
    style: String,
}

impl EmbedLook {
    fn from_params(theme: &str, density: &str, accent: &str, font: &str) -> EmbedLook {
        let theme = match theme {
            "light" => Some("light"),
            "dark" => Some("dark"),
            _ => None,
        };
        let mut style = String::new();
        if density == "compact" {
            style.push_str("--row-pad: 0.3rem;");
        }
        let hex = accent.trim_start_matches('#');
        if matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            style.push_str(&format!("--focus: #{hex};"));
        }
        match font {
            "serif" => style.push_str("--font: Georgia, 'Times New Roman', serif;"),
            "mono" => style.push_str("--font: var(--mono);"),
            _ => {}
        }
        EmbedLook { theme, style }
    }
}

fn controls_from(list: &str) -> Controls {
    // An embed is one page: there is no history page to go to.
    if list.is_empty() {
        return Controls { history: false, ..Controls::default() };
    }
    let has = |name: &str| list.split(',').any(|c| c.trim() == name);
    Controls {
        search: has("search"),
        actions: has("actions"),
        entity_types: has("entities"),
        actors: has("actors"),
        dates: has("dates"),
        more: has("more"),
        history: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_looks_reach_the_style() {
        let look = EmbedLook::from_params("dark", "compact", "ff0000", "serif");
        assert_eq!(look.theme, Some("dark"));
        assert!(look.style.contains("--focus: #ff0000;") && look.style.contains("--row-pad"));
        let hostile = EmbedLook::from_params("x", "y", "red;background:url(x)", "</style>");
        assert_eq!((hostile.theme, hostile.style.as_str()), (None, ""));
    }

    #[test]
    fn only_a_token_id_names_the_embed() {
        let id = "0190abcdef0123456789abcdef012345";
        assert_eq!(embed_org(id), format!("embed.{id}"));
        for bad in ["", "x", "../../auth/logout", &format!("{id}0"), "vt1.abc.def"] {
            assert_eq!(embed_org(bad), "embed.", "{bad}");
        }
    }

    #[test]
    fn controls_are_listed_or_all() {
        assert_eq!(controls_from(""), Controls { history: false, ..Controls::default() });
        let some = controls_from("search,dates");
        assert!(some.search && some.dates && !some.actors && !some.more);
        assert!(!controls_from("none").search);
    }
}
