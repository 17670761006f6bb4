//! Liveness (the process answers) and readiness (the store answers).

use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// The process is up.
#[utoipa::path(get, path = "/healthz", security(()), responses((status = 200, description = "Up")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The store can be read.
#[utoipa::path(
    get,
    path = "/readyz",
    security(()),
    responses(
        (status = 200, description = "Ready"),
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
