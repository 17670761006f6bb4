//! panels.md over HTTP: a team's alert quality, review quality, findings
//! and AI assistance in the report, its buckets and its page; the
//! organisation's totals without any team's; a day of AI use by too few
//! people shown to nobody; and scanners' deliveries kept without their
//! path, message or people.

mod common;

use serde_json::{Value, json};

const WINDOW: &str = "from=2026-03-01&to=2026-03-08";

/// The payments team (service checkout, repository acme/shop) over the
/// first week of March 2026, and a little of the search team.
fn history() -> String {
    json!([
        {"type":"change","repo":"acme/shop","sha":"1111111","committed_at":"2026-03-01T09:00:00Z","author":"a@example.com"},
        {"type":"change","repo":"acme/shop","sha":"2222222","parents":["1111111"],"committed_at":"2026-03-03T09:00:00Z","author":"b@example.com"},
        {"type":"change","repo":"acme/shop","sha":"3333333","parents":["2222222"],"committed_at":"2026-03-03T10:00:00Z","author":"c@example.com"},
        {"type":"deployment","id":"d1","service":"checkout","environment":"production","finished_at":"2026-03-02T10:00:00Z","repo":"acme/shop","sha":"1111111"},
        {"type":"deployment","id":"d2","service":"checkout","environment":"production","finished_at":"2026-03-04T10:00:00Z","repo":"acme/shop","sha":"3333333"},
        // Noise: never acknowledged, resolved exactly 300 s after detection.
        {"type":"incident","id":"i1","service":"checkout","started_at":"2026-03-02T10:30:00Z","detected_at":"2026-03-02T10:32:00Z","resolved_at":"2026-03-02T10:37:00Z"},
        // Acknowledged 10 minutes after it started (no detection time).
        {"type":"incident","id":"i2","service":"checkout","started_at":"2026-03-03T09:00:00Z","acknowledged_at":"2026-03-03T09:10:00Z","resolved_at":"2026-03-03T10:00:00Z"},
        // Noise no change caused.
        {"type":"incident","id":"i3","service":"checkout","started_at":"2026-03-05T12:00:00Z","resolved_at":"2026-03-05T12:03:00Z","cause":"external"},
        // 301 s: not noise.
        {"type":"incident","id":"i4","service":"search-api","started_at":"2026-03-05T12:00:00Z","resolved_at":"2026-03-05T12:05:01Z"},
        {"type":"pull_request","id":"acme/shop#1","repo":"acme/shop","opened_at":"2026-03-02T08:00:00Z","first_review_at":"2026-03-02T09:00:00Z","merged_at":"2026-03-02T09:30:00Z","additions":300,"deletions":150},
        {"type":"pull_request","id":"acme/shop#2","repo":"acme/shop","opened_at":"2026-03-03T08:00:00Z","first_review_at":"2026-03-03T12:00:00Z","merged_at":"2026-03-03T11:00:00Z","additions":10,"deletions":5},
        {"type":"pull_request","id":"acme/shop#3","repo":"acme/shop","opened_at":"2026-03-04T08:00:00Z","merged_at":"2026-03-04T09:00:00Z"},
        {"type":"finding","id":"f1","repo":"acme/shop","severity":"high","category":"sql-injection","opened_at":"2026-03-02T00:00:00Z","fixed_at":"2026-03-04T00:00:00Z"},
        {"type":"finding","id":"f2","repo":"acme/shop","severity":"critical","category":"weak-crypto","opened_at":"2026-02-20T00:00:00Z"},
        {"type":"finding","id":"f3","repo":"acme/shop","severity":"low","category":"xss","opened_at":"2026-03-06T00:00:00Z","fixed_at":"2026-03-09T00:00:00Z"},
        // A repository no service deploys: the organisation's only.
        {"type":"finding","id":"f4","repo":"acme/tools","severity":"medium","category":"xss","opened_at":"2026-03-03T00:00:00Z"},
        {"type":"assist_usage","team":"payments","day":"2026-03-02","active_users":5,"suggestions":100,"acceptances":30},
        // Two people: stored, never shown.
        {"type":"assist_usage","team":"payments","day":"2026-03-03","active_users":2,"suggestions":1000,"acceptances":900},
        {"type":"assist_usage","team":"payments","day":"2026-03-04","active_users":4,"suggestions":50,"acceptances":20,"lines_suggested":400,"lines_accepted":90},
        {"type":"assist_usage","team":"search","day":"2026-03-04","active_users":9,"suggestions":500,"acceptances":400}
    ])
    .to_string()
}

fn near(v: &Value, expected: f64) -> bool {
    v.as_f64()
        .is_some_and(|x| (x - expected).abs() <= 1e-9 * expected.abs().max(1.0))
}

#[tokio::test]
async fn a_teams_panels_are_exact_and_a_small_days_use_shows_nowhere() {
    let app = common::spawn_app().await;
    let (status, answer, _) = app.post("/hooks/events", history()).await;
    assert_eq!(status, 200, "{answer}");

    let (status, r) = app
        .get(&format!("/api/v1/report?team=payments&{WINDOW}"))
        .await;
    assert_eq!(status, 200, "{r}");
    let a = &r["alert_quality"];
    assert_eq!(a["incidents"], 3);
    assert_eq!(a["acknowledged"], 1);
    assert_eq!(a["time_to_acknowledge"]["median_s"], 600.0);
    assert_eq!(a["noise"], 2, "{a}");
    assert!(near(&a["noise_share"], 2.0 / 3.0), "{a}");
    assert!(near(&a["linked_share"], 2.0 / 3.0), "{a}");

    let q = &r["review_quality"];
    assert_eq!(q["merged"], 3);
    assert_eq!(q["size"]["count"], 2);
    assert_eq!(q["size"]["median_s"], 232.5);
    assert_eq!(q["large_share"], 0.5);
    assert!(near(&q["reviewed_share"], 1.0 / 3.0), "{q}");
    assert_eq!(q["unreviewed"], 2);

    let f = &r["findings"];
    assert_eq!(
        f["opened"],
        json!({"critical": 0, "high": 1, "medium": 0, "low": 1})
    );
    assert_eq!(
        f["fixed"],
        json!({"critical": 0, "high": 1, "medium": 0, "low": 0})
    );
    assert_eq!(
        f["open_at_end"],
        json!({"critical": 1, "high": 0, "medium": 0, "low": 1})
    );
    assert_eq!(f["time_to_fix"]["median_s"], 172_800.0);
    assert_eq!(
        f["top_categories"],
        json!([{"category": "sql-injection", "count": 1}, {"category": "xss", "count": 1}])
    );

    // The day two people used the assistant is not counted: 150
    // suggestions over two days, not 1 150 over three.
    let ai = &r["ai_assist"];
    assert_eq!(ai["days"], 2, "{ai}");
    assert_eq!(ai["suggestions"], 150);
    assert_eq!(ai["acceptances"], 50);
    assert!(near(&ai["acceptance_rate"], 1.0 / 3.0));
    assert_eq!(ai["mean_active_users"], 4.5);
    // Never alone: the team's stability over the same window beside it.
    assert_eq!(ai["change_failure_rate"], r["change_failure_rate"]["rate"]);
    assert_eq!(ai["rework_rate"], r["rework_rate"]["rate"]);
    assert_eq!(ai["change_failure_rate"], 0.5);
    assert!(
        ai["note"]
            .as_str()
            .unwrap()
            .contains("low one good judgment")
    );

    // Nor from any bucket: that day's bucket has nothing, and the buckets
    // add up to the window.
    let (status, days) = app
        .get(&format!("/api/v1/report?team=payments&{WINDOW}&bucket=day"))
        .await;
    assert_eq!(status, 200, "{days}");
    let buckets = days["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 7);
    let third = &buckets[2];
    assert_eq!(third["window"]["from"], "2026-03-03T00:00:00Z");
    assert_eq!(third["ai_assist"]["days"], 0);
    assert_eq!(third["ai_assist"]["suggestions"], 0);
    assert_eq!(third["ai_assist"]["acceptance_rate"], Value::Null);
    let total: u64 = buckets
        .iter()
        .map(|b| b["ai_assist"]["suggestions"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 150);
    // Nor from the CSV export.
    let csv = app
        .send(
            Some(&app.tokens["admin"]),
            "get",
            &format!("/api/v1/report?team=payments&{WINDOW}&bucket=day&format=csv"),
            &[],
            None,
        )
        .await;
    let suggestions: Vec<&str> = csv
        .text
        .lines()
        .filter(|l| l.contains(",ai_assist,suggestions,"))
        .collect();
    assert!(
        suggestions
            .contains(&"2026-03-01T00:00:00Z,2026-03-08T00:00:00Z,ai_assist,suggestions,150"),
        "{suggestions:?}"
    );
    assert!(
        suggestions
            .iter()
            .all(|l| !l.ends_with(",1000") && !l.ends_with(",1150")),
        "{suggestions:?}"
    );

    // A service report has three panels; the organisation's are totals
    // over every team, with no AI assistance (a team's own).
    let (_, service) = app
        .get(&format!("/api/v1/report?service=checkout&{WINDOW}"))
        .await;
    assert_eq!(service["alert_quality"]["incidents"], 3);
    assert!(service.get("ai_assist").is_none());
    let (_, org) = app.get(&format!("/api/v1/report?{WINDOW}")).await;
    assert_eq!(org["alert_quality"]["incidents"], 4);
    assert_eq!(org["alert_quality"]["noise"], 2, "301 s is not noise");
    assert!(org.get("ai_assist").is_none());
    assert_eq!(
        org["findings"]["open_at_end"],
        json!({"critical": 1, "high": 0, "medium": 1, "low": 1})
    );

    // The pages: four panels on the team's, the stability beside the
    // acceptance rate; the organisation's totals name no team.
    let page = app
        .page(
            &app.tokens["team_member"],
            &format!("/teams/payments?{WINDOW}"),
        )
        .await;
    assert_eq!(page.status, 200);
    for panel in ["alert_quality", "review_quality", "findings", "ai_assist"] {
        assert!(
            page.text.contains(&format!("data-panel=\"{panel}\"")),
            "{panel}"
        );
    }
    let ai_card = page.text.split("data-panel=\"ai_assist\"").nth(1).unwrap();
    assert!(ai_card.contains("33.3 % accepted"), "{ai_card}");
    assert!(ai_card.contains("change failure rate 50 %"), "{ai_card}");
    let org_page = app
        .page(&app.tokens["org_viewer"], &format!("/?{WINDOW}"))
        .await;
    assert_eq!(org_page.status, 200);
    let panels = org_page
        .text
        .split("data-panels")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        !panels.contains("payments") && !panels.contains("search"),
        "{panels}"
    );
    assert!(!panels.contains("data-panel=\"ai_assist\""));
    // The same totals as the organisation's report through the API.
    assert!(
        panels.contains(
            "data-panel=\"findings\"><h3>Findings</h3><p class=\"value\" data-value=\"3\""
        ),
        "{panels}"
    );
    app.stop().await;
}

#[tokio::test]
async fn code_scanning_alerts_and_gitlab_vulnerabilities_become_findings() {
    let app = common::spawn_app().await;
    let fixture =
        |name: &str| common::github_fixture(&format!("code_scanning_alert/{name}.payload.json"));
    // A message and a place, as GitHub sends for most alerts.
    let mut created = fixture("created");
    created["alert"]["most_recent_instance"] = json!({
        "ref": "refs/heads/main", "state": "open", "commit_sha": "788437584c2522f27feab10d8e631bab3e9e783a",
        "message": {"text": "This query depends on a user-provided value in OrderController."},
        "location": {"path": "src/main/java/OrderController.java", "start_line": 12}
    });
    assert_eq!(
        common::github(&app, "code_scanning_alert", &created)
            .await
            .0,
        200
    );
    let (window, id) = (
        "from=2021-02-01&to=2021-03-01",
        "Codertocat/Hello-World/code-scanning/10",
    );
    let findings = |app: &common::TestApp| {
        app.with_store(|s| {
            s.findings(
                None,
                lantern_engine::Window::new(
                    lantern_events::Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap(),
                    lantern_events::Timestamp::parse_rfc3339("2030-01-01T00:00:00Z").unwrap(),
                )
                .unwrap(),
            )
            .unwrap()
        })
    };
    let stored = findings(&app);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id.as_str(), id);
    assert_eq!(stored[0].category.as_str(), "sql-injection");
    assert_eq!(stored[0].severity, lantern_events::Severity::High);
    assert_eq!(stored[0].fixed_at, None);
    let (_, org) = app.get(&format!("/api/v1/report?{window}")).await;
    assert_eq!(org["findings"]["opened"]["high"], 1);
    assert_eq!(
        org["findings"]["top_categories"][0]["category"],
        "sql-injection"
    );

    // Fixed (octokit's example gives no time: it is when it arrived),
    // then reopened: open again.
    assert_eq!(
        common::github(&app, "code_scanning_alert", &fixture("fixed"))
            .await
            .0,
        200
    );
    assert!(findings(&app)[0].fixed_at.is_some());
    let mut reopened = fixture("reopened");
    reopened["alert"]["created_at"] = json!("2021-02-11T03:10:43Z");
    reopened["alert"]["rule"] = created["alert"]["rule"].clone();
    assert_eq!(
        common::github(&app, "code_scanning_alert", &reopened)
            .await
            .0,
        200
    );
    assert_eq!(findings(&app)[0].fixed_at, None);
    // Dismissed by a user: closed at the dismissal, the user not kept.
    let (status, _) = common::github(&app, "code_scanning_alert", &fixture("closed-by-user")).await;
    assert_eq!(status, 200);
    let closed = findings(&app);
    assert_eq!(
        closed[0].fixed_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2021-02-11T02:59:08Z")
    );

    // GitLab's documented vulnerability event.
    let r = app
        .post_with(
            "/hooks/gitlab",
            &[("x-gitlab-token", "gl-token")],
            common::fixture("gitlab/vulnerability_hook.json"),
        )
        .await;
    assert_eq!(r.0, 200, "{:?}", r.2);
    let all = findings(&app);
    let vuln = all
        .iter()
        .find(|f| f.repo.as_str() == "flightjs/Flight")
        .unwrap();
    assert_eq!(vuln.id.as_str(), "flightjs/Flight/vulnerabilities/1");
    assert_eq!(vuln.severity, lantern_events::Severity::High);
    assert_eq!(vuln.category.as_str(), "dependency_scanning");
    assert_eq!(vuln.fixed_at, None);

    // Nothing of the place, the message, the rule's words or the people
    // is in the database or in any answer.
    let home = app.stop().await;
    let forbidden = [
        "OrderController",
        "BookService.java",
        "user-provided value",
        "Query built from user-controlled sources",
        "Gemfile.lock",
        "REXML",
        // Why a user dismissed it (the user is the repository's owner
        // here, so the name itself may show as the repository's).
        "false positive",
        "github.com/Codertocat",
    ];
    let tables = home.dump_text();
    assert!(tables.iter().any(|(t, _)| t == "findings"));
    for (table, text) in tables {
        for word in forbidden {
            assert!(!text.contains(word), "{table} holds {word:?}");
        }
    }
}
