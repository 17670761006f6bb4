//! Digests and alerts to chat, posted to a receiver on loopback by the
//! running server: the weekly digest in Slack's, Teams' and Lantern's own
//! JSON (figures checked, a small team's withheld), burn-rate alerts, a
//! gate's deny, a refused target given up on and shown to admins; and the
//! retries with backoff, attempt by attempt.

mod common;

use axum::http::StatusCode;
use lantern_events::{MICROS_PER_DAY, Pseudonymiser, Timestamp};
use lantern_store::{Delivery, NotifyStore, Store};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook receiver: records each POST's path and body; `/gone`
/// answers 404, `/flaky` 503 (Retry-After: 120) to its first two posts,
/// `/down` always 500, everything else 200.
async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let kept = seen.clone();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: String| {
        let kept = kept.clone();
        async move {
            let path = uri.path().to_string();
            let value: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
            let mut seen = kept.lock().unwrap();
            seen.push((path.clone(), value));
            let tries = seen.iter().filter(|(p, _)| *p == path).count();
            match path.as_str() {
                "/gone" => (StatusCode::NOT_FOUND, [("retry-after", "0")], "no_service"),
                "/flaky" if tries <= 2 => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [("retry-after", "120")],
                    "busy",
                ),
                "/down" => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [("retry-after", "x")],
                    "",
                ),
                _ => (StatusCode::OK, [("retry-after", "0")], "ok"),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), seen)
}

fn posted(seen: &Seen, path: &str) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, v)| v.clone())
        .collect()
}

use lantern_app::notify::target::WEEKDAYS;

fn catalog(receiver: &str, today: i64) -> lantern_app::Settings {
    let weekday = WEEKDAYS[(today + 3).rem_euclid(7) as usize];
    lantern_app::Settings::parse(
        &format!(
            r#"
[[teams]]
name = "payments"
services = ["checkout"]
[[teams]]
name = "search"
services = ["search-api"]
[[slos]]
name = "checkout-availability"
service = "checkout"
objective = 0.99
[gate]
enforce = true
[[notify]]
name = "payments-slack"
format = "slack"
url = "{receiver}/slack"
team = "payments"
digest_day = "{weekday}"
digest_hour = 0
[[notify]]
name = "payments-teams"
format = "teams"
url = "{receiver}/teams"
team = "payments"
send = ["digest"]
digest_day = "{weekday}"
digest_hour = 0
[[notify]]
name = "search-json"
format = "json"
url = "{receiver}/json"
team = "search"
digest_day = "{weekday}"
digest_hour = 0
[[notify]]
name = "payments-gone"
format = "json"
url = "{receiver}/gone"
team = "payments"
send = ["gate"]
"#
        ),
        None,
    )
    .unwrap()
}

/// Two weeks of checkout: 7 deployments in the last whole week, 4 in the
/// week before, each shipping one change by one of three people, made
/// two hours before; an annotation in the week; search-api deployed with
/// nobody's commits behind it (too small a group); the last two hours of
/// checkout's SLO counts all bad.
fn history(today: i64, now: Timestamp) -> Vec<Value> {
    let day =
        |d: i64, h: i64| Timestamp::from_micros((today + d) * MICROS_PER_DAY + h * 3_600_000_000);
    let mut events = Vec::new();
    let mut ship = |id: String, at: Timestamp, who: &str, n: usize| {
        let sha = format!("{n:040x}");
        events.push(json!({"type": "change", "repo": "acme/shop", "sha": sha,
            "committed_at": at.plus_micros(-7_200_000_000).to_rfc3339(), "author": format!("{who}@example.com")}));
        events.push(json!({"type": "deployment", "id": id, "service": "checkout", "environment": "production",
            "finished_at": at.to_rfc3339(), "repo": "acme/shop", "sha": sha, "changes": [sha]}));
    };
    let people = ["alice", "bob", "carol"];
    for i in 0..7 {
        ship(
            format!("w{i}"),
            day(-7 + i, 12),
            people[i as usize % 3],
            i as usize + 1,
        );
    }
    for i in 0..4 {
        ship(
            format!("p{i}"),
            day(-14 + i, 12),
            people[i as usize % 3],
            i as usize + 100,
        );
    }
    events.push(
        json!({"type": "deployment", "id": "s1", "service": "search-api",
        "environment": "production", "finished_at": day(-2, 10).to_rfc3339()}),
    );
    events.push(json!({"type": "annotation", "id": "a1", "scope": {"team": "payments"}, "kind": "freeze",
        "from": day(-5, 0).to_rfc3339(), "to": day(-4, 0).to_rfc3339(), "title": "Payment provider migration"}));
    let five = 300_000_000;
    let end = Timestamp::from_micros(now.micros() / five * five);
    for i in 0..24 {
        let from = end.plus_micros((i - 24) * five);
        events.push(
            json!({"type": "sli", "slo": "checkout-availability", "from": from.to_rfc3339(),
            "to": from.plus_micros(five).to_rfc3339(), "good": 0, "total": 1000}),
        );
    }
    events
}

async fn wait_for(what: &str, done: impl Fn() -> bool) {
    for _ in 0..150 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("waited 30 s for {what}");
}

#[tokio::test]
async fn the_server_posts_digests_alerts_and_denials_and_shows_what_failed() {
    let (base, seen) = receiver().await;
    let now = Timestamp::now();
    let today = now.micros().div_euclid(MICROS_PER_DAY);
    let file = catalog(&base, today);
    let events = history(today, now);
    let app = common::spawn_app_seeded(
        |s| {
            s.app.teams = file.teams.clone();
            s.app.slos = file.slos.clone();
            s.app.gate = file.gate;
            s.app.notify = file.notify.clone();
            s.app.public_url = Some("https://lantern.example".into());
        },
        |store: &mut dyn Store| {
            let p = Pseudonymiser::from_key(common::KEY);
            let parsed: Vec<_> = events
                .iter()
                .map(|e| lantern_events::parse_event(e, &p).unwrap())
                .collect();
            store.write(&parsed).unwrap();
        },
    )
    .await;

    wait_for("three digests and an alert", || {
        posted(&seen, "/slack").len() >= 2
            && !posted(&seen, "/teams").is_empty()
            && !posted(&seen, "/json").is_empty()
    })
    .await;
    let week_from = lantern_app::format::day(Timestamp::from_micros((today - 7) * MICROS_PER_DAY));
    let week_last = lantern_app::format::day(Timestamp::from_micros((today - 1) * MICROS_PER_DAY));
    let title = format!("payments: the week {week_from} to {week_last}");

    // Slack: the digest's text and blocks.
    let slack = posted(&seen, "/slack");
    let digest = slack
        .iter()
        .find(|m| m["text"] == title)
        .expect("the payments digest in Slack");
    let text = digest["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(
        text.contains(
            "Deployment frequency: 1 a day (week before 0.57 a day; +0.43 a day (+75 %))"
        ),
        "{text}"
    );
    assert!(text.contains("Lead time for changes: 2 hours"), "{text}");
    assert!(text.contains("• freeze ("), "{text}");
    assert!(text.contains("Payment provider migration"), "{text}");
    assert!(
        text.contains("checkout-availability (checkout): budget exhausted"),
        "{text}"
    );
    assert_eq!(
        digest["blocks"][2]["elements"][0]["text"],
        "<https://lantern.example/teams/payments|Open in Lantern>"
    );
    // Burn-rate alerts: the fast tier pages.
    let fast = slack
        .iter()
        .find(|m| m["text"] == "checkout-availability is burning its error budget (page)")
        .expect("the page alert in Slack");
    assert!(
        fast["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("The fast tier fires")
    );

    // Teams: an Adaptive Card with the same lines.
    let teams = posted(&seen, "/teams");
    assert_eq!(
        teams.len(),
        1,
        "a digest only: this target sends nothing else"
    );
    let card = &teams[0]["attachments"][0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["body"][0]["text"], title);
    assert!(card["body"].as_array().unwrap().iter().any(|b| {
        b["text"]
            .as_str()
            .unwrap_or("")
            .starts_with("Deployment frequency: 1 a day")
    }));

    // Lantern's JSON for search: withheld from a channel (rule 2).
    let search = posted(&seen, "/json");
    assert_eq!(search.len(), 1);
    assert_eq!(search[0]["lantern"], 1);
    assert_eq!(search[0]["kind"], "digest");
    assert_eq!(search[0]["data"]["suppressed"], true);
    assert!(search[0]["data"].get("figures").is_none());
    assert!(
        search[0]["lines"][0]
            .as_str()
            .unwrap()
            .starts_with("Figures not shown here: fewer than 3 contributors")
    );

    // The figures for programs, exact.
    let (status, report) = app
        .get(&format!(
            "/api/v1/report?team=payments&from={week_from}&to={}&compare=previous",
            lantern_app::format::day(Timestamp::from_micros(today * MICROS_PER_DAY))
        ))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["deployment_frequency"]["per_day"], 1.0);

    // A gate's deny reaches the team's targets that take it.
    let (status, gate) = app
        .get_as(Some(&app.tokens["gate"]), "/api/v1/gate?service=checkout")
        .await;
    assert_eq!(status, 200, "{gate}");
    assert_eq!(gate["decision"], "deny");
    wait_for("the deny in Slack and at the gone target", || {
        posted(&seen, "/slack")
            .iter()
            .any(|m| m["text"] == "The deploy gate denied a deployment of checkout")
            && !posted(&seen, "/gone").is_empty()
    })
    .await;
    let gone = posted(&seen, "/gone");
    assert_eq!(gone[0]["kind"], "gate");
    assert_eq!(gone[0]["data"]["decision"], "deny");

    // Nothing about a person left Lantern.
    for (_, body) in seen.lock().unwrap().iter() {
        let text = body.to_string();
        for name in ["alice", "bob", "carol", "example.com"] {
            assert!(!text.contains(name), "{name} in {text}");
        }
    }

    // Each ran once: more ticks queue nothing new; the 404 is not retried.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        posted(&seen, "/slack")
            .iter()
            .filter(|m| m["text"] == title)
            .count(),
        1
    );
    assert_eq!(posted(&seen, "/teams").len(), 1);
    assert_eq!(posted(&seen, "/gone").len(), 1);

    // Recorded as exports; the refusal shown to admins, and in doctor.
    let audit = app.audit_log().await;
    for action in ["notify.digest", "notify.burn", "notify.gate"] {
        assert!(
            audit.iter().any(|e| e["action"] == action),
            "{action} not recorded"
        );
    }
    assert!(
        !audit.iter().any(|e| e.to_string().contains("/gone")),
        "the address is a secret"
    );
    let page = app.page(&app.tokens["admin"], "/admin/notifications").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("data-notify=\"failing\""),
        "{}",
        page.text
    );
    assert!(page.text.contains("refused: HTTP 404: no_service"));
    assert!(
        !page.text.contains("/gone"),
        "the address is shown by its host only"
    );
    let (status, _) = app
        .get_as(Some(&app.tokens["org_viewer"]), "/admin/notifications")
        .await;
    assert_eq!(status, 403);
    let problems =
        app.with_store(|store| lantern_app::notify::problems(store, Timestamp::now()).unwrap());
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .text
            .contains("`payments-gone`: 1 message given up on this week"),
        "{}",
        problems[0].text
    );
    let _dir = app.stop().await;
}

#[tokio::test]
async fn a_failed_post_is_retried_with_backoff_and_given_up_after_eight() {
    let (base, seen) = receiver().await;
    let settings = lantern_app::Settings::parse(
        &format!(
            "[[teams]]\nname = \"payments\"\nservices = [\"checkout\"]\n\
             [[notify]]\nname = \"flaky\"\nformat = \"json\"\nurl = \"{base}/flaky\"\nteam = \"payments\"\n\
             [[notify]]\nname = \"down\"\nformat = \"json\"\nurl = \"{base}/down\"\nteam = \"payments\"\n"
        ),
        None,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = lantern_store::SqliteStore::open(&dir.path().join("l.db")).unwrap();
    let client = lantern_server::notify::client();
    let t0 = Timestamp::parse_rfc3339("2026-11-30T09:00:00Z").unwrap();
    let team = lantern_events::Name::parse("payments").unwrap();
    for target in &settings.notify {
        let message =
            lantern_app::notify::compose::test_message(&settings, &team, target.name.as_str());
        assert!(
            lantern_app::notify::queue(&mut store, target, "test:1".into(), &message, t0, "test")
                .unwrap()
        );
    }
    // One round of sending at `now`, as the server's tick does it.
    let send = async |store: &mut lantern_store::SqliteStore, now: Timestamp| {
        let due = lantern_app::notify::due(store, &settings, now, 10).unwrap();
        let mut ids = Vec::new();
        for item in due {
            let attempt = lantern_server::notify::attempt(&client, &item, now).await;
            lantern_app::notify::attempted(store, item.notification.id, &attempt).unwrap();
            ids.push(item.notification.target);
        }
        ids
    };
    let s = |n: i64| t0.plus_micros(n * 1_000_000);

    // flaky: 503 with Retry-After 120 s twice, then accepted; down
    // waits 30 s after its first failure.
    assert_eq!(send(&mut store, t0).await, ["flaky", "down"]);
    assert!(
        send(&mut store, s(29)).await.is_empty(),
        "nothing is due before its time"
    );
    assert_eq!(send(&mut store, s(30)).await, ["down"], "down waits 30 s");
    let flaky_due = |store: &lantern_store::SqliteStore, at: Timestamp| {
        lantern_app::notify::due(store, &settings, at, 10)
            .unwrap()
            .iter()
            .any(|d| d.notification.target == "flaky")
    };
    assert!(!flaky_due(&store, s(119)), "flaky asked for 120 s");
    assert!(flaky_due(&store, s(120)));
    let flaky = store.notifications(Some("flaky"), 1).unwrap().remove(0);
    assert_eq!(flaky.attempts, 1);
    assert_eq!(flaky.last_error.as_deref(), Some("HTTP 503: busy"));
    // Sent on its own, so down's schedule below is untouched.
    for (at, wait) in [(s(120), 240), (s(240), 0)] {
        let due = lantern_app::notify::due(&store, &settings, at, 10).unwrap();
        let item = due
            .into_iter()
            .find(|d| d.notification.target == "flaky")
            .unwrap();
        let url = item.target.as_ref().unwrap().url.expose().to_string();
        let posted = lantern_server::notify::post(&client, &url, item.body.as_ref().unwrap()).await;
        let attempt = lantern_app::notify::attempt(&item.notification, posted, at);
        if wait > 0 {
            assert!(
                matches!(&attempt, lantern_store::Attempt::Retry { next_at, .. } if *next_at == s(wait)),
                "the receiver's 120 s beat the backoff's 60 s: {attempt:?}"
            );
        }
        lantern_app::notify::attempted(&mut store, item.notification.id, &attempt).unwrap();
    }
    let flaky = store.notifications(Some("flaky"), 1).unwrap().remove(0);
    assert_eq!(flaky.state, Delivery::Delivered);
    assert_eq!(flaky.attempts, 3);
    let bodies = posted(&seen, "/flaky");
    assert_eq!(bodies.len(), 3);
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the same message each time"
    );
    assert_eq!(bodies[0]["title"], "Lantern can reach `flaky`");

    // down: 30 s, then doubling; the eighth failure gives up.
    let mut waits = Vec::new();
    let mut now = s(30);
    loop {
        let n = store.notifications(Some("down"), 1).unwrap().remove(0);
        if n.state != Delivery::Pending {
            break;
        }
        waits.push((n.next_at.micros() - now.micros()) / 1_000_000);
        now = n.next_at;
        assert_eq!(send(&mut store, now).await, ["down"]);
    }
    assert_eq!(waits, [60, 120, 240, 480, 960, 1920]);
    let down = store.notifications(Some("down"), 1).unwrap().remove(0);
    assert_eq!(down.state, Delivery::Failed);
    assert_eq!(down.attempts, 8);
    assert_eq!(
        down.last_error.as_deref(),
        Some("HTTP 500 (gave up after 8 attempts)")
    );
    assert_eq!(posted(&seen, "/down").len(), 8);
    let problems = lantern_app::notify::problems(&store, now).unwrap();
    assert_eq!(problems.len(), 1);
    assert!(problems[0].text.starts_with(
        "The notify target `down`: 1 message given up on this week (last error: HTTP 500"
    ));
}
