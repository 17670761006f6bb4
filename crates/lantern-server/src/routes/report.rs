//! The report of metrics.md for a service, a team or the organisation, and
//! the same in buckets for trends.

use crate::document::{ReportAnswer, ReportDocument, SuppressedReport};
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::access::store_error;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use lantern_engine::{Bucket, Ledger, Scope, Window, buckets};
use lantern_events::Name;
use lantern_governance::{ReportScope, suppression};
use serde::Deserialize;
use std::collections::BTreeSet;
use utoipa::IntoParams;

/// A bound on what one request can ask the engine to compute.
const MAX_BUCKETS: usize = 10_000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// One service.
    service: Option<String>,
    /// A team of the catalog (not with `service`).
    team: Option<String>,
    /// Start: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: 90 days before `to`].
    from: Option<String>,
    /// End, exclusive [default: now].
    to: Option<String>,
    /// Also the report per `day`, `week` (ISO) or `month`.
    bucket: Option<String>,
}

/// The report for a scope (a service, a team, or the organisation when
/// neither is given) and a window.
#[utoipa::path(
    get,
    path = "/api/v1/report",
    params(ReportQuery),
    responses(
        (status = 200, description = "The report; for a reader outside a small scope's team, `suppressed` and why (governance.md rule 2)", body = ReportAnswer),
        (status = 400, description = "A parameter is wrong", body = Problem)
    )
)]
pub async fn report(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<ReportAnswer>, Problem> {
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let scope = scope(&state, &q)?;
    let window = Window::from_bounds(
        q.from.as_deref(),
        q.to.as_deref(),
        lantern_events::Timestamp::now(),
    )
    .map_err(Problem::bad_request)?;
    let trend = match q.bucket.as_deref() {
        None => None,
        Some(size) => {
            let size = Bucket::parse(size).map_err(Problem::bad_request)?;
            let windows = buckets(&window, size);
            if windows.len() > MAX_BUCKETS {
                return Err(Problem::bad_request(format!(
                    "bucket: this window has {} of them, at most {MAX_BUCKETS} are computed; use a larger bucket or a shorter window",
                    windows.len()
                )));
            }
            Some(windows)
        }
    };
    let answer = state
        .with_store(move |store, state| {
            let settings = state.settings();
            let config = &settings.engine;
            let input = store
                .report_input(scope.services().as_ref(), window, config)
                .map_err(store_error)?;
            // Withheld figures are not computed at all.
            if let Some(reason) = suppressed(store, &principal, &scope, &input, window, state)? {
                return Ok(ReportAnswer::Suppressed(SuppressedReport {
                    scope: (&scope).into(),
                    window: window.into(),
                    suppressed: true,
                    reason,
                }));
            }
            let ledger = Ledger::build(&input, config);
            let document = ReportDocument::build(
                store,
                &ledger,
                &scope,
                window,
                trend,
                &settings.governance.review_sampling,
                &settings.teams,
            )
            .map_err(store_error)?;
            Ok(ReportAnswer::Figures(Box::new(document)))
        })
        .await?;
    Ok(Json(answer))
}

/// Rule 2 for this reader: the reason the figures are withheld, if they are.
pub(crate) fn suppressed(
    store: &dyn lantern_store::Store,
    principal: &Principal,
    scope: &Scope,
    input: &lantern_engine::ReportInput,
    window: Window,
    state: &AppState,
) -> Result<Option<String>, Problem> {
    let min_group = state.settings().governance.min_group_size;
    let rule_scope = match scope {
        Scope::Service(s) => ReportScope::Service {
            owners: state.owners(s),
        },
        Scope::Team { name, .. } => ReportScope::Team(name.clone()),
        Scope::Org => ReportScope::Org,
    };
    // Members and admins see the figures whatever the count: ask for it
    // only when it can change the answer.
    if suppression(&principal.grant, &rule_scope, u64::MAX, min_group).is_none()
        && suppression(&principal.grant, &rule_scope, 0, min_group).is_none()
    {
        return Ok(None);
    }
    let repos: Option<BTreeSet<Name>> = input
        .repos_deployed_by(scope)
        .map(|repos| repos.cloned().collect());
    let contributors = store
        .contributors(repos.as_ref(), window, min_group)
        .map_err(store_error)?;
    Ok(suppression(
        &principal.grant,
        &rule_scope,
        contributors,
        min_group,
    ))
}

fn scope(state: &AppState, q: &ReportQuery) -> Result<Scope, Problem> {
    match (&q.service, &q.team) {
        (Some(_), Some(_)) => Err(Problem::bad_request("give service or team, not both")),
        (Some(s), None) => Name::parse(s)
            .map(Scope::Service)
            .map_err(|m| Problem::bad_request(format!("service: {m}"))),
        (None, Some(t)) => {
            let teams = &state.settings().teams;
            let team = teams.iter().find(|x| x.name.as_str() == t).ok_or_else(|| {
                let known: Vec<&str> = teams.iter().map(|x| x.name.as_str()).collect();
                Problem::new(
                    axum::http::StatusCode::NOT_FOUND,
                    "unknown-team",
                    format!("no team `{t}` in the catalog; teams: {}", known.join(", ")),
                )
            })?;
            Ok(Scope::Team {
                name: team.name.clone(),
                services: team.services.clone(),
            })
        }
        (None, None) => Ok(Scope::Org),
    }
}
