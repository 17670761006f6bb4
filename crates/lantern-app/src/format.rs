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

#[cfg(test)]
mod tests {
    use super::*;

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
