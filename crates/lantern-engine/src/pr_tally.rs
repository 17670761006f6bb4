//! `pr_stages` and review quality as sums, as [`crate::DeployTally`] is
//! for deployments: a [`PrTally`] of some merged pull requests adds up
//! with others in any order, so a store can keep one per repository and
//! UTC day of merge for the organisation's report.
//!
//! Only the organisation's: a scope's deploy stage is the first
//! deployment by a service *of the scope*, so a kept tally of a
//! repository holds the organisation's (any service's) alone.

use crate::input::{Scope, Window};
use crate::ledger::Ledger;
use crate::panels::{LARGE_PR_LINES, ReviewQuality};
use crate::prs::MergedPullRequest;
use crate::report::{DataQuality, PrStages, ratio};
use crate::stats::Stats;
use lantern_events::*;
use std::collections::BTreeMap;

/// What `pr_stages` and `review_quality` are made of, for a set of merged
/// pull requests: durations in µs (negative ones counted apart), sizes in
/// lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrTally {
    pub merged: u64,
    pub coding: Vec<i64>,
    pub pickup: Vec<i64>,
    pub review: Vec<i64>,
    pub deploy: Vec<i64>,
    pub negative_stages: u64,
    /// additions + deletions of those that give both.
    pub sizes: Vec<i64>,
    pub large: u64,
    /// Whose review detail sampling kept, and of those, first reviewed at
    /// or before the merge.
    pub review_kept: u64,
    pub reviewed: u64,
}

impl PrTally {
    /// The tally of the union of `parts`, its lists sized once (see
    /// `DeployTally::sum`).
    pub fn sum(parts: &[&PrTally]) -> PrTally {
        let total = |list: fn(&PrTally) -> usize| parts.iter().map(|t| list(t)).sum();
        let mut out = PrTally {
            coding: Vec::with_capacity(total(|t| t.coding.len())),
            pickup: Vec::with_capacity(total(|t| t.pickup.len())),
            review: Vec::with_capacity(total(|t| t.review.len())),
            deploy: Vec::with_capacity(total(|t| t.deploy.len())),
            sizes: Vec::with_capacity(total(|t| t.sizes.len())),
            ..PrTally::default()
        };
        for t in parts {
            out.add(t);
        }
        out
    }

    pub fn add(&mut self, other: &PrTally) {
        for (mine, theirs) in [
            (&mut self.coding, &other.coding),
            (&mut self.pickup, &other.pickup),
            (&mut self.review, &other.review),
            (&mut self.deploy, &other.deploy),
            (&mut self.sizes, &other.sizes),
        ] {
            mine.extend_from_slice(theirs);
        }
        for (mine, theirs) in [
            (&mut self.merged, other.merged),
            (&mut self.negative_stages, other.negative_stages),
            (&mut self.large, other.large),
            (&mut self.review_kept, other.review_kept),
            (&mut self.reviewed, other.reviewed),
        ] {
            *mine += theirs;
        }
    }

    /// metrics.md's `pr_stages`; negative stages go into `dq`. Reorders
    /// the durations.
    pub(crate) fn stages(&mut self, dq: &mut DataQuality) -> PrStages {
        dq.negative_pr_stages += self.negative_stages;
        PrStages {
            coding: Stats::of_micros(&mut self.coding),
            pickup: Stats::of_micros(&mut self.pickup),
            review: Stats::of_micros(&mut self.review),
            deploy: Stats::of_micros(&mut self.deploy),
            review_sample_rate: None,
        }
    }

    /// panels.md's review quality.
    pub(crate) fn review_quality(&self) -> ReviewQuality {
        let mut sizes: Vec<f64> = self.sizes.iter().map(|&n| n as f64).collect();
        ReviewQuality {
            merged: self.merged,
            large_share: ratio(self.large, sizes.len() as u64),
            size: Stats::of(&mut sizes),
            reviewed_share: ratio(self.reviewed, self.review_kept),
            unreviewed: self.review_kept - self.reviewed,
        }
    }
}

impl<'e> Ledger<'e> {
    /// The tally of `pr_stages`' set: from kept days for the organisation
    /// when a store kept them, else from the pull requests.
    pub(crate) fn pr_tally(&self, scope: &Scope, window: &Window) -> PrTally {
        let kept = self
            .input
            .kept
            .as_ref()
            .and_then(|k| k.pull_requests.as_ref());
        if let (Some(kept), Scope::Org) = (kept, scope) {
            let parts: Vec<&PrTally> = crate::KeptDays::pull_requests_in(kept, window).collect();
            return PrTally::sum(&parts);
        }
        let mut tally = PrTally::default();
        for pr in self.merged_pull_requests(scope, window) {
            tally_pr(scope, &pr, &mut tally);
        }
        tally
    }

    /// The organisation's tally per repository and UTC day of merge of
    /// the pull requests merged in the window: what a store keeps.
    pub fn pr_day_tallies(&self, window: &Window) -> BTreeMap<(Name, i64), PrTally> {
        let mut out: BTreeMap<(Name, i64), PrTally> = BTreeMap::new();
        for pr in self.merged_pull_requests(&Scope::Org, window) {
            let day = pr.1.micros().div_euclid(MICROS_PER_DAY);
            let t = out.entry((pr.0.repo.clone(), day)).or_default();
            tally_pr(&Scope::Org, &pr, t);
        }
        out
    }
}

/// Adds one merged pull request.
fn tally_pr(scope: &Scope, &(pr, merged, facts): &MergedPullRequest, t: &mut PrTally) {
    t.merged += 1;
    let mut push = |values: &mut Vec<i64>, micros: i64| match micros < 0 {
        true => t.negative_stages += 1,
        false => values.push(micros),
    };
    let (mut coding, mut pickup, mut review, mut deploy) = (vec![], vec![], vec![], vec![]);
    if let Some(first) = facts.as_ref().and_then(|f| f.first_commit_at) {
        push(&mut coding, pr.opened_at.micros() - first.micros());
    }
    if let Some(review_at) = pr.first_review_at {
        push(&mut pickup, review_at.micros() - pr.opened_at.micros());
        push(&mut review, merged.micros() - review_at.micros());
    }
    // The earliest deployment of a service in scope that carried it.
    let deployed = facts
        .iter()
        .flat_map(|f| &f.first_deploys)
        .filter(|(service, _)| scope.contains(service))
        .map(|&(_, finished)| finished)
        .min();
    if let Some(finished) = deployed {
        push(&mut deploy, finished.micros() - merged.micros());
    }
    t.coding.extend(coding);
    t.pickup.extend(pickup);
    t.review.extend(review);
    t.deploy.extend(deploy);
    if let (Some(a), Some(d)) = (pr.additions, pr.deletions) {
        let lines = a.saturating_add(d);
        t.large += u64::from(lines > LARGE_PR_LINES);
        t.sizes.push(i64::try_from(lines).unwrap_or(i64::MAX));
    }
    if pr.review_kept {
        t.review_kept += 1;
        t.reviewed += u64::from(pr.first_review_at.is_some_and(|r| r <= merged));
    }
}
