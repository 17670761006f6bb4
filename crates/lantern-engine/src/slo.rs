//! The figures of slo.md: SLI, error budget, burn rates, the four alert
//! tiers and an SLO's status at an instant, and the burn after each
//! deployment. Pure like the rest of the engine: an SLO, its counts and an
//! instant in, figures out (the caller says what "now" is).
//!
//! Counts are summed by prefix sums over the intervals ordered by their
//! end, so every figure of an SLO is two binary searches, however many
//! five-minute counts its window holds.

use lantern_events::{MICROS_PER_SECOND, Name, Timestamp};
use serde::Serialize;

const HOUR: i64 = 3600 * MICROS_PER_SECOND;
const MINUTE: i64 = 60 * MICROS_PER_SECOND;

/// An SLO as the catalog declares it (slo.md, "Declaring an SLO").
#[derive(Debug, Clone, PartialEq)]
pub struct SloSpec {
    pub name: String,
    pub service: Name,
    /// The target share of good events, 0 < objective < 1.
    pub objective: f64,
    /// The rolling window, 1 to 90 days.
    pub window_days: u32,
}

/// The counts of one interval (an `sli` event, after last-write-wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliCount {
    pub from: Timestamp,
    pub to: Timestamp,
    pub good: u64,
    pub total: u64,
}

/// The burn-rate windows slo.md names, in its order, with their lengths.
pub const BURN_WINDOWS: [(&str, i64); 7] = [
    ("5m", 5 * MINUTE),
    ("30m", 30 * MINUTE),
    ("1h", HOUR),
    ("2h", 2 * HOUR),
    ("6h", 6 * HOUR),
    ("1d", 24 * HOUR),
    ("3d", 72 * HOUR),
];

/// An alert tier: its name, severity, long and short windows and the share
/// of the whole budget it is about.
pub struct Tier {
    pub name: &'static str,
    pub severity: Severity,
    pub long: i64,
    pub short: i64,
    pub share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Severity {
    Page,
    Ticket,
}

/// The multi-window, multi-burn-rate tiers of slo.md.
pub const TIERS: [Tier; 4] = [
    Tier {
        name: "fast",
        severity: Severity::Page,
        long: HOUR,
        short: 5 * MINUTE,
        share: 0.02,
    },
    Tier {
        name: "medium",
        severity: Severity::Page,
        long: 6 * HOUR,
        short: 30 * MINUTE,
        share: 0.05,
    },
    Tier {
        name: "slow",
        severity: Severity::Ticket,
        long: 24 * HOUR,
        short: 2 * HOUR,
        share: 0.10,
    },
    Tier {
        name: "slowest",
        severity: Severity::Ticket,
        long: 72 * HOUR,
        short: 6 * HOUR,
        share: 0.10,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SloState {
    NoData,
    Exhausted,
    Burning,
    Warning,
    Ok,
}

impl SloState {
    /// The status as the report's JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SloState::NoData => "no_data",
            SloState::Exhausted => "exhausted",
            SloState::Burning => "burning",
            SloState::Warning => "warning",
            SloState::Ok => "ok",
        }
    }
}

/// A firing alert tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub tier: &'static str,
    pub severity: Severity,
    pub threshold: f64,
    pub long: f64,
    pub short: f64,
}

/// The burn rate over each of [`BURN_WINDOWS`], in its order; serialised
/// as an object keyed by the windows' names (all seven, always).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = std::collections::BTreeMap<String, Option<f64>>))]
pub struct BurnRates(pub [Option<f64>; 7]);

impl Serialize for BurnRates {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(BURN_WINDOWS.len()))?;
        for ((name, _), rate) in BURN_WINDOWS.iter().zip(&self.0) {
            map.serialize_entry(name, rate)?;
        }
        map.end()
    }
}

/// One SLO at an instant: slo.md's report object (flat in JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloStatus {
    #[serde(flatten)]
    pub slo: SloJson,
    pub at: String,
    #[serde(flatten)]
    pub counts: WindowCounts,
    pub sli: Option<f64>,
    pub budget_remaining: Option<f64>,
    pub status: SloState,
    pub burn_rates: BurnRates,
    pub alerts: Vec<Alert>,
    /// For an SLO pulled from Prometheus: how many steps wrote nothing (a
    /// failed or empty `total`); set by the caller, which knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo_gaps: Option<u64>,
}

/// What the SLO is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloJson {
    pub name: String,
    pub service: String,
    pub objective: f64,
    pub window_days: u32,
}

/// The counts over the SLO's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WindowCounts {
    pub good: u64,
    pub total: u64,
}

/// An SLO's counts, ready for range sums.
pub struct SliSeries<'s> {
    pub spec: &'s SloSpec,
    /// Interval ends, ascending.
    ends: Vec<i64>,
    /// good and total summed over the first i intervals.
    good: Vec<u128>,
    total: Vec<u128>,
    /// Or sums a store computed for the ranges [`status_ranges`] names,
    /// so that an SLO's status needs no row of its counts.
    sums: Option<Vec<RangeSum>>,
}

/// A range [a, b) in microseconds and its (good, total).
pub type RangeSum = ((i64, i64), (u128, u128));

/// The ranges [a, b) an SLO's status at `at` sums: its window and the
/// seven burn-rate windows (the alert tiers' windows are among them).
pub fn status_ranges(spec: &SloSpec, at: Timestamp) -> Vec<(i64, i64)> {
    let t = at.micros();
    let window = i64::from(spec.window_days) * 24 * HOUR;
    std::iter::once((t - window, t))
        .chain(BURN_WINDOWS.iter().map(|(_, w)| (t - w, t)))
        .collect()
}

impl<'s> SliSeries<'s> {
    pub fn new(spec: &'s SloSpec, counts: &[SliCount]) -> Self {
        let mut sorted: Vec<&SliCount> = counts.iter().collect();
        sorted.sort_by_key(|c| c.to);
        let (mut good, mut total) = (vec![0u128], vec![0u128]);
        for c in &sorted {
            good.push(good[good.len() - 1] + u128::from(c.good));
            total.push(total[total.len() - 1] + u128::from(c.total));
        }
        SliSeries {
            spec,
            ends: sorted.iter().map(|c| c.to.micros()).collect(),
            good,
            total,
            sums: None,
        }
    }

    /// A series that knows only the sums over the ranges of
    /// [`status_ranges`] (as a store computes them): enough for
    /// [`SliSeries::status`] at that instant, and for nothing else.
    pub fn from_sums(spec: &'s SloSpec, sums: Vec<RangeSum>) -> Self {
        SliSeries {
            spec,
            ends: Vec::new(),
            good: vec![0],
            total: vec![0],
            sums: Some(sums),
        }
    }

    /// (good, total) over [a, b): the intervals whose end lies in (a, b].
    pub fn counts(&self, a: i64, b: i64) -> (u128, u128) {
        if let Some(sums) = &self.sums {
            let found = sums.iter().find(|(range, _)| *range == (a, b));
            debug_assert!(found.is_some(), "a range the store did not sum: {a}..{b}");
            return found.map_or((0, 0), |(_, counts)| *counts);
        }
        let lo = self.ends.partition_point(|&e| e <= a);
        let hi = self.ends.partition_point(|&e| e <= b).max(lo);
        (
            self.good[hi] - self.good[lo],
            self.total[hi] - self.total[lo],
        )
    }

    /// Budget consumed over [a, b); `None` when nothing was counted.
    pub fn consumed(&self, a: i64, b: i64) -> Option<f64> {
        let (good, total) = self.counts(a, b);
        consumed(good, total, self.spec.objective)
    }

    /// The burn rate over the `w` before `t`.
    pub fn burn_rate(&self, t: i64, w: i64) -> Option<f64> {
        self.consumed(t - w, t)
    }

    /// The window's length in hours.
    fn window_hours(&self) -> f64 {
        24.0 * f64::from(self.spec.window_days)
    }

    /// A tier's threshold for this SLO's window: max(1, f × W ÷ long).
    pub fn threshold(&self, tier: &Tier) -> f64 {
        let long_hours = (tier.long / HOUR) as f64;
        ((tier.share * 24.0 * f64::from(self.spec.window_days)) / long_hours).max(1.0)
    }

    /// The tiers that fire at `t` (those whose long window fits in the
    /// SLO's window; a `None` rate never fires).
    pub fn alerts(&self, t: i64) -> Vec<Alert> {
        TIERS
            .iter()
            .filter(|tier| (tier.long / HOUR) as f64 <= self.window_hours())
            .filter_map(|tier| {
                let threshold = self.threshold(tier);
                let long = self.burn_rate(t, tier.long)?;
                let short = self.burn_rate(t, tier.short)?;
                (long > threshold && short > threshold).then_some(Alert {
                    tier: tier.name,
                    severity: tier.severity,
                    threshold,
                    long,
                    short,
                })
            })
            .collect()
    }

    /// The SLO at `at`: its window's counts, status, burn rates and alerts.
    pub fn status(&self, at: Timestamp) -> SloStatus {
        let t = at.micros();
        let window = i64::from(self.spec.window_days) * 24 * HOUR;
        let (good, total) = self.counts(t - window, t);
        let remaining = consumed(good, total, self.spec.objective).map(|c| 1.0 - c);
        let alerts = self.alerts(t);
        let fires = |severity| alerts.iter().any(|a| a.severity == severity);
        let status = match remaining {
            None => SloState::NoData,
            Some(r) if r <= 0.0 => SloState::Exhausted,
            _ if fires(Severity::Page) => SloState::Burning,
            Some(r) if fires(Severity::Ticket) || r < 0.25 => SloState::Warning,
            _ => SloState::Ok,
        };
        SloStatus {
            slo: SloJson {
                name: self.spec.name.clone(),
                service: self.spec.service.to_string(),
                objective: self.spec.objective,
                window_days: self.spec.window_days,
            },
            at: at.to_rfc3339(),
            counts: WindowCounts {
                good: saturating(good),
                total: saturating(total),
            },
            sli: (total > 0).then(|| good as f64 / total as f64),
            budget_remaining: remaining,
            status,
            burn_rates: BurnRates(BURN_WINDOWS.map(|(_, w)| self.burn_rate(t, w))),
            alerts,
            slo_gaps: None,
        }
    }

    /// The burn rate over the hour after a deployment finished; `None`
    /// when nothing was counted then, or while that hour is not over by
    /// `known_until` (the report's end, or now when earlier).
    pub fn burn_after(&self, finished_at: Timestamp, known_until: Timestamp) -> Option<f64> {
        let start = finished_at.micros();
        if start + HOUR > known_until.micros() {
            return None;
        }
        self.consumed(start, start + HOUR)
    }

    /// Whether a deployment is followed by burn: its `burn_after` above
    /// half the `fast` threshold.
    pub fn followed_by_burn(&self, finished_at: Timestamp, known_until: Timestamp) -> bool {
        self.burn_after(finished_at, known_until)
            .is_some_and(|b| b > self.threshold(&TIERS[0]) / 2.0)
    }
}

/// (bad ÷ total) ÷ (1 − objective), in slo.md's order of operations.
fn consumed(good: u128, total: u128, objective: f64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let budget = 1.0 - objective;
    Some(((total - good.min(total)) as f64 / total as f64) / budget)
}

fn saturating(n: u128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// An SLO in a report: its status at the window's end, or in a trend
/// bucket its SLI and burn rate over the bucket.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum SloFigure {
    Status(Box<SloStatus>),
    Bucket {
        name: String,
        sli: Option<f64>,
        burn_rate: Option<f64>,
    },
}

impl SliSeries<'_> {
    /// The SLI and burn rate (budget consumed) over one trend bucket.
    pub fn over(&self, a: Timestamp, b: Timestamp) -> SloFigure {
        let (good, total) = self.counts(a.micros(), b.micros());
        SloFigure::Bucket {
            name: self.spec.name.clone(),
            sli: (total > 0).then(|| good as f64 / total as f64),
            burn_rate: self.consumed(a.micros(), b.micros()),
        }
    }
}

/// `deployments_followed_by_burn` of a report: over the deployments of
/// services with an SLO, how many the hour after was followed by burn for
/// any SLO of their service (each counts once).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowedByBurn {
    pub deployments: u64,
    pub followed: u64,
    pub rate: Option<f64>,
}

pub fn followed_by_burn(
    deployments: &[(Name, Timestamp)],
    series: &[SliSeries],
    known_until: Timestamp,
) -> FollowedByBurn {
    let (mut counted, mut followed) = (0u64, 0u64);
    for (service, finished_at) in deployments {
        let mut of_service = series
            .iter()
            .filter(|s| &s.spec.service == service)
            .peekable();
        if of_service.peek().is_none() {
            continue;
        }
        counted += 1;
        if of_service.any(|s| s.followed_by_burn(*finished_at, known_until)) {
            followed += 1;
        }
    }
    FollowedByBurn {
        deployments: counted,
        followed,
        rate: (counted > 0).then(|| followed as f64 / counted as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(objective: f64, window_days: u32) -> SloSpec {
        SloSpec {
            name: "checkout-availability".into(),
            service: Name::parse("checkout").unwrap(),
            objective,
            window_days,
        }
    }

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_micros(1_800_000_000 * MICROS_PER_SECOND + minutes * MINUTE)
    }

    /// Five-minute counts from `from` to `to` minutes, `bad` of 1000 bad.
    fn counts(from: i64, to: i64, bad: u64) -> Vec<SliCount> {
        (from / 5..to / 5)
            .map(|i| SliCount {
                from: at(i * 5),
                to: at(i * 5 + 5),
                good: 1000 - bad,
                total: 1000,
            })
            .collect()
    }

    #[test]
    fn thresholds_scale_with_the_window() {
        let s = spec(0.999, 30);
        let series = SliSeries::new(&s, &[]);
        let got: Vec<f64> = TIERS.iter().map(|t| series.threshold(t)).collect();
        for (got, want) in got.iter().zip([14.4, 6.0, 3.0, 1.0]) {
            assert!((got - want).abs() < 1e-9, "{got} for {want}");
        }
        let one_day = spec(0.999, 1);
        let series = SliSeries::new(&one_day, &[]);
        assert_eq!(series.threshold(&TIERS[0]), 1.0, "never below 1");
    }

    #[test]
    fn an_interval_counts_where_it_ends() {
        let s = spec(0.99, 28);
        let c = counts(0, 60, 10);
        let series = SliSeries::new(&s, &c);
        // The 5 minutes before t hold the interval ending at t.
        assert_eq!(series.counts(at(55).micros(), at(60).micros()), (990, 1000));
        assert_eq!(series.counts(at(60).micros(), at(65).micros()), (0, 0));
        // 1 % bad of a 1 % budget: burning it exactly as fast as allowed.
        let rate = series.burn_rate(at(60).micros(), HOUR).unwrap();
        assert!((rate - 1.0).abs() < 1e-9, "{rate}");
    }

    #[test]
    fn a_spike_pages_then_stops_paging_when_it_ends() {
        let s = spec(0.999, 28);
        // 28 days of healthy traffic, then 20 minutes at half errors: a
        // quarter of the budget, spent fast.
        let d = 28 * 24 * 60;
        let mut c = counts(0, d, 0);
        c.extend(counts(d, d + 20, 500));
        c.extend(counts(d + 20, d + 120, 0));
        let series = SliSeries::new(&s, &c);
        let during = series.status(at(d + 20));
        assert_eq!(during.status, SloState::Burning, "{during:?}");
        assert!(during.alerts.iter().any(|a| a.tier == "fast"));
        // An hour later the short window is clean: no page.
        let after = series.status(at(d + 80));
        assert!(after.alerts.iter().all(|a| a.tier != "fast"), "{after:?}");
        assert_eq!(series.status(at(-10)).status, SloState::NoData);
    }

    #[test]
    fn the_hour_after_a_deployment() {
        let s = spec(0.999, 28);
        let c = counts(0, 120, 20);
        let series = SliSeries::new(&s, &c);
        // 2 % bad ÷ 0.1 % budget = a burn of 20, above 28 days' 6.72.
        let b = series.burn_after(at(0), at(120)).unwrap();
        assert!((b - 20.0).abs() < 1e-9, "{b}");
        assert!(series.followed_by_burn(at(0), at(120)));
        // Not yet an hour known: no figure.
        assert_eq!(series.burn_after(at(90), at(120)), None);
        let deployments = [
            (Name::parse("checkout").unwrap(), at(0)),
            (Name::parse("search").unwrap(), at(0)),
        ];
        let f = followed_by_burn(&deployments, &[series], at(120));
        assert_eq!((f.deployments, f.followed, f.rate), (1, 1, Some(1.0)));
    }
}
