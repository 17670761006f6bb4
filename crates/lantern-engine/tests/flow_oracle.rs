//! A second, deliberately naive reading of flow.md — linear scans, every
//! item's history re-sorted for every question, every day counted one by
//! one — checked against the engine on random work items and state
//! histories: reopened items, items that skip states or never start,
//! transitions on window edges and at midnight, ties in `at` broken by id.

// Naive on purpose: clarity over speed, so it reads like the spec.
#![allow(clippy::double_ended_iterator_last)]

mod common;
use common::{BASE, Rng, same, work as history};
use lantern_engine::flow::for_scope;
use lantern_engine::{Scope, Window, flow_items};
use lantern_events::*;
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};

const DAY: i64 = 86_400;

// ---------------------------------------------------------------- the naive reading

struct Naive<'a> {
    items: &'a [WorkItem],
    states: &'a [WorkState],
}

impl Naive<'_> {
    fn in_scope(item: &WorkItem, scope: &Scope) -> bool {
        match scope {
            Scope::Org => true,
            Scope::Service(s) => item.service.as_ref() == Some(s),
            Scope::Team { name, services } => {
                if let Some(team) = &item.team {
                    return team == name;
                }
                match &item.service {
                    Some(s) => services.contains(s),
                    None => false,
                }
            }
        }
    }

    /// "An item's history is its work_state events ordered by at, ties by id."
    fn history(&self, item: &WorkItem) -> Vec<&WorkState> {
        let mut h: Vec<&WorkState> = self.states.iter().filter(|s| s.item == item.id).collect();
        h.sort_by(|a, b| {
            a.at.cmp(&b.at)
                .then(a.id.as_str().as_bytes().cmp(b.id.as_str().as_bytes()))
        });
        h
    }

    fn done_at(&self, item: &WorkItem) -> Option<i64> {
        let h = self.history(item);
        let last = h.last()?;
        (last.state == FlowState::Done).then_some(last.at.micros())
    }

    fn start(&self, item: &WorkItem) -> Option<i64> {
        self.history(item)
            .iter()
            .find(|s| s.state == FlowState::Active || s.state == FlowState::Waiting)
            .map(|s| s.at.micros())
    }

    /// The time between start and done spent in `active`, each active
    /// state lasting until the next state, clipped to [start, done].
    fn active_time(&self, item: &WorkItem) -> i64 {
        let (Some(start), Some(done)) = (self.start(item), self.done_at(item)) else {
            return 0;
        };
        let h = self.history(item);
        let mut total = 0;
        for k in 0..h.len() {
            if h[k].state != FlowState::Active {
                continue;
            }
            let from = h[k].at.micros();
            let to = h.get(k + 1).map(|n| n.at.micros()).unwrap_or(i64::MAX);
            let (lo, hi) = (from.max(start), to.min(done));
            if hi > lo {
                total += hi - lo;
            }
        }
        total
    }

    /// The state at `b`: that of the last state with `at` before `b`.
    fn state_before(&self, item: &WorkItem, b: i64) -> Option<FlowState> {
        self.history(item)
            .iter()
            .filter(|s| s.at.micros() < b)
            .last()
            .map(|s| s.state)
    }

    fn report(&self, scope: &Scope, w: Window) -> Value {
        let (from, to) = (w.from.micros(), w.to.micros());
        let scoped: Vec<&WorkItem> = self
            .items
            .iter()
            .filter(|i| Self::in_scope(i, scope))
            .collect();
        let done_in_w: Vec<&WorkItem> = scoped
            .iter()
            .copied()
            .filter(|i| self.done_at(i).is_some_and(|d| from <= d && d < to))
            .collect();
        let d: Vec<&WorkItem> = done_in_w
            .iter()
            .copied()
            .filter(|i| self.start(i).is_some())
            .collect();
        let closed_unstarted = done_in_w.len() - d.len();
        let kind_count = |k: WorkKind| d.iter().filter(|i| i.kind == k).count();
        let days = (to - from) as f64 / (DAY * 1_000_000) as f64;
        let flow: Vec<i64> = d
            .iter()
            .map(|i| self.done_at(i).unwrap() - self.start(i).unwrap())
            .collect();
        let flow_time = stats(flow.iter().map(|&f| f as f64 / 1e6).collect());
        let active: Vec<i64> = d.iter().map(|i| self.active_time(i)).collect();
        let sum_flow: i64 = flow.iter().sum();
        let sum_active: i64 = active.iter().sum();
        let shares: Vec<f64> = flow
            .iter()
            .zip(&active)
            .filter(|(f, _)| **f > 0)
            .map(|(f, a)| *a as f64 / *f as f64)
            .collect();
        // Flow load: each UTC day W touches, counted at min(next midnight, to).
        let mut counts = Vec::new();
        let mut day = from.div_euclid(DAY * 1_000_000) * DAY * 1_000_000;
        while day < to {
            let b = (day + DAY * 1_000_000).min(to);
            counts.push(
                scoped
                    .iter()
                    .filter(|i| {
                        matches!(
                            self.state_before(i, b),
                            Some(FlowState::Active | FlowState::Waiting)
                        )
                    })
                    .count(),
            );
            day += DAY * 1_000_000;
        }
        let at_end = scoped
            .iter()
            .filter(|i| {
                matches!(
                    self.state_before(i, to),
                    Some(FlowState::Active | FlowState::Waiting)
                )
            })
            .count();
        let share = |k: WorkKind| {
            if d.is_empty() {
                Value::Null
            } else {
                json!(kind_count(k) as f64 / d.len() as f64)
            }
        };
        json!({
            "flow_velocity": {
                "count": d.len(),
                "per_week": d.len() as f64 / (days / 7.0),
                "by_kind": {
                    "feature": kind_count(WorkKind::Feature),
                    "defect": kind_count(WorkKind::Defect),
                    "risk": kind_count(WorkKind::Risk),
                    "debt": kind_count(WorkKind::Debt),
                },
                "closed_unstarted": closed_unstarted,
            },
            "flow_time": flow_time,
            "flow_efficiency": {
                "ratio": if sum_flow == 0 { Value::Null } else { json!(sum_active as f64 / sum_flow as f64) },
                "shares": stats(shares),
            },
            "flow_load": {
                "mean": counts.iter().sum::<usize>() as f64 / counts.len() as f64,
                "max": counts.iter().copied().max().unwrap_or(0),
                "at_end": at_end,
            },
            "flow_distribution": {
                "feature": share(WorkKind::Feature),
                "defect": share(WorkKind::Defect),
                "risk": share(WorkKind::Risk),
                "debt": share(WorkKind::Debt),
            },
        })
    }
}

/// metrics.md's stats object: linear interpolation at r = q·(n−1).
fn stats(mut v: Vec<f64>) -> Value {
    if v.is_empty() {
        return json!({"count": 0, "median_s": null, "p75_s": null, "p90_s": null, "mean_s": null});
    }
    v.sort_by(f64::total_cmp);
    let q = |q: f64| {
        let r = q * (v.len() - 1) as f64;
        let (lo, hi) = (r.floor() as usize, r.ceil() as usize);
        v[lo] + (v[hi] - v[lo]) * (r - lo as f64)
    };
    json!({
        "count": v.len(),
        "median_s": q(0.5),
        "p75_s": q(0.75),
        "p90_s": q(0.9),
        "mean_s": v.iter().sum::<f64>() / v.len() as f64,
    })
}

#[test]
fn flow_figures_agree_with_a_naive_reading_of_flow_md_on_random_histories() {
    let p = Pseudonymiser::from_key([1; 32]);
    let name = |s: &str| Name::parse(s).unwrap();
    let scopes = [
        Scope::Team {
            name: name("t"),
            services: BTreeSet::from([name("svc1"), name("svc3")]),
        },
        Scope::Team {
            name: name("u"),
            services: BTreeSet::from([name("svc2")]),
        },
        Scope::Service(name("svc1")),
        Scope::Service(name("svc2")),
    ];
    let mut seen: HashMap<&str, u64> = HashMap::new();
    let mut compared = 0;
    for seed in 0..200u64 {
        let lines = history(seed);
        let events: Vec<Event> = lines
            .iter()
            .map(|l| parse_event_json(l, &p).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        let set = lantern_engine::EventSet::from_events(events);
        let naive = Naive {
            items: &set.work_items,
            states: &set.work_states,
        };
        let items = flow_items(&set.work_items, &set.work_states);
        let mut rng = Rng::new(seed ^ 0xf10);
        for _ in 0..4 {
            let mut from = BASE - 10 * DAY + rng.below(30 * DAY as u64) as i64;
            // Windows on midnight, and windows starting on a transition.
            if rng.chance(0.4) {
                from -= from.rem_euclid(DAY);
            } else if rng.chance(0.3)
                && let Some(s) = set
                    .work_states
                    .get(rng.below(set.work_states.len().max(1) as u64) as usize)
            {
                from = s.at.micros() / 1_000_000;
            }
            let to = from + 1 + rng.below(40 * DAY as u64) as i64;
            let w = Window::new(
                Timestamp::from_micros(from * 1_000_000),
                Timestamp::from_micros(to * 1_000_000),
            )
            .unwrap();
            for scope in &scopes {
                let engine = serde_json::to_value(for_scope(&items, scope, w).unwrap()).unwrap();
                let oracle = naive.report(scope, w);
                if let Err(e) = same(&engine, &oracle, "flow") {
                    panic!(
                        "seed {seed}, scope {scope:?}, window {:?}: {e}\n{}",
                        (w.from.to_rfc3339(), w.to.to_rfc3339()),
                        lines.join("\n")
                    );
                }
                compared += 1;
                for (path, key) in [
                    ("/flow_velocity/count", "done"),
                    ("/flow_velocity/closed_unstarted", "closed unstarted"),
                    ("/flow_velocity/by_kind/risk", "risk"),
                    ("/flow_efficiency/ratio", "efficiency"),
                    ("/flow_load/max", "load"),
                    ("/flow_load/at_end", "load at the end"),
                    ("/flow_time/count", "flow time"),
                ] {
                    if engine
                        .pointer(path)
                        .and_then(Value::as_f64)
                        .is_some_and(|v| v > 0.0)
                    {
                        *seen.entry(key).or_default() += 1;
                    }
                }
            }
        }
        // The histories hold what the rules are about.
        for item in &set.work_items {
            let h = naive.history(item);
            let reopened = h
                .windows(2)
                .any(|w| w[0].state == FlowState::Done && w[1].state != FlowState::Done);
            let tied = h.windows(2).any(|w| w[0].at == w[1].at);
            let midnight = h.iter().any(|s| s.at.micros() % (DAY * 1_000_000) == 0);
            for (yes, key) in [
                (reopened, "reopened"),
                (tied, "tie"),
                (midnight, "midnight"),
            ] {
                if yes {
                    *seen.entry(key).or_default() += 1;
                }
            }
        }
    }
    assert_eq!(compared, 200 * 4 * 4);
    for key in [
        "done",
        "closed unstarted",
        "risk",
        "efficiency",
        "load",
        "load at the end",
        "flow time",
        "reopened",
        "tie",
        "midnight",
    ] {
        assert!(
            seen.get(key).copied().unwrap_or(0) >= 20,
            "barely exercised: {key} ({seen:?})"
        );
    }
}
