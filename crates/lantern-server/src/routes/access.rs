//! Signing in, and what admins manage: tokens, the access review and the
//! audit log (governance.md rules 3 and 4).

use crate::extract::{JsonBody, Path, Query};
use crate::policy::{Credentials, Lookup, Principal, SESSION_COOKIE, session_hash};
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lantern_app::audit::{AuditJson, AuditVerdict, GrantJson, describe, verify_audit};
use lantern_events::{Name, Timestamp};
use lantern_governance::{NewGrant, Role, TokenParts};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(crate) fn store_error(e: impl Into<lantern_app::AppError>) -> Problem {
    e.into().into()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// A token from `lantern token create`.
    pub token: String,
}

/// How long a sign-in lasts (never past the token's expiry).
const SESSION_HOURS: i64 = 12;

/// Signs in with a token: answers with an HttpOnly, SameSite=Strict
/// session cookie (Secure when the request came over HTTPS).
#[utoipa::path(
    post,
    path = "/api/v1/session",
    security(()),
    request_body = SignIn,
    responses(
        (status = 204, description = "Signed in; the cookie is set"),
        (status = 401, description = "Not a valid, active token", body = Problem)
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SignIn>,
) -> Result<Response, Problem> {
    let refused = || {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "not a valid, active Lantern token",
        )
    };
    const ROUTE: &str = "/api/v1/session";
    let Some(parts) = TokenParts::parse(body.token.trim()) else {
        state
            .refuse_unknown(ROUTE, "-", "a sign-in with something that is not a token")
            .await?;
        return Err(refused());
    };
    let claimed = format!("token {}", parts.id);
    let Lookup::Active(grant) = state.look_up(Credentials::Token(parts)).await? else {
        state
            .refuse_unknown(
                ROUTE,
                &claimed,
                "a sign-in with an unknown, expired or revoked token",
            )
            .await?;
        return Err(refused());
    };
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| Problem::internal(e.to_string()))?;
    let value = lantern_events::hex(&secret);
    let hash = session_hash(&value).ok_or_else(|| Problem::internal("session value"))?;
    let now = Timestamp::now();
    let expires = grant
        .expires_at
        .min(now.plus_micros(SESSION_HOURS * 3600 * 1_000_000));
    state
        .with_store(move |store, _| {
            let entry = Principal {
                grant: grant.clone(),
                form_token: None,
            }
            .record("session.create", "-", "signed in");
            store
                .add_session(
                    lantern_store::NewSession {
                        hash: &hash,
                        grant_id: &grant.id,
                        expires_at: expires,
                    },
                    entry,
                )
                .map_err(store_error)
        })
        .await?;
    let secure = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let max_age = (expires.micros() - now.micros()) / 1_000_000;
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Signs out: the session ends on the server, the cookie is cleared.
#[utoipa::path(delete, path = "/api/v1/session", responses((status = 204, description = "Signed out")))]
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let hash = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|p| p.trim().strip_prefix("lantern_session="))
        .and_then(session_hash);
    if let Some(hash) = hash {
        state
            .with_store(move |store, _| store.remove_session(&hash).map_err(store_error))
            .await?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// The grant the request is made with.
#[utoipa::path(get, path = "/api/v1/whoami", responses((status = 200, body = GrantJson)))]
pub async fn whoami(Extension(p): Extension<Principal>) -> Json<GrantJson> {
    Json(GrantJson::new(&p.grant, Timestamp::now()))
}

/// Every grant, with its status.
#[utoipa::path(get, path = "/api/v1/tokens", responses((status = 200, body = [GrantJson])))]
pub async fn list_tokens(State(state): State<AppState>) -> Result<Json<Vec<GrantJson>>, Problem> {
    let now = Timestamp::now();
    let grants = state
        .with_store(|store, _| store.grants().map_err(store_error))
        .await?;
    Ok(Json(
        grants.iter().map(|g| GrantJson::new(g, now)).collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// `admin`, `org_viewer`, `team_member`, `reviewer` or `ingest`.
    pub role: String,
    #[serde(default)]
    pub teams: Vec<String>,
    /// For `ingest`: the source it writes (e.g. `github`).
    pub source: Option<String>,
    /// Why this access exists, in a sentence.
    pub purpose: String,
    /// Days until it expires (default 90; reviewers 14).
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedJson {
    /// Shown once: only its hash is kept.
    pub token: String,
    pub grant: GrantJson,
}

/// Creates a token. Its secret is in this answer and nowhere else.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    request_body = TokenRequest,
    responses((status = 201, body = IssuedJson), (status = 400, body = Problem))
)]
pub async fn create_token(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    JsonBody(body): JsonBody<TokenRequest>,
) -> Result<(StatusCode, Json<IssuedJson>), Problem> {
    let teams = body
        .teams
        .iter()
        .map(|t| Name::parse(t).map_err(|m| Problem::bad_request(format!("teams: {m}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewGrant {
        role: Role::parse(&body.role).map_err(|e| Problem::bad_request(e.to_string()))?,
        teams,
        source: body.source,
        purpose: body.purpose,
        days: body.days,
    };
    let known: Vec<Name> = state.app().teams.iter().map(|t| t.name.clone()).collect();
    let mut random = [0u8; 38];
    getrandom::fill(&mut random).map_err(|e| Problem::internal(e.to_string()))?;
    let now = Timestamp::now();
    let issued = new
        .issue(now, random, &known)
        .map_err(|e| Problem::bad_request(e.to_string()))?;
    let entry = p.record(
        "token.create",
        &format!("grant:{}", issued.grant.id),
        &describe(&issued.grant),
    );
    let (grant, hash) = (issued.grant.clone(), issued.secret_hash);
    state
        .with_store(move |store, _| store.add_grant(&grant, &hash, entry).map_err(store_error))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedJson {
            grant: GrantJson::new(&issued.grant, now),
            token: issued.token,
        }),
    ))
}

/// Revokes a token (and ends its sessions).
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    params(("id" = String, Path, description = "The grant id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem))
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    // Grant ids are short and printable; anything else names no token (and
    // must not reach the audit log or a database that refuses NUL bytes).
    let printable = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic());
    let done = if printable {
        let entry = p.record("token.revoke", &format!("grant:{id}"), "revoked");
        state.grants().forget(&id);
        state
            .with_store(move |store, state| {
                let done = store.revoke_grant(&id, entry).map_err(store_error)?;
                // Again after the commit: a request between the two may
                // have cached it.
                state.grants().forget(&id);
                Ok(done)
            })
            .await?
    } else {
        false
    };
    if done {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "no active token with this id",
        ))
    }
}

/// Every grant with its purpose, creation, last use and expiry; grants
/// unused for 30 days are flagged.
#[utoipa::path(get, path = "/api/v1/access-review", responses((status = 200, body = [GrantJson])))]
pub async fn access_review(State(state): State<AppState>) -> Result<Json<Vec<GrantJson>>, Problem> {
    list_tokens(State(state)).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SinceQuery {
    /// Only entries from this time (YYYY-MM-DD or RFC 3339).
    since: Option<String>,
}

/// The audit log, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    params(SinceQuery),
    responses((status = 200, body = [AuditJson]), (status = 400, body = Problem))
)]
pub async fn audit_log(
    State(state): State<AppState>,
    Query(q): Query<SinceQuery>,
) -> Result<Json<Vec<AuditJson>>, Problem> {
    let since = q
        .since
        .map(|s| {
            Timestamp::parse_bound(&s).map_err(|m| Problem::bad_request(format!("since: {m}")))
        })
        .transpose()?;
    let entries = state
        .with_store(move |store, _| store.audit_entries(since).map_err(store_error))
        .await?;
    Ok(Json(entries.iter().map(AuditJson::from).collect()))
}

/// Checks the audit log's hash chain.
#[utoipa::path(get, path = "/api/v1/audit/verify", responses((status = 200, body = AuditVerdict)))]
pub async fn audit_verify(State(state): State<AppState>) -> Result<Json<AuditVerdict>, Problem> {
    let verdict = state
        .with_store(|store, _| verify_audit(store).map_err(store_error))
        .await?;
    Ok(Json(verdict))
}
