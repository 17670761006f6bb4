//! Retention's invariant on random histories (governance.md rule 5):
//! reports over windows that end at or before the horizon are the same
//! before and after the purge, a second run changes nothing, and no id,
//! sha or pseudonym of a purged event is left anywhere in the store — on
//! both stores.

#[path = "../../lantern-engine/tests/common/mod.rs"]
mod common;

use common::{BASE, Rng, history, history_scopes, parse_all};
use lantern_engine::*;
use lantern_events::*;
use lantern_governance::AuditRecord;
use lantern_governance::retention::Horizons;
use lantern_store::{Location, Store};
use std::collections::HashSet;

mod each_store;
use each_store::{each_store, fresh_like};

const DAY: i64 = 86_400_000_000;

fn reports(store: &mut (dyn Store + Send), windows: &[Window], cfg: &EngineConfig) -> Vec<String> {
    let mut out = Vec::new();
    for w in windows {
        for scope in history_scopes() {
            let mut input = store
                .report_input(scope.services().as_ref(), *w, cfg)
                .unwrap();
            // panels.md's findings and AI-assistant days, as the
            // application layer adds them.
            let repos = input.repos_of(scope.services().as_ref());
            input.findings = store.findings(repos.as_ref(), *w).unwrap();
            if let Scope::Team { name, .. } = &scope {
                input.assist_usage = store.assist_usage(name, *w).unwrap();
            }
            let mut report = Ledger::build(&input, cfg).report(&scope, *w);
            // Over whole days, what kept tallies give (issue 23) is the
            // same, before a purge and after.
            let midnight = |t: Timestamp| t.micros().rem_euclid(DAY) == 0;
            if midnight(w.from) && midnight(w.to) {
                let mut kept = store
                    .report_input_kept(
                        scope.services().as_ref(),
                        *w,
                        w.to,
                        &KeptCuts::of(&[*w]),
                        cfg,
                    )
                    .unwrap();
                (kept.findings, kept.assist_usage) =
                    (input.findings.clone(), input.assist_usage.clone());
                let from_kept = Ledger::build(&kept, cfg).report(&scope, *w);
                assert_eq!(from_kept, report, "kept tallies, {scope:?} over {w:?}");
            }
            // Retention keeps a `caused_by_sha` link whose commit it purges
            // as the deployment the sha led to: stated either way, it then
            // counts under by_id. Every figure stays as it was.
            let links = &mut report.data_quality.incident_links;
            (links.by_id, links.by_sha) = (links.by_id + links.by_sha, 0);
            // A team's flow (flow.md), over the items kept.
            let items = store.flow_items(&scope, Some(*w)).unwrap();
            report.flow = flow::in_report(&items, &scope, *w);
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
    // A pseudonym goes when nothing kept still names it.
    let (mut old_people, mut kept_people) = (HashSet::new(), HashSet::new());
    let mut person = |old: bool, author: Option<&Pseudonym>| {
        let people = if old {
            &mut old_people
        } else {
            &mut kept_people
        };
        people.extend(author.map(|a| a.as_stored().to_string()));
    };
    for c in &events.changes {
        let old = c.committed_at < h;
        if old {
            ids.insert(c.id.to_string());
            bytes.push(c.sha.to_string());
        }
        person(old, c.author.as_ref());
    }
    for p in &events.pull_requests {
        let old = p.merged_at.is_some_and(|m| m < h)
            || (p.merged_at.is_none() && p.closed_at.is_some_and(|c| c < h));
        if old {
            ids.insert(p.id.to_string());
        }
        person(old, p.author.as_ref());
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
    for r in &events.pipeline_runs {
        if r.finished_at < h {
            ids.insert(r.id.to_string());
            bytes.push(r.sha.to_string());
        }
    }
    // Work items whose last state is before the horizon lose their ids,
    // their states too; open ones keep theirs.
    for item in &events.work_items {
        let mut states: Vec<&WorkState> = events
            .work_states
            .iter()
            .filter(|s| s.item == item.id)
            .collect();
        states.sort_by(|a, b| (a.at, a.id.as_str()).cmp(&(b.at, b.id.as_str())));
        if states.last().is_some_and(|s| s.at < h) {
            ids.insert(item.id.to_string());
            ids.extend(states.iter().map(|s| s.id.to_string()));
        }
    }
    // Findings fixed, and AI-assistant days, before the horizon lose
    // their ids; open findings keep theirs.
    for f in &events.findings {
        if f.fixed_at.is_some_and(|t| t < h) {
            ids.insert(f.id.to_string());
        }
    }
    for d in &events.assist_usage {
        if d.day < h {
            ids.insert(d.id.to_string());
        }
    }
    bytes.extend(old_people.difference(&kept_people).cloned());
    Purged { ids, bytes }
}

/// Every text value of every table, and list columns split into items;
/// and every byte the store keeps them in (SQLite: the file and its WAL;
/// PostgreSQL: every row, as text).
fn stored(at: &Location) -> (HashSet<String>, Vec<u8>) {
    let mut texts = HashSet::new();
    let mut add = |text: &str| {
        texts.extend(text.split([' ', ',']).map(str::to_string));
        texts.insert(text.to_string());
    };
    match at {
        Location::Sqlite(db) => {
            let conn = rusqlite::Connection::open(db).unwrap();
            let tables: Vec<String> = conn
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for table in tables {
                let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
                let columns = stmt.column_count();
                let mut rows = stmt.query([]).unwrap();
                while let Some(r) = rows.next().unwrap() {
                    for i in 0..columns {
                        if let Ok(Some(text)) = r.get_ref(i).unwrap().as_str_or_null() {
                            add(text);
                        }
                    }
                }
            }
            let mut bytes = std::fs::read(db).unwrap();
            if let Ok(wal) = std::fs::read(db.with_extension("db-wal")) {
                bytes.extend(wal);
            }
            (texts, bytes)
        }
        Location::Postgres(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
            let tables: Vec<String> = c
                .query(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut bytes = Vec::new();
            for table in tables {
                for r in c
                    .query(
                        &format!("SELECT row_to_json(t)::text FROM \"{table}\" t"),
                        &[],
                    )
                    .unwrap()
                {
                    let row: String = r.get(0);
                    bytes.extend(row.as_bytes());
                    let value: serde_json::Value = serde_json::from_str(&row).unwrap();
                    for v in value.as_object().unwrap().values() {
                        if let Some(text) = v.as_str() {
                            add(text);
                        }
                    }
                }
            }
            (texts, bytes)
        }
    }
}

/// SQLite's `change_days`, and what `change_day_bits` packs.
type RepoDays = std::collections::BTreeSet<(String, i64)>;
fn change_days_both_ways(db: &std::path::Path) -> (RepoDays, RepoDays) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let kept = conn
        .prepare("SELECT repo, day FROM change_days")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut packed = RepoDays::new();
    let mut stmt = conn
        .prepare("SELECT repo, block, bits FROM change_day_bits")
        .unwrap();
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let (repo, block, bits): (String, i64, i64) =
            (r.get(0).unwrap(), r.get(1).unwrap(), r.get(2).unwrap());
        for bit in 0..64 {
            if (bits as u64) >> bit & 1 == 1 {
                packed.insert((repo.clone(), block * 64 + bit));
            }
        }
    }
    (kept, packed)
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

const NAME: &str = "purged_history_leaves_reports_before_the_horizon_unchanged_and_nothing_behind";

#[test]
fn purged_history_leaves_reports_before_the_horizon_unchanged_and_nothing_behind() {
    each_store(NAME, |at| {
        let mut purges = 0;
        for seed in 0..60u64 {
            let place = fresh_like(at, NAME);
            purges += purge_one_history(&place.location, seed);
        }
        assert!(purges > 20, "only {purges} histories purged a deployment");
    });
}

/// Whether it purged a deployment.
fn purge_one_history(at: &Location, seed: u64) -> u64 {
    let mut store = at.open().unwrap();
    let events = parse_all(&history(seed));
    for chunk in events.chunks(23) {
        store.write(chunk).unwrap();
    }
    let cfg = EngineConfig::default();
    let mut rng = Rng::new(seed);
    // A midnight in or around the history.
    let h = Timestamp::from_micros(BASE * 1_000_000 + (rng.below(40) as i64 - 5) * DAY);
    let mut windows = vec![Window::new(Timestamp::from_micros(0), h).unwrap()];
    for _ in 0..4 {
        let to = h.micros() - rng.below(20) as i64 * DAY - rng.below(86_400) as i64 * 1_000_000;
        let from = to - 1 - rng.below(30 * 86_400) as i64 * 1_000_000;
        windows
            .push(Window::new(Timestamp::from_micros(from), Timestamp::from_micros(to)).unwrap());
    }
    let day_aligned = Window::new(Timestamp::from_micros(h.micros() - 10 * DAY), h).unwrap();
    windows.push(day_aligned);
    let before = reports(&mut *store, &windows, &cfg);
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
    same(&reports(&mut *store, &windows, &cfg), &before, seed);
    // Suppression counts from what was kept never exceed the truth.
    let after = store.contributors(None, day_aligned, u64::MAX).unwrap();
    assert!(
        after <= contributors_before,
        "seed {seed}: {after} > {contributors_before}"
    );
    // Idempotent.
    let again = store.apply_retention(&cfg, &horizons, record()).unwrap();
    assert!(!again.purged_anything(), "seed {seed}: {again:?}");
    same(&reports(&mut *store, &windows, &cfg), &before, seed);
    // Measurements too, to the same horizon (no report is compared after
    // it): SQLite's packed change days are its change days after writes
    // and after a purge of them.
    let measurements = Horizons {
        raw: h,
        dead_letters: long_ago,
        audit: long_ago,
        aggregates: h,
    };
    store
        .apply_retention(&cfg, &measurements, record())
        .unwrap();
    drop(store);
    if let Location::Sqlite(db) = at {
        let (kept, packed) = change_days_both_ways(db);
        assert_eq!(packed, kept, "seed {seed}");
    }

    let (texts, bytes) = stored(at);
    for id in &purged.ids {
        assert!(!texts.contains(id), "seed {seed}: id {id} is still stored");
    }
    for needle in &purged.bytes {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "seed {seed}: {needle} is still stored"
        );
    }
    assert!(
        run.work_items > 0
            || all.work_items.is_empty()
            || h.micros() < (BASE - 10 * 86_400) * 1_000_000,
        "seed {seed}: {run:?}"
    );
    run.deployments.min(1)
}

/// After a purge both stores give the same figures for every window, also
/// those after the horizon (each treats the horizon as the start of the
/// history that remains), so `lantern migrate` can verify a purged
/// installation by comparing reports.
#[test]
fn both_stores_agree_after_a_purge() {
    let name = "both_stores_agree_after_a_purge";
    if each_store::postgres_place(name).is_none() {
        return;
    }
    let cfg = EngineConfig::default();
    for seed in 0..20u64 {
        let events = parse_all(&history(seed));
        let mut rng = Rng::new(seed);
        let h = Timestamp::from_micros(BASE * 1_000_000 + (rng.below(40) as i64) * DAY);
        let horizons = Horizons {
            raw: h,
            dead_letters: Timestamp::from_micros(0),
            audit: Timestamp::from_micros(0),
            aggregates: Timestamp::from_micros(0),
        };
        let windows: Vec<Window> = [(-20, 20), (0, 30), (-400, 400), (5, 6)]
            .into_iter()
            .map(|(from, to)| {
                let at = |days: i64| Timestamp::from_micros(h.micros() + days * DAY);
                Window::new(at(from), at(to)).unwrap()
            })
            .collect();
        let places = [
            each_store::sqlite_place(),
            each_store::postgres_place(name).unwrap(),
        ];
        let figures: Vec<Vec<String>> = places
            .iter()
            .map(|place| {
                let mut store = place.location.open().unwrap();
                for chunk in events.chunks(23) {
                    store.write(chunk).unwrap();
                }
                store.apply_retention(&cfg, &horizons, record()).unwrap();
                reports(&mut *store, &windows, &cfg)
            })
            .collect();
        same(&figures[1], &figures[0], seed);
    }
}
