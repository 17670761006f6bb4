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

use lantern_events::Pseudonymiser;
use lantern_sources::{Delivery, RECEIVERS, SourceSettings, read_jsonl, receiver};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use std::path::Path;

fn cases() -> u32 {
    std::env::var("LANTERN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// A receiver's name, the headers its mapping reads, and a payload.
type Fixture = (&'static str, Vec<(String, String)>, Value);

/// Each receiver's real payloads (copies kept with the server's tests),
/// with the headers its mapping reads.
fn fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../lantern-server/tests/fixtures");
    let read = |p: &str| -> Value {
        serde_json::from_slice(&std::fs::read(root.join(p)).unwrap()).unwrap()
    };
    let mut out = Vec::new();
    for (event, file) in [
        ("deployment", "github/deployment/payload.json"),
        ("deployment_status", "github/deployment_status/payload.json"),
        ("pull_request", "github/pull_request/closed.payload.json"),
        (
            "pull_request_review",
            "github/pull_request_review/submitted.payload.json",
        ),
        ("push", "github/push/with-new-branch.payload.json"),
        ("workflow_run", "github/workflow_run/completed.payload.json"),
    ] {
        let headers = vec![("x-github-event".to_string(), event.to_string())];
        out.push(("github", headers, read(file)));
    }
    out.push(("gitlab", vec![], read("gitlab/deployment_hook.json")));
    out.push((
        "pagerduty",
        vec![],
        read("pagerduty/incident_triggered_v3.json"),
    ));
    out.push(("opsgenie", vec![], read("opsgenie/alert_create.json")));
    out.push((
        "alertmanager",
        vec![],
        read("alertmanager/webhook_v4_firing.json"),
    ));
    for version in ["v0.4.1", "v0.5.1"] {
        let dir = root.join(format!("cdevents/{version}/conformance"));
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        files.sort_by_key(|f| f.path());
        for f in files {
            let v: Value = serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap();
            let ce_type = v["context"]["type"].as_str().unwrap_or("").to_string();
            out.push(("cdevents", vec![("ce-type".to_string(), ce_type)], v));
        }
    }
    out.push((
        "events",
        vec![],
        json!([
            {"type":"change","repo":"r","sha":"aaaaaaa","parents":["bbbbbbb"],"committed_at":"2026-03-01T09:00:00Z","author":"ana"},
            {"type":"pull_request","id":"pr-1","repo":"r","opened_at":"2026-03-01T09:00:00Z","merged_at":"2026-03-02T09:00:00Z","commits":["aaaaaaa"],"additions":3},
            {"type":"deployment","id":"d1","service":"web","environment":"prod","finished_at":"2026-03-01T10:00:00Z","repo":"r","sha":"aaaaaaa","changes":["aaaaaaa"]},
            {"type":"incident","id":"i1","service":"web","started_at":"2026-03-01T11:00:00Z","resolved_at":"2026-03-01T12:00:00Z","caused_by":"d1"},
            {"type":"annotation","id":"a1","scope":{"team":"t"},"kind":"freeze","from":"2026-03-01T00:00:00Z","title":"freeze"}
        ]),
    ));
    out
}

/// One change to a JSON document, at a position chosen by `at`.
#[derive(Debug, Clone)]
enum Mutation {
    Drop,
    Replace(Value),
    Truncate,
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,24}".prop_map(Value::String),
        Just(json!("2026-02-30T25:61:00Z")),
        Just(json!("")),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
    ]
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Drop),
        any_json().prop_map(Mutation::Replace),
        Just(Mutation::Truncate),
    ]
}

/// Applies `m` to the `at`-th node of `v` (in a depth-first walk).
fn mutate(v: &mut Value, at: &mut usize, m: &Mutation) -> bool {
    if *at == 0 {
        match m {
            Mutation::Replace(new) => *v = new.clone(),
            Mutation::Truncate => match v {
                Value::String(s) => *s = s.chars().take(s.chars().count() / 2).collect(),
                Value::Array(a) => a.truncate(a.len() / 2),
                Value::Object(o) => {
                    let keep: Vec<String> = o.keys().take(o.len() / 2).cloned().collect();
                    o.retain(|k, _| keep.contains(k));
                }
                other => *other = Value::Null,
            },
            Mutation::Drop => *v = Value::Null,
        }
        return true;
    }
    *at -= 1;
    match v {
        Value::Array(items) => {
            for i in 0..items.len() {
                if *at == 0 && matches!(m, Mutation::Drop) {
                    items.remove(i);
                    return true;
                }
                if mutate(&mut items[i], at, m) {
                    return true;
                }
            }
            false
        }
        Value::Object(fields) => {
            let keys: Vec<String> = fields.keys().cloned().collect();
            for k in keys {
                if *at == 0 && matches!(m, Mutation::Drop) {
                    fields.remove(&k);
                    return true;
                }
                if let Some(child) = fields.get_mut(&k)
                    && mutate(child, at, m)
                {
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

fn settings() -> SourceSettings {
    SourceSettings {
        secrets: vec!["s".into()],
        services: [("myApp".to_string(), "web".to_string())].into(),
        deploy_workflows: vec!["Deploy".into(), "myPipeline".into()],
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        source_file: Some(file!()),
        ..Config::default()
    })
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
    runner(cases)
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
    runner(cases)
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
    runner(cases)
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
    receivers_take_mutated_payloads(cases());
}

#[test]
fn receivers_never_panic_on_arbitrary_bodies() {
    receivers_take_anything(cases());
}

#[test]
fn the_json_lines_reader_never_panics() {
    json_lines_take_anything(cases());
}

/// The long run: `cargo test -p lantern-sources --test fuzz -- --ignored`.
#[test]
#[ignore]
fn a_million_cases_each() {
    receivers_take_mutated_payloads(1_000_000);
    receivers_take_anything(1_000_000);
    json_lines_take_anything(1_000_000);
}
