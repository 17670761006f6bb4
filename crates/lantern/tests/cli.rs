//! The real binary, real SQLite files in a temp dir.

mod common;

use common::{Env, assert_said, stderr, stdout, texts, words};
use serde_json::Value;

const HISTORY: &str = r#"{"type":"change","repo":"acme/shop","sha":"1111111","committed_at":"2026-03-01T09:00:00Z","author":"alice@example.com"}
{"type":"change","repo":"acme/shop","sha":"2222222","parents":["1111111"],"committed_at":"2026-03-02T09:00:00Z","author":"Bob Builder"}
{"type":"deployment","id":"d1","service":"shop-api","environment":"production","finished_at":"2026-03-01T12:00:00Z","repo":"acme/shop","sha":"1111111"}
{"type":"deployment","id":"d2","service":"shop-api","environment":"production","finished_at":"2026-03-02T12:00:00Z","repo":"acme/shop","sha":"2222222"}
{"type":"incident","id":"i1","service":"shop-api","started_at":"2026-03-02T13:00:00Z","resolved_at":"2026-03-02T14:00:00Z","title":"Checkout errors"}
"#;

#[test]
fn import_reports_bad_lines_by_number_and_field_and_loads_the_rest() {
    let env = Env::new();
    let mut text = HISTORY.to_string();
    text.push_str("{\"type\":\"deployment\",\"id\":\"d3\",\"service\":\"shop-api\",\"environment\":\"production\",\"finished_at\":\"2026-03-03T12:00:00\"}\n");
    text.push_str("not json\n");
    let file = env.write("events.jsonl", &text);
    let out = env.run(&["import", "events", file.to_str().unwrap(), "-q"]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).starts_with("loaded 5, rejected 2"),
        "{}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("line 6: field `finished_at`"), "{err}");
    assert!(err.contains("offset"), "{err}");
    assert!(err.contains("line 7: not valid JSON"), "{err}");
    if env.postgres().is_none() {
        assert!(env.path("lantern.db").exists());
    }
    assert!(env.path("lantern.db.key").exists());
}

#[test]
fn re_importing_is_idempotent_and_stdin_works() {
    let env = Env::new();
    let file = env.write("events.jsonl", HISTORY);
    let args = words("report --service shop-api --from 2026-03-01 --to 2026-03-08 --format json");
    assert!(
        env.run(&["import", "events", file.to_str().unwrap()])
            .status
            .success()
    );
    let first = stdout(&env.run(&args));
    let again = env.run_with_stdin(&["import", "events", "-"], Some(HISTORY));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).starts_with("loaded 5, rejected 0"));
    assert_eq!(first, stdout(&env.run(&args)));
}

#[test]
fn the_json_report_has_exactly_the_shape_of_metrics_md() {
    let env = Env::new();
    let file = env.write("events.jsonl", HISTORY);
    env.run(&["--db", "x.db", "import", "events", file.to_str().unwrap()]);
    let out = env.run(&words(
        "--db x.db report --service shop-api --from 2026-03-01 --to 2026-03-08 --format json",
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = words(
        "scope window benchmark deployment_frequency lead_time change_failure_rate failed_deployment_recovery_time rework_rate time_to_restore time_to_detect deployment_success_rate pr_stages data_quality signals alert_quality review_quality findings",
    );
    let mut got = keys.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(r["scope"], serde_json::json!({"service": "shop-api"}));
    assert_eq!(
        r["window"],
        serde_json::json!({"from": "2026-03-01T00:00:00Z", "to": "2026-03-08T00:00:00Z"})
    );
    assert_eq!(r["lead_time"]["count"], 1);
    assert_eq!(r["lead_time"]["median_s"], 10800.0); // d1 is the baseline; d2 ships 2222222
    assert_eq!(r["change_failure_rate"]["by_cause"]["incident_inferred"], 1);
    for stage in ["coding", "pickup", "review", "deploy"] {
        let s = r["pr_stages"][stage].as_object().unwrap();
        assert_eq!(s.len(), 5, "{stage}");
    }
    // Governance rule 1: no person, pseudonym or free text leaks.
    let text = stdout(&out);
    assert!(!text.contains("alice") && !text.contains("Bob"), "{text}");
    assert!(!text.contains("Checkout errors"));
}

#[test]
fn teams_come_from_the_catalog_and_mistakes_are_explained() {
    let env = Env::new();
    let file = env.write("events.jsonl", HISTORY);
    env.run(&["import", "events", file.to_str().unwrap()]);
    env.write(
        "lantern.toml",
        "[[teams]]\nname = \"shop\"\nservices = [\"shop-api\"]\n",
    );
    let out = env.run(&words(
        "report --team shop --from 2026-03-01 --to 2026-03-08 --format json",
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["scope"], serde_json::json!({"team": "shop"}));
    assert_eq!(r["deployment_frequency"]["count"], 2);

    let out = env.run(&["report", "--team", "nope"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no team `nope`") && stderr(&out).contains("teams: shop"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&["report", "--from", "March"]);
    assert_said(&out, "--from");
    let out = env.run(&["report", "--from", "2026-03-08", "--to", "2026-03-01"]);
    assert_said(&out, "window is empty");
    let out = env.run(&["--db", "missing.db", "report"]);
    assert_said(&out, "no database");
    let out = env.run(&words(
        "report --service shop-ap --from 2026-03-01 --to 2026-03-08",
    ));
    assert_said(&out, "known services: shop-api");
    // An unknown service is a usage error, not a report of zeros rated low.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let out = env.run(&["report", "--team", "nope"]);
    assert_eq!(out.status.code(), Some(2), "an unknown team too");
}

#[test]
fn people_formats_fit_a_terminal_and_program_formats_parse() {
    let env = Env::new();
    let file = env.write("events.jsonl", HISTORY);
    env.run(&["import", "events", file.to_str().unwrap()]);
    let base = ["report", "--from", "2026-03-01", "--to", "2026-03-08"];
    let table = stdout(&env.run(&[&base[..], &["--bucket", "day"]].concat()));
    assert!(table.contains("Lead time for changes"), "{table}");
    assert!(table.contains("Data quality"), "{table}");
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    let md = stdout(&env.run(&[&base[..], &["--format", "markdown"]].concat()));
    assert!(
        md.contains("| Change failure rate | 50.0 % (1 of 2) | too few: 2 of 10 |"),
        "{md}"
    );
    let csv = stdout(&env.run(&[&base[..], &["--format", "csv", "--bucket", "week"]].concat()));
    assert!(csv.starts_with("from,to,metric,field,value\n"));
    assert!(
        csv.contains("2026-03-01T00:00:00Z,2026-03-08T00:00:00Z,lead_time,median_s,10800"),
        "{csv}"
    );
    assert!(csv.lines().all(|l| l.split(',').count() == 5));
    let too_many = env.run(&words(
        "report --from 1900-01-01 --to 2026-01-01 --bucket day",
    ));
    assert!(!too_many.status.success());
    assert_said(&too_many, "at most 10000");
    let json = stdout(&env.run(&[&base[..], &["--format", "json", "--bucket", "week"]].concat()));
    // Keys in the order metrics.md gives them, buckets last.
    let keys: Vec<usize> = [
        "\"scope\"",
        "\"window\"",
        "\"benchmark\"",
        "\"deployment_frequency\"",
        "\"data_quality\"",
        "\"buckets\"",
    ]
    .iter()
    .map(|k| json.find(k).unwrap_or_else(|| panic!("{k}")))
    .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    let r: Value = serde_json::from_str(&json).unwrap();
    // 2026-03-01 is a Sunday: one clipped day, then the week from Monday the 2nd.
    assert_eq!(r["buckets"].as_array().unwrap().len(), 2);
    assert_eq!(r["buckets"][1]["window"]["from"], "2026-03-02T00:00:00Z");
}

#[test]
fn compare_sets_a_window_beside_the_period_before_or_a_quarter_earlier() {
    let env = Env::new();
    let file = env.write("events.jsonl", HISTORY);
    env.run(&["import", "events", file.to_str().unwrap()]);
    // Both deployments fall in the week from 2026-03-01; the week before
    // had none.
    let base = ["report", "--from", "2026-03-01", "--to", "2026-03-08"];
    let json =
        stdout(&env.run(&[&base[..], &["--compare", "previous", "--format", "json"]].concat()));
    let r: Value = serde_json::from_str(&json).unwrap();
    let c = &r["compare"];
    assert_eq!(c["mode"], "previous");
    assert_eq!(c["window"]["from"], "2026-02-22T00:00:00Z");
    assert_eq!(c["window"]["to"], "2026-03-01T00:00:00Z");
    let df = &c["deployment_frequency.per_day"];
    assert_eq!(
        df["now"].as_f64().unwrap(),
        r["deployment_frequency"]["per_day"].as_f64().unwrap()
    );
    assert_eq!(df["then"].as_f64(), Some(0.0));
    assert!(df["relative"].is_null(), "then is 0: {df}");
    assert_eq!(c["lead_time.median_s"]["now"].as_f64(), Some(10800.0));
    assert!(c["lead_time.median_s"]["then"].is_null());
    assert!(c["lead_time.median_s"]["change"].is_null());
    // Now compared with itself a week later: the change is the week's.
    let later = [
        "report",
        "--from",
        "2026-03-08",
        "--to",
        "2026-03-15",
        "--compare",
        "previous",
        "--format",
        "json",
    ];
    let r: Value = serde_json::from_str(&stdout(&env.run(&later))).unwrap();
    let df = &r["compare"]["deployment_frequency.per_day"];
    assert_eq!(df["now"].as_f64(), Some(0.0));
    assert!(
        (df["then"].as_f64().unwrap() - 2.0 / 7.0).abs() < 1e-9,
        "{df}"
    );
    assert_eq!(df["relative"].as_f64(), Some(-1.0));
    let quarter =
        stdout(&env.run(&[&base[..], &["--compare", "quarter", "--format", "json"]].concat()));
    let r: Value = serde_json::from_str(&quarter).unwrap();
    assert_eq!(r["compare"]["window"]["from"], "2025-11-30T00:00:00Z");
    // For people: a heading and a line per figure.
    let table = stdout(&env.run(&later[..7]));
    assert!(
        table.contains(
            "Compared with 2026-03-01 to 2026-03-08 (exclusive), 7 UTC days (the period before)"
        ),
        "{table}"
    );
    assert!(
        table.contains("Deployment frequency: 0 a day, was 0.29 a day; −0.29 a day (−100 %)"),
        "{table}"
    );
    let csv = stdout(&env.run(&[&later[..7], &["--format", "csv"]].concat()));
    assert!(
        csv.contains("2026-03-01T00:00:00Z,2026-03-08T00:00:00Z,lead_time,median_s,10800"),
        "{csv}"
    );
    let wrong = env.run(&[&base[..], &["--compare", "yesterday"]].concat());
    assert_eq!(wrong.status.code(), Some(2));
}

#[test]
fn the_demo_is_deterministic_and_explorable() {
    // The demo writes a SQLite file, whatever the store under test.
    let env = Env::sqlite();
    let a = env.run(&["demo", "--no-serve", "--seed", "7", "--until", "2026-06-01"]);
    assert!(a.status.success(), "{}", stderr(&a));
    let b = env.run(&["demo", "--no-serve", "--seed", "7", "--until", "2026-06-01"]);
    assert_eq!(stdout(&a), stdout(&b));
    let text = stdout(&a);
    for team in ["core-ledger", "mobile", "payments", "search"] {
        assert!(text.contains(team), "{team}");
    }
    // Real durations (days and hours) still fit an 80-column terminal.
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    assert!(env.path("lantern-demo.db").exists() && env.path("lantern-demo.toml").exists());
    let out = env.run(&words("--db lantern-demo.db --config lantern-demo.toml report --team payments --from 2026-03-03 --to 2026-06-01 --format json"));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["deployment_frequency"]["band"], "elite");
    assert!(r["pr_stages"]["review"]["count"].as_u64().unwrap() > 50);
    let dump = std::fs::read(env.path("lantern-demo.db")).unwrap();
    assert!(
        !contains(&dump, b"payments-dev-"),
        "person names must never be stored"
    );
    // Every "Explore it" command works as printed (but `serve`, which runs
    // until stopped and is tested on its own).
    let explore = text
        .split("Explore it:")
        .nth(1)
        .unwrap()
        .replace("\\\n", " ");
    let commands: Vec<Vec<String>> = explore
        .lines()
        .filter_map(|l| l.trim().strip_prefix("lantern "))
        .map(shell_words)
        .collect();
    assert!(commands.len() >= 5, "{explore}");
    for words in commands
        .iter()
        .filter(|w| !w.contains(&"serve".to_string()))
    {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let out = env.run(&words);
        assert!(out.status.success(), "lantern {words:?}: {}", stderr(&out));
    }
}

/// A command line's words, as a shell splits them (double quotes only).
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn explain_lists_and_explains() {
    let env = Env::new();
    let list = stdout(&env.run(&["explain"]));
    assert!(list.contains("failed_deployment_recovery_time"));
    let one = stdout(&env.run(&["explain", "cfr"]));
    for heading in [
        "What it measures",
        "What it does not measure",
        "How it is commonly misread or gamed",
        "Exact definition",
    ] {
        assert!(one.contains(heading), "{heading}");
    }
    let json: Value = serde_json::from_str(&stdout(&env.run(&["explain", "--json"]))).unwrap();
    // The ten of metrics.md, the SLOs, their budget and the gate,
    // flow.md's five, health.md's load, pulse and strain, and panels.md's
    // four.
    assert_eq!(json.as_array().unwrap().len(), 25);
    for topic in [
        "slo",
        "budget",
        "gate",
        "pulse",
        "strain",
        "operational_load",
    ] {
        let out = env.run(&["explain", topic]);
        assert!(
            stdout(&out).contains("misread"),
            "{topic}: {}",
            stdout(&out)
        );
    }
    // panels.md: AI assistance is adoption, read beside stability.
    let ai = stdout(&env.run(&["explain", "ai_assist"]));
    // (Wrapped to the terminal: compared word by word.)
    let ai = ai.split_whitespace().collect::<Vec<_>>().join(" ");
    for words in [
        "AI assistance",
        "a low one good judgment",
        "change failure rate and rework rate",
        "Never rank teams",
    ] {
        assert!(ai.contains(words), "{words}: {ai}");
    }
    for alias in ["alerts", "review", "security", "copilot"] {
        assert!(env.run(&["explain", alias]).status.success(), "{alias}");
    }
    let bad = env.run(&["explain", "story_points"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("no metric `story_points`"));
}

#[test]
fn retention_run_keeps_old_figures_and_forgets_who_and_what() {
    let env = Env::new();
    let later = r#"{"type":"deployment","id":"d-2099","service":"shop-api","environment":"production","finished_at":"2099-01-01T12:00:00Z"}"#;
    let file = env.write("events.jsonl", &format!("{HISTORY}{later}\n"));
    // Measurements outlive this test's fixed dates for a century.
    env.write(
        "lantern.toml",
        "[governance]\naggregate_retention_days = 36500\n",
    );
    assert!(
        env.run(&["import", "events", file.to_str().unwrap(), "-q"])
            .status
            .success()
    );
    let report = words("report --service shop-api --from 2026-03-01 --to 2026-04-01 --format json");
    let before = stdout(&env.run(&report));
    assert!(before.contains("\"deployment_frequency\""), "{before}");

    let out = env.run(&["retention", "run", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run["deployments"], 2, "{run}");
    assert_eq!(run["changes"], 2);
    assert_eq!(run["incidents"], 1);
    assert_eq!(
        stdout(&env.run(&report)),
        before,
        "figures before the horizon are kept"
    );
    // Idempotent, and audit-logged each time.
    let again = env.run(&["retention", "run"]);
    assert!(
        stdout(&again).contains("Nothing is past its horizon"),
        "{}",
        stdout(&again)
    );
    let log: Value = serde_json::from_slice(&env.run(&["audit", "list", "--json"]).stdout).unwrap();
    let actions = texts(&log, "action");
    assert_eq!(actions.iter().filter(|a| **a == "retention.run").count(), 2);
    // The configuration in effect is recorded once, and again when it changes.
    let changes = |env: &Env| -> Vec<String> {
        let log: Value =
            serde_json::from_slice(&env.run(&["audit", "list", "--json"]).stdout).unwrap();
        log.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "configuration.change")
            .map(|e| e["outcome"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(changes(&env).len(), 1);
    env.write(
        "lantern.toml",
        "[governance]\naggregate_retention_days = 36500\nmin_group_size = 5\n",
    );
    assert!(env.run(&["retention", "run"]).status.success());
    let changed = changes(&env);
    assert_eq!(changed.len(), 2);
    assert!(changed[1].contains("min_group_size 5"), "{changed:?}");
    assert!(env.run(&["audit", "verify"]).status.success());

    // Nothing of the old events is left in the store: ids, shas, titles.
    let bytes = env.stored_bytes();
    let text = String::from_utf8_lossy(&bytes);
    // How a row's leading id column reads in the file, or as row text.
    let id_d1 = match env.postgres() {
        None => "\u{0}d1",
        Some(_) => "(d1,",
    };
    for gone in ["1111111", "2222222", "Checkout errors", id_d1, "acme/shop@"] {
        assert!(!text.contains(gone), "{gone:?} is still stored");
    }
    assert!(text.contains("d-2099"), "newer events stay");
}

#[test]
fn a_deployment_explains_itself_and_the_read_is_recorded() {
    let env = Env::new();
    let file = env.write("events.jsonl", HISTORY);
    let out = env.run(&["import", "events", file.to_str().unwrap(), "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&words("deployment show --service shop-api d2 --json"));
    assert!(out.status.success(), "{}", stderr(&out));
    let e: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(e["rule"], "graph");
    assert_eq!(e["since"], "d1");
    assert_eq!(e["changes"], 1);
    assert_eq!(e["latest_commit_at"], "2026-03-02T09:00:00Z");
    // The incident an hour later is linked by inference: d2 failed.
    assert_eq!(e["failed"], true);
    assert_eq!(e["failure"][0]["incident"]["link"], "inferred");
    assert_eq!(e["recovery_s"], 7200.0);
    // For people: the same, readable, and no person in either.
    let text = stdout(&env.run(&words("deployment show --service shop-api d2")));
    assert!(
        text.contains("what its sha reaches that d1 did not"),
        "{text}"
    );
    assert!(text.contains("incident i1 (linked inferred)"), "{text}");
    for shown in [&text, &e.to_string()] {
        assert!(
            !shown.contains("alice") && !shown.contains("Bob"),
            "{shown}"
        );
    }
    assert!(env.audit_actions().iter().any(|a| a == "deployment.show"));
    // An unknown deployment, or one of another service: a clear error.
    let out = env.run(&words("deployment show --service other d2"));
    assert!(!out.status.success());
    assert_said(&out, "no deployment `d2` of service `other`");
}

#[test]
fn slos_are_listed_from_the_catalog() {
    let env = Env::new();
    let out = env.run(&words("slo list"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("No SLOs"), "{}", stdout(&out));
    env.write(
        "lantern.toml",
        "[prometheus]\nurl = \"http://127.0.0.1:9090\"\n\
         [[teams]]\nname = \"shop\"\nservices = [\"shop-api\"]\n\
         [[slos]]\nname = \"shop-latency\"\nservice = \"shop-api\"\nobjective = 0.99\nwindow_days = 7\n\
         [[slos]]\nname = \"shop-availability\"\nservice = \"shop-api\"\nobjective = 0.999\n\
         description = \"Answers without a 5xx\"\n\
         [slos.prometheus]\ngood = 'sum(rate(ok[5m]))'\ntotal = 'sum(rate(all[5m]))'\n",
    );
    let table = stdout(&env.run(&words("slo list")));
    assert!(table.contains("shop-availability"), "{table}");
    assert!(table.contains("99.9%") && table.contains("28d"), "{table}");
    assert!(table.contains("Answers without a 5xx"), "{table}");
    let list: Value = serde_json::from_str(&stdout(&env.run(&words("slo list --json")))).unwrap();
    // By name; the window is 28 days unless said.
    assert_eq!(texts(&list, "name"), ["shop-availability", "shop-latency"]);
    assert_eq!(texts(&list, "counts_from"), ["prometheus", "events"]);
    assert_eq!(list[0]["window_days"], 28);
    assert_eq!(list[1]["objective"], 0.99);
    // An SLO of a service the catalog does not list stops the command.
    env.write(
        "lantern.toml",
        "[[slos]]\nname = \"x\"\nservice = \"ghost\"\nobjective = 0.99\n",
    );
    let refused = env.run(&words("slo list"));
    assert_said(&refused, "service `ghost` is not in the catalog");
    assert_eq!(refused.status.code(), Some(1));
}

/// An installation whose catalog has team shop, service shop-api and its
/// SLO shop-availability.
fn shop_with_an_slo(objective: f64) -> Env {
    let env = Env::new();
    env.write(
        "lantern.toml",
        &format!(
            "[[teams]]\nname = \"shop\"\nservices = [\"shop-api\"]\n\
             [[slos]]\nname = \"shop-availability\"\nservice = \"shop-api\"\nobjective = {objective}\n"
        ),
    );
    env
}

#[test]
fn slo_status_reads_the_counts_that_were_sent() {
    let env = shop_with_an_slo(0.99);
    // An hour of five-minute counts, 0.5 % bad; one line wrong.
    let mut lines: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"type":"sli","slo":"shop-availability","from":"2026-04-01T10:{:02}:00Z","to":"2026-04-01T10:{:02}:00Z","good":995,"total":1000}}"#,
                i * 5,
                i * 5 + 5
            )
            .replace("10:60", "11:00")
        })
        .collect();
    lines.push(r#"{"type":"sli","slo":"shop-availability","from":"2026-04-01T11:00:00Z","to":"2026-04-01T11:05:00Z","good":7,"total":5}"#.into());
    let file = env.write("counts.jsonl", &(lines.join("\n") + "\n"));
    let out = env.run(&["import", "events", file.to_str().unwrap()]);
    assert!(!out.status.success(), "one line was wrong");
    assert_said(&out, "line 13");
    assert_said(&out, "good");
    let json = |at: &str| -> Value {
        let out = env.run(&words(&format!(
            "slo status --service shop-api --at {at} --format json"
        )));
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    let s = &json("2026-04-01T11:00:00Z")[0];
    assert_eq!(
        (s["good"].as_u64(), s["total"].as_u64()),
        (Some(11_940), Some(12_000))
    );
    assert_eq!(s["sli"], 0.995);
    assert_eq!(s["status"], "ok");
    let left = s["budget_remaining"].as_f64().unwrap();
    assert!((left - 0.5).abs() < 1e-9, "{left}");
    assert_eq!(s["burn_rates"].as_object().unwrap().len(), 7);
    assert_eq!(json("2026-03-01")[0]["status"], "no_data");
    let table = stdout(&env.run(&words("slo status --at 2026-04-01T11:00:00Z")));
    assert!(
        table.contains("shop-availability") && table.contains("99.5%"),
        "{table}"
    );
}

#[test]
fn the_gate_answers_a_pipeline_with_its_exit_code() {
    let env = Env::new();
    let catalog = "[[teams]]\nname = \"shop\"\nservices = [\"shop-api\", \"cart\"]\n\
         [[slos]]\nname = \"shop-availability\"\nservice = \"shop-api\"\nobjective = 0.999\n";
    env.write("lantern.toml", catalog);
    // An hour at 2 % bad: the budget of 0.1 % is spent many times over.
    let lines: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"type":"sli","slo":"shop-availability","from":"2026-04-01T10:{:02}:00Z","to":"2026-04-01T10:{:02}:59.999Z","good":980,"total":1000}}"#,
                i * 5,
                i * 5 + 4
            )
        })
        .collect();
    let file = env.write("counts.jsonl", &(lines.join("\n") + "\n"));
    assert!(
        env.run(&["import", "events", file.to_str().unwrap()])
            .status
            .success()
    );
    let gate = |args: &str| env.run(&words(&format!("gate {args}")));
    let code = |args: &str| gate(args).status.code();
    // [gate] enforce is off until a team turns it on: a deny is a warn.
    let tried = gate("--service shop-api --at 2026-04-01T11:00:00Z");
    assert_eq!(tried.status.code(), Some(0));
    assert!(stdout(&tried).contains("would deny"), "{}", stdout(&tried));
    env.write(
        "lantern.toml",
        &format!("{catalog}[gate]\nenforce = true\n"),
    );
    assert_eq!(
        code("--service shop-api --at 2026-04-01T11:00:00Z"),
        Some(3)
    );
    assert_eq!(
        code("--service shop-api --at 2026-04-01T11:00:00Z --kind rollback"),
        Some(0)
    );
    // A service without an SLO is allowed; one the catalog lacks is an error.
    assert_eq!(code("--service cart"), Some(0));
    let unknown = gate("--service ghost");
    assert_eq!(unknown.status.code(), Some(2));
    assert_said(&unknown, "no service `ghost` in the catalog");
    // Long before any count: no data, which is never healthy: warn (or
    // deny with no_data = "deny").
    let json: Value =
        serde_json::from_slice(&gate("--service shop-api --at 2026-03-01 --json").stdout).unwrap();
    assert_eq!(json["decision"], "warn", "{json}");
    env.write(
        "lantern.toml",
        &format!("{catalog}[gate]\nenforce = true\nno_data = \"deny\"\n"),
    );
    assert_eq!(code("--service shop-api --at 2026-03-01"), Some(3));
    // Every answer is in the audit log (nothing about a person).
    let actions = env.audit_actions();
    assert_eq!(
        actions.iter().filter(|a| *a == "gate").count(),
        6,
        "{actions:?}"
    );
}

#[test]
fn a_service_report_shows_its_slos_and_the_burn_after_deployments() {
    let env = shop_with_an_slo(0.999);
    // Two deployments: after the first a clean hour, after the second an
    // hour at 2 % bad (a burn of 20, above 28 days' 6.72).
    let mut lines = vec![
        r#"{"type":"deployment","id":"d1","service":"shop-api","environment":"production","finished_at":"2026-04-01T08:00:00Z"}"#.to_string(),
        r#"{"type":"deployment","id":"d2","service":"shop-api","environment":"production","finished_at":"2026-04-01T10:00:00Z"}"#.to_string(),
    ];
    for hour in 8..11 {
        for i in 0..12 {
            let good = if hour == 10 { 980 } else { 1000 };
            lines.push(format!(
                r#"{{"type":"sli","slo":"shop-availability","from":"2026-04-01T{hour:02}:{:02}:00Z","to":"2026-04-01T{hour:02}:{:02}:59.999999Z","good":{good},"total":1000}}"#,
                i * 5,
                i * 5 + 4
            ));
        }
    }
    let file = env.write("events.jsonl", &(lines.join("\n") + "\n"));
    assert!(
        env.run(&["import", "events", file.to_str().unwrap()])
            .status
            .success()
    );
    let out = env.run(&words(
        "report --service shop-api --from 2026-04-01 --to 2026-04-02 --bucket day --format json",
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["slos"][0]["name"], "shop-availability", "{r}");
    assert_eq!(r["slos"][0]["total"], 36_000);
    let burn = &r["deployments_followed_by_burn"];
    assert_eq!(
        (&burn["deployments"], &burn["followed"], &burn["rate"]),
        (
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(0.5)
        ),
        "{burn}"
    );
    // The day's bucket: the SLI and burn rate over the bucket.
    let day = &r["buckets"][0]["slos"][0];
    let sli = day["sli"].as_f64().unwrap();
    assert!((sli - (1.0 - 240.0 / 36_000.0)).abs() < 1e-12, "{day}");
    let table = stdout(&env.run(&words(
        "report --service shop-api --from 2026-04-01 --to 2026-04-02",
    )));
    assert!(
        table.contains("SLOs at 2026-04-02") && table.contains("exhausted"),
        "{table}"
    );
    assert!(table.contains("followed by burn: 1 of 2"), "{table}");
    // The organisation's report has no SLOs.
    let org: Value = serde_json::from_str(&stdout(&env.run(&words(
        "report --from 2026-04-01 --to 2026-04-02 --format json",
    ))))
    .unwrap();
    assert!(org.get("slos").is_none(), "{org}");
}

#[test]
fn openslo_documents_become_catalog_slos_or_are_refused_whole() {
    let env = Env::new();
    let catalog = "[prometheus]\nurl = \"http://127.0.0.1:9090\"\n\
                   [[teams]]\nname = \"shop\"\nservices = [\"shop-api\"]\n";
    env.write("lantern.toml", catalog);
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/openslo/checkout-availability.yaml"
    );
    let out = env.run(&["slo", "import", fixture]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("imported 1 SLO"), "{}", stdout(&out));
    let list: Value = serde_json::from_str(&stdout(&env.run(&words("slo list --json")))).unwrap();
    assert_eq!(list[0]["name"], "shop-availability");
    assert_eq!(list[0]["window_days"], 28, "4w");
    assert_eq!(list[0]["objective"], 0.999);
    assert_eq!(list[0]["counts_from"], "prometheus");
    let after = std::fs::read_to_string(env.path("lantern.toml")).unwrap();
    // Refused whole, naming what is wrong; the catalog is left as it was.
    let yaml = std::fs::read_to_string(fixture).unwrap();
    for (changed, says) in [
        (yaml.clone(), "defined twice"),
        (
            yaml.replace(
                "budgetingMethod: Occurrences",
                "budgetingMethod: Timeslices",
            ),
            "spec.budgetingMethod `Timeslices`",
        ),
        (
            yaml.clone() + "  alertPolicies: []\n",
            "unknown field `alertPolicies`",
        ),
        (
            yaml.replace("isRolling: true", "isRolling: false"),
            "calendar windows",
        ),
        (
            yaml.replace("type: Prometheus", "type: Datadog"),
            "only Prometheus",
        ),
        (
            yaml.replace("service: shop-api", "service: ghost")
                .replace("name: shop-availability", "name: ghost-availability"),
            "not in the catalog",
        ),
    ] {
        let file = env.write("slo.yaml", &changed);
        let out = env.run(&["slo", "import", file.to_str().unwrap()]);
        assert!(!out.status.success(), "{says}");
        assert_said(&out, says);
        let now = std::fs::read_to_string(env.path("lantern.toml")).unwrap();
        assert_eq!(now, after, "{says}: nothing written");
    }
}

/// `lantern doctor` names every fault with its fix and exits 1 while there
/// is one; a clean scope exits 0. A service that deployed every few days
/// and then stopped is silent (F1); an incident no deployment explains is
/// unlinked (F2); a deployment that ended before it began is inverted (F3).
#[test]
fn doctor_lists_each_fault_with_its_fix_and_exits_1_while_there_is_one() {
    let env = Env::new();
    let mut lines = String::new();
    for day in 1..=9 {
        lines.push_str(&format!(
            "{{\"type\":\"deployment\",\"id\":\"q{day}\",\"service\":\"quiet\",\"environment\":\"production\",\"finished_at\":\"2026-01-{day:02}T10:00:00Z\"}}\n"
        ));
        lines.push_str(&format!(
            "{{\"type\":\"deployment\",\"id\":\"b{day}\",\"service\":\"busy\",\"environment\":\"production\",\"finished_at\":\"2026-03-{:02}T10:00:00Z\"}}\n",
            day * 3
        ));
    }
    lines.push_str(r#"{"type":"deployment","id":"odd","service":"busy","environment":"production","started_at":"2026-03-05T11:00:00Z","finished_at":"2026-03-05T10:00:00Z"}
{"type":"incident","id":"lost","service":"busy","started_at":"2026-03-20T09:00:00Z","resolved_at":"2026-03-20T10:00:00Z"}
{"type":"deployment","id":"c1","service":"calm","environment":"production","finished_at":"2026-03-10T10:00:00Z"}
"#);
    let file = env.write("events.jsonl", &lines);
    assert!(
        env.run(&["import", "events", file.to_str().unwrap(), "-q"])
            .status
            .success()
    );
    let window = ["--from", "2026-02-01", "--to", "2026-04-01"];
    let out = env.run(&[&["doctor"][..], &window].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "service quiet:\n  - quiet: deployment events may be missing since 2026-01-09T10:00:00Z"
        ),
        "{text}"
    );
    assert!(
        text.contains("1 incident is linked to no deployment"),
        "{text}"
    );
    assert!(
        text.contains("1 deployment or incident ends before it starts"),
        "{text}"
    );
    assert!(!text.contains("service calm:"), "{text}");

    let out = env.run(&[&["doctor", "--service", "calm", "--json"][..], &window].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["scopes"][0]["scope"], "service calm");
    assert_eq!(json["scopes"][0]["findings"], serde_json::json!([]));

    let out = env.run(&[&["doctor", "--service", "busy", "--json"][..], &window].concat());
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let checks: Vec<&str> = json["scopes"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    // Nothing at all was heard of it in February: a gap (F7).
    assert_eq!(checks, ["unlinked_incidents", "inverted_intervals", "gaps"]);

    let out = env.run(&["doctor", "--team", "nobody"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no team `nobody`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn experiments_and_team_health_at_the_command_line() {
    let env = Env::new();
    let file = env.write("events.jsonl", HISTORY);
    env.run(&["import", "events", file.to_str().unwrap()]);
    env.write(
        "lantern.toml",
        "[[teams]]\nname = \"shop\"\nservices = [\"shop-api\"]\ntimezone = \"Europe/Berlin\"\n",
    );
    // d1 on March 1 is the baseline day; d2 on March 2 the current one.
    let out = env.run(&words(
        "experiment add --team shop --constraint Batches --indicator deployment_frequency.count \
         --direction up --from 2026-03-02 --review 2026-03-03 --expect-dip lead_time.median_s --format json",
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let e: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (e["baseline"].as_f64(), e["current"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    assert_eq!(e["verdict"], "unchanged");
    assert_eq!(e["expect_dip"], serde_json::json!(["lead_time.median_s"]));
    let out = env.run(&words("experiment list --team shop"));
    assert!(
        stdout(&out).contains("experiment 1 · shop · Batches"),
        "{}",
        stdout(&out)
    );
    let out = env.run(&words("experiment end 1 --format json"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()["status"],
        "ended"
    );
    let out = env.run(&words("experiment end 1"));
    assert_said(&out, "has ended already");
    // Mistakes say what is wrong, and nothing is added.
    for (line, said) in [
        (
            "experiment add --team shop --constraint x --indicator mood --direction up --from 2026-03-02 --review 2026-03-03",
            "names nothing",
        ),
        (
            "experiment add --team shop --constraint x --indicator lead_time --direction up --from 2026-03-02 --review 2026-03-03",
            "group",
        ),
        (
            "experiment add --team shop --constraint x --indicator lead_time.median_s --direction up --from 2026-03-03 --review 2026-03-02",
            "review: after from",
        ),
        (
            "experiment add --team nope --constraint x --indicator lead_time.median_s --direction up --from 2026-03-02 --review 2026-03-03",
            "no team `nope`",
        ),
    ] {
        assert_said(&env.run(&words(line)), said);
    }
    let out = env.run(&words("experiment list --format json"));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&out))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let actions = env.audit_actions();
    assert!(
        actions.contains(&"experiment.create".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"experiment.end".to_string()),
        "{actions:?}"
    );

    // The incident of March 2, 14:00 in Berlin, is inside working time.
    let out = env.run(&words(
        "team-health --team shop --from 2026-03-01 --to 2026-03-08 --format json",
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let h: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(h["operational_load"]["incidents"], 1);
    assert_eq!(h["operational_load"]["out_of_hours"]["count"], 0);
    assert_eq!(h["operational_load"]["incident_hours"], 1.0);
    assert_eq!(h["strain"]["holds"], false);
    let out = env.run(&words(
        "team-health --team shop --from 2026-03-01 --to 2026-03-08",
    ));
    assert!(
        stdout(&out).contains("Strain is named only when both hold"),
        "{}",
        stdout(&out)
    );

    // A pulse round cannot close in the past, and a round's codes are
    // printed once as links.
    assert_said(
        &env.run(&words("pulse open --team shop --closes 2020-01-01")),
        "that time has passed",
    );
    let out = env.run(&words("pulse results --round 9"));
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown round: {}",
        stderr(&out)
    );
}

/// A webhook receiver on loopback for the CLI's posts: answers 200, or
/// 404 for `/gone`, and hands each (path, body) to the test.
fn webhook_receiver() -> (
    String,
    std::sync::mpsc::Receiver<(String, serde_json::Value)>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            reader.read_line(&mut first).unwrap();
            let path = first.split(' ').nth(1).unwrap_or("").to_string();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = if path == "/gone" {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            let _ = tx.send((path, serde_json::from_slice(&body).unwrap()));
        }
    });
    (base, rx)
}

#[test]
fn notify_tests_a_target_sends_a_digest_and_lists_how_each_went() {
    let env = Env::new();
    let (base, received) = webhook_receiver();
    env.write(
        "lantern.toml",
        &format!(
            "[[teams]]\nname = \"shop\"\nservices = [\"shop-api\"]\n\
             [[notify]]\nname = \"shop-chat\"\nformat = \"slack\"\nurl = \"{base}/hook\"\nteam = \"shop\"\n\
             [[notify]]\nname = \"old-hook\"\nformat = \"teams\"\nurl = \"{base}/gone\"\nteam = \"shop\"\n"
        ),
    );
    let out = env.run(&words("notify test --target shop-chat"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("sent: 1 delivered, 0 to be retried, 0 given up on"));
    let (path, body) = received
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(path, "/hook");
    assert_eq!(body["text"], "Lantern can reach `shop-chat`");

    let out = env.run(&words(
        "notify digest --target old-hook --week-ending 2026-03-02",
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("sent: 0 delivered, 0 to be retried, 1 given up on"));
    let (path, body) = received
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(path, "/gone");
    assert_eq!(
        body["attachments"][0]["content"]["body"][0]["text"],
        "shop: the week 2026-02-23 to 2026-03-01"
    );

    let out = env.run(&words("notify list --json"));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list["targets"][0]["url"], format!("{}/…", base));
    assert_eq!(list["messages"][0]["state"], "failed");
    assert_eq!(list["messages"][0]["last_error"], "refused: HTTP 404");
    assert_eq!(list["messages"][1]["state"], "delivered");
    let text = stdout(&env.run(&words("notify list")));
    assert!(text.contains("old-hook (teams, "), "{text}");
    assert!(
        !text.contains("/gone"),
        "an address is shown by its host only: {text}"
    );
    // The refusal is a fault doctor reports until it is a week old.
    let out = env.run(&words("doctor"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("The notify target `old-hook`: 1 message given up on this week (last error: refused: HTTP 404)"),
        "{}",
        stdout(&out)
    );
    let refused = env.run(&words("notify test --target nobody"));
    assert_eq!(refused.status.code(), Some(2), "not found, as elsewhere");
    assert_said(
        &refused,
        "no [[notify]] target `nobody`; targets: shop-chat, old-hook",
    );
    assert!(
        env.audit_actions()
            .iter()
            .filter(|a| a.starts_with("notify."))
            .count()
            >= 2
    );
}

/// An import larger than a batch (PostgreSQL writes each on two
/// connections at once, split by event id): an event's later version,
/// in the same batch or the next, replaces the earlier one, as it does
/// when only the final versions are imported.
#[test]
fn a_large_import_keeps_each_events_last_version() {
    let deployment = |i: u32, service: &str| {
        format!(
            r#"{{"type":"deployment","id":"d{i}","service":"{service}","environment":"production","finished_at":"2026-03-{:02}T12:00:00Z","repo":"acme/shop","sha":"{i:07x}"}}"#,
            1 + i % 28
        )
    };
    let change = |i: u32| {
        format!(
            r#"{{"type":"change","repo":"acme/shop","sha":"{i:07x}","committed_at":"2026-03-{:02}T09:00:00Z"}}"#,
            1 + i % 28
        )
    };
    let n = 15_000;
    let mut all = String::new();
    let mut last = String::new();
    for i in 0..n {
        all.push_str(&deployment(i, &format!("svc-{}", i % 7)));
        all.push('\n');
    }
    // One more than the deployments: no simple alternation puts an
    // event's two versions on the same side by chance.
    for i in 0..=n {
        all.push_str(&change(i));
        all.push('\n');
        last.push_str(&change(i));
        last.push('\n');
    }
    for i in 0..n {
        all.push_str(&deployment(i, "moved"));
        all.push('\n');
        last.push_str(&deployment(i, "moved"));
        last.push('\n');
    }
    let args = words("report --from 2026-03-01 --to 2026-03-29 --format json");
    let report = |text: &str| {
        let env = Env::new();
        let file = env.write("events.jsonl", text);
        let out = env.run(&["import", "events", file.to_str().unwrap(), "-q"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let report: Value = serde_json::from_str(&stdout(&env.run(&args))).unwrap();
        // Refused, naming the services there are.
        let services = stderr(&env.run(&words("report --service nothing")));
        (report, services)
    };
    let (everything, services) = report(&all);
    assert_eq!(everything["deployment_frequency"]["count"], n);
    assert!(services.contains("known services: moved\n"), "{services}");
    assert_eq!((everything, services), report(&last));
}
