//! Each receiver's payload → canonical events. Pure functions of the body
//! and the headers the mapping needs: no HTTP, no store. The server calls
//! them for live deliveries, `lantern deadletter replay` for kept ones.

mod cdevents;
mod events;
mod fields;
mod github;
mod gitlab;
mod incidents;

use lantern_events::{Event, Pseudonymiser};
use std::collections::BTreeMap;

/// A receiver's settings (`[sources.NAME]` in lantern.toml).
#[derive(Debug, Clone, Default)]
pub struct SourceSettings {
    /// Shared secrets or signing keys; several while one is rotated out.
    pub secrets: Vec<String>,
    /// The source's name for a service → Lantern's.
    pub services: BTreeMap<String, String>,
    /// CI workflows whose successful run is a production deployment
    /// (GitHub `workflow_run`).
    pub deploy_workflows: Vec<String>,
}

impl SourceSettings {
    pub fn service(&self, name: &str) -> String {
        self.services
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }
}

/// What a delivery means.
#[derive(Debug)]
pub enum Mapped {
    /// Events to store (possibly none).
    Events(Vec<Event>),
    /// Facts to merge into the stored events of the same type and id.
    Merge(Vec<Event>),
    /// A kind of delivery Lantern does not use (answered 202 so that the
    /// sender does not retry); the reason says which.
    Ignored(String),
}

/// Why a delivery could not be mapped, saying what is wrong and where.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MapError(pub String);

/// The receivers, by the name in their path (`/hooks/NAME`).
pub const SOURCES: &[&str] = &[
    "events",
    "github",
    "gitlab",
    "pagerduty",
    "opsgenie",
    "alertmanager",
    "cdevents",
];

pub fn map(
    source: &str,
    headers: &[(String, String)],
    body: &[u8],
    settings: &SourceSettings,
    pseudonymiser: &Pseudonymiser,
) -> Result<Mapped, MapError> {
    match source {
        "events" => events::map(body, pseudonymiser).map(Mapped::Events),
        "github" => github::map(
            header(headers, "x-github-event"),
            body,
            settings,
            pseudonymiser,
        ),
        "gitlab" => gitlab::map(body, settings, pseudonymiser),
        "cdevents" => cdevents::map(header(headers, "ce-type"), body, settings),
        "pagerduty" => incidents::pagerduty(body, settings),
        "opsgenie" => incidents::opsgenie(body, settings),
        "alertmanager" => incidents::alertmanager(body, settings),
        other => Err(MapError(format!(
            "no receiver `{other}`; receivers: {}",
            SOURCES.join(", ")
        ))),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
