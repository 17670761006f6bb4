//! The five DORA metrics as a page shows them: which figure of the report
//! is the headline, in what unit (the band shown is `lantern_app::rating`'s). One table, so every
//! page (and the end-to-end test, through `data-value`) reads the same
//! figure the API gives.

use super::chart::{Unit, format_value};
use lantern_engine::Report;
use maud::{Markup, html};

pub struct Metric {
    /// The key in the report JSON (and in `lantern explain`).
    pub key: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    /// Which figure is shown, in words.
    pub figure: &'static str,
    pub value: fn(&Report) -> Option<f64>,
}

pub const METRICS: [Metric; 5] = [
    Metric {
        key: "deployment_frequency",
        title: "Deployment frequency",
        unit: Unit::PerDay,
        figure: "production deployments per day",
        value: |r| Some(r.deployment_frequency.per_day),
    },
    Metric {
        key: "lead_time",
        title: "Lead time for changes",
        unit: Unit::Duration,
        figure: "median, commit to production",
        value: |r| r.lead_time.stats.median_s,
    },
    Metric {
        key: "change_failure_rate",
        title: "Change failure rate",
        unit: Unit::Share,
        figure: "share of deployments that failed",
        value: |r| r.change_failure_rate.rate,
    },
    Metric {
        key: "failed_deployment_recovery_time",
        title: "Failed deployment recovery time",
        unit: Unit::Duration,
        figure: "median, failed deployment to recovery",
        value: |r| r.failed_deployment_recovery_time.stats.median_s,
    },
    Metric {
        key: "rework_rate",
        title: "Deployment rework rate",
        unit: Unit::Share,
        figure: "share of deployments that were unplanned rework",
        value: |r| r.rework_rate.rate,
    },
];

impl Metric {
    /// The value as text; "no data" when nothing was deployed (an empty
    /// installation is not a team deploying 0 a day), "nothing to measure"
    /// when the figure has no value.
    pub fn text(&self, r: &Report) -> String {
        if r.deployment_frequency.count == 0 {
            return "no data".into();
        }
        (self.value)(r)
            .map(|v| format_value(self.unit, v))
            .unwrap_or_else(|| "nothing to measure".into())
    }

    /// The band chip, as `lantern_app::rating` decides it: none below the
    /// metric's minimum sample, "no data" without deployments; the rework
    /// rate has no benchmark bands, so none.
    pub fn chip(&self, r: &Report) -> Markup {
        if self.key == "rework_rate" {
            return html! {};
        }
        let rating = lantern_app::rating::rating(r, self.key);
        match rating.band() {
            // The words carry the meaning, not the colour.
            Some(b) => html! { span class={ "band band-" (b.as_str()) } { (b.as_str()) } },
            None => html! { span.band.band-none data-rating=(rating.label()) { (rating.label()) } },
        }
    }

    /// The sample a figure rests on, in words ("4 of 9 deployments").
    pub fn sample(&self, r: &Report) -> String {
        use lantern_app::format::plural;
        match self.key {
            "deployment_frequency" => {
                plural(r.deployment_frequency.count, "deployment", "deployments")
            }
            "lead_time" => plural(r.lead_time.stats.count, "change", "changes"),
            "change_failure_rate" => format!(
                "{} of {}",
                r.change_failure_rate.failed,
                plural(
                    r.change_failure_rate.deployments,
                    "deployment",
                    "deployments"
                )
            ),
            "failed_deployment_recovery_time" => plural(
                r.failed_deployment_recovery_time.stats.count,
                "recovery",
                "recoveries",
            ),
            "rework_rate" => format!(
                "{} of {}",
                r.rework_rate.rework,
                plural(r.rework_rate.deployments, "deployment", "deployments")
            ),
            _ => String::new(),
        }
    }

    /// The change against an earlier window (health.md's `compare`): what
    /// the figure was, and by how much it moved; a share moves in
    /// percentage points. Words, never a colour: a lower deployment
    /// frequency can be a planned freeze.
    /// `expected`: an experiment expects this figure to dip (health.md),
    /// said instead of leaving the move to be read as a regression.
    pub fn change(
        &self,
        c: &lantern_app::compare::Comparison,
        against: &str,
        expected: Option<&str>,
    ) -> Markup {
        if c.withheld.is_some() {
            return html! { p.change data-change=(self.key) { (against) ": withheld (a small group, governance rule 2)" } };
        }
        let Some(d) = c.metric(self.key) else {
            return html! {};
        };
        let unit = |v: f64| match self.unit {
            Unit::Share => format!("{} points", lantern_app::format::decimals(v * 100.0, 1)),
            unit => format_value(unit, v),
        };
        html! {
            p.change data-change=(self.key) data-relative=[d.relative] data-expected=[expected] {
                (against) ": "
                @match (d.then, lantern_app::compare::describe(d, unit)) {
                    (Some(then), Some(moved)) => { (format_value(self.unit, then)) "; " (moved) }
                    (Some(then), None) => { (format_value(self.unit, then)) }
                    (None, _) => "nothing to measure",
                }
                @if let Some(words) = expected { " — " strong.expected { (words) } }
            }
        }
    }

    /// The value with its raw figure for programs (`data-value`) and the
    /// sample it rests on beside it.
    pub fn figure(&self, r: &Report) -> Markup {
        let raw = (self.value)(r).map(|v| v.to_string()).unwrap_or_default();
        html! {
            span.figure data-metric=(self.key) data-value=(raw) { (self.text(r)) }
            " " span.sample data-sample=(self.key) { "(" (self.sample(r)) ")" }
        }
    }
}
