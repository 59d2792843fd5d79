//! Sign-in limiting: how many password guesses reach the password check.
//!
//! Three counters, each over a sliding window:
//! - per (email, address) pair: a few failures, then that address may not
//!   try that email again for a while. Counting the pair, not the email
//!   alone, is what keeps someone who only knows a person's email from
//!   locking them out: the person's own address has failed nothing;
//! - per address: a guesser trying many emails from one place is stopped;
//! - per email, across every address: a much higher ceiling that, once
//!   passed, slows sign-in for that email to one attempt per `spacing`
//!   (queued, not refused, up to `max_wait`) instead of blocking it, so a
//!   distributed guess is throttled while the person still gets in. An
//!   address that signed in as that email before skips the queue.
//!
//! Atomic: an attempt is checked and counted as a failure in one critical
//! section, before the password hash runs, and refunded when the password
//! was right, so parallel guesses cannot all pass the check before any of
//! them is counted. Bounded: every table has a fixed number of entries and
//! forgets the oldest first. In memory: with several server processes each
//! counts its own, which still bounds guessing to a small multiple.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits, per window.
#[derive(Debug, Clone)]
pub struct Limits {
    pub window: Duration,
    /// Failures per (email, address) pair before that pair is refused.
    pub per_pair: u32,
    /// Failures per address, over all emails, before it is refused.
    pub per_address: u32,
    /// Failures per email, over all addresses, before attempts are spaced.
    pub per_email: u32,
    /// Time between attempts on an email past its ceiling.
    pub spacing: Duration,
    /// Longest an attempt waits for its turn; past it, it is refused.
    pub max_wait: Duration,
    /// Entries each table holds at most.
    pub capacity: usize,
    /// How long a successful (email, address) pair skips the email queue.
    pub remember_success: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            window: Duration::from_secs(15 * 60),
            per_pair: 5,
            per_address: 20,
            per_email: 50,
            spacing: Duration::from_secs(1),
            max_wait: Duration::from_secs(5),
            // A few MB at most: ~100 bytes an entry.
            capacity: 50_000,
            remember_success: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Why an attempt was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// This address failed too often, for this email or overall.
    Address,
    /// The email is under a distributed guess and its queue is full.
    Busy,
}

/// An attempt let through: counted as a failure until [`SignInLimiter::succeeded`].
#[derive(Debug)]
#[must_use = "report a correct password with `succeeded`"]
pub struct Attempt {
    email: String,
    address: IpAddr,
    /// Wait this long before checking the password (the email's queue).
    pub delay: Duration,
}

pub struct SignInLimiter {
    limits: Limits,
    tables: Mutex<Tables>,
}

struct Tables {
    pairs: Bounded<(String, IpAddr), Counter>,
    addresses: Bounded<IpAddr, Counter>,
    emails: Bounded<String, EmailState>,
    /// (email, address) pairs that signed in, and when.
    known: Bounded<(String, IpAddr), Option<Instant>>,
}

#[derive(Default)]
struct EmailState {
    failures: Counter,
    /// When the next spaced attempt may run.
    next_slot: Option<Instant>,
}

impl SignInLimiter {
    pub fn new(limits: Limits) -> SignInLimiter {
        let cap = limits.capacity;
        SignInLimiter {
            tables: Mutex::new(Tables {
                pairs: Bounded::new(cap),
                addresses: Bounded::new(cap),
                emails: Bounded::new(cap),
                known: Bounded::new(cap),
            }),
            limits,
        }
    }

    /// Checks an attempt and counts it as a failure, in one step.
    pub fn begin(&self, email: &str, address: IpAddr) -> Result<Attempt, Refused> {
        self.begin_at(email, address, Instant::now())
    }

    fn begin_at(&self, email: &str, address: IpAddr, now: Instant) -> Result<Attempt, Refused> {
        let l = &self.limits;
        // A poisoned lock only means another sign-in panicked mid-update;
        // the counters are still usable.
        let mut t = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let pair = (email.to_string(), address);
        let pair_failures = t.pairs.get(&pair).map_or(0.0, |c| c.estimate(now, l.window));
        let address_failures = t.addresses.get(&address).map_or(0.0, |c| c.estimate(now, l.window));
        if pair_failures >= f64::from(l.per_pair) || address_failures >= f64::from(l.per_address) {
            return Err(Refused::Address);
        }
        let known = t
            .known
            .get(&pair)
            .copied()
            .flatten()
            .is_some_and(|at| now.duration_since(at) < l.remember_success);
        let mut delay = Duration::ZERO;
        let email_state = t.emails.get_or_insert(email.to_string());
        if !known && email_state.failures.estimate(now, l.window) >= f64::from(l.per_email) {
            let slot = email_state.next_slot.filter(|s| *s > now).unwrap_or(now);
            delay = slot - now;
            if delay > l.max_wait {
                return Err(Refused::Busy);
            }
            email_state.next_slot = Some(slot + l.spacing);
        }
        email_state.failures.add(now, l.window);
        t.pairs.get_or_insert(pair).add(now, l.window);
        t.addresses.get_or_insert(address).add(now, l.window);
        Ok(Attempt { email: email.to_string(), address, delay })
    }

    /// The password was right: the attempt was no failure after all, the
    /// pair starts afresh, and the address skips the email's queue later.
    pub fn succeeded(&self, attempt: Attempt) {
        let now = Instant::now();
        let mut t = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let pair = (attempt.email.clone(), attempt.address);
        t.pairs.remove(&pair);
        if let Some(c) = t.addresses.get_mut(&attempt.address) {
            c.refund();
        }
        if let Some(e) = t.emails.get_mut(&attempt.email) {
            e.failures.refund();
        }
        *t.known.get_or_insert(pair) = Some(now);
    }

    /// Entries held, for the memory bound's test.
    #[cfg(test)]
    fn len(&self) -> usize {
        let t = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        t.pairs.map.len() + t.addresses.map.len() + t.emails.map.len() + t.known.map.len()
    }
}

/// A sliding-window count in fixed memory: this window's count and the
/// previous one's, the previous weighted by how much of it still overlaps
/// the sliding window.
#[derive(Default, Clone, Copy)]
struct Counter {
    started: Option<Instant>,
    previous: u32,
    current: u32,
}

impl Counter {
    fn roll(&mut self, now: Instant, window: Duration) {
        let started = *self.started.get_or_insert(now);
        let elapsed = now.duration_since(started);
        if elapsed >= window * 2 {
            *self = Counter { started: Some(now), previous: 0, current: 0 };
        } else if elapsed >= window {
            *self = Counter { started: Some(started + window), previous: self.current, current: 0 };
        }
    }

    fn estimate(&self, now: Instant, window: Duration) -> f64 {
        let mut c = *self;
        c.roll(now, window);
        let into = c.started.map_or(Duration::ZERO, |s| now.duration_since(s));
        let overlap = 1.0 - (into.as_secs_f64() / window.as_secs_f64()).min(1.0);
        f64::from(c.current) + f64::from(c.previous) * overlap
    }

    fn add(&mut self, now: Instant, window: Duration) {
        self.roll(now, window);
        self.current = self.current.saturating_add(1);
    }

    fn refund(&mut self) {
        self.current = self.current.saturating_sub(1);
    }
}

/// A map of at most `capacity` entries that forgets the oldest inserted
/// first: a flood of new emails or addresses costs a fixed amount of
/// memory and pushes out stale entries, never the server.
struct Bounded<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Default> Bounded<K, V> {
    fn new(capacity: usize) -> Bounded<K, V> {
        Bounded { map: HashMap::new(), order: VecDeque::new(), capacity: capacity.max(1) }
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    fn get_or_insert(&mut self, key: K) -> &mut V {
        if !self.map.contains_key(&key) {
            while self.map.len() >= self.capacity {
                let Some(oldest) = self.order.pop_front() else { break };
                self.map.remove(&oldest);
            }
            // Removed keys leave stale places in the order; rebuild it when
            // they outnumber the live ones, so it stays bounded too.
            if self.order.len() >= self.capacity * 2 {
                self.order.retain(|k| self.map.contains_key(k));
            }
            self.order.push_back(key.clone());
        }
        self.map.entry(key).or_default()
    }

    fn remove(&mut self, key: &K) {
        self.map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn limiter() -> SignInLimiter {
        SignInLimiter::new(Limits { per_pair: 3, per_address: 5, per_email: 8, ..Limits::default() })
    }

    #[test]
    fn a_pair_is_refused_at_its_limit_and_forgiven_after_the_window() {
        let l = limiter();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(l.begin_at("a@x", ip("10.0.0.1"), now).is_ok());
        }
        assert_eq!(l.begin_at("a@x", ip("10.0.0.1"), now).unwrap_err(), Refused::Address);
        // Another address, or the same address for another email, still may.
        assert!(l.begin_at("a@x", ip("10.0.0.2"), now).is_ok());
        assert!(l.begin_at("b@x", ip("10.0.0.1"), now).is_ok());
        let later = now + l.limits.window * 2;
        assert!(l.begin_at("a@x", ip("10.0.0.1"), later).is_ok());
    }

    #[test]
    fn one_address_cannot_try_email_after_email() {
        let l = limiter();
        let now = Instant::now();
        for i in 0..5 {
            assert!(l.begin_at(&format!("u{i}@x"), ip("10.0.0.9"), now).is_ok());
        }
        assert_eq!(l.begin_at("fresh@x", ip("10.0.0.9"), now).unwrap_err(), Refused::Address);
    }

    #[test]
    fn a_distributed_guess_slows_the_email_but_does_not_lock_it() {
        let l = limiter();
        let now = Instant::now();
        // Eight addresses, one guess each: the email's ceiling.
        for i in 0..8 {
            let a = l.begin_at("victim@x", ip(&format!("10.1.0.{i}")), now).unwrap();
            assert_eq!(a.delay, Duration::ZERO);
        }
        // Past it, attempts from fresh addresses are spaced a second apart.
        let delays: Vec<Duration> =
            (0..5).map(|i| l.begin_at("victim@x", ip(&format!("10.2.0.{i}")), now).unwrap().delay).collect();
        assert_eq!(delays, (0..5).map(Duration::from_secs).collect::<Vec<_>>());
        // A full queue refuses for now, and only that email.
        assert!(l.begin_at("victim@x", ip("10.2.0.9"), now).is_ok(), "5 s wait is still allowed");
        assert_eq!(l.begin_at("victim@x", ip("10.3.0.1"), now).unwrap_err(), Refused::Busy);
        assert_eq!(l.begin_at("other@x", ip("10.3.0.1"), now).unwrap().delay, Duration::ZERO);
        // Once the queue drains, the person's fresh address gets its turn.
        let soon = now + Duration::from_secs(6);
        assert_eq!(l.begin_at("victim@x", ip("192.0.2.7"), soon).unwrap().delay, Duration::ZERO);
    }

    #[test]
    fn an_address_that_signed_in_before_skips_the_queue() {
        let l = limiter();
        let now = Instant::now();
        l.succeeded(l.begin_at("victim@x", ip("192.0.2.7"), now).unwrap());
        for i in 0..20 {
            let _ = l.begin_at("victim@x", ip(&format!("10.1.0.{i}")), now);
        }
        assert_eq!(l.begin_at("victim@x", ip("10.4.0.1"), now).unwrap_err(), Refused::Busy);
        assert_eq!(l.begin_at("victim@x", ip("192.0.2.7"), now).unwrap().delay, Duration::ZERO);
    }

    #[test]
    fn a_success_is_not_a_failure() {
        let l = limiter();
        for _ in 0..10 {
            l.succeeded(l.begin("a@x", ip("10.0.0.1")).unwrap());
        }
        assert!(l.begin("a@x", ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn parallel_guesses_cannot_exceed_the_limit() {
        let l = std::sync::Arc::new(limiter());
        let passed = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..32 {
                s.spawn(|| {
                    if l.begin("a@x", ip("10.0.0.1")).is_ok() {
                        passed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(passed.into_inner(), 3);
    }

    #[test]
    fn memory_is_bounded_under_a_flood_of_new_keys() {
        let l = SignInLimiter::new(Limits { capacity: 100, ..Limits::default() });
        for i in 0..10_000u32 {
            let address = IpAddr::from(i.to_be_bytes());
            let _ = l.begin(&format!("user{i}@x"), address);
        }
        assert!(l.len() <= 300, "{}", l.len());
        // The newest entries are the ones kept.
        let newest = IpAddr::from(9_999u32.to_be_bytes());
        for _ in 0..4 {
            let _ = l.begin("user9999@x", newest);
        }
        assert_eq!(l.begin("user9999@x", newest).unwrap_err(), Refused::Address);
    }

    #[test]
    fn the_sliding_window_weighs_the_previous_window() {
        let w = Duration::from_secs(100);
        let t = Instant::now();
        let mut c = Counter::default();
        for _ in 0..10 {
            c.add(t, w);
        }
        assert_eq!(c.estimate(t, w), 10.0);
        // Half way into the next window, half the previous one still counts.
        assert!((c.estimate(t + Duration::from_secs(150), w) - 5.0).abs() < 1e-9);
        assert_eq!(c.estimate(t + Duration::from_secs(200), w), 0.0);
    }
}
