//! End to end: `lantern demo` serving its dashboard, driven by a real
//! headless Chromium and a real headless Firefox over WebDriver (Debian's
//! chromium, chromedriver and firefox-esr; geckodriver from crates.io).
//! A new user's path: the printed sign-in link, every page, the figures
//! against the API's, an annotation added through its form and seen on
//! the chart, a token created on the admin page, and that token's team
//! member refused another team's detail. Screenshots of every page are
//! kept in `target/dashboard-screenshots/<browser>/`.
//!
//! Every page shown is also checked with axe-core (`LANTERN_AXE`: the path
//! of its `axe.min.js`; `.ci/run` installs it from the npm registry): no
//! serious or critical WCAG 2 A/AA violation.
//!
//! Without a browser or its driver the test says it was skipped and
//! passes, unless `LANTERN_REQUIRE_BROWSER` is set (CI sets it).

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const FROM: &str = "2026-08-22";
const TO: &str = "2026-11-20";

/// A child process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `lantern demo` on a free port: the process, the base URL and the
/// sign-in link it printed.
fn start_demo(dir: &std::path::Path) -> (Killed, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .current_dir(dir)
        .env_remove("LANTERN_DB")
        .env_remove("LANTERN_CONFIG")
        .args(["demo", "--no-open", "--until", "2026-11-19"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut base = None;
    let mut link = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("The dashboard is at ") {
            base = Some(rest.trim_end_matches('/').to_string());
        }
        if line.trim_start().starts_with("http://") && line.contains("/sign-in#token=") {
            link = Some(line.trim().to_string());
            break;
        }
    }
    // Keep reading so the demo never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (
        child,
        base.expect("the demo printed its address"),
        link.expect("the demo printed a sign-in link"),
    )
}

/// A browser the journey runs in, and the WebDriver server that drives it.
#[derive(Clone, Copy, Debug)]
enum Browser {
    Chromium,
    Firefox,
}

impl Browser {
    fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "chromium",
            Browser::Firefox => "firefox",
        }
    }

    /// (driver, browser) programs, or how to install them.
    fn programs(self) -> Result<(PathBuf, PathBuf), &'static str> {
        let home = std::env::var("HOME").unwrap_or_default();
        let cargo_gecko = format!("{home}/.cargo/bin/geckodriver");
        let (driver, binary) = match self {
            Browser::Chromium => (
                find_program("LANTERN_CHROMEDRIVER", &["/usr/bin/chromedriver"]),
                find_program(
                    "LANTERN_CHROMIUM",
                    &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
                ),
            ),
            Browser::Firefox => (
                find_program(
                    "LANTERN_GECKODRIVER",
                    &[
                        "/usr/local/bin/geckodriver",
                        "/usr/bin/geckodriver",
                        &cargo_gecko,
                    ],
                ),
                find_program(
                    "LANTERN_FIREFOX",
                    &["/usr/bin/firefox-esr", "/usr/bin/firefox"],
                ),
            ),
        };
        match (driver, binary) {
            (Some(d), Some(b)) => Ok((d, b)),
            _ => Err(match self {
                Browser::Chromium => {
                    "apt-get install -y chromium chromium-driver, or set LANTERN_CHROMIUM and LANTERN_CHROMEDRIVER"
                }
                Browser::Firefox => {
                    "apt-get install -y firefox-esr and cargo install geckodriver, or set LANTERN_FIREFOX and LANTERN_GECKODRIVER"
                }
            }),
        }
    }

    fn capabilities(self, binary: &std::path::Path) -> serde_json::Map<String, Value> {
        let mut caps = serde_json::Map::new();
        match self {
            Browser::Chromium => caps.insert(
                "goog:chromeOptions".into(),
                json!({
                    "binary": binary,
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"]
                }),
            ),
            Browser::Firefox => caps.insert(
                "moz:firefoxOptions".into(),
                json!({
                    "binary": binary,
                    "args": ["-headless", "--width=1280", "--height=1600"]
                }),
            ),
        };
        caps
    }

    async fn start(self, driver: &std::path::Path, binary: &std::path::Path) -> (Killed, Client) {
        let port = free_port();
        let driver = Killed(
            Command::new(driver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the WebDriver server starts"),
        );
        let caps = self.capabilities(binary);
        let url = format!("http://127.0.0.1:{port}");
        let mut attempt = 0;
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return (driver, client),
                Err(_) if attempt < 100 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("cannot start a {} session: {e}", self.name()),
            }
        }
    }
}

/// `target/dashboard-screenshots/<browser>/`, or under
/// `LANTERN_SCREENSHOTS` (`docs/screenshots` refreshes the ones
/// docs/dashboard.md shows).
fn screenshots_dir(browser: Browser) -> PathBuf {
    let root = match std::env::var_os("LANTERN_SCREENSHOTS") {
        Some(dir) => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("dashboard-screenshots"),
    };
    let dir = root.join(browser.name());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The browser session and where its screenshots go.
struct Session {
    client: Client,
    browser: Browser,
}

impl std::ops::Deref for Session {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

async fn screenshot(session: &Session, name: &str) {
    let png = session.client.screenshot().await.unwrap();
    let path = screenshots_dir(session.browser).join(format!("{name}.png"));
    std::fs::write(path, png).unwrap();
    accessibility(session, name).await;
}

/// axe-core (from the npm registry; `LANTERN_AXE` names its `axe.min.js`,
/// `.ci/run` installs it) run on the page: no serious or critical
/// violation of WCAG 2 A/AA. Without it, says so once.
async fn accessibility(session: &Session, name: &str) {
    let Some(path) = std::env::var_os("LANTERN_AXE") else {
        assert!(
            std::env::var_os("LANTERN_REQUIRE_BROWSER").is_none(),
            "LANTERN_REQUIRE_BROWSER is set (CI) but LANTERN_AXE is not"
        );
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| eprintln!("LANTERN_AXE is not set: no accessibility check"));
        return;
    };
    let axe = std::fs::read_to_string(&path).expect("LANTERN_AXE names axe.min.js");
    session.client.execute(&axe, vec![]).await.unwrap();
    let found = session
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                 .then(r => done(r.violations
                   .filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))
                 .catch(e => done(['axe failed: ' + e]));"#,
            vec![],
        )
        .await
        .unwrap();
    let found: Vec<String> = serde_json::from_value(found).unwrap_or_default();
    assert!(
        found.is_empty(),
        "{name} ({:?}): {found:#?}",
        session.browser
    );
}

async fn api(base: &str, token: &str, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// The headline figure of each metric, as the API gives it.
fn api_figure(report: &Value, metric: &str) -> Option<f64> {
    let m = &report[metric];
    match metric {
        "deployment_frequency" => m["per_day"].as_f64(),
        "lead_time" | "failed_deployment_recovery_time" => m["median_s"].as_f64(),
        _ => m["rate"].as_f64(),
    }
}

/// Every `span.figure` inside `within`: (metric, value).
async fn page_figures(client: &Client, within: &str) -> Vec<(String, Option<f64>)> {
    let mut out = Vec::new();
    for e in client
        .find_all(Locator::Css(&format!("{within} span.figure")))
        .await
        .unwrap()
    {
        let metric = e.attr("data-metric").await.unwrap().unwrap();
        let value = e.attr("data-value").await.unwrap().unwrap();
        out.push((metric, value.parse::<f64>().ok()));
    }
    out
}

/// Opens a team's or service's page (`(folder, parameter, name)`) over
/// `window` and checks that its cards show the API's report.
async fn scope_page(
    client: &Client,
    base: &str,
    token: &str,
    (folder, parameter, name): (&str, &str, &str),
    window: &str,
) {
    client
        .goto(&format!("{base}/{folder}/{name}?{window}"))
        .await
        .unwrap();
    let path = format!("/api/v1/report?{parameter}={name}&{window}");
    let report = api(base, token, &path).await;
    assert_figures_match(client, ".cards", &report).await;
}

async fn assert_figures_match(client: &Client, within: &str, report: &Value) {
    let figures = page_figures(client, within).await;
    assert_eq!(figures.len(), 5, "{within}: {figures:?}");
    for (metric, shown) in figures {
        assert_eq!(shown, api_figure(report, &metric), "{within} {metric}");
    }
}

async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Clicks what submits a form or follows a link, and waits until the
/// browser has left the page: a click returns before the navigation it
/// starts, and the old page's elements would answer the next look-up.
async fn navigate_by_click(client: &Client, css: &str) {
    let old = client.find(Locator::Css("html")).await.unwrap();
    click(client, css).await;
    wait_until(css, || async { old.tag_name().await.is_err() }).await;
}

/// Polls `done` every 50 ms for up to 10 s.
async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: still waiting after 10 s");
}

async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

async fn path_of(client: &Client) -> String {
    client.current_url().await.unwrap().path().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_explores_the_demo_in_chromium() {
    explore_the_demo(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_explores_the_demo_in_firefox() {
    explore_the_demo(Browser::Firefox).await;
}

async fn explore_the_demo(browser: Browser) {
    let (driver, binary) = match browser.programs() {
        Ok(found) => found,
        Err(install) if std::env::var_os("LANTERN_REQUIRE_BROWSER").is_some() => {
            panic!(
                "LANTERN_REQUIRE_BROWSER is set but {} is missing: {install}",
                browser.name()
            )
        }
        Err(install) => {
            eprintln!("SKIPPED the {} browser test: {install}", browser.name());
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let (_demo, base, link) = start_demo(dir.path());
    let admin = link.split("#token=").nth(1).unwrap().to_string();
    let (_driver, client) = browser.start(&driver, &binary).await;
    let client = Session { client, browser };
    let window = format!("from={FROM}&to={TO}");

    // The sign-in link lands on the organisation page.
    client.goto(&link).await.unwrap();
    // The sign-in page's script submits the token from the link's fragment.
    wait_until("signed in by the link", || async {
        path_of(&client).await == "/"
    })
    .await;
    assert_eq!(text(&client, "h1").await, "Organisation");
    client.goto(&format!("{base}/?{window}")).await.unwrap();
    screenshot(&client, "organisation").await;
    let mut teams = Vec::new();
    for row in client
        .find_all(Locator::Css("table[data-scopes=team] tr[data-scope]"))
        .await
        .unwrap()
    {
        teams.push(row.attr("data-scope").await.unwrap().unwrap());
    }
    let mut sorted = teams.clone();
    sorted.sort();
    assert_eq!(teams, sorted, "alphabetical, never ranked");
    assert_eq!(teams.len(), 4);
    for team in &teams {
        let report = api(
            &base,
            &admin,
            &format!("/api/v1/report?team={team}&{window}"),
        )
        .await;
        assert_figures_match(&client, &format!("tr[data-scope=\"{team}\"]"), &report).await;
    }
    let org = api(&base, &admin, &format!("/api/v1/report?{window}")).await;
    assert_figures_match(&client, ".org-figures", &org).await;
    // The same days at the command line give the same figures.
    let cli = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .current_dir(dir.path())
        .env_remove("LANTERN_DB")
        .env_remove("LANTERN_CONFIG")
        .args([
            "report",
            "--db",
            "lantern-demo.db",
            "--config",
            "lantern-demo.toml",
        ])
        .args(["--from", FROM, "--to", TO, "--format", "json"])
        .output()
        .unwrap();
    assert!(cli.status.success(), "{cli:?}");
    let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    for key in [
        "window",
        "deployment_frequency",
        "lead_time",
        "change_failure_rate",
        "failed_deployment_recovery_time",
        "rework_rate",
    ] {
        assert_eq!(cli[key], org[key], "{key}: the CLI and the page agree");
    }
    let flow_teams = client
        .find_all(Locator::Css("table[data-flow-distribution] tr[data-team]"))
        .await
        .unwrap()
        .len();
    assert_eq!(flow_teams, 4, "every team's flow distribution");
    let distribution = text(&client, "tr[data-distribution=lead_time]").await;
    assert!(distribution.starts_with("Lead time"), "{distribution}");

    // The team page: the cards equal the API's report.
    scope_page(
        &client,
        &base,
        &admin,
        ("teams", "team", "payments"),
        &window,
    )
    .await;
    assert_eq!(
        client
            .find_all(Locator::Css("figure[data-chart] svg"))
            .await
            .unwrap()
            .len(),
        5
    );
    // The flow panel beside the stages: the API's flow for the same days.
    let flow = api(
        &base,
        &admin,
        &format!("/api/v1/flow?team=payments&{window}"),
    )
    .await;
    let shown = client
        .find(Locator::Css("[data-flow=flow_velocity] .flow-figure"))
        .await
        .unwrap()
        .attr("data-value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shown, flow["flow_velocity"]["count"].to_string());
    let efficiency = text(&client, "[data-flow=flow_efficiency] .value").await;
    assert!(efficiency.starts_with("active "), "{efficiency}");
    client
        .execute(
            "document.getElementById('stages').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&client, "team-flow").await;
    // panels.md's four cards under DORA and SLOs show the API's figures;
    // the acceptance rate has the change failure rate beside it.
    let report = api(
        &base,
        &admin,
        &format!("/api/v1/report?team=payments&{window}"),
    )
    .await;
    let value = |css: &'static str, attribute: &'static str| {
        let client = &client;
        async move {
            client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"))
                .attr(attribute)
                .await
                .unwrap()
                .and_then(|v| v.parse::<f64>().ok())
        }
    };
    let exact = |v: &Value| v.as_f64();
    assert_eq!(
        value("[data-panel=alert_quality] .value", "data-value").await,
        exact(&report["alert_quality"]["noise_share"])
    );
    assert_eq!(
        value("[data-panel=review_quality] .value", "data-value").await,
        exact(&report["review_quality"]["large_share"])
    );
    let open: u64 = ["critical", "high", "medium", "low"]
        .iter()
        .map(|s| report["findings"]["open_at_end"][s].as_u64().unwrap())
        .sum();
    assert_eq!(
        value("[data-panel=findings] .value", "data-value").await,
        Some(open as f64)
    );
    assert_eq!(
        value("[data-panel=ai_assist] .value", "data-value").await,
        exact(&report["ai_assist"]["acceptance_rate"])
    );
    assert_eq!(
        value("[data-panel=ai_assist] [data-beside]", "data-beside").await,
        exact(&report["change_failure_rate"]["rate"])
    );
    client
        .execute(
            "document.getElementById('panels').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&client, "team-panels").await;
    // The explanation is one click away.
    click(&client, "article[data-card=lead_time] summary").await;
    let explained = text(&client, "article[data-card=lead_time] details").await;
    assert!(explained.contains("It does not measure"), "{explained}");
    screenshot(&client, "team").await;

    // Keyboard only: Tab from the chart's heading reaches its points one
    // by one; each says its date and value, and shows it while focused.
    let keyboard = client
        .execute(
            "const pts = [...document.querySelectorAll('figure[data-chart=deployment_frequency] svg .pt')];
             return pts.map(p => p.getAttribute('aria-label'));",
            vec![],
        )
        .await
        .unwrap();
    let labels: Vec<String> = keyboard
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    assert!(labels.len() >= 12, "{labels:?}");
    client
        .execute(
            "const figure = document.querySelector('figure[data-chart=deployment_frequency]');
             figure.scrollIntoView();
             figure.setAttribute('tabindex', '-1');
             figure.focus();",
            vec![],
        )
        .await
        .unwrap();
    for (i, label) in labels.iter().take(3).enumerate() {
        client
            .active_element()
            .await
            .unwrap()
            .send_keys(fantoccini::key::Key::Tab.to_string().as_str())
            .await
            .unwrap();
        let focused = client
            .execute(
                "const e = document.activeElement;
                 const v = e.querySelector('text.value');
                 return [e.getAttribute('aria-label'), v ? getComputedStyle(v).display : 'none', v ? v.textContent : ''];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            focused[0].as_str(),
            Some(label.as_str()),
            "Tab {i}: {focused}"
        );
        assert_ne!(focused[1], "none", "the value shows on focus: {focused}");
        assert!(
            label.ends_with(focused[2].as_str().unwrap()),
            "{label} shows {focused}"
        );
    }
    screenshot(&client, "team-keyboard").await;

    // An annotation added through the form appears in the list and on the charts.
    client
        .execute(
            "document.querySelector('form.annotate [name=kind]').value = 'migration';
             document.querySelector('form.annotate [name=from]').value = '2026-10-05';
             document.querySelector('form.annotate [name=to]').value = '2026-10-09';",
            vec![],
        )
        .await
        .unwrap();
    type_into(
        &client,
        "form.annotate [name=title]",
        "queue migration to the new broker",
    )
    .await;
    navigate_by_click(&client, "form.annotate button[type=submit]").await;
    client
        .wait()
        .for_element(Locator::Css("ul.annotations"))
        .await
        .unwrap();
    assert_eq!(path_of(&client).await, "/teams/payments");
    let listed = text(&client, "ul.annotations").await;
    assert!(
        listed.contains("queue migration to the new broker"),
        "{listed}"
    );
    let marker = client
        .execute(
            "return [...document.querySelectorAll('figure[data-chart=lead_time] rect.marker title')].map(t => t.textContent)",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        marker
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().contains("queue migration")),
        "{marker}"
    );
    let annotations = api(&base, &admin, &format!("/api/v1/annotations?{window}")).await;
    assert!(
        annotations
            .to_string()
            .contains("queue migration to the new broker")
    );

    // The service page: figures and, for an admin, the timeline.
    scope_page(
        &client,
        &base,
        &admin,
        ("services", "service", "checkout"),
        &window,
    )
    .await;
    let deployments = api(
        &base,
        &admin,
        &format!("/api/v1/services/checkout/deployments?{window}"),
    )
    .await;
    let production = deployments
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["environment"] == "production")
        .count();
    screenshot(&client, "service").await;
    // The timeline pages its rows: production deployments, page by page,
    // are the API's, and no page holds more than 50 rows.
    let mut shown = 0;
    for page in 1.. {
        client
            .goto(&format!("{base}/services/checkout?{window}&page={page}"))
            .await
            .unwrap();
        let rows = client
            .find_all(Locator::Css("table.timeline tbody tr"))
            .await
            .unwrap();
        assert!(rows.len() <= 50, "page {page}: {} rows", rows.len());
        shown += client
            .find_all(Locator::Css("table.timeline tr.deployment"))
            .await
            .unwrap()
            .len();
        if client
            .find(Locator::Css("nav.pager a[rel='next']"))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(shown, production);
    client
        .goto(&format!("{base}/services/checkout?{window}"))
        .await
        .unwrap();

    // An incident's timeline.
    let incident = client
        .find(Locator::Css("table.timeline tr.incident a"))
        .await
        .unwrap();
    let href = incident.attr("href").await.unwrap().unwrap();
    navigate_by_click(
        &client,
        &format!("table.timeline tr.incident a[href='{href}']"),
    )
    .await;
    client
        .wait()
        .for_element(Locator::Css("ol.steps"))
        .await
        .unwrap();
    assert!(text(&client, "h1").await.starts_with("Incident "));
    let link_kind = client
        .find(Locator::Css("[data-link]"))
        .await
        .unwrap()
        .attr("data-link")
        .await
        .unwrap()
        .unwrap();
    assert!(["by-id", "by-sha", "inferred", "none"].contains(&link_kind.as_str()));
    screenshot(&client, "incident").await;
    let incident_page = client.current_url().await.unwrap().to_string();

    // A deployment's page, from the service timeline's first row.
    client
        .goto(&format!("{base}/services/checkout?{window}"))
        .await
        .unwrap();
    let first = client
        .find(Locator::Css("table.timeline tr.deployment a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    client.goto(&format!("{base}{first}")).await.unwrap();
    assert!(
        text(&client, "h1").await.starts_with("Deployment "),
        "{first}"
    );
    screenshot(&client, "deployment").await;
    let deployment_page = format!("{base}{first}");

    // The governance pages.
    client.goto(&format!("{base}/metrics")).await.unwrap();
    assert!(text(&client, "#charter").await.contains("not for"));
    assert!(
        text(&client, "article#lead_time")
            .await
            .contains("Exact definition")
    );
    screenshot(&client, "metrics").await;
    client.goto(&format!("{base}/annotations")).await.unwrap();
    assert!(
        text(&client, "ul.annotations")
            .await
            .contains("queue migration")
    );
    screenshot(&client, "annotations").await;
    client.goto(&format!("{base}/admin/audit")).await.unwrap();
    text(&client, "[data-audit=intact]").await;
    assert!(
        text(&client, "table.audit")
            .await
            .contains("annotation.create")
    );
    screenshot(&client, "audit").await;
    client
        .goto(&format!("{base}/admin/access-review"))
        .await
        .unwrap();
    screenshot(&client, "access-review").await;

    // A team member's token, created on the admin page.
    client.goto(&format!("{base}/admin/tokens")).await.unwrap();
    client
        .execute(
            "document.querySelector('form.token [name=role]').value = 'team_member';
             document.querySelector('form.token [name=team]').value = 'payments';",
            vec![],
        )
        .await
        .unwrap();
    type_into(
        &client,
        "form.token [name=purpose]",
        "the payments retrospective",
    )
    .await;
    navigate_by_click(&client, "form.token button[type=submit]").await;
    let member = text(&client, "code[data-token]").await;
    assert!(member.starts_with("lantern_"), "{member}");
    screenshot(&client, "token-created").await;
    client.goto(&format!("{base}/admin/tokens")).await.unwrap();
    screenshot(&client, "tokens").await;

    // Sign out, then in as the payments team member.
    navigate_by_click(&client, "form.sign-out button").await;
    client
        .wait()
        .for_element(Locator::Css("form.sign-in"))
        .await
        .unwrap();
    assert_eq!(path_of(&client).await, "/sign-in");
    client.goto(&format!("{base}/teams/search")).await.unwrap();
    assert_eq!(
        path_of(&client).await,
        "/sign-in",
        "signed out: back to sign-in"
    );
    screenshot(&client, "sign-in").await;
    type_into(&client, "#token", &member).await;
    navigate_by_click(&client, "form.sign-in button").await;
    client.wait().for_element(Locator::Css("h1")).await.unwrap();
    assert_eq!(
        path_of(&client).await,
        "/teams/search",
        "back where they were going"
    );

    // Their own service's timeline, but not another team's.
    client
        .goto(&format!("{base}/services/checkout?{window}"))
        .await
        .unwrap();
    assert!(
        !client
            .find_all(Locator::Css("table.timeline"))
            .await
            .unwrap()
            .is_empty()
    );
    client
        .goto(&format!("{base}/services/search-api?{window}"))
        .await
        .unwrap();
    assert!(
        client
            .find_all(Locator::Css("table.timeline"))
            .await
            .unwrap()
            .is_empty()
    );
    let theirs = api(
        &base,
        &admin,
        &format!("/api/v1/services/search-api/incidents?{window}"),
    )
    .await;
    let id = theirs[0]["id"]
        .as_str()
        .expect("search-api has incidents")
        .to_string();
    client
        .goto(&format!("{base}/services/search-api/incidents/{id}"))
        .await
        .unwrap();
    assert_eq!(text(&client, "h1").await, "Forbidden");
    screenshot(&client, "forbidden").await;
    let audit = api(&base, &admin, "/api/v1/audit").await;
    assert!(
        audit.as_array().unwrap().iter().any(|e| e["action"]
            .as_str()
            .unwrap_or("")
            .contains("/services/{service}/incidents/{id}")
            && e["outcome"].as_str().unwrap_or("").starts_with("denied")),
        "the refusal is in the audit log"
    );

    // On a phone (390 × 844): the pages fit the width (no sideways
    // scrolling), the header's links fold behind "Menu" and open on it.
    client.client.set_window_size(390, 844).await.unwrap();
    for (url, name) in [
        (format!("{base}/?{window}"), "organisation-phone"),
        (format!("{base}/teams/payments?{window}"), "team-phone"),
        (
            format!("{base}/services/checkout?{window}"),
            "service-phone",
        ),
        (deployment_page.clone(), "deployment-phone"),
        (incident_page.clone(), "incident-phone"),
        (format!("{base}/docs/metrics"), "metrics-phone"),
    ] {
        client.goto(&url).await.unwrap();
        let (scroll, inner) = widths(&client).await;
        if scroll > inner + 1 {
            let wide = client
                .execute(
                    "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));",
                    vec![],
                )
                .await
                .unwrap();
            panic!("{name}: {scroll} px wide in a {inner} px window: {wide}");
        }
        screenshot(&client, name).await;
    }
    let links = client.find(Locator::Css(".menu-links")).await.unwrap();
    assert!(!links.is_displayed().await.unwrap(), "folded on a phone");
    client
        .find(Locator::Css("label.menu-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(links.is_displayed().await.unwrap(), "opened by Menu");

    // A first run: an empty store, one admin token made at the command
    // line. The organisation page is a checklist, and nothing is rated.
    client.client.set_window_size(1280, 1600).await.unwrap();
    let (_empty, empty_base, token) = start_empty(dir.path());
    client
        .goto(&format!("{empty_base}/sign-in#token={token}"))
        .await
        .unwrap();
    wait_until("signed in to the empty store", || async {
        path_of(&client).await == "/"
    })
    .await;
    let checklist = text(&client, "[data-getting-started]").await;
    for step in ["token", "webhook", "import", "first deployment"] {
        assert!(checklist.contains(step), "{step}: {checklist}");
    }
    let figures = text(&client, ".org-figures").await;
    assert!(figures.contains("no data"), "{figures}");
    assert!(
        client
            .find_all(Locator::Css(
                ".org-figures .band-low, .org-figures .band-elite"
            ))
            .await
            .unwrap()
            .is_empty(),
        "nothing is rated without data: {figures}"
    );
    screenshot(&client, "first-run").await;
    client.client.set_window_size(390, 844).await.unwrap();
    client.goto(&format!("{empty_base}/")).await.unwrap();
    screenshot(&client, "first-run-phone").await;
    client.client.close().await.unwrap();
}

/// `lantern serve` on a new, empty store with one admin token created at
/// the command line, as the README's first steps do: the process, the
/// base URL and the token.
fn start_empty(dir: &std::path::Path) -> (Killed, String, String) {
    let db = dir.join("empty.db");
    let created = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .current_dir(dir)
        .env("LANTERN_DB", &db)
        .env_remove("LANTERN_CONFIG")
        .args([
            "token",
            "create",
            "--role",
            "admin",
            "--purpose",
            "the first run of Lantern",
        ])
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8(created.stdout)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("lantern_"))
        .expect("the token is printed")
        .to_string();
    let port = free_port();
    let child = Killed(
        Command::new(env!("CARGO_BIN_EXE_lantern"))
            .current_dir(dir)
            .env("LANTERN_DB", &db)
            .env_remove("LANTERN_CONFIG")
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, format!("http://127.0.0.1:{port}"), token);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("lantern serve did not listen on {port}");
}

/// The page's scrolling width and the window's inner width, in CSS px.
async fn widths(client: &Session) -> (u64, u64) {
    let v = client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_answers_a_pulse_on_a_phone_in_chromium() {
    answer_a_pulse(Browser::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_answers_a_pulse_on_a_phone_in_firefox() {
    answer_a_pulse(Browser::Firefox).await;
}

/// `lantern` at the command line, on the demo's database and catalog.
fn demo_cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lantern"))
        .current_dir(dir)
        .env_remove("LANTERN_DB")
        .env_remove("LANTERN_CONFIG")
        .args(["--db", "lantern-demo.db", "--config", "lantern-demo.toml"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// health.md's pulse, as a team lives it: the lead opens a round and hands
/// out links at the command line; three people answer on their phones
/// (the link fills the code in; no account); the round closes; the
/// results are read on the team page, and only where enough answered.
async fn answer_a_pulse(browser: Browser) {
    let (driver, binary) = match browser.programs() {
        Ok(found) => found,
        Err(install) if std::env::var_os("LANTERN_REQUIRE_BROWSER").is_some() => {
            panic!(
                "LANTERN_REQUIRE_BROWSER is set but {} is missing: {install}",
                browser.name()
            )
        }
        Err(install) => {
            eprintln!("SKIPPED the {} pulse test: {install}", browser.name());
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let (_demo, base, link) = start_demo(dir.path());
    let closes = lantern_events::Timestamp::now()
        .plus_micros(7 * lantern_events::MICROS_PER_DAY)
        .to_rfc3339();
    let opened: Value = serde_json::from_str(&demo_cli(
        dir.path(),
        &[
            "pulse", "open", "--team", "payments", "--closes", &closes, "--format", "json",
        ],
    ))
    .unwrap();
    let round = opened["round"].as_i64().unwrap();
    let printed = demo_cli(
        dir.path(),
        &[
            "pulse",
            "codes",
            "--round",
            &round.to_string(),
            "--count",
            "3",
            "--base-url",
            &base,
        ],
    );
    let links: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with(&format!("{base}/pulse/{round}#")))
        .collect();
    assert_eq!(links.len(), 3, "{printed}");

    let (_driver, client) = browser.start(&driver, &binary).await;
    let client = Session { client, browser };
    client.client.set_window_size(390, 844).await.unwrap();
    // Three people: (psychological safety, workload); the third skips
    // workload, so it has two answers and shows nothing.
    let answers = [("5", Some("2")), ("4", Some("4")), ("4", None)];
    for (i, (link, (safety, workload))) in links.iter().zip(answers).enumerate() {
        // A fresh page each time: a link that differs only after `#`
        // would not load the page again.
        client.goto("about:blank").await.unwrap();
        client.goto(link).await.unwrap();
        let field = client.find(Locator::Css("#code")).await.unwrap();
        wait_until("the link's code filled in", || async {
            field.prop("value").await.unwrap().unwrap_or_default().len() == 32
        })
        .await;
        assert!(
            !field.is_displayed().await.unwrap(),
            "the code is hidden once filled"
        );
        assert!(
            !client.current_url().await.unwrap().as_str().contains('#'),
            "the code leaves the address bar"
        );
        let (scroll, inner) = widths(&client).await;
        assert!(
            scroll <= inner,
            "the answer page fits a phone: {scroll} > {inner}"
        );
        if i == 0 {
            screenshot(&client, "pulse-answer-phone").await;
        }
        click(
            &client,
            &format!("input[name=psychological_safety][value=\"{safety}\"]"),
        )
        .await;
        if let Some(w) = workload {
            click(&client, &format!("input[name=workload][value=\"{w}\"]")).await;
        }
        navigate_by_click(&client, "form.pulse button[type=submit]").await;
        assert!(
            client.find(Locator::Css("[data-answered]")).await.is_ok(),
            "answer {i} was stored"
        );
    }
    // The same link again: refused, nothing stored twice.
    client.goto("about:blank").await.unwrap();
    client.goto(links[0]).await.unwrap();
    click(&client, "input[name=clarity][value=\"3\"]").await;
    navigate_by_click(&client, "form.pulse button[type=submit]").await;
    assert!(
        text(&client, "[data-refused]")
            .await
            .contains("used already")
    );

    // Open: nothing is shown yet.
    client.goto(&link).await.unwrap();
    wait_until("signed in by the link", || async {
        path_of(&client).await == "/"
    })
    .await;
    client
        .goto(&format!("{base}/teams/payments#pulse"))
        .await
        .unwrap();
    assert!(
        client
            .find(Locator::Css(&format!("[data-open-round=\"{round}\"]")))
            .await
            .is_ok()
    );
    assert!(
        client.find(Locator::Css("span[data-mean]")).await.is_err(),
        "no result while the round is open"
    );

    demo_cli(
        dir.path(),
        &["pulse", "close", "--round", &round.to_string()],
    );
    // (Not the same address with its `#`: that would not load it again.)
    client
        .goto(&format!("{base}/teams/payments"))
        .await
        .unwrap();
    let cell = format!("tr[data-question=psychological_safety] td[data-round=\"{round}\"]");
    assert_eq!(text(&client, &cell).await, "4.3 (3)");
    let workload = format!("tr[data-question=workload] td[data-round=\"{round}\"]");
    assert_eq!(text(&client, &workload).await, "not shown");
    client
        .execute("document.getElementById('pulse').scrollIntoView();", vec![])
        .await
        .unwrap();
    screenshot(&client, "pulse-results-phone").await;
    // The command line reads the same round the same way.
    let results: Value = serde_json::from_str(&demo_cli(
        dir.path(),
        &[
            "pulse",
            "results",
            "--round",
            &round.to_string(),
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(results["respondents"], 3);
    assert_eq!(
        results["questions"]["psychological_safety"]["counts"],
        json!([0, 0, 0, 2, 1])
    );
    assert_eq!(results["questions"]["workload"]["suppressed"], true);
    client.client.close().await.unwrap();
}
