//! flow.md's figures for a team, a service, or every team of the catalog.

use crate::extract::Query;
use crate::policy::Principal;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::{Extension, State};
use lantern_app::flow::{FlowRequest, FlowResult};
use lantern_app::report::Reader;
use lantern_engine::Bucket;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FlowQuery {
    /// A team of the catalog [default: every team].
    team: Option<String>,
    /// One service (not with `team`): the work items that name it.
    service: Option<String>,
    /// Start: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: 90 days before `to`].
    from: Option<String>,
    /// End, exclusive: YYYY-MM-DD or RFC 3339 [default: the start of today, UTC].
    to: Option<String>,
    /// Also the figures per `day`, `week` (ISO) or `month`.
    bucket: Option<String>,
    /// `json` (default) or `csv` (`scope,from,to,metric,field,value`);
    /// without it, `Accept: text/csv` asks for CSV.
    format: Option<String>,
}

/// Flow velocity, time, efficiency, load and distribution (flow.md) of a
/// team or a service; without either, of every team, alphabetically.
#[utoipa::path(
    get,
    path = "/api/v1/flow",
    params(FlowQuery),
    responses(
        (status = 200, description = "The figures (for one scope, the same five objects as a team report's `flow`, beside `scope` and `window`); for a reader outside a small scope's team, `suppressed` and why (governance.md rule 2). Recorded in the audit log as an export.",
            content((FlowResult = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A parameter is wrong", body = Problem),
        (status = 404, description = "No such team or service", body = Problem)
    )
)]
pub async fn flow(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: axum::http::HeaderMap,
    Query(q): Query<FlowQuery>,
) -> Result<axum::response::Response, Problem> {
    let format = crate::export::Format::asked(q.format.as_deref(), &headers)?;
    let scope = match (&q.team, &q.service) {
        (Some(_), Some(_)) => return Err(Problem::bad_request("give team or service, not both")),
        (None, None) => None,
        (team, service) => Some(lantern_app::report::scope(
            state.app(),
            service.as_deref(),
            team.as_deref(),
        )?),
    };
    let window = crate::extract::window(q.from.as_deref(), q.to.as_deref())?;
    let bucket = q
        .bucket
        .as_deref()
        .map(Bucket::parse)
        .transpose()
        .map_err(|m| Problem::bad_request(format!("bucket: {m}")))?;
    let label = match &scope {
        Some(s) => {
            lantern_app::annotations::scope_label(&lantern_app::annotations::annotation_scope(s))
        }
        None => "teams".into(),
    };
    let detail = format!("{} to {}", window.from.to_rfc3339(), window.to.to_rfc3339());
    let request = FlowRequest {
        scope,
        window,
        bucket,
    };
    let reader = principal.clone();
    let answer = state
        .with_store(move |store, state| {
            let reader = Reader::Grant(&reader.grant);
            Ok(lantern_app::flow::flow(
                store,
                state.app(),
                reader,
                &request,
            )?)
        })
        .await?;
    crate::export::answer(
        &state,
        &principal,
        format,
        ("flow.export", &label, &detail),
        answer,
        lantern_app::export::flow_csv,
    )
    .await
}
