//! hygiene.md: the checks that say where the data may lie (F2–F4 here)
//! and the signals that explain the figures (M6–M10), over one scope and
//! window of a ledger.

use crate::ledger::Ledger;
use crate::report::{DataQuality, ratio};
use crate::runs::{RunDay, RunFact, RunTally};
use crate::stats::Stats;
use crate::tally::DeployTally;
use crate::{Scope, Window};
use foldhash::{HashMap, HashMapExt, HashSet};
use lantern_events::*;
use serde::Serialize;

/// hygiene.md F1: a service whose deployment events stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilentService {
    pub service: String,
    /// Its last successful production deployment, RFC 3339.
    pub last_deployment: String,
}

/// hygiene.md F7: whole UTC days `[from, to)` in which nothing at all was
/// heard of a service, far longer than its usual gap between deployments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gap {
    pub service: String,
    pub from: String,
    pub to: String,
}

/// hygiene.md F1: a webhook receiver that stopped delivering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilentSource {
    pub source: String,
    /// The start of the last minute it delivered in, RFC 3339.
    pub last_delivery: String,
}

/// hygiene.md `signals` (seed 003's M6–M10; M1–M5 and M8 are in the
/// report already).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signals {
    /// Deployments in P with `automated: true` ÷ those that say.
    pub automated_share: Option<f64>,
    /// Deployments in P that do not say whether they were automated.
    pub automated_unknown: u64,
    /// Rollbacks in P ÷ |P|.
    pub rollback_rate: Option<f64>,
    /// First attempts of the scope's repositories' runs finished in W:
    /// success ÷ (success + failure).
    pub pipeline_success_rate: Option<f64>,
    /// `finished_at − started_at` of successful runs (every attempt).
    pub time_in_ci: Stats,
}

/// The median of the gaps (µs) between consecutive instants, in order;
/// 0 with fewer than two.
fn median_gap(times: &[Timestamp]) -> f64 {
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1].micros() - w[0].micros()) as f64)
        .collect();
    gaps.sort_by(f64::total_cmp);
    match gaps.is_empty() {
        true => 0.0,
        false => crate::stats::percentile(&gaps, 0.5),
    }
}

/// One repository's runs as handed over: whole days and single runs.
pub(crate) type RepoRuns<'e> = (Vec<&'e RunDay>, Vec<&'e RunFact>);

impl<'e> Ledger<'e> {
    /// The figures of the scope's repositories' runs finished in the
    /// window (every repository for the organisation, as for `pr_stages`).
    pub(crate) fn run_tally(&self, scope: &Scope, window: &Window) -> RunTally {
        let facts = &self.input.pipeline_runs;
        let mut tally = RunTally::default();
        let mut add = |days: &mut dyn Iterator<Item = &RunDay>,
                       runs: &mut dyn Iterator<Item = &RunFact>| {
            // A store sums only days its window holds whole, and buckets
            // are cut at midnights: a day is in a window whole or not at all.
            for d in days.filter(|d| window.from <= d.starts_at() && d.ends_at() <= window.to) {
                tally.add_day(d);
            }
            for r in runs.filter(|r| window.contains(r.finished_at)) {
                tally.add_run(r);
            }
        };
        match self.input.repos_deployed_by(scope) {
            None => add(&mut facts.days.iter(), &mut facts.runs.iter()),
            Some(repos) => {
                let by_repo = self.runs_by_repo.get_or_init(|| {
                    let mut map: HashMap<&Name, RepoRuns> = HashMap::new();
                    for d in &facts.days {
                        map.entry(&d.repo).or_default().0.push(d);
                    }
                    for r in &facts.runs {
                        map.entry(&r.repo).or_default().1.push(r);
                    }
                    map
                });
                let repos: HashSet<&Name> = repos.collect();
                for (days, runs) in repos.into_iter().filter_map(|r| by_repo.get(r)) {
                    add(&mut days.iter().copied(), &mut runs.iter().copied());
                }
            }
        }
        tally
    }

    pub(crate) fn signals(&self, tally: &DeployTally, runs: &mut RunTally) -> Signals {
        let deployments = tally.deployments();
        Signals {
            automated_share: ratio(tally.automated, tally.automation_stated),
            automated_unknown: deployments - tally.automation_stated,
            rollback_rate: ratio(tally.rollbacks, deployments),
            pipeline_success_rate: ratio(
                runs.first_success,
                runs.first_success + runs.first_failure,
            ),
            time_in_ci: Stats::of_micros(&mut runs.success_micros),
        }
    }

    /// F2 `unlinked_incidents` and F3 `inverted_intervals` (F4 `flaky_runs`
    /// comes with the runs' tally).
    /// `incidents`: the scope's started in W; `linked`: those of them
    /// linked to a deployment.
    pub(crate) fn hygiene(
        &self,
        scope: &Scope,
        incidents: &[&Incident],
        linked: &HashSet<&EventId>,
        window: &Window,
        dq: &mut DataQuality,
    ) {
        for inc in incidents {
            if !linked.contains(&inc.id) && inc.cause != Some(IncidentCause::External) {
                dq.unlinked_incidents += 1;
            }
            if inc.resolved_at.is_some_and(|r| r < inc.started_at) {
                dq.inverted_intervals += 1;
            }
        }
        dq.flag_changes = self
            .input
            .flag_changes
            .iter()
            // Stores hand over those touching the whole window; a bucket
            // is narrower.
            .filter(|a| a.from < window.to && a.to.unwrap_or(a.from) >= window.from)
            .filter(|a| match (&a.scope, scope) {
                (_, Scope::Org) => true,
                (AnnotationScope::Service(s), _) => scope.contains(s),
                (AnnotationScope::Team(t), Scope::Team { name, .. }) => t == name,
                _ => false,
            })
            .count() as u64;
        dq.silent_services = self.silent_services(scope, window);
        dq.gaps = self.gaps(scope, window);
        dq.silent_sources = self.silent_sources(window);
        let repos: Option<HashSet<&Name>> =
            self.input.repos_deployed_by(scope).map(Iterator::collect);
        dq.future_timestamps = self
            .input
            .future_events
            .iter()
            .filter(|a| window.contains(a.received_at))
            .filter(|a| match scope {
                Scope::Org => true,
                _ => {
                    a.services.iter().any(|s| scope.contains(s))
                        || a.repo
                            .as_ref()
                            .is_some_and(|r| repos.as_ref().is_some_and(|set| set.contains(r)))
                }
            })
            .count() as u64;
        // Partial rollouts and deployments' inverted intervals come with
        // the deployment tally.
    }

    /// F1 `silent_services`: services of S with at least two successful
    /// production deployments in the 90 days before `to` whose last one is
    /// more than max(7 days, 4 × their median gap) before `to`.
    fn silent_services(&self, scope: &Scope, window: &Window) -> Vec<SilentService> {
        let since = window.to.plus_micros(-90 * MICROS_PER_DAY);
        let mut out = Vec::new();
        for (service, mut times) in self.finishes_by_service(scope, since, window.to) {
            times.sort_unstable();
            let (Some(first), Some(&last)) = (times.first(), times.last()) else {
                continue;
            };
            if times.len() < 2 || *first > last {
                continue;
            }
            let median = median_gap(&times);
            let allowed = (7 * MICROS_PER_DAY) as f64;
            if (window.to.micros() - last.micros()) as f64 > allowed.max(4.0 * median) {
                out.push(SilentService {
                    service: service.to_string(),
                    last_deployment: last.to_rfc3339(),
                });
            }
        }
        out.sort_by(|a, b| a.service.cmp(&b.service));
        out
    }

    /// When each service of the scope's successful production deployments
    /// finished in `[since, to)`: from the ledger and what a store handed
    /// over by time alone, or from kept days.
    fn finishes_by_service(
        &self,
        scope: &Scope,
        since: Timestamp,
        to: Timestamp,
    ) -> Vec<(&'e Name, Vec<Timestamp>)> {
        let within = |t: &Timestamp| since <= *t && *t < to;
        if let Some(kept) = &self.input.kept {
            let mut by: HashMap<&'e Name, Vec<Timestamp>> = HashMap::new();
            for ((service, _), t) in &kept.tallies {
                if scope.contains(service) {
                    let times = t.finishes.iter().map(|&m| Timestamp::from_micros(m));
                    by.entry(service).or_default().extend(times.filter(within));
                }
            }
            return by.into_iter().collect();
        }
        // A service heard of only before the window is the likeliest to be
        // silent.
        let earlier_only = self
            .earlier()
            .keys()
            .filter(|s| !self.services.contains_key(*s));
        let services = self.services.keys().chain(earlier_only);
        services
            .filter(|s| scope.contains(s))
            .map(|&service| {
                let spds = match self.services.get(service) {
                    Some(range) => &self.spds[range.clone()],
                    None => &[],
                };
                let times = spds
                    .iter()
                    .map(|s| s.finished_at)
                    .chain(self.earlier_of(service).iter().copied())
                    .filter(within)
                    .collect();
                (service, times)
            })
            .collect()
    }

    /// A service's successful production deployments a store handed over
    /// by time alone (`ReportInput::earlier_deployments`), in order.
    fn earlier_of(&self, service: &Name) -> &[Timestamp] {
        self.earlier().get(service).map_or(&[], Vec::as_slice)
    }

    fn earlier(&self) -> &HashMap<&'e Name, Vec<Timestamp>> {
        self.earlier_by_service.get_or_init(|| {
            let mut map: HashMap<&Name, Vec<Timestamp>> = HashMap::new();
            for (s, t) in &self.input.earlier_deployments {
                map.entry(s).or_default().push(*t);
            }
            map.values_mut().for_each(|v| v.sort_unstable());
            map
        })
    }

    /// F7 `gaps`: for each service of S with at least two deployment days
    /// in W (successful production ones), the runs of whole UTC days inside
    /// W with no event for it — its deployments, incidents affecting it,
    /// changes of its repositories — longer than 3 × the median gap in days
    /// between its consecutive deployment days.
    fn gaps(&self, scope: &Scope, window: &Window) -> Vec<Gap> {
        let day = |t: Timestamp| t.micros().div_euclid(MICROS_PER_DAY);
        let first = window.from.micros().div_euclid(MICROS_PER_DAY)
            + i64::from(window.from.micros().rem_euclid(MICROS_PER_DAY) != 0);
        let end = day(window.to); // whole days are first..end
        let mut out = Vec::new();
        // Each service's days with a successful production deployment in
        // the window, in order: from the ledger or from kept days.
        let mut deploy_days: Vec<(&Name, Vec<i64>)> = match &self.input.kept {
            Some(kept) => kept.deploy_days(scope, window).into_iter().collect(),
            None => self
                .services
                .iter()
                .filter(|(s, _)| scope.contains(s))
                .map(|(&service, range)| {
                    let mut days: Vec<i64> = self.spds[range.clone()]
                        .iter()
                        .map(|s| s.finished_at)
                        .filter(|&t| window.contains(t))
                        .map(day)
                        .collect();
                    days.dedup();
                    (service, days)
                })
                .collect(),
        };
        if deploy_days.is_empty() || first >= end {
            return Vec::new();
        }
        deploy_days.sort_by_key(|(s, _)| *s);
        // Days with an event, per service (deployments, incidents) and per
        // repository (changes), within the window's whole days: built once,
        // as one bit per day.
        let days = DaySet::empty(first, end);
        let mut deployed: HashMap<&Name, DaySet> = HashMap::new();
        let mut deployed_on = |service: &'e Name, k: i64| {
            if days.holds(k) {
                deployed
                    .entry(service)
                    .or_insert_with(|| days.clone())
                    .insert(k);
            }
        };
        match &self.input.kept {
            Some(kept) => (kept.deployed.iter()).for_each(|(s, k)| deployed_on(s, *k)),
            None => (self.input.deployments.iter())
                .for_each(|d| deployed_on(&d.service, day(d.finished_at))),
        }
        let mut troubled: HashMap<&Name, DaySet> = HashMap::new();
        for i in &self.input.incidents {
            let k = day(i.started_at);
            if days.holds(k) {
                for s in i.affected() {
                    troubled.entry(s).or_insert_with(|| days.clone()).insert(k);
                }
            }
        }
        let mut changed: HashMap<&Name, DaySet> = HashMap::new();
        for (repo, k) in &self.input.change_days {
            if days.holds(*k) {
                changed
                    .entry(repo)
                    .or_insert_with(|| days.clone())
                    .insert(*k);
            }
        }
        let mut repos_of: HashMap<&Name, Vec<&Name>> = HashMap::new();
        for (s, repo) in &self.input.deployed_repos {
            repos_of.entry(s).or_default().push(repo);
        }
        for (service, deploy_days) in deploy_days {
            if deploy_days.len() < 2 {
                continue;
            }
            let mut gaps: Vec<f64> = deploy_days
                .windows(2)
                .map(|w| (w[1] - w[0]) as f64)
                .collect();
            gaps.sort_by(f64::total_cmp);
            let limit = 3.0 * crate::stats::percentile(&gaps, 0.5);
            let mut active = days.clone();
            let repos = repos_of.get(service).into_iter().flatten();
            for set in [deployed.get(service), troubled.get(service)]
                .into_iter()
                .chain(repos.map(|r| changed.get(*r)))
                .flatten()
            {
                active.union(set);
            }
            let mut run_start: Option<i64> = None;
            for d in first..=end {
                let quiet = d < end && !active.contains(d);
                match (quiet, run_start) {
                    (true, None) => run_start = Some(d),
                    (false, Some(start)) => {
                        if (d - start) as f64 > limit {
                            out.push(Gap {
                                service: service.to_string(),
                                from: Timestamp::from_micros(start * MICROS_PER_DAY).to_rfc3339(),
                                to: Timestamp::from_micros(d * MICROS_PER_DAY).to_rfc3339(),
                            });
                        }
                        run_start = None;
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// F1 `silent_sources`: receivers that delivered in the 30 days before
    /// `to` but not in the last max(24 h, 10 × their median gap).
    fn silent_sources(&self, window: &Window) -> Vec<SilentSource> {
        let since = window.to.plus_micros(-30 * MICROS_PER_DAY);
        let mut out = Vec::new();
        for (source, minutes) in &self.input.deliveries {
            let mut times: Vec<Timestamp> = minutes
                .iter()
                .copied()
                .filter(|&t| since <= t && t < window.to)
                .collect();
            times.sort_unstable();
            let Some(&last) = times.iter().max() else {
                continue;
            };
            let median = median_gap(&times);
            let allowed = (MICROS_PER_DAY as f64).max(10.0 * median);
            if (window.to.micros() - last.micros()) as f64 > allowed {
                out.push(SilentSource {
                    source: source.clone(),
                    last_delivery: last.to_rfc3339(),
                });
            }
        }
        out.sort_by(|a, b| a.source.cmp(&b.source));
        out
    }

    /// F2 `unknown_incident_services`: incidents started in W whose service
    /// is in no team of the catalog (`known`). The catalog is the caller's.
    pub fn unknown_incident_services(
        &self,
        scope: &Scope,
        window: &Window,
        known: &std::collections::BTreeSet<Name>,
    ) -> u64 {
        self.incidents_in(scope)
            .iter()
            .filter(|i| window.contains(i.started_at) && !known.contains(&i.service))
            .count() as u64
    }
}

/// A set of UTC days within `[first, end)`, one bit each: F7 unites the
/// days of a service's deployments, incidents and repositories' changes
/// for each of hundreds of services.
#[derive(Clone)]
struct DaySet {
    first: i64,
    end: i64,
    bits: Vec<u64>,
}

impl DaySet {
    fn empty(first: i64, end: i64) -> DaySet {
        let n = usize::try_from(end.saturating_sub(first)).unwrap_or(0);
        DaySet {
            first,
            end,
            bits: vec![0; n.div_ceil(64)],
        }
    }

    fn holds(&self, day: i64) -> bool {
        self.first <= day && day < self.end
    }

    fn insert(&mut self, day: i64) {
        if self.holds(day) {
            let i = (day - self.first) as usize;
            self.bits[i / 64] |= 1 << (i % 64);
        }
    }

    fn contains(&self, day: i64) -> bool {
        self.holds(day) && {
            let i = (day - self.first) as usize;
            self.bits[i / 64] & (1 << (i % 64)) != 0
        }
    }

    /// Adds every day of `other`, a set over the same days.
    fn union(&mut self, other: &DaySet) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a |= b;
        }
    }
}
