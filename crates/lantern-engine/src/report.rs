//! The report of metrics.md, computed from a ledger for a scope and window.

use crate::bands::Band;
use crate::input::{Scope, Window};
use crate::ledger::Ledger;
use crate::stats::Stats;
use crate::tally::DeployTally;
use lantern_events::*;
use serde::Serialize;

pub const BENCHMARK: &str = "dora-2023";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    pub scope: ScopeJson,
    pub window: WindowJson,
    pub benchmark: &'static str,
    pub deployment_frequency: DeploymentFrequency,
    pub lead_time: BandedStats,
    pub change_failure_rate: ChangeFailureRate,
    pub failed_deployment_recovery_time: RecoveryTime,
    pub rework_rate: ReworkRate,
    pub time_to_restore: Stats,
    pub time_to_detect: Stats,
    pub deployment_success_rate: SuccessRate,
    pub pr_stages: PrStages,
    pub data_quality: DataQuality,
    /// hygiene.md: what explains the figures (seed 003's M6–M10).
    pub signals: crate::hygiene::Signals,
    /// slo.md: each SLO of the scope's services at the window's end (in a
    /// trend bucket: its SLI and burn rate over the bucket); absent when
    /// the scope has no SLO or is the organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slos: Option<Vec<crate::slo::SloFigure>>,
    /// slo.md: deployments of P of services with an SLO whose next hour
    /// burned budget fast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployments_followed_by_burn: Option<crate::slo::FollowedByBurn>,
    /// flow.md: the scope's work items over the window; in team and
    /// service reports only (work belongs to a team).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<crate::flow::FlowReport>,
    /// panels.md: the scope's incidents as alerts.
    pub alert_quality: crate::panels::AlertQuality,
    /// panels.md: the size and review of `pr_stages`' pull requests.
    pub review_quality: crate::panels::ReviewQuality,
    /// panels.md: static-analysis and security findings of the scope's
    /// repositories.
    pub findings: crate::panels::Findings,
    /// panels.md: an AI assistant's adoption, beside the team's
    /// stability; in team reports only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_assist: Option<crate::panels::AiAssist>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ScopeJson {
    Service(String),
    Team(String),
    Org(bool),
}

impl From<&Scope> for ScopeJson {
    fn from(s: &Scope) -> Self {
        match s {
            Scope::Service(n) => ScopeJson::Service(n.to_string()),
            Scope::Team { name, .. } => ScopeJson::Team(name.to_string()),
            Scope::Org => ScopeJson::Org(true),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowJson {
    pub from: String,
    pub to: String,
}

impl From<Window> for WindowJson {
    fn from(window: Window) -> Self {
        WindowJson {
            from: window.from.to_rfc3339(),
            to: window.to.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentFrequency {
    pub count: u64,
    pub per_day: f64,
    pub deploy_days: u64,
    pub weekly_median_deploy_days: Option<f64>,
    pub band: Option<Band>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BandedStats {
    #[serde(flatten)]
    pub stats: Stats,
    pub band: Option<Band>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeFailureRate {
    pub deployments: u64,
    pub failed: u64,
    pub rate: Option<f64>,
    pub band: Option<Band>,
    pub by_cause: FailureCauses,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FailureCauses {
    pub incident_explicit: u64,
    pub incident_inferred: u64,
    pub rollback: u64,
    pub hotfix: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryTime {
    #[serde(flatten)]
    pub stats: Stats,
    pub unresolved: u64,
    pub band: Option<Band>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReworkRate {
    pub deployments: u64,
    pub rework: u64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuccessRate {
    pub attempts: u64,
    pub succeeded: u64,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrStages {
    pub coding: Stats,
    pub pickup: Stats,
    pub review: Stats,
    pub deploy: Stats,
    /// The share of pull requests that kept review detail, when review
    /// detail is sampled (governance.md rule 6): pickup and review rest on
    /// that sample. Set by the caller, which knows the setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_sample_rate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataQuality {
    pub negative_lead_times: u64,
    pub negative_recovery_times: u64,
    pub negative_pr_stages: u64,
    pub baseline_deployments: u64,
    pub deployments_without_changes: u64,
    pub unknown_deployed_shas: u64,
    pub open_incidents: u64,
    pub inferred_incident_links: u64,
    /// Incidents linked to a deployment in P, by how they were linked: not
    /// a fault in itself, but the share of `inferred` says how much of the
    /// change failure rate rests on timing alone.
    pub incident_links: IncidentLinks,
    /// hygiene.md F2: incidents of S started in W linked to no deployment
    /// and not `external`.
    pub unlinked_incidents: u64,
    /// hygiene.md F2: incidents started in W of a service no team owns
    /// (set by the caller, which knows the catalog; 0 without one).
    pub unknown_incident_services: u64,
    /// hygiene.md F3: deployments that finished before they started, and
    /// incidents resolved before they started.
    pub inverted_intervals: u64,
    /// hygiene.md F4: failed runs a later attempt of the same pipeline on
    /// the same commit turned into a success.
    pub flaky_runs: u64,
    /// hygiene.md F6: rollouts whose last member finished in W with both
    /// a successful and a failed or cancelled member.
    pub partial_rollouts: u64,
    /// hygiene.md F1: services of S whose deployments stopped for far
    /// longer than their usual gap, by name.
    pub silent_services: Vec<crate::hygiene::SilentService>,
    /// hygiene.md F7: runs of whole days with no event of a service, far
    /// longer than its usual gap, by service and start.
    pub gaps: Vec<crate::hygiene::Gap>,
    /// hygiene.md F1: webhook receivers that stopped delivering, by name.
    pub silent_sources: Vec<crate::hygiene::SilentSource>,
    /// hygiene.md F3: events of S received in W dated more than five
    /// minutes after they arrived (kept, counted).
    pub future_timestamps: u64,
    /// hygiene.md F5: feature-flag changes touching W, of a service of S,
    /// of the team (a team's report) or of any scope (the organisation's).
    pub flag_changes: u64,
}

/// One sentence of [`DataQuality::notes`]: which count it is about,
/// whether it is a fault to fix, and the words (with the fix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub check: &'static str,
    pub fault: bool,
    pub text: String,
}

/// Incident links by kind (attribution issue): `by_id` (`caused_by`),
/// `by_sha` (`caused_by_sha`) and `inferred` (= `inferred_incident_links`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentLinks {
    pub by_id: u64,
    pub by_sha: u64,
    pub inferred: u64,
}

impl DataQuality {
    /// What the counts mean for the reader, in plain sentences (the CLI and
    /// the dashboard show these).
    pub fn warnings(&self) -> Vec<String> {
        self.notes().into_iter().map(|n| n.text).collect()
    }

    /// The notes that are faults in the data, each with its fix in words:
    /// what `lantern doctor` and the data-health page list. Baselines,
    /// open incidents and inferred links are not faults.
    pub fn findings(&self) -> Vec<Note> {
        self.notes().into_iter().filter(|n| n.fault).collect()
    }

    /// Every note, in a fixed order.
    pub fn notes(&self) -> Vec<Note> {
        let q = self;
        let mut out = Vec::new();
        let mut say = |check: &'static str, fault: bool, n: u64, one: &str, many: &str| {
            if n > 0 {
                let text = if n == 1 {
                    one.replace("{n}", "1")
                } else {
                    many.replace("{n}", &n.to_string())
                };
                out.push(Note { check, fault, text });
            }
        };
        say(
            "baseline_deployments",
            false,
            q.baseline_deployments,
            "1 deployment was a service's first known one (a baseline): it ships nothing measurable.",
            "{n} deployments were baselines (no earlier deployment of the same repo to compare with): they ship nothing measurable.",
        );
        say(
            "deployments_without_changes",
            true,
            q.deployments_without_changes,
            "1 deployment carried no new commit: check that deploy events send the sha or change list.",
            "{n} deployments carried no new commit: check that deploy events send the sha or change list.",
        );
        say(
            "unknown_deployed_shas",
            true,
            q.unknown_deployed_shas,
            "1 deployed sha is not among the stored commits: import the repository's history.",
            "{n} deployed shas are not among the stored commits: import the repository's history.",
        );
        say(
            "negative_lead_times",
            true,
            q.negative_lead_times,
            "1 commit was dated after its deployment (clock skew or rebased history) and was left out.",
            "{n} commits were dated after their deployment (clock skew or rebased history) and were left out.",
        );
        say(
            "negative_recovery_times",
            true,
            q.negative_recovery_times,
            "1 recovery ended before its deployment and was left out.",
            "{n} recoveries ended before their deployment and were left out.",
        );
        say(
            "negative_pr_stages",
            true,
            q.negative_pr_stages,
            "1 pull-request stage had a negative duration and was left out.",
            "{n} pull-request stages had negative durations and were left out.",
        );
        say(
            "open_incidents",
            false,
            q.open_incidents,
            "1 incident is still open.",
            "{n} incidents are still open.",
        );
        say(
            "inferred_incident_links",
            false,
            q.inferred_incident_links,
            "1 incident was linked to a deployment by timing only: send caused_by to be sure.",
            "{n} incidents were linked to deployments by timing only: send caused_by to be sure.",
        );
        say(
            "unlinked_incidents",
            true,
            q.unlinked_incidents,
            "1 incident is linked to no deployment: send caused_by, or cause: external when no change caused it.",
            "{n} incidents are linked to no deployment: send caused_by, or cause: external when no change caused it.",
        );
        say(
            "unknown_incident_services",
            true,
            q.unknown_incident_services,
            "1 incident names a service no team owns: add it to a team in lantern.toml, or map the tool's name in [sources.X] services.",
            "{n} incidents name services no team owns: add them to a team in lantern.toml, or map the tool's names in [sources.X] services.",
        );
        say(
            "inverted_intervals",
            true,
            q.inverted_intervals,
            "1 deployment or incident ends before it starts: check the source's clock and time zone.",
            "{n} deployments or incidents end before they start: check the sources' clocks and time zones.",
        );
        say(
            "flaky_runs",
            true,
            q.flaky_runs,
            "1 failed CI run passed when it was run again on the same commit: a flaky test or job.",
            "{n} failed CI runs passed when they were run again on the same commit: flaky tests or jobs.",
        );
        say(
            "partial_rollouts",
            true,
            q.partial_rollouts,
            "1 rollout reached only some of its clusters or regions: it counts as one failed deployment.",
            "{n} rollouts reached only some of their clusters or regions: each counts as one failed deployment.",
        );
        say(
            "flag_changes",
            false,
            q.flag_changes,
            "1 feature flag changed in this window: it is marked on the charts beside the deployments.",
            "{n} feature flags changed in this window: they are marked on the charts beside the deployments.",
        );
        say(
            "future_timestamps",
            true,
            q.future_timestamps,
            "1 event was dated more than five minutes after it arrived: check the sender's clock.",
            "{n} events were dated more than five minutes after they arrived: check the senders' clocks.",
        );
        for s in &q.silent_sources {
            out.push(Note {
                check: "silent_sources",
                fault: true,
                text: format!(
                    "The {} webhook has delivered nothing since {}: check the hook at the source.",
                    s.source, s.last_delivery
                ),
            });
        }
        for g in &q.gaps {
            out.push(Note {
                check: "gaps",
                fault: true,
                text: format!(
                    "{}: nothing at all was received from {} to {}: events may have been lost (check the hooks and imports for those days).",
                    g.service, g.from, g.to
                ),
            });
        }
        for s in &q.silent_services {
            out.push(Note {
                check: "silent_services",
                fault: true,
                text: format!(
                    "{}: deployment events may be missing since {} (far longer than its usual gap): check the CI hook.",
                    s.service, s.last_deployment
                ),
            });
        }
        out
    }

    /// Whether anything made the numbers less trustworthy. Links stated by
    /// the source are not such a thing, so `incident_links` counts only
    /// through `inferred_incident_links`.
    pub fn any(&self) -> bool {
        let stated = IncidentLinks {
            inferred: self.incident_links.inferred,
            ..IncidentLinks::default()
        };
        *self
            != DataQuality {
                incident_links: stated,
                ..DataQuality::default()
            }
    }
}

pub(crate) fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Pushes a non-negative duration, or counts a negative one.
pub(crate) fn push_duration(values: &mut Vec<f64>, negatives: &mut u64, seconds: f64) {
    if seconds < 0.0 {
        *negatives += 1;
    } else {
        values.push(seconds);
    }
}

impl<'e> Ledger<'e> {
    pub fn report(&self, scope: &Scope, window: Window) -> Report {
        self.report_with(scope, window, self.deploy_tally(scope, &window))
    }

    /// The report, its deployment figures taken from `tally` — the sum of
    /// the scope's kept day tallies ([`Ledger::day_tallies`]) over a window
    /// of whole days gives what [`Ledger::report`] would.
    pub fn report_with(&self, scope: &Scope, window: Window, mut tally: DeployTally) -> Report {
        let mut dq = DataQuality::default();
        let figures = tally.figures(&window, &mut dq);
        let mut runs = self.run_tally(scope, &window);
        let incidents = self.incidents_in(scope);
        let mut restore = Vec::new();
        let mut detect = Vec::new();
        for inc in &incidents {
            if let Some(resolved) = inc.resolved_at.filter(|&t| window.contains(t)) {
                restore.push(resolved.seconds_since(inc.started_at));
            }
            if let Some(detected) = inc.detected_at.filter(|_| window.contains(inc.started_at)) {
                detect.push(detected.seconds_since(inc.started_at));
            }
            if inc.resolved_at.is_none() && inc.started_at < window.to {
                dq.open_incidents += 1;
            }
        }
        // Read once for alert quality and hygiene's unlinked incidents,
        // and for the pull-request stages and review quality.
        let started: Vec<&Incident> = incidents
            .iter()
            .copied()
            .filter(|i| window.contains(i.started_at))
            .collect();
        let linked = self.linked_incidents(&started);
        let mut prs = self.pr_tally(scope, &window);
        let alert_quality = self.alert_quality(&started, &linked);
        let review_quality = prs.review_quality();
        let findings = self.findings_of(scope, &window);
        let ai_assist = match scope {
            Scope::Team { name, .. } => Some(crate::panels::ai_assist(
                &self.input.assist_usage,
                name,
                &window,
                self.config.assist_min_users,
                figures.change_failure_rate.rate,
                figures.rework_rate.rate,
            )),
            _ => None,
        };
        Report {
            scope: scope.into(),
            window: window.into(),
            benchmark: BENCHMARK,
            deployment_frequency: figures.deployment_frequency,
            lead_time: figures.lead_time,
            change_failure_rate: figures.change_failure_rate,
            failed_deployment_recovery_time: figures.failed_deployment_recovery_time,
            rework_rate: figures.rework_rate,
            time_to_restore: Stats::of(&mut restore),
            time_to_detect: Stats::of(&mut detect),
            deployment_success_rate: figures.deployment_success_rate,
            pr_stages: prs.stages(&mut dq),
            signals: self.signals(&tally, &mut runs),
            data_quality: {
                self.hygiene(scope, &started, &linked, &window, &mut dq);
                dq.flaky_runs = runs.flaky;
                dq
            },
            slos: None,
            deployments_followed_by_burn: None,
            flow: None,
            alert_quality,
            review_quality,
            findings,
            ai_assist,
        }
    }

    /// The findings of the repositories the scope deploys (every one for
    /// the organisation).
    fn findings_of(&self, scope: &Scope, window: &Window) -> crate::panels::Findings {
        let repos: Option<foldhash::HashSet<&Name>> =
            self.input.repos_deployed_by(scope).map(Iterator::collect);
        let of_scope: Vec<&Finding> = self
            .input
            .findings
            .iter()
            .filter(|f| repos.as_ref().is_none_or(|r| r.contains(&f.repo)))
            .collect();
        crate::panels::findings(&of_scope, window)
    }

    /// When a failed deployment (position `i`) recovered: its incidents'
    /// last resolution (none while one is open), else its rollback's or
    /// hotfix's finish.
    pub(crate) fn recovered_at(&self, i: usize) -> Option<Timestamp> {
        let spd = &self.spds[i];
        if !spd.incidents.is_empty() {
            let resolved: Option<Vec<Timestamp>> = spd
                .incidents
                .iter()
                .map(|&(n, _)| self.input.incidents[n].resolved_at)
                .collect();
            resolved.and_then(|times| times.into_iter().max())
        } else if let Some(r) = spd.first_rollback {
            Some(self.spds[r].finished_at)
        } else {
            spd.hotfix.map(|h| self.spds[h].finished_at)
        }
    }

    /// Whether the deployment at position `i` is rework (see [`crate::ledger::Spd::rework`]).
    pub(crate) fn is_rework(&self, i: usize) -> bool {
        self.spds[i].rework
    }
}
