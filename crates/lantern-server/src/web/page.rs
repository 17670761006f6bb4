//! What every page shares: the shell (landmarks, navigation, who is signed
//! in and for what), the window controls, and errors as pages. API errors
//! stay problem documents; a page's become HTML here, in one place, and an
//! unauthenticated page visit becomes a redirect to the sign-in page.

use crate::policy::Principal;
use crate::problem::Problem;
use crate::state::AppState;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use lantern_engine::{Bucket, Window};
use lantern_events::{MICROS_PER_DAY, Timestamp};
use lantern_governance::Role;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

/// Whether a path is a page (rather than the API, a receiver or a probe).
pub fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/hooks/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/metrics")
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Lantern" }
            link rel="stylesheet" href="/assets/lantern.css";
            script src="/assets/lantern.js" defer {}
        }
    }
}

/// The page around `body`.
pub fn shell(state: &AppState, who: Option<&Principal>, title: &str, body: Markup) -> Html<String> {
    let teams = &state.app().teams;
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to the content" }
                header {
                    nav aria-label="Main" {
                        a.brand href="/" { "Lantern" }
                        @if let Some(p) = who {
                            // On a phone the links fold behind "Menu" (a
                            // checkbox and its label: no script).
                            input #menu-toggle type="checkbox" aria-label="Show the menu";
                            label.menu-toggle for="menu-toggle" { "Menu" }
                            div.menu-links {
                            @if p.grant.role != Role::Reviewer {
                                a href="/" { "Organisation" }
                                // One switcher, however many teams and
                                // services: type to search, Enter to go.
                                form.switcher method="get" action="/go" role="search" {
                                    label for="go" { "Team or service" }
                                    input #go type="search" name="to" list="scopes" required placeholder="team or service" autocomplete="off";
                                    datalist #scopes {
                                        @for t in teams {
                                            option value={ "team " (t.name) } {}
                                        }
                                        @for s in teams.iter().flat_map(|t| t.services.iter()).collect::<std::collections::BTreeSet<_>>() {
                                            option value={ "service " (s) } {}
                                        }
                                    }
                                    button type="submit" { "Go" }
                                }
                            }
                            a href="/docs/metrics" { "Metrics and charter" }
                            @if p.grant.role != Role::Reviewer {
                                a href="/data-health" { "Data health" }
                            }
                            a href="/annotations" { "Annotations and disputes" }
                            @if p.grant.role == Role::Admin {
                                a href="/admin/tokens" { "Tokens" }
                                a href="/admin/access-review" { "Access review" }
                                a href="/admin/audit" { "Audit log" }
                                a href="/admin/notifications" { "Notifications" }
                            }
                            form.sign-out method="post" action="/sign-out" {
                                (token_field(p))
                                button type="submit" { "Sign out" }
                            }
                            }
                        }
                    }
                    @if let Some(p) = who {
                        p.who {
                            "Signed in as " (p.grant.role.as_str())
                            @if !p.grant.teams.is_empty() {
                                " of " (p.grant.teams.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))
                            }
                            ", for “" (p.grant.purpose) "”. What you open here is shaped by that role."
                        }
                    }
                }
                main id="main" { (body) }
                footer {
                    p { "Lantern measures delivery systems — services and teams — never people. "
                        a href="/docs/metrics#charter" { "What these figures are for, and not for" } "." }
                }
            }
        }
    };
    Html(markup.into_string())
}

/// A problem, as a page.
pub fn problem_page(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(&problem.title))
            body {
                header { nav aria-label="Main" { a.brand href="/" { "Lantern" } } }
                main id="main" {
                    h1 { (problem.title) }
                    p.problem role="alert" { (problem.detail) }
                    p { a href="/" { "Back to the organisation page" } " · " a href="/sign-in" { "Sign in with another token" } }
                }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

/// Outermost layer: on a page, a problem document becomes a page, and an
/// unauthenticated visit goes to the sign-in page (and back after).
pub async fn html_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let response = next.run(request).await;
    if !is_page(&path) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !is_problem {
        return response;
    }
    if response.status() == StatusCode::UNAUTHORIZED && path != "/sign-in" {
        return Redirect::to(&format!("/sign-in?next={}", encode(&target))).into_response();
    }
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let problem = serde_json::from_slice::<Problem>(&body)
        .unwrap_or_else(|_| Problem::new(status, "error", "the request failed"));
    problem_page(&problem)
}

/// The session's form token as the hidden field every form of a signed-in
/// page sends back (checked by the policy layer; see `security.rs`).
pub fn token_field(p: &Principal) -> Markup {
    html! {
        @if let Some(token) = &p.form_token {
            input type="hidden" name="form_token" value=(token);
        }
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    escape(text, b"-._~/")
}

/// Percent-encodes one path segment: a name with `/`, `?`, `#` or `%` in
/// it still links to its own page.
pub fn segment(text: &str) -> String {
    escape(text, b"-._~")
}

/// Every byte but ASCII letters, digits and `keep`, as `%XX`.
fn escape(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A local path to go back to after a form: anything else goes home, so a
/// crafted link cannot send a signed-in reader elsewhere. Only visible
/// ASCII is kept: a URL parser drops tabs and newlines (so `/\t/evil`
/// would become `//evil`, another site), and a `Location` header cannot
/// carry control characters at all.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The window and bucket of a figures page: `days` back from `to` (or
/// now), or `from`/`to`; `bucket` for the charts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub days: Option<u32>,
    pub bucket: Option<String>,
    /// The service timeline: `all` shows every environment.
    pub timeline: Option<String>,
    /// The service timeline's page, from 1.
    pub page: Option<u32>,
}

/// The most buckets a chart draws.
const MAX_CHART_POINTS: usize = 400;

impl WindowParams {
    pub fn window(&self, now: Timestamp) -> Result<Window, Problem> {
        if self.days.is_some() && self.from.is_some() {
            return Err(Problem::bad_request("give days or from, not both"));
        }
        match self.days {
            Some(d) if d == 0 || d > 3660 => Err(Problem::bad_request("days: between 1 and 3660")),
            Some(d) => {
                let to = match &self.to {
                    Some(t) => Timestamp::parse_bound(t)
                        .map_err(|m| Problem::bad_request(format!("to: {m}")))?,
                    None => Window::default_end(now),
                };
                Window::new(to.plus_micros(-(d as i64) * MICROS_PER_DAY), to).map_err(Problem::from)
            }
            None => Window::from_bounds(self.from.as_deref(), self.to.as_deref(), now)
                .map_err(Problem::from),
        }
    }

    pub fn bucket(&self, window: &Window) -> Result<(Bucket, Vec<Window>), Problem> {
        let size = match self.bucket.as_deref() {
            Some(b) => Bucket::parse(b).map_err(Problem::bad_request)?,
            None if window.days() <= 31.0 => Bucket::Day,
            None if window.days() <= 400.0 => Bucket::Week,
            None => Bucket::Month,
        };
        let windows = lantern_engine::buckets(window, size);
        if windows.len() > MAX_CHART_POINTS {
            return Err(Problem::bad_request(format!(
                "bucket: this window has {} of them, a chart draws at most {MAX_CHART_POINTS}; choose a larger bucket",
                windows.len()
            )));
        }
        Ok((size, windows))
    }

    /// This window's query string with `days` or `bucket` changed, for links.
    pub fn with(&self, days: Option<u32>, bucket: Option<&str>) -> String {
        let mut parts = Vec::new();
        let days = days.or(self.days);
        if let Some(d) = days {
            parts.push(format!("days={d}"));
        } else if let Some(f) = &self.from {
            parts.push(format!("from={}", encode(f)));
        }
        if let Some(t) = &self.to {
            parts.push(format!("to={}", encode(t)));
        }
        if let Some(b) = bucket.or(self.bucket.as_deref()) {
            parts.push(format!("bucket={b}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

pub fn bucket_name(b: Bucket) -> &'static str {
    match b {
        Bucket::Day => "day",
        Bucket::Week => "week",
        Bucket::Month => "month",
    }
}

/// The window controls of a figures page.
pub fn window_controls(params: &WindowParams, window: &Window, bucket: Bucket) -> Markup {
    html! {
        nav.controls aria-label="Window" {
            span { "Window: " strong { (lantern_app::format::window(window)) } }
            form.range method="get" {
                label { "From " (date_input("from", &day(window.from), true)) }
                label { "To (not included) " (date_input("to", &day(window.to), true)) }
                @if let Some(b) = &params.bucket { input type="hidden" name="bucket" value=(b); }
                button type="submit" { "Show" }
            }
            span {
                @for d in [7u32, 30, 90, 180, 365] {
                    a href=(params.with(Some(d), None)) aria-current=[(params.days == Some(d)).then_some("true")] { (d) " days" }
                }
            }
            span {
                "Charts by "
                @for b in ["day", "week", "month"] {
                    a href=(params.with(None, Some(b))) aria-current=[(bucket_name(bucket) == b).then_some("true")] { (b) }
                }
            }
        }
    }
}

/// What the period before a window is called beside a figure:
/// "previous 90 days" (the window's own length, just before it).
pub fn previous_label(window: &Window) -> String {
    let days = window.days();
    match days.fract() == 0.0 {
        true => format!(
            "Previous {}",
            lantern_app::format::plural(days, "day", "days")
        ),
        false => format!("Previous {} days", lantern_app::format::decimals(days, 1)),
    }
}

/// A date field in the one format every page, chart and the CLI use
/// (YYYY-MM-DD). A browser's own date field shows the browser's locale
/// (mm/dd/yyyy in an American one), which would make a third format.
pub fn date_input(name: &str, value: &str, required: bool) -> Markup {
    html! {
        input type="text" name=(name) value=(value) required[required]
            inputmode="numeric" pattern="[0-9]{4}-[0-9]{2}-[0-9]{2}" placeholder="YYYY-MM-DD"
            title="A date: YYYY-MM-DD (UTC)" size="10" autocomplete="off";
    }
}

/// A date as people read it (UTC): ISO 8601, as in the window's heading,
/// the form fields and the CLI.
pub fn day(t: Timestamp) -> String {
    lantern_app::format::day(t)
}

/// A time as people read it (UTC).
pub fn moment(t: Timestamp) -> String {
    t.to_rfc3339()
        .get(..16)
        .map(|s| format!("{} UTC", s.replace('T', " ")))
        .unwrap_or_default()
}

/// Inline SVG written by `chart`, which escapes what it draws.
pub fn svg(text: String) -> PreEscaped<String> {
    PreEscaped(text)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoParams {
    pub to: String,
}

/// The switcher's answer: "team NAME", "service NAME" or a bare name (a
/// team of the catalog first, then a service) to its page; a name nothing
/// knows is the known-scope 404 of a service page.
pub async fn go(
    axum::extract::State(state): axum::extract::State<AppState>,
    crate::extract::Query(params): crate::extract::Query<GoParams>,
) -> Result<Redirect, Problem> {
    let text = params.to.trim();
    let (kind, name) = match text.split_once(' ') {
        Some(("team", n)) => (Some("team"), n.trim()),
        Some(("service", n)) => (Some("service"), n.trim()),
        _ => (None, text),
    };
    if name.is_empty() {
        return Err(Problem::bad_request("to: give a team or a service"));
    }
    let is_team = state.app().team(name).is_ok();
    let page = match kind {
        Some("team") => "teams",
        Some(_) => "services",
        None if is_team => "teams",
        None => "services",
    };
    Ok(Redirect::to(&format!("/{page}/{}", segment(name))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_only_go_back_to_local_paths() {
        assert_eq!(
            local_path(Some("/teams/payments?days=30")),
            "/teams/payments?days=30"
        );
        for outside in [
            "//evil.example/",
            "https://evil.example/",
            "\\\\evil",
            "/\\evil",
            "",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/x\ny",
            "/caf\u{e9}",
        ] {
            assert_eq!(local_path(Some(outside)), "/", "{outside}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn a_window_is_days_back_from_to_or_from_and_to() {
        let now = Timestamp::parse_rfc3339("2026-11-20T12:00:00Z").unwrap();
        let days = WindowParams {
            days: Some(7),
            to: Some("2026-11-10".into()),
            ..Default::default()
        };
        let w = days.window(now).unwrap();
        assert_eq!(w.from.to_rfc3339(), "2026-11-03T00:00:00Z");
        assert_eq!(
            days.with(Some(30), Some("day")),
            "?days=30&to=2026-11-10&bucket=day"
        );
        for bad in [
            WindowParams {
                days: Some(0),
                ..Default::default()
            },
            WindowParams {
                days: Some(7),
                from: Some("2026-01-01".into()),
                ..Default::default()
            },
            WindowParams {
                from: Some("yesterday".into()),
                ..Default::default()
            },
        ] {
            assert_eq!(bad.window(now).unwrap_err().status, 400);
        }
        // Too many buckets for a chart: a clear error, not a huge page.
        let long = WindowParams {
            days: Some(3660),
            bucket: Some("day".into()),
            ..Default::default()
        };
        let w = long.window(now).unwrap();
        assert!(
            long.bucket(&w)
                .unwrap_err()
                .detail
                .contains("larger bucket")
        );
        // The default bucket follows the window's length.
        let month = WindowParams {
            days: Some(30),
            ..Default::default()
        };
        assert_eq!(
            month.bucket(&month.window(now).unwrap()).unwrap().0,
            Bucket::Day
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode("/teams/a b?x=1&y"), "/teams/a%20b%3Fx%3D1%26y");
    }
}
