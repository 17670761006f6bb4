//! The store contract, on both stores (see `each_store`).

use lantern_engine::{EngineConfig, EventSet, Scope, Window, report};
use lantern_events::*;
use lantern_store::{Location, StoreError};
use std::collections::BTreeSet;

mod each_store;
use each_store::{each_store, fresh_like, raw_sql};

on_each_store! {
    every_field_of_every_type_round_trips("every_field_of_every_type_round_trips") => every_field_round_trips;
    merged_writes_complete_an_event_fact_by_fact("merged_writes_complete_an_event_fact_by_fact") => merged_writes;
    sli_counts_are_read_by_the_end_of_their_interval("sli_counts_are_read_by_the_end_of_their_interval") => sli_counts;
}

/// slo.md: an interval counts in [a, b) when its end lies in (a, b]; one
/// id per SLO and instant, the last write winning.
fn sli_counts(at: &Location) {
    let mut store = at.open().unwrap();
    let sli = |from: &str, to: &str, good: u64| {
        format!(
            r#"{{"type":"sli","slo":"checkout-availability","from":"2026-04-01T{from}Z","to":"2026-04-01T{to}Z","good":{good},"total":1000}}"#
        )
    };
    let lines = [
        sli("00:00:00", "00:05:00", 990),
        sli("00:05:00", "00:10:00", 999),
        sli("00:10:00", "00:15:00", 1000),
        // The same interval again, spelled in another offset: replaces.
        r#"{"type":"sli","slo":"checkout-availability","from":"2026-04-01T02:05:00+02:00","to":"2026-04-01T00:10:00Z","good":995,"total":1000}"#.to_string(),
        r#"{"type":"sli","slo":"other","from":"2026-04-01T00:00:00Z","to":"2026-04-01T00:05:00Z","good":1,"total":1}"#.to_string(),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    store.write(&parse(&lines)).unwrap();
    let t = |hms: &str| Timestamp::parse_rfc3339(&format!("2026-04-01T{hms}Z")).unwrap();
    let mut counts = store
        .sli_counts("checkout-availability", t("00:05:00"), t("00:15:00"))
        .unwrap();
    counts.sort_by_key(|c| c.to);
    let got: Vec<(u64, u64)> = counts.iter().map(|c| (c.good, c.total)).collect();
    assert_eq!(got, [(995, 1000), (1000, 1000)], "ends in (00:05, 00:15]");
    // Summed by the store over several ranges at once, by the same rule.
    let m = |hms: &str| t(hms).micros();
    let sums = store
        .sli_sums(
            "checkout-availability",
            &[
                (m("00:05:00"), m("00:15:00")),
                (m("00:00:00"), m("00:05:00")),
                (m("01:00:00"), m("02:00:00")),
            ],
        )
        .unwrap();
    assert_eq!(sums, [(1995, 2000), (990, 1000), (0, 0)]);
    assert_eq!(store.counts().unwrap().slis, 4);
    let id = EventId::parse("checkout-availability@2026-04-01T00:05:00.000000Z").unwrap();
    match store.find(EventKind::Sli, &id).unwrap() {
        Some(Event::Sli(s)) => assert_eq!((s.good, s.to), (995, t("00:10:00"))),
        other => panic!("{other:?}"),
    }
    // Counts are not part of a DORA report's events.
    assert_eq!(store.load(None).unwrap().len(), 0);
}

fn parse(lines: &[&str]) -> Vec<Event> {
    let p = Pseudonymiser::from_key([3; 32]);
    lines
        .iter()
        .map(|l| parse_event_json(l, &p).unwrap())
        .collect()
}

const ALL_TYPES: &[&str] = &[
    r#"{"type":"change","repo":"acme/shop","sha":"9f2c1e0","parents":["77ab310","1234567"],"committed_at":"2026-03-02T09:15:00.123456Z","authored_at":"2026-03-01T09:15:00Z","author":"dev-17","pull_request":"acme/shop#42"}"#,
    r#"{"type":"change","repo":"acme/shop","sha":"77ab310","committed_at":"2026-03-01T09:15:00Z"}"#,
    r#"{"type":"pull_request","id":"acme/shop#42","repo":"acme/shop","opened_at":"2026-03-02T10:00:00Z","first_review_at":"2026-03-02T13:30:00Z","approved_at":"2026-03-02T14:00:00Z","merged_at":"2026-03-03T08:00:00Z","closed_at":"2026-03-03T08:00:00Z","merge_sha":"9f2c1e0","head_sha":"1234567","commits":["1234567"],"first_commit_at":"2026-03-01T00:00:00Z","additions":10,"deletions":2,"author":"dev-3"}"#,
    r#"{"type":"deployment","id":"d-881","service":"shop-api","environment":"production","status":"failure","started_at":"2026-03-03T10:50:00Z","finished_at":"2026-03-03T11:00:00Z","repo":"acme/shop","sha":"9f2c1e0","changes":[],"kind":"rollback","rollback_of":"d-880","automated":true}"#,
    r#"{"type":"deployment","id":"d-882","service":"shop-api","environment":"prod","finished_at":"2026-03-03T12:00:00Z"}"#,
    r#"{"type":"incident","id":"inc-12","service":"shop-api","services":["cart","search engine"],"started_at":"2026-03-03T11:20:00Z","detected_at":"2026-03-03T11:25:00Z","acknowledged_at":"2026-03-03T11:30:00Z","resolved_at":"2026-03-03T12:05:00Z","severity":"sev1","cause":"change","caused_by":"d-881","caused_by_sha":"9f2c1e0","title":"Checkout errors"}"#,
    r#"{"type":"annotation","id":"a-1","scope":{"team":"payments"},"kind":"freeze","from":"2026-03-20T00:00:00Z","to":"2026-03-27T00:00:00Z","title":"Quarter-end change freeze"}"#,
    r#"{"type":"annotation","id":"a-2","scope":{"org":true},"kind":"dispute","from":"2026-03-20T00:00:00Z","title":"CFR counts a test incident"}"#,
];

fn every_field_round_trips(at: &Location) {
    let mut store = at.open().unwrap();
    let events = parse(ALL_TYPES);
    store.write(&events).unwrap();
    let loaded = store.load(None).unwrap();
    let expected = EventSet::from_events(events);
    let sort = |mut s: EventSet| {
        s.changes.sort_by(|a, b| a.id.cmp(&b.id));
        s.deployments.sort_by(|a, b| a.id.cmp(&b.id));
        s.annotations.sort_by(|a, b| a.id.cmp(&b.id));
        s
    };
    let (a, b) = (sort(loaded), sort(expected));
    assert_eq!(a.changes, b.changes);
    assert_eq!(a.pull_requests, b.pull_requests);
    assert_eq!(a.deployments, b.deployments);
    assert_eq!(a.incidents, b.incidents);
    assert_eq!(a.annotations, b.annotations);
}

#[test]
fn same_type_and_id_replaces_and_the_store_survives_reopening() {
    each_store("same_type_and_id_replaces", same_type_and_id_replaces);
}

fn same_type_and_id_replaces(at: &Location) {
    {
        let mut store = at.open().unwrap();
        store.write(&parse(ALL_TYPES)).unwrap();
        store.write(&parse(ALL_TYPES)).unwrap();
        store.write(&parse(&[r#"{"type":"deployment","id":"d-882","service":"other","environment":"prod","finished_at":"2026-03-03T12:00:00Z"}"#])).unwrap();
    }
    let store = at.open().unwrap();
    let c = store.counts().unwrap();
    assert_eq!(
        (
            c.changes,
            c.pull_requests,
            c.deployments,
            c.incidents,
            c.annotations
        ),
        (2, 1, 2, 1, 2)
    );
    let services: Vec<String> = store
        .services()
        .unwrap()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(services, ["cart", "other", "search engine", "shop-api"]);
    // Asked one by one, by index: the same answer, and no prefix or
    // line of another name matches.
    for name in [
        "cart",
        "other",
        "search engine",
        "shop-api",
        "shop",
        "car",
        "search",
        "nope",
    ] {
        let name = lantern_events::Name::parse(name).unwrap();
        assert_eq!(
            store.has_service(&name).unwrap(),
            services.iter().any(|s| s == name.as_str()),
            "{name}"
        );
    }
}

#[test]
fn a_failing_batch_leaves_nothing_behind() {
    each_store("a_failing_batch_leaves_nothing_behind", failing_batch);
}

fn failing_batch(at: &Location) {
    let mut store = at.open().unwrap();
    // Make the database refuse one particular deployment, part-way through a batch.
    raw_sql(
        at,
        "CREATE TRIGGER refuse BEFORE INSERT ON deployments WHEN NEW.id = 'd-882' BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.id = 'd-882' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
         CREATE TRIGGER refuse BEFORE INSERT ON deployments FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    let err = store.write(&parse(ALL_TYPES)).unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    assert_eq!(store.counts().unwrap(), Default::default());
}

#[test]
fn a_database_from_a_newer_lantern_is_refused() {
    each_store("a_database_from_a_newer_lantern_is_refused", |at| {
        drop(at.open().unwrap());
        raw_sql(
            at,
            "PRAGMA user_version = 99",
            "UPDATE lantern_schema SET version = 99",
        );
        assert!(matches!(
            at.open(),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    });
}

#[test]
fn a_scoped_load_gives_the_same_report_as_a_full_load() {
    let lines = [
        r#"{"type":"change","repo":"a","sha":"aaaaaa1","committed_at":"2026-03-01T00:00:00Z"}"#,
        r#"{"type":"change","repo":"a","sha":"aaaaaa2","parents":["aaaaaa1"],"committed_at":"2026-03-01T01:00:00Z"}"#,
        r#"{"type":"change","repo":"b","sha":"bbbbbb1","committed_at":"2026-03-01T00:00:00Z"}"#,
        r#"{"type":"change","repo":"b","sha":"bbbbbb2","parents":["bbbbbb1"],"committed_at":"2026-03-01T02:00:00Z"}"#,
        r#"{"type":"deployment","id":"x1","service":"x","environment":"production","finished_at":"2026-03-01T03:00:00Z","repo":"a","sha":"aaaaaa1"}"#,
        r#"{"type":"deployment","id":"x2","service":"x","environment":"production","finished_at":"2026-03-01T04:00:00Z","repo":"a","sha":"aaaaaa2"}"#,
        r#"{"type":"deployment","id":"y1","service":"y","environment":"production","finished_at":"2026-03-01T03:00:00Z","repo":"b","sha":"bbbbbb1"}"#,
        r#"{"type":"deployment","id":"y2","service":"y","environment":"production","finished_at":"2026-03-01T03:30:00Z","repo":"b","sha":"bbbbbb2"}"#,
        r#"{"type":"deployment","id":"z1","service":"z","environment":"production","finished_at":"2026-03-01T05:00:00Z","changes":["bbbbbb2"]}"#,
        // Linked by sha across x and y: the earliest shipping deployment is y2, not x's.
        r#"{"type":"incident","id":"i","service":"x","services":["y"],"started_at":"2026-03-01T06:00:00Z","resolved_at":"2026-03-01T07:00:00Z","caused_by_sha":"bbbbbb2"}"#,
        r#"{"type":"pull_request","id":"a#1","repo":"a","opened_at":"2026-03-01T00:30:00Z","merged_at":"2026-03-01T01:30:00Z","merge_sha":"aaaaaa2"}"#,
    ];
    each_store("a_scoped_load_gives_the_same_report_as_a_full_load", |at| {
        scoped_load(at, &lines)
    });
}

fn scoped_load(at: &Location, lines: &[&str]) {
    let mut store = at.open().unwrap();
    store.write(&parse(lines)).unwrap();
    let full = store.load(None).unwrap();
    let w = Window::new(
        Timestamp::parse_bound("2026-03-01").unwrap(),
        Timestamp::parse_bound("2026-03-02").unwrap(),
    )
    .unwrap();
    let cfg = EngineConfig::default();
    for s in ["x", "y", "z"] {
        let name = Name::parse(s).unwrap();
        let scoped = store.load(Some(&BTreeSet::from([name.clone()]))).unwrap();
        assert!(scoped.len() <= full.len());
        let scope = Scope::Service(name);
        assert_eq!(
            report(&scoped, &scope, w, &cfg),
            report(&full, &scope, w, &cfg),
            "service {s}"
        );
    }
    let y = report(&full, &Scope::Service(Name::parse("y").unwrap()), w, &cfg);
    assert_eq!(y.change_failure_rate.by_cause.incident_explicit, 1);
    let z = report(&full, &Scope::Service(Name::parse("z").unwrap()), w, &cfg);
    assert_eq!(z.lead_time.stats.count, 1);
}

#[test]
fn a_session_commits_events_and_source_state_together_or_not_at_all() {
    each_store("a_session_commits_together_or_not_at_all", session_commits);
}

fn session_commits(at: &Location) {
    let mut store = at.open().unwrap();
    let events = parse(ALL_TYPES);
    {
        let mut session = store.session().unwrap();
        session.write(&events[..2]).unwrap();
        session.write(&events[2..]).unwrap();
        // Dropped without commit: rolled back.
    }
    assert_eq!(store.counts().unwrap().changes, 0);
    assert_eq!(store.source_state("git\u{1f}a").unwrap(), None);

    let mut session = store.session().unwrap();
    session.write(&events[..2]).unwrap();
    session.write(&events[2..]).unwrap();
    session
        .commit(&[("git\u{1f}a", "{\"tips\":1}"), ("other", "three")])
        .unwrap();
    let mut session = store.session().unwrap();
    session.write(&[]).unwrap();
    session.commit(&[("git\u{1f}b", "two")]).unwrap();
    store.session().unwrap().commit(&[]).unwrap();
    drop(store);

    let store = at.open().unwrap();
    assert_eq!(store.counts().unwrap().changes, 2);
    assert_eq!(store.counts().unwrap().deployments, 2);
    assert_eq!(
        store.source_state("git\u{1f}a").unwrap().as_deref(),
        Some("{\"tips\":1}")
    );
    let keys: Vec<String> = store
        .source_states("git\u{1f}")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec!["git\u{1f}a", "git\u{1f}b"]);
    // Every change of one repository, and only those.
    let shop = store
        .changes_of_repo(&Name::parse("acme/shop").unwrap())
        .unwrap();
    let mut shas: Vec<String> = shop.iter().map(|c| c.sha.to_string()).collect();
    shas.sort();
    assert_eq!(shas, vec!["77ab310", "9f2c1e0"]);
    assert!(
        store
            .changes_of_repo(&Name::parse("acme").unwrap())
            .unwrap()
            .is_empty()
    );
}

fn merged_writes(at: &Location) {
    let mut store = at.open().unwrap();
    let facts = parse(&[
        r#"{"type":"incident","id":"pd-1","service":"api","started_at":"2026-03-03T11:20:00Z","title":"Errors"}"#,
        r#"{"type":"incident","id":"pd-1","service":"api","started_at":"2026-03-03T11:20:00Z","acknowledged_at":"2026-03-03T11:30:00Z"}"#,
    ]);
    store.write_merged(facts).unwrap();
    let resolved = parse(&[
        r#"{"type":"incident","id":"pd-1","service":"api","started_at":"2026-03-03T11:25:00Z","resolved_at":"2026-03-03T12:05:00Z"}"#,
    ]);
    store.write_merged(resolved.clone()).unwrap();
    store.write_merged(resolved).unwrap();
    let whole = parse(&[
        r#"{"type":"incident","id":"pd-1","service":"api","started_at":"2026-03-03T11:20:00Z","acknowledged_at":"2026-03-03T11:30:00Z","resolved_at":"2026-03-03T12:05:00Z","title":"Errors"}"#,
    ]);
    let id = EventId::parse("pd-1").unwrap();
    assert_eq!(
        store.find(EventKind::Incident, &id).unwrap().as_ref(),
        whole.first()
    );
    assert_eq!(store.counts().unwrap().incidents, 1);
    for kind in [
        EventKind::Change,
        EventKind::PullRequest,
        EventKind::Deployment,
        EventKind::Annotation,
    ] {
        assert_eq!(store.find(kind, &id).unwrap(), None);
    }
    store.write(&parse(&[ALL_TYPES[3]])).unwrap();
    let d = store
        .find(EventKind::Deployment, &EventId::parse("d-881").unwrap())
        .unwrap();
    assert!(matches!(d, Some(Event::Deployment(d)) if d.rollback_of.is_some()));
}

#[test]
fn a_periodic_job_has_one_holder_until_its_lease_expires() {
    each_store("a_periodic_job_has_one_holder", |at| {
        let mut a = at.open().unwrap();
        let mut b = at.open().unwrap();
        let t = |s: i64| Timestamp::from_micros(s * 1_000_000);
        assert!(a.take_lease("retention", "a", t(0), t(60)).unwrap());
        assert!(!b.take_lease("retention", "b", t(10), t(70)).unwrap());
        assert!(
            a.take_lease("retention", "a", t(30), t(90)).unwrap(),
            "renewed"
        );
        assert!(!b.take_lease("retention", "b", t(89), t(149)).unwrap());
        assert!(b.take_lease("other job", "b", t(89), t(149)).unwrap());
        assert!(
            b.take_lease("retention", "b", t(90), t(150)).unwrap(),
            "expired"
        );
        assert!(!a.take_lease("retention", "a", t(100), t(160)).unwrap());
    });
}

#[test]
fn a_bulk_batch_is_stored_as_small_ones_are_and_replaces_the_same() {
    each_store("a_bulk_batch_is_stored_as_small_ones_are", bulk_batch);
}

/// Thousands of events of each type in one batch (PostgreSQL sends those
/// with `COPY`), then again with changed fields: every row as written,
/// then replaced — the same as writing them a few at a time.
fn bulk_batch(at: &Location) {
    let lines = |version: u32| -> Vec<String> {
        (0..2_500u32)
            .flat_map(|i| {
                let day = 1 + i % 28;
                [
                    format!(r#"{{"type":"change","repo":"acme/bulk","sha":"{i:07x}","committed_at":"2026-03-{day:02}T09:00:00Z","author":"dev-{}"}}"#, i % 7),
                    format!(r#"{{"type":"deployment","id":"d{i}","service":"svc{}","environment":"production","finished_at":"2026-03-{day:02}T10:00:00Z","repo":"acme/bulk","sha":"{i:07x}","kind":"{}"}}"#, i % 5, if version == 1 { "planned" } else { "hotfix" }),
                    format!(r#"{{"type":"pull_request","id":"acme/bulk#{i}","repo":"acme/bulk","opened_at":"2026-03-{day:02}T08:00:00Z","merged_at":"2026-03-{day:02}T08:30:00Z","additions":{},"deletions":{version}}}"#, i % 500),
                    format!(r#"{{"type":"finding","id":"f{i}","repo":"acme/bulk","severity":"high","category":"xss","opened_at":"2026-03-{day:02}T00:00:00Z"{}}}"#, if version == 1 { String::new() } else { format!(r#","fixed_at":"2026-03-{day:02}T12:00:00Z""#) }),
                    format!(r#"{{"type":"assist_usage","team":"t{}","day":"2026-{:02}-{day:02}","active_users":{},"suggestions":10,"acceptances":{version}}}"#, i / 300, 1 + (i / 28) % 12, 3 + i % 4),
                ]
            })
            .collect()
    };
    let parse_all = |v: u32| {
        let owned = lines(v);
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        parse(&refs)
    };
    let mut bulk = at.open().unwrap();
    let place = fresh_like(at, "a_bulk_batch_is_stored_as_small_ones_are_small");
    let mut small = place.location.open().unwrap();
    // As `lantern import events` writes: PostgreSQL then drops the empty
    // tables' secondary indexes until the end, and each batch is split
    // with a second connection, both halves written at the same time.
    bulk.bulk_writes(true).unwrap();
    let mut partner = bulk.bulk_partner().transpose().unwrap();
    assert_eq!(
        partner.is_some(),
        matches!(at, Location::Postgres(_)),
        "only PostgreSQL has a second writer"
    );
    for version in [1, 2] {
        let events = parse_all(version);
        match partner.as_mut() {
            Some(partner) => {
                let (mine, theirs) = lantern_store::split_for_partner(events.clone());
                assert!(mine.len() > 5_000 && theirs.len() > 5_000);
                std::thread::scope(|scope| {
                    let there = scope.spawn(|| partner.write(&theirs));
                    bulk.write(&mine).unwrap();
                    there.join().unwrap().unwrap();
                });
            }
            None => bulk.write(&events).unwrap(),
        }
        for chunk in events.chunks(7) {
            small.write(chunk).unwrap();
        }
    }
    drop(partner);
    bulk.bulk_writes(false).unwrap();
    let sorted = |mut s: EventSet| {
        s.changes.sort_by(|a, b| a.id.cmp(&b.id));
        s.deployments.sort_by(|a, b| a.id.cmp(&b.id));
        s.pull_requests.sort_by(|a, b| a.id.cmp(&b.id));
        s
    };
    let (a, b) = (
        sorted(bulk.load(None).unwrap()),
        sorted(small.load(None).unwrap()),
    );
    assert_eq!(a.changes.len(), 2_500);
    assert_eq!(a.changes, b.changes);
    assert_eq!(a.deployments, b.deployments);
    assert_eq!(a.pull_requests, b.pull_requests);
    assert!(
        a.deployments
            .iter()
            .all(|d| d.kind == Some(lantern_events::DeploymentKind::Hotfix))
    );
    assert!(a.pull_requests.iter().all(|p| p.deletions == Some(2)));
    let whole = lantern_engine::Window::new(
        lantern_events::Timestamp::parse_rfc3339("2025-01-01T00:00:00Z").unwrap(),
        lantern_events::Timestamp::parse_rfc3339("2027-01-01T00:00:00Z").unwrap(),
    )
    .unwrap();
    let (fa, fb) = (
        bulk.findings(None, whole).unwrap(),
        small.findings(None, whole).unwrap(),
    );
    assert_eq!(fa.len(), 2_500);
    assert_eq!(fa, fb);
    assert!(
        fa.iter().all(|f| f.fixed_at.is_some()),
        "replaced by version 2"
    );
    let team = lantern_events::Name::parse("t3").unwrap();
    let (da, db) = (
        bulk.assist_usage(&team, whole).unwrap(),
        small.assist_usage(&team, whole).unwrap(),
    );
    assert_eq!(da, db);
    assert!(!da.is_empty() && da.iter().all(|d| d.acceptances == 2));
}

/// A fresh PostgreSQL database and its URL, for a test of PostgreSQL's
/// own (`None` when `LANTERN_TEST_POSTGRES` is not set).
fn postgres_only(test: &str) -> Option<(each_store::Place, String)> {
    let place = each_store::postgres_place(test)?;
    let url = match &place.location {
        Location::Postgres(url) => url.clone(),
        Location::Sqlite(_) => unreachable!("a PostgreSQL place"),
    };
    Some((place, url))
}

/// A bulk import's second connection copies its rows straight into the
/// tables that were empty, as the first does: without the upsert's
/// staging table (a session's temporary table, seen in `pg_class`).
#[test]
fn a_bulk_imports_second_connection_copies_straight_into_emptied_tables() {
    let Some((place, url)) = postgres_only("bulk_partner_straight") else {
        return;
    };
    let lines: Vec<String> = (0..2 * 2_000)
        .map(|i| format!(r#"{{"type":"deployment","id":"d{i}","service":"svc","environment":"production","finished_at":"2026-03-01T10:00:00Z"}}"#))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let events = parse(&refs);
    let staged = || -> Vec<String> {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client
            .query(
                "SELECT relname::text FROM pg_class WHERE relname LIKE 'staged_%'",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    };
    let mut store = place.location.open().unwrap();
    store.bulk_writes(true).unwrap();
    let mut partner = store.bulk_partner().unwrap().unwrap();
    partner.write(&events[..2_000]).unwrap();
    assert_eq!(staged(), Vec::<String>::new());
    // A second version of those meets stored rows: staged and upserted.
    partner.write(&events[..2_000]).unwrap();
    assert_eq!(staged(), ["staged_deployments"]);
    // The days of its changes are the importer's to write, at its end.
    partner
        .write(&parse(&[
            r#"{"type":"change","repo":"acme/p","sha":"abc1234","committed_at":"2026-03-01T09:00:00Z"}"#,
        ]))
        .unwrap();
    drop(partner);
    assert_eq!(change_days(&url), []);
    store.bulk_writes(false).unwrap();
    assert_eq!(store.load(None).unwrap().deployments.len(), 2_000);
    assert_eq!(change_days(&url), [("acme/p".to_string(), MARCH_1)]);
}

/// Every secondary index of the event tables, by name, with its definition.
fn postgres_indexes(url: &str) -> BTreeSet<(String, String)> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .query(
            "SELECT indexname::text, indexdef FROM pg_indexes
              WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[test]
fn a_bulk_import_into_empty_postgresql_tables_builds_their_indexes_at_its_end() {
    let Some((place, url)) = postgres_only("bulk_import_indexes") else {
        return;
    };
    let url = &url;
    let mut store = place.location.open().unwrap();
    let all = postgres_indexes(url);
    assert!(all.iter().any(|(n, _)| n == "changes_sha"));
    // A table with rows keeps its indexes.
    store
        .write(&parse(&[
            r#"{"type":"deployment","id":"d0","service":"svc","environment":"production","finished_at":"2026-03-01T10:00:00Z"}"#,
        ]))
        .unwrap();
    store.bulk_writes(true).unwrap();
    let during = postgres_indexes(url);
    let missing: BTreeSet<&str> = all.difference(&during).map(|(n, _)| n.as_str()).collect();
    for gone in [
        "changes_sha",
        "changes_repo",
        "pull_requests_repo",
        "incidents_started",
    ] {
        assert!(missing.contains(gone), "{gone} dropped: {missing:?}");
    }
    assert!(
        during.iter().any(|(n, _)| n == "deployments_service"),
        "deployments had a row"
    );
    assert!(
        during.iter().any(|(n, _)| n == "work_states_by_item"),
        "every batch reads it"
    );
    // Another connection (a replica) while the import runs leaves them.
    drop(place.location.open().unwrap());
    assert_eq!(postgres_indexes(url), during);
    store
        .write(&parse(&[
            r#"{"type":"change","repo":"acme/a","sha":"abc1234","committed_at":"2026-03-01T09:00:00Z"}"#,
        ]))
        .unwrap();
    // Its changes' days are filled once, at its end (hygiene.md F7).
    assert_eq!(change_days(url), []);
    store.bulk_writes(false).unwrap();
    assert_eq!(change_days(url), [("acme/a".to_string(), MARCH_1)]);
    assert_eq!(
        postgres_indexes(url),
        all,
        "every index built again, as it was"
    );
    assert!(store.has_service(&Name::parse("svc").unwrap()).unwrap());
    // The first derivation writes its tables without their indexes too,
    // and builds them in the same transaction; a later one keeps them.
    let config = EngineConfig::default();
    store.refresh_facts(&config, &|_, _| {}).unwrap();
    assert_eq!(postgres_indexes(url), all, "the facts' indexes built again");
    assert!(store.facts_are_fresh(&config).unwrap());
    store.refresh_facts(&config, &|_, _| {}).unwrap();
    assert_eq!(postgres_indexes(url), all);

    // An import that dies with them dropped: the next connection builds them.
    let (other, other_url) = postgres_only("bulk_import_indexes_died").unwrap();
    let other_url = &other_url;
    let mut dying = other.location.open().unwrap();
    dying.bulk_writes(true).unwrap();
    assert!(
        !postgres_indexes(other_url)
            .iter()
            .any(|(n, _)| n == "changes_sha")
    );
    // It died after its second connection committed its share of the
    // builds: the recovery builds the rest and skips what stands.
    let (_, sha_index) = all.iter().find(|(n, _)| n == "changes_sha").unwrap();
    postgres::Client::connect(other_url, postgres::NoTls)
        .unwrap()
        .batch_execute(sha_index)
        .unwrap();
    dying
        .write(&parse(&[
            r#"{"type":"change","repo":"acme/b","sha":"abc1234","committed_at":"2026-03-01T23:59:59Z"}"#,
            r#"{"type":"change","repo":"acme/b","sha":"abc1235","committed_at":"1969-12-31T23:00:00Z"}"#,
        ]))
        .unwrap();
    drop(dying);
    drop(other.location.open().unwrap());
    assert_eq!(postgres_indexes(other_url), postgres_indexes(url));
    assert_eq!(
        change_days(other_url),
        [("acme/b".to_string(), -1), ("acme/b".to_string(), MARCH_1)],
        "the recovery fills the days of the changes the import wrote"
    );
}

/// 2026-03-01 as days since 1970-01-01.
const MARCH_1: i64 = 20_513;

fn change_days(url: &str) -> Vec<(String, i64)> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .query("SELECT repo, day FROM change_days ORDER BY repo, day", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Ids, shas and names compare as bytes on PostgreSQL, as on SQLite,
/// whatever the database's collation: `strcoll` made every B-tree insert
/// and sort slower (schema.rs, the migration after `bulk_dropped_indexes`).
#[test]
fn every_postgresql_text_column_compares_as_bytes() {
    let Some((place, url)) = postgres_only("text_as_bytes") else {
        return;
    };
    drop(place.location.open().unwrap());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let other_collation: Vec<String> = client
        .query(
            "SELECT table_name || '.' || column_name FROM information_schema.columns
              WHERE table_schema = 'public' AND data_type = 'text'
                AND collation_name IS DISTINCT FROM 'C'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(other_collation, Vec::<String>::new());
}

/// Every replica hears a revocation when it commits, and a watch whose
/// connection is cut says so, then listens again.
#[test]
fn postgresql_announces_revocations_to_every_watch() {
    use lantern_governance::{AuditRecord, NewGrant, Role};
    use lantern_store::GrantNotice;
    use std::time::{Duration, Instant};
    let Some((place, url)) = postgres_only("grant_watch") else {
        return;
    };
    let mut store = place.location.open().unwrap();
    let record = |action: &str| AuditRecord {
        at: Timestamp::now(),
        actor: "test".into(),
        purpose: "test setup".into(),
        action: action.into(),
        scope: "-".into(),
        outcome: "done".into(),
    };
    let mut issue = |seed: u8| {
        let issued = NewGrant {
            role: Role::Ingest,
            teams: vec![],
            source: Some("events".into()),
            purpose: "deployments sent by the CI system".into(),
            days: Some(1),
        }
        .issue(Timestamp::now(), [seed; 38], &[])
        .unwrap();
        store
            .add_grant(&issued.grant, &issued.secret_hash, record("token.create"))
            .unwrap();
        issued.grant.id
    };
    let (first, second) = (issue(1), issue(2));
    let mut watch = store.watch_grants().expect("PostgreSQL is watched");
    let short = Duration::from_millis(200);
    assert_eq!(watch.next(short), GrantNotice::Listening);
    assert_eq!(watch.next(short), GrantNotice::Quiet);
    assert!(store.revoke_grant(&first, record("token.revoke")).unwrap());
    assert_eq!(
        watch.next(Duration::from_secs(5)),
        GrantNotice::Revoked(first.clone())
    );
    // Nothing changed, nothing said.
    assert!(!store.revoke_grant(&first, record("token.revoke")).unwrap());
    assert_eq!(watch.next(short), GrantNotice::Quiet);

    // Its connection cut: lost, then listening again, and hearing.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            &[],
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut heard = Vec::new();
    while !heard.contains(&GrantNotice::Listening) && Instant::now() < deadline {
        match watch.next(short) {
            GrantNotice::Quiet => {}
            GrantNotice::Lost(_) => heard.push(GrantNotice::Lost(String::new())),
            other => heard.push(other),
        }
    }
    assert_eq!(
        heard,
        [GrantNotice::Lost(String::new()), GrantNotice::Listening]
    );
    assert!(store.revoke_grant(&second, record("token.revoke")).unwrap());
    assert_eq!(
        watch.next(Duration::from_secs(5)),
        GrantNotice::Revoked(second)
    );
}

/// What a bulk import writes on its two connections: an event's versions,
/// and a work item with its states, always on the same side.
#[test]
fn a_split_batch_keeps_an_events_versions_and_an_items_states_together() {
    let mut lines = Vec::new();
    for i in 0..400 {
        lines.push(format!(
            r#"{{"type":"deployment","id":"d{i}","service":"svc","environment":"production","finished_at":"2026-03-01T10:00:00Z"}}"#
        ));
        lines.push(format!(
            r#"{{"type":"work_item","id":"w{i}","team":"t","kind":"feature","created_at":"2026-03-01T00:00:00Z"}}"#
        ));
        for hour in [10, 11] {
            lines.push(format!(
                r#"{{"type":"work_state","item":"w{i}","at":"2026-03-02T{hour}:00:00Z","state":"active"}}"#
            ));
        }
        lines.push(format!(
            r#"{{"type":"deployment","id":"d{i}","service":"svc","environment":"production","finished_at":"2026-03-01T11:00:00Z"}}"#
        ));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let events = parse(&refs);
    let (mine, theirs) = lantern_store::split_for_partner(events.clone());
    assert_eq!(mine.len() + theirs.len(), events.len());
    assert!(mine.len() > 600 && theirs.len() > 600, "{}", mine.len());
    let key = |e: &Event| match e {
        Event::WorkState(s) => s.item.to_string(),
        e => e.id().to_string(),
    };
    let on_mine: BTreeSet<String> = mine.iter().map(key).collect();
    assert!(theirs.iter().all(|e| !on_mine.contains(&key(e))));
    // Each side keeps the batch's order: the later version stays later.
    let finished = |side: &[Event], id: &str| -> Vec<Timestamp> {
        side.iter()
            .filter_map(|e| match e {
                Event::Deployment(d) if d.id.as_str() == id => Some(d.finished_at),
                _ => None,
            })
            .collect()
    };
    for i in 0..400 {
        let id = format!("d{i}");
        let side = if on_mine.contains(&id) {
            &mine
        } else {
            &theirs
        };
        let both = finished(side, &id);
        assert_eq!(both.len(), 2);
        assert!(both[0] < both[1]);
    }
}
