//! panels.md on the pages: alert quality, review quality, findings and AI
//! assistance, under the DORA and SLO panels of a team's (and a
//! service's) page, each with its trend by bucket; the organisation page
//! shows the first three as organisation totals only — never per team,
//! as they are for a team's own retrospective.

use super::chart::{self, Unit};
use super::page;
use lantern_app::format::day;
use lantern_app::report::BucketReport;
use lantern_engine::panels::BySeverity;
use lantern_engine::{Report, Stats};
use maud::{Markup, html};

fn share(v: Option<f64>) -> String {
    v.map(|r| chart::format_value(Unit::Share, r))
        .unwrap_or_else(|| "no data".into())
}

/// A figure exactly, for programs reading the page (`data-value`).
fn raw(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn median(s: &Stats) -> String {
    s.median_s
        .map(|m| chart::format_value(Unit::Duration, m))
        .unwrap_or_else(|| "no data".into())
}

/// One panel's trend: a sparkline and, for screen readers, the keyboard
/// and touch, every value as a table.
fn trend(
    title: &str,
    unit: Unit,
    buckets: &[BucketReport],
    value: fn(&Report) -> Option<f64>,
) -> Markup {
    if buckets.is_empty() {
        return html! {};
    }
    let values: Vec<Option<f64>> = buckets
        .iter()
        .map(|b| b.figures().and_then(value))
        .collect();
    html! {
        (page::svg(chart::sparkline(&format!("{title} by bucket"), &values)))
        details.chart-table {
            summary { (title) ": the values by bucket" }
            table {
                thead { tr { th scope="col" { "from" } th scope="col" { (title) } } }
                tbody {
                    @for (b, v) in buckets.iter().zip(&values) {
                        tr {
                            td { (b.window().from.get(..10).unwrap_or(&b.window().from)) }
                            td { @match (b.figures(), v) {
                                (None, _) => "withheld",
                                (Some(_), Some(v)) => (chart::format_value(unit, *v)),
                                (Some(_), None) => "nothing to measure",
                            } }
                        }
                    }
                }
            }
        }
    }
}

fn severities(s: &BySeverity) -> Markup {
    html! {
        (s.total()) " (" (s.critical) " critical, " (s.high) " high, " (s.medium) " medium, " (s.low) " low)"
    }
}

fn explain(key: &str) -> Markup {
    html! {
        @if let Some(doc) = lantern_engine::find_metric_doc(key) {
            details {
                summary { "What this measures" }
                p { (doc.measures) }
                p { strong { "It does not measure: " } (doc.does_not_measure) }
                p { a href={ "/docs/metrics#" (key) } { "The full definition, and how it is misread" } }
            }
        }
    }
}

/// The panels of one scope's report; `org` for the organisation's totals.
pub fn panels(report: &Report, buckets: &[BucketReport], org: bool) -> Markup {
    let a = &report.alert_quality;
    let q = &report.review_quality;
    let f = &report.findings;
    html! {
        section aria-labelledby="panels" data-panels {
            h2 id="panels" { @if org { "Across the organisation" } @else { "Alerts, reviews, findings and AI assistance" } }
            p { @if org {
                "Organisation totals only: these panels are for each team's own retrospective, so no team is listed or compared here."
            } @else {
                "Signals for the team's own retrospective, never a ranking: each is about the scope, none about a person."
            } }
            div.cards {
                article.card data-panel="alert_quality" {
                    h3 { "Alert quality" }
                    p.value data-value=(raw(a.noise_share)) { (share(a.noise_share)) " noise" }
                    p.sub { (a.incidents) " incidents · " (a.noise) " fixed themselves within 5 minutes, unacknowledged" }
                    p.sub { (a.acknowledged) " acknowledged, median " (median(&a.time_to_acknowledge)) " after detection · "
                        (share(a.linked_share)) " linked to a deployment" }
                    (trend("Noise share", Unit::Share, buckets, |r| r.alert_quality.noise_share))
                    (explain("alert_quality"))
                }
                article.card data-panel="review_quality" {
                    h3 { "Review quality" }
                    p.value data-value=(raw(q.large_share)) { (share(q.large_share)) " over 400 lines" }
                    p.sub { (q.merged) " merged · median size "
                        (q.size.median_s.map(|m| format!("{} lines", lantern_app::format::decimals(m, 1))).unwrap_or_else(|| "no data".into())) }
                    p.sub { (share(q.reviewed_share)) " reviewed before the merge · " (q.unreviewed) " not" }
                    @if let Some(rate) = report.pr_stages.review_sample_rate {
                        p.note { "Review detail is sampled: the reviewed share rests on " (share(Some(rate))) " of pull requests." }
                    }
                    (trend("Share over 400 lines", Unit::Share, buckets, |r| r.review_quality.large_share))
                    (explain("review_quality"))
                }
                article.card data-panel="findings" {
                    h3 { "Findings" }
                    p.value data-value=(f.open_at_end.total()) { (f.open_at_end.total()) " open at " (day_before(&report.window.to)) }
                    p.sub { "Opened " (severities(&f.opened)) }
                    p.sub { "Fixed " (severities(&f.fixed)) ", median " (median(&f.time_to_fix)) " to fix" }
                    @if !f.top_categories.is_empty() {
                        p.sub { "Most opened: "
                            @for (i, c) in f.top_categories.iter().enumerate() {
                                @if i > 0 { ", " } (c.category) " " (c.count)
                            }
                        }
                    }
                    (trend("Open findings at each bucket's end", Unit::Count, buckets, |r| Some(r.findings.open_at_end.total() as f64)))
                    (explain("findings"))
                }
                @if let Some(ai) = &report.ai_assist {
                    article.card data-panel="ai_assist" {
                        h3 { "AI assistance" }
                        // Never alone: the team's stability beside it.
                        p.value data-value=(raw(ai.acceptance_rate)) { (share(ai.acceptance_rate)) " accepted" }
                        p.sub data-beside=(raw(ai.change_failure_rate)) { "Beside it, the same days: change failure rate " (share(ai.change_failure_rate))
                            " · rework rate " (share(ai.rework_rate)) }
                        p.sub { (ai.days) " days shown · " (ai.suggestions) " suggestions · "
                            (ai.mean_active_users.map(|m| lantern_app::format::decimals(m, 1)).unwrap_or_else(|| "no".into())) " active users a day" }
                        p.note { (ai.note) }
                        (trend("Acceptance rate", Unit::Share, buckets, |r| r.ai_assist.as_ref().and_then(|a| a.acceptance_rate)))
                        (explain("ai_assist"))
                    }
                }
            }
        }
    }
}

/// The last day a window `[from, to)` holds.
fn day_before(to: &str) -> String {
    lantern_events::Timestamp::parse_rfc3339(to)
        .map(|t| day(t.plus_micros(-1)))
        .unwrap_or_else(|_| to.to_string())
}
