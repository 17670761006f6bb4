//! Operational load (health.md), from the incidents already stored: how
//! many a team's services had, how many were detected outside the team's
//! working time, and how long they lasted. A proxy for on-call burden and
//! incident fatigue — of a team, never of a person.

use crate::input::{Scope, Window};
use lantern_events::{Incident, MICROS_PER_DAY, Timestamp};
use serde::Serialize;

/// A team's working time: [start, end) on its working days, in its time
/// zone (the catalog's `timezone`, `working_hours`, `working_days`;
/// UTC, 09:00–18:00, Monday to Friday by default).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkingTime {
    pub zone: jiff::tz::TimeZone,
    /// Minutes after local midnight.
    pub start_minute: u32,
    pub end_minute: u32,
    /// Monday first.
    pub days: [bool; 7],
}

impl Default for WorkingTime {
    fn default() -> Self {
        WorkingTime {
            zone: jiff::tz::TimeZone::UTC,
            start_minute: 9 * 60,
            end_minute: 18 * 60,
            days: [true, true, true, true, true, false, false],
        }
    }
}

impl WorkingTime {
    /// The catalog's words: an IANA time zone (`Europe/Berlin`, from the
    /// system's tz database), `HH:MM-HH:MM`, and day names (`Mon` … `Sun`);
    /// each absent one is its default. The error says which is wrong.
    pub fn parse(
        timezone: Option<&str>,
        hours: Option<&str>,
        days: Option<&[String]>,
    ) -> Result<Self, String> {
        let mut w = WorkingTime::default();
        if let Some(name) = timezone {
            w.zone = jiff::tz::TimeZone::get(name).map_err(|e| {
                format!("timezone `{name}` is not a time zone of the system's tz database (e.g. Europe/Berlin; on a minimal system install tzdata): {e}")
            })?;
        }
        if let Some(text) = hours {
            let minute = |hm: &str| -> Option<u32> {
                let (h, m) = hm.trim().split_once(':')?;
                let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
                (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
            };
            let parsed = text
                .split_once('-')
                .and_then(|(a, b)| Some((minute(a)?, minute(b)?)));
            match parsed {
                Some((start, end)) if start < end => (w.start_minute, w.end_minute) = (start, end),
                _ => {
                    return Err(format!(
                        "working_hours `{text}` is not HH:MM-HH:MM with the start before the end (e.g. 09:00-18:00)"
                    ));
                }
            }
        }
        if let Some(list) = days {
            const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
            w.days = [false; 7];
            for d in list {
                let Some(i) = NAMES
                    .iter()
                    .position(|n| d.trim().to_lowercase().starts_with(n))
                else {
                    return Err(format!(
                        "working_days: `{d}` is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"
                    ));
                };
                w.days[i] = true;
            }
        }
        Ok(w)
    }

    /// Whether `t` falls in working time, in the team's time zone (its
    /// offset at that instant, summer time included).
    pub fn contains(&self, t: Timestamp) -> bool {
        let Ok(at) = jiff::Timestamp::from_microsecond(t.micros()) else {
            return false;
        };
        let local = at.to_zoned(self.zone.clone());
        let day = local.weekday().to_monday_zero_offset() as usize;
        let minute = u32::from(local.hour() as u8) * 60 + u32::from(local.minute() as u8);
        self.days[day] && self.start_minute <= minute && minute < self.end_minute
    }
}

/// health.md's operational load of a team over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperationalLoad {
    /// Incidents of the team's services that started in the window.
    pub incidents: u64,
    pub per_week: f64,
    pub out_of_hours: OutOfHours,
    /// Σ (min(resolved_at, to, now) − started_at), in hours.
    pub incident_hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutOfHours {
    /// Detected (`detected_at`, else `started_at`) outside working time.
    pub count: u64,
    /// Of the incidents; `null` without any.
    pub share: Option<f64>,
}

/// The load of `scope`'s incidents (its `service` or one of its
/// `services` is the scope's) over `window`; `now` bounds incidents still
/// open (the engine reads no clock).
pub fn operational_load(
    incidents: &[Incident],
    scope: &Scope,
    window: Window,
    now: Timestamp,
    working: &WorkingTime,
) -> OperationalLoad {
    let mut count = 0u64;
    let mut outside = 0u64;
    let mut micros = 0i128;
    for i in incidents
        .iter()
        .filter(|i| window.contains(i.started_at) && i.affected().any(|s| scope.contains(s)))
    {
        count += 1;
        if !working.contains(i.detected_at.unwrap_or(i.started_at)) {
            outside += 1;
        }
        let end = i.resolved_at.unwrap_or(window.to).min(window.to).min(now);
        micros += i128::from(end.micros() - i.started_at.micros());
    }
    let span = (window.to.micros() - window.from.micros()) as f64;
    OperationalLoad {
        incidents: count,
        per_week: count as f64 * 7.0 * MICROS_PER_DAY as f64 / span,
        out_of_hours: OutOfHours {
            count: outside,
            share: (count > 0).then(|| outside as f64 / count as f64),
        },
        incident_hours: micros as f64 / 3_600_000_000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_events::{EventId, Name};
    use std::collections::BTreeSet;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn berlin() -> WorkingTime {
        WorkingTime {
            zone: jiff::tz::TimeZone::get("Europe/Berlin").unwrap(),
            ..WorkingTime::default()
        }
    }

    #[test]
    fn the_catalogs_words_parse_or_say_what_is_wrong() {
        let w = WorkingTime::parse(
            Some("America/New_York"),
            Some("08:30-17:00"),
            Some(&["Sun".into(), "Monday".into()]),
        )
        .unwrap();
        assert_eq!((w.start_minute, w.end_minute), (510, 1020));
        assert_eq!(w.days, [true, false, false, false, false, false, true]);
        for (zone, hours, day, said) in [
            (Some("Mars/Olympus"), None, None, "timezone `Mars/Olympus`"),
            (None, Some("18:00-09:00"), None, "start before the end"),
            (None, Some("9-17"), None, "HH:MM-HH:MM"),
            (None, None, Some("Funday"), "`Funday` is not a day"),
        ] {
            let days = day.map(|d: &str| vec![d.to_string()]);
            let e = WorkingTime::parse(zone, hours, days.as_deref()).unwrap_err();
            assert!(e.contains(said), "{e}");
        }
    }

    #[test]
    fn working_time_is_the_teams_local_time_summer_time_included() {
        let w = berlin();
        // 08:30 UTC is 09:30 in Berlin in winter, 10:30 in summer.
        assert!(w.contains(t("2026-01-12T08:30:00Z")));
        // 07:30 UTC: 08:30 in winter (before nine), 09:30 in summer.
        assert!(!w.contains(t("2026-01-12T07:30:00Z")));
        assert!(w.contains(t("2026-07-13T07:30:00Z")));
        // 17:00 UTC: 18:00 in winter (the end is not included).
        assert!(!w.contains(t("2026-01-12T17:00:00Z")));
        // A Saturday.
        assert!(!w.contains(t("2026-01-10T10:00:00Z")));
        // UTC by default.
        assert!(WorkingTime::default().contains(t("2026-01-12T09:00:00Z")));
        assert!(!WorkingTime::default().contains(t("2026-01-12T08:59:59Z")));
    }

    fn incident(
        id: &str,
        service: &str,
        started: &str,
        detected: Option<&str>,
        resolved: Option<&str>,
    ) -> Incident {
        Incident {
            id: EventId::parse(id).unwrap(),
            service: Name::parse(service).unwrap(),
            services: Vec::new(),
            started_at: t(started),
            detected_at: detected.map(t),
            acknowledged_at: None,
            resolved_at: resolved.map(t),
            severity: None,
            cause: None,
            caused_by: None,
            caused_by_sha: None,
            title: None,
        }
    }

    #[test]
    fn load_counts_the_teams_incidents_and_their_hours() {
        let team = Scope::Team {
            name: Name::parse("payments").unwrap(),
            services: BTreeSet::from([Name::parse("checkout").unwrap()]),
        };
        let w = Window::new(t("2026-01-05T00:00:00Z"), t("2026-01-19T00:00:00Z")).unwrap();
        let list = vec![
            // In hours (Berlin 10:00), two hours.
            incident(
                "a",
                "checkout",
                "2026-01-06T09:00:00Z",
                None,
                Some("2026-01-06T11:00:00Z"),
            ),
            // Detected at night (Berlin 02:00), still open: until now.
            incident(
                "b",
                "checkout",
                "2026-01-17T23:00:00Z",
                Some("2026-01-18T01:00:00Z"),
                None,
            ),
            // Another team's; one before the window.
            incident("c", "search-api", "2026-01-07T09:00:00Z", None, None),
            incident("d", "checkout", "2026-01-04T09:00:00Z", None, None),
        ];
        let now = t("2026-01-18T05:00:00Z");
        let load = operational_load(&list, &team, w, now, &berlin());
        assert_eq!(load.incidents, 2);
        assert_eq!(load.per_week, 1.0);
        assert_eq!(
            load.out_of_hours,
            OutOfHours {
                count: 1,
                share: Some(0.5)
            }
        );
        assert_eq!(load.incident_hours, 2.0 + 6.0);
    }
}
