//! Feature-flag tools (hygiene.md F5): a flag turned on, off or changed
//! becomes an annotation of kind `feature_flag` whose title is the flag's
//! key and nothing else — no person, no description, no comment — so flag
//! flips sit on the charts beside deployments.
//!
//! - LaunchDarkly: its webhook sends an audit-log entry (`kind: flag`,
//!   `date` in epoch milliseconds, `target.resources` such as
//!   `proj/default:env/production:flag/checkout-v2`), signed in
//!   `X-LD-Signature` (hex HMAC-SHA256 of the body);
//! - Unleash: its webhook addon sends the event (`type` such as
//!   `feature-environment-enabled`, `featureName`, `project`,
//!   `environment`, `createdAt`).
//!
//! The scope is the service `[sources.X] services` maps the flag's key (or
//! else its project) to, and the organisation when neither is mapped.

use super::fields::{epoch, id, name, parse, text, time};
use super::{MapError, Mapped, SourceSettings};
use lantern_events::{Annotation, AnnotationKind, AnnotationScope, Event, Timestamp};
use serde_json::Value;

fn flag_annotation(
    id_text: String,
    key: &str,
    project: Option<&str>,
    at: Timestamp,
    settings: &SourceSettings,
) -> Result<Mapped, MapError> {
    let service = settings
        .services
        .get(key)
        .or_else(|| project.and_then(|p| settings.services.get(p)));
    let scope = match service {
        Some(s) => AnnotationScope::Service(name(s, "service")?),
        None => AnnotationScope::Org,
    };
    let title: String = key.chars().take(500).collect();
    if title.trim().is_empty() {
        return Err(MapError("the flag's key is empty".into()));
    }
    Ok(Mapped::Events(vec![Event::Annotation(Annotation {
        id: id(id_text)?,
        scope,
        kind: AnnotationKind::FeatureFlag,
        from: at,
        to: None,
        title,
    })]))
}

/// LaunchDarkly's audit-log entry of a flag change.
pub fn launchdarkly(body: &[u8], settings: &SourceSettings) -> Result<Mapped, MapError> {
    let v = parse(body)?;
    let kind = text(&v, "/kind")?;
    if kind != "flag" {
        return Ok(Mapped::Ignored(format!(
            "LaunchDarkly `{kind}` changes are not flag changes"
        )));
    }
    // `proj/KEY:env/ENV:flag/FLAG`: the flag's key and its project.
    let resource = v
        .pointer("/target/resources/0")
        .and_then(Value::as_str)
        .ok_or_else(|| MapError("`/target/resources/0` is missing or not a string".into()))?;
    let part = |prefix: &str| {
        resource
            .split(':')
            .find_map(|p| p.strip_prefix(prefix))
            .map(|p| p.split(';').next().unwrap_or(p))
    };
    let key = part("flag/")
        .ok_or_else(|| MapError(format!("`/target/resources/0` `{resource}` names no flag")))?;
    let entry = text(&v, "/_id")?;
    flag_annotation(
        format!("launchdarkly:{entry}"),
        key,
        part("proj/"),
        epoch(&v, "/date", 1_000)?,
        settings,
    )
}

/// An Unleash event about a flag.
pub fn unleash(body: &[u8], settings: &SourceSettings) -> Result<Mapped, MapError> {
    let v = parse(body)?;
    let kind = text(&v, "/type")?;
    if !kind.starts_with("feature-") {
        return Ok(Mapped::Ignored(format!(
            "Unleash `{kind}` events are not flag changes"
        )));
    }
    let event = v
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| MapError("`/id` is missing or not a whole number".into()))?;
    flag_annotation(
        format!("unleash:{event}"),
        text(&v, "/featureName")?,
        v.get("project").and_then(Value::as_str),
        time(&v, "/createdAt")?,
        settings,
    )
}
