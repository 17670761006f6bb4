//! Event-level detail: a service's deployments, incidents and changes in a
//! window (changes without who wrote them: no person field ever leaves).
//! Only the service's team members, its reviewers and admins get here, and
//! every read is audit-logged (see `policy`).

use crate::extract::{Query, ServiceEvent, ServicePath, WindowQuery};
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use lantern_engine::Window;
use lantern_events::{
    Change, Deployment, DeploymentKind, DeploymentStatus, EventId, Incident, IncidentCause, Name,
    Timestamp, enum_name,
};
use lantern_store::{Store, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct DeploymentJson {
    pub id: String,
    pub service: String,
    pub environment: String,
    pub status: &'static str,
    pub started_at: Option<String>,
    pub finished_at: String,
    pub repo: Option<String>,
    pub sha: Option<String>,
    pub kind: Option<&'static str>,
    pub rollback_of: Option<String>,
    pub automated: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentJson {
    pub id: String,
    pub service: String,
    pub services: Vec<String>,
    pub started_at: String,
    pub detected_at: Option<String>,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
    pub severity: Option<String>,
    pub cause: Option<&'static str>,
    pub caused_by: Option<String>,
    pub caused_by_sha: Option<String>,
    pub title: Option<String>,
}

/// A change as detail shows it: where and when, never who.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeJson {
    pub repo: String,
    pub sha: String,
    pub committed_at: String,
    pub authored_at: String,
    pub pull_request: Option<String>,
}

impl From<Change> for ChangeJson {
    fn from(c: Change) -> Self {
        ChangeJson {
            repo: c.repo.to_string(),
            sha: c.sha.to_string(),
            committed_at: iso(c.committed_at),
            authored_at: iso(c.authored_at),
            pull_request: c.pull_request.map(|p| p.to_string()),
        }
    }
}

fn iso(t: Timestamp) -> String {
    t.to_rfc3339()
}

impl From<Deployment> for DeploymentJson {
    fn from(d: Deployment) -> Self {
        DeploymentJson {
            id: d.id.to_string(),
            service: d.service.to_string(),
            environment: d.environment.to_string(),
            status: enum_name(&DeploymentStatus::ALL, d.status),
            started_at: d.started_at.map(iso),
            finished_at: iso(d.finished_at),
            repo: d.repo.map(|r| r.to_string()),
            sha: d.sha.map(|s| s.to_string()),
            kind: d.kind.map(|k| enum_name(&DeploymentKind::ALL, k)),
            rollback_of: d.rollback_of.map(|r| r.to_string()),
            automated: d.automated,
        }
    }
}

impl From<Incident> for IncidentJson {
    fn from(i: Incident) -> Self {
        IncidentJson {
            id: i.id.to_string(),
            service: i.service.to_string(),
            services: i.services.iter().map(Name::to_string).collect(),
            started_at: iso(i.started_at),
            detected_at: i.detected_at.map(iso),
            acknowledged_at: i.acknowledged_at.map(iso),
            resolved_at: i.resolved_at.map(iso),
            severity: i.severity,
            cause: i.cause.map(|c| enum_name(&IncidentCause::ALL, c)),
            caused_by: i.caused_by.map(|c| c.to_string()),
            caused_by_sha: i.caused_by_sha.map(|s| s.to_string()),
            title: i.title,
        }
    }
}

/// Reads one service's events of one kind in a window.
type ReadDetail<E> = fn(&dyn Store, &Name, Window) -> Result<Vec<E>, StoreError>;

/// One service's events of one kind in the window, as JSON.
async fn detail<E: Send + 'static, J: From<E>>(
    state: AppState,
    ServicePath(service): ServicePath,
    Query(q): Query<WindowQuery>,
    read: ReadDetail<E>,
) -> Result<Json<Vec<J>>, Problem> {
    let window = q.window()?;
    let list = state
        .with_store(move |store, _| Ok(read(store, &service, window)?))
        .await?;
    Ok(Json(list.into_iter().map(J::from).collect()))
}

/// A service's deployments (every environment and status) that finished
/// in the window.
#[utoipa::path(
    get,
    path = "/api/v1/services/{service}/deployments",
    params(("service" = String, Path, description = "The service"), WindowQuery),
    responses((status = 200, body = [DeploymentJson]), (status = 400, body = Problem))
)]
pub async fn deployments(
    State(state): State<AppState>,
    path: ServicePath,
    query: Query<WindowQuery>,
) -> Result<Json<Vec<DeploymentJson>>, Problem> {
    detail(state, path, query, |store, service, window| {
        store.deployments_in(service, window)
    })
    .await
}

/// The incidents affecting a service that were open during the window.
#[utoipa::path(
    get,
    path = "/api/v1/services/{service}/incidents",
    params(("service" = String, Path, description = "The service"), WindowQuery),
    responses((status = 200, body = [IncidentJson]), (status = 400, body = Problem))
)]
pub async fn incidents(
    State(state): State<AppState>,
    path: ServicePath,
    query: Query<WindowQuery>,
) -> Result<Json<Vec<IncidentJson>>, Problem> {
    detail(state, path, query, |store, service, window| {
        store.incidents_in(service, window)
    })
    .await
}

/// The changes committed in the window to the repositories the service
/// deploys, without their authors.
#[utoipa::path(
    get,
    path = "/api/v1/services/{service}/changes",
    params(("service" = String, Path, description = "The service"), WindowQuery),
    responses((status = 200, body = [ChangeJson]), (status = 400, body = Problem))
)]
pub async fn changes(
    State(state): State<AppState>,
    path: ServicePath,
    query: Query<WindowQuery>,
) -> Result<Json<Vec<ChangeJson>>, Problem> {
    detail(state, path, query, |store, service, window| {
        store.changes_in(service, window)
    })
    .await
}

/// Why one deployment counts as it does: the rule that decided what it
/// shipped (explicit list, graph since the previous deployment, baseline),
/// how many changes and their commit times, the pull requests it took to
/// production, whether it failed and why (incidents and how each is
/// linked, its rollback, the hotfix after it), whether it was rework, and
/// its recovery time. No author, message or pseudonym.
#[utoipa::path(
    get,
    path = "/api/v1/services/{service}/deployments/{id}",
    params(
        ("service" = String, Path, description = "The service"),
        ("id" = String, Path, description = "The deployment's id")
    ),
    responses(
        (status = 200, body = lantern_engine::DeploymentExplanation),
        (status = 404, description = "No such deployment of the service, or not a measured one", body = Problem)
    )
)]
pub async fn deployment(
    State(state): State<AppState>,
    ServiceEvent(service, id): ServiceEvent,
) -> Result<Json<lantern_engine::DeploymentExplanation>, Problem> {
    Ok(Json(explanation(&state, service, id).await?))
}

/// One deployment explained, for the API and the dashboard alike.
pub async fn explanation(
    state: &AppState,
    service: Name,
    id: EventId,
) -> Result<lantern_engine::DeploymentExplanation, Problem> {
    state
        .with_store(move |store, state| {
            Ok(lantern_app::deployments::explain(
                store,
                state.app(),
                &service,
                &id,
            )?)
        })
        .await
}
