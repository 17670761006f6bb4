//! Every route, in one table.

pub(crate) mod access;
pub(crate) mod catalog;
pub(crate) mod context;
pub(crate) mod detail;
pub(crate) mod health;
pub(crate) mod hooks;
pub(crate) mod report;

use crate::state::AppState;
use axum::Router;
use axum::routing::{delete, get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/api/v1/report", get(report::report))
        .route("/api/v1/catalog", get(catalog::catalog))
        .route("/api/v1/metrics/docs", get(catalog::metric_docs))
        .route(
            "/api/v1/services/{service}/deployments",
            get(detail::deployments),
        )
        .route(
            "/api/v1/services/{service}/incidents",
            get(detail::incidents),
        )
        .route("/api/v1/services/{service}/changes", get(detail::changes))
        .route(
            "/api/v1/annotations",
            get(context::annotations).post(context::add_annotation),
        )
        .route(
            "/api/v1/disputes",
            get(context::disputes).post(context::open_dispute),
        )
        .route(
            "/api/v1/disputes/{id}/resolve",
            post(context::resolve_dispute),
        )
        .route(
            "/api/v1/session",
            post(access::sign_in).delete(access::sign_out),
        )
        .route("/api/v1/whoami", get(access::whoami))
        .route(
            "/api/v1/tokens",
            get(access::list_tokens).post(access::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(access::revoke_token))
        .route("/api/v1/access-review", get(access::access_review))
        .route("/api/v1/audit", get(access::audit_log))
        .route("/api/v1/audit/verify", get(access::audit_verify))
        .route("/api/v1/openapi.json", get(crate::openapi::document))
        .route("/hooks/{source}", post(hooks::receive))
        .fallback(|| async {
            crate::problem::Problem::new(
                axum::http::StatusCode::NOT_FOUND,
                "not-found",
                "no such route; the API is described at /api/v1/openapi.json",
            )
        })
}
