//! Governance from the command line, as an operator uses it: tokens and
//! the access review, annotations and disputes beside reports, sampled
//! review detail.

mod common;

use common::{Env, assert_said, stderr, stdout, texts, words};
use serde_json::Value;

const CATALOG: &str = r#"[[teams]]
name = "payments"
services = ["checkout"]
"#;

fn json(env: &Env, args: &[&str]) -> Value {
    let out = env.run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn tokens_are_shown_once_stored_as_hashes_reviewed_and_revoked() {
    let env = Env::new();
    env.write("lantern.toml", CATALOG);
    let created = json(
        &env,
        &[
            "token",
            "create",
            "--role",
            "team_member",
            "--team",
            "payments",
            "--purpose",
            "incident reviews for payments",
            "--json",
        ],
    );
    let token = created["token"].as_str().unwrap().to_string();
    let id = created["grant"]["id"].as_str().unwrap().to_string();
    assert!(token.starts_with(&format!("lantern_{id}_")));
    assert_eq!(
        token.len(),
        "lantern_".len() + 12 + 1 + 64,
        "256-bit secret"
    );
    assert_eq!(created["grant"]["expires_at"].as_str().unwrap().len(), 27);

    // Mistakes are refused with the reason.
    for (args, why) in [
        (
            vec![
                "--role",
                "team_member",
                "--team",
                "nope",
                "--purpose",
                "x y",
            ],
            "nope",
        ),
        (
            vec![
                "--role",
                "org_viewer",
                "--purpose",
                "a long enough purpose",
                "--days",
                "400",
            ],
            "366",
        ),
        (
            vec!["--role", "reviewer", "--purpose", "a long enough purpose"],
            "team",
        ),
        (
            vec!["--role", "ingest", "--purpose", "a long enough purpose"],
            "source",
        ),
        (
            vec!["--role", "owner", "--purpose", "a long enough purpose"],
            "owner",
        ),
        (vec!["--role", "admin", "--purpose", " "], "purpose"),
    ] {
        let mut all = vec!["token", "create"];
        all.extend(args);
        let out = env.run(&all);
        assert!(!out.status.success(), "{all:?}");
        assert!(stderr(&out).contains(why), "{all:?}: {}", stderr(&out));
    }

    // Listed without its secret; the file keeps only a hash.
    let list = env.run(&["token", "list", "--json"]);
    let text = stdout(&list);
    assert!(!text.contains(&token[21..]), "the secret is shown once");
    let grants: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(grants.as_array().unwrap().len(), 1);
    assert_eq!(grants[0]["status"], "active");
    let stored = env.stored_bytes();
    assert!(!stored.windows(64).any(|w| w == &token.as_bytes()[21..]));

    let review = json(&env, &["access", "review", "--json"]);
    let grant = &review.as_array().unwrap()[0];
    assert_eq!(grant["purpose"], "incident reviews for payments");
    assert_eq!(grant["teams"], serde_json::json!(["payments"]));
    assert!(grant["last_used_at"].is_null());

    assert!(env.run(&["token", "revoke", &id]).status.success());
    let again = env.run(&["token", "revoke", &id]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("no active token"));
    assert_eq!(
        json(&env, &["token", "list", "--json"])[0]["status"],
        "revoked"
    );

    let actions = env.audit_actions();
    assert_eq!(actions, ["token.create", "access.review", "token.revoke"]);
    let since = json(&env, &["audit", "list", "--since", "2999-01-01", "--json"]);
    assert_eq!(since, serde_json::json!([]));
    assert!(stdout(&env.run(&["audit", "verify"])).contains("intact: 3 entries"));
}

const HISTORY: &str = r#"{"type":"change","repo":"acme/shop","sha":"1111111","committed_at":"2026-03-01T09:00:00Z","author":"ana"}
{"type":"deployment","id":"d1","service":"checkout","environment":"production","finished_at":"2026-03-01T12:00:00Z","repo":"acme/shop","sha":"1111111"}
"#;

#[test]
fn annotations_and_disputes_stand_beside_the_figures_they_touch() {
    let env = Env::new();
    env.write("lantern.toml", CATALOG);
    let file = env.write("events.jsonl", HISTORY);
    assert!(
        env.run(&["import", "events", file.to_str().unwrap(), "-q"])
            .status
            .success()
    );
    let add = env.run(&[
        "annotation",
        "add",
        "--kind",
        "freeze",
        "--team",
        "payments",
        "--from",
        "2026-03-10",
        "--to",
        "2026-03-17",
        "--title",
        "end-of-quarter freeze",
    ]);
    assert!(add.status.success(), "{}", stderr(&add));
    let bad = env.run(&words(
        "annotation add --kind party --org --from 2026-03-10 --title x",
    ));
    assert_said(&bad, "kind: one of freeze");
    let opened = env.run(&[
        "dispute",
        "open",
        "--metric",
        "lead_time",
        "--service",
        "checkout",
        "--from",
        "2026-03-01",
        "--to",
        "2026-04-01",
        "--context",
        "one commit is not our usual flow",
    ]);
    assert!(opened.status.success(), "{}", stderr(&opened));
    let disputes = json(&env, &["dispute", "list", "--json"]);
    let id = disputes[0]["id"].as_str().unwrap().to_string();
    assert_eq!(disputes[0]["status"], "open");

    let report = words("report --team payments --from 2026-03-01 --to 2026-04-01");
    let mut as_json = report.to_vec();
    as_json.extend(["--format", "json"]);
    let doc = json(&env, &as_json);
    assert_eq!(texts(&doc["annotations"], "kind"), ["dispute", "freeze"]);
    let table = stdout(&env.run(&report));
    assert!(table.contains("end-of-quarter freeze"), "{table}");
    assert!(table.contains("open dispute of lead_time"), "{table}");
    // Not beside other windows.
    let april = json(
        &env,
        &words("report --team payments --from 2026-05-01 --to 2026-06-01 --format json"),
    );
    assert!(april.get("annotations").is_none());

    let resolved = env.run(&[
        "dispute",
        "resolve",
        &id,
        "--note",
        "agreed, noted as a one-off",
    ]);
    assert!(resolved.status.success(), "{}", stderr(&resolved));
    let twice = env.run(&["dispute", "resolve", &id, "--note", "again"]);
    assert!(!twice.status.success());
    let table = stdout(&env.run(&report));
    assert!(
        table.contains("resolved: agreed, noted as a one-off"),
        "{table}"
    );
    let listed = json(
        &env,
        &words("annotation list --from 2026-03-01 --to 2026-04-01 --json"),
    );
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let actions = env.audit_actions();
    assert_eq!(
        actions,
        [
            "annotation.create",
            "dispute.open",
            "report.export",
            "report.export",
            "dispute.resolve"
        ],
        "JSON reports are exports, recorded too"
    );
}

#[test]
fn review_detail_is_sampled_by_pull_request_and_critical_repos_stay_whole() {
    let env = Env::new();
    env.write(
        "lantern.toml",
        &format!(
            "{CATALOG}\n[governance]\nreview_sample_rate = 0.5\n\n[[repos]]\nname = \"acme/vault\"\ncritical = true\n"
        ),
    );
    let mut lines = String::new();
    for repo in ["acme/shop", "acme/vault"] {
        for n in 0..40 {
            lines.push_str(&format!(
                r#"{{"type":"pull_request","id":"{repo}#{n}","repo":"{repo}","opened_at":"2026-03-02T09:00:00Z","first_review_at":"2026-03-02T10:00:00Z","approved_at":"2026-03-02T11:00:00Z","merged_at":"2026-03-02T12:00:00Z"}}"#
            ));
            lines.push('\n');
        }
    }
    let file = env.write("prs.jsonl", &lines);
    let reviewed = |env: &Env| -> Vec<(String, bool)> {
        env.query_text_flag("SELECT id, first_review_at IS NOT NULL AND approved_at IS NOT NULL FROM pull_requests ORDER BY id")
    };
    assert!(
        env.run(&["import", "events", file.to_str().unwrap(), "-q"])
            .status
            .success()
    );
    let first = reviewed(&env);
    let kept = |repo: &str| {
        first
            .iter()
            .filter(|(id, k)| id.starts_with(repo) && *k)
            .count()
    };
    assert_eq!(
        kept("acme/vault"),
        40,
        "critical repositories are kept whole"
    );
    assert!(
        (10..=30).contains(&kept("acme/shop")),
        "{} of 40",
        kept("acme/shop")
    );
    // A re-sent pull request is sampled the same way.
    assert!(
        env.run(&["import", "events", file.to_str().unwrap(), "-q"])
            .status
            .success()
    );
    assert_eq!(reviewed(&env), first);

    let doc = json(
        &env,
        &words("report --from 2026-03-01 --to 2026-04-01 --format json"),
    );
    assert_eq!(doc["pr_stages"]["review_sample_rate"], 0.5, "{doc}");
}
