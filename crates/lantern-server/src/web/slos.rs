//! The SLO panel of a service's or team's page (slo.md): each SLO's
//! status, budget remaining as a bar, SLI and burn rate over time, firing
//! alerts in words, and for a service what the deploy gate would answer
//! now; the deployments followed by burn beside the DORA figures.

use super::chart::{self, Unit, format_value};
use super::page::svg;
use lantern_app::gate::Decision;
use lantern_app::report::BucketReport;
use lantern_engine::Report;
use lantern_engine::slo::{Severity, SloFigure, SloStatus};
use maud::{Markup, html};

/// A status in words, with a class for its colour (the words carry the
/// meaning).
pub fn status_chip(status: &SloStatus) -> Markup {
    let name = status.status.as_str();
    html! { span class={ "slo slo-" (name) } { (name.replace('_', " ")) } }
}

/// The panel, when the report has SLOs.
pub fn panel(
    report: &Report,
    buckets: &[BucketReport],
    gate: Option<&(Decision, String)>,
) -> Markup {
    let Some(slos) = &report.slos else {
        return html! {};
    };
    let bucket_figure = |name: &str, pick: fn(&SloFigure) -> Option<f64>| -> Vec<Option<f64>> {
        buckets
            .iter()
            .map(|b| {
                b.figures()
                    .and_then(|r| r.slos.as_ref())
                    .and_then(|list| list.iter().find(|f| figure_name(f) == name))
                    .and_then(pick)
            })
            .collect()
    };
    html! {
        section aria-labelledby="slos" {
            h2 id="slos" { "Service level objectives" }
            p { "Whether the service is healthy enough to serve its users, by its own objectives, at the window's end. "
                a href="/docs/metrics#slos" { "What this measures" } }
            @if let Some((decision, reason)) = gate {
                p.gate data-gate=(decision.as_str()) { "The deploy gate would answer " strong { (decision.as_str()) } " now: " (reason) "." }
            }
            div.cards {
                @for figure in slos {
                    @if let SloFigure::Status(s) = figure {
                        article.card data-slo=(s.slo.name) {
                            h3 { (s.slo.name) }
                            p.value { (status_chip(s)) }
                            p.sub { "Objective " (format_value(Unit::Share, s.slo.objective)) " over " (s.slo.window_days) " days; SLI "
                                (s.sli.map(|v| format_value(Unit::Share, v)).unwrap_or_else(|| "–".into())) }
                            @let left = s.budget_remaining;
                            p { "Budget remaining: " (left.map(|v| format_value(Unit::Share, v)).unwrap_or_else(|| "no data".into())) }
                            meter min="0" max="1" value=(left.unwrap_or(0.0).clamp(0.0, 1.0)) aria-label="Error budget remaining" {}
                            @if s.alerts.is_empty() {
                                p.alerts { "No alert is firing." }
                            } @else {
                                ul.alerts {
                                    @for a in &s.alerts {
                                        li { (a.tier) " tier ("
                                            (match a.severity { Severity::Page => "page", Severity::Ticket => "ticket" })
                                            "): the budget burns " (format!("{:.1}", a.long)) "× as fast as allowed over the long window and "
                                            (format!("{:.1}", a.short)) "× over the short one, above the threshold of " (format!("{:.1}", a.threshold)) "." }
                                    }
                                }
                            }
                            (svg(chart::sparkline("SLI by bucket", &bucket_figure(&s.slo.name, sli_of))))
                            (svg(chart::sparkline("Burn rate by bucket", &bucket_figure(&s.slo.name, burn_of))))
                        }
                    }
                }
            }
            @if let Some(b) = &report.deployments_followed_by_burn {
                p data-followed=(b.followed) { "Deployments followed by burn: " (b.followed) " of " (b.deployments)
                    " (their next hour spent budget fast: where to look, not failures)." }
            }
        }
    }
}

fn figure_name(f: &SloFigure) -> &str {
    match f {
        SloFigure::Status(s) => &s.slo.name,
        SloFigure::Bucket { name, .. } => name,
    }
}

fn sli_of(f: &SloFigure) -> Option<f64> {
    match f {
        SloFigure::Bucket { sli, .. } => *sli,
        SloFigure::Status(s) => s.sli,
    }
}

fn burn_of(f: &SloFigure) -> Option<f64> {
    match f {
        SloFigure::Bucket { burn_rate, .. } => *burn_rate,
        SloFigure::Status(_) => None,
    }
}
