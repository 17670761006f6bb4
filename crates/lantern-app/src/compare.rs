//! Comparing periods (health.md, "Comparing periods"): the same report
//! over an earlier window, and for each of the five DORA figures what it
//! is now, what it was then, the change and the relative change.
//!
//! One comparison for every front end: `lantern report --compare`, the
//! API's `?compare=`, the cards of the team and service pages and the
//! organisation page all read [`Comparison`].

use lantern_engine::{Report, Window, WindowJson};
use lantern_events::MICROS_PER_DAY;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Which earlier window a report is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareMode {
    /// [from − len(W), from): the period just before.
    Previous,
    /// W shifted back 91 days (quarter over quarter, seed 001).
    Quarter,
}

impl CompareMode {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "previous" => Ok(Self::Previous),
            "quarter" => Ok(Self::Quarter),
            other => Err(format!(
                "`{other}` is not a comparison: use `previous` or `quarter`"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Previous => "previous",
            Self::Quarter => "quarter",
        }
    }

    /// The window `window` is compared with.
    pub fn window(self, window: &Window) -> Window {
        let back = match self {
            Self::Previous => window.to.micros() - window.from.micros(),
            Self::Quarter => 91 * MICROS_PER_DAY,
        };
        Window {
            from: window.from.plus_micros(-back),
            to: window.to.plus_micros(-back),
        }
    }
}

/// Reads one figure of a report.
pub type Figure = fn(&Report) -> Option<f64>;

/// The five figures compared, in the order of health.md's JSON.
pub const COMPARED: [(&str, Figure); 5] = [
    ("deployment_frequency.per_day", |r| {
        Some(r.deployment_frequency.per_day)
    }),
    ("lead_time.median_s", |r| r.lead_time.stats.median_s),
    ("change_failure_rate.rate", |r| r.change_failure_rate.rate),
    ("failed_deployment_recovery_time.median_s", |r| {
        r.failed_deployment_recovery_time.stats.median_s
    }),
    ("rework_rate.rate", |r| r.rework_rate.rate),
];

/// One figure now and then.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delta {
    pub now: Option<f64>,
    pub then: Option<f64>,
    /// now − then; `null` where either is.
    pub change: Option<f64>,
    /// change ÷ |then|; `null` where either value is, or then is 0.
    pub relative: Option<f64>,
}

impl Delta {
    pub fn of(now: Option<f64>, then: Option<f64>) -> Self {
        let change = now.zip(then).map(|(n, t)| n - t);
        let relative = change
            .zip(then)
            .and_then(|(c, t)| (t != 0.0).then(|| c / t.abs()));
        Delta {
            now,
            then,
            change,
            relative,
        }
    }
}

/// A report's `compare` object.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub mode: CompareMode,
    pub window: Window,
    /// Each of [`COMPARED`], in order.
    pub figures: Vec<(&'static str, Delta)>,
    /// Why the earlier window's figures are withheld from this reader
    /// (rule 2: its group can be smaller); every `then` is `null` then.
    pub withheld: Option<String>,
}

impl Comparison {
    /// `now` compared with `then` (`None`: withheld, for `withheld`'s reason).
    pub fn of(
        mode: CompareMode,
        window: Window,
        now: &Report,
        then: Result<&Report, String>,
    ) -> Self {
        let (then, withheld) = match then {
            Ok(r) => (Some(r), None),
            Err(reason) => (None, Some(reason)),
        };
        let figures = COMPARED
            .iter()
            .map(|(key, value)| (*key, Delta::of(value(now), then.and_then(value))))
            .collect();
        Comparison {
            mode,
            window,
            figures,
            withheld,
        }
    }

    /// The figure `key` of [`COMPARED`].
    pub fn get(&self, key: &str) -> Option<&Delta> {
        self.figures.iter().find(|(k, _)| *k == key).map(|(_, d)| d)
    }

    /// The figure of a metric of metrics.md by its report key
    /// (`lead_time`, `rework_rate`, …).
    pub fn metric(&self, metric: &str) -> Option<&Delta> {
        self.figures
            .iter()
            .find(|(k, _)| k.split('.').next() == Some(metric))
            .map(|(_, d)| d)
    }
}

impl Serialize for Comparison {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let extra = usize::from(self.withheld.is_some());
        let mut map = serializer.serialize_map(Some(2 + extra + self.figures.len()))?;
        map.serialize_entry("mode", self.mode.as_str())?;
        map.serialize_entry("window", &WindowJson::from(self.window))?;
        if let Some(reason) = &self.withheld {
            map.serialize_entry("withheld", reason)?;
        }
        for (key, delta) in &self.figures {
            map.serialize_entry(key, delta)?;
        }
        map.end()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Comparison {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let mut object = ObjectBuilder::new()
            .property(
                "mode",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["previous", "quarter"])),
            )
            .required("mode")
            .property("window", <WindowJson as utoipa::PartialSchema>::schema())
            .required("window")
            .property(
                "withheld",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("Why the earlier window's figures are withheld from this reader (governance rule 2); every `then` is null")),
            );
        for (key, _) in COMPARED {
            object = object
                .property(key, <Delta as utoipa::PartialSchema>::schema())
                .required(key);
        }
        object.into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Comparison {}

/// A change in words for people: "+0.3 (+8 %)"; what `unit` formats.
pub fn describe(delta: &Delta, unit: impl Fn(f64) -> String) -> Option<String> {
    let change = delta.change?;
    let sign = if change > 0.0 {
        "+"
    } else if change < 0.0 {
        "−"
    } else {
        "±"
    };
    let relative = match delta.relative {
        Some(r) => format!(
            " ({}{} %)",
            if r > 0.0 {
                "+"
            } else if r < 0.0 {
                "−"
            } else {
                "±"
            },
            crate::format::decimals(r.abs() * 100.0, 0)
        ),
        None => String::new(),
    };
    Some(format!("{sign}{}{relative}", unit(change.abs())))
}

/// A figure of [`COMPARED`] as people read it: per day, a duration, a share.
pub fn figure_text(key: &str, value: f64) -> String {
    if key.ends_with(".median_s") {
        crate::format::duration(value)
    } else if key.ends_with(".rate") {
        format!("{} %", crate::format::decimals(value * 100.0, 1))
    } else {
        format!("{} a day", crate::format::decimals(value, 2))
    }
}

/// The comparison for people, a line per figure: the heading, then
/// "Lead time for changes: 2.1 hours, was 3 hours (−54 minutes, −30 %)".
pub fn lines(c: &Comparison) -> (String, Vec<String>) {
    let heading = format!(
        "Compared with {} ({})",
        crate::format::window(&c.window),
        match c.mode {
            CompareMode::Previous => "the period before",
            CompareMode::Quarter => "a quarter earlier",
        }
    );
    if let Some(reason) = &c.withheld {
        return (heading, vec![format!("withheld: {reason}")]);
    }
    let lines = c
        .figures
        .iter()
        .map(|(key, d)| {
            let metric = key.split('.').next().unwrap_or(key);
            let title = lantern_engine::find_metric_doc(metric).map_or(metric, |m| m.title);
            let text = |v: Option<f64>| v.map_or("–".to_string(), |v| figure_text(key, v));
            let change = describe(d, |v| figure_text(key, v))
                .map(|c| format!("; {c}"))
                .unwrap_or_default();
            format!("{title}: {}, was {}{change}", text(d.now), text(d.then))
        })
        .collect();
    (heading, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_events::Timestamp;

    fn window(from: &str, to: &str) -> Window {
        Window::from_bounds(Some(from), Some(to), Timestamp::now()).unwrap()
    }

    #[test]
    fn previous_is_the_period_just_before_and_quarter_is_91_days_back() {
        let w = window("2026-09-02", "2026-12-01");
        assert_eq!(
            CompareMode::Previous.window(&w),
            window("2026-06-04", "2026-09-02")
        );
        assert_eq!(
            CompareMode::Quarter.window(&w),
            window("2026-06-03", "2026-09-01")
        );
        let week = window("2026-11-24", "2026-12-01");
        assert_eq!(
            CompareMode::Previous.window(&week),
            window("2026-11-17", "2026-11-24")
        );
        assert!(
            CompareMode::parse("yesterday")
                .unwrap_err()
                .contains("previous")
        );
    }

    #[test]
    fn change_and_relative_are_null_where_they_cannot_be_computed() {
        assert_eq!(
            Delta::of(Some(3.0), Some(2.0)),
            Delta {
                now: Some(3.0),
                then: Some(2.0),
                change: Some(1.0),
                relative: Some(0.5)
            }
        );
        // Relative to |then|: a negative baseline keeps the sign of the change.
        assert_eq!(Delta::of(Some(-1.0), Some(-2.0)).relative, Some(0.5));
        let zero = Delta::of(Some(0.2), Some(0.0));
        assert_eq!((zero.change, zero.relative), (Some(0.2), None));
        let missing = Delta::of(None, Some(1.0));
        assert_eq!((missing.change, missing.relative), (None, None));
    }

    #[test]
    fn a_change_reads_with_its_sign_and_share() {
        let d = Delta::of(Some(4.6), Some(4.0));
        assert_eq!(
            describe(&d, |v| format!("{v:.1} a day")).unwrap(),
            "+0.6 a day (+15 %)"
        );
        let d = Delta::of(Some(3.0), Some(4.0));
        assert_eq!(describe(&d, |v| format!("{v:.0}")).unwrap(), "−1 (−25 %)");
        assert_eq!(
            describe(&Delta::of(Some(1.0), Some(0.0)), |v| format!("{v}")).unwrap(),
            "+1"
        );
        assert!(describe(&Delta::of(None, Some(1.0)), |v| format!("{v}")).is_none());
    }
}
