//! The stats object of metrics.md: count, median, p75, p90, mean.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub count: u64,
    pub median_s: Option<f64>,
    pub p75_s: Option<f64>,
    pub p90_s: Option<f64>,
    pub mean_s: Option<f64>,
}

impl Stats {
    /// Sorts `values` in place and summarises them.
    pub fn of(values: &mut [f64]) -> Stats {
        values.sort_unstable_by(f64::total_cmp);
        let n = values.len();
        if n == 0 {
            return Stats {
                count: 0,
                median_s: None,
                p75_s: None,
                p90_s: None,
                mean_s: None,
            };
        }
        Stats {
            count: n as u64,
            median_s: Some(percentile(values, 0.5)),
            p75_s: Some(percentile(values, 0.75)),
            p90_s: Some(percentile(values, 0.9)),
            mean_s: Some(values.iter().sum::<f64>() / n as f64),
        }
    }
}

/// Linear interpolation between closest ranks: r = q·(n−1). `sorted` must be
/// non-empty and sorted ascending.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let r = q * (sorted.len() - 1) as f64;
    let lo = r.floor() as usize;
    let hi = r.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (r - lo as f64)
}

/// Median of counts (used by the deployment-frequency band).
pub fn median_of_counts(counts: &[u64]) -> Option<f64> {
    if counts.is_empty() {
        return None;
    }
    let mut values: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    values.sort_by(f64::total_cmp);
    Some(percentile(&values, 0.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_linearly() {
        let s = Stats::of(&mut [4.0, 1.0, 3.0, 2.0]);
        assert_eq!(s.count, 4);
        assert_eq!(s.median_s, Some(2.5));
        assert_eq!(s.p75_s, Some(3.25));
        assert_eq!(s.p90_s, Some(3.7));
        assert_eq!(s.mean_s, Some(2.5));
    }

    #[test]
    fn one_value_is_every_percentile() {
        let s = Stats::of(&mut [7.0]);
        assert_eq!(
            (s.median_s, s.p90_s, s.mean_s),
            (Some(7.0), Some(7.0), Some(7.0))
        );
    }

    #[test]
    fn no_values_give_nulls() {
        let s = Stats::of(&mut []);
        assert_eq!(s.count, 0);
        assert_eq!(s.median_s, None);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"count":0,"median_s":null,"p75_s":null,"p90_s":null,"mean_s":null}"#
        );
    }
}
