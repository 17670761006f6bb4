//! Where each service's events sit in a ledger's input, so that one
//! organisation-wide ledger answers many scopes (the organisation page:
//! every team and every service) at what each scope's own events cost,
//! instead of a scan of the whole organisation per scope.
//!
//! Invariant: a report read through the index equals the report of the
//! same ledger without it (`tests/properties.rs` checks this on generated
//! histories). The index only chooses which positions to visit; every
//! figure is still computed by the same code in `report.rs` and `prs.rs`,
//! over positions in ascending order, as the full scan visits them.

use crate::input::{ReportInput, Scope, Window};
use crate::ledger::Ledger;
use foldhash::{HashMap, HashMapExt};
use lantern_events::*;

pub(crate) struct ScopeIndex<'e> {
    deployments: HashMap<&'e Name, Vec<usize>>,
    /// Each incident once per service it affects.
    incidents: HashMap<&'e Name, Vec<usize>>,
    pull_requests_by_repo: HashMap<&'e Name, Vec<usize>>,
}

impl<'e> ScopeIndex<'e> {
    pub(crate) fn build(input: &'e ReportInput) -> Self {
        let mut index = ScopeIndex {
            deployments: HashMap::new(),
            incidents: HashMap::new(),
            pull_requests_by_repo: HashMap::new(),
        };
        for (i, d) in input.deployments.iter().enumerate() {
            index.deployments.entry(&d.service).or_default().push(i);
        }
        for (i, inc) in input.incidents.iter().enumerate() {
            for s in inc.affected() {
                let list = index.incidents.entry(s).or_default();
                // `services` may repeat `service`: list an incident once.
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        for (i, pr) in input.pull_requests.iter().enumerate() {
            index
                .pull_requests_by_repo
                .entry(&pr.repo)
                .or_default()
                .push(i);
        }
        index
    }
}

/// The positions under these keys, ascending and each once.
fn union<'k>(map: &HashMap<&Name, Vec<usize>>, keys: impl Iterator<Item = &'k Name>) -> Vec<usize> {
    let mut all: Vec<usize> = keys.filter_map(|k| map.get(k)).flatten().copied().collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The services a scope names, or `None` for the organisation.
fn named(scope: &Scope) -> Option<Box<dyn Iterator<Item = &Name> + '_>> {
    match scope {
        Scope::Service(s) => Some(Box::new(std::iter::once(s))),
        Scope::Team { services, .. } => Some(Box::new(services.iter())),
        Scope::Org => None,
    }
}

impl<'e> Ledger<'e> {
    /// Index the input by service, for many reports of small scopes over
    /// one large input. Reports are the same with or without it.
    pub fn with_scope_index(mut self) -> Self {
        self.index = Some(ScopeIndex::build(self.input));
        self
    }

    fn indexed<'s>(
        &'s self,
        scope: &'s Scope,
    ) -> Option<(&'s ScopeIndex<'e>, Box<dyn Iterator<Item = &'s Name> + 's>)> {
        Some((self.index.as_ref()?, named(scope)?))
    }

    /// Successful production deployments of the scope finished in the window.
    pub(crate) fn spds_in(&self, scope: &Scope, window: &Window) -> Vec<usize> {
        let Some((_, services)) = self.indexed(scope) else {
            return (0..self.spds.len())
                .filter(|&i| {
                    let d = self.spds[i].d;
                    scope.contains(&d.service) && window.contains(d.finished_at)
                })
                .collect();
        };
        let mut p = Vec::new();
        for s in services {
            let Some(range) = self.services.get(s) else {
                continue;
            };
            // A service's deployments are in time order (`order_services`).
            let spds = &self.spds[range.clone()];
            let from = spds.partition_point(|x| x.finished_at < window.from);
            let to = spds.partition_point(|x| x.finished_at < window.to);
            p.extend(range.start + from..range.start + to);
        }
        p.sort_unstable();
        p.dedup();
        p
    }

    /// Incidents affecting the scope, in input order.
    pub(crate) fn incidents_in(&self, scope: &Scope) -> Vec<&'e Incident> {
        self.in_scope(
            scope,
            &self.input.incidents,
            |x| &x.incidents,
            |inc| inc.affected().any(|s| scope.contains(s)),
        )
    }

    /// The scope's deployments (any environment and status), in input order.
    pub(crate) fn deployments_in(&self, scope: &Scope) -> Vec<&'e Deployment> {
        self.in_scope(
            scope,
            &self.input.deployments,
            |x| &x.deployments,
            |d| scope.contains(&d.service),
        )
    }

    /// The items of `all` in the scope, in input order: through the index
    /// (`positions` of each service) when there is one, else by `keep`.
    fn in_scope<T>(
        &self,
        scope: &Scope,
        all: &'e [T],
        positions: impl for<'i> Fn(&'i ScopeIndex<'e>) -> &'i HashMap<&'e Name, Vec<usize>>,
        keep: impl Fn(&T) -> bool,
    ) -> Vec<&'e T> {
        match self.indexed(scope) {
            Some((index, services)) => union(positions(index), services)
                .into_iter()
                .map(|i| &all[i])
                .collect(),
            None => all.iter().filter(|x| keep(x)).collect(),
        }
    }

    /// Positions of the pull requests of these repositories (all of them
    /// for `None`), ascending.
    pub(crate) fn pull_requests_of<'r>(
        &self,
        repos: Option<impl Iterator<Item = &'r Name>>,
    ) -> Vec<usize> {
        match (repos, &self.index) {
            (Some(repos), Some(index)) => union(&index.pull_requests_by_repo, repos),
            _ => (0..self.input.pull_requests.len()).collect(),
        }
    }
}
