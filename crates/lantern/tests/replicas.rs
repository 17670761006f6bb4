//! Several `lantern serve` replicas on one PostgreSQL database, as behind
//! a load balancer: started together (their migrations take turns), fed
//! webhooks concurrently through all of them, read through all of them.
//! Every acknowledged event is counted exactly once, a report read through
//! one replica right after another acknowledged a delivery includes it,
//! the reports agree, and concurrent audited writes leave one intact
//! chain.
//!
//! Needs `LANTERN_TEST_POSTGRES` (a fresh database is created and dropped);
//! without it the test says it was skipped.

mod common;

use common::{Env, Server, http};
use serde_json::Value;

const REPLICAS: usize = 3;
const SENDERS_PER_REPLICA: usize = 2;
const DELIVERIES_PER_SENDER: usize = 40;

fn deployment(id: &str, service: usize, minute: usize) -> String {
    format!(
        r#"{{"type":"deployment","id":"{id}","service":"svc-{service}","environment":"production","finished_at":"2026-03-02T{:02}:{:02}:00Z"}}"#,
        minute / 60 % 24,
        minute % 60
    )
}

const REPORT: &str = "/api/v1/report?from=2026-03-01&to=2026-03-05";

fn count(address: &str, token: &str) -> u64 {
    let (status, body) = http(address, token, "GET", REPORT, "");
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    report["deployment_frequency"]["count"].as_u64().unwrap()
}

#[test]
fn replicas_on_one_postgresql_count_every_acknowledged_event_once() {
    let Some(db) = lantern_store::testing::database("replicas") else {
        return;
    };
    let env = Env::on(db);
    // Started together on an empty database: migrations take turns, and
    // the one key file is created once for all.
    let replicas: Vec<(Server, String)> = std::thread::scope(|s| {
        let starting: Vec<_> = (0..REPLICAS).map(|_| s.spawn(|| env.serve())).collect();
        starting.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let addresses: Vec<String> = replicas.iter().map(|(_, a)| a.clone()).collect();
    // Grants made after the replicas started are seen by all of them.
    let ingest = env.token(&["--role", "ingest", "--source", "events"]);
    // Admins see figures whatever the group size (no contributors here).
    let admin = env.token(&["--role", "admin"]);

    // Read your writes through another replica.
    let before = count(&addresses[1], &admin);
    let (status, body) = http(
        &addresses[0],
        &ingest,
        "POST",
        "/hooks/events",
        &deployment("first", 0, 0),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(count(&addresses[1], &admin), before + 1);
    assert_eq!(count(&addresses[2], &admin), before + 1);

    // Concurrent deliveries through every replica. Each sender also
    // re-sends its previous delivery through the next replica, as a
    // retrying source would: same id, counted once.
    let senders: Vec<_> = (0..REPLICAS * SENDERS_PER_REPLICA)
        .map(|sender| {
            let addresses = addresses.clone();
            let ingest = ingest.clone();
            std::thread::spawn(move || {
                let mut acknowledged = std::collections::BTreeSet::new();
                for n in 0..DELIVERIES_PER_SENDER {
                    let id = format!("s{sender}-{n}");
                    let body = deployment(&id, (sender + n) % 5, sender * 60 + n);
                    let here = &addresses[(sender + n) % REPLICAS];
                    let (status, answer) = http(here, &ingest, "POST", "/hooks/events", &body);
                    assert_eq!(status, 200, "{answer}");
                    acknowledged.insert(id);
                    let there = &addresses[(sender + n + 1) % REPLICAS];
                    let (status, answer) = http(there, &ingest, "POST", "/hooks/events", &body);
                    assert_eq!(status, 200, "{answer}");
                }
                acknowledged
            })
        })
        .collect();
    // Audited writes through every replica at the same time.
    let writers: Vec<_> = (0..REPLICAS)
        .map(|r| {
            let address = addresses[r].clone();
            let admin = admin.clone();
            std::thread::spawn(move || {
                for n in 0..10 {
                    let note = format!(
                        r#"{{"kind":"migration","scope":{{"service":"svc-{r}"}},"from":"2026-03-0{}","title":"replica {r}, note {n}"}}"#,
                        1 + n % 4
                    );
                    let (status, body) = http(&address, &admin, "POST", "/api/v1/annotations", &note);
                    assert_eq!(status, 201, "{body}");
                }
            })
        })
        .collect();
    let mut acknowledged = std::collections::BTreeSet::from(["first".to_string()]);
    for s in senders {
        acknowledged.extend(s.join().unwrap());
    }
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(
        acknowledged.len(),
        1 + REPLICAS * SENDERS_PER_REPLICA * DELIVERIES_PER_SENDER
    );

    // Every replica counts each acknowledged deployment once, and all
    // three give the same report.
    let reports: Vec<Value> = addresses
        .iter()
        .map(|a| {
            let (status, body) = http(a, &admin, "GET", REPORT, "");
            assert_eq!(status, 200, "{body}");
            serde_json::from_str(&body).unwrap()
        })
        .collect();
    for r in &reports {
        assert_eq!(
            r["deployment_frequency"]["count"].as_u64().unwrap(),
            before + acknowledged.len() as u64,
        );
        assert_eq!(r, &reports[0], "the replicas disagree");
    }

    // One chain, no fork, no gap: 30 annotations besides the rest.
    for a in &addresses {
        let (status, body) = http(a, &admin, "GET", "/api/v1/audit/verify", "");
        assert_eq!(status, 200, "{body}");
        let verdict: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(verdict["intact"], true, "{verdict}");
    }
    let (_, body) = http(&addresses[0], &admin, "GET", "/api/v1/audit", "");
    let log: Value = serde_json::from_str(&body).unwrap();
    let entries = log
        .as_array()
        .or(log["entries"].as_array())
        .expect("the audit log lists entries");
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gaps or repeats in {seqs:?}"
    );
    let annotations = entries
        .iter()
        .filter(|e| e["action"] == "annotation.create")
        .count();
    assert_eq!(annotations, 3 * 10);
    drop(replicas);
}
