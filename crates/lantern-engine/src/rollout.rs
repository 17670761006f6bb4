//! hygiene.md's rollouts: production deployments of one service that share
//! a `rollout` id (one release rolled out to several clusters or regions)
//! count as one deployment everywhere in metrics.md.
//!
//! Members stay separate events in stores (each keeps its own id, so
//! retention and the audit of detail reads work as for any deployment);
//! the engine merges them twice, the same way: `derive` merges before
//! deciding what shipped (and keeps the rollout's facts under its last
//! member's id), and [`ReportInput::merge_rollouts`] merges the input a
//! report reads.

use crate::facts::DeploymentFacts;
use crate::input::{EngineConfig, ReportInput};
use foldhash::{HashMap, HashMapExt};
use lantern_events::*;
use std::borrow::Cow;

/// The members of one rollout, as positions in a list of deployments, in
/// order (finished_at, then id bytes): the last one finished last.
pub(crate) struct Group {
    pub members: Vec<usize>,
}

/// The rollouts among `deployments`: production members grouped by
/// service and rollout id. Groups are in the order of their first member.
pub(crate) fn groups(deployments: &[Deployment], config: &EngineConfig) -> Vec<Group> {
    let mut by_key: HashMap<(&Name, &EventId), usize> = HashMap::new();
    let mut out: Vec<Group> = Vec::new();
    for (i, d) in deployments.iter().enumerate() {
        let Some(rollout) = &d.rollout else { continue };
        if !config.is_production(d.environment.as_str()) {
            continue;
        }
        let n = *by_key.entry((&d.service, rollout)).or_insert_with(|| {
            out.push(Group {
                members: Vec::new(),
            });
            out.len() - 1
        });
        out[n].members.push(i);
    }
    for g in &mut out {
        g.members.sort_by(|&a, &b| {
            let key = |i: usize| {
                (
                    deployments[i].finished_at,
                    deployments[i].id.as_str().as_bytes(),
                )
            };
            key(a).cmp(&key(b))
        });
    }
    out
}

/// One deployment for a rollout's members: the rollout's id; sha, repo,
/// kind and `rollback_of` of the member that finished last, and its
/// finish; a success only when every member succeeded; automated when
/// every member says so, not when any says not; the union of the members'
/// explicit change lists, when any gives one; the earliest start.
pub(crate) fn merged(deployments: &[Deployment], group: &Group) -> Deployment {
    let members: Vec<&Deployment> = group.members.iter().map(|&i| &deployments[i]).collect();
    let last = members[members.len() - 1];
    let all_success = members
        .iter()
        .all(|d| d.status == DeploymentStatus::Success);
    let automated = if members.iter().any(|d| d.automated == Some(false)) {
        Some(false)
    } else if members.iter().all(|d| d.automated == Some(true)) {
        Some(true)
    } else {
        None
    };
    let changes = members.iter().any(|d| d.changes.is_some()).then(|| {
        let mut union: Vec<Sha> = Vec::new();
        for sha in members.iter().flat_map(|d| d.changes.iter().flatten()) {
            if !union.contains(sha) {
                union.push(*sha);
            }
        }
        union
    });
    Deployment {
        id: last.rollout.clone().unwrap_or_else(|| last.id.clone()),
        service: last.service.clone(),
        environment: last.environment.clone(),
        status: if all_success {
            DeploymentStatus::Success
        } else {
            DeploymentStatus::Failure
        },
        started_at: members.iter().filter_map(|d| d.started_at).min(),
        finished_at: last.finished_at,
        repo: last.repo.clone(),
        sha: last.sha,
        changes,
        kind: last.kind,
        rollback_of: last.rollback_of.clone(),
        automated,
        // Merged: not to be grouped again.
        rollout: None,
    }
}

/// `deployments` with each rollout merged into one (borrowed when there is
/// none), and for each merged rollout its id → its last member's id.
pub(crate) fn merge_all<'d>(
    deployments: &'d [Deployment],
    config: &EngineConfig,
) -> (Cow<'d, [Deployment]>, HashMap<EventId, EventId>) {
    let groups = groups(deployments, config);
    if groups.is_empty() {
        return (Cow::Borrowed(deployments), HashMap::new());
    }
    let mut member = vec![false; deployments.len()];
    let mut last_member = HashMap::new();
    let mut out: Vec<Deployment> = Vec::with_capacity(deployments.len());
    for g in &groups {
        for &i in &g.members {
            member[i] = true;
        }
        let d = merged(deployments, g);
        let last = &deployments[g.members[g.members.len() - 1]];
        last_member.insert(d.id.clone(), last.id.clone());
        out.push(d);
    }
    out.extend(
        deployments
            .iter()
            .zip(&member)
            .filter(|(_, m)| !**m)
            .map(|(d, _)| d.clone()),
    );
    (Cow::Owned(out), last_member)
}

/// What a report needs to know of the rollouts its input merged.
#[derive(Debug, Default, Clone)]
pub struct Rollouts {
    /// Member id → rollout id: `caused_by` or `rollback_of` naming a member
    /// means the rollout.
    pub member_of: HashMap<EventId, EventId>,
    /// Rollout id → its first successful member's finish: from then on
    /// incident inference and rework see it as deployed.
    pub live_from: HashMap<EventId, Timestamp>,
    /// (service, last member's finish) of rollouts with at least one
    /// successful and one failed or cancelled member.
    pub partial: Vec<(Name, Timestamp)>,
}

impl Rollouts {
    /// The deployment an id names: a member's rollout, else itself.
    pub fn resolve<'a>(&'a self, id: &'a EventId) -> &'a EventId {
        self.member_of.get(id).unwrap_or(id)
    }
}

impl ReportInput {
    /// Merges each rollout's members into one deployment carrying the
    /// facts kept under its last member's id. Idempotent; stores call it
    /// on what they read, [`ReportInput::from_events`] on a whole history.
    /// A store must hand over every member of a rollout it hands any of.
    pub fn merge_rollouts(&mut self, config: &EngineConfig) {
        let groups = groups(&self.deployments, config);
        if groups.is_empty() {
            return;
        }
        let mut member = vec![false; self.deployments.len()];
        let mut merged_list = Vec::with_capacity(groups.len());
        for g in &groups {
            let d = merged(&self.deployments, g);
            let members: Vec<&Deployment> =
                g.members.iter().map(|&i| &self.deployments[i]).collect();
            let success = |d: &&Deployment| d.status == DeploymentStatus::Success;
            if let Some(first) = members.iter().find(|d| success(d)) {
                self.rollouts
                    .live_from
                    .insert(d.id.clone(), first.finished_at);
            }
            if members.iter().any(success) && !members.iter().all(success) {
                self.rollouts
                    .partial
                    .push((d.service.clone(), d.finished_at));
            }
            for m in &members {
                self.rollouts.member_of.insert(m.id.clone(), d.id.clone());
            }
            let last = g.members[g.members.len() - 1];
            let facts: Option<DeploymentFacts> = self
                .deployment_facts
                .get(last)
                .cloned()
                .flatten()
                .filter(|_| d.status == DeploymentStatus::Success);
            for &i in &g.members {
                member[i] = true;
            }
            merged_list.push((d, facts));
        }
        let deployments = std::mem::take(&mut self.deployments);
        let facts = std::mem::take(&mut self.deployment_facts);
        let mut facts = facts.into_iter();
        for (i, d) in deployments.into_iter().enumerate() {
            let f = facts.next().flatten();
            if !member[i] {
                self.deployments.push(d);
                self.deployment_facts.push(f);
            }
        }
        for (d, f) in merged_list {
            self.deployments.push(d);
            self.deployment_facts.push(f);
        }
    }
}
