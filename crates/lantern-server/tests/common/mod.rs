//! The test harness: the real server on a random port, a real store, real
//! HTTP, and a token for each role. The store is a SQLite file, or with
//! `LANTERN_TEST_STORE=postgres` a fresh database on the PostgreSQL server
//! `LANTERN_TEST_POSTGRES` names: the same suite runs on both (`.ci/run`
//! runs it twice).
#![allow(dead_code)]

use lantern_app::{Governance, Team};
use lantern_engine::EngineConfig;
use lantern_events::{Name, Pseudonymiser, Timestamp};
use lantern_governance::{AuditRecord, NewGrant, Role};
use lantern_server::{Application, Settings};
use lantern_sources::SourceSettings;
use lantern_store::testing::TestDatabase;
use lantern_store::{Location, Store};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub struct TestApp {
    /// Tokens by role: admin, org_viewer, team_member (payments), reviewer
    /// (payments), ingest (events), gate, metrics.
    pub tokens: BTreeMap<&'static str, String>,
    pub base: String,
    pub client: reqwest::Client,
    pub home: StoreHome,
    /// What the server was built with (a replica is built the same).
    settings: Settings,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Another server on a [`TestApp`]'s store: on PostgreSQL, a replica.
pub struct Replica {
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Replica {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.served.await.unwrap().unwrap();
    }
}

pub const KEY: [u8; 32] = [9; 32];

/// Where a test's store lives; removed when dropped.
pub struct StoreHome {
    pub location: Location,
    _dir: tempfile::TempDir,
    _db: Option<TestDatabase>,
}

impl StoreHome {
    /// A new, empty store of the kind `LANTERN_TEST_STORE` asks for.
    pub fn new() -> StoreHome {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var("LANTERN_TEST_STORE").as_deref() {
            Ok("postgres") => {
                let db = lantern_store::testing::database("the server suite")
                    .expect("LANTERN_TEST_STORE=postgres needs LANTERN_TEST_POSTGRES=postgres://…");
                StoreHome {
                    location: Location::Postgres(db.url.clone()),
                    _dir: dir,
                    _db: Some(db),
                }
            }
            Ok("sqlite") | Err(_) => StoreHome {
                location: Location::Sqlite(dir.path().join("lantern.db")),
                _dir: dir,
                _db: None,
            },
            Ok(other) => panic!("LANTERN_TEST_STORE is sqlite or postgres, not {other}"),
        }
    }

    /// Another connection to the store (the server keeps its own).
    pub fn open(&self) -> Box<dyn Store + Send> {
        self.location.open().unwrap()
    }

    /// Runs `work` with its own connection, on a plain thread: the
    /// PostgreSQL client blocks, which a test's async runtime forbids.
    pub fn with_store<T: Send>(&self, work: impl FnOnce(&mut dyn Store) -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| work(self.open().as_mut()))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }
}

impl StoreHome {
    /// Every table's rows as text, read from the database itself: what a
    /// test may search for something that must never be stored.
    #[allow(dead_code)]
    pub fn dump_text(&self) -> Vec<(String, String)> {
        match &self.location {
            Location::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                let tables: Vec<String> = conn
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                tables
                    .into_iter()
                    .map(|t| {
                        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
                        let n = stmt.column_count();
                        let mut rows = stmt.query([]).unwrap();
                        let mut text = String::new();
                        while let Some(r) = rows.next().unwrap() {
                            for i in 0..n {
                                match r.get_ref(i).unwrap() {
                                    rusqlite::types::ValueRef::Text(b)
                                    | rusqlite::types::ValueRef::Blob(b) => {
                                        text.push_str(&String::from_utf8_lossy(b))
                                    }
                                    other => text.push_str(&format!("{other:?}")),
                                }
                                text.push('\t');
                            }
                            text.push('\n');
                        }
                        (t, text)
                    })
                    .collect()
            }
            Location::Postgres(url) => {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                    let tables: Vec<String> = client
                        .query(
                            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
                            &[],
                        )
                        .unwrap()
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    tables
                        .into_iter()
                        .map(|t| {
                            let rows = client
                                .query(&format!("SELECT t::text FROM \"{t}\" t"), &[])
                                .unwrap();
                            let text: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
                            (t, text.join("\n"))
                        })
                        .collect()
                })
                .join()
                .unwrap()
            }
        }
    }
}

/// An answer as the client saw it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Response {
    /// Asserts that the status is one of `allowed` (`what` names the
    /// request in the failure) and passes the answer on.
    #[track_caller]
    pub fn one_of(self, allowed: &[u16], what: &str) -> Self {
        let (status, text) = (self.status, &self.text);
        assert!(allowed.contains(&status), "{what}: {status} {text}");
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A token issued straight into the store at `at` (in the past, to test
/// expiry), as `lantern token create` does; with its grant id.
pub fn issue_at(
    store: &mut dyn Store,
    role: Role,
    teams: &[&str],
    source: Option<&str>,
    days: u32,
    at: Timestamp,
) -> (String, String) {
    let mut random = [0u8; 38];
    getrandom::fill(&mut random).unwrap();
    let known: Vec<Name> = ["payments", "search"]
        .iter()
        .map(|t| Name::parse(t).unwrap())
        .collect();
    let issued = NewGrant {
        role,
        teams: teams.iter().map(|t| Name::parse(t).unwrap()).collect(),
        source: source.map(String::from),
        purpose: format!("testing as {}", role.as_str()),
        days: Some(days),
    }
    .issue(at, random, &known)
    .unwrap();
    let record = AuditRecord {
        at: Timestamp::now(),
        actor: "test".into(),
        purpose: "test setup".into(),
        action: "token.create".into(),
        scope: "-".into(),
        outcome: "created".into(),
    };
    store
        .add_grant(&issued.grant, &issued.secret_hash, record)
        .unwrap();
    (issued.token, issued.grant.id)
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_seeded(adjust, |_| {}).await
}

/// The app, with `seed` writing into its store before it starts (so that
/// its periodic tasks see the data from their first tick).
pub async fn spawn_app_seeded(
    adjust: impl FnOnce(&mut Settings),
    seed: impl FnOnce(&mut dyn Store) + Send,
) -> TestApp {
    let home = StoreHome::new();
    let (store, tokens) = std::thread::scope(|s| {
        s.spawn(|| {
            let mut store = home.open();
            seed(store.as_mut());
            let store_ref = store.as_mut();
            let roles: [(&str, Role, &[&str], Option<&str>); 7] = [
                ("admin", Role::Admin, &[], None),
                ("org_viewer", Role::OrgViewer, &[], None),
                ("team_member", Role::TeamMember, &["payments"], None),
                ("reviewer", Role::Reviewer, &["payments"], None),
                ("ingest", Role::Ingest, &[], Some("events")),
                ("gate", Role::Gate, &[], None),
                ("metrics", Role::Metrics, &[], None),
            ];
            let now = Timestamp::now();
            let tokens: BTreeMap<&str, String> = roles
                .into_iter()
                .map(|(name, role, teams, source)| {
                    (name, issue_at(store_ref, role, teams, source, 30, now).0)
                })
                .collect();
            (store, tokens)
        })
        .join()
        .unwrap()
    });
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        body_limit: 64 * 1024,
        // On PostgreSQL, requests work side by side (SQLite has one).
        connections: 2,
        notify_every: std::time::Duration::from_millis(200),
        prime_metrics: false,
        app: lantern_app::Settings {
            teams: vec![
                Team {
                    name: Name::parse("payments").unwrap(),
                    services: BTreeSet::from([Name::parse("checkout").unwrap()]),
                    working: Default::default(),
                },
                Team {
                    name: Name::parse("search").unwrap(),
                    services: BTreeSet::from([Name::parse("search-api").unwrap()]),
                    working: Default::default(),
                },
            ],
            engine: EngineConfig::default(),
            sources: BTreeMap::from([
                source(
                    "launchdarkly",
                    &["ld-secret"],
                    &[("checkout-v2", "checkout")],
                    &[],
                ),
                source("unleash", &["un-token"], &[], &[]),
                source("jira", &["jira-secret"], &[], &[]),
                source(
                    "pagerduty",
                    &["old-secret", "test-secret"],
                    &[("API Service", "api")],
                    &[],
                ),
                source(
                    "alertmanager",
                    &["am-token"],
                    &[("http_checks", "web")],
                    &[],
                ),
                source("opsgenie", &["og-token"], &[("tag1", "web")], &[]),
                source(
                    "cdevents",
                    &["cd-token"],
                    &[("myApp", "web")],
                    &["myPipeline"],
                ),
                source("gitlab", &["gl-token"], &[], &[]),
                source(
                    "github",
                    &["gh-secret"],
                    &[("Codertocat/Hello-World", "hello")],
                    &["Deploy"],
                ),
            ]),
            governance: Governance {
                retention_every: None,
                ..Governance::default()
            },
            git_hotfix: Default::default(),
            slos: Vec::new(),
            gate: Default::default(),
            prometheus: None,
            notify: Vec::new(),
            public_url: None,
            source: None,
        },
    };
    adjust(&mut settings);
    let app = Application::build(settings.clone(), store, Pseudonymiser::from_key(KEY))
        .await
        .unwrap();
    let address = app.address().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        tokens,
        base: format!("http://{address}"),
        // Redirects are answers to check (a page sends the signed-out to
        // the sign-in page), not to follow.
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        home,
        settings,
        stop: Some(stop),
        served: Some(served),
    }
}

impl TestApp {
    /// GET as an admin.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(Some(&self.tokens["admin"]), path).await
    }

    pub async fn get_as(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POST; to `/hooks/events` with the `events` ingest token.
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, String, Value) {
        if path == "/hooks/events" {
            let auth = format!("Bearer {}", self.tokens["ingest"]);
            return self
                .post_with(path, &[("authorization", &auth)], body)
                .await;
        }
        self.post_with(path, &[], body).await
    }

    /// `post_with` a JSON value.
    pub async fn post_json(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> (u16, String, Value) {
        self.post_with(path, headers, serde_json::to_vec(body).unwrap())
            .await
    }

    pub async fn post_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> (u16, String, Value) {
        let mut request = self.client.post(format!("{}{path}", self.base));
        // JSON unless the caller says otherwise (GitHub can send a form).
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            request = request.header("content-type", "application/json");
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let r = request.body(body).send().await.unwrap();
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, kind, r.json().await.unwrap_or(Value::Null))
    }

    /// Any request: the token (if any) as a bearer, extra headers, a JSON
    /// body (a JSON string is sent as a form, as pages post); answers the
    /// status, the response headers and the body text.
    /// A page (or any GET) read with `token`, which must answer 200.
    pub async fn page(&self, token: &str, path: &str) -> Response {
        let page = self.send(Some(token), "GET", path, &[], None).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        page
    }

    pub async fn send(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Response {
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        match body {
            Some(Value::String(form)) => {
                request = request
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form.clone());
            }
            Some(b) => request = request.json(b),
            None => {}
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let text = r.text().await.unwrap();
        Response {
            status,
            headers,
            text,
        }
    }

    /// The audit log, read through the API as an admin.
    pub async fn audit_log(&self) -> Vec<Value> {
        let (status, log) = self.get("/api/v1/audit").await;
        assert_eq!(status, 200, "{log}");
        log.as_array().unwrap().clone()
    }

    /// Stops the server gracefully; the folder with the database stays
    /// until the returned guard is dropped.
    /// Stops the server; the store stays until the home is dropped.
    pub async fn stop(mut self) -> StoreHome {
        let _ = self.stop.take().unwrap().send(());
        self.served.take().unwrap().await.unwrap().unwrap();
        self.home
    }

    /// Runs `work` with another connection to the server's store.
    pub fn with_store<T: Send>(&self, work: impl FnOnce(&mut dyn Store) -> T + Send) -> T {
        self.home.with_store(work)
    }

    /// Another server on this one's store, built with the same settings.
    pub async fn replica(&self) -> Replica {
        let store = std::thread::scope(|s| s.spawn(|| self.home.open()).join().unwrap());
        let app = Application::build(self.settings.clone(), store, Pseudonymiser::from_key(KEY))
            .await
            .unwrap();
        let base = format!("http://{}", app.address().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Replica { base, stop, served }
    }
}

/// A payload from `tests/fixtures`.
pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub fn hmac_hex(key: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Posts a GitHub delivery signed with the test app's secret.
pub async fn github(app: &TestApp, event: &str, body: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(body).unwrap();
    let sig = format!("sha256={}", hmac_hex(b"gh-secret", &body));
    let headers = [
        ("x-github-event", event),
        ("x-hub-signature-256", sig.as_str()),
    ];
    let (status, _, answer) = app.post_with("/hooks/github", &headers, body).await;
    (status, answer)
}

pub fn github_fixture(path: &str) -> Value {
    serde_json::from_slice(&fixture(&format!("github/{path}"))).unwrap()
}

/// A form body (`application/x-www-form-urlencoded`), for `send`.
pub fn form(fields: &[(&str, &str)]) -> Value {
    let encode = |t: &str| {
        t.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    Value::String(
        fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&"),
    )
}

/// A receiver's settings: its secrets, its names for services, and its
/// deploy workflows.
fn source(
    name: &str,
    secrets: &[&str],
    services: &[(&str, &str)],
    deploy_workflows: &[&str],
) -> (String, SourceSettings) {
    let text = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    let settings = SourceSettings {
        secrets: text(secrets),
        services: services
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        deploy_workflows: text(deploy_workflows),
        keep_titles: false,
        // The label of GitHub's own example issue.
        incident_label: Some("bug".into()),
        incident_types: Vec::new(),
        service_field: None,
        flow: Default::default(),
    };
    (name.to_string(), settings)
}
