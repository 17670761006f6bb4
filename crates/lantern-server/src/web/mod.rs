//! The web dashboard: pages rendered on the server from the same reports
//! and handlers the API uses, behind the same policy layer (`policy`):
//! every page route has a decision in `route_policy`, and [`PAGES`] lists
//! them so the governance tests walk pages as they walk the API.
//!
//! - [`page`]: the shell, window controls, errors as pages;
//! - [`org`], [`scope`] (team and service), [`incident`]: the figures;
//! - [`context`]: annotations and disputes; [`governance`]: explanations,
//!   the charter, and the admin's tokens, access review and audit log;
//! - [`sign_in`]: the session cookie from a token;
//! - [`chart`]: SVG charts; [`overview`]: the distribution of bands;
//!   [`figures`]: which figure of a report each metric shows.
//!
//! Assets are compiled in: no CDN, nothing fetched at run time.

pub mod chart;
mod context;
pub mod figures;
mod governance;
mod incident;
mod org;
pub mod overview;
pub mod page;
mod scope;
mod sign_in;

use crate::state::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// Every page route (method, template), for the policy and its tests.
pub const PAGES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("POST", "/sign-out"),
    ("GET", "/assets/{file}"),
    ("GET", "/teams/{team}"),
    ("GET", "/services/{service}"),
    ("GET", "/services/{service}/incidents/{id}"),
    ("GET", "/metrics"),
    ("GET", "/annotations"),
    ("POST", "/annotations"),
    ("POST", "/disputes"),
    ("POST", "/disputes/{id}/resolve"),
    ("GET", "/admin/tokens"),
    ("POST", "/admin/tokens"),
    ("POST", "/admin/tokens/{id}/revoke"),
    ("GET", "/admin/access-review"),
    ("GET", "/admin/audit"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(org::org_page))
        .route(
            "/sign-in",
            get(sign_in::sign_in_page).post(sign_in::sign_in),
        )
        .route("/sign-out", post(sign_in::sign_out))
        .route("/assets/{file}", get(asset))
        .route("/teams/{team}", get(scope::team_page))
        .route("/services/{service}", get(scope::service_page))
        .route(
            "/services/{service}/incidents/{id}",
            get(incident::incident_page),
        )
        .route("/metrics", get(governance::metrics_page))
        .route(
            "/annotations",
            get(context::annotations_page).post(context::add_annotation),
        )
        .route("/disputes", post(context::open_dispute))
        .route("/disputes/{id}/resolve", post(context::resolve_dispute))
        .route(
            "/admin/tokens",
            get(governance::tokens_page).post(governance::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(governance::revoke_token))
        .route("/admin/access-review", get(governance::access_review_page))
        .route("/admin/audit", get(governance::audit_page))
}

const CSS: &str = include_str!("assets/lantern.css");
const JS: &str = include_str!("assets/lantern.js");

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "lantern.css" => (CSS, "text/css; charset=utf-8"),
        "lantern.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
