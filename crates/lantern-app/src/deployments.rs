//! One deployment explained: the rule that decided what it shipped, what
//! that was, the pull requests it took to production, whether and why it
//! failed, and its recovery — event-level detail, governed as such by the
//! front ends (the API's detail policy records every read; the CLI records
//! its own).

use crate::report::Loaded;
use crate::{AppError, Settings};
use lantern_engine::{DeploymentExplanation, Scope, Window};
use lantern_events::{Event, EventId, EventKind, MICROS_PER_DAY, Name};
use lantern_store::Store;

/// History read before a deployment: what it shipped reaches back to its
/// previous deployment, and a pull request can wait long to ship.
const BEFORE_DAYS: i64 = 366;
/// Time read after it: its rollback, hotfix and incidents' resolutions.
const AFTER_DAYS: i64 = 92;

pub fn explain(
    store: &mut dyn Store,
    settings: &Settings,
    service: &Name,
    id: &EventId,
) -> Result<DeploymentExplanation, AppError> {
    let not_found = |why: &str| AppError::NotFound {
        what: "deployment",
        message: format!("{why} `{id}` of service `{service}`"),
    };
    let deployment = match store.find(EventKind::Deployment, id)? {
        Some(Event::Deployment(d)) if &d.service == service => d,
        _ => return Err(not_found("no deployment")),
    };
    let at = deployment.finished_at;
    let window = Window::new(
        at.plus_micros(-BEFORE_DAYS * MICROS_PER_DAY),
        at.plus_micros(AFTER_DAYS * MICROS_PER_DAY),
    )?;
    let loaded = Loaded::load(store, settings, &Scope::Service(service.clone()), window)?;
    loaded
        .ledger(settings)
        .explain(id)
        .ok_or_else(|| not_found("not a successful production deployment (so not measured):"))
}
