//! The data route Backstage's DORA plugins read (`lantern_app::backstage`):
//! event-level detail of the services asked for, so each needs the detail
//! grant of its team (governance.md rule 3), and each read is recorded.

use crate::extract::JsonBody;
use crate::policy::Principal;
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Extension, State};
use lantern_app::backstage::Records;
use lantern_engine::Window;
use lantern_events::{Name, Timestamp};
use lantern_governance::Need;
use serde::Deserialize;
use utoipa::ToSchema;

/// The plugin's data request: the services (its "repositories", each a
/// Lantern service named by an entity's `lantern.dev/service`
/// annotation) or a catalog team, and the span.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataRequest {
    pub repositories: Option<Vec<String>>,
    pub team: Option<String>,
    /// RFC 3339 or YYYY-MM-DD.
    pub start: String,
    /// Exclusive: RFC 3339 or YYYY-MM-DD.
    pub end: String,
}

/// Per-service successful production deployments with their lead time
/// and failure, in the shape of the `@liatrio/backstage-dora-plugin` data
/// endpoint without a person in it (no `user`, no `title`).
#[utoipa::path(
    post,
    path = "/api/v1/backstage/data",
    request_body = DataRequest,
    responses(
        (status = 200, body = Records),
        (status = 400, description = "A field is wrong", body = Problem),
        (status = 403, description = "A service's detail is for its team", body = Problem),
        (status = 404, description = "A service no event names", body = Problem)
    )
)]
pub async fn data(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody<DataRequest>,
) -> Result<Json<Records>, Problem> {
    let time = |field: &str, v: &str| {
        Timestamp::parse_bound(v).map_err(|m| Problem::bad_request(format!("{field}: {m}")))
    };
    let window = Window::new(time("start", &body.start)?, time("end", &body.end)?)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    let services: Vec<Name> = match (&body.repositories, &body.team) {
        (Some(list), _) if !list.is_empty() => list
            .iter()
            .map(|s| Name::parse(s).map_err(|m| Problem::bad_request(format!("repositories: {m}"))))
            .collect::<Result<_, _>>()?,
        (_, Some(team)) => state
            .app()
            .team(team)
            .map_err(Problem::from)?
            .services
            .iter()
            .cloned()
            .collect(),
        _ => {
            return Err(Problem::bad_request(
                "give repositories (Lantern services, as an entity's lantern.dev/service annotation names them) or a team",
            ));
        }
    };
    for s in &services {
        let label = format!("service:{s}");
        state
            .authorize(
                &p,
                Need::Detail { service: s.clone() },
                "backstage.data",
                &label,
            )
            .await?;
    }
    let asked = services.clone();
    let records = state
        .with_store(move |store, state| {
            for s in &asked {
                lantern_app::report::known_scope(
                    store,
                    state.app(),
                    &lantern_engine::Scope::Service(s.clone()),
                )?;
            }
            Ok(lantern_app::backstage::records(
                store,
                state.app(),
                &asked,
                window,
            )?)
        })
        .await?;
    // Rule 4: detail read, with what was asked.
    let names: Vec<&str> = services.iter().map(Name::as_str).collect();
    state
        .audit(p.record(
            "backstage.data",
            &names.join(","),
            &format!(
                "200: {} deployments, {} to {}",
                records.records.len(),
                window.from.to_rfc3339(),
                window.to.to_rfc3339()
            ),
        ))
        .await?;
    Ok(Json(records))
}
