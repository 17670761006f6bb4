//! slo.md read a second time, naively: every sum is a scan of every
//! interval, every figure written out from the page's words, and compared
//! with the engine's `slo` module on random SLOs and counts (gaps, zero
//! totals, intervals on window edges, objectives 0.9–0.99999, windows of 1
//! to 90 days) to a relative 1e-9.

use lantern_engine::rng::Rng;
use lantern_engine::slo::{SliCount, SliSeries, SloSpec, followed_by_burn};
use lantern_events::{Name, Timestamp};
use serde_json::{Value, json};

const MIN: i64 = 60_000_000;
const BASE: i64 = 1_775_001_600_000_000; // 2026-04-01T00:00:00Z

struct Naive<'a> {
    objective: f64,
    window_days: u32,
    counts: &'a [SliCount],
}

impl Naive<'_> {
    /// Intervals whose end lies in (a, b].
    fn sums(&self, a: i64, b: i64) -> (u64, u64) {
        let mut good = 0;
        let mut total = 0;
        for c in self.counts {
            let end = c.to.micros();
            if a < end && end <= b {
                good += c.good;
                total += c.total;
            }
        }
        (good, total)
    }

    fn consumed(&self, a: i64, b: i64) -> Option<f64> {
        let (good, total) = self.sums(a, b);
        if total == 0 {
            return None;
        }
        let budget = 1.0 - self.objective;
        Some((((total - good) as f64) / (total as f64)) / budget)
    }

    fn threshold(&self, f: f64, long_hours: f64) -> f64 {
        let t = (f * 24.0 * self.window_days as f64) / long_hours;
        if t < 1.0 { 1.0 } else { t }
    }

    fn report(&self, t: i64) -> Value {
        let w = self.window_days as i64 * 24 * 60 * MIN;
        let (good, total) = self.sums(t - w, t);
        let remaining = self.consumed(t - w, t).map(|c| 1.0 - c);
        let mut rates = serde_json::Map::new();
        for (name, minutes) in [
            ("5m", 5),
            ("30m", 30),
            ("1h", 60),
            ("2h", 120),
            ("6h", 360),
            ("1d", 1440),
            ("3d", 4320),
        ] {
            rates.insert(name.into(), json!(self.consumed(t - minutes * MIN, t)));
        }
        let mut alerts = Vec::new();
        let mut page = false;
        let mut ticket = false;
        for (tier, severity, long_h, short_min, f) in [
            ("fast", "page", 1.0, 5, 0.02),
            ("medium", "page", 6.0, 30, 0.05),
            ("slow", "ticket", 24.0, 120, 0.10),
            ("slowest", "ticket", 72.0, 360, 0.10),
        ] {
            if long_h > 24.0 * self.window_days as f64 {
                continue;
            }
            let threshold = self.threshold(f, long_h);
            let long = self.consumed(t - (long_h as i64) * 60 * MIN, t);
            let short = self.consumed(t - short_min * MIN, t);
            if let (Some(l), Some(s)) = (long, short)
                && l > threshold
                && s > threshold
            {
                alerts.push(json!({"tier": tier, "severity": severity, "threshold": threshold, "long": l, "short": s}));
                page |= severity == "page";
                ticket |= severity == "ticket";
            }
        }
        let status = match remaining {
            None => "no_data",
            Some(r) if r <= 0.0 => "exhausted",
            Some(_) if page => "burning",
            Some(r) if ticket || r < 0.25 => "warning",
            Some(_) => "ok",
        };
        json!({
            "name": "s", "service": "svc", "objective": self.objective,
            "window_days": self.window_days, "at": Timestamp::from_micros(t).to_rfc3339(),
            "good": good, "total": total,
            "sli": (total > 0).then(|| good as f64 / total as f64),
            "budget_remaining": remaining, "status": status,
            "burn_rates": rates, "alerts": alerts,
        })
    }

    fn followed(&self, finished: i64, until: i64) -> bool {
        if finished + 60 * MIN > until {
            return false;
        }
        self.consumed(finished, finished + 60 * MIN)
            .is_some_and(|b| b > self.threshold(0.02, 1.0) / 2.0)
    }
}

/// Equal JSON, numbers to a relative 1e-9.
fn same(a: &Value, b: &Value, at: &str) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            let scale = x.abs().max(y.abs()).max(1e-300);
            if (x - y).abs() / scale <= 1e-9 {
                Ok(())
            } else {
                Err(format!("{at}: {x} != {y}"))
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .try_for_each(|(i, (x, y))| same(x, y, &format!("{at}[{i}]"))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => x
            .iter()
            .try_for_each(|(k, v)| same(v, y.get(k).unwrap_or(&Value::Null), &format!("{at}.{k}"))),
        _ if a == b => Ok(()),
        _ => Err(format!("{at}: {a} != {b}")),
    }
}

fn random_counts(rng: &mut Rng, days: i64) -> Vec<SliCount> {
    let mut out = Vec::new();
    let step = [60, 300, 300, 300, 900][rng.below(5) as usize] as i64 * 1_000_000;
    let steps = days * 86_400_000_000 / step;
    // An outage of some hours, or none.
    let outage = rng.below(steps as u64) as i64;
    let outage_len = rng.below(200) as i64;
    let bad_share = [0.0, 0.0001, 0.001, 0.01, 0.2][rng.below(5) as usize];
    for i in 0..steps {
        if rng.chance(0.03) {
            continue; // a gap: nothing counted
        }
        let total = if rng.chance(0.02) { 0 } else { rng.below(2000) };
        let share = if (outage..outage + outage_len).contains(&i) {
            0.6
        } else {
            bad_share
        };
        let bad = ((total as f64) * share * rng.unit() * 2.0).min(total as f64) as u64;
        out.push(SliCount {
            from: Timestamp::from_micros(BASE + i * step),
            to: Timestamp::from_micros(BASE + (i + 1) * step),
            good: total - bad,
            total,
        });
    }
    out
}

#[test]
fn the_slo_figures_agree_with_a_naive_reading_of_slo_md() {
    let mut seen = std::collections::BTreeMap::<String, u32>::new();
    for seed in 0..60u64 {
        let mut rng = Rng::new(seed);
        let objective =
            [0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 0.99999][rng.below(8) as usize];
        let window_days = [1, 2, 3, 7, 14, 28, 30, 90][rng.below(8) as usize];
        let days = 1 + rng.below(20) as i64;
        let counts = random_counts(&mut rng, days);
        let spec = SloSpec {
            name: "s".into(),
            service: Name::parse("svc").unwrap(),
            objective,
            window_days,
        };
        let series = SliSeries::new(&spec, &counts);
        let naive = Naive {
            objective,
            window_days,
            counts: &counts,
        };
        for _ in 0..40 {
            // Instants on interval ends and between them, before and after.
            let minutes = rng.below((days as u64 + 2) * 1440) as i64 - 1440;
            let t = BASE
                + minutes * MIN
                + if rng.chance(0.5) {
                    0
                } else {
                    rng.below(60) as i64 * 1_000_000
                };
            let engine = serde_json::to_value(series.status(Timestamp::from_micros(t))).unwrap();
            // The same from the range sums a store computes.
            let ranges = lantern_engine::slo::status_ranges(&spec, Timestamp::from_micros(t));
            let sums = ranges
                .iter()
                .map(|&(a, b)| {
                    let (g, tot) = naive.sums(a, b);
                    ((a, b), (u128::from(g), u128::from(tot)))
                })
                .collect();
            let summed = SliSeries::from_sums(&spec, sums).status(Timestamp::from_micros(t));
            assert_eq!(
                serde_json::to_value(summed).unwrap(),
                engine,
                "seed {seed}, t {t}"
            );
            let oracle = naive.report(t);
            if let Err(e) = same(&engine, &oracle, "status") {
                panic!("seed {seed}, t {t}: {e}\nengine {engine}\noracle {oracle}");
            }
            *seen
                .entry(engine["status"].as_str().unwrap().to_string())
                .or_default() += 1;
            for a in engine["alerts"].as_array().unwrap() {
                *seen
                    .entry(a["tier"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
        }
        // Deployments and the hour after them.
        let until = BASE + days * 1440 * MIN;
        let finished: Vec<i64> = (0..10)
            .map(|_| BASE + rng.below(days as u64 * 1440) as i64 * MIN)
            .collect();
        let deployments: Vec<(Name, Timestamp)> = finished
            .iter()
            .map(|&f| (Name::parse("svc").unwrap(), Timestamp::from_micros(f)))
            .collect();
        let got = followed_by_burn(&deployments, &[series], Timestamp::from_micros(until));
        let want = finished
            .iter()
            .filter(|&&f| naive.followed(f, until))
            .count() as u64;
        assert_eq!((got.deployments, got.followed), (10, want), "seed {seed}");
        if want > 0 {
            *seen.entry("followed".into()).or_default() += 1;
        }
    }
    // A comparison of empty figures proves nothing: every status and tier
    // must have come up.
    for key in [
        "ok",
        "warning",
        "burning",
        "exhausted",
        "no_data",
        "fast",
        "medium",
        "slow",
        "slowest",
        "followed",
    ] {
        assert!(
            seen.get(key).copied().unwrap_or(0) >= 2,
            "{key} barely exercised: {seen:?}"
        );
    }
}
