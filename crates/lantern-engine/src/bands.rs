//! Performance bands from the dora-2023 table (metrics.md, Benchmarks).
//! Bands describe a service's delivery system, never a person.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Band {
    Elite,
    High,
    Medium,
    Low,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Elite => "elite",
            Band::High => "high",
            Band::Medium => "medium",
            Band::Low => "low",
        }
    }
}

const HOUR: f64 = 3600.0;
const DAY: f64 = 24.0 * HOUR;

/// `weekly_median` deploy days; `monthly_ok`: the monthly median (or the
/// 30-day rate when no month is whole) reaches one deployment.
pub fn deployment_frequency(weekly_median: f64, monthly_ok: bool) -> Band {
    if weekly_median >= 5.0 {
        Band::Elite
    } else if weekly_median >= 1.0 {
        Band::High
    } else if monthly_ok {
        Band::Medium
    } else {
        Band::Low
    }
}

pub fn lead_time(median_s: f64) -> Band {
    below(median_s, [DAY, 7.0 * DAY, 30.0 * DAY])
}

pub fn recovery(median_s: f64) -> Band {
    below(median_s, [HOUR, DAY, 7.0 * DAY])
}

pub fn change_failure_rate(rate: f64) -> Band {
    if rate <= 0.05 {
        Band::Elite
    } else if rate <= 0.10 {
        Band::High
    } else if rate <= 0.15 {
        Band::Medium
    } else {
        Band::Low
    }
}

fn below(value: f64, [elite, high, medium]: [f64; 3]) -> Band {
    if value < elite {
        Band::Elite
    } else if value < high {
        Band::High
    } else if value < medium {
        Band::Medium
    } else {
        Band::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_where_the_table_puts_them() {
        assert_eq!(lead_time(DAY - 1.0), Band::Elite);
        assert_eq!(lead_time(DAY), Band::High);
        assert_eq!(lead_time(30.0 * DAY), Band::Low);
        assert_eq!(recovery(HOUR), Band::High);
        assert_eq!(change_failure_rate(0.05), Band::Elite);
        assert_eq!(change_failure_rate(0.1), Band::High);
        assert_eq!(change_failure_rate(0.15), Band::Medium);
        assert_eq!(change_failure_rate(0.151), Band::Low);
        assert_eq!(deployment_frequency(5.0, false), Band::Elite);
        assert_eq!(deployment_frequency(1.0, false), Band::High);
        assert_eq!(deployment_frequency(0.5, true), Band::Medium);
        assert_eq!(deployment_frequency(0.0, false), Band::Low);
    }
}
