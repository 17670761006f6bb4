//! health.md's measures against independent computations over random
//! histories (the engine tests' generator), each through a real SQLite
//! store: an experiment's baseline and current value, `compare`'s now and
//! then, and the strain rule (incidents and stored pulse rounds).
//!
//! "Independent": the windows, the pulse arithmetic and deployment
//! frequency are computed here from the raw events and answers; the other
//! figures come from the pure engine called directly on every event over
//! the windows computed here (the engine itself is checked against a naive
//! reading of metrics.md in `lantern-engine/tests/oracle.rs`).

#[path = "../../lantern-engine/tests/common/mod.rs"]
mod common;

use lantern_app::Settings;
use lantern_app::compare::CompareMode;
use lantern_app::experiments::{self, Verdict};
use lantern_app::report::Reader;
use lantern_engine::{EventSet, Report, Scope, Window};
use lantern_events::{Event, MICROS_PER_DAY, Timestamp};
use lantern_governance::AuditRecord;
use lantern_store::{Experiment, Location, PulseRound, Visibility};

const DAY: i64 = MICROS_PER_DAY;

/// A stored round as the check keeps it: id, when it stopped taking
/// answers, and its answers.
type Round = (i64, i64, Vec<[Option<u8>; 6]>);

fn settings() -> Settings {
    Settings::parse(
        "[[teams]]\nname = \"t\"\nservices = [\"svc2\", \"svc3\"]\n",
        None,
    )
    .unwrap()
}

fn team() -> Scope {
    common::history_scopes().pop().unwrap()
}

fn at(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros)
}

fn close(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        (None, None) => {}
        (Some(x), Some(y)) => {
            let scale = x.abs().max(y.abs()).max(1e-300);
            assert!((x - y).abs() / scale <= 1e-9 || x == y, "{what}: {x} ≠ {y}");
        }
        _ => panic!("{what}: {a:?} ≠ {b:?}"),
    }
}

/// Deployment frequency read straight from the events: the scope's
/// successful production deployments that finished in the window, per
/// day — a rollout (hygiene.md) once, at its last member's finish, and a
/// success only when every member succeeded.
fn naive_per_day(events: &[Event], scope: &Scope, w: Window) -> f64 {
    let cfg = lantern_engine::EngineConfig::default();
    // (finished_at, all succeeded) per deployment or rollout.
    let mut shipped: std::collections::BTreeMap<(String, String), (Timestamp, bool)> =
        Default::default();
    for e in events {
        let Event::Deployment(d) = e else { continue };
        if !scope.contains(&d.service) || !cfg.is_production(d.environment.as_str()) {
            continue;
        }
        let ok = d.status == lantern_events::DeploymentStatus::Success;
        let key = match &d.rollout {
            Some(r) => (d.service.to_string(), format!("rollout {r}")),
            None => (d.service.to_string(), d.id.to_string()),
        };
        let entry = shipped.entry(key).or_insert((d.finished_at, true));
        entry.0 = entry.0.max(d.finished_at);
        entry.1 &= ok;
    }
    let n = shipped
        .values()
        .filter(|(at, ok)| *ok && w.from <= *at && *at < w.to)
        .count();
    n as f64 / ((w.to.micros() - w.from.micros()) as f64 / DAY as f64)
}

/// A figure of the report `path` names, from the engine on every event.
fn engine_value(
    all: &EventSet,
    settings: &Settings,
    scope: &Scope,
    w: Window,
    path: &str,
) -> Option<f64> {
    let report: Report = lantern_engine::report(all, scope, w, &settings.engine);
    let mut v = serde_json::to_value(&report).unwrap();
    for key in path.split('.') {
        v = v.get(key)?.clone();
    }
    v.as_f64()
}

fn independent(
    events: &[Event],
    all: &EventSet,
    s: &Settings,
    scope: &Scope,
    w: Window,
    path: &str,
) -> Option<f64> {
    match path {
        "deployment_frequency.per_day" => Some(naive_per_day(events, scope, w)),
        _ => engine_value(all, s, scope, w, path),
    }
}

fn audit() -> AuditRecord {
    AuditRecord {
        at: Timestamp::from_micros(0),
        actor: "oracle".into(),
        purpose: "test".into(),
        action: "test".into(),
        scope: "team:t".into(),
        outcome: "done".into(),
    }
}

const PATHS: [&str; 5] = [
    "deployment_frequency.per_day",
    "lead_time.median_s",
    "change_failure_rate.rate",
    "failed_deployment_recovery_time.median_s",
    "rework_rate.rate",
];

#[test]
fn experiments_compare_and_strain_agree_with_independent_computations() {
    let s = settings();
    let scope = team();
    let base = common::BASE * 1_000_000;
    let mut checked = (0, 0, 0);
    // How often each outcome came up: a check that never meets a case
    // proves nothing about it.
    let mut seen = std::collections::BTreeMap::<&str, u32>::new();
    for seed in 0..40u64 {
        let lines = common::history(seed);
        // Re-sent events replace the earlier ones (same type and id).
        let mut latest: std::collections::BTreeMap<(String, String), (usize, Event)> =
            Default::default();
        for (i, e) in common::parse_all(&lines).into_iter().enumerate() {
            latest.insert((format!("{:?}", e.kind()), e.id().to_string()), (i, e));
        }
        let mut events: Vec<(usize, Event)> = latest.into_values().collect();
        events.sort_by_key(|(i, _)| *i);
        let events: Vec<Event> = events.into_iter().map(|(_, e)| e).collect();
        let all = EventSet::from_events(events.clone());
        let dir = tempfile::tempdir().unwrap();
        let mut store = Location::Sqlite(dir.path().join("h.db")).open().unwrap();
        store.write(&events).unwrap();
        let mut rng = common::Rng::new(seed ^ 0x5eed);

        // An experiment: random span and indicator, judged at a random now.
        let from = base + rng.below(30) as i64 * DAY + rng.below(86_400) as i64 * 1_000_000;
        let review = from + (1 + rng.below(20) as i64) * DAY;
        let now = from + (rng.below(30) as i64 - 5) * DAY;
        let path = *rng.pick(&PATHS);
        let direction = if rng.chance(0.5) { "up" } else { "down" };
        let e = Experiment {
            id: 1,
            team: lantern_events::Name::parse("t").unwrap(),
            constraint: "a constraint".into(),
            indicator: path.into(),
            direction: direction.into(),
            from: at(from),
            review: at(review),
            expect_dip: vec![],
            ended_at: None,
        };
        let judged = experiments::judge(store.as_mut(), &s, Reader::Operator, &e, at(now)).unwrap();
        let length = review - from;
        let baseline_w = Window {
            from: at(from - length),
            to: at(from),
        };
        let baseline = independent(&events, &all, &s, &scope, baseline_w, path);
        let end = review.min(now);
        let current = (end > from)
            .then(|| {
                independent(
                    &events,
                    &all,
                    &s,
                    &scope,
                    Window {
                        from: at(from),
                        to: at(end),
                    },
                    path,
                )
            })
            .flatten();
        close(
            judged.baseline,
            baseline,
            &format!("seed {seed} baseline of {path}"),
        );
        close(
            judged.current,
            current,
            &format!("seed {seed} current of {path}"),
        );
        let verdict = match (baseline, current) {
            (Some(b), Some(c)) => {
                let change = c - b;
                let moved = if b != 0.0 {
                    if (change / b.abs()).abs() >= 0.05 {
                        change.signum()
                    } else {
                        0.0
                    }
                } else if change == 0.0 {
                    0.0
                } else {
                    change.signum()
                };
                let wanted = if direction == "up" { 1.0 } else { -1.0 };
                if moved == 0.0 {
                    Verdict::Unchanged
                } else if moved == wanted {
                    Verdict::Improved
                } else {
                    Verdict::Worsened
                }
            }
            _ => Verdict::NotEnoughData,
        };
        assert_eq!(judged.verdict, verdict, "seed {seed} {path}");
        *seen
            .entry(match verdict {
                Verdict::Improved => "improved",
                Verdict::Worsened => "worsened",
                Verdict::Unchanged => "unchanged",
                Verdict::NotEnoughData => "not enough data",
            })
            .or_default() += 1;
        checked.0 += 1;

        // compare: the same report over the window before, or 91 days back.
        let w_from = base + rng.below(35) as i64 * DAY;
        let window = Window {
            from: at(w_from),
            to: at(w_from + (1 + rng.below(20) as i64) * DAY),
        };
        for (mode, earlier) in [
            (
                CompareMode::Previous,
                Window {
                    from: at(w_from - (window.to.micros() - w_from)),
                    to: at(w_from),
                },
            ),
            (
                CompareMode::Quarter,
                Window {
                    from: at(w_from - 91 * DAY),
                    to: at(window.to.micros() - 91 * DAY),
                },
            ),
        ] {
            for sc in common::history_scopes() {
                let now_report =
                    lantern_app::report::figures(store.as_mut(), &s, &sc, window).unwrap();
                let c = lantern_app::report::comparison(
                    store.as_mut(),
                    &s,
                    Reader::Operator,
                    &sc,
                    window,
                    &now_report,
                    mode,
                )
                .unwrap();
                assert_eq!(c.window, earlier);
                for (key, d) in &c.figures {
                    let now = independent(&events, &all, &s, &sc, window, key);
                    let then = independent(&events, &all, &s, &sc, earlier, key);
                    close(d.now, now, &format!("seed {seed} {sc:?} {key} now"));
                    close(d.then, then, &format!("seed {seed} {sc:?} {key} then"));
                    let change = now.zip(then).map(|(n, t)| n - t);
                    close(d.change, change, &format!("seed {seed} {key} change"));
                    let relative = change
                        .zip(then)
                        .and_then(|(c, t)| (t != 0.0).then(|| c / t.abs()));
                    close(d.relative, relative, &format!("seed {seed} {key} relative"));
                }
                checked.1 += 1;
            }
        }

        // Strain: stored rounds, some closed early, some past their date.
        let mut rounds: Vec<Round> = Vec::new();
        for _ in 0..1 + rng.below(4) {
            let closes = base + rng.below(50) as i64 * DAY;
            let id = store
                .add_pulse_round(
                    &PulseRound {
                        id: 0,
                        team: e.team.clone(),
                        visibility: Visibility::Team,
                        opened_on: at(closes - 20 * DAY),
                        closes_at: at(closes),
                        closed_on: None,
                    },
                    audit(),
                )
                .unwrap();
            let n = rng.below(9) as usize;
            // Each round has its mood, so that pulses differ.
            let mood = rng.below(4) as u8;
            let hashes: Vec<[u8; 32]> = (0..n)
                .map(|i| [i as u8 + 1; 32])
                .map(|mut h| {
                    h[31] = id as u8;
                    h
                })
                .collect();
            store.add_pulse_codes(id, &hashes, audit()).unwrap();
            let mut answers = Vec::new();
            for (i, h) in hashes.iter().enumerate() {
                let mut v = [None; 6];
                for slot in &mut v {
                    if rng.chance(0.8) {
                        *slot = Some(1 + (mood + rng.below(2) as u8).min(4));
                    }
                }
                store
                    .answer_pulse(id, h, &format!("{seed}-{id}-{i}"), &v, at(closes - DAY))
                    .unwrap();
                answers.push(v);
            }
            let closed_at = if rng.chance(0.3) {
                let day = closes - (1 + rng.below(3) as i64) * DAY;
                let day = day.div_euclid(DAY) * DAY;
                store.close_pulse_round(id, at(day), audit()).unwrap();
                day.min(closes)
            } else {
                closes
            };
            rounds.push((id, closed_at, answers));
        }
        let to = base + (20 + rng.below(40) as i64) * DAY;
        let w = Window {
            from: at(to - 30 * DAY),
            to: at(to),
        };
        let far = at(base + 400 * DAY);
        let health = lantern_app::team_health::team_health(
            store.as_ref(),
            &s,
            Reader::Operator,
            "t",
            w,
            far,
        )
        .unwrap();
        let strain = &health.strain;
        // Incidents of the team's services started in the two 30-day spans.
        let count = |a: i64, b: i64| {
            events
                .iter()
                .filter(|e| match e {
                    Event::Incident(i) => {
                        i.affected().any(|s| scope.contains(s))
                            && a <= i.started_at.micros()
                            && i.started_at.micros() < b
                    }
                    _ => false,
                })
                .count() as u64
        };
        let (last, before) = (
            count(to - 30 * DAY, to),
            count(to - 60 * DAY, to - 30 * DAY),
        );
        assert_eq!(strain.incidents.last_30_days, last, "seed {seed}");
        assert_eq!(strain.incidents.previous_30_days, before, "seed {seed}");
        let incidents_hold = last >= 3 && last as f64 >= 1.5 * before as f64;
        assert_eq!(strain.incidents.holds, incidents_hold, "seed {seed}");
        let mut closed: Vec<&Round> = rounds.iter().filter(|r| r.1 <= to).collect();
        closed.sort_by_key(|r| (r.1, r.0));
        let pooled = |answers: &[[Option<u8>; 6]]| -> Option<f64> {
            if answers.len() < 3 {
                return None;
            }
            let (mut sum, mut n) = (0u64, 0u64);
            for q in 0..6 {
                let given: Vec<u64> = answers.iter().filter_map(|a| a[q]).map(u64::from).collect();
                if given.len() >= 3 {
                    sum += given.iter().sum::<u64>();
                    n += given.len() as u64;
                }
            }
            (n > 0).then(|| sum as f64 / n as f64)
        };
        let pulse_holds = match closed.as_slice() {
            [.., b, l] => {
                let (lm, bm) = (pooled(&l.2), pooled(&b.2));
                close(
                    strain.pulse.last_mean,
                    lm,
                    &format!("seed {seed} last mean"),
                );
                close(
                    strain.pulse.previous_mean,
                    bm,
                    &format!("seed {seed} previous mean"),
                );
                assert_eq!(strain.pulse.last_round, Some(l.0));
                matches!((lm, bm), (Some(l), Some(b)) if l <= b - 0.5)
            }
            _ => false,
        };
        assert_eq!(strain.pulse.holds, pulse_holds, "seed {seed}");
        assert_eq!(strain.holds, incidents_hold && pulse_holds, "seed {seed}");
        *seen.entry("incidents hold").or_default() += u32::from(incidents_hold);
        *seen.entry("pulse holds").or_default() += u32::from(pulse_holds);
        *seen.entry("pulse compared").or_default() +=
            u32::from(strain.pulse.last_mean.is_some() && strain.pulse.previous_mean.is_some());
        checked.2 += 1;
    }
    assert_eq!(checked, (40, 40 * 8, 40));
    eprintln!("outcomes met: {seen:?}");
    for outcome in [
        "improved",
        "worsened",
        "unchanged",
        "not enough data",
        "incidents hold",
        "pulse compared",
        "pulse holds",
    ] {
        assert!(
            seen.get(outcome).copied().unwrap_or(0) > 0,
            "{outcome} never met: {seen:?}"
        );
    }
}
