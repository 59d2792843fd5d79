//! Who a session cookie belongs to, and their memberships, remembered for a
//! couple of seconds.
//!
//! A page load asks "who is this?" for every server function it calls, and
//! a browser typing in the search box (or a script hammering the API with a
//! cookie) asks it dozens of times a second: two queries each, on the pool
//! that sign-in uses. Remembering the answer briefly turns that into one
//! lookup per person per couple of seconds.
//!
//! What this costs: a session ended by another server process, or a
//! membership changed, is noticed here at most [`TTL`] later. Signing out
//! through this process forgets the session at once. Unknown tokens are
//! never remembered, so a guessed cookie always meets the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::sessions::SessionUser;
use super::users::Membership;

/// How long an answer is trusted.
pub const TTL: Duration = Duration::from_secs(2);
/// Sessions remembered at most; past it, expired ones are dropped, then
/// (if still full) everything.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

struct Entry {
    at: Instant,
    user: SessionUser,
    memberships: Vec<Membership>,
}

impl SessionCache {
    pub fn new() -> SessionCache {
        SessionCache::default()
    }

    /// The session for `token` and its memberships, if looked up less than
    /// [`TTL`] ago.
    pub fn get(&self, token: &str) -> Option<(SessionUser, Vec<Membership>)> {
        let key = key(token);
        let mut entries = self.lock();
        match entries.get(&key) {
            Some(e) if e.at.elapsed() < TTL => Some((e.user.clone(), e.memberships.clone())),
            Some(_) => {
                entries.remove(&key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, token: &str, user: SessionUser, memberships: Vec<Membership>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.at.elapsed() < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key(token), Entry { at: Instant::now(), user, memberships });
    }

    /// Forgets `token` (signed out).
    pub fn forget(&self, token: &str) {
        self.lock().remove(&key(token));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // A poisoned lock only means a holder panicked; the map is whole.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Kept by hash, so the map holds no usable cookie.
fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn user() -> SessionUser {
        SessionUser {
            session_id: Uuid::nil(),
            user_id: Uuid::nil(),
            name: "Ana".into(),
            email: "ana@x".into(),
        }
    }

    #[test]
    fn remembers_briefly_and_forgets_on_sign_out() {
        let cache = SessionCache::new();
        assert!(cache.get("t1").is_none());
        cache.put("t1", user(), Vec::new());
        assert_eq!(cache.get("t1").map(|(u, _)| u.email), Some("ana@x".into()));
        assert!(cache.get("t2").is_none(), "another token is another session");
        cache.forget("t1");
        assert!(cache.get("t1").is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = SessionCache::new();
        for i in 0..MAX_ENTRIES + 10 {
            cache.put(&i.to_string(), user(), Vec::new());
        }
        assert!(cache.lock().len() <= MAX_ENTRIES);
    }
}
