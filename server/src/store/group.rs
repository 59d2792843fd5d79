//! Group commit: concurrent ingestion requests of one org share one
//! transaction and one commit.
//!
//! Every write of an org takes its chain-head lock, so an org's requests are
//! serialised anyway; alone, each also pays a commit (a WAL flush, ~3 ms on
//! a small disk), which caps an org at a few hundred single events a
//! second. Here the first request of an org to arrive becomes the org's
//! writer; whoever arrives while it writes queues up, and the writer takes
//! the whole queue as its next group: one transaction, the events linked
//! into the chain in arrival order, one commit, then every request of the
//! group is answered. Nothing is answered before its commit returns.
//!
//! A request that cannot be stored (an external id already there, an
//! Idempotency-Key another request holds) must not fail the others. The
//! group is tried in one go first; if anything in it fails, it is rolled
//! back and written again request by request, each behind a savepoint, so
//! exactly the failing requests fail, each with its own error.
//!
//! The queue is this process's; several server processes each group their
//! own requests, and the head lock orders them in the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{PreparedEvent, claim_idempotency_key, insert_prepared_in};

/// Most events one group writes; a larger request is a group of its own.
pub const MAX_GROUP_EVENTS: usize = 1_000;
/// Most requests queued for one org; past it, a request is refused at once
/// (the org is sending faster than its log can be written).
pub const MAX_QUEUED_PER_ORG: usize = 4_096;

/// A request's claim on an Idempotency-Key, recorded with its events.
pub struct KeyClaim {
    pub key: String,
    pub request_hash: [u8; 32],
    pub status: u16,
    pub response: Value,
}

/// What became of a request.
#[derive(Debug)]
pub enum Written {
    /// Its events are committed.
    Stored,
    /// Another request holds its Idempotency-Key (committed before this
    /// one, or earlier in the same group): nothing of it was written.
    KeyTaken,
}

#[derive(Debug)]
pub enum WriteError {
    /// Nothing was written: no transaction could be begun, or the org's
    /// queue is full.
    NotStarted(sqlx::Error),
    /// The request's own writes failed; nothing of it was written.
    Refused(sqlx::Error),
    /// The commit did not answer: the events may or may not be stored.
    Commit(sqlx::Error),
}

struct Pending {
    events: Arc<[PreparedEvent]>,
    claim: Option<KeyClaim>,
    reply: oneshot::Sender<Result<Written, WriteError>>,
}

#[derive(Default)]
struct OrgQueue {
    waiting: Vec<Pending>,
    /// Whether a writer task is running for the org.
    writing: bool,
}

/// The process's group committer. Cheap to clone.
#[derive(Clone)]
pub struct GroupWriter {
    pool: PgPool,
    orgs: Arc<Mutex<HashMap<Uuid, OrgQueue>>>,
}

impl GroupWriter {
    pub fn new(pool: PgPool) -> GroupWriter {
        GroupWriter { pool, orgs: Arc::default() }
    }

    /// Stores `events` of `org_id` (prepared by the caller, see
    /// [`super::prepare`], so the group's writer only hashes and inserts)
    /// with `claim`, and only if the key is free, in the org's next group,
    /// and answers once that group's commit has returned. The write goes on if the caller stops waiting, so a
    /// request is stored whole or not at all, never half.
    pub async fn write(
        &self,
        org_id: Uuid,
        events: Arc<[PreparedEvent]>,
        claim: Option<KeyClaim>,
    ) -> Result<Written, WriteError> {
        let (reply, answer) = oneshot::channel();
        let start_writer = {
            let mut orgs = lock(&self.orgs);
            let queue = orgs.entry(org_id).or_default();
            if queue.waiting.len() >= MAX_QUEUED_PER_ORG {
                return Err(WriteError::NotStarted(sqlx::Error::PoolTimedOut));
            }
            queue.waiting.push(Pending { events, claim, reply });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            tokio::spawn(self.clone().drain(org_id));
        }
        answer.await.unwrap_or_else(|_| {
            Err(WriteError::Commit(sqlx::Error::Protocol("the writer stopped before answering".into())))
        })
    }

    /// Writes the org's queue group by group until it is empty.
    async fn drain(self, org_id: Uuid) {
        // Should this task end early (a panic), the org must not be left
        // with a queue nobody writes: its requests are then answered with
        // an unconfirmed outcome (which the handler resolves by looking),
        // and the next request starts a new writer.
        let mut release = Release { orgs: self.orgs.clone(), org_id, armed: true };
        loop {
            let group = {
                let mut orgs = lock(&self.orgs);
                let Some(queue) = orgs.get_mut(&org_id) else { return };
                let group = take_group(&mut queue.waiting);
                if group.is_empty() {
                    // Under the same lock that found it empty: a request
                    // arriving now finds no writer and starts one.
                    orgs.remove(&org_id);
                    release.armed = false;
                    return;
                }
                group
            };
            write_group(&self.pool, org_id, group).await;
        }
    }
}

/// Removes an org's queue (and with it the flag that a writer runs) if its
/// writer ends before emptying it.
struct Release {
    orgs: Arc<Mutex<HashMap<Uuid, OrgQueue>>>,
    org_id: Uuid,
    armed: bool,
}

impl Drop for Release {
    fn drop(&mut self) {
        if self.armed {
            lock(&self.orgs).remove(&self.org_id);
        }
    }
}

/// The queues; a panic elsewhere while holding the lock leaves them usable
/// (every change under the lock is a single push, drain or remove).
fn lock(orgs: &Mutex<HashMap<Uuid, OrgQueue>>) -> std::sync::MutexGuard<'_, HashMap<Uuid, OrgQueue>> {
    orgs.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The oldest requests whose events fit in [`MAX_GROUP_EVENTS`] (at least
/// one request, whatever its size).
fn take_group(waiting: &mut Vec<Pending>) -> Vec<Pending> {
    let mut events = 0;
    let mut take = 0;
    for p in waiting.iter() {
        if take > 0 && events + p.events.len() > MAX_GROUP_EVENTS {
            break;
        }
        events += p.events.len();
        take += 1;
    }
    waiting.drain(..take).collect()
}

async fn write_group(pool: &PgPool, org_id: Uuid, group: Vec<Pending>) {
    // A group of several requests is written in one go behind a savepoint
    // (see `in_one_go`), taken with the transaction's first round trip.
    let then = if group.len() > 1 { "SAVEPOINT grouped" } else { "" };
    let mut tx = match super::tenant::begin_for_org_then(pool, org_id, then).await {
        Ok(tx) => tx,
        Err(err) => return not_started(group, &err),
    };
    let outcomes = match group.as_slice() {
        [one] => vec![write_one(&mut tx, org_id, one).await.map_err(WriteError::Refused)],
        _ => match in_one_go(&mut tx, org_id, &group).await {
            Ok(true) => group.iter().map(|_| Ok(Written::Stored)).collect(),
            Ok(false) => one_by_one(&mut tx, org_id, &group).await,
            Err(err) => return not_started(group, &err),
        },
    };
    if !outcomes.iter().any(|o| matches!(o, Ok(Written::Stored))) {
        // Nothing to commit; a rollback that fails changes nothing either.
        let _ = tx.rollback().await;
        return answer(group, outcomes);
    }
    match tx.commit().await {
        Ok(()) => answer(group, outcomes),
        Err(err) => {
            // Requests refused on their own were written nowhere and say
            // so; the rest may or may not be stored.
            let message = err.to_string();
            let outcomes = outcomes
                .into_iter()
                .map(|o| match o {
                    Ok(Written::Stored) => Err(WriteError::Commit(sqlx::Error::Protocol(message.clone()))),
                    other => other,
                })
                .collect();
            answer(group, outcomes)
        }
    }
}

/// The fast path: every claim and every event of the group, in arrival
/// order, with one insert statement, behind the savepoint `grouped` (taken
/// when the transaction began; left to the commit to release). False (and
/// rolled back to the savepoint) if anything in it failed.
async fn in_one_go(conn: &mut PgConnection, org_id: Uuid, group: &[Pending]) -> Result<bool, sqlx::Error> {
    let written = async {
        for p in group {
            if let Some(claim) = &p.claim
                && !claim_key(conn, org_id, claim).await?
            {
                return Ok(false);
            }
        }
        let events: Vec<&PreparedEvent> = group.iter().flat_map(|p| p.events.iter()).collect();
        insert_prepared_in(conn, &events).await?;
        Ok::<_, sqlx::Error>(true)
    }
    .await;
    if matches!(written, Ok(true)) {
        return Ok(true);
    }
    sqlx::query("ROLLBACK TO SAVEPOINT grouped").execute(&mut *conn).await?;
    Ok(false)
}

/// Each request behind its own savepoint: a failing one is rolled back
/// alone, and the chain goes on from the last request that was written.
async fn one_by_one(
    conn: &mut PgConnection,
    org_id: Uuid,
    group: &[Pending],
) -> Vec<Result<Written, WriteError>> {
    let mut outcomes = Vec::with_capacity(group.len());
    for p in group {
        let outcome = async {
            sqlx::query("SAVEPOINT request").execute(&mut *conn).await?;
            let written = write_one(conn, org_id, p).await;
            let end = match written {
                Ok(Written::Stored) => "RELEASE SAVEPOINT request",
                _ => "ROLLBACK TO SAVEPOINT request",
            };
            sqlx::query(end).execute(&mut *conn).await?;
            written
        }
        .await;
        outcomes.push(outcome.map_err(WriteError::Refused));
    }
    outcomes
}

/// One request's claim and events.
async fn write_one(conn: &mut PgConnection, org_id: Uuid, p: &Pending) -> Result<Written, sqlx::Error> {
    if let Some(claim) = &p.claim
        && !claim_key(conn, org_id, claim).await?
    {
        return Ok(Written::KeyTaken);
    }
    insert_prepared_in(conn, &p.events.iter().collect::<Vec<_>>()).await?;
    Ok(Written::Stored)
}

async fn claim_key(conn: &mut PgConnection, org_id: Uuid, claim: &KeyClaim) -> Result<bool, sqlx::Error> {
    claim_idempotency_key(conn, org_id, &claim.key, &claim.request_hash, claim.status, &claim.response).await
}

fn answer(group: Vec<Pending>, outcomes: Vec<Result<Written, WriteError>>) {
    for (p, outcome) in group.into_iter().zip(outcomes) {
        // A requester that stopped waiting is answered by nobody.
        let _ = p.reply.send(outcome);
    }
}

fn not_started(group: Vec<Pending>, err: &sqlx::Error) {
    tracing::warn!(error = %err, requests = group.len(), "a write group could not be started");
    for p in group {
        let _ = p.reply.send(Err(WriteError::NotStarted(sqlx::Error::Protocol(err.to_string()))));
    }
}
