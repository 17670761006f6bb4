//! Pull-request stages: coding, pickup, review, deploy.

use crate::input::{Scope, Window};
use crate::ledger::Ledger;
use crate::report::{DataQuality, PrStages, push_duration as push};
use crate::stats::Stats;
use foldhash::{HashMap, HashMapExt, HashSet};
use lantern_events::*;

impl<'e> Ledger<'e> {
    pub(crate) fn pr_stages(
        &self,
        scope: &Scope,
        window: &Window,
        dq: &mut DataQuality,
    ) -> PrStages {
        let input = self.input;
        let deployed_repos: Option<HashSet<&Name>> = match scope {
            Scope::Org => None,
            _ => Some(
                input
                    .deployed_repos
                    .iter()
                    .filter(|(s, _)| scope.contains(s))
                    .map(|(_, r)| r)
                    .collect(),
            ),
        };
        // The earliest deployment of a service in scope that carried the PR.
        let mut first_deploy: HashMap<&EventId, (Timestamp, &[u8])> = HashMap::new();
        for f in input
            .facts
            .pr_deploys
            .iter()
            .filter(|f| scope.contains(&f.service))
        {
            let key = (f.finished_at, f.deployment.as_str().as_bytes());
            first_deploy
                .entry(&f.subject)
                .and_modify(|k| *k = (*k).min(key))
                .or_insert(key);
        }
        let (mut coding, mut pickup, mut review, mut deploy) = (vec![], vec![], vec![], vec![]);
        let neg = &mut dq.negative_pr_stages;
        for pr in &input.pull_requests {
            let Some(merged) = pr.merged_at.filter(|&m| window.contains(m)) else {
                continue;
            };
            if deployed_repos
                .as_ref()
                .is_some_and(|r| !r.contains(&pr.repo))
            {
                continue;
            }
            if let Some(first) = input
                .facts
                .pull_requests
                .get(&pr.id)
                .and_then(|f| f.first_commit_at)
            {
                push(&mut coding, neg, pr.opened_at.seconds_since(first));
            }
            if let Some(review_at) = pr.first_review_at {
                push(&mut pickup, neg, review_at.seconds_since(pr.opened_at));
                push(&mut review, neg, merged.seconds_since(review_at));
            }
            if let Some((finished, _)) = first_deploy.get(&pr.id) {
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
}
