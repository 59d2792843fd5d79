use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::demo_accounts;

/// Sign-in. A plain form posted to `/auth/login`, so it works before (and
/// without) the browser bundle.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.with_untracked(|q| q.get(k)).unwrap_or_default();
    let message = match get("error").as_str() {
        "" => None,
        "invalid" => Some("That email and password do not match an account."),
        "too_many" => Some("Too many failed sign-ins. Wait a few minutes, then try again."),
        "signed_out" => None,
        _ => Some("Sign-in failed. Try again."),
    };
    let signed_out = get("error") == "signed_out";
    let demo = Resource::new(|| (), |_| demo_accounts());
    view! {
        <section class="login">
            <h1>"Sign in to the audit log"</h1>
            {signed_out.then(|| view! { <p class="notice info" role="status">"You have signed out."</p> })}
            {message.map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
            <form method="post" action="/auth/login" class="login-form">
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required value=get("email") />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <input type="hidden" name="next" value=get("next") />
                <button type="submit">"Sign in"</button>
            </form>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let accounts = demo.await.unwrap_or_default();
                    (!accounts.is_empty()).then(|| view! {
                        <section class="demo-accounts" aria-label="Demo accounts">
                            <h2>"Demo accounts"</h2>
                            <p>"This server runs with demo data. Every demo account's password is " <code>"demo"</code> "."</p>
                            <table>
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Org"</th></tr></thead>
                                <tbody>
                                    {accounts.into_iter().map(|a| view! {
                                        <tr><td>{a.name}</td><td><code>{a.email}</code></td><td>{a.role.label()}</td><td>{a.org}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    })
                })}
            </Suspense>
        </section>
    }
}
