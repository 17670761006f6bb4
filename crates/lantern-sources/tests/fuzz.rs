//! Structure-aware fuzzing of every parser that reads outside input here:
//! the canonical event parser, the JSON Lines reader and every webhook
//! receiver, fed the vendors' own payloads mutated (fields dropped,
//! retyped, emptied, truncated) and arbitrary JSON. No input may panic, and
//! every refusal says what is wrong.
//!
//! `LANTERN_FUZZ_CASES` sets the cases per property (10 000 by default,
//! as CI runs it); `cargo test -p lantern-sources --test fuzz -- --ignored`
//! runs a million each. Failing inputs are kept by proptest in
//! `tests/fuzz.proptest-regressions` and replayed first on every run.

mod support;

use lantern_events::Pseudonymiser;
use lantern_sources::{Delivery, RECEIVERS, SourceSettings, read_jsonl, receiver};
use proptest::prelude::*;
use support::{any_json, fixtures, mutate, mutation};

fn settings() -> SourceSettings {
    SourceSettings {
        secrets: vec!["s".into()],
        services: [("myApp".to_string(), "web".to_string())].into(),
        deploy_workflows: vec!["Deploy".into(), "myPipeline".into()],
        keep_titles: true,
        ..SourceSettings::default()
    }
}

/// The receivers, on their own payloads with up to four mutations each.
fn receivers_take_mutated_payloads(cases: u32) {
    let fixtures = fixtures();
    let key = Pseudonymiser::from_key([3; 32]);
    let settings = settings();
    let strategy = (
        0..fixtures.len(),
        prop::collection::vec((any::<usize>(), mutation()), 0..4),
    );
    support::runner(cases, file!())
        .run(&strategy, |(which, mutations)| {
            let (name, headers, payload) = &fixtures[which];
            let mut body = payload.clone();
            for (at, m) in &mutations {
                let mut at = at % 400;
                mutate(&mut body, &mut at, m);
            }
            let bytes = serde_json::to_vec(&body).unwrap();
            let delivery = Delivery {
                headers,
                body: &bytes,
                settings: &settings,
                pseudonymiser: &key,
                received_at: lantern_events::Timestamp::from_micros(1_800_000_000_000_000),
            };
            if let Err(e) = receiver(name).unwrap().map(&delivery) {
                prop_assert!(!e.to_string().trim().is_empty(), "{name}: an empty refusal");
            }
            Ok(())
        })
        .unwrap();
}

/// Every receiver, on arbitrary JSON and arbitrary bytes.
fn receivers_take_anything(cases: u32) {
    let key = Pseudonymiser::from_key([3; 32]);
    let settings = settings();
    let body = prop_oneof![
        any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        prop::collection::vec(any::<u8>(), 0..256),
    ];
    let header = prop_oneof![
        Just(String::new()),
        Just("push".to_string()),
        Just("dev.cdevents.service.deployed.0.2.0".to_string()),
        "\\PC{0,40}",
    ];
    support::runner(cases, file!())
        .run(&(0..RECEIVERS.len(), body, header), |(r, body, header)| {
            let r = &RECEIVERS[r];
            let headers: Vec<(String, String)> = r
                .kept_headers
                .iter()
                .map(|h| (h.to_string(), header.clone()))
                .collect();
            let delivery = Delivery {
                headers: &headers,
                body: &body,
                settings: &settings,
                pseudonymiser: &key,
                received_at: lantern_events::Timestamp::from_micros(1_800_000_000_000_000),
            };
            let _ = r.map(&delivery);
            Ok(())
        })
        .unwrap();
}

/// The JSON Lines reader: every line accounted for, never a panic.
fn json_lines_take_anything(cases: u32) {
    let key = Pseudonymiser::from_key([3; 32]);
    let line = prop_oneof![
        any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        prop::collection::vec(any::<u8>().prop_filter("one line", |b| *b != b'\n'), 0..200),
    ];
    support::runner(cases, file!())
        .run(&prop::collection::vec(line, 0..8), |lines| {
            let mut text = Vec::new();
            for l in &lines {
                text.extend_from_slice(l);
                text.push(b'\n');
            }
            let (mut seen, mut bad_line) = (0, 0);
            read_jsonl(text.as_slice(), &key, |result, _bytes| {
                seen += 1;
                if let Err(e) = result {
                    assert!(!e.to_string().is_empty());
                    bad_line = bad_line.max(e.line);
                }
            })
            .unwrap();
            // A line is an event or a refusal naming its line; blank
            // lines are neither.
            prop_assert!(seen <= lines.len());
            prop_assert!(bad_line <= lines.len() as u64);
            Ok(())
        })
        .unwrap();
}

#[test]
fn receivers_never_panic_on_mutated_vendor_payloads() {
    receivers_take_mutated_payloads(support::cases());
}

#[test]
fn receivers_never_panic_on_arbitrary_bodies() {
    receivers_take_anything(support::cases());
}

#[test]
fn the_json_lines_reader_never_panics() {
    json_lines_take_anything(support::cases());
}

/// The long run: `cargo test -p lantern-sources --test fuzz -- --ignored`.
#[test]
#[ignore]
fn a_million_cases_each() {
    receivers_take_mutated_payloads(1_000_000);
    receivers_take_anything(1_000_000);
    json_lines_take_anything(1_000_000);
}
