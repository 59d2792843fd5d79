//! Sign-in limiting through the real sign-in route, on a real PostgreSQL:
//! parallel guesses cannot pass the limit, someone who knows only an email
//! cannot lock its owner out, and `X-Forwarded-For` counts only from a
//! configured proxy.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::*;
use app::model::Role;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use server::auth::client_address::TrustedProxies;
use server::auth::rate_limit::Limits;
use server::auth::{AuthState, users};
use server::store;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower::ServiceExt;
use uuid::Uuid;

const ORG: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0b01);
const EMAIL: &str = "vera@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn limits() -> Limits {
    Limits {
        per_pair: 3,
        per_address: 6,
        per_email: 4,
        spacing: Duration::from_millis(300),
        max_wait: Duration::from_millis(600),
        ..Limits::default()
    }
}

struct Env {
    owner: PgPool,
    router: Router,
}

async fn setup(connect: PgConnectOptions, proxies: &str) -> Env {
    let owner = PgPool::connect_with(connect.clone()).await.unwrap();
    store::ensure_org(&owner, ORG, "acme", "Acme").await.unwrap();
    let hash = server::auth::hash_password(PASSWORD);
    let user = users::ensure_user(&owner, EMAIL, "Vera", &hash).await.unwrap();
    users::set_membership(&owner, ORG, user, Role::Owner).await.unwrap();
    let app = app_pool(connect).await;
    let state = AuthState::new(app, false)
        .with_limits(limits())
        .with_trusted_proxies(TrustedProxies::parse(proxies).unwrap());
    Env { owner, router: server::auth::routes(state) }
}

/// Where a sign-in from `peer` (with an optional X-Forwarded-For) went.
async fn sign_in(router: &Router, peer: &str, forwarded: Option<&str>, password: &str) -> String {
    let body = format!("email={}&password={}", EMAIL.replace('@', "%40"), password.replace(' ', "+"));
    let mut request = Request::post("/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    if let Some(f) = forwarded {
        request.headers_mut().insert("x-forwarded-for", f.parse().unwrap());
    }
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()[header::LOCATION].to_str().unwrap().to_string()
}

/// Failed sign-ins that reached the password check (each is recorded).
async fn checked_failures(owner: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT host(ip) FROM audit_events WHERE action = 'user.login_failed' ORDER BY seq")
        .fetch_all(owner)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn parallel_guesses_reach_the_password_check_at_most_the_limit(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let env = setup(connect, "").await;
    let guesses = (0..24).map(|i| {
        let router = env.router.clone();
        async move { sign_in(&router, "203.0.113.7", None, &format!("guess {i}")).await }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let refused = answers.iter().filter(|a| a.contains("error=too_many")).count();
    let wrong = answers.iter().filter(|a| a.contains("error=invalid")).count();
    assert_eq!((wrong, refused), (3, 21), "{answers:?}");
    assert_eq!(checked_failures(&env.owner).await.len(), 3);
    // The address is refused even with the right password now; its owner's
    // other address is not.
    assert!(sign_in(&env.router, "203.0.113.7", None, PASSWORD).await.contains("too_many"));
    assert_eq!(sign_in(&env.router, "198.51.100.20", None, PASSWORD).await, "/o/acme");
}

#[sqlx::test(migrations = "./migrations")]
async fn knowing_an_email_is_not_enough_to_lock_its_owner_out(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let env = setup(connect, "").await;
    // A guess from twelve addresses at once: past the email's ceiling of 4,
    // attempts are queued 300 ms apart, and those that would wait longer
    // than 600 ms are refused for now.
    let router = env.router.clone();
    let flood = move |net: u8| {
        let router = router.clone();
        futures_util::future::join_all((0..12).map(move |i| {
            let router = router.clone();
            async move { sign_in(&router, &format!("10.{net}.0.{i}"), None, "wrong").await }
        }))
    };
    let answers = flood(9).await;
    let busy = answers.iter().filter(|a| a.contains("too_many")).count();
    assert_eq!((checked_failures(&env.owner).await.len(), busy), (7, 5), "{answers:?}");
    // The owner, from an address that failed nothing, still gets in: at
    // worst after the queue's wait, never refused.
    let started = std::time::Instant::now();
    assert_eq!(sign_in(&env.router, "192.0.2.44", None, PASSWORD).await, "/o/acme");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    // Once signed in from there, that address skips the queue even while
    // the guessing goes on.
    let (_, own) =
        futures_util::future::join(flood(8), sign_in(&env.router, "192.0.2.44", None, PASSWORD)).await;
    assert_eq!(own, "/o/acme");
}

#[sqlx::test(migrations = "./migrations")]
async fn forwarded_addresses_count_only_from_a_trusted_proxy(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // Not trusted: a client naming a new address each time is still one address.
    let env = setup(connect.clone(), "").await;
    for i in 0..6 {
        let _ = sign_in(&env.router, "203.0.113.7", Some(&format!("10.0.0.{i}")), "wrong").await;
    }
    assert_eq!(checked_failures(&env.owner).await, vec!["203.0.113.7"; 3]);
}

#[sqlx::test(migrations = "./migrations")]
async fn behind_a_trusted_proxy_the_client_is_the_forwarded_address(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let env = setup(connect, "127.0.0.1").await;
    // A client's own claim (left) is not believed; the proxy's hop (right) is.
    for _ in 0..4 {
        let _ = sign_in(&env.router, "127.0.0.1", Some("1.2.3.4, 198.51.100.9"), "wrong").await;
    }
    assert_eq!(checked_failures(&env.owner).await, vec!["198.51.100.9"; 3]);
    // Another client behind the same proxy is not affected.
    assert_eq!(sign_in(&env.router, "127.0.0.1", Some("198.51.100.10"), PASSWORD).await, "/o/acme");
}
