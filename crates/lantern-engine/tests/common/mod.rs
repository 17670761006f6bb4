#![allow(dead_code)]
use lantern_engine::*;
use lantern_events::*;
use serde_json::{Value, json};
use std::collections::HashMap;

pub fn events(lines: &[&str]) -> EventSet {
    let p = Pseudonymiser::from_key([9; 32]);
    EventSet::from_events(
        lines
            .iter()
            .map(|l| parse_event_json(l, &p).unwrap_or_else(|e| panic!("{l}: {e}"))),
    )
}

/// Parses lines that must be valid, with a fixed pseudonymisation key.
pub fn parse_all(lines: &[String]) -> Vec<Event> {
    let p = Pseudonymiser::from_key([1; 32]);
    lines
        .iter()
        .map(|l| parse_event_json(l, &p).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

pub fn window(from: &str, to: &str) -> Window {
    Window::new(
        Timestamp::parse_bound(from).unwrap(),
        Timestamp::parse_bound(to).unwrap(),
    )
    .unwrap()
}

pub fn service(name: &str) -> Scope {
    Scope::Service(Name::parse(name).unwrap())
}

pub fn json(events: &EventSet, scope: &Scope, from: &str, to: &str) -> Value {
    let r = report(events, scope, window(from, to), &EngineConfig::default());
    serde_json::to_value(r).unwrap()
}

/// A linear history c1 ← c2 ← … in repo `r`, commit n at hour n of 2026-03-01.
pub fn linear(n: u32) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let parents = if i > 1 { format!(r#","parents":["{:07x}"]"#, i - 1) } else { String::new() };
            format!(
                r#"{{"type":"change","repo":"r","sha":"{i:07x}"{parents},"committed_at":"2026-03-01T{:02}:00:00Z"}}"#,
                i % 24
            )
        })
        .collect()
}

pub fn deploy(id: &str, sha: u32, at: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"deployment","id":"{id}","service":"s","environment":"production","finished_at":"{at}","repo":"r","sha":"{sha:07x}"{extra}}}"#
    )
}

// ---------------------------------------------------------------- random histories

pub use lantern_engine::rng::Rng;

/// The scopes the store's tests read `history` through: the organisation,
/// two services, and a team of two services.
pub fn history_scopes() -> Vec<Scope> {
    let name = |s: &str| Name::parse(s).unwrap();
    vec![
        Scope::Org,
        Scope::Service(name("svc1")),
        Scope::Service(name("svc2")),
        Scope::Team {
            name: name("t"),
            services: std::collections::BTreeSet::from([name("svc2"), name("svc3")]),
        },
    ]
}

pub const BASE: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z

fn ts(rng: &mut Rng, secs: i64) -> String {
    // Same instant, written with a random offset and sometimes fractions.
    let offset_min = *rng.pick(&[0i64, 60, -300, 330, 120]);
    let local = chrono::DateTime::from_timestamp(secs + offset_min * 60, 0)
        .unwrap()
        .naive_utc();
    let off = if offset_min == 0 && rng.chance(0.5) {
        "Z".to_string()
    } else {
        format!(
            "{}{:02}:{:02}",
            if offset_min < 0 { '-' } else { '+' },
            offset_min.abs() / 60,
            offset_min.abs() % 60
        )
    };
    format!("{}{}", local.format("%Y-%m-%dT%H:%M:%S"), off)
}

/// A timestamp whose instant itself needs the generator.
fn ts2(rng: &mut Rng, at: impl FnOnce(&mut Rng) -> i64) -> String {
    let secs = at(rng);
    ts(rng, secs)
}

pub fn history(seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut lines = Vec::new();
    let repos = ["acme/a", "acme/b"];
    let services = ["svc1", "svc2", "svc3"];
    let span = 40 * 86_400;
    let mut commits: HashMap<&str, Vec<(String, i64)>> = HashMap::new();
    for repo in repos {
        let n = 5 + rng.below(30);
        let mut list: Vec<(String, i64)> = Vec::new();
        for i in 0..n {
            let sha = format!("{:07x}{:x}", rng.next_u64() & 0xfffffff, i);
            let t = BASE - 5 * 86_400 + (i as i64) * span / n as i64 + rng.below(3600) as i64
                - if rng.chance(0.05) { 5 * 86_400 } else { 0 }; // clock skew
            let mut parents = Vec::new();
            if let Some(last) = list.last() {
                parents.push(last.0.clone());
                if list.len() > 2 && rng.chance(0.25) {
                    parents.push(rng.pick(&list[..list.len() - 1]).0.clone());
                }
            }
            let pr = if rng.chance(0.3) {
                format!(r#","pull_request":"{repo}#{}""#, rng.below(5))
            } else {
                String::new()
            };
            let authored = if rng.chance(0.5) {
                format!(r#","authored_at":"{}""#, {
                    let at = t - rng.below(7200) as i64;
                    ts(&mut rng, at)
                })
            } else {
                String::new()
            };
            lines.push(format!(
                r#"{{"type":"change","repo":"{repo}","sha":"{sha}","parents":{},"committed_at":"{}"{authored}{pr},"author":"p{}"}}"#,
                serde_json::to_string(&parents).unwrap(),
                ts(&mut rng, t),
                rng.below(4)
            ));
            list.push((sha, t));
        }
        commits.insert(repo, list);
    }
    let mut deploy_ids: Vec<String> = Vec::new();
    let nd = 3 + rng.below(25);
    for i in 0..nd {
        let id = format!("d{}", rng.below(nd * 2));
        let service = *rng.pick(&services);
        let repo = *rng.pick(&repos);
        let list = &commits[repo];
        // Deploy roughly in history order, so graph attribution has work to do.
        let k =
            ((i as usize * list.len()) / nd as usize + rng.below(3) as usize).min(list.len() - 1);
        let (sha, ct) = list[k].clone();
        let mut t = ct + rng.below(3 * 86_400) as i64;
        if rng.chance(0.15) && !deploy_ids.is_empty() {
            t = BASE + 86_400 * rng.below(30) as i64; // ties and round times
        }
        let env = *rng.pick(&["production", "prod", "Production", "staging"]);
        let mut d = json!({"type":"deployment","id":id,"service":service,"environment":env,"finished_at":ts(&mut rng, t)});
        if rng.chance(0.85) {
            d["repo"] = json!(repo);
        }
        if rng.chance(0.9) {
            d["sha"] = json!(sha);
        }
        if rng.chance(0.08) {
            d["sha"] = json!("feedfac");
        } // never committed anywhere
        if rng.chance(0.15) {
            let mut explicit: Vec<String> = Vec::new();
            for _ in 0..rng.below(4) {
                explicit.push(rng.pick(list).0.clone());
            }
            if rng.chance(0.3) {
                explicit.push("deadbeef".to_string());
            }
            d["changes"] = json!(explicit);
        }
        if rng.chance(0.1) {
            d["status"] = json!(*rng.pick(&["failure", "cancelled", "success"]));
        }
        if rng.chance(0.25) {
            let kind = *rng.pick(&["planned", "hotfix", "rollback"]);
            d["kind"] = json!(kind);
            if kind == "rollback" && rng.chance(0.5) && !deploy_ids.is_empty() {
                d["rollback_of"] = json!(rng.pick(&deploy_ids).clone());
            }
        }
        deploy_ids.push(id);
        lines.push(d.to_string());
    }
    for i in 0..rng.below(8) {
        let service = *rng.pick(&services);
        let start = BASE + rng.below(span as u64) as i64;
        let mut inc = json!({"type":"incident","id":format!("i{i}"),"service":service,"started_at":ts(&mut rng, start)});
        if rng.chance(0.3) {
            inc["services"] = json!([*rng.pick(&services)]);
        }
        if rng.chance(0.8) {
            inc["resolved_at"] =
                json!(ts2(&mut rng, |r| start + r.below(2 * 86_400) as i64 - 3600));
        }
        if rng.chance(0.6) {
            inc["detected_at"] = json!(ts2(&mut rng, |r| start + r.below(3600) as i64));
        }
        match rng.below(5) {
            0 if !deploy_ids.is_empty() => inc["caused_by"] = json!(rng.pick(&deploy_ids).clone()),
            1 => {
                let repo = *rng.pick(&repos);
                inc["caused_by_sha"] = json!(rng.pick(&commits[repo]).0.clone())
            }
            2 => inc["cause"] = json!("external"),
            _ => {}
        }
        lines.push(inc.to_string());
    }
    for i in 0..rng.below(6) {
        let repo = *rng.pick(&repos);
        let list = &commits[repo];
        let (sha, t) = rng.pick(list).clone();
        let opened = t + rng.below(7200) as i64;
        let mut pr = json!({"type":"pull_request","id":format!("{repo}#{i}"),"repo":repo,"opened_at":ts(&mut rng, opened)});
        if rng.chance(0.8) {
            pr["merged_at"] = json!(ts2(&mut rng, |r| opened + r.below(86_400) as i64));
            pr["merge_sha"] = json!(sha);
        }
        if rng.chance(0.7) {
            pr["first_review_at"] =
                json!(ts2(&mut rng, |r| opened + r.below(20_000) as i64 - 1000));
        }
        if rng.chance(0.3) {
            pr["first_commit_at"] = json!(ts2(&mut rng, |r| opened - r.below(20_000) as i64));
        }
        if rng.chance(0.4) {
            pr["commits"] = json!([rng.pick(list).0.clone()]);
        }
        if rng.chance(0.3) {
            pr["head_sha"] = json!(rng.pick(list).0.clone());
        }
        lines.push(pr.to_string());
    }
    let runs = hygiene(seed, &mut lines, &commits);
    lines.extend(runs);
    lines.extend(work(seed));
    lines.extend(panels(seed));
    // Re-send some events, unchanged: last write wins, nothing counts twice.
    let resend: Vec<String> = lines.iter().filter(|_| rng.chance(0.1)).cloned().collect();
    lines.extend(resend);
    lines
}

/// What hygiene.md reads, from a generator of its own (so the rest of a
/// seed's history stays as it was): deployments that say whether they were
/// automated and when they started (sometimes after they finished), and CI
/// runs on the repositories' commits, with re-runs.
fn hygiene(
    seed: u64,
    lines: &mut [String],
    commits: &HashMap<&str, Vec<(String, i64)>>,
) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0x005e_edc1);
    for line in lines.iter_mut() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] != "deployment" {
            continue;
        }
        if rng.chance(0.6) {
            v["automated"] = json!(rng.chance(0.7));
        }
        // One release to several clusters: a rollout id per service.
        if rng.chance(0.3) {
            v["rollout"] = json!(format!(
                "r-{}-{}",
                v["service"].as_str().unwrap(),
                rng.below(3)
            ));
        }
        if rng.chance(0.5) {
            let finished = chrono::DateTime::parse_from_rfc3339(v["finished_at"].as_str().unwrap())
                .unwrap()
                .timestamp();
            let started =
                finished - rng.below(3600) as i64 + if rng.chance(0.1) { 7200 } else { 0 };
            v["started_at"] = json!(ts(&mut rng, started));
        }
        *line = v.to_string();
    }
    let mut runs = Vec::new();
    // Feature flags flipped (hygiene.md F5), on a service, the team or all.
    for k in 0..rng.below(5) {
        let scope = match rng.below(3) {
            0 => json!({"service": *rng.pick(&["svc1", "svc2", "svc3"])}),
            1 => json!({"team": "t"}),
            _ => json!({"org": true}),
        };
        let at = BASE + rng.below(40 * 86_400) as i64;
        let mut a = json!({"type":"annotation","id":format!("flag{k}"),"scope":scope,
            "kind":"feature_flag","from":ts(&mut rng, at),"title":format!("flag-{k}")});
        if rng.chance(0.3) {
            a["to"] = json!(ts2(&mut rng, |r| at + r.below(5 * 86_400) as i64));
        }
        runs.push(a.to_string());
    }
    let mut n = 0;
    let mut repos: Vec<&&str> = commits.keys().collect();
    repos.sort();
    for repo in repos {
        let list = &commits[*repo];
        for _ in 0..rng.below(12) {
            let (sha, t) = rng.pick(list).clone();
            let pipeline = *rng.pick(&["ci", "lint"]);
            let mut start = t + rng.below(3 * 86_400) as i64;
            for attempt in 1..=1 + rng.below(3) {
                let took = rng.below(1800) as i64 + 60;
                let status = *rng.pick(&["success", "failure", "failure", "cancelled"]);
                let mut run = json!({"type":"pipeline_run","id":format!("run{n}"),"repo":repo,"sha":sha,
                    "pipeline":pipeline,"started_at":ts(&mut rng, start),"finished_at":ts(&mut rng, start + took),
                    "status":status});
                if attempt > 1 || rng.chance(0.5) {
                    run["attempt"] = json!(attempt);
                }
                runs.push(run.to_string());
                n += 1;
                start += took + rng.below(600) as i64;
            }
        }
    }
    runs
}

fn utc(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Random work items and states (flow.md) as JSON lines, the way a
/// source sends them, from a generator of their own: reopened items,
/// skipped states, ties in `at` broken by id, transitions at midnight.
pub fn work(seed: u64) -> Vec<String> {
    const DAY: i64 = 86_400;
    let mut rng = Rng::new(seed ^ 0x0f10_4a11);
    let mut lines = Vec::new();
    let items = 5 + rng.below(40);
    for i in 0..items {
        let id = format!("W-{i}");
        let team = *rng.pick(&[Some("t"), Some("u"), None, None]);
        let service = match team {
            None => Some(*rng.pick(&["svc1", "svc2", "svc3"])),
            Some(_) => *rng.pick(&[None, Some("svc1"), Some("svc2")]),
        };
        let mut item = json!({"type": "work_item", "id": id, "created_at": utc(BASE - 20 * DAY)});
        if let Some(team) = team {
            item["team"] = json!(team);
        }
        if let Some(service) = service {
            item["service"] = json!(service);
        }
        if rng.chance(0.8) {
            item["kind"] = json!(*rng.pick(&["feature", "defect", "risk", "debt"]));
        }
        lines.push(item.to_string());
        let mut at = BASE - 15 * DAY + rng.below(30 * DAY as u64) as i64;
        let steps = rng.below(8);
        for s in 0..steps {
            // Some transitions on midnight, some tied with the one before.
            if rng.chance(0.15) {
                at -= at.rem_euclid(DAY);
            } else if !rng.chance(0.15) {
                at += rng.below(6 * DAY as u64) as i64;
            }
            // Any state after any other: skipped states, reopened items.
            let state = if s + 1 == steps && rng.chance(0.6) {
                "done"
            } else {
                *rng.pick(&["backlog", "active", "active", "waiting", "done"])
            };
            let mut ev = json!({"type": "work_state", "item": id, "at": utc(at), "state": state});
            // Explicit ids in a random order, so ties are broken by id.
            if rng.chance(0.5) {
                ev["id"] = json!(format!("{id}/{:x}", rng.next_u64() & 0xff));
            }
            lines.push(ev.to_string());
        }
    }
    lines
}

/// Equal JSON, numbers to a relative 1e-9 (the specs' exactness), or the
/// first difference with its path.
pub fn same(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Result<(), String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() <= 1e-9 * x.abs().max(y.abs()) {
                Ok(())
            } else {
                Err(format!("{path}: engine {x} vs oracle {y}"))
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let kx: std::collections::BTreeSet<&String> = x.keys().collect();
            let ky: std::collections::BTreeSet<&String> = y.keys().collect();
            if kx != ky {
                return Err(format!("{path}: keys {kx:?} vs {ky:?}"));
            }
            for k in kx {
                same(&x[k], &y[k], &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        _ if a == b => Ok(()),
        _ => Err(format!("{path}: engine {a} vs oracle {b}")),
    }
}

/// What panels.md reads, from a generator of its own: incidents
/// acknowledged or not around the 5-minute noise edge, pull requests with
/// and without sizes (around 400 lines) and reviews, findings fixed and
/// reopened (a later version of the same id), and AI-assistant days of
/// teams `t` and `u`, some under the threshold.
pub fn panels(seed: u64) -> Vec<String> {
    const DAY: i64 = 86_400;
    let mut rng = Rng::new(seed ^ 0x009a_4e15);
    let mut lines = Vec::new();
    for i in 0..rng.below(8) {
        let service = *rng.pick(&["svc1", "svc2", "svc3"]);
        let start = BASE + rng.below(40 * DAY as u64) as i64;
        let mut inc = json!({"type":"incident","id":format!("pi{i}"),"service":service,"started_at":utc(start)});
        let detected = if rng.chance(0.5) {
            let d = start + rng.below(600) as i64;
            inc["detected_at"] = json!(utc(d));
            d
        } else {
            start
        };
        if rng.chance(0.4) {
            inc["acknowledged_at"] = json!(utc(detected + rng.below(1800) as i64 - 60));
        }
        if rng.chance(0.85) {
            let after = *rng.pick(&[-5, 0, 299, 300, 301, 900, 7200]);
            inc["resolved_at"] = json!(utc(detected + after));
        }
        if rng.chance(0.2) {
            inc["cause"] = json!("external");
        }
        lines.push(inc.to_string());
    }
    for i in 0..rng.below(10) {
        let repo = *rng.pick(&["acme/a", "acme/b"]);
        let opened = BASE + rng.below(40 * DAY as u64) as i64;
        let mut pr = json!({"type":"pull_request","id":format!("{repo}#p{i}"),"repo":repo,"opened_at":utc(opened)});
        let merged = opened + rng.below(2 * DAY as u64) as i64;
        if rng.chance(0.85) {
            pr["merged_at"] = json!(utc(merged));
        }
        if rng.chance(0.8) {
            pr["additions"] = json!(rng.below(420));
        }
        if rng.chance(0.8) {
            pr["deletions"] = json!(rng.below(60));
        }
        if rng.chance(0.6) {
            let at = *rng.pick(&[merged - 3600, merged, merged + 60]);
            pr["first_review_at"] = json!(utc(at.max(opened)));
        }
        lines.push(pr.to_string());
    }
    let categories = [
        "sql-injection",
        "xss",
        "path-injection",
        "weak-crypto",
        "ssrf",
        "unused-variable",
        "hardcoded-secret",
    ];
    let mut versions = Vec::new();
    for i in 0..rng.below(14) {
        let repo = *rng.pick(&["acme/a", "acme/b", "acme/c"]);
        let opened = BASE - 15 * DAY + rng.below(65 * DAY as u64) as i64;
        let mut f = json!({"type":"finding","id":format!("f{i}"),"repo":repo,
            "severity":*rng.pick(&["critical","high","medium","low"]),
            "category":*rng.pick(&categories),"opened_at":utc(opened)});
        if rng.chance(0.6) {
            f["fixed_at"] = json!(utc(opened + rng.below(20 * DAY as u64) as i64));
        }
        lines.push(f.to_string());
        // A later version: reopened (no fixed_at), or fixed again.
        if rng.chance(0.25) {
            let mut again = f.clone();
            match again.get("fixed_at") {
                Some(_) => {
                    again.as_object_mut().unwrap().remove("fixed_at");
                }
                None => again["fixed_at"] = json!(utc(opened + rng.below(30 * DAY as u64) as i64)),
            }
            versions.push(again.to_string());
        }
    }
    lines.extend(versions);
    for team in ["t", "u"] {
        for d in -5..45 {
            if !rng.chance(0.6) {
                continue;
            }
            let suggestions = rng.below(300);
            let mut day = json!({"type":"assist_usage","team":team,"day":utc(BASE + d * DAY)[..10],
                "active_users":rng.below(9),"suggestions":suggestions,
                "acceptances":rng.below(suggestions + 1)});
            if rng.chance(0.5) {
                day["lines_suggested"] = json!(suggestions * 3);
                day["lines_accepted"] = json!(suggestions);
            }
            lines.push(day.to_string());
        }
    }
    lines
}
