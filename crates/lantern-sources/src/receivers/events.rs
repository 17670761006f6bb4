//! `POST /hooks/events`: canonical events (events.md), one object or an
//! array, for any tool without its own receiver and for scripts. A
//! delivery is taken whole or not at all, so a sender never has to work
//! out which half of its batch got in.

use super::MapError;
use lantern_events::{Event, Pseudonymiser, parse_event};
use serde_json::Value;

/// Errors listed in one answer; the rest are counted.
const ERRORS_SHOWN: usize = 20;

pub fn map(body: &[u8], pseudonymiser: &Pseudonymiser) -> Result<Vec<Event>, MapError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| MapError(format!("the body is not valid JSON: {e}")))?;
    let items: Vec<&Value> = match &value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&value],
        _ => {
            return Err(MapError(
                "expected one event (a JSON object) or an array of them".into(),
            ));
        }
    };
    let mut events = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match parse_event(item, pseudonymiser) {
            Ok(e) => events.push(e),
            Err(e) if matches!(value, Value::Array(_)) => errors.push(format!("[{i}] {e}")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        return Ok(events);
    }
    let more = errors.len().saturating_sub(ERRORS_SHOWN);
    let mut detail = errors
        .into_iter()
        .take(ERRORS_SHOWN)
        .collect::<Vec<_>>()
        .join("; ");
    if more > 0 {
        detail.push_str(&format!("; and {more} more"));
    }
    Err(MapError(format!("nothing was stored: {detail}")))
}

/// `POST /hooks/sli`: the same bodies, `sli` events only.
pub fn map_sli(body: &[u8], pseudonymiser: &Pseudonymiser) -> Result<Vec<Event>, MapError> {
    let events = map(body, pseudonymiser)?;
    if let Some((i, other)) = events
        .iter()
        .enumerate()
        .find(|(_, e)| !matches!(e, Event::Sli(_)))
    {
        return Err(MapError(format!(
            "nothing was stored: [{i}] is a {} event; /hooks/sli takes sli events only",
            other.kind().as_str()
        )));
    }
    Ok(events)
}
