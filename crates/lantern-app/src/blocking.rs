//! "What's blocking us" (health.md): seed 001's four questions — are we
//! shipping, are changes safe, are incidents recoverable, are we
//! learning? — answered in one sentence each from a team's report, and the
//! largest lead-time stage named, the first candidate for the team's next
//! constraint. Words for a conversation, never a score.

use crate::format::{duration, plural};
use lantern_engine::{PrStages, Report};

/// The largest lead-time stage: among coding, pickup, review and deploy,
/// the one with the largest median (stages without one are skipped; a tie
/// goes to the earlier in that order), its median in seconds and its share
/// of the sum of the stages' medians (`None` when that sum is 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LargestStage {
    pub stage: &'static str,
    pub median_s: f64,
    pub share: Option<f64>,
}

pub fn largest_stage(stages: &PrStages) -> Option<LargestStage> {
    let medians = [
        ("coding", stages.coding.median_s),
        ("pickup", stages.pickup.median_s),
        ("review", stages.review.median_s),
        ("deploy", stages.deploy.median_s),
    ];
    let known: Vec<(&'static str, f64)> = medians
        .iter()
        .filter_map(|(name, m)| m.map(|m| (*name, m)))
        .collect();
    let sum: f64 = known.iter().map(|(_, m)| m).sum();
    // The first of the largest: a later stage wins only when larger.
    let (stage, median_s) = known
        .iter()
        .copied()
        .reduce(|best, next| if next.1 > best.1 { next } else { best })?;
    Some(LargestStage {
        stage,
        median_s,
        share: (sum > 0.0).then(|| median_s / sum),
    })
}

fn percent(share: f64) -> String {
    format!("{} %", crate::format::decimals(share * 100.0, 1))
}

/// The four answers and the constraint, in order, as sentences.
/// `annotations` and `disputes` are those touching the window.
pub fn sentences(r: &Report, annotations: usize, disputes: usize) -> Vec<(&'static str, String)> {
    let df = &r.deployment_frequency;
    let shipping = if df.count == 0 {
        "Nothing reached production in this window.".to_string()
    } else {
        let lead = match r.lead_time.stats.median_s {
            Some(m) => format!(
                "; a change waits {} from commit to production (median of {})",
                duration(m),
                plural(r.lead_time.stats.count, "change", "changes")
            ),
            None => String::new(),
        };
        format!(
            "{} reached production, on {}{lead}.",
            plural(df.count, "deployment", "deployments"),
            plural(df.deploy_days, "day", "days"),
        )
    };
    let cfr = &r.change_failure_rate;
    let safe = match cfr.rate {
        None => "No deployment to judge yet.".to_string(),
        Some(rate) => format!(
            "{} of {} failed ({}); {} unplanned rework.",
            cfr.failed,
            plural(cfr.deployments, "deployment", "deployments"),
            percent(rate),
            plural(r.rework_rate.rework, "deployment was", "deployments were"),
        ),
    };
    let rec = &r.failed_deployment_recovery_time;
    let recoverable = match (rec.stats.median_s, rec.unresolved) {
        (None, 0) => "No failed deployment needed recovering.".to_string(),
        (None, open) => format!(
            "{} not recovered yet.",
            plural(open, "failed deployment is", "failed deployments are")
        ),
        (Some(m), open) => format!(
            "Failed deployments recovered in {} (median of {}){}.",
            duration(m),
            plural(rec.stats.count, "recovery", "recoveries"),
            match open {
                0 => String::new(),
                n => format!("; {} still open", n),
            }
        ),
    };
    let learning = match (annotations, disputes) {
        (0, 0) => "Nothing was annotated or disputed in this window: say what happened around the figures, and where they mislead.".to_string(),
        (a, d) => format!(
            "{} and {} record what happened around these figures.",
            plural(a, "annotation", "annotations"),
            plural(d, "dispute", "disputes")
        ),
    };
    let constraint = match largest_stage(&r.pr_stages) {
        None => {
            "No pull request stage has a median yet: nothing to name as the constraint.".to_string()
        }
        Some(l) => format!(
            "The largest lead-time stage is {}: {} median{}, the first candidate for the team's next constraint.",
            l.stage,
            duration(l.median_s),
            l.share
                .map(|s| format!(", {} of the stages' medians", percent(s)))
                .unwrap_or_default()
        ),
    };
    vec![
        ("Are we shipping?", shipping),
        ("Are changes safe?", safe),
        ("Are incidents recoverable?", recoverable),
        ("Are we learning?", learning),
        ("What's blocking us?", constraint),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_engine::Stats;

    fn stage(median: Option<f64>) -> Stats {
        Stats {
            count: u64::from(median.is_some()),
            median_s: median,
            p75_s: median,
            p90_s: median,
            mean_s: median,
        }
    }

    fn stages(m: [Option<f64>; 4]) -> PrStages {
        PrStages {
            coding: stage(m[0]),
            pickup: stage(m[1]),
            review: stage(m[2]),
            deploy: stage(m[3]),
            review_sample_rate: None,
        }
    }

    #[test]
    fn the_largest_stage_skips_missing_medians_and_ties_go_to_the_earlier() {
        let l = largest_stage(&stages([Some(3600.0), None, Some(7200.0), Some(3600.0)])).unwrap();
        assert_eq!(
            (l.stage, l.median_s, l.share),
            ("review", 7200.0, Some(0.5))
        );
        let tie = largest_stage(&stages([Some(60.0), Some(120.0), Some(120.0), None])).unwrap();
        assert_eq!(tie.stage, "pickup");
        assert_eq!(tie.share, Some(0.4));
        assert_eq!(largest_stage(&stages([None; 4])), None);
        let zero = largest_stage(&stages([Some(0.0), Some(0.0), None, None])).unwrap();
        assert_eq!((zero.stage, zero.share), ("coding", None));
    }
}
