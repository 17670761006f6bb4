//! What the engine is given: events, a scope, a window and its settings.

use crate::facts::{DeploymentFacts, FirstDeploy, PullRequestFacts, derive};
use foldhash::{HashMap, HashMapExt, HashSet};
use lantern_events::*;
use std::collections::BTreeSet;

/// The events a report is computed from. Built with last-write-wins per
/// (type, id), so a re-sent history never counts twice even when a caller
/// hands the engine raw input.
#[derive(Debug, Default, Clone)]
pub struct EventSet {
    pub changes: Vec<Change>,
    pub pull_requests: Vec<PullRequest>,
    pub deployments: Vec<Deployment>,
    pub incidents: Vec<Incident>,
    pub annotations: Vec<Annotation>,
    pub pipeline_runs: Vec<PipelineRun>,
    pub work_items: Vec<WorkItem>,
    pub work_states: Vec<WorkState>,
    pub findings: Vec<Finding>,
    pub assist_usage: Vec<AssistUsage>,
}

impl EventSet {
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> Self {
        let mut positions: HashMap<(EventKind, EventId), usize> = HashMap::new();
        let mut set = EventSet::default();
        for event in events {
            let key = (event.kind(), event.id().clone());
            macro_rules! put {
                ($vec:expr, $e:expr) => {{
                    match positions.get(&key) {
                        Some(&i) => $vec[i] = $e,
                        None => {
                            positions.insert(key, $vec.len());
                            $vec.push($e);
                        }
                    }
                }};
            }
            match event {
                Event::Change(e) => put!(set.changes, e),
                Event::PullRequest(e) => put!(set.pull_requests, e),
                Event::Deployment(e) => put!(set.deployments, e),
                Event::Incident(e) => put!(set.incidents, e),
                Event::Annotation(e) => put!(set.annotations, e),
                Event::PipelineRun(e) => put!(set.pipeline_runs, e),
                Event::WorkItem(e) => put!(set.work_items, e),
                Event::WorkState(e) => put!(set.work_states, e),
                Event::Finding(e) => put!(set.findings, e),
                Event::AssistUsage(e) => put!(set.assist_usage, e),
                // SLO counts are read per SLO (`slo`), never by a DORA report.
                Event::Sli(_) => {}
            }
        }
        set
    }

    pub fn len(&self) -> usize {
        self.changes.len()
            + self.pull_requests.len()
            + self.deployments.len()
            + self.incidents.len()
            + self.annotations.len()
            + self.pipeline_runs.len()
            + self.work_items.len()
            + self.work_states.len()
            + self.findings.len()
            + self.assist_usage.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which services a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Service(Name),
    /// A team and the services the catalog gives it.
    Team {
        name: Name,
        services: BTreeSet<Name>,
    },
    /// Every service named by a deployment or an incident.
    Org,
}

impl Scope {
    pub fn contains(&self, service: &Name) -> bool {
        match self {
            Scope::Service(s) => s == service,
            Scope::Team { services, .. } => services.contains(service),
            Scope::Org => true,
        }
    }

    /// The services of this scope, or `None` for the whole organisation.
    pub fn services(&self) -> Option<BTreeSet<Name>> {
        match self {
            Scope::Service(s) => Some(BTreeSet::from([s.clone()])),
            Scope::Team { services, .. } => Some(services.clone()),
            Scope::Org => None,
        }
    }
}

/// [from, to), UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// Why a window could not be made. The front ends word it for their
/// users (`--from` on the command line, `from` in a query string).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// A bound (`from` or `to`) is not a date or time.
    #[error("{bound}: {message}")]
    Bound {
        bound: &'static str,
        message: String,
    },
    #[error("the window is empty: from {from} is not before to {to}")]
    Empty { from: Timestamp, to: Timestamp },
}

impl Window {
    pub fn new(from: Timestamp, to: Timestamp) -> Result<Self, WindowError> {
        if from >= to {
            return Err(WindowError::Empty { from, to });
        }
        Ok(Window { from, to })
    }

    /// Where a window ends when the user names no end: the start of
    /// `now`'s UTC day. Every front end reads whole UTC days by default,
    /// `to` exclusive, so the same days give the same figures in the CLI,
    /// the API and the dashboard, and they do not move with the clock
    /// during a day (today's partial day is left for tomorrow's figures).
    pub fn default_end(now: Timestamp) -> Timestamp {
        Timestamp::from_micros(now.micros().div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY)
    }

    /// The window a user asks for: `to` (YYYY-MM-DD or RFC 3339, default
    /// [`Window::default_end`]) and `from` (default 90 days before `to`).
    /// `now` comes from the caller: the engine reads no clock.
    pub fn from_bounds(
        from: Option<&str>,
        to: Option<&str>,
        now: Timestamp,
    ) -> Result<Self, WindowError> {
        let parse = |bound: &'static str, v: &str| {
            Timestamp::parse_bound(v).map_err(|message| WindowError::Bound { bound, message })
        };
        let to = match to {
            Some(v) => parse("to", v)?,
            None => Window::default_end(now),
        };
        let from = match from {
            Some(v) => parse("from", v)?,
            None => to.plus_micros(-90 * MICROS_PER_DAY),
        };
        Window::new(from, to)
    }

    pub fn contains(&self, t: Timestamp) -> bool {
        self.from <= t && t < self.to
    }

    pub fn days(&self) -> f64 {
        (self.to.micros() - self.from.micros()) as f64 / MICROS_PER_DAY as f64
    }
}

/// The engine's settings, from `lantern.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// Environment names that count as production, lower-cased.
    pub production: Vec<String>,
    /// How far before an incident a deployment may finish and still be
    /// linked to it by inference.
    pub link_window_micros: i64,
    pub infer_incident_links: bool,
    /// panels.md: an AI assistant's day with fewer active users is never
    /// shown (max(3, governance's `min_group_size`)).
    pub assist_min_users: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            production: vec!["production".into(), "prod".into()],
            link_window_micros: 24 * 3600 * MICROS_PER_SECOND,
            infer_incident_links: true,
            assist_min_users: 3,
        }
    }
}

impl EngineConfig {
    pub fn is_production(&self, environment: &str) -> bool {
        if environment.is_ascii() {
            self.production
                .iter()
                .any(|p| p.eq_ignore_ascii_case(environment))
        } else {
            let lower = environment.to_lowercase();
            self.production.iter().any(|p| p.to_lowercase() == lower)
        }
    }
}

/// What a report is computed from: deployments and incidents as events,
/// history only as derived facts (see [`crate::Facts`]), each beside the
/// event it belongs to. Built from a whole history with
/// [`ReportInput::from_events`], or by a store from kept facts and only the
/// deployments a window needs.
#[derive(Debug, Default, Clone)]
pub struct ReportInput {
    /// Every deployment of the scope finished in the window, and every
    /// successful production one from the window's start on (more is fine).
    /// Reports read their id, service, environment, status, finished_at,
    /// kind and rollback_of; a store may leave the other fields empty.
    pub deployments: Vec<Deployment>,
    /// The facts of `deployments[i]` at `i` (`None` for deployments that
    /// are not successful production ones): a list beside the deployments
    /// saves two hash look-ups a deployment over a map by id.
    pub deployment_facts: Vec<Option<DeploymentFacts>>,
    pub incidents: Vec<Incident>,
    /// At least the pull requests merged in the window. Reports read their
    /// id, repo, opened_at, first_review_at, merged_at, review_kept and
    /// size (additions + deletions: a store that keeps only the sum hands
    /// it over as `additions`, with `deletions` 0).
    pub pull_requests: Vec<PullRequest>,
    /// The facts of `pull_requests[i]` at `i` (`None` when not merged).
    pub pull_request_facts: Vec<Option<PullRequestFacts>>,
    /// For incidents with `caused_by_sha`: per affected service, its first
    /// deployment that carried the commit.
    pub sha_links: Vec<FirstDeploy>,
    /// (service, repository) for every repository a service's deployments name.
    pub deployed_repos: HashSet<(Name, Name)>,
    /// The runs of at least the scope's repositories finished in the
    /// window: whole UTC days summed, single runs elsewhere.
    pub pipeline_runs: crate::runs::RunFacts,
    /// (service, finished_at) of the successful production deployments
    /// (rollouts merged) in the 90 days before the window that a store did
    /// not hand over as deployments: all hygiene.md's silent services read
    /// of them, for a trend bucket ending early in the window. Never one
    /// of `deployments`. [`ReportInput::from_events`] leaves it empty.
    pub earlier_deployments: Vec<(Name, Timestamp)>,
    /// What [`ReportInput::merge_rollouts`] learnt of the rollouts it merged.
    pub rollouts: crate::rollout::Rollouts,
    /// Events received in the window dated more than five minutes after
    /// their arrival (hygiene.md F3). A store knows arrivals; a history
    /// does not, so [`ReportInput::from_events`] leaves this empty.
    pub future_events: Vec<Arrival>,
    /// Per webhook receiver, the minutes (their starts) in which it
    /// delivered, from 30 days before the window on (hygiene.md F1).
    pub deliveries: Vec<(String, Vec<Timestamp>)>,
    /// (repository, UTC day number) of at least the window's days on which
    /// the scope's repositories had changes (hygiene.md F7).
    pub change_days: Vec<(Name, i64)>,
    /// At least the `feature_flag` annotations touching the window
    /// (hygiene.md F5).
    pub flag_changes: Vec<Annotation>,
    /// panels.md: at least the findings of the scope's repositories open
    /// at some time in the window.
    pub findings: Vec<Finding>,
    /// panels.md: at least the team's AI-assistant days in the window
    /// (a team report's; other scopes show none).
    pub assist_usage: Vec<AssistUsage>,
    /// What a store kept of the deployments, per service and UTC day, for
    /// reports over whole days: then `deployments` may be left empty
    /// (see [`crate::KeptDays`]).
    pub kept: Option<crate::kept::KeptDays>,
}

/// An event as it arrived: what puts it in a scope, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub services: Vec<Name>,
    pub repo: Option<Name>,
    pub received_at: Timestamp,
}

impl ReportInput {
    /// Adds a minute in which `receiver` delivered; a store hands them
    /// over by receiver, then time.
    pub fn add_delivery(&mut self, receiver: &str, minute_start: Timestamp) {
        match self.deliveries.last_mut() {
            Some((name, list)) if name == receiver => list.push(minute_start),
            _ => self
                .deliveries
                .push((receiver.to_string(), vec![minute_start])),
        }
    }

    /// Keeps the `feature_flag` annotations of `annotations` that touch
    /// the window (hygiene.md F5), as `flag_changes`.
    pub fn set_flag_changes(&mut self, annotations: Vec<Annotation>, window: Window) {
        self.flag_changes = annotations
            .into_iter()
            .filter(|a| a.kind == AnnotationKind::FeatureFlag)
            .filter(|a| a.from < window.to && a.to.unwrap_or(a.from) >= window.from)
            .collect();
    }

    /// The (service, rollout) of every rollout member handed over, and
    /// the members' ids: what a store completes (every member of a
    /// rollout it hands any of).
    pub fn rollouts_begun(&self) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
        let mut rollouts = BTreeSet::new();
        let mut members = BTreeSet::new();
        for d in &self.deployments {
            if let Some(r) = &d.rollout {
                rollouts.insert((d.service.to_string(), r.to_string()));
                members.insert(d.id.to_string());
            }
        }
        (rollouts, members)
    }

    /// The repositories the scope's services deploy (`None` for the
    /// organisation: every repository).
    pub fn repos_deployed_by<'a>(
        &'a self,
        scope: &'a Scope,
    ) -> Option<impl Iterator<Item = &'a Name>> {
        (!matches!(scope, Scope::Org)).then(|| {
            self.deployed_repos
                .iter()
                .filter(|(s, _)| scope.contains(s))
                .map(|(_, r)| r)
        })
    }

    /// The repositories a set of services deploys (`None`, every
    /// service: `None`, every repository), e.g. whose findings a report
    /// reads (panels.md).
    pub fn repos_of(&self, services: Option<&BTreeSet<Name>>) -> Option<BTreeSet<Name>> {
        services.map(|services| {
            self.deployed_repos
                .iter()
                .filter(|(s, _)| services.contains(s))
                .map(|(_, r)| r.clone())
                .collect()
        })
    }

    pub fn from_events(events: EventSet, config: &EngineConfig) -> Self {
        let mut facts = derive(&events, config);
        let deployment_facts = events
            .deployments
            .iter()
            .map(|d| facts.deployments.remove(&d.id))
            .collect();
        let pull_request_facts = events
            .pull_requests
            .iter()
            .map(|pr| facts.pull_requests.remove(&pr.id))
            .collect();
        let mut change_days: Vec<(Name, i64)> = events
            .changes
            .iter()
            .map(|c| {
                (
                    c.repo.clone(),
                    c.committed_at.micros().div_euclid(MICROS_PER_DAY),
                )
            })
            .collect();
        change_days.sort_unstable();
        change_days.dedup();
        let deployed_repos = events
            .deployments
            .iter()
            .filter_map(|d| d.repo.clone().map(|r| (d.service.clone(), r)))
            .collect();
        let mut input = ReportInput {
            deployments: events.deployments,
            deployment_facts,
            incidents: events.incidents,
            pull_requests: events.pull_requests,
            pull_request_facts,
            sha_links: facts.sha_links,
            deployed_repos,
            pipeline_runs: crate::runs::RunFacts::of_runs(&events.pipeline_runs),
            rollouts: Default::default(),
            future_events: Vec::new(),
            deliveries: Vec::new(),
            earlier_deployments: Vec::new(),
            change_days,
            flag_changes: events
                .annotations
                .iter()
                .filter(|a| a.kind == AnnotationKind::FeatureFlag)
                .cloned()
                .collect(),
            findings: events.findings,
            assist_usage: events.assist_usage,
            kept: None,
        };
        input.merge_rollouts(config);
        input
    }
}
