//! Pull-request stages: coding, pickup, review, deploy.

use crate::input::{Scope, Window};
use crate::ledger::Ledger;

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
}
