//! The OpenAPI 3.1 document, generated from the handlers and types.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lantern",
        description = "DORA delivery metrics for services, teams and the organisation, never for a person."
    ),
    paths(
        crate::routes::health::healthz,
        crate::routes::health::readyz,
        crate::routes::report::report,
        crate::routes::catalog::catalog,
        crate::routes::catalog::metric_docs,
        crate::routes::detail::deployments,
        crate::routes::detail::incidents,
        crate::routes::detail::annotations,
        crate::routes::hooks::events,
        crate::routes::hooks::github,
        crate::routes::hooks::gitlab,
        crate::routes::hooks::pagerduty,
        crate::routes::hooks::opsgenie,
        crate::routes::hooks::alertmanager,
        crate::routes::hooks::cdevents,
        document,
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "The OpenAPI document")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
