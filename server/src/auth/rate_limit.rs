use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins remembered per key (an email, an IP address) over a
/// sliding window. In memory: with several server processes each one counts
/// its own, which still bounds guessing to a small multiple.
pub struct FailureLimiter {
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl FailureLimiter {
    pub fn new(window: Duration) -> FailureLimiter {
        FailureLimiter { window, failures: Mutex::new(HashMap::new()) }
    }

    /// Whether `key` has reached `limit` failures within the window.
    pub fn blocked(&self, key: &str, limit: usize) -> bool {
        let mut map = self.failures.lock().expect("limiter lock");
        let cutoff = Instant::now() - self.window;
        match map.get_mut(key) {
            Some(times) => {
                times.retain(|t| *t > cutoff);
                times.len() >= limit
            }
            None => false,
        }
    }

    pub fn record_failure(&self, key: &str) {
        let mut map = self.failures.lock().expect("limiter lock");
        // Bound memory under a flood of distinct keys.
        if map.len() > 100_000 {
            let cutoff = Instant::now() - self.window;
            map.retain(|_, times| times.iter().any(|t| *t > cutoff));
        }
        map.entry(key.to_string()).or_default().push(Instant::now());
    }

    pub fn clear(&self, key: &str) {
        self.failures.lock().expect("limiter lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_at_the_limit_and_forgets_after_the_window() {
        let l = FailureLimiter::new(Duration::from_millis(50));
        for _ in 0..3 {
            assert!(!l.blocked("a", 3));
            l.record_failure("a");
        }
        assert!(l.blocked("a", 3));
        assert!(!l.blocked("b", 3));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!l.blocked("a", 3));
    }
}
