//! Whole ISO weeks and calendar months inside a window, and trend buckets.

use crate::input::Window;
use chrono::{Datelike, Months, NaiveDate};
use lantern_events::{MICROS_PER_DAY, Timestamp};

const WEEK: i64 = 7 * MICROS_PER_DAY;

/// The ISO weeks (Monday 00:00 UTC to the next Monday) lying entirely inside W.
pub fn whole_weeks(w: &Window) -> Vec<Window> {
    let mut start = first_boundary_at_or_after(w.from, week_start);
    let mut weeks = Vec::new();
    while start.micros() + WEEK <= w.to.micros() {
        let end = start.plus_micros(WEEK);
        weeks.push(Window {
            from: start,
            to: end,
        });
        start = end;
    }
    weeks
}

/// The calendar months lying entirely inside W.
pub fn whole_months(w: &Window) -> Vec<Window> {
    let mut start = first_boundary_at_or_after(w.from, month_start);
    let mut months = Vec::new();
    loop {
        let end = next_month(start);
        if end > w.to {
            return months;
        }
        months.push(Window {
            from: start,
            to: end,
        });
        start = end;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Day,
    Week,
    Month,
}

impl Bucket {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "day" => Ok(Bucket::Day),
            "week" => Ok(Bucket::Week),
            "month" => Ok(Bucket::Month),
            other => Err(format!("`{other}` is not a bucket; use day, week or month")),
        }
    }
}

/// W cut at day, ISO-week or month boundaries; the first and last bucket
/// are clipped to W.
pub fn buckets(w: &Window, size: Bucket) -> Vec<Window> {
    let floor = |t: Timestamp| match size {
        Bucket::Day => Timestamp::from_date(t.date()),
        Bucket::Week => week_start(t),
        Bucket::Month => month_start(t),
    };
    let next = |t: Timestamp| match size {
        Bucket::Day => t.plus_micros(MICROS_PER_DAY),
        Bucket::Week => t.plus_micros(WEEK),
        Bucket::Month => next_month(t),
    };
    let mut out = Vec::new();
    let mut start = floor(w.from);
    while start < w.to {
        let end = next(start);
        out.push(Window {
            from: start.max(w.from),
            to: end.min(w.to),
        });
        start = end;
    }
    out
}

/// Whether a bucket of `buckets(w, size)` was clipped by W: a week or a
/// month the window holds only part of. Its counts cover fewer days, so
/// a chart marks it instead of drawing a dip.
pub fn is_partial(bucket: &Window, size: Bucket) -> bool {
    let start = match size {
        Bucket::Day => Timestamp::from_date(bucket.from.date()),
        Bucket::Week => week_start(bucket.from),
        Bucket::Month => month_start(bucket.from),
    };
    let end = match size {
        Bucket::Day => start.plus_micros(MICROS_PER_DAY),
        Bucket::Week => start.plus_micros(WEEK),
        Bucket::Month => next_month(start),
    };
    bucket.from != start || bucket.to != end
}

fn week_start(t: Timestamp) -> Timestamp {
    let date = t.date();
    let back = date.weekday().num_days_from_monday() as i64;
    Timestamp::from_date(date).plus_micros(-back * MICROS_PER_DAY)
}

fn month_start(t: Timestamp) -> Timestamp {
    let date = t.date();
    Timestamp::from_date(NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date))
}

fn next_month(month_start: Timestamp) -> Timestamp {
    let date = month_start.date();
    Timestamp::from_date(
        date.checked_add_months(Months::new(1))
            .unwrap_or(NaiveDate::MAX),
    )
}

fn first_boundary_at_or_after(t: Timestamp, floor: fn(Timestamp) -> Timestamp) -> Timestamp {
    let f = floor(t);
    if f == t {
        return t;
    }
    // The boundary after `f`: one past the floor of a point just after it.
    let mut probe = t;
    loop {
        probe = probe.plus_micros(MICROS_PER_DAY);
        let g = floor(probe);
        if g > t {
            return g;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    fn is_monday(t: Timestamp) -> bool {
        t.date().weekday() == Weekday::Mon
    }

    fn w(from: &str, to: &str) -> Window {
        Window::new(
            Timestamp::parse_bound(from).unwrap(),
            Timestamp::parse_bound(to).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn whole_weeks_start_on_monday() {
        // 2026-03-02 is a Monday.
        let weeks = whole_weeks(&w("2026-03-01", "2026-03-17"));
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].from.to_rfc3339(), "2026-03-02T00:00:00Z");
        assert!(weeks.iter().all(|x| is_monday(x.from)));
        assert!(whole_weeks(&w("2026-03-03", "2026-03-09")).is_empty());
        assert_eq!(whole_weeks(&w("2026-03-02", "2026-03-09")).len(), 1);
        assert!(whole_weeks(&w("2026-03-02T00:00:01Z", "2026-03-16T00:00:00Z")).len() == 1);
    }

    #[test]
    fn whole_months() {
        let months = super::whole_months(&w("2026-01-15", "2026-04-01"));
        let starts: Vec<String> = months.iter().map(|m| m.from.to_rfc3339()).collect();
        assert_eq!(starts, ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"]);
        assert!(super::whole_months(&w("2026-01-02", "2026-02-01")).is_empty());
    }

    #[test]
    fn only_clipped_buckets_are_partial() {
        // 2026-03-04 is a Wednesday: the first and last weeks are cut.
        let weeks = buckets(&w("2026-03-04", "2026-03-25"), Bucket::Week);
        let partial: Vec<bool> = weeks.iter().map(|b| is_partial(b, Bucket::Week)).collect();
        assert_eq!(partial, [true, false, false, true]);
        let months = buckets(&w("2026-01-15", "2026-04-01"), Bucket::Month);
        let partial: Vec<bool> = months
            .iter()
            .map(|b| is_partial(b, Bucket::Month))
            .collect();
        assert_eq!(partial, [true, false, false]);
        let days = buckets(&w("2026-01-15T06:00:00Z", "2026-01-17"), Bucket::Day);
        let partial: Vec<bool> = days.iter().map(|b| is_partial(b, Bucket::Day)).collect();
        assert_eq!(partial, [true, false]);
    }

    #[test]
    fn buckets_cover_the_window_exactly() {
        for size in [Bucket::Day, Bucket::Week, Bucket::Month] {
            let win = w("2026-01-15T06:00:00Z", "2026-03-04T12:00:00Z");
            let b = buckets(&win, size);
            assert_eq!(b.first().unwrap().from, win.from);
            assert_eq!(b.last().unwrap().to, win.to);
            assert!(b.windows(2).all(|p| p[0].to == p[1].from));
        }
        assert_eq!(
            buckets(&w("2026-01-15", "2026-03-04"), Bucket::Month).len(),
            3
        );
        assert_eq!(
            buckets(&w("2026-01-15", "2026-01-18"), Bucket::Day).len(),
            3
        );
    }
}
