//! panels.md: the team dashboard's other panels — alert quality, review
//! quality, findings and AI assistance — for one scope and window. Each is
//! about a service, a team or the organisation; none names a person.

use crate::input::Window;
use crate::ledger::Ledger;
use crate::report::ratio;
use crate::stats::Stats;
use foldhash::{HashMap, HashSet};
use lantern_events::*;
use serde::Serialize;

/// An incident resolved this soon after it was detected, never
/// acknowledged, fixed itself before anyone looked (panels.md).
pub const NOISE_SECONDS: f64 = 300.0;

/// A pull request larger than this many changed lines is large (seed 002:
/// small batches).
pub const LARGE_PR_LINES: u64 = 400;

/// How many categories `top_categories` lists.
pub const TOP_CATEGORIES: usize = 5;

/// The sentence shown beside every acceptance rate (`lantern explain
/// ai_assist`).
pub const AI_ASSIST_NOTE: &str = "Adoption, never productivity: a high acceptance rate may mean repetitive work, a low one good judgment. Read it beside the change failure rate and rework rate of the same days: AI amplifies what a team already does, so speed without stability is the pattern to see.";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertQuality {
    /// Incidents of the scope started in the window.
    pub incidents: u64,
    /// Those with an `acknowledged_at`.
    pub acknowledged: u64,
    /// acknowledged_at − (detected_at, else started_at).
    pub time_to_acknowledge: Stats,
    /// Never acknowledged and resolved 0–300 s after detection (an upper
    /// bound for sources that never report acknowledgements).
    pub noise: u64,
    pub noise_share: Option<f64>,
    /// Incidents linked to a deployment (metrics.md) ÷ incidents.
    pub linked_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewQuality {
    /// Pull requests of `pr_stages`' set: merged in the window, repository
    /// deployed by the scope.
    pub merged: u64,
    /// additions + deletions, over those that give both (the `_s` fields
    /// hold line counts).
    pub size: Stats,
    /// Share of those sized with more than 400 changed lines.
    pub large_share: Option<f64>,
    /// Share first reviewed at or before the merge, over those whose
    /// review detail sampling kept (governance.md rule 6).
    pub reviewed_share: Option<f64>,
    /// Kept but not reviewed at or before the merge.
    pub unreviewed: u64,
}

/// Counts by panels.md's four severities: exactly these keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BySeverity {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
}

impl BySeverity {
    fn add(&mut self, severity: Severity) {
        *match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        self.critical + self.high + self.medium + self.low
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryCount {
    pub category: String,
    /// Findings of this category opened in the window.
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Findings {
    /// opened_at in the window.
    pub opened: BySeverity,
    /// fixed_at in the window.
    pub fixed: BySeverity,
    /// Opened before the window's end and not fixed before it.
    pub open_at_end: BySeverity,
    /// fixed_at − opened_at over those fixed in the window.
    pub time_to_fix: Stats,
    /// The five categories with most opened in the window (ties by name).
    pub top_categories: Vec<CategoryCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AiAssist {
    /// The team's days in the window that are shown (active users at
    /// least max(3, `min_group_size`)); the others are never shown.
    pub days: u64,
    pub suggestions: u64,
    pub acceptances: u64,
    pub acceptance_rate: Option<f64>,
    pub mean_active_users: Option<f64>,
    /// The team's change failure rate over the same window: never the
    /// acceptance rate alone.
    pub change_failure_rate: Option<f64>,
    /// The team's deployment rework rate over the same window.
    pub rework_rate: Option<f64>,
    /// What the acceptance rate does and does not say.
    pub note: &'static str,
}

impl<'e> Ledger<'e> {
    /// panels.md's alert quality over the scope's incidents started in W,
    /// `linked` those of them linked to a deployment.
    pub(crate) fn alert_quality(
        &self,
        incidents: &[&Incident],
        linked: &HashSet<&EventId>,
    ) -> AlertQuality {
        let (mut acknowledged, mut noise, mut linked_count) = (0, 0, 0);
        let mut to_ack = Vec::new();
        for inc in incidents {
            let detected = inc.detected_at.unwrap_or(inc.started_at);
            match inc.acknowledged_at {
                Some(ack) => {
                    acknowledged += 1;
                    to_ack.push(ack.seconds_since(detected));
                }
                None => {
                    let quiet = inc
                        .resolved_at
                        .map(|r| r.seconds_since(detected))
                        .is_some_and(|s| (0.0..=NOISE_SECONDS).contains(&s));
                    noise += u64::from(quiet);
                }
            }
            linked_count += u64::from(linked.contains(&inc.id));
        }
        let n = incidents.len() as u64;
        AlertQuality {
            incidents: n,
            acknowledged,
            time_to_acknowledge: Stats::of(&mut to_ack),
            noise,
            noise_share: ratio(noise, n),
            linked_share: ratio(linked_count, n),
        }
    }

    /// Which of `incidents` are linked to a deployment (metrics.md): by
    /// the ledger (successful production deployments), or by a
    /// `caused_by` naming any deployment the input holds.
    pub(crate) fn linked_incidents(&self, incidents: &[&'e Incident]) -> HashSet<&'e EventId> {
        if let Some(kept) = &self.input.kept {
            return incidents
                .iter()
                .filter(|i| kept.linked_incidents.contains(&i.id))
                .map(|i| &i.id)
                .collect();
        }
        let by_ledger: HashSet<&EventId> = self
            .spds
            .iter()
            .flat_map(|s| s.incidents.iter())
            .map(|&(n, _)| &self.input.incidents[n].id)
            .collect();
        // The ledger keeps only links to successful production
        // deployments; `caused_by` links whatever its environment or status.
        let named: HashSet<&EventId> = incidents
            .iter()
            .filter(|i| !by_ledger.contains(&i.id))
            .filter_map(|i| i.caused_by.as_ref())
            .map(|id| self.input.rollouts.resolve(id))
            .collect();
        let known: HashSet<&EventId> = match named.is_empty() {
            true => HashSet::default(),
            false => self
                .input
                .deployments
                .iter()
                .map(|d| &d.id)
                .filter(|id| named.contains(id))
                .collect(),
        };
        incidents
            .iter()
            .filter(|i| {
                by_ledger.contains(&i.id)
                    || i.caused_by
                        .as_ref()
                        .is_some_and(|id| known.contains(self.input.rollouts.resolve(id)))
            })
            .map(|i| &i.id)
            .collect()
    }
}

/// panels.md's findings over `findings` (the scope's repositories').
pub fn findings(findings: &[&Finding], window: &Window) -> Findings {
    let mut out = Findings {
        opened: BySeverity::default(),
        fixed: BySeverity::default(),
        open_at_end: BySeverity::default(),
        time_to_fix: Stats::of(&mut []),
        top_categories: Vec::new(),
    };
    let mut to_fix = Vec::new();
    let mut categories: HashMap<&str, u64> = HashMap::default();
    for f in findings {
        if window.contains(f.opened_at) {
            out.opened.add(f.severity);
            *categories.entry(f.category.as_str()).or_default() += 1;
        }
        if let Some(fixed) = f.fixed_at.filter(|&t| window.contains(t)) {
            out.fixed.add(f.severity);
            to_fix.push(fixed.seconds_since(f.opened_at));
        }
        if f.opened_at < window.to && f.fixed_at.is_none_or(|t| t >= window.to) {
            out.open_at_end.add(f.severity);
        }
    }
    out.time_to_fix = Stats::of(&mut to_fix);
    let mut top: Vec<(&str, u64)> = categories.into_iter().collect();
    top.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    out.top_categories = top
        .into_iter()
        .take(TOP_CATEGORIES)
        .map(|(category, count)| CategoryCount {
            category: category.to_string(),
            count,
        })
        .collect();
    out
}

/// Whether an AI assistant's day may be shown: enough active users that
/// no person's use shows (panels.md; governance.md rule 2's threshold).
pub fn assist_day_shown(day: &AssistUsage, min_users: u64) -> bool {
    day.active_users >= min_users.max(3)
}

/// panels.md's AI assistance for `team` over the window, beside the
/// team's change failure rate and rework rate of the same window.
pub fn ai_assist(
    days: &[AssistUsage],
    team: &Name,
    window: &Window,
    min_users: u64,
    change_failure_rate: Option<f64>,
    rework_rate: Option<f64>,
) -> AiAssist {
    let (mut n, mut suggestions, mut acceptances, mut users) = (0u64, 0u64, 0u64, 0u64);
    for d in days {
        if &d.team == team && window.contains(d.day) && assist_day_shown(d, min_users) {
            n += 1;
            suggestions = suggestions.saturating_add(d.suggestions);
            acceptances = acceptances.saturating_add(d.acceptances);
            users = users.saturating_add(d.active_users);
        }
    }
    AiAssist {
        days: n,
        suggestions,
        acceptances,
        acceptance_rate: ratio(acceptances, suggestions),
        mean_active_users: (n > 0).then(|| users as f64 / n as f64),
        change_failure_rate,
        rework_rate,
        note: AI_ASSIST_NOTE,
    }
}
