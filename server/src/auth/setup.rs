//! The first owner of a fresh install: a one-time link the server prints on
//! its first start with no users, to a plain form (no script needed) that
//! creates the org and its owner, signs them in and records both in the
//! org's log.
//!
//! The token is 256 random bits, stored by its SHA-256 (in `setup_tokens`,
//! which only the owner connection reads), used once, valid for
//! [`SETUP_TTL`], and refused as soon as any user exists, whoever created
//! them (this page, `audit-timeline user add`, or another process's link).

use std::net::SocketAddr;

use app::model::{EventContext, NewAuditEvent, Role};
use axum::Router;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::{SESSION_COOKIE, sessions};
use crate::self_audit;

/// How long a printed setup link works.
pub const SETUP_TTL: chrono::Duration = chrono::Duration::hours(24);
/// The shortest password the setup form (like `user add`) accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// What `/setup` needs: the owner pool (only it may create users and read
/// setup tokens) and the app pool (sessions and audit events, as always).
#[derive(Clone)]
pub struct SetupState {
    pub owner: PgPool,
    pub app: PgPool,
    pub secure_cookies: bool,
}

/// A fresh setup token when nobody can sign in yet, else `None`. Each call
/// makes a new one; earlier ones stay valid until they expire or any user
/// exists.
pub async fn issue_setup_token(owner: &PgPool) -> Result<Option<String>, sqlx::Error> {
    if super::users::any_user(owner).await? {
        return Ok(None);
    }
    let token = crate::random::hex(&crate::random::bytes::<32>());
    sqlx::query!(
        "INSERT INTO setup_tokens (token_hash, expires_at) VALUES ($1, $2)",
        token_hash(&token),
        Utc::now() + SETUP_TTL,
    )
    .execute(owner)
    .await?;
    Ok(Some(token))
}

/// `GET` and `POST /setup`.
pub fn setup_routes<S: Clone + Send + Sync + 'static>(state: SetupState) -> Router<S> {
    Router::new().route("/setup", get(show).post(submit)).with_state(state)
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The form the first owner fills in.
#[derive(Deserialize, Default, Clone)]
pub struct SetupForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub org_name: String,
    #[serde(default)]
    pub org_slug: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
}

/// Why a setup was refused: `field` names the form field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupProblem {
    pub field: &'static str,
    pub message: String,
}

/// Checks the form's fields (not the token); every problem, in form order.
pub fn check_form(form: &SetupForm) -> Vec<SetupProblem> {
    let mut problems = Vec::new();
    let mut problem = |field, message: &str| problems.push(SetupProblem { field, message: message.into() });
    let org_name = form.org_name.trim().chars().count();
    if !(1..=200).contains(&org_name) {
        problem("org_name", "org_name: 1 to 200 characters");
    }
    let slug = form.org_slug.trim();
    let slug_ok = (1..=63).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if !slug_ok {
        problem(
            "org_slug",
            "org_slug: lower-case letters, digits and '-', not starting with '-', at most 63",
        );
    }
    if !(1..=200).contains(&form.name.trim().chars().count()) {
        problem("name", "name: 1 to 200 characters");
    }
    let email = form.email.trim();
    let email_ok = email.len() <= 320
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !email.chars().any(char::is_whitespace);
    if !email_ok {
        problem("email", "email: an address like name@example.com");
    }
    if form.password.chars().count() < MIN_PASSWORD_CHARS {
        problem("password", "password: at least 10 characters");
    }
    problems
}

/// What a setup attempt came to.
#[derive(Debug)]
pub enum SetupOutcome {
    Created {
        org_id: Uuid,
        user_id: Uuid,
    },
    /// The token is unknown, used or expired.
    BadToken,
    /// Someone can sign in already.
    AlreadySetUp,
    Refused(Vec<SetupProblem>),
}

/// Creates the org and its owner if `form` is valid, its token good, and no
/// user exists; uses the token up. One transaction: nothing is left half
/// made. `password_hash` is the argon2 hash of `form.password`.
pub async fn create_first_owner(
    owner: &PgPool,
    form: &SetupForm,
    password_hash: &str,
) -> Result<SetupOutcome, sqlx::Error> {
    let problems = check_form(form);
    if !problems.is_empty() {
        return Ok(SetupOutcome::Refused(problems));
    }
    let mut tx = owner.begin().await?;
    // Two links used at the same moment (two processes each printed one)
    // must not make two first owners: this waits for the other.
    sqlx::query("LOCK TABLE setup_tokens IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    let used = sqlx::query!(
        "UPDATE setup_tokens SET used_at = now() \
          WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()",
        token_hash(form.token.trim()),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if used != 1 {
        return Ok(SetupOutcome::BadToken);
    }
    let anyone =
        sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM users) AS "any!""#).fetch_one(&mut *tx).await?;
    if anyone {
        return Ok(SetupOutcome::AlreadySetUp);
    }
    let org_id = Uuid::now_v7();
    let slug = form.org_slug.trim();
    let created = sqlx::query!(
        "INSERT INTO orgs (id, slug, name) VALUES ($1, $2, $3) ON CONFLICT (slug) DO NOTHING",
        org_id,
        slug,
        form.org_name.trim(),
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if created != 1 {
        return Ok(SetupOutcome::Refused(vec![SetupProblem {
            field: "org_slug",
            message: format!("org_slug: an org '{slug}' exists already"),
        }]));
    }
    let user_id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)",
        user_id,
        form.email.trim().to_lowercase(),
        form.name.trim(),
        password_hash,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)",
        org_id,
        user_id,
        Role::Owner.as_str(),
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(SetupOutcome::Created { org_id, user_id })
}

/// Whether `token` would be accepted now (for showing the form).
async fn token_is_live(owner: &PgPool, token: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM setup_tokens
                           WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()) AS "live!""#,
        token_hash(token.trim()),
    )
    .fetch_one(owner)
    .await
}

async fn show(State(state): State<SetupState>, Query(query): Query<TokenQuery>) -> Response {
    let live = async {
        if super::users::any_user(&state.owner).await? {
            return Ok::<_, sqlx::Error>(Err(already_set_up()));
        }
        Ok(Ok(token_is_live(&state.owner, &query.token).await?))
    };
    match live.await {
        Ok(Err(done)) => done,
        Ok(Ok(true)) => page(StatusCode::OK, &SetupForm { token: query.token, ..Default::default() }, &[]),
        Ok(Ok(false)) => bad_token(),
        Err(e) => unavailable(e),
    }
}

async fn submit(
    State(state): State<SetupState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Response {
    let problems = check_form(&form);
    if !problems.is_empty() {
        return page(StatusCode::UNPROCESSABLE_ENTITY, &form, &problems);
    }
    let password = form.password.clone();
    let Ok(hash) = tokio::task::spawn_blocking(move || super::hash_password(&password)).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "hashing the password failed").into_response();
    };
    let (org_id, user_id) = match create_first_owner(&state.owner, &form, &hash).await {
        Ok(SetupOutcome::Created { org_id, user_id }) => (org_id, user_id),
        Ok(SetupOutcome::BadToken) => return bad_token(),
        Ok(SetupOutcome::AlreadySetUp) => return already_set_up(),
        Ok(SetupOutcome::Refused(problems)) => {
            return page(StatusCode::UNPROCESSABLE_ENTITY, &form, &problems);
        }
        Err(e) => return unavailable(e),
    };
    let address = peer.ip().to_string();
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (token, session_id) =
        match sessions::start(&state.app, user_id, Some(&address), user_agent.as_deref()).await {
            Ok(s) => s,
            Err(e) => return unavailable(e),
        };
    let events = setup_events(org_id, user_id, &form, session_id, &address, user_agent);
    if let Err(e) = crate::store::insert_events(&state.app, &events).await {
        tracing::error!("recording the first owner's setup: {e}");
    }
    tracing::info!(org = %form.org_slug.trim(), email = %form.email.trim(), "first owner set up");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        sessions::SESSION_TTL.num_seconds(),
        if state.secure_cookies { "; Secure" } else { "" }
    );
    let mut response = Redirect::to(&format!("/o/{}", form.org_slug.trim())).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The org's first two events: it was created, and who became its owner.
fn setup_events(
    org_id: Uuid,
    user_id: Uuid,
    form: &SetupForm,
    session_id: Uuid,
    address: &str,
    user_agent: Option<String>,
) -> Vec<NewAuditEvent> {
    let email = form.email.trim().to_lowercase();
    let actor = self_audit::person(user_id, form.name.trim(), &email);
    let context = EventContext {
        ip: Some(address.to_string()),
        user_agent,
        session_id: Some(session_id.to_string()),
        request_id: None,
        country: None,
    };
    let org = self_audit::entity("org", org_id, form.org_name.trim());
    let user = self_audit::entity("user", user_id, email);
    vec![
        NewAuditEvent {
            context: context.clone(),
            metadata: serde_json::json!({ "slug": form.org_slug.trim(), "via": "setup" }),
            ..self_audit::event(org_id, actor.clone(), "org.create", org)
        },
        NewAuditEvent {
            context,
            metadata: serde_json::json!({ "role": "owner", "via": "setup" }),
            ..self_audit::event(org_id, actor, "user.create", user)
        },
    ]
}

fn already_set_up() -> Response {
    message_page(StatusCode::GONE, "This server is set up already.", "Sign in instead.")
}

fn bad_token() -> Response {
    message_page(
        StatusCode::FORBIDDEN,
        "This setup link is not valid.",
        "It was used already or has expired. Restart the server to print a new one, or create the first \
         owner with `audit-timeline user add`.",
    )
}

fn unavailable(e: sqlx::Error) -> Response {
    tracing::error!("setup store error: {e}");
    (StatusCode::SERVICE_UNAVAILABLE, "The database is unavailable; try again in a moment.").into_response()
}

fn message_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<section class=\"login\"><h1>{}</h1><p>{}</p><p><a href=\"/login\">Sign in</a></p></section>",
        escape(title),
        escape(text)
    );
    (status, Html(document(&body))).into_response()
}

fn page(status: StatusCode, form: &SetupForm, problems: &[SetupProblem]) -> Response {
    let errors: String = if problems.is_empty() {
        String::new()
    } else {
        let items: String = problems.iter().map(|p| format!("<li>{}</li>", escape(&p.message))).collect();
        format!("<div class=\"notice error\" role=\"alert\"><ul>{items}</ul></div>")
    };
    let field = |name: &str, label: &str, kind: &str, value: &str, extra: &str| {
        let invalid = if problems.iter().any(|p| p.field == name) { " aria-invalid=\"true\"" } else { "" };
        format!(
            "<label>{label}<input type=\"{kind}\" name=\"{name}\" value=\"{}\" required{invalid} {extra}/></label>",
            escape(value)
        )
    };
    let body = format!(
        "<section class=\"login\"><h1>Set up the audit log</h1>\
         <p>Create the first organisation and its owner. You are signed in as the owner afterwards; \
         add other people from the command line (<code>audit-timeline user add</code>).</p>{errors}\
         <form method=\"post\" action=\"/setup\" class=\"login-form\">\
         <input type=\"hidden\" name=\"token\" value=\"{}\"/>{}{}{}{}{}\
         <button type=\"submit\">Create and sign in</button></form></section>",
        escape(&form.token),
        field("org_name", "Organisation name", "text", &form.org_name, "maxlength=\"200\""),
        field(
            "org_slug",
            "Organisation slug (in its URLs)",
            "text",
            &form.org_slug,
            "maxlength=\"63\" pattern=\"[a-z0-9][a-z0-9-]*\""
        ),
        field("name", "Your name", "text", &form.name, "maxlength=\"200\" autocomplete=\"name\""),
        field("email", "Your email", "email", &form.email, "autocomplete=\"username\""),
        // The password is never sent back.
        field(
            "password",
            "Password (at least 10 characters)",
            "password",
            "",
            "minlength=\"10\" autocomplete=\"new-password\""
        ),
    );
    (status, Html(document(&body))).into_response()
}

fn document(body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>Set up · Audit log</title><link rel=\"stylesheet\" href=\"/pkg/audit-timeline.css\"/></head>\
         <body><main>{body}</main></body></html>"
    )
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> SetupForm {
        SetupForm {
            token: "t".into(),
            org_name: "Acme Corp".into(),
            org_slug: "acme".into(),
            name: "Olive Owner".into(),
            email: "olive@acme.test".into(),
            password: "correct horse battery".into(),
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        assert!(check_form(&good()).is_empty());
        let bad = SetupForm {
            org_name: " ".into(),
            org_slug: "-Acme".into(),
            name: String::new(),
            email: "olive".into(),
            password: "short".into(),
            ..good()
        };
        let fields: Vec<_> = check_form(&bad).iter().map(|p| p.field).collect();
        assert_eq!(fields, ["org_name", "org_slug", "name", "email", "password"]);
        // Multi-byte input is counted in characters, never sliced.
        let long_name = SetupForm { name: "é".repeat(200), ..good() };
        assert!(check_form(&long_name).is_empty());
        let too_long = SetupForm { name: "é".repeat(201), ..good() };
        assert_eq!(check_form(&too_long)[0].field, "name");
    }

    #[test]
    fn values_are_escaped_in_the_page() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
