//! Streaming export of the largest org: rows a second, and the server's
//! memory while it streams.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;

use super::client::Client;
use super::report::{Report, Table, per_second};
use super::server_proc::ServerProcess;
use super::stats::thousands;

pub struct Export<'a> {
    /// Signed with the largest org's API key.
    pub client: &'a mut Client,
    pub server: &'a ServerProcess,
    /// The export's filter: about as many rows as asked for.
    pub query: String,
}

impl Export<'_> {
    pub async fn run(&mut self, report: &mut Report) -> anyhow::Result<()> {
        let mut table = Table::new(
            "Streaming export",
            "`GET /api/v1/events/export` with an API key, read as it arrives. The server's resident memory \
             (VmRSS) is sampled every 50 ms while it streams. The first run is the first read of these rows \
             since the database started (its buffers still empty) and is shown apart; the target is held to \
             the runs after it.",
            &["format", "rows", "MB", "seconds", "rows/s", "MB/s", "server RSS before / peak / after"],
        );
        let mut worst_rate = f64::MAX;
        let mut growth = 0u64;
        for (run, format) in ["csv", "csv", "ndjson", "csv"].into_iter().enumerate() {
            let cold = run == 0;
            let rss = self.server.memory_reader();
            let before = rss().context("the server has exited")?;
            let peak = Arc::new(AtomicU64::new(before));
            let done = Arc::new(AtomicBool::new(false));
            let sampler = {
                let (peak, done, rss) = (peak.clone(), done.clone(), rss.clone());
                tokio::spawn(async move {
                    while !done.load(Ordering::Relaxed) {
                        if let Some(now) = rss() {
                            peak.fetch_max(now, Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
            };
            let streamed =
                self.client.stream(&format!("/api/v1/events/export?format={format}&{}", self.query)).await;
            done.store(true, Ordering::Relaxed);
            sampler.await?;
            let streamed = streamed?;
            anyhow::ensure!(streamed.status.is_success(), "export answered {}", streamed.status);
            let after = rss().context("the server has exited")?;
            let rows = if format == "csv" { streamed.lines.saturating_sub(1) } else { streamed.lines };
            let secs = streamed.elapsed.as_secs_f64();
            let mb = streamed.bytes as f64 / 1e6;
            let peak = peak.load(Ordering::Relaxed);
            table.row(vec![
                if cold { format!("{format}, first read") } else { format.into() },
                thousands(rows),
                format!("{mb:.1}"),
                format!("{secs:.2}"),
                per_second(rows, secs),
                format!("{:.1}", mb / secs),
                format!("{} / {} / {} MiB", before / 1024, peak / 1024, after / 1024),
            ]);
            if !cold {
                worst_rate = worst_rate.min(rows as f64 / secs);
            }
            growth = growth.max(peak.saturating_sub(before));
        }
        report.add(table);
        report.target(
            "streaming export",
            "≥ 150,000 rows/s, RSS flat",
            format!(
                "{} rows/s at worst; RSS grew at most {} MiB",
                thousands(worst_rate as u64),
                growth / 1024
            ),
            worst_rate >= 150_000.0 && growth < 64 * 1024,
        );
        Ok(())
    }
}
