//! Improvement experiments (health.md): a team's commitment to move one
//! indicator, checked against the same indicator before it started. This
//! module holds the measure — which figure an indicator names, and the
//! baseline, current value and verdict — pure, so the CLI, the API and
//! the team page judge an experiment the same way.

use lantern_engine::{Report, Window};
use serde::Serialize;

/// Which way the indicator should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "up" => Ok(Direction::Up),
            "down" => Ok(Direction::Down),
            other => Err(format!("direction `{other}`: `up` or `down`")),
        }
    }
}

/// An indicator: a path into the report's JSON (metrics.md, flow.md),
/// such as `lead_time.median_s` or `flow.flow_efficiency.ratio`, checked
/// to name a number of a team's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator(String);

impl Indicator {
    /// `example`: a team report of any window, to check the path against.
    pub fn parse(path: &str, example: &Report) -> Result<Self, String> {
        let value = serde_json::to_value(example).map_err(|e| e.to_string())?;
        let found = lookup(&value, path);
        match found {
            Some(v) if v.is_number() || v.is_null() => Ok(Indicator(path.to_string())),
            Some(_) => Err(format!(
                "indicator `{path}` is not a figure but a group of them: name one of its fields (e.g. lead_time.median_s)"
            )),
            None => Err(format!(
                "indicator `{path}` names nothing in a team's report (e.g. lead_time.median_s, deployment_frequency.per_day, change_failure_rate.rate, flow.flow_efficiency.ratio)"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The indicator's value in a report (`None`: the report has none).
    pub fn value(&self, report: &Report) -> Option<f64> {
        let value = serde_json::to_value(report).ok()?;
        lookup(&value, &self.0).and_then(serde_json::Value::as_f64)
    }
}

fn lookup<'v>(value: &'v serde_json::Value, path: &str) -> Option<&'v serde_json::Value> {
    path.split('.')
        .try_fold(value, |v, key| v.as_object()?.get(key))
}

/// The windows an experiment is judged over: the baseline [from − L,
/// from) with L = review − from, and the current [from, min(review, now)).
/// `None` for the current window before the experiment starts.
pub fn windows(
    from: lantern_events::Timestamp,
    review: lantern_events::Timestamp,
    now: lantern_events::Timestamp,
) -> (Window, Option<Window>) {
    let length = review.micros() - from.micros();
    let baseline = Window {
        from: from.plus_micros(-length),
        to: from,
    };
    let end = review.min(now);
    let current = (end > from).then_some(Window { from, to: end });
    (baseline, current)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Worsened,
    Unchanged,
    NotEnoughData,
}

/// An experiment's measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub change: Option<f64>,
    pub relative: Option<f64>,
    pub verdict: Verdict,
}

/// health.md: change = current − baseline, relative = change ÷ |baseline|
/// (`None` when the baseline is 0, the verdict then following the sign of
/// the change); improved or worsened by `direction` when |relative| ≥ 0.05,
/// else unchanged; not enough data when either value is missing.
pub fn evaluate(baseline: Option<f64>, current: Option<f64>, direction: Direction) -> Evaluation {
    let (Some(b), Some(c)) = (baseline, current) else {
        return Evaluation {
            baseline,
            current,
            change: None,
            relative: None,
            verdict: Verdict::NotEnoughData,
        };
    };
    let change = c - b;
    let relative = (b != 0.0).then(|| change / b.abs());
    let moved = match relative {
        Some(r) if r.abs() >= 0.05 => r.signum(),
        Some(_) => 0.0,
        // From a baseline of 0, any move counts by its sign.
        None => {
            if change > 0.0 {
                1.0
            } else if change < 0.0 {
                -1.0
            } else {
                0.0
            }
        }
    };
    let wanted = match direction {
        Direction::Up => 1.0,
        Direction::Down => -1.0,
    };
    let verdict = if moved == 0.0 {
        Verdict::Unchanged
    } else if moved == wanted {
        Verdict::Improved
    } else {
        Verdict::Worsened
    };
    Evaluation {
        baseline,
        current,
        change: Some(change),
        relative,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_events::Timestamp;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn verdicts_follow_the_direction_and_a_five_percent_threshold() {
        use Direction::*;
        use Verdict::*;
        let v = |b, c, d| evaluate(Some(b), Some(c), d).verdict;
        assert_eq!(v(100.0, 80.0, Down), Improved);
        assert_eq!(v(100.0, 80.0, Up), Worsened);
        assert_eq!(v(100.0, 96.0, Down), Unchanged);
        assert_eq!(v(100.0, 95.0, Down), Improved, "|relative| = 0.05 counts");
        assert_eq!(v(-2.0, -1.0, Up), Improved, "relative to |baseline|");
        let zero = evaluate(Some(0.0), Some(0.1), Up);
        assert_eq!((zero.relative, zero.verdict), (None, Improved));
        assert_eq!(evaluate(Some(0.0), Some(0.0), Up).verdict, Unchanged);
        let missing = evaluate(None, Some(1.0), Up);
        assert_eq!((missing.change, missing.verdict), (None, NotEnoughData));
        let e = evaluate(Some(4.0), Some(3.0), Down);
        assert_eq!((e.change, e.relative), (Some(-1.0), Some(-0.25)));
    }

    #[test]
    fn the_baseline_is_as_long_as_the_experiment_and_just_before_it() {
        let (b, c) = windows(
            t("2026-03-01T00:00:00Z"),
            t("2026-04-12T00:00:00Z"),
            t("2026-03-20T00:00:00Z"),
        );
        assert_eq!(
            b,
            Window {
                from: t("2026-01-18T00:00:00Z"),
                to: t("2026-03-01T00:00:00Z")
            }
        );
        assert_eq!(
            c,
            Some(Window {
                from: t("2026-03-01T00:00:00Z"),
                to: t("2026-03-20T00:00:00Z")
            })
        );
        let (_, after) = windows(
            t("2026-03-01T00:00:00Z"),
            t("2026-04-12T00:00:00Z"),
            t("2026-05-01T00:00:00Z"),
        );
        assert_eq!(after.unwrap().to, t("2026-04-12T00:00:00Z"));
        let (_, before) = windows(
            t("2026-03-01T00:00:00Z"),
            t("2026-04-12T00:00:00Z"),
            t("2026-02-01T00:00:00Z"),
        );
        assert_eq!(before, None);
    }

    #[test]
    fn indicators_name_a_figure_of_a_team_report() {
        use lantern_engine::{EngineConfig, EventSet, Scope};
        use lantern_events::Name;
        let team = Scope::Team {
            name: Name::parse("t").unwrap(),
            services: Default::default(),
        };
        let w = Window::new(t("2026-03-01T00:00:00Z"), t("2026-03-08T00:00:00Z")).unwrap();
        let r = lantern_engine::report(&EventSet::default(), &team, w, &EngineConfig::default());
        let i = Indicator::parse("deployment_frequency.per_day", &r).unwrap();
        assert_eq!(i.value(&r), Some(0.0));
        let flow = Indicator::parse("flow.flow_efficiency.ratio", &r).unwrap();
        assert_eq!(flow.value(&r), None, "nothing done: null");
        assert!(
            Indicator::parse("lead_time", &r)
                .unwrap_err()
                .contains("group")
        );
        assert!(
            Indicator::parse("happiness.score", &r)
                .unwrap_err()
                .contains("names nothing")
        );
    }
}
