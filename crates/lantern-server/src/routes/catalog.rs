//! The catalog (teams and services) and what every metric means.

use crate::problem::Problem;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use lantern_engine::{MetricDoc, metric_docs as docs};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamEntry {
    pub name: String,
    pub services: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogDocument {
    /// Teams from the configuration, alphabetically.
    pub teams: Vec<TeamEntry>,
    /// Every service an event names, alphabetically.
    pub services: Vec<String>,
}

/// Teams and services.
#[utoipa::path(get, path = "/api/v1/catalog", responses((status = 200, body = CatalogDocument)))]
pub async fn catalog(State(state): State<AppState>) -> Result<Json<CatalogDocument>, Problem> {
    let services = state
        .with_store(|store, _| store.services().map_err(Problem::from))
        .await?;
    let mut teams: Vec<TeamEntry> = state
        .app()
        .teams
        .iter()
        .map(|t| TeamEntry {
            name: t.name.to_string(),
            services: t.services.iter().map(|s| s.to_string()).collect(),
        })
        .collect();
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(CatalogDocument {
        teams,
        services: services.iter().map(|s| s.to_string()).collect(),
    }))
}

/// What every metric measures, what it does not, and how it is misread —
/// the text `lantern explain` prints.
#[utoipa::path(get, path = "/api/v1/metrics/docs", responses((status = 200, body = [MetricDoc])))]
pub async fn metric_docs() -> Json<&'static [MetricDoc]> {
    Json(docs())
}
