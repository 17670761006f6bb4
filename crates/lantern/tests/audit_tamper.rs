//! `lantern audit verify` against someone who edits the database file
//! directly (governance.md rule 4): random logs, then one entry edited,
//! re-hashed, removed, reordered, or cut off the end, with the append-only
//! triggers dropped first — on a SQLite file and on PostgreSQL. Verify must exit non-zero and name the first
//! bad entry; an untouched log verifies.

use lantern_events::Timestamp;
use lantern_governance::AuditRecord;
use lantern_store::Location;
use lantern_store::testing::{TestDatabase, database};
use proptest::prelude::*;
use std::process::Command;

/// An installation whose log is tampered with: a SQLite file in `dir`, or
/// a PostgreSQL database — each test runs on both (the second half is
/// skipped, saying so, without `LANTERN_TEST_POSTGRES`).
struct Installation {
    dir: tempfile::TempDir,
    postgres: Option<TestDatabase>,
}

impl Installation {
    fn both(test: &str) -> Vec<Installation> {
        let sqlite = Installation {
            dir: tempfile::tempdir().unwrap(),
            postgres: None,
        };
        let postgres = database(test).map(|db| Installation {
            dir: tempfile::tempdir().unwrap(),
            postgres: Some(db),
        });
        std::iter::once(sqlite).chain(postgres).collect()
    }

    fn location(&self) -> Location {
        match &self.postgres {
            None => Location::Sqlite(self.dir.path().join("lantern.db")),
            Some(db) => Location::Postgres(db.url.clone()),
        }
    }

    fn verify(&self) -> (bool, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lantern"));
        cmd.current_dir(self.dir.path())
            .env_remove("LANTERN_DB")
            .env_remove("LANTERN_CONFIG");
        if let Some(db) = &self.postgres {
            cmd.args(["--db", &db.url, "--key-file", "lantern.key"]);
        }
        let out = cmd.args(["audit", "verify"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    /// Runs SQL on the database behind Lantern's back; the error, if any.
    fn sql(&self, sql: &str) -> Result<(), String> {
        match &self.postgres {
            None => rusqlite::Connection::open(self.dir.path().join("lantern.db"))
                .unwrap()
                .execute_batch(sql)
                .map_err(|e| e.to_string()),
            Some(db) => postgres::Client::connect(&db.url, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .map_err(|e| format!("{e:?}")),
        }
    }

    /// Entry `seq`'s link to the previous one and its record.
    fn read(&self, seq: u64) -> (String, AuditRecord) {
        let sql = format!(
            "SELECT at, actor, purpose, action, scope, outcome, prev FROM audit_log WHERE seq = {seq}"
        );
        let (at, texts): (i64, Vec<String>) = match &self.postgres {
            None => rusqlite::Connection::open(self.dir.path().join("lantern.db"))
                .unwrap()
                .query_row(&sql, [], |r| {
                    Ok((
                        r.get(0)?,
                        (1..7).map(|i| r.get(i)).collect::<Result<_, _>>()?,
                    ))
                })
                .unwrap(),
            Some(db) => {
                let row = postgres::Client::connect(&db.url, postgres::NoTls)
                    .unwrap()
                    .query_one(&sql, &[])
                    .unwrap();
                (row.get(0), (1..7).map(|i| row.get(i)).collect())
            }
        };
        let [actor, purpose, action, scope, outcome, prev] =
            <[String; 6]>::try_from(texts).unwrap();
        let record = AuditRecord {
            at: Timestamp::from_micros(at),
            actor,
            purpose,
            action,
            scope,
            outcome,
        };
        (prev, record)
    }

    /// A log of `n` entries written through the store, as Lantern writes them.
    fn write_log(&self, n: u64) {
        let mut store = self.location().open().unwrap();
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

    fn apply(&self, at: &Installation) {
        let untrigger = match at.postgres {
            None => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;",
            Some(_) => "DROP TRIGGER audit_log_append_only ON audit_log;",
        };
        at.sql(untrigger).unwrap();
        let sql = match *self {
            Tamper::Edit(k) => format!("UPDATE audit_log SET outcome = '403' WHERE seq = {k}"),
            Tamper::EditAndRehash(k) => {
                let (prev, record) = at.read(k);
                let record = AuditRecord {
                    outcome: "403".into(),
                    ..record
                };
                let hash = lantern_governance::audit::entry_hash(k, &record, &prev);
                format!("UPDATE audit_log SET outcome = '403', hash = '{hash}' WHERE seq = {k}")
            }
            Tamper::Remove(k) => format!("DELETE FROM audit_log WHERE seq = {k}"),
            Tamper::Swap(i, j) => format!(
                "UPDATE audit_log SET seq = -1 WHERE seq = {i};
                 UPDATE audit_log SET seq = {i} WHERE seq = {j};
                 UPDATE audit_log SET seq = {j} WHERE seq = -1;"
            ),
            Tamper::Truncate(k) => {
                format!("DELETE FROM audit_log WHERE seq > (SELECT max(seq) FROM audit_log) - {k}")
            }
        };
        at.sql(&sql).unwrap();
    }
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
        for at in Installation::both("any_tampering_is_found_and_named") {
            at.write_log(n);
            let (intact, text) = at.verify();
            prop_assert!(intact, "{}", text);
            prop_assert!(text.contains(&format!("{n} entries")), "{}", text);

            tamper.apply(&at);
            let (intact, text) = at.verify();
            prop_assert!(!intact, "{:?} went unnoticed: {}", tamper, text);
            let named = format!("broken at entry {}", tamper.first_bad(n));
            prop_assert!(text.contains(&named), "{:?}: expected `{}` in {}", tamper, named, text);
        }
    }
}

#[test]
fn the_store_refuses_edits_and_deletions() {
    for at in Installation::both("the_store_refuses_edits_and_deletions") {
        at.write_log(3);
        for sql in [
            "UPDATE audit_log SET outcome = 'x' WHERE seq = 2",
            "DELETE FROM audit_log WHERE seq = 1",
        ] {
            let refused = at.sql(sql).unwrap_err();
            assert!(refused.contains("append-only"), "{sql}: {refused}");
        }
    }
}
