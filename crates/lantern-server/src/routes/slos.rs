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
#[serde(deny_unknown_fields)]
pub struct SloQuery {
    /// One service.
    service: Option<String>,
    /// A team of the catalog (not with `service`).
    team: Option<String>,
    /// The instant: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: now].
    at: Option<String>,
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
        (status = 200, body = [SloAnswer]),
        (status = 400, description = "A parameter is wrong", body = Problem)
    )
)]
pub async fn slos(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Query(q): Query<SloQuery>,
) -> Result<Json<Vec<SloAnswer>>, Problem> {
    let scope = report::scope(state.app(), q.service.as_deref(), q.team.as_deref())?;
    let at = match q.at.as_deref() {
        Some(text) => {
            Timestamp::parse_bound(text).map_err(|m| Problem::bad_request(format!("at: {m}")))?
        }
        None => Timestamp::now(),
    };
    let answers = state
        .with_store(move |store, state| {
            let reader = Reader::Grant(&principal.grant);
            Ok(slos::status(store, state.app(), reader, &scope, at)?)
        })
        .await?;
    Ok(Json(answers))
}
