//! One deployment explained (`lantern_app::deployments`): what it shipped
//! and by which rule, the pull requests it took to production, whether it
//! failed and why, and its recovery. Event-level detail: the policy layer
//! lets only the service's team, its reviewers and admins in, and records
//! the read. No author, message or pseudonym is shown.

use super::chart::{Unit, format_value};
use super::page::{self, moment, segment};
use crate::extract::ServiceEvent;
use crate::policy::Principal;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::{Extension, State};
use axum::response::Html;
use lantern_engine::FailureCause;
use lantern_events::Timestamp;
use maud::html;

/// The page of a deployment of `service`.
pub fn href(service: &str, deployment: &str) -> String {
    format!(
        "/services/{}/deployments/{}",
        segment(service),
        segment(deployment)
    )
}

pub async fn deployment_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ServiceEvent(service, id): ServiceEvent,
) -> Result<Html<String>, Problem> {
    let e = crate::routes::detail::explanation(&state, service.clone(), id).await?;
    // Its service's SLOs in the hour after it (slo.md): where to look.
    let finished = Timestamp::parse_rfc3339(&e.finished_at).map_err(Problem::internal)?;
    let for_store = service.clone();
    let burn = state
        .with_store(move |store, state| {
            Ok(lantern_app::slos::burn_after(
                store,
                state.app(),
                &for_store,
                finished,
                Timestamp::now(),
            )?)
        })
        .await?;
    let at = |text: &Option<String>| {
        text.as_deref()
            .and_then(|t| Timestamp::parse_rfc3339(t).ok())
            .map(moment)
            .unwrap_or_else(|| "–".into())
    };
    let rule = match (e.rule, &e.since) {
        ("explicit", _) => "the source listed the changes it shipped".to_string(),
        ("graph", Some(prev)) => {
            format!("the commits its sha reaches that deployment {prev} did not")
        }
        ("graph", None) => "the commits its sha reaches".to_string(),
        _ => "the service's first deployment: a baseline, nothing measurable (rule 3)".to_string(),
    };
    let body = html! {
        h1 { "Deployment " code { (e.deployment) } }
        p.lede { "Of service " a href={ "/services/" (segment(service.as_str())) } { (service) }
            ", finished " (at(&Some(e.finished_at.clone()))) ". Why it counts as it does in the figures." }
        section aria-labelledby="shipped" {
            h2 id="shipped" { "What it shipped" }
            p data-rule=(e.rule) { "What it shipped is " (rule) "." }
            @if e.rule != "baseline" {
                p data-changes=(e.changes) {
                    @if e.changes == 0 { "Nothing new: every change it reaches shipped with an earlier deployment (rule 4)." }
                    @else { (e.changes) " changes, committed from " (at(&e.earliest_commit_at)) " to " (at(&e.latest_commit_at)) "." }
                }
            }
            @if e.pull_requests.is_empty() {
                p { "No pull request reached production first with it." }
            } @else {
                p { "Pull requests it took to production: "
                    @for (n, pr) in e.pull_requests.iter().enumerate() { @if n > 0 { ", " } code { (pr) } } "." }
            }
        }
        section aria-labelledby="outcome" {
            h2 id="outcome" { "Did it fail?" }
            @if e.failed {
                ul data-failed="true" {
                    @for cause in &e.failure {
                        li { @match cause {
                            FailureCause::Incident { id, link } => {
                                "Incident " a href={ "/services/" (segment(service.as_str())) "/incidents/" (segment(id)) } { code { (id) } }
                                ", linked " (match *link { "by_id" => "by its caused_by", "by_sha" => "by the sha of its cause", _ => "by inference from timing" })
                            }
                            FailureCause::RolledBackBy { deployment } => {
                                "Rolled back by " a href=(href(service.as_str(), deployment)) { code { (deployment) } }
                            }
                            FailureCause::HotfixBy { deployment } => {
                                "Followed by the hotfix " a href=(href(service.as_str(), deployment)) { code { (deployment) } }
                            }
                        } }
                    }
                }
                p { @match e.recovery_s {
                    Some(s) => { "Recovered " (format_value(Unit::Duration, s)) " after it finished." }
                    None => { "Not recovered yet: an incident is still open." }
                } }
            } @else {
                p data-failed="false" { "No: no incident, rollback or hotfix is linked to it." }
            }
            p { @if e.rework { "It is rework: a hotfix or rollback, or deployed while an incident was open." }
                @else { "It is planned work, not rework." } }
        }
        @if !burn.is_empty() {
            section aria-labelledby="burn" {
                h2 id="burn" { "The hour after it" }
                p { "How fast each SLO of the service spent its error budget in the hour after this deployment (1× spends it exactly over the SLO's window). A fast burn is where to look, not a failure by itself." }
                ul {
                    @for b in &burn {
                        li data-followed-by-burn=(b.followed_by_burn) { (b.slo) ": "
                            @match b.burn_rate {
                                Some(rate) => { (format!("{rate:.1}")) "× " @if b.followed_by_burn { strong { "followed by burn" } } @else { "(within what the fast tier tolerates)" } },
                                None => "no figure (nothing counted, or the hour is not over)",
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page::shell(
        &state,
        Some(&p),
        &format!("Deployment {}", e.deployment),
        body,
    ))
}
