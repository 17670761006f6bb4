//! `lantern serve` taking webhook deliveries while other processes work on
//! the same SQLite file, as the README suggests (a cron import beside the
//! server): no delivery is answered 5xx for a lock, every acknowledged
//! event is stored once, and every CLI command succeeds.

mod common;

use common::{Env, http, stderr, words};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Ten days ago: recent enough that `retention run` keeps it.
fn recent() -> String {
    let day = 86_400 * 1_000_000;
    lantern_events::Timestamp::now()
        .plus_micros(-10 * day)
        .to_rfc3339()
}

#[test]
fn cli_commands_beside_the_server_never_make_a_delivery_fail() {
    // SQLite only: PostgreSQL has no file lock to contend for.
    let env = Env::sqlite();
    let ingest = env.token(&["--role", "ingest", "--source", "events"]);
    let at = recent();
    let history = format!(
        r#"{{"type":"change","repo":"r","sha":"aaaaaaa","committed_at":"{at}","author":"ana"}}
{{"type":"deployment","id":"cli-1","service":"web","environment":"prod","finished_at":"{at}","repo":"r","sha":"aaaaaaa"}}
"#
    );
    let file = env.write("one.jsonl", &history);
    let (_server, address) = env.serve();
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<(u16, String)>::new()));
    // Two clients post one deployment each time, as delivery tools do.
    let clients: Vec<_> = (0..2)
        .map(|client| {
            let (stop, answers) = (stop.clone(), answers.clone());
            let (address, ingest, at) = (address.clone(), ingest.clone(), at.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut n = 0;
                // Bounded in count and time, whatever happens.
                while !stop.load(Ordering::Relaxed)
                    && n < 20_000
                    && started.elapsed() < Duration::from_secs(60)
                {
                    let body = format!(
                        r#"{{"type":"deployment","id":"hook-{client}-{n}","service":"web","environment":"prod","finished_at":"{at}"}}"#
                    );
                    let (status, text) = http(&address, &ingest, "POST", "/hooks/events", &body);
                    answers.lock().unwrap().push((status, format!("hook-{client}-{n}: {text}")));
                    n += 1;
                }
            })
        })
        .collect();
    let file = file.to_str().unwrap().to_string();
    let commands: Vec<Vec<&str>> = vec![
        words("report --format json --from 2026-01-01"),
        vec!["import", "events", &file],
        words("report --service web --format json --from 2026-01-01"),
        vec!["import", "events", &file],
        words("retention run"),
        words("report --format json --bucket week --from 2026-01-01"),
        vec!["import", "events", &file],
        words("report --format json --from 2026-01-01"),
    ];
    for _round in 0..3 {
        for args in &commands {
            let out = env.run(args);
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let answers = answers.lock().unwrap();
    assert!(answers.len() > 50, "only {} deliveries", answers.len());
    eprintln!(
        "{} deliveries beside {} CLI commands",
        answers.len(),
        3 * commands.len()
    );
    let failed: Vec<_> = answers.iter().filter(|(s, _)| *s >= 500).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {:?}",
        failed.len(),
        answers.len(),
        &failed[..failed.len().min(5)]
    );
    // Every acknowledged delivery is stored, once (ids are distinct).
    let acknowledged = answers.iter().filter(|(s, _)| *s == 200).count();
    let stored = env
        .query_text_flag("SELECT id, 1 FROM deployments WHERE id LIKE 'hook-%'")
        .len();
    assert_eq!(stored, acknowledged);
}
