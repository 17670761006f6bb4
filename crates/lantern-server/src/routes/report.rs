//! The report of metrics.md for a service, a team or the organisation, and
//! the same in buckets for trends.

use crate::extract::Query;
use crate::policy::Principal;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::{Extension, State};
use lantern_app::report::{self, Reader, ReportAnswer, ReportRequest};
use lantern_engine::Bucket;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// One service.
    service: Option<String>,
    /// A team of the catalog (not with `service`).
    team: Option<String>,
    /// Start: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: 90 days before `to`].
    from: Option<String>,
    /// End, exclusive: YYYY-MM-DD or RFC 3339 [default: the start of today, UTC].
    to: Option<String>,
    /// Also the report per `day`, `week` (ISO) or `month`.
    bucket: Option<String>,
    /// Also the same figures over the period before (`previous`) or 91
    /// days earlier (`quarter`), with the change (health.md).
    compare: Option<String>,
    /// `json` (default) or `csv` (`from,to,metric,field,value`); without
    /// it, `Accept: text/csv` asks for CSV.
    format: Option<String>,
}

/// The report for a scope (a service, a team, or the organisation when
/// neither is given) and a window.
#[utoipa::path(
    get,
    path = "/api/v1/report",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report; for a reader outside a small scope's team, `suppressed` and why (governance.md rule 2). Recorded in the audit log as an export.",
            content((ReportAnswer = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A parameter is wrong", body = Problem)
    )
)]
pub async fn report(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: axum::http::HeaderMap,
    Query(q): Query<ReportQuery>,
) -> Result<axum::response::Response, Problem> {
    let format = crate::export::Format::asked(q.format.as_deref(), &headers)?;
    let scope = report::scope(state.app(), q.service.as_deref(), q.team.as_deref())?;
    let window = crate::extract::window(q.from.as_deref(), q.to.as_deref())?;
    let bucket = q
        .bucket
        .as_deref()
        .map(Bucket::parse)
        .transpose()
        .map_err(Problem::bad_request)?;
    let compare = q
        .compare
        .as_deref()
        .map(lantern_app::compare::CompareMode::parse)
        .transpose()
        .map_err(|m| Problem::bad_request(format!("compare: {m}")))?;
    let request = ReportRequest {
        scope,
        window,
        bucket,
        compare,
    };
    request.trend()?;
    let label = lantern_app::annotations::scope_label(&lantern_app::annotations::annotation_scope(
        &request.scope,
    ));
    let detail = format!(
        "{} to {}",
        request.window.from.to_rfc3339(),
        request.window.to.to_rfc3339()
    );
    let reader = principal.clone();
    let answer = state
        .with_store(move |store, state| {
            let reader = Reader::Grant(&reader.grant);
            Ok(report::report(store, state.app(), reader, &request)?)
        })
        .await?;
    crate::export::answer(
        &state,
        &principal,
        format,
        ("report.export", &label, &detail),
        answer,
        |a| match a {
            ReportAnswer::Figures(doc) => {
                let buckets: Option<Vec<lantern_engine::Report>> = doc
                    .buckets
                    .as_ref()
                    .map(|b| b.iter().filter_map(|b| b.figures().cloned()).collect());
                lantern_app::export::report_csv(
                    &doc.report,
                    buckets.as_deref(),
                    doc.compare.as_ref(),
                )
            }
            ReportAnswer::Suppressed(s) => lantern_app::export::json_csv(s),
        },
    )
    .await
}
