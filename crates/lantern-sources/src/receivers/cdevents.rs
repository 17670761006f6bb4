//! CDEvents 0.4 and 0.5, in CloudEvents binary mode (the CDEvent is the
//! body, `ce-*` headers carry the envelope) or structured mode (the body is
//! a CloudEvent whose `data` is the CDEvent), or a bare CDEvent.
//!
//! - `service.deployed|upgraded|rolledback`: a deployment of the subject
//!   service to `environment.id` (a rollback says so);
//! - `incident.detected|reported|resolved`: an incident of
//!   `content.service.id`, fact by fact;
//! - `change.created|reviewed|merged|abandoned`: a pull request of
//!   `content.repository.id`, fact by fact;
//! - `pipelinerun.finished` of a pipeline in `deploy_workflows`: a
//!   production deployment of the service the pipeline is mapped to;
//! - `ticket.created|closed` with `ticketType` `incident`: an incident;
//! - anything else: accepted and ignored.
//!
//! CDEvents carry no commit ids: deployments from them have no `sha`, so
//! they count for frequency and failures but not lead time.

use super::fields::{id, name, text};
use super::{MapError, Mapped, SourceSettings};
use lantern_events::{
    Deployment, DeploymentKind, DeploymentStatus, Event, Incident, PullRequest, Timestamp,
};
use serde_json::Value;

pub fn map(
    ce_type: Option<&str>,
    body: &[u8],
    settings: &SourceSettings,
) -> Result<Mapped, MapError> {
    let v = super::fields::parse(body)?;
    // Structured mode wraps the CDEvent in a CloudEvent's `data`.
    let event = match v.get("data") {
        Some(data) if data.get("context").is_some() => data,
        _ => &v,
    };
    if event.get("context").is_none() {
        return Err(MapError("no CDEvent: `context` is missing".into()));
    }
    let kind = match ce_type {
        Some(t) => t,
        None => text(event, "/context/type")?,
    };
    let mut parts = kind.strip_prefix("dev.cdevents.").unwrap_or("").split('.');
    let (subject, predicate) = match (parts.next(), parts.next()) {
        (Some(s), Some(p)) if !s.is_empty() => (s, p),
        _ => {
            return Err(MapError(format!(
                "`{kind}` is not a CDEvents type (dev.cdevents.SUBJECT.PREDICATE.VERSION)"
            )));
        }
    };
    let at = Timestamp::parse_rfc3339(text(event, "/context/timestamp")?)
        .map_err(|m| MapError(format!("`/context/timestamp`: {m}")))?;
    let content = event.pointer("/subject/content").unwrap_or(&Value::Null);
    match (subject, predicate) {
        ("service", "deployed" | "upgraded" | "rolledback") => {
            let service = settings.service(text(event, "/subject/id")?);
            Ok(Mapped::Merge(vec![Event::Deployment(Deployment {
                id: id(format!("cdevents:{}", text(event, "/context/id")?))?,
                service: name(&service, "service")?,
                environment: name(text(content, "/environment/id")?, "environment")?,
                status: DeploymentStatus::Success,
                started_at: None,
                finished_at: at,
                repo: None,
                sha: None,
                changes: None,
                kind: (predicate == "rolledback").then_some(DeploymentKind::Rollback),
                rollback_of: None,
                automated: None,
            })]))
        }
        ("incident", "detected" | "reported" | "resolved") => {
            let mut i = incident(event, content, settings, "/service/id", at)?;
            match predicate {
                "detected" => i.detected_at = Some(at),
                "resolved" => i.resolved_at = Some(at),
                _ => {}
            }
            Ok(Mapped::Merge(vec![Event::Incident(i)]))
        }
        ("ticket", "created" | "closed")
            if content.get("ticketType").and_then(Value::as_str) == Some("incident") =>
        {
            let service = content
                .get("group")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    MapError("an incident ticket needs `group` to name its service".into())
                })?;
            let mut i = incident(event, content, settings, "", at)?;
            i.service = name(&settings.service(service), "service")?;
            if predicate == "closed" {
                i.resolved_at = Some(at);
            }
            Ok(Mapped::Merge(vec![Event::Incident(i)]))
        }
        ("change", "created" | "reviewed" | "merged" | "abandoned") => {
            let repo = text(content, "/repository/id")?;
            let mut pr = PullRequest::opened(
                id(format!("{repo}#{}", text(event, "/subject/id")?))?,
                name(repo, "repository")?,
                at,
            );
            match predicate {
                "reviewed" => pr.first_review_at = Some(at),
                "merged" => {
                    pr.merged_at = Some(at);
                    pr.closed_at = Some(at);
                }
                "abandoned" => pr.closed_at = Some(at),
                _ => {}
            }
            Ok(Mapped::Merge(vec![Event::PullRequest(pr)]))
        }
        ("pipelinerun", "finished") => {
            let pipeline = text(content, "/pipelineName")?;
            if !settings.deploy_workflows.iter().any(|w| w == pipeline) {
                return Ok(Mapped::Ignored(format!(
                    "pipeline `{pipeline}` is not in [sources.cdevents] deploy_workflows"
                )));
            }
            let status = match content.get("outcome").and_then(Value::as_str) {
                Some("success") => DeploymentStatus::Success,
                Some("cancel" | "cancelled") => DeploymentStatus::Cancelled,
                _ => DeploymentStatus::Failure,
            };
            Ok(Mapped::Merge(vec![Event::Deployment(Deployment {
                id: id(format!("cdevents:{}", text(event, "/context/id")?))?,
                service: name(&settings.service(pipeline), "service")?,
                environment: name("production", "environment")?,
                status,
                started_at: None,
                finished_at: at,
                repo: None,
                sha: None,
                changes: None,
                kind: None,
                rollback_of: None,
                automated: Some(true),
            })]))
        }
        _ => Ok(Mapped::Ignored(format!(
            "CDEvents `{subject}.{predicate}` is not used"
        ))),
    }
}

/// An incident named by its subject; `service_path` in the content names
/// its service (empty: the caller sets it).
fn incident(
    event: &Value,
    content: &Value,
    settings: &SourceSettings,
    service_path: &str,
    at: Timestamp,
) -> Result<Incident, MapError> {
    let service = if service_path.is_empty() {
        "unknown".to_string()
    } else {
        settings.service(text(content, service_path)?)
    };
    Ok(Incident {
        id: id(format!(
            "cdevents:{}:{}",
            text(event, "/subject/source").or_else(|_| text(event, "/context/source"))?,
            text(event, "/subject/id")?
        ))?,
        service: name(&service, "service")?,
        services: Vec::new(),
        started_at: at,
        detected_at: None,
        acknowledged_at: None,
        resolved_at: None,
        severity: event
            .pointer("/customData/severity")
            .or_else(|| content.get("priority"))
            .and_then(Value::as_str)
            .map(str::to_string),
        cause: None,
        caused_by: None,
        caused_by_sha: None,
        title: None,
    })
}
