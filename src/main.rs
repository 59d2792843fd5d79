//! The `audit-timeline` server: parse the command line, open (or start) the
//! database, migrate, then serve, seed or verify.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use app::api::{AuditStore, ViewerScope};
use axum::Router;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use server::demo::{DemoOptions, demo_org};
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
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Directory with the built browser bundle (pkg/) and public assets.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    site_root: Option<PathBuf>,
    /// Org to show, by slug (default: the first org).
    #[arg(long, env = "AUDIT_ORG")]
    org: Option<String>,
    /// Load demo data into an empty log. Always on for the embedded database.
    #[arg(long)]
    demo: bool,
    /// How many demo events to load into an empty log.
    #[arg(long, default_value_t = 20_000)]
    demo_events: usize,
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
    let db = Database::open(cli.database_url.as_deref(), &cli.data_dir).await?;
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
        Some(Command::Postgres) => {
            let url =
                db.embedded_url().context("DATABASE_URL is set: there is no embedded PostgreSQL to run")?;
            println!("DATABASE_URL={url}");
            shutdown_signal().await;
            Ok(())
        }
        Some(Command::Serve(args)) => serve(db, args.clone()).await,
        None => serve(db, ServeArgs::parse_default()).await,
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
    let mut bar = Progress::new(&org.slug, total);
    let written = store::copy_events(&db.app, server::demo::events(&org, &opts), |n| bar.update(n)).await?;
    bar.finish();
    Ok(written)
}

async fn serve(db: &Database, args: ServeArgs) -> anyhow::Result<()> {
    let org = pick_org(db, &args).await?;
    let store: Arc<dyn AuditStore> = Arc::new(PgAuditStore::new(db.app.clone()));
    let scope = ViewerScope { org_id: org.id };

    let site_root = args.site_root.clone().unwrap_or_else(default_site_root);
    let options = LeptosOptions::builder()
        .output_name("audit-timeline")
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(args.listen)
        .build();
    let routes = generate_route_list(app::App);
    let context = move || {
        provide_context(store.clone());
        provide_context(scope);
    };
    let router = Router::new()
        .leptos_routes_with_context(&options, routes, context, {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        .merge(server::http::routes())
        .fallback(leptos_axum::file_and_error_handler(app::shell))
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
    println!("Audit timeline for \"{}\" at {url}", org.name);
    axum::serve(listener, router).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

/// The org to show; on an empty database loads the demo org (embedded
/// default, or --demo) or creates an empty default org.
async fn pick_org(db: &Database, args: &ServeArgs) -> anyhow::Result<store::Org> {
    if let Some(slug) = &args.org {
        return store::find_org(&db.admin, slug).await?.with_context(|| format!("no org with slug '{slug}'"));
    }
    if let Some(org) = store::first_org(&db.admin).await? {
        return Ok(org);
    }
    if db.is_embedded() || args.demo {
        tracing::info!(events = args.demo_events, "empty log: loading demo data");
        load_demo(db, 0, DemoOptions { events: args.demo_events, ..DemoOptions::default() }).await?;
    } else {
        store::ensure_org(&db.admin, uuid::Uuid::now_v7(), "default", "Default").await?;
    }
    store::first_org(&db.admin).await?.context("no org after creating one")
}

/// `target/site` next to the binary's profile directory (where the build
/// script puts it), else `./target/site`.
fn default_site_root() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(|target| target.join("site")))
        .filter(|p| p.join("pkg").is_dir())
        .unwrap_or_else(|| PathBuf::from("target/site"))
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

/// A one-line progress bar on stderr.
struct Progress {
    label: String,
    total: usize,
    started: Instant,
}

impl Progress {
    fn new(label: &str, total: usize) -> Progress {
        Progress { label: label.to_string(), total: total.max(1), started: Instant::now() }
    }

    fn update(&mut self, done: usize) {
        let width = 30;
        let filled = done * width / self.total;
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        eprint!(
            "\r{} [{}{}] {done}/{} events, {rate:.0}/s   ",
            self.label,
            "#".repeat(filled.min(width)),
            " ".repeat(width - filled.min(width)),
            self.total
        );
    }

    fn finish(&mut self) {
        eprintln!();
    }
}
