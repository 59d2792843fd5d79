use leptos::prelude::*;

use crate::api::{latest_chain_status, verify_chain};
use crate::error::AppError;
use crate::model::{ChainStatus, Role, Viewer};

/// The tamper-evidence state of the org's log: verified through which event,
/// or where the chain is broken. Owners and admins can verify on the spot.
///
/// Created once with the page (never inside another component's async
/// block), so its resource and action live as long as the page does.
#[component]
pub fn ChainBadge(
    #[prop(into)] org: Signal<String>,
    who: Resource<Result<Viewer, AppError>>,
) -> impl IntoView {
    let status = Resource::new(move || org.get(), latest_chain_status);
    let verify = Action::new(move |org: &String| verify_chain(org.clone()));
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let viewer = who.await.ok()?;
                let role = viewer.role;
                // Members cannot read the log, so they are not told about
                // it; a scoped viewer sees part of it, not the whole chain.
                if !role.can_view_audit_log() || !viewer.scope.is_empty() {
                    return None;
                }
                let first = status.await;
                let current = move || match verify.value().get() {
                    Some(result) => result.map(Some),
                    None => first.clone(),
                };
                let can_verify = matches!(role, Role::Owner | Role::Admin);
                Some(view! {
                    <div class="chain-badge" role="status" aria-live="polite">
                        {move || match current() {
                            Ok(Some(s)) => describe(&s).into_any(),
                            Ok(None) => view! { <span class="chain unknown">"Integrity not verified yet"</span> }.into_any(),
                            Err(e) => view! { <span class="chain unknown">"Integrity state unavailable: " {e.to_string()}</span> }.into_any(),
                        }}
                        {can_verify.then(|| view! {
                            <button
                                type="button"
                                class="verify-now"
                                disabled=move || verify.pending().get()
                                on:click=move |_| { verify.dispatch(org.get_untracked()); }
                            >
                                {move || if verify.pending().get() { "Verifying…" } else { "Verify now" }}
                            </button>
                        })}
                    </div>
                })
            })}
        </Transition>
    }
}

fn describe(s: &ChainStatus) -> impl IntoView + use<> {
    let when = s.checked_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match &s.broken_at {
        None => view! {
            <span class="chain ok" title=format!("Checked {when}")>
                "✓ Verified through event #" {s.verified_through} " (" {s.checkpoints} " signed checkpoints)"
            </span>
        }
        .into_any(),
        Some((seq, reason)) => view! {
            <span class="chain broken" title=format!("Checked {when}")>
                "⚠ Chain broken at event #" {*seq} ": " {reason.clone()}
            </span>
        }
        .into_any(),
    }
}
