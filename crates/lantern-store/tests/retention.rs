//! Retention's invariant on random histories (governance.md rule 5):
//! reports over windows that end at or before the horizon are the same
//! before and after the purge, a second run changes nothing, and no id,
//! sha or pseudonym of a purged event is left anywhere in the file.

#[path = "../../lantern-engine/tests/common/mod.rs"]
mod common;

use common::{BASE, Rng, history, history_scopes, parse_all};
use lantern_engine::*;
use lantern_events::*;
use lantern_governance::AuditRecord;
use lantern_governance::retention::Horizons;
use lantern_store::{GovernanceStore, SqliteStore, Store};
use std::collections::HashSet;

const DAY: i64 = 86_400_000_000;

fn reports(store: &mut SqliteStore, windows: &[Window], cfg: &EngineConfig) -> Vec<String> {
    let mut out = Vec::new();
    for w in windows {
        for scope in history_scopes() {
            let input = store
                .report_input(scope.services().as_ref(), *w, cfg)
                .unwrap();
            let report = Ledger::build(&input, cfg).report(&scope, *w);
            out.push(serde_json::to_string(&report).unwrap());
        }
    }
    out
}

fn record() -> AuditRecord {
    AuditRecord {
        at: Timestamp::from_micros(BASE * 1_000_000 + 400 * DAY),
        actor: "test".into(),
        purpose: "retention test".into(),
        action: "retention.run".into(),
        scope: "-".into(),
        outcome: String::new(),
    }
}

/// What a purge at `h` must remove: ids (compared as whole values) and
/// shas and pseudonyms (searched for in the file's bytes).
struct Purged {
    ids: HashSet<String>,
    bytes: Vec<String>,
}

fn purged_at(events: &EventSet, h: Timestamp) -> Purged {
    let mut ids = HashSet::new();
    let mut bytes = Vec::new();
    let (mut old_people, mut kept_people) = (HashSet::new(), HashSet::new());
    for c in &events.changes {
        let people = if c.committed_at < h {
            ids.insert(c.id.to_string());
            bytes.push(c.sha.to_string());
            &mut old_people
        } else {
            &mut kept_people
        };
        people.extend(c.author.as_ref().map(|a| a.as_stored().to_string()));
    }
    for p in &events.pull_requests {
        let old = p.merged_at.is_some_and(|m| m < h)
            || (p.merged_at.is_none() && p.closed_at.is_some_and(|c| c < h));
        let people = if old {
            ids.insert(p.id.to_string());
            &mut old_people
        } else {
            &mut kept_people
        };
        people.extend(p.author.as_ref().map(|a| a.as_stored().to_string()));
    }
    for d in &events.deployments {
        if d.finished_at < h {
            ids.insert(d.id.to_string());
        }
    }
    for i in &events.incidents {
        if i.started_at < h && i.resolved_at.is_some_and(|r| r < h) {
            ids.insert(i.id.to_string());
        }
    }
    bytes.extend(old_people.difference(&kept_people).cloned());
    Purged { ids, bytes }
}

/// Every text value of every table, and list columns split into items.
fn stored_texts(db: &std::path::Path) -> HashSet<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = HashSet::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..columns {
                if let Ok(Some(text)) = r.get_ref(i).unwrap().as_str_or_null() {
                    out.extend(text.split([' ', ',']).map(str::to_string));
                    out.insert(text.to_string());
                }
            }
        }
    }
    out
}

/// Equal reports, or the first difference, field by field.
fn same(after: &[String], before: &[String], seed: u64) {
    for (a, b) in after.iter().zip(before) {
        if a != b {
            let (a, b): (serde_json::Value, serde_json::Value) = (
                serde_json::from_str(a).unwrap(),
                serde_json::from_str(b).unwrap(),
            );
            let fields: Vec<String> = b
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, v)| a.get(*k) != Some(*v))
                .map(|(k, v)| format!("{k}: before {v}, after {}", a[k]))
                .collect();
            panic!("seed {seed}, {} {}: {fields:#?}", b["scope"], b["window"]);
        }
    }
    assert_eq!(after.len(), before.len());
}

#[test]
fn purged_history_leaves_reports_before_the_horizon_unchanged_and_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut purges = 0;
    for seed in 0..60u64 {
        let path = dir.path().join(format!("{seed}.db"));
        let mut store = SqliteStore::open(&path).unwrap();
        let events = parse_all(&history(seed));
        for chunk in events.chunks(23) {
            store.write(chunk).unwrap();
        }
        let cfg = EngineConfig::default();
        let mut rng = Rng(seed);
        // A midnight in or around the history.
        let h = Timestamp::from_micros(BASE * 1_000_000 + (rng.below(40) as i64 - 5) * DAY);
        let mut windows = vec![Window::new(Timestamp::from_micros(0), h).unwrap()];
        for _ in 0..4 {
            let to = h.micros() - rng.below(20) as i64 * DAY - rng.below(86_400) as i64 * 1_000_000;
            let from = to - 1 - rng.below(30 * 86_400) as i64 * 1_000_000;
            windows.push(
                Window::new(Timestamp::from_micros(from), Timestamp::from_micros(to)).unwrap(),
            );
        }
        let day_aligned = Window::new(Timestamp::from_micros(h.micros() - 10 * DAY), h).unwrap();
        let before = reports(&mut store, &windows, &cfg);
        let contributors_before = store.contributors(None, day_aligned, u64::MAX).unwrap();
        let all = store.load(None).unwrap();
        let purged = purged_at(&all, h);

        let long_ago = Timestamp::from_micros(0);
        let horizons = Horizons {
            raw: h,
            dead_letters: long_ago,
            audit: long_ago,
            aggregates: long_ago,
        };
        let run = store.apply_retention(&cfg, &horizons, record()).unwrap();
        purges += run.deployments.min(1);
        same(&reports(&mut store, &windows, &cfg), &before, seed);
        // Suppression counts from what was kept never exceed the truth.
        let after = store.contributors(None, day_aligned, u64::MAX).unwrap();
        assert!(
            after <= contributors_before,
            "seed {seed}: {after} > {contributors_before}"
        );
        // Idempotent.
        let again = store.apply_retention(&cfg, &horizons, record()).unwrap();
        assert!(!again.purged_anything(), "seed {seed}: {again:?}");
        same(&reports(&mut store, &windows, &cfg), &before, seed);
        drop(store);

        let texts = stored_texts(&path);
        for id in &purged.ids {
            assert!(!texts.contains(id), "seed {seed}: id {id} is still stored");
        }
        let mut file = std::fs::read(&path).unwrap();
        if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
            file.extend(wal);
        }
        for needle in &purged.bytes {
            assert!(
                !file.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "seed {seed}: {needle} is still in the file"
            );
        }
    }
    assert!(purges > 20, "only {purges} histories purged a deployment");
}
