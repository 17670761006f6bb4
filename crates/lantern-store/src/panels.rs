//! panels.md's two event types as both stores read them: a scope's
//! findings open at some time in a window, and a team's AI-assistant days
//! in a window. The SQL and the row decoding are shared; each store binds
//! its own parameters (`{p1}`, `{p2}`, `{p3}`).

use crate::Result;
use crate::codec::{enum_value, id, time};
use lantern_events::{AssistUsage, Finding, Name, Severity};

/// Findings open at some time in [`{p1}`, `{p2}`): opened before its end
/// and not fixed before its start.
pub const FINDINGS: &str = "SELECT id, repo, severity, category, opened_at, fixed_at FROM findings
     WHERE opened_at < {p2} AND (fixed_at IS NULL OR fixed_at >= {p1}) {repos} ORDER BY id";

/// A team's days in [`{p2}`, `{p3}`).
pub const ASSIST_USAGE: &str =
    "SELECT id, team, day, active_users, suggestions, acceptances, lines_suggested, lines_accepted
     FROM assist_usage WHERE team = {p1} AND day >= {p2} AND day < {p3} ORDER BY day, id";

/// One row of [`FINDINGS`].
pub fn finding(
    (row_id, repo): (&str, &str),
    (severity, category): (&str, &str),
    (opened_at, fixed_at): (i64, Option<i64>),
) -> Result<Finding> {
    Ok(Finding {
        id: id(row_id)?,
        repo: name(repo)?,
        severity: enum_value(&Severity::ALL, severity)?,
        category: name(category)?,
        opened_at: time(opened_at),
        fixed_at: fixed_at.map(time),
    })
}

/// One row of [`ASSIST_USAGE`]: ids and team, day, then the counts in
/// column order.
pub fn assist_usage(
    (row_id, team): (&str, &str),
    day: i64,
    counts: [i64; 3],
    lines: [Option<i64>; 2],
) -> Result<AssistUsage> {
    let count = |n: i64| n.max(0) as u64;
    Ok(AssistUsage {
        id: id(row_id)?,
        team: name(team)?,
        day: time(day),
        active_users: count(counts[0]),
        suggestions: count(counts[1]),
        acceptances: count(counts[2]),
        lines_suggested: lines[0].map(count),
        lines_accepted: lines[1].map(count),
    })
}

fn name(text: &str) -> Result<Name> {
    Name::parse(text).map_err(|m| crate::codec::corrupt(&format!("stored name `{text}`: {m}")))
}
