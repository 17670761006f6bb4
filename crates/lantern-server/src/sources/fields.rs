//! Reading a source's JSON: each helper names the field that is missing
//! or wrong, so a dead letter says what to fix.

use super::MapError;
use lantern_events::{EventId, Name, Sha, Timestamp};
use serde_json::Value;

pub fn parse(body: &[u8]) -> Result<Value, MapError> {
    serde_json::from_slice(body).map_err(|e| MapError(format!("the body is not valid JSON: {e}")))
}

pub fn text<'a>(v: &'a Value, path: &str) -> Result<&'a str, MapError> {
    v.pointer(path)
        .and_then(Value::as_str)
        .ok_or_else(|| MapError(format!("`{path}` is missing or not a string")))
}

/// An RFC 3339 time.
pub fn time(v: &Value, path: &str) -> Result<Timestamp, MapError> {
    Timestamp::parse_rfc3339(text(v, path)?).map_err(|m| MapError(format!("`{path}`: {m}")))
}

pub fn opt_time(v: &Value, path: &str) -> Result<Option<Timestamp>, MapError> {
    match v.pointer(path) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => time(v, path).map(Some),
    }
}

pub fn name(text: &str, what: &str) -> Result<Name, MapError> {
    Name::parse(text).map_err(|m| MapError(format!("{what} `{text}`: {m}")))
}

pub fn id(text: String) -> Result<EventId, MapError> {
    EventId::parse(&text).map_err(|m| MapError(format!("id {m}")))
}

pub fn sha(v: &Value, path: &str) -> Result<Sha, MapError> {
    Sha::parse(text(v, path)?).map_err(|m| MapError(format!("`{path}`: {m}")))
}

pub fn number(v: &Value, path: &str) -> Result<u64, MapError> {
    v.pointer(path)
        .and_then(Value::as_u64)
        .ok_or_else(|| MapError(format!("`{path}` is missing or not a number")))
}
