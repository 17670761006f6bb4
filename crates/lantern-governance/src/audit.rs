//! The audit log's hash chain (governance.md rule 4).
//!
//! Entry n carries `prev` = the SHA-256 of entry n−1 (its fields and its
//! own `prev`), so editing, removing or reordering any entry breaks the
//! chain from there on. The store also keeps the chain's *head* (last
//! sequence number and hash) and, once retention has dropped old entries,
//! the hash of the last one dropped, so that cutting entries off either end
//! is found too.

use lantern_events::Timestamp;
use sha2::{Digest, Sha256};

/// `prev` of the very first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What is recorded: when, which token (its id, or `cli` for the command
/// line), its purpose, the action and the scope, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub at: Timestamp,
    pub actor: String,
    pub purpose: String,
    pub action: String,
    pub scope: String,
    pub outcome: String,
}

/// A record in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub record: AuditRecord,
    pub prev: String,
    pub hash: String,
}

impl AuditEntry {
    /// The entry that follows `prev_seq`/`prev_hash` in the chain.
    pub fn chain(prev_seq: u64, prev_hash: &str, record: AuditRecord) -> AuditEntry {
        let seq = prev_seq + 1;
        let hash = entry_hash(seq, &record, prev_hash);
        AuditEntry {
            seq,
            record,
            prev: prev_hash.to_string(),
            hash,
        }
    }
}

/// SHA-256 over the fields, each length-prefixed so that no two different
/// entries serialise alike.
pub fn entry_hash(seq: u64, r: &AuditRecord, prev: &str) -> String {
    let mut h = Sha256::new();
    h.update(seq.to_be_bytes());
    h.update(r.at.micros().to_be_bytes());
    for field in [&r.actor, &r.purpose, &r.action, &r.scope, &r.outcome, prev] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    lantern_events::hex(&h.finalize())
}

/// SHA-256 of a text, in hex: how a configuration is recorded without
/// recording its secrets.
pub fn fingerprint(text: &str) -> String {
    lantern_events::hex(&Sha256::digest(text.as_bytes()))
}

/// Where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {why}")]
pub struct AuditBreak {
    pub seq: u64,
    pub why: String,
}

/// Checks `entries` (in stored order) against the chain's start — the
/// last dropped entry `(seq, hash)`, or `(0, GENESIS)` — and its recorded
/// head. Names the first entry that does not fit.
pub fn verify(
    entries: &[AuditEntry],
    start: (u64, &str),
    head: Option<(u64, &str)>,
) -> Result<u64, AuditBreak> {
    let (mut seq, mut hash) = (start.0, start.1.to_string());
    let mut count = 0;
    for e in entries {
        if e.seq != seq + 1 {
            let expected = seq + 1;
            let later = entries.iter().any(|x| x.seq == expected);
            // A gap names the first missing entry.
            return Err(if e.seq > expected && !later {
                AuditBreak {
                    seq: seq + 1,
                    why: format!("entries {} to {} are missing", seq + 1, e.seq - 1),
                }
            } else {
                AuditBreak {
                    seq: e.seq,
                    why: format!(
                        "out of order: it comes after entry {seq}, where entry {expected} belongs"
                    ),
                }
            });
        }
        if e.prev != hash {
            return Err(AuditBreak {
                seq: e.seq,
                why: "it does not carry the hash of the entry before it (that entry or this one was edited)".into(),
            });
        }
        let recomputed = entry_hash(e.seq, &e.record, &e.prev);
        if recomputed != e.hash {
            return Err(AuditBreak {
                seq: e.seq,
                why: "its content does not match its hash: it was edited".into(),
            });
        }
        seq = e.seq;
        hash = recomputed;
        count += 1;
    }
    match head {
        Some((h_seq, h_hash)) if h_seq == seq && h_hash != hash => Err(AuditBreak {
            seq,
            why: "the last entry does not match the recorded head: it was replaced".into(),
        }),
        Some((h_seq, _)) if h_seq < seq => Err(AuditBreak {
            seq: h_seq + 1,
            why: format!(
                "the recorded head is entry {h_seq}: the entries after it were added outside Lantern"
            ),
        }),
        Some((h_seq, h_hash)) if h_seq != seq || h_hash != hash => Err(AuditBreak {
            seq: seq + 1,
            why: format!(
                "the log ends at entry {seq} but its head records entry {h_seq}: entries were removed from the end"
            ),
        }),
        None if seq != start.0 => Err(AuditBreak {
            seq,
            why: "the log has entries but no recorded head".into(),
        }),
        _ => Ok(count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: i64) -> AuditRecord {
        AuditRecord {
            at: Timestamp::from_micros(n),
            actor: "abc".into(),
            purpose: "p".into(),
            action: "read".into(),
            scope: format!("service:s{n}"),
            outcome: "allowed".into(),
        }
    }

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let (seq, hash) = out
                .last()
                .map(|e| (e.seq, e.hash.clone()))
                .unwrap_or((0, GENESIS.into()));
            out.push(AuditEntry::chain(seq, &hash, record(i as i64)));
        }
        out
    }

    #[test]
    fn any_edit_removal_or_reordering_is_named() {
        let log = chain(5);
        let head = |l: &[AuditEntry]| (l[4].seq, l[4].hash.clone());
        let (hs, hh) = head(&log);
        assert_eq!(verify(&log, (0, GENESIS), Some((hs, &hh))), Ok(5));

        let mut edited = log.clone();
        edited[2].record.scope = "service:other".into();
        assert_eq!(
            verify(&edited, (0, GENESIS), Some((hs, &hh)))
                .unwrap_err()
                .seq,
            3
        );

        let mut removed = log.clone();
        removed.remove(1);
        assert_eq!(
            verify(&removed, (0, GENESIS), Some((hs, &hh)))
                .unwrap_err()
                .seq,
            2,
            "the first missing entry"
        );

        let mut swapped = log.clone();
        swapped.swap(1, 2);
        assert_eq!(
            verify(&swapped, (0, GENESIS), Some((hs, &hh)))
                .unwrap_err()
                .seq,
            3
        );

        let cut = &log[..4];
        assert_eq!(
            verify(cut, (0, GENESIS), Some((hs, &hh))).unwrap_err().seq,
            5
        );

        // Dropped by retention: the chain starts at the last dropped entry.
        assert_eq!(verify(&log[2..], (2, &log[1].hash), Some((hs, &hh))), Ok(3));
        assert!(verify(&log[3..], (2, &log[1].hash), Some((hs, &hh))).is_err());
    }
}
