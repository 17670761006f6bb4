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
        crate::routes::detail::changes,
        crate::routes::context::annotations,
        crate::routes::context::add_annotation,
        crate::routes::context::disputes,
        crate::routes::context::open_dispute,
        crate::routes::context::resolve_dispute,
        crate::routes::access::sign_in,
        crate::routes::access::sign_out,
        crate::routes::access::whoami,
        crate::routes::access::list_tokens,
        crate::routes::access::create_token,
        crate::routes::access::revoke_token,
        crate::routes::access::access_review,
        crate::routes::access::audit_log,
        crate::routes::access::audit_verify,
        crate::routes::hooks::receive,
        document,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// Every API route takes `Authorization: Bearer <token>` (or the session
/// cookie from `POST /api/v1/session`); health checks and receivers are
/// the exceptions.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "The OpenAPI document")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
