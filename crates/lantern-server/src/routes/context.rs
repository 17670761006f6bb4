//! Annotations and disputes over the API (governance.md rule 8): listed
//! for every reader of figures, added by the scope's team members and
//! admins, disputes resolved by admins; every change audit-logged.

use crate::extract::{JsonBody, Path, Query, WindowQuery};
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::access::store_error;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use lantern_app::annotations::{self as context, AnnotationJson};
use lantern_engine::{Scope, Window};
use lantern_events::{EventId, Timestamp};
use lantern_governance::Need;
use serde::Deserialize;
use utoipa::ToSchema;

/// Annotations and disputes that touch the window, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/annotations",
    params(WindowQuery),
    responses((status = 200, body = [AnnotationJson]), (status = 400, body = Problem))
)]
pub async fn annotations(
    State(state): State<AppState>,
    Query(q): Query<WindowQuery>,
) -> Result<Json<Vec<AnnotationJson>>, Problem> {
    let window = q.window()?;
    let (list, disputes) = everything(&state).await?;
    let teams = &state.app().teams;
    Ok(Json(context::for_report(
        &list,
        &disputes,
        &Scope::Org,
        &window,
        teams,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnotationRequest {
    /// freeze, migration, dependency_outage, reorg or note.
    pub kind: String,
    #[schema(value_type = Object)]
    pub scope: serde_json::Value,
    pub from: String,
    pub to: Option<String>,
    pub title: String,
}

fn time(field: &str, v: &str) -> Result<Timestamp, Problem> {
    Timestamp::parse_bound(v).map_err(|m| Problem::bad_request(format!("{field}: {m}")))
}

/// The scope a contribution names, once the caller may contribute to it
/// (rule 8: its team's members, or admins); with its audit label.
async fn contributed_scope(
    state: &AppState,
    p: &Principal,
    scope: &serde_json::Value,
    action: &str,
) -> Result<(lantern_events::AnnotationScope, String), Problem> {
    let teams = &state.app().teams;
    let scope = context::parse_scope(scope, teams)?;
    let label = context::scope_label(&scope);
    let owners = context::owners(&scope, teams);
    state
        .authorize(p, Need::Contribute { owners }, action, &label)
        .await?;
    Ok((scope, label))
}

/// Adds an annotation (a freeze, a migration, an outage, …).
#[utoipa::path(
    post,
    path = "/api/v1/annotations",
    request_body = AnnotationRequest,
    responses((status = 201, body = AnnotationJson), (status = 400, body = Problem), (status = 403, body = Problem))
)]
pub async fn add_annotation(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody<AnnotationRequest>,
) -> Result<(StatusCode, Json<AnnotationJson>), Problem> {
    let (scope, label) = contributed_scope(&state, &p, &body.scope, "annotation.create").await?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| Problem::internal(e.to_string()))?;
    let id = format!("a-{}", u64::from_be_bytes(random));
    let annotation = context::new_annotation(
        EventId::parse(&id).map_err(Problem::internal)?,
        &body.kind,
        scope,
        time("from", &body.from)?,
        body.to.as_deref().map(|t| time("to", t)).transpose()?,
        &body.title,
    )?;
    let json = AnnotationJson::from(&annotation);
    let entry = p.record("annotation.create", &label, &format!("created {id}"));
    state
        .with_store(move |store, _| {
            store
                .add_annotations(vec![annotation], entry)
                .map_err(store_error)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json)))
}

/// Every annotation and every dispute, read together.
pub(crate) async fn everything(
    state: &AppState,
) -> Result<(Vec<lantern_events::Annotation>, Vec<lantern_store::Dispute>), Problem> {
    state
        .with_store(|store, _| {
            Ok((
                store.annotations().map_err(store_error)?,
                store.disputes().map_err(store_error)?,
            ))
        })
        .await
}

/// Every dispute, open and resolved.
#[utoipa::path(get, path = "/api/v1/disputes", responses((status = 200, body = [AnnotationJson])))]
pub async fn disputes(State(state): State<AppState>) -> Result<Json<Vec<AnnotationJson>>, Problem> {
    let list = state
        .with_store(|store, _| store.disputes().map_err(store_error))
        .await?;
    Ok(Json(list.iter().map(AnnotationJson::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeRequest {
    /// The metric challenged (its report key, e.g. `lead_time`).
    pub metric: String,
    #[schema(value_type = Object)]
    pub scope: serde_json::Value,
    pub from: String,
    pub to: String,
    /// What the figure misses, in a sentence.
    pub context: String,
}

/// Opens a dispute on a metric reading.
#[utoipa::path(
    post,
    path = "/api/v1/disputes",
    request_body = DisputeRequest,
    responses((status = 201, body = AnnotationJson), (status = 400, body = Problem), (status = 403, body = Problem))
)]
pub async fn open_dispute(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody<DisputeRequest>,
) -> Result<(StatusCode, Json<AnnotationJson>), Problem> {
    let (scope, label) = contributed_scope(&state, &p, &body.scope, "dispute.open").await?;
    let window = Window::new(time("from", &body.from)?, time("to", &body.to)?)?;
    let mut dispute =
        context::new_dispute(&body.metric, scope, window, &body.context, Timestamp::now())?;
    let entry = p.record(
        "dispute.open",
        &label,
        &format!("metric {}", dispute.metric),
    );
    let stored = dispute.clone();
    dispute.id = state
        .with_store(move |store, _| store.add_dispute(&stored, entry).map_err(store_error))
        .await?;
    Ok((StatusCode::CREATED, Json(AnnotationJson::from(&dispute))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// What was found or decided.
    pub note: String,
}

/// Resolves an open dispute with a note.
#[utoipa::path(
    post,
    path = "/api/v1/disputes/{id}/resolve",
    params(("id" = String, Path, description = "The dispute's id as listed (`dispute-7`), or its number")),
    request_body = Resolution,
    responses((status = 204, description = "Resolved"), (status = 404, body = Problem), (status = 409, description = "Already resolved", body = Problem))
)]
pub async fn resolve_dispute(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Resolution>,
) -> Result<StatusCode, Problem> {
    let id = context::dispute_number(&id)?;
    let note = body.note.trim().to_string();
    if note.is_empty() || note.chars().count() > 500 || note.chars().any(char::is_control) {
        return Err(Problem::bad_request(
            "note: a sentence of 1 to 500 characters on one line",
        ));
    }
    let entry = p.record("dispute.resolve", &format!("dispute:{id}"), "resolved");
    state
        .with_store(move |store, _| {
            match store
                .disputes()
                .map_err(store_error)?
                .iter()
                .find(|d| d.id == id)
            {
                None => Err(Problem::new(
                    StatusCode::NOT_FOUND,
                    "not-found",
                    format!("no dispute-{id}"),
                )),
                Some(d) if d.resolved_at.is_some() => Err(Problem::new(
                    StatusCode::CONFLICT,
                    "already-resolved",
                    format!("dispute-{id} is already resolved"),
                )),
                Some(_) => {
                    store
                        .resolve_dispute(id, &note, Timestamp::now(), entry)
                        .map_err(store_error)?;
                    Ok(StatusCode::NO_CONTENT)
                }
            }
        })
        .await
}
