//! Reports from kept facts and windowed loads must equal the pure engine's
//! on the whole history, on both stores.

#[path = "../../lantern-engine/tests/common/mod.rs"]
mod common;

use common::{BASE, Rng, history, history_scopes, parse_all};
use lantern_engine::*;
use lantern_events::*;
use lantern_store::{Location, SqliteStore, Store};
use std::collections::BTreeSet;

mod each_store;
use each_store::{each_store, raw_sql};

/// One canonical event from its JSON line.
fn ev(line: &str) -> Event {
    parse_event_json(line, &Pseudonymiser::from_key([1; 32])).unwrap()
}

on_each_store! {
    kept_facts_and_windowed_loads_give_the_pure_engines_reports("kept_facts_and_windowed_loads") => stored_reports_equal_the_engines;
    facts_follow_new_events_and_new_production_names("facts_follow_new_events_and_new_production_names") => facts_follow;
    changes_with_ids_of_their_own_are_found_by_repository("changes_with_ids_of_their_own") => changes_with_ids_of_their_own;
    a_service_heard_of_only_before_the_window_is_silent("silent_before_the_window") => silent_before_the_window;
    a_refresh_changes_the_versions_of_what_it_re_derives("fact_versions") => fact_versions;
    a_pull_request_merged_again_moves_between_windows("merged_again") => merged_again;
    kept_tallies_follow_every_write("kept_tallies_follow") => kept_tallies_follow;
    an_incident_blaming_another_services_deployment_fails_it_in_kept_tallies("kept_blame") => kept_blame;
    kept_tallies_of_many_services_built_on_two_connections_give_the_engines_report("kept_many") => kept_many;
}

/// `history(seed)` with every service, repository and event id made the
/// seed's own, so that several seeds make one larger organisation.
fn renamed_history(seed: u64) -> Vec<String> {
    let own = |v: &mut serde_json::Value| {
        if let Some(text) = v.as_str() {
            *v = serde_json::Value::from(format!("k{seed}-{text}"));
        }
    };
    history(seed)
        .iter()
        .map(|line| {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            for key in [
                "service",
                "repo",
                "id",
                "rollback_of",
                "caused_by",
                "pull_request",
                "rollout",
            ] {
                if let Some(field) = v.get_mut(key) {
                    own(field);
                }
            }
            if let Some(list) = v.get_mut("services").and_then(|s| s.as_array_mut()) {
                list.iter_mut().for_each(own);
            }
            v.to_string()
        })
        .collect()
}

/// More services than one build reads at once, several times over: the
/// tallies are built by two connections taking chunks from one queue,
/// and the organisation's report from them is the engine's.
fn kept_many(at: &Location) {
    let mut store = fresh(at, 9_002);
    let mut events = Vec::new();
    for seed in 0..60 {
        events.extend(parse_all(&renamed_history(seed)));
    }
    let services: BTreeSet<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Deployment(d) => Some(d.service.to_string()),
            _ => None,
        })
        .collect();
    assert!(services.len() > 6 * 25, "{} services", services.len());
    for chunk in events.chunks(500) {
        store.write(chunk).unwrap();
    }
    let all = EventSet::from_events(events);
    let cfg = EngineConfig::default();
    let days = whole_days(BASE - 10 * 86_400, BASE + 40 * 86_400);
    let expected = Report {
        flow: None,
        ..report(&all, &Scope::Org, days, &cfg)
    };
    assert!(
        expected.deployment_frequency.count > 500,
        "{}",
        expected.deployment_frequency.count
    );
    assert!(expected.change_failure_rate.failed > 0);
    assert_eq!(
        kept_report(store.as_mut(), &Scope::Org, days, days.to, &cfg, None),
        [expected],
        "{at}"
    );
}

/// An incident of one service naming another's deployment (`caused_by`)
/// makes that deployment failed, though its own service wrote nothing.
fn kept_blame(at: &Location) {
    let mut store = fresh(at, 9_001);
    let cfg = EngineConfig::default();
    let w = whole_days(BASE - 86_400, BASE + 10 * 86_400);
    store
        .write(&[
            ev(r#"{"type":"deployment","id":"a1","service":"a","environment":"production","finished_at":"2026-03-01T02:00:00Z"}"#),
            ev(r#"{"type":"deployment","id":"b1","service":"b","environment":"production","finished_at":"2026-03-05T02:00:00Z"}"#),
        ])
        .unwrap();
    let before = kept_report(store.as_mut(), &Scope::Org, w, w.to, &cfg, None);
    assert_eq!(before[0].change_failure_rate.failed, 0);
    store
        .write(&[ev(
            r#"{"type":"incident","id":"i1","service":"b","started_at":"2026-03-06T06:00:00Z","resolved_at":"2026-03-06T07:00:00Z","caused_by":"a1"}"#,
        )])
        .unwrap();
    let after = kept_report(store.as_mut(), &Scope::Org, w, w.to, &cfg, None);
    assert_eq!(
        after[0].change_failure_rate.failed, 1,
        "{:?}",
        after[0].change_failure_rate
    );
    assert_eq!(after[0].data_quality.incident_links.by_id, 1);
    assert_eq!(after[0].alert_quality.linked_share, Some(1.0));
}

/// Tallies kept from earlier writes follow every later one: incidents
/// blaming another service's deployments, resolutions, late deployments.
/// Every other report is read through a second handle on the same store
/// (another process, or another replica), which refreshes what the
/// first one's writes made stale.
fn kept_tallies_follow(at: &Location) {
    for seed in 0..16u64 {
        let open = |fresh_store: bool| match at {
            Location::Sqlite(path) => {
                let mut sqlite =
                    SqliteStore::open(&path.with_file_name(format!("follow-{seed}.db"))).unwrap();
                sqlite.set_partial_refresh_share(1.0);
                Box::new(sqlite) as Box<dyn Store + Send>
            }
            Location::Postgres(_) if fresh_store => fresh(at, seed),
            Location::Postgres(_) => at.open().unwrap(),
        };
        let mut store = open(true);
        let mut other = open(false);
        let cfg = EngineConfig::default();
        let mut events = parse_all(&history(seed));
        let mut rng = Rng::new(seed);
        for i in (1..events.len()).rev() {
            events.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let w = whole_days(BASE - 20 * 86_400, BASE + 60 * 86_400);
        let mut written = Vec::new();
        for (i, chunk) in events.chunks(23).enumerate() {
            store.write(chunk).unwrap();
            written.extend_from_slice(chunk);
            let all = EventSet::from_events(written.clone());
            let expected = Report {
                flow: None,
                ..report(&all, &Scope::Org, w, &cfg)
            };
            let reader = match i % 2 {
                0 => store.as_mut(),
                _ => other.as_mut(),
            };
            assert_eq!(
                kept_report(reader, &Scope::Org, w, w.to, &cfg, None),
                [expected],
                "{at}: seed {seed}, after {} events",
                written.len()
            );
        }
    }
}

/// A store at `at` that refreshes partially whatever the share stale.
fn partial_store(at: &Location) -> Box<dyn Store + Send> {
    match at {
        Location::Sqlite(path) => {
            let mut sqlite = SqliteStore::open(path).unwrap();
            sqlite.set_partial_refresh_share(1.0);
            Box::new(sqlite)
        }
        other => other.open().unwrap(),
    }
}

/// A service's version moves when a refresh re-derives its facts and only
/// then; the generation moves with a whole refresh.
fn fact_versions(at: &Location) {
    let mut store = partial_store(at);
    let cfg = EngineConfig::default();
    let deploy = |id: &str, service: &str, day: u32| {
        ev(&format!(
            r#"{{"type":"deployment","id":"{id}","service":"{service}","environment":"production","finished_at":"2026-03-{day:02}T10:00:00Z"}}"#
        ))
    };
    store
        .write(&[deploy("a1", "alpha", 1), deploy("b1", "beta", 1)])
        .unwrap();
    store.refresh_stale_facts(&cfg).unwrap();
    let first = store.fact_versions().unwrap();
    assert!(
        first.generation >= 1,
        "the first refresh is whole: {first:?}"
    );
    store.refresh_stale_facts(&cfg).unwrap();
    assert_eq!(
        store.fact_versions().unwrap(),
        first,
        "nothing stale, nothing moves"
    );
    store.write(&[deploy("a2", "alpha", 2)]).unwrap();
    store.refresh_stale_facts(&cfg).unwrap();
    let second = store.fact_versions().unwrap();
    assert_ne!(second.of("alpha"), first.of("alpha"));
    assert_eq!(
        second.of("beta"),
        first.of("beta"),
        "beta was not re-derived"
    );
    assert!(store.facts_are_fresh(&cfg).unwrap());
    // A report re-derives only what its scope reads: beta stays stale
    // until a report reads it.
    store
        .write(&[deploy("a3", "alpha", 3), deploy("b3", "beta", 3)])
        .unwrap();
    let march = Window::new(
        Timestamp::parse_bound("2026-03-01").unwrap(),
        Timestamp::parse_bound("2026-04-01").unwrap(),
    )
    .unwrap();
    let alpha = BTreeSet::from([Name::parse("alpha").unwrap()]);
    let input = store.report_input(Some(&alpha), march, &cfg).unwrap();
    assert_eq!(input.deployments.len(), 3, "{at}");
    let scoped = store.fact_versions().unwrap();
    assert_ne!(scoped.of("alpha"), second.of("alpha"), "{at}");
    assert_eq!(scoped.of("beta"), second.of("beta"), "{at}: beta untouched");
    assert!(!store.facts_are_fresh(&cfg).unwrap(), "{at}: beta is stale");
    store.report_input(None, march, &cfg).unwrap();
    assert_ne!(store.fact_versions().unwrap().of("beta"), second.of("beta"));
    assert!(store.facts_are_fresh(&cfg).unwrap(), "{at}");
    let second = store.fact_versions().unwrap();
    // Other settings: every fact is derived again.
    let other = EngineConfig {
        production: ["live".to_string()].into_iter().collect(),
        ..EngineConfig::default()
    };
    store.refresh_stale_facts(&other).unwrap();
    let whole = store.fact_versions().unwrap();
    assert!(whole.generation > second.generation, "{whole:?}");
    // What /metrics keeps: replaced per service, read back whole.
    let kept = |service: &str, version: i64, rows: &str| lantern_store::KeptExposition {
        service: service.into(),
        generation: whole.generation,
        version,
        day: 20_000,
        at_least: 3,
        contributors: 2,
        rows: rows.into(),
    };
    store
        .keep_exposition(&[kept("alpha", 1, "{}"), kept("beta", 1, "{}")])
        .unwrap();
    store
        .keep_exposition(&[kept("alpha", 2, r#"{"x":1}"#)])
        .unwrap();
    let mut back = store.kept_exposition().unwrap();
    back.sort_by(|a, b| a.service.cmp(&b.service));
    assert_eq!(
        back,
        [kept("alpha", 2, r#"{"x":1}"#), kept("beta", 1, "{}")]
    );
}

fn stored_report(store: &mut dyn Store, scope: &Scope, w: Window, cfg: &EngineConfig) -> Report {
    let mut input = store
        .report_input(scope.services().as_ref(), w, cfg)
        .unwrap();
    add_panels(store, scope, w, &mut input);
    let mut report = Ledger::build(&input, cfg).report(scope, w);
    // A team report's flow, from the items the window's read keeps.
    let items = store.flow_items(scope, Some(w)).unwrap();
    report.flow = flow::in_report(&items, scope, w);
    report
}

/// panels.md's events, as the application layer adds them to an input.
fn add_panels(store: &dyn Store, scope: &Scope, w: Window, input: &mut ReportInput) {
    let repos = input.repos_of(scope.services().as_ref());
    input.findings = store.findings(repos.as_ref(), w).unwrap();
    if let Scope::Team { name, .. } = scope {
        input.assist_usage = store.assist_usage(name, w).unwrap();
    }
}

/// An empty store for each history: a file of its own, or the same
/// PostgreSQL database emptied.
fn fresh(at: &Location, seed: u64) -> Box<dyn Store + Send> {
    match at {
        Location::Sqlite(path) => Location::Sqlite(path.with_file_name(format!("{seed}.db")))
            .open()
            .unwrap(),
        Location::Postgres(_) => {
            let store = at.open().unwrap();
            raw_sql(
                at,
                "",
                // Kept facts stay (the next writes mark what they touch);
                // kept tallies go, and the next report builds them all.
                "TRUNCATE changes, pull_requests, deployments, incidents, annotations, pipeline_runs, service_repos, change_days, future_events, deliveries, work_items, work_states, findings, assist_usage,
                          deployment_days, linked_incidents, stale_tallies, pull_request_days, stale_pr_tallies;
                 DELETE FROM meta WHERE key = 'tallies';",
            );
            store
        }
    }
}

/// The report of `scope` over whole days from what `report_input_kept`
/// hands over (kept day tallies, for the organisation), `first_end` as
/// given.
fn kept_report(
    store: &mut dyn Store,
    scope: &Scope,
    w: Window,
    first_end: Timestamp,
    cfg: &EngineConfig,
    buckets_of: Option<&[Window]>,
) -> Vec<Report> {
    // Each service's kept days come added up between the edges of the
    // windows asked, as a report asks them.
    let cuts = KeptCuts::of_report(w, buckets_of);
    let mut input = store
        .report_input_kept(scope.services().as_ref(), w, first_end, &cuts, cfg)
        .unwrap();
    // The organisation's report reads kept tallies on both stores (no
    // history here is purged); teams this small read rows.
    assert_eq!(
        input.kept.is_some(),
        *scope == Scope::Org,
        "kept tallies for {scope:?}"
    );
    add_panels(store, scope, w, &mut input);
    let ledger = Ledger::build(&input, cfg);
    match buckets_of {
        None => vec![ledger.report(scope, w)],
        Some(list) => list.iter().map(|b| ledger.report(scope, *b)).collect(),
    }
}

/// A window of whole UTC days around `from..to` (seconds).
fn whole_days(from: i64, to: i64) -> Window {
    let day = 86_400;
    Window::new(
        Timestamp::from_micros(from.div_euclid(day) * day * 1_000_000),
        Timestamp::from_micros((to.div_euclid(day) + 1) * day * 1_000_000),
    )
    .unwrap()
}

fn stored_reports_equal_the_engines(at: &Location) {
    for seed in 0..120u64 {
        let mut store = fresh(at, seed);
        let events = parse_all(&history(seed));
        // Several batches, as an import or webhooks would write them.
        for chunk in events.chunks(17) {
            store.write(chunk).unwrap();
        }
        let all = EventSet::from_events(events);
        let mut cfg = EngineConfig::default();
        if seed % 4 == 1 {
            cfg.link_window_micros = 2 * 3600 * 1_000_000;
        }
        let mut rng = Rng::new(seed);
        for _ in 0..3 {
            let from = BASE + rng.below(30 * 86_400) as i64 - 10 * 86_400;
            let to = from + 1 + rng.below(40 * 86_400) as i64;
            let w = Window::new(
                Timestamp::from_micros(from * 1_000_000),
                Timestamp::from_micros(to * 1_000_000),
            )
            .unwrap();
            // Over whole days, reports may read kept tallies instead.
            let days = whole_days(from, to);
            for scope in history_scopes() {
                let expected = Report {
                    flow: None,
                    ..report(&all, &scope, days, &cfg)
                };
                assert_eq!(
                    kept_report(store.as_mut(), &scope, days, days.to, &cfg, None),
                    [expected],
                    "{at}: seed {seed}, scope {scope:?}, whole days {days:?}"
                );
                if seed % 4 == 2 {
                    let list = buckets(&days, Bucket::Week);
                    let expected: Vec<Report> = (list.iter())
                        .map(|b| Report {
                            flow: None,
                            ..report(&all, &scope, *b, &cfg)
                        })
                        .collect();
                    let first_end = list[0].to;
                    assert_eq!(
                        kept_report(store.as_mut(), &scope, days, first_end, &cfg, Some(&list)),
                        expected,
                        "{at}: seed {seed}, scope {scope:?}, weeks of {days:?}"
                    );
                }
            }
            for scope in history_scopes() {
                let expected = report(&all, &scope, w, &cfg);
                assert_eq!(
                    stored_report(store.as_mut(), &scope, w, &cfg),
                    expected,
                    "{at}: seed {seed}, scope {scope:?}, window {w:?}"
                );
                // Read for the window alone (no look-back before the
                // 90 days its end reads), and for a trend by day (back
                // from the first bucket's end).
                let services = scope.services();
                // (The ledger alone has no flow: that is read apart.)
                let expected = Report {
                    flow: None,
                    ..expected
                };
                let mut alone = store
                    .report_input_ending(services.as_ref(), w, w.to, &cfg)
                    .unwrap();
                add_panels(store.as_ref(), &scope, w, &mut alone);
                assert_eq!(
                    Ledger::build(&alone, &cfg).report(&scope, w),
                    expected,
                    "{at}: seed {seed}, scope {scope:?}, window {w:?} alone"
                );
                if seed % 4 == 0 {
                    let days = buckets(&w, Bucket::Day);
                    let mut input = store
                        .report_input_ending(services.as_ref(), w, days[0].to, &cfg)
                        .unwrap();
                    add_panels(store.as_ref(), &scope, w, &mut input);
                    let ledger = Ledger::build(&input, &cfg);
                    for b in days {
                        assert_eq!(
                            ledger.report(&scope, b),
                            Report {
                                flow: None,
                                ..report(&all, &scope, b, &cfg)
                            },
                            "{at}: seed {seed}, scope {scope:?}, bucket {b:?} of {w:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn partial_refreshes_after_each_batch_give_the_pure_engines_reports() {
    let name = "partial_refreshes_after_each_batch_give_the_pure_engines_reports";
    each_store(name, |at| partial_refreshes(at, name));
}

fn partial_refreshes(at: &Location, name: &str) {
    let mut partial_runs = 0;
    // Every history on a store of its own (PostgreSQL: a database each).
    let seeds = match at {
        Location::Sqlite(_) => 200..260u64,
        Location::Postgres(_) => 200..230u64,
    };
    for seed in seeds.clone() {
        let place = each_store::fresh_like(at, name);
        let mut store = partial_store(&place.location);
        let store = store.as_mut();
        // Work items (flow.md) come last, so that the delivery history's
        // batches are what they were before flow existed.
        let (mut events, work): (Vec<Event>, Vec<Event>) = parse_all(&history(seed))
            .into_iter()
            .partition(|e| !matches!(e, Event::WorkItem(_) | Event::WorkState(_)));
        // Interleave the types so that batches touch a few services each.
        let mut rng = Rng::new(seed);
        for i in (1..events.len()).rev() {
            events.swap(i, rng.below(i as u64 + 1) as usize);
        }
        events.extend(work);
        let cfg = EngineConfig::default();
        let w = Window::new(
            Timestamp::from_micros((BASE - 10 * 86_400) * 1_000_000),
            Timestamp::from_micros((BASE + 40 * 86_400) * 1_000_000),
        )
        .unwrap();
        let mut so_far = Vec::new();
        for chunk in events.chunks(9) {
            store.write(chunk).unwrap();
            so_far.extend(chunk.iter().cloned());
            let all = EventSet::from_events(so_far.clone());
            partial_runs += usize::from(!store.facts_are_fresh(&cfg).unwrap());
            // Narrow scopes first: each refreshes only what it reads, and
            // the organisation's report then refreshes the rest.
            for scope in history_scopes().into_iter().rev() {
                assert_eq!(
                    stored_report(store, &scope, w, &cfg),
                    report(&all, &scope, w, &cfg),
                    "{at}: seed {seed}, after {} events, scope {scope:?}",
                    so_far.len()
                );
            }
        }
    }
    // One full refresh per history (the first), partial ones after.
    let histories = (seeds.end - seeds.start) as usize;
    assert!(
        partial_runs > 6 * histories,
        "{at}: {partial_runs} refreshes"
    );
}

/// A pull request's merge read through its kept facts (PostgreSQL's
/// facts carry it, for a range scan) follows each write of it: opened,
/// then merged in one window, then (re-sent) merged in another.
fn merged_again(at: &Location) {
    let mut store = at.open().unwrap();
    let store = store.as_mut();
    let cfg = EngineConfig::default();
    let window = |from: &str, to: &str| {
        Window::new(
            Timestamp::parse_bound(from).unwrap(),
            Timestamp::parse_bound(to).unwrap(),
        )
        .unwrap()
    };
    let (march, april) = (
        window("2026-03-01", "2026-04-01"),
        window("2026-04-01", "2026-05-01"),
    );
    let merged = |store: &mut dyn Store, w: Window| {
        let pr = stored_report(store, &Scope::Org, w, &cfg).pr_stages;
        (pr.coding.count, pr.deploy.count)
    };
    let pr = |merged: &str| {
        ev(&format!(
            r#"{{"type":"pull_request","id":"r#1","repo":"r","opened_at":"2026-02-27T00:00:00Z","first_commit_at":"2026-02-26T00:00:00Z"{merged}}}"#
        ))
    };
    store.write(&[
        ev(r#"{"type":"change","repo":"r","sha":"aaaaaaa","committed_at":"2026-02-26T00:00:00Z"}"#),
        ev(r#"{"type":"deployment","id":"d1","service":"s","environment":"production","finished_at":"2026-05-02T00:00:00Z","repo":"r","sha":"aaaaaaa"}"#),
        pr(""),
    ]).unwrap();
    assert_eq!(merged(store, march), (0, 0), "{at}: not merged yet");
    store
        .write(&[pr(
            r#","merged_at":"2026-03-10T00:00:00Z","merge_sha":"aaaaaaa""#,
        )])
        .unwrap();
    assert_eq!(merged(store, march), (1, 1), "{at}: merged in March");
    assert_eq!(merged(store, april), (0, 0), "{at}: merged in March");
    store
        .write(&[pr(
            r#","merged_at":"2026-04-10T00:00:00Z","merge_sha":"aaaaaaa""#,
        )])
        .unwrap();
    assert_eq!(merged(store, march), (0, 0), "{at}: merged again in April");
    assert_eq!(merged(store, april), (1, 1), "{at}: merged again in April");
}

fn facts_follow(at: &Location) {
    let mut store = at.open().unwrap();
    let store = store.as_mut();
    let cfg = EngineConfig::default();
    assert!(
        store.facts_are_fresh(&cfg).unwrap(),
        "an empty store has nothing to derive"
    );
    store.write(&[
        ev(r#"{"type":"change","repo":"r","sha":"aaaaaaa","committed_at":"2026-03-01T00:00:00Z"}"#),
        ev(r#"{"type":"change","repo":"r","sha":"bbbbbbb","parents":["aaaaaaa"],"committed_at":"2026-03-01T01:00:00Z"}"#),
        ev(r#"{"type":"deployment","id":"d1","service":"s","environment":"live","finished_at":"2026-03-01T02:00:00Z","repo":"r","sha":"aaaaaaa"}"#),
    ]).unwrap();
    assert!(!store.facts_are_fresh(&cfg).unwrap());
    let w = Window::new(
        Timestamp::parse_bound("2026-03-01").unwrap(),
        Timestamp::parse_bound("2026-03-02").unwrap(),
    )
    .unwrap();
    let s = Scope::Service(Name::parse("s").unwrap());
    assert_eq!(
        stored_report(store, &s, w, &cfg).deployment_frequency.count,
        0
    );
    assert!(store.facts_are_fresh(&cfg).unwrap());

    store.write(&[]).unwrap();
    assert!(
        store.facts_are_fresh(&cfg).unwrap(),
        "an empty write changes nothing"
    );
    store.write(&[ev(r#"{"type":"deployment","id":"d2","service":"s","environment":"live","finished_at":"2026-03-01T03:00:00Z","repo":"r","sha":"bbbbbbb"}"#)]).unwrap();
    assert!(!store.facts_are_fresh(&cfg).unwrap());
    let live = EngineConfig {
        production: vec!["live".into()],
        ..EngineConfig::default()
    };
    let r = stored_report(store, &s, w, &live);
    assert_eq!(r.deployment_frequency.count, 2);
    assert_eq!(r.lead_time.stats.count, 1);
    assert!(store.facts_are_fresh(&live).unwrap());
    assert!(
        !store.facts_are_fresh(&cfg).unwrap(),
        "other production names need other facts"
    );
}

fn changes_with_ids_of_their_own(at: &Location) {
    let mut store = at.open().unwrap();
    let store = store.as_mut();
    let events = vec![
        ev(
            r#"{"type":"change","repo":"acme/a","sha":"aaaaaaa","committed_at":"2026-03-01T00:00:00Z"}"#,
        ),
        // An id that is not `repo@sha`, and one that looks like another repo's.
        ev(
            r#"{"type":"change","id":"custom-1","repo":"acme/a","sha":"bbbbbbb","parents":["aaaaaaa"],"committed_at":"2026-03-01T01:00:00Z"}"#,
        ),
        ev(
            r#"{"type":"change","id":"acme/b@ccccccc","repo":"acme/a","sha":"ccccccc","parents":["bbbbbbb"],"committed_at":"2026-03-01T02:00:00Z"}"#,
        ),
        ev(
            r#"{"type":"change","id":"acme/a@0000000","repo":"acme/a","sha":"ddddddd","parents":["ccccccc"],"committed_at":"2026-03-01T03:00:00Z"}"#,
        ),
        // A neighbouring repository whose name shares the prefix.
        ev(
            r#"{"type":"change","repo":"acme/a0","sha":"eeeeeee","committed_at":"2026-03-01T00:00:00Z"}"#,
        ),
        ev(
            r#"{"type":"deployment","id":"d1","service":"s","environment":"production","finished_at":"2026-03-01T04:00:00Z","repo":"acme/a","sha":"aaaaaaa"}"#,
        ),
        ev(
            r#"{"type":"deployment","id":"d2","service":"s","environment":"production","finished_at":"2026-03-01T05:00:00Z","repo":"acme/a","sha":"ddddddd"}"#,
        ),
    ];
    store.write(&events).unwrap();
    let cfg = EngineConfig::default();
    let w = Window::new(
        Timestamp::parse_bound("2026-03-01").unwrap(),
        Timestamp::parse_bound("2026-03-02").unwrap(),
    )
    .unwrap();
    let scope = Scope::Service(Name::parse("s").unwrap());
    let stored = stored_report(store, &scope, w, &cfg);
    assert_eq!(
        stored.lead_time.stats.count, 3,
        "bbbbbbb, ccccccc and ddddddd"
    );
    assert_eq!(
        stored,
        report(&EventSet::from_events(events), &scope, w, &cfg)
    );
    let loaded = store
        .load(Some(&BTreeSet::from([Name::parse("s").unwrap()])))
        .unwrap();
    assert_eq!(
        loaded.changes.len(),
        4,
        "acme/a's four changes, not acme/a0's"
    );
}

/// hygiene.md F1 over a window that holds none of a service's deployments:
/// the store hands the 90 days before it over by time alone, and a
/// rollout's members count once there too.
fn silent_before_the_window(at: &Location) {
    let mut store = at.open().unwrap();
    let mut lines = Vec::new();
    for day in 1..=20 {
        lines.push(format!(
            r#"{{"type":"deployment","id":"q{day}","service":"quiet","environment":"production","finished_at":"2026-03-{day:02}T10:00:00Z"}}"#
        ));
    }
    // One rollout to three clusters a day for ten days: one deployment a
    // day once merged (median gap one day, not a few minutes).
    for day in 1..=10 {
        for cluster in 0..3 {
            lines.push(format!(
                r#"{{"type":"deployment","id":"r{day}-{cluster}","service":"rolled","environment":"production","finished_at":"2026-03-{day:02}T10:0{cluster}:00Z","rollout":"rel-{day}"}}"#
            ));
        }
    }
    // Deploys into the window: not silent.
    for day in 1..=29 {
        lines.push(format!(
            r#"{{"type":"deployment","id":"b{day}","service":"busy","environment":"production","finished_at":"2026-04-{day:02}T10:00:00Z"}}"#
        ));
    }
    let events: Vec<Event> = lines.iter().map(|l| ev(l)).collect();
    store.write(&events).unwrap();
    let cfg = EngineConfig::default();
    let w = Window::new(
        Timestamp::parse_bound("2026-04-20").unwrap(),
        Timestamp::parse_bound("2026-04-30").unwrap(),
    )
    .unwrap();
    let stored = stored_report(store.as_mut(), &Scope::Org, w, &cfg);
    let silent: Vec<(&str, &str)> = stored
        .data_quality
        .silent_services
        .iter()
        .map(|s| (s.service.as_str(), s.last_deployment.as_str()))
        .collect();
    assert_eq!(
        silent,
        [
            ("quiet", "2026-03-20T10:00:00Z"),
            ("rolled", "2026-03-10T10:02:00Z")
        ],
        "{at}"
    );
    let all = EventSet::from_events(events);
    assert_eq!(stored, report(&all, &Scope::Org, w, &cfg), "{at}");

    // A quarter: its own report looks back over itself alone, where
    // "quiet" never deployed; its first week looks back to March.
    let quarter = Window::new(
        Timestamp::parse_bound("2026-04-20").unwrap(),
        Timestamp::parse_bound("2026-07-20").unwrap(),
    )
    .unwrap();
    let silent = |r: &Report| -> Vec<String> {
        r.data_quality
            .silent_services
            .iter()
            .map(|s| s.service.clone())
            .collect()
    };
    let alone = store
        .report_input_ending(None, quarter, quarter.to, &cfg)
        .unwrap();
    let own = Ledger::build(&alone, &cfg).report(&Scope::Org, quarter);
    assert_eq!(silent(&own), ["busy"], "{at}");
    assert_eq!(own, report(&all, &Scope::Org, quarter, &cfg), "{at}");
    let weeks = buckets(&quarter, Bucket::Week);
    let trend = store
        .report_input_ending(None, quarter, weeks[0].to, &cfg)
        .unwrap();
    let first = Ledger::build(&trend, &cfg).report(&Scope::Org, weeks[0]);
    assert_eq!(silent(&first), ["quiet", "rolled"], "{at}");
    assert_eq!(first, report(&all, &Scope::Org, weeks[0], &cfg), "{at}");
}

on_each_store! {
    a_deployment_without_a_repository_stays_a_pull_requests_first_after_another_service_deploys("loose_first_deploys") => loose_first_deploys;
    a_new_deployment_without_a_repository_becomes_a_pull_requests_first("loose_new_first_deploy") => loose_new_first_deploy;
    a_whole_refresh_in_chunks_keeps_first_deployments_without_a_repository("loose_across_chunks") => loose_across_chunks;
    a_repository_deployed_from_two_chunks_keeps_both_first_deployments_of_many_pull_requests("shared_repo_chunks") => shared_repo_across_chunks;
}

/// A whole refresh copies a chunk's pull-request facts straight into the
/// table it emptied (PostgreSQL, from 2 000 rows). Services of two
/// chunks deploy one repository of more pull requests than that: the
/// second chunk meets the first one's rows and must add its first
/// deployments to them, not lose them or fail.
fn shared_repo_across_chunks(at: &Location) {
    let sha = |i: usize| format!("{:040x}", i + 1);
    let mut lines: Vec<String> = Vec::new();
    for i in 0..2_100 {
        let parents = match i {
            0 => String::new(),
            _ => format!(r#""{}""#, sha(i - 1)),
        };
        let (minute, second) = (i / 60, i % 60);
        lines.push(format!(
            r#"{{"type":"change","repo":"mono","sha":"{}","parents":[{parents}],"committed_at":"2026-03-01T00:{minute:02}:{second:02}Z","pull_request":"mono#{i}"}}"#,
            sha(i)
        ));
        lines.push(format!(
            r#"{{"type":"pull_request","id":"mono#{i}","repo":"mono","opened_at":"2026-03-01T00:{minute:02}:{second:02}Z","merged_at":"2026-03-01T01:{minute:02}:{second:02}Z","merge_sha":"{}"}}"#,
            sha(i)
        ));
    }
    let head = sha(2_099);
    // `a00` sorts first, `zz` last: 30 services between them make two
    // chunks of 25.
    lines.push(format!(
        r#"{{"type":"deployment","id":"a1","service":"a00","environment":"production","finished_at":"2026-03-01T12:00:00Z","repo":"mono","sha":"{head}"}}"#
    ));
    lines.push(format!(
        r#"{{"type":"deployment","id":"z1","service":"zz","environment":"production","finished_at":"2026-03-02T06:00:00Z","repo":"mono","sha":"{head}"}}"#
    ));
    for n in 1..=30 {
        lines.push(format!(
            r#"{{"type":"deployment","id":"b{n}","service":"b{n:02}","environment":"production","finished_at":"2026-03-01T05:00:00Z","repo":"repo{n}","sha":"0000000"}}"#
        ));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let zz = Scope::Service(Name::parse("zz").unwrap());
    let a00 = Scope::Service(Name::parse("a00").unwrap());
    Steps::new(at).write_and_check(&lines, &[&Scope::Org, &zz, &a00], "a whole refresh");
}

/// A store that re-derives only what each report reads, written step by
/// step; after each step, reports of the given scopes (in that order: a
/// scoped refresh first) must equal the pure engine's over everything
/// written so far.
struct Steps {
    store: Box<dyn Store + Send>,
    events: Vec<Event>,
    at: String,
}

impl Steps {
    fn new(at: &Location) -> Steps {
        Steps {
            store: partial_store(at),
            events: Vec::new(),
            at: at.to_string(),
        }
    }

    fn write_and_check(&mut self, lines: &[&str], scopes: &[&Scope], step: &str) {
        let batch: Vec<Event> = lines.iter().map(|l| ev(l)).collect();
        self.store.write(&batch).unwrap();
        self.events.extend(batch);
        let all = EventSet::from_events(self.events.clone());
        let cfg = EngineConfig::default();
        let w = Window::new(
            Timestamp::parse_bound("2026-03-01").unwrap(),
            Timestamp::parse_bound("2026-03-03").unwrap(),
        )
        .unwrap();
        for scope in scopes {
            assert_eq!(
                stored_report(self.store.as_mut(), scope, w, &cfg),
                report(&all, scope, w, &cfg),
                "{}: {scope:?} {step}",
                self.at
            );
        }
    }
}

const MERGED_PR: [&str; 2] = [
    r#"{"type":"change","repo":"r","sha":"aaaaaaa","committed_at":"2026-03-01T00:00:00Z","pull_request":"r#1"}"#,
    r#"{"type":"pull_request","id":"r#1","repo":"r","opened_at":"2026-03-01T00:30:00Z","merged_at":"2026-03-01T01:00:00Z","merge_sha":"aaaaaaa"}"#,
];

/// A deployment that names a sha but no repository deploys that commit of
/// whichever repository holds it (events.md), so it can be a pull
/// request's first deployment. When another service of that repository
/// deploys later, or has an incident, scoped refreshes must still count it.
fn loose_first_deploys(at: &Location) {
    let s = Scope::Service(Name::parse("s").unwrap());
    let mut steps = Steps::new(at);
    steps.write_and_check(
        &[
            MERGED_PR[0],
            MERGED_PR[1],
            r#"{"type":"deployment","id":"loose1","service":"loose","environment":"production","finished_at":"2026-03-01T02:00:00Z","sha":"aaaaaaa"}"#,
            r#"{"type":"deployment","id":"s1","service":"s","environment":"production","finished_at":"2026-03-01T01:30:00Z","repo":"r","sha":"0000000"}"#,
        ],
        &[&Scope::Org],
        "first",
    );
    // `s` deploys the merge later: the first deployment is still `loose`'s.
    steps.write_and_check(
        &[
            r#"{"type":"deployment","id":"s2","service":"s","environment":"production","finished_at":"2026-03-01T05:00:00Z","repo":"r","sha":"aaaaaaa"}"#,
        ],
        &[&s, &Scope::Org],
        "after s deploys",
    );
    // An incident marks only its service stale, not the repository.
    steps.write_and_check(
        &[
            r#"{"type":"incident","id":"i1","service":"s","started_at":"2026-03-01T06:00:00Z","resolved_at":"2026-03-01T07:00:00Z"}"#,
        ],
        &[&s, &Scope::Org],
        "after the incident",
    );
}

/// A new deployment naming a sha but no repository marks only its
/// service stale, yet it can be the first deployment of a pull request of
/// any repository: every report must see it.
fn loose_new_first_deploy(at: &Location) {
    let s = Scope::Service(Name::parse("s").unwrap());
    let mut steps = Steps::new(at);
    steps.write_and_check(
        &[
            MERGED_PR[0],
            MERGED_PR[1],
            r#"{"type":"deployment","id":"s1","service":"s","environment":"production","finished_at":"2026-03-01T05:00:00Z","repo":"r","sha":"aaaaaaa"}"#,
            r#"{"type":"deployment","id":"loose0","service":"loose","environment":"production","finished_at":"2026-02-27T02:00:00Z","sha":"fffffff"}"#,
        ],
        &[&Scope::Org, &s],
        "first",
    );
    // The scope first: its repository's pull request changed too.
    steps.write_and_check(
        &[
            r#"{"type":"deployment","id":"loose1","service":"loose","environment":"production","finished_at":"2026-03-01T02:00:00Z","sha":"aaaaaaa"}"#,
        ],
        &[&s, &Scope::Org],
        "after the deployment without a repository",
    );
}

/// A whole refresh derives a few services at a time. A service deploying
/// without a repository, in another chunk than the service deploying the
/// repository (and a repository nobody deploys), is still a pull
/// request's first deployment.
fn loose_across_chunks(at: &Location) {
    let mut lines: Vec<String> = MERGED_PR.iter().map(|l| l.to_string()).collect();
    lines.extend([
        r#"{"type":"change","repo":"o","sha":"bbbbbbb","committed_at":"2026-03-01T00:00:00Z","pull_request":"o#1"}"#.to_string(),
        r#"{"type":"pull_request","id":"o#1","repo":"o","opened_at":"2026-03-01T00:30:00Z","merged_at":"2026-03-01T01:00:00Z","merge_sha":"bbbbbbb"}"#.to_string(),
        // Sorts after every `aNN`: the last chunk.
        r#"{"type":"deployment","id":"loose1","service":"loose","environment":"production","finished_at":"2026-03-01T02:00:00Z","sha":"aaaaaaa"}"#.to_string(),
        r#"{"type":"deployment","id":"loose2","service":"loose","environment":"production","finished_at":"2026-03-01T03:00:00Z","sha":"bbbbbbb"}"#.to_string(),
        r#"{"type":"deployment","id":"r1","service":"a00","environment":"production","finished_at":"2026-03-01T05:00:00Z","repo":"r","sha":"aaaaaaa"}"#.to_string(),
    ]);
    // More services than one chunk holds, each deploying its own
    // repository at `at`.
    let every_service = |id: &str, at: &str| -> Vec<String> {
        (1..40)
            .map(|n| format!(
                r#"{{"type":"deployment","id":"{id}{n}","service":"a{n:02}","environment":"production","finished_at":"{at}","repo":"repo{n}","sha":"0000000"}}"#
            ))
            .collect()
    };
    lines.extend(every_service("d", "2026-03-02T00:00:00Z"));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut steps = Steps::new(at);
    steps.write_and_check(&lines, &[&Scope::Org], "a whole refresh");
    // Then every service deploys again: a stale closure of more services
    // than one chunk, refreshed in chunks too.
    let mut lines: Vec<String> = vec![
        r#"{"type":"change","repo":"r","sha":"ccccccc","committed_at":"2026-03-02T00:00:00Z","pull_request":"r#2"}"#.to_string(),
        r#"{"type":"pull_request","id":"r#2","repo":"r","opened_at":"2026-03-02T00:30:00Z","merged_at":"2026-03-02T01:00:00Z","merge_sha":"ccccccc"}"#.to_string(),
        r#"{"type":"deployment","id":"loose3","service":"loose","environment":"production","finished_at":"2026-03-02T02:00:00Z","sha":"ccccccc"}"#.to_string(),
        r#"{"type":"deployment","id":"r2","service":"a00","environment":"production","finished_at":"2026-03-02T07:00:00Z","repo":"r","sha":"ccccccc"}"#.to_string(),
    ];
    lines.extend(every_service("e", "2026-03-02T03:00:00Z"));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    steps.write_and_check(&lines, &[&Scope::Org], "a partial refresh of two chunks");
}
