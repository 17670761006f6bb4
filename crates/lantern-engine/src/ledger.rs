//! Window-independent relations between successful production
//! deployments: order, rollbacks, hotfixes and incident links — built from
//! a [`ReportInput`] (deployments, incidents and derived [`Facts`]), so it
//! needs no commit history. A report then only filters by window and scope.

use crate::facts::{DeploymentFacts, FirstDeploy, ShipRule, production_positions};
use crate::input::{EngineConfig, ReportInput};
use foldhash::{HashMap, HashMapExt};
use lantern_events::*;

/// How an incident came to be linked to a deployment (metrics.md, change
/// failure rate): stated by the source, or inferred from timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// The incident's `caused_by` names the deployment.
    ById,
    /// The incident's `caused_by_sha` was first shipped by the deployment.
    BySha,
    /// The service's last deployment within the link window before it.
    Inferred,
}

impl LinkKind {
    /// Stated by the source (`incident_explicit` in `by_cause`).
    pub fn is_explicit(self) -> bool {
        self != LinkKind::Inferred
    }

    /// The name reports and pages use: `by_id`, `by_sha` or `inferred`.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::ById => "by_id",
            LinkKind::BySha => "by_sha",
            LinkKind::Inferred => "inferred",
        }
    }
}

/// A successful production deployment and what is known about it.
pub struct Spd<'e> {
    pub d: &'e Deployment,
    pub facts: &'e DeploymentFacts,
    /// `d.finished_at`, kept beside the links: reports read it for every
    /// deployment in service order, where `d` is far away in memory.
    pub finished_at: Timestamp,
    pub prev: Option<usize>,
    pub next: Option<usize>,
    /// When it went live: its finish, or a rollout's first successful
    /// member's (incident inference and rework read this, hygiene.md).
    pub live: Timestamp,
    /// Incidents (indices into the input) linked to this deployment.
    pub incidents: Vec<(usize, LinkKind)>,
    pub first_rollback: Option<usize>,
    /// Set when the next deployment of the service is a hotfix.
    pub hotfix: Option<usize>,
    /// metrics.md rework: a hotfix or a rollback, or (kind unknown)
    /// deployed while an incident of its service was open. Decided while
    /// the ledger is built, reading the deployments in their input order:
    /// a report reading each one's kind later, in service order, waited
    /// on memory for every one of a hundred thousand.
    pub rework: bool,
}

impl Spd<'_> {
    /// metrics.md: failed when an incident is linked to it, a rollback
    /// rolls it back, or the next deployment is a hotfix.
    pub fn failed(&self) -> bool {
        !self.incidents.is_empty() || self.first_rollback.is_some() || self.hotfix.is_some()
    }
}

/// Used when a store has no facts for a deployment (it cannot happen
/// through Lantern; a hand-edited database might): a baseline.
static NO_FACTS: DeploymentFacts = DeploymentFacts {
    rule: ShipRule::Baseline,
    shipped: Vec::new(),
    sha_known: true,
};

/// Of the deployments that first shipped an incident's `caused_by_sha`
/// (one per service), the earliest of an affected service: the deployment
/// a `caused_by_sha` link names.
pub fn first_shipped<'a>(
    incident: &Incident,
    links: impl IntoIterator<Item = &'a FirstDeploy>,
) -> Option<&'a FirstDeploy> {
    links
        .into_iter()
        .filter(|l| l.subject == incident.id)
        .filter(|l| incident.affected().any(|s| s == &l.service))
        .min_by(|a, b| {
            (a.finished_at, a.deployment.as_str().as_bytes())
                .cmp(&(b.finished_at, b.deployment.as_str().as_bytes()))
        })
}

pub struct Ledger<'e> {
    pub input: &'e ReportInput,
    pub config: EngineConfig,
    /// Each service's deployments contiguous and in order.
    pub spds: Vec<Spd<'e>>,
    pub services: HashMap<&'e Name, std::ops::Range<usize>>,
    /// Set by [`Ledger::with_scope_index`].
    pub(crate) index: Option<crate::scope_index::ScopeIndex<'e>>,
    /// CI runs by repository, built on first use (a page of many scopes
    /// asks for each scope's runs).
    pub(crate) runs_by_repo: std::sync::OnceLock<HashMap<&'e Name, crate::hygiene::RepoRuns<'e>>>,
    /// `ReportInput::earlier_deployments` by service, built on first use.
    pub(crate) earlier_by_service: std::sync::OnceLock<HashMap<&'e Name, Vec<Timestamp>>>,
}

impl<'e> Ledger<'e> {
    pub fn build(input: &'e ReportInput, config: &EngineConfig) -> Self {
        let incidents_open = incidents_open(&input.incidents);
        let order = production_positions(&input.deployments, config);
        // Each deployment read once in the order it came (sequential
        // memory), its entry put at its place in service order: reading
        // them in service order waited on memory for each of 100 000.
        let mut place = vec![usize::MAX; input.deployments.len()];
        for (k, &i) in order.iter().enumerate() {
            place[i] = k;
        }
        let mut slots: Vec<Option<Spd<'e>>> = Vec::new();
        slots.resize_with(order.len(), || None);
        let live_from = &input.rollouts.live_from;
        for (i, d) in input.deployments.iter().enumerate() {
            let Some(slot) = place.get(i).and_then(|&k| slots.get_mut(k)) else {
                continue;
            };
            let live = match live_from.is_empty() {
                true => d.finished_at,
                false => live_from.get(&d.id).copied().unwrap_or(d.finished_at),
            };
            *slot = Some(Spd {
                d,
                finished_at: d.finished_at,
                live,
                facts: input
                    .deployment_facts
                    .get(i)
                    .and_then(Option::as_ref)
                    .unwrap_or(&NO_FACTS),
                prev: None,
                next: None,
                incidents: Vec::new(),
                first_rollback: None,
                hotfix: None,
                rework: match d.kind {
                    Some(DeploymentKind::Hotfix | DeploymentKind::Rollback) => true,
                    Some(DeploymentKind::Planned) => false,
                    None => incidents_open
                        .get(&d.service)
                        .is_some_and(|spans| OpenSpan::any_holds(spans, live)),
                },
            });
        }
        let spds: Vec<Spd<'e>> = slots.into_iter().flatten().collect();
        let mut ledger = Ledger {
            input,
            config: config.clone(),
            spds,
            services: HashMap::new(),
            index: None,
            runs_by_repo: std::sync::OnceLock::new(),
            earlier_by_service: std::sync::OnceLock::new(),
        };
        ledger.order_services();
        // Deployment ids are unique (same type and id replaces).
        let by_id: HashMap<&'e EventId, usize> = ledger
            .spds
            .iter()
            .enumerate()
            .map(|(i, s)| (&s.d.id, i))
            .collect();
        ledger.link_rollbacks(&by_id);
        ledger.link_incidents(&by_id);
        ledger
    }

    fn order_services(&mut self) {
        let mut start = 0;
        while start < self.spds.len() {
            let service = &self.spds[start].d.service;
            let end = start + self.spds[start..].partition_point(|s| &s.d.service == service);
            for i in start..end {
                let next = (i + 1 < end).then_some(i + 1);
                self.spds[i].prev = (i > start).then(|| i - 1);
                self.spds[i].next = next;
                self.spds[i].hotfix =
                    next.filter(|&n| self.spds[n].d.kind == Some(DeploymentKind::Hotfix));
            }
            self.services
                .insert(&self.spds[start].d.service, start..end);
            start = end;
        }
    }

    /// A rollback names what it rolls back (`rollback_of`) or else rolls
    /// back the deployment before it.
    fn link_rollbacks(&mut self, by_id: &HashMap<&EventId, usize>) {
        for r in 0..self.spds.len() {
            let rd = self.spds[r].d;
            if rd.kind != Some(DeploymentKind::Rollback) {
                continue;
            }
            let target = match &rd.rollback_of {
                Some(id) => by_id
                    .get(self.input.rollouts.resolve(id))
                    .copied()
                    .filter(|&t| self.spds[t].d.service == rd.service),
                None => self.spds[r].prev,
            };
            if let Some(t) = target {
                // Visited in order, so the first found is the earliest.
                self.spds[t].first_rollback.get_or_insert(r);
            }
        }
    }

    fn link_incidents(&mut self, by_id: &HashMap<&EventId, usize>) {
        let mut sha_links: HashMap<&EventId, Vec<&FirstDeploy>> = HashMap::new();
        for l in &self.input.sha_links {
            sha_links.entry(&l.subject).or_default().push(l);
        }
        let input = self.input;
        for (n, inc) in input.incidents.iter().enumerate() {
            let link = if let Some(id) = &inc.caused_by {
                // Also a deployment that is not a successful production one
                // is a valid target: it just has no effect on the metrics.
                by_id
                    .get(input.rollouts.resolve(id))
                    .map(|&i| (i, LinkKind::ById))
            } else if inc.caused_by_sha.is_some() {
                first_shipped(inc, sha_links.get(&inc.id).into_iter().flatten().copied())
                    .and_then(|l| by_id.get(&l.deployment))
                    .map(|&i| (i, LinkKind::BySha))
            } else if inc.cause != Some(IncidentCause::External) && self.config.infer_incident_links
            {
                self.inferred_link(inc).map(|i| (i, LinkKind::Inferred))
            } else {
                None
            };
            if let Some((i, kind)) = link {
                self.spds[i].incidents.push((n, kind));
            }
        }
    }

    /// The deployment an incident of the input (by index) is linked to, and
    /// whether the link was stated or inferred from timing: what an
    /// incident review reconstructs.
    pub fn incident_link(&self, incident: usize) -> Option<(&'e Deployment, LinkKind)> {
        self.spds.iter().find_map(|s| {
            s.incidents
                .iter()
                .find(|(n, _)| *n == incident)
                .map(|(_, kind)| (s.d, *kind))
        })
    }

    /// The latest deployment of the incident's service that finished at or
    /// before the start, within the link window.
    fn inferred_link(&self, inc: &Incident) -> Option<usize> {
        let range = self.services.get(&inc.service)?.clone();
        let earliest = inc
            .started_at
            .micros()
            .saturating_sub(self.config.link_window_micros);
        if !self.input.rollouts.live_from.is_empty() {
            // A rollout is live from its first successful member: the
            // latest live at the start, in the service's order.
            return range.rev().find(|&i| {
                let live = self.spds[i].live;
                live <= inc.started_at && live.micros() >= earliest
            });
        }
        let after = self.spds[range.clone()].partition_point(|s| s.finished_at <= inc.started_at);
        let candidate = range.start + after.checked_sub(1)?;
        let finished = self.spds[candidate].finished_at;
        (finished.micros()
            >= inc
                .started_at
                .micros()
                .saturating_sub(self.config.link_window_micros))
        .then_some(candidate)
    }
}

/// When an incident was open: `[from, to)`, `to` `None` while unresolved.
/// A service's are kept sorted and disjoint, so "deployed while an
/// incident was open" is a search, not a walk through its incidents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpenSpan {
    pub from: Timestamp,
    pub to: Option<Timestamp>,
}

impl OpenSpan {
    /// `spans` (none empty) sorted and merged where they overlap or touch.
    pub(crate) fn merged(mut spans: Vec<OpenSpan>) -> Vec<OpenSpan> {
        spans.sort_unstable_by_key(|s| s.from);
        let mut merged: Vec<OpenSpan> = Vec::with_capacity(spans.len());
        for s in spans {
            match merged.last_mut() {
                Some(last) if last.to.is_none_or(|to| s.from <= to) => {
                    last.to = match (last.to, s.to) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                }
                _ => merged.push(s),
            }
        }
        merged
    }

    /// Whether some span of `spans` (sorted, disjoint) holds `t`.
    pub(crate) fn any_holds(spans: &[OpenSpan], t: Timestamp) -> bool {
        let after = spans.partition_point(|s| s.from <= t);
        after > 0 && spans[after - 1].to.is_none_or(|to| t < to)
    }
}

/// When each service had an incident open.
fn incidents_open(incidents: &[Incident]) -> HashMap<&Name, Vec<OpenSpan>> {
    let mut by_service: HashMap<&Name, Vec<OpenSpan>> = HashMap::new();
    for inc in incidents {
        let span = OpenSpan {
            from: inc.started_at,
            to: inc.resolved_at,
        };
        // Resolved before it started (hygiene.md F3): open at no time.
        if span.to.is_some_and(|to| to <= span.from) {
            continue;
        }
        for s in inc.affected() {
            by_service.entry(s).or_default().push(span);
        }
    }
    for spans in by_service.values_mut() {
        *spans = OpenSpan::merged(std::mem::take(spans));
    }
    by_service
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn merged_spans_hold_what_any_single_span_holds() {
        let mut rng = Rng::new(5);
        let at = |rng: &mut Rng| Timestamp::from_micros(rng.below(100) as i64);
        for _ in 0..300 {
            let spans: Vec<OpenSpan> = (0..rng.below(8))
                .map(|_| {
                    let from = at(&mut rng);
                    let to = (!rng.chance(0.2)).then(|| from.plus_micros(1 + rng.below(30) as i64));
                    OpenSpan { from, to }
                })
                .collect();
            let merged = OpenSpan::merged(spans.clone());
            assert!(
                merged
                    .windows(2)
                    .all(|w| w[0].to.is_some_and(|to| to < w[1].from))
            );
            for t in (0..140).map(Timestamp::from_micros) {
                let naive = spans
                    .iter()
                    .any(|s| s.from <= t && s.to.is_none_or(|to| t < to));
                assert_eq!(OpenSpan::any_holds(&merged, t), naive, "{spans:?} at {t:?}");
            }
        }
    }
}
