//! One incident, as a review reconstructs it: the service's deployments
//! before it, when it started, was detected, acknowledged and resolved,
//! and the deployment it is linked to — stated by the source or inferred
//! from timing, said which. Event-level detail: the policy layer lets only
//! the service's team, its reviewers and admins in, and records the read.

use super::page::{self, moment};
use crate::extract::ServiceEvent;
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::access::store_error;
use crate::state::AppState;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::Html;
use lantern_app::report::Loaded;
use lantern_engine::{LinkKind, Window, first_shipped};
use lantern_events::{Deployment, Event, EventKind, Incident, MICROS_PER_DAY, Name};
use maud::html;
use std::collections::BTreeSet;

/// How far back the page lists deployments.
const BEFORE_MICROS: i64 = 7 * MICROS_PER_DAY;
const SHOWN_BEFORE: usize = 10;

struct Reconstructed {
    incident: Incident,
    before: Vec<Deployment>,
    link: Option<(String, LinkKind)>,
}

pub async fn incident_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ServiceEvent(service, id): ServiceEvent,
) -> Result<Html<String>, Problem> {
    let not_found = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "no incident with this id affects this service",
        )
    };
    let for_store = service.clone();
    let r = state
        .with_store(move |store, state| {
            let service = for_store;
            let Some(Event::Incident(incident)) =
                store.find(EventKind::Incident, &id).map_err(store_error)?
            else {
                return Err(not_found());
            };
            if !incident.affected().any(|s| *s == service) {
                return Err(not_found());
            }
            let start = incident.started_at;
            let lookback = Window::new(start.plus_micros(-BEFORE_MICROS), start.plus_micros(1))
                .map_err(Problem::internal)?;
            let mut before = store
                .deployments_in(&service, lookback)
                .map_err(store_error)?;
            let keep = before.len().saturating_sub(SHOWN_BEFORE);
            before.drain(..keep);
            let settings = state.app();
            let config = &settings.engine;
            let span = Window::new(
                start.plus_micros(-(config.link_window_micros + MICROS_PER_DAY)),
                start.plus_micros(1),
            )
            .map_err(Problem::internal)?;
            let services: BTreeSet<Name> = incident.affected().cloned().collect();
            let loaded = Loaded::load_services(store, settings, Some(&services), span)?;
            let ledger = loaded.ledger(settings);
            let link = loaded
                .input
                .incidents
                .iter()
                .position(|i| i.id == incident.id)
                .and_then(|n| ledger.incident_link(n))
                .map(|(d, kind)| (d.id.to_string(), kind))
                .or_else(|| {
                    // Stated, but the deployment is older than what was read.
                    incident
                        .caused_by
                        .as_ref()
                        .map(|c| (c.to_string(), LinkKind::ById))
                })
                .or_else(|| {
                    // Stated by sha: the first deployment that shipped the
                    // commit, however long before the incident it was.
                    incident.caused_by_sha.as_ref()?;
                    first_shipped(&incident, &loaded.input.sha_links)
                        .map(|l| (l.deployment.to_string(), LinkKind::BySha))
                });
            Ok(Reconstructed {
                incident,
                before,
                link,
            })
        })
        .await?;
    let i = &r.incident;
    let title = format!("Incident {}", i.id);
    let step = |label: &str, at: Option<lantern_events::Timestamp>| {
        html! {
            li { strong { (label) } " "
                @match at {
                    Some(t) => { time datetime=(t.to_rfc3339()) { (moment(t)) }
                        @if t != i.started_at { " (" (super::chart::format_value(super::chart::Unit::Duration, t.seconds_since(i.started_at))) " after the start)" } }
                    None => em { "not recorded" },
                }
            }
        }
    };
    let body = html! {
        h1 { (title) }
        p.lede { "Of service " a href={ "/services/" (super::page::segment(service.as_str())) } { (service) }
            @if let Some(s) = &i.severity { ", severity " (s) }
            @if let Some(t) = &i.title { ": " (t) }
            ". A reconstruction for a blameless review: what was deployed, and when each step happened." }
        section aria-labelledby="steps" {
            h2 id="steps" { "What happened" }
            ol.steps {
                (step("Started", Some(i.started_at)))
                (step("Detected", i.detected_at))
                (step("Acknowledged", i.acknowledged_at))
                (step("Resolved", i.resolved_at))
            }
        }
        section aria-labelledby="link" {
            h2 id="link" { "The deployment it is linked to" }
            @match &r.link {
                Some((d, LinkKind::ById)) => p data-link="by-id" { "Deployment " a href=(super::deployment::href(service.as_str(), d)) { code { (d) } } ", " strong { "stated by the source" } " (caused_by)." },
                Some((d, LinkKind::BySha)) => p data-link="by-sha" { "Deployment " a href=(super::deployment::href(service.as_str(), d)) { code { (d) } } ", " strong { "stated by the source" } " (caused_by_sha): the first deployment that shipped that commit." },
                Some((d, LinkKind::Inferred)) => p data-link="inferred" { "Deployment " a href=(super::deployment::href(service.as_str(), d)) { code { (d) } } ", " strong { "inferred" } ": the service's last deployment before the incident started, within the link window. Send caused_by to be sure." },
                None => p data-link="none" { "No deployment: the incident is not linked to a change (external cause, or nothing deployed shortly before)." },
            }
        }
        section aria-labelledby="before" {
            h2 id="before" { "Deployments before it" }
            @if r.before.is_empty() {
                p.empty { "No deployment of " (service) " in the 7 days before the start." }
            } @else {
                table.timeline {
                    thead { tr { th scope="col" { "Finished" } th scope="col" { "Deployment" } th scope="col" { "Environment" } th scope="col" { "Status" } } }
                    tbody {
                        @for d in r.before.iter().rev() {
                            tr data-deployment=(d.id) {
                                td { (moment(d.finished_at)) }
                                td { a href=(super::deployment::href(service.as_str(), d.id.as_str())) { code { (d.id) } } @if r.link.as_ref().is_some_and(|(l, _)| *l == d.id.as_str()) { " ← linked" } }
                                td { (d.environment) }
                                td { (lantern_events::enum_name(&lantern_events::DeploymentStatus::ALL, d.status)) }
                            }
                        }
                    }
                }
            }
        }
        p { a href={ "/services/" (super::page::segment(service.as_str())) } { "Back to " (service) } }
    };
    Ok(page::shell(&state, Some(&p), &title, body))
}
