//! The walk down an org's events in seq order: each one's hash recomputed
//! from what is stored, its seq and link checked, and the first failure
//! described as what it looks like (modified, deleted, inserted, moved).

use super::*;

/// What the walk down the events found.
pub(super) struct Walk {
    /// The last seq of the unbroken chain from 1.
    pub(super) verified_through: i64,
    pub(super) fault: Option<ChainFault>,
}

pub(super) async fn walk_chain(
    conn: &mut PgConnection,
    org_id: Uuid,
    head: Option<Head>,
) -> Result<Walk, sqlx::Error> {
    // ORDER BY seq walks audit_events_chain; NULL seqs (rows that were
    // never chained) come last.
    let sql = format!("SELECT {} FROM audit_events WHERE org_id = $1 ORDER BY seq", StoredEvent::COLUMNS);
    let mut rows = sqlx::query_as::<_, StoredEvent>(&sql).bind(org_id).fetch(&mut *conn);
    let mut expected = 1;
    let mut prev = GENESIS;
    let mut buf = Vec::with_capacity(1024);
    let fault = loop {
        let Some(row) = rows.try_next().await? else { break None };
        match step(&row, expected, &prev, head, &mut buf) {
            Step::Linked(hash) => {
                prev = hash;
                expected += 1;
            }
            Step::Broken(fault) => break Some(fault),
            Step::WrittenLater { seq, written_as } => {
                // Swapped, or the events in between removed and the rest
                // renumbered? The next event tells: after a swap it is back
                // in place (or is the swap's other half); after a
                // renumbering it is shifted too.
                let next = rows.try_next().await?;
                let back_in_place = next.as_ref().is_some_and(|n| {
                    n.seq.is_some_and(|s| n.was_written_as(s, &mut buf) || n.was_written_as(seq, &mut buf))
                });
                break Some(if back_in_place && written_as == seq + 1 {
                    ChainFault::new(
                        seq,
                        FaultKind::Reordered,
                        format!("the events at seq {seq} and {written_as} were swapped"),
                    )
                } else if back_in_place {
                    ChainFault::new(
                        seq,
                        FaultKind::Reordered,
                        format!(
                            "the event at seq {seq} was written as seq {written_as}: events were reordered"
                        ),
                    )
                } else {
                    ChainFault::new(
                        seq,
                        FaultKind::Deleted,
                        format!(
                            "the event at seq {seq} was written as seq {written_as}: {} removed and the later \
                             events renumbered",
                            seq_range(seq, written_as - 1, "was", "were")
                        ),
                    )
                });
            }
        }
    };
    drop(rows);
    let verified_through = expected - 1;
    let fault = fault.or_else(|| match head {
        Some(head) if head.seq > verified_through => Some(ChainFault::new(
            verified_through + 1,
            FaultKind::Deleted,
            format!(
                "{} missing: the chain ends at seq {verified_through} but its head is at seq {}",
                seq_range(verified_through + 1, head.seq, "is", "are"),
                head.seq
            ),
        )),
        Some(head) if head.hash != prev => Some(ChainFault::new(
            verified_through.max(1),
            FaultKind::Modified,
            format!(
                "the chain head does not match the event at seq {verified_through}: one of them was replaced"
            ),
        )),
        _ => None,
    });
    Ok(Walk { verified_through, fault })
}

enum Step {
    /// The event is in place; its hash is the next link.
    Linked([u8; 32]),
    Broken(ChainFault),
    /// The event at `seq` is intact but was written as a later seq.
    WrittenLater {
        seq: i64,
        written_as: i64,
    },
}

/// Checks the event read where `expected` should be, after `prev`.
fn step(row: &StoredEvent, expected: i64, prev: &[u8; 32], head: Option<Head>, buf: &mut Vec<u8>) -> Step {
    let broken = |seq, kind, reason: String| Step::Broken(ChainFault::new(seq, kind, reason));
    let Some(seq) = row.seq else {
        return broken(
            expected,
            FaultKind::Inserted,
            format!("event {} has no seq: it was not written through the chain", row.id),
        );
    };
    if seq < expected {
        return broken(seq, FaultKind::Inserted, format!("a second event ({}) claims seq {seq}", row.id));
    }
    if seq > expected {
        return broken(
            expected,
            FaultKind::Deleted,
            format!("{} missing", seq_range(expected, seq - 1, "is", "are")),
        );
    }
    match head {
        None => {
            return broken(
                seq,
                FaultKind::Inserted,
                "the org has events but no chain head: they were not written through the chain".into(),
            );
        }
        Some(head) if seq > head.seq => {
            return broken(
                seq,
                FaultKind::Inserted,
                format!(
                    "seq {seq} is past the chain head (seq {}): it was added without going through the chain",
                    head.seq
                ),
            );
        }
        Some(_) => {}
    }
    let Some((stored_prev, stored_hash)) = row.stored_links() else {
        return broken(seq, FaultKind::Modified, format!("the event at seq {seq} has no valid hash"));
    };
    let intact = match row.canonical(seq).hash(&stored_prev, buf) {
        Ok(hash) => hash == stored_hash,
        Err(err) => {
            return broken(
                seq,
                FaultKind::Modified,
                format!("the event at seq {seq} cannot be hashed: {err}"),
            );
        }
    };
    let linked = stored_prev == *prev;
    let link_target = if seq == 1 { "the chain's start".to_string() } else { format!("seq {}", seq - 1) };
    match (intact, linked) {
        (true, true) => Step::Linked(stored_hash),
        (true, false) => broken(
            seq,
            FaultKind::Inserted,
            format!(
                "the event at seq {seq} does not link to {link_target} (its prev_hash is not that hash): \
                 one of them was inserted or replaced"
            ),
        ),
        (false, true) => broken(
            seq,
            FaultKind::Modified,
            format!("the event at seq {seq} does not match its hash: a stored field was changed"),
        ),
        (false, false) => match find_written_seq(row, seq, buf) {
            // Pushed back: whatever now sits between where it was written
            // and where it is was put there later.
            Some(written_as) if written_as < seq => broken(
                written_as,
                FaultKind::Inserted,
                format!(
                    "{} inserted: the event now at seq {seq} was written as seq {written_as}",
                    seq_range(written_as, seq - 1, "was", "were")
                ),
            ),
            Some(written_as) => Step::WrittenLater { seq, written_as },
            None => broken(
                seq,
                FaultKind::Modified,
                format!(
                    "the event at seq {seq} matches neither its hash nor its place in the chain: \
                     it was changed or replaced"
                ),
            ),
        },
    }
}

/// The seq near `seq` that `row` was written as, if it is intact and was
/// merely moved. Nearest first.
fn find_written_seq(row: &StoredEvent, seq: i64, buf: &mut Vec<u8>) -> Option<i64> {
    (1..=MOVED_SEARCH_WINDOW)
        .flat_map(|d| [seq + d, seq - d])
        .filter(|&s| s >= 1)
        .find(|&s| row.was_written_as(s, buf))
}

fn seq_range(from: i64, to: i64, one: &str, many: &str) -> String {
    if from == to { format!("seq {from} {one}") } else { format!("seq {from} to {to} {many}") }
}
