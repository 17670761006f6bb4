//! Pull-request stages: coding, pickup, review, deploy.

use crate::input::{Scope, Window};
use crate::ledger::Ledger;
use crate::report::{DataQuality, PrStages, push_duration as push};
use crate::stats::Stats;
use foldhash::HashSet;
use lantern_events::*;

/// A pull request of `pr_stages`' set, with its merge time and facts.
pub(crate) type MergedPullRequest<'e> = (
    &'e PullRequest,
    Timestamp,
    Option<&'e crate::PullRequestFacts>,
);

impl<'e> Ledger<'e> {
    /// metrics.md's `pr_stages` set: pull requests merged in W whose
    /// repository a service of the scope deploys, with their merge time
    /// and facts.
    pub(crate) fn merged_pull_requests(
        &self,
        scope: &Scope,
        window: &Window,
    ) -> Vec<MergedPullRequest<'e>> {
        let input = self.input;
        let deployed_repos: Option<HashSet<&Name>> =
            input.repos_deployed_by(scope).map(Iterator::collect);
        let positions = self.pull_requests_of(deployed_repos.as_ref().map(|r| r.iter().copied()));
        positions
            .into_iter()
            .filter_map(|i| {
                let pr = &input.pull_requests[i];
                let merged = pr.merged_at.filter(|&m| window.contains(m))?;
                if deployed_repos
                    .as_ref()
                    .is_some_and(|r| !r.contains(&pr.repo))
                {
                    return None;
                }
                let facts = input.pull_request_facts.get(i).and_then(Option::as_ref);
                Some((pr, merged, facts))
            })
            .collect()
    }

    pub(crate) fn pr_stages(
        &self,
        scope: &Scope,
        merged_prs: &[MergedPullRequest],
        dq: &mut DataQuality,
    ) -> PrStages {
        let (mut coding, mut pickup, mut review, mut deploy) = (vec![], vec![], vec![], vec![]);
        let neg = &mut dq.negative_pr_stages;
        for &(pr, merged, facts) in merged_prs {
            if let Some(first) = facts.as_ref().and_then(|f| f.first_commit_at) {
                push(&mut coding, neg, pr.opened_at.seconds_since(first));
            }
            if let Some(review_at) = pr.first_review_at {
                push(&mut pickup, neg, review_at.seconds_since(pr.opened_at));
                push(&mut review, neg, merged.seconds_since(review_at));
            }
            // The earliest deployment of a service in scope that carried it.
            let deployed = facts
                .iter()
                .flat_map(|f| &f.first_deploys)
                .filter(|(service, _)| scope.contains(service))
                .map(|&(_, finished)| finished)
                .min();
            if let Some(finished) = deployed {
                push(&mut deploy, neg, finished.seconds_since(merged));
            }
        }
        PrStages {
            coding: Stats::of(&mut coding),
            pickup: Stats::of(&mut pickup),
            review: Stats::of(&mut review),
            deploy: Stats::of(&mut deploy),
            review_sample_rate: None,
        }
    }
}
