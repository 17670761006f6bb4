//! `lantern audit verify` against someone who edits the database file
//! directly (governance.md rule 4): random logs, then one entry edited,
//! re-hashed, removed, reordered, or cut off the end, with the append-only
//! triggers dropped first. Verify must exit non-zero and name the first
//! bad entry; an untouched log verifies.

use lantern_events::Timestamp;
use lantern_governance::AuditRecord;
use lantern_store::{GovernanceStore, SqliteStore};
use proptest::prelude::*;
use rusqlite::Connection;
use std::path::Path;
use std::process::Command;

fn verify(dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .current_dir(dir)
        .env_remove("LANTERN_DB")
        .env_remove("LANTERN_CONFIG")
        .args(["audit", "verify"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// A log of `n` entries written through the store, as Lantern writes them.
fn write_log(db: &Path, n: u64) {
    let mut store = SqliteStore::open(db).unwrap();
    for i in 0..n {
        store
            .audit(AuditRecord {
                at: Timestamp::from_micros(1_700_000_000_000_000 + i as i64 * 1_000_000),
                actor: format!("grant{}", i % 3),
                purpose: "quarterly review".into(),
                action: format!("read /api/v1/services/s{i}/deployments"),
                scope: format!("service:s{i}"),
                outcome: "200".into(),
            })
            .unwrap();
    }
}

#[derive(Debug, Clone)]
enum Tamper {
    /// Change an entry's outcome, leaving its hash.
    Edit(u64),
    /// Change an entry and recompute its own hash, as a careful forger
    /// would: the next entry's link gives it away.
    EditAndRehash(u64),
    Remove(u64),
    /// Swap the contents of two entries, numbers kept.
    Swap(u64, u64),
    /// Remove the last `k` entries.
    Truncate(u64),
}

impl Tamper {
    /// The entry `verify` must name.
    fn first_bad(&self, n: u64) -> u64 {
        match *self {
            Tamper::Edit(k) => k,
            // The next entry's link, or for the last the recorded head.
            Tamper::EditAndRehash(k) => (k + 1).min(n),
            Tamper::Remove(k) => k,
            Tamper::Swap(i, j) => i.min(j),
            Tamper::Truncate(k) => n - k + 1,
        }
    }

    fn apply(&self, db: &Path) {
        let conn = Connection::open(db).unwrap();
        conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
            .unwrap();
        match *self {
            Tamper::Edit(k) => {
                conn.execute("UPDATE audit_log SET outcome = '403' WHERE seq = ?1", [k])
                    .unwrap();
            }
            Tamper::EditAndRehash(k) => {
                let (prev, record) = read(&conn, k);
                let record = AuditRecord {
                    outcome: "403".into(),
                    ..record
                };
                let hash = lantern_governance::audit::entry_hash(k, &record, &prev);
                conn.execute(
                    "UPDATE audit_log SET outcome = '403', hash = ?2 WHERE seq = ?1",
                    rusqlite::params![k, hash],
                )
                .unwrap();
            }
            Tamper::Remove(k) => {
                conn.execute("DELETE FROM audit_log WHERE seq = ?1", [k])
                    .unwrap();
            }
            Tamper::Swap(i, j) => {
                conn.execute_batch(&format!(
                    "UPDATE audit_log SET seq = -1 WHERE seq = {i};
                     UPDATE audit_log SET seq = {i} WHERE seq = {j};
                     UPDATE audit_log SET seq = {j} WHERE seq = -1;"
                ))
                .unwrap();
            }
            Tamper::Truncate(k) => {
                conn.execute(
                    "DELETE FROM audit_log WHERE seq > (SELECT max(seq) FROM audit_log) - ?1",
                    [k],
                )
                .unwrap();
            }
        }
    }
}

fn read(conn: &Connection, seq: u64) -> (String, AuditRecord) {
    conn.query_row(
        "SELECT at, actor, purpose, action, scope, outcome, prev FROM audit_log WHERE seq = ?1",
        [seq],
        |r| {
            Ok((
                r.get(6)?,
                AuditRecord {
                    at: Timestamp::from_micros(r.get(0)?),
                    actor: r.get(1)?,
                    purpose: r.get(2)?,
                    action: r.get(3)?,
                    scope: r.get(4)?,
                    outcome: r.get(5)?,
                },
            ))
        },
    )
    .unwrap()
}

fn tamper(n: u64) -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (1..=n).prop_map(Tamper::Edit),
        (1..=n).prop_map(Tamper::EditAndRehash),
        (1..=n).prop_map(Tamper::Remove),
        (1..=n, 1..=n)
            .prop_filter("two entries", |(i, j)| i != j)
            .prop_map(|(i, j)| Tamper::Swap(i, j)),
        (1..=n).prop_map(Tamper::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_tampering_is_found_and_named(
        (n, tamper) in (2u64..30).prop_flat_map(|n| (Just(n), tamper(n)))
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("lantern.db");
        write_log(&db, n);
        let (intact, text) = verify(dir.path());
        prop_assert!(intact, "{}", text);
        prop_assert!(text.contains(&format!("{n} entries")), "{}", text);

        tamper.apply(&db);
        let (intact, text) = verify(dir.path());
        prop_assert!(!intact, "{:?} went unnoticed: {}", tamper, text);
        let named = format!("broken at entry {}", tamper.first_bad(n));
        prop_assert!(text.contains(&named), "{:?}: expected `{}` in {}", tamper, named, text);
    }
}

#[test]
fn the_store_refuses_edits_and_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lantern.db");
    write_log(&db, 3);
    let conn = Connection::open(&db).unwrap();
    let edit = conn.execute("UPDATE audit_log SET outcome = 'x' WHERE seq = 2", []);
    assert!(edit.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM audit_log WHERE seq = 1", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}
