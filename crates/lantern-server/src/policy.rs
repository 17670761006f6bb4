//! The governance layer every request passes through (governance.md rules
//! 3 and 4). Each route is declared once, with its policy, in the route
//! table (`crate::routes`), which gives [`Policies`]; the middleware
//! [`govern`] authenticates the caller (bearer token or session cookie),
//! asks `lantern_governance::Need::check`, records refusals and every read
//! of event-level detail in the audit log, and hands the handler a
//! [`Principal`]. A route without an entry is refused (fail closed), and
//! the role × route test fails until it gets one.

use crate::problem::Problem;
use crate::state::AppState;
use axum::RequestExt;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lantern_events::{Name, Timestamp};
use lantern_governance::{AuditRecord, Grant, Need, TokenParts};

/// What a route needs, before looking at its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutePolicy {
    /// Health checks and signing in.
    Public,
    /// Any valid token.
    SignedIn,
    /// Aggregated figures (rule 2 applies in the answer).
    Aggregates,
    /// Event-level detail of the service named in the path.
    Detail,
    /// Adding annotations or disputes: admins, and team members for their
    /// scopes (checked against the body's scope by the handler, through
    /// [`AppState::authorize`]).
    Contribute,
    Admin,
    /// Webhook receivers: authenticated by their source's signature or an
    /// ingest token, in the receiver.
    Receiver,
    /// Prometheus's scrape (`GET /metrics`): metrics tokens and admins; a
    /// browser is sent to the explanations at `/docs/metrics`.
    Metrics,
}

/// The policy of every route, by method and route template, from the
/// route table (`crate::routes`), where each route is declared once with
/// its policy.
#[derive(Debug, Default)]
pub struct Policies(std::collections::HashMap<(Method, String), RoutePolicy>);

impl FromIterator<(Method, String, RoutePolicy)> for Policies {
    fn from_iter<I: IntoIterator<Item = (Method, String, RoutePolicy)>>(routes: I) -> Self {
        Policies(
            routes
                .into_iter()
                .map(|(m, p, policy)| ((m, p), policy))
                .collect(),
        )
    }
}

impl Policies {
    /// A route the table does not know has no policy: it is refused.
    pub fn get(&self, method: &Method, route: &str) -> Option<RoutePolicy> {
        self.0.get(&(method.clone(), route.to_string())).copied()
    }

    /// The methods the table declares for a route, for a 405's `Allow`.
    pub fn methods(&self, route: &str) -> Vec<&Method> {
        let mut methods: Vec<&Method> = self
            .0
            .keys()
            .filter(|(_, r)| r == route)
            .map(|(m, _)| m)
            .collect();
        methods.sort_by_key(|m| m.as_str());
        methods
    }
}

/// Who is asking, for handlers that shape their answer by it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub grant: Grant,
    /// With a session cookie: the token every form must send back
    /// (`security::form_token`).
    pub form_token: Option<String>,
}

impl Principal {
    pub fn record(&self, action: &str, scope: &str, outcome: &str) -> AuditRecord {
        record(&self.grant, action, scope, outcome)
    }
}

fn record(grant: &Grant, action: &str, scope: &str, outcome: &str) -> AuditRecord {
    AuditRecord {
        at: Timestamp::now(),
        actor: grant.id.clone(),
        purpose: grant.purpose.clone(),
        action: action.to_string(),
        scope: scope.to_string(),
        outcome: outcome.to_string(),
    }
}

pub const SESSION_COOKIE: &str = "lantern_session";

/// The largest form body read to check its token (forms are small).
const FORM_LIMIT: usize = 64 * 1024;

/// How a request presents its credentials.
pub(crate) enum Credentials {
    Token(TokenParts),
    Session([u8; 32]),
}

/// What the credentials turned out to be.
pub(crate) enum Lookup {
    Active(Grant),
    /// The grant exists but may no longer be used, and why.
    Inactive(Grant, &'static str),
    Unknown,
}

fn credentials(headers: &HeaderMap) -> Result<Option<Credentials>, &'static str> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or("Authorization must be `Bearer <token>`")?;
        return TokenParts::parse(token.trim())
            .map(|t| Some(Credentials::Token(t)))
            .ok_or("the bearer token is not a Lantern token");
    }
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some(v) = pair.trim().strip_prefix("lantern_session=") {
                return session_hash(v)
                    .map(|h| Some(Credentials::Session(h)))
                    .ok_or("the session cookie is not one Lantern issued");
            }
        }
    }
    Ok(None)
}

/// A session cookie's value is 64 hex digits; the store keeps its SHA-256.
pub fn session_hash(value: &str) -> Option<[u8; 32]> {
    (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| lantern_governance::grant::secret_hash(value))
}

fn unauthenticated(detail: impl Into<String>) -> Response {
    let mut response =
        Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
    response
}

impl AppState {
    /// The active grant behind a request's credentials, or the answer to
    /// give instead. Expired and revoked tokens are refused and recorded.
    pub async fn authenticate(&self, headers: &HeaderMap, route: &str) -> Result<Grant, Response> {
        let creds = match credentials(headers) {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(unauthenticated(
                    "sign in: send `Authorization: Bearer <token>` (`lantern token create`)",
                ));
            }
            Err(why) => {
                self.refuse_unknown(route, "-", why)
                    .await
                    .map_err(IntoResponse::into_response)?;
                return Err(unauthenticated(why));
            }
        };
        let claimed = match &creds {
            Credentials::Token(t) => format!("token {}", t.id),
            Credentials::Session(_) => "a session cookie".to_string(),
        };
        let refused = match self
            .look_up(creds)
            .await
            .map_err(IntoResponse::into_response)?
        {
            Lookup::Active(grant) => return Ok(grant),
            Lookup::Inactive(grant, why) => {
                self.audit(record(&grant, route, "-", &format!("refused: {why}")))
                    .await
                    .map_err(IntoResponse::into_response)?;
                tracing::warn!(route, why, "refused a request");
                why
            }
            Lookup::Unknown => {
                let why = "unknown token or session";
                self.refuse_unknown(route, &claimed, why)
                    .await
                    .map_err(IntoResponse::into_response)?;
                why
            }
        };
        Err(unauthenticated(refused))
    }

    /// The grant behind credentials: a token verified in the last seconds
    /// comes from the cache; otherwise the store answers, and an active
    /// grant's use is recorded (for the access review) and its token cached.
    pub(crate) async fn look_up(&self, creds: Credentials) -> Result<Lookup, Problem> {
        let now = Timestamp::now();
        if let Credentials::Token(t) = &creds
            && let Some(grant) = self.grants().get(t, now)
        {
            return Ok(Lookup::Active(grant));
        }
        // Taken before asking: an answer older than a revocation heard
        // meanwhile is not remembered.
        let generation = self.grants().generation();
        self.with_store(move |store, state| {
            let grant = match &creds {
                Credentials::Token(t) => store.grant_for_token(t),
                Credentials::Session(h) => store.session_grant(h, now),
            }
            .map_err(Problem::from)?;
            let Some(grant) = grant else {
                return Ok(Lookup::Unknown);
            };
            if !grant.is_active(now) {
                let why = if grant.revoked_at.is_some() {
                    "this token was revoked"
                } else {
                    "this token has expired"
                };
                return Ok(Lookup::Inactive(grant, why));
            }
            // Most requests come within a minute of the last recorded
            // use: no write (on PostgreSQL, a statement per request).
            if lantern_store::use_is_new(&grant, now) {
                store.touch_grant(&grant.id, now).map_err(Problem::from)?;
            }
            if let Credentials::Token(t) = &creds {
                state.grants().put(t, &grant, generation);
            }
            Ok(Lookup::Active(grant))
        })
        .await
    }

    /// Records a refusal of credentials that belong to no grant: forged or
    /// mistyped tokens and cookies. A request without credentials is only
    /// answered, not recorded, so crawlers do not fill the log.
    pub async fn refuse_unknown(
        &self,
        action: &str,
        claimed: &str,
        why: &str,
    ) -> Result<(), Problem> {
        self.refuse("unknown", action, claimed, why).await
    }

    /// Records a refusal by someone Lantern cannot name (`actor` says what
    /// is known of them): once a minute per kind (`crate::refusals`), and
    /// past the limit answered 429 without touching the store.
    pub async fn refuse(
        &self,
        actor: &str,
        action: &str,
        scope: &str,
        why: &str,
    ) -> Result<(), Problem> {
        tracing::warn!(actor, action, scope, why, "refused a request");
        let now = Timestamp::now();
        // The kind: who, where, the kind of credential (not its id), why.
        let credential = scope.split(' ').next().unwrap_or("-");
        let kind = [actor, action, credential, why].join("\u{1f}");
        let outcome = match self.refusals().note(&kind, now.micros() / 1_000_000) {
            crate::refusals::Refusal::Record {
                unrecorded_before: 0,
            } => format!("refused: {why}"),
            crate::refusals::Refusal::Record { unrecorded_before } => format!(
                "refused: {why} (and {unrecorded_before} more like it in the minute before, counted, not recorded one by one)"
            ),
            crate::refusals::Refusal::Counted => return Ok(()),
            crate::refusals::Refusal::Limited { retry_after } => {
                return Err(Problem::too_many(retry_after));
            }
        };
        self.audit(AuditRecord {
            at: now,
            actor: actor.to_string(),
            purpose: "-".into(),
            action: action.to_string(),
            scope: scope.to_string(),
            outcome,
        })
        .await
    }

    /// Appends one entry to the audit log.
    pub async fn audit(&self, entry: AuditRecord) -> Result<(), Problem> {
        self.with_store(move |store, _| store.audit(entry).map(|_| ()).map_err(Problem::from))
            .await
    }

    /// Checks `need` for `principal`; a refusal is recorded and answered 403.
    pub async fn authorize(
        &self,
        principal: &Principal,
        need: Need,
        action: &str,
        scope: &str,
    ) -> Result<(), Problem> {
        match need.check(&principal.grant, &|service| self.owners(service)) {
            Ok(()) => Ok(()),
            Err(denied) => {
                self.audit(principal.record(action, scope, &format!("denied: {denied}")))
                    .await?;
                tracing::warn!(action, "refused: {denied}");
                Err(Problem::new(StatusCode::FORBIDDEN, "forbidden", denied.0))
            }
        }
    }

    /// The catalog's teams that own a service.
    pub fn owners(&self, service: &Name) -> Vec<Name> {
        lantern_app::annotations::service_owners(service, &self.app().teams)
    }
}

/// The middleware: see the module documentation.
pub async fn govern(
    axum::extract::State((state, policies)): axum::extract::State<(
        AppState,
        std::sync::Arc<Policies>,
    )>,
    request: Request,
    next: Next,
) -> Response {
    // Unmatched paths reach the 404 fallback, which reveals nothing.
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
    else {
        return next.run(request).await;
    };
    let Some(policy) = policies.get(request.method(), &route) else {
        let allowed = policies.methods(&route);
        if !allowed.is_empty() {
            // A method the route does not take (OPTIONS, PUT…): nothing to
            // authorise or record, only to say which methods there are.
            let allow: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
            let mut response = Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                format!("{route} takes {}", allow.join(", ")),
            )
            .into_response();
            if let Ok(value) = header::HeaderValue::from_str(&allow.join(", ")) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            return response;
        }
        tracing::error!(route, "a route without a policy was refused");
        return Problem::new(
            StatusCode::FORBIDDEN,
            "no-policy",
            "this route has no access policy, so nobody may use it",
        )
        .into_response();
    };
    // Receivers are called by servers, not browsers; everything else that
    // writes must come from this site (signing in included).
    if policy != RoutePolicy::Receiver
        && let Some(refused) = crate::security::cross_site(request.method(), request.headers())
    {
        return refused.into_response();
    }
    if matches!(policy, RoutePolicy::Public | RoutePolicy::Receiver) {
        return next.run(request).await;
    }
    // `/metrics` was the explanations page: a browser (asking for HTML,
    // without a bearer token) still finds them.
    if policy == RoutePolicy::Metrics
        && !request.headers().contains_key(header::AUTHORIZATION)
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
    {
        return axum::response::Redirect::permanent("/docs/metrics").into_response();
    }
    let grant = match state.authenticate(request.headers(), &route).await {
        Ok(g) => g,
        Err(response) => return response,
    };
    let form_token = crate::security::session_cookie(request.headers())
        .filter(|_| !request.headers().contains_key(header::AUTHORIZATION))
        .map(crate::security::form_token);
    // A form riding on the session cookie must bring the session's token
    // back: a page on another site cannot read it, even on a sibling
    // subdomain that SameSite lets the cookie through from.
    let request = match (&form_token, request.method()) {
        // Only a POST can come from another site without asking first
        // (a form, a beacon); other methods need CORS, which is off.
        (Some(expected), &Method::POST) if crate::security::is_form_body(request.headers()) => {
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
                return Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    "the form is too large",
                )
                .into_response();
            };
            if !crate::security::form_token_matches(&bytes, expected) {
                return Problem::new(
                    StatusCode::FORBIDDEN,
                    "form-token",
                    "this form was not sent from a Lantern page of your session; reload the page and send it again",
                )
                .into_response();
            }
            Request::from_parts(parts, axum::body::Body::from(bytes))
        }
        _ => request,
    };
    let mut request = request;
    let principal = Principal { grant, form_token };
    let detail_scope = match policy {
        RoutePolicy::Detail => {
            // The path's service, as the handler will read it.
            let params = request
                .extract_parts::<axum::extract::RawPathParams>()
                .await
                .ok();
            let service = params.as_ref().and_then(|p| {
                p.iter()
                    .find(|(k, _)| *k == "service")
                    .map(|(_, v)| Name::parse(v))
            });
            match service {
                Some(Ok(service)) => Some(service),
                _ => {
                    return Problem::bad_request(
                        "service: not a service name (1 to 200 characters, no control characters)",
                    )
                    .into_response();
                }
            }
        }
        _ => None,
    };
    let need = match (policy, &detail_scope) {
        (RoutePolicy::SignedIn, _) => Need::SignedIn,
        (RoutePolicy::Aggregates, _) => Need::Aggregates,
        (RoutePolicy::Detail, Some(service)) => Need::Detail {
            service: service.clone(),
        },
        // Who may contribute depends on the body's scope: the handler asks.
        // Only roles that could ever contribute get that far.
        (RoutePolicy::Contribute, _) => match principal.grant.role {
            lantern_governance::Role::Admin | lantern_governance::Role::TeamMember => {
                Need::SignedIn
            }
            _ => Need::Contribute { owners: Vec::new() },
        },
        (RoutePolicy::Metrics, _) => Need::Metrics,
        _ => Need::Admin,
    };
    let scope = detail_scope
        .as_ref()
        .map_or_else(|| "-".to_string(), |s| format!("service:{s}"));
    if let Err(problem) = state.authorize(&principal, need, &route, &scope).await {
        return problem.into_response();
    }
    let query = request
        .uri()
        .query()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect::<String>();
    request.extensions_mut().insert(principal.clone());
    let response = next.run(request).await;
    if policy == RoutePolicy::Detail {
        // Rule 4: every read of event-level detail, with what was asked.
        let entry = principal.record(
            &format!("read {route}?{query}"),
            &scope,
            response.status().as_str(),
        );
        if let Err(p) = state.audit(entry).await {
            // Detail that cannot be recorded is not given out.
            return p.into_response();
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    /// A route the table does not list is refused before its handler runs,
    /// whoever asks: the policy layer fails closed.
    #[tokio::test]
    async fn a_route_without_a_policy_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = lantern_store::SqliteStore::open(&dir.path().join("l.db")).unwrap();
        let settings = crate::Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            body_limit: 1024,
            connections: 1,
            notify_every: crate::notify::TICK,
            prime_metrics: false,
            app: lantern_app::Settings::parse("", None).unwrap(),
        };
        let state = AppState::new(
            vec![Box::new(store)],
            lantern_events::Pseudonymiser::from_key([7; 32]),
            settings,
        );
        let listed: Policies = [(Method::GET, "/listed".to_string(), RoutePolicy::Public)]
            .into_iter()
            .collect();
        let router = axum::Router::new()
            .route("/listed", get(|| async { "reached" }))
            .route("/unlisted", get(|| async { "reached" }))
            .layer(axum::middleware::from_fn_with_state(
                (state.clone(), std::sync::Arc::new(listed)),
                govern,
            ))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();
        let listed = client.get(format!("{base}/listed")).send().await.unwrap();
        assert_eq!(listed.status(), 200);
        let unlisted = client.get(format!("{base}/unlisted")).send().await.unwrap();
        assert_eq!(unlisted.status(), 403);
        assert!(unlisted.text().await.unwrap().contains("no-policy"));
        // A method the route does not take: 405 with the methods it does.
        let put = client.put(format!("{base}/listed")).send().await.unwrap();
        assert_eq!(put.status(), 405);
        assert_eq!(put.headers()["allow"], "GET");
        server.abort();
    }
}
