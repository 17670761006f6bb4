//! Pull-request stages: coding, pickup, review, deploy.

use crate::input::{Scope, Window};
use crate::ledger::Ledger;
use crate::report::{DataQuality, PrStages, push_duration as push};
use crate::stats::Stats;
use lantern_events::*;
use std::collections::{HashMap, HashSet};

impl<'e> Ledger<'e> {
    pub(crate) fn pr_stages(
        &self,
        scope: &Scope,
        window: &Window,
        dq: &mut DataQuality,
    ) -> PrStages {
        let deployed_repos: Option<HashSet<&Name>> = match scope {
            Scope::Org => None,
            _ => Some(
                self.events
                    .deployments
                    .iter()
                    .filter(|d| scope.contains(&d.service))
                    .filter_map(|d| d.repo.as_ref())
                    .collect(),
            ),
        };
        let prs: Vec<&PullRequest> = self
            .events
            .pull_requests
            .iter()
            .filter(|pr| pr.merged_at.is_some_and(|m| window.contains(m)))
            .filter(|pr| deployed_repos.as_ref().is_none_or(|r| r.contains(&pr.repo)))
            .collect();
        if prs.is_empty() {
            let empty = || Stats::of(&mut []);
            return PrStages {
                coding: empty(),
                pickup: empty(),
                review: empty(),
                deploy: empty(),
            };
        }

        // Stored changes that name their pull request, from the PR's repo.
        let wanted_ids: HashMap<&EventId, &Name> =
            prs.iter().map(|pr| (&pr.id, &pr.repo)).collect();
        let mut commits_of: HashMap<&EventId, Vec<Sha>> = HashMap::new();
        for c in &self.events.changes {
            if let Some(id) = &c.pull_request
                && wanted_ids.get(id) == Some(&&c.repo)
            {
                commits_of.entry(id).or_default().push(c.sha);
            }
        }

        let mut shas_of: Vec<Vec<Sha>> = Vec::with_capacity(prs.len());
        for pr in &prs {
            let mut shas: Vec<Sha> = pr.commits.clone();
            shas.extend(commits_of.get(&pr.id).into_iter().flatten().copied());
            shas_of.push(shas);
        }
        let first_deploy = self.first_deploy_of(
            scope,
            prs.iter().zip(&shas_of).flat_map(|(pr, shas)| {
                pr.merge_sha
                    .iter()
                    .chain(pr.head_sha.iter())
                    .chain(shas.iter())
                    .copied()
            }),
        );

        let (mut coding, mut pickup, mut review, mut deploy) = (vec![], vec![], vec![], vec![]);
        let neg = &mut dq.negative_pr_stages;
        for (pr, shas) in prs.iter().zip(&shas_of) {
            let merged = pr.merged_at.expect("filtered on merged_at");
            let first_commit = pr.first_commit_at.or_else(|| {
                shas.iter()
                    .filter_map(|s| self.graph.find(pr.repo.as_str(), s))
                    .map(|c| self.graph.change(c).authored_at)
                    .min()
            });
            if let Some(first) = first_commit {
                push(&mut coding, neg, pr.opened_at.seconds_since(first));
            }
            if let Some(review_at) = pr.first_review_at {
                push(&mut pickup, neg, review_at.seconds_since(pr.opened_at));
                push(&mut review, neg, merged.seconds_since(review_at));
            }
            let deployed = pr
                .merge_sha
                .iter()
                .chain(pr.head_sha.iter())
                .chain(shas.iter())
                .filter_map(|s| first_deploy.get(s))
                .min();
            if let Some((finished, _)) = deployed {
                push(&mut deploy, neg, finished.seconds_since(merged));
            }
        }
        PrStages {
            coding: Stats::of(&mut coding),
            pickup: Stats::of(&mut pickup),
            review: Stats::of(&mut review),
            deploy: Stats::of(&mut deploy),
        }
    }

    /// For each wanted sha, the earliest successful production deployment of
    /// a service in scope that shipped it or has it as its head.
    fn first_deploy_of(
        &self,
        scope: &Scope,
        wanted: impl Iterator<Item = Sha>,
    ) -> HashMap<Sha, (Timestamp, &'e [u8])> {
        let wanted: HashSet<Sha> = wanted.collect();
        let mut first: HashMap<Sha, (Timestamp, &'e [u8])> = HashMap::new();
        for spd in &self.spds {
            if !scope.contains(&spd.d.service) {
                continue;
            }
            let key = (spd.d.finished_at, spd.d.id.as_str().as_bytes());
            let shipped = spd.shipped.iter().map(|&c| self.graph.change(c).sha);
            for sha in spd.d.sha.into_iter().chain(shipped) {
                if wanted.contains(&sha) {
                    first
                        .entry(sha)
                        .and_modify(|k| *k = (*k).min(key))
                        .or_insert(key);
                }
            }
        }
        first
    }
}
