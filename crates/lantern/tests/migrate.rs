//! `lantern migrate` as an operator runs it: a SQLite installation with
//! history (part of it already purged by retention), a token and an
//! annotation moved into a fresh PostgreSQL database, then used there with
//! the same key: the same reports, the same token, an intact audit chain
//! that goes on.
//!
//! Needs `LANTERN_TEST_POSTGRES`; without it the test says it was skipped.

mod common;

use common::{Env, assert_said, stderr, stdout, words};

#[test]
fn a_sqlite_installation_moves_into_postgresql_whole() {
    let Some(db) = lantern_store::testing::database("migrate") else {
        return;
    };
    let env = Env::new();
    let sqlite = ["--db", "lantern-demo.db", "--config", "lantern-demo.toml"];
    let out = env.run(&["demo", "--no-serve", "--until", "2026-06-01"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = |args: &[&str], on: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(on);
        let out = env.run(&all);
        assert!(out.status.success(), "{all:?}: {}", stderr(&out));
        stdout(&out)
    };
    let token = run(
        &[
            "token",
            "create",
            "--role",
            "org_viewer",
            "--purpose",
            "reviewing the move",
        ],
        &sqlite,
    );
    run(
        &[
            "annotation",
            "add",
            "--kind",
            "migration",
            "--service",
            "checkout",
            "--from",
            "2026-05-01",
            "--title",
            "moved to PostgreSQL",
        ],
        &sqlite,
    );

    // Retention has purged the history before mid-April 2026: what is
    // kept of it must move too.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mid_april_2026 = 1_776_211_200;
    let days = now.saturating_sub(mid_april_2026) / 86_400;
    let mut config = std::fs::read_to_string(env.path("lantern-demo.toml")).unwrap();
    config.push_str(&format!(
        "\n[governance]\nraw_retention_days = {days}\naggregate_retention_days = 36500\n"
    ));
    env.write("lantern-demo.toml", &config);
    let purged = run(&["retention", "run", "--json"], &sqlite);
    let purged: serde_json::Value = serde_json::from_str(&purged).unwrap();
    assert!(purged["deployments"].as_u64().unwrap() > 100, "{purged}");

    // Refused: not a PostgreSQL address; a missing file.
    let out = env.run(&words(
        "migrate --from sqlite:lantern-demo.db --to other.db",
    ));
    assert!(!out.status.success());
    assert_said(&out, "--to must be a PostgreSQL address");
    let out = env.run(&["migrate", "--from", "nothing.db", "--to", &db.url]);
    assert_said(&out, "no database at nothing.db");

    let moved = run(
        &[
            "migrate",
            "--quiet",
            "--from",
            "sqlite:lantern-demo.db",
            "--to",
            &db.url,
            "--config",
            "lantern-demo.toml",
        ],
        &[],
    );
    assert!(moved.contains("reports equal on both stores"), "{moved}");
    assert!(moved.contains("--key-file lantern-demo.db.key"), "{moved}");

    // A second move into the same database is refused, nothing doubled.
    let out = env.run(&["migrate", "--from", "lantern-demo.db", "--to", &db.url]);
    assert!(!out.status.success());
    assert_said(&out, "already holds data");

    let postgres = [
        "--db",
        db.url.as_str(),
        "--key-file",
        "lantern-demo.db.key",
        "--config",
        "lantern-demo.toml",
    ];
    for scope in [&[][..], &["--team", "payments"], &["--service", "checkout"]] {
        let mut args = words("report --format json --from 2026-01-01 --to 2026-06-01");
        args.extend_from_slice(scope);
        assert_eq!(run(&args, &postgres), run(&args, &sqlite), "{scope:?}");
    }
    // The work items moved too (flow.md), with their states.
    let flow = words("flow --format json --from 2026-03-01 --to 2026-06-01");
    let moved_flow = run(&flow, &postgres);
    assert!(moved_flow.contains("\"count\": "), "{moved_flow}");
    assert_eq!(moved_flow, run(&flow, &sqlite));
    // Another key would split every person in two: refused, not created.
    let out = env.run(&["report", "--db", &db.url, "--key-file", "new.key"]);
    assert!(!out.status.success());
    assert_said(&out, "already holds events");
    assert!(!env.path("new.key").exists());
    // The token made on SQLite is the same grant on PostgreSQL.
    let id = token
        .trim()
        .split('_')
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let grants = run(&["token", "list", "--json"], &postgres);
    assert!(!id.is_empty() && grants.contains(&id), "{id} in {grants}");
    // The chain moved whole and goes on from where it was.
    run(
        &[
            "annotation",
            "add",
            "--kind",
            "freeze",
            "--org",
            "--from",
            "2026-05-20",
            "--title",
            "after the move",
        ],
        &postgres,
    );
    let verified = run(&["audit", "verify"], &postgres);
    assert!(verified.contains("intact"), "{verified}");
    let log = run(&["audit", "list", "--json"], &postgres);
    assert!(
        log.contains("annotation.create") && log.contains("token.create"),
        "{log}"
    );
}

/// A store retention never purged moves too: SQLite's facts and tallies
/// stay behind with the settings they were derived with, and PostgreSQL
/// derives its own (copied, those settings made PostgreSQL report no lead
/// time, and `migrate` refused its own result).
#[test]
fn an_installation_never_purged_moves_with_the_same_reports() {
    let Some(db) = lantern_store::testing::database("migrate_unpurged") else {
        return;
    };
    let env = Env::new();
    let out = env.run(&["demo", "--no-serve", "--until", "2026-06-01"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = env.run(&[
        "migrate",
        "--quiet",
        "--from",
        "lantern-demo.db",
        "--to",
        &db.url,
        "--config",
        "lantern-demo.toml",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = |on: &str, extra: &[&str]| {
        let mut args = words("report --format json --from 2026-01-01 --to 2026-06-01");
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "--db",
            on,
            "--key-file",
            "lantern-demo.db.key",
            "--config",
            "lantern-demo.toml",
        ]);
        let out = env.run(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    // Whole days: the organisation's report adds kept tallies on both.
    for scope in [&[][..], &["--bucket", "week"], &["--service", "checkout"]] {
        let moved = report(&db.url, scope);
        assert_eq!(moved, report("lantern-demo.db", scope), "{scope:?}");
    }
    let org: serde_json::Value = serde_json::from_str(&report(&db.url, &[])).unwrap();
    assert!(org["lead_time"]["count"].as_u64() > Some(0), "{org}");
}
