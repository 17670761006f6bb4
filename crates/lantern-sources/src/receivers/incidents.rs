//! Incident tools: PagerDuty (webhooks v3), Opsgenie (alert actions) and
//! Prometheus Alertmanager (webhook v4). Each delivery reports one fact
//! about an incident (it started, was acknowledged, was resolved), so the
//! events they map to are merged into the stored incident.

use super::fields::{epoch, kept_title, opt_text, parse, text, time};
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
    // PagerDuty creates the incident when an alert or a person reports it.
    i.detected_at = Some(i.started_at);
    i.title = kept_title(settings, data, "/title");
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
///
/// Detection is the first notification: each delivery says it was received
/// now, and merging keeps the earliest.
pub fn alertmanager(
    body: &[u8],
    settings: &SourceSettings,
    received_at: Timestamp,
) -> Result<Mapped, MapError> {
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
        i.detected_at = Some(received_at.max(started));
        i.title = kept_title(settings, a, "/annotations/summary");
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
    let mut i = incident(
        format!("opsgenie:{}", text(alert, "/alertId")?),
        service,
        settings,
        epoch(&v, "/alert/createdAt", 1_000)?,
    )?;
    i.detected_at = Some(i.started_at);
    i.title = kept_title(settings, alert, "/message");
    if action != "Create" {
        let at = Some(epoch(&v, "/alert/updatedAt", 1_000_000_000)?);
        if action == "Acknowledge" {
            i.acknowledged_at = at;
        } else {
            i.resolved_at = at;
        }
    }
    Ok(Mapped::Merge(vec![Event::Incident(i)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::read(root.join("../lantern-server/tests/fixtures").join(path)).unwrap()
    }

    fn incident_of(mapped: Mapped) -> Incident {
        match mapped {
            Mapped::Merge(mut events) => match events.remove(0) {
                Event::Incident(i) => i,
                other => panic!("not an incident: {other:?}"),
            },
            other => panic!("not merged facts: {other:?}"),
        }
    }

    /// Each tool's own example, with and without `keep_titles`: its free
    /// text is stored only when asked for, and every one says when the
    /// incident was detected (hygiene.md M5).
    #[test]
    fn titles_only_when_kept_and_detection_always() {
        let received = Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
        let map = |settings: &SourceSettings| {
            [
                pagerduty(&fixture("pagerduty/incident_triggered_v3.json"), settings),
                opsgenie(&fixture("opsgenie/alert_create.json"), settings),
                alertmanager(
                    &fixture("alertmanager/webhook_v4_firing.json"),
                    settings,
                    received,
                ),
            ]
            .map(|m| incident_of(m.unwrap()))
        };
        // Opsgenie's example names its service only by a tag.
        let base = SourceSettings {
            services: [("tag1".to_string(), "web".to_string())].into(),
            ..SourceSettings::default()
        };
        let plain = map(&base);
        for i in &plain {
            assert_eq!(i.title, None, "{}", i.id.as_str());
        }
        let [pd, og, am] = &plain;
        assert_eq!(pd.detected_at, Some(pd.started_at));
        assert_eq!(og.detected_at, Some(og.started_at));
        assert_eq!(am.detected_at, Some(received));
        let kept = map(&SourceSettings {
            keep_titles: true,
            ..base
        });
        for i in &kept {
            assert!(i.title.as_deref().is_some_and(|t| !t.is_empty()));
        }
    }

    /// Alertmanager sends an alert again and again: detection is the first.
    #[test]
    fn alertmanager_detection_is_the_first_notification() {
        let body = fixture("alertmanager/webhook_v4_firing.json");
        let settings = SourceSettings::default();
        let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        let first = alertmanager(&body, &settings, at("2026-06-01T00:00:00Z")).unwrap();
        let again = alertmanager(&body, &settings, at("2026-06-01T00:05:00Z")).unwrap();
        let first = Event::Incident(incident_of(first));
        let mut again = Event::Incident(incident_of(again));
        again.fill_from(&first);
        let Event::Incident(merged) = again else {
            unreachable!()
        };
        assert_eq!(merged.detected_at, Some(at("2026-06-01T00:00:00Z")));
    }
}
