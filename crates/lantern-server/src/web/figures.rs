//! The five DORA metrics as a page shows them: which figure of the report
//! is the headline, in what unit, with which band. One table, so every
//! page (and the end-to-end test, through `data-value`) reads the same
//! figure the API gives.

use super::chart::{Unit, format_value};
use lantern_engine::{Band, Report};
use maud::{Markup, html};

pub struct Metric {
    /// The key in the report JSON (and in `lantern explain`).
    pub key: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    /// Which figure is shown, in words.
    pub figure: &'static str,
    pub value: fn(&Report) -> Option<f64>,
    pub band: fn(&Report) -> Option<Band>,
}

pub const METRICS: [Metric; 5] = [
    Metric {
        key: "deployment_frequency",
        title: "Deployment frequency",
        unit: Unit::PerDay,
        figure: "production deployments per day",
        value: |r| Some(r.deployment_frequency.per_day),
        band: |r| r.deployment_frequency.band,
    },
    Metric {
        key: "lead_time",
        title: "Lead time for changes",
        unit: Unit::Duration,
        figure: "median, commit to production",
        value: |r| r.lead_time.stats.median_s,
        band: |r| r.lead_time.band,
    },
    Metric {
        key: "change_failure_rate",
        title: "Change failure rate",
        unit: Unit::Share,
        figure: "share of deployments that failed",
        value: |r| r.change_failure_rate.rate,
        band: |r| r.change_failure_rate.band,
    },
    Metric {
        key: "failed_deployment_recovery_time",
        title: "Failed deployment recovery time",
        unit: Unit::Duration,
        figure: "median, failed deployment to recovery",
        value: |r| r.failed_deployment_recovery_time.stats.median_s,
        band: |r| r.failed_deployment_recovery_time.band,
    },
    Metric {
        key: "rework_rate",
        title: "Deployment rework rate",
        unit: Unit::Share,
        figure: "share of deployments that were unplanned rework",
        value: |r| r.rework_rate.rate,
        band: |_| None,
    },
];

impl Metric {
    /// The value as text, "nothing to measure" when there is none.
    pub fn text(&self, r: &Report) -> String {
        (self.value)(r)
            .map(|v| format_value(self.unit, v))
            .unwrap_or_else(|| "nothing to measure".into())
    }

    /// The band chip; the rework rate has no benchmark bands, so none.
    pub fn chip(&self, r: &Report) -> Markup {
        if self.key == "rework_rate" {
            html! {}
        } else {
            band_chip((self.band)(r))
        }
    }

    /// The value with its raw figure for programs (`data-value`).
    pub fn figure(&self, r: &Report) -> Markup {
        let raw = (self.value)(r).map(|v| v.to_string()).unwrap_or_default();
        html! { span.figure data-metric=(self.key) data-value=(raw) { (self.text(r)) } }
    }
}

/// A band as a labelled chip (the words carry the meaning, not the colour).
pub fn band_chip(band: Option<Band>) -> Markup {
    match band {
        Some(b) => html! { span class={ "band band-" (b.as_str()) } { (b.as_str()) } },
        None => html! { span.band.band-none { "no band" } },
    }
}
