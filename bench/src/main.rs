//! `audit-timeline-bench`: loads a large dataset into a dedicated embedded
//! PostgreSQL, starts the real server (the `audit-timeline` binary beside
//! this one) on it, measures what people wait for and writes the figures,
//! with the targets they are held to, to a Markdown file.

mod bundle;
mod client;
mod dataset;
mod export;
mod ingest;
mod reads;
mod report;
mod server_proc;
mod stats;

use std::path::PathBuf;

use anyhow::Context;
use app::model::Role;
use chrono::{DateTime, Utc};
use clap::Parser;
use demo::DemoOrg;
use server::auth::{SESSION_COOKIE, users};
use server::{Database, store};

use client::Client;
use dataset::Shape;
use report::Report;
use server_proc::ServerProcess;

/// Measures the audit log at scale and writes docs/benchmarks.md.
#[derive(Parser, Debug)]
#[command(name = "audit-timeline-bench", version)]
pub struct BenchArgs {
    /// The benchmark's own database cluster (and a marker saying which
    /// dataset it holds, so a second run reuses it). Somewhere the
    /// unprivileged `postgres` user can reach when running as root.
    #[arg(long, default_value = "/var/tmp/audit-timeline-bench")]
    bench_dir: PathBuf,
    /// Events in the dataset.
    #[arg(long, default_value = "10M", value_parser = parse_count)]
    events: usize,
    /// Orgs to spread them over.
    #[arg(long, default_value_t = 100)]
    orgs: usize,
    /// The largest org's share of the events, in percent.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(1..=100))]
    largest_percent: u8,
    /// Days of history.
    #[arg(long, default_value_t = 730)]
    days: u32,
    /// Timed runs per read measurement.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// Rows in the export measurement.
    #[arg(long, default_value = "1M", value_parser = parse_count)]
    export_rows: usize,
    /// Events in each batched ingestion measurement.
    #[arg(long, default_value = "100k", value_parser = parse_count)]
    ingest_events: usize,
    /// Where the report is written.
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// The release build's site (its `pkg/` is measured and served).
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    site_root: Option<PathBuf>,
    /// Measure only these parts (comma-separated: reads, bundle, export,
    /// ingest, steady), e.g. while working on one of them; the report then holds
    /// only their tables and targets.
    #[arg(long, value_delimiter = ',', value_enum)]
    only: Vec<Part>,
}

/// A part of the benchmark that `--only` can pick.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum Part {
    /// Paging, filters and search.
    Reads,
    /// The bundle's size and server rendering.
    Bundle,
    Export,
    /// Batches and one event per request, against the store.
    Ingest,
    /// Single events at steady rates.
    Steady,
}

/// "10M", "100k", "2500".
fn parse_count(s: &str) -> Result<usize, String> {
    let s = s.trim().replace('_', "");
    let (digits, scale) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1_000),
        Some('m' | 'M') => (&s[..s.len() - 1], 1_000_000),
        _ => (s.as_str(), 1),
    };
    let n: usize = digits.parse().map_err(|_| format!("'{s}' is not a count such as 2500, 100k or 10M"))?;
    n.checked_mul(scale).filter(|n| *n > 0).ok_or_else(|| format!("'{s}' must be at least 1"))
}

const BENCH_EMAIL: &str = "bench@bench.invalid";
/// The benchmark account's password: the database is the benchmark's own
/// and its server listens on localhost only while the run lasts.
const BENCH_PASSWORD: &str = "benchmark-only-account";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    run(BenchArgs::parse()).await
}

/// The release build's `audit-timeline`, beside this binary.
fn server_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let server = exe.with_file_name("audit-timeline");
    anyhow::ensure!(
        server.is_file(),
        "{} is missing: build the server first (scripts/build.sh)",
        server.display()
    );
    Ok(server)
}

/// Runs the benchmark; the bundle is read from `--site-root`, else from
/// the build's own site.
async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let site_root = args.site_root.clone().unwrap_or_else(server::default_site_root);
    anyhow::ensure!(args.orgs >= 1 && args.orgs <= 10_000, "--orgs must be between 1 and 10000");
    anyhow::ensure!(args.events >= args.orgs * 100, "--events must give every org at least 100 events");
    let db = Database::open(None, &args.bench_dir).await?;
    let outcome = measure(&args, &db, site_root).await;
    db.close().await;
    outcome
}

async fn measure(args: &BenchArgs, db: &Database, site_root: PathBuf) -> anyhow::Result<()> {
    db.migrate().await?;
    let shape = Shape {
        events: args.events,
        orgs: args.orgs,
        largest_percent: args.largest_percent as usize,
        days: args.days,
        seed: 7,
        until: Utc::now(),
    };
    let shape = dataset::ensure(db, &args.bench_dir, shape).await?;
    // Whatever a load (or an earlier run) left dirty is written out now, not
    // by a checkpoint in the middle of the measurements.
    sqlx::query("CHECKPOINT").execute(&db.admin).await?;
    let largest = shape.org(0);

    let hash = tokio::task::spawn_blocking(|| server::auth::hash_password(BENCH_PASSWORD)).await?;
    let user = users::ensure_user(&db.admin, BENCH_EMAIL, "Benchmark", &hash).await?;
    users::set_membership(&db.admin, largest.id, user, Role::Owner).await?;
    // Ingestion writes into an org of its own, so the read dataset stays
    // what its marker says.
    let stamp = Utc::now().format("%Y%m%d%H%M%S");
    let ingest_org = DemoOrg {
        id: uuid::Uuid::now_v7(),
        slug: format!("bench-ingest-{stamp}"),
        name: format!("Benchmark ingestion {stamp}"),
    };
    store::ensure_org(&db.admin, ingest_org.id, &ingest_org.slug, &ingest_org.name).await?;
    let actor = store::cli_actor();
    let (_, export_key) = store::create_api_key(&db.app, largest.id, "benchmark export", &actor).await?;
    let (_, ingest_key) =
        store::create_api_key(&db.app, ingest_org.id, "benchmark ingestion", &actor).await?;
    let postgres: String = sqlx::query_scalar("SELECT 'PostgreSQL ' || current_setting('server_version')")
        .fetch_one(&db.admin)
        .await?;

    let url = db.embedded_url().context("the benchmark runs its own PostgreSQL")?;
    let server = ServerProcess::start(&url, &args.bench_dir.join("server"), &site_root).await?;
    let outcome = async {
        let mut report = Report::default();
        let wanted = |part: Part| args.only.is_empty() || args.only.contains(&part);
        let mut browser = Client::connect(server.addr).await?;
        browser.cookie = Some(sign_in(&mut browser).await?);
        let mut tab = reads::Tab { client: browser, slug: largest.slug.clone() };
        let mut reads = reads::Reads {
            tab: &mut tab,
            admin: &db.admin,
            app: &db.app,
            org_id: largest.id,
            org_events: shape.org_events(0),
            until: shape.until,
            runs: args.runs,
        };
        if wanted(Part::Reads) {
            eprintln!("measuring paging");
            reads.paging(&mut report).await?;
            eprintln!("measuring filters and search");
            reads.filters(&mut report).await?;
        }
        if wanted(Part::Bundle) {
            eprintln!("measuring the bundle and server rendering");
            bundle::sizes(&site_root, &mut report)?;
            // The person with the most events: the people page's worst case.
            let busiest: String = sqlx::query_scalar(
                "SELECT actor_id FROM actor_rollups WHERE org_id = $1 GROUP BY 1 ORDER BY sum(events) DESC LIMIT 1",
            )
            .bind(largest.id)
            .fetch_one(&db.admin)
            .await?;
            let pages = bundle::Pages { slug: &largest.slug, busiest: &busiest };
            bundle::ssr(&mut tab.client, pages, args.runs.min(100), &mut report).await?;
        }
        if wanted(Part::Export) {
            eprintln!("measuring export");
            let mut key_client = Client::connect(server.addr).await?;
            key_client.bearer = Some(export_key);
            let query = export_window(db, largest.id, args.export_rows).await?;
            export::Export { client: &mut key_client, server: &server, query }.run(&mut report).await?;
        }
        let mut ingest_client = Client::connect(server.addr).await?;
        ingest_client.bearer = Some(ingest_key);
        let mut ingest = ingest::Ingest {
            client: &mut ingest_client,
            app: &db.app,
            org: ingest_org,
            events: args.ingest_events,
        };
        if wanted(Part::Ingest) {
            eprintln!("measuring ingestion");
            ingest.run(&mut report).await?;
        }
        if wanted(Part::Steady) {
            eprintln!("measuring single events at steady rates");
            ingest.run_steady(&mut report).await?;
        }
        anyhow::Ok(report)
    }
    .await;
    server.stop().await;
    let report = outcome?;

    let mut command = format!(
        "audit-timeline-bench --events {} --orgs {} --largest-percent {} --days {} --runs {} --export-rows {} \
         --ingest-events {}",
        args.events,
        args.orgs,
        args.largest_percent,
        args.days,
        args.runs,
        args.export_rows,
        args.ingest_events
    );
    if !args.only.is_empty() {
        let parts: Vec<String> = args.only.iter().map(|p| format!("{p:?}").to_lowercase()).collect();
        command.push_str(&format!(" --only {}", parts.join(",")));
    }
    let doc = report.document(&command, &shape.describe(), &report::machine(&postgres));
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, doc).with_context(|| format!("writing {}", args.out.display()))?;
    let missed = report.targets.iter().filter(|t| !t.met).count();
    eprintln!("wrote {} ({missed} of {} targets not met)", args.out.display(), report.targets.len());
    Ok(())
}

/// Signs the benchmark account in as the login form does; the session
/// cookie.
async fn sign_in(client: &mut Client) -> anyhow::Result<String> {
    let form = format!("email={}&password={}", BENCH_EMAIL.replace('@', "%40"), BENCH_PASSWORD);
    let reply = client.post_form("/auth/login", form).await?;
    reply
        .headers
        .get_all(hyper::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|c| c.starts_with(&format!("{SESSION_COOKIE}="))))
        .map(str::to_string)
        .with_context(|| format!("signing in failed: HTTP {} {}", reply.status, reply.text()))
}

/// An export filter matching about `rows` of the org's newest events.
async fn export_window(db: &Database, org_id: uuid::Uuid, rows: usize) -> anyhow::Result<String> {
    let at: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT occurred_at FROM audit_events WHERE org_id = $1 ORDER BY occurred_at DESC, id DESC OFFSET $2 LIMIT 1",
    )
    .bind(org_id)
    .bind(rows as i64 - 1)
    .fetch_optional(&db.admin)
    .await?;
    // `after` is inclusive and in whole seconds: at most one second's
    // events more than asked for.
    Ok(at.map(|t| format!("after={}", t.format("%Y-%m-%dT%H:%M:%S"))).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn counts_read_with_their_suffixes() {
        assert_eq!(parse_count("10M"), Ok(10_000_000));
        assert_eq!(parse_count("100k"), Ok(100_000));
        assert_eq!(parse_count("2_500"), Ok(2_500));
        assert!(parse_count("0").is_err());
        assert!(parse_count("ten").is_err());
    }
}
