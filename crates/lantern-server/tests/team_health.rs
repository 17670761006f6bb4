//! health.md over HTTP: a pulse round from opening to results — single-use
//! codes, answers with nothing that ties them to a code, a token, an
//! address or a time, results only past the threshold for everyone — and
//! experiments judged against the span before them, drawn as planned.

mod common;

use common::{Response, TestApp, form, spawn_app};
use lantern_events::{MICROS_PER_DAY, Timestamp};
use serde_json::{Value, json};

fn in_days(days: i64) -> String {
    Timestamp::now()
        .plus_micros(days * MICROS_PER_DAY)
        .to_rfc3339()
}

async fn as_role(
    app: &TestApp,
    role: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Response {
    let token = app.tokens.get(role).map(String::as_str);
    app.send(token, method, path, &[], body).await
}

fn json_of(r: &Response) -> Value {
    serde_json::from_str(&r.text).unwrap_or(Value::Null)
}

/// Opens a round of payments and hands out `n` codes; returns the round
/// and the codes (what follows `#` in each link).
async fn round_with_codes(app: &TestApp, n: u32, visibility: &str) -> (i64, Vec<String>) {
    let r = as_role(
        app,
        "team_member",
        "post",
        "/api/v1/pulse/rounds",
        Some(&json!({"team": "payments", "closes": in_days(10), "visibility": visibility})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let round = json_of(&r)["round"].as_i64().unwrap();
    assert_eq!(json_of(&r)["status"], "open");
    let r = as_role(
        app,
        "admin",
        "post",
        &format!("/api/v1/pulse/rounds/{round}/codes"),
        Some(&json!({ "count": n })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let codes: Vec<String> = json_of(&r)["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let l = l.as_str().unwrap();
            assert!(l.starts_with(&format!("/pulse/{round}#")), "{l}");
            l.split_once('#').unwrap().1.to_string()
        })
        .collect();
    assert_eq!(codes.len(), n as usize);
    (round, codes)
}

async fn answer(app: &TestApp, round: i64, code: &str, answers: Value) -> Response {
    app.send(
        None,
        "post",
        &format!("/api/v1/pulse/rounds/{round}/answers"),
        &[],
        Some(&json!({"code": code, "answers": answers})),
    )
    .await
}

#[tokio::test]
async fn a_pulse_is_anonymous_single_use_and_shown_only_past_the_threshold() {
    let app = spawn_app().await;
    let (round, codes) = round_with_codes(&app, 6, "team").await;
    let log_before = app.audit_log().await.len();

    // The answer page needs no account and sets nothing.
    let page = app
        .send(None, "get", &format!("/pulse/{round}"), &[], None)
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.header("set-cookie").is_none());
    for (key, _) in lantern_app::pulse::QUESTIONS {
        assert!(page.text.contains(&format!(r#"name="{key}""#)), "{key}");
    }

    // A wrong value is refused with nothing used: the code still works.
    let r = answer(&app, round, &codes[0], json!({"workload": 7})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = answer(
        &app,
        round,
        &codes[0],
        json!({"psychological_safety": 5, "workload": 2, "clarity": 4}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.header("set-cookie").is_none());
    // A code works once.
    let again = answer(&app, round, &codes[0], json!({"workload": 5})).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(again.text.contains("used already"), "{}", again.text);
    let unknown = answer(&app, round, &"f".repeat(32), json!({"workload": 5})).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    // Even a signed-in member's token changes nothing: it is not read.
    let r = app
        .send(
            Some(&app.tokens["team_member"]),
            "post",
            &format!("/api/v1/pulse/rounds/{round}/answers"),
            &[],
            Some(&json!({"code": codes[1], "answers": {"psychological_safety": 4, "clarity": 4}})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    // The page's form, without script: the code typed in.
    let r = app
        .send(
            None,
            "post",
            &format!("/pulse/{round}"),
            &[],
            Some(&form(&[
                ("code", &codes[2]),
                ("psychological_safety", "4"),
                ("workload", ""),
                ("clarity", "2"),
            ])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("data-answered"), "{}", r.text);
    let r = app
        .send(
            None,
            "post",
            &format!("/pulse/{round}"),
            &[],
            Some(&form(&[("code", &codes[2]), ("clarity", "3")])),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.text.contains("data-refused"), "{}", r.text);
    let r = answer(&app, round, &codes[3], json!({"on_call": 1})).await;
    assert_eq!(r.status, 204, "{}", r.text);

    // Answering wrote nothing to the audit log.
    let log = app.audit_log().await;
    assert_eq!(log.len(), log_before, "{log:?}");

    // Nothing shows while the round is open, to anyone.
    for role in ["admin", "team_member"] {
        let r = as_role(
            &app,
            role,
            "get",
            &format!("/api/v1/pulse/rounds/{round}"),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let j = json_of(&r);
        assert_eq!(j["status"], "open");
        assert!(
            j["questions"].is_null() && j["respondents"].is_null(),
            "{j}"
        );
    }
    // The round was opened for the team: org viewers see nothing of it,
    // and the refusal is recorded.
    let r = as_role(
        &app,
        "org_viewer",
        "get",
        &format!("/api/v1/pulse/rounds/{round}"),
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = as_role(
        &app,
        "org_viewer",
        "get",
        "/api/v1/pulse/rounds?team=payments",
        None,
    )
    .await;
    assert_eq!(json_of(&r), json!([]));

    let r = as_role(
        &app,
        "team_member",
        "post",
        &format!("/api/v1/pulse/rounds/{round}/close"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Its page says so before anyone fills it in; an unknown round is a 404.
    let closed = app
        .send(None, "get", &format!("/pulse/{round}"), &[], None)
        .await;
    assert!(closed.text.contains("data-closed"), "{}", closed.text);
    assert!(!closed.text.contains("form class=\"pulse\""));
    let unknown = app.send(None, "get", "/pulse/999", &[], None).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    // A closed round's codes work no more.
    let late = answer(&app, round, &codes[4], json!({"workload": 3})).await;
    assert_eq!(late.status, 409, "{}", late.text);

    // Four answered: psychological safety 5, 4, 4 (3 answers, shown);
    // workload 2 (1 answer), clarity 4, 4, 2 (3), on call 1 (1).
    for role in ["admin", "team_member"] {
        let r = as_role(
            &app,
            role,
            "get",
            &format!("/api/v1/pulse/rounds/{round}"),
            None,
        )
        .await;
        let j = json_of(&r);
        assert_eq!(j["status"], "closed", "{j}");
        assert_eq!(j["respondents"], 4, "{j}");
        let q = &j["questions"];
        assert_eq!(q["psychological_safety"]["responses"], 3);
        assert_eq!(q["psychological_safety"]["counts"], json!([0, 0, 0, 2, 1]));
        let mean = q["psychological_safety"]["mean"].as_f64().unwrap();
        assert!((mean - 13.0 / 3.0).abs() < 1e-12, "{mean}");
        assert_eq!(q["clarity"]["counts"], json!([0, 1, 0, 2, 0]));
        for hidden in ["workload", "on_call", "decisions", "satisfaction"] {
            assert_eq!(q[hidden]["suppressed"], true, "{hidden}: {j}");
            assert!(q[hidden].get("mean").is_none() && q[hidden].get("counts").is_none());
        }
    }
    // The team page shows the same, per question over rounds.
    let page = app
        .page(&app.tokens["team_member"], "/teams/payments")
        .await;
    assert!(page.text.contains("data-pulse"), "{}", page.text);
    assert!(
        page.text
            .contains(&format!(r#"data-mean="{}""#, 13.0 / 3.0)),
        "{}",
        page.text
    );

    // A round with fewer answers than the threshold shows nothing to
    // anyone, the team's own admin included.
    let (small, codes) = round_with_codes(&app, 3, "org").await;
    for code in &codes[..2] {
        let r = answer(
            &app,
            small,
            code,
            json!({"psychological_safety": 1, "workload": 1}),
        )
        .await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    let r = as_role(
        &app,
        "admin",
        "post",
        &format!("/api/v1/pulse/rounds/{small}/close"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for role in ["admin", "team_member", "org_viewer"] {
        let r = as_role(
            &app,
            role,
            "get",
            &format!("/api/v1/pulse/rounds/{small}"),
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{role}: {}", r.text);
        let j = json_of(&r);
        assert!(j["respondents"].is_null(), "{role}: {j}");
        for (key, _) in lantern_app::pulse::QUESTIONS {
            assert_eq!(j["questions"][key]["suppressed"], true, "{role} {key}: {j}");
        }
        assert!(!r.text.contains("\"mean\""), "{}", r.text);
    }

    // Nowhere the API, the pages or the audit log can be read is a code,
    // a token or an answer's time finer than the day.
    let mut seen = String::new();
    for (role, path) in [
        ("admin", "/api/v1/audit".to_string()),
        ("admin", format!("/api/v1/pulse/rounds/{round}")),
        ("admin", "/api/v1/pulse/rounds?team=payments".to_string()),
        ("admin", "/teams/payments".to_string()),
        ("admin", "/admin/audit".to_string()),
        (
            "team_member",
            "/api/v1/team-health?team=payments".to_string(),
        ),
    ] {
        let r = as_role(&app, role, "get", &path, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        seen.push_str(&r.text);
    }
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| {
            lantern_governance::grant::secret_hash(c)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .collect();
    for secret in codes.iter().chain(&hashes).chain(app.tokens.values()) {
        assert!(!seen.contains(secret.as_str()), "{secret} is shown");
    }
    // The rounds say their days; the only finer times are the closing
    // instants the team chose, and the audit entries of opening, handing
    // out codes and closing — none of answering.
    let log = app.audit_log().await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(!actions.iter().any(|a| a.contains("answer")), "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("pulse.")).count(),
        7,
        "open, codes, close twice, and the results read by the denied org viewer are not pulse.*: {actions:?}"
    );
    let _home = app.stop().await;
}

#[tokio::test]
async fn experiments_are_judged_against_the_span_before_and_drawn_as_planned() {
    let app = spawn_app().await;
    // Production deployments of checkout: 1 a day in March, 2 a day in April.
    let mut events = Vec::new();
    for day in 1..=31 {
        events.push(
            json!({"type": "deployment", "id": format!("m{day}"), "service": "checkout",
            "environment": "production", "finished_at": format!("2026-03-{day:02}T12:00:00Z")}),
        );
    }
    for day in 1..=30 {
        for h in [9, 15] {
            events.push(json!({"type": "deployment", "id": format!("a{day}-{h}"), "service": "checkout",
                "environment": "production", "finished_at": format!("2026-04-{day:02}T{h:02}:00:00Z")}));
        }
    }
    let (status, _, body) = app
        .post("/hooks/events", Value::Array(events).to_string())
        .await;
    assert_eq!(status, 200, "{body}");

    let experiment = json!({
        "team": "payments",
        "constraint": "We deploy in large batches",
        "indicator": "deployment_frequency.per_day",
        "direction": "up",
        "from": "2026-04-01",
        "review": "2026-05-01",
        "expect_dip": ["lead_time.median_s"]
    });
    // Only payments' members and admins commit payments to an experiment.
    let r = as_role(
        &app,
        "org_viewer",
        "post",
        "/api/v1/experiments",
        Some(&experiment),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = as_role(
        &app,
        "team_member",
        "post",
        "/api/v1/experiments",
        Some(&experiment),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let e = json_of(&r);
    // Baseline: March 2 to April 1 (30 days, 30 deployments: 1 a day);
    // current: April (60 in 30 days).
    assert_eq!(e["baseline_window"]["from"], "2026-03-02T00:00:00Z", "{e}");
    assert_eq!(e["baseline"], 1.0, "{e}");
    assert_eq!(e["current"], 2.0, "{e}");
    assert_eq!(e["change"], 1.0);
    assert_eq!(e["relative"], 1.0);
    assert_eq!(e["verdict"], "improved");
    assert_eq!(e["status"], "reviewed", "its review date has passed");

    // A wrong indicator says what is wrong, and nothing is added.
    let mut wrong = experiment.clone();
    wrong["indicator"] = json!("happiness.score");
    let r = as_role(&app, "admin", "post", "/api/v1/experiments", Some(&wrong)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("names nothing"), "{}", r.text);

    // A running one: its expected dip is drawn as planned and said on the card.
    let running = json!({
        "team": "payments",
        "constraint": "Reviews wait a day",
        "indicator": "pr_stages.pickup.median_s",
        "direction": "down",
        "from": in_days(-5),
        "review": in_days(30),
        "expect_dip": ["deployment_frequency.per_day"]
    });
    let r = as_role(&app, "admin", "post", "/api/v1/experiments", Some(&running)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = json_of(&r)["id"].as_i64().unwrap();
    assert_eq!(json_of(&r)["status"], "running");
    // (Members see payments' figures; rule 2 keeps them from org viewers
    // while fewer than three people contributed.)
    let page = app
        .page(&app.tokens["team_member"], "/teams/payments")
        .await;
    assert!(
        page.text
            .contains(r#"data-expected="expected: Reviews wait a day""#),
        "{}",
        page.text
    );
    assert!(page.text.contains("marker planned"), "{}", page.text);
    let service = app
        .page(&app.tokens["team_member"], "/services/checkout")
        .await;
    assert!(service.text.contains("marker planned"), "{}", service.text);

    let r = as_role(
        &app,
        "team_member",
        "post",
        &format!("/api/v1/experiments/{id}/end"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(json_of(&r)["status"], "ended");
    let r = as_role(
        &app,
        "team_member",
        "post",
        &format!("/api/v1/experiments/{id}/end"),
        None,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text);
    let page = app
        .page(&app.tokens["team_member"], "/teams/payments")
        .await;
    assert!(
        !page.text.contains("marker planned"),
        "an ended experiment plans nothing"
    );

    let (_, list) = app.get("/api/v1/experiments?team=payments").await;
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let log = app.audit_log().await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "experiment.create")
            .count(),
        2,
        "{actions:?}"
    );
    assert!(actions.contains(&"experiment.end"));
    let _home = app.stop().await;
}

#[tokio::test]
async fn team_health_states_load_and_strain_in_words() {
    let app = spawn_app().await;
    let to = Timestamp::now().micros().div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY;
    let at = |days_before: i64| {
        Timestamp::from_micros(to - days_before * MICROS_PER_DAY + 3_600_000_000).to_rfc3339()
    };
    // Four incidents in the last 30 days, one in the 30 before.
    let events: Vec<Value> = [2, 5, 9, 20, 45]
        .iter()
        .map(|d| {
            json!({"type": "incident", "id": format!("i{d}"), "service": "checkout",
            "started_at": at(*d), "resolved_at": at(*d - 1)})
        })
        .collect();
    let (status, _, body) = app
        .post("/hooks/events", Value::Array(events).to_string())
        .await;
    assert_eq!(status, 200, "{body}");
    let r = as_role(
        &app,
        "team_member",
        "get",
        "/api/v1/team-health?team=payments",
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let j = json_of(&r);
    assert_eq!(j["strain"]["incidents"]["last_30_days"], 4, "{j}");
    assert_eq!(j["strain"]["incidents"]["previous_30_days"], 1, "{j}");
    assert_eq!(j["strain"]["incidents"]["holds"], true);
    assert_eq!(j["strain"]["pulse"]["holds"], false, "no rounds: {j}");
    assert_eq!(j["strain"]["holds"], false);
    assert_eq!(j["operational_load"]["incidents"], 5, "{j}");
    let page = app
        .page(&app.tokens["team_member"], "/teams/payments")
        .await;
    assert!(
        page.text
            .contains("Incidents are rising: 4 in the last 30 days"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains(r#"data-strain="false""#),
        "{}",
        page.text
    );
    let _home = app.stop().await;
}
