//! Figures as people read them, the same in the CLI's tables and on the
//! dashboard's pages.

/// A duration in seconds, in the largest unit that keeps it readable:
/// "30 seconds", "45 minutes", "3.3 hours", "1.5 days".
pub fn duration(seconds: f64) -> String {
    let (n, one, many) = if seconds.abs() < 90.0 {
        (seconds, "second", "seconds")
    } else if seconds.abs() < 90.0 * 60.0 {
        (seconds / 60.0, "minute", "minutes")
    } else if seconds.abs() < 36.0 * 3600.0 {
        (seconds / 3600.0, "hour", "hours")
    } else {
        (seconds / 86_400.0, "day", "days")
    };
    let n = decimals(n, 1);
    format!("{n} {}", if n == "1" { one } else { many })
}

/// `value` with at most `digits` decimals, without trailing zeros.
pub fn decimals(value: f64, digits: usize) -> String {
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `n` and its noun, singular only for exactly one: "1 deployment",
/// "0 deployments", "2.5 days".
pub fn plural(n: impl std::fmt::Display, one: &str, many: &str) -> String {
    let n = n.to_string();
    format!("{n} {}", if n == "1" { one } else { many })
}

/// How every front end states a window: the first day and the day it
/// ends before, said so — "2026-09-02 to 2026-12-01 (exclusive), 90 UTC
/// days". A bound that is not a UTC midnight is printed to the second.
pub fn window(window: &lantern_engine::Window) -> String {
    let bound = |t: lantern_events::Timestamp| {
        let text = t.to_rfc3339();
        match text.strip_suffix("T00:00:00Z") {
            Some(date) => date.to_string(),
            None => lantern_events::Timestamp::from_micros(
                t.micros() - t.micros().rem_euclid(1_000_000),
            )
            .to_rfc3339(),
        }
    };
    let days = window.days();
    let span = match days.fract() == 0.0 {
        true => format!("{} UTC {}", days, if days == 1.0 { "day" } else { "days" }),
        false => format!("{} days", decimals(days, 1)),
    };
    format!(
        "{} to {} (exclusive), {span}",
        bound(window.from),
        bound(window.to)
    )
}

/// A day as every front end writes it: YYYY-MM-DD (UTC).
pub fn day(t: lantern_events::Timestamp) -> String {
    t.date().format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_nothing_else_is() {
        assert_eq!(plural(1, "incident", "incidents"), "1 incident");
        assert_eq!(plural(0, "incident", "incidents"), "0 incidents");
        assert_eq!(plural(1.5, "day", "days"), "1.5 days");
        assert_eq!(plural(1.0, "day", "days"), "1 day");
    }

    #[test]
    fn windows_say_their_end_is_exclusive() {
        use lantern_engine::Window;
        use lantern_events::Timestamp;
        let w =
            Window::from_bounds(Some("2026-09-02"), Some("2026-12-01"), Timestamp::now()).unwrap();
        assert_eq!(
            window(&w),
            "2026-09-02 to 2026-12-01 (exclusive), 90 UTC days"
        );
        let w =
            Window::from_bounds(Some("2026-11-30"), Some("2026-12-01"), Timestamp::now()).unwrap();
        assert_eq!(
            window(&w),
            "2026-11-30 to 2026-12-01 (exclusive), 1 UTC day"
        );
        let w = Window::from_bounds(
            Some("2026-11-30T06:00:00.123456Z"),
            Some("2026-12-01"),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(
            window(&w),
            "2026-11-30T06:00:00Z to 2026-12-01 (exclusive), 0.7 days"
        );
    }

    #[test]
    fn durations_read_in_seconds_minutes_hours_and_days() {
        assert_eq!(duration(30.0), "30 seconds");
        assert_eq!(duration(1.0), "1 second");
        assert_eq!(duration(45.0 * 60.0), "45 minutes");
        assert_eq!(duration(3600.0), "60 minutes");
        assert_eq!(duration(3600.0 * 3.3), "3.3 hours");
        assert_eq!(duration(3.0 * 3600.0 + 1200.0), "3.3 hours");
        assert_eq!(duration(86_400.0 * 2.0), "2 days");
        assert_eq!(duration(86_400.0 * 1.5), "1.5 days");
    }

    #[test]
    fn decimals_drop_trailing_zeros() {
        assert_eq!(decimals(2.0, 2), "2");
        assert_eq!(decimals(12.50, 1), "12.5");
        assert_eq!(decimals(0.126, 2), "0.13");
    }
}
