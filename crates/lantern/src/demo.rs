//! `lantern demo`: a realistic organisation, deterministic for a seed.
//!
//! Four teams with different delivery habits, so the first report a new
//! user sees shows what Lantern tells apart: a team shipping small changes
//! many times a day, a steady one, one deploying a few times a week, and one
//! shipping large batches every two weeks with frequent failures.

use crate::rng::Rng;
use chrono::{Datelike, NaiveDate, Weekday};
use lantern_events::{MICROS_PER_SECOND, Timestamp};
use serde_json::{Value, json};

const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

struct Profile {
    team: &'static str,
    service: &'static str,
    repo: &'static str,
    /// Pull requests merged per working day.
    prs_per_day: f64,
    commits_per_pr: (u64, u64),
    coding: f64,
    pickup: f64,
    review: f64,
    /// How deployments happen.
    cadence: Cadence,
    squash_share: f64,
    failure: f64,
    recovery: f64,
    detect: f64,
}

enum Cadence {
    /// Every merge is deployed this long after it (batched when merges overlap).
    PerMerge(f64),
    /// On these weekdays at 14:00 UTC, every `weeks` weeks.
    Scheduled {
        days: &'static [Weekday],
        weeks: i64,
    },
}

const PROFILES: &[Profile] = &[
    Profile {
        team: "payments",
        service: "checkout",
        repo: "acme/checkout",
        prs_per_day: 4.0,
        commits_per_pr: (1, 3),
        coding: 5.0 * HOUR,
        pickup: 0.6 * HOUR,
        review: 1.5 * HOUR,
        cadence: Cadence::PerMerge(0.7 * HOUR),
        squash_share: 0.8,
        failure: 0.04,
        recovery: 0.4 * HOUR,
        detect: 240.0,
    },
    Profile {
        team: "payments",
        service: "billing",
        repo: "acme/billing",
        prs_per_day: 2.5,
        commits_per_pr: (1, 4),
        coding: 6.0 * HOUR,
        pickup: 1.0 * HOUR,
        review: 2.0 * HOUR,
        cadence: Cadence::PerMerge(1.2 * HOUR),
        squash_share: 0.8,
        failure: 0.05,
        recovery: 0.6 * HOUR,
        detect: 300.0,
    },
    Profile {
        team: "search",
        service: "search-api",
        repo: "acme/search",
        prs_per_day: 2.0,
        commits_per_pr: (2, 5),
        coding: 1.0 * DAY,
        pickup: 4.0 * HOUR,
        review: 8.0 * HOUR,
        cadence: Cadence::Scheduled {
            days: &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu],
            weeks: 1,
        },
        squash_share: 0.3,
        failure: 0.09,
        recovery: 5.0 * HOUR,
        detect: 900.0,
    },
    Profile {
        team: "search",
        service: "indexer",
        repo: "acme/indexer",
        prs_per_day: 1.0,
        commits_per_pr: (2, 6),
        coding: 1.5 * DAY,
        pickup: 6.0 * HOUR,
        review: 10.0 * HOUR,
        cadence: Cadence::Scheduled {
            days: &[Weekday::Tue, Weekday::Thu],
            weeks: 1,
        },
        squash_share: 0.3,
        failure: 0.08,
        recovery: 6.0 * HOUR,
        detect: 1200.0,
    },
    Profile {
        team: "mobile",
        service: "notifications",
        repo: "acme/notify",
        prs_per_day: 1.2,
        commits_per_pr: (2, 6),
        coding: 2.0 * DAY,
        pickup: 10.0 * HOUR,
        review: 1.0 * DAY,
        cadence: Cadence::Scheduled {
            days: &[Weekday::Wed],
            weeks: 1,
        },
        squash_share: 0.5,
        failure: 0.13,
        recovery: 1.0 * DAY,
        detect: 1800.0,
    },
    Profile {
        team: "core-ledger",
        service: "ledger-monolith",
        repo: "acme/monolith",
        prs_per_day: 3.0,
        commits_per_pr: (3, 12),
        coding: 3.0 * DAY,
        pickup: 1.5 * DAY,
        review: 2.5 * DAY,
        cadence: Cadence::Scheduled {
            days: &[Weekday::Thu],
            weeks: 2,
        },
        squash_share: 0.0,
        failure: 0.55,
        recovery: 2.5 * DAY,
        detect: 4.0 * HOUR,
    },
];

/// The demo's catalog, for `lantern.toml`.
pub fn catalog_toml() -> String {
    let mut teams: Vec<&str> = PROFILES.iter().map(|p| p.team).collect();
    teams.dedup();
    let mut out = String::from("# The demo organisation's catalog (written by `lantern demo`).\n");
    for team in teams {
        let services: Vec<String> = PROFILES
            .iter()
            .filter(|p| p.team == team)
            .map(|p| format!("{:?}", p.service))
            .collect();
        out.push_str(&format!(
            "\n[[teams]]\nname = {team:?}\nservices = [{}]\n",
            services.join(", ")
        ));
    }
    out
}

pub fn team_names() -> Vec<&'static str> {
    let mut teams: Vec<&str> = PROFILES.iter().map(|p| p.team).collect();
    teams.sort();
    teams.dedup();
    teams
}

/// Every event of the demo organisation over `days` days ending at `until`
/// (midnight UTC), as canonical JSON objects.
pub fn generate(seed: u64, until: NaiveDate, days: u32) -> Vec<Value> {
    let end = Timestamp::from_date(until).micros() as f64 / MICROS_PER_SECOND as f64;
    let start = end - days as f64 * DAY;
    let mut out = Vec::new();
    for (i, p) in PROFILES.iter().enumerate() {
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        ServiceHistory::new(p, &mut rng, start, end, &mut out).run();
    }
    // Each service's tickets (flow.md), from a generator of their own so
    // that the delivery history above stays what it was.
    for (i, p) in PROFILES.iter().enumerate() {
        let mut rng = Rng::new(seed.wrapping_mul(7_000_003).wrapping_add(i as u64));
        work_items(p, &mut rng, start, end, &mut out);
    }
    // Scanners' findings and AI-assistant days (panels.md), from
    // generators of their own too.
    for (i, p) in PROFILES.iter().enumerate() {
        let mut rng = Rng::new(seed.wrapping_mul(9_000_011).wrapping_add(i as u64));
        findings(p, &mut rng, start, end, &mut out);
    }
    for (i, team) in team_names().into_iter().enumerate() {
        let mut rng = Rng::new(seed.wrapping_mul(11_000_027).wrapping_add(i as u64));
        assist_days(team, &mut rng, start, end, &mut out);
    }
    // Context a team would have recorded.
    let freeze_from = start + (days as f64 * 0.6).floor() * DAY;
    out.push(json!({"type":"annotation","id":"demo-freeze","scope":{"team":"payments"},"kind":"freeze","from":ts(freeze_from),"to":ts(freeze_from + 7.0 * DAY),"title":"Quarter-end change freeze"}));
    out.push(json!({"type":"annotation","id":"demo-migration","scope":{"service":"ledger-monolith"},"kind":"migration","from":ts(start + 20.0 * DAY),"to":ts(start + 34.0 * DAY),"title":"Database migration to the new cluster"}));
    out
}

/// A repository's scanner findings: about one every four days, most
/// fixed within a few weeks (criticals sooner), some dismissed never.
fn findings(p: &Profile, rng: &mut Rng, start: f64, end: f64, out: &mut Vec<Value>) {
    const FAMILIES: [&str; 7] = [
        "sql-injection",
        "xss",
        "path-injection",
        "hardcoded-credentials",
        "weak-crypto",
        "ssrf",
        "vulnerable-dependency",
    ];
    let mut t = start - 30.0 * DAY;
    let mut n = 0;
    while t < end {
        t += rng.duration(4.0 * DAY, 1.5);
        if t >= end {
            break;
        }
        n += 1;
        let roll = rng.unit();
        let (severity, fix_days) = match roll {
            r if r < 0.08 => ("critical", 3.0),
            r if r < 0.3 => ("high", 10.0),
            r if r < 0.7 => ("medium", 25.0),
            _ => ("low", 45.0),
        };
        let category = FAMILIES[rng.below(FAMILIES.len() as u64) as usize];
        let mut f = json!({"type":"finding","id":format!("{}/code-scanning/{n}", p.repo),"repo":p.repo,
            "severity":severity,"category":category,"opened_at":ts(t)});
        let fixed = t + rng.duration(fix_days * DAY, 1.5);
        if fixed < end && rng.chance(0.85) {
            f["fixed_at"] = json!(ts(fixed));
        }
        out.push(f);
    }
}

/// A team's AI-assistant days: working days only, a handful of active
/// users (some days too few to show), about a third of suggestions taken.
fn assist_days(team: &str, rng: &mut Rng, start: f64, end: f64, out: &mut Vec<Value>) {
    let mut day = start;
    while day < end {
        let date = Timestamp::from_micros((day * MICROS_PER_SECOND as f64) as i64).date();
        day += DAY;
        if date.weekday().number_from_monday() > 5 {
            continue;
        }
        let users = 1 + rng.below(7);
        let suggestions = users * (40 + rng.below(80));
        let acceptances = (suggestions as f64 * (0.2 + 0.2 * rng.unit())) as u64;
        out.push(
            json!({"type":"assist_usage","team":team,"day":date.to_string(),
            "active_users":users,"suggestions":suggestions,"acceptances":acceptances}),
        );
    }
}

/// A service's work items over [start, end): tickets arrive about half as
/// often as pull requests merge, wait in the backlog, then alternate
/// between active work and waiting (review, QA, a handoff) until done; a
/// few are closed without starting, and those still open at the end stay
/// so. Kinds: mostly features, a quarter defects, some debt and risk.
fn work_items(p: &Profile, rng: &mut Rng, start: f64, end: f64, out: &mut Vec<Value>) {
    let mut t = start - 20.0 * DAY;
    let mut n = 0;
    while t < end {
        t += rng.duration(2.0 * DAY / p.prs_per_day, 1.5);
        if t >= end {
            break;
        }
        n += 1;
        let id = format!("{}-{n}", p.service.to_uppercase());
        let roll = rng.unit();
        let kind = match roll {
            r if r < 0.6 => "feature",
            r if r < 0.85 => "defect",
            r if r < 0.95 => "debt",
            _ => "risk",
        };
        out.push(
            json!({"type":"work_item","id":id,"service":p.service,"kind":kind,"created_at":ts(t)}),
        );
        let mut states = vec![(t, "backlog")];
        let mut at = t + rng.duration(2.0 * DAY, 2.0);
        if rng.chance(0.05) {
            states.push((at, "done"));
        } else {
            let rounds = 1 + rng.below(3);
            for r in 0..rounds {
                states.push((at, "active"));
                at += rng.duration(p.coding * 1.5, 1.8);
                states.push((at, "waiting"));
                at += rng.duration(p.pickup + p.review + if r == 0 { DAY } else { 0.0 }, 2.0);
            }
            states.push((at, "done"));
        }
        for (when, state) in states.into_iter().filter(|(when, _)| *when < end) {
            out.push(json!({"type":"work_state","item":id,"at":ts(when),"state":state}));
        }
    }
}

fn ts(seconds: f64) -> String {
    Timestamp::from_micros((seconds * MICROS_PER_SECOND as f64) as i64).to_rfc3339()
}

struct ServiceHistory<'a> {
    p: &'a Profile,
    rng: &'a mut Rng,
    start: f64,
    end: f64,
    out: &'a mut Vec<Value>,
    /// Commits on the main branch: (time, sha), in time order.
    main: Vec<(f64, String)>,
    deploys: u64,
    incidents: u64,
}

impl<'a> ServiceHistory<'a> {
    fn new(
        p: &'a Profile,
        rng: &'a mut Rng,
        start: f64,
        end: f64,
        out: &'a mut Vec<Value>,
    ) -> Self {
        ServiceHistory {
            p,
            rng,
            start,
            end,
            out,
            main: Vec::new(),
            deploys: 0,
            incidents: 0,
        }
    }

    fn author(&mut self) -> String {
        format!("{}-dev-{}", self.p.team, self.rng.below(6) + 1)
    }

    fn run(mut self) {
        // History before the window, so the first deployment has something
        // to compare with.
        let root = self.rng.sha();
        self.change(&root, &[], self.start - 30.0 * DAY, None);
        self.main.push((self.start - 30.0 * DAY, root));
        self.pull_requests();
        self.deployments();
    }

    fn change(&mut self, sha: &str, parents: &[&str], at: f64, pr: Option<&str>) {
        let author = self.author();
        let mut c = json!({"type":"change","repo":self.p.repo,"sha":sha,"parents":parents,"committed_at":ts(at),"authored_at":ts(at - self.rng.range(0.0, 600.0)),"author":author});
        if let Some(pr) = pr {
            c["pull_request"] = json!(pr);
        }
        self.out.push(c);
    }

    fn pull_requests(&mut self) {
        let mut t = self.start;
        let mut n = 0;
        while t < self.end {
            t += self.rng.duration(DAY / self.p.prs_per_day, 1.8) * 0.6;
            let merged = working_time(t, self.rng);
            if merged >= self.end {
                break;
            }
            n += 1;
            let id = format!("{}#{}", self.p.repo, n);
            let review = self.rng.duration(self.p.review, 2.0);
            let pickup = self.rng.duration(self.p.pickup, 2.0);
            let first_review = merged - review;
            let opened = first_review - pickup;
            let coding = self.rng.duration(self.p.coding, 2.0);
            let first_commit = opened - coding;
            let (lo, hi) = self.p.commits_per_pr;
            let k = lo + self.rng.below(hi - lo + 1);
            let base = self.main.last().map(|m| m.1.clone()).unwrap_or_default();
            let mut branch: Vec<String> = Vec::new();
            for j in 0..k {
                let at = first_commit + (opened - first_commit) * j as f64 / k as f64;
                let sha = self.rng.sha();
                let parent = branch.last().cloned().unwrap_or_else(|| base.clone());
                self.change(&sha, &[&parent], at, Some(&id));
                branch.push(sha);
            }
            let tip = branch.last().cloned().unwrap_or_default();
            let landed = self.rng.sha();
            let parents: Vec<&str> = if self.rng.chance(self.p.squash_share) {
                vec![base.as_str()]
            } else {
                vec![base.as_str(), tip.as_str()]
            };
            self.change(&landed, &parents, merged, None);
            let author = self.author();
            self.out.push(json!({"type":"pull_request","id":id,"repo":self.p.repo,"opened_at":ts(opened),"first_review_at":ts(first_review),"approved_at":ts(merged - 60.0),"merged_at":ts(merged),"closed_at":ts(merged),"merge_sha":landed,"head_sha":tip,"commits":branch,"additions":self.rng.below(400) + 5,"deletions":self.rng.below(150),"author":author}));
            self.main.push((merged, landed));
            t = merged;
        }
    }

    fn deploy_times(&mut self) -> Vec<f64> {
        match self.p.cadence {
            Cadence::PerMerge(delay) => {
                let merges: Vec<f64> = self.main.iter().skip(1).map(|m| m.0).collect();
                merges
                    .into_iter()
                    .map(|m| m + self.rng.duration(delay, 1.6))
                    .collect()
            }
            Cadence::Scheduled { days, weeks } => {
                let mut times = Vec::new();
                let mut day = self.start - self.start.rem_euclid(DAY);
                while day < self.end {
                    let date =
                        Timestamp::from_micros((day * MICROS_PER_SECOND as f64) as i64).date();
                    let week = date.iso_week().week() as i64;
                    if days.contains(&date.weekday()) && week % weeks == 0 {
                        times.push(day + 14.0 * HOUR + self.rng.range(0.0, 2.0 * HOUR));
                    }
                    day += DAY;
                }
                times
            }
        }
    }

    fn tip_at(&self, t: f64) -> Option<&str> {
        let i = self.main.partition_point(|m| m.0 <= t);
        (i > 0).then(|| self.main[i - 1].1.as_str())
    }

    fn deployment(
        &mut self,
        environment: &str,
        status: &str,
        at: f64,
        sha: &str,
        extra: Value,
    ) -> String {
        self.deploys += 1;
        let id = format!("{}-{}-{}", self.p.service, environment, self.deploys);
        let mut d = json!({"type":"deployment","id":id,"service":self.p.service,"environment":environment,"status":status,"started_at":ts(at - 600.0),"finished_at":ts(at),"repo":self.p.repo,"sha":sha,"automated":true});
        if let (Value::Object(d), Value::Object(extra)) = (&mut d, extra) {
            d.extend(extra);
        }
        self.out.push(d);
        id
    }

    fn deployments(&mut self) {
        let mut times = self.deploy_times();
        times.retain(|&t| t < self.end);
        times.sort_by(f64::total_cmp);
        let mut last_sha = String::new();
        let mut busy_until = f64::MIN;
        for (i, &t) in times.iter().enumerate() {
            let Some(sha) = self.tip_at(t).map(str::to_string) else {
                continue;
            };
            if sha == last_sha || t < busy_until {
                continue;
            }
            let staged = t - self.rng.range(1200.0, 7200.0);
            self.deployment("staging", "success", staged, &sha, json!({}));
            if self.rng.chance(0.04) {
                // A failed attempt, retried a little later.
                self.deployment("production", "failure", t - 900.0, &sha, json!({}));
            }
            let prev = std::mem::replace(&mut last_sha, sha.clone());
            let id = self.deployment("production", "success", t, &sha, json!({}));
            let next = times.get(i + 1).copied().unwrap_or(self.end);
            if !prev.is_empty() && self.rng.chance(self.p.failure) {
                busy_until = self.failure(&id, t, &prev, next);
            }
        }
        self.external_incidents();
    }

    /// One failed deployment and how it was recovered from.
    fn failure(&mut self, id: &str, at: f64, prev_sha: &str, next: f64) -> f64 {
        let recovery = self
            .rng
            .duration(self.p.recovery, 1.8)
            .min((self.end - at) * 0.9)
            .max(300.0);
        let roll = self.rng.unit();
        if roll < 0.55 {
            let started = at + self.rng.range(120.0, 3.0 * HOUR);
            let how = self.rng.unit();
            let mut inc = self.incident(started, started + recovery, "sev2");
            if how < 0.5 {
                inc["caused_by"] = json!(id);
                inc["cause"] = json!("change");
            } else if how < 0.7 {
                let culprit = self.tip_at(at).unwrap_or_default().to_string();
                inc["caused_by_sha"] = json!(culprit);
            }
            // else: no link given; Lantern infers it from timing.
            self.out.push(inc);
            started + recovery
        } else if roll < 0.85 {
            let extra = if self.rng.chance(0.7) {
                json!({"kind":"rollback","rollback_of":id})
            } else {
                json!({"kind":"rollback"})
            };
            let back = at + recovery.min((next - at) * 0.8).max(60.0);
            self.deployment("production", "success", back, prev_sha, extra);
            back
        } else {
            let fix = self.rng.sha();
            let culprit = self.tip_at(at).unwrap_or_default().to_string();
            let when = at + recovery.min((next - at) * 0.8).max(60.0);
            self.change(&fix, &[&culprit], when - 900.0, None);
            self.deployment(
                "production",
                "success",
                when,
                &fix,
                json!({"kind":"hotfix","changes":[fix.clone()]}),
            );
            when
        }
    }

    fn incident(&mut self, started: f64, resolved: f64, severity: &str) -> Value {
        self.incidents += 1;
        let detected = started
            + self
                .rng
                .duration(self.p.detect, 2.0)
                .min((resolved - started) * 0.5);
        let mut inc = json!({"type":"incident","id":format!("{}-inc-{}", self.p.service, self.incidents),"service":self.p.service,"started_at":ts(started),"detected_at":ts(detected),"acknowledged_at":ts(detected + 180.0),"severity":severity});
        if resolved < self.end {
            inc["resolved_at"] = json!(ts(resolved));
        }
        inc
    }

    fn external_incidents(&mut self) {
        let n = 1 + self.rng.below(2);
        for _ in 0..n {
            let started = self.rng.range(self.start, self.end - 2.0 * DAY);
            let resolved = started + self.rng.duration(2.0 * HOUR, 2.0);
            let mut inc = self.incident(started, resolved, "sev3");
            inc["cause"] = json!("external");
            inc["title"] = json!("Upstream provider outage");
            self.out.push(inc);
        }
    }
}

/// The next moment inside working hours (Mon–Fri, 09:00–18:00 UTC).
fn working_time(t: f64, rng: &mut Rng) -> f64 {
    let mut t = t;
    for _ in 0..14 {
        let date = Timestamp::from_micros((t * MICROS_PER_SECOND as f64) as i64).date();
        let day_start = t - t.rem_euclid(DAY);
        let hour = (t - day_start) / HOUR;
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend && (9.0..18.0).contains(&hour) {
            return t;
        }
        t = if !weekend && hour < 9.0 {
            day_start + 9.0 * HOUR
        } else {
            day_start + DAY + 9.0 * HOUR
        };
        t += rng.range(0.0, 2.0 * HOUR);
    }
    t
}

/// Generates the organisation and writes it into an installation, its
/// person fields pseudonymised with the installation's key as any import's;
/// returns how many events.
pub fn write_into(
    instance: &mut crate::instance::Instance,
    seed: u64,
    until: NaiveDate,
    days: u32,
) -> anyhow::Result<usize> {
    use anyhow::Context;
    let events = generate(seed, until, days)
        .iter()
        .map(|v| lantern_events::parse_event(v, &instance.pseudonymiser))
        .collect::<Result<Vec<_>, _>>()
        .context("the demo generator made an invalid event (a bug)")?;
    instance.store.write(&events)?;
    Ok(events.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_organisation_and_another_seed_another() {
        let until = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let a = generate(42, until, 120);
        let b = generate(42, until, 120);
        let c = generate(43, until, 120);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.len() > 2000, "{}", a.len());
    }

    #[test]
    fn the_catalog_names_every_service() {
        let toml = catalog_toml();
        for p in PROFILES {
            assert!(toml.contains(&format!("{:?}", p.service)));
        }
    }
}
