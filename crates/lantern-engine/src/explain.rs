//! Why a deployment counts as it does: the rule that decided what it
//! shipped, what that was (counts and times, never a commit's author or
//! message), the pull requests it took to production, and whether it
//! failed, why, and when it recovered — the same facts the report's
//! figures are made of, for one deployment.

use crate::facts::ShipRule;
use crate::ledger::Ledger;
use lantern_events::{EventId, Timestamp};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentExplanation {
    pub deployment: String,
    pub service: String,
    pub finished_at: String,
    /// `explicit` (the source listed its changes), `graph` (the commits
    /// reachable from its sha and not from the previous deployment's) or
    /// `baseline` (the service's first: nothing measurable, rule 3).
    pub rule: &'static str,
    /// With `graph`: the previous deployment the history is counted from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Changes it shipped after rule 4 (those no earlier deployment of the
    /// service shipped); 0 with a non-baseline rule: nothing new.
    pub changes: u64,
    pub earliest_commit_at: Option<String>,
    pub latest_commit_at: Option<String>,
    /// Pull requests it took to production first, by id.
    pub pull_requests: Vec<String>,
    pub failed: bool,
    /// Why it counts as failed: incidents (and how each is linked), the
    /// deployment that rolled it back, the hotfix after it.
    pub failure: Vec<FailureCause>,
    /// A hotfix or rollback itself, or deployed while an incident of its
    /// service was open.
    pub rework: bool,
    /// Seconds from its finish to recovery, when it failed and recovered.
    pub recovery_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FailureCause {
    /// An incident linked to it: `by_id` (the incident's `caused_by`),
    /// `by_sha` (its `caused_by_sha`, first shipped here) or `inferred`.
    Incident {
        id: String,
        link: &'static str,
    },
    RolledBackBy {
        deployment: String,
    },
    HotfixBy {
        deployment: String,
    },
}

impl<'e> Ledger<'e> {
    /// The explanation of one successful production deployment of the
    /// ledger (`None` for any other id).
    pub fn explain(&self, id: &EventId) -> Option<DeploymentExplanation> {
        let i = self.spds.iter().position(|s| &s.d.id == id)?;
        let spd = &self.spds[i];
        let d = spd.d;
        let time = |t: &Timestamp| t.to_rfc3339();
        let shipped = &spd.facts.shipped;
        let pull_requests = self
            .input
            .pull_requests
            .iter()
            .zip(&self.input.pull_request_facts)
            .filter(|(_, f)| {
                f.as_ref().is_some_and(|f| {
                    f.first_deploys
                        .iter()
                        .any(|(s, at)| s == &d.service && *at == d.finished_at)
                })
            })
            .map(|(pr, _)| pr.id.to_string())
            .collect();
        let mut failure: Vec<FailureCause> = spd
            .incidents
            .iter()
            .map(|&(n, kind)| {
                let incident = &self.input.incidents[n];
                FailureCause::Incident {
                    id: incident.id.to_string(),
                    link: kind.as_str(),
                }
            })
            .collect();
        if let Some(r) = spd.first_rollback {
            failure.push(FailureCause::RolledBackBy {
                deployment: self.spds[r].d.id.to_string(),
            });
        }
        if let Some(h) = spd.hotfix {
            failure.push(FailureCause::HotfixBy {
                deployment: self.spds[h].d.id.to_string(),
            });
        }
        let recovery_s = match failure.is_empty() {
            true => None,
            false => self
                .recovered_at(i)
                .map(|end| end.seconds_since(d.finished_at)),
        };
        Some(DeploymentExplanation {
            deployment: d.id.to_string(),
            service: d.service.to_string(),
            finished_at: time(&d.finished_at),
            rule: match spd.facts.rule {
                ShipRule::Explicit => "explicit",
                ShipRule::Graph => "graph",
                ShipRule::Baseline => "baseline",
            },
            since: match spd.facts.rule {
                ShipRule::Graph => spd.prev.map(|p| self.spds[p].d.id.to_string()),
                _ => None,
            },
            changes: shipped.len() as u64,
            earliest_commit_at: shipped.iter().min().map(time),
            latest_commit_at: shipped.iter().max().map(time),
            pull_requests,
            failed: !failure.is_empty(),
            failure,
            rework: self.is_rework(i),
            recovery_s,
        })
    }
}
