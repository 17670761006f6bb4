//! Governance tried the way a curious or hostile user would: stale
//! tokens, other teams' detail, small groups, injected names, forged
//! cookies, replayed signatures. Each is refused with the right status,
//! recorded in the audit log, and leaks nothing. Then the ways in that
//! are meant to work: signing in, annotating and disputing.

mod common;

use common::{TestApp, github, github_fixture, hmac_hex, issue_at, spawn_app};
use lantern_events::Timestamp;
use lantern_governance::Role;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const DAY: i64 = 86_400_000_000;

/// On PostgreSQL each replica remembers the tokens it verified for a few
/// seconds; a token revoked through one replica is refused by the others
/// as soon as they hear of it, well before what they remember goes stale.
#[tokio::test]
async fn a_token_revoked_through_one_replica_is_refused_by_another_at_once() {
    let app = spawn_app().await;
    if !matches!(app.home.location, lantern_store::Location::Postgres(_)) {
        eprintln!("SKIPPED on SQLite (one server per file): set LANTERN_TEST_STORE=postgres");
        return;
    }
    let other = app.replica().await;
    let (token, id) =
        app.with_store(|store| issue_at(store, Role::OrgViewer, &[], None, 7, Timestamp::now()));
    let status_on = |base: String, token: String| {
        let client = app.client.clone();
        async move {
            client
                .get(format!("{base}/api/v1/catalog"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Proof that the replica answers from memory: with the token's hash
    // spoilt in the database, a store lookup would refuse it. Until the
    // replica listens (it begins as it starts) it remembers nothing.
    let lantern_store::Location::Postgres(url) = app.home.location.clone() else {
        unreachable!()
    };
    let sql = |statement: String| {
        let url = url.clone();
        std::thread::spawn(move || {
            let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            db.execute(&statement, &[]).unwrap();
        })
        .join()
        .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        assert_eq!(status_on(other.base.clone(), token.clone()).await, 200);
        sql(format!(
            "UPDATE grants SET secret_hash = '\\x00' || secret_hash WHERE id = '{id}'"
        ));
        let remembered = status_on(other.base.clone(), token.clone()).await == 200;
        sql(format!(
            "UPDATE grants SET secret_hash = substring(secret_hash from 2) WHERE id = '{id}'"
        ));
        if remembered {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica never remembered a verified token"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Revoked through the first server.
    let revoked = std::time::Instant::now();
    let r = app
        .client
        .delete(format!("{}/api/v1/tokens/{id}", app.base))
        .bearer_auth(&app.tokens["admin"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    // The replica refuses it long before a remembered token goes stale.
    loop {
        let status = status_on(other.base.clone(), token.clone()).await;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            revoked.elapsed() < std::time::Duration::from_secs(2),
            "the replica still served a revoked token after {:?}",
            revoked.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    other.stop().await;
    let _home = app.stop().await;
}

/// The audit entries whose outcome starts with `outcome`.
async fn audited(app: &TestApp, outcome: &str) -> Vec<Value> {
    app.audit_log()
        .await
        .into_iter()
        .filter(|e| e["outcome"].as_str().unwrap().starts_with(outcome))
        .collect()
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_refused_and_recorded() {
    let app = spawn_app().await;
    let (expired, expired_id) = app.with_store(|store| {
        let long_ago = Timestamp::now().plus_micros(-3 * DAY);
        issue_at(store, Role::OrgViewer, &[], None, 1, long_ago)
    });
    let r = app
        .send(Some(&expired), "GET", "/api/v1/catalog", &[], None)
        .await;
    assert_eq!(r.status, 401);
    assert!(r.text.contains("expired"), "{}", r.text);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let refused = audited(&app, "refused: this token has expired").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["actor"], expired_id.as_str());
    // Signing in with it is refused too.
    let body = json!({ "token": expired });
    let r = app
        .send(None, "POST", "/api/v1/session", &[], Some(&body))
        .await;
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());

    // An admin issues a token, its holder signs in, the admin revokes it.
    let body = json!({"role": "org_viewer", "purpose": "quarterly review", "days": 7});
    let (status, _, issued) = app
        .post_with(
            "/api/v1/tokens",
            &[("authorization", &format!("Bearer {}", app.tokens["admin"]))],
            body.to_string(),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let token = issued["token"].as_str().unwrap();
    let id = issued["grant"]["id"].as_str().unwrap();
    assert_eq!(
        app.send(Some(token), "GET", "/api/v1/catalog", &[], None)
            .await
            .status,
        200
    );
    let cookie = sign_in(&app, token).await;
    let by_cookie = [("cookie", cookie.as_str())];
    assert_eq!(
        app.send(None, "GET", "/api/v1/catalog", &by_cookie, None)
            .await
            .status,
        200
    );
    let admin = app.tokens["admin"].as_str();
    let path = format!("/api/v1/tokens/{id}");
    assert_eq!(
        app.send(Some(admin), "DELETE", &path, &[], None)
            .await
            .status,
        204
    );
    assert_eq!(
        app.send(Some(admin), "DELETE", &path, &[], None)
            .await
            .status,
        404
    );
    let r = app
        .send(Some(token), "GET", "/api/v1/catalog", &[], None)
        .await;
    assert_eq!(r.status, 401);
    assert!(r.text.contains("revoked"), "{}", r.text);
    // Its sessions ended with it.
    let r = app
        .send(None, "GET", "/api/v1/catalog", &by_cookie, None)
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        audited(&app, "refused: this token was revoked").await.len(),
        1
    );
    let revocations: Vec<_> = app
        .audit_log()
        .await
        .into_iter()
        .filter(|e| e["action"] == "token.revoke")
        .collect();
    assert_eq!(revocations.len(), 1);
    assert_eq!(revocations[0]["scope"], format!("grant:{id}"));
    // The access review shows both for what they are.
    let (_, review) = app.get("/api/v1/access-review").await;
    let status_of = |id: &str| {
        review["grants"]
            .as_array()
            .or(review.as_array())
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .map(|g| g["status"].clone())
            .unwrap()
    };
    assert_eq!(status_of(&expired_id), "expired");
    assert_eq!(status_of(id), "revoked");
    let _dir = app.stop().await;
}

async fn sign_in(app: &TestApp, token: &str) -> String {
    let body = json!({ "token": token });
    let r = app
        .send(None, "POST", "/api/v1/session", &[], Some(&body))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let cookie = r.header("set-cookie").unwrap();
    cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_team_member_cannot_read_another_teams_detail() {
    let app = spawn_app().await;
    let history = json!([
        {"type":"deployment","id":"s1","service":"search-api","environment":"production","finished_at":"2026-03-01T10:00:00Z"},
        {"type":"incident","id":"si1","service":"search-api","started_at":"2026-03-01T11:00:00Z","resolved_at":"2026-03-01T12:00:00Z"},
        {"type":"change","repo":"acme/shop","sha":"c0ffee1","committed_at":"2026-03-01T09:00:00Z","author":"Dana Developer"},
        {"type":"deployment","id":"c1","service":"checkout","environment":"production","finished_at":"2026-03-01T10:00:00Z","repo":"acme/shop","sha":"c0ffee1"}
    ]);
    assert_eq!(app.post("/hooks/events", history.to_string()).await.0, 200);
    let window = "from=2026-03-01&to=2026-04-01";
    for role in ["team_member", "reviewer", "org_viewer", "ingest"] {
        for kind in ["deployments", "incidents", "changes"] {
            let path = format!("/api/v1/services/search-api/{kind}?{window}");
            let r = app
                .send(Some(&app.tokens[role]), "GET", &path, &[], None)
                .await;
            assert_eq!(r.status, 403, "{role} {path}");
            assert!(
                !r.text.contains("s1") && !r.text.contains("si1"),
                "{}",
                r.text
            );
        }
    }
    // Their own team's detail they read, and the read is recorded.
    let path = format!("/api/v1/services/checkout/deployments?{window}");
    let r = app
        .send(Some(&app.tokens["reviewer"]), "GET", &path, &[], None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[0]["id"], "c1");
    // Changes are detail too, and never say who made them.
    let path = format!("/api/v1/services/checkout/changes?{window}");
    let r = app
        .send(Some(&app.tokens["team_member"]), "GET", &path, &[], None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[0]["sha"], "c0ffee1", "{}", r.text);
    assert!(r.json()[0].get("author").is_none());
    let pseudonym =
        lantern_events::Pseudonymiser::from_key(common::KEY).pseudonymise("Dana Developer");
    assert!(!r.text.contains(pseudonym.as_stored()) && !r.text.contains("Dana"));
    let log = app.audit_log().await;
    let denied: Vec<_> = log
        .iter()
        .filter(|e| e["outcome"].as_str().unwrap().starts_with("denied"))
        .collect();
    assert_eq!(denied.len(), 12);
    assert!(denied.iter().all(|e| e["scope"] == "service:search-api"));
    let reads: Vec<_> = log
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("read "))
        .collect();
    assert_eq!(reads.len(), 2);
    assert_eq!(reads[0]["scope"], "service:checkout");
    assert!(reads[0]["action"].as_str().unwrap().contains(window));
    assert_eq!(reads[0]["purpose"], "testing as reviewer");
    // The access review knows the ingest token is in use.
    let (_, review) = app.get("/api/v1/access-review").await;
    let grants = review["grants"].as_array().or(review.as_array()).unwrap();
    let ingest = grants.iter().find(|g| g["role"] == "ingest").unwrap();
    assert!(ingest["last_used_at"].is_string(), "{ingest}");
    let _dir = app.stop().await;
}

/// Two people's changes deployed to `service`, and a third's elsewhere.
fn two_person_history(service: &str) -> Value {
    json!([
        {"type":"change","repo":"acme/shop","sha":"aaaaaa1","committed_at":"2026-03-01T08:00:00Z","author":"ana"},
        {"type":"change","repo":"acme/shop","sha":"aaaaaa2","parents":["aaaaaa1"],"committed_at":"2026-03-02T08:00:00Z","author":"bo"},
        {"type":"change","repo":"acme/shop","sha":"aaaaaa3","parents":["aaaaaa2"],"committed_at":"2026-03-03T08:00:00Z","author":"ana"},
        {"type":"deployment","id":"d1","service":service,"environment":"production","finished_at":"2026-03-01T10:00:00Z","repo":"acme/shop","sha":"aaaaaa1"},
        {"type":"deployment","id":"d2","service":service,"environment":"production","finished_at":"2026-03-03T10:00:00Z","repo":"acme/shop","sha":"aaaaaa3"},
        {"type":"change","repo":"acme/search","sha":"bbbbbb1","committed_at":"2026-03-01T08:00:00Z","author":"cy"},
        {"type":"deployment","id":"e1","service":"search-api","environment":"production","finished_at":"2026-03-01T10:00:00Z","repo":"acme/search","sha":"bbbbbb1"}
    ])
}

#[tokio::test]
async fn small_groups_are_shown_to_their_team_only() {
    let app = spawn_app().await;
    let history = two_person_history("checkout");
    assert_eq!(app.post("/hooks/events", history.to_string()).await.0, 200);
    let window = "from=2026-03-01&to=2026-04-01";
    for scope in ["service=checkout", "team=payments", "team=search"] {
        let path = format!("/api/v1/report?{scope}&{window}&bucket=week");
        let (status, answer) = app.get_as(Some(&app.tokens["org_viewer"]), &path).await;
        assert_eq!(status, 200);
        assert_eq!(answer["suppressed"], true, "{scope}: {answer}");
        assert_eq!(answer["reason"], "fewer than 3 contributors");
        // Nothing of the figures, not even in the buckets.
        for field in [
            "deployment_frequency",
            "lead_time",
            "buckets",
            "change_failure_rate",
        ] {
            assert!(answer.get(field).is_none(), "{scope}: {answer}");
        }
    }
    // The owning team's members, and admins, see their figures.
    for role in ["team_member", "admin"] {
        let path = format!("/api/v1/report?team=payments&{window}");
        let (_, answer) = app.get_as(Some(&app.tokens[role]), &path).await;
        assert_eq!(
            answer["deployment_frequency"]["count"], 2,
            "{role}: {answer}"
        );
    }
    // The organisation has three contributors: shown.
    let (_, org) = app
        .get_as(
            Some(&app.tokens["org_viewer"]),
            &format!("/api/v1/report?{window}"),
        )
        .await;
    assert_eq!(org["deployment_frequency"]["count"], 3, "{org}");
    // A payments member is outside the search team: suppressed for them.
    let (_, search) = app
        .get_as(
            Some(&app.tokens["team_member"]),
            &format!("/api/v1/report?team=search&{window}"),
        )
        .await;
    assert_eq!(search["suppressed"], true);
    // A third contributor lifts the suppression.
    let third = json!([{"type":"change","repo":"acme/shop","sha":"aaaaaa0","committed_at":"2026-03-01T07:00:00Z","author":"dee"}]);
    assert_eq!(app.post("/hooks/events", third.to_string()).await.0, 200);
    let (_, answer) = app
        .get_as(
            Some(&app.tokens["org_viewer"]),
            &format!("/api/v1/report?service=checkout&{window}"),
        )
        .await;
    assert_eq!(answer["deployment_frequency"]["count"], 2, "{answer}");
    let _dir = app.stop().await;
}

#[tokio::test]
async fn injected_scope_names_are_only_names() {
    let app = spawn_app().await;
    // A token id that is no id (found by the request fuzzer on
    // PostgreSQL, which refuses NUL bytes): no such token, not a failure.
    let admin = app.tokens["admin"].as_str();
    for id in ["%00", "a%0Ab", "%20"] {
        let path = format!("/api/v1/tokens/{id}");
        let r = app.send(Some(admin), "DELETE", &path, &[], None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    let history = two_person_history("checkout");
    assert_eq!(app.post("/hooks/events", history.to_string()).await.0, 200);
    let member = app.tokens["team_member"].as_str();
    // Path tricks that would reach search-api's detail if names were paths
    // or patterns: refused (not its team's) or not found, never served.
    for service in [
        "..%2Fsearch-api",
        "checkout%2F..%2Fsearch-api",
        "%2e%2e%2fsearch-api",
        "search-api%00",
        "search%25",
        "search-api'%20OR%20'1'%3D'1",
        "*",
    ] {
        let path = format!("/api/v1/services/{service}/deployments");
        let r = app.send(Some(member), "GET", &path, &[], None).await;
        let r = r.one_of(&[400, 403, 404], &path);
        assert!(!r.text.contains("e1"), "{path}: {}", r.text);
    }
    // Query tricks on the report: a bad name is a 400 or an empty scope,
    // never another scope's figures, never a server error.
    let viewer = app.tokens["org_viewer"].as_str();
    for query in [
        "service=checkout'%20OR%20'1'%3D'1",
        "service=checkout%0Asearch-api",
        "service=checkout&service=search-api",
        "team=payments%25",
        "team=payments&service=checkout",
        "service=checkout&author=ana",
        "service=%2e%2e%2fcheckout",
        "team=",
    ] {
        let path = format!("/api/v1/report?{query}&from=2026-03-01&to=2026-04-01");
        let r = app.send(Some(viewer), "GET", &path, &[], None).await;
        let r = r.one_of(&[200, 400, 404], query);
        let answer = r.json();
        let count = &answer["deployment_frequency"]["count"];
        assert!(count.is_null() || count == 0, "{query}: {answer}");
    }
    // A person is never a filter.
    let r = app
        .send(Some(viewer), "GET", "/api/v1/report?author=ana", &[], None)
        .await;
    assert_eq!(r.status, 400);
    // Nothing was harmed: the store still answers as before.
    let (_, answer) = app
        .get("/api/v1/report?service=checkout&from=2026-03-01&to=2026-04-01")
        .await;
    assert_eq!(answer["deployment_frequency"]["count"], 2);
    let _dir = app.stop().await;
}

#[tokio::test]
async fn sessions_are_http_only_strict_and_forged_cookies_are_refused() {
    let app = spawn_app().await;
    let token = app.tokens["team_member"].clone();
    let body = json!({ "token": token });
    let r = app
        .send(None, "POST", "/api/v1/session", &[], Some(&body))
        .await;
    let cookie = r.header("set-cookie").unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(max_age > 0 && max_age <= 12 * 3600, "{cookie}");
    assert!(!cookie.contains(&token), "the cookie is not the token");
    // Behind a TLS-terminating proxy, the cookie is Secure.
    let tls = [("x-forwarded-proto", "https")];
    let r = app
        .send(None, "POST", "/api/v1/session", &tls, Some(&body))
        .await;
    assert!(r.header("set-cookie").unwrap().contains("; Secure"));

    let session = cookie.split(';').next().unwrap().to_string();
    let with = |c: &str| [("cookie", c.to_string())];
    let headers = with(&session);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app
        .send(None, "GET", "/api/v1/whoami", &headers, None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["role"], "team_member");

    // Forgeries: a made-up session, the token as a cookie, a malformed one.
    let forged = [
        format!("lantern_session={}", "ab".repeat(32)),
        format!("lantern_session={token}"),
        "lantern_session=../../etc/passwd".to_string(),
    ];
    for cookie in &forged {
        let r = app
            .send(None, "GET", "/api/v1/whoami", &[("cookie", cookie)], None)
            .await;
        assert_eq!(r.status, 401, "{cookie}: {}", r.text);
    }
    // Each kind of forgery is recorded; two malformed cookies within a
    // minute are one row (refusals are recorded once a minute per kind).
    let refused = audited(&app, "refused").await;
    let reasons: BTreeSet<&str> = refused
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{refused:?}");
    assert!((2..=3).contains(&refused.len()), "{refused:?}");
    // Signing out ends the session on the server, not only in the browser.
    let r = app
        .send(None, "DELETE", "/api/v1/session", &headers, None)
        .await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = app
        .send(None, "GET", "/api/v1/whoami", &headers, None)
        .await;
    assert_eq!(r.status, 401);
    // A guessed token at the sign-in door is refused and recorded.
    let guess = json!({"token": format!("lantern_0123456789ab_{}", "0".repeat(64))});
    let r = app
        .send(None, "POST", "/api/v1/session", &[], Some(&guess))
        .await;
    assert_eq!(r.status, 401);
    let refusals = audited(&app, "refused").await;
    assert!(
        refusals
            .iter()
            .any(|e| e["action"] == "/api/v1/session" && e["scope"] == "token 0123456789ab"),
        "{refusals:?}"
    );
    let _dir = app.stop().await;
}

#[tokio::test]
async fn a_replayed_signature_over_a_changed_body_is_refused() {
    // A genuine delivery, signed, accepted; then replayed over other bytes.
    let push = github_fixture("push/with-new-branch.payload.json");
    let body = serde_json::to_vec(&push).unwrap();
    let app = spawn_app().await;
    let signature = format!("sha256={}", hmac_hex(b"gh-secret", &body));
    assert_eq!(github(&app, "push", &push).await.0, 200);
    // The captured signature, replayed over a body that says more.
    let mut changed = push.clone();
    changed["head_commit"]["id"] = json!("feedfacefeedfacefeedfacefeedfacefeedface");
    let headers = [
        ("x-github-event", "push"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let (status, _, problem) = app.post_json("/hooks/github", &headers, &changed).await;
    assert_eq!(status, 401, "{problem}");
    // The same for PagerDuty's signature scheme.
    let pd = common::fixture("pagerduty/body.raw");
    let sig = format!("v1={}", hmac_hex(b"test-secret", &pd));
    let mut altered = pd.clone();
    let at = altered.iter().position(|b| b.is_ascii_digit()).unwrap();
    altered[at] = if altered[at] == b'9' {
        b'8'
    } else {
        altered[at] + 1
    };
    let (status, _, _) = app
        .post_with(
            "/hooks/pagerduty",
            &[("x-pagerduty-signature", &sig)],
            altered,
        )
        .await;
    assert_eq!(status, 401);
    // An ingest token for one source does not write another's events.
    let (status, _, _) = app
        .post_with(
            "/hooks/github",
            &[
                ("x-github-event", "push"),
                ("authorization", &format!("Bearer {}", app.tokens["ingest"])),
            ],
            serde_json::to_vec(&changed).unwrap(),
        )
        .await;
    assert_eq!(status, 403);
    let refusals = audited(&app, "refused").await;
    assert_eq!(refusals.len(), 2, "{refusals:?}");
    assert!(
        refusals
            .iter()
            .any(|e| e["action"] == "ingest /hooks/github")
    );
    assert!(
        refusals
            .iter()
            .any(|e| e["action"] == "ingest /hooks/pagerduty")
    );
    assert_eq!(audited(&app, "denied").await.len(), 1);
    let home = app.stop().await;
    let events = home.with_store(|store| store.load(None).unwrap());
    assert_eq!(
        events.changes.len(),
        1,
        "only the signed delivery is stored"
    );
    assert!(events.incidents.is_empty());
}

#[tokio::test]
async fn disputes_and_annotations_are_opened_shown_resolved_and_recorded() {
    let app = spawn_app().await;
    let history = two_person_history("checkout");
    assert_eq!(app.post("/hooks/events", history.to_string()).await.0, 200);
    let member = format!("Bearer {}", app.tokens["team_member"]);
    let as_member = [("authorization", member.as_str())];
    let dispute = json!({
        "metric": "lead_time",
        "scope": {"team": "payments"},
        "from": "2026-03-01",
        "to": "2026-03-08",
        "context": "the first week includes the data-centre move"
    });
    let (status, _, opened) = app
        .post_with("/api/v1/disputes", &as_member, dispute.to_string())
        .await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["status"], "open");
    let id = opened["id"].as_str().unwrap().to_string();
    // Not for another team's scope, not for an unknown metric, not for
    // an org viewer.
    let mut other = dispute.clone();
    other["scope"] = json!({"team": "search"});
    assert_eq!(
        app.post_with("/api/v1/disputes", &as_member, other.to_string())
            .await
            .0,
        403
    );
    let mut unknown = dispute.clone();
    unknown["metric"] = json!("lines_of_code");
    assert_eq!(
        app.post_with("/api/v1/disputes", &as_member, unknown.to_string())
            .await
            .0,
        400
    );
    let viewer = format!("Bearer {}", app.tokens["org_viewer"]);
    assert_eq!(
        app.post_with(
            "/api/v1/disputes",
            &[("authorization", &viewer)],
            dispute.to_string()
        )
        .await
        .0,
        403
    );
    let freeze = json!({
        "kind": "freeze",
        "scope": {"service": "checkout"},
        "from": "2026-03-20",
        "to": "2026-03-27",
        "title": "end-of-quarter freeze"
    });
    let (status, _, annotation) = app
        .post_with("/api/v1/annotations", &as_member, freeze.to_string())
        .await;
    assert_eq!(status, 201, "{annotation}");

    // Shown with reports whose scope and window they touch, and only there.
    let (_, report) = app
        .get_as(
            Some(&app.tokens["team_member"]),
            "/api/v1/report?team=payments&from=2026-03-01&to=2026-04-01",
        )
        .await;
    let kinds: Vec<_> = report["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["dispute", "freeze"], "{report}");
    let (_, later) = app
        .get("/api/v1/report?team=payments&from=2026-04-01&to=2026-05-01")
        .await;
    assert!(later.get("annotations").is_none(), "{later}");
    let (_, search) = app
        .get("/api/v1/report?team=search&from=2026-03-01&to=2026-04-01")
        .await;
    assert!(search.get("annotations").is_none(), "{search}");

    // Only an admin resolves, with a note; the resolution is shown.
    let path = format!("/api/v1/disputes/{id}/resolve");
    let note = json!({"note": "agreed; the move is annotated as a migration"});
    assert_eq!(
        app.post_with(&path, &as_member, note.to_string()).await.0,
        403
    );
    let admin = format!("Bearer {}", app.tokens["admin"]);
    let as_admin = [("authorization", admin.as_str())];
    assert_eq!(
        app.post_with(&path, &as_admin, note.to_string()).await.0,
        204
    );
    assert_eq!(
        app.post_with(&path, &as_admin, note.to_string()).await.0,
        409
    );
    assert_eq!(
        app.post_with("/api/v1/disputes/999/resolve", &as_admin, note.to_string())
            .await
            .0,
        404
    );
    let (_, disputes) = app
        .get_as(Some(&app.tokens["org_viewer"]), "/api/v1/disputes")
        .await;
    assert_eq!(disputes[0]["status"], "resolved", "{disputes}");
    assert_eq!(disputes[0]["resolution"], note["note"]);

    // Every change is in the audit log, by whom and for what.
    let log = app.audit_log().await;
    let done: Vec<_> = log
        .iter()
        .filter(|e| !e["outcome"].as_str().unwrap().starts_with("denied"))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in ["dispute.open", "annotation.create", "dispute.resolve"] {
        let n = done.iter().filter(|a| **a == action).count();
        assert_eq!(n, 1, "{action}: {done:?}");
    }
    let denied = log.len() - done.len();
    assert_eq!(
        denied, 3,
        "other team, org viewer, resolve as member: {log:?}"
    );
    let (_, verdict) = app.get("/api/v1/audit/verify").await;
    assert_eq!(verdict["intact"], true, "{verdict}");
    let _dir = app.stop().await;
}

#[tokio::test]
async fn the_server_applies_retention_on_its_own() {
    let app = common::spawn_app_with(|s| {
        s.app.governance.retention_every = Some(std::time::Duration::from_millis(100));
    })
    .await;
    // Older than the raw horizon (180 days), younger than the aggregate one.
    let day = |days_ago: i64| Timestamp::now().plus_micros(-days_ago * DAY).to_rfc3339();
    let old = json!([
        {"type":"change","repo":"acme/shop","sha":"5ca1ab1e","committed_at":day(301),"author":"ana"},
        {"type":"deployment","id":"old-1","service":"checkout","environment":"production","finished_at":day(300),"repo":"acme/shop","sha":"5ca1ab1e"}
    ]);
    assert_eq!(app.post("/hooks/events", old.to_string()).await.0, 200);
    let path = &format!(
        "/api/v1/report?service=checkout&from={}&to={}",
        &day(310)[..10],
        &day(290)[..10]
    );
    let (_, before) = app.get(path).await;
    assert_eq!(before["deployment_frequency"]["count"], 1);
    let mut purged = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if app.with_store(|store| store.load(None).unwrap().deployments.is_empty()) {
            purged = true;
            break;
        }
    }
    assert!(purged, "the hourly task never ran");
    let (_, after) = app.get(path).await;
    assert_eq!(after, before);
    let runs: Vec<_> = app
        .audit_log()
        .await
        .into_iter()
        .filter(|e| e["action"] == "retention.run" && e["actor"] == "lantern serve")
        .collect();
    assert!(!runs.is_empty());
    let _dir = app.stop().await;
}

#[tokio::test]
async fn the_access_review_flags_grants_nobody_uses() {
    let app = spawn_app().await;
    let (token, id) = app.with_store(|store| {
        let forty_days_ago = Timestamp::now().plus_micros(-40 * DAY);
        issue_at(store, Role::OrgViewer, &[], None, 90, forty_days_ago)
    });
    let flag = |review: &Value| {
        let grants = review["grants"].as_array().or(review.as_array()).unwrap();
        let g = grants.iter().find(|g| g["id"] == id.as_str()).unwrap();
        g["unused_30_days"].clone()
    };
    let (_, review) = app.get("/api/v1/access-review").await;
    assert_eq!(flag(&review), true, "{review}");
    // Fresh grants are not flagged, however unused.
    let (_, review) = app.get("/api/v1/access-review").await;
    let grants = review["grants"].as_array().or(review.as_array()).unwrap();
    let fresh = grants
        .iter()
        .filter(|g| g["unused_30_days"] == true)
        .count();
    assert_eq!(fresh, 1, "only the old one: {review}");
    // Used once, the flag goes.
    assert_eq!(
        app.send(Some(&token), "GET", "/api/v1/catalog", &[], None)
            .await
            .status,
        200
    );
    let (_, review) = app.get("/api/v1/access-review").await;
    assert_eq!(flag(&review), false);
    let _dir = app.stop().await;
}

#[tokio::test]
async fn forms_go_back_only_to_local_paths_and_never_fail_after_writing() {
    let app = spawn_app().await;
    let member = app.tokens["team_member"].clone();
    // A `next` that a URL parser turns into another site (tabs and
    // newlines are dropped: `/\t/evil` is `//evil`) goes home instead.
    for next in ["/\t/evil.example", "/\n/evil.example", "//evil.example"] {
        let body = common::form(&[("token", &member), ("next", next)]);
        let r = app.send(None, "POST", "/sign-in", &[], Some(&body)).await;
        assert_eq!(r.status, 303, "{next:?}: {}", r.text);
        assert_eq!(r.header("location"), Some("/"), "{next:?}");
        assert!(r.header("set-cookie").is_some(), "{next:?}: signed in");
    }
    // A `next` no Location header can carry: the annotation is stored
    // once and the answer is a redirect home, not a 500 after the write.
    let body = common::form(&[
        ("scope", "service:checkout"),
        ("kind", "note"),
        ("from", "2026-03-01"),
        ("title", "a note with a broken way back"),
        ("next", "/x\ny"),
    ]);
    let r = app
        .send(Some(&member), "POST", "/annotations", &[], Some(&body))
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/"));
    let (_, list) = app
        .get("/api/v1/annotations?from=2026-01-01&to=2026-12-31")
        .await;
    let stored = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["title"] == "a note with a broken way back")
        .count();
    assert_eq!(stored, 1, "{list}");
    let _dir = app.stop().await;
}

/// A form refused for what was typed comes back filled in, with why and
/// "nothing was saved"; nothing is stored.
#[tokio::test]
async fn refused_forms_keep_what_was_typed() {
    let app = spawn_app().await;
    let member = app.tokens["team_member"].clone();
    let body = common::form(&[
        ("scope", "service:checkout"),
        ("kind", "migration"),
        ("from", "2026-13-01"),
        ("to", "2026-03-09"),
        ("title", "queue <migration> to the new broker"),
        ("next", "/services/checkout"),
    ]);
    let r = app
        .send(Some(&member), "POST", "/annotations", &[], Some(&body))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("Nothing was saved"), "{}", r.text);
    assert!(r.text.contains("from"), "says which field: {}", r.text);
    for kept in [
        r#"value="2026-13-01""#,
        r#"value="2026-03-09""#,
        r#"value="queue &lt;migration&gt; to the new broker""#,
        r#"value="migration" selected"#,
        r#"value="/services/checkout""#,
    ] {
        assert!(r.text.contains(kept), "{kept} kept: {}", r.text);
    }
    let body = common::form(&[
        ("scope", "service:checkout"),
        ("metric", "lead_time"),
        ("from", "2026-03-09"),
        ("to", "2026-03-01"),
        ("context", "the migration week skews this"),
    ]);
    let r = app
        .send(Some(&member), "POST", "/disputes", &[], Some(&body))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains(r#"value="the migration week skews this""#),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(r#"value="lead_time" selected"#),
        "{}",
        r.text
    );
    let admin = app.tokens["admin"].clone();
    let body = common::form(&[
        ("role", "team_member"),
        ("team", "payments"),
        ("purpose", "the weekly review"),
        ("days", "a fortnight"),
    ]);
    let r = app
        .send(Some(&admin), "POST", "/admin/tokens", &[], Some(&body))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.text.contains("days: a whole number of days"),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(r#"value="the weekly review""#),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(r#"value="payments" selected"#),
        "{}",
        r.text
    );
    let (_, list) = app
        .get("/api/v1/annotations?from=2026-01-01&to=2026-12-31")
        .await;
    assert_eq!(list, json!([]), "nothing stored");
    let _dir = app.stop().await;
}

/// Rule 2 holds for every window a reader is shown, not only the one
/// asked for: a day's bucket or a 7-day comparison with fewer
/// contributors than the group size is withheld inside a report whose
/// whole window may be shown.
#[tokio::test]
async fn small_groups_are_withheld_in_every_bucket_and_comparison() {
    let app = spawn_app().await;
    // One person a day, three in all.
    let history = json!([
        {"type":"deployment","id":"d1","service":"checkout","environment":"production","finished_at":"2026-03-01T10:00:00Z","repo":"acme/shop","sha":"aaaaaa1"},
        {"type":"deployment","id":"d2","service":"checkout","environment":"production","finished_at":"2026-03-02T10:00:00Z","repo":"acme/shop","sha":"aaaaaa2"},
        {"type":"deployment","id":"d3","service":"checkout","environment":"production","finished_at":"2026-03-10T10:00:00Z","repo":"acme/shop","sha":"aaaaaa3"},
        {"type":"change","repo":"acme/shop","sha":"aaaaaa1","committed_at":"2026-03-01T08:00:00Z","author":"ana"},
        {"type":"change","repo":"acme/shop","sha":"aaaaaa2","parents":["aaaaaa1"],"committed_at":"2026-03-02T08:00:00Z","author":"bo"},
        {"type":"change","repo":"acme/shop","sha":"aaaaaa3","parents":["aaaaaa2"],"committed_at":"2026-03-10T08:00:00Z","author":"dee"}
    ]);
    assert_eq!(app.post("/hooks/events", history.to_string()).await.0, 200);
    let viewer = app.tokens["org_viewer"].clone();
    // The first day alone is one person: withheld when asked for...
    let (_, day) = app
        .get_as(
            Some(&viewer),
            "/api/v1/report?service=checkout&from=2026-03-01&to=2026-03-02",
        )
        .await;
    assert_eq!(day["suppressed"], true, "{day}");
    // ...and inside a trend whose whole window has three contributors.
    let (status, trend) = app
        .get_as(
            Some(&viewer),
            "/api/v1/report?service=checkout&from=2026-03-01&to=2026-03-15&bucket=day",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(trend["deployment_frequency"]["count"], 3, "{trend}");
    let buckets = trend["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 14);
    for b in buckets {
        assert_eq!(b["suppressed"], true, "{b}");
        assert!(b.get("deployment_frequency").is_none(), "{b}");
        assert_eq!(b["reason"], "fewer than 3 contributors");
    }
    // A window of three people compared with the day before, when one
    // deployed: the earlier figures are withheld, the reason given.
    let (_, compared) = app
        .get_as(
            Some(&viewer),
            "/api/v1/report?service=checkout&from=2026-03-01&to=2026-03-15&compare=quarter",
        )
        .await;
    assert_eq!(
        compared["compare"]["withheld"], "fewer than 3 contributors",
        "{compared}"
    );
    let (_, compared) = app
        .get_as(
            Some(&viewer),
            "/api/v1/report?service=checkout&from=2026-03-02&to=2026-03-03&compare=previous",
        )
        .await;
    assert_eq!(
        compared["suppressed"], true,
        "the window itself is one person"
    );
    let (_, compared) = app
        .get_as(
            Some(&viewer),
            "/api/v1/report?service=checkout&from=2026-03-01&to=2026-03-15&compare=previous",
        )
        .await;
    let c = &compared["compare"];
    assert_eq!(c["withheld"], "fewer than 3 contributors", "{compared}");
    for (key, delta) in c.as_object().unwrap() {
        if key.contains('.') {
            assert!(
                delta["then"].is_null() && delta["change"].is_null(),
                "{key}: {delta}"
            );
        }
    }
    // The owning team sees every bucket's figures.
    let (_, own) = app
        .get_as(
            Some(&app.tokens["team_member"]),
            "/api/v1/report?service=checkout&from=2026-03-01&to=2026-03-15&bucket=day",
        )
        .await;
    assert_eq!(
        own["buckets"][0]["deployment_frequency"]["count"], 1,
        "{own}"
    );
    // The dashboard's 7-day comparison (4 to 11 March: one person) is
    // withheld; its 30- and 90-day ones (all three) are shown.
    let page = app
        .page(&viewer, "/services/checkout?from=2026-02-01&to=2026-03-12")
        .await;
    let compare = page
        .text
        .split("table class=\"compare\"")
        .nth(1)
        .expect("a comparison table");
    let cells: Vec<&str> = compare
        .split("<td>")
        .skip(1)
        .take(3)
        .map(|c| c.split("</td>").next().unwrap())
        .collect();
    assert!(cells[0].contains("withheld"), "{cells:?}");
    assert!(
        !cells[1].contains("withheld") && !cells[2].contains("withheld"),
        "{cells:?}"
    );
    let _dir = app.stop().await;
}

#[tokio::test]
async fn a_method_a_route_does_not_take_is_405_and_not_recorded() {
    let app = spawn_app().await;
    let viewer = app.tokens["org_viewer"].clone();
    let before = app.audit_log().await.len();
    for (method, path) in [
        ("OPTIONS", "/api/v1/report"),
        ("PUT", "/api/v1/report"),
        ("PUT", "/api/v1/tokens"),
        ("DELETE", "/teams/payments"),
        ("PATCH", "/hooks/events"),
    ] {
        for token in [None, Some(viewer.as_str())] {
            let r = app.send(token, method, path, &[], None).await;
            assert_eq!(r.status, 405, "{method} {path}: {}", r.text);
            assert!(r.header("allow").is_some(), "{method} {path}");
        }
    }
    // Nothing was recorded: there was nothing to authorise.
    let after = app.audit_log().await.len();
    assert_eq!(after, before, "refusals of unknown methods were recorded");
    let _dir = app.stop().await;
}

#[tokio::test]
async fn cookie_writes_from_another_site_are_refused_and_pages_say_what_they_allow() {
    let app = spawn_app().await;
    let token = app.tokens["team_member"].clone();
    let r = app
        .send(
            None,
            "POST",
            "/api/v1/session",
            &[],
            Some(&json!({ "token": token })),
        )
        .await;
    let session = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let here = app.base.trim_start_matches("http://").to_string();
    let note = |title: &str| {
        common::form(&[
            ("scope", "service:checkout"),
            ("kind", "note"),
            ("from", "2026-03-01"),
            ("title", title),
        ])
    };
    // From another site, or a sibling subdomain: refused, nothing stored.
    for (name, value) in [
        ("origin", "https://evil.example".to_string()),
        ("origin", format!("https://x.{here}")),
        ("sec-fetch-site", "cross-site".to_string()),
        ("sec-fetch-site", "same-site".to_string()),
    ] {
        let headers = [("cookie", session.as_str()), (name, value.as_str())];
        for path in ["/annotations", "/api/v1/annotations"] {
            let body = if path.starts_with("/api") {
                json!({"kind":"note","scope":{"service":"checkout"},"from":"2026-03-01","title":"forged"})
            } else {
                note("forged")
            };
            let r = app.send(None, "POST", path, &headers, Some(&body)).await;
            assert_eq!(r.status, 403, "{path} {name}: {value}: {}", r.text);
        }
    }
    // From this server's own page: accepted with the page's form token,
    // refused without it (or with another session's).
    let origin = app.base.clone();
    let headers = [
        ("cookie", session.as_str()),
        ("origin", origin.as_str()),
        ("sec-fetch-site", "same-origin"),
    ];
    let page = app
        .send(None, "GET", "/annotations", &headers[..1], None)
        .await;
    let form_token = page
        .text
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page's forms carry the session's form token")
        .to_string();
    for wrong in ["", "00000000000000000000000000000000"] {
        let mut body = note("without the token");
        if !wrong.is_empty() {
            body = Value::String(format!("{}&form_token={wrong}", body.as_str().unwrap()));
        }
        let r = app
            .send(None, "POST", "/annotations", &headers, Some(&body))
            .await;
        assert_eq!(r.status, 403, "{wrong:?}: {}", r.text);
    }
    let body = note("from our page");
    let body = Value::String(format!(
        "{}&form_token={form_token}",
        body.as_str().unwrap()
    ));
    let r = app
        .send(None, "POST", "/annotations", &headers, Some(&body))
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let (_, list) = app
        .get("/api/v1/annotations?from=2026-01-01&to=2026-12-31")
        .await;
    let titles: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["title"].as_str())
        .collect();
    assert_eq!(titles, ["from our page"], "{list}");
    // Every answer says what a browser may do with it.
    let page = app.send(Some(&token), "GET", "/", &[], None).await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert!(page.header("referrer-policy").is_some());
    let _dir = app.stop().await;
}

#[tokio::test]
async fn dashboard_links_reach_the_page_of_the_name_they_show() {
    let app = spawn_app().await;
    let names = ["team/x", "q?x=1", "h#frag", "pct%2fx", "a b"];
    let events: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            json!({"type":"deployment","id":format!("n{i}"),"service":name,"environment":"production","finished_at":"2026-11-20T10:00:00Z"})
        })
        .collect();
    assert_eq!(
        app.post("/hooks/events", json!(events).to_string()).await.0,
        200
    );
    let admin = app.tokens["admin"].clone();
    let org = app
        .send(Some(&admin), "GET", "/?days=30&to=2026-11-25", &[], None)
        .await;
    assert_eq!(org.status, 200);
    for name in names {
        // The row's link, as the page wrote it (maud escapes & and ").
        let row = org
            .text
            .split("<tr data-scope=\"")
            .find(|r| r.starts_with(&maud::html! { (name) }.into_string()))
            .unwrap_or_else(|| panic!("no row for {name}"));
        let href = row
            .split("href=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let href = href.replace("&amp;", "&");
        let page = app.send(Some(&admin), "GET", &href, &[], None).await;
        assert_eq!(page.status, 200, "{name}: {href}: {}", page.text);
        let title = maud::html! { "Service " (name) }.into_string();
        assert!(
            page.text.contains(&title),
            "{name}: {href} opened another page"
        );
    }
    let _dir = app.stop().await;
}

#[tokio::test]
async fn refusals_of_unnamed_senders_are_counted_not_recorded_one_by_one() {
    let app = spawn_app().await;
    let before = app.audit_log().await.len();
    // A thousand made-up bearer tokens and five hundred unsigned deliveries.
    let (mut limited, mut refused) = (0, 0);
    for i in 0..1000 {
        let token = format!("lantern_{:012x}_{}", i, "0".repeat(64));
        let r = app
            .send(Some(&token), "GET", "/api/v1/catalog", &[], None)
            .await;
        match r.status {
            401 => refused += 1,
            429 => {
                limited += 1;
                assert!(r.header("retry-after").is_some());
            }
            other => panic!("{other}: {}", r.text),
        }
    }
    for _ in 0..500 {
        let wrong = [
            ("x-hub-signature-256", "sha256=00"),
            ("x-github-event", "push"),
        ];
        let status = app.post_with("/hooks/github", &wrong, "{}").await.0;
        assert!(status == 401 || status == 429, "{status}");
    }
    assert!(
        refused >= 100,
        "the first ones are answered as refusals: {refused}"
    );
    assert!(limited > 0, "past the limit, refusals are answered 429");
    // A handful of rows, not one per request (a new minute may start
    // during the run: then each kind has a second row).
    let rows = app.audit_log().await.len() - before;
    assert!(
        (2..=4).contains(&rows),
        "{rows} audit rows for 1 500 refusals"
    );
    // A real token still works meanwhile.
    let (status, _) = app.get("/api/v1/catalog").await;
    assert_eq!(status, 200);
    let _dir = app.stop().await;
}

/// An incident that names the commit that caused it is linked to the first
/// deployment that shipped the commit, however long before; the incident
/// page shows it and says the link is by sha.
#[tokio::test]
async fn an_incident_page_shows_a_sha_link_to_an_older_deployment() {
    let app = spawn_app().await;
    let events = json!([
        {"type":"change","repo":"acme/shop","sha":"aaaaaa1","committed_at":"2026-02-28T08:00:00Z"},
        {"type":"change","repo":"acme/shop","sha":"aaaaaa2","parents":["aaaaaa1"],"committed_at":"2026-03-19T08:00:00Z"},
        {"type":"deployment","id":"d-base","service":"checkout","environment":"production","finished_at":"2026-02-27T10:00:00Z","repo":"acme/shop","sha":"aaaaaa1","changes":[]},
        {"type":"deployment","id":"d-old","service":"checkout","environment":"production","finished_at":"2026-03-01T10:00:00Z","repo":"acme/shop","sha":"aaaaaa1"},
        {"type":"deployment","id":"d-new","service":"checkout","environment":"production","finished_at":"2026-03-20T10:00:00Z","repo":"acme/shop","sha":"aaaaaa2"},
        {"type":"incident","id":"inc-sha","service":"checkout","started_at":"2026-03-25T10:00:00Z","caused_by_sha":"aaaaaa1"},
        {"type":"incident","id":"inc-id","service":"checkout","started_at":"2026-03-25T11:00:00Z","caused_by":"d-old"}
    ]);
    assert_eq!(app.post("/hooks/events", events.to_string()).await.0, 200);
    let admin = app.tokens["admin"].clone();
    for (id, kind, deployment) in [
        ("inc-sha", "by-sha", "d-base"),
        ("inc-id", "by-id", "d-old"),
    ] {
        let path = format!("/services/checkout/incidents/{id}");
        let page = app.send(Some(&admin), "GET", &path, &[], None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let link = page
            .text
            .split("data-link=\"")
            .nth(1)
            .unwrap_or_else(|| panic!("{id}: no link paragraph"));
        assert!(link.starts_with(kind), "{id}: {link}");
        assert!(link.contains(deployment), "{id}: {link}");
    }
    let _dir = app.stop().await;
}
