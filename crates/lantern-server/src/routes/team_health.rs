//! Team health over the API (health.md): pulse rounds and their answers,
//! improvement experiments, and a team's operational load and strain.
//! Answering a pulse needs no token and records nothing of who answered.

use crate::extract::{JsonBody, Path, Query};
use crate::policy::Principal;
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use lantern_app::AppError;
use lantern_app::experiments::{self, ExperimentJson, ExperimentWords, NewExperiment};
use lantern_app::pulse::{self, Answer, OpenRound, RoundJson};
use lantern_app::report::Reader;
use lantern_app::team_health::{self, TeamHealth};
use lantern_events::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// A refusal by the use case (`AppError::Forbidden`) is recorded in the
/// audit log like the middleware's (rule 4), then answered 403.
pub(crate) async fn recorded<T>(
    state: &AppState,
    p: &Principal,
    action: &str,
    scope: &str,
    result: Result<T, Problem>,
) -> Result<T, Problem> {
    if let Err(problem) = &result
        && problem.status == 403
    {
        state
            .audit(p.record(action, scope, &format!("denied: {}", problem.detail)))
            .await?;
    }
    result
}

/// Runs a use case on the store with the caller as reader; its refusals
/// are recorded.
async fn as_reader<T: Send + 'static>(
    state: &AppState,
    p: &Principal,
    action: &'static str,
    scope: String,
    work: impl FnOnce(
        &mut dyn lantern_store::Store,
        &lantern_app::Settings,
        Reader,
    ) -> Result<T, AppError>
    + Send
    + 'static,
) -> Result<T, Problem> {
    let grant = p.grant.clone();
    let result = state
        .with_store(move |store, state| Ok(work(store, state.app(), Reader::Grant(&grant))?))
        .await;
    recorded(state, p, action, &scope, result).await
}

/// An audit record of this caller, for the use cases to complete.
fn recorder(
    p: &Principal,
) -> impl Fn(&str, &str, &str) -> lantern_governance::AuditRecord + Send + use<> {
    let p = p.clone();
    move |a, s, o| p.record(a, s, o)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TeamQuery {
    /// A team of the catalog.
    team: String,
}

/// A team's pulse rounds that this caller may see, oldest first: results
/// only once a round has closed, and per question only with enough
/// answers — for every reader.
#[utoipa::path(
    get,
    path = "/api/v1/pulse/rounds",
    params(TeamQuery),
    responses((status = 200, body = [RoundJson]), (status = 404, body = Problem))
)]
pub async fn rounds(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<TeamQuery>,
) -> Result<Json<Vec<RoundJson>>, Problem> {
    let scope = format!("team:{}", q.team);
    as_reader(
        &state,
        &p,
        "pulse.results",
        scope,
        move |store, settings, reader| {
            let team = settings.team(&q.team)?.name.clone();
            pulse::rounds(store, settings, reader, &team, Timestamp::now())
        },
    )
    .await
    .map(Json)
}

/// One round's results, for its team's members and admins (and org
/// viewers when it was opened with `org` visibility).
#[utoipa::path(
    get,
    path = "/api/v1/pulse/rounds/{round}",
    params(("round" = i64, Path, description = "The round's number")),
    responses((status = 200, body = RoundJson), (status = 403, body = Problem), (status = 404, body = Problem))
)]
pub async fn round(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Json<RoundJson>, Problem> {
    as_reader(
        &state,
        &p,
        "pulse.results",
        format!("round {id}"),
        move |store, settings, reader| pulse::round(store, settings, reader, id, Timestamp::now()),
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRoundRequest {
    pub team: String,
    /// When it stops taking answers: YYYY-MM-DD (midnight UTC) or RFC 3339.
    pub closes: String,
    /// `team` (default) or `org`; cannot be widened later.
    pub visibility: Option<String>,
}

/// Opens a pulse round for a team (its members and admins; audit-logged).
#[utoipa::path(
    post,
    path = "/api/v1/pulse/rounds",
    request_body = OpenRoundRequest,
    responses((status = 201, body = RoundJson), (status = 400, body = Problem), (status = 403, body = Problem))
)]
pub async fn open_round(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody<OpenRoundRequest>,
) -> Result<(StatusCode, Json<RoundJson>), Problem> {
    let record = recorder(&p);
    let scope = format!("team:{}", body.team);
    as_reader(
        &state,
        &p,
        "pulse.open",
        scope,
        move |store, settings, reader| {
            let now = Timestamp::now();
            let request = OpenRound::parse(
                settings,
                &body.team,
                &body.closes,
                body.visibility.as_deref(),
                now,
            )?;
            pulse::open(store, settings, reader, &request, now, &record)
        },
    )
    .await
    .map(|r| (StatusCode::CREATED, Json(r)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodesRequest {
    /// How many single-use links (1 to 500).
    pub count: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodesAnswer {
    pub round: i64,
    /// `/pulse/{round}#{code}`, one per person, shown this once: only the
    /// codes' hashes are kept. Prefix the dashboard's address.
    pub links: Vec<String>,
}

/// Issues single-use answer links for an open round.
#[utoipa::path(
    post,
    path = "/api/v1/pulse/rounds/{round}/codes",
    params(("round" = i64, Path, description = "The round's number")),
    request_body = CodesRequest,
    responses((status = 201, body = CodesAnswer), (status = 403, body = Problem), (status = 409, body = Problem))
)]
pub async fn codes(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<CodesRequest>,
) -> Result<(StatusCode, Json<CodesAnswer>), Problem> {
    let record = recorder(&p);
    let codes = as_reader(
        &state,
        &p,
        "pulse.codes",
        format!("round {id}"),
        move |store, _, reader| {
            pulse::issue_codes(store, reader, id, body.count, Timestamp::now(), &record)
        },
    )
    .await?;
    let links = codes.iter().map(|c| pulse::link("", id, c)).collect();
    Ok((StatusCode::CREATED, Json(CodesAnswer { round: id, links })))
}

/// Closes a round now; its codes are forgotten.
#[utoipa::path(
    post,
    path = "/api/v1/pulse/rounds/{round}/close",
    params(("round" = i64, Path, description = "The round's number")),
    responses((status = 200, body = RoundJson), (status = 403, body = Problem), (status = 409, body = Problem))
)]
pub async fn close_round(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Json<RoundJson>, Problem> {
    let record = recorder(&p);
    as_reader(
        &state,
        &p,
        "pulse.close",
        format!("round {id}"),
        move |store, settings, reader| {
            pulse::close(store, settings, reader, id, Timestamp::now(), &record)
        },
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// The code after `#` in the answer link.
    pub code: String,
    /// Question key → 1 (strongly disagree) … 5 (strongly agree); leave a
    /// question out to skip it.
    pub answers: BTreeMap<String, u8>,
}

/// Answers a pulse with a single-use code. No token: the code is the only
/// credential, and nothing of the request (address, time, token) is kept.
#[utoipa::path(
    post,
    path = "/api/v1/pulse/rounds/{round}/answers",
    params(("round" = i64, Path, description = "The round's number")),
    request_body = AnswerRequest,
    security(()),
    responses(
        (status = 204, description = "Stored"),
        (status = 400, body = Problem),
        (status = 404, description = "Not a code of this round", body = Problem),
        (status = 409, description = "The code was used, or the round is not open", body = Problem)
    )
)]
pub async fn answer(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<AnswerRequest>,
) -> Result<StatusCode, Problem> {
    let values: Vec<(String, String)> = body
        .answers
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    let answer = Answer::parse(
        &body.code,
        values.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )?;
    submit(&state, id, answer).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stores an answer (shared with the answer page).
pub(crate) async fn submit(state: &AppState, round: i64, answer: Answer) -> Result<(), Problem> {
    state
        .with_store(move |store, _| Ok(pulse::answer(store, round, &answer, Timestamp::now())?))
        .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExperimentsQuery {
    /// A team of the catalog [default: every team].
    team: Option<String>,
}

/// Experiments with their baseline, current value and verdict; values a
/// reader outside a small team may not see are `null` with `withheld`.
#[utoipa::path(
    get,
    path = "/api/v1/experiments",
    params(ExperimentsQuery),
    responses((status = 200, body = [ExperimentJson]), (status = 404, body = Problem))
)]
pub async fn experiments_list(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ExperimentsQuery>,
) -> Result<Json<Vec<ExperimentJson>>, Problem> {
    as_reader(
        &state,
        &p,
        "experiment.list",
        "-".into(),
        move |store, settings, reader| {
            experiments::list(store, settings, reader, q.team.as_deref(), Timestamp::now())
        },
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentRequest {
    pub team: String,
    /// The constraint, in a sentence.
    pub constraint: String,
    /// A path into the report, e.g. `pr_stages.pickup.median_s`.
    pub indicator: String,
    /// `up` or `down`.
    pub direction: String,
    pub from: String,
    pub review: String,
    #[serde(default)]
    pub expect_dip: Vec<String>,
}

/// Records an experiment (the team's members and admins; audit-logged).
#[utoipa::path(
    post,
    path = "/api/v1/experiments",
    request_body = ExperimentRequest,
    responses((status = 201, body = ExperimentJson), (status = 400, body = Problem), (status = 403, body = Problem))
)]
pub async fn add_experiment(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody<ExperimentRequest>,
) -> Result<(StatusCode, Json<ExperimentJson>), Problem> {
    let record = recorder(&p);
    let scope = format!("team:{}", body.team);
    as_reader(
        &state,
        &p,
        "experiment.create",
        scope,
        move |store, settings, reader| {
            let words = ExperimentWords {
                team: &body.team,
                constraint: &body.constraint,
                indicator: &body.indicator,
                direction: &body.direction,
                from: &body.from,
                review: &body.review,
                expect_dip: body.expect_dip.iter().map(String::as_str).collect(),
            };
            let new = NewExperiment::parse(settings, &words)?;
            experiments::add(store, settings, reader, new, Timestamp::now(), &record)
        },
    )
    .await
    .map(|e| (StatusCode::CREATED, Json(e)))
}

/// Ends a running experiment now.
#[utoipa::path(
    post,
    path = "/api/v1/experiments/{id}/end",
    params(("id" = i64, Path, description = "The experiment's number")),
    responses((status = 200, body = ExperimentJson), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem))
)]
pub async fn end_experiment(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> Result<Json<ExperimentJson>, Problem> {
    let record = recorder(&p);
    as_reader(
        &state,
        &p,
        "experiment.end",
        format!("experiment {id}"),
        move |store, settings, reader| {
            experiments::end(store, settings, reader, id, Timestamp::now(), &record)
        },
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TeamHealthQuery {
    /// A team of the catalog.
    team: String,
    /// Start: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: 90 days before `to`].
    from: Option<String>,
    /// End, exclusive [default: the start of today, UTC].
    to: Option<String>,
}

/// A team's operational load over the window and its strain at the
/// window's end (health.md).
#[utoipa::path(
    get,
    path = "/api/v1/team-health",
    params(TeamHealthQuery),
    responses((status = 200, body = TeamHealth), (status = 400, body = Problem), (status = 404, body = Problem))
)]
pub async fn team_health(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<TeamHealthQuery>,
) -> Result<Json<TeamHealth>, Problem> {
    let window = crate::extract::window(q.from.as_deref(), q.to.as_deref())?;
    let scope = format!("team:{}", q.team);
    as_reader(
        &state,
        &p,
        "team_health",
        scope,
        move |store, settings, reader| {
            team_health::team_health(store, settings, reader, &q.team, window, Timestamp::now())
        },
    )
    .await
    .map(Json)
}
