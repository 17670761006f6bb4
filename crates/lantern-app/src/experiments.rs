//! Improvement experiments (health.md): a team's commitment to move one
//! indicator, checked against the same indicator before it started. This
//! module holds the measure — which figure an indicator names, and the
//! baseline, current value and verdict — pure, so the CLI, the API and
//! the team page judge an experiment the same way.

use crate::AppError;
use crate::report::Reader;
use crate::settings::Settings;
use lantern_engine::{Report, Scope, Window};
use lantern_events::{Name, Timestamp};
use lantern_governance::AuditRecord;
use lantern_store::{Experiment, Store};
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// An experiment's words, checked: a catalog team, a sentence for the
/// constraint, an indicator and `expect_dip` paths that name figures of a
/// team's report, a direction, and `from` before `review`.
#[derive(Debug, Clone)]
pub struct NewExperiment(Experiment);

/// The words of a request to add an experiment.
#[derive(Debug, Clone, Default)]
pub struct ExperimentWords<'a> {
    pub team: &'a str,
    pub constraint: &'a str,
    pub indicator: &'a str,
    pub direction: &'a str,
    pub from: &'a str,
    pub review: &'a str,
    pub expect_dip: Vec<&'a str>,
}

impl NewExperiment {
    pub fn parse(settings: &Settings, words: &ExperimentWords) -> Result<Self, AppError> {
        let team = settings.team(words.team)?;
        let scope = Scope::Team {
            name: team.name.clone(),
            services: team.services.clone(),
        };
        let time = |field: &str, v: &str| {
            Timestamp::parse_bound(v).map_err(|m| AppError::Invalid(format!("{field}: {m}")))
        };
        let (from, review) = (time("from", words.from)?, time("review", words.review)?);
        if review <= from {
            return Err(AppError::invalid(
                "review: after from (the experiment runs from `from` until its review)",
            ));
        }
        let example = example_report(&scope, Window { from, to: review });
        let indicator = Indicator::parse(words.indicator.trim(), &example)
            .map_err(|m| AppError::Invalid(format!("indicator: {m}")))?;
        let direction = Direction::parse(words.direction.trim())
            .map_err(|m| AppError::Invalid(format!("direction: {m}")))?;
        let mut expect_dip = Vec::new();
        for path in words
            .expect_dip
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
        {
            let i = Indicator::parse(path, &example)
                .map_err(|m| AppError::Invalid(format!("expect_dip: {m}")))?;
            if !expect_dip.contains(&i.0) {
                expect_dip.push(i.0);
            }
        }
        let constraint = words.constraint.trim();
        let n = constraint.chars().count();
        if n == 0 || n > 200 || constraint.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "constraint: the constraint in a sentence of 1 to 200 characters on one line",
            ));
        }
        Ok(NewExperiment(Experiment {
            id: 0,
            team: team.name.clone(),
            constraint: constraint.to_string(),
            indicator: indicator.0,
            direction: match direction {
                Direction::Up => "up",
                Direction::Down => "down",
            }
            .into(),
            from,
            review,
            expect_dip,
            ended_at: None,
        }))
    }
}

/// A team report of the window with every object it can carry (flow
/// included), to check paths against.
fn example_report(scope: &Scope, window: Window) -> Report {
    let mut r = lantern_engine::report(
        &lantern_engine::EventSet::default(),
        scope,
        window,
        &lantern_engine::EngineConfig::default(),
    );
    r.flow = lantern_engine::flow::in_report(&[], scope, window);
    r
}

/// Admins, and team members of the team, add and end its experiments.
fn may_change(reader: Reader, team: &Name) -> Result<(), AppError> {
    if reader.acts_for(team) {
        return Ok(());
    }
    Err(AppError::Forbidden(format!(
        "experiments of `{team}` are added and ended by its team's members and admins"
    )))
}

/// Records an experiment (audit-logged with `record`'s actor).
pub fn add(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    new: NewExperiment,
    now: Timestamp,
    record: &dyn Fn(&str, &str, &str) -> AuditRecord,
) -> Result<ExperimentJson, AppError> {
    let e = new.0;
    may_change(reader, &e.team)?;
    let audit = record(
        "experiment.create",
        &format!("team:{}", e.team),
        &format!("`{}`: {} {}", e.constraint, e.indicator, e.direction),
    );
    let id = store.add_experiment(&e, audit)?;
    judge(store, settings, reader, &Experiment { id, ..e }, now)
}

/// Ends a running experiment now.
pub fn end(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    id: i64,
    now: Timestamp,
    record: &dyn Fn(&str, &str, &str) -> AuditRecord,
) -> Result<ExperimentJson, AppError> {
    let e = find(store, id)?;
    may_change(reader, &e.team)?;
    if e.ended_at.is_some() {
        return Err(AppError::Conflict(format!(
            "experiment {id} has ended already"
        )));
    }
    let audit = record(
        "experiment.end",
        &format!("team:{}", e.team),
        &format!("ended experiment {id}"),
    );
    store.end_experiment(id, now, audit)?;
    let e = find(store, id)?;
    judge(store, settings, reader, &e, now)
}

fn find(store: &dyn Store, id: i64) -> Result<Experiment, AppError> {
    store
        .experiments(None)?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| AppError::NotFound {
            what: "experiment",
            message: format!("no experiment {id}"),
        })
}

/// Every experiment (of one team, when given), judged at `now`.
pub fn list(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    team: Option<&str>,
    now: Timestamp,
) -> Result<Vec<ExperimentJson>, AppError> {
    let team = team
        .map(|t| settings.team(t).map(|t| t.name.clone()))
        .transpose()?;
    let all = store.experiments(team.as_ref())?;
    all.iter()
        .map(|e| judge(store, settings, reader, e, now))
        .collect()
}

/// The experiments of a team running at `now` (between `from` and
/// `review`, not ended): what the team's pages draw as planned.
pub fn running(
    store: &dyn Store,
    team: &Name,
    now: Timestamp,
) -> Result<Vec<Experiment>, AppError> {
    Ok(store
        .experiments(Some(team))?
        .into_iter()
        .filter(|e| is_running(e, now))
        .collect())
}

pub fn is_running(e: &Experiment, now: Timestamp) -> bool {
    e.ended_at.is_none() && e.from <= now && now < e.review
}

/// An experiment as every front end shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExperimentJson {
    pub id: i64,
    pub team: String,
    pub constraint: String,
    pub indicator: String,
    /// `up` or `down`: the way the indicator should move.
    pub direction: String,
    pub from: String,
    pub review: String,
    /// Figures expected to dip while it runs (drawn as planned).
    pub expect_dip: Vec<String>,
    /// `planned` (before `from`), `running`, `ended` (early) or `reviewed`
    /// (past `review`).
    pub status: &'static str,
    pub ended_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub baseline_window: lantern_engine::WindowJson,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub current_window: Option<lantern_engine::WindowJson>,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub change: Option<f64>,
    pub relative: Option<f64>,
    pub verdict: Verdict,
    /// Why the values are not shown to this reader (governance.md rule 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
}

/// An experiment's baseline, current value and verdict, for this reader.
/// An experiment ended early is judged up to its end.
pub fn judge(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    e: &Experiment,
    now: Timestamp,
) -> Result<ExperimentJson, AppError> {
    let scope = settings.team_scope(e.team.as_str())?;
    let until = e.ended_at.map_or(now, |end| end.min(now));
    let (baseline_window, current_window) = windows(e.from, e.review, until);
    let indicator = Indicator(e.indicator.clone());
    let mut withheld = None;
    let mut value = |w: Window| -> Result<Option<f64>, AppError> {
        let loaded = crate::report::Loaded::load_ending(store, settings, &scope, w, None)?;
        if let Some(reason) = loaded.withheld(store, settings, reader, &scope)? {
            withheld = Some(reason);
            return Ok(None);
        }
        let mut report = crate::report::stamped(settings, &loaded.ledger(settings), &scope, w);
        if indicator.0.starts_with("flow.") {
            let items = store.flow_items(&scope, Some(w))?;
            report.flow = lantern_engine::flow::in_report(&items, &scope, w);
        }
        Ok(indicator.value(&report))
    };
    let baseline = value(baseline_window)?;
    let current = current_window.map(&mut value).transpose()?.flatten();
    let measure = evaluate(baseline, current, direction_of(&e.direction));
    let status = match () {
        _ if e.ended_at.is_some() => "ended",
        _ if now < e.from => "planned",
        _ if now >= e.review => "reviewed",
        _ => "running",
    };
    Ok(ExperimentJson {
        id: e.id,
        team: e.team.to_string(),
        constraint: e.constraint.clone(),
        indicator: e.indicator.clone(),
        direction: e.direction.clone(),
        from: e.from.to_rfc3339(),
        review: e.review.to_rfc3339(),
        expect_dip: e.expect_dip.clone(),
        status,
        ended_at: e.ended_at.map(Timestamp::to_rfc3339),
        baseline_window: baseline_window.into(),
        current_window: current_window.map(Into::into),
        baseline: measure.baseline,
        current: measure.current,
        change: measure.change,
        relative: measure.relative,
        verdict: measure.verdict,
        withheld,
    })
}

fn direction_of(text: &str) -> Direction {
    if text == "up" {
        Direction::Up
    } else {
        Direction::Down
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
