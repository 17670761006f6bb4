#![allow(dead_code)]
use lantern_engine::*;
use lantern_events::*;
use serde_json::Value;

pub fn events(lines: &[&str]) -> EventSet {
    let p = Pseudonymiser::from_key([9; 32]);
    EventSet::from_events(
        lines
            .iter()
            .map(|l| parse_event_json(l, &p).unwrap_or_else(|e| panic!("{l}: {e}"))),
    )
}

pub fn window(from: &str, to: &str) -> Window {
    Window::new(
        Timestamp::parse_bound(from).unwrap(),
        Timestamp::parse_bound(to).unwrap(),
    )
    .unwrap()
}

pub fn service(name: &str) -> Scope {
    Scope::Service(Name::parse(name).unwrap())
}

pub fn json(events: &EventSet, scope: &Scope, from: &str, to: &str) -> Value {
    let r = report(events, scope, window(from, to), &EngineConfig::default());
    serde_json::to_value(r).unwrap()
}

/// A linear history c1 ← c2 ← … in repo `r`, commit n at hour n of 2026-03-01.
pub fn linear(n: u32) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let parents = if i > 1 { format!(r#","parents":["{:07x}"]"#, i - 1) } else { String::new() };
            format!(
                r#"{{"type":"change","repo":"r","sha":"{i:07x}"{parents},"committed_at":"2026-03-01T{:02}:00:00Z"}}"#,
                i % 24
            )
        })
        .collect()
}

pub fn deploy(id: &str, sha: u32, at: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"deployment","id":"{id}","service":"s","environment":"production","finished_at":"{at}","repo":"r","sha":"{sha:07x}"{extra}}}"#
    )
}
