//! The stats object of metrics.md: count, median, p75, p90, mean.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stats {
    pub count: u64,
    pub median_s: Option<f64>,
    pub p75_s: Option<f64>,
    pub p90_s: Option<f64>,
    pub mean_s: Option<f64>,
}

impl Stats {
    /// Summarises durations in seconds, each a whole number of
    /// microseconds (as every duration Lantern measures is). Reorders
    /// `values`.
    ///
    /// Only the ranks the percentiles interpolate between are put in place
    /// (`select_nth_unstable`, linear time) instead of sorting everything;
    /// the mean is summed in whole microseconds, so it is exact and does not
    /// depend on the order the values came in.
    pub fn of(values: &mut [f64]) -> Stats {
        Self::of_ranked(
            values,
            f64::total_cmp,
            |&v| v,
            |&v| (v * 1e6).round() as i128,
        )
    }

    /// [`Stats::of`] over durations in whole microseconds, selected as
    /// integers: the same figures as converting each to seconds first
    /// (the conversion keeps the order), without a second vector of
    /// hundreds of thousands of CI run durations.
    pub fn of_micros(values: &mut [i64]) -> Stats {
        Self::of_ranked(values, Ord::cmp, |&m| m as f64 / 1e6, |&m| i128::from(m))
    }

    /// The same over plain numbers (flow efficiency's per-item shares,
    /// whose `_s` fields hold shares): the mean is their sum ÷ n. Sorts
    /// `values`.
    pub fn of_plain(values: &mut [f64]) -> Stats {
        // Summed in order, so the mean does not depend on the order the
        // values came in (a store's and the engine's differ).
        values.sort_unstable_by(f64::total_cmp);
        let mean = match values.len() {
            0 => None,
            n => Some(values.iter().sum::<f64>() / n as f64),
        };
        Stats {
            mean_s: mean,
            ..Self::of_ranked(values, f64::total_cmp, |&v| v, |_| 0)
        }
    }

    fn of_ranked<T>(
        values: &mut [T],
        order: impl Fn(&T, &T) -> std::cmp::Ordering + Copy,
        seconds: impl Fn(&T) -> f64,
        micros: impl Fn(&T) -> i128,
    ) -> Stats {
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
        const QUANTILES: [f64; 3] = [0.5, 0.75, 0.9];
        let mut ranks: Vec<usize> = QUANTILES
            .iter()
            .flat_map(|&q| {
                let r = q * (n - 1) as f64;
                [r.floor() as usize, r.ceil() as usize]
            })
            .collect();
        ranks.sort_unstable_by(|a, b| b.cmp(a));
        ranks.dedup();
        // Largest rank first: after placing rank k, everything below it is
        // in values[..k], where the next (smaller) rank is placed.
        let mut end = n;
        for &k in &ranks {
            values[..end].select_nth_unstable_by(k, order);
            end = k;
        }
        let total: i128 = values.iter().map(micros).sum();
        let [median, p75, p90] = QUANTILES.map(|q| {
            let (lo, hi, frac) = interpolation_ranks(n, q);
            let (a, b) = (seconds(&values[lo]), seconds(&values[hi]));
            a + (b - a) * frac
        });
        Stats {
            count: n as u64,
            median_s: Some(median),
            p75_s: Some(p75),
            p90_s: Some(p90),
            mean_s: Some(total as f64 / n as f64 / 1e6),
        }
    }
}

/// The two ranks a quantile `q` of `n` values interpolates between, and
/// how far between them it lies: r = q·(n−1).
fn interpolation_ranks(n: usize, q: f64) -> (usize, usize, f64) {
    let r = q * (n - 1) as f64;
    let lo = r.floor() as usize;
    (lo, r.ceil() as usize, r - lo as f64)
}

/// Linear interpolation between closest ranks: r = q·(n−1). `sorted` must be
/// non-empty, and hold the values of ranks floor(r) and ceil(r) in place
/// (fully sorted, or as `Stats::of` leaves it).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let (lo, hi, frac) = interpolation_ranks(sorted.len(), q);
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
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
    fn micros_give_what_seconds_give() {
        let mut state = 11u64;
        for n in [0usize, 1, 2, 3, 7, 100, 1001] {
            let mut micros: Vec<i64> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 20) % 90_000_000_000) as i64 - 1_000_000_000
                })
                .collect();
            let mut seconds: Vec<f64> = micros.iter().map(|&m| m as f64 / 1e6).collect();
            assert_eq!(
                Stats::of_micros(&mut micros),
                Stats::of(&mut seconds),
                "n={n}"
            );
        }
    }

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
    fn selecting_ranks_gives_what_sorting_gives() {
        // Whole microseconds, shuffled, with ties and negatives.
        let mut state = 7u64;
        for n in [1usize, 2, 3, 5, 10, 11, 100, 1001] {
            let mut values: Vec<f64> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 33) % 2_000_000) as f64 / 1e3 - 500.0
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let s = Stats::of(&mut values);
            assert_eq!(s.median_s, Some(percentile(&sorted, 0.5)), "n={n}");
            assert_eq!(s.p75_s, Some(percentile(&sorted, 0.75)), "n={n}");
            assert_eq!(s.p90_s, Some(percentile(&sorted, 0.9)), "n={n}");
            let mean = sorted.iter().sum::<f64>() / n as f64;
            assert!(
                (s.mean_s.unwrap() - mean).abs() <= 1e-9 * mean.abs().max(1.0),
                "n={n}"
            );
        }
    }

    #[test]
    fn the_mean_does_not_depend_on_order() {
        let mut a = vec![0.1, 0.2, 0.3, 1e6 + 0.000001, 3.000007];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(Stats::of(&mut a).mean_s, Stats::of(&mut b).mean_s);
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
