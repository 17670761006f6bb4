//! The OpenAPI 3.1 document's frame (title, security scheme); its paths
//! come from the route table (`crate::routes`).

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lantern",
        description = "DORA delivery metrics for services, teams and the organisation, never for a person."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub(crate) struct ApiDoc;

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
