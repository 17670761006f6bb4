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

/// One readable tag per operation, by what its path serves, each tag
/// described once in the document's `tags` (utoipa would name none, or
/// the handler's module path).
pub(crate) fn readable_tags(document: &mut utoipa::openapi::OpenApi) {
    /// (path prefix, tag, what it holds), the first match winning.
    const TAGS: [(&[&str], &str, &str); 13] = [
        (
            &["/healthz", "/readyz"],
            "Health",
            "Liveness and readiness, for load balancers",
        ),
        (
            &["/api/v1/report"],
            "Reports",
            "The DORA report of a service, a team or the organisation",
        ),
        (
            &["/api/v1/flow"],
            "Flow",
            "flow.md's figures of a team's work items",
        ),
        (
            &["/api/v1/slos", "/api/v1/gate"],
            "SLOs and the gate",
            "Service level objectives and the deploy gate",
        ),
        (
            &["/api/v1/catalog", "/api/v1/metrics"],
            "Catalog",
            "Teams, services and what each metric means",
        ),
        (
            &["/api/v1/services/"],
            "Event detail",
            "A service's deployments, incidents and changes, for its team",
        ),
        (
            &["/api/v1/annotations", "/api/v1/disputes"],
            "Annotations and disputes",
            "Context beside the figures (governance rule 8)",
        ),
        (
            &[
                "/api/v1/session",
                "/api/v1/whoami",
                "/api/v1/tokens",
                "/api/v1/access-review",
                "/api/v1/audit",
            ],
            "Access and audit",
            "Sessions, tokens, the access review and the audit log",
        ),
        (
            &[
                "/api/v1/pulse",
                "/api/v1/experiments",
                "/api/v1/team-health",
            ],
            "Team health",
            "Pulse rounds, experiments, operational load and strain (health.md)",
        ),
        (
            &["/hooks/"],
            "Receivers",
            "Webhooks that turn a source's payloads into canonical events",
        ),
        (&["/api/v1/openapi.json"], "Documentation", "This document"),
        (
            &["/metrics"],
            "Prometheus",
            "Lantern's figures for Prometheus, per service",
        ),
        (
            &["/api/v1/backstage"],
            "Backstage",
            "The data Backstage's DORA plugins read, keyed by the lantern.dev/service annotation",
        ),
    ];
    let tag_of = |path: &str| {
        TAGS.iter()
            .find(|(prefixes, _, _)| prefixes.iter().any(|p| path.starts_with(p)))
            .map_or("Other", |(_, tag, _)| tag)
    };
    let mut used = std::collections::BTreeSet::new();
    for (path, item) in document.paths.paths.iter_mut() {
        let tag = tag_of(path);
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            op.tags = Some(vec![tag.to_string()]);
            used.insert(tag);
        }
    }
    document.tags = Some(
        TAGS.iter()
            .filter(|(_, tag, _)| used.contains(tag))
            .map(|(_, tag, about)| {
                utoipa::openapi::tag::TagBuilder::new()
                    .name(*tag)
                    .description(Some(*about))
                    .build()
            })
            .chain(used.contains("Other").then(|| {
                utoipa::openapi::tag::TagBuilder::new()
                    .name("Other")
                    .build()
            }))
            .collect(),
    );
}
