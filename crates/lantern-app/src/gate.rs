//! The deploy gate of slo.md: may a deployment of a service go ahead now,
//! given its SLOs? Asked by a pipeline step (`GET /api/v1/gate`,
//! `lantern gate`); every answer is recorded in the audit log.

use crate::report::Reader;
use crate::settings::NoData;
use crate::slos::SloAnswer;
use crate::{AppError, Settings};
use lantern_engine::Scope;
use lantern_engine::slo::SloState;
use lantern_events::{DeploymentKind, Name, Timestamp};
use lantern_governance::AuditRecord;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Warn,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Warn => "warn",
            Decision::Deny => "deny",
        }
    }
}

/// The gate's answer: the decision, why in one sentence, and each SLO of
/// the service as the asking reader may see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateAnswer {
    pub service: String,
    pub kind: &'static str,
    pub decision: Decision,
    pub reason: String,
    /// `[gate] enforce`: when false, a deny is answered as a warn.
    pub enforced: bool,
    pub slos: Vec<SloAnswer>,
}

/// Decides for `service` at `at` (slo.md, "The deploy gate", rules 1–5)
/// and records the answer with `record(action, scope, outcome)`.
pub fn decide(
    store: &mut dyn lantern_store::Store,
    settings: &Settings,
    reader: Reader,
    (service, kind): (&str, Option<DeploymentKind>),
    at: Timestamp,
    record: impl FnOnce(&str, &str, &str) -> AuditRecord,
) -> Result<GateAnswer, AppError> {
    // 1. A service the catalog does not know is an error, never an allow.
    let name = Name::parse(service).map_err(|m| AppError::Invalid(format!("service: {m}")))?;
    if !settings.teams.iter().any(|t| t.services.contains(&name)) {
        return Err(AppError::NotFound {
            what: "service",
            message: format!(
                "no service `{name}` in the catalog: the gate answers only for services of [[teams]]"
            ),
        });
    }
    let scope = Scope::Service(name.clone());
    let kind_name = match kind {
        Some(DeploymentKind::Hotfix) => "hotfix",
        Some(DeploymentKind::Rollback) => "rollback",
        _ => "planned",
    };
    // The decision reads every figure; the reader sees what rule 2 lets it.
    let all = crate::slos::figures(store, settings, &scope, at)?;
    let shown = crate::slos::visible(store, settings, reader, all.clone(), at)?;
    let verdict = verdict(&states(&all), settings, &name, kind_name);
    let denied = verdict.0 == Decision::Deny;
    let (decision, reason) = enforced(verdict, settings);
    let outcome = format!("{} ({kind_name})", decision.as_str());
    let entry = record("gate", &format!("service:{name}"), &outcome);
    let actor = entry.actor.clone();
    store.audit(entry)?;
    let answer = GateAnswer {
        service: name.to_string(),
        kind: kind_name,
        decision,
        reason,
        enforced: settings.gate.enforce,
        slos: shown,
    };
    // The owning team hears of a deny, and of a would-be deny while the
    // gate is being tried out with `enforce` off.
    if denied {
        crate::notify::gate_denied(store, settings, &answer, at, &actor)?;
    }
    Ok(answer)
}

/// slo.md's rules 2–5 from each SLO's status (rule 1, the catalog, is the
/// caller's): the decision and why, in one sentence. The dashboard shows
/// what the gate would answer with this, without recording an answer.
pub fn rule(
    states: &[(&str, SloState)],
    settings: &Settings,
    name: &Name,
    kind_name: &str,
) -> (Decision, String) {
    enforced(verdict(states, settings, name, kind_name), settings)
}

/// A deny answered as a warn while `[gate] enforce` is off.
fn enforced((decision, reason): (Decision, String), settings: &Settings) -> (Decision, String) {
    if decision == Decision::Deny && !settings.gate.enforce {
        return (
            Decision::Warn,
            format!("would deny ({reason}), but [gate] enforce is off"),
        );
    }
    (decision, reason)
}

/// Rules 2–5 before `enforce` is applied.
fn verdict(
    states: &[(&str, SloState)],
    settings: &Settings,
    name: &Name,
    kind_name: &str,
) -> (Decision, String) {
    let named = |wanted: &[SloState]| -> Vec<&str> {
        states
            .iter()
            .filter(|(_, s)| wanted.contains(s))
            .map(|(n, _)| *n)
            .collect()
    };
    let no_data_denies = settings.gate.no_data == NoData::Deny;
    if kind_name != "planned" {
        (
            Decision::Allow,
            format!("a {kind_name} is what a spent budget asks for: allowed whatever the SLOs say"),
        )
    } else if !named(&[SloState::Exhausted, SloState::Burning]).is_empty() {
        let slos = named(&[SloState::Exhausted, SloState::Burning]);
        (
            Decision::Deny,
            format!("{} exhausted or burning its error budget", slos.join(", ")),
        )
    } else if no_data_denies && !named(&[SloState::NoData]).is_empty() {
        (
            Decision::Deny,
            format!(
                "{} has no data, and [gate] no_data = \"deny\"",
                named(&[SloState::NoData]).join(", ")
            ),
        )
    } else if !named(&[SloState::Warning, SloState::NoData]).is_empty() {
        (
            Decision::Warn,
            format!(
                "{} warning or without data (no data is unknown, never healthy)",
                named(&[SloState::Warning, SloState::NoData]).join(", ")
            ),
        )
    } else if states.is_empty() {
        (Decision::Allow, format!("{name} has no SLO"))
    } else {
        (
            Decision::Allow,
            "every SLO is within its budget".to_string(),
        )
    }
}

/// Each SLO's name and status, from the operator's answers.
fn states(all: &[SloAnswer]) -> Vec<(&str, SloState)> {
    all.iter()
        .filter_map(|a| match a {
            SloAnswer::Figures(s) => Some((s.slo.name.as_str(), s.status)),
            SloAnswer::Suppressed { .. } => None,
        })
        .collect()
}

/// What the gate would answer for a planned deployment of `service` at
/// `at`, without recording an answer (the dashboard shows it: a page view
/// is not a pipeline asking).
pub fn would_answer(
    store: &dyn lantern_store::Store,
    settings: &Settings,
    service: &Name,
    at: Timestamp,
) -> Result<(Decision, String), AppError> {
    let all = crate::slos::figures(store, settings, &Scope::Service(service.clone()), at)?;
    Ok(rule(&states(&all), settings, service, "planned"))
}
