//! `lantern serve` pulling SLO counts from a real Prometheus (Debian's
//! `prometheus`), started on a free loopback port with a 1 s scrape of a
//! counter endpoint this test serves. Skipped when Prometheus is not
//! installed, unless `LANTERN_REQUIRE_PROMETHEUS` is set (CI sets it).

mod common;

use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A counter endpoint: 200 good and 10 bad requests a second since start.
async fn serve_counters() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let start = Instant::now();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let seconds = start.elapsed().as_secs_f64();
            tokio::spawn(async move {
                let mut request = [0u8; 2048];
                let _ = socket.read(&mut request).await;
                let body = format!(
                    "# TYPE shop_requests_total counter\n\
                     shop_requests_total{{code=\"200\"}} {}\n\
                     shop_requests_total{{code=\"500\"}} {}\n",
                    (200.0 * seconds).floor(),
                    (10.0 * seconds).floor()
                );
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    address
}

struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_prometheus(target: std::net::SocketAddr) -> Option<Prometheus> {
    start_prometheus_with(
        &format!("  - job_name: shop\n    static_configs:\n      - targets: ['{target}']\n"),
        "count_over_time(shop_requests_total%5B1m%5D)",
        3,
    )
    .await
}

/// A real Prometheus scraping every second with `scrapes` (YAML under
/// `scrape_configs:`), ready once `ready` (a URL-encoded query) counts at
/// least `at_least`.
async fn start_prometheus_with(scrapes: &str, ready: &str, at_least: u32) -> Option<Prometheus> {
    let binary = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(binary) = binary else {
        assert!(
            std::env::var_os("LANTERN_REQUIRE_PROMETHEUS").is_none(),
            "LANTERN_REQUIRE_PROMETHEUS is set but prometheus is not installed (apt-get install prometheus)"
        );
        eprintln!("skipped: prometheus is not installed");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n{scrapes}"
        ),
    )
    .unwrap();
    // A free port: bound, read, released for Prometheus.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let prometheus = Prometheus {
        child,
        url: url.clone(),
        _dir: dir,
    };
    // Ready, and with a few scrapes of the counters.
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let query = format!("{url}/api/v1/query?query={ready}");
        if let Ok(r) = client.get(&query).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|n| n.parse::<u32>().ok())
                >= Some(at_least)
        {
            return Some(prometheus);
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not scrape within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn the_server_pulls_slo_counts_from_a_real_prometheus() {
    let target = serve_counters().await;
    let Some(prometheus) = start_prometheus(target).await else {
        return;
    };
    let url = prometheus.url.clone();
    let app = common::spawn_app_with(move |s| {
        let file = lantern_app::Settings::parse(
            &format!(
                "[prometheus]\nurl = \"{url}\"\nstep_seconds = 2\n\
                 [[teams]]\nname = \"payments\"\nservices = [\"checkout\"]\n\
                 [[slos]]\nname = \"checkout-availability\"\nservice = \"checkout\"\nobjective = 0.9\n\
                 [slos.prometheus]\n\
                 good = 'sum(increase(shop_requests_total{{code=\"200\"}}[$window]))'\n\
                 total = 'sum(increase(shop_requests_total[$window]))'\n\
                 [[slos]]\nname = \"checkout-latency\"\nservice = \"checkout\"\nobjective = 0.9\n\
                 [slos.prometheus]\ngood = 'sum(nothing_here_total)'\ntotal = 'sum(nothing_here_total)'\n"
            ),
            None,
        )
        .unwrap();
        (s.app.slos, s.app.prometheus) = (file.slos, file.prometheus);
    })
    .await;
    // A few 2-second steps.
    let deadline = Instant::now() + Duration::from_secs(30);
    let slos = loop {
        let (status, slos) = app.get("/api/v1/slos?service=checkout").await;
        assert_eq!(status, 200, "{slos}");
        if slos[0]["total"].as_u64() >= Some(3 * 400) {
            break slos;
        }
        assert!(
            Instant::now() < deadline,
            "no counts pulled in 30 s: {slos}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // The ratio Prometheus measured: 200 good of 210 a second.
    let availability = &slos[0];
    assert_eq!(availability["name"], "checkout-availability");
    let sli = availability["sli"].as_f64().unwrap();
    assert!((sli - 200.0 / 210.0).abs() < 0.02, "{availability}");
    // An empty total is a gap, never zeros: no data.
    assert_eq!(slos[1]["name"], "checkout-latency");
    assert_eq!(slos[1]["status"], "no_data", "{}", slos[1]);
    assert!(slos[1]["slo_gaps"].as_u64() >= Some(1), "{}", slos[1]);
    assert_eq!(slos[0]["slo_gaps"], 0, "{}", slos[0]);
    let _dir = app.stop().await;
    drop(prometheus);
}

#[tokio::test]
async fn metrics_are_scraped_by_a_real_prometheus_and_agree_with_the_report() {
    let app = common::spawn_app().await;
    // Within the last 90 days (rule 2's look), three people's commits.
    let at = |d: i64, h: i64| {
        lantern_events::Timestamp::now()
            .plus_micros(-d * lantern_events::MICROS_PER_DAY + h * 3_600_000_000)
            .to_rfc3339()
    };
    let mut events: Vec<Value> = Vec::new();
    let shas = ["1111111", "2222222", "3333333"];
    for (i, (sha, who)) in shas.iter().zip(["ann", "bo", "cy"]).enumerate() {
        let mut c = serde_json::json!({"type": "change", "repo": "acme/shop", "sha": sha,
            "committed_at": at(20 - i as i64, 0), "author": format!("{who}@example.com")});
        if i > 0 {
            c["parents"] = serde_json::json!([shas[i - 1]]);
        }
        events.push(c);
    }
    for i in 0..6i64 {
        events.push(
            serde_json::json!({"type": "deployment", "id": format!("d{i}"), "service": "checkout",
            "environment": if i == 5 { "staging" } else { "production" },
            "finished_at": at(15 - i, 0), "repo": "acme/shop", "sha": shas[(i as usize).min(2)]}),
        );
    }
    events.push(
        serde_json::json!({"type": "incident", "id": "i1", "service": "checkout",
        "started_at": at(14, 1), "resolved_at": at(14, 3), "caused_by": "d1"}),
    );
    // search-api: deployed, but nobody's commits behind it (rule 2).
    events.push(
        serde_json::json!({"type": "deployment", "id": "s1", "service": "search-api",
        "environment": "production", "finished_at": at(3, 0)}),
    );
    events.push(
        serde_json::json!({"type": "incident", "id": "i2", "service": "checkout",
        "started_at": at(12, 1)}),
    );
    let (status, _, body) = app
        .post("/hooks/events", Value::Array(events).to_string())
        .await;
    assert_eq!(status, 200, "{body}");
    let token = app.tokens["metrics"].clone();
    let scrape = app.send(Some(&token), "get", "/metrics", &[], None).await;
    assert_eq!(scrape.status, 200, "{}", scrape.text);
    assert!(
        scrape
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = scrape.text.clone();
    // The real promtool accepts it.
    if let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        assert!(
            std::env::var_os("LANTERN_REQUIRE_PROMETHEUS").is_none(),
            "promtool is missing"
        );
    }
    // The counts are the report's over all time.
    let (_, report) = app
        .get("/api/v1/report?service=checkout&from=1970-01-01&to=2100-01-01")
        .await;
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .unwrap_or_else(|| panic!("{series} not in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        value(
            r#"lantern_deployments_total{service="checkout",environment="production",result="success"}"#
        ),
        report["deployment_frequency"]["count"].as_f64().unwrap()
    );
    assert_eq!(
        value(
            r#"lantern_deployments_total{service="checkout",environment="staging",result="success"}"#
        ),
        1.0
    );
    assert_eq!(
        value(r#"lantern_failed_deployments_total{service="checkout"}"#),
        report["change_failure_rate"]["failed"].as_f64().unwrap()
    );
    assert_eq!(
        value(r#"lantern_lead_time_seconds_count{service="checkout"}"#),
        report["lead_time"]["count"].as_f64().unwrap_or(0.0)
    );
    assert_eq!(
        value(r#"lantern_recovery_time_seconds_bucket{service="checkout",le="3600.0"}"#),
        0.0
    );
    assert_eq!(
        value(r#"lantern_recovery_time_seconds_bucket{service="checkout",le="86400.0"}"#),
        1.0
    );
    assert_eq!(value(r#"lantern_open_incidents{service="checkout"}"#), 1.0);
    assert_eq!(
        value(r#"lantern_service_info{service="checkout",team="payments"}"#),
        1.0
    );
    assert!(text.contains("lantern_build_info{version="));
    assert!(
        !text.contains("search-api"),
        "a group too small exports nothing:\n{text}"
    );
    // No sha, pull request or person: only these labels.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(labels) = line
            .split_once('{')
            .map(|(_, rest)| rest.split_once('}').unwrap().0)
        {
            for pair in labels.split("\",") {
                let key = pair.split('=').next().unwrap();
                assert!(
                    [
                        "service",
                        "environment",
                        "result",
                        "team",
                        "le",
                        "version",
                        "slo",
                        "window"
                    ]
                    .contains(&key),
                    "{line}"
                );
            }
        }
    }
    // OpenMetrics when asked; only metrics tokens and admins; a browser
    // is sent to the explanations.
    let om = app
        .send(
            Some(&token),
            "get",
            "/metrics",
            &[("accept", "application/openmetrics-text;version=1.0.0")],
            None,
        )
        .await;
    assert!(
        om.text.ends_with("# EOF\n") && om.text.contains("# TYPE lantern_deployments counter"),
        "{}",
        om.text
    );
    for role in ["org_viewer", "team_member", "ingest"] {
        let r = app
            .send(Some(&app.tokens[role]), "get", "/metrics", &[], None)
            .await;
        assert_eq!(r.status, 403, "{role}");
    }
    let browser = app
        .send(None, "get", "/metrics", &[("accept", "text/html")], None)
        .await;
    assert_eq!(
        (browser.status, browser.header("location")),
        (308, Some("/docs/metrics"))
    );
    // The metrics token reads nothing else.
    let r = app
        .send(Some(&token), "get", "/api/v1/report", &[], None)
        .await;
    assert_eq!(r.status, 403);

    // A real Prometheus scrapes it with the token, and reads the same.
    let target = app.base.trim_start_matches("http://").to_string();
    let scrapes = format!(
        "  - job_name: lantern\n    authorization:\n      credentials: '{token}'\n    static_configs:\n      - targets: ['{target}']\n"
    );
    let Some(prometheus) =
        start_prometheus_with(&scrapes, "count_over_time(lantern_build_info%5B1m%5D)", 1).await
    else {
        return;
    };
    let client = reqwest::Client::new();
    let q = format!(
        "{}/api/v1/query?query=lantern_deployments_total%7Bservice%3D%22checkout%22%2Cenvironment%3D%22production%22%7D",
        prometheus.url
    );
    let v: Value = client.get(&q).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        v["data"]["result"][0]["value"][1]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap(),
        report["deployment_frequency"]["count"].as_f64().unwrap(),
        "{v}"
    );
    let up: Value = client
        .get(format!(
            "{}/api/v1/query?query=up%7Bjob%3D%22lantern%22%7D",
            prometheus.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    // Every query of the Grafana dashboard is PromQL this Prometheus runs.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/grafana/lantern-dora.json"
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut ran = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$service", ".*")
                .replace("$team", ".*");
            let r: Value = client
                .get(format!(
                    "{}/api/v1/query?query={}",
                    prometheus.url,
                    encode(&expr)
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(r["status"], "success", "{expr}: {r}");
            ran += 1;
        }
    }
    assert!(ran >= 10, "{ran} queries");
    app.stop().await;
}

/// Percent-encodes a query parameter's value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of one series in an exposition.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("{series} not in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_scrape_reads_again_only_what_changed_and_stays_equal_to_the_report() {
    let app = common::spawn_app().await;
    // Days counted from 20 days ago, so that rule 2's 90 days hold them.
    let start = lantern_events::Timestamp::now().micros() / 86_400_000_000 - 20;
    let at = |day: u32, hour: u32| {
        lantern_events::Timestamp::from_micros(
            (start + i64::from(day)) * 86_400_000_000 + i64::from(hour) * 3_600_000_000,
        )
        .to_rfc3339()
    };
    let mut events = Vec::new();
    for (i, who) in ["ana", "ben", "cy"].iter().enumerate() {
        let sha = format!("{:040x}", i + 1);
        events.push(
            serde_json::json!({"type": "change", "repo": "acme/shop", "sha": sha,
            "committed_at": at(i as u32 + 1, 8), "author": format!("{who}@example.com")}),
        );
        events.push(serde_json::json!({"type": "deployment", "id": format!("d{i}"), "service": "checkout",
            "environment": "production", "finished_at": at(i as u32 + 1, 12), "repo": "acme/shop", "sha": sha}));
    }
    events.push(
        serde_json::json!({"type": "deployment", "id": "s1", "service": "search-api",
        "environment": "production", "finished_at": at(3, 0)}),
    );
    let post = async |events: Vec<Value>| {
        let (status, _, body) = app
            .post("/hooks/events", Value::Array(events).to_string())
            .await;
        assert_eq!(status, 200, "{body}");
    };
    post(events).await;
    let admin = app.tokens["admin"].clone();
    let scrape = async || {
        let answer = app.send(Some(&admin), "get", "/metrics", &[], None).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.text
    };
    let report = async || {
        app.get("/api/v1/report?service=checkout&from=1970-01-01&to=2100-01-01")
            .await
            .1
    };
    let deployed = r#"lantern_deployments_total{service="checkout",environment="production",result="success"}"#;
    let first = scrape().await;
    assert_eq!(
        sample(&first, "lantern_scrape_services_read"),
        2.0,
        "{first}"
    );
    assert_eq!(sample(&first, deployed), 3.0);
    let again = scrape().await;
    assert_eq!(
        sample(&again, "lantern_scrape_services_read"),
        0.0,
        "nothing changed"
    );
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("lantern_scrape_services_read"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&again), strip(&first), "the same figures, kept");

    // A deployment and an open incident of checkout: it alone is read again.
    post(vec![
        serde_json::json!({"type": "deployment", "id": "d9", "service": "checkout",
            "environment": "production", "finished_at": at(9, 12)}),
        serde_json::json!({"type": "incident", "id": "i9", "service": "checkout",
            "started_at": at(9, 13)}),
    ])
    .await;
    let after = scrape().await;
    assert_eq!(
        sample(&after, "lantern_scrape_services_read"),
        1.0,
        "{after}"
    );
    let figures = report().await;
    assert_eq!(
        sample(&after, deployed),
        figures["deployment_frequency"]["count"].as_f64().unwrap()
    );
    assert_eq!(sample(&after, deployed), 4.0);
    assert_eq!(
        sample(&after, r#"lantern_open_incidents{service="checkout"}"#),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            r#"lantern_lead_time_seconds_count{service="checkout"}"#
        ),
        figures["lead_time"]["count"].as_f64().unwrap()
    );
    assert_eq!(
        sample(
            &after,
            r#"lantern_deployments_total{service="search-api",environment="production",result="success"}"#
        ),
        1.0
    );
    // A new service appears at once.
    post(vec![
        serde_json::json!({"type": "deployment", "id": "n1", "service": "newcomer",
        "environment": "production", "finished_at": at(10, 12)}),
    ])
    .await;
    let grown = scrape().await;
    assert_eq!(
        sample(
            &grown,
            r#"lantern_deployments_total{service="newcomer",environment="production",result="success"}"#
        ),
        1.0
    );
    // Rule 2 is the reader's: the metrics token sees checkout (three
    // contributors) but not search-api (none).
    let metrics = app
        .send(Some(&app.tokens["metrics"]), "get", "/metrics", &[], None)
        .await
        .text;
    assert!(metrics.contains(r#"service="checkout""#));
    assert!(!metrics.contains("search-api"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn a_started_server_reads_the_figures_before_the_first_scrape() {
    let day = 86_400_000_000;
    let recent = lantern_events::Timestamp::from_micros(
        lantern_events::Timestamp::now().micros() / day * day - 3 * day,
    );
    let app = common::spawn_app_seeded(
        |s| s.prime_metrics = true,
        |store| {
            let p = lantern_events::Pseudonymiser::from_key(common::KEY);
            let e = lantern_events::parse_event_json(
                &format!(
                    r#"{{"type":"deployment","id":"d1","service":"checkout","environment":"production","finished_at":"{}"}}"#,
                    recent.to_rfc3339()
                ),
                &p,
            )
            .unwrap();
            store.write(&[e]).unwrap();
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answer = app
        .send(Some(&app.tokens["admin"]), "get", "/metrics", &[], None)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        sample(&answer.text, "lantern_scrape_services_read"),
        0.0,
        "{}",
        answer.text
    );
    assert_eq!(
        sample(
            &answer.text,
            r#"lantern_deployments_total{service="checkout",environment="production",result="success"}"#
        ),
        1.0
    );
    app.stop().await;
}
