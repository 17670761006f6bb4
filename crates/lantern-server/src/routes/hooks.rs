//! Webhook receivers. Each one maps its body through `sources`, commits
//! the events, and only then answers 2xx; a body it cannot map is kept as
//! a dead letter and answered 400.

use crate::problem::Problem;
use crate::sources::{self, Mapped};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use lantern_events::Timestamp;
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
    let headers: Vec<(String, String)> = kept
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?.to_str().ok()?;
            Some((name.to_string(), value.to_string()))
        })
        .collect();
    match sources::map(source, &headers, &body, state.pseudonymiser()) {
        Ok(Mapped::Events(events)) => {
            let accepted = events.len();
            state
                .with_store(move |store, _| {
                    store
                        .write(&events)
                        .map_err(|e| Problem::internal(format!("the events were not stored: {e}")))
                })
                .await?;
            Ok((
                StatusCode::OK,
                Json(Accepted {
                    accepted,
                    ignored: None,
                }),
            ))
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
                received_at: now(),
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

fn now() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    Timestamp::from_micros(micros)
}
