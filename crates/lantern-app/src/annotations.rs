//! Annotations and disputes (governance.md rule 8): what a request to add
//! one must hold, who owns its scope, and which ones a report shows. Shared
//! by the API, the dashboard and the CLI.

use crate::AppError;
use crate::settings::Team;
use lantern_engine::{Scope, Window, find_metric_doc};
use lantern_events::{Annotation, AnnotationKind, AnnotationScope, EventId, Name, Timestamp};
use lantern_store::Dispute;
use serde::Serialize;

/// Reads `{"service": …}`, `{"team": …}` or `{"org": true}`; a team must
/// be in the catalog.
pub fn parse_scope(value: &serde_json::Value, teams: &[Team]) -> Result<AnnotationScope, AppError> {
    let obj = value.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
        AppError::invalid(
            "scope: give one of {\"service\": NAME}, {\"team\": NAME}, {\"org\": true}",
        )
    })?;
    let (key, v) = obj
        .iter()
        .next()
        .ok_or_else(|| AppError::invalid("scope: empty"))?;
    let name = || {
        v.as_str()
            .ok_or_else(|| AppError::Invalid(format!("scope.{key}: expected a string")))
            .and_then(|s| {
                Name::parse(s).map_err(|m| AppError::Invalid(format!("scope.{key}: {m}")))
            })
    };
    match key.as_str() {
        "service" => Ok(AnnotationScope::Service(name()?)),
        "team" => {
            let team = name()?;
            if !teams.iter().any(|t| t.name == team) {
                return Err(AppError::Invalid(format!(
                    "scope.team: no team `{team}` in the catalog"
                )));
            }
            Ok(AnnotationScope::Team(team))
        }
        "org" if v == &serde_json::Value::Bool(true) => Ok(AnnotationScope::Org),
        _ => Err(AppError::Invalid(format!(
            "scope: `{key}` is not service, team or org (org takes true)"
        ))),
    }
}

/// The teams a scope belongs to: those who may annotate or dispute it.
pub fn owners(scope: &AnnotationScope, teams: &[Team]) -> Vec<Name> {
    match scope {
        AnnotationScope::Service(s) => service_owners(s, teams),
        AnnotationScope::Team(t) => vec![t.clone()],
        AnnotationScope::Org => vec![],
    }
}

/// The catalog's teams that own a service.
pub fn service_owners(service: &Name, teams: &[Team]) -> Vec<Name> {
    teams
        .iter()
        .filter(|t| t.services.contains(service))
        .map(|t| t.name.clone())
        .collect()
}

/// The annotation scope that names the same services as a report's scope.
pub fn annotation_scope(scope: &Scope) -> AnnotationScope {
    match scope {
        Scope::Service(s) => AnnotationScope::Service(s.clone()),
        Scope::Team { name, .. } => AnnotationScope::Team(name.clone()),
        Scope::Org => AnnotationScope::Org,
    }
}

pub fn scope_label(scope: &AnnotationScope) -> String {
    match scope {
        AnnotationScope::Service(s) => format!("service:{s}"),
        AnnotationScope::Team(t) => format!("team:{t}"),
        AnnotationScope::Org => "org".into(),
    }
}

pub fn scope_json(scope: &AnnotationScope) -> serde_json::Value {
    match scope {
        AnnotationScope::Service(s) => serde_json::json!({"service": s.as_str()}),
        AnnotationScope::Team(t) => serde_json::json!({"team": t.as_str()}),
        AnnotationScope::Org => serde_json::json!({"org": true}),
    }
}

fn sentence(field: &str, text: &str) -> Result<String, AppError> {
    let text = text.trim();
    let n = text.chars().count();
    if n == 0 || n > 500 || text.chars().any(char::is_control) {
        return Err(AppError::Invalid(format!(
            "{field}: a sentence of 1 to 500 characters on one line"
        )));
    }
    Ok(text.to_string())
}

/// A new annotation (not a dispute: those are opened as disputes).
pub fn new_annotation(
    id: EventId,
    kind: &str,
    scope: AnnotationScope,
    from: Timestamp,
    to: Option<Timestamp>,
    title: &str,
) -> Result<Annotation, AppError> {
    let kind = AnnotationKind::ALL
        .iter()
        .find(|(n, _)| *n == kind)
        .map(|(_, k)| *k)
        .ok_or_else(|| {
            AppError::invalid("kind: one of freeze, migration, dependency_outage, reorg, note")
        })?;
    if kind == AnnotationKind::Dispute {
        return Err(AppError::invalid(
            "kind: a dispute is opened with `dispute open` (POST /api/v1/disputes), so that it can be resolved",
        ));
    }
    if to.is_some_and(|t| t < from) {
        return Err(AppError::invalid("to: before from"));
    }
    Ok(Annotation {
        id,
        scope,
        kind,
        from,
        to,
        title: sentence("title", title)?,
    })
}

pub fn new_dispute(
    metric: &str,
    scope: AnnotationScope,
    window: Window,
    context: &str,
    now: Timestamp,
) -> Result<Dispute, AppError> {
    let doc = find_metric_doc(metric).ok_or_else(|| {
        AppError::Invalid(format!(
            "metric: `{metric}` is not a metric; `lantern explain` lists them"
        ))
    })?;
    Ok(Dispute {
        id: 0,
        metric: doc.key.to_string(),
        scope,
        from: window.from,
        to: window.to,
        context: sentence("context", context)?,
        opened_at: now,
        resolution: None,
        resolved_at: None,
    })
}

/// A dispute's number from its listed id (`dispute-7`) or the bare number.
pub fn dispute_number(id: &str) -> Result<i64, AppError> {
    id.strip_prefix("dispute-")
        .unwrap_or(id)
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::Invalid(format!("`{id}` is not a dispute id (like `dispute-7`)")))
}

/// An annotation or a dispute, as shown beside figures.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnnotationJson {
    pub id: String,
    /// `{"service": …}`, `{"team": …}` or `{"org": true}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub scope: serde_json::Value,
    pub kind: &'static str,
    pub from: String,
    pub to: Option<String>,
    pub title: String,
    /// Disputes: the metric challenged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Disputes: `open` or `resolved`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// Disputes: the admin's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

impl From<&Annotation> for AnnotationJson {
    fn from(a: &Annotation) -> Self {
        AnnotationJson {
            id: a.id.to_string(),
            scope: scope_json(&a.scope),
            kind: a.kind.as_str(),
            from: a.from.to_rfc3339(),
            to: a.to.map(Timestamp::to_rfc3339),
            title: a.title.clone(),
            metric: None,
            status: None,
            resolution: None,
        }
    }
}

impl From<&Dispute> for AnnotationJson {
    fn from(d: &Dispute) -> Self {
        AnnotationJson {
            id: format!("dispute-{}", d.id),
            scope: scope_json(&d.scope),
            kind: "dispute",
            from: d.from.to_rfc3339(),
            to: Some(d.to.to_rfc3339()),
            title: d.context.clone(),
            metric: Some(d.metric.clone()),
            status: Some(if d.resolved_at.is_some() {
                "resolved"
            } else {
                "open"
            }),
            resolution: d.resolution.clone(),
        }
    }
}

/// Whether an annotation's scope overlaps a report's: the organisation
/// touches everything, a team its services, a service its teams.
pub fn touches(annotation: &AnnotationScope, report: &Scope, teams: &[Team]) -> bool {
    let team_services = |t: &Name| teams.iter().find(|x| &x.name == t).map(|x| &x.services);
    match (annotation, report) {
        (AnnotationScope::Org, _) | (_, Scope::Org) => true,
        (AnnotationScope::Service(s), r) => r.contains(s),
        (AnnotationScope::Team(t), Scope::Team { name, .. }) => t == name,
        (AnnotationScope::Team(t), Scope::Service(s)) => {
            team_services(t).is_some_and(|set| set.contains(s))
        }
    }
}

/// The annotations and disputes that touch a scope and window, oldest first.
pub fn for_report(
    annotations: &[Annotation],
    disputes: &[Dispute],
    scope: &Scope,
    window: &Window,
    teams: &[Team],
) -> Vec<AnnotationJson> {
    let overlaps = |from: Timestamp, to: Option<Timestamp>| {
        from < window.to && to.unwrap_or(from) >= window.from
    };
    let mut out: Vec<(Timestamp, AnnotationJson)> = annotations
        .iter()
        .filter(|a| overlaps(a.from, a.to) && touches(&a.scope, scope, teams))
        .map(|a| (a.from, a.into()))
        .chain(
            disputes
                .iter()
                .filter(|d| overlaps(d.from, Some(d.to)) && touches(&d.scope, scope, teams))
                .map(|d| (d.from, d.into())),
        )
        .collect();
    out.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    out.into_iter().map(|(_, a)| a).collect()
}
