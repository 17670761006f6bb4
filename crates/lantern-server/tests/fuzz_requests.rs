//! Query strings and form bodies from outside, against the real server on
//! a random port: every route of the table, every role, parameters known
//! and unknown with values valid, odd and hostile. No answer is a 5xx, and
//! every refusal of the API is a problem document that says what is wrong.
//! `LANTERN_FUZZ_CASES` sets the cases (10 000 by default); `-- --ignored`
//! runs a million.

mod common;
#[path = "../../lantern-sources/tests/support/mod.rs"]
mod support;

use common::{TestApp, form, hmac_hex, spawn_app};
use proptest::prelude::*;
use serde_json::Value;

/// Percent-encodes everything but letters and digits.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b.is_ascii_alphanumeric() {
            true => (b as char).to_string(),
            false => format!("%{b:02X}"),
        })
        .collect()
}

fn value() -> impl Strategy<Value = String> {
    let token = "lantern_0123456789ab_".to_string() + &"0".repeat(64);
    let mut odd: Vec<String> = [
        "2026-03-01",
        "2026-03-01T00:00:00Z",
        "2026-02-30",
        "9999-12-31",
        "0000-01-01",
        "-1",
        "18446744073709551616",
        "day",
        "week",
        "payments",
        "checkout",
        "service:checkout",
        "/\t/evil.example",
    ]
    .map(str::to_string)
    .to_vec();
    odd.push(token);
    prop_oneof![
        prop::sample::select(odd),
        "\\PC{0,40}",
        prop::collection::vec(any::<u8>(), 0..12)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let known = [
        "service", "team", "from", "to", "bucket", "days", "since", "next", "scope", "kind",
        "title", "metric", "context", "role", "purpose", "token",
    ];
    let key = prop_oneof![
        prop::sample::select(known.to_vec()).prop_map(str::to_string),
        "[a-z]{1,8}",
    ];
    prop::collection::vec((key, value()), 0..6)
}

/// A runtime of its own: proptest's cases run synchronously, each request
/// blocks on it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn run(cases: u32) {
    let runtime = runtime();
    let app = runtime.block_on(spawn_app());
    let routes = lantern_server::routes::routes().table;
    let roles = ["anonymous", "admin", "org_viewer", "team_member"];
    let strategy = (
        0..routes.len(),
        0..roles.len(),
        pairs(),
        value(),
        any::<bool>(),
    );
    support::runner(cases, file!())
        .run(&strategy, |(route, role, pairs, segment, as_body)| {
            let route = &routes[route];
            // Path parameters get an odd value too.
            let mut path = String::new();
            for part in route.path.split('/').skip(1) {
                path.push('/');
                match part.starts_with('{') {
                    true => path.push_str(&encode(&segment)),
                    false => path.push_str(part),
                }
            }
            let fields: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let query: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            let body = (route.method != "GET" && as_body).then(|| {
                if route.page || route.path == "/sign-in" {
                    form(&fields)
                } else {
                    Value::Object(
                        pairs
                            .iter()
                            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                            .collect(),
                    )
                }
            });
            if body.is_none() && !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            let token = app.tokens.get(roles[role]).map(String::as_str);
            let r =
                runtime.block_on(app.send(token, route.method.as_str(), &path, &[], body.as_ref()));
            prop_assert!(
                r.status < 500,
                "{} {path} as {}: {} {}",
                route.method,
                roles[role],
                r.status,
                r.text
            );
            let problem = r
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/problem+json"));
            if r.status >= 400 && problem {
                let detail = r.json()["detail"].as_str().unwrap_or("").to_string();
                prop_assert!(!detail.trim().is_empty(), "{path}: {}", r.text);
            }
            Ok(())
        })
        .unwrap();
    runtime.block_on(app.stop());
}

/// Each receiver's vendor payloads, mutated, sent as their sender would:
/// signed or with the shared secret. Whatever the mapping or the store
/// make of them, the answer is never a 5xx.
fn deliveries(cases: u32) {
    let runtime = runtime();
    let app: TestApp = runtime.block_on(spawn_app());
    let fixtures = support::fixtures();
    let strategy = (
        0..fixtures.len(),
        prop::collection::vec((any::<usize>(), support::mutation()), 0..4),
    );
    support::runner(cases, file!())
        .run(&strategy, |(which, mutations)| {
            let (name, kept, payload) = &fixtures[which];
            let mut body = payload.clone();
            for (at, m) in &mutations {
                support::mutate(&mut body, &mut (at % 400), m);
            }
            let bytes = serde_json::to_vec(&body).unwrap();
            let mut headers: Vec<(String, String)> = kept.clone();
            match *name {
                "github" => headers.push((
                    "x-hub-signature-256".into(),
                    format!("sha256={}", hmac_hex(b"gh-secret", &bytes)),
                )),
                "pagerduty" => headers.push((
                    "x-pagerduty-signature".into(),
                    format!("v1={}", hmac_hex(b"test-secret", &bytes)),
                )),
                "gitlab" => headers.push(("x-gitlab-token".into(), "gl-token".into())),
                "opsgenie" => headers.push(("authorization".into(), "Bearer og-token".into())),
                "alertmanager" => headers.push(("authorization".into(), "Bearer am-token".into())),
                "cdevents" => headers.push(("authorization".into(), "Bearer cd-token".into())),
                "launchdarkly" => {
                    headers.push(("x-ld-signature".into(), hmac_hex(b"ld-secret", &bytes)))
                }
                "unleash" => headers.push(("authorization".into(), "Bearer un-token".into())),
                "jira" => headers.push((
                    "x-hub-signature".into(),
                    format!("sha256={}", hmac_hex(b"jira-secret", &bytes)),
                )),
                _ => headers.push((
                    "authorization".into(),
                    format!("Bearer {}", app.tokens["ingest"]),
                )),
            }
            let headers: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let path = format!("/hooks/{name}");
            let (status, _, answer) = runtime.block_on(app.post_with(&path, &headers, bytes));
            prop_assert!(status < 500, "{path}: {status} {answer}");
            prop_assert!(status != 401, "{path}: the signature is valid: {answer}");
            Ok(())
        })
        .unwrap();
    runtime.block_on(app.stop());
}

#[test]
fn no_query_or_form_makes_the_server_fail() {
    run(support::cases());
}

/// The long run: `cargo test -p lantern-server --test fuzz_requests -- --ignored`.
#[test]
#[ignore]
fn a_million_requests() {
    run(1_000_000);
    deliveries(1_000_000);
}

#[test]
fn mutated_signed_deliveries_never_make_a_receiver_fail() {
    deliveries(support::cases());
}
