//! Facts derived from history: what every successful production deployment
//! shipped, every merged pull request's commits, and which deployment first
//! carried a pull request or a culprit commit.
//!
//! Deriving them needs the whole commit graph and every earlier deployment
//! of a service (rule 4), so it is the expensive part of the engine. It is
//! still pure — history in, facts out — and its output is small, so a store
//! can keep it and answer any window without reading the history again.

use crate::graph::{ChangeGraph, ChangeRef};
use crate::input::{EngineConfig, EventSet};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use lantern_events::*;

/// How shipped(d) was decided (metrics.md rules 1–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShipRule {
    Explicit,
    Graph,
    Baseline,
}

impl ShipRule {
    pub fn code(self) -> u8 {
        match self {
            ShipRule::Explicit => 1,
            ShipRule::Graph => 2,
            ShipRule::Baseline => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(ShipRule::Explicit),
            2 => Some(ShipRule::Graph),
            3 => Some(ShipRule::Baseline),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentFacts {
    pub rule: ShipRule,
    /// The commit times of the changes it shipped, after rule 4 (only
    /// changes the service had not shipped before): all lead time needs.
    pub shipped: Vec<Timestamp>,
    /// The deployed sha is among the stored changes (of its repo, or of any
    /// repo when it names none). True when no sha was given.
    pub sha_known: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestFacts {
    /// `first_commit_at`, else the earliest `authored_at` of its stored commits.
    pub first_commit_at: Option<Timestamp>,
    /// Per service, when its first successful production deployment that
    /// shipped (or had as its head) one of the pull request's commits
    /// finished. Only the time matters: the deploy stage is that time minus
    /// `merged_at`, and two deployments finishing together give one value.
    pub first_deploys: Vec<(Name, Timestamp)>,
}

/// The earliest successful production deployment of `service` that shipped
/// (or has as its head) the culprit commit of incident `subject`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstDeploy {
    pub subject: EventId,
    pub service: Name,
    pub finished_at: Timestamp,
    pub deployment: EventId,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Keyed by deployment id; only successful production deployments.
    pub deployments: HashMap<EventId, DeploymentFacts>,
    /// Keyed by pull request id; only merged pull requests.
    pub pull_requests: HashMap<EventId, PullRequestFacts>,
    /// For incidents with `caused_by_sha`, per affected service.
    pub sha_links: Vec<FirstDeploy>,
}

/// Successful production deployments, grouped by service, each group in
/// order (finished_at, then id bytes).
pub fn production_order<'e>(
    deployments: &'e [Deployment],
    config: &EngineConfig,
) -> Vec<&'e Deployment> {
    production_positions(deployments, config)
        .into_iter()
        .map(|i| &deployments[i])
        .collect()
}

/// The same order, as positions in `deployments`.
pub fn production_positions(deployments: &[Deployment], config: &EngineConfig) -> Vec<usize> {
    // Grouped by service in one pass; a store hands deployments over in
    // time order already, so a group usually needs no sort at all.
    let mut groups: HashMap<&Name, Vec<usize>> = HashMap::new();
    for (i, d) in deployments.iter().enumerate() {
        if d.status == DeploymentStatus::Success && config.is_production(d.environment.as_str()) {
            groups.entry(&d.service).or_default().push(i);
        }
    }
    let key = |i: usize| {
        (
            deployments[i].finished_at,
            deployments[i].id.as_str().as_bytes(),
        )
    };
    let mut services: Vec<(&Name, Vec<usize>)> = groups.into_iter().collect();
    services.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut order = Vec::with_capacity(deployments.len());
    for (_, mut group) in services {
        if !group.windows(2).all(|w| key(w[0]) <= key(w[1])) {
            // Ids are unique, so the key is too: an unstable sort is exact.
            group.sort_unstable_by(|&a, &b| key(a).cmp(&key(b)));
        }
        order.extend(group);
    }
    order
}

/// Derives every fact from a complete history. For a service's facts to be
/// right, `events` must hold all its deployments and its repositories' full
/// history; `Store::load` guarantees that for the services it is asked for.
pub fn derive(events: &EventSet, config: &EngineConfig) -> Facts {
    let graph = ChangeGraph::build(&events.changes);
    // A rollout ships as one deployment (hygiene.md); its facts are kept
    // under its last member's id, which is what stores hold.
    let (deployments, last_member) = crate::rollout::merge_all(&events.deployments, config);
    let order = production_order(&deployments, config);
    let mut facts = Facts::default();
    // Stored changes that name their pull request.
    let mut named: HashMap<(&Name, &EventId), Vec<&Change>> = HashMap::new();
    for c in &events.changes {
        if let Some(pr) = &c.pull_request {
            named.entry((&c.repo, pr)).or_default().push(c);
        }
    }
    // The shas someone will ask "which deployment first carried it?" about:
    // those of merged pull requests, and incidents' culprit commits.
    let merged = || {
        events
            .pull_requests
            .iter()
            .filter(|pr| pr.merged_at.is_some())
    };
    let mut wanted: HashSet<Sha> = HashSet::new();
    for pr in merged() {
        wanted.extend(
            pr.merge_sha
                .iter()
                .chain(pr.head_sha.iter())
                .chain(pr.commits.iter())
                .copied(),
        );
        wanted.extend(
            named
                .get(&(&pr.repo, &pr.id))
                .into_iter()
                .flatten()
                .map(|c| c.sha),
        );
    }
    wanted.extend(events.incidents.iter().filter_map(|i| i.caused_by_sha));
    // sha → the deployments (in service order) that shipped it or have it as head.
    let mut carriers: HashMap<Sha, Vec<usize>> = HashMap::new();
    let mut start = 0;
    while start < order.len() {
        let service = &order[start].service;
        let end = start + order[start..].partition_point(|d| &d.service == service);
        let mut already: HashSet<ChangeRef> = HashSet::new();
        for i in start..end {
            let d = order[i];
            let prev = (i > start).then(|| order[i - 1]);
            let (rule, raw) = raw_shipped(&graph, d, prev);
            let shipped: Vec<&Change> = raw
                .into_iter()
                .filter(|c| already.insert(*c))
                .map(|c| graph.change(c))
                .collect();
            let sha_known = d.sha.as_ref().is_none_or(|sha| match &d.repo {
                Some(repo) => graph.find(repo.as_str(), sha).is_some(),
                None => graph.find_anywhere(sha).next().is_some(),
            });
            let carried = d.sha.iter().chain(shipped.iter().map(|c| &c.sha));
            for sha in carried.filter(|s| wanted.contains(*s)) {
                let list = carriers.entry(*sha).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
            let shipped = shipped.iter().map(|c| c.committed_at).collect();
            facts.deployments.insert(
                d.id.clone(),
                DeploymentFacts {
                    rule,
                    shipped,
                    sha_known,
                },
            );
        }
        start = end;
    }

    // The first deployment per service carrying any of `shas`.
    let first_per_service = |shas: &mut dyn Iterator<Item = &Sha>| -> Vec<&Deployment> {
        let mut first: HashMap<&Name, usize> = HashMap::new();
        for sha in shas {
            for &i in carriers.get(sha).into_iter().flatten() {
                let e = first.entry(&order[i].service).or_insert(i);
                *e = (*e).min(i);
            }
        }
        first.into_values().map(|i| order[i]).collect()
    };

    for pr in merged() {
        let stored = named
            .get(&(&pr.repo, &pr.id))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let first_commit_at = pr.first_commit_at.or_else(|| {
            pr.commits
                .iter()
                .filter_map(|s| graph.find(pr.repo.as_str(), s))
                .map(|c| graph.change(c).authored_at)
                .chain(stored.iter().map(|c| c.authored_at))
                .min()
        });
        let mut shas = pr
            .merge_sha
            .iter()
            .chain(pr.head_sha.iter())
            .chain(pr.commits.iter())
            .chain(stored.iter().map(|c| &c.sha));
        let first_deploys = first_per_service(&mut shas)
            .into_iter()
            .map(|d| (d.service.clone(), d.finished_at))
            .collect();
        facts.pull_requests.insert(
            pr.id.clone(),
            PullRequestFacts {
                first_commit_at,
                first_deploys,
            },
        );
    }
    for (rollout, last) in last_member {
        if let Some(f) = facts.deployments.remove(&rollout) {
            facts.deployments.insert(last, f);
        }
    }
    for inc in &events.incidents {
        let Some(sha) = &inc.caused_by_sha else {
            continue;
        };
        let affected: HashSet<&Name> = inc.affected().collect();
        for d in first_per_service(&mut std::iter::once(sha)) {
            if affected.contains(&d.service) {
                facts.sha_links.push(first_deploy(&inc.id, d));
            }
        }
    }
    facts
}

fn first_deploy(subject: &EventId, d: &Deployment) -> FirstDeploy {
    FirstDeploy {
        subject: subject.clone(),
        service: d.service.clone(),
        finished_at: d.finished_at,
        deployment: d.id.clone(),
    }
}

fn raw_shipped(
    graph: &ChangeGraph,
    d: &Deployment,
    prev: Option<&Deployment>,
) -> (ShipRule, Vec<ChangeRef>) {
    if let Some(list) = &d.changes {
        let mut found = Vec::new();
        for sha in list {
            match &d.repo {
                Some(repo) => found.extend(graph.find(repo.as_str(), sha)),
                None => found.extend(graph.find_anywhere(sha)),
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
            graph.reachable_from_not_from(repo.as_str(), sha, prev_sha),
        );
    }
    (ShipRule::Baseline, Vec::new())
}
