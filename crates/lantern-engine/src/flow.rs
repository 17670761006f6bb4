//! Flow metrics (flow.md): where work waits before it becomes a commit.
//! Velocity, time, efficiency, load and distribution of a team's (or a
//! service's) work items over a window, from each item's `work_state`
//! history. Pure like the rest of the engine: items and a window in,
//! figures out.

use crate::input::{Scope, Window};
use crate::stats::Stats;
use lantern_events::{
    EventId, FlowState, MICROS_PER_DAY, Name, Timestamp, WorkItem, WorkKind, WorkState,
};
use serde::Serialize;

/// One work item and its history, ordered as flow.md orders it: by `at`,
/// ties by `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowItem {
    pub id: EventId,
    pub team: Option<Name>,
    pub service: Option<Name>,
    pub kind: WorkKind,
    /// (at, state), in history order.
    pub states: Vec<(Timestamp, FlowState)>,
    /// What the figures read of the history, worked out once.
    summary: Summary,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Summary {
    /// `at` of the last state when it is `done`.
    done_at: Option<Timestamp>,
    /// `at` of the first `active` or `waiting` state.
    start: Option<Timestamp>,
    /// Microseconds spent `active` between start and done (done items).
    active: i64,
}

impl FlowItem {
    /// The item with its states; `states` need not be in order.
    pub fn new(item: &WorkItem, mut states: Vec<(Timestamp, EventId, FlowState)>) -> Self {
        states.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let states = states.into_iter().map(|(at, _, s)| (at, s)).collect();
        Self::from_ordered(item, states)
    }

    /// The same from states already in history order (by `at`, ties by
    /// `id` compared as bytes), as a store reads them.
    pub fn from_ordered(item: &WorkItem, states: Vec<(Timestamp, FlowState)>) -> Self {
        let summary = summarise(&states);
        FlowItem {
            id: item.id.clone(),
            team: item.team.clone(),
            service: item.service.clone(),
            kind: item.kind,
            states,
            summary,
        }
    }

    /// Whether the item is the scope's work: a team's when it names the
    /// team, or names no team and is for a service the team owns; a
    /// service's when it is for that service.
    pub fn in_scope(&self, scope: &Scope) -> bool {
        match scope {
            Scope::Org => true,
            Scope::Service(s) => self.service.as_ref() == Some(s),
            Scope::Team { name, services } => match &self.team {
                Some(team) => team == name,
                None => self.service.as_ref().is_some_and(|s| services.contains(s)),
            },
        }
    }
}

fn summarise(states: &[(Timestamp, FlowState)]) -> Summary {
    let done_at = match states.last() {
        Some(&(at, FlowState::Done)) => Some(at),
        _ => None,
    };
    let start = states.iter().find(|(_, s)| s.in_flow()).map(|(at, _)| *at);
    // Each `active` state lasts until the next state; for a done item
    // every state before the last has a next one, and none lies before
    // start (start is the first active or waiting state).
    let active = match done_at {
        Some(_) => states
            .windows(2)
            .filter(|w| w[0].1 == FlowState::Active)
            .map(|w| w[1].0.micros() - w[0].0.micros())
            .sum(),
        None => 0,
    };
    Summary {
        done_at,
        start,
        active,
    }
}

/// Work items with their states: each state joined to its item (states of
/// an item never received are left out: nothing says whose work it was).
pub fn flow_items(items: &[WorkItem], states: &[WorkState]) -> Vec<FlowItem> {
    let mut by_item: std::collections::HashMap<&EventId, Vec<(Timestamp, EventId, FlowState)>> =
        std::collections::HashMap::with_capacity(items.len());
    for s in states {
        by_item
            .entry(&s.item)
            .or_default()
            .push((s.at, s.id.clone(), s.state));
    }
    items
        .iter()
        .map(|i| FlowItem::new(i, by_item.remove(&i.id).unwrap_or_default()))
        .collect()
}

/// flow.md's five figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowReport {
    pub flow_velocity: FlowVelocity,
    pub flow_time: Stats,
    pub flow_efficiency: FlowEfficiency,
    pub flow_load: FlowLoad,
    pub flow_distribution: FlowDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowVelocity {
    /// Items done in the window that had started.
    pub count: u64,
    pub per_week: f64,
    pub by_kind: KindCounts,
    /// Items closed in the window straight from the backlog (duplicates,
    /// won't-do): counted apart, never as velocity.
    pub closed_unstarted: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindCounts {
    pub feature: u64,
    pub defect: u64,
    pub risk: u64,
    pub debt: u64,
}

impl KindCounts {
    fn add(&mut self, kind: WorkKind) {
        *match kind {
            WorkKind::Feature => &mut self.feature,
            WorkKind::Defect => &mut self.defect,
            WorkKind::Risk => &mut self.risk,
            WorkKind::Debt => &mut self.debt,
        } += 1;
    }

    pub fn total(&self) -> u64 {
        self.feature + self.defect + self.risk + self.debt
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowEfficiency {
    /// Σ active time ÷ Σ flow time; `null` when Σ flow time is 0.
    pub ratio: Option<f64>,
    /// Per-item shares (items with flow time > 0); the `_s` fields hold
    /// plain shares.
    pub shares: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowLoad {
    /// Items active or waiting at the end of each UTC day the window
    /// touches, on average.
    pub mean: f64,
    pub max: u64,
    /// The same count at the window's end.
    pub at_end: u64,
}

/// The share of each kind among the items done; every share `null` when
/// none was.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowDistribution {
    pub feature: Option<f64>,
    pub defect: Option<f64>,
    pub risk: Option<f64>,
    pub debt: Option<f64>,
}

/// The flow figures of the scope's items (`items` already filtered to the
/// scope) over `window`.
pub fn flow_report<'a>(
    items: impl IntoIterator<Item = &'a FlowItem>,
    window: Window,
) -> FlowReport {
    let items: Vec<&FlowItem> = items.into_iter().collect();
    let mut by_kind = KindCounts::default();
    let mut closed_unstarted = 0;
    let mut flow_times: Vec<i64> = Vec::new();
    let mut shares: Vec<f64> = Vec::new();
    let (mut active_sum, mut flow_sum) = (0i128, 0i128);
    for item in &items {
        let s = item.summary;
        let Some(done_at) = s.done_at.filter(|&d| window.contains(d)) else {
            continue;
        };
        let Some(start) = s.start else {
            closed_unstarted += 1;
            continue;
        };
        by_kind.add(item.kind);
        let flow = done_at.micros() - start.micros();
        flow_times.push(flow);
        active_sum += i128::from(s.active);
        flow_sum += i128::from(flow);
        if flow > 0 {
            shares.push(s.active as f64 / flow as f64);
        }
    }
    let count = by_kind.total();
    let span = (window.to.micros() - window.from.micros()) as f64;
    let share = |n: u64| (count > 0).then(|| n as f64 / count as f64);
    FlowReport {
        flow_velocity: FlowVelocity {
            count,
            per_week: count as f64 * 7.0 * MICROS_PER_DAY as f64 / span,
            by_kind,
            closed_unstarted,
        },
        flow_time: Stats::of_micros(&mut flow_times),
        flow_efficiency: FlowEfficiency {
            ratio: (flow_sum > 0).then(|| active_sum as f64 / flow_sum as f64),
            shares: Stats::of_plain(&mut shares),
        },
        flow_load: load(&items, window),
        flow_distribution: FlowDistribution {
            feature: share(by_kind.feature),
            defect: share(by_kind.defect),
            risk: share(by_kind.risk),
            debt: share(by_kind.debt),
        },
    }
}

/// The figures of a team's or a service's items; none for the
/// organisation (work belongs to a team).
pub fn for_scope(items: &[FlowItem], scope: &Scope, window: Window) -> Option<FlowReport> {
    match scope {
        Scope::Org => None,
        _ => Some(flow_report(
            items.iter().filter(|i| i.in_scope(scope)),
            window,
        )),
    }
}

/// A report's `flow`: flow.md gives it to team reports; a service's flow
/// is asked for on its own (`lantern flow --service`), so the service
/// report keeps metrics.md's shape.
pub fn in_report(items: &[FlowItem], scope: &Scope, window: Window) -> Option<FlowReport> {
    match scope {
        Scope::Team { .. } => for_scope(items, scope, window),
        _ => None,
    }
}

/// The end of each UTC day the window touches: the next midnight, or the
/// window's end on its last day.
fn day_ends(window: Window) -> Vec<i64> {
    let (from, to) = (window.from.micros(), window.to.micros());
    let first = from.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY;
    let mut ends = Vec::new();
    let mut day = first;
    while day < to {
        ends.push((day + MICROS_PER_DAY).min(to));
        day += MICROS_PER_DAY;
    }
    ends
}

/// Flow load: an item counts at a day's end `b` when its state there —
/// the last state with `at` < b — is active or waiting. An item in flow
/// from state k until state k+1 counts at every b in (at_k, at_{k+1}];
/// those ranges are added to the day ends by difference, so the cost is
/// the items' states plus the days, not their product.
fn load(items: &[&FlowItem], window: Window) -> FlowLoad {
    let ends = day_ends(window);
    let mut diff = vec![0i64; ends.len() + 1];
    let first_after = |t: i64| ends.partition_point(|&b| b <= t);
    for item in items {
        let states = &item.states;
        let mut k = 0;
        while k < states.len() {
            if !states[k].1.in_flow() {
                k += 1;
                continue;
            }
            // A run of in-flow states, until the next state that is not.
            let from = states[k].0.micros();
            let mut next = k + 1;
            while next < states.len() && states[next].1.in_flow() {
                next += 1;
            }
            let lo = first_after(from);
            let hi = match states.get(next) {
                // b ≤ at_next counts.
                Some(&(at, _)) => ends.partition_point(|&b| b <= at.micros()),
                None => ends.len(),
            };
            if lo < hi {
                diff[lo] += 1;
                diff[hi] -= 1;
            }
            k = next;
        }
    }
    let mut running = 0i64;
    let (mut sum, mut max) = (0i64, 0i64);
    for d in &diff[..ends.len()] {
        running += d;
        sum += running;
        max = max.max(running);
    }
    FlowLoad {
        mean: sum as f64 / ends.len().max(1) as f64,
        max: max as u64,
        at_end: running.max(0) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn item(id: &str, kind: WorkKind, states: &[(&str, FlowState)]) -> FlowItem {
        let w = WorkItem {
            id: EventId::parse(id).unwrap(),
            team: Some(Name::parse("payments").unwrap()),
            service: None,
            kind,
            created_at: t("2026-01-01T00:00:00Z"),
        };
        let states = states
            .iter()
            .enumerate()
            .map(|(i, (at, s))| (t(at), EventId::parse(&format!("{id}-{i}")).unwrap(), *s))
            .collect();
        FlowItem::new(&w, states)
    }

    fn window(from: &str, to: &str) -> Window {
        Window::new(t(from), t(to)).unwrap()
    }

    #[test]
    fn a_ticket_that_waited_most_of_its_time() {
        use FlowState::*;
        // Active for a day, waiting for three, active for a day, done.
        let a = item(
            "PAY-1",
            WorkKind::Feature,
            &[
                ("2026-03-01T00:00:00Z", Backlog),
                ("2026-03-02T00:00:00Z", Active),
                ("2026-03-03T00:00:00Z", Waiting),
                ("2026-03-06T00:00:00Z", Active),
                ("2026-03-07T00:00:00Z", Done),
            ],
        );
        // Closed from the backlog: no flow.
        let b = item(
            "PAY-2",
            WorkKind::Defect,
            &[
                ("2026-03-01T00:00:00Z", Backlog),
                ("2026-03-04T00:00:00Z", Done),
            ],
        );
        let w = window("2026-03-01T00:00:00Z", "2026-03-08T00:00:00Z");
        let r = flow_report([&a, &b], w);
        assert_eq!(r.flow_velocity.count, 1);
        assert_eq!(r.flow_velocity.per_week, 1.0);
        assert_eq!(r.flow_velocity.closed_unstarted, 1);
        assert_eq!(r.flow_velocity.by_kind.feature, 1);
        assert_eq!(r.flow_time.median_s, Some(5.0 * 86_400.0));
        assert_eq!(r.flow_efficiency.ratio, Some(0.4));
        assert_eq!(r.flow_efficiency.shares.mean_s, Some(0.4));
        assert_eq!(r.flow_distribution.feature, Some(1.0));
        assert_eq!(r.flow_distribution.defect, Some(0.0));
        // In flow at the ends of 2 to 6 March: 5 of the 7 days.
        assert_eq!(r.flow_load.max, 1);
        assert_eq!(r.flow_load.mean, 5.0 / 7.0);
        assert_eq!(r.flow_load.at_end, 0);
    }

    #[test]
    fn reopened_items_are_not_done_and_nothing_done_gives_nulls() {
        use FlowState::*;
        let a = item(
            "PAY-3",
            WorkKind::Risk,
            &[
                ("2026-03-01T10:00:00Z", Active),
                ("2026-03-02T10:00:00Z", Done),
                ("2026-03-03T10:00:00Z", Active),
            ],
        );
        let w = window("2026-03-01T12:00:00Z", "2026-03-04T06:00:00Z");
        let r = flow_report([&a], w);
        assert_eq!(r.flow_velocity.count, 0);
        assert_eq!(r.flow_distribution.risk, None);
        assert_eq!(r.flow_efficiency.ratio, None);
        assert_eq!(r.flow_time.count, 0);
        // Day ends: 2 Mar 00:00 (active), 3 Mar 00:00 (done), 4 Mar 00:00
        // (active), and the window's end 06:00 (active).
        assert_eq!(r.flow_load.mean, 3.0 / 4.0);
        assert_eq!(r.flow_load.at_end, 1);
    }

    #[test]
    fn a_state_at_a_day_end_counts_from_the_next_day() {
        use FlowState::*;
        // Entered active exactly at midnight: the state "before" that
        // midnight is not yet active.
        let a = item(
            "PAY-4",
            WorkKind::Debt,
            &[
                ("2026-03-02T00:00:00Z", Active),
                ("2026-03-03T00:00:00Z", Backlog),
            ],
        );
        let w = window("2026-03-01T00:00:00Z", "2026-03-04T00:00:00Z");
        let r = flow_report([&a], w);
        // Ends: 2 Mar (none yet), 3 Mar (active: the backlog state is at,
        // not before, midnight), 4 Mar (backlog).
        assert_eq!(r.flow_load.mean, 1.0 / 3.0);
    }
}
