//! The webhook receivers' one handler. It maps a body through its
//! `lantern_sources::Receiver`, commits
//! the events, and only then answers 2xx; a body it cannot map is kept as
//! a dead letter and answered 400.

use crate::extract::Path;
use crate::policy::{Credentials, Lookup};
use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use lantern_governance::{Need, TokenParts};
use lantern_sources::{Delivery, Mapped, Receiver, SourceSettings};
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

/// Every receiver of `lantern_sources::RECEIVERS`: canonical events
/// (`events`: one object or an array; re-sending an event with the same
/// type and id replaces it), GitHub (deployment_status, push,
/// pull_request, pull_request_review, workflow_run; `X-Hub-Signature-256`),
/// GitLab (deployment, merge request and push hooks; `X-Gitlab-Token`),
/// PagerDuty v3 (`X-PagerDuty-Signature`), Opsgenie, Alertmanager and
/// CDEvents 0.4/0.5 (CloudEvents binary or structured mode) with
/// `Authorization: Bearer <secret>`. An ingest token for the source is
/// accepted by every receiver.
#[utoipa::path(
    post,
    path = "/hooks/{source}",
    security((), ("bearer" = [])),
    params(("source" = String, Path, description = "events, sli, github, gitlab, pagerduty, opsgenie, alertmanager, launchdarkly, unleash, jira or cdevents")),
    request_body(content = serde_json::Value, description = "The source's webhook body"),
    responses(
        (status = 200, description = "Committed", body = Accepted),
        (status = 202, description = "A kind of delivery Lantern does not use (or a ping); ignored", body = Accepted),
        (status = 400, description = "Not the body this source sends; kept as a dead letter", body = Problem),
        (status = 401, description = "Missing or wrong signature, secret or token", body = Problem),
        (status = 404, description = "No receiver of this name", body = Problem),
        (status = 413, description = "Larger than the body limit", body = Problem)
    )
)]
pub async fn receive(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    let receiver = lantern_sources::receiver(&source)
        .map_err(|e| Problem::new(StatusCode::NOT_FOUND, "not-found", e.to_string()))?;
    deliver(&state, receiver, &headers, body).await
}

/// Whether the delivery comes from the configured sender: its source's
/// signature or shared secret, or a Lantern ingest token for this source
/// (governance.md rule 3: an ingest token writes only its own source).
async fn authentic(
    state: &AppState,
    receiver: &Receiver,
    settings: &SourceSettings,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Problem> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if receiver.signed(settings, header, body) {
        return Ok(());
    }
    let source = receiver.name;
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
        let principal = crate::policy::Principal {
            grant,
            form_token: None,
        };
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
    if receiver.carries_credentials(|name| headers.contains_key(name)) {
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

/// Authenticates, maps and commits one delivery; a dead letter keeps the
/// headers the receiver's mapping reads, for the replay.
async fn deliver(
    state: &AppState,
    receiver: &'static Receiver,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    let source = receiver.name;
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
    let settings = state.app().sources.get(source).unwrap_or(&unconfigured);
    authentic(state, receiver, settings, headers, &body).await?;
    let headers: Vec<(String, String)> = receiver
        .kept_headers
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some((name.to_string(), value.to_string()))
        })
        .collect();
    let received_at = lantern_events::Timestamp::now();
    let delivery = Delivery {
        headers: &headers,
        body: &body,
        settings,
        pseudonymiser: state.pseudonymiser(),
        received_at,
    };
    match receiver.map(&delivery) {
        Ok(Mapped::Events(events)) => commit(state, source, events, false).await,
        Ok(Mapped::Merge(events)) => commit(state, source, events, true).await,
        Ok(Mapped::Chained { events, chain }) => {
            let look_up = chain.clone();
            let events = state
                .with_store(move |store, _| {
                    let mut events = events;
                    lantern_app::chains::resolve(&*store, &look_up, &mut events)?;
                    Ok(events)
                })
                .await?;
            let kept = events.clone();
            let answer = commit(state, source, events, true).await?;
            state
                .with_store(move |store, _| {
                    Ok(lantern_app::chains::remember(store, &chain, &kept)?)
                })
                .await?;
            Ok(answer)
        }
        Ok(Mapped::Work { events, unmapped }) => {
            let answer = commit(state, source, events, false).await?;
            if !unmapped.is_empty() {
                tracing::warn!(
                    source,
                    ?unmapped,
                    "tracker states [flow.states] does not map"
                );
                state
                    .with_store(move |store, _| {
                        Ok(lantern_app::flow::note_unmapped(store, source, &unmapped)?)
                    })
                    .await?;
            }
            Ok(answer)
        }
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
                received_at,
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
    receiver: &'static str,
    events: Vec<lantern_events::Event>,
    merge: bool,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    let accepted = events.len();
    state.commit(receiver, events, merge).await?;
    Ok((
        StatusCode::OK,
        Json(Accepted {
            accepted,
            ignored: None,
        }),
    ))
}
