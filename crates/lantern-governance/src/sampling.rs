//! Sampling of review detail (governance.md rule 6): only a share of pull
//! requests keep when they were first reviewed and approved. The choice is
//! a keyed hash of the pull request's id, so a re-sent event is sampled the
//! same way and nobody without the key can steer which are kept.

use lantern_events::{Event, Pseudonymiser};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewSampling {
    /// Share of pull requests that keep review detail, in [0, 1].
    pub rate: f64,
    /// Repositories marked `critical` in the catalog: always kept whole.
    pub critical_repos: BTreeSet<String>,
}

impl Default for ReviewSampling {
    fn default() -> Self {
        ReviewSampling {
            rate: 1.0,
            critical_repos: BTreeSet::new(),
        }
    }
}

impl ReviewSampling {
    pub fn keeps_everything(&self) -> bool {
        self.rate >= 1.0
    }

    /// The rate reports state next to the pickup and review stages: only
    /// when review detail is sampled.
    pub fn stated_rate(&self) -> Option<f64> {
        (!self.keeps_everything()).then_some(self.rate)
    }

    /// Drops review detail from the pull requests that are not sampled.
    pub fn apply(&self, key: &Pseudonymiser, events: &mut [Event]) {
        if self.keeps_everything() {
            return;
        }
        for event in events {
            if let Event::PullRequest(pr) = event
                && !self.critical_repos.contains(pr.repo.as_str())
                && key.keyed_unit("review-sample", pr.id.as_str()) >= self.rate
            {
                pr.first_review_at = None;
                pr.approved_at = None;
                pr.review_kept = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_events::{EventId, Name, PullRequest, Timestamp};

    fn prs(repo: &str, n: usize) -> Vec<Event> {
        let t = Timestamp::from_micros(0);
        (0..n)
            .map(|i| {
                let mut pr = PullRequest::opened(
                    EventId::parse(&format!("{repo}#{i}")).unwrap(),
                    Name::parse(repo).unwrap(),
                    t,
                );
                pr.first_review_at = Some(t);
                pr.approved_at = Some(t);
                Event::PullRequest(pr)
            })
            .collect()
    }

    fn kept(events: &[Event]) -> Vec<bool> {
        events
            .iter()
            .map(|e| matches!(e, Event::PullRequest(p) if p.first_review_at.is_some()))
            .collect()
    }

    #[test]
    fn a_deterministic_share_is_kept_and_critical_repos_whole() {
        let key = Pseudonymiser::from_key([3; 32]);
        let sampling = ReviewSampling {
            rate: 0.25,
            critical_repos: BTreeSet::from(["acme/core".to_string()]),
        };
        let mut a = prs("acme/shop", 4000);
        sampling.apply(&key, &mut a);
        let share = kept(&a).iter().filter(|&&k| k).count() as f64 / 4000.0;
        assert!((0.22..0.28).contains(&share), "{share}");
        // A re-sent history is sampled the same way.
        let mut again = prs("acme/shop", 4000);
        sampling.apply(&key, &mut again);
        assert_eq!(kept(&a), kept(&again));
        let mut core = prs("acme/core", 100);
        sampling.apply(&key, &mut core);
        assert!(kept(&core).iter().all(|&k| k));
        // Another key chooses differently.
        let mut other = prs("acme/shop", 4000);
        sampling.apply(&Pseudonymiser::from_key([4; 32]), &mut other);
        assert_ne!(kept(&a), kept(&other));
    }
}
