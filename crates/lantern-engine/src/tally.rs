//! The report's deployment figures as sums: a [`DeployTally`] of some
//! deployments holds counts and durations, never the deployments, and the
//! tally of a union is the sum of its parts' tallies in any order.
//!
//! Why: a report over whole UTC days can then add kept tallies, one per
//! service and day, instead of reading and relating every deployment of
//! its window (issue 23's kept form). The report computes its own
//! figures through the same tallies, so the two ways cannot drift apart.
//!
//! Durations are kept in whole microseconds: [`Stats::of_micros`] gives
//! the figures converting each to seconds would, and the percentiles are
//! selected over the union's values — exact, not approximated.

use crate::bands;
use crate::calendar::{whole_months, whole_weeks};
use crate::facts::ShipRule;
use crate::input::{Scope, Window};
use crate::ledger::{Ledger, LinkKind};
use crate::report::{
    BandedStats, ChangeFailureRate, DataQuality, DeploymentFrequency, FailureCauses, IncidentLinks,
    RecoveryTime, ReworkRate, SuccessRate, ratio,
};
use crate::stats::{Stats, median_of_counts};
use lantern_events::*;
use std::collections::BTreeMap;

/// What the deployment figures of a report are made of, for a set of
/// deployments: P, its successful production ones, and the others of its
/// services (attempts, inverted intervals).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployTally {
    /// How many of P finished on each UTC day (days since the epoch):
    /// (day, count) pairs in no order, a day possibly more than once
    /// ([`DeployTally::day_counts`] sums them). A kept day's tally holds
    /// one; a sum of tens of thousands appends without merging.
    pub days: Vec<(i64, u64)>,
    /// Lead times of P's shipped changes, µs; negative ones are counted
    /// in `negative_lead_times` instead.
    pub lead_times: Vec<i64>,
    pub negative_lead_times: u64,
    pub baselines: u64,
    pub without_changes: u64,
    pub unknown_shas: u64,
    pub failed: u64,
    pub causes: FailureCauses,
    pub links: IncidentLinks,
    /// Recovery times of P's failed deployments that recovered, µs.
    pub recoveries: Vec<i64>,
    pub negative_recovery_times: u64,
    pub unresolved: u64,
    pub rework: u64,
    /// Of P: those that said whether they were automated, those that were,
    /// and rollbacks (hygiene.md's signals).
    pub automation_stated: u64,
    pub automated: u64,
    pub rollbacks: u64,
    /// Production deployments that succeeded or failed (cancelled ones
    /// are no attempt), and those that succeeded.
    pub attempts: u64,
    pub succeeded: u64,
    /// Deployments of any environment and status that finished before
    /// they started (hygiene.md F3).
    pub inverted: u64,
    /// Rollouts whose last member finished here with both a successful
    /// and a failed or cancelled member (hygiene.md F6).
    pub partial_rollouts: u64,
    /// When each of P finished, µs (hygiene.md F1's gaps, slo.md's
    /// deployments followed by burn).
    pub finishes: Vec<i64>,
}

/// The figures a [`DeployTally`] gives.
pub(crate) struct DeployFigures {
    pub deployment_frequency: DeploymentFrequency,
    pub lead_time: BandedStats,
    pub change_failure_rate: ChangeFailureRate,
    pub failed_deployment_recovery_time: RecoveryTime,
    pub rework_rate: ReworkRate,
    pub deployment_success_rate: SuccessRate,
}

impl DeployTally {
    /// The tally of the union of `parts`. Sized once: an organisation's
    /// window adds some 45 000 kept days, and growing its lists as it
    /// went copied and zeroed megabytes.
    pub fn sum(parts: &[&DeployTally]) -> DeployTally {
        let total = |list: fn(&DeployTally) -> usize| parts.iter().map(|t| list(t)).sum();
        let mut out = DeployTally {
            days: Vec::with_capacity(total(|t| t.days.len())),
            lead_times: Vec::with_capacity(total(|t| t.lead_times.len())),
            finishes: Vec::with_capacity(total(|t| t.finishes.len())),
            recoveries: Vec::with_capacity(total(|t| t.recoveries.len())),
            ..DeployTally::default()
        };
        for t in parts {
            out.add(t);
        }
        out
    }

    /// Adds `other` in: afterwards this is the tally of both sets.
    pub fn add(&mut self, other: &DeployTally) {
        self.days.extend_from_slice(&other.days);
        self.lead_times.extend_from_slice(&other.lead_times);
        self.finishes.extend_from_slice(&other.finishes);
        self.recoveries.extend_from_slice(&other.recoveries);
        let causes = &mut self.causes;
        causes.incident_explicit += other.causes.incident_explicit;
        causes.incident_inferred += other.causes.incident_inferred;
        causes.rollback += other.causes.rollback;
        causes.hotfix += other.causes.hotfix;
        self.links.by_id += other.links.by_id;
        self.links.by_sha += other.links.by_sha;
        self.links.inferred += other.links.inferred;
        for (mine, theirs) in [
            (&mut self.negative_lead_times, other.negative_lead_times),
            (&mut self.baselines, other.baselines),
            (&mut self.without_changes, other.without_changes),
            (&mut self.unknown_shas, other.unknown_shas),
            (&mut self.failed, other.failed),
            (
                &mut self.negative_recovery_times,
                other.negative_recovery_times,
            ),
            (&mut self.unresolved, other.unresolved),
            (&mut self.rework, other.rework),
            (&mut self.automation_stated, other.automation_stated),
            (&mut self.automated, other.automated),
            (&mut self.rollbacks, other.rollbacks),
            (&mut self.attempts, other.attempts),
            (&mut self.succeeded, other.succeeded),
            (&mut self.inverted, other.inverted),
            (&mut self.partial_rollouts, other.partial_rollouts),
        ] {
            *mine += theirs;
        }
    }

    /// How many of P there are.
    pub fn deployments(&self) -> u64 {
        self.days.iter().map(|&(_, n)| n).sum()
    }

    /// How many of P finished on each day, in day order.
    pub fn day_counts(&self) -> BTreeMap<i64, u64> {
        let mut out = BTreeMap::new();
        for &(day, n) in &self.days {
            *out.entry(day).or_default() += n;
        }
        out
    }

    /// The figures over `window`, which must hold every deployment
    /// tallied; the data-quality counts go into `dq`. Reorders the
    /// durations.
    pub(crate) fn figures(&mut self, window: &Window, dq: &mut DataQuality) -> DeployFigures {
        dq.baseline_deployments += self.baselines;
        dq.deployments_without_changes += self.without_changes;
        dq.unknown_deployed_shas += self.unknown_shas;
        dq.negative_lead_times += self.negative_lead_times;
        dq.negative_recovery_times += self.negative_recovery_times;
        dq.incident_links = self.links;
        dq.inferred_incident_links = self.links.inferred;
        dq.inverted_intervals += self.inverted;
        dq.partial_rollouts += self.partial_rollouts;
        let deployments = self.deployments();
        let lead = Stats::of_micros(&mut self.lead_times);
        let recovery = Stats::of_micros(&mut self.recoveries);
        let rate = ratio(self.failed, deployments);
        DeployFigures {
            deployment_frequency: self.frequency(window),
            lead_time: BandedStats {
                band: lead.median_s.map(bands::lead_time),
                stats: lead,
            },
            change_failure_rate: ChangeFailureRate {
                deployments,
                failed: self.failed,
                rate,
                band: rate.map(bands::change_failure_rate),
                by_cause: self.causes.clone(),
            },
            failed_deployment_recovery_time: RecoveryTime {
                band: recovery.median_s.map(bands::recovery),
                stats: recovery,
                unresolved: self.unresolved,
            },
            rework_rate: ReworkRate {
                deployments,
                rework: self.rework,
                rate: ratio(self.rework, deployments),
            },
            deployment_success_rate: SuccessRate {
                attempts: self.attempts,
                succeeded: self.succeeded,
                rate: ratio(self.succeeded, self.attempts),
            },
        }
    }

    fn frequency(&self, window: &Window) -> DeploymentFrequency {
        let day = |t: Timestamp| t.micros().div_euclid(MICROS_PER_DAY);
        let days = self.day_counts();
        // Weeks and months are whole UTC days, so a day's count is in one
        // or the other as a whole.
        let in_span = |w: &Window| days.range(day(w.from)..day(w.to));
        let weekly: Vec<u64> = whole_weeks(window)
            .iter()
            .map(|w| in_span(w).count() as u64)
            .collect();
        let weekly_median = median_of_counts(&weekly);
        let count = self.deployments();
        let band = weekly_median.map(|wm| {
            let months = whole_months(window);
            let monthly_ok = if months.is_empty() {
                count as f64 * 30.0 / window.days() >= 1.0
            } else {
                let per_month: Vec<u64> = months
                    .iter()
                    .map(|m| in_span(m).map(|(_, n)| n).sum())
                    .collect();
                median_of_counts(&per_month).is_some_and(|m| m >= 1.0)
            };
            bands::deployment_frequency(wm, monthly_ok)
        });
        DeploymentFrequency {
            count,
            per_day: count as f64 / window.days(),
            deploy_days: days.len() as u64,
            weekly_median_deploy_days: weekly_median,
            band,
        }
    }
}

impl<'e> Ledger<'e> {
    /// The tally of the scope's deployments that finished in the window.
    pub(crate) fn deploy_tally(&self, scope: &Scope, window: &Window) -> DeployTally {
        if let Some(kept) = &self.input.kept {
            let parts: Vec<&DeployTally> = kept.in_window(scope, window).map(|(_, t)| t).collect();
            return DeployTally::sum(&parts);
        }
        let mut tally = DeployTally::default();
        for i in self.spds_in(scope, window) {
            self.tally_spd(i, &mut tally);
        }
        for d in self.deployments_in(scope) {
            if window.contains(d.finished_at) {
                self.tally_other(d, &mut tally);
            }
        }
        tally.partial_rollouts = self.partial_rollouts(scope, window).count() as u64;
        tally
    }

    /// hygiene.md F6: (service, when) of the scope's partial rollouts in
    /// the window.
    fn partial_rollouts<'s>(
        &'s self,
        scope: &'s Scope,
        window: &'s Window,
    ) -> impl Iterator<Item = &'s (Name, Timestamp)> + 's {
        (self.input.rollouts.partial.iter())
            .filter(|(s, at)| scope.contains(s) && window.contains(*at))
    }

    /// One tally per service and UTC day of the scope's deployments that
    /// finished in the window: what a store keeps, to add up for any
    /// window of whole days later.
    pub fn day_tallies(
        &self,
        scope: &Scope,
        window: &Window,
    ) -> BTreeMap<(Name, i64), DeployTally> {
        let day = |t: Timestamp| t.micros().div_euclid(MICROS_PER_DAY);
        let mut out: BTreeMap<(Name, i64), DeployTally> = BTreeMap::new();
        for i in self.spds_in(scope, window) {
            let d = self.spds[i].d;
            let t = out.entry((d.service.clone(), day(d.finished_at)));
            self.tally_spd(i, t.or_default());
        }
        for d in self.deployments_in(scope) {
            if window.contains(d.finished_at) {
                let t = out.entry((d.service.clone(), day(d.finished_at)));
                self.tally_other(d, t.or_default());
            }
        }
        for (service, at) in self.partial_rollouts(scope, window) {
            let t = out.entry((service.clone(), day(*at)));
            t.or_default().partial_rollouts += 1;
        }
        out
    }

    /// Every incident of the input linked to a deployment, as alert
    /// quality and hygiene.md F2 count them ([`Ledger::linked_incidents`]),
    /// with the service of that deployment: what a store keeps beside its
    /// day tallies, rebuilt with that service's ([`KeptDays::linked_incidents`]).
    pub fn incident_links_by_service(&self) -> Vec<(EventId, Name)> {
        let input = self.input;
        let mut out: Vec<(EventId, Name)> = Vec::new();
        let mut linked: foldhash::HashSet<&EventId> = foldhash::HashSet::default();
        for spd in &self.spds {
            for &(n, _) in &spd.incidents {
                let id = &input.incidents[n].id;
                if linked.insert(id) {
                    out.push((id.clone(), spd.d.service.clone()));
                }
            }
        }
        // `caused_by` links whatever the deployment's environment or
        // status (the ledger keeps only successful production ones).
        let named: Vec<(&Incident, &EventId)> = (input.incidents.iter())
            .filter(|i| !linked.contains(&i.id))
            .filter_map(|i| Some((i, input.rollouts.resolve(i.caused_by.as_ref()?))))
            .collect();
        if !named.is_empty() {
            let services: foldhash::HashMap<&EventId, &Name> = input
                .deployments
                .iter()
                .map(|d| (&d.id, &d.service))
                .collect();
            for (incident, id) in named {
                if let Some(&service) = services.get(id) {
                    out.push((incident.id.clone(), service.clone()));
                }
            }
        }
        out
    }

    /// How many shipped changes of each of the scope's services have a
    /// lead time in the window (negatives left out), for the services with
    /// any.
    pub fn lead_times_by_service(&self, scope: &Scope, window: &Window) -> BTreeMap<&'e Name, u64> {
        let mut out: BTreeMap<&'e Name, u64> = BTreeMap::new();
        match &self.input.kept {
            Some(kept) => {
                // Tens of thousands of kept days, hundreds of services:
                // hashed, then ordered once.
                let mut counts: foldhash::HashMap<&Name, u64> = foldhash::HashMap::default();
                for (service, t) in kept.in_window(scope, window) {
                    *counts.entry(service).or_default() += t.lead_times.len() as u64;
                }
                out.extend(counts);
            }
            None => {
                for (service, range) in &self.services {
                    if !scope.contains(service) {
                        continue;
                    }
                    let values: usize = self.spds[range.clone()]
                        .iter()
                        .filter(|s| window.contains(s.finished_at))
                        .map(|s| {
                            let shipped = &s.facts.shipped;
                            shipped.iter().filter(|&&c| c <= s.finished_at).count()
                        })
                        .sum();
                    *out.entry(*service).or_default() += values as u64;
                }
            }
        }
        out.retain(|_, n| *n > 0);
        out
    }

    /// (service, finish) of the scope's successful production deployments
    /// that finished in the window.
    pub fn production_finishes(&self, scope: &Scope, window: &Window) -> Vec<(Name, Timestamp)> {
        match &self.input.kept {
            Some(kept) => kept
                .in_window(scope, window)
                .flat_map(|(service, t)| {
                    t.finishes
                        .iter()
                        .map(|&m| (service.clone(), Timestamp::from_micros(m)))
                })
                .collect(),
            None => self
                .spds
                .iter()
                .filter(|s| scope.contains(&s.d.service) && window.contains(s.d.finished_at))
                .map(|s| (s.d.service.clone(), s.d.finished_at))
                .collect(),
        }
    }

    /// Adds the successful production deployment at position `i` (of P).
    fn tally_spd(&self, i: usize, t: &mut DeployTally) {
        let spd = &self.spds[i];
        let finished = spd.finished_at.micros();
        match t.days.last_mut() {
            Some((day, n)) if *day == finished.div_euclid(MICROS_PER_DAY) => *n += 1,
            _ => t.days.push((finished.div_euclid(MICROS_PER_DAY), 1)),
        }
        t.finishes.push(finished);
        let facts = spd.facts;
        match facts.rule {
            ShipRule::Baseline => t.baselines += 1,
            _ if facts.shipped.is_empty() => t.without_changes += 1,
            _ => {}
        }
        t.unknown_shas += u64::from(!facts.sha_known);
        for &committed_at in &facts.shipped {
            push_micros(
                &mut t.lead_times,
                &mut t.negative_lead_times,
                finished - committed_at.micros(),
            );
        }
        for &(_, kind) in &spd.incidents {
            match kind {
                LinkKind::ById => t.links.by_id += 1,
                LinkKind::BySha => t.links.by_sha += 1,
                LinkKind::Inferred => t.links.inferred += 1,
            }
        }
        let explicit = spd.incidents.iter().any(|&(_, k)| k.is_explicit());
        let inferred = spd.incidents.iter().any(|&(_, k)| k == LinkKind::Inferred);
        t.causes.incident_explicit += u64::from(explicit);
        t.causes.incident_inferred += u64::from(inferred);
        t.causes.rollback += u64::from(spd.first_rollback.is_some());
        t.causes.hotfix += u64::from(spd.hotfix.is_some());
        if spd.failed() {
            t.failed += 1;
            let end = self.recovered_at(i);
            if end.is_none() && !spd.incidents.is_empty() {
                t.unresolved += 1;
            }
            if let Some(end) = end {
                push_micros(
                    &mut t.recoveries,
                    &mut t.negative_recovery_times,
                    end.micros() - finished,
                );
            }
        }
        t.rework += u64::from(spd.rework);
        let d = spd.d;
        if let Some(a) = d.automated {
            t.automation_stated += 1;
            t.automated += u64::from(a);
        }
        t.rollbacks += u64::from(d.kind == Some(DeploymentKind::Rollback));
    }

    /// Adds a deployment of any environment and status (P's included):
    /// its attempt, and whether it ends before it starts.
    fn tally_other(&self, d: &Deployment, t: &mut DeployTally) {
        if self.config.is_production(d.environment.as_str()) {
            match d.status {
                DeploymentStatus::Success => {
                    t.attempts += 1;
                    t.succeeded += 1;
                }
                DeploymentStatus::Failure => t.attempts += 1,
                DeploymentStatus::Cancelled => {}
            }
        }
        t.inverted += u64::from(d.started_at.is_some_and(|s| s > d.finished_at));
    }
}

/// Keeps a non-negative duration, or counts a negative one.
fn push_micros(values: &mut Vec<i64>, negatives: &mut u64, micros: i64) {
    match micros < 0 {
        true => *negatives += 1,
        false => values.push(micros),
    }
}
