//! A second, deliberately naive implementation of metrics.md — full
//! ancestor sets, linear scans, no indexes — checked against the engine on
//! random histories. Any disagreement is a bug in one of them.

// Naive on purpose: clarity over speed, so it reads like the spec.
#![allow(clippy::double_ended_iterator_last)]

mod common;
use common::{BASE, Rng, history, same};
use lantern_engine::*;
use lantern_events::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

// ---------------------------------------------------------------- the naive oracle

struct Naive<'a> {
    /// The history as given, and with rollouts merged.
    raw: &'a EventSet,
    ev: &'a EventSet,
    cfg: EngineConfig,
    rollouts: NaiveRollouts,
}

/// hygiene.md's rollouts, read naively: member id → rollout id, when each
/// rollout went live, and the partial ones (service, last finish).
#[derive(Default)]
struct NaiveRollouts {
    member_of: HashMap<String, String>,
    live: HashMap<String, Timestamp>,
    partial: Vec<(Name, Timestamp)>,
}

/// The history with each rollout's production members replaced by one
/// deployment, as hygiene.md says.
fn merge_rollouts(ev: &EventSet, cfg: &EngineConfig) -> (EventSet, NaiveRollouts) {
    let prod = |d: &Deployment| {
        cfg.production
            .iter()
            .any(|p| p.to_lowercase() == d.environment.as_str().to_lowercase())
    };
    let mut keys: Vec<(String, String)> = Vec::new();
    for d in &ev.deployments {
        if let Some(r) = &d.rollout
            && prod(d)
        {
            let key = (d.service.to_string(), r.to_string());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let mut out = ev.clone();
    let mut info = NaiveRollouts::default();
    out.deployments
        .retain(|d| !(d.rollout.is_some() && prod(d)));
    for (service, rollout) in keys {
        let mut members: Vec<&Deployment> = ev
            .deployments
            .iter()
            .filter(|d| {
                prod(d)
                    && d.service.as_str() == service
                    && d.rollout.as_ref().map(|r| r.as_str()) == Some(rollout.as_str())
            })
            .collect();
        members.sort_by(|a, b| {
            (a.finished_at, a.id.as_str().as_bytes())
                .cmp(&(b.finished_at, b.id.as_str().as_bytes()))
        });
        let last = *members.last().unwrap();
        let ok = |d: &&&Deployment| d.status == DeploymentStatus::Success;
        let n_ok = members.iter().filter(ok).count();
        if let Some(first) = members.iter().find(ok) {
            info.live.insert(rollout.clone(), first.finished_at);
        }
        if n_ok > 0 && n_ok < members.len() {
            info.partial.push((last.service.clone(), last.finished_at));
        }
        for m in &members {
            info.member_of.insert(m.id.to_string(), rollout.clone());
        }
        let mut changes: Option<Vec<Sha>> = None;
        for m in &members {
            if let Some(list) = &m.changes {
                let all = changes.get_or_insert_with(Vec::new);
                for s in list {
                    if !all.contains(s) {
                        all.push(*s);
                    }
                }
            }
        }
        let automated = if members.iter().any(|m| m.automated == Some(false)) {
            Some(false)
        } else if members.iter().all(|m| m.automated == Some(true)) {
            Some(true)
        } else {
            None
        };
        out.deployments.push(Deployment {
            id: EventId::parse(&rollout).unwrap(),
            status: if n_ok == members.len() {
                DeploymentStatus::Success
            } else {
                DeploymentStatus::Failure
            },
            started_at: members.iter().filter_map(|m| m.started_at).min(),
            changes,
            automated,
            rollout: None,
            ..last.clone()
        });
    }
    (out, info)
}

type Key = (String, String); // (repo, sha)

impl<'a> Naive<'a> {
    fn prod(&self, d: &Deployment) -> bool {
        self.cfg
            .production
            .iter()
            .any(|p| p.to_lowercase() == d.environment.as_str().to_lowercase())
    }
    fn spd(&self, d: &Deployment) -> bool {
        self.prod(d) && d.status == DeploymentStatus::Success
    }
    fn before(a: &Deployment, b: &Deployment) -> bool {
        (a.finished_at, a.id.as_str().as_bytes()) < (b.finished_at, b.id.as_str().as_bytes())
    }
    fn service_spds(&self, service: &Name) -> Vec<&'a Deployment> {
        let mut v: Vec<&Deployment> = self
            .ev
            .deployments
            .iter()
            .filter(|d| self.spd(d) && &d.service == service)
            .collect();
        v.sort_by(|a, b| {
            (a.finished_at, a.id.as_str().as_bytes())
                .cmp(&(b.finished_at, b.id.as_str().as_bytes()))
        });
        v
    }
    fn prev(&self, d: &Deployment) -> Option<&'a Deployment> {
        self.service_spds(&d.service)
            .into_iter()
            .filter(|x| Self::before(x, d))
            .last()
    }
    fn change(&self, repo: &str, sha: &Sha) -> Option<&'a Change> {
        self.ev
            .changes
            .iter()
            .find(|c| c.repo.as_str() == repo && &c.sha == sha)
    }
    fn ancestors(&self, repo: &str, sha: &Sha) -> HashSet<Key> {
        let mut seen = HashSet::new();
        let mut todo = vec![*sha];
        while let Some(s) = todo.pop() {
            if let Some(c) = self.change(repo, &s)
                && seen.insert((repo.to_string(), s.to_string()))
            {
                todo.extend(c.parents.iter().copied());
            }
        }
        seen
    }
    /// (rule applied: 1, 2 or 3; raw set before rule 4)
    fn raw(&self, d: &Deployment) -> (u8, BTreeSet<Key>) {
        if let Some(list) = &d.changes {
            let mut out = BTreeSet::new();
            for sha in list {
                for c in &self.ev.changes {
                    if &c.sha == sha && d.repo.as_ref().is_none_or(|r| r == &c.repo) {
                        out.insert((c.repo.to_string(), c.sha.to_string()));
                    }
                }
            }
            return (1, out);
        }
        if let (Some(repo), Some(sha), Some(prev)) = (&d.repo, &d.sha, self.prev(d))
            && prev.repo.as_ref() == Some(repo)
            && let Some(psha) = &prev.sha
        {
            let new = self.ancestors(repo.as_str(), sha);
            let old = self.ancestors(repo.as_str(), psha);
            return (2, new.difference(&old).cloned().collect());
        }
        (3, BTreeSet::new())
    }
    fn shipped(&self, d: &Deployment) -> (u8, BTreeSet<Key>) {
        let (rule, mut set) = self.raw(d);
        for e in self.service_spds(&d.service) {
            if Self::before(e, d) {
                for k in self.raw(e).1 {
                    set.remove(&k);
                }
            }
        }
        (rule, set)
    }
    fn contains_sha(&self, d: &Deployment, sha: &Sha) -> bool {
        d.sha.as_ref() == Some(sha) || self.shipped(d).1.iter().any(|(_, s)| s == &sha.to_string())
    }
    /// The deployment an id names (a member names its rollout).
    fn named(&self, id: &EventId) -> String {
        self.rollouts
            .member_of
            .get(id.as_str())
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
    /// When a deployment went live (a rollout: its first successful member).
    fn live(&self, d: &Deployment) -> Timestamp {
        self.rollouts
            .live
            .get(d.id.as_str())
            .copied()
            .unwrap_or(d.finished_at)
    }
    fn link(&self, inc: &Incident) -> Option<(&'a Deployment, bool)> {
        if let Some(id) = &inc.caused_by {
            let id = self.named(id);
            return self
                .ev
                .deployments
                .iter()
                .find(|d| d.id.as_str() == id)
                .map(|d| (d, true));
        }
        if let Some(sha) = &inc.caused_by_sha {
            let affected: Vec<&Name> = inc.affected().collect();
            let mut cands: Vec<&Deployment> = self
                .ev
                .deployments
                .iter()
                .filter(|d| {
                    self.spd(d) && affected.contains(&&d.service) && self.contains_sha(d, sha)
                })
                .collect();
            cands.sort_by(|a, b| {
                (a.finished_at, a.id.as_str().as_bytes())
                    .cmp(&(b.finished_at, b.id.as_str().as_bytes()))
            });
            return cands.first().map(|d| (*d, true));
        }
        if inc.cause == Some(IncidentCause::External) || !self.cfg.infer_incident_links {
            return None;
        }
        self.service_spds(&inc.service)
            .into_iter()
            .filter(|d| {
                self.live(d) <= inc.started_at
                    && self.live(d).micros()
                        >= inc.started_at.micros() - self.cfg.link_window_micros
            })
            .last()
            .map(|d| (d, false))
    }
    fn rollbacks_of(&self, d: &Deployment) -> Vec<&'a Deployment> {
        self.service_spds(&d.service)
            .into_iter()
            .filter(|r| r.kind == Some(DeploymentKind::Rollback))
            .filter(|r| match &r.rollback_of {
                Some(id) => self.named(id) == d.id.as_str(),
                None => self.prev(r).map(|p| &p.id) == Some(&d.id),
            })
            .collect()
    }
    fn hotfix_after(&self, d: &Deployment) -> Option<&'a Deployment> {
        self.service_spds(&d.service)
            .into_iter()
            .find(|x| Self::before(d, x))
            .filter(|x| x.kind == Some(DeploymentKind::Hotfix))
    }

    /// hygiene.md F1, as written.
    fn silent_services(&self, scope: &Scope, w: Window) -> Value {
        let mut services: Vec<&Name> = self
            .ev
            .deployments
            .iter()
            .filter(|d| self.spd(d) && scope.contains(&d.service))
            .map(|d| &d.service)
            .collect();
        services.sort();
        services.dedup();
        let mut out = vec![];
        let day = 86_400_000_000i64;
        for s in services {
            let mut t: Vec<i64> = self
                .service_spds(s)
                .iter()
                .map(|d| d.finished_at.micros())
                .filter(|&t| w.to.micros() - 90 * day <= t && t < w.to.micros())
                .collect();
            if t.len() < 2 {
                continue;
            }
            t.sort();
            let mut gaps: Vec<f64> = t.windows(2).map(|p| (p[1] - p[0]) as f64).collect();
            gaps.sort_by(f64::total_cmp);
            let r = 0.5 * (gaps.len() - 1) as f64;
            let median = gaps[r.floor() as usize]
                + (gaps[r.ceil() as usize] - gaps[r.floor() as usize]) * (r - r.floor());
            let last = *t.last().unwrap();
            if (w.to.micros() - last) as f64
                > (7 * day) as f64 * 1.0_f64.max(4.0 * median / (7 * day) as f64)
            {
                out.push(json!({"service": s.as_str(), "last_deployment": Timestamp::from_micros(last).to_rfc3339()}));
            }
        }
        json!(out)
    }

    /// hygiene.md F7, as written: day by day.
    fn gaps(&self, scope: &Scope, w: Window) -> Value {
        let d = 86_400_000_000i64;
        let day = |t: Timestamp| t.micros().div_euclid(d);
        let mut services: Vec<&Name> = self
            .ev
            .deployments
            .iter()
            .filter(|x| self.spd(x) && scope.contains(&x.service))
            .map(|x| &x.service)
            .collect();
        services.sort();
        services.dedup();
        let mut out = vec![];
        for s in services {
            let mut deploy_days: Vec<i64> = self
                .service_spds(s)
                .iter()
                .filter(|x| w.contains(x.finished_at))
                .map(|x| day(x.finished_at))
                .collect();
            deploy_days.sort();
            deploy_days.dedup();
            if deploy_days.len() < 2 {
                continue;
            }
            let mut g: Vec<f64> = deploy_days
                .windows(2)
                .map(|p| (p[1] - p[0]) as f64)
                .collect();
            g.sort_by(f64::total_cmp);
            let r = 0.5 * (g.len() - 1) as f64;
            let median = g[r.floor() as usize]
                + (g[r.ceil() as usize] - g[r.floor() as usize]) * (r - r.floor());
            let repos: HashSet<&Name> = self
                .raw
                .deployments
                .iter()
                .filter(|x| &x.service == s)
                .filter_map(|x| x.repo.as_ref())
                .collect();
            let quiet = |k: i64| {
                !self
                    .ev
                    .deployments
                    .iter()
                    .any(|x| &x.service == s && day(x.finished_at) == k)
                    && !self
                        .ev
                        .incidents
                        .iter()
                        .any(|i| i.affected().any(|a| a == s) && day(i.started_at) == k)
                    && !self
                        .ev
                        .changes
                        .iter()
                        .any(|c| repos.contains(&c.repo) && day(c.committed_at) == k)
            };
            // Whole days inside W, one at a time.
            let mut k = w.from.micros().div_euclid(d);
            if k * d < w.from.micros() {
                k += 1;
            }
            let mut start: Option<i64> = None;
            while (k + 1) * d <= w.to.micros() + d {
                let whole = (k + 1) * d <= w.to.micros();
                if whole && quiet(k) {
                    start.get_or_insert(k);
                } else if let Some(st) = start.take()
                    && (k - st) as f64 > 3.0 * median
                {
                    out.push(json!({"service": s.as_str(),
                        "from": Timestamp::from_micros(st * d).to_rfc3339(),
                        "to": Timestamp::from_micros(k * d).to_rfc3339()}));
                }
                if !whole {
                    break;
                }
                k += 1;
            }
        }
        json!(out)
    }

    fn report(&self, scope: &Scope, w: Window) -> Value {
        let sec = |a: Timestamp, b: Timestamp| (a.micros() - b.micros()) as f64 / 1e6;
        let p: Vec<&Deployment> = self
            .ev
            .deployments
            .iter()
            .filter(|d| self.spd(d) && scope.contains(&d.service) && w.contains(d.finished_at))
            .collect();
        let n = p.len() as u64;
        let mut dq = json!({"negative_lead_times":0,"negative_recovery_times":0,"negative_pr_stages":0,"baseline_deployments":0,"deployments_without_changes":0,"unknown_deployed_shas":0,"open_incidents":0,"inferred_incident_links":0,"incident_links":{"by_id":0,"by_sha":0,"inferred":0},
            "unlinked_incidents":0,"unknown_incident_services":0,"inverted_intervals":0,"flaky_runs":0,
            "partial_rollouts": self.rollouts.partial.iter().filter(|(s, at)| scope.contains(s) && w.contains(*at)).count(),
            "silent_services": self.silent_services(scope, w),
            "gaps": self.gaps(scope, w),
            "flag_changes": self.ev.annotations.iter().filter(|a| {
                a.kind == AnnotationKind::FeatureFlag
                    && a.from < w.to
                    && a.to.unwrap_or(a.from) >= w.from
                    && match (&a.scope, scope) {
                        (_, Scope::Org) => true,
                        (AnnotationScope::Service(s), _) => scope.contains(s),
                        (AnnotationScope::Team(t), Scope::Team { name, .. }) => t == name,
                        _ => false,
                    }
            }).count(),
            // A history has no arrival times: these need a store (tested
            // over HTTP in lantern-server's api tests).
            "silent_sources": [], "future_timestamps": 0});
        let bump = |dq: &mut Value, k: &str| dq[k] = json!(dq[k].as_u64().unwrap() + 1);

        // Deployment frequency.
        let dates: BTreeSet<_> = p.iter().map(|d| d.finished_at.date()).collect();
        let day = 86_400_000_000i64;
        let mut weekly = vec![];
        let mut t = w.from.micros();
        loop {
            let date = Timestamp::from_micros(t).date();
            use chrono::Datelike;
            if date.weekday() == chrono::Weekday::Mon
                && Timestamp::from_date(date).micros() >= w.from.micros()
            {
                break;
            }
            t = Timestamp::from_date(date).micros() + day;
        }
        let mut ws = Timestamp::from_date(Timestamp::from_micros(t).date()).micros();
        while ws + 7 * day <= w.to.micros() {
            weekly.push(
                dates
                    .iter()
                    .filter(|d| {
                        let m = Timestamp::from_date(**d).micros();
                        m >= ws && m < ws + 7 * day
                    })
                    .count() as f64,
            );
            ws += 7 * day;
        }
        let median = |v: &mut Vec<f64>| -> Option<f64> {
            if v.is_empty() {
                return None;
            }
            v.sort_by(f64::total_cmp);
            let r = 0.5 * (v.len() - 1) as f64;
            Some(
                v[r.floor() as usize]
                    + (v[r.ceil() as usize] - v[r.floor() as usize]) * (r - r.floor()),
            )
        };
        let wm = median(&mut weekly);
        let days = (w.to.micros() - w.from.micros()) as f64 / day as f64;
        let band_df = wm.map(|wm| {
            if wm >= 5.0 {
                "elite"
            } else if wm >= 1.0 {
                "high"
            } else {
                use chrono::Datelike;
                let mut months = vec![];
                let mut d = w.from.date().with_day(1).unwrap();
                loop {
                    let start = Timestamp::from_date(d);
                    let next = d.checked_add_months(chrono::Months::new(1)).unwrap();
                    let end = Timestamp::from_date(next);
                    if end > w.to {
                        break;
                    }
                    if start >= w.from {
                        months.push(
                            p.iter()
                                .filter(|x| x.finished_at >= start && x.finished_at < end)
                                .count() as f64,
                        );
                    }
                    d = next;
                }
                let ok = if months.is_empty() {
                    n as f64 * 30.0 / days >= 1.0
                } else {
                    median(&mut months).unwrap() >= 1.0
                };
                if ok { "medium" } else { "low" }
            }
        });

        // Lead time and data quality of P.
        let mut lead = vec![];
        for d in &p {
            let (rule, set) = self.shipped(d);
            if rule == 3 {
                bump(&mut dq, "baseline_deployments");
            } else if set.is_empty() {
                bump(&mut dq, "deployments_without_changes");
            }
            if let Some(sha) = &d.sha {
                let known = self
                    .ev
                    .changes
                    .iter()
                    .any(|c| &c.sha == sha && d.repo.as_ref().is_none_or(|r| r == &c.repo));
                if !known {
                    bump(&mut dq, "unknown_deployed_shas");
                }
            }
            for (repo, sha) in set {
                let c = self.change(&repo, &Sha::parse(&sha).unwrap()).unwrap();
                let v = sec(d.finished_at, c.committed_at);
                if v < 0.0 {
                    bump(&mut dq, "negative_lead_times");
                } else {
                    lead.push(v);
                }
            }
        }

        // Failures and recovery.
        let links: Vec<(&Incident, &Deployment, bool)> = self
            .ev
            .incidents
            .iter()
            .filter_map(|i| self.link(i).map(|(d, e)| (i, d, e)))
            .collect();
        let (mut failed, mut causes, mut unresolved, mut rec) = (0u64, [0u64; 4], 0u64, vec![]);
        for d in &p {
            let linked: Vec<&(&Incident, &Deployment, bool)> = links
                .iter()
                .filter(|(_, x, _)| x.id == d.id && self.spd(x))
                .collect();
            let rb = self.rollbacks_of(d);
            let hf = self.hotfix_after(d);
            let flags = [
                linked.iter().any(|l| l.2),
                linked.iter().any(|l| !l.2),
                !rb.is_empty(),
                hf.is_some(),
            ];
            for (i, f) in flags.iter().enumerate() {
                if *f {
                    causes[i] += 1;
                }
            }
            for l in &linked {
                if !l.2 {
                    bump(&mut dq, "inferred_incident_links");
                }
                let kind = match (l.2, l.0.caused_by.is_some()) {
                    (false, _) => "inferred",
                    (true, true) => "by_id",
                    (true, false) => "by_sha",
                };
                bump(&mut dq["incident_links"], kind);
            }
            if !flags.iter().any(|f| *f) {
                continue;
            }
            failed += 1;
            let end = if !linked.is_empty() {
                if linked.iter().any(|l| l.0.resolved_at.is_none()) {
                    unresolved += 1;
                    None
                } else {
                    linked.iter().map(|l| l.0.resolved_at.unwrap()).max()
                }
            } else if !rb.is_empty() {
                rb.iter()
                    .map(|r| (r.finished_at, r.id.as_str().as_bytes()))
                    .min()
                    .map(|x| x.0)
            } else {
                hf.map(|h| h.finished_at)
            };
            if let Some(e) = end {
                let v = sec(e, d.finished_at);
                if v < 0.0 {
                    bump(&mut dq, "negative_recovery_times");
                } else {
                    rec.push(v);
                }
            }
        }
        let rate = (n > 0).then(|| failed as f64 / n as f64);

        // Rework.
        let rework = p
            .iter()
            .filter(|d| match d.kind {
                Some(DeploymentKind::Hotfix) | Some(DeploymentKind::Rollback) => true,
                Some(DeploymentKind::Planned) => false,
                None => self.ev.incidents.iter().any(|i| {
                    i.affected().any(|s| s == &d.service)
                        && i.started_at <= self.live(d)
                        && i.resolved_at.is_none_or(|r| self.live(d) < r)
                }),
            })
            .count() as u64;

        // Incidents.
        let incs: Vec<&Incident> = self
            .ev
            .incidents
            .iter()
            .filter(|i| i.affected().any(|s| scope.contains(s)))
            .collect();
        let restore: Vec<f64> = incs
            .iter()
            .filter(|i| i.resolved_at.is_some_and(|r| w.contains(r)))
            .map(|i| sec(i.resolved_at.unwrap(), i.started_at))
            .collect();
        let detect: Vec<f64> = incs
            .iter()
            .filter(|i| w.contains(i.started_at) && i.detected_at.is_some())
            .map(|i| sec(i.detected_at.unwrap(), i.started_at))
            .collect();
        for i in &incs {
            if i.resolved_at.is_none() && i.started_at < w.to {
                bump(&mut dq, "open_incidents");
            }
        }

        // Success rate.
        let attempts: Vec<&Deployment> = self
            .ev
            .deployments
            .iter()
            .filter(|d| {
                scope.contains(&d.service)
                    && w.contains(d.finished_at)
                    && self.prod(d)
                    && d.status != DeploymentStatus::Cancelled
            })
            .collect();
        let ok = attempts
            .iter()
            .filter(|d| d.status == DeploymentStatus::Success)
            .count() as u64;

        // PR stages.
        // Every deployment's repository counts, a rollout's members' too.
        let repos: HashSet<&Name> = self
            .raw
            .deployments
            .iter()
            .filter(|d| scope.contains(&d.service))
            .filter_map(|d| d.repo.as_ref())
            .collect();
        let (mut coding, mut pickup, mut review, mut deploy) = (vec![], vec![], vec![], vec![]);
        for pr in &self.ev.pull_requests {
            let Some(merged) = pr.merged_at else { continue };
            if !w.contains(merged) || (*scope != Scope::Org && !repos.contains(&pr.repo)) {
                continue;
            }
            let mut shas: Vec<Sha> = pr.commits.clone();
            shas.extend(
                self.ev
                    .changes
                    .iter()
                    .filter(|c| c.repo == pr.repo && c.pull_request.as_ref() == Some(&pr.id))
                    .map(|c| c.sha),
            );
            let first = pr.first_commit_at.or_else(|| {
                shas.iter()
                    .filter_map(|s| self.change(pr.repo.as_str(), s))
                    .map(|c| c.authored_at)
                    .min()
            });
            let push = |v: &mut Vec<f64>, x: f64, dq: &mut Value| {
                if x < 0.0 {
                    bump(dq, "negative_pr_stages")
                } else {
                    v.push(x)
                }
            };
            if let Some(f) = first {
                push(&mut coding, sec(pr.opened_at, f), &mut dq);
            }
            if let Some(r) = pr.first_review_at {
                push(&mut pickup, sec(r, pr.opened_at), &mut dq);
                push(&mut review, sec(merged, r), &mut dq);
            }
            let all: Vec<Sha> = pr
                .merge_sha
                .iter()
                .chain(pr.head_sha.iter())
                .chain(shas.iter())
                .copied()
                .collect();
            let mut cands: Vec<&Deployment> = self
                .ev
                .deployments
                .iter()
                .filter(|d| {
                    self.spd(d)
                        && scope.contains(&d.service)
                        && all.iter().any(|s| self.contains_sha(d, s))
                })
                .collect();
            cands.sort_by(|a, b| {
                (a.finished_at, a.id.as_str().as_bytes())
                    .cmp(&(b.finished_at, b.id.as_str().as_bytes()))
            });
            if let Some(d) = cands.first() {
                push(&mut deploy, sec(d.finished_at, merged), &mut dq);
            }
        }

        let stats = |mut v: Vec<f64>| -> Value {
            if v.is_empty() {
                return json!({"count":0,"median_s":null,"p75_s":null,"p90_s":null,"mean_s":null});
            }
            v.sort_by(f64::total_cmp);
            let q = |q: f64| {
                let r = q * (v.len() - 1) as f64;
                v[r.floor() as usize]
                    + (v[r.ceil() as usize] - v[r.floor() as usize]) * (r - r.floor())
            };
            json!({"count":v.len(),"median_s":q(0.5),"p75_s":q(0.75),"p90_s":q(0.9),"mean_s":v.iter().sum::<f64>() / v.len() as f64})
        };
        let with = |mut s: Value, extra: &[(&str, Value)]| {
            for (k, v) in extra {
                s[*k] = v.clone();
            }
            s
        };
        let lt = stats(lead);
        let lt_band = lt["median_s"].as_f64().map(|m| {
            if m < 86400.0 {
                "elite"
            } else if m < 7.0 * 86400.0 {
                "high"
            } else if m < 30.0 * 86400.0 {
                "medium"
            } else {
                "low"
            }
        });
        let rt = stats(rec);
        let rt_band = rt["median_s"].as_f64().map(|m| {
            if m < 3600.0 {
                "elite"
            } else if m < 86400.0 {
                "high"
            } else if m < 7.0 * 86400.0 {
                "medium"
            } else {
                "low"
            }
        });
        // hygiene.md: F2, F3, F4 and the signals.
        for i in &incs {
            if w.contains(i.started_at)
                && i.cause != Some(IncidentCause::External)
                && self.link(i).is_none()
            {
                bump(&mut dq, "unlinked_incidents");
            }
            if w.contains(i.started_at) && i.resolved_at.is_some_and(|r| r < i.started_at) {
                bump(&mut dq, "inverted_intervals");
            }
        }
        for d in &self.ev.deployments {
            if scope.contains(&d.service)
                && w.contains(d.finished_at)
                && d.started_at.is_some_and(|st| st > d.finished_at)
            {
                bump(&mut dq, "inverted_intervals");
            }
        }
        let runs: Vec<&PipelineRun> = self
            .ev
            .pipeline_runs
            .iter()
            .filter(|r| *scope == Scope::Org || repos.contains(&r.repo))
            .collect();
        for r in &runs {
            if r.status == PipelineStatus::Failure
                && w.contains(r.finished_at)
                && runs.iter().any(|o| {
                    o.repo == r.repo
                        && o.sha == r.sha
                        && o.pipeline == r.pipeline
                        && o.attempt > r.attempt
                        && o.status == PipelineStatus::Success
                })
            {
                bump(&mut dq, "flaky_runs");
            }
        }
        let in_w: Vec<&&PipelineRun> = runs.iter().filter(|r| w.contains(r.finished_at)).collect();
        let first = |st: PipelineStatus| {
            in_w.iter()
                .filter(|r| r.attempt == 1 && r.status == st)
                .count() as u64
        };
        let (first_ok, first_failed) = (
            first(PipelineStatus::Success),
            first(PipelineStatus::Failure),
        );
        let ci: Vec<f64> = in_w
            .iter()
            .filter(|r| r.status == PipelineStatus::Success)
            .map(|r| sec(r.finished_at, r.started_at))
            .collect();
        let stated = p.iter().filter(|d| d.automated.is_some()).count() as u64;
        let automated = p.iter().filter(|d| d.automated == Some(true)).count() as u64;
        let rollbacks = p
            .iter()
            .filter(|d| d.kind == Some(DeploymentKind::Rollback))
            .count() as u64;
        let share = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        let signals = json!({
            "automated_share": share(automated, stated),
            "automated_unknown": n - stated,
            "rollback_rate": share(rollbacks, n),
            "pipeline_success_rate": share(first_ok, first_ok + first_failed),
            "time_in_ci": stats(ci),
        });
        // panels.md, read naively.
        let share = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        let in_w: Vec<&&Incident> = incs.iter().filter(|i| w.contains(i.started_at)).collect();
        let seen_at = |i: &Incident| i.detected_at.unwrap_or(i.started_at);
        let acked: Vec<f64> = in_w
            .iter()
            .filter_map(|i| i.acknowledged_at.map(|a| sec(a, seen_at(i))))
            .collect();
        let noise = in_w
            .iter()
            .filter(|i| {
                i.acknowledged_at.is_none()
                    && i.resolved_at.is_some_and(|r| {
                        let s = sec(r, seen_at(i));
                        (0.0..=300.0).contains(&s)
                    })
            })
            .count();
        let linked = in_w.iter().filter(|i| self.link(i).is_some()).count();
        let alert_quality = json!({"incidents": in_w.len(), "acknowledged": acked.len(),
            "time_to_acknowledge": stats(acked), "noise": noise,
            "noise_share": share(noise, in_w.len()), "linked_share": share(linked, in_w.len())});
        let merged_prs: Vec<&PullRequest> = self
            .ev
            .pull_requests
            .iter()
            .filter(|pr| {
                pr.merged_at.is_some_and(|m| w.contains(m))
                    && (*scope == Scope::Org || repos.contains(&pr.repo))
            })
            .collect();
        let sizes: Vec<f64> = merged_prs
            .iter()
            .filter_map(|pr| Some((pr.additions? + pr.deletions?) as f64))
            .collect();
        let large = sizes.iter().filter(|&&v| v > 400.0).count();
        let kept: Vec<&&PullRequest> = merged_prs.iter().filter(|pr| pr.review_kept).collect();
        let reviewed = kept
            .iter()
            .filter(|pr| {
                pr.first_review_at
                    .is_some_and(|r| r <= pr.merged_at.unwrap())
            })
            .count();
        let review_quality = json!({"merged": merged_prs.len(), "large_share": share(large, sizes.len()),
            "size": stats(sizes), "reviewed_share": share(reviewed, kept.len()),
            "unreviewed": kept.len() - reviewed});
        let of_scope: Vec<&Finding> = self
            .ev
            .findings
            .iter()
            .filter(|f| *scope == Scope::Org || repos.contains(&f.repo))
            .collect();
        let by_severity = |keep: &dyn Fn(&Finding) -> bool| {
            let n = |sev: Severity| {
                of_scope
                    .iter()
                    .filter(|f| f.severity == sev && keep(f))
                    .count()
            };
            json!({"critical": n(Severity::Critical), "high": n(Severity::High),
                "medium": n(Severity::Medium), "low": n(Severity::Low)})
        };
        let mut categories: BTreeMap<&str, u64> = BTreeMap::new();
        for f in of_scope.iter().filter(|f| w.contains(f.opened_at)) {
            *categories.entry(f.category.as_str()).or_default() += 1;
        }
        let mut top: Vec<(&str, u64)> = categories.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        top.truncate(5);
        let findings = json!({
            "opened": by_severity(&|f| w.contains(f.opened_at)),
            "fixed": by_severity(&|f| f.fixed_at.is_some_and(|t| w.contains(t))),
            "open_at_end": by_severity(&|f| f.opened_at < w.to && !matches!(f.fixed_at, Some(t) if t < w.to)),
            "time_to_fix": stats(of_scope.iter().filter_map(|f| f.fixed_at.filter(|&t| w.contains(t)).map(|t| sec(t, f.opened_at))).collect()),
            "top_categories": top.iter().map(|(c, n)| json!({"category": c, "count": n})).collect::<Vec<_>>(),
        });
        let ai_assist = match scope {
            Scope::Team { name, .. } => {
                let least = self.cfg.assist_min_users.max(3);
                let days: Vec<&AssistUsage> = self
                    .ev
                    .assist_usage
                    .iter()
                    .filter(|d| &d.team == name && w.contains(d.day) && d.active_users >= least)
                    .collect();
                let sum = |f: fn(&AssistUsage) -> u64| days.iter().map(|d| f(d)).sum::<u64>();
                let (sugg, acc) = (sum(|d| d.suggestions), sum(|d| d.acceptances));
                json!({"days": days.len(), "suggestions": sugg, "acceptances": acc,
                    "acceptance_rate": (sugg > 0).then(|| acc as f64 / sugg as f64),
                    "mean_active_users": (!days.is_empty()).then(|| sum(|d| d.active_users) as f64 / days.len() as f64),
                    "change_failure_rate": rate,
                    "rework_rate": (n > 0).then(|| rework as f64 / n as f64),
                    "note": lantern_engine::panels::AI_ASSIST_NOTE})
            }
            _ => Value::Null,
        };
        let mut out = json!({
            "scope": serde_json::to_value(ScopeJson::from(scope)).unwrap(),
            "window": {"from": w.from.to_rfc3339(), "to": w.to.to_rfc3339()},
            "benchmark": "dora-2023",
            "deployment_frequency": {"count": n, "per_day": n as f64 / days, "deploy_days": dates.len(), "weekly_median_deploy_days": wm, "band": band_df},
            "lead_time": with(lt, &[("band", json!(lt_band))]),
            "change_failure_rate": {"deployments": n, "failed": failed, "rate": rate,
                "band": rate.map(|r| if r <= 0.05 { "elite" } else if r <= 0.10 { "high" } else if r <= 0.15 { "medium" } else { "low" }),
                "by_cause": {"incident_explicit": causes[0], "incident_inferred": causes[1], "rollback": causes[2], "hotfix": causes[3]}},
            "failed_deployment_recovery_time": with(rt, &[("unresolved", json!(unresolved)), ("band", json!(rt_band))]),
            "rework_rate": {"deployments": n, "rework": rework, "rate": (n > 0).then(|| rework as f64 / n as f64)},
            "time_to_restore": stats(restore),
            "time_to_detect": stats(detect),
            "deployment_success_rate": {"attempts": attempts.len(), "succeeded": ok, "rate": (!attempts.is_empty()).then(|| ok as f64 / attempts.len() as f64)},
            "pr_stages": {"coding": stats(coding), "pickup": stats(pickup), "review": stats(review), "deploy": stats(deploy)},
            "data_quality": dq,
            "signals": signals,
            "alert_quality": alert_quality,
            "review_quality": review_quality,
            "findings": findings,
        });
        if !ai_assist.is_null() {
            out["ai_assist"] = ai_assist;
        }
        out
    }
}

/// Figures the random histories must make non-zero somewhere, or the
/// comparison would prove little.
const EXERCISED: &[&str] = &[
    "/lead_time/count",
    "/change_failure_rate/by_cause/incident_explicit",
    "/change_failure_rate/by_cause/incident_inferred",
    "/change_failure_rate/by_cause/rollback",
    "/change_failure_rate/by_cause/hotfix",
    "/failed_deployment_recovery_time/count",
    "/failed_deployment_recovery_time/unresolved",
    "/rework_rate/rework",
    "/time_to_restore/count",
    "/time_to_detect/count",
    "/pr_stages/coding/count",
    "/pr_stages/pickup/count",
    "/pr_stages/deploy/count",
    "/deployment_frequency/weekly_median_deploy_days",
    "/data_quality/negative_lead_times",
    "/data_quality/negative_recovery_times",
    "/data_quality/negative_pr_stages",
    "/data_quality/baseline_deployments",
    "/data_quality/deployments_without_changes",
    "/data_quality/unknown_deployed_shas",
    "/data_quality/open_incidents",
    "/data_quality/inferred_incident_links",
    "/data_quality/incident_links/by_id",
    "/data_quality/incident_links/by_sha",
    "/data_quality/incident_links/inferred",
    "/data_quality/unlinked_incidents",
    "/data_quality/inverted_intervals",
    "/data_quality/flaky_runs",
    "/data_quality/partial_rollouts",
    "/data_quality/silent_services/0/service",
    "/data_quality/gaps/0/service",
    "/data_quality/flag_changes",
    "/signals/automated_share",
    "/signals/automated_unknown",
    "/signals/rollback_rate",
    "/signals/pipeline_success_rate",
    "/signals/time_in_ci/count",
    "/alert_quality/acknowledged",
    "/alert_quality/time_to_acknowledge/count",
    "/alert_quality/noise",
    "/alert_quality/linked_share",
    "/review_quality/size/count",
    "/review_quality/large_share",
    "/review_quality/reviewed_share",
    "/review_quality/unreviewed",
    "/findings/opened/critical",
    "/findings/fixed/high",
    "/findings/open_at_end/low",
    "/findings/time_to_fix/count",
    "/findings/top_categories/4/count",
    "/ai_assist/days",
    "/ai_assist/acceptance_rate",
    "/ai_assist/change_failure_rate",
];

#[test]
fn the_engine_agrees_with_a_naive_reading_of_the_spec_on_random_histories() {
    let p = Pseudonymiser::from_key([1; 32]);
    let mut compared = 0;
    // Which rules the histories exercised: a comparison of empty reports proves nothing.
    let mut seen: HashMap<String, u64> = HashMap::new();
    for seed in 0..300u64 {
        let lines = history(seed);
        let mut ev = EventSet::from_events(
            lines
                .iter()
                .map(|l| parse_event_json(l, &p).unwrap_or_else(|e| panic!("{l}: {e}"))),
        );
        // Review sampling (governance.md rule 6) as ingest applies it: a
        // third of the pull requests lose their review detail.
        for pr in &mut ev.pull_requests {
            if pr.id.as_str().bytes().map(u64::from).sum::<u64>() % 3 == 0 {
                pr.first_review_at = None;
                pr.approved_at = None;
                pr.review_kept = false;
                *seen.entry("sampled-out review".into()).or_default() += 1;
            }
        }
        // The 5-minute noise edge, hit exactly.
        for i in &ev.incidents {
            let seen_at = i.detected_at.unwrap_or(i.started_at);
            if i.acknowledged_at.is_none()
                && i.resolved_at
                    .is_some_and(|r| r.micros() - seen_at.micros() == 300_000_000)
            {
                *seen.entry("noise at exactly 300 s".into()).or_default() += 1;
            }
        }
        let mut cfg = EngineConfig::default();
        if seed % 4 == 2 {
            cfg.assist_min_users = 5;
        }
        if seed % 7 == 3 {
            cfg.infer_incident_links = false;
        }
        if seed % 5 == 1 {
            cfg.link_window_micros = 3 * 3600 * 1_000_000;
        }
        let (merged, rollouts) = merge_rollouts(&ev, &cfg);
        let naive = Naive {
            raw: &ev,
            ev: &merged,
            cfg: cfg.clone(),
            rollouts,
        };
        let input = ReportInput::from_events(ev.clone(), &cfg);
        let ledger = Ledger::build(&input, &cfg);
        let mut rng = Rng::new(seed ^ 0xabc);
        let mut scopes: Vec<Scope> = ["svc1", "svc2", "svc3"]
            .iter()
            .map(|s| Scope::Service(Name::parse(s).unwrap()))
            .collect();
        scopes.push(Scope::Org);
        scopes.push(Scope::Team {
            name: Name::parse("t").unwrap(),
            services: ["svc1", "svc3"]
                .iter()
                .map(|s| Name::parse(s).unwrap())
                .collect(),
        });
        for _ in 0..3 {
            let from = BASE + rng.below(20 * 86_400) as i64 - 10 * 86_400;
            let from = if rng.chance(0.5) {
                from - from.rem_euclid(86_400)
            } else {
                from
            };
            let to = from + 1 + rng.below(60 * 86_400) as i64;
            let w = Window::new(
                Timestamp::from_micros(from * 1_000_000),
                Timestamp::from_micros(to * 1_000_000),
            )
            .unwrap();
            for scope in &scopes {
                let engine = serde_json::to_value(ledger.report(scope, w)).unwrap();
                let oracle = naive.report(scope, w);
                if let Err(e) = same(&engine, &oracle, "report") {
                    panic!(
                        "seed {seed}, scope {scope:?}, window {:?}: {e}\n{}",
                        (w.from.to_rfc3339(), w.to.to_rfc3339()),
                        lines.join("\n")
                    );
                }
                compared += 1;
                if let Scope::Team { name, .. } = scope
                    && ev.assist_usage.iter().any(|d| {
                        &d.team == name
                            && w.contains(d.day)
                            && d.active_users < cfg.assist_min_users.max(3)
                    })
                {
                    *seen
                        .entry("assist day under the threshold".into())
                        .or_default() += 1;
                }
                for path in EXERCISED {
                    // A positive number, or any text (a list's entry).
                    if engine
                        .pointer(path)
                        .is_some_and(|v| v.as_f64().is_some_and(|v| v > 0.0) || v.is_string())
                    {
                        *seen.entry(path.to_string()).or_default() += 1;
                    }
                }
                for band in ["elite", "high", "medium", "low"] {
                    for m in ["deployment_frequency", "lead_time", "change_failure_rate"] {
                        if engine[m]["band"] == band {
                            *seen.entry(format!("{m}={band}")).or_default() += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(compared, 300 * 3 * 5);
    let mut missing: Vec<String> = Vec::new();
    let bands = [
        "sampled-out review",
        "noise at exactly 300 s",
        "assist day under the threshold",
        "deployment_frequency=high",
        "deployment_frequency=low",
        "lead_time=elite",
        "lead_time=high",
        "change_failure_rate=elite",
        "change_failure_rate=low",
    ];
    for key in EXERCISED.iter().chain(bands.iter()) {
        if seen.get(*key).copied().unwrap_or(0) < 3 {
            missing.push(key.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "rules the random histories barely exercised: {missing:?}\n{seen:#?}"
    );
}
