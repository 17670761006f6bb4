//! `lantern serve` and `lantern deadletter` as a user runs them: the real
//! binary, a real port, plain HTTP over a TCP socket.

mod common;

use common::http;
use common::{Env, words};
use lantern_events::Timestamp;
use lantern_store::DeadLetter;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

#[test]
fn serve_takes_events_answers_reports_and_stops_gracefully() {
    let env = Env::new();
    // A first run: no token can sign in yet, and the server says how to
    // make one.
    {
        let (_server, _, said) = env.serve_saying();
        let said = said.join("\n");
        assert!(said.contains("No token can sign in yet"), "{said}");
        assert!(said.contains("lantern token create --role admin"), "{said}");
    }
    let ingest = env.token(&["--role", "ingest", "--source", "events"]);
    let viewer = env.token(&["--role", "org_viewer"]);
    let admin = env.token(&["--role", "admin"]);
    let (mut server, address) = env.serve();
    assert_eq!(http(&address, "", "GET", "/healthz", "").0, 200);
    // Without a token, neither the receiver nor the API answers.
    assert_eq!(http(&address, "", "POST", "/hooks/events", "[]").0, 401);
    assert_eq!(http(&address, "", "GET", "/api/v1/catalog", "").0, 401);
    let events = r#"[
        {"type":"change","repo":"r","sha":"aaaaaaa","committed_at":"2026-03-01T09:00:00Z"},
        {"type":"change","repo":"r","sha":"bbbbbbb","parents":["aaaaaaa"],"committed_at":"2026-03-02T09:00:00Z"},
        {"type":"deployment","id":"d1","service":"web","environment":"prod","finished_at":"2026-03-01T10:00:00Z","repo":"r","sha":"aaaaaaa"},
        {"type":"deployment","id":"d2","service":"web","environment":"prod","finished_at":"2026-03-02T10:00:00Z","repo":"r","sha":"bbbbbbb"}
    ]"#;
    let (status, body) = http(&address, &ingest, "POST", "/hooks/events", events);
    assert_eq!(status, 200, "{body}");
    let (status, body) = http(
        &address,
        &ingest,
        "POST",
        "/hooks/events",
        r#"{"type":"deployment"}"#,
    );
    assert_eq!(status, 400, "{body}");
    let path = "/api/v1/report?service=web&from=2026-03-01&to=2026-04-01";
    // No author is known, so fewer than 3 contributors: an org viewer sees
    // that the figures are withheld and why (governance rule 2).
    let (status, body) = http(&address, &viewer, "GET", path, "");
    assert_eq!(status, 200, "{body}");
    let withheld: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(withheld["suppressed"], true);
    assert_eq!(withheld["reason"], "fewer than 3 contributors");
    assert!(withheld.get("deployment_frequency").is_none());
    let (status, body) = http(&address, &admin, "GET", path, "");
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["deployment_frequency"]["count"], 2);
    assert_eq!(report["lead_time"]["count"], 1);
    assert_eq!(report["lead_time"]["median_s"], 3600.0);

    // Rule 7: the API explains the metrics with `lantern explain`'s text.
    let (status, docs) = http(&address, &viewer, "GET", "/api/v1/metrics/docs", "");
    assert_eq!(status, 200);
    let explained = env.run(&["explain", "--json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&docs).unwrap(),
        serde_json::from_slice::<Value>(&explained.stdout).unwrap()
    );

    // SIGTERM: the server finishes and exits cleanly.
    Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(server.0.wait().unwrap().success());

    // The CLI sees what the server stored, and the dead letter.
    let out = env.run(&words(
        "report --service web --from 2026-03-01 --to 2026-04-01 --format json",
    ));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli, report, "the CLI and the API give one document");
    let out = env.run(&["deadletter", "list", "--json"]);
    let letters: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(letters.as_array().unwrap().len(), 1);
    assert!(letters[0]["reason"].as_str().unwrap().contains("id"));
    // Still unmappable: kept, and the command says so with its exit code.
    let out = env.run(&["deadletter", "replay"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("still failing 1"));
    // Reading raw deliveries, replaying them and exporting are recorded.
    let actions = env.audit_actions();
    for action in words("deadletter.list deadletter.replay report.export configuration.change") {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[test]
fn a_replayed_dead_letter_that_now_maps_is_stored_and_dropped() {
    let env = Env::new();
    // As if an older, stricter mapping had refused a good body.
    let mut store = env.location().open().unwrap();
    let body = br#"{"type":"deployment","id":"d9","service":"web","environment":"production","finished_at":"2026-03-05T10:00:00Z"}"#;
    let id = store
        .add_dead_letter(&DeadLetter {
            id: 0,
            received_at: Timestamp::from_micros(0),
            source: "events".into(),
            reason: "an older mapping refused it".into(),
            headers: vec![("x-delivery".into(), "1".into())],
            body: body.to_vec(),
        })
        .unwrap();
    drop(store);
    let out = env.run(&["deadletter", "replay", "42"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no dead letter [42]"));
    let out = env.run(&["deadletter", "replay", &id.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let store = env.location().open().unwrap();
    assert!(store.dead_letters().unwrap().is_empty());
    assert_eq!(store.counts().unwrap().deployments, 1);
}

/// Like `http`, but an error (the server is gone) is `None`.
fn try_post(address: &str, token: &str, body: &str) -> Option<u16> {
    let mut s = TcpStream::connect(address).ok()?;
    write!(
        s,
        "POST /hooks/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    response.get(9..12)?.parse().ok()
}

#[test]
fn every_acknowledged_delivery_survives_a_kill_9() {
    let env = Env::new();
    let ingest = env.token(&["--role", "ingest", "--source", "events"]);
    let (mut server, address) = env.serve();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (address, stop, ingest) = (address.clone(), stop.clone(), ingest.clone());
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for n in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("d-{c}-{n}");
                    let body = format!(
                        r#"{{"type":"deployment","id":"{id}","service":"web","environment":"production","finished_at":"2026-03-01T10:00:00Z"}}"#
                    );
                    match try_post(&address, &ingest, &body) {
                        Some(200) => acknowledged.push(id),
                        Some(_) => panic!("a delivery was refused"),
                        None => break, // the server is gone
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(800));
    Command::new("kill")
        .args(["-KILL", &server.0.id().to_string()])
        .status()
        .unwrap();
    server.0.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acknowledged: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(
        acknowledged.len() > 50,
        "only {} deliveries",
        acknowledged.len()
    );

    // Restarted, the store holds every acknowledged delivery, once.
    let store = env.location().open().unwrap();
    let stored: std::collections::BTreeSet<String> = store
        .load(None)
        .unwrap()
        .deployments
        .iter()
        .map(|d| d.id.to_string())
        .collect();
    for id in &acknowledged {
        assert!(
            stored.contains(id),
            "{id} was acknowledged but is not stored"
        );
    }
    assert!(stored.len() >= acknowledged.len());
    assert!(
        stored.len() <= acknowledged.len() + 4,
        "at most one unanswered delivery per client"
    );
}
