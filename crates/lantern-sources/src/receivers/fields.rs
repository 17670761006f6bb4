//! Reading a source's JSON: each helper names the field that is missing
//! or wrong, so a dead letter says what to fix.

use super::MapError;
use lantern_events::{Change, Event, EventId, Name, Pseudonymiser, Sha, Timestamp};
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
/// The text at `path`, when there is one.
pub fn opt_text(v: &Value, path: &str) -> Option<String> {
    v.pointer(path).and_then(Value::as_str).map(str::to_string)
}

/// A source's own title for an incident: free text, so only when the
/// source's `keep_titles` asks for it (events.md).
pub fn kept_title(settings: &super::SourceSettings, v: &Value, path: &str) -> Option<String> {
    settings.keep_titles.then(|| opt_text(v, path)).flatten()
}

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

/// A count (lines added, say) when given: a whole number below 2^63, the
/// largest a store keeps; anything else is an error naming the field,
/// never clamped.
pub fn opt_count(v: &Value, path: &str) -> Result<Option<u64>, MapError> {
    match v.pointer(path) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_u64()
            .filter(|&n| n <= i64::MAX as u64)
            .map(Some)
            .ok_or_else(|| {
                MapError(format!(
                    "`{path}` must be a whole number from 0 to 2^63 − 1, got {}",
                    short(n)
                ))
            }),
    }
}

/// Epoch time in units of `per_second` (1 000 for milliseconds, 10^9 for
/// nanoseconds), between years 1 and 9999 as RFC 3339 allows: past that
/// it is an error naming the field, never clamped.
pub fn epoch(v: &Value, path: &str, per_second: i64) -> Result<Timestamp, MapError> {
    const FIRST: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let n = v
        .pointer(path)
        .ok_or_else(|| MapError(format!("`{path}` is missing")))?;
    n.as_i64()
        .filter(|&t| t.div_euclid(per_second) >= FIRST && t.div_euclid(per_second) <= LAST)
        .map(|t| Timestamp::from_micros(scale_to_micros(t, per_second)))
        .ok_or_else(|| {
            MapError(format!(
                "`{path}` must be a whole number of epoch units between years 1 and 9999, got {}",
                short(n)
            ))
        })
}

fn scale_to_micros(t: i64, per_second: i64) -> i64 {
    // Within years 1–9999 neither way overflows.
    if per_second >= 1_000_000 {
        t / (per_second / 1_000_000)
    } else {
        t * (1_000_000 / per_second)
    }
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(40).collect()
}

/// A push's `commits` array.
pub fn commits(v: &Value) -> Result<&[Value], MapError> {
    v.get("commits")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or_else(|| MapError("`commits` is missing or not an array".into()))
}

/// A push's commits (GitHub's and GitLab's alike) as changes. Neither
/// sends parents: each commit gets the one before it, the first gets
/// `parent` (the push's `before`, when the list is known to start there),
/// which is exact for a linear push. The author is the first of
/// `author_paths` present, as a pseudonym; `time` reads the source's
/// timestamps.
pub fn pushed_changes(
    repo: &Name,
    commits: &[Value],
    mut parent: Option<Sha>,
    author_paths: &[&str],
    time: impl Fn(&Value, &str) -> Result<Timestamp, MapError>,
    pseudonymiser: &Pseudonymiser,
) -> Result<Vec<Event>, MapError> {
    let mut events = Vec::with_capacity(commits.len());
    for (i, c) in commits.iter().enumerate() {
        let at = |e: MapError| MapError(format!("commits[{i}]: {}", e.0));
        let sha = sha(c, "/id").map_err(at)?;
        let committed_at = time(c, "/timestamp").map_err(at)?;
        let author = author_paths
            .iter()
            .find_map(|p| {
                c.pointer(p)
                    .and_then(Value::as_str)
                    .filter(|a| !a.is_empty())
            })
            .map(|a| pseudonymiser.pseudonymise(&a.to_lowercase()));
        events.push(Event::Change(Change {
            id: EventId::for_change(repo, &sha),
            repo: repo.clone(),
            sha,
            parents: parent.into_iter().collect(),
            committed_at,
            authored_at: committed_at,
            author,
            pull_request: None,
        }));
        parent = Some(sha);
    }
    Ok(events)
}
