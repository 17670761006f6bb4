//! Webhook receivers. Each one maps its body through `sources`, commits
//! the events, and only then answers 2xx; a body it cannot map is kept as
//! a dead letter and answered 400.

use crate::policy::{Credentials, Lookup};
use crate::problem::Problem;
use crate::sources::{self, Mapped, SourceSettings};
use crate::state::AppState;
use crate::verify;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use lantern_governance::{Need, TokenParts};
use lantern_store::DeadLetter;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    /// Events committed.
    pub accepted: usize,
    /// Why nothing was taken, for a kind of delivery Lantern does not use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// Canonical events (events.md): one object or an array. Re-sending an
/// event with the same type and id replaces it, so retries are safe.
#[utoipa::path(
    post,
    path = "/hooks/events",
    request_body(content = serde_json::Value, description = "An event, or an array of events"),
    responses(
        (status = 200, description = "Committed", body = Accepted),
        (status = 400, description = "Not canonical events; kept as a dead letter", body = Problem),
        (status = 413, description = "Larger than the body limit", body = Problem)
    )
)]
pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    receive(&state, "events", &headers, &[], body).await
}

/// GitHub webhooks (deployment_status, push, pull_request,
/// pull_request_review, workflow_run; ping), signed with
/// `X-Hub-Signature-256`.
#[utoipa::path(
    post,
    path = "/hooks/github",
    request_body(content = serde_json::Value, description = "A GitHub webhook; the type in X-GitHub-Event"),
    responses(
        (status = 200, description = "Committed", body = Accepted),
        (status = 202, description = "An event Lantern does not use (or ping); ignored", body = Accepted),
        (status = 400, description = "Not the GitHub body the event type says; kept as a dead letter", body = Problem),
        (status = 401, description = "Missing or wrong signature", body = Problem)
    )
)]
pub async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    receive(
        &state,
        "github",
        &headers,
        &["x-github-event", "x-github-delivery"],
        body,
    )
    .await
}

/// GitLab webhooks (deployment, merge request and push hooks), with the
/// hook's secret token in `X-Gitlab-Token`.
#[utoipa::path(
    post,
    path = "/hooks/gitlab",
    request_body(content = serde_json::Value, description = "A GitLab webhook"),
    responses(
        (status = 200, description = "Committed", body = Accepted),
        (status = 202, description = "A hook Lantern does not use; ignored", body = Accepted),
        (status = 400, description = "Not a GitLab body; kept as a dead letter", body = Problem),
        (status = 401, description = "Missing or wrong token", body = Problem)
    )
)]
pub async fn gitlab(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    receive(&state, "gitlab", &headers, &[], body).await
}

/// CDEvents 0.4 and 0.5, CloudEvents binary (`ce-*` headers) or
/// structured mode; `Authorization: Bearer <secret>`.
#[utoipa::path(
    post,
    path = "/hooks/cdevents",
    request_body(content = serde_json::Value, description = "A CDEvent, or a CloudEvent carrying one"),
    responses(
        (status = 200, description = "Committed", body = Accepted),
        (status = 202, description = "An event type Lantern does not use; ignored", body = Accepted),
        (status = 400, description = "Not a CDEvent; kept as a dead letter", body = Problem),
        (status = 401, description = "Missing or wrong token", body = Problem)
    )
)]
pub async fn cdevents(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    receive(&state, "cdevents", &headers, &["ce-type", "ce-id"], body).await
}

/// PagerDuty webhooks v3 (incident events), signed with
/// `X-PagerDuty-Signature` (`v1=…`, several during a rotation).
#[utoipa::path(
    post,
    path = "/hooks/pagerduty",
    request_body(content = serde_json::Value, description = "A PagerDuty v3 webhook"),
    responses(
        (status = 200, description = "Committed", body = Accepted),
        (status = 202, description = "Not an incident event; ignored", body = Accepted),
        (status = 400, description = "Not a PagerDuty v3 body; kept as a dead letter", body = Problem),
        (status = 401, description = "Missing or wrong signature", body = Problem)
    )
)]
pub async fn pagerduty(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    receive(&state, "pagerduty", &headers, &[], body).await
}

/// Opsgenie alert actions (Create, Acknowledge, Close), with
/// `Authorization: Bearer <secret>`.
#[utoipa::path(
    post,
    path = "/hooks/opsgenie",
    request_body(content = serde_json::Value, description = "An Opsgenie alert action"),
    responses(
        (status = 200, description = "Committed", body = Accepted),
        (status = 202, description = "An action that changes no incident time; ignored", body = Accepted),
        (status = 400, description = "Not an Opsgenie body; kept as a dead letter", body = Problem),
        (status = 401, description = "Missing or wrong token", body = Problem)
    )
)]
pub async fn opsgenie(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    receive(&state, "opsgenie", &headers, &[], body).await
}

/// Prometheus Alertmanager webhooks (version 4), with
/// `Authorization: Bearer <secret>` (Alertmanager's `http_config`).
#[utoipa::path(
    post,
    path = "/hooks/alertmanager",
    request_body(content = serde_json::Value, description = "An Alertmanager webhook"),
    responses(
        (status = 200, description = "Committed", body = Accepted),
        (status = 400, description = "Not an Alertmanager body; kept as a dead letter", body = Problem),
        (status = 401, description = "Missing or wrong token", body = Problem)
    )
)]
pub async fn alertmanager(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    receive(&state, "alertmanager", &headers, &[], body).await
}

/// Whether the delivery comes from the configured sender: its source's
/// signature or shared secret, or a Lantern ingest token for this source
/// (governance.md rule 3: an ingest token writes only its own source).
async fn authentic(
    state: &AppState,
    source: &str,
    settings: &SourceSettings,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Problem> {
    if signed(source, settings, headers, body) {
        return Ok(());
    }
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer.and_then(|t| TokenParts::parse(t.trim())) {
        let Lookup::Active(grant) = state.look_up(Credentials::Token(token)).await? else {
            refuse(state, source, "an unknown, expired or revoked token").await?;
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "the token is unknown, expired or revoked",
            ));
        };
        let principal = crate::policy::Principal { grant };
        let need = Need::Ingest {
            source: source.to_string(),
        };
        return state
            .authorize(&principal, need, &format!("ingest /hooks/{source}"), "-")
            .await;
    }
    let detail = if settings.secrets.is_empty() {
        format!(
            "/hooks/{source} takes an ingest token (`lantern token create --role ingest --source {source}`) or a secret set in [sources.{source}] secrets or LANTERN_{}_SECRET",
            source.to_uppercase()
        )
    } else {
        format!("the delivery to /hooks/{source} is not signed with a configured secret")
    };
    if has_credentials(source, headers) {
        refuse(state, source, "credentials that match no configured secret").await?;
    }
    Err(Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        detail,
    ))
}

/// Records a refused delivery that carried credentials: a forged or
/// replayed signature, a wrong secret. Deliveries with none are only
/// answered, so a scanner does not fill the audit log.
async fn refuse(state: &AppState, source: &str, why: &str) -> Result<(), Problem> {
    state
        .refuse(
            &format!("unknown sender to /hooks/{source}"),
            &format!("ingest /hooks/{source}"),
            "-",
            why,
        )
        .await
}

fn has_credentials(source: &str, headers: &HeaderMap) -> bool {
    let signature = match source {
        "github" => "x-hub-signature-256",
        "gitlab" => "x-gitlab-token",
        "pagerduty" => "x-pagerduty-signature",
        _ => "authorization",
    };
    headers.contains_key(signature) || headers.contains_key(axum::http::header::AUTHORIZATION)
}

/// Whether the delivery carries its source's signature or shared secret.
fn signed(source: &str, settings: &SourceSettings, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match source {
        "github" => header("x-hub-signature-256")
            .and_then(|s| s.strip_prefix("sha256="))
            .is_some_and(|sig| verify::hmac_sha256_matches(&settings.secrets, body, sig)),
        "gitlab" => header("x-gitlab-token").is_some_and(|token| {
            settings
                .secrets
                .iter()
                .any(|s| verify::constant_time_eq(s.as_bytes(), token.as_bytes()))
        }),
        "pagerduty" => header("x-pagerduty-signature").is_some_and(|all| {
            all.split(',')
                .filter_map(|s| s.trim().strip_prefix("v1="))
                .any(|sig| verify::hmac_sha256_matches(&settings.secrets, body, sig))
        }),
        _ => verify::bearer_matches(&settings.secrets, header("authorization")),
    }
}

/// The common path of every receiver: `kept` names the headers its
/// mapping reads, which a dead letter keeps for the replay.
async fn receive(
    state: &AppState,
    source: &'static str,
    headers: &HeaderMap,
    kept: &[&str],
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    let body = body.map_err(|e| {
        let status = e.status();
        let slug = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too-large"
        } else {
            "unreadable-body"
        };
        Problem::new(status, slug, e.body_text())
    })?;
    let unconfigured = SourceSettings::default();
    let settings = state
        .settings()
        .sources
        .get(source)
        .unwrap_or(&unconfigured);
    authentic(state, source, settings, headers, &body).await?;
    let headers: Vec<(String, String)> = kept
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some((name.to_string(), value.to_string()))
        })
        .collect();
    match sources::map(source, &headers, &body, settings, state.pseudonymiser()) {
        Ok(Mapped::Events(events)) => commit(state, events, false).await,
        Ok(Mapped::Merge(events)) => commit(state, events, true).await,
        Ok(Mapped::Ignored(why)) => Ok((
            StatusCode::ACCEPTED,
            Json(Accepted {
                accepted: 0,
                ignored: Some(why),
            }),
        )),
        Err(e) => {
            let reason = e.to_string();
            let letter = DeadLetter {
                id: 0,
                received_at: lantern_events::Timestamp::now(),
                source: source.to_string(),
                reason: reason.clone(),
                headers,
                body: body.to_vec(),
            };
            let id = state
                .with_store(move |store, _| {
                    store
                        .add_dead_letter(&letter)
                        .map_err(|e| Problem::internal(format!("the body could not be kept: {e}")))
                })
                .await?;
            tracing::warn!(source, id, %reason, "rejected a delivery");
            Err(Problem::bad_request(format!(
                "{reason} (kept as dead letter {id}; `lantern deadletter replay {id}` after a fix)"
            )))
        }
    }
}

/// Stores the events (merged into stored ones when `merge`), then answers.
async fn commit(
    state: &AppState,
    events: Vec<lantern_events::Event>,
    merge: bool,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    let accepted = events.len();
    state.commit(events, merge).await?;
    Ok((
        StatusCode::OK,
        Json(Accepted {
            accepted,
            ignored: None,
        }),
    ))
}
