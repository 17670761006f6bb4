//! The flow panel (flow.md) on the team and service pages, beside the
//! lead-time stages: finished work by kind, flow time, how much of it was
//! active, and work in progress over time — so a ticket waiting in review
//! and a pull request waiting for a reviewer read as one story. And the
//! organisation page's flow distribution per team, alphabetical.

use super::chart::{self, Unit, format_value};
use super::page::svg;
use lantern_app::flow::{FlowAnswer, TeamsFlow};
use lantern_app::format::{decimals, plural};
use lantern_engine::ScopeJson;
use lantern_engine::flow::FlowReport;
use maud::{Markup, html};

const KINDS: [&str; 4] = ["features", "defects", "risks", "debt"];

fn kinds(f: &FlowReport) -> [(&'static str, Option<f64>); 4] {
    let k = &f.flow_velocity.by_kind;
    [
        (KINDS[0], k.feature),
        (KINDS[1], k.defect),
        (KINDS[2], k.risk),
        (KINDS[3], k.debt),
    ]
    .map(|(name, n)| (name, Some(n as f64)))
}

fn share(v: Option<f64>) -> String {
    v.map(|v| format_value(Unit::Share, v))
        .unwrap_or_else(|| "–".into())
}

/// Whether the scope has any work item in flow or finished in the window.
fn has_work(f: &FlowReport) -> bool {
    f.flow_velocity.count > 0 || f.flow_velocity.closed_unstarted > 0 || f.flow_load.max > 0
}

/// The panel of a team's or service's page: its flow over the window, and
/// its load per bucket of the trend (`None` where withheld or empty).
pub fn panel(flow: Option<&FlowReport>, load: &[Option<f64>]) -> Markup {
    let Some(f) = flow else {
        return html! {};
    };
    let v = &f.flow_velocity;
    let t = &f.flow_time;
    html! {
        section aria-labelledby="flow" data-flow-panel {
            h2 id="flow" { "Flow: where work waits before it becomes a commit" }
            p { "The team's work items (tickets, issues), from their first active state to done: the time before the first commit, which lead time cannot see. "
                a href="/docs/metrics#flow_time" { "What these measure" } }
            @if !has_work(f) {
                p.empty { "No work items in this window. Send " code { "work_item" } " and " code { "work_state" } " events to " code { "/hooks/events" } ", or wire Jira, GitHub or GitLab issues (README, \"Flow\")." }
            } @else {
                div.cards {
                    article.card data-flow="flow_velocity" {
                        h3 { "Flow velocity" }
                        p.value { span.flow-figure data-value=(v.count) { (plural(v.count, "item", "items")) " done" } }
                        p.sub { (decimals(v.per_week, 2)) " a week; " (v.closed_unstarted) " closed without starting (not counted)" }
                        (svg(chart::stacked_bar("Finished work by kind", &kinds(f), |n| plural(n as u64, "item", "items"))))
                        ul.legend {
                            @for (i, (name, n)) in kinds(f).iter().enumerate() {
                                li { span class={ "swatch s" (i) } {} (name) ": " (n.unwrap_or(0.0)) }
                            }
                        }
                    }
                    article.card data-flow="flow_time" {
                        h3 { "Flow time" }
                        p.value { (t.median_s.map(|s| format_value(Unit::Duration, s)).unwrap_or_else(|| "nothing done".into())) }
                        p.sub {
                            "median of " (plural(t.count, "item", "items"))
                            @if let (Some(p75), Some(p90)) = (t.p75_s, t.p90_s) {
                                "; p75 " (format_value(Unit::Duration, p75)) ", p90 " (format_value(Unit::Duration, p90))
                            }
                        }
                    }
                    article.card data-flow="flow_efficiency" {
                        h3 { "Flow efficiency" }
                        p.value {
                            @match f.flow_efficiency.ratio {
                                Some(r) => { "active " (share(Some(r))) ", waiting " (share(Some(1.0 - r))) }
                                None => "nothing to measure",
                            }
                        }
                        p.sub { "of the flow time of the items done; waiting is a queue (a review, a build, a handoff), not anyone's idleness" }
                    }
                    article.card data-flow="flow_load" {
                        h3 { "Flow load" }
                        p.value { (decimals(f.flow_load.mean, 1)) " in progress" }
                        p.sub { "on average at each day's end; at most " (f.flow_load.max) ", " (f.flow_load.at_end) " at the window's end" }
                        (svg(chart::sparkline("Flow load by bucket", load)))
                    }
                }
                p.note { "Read with the stages above: pickup and review are waiting too. A ticket waiting in review and a pull request waiting for a reviewer are the same queue." }
            }
        }
    }
}

/// The organisation page's flow distribution: what each team finished, by
/// kind, alphabetically — a mix, never a ranking.
pub fn distribution(teams: &TeamsFlow) -> Markup {
    let any = teams.teams.iter().any(|a| match a {
        FlowAnswer::Figures(d) => has_work(&d.flow),
        FlowAnswer::Suppressed(_) => false,
    });
    if !any {
        return html! {};
    }
    html! {
        section aria-labelledby="flow-distribution" {
            h2 id="flow-distribution" { "What teams finished: flow distribution" }
            p { "The share of each kind among each team's finished work items (flow.md), alphabetically. A mix to discuss, not a score: the right balance depends on the product and the moment." }
            div.table-scroll tabindex="0" role="region" aria-label="Scrollable table" { table.distribution data-flow-distribution {
                thead { tr { th scope="col" { "team" } @for k in KINDS { th scope="col" { (k) } } th scope="col" { "items done" } } }
                tbody {
                    @for a in &teams.teams {
                        @match a {
                            FlowAnswer::Figures(d) => {
                                @let name = match &d.scope { ScopeJson::Team(t) => t.clone(), _ => String::new() };
                                @let dist = &d.flow.flow_distribution;
                                tr data-team=(name) {
                                    th scope="row" { a href={ "/teams/" (super::page::segment(&name)) "#flow" } { (name) } }
                                    @for v in [dist.feature, dist.defect, dist.risk, dist.debt] { td { (share(v)) } }
                                    td { (d.flow.flow_velocity.count) }
                                }
                            }
                            FlowAnswer::Suppressed(s) => {
                                tr { th scope="row" { (match &s.scope { ScopeJson::Team(t) => t.clone(), _ => String::new() }) } td colspan="5" { "withheld: " (s.reason) } }
                            }
                        }
                    }
                }
            } }
        }
    }
}
