//! The pages that say what Lantern is and who may see what: the metric
//! explanations and the charter (rule 7), and for admins the tokens, the
//! access review and the audit log (rules 3 and 4). Changes go through the
//! API's handlers, so they are checked and recorded the same way.

use super::page::{self, moment};
use crate::extract::{Form, JsonBody, Path, Query};
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::access::{self as api, store_error};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use lantern_app::audit::{GrantJson, verify_audit};
use lantern_engine::metric_docs;
use lantern_events::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;

/// Said when the configuration has no charter of its own.
const DEFAULT_CHARTER: &str = "Lantern is here so that teams can see how their delivery system behaves and improve it: how often they ship, how long changes wait, how often a change fails and how fast they recover. It is not for judging, ranking or paying people: no figure here belongs to a person, small groups are shown only to their own team, and every figure can be annotated and disputed.";

pub async fn metrics_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Html<String> {
    let charter = state.app().governance.charter.as_deref();
    let body = html! {
        h1 { "Metrics and charter" }
        section aria-labelledby="charter" {
            h2 id="charter" { "What Lantern is for, and not for" }
            blockquote.charter { p { (charter.unwrap_or(DEFAULT_CHARTER)) } }
            @if charter.is_none() {
                p.note { "This is Lantern's default charter; set [governance] charter in lantern.toml to state your organisation's own." }
            }
            ul {
                li { "Figures exist for services, teams and the organisation — never for a person. Who wrote a change is pseudonymised when it arrives and never shown." }
                li { "A scope with fewer than " (state.app().governance.min_group_size) " contributors is shown only to its own team." }
                li { "Event-level detail is for the service's team, its reviewers and admins, and every read of it is recorded." }
                li { "Raw data expires on a schedule; the anonymous measurements stay." }
            }
        }
        section aria-labelledby="defs" {
            h2 id="defs" { "What each metric measures" }
            @for d in metric_docs() {
                article.metric-doc id=(d.key) {
                    h3 { (d.title) }
                    p.summary { (d.summary) }
                    dl {
                        dt { "What it measures" } dd { (d.measures) }
                        dt { "What it does not measure" } dd { (d.does_not_measure) }
                        dt { "How it is misread or gamed" } dd { (d.misread_or_gamed) }
                        dt { "Exact definition" } dd { (d.definition) }
                    }
                }
            }
        }
    };
    page::shell(&state, Some(&p), "Metrics and charter", body)
}

fn grants_table(grants: &[GrantJson], revoke: Option<&Principal>) -> Markup {
    html! {
        table.grants {
            thead { tr {
                th scope="col" { "Token" } th scope="col" { "Role" } th scope="col" { "Teams / source" }
                th scope="col" { "Purpose" } th scope="col" { "Expires" } th scope="col" { "Last used" } th scope="col" { "Status" }
                @if revoke.is_some() { th scope="col" { span.visually-hidden { "Revoke" } } }
            } }
            tbody {
                @for g in grants {
                    tr data-grant=(g.id) {
                        td { code { (g.id) } }
                        td { (g.role) }
                        td { (g.teams.join(", ")) @if let Some(s) = &g.source { "source " (s) } }
                        td { (g.purpose) }
                        td { (g.expires_at.get(..10).unwrap_or(&g.expires_at)) }
                        td { (g.last_used_at.as_deref().and_then(|t| t.get(..10)).unwrap_or("never")) }
                        td { (g.status) @if g.unused_30_days { " · " strong { "unused for 30 days" } } }
                        @if let Some(p) = revoke {
                            td { @if g.status == "active" {
                                form.inline method="post" action={ "/admin/tokens/" (g.id) "/revoke" } {
                                    (page::token_field(p))
                                    button type="submit" aria-label={ "Revoke token " (g.id) } { "Revoke" }
                                }
                            } }
                        }
                    }
                }
            }
        }
    }
}

async fn grants(state: &AppState) -> Result<Vec<GrantJson>, Problem> {
    let Json(list) = api::list_tokens(State(state.clone())).await?;
    Ok(list)
}

fn token_form(state: &AppState, p: &Principal, sent: &TokenForm) -> Markup {
    let team = sent.team.as_deref().unwrap_or("");
    let days = sent.days.as_deref().unwrap_or("90");
    html! {
        form.token method="post" action="/admin/tokens" {
            (page::token_field(p))
            h2 { "Create a token" }
            p { "A token is shown once. It carries a role, the teams it is for, a purpose and an expiry; every use is reviewable." }
            label { "Role " select name="role" {
                @for r in ["team_member", "org_viewer", "reviewer", "admin", "ingest"] { option value=(r) selected[sent.role == r] { (r.replace('_', " ")) } }
            } }
            label { "Team (team members and reviewers) " select name="team" {
                option value="" { "—" }
                @for t in &state.app().teams { option value=(t.name) selected[t.name.as_str() == team] { (t.name) } }
            } }
            label { "Source (ingest tokens) " input type="text" name="source" placeholder="github" value=(sent.source.as_deref().unwrap_or("")); }
            label { "Purpose " input type="text" name="purpose" required placeholder="the payments team's weekly review" value=(sent.purpose); }
            label { "Days until it expires " input type="number" name="days" min="1" max="366" value=(days); }
            button type="submit" { "Create the token" }
        }
    }
}

pub async fn tokens_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Html<String>, Problem> {
    let list = grants(&state).await?;
    let body = html! {
        h1 { "Tokens" }
        (grants_table(&list, Some(&p)))
        (token_form(&state, &p, &TokenForm::default()))
    };
    Ok(page::shell(&state, Some(&p), "Tokens", body))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenForm {
    role: String,
    team: Option<String>,
    source: Option<String>,
    purpose: String,
    days: Option<String>,
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<TokenForm>,
) -> Result<Response, Problem> {
    let sent = f.clone();
    let attempt = async {
        let days = match f.days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Some(
                d.parse::<u32>()
                    .map_err(|_| Problem::bad_request("days: a whole number of days"))?,
            ),
            None => None,
        };
        let request = api::TokenRequest {
            role: f.role,
            teams: f.team.into_iter().filter(|t| !t.is_empty()).collect(),
            source: f.source.filter(|s| !s.trim().is_empty()),
            purpose: f.purpose,
            days,
        };
        api::create_token(
            State(state.clone()),
            Extension(p.clone()),
            JsonBody(request),
        )
        .await
    };
    let issued = match attempt.await {
        Ok((_, Json(issued))) => issued,
        Err(problem) if super::context::about_the_input(&problem) => {
            let form = token_form(&state, &p, &sent);
            return Ok(super::context::refused_form(
                &state,
                &p,
                "The token was not created",
                &problem,
                form,
            ));
        }
        Err(problem) => return Err(problem),
    };
    let body = html! {
        h1 { "Token created" }
        p { "Copy it now: Lantern keeps only its hash and cannot show it again." }
        p { code.token data-token { (issued.token) } }
        (grants_table(std::slice::from_ref(&issued.grant), None))
        p { a href="/admin/tokens" { "Back to the tokens" } }
    };
    Ok(page::shell(&state, Some(&p), "Token created", body).into_response())
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    id: Path<String>,
) -> Result<Response, Problem> {
    api::revoke_token(State(state), Extension(p), id).await?;
    Ok(Redirect::to("/admin/tokens").into_response())
}

pub async fn access_review_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Html<String>, Problem> {
    let list = grants(&state).await?;
    let active: Vec<GrantJson> = list.into_iter().filter(|g| g.status == "active").collect();
    let unused = active.iter().filter(|g| g.unused_30_days).count();
    let body = html! {
        h1 { "Access review" }
        p { (active.len()) " active tokens; " (unused) " unused for 30 days. Revoke what is no longer needed; review detail access (reviewers, admins) first." }
        (grants_table(&active, Some(&p)))
    };
    Ok(page::shell(&state, Some(&p), "Access review", body))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    since: Option<String>,
}

/// The most entries the page lists (newest first); `since` narrows it.
const AUDIT_SHOWN: usize = 500;

pub async fn audit_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<AuditParams>,
) -> Result<Html<String>, Problem> {
    let since = q
        .since
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| Timestamp::parse_bound(s).map_err(|m| Problem::bad_request(format!("since: {m}"))))
        .transpose()?;
    let (entries, verdict) = state
        .with_store(move |store, _| {
            Ok((
                store.audit_entries(since).map_err(store_error)?,
                verify_audit(store).map_err(store_error)?,
            ))
        })
        .await?;
    let total = entries.len();
    let body = html! {
        h1 { "Audit log" }
        @if verdict.intact {
            p.ok data-audit="intact" { "The hash chain is intact: " (verdict.entries) " entries, none edited, removed or reordered." }
        } @else {
            p.problem role="alert" data-audit="broken" { "The hash chain is broken at entry " (verdict.broken_at.unwrap_or(0)) ": " (verdict.reason.clone().unwrap_or_default()) }
        }
        form.inline method="get" action="/admin/audit" {
            label { "Since " (page::date_input("since", q.since.as_deref().unwrap_or_default(), false)) }
            button type="submit" { "Show" }
        }
        p { "Newest first; " (total.min(AUDIT_SHOWN)) " of " (total) " entries shown." }
        div.table-scroll tabindex="0" role="region" aria-label="Scrollable table" { table.audit {
            thead { tr { th scope="col" { "#" } th scope="col" { "When" } th scope="col" { "Who (token)" } th scope="col" { "Purpose" } th scope="col" { "Action" } th scope="col" { "Scope" } th scope="col" { "Outcome" } } }
            tbody {
                @for e in entries.iter().rev().take(AUDIT_SHOWN) {
                    tr {
                        td { (e.seq) }
                        td { (moment(e.record.at)) }
                        td { code { (e.record.actor) } }
                        td { (e.record.purpose) }
                        td { (readable_action(&e.record.action, &e.record.scope)) }
                        td { (e.record.scope) }
                        td { (e.record.outcome) }
                    }
                }
            }
        } }
    };
    Ok(page::shell(&state, Some(&p), "Audit log", body))
}

/// A recorded action as people read it: the route's placeholders filled
/// from the entry's scope ("GET /services/{service}" for scope
/// `service:checkout` reads "GET /services/checkout"); what the scope
/// does not name stays a placeholder.
fn readable_action(action: &str, scope: &str) -> String {
    let mut out = action.to_string();
    if let Some((kind, name)) = scope.split_once(':') {
        out = out.replace(&format!("{{{kind}}}"), name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::readable_action;

    #[test]
    fn actions_read_as_the_paths_people_opened() {
        assert_eq!(
            readable_action("GET /services/{service}", "service:checkout"),
            "GET /services/checkout"
        );
        assert_eq!(
            readable_action("GET /teams/{team}", "team:payments"),
            "GET /teams/payments"
        );
        assert_eq!(readable_action("token.revoke", "grant:3"), "token.revoke");
        assert_eq!(
            readable_action("GET /services/{service}/deployments/{id}", "service:api"),
            "GET /services/api/deployments/{id}"
        );
    }
}
