//! A report for people (table, markdown) and for programs (json, csv).
//! JSON is exactly the shape of metrics.md; a `heuristics` array follows
//! when figures were inferred (git mode), and with buckets the same object
//! gains a `buckets` array of reports.

use lantern_app::annotations::AnnotationJson;
use lantern_app::format::{decimals, plural};
use lantern_app::report::ReportDocument;
use lantern_engine::{Report, Stats, find_metric_doc};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
    Markdown,
}

/// `heuristics` says which figures were inferred rather than recorded
/// (e.g. deployments read from git tags); CSV, being figures only, leaves
/// it out.
pub fn render(format: Format, doc: &ReportDocument) -> String {
    // The operator sees every bucket; a withheld one (never the CLI's)
    // would have no figures to print.
    let shown: Option<Vec<Report>> = doc
        .buckets
        .as_ref()
        .map(|b| b.iter().filter_map(|b| b.figures().cloned()).collect());
    let (report, buckets) = (&doc.report, shown.as_deref());
    let lines = context_lines(&doc.annotations);
    let pooled: Vec<String> = doc.pooled.iter().map(|p| p.sentence()).collect();
    let (compared_heading, compared) = match &doc.compare {
        Some(c) => lantern_app::compare::lines(c),
        None => (String::new(), Vec::new()),
    };
    match format {
        Format::Json => json(doc),
        Format::Csv => lantern_app::export::report_csv(report, buckets, doc.compare.as_ref()),
        Format::Table => {
            table(report, buckets)
                + &notes(&compared, &format!("\n{compared_heading}\n"), "  ")
                + &notes(&pooled, "\nPooled figures\n", "  ")
                + &notes(&doc.heuristics, "\nFrom heuristics\n", "  ~ ")
                + &notes(&lines, "\nContext (annotations and disputes)\n", "  * ")
        }
        Format::Markdown => {
            markdown(report, buckets)
                + &notes(&compared, &format!("\n**{compared_heading}**\n\n"), "- ")
                + &notes(&pooled, "\n**Pooled figures**\n\n", "- ")
                + &notes(&doc.heuristics, "\n**From heuristics**\n\n", "- ")
                + &notes(&lines, "\n**Context (annotations and disputes)**\n\n", "- ")
        }
    }
}

/// One line per annotation or dispute: when, what, and how it stands.
fn context_lines(context: &[AnnotationJson]) -> Vec<String> {
    context
        .iter()
        .map(|a| {
            let when = match &a.to {
                Some(to) => format!(
                    "{} to {}",
                    &a.from[..10.min(a.from.len())],
                    &to[..10.min(to.len())]
                ),
                None => a.from[..10.min(a.from.len())].to_string(),
            };
            match (&a.metric, a.status) {
                (Some(metric), Some(status)) => format!(
                    "{when}: {status} dispute of {metric}: {}{}",
                    a.title,
                    a.resolution
                        .as_ref()
                        .map(|r| format!(" (resolved: {r})"))
                        .unwrap_or_default()
                ),
                _ => format!("{when}: {}: {}", a.kind, a.title),
            }
        })
        .collect()
}

/// A list under a heading: wrapped to 80 columns for a terminal, or (a
/// Markdown bullet "- ") one item per line, unindented, so that Markdown
/// reads a list and not a code block.
fn notes(heuristics: &[String], heading: &str, bullet: &str) -> String {
    if heuristics.is_empty() {
        return String::new();
    }
    let mut out = heading.to_string();
    for h in heuristics {
        match bullet {
            "- " => {
                let _ = writeln!(
                    out,
                    "- {}",
                    h.split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
            _ => out.push_str(&wrap_text(&format!("{bullet}{h}"), 80, "    ")),
        }
    }
    out
}

/// The report, its keys in the order metrics.md lists them, then the
/// heuristics, annotations and buckets: the same document the API serves.
pub fn json(doc: &ReportDocument) -> String {
    let mut out = serde_json::to_string_pretty(doc).unwrap_or_default();
    out.push('\n');
    out
}

/// A duration as people read it, as the dashboard shows it.
pub fn duration(seconds: f64) -> String {
    lantern_app::format::duration(seconds)
}

fn percent(rate: Option<f64>) -> String {
    rate.map(|r| format!("{:.1} %", r * 100.0))
        .unwrap_or_else(|| "–".into())
}

/// The band a table shows: none below the metric's minimum sample, "no
/// data" without deployments (`lantern_app::rating`).
fn rated(r: &Report, metric: &str) -> String {
    match lantern_app::rating::rating(r, metric) {
        lantern_app::rating::Rating::Unrated => "–".into(),
        shown => shown.label(),
    }
}

fn median(s: &Stats) -> String {
    s.median_s.map(duration).unwrap_or_else(|| "–".into())
}

fn scope_label(r: &Report) -> String {
    match &r.scope {
        lantern_engine::ScopeJson::Service(s) => format!("service {s}"),
        lantern_engine::ScopeJson::Team(t) => format!("team {t}"),
        lantern_engine::ScopeJson::Org(_) => "whole organisation".into(),
    }
}

fn short(ts: &str) -> &str {
    ts.strip_suffix("T00:00:00Z").unwrap_or(ts)
}

/// The five DORA metrics as (title, value, band, doc key).
fn headline(r: &Report) -> Vec<(&'static str, String, String, &'static str)> {
    let df = &r.deployment_frequency;
    let lt = &r.lead_time;
    let cfr = &r.change_failure_rate;
    let rec = &r.failed_deployment_recovery_time;
    let rw = &r.rework_rate;
    vec![
        (
            "Deployment frequency",
            format!(
                "{}, {:.2}/day{}",
                plural(df.count, "deploy", "deploys"),
                df.per_day,
                df.weekly_median_deploy_days
                    .map(|w| format!(", {}/wk", plural(w, "day", "days")))
                    .unwrap_or_default()
            ),
            rated(r, "deployment_frequency"),
            "deployment_frequency",
        ),
        (
            "Lead time for changes",
            match lt.stats.p90_s {
                Some(p90) => format!(
                    "median {}, p90 {} ({})",
                    median(&lt.stats),
                    duration(p90),
                    lt.stats.count
                ),
                None => "no shipped changes".into(),
            },
            rated(r, "lead_time"),
            "lead_time",
        ),
        (
            "Change failure rate",
            format!(
                "{} ({} of {})",
                percent(cfr.rate),
                cfr.failed,
                cfr.deployments
            ),
            rated(r, "change_failure_rate"),
            "change_failure_rate",
        ),
        (
            "Failed deploy recovery",
            if rec.stats.count == 0 && rec.unresolved == 0 {
                "no failed deployments".into()
            } else {
                format!(
                    "median {} ({} recovered, {} open)",
                    median(&rec.stats),
                    rec.stats.count,
                    rec.unresolved
                )
            },
            rated(r, "failed_deployment_recovery_time"),
            "failed_deployment_recovery_time",
        ),
        (
            "Deployment rework rate",
            format!("{} ({} of {})", percent(rw.rate), rw.rework, rw.deployments),
            String::new(),
            "rework_rate",
        ),
    ]
}

fn supporting(r: &Report) -> Vec<(&'static str, String)> {
    let mut rows = supporting_rows(r);
    rows.retain(|(title, value)| !(title.is_empty() && value.is_empty()));
    rows
}

fn supporting_rows(r: &Report) -> Vec<(&'static str, String)> {
    let s = &r.pr_stages;
    vec![
        (
            "Time to restore service",
            format!(
                "median {} ({})",
                median(&r.time_to_restore),
                plural(r.time_to_restore.count, "incident", "incidents")
            ),
        ),
        (
            "Time to detect",
            format!(
                "median {} ({})",
                median(&r.time_to_detect),
                plural(r.time_to_detect.count, "incident", "incidents")
            ),
        ),
        (
            "Deployment success rate",
            format!(
                "{} ({} of {} attempts)",
                percent(r.deployment_success_rate.rate),
                r.deployment_success_rate.succeeded,
                r.deployment_success_rate.attempts
            ),
        ),
        (
            "PR stages (median)",
            format!(
                "coding {} · pickup {}",
                median(&s.coding),
                median(&s.pickup)
            ),
        ),
        (
            "",
            format!(
                "review {} · deploy {}",
                median(&s.review),
                median(&s.deploy)
            ),
        ),
        (
            "",
            match s.review_sample_rate {
                Some(rate) => format!(
                    "pickup and review from the {} of pull requests whose review detail is kept",
                    percent(Some(rate))
                ),
                None => String::new(),
            },
        ),
    ]
    .into_iter()
    .chain(panel_rows(r))
    .collect()
}

/// panels.md's four panels, one line or two each. AI assistance comes
/// with the team's stability beside it, never alone.
fn panel_rows(r: &Report) -> Vec<(&'static str, String)> {
    // Each value fits the 52 columns an 80-column terminal leaves it.
    let a = &r.alert_quality;
    let q = &r.review_quality;
    let f = &r.findings;
    let lines = |s: &Stats| match s.median_s {
        Some(m) => format!("{} lines", decimals(m, 1)),
        None => "—".into(),
    };
    let mut rows = vec![
        (
            "Alert quality",
            format!(
                "{} · noise {} · linked {}",
                plural(a.incidents, "incident", "incidents"),
                percent(a.noise_share),
                percent(a.linked_share)
            ),
        ),
        (
            "",
            format!(
                "{} acknowledged, median {} after",
                a.acknowledged,
                median(&a.time_to_acknowledge)
            ),
        ),
        (
            "Review quality",
            format!(
                "{} merged · median {} · >400 lines {}",
                q.merged,
                lines(&q.size),
                percent(q.large_share)
            ),
        ),
        (
            "",
            format!(
                "reviewed before merge {} · {} not",
                percent(q.reviewed_share),
                q.unreviewed
            ),
        ),
        (
            "Findings",
            format!(
                "opened {} ({} critical, {} high) · fixed {}",
                f.opened.total(),
                f.opened.critical,
                f.opened.high,
                f.fixed.total()
            ),
        ),
        (
            "",
            format!(
                "open at the end {} ({} critical)",
                f.open_at_end.total(),
                f.open_at_end.critical
            ),
        ),
    ];
    let mut top = String::from("most opened:");
    for c in &f.top_categories {
        let next = format!(" {} {},", c.category, c.count);
        if top.chars().count() + next.chars().count() > 52 {
            break;
        }
        top.push_str(&next);
    }
    if top.ends_with(',') {
        top.pop();
        rows.push(("", top));
    }
    if let Some(ai) = &r.ai_assist {
        rows.push((
            "AI assistance",
            format!(
                "{} accepted over {}",
                percent(ai.acceptance_rate),
                plural(ai.days, "day", "days")
            ),
        ));
        rows.push((
            "",
            format!(
                "beside it: change failure {}, rework {}",
                percent(ai.change_failure_rate),
                percent(ai.rework_rate)
            ),
        ));
        rows.push(("", "adoption, not productivity (explain ai_assist)".into()));
    }
    rows
}

/// Data-quality counts in plain words.
pub fn warnings(r: &Report) -> Vec<String> {
    r.data_quality.warnings()
}

pub fn wrap_text(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty()
            && indent.len() + line.chars().count() + 1 + word.chars().count() > width
        {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
    out
}

/// One bucket of a trend: from, deploys, lead time, CFR, recovery, rework.
fn trend_row(x: &Report) -> [String; 6] {
    [
        short(&x.window.from).to_string(),
        x.deployment_frequency.count.to_string(),
        median(&x.lead_time.stats),
        percent(x.change_failure_rate.rate),
        median(&x.failed_deployment_recovery_time.stats),
        percent(x.rework_rate.rate),
    ]
}

/// What a report's heading names: its scope, window (as every front end
/// states it) and benchmark.
fn heading(r: &Report) -> (String, String, &str) {
    let parse = |t: &str| lantern_events::Timestamp::parse_rfc3339(t).ok();
    let window = match (parse(&r.window.from), parse(&r.window.to)) {
        (Some(from), Some(to)) => lantern_engine::Window::new(from, to)
            .map(|w| lantern_app::format::window(&w))
            .unwrap_or_else(|_| format!("{} to {}", r.window.from, r.window.to)),
        _ => format!("{} to {}", r.window.from, r.window.to),
    };
    (scope_label(r), window, r.benchmark)
}

/// The report's SLOs at its end (as `lantern slo status` shows them), and
/// the deployments followed by burn.
fn slo_lines(r: &Report) -> String {
    use lantern_engine::slo::SloFigure;
    let Some(slos) = &r.slos else {
        return String::new();
    };
    let answers: Vec<lantern_app::slos::SloAnswer> = slos
        .iter()
        .filter_map(|f| match f {
            SloFigure::Status(s) => Some(lantern_app::slos::SloAnswer::Figures(s.clone())),
            SloFigure::Bucket { .. } => None,
        })
        .collect();
    let end = lantern_events::Timestamp::parse_rfc3339(&r.window.to).ok();
    let mut out = String::from("\n");
    if let Some(end) = end {
        out.push_str(&crate::slo_cmd::status_table(&answers, end));
    }
    if let Some(b) = &r.deployments_followed_by_burn {
        let _ = writeln!(
            out,
            "Deployments followed by burn: {} of {} (where to look, not failures)",
            b.followed, b.deployments
        );
    }
    out
}

pub fn table(r: &Report, buckets: Option<&[Report]>) -> String {
    let mut out = String::new();
    let (scope, window, benchmark) = heading(r);
    let _ = writeln!(out, "Lantern · {scope} · {window}");
    let _ = writeln!(
        out,
        "Bands from {benchmark}; they describe a delivery system, never a person."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<24} {:<38} band", "DORA metric", "value");
    for (title, value, b, key) in headline(r) {
        let _ = writeln!(out, "{title:<24} {value:<38} {b}");
        if let Some(doc) = find_metric_doc(key) {
            out.push_str(&wrap_text(doc.summary, 80, "  "));
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Supporting signals");
    for (title, value) in supporting(r) {
        let _ = writeln!(out, "  {title:<25} {value}");
    }
    out.push_str(&slo_lines(r));
    let w = warnings(r);
    if !w.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Data quality");
        for line in w {
            out.push_str(&wrap_text(&format!("! {line}"), 80, "  "));
        }
    }
    if let Some(b) = buckets {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<12} {:>7} {:>13} {:>8} {:>11} {:>8}",
            "from", "deploys", "lead time", "CFR", "recovery", "rework"
        );
        for [from, deploys, lead, cfr, recovery, rework] in b.iter().map(trend_row) {
            let _ = writeln!(
                out,
                "{from:<12} {deploys:>7} {lead:>13} {cfr:>8} {recovery:>11} {rework:>8}"
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "`lantern explain METRIC`: what it measures, what it does not, how it is misread."
    );
    out
}

pub fn markdown(r: &Report, buckets: Option<&[Report]>) -> String {
    let (scope, window, benchmark) = heading(r);
    let mut out = format!(
        "## Delivery report: {scope}, {window}\n\n\
         | Metric | Value | Band ({benchmark}) | What it means |\n|---|---|---|---|\n"
    );
    for (title, value, b, key) in headline(r) {
        let summary = find_metric_doc(key).map(|d| d.summary).unwrap_or_default();
        let _ = writeln!(out, "| {title} | {value} | {b} | {summary} |");
    }
    let _ = writeln!(out, "\n| Supporting signal | Value |\n|---|---|");
    for (title, value) in supporting(r) {
        let _ = writeln!(out, "| {title} | {value} |");
    }
    let w = warnings(r);
    if !w.is_empty() {
        let _ = writeln!(out, "\n**Data quality**\n");
        for line in w {
            let _ = writeln!(out, "- {line}");
        }
    }
    if let Some(b) = buckets {
        let _ = writeln!(
            out,
            "\n| From | Deploys | Lead time | CFR | Recovery | Rework |\n|---|---|---|---|---|---|"
        );
        for row in b.iter().map(trend_row) {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
    }
    let _ = writeln!(
        out,
        "\n_Bands describe a service's delivery system, never a person, and never rank teams._"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_lists_are_lists_not_code_blocks() {
        let long = "an annotation long enough to wrap in a terminal ".repeat(3);
        let items = [long.clone(), "short".to_string()];
        let md = notes(&items, "\n**Context**\n\n", "- ");
        let lines: Vec<&str> = md.lines().skip(3).collect();
        assert_eq!(lines.len(), 2, "{md}");
        assert!(lines.iter().all(|l| l.starts_with("- ")), "{md}");
        let table = notes(&items, "\nContext\n", "  * ");
        assert!(
            table.lines().skip(2).all(|l| l.chars().count() <= 80),
            "{table}"
        );
    }

    #[test]
    fn wrapping_keeps_lines_within_width() {
        let text = "word ".repeat(60);
        for line in wrap_text(&text, 80, "  ").lines() {
            assert!(line.chars().count() <= 80);
        }
    }
}
