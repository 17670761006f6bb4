//! Workflow health (hygiene.md, seed 001's third layer, under outcomes and
//! reliability): the signals that explain the DORA figures, a banner when
//! a service's deployment events may be missing (F1) — so nobody reads a
//! silent source as a slow team — and the data-health page that lists every
//! fault with its fix, as `lantern doctor` does.

use super::page::{self, WindowParams};
use crate::extract::Query;
use crate::policy::Principal;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::{Extension, State};
use axum::response::Html;
use lantern_app::doctor::{Checkup, Focus};
use lantern_app::format::duration;
use lantern_app::report::{BucketReport, Reader};
use lantern_engine::Report;
use lantern_events::Timestamp;
use maud::{Markup, html};

/// Above a scope's figures: its services whose deployment events stopped
/// (F1) or of which nothing was heard for days (F7).
pub fn banner(report: &Report) -> Markup {
    let q = &report.data_quality;
    html! {
        @for s in &q.silent_services {
            p.banner role="alert" data-silent=(s.service) {
                strong { (s.service) } ": deployment events may be missing since "
                (s.last_deployment) "; check the CI hook before reading these figures as a slow team."
            }
        }
        @for g in &q.gaps {
            p.banner role="alert" data-gap=(g.service) {
                strong { (g.service) } ": nothing was received from " (g.from) " to " (g.to)
                "; events may have been lost, so these figures may be too low."
            }
        }
    }
}

fn share(v: Option<f64>) -> String {
    v.map(|r| format!("{:.0} %", r * 100.0))
        .unwrap_or_else(|| "no data".into())
}

/// Under the DORA cards: what explains them.
pub fn panel(report: &Report, buckets: &[BucketReport]) -> Markup {
    let s = &report.signals;
    let q = &report.data_quality;
    let findings = q.findings();
    let per_bucket: Vec<Option<f64>> = buckets
        .iter()
        .map(|b| b.figures().and_then(|r| r.signals.pipeline_success_rate))
        .collect();
    html! {
        section aria-labelledby="workflow" {
            h2 id="workflow" { "Workflow health" }
            p { "What explains the figures above: how deployments are made, how CI behaves, and whether the data can be trusted. "
                a href="/data-health" { "Every service's data health" } }
            div.cards {
                article.card data-signal="automated_share" {
                    h3 { "Automated deployments" }
                    p.value { (share(s.automated_share)) }
                    p.sub { (s.automated_unknown) " without a say" }
                }
                article.card data-signal="rollback_rate" {
                    h3 { "Rollbacks" }
                    p.value { (share(s.rollback_rate)) }
                    p.sub { "of the deployments in the window" }
                }
                article.card data-signal="pipeline_success_rate" {
                    h3 { "CI first-attempt success" }
                    p.value { (share(s.pipeline_success_rate)) }
                    p.sub { (q.flaky_runs) " flaky runs" }
                    (page::svg(super::chart::sparkline("CI first-attempt success by bucket", &per_bucket)))
                }
                article.card data-signal="time_in_ci" {
                    h3 { "Time in CI" }
                    p.value { (s.time_in_ci.median_s.map(duration).unwrap_or_else(|| "no data".into())) }
                    p.sub { "median of " (s.time_in_ci.count) " successful runs" }
                }
            }
            @if findings.is_empty() {
                p { "No fault found in this window's data." }
            } @else {
                ul.warnings {
                    @for f in &findings { li data-check=(f.check) { (f.text) } }
                }
            }
        }
    }
}

/// `/data-health`: every fault, by scope, for what this reader may see.
pub async fn data_health_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(params): Query<WindowParams>,
) -> Result<Html<String>, Problem> {
    let window = params.window(Timestamp::now())?;
    let reader = p.clone();
    let checkup = state
        .with_store(move |store, state| {
            Ok(lantern_app::doctor::check(
                store,
                state.app(),
                Reader::Grant(&reader.grant),
                &Focus::Everything,
                window,
            )?)
        })
        .await?;
    let body = render(&checkup);
    Ok(page::shell(&state, Some(&p), "Data health", body))
}

fn render(c: &Checkup) -> Markup {
    html! {
        h1 { "Data health" }
        p.lede { "Faults in the data from " (c.from) " to " (c.to) ", each with its fix. "
            "The same list as " code { "lantern doctor" } ", which exits 1 while there is one." }
        @if c.faults() == 0 {
            p { "No fault found." }
        }
        @for s in &c.scopes {
            @if let Some(why) = &s.withheld {
                section.scope data-scope=(s.scope) {
                    h2 { (s.scope) }
                    p { "Withheld: " (why) }
                }
            } @else if !s.findings.is_empty() {
                section.scope data-scope=(s.scope) {
                    h2 { (s.scope) }
                    ul.warnings {
                        @for f in &s.findings { li data-check=(f.check) { (f.text) } }
                    }
                }
            }
        }
    }
}

/// A team's operational load (health.md): its incidents, how many were
/// detected outside its working time, and their hours — in words, a
/// prompt for a conversation about on-call burden, never a score.
pub fn operational_load(
    load: &lantern_engine::load::OperationalLoad,
    working: &lantern_engine::load::WorkingTime,
) -> Markup {
    use lantern_app::format::{decimals, plural};
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let days: Vec<&str> = DAYS
        .iter()
        .zip(working.days)
        .filter(|(_, on)| *on)
        .map(|(d, _)| *d)
        .collect();
    let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
    let zone = working.zone.iana_name().unwrap_or("UTC");
    html! {
        section aria-labelledby="load" data-load {
            h2 id="load" { "Operational load" }
            p {
                (plural(load.incidents, "incident", "incidents")) " of the team's services started in this window ("
                (decimals(load.per_week, 2)) " a week), "
                (decimals(load.incident_hours, 1)) " incident hours in all. "
                @match load.out_of_hours.share {
                    Some(share) => {
                        (load.out_of_hours.count) " detected outside working time ("
                        (decimals(share * 100.0, 1)) " %)."
                    }
                    None => "None to be detected outside working time.",
                }
            }
            p.note { "Working time: " (hm(working.start_minute)) "–" (hm(working.end_minute)) ", " (days.join(", ")) ", " (zone) " (the catalog's timezone, working_hours, working_days). A proxy for on-call burden, of the team, never of a person." }
        }
    }
}
