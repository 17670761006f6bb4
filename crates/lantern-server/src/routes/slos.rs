//! Service level objectives (slo.md): each SLO of a scope at an instant.

use crate::extract::Query;
use crate::policy::Principal;
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Extension, State};
use lantern_app::report::{self, Reader};
use lantern_app::slos::{self, SloAnswer};
use lantern_events::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SloQuery {
    /// One service.
    service: Option<String>,
    /// A team of the catalog (not with `service`).
    team: Option<String>,
    /// The instant: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: now].
    at: Option<String>,
    /// `json` (default) or `csv` (`field,value`, one row per field);
    /// without it, `Accept: text/csv` asks for CSV.
    format: Option<String>,
}

/// Each SLO of the scope (a service, a team, or the organisation when
/// neither is given) at an instant, ordered by name: SLI, budget
/// remaining, burn rates, firing alerts and status; for a reader outside
/// a small group's team, `suppressed` and why (governance.md rule 2).
#[utoipa::path(
    get,
    path = "/api/v1/slos",
    params(SloQuery),
    responses(
        (status = 200, description = "Recorded in the audit log as an export.",
            content((Vec<SloAnswer> = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A parameter is wrong", body = Problem)
    )
)]
pub async fn slos(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: axum::http::HeaderMap,
    Query(q): Query<SloQuery>,
) -> Result<axum::response::Response, Problem> {
    let format = crate::export::Format::asked(q.format.as_deref(), &headers)?;
    let scope = report::scope(state.app(), q.service.as_deref(), q.team.as_deref())?;
    let at = match q.at.as_deref() {
        Some(text) => {
            Timestamp::parse_bound(text).map_err(|m| Problem::bad_request(format!("at: {m}")))?
        }
        None => Timestamp::now(),
    };
    let label =
        lantern_app::annotations::scope_label(&lantern_app::annotations::annotation_scope(&scope));
    let detail = format!("at {}", at.to_rfc3339());
    let reader = principal.clone();
    let answers = state
        .with_store(move |store, state| {
            let reader = Reader::Grant(&reader.grant);
            Ok(slos::status(store, state.app(), reader, &scope, at)?)
        })
        .await?;
    crate::export::answer(
        &state,
        &principal,
        format,
        ("slos.export", &label, &detail),
        answers,
        lantern_app::export::json_csv,
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GateQuery {
    /// The service about to be deployed.
    service: String,
    /// `planned` (default), `hotfix` or `rollback`.
    kind: Option<String>,
}

/// The deploy gate (slo.md): `allow`, `warn` or `deny` for a deployment of
/// the service now, why, and its SLOs as the reader may see them. Any
/// token may ask (a `gate` token reads nothing else); every answer is
/// recorded in the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/gate",
    params(GateQuery),
    responses(
        (status = 200, body = lantern_app::gate::GateAnswer),
        (status = 400, description = "A parameter is wrong", body = Problem),
        (status = 404, body = Problem, description = "The catalog does not know the service")
    )
)]
pub async fn gate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(q): Query<GateQuery>,
) -> Result<Json<lantern_app::gate::GateAnswer>, Problem> {
    let kind = match q.kind.as_deref() {
        None => None,
        Some(k) => Some(
            lantern_events::DeploymentKind::ALL
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, kind)| *kind)
                .ok_or_else(|| Problem::bad_request("kind: one of planned, hotfix, rollback"))?,
        ),
    };
    let answer = state
        .with_store(move |store, state| {
            let reader = Reader::Grant(&principal.grant);
            Ok(lantern_app::gate::decide(
                store,
                state.app(),
                reader,
                (&q.service, kind),
                Timestamp::now(),
                |action, scope, outcome| principal.record(action, scope, outcome),
            )?)
        })
        .await?;
    Ok(Json(answer))
}
