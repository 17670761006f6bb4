//! Every route, declared once: an API route is its handler's
//! `#[utoipa::path]` (method, path, OpenAPI) and one line of [`routes`]
//! with its policy; a page is one line with its method, path, policy and
//! handler. The router, the policy table, the list of pages and the OpenAPI
//! document all come from that one table, so a route cannot be served
//! without a policy or documented without being served.

pub(crate) mod access;
pub(crate) mod backstage;
pub(crate) mod catalog;
pub(crate) mod context;
pub(crate) mod detail;
pub(crate) mod flow;
pub(crate) mod health;
pub(crate) mod hooks;
pub(crate) mod report;
pub(crate) mod slos;
pub(crate) mod team_health;

use crate::policy::RoutePolicy;
use crate::state::AppState;
use crate::web;
use axum::Router;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter};
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes as api;

/// One route of the table.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    /// The template, as axum matches it (`/services/{service}`).
    pub path: String,
    pub policy: RoutePolicy,
    /// A dashboard page (HTML; a signed-out visit goes to the sign-in page)
    /// rather than an API route.
    pub page: bool,
}

/// The router, its table and the OpenAPI document, from one declaration.
pub struct Routes {
    pub router: Router<AppState>,
    pub table: Vec<Route>,
    pub document: utoipa::openapi::OpenApi,
}

/// A page: method, path, policy and handler in one line.
macro_rules! page {
    ($method:ident $path:literal => $policy:ident, $handler:path) => {
        (
            Method::$method,
            $path,
            RoutePolicy::$policy,
            axum::routing::on(MethodFilter::$method, $handler),
        )
    };
}

/// Every route Lantern serves.
pub fn routes() -> Routes {
    use RoutePolicy::*;
    let api: Vec<(RoutePolicy, UtoipaMethodRouter<AppState>)> = vec![
        (Public, api!(health::healthz)),
        (Public, api!(health::readyz)),
        (Aggregates, api!(report::report)),
        (Aggregates, api!(flow::flow)),
        (Aggregates, api!(slos::slos)),
        (SignedIn, api!(slos::gate)),
        (Aggregates, api!(catalog::catalog)),
        (SignedIn, api!(catalog::metric_docs)),
        (Detail, api!(detail::deployments)),
        (Detail, api!(detail::incidents)),
        (Detail, api!(detail::changes)),
        (Detail, api!(detail::deployment)),
        (Aggregates, api!(context::annotations)),
        (Contribute, api!(context::add_annotation)),
        (Aggregates, api!(context::disputes)),
        (Contribute, api!(context::open_dispute)),
        (Admin, api!(context::resolve_dispute)),
        (Public, api!(access::sign_in)),
        (SignedIn, api!(access::sign_out)),
        (SignedIn, api!(access::whoami)),
        (Admin, api!(access::list_tokens)),
        (Admin, api!(access::create_token)),
        (Admin, api!(access::revoke_token)),
        (Admin, api!(access::access_review)),
        (Admin, api!(access::audit_log)),
        (Admin, api!(access::audit_verify)),
        (Aggregates, api!(team_health::rounds)),
        (Aggregates, api!(team_health::round)),
        (Contribute, api!(team_health::open_round)),
        (Contribute, api!(team_health::codes)),
        (Contribute, api!(team_health::close_round)),
        (Public, api!(team_health::answer)),
        (Aggregates, api!(team_health::experiments_list)),
        (Contribute, api!(team_health::add_experiment)),
        (Contribute, api!(team_health::end_experiment)),
        (Aggregates, api!(team_health::team_health)),
        (Metrics, api!(health::prometheus_metrics)),
        (SignedIn, api!(backstage::data)),
        (SignedIn, api!(openapi_document)),
        (Receiver, api!(hooks::receive)),
    ];
    let pages: Vec<(Method, &str, RoutePolicy, MethodRouter<AppState>)> = vec![
        page!(GET "/" => Aggregates, web::org::org_page),
        page!(GET "/sign-in" => Public, web::sign_in::sign_in_page),
        page!(POST "/sign-in" => Public, web::sign_in::sign_in),
        page!(POST "/sign-out" => SignedIn, web::sign_in::sign_out),
        page!(GET "/assets/{file}" => Public, web::asset),
        page!(GET "/go" => SignedIn, web::page::go),
        page!(GET "/teams/{team}" => Aggregates, web::scope::team_page),
        page!(GET "/services/{service}" => Aggregates, web::scope::service_page),
        page!(GET "/services/{service}/incidents/{id}" => Detail, web::incident::incident_page),
        page!(GET "/services/{service}/deployments/{id}" => Detail, web::deployment::deployment_page),
        page!(GET "/docs/metrics" => SignedIn, web::governance::metrics_page),
        page!(GET "/data-health" => Aggregates, web::health::data_health_page),
        page!(GET "/annotations" => Aggregates, web::context::annotations_page),
        page!(POST "/annotations" => Contribute, web::context::add_annotation),
        page!(POST "/disputes" => Contribute, web::context::open_dispute),
        page!(POST "/disputes/{id}/resolve" => Admin, web::context::resolve_dispute),
        page!(GET "/pulse/{round}" => Public, web::pulse::answer_page),
        page!(POST "/pulse/{round}" => Public, web::pulse::answer),
        page!(POST "/teams/{team}/pulse" => Contribute, web::pulse::open_round),
        page!(POST "/pulse-rounds/{round}/codes" => Contribute, web::pulse::codes),
        page!(POST "/pulse-rounds/{round}/close" => Contribute, web::pulse::close),
        page!(POST "/teams/{team}/experiments" => Contribute, web::team_health::add_experiment),
        page!(POST "/experiments/{id}/end" => Contribute, web::team_health::end_experiment),
        page!(GET "/admin/tokens" => Admin, web::governance::tokens_page),
        page!(POST "/admin/tokens" => Admin, web::governance::create_token),
        page!(POST "/admin/tokens/{id}/revoke" => Admin, web::governance::revoke_token),
        page!(GET "/admin/access-review" => Admin, web::governance::access_review_page),
        page!(GET "/admin/audit" => Admin, web::governance::audit_page),
        page!(GET "/admin/notifications" => Admin, web::notify::notifications_page),
    ];

    let mut table = Vec::new();
    let mut router = OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi());
    for (policy, route) in api {
        for (path, item) in &route.1.paths {
            for method in methods(item) {
                table.push(Route {
                    method,
                    path: path.clone(),
                    policy,
                    page: false,
                });
            }
        }
        router = router.routes(route);
    }
    let (mut router, mut document) = router.split_for_parts();
    crate::openapi::readable_tags(&mut document);
    crate::openapi::examples(&mut document);
    for (method, path, policy, handler) in pages {
        table.push(Route {
            method,
            path: path.to_string(),
            policy,
            page: true,
        });
        router = router.route(path, handler);
    }
    let router = router.fallback(|| async {
        crate::problem::Problem::new(
            axum::http::StatusCode::NOT_FOUND,
            "not-found",
            "no such route; the API is described at /api/v1/openapi.json",
        )
    });
    Routes {
        router,
        table,
        document,
    }
}

/// The methods a documented path item answers.
fn methods(item: &utoipa::openapi::PathItem) -> Vec<Method> {
    let operations = [&item.get, &item.post, &item.put, &item.patch, &item.delete];
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    operations
        .into_iter()
        .zip(methods)
        .filter_map(|(operation, method)| operation.is_some().then_some(method))
        .collect()
}

/// This document: every API route, generated from the handlers and types.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "The OpenAPI document", body = Object, example = json!({"openapi": "3.1.0", "info": {"title": "Lantern", "version": "0.1.0"}, "paths": {}}))))]
pub async fn openapi_document() -> axum::Json<utoipa::openapi::OpenApi> {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    axum::Json(DOCUMENT.get_or_init(|| routes().document).clone())
}
