//! Timing runs and summarising them.

use std::time::{Duration, Instant};

pub use app::components::thousands;

/// A summary of timed runs, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub p95: f64,
    pub max: f64,
    pub runs: usize,
}

impl Stats {
    /// Nearest-rank percentiles of `samples` (ms); `None` when empty.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        Some(Stats { median: rank(0.5), p95: rank(0.95), max: sorted[sorted.len() - 1], runs: sorted.len() })
    }
}

/// Runs `f` `warmup` times untimed, then `runs` times timed. A run that
/// fails stops the measurement with its error: a figure from failed runs
/// would be a lie.
pub async fn time<T, F>(warmup: usize, runs: usize, mut f: F) -> anyhow::Result<Stats>
where
    F: AsyncFnMut() -> anyhow::Result<T>,
{
    for _ in 0..warmup {
        f().await?;
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        f().await?;
        samples.push(ms(started.elapsed()));
    }
    Ok(Stats::of(&samples).expect("at least one run"))
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `12.345` as "12.35".
pub fn fmt_ms(v: f64) -> String {
    format!("{v:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Stats::of(&samples).unwrap();
        assert_eq!((s.median, s.p95, s.max, s.runs), (50.0, 95.0, 100.0, 100));
        let one = Stats::of(&[3.0]).unwrap();
        assert_eq!((one.median, one.p95, one.max), (3.0, 3.0, 3.0));
        assert_eq!(Stats::of(&[]), None);
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(10_000_000), "10,000,000");
        assert_eq!(fmt_ms(4.567), "4.57");
    }
}
