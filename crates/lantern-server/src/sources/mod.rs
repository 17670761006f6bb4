//! Each receiver's payload → canonical events. Pure functions of the body
//! and the headers the mapping needs: no HTTP, no store. The server calls
//! them for live deliveries, `lantern deadletter replay` for kept ones.

mod events;

use lantern_events::{Event, Pseudonymiser};

/// What a delivery means.
#[derive(Debug)]
pub enum Mapped {
    /// Events to store (possibly none).
    Events(Vec<Event>),
    /// A kind of delivery Lantern does not use (answered 202 so that the
    /// sender does not retry); the reason says which.
    Ignored(String),
}

/// Why a delivery could not be mapped, saying what is wrong and where.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MapError(pub String);

/// The receivers, by the name in their path (`/hooks/NAME`).
pub const SOURCES: &[&str] = &["events"];

pub fn map(
    source: &str,
    _headers: &[(String, String)],
    body: &[u8],
    pseudonymiser: &Pseudonymiser,
) -> Result<Mapped, MapError> {
    match source {
        "events" => events::map(body, pseudonymiser).map(Mapped::Events),
        other => Err(MapError(format!(
            "no receiver `{other}`; receivers: {}",
            SOURCES.join(", ")
        ))),
    }
}
