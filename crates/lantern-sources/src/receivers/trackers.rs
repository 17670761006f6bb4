//! Incidents kept in issue trackers (DevLake, Four Keys and Middleware
//! users ask for these): an issue that is an incident starts one when it
//! is opened and resolves it when it is closed. Each delivery carries the
//! issue as it now is, so its incident is replaced whole (a reopened issue
//! is open again). Nothing else of an issue is read: no body, no person,
//! and its title only with `[sources.X] keep_titles`.
//!
//! - GitHub `issues` with the configured label (`incident_label`, default
//!   `incident`); removing the label deletes nothing;
//! - GitLab issue hooks of issues whose type is `incident`;
//! - Jira `jira:issue_created` / `jira:issue_updated` of the configured
//!   issue types (`incident_types`, default `Incident`), the resolution
//!   date as `resolved_at`, the service from `service_field` (a custom
//!   field's id) or else the first component, through `services`.
//!
//! Issues that are not incidents are work items (`work`).

use super::fields::{id, kept_title, name, text};
use super::{MapError, Mapped, SourceSettings};
use lantern_events::{Event, Incident, Name, Timestamp};
use serde_json::Value;

fn incident(
    id_text: String,
    service: Name,
    opened: Timestamp,
    closed: Option<Timestamp>,
    title: Option<String>,
) -> Result<Mapped, MapError> {
    Ok(Mapped::Events(vec![Event::Incident(Incident {
        id: id(id_text)?,
        service,
        services: Vec::new(),
        started_at: opened,
        // Reported when the issue was opened.
        detected_at: Some(opened),
        acknowledged_at: None,
        resolved_at: closed,
        severity: None,
        cause: None,
        caused_by: None,
        caused_by_sha: None,
        title,
    })]))
}

/// GitHub's `issues` event.
pub fn github_issue(
    v: &Value,
    service: Name,
    settings: &SourceSettings,
) -> Result<Mapped, MapError> {
    let label = settings.incident_label.as_deref().unwrap_or("incident");
    let labels = v
        .pointer("/issue/labels")
        .and_then(Value::as_array)
        .ok_or_else(|| MapError("`/issue/labels` is missing or not an array".into()))?;
    let labelled = labels
        .iter()
        .filter_map(|l| l.get("name").and_then(Value::as_str))
        .any(|n| n.eq_ignore_ascii_case(label));
    if !labelled {
        // Not an incident: a work item (an incident stays when its label
        // is removed).
        return super::work::github_issue(v, service, settings);
    }
    let full = text(v, "/repository/full_name")?;
    let number = super::fields::number(v, "/issue/number")?;
    let opened = super::fields::time(v, "/issue/created_at")?;
    let closed = match text(v, "/issue/state")? {
        "closed" => super::fields::opt_time(v, "/issue/closed_at")?,
        _ => None,
    };
    let title = kept_title(settings, v, "/issue/title");
    incident(
        format!("github:{full}:issue:{number}"),
        service,
        opened,
        closed,
        title,
    )
}

/// GitLab's issue hook, for issues of type `incident`.
pub fn gitlab_issue(
    v: &Value,
    settings: &SourceSettings,
    time: impl Fn(&Value, &str) -> Result<Timestamp, MapError>,
) -> Result<Mapped, MapError> {
    let kind = ["/object_attributes/issue_type", "/object_attributes/type"]
        .iter()
        .find_map(|p| v.pointer(p).and_then(Value::as_str))
        .unwrap_or("issue");
    if !kind.eq_ignore_ascii_case("incident") {
        return super::work::gitlab_issue(v, settings, time);
    }
    let path = text(v, "/project/path_with_namespace")?;
    let iid = super::fields::number(v, "/object_attributes/iid")?;
    let service = settings.services.get(path).cloned().unwrap_or_else(|| {
        settings.service(
            v.pointer("/project/name")
                .and_then(Value::as_str)
                .unwrap_or(path),
        )
    });
    let opened = time(v, "/object_attributes/created_at")?;
    let closed = match text(v, "/object_attributes/state")? {
        "closed" => match v.pointer("/object_attributes/closed_at") {
            None | Some(Value::Null) => Some(time(v, "/object_attributes/updated_at")?),
            Some(_) => Some(time(v, "/object_attributes/closed_at")?),
        },
        _ => None,
    };
    let title = kept_title(settings, v, "/object_attributes/title");
    incident(
        format!("gitlab:{path}:issue:{iid}"),
        name(&service, "service")?,
        opened,
        closed,
        title,
    )
}

/// What a Jira field names: a string, an option or component (`value`,
/// `name`), or the first of a list of them.
fn field_name(f: &Value) -> Option<String> {
    match f {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items.first().and_then(field_name),
        other => other
            .get("value")
            .or_else(|| other.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// Jira writes `2023-05-01T10:00:00.000+0000` (no colon in the offset).
pub(super) fn jira_time(v: &Value, path: &str) -> Result<Timestamp, MapError> {
    let raw = text(v, path)?;
    Timestamp::parse_rfc3339(raw)
        .ok()
        .or_else(|| {
            chrono::DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z")
                .ok()
                .map(|t| Timestamp::from_micros(t.timestamp_micros()))
        })
        .ok_or_else(|| MapError(format!("`{path}`: `{raw}` is not a time Jira writes")))
}

/// Jira's `jira:issue_created` and `jira:issue_updated`.
pub fn jira(body: &[u8], settings: &SourceSettings) -> Result<Mapped, MapError> {
    let v = super::fields::parse(body)?;
    let event = text(&v, "/webhookEvent")?;
    if !matches!(event, "jira:issue_created" | "jira:issue_updated") {
        return Ok(Mapped::Ignored(format!(
            "Jira `{event}` events are not used"
        )));
    }
    let issue_type = text(&v, "/issue/fields/issuetype/name")?;
    let wanted: &[String] = &settings.incident_types;
    let is_incident = match wanted.is_empty() {
        true => issue_type.eq_ignore_ascii_case("incident"),
        false => wanted.iter().any(|t| t.eq_ignore_ascii_case(issue_type)),
    };
    if !is_incident {
        // Another type ([sources.jira] incident_types): a work item.
        return super::work::jira(&v, settings, event);
    }
    let key = text(&v, "/issue/key")?;
    let fields = v
        .pointer("/issue/fields")
        .ok_or_else(|| MapError("`/issue/fields` is missing".into()))?;
    let field = settings.service_field.as_deref().unwrap_or("components");
    let raw = fields.get(field).and_then(field_name).ok_or_else(|| {
        MapError(format!(
            "`/issue/fields/{field}` names no service ([sources.jira] service_field)"
        ))
    })?;
    let opened = jira_time(&v, "/issue/fields/created")?;
    let closed = match v.pointer("/issue/fields/resolutiondate") {
        None | Some(Value::Null) => None,
        Some(_) => Some(jira_time(&v, "/issue/fields/resolutiondate")?),
    };
    let title = kept_title(settings, &v, "/issue/fields/summary");
    incident(
        format!("jira:{key}"),
        name(&settings.service(&raw), "service")?,
        opened,
        closed,
        title,
    )
}
