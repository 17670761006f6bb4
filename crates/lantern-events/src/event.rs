//! The canonical event types of events.md: the five of version 1, and of
//! version 1.1 `sli` (slo.md), `pipeline_run` (hygiene.md), `work_item`
//! and `work_state` (flow.md), and of panels.md `finding` and
//! `assist_usage`.

use crate::{EventId, Name, Pseudonym, Sha, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Change(Change),
    PullRequest(PullRequest),
    Deployment(Deployment),
    Incident(Incident),
    Annotation(Annotation),
    Sli(Sli),
    PipelineRun(PipelineRun),
    WorkItem(WorkItem),
    WorkState(WorkState),
    Finding(Finding),
    AssistUsage(AssistUsage),
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Change(_) => EventKind::Change,
            Event::PullRequest(_) => EventKind::PullRequest,
            Event::Deployment(_) => EventKind::Deployment,
            Event::Incident(_) => EventKind::Incident,
            Event::Annotation(_) => EventKind::Annotation,
            Event::Sli(_) => EventKind::Sli,
            Event::PipelineRun(_) => EventKind::PipelineRun,
            Event::WorkItem(_) => EventKind::WorkItem,
            Event::WorkState(_) => EventKind::WorkState,
            Event::Finding(_) => EventKind::Finding,
            Event::AssistUsage(_) => EventKind::AssistUsage,
        }
    }

    pub fn id(&self) -> &EventId {
        match self {
            Event::Change(e) => &e.id,
            Event::PullRequest(e) => &e.id,
            Event::Deployment(e) => &e.id,
            Event::Incident(e) => &e.id,
            Event::Annotation(e) => &e.id,
            Event::Sli(e) => &e.id,
            Event::PipelineRun(e) => &e.id,
            Event::WorkItem(e) => &e.id,
            Event::WorkState(e) => &e.id,
            Event::Finding(e) => &e.id,
            Event::AssistUsage(e) => &e.id,
        }
    }
}

impl Event {
    /// The latest of its timestamps: a clock ahead of Lantern's shows here
    /// (hygiene.md F3).
    pub fn latest_time(&self) -> Timestamp {
        let latest = |first: Timestamp, rest: &[Option<Timestamp>]| {
            rest.iter().flatten().fold(first, |a, &b| a.max(b))
        };
        match self {
            Event::Change(c) => c.committed_at.max(c.authored_at),
            Event::PullRequest(p) => latest(
                p.opened_at,
                &[
                    p.first_review_at,
                    p.approved_at,
                    p.merged_at,
                    p.closed_at,
                    p.first_commit_at,
                ],
            ),
            Event::Deployment(d) => latest(d.finished_at, &[d.started_at]),
            Event::Incident(i) => latest(
                i.started_at,
                &[i.detected_at, i.acknowledged_at, i.resolved_at],
            ),
            Event::Annotation(a) => latest(a.from, &[a.to]),
            Event::Sli(s) => s.to.max(s.from),
            Event::PipelineRun(r) => r.finished_at.max(r.started_at),
            Event::WorkItem(w) => w.created_at,
            Event::WorkState(w) => w.at,
            Event::Finding(f) => latest(f.opened_at, &[f.fixed_at]),
            Event::AssistUsage(a) => a.day,
        }
    }

    /// The services it is about (deployments, incidents) or its repository
    /// (changes, pull requests, CI runs): what puts it in a scope.
    pub fn scope_keys(&self) -> (Vec<&Name>, Option<&Name>) {
        match self {
            Event::Change(c) => (vec![], Some(&c.repo)),
            Event::PullRequest(p) => (vec![], Some(&p.repo)),
            Event::PipelineRun(r) => (vec![], Some(&r.repo)),
            Event::Finding(f) => (vec![], Some(&f.repo)),
            Event::Deployment(d) => (vec![&d.service], None),
            Event::Incident(i) => (i.affected().collect(), None),
            Event::Annotation(_)
            | Event::Sli(_)
            | Event::WorkItem(_)
            | Event::WorkState(_)
            | Event::AssistUsage(_) => (vec![], None),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Change,
    PullRequest,
    Deployment,
    Incident,
    Annotation,
    Sli,
    PipelineRun,
    WorkItem,
    WorkState,
    Finding,
    AssistUsage,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Change => "change",
            EventKind::PullRequest => "pull_request",
            EventKind::Deployment => "deployment",
            EventKind::Incident => "incident",
            EventKind::Annotation => "annotation",
            EventKind::Sli => "sli",
            EventKind::PipelineRun => "pipeline_run",
            EventKind::WorkItem => "work_item",
            EventKind::WorkState => "work_state",
            EventKind::Finding => "finding",
            EventKind::AssistUsage => "assist_usage",
        }
    }
}

/// One commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub id: EventId,
    pub repo: Name,
    pub sha: Sha,
    pub parents: Vec<Sha>,
    pub committed_at: Timestamp,
    pub authored_at: Timestamp,
    pub author: Option<Pseudonym>,
    pub pull_request: Option<EventId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PullRequest {
    pub id: EventId,
    pub repo: Name,
    pub opened_at: Timestamp,
    pub first_review_at: Option<Timestamp>,
    pub approved_at: Option<Timestamp>,
    pub merged_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub merge_sha: Option<Sha>,
    pub head_sha: Option<Sha>,
    pub commits: Vec<Sha>,
    pub first_commit_at: Option<Timestamp>,
    pub additions: Option<u64>,
    pub deletions: Option<u64>,
    pub author: Option<Pseudonym>,
    /// False when review sampling (governance.md rule 6) dropped its
    /// review detail: "not reviewed" and "not kept" then look alike, and
    /// panels.md's reviewed share counts only pull requests kept.
    pub review_kept: bool,
}

impl PullRequest {
    /// A pull request known only to have been opened; sources fill in
    /// what else they know.
    pub fn opened(id: EventId, repo: Name, opened_at: Timestamp) -> Self {
        PullRequest {
            id,
            repo,
            opened_at,
            first_review_at: None,
            approved_at: None,
            merged_at: None,
            closed_at: None,
            merge_sha: None,
            head_sha: None,
            commits: Vec::new(),
            first_commit_at: None,
            additions: None,
            deletions: None,
            author: None,
            review_kept: true,
        }
    }
}

impl Deployment {
    /// A deployment known only by what every source must say; sources fill
    /// in what else they know.
    pub fn finished(
        id: EventId,
        service: Name,
        environment: Name,
        status: DeploymentStatus,
        finished_at: Timestamp,
    ) -> Self {
        Deployment {
            id,
            service,
            environment,
            status,
            started_at: None,
            finished_at,
            repo: None,
            sha: None,
            changes: None,
            kind: None,
            rollback_of: None,
            automated: None,
            rollout: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentStatus {
    Success,
    Failure,
    Cancelled,
}

impl DeploymentStatus {
    pub const ALL: [(&'static str, DeploymentStatus); 3] = [
        ("success", DeploymentStatus::Success),
        ("failure", DeploymentStatus::Failure),
        ("cancelled", DeploymentStatus::Cancelled),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentKind {
    Planned,
    Hotfix,
    Rollback,
}

impl DeploymentKind {
    pub const ALL: [(&'static str, DeploymentKind); 3] = [
        ("planned", DeploymentKind::Planned),
        ("hotfix", DeploymentKind::Hotfix),
        ("rollback", DeploymentKind::Rollback),
    ];
}

/// One attempt to deploy one service to one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: EventId,
    pub service: Name,
    pub environment: Name,
    pub status: DeploymentStatus,
    pub started_at: Option<Timestamp>,
    pub finished_at: Timestamp,
    pub repo: Option<Name>,
    pub sha: Option<Sha>,
    /// `Some` (even when empty) when the source said explicitly what shipped.
    pub changes: Option<Vec<Sha>>,
    pub kind: Option<DeploymentKind>,
    pub rollback_of: Option<EventId>,
    pub automated: Option<bool>,
    /// Shared by the deployments of one release to several clusters or
    /// regions: they count as one (hygiene.md).
    pub rollout: Option<EventId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentCause {
    Change,
    External,
}

impl IncidentCause {
    pub const ALL: [(&'static str, IncidentCause); 2] = [
        ("change", IncidentCause::Change),
        ("external", IncidentCause::External),
    ];
}

/// A production-impacting failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: EventId,
    pub service: Name,
    /// More affected services, beyond `service`.
    pub services: Vec<Name>,
    pub started_at: Timestamp,
    pub detected_at: Option<Timestamp>,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub severity: Option<String>,
    pub cause: Option<IncidentCause>,
    pub caused_by: Option<EventId>,
    pub caused_by_sha: Option<Sha>,
    pub title: Option<String>,
}

impl Incident {
    /// `service` and every one of `services`.
    pub fn affected(&self) -> impl Iterator<Item = &Name> {
        std::iter::once(&self.service).chain(self.services.iter())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnnotationScope {
    Service(Name),
    Team(Name),
    Org,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationKind {
    Freeze,
    Migration,
    DependencyOutage,
    Reorg,
    Note,
    Dispute,
    /// A feature flag changed: the flag's key as the title, nothing else.
    FeatureFlag,
}

impl AnnotationKind {
    pub const ALL: [(&'static str, AnnotationKind); 7] = [
        ("freeze", AnnotationKind::Freeze),
        ("migration", AnnotationKind::Migration),
        ("dependency_outage", AnnotationKind::DependencyOutage),
        ("reorg", AnnotationKind::Reorg),
        ("note", AnnotationKind::Note),
        ("dispute", AnnotationKind::Dispute),
        ("feature_flag", AnnotationKind::FeatureFlag),
    ];

    pub fn as_str(self) -> &'static str {
        enum_name(&Self::ALL, self)
    }
}

/// The name an enum value has in events.md.
pub fn enum_name<T: PartialEq + Copy>(table: &[(&'static str, T)], value: T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map(|(name, _)| *name)
        .unwrap_or("unknown")
}

/// Context shown next to metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub id: EventId,
    pub scope: AnnotationScope,
    pub kind: AnnotationKind,
    pub from: Timestamp,
    pub to: Option<Timestamp>,
    pub title: String,
}

/// Good and total events of one SLO over an interval (slo.md), `from` <
/// `to`, `good` ≤ `total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sli {
    pub id: EventId,
    /// The SLO's name.
    pub slo: Name,
    pub from: Timestamp,
    pub to: Timestamp,
    pub good: u64,
    pub total: u64,
}

impl Sli {
    /// The id an `sli` event gets when it gives none: `slo@from`, the
    /// instant in UTC with six decimals, so every spelling of one instant
    /// gives one id.
    pub fn default_id(slo: &Name, from: Timestamp) -> Result<EventId, String> {
        EventId::parse(&format!("{slo}@{}", from.to_rfc3339_micros()))
    }
}

/// One CI run on a commit (hygiene.md): GitHub's `workflow_run`, GitLab's
/// pipeline, CDEvents' `pipelinerun.finished`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRun {
    pub id: EventId,
    pub repo: Name,
    pub sha: Sha,
    /// The workflow's or pipeline's name.
    pub pipeline: Name,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub status: PipelineStatus,
    /// 1 for the first run of this pipeline on this sha.
    pub attempt: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineStatus {
    Success,
    Failure,
    Cancelled,
}

impl PipelineStatus {
    pub const ALL: [(&'static str, PipelineStatus); 3] = [
        ("success", PipelineStatus::Success),
        ("failure", PipelineStatus::Failure),
        ("cancelled", PipelineStatus::Cancelled),
    ];
}

/// One ticket, issue or story (flow.md). It belongs to a team, never to a
/// person: no assignee, reporter, title or description is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub id: EventId,
    /// The owning team (a catalog name); wins over `service`.
    pub team: Option<Name>,
    /// Or the service it is for: the teams whose catalog entry lists it.
    pub service: Option<Name>,
    pub kind: WorkKind,
    pub created_at: Timestamp,
}

/// Flow distribution's four kinds (the Flow Framework's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkKind {
    Feature,
    Defect,
    Risk,
    Debt,
}

impl WorkKind {
    pub const ALL: [(&'static str, WorkKind); 4] = [
        ("feature", WorkKind::Feature),
        ("defect", WorkKind::Defect),
        ("risk", WorkKind::Risk),
        ("debt", WorkKind::Debt),
    ];

    pub fn as_str(self) -> &'static str {
        enum_name(&Self::ALL, self)
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == text).map(|(_, k)| *k)
    }
}

/// A work item entered a state (flow.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkState {
    pub id: EventId,
    /// The work item's id.
    pub item: EventId,
    pub at: Timestamp,
    pub state: FlowState,
}

impl WorkState {
    /// The id a `work_state` gets when it gives none: `item@at`, the
    /// instant in UTC with six decimals.
    pub fn default_id(item: &EventId, at: Timestamp) -> Result<EventId, String> {
        EventId::parse(&format!("{item}@{}", at.to_rfc3339_micros()))
    }
}

/// The four states every source's own states are mapped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowState {
    Backlog,
    Active,
    Waiting,
    Done,
}

impl FlowState {
    pub const ALL: [(&'static str, FlowState); 4] = [
        ("backlog", FlowState::Backlog),
        ("active", FlowState::Active),
        ("waiting", FlowState::Waiting),
        ("done", FlowState::Done),
    ];

    pub fn as_str(self) -> &'static str {
        enum_name(&Self::ALL, self)
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == text).map(|(_, k)| *k)
    }

    /// Active or waiting: the item is in flow.
    pub fn in_flow(self) -> bool {
        matches!(self, FlowState::Active | FlowState::Waiting)
    }
}

/// A static-analysis or security finding in a repository (panels.md). It
/// carries no file path, code, message or person: the scanner's rule
/// family is the most it says about what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: EventId,
    pub repo: Name,
    pub severity: Severity,
    /// The scanner's rule family, e.g. `sql-injection`.
    pub category: Name,
    pub opened_at: Timestamp,
    /// Absent while it is open (a reopened finding loses it).
    pub fixed_at: Option<Timestamp>,
}

/// A finding's severity: panels.md's four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [(&'static str, Severity); 4] = [
        ("critical", Severity::Critical),
        ("high", Severity::High),
        ("medium", Severity::Medium),
        ("low", Severity::Low),
    ];

    pub fn as_str(self) -> &'static str {
        enum_name(&Self::ALL, self)
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == text).map(|(_, k)| *k)
    }
}

/// An AI assistant's counts for one team and one UTC day, already
/// aggregated by the tool (panels.md): adoption, never a person's use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssistUsage {
    pub id: EventId,
    pub team: Name,
    /// Midnight UTC of the day.
    pub day: Timestamp,
    pub active_users: u64,
    pub suggestions: u64,
    pub acceptances: u64,
    pub lines_suggested: Option<u64>,
    pub lines_accepted: Option<u64>,
}

impl AssistUsage {
    /// The id an `assist_usage` gets when it gives none: `team@day`.
    pub fn default_id(team: &Name, day: Timestamp) -> Result<EventId, String> {
        EventId::parse(&format!("{team}@{}", day.date()))
    }
}
