//! Incident tools: PagerDuty (webhooks v3), Opsgenie (alert actions) and
//! Prometheus Alertmanager (webhook v4). Each delivery reports one fact
//! about an incident (it started, was acknowledged, was resolved), so the
//! events they map to are merged into the stored incident.

use super::fields::{opt_text, parse, text, time};
use super::{MapError, Mapped, SourceSettings};
use lantern_events::{Event, EventId, Incident, Name, Timestamp};
use serde_json::Value;

fn incident(
    id: String,
    service: &str,
    settings: &SourceSettings,
    started_at: Timestamp,
) -> Result<Incident, MapError> {
    let service = settings.service(service);
    Ok(Incident {
        id: EventId::parse(&id).map_err(|m| MapError(format!("incident id {m}")))?,
        service: Name::parse(&service)
            .map_err(|m| MapError(format!("service `{service}`: {m}")))?,
        services: Vec::new(),
        started_at,
        detected_at: None,
        acknowledged_at: None,
        resolved_at: None,
        severity: None,
        cause: None,
        caused_by: None,
        caused_by_sha: None,
        title: None,
    })
}

/// PagerDuty v3: `incident.triggered` starts it (at the incident's
/// `created_at`), `incident.acknowledged` and `incident.resolved` add
/// their `occurred_at`. Other incident events refresh what is known; other
/// resources are not incidents.
pub fn pagerduty(body: &[u8], settings: &SourceSettings) -> Result<Mapped, MapError> {
    let v = parse(body)?;
    let event = v
        .get("event")
        .ok_or_else(|| MapError("`event` is missing".into()))?;
    if event.get("resource_type").and_then(Value::as_str) != Some("incident") {
        return Ok(Mapped::Ignored(format!(
            "PagerDuty `{}` events are not incidents",
            event
                .get("event_type")
                .and_then(Value::as_str)
                .unwrap_or("?")
        )));
    }
    let kind = text(event, "/event_type")?;
    let data = event
        .get("data")
        .ok_or_else(|| MapError("`event.data` is missing".into()))?;
    let mut i = incident(
        format!("pagerduty:{}", text(data, "/id")?),
        text(data, "/service/summary")?,
        settings,
        time(data, "/created_at")?,
    )?;
    i.title = opt_text(data, "/title");
    i.severity = data
        .pointer("/priority/summary")
        .or_else(|| data.get("urgency"))
        .and_then(Value::as_str)
        .map(str::to_string);
    match kind {
        "incident.acknowledged" => i.acknowledged_at = Some(time(event, "/occurred_at")?),
        "incident.resolved" => i.resolved_at = Some(time(event, "/occurred_at")?),
        _ => {}
    }
    Ok(Mapped::Merge(vec![Event::Incident(i)]))
}

/// Alertmanager: one incident per alert episode (fingerprint and start),
/// resolved at `endsAt` once the alert is resolved. The service is the
/// alert's `service` label, else its `job`.
pub fn alertmanager(body: &[u8], settings: &SourceSettings) -> Result<Mapped, MapError> {
    let v = parse(body)?;
    let alerts = v
        .get("alerts")
        .and_then(Value::as_array)
        .ok_or_else(|| MapError("`alerts` is missing or not an array".into()))?;
    let mut events = Vec::with_capacity(alerts.len());
    for (n, a) in alerts.iter().enumerate() {
        let at = |e: MapError| MapError(format!("alerts[{n}]: {}", e.0));
        let service = a
            .pointer("/labels/service")
            .or_else(|| a.pointer("/labels/job"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                at(MapError(
                    "no `service` or `job` label names the service".into(),
                ))
            })?;
        let started = time(a, "/startsAt").map_err(at)?;
        let mut i = incident(
            format!(
                "alertmanager:{}:{}",
                text(a, "/fingerprint").map_err(at)?,
                started.micros()
            ),
            service,
            settings,
            started,
        )
        .map_err(at)?;
        i.severity = opt_text(a, "/labels/severity");
        i.title = opt_text(a, "/annotations/summary");
        if a.get("status").and_then(Value::as_str) == Some("resolved") {
            i.resolved_at = Some(time(a, "/endsAt").map_err(at)?);
        }
        events.push(Event::Incident(i));
    }
    Ok(Mapped::Merge(events))
}

/// Opsgenie alert actions: `Create` starts an incident at `createdAt`
/// (epoch milliseconds), `Acknowledge` and `Close` add `updatedAt` (epoch
/// nanoseconds). The service is the first of the alert's entity and tags
/// that the source's `services` map knows, else the entity.
pub fn opsgenie(body: &[u8], settings: &SourceSettings) -> Result<Mapped, MapError> {
    let v = parse(body)?;
    let action = text(&v, "/action")?;
    if !matches!(action, "Create" | "Acknowledge" | "Close") {
        return Ok(Mapped::Ignored(format!(
            "Opsgenie `{action}` does not change an incident's times"
        )));
    }
    let alert = v
        .get("alert")
        .ok_or_else(|| MapError("`alert` is missing".into()))?;
    let entity = alert.get("entity").and_then(Value::as_str).unwrap_or("");
    let tags: Vec<&str> = alert
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let service = std::iter::once(entity)
        .chain(tags)
        .find(|c| settings.services.contains_key(*c))
        .or((!entity.is_empty()).then_some(entity))
        .ok_or_else(|| {
            MapError("no service: give the alert an entity, or map one of its tags in [sources.opsgenie] services".into())
        })?;
    let millis = alert
        .get("createdAt")
        .and_then(Value::as_i64)
        .ok_or_else(|| MapError("`alert.createdAt` is missing or not a number".into()))?;
    let mut i = incident(
        format!("opsgenie:{}", text(alert, "/alertId")?),
        service,
        settings,
        Timestamp::from_micros(millis.saturating_mul(1000)),
    )?;
    i.title = opt_text(alert, "/message");
    if action != "Create" {
        let nanos = alert
            .get("updatedAt")
            .and_then(Value::as_i64)
            .ok_or_else(|| MapError("`alert.updatedAt` is missing or not a number".into()))?;
        let at = Some(Timestamp::from_micros(nanos / 1000));
        if action == "Acknowledge" {
            i.acknowledged_at = at;
        } else {
            i.resolved_at = at;
        }
    }
    Ok(Mapped::Merge(vec![Event::Incident(i)]))
}
