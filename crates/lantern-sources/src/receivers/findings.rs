//! Scanners' findings (panels.md): GitHub `code_scanning_alert` and
//! GitLab vulnerability events, each delivery the finding as it now is
//! (last write wins: a reopened finding loses its `fixed_at`).
//!
//! What is kept: the repository, the severity, the rule's family, when it
//! was opened and fixed. What is not read at all: the file path and lines,
//! the message, the rule's description, the commit, who dismissed it.

use super::fields::{id, name, number, opt_text, text};
use super::{MapError, Mapped};
use lantern_events::{Event, Finding, Name, Severity, Timestamp};
use serde_json::Value;

/// GitHub `code_scanning_alert` (created, fixed, closed_by_user,
/// reopened, reopened_by_user, appeared_in_branch): the alert's state says
/// whether it is open. A fix without a time (octokit's `fixed` example
/// has none) is dated when Lantern received it.
pub fn github_code_scanning(v: &Value, received_at: Timestamp) -> Result<Mapped, MapError> {
    let repo = name(text(v, "/repository/full_name")?, "repository")?;
    let alert = "/alert";
    let number = number(v, "/alert/number")?;
    let rule_id = opt_text(v, "/alert/rule/id")
        .or_else(|| opt_text(v, "/alert/rule/name"))
        .filter(|r| !r.is_empty())
        .ok_or_else(|| MapError("`/alert/rule/id`: the alert names no rule".into()))?;
    let severity = match opt_text(v, "/alert/rule/security_severity_level").as_deref() {
        Some("critical") => Severity::Critical,
        Some("high") => Severity::High,
        Some("medium") => Severity::Medium,
        Some("low") => Severity::Low,
        _ => match opt_text(v, "/alert/rule/severity").as_deref() {
            Some("error") => Severity::High,
            Some("warning") => Severity::Medium,
            _ => Severity::Low,
        },
    };
    let opened_at = super::fields::time(v, "/alert/created_at")?;
    let closed_at = |fields: &[&str]| -> Result<Timestamp, MapError> {
        for f in fields {
            if let Some(t) = super::fields::opt_time(v, &format!("{alert}/{f}"))? {
                return Ok(t);
            }
        }
        Ok(received_at)
    };
    let fixed_at = match text(v, "/alert/state")? {
        "open" => None,
        "fixed" => Some(closed_at(&["fixed_at", "updated_at"])?),
        "dismissed" | "closed" => Some(closed_at(&["dismissed_at", "updated_at"])?),
        other => {
            return Ok(Mapped::Ignored(format!(
                "a code scanning alert in state `{other}` is not used"
            )));
        }
    };
    finding(
        format!("{repo}/code-scanning/{number}"),
        repo,
        severity,
        family(&rule_id),
        (opened_at, fixed_at),
    )
}

/// GitLab vulnerability events: the project comes from the
/// vulnerability's URL (the example GitLab documents has no `project`),
/// the category is its CWE when it names one, else its report type
/// (`dependency_scanning`, `sast`, …).
pub fn gitlab_vulnerability(
    v: &Value,
    time: fn(&Value, &str) -> Result<Timestamp, MapError>,
) -> Result<Mapped, MapError> {
    let url = text(v, "/object_attributes/url")?;
    let (repo, number) = gitlab_project_and_number(url).ok_or_else(|| {
        MapError(format!(
            "`/object_attributes/url`: `{url}` is not a vulnerability's address (…/GROUP/PROJECT/-/security/vulnerabilities/N)"
        ))
    })?;
    let repo = name(&repo, "project")?;
    let severity = match text(v, "/object_attributes/severity")? {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        // `low`, `info` and `unknown`: the least of panels.md's four.
        _ => Severity::Low,
    };
    let cwe = v
        .pointer("/object_attributes/identifiers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|i| i.get("external_type").and_then(Value::as_str) == Some("cwe"))
        .and_then(|i| i.get("name").and_then(Value::as_str))
        .map(str::to_string);
    let category = cwe
        .or_else(|| opt_text(v, "/object_attributes/report_type"))
        .unwrap_or_else(|| "unknown".to_string());
    let opened_at = time(v, "/object_attributes/created_at")?;
    let when = |field: &str| -> Result<Timestamp, MapError> {
        let path = format!("/object_attributes/{field}");
        match v.pointer(&path) {
            Some(Value::String(_)) => time(v, &path),
            _ => time(v, "/object_attributes/updated_at"),
        }
    };
    let fixed_at = match text(v, "/object_attributes/state")? {
        "detected" | "confirmed" => None,
        "resolved" => Some(when("resolved_at")?),
        "dismissed" => Some(when("dismissed_at")?),
        other => {
            return Ok(Mapped::Ignored(format!(
                "a vulnerability in state `{other}` is not used"
            )));
        }
    };
    finding(
        format!("{repo}/vulnerabilities/{number}"),
        repo,
        severity,
        category,
        (opened_at, fixed_at),
    )
}

fn finding(
    finding_id: String,
    repo: Name,
    severity: Severity,
    category: String,
    (opened_at, fixed_at): (Timestamp, Option<Timestamp>),
) -> Result<Mapped, MapError> {
    Ok(Mapped::Events(vec![Event::Finding(Finding {
        id: id(finding_id)?,
        repo,
        severity,
        category: name(&category, "category")?,
        opened_at,
        // A fix dated before the finding (clock skew) is when it opened.
        fixed_at: fixed_at.map(|t| t.max(opened_at)),
    })]))
}

/// A rule's family: the last part of its id (`java/sql-injection` →
/// `sql-injection`).
fn family(rule_id: &str) -> String {
    rule_id
        .rsplit('/')
        .find(|p| !p.is_empty())
        .unwrap_or(rule_id)
        .to_string()
}

/// `https://host/group/project/-/security/vulnerabilities/7` →
/// (`group/project`, 7).
fn gitlab_project_and_number(url: &str) -> Option<(String, u64)> {
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = path.split_once('/')?.1;
    let (project, rest) = path.split_once("/-/")?;
    let number = rest
        .strip_prefix("security/vulnerabilities/")?
        .trim_end_matches('/')
        .parse()
        .ok()?;
    (!project.is_empty()).then(|| (project.to_string(), number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_families_and_gitlab_addresses() {
        assert_eq!(family("java/sql-injection"), "sql-injection");
        assert_eq!(
            family("Style/FrozenStringLiteralComment"),
            "FrozenStringLiteralComment"
        );
        assert_eq!(
            family("ANCHOREVULN_CVE-2020-27218"),
            "ANCHOREVULN_CVE-2020-27218"
        );
        assert_eq!(
            gitlab_project_and_number(
                "https://example.com/flightjs/Flight/-/security/vulnerabilities/1"
            ),
            Some(("flightjs/Flight".into(), 1))
        );
        assert_eq!(
            gitlab_project_and_number(
                "https://gitlab.example.com/a/b/c/-/security/vulnerabilities/42/"
            ),
            Some(("a/b/c".into(), 42))
        );
        assert_eq!(
            gitlab_project_and_number("https://example.com/-/security/vulnerabilities/1"),
            None
        );
        assert_eq!(
            gitlab_project_and_number("https://example.com/a/b/-/issues/1"),
            None
        );
        assert_eq!(gitlab_project_and_number("not a url"), None);
    }
}
