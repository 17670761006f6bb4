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
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: shop\n    static_configs:\n      - targets: ['{target}']\n"
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
        let query =
            format!("{url}/api/v1/query?query=count_over_time(shop_requests_total%5B1m%5D)");
        if let Ok(r) = client.get(&query).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|n| n.parse::<u32>().ok())
                >= Some(3)
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
