//! What Lantern exports to Prometheus per service (issue 22): counts and
//! durations over every deployment a ledger holds, so that counters only
//! grow as history does (they are read from the store, never from a
//! process's memory). The same rules as the report: a deployment is a
//! successful production one (rollouts merged), failed and rework as
//! metrics.md decides, lead time per shipped change, recovery per failed
//! deployment that recovered.

use crate::Ledger;
use crate::report::push_duration;
use lantern_events::{Name, Timestamp};

/// The histograms' upper bounds: 1 hour, 1 day, 1 week, 30 and 180 days.
pub const DURATION_BUCKETS: [f64; 5] = [3_600.0, 86_400.0, 604_800.0, 2_592_000.0, 15_552_000.0];

/// A cumulative histogram over [`DURATION_BUCKETS`], in seconds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    /// How many observations were at most each bound.
    pub buckets: [u64; 5],
    pub count: u64,
    pub sum: f64,
}

impl Histogram {
    pub fn of(values: &[f64]) -> Self {
        let mut h = Histogram::default();
        for &v in values {
            for (bound, n) in DURATION_BUCKETS.iter().zip(h.buckets.iter_mut()) {
                if v <= *bound {
                    *n += 1;
                }
            }
            h.count += 1;
            h.sum += v;
        }
        h
    }
}

/// One service's series.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSeries<'e> {
    pub service: &'e Name,
    /// Successful production deployments (a rollout once).
    pub deployed: u64,
    pub failed: u64,
    pub rework: u64,
    pub lead_time: Histogram,
    pub recovery_time: Histogram,
    pub last_deployment: Option<Timestamp>,
}

impl<'e> Ledger<'e> {
    /// Every service's series, by name.
    pub fn service_series(&self) -> Vec<ServiceSeries<'e>> {
        let mut services: Vec<(&'e Name, std::ops::Range<usize>)> = self
            .services
            .iter()
            .map(|(name, range)| (*name, range.clone()))
            .collect();
        services.sort_by(|a, b| a.0.cmp(b.0));
        services
            .into_iter()
            .map(|(service, range)| {
                let (mut lead, mut recovery, mut negatives) = (Vec::new(), Vec::new(), 0u64);
                let (mut failed, mut rework, mut last) = (0, 0, None);
                for i in range.clone() {
                    let spd = &self.spds[i];
                    for &committed_at in &spd.facts.shipped {
                        push_duration(
                            &mut lead,
                            &mut negatives,
                            spd.finished_at.seconds_since(committed_at),
                        );
                    }
                    if spd.failed() {
                        failed += 1;
                        if let Some(end) = self.recovered_at(i) {
                            push_duration(
                                &mut recovery,
                                &mut negatives,
                                end.seconds_since(spd.finished_at),
                            );
                        }
                    }
                    rework += u64::from(spd.rework);
                    last = last.max(Some(spd.finished_at));
                }
                ServiceSeries {
                    service,
                    deployed: range.len() as u64,
                    failed,
                    rework,
                    lead_time: Histogram::of(&lead),
                    recovery_time: Histogram::of(&recovery),
                    last_deployment: last,
                }
            })
            .collect()
    }
}

/// One successful production deployment as a catalog page shows it
/// (Backstage): when it finished, its changes' lead time, and whether and
/// when it failed and recovered. No person, title or message.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentRecord<'e> {
    pub deployment: &'e lantern_events::Deployment,
    pub finished_at: Timestamp,
    /// The earliest commit it shipped.
    pub first_commit_at: Option<Timestamp>,
    /// The median lead time of the changes it shipped, in seconds.
    pub lead_time_s: Option<f64>,
    pub failed: bool,
    /// When its failure showed: its first linked incident's start, else
    /// the rollback's or hotfix's finish.
    pub failed_at: Option<Timestamp>,
    pub recovered_at: Option<Timestamp>,
}

impl<'e> Ledger<'e> {
    /// A service's successful production deployments that finished in
    /// `window`, in time order.
    pub fn deployment_records(
        &self,
        service: &Name,
        window: &crate::Window,
    ) -> Vec<DeploymentRecord<'e>> {
        let Some(range) = self.services.get(service) else {
            return Vec::new();
        };
        range
            .clone()
            .filter(|&i| window.contains(self.spds[i].finished_at))
            .map(|i| {
                let spd = &self.spds[i];
                let mut lead = Vec::new();
                let mut negatives = 0;
                for &c in &spd.facts.shipped {
                    push_duration(&mut lead, &mut negatives, spd.finished_at.seconds_since(c));
                }
                let failed = spd.failed();
                let failed_at = if !failed {
                    None
                } else if !spd.incidents.is_empty() {
                    spd.incidents
                        .iter()
                        .map(|&(n, _)| self.input.incidents[n].started_at)
                        .min()
                } else {
                    spd.first_rollback
                        .or(spd.hotfix)
                        .map(|j| self.spds[j].finished_at)
                };
                DeploymentRecord {
                    deployment: spd.d,
                    finished_at: spd.finished_at,
                    first_commit_at: spd.facts.shipped.iter().copied().min(),
                    lead_time_s: crate::Stats::of(&mut lead).median_s,
                    failed,
                    failed_at,
                    recovered_at: if failed { self.recovered_at(i) } else { None },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_inclusive() {
        let h = Histogram::of(&[0.0, 3_600.0, 3_601.0, 100_000_000.0]);
        assert_eq!(h.buckets, [2, 3, 3, 3, 3]);
        assert_eq!(h.count, 4);
        assert_eq!(h.sum, 100_007_201.0);
    }
}
