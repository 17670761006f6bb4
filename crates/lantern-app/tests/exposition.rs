//! `/metrics`' figures kept between scrapes and between processes: a
//! second scrape, or a new process on the same store, reads nothing again
//! and says the same; a change is read again for its service alone, and
//! every figure still equals a scrape that read everything.

use lantern_app::Settings;
use lantern_app::exposition::{ExpositionCache, Format, exposition};
use lantern_app::report::Reader;
use lantern_events::{Pseudonymiser, Timestamp, parse_event_json};
use lantern_store::{SqliteStore, Store};

fn write(store: &mut dyn Store, lines: &[String]) {
    let p = Pseudonymiser::from_key([3; 32]);
    let events: Vec<_> = lines
        .iter()
        .map(|l| parse_event_json(l, &p).unwrap())
        .collect();
    store.write(&events).unwrap();
}

fn deployment(id: &str, service: &str, day: u32) -> String {
    format!(
        r#"{{"type":"deployment","id":"{id}","service":"{service}","environment":"production","finished_at":"2026-11-{day:02}T12:00:00Z","repo":"acme/{service}","sha":"{:040x}"}}"#,
        day + id.len() as u32 * 100
    )
}

fn change(service: &str, day: u32, n: u32, who: &str) -> String {
    format!(
        r#"{{"type":"change","repo":"acme/{service}","sha":"{n:040x}","committed_at":"2026-11-{day:02}T08:00:00Z","author":"{who}"}}"#
    )
}

/// One scrape in the text format.
fn scrape(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    now: Timestamp,
    cache: &mut ExpositionCache,
) -> String {
    exposition(store, settings, reader, now, Format::Text, cache).unwrap()
}

/// Everything read again: what a scrape says without a cache.
fn uncached(store: &mut dyn Store, settings: &Settings, now: Timestamp) -> String {
    strip(
        &exposition(
            store,
            settings,
            Reader::Operator,
            now,
            Format::Text,
            &mut ExpositionCache::default(),
        )
        .unwrap(),
    )
}

fn strip(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("lantern_scrape_services_read"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn kept_figures_are_read_again_only_where_facts_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let settings = Settings::parse(
        "[[teams]]\nname = \"shop\"\nservices = [\"cart\", \"pay\", \"quiet\"]\n",
        None,
    )
    .unwrap();
    let now = Timestamp::parse_rfc3339("2026-11-20T00:00:00Z").unwrap();
    let mut store = SqliteStore::open(&path).unwrap();
    let mut lines = Vec::new();
    for (i, who) in ["a", "b", "c"].iter().enumerate() {
        let day = i as u32 + 1;
        lines.push(change("cart", day, 10 + day, who));
        lines.push(format!(
            r#"{{"type":"deployment","id":"c{day}","service":"cart","environment":"production","finished_at":"2026-11-{day:02}T12:00:00Z","repo":"acme/cart","sha":"{:040x}"}}"#,
            10 + day
        ));
    }
    lines.push(deployment("p1", "pay", 4));
    lines.push(
        r#"{"type":"incident","id":"i1","service":"pay","started_at":"2026-11-05T00:00:00Z"}"#
            .to_string(),
    );
    write(&mut store, &lines);

    let mut cache = ExpositionCache::default();
    let first = scrape(&mut store, &settings, Reader::Operator, now, &mut cache);
    assert_eq!(cache.last_read, 3, "cart, pay and quiet (the catalog's)");
    let second = scrape(&mut store, &settings, Reader::Operator, now, &mut cache);
    assert_eq!(cache.last_read, 0);
    assert_eq!(strip(&second), strip(&first));
    assert_eq!(strip(&first), uncached(&mut store, &settings, now));

    // Another process on the same store starts from what was kept.
    drop(store);
    let mut store = SqliteStore::open(&path).unwrap();
    let mut restarted = ExpositionCache::default();
    let third = scrape(&mut store, &settings, Reader::Operator, now, &mut restarted);
    assert_eq!(restarted.last_read, 0, "nothing read again after a restart");
    assert_eq!(strip(&third), strip(&first));

    // A change to pay: pay alone is read again, and the figures are what
    // reading everything gives.
    write(&mut store, &[deployment("p2", "pay", 6)]);
    let fourth = scrape(&mut store, &settings, Reader::Operator, now, &mut restarted);
    assert_eq!(restarted.last_read, 1);
    assert!(fourth.contains(r#"lantern_deployments_total{service="pay",environment="production",result="success"} 2"#), "{fourth}");
    assert_eq!(strip(&fourth), uncached(&mut store, &settings, now));

    // Rule 2 is applied at each scrape, for each reader: an organisation
    // viewer sees cart (three contributors) and not pay (none).
    let viewer = lantern_governance::Grant {
        id: "v".into(),
        role: lantern_governance::Role::OrgViewer,
        teams: Vec::new(),
        source: None,
        purpose: "reading the figures".into(),
        created_at: Timestamp::from_micros(0),
        expires_at: Timestamp::from_micros(i64::MAX),
        revoked_at: None,
        last_used_at: None,
    };
    let seen = scrape(
        &mut store,
        &settings,
        Reader::Grant(&viewer),
        now,
        &mut restarted,
    );
    assert_eq!(restarted.last_read, 0);
    assert!(seen.contains(r#"service="cart""#));
    assert!(!seen.contains(r#"service="pay""#), "{seen}");

    // A new day counts the contributors again (the rows are kept): after
    // 90 days cart's three have left rule 2's window.
    let later = Timestamp::parse_rfc3339("2027-03-01T00:00:00Z").unwrap();
    let gone = scrape(
        &mut store,
        &settings,
        Reader::Grant(&viewer),
        later,
        &mut restarted,
    );
    assert_eq!(restarted.last_read, 0);
    assert!(!gone.contains(r#"service="cart""#), "{gone}");
}
