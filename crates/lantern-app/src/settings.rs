//! `lantern.toml`: the catalog (teams and their services), the engine's,
//! the receivers' and governance's settings — everything but how the
//! server listens. Unknown keys are an error, so a typo never silently
//! changes a figure.

use crate::AppError;
use lantern_engine::{EngineConfig, Scope};
use lantern_events::{MICROS_PER_SECOND, Name};
use lantern_sources::SourceSettings;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, AppError>;

macro_rules! bail {
    ($($t:tt)*) => { return Err(AppError::Config(format!($($t)*))) };
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    teams: Vec<TeamEntry>,
    #[serde(default)]
    environments: Environments,
    #[serde(default)]
    incidents: Incidents,
    #[serde(default)]
    git: Git,
    /// `[sources.NAME]`: a webhook receiver's secrets and service names.
    #[serde(default)]
    sources: std::collections::BTreeMap<String, SourceEntry>,
    /// `[[repos]]`: repositories the catalog says something about.
    #[serde(default)]
    repos: Vec<RepoEntry>,
    #[serde(default)]
    governance: GovernanceEntry,
    /// `[[slos]]`: service level objectives (slo.md).
    #[serde(default)]
    slos: Vec<SloEntry>,
    /// `[gate]`: the deploy gate (slo.md).
    #[serde(default)]
    gate: GateEntry,
    /// `[prometheus]`: where `[slos.prometheus]` queries are asked.
    prometheus: Option<PrometheusEntry>,
    /// `[flow]`: trackers' states, kinds and teams (flow.md).
    #[serde(default)]
    flow: FlowEntry,
    /// `[[notify]]`: chat and webhook targets of digests and alerts.
    #[serde(default)]
    notify: Vec<crate::notify::target::NotifyEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowEntry {
    /// A tracker's state, status or label → backlog, active, waiting, done.
    #[serde(default)]
    states: std::collections::BTreeMap<String, String>,
    /// An issue type or label → feature, defect, risk, debt.
    #[serde(default)]
    kinds: std::collections::BTreeMap<String, String>,
    /// A Jira project key, component or field value, a repository, a
    /// GitLab project, a GitHub project's node id → a team of the catalog.
    #[serde(default)]
    teams: std::collections::BTreeMap<String, String>,
    /// Jira: the field that names the team (a custom field's id).
    jira_team_field: Option<String>,
}

/// `[flow]`, checked: every state and kind one of flow.md's, every team
/// one of the catalog's.
fn flow_mapping(
    entry: FlowEntry,
    teams: &[Team],
    where_: &str,
) -> Result<lantern_sources::FlowMapping> {
    use lantern_events::{FlowState, WorkKind};
    let mut out = lantern_sources::FlowMapping {
        jira_team_field: entry.jira_team_field,
        ..Default::default()
    };
    for (word, state) in entry.states {
        let Some(s) = FlowState::parse(&state) else {
            bail!(
                "{where_}: flow.states.\"{word}\" = \"{state}\" is not a state: backlog, active, waiting or done"
            );
        };
        out.states.insert(word, s);
    }
    for (word, kind) in entry.kinds {
        let Some(k) = WorkKind::parse(&kind) else {
            bail!(
                "{where_}: flow.kinds.\"{word}\" = \"{kind}\" is not a kind: feature, defect, risk or debt"
            );
        };
        out.kinds.insert(word, k);
    }
    for (key, team) in entry.teams {
        if !teams.iter().any(|t| t.name.as_str() == team) {
            let known: Vec<&str> = teams.iter().map(|t| t.name.as_str()).collect();
            bail!(
                "{where_}: flow.teams.\"{key}\" = \"{team}\" is not a team of the catalog (teams: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
        out.teams.insert(key, team);
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrometheusEntry {
    url: String,
    #[serde(default = "default_step")]
    step_seconds: u32,
}

fn default_step() -> u32 {
    300
}

/// `[prometheus]`: the server `lantern serve` asks for SLO counts, and the
/// step of the intervals it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prometheus {
    /// `http://host:port` (no trailing slash).
    pub url: String,
    pub step_seconds: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateEntry {
    #[serde(default)]
    enforce: bool,
    #[serde(default)]
    no_data: NoData,
}

/// What the gate makes of an SLO with no data: unknown, so never healthy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoData {
    #[default]
    Warn,
    Deny,
}

/// `[gate]`: whether a deny stops a pipeline (`enforce`; off until a team
/// has tried the gate out) and what no data means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gate {
    pub enforce: bool,
    pub no_data: NoData,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SloEntry {
    name: String,
    service: String,
    objective: f64,
    #[serde(default = "default_slo_window")]
    window_days: u32,
    description: Option<String>,
    prometheus: Option<PrometheusQueries>,
}

fn default_slo_window() -> u32 {
    28
}

/// `[slos.prometheus]`: the two queries whose results are an SLO's counts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusQueries {
    pub good: String,
    pub total: String,
}

/// A declared SLO: what the engine computes with, and where its counts
/// come from.
#[derive(Debug, Clone)]
pub struct Slo {
    pub spec: lantern_engine::slo::SloSpec,
    pub description: Option<String>,
    /// Pulled from Prometheus; `None`: `sli` events are sent to Lantern.
    pub prometheus: Option<PrometheusQueries>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoEntry {
    name: String,
    /// Always keeps its pull requests' review detail (governance.md rule 6).
    #[serde(default)]
    critical: bool,
}

/// `[governance]`: governance.md's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct GovernanceEntry {
    min_group_size: u64,
    review_sample_rate: f64,
    raw_retention_days: u32,
    dead_letter_retention_days: u32,
    audit_retention_days: u32,
    aggregate_retention_days: u32,
    /// What Lantern is for and not for here, in the organisation's words
    /// (shown with the metric explanations).
    charter: Option<String>,
}

impl Default for GovernanceEntry {
    fn default() -> Self {
        let r = lantern_governance::Retention::default();
        GovernanceEntry {
            min_group_size: 3,
            review_sample_rate: 1.0,
            raw_retention_days: r.raw_days,
            dead_letter_retention_days: r.dead_letter_days,
            audit_retention_days: r.audit_days,
            aggregate_retention_days: r.aggregate_days,
            charter: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceEntry {
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    services: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    deploy_workflows: Vec<String>,
    #[serde(default)]
    keep_titles: bool,
    #[serde(default)]
    incident_label: Option<String>,
    #[serde(default)]
    incident_types: Vec<String>,
    #[serde(default)]
    service_field: Option<String>,
}

/// `[git]`: how `lantern import git` recognises hotfixes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Git {
    /// Globs matched, ignoring case, against tag names and merged branches.
    hotfix_patterns: Vec<String>,
    /// `vX.Y.Z` (Z > 0) within this many days after `vX.Y.0` is a hotfix;
    /// 0 turns the rule off.
    semver_patch_days: u32,
}

impl Default for Git {
    fn default() -> Self {
        let rule = lantern_git::HotfixRule::default();
        Git {
            hotfix_patterns: rule.patterns,
            semver_patch_days: rule.semver_patch_days,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeamEntry {
    name: String,
    #[serde(default)]
    services: Vec<String>,
    /// health.md: the team's working time, for out-of-hours incidents.
    timezone: Option<String>,
    working_hours: Option<String>,
    working_days: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Environments {
    production: Vec<String>,
}

impl Default for Environments {
    fn default() -> Self {
        Environments {
            production: vec!["production".into(), "prod".into()],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Incidents {
    /// Hours before an incident within which a deployment is linked to it
    /// by inference.
    link_window_hours: f64,
    infer_links: bool,
}

impl Default for Incidents {
    fn default() -> Self {
        Incidents {
            link_window_hours: 24.0,
            infer_links: true,
        }
    }
}

/// A team of the catalog.
#[derive(Debug, Clone)]
pub struct Team {
    pub name: Name,
    pub services: BTreeSet<Name>,
    /// When the team works (health.md's operational load).
    pub working: lantern_engine::load::WorkingTime,
}

/// The governance settings of lantern.toml (`[governance]`).
#[derive(Debug, Clone)]
pub struct Governance {
    /// Rule 2: fewer distinct contributors than this, and a scope's figures
    /// are shown only to its own team.
    pub min_group_size: u64,
    pub review_sampling: lantern_governance::ReviewSampling,
    pub retention: lantern_governance::Retention,
    /// What Lantern is for and not for in this organisation.
    pub charter: Option<String>,
    /// How often the server applies retention (rule 5), first a minute
    /// after start; `None` leaves it to `lantern retention run`.
    pub retention_every: Option<std::time::Duration>,
}

impl Default for Governance {
    fn default() -> Self {
        Governance {
            min_group_size: 3,
            review_sampling: Default::default(),
            retention: Default::default(),
            charter: None,
            retention_every: Some(std::time::Duration::from_secs(3600)),
        }
    }
}

/// Everything lantern.toml says, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub teams: Vec<Team>,
    pub engine: EngineConfig,
    pub git_hotfix: lantern_git::HotfixRule,
    /// Webhook receivers' settings, secrets from the environment included.
    pub sources: std::collections::BTreeMap<String, SourceSettings>,
    pub governance: Governance,
    /// The declared SLOs, in the file's order.
    pub slos: Vec<Slo>,
    pub gate: Gate,
    pub prometheus: Option<Prometheus>,
    /// `[[notify]]`: where digests and alerts go.
    pub notify: Vec<crate::notify::Target>,
    /// The dashboard's address as people reach it (`LANTERN_PUBLIC_URL`),
    /// for links in messages; `None` leaves the links out.
    pub public_url: Option<String>,
    /// Where it was read from, if a file was read.
    pub source: Option<PathBuf>,
}

impl Settings {
    /// The catalog's teams that own a service.
    pub fn owners(&self, service: &Name) -> Vec<Name> {
        crate::annotations::service_owners(service, &self.teams)
    }
}

/// The receivers' settings: the file's, plus secrets from
/// `LANTERN_<NAME>_SECRET` (comma-separated), which keep secrets out of
/// files that get committed.
fn sources(
    entries: std::collections::BTreeMap<String, SourceEntry>,
    flow: &lantern_sources::FlowMapping,
    where_: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<std::collections::BTreeMap<String, SourceSettings>> {
    let known: Vec<&str> = lantern_sources::RECEIVERS.iter().map(|r| r.name).collect();
    if let Some(name) = entries.keys().find(|n| !known.contains(&n.as_str())) {
        bail!(
            "{where_}: [sources.{name}] is not a receiver; receivers: {}",
            known.join(", ")
        );
    }
    let mut out = std::collections::BTreeMap::new();
    for name in known {
        let entry = entries.get(name);
        let mut secrets: Vec<String> = entry.map(|e| e.secrets.clone()).unwrap_or_default();
        if let Some(value) = env(&format!("LANTERN_{}_SECRET", name.to_uppercase())) {
            secrets.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        }
        out.insert(
            name.to_string(),
            SourceSettings {
                secrets,
                services: entry.map(|e| e.services.clone()).unwrap_or_default(),
                deploy_workflows: entry
                    .map(|e| e.deploy_workflows.clone())
                    .unwrap_or_default(),
                keep_titles: entry.is_some_and(|e| e.keep_titles),
                incident_label: entry.and_then(|e| e.incident_label.clone()),
                incident_types: entry.map(|e| e.incident_types.clone()).unwrap_or_default(),
                service_field: entry.and_then(|e| e.service_field.clone()),
                flow: flow.clone(),
            },
        );
    }
    Ok(out)
}

/// The `[[slos]]` entries, checked: a unique name, a service of the
/// catalog, 0 < objective < 1, a window of 1 to 90 days (slo.md).
fn slos(entries: Vec<SloEntry>, teams: &[Team], where_: &str) -> Result<Vec<Slo>> {
    let mut out: Vec<Slo> = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let at = format!("{where_}: slos[{i}]");
        let name = Name::parse(&e.name).map_err(|m| AppError::Config(format!("{at}.name {m}")))?;
        if out.iter().any(|s| s.spec.name == name.as_str()) {
            bail!("{at}: SLO `{name}` is defined twice");
        }
        let service =
            Name::parse(&e.service).map_err(|m| AppError::Config(format!("{at}.service {m}")))?;
        if !teams.iter().any(|t| t.services.contains(&service)) {
            bail!("{at}: service `{service}` is not in the catalog (no [[teams]] entry lists it)");
        }
        if !(e.objective > 0.0 && e.objective < 1.0) {
            bail!(
                "{at}.objective must be between 0 and 1 (exclusive), got {}",
                e.objective
            );
        }
        if !(1..=90).contains(&e.window_days) {
            bail!("{at}.window_days must be 1 to 90, got {}", e.window_days);
        }
        if let Some(q) = &e.prometheus
            && (q.good.trim().is_empty() || q.total.trim().is_empty())
        {
            bail!("{at}.prometheus needs both `good` and `total` queries");
        }
        out.push(Slo {
            spec: lantern_engine::slo::SloSpec {
                name: name.to_string(),
                service,
                objective: e.objective,
                window_days: e.window_days,
            },
            description: e.description,
            prometheus: e.prometheus,
        });
    }
    Ok(out)
}

impl Settings {
    /// Reads `--config PATH` (which must exist), or `./lantern.toml` when
    /// present, or the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Settings> {
        match explicit {
            Some(path) => Self::read(path),
            None if Path::new("lantern.toml").exists() => Self::read(Path::new("lantern.toml")),
            None => Self::parse("", None),
        }
    }

    fn read(path: &Path) -> Result<Settings> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            AppError::Config(format!(
                "cannot read the configuration {}: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text, Some(path))
    }

    pub fn parse(text: &str, path: Option<&Path>) -> Result<Settings> {
        let where_ = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "configuration".into());
        let file: File = toml::from_str(text)
            .map_err(|e| AppError::Config(format!("{where_} is not valid: {e}")))?;
        let mut teams: Vec<Team> = Vec::new();
        for (i, t) in file.teams.iter().enumerate() {
            let name = Name::parse(&t.name)
                .map_err(|m| AppError::Config(format!("{where_}: teams[{i}].name {m}")))?;
            if teams.iter().any(|x| x.name == name) {
                bail!("{where_}: team `{name}` is defined twice");
            }
            let services = t
                .services
                .iter()
                .enumerate()
                .map(|(j, s)| {
                    Name::parse(s).map_err(|m| {
                        AppError::Config(format!("{where_}: teams[{i}].services[{j}] {m}"))
                    })
                })
                .collect::<Result<_>>()?;
            let working = lantern_engine::load::WorkingTime::parse(
                t.timezone.as_deref(),
                t.working_hours.as_deref(),
                t.working_days.as_deref(),
            )
            .map_err(|m| AppError::Config(format!("{where_}: teams[{i}].{m}")))?;
            teams.push(Team {
                name,
                services,
                working,
            });
        }
        if file.environments.production.is_empty() {
            bail!("{where_}: environments.production must name at least one environment");
        }
        let hours = file.incidents.link_window_hours;
        if !(hours.is_finite() && (0.0..=24.0 * 365.0).contains(&hours)) {
            bail!("{where_}: incidents.link_window_hours must be between 0 and 8760, got {hours}");
        }
        let g = &file.governance;
        if g.min_group_size == 0 {
            bail!("{where_}: governance.min_group_size must be at least 1");
        }
        if !(0.0..=1.0).contains(&g.review_sample_rate) {
            bail!(
                "{where_}: governance.review_sample_rate must be between 0 and 1, got {}",
                g.review_sample_rate
            );
        }
        if g.raw_retention_days == 0
            || g.dead_letter_retention_days == 0
            || g.audit_retention_days == 0
        {
            bail!("{where_}: governance retention periods must be at least 1 day");
        }
        if g.aggregate_retention_days < g.raw_retention_days {
            bail!(
                "{where_}: governance.aggregate_retention_days ({}) must be at least raw_retention_days ({}): measurements outlive the events they come from",
                g.aggregate_retention_days,
                g.raw_retention_days
            );
        }
        let mut critical = BTreeSet::new();
        for (i, r) in file.repos.iter().enumerate() {
            Name::parse(&r.name)
                .map_err(|m| AppError::Config(format!("{where_}: repos[{i}].name {m}")))?;
            if r.critical {
                critical.insert(r.name.clone());
            }
        }
        let governance = Governance {
            min_group_size: g.min_group_size,
            review_sampling: lantern_governance::ReviewSampling {
                rate: g.review_sample_rate,
                critical_repos: critical,
            },
            retention: lantern_governance::Retention {
                raw_days: g.raw_retention_days,
                dead_letter_days: g.dead_letter_retention_days,
                audit_days: g.audit_retention_days,
                aggregate_days: g.aggregate_retention_days,
            },
            charter: g.charter.clone(),
            retention_every: Governance::default().retention_every,
        };
        let slos = slos(file.slos, &teams, &where_)?;
        let flow = flow_mapping(file.flow, &teams, &where_)?;
        let prometheus = match file.prometheus {
            Some(p) if !p.url.starts_with("http://") => bail!(
                "{where_}: prometheus.url must be an http:// address (put TLS in front of Lantern's reads with a proxy), got `{}`",
                p.url
            ),
            Some(p) if p.step_seconds < 1 || p.step_seconds > 86_400 => {
                bail!(
                    "{where_}: prometheus.step_seconds must be 1 to 86400, got {}",
                    p.step_seconds
                )
            }
            Some(p) => Some(Prometheus {
                url: p.url.trim_end_matches('/').to_string(),
                step_seconds: p.step_seconds,
            }),
            None => None,
        };
        if prometheus.is_none()
            && let Some(s) = slos.iter().find(|s| s.prometheus.is_some())
        {
            bail!(
                "{where_}: SLO `{}` pulls from Prometheus but there is no [prometheus] url",
                s.spec.name
            );
        }
        let env = |name: &str| std::env::var(name).ok();
        let notify = crate::notify::target::targets(file.notify, &teams, &where_, env)?;
        let public_url = env("LANTERN_PUBLIC_URL")
            .map(|u| u.trim().trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty());
        let assist_min_users = governance.min_group_size.max(3);
        Ok(Settings {
            notify,
            public_url,
            governance,
            slos,
            gate: Gate {
                enforce: file.gate.enforce,
                no_data: file.gate.no_data,
            },
            prometheus,
            teams,
            engine: EngineConfig {
                production: file
                    .environments
                    .production
                    .iter()
                    .map(|p| p.to_lowercase())
                    .collect(),
                link_window_micros: (hours * 3600.0 * MICROS_PER_SECOND as f64).round() as i64,
                infer_incident_links: file.incidents.infer_links,
                assist_min_users,
            },
            sources: sources(file.sources, &flow, &where_, env)?,
            git_hotfix: lantern_git::HotfixRule {
                patterns: file.git.hotfix_patterns,
                semver_patch_days: file.git.semver_patch_days,
            },
            source: path.map(Path::to_path_buf),
        })
    }

    /// The catalog's team of this name; a name it does not know is
    /// `NotFound`, saying which teams it knows.
    pub fn team(&self, name: &str) -> Result<&Team> {
        self.teams.iter().find(|t| t.name.as_str() == name).ok_or_else(|| {
            let known: Vec<&str> = self.teams.iter().map(|t| t.name.as_str()).collect();
            let message = match (&self.source, known.is_empty()) {
                (None, _) => format!(
                    "no team `{name}`: no catalog was read (give --config PATH or create ./lantern.toml with [[teams]] entries)"
                ),
                (Some(p), true) => format!("no team `{name}`: {} defines no teams", p.display()),
                (Some(p), false) => format!(
                    "no team `{name}` in {}; teams: {}",
                    p.display(),
                    known.join(", ")
                ),
            };
            AppError::NotFound {
                what: "team",
                message,
            }
        })
    }

    pub fn team_scope(&self, name: &str) -> Result<Scope> {
        let team = self.team(name)?;
        Ok(Scope::Team {
            name: team.name.clone(),
            services: team.services.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let c = Settings::parse(
            r#"
            [[teams]]
            name = "payments"
            services = ["checkout", "billing"]

            [environments]
            production = ["Production", "prod"]

            [incidents]
            link_window_hours = 12
            infer_links = false

            [git]
            hotfix_patterns = ["*urgent*"]
            semver_patch_days = 7
            "#,
            None,
        )
        .unwrap();
        assert_eq!(c.teams[0].services.len(), 2);
        assert!(c.engine.is_production("PRODUCTION"));
        assert_eq!(c.engine.link_window_micros, 12 * 3600 * 1_000_000);
        assert!(!c.engine.infer_incident_links);
        assert_eq!(c.git_hotfix.patterns, vec!["*urgent*".to_string()]);
        assert_eq!(c.git_hotfix.semver_patch_days, 7);
        let defaults = Settings::parse("", None).unwrap();
        assert_eq!(defaults.git_hotfix.patterns.len(), 2);
    }

    #[test]
    fn receivers_take_secrets_from_the_file_and_the_environment() {
        let file: File = toml::from_str(
            "[sources.pagerduty]\nsecrets = [\"a\"]\nservices = { \"API Service\" = \"api\" }\n",
        )
        .unwrap();
        let env = |name: &str| (name == "LANTERN_PAGERDUTY_SECRET").then(|| "b, c".to_string());
        let s = sources(file.sources, &Default::default(), "lantern.toml", env).unwrap();
        assert_eq!(s["pagerduty"].secrets, vec!["a", "b", "c"]);
        assert_eq!(s["pagerduty"].service("API Service"), "api");
        assert!(s["opsgenie"].secrets.is_empty());
        let e = Settings::parse("[sources.bugzilla]\nsecrets = []\n", None).unwrap_err();
        assert!(e.to_string().contains("not a receiver"), "{e}");
    }

    #[test]
    fn flow_mappings_are_checked_and_reach_every_receiver() {
        let team = "[[teams]]\nname = \"payments\"\nservices = [\"checkout\"]\n";
        let ok = Settings::parse(
            &format!(
                "{team}[flow]\njira_team_field = \"customfield_10010\"\n\
                 [flow.states]\n\"In Review\" = \"waiting\"\n\
                 [flow.kinds]\nSpike = \"debt\"\n\
                 [flow.teams]\nPAY = \"payments\"\n"
            ),
            None,
        )
        .unwrap();
        let jira = &ok.sources["jira"].flow;
        assert_eq!(
            jira.state("in review"),
            Some(lantern_events::FlowState::Waiting)
        );
        assert_eq!(jira.kind("spike"), Some(lantern_events::WorkKind::Debt));
        assert_eq!(jira.team("PAY"), Some("payments"));
        assert_eq!(ok.sources["github"].flow.team("PAY"), Some("payments"));
        for (extra, said) in [
            ("[flow.states]\nQA = \"testing\"\n", "is not a state"),
            ("[flow.kinds]\nEpic = \"big\"\n", "is not a kind"),
            (
                "[flow.teams]\nSEA = \"search\"\n",
                "not a team of the catalog (teams: payments)",
            ),
            ("[flow]\nboard = \"x\"\n", "unknown field"),
        ] {
            let e = Settings::parse(&format!("{team}{extra}"), None)
                .unwrap_err()
                .to_string();
            assert!(e.contains(said), "{extra}: {e}");
        }
    }

    #[test]
    fn a_teams_working_time_is_read_and_checked() {
        let ok = Settings::parse(
            "[[teams]]\nname = \"payments\"\nservices = [\"checkout\"]\n\
             timezone = \"Europe/Berlin\"\nworking_hours = \"08:00-17:00\"\nworking_days = [\"Mon\", \"Tue\"]\n",
            None,
        )
        .unwrap();
        let w = &ok.teams[0].working;
        assert_eq!(w.zone.iana_name(), Some("Europe/Berlin"));
        assert_eq!((w.start_minute, w.end_minute), (480, 1020));
        let e = Settings::parse(
            "[[teams]]\nname = \"payments\"\ntimezone = \"Europe/Atlantis\"\n",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("teams[0].timezone `Europe/Atlantis`"), "{e}");
    }

    #[test]
    fn mistakes_are_named() {
        let e = Settings::parse("[[teams]]\nname = \"a\"\nservice = [\"x\"]\n", None).unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown field `service`"),
            "{e:#}"
        );
        let e = Settings::parse("[[teams]]\nname = \"a\"\n[[teams]]\nname = \"a\"\n", None)
            .unwrap_err();
        assert!(e.to_string().contains("twice"));
        let e = Settings::parse("[environments]\nproduction = []\n", None).unwrap_err();
        assert!(e.to_string().contains("at least one"));
        let c = Settings::parse("[[teams]]\nname = \"a\"\n", None).unwrap();
        assert!(c.team("b").unwrap_err().to_string().contains("no catalog"));
    }

    #[test]
    fn slos_are_checked_against_the_catalog_and_slo_md() {
        let team = "[prometheus]\nurl = \"http://127.0.0.1:9090/\"\n\
                    [[teams]]\nname = \"payments\"\nservices = [\"checkout\"]\n";
        let with = |slo: &str| Settings::parse(&format!("{team}[[slos]]\n{slo}"), None);
        let c = with(
            "name = \"checkout-availability\"\nservice = \"checkout\"\nobjective = 0.999\n\
             [slos.prometheus]\ngood = 'sum(up)'\ntotal = 'count(up)'\n",
        )
        .unwrap();
        let slo = &c.slos[0];
        assert_eq!(
            (
                slo.spec.name.as_str(),
                slo.spec.service.as_str(),
                slo.spec.window_days
            ),
            ("checkout-availability", "checkout", 28),
            "28 days unless said"
        );
        assert_eq!(slo.prometheus.as_ref().unwrap().total, "count(up)");
        let p = c.prometheus.as_ref().unwrap();
        assert_eq!(
            (p.url.as_str(), p.step_seconds),
            ("http://127.0.0.1:9090", 300)
        );
        let e = Settings::parse(
            "[[teams]]\nname = \"a\"\nservices = [\"s\"]\n[[slos]]\nname = \"x\"\nservice = \"s\"\n\
             objective = 0.9\n[slos.prometheus]\ngood = 'a'\ntotal = 'b'\n",
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no [prometheus] url"), "{e}");
        let e = Settings::parse("[prometheus]\nurl = \"https://p\"\n", None).unwrap_err();
        assert!(e.to_string().contains("http://"), "{e}");
        for (slo, says) in [
            (
                "name = \"a\"\nservice = \"nope\"\nobjective = 0.99\n",
                "not in the catalog",
            ),
            (
                "name = \"a\"\nservice = \"checkout\"\nobjective = 1.0\n",
                "objective must be between 0 and 1",
            ),
            (
                "name = \"a\"\nservice = \"checkout\"\nobjective = 0.99\nwindow_days = 91\n",
                "window_days must be 1 to 90",
            ),
            (
                "name = \"a\"\nservice = \"checkout\"\nobjective = 0.99\ntarget = 1\n",
                "unknown field `target`",
            ),
            (
                "name = \"\"\nservice = \"checkout\"\nobjective = 0.99\n",
                "slos[0].name",
            ),
            (
                "name = \"a\"\nservice = \"checkout\"\nobjective = 0.99\n[[slos]]\nname = \"a\"\nservice = \"checkout\"\nobjective = 0.9\n",
                "defined twice",
            ),
            (
                "name = \"a\"\nservice = \"checkout\"\nobjective = 0.99\n[slos.prometheus]\ngood = ''\ntotal = 'x'\n",
                "both `good` and `total`",
            ),
        ] {
            let e = with(slo).unwrap_err();
            assert!(format!("{e:#}").contains(says), "{slo}: {e:#}");
        }
    }
}
