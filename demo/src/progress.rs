//! A one-line progress bar on stderr, for long loads.

use std::time::Instant;

/// A one-line progress bar on stderr.
pub struct Progress {
    label: String,
    total: usize,
    started: Instant,
}

impl Progress {
    pub fn new(label: &str, total: usize) -> Progress {
        Progress { label: label.to_string(), total: total.max(1), started: Instant::now() }
    }

    pub fn update(&mut self, done: usize) {
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

    pub fn finish(&mut self) {
        eprintln!();
    }
}
