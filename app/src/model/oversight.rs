//! The security and system views: one category of the log as a table with
//! each event's status (and, for security, its risk), and for the system
//! view the health of the period: failed jobs, and the server's own uptime
//! and response times as it measured them.

use serde::{Deserialize, Serialize};

use super::{AuditEvent, Category, TimelineFilter, Within};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ViewKind {
    Security,
    System,
}

impl ViewKind {
    pub fn parse(s: &str) -> Option<ViewKind> {
        match s {
            "security" => Some(Self::Security),
            "system" => Some(Self::System),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Security => "security",
            Self::System => "system",
        }
    }

    pub fn category(self) -> Category {
        match self {
            Self::Security => Category::Security,
            Self::System => Category::System,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Security => "Security events",
            Self::System => "System events",
        }
    }

    /// The timeline filter of this view over `range`.
    pub fn filter(self, range: Within) -> TimelineFilter {
        TimelineFilter { categories: vec![self.category()], within: Some(range), ..Default::default() }
    }
}

/// Events per table page.
pub const VIEW_PAGE: usize = 50;
/// System events read to find the share of failed jobs.
pub const JOBS_READ: usize = 2_000;

/// Latency buckets of the server's own measurements: upper bounds in
/// milliseconds; the last bucket holds everything slower.
pub const LATENCY_BOUNDS_MS: [u32; 12] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerHealth {
    /// Share of the measured span's minutes in which a server process was
    /// up, and that span in minutes (from the first measurement, at most
    /// the period).
    pub up_minutes: u64,
    pub span_minutes: u64,
    pub requests: u64,
    pub mean_ms: Option<f64>,
    /// Per bucket of [`LATENCY_BOUNDS_MS`] (one more: slower).
    pub buckets: Vec<u64>,
}

impl ServerHealth {
    pub fn uptime_percent(&self) -> Option<f64> {
        (self.span_minutes > 0)
            .then(|| self.up_minutes.min(self.span_minutes) as f64 * 100.0 / self.span_minutes as f64)
    }

    /// The bucket bound the median request finished under; `None` past the
    /// last bound or without requests.
    pub fn median_under_ms(&self) -> Option<u32> {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return None;
        }
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen * 2 >= total {
                return LATENCY_BOUNDS_MS.get(i).copied();
            }
        }
        None
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemHealth {
    pub jobs: u64,
    pub failed: u64,
    /// Whether more system events happened than were read.
    pub capped: bool,
    pub server: Option<ServerHealth>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OversightView {
    pub kind: ViewKind,
    pub range: Within,
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
    pub health: Option<SystemHealth>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_bucket_holding_the_middle_request() {
        let mut h = ServerHealth { up_minutes: 90, span_minutes: 100, ..Default::default() };
        assert_eq!(h.median_under_ms(), None);
        h.buckets = vec![0; LATENCY_BOUNDS_MS.len() + 1];
        h.buckets[2] = 3; // under 5 ms
        h.buckets[4] = 4; // under 20 ms
        assert_eq!(h.median_under_ms(), Some(20));
        h.buckets[12] = 100;
        assert_eq!(h.median_under_ms(), None, "slower than every bound");
        assert_eq!(h.uptime_percent(), Some(90.0));
    }
}
