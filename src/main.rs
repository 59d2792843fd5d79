//! The `audit-timeline` server: parse the command line, open (or start) the
//! database, migrate, then serve, seed or verify.

// Leptos view types nest deeply; the default limit is too low for them.
#![recursion_limit = "256"]

mod operator;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use app::api::{AccessControl, AuditStore, ViewerCache};
use app::model::Role;
use axum::Router;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use demo::{DemoOptions, demo_org};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use server::auth::{AuthState, SessionAccess, users};
use server::{Database, PgAuditStore, store};
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Parser)]
#[command(
    name = "audit-timeline",
    version,
    about = "Self-hosted, append-only audit log with a live timeline"
)]
struct Cli {
    /// PostgreSQL to use. Unset: run a private embedded PostgreSQL in --data-dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Where the embedded PostgreSQL keeps its cluster.
    #[arg(long, env = "AUDIT_DATA_DIR", global = true, default_value = ".data")]
    data_dir: PathBuf,
    /// Public keys (Ed25519, 64 hex digits each, comma-separated) whose
    /// signed checkpoints verification trusts besides the server's own key,
    /// e.g. a former key. The database's list of keys is never trusted.
    #[arg(long, env = "AUDIT_TRUSTED_KEYS", global = true, hide_env_values = true)]
    trusted_keys: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the timeline (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Generate deterministic demo events.
    Seed(SeedArgs),
    /// Run only the embedded PostgreSQL and print its URL (for tests and
    /// psql); Ctrl-C stops it.
    Postgres,
    /// Manage people who sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Re-walk orgs' hash chains and check their signed checkpoints; exits
    /// non-zero if any chain is broken.
    Verify {
        /// Org slug; default every org.
        #[arg(long)]
        org: Option<String>,
    },
    /// Recount the dashboard's rollups from the events, repair any that
    /// differ and report them; exits non-zero if any had drifted.
    Recount {
        /// Org slug; default every org.
        #[arg(long)]
        org: Option<String>,
    },
    /// Manage an org's API keys for the ingestion and export API.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print its secret (shown this once, stored hashed).
    Create {
        /// Org slug.
        #[arg(long)]
        org: String,
        /// What the key is for, e.g. "Billing service".
        #[arg(long)]
        name: String,
    },
    /// List an org's keys (never their secrets).
    List {
        #[arg(long)]
        org: String,
    },
    /// Revoke a key by id; requests with it are refused from then on.
    Revoke {
        #[arg(long)]
        org: String,
        id: uuid::Uuid,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a person to an org (creating the org if it does not exist). The
    /// password comes from AUDIT_USER_PASSWORD or the first line of stdin.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Org slug.
        #[arg(long)]
        org: String,
        /// owner, admin, developer or member.
        #[arg(long, default_value = "member", value_parser = parse_role)]
        role: Role,
    },
}

/// Stamps the page's inline scripts with the nonce its response's
/// Content-Security-Policy names (see `server::http::content_security_policy`).
fn provide_csp_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<server::http::CspNonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "one of owner, admin, developer, member".to_string())
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Directory with the built browser bundle (pkg/) and public assets.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    site_root: Option<PathBuf>,
    /// Load demo data and demo accounts (password `demo`) into an empty
    /// database, and list the demo accounts on the login page. Without it,
    /// a database with nobody in it gets a one-time setup link.
    #[arg(long)]
    demo: bool,
    /// Mark the session cookie Secure (serve over HTTPS, e.g. behind a proxy).
    #[arg(long, env = "AUDIT_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Proxies whose X-Forwarded-For names the client (addresses or blocks,
    /// comma-separated, e.g. 127.0.0.1 behind a local nginx); without one
    /// the header is ignored, so clients cannot choose their own address.
    #[arg(long, env = "AUDIT_TRUSTED_PROXY", default_value = "", value_parser = server::auth::client_address::TrustedProxies::parse)]
    trusted_proxy: server::auth::client_address::TrustedProxies,
    /// How many demo events to load into an empty log.
    #[arg(long, default_value_t = 20_000)]
    demo_events: usize,
    /// Expensive reads (searches, counts, export batches) run at once by
    /// this process; default half this machine's cores. Raise it when the
    /// database has cores of its own.
    #[arg(long, env = "AUDIT_HEAVY_READS")]
    heavy_reads: Option<usize>,
}

#[derive(Args)]
struct SeedArgs {
    /// Events to generate, split evenly across the orgs.
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Number of orgs.
    #[arg(long, default_value_t = 1)]
    orgs: usize,
    /// Random seed: the same seed gives the same events.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Newest event time (RFC 3339); default now.
    #[arg(long)]
    until: Option<DateTime<Utc>>,
    /// Days of history to spread the events over.
    #[arg(long, default_value_t = 90)]
    days: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    // An empty DATABASE_URL means unset, as in most tools.
    let database_url = cli.database_url.as_deref().filter(|url| !url.trim().is_empty());
    let db = Database::open(database_url, &cli.data_dir).await?;
    let outcome = run(&cli, &db).await;
    db.close().await;
    outcome
}

async fn run(cli: &Cli, db: &Database) -> anyhow::Result<()> {
    db.migrate().await?;
    match &cli.command {
        Some(Command::Migrate) => {
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(Command::Seed(args)) => seed(db, args).await,
        Some(Command::User(UserCommand::Add { email, name, org, role })) => {
            operator::add_user(db, email, name, org, *role).await
        }
        Some(Command::ApiKey(command)) => api_key(db, command).await,
        Some(Command::Verify { org }) => {
            operator::verify(db, &cli.data_dir, cli.trusted_keys.as_deref(), org.as_deref()).await
        }
        Some(Command::Recount { org }) => operator::recount(db, org.as_deref()).await,
        Some(Command::Postgres) => {
            let url =
                db.embedded_url().context("DATABASE_URL is set: there is no embedded PostgreSQL to run")?;
            println!("DATABASE_URL={url}");
            shutdown_signal().await;
            Ok(())
        }
        Some(Command::Serve(args)) => serve(db, cli, args.clone()).await,
        None => serve(db, cli, ServeArgs::parse_default()).await,
    }
}

impl ServeArgs {
    fn parse_default() -> ServeArgs {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Only::parse_from(["audit-timeline"]).serve
    }
}

async fn seed(db: &Database, args: &SeedArgs) -> anyhow::Result<()> {
    let opts = DemoOptions {
        seed: args.seed,
        events: 0,
        until: args.until.unwrap_or_else(Utc::now),
        days: args.days,
    };
    let orgs = args.orgs.max(1);
    let started = Instant::now();
    let mut written = 0;
    for index in 0..orgs {
        let share = args.events / orgs + usize::from(index < args.events % orgs);
        written += load_demo(db, index, DemoOptions { events: share, ..opts.clone() }).await?;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {written} events into {orgs} org(s) in {secs:.1}s ({:.0} events/s)",
        written as f64 / secs
    );
    Ok(())
}

/// Creates demo org `index` and streams its events in with COPY, drawing a
/// progress bar on stderr.
async fn load_demo(db: &Database, index: usize, opts: DemoOptions) -> anyhow::Result<usize> {
    let org = demo_org(opts.seed, index);
    store::ensure_org(&db.admin, org.id, &org.slug, &org.name).await?;
    let total = opts.events;
    let mut bar = demo::Progress::new(&org.slug, total);
    let written = store::copy_events(&db.admin, org.id, demo::events(&org, &opts), |n| bar.update(n)).await?;
    bar.finish();
    Ok(written)
}

async fn serve(db: &Database, cli: &Cli, args: ServeArgs) -> anyhow::Result<()> {
    // Estimated locations for the entries' IP addresses, from a local
    // table; loading it never delays serving.
    tokio::spawn(server::geo::load_in_background(server::geo::default_dirs()));
    // Demo data and its public passwords only when asked for, whatever the
    // database.
    let demo = args.demo;
    if demo {
        load_demo_once(db, args.demo_events).await?;
    } else {
        let demo_users = users::demo_user_count(&db.admin).await?;
        if demo_users > 0 {
            tracing::warn!(
                demo_users,
                "this database holds demo accounts whose password is `demo`; they can still sign in"
            );
        }
    }
    // Checkpoints of every org's chain, signed with a key the database never
    // holds (AUDIT_SIGNING_KEY, or a key file the database's OS user cannot
    // read), registered through the owner connection.
    let signer = operator::load_signer(db, &cli.data_dir)?;
    signer.register(&db.admin).await?;
    let trusted = operator::trusted_keys(cli.trusted_keys.as_deref(), Some(&signer))?;
    tracing::info!(
        key_id = signer.key_id(),
        public_key = %signer.public_key_hex(),
        also_trusted = trusted.len() - 1,
        "signing chain checkpoints"
    );
    let checkpointer = server::chain::spawn_checkpointer(db.admin.clone(), signer.clone());
    // Uptime and response times, measured by this process (system view).
    let health = server::health::spawn_recorder(db.admin.clone());
    // The search index's pending list is merged in the background, so no
    // write request pays for it (see store::search_index).
    let merger = server::store::search_index::spawn_pending_list_merger(db.admin.clone());
    // The same key signs viewer tokens (domain-separated from checkpoints),
    // so every server process sharing the key accepts every other's tokens.
    let token_signer = Arc::new(signer);
    let embed_key = token_signer.verifying_key();
    let store: Arc<dyn AuditStore> =
        Arc::new(PgAuditStore::new(db.reads.clone()).with_trusted_keys(trusted.clone()));
    // Who a cookie is, remembered for 2 s by both the pages' guard and the
    // server functions; signing out forgets it at once.
    let sessions = Arc::new(server::auth::SessionCache::new());
    let access: Arc<dyn AccessControl> = Arc::new(
        SessionAccess::new(db.sessions.clone(), demo)
            .with_viewer_tokens(token_signer.verifying_key())
            .with_session_cache(sessions.clone()),
    );
    // One LISTEN connection for this process; every browser's live stream
    // is fed from it.
    let (hub, live_listener) = server::live::LiveHub::listen(db.app.connect_options().as_ref().clone())
        .await
        .context("cannot listen for new events")?;
    // One set of shares of expensive work for the whole process: pages,
    // counts, exports, verifications and live streams, per viewer and org.
    let admission =
        app::api::Admission::new().with_heavy_slots(args.heavy_reads.unwrap_or_else(app::api::default_slots));
    tracing::info!("expensive reads at once: {}", admission.gate().slots());
    let live = server::http::LiveContext::new(hub.clone(), access.clone(), db.reads.clone())
        .with_admission(admission.clone());
    let auth = AuthState::new(db.sessions.clone(), args.secure_cookies)
        .with_session_cache(sessions.clone())
        .with_trusted_proxies(args.trusted_proxy.clone());
    let setup = server::auth::SetupState {
        owner: db.admin.clone(),
        app: db.app.clone(),
        secure_cookies: args.secure_cookies,
    };

    let site_root = args.site_root.clone().unwrap_or_else(server::default_site_root);
    let options = LeptosOptions::builder()
        .output_name("audit-timeline")
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(args.listen)
        .build();
    let routes = generate_route_list(app::App);
    // Each page renders on one thread (see the module for why).
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let render_pool =
        server::http::render_pool::RenderPool::new(cores).context("cannot start the page renderers")?;
    let context = {
        let admission = admission.clone();
        let access = access.clone();
        move || {
            provide_context(store.clone());
            provide_context(access.clone());
            provide_context(admission.clone());
            provide_context(ViewerCache::default());
            provide_csp_nonce();
        }
    };
    let router = Router::new()
        .leptos_routes_with_context(&options, routes, context, {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .merge(server::auth::routes(auth.clone()))
        .merge(server::auth::setup_routes(setup))
        .merge(server::http::routes(
            server::http::ApiContext::new(db.app.clone())
                .with_read_pool(db.reads.clone())
                .with_token_signer(token_signer)
                .with_admission(admission)
                .with_trusted_keys(trusted)
                .with_access(access.clone()),
        ))
        .merge(server::http::live_routes(live))
        .fallback(leptos_axum::file_and_error_handler(app::shell))
        .layer(axum::middleware::from_fn_with_state(
            render_pool,
            server::http::render_pool::render_pages_on_pool,
        ))
        .layer(axum::middleware::from_fn_with_state(auth, server::auth::guard))
        .layer(axum::middleware::from_fn_with_state(embed_key, server::embed::exchange_token))
        .layer(axum::middleware::from_fn(server::http::frame_policy))
        .layer(axum::middleware::from_fn(server::health::time_requests))
        .layer(axum::middleware::from_fn(server::http::content_security_policy))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::REFERRER_POLICY,
            axum::http::HeaderValue::from_static("same-origin"),
        ))
        .with_state(options);

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!(
        "Audit timeline at {url}{}",
        if demo { " (demo accounts are listed on the login page)" } else { "" }
    );
    if !demo {
        operator::print_setup(db, &url).await?;
    }
    server::http::serve(listener, router, async move {
        shutdown_signal().await;
        // Open live streams would otherwise hold the shutdown forever.
        hub.close();
    })
    .await?;
    checkpointer.abort();
    merger.abort();
    health.abort();
    live_listener.abort();
    Ok(())
}

/// On an empty database: two demo orgs (Acme with `acme_events`, a second
/// with a tenth of that to show switching and isolation) and their people,
/// who sign in with the password `demo`. Acme's owner is also an admin of
/// the second.
async fn load_demo_once(db: &Database, acme_events: usize) -> anyhow::Result<()> {
    if store::first_org(&db.admin).await?.is_some() {
        return Ok(());
    }
    tracing::info!(acme_events, "empty database: loading demo data");
    // One hash for every demo account: the password is public anyway, and
    // this saves a second of argon2 per start.
    let hash = tokio::task::spawn_blocking(|| server::auth::hash_password("demo")).await?;
    let mut first_owner = None;
    for (index, events) in [acme_events, acme_events / 10].into_iter().enumerate() {
        load_demo(db, index, DemoOptions { events, ..DemoOptions::default() }).await?;
        let org = demo_org(DemoOptions::default().seed, index);
        for member in demo::members(&org) {
            let role = Role::parse(member.role).unwrap_or(Role::Member);
            let user = users::ensure_demo_user(&db.admin, &member.email, &member.name, &hash).await?;
            users::set_membership(&db.admin, org.id, user, role).await?;
            if index == 0 && role == Role::Owner {
                first_owner = Some(user);
            }
        }
        if let (1, Some(owner)) = (index, first_owner) {
            users::set_membership(&db.admin, org.id, owner, Role::Admin).await?;
        }
    }
    Ok(())
}

async fn api_key(db: &Database, command: &ApiKeyCommand) -> anyhow::Result<()> {
    let org_slug = match command {
        ApiKeyCommand::Create { org, .. }
        | ApiKeyCommand::List { org }
        | ApiKeyCommand::Revoke { org, .. } => org,
    };
    let org = store::find_org(&db.admin, org_slug)
        .await?
        .with_context(|| format!("no org with slug '{org_slug}'"))?;
    let actor = store::cli_actor();
    match command {
        ApiKeyCommand::Create { name, .. } => {
            let (key, secret) = store::create_api_key(&db.app, org.id, name, &actor).await?;
            println!("Created API key \"{}\" ({}) for {}.", key.name, key.id, org.name);
            println!("Secret (shown only now; store it safely):\n{secret}");
        }
        ApiKeyCommand::List { .. } => {
            for key in store::list_api_keys(&db.app, org.id).await? {
                let state = key.revoked_at.map(|t| format!("revoked {t}")).unwrap_or_else(|| "active".into());
                println!("{}  {}…  {:<30}  {state}", key.id, key.prefix, key.name);
            }
        }
        ApiKeyCommand::Revoke { id, .. } => {
            if store::revoke_api_key(&db.app, org.id, *id, &actor).await? {
                println!("Revoked {id}.");
            } else {
                anyhow::bail!("no active key {id} in {}", org.name);
            }
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
