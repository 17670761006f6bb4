//! Charts as SVG written on the server (issue 6): a metric over time with
//! annotations on its time axis, a sparkline, and the lead-time stages as
//! a stacked bar. Pure functions of the figures: no I/O, no clock, no
//! script. Every chart carries a text alternative (`<title>`, `<desc>`)
//! that says what the picture shows, value by value.

use lantern_app::format::decimals;
use lantern_engine::Window;
use lantern_events::Timestamp;
use std::fmt::Write;

/// What a value measures, for axis labels and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds, shown as minutes, hours or days.
    Duration,
    /// A share from 0 to 1, shown as a percentage.
    Share,
    /// Deployments per day.
    PerDay,
    Count,
}

/// A value as people read it: "45 minutes", "3.2 hours", "12 %".
pub fn format_value(unit: Unit, value: f64) -> String {
    match unit {
        Unit::Duration => lantern_app::format::duration(value),
        Unit::Share => format!("{} %", decimals(value * 100.0, 1)),
        Unit::PerDay => format!("{} a day", decimals(value, 2)),
        Unit::Count => decimals(value, 1),
    }
}

/// Escapes text for SVG and HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One bucket of a series: its window and its value (none when the
/// bucket had nothing to measure).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub bucket: Window,
    pub value: Option<f64>,
    /// Where the point leads: on a service page, that bucket's timeline,
    /// whose deployments each link to the page that explains them.
    pub href: Option<String>,
    /// A week or month the window holds only part of: drawn hollow and
    /// said so, since its counts cover fewer days (no false dip).
    pub partial: bool,
}

impl Point {
    /// " (partial: 3 of 7 days)" for a clipped bucket, else nothing.
    fn partial_note(&self) -> String {
        match self.partial {
            true => format!(
                " (partial: {})",
                lantern_app::format::plural(
                    lantern_app::format::decimals(self.bucket.days(), 1),
                    "day",
                    "days"
                )
            ),
            false => String::new(),
        }
    }
}

/// Something that happened, drawn on the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub from: Timestamp,
    pub to: Option<Timestamp>,
    /// freeze, migration, dispute, incident, …
    pub kind: String,
    pub label: String,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// A metric over time: one point per bucket joined by a line (broken
/// where a bucket has no value), a labelled y axis from zero, the first
/// and last bucket dates on the x axis, and markers as shaded spans.
pub fn line_chart(title: &str, unit: Unit, points: &[Point], markers: &[Marker]) -> String {
    let mut desc = String::new();
    for p in points {
        let v = p
            .value
            .map(|v| format_value(unit, v))
            .unwrap_or_else(|| "nothing to measure".into());
        let _ = write!(desc, "{}{}: {v}. ", day(p.bucket.from), p.partial_note());
    }
    for m in markers {
        let _ = write!(desc, "{} from {}: {}. ", m.kind, day(m.from), m.label);
    }
    // Each point is reachable by Tab and touch and says its value, so the
    // picture is a group of them, not one image (an image's parts are not
    // reachable: axe's nested-interactive).
    let role = match points.iter().any(|p| p.value.is_some()) {
        true => format!(r#"role="group" aria-label="{}""#, escape(title)),
        false => r#"role="img""#.to_string(),
    };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" {role} class="chart"><title>{}</title><desc>{}</desc>"#,
        escape(title),
        escape(desc.trim_end())
    );
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        svg.push_str(
            r#"<text x="50%" y="50%" text-anchor="middle">No data in this window</text></svg>"#,
        );
        return svg;
    };
    let (t0, t1) = (
        first.bucket.from.micros() as f64,
        last.bucket.to.micros() as f64,
    );
    let span = (t1 - t0).max(1.0);
    let x = |t: Timestamp| LEFT + (t.micros() as f64 - t0) / span * (WIDTH - LEFT - RIGHT);
    let max = points
        .iter()
        .filter_map(|p| p.value)
        .fold(0.0_f64, f64::max);
    let ticks = axis_ticks(unit, max);
    let top = ticks.last().map_or(1.0, |t| t.0);
    let y = |v: f64| TOP + (1.0 - v / top) * (HEIGHT - TOP - BOTTOM);

    for m in markers {
        let from = x(m.from).clamp(LEFT, WIDTH - RIGHT);
        let to = x(m.to.unwrap_or(m.from)).clamp(LEFT, WIDTH - RIGHT);
        let _ = write!(
            svg,
            r#"<rect class="marker {}" x="{from:.1}" y="{TOP}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
            escape(&m.kind),
            (to - from).max(2.0),
            HEIGHT - TOP - BOTTOM,
            escape(&format!("{}: {}", m.kind, m.label))
        );
    }
    for (v, label) in &ticks {
        let v = *v;
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(v) + 5.0,
            escape(label),
            y = y(v)
        );
    }
    // A date under every few buckets (at most five), at the bucket's
    // start, in the one format of every page (ISO 8601); a date that
    // would run into the one before is left out.
    const LABEL: f64 = 86.0; // "2026-09-07" at the axis's font size
    let every = points.len().div_ceil(5).max(1);
    let mut right_of_last = f64::NEG_INFINITY;
    for (i, p) in points.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let at = x(p.bucket.from);
        let (anchor, left) = if i == 0 {
            ("start", at)
        } else if at + LABEL / 2.0 > WIDTH {
            ("end", at - LABEL)
        } else {
            ("middle", at - LABEL / 2.0)
        };
        if left < right_of_last + 8.0 {
            continue;
        }
        right_of_last = left + LABEL;
        let _ = write!(
            svg,
            r#"<line class="tick" x1="{at:.1}" x2="{at:.1}" y1="{}" y2="{}"/><text class="axis" x="{at:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 5.0,
            HEIGHT - 10.0,
            day(p.bucket.from),
        );
    }
    let mut path = String::new();
    let mut pen_down = false;
    for p in points {
        let mid = Timestamp::from_micros((p.bucket.from.micros() + p.bucket.to.micros()) / 2);
        match p.value {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    x(mid),
                    y(v)
                );
                let said = format!(
                    "{}{}: {}",
                    day(p.bucket.from),
                    p.partial_note(),
                    format_value(unit, v)
                );
                // The value drawn above the point, shown while it has
                // focus or the pointer (CSS), kept inside the plot.
                let (vx, vy) = (
                    x(mid).clamp(LEFT + 40.0, WIDTH - RIGHT - 40.0),
                    (y(v) - 10.0).max(TOP + 12.0),
                );
                let inner = format!(
                    r#"<circle class="point{}" cx="{:.1}" cy="{:.1}" r="4"/><text class="value" x="{vx:.1}" y="{vy:.1}" text-anchor="middle" aria-hidden="true">{}</text>"#,
                    if p.partial { " partial" } else { "" },
                    x(mid),
                    y(v),
                    escape(&format_value(unit, v))
                );
                match &p.href {
                    Some(href) => {
                        let _ = write!(
                            svg,
                            r#"<a class="pt" href="{}" aria-label="{}">{inner}</a>"#,
                            escape(href),
                            escape(&said)
                        );
                    }
                    None => {
                        let _ = write!(
                            svg,
                            r#"<g class="pt" tabindex="0" role="img" aria-label="{}">{inner}</g>"#,
                            escape(&said)
                        );
                    }
                }
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    if !path.is_empty() {
        let _ = write!(svg, r#"<path class="line" d="{}"/>"#, path.trim_end());
    }
    svg.push_str("</svg>");
    svg
}

/// A small trend line without axes, for a metric's card.
pub fn sparkline(label: &str, values: &[Option<f64>]) -> String {
    let (w, h) = (120.0, 28.0);
    let max = values.iter().flatten().fold(0.0_f64, |a, &b| a.max(b));
    let top = if max > 0.0 { max } else { 1.0 };
    let step = w / (values.len().max(2) - 1) as f64;
    let mut path = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_down { "L" } else { "M" },
                    i as f64 * step,
                    2.0 + (1.0 - v / top) * (h - 4.0)
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="sparkline" role="img" aria-label="{}"><path d="{}"/></svg>"#,
        escape(label),
        path.trim_end()
    )
}

/// Parts of a whole as one bar, each part's width its share of their sum
/// (the lead-time stages; finished work by kind); `text` says a value.
pub fn stacked_bar(
    title: &str,
    stages: &[(&str, Option<f64>)],
    text: impl Fn(f64) -> String,
) -> String {
    let total: f64 = stages
        .iter()
        .filter_map(|(_, v)| *v)
        .filter(|v| *v > 0.0)
        .sum();
    let desc: Vec<String> = stages
        .iter()
        .map(|(name, v)| match v {
            Some(v) => format!("{name}: {}", text(*v)),
            None => format!("{name}: nothing to measure"),
        })
        .collect();
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 40" role="img" class="stages"><title>{}</title><desc>{}</desc>"#,
        escape(title),
        escape(&desc.join("; "))
    );
    let mut x = 0.0;
    for (i, (name, v)) in stages.iter().enumerate() {
        let Some(v) = v.filter(|v| *v > 0.0 && total > 0.0) else {
            continue;
        };
        let width = v / total * WIDTH;
        let _ = write!(
            svg,
            r#"<rect class="stage s{i}" x="{x:.1}" y="0" width="{width:.1}" height="40"><title>{}: {}</title></rect>"#,
            escape(name),
            text(v)
        );
        x += width;
    }
    svg.push_str("</svg>");
    svg
}

/// The y axis's ticks from zero, with their labels: a round step (1, 2 or
/// 5 times a power of ten) in the unit people read — minutes, hours or
/// days for a duration, per cent for a share — so no tick reads "3.75 a
/// day"; at most five steps, the last at or above `max`, every label in
/// the same unit.
fn axis_ticks(unit: Unit, max: f64) -> Vec<(f64, String)> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        0.0
    };
    let (scale, name) = match unit {
        Unit::Duration => match max {
            m if m < 90.0 => (1.0, " s"),
            m if m < 90.0 * 60.0 => (60.0, " min"),
            m if m < 48.0 * 3600.0 => (3600.0, " h"),
            _ => (86_400.0, " d"),
        },
        Unit::Share => (0.01, " %"),
        Unit::PerDay => (1.0, " a day"),
        Unit::Count => (1.0, ""),
    };
    let top = if max > 0.0 { max / scale } else { 1.0 };
    let step = [1.0, 2.0, 5.0]
        .iter()
        .flat_map(|m| (-3..=9).map(move |e| m * 10f64.powi(e)))
        .filter(|step| (top / step).ceil() <= 5.0)
        .fold(f64::INFINITY, f64::min);
    let n = (top / step).ceil().max(1.0) as usize;
    (0..=n)
        .map(|i| {
            let v = i as f64 * step;
            let label = match v == 0.0 {
                true => "0".to_string(),
                false => format!("{}{name}", decimals(v, 3)),
            };
            (v * scale, label)
        })
        .collect()
}

fn day(t: Timestamp) -> String {
    let text = t.to_rfc3339();
    text.get(..10).unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn at(days: i64) -> Timestamp {
        Timestamp::from_micros(1_772_323_200_000_000 + days * DAY)
    }

    #[test]
    fn durations_read_in_minutes_hours_and_days() {
        assert_eq!(format_value(Unit::Duration, 30.0), "30 seconds");
        assert_eq!(format_value(Unit::Duration, 45.0 * 60.0), "45 minutes");
        assert_eq!(format_value(Unit::Duration, 3600.0 * 3.3), "3.3 hours");
        assert_eq!(format_value(Unit::Duration, 3600.0), "60 minutes");
        assert_eq!(format_value(Unit::Duration, 86_400.0 * 2.0), "2 days");
        assert_eq!(format_value(Unit::Duration, 86_400.0 * 1.5), "1.5 days");
        assert_eq!(format_value(Unit::Duration, 1.0), "1 second");
        assert_eq!(format_value(Unit::Share, 0.125), "12.5 %");
        assert_eq!(format_value(Unit::PerDay, 2.0), "2 a day");
    }

    #[test]
    fn axes_step_in_round_numbers_of_one_unit() {
        let labels = |unit, max| -> Vec<String> {
            axis_ticks(unit, max).into_iter().map(|(_, l)| l).collect()
        };
        // 15 a day: steps of 5, never "3.75 a day".
        assert_eq!(
            labels(Unit::PerDay, 15.0),
            ["0", "5 a day", "10 a day", "15 a day"]
        );
        for nothing in [0.0, f64::NAN] {
            let l = labels(Unit::PerDay, nothing);
            assert_eq!(
                (l[0].as_str(), l.last().unwrap().as_str()),
                ("0", "1 a day")
            );
        }
        assert_eq!(labels(Unit::Share, 0.15), ["0", "5 %", "10 %", "15 %"]);
        assert_eq!(
            labels(Unit::Duration, 7.0 * 3600.0),
            ["0", "2 h", "4 h", "6 h", "8 h"]
        );
        assert_eq!(
            labels(Unit::Duration, 40.0 * 60.0),
            ["0", "10 min", "20 min", "30 min", "40 min"]
        );
        // The values sit under their labels.
        let ticks = axis_ticks(Unit::Duration, 7.0 * 3600.0);
        assert_eq!(ticks[1].0, 7200.0);
        assert!(ticks.len() <= 6);
    }

    #[test]
    fn a_line_chart_says_in_words_what_it_draws() {
        let points = vec![
            Point {
                bucket: Window::new(at(0), at(7)).unwrap(),
                value: Some(3600.0 * 5.0),
                href: None,
                partial: false,
            },
            Point {
                bucket: Window::new(at(7), at(14)).unwrap(),
                value: None,
                href: None,
                partial: false,
            },
            Point {
                bucket: Window::new(at(14), at(21)).unwrap(),
                value: Some(86_400.0 * 2.0),
                href: Some("/services/a?from=x&to=y#timeline".into()),
                partial: true,
            },
        ];
        let markers = vec![Marker {
            from: at(8),
            to: Some(at(10)),
            kind: "freeze".into(),
            label: "release <freeze> & more".into(),
        }];
        let svg = line_chart("Lead time, median", Unit::Duration, &points, &markers);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>Lead time, median</title>"));
        assert!(svg.contains("2026-03-01: 5 hours."), "{svg}");
        assert!(svg.contains("2026-03-08: nothing to measure."));
        assert!(
            svg.contains("2026-03-15 (partial: 7 days): 2 days."),
            "{svg}"
        );
        assert_eq!(svg.matches(r#"class="point partial""#).count(), 1);
        assert!(svg.contains("release &lt;freeze&gt; &amp; more"));
        assert!(!svg.contains("<freeze>"), "text is escaped");
        // The gap breaks the line: two moves, no line across it.
        let path = svg.split(r#"class="line" d=""#).nth(1).unwrap();
        let path = &path[..path.find('"').unwrap()];
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert!(!path.contains('L'));
        assert_eq!(svg.matches("<circle").count(), 2);
        // Only the point with a link is one, and its address is escaped;
        // every point is reachable by Tab and says its value.
        assert_eq!(svg.matches("<a ").count(), 1, "{svg}");
        assert!(svg.contains(
            r#"<a class="pt" href="/services/a?from=x&amp;to=y#timeline" aria-label="2026-03-15 (partial: 7 days): 2 days"><circle"#
        ), "{svg}");
        assert!(
            svg.contains(
                r#"<g class="pt" tabindex="0" role="img" aria-label="2026-03-01: 5 hours"><circle"#
            ),
            "{svg}"
        );
        assert!(
            svg.contains(r#"aria-hidden="true">5 hours</text>"#),
            "{svg}"
        );
        assert!(svg.contains(r#"role="group" aria-label="Lead time, median""#));
        // The y axis goes from zero to a round figure above the highest,
        // in round steps of one unit.
        let labels: Vec<&str> = svg
            .split(r#"text-anchor="end">"#)
            .skip(1)
            .map(|t| &t[..t.find('<').unwrap()])
            .collect();
        assert_eq!(labels, ["0", "0.5 d", "1 d", "1.5 d", "2 d"], "{svg}");
        // A date under the buckets, in the pages' one format.
        assert!(svg.contains(">2026-03-01</text>"), "{svg}");
    }

    #[test]
    fn dates_on_the_time_axis_never_run_into_each_other() {
        // A 90-day window from a Saturday, by ISO week: a two-day first
        // bucket, then whole weeks.
        let from = Timestamp::parse_rfc3339("2026-08-22T00:00:00Z").unwrap();
        let w = Window::new(from, from.plus_micros(90 * 86_400_000_000)).unwrap();
        let points: Vec<Point> = lantern_engine::buckets(&w, lantern_engine::Bucket::Week)
            .into_iter()
            .map(|b| Point {
                bucket: b,
                value: Some(1.0),
                href: None,
                partial: false,
            })
            .collect();
        let svg = line_chart("Deployment frequency", Unit::PerDay, &points, &[]);
        let mut spans: Vec<(f64, f64)> = Vec::new();
        for part in svg.split(r#"<text class="axis" x=""#).skip(1) {
            let x: f64 = part[..part.find('"').unwrap()].parse().unwrap();
            let Some(anchor) = part.split(r#"text-anchor=""#).nth(1) else {
                continue;
            };
            let label = &part[part.find('>').unwrap() + 1..part.find('<').unwrap()];
            if label.len() != 10 {
                continue; // a y-axis label
            }
            let left = match &anchor[..anchor.find('"').unwrap()] {
                "start" => x,
                "end" => x - 86.0,
                _ => x - 43.0,
            };
            spans.push((left, left + 86.0));
        }
        assert!(spans.len() >= 3, "{svg}");
        for pair in spans.windows(2) {
            assert!(pair[0].1 < pair[1].0, "{spans:?}");
        }
        assert!(spans.last().unwrap().1 <= WIDTH, "{spans:?}");
    }

    #[test]
    fn empty_charts_say_so() {
        let svg = line_chart("Deployments", Unit::Count, &[], &[]);
        assert!(svg.contains("No data in this window"));
        let svg = sparkline("no deployments", &[None, None]);
        assert!(svg.contains(r#"d="""#));
    }

    #[test]
    fn stages_share_the_bar_by_their_length() {
        let svg = stacked_bar(
            "Lead time by stage",
            &[
                ("coding", Some(3600.0)),
                ("pickup", Some(3600.0)),
                ("review", None),
                ("deploy", Some(7200.0)),
            ],
            lantern_app::format::duration,
        );
        assert!(svg.contains("review: nothing to measure"));
        assert!(svg.contains(r#"width="160.0""#), "{svg}");
        assert!(svg.contains(r#"width="320.0""#));
        assert_eq!(svg.matches("<rect").count(), 3);
    }
}
