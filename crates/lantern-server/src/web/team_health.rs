//! The team page's health sections (health.md): strain said in words —
//! which facts hold, never a score — and the improvement experiments with
//! their baseline, current value and verdict, and the form to add one.

use super::chart::Marker;
use super::page::{self, day};
use crate::extract::{Form, Path};
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::team_health as api;
use crate::state::AppState;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Redirect, Response};
use lantern_app::experiments::ExperimentJson;
use lantern_app::team_health::Strain;
use lantern_events::{MICROS_PER_DAY, Timestamp};
use lantern_store::Experiment;
use maud::{Markup, html};
use serde::Deserialize;

/// Strain, in words.
pub fn strain(strain: &Strain) -> Markup {
    html! {
        section aria-labelledby="strain" data-strain=(strain.holds) {
            h2 id="strain" { "Strain" }
            p { "Two facts, checked at " (strain.at) ". Lantern names strain only when both hold; it is a prompt for a conversation, never a score, and never compared across teams." }
            ul {
                @for s in lantern_app::team_health::sentences(strain) { li { (s) } }
            }
        }
    }
}

/// The running experiments' planned dips, as shaded spans on the charts of
/// the metric each names (`deployment_frequency.per_day` → its chart).
pub fn planned(running: &[Experiment], metric: &str) -> Vec<Marker> {
    running
        .iter()
        .filter(|e| {
            e.expect_dip
                .iter()
                .any(|p| p.split('.').next() == Some(metric))
        })
        .map(|e| Marker {
            from: e.from,
            to: Some(e.review),
            kind: "planned".into(),
            label: format!("planned: {} (experiment {})", e.constraint, e.id),
        })
        .collect()
}

/// What a card says beside its change while an experiment expects the
/// metric to dip: "expected: <constraint>".
pub fn expected(running: &[Experiment], metric: &str) -> Option<String> {
    let names: Vec<&str> = running
        .iter()
        .filter(|e| {
            e.expect_dip
                .iter()
                .any(|p| p.split('.').next() == Some(metric))
        })
        .map(|e| e.constraint.as_str())
        .collect();
    (!names.is_empty()).then(|| format!("expected: {}", names.join("; ")))
}

fn value(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |v| format!("{v:.4}"))
}

/// The experiments and, for the team's members and admins, the form.
pub fn experiments(p: &Principal, team: &str, list: &[ExperimentJson], may_add: bool) -> Markup {
    let today = day(Timestamp::now());
    let review = day(Timestamp::now().plus_micros(42 * MICROS_PER_DAY));
    html! {
        section aria-labelledby="experiments" data-experiments {
            h2 id="experiments" { "Improvement experiments" }
            p { "A commitment to move one indicator against the team's biggest constraint, judged against the same span just before it began (5 % either way counts as a change)." }
            @if list.is_empty() {
                p.empty { "No experiment yet." }
            } @else {
                table.experiments {
                    thead { tr {
                        th scope="col" { "Constraint" } th scope="col" { "Indicator" } th scope="col" { "Span" }
                        th scope="col" { "Baseline" } th scope="col" { "Current" } th scope="col" { "Verdict" } th scope="col" { "Status" }
                    } }
                    tbody {
                        @for e in list {
                            tr data-experiment=(e.id) {
                                td { (e.constraint)
                                    @if !e.expect_dip.is_empty() { br; small { "expected to dip: " (e.expect_dip.join(", ")) } } }
                                td { code { (e.indicator) } " " (e.direction) }
                                td { (&e.from[..10]) " to " (&e.review[..10]) }
                                td data-baseline=[e.baseline] { (value(e.baseline)) }
                                td data-current=[e.current] { (value(e.current)) }
                                td data-verdict=(serde_json::to_value(e.verdict).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) {
                                    (serde_json::to_value(e.verdict).ok().and_then(|v| v.as_str().map(|s| s.replace('_', " "))).unwrap_or_default())
                                    @if let Some(w) = &e.withheld { br; small { "withheld: " (w) } }
                                }
                                td { (e.status)
                                    @if may_add && e.status != "ended" && e.status != "reviewed" {
                                        form.inline method="post" action={ "/experiments/" (e.id) "/end" } {
                                            (page::token_field(p))
                                            button type="submit" { "End" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if may_add {
                (experiment_form(p, team, &ExperimentForm {
                    from: today,
                    review,
                    direction: "down".into(),
                    ..Default::default()
                }))
            }
        }
    }
}

/// The form to add an experiment, holding `f` (what was sent, when it
/// was refused: nothing typed is lost).
fn experiment_form(p: &Principal, team: &str, f: &ExperimentForm) -> Markup {
    html! {
        form.experiment method="post" action={ "/teams/" (page::segment(team)) "/experiments" } {
            (page::token_field(p))
            h3 { "Commit to an experiment" }
            label { "The constraint " input type="text" name="constraint" required maxlength="200" placeholder="PRs wait for review" value=(f.constraint); }
            label { "Indicator (a report path) " input type="text" name="indicator" required placeholder="pr_stages.pickup.median_s" value=(f.indicator); }
            label { "It should go "
                select name="direction" {
                    option value="down" selected[f.direction == "down"] { "down" }
                    option value="up" selected[f.direction == "up"] { "up" }
                } }
            label { "From " (page::date_input("from", &f.from, true)) }
            label { "Review on " (page::date_input("review", &f.review, true)) }
            label { "Expected to dip meanwhile (optional, comma-separated) " input type="text" name="expect_dip" placeholder="deployment_frequency.per_day" value=(f.expect_dip.as_deref().unwrap_or("")); }
            button type="submit" { "Add the experiment" }
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExperimentForm {
    constraint: String,
    indicator: String,
    direction: String,
    from: String,
    review: String,
    expect_dip: Option<String>,
}

/// Adds an experiment from the team page, through the API's handler.
pub async fn add_experiment(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(team): Path<String>,
    Form(f): Form<ExperimentForm>,
) -> Result<Response, Problem> {
    let sent = f.clone();
    let request = api::ExperimentRequest {
        team: team.clone(),
        constraint: f.constraint,
        indicator: f.indicator,
        direction: f.direction,
        from: f.from,
        review: f.review,
        expect_dip: f
            .expect_dip
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    };
    let outcome = api::add_experiment(
        State(state.clone()),
        Extension(p.clone()),
        crate::extract::JsonBody(request),
    )
    .await;
    match outcome {
        Ok(_) => Ok(
            Redirect::to(&format!("/teams/{}#experiments", page::segment(&team))).into_response(),
        ),
        Err(problem) if super::context::about_the_input(&problem) => {
            Ok(super::context::refused_form(
                &state,
                &p,
                "The experiment was not added",
                &problem,
                experiment_form(&p, &team, &sent),
            ))
        }
        Err(problem) => Err(problem),
    }
}

/// Ends an experiment from the team page.
pub async fn end_experiment(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Response, Problem> {
    let axum::Json(e) = api::end_experiment(State(state), Extension(p), Path(id)).await?;
    Ok(Redirect::to(&format!("/teams/{}#experiments", page::segment(&e.team))).into_response())
}
