//! What a viewer downloads and how soon the first page arrives.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use super::client::Client;
use super::report::{Report, Table};
use super::stats::{ms, thousands, time};

/// Sizes of the release bundle in `site_root/pkg`: raw and gzipped (best),
/// per file; returns the gzipped total of wasm and js.
pub fn sizes(site_root: &Path, report: &mut Report) -> anyhow::Result<u64> {
    let pkg = site_root.join("pkg");
    let mut files: Vec<_> = std::fs::read_dir(&pkg)
        .map_err(|e| anyhow::anyhow!("no bundle in {} ({e}); build it with scripts/build.sh", pkg.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("wasm" | "js")))
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no wasm or js in {}", pkg.display());
    let mut table = Table::new(
        "Browser bundle",
        "The release build's files in `pkg/`, raw and gzipped at the best level (what a server with \
         compression sends).",
        &["file", "bytes", "gzipped bytes"],
    );
    let (mut raw_total, mut gz_total) = (0u64, 0u64);
    for path in files {
        let bytes = std::fs::read(&path)?;
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&bytes)?;
        let gzipped = gz.finish()?.len() as u64;
        raw_total += bytes.len() as u64;
        gz_total += gzipped;
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        table.row(vec![name, thousands(bytes.len() as u64), thousands(gzipped)]);
    }
    table.row(vec!["total".into(), thousands(raw_total), thousands(gz_total)]);
    report.add(table);
    report.target(
        "wasm + js gzipped",
        "≤ 150 KB",
        format!("{:.0} KB", gz_total as f64 / 1000.0),
        gz_total <= 150_000,
    );
    Ok(gz_total)
}

/// What the server-rendering measurements open: the largest org, and its
/// busiest actor's people page.
pub struct Pages<'a> {
    pub slug: &'a str,
    pub busiest: &'a str,
}

/// Server rendering of the largest org's timeline for a signed-in viewer:
/// the first byte, and the whole page; then its dashboard and its busiest
/// person's page.
pub async fn ssr(
    client: &mut Client,
    pages: Pages<'_>,
    runs: usize,
    report: &mut Report,
) -> anyhow::Result<()> {
    let slug = pages.slug;
    let path = format!("/o/{slug}");
    let page = client.get(&path).await?.ok()?;
    let html = String::from_utf8_lossy(&page.body);
    anyhow::ensure!(html.contains("class=\"entry"), "{path} rendered no entries");
    let mut first_bytes = Vec::with_capacity(runs);
    let whole = time(2, runs, async || {
        let reply = client.get(&path).await?.ok()?;
        first_bytes.push(ms(reply.first_byte));
        anyhow::Ok(())
    })
    .await?;
    first_bytes.drain(..first_bytes.len().saturating_sub(runs));
    let first = super::stats::Stats::of(&first_bytes).expect("runs");
    let mut table = Table::timings(
        "Server rendering",
        &format!(
            "`GET {path}` signed in, the timeline's first page rendered on the server ({} bytes).",
            thousands(page.body.len() as u64)
        ),
        "measure",
    );
    table.timing("time to first byte", first);
    table.timing("whole page", whole);
    // The dashboard: every number from rollups, so its cost should not
    // grow with the log.
    let dashboard = format!("/o/{slug}/dashboard?range=30d");
    let page = client.get(&dashboard).await?.ok()?;
    anyhow::ensure!(
        String::from_utf8_lossy(&page.body).contains("class=\"stats\""),
        "{dashboard} rendered no counts"
    );
    let dash = time(2, runs, async || {
        client.get(&dashboard).await?.ok()?;
        anyhow::Ok(())
    })
    .await?;
    report.target(
        "dashboard server render p95 (30 days)",
        "≤ 50 ms",
        format!("{:.2} ms", dash.p95),
        dash.p95 <= 50.0,
    );
    table.timing(&format!("`GET {dashboard}`, whole page"), dash);
    // A person's page: counts from per-actor rollups, two bounded reads.
    let person = format!("/o/{slug}/people/{}?days=30", app::components::encode_segment(pages.busiest));
    let page = client.get(&person).await?.ok()?;
    anyhow::ensure!(
        String::from_utf8_lossy(&page.body).contains("Activity summary"),
        "{person} rendered no summary"
    );
    let people = time(2, runs, async || {
        client.get(&person).await?.ok()?;
        anyhow::Ok(())
    })
    .await?;
    report.target(
        "person page server render p95 (30 days, busiest person)",
        "≤ 50 ms",
        format!("{:.2} ms", people.p95),
        people.p95 <= 50.0,
    );
    table.timing(&format!("`GET {person}`, whole page"), people);
    report.add(table);
    Ok(())
}
