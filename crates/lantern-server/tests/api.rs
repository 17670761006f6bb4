//! The real server on a random port, a real SQLite file, real HTTP.

mod common;

use common::{KEY, TestApp, fixture, form, github, github_fixture, hmac_hex, spawn_app};

use lantern_engine::{EngineConfig, EventSet, Scope, Window, report};
use lantern_events::{MICROS_PER_DAY, Name, Pseudonymiser, Timestamp, parse_event_json};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const HISTORY: &[&str] = &[
    r#"{"type":"change","repo":"acme/shop","sha":"aaaaaaa","committed_at":"2026-03-01T09:00:00Z"}"#,
    r#"{"type":"change","repo":"acme/shop","sha":"bbbbbbb","parents":["aaaaaaa"],"committed_at":"2026-03-02T09:00:00Z","author":"dev-1"}"#,
    r#"{"type":"change","repo":"acme/shop","sha":"ccccccc","parents":["bbbbbbb"],"committed_at":"2026-03-03T09:00:00Z","author":"dev-2"}"#,
    r#"{"type":"deployment","id":"d1","service":"checkout","environment":"production","finished_at":"2026-03-01T12:00:00Z","repo":"acme/shop","sha":"aaaaaaa"}"#,
    r#"{"type":"deployment","id":"d2","service":"checkout","environment":"production","finished_at":"2026-03-03T12:00:00Z","repo":"acme/shop","sha":"ccccccc"}"#,
    r#"{"type":"incident","id":"i1","service":"checkout","started_at":"2026-03-03T13:00:00Z","resolved_at":"2026-03-03T14:00:00Z","caused_by":"d2"}"#,
];

fn history() -> Value {
    Value::Array(
        HISTORY
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

/// The same report from the engine directly, with nothing in between.
fn expected_report(scope: &Scope) -> Value {
    let p = Pseudonymiser::from_key(KEY);
    let events: Vec<_> = HISTORY
        .iter()
        .map(|l| parse_event_json(l, &p).unwrap())
        .collect();
    let window = Window::new(
        Timestamp::parse_bound("2026-03-01").unwrap(),
        Timestamp::parse_bound("2026-04-01").unwrap(),
    )
    .unwrap();
    let r = report(
        &EventSet::from_events(events),
        scope,
        window,
        &EngineConfig::default(),
    );
    serde_json::to_value(r).unwrap()
}

#[tokio::test]
async fn events_sent_to_the_hook_come_back_as_the_engines_report() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.0, 200);
    assert_eq!(app.get("/readyz").await.0, 200);

    let (status, _, body) = app.post("/hooks/events", history().to_string()).await;
    assert_eq!((status, body["accepted"].as_u64()), (200, Some(6)));
    // A re-delivery changes nothing.
    let (status, _, _) = app.post("/hooks/events", history().to_string()).await;
    assert_eq!(status, 200);
    let (status, _, _) = app.post("/hooks/events", HISTORY[4]).await;
    assert_eq!(status, 200, "one object is an event too");

    let (status, got) = app
        .get("/api/v1/report?service=checkout&from=2026-03-01&to=2026-04-01")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        got,
        expected_report(&Scope::Service(Name::parse("checkout").unwrap()))
    );
    assert_eq!(got["change_failure_rate"]["failed"], 1);
    let (_, team) = app
        .get("/api/v1/report?team=payments&from=2026-03-01&to=2026-04-01&bucket=week")
        .await;
    assert_eq!(team["scope"], json!({"team": "payments"}));
    // ISO weeks touching March 2026, the first and last cut by the window.
    assert_eq!(team["buckets"].as_array().unwrap().len(), 6);
    let (_, org) = app
        .get("/api/v1/report?from=2026-03-01&to=2026-04-01")
        .await;
    assert_eq!(org, expected_report(&Scope::Org));
    // April beside March (health.md, "Comparing periods").
    let (status, april) = app
        .get("/api/v1/report?service=checkout&from=2026-04-01&to=2026-05-01&compare=previous")
        .await;
    assert_eq!(status, 200);
    let march = expected_report(&Scope::Service(Name::parse("checkout").unwrap()));
    let compare = &april["compare"];
    assert_eq!(compare["mode"], "previous");
    assert_eq!(
        compare["window"],
        json!({"from": "2026-03-02T00:00:00Z", "to": "2026-04-01T00:00:00Z"})
    );
    assert_eq!(
        compare["change_failure_rate.rate"],
        json!({"now": null, "then": 1.0, "change": null, "relative": null})
    );
    assert_eq!(compare["deployment_frequency.per_day"]["now"], 0.0);
    // The earlier window is April's length (30 days) back, from 2 March:
    // d1 on 1 March falls outside it, d2 inside.
    assert_ne!(
        march["deployment_frequency"]["per_day"],
        compare["deployment_frequency.per_day"]["then"]
    );
    assert!(
        (compare["deployment_frequency.per_day"]["then"]
            .as_f64()
            .unwrap()
            - 1.0 / 30.0)
            .abs()
            < 1e-9
    );
    let (status, wrong) = app
        .get("/api/v1/report?service=checkout&compare=last-year")
        .await;
    assert_eq!(status, 400);
    assert!(
        wrong["detail"].as_str().unwrap().starts_with("compare:"),
        "{wrong}"
    );

    let (_, catalog) = app.get("/api/v1/catalog").await;
    assert_eq!(
        catalog,
        json!({"teams": [{"name": "payments", "services": ["checkout"]}, {"name": "search", "services": ["search-api"]}], "services": ["checkout"]})
    );
    let (status, deployments) = app
        .get("/api/v1/services/checkout/deployments?from=2026-03-01&to=2026-04-01")
        .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = deployments
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["d1", "d2"]);
    assert_eq!(deployments[1]["finished_at"], "2026-03-03T12:00:00Z");
    let (_, incidents) = app
        .get("/api/v1/services/checkout/incidents?from=2026-03-01&to=2026-04-01")
        .await;
    assert_eq!(incidents[0]["caused_by"], "d2");
    let (_, none) = app
        .get("/api/v1/services/checkout/incidents?from=2026-03-04&to=2026-04-01")
        .await;
    assert_eq!(none, json!([]), "resolved before the window");
    let (status, _) = app
        .get("/api/v1/services/checkout/deployments?from=x")
        .await;
    assert_eq!(status, 400);
    let note = r#"{"type":"annotation","id":"a1","scope":{"team":"payments"},"kind":"freeze","from":"2026-03-10T00:00:00Z","to":"2026-03-12T00:00:00Z","title":"Freeze"}"#;
    assert_eq!(app.post("/hooks/events", note).await.0, 200);
    let (_, notes) = app
        .get("/api/v1/annotations?from=2026-03-01&to=2026-04-01")
        .await;
    assert_eq!(notes[0]["scope"], json!({"team": "payments"}));
    assert_eq!(notes[0]["kind"], "freeze");
    let (_, later) = app
        .get("/api/v1/annotations?from=2026-03-13&to=2026-04-01")
        .await;
    assert_eq!(later, json!([]));
    let (_, docs) = app.get("/api/v1/metrics/docs").await;
    assert!(
        docs.as_array()
            .unwrap()
            .iter()
            .any(|d| d["key"] == "lead_time")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_service_timeline_pages_filters_and_marks_failures() {
    let app = spawn_app().await;
    let admin = app.tokens["admin"].clone();
    let mut events: Vec<Value> = (0..60)
        .map(|i| {
            json!({"type":"deployment","id":format!("p{i}"),"service":"web","environment":"production",
                "finished_at":Timestamp::from_micros(1_772_323_200_000_000 + i * 3_600_000_000).to_rfc3339()})
        })
        .collect();
    events.push(json!({"type":"deployment","id":"s1","service":"web","environment":"staging","finished_at":"2026-03-01T12:30:00Z"}));
    events.push(json!({"type":"incident","id":"i1","service":"web","started_at":"2026-03-03T11:10:00Z","resolved_at":"2026-03-03T12:00:00Z","caused_by":"p59"}));
    let (status, _, body) = app
        .post("/hooks/events", Value::Array(events).to_string())
        .await;
    assert_eq!(status, 200, "{body}");
    let base = "/services/web?from=2026-03-01&to=2026-03-05";
    let page = app.page(&admin, base).await;
    assert!(page.text.contains("Page 1 of 2"), "{}", page.text);
    assert!(!page.text.contains(">s1<"), "staging is hidden by default");
    assert!(
        page.text.contains("1 deployment elsewhere not shown"),
        "{}",
        page.text
    );
    // The newest first: p59, which the incident names, is marked failed.
    assert!(page.text.contains(r#"data-failed="true""#), "{}", page.text);
    assert_eq!(page.text.matches(r#"data-failed="true""#).count(), 1);
    let all = app.page(&admin, &format!("{base}&timeline=all")).await;
    assert!(all.text.contains(">s1<"), "{}", all.text);
    let older = app
        .page(&admin, &format!("{base}&timeline=all&page=2"))
        .await;
    assert!(older.text.contains("Page 2 of 2"), "{}", older.text);
    assert!(older.text.contains(r#"rel="prev""#));
    assert!(older.text.contains(">p0<") && !older.text.contains(">p59<"));
    // A page past the last shows the last.
    let past = app.page(&admin, &format!("{base}&page=99")).await;
    assert!(past.text.contains("Page 2 of 2"), "{}", past.text);
}

#[tokio::test]
async fn one_switcher_finds_any_team_or_service_and_the_menu_folds() {
    let app = spawn_app().await;
    let admin = app.tokens["admin"].clone();
    let page = app.page(&admin, "/docs/metrics").await;
    // No link per team in the header: a searchable switcher, a foldable
    // menu, and each team and catalog service offered by name.
    assert!(!page.text.contains(">Team payments</a>"), "{}", page.text);
    assert!(
        page.text
            .contains(r#"<form class="switcher" method="get" action="/go""#)
    );
    assert!(
        page.text.contains(r#"<option value="team payments">"#),
        "{}",
        page.text
    );
    assert!(
        page.text.contains(r#"<option value="service checkout">"#),
        "{}",
        page.text
    );
    assert!(page.text.contains(r#"id="menu-toggle""#));
    for (to, place) in [
        ("team%20payments", "/teams/payments"),
        ("service%20checkout", "/services/checkout"),
        ("payments", "/teams/payments"),
        ("search-api", "/services/search-api"),
    ] {
        let answer = app
            .send(Some(&admin), "GET", &format!("/go?to={to}"), &[], None)
            .await;
        assert_eq!(answer.status, 303, "{to}: {}", answer.text);
        assert_eq!(answer.header("location"), Some(place), "{to}");
    }
    let empty = app.send(Some(&admin), "GET", "/go?to=%20", &[], None).await;
    assert_eq!(empty.status, 400);
    let anonymous = app.send(None, "GET", "/go?to=payments", &[], None).await;
    assert!(
        anonymous
            .header("location")
            .is_some_and(|l| l.starts_with("/sign-in")),
        "signed in only: {:?}",
        anonymous.headers
    );
    // A date range: from and to (not included), kept with the bucket.
    let team = app
        .page(
            &admin,
            "/teams/payments?from=2026-03-01&to=2026-04-01&bucket=week",
        )
        .await;
    assert!(
        team.text
            .contains(r#"name="from" value="2026-03-01" required"#),
        "{}",
        team.text
    );
    assert!(
        team.text
            .contains(r#"name="to" value="2026-04-01" required"#)
    );
    assert!(
        team.text
            .contains(r#"<input type="hidden" name="bucket" value="week">"#)
    );
}

#[tokio::test]
async fn a_first_run_shows_what_is_left_to_do_and_no_band() {
    let app = spawn_app().await;
    let admin = app.tokens["admin"].clone();
    let page = app.page(&admin, "/").await;
    let steps = |text: &str| -> Vec<String> {
        text.split("<li data-done=\"")
            .skip(1)
            .map(|s| s[..s.find('"').unwrap()].to_string())
            .collect()
    };
    assert!(page.text.contains("data-getting-started"), "{}", page.text);
    assert_eq!(steps(&page.text), ["true", "false", "false"]);
    // No deployment: "no data", never a low band.
    assert!(!page.text.contains("band-low"), "{}", page.text);
    assert!(page.text.contains("no data"), "{}", page.text);
    // An event that names no service yet: the second step is done.
    let change =
        json!({"type":"change","repo":"r","sha":"aaaaaaa","committed_at":"2026-03-01T09:00:00Z"});
    assert_eq!(app.post("/hooks/events", change.to_string()).await.0, 200);
    let page = app.page(&admin, "/").await;
    assert_eq!(steps(&page.text), ["true", "true", "false"]);
    // The first deployment: the checklist is gone.
    let deployment = json!({"type":"deployment","id":"d1","service":"web","environment":"production","finished_at":"2026-03-01T10:00:00Z"});
    assert_eq!(
        app.post("/hooks/events", deployment.to_string()).await.0,
        200
    );
    let page = app.page(&admin, "/").await;
    assert!(!page.text.contains("data-getting-started"), "{}", page.text);
}

#[tokio::test]
async fn bad_input_gets_a_problem_and_is_kept_as_a_dead_letter() {
    let app = spawn_app().await;
    let (status, kind, problem) = app.post("/hooks/events", "{not json").await;
    assert_eq!((status, kind.as_str()), (400, "application/problem+json"));
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert_eq!(problem["status"], 400);

    // One bad event in a batch: nothing of the batch is stored, and the
    // answer names the item and the field.
    let mut batch = history();
    batch[4].as_object_mut().unwrap().remove("finished_at");
    let (status, _, problem) = app.post("/hooks/events", batch.to_string()).await;
    assert_eq!(status, 400);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("[4]") && detail.contains("finished_at"),
        "{detail}"
    );
    assert!(detail.contains("dead letter 2"), "{detail}");

    let (status, _, problem) = app.post("/hooks/events", "x".repeat(65 * 1024)).await;
    assert_eq!(status, 413);
    assert_eq!(problem["type"], "urn:lantern:problem:too-large");

    let (status, report) = app.get("/api/v1/report?service=checkout&from=nope").await;
    assert_eq!(status, 400);
    assert!(report["detail"].as_str().unwrap().contains("from"));
    let (status, _) = app.get("/api/v1/report?team=nobody").await;
    assert_eq!(status, 404);
    // A service no event names: not a report of zeros rated low.
    let (status, problem) = app.get("/api/v1/report?service=nobody").await;
    assert_eq!(status, 404, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("known services: none yet"),
        "{problem}"
    );
    let (status, _) = app.get("/api/v1/report?colour=red").await;
    assert_eq!(status, 400);
    let (status, _) = app.get("/no/such/route").await;
    assert_eq!(status, 404);
    let home = app.stop().await;

    let (deployments, letters) = home.with_store(|store| {
        (
            store.counts().unwrap().deployments,
            store.dead_letters().unwrap(),
        )
    });
    assert_eq!(deployments, 0, "nothing half-stored");
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0].body, b"{not json");
    assert_eq!(letters[1].source, "events");
    assert!(letters[1].reason.contains("finished_at"));
}

#[tokio::test]
async fn the_openapi_document_lists_every_route() {
    let app = spawn_app().await;
    let (status, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "/healthz",
            "/readyz",
            "/api/v1/report",
            "/api/v1/flow",
            "/api/v1/slos",
            "/api/v1/gate",
            "/api/v1/catalog",
            "/api/v1/metrics/docs",
            "/api/v1/services/{service}/deployments",
            "/api/v1/services/{service}/deployments/{id}",
            "/api/v1/services/{service}/incidents",
            "/api/v1/services/{service}/changes",
            "/api/v1/annotations",
            "/api/v1/disputes",
            "/api/v1/disputes/{id}/resolve",
            "/api/v1/session",
            "/api/v1/whoami",
            "/api/v1/tokens",
            "/api/v1/tokens/{id}",
            "/api/v1/access-review",
            "/api/v1/audit",
            "/api/v1/audit/verify",
            "/api/v1/openapi.json",
            "/api/v1/pulse/rounds",
            "/api/v1/pulse/rounds/{round}",
            "/api/v1/pulse/rounds/{round}/codes",
            "/api/v1/pulse/rounds/{round}/close",
            "/api/v1/pulse/rounds/{round}/answers",
            "/api/v1/experiments",
            "/api/v1/experiments/{id}/end",
            "/api/v1/team-health",
            "/metrics",
            "/api/v1/backstage/data",
            "/hooks/{source}",
        ])
    );
    // A query's parameters are in the query, optional unless needed; a
    // path's are in the path (so generated clients call them right).
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                let place = if in_path { "path" } else { "query" };
                assert_eq!(p["in"], place, "{method} {path} {name}");
                if in_path {
                    assert_eq!(p["required"], true, "{method} {path} {name}");
                }
            }
            // Tags people read, not Rust module paths.
            for t in op["tags"].as_array().into_iter().flatten() {
                assert!(!t.as_str().unwrap().contains("::"), "{method} {path}: {t}");
            }
            // Every answer with a body shows an example of it.
            for (status, response) in op["responses"].as_object().unwrap() {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    let example = &content["example"];
                    assert!(
                        !example.is_null(),
                        "{method} {path} {status} {media}: no example"
                    );
                    if !status.starts_with('2') && media == "application/json" {
                        assert_eq!(example["status"].to_string(), *status, "{method} {path}");
                    }
                }
            }
        }
    }
    let from = &doc["paths"]["/api/v1/report"]["get"]["parameters"];
    let from = from
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "from")
        .unwrap();
    assert_ne!(from["required"], true, "{from}");
    // Public routes need no token.
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/api/v1/session", "post"),
        ("/api/v1/pulse/rounds/{round}/answers", "post"),
    ] {
        assert_eq!(
            doc["paths"][path][method]["security"],
            json!([{}]),
            "{path}"
        );
    }
    assert!(
        doc["paths"]["/hooks/{source}"]["post"]["security"]
            .as_array()
            .unwrap()
            .contains(&json!({}))
    );
    assert!(
        doc["paths"]["/api/v1/report"]["get"]["security"].is_null(),
        "the default: bearer"
    );
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"Reports") && tags.contains(&"Team health"),
        "{tags:?}"
    );
    // The receivers' one route names every receiver.
    let source = &doc["paths"]["/hooks/{source}"]["post"]["parameters"][0];
    assert_eq!(source["name"], "source");
    let named = source["description"].as_str().unwrap();
    for receiver in lantern_sources::RECEIVERS {
        assert!(named.contains(receiver.name), "{named}");
    }
    // Every route in the document answers (none is documented but missing).
    for path in paths.iter().filter(|p| !p.starts_with("/hooks")) {
        let get = doc["paths"][*path]["get"].is_object();
        if get {
            // A 404 of the route itself (no such deployment) is fine; the
            // router's own "no such route" is not.
            let (status, body) = app.get(path).await;
            assert!(
                status != 404 || body["type"] != "urn:lantern:problem:not-found",
                "{path}: {body}"
            );
        }
    }
    assert!(doc["components"]["schemas"]["ReportDocument"].is_object());
    app.stop().await;
}

#[tokio::test]
async fn incident_tools_feed_time_to_restore_fact_by_fact() {
    let app = spawn_app().await;
    let body = fixture("pagerduty/body.raw");
    let signature = String::from_utf8(fixture("pagerduty/body.raw.sig.test-secret")).unwrap();
    let signature = signature.trim();
    // Unsigned, wrongly signed, or signed over another body: refused.
    let (status, kind, _) = app.post("/hooks/pagerduty", body.clone()).await;
    assert_eq!((status, kind.as_str()), (401, "application/problem+json"));
    let wrong = [("x-pagerduty-signature", "v1=00ff")];
    assert_eq!(
        app.post_with("/hooks/pagerduty", &wrong, body.clone())
            .await
            .0,
        401
    );
    let signed = [("x-pagerduty-signature", signature)];
    let mut changed = body.clone();
    changed.push(b' ');
    assert_eq!(
        app.post_with("/hooks/pagerduty", &signed, changed).await.0,
        401
    );
    // Signed with the newer of two secrets, among other signatures.
    let both = format!("v1=1234, {signature}");
    let rotated = [("x-pagerduty-signature", both.as_str())];
    let (status, _, accepted) = app
        .post_with("/hooks/pagerduty", &rotated, body.clone())
        .await;
    assert_eq!((status, accepted["accepted"].as_u64()), (200, Some(1)));

    // Then acknowledged and resolved (bodies of our own, signed alike).
    let triggered: Value = serde_json::from_slice(&body).unwrap();
    for (kind, at) in [
        ("incident.acknowledged", "2020-04-09T15:20:27Z"),
        ("incident.resolved", "2020-04-09T16:16:27Z"),
    ] {
        let mut next = triggered.clone();
        next["event"]["event_type"] = json!(kind);
        next["event"]["occurred_at"] = json!(at);
        let (status, _) = pagerduty(&app, serde_json::to_vec(&next).unwrap()).await;
        assert_eq!(status, 200);
    }
    assert_eq!(
        restored(&app, "api", "2020-04-01", "2020-05-01").await,
        (1, 3600.0)
    );

    // Alertmanager: a bearer token; the `job` label names the service.
    let firing = fixture("alertmanager/webhook_v4_firing.json");
    assert_eq!(app.post("/hooks/alertmanager", firing.clone()).await.0, 401);
    let token = [("authorization", "Bearer am-token")];
    let (status, _, _) = app
        .post_with("/hooks/alertmanager", &token, firing.clone())
        .await;
    assert_eq!(status, 200);
    let mut resolved: Value = serde_json::from_slice(&firing).unwrap();
    resolved["status"] = json!("resolved");
    resolved["alerts"][0]["status"] = json!("resolved");
    resolved["alerts"][0]["endsAt"] = json!("2023-02-06T13:38:45.828Z");
    let (status, _, _) = app
        .post_json("/hooks/alertmanager", &token, &resolved)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        restored(&app, "web", "2023-02-01", "2023-03-01").await,
        (1, 1800.0)
    );

    // Opsgenie: epoch milliseconds; a tag mapped to the service.
    let created: Value = serde_json::from_slice(&fixture("opsgenie/alert_create.json")).unwrap();
    let token = [("authorization", "Bearer og-token")];
    assert_eq!(
        app.post_json("/hooks/opsgenie", &token, &created).await.0,
        200
    );
    let mut closed = created.clone();
    closed["action"] = json!("Close");
    closed["alert"]["updatedAt"] = json!(1_420_455_791_104_000_000i64);
    let (status, _, _) = app.post_json("/hooks/opsgenie", &token, &closed).await;
    assert_eq!(status, 200);
    let mut noted = closed.clone();
    noted["action"] = json!("AddNote");
    let (status, _, ignored) = app.post_json("/hooks/opsgenie", &token, &noted).await;
    assert_eq!(status, 202, "{ignored}");
    assert_eq!(
        restored(&app, "web", "2015-01-01", "2015-02-01").await,
        (1, 3600.0)
    );
    // A signed body that is not PagerDuty's shape: 400 and a dead letter.
    let junk =
        br#"{"event":{"resource_type":"incident","event_type":"incident.triggered"}}"#.to_vec();
    let (status, problem) = pagerduty(&app, junk).await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("`event.data` is missing"),
        "{problem}"
    );
    let _dir = app.stop().await;
}

/// A PagerDuty delivery signed with the test secret: (status, answer).
async fn pagerduty(app: &TestApp, body: Vec<u8>) -> (u16, Value) {
    let signature = format!("v1={}", hmac_hex(b"test-secret", &body));
    let header = [("x-pagerduty-signature", signature.as_str())];
    let (status, _, answer) = app.post_with("/hooks/pagerduty", &header, body).await;
    (status, answer)
}

/// How many incidents of `service` were restored in the window, and the
/// median time to restore.
async fn restored(app: &TestApp, service: &str, from: &str, to: &str) -> (u64, f64) {
    let path = format!("/api/v1/report?service={service}&from={from}&to={to}");
    let (_, report) = app.get(&path).await;
    let restore = &report["time_to_restore"];
    (
        restore["count"].as_u64().unwrap_or(0),
        restore["median_s"].as_f64().unwrap_or(f64::NAN),
    )
}

#[tokio::test]
async fn github_deliveries_become_deployments_changes_and_pull_requests() {
    let app = spawn_app().await;
    // Signatures: GitHub's own test vector shape, wrong and missing.
    let push = github_fixture("push/with-new-branch.payload.json");
    let body = serde_json::to_vec(&push).unwrap();
    let wrong = [
        ("x-github-event", "push"),
        ("x-hub-signature-256", "sha256=00"),
    ];
    assert_eq!(
        app.post_with("/hooks/github", &wrong, body.clone()).await.0,
        401
    );
    assert_eq!(
        app.post_with("/hooks/github", &[("x-github-event", "push")], body)
            .await
            .0,
        401
    );

    assert_eq!(
        github(&app, "ping", &json!({"zen": "Keep it logically awesome."}))
            .await
            .0,
        202
    );
    let (status, answer) = github(&app, "push", &push).await;
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(1)));
    let deployed = github_fixture("deployment_status/payload.json");
    assert_eq!(
        github(
            &app,
            "deployment",
            &github_fixture("deployment/payload.json")
        )
        .await
        .0,
        202
    );
    let (status, _) = github(&app, "deployment_status", &deployed).await;
    assert_eq!(status, 200);
    // A re-delivery changes nothing.
    assert_eq!(github(&app, "deployment_status", &deployed).await.0, 200);

    // A pull request opened, reviewed by someone else, then merged.
    let mut opened = github_fixture("pull_request/closed.payload.json");
    opened["action"] = json!("opened");
    opened["pull_request"]["closed_at"] = Value::Null;
    assert_eq!(github(&app, "pull_request", &opened).await.0, 200);
    let mut reviewed = github_fixture("pull_request_review/submitted.payload.json");
    assert_eq!(
        github(&app, "pull_request_review", &reviewed).await.0,
        202,
        "own review"
    );
    reviewed["review"]["user"]["login"] = json!("Octocat");
    reviewed["review"]["state"] = json!("approved");
    assert_eq!(github(&app, "pull_request_review", &reviewed).await.0, 200);
    let mut merged = github_fixture("pull_request/closed.payload.json");
    merged["pull_request"]["merged"] = json!(true);
    merged["pull_request"]["merged_at"] = json!("2019-05-15T15:21:18Z");
    assert_eq!(github(&app, "pull_request", &merged).await.0, 200);

    // A workflow run is a CI run; one of a deploy workflow is a deployment too.
    let mut run = github_fixture("workflow_run/completed.payload.json");
    let (status, answer) = github(&app, "workflow_run", &run).await;
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(1)));
    run["workflow_run"]["name"] = json!("Deploy");
    let (status, answer) = github(&app, "workflow_run", &run).await;
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(2)));
    // Missing event type: a dead letter.
    let sig = format!("sha256={}", hmac_hex(b"gh-secret", b"{}"));
    let (status, _, _) = app
        .post_with(
            "/hooks/github",
            &[("x-hub-signature-256", sig.as_str())],
            "{}",
        )
        .await;
    assert_eq!(status, 400);

    let home = app.stop().await;
    let (events, letters) =
        home.with_store(|store| (store.load(None).unwrap(), store.dead_letters().unwrap()));
    assert_eq!(events.changes.len(), 1);
    assert_eq!(events.deployments.len(), 2);
    // One run, one attempt: the second delivery replaced the first.
    assert_eq!(events.pipeline_runs.len(), 1);
    assert_eq!(events.pipeline_runs[0].pipeline.as_str(), "Deploy");
    let d = events
        .deployments
        .iter()
        .find(|d| d.id.as_str() == "github:Codertocat/Hello-World:deployment:145988746")
        .unwrap();
    assert_eq!(d.service.as_str(), "hello");
    assert_eq!(
        d.finished_at,
        Timestamp::parse_rfc3339("2019-05-15T15:20:55Z").unwrap()
    );
    let pr = &events.pull_requests[0];
    assert_eq!(pr.id.as_str(), "Codertocat/Hello-World#2");
    assert_eq!(
        pr.first_review_at,
        Timestamp::parse_rfc3339("2019-05-15T15:20:38Z").ok()
    );
    assert_eq!(pr.approved_at, pr.first_review_at);
    assert_eq!(
        pr.merged_at,
        Timestamp::parse_rfc3339("2019-05-15T15:21:18Z").ok()
    );
    assert!(pr.merge_sha.is_some() && pr.author.is_some());
    assert_eq!(letters[0].reason, "the `X-GitHub-Event` header is missing");
}

/// GitHub offers `application/x-www-form-urlencoded` (the JSON in a
/// `payload` field); it is signed as sent. Numbers past what a store keeps
/// are refused with the field named, never clamped.
#[tokio::test]
async fn github_form_deliveries_and_numbers_out_of_range() {
    let app = spawn_app().await;
    let mut merged = github_fixture("pull_request/closed.payload.json");
    merged["pull_request"]["merged_at"] = json!("2019-05-15T15:21:18Z");
    let Value::String(body) = form(&[("payload", &merged.to_string())]) else {
        unreachable!()
    };
    let sig = format!("sha256={}", hmac_hex(b"gh-secret", body.as_bytes()));
    let headers = [
        ("x-github-event", "pull_request"),
        ("x-hub-signature-256", sig.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let (status, _, answer) = app.post_with("/hooks/github", &headers, body.clone()).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    // Signed over the JSON instead of the form as sent: refused.
    let json_sig = format!(
        "sha256={}",
        hmac_hex(b"gh-secret", merged.to_string().as_bytes())
    );
    let forged = [
        headers[0],
        ("x-hub-signature-256", json_sig.as_str()),
        headers[2],
    ];
    assert_eq!(app.post_with("/hooks/github", &forged, body).await.0, 401);

    let mut huge = merged.clone();
    huge["pull_request"]["additions"] = json!(9_223_372_036_854_775_808u64);
    let (status, problem) = github(&app, "pull_request", &huge).await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("/pull_request/additions"),
        "{problem}"
    );
    // Opsgenie's epoch milliseconds past the year 9999.
    let mut created: Value =
        serde_json::from_slice(&fixture("opsgenie/alert_create.json")).unwrap();
    created["alert"]["createdAt"] = json!(253_402_300_800_000i64);
    let token = [("authorization", "Bearer og-token")];
    let (status, _, problem) = app.post_json("/hooks/opsgenie", &token, &created).await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("/alert/createdAt"),
        "{problem}"
    );

    let home = app.stop().await;
    let events = home.with_store(|store| store.load(None).unwrap());
    assert_eq!(events.pull_requests.len(), 1);
    assert!(events.pull_requests[0].merged_at.is_some());
    assert!(events.incidents.is_empty());
}

/// CI runs from GitHub's `workflow_run` and GitLab's pipeline hook feed
/// hygiene.md's signals: a failed first attempt that passed when re-run is
/// flaky, and the pipeline success rate counts first attempts only.
#[tokio::test]
async fn ci_runs_from_github_and_gitlab_feed_the_signals() {
    let app = spawn_app().await;
    let deployed = github_fixture("deployment_status/payload.json");
    assert_eq!(github(&app, "deployment_status", &deployed).await.0, 200);
    let mut run = github_fixture("workflow_run/completed.payload.json");
    run["repository"] = deployed["repository"].clone();
    run["workflow_run"]["conclusion"] = json!("failure");
    assert_eq!(github(&app, "workflow_run", &run).await.0, 200);
    run["workflow_run"]["run_attempt"] = json!(2);
    run["workflow_run"]["conclusion"] = json!("success");
    run["workflow_run"]["updated_at"] = json!("2020-10-05T16:40:49Z");
    assert_eq!(github(&app, "workflow_run", &run).await.0, 200);
    // Not final yet, or neither success nor failure: nothing to store.
    run["action"] = json!("requested");
    assert_eq!(github(&app, "workflow_run", &run).await.0, 202);
    run["action"] = json!("completed");
    run["workflow_run"]["conclusion"] = json!("skipped");
    assert_eq!(github(&app, "workflow_run", &run).await.0, 202);
    let (_, report) = app
        .get("/api/v1/report?service=hello&from=2019-01-01&to=2021-01-01")
        .await;
    assert_eq!(report["data_quality"]["flaky_runs"], 1, "{report}");
    assert_eq!(report["signals"]["pipeline_success_rate"], 0.0);
    assert_eq!(report["signals"]["time_in_ci"]["count"], 1);
    assert_eq!(report["signals"]["time_in_ci"]["median_s"], 420.0);

    // GitLab: the documented pipeline hook, its token, a run not finished.
    let token = [("x-gitlab-token", "gl-token")];
    let mut pipeline: Value =
        serde_json::from_slice(&fixture("gitlab/pipeline_hook.json")).unwrap();
    let body = serde_json::to_vec(&pipeline).unwrap();
    assert_eq!(app.post("/hooks/gitlab", body.clone()).await.0, 401);
    let (status, _, answer) = app.post_with("/hooks/gitlab", &token, body).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    pipeline["object_attributes"]["status"] = json!("running");
    assert_eq!(
        app.post_json("/hooks/gitlab", &token, &pipeline).await.0,
        202
    );
    pipeline["object_attributes"]["status"] = json!("failed");
    pipeline["object_attributes"]["sha"] = json!("not a sha");
    let (status, _, problem) = app.post_json("/hooks/gitlab", &token, &pipeline).await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("/object_attributes/sha"),
        "{problem}"
    );

    let home = app.stop().await;
    let events = home.with_store(|store| store.load(None).unwrap());
    let mut runs: Vec<(String, u32, String)> = events
        .pipeline_runs
        .iter()
        .map(|r| (r.id.to_string(), r.attempt, r.pipeline.to_string()))
        .collect();
    runs.sort();
    assert_eq!(
        runs,
        [
            (
                "github:Codertocat/Hello-World:run:289782451:1".into(),
                1,
                "test".into()
            ),
            (
                "github:Codertocat/Hello-World:run:289782451:2".into(),
                2,
                "test".into()
            ),
            (
                "gitlab:gitlab-org/gitlab-test:pipeline:31".into(),
                1,
                "Pipeline for branch: master".into()
            ),
        ]
    );
}

/// hygiene.md F3 and F1 over HTTP: an event dated days after it arrived is
/// kept and counted; a receiver that delivered and then fell silent for
/// more than a day is listed (and is not, an hour later).
#[tokio::test]
async fn future_dated_events_and_silent_receivers_are_reported() {
    let app = spawn_app().await;
    let now = Timestamp::now();
    let at = |days: i64| now.plus_micros(days * 86_400_000_000).to_rfc3339();
    let events = json!([
        {"type":"deployment","id":"ahead","service":"checkout","environment":"production","finished_at": at(3)},
        {"type":"deployment","id":"on-time","service":"checkout","environment":"production","finished_at": at(0)},
        {"type":"deployment","id":"elsewhere","service":"search","environment":"production","finished_at": at(4)},
    ]);
    let (status, _, answer) = app.post("/hooks/events", events.to_string()).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(3)),
        "{answer}"
    );
    let report = |scope: &'static str, to: i64| {
        let path =
            format!("/api/v1/report?{scope}from={}&to={}", at(-1), at(to)).replace('+', "%2B");
        let app = &app;
        async move { app.get(&path).await.1 }
    };
    let checkout = report("service=checkout&", 5).await;
    let quality = &checkout["data_quality"];
    assert_eq!(quality["future_timestamps"], 1, "{checkout}");
    assert_eq!(report("", 5).await["data_quality"]["future_timestamps"], 2);
    // The events receiver delivered just now: silent only two days later.
    let later = report("", 2).await;
    let silent = later["data_quality"]["silent_sources"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(silent.len(), 1, "{later}");
    assert_eq!(silent[0]["source"], "events");
    let soon = app
        .get(
            &format!(
                "/api/v1/report?from={}&to={}",
                at(-1),
                now.plus_micros(3_600_000_000).to_rfc3339()
            )
            .replace('+', "%2B"),
        )
        .await
        .1;
    assert_eq!(soon["data_quality"]["silent_sources"], json!([]), "{soon}");
    // Kept, not refused: the future-dated deployment is stored.
    let home = app.stop().await;
    let stored = home.with_store(|store| store.load(None).unwrap());
    assert_eq!(stored.deployments.len(), 3);
}

/// Workflow health on the dashboard: a service whose deployments stopped
/// carries a banner above its figures; the data-health page lists each
/// fault with its fix, and an incident of a service no team owns.
#[tokio::test]
async fn pages_show_workflow_health_a_missing_events_banner_and_data_health() {
    let app = spawn_app().await;
    let mut events = Vec::new();
    for day in 1..=9 {
        events.push(json!({"type":"deployment","id":format!("c{day}"),"service":"checkout",
            "environment":"production","finished_at":format!("2026-01-{day:02}T10:00:00Z"),"automated":true}));
    }
    events.push(json!({"type":"incident","id":"stray","service":"unowned","started_at":"2026-02-10T10:00:00Z"}));
    let (status, _, _) = app
        .post("/hooks/events", Value::Array(events).to_string())
        .await;
    assert_eq!(status, 200);
    let admin = app.tokens["admin"].clone();
    let window = "from=2026-01-01&to=2026-03-01";
    // The page of a service nothing names is a 404, as in the API.
    let missing = app
        .send(Some(&admin), "GET", "/services/no-such-service", &[], None)
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert!(missing.text.contains("known services"), "{}", missing.text);
    let page = app
        .page(&admin, &format!("/services/checkout?{window}"))
        .await;
    assert!(
        page.text.contains(r#"data-silent="checkout""#),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains("deployment events may be missing since 2026-01-09T10:00:00Z")
    );
    assert!(page.text.contains("Workflow health"));
    assert!(page.text.contains(r#"data-signal="automated_share""#));
    // Time to restore, time to detect and success rate, with their samples.
    for key in [
        "time_to_restore",
        "time_to_detect",
        "deployment_success_rate",
    ] {
        assert!(
            page.text.contains(&format!(r#"data-supporting="{key}""#)),
            "{key}: {}",
            page.text
        );
    }
    assert!(page.text.contains("attempts)"), "{}", page.text);
    // Each chart's values as a table; no shaded span, so no legend.
    assert_eq!(page.text.matches("The values as a table").count(), 5);
    assert!(!page.text.contains("markers-legend"), "{}", page.text);
    let health = app.page(&admin, &format!("/data-health?{window}")).await;
    assert!(
        health.text.contains(r#"data-scope="service checkout""#),
        "{}",
        health.text
    );
    assert!(health.text.contains(r#"data-check="silent_services""#));
    assert!(health.text.contains(r#"data-scope="organisation""#));
    assert!(
        health
            .text
            .contains("1 incident names a service no team owns")
    );
    // A service with no fault has no banner.
    let calm = app
        .page(&admin, &format!("/services/search-api?{window}"))
        .await;
    assert!(!calm.text.contains("data-silent"));
    app.stop().await;
}

/// Feature-flag tools (hygiene.md F5): LaunchDarkly (signed in
/// X-LD-Signature) and Unleash (a bearer secret) flag changes become
/// `feature_flag` annotations titled by the flag's key alone — the person
/// and the description of the vendors' payloads are not kept — and are
/// counted in the report's `flag_changes`.
#[tokio::test]
async fn flag_changes_from_launchdarkly_and_unleash_become_bare_annotations() {
    let app = spawn_app().await;
    let body = fixture("launchdarkly/flag_updated.json");
    assert_eq!(app.post("/hooks/launchdarkly", body.clone()).await.0, 401);
    let wrong = [("x-ld-signature", "00ff")];
    assert_eq!(
        app.post_with("/hooks/launchdarkly", &wrong, body.clone())
            .await
            .0,
        401
    );
    let sig = hmac_hex(b"ld-secret", &body);
    let signed = [("x-ld-signature", sig.as_str())];
    for _ in 0..2 {
        let (status, _, answer) = app
            .post_with("/hooks/launchdarkly", &signed, body.clone())
            .await;
        assert_eq!(
            (status, answer["accepted"].as_u64()),
            (200, Some(1)),
            "{answer}"
        );
    }
    let mut other: Value = serde_json::from_slice(&body).unwrap();
    other["kind"] = json!("environment");
    let bytes = serde_json::to_vec(&other).unwrap();
    let sig = hmac_hex(b"ld-secret", &bytes);
    let (status, _, _) = app
        .post_with(
            "/hooks/launchdarkly",
            &[("x-ld-signature", sig.as_str())],
            bytes,
        )
        .await;
    assert_eq!(status, 202);
    let mut broken: Value = serde_json::from_slice(&body).unwrap();
    broken["target"]["resources"] = json!([]);
    let bytes = serde_json::to_vec(&broken).unwrap();
    let sig = hmac_hex(b"ld-secret", &bytes);
    let (status, _, problem) = app
        .post_with(
            "/hooks/launchdarkly",
            &[("x-ld-signature", sig.as_str())],
            bytes,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("/target/resources/0"),
        "{problem}"
    );

    let unleash: Value =
        serde_json::from_slice(&fixture("unleash/feature_environment_enabled.json")).unwrap();
    let token = [("authorization", "Bearer un-token")];
    assert_eq!(app.post_json("/hooks/unleash", &[], &unleash).await.0, 401);
    let (status, _, answer) = app.post_json("/hooks/unleash", &token, &unleash).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    let mut addon = unleash.clone();
    addon["type"] = json!("addon-config-created");
    assert_eq!(app.post_json("/hooks/unleash", &token, &addon).await.0, 202);

    let (_, report) = app
        .get("/api/v1/report?service=checkout&from=2016-08-01&to=2016-09-01")
        .await;
    assert_eq!(report["data_quality"]["flag_changes"], 1, "{report}");
    let (_, org) = app
        .get("/api/v1/report?from=2021-05-01&to=2021-06-01")
        .await;
    assert_eq!(org["data_quality"]["flag_changes"], 1, "{org}");

    let home = app.stop().await;
    let notes = home.with_store(|store| store.annotations().unwrap());
    let mut flags: Vec<(String, String, String)> = notes
        .iter()
        .map(|a| (a.id.to_string(), format!("{:?}", a.scope), a.title.clone()))
        .collect();
    flags.sort();
    assert_eq!(
        flags,
        [
            (
                "launchdarkly:57c0a8e29969090743529966".to_string(),
                "Service(\"checkout\")".to_string(),
                "checkout-v2".to_string()
            ),
            (
                "unleash:41".to_string(),
                "Org".to_string(),
                "new-feature".to_string()
            ),
        ]
    );
    assert!(
        notes
            .iter()
            .all(|a| a.kind == lantern_events::AnnotationKind::FeatureFlag)
    );
}

/// Incidents kept in issue trackers: GitHub issues with the configured
/// label (here `bug`, the label of GitHub's own example), GitLab issues of
/// type incident, Jira issues of an incident type. Opened starts, closed
/// resolves, reopened is open again, removing the label deletes nothing;
/// no body, person or title is kept.
#[tokio::test]
async fn issue_trackers_feed_incidents() {
    let app = spawn_app().await;
    let labeled = github_fixture("issues/labeled.payload.json");
    let (status, answer) = github(&app, "issues", &labeled).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    let mut closed = labeled.clone();
    closed["action"] = json!("closed");
    closed["issue"]["state"] = json!("closed");
    closed["issue"]["closed_at"] = json!("2019-05-15T16:20:18Z");
    assert_eq!(github(&app, "issues", &closed).await.0, 200);
    assert_eq!(
        restored(&app, "hello", "2019-05-01", "2019-06-01").await,
        (1, 3600.0)
    );
    // Reopened (GitHub's example): open again.
    let reopened = github_fixture("issues/reopened.payload.json");
    assert_eq!(github(&app, "issues", &reopened).await.0, 200);
    // The label removed: nothing deleted (the issue is a work item now).
    let mut unlabeled = labeled.clone();
    unlabeled["action"] = json!("unlabeled");
    unlabeled["issue"]["labels"] = json!([]);
    assert_eq!(github(&app, "issues", &unlabeled).await.0, 200);

    let token = [("x-gitlab-token", "gl-token")];
    let mut issue: Value =
        serde_json::from_slice(&fixture("gitlab/incident_issue_hook.json")).unwrap();
    let (status, _, answer) = app.post_json("/hooks/gitlab", &token, &issue).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    // A plain issue is a work item (flow.md), not an incident.
    issue["object_attributes"]["type"] = json!("Issue");
    issue["object_attributes"]["issue_type"] = json!("issue");
    assert_eq!(app.post_json("/hooks/gitlab", &token, &issue).await.0, 200);

    let body = fixture("jira/issue_updated.json");
    assert_eq!(app.post("/hooks/jira", body.clone()).await.0, 401);
    let sig = format!("sha256={}", hmac_hex(b"jira-secret", &body));
    let signed = [("x-hub-signature", sig.as_str())];
    let (status, _, answer) = app.post_with("/hooks/jira", &signed, body.clone()).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    let mut story: Value = serde_json::from_slice(&body).unwrap();
    story["issue"]["fields"]["issuetype"]["name"] = json!("Story");
    let bytes = serde_json::to_vec(&story).unwrap();
    let sig = format!("sha256={}", hmac_hex(b"jira-secret", &bytes));
    // A story whose project no [flow.teams] names: nobody's work.
    let (status, _, answer) = app
        .post_with("/hooks/jira", &[("x-hub-signature", sig.as_str())], bytes)
        .await;
    assert_eq!(status, 202);
    assert!(
        answer["ignored"].as_str().unwrap().contains("[flow.teams]"),
        "{answer}"
    );
    let mut nameless: Value = serde_json::from_slice(&body).unwrap();
    nameless["issue"]["fields"]["components"] = json!([]);
    let bytes = serde_json::to_vec(&nameless).unwrap();
    let sig = format!("sha256={}", hmac_hex(b"jira-secret", &bytes));
    let (status, _, problem) = app
        .post_with("/hooks/jira", &[("x-hub-signature", sig.as_str())], bytes)
        .await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("service_field"),
        "{problem}"
    );
    assert_eq!(
        restored(&app, "checkout", "2018-05-01", "2018-06-01").await,
        (1, 952.0)
    );

    let home = app.stop().await;
    let events = home.with_store(|store| store.load(None).unwrap());
    let mut incidents: Vec<(String, String, bool)> = events
        .incidents
        .iter()
        .map(|i| {
            (
                i.id.to_string(),
                i.service.to_string(),
                i.resolved_at.is_some(),
            )
        })
        .collect();
    incidents.sort();
    assert_eq!(
        incidents,
        [
            (
                "github:Codertocat/Hello-World:issue:1".to_string(),
                "hello".to_string(),
                false
            ),
            (
                "gitlab:gitlabhq/gitlab-test:issue:23".to_string(),
                "Gitlab Test".to_string(),
                true
            ),
            ("jira:JRA-20002".to_string(), "checkout".to_string(), true),
        ]
    );
    assert!(events.incidents.iter().all(|i| i.title.is_none()));
}

#[tokio::test]
async fn gitlab_hooks_with_their_token_and_time_formats() {
    let app = spawn_app().await;
    let token = [("x-gitlab-token", "gl-token")];
    let mut deployment: Value =
        serde_json::from_slice(&fixture("gitlab/deployment_hook.json")).unwrap();
    let body = serde_json::to_vec(&deployment).unwrap();
    assert_eq!(app.post("/hooks/gitlab", body.clone()).await.0, 401);
    let wrong = [("x-gitlab-token", "gl-tokem")];
    assert_eq!(
        app.post_with("/hooks/gitlab", &wrong, body.clone()).await.0,
        401
    );
    assert_eq!(
        app.post_with("/hooks/gitlab", &token, body).await.0,
        200,
        "staging"
    );
    deployment["deployment_id"] = json!(16);
    deployment["environment_tier"] = json!("production");
    deployment["status_changed_at"] = json!("2021-04-28 20:50:00 UTC");
    let (status, _, _) = app.post_json("/hooks/gitlab", &token, &deployment).await;
    assert_eq!(status, 200);
    let push = json!({
        "object_kind": "push", "before": "0000000000000000000000000000000000000000",
        "project": {"path_with_namespace": "root/test-deployment-webhooks", "name": "test-deployment-webhooks"},
        "total_commits_count": 1,
        "commits": [{"id": "279484c09fbe69ededfced8c1bb6e6d24616b468", "timestamp": "2021-04-28T19:00:00+02:00",
                     "author": {"name": "Administrator", "email": "admin@example.com"}}]
    });
    let (status, _, _) = app.post_json("/hooks/gitlab", &token, &push).await;
    assert_eq!(status, 200);
    let mut mr = json!({
        "object_kind": "merge_request", "user": {"id": 2},
        "project": {"path_with_namespace": "root/test-deployment-webhooks"},
        "object_attributes": {"iid": 7, "author_id": 1, "action": "approved", "state": "opened",
                              "created_at": "2021-04-28 17:00:00 UTC", "updated_at": "2021-04-28 18:00:00 UTC"}
    });
    let post = |v: &Value| serde_json::to_vec(v).unwrap();
    assert_eq!(
        app.post_with("/hooks/gitlab", &token, post(&mr)).await.0,
        200
    );
    mr["object_attributes"]["action"] = json!("merge");
    mr["object_attributes"]["state"] = json!("merged");
    mr["object_attributes"]["updated_at"] = json!("2021-04-28T18:30:00Z");
    mr["object_attributes"]["merge_commit_sha"] = json!("279484c09fbe69ededfced8c1bb6e6d24616b468");
    assert_eq!(
        app.post_with("/hooks/gitlab", &token, post(&mr)).await.0,
        200
    );
    // An issue is a work item (flow.md): one without its project says so.
    let issue = json!({"object_kind": "issue"});
    let (status, _, problem) = app.post_with("/hooks/gitlab", &token, post(&issue)).await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("/project/path_with_namespace"),
        "{problem}"
    );

    let (_, report) = app
        .get("/api/v1/report?service=test-deployment-webhooks&from=2021-04-01&to=2021-05-01")
        .await;
    // One production deployment (staging is not), the baseline; the merge
    // request's stages from the three hooks.
    assert_eq!(report["deployment_frequency"]["count"], 1);
    assert_eq!(report["pr_stages"]["pickup"]["median_s"], 3600.0);
    assert_eq!(report["pr_stages"]["review"]["median_s"], 1800.0);
    assert_eq!(report["pr_stages"]["deploy"]["median_s"], 8400.0);
    let _dir = app.stop().await;
}

#[tokio::test]
async fn every_cdevents_conformance_example_is_taken_or_ignored_never_refused() {
    let app = spawn_app().await;
    let token = [("authorization", "Bearer cd-token")];
    let mut taken = BTreeSet::new();
    for version in ["v0.4.1", "v0.5.1"] {
        let dir = format!(
            "{}/tests/fixtures/cdevents/{version}/conformance",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() > 30, "{dir}");
        for file in files {
            let body = std::fs::read(&file).unwrap();
            let (status, _, answer) = app.post_with("/hooks/cdevents", &token, body).await;
            let name = file.file_stem().unwrap().to_string_lossy().to_string();
            assert!(
                status == 200 || status == 202,
                "{version} {name}: {status} {answer}"
            );
            if status == 200 {
                taken.insert(name);
            }
        }
    }
    for kind in [
        "service_deployed",
        "service_upgraded",
        "service_rolledback",
        "incident_detected",
        "incident_reported",
        "incident_resolved",
        "change_created",
        "change_merged",
        "pipelinerun_finished",
    ] {
        assert!(taken.contains(kind), "{kind} was not mapped: {taken:?}");
    }
    // Binary mode: the type in `ce-type`, the CDEvent as the body; and
    // structured mode: a CloudEvent whose data is the CDEvent.
    let event: Value = serde_json::from_slice(&fixture(
        "cdevents/v0.5.1/conformance/service_deployed.json",
    ))
    .unwrap();
    let binary = [
        ("authorization", "Bearer cd-token"),
        ("ce-type", "dev.cdevents.service.deployed.0.3.0"),
    ];
    assert_eq!(
        app.post_with("/hooks/cdevents", &binary, event.to_string())
            .await
            .0,
        200
    );
    let structured = json!({"specversion": "1.0", "id": "x", "source": "/s", "type": "dev.cdevents.service.deployed.0.3.0", "data": event});
    assert_eq!(
        app.post_with("/hooks/cdevents", &token, structured.to_string())
            .await
            .0,
        200
    );
    assert_eq!(app.post("/hooks/cdevents", event.to_string()).await.0, 401);
    let (status, _, _) = app
        .post_with("/hooks/cdevents", &token, r#"{"subject":{}}"#)
        .await;
    assert_eq!(status, 400);

    // The incident from detected to resolved, for the mapped service.
    let (_, incidents) = app
        .get("/api/v1/services/web/incidents?from=2022-11-01&to=2022-12-01")
        .await;
    assert_eq!(incidents.as_array().unwrap().len(), 1, "{incidents}");
    assert_eq!(incidents[0]["detected_at"], "2022-11-11T13:52:20.079Z");
    let _dir = app.stop().await;
}

/// A CDEvent delivered with the receiver's token: the status.
async fn deliver(app: &TestApp, event: &Value) -> u16 {
    let token = [("authorization", "Bearer cd-token")];
    app.post_with("/hooks/cdevents", &token, event.to_string())
        .await
        .0
}

/// CDEvents chains (attribution issue, part 5): a deployment whose
/// artifact names no commit ships the merged change of its chain, or the
/// change it links to, when that change's commits are known.
#[tokio::test]
async fn a_cdevents_chain_gives_a_deployment_its_merged_change() {
    let app = spawn_app().await;
    // The history and the pull request, as GitHub or git import give them.
    let history = json!([
        {"type":"pull_request","id":"acme/shop#42","repo":"acme/shop","opened_at":"2026-03-02T08:30:00Z","merged_at":"2026-03-02T09:00:00Z","merge_sha":"aaaaaa2"},
        {"type":"change","repo":"acme/shop","sha":"aaaaaa1","committed_at":"2026-03-01T08:00:00Z","author":"ana"},
        {"type":"change","repo":"acme/shop","sha":"aaaaaa2","parents":["aaaaaa1"],"committed_at":"2026-03-02T08:00:00Z","author":"bo","pull_request":"acme/shop#42"},
        {"type":"deployment","id":"d0","service":"checkout","environment":"production","finished_at":"2026-03-01T10:00:00Z","repo":"acme/shop","sha":"aaaaaa1"}
    ]);
    assert_eq!(app.post("/hooks/events", history.to_string()).await.0, 200);
    let cdevent = |kind: &str, context: &str, chain: Option<&str>, subject: Value| {
        let mut context = json!({"specversion": "0.4.1", "id": context, "source": "/ci",
            "type": format!("dev.cdevents.{kind}.0.2.0"), "timestamp": "2026-03-02T09:00:00Z"});
        if let Some(chain) = chain {
            context["chainId"] = json!(chain);
        }
        json!({"context": context, "subject": subject})
    };
    let merged = cdevent(
        "change.merged",
        "m-1",
        Some("chain-7"),
        json!({"id": "42", "source": "/git", "content": {"repository": {"id": "acme/shop"}}}),
    );
    assert_eq!(deliver(&app, &merged).await, 200);
    // An image digest names no commit: the chain does.
    let image =
        "pkg:oci/shop@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427";
    let deployed = |context: &str, chain: Option<&str>, at: &str| {
        let mut event = cdevent(
            "service.deployed",
            context,
            chain,
            json!({"id": "checkout", "source": "/cd", "content": {"environment": {"id": "production"}, "artifactId": image}}),
        );
        event["context"]["timestamp"] = json!(at);
        event
    };
    // How each deployment counts: the rule that decided what it shipped.
    let rule = async |id: &str| -> (String, u64) {
        let path = format!("/api/v1/services/checkout/deployments/cdevents:{id}");
        let (status, e) = app.get(&path).await;
        assert_eq!(status, 200, "{e}");
        let rule = e["rule"].as_str().unwrap_or_default().to_string();
        (rule, e["changes"].as_u64().unwrap_or(0))
    };
    let by_chain = deployed("dep-1", Some("chain-7"), "2026-03-02T10:00:00Z");
    assert_eq!(deliver(&app, &by_chain).await, 200);
    assert_eq!(rule("dep-1").await, ("graph".into(), 1));
    // A link to the change's context works as well; an unknown chain
    // leaves the deployment without a commit (frequency, not lead time).
    let mut by_link = deployed("dep-2", None, "2026-03-02T11:00:00Z");
    by_link["context"]["links"] = json!([{"linkType": "PATH", "from": {"contextId": "m-1"}}]);
    assert_eq!(deliver(&app, &by_link).await, 200);
    assert_eq!(rule("dep-2").await.0, "graph");
    let unknown = deployed("dep-3", Some("chain-unknown"), "2026-03-02T12:00:00Z");
    assert_eq!(deliver(&app, &unknown).await, 200);
    assert_eq!(rule("dep-3").await.0, "baseline");

    // A pipelineRun names no commit either: started, then finished in the
    // same chain, it is a CI run on the merged change's commit, from its
    // start to its end; in an unknown chain it is not recorded.
    let run = |kind: &str, context: &str, chain: &str, subject: &str, at: &str| {
        let mut event = cdevent(
            kind,
            context,
            Some(chain),
            json!({"id": subject, "source": "/ci", "content": {"pipelineName": "build", "outcome": "failure"}}),
        );
        event["context"]["timestamp"] = json!(at);
        event
    };
    for event in [
        run(
            "pipelinerun.started",
            "r-1",
            "chain-7",
            "run-9",
            "2026-03-02T09:05:00Z",
        ),
        run(
            "pipelinerun.finished",
            "r-2",
            "chain-7",
            "run-9",
            "2026-03-02T09:12:00Z",
        ),
        run(
            "pipelinerun.finished",
            "r-3",
            "chain-unknown",
            "run-10",
            "2026-03-02T09:15:00Z",
        ),
    ] {
        assert_eq!(deliver(&app, &event).await, 200);
    }
    let home = app.stop().await;
    let runs = home.with_store(|store| store.load(None).unwrap().pipeline_runs);
    assert_eq!(runs.len(), 1, "{runs:?}");
    let r = &runs[0];
    assert_eq!(
        (
            r.id.as_str(),
            r.repo.as_str(),
            r.sha.to_string(),
            r.pipeline.as_str()
        ),
        (
            "cdevents:run:run-9",
            "acme/shop",
            "aaaaaa2".to_string(),
            "build"
        )
    );
    assert_eq!(r.finished_at.seconds_since(r.started_at), 420.0);
    assert_eq!(r.status, lantern_events::PipelineStatus::Failure);
}

/// On PostgreSQL a replica works on several requests at once: a report
/// held up in the database (here by a lock only reports wait for) does not
/// hold up a webhook delivery behind it.
#[tokio::test]
async fn a_slow_report_does_not_hold_up_a_webhook_on_postgresql() {
    let app = spawn_app().await;
    let lantern_store::Location::Postgres(url) = app.home.location.clone() else {
        eprintln!("SKIPPED on SQLite (one connection): set LANTERN_TEST_STORE=postgres");
        return;
    };
    let (taken_tx, taken) = std::sync::mpsc::channel::<()>();
    let (locked_tx, locked) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    // Off the runtime: the PostgreSQL client blocks on one of its own.
    let locker = std::thread::spawn(move || {
        let mut holder = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut watcher = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut tx = holder.transaction().unwrap();
        tx.batch_execute("LOCK TABLE retained_deployments IN ACCESS EXCLUSIVE MODE")
            .unwrap();
        // Only now does the report start: it must meet the lock.
        taken_tx.send(()).unwrap();
        // Until the report's query waits on the lock (bounded: a report
        // that never waits fails the test below instead of hanging it).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let waiting: i64 = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .unwrap()
                .get(0);
            if waiting > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        locked_tx.send(()).unwrap();
        released.recv().unwrap();
        tx.commit().unwrap();
    });
    let report_done = std::sync::atomic::AtomicBool::new(false);
    let path = "/api/v1/report?service=checkout&from=2026-03-01&to=2026-04-01";
    let report = async {
        tokio::task::spawn_blocking(move || taken.recv().unwrap())
            .await
            .unwrap();
        let got = app.get(path).await;
        report_done.store(true, std::sync::atomic::Ordering::SeqCst);
        got
    };
    let deliver = async {
        tokio::task::spawn_blocking(move || locked.recv().unwrap())
            .await
            .unwrap();
        let delivered = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            app.post("/hooks/events", history().to_string()),
        )
        .await;
        // Released either way, so that a failure ends instead of hanging.
        release.send(()).unwrap();
        let (status, _, _) = delivered.expect("the webhook waited behind the report");
        assert_eq!(status, 200);
        assert!(
            !report_done.load(std::sync::atomic::Ordering::SeqCst),
            "the report was not held up: the test proves nothing"
        );
    };
    let ((status, _), ()) = tokio::join!(report, deliver);
    locker.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        app.get(path).await.1,
        expected_report(&Scope::Service(Name::parse("checkout").unwrap())),
    );
    let _dir = app.stop().await;
}

#[tokio::test]
async fn a_deployment_explains_itself_to_those_who_may_see_detail() {
    let app = spawn_app().await;
    let events = json!([
        {"type":"change","repo":"acme/shop","sha":"aaaaaa1","committed_at":"2026-03-01T08:00:00Z","author":"ana"},
        {"type":"change","repo":"acme/shop","sha":"aaaaaa2","parents":["aaaaaa1"],"committed_at":"2026-03-02T08:00:00Z","author":"bo"},
        {"type":"deployment","id":"d1","service":"checkout","environment":"production","finished_at":"2026-03-01T10:00:00Z","repo":"acme/shop","sha":"aaaaaa1"},
        {"type":"deployment","id":"d2","service":"checkout","environment":"production","finished_at":"2026-03-02T10:00:00Z","repo":"acme/shop","sha":"aaaaaa2"},
        {"type":"deployment","id":"d3","service":"checkout","environment":"production","finished_at":"2026-03-02T11:00:00Z","repo":"acme/shop","sha":"aaaaaa1","kind":"rollback","rollback_of":"d2"}
    ]);
    assert_eq!(app.post("/hooks/events", events.to_string()).await.0, 200);
    let (status, e) = app.get("/api/v1/services/checkout/deployments/d2").await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(
        (e["rule"].as_str(), e["changes"].as_u64()),
        (Some("graph"), Some(1))
    );
    assert_eq!(e["failure"][0]["rolled_back_by"]["deployment"], "d3");
    assert_eq!(e["recovery_s"], 3600.0);
    assert!(!e.to_string().contains("ana") && !e.to_string().contains("\"bo\""));
    // The page says the same; a team member of checkout's team may read
    // it, an org viewer may not (event-level detail).
    let member = app.tokens["team_member"].clone();
    let page = app.page(&member, "/services/checkout/deployments/d2").await;
    assert!(page.text.contains("Rolled back by"), "{}", page.text);
    // The service page's chart points lead to their day's timeline, and
    // its deployments to the pages that explain them.
    let service_page = "/services/checkout?from=2026-03-01&to=2026-03-04&bucket=day";
    let page = app.page(&member, service_page).await;
    let day =
        "/services/checkout?from=2026-03-02T00%3A00%3A00Z&amp;to=2026-03-03T00%3A00%3A00Z#timeline";
    assert!(
        page.text.contains(&format!(
            r#"<a class="pt" href="{day}" aria-label="2026-03-02: 2 a day"><circle"#
        )),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(r#"href="/services/checkout/deployments/d2""#)
    );
    let viewer = app.tokens["org_viewer"].clone();
    let page = app.page(&viewer, service_page).await;
    // (Two contributors: withheld from outside the team altogether.)
    assert!(
        !page.text.contains("#timeline\"><circle") && !page.text.contains("/deployments/d2"),
        "no detail, no links into it: {}",
        page.text
    );
    let refused = app
        .send(
            Some(&viewer),
            "GET",
            "/api/v1/services/checkout/deployments/d2",
            &[],
            None,
        )
        .await;
    assert_eq!(refused.status, 403);
    let (status, missing) = app.get("/api/v1/services/checkout/deployments/nope").await;
    assert_eq!(status, 404, "{missing}");
    let _dir = app.stop().await;
}

#[tokio::test]
async fn slos_answer_from_the_counts_sent_and_follow_rule_2() {
    let app = common::spawn_app_with(|s| {
        let file = lantern_app::Settings::parse(
            "[[teams]]\nname = \"payments\"\nservices = [\"checkout\"]\n\
             [[slos]]\nname = \"checkout-availability\"\nservice = \"checkout\"\nobjective = 0.999\n\
             [gate]\nenforce = true\n",
            None,
        )
        .unwrap();
        (s.app.slos, s.app.gate) = (file.slos, file.gate);
    })
    .await;
    // The last two hours of counts (the gate asks about now); the second
    // hour 2 % bad.
    let five = 300_000_000;
    let end = Timestamp::from_micros(Timestamp::now().micros() / five * five);
    let start = end.plus_micros(-24 * five);
    let counts: Vec<Value> = (0..24)
        .map(|i| {
            let from = start.plus_micros(i * five);
            json!({"type": "sli", "slo": "checkout-availability",
                   "from": from.to_rfc3339(), "to": from.plus_micros(300_000_000).to_rfc3339(),
                   "good": if i < 12 { 1000 } else { 980 }, "total": 1000})
        })
        .collect();
    assert_eq!(
        app.post("/hooks/events", json!(counts).to_string()).await.0,
        200
    );
    // An exporter's own ingest token, for /hooks/sli: counts and nothing else.
    let admin = format!("Bearer {}", app.tokens["admin"]);
    let (status, _, issued) = app
        .post_json(
            "/api/v1/tokens",
            &[("authorization", &admin)],
            &json!({"role": "ingest", "source": "sli", "purpose": "the SLO exporter", "days": 7}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let exporter = format!("Bearer {}", issued["token"].as_str().unwrap());
    let by_exporter = [("authorization", exporter.as_str())];
    let (status, _, answer) = app.post_json("/hooks/sli", &by_exporter, &counts[0]).await;
    assert_eq!(status, 200, "re-sent: last write wins: {answer}");
    let deployment = json!({"type": "deployment", "id": "x", "service": "checkout",
        "environment": "production", "finished_at": "2026-04-01T00:00:00Z"});
    let (status, _, refused) = app.post_json("/hooks/sli", &by_exporter, &deployment).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("sli events only"), "{refused}");
    let (status, _, _) = app
        .post_json("/hooks/events", &by_exporter, &deployment)
        .await;
    assert_eq!(status, 403, "an sli token writes no other source");
    let bad = json!({"type": "sli", "slo": "checkout-availability", "from": "2026-04-01T12:00:00Z",
                     "to": "2026-04-01T11:00:00Z", "good": 1, "total": 1});
    let (status, _, problem) = app.post("/hooks/events", bad.to_string()).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem.to_string().contains("after `from`"), "{problem}");

    let path = &format!("/api/v1/slos?service=checkout&at={}", end.to_rfc3339());
    let member = app.tokens["team_member"].clone();
    let (status, slos) = app.get_as(Some(&member), path).await;
    assert_eq!(status, 200, "{slos}");
    let s = &slos[0];
    assert_eq!(s["name"], "checkout-availability");
    assert_eq!(
        (s["good"].as_u64(), s["total"].as_u64()),
        (Some(23_760), Some(24_000))
    );
    // 240 bad of 24 000 is ten budgets of 0.1 %: exhausted. 2 % bad of a
    // 0.1 % budget over the last hour is a burn of 20, above the fast
    // tier's 13.44 over both of its windows: that page fires too.
    assert_eq!(s["status"], "exhausted", "{s}");
    let burn = s["burn_rates"]["1h"].as_f64().unwrap();
    assert!((burn - 20.0).abs() < 1e-9, "{burn}");
    assert!(
        s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["tier"] == "fast"),
        "{s}"
    );
    // An org viewer is outside checkout's team, and the group is small.
    let viewer = app.tokens["org_viewer"].clone();
    let (_, withheld) = app.get_as(Some(&viewer), path).await;
    assert_eq!(withheld[0]["suppressed"], true, "{withheld}");
    assert!(withheld[0].get("sli").is_none());

    // The gate: a gate token may ask, and nothing else; the answer is
    // recorded. The budget is spent: a planned deployment is denied, a
    // rollback allowed, an unknown service an error.
    let gate = app.tokens["gate"].clone();
    let (status, answer) = app
        .get_as(Some(&gate), "/api/v1/gate?service=checkout")
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decision"], "deny", "{answer}");
    assert!(
        answer["reason"]
            .as_str()
            .unwrap()
            .contains("checkout-availability")
    );
    assert_eq!(
        answer["slos"][0]["suppressed"], true,
        "rule 2 holds for the gate's reader too"
    );
    let (_, rollback) = app
        .get_as(Some(&gate), "/api/v1/gate?service=checkout&kind=rollback")
        .await;
    assert_eq!(rollback["decision"], "allow", "{rollback}");
    let (status, _) = app.get_as(Some(&gate), "/api/v1/gate?service=nope").await;
    assert_eq!(status, 404);
    let (status, _) = app.get_as(Some(&gate), path).await;
    assert_eq!(status, 403, "a gate token reads no figures");
    let (_, log) = app.get("/api/v1/audit").await;
    let gate_answers = |log: &Value| -> Vec<String> {
        let entries = log.as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .filter(|e| e["action"] == "gate")
            .filter_map(|e| e["outcome"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(gate_answers(&log), ["deny (planned)", "allow (rollback)"]);

    // The dashboard: the service page's SLO panel with what the gate would
    // answer (not recorded: a page view is not a gate answer), the
    // deployment page's hour after, the organisation's distribution.
    let deployed = start.plus_micros(12 * five);
    let deployment = json!({"type": "deployment", "id": "d9", "service": "checkout",
        "environment": "production", "finished_at": deployed.to_rfc3339()});
    assert_eq!(
        app.post("/hooks/events", deployment.to_string()).await.0,
        200
    );
    // Figures cover whole UTC days, ending before today's by default:
    // today's deployment is in a window that ends tomorrow.
    let tomorrow =
        Timestamp::from_micros((Timestamp::now().micros() / MICROS_PER_DAY + 1) * MICROS_PER_DAY);
    let page = app
        .page(
            &member,
            &format!(
                "/services/checkout?days=7&to={}",
                &tomorrow.to_rfc3339()[..10]
            ),
        )
        .await;
    assert!(
        page.text.contains(r#"data-slo="checkout-availability""#),
        "{}",
        page.text
    );
    assert!(page.text.contains(r#"data-gate="deny""#), "{}", page.text);
    assert!(page.text.contains("fast tier (page)"), "{}", page.text);
    assert!(
        page.text.contains("deployment d9 followed by burn"),
        "{}",
        page.text
    );
    let page = app.page(&member, "/services/checkout/deployments/d9").await;
    assert!(
        page.text.contains(r#"data-followed-by-burn="true""#),
        "{}",
        page.text
    );
    let org = app.page(&app.tokens["admin"], "/").await;
    assert!(org.text.contains("data-slo-statuses"), "{}", org.text);
    let (_, log) = app.get("/api/v1/audit").await;
    assert_eq!(gate_answers(&log).len(), 2, "pages record no gate answer");
    let _dir = app.stop().await;
}

/// Work items and their states sent to the hook come back as flow.md's
/// figures, the same in `/api/v1/flow` as in the team report's `flow`.
#[tokio::test]
async fn work_items_sent_to_the_hook_come_back_as_flow_figures() {
    let app = spawn_app().await;
    let work = json!([
        {"type": "work_item", "id": "PAY-1", "team": "payments", "kind": "defect", "created_at": "2026-03-01T00:00:00Z", "assignee": "Grace Hopper", "title": "checkout fails for Grace"},
        {"type": "work_state", "item": "PAY-1", "at": "2026-03-02T00:00:00Z", "state": "active"},
        {"type": "work_state", "item": "PAY-1", "at": "2026-03-03T00:00:00Z", "state": "waiting"},
        {"type": "work_state", "item": "PAY-1", "at": "2026-03-04T00:00:00Z", "state": "done"},
        {"type": "work_item", "id": "PAY-2", "service": "checkout", "created_at": "2026-03-01T00:00:00Z"},
        {"type": "work_state", "item": "PAY-2", "at": "2026-03-02T00:00:00Z", "state": "backlog"},
        {"type": "work_state", "item": "PAY-2", "at": "2026-03-05T00:00:00Z", "state": "done"},
        {"type": "work_item", "id": "SEA-1", "team": "search", "created_at": "2026-03-01T00:00:00Z"},
        {"type": "work_state", "item": "SEA-1", "at": "2026-03-02T00:00:00Z", "state": "active"}
    ]);
    let (status, _, body) = app.post("/hooks/events", work.to_string()).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(9)),
        "{body}"
    );
    let window = "from=2026-03-01&to=2026-03-08";
    let (status, flow) = app
        .get(&format!("/api/v1/flow?team=payments&{window}"))
        .await;
    assert_eq!(status, 200, "{flow}");
    assert_eq!(flow["scope"], json!({"team": "payments"}));
    assert_eq!(flow["flow_velocity"]["count"], 1);
    assert_eq!(flow["flow_velocity"]["closed_unstarted"], 1);
    assert_eq!(flow["flow_velocity"]["by_kind"]["defect"], 1);
    assert_eq!(flow["flow_time"]["median_s"], 2.0 * 86_400.0);
    assert_eq!(flow["flow_efficiency"]["ratio"], 0.5);
    assert_eq!(flow["flow_distribution"]["defect"], 1.0);
    let (_, report) = app
        .get(&format!("/api/v1/report?team=payments&{window}"))
        .await;
    for key in [
        "flow_velocity",
        "flow_time",
        "flow_efficiency",
        "flow_load",
        "flow_distribution",
    ] {
        assert_eq!(report["flow"][key], flow[key], "{key}");
    }
    let (_, org) = app.get(&format!("/api/v1/report?{window}")).await;
    assert!(org.get("flow").is_none(), "flow belongs to teams");
    // Every team, alphabetically; buckets.
    let (_, all) = app.get(&format!("/api/v1/flow?{window}&bucket=week")).await;
    let teams: Vec<&Value> = all["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["scope"]["team"])
        .collect();
    assert_eq!(teams, [&json!("payments"), &json!("search")]);
    assert_eq!(all["teams"][1]["flow_load"]["at_end"], 1);
    assert_eq!(all["teams"][0]["buckets"].as_array().unwrap().len(), 2);
    for (query, status) in [
        ("team=payments&service=checkout", 400),
        ("team=nobody", 404),
        ("bucket=fortnight", 400),
        ("colour=red", 400),
    ] {
        let (got, body) = app.get(&format!("/api/v1/flow?{query}")).await;
        assert_eq!(got, status, "{query}: {body}");
    }
    // Nothing of the person or the title was kept.
    let stored = app.with_store(|s| s.flow_items(&Scope::Org, None).unwrap());
    assert_eq!(stored.len(), 3);
    let text = format!("{stored:?}{flow}{report}");
    assert!(!text.contains("Grace"), "{text}");
}

/// Work items from the trackers teams use (flow.md), each from the
/// vendor's own example payloads over real HTTP: Jira (created, and a
/// status change through the changelog), GitHub issues (opened, labelled
/// with a state, unlabelled, reopened) and a Projects status change,
/// GitLab's issue hook with a scoped label. A state the catalog does not
/// map is counted, not dropped; no person, e-mail, title or description
/// is stored.
#[tokio::test]
async fn trackers_feed_work_items_and_their_states() {
    let app = common::spawn_app_with(|s| {
        let flow = lantern_sources::FlowMapping {
            states: [
                ("In Review", lantern_events::FlowState::Waiting),
                ("workflow::in review", lantern_events::FlowState::Waiting),
                ("bug", lantern_events::FlowState::Active),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            kinds: Default::default(),
            teams: [("JRA", "payments"), ("Codertocat/Hello-World", "search")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            jira_team_field: None,
        };
        for source in s.app.sources.values_mut() {
            source.flow = flow.clone();
        }
        // GitHub's example issue is labelled `bug`: a work item here.
        if let Some(gh) = s.app.sources.get_mut("github") {
            gh.incident_label = Some("incident".into());
        }
    })
    .await;
    let jira = |name: &str| {
        let body = fixture(&format!("jira/{name}"));
        let sig = format!("sha256={}", hmac_hex(b"jira-secret", &body));
        (body, sig)
    };
    for name in ["issue_created_story.json", "issue_updated_story.json"] {
        let (body, sig) = jira(name);
        let (status, _, answer) = app
            .post_with("/hooks/jira", &[("x-hub-signature", sig.as_str())], body)
            .await;
        assert_eq!(
            (status, answer["accepted"].as_u64()),
            (200, Some(2)),
            "{name}: {answer}"
        );
    }
    // A status the catalog does not map (and is not the issue's own, so
    // its category cannot say): counted.
    let (body, _) = jira("issue_updated_story.json");
    let mut qa: Value = serde_json::from_slice(&body).unwrap();
    qa["changelog"]["items"][0]["toString"] = json!("Security QA");
    qa["timestamp"] = json!(1525698300000i64);
    let bytes = serde_json::to_vec(&qa).unwrap();
    let sig = format!("sha256={}", hmac_hex(b"jira-secret", &bytes));
    let (status, _, answer) = app
        .post_with("/hooks/jira", &[("x-hub-signature", sig.as_str())], bytes)
        .await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );

    // GitHub: opened (labelled `bug`, mapped to active), unlabelled (back
    // to the backlog), reopened, and moved by a project to In Review.
    for (name, accepted) in [
        ("issues/opened.payload.json", 2),
        ("issues/unlabeled.payload.json", 2),
        ("issues/reopened.payload.json", 2),
    ] {
        let (status, answer) = github(&app, "issues", &github_fixture(name)).await;
        assert_eq!(
            (status, answer["accepted"].as_u64()),
            (200, Some(accepted)),
            "{name}: {answer}"
        );
    }
    let (status, answer) = github(
        &app,
        "projects_v2_item",
        &github_fixture("projects_v2_item/edited.status.json"),
    )
    .await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(1)),
        "{answer}"
    );
    // octokit's own example names no new status: nothing to move.
    let (status, _) = github(
        &app,
        "projects_v2_item",
        &github_fixture("projects_v2_item/edited.payload.json"),
    )
    .await;
    assert_eq!(status, 202);

    // GitLab: the documented issue hook, its scoped label now in review.
    let token = [("x-gitlab-token", "gl-token")];
    let issue: Value = serde_json::from_slice(&fixture("gitlab/issue_hook.json")).unwrap();
    let (status, _, answer) = app.post_json("/hooks/gitlab", &token, &issue).await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (200, Some(2)),
        "{answer}"
    );

    let items = app.with_store(|s| s.flow_items(&lantern_engine::Scope::Org, None).unwrap());
    let by_id = |id: &str| {
        items
            .iter()
            .find(|i| i.id.as_str() == id)
            .unwrap_or_else(|| panic!("{id}: {items:?}"))
    };
    use lantern_events::{FlowState::*, WorkKind};
    let story = by_id("jira:JRA-20002");
    assert_eq!(story.team.as_ref().map(|t| t.as_str()), Some("payments"));
    assert_eq!(story.kind, WorkKind::Feature);
    assert_eq!(
        story.states.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [Backlog, Waiting]
    );
    let issue = by_id("github:issue:MDU6SXNzdWU0NDQ1MDAwNDE=");
    assert_eq!(issue.team.as_ref().map(|t| t.as_str()), Some("search"));
    assert_eq!(issue.kind, WorkKind::Defect, "labelled bug");
    assert_eq!(
        issue.states.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [Active, Backlog, Waiting, Active],
        "opened 15:20:18, unlabelled 15:20:26, moved by the project, reopened in 2021 (still labelled bug)"
    );
    let gl = by_id("gitlab:gitlabhq/gitlab-test#23");
    assert_eq!(gl.service.as_ref().map(|s| s.as_str()), Some("Gitlab Test"));
    assert_eq!(gl.states.last().map(|(_, s)| *s), Some(Waiting));

    // The unmapped status, counted and shown.
    let unmapped = app.with_store(|s| lantern_app::flow::unmapped_states(s).unwrap());
    assert_eq!(
        unmapped,
        [lantern_app::flow::UnmappedState {
            source: "jira".into(),
            state: "Security QA".into(),
            count: 1
        }]
    );
    // ...on the data health page too, with its fix.
    let admin = app.tokens["admin"].clone();
    let page = app
        .page(&admin, "/data-health?from=2018-05-01&to=2018-06-01")
        .await;
    assert!(
        page.text.contains("`Security QA` 1 time") && page.text.contains("[flow.states]"),
        "{}",
        page.text
    );
    // No person, e-mail, title or description reached the store.
    let home = app.stop().await;
    let text = home.with_store(|s| {
        format!(
            "{:?}{:?}{:?}",
            s.flow_items(&lantern_engine::Scope::Org, None).unwrap(),
            s.load(None).unwrap(),
            s.source_states("").unwrap()
        )
    });
    for secret in [
        "Mia Krystof",
        "mia@example.com",
        "Emma Richards",
        "I feel the need for speed",
        "Make the issue nav load",
        "Spelling error in the README file",
        "Codertocat\",",
        "New API: create/update/delete file",
    ] {
        assert!(!text.contains(secret), "{secret} is in the store");
    }
}

/// A team page opens with seed 001's four questions and the largest
/// lead-time stage (health.md, "What's blocking us").
#[tokio::test]
async fn a_team_page_opens_with_where_the_team_stands() {
    let app = spawn_app().await;
    let history = json!([
        {"type":"change","repo":"acme/shop","sha":"aaaaaaa","committed_at":"2026-03-01T09:00:00Z"},
        {"type":"change","repo":"acme/shop","sha":"bbbbbbb","parents":["aaaaaaa"],"committed_at":"2026-03-02T09:00:00Z"},
        {"type":"pull_request","id":"acme/shop#1","repo":"acme/shop","opened_at":"2026-03-02T10:00:00Z","first_review_at":"2026-03-02T16:00:00Z","merged_at":"2026-03-02T17:00:00Z","merge_sha":"bbbbbbb","first_commit_at":"2026-03-02T09:00:00Z"},
        {"type":"deployment","id":"d1","service":"checkout","environment":"production","finished_at":"2026-03-01T12:00:00Z","repo":"acme/shop","sha":"aaaaaaa"},
        {"type":"deployment","id":"d2","service":"checkout","environment":"production","finished_at":"2026-03-02T18:00:00Z","repo":"acme/shop","sha":"bbbbbbb"},
        {"type":"incident","id":"i1","service":"checkout","started_at":"2026-03-06T02:00:00Z","resolved_at":"2026-03-06T04:30:00Z"},
        {"type":"incident","id":"i2","service":"search-api","started_at":"2026-03-06T02:00:00Z"}
    ]);
    assert_eq!(app.post("/hooks/events", history.to_string()).await.0, 200);
    let admin = app.tokens["admin"].clone();
    let page = app
        .page(&admin, "/teams/payments?from=2026-03-01&to=2026-03-08")
        .await;
    let section = page
        .text
        .split("data-blocking")
        .nth(1)
        .expect("the section")
        .split("</section>")
        .next()
        .unwrap();
    for said in [
        "Are we shipping?",
        "2 deployments reached production, on 2 days",
        "Are changes safe?",
        "0 of 2 deployments failed (0 %)",
        "Are incidents recoverable?",
        "No failed deployment needed recovering.",
        "Are we learning?",
        // pickup 6 h of coding 1 h + pickup 6 h + review 1 h + deploy 1 h.
        "The largest lead-time stage is pickup: 6 hours median, 66.7 % of the stages' medians",
    ] {
        assert!(section.contains(said), "{said}: {section}");
    }
    // The team's operational load: its own incident, at night (UTC).
    let load = page
        .text
        .split("data-load")
        .nth(1)
        .expect("the load")
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        load.contains("1 incident of the team&#39;s services started in this window (1 a week), 2.5 incident hours in all. 1 detected outside working time (100 %).")
            || load.contains("1 incident of the team's services started in this window (1 a week), 2.5 incident hours in all. 1 detected outside working time (100 %)."),
        "{load}"
    );
    assert!(
        load.contains("09:00–18:00, Mon, Tue, Wed, Thu, Fri, UTC"),
        "{load}"
    );
    // Not on a service page: the questions are a team's.
    let service = app
        .page(&admin, "/services/checkout?from=2026-03-01&to=2026-03-08")
        .await;
    assert!(!service.text.contains("data-blocking"));
}

#[tokio::test]
async fn figures_leave_as_csv_when_asked_and_every_export_is_recorded() {
    let app = spawn_app().await;
    let (status, _, body) = app.post("/hooks/events", history().to_string()).await;
    assert_eq!(status, 200, "{body}");
    let admin = app.tokens["admin"].clone();
    let report = "/api/v1/report?service=checkout&from=2026-03-01&to=2026-03-08";
    let csv = app
        .send(
            Some(&admin),
            "get",
            &format!("{report}&format=csv"),
            &[],
            None,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let mut rows = csv::Reader::from_reader(csv.text.as_bytes());
    assert_eq!(
        rows.headers().unwrap().iter().collect::<Vec<_>>(),
        ["from", "to", "metric", "field", "value"]
    );
    let (_, json) = app.get(report).await;
    let count = rows
        .records()
        .map(Result::unwrap)
        .find(|r| &r[2] == "deployment_frequency" && &r[3] == "count")
        .expect("the deployment count is a row");
    assert_eq!(count[4], json["deployment_frequency"]["count"].to_string());
    // The Accept header asks for the same; `format` wins over it.
    let accepted = app
        .send(Some(&admin), "get", report, &[("accept", "text/csv")], None)
        .await;
    assert_eq!(accepted.text, csv.text);
    let json_anyway = app
        .send(
            Some(&admin),
            "get",
            &format!("{report}&format=json"),
            &[("accept", "text/csv")],
            None,
        )
        .await;
    assert!(
        json_anyway
            .header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let wrong = app
        .send(
            Some(&admin),
            "get",
            &format!("{report}&format=xml"),
            &[],
            None,
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    for path in [
        "/api/v1/flow?team=payments&format=csv",
        "/api/v1/slos?format=csv",
    ] {
        let r = app.send(Some(&admin), "get", path, &[], None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert!(
            r.header("content-type").unwrap().starts_with("text/csv"),
            "{path}"
        );
    }
    // Rule 4: each of those answers is an export in the audit log.
    let exports: Vec<String> = app
        .audit_log()
        .await
        .iter()
        .filter(|e| e["action"].as_str().unwrap().ends_with(".export"))
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(exports.len(), 6, "{exports:?}");
    assert!(
        exports[0].starts_with("report.export csv 2026-03-01T00:00:00Z to 2026-03-08"),
        "{exports:?}"
    );
    assert!(
        exports.iter().any(|e| e.starts_with("flow.export csv")),
        "{exports:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn backstage_reads_deployments_with_lead_time_and_failure_and_no_person() {
    let app = spawn_app().await;
    let (status, _, body) = app.post("/hooks/events", history().to_string()).await;
    assert_eq!(status, 200, "{body}");
    let ask = json!({"repositories": ["checkout"], "start": "2026-03-01", "end": "2026-03-08"});
    let r = app
        .send(
            Some(&app.tokens["team_member"]),
            "post",
            "/api/v1/backstage/data",
            &[],
            Some(&ask),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let records = serde_json::from_str::<Value>(&r.text).unwrap()["records"].clone();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    let d2 = &records[1];
    assert_eq!(d2["repository"], "checkout");
    assert_eq!(d2["team"], "payments");
    assert_eq!(d2["status"], true);
    assert_eq!(d2["created_at"], "2026-03-03T12:00:00Z");
    // d2 shipped bbbbbbb and ccccccc: 27 h and 3 h, median 15 h.
    assert_eq!(d2["merged_at"], "2026-03-02T09:00:00Z");
    assert_eq!(d2["total_cycle_time"], 15.0);
    assert_eq!(
        d2["failed_at"], "2026-03-03T13:00:00Z",
        "its incident's start"
    );
    assert_eq!(d2["fixed_at"], "2026-03-03T14:00:00Z");
    assert_eq!(d2["deploy_url"], "/services/checkout/deployments/d2");
    assert!(records[0]["failed_at"].is_null() && records[0]["fixed_at"].is_null());
    for record in records {
        for key in ["user", "title", "author"] {
            assert!(record.get(key).is_none(), "{key} in {record}");
        }
    }
    // The same by team; another team's service is refused (and recorded);
    // an unknown one is a 404.
    let by_team = json!({"team": "payments", "start": "2026-03-01", "end": "2026-03-08"});
    let r = app
        .send(
            Some(&app.tokens["team_member"]),
            "post",
            "/api/v1/backstage/data",
            &[],
            Some(&by_team),
        )
        .await;
    assert_eq!(
        serde_json::from_str::<Value>(&r.text).unwrap()["records"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let other = json!({"repositories": ["search-api"], "start": "2026-03-01", "end": "2026-03-08"});
    let r = app
        .send(
            Some(&app.tokens["team_member"]),
            "post",
            "/api/v1/backstage/data",
            &[],
            Some(&other),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let unknown = json!({"repositories": ["nope"], "start": "2026-03-01", "end": "2026-03-08"});
    let r = app
        .send(
            Some(&app.tokens["admin"]),
            "post",
            "/api/v1/backstage/data",
            &[],
            Some(&unknown),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let actions: Vec<String> = app
        .audit_log()
        .await
        .iter()
        .filter(|e| e["action"] == "backstage.data")
        .map(|e| e["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions.len(), 3, "two reads and one refusal: {actions:?}");
    app.stop().await;
}

/// Every key of every object in `live` is in `example` at the same place
/// (arrays compared by their first items): a field added to an answer
/// must reach the document's example too.
fn keys_covered(live: &Value, example: &Value, at: &str) {
    match (live, example) {
        (Value::Object(l), Value::Object(e)) => {
            for (key, value) in l {
                let Some(shown) = e.get(key) else {
                    panic!("{at}.{key} is in the live answer but not in the example");
                };
                keys_covered(value, shown, &format!("{at}.{key}"));
            }
        }
        (Value::Array(l), Value::Array(e)) => {
            if let (Some(l), Some(e)) = (l.first(), e.first()) {
                keys_covered(l, e, &format!("{at}[0]"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_documents_examples_have_every_field_of_a_live_answer() {
    let app = common::spawn_app_with(|s| {
        let file = lantern_app::Settings::parse(
            "[[teams]]\nname = \"payments\"\nservices = [\"checkout\"]\n\
             [[slos]]\nname = \"checkout-availability\"\nservice = \"checkout\"\nobjective = 0.999\n",
            None,
        )
        .unwrap();
        s.app.slos = file.slos;
    })
    .await;
    let five = 300_000_000;
    let end = Timestamp::from_micros(Timestamp::now().micros() / five * five);
    let counts: Vec<Value> = (1..=12)
        .map(|i| {
            let from = end.plus_micros(-i * five);
            json!({"type": "sli", "slo": "checkout-availability", "from": from.to_rfc3339(),
                   "to": from.plus_micros(five).to_rfc3339(), "good": 990, "total": 1000})
        })
        .collect();
    assert_eq!(
        app.post("/hooks/events", json!(counts).to_string()).await.0,
        200
    );
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let example = |path: &str, status: &str| {
        doc["paths"][path]["get"]["responses"][status]["content"]["application/json"]["example"]
            .clone()
    };
    for (path, query) in [
        ("/api/v1/report", "?team=payments&compare=previous"),
        ("/api/v1/flow", "?team=payments"),
        ("/api/v1/slos", ""),
        ("/api/v1/gate", "?service=checkout"),
    ] {
        let (status, live) = app.get(&format!("{path}{query}")).await;
        assert_eq!(status, 200, "{path}: {live}");
        keys_covered(&live, &example(path, "200"), path);
    }
    let (status, live) = app.get("/api/v1/report?from=2026-13-01").await;
    assert_eq!(status, 400);
    keys_covered(&live, &example("/api/v1/report", "400"), "problem");
    app.stop().await;
}
