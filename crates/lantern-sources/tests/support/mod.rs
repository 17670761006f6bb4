//! Inputs for fuzzing the receivers, shared by this crate's harness and
//! the server's (which posts them over HTTP with valid signatures): the
//! vendors' own payloads, arbitrary JSON, and mutations of either.
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::{Value, json};
use std::path::Path;

/// Cases per property: `LANTERN_FUZZ_CASES`, or 10 000 (as CI runs them).
pub fn cases() -> u32 {
    std::env::var("LANTERN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// A runner of `cases` that keeps failing inputs beside `source_file` (in
/// `proptest-regressions/`) and replays them first on every run.
pub fn runner(cases: u32, source_file: &'static str) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(source_file),
        ..Config::default()
    })
}

/// A receiver's name, the headers its mapping reads, and a payload.
pub type Fixture = (&'static str, Vec<(String, String)>, Value);

/// Each receiver's real payloads (copies kept with the server's tests),
/// with the headers its mapping reads.
pub fn fixtures() -> Vec<Fixture> {
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
        ("issues", "github/issues/labeled.payload.json"),
    ] {
        let headers = vec![("x-github-event".to_string(), event.to_string())];
        out.push(("github", headers, read(file)));
    }
    out.push(("gitlab", vec![], read("gitlab/deployment_hook.json")));
    out.push(("gitlab", vec![], read("gitlab/pipeline_hook.json")));
    out.push(("gitlab", vec![], read("gitlab/incident_issue_hook.json")));
    out.push(("jira", vec![], read("jira/issue_updated.json")));
    out.push((
        "launchdarkly",
        vec![],
        read("launchdarkly/flag_updated.json"),
    ));
    out.push((
        "unleash",
        vec![],
        read("unleash/feature_environment_enabled.json"),
    ));
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
pub enum Mutation {
    Drop,
    Replace(Value),
    Truncate,
}

pub fn leaf() -> impl Strategy<Value = Value> {
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
pub fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Drop),
        any_json().prop_map(Mutation::Replace),
        Just(Mutation::Truncate),
    ]
}

/// Applies `m` to the `at`-th node of `v` (in a depth-first walk).
pub fn mutate(v: &mut Value, at: &mut usize, m: &Mutation) -> bool {
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
