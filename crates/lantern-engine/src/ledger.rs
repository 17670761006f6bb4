//! Window-independent facts about every successful production deployment:
//! its place in its service's order, what it shipped, which incidents are
//! linked to it, and whether and how it failed and recovered.
//!
//! Built once per event set; a report (or each bucket of a trend) then only
//! filters these facts by window and scope.

use crate::graph::{ChangeGraph, ChangeRef};
use crate::input::{EngineConfig, EventSet};
use lantern_events::*;
use std::collections::{HashMap, HashSet};

/// How shipped(d) was decided (metrics.md rules 1–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipRule {
    Explicit,
    Graph,
    Baseline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Explicit,
    Inferred,
}

/// A successful production deployment and what is known about it.
pub struct Spd<'e> {
    pub d: &'e Deployment,
    pub prev: Option<usize>,
    pub next: Option<usize>,
    pub rule: ShipRule,
    /// After rule 4: only changes this service had not shipped before.
    pub shipped: Vec<ChangeRef>,
    /// Incidents (indices into the event set) linked to this deployment.
    pub incidents: Vec<(usize, LinkKind)>,
    pub first_rollback: Option<usize>,
    /// Set when the next deployment of the service is a hotfix.
    pub hotfix: Option<usize>,
}

pub struct Ledger<'e> {
    pub events: &'e EventSet,
    pub config: EngineConfig,
    pub graph: ChangeGraph<'e>,
    /// All successful production deployments, each service's contiguous and
    /// in order (finished_at, then id).
    pub spds: Vec<Spd<'e>>,
    /// Per service, the range of its deployments in `spds`.
    pub services: HashMap<&'e Name, std::ops::Range<usize>>,
    /// Incident index → the deployment it is linked to, if any.
    pub incident_link: Vec<Option<(usize, LinkKind)>>,
}

impl<'e> Ledger<'e> {
    pub fn build(events: &'e EventSet, config: &EngineConfig) -> Self {
        let graph = ChangeGraph::build(&events.changes);
        let mut order: Vec<&'e Deployment> = events
            .deployments
            .iter()
            .filter(|d| {
                d.status == DeploymentStatus::Success
                    && config.is_production(d.environment.as_str())
            })
            .collect();
        order.sort_by(|a, b| {
            (&a.service, a.finished_at, a.id.as_str().as_bytes()).cmp(&(
                &b.service,
                b.finished_at,
                b.id.as_str().as_bytes(),
            ))
        });
        let spds: Vec<Spd<'e>> = order
            .into_iter()
            .map(|d| Spd {
                d,
                prev: None,
                next: None,
                rule: ShipRule::Baseline,
                shipped: Vec::new(),
                incidents: Vec::new(),
                first_rollback: None,
                hotfix: None,
            })
            .collect();
        let mut services: HashMap<&'e Name, std::ops::Range<usize>> = HashMap::new();
        let mut start = 0;
        for i in 0..=spds.len() {
            if i == spds.len() || spds[i].d.service != spds[start].d.service {
                if i > start {
                    services.insert(&spds[start].d.service, start..i);
                }
                start = i;
            }
        }
        let mut ledger = Ledger {
            events,
            config: config.clone(),
            graph,
            spds,
            services,
            incident_link: Vec::new(),
        };
        let ranges: Vec<std::ops::Range<usize>> = ledger.services.values().cloned().collect();
        for range in ranges {
            ledger.attribute_service(range);
        }
        ledger.link_rollbacks();
        ledger.link_incidents(config);
        ledger
    }

    /// prev/next, shipped sets (rules 1–4) and hotfix successors of one service.
    fn attribute_service(&mut self, range: std::ops::Range<usize>) {
        let mut already: HashSet<ChangeRef> = HashSet::new();
        for i in range.clone() {
            let prev = (i > range.start).then(|| i - 1);
            let next = (i + 1 < range.end).then_some(i + 1);
            let d = self.spds[i].d;
            let (rule, raw) = self.raw_shipped(d, prev.map(|p| self.spds[p].d));
            let shipped: Vec<ChangeRef> = raw.into_iter().filter(|c| already.insert(*c)).collect();
            let hotfix = next.filter(|&n| self.spds[n].d.kind == Some(DeploymentKind::Hotfix));
            let spd = &mut self.spds[i];
            spd.prev = prev;
            spd.next = next;
            spd.rule = rule;
            spd.shipped = shipped;
            spd.hotfix = hotfix;
        }
    }

    fn raw_shipped(&self, d: &Deployment, prev: Option<&Deployment>) -> (ShipRule, Vec<ChangeRef>) {
        if let Some(list) = &d.changes {
            let mut found = Vec::new();
            for sha in list {
                match &d.repo {
                    Some(repo) => found.extend(self.graph.find(repo.as_str(), sha)),
                    None => found.extend(self.graph.find_anywhere(sha)),
                }
            }
            return (ShipRule::Explicit, found);
        }
        if let (Some(repo), Some(sha), Some(prev)) = (&d.repo, &d.sha, prev)
            && prev.repo.as_ref() == Some(repo)
            && let Some(prev_sha) = &prev.sha
        {
            return (
                ShipRule::Graph,
                self.graph
                    .reachable_from_not_from(repo.as_str(), sha, prev_sha),
            );
        }
        (ShipRule::Baseline, Vec::new())
    }

    /// A rollback names what it rolls back (`rollback_of`) or else rolls
    /// back the deployment before it.
    fn link_rollbacks(&mut self) {
        let by_id: HashMap<(&Name, &EventId), usize> = self
            .spds
            .iter()
            .enumerate()
            .map(|(i, s)| ((&s.d.service, &s.d.id), i))
            .collect();
        for r in 0..self.spds.len() {
            let rd = self.spds[r].d;
            if rd.kind != Some(DeploymentKind::Rollback) {
                continue;
            }
            let target = match &rd.rollback_of {
                Some(id) => by_id.get(&(&rd.service, id)).copied(),
                None => self.spds[r].prev,
            };
            if let Some(t) = target {
                // Deployments are visited in order, so the first one found is
                // the earliest rollback.
                self.spds[t].first_rollback.get_or_insert(r);
            }
        }
    }

    fn link_incidents(&mut self, config: &EngineConfig) {
        let by_id: HashMap<&EventId, usize> = self
            .spds
            .iter()
            .enumerate()
            .map(|(i, s)| (&s.d.id, i))
            .collect();
        let events = self.events;
        let mut links = Vec::with_capacity(events.incidents.len());
        for (n, inc) in events.incidents.iter().enumerate() {
            let link = if let Some(id) = &inc.caused_by {
                // A deployment that is not a successful production one is a
                // valid target too; it just has no effect on the metrics.
                by_id.get(id).map(|&i| (i, LinkKind::Explicit))
            } else if let Some(sha) = &inc.caused_by_sha {
                self.earliest_containing(inc, sha)
                    .map(|i| (i, LinkKind::Explicit))
            } else if inc.cause != Some(IncidentCause::External) && config.infer_incident_links {
                self.inferred_link(inc, config.link_window_micros)
                    .map(|i| (i, LinkKind::Inferred))
            } else {
                None
            };
            if let Some((i, kind)) = link {
                self.spds[i].incidents.push((n, kind));
            }
            links.push(link);
        }
        self.incident_link = links;
    }

    /// The earliest deployment of an affected service that shipped `sha` or
    /// has it as its head.
    fn earliest_containing(&self, inc: &Incident, sha: &Sha) -> Option<usize> {
        inc.affected()
            .filter_map(|service| {
                let range = self.services.get(service)?.clone();
                range.into_iter().find(|&i| {
                    let s = &self.spds[i];
                    s.d.sha.as_ref() == Some(sha)
                        || s.shipped.iter().any(|&c| self.graph.change(c).sha == *sha)
                })
            })
            .min_by(|&a, &b| self.order_key(a).cmp(&self.order_key(b)))
    }

    /// The latest deployment of the incident's service that finished at or
    /// before the start, within the link window.
    fn inferred_link(&self, inc: &Incident, window: i64) -> Option<usize> {
        let range = self.services.get(&inc.service)?.clone();
        let slice = &self.spds[range.clone()];
        let after = slice.partition_point(|s| s.d.finished_at <= inc.started_at);
        let candidate = range.start + after.checked_sub(1)?;
        let finished = self.spds[candidate].d.finished_at;
        (finished.micros() >= inc.started_at.micros().saturating_sub(window)).then_some(candidate)
    }

    pub fn order_key(&self, i: usize) -> (Timestamp, &[u8]) {
        let d = self.spds[i].d;
        (d.finished_at, d.id.as_str().as_bytes())
    }
}
