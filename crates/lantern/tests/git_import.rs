//! `lantern import git` as a user runs it: the real binary on real
//! repositories, its report checked against figures computed independently
//! from `git tag` and `git log` output.

#[path = "../../lantern-git/tests/common/mod.rs"]
mod common;
// The binary in a temp dir, on the store the run asks for (either).
#[path = "common/mod.rs"]
mod binary;

use binary::{Env, words};
use common::*;
use serde_json::Value;
use std::process::Output;

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "lantern failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Deterministic choices without a dependency.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A history of direct commits, merged feature branches (some merging
/// main back in first), release tags (annotated and lightweight), hotfix
/// tags, and maintenance lines: a fix on a branch from a release, tagged
/// later (sometimes after a newer release, sometimes in the same second as
/// one) and merged up into main (sometimes before the newer release).
fn random_history(r: &mut TestRepo, seed: u64) {
    let mut rng = Lcg(seed);
    r.at(T0).commit("Initial commit");
    r.at(T0 + 600).tag("v1.0.0");
    let mut minor = 0;
    let mut last_tag_at = T0 + 600;
    // A maintenance line waiting for its tag and its merge-up.
    let mut maintenance: Option<String> = None;
    for step in 0..40 {
        let now = r.now + 600 + rng.below(20_000) as i64;
        r.at(now);
        match rng.below(3) {
            0 => {
                r.commit(&format!("Direct change {step}"));
            }
            _ => {
                let branch = format!("topic-{step}");
                r.git(&["checkout", "-q", "-b", &branch]);
                for i in 0..1 + rng.below(3) {
                    let t = r.now + 300 + rng.below(5000) as i64;
                    r.at(t).commit(&format!("Work {step}.{i}"));
                }
                if rng.below(4) == 0 {
                    let t = r.now + 60;
                    r.at(t).git(&[
                        "merge",
                        "-q",
                        "--no-ff",
                        "main",
                        "-m",
                        "Merge branch 'main' into topic",
                    ]);
                }
                r.git(&["checkout", "-q", "main"]);
                let t = r.now + 600 + rng.below(9000) as i64;
                r.at(t).merge(
                    &branch,
                    &format!("Merge pull request #{step} from acme/{branch}"),
                );
            }
        }
        if let Some(branch) = maintenance.clone()
            && rng.below(2) == 0
        {
            // Merged up into main, then (or before, or never) tagged.
            let t = r.now + 300;
            r.at(t).merge(&branch, &format!("Merge branch '{branch}'"));
            if rng.below(2) == 0 {
                maintenance = None;
                tag_maintenance(r, &branch, last_tag_at, &mut rng);
            }
        }
        if rng.below(4) == 0 {
            minor += 1;
            let t = r.now + 60 + rng.below(3600) as i64;
            r.at(t);
            last_tag_at = t;
            if rng.below(2) == 0 {
                r.annotated_tag(&format!("v1.{minor}.0"));
            } else {
                r.tag(&format!("v1.{minor}.0"));
            }
            if rng.below(3) == 0 {
                let t = r.now + 1800;
                r.at(t).commit(&format!("Urgent fix {minor}"));
                let t = r.now + 900;
                r.at(t).annotated_tag(&format!("v1.{minor}.0-hotfix1"));
                last_tag_at = t;
            }
            // A pending maintenance line is tagged after this newer release.
            if let Some(branch) = maintenance.take() {
                tag_maintenance(r, &branch, last_tag_at, &mut rng);
            }
            if rng.below(2) == 0 {
                let branch = format!("maint-{minor}");
                r.git(&["checkout", "-q", "-b", &branch]);
                let t = r.now + 120;
                r.at(t).commit(&format!("Backport to 1.{minor}"));
                r.git(&["checkout", "-q", "main"]);
                maintenance = Some(branch);
            }
        }
    }
}

/// Tags a maintenance line's head (`vX.Y.0-maintN`, not a semver patch),
/// now or in the very second of the last release tag.
fn tag_maintenance(r: &mut TestRepo, branch: &str, last_tag_at: i64, rng: &mut Lcg) {
    r.git(&["checkout", "-q", branch]);
    let t = match rng.below(3) {
        0 => last_tag_at,
        _ => r.now + 60 + rng.below(600) as i64,
    };
    let now = r.now;
    r.at(t)
        .annotated_tag(&format!("v1.{}.0-maint1", &branch["maint-".len()..]));
    r.at(now.max(t));
    r.git(&["checkout", "-q", "main"]);
}

/// metrics.md's percentile: linear interpolation between closest ranks.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let r = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (r - lo as f64)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn the_report_of_a_git_import_agrees_with_git_log() {
    for seed in [1, 2, 3] {
        let mut r = TestRepo::new();
        random_history(&mut r, seed);
        let work = Env::new();
        let path = r.path().display().to_string();
        let out = ok(work.run(&["import", "git", &path, "--service", "shop", "-q"]));
        assert!(out.contains("for shop:"), "{out}");
        let json: Value = serde_json::from_str(&ok(work.run(&words(
            "report --service shop --from 2025-12-01 --to 2026-12-01 --format json",
        ))))
        .unwrap();

        // The same figures from git's own output, read as metrics.md says:
        // deployments in time order (ties by id: the same prefix, then the
        // tag's name), each shipping what no earlier deployment reached.
        let mut tags: Vec<(i64, String)> = r
            .git(&[
                "for-each-ref",
                "--format=%(refname:short) %(creatordate:unix)",
                "refs/tags/v*",
            ])
            .lines()
            .map(|l| {
                let (name, t) = l.split_once(' ').unwrap();
                (t.parse().unwrap(), name.to_string())
            })
            .collect();
        tags.sort_by(|a, b| (a.0, a.1.as_bytes()).cmp(&(b.0, b.1.as_bytes())));
        let times: std::collections::HashMap<String, i64> =
            tags.iter().map(|(t, n)| (n.clone(), *t)).collect();
        let tags: Vec<String> = tags.into_iter().map(|(_, n)| n).collect();
        assert!(
            tags.iter().any(|t| t.contains("maint")),
            "seed {seed} should exercise maintenance lines"
        );
        let (mut lead_times, mut negative) = (Vec::new(), 0);
        for (i, tag) in tags.iter().enumerate().skip(1) {
            let mut args = vec!["log", "--format=%ct", tag.as_str(), "--not"];
            args.extend(tags[..i].iter().map(String::as_str));
            for line in r.git(&args).lines() {
                let committed: i64 = line.parse().unwrap();
                // A tag dated before its commit: left out and counted.
                match times[tag] - committed {
                    v if v < 0 => negative += 1,
                    v => lead_times.push(v as f64),
                }
            }
        }
        assert_eq!(
            json["data_quality"]["negative_lead_times"], negative,
            "seed {seed}"
        );
        lead_times.sort_by(f64::total_cmp);
        let is_hotfix = |t: &str| t.contains("hotfix");
        let hotfixes = tags.iter().filter(|t| is_hotfix(t)).count() as u64;
        // A deployment fails when the next one is a hotfix.
        let failed = tags.windows(2).filter(|w| is_hotfix(&w[1])).count() as u64;

        let lt = &json["lead_time"];
        assert_eq!(
            lt["count"].as_u64().unwrap(),
            lead_times.len() as u64,
            "seed {seed}"
        );
        let mean = lead_times.iter().sum::<f64>() / lead_times.len() as f64;
        for (key, want) in [
            ("median_s", percentile(&lead_times, 0.5)),
            ("p90_s", percentile(&lead_times, 0.9)),
            ("mean_s", mean),
        ] {
            let got = lt[key].as_f64().unwrap();
            assert!(close(got, want), "seed {seed}: {key} {got} != {want}");
        }
        assert_eq!(
            json["deployment_frequency"]["count"].as_u64().unwrap(),
            tags.len() as u64
        );
        assert_eq!(
            json["change_failure_rate"]["failed"].as_u64().unwrap(),
            failed
        );
        assert_eq!(
            json["change_failure_rate"]["by_cause"]["hotfix"]
                .as_u64()
                .unwrap(),
            failed
        );
        assert_eq!(json["rework_rate"]["rework"].as_u64().unwrap(), hotfixes);
        assert!(hotfixes > 0, "seed {seed} should exercise hotfixes");
        let merged = r.git(&["log", "--merges", "--first-parent", "--format=%s", "main"]);
        let prs = merged
            .lines()
            .filter(|s| s.starts_with("Merge pull request"))
            .count();
        assert!(prs > 0);
        assert_eq!(
            json["pr_stages"]["deploy"]["count"].as_u64().unwrap() as usize,
            {
                // Every merged pull request that some tag shipped.
                let mut shipped = std::collections::BTreeSet::new();
                for tag in &tags {
                    let log = r.git(&["log", "--merges", "--format=%s", tag]);
                    shipped.extend(
                        log.lines()
                            .filter(|s| s.starts_with("Merge pull request"))
                            .map(str::to_string),
                    );
                }
                shipped.len()
            }
        );
        let notes = json["heuristics"]
            .as_array()
            .expect("git figures are marked");
        assert!(notes[0].as_str().unwrap().contains("tags matching `v*`"));
    }
}

#[test]
fn re_running_is_idempotent_and_errors_are_clear() {
    let mut r = TestRepo::new();
    r.at(T0).commit("one");
    r.at(T0 + HOUR).tag("v1.0.0");
    r.at(T0 + DAY).commit("two");
    r.at(T0 + DAY + HOUR).tag("v1.1.0");
    let work = Env::new();
    let path = r.path().display().to_string();
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            "git",
            path.as_str(),
            "--service",
            "shop",
            "-q",
            "--json",
        ];
        args.extend_from_slice(extra);
        let v: Value = serde_json::from_str(&ok(work.run(&args))).unwrap();
        v
    };
    let first = import(&[]);
    assert_eq!(first["commits"], 2);
    assert_eq!(first["deployments"], 2);
    let again = import(&[]);
    assert_eq!(again["up_to_date"], true);
    assert_eq!(again["commits"], 0);
    let report = |args: &[&str]| ok(work.run(args));
    let january = |format: &str| {
        report(&[
            "report",
            "--service",
            "shop",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
            "--format",
            format,
        ])
    };
    let before = january("json");
    r.at(T0 + 2 * DAY).commit("three");
    r.at(T0 + 2 * DAY + HOUR).tag("v1.2.0");
    let third = import(&[]);
    assert_eq!(
        (third["commits"].as_u64(), third["deployments"].as_u64()),
        (Some(1), Some(1))
    );
    let after = january("json");
    assert_ne!(before, after);
    let v: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(v["deployment_frequency"]["count"], 3);
    assert_eq!(v["lead_time"]["count"], 2);
    let table = january("table");
    assert!(table.contains("From heuristics"), "{table}");
    // Another service's report carries no git note.
    let billing = work.write(
        "billing.jsonl",
        r#"{"type":"deployment","id":"b1","service":"billing","environment":"production","finished_at":"2026-01-10T10:00:00Z"}"#,
    );
    report(&["import", "events", billing.to_str().unwrap()]);
    let other = report(&words(
        "report --service billing --from 2026-01-01 --to 2026-02-01 --format json",
    ));
    assert!(!other.contains("heuristics"));

    let import_with = |rule: &str| {
        let args = [
            "import",
            "git",
            &path,
            "--service",
            "shop",
            "--deploys",
            rule,
        ];
        work.run(&args)
    };
    let o = work.run(&["import", "git", "/no/such/repo", "--service", "shop"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a git repository"));
    let o = import_with("tags:release-*");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no tag matches `release-*`") && err.contains("v1.0.0"),
        "{err}"
    );
    let o = import_with("branch:main");
    assert!(String::from_utf8_lossy(&o.stderr).contains("first-parent:BRANCH"));
    let explain = ok(work.run(&["explain", "git-mode"]));
    assert!(explain.contains("This reverts commit"));
}

#[test]
fn two_repositories_feed_one_service_and_gitlab_merge_requests_count() {
    let mut api = TestRepo::new();
    api.at(T0).commit("api: start");
    api.at(T0 + HOUR).tag("v1.0.0");
    api.at(T0 + DAY).git(&["checkout", "-q", "-b", "fix-1"]);
    api.commit("api: fix");
    api.git(&["checkout", "-q", "main"]);
    api.at(T0 + 2 * DAY).merge(
        "fix-1",
        "Merge branch 'fix-1' into 'main'\n\nFix it\n\nSee merge request acme/api!45",
    );
    // Annotated: deployed at the tagger's time, an hour after the merge.
    api.at(T0 + 2 * DAY + HOUR).annotated_tag("v1.1.0");
    let mut web = TestRepo::new();
    web.at(T0 + 3 * HOUR).commit("web: start");
    web.at(T0 + 4 * HOUR).tag("release-1");
    web.at(T0 + 3 * DAY).commit("web: change");
    web.at(T0 + 3 * DAY + HOUR).tag("release-2");

    let work = Env::new();
    let (a, w) = (
        api.path().display().to_string(),
        web.path().display().to_string(),
    );
    ok(work.run(&[
        "import",
        "git",
        &a,
        "--service",
        "shop",
        "--repo",
        "acme/api",
        "-q",
    ]));
    ok(work.run(&[
        "import",
        "git",
        &w,
        "--service",
        "shop",
        "--repo",
        "acme/web",
        "--deploys",
        "tags:release-*",
        "-q",
    ]));
    let json: Value = serde_json::from_str(&ok(work.run(&words(
        "report --service shop --from 2026-01-01 --to 2026-02-01 --format json",
    ))))
    .unwrap();
    assert_eq!(json["deployment_frequency"]["count"], 4);
    // Each repository's first tag is a baseline; each later tag ships two
    // commits (api: the fix and its merge) or one (web).
    assert_eq!(json["data_quality"]["baseline_deployments"], 2);
    assert_eq!(json["lead_time"]["count"], 3);
    // The merge request: merged at T0 + 2 days, deployed an hour later.
    assert_eq!(json["pr_stages"]["deploy"]["count"], 1);
    assert_eq!(json["pr_stages"]["deploy"]["median_s"], 3600.0);
    assert_eq!(json["heuristics"].as_array().unwrap().len(), 2);
}
