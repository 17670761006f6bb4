//! Liveness (the process answers) and readiness (the store answers).

use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// The process is up.
#[utoipa::path(get, path = "/healthz", security(()), responses((status = 200, description = "Up", body = Object, example = json!({"status": "ok"}))))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The store can be read.
#[utoipa::path(
    get,
    path = "/readyz",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Object, example = json!({"status": "ready"})),
        (status = 503, description = "The store cannot be read", body = Problem)
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    state
        .with_store(|store, _| {
            store.counts().map_err(|e| {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", e.to_string())
            })
        })
        .await?;
    Ok(Json(json!({"status": "ready"})))
}

/// Lantern's figures for Prometheus: the text format (0.0.4), or
/// OpenMetrics 1.0 when the scraper's `Accept` asks for it. Read with a
/// metrics token (`lantern token create --role metrics`), sent as a bearer
/// token; a browser asking for HTML is sent to `/docs/metrics`. Series per
/// service (labels `service`, `environment`, `team`, and `slo`/`window`
/// for SLOs), counters read from the store (monotonic across restarts and
/// replicas); services too small for rule 2 export nothing.
#[utoipa::path(
    get,
    path = "/metrics",
    responses(
        (status = 200, description = "The exposition", content_type = "text/plain", body = String),
        (status = 308, description = "A browser: the explanations are at /docs/metrics"),
        (status = 403, description = "Not a metrics token", body = crate::problem::Problem)
    )
)]
pub async fn prometheus_metrics(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    axum::extract::Extension(p): axum::extract::Extension<crate::policy::Principal>,
    headers: axum::http::HeaderMap,
) -> Result<axum::response::Response, crate::problem::Problem> {
    use axum::response::IntoResponse;
    let format = lantern_app::exposition::Format::from_accept(
        headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    let text = state
        .with_store(move |store, state| {
            state.exposition(store, lantern_app::report::Reader::Grant(&p.grant), format)
        })
        .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, format.content_type())],
        text,
    )
        .into_response())
}
