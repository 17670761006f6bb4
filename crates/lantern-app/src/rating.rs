//! Whether a front end shows a figure's band: the report carries the band
//! metrics.md defines, whatever the sample; a page or a table shows it
//! only when the figure rests on enough observations, and says "no data"
//! when there is nothing at all. A 7-day change failure rate of one
//! deployment is not "elite", and an empty installation is not "low".

use lantern_engine::{Band, Report};

/// The fewest observations a band is shown for, per metric: changes for
/// lead time, deployments for the change failure rate, recovered failed
/// deployments for recovery time. Deployment frequency needs one
/// deployment: few deployments *are* its signal. (`lantern explain` says
/// the same, from this table.)
pub const MIN_SAMPLE: [(&str, u64); 4] = [
    ("deployment_frequency", 1),
    ("lead_time", 5),
    ("change_failure_rate", 10),
    ("failed_deployment_recovery_time", 5),
];

/// The smallest sample that gets `metric` a band, if it has bands.
pub fn min_sample(metric: &str) -> Option<u64> {
    MIN_SAMPLE
        .iter()
        .find(|(key, _)| *key == metric)
        .map(|&(_, n)| n)
}

/// What a front end shows where a band would stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    /// The band, on enough observations.
    Rated(Band),
    /// Some observations, fewer than the band needs.
    TooFew { have: u64, need: u64 },
    /// Nothing observed in the window.
    NoData,
    /// The report gives no band (no whole week, or a metric without
    /// benchmark bands).
    Unrated,
}

impl Rating {
    /// Short words for a chip or a table cell.
    pub fn label(self) -> String {
        match self {
            Rating::Rated(b) => b.as_str().to_string(),
            Rating::TooFew { have, need } => format!("too few: {have} of {need}"),
            Rating::NoData => "no data".to_string(),
            Rating::Unrated => "no band".to_string(),
        }
    }

    /// The same in at most eight characters, for a column of bands.
    pub fn short_label(self) -> &'static str {
        match self {
            Rating::Rated(b) => b.as_str(),
            Rating::TooFew { .. } => "too few",
            Rating::NoData => "no data",
            Rating::Unrated => "–",
        }
    }

    pub fn band(self) -> Option<Band> {
        match self {
            Rating::Rated(b) => Some(b),
            _ => None,
        }
    }
}

/// How many observations a metric's figure rests on, as the report says.
pub fn sample(report: &Report, metric: &str) -> Option<u64> {
    Some(match metric {
        "deployment_frequency" => report.deployment_frequency.count,
        "lead_time" => report.lead_time.stats.count,
        "change_failure_rate" => report.change_failure_rate.deployments,
        "failed_deployment_recovery_time" => report.failed_deployment_recovery_time.stats.count,
        "rework_rate" => report.rework_rate.deployments,
        _ => return None,
    })
}

/// The rating a front end shows for `metric` of `report`.
pub fn rating(report: &Report, metric: &str) -> Rating {
    let band = match metric {
        "deployment_frequency" => report.deployment_frequency.band,
        "lead_time" => report.lead_time.band,
        "change_failure_rate" => report.change_failure_rate.band,
        "failed_deployment_recovery_time" => report.failed_deployment_recovery_time.band,
        _ => None,
    };
    let Some(have) = sample(report, metric) else {
        return Rating::Unrated;
    };
    // No deployment at all: every figure is "no data", not a low band.
    if report.deployment_frequency.count == 0 || have == 0 {
        return Rating::NoData;
    }
    match (band, min_sample(metric)) {
        (Some(_), Some(need)) if have < need => Rating::TooFew { have, need },
        (Some(b), _) => Rating::Rated(b),
        (None, _) => Rating::Unrated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_engine::{EngineConfig, EventSet, Scope, Window};
    use lantern_events::{Pseudonymiser, Timestamp, parse_event_json};

    /// A report of `deployments` production deployments a day apart, the
    /// first `failed` of them failed by an incident.
    fn report(deployments: usize, failed: usize) -> Report {
        let p = Pseudonymiser::from_key([7; 32]);
        let mut events = Vec::new();
        for i in 0..deployments {
            let at = format!("2026-11-{:02}T10:00:00Z", i + 1);
            let line = format!(
                r#"{{"type":"deployment","id":"d{i}","service":"api","environment":"production","finished_at":"{at}"}}"#
            );
            events.push(parse_event_json(&line, &p).unwrap());
            if i < failed {
                let line = format!(
                    r#"{{"type":"incident","id":"i{i}","service":"api","started_at":"2026-11-{:02}T11:00:00Z","resolved_at":"2026-11-{:02}T12:00:00Z","caused_by":"d{i}"}}"#,
                    i + 1,
                    i + 1
                );
                events.push(parse_event_json(&line, &p).unwrap());
            }
        }
        let window =
            Window::from_bounds(Some("2026-11-01"), Some("2026-12-01"), Timestamp::now()).unwrap();
        lantern_engine::report(
            &EventSet::from_events(events),
            &Scope::Org,
            window,
            &EngineConfig::default(),
        )
    }

    #[test]
    fn explain_states_each_minimum() {
        for (key, need) in MIN_SAMPLE {
            let doc = lantern_engine::find_metric_doc(key).unwrap();
            assert!(
                doc.definition.contains(&format!("from {need} ")),
                "{key}: {}",
                doc.definition
            );
        }
    }

    #[test]
    fn nothing_deployed_is_no_data_not_a_low_band() {
        let r = report(0, 0);
        assert_eq!(r.deployment_frequency.band.map(Band::as_str), Some("low"));
        for key in ["deployment_frequency", "change_failure_rate", "lead_time"] {
            assert_eq!(rating(&r, key), Rating::NoData, "{key}");
        }
    }

    #[test]
    fn a_rate_of_few_deployments_gets_no_band() {
        let r = report(1, 0);
        assert_eq!(r.change_failure_rate.band, Some(Band::Elite));
        assert_eq!(
            rating(&r, "change_failure_rate"),
            Rating::TooFew { have: 1, need: 10 }
        );
        assert_eq!(
            rating(&r, "change_failure_rate").label(),
            "too few: 1 of 10"
        );
        let r = report(12, 1);
        assert_eq!(
            rating(&r, "change_failure_rate"),
            Rating::Rated(Band::High),
            "1 of 12 is 8.3 %"
        );
        assert_eq!(rating(&r, "rework_rate"), Rating::Unrated);
    }
}
