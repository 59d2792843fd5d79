//! Admission: how much expensive work one org, and one viewer in it, may
//! have running at once in this server process.
//!
//! A statement timeout bounds how long one read runs; this bounds how many
//! run together. Without it, forty searches from one browser tab (or one
//! embed token) hold every connection of the read pool, and every other
//! org's pages wait behind them. Over its share a request is refused at
//! once with 429 and `Retry-After`, before it takes a connection: waiting in
//! a queue would only move the pile-up from the pool into memory.
//!
//! Counts are per process. With several server processes behind a load
//! balancer an org may run a small multiple of its share, which still
//! leaves every other org its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

use super::gate::{Gate, Pass};
use crate::model::Viewer;

/// How long an expensive read waits for a place at the [`Gate`] before it
/// is refused: a little longer than a typical search takes when the server
/// is busy, well inside a browser's patience.
pub const HEAVY_WAIT: Duration = Duration::from_secs(4);

/// The kinds of work that are admitted, each with its own shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    /// Timeline pages, live catch-up reads, record neighbours, the menus.
    Read,
    /// Match counts (bounded, but each may run for its whole timeout).
    Count,
    /// CSV and NDJSON exports: long, streaming, one snapshot each.
    Export,
    /// A whole-chain verification.
    Verify,
    /// An open live-tail stream.
    LiveStream,
}

/// How many of one kind of work may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shares {
    /// In one org, whoever asks.
    pub per_org: usize,
    /// For one viewer (a person, or an embed token's scope) in one org.
    pub per_viewer: usize,
    /// In the whole process.
    pub per_process: usize,
    /// What a refused caller is told to wait, in seconds.
    pub retry_after: u32,
}

impl Work {
    /// The shares used unless the server is told otherwise. The read pool
    /// has 16 connections; one org may use half of them and one viewer a
    /// quarter (a page load asks for a few things at once, and typing in
    /// the search box can leave a stale read running), so one busy org
    /// leaves the others room.
    pub fn default_shares(self) -> Shares {
        match self {
            Work::Read => Shares { per_org: 8, per_viewer: 4, per_process: 64, retry_after: 1 },
            Work::Count => Shares { per_org: 3, per_viewer: 2, per_process: 16, retry_after: 2 },
            Work::Export => Shares { per_org: 2, per_viewer: 1, per_process: 4, retry_after: 10 },
            Work::Verify => Shares { per_org: 1, per_viewer: 1, per_process: 2, retry_after: 10 },
            // Streams hold no connection while idle; what they cost is a
            // task and a socket each.
            Work::LiveStream => Shares { per_org: 500, per_viewer: 8, per_process: 2_000, retry_after: 5 },
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Work::Read => "reads",
            Work::Count => "counts",
            Work::Export => "exports",
            Work::Verify => "verifications",
            Work::LiveStream => "live streams",
        }
    }
}

/// Refused: too much of this work is running already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    pub message: String,
    pub retry_after: u32,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Process(Work),
    Org(Work, Uuid),
    Viewer(Work, Uuid, String),
}

/// The counters, shared by every request of the process (through Leptos
/// context for server functions, and by the export and live routes).
#[derive(Clone, Default)]
pub struct Admission {
    running: Arc<Mutex<HashMap<Key, usize>>>,
    shares: Arc<HashMap<Work, Shares>>,
    gate: Gate,
}

impl Admission {
    pub fn new() -> Admission {
        Admission::default()
    }

    /// With `shares` for `work` instead of its defaults (tests use small
    /// shares to reach them quickly).
    pub fn with_shares(mut self, work: Work, shares: Shares) -> Admission {
        let mut map = (*self.shares).clone();
        map.insert(work, shares);
        self.shares = Arc::new(map);
        self
    }

    /// With `slots` expensive reads at once in this process instead of
    /// half the machine's cores (a database on its own, bigger machine can
    /// run more).
    pub fn with_heavy_slots(mut self, slots: usize) -> Admission {
        self.gate = Gate::new(slots);
        self
    }

    /// The gate expensive reads pass (exports take it batch by batch).
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    pub fn shares(&self, work: Work) -> Shares {
        self.shares.get(&work).copied().unwrap_or_else(|| work.default_shares())
    }

    /// A permit for `work` by `viewer` in `org_id`, held until dropped; or
    /// why not.
    pub fn admit(&self, work: Work, org_id: Uuid, viewer: &Viewer) -> Result<Permit, Busy> {
        self.admit_as(work, org_id, &viewer_key(viewer))
    }

    /// [`Admission::admit`] for a caller named `who` (an API key's id, a
    /// person's email). Check and count happen under one lock, so parallel
    /// requests can never exceed a share.
    pub fn admit_as(&self, work: Work, org_id: Uuid, who: &str) -> Result<Permit, Busy> {
        let shares = self.shares(work);
        let who = who.to_string();
        let keys = [
            (Key::Process(work), shares.per_process, "this server"),
            (Key::Org(work, org_id), shares.per_org, "this organisation"),
            (Key::Viewer(work, org_id, who), shares.per_viewer, "you"),
        ];
        // A poisoned lock only means another request panicked mid-count;
        // the counts themselves are still whole numbers.
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for (key, limit, whose) in &keys {
            if running.get(key).copied().unwrap_or(0) >= *limit {
                return Err(Busy {
                    message: format!(
                        "Too many {} are running for {whose} right now (at most {limit} at once); \
                         try again in {} s.",
                        work.noun(),
                        shares.retry_after
                    ),
                    retry_after: shares.retry_after,
                });
            }
        }
        for (key, ..) in &keys {
            *running.entry(key.clone()).or_insert(0) += 1;
        }
        Ok(Permit { running: self.running.clone(), keys: keys.map(|(k, ..)| k), pass: None })
    }

    /// [`Admission::admit_as`] for an expensive read: within its shares, it
    /// then waits its org's turn at the [`Gate`], up to [`HEAVY_WAIT`].
    pub async fn admit_heavy(&self, work: Work, org_id: Uuid, who: &str) -> Result<Permit, Busy> {
        let mut permit = self.admit_as(work, org_id, who)?;
        match self.gate.enter(org_id, HEAVY_WAIT).await {
            Ok(pass) => {
                permit.pass = Some(pass);
                Ok(permit)
            }
            Err(_) => Err(Busy {
                message: "The server is busy with other searches right now; try again in 2 s.".into(),
                retry_after: 2,
            }),
        }
    }

    /// How many of `work` run in `org_id` now (for tests and metrics).
    pub fn running(&self, work: Work, org_id: Uuid) -> usize {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.get(&Key::Org(work, org_id)).copied().unwrap_or(0)
    }
}

/// Who a viewer is for their share: a person by email; an embedded view by
/// the scope its token grants (every holder of one scope shares one share).
pub fn viewer_key(viewer: &Viewer) -> String {
    if viewer.email.is_empty() {
        format!("embed:{}", viewer.scope.to_query())
    } else {
        viewer.email.to_lowercase()
    }
}

/// Admitted work; dropping it (however the request ends, an aborted one
/// included) gives the share back.
pub struct Permit {
    running: Arc<Mutex<HashMap<Key, usize>>>,
    keys: [Key; 3],
    /// A place at the gate, for expensive reads.
    pass: Option<Pass>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(n) = running.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    running.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OrgRef, Role};

    fn viewer(email: &str) -> Viewer {
        Viewer {
            name: email.into(),
            email: email.into(),
            org: OrgRef { slug: "acme".into(), name: "Acme".into() },
            role: Role::Developer,
            orgs: Vec::new(),
            scope: Default::default(),
        }
    }

    #[test]
    fn shares_per_viewer_org_and_process_are_kept_and_given_back() {
        let shares = Shares { per_org: 3, per_viewer: 2, per_process: 4, retry_after: 7 };
        let admission = Admission::new().with_shares(Work::Read, shares);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let alice = viewer("alice@example.com");
        let bob = viewer("bob@example.com");
        let p1 = admission.admit(Work::Read, a, &alice).unwrap();
        let _p2 = admission.admit(Work::Read, a, &alice).unwrap();
        let refused = admission.admit(Work::Read, a, &alice).err().unwrap();
        assert_eq!(refused.retry_after, 7);
        assert!(refused.message.contains("for you"), "{}", refused.message);
        // Another viewer of the org still gets the org's last share...
        let _p3 = admission.admit(Work::Read, a, &bob).unwrap();
        let refused = admission.admit(Work::Read, a, &bob).err().unwrap();
        assert!(refused.message.contains("organisation"), "{}", refused.message);
        // ...another org gets in until the process is full.
        let _p4 = admission.admit(Work::Read, b, &bob).unwrap();
        assert!(admission.admit(Work::Read, b, &alice).err().unwrap().message.contains("server"));
        // Other kinds of work have their own shares.
        assert!(admission.admit(Work::Count, a, &alice).is_ok());
        drop(p1);
        assert_eq!(admission.running(Work::Read, a), 2);
        assert!(admission.admit(Work::Read, b, &alice).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn expensive_reads_wait_for_the_gate_then_are_refused_whole() {
        let admission = Admission::new().with_heavy_slots(1);
        let org = Uuid::from_u128(1);
        let first = admission.admit_heavy(Work::Count, org, "ana").await.unwrap();
        let started = tokio::time::Instant::now();
        let refused = admission.admit_heavy(Work::Count, org, "bob").await.err().unwrap();
        assert_eq!(started.elapsed(), HEAVY_WAIT, "it waited its turn first");
        assert_eq!(refused.retry_after, 2);
        assert!(refused.message.contains("busy"), "{}", refused.message);
        assert_eq!(admission.running(Work::Count, org), 1, "the refused read gave its share back");
        drop(first);
        assert!(admission.admit_heavy(Work::Count, org, "bob").await.is_ok());
        assert_eq!(admission.gate().taken(), 0);
    }

    #[test]
    fn parallel_requests_never_exceed_a_share() {
        let shares = Shares { per_org: 5, per_viewer: 5, per_process: 5, retry_after: 1 };
        let admission = Admission::new().with_shares(Work::Export, shares);
        let org = Uuid::from_u128(9);
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let (admission, peak) = (admission.clone(), peak.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        if let Ok(_permit) = admission.admit(Work::Export, org, &viewer(&format!("{i}@x"))) {
                            let now = admission.running(Work::Export, org);
                            peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 5);
        assert_eq!(admission.running(Work::Export, org), 0);
    }
}
