//! The web dashboard: pages rendered on the server from the same reports
//! and handlers the API uses, behind the same policy layer (`policy`):
//! every page is a line of the route table (`crate::routes`) with its
//! policy, so the governance tests walk pages as they walk the API.
//!
//! - [`page`]: the shell, window controls, errors as pages;
//! - [`org`], [`scope`] (team and service), [`incident`]: the figures;
//! - [`context`]: annotations and disputes; [`governance`]: explanations,
//!   the charter, and the admin's tokens, access review and audit log;
//! - [`sign_in`]: the session cookie from a token;
//! - [`chart`]: SVG charts; [`overview`]: the distribution of bands;
//!   [`figures`]: which figure of a report each metric shows;
//! - [`health`]: workflow health, the missing-events banner, `/data-health`;
//! - [`flow`]: the flow panel (flow.md) and the teams' flow distribution;
//! - [`pulse`]: the pulse answer page and the team page's pulse section;
//! - [`team_health`]: strain and experiments on the team page;
//! - [`notify`]: the admins' page of notify targets and deliveries;
//! - [`panels`]: alert quality, review quality, findings and AI assistance
//!   (panels.md).
//!
//! Assets are compiled in: no CDN, nothing fetched at run time.

pub mod chart;
pub(crate) mod context;
pub(crate) mod deployment;
pub mod figures;
pub(crate) mod flow;
pub(crate) mod governance;
pub(crate) mod health;
pub(crate) mod incident;
pub(crate) mod notify;
pub(crate) mod org;
pub mod overview;
pub mod page;
pub(crate) mod panels;
pub(crate) mod pulse;
pub(crate) mod scope;
pub(crate) mod sign_in;
pub(crate) mod slos;
pub(crate) mod team_health;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const CSS: &str = include_str!("assets/lantern.css");
const JS: &str = include_str!("assets/lantern.js");
const PULSE_JS: &str = include_str!("assets/pulse.js");

pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "lantern.css" => (CSS, "text/css; charset=utf-8"),
        "lantern.js" => (JS, "text/javascript; charset=utf-8"),
        "pulse.js" => (PULSE_JS, "text/javascript; charset=utf-8"),
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
