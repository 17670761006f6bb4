//! How long each kind of data is kept (governance.md rule 5).

use lantern_events::{MICROS_PER_DAY, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Changes, pull requests, deployments, incidents.
    pub raw_days: u32,
    pub dead_letter_days: u32,
    pub audit_days: u32,
    /// The anonymous measurements kept in place of purged raw events.
    pub aggregate_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw_days: 180,
            dead_letter_days: 14,
            audit_days: 730,
            aggregate_days: 5 * 365,
        }
    }
}

/// Where each purge cuts, for a run at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizons {
    /// Raw events before this instant become anonymous measurements. A
    /// whole UTC day, so that hourly runs purge once a day.
    pub raw: Timestamp,
    pub dead_letters: Timestamp,
    pub audit: Timestamp,
    pub aggregates: Timestamp,
}

impl Retention {
    pub fn horizons(&self, now: Timestamp) -> Horizons {
        let days_before = |days: u32| now.plus_micros(-(days as i64) * MICROS_PER_DAY);
        let midnight = |t: Timestamp| {
            Timestamp::from_micros(t.micros().div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY)
        };
        Horizons {
            raw: midnight(days_before(self.raw_days)),
            dead_letters: days_before(self.dead_letter_days),
            audit: days_before(self.audit_days),
            aggregates: midnight(days_before(self.aggregate_days)),
        }
    }
}
