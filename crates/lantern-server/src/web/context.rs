//! Annotations and disputes on pages (governance rule 8): the list beside
//! a scope's figures, the forms to add them, and the admin's resolution.
//! The forms post here and the handlers call the API's own, so a page adds
//! nothing the API would refuse, and every change is audit-logged there.

use super::page::{self, WindowParams, day, moment};
use crate::extract::{Form, JsonBody, Path};
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::context as api;
use crate::state::AppState;
use axum::extract::{Extension, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use lantern_app::annotations::AnnotationJson;
use lantern_engine::{Scope, Window, metric_docs};
use lantern_events::{AnnotationKind, AnnotationScope, MICROS_PER_DAY, Timestamp};
use lantern_governance::{Need, Role};
use maud::{Markup, html};
use serde::Deserialize;

/// The scopes a reader may add context to, as form values and labels.
fn contributable(state: &AppState, p: &Principal) -> Vec<(String, String)> {
    let teams = &state.app().teams;
    let may = |scope: &AnnotationScope| {
        Need::Contribute {
            owners: lantern_app::annotations::owners(scope, teams),
        }
        .check(&p.grant, &|s| state.owners(s))
        .is_ok()
    };
    let mut out = Vec::new();
    if may(&AnnotationScope::Org) {
        out.push(("org".to_string(), "the organisation".to_string()));
    }
    for t in teams {
        if may(&AnnotationScope::Team(t.name.clone())) {
            out.push((format!("team:{}", t.name), format!("team {}", t.name)));
        }
        for s in &t.services {
            let value = format!("service:{s}");
            if may(&AnnotationScope::Service(s.clone())) && !out.iter().any(|(v, _)| *v == value) {
                out.push((value, format!("service {s}")));
            }
        }
    }
    out
}

/// The list of annotations and disputes, and the forms this reader may use.
/// `scope`: the page's scope (the forms add to it); `None`: any scope the
/// reader may contribute to.
pub fn section(
    state: &AppState,
    p: &Principal,
    scope: &Scope,
    annotations: &[AnnotationJson],
    params: &WindowParams,
    window: Window,
) -> Markup {
    let here =
        lantern_app::annotations::scope_label(&lantern_app::annotations::annotation_scope(scope));
    let choices: Vec<(String, String)> = contributable(state, p)
        .into_iter()
        .filter(|(v, _)| *v == here)
        .collect();
    let next = match scope {
        Scope::Service(s) => format!(
            "/services/{}{}",
            page::segment(s.as_str()),
            params.with(None, None)
        ),
        Scope::Team { name, .. } => format!(
            "/teams/{}{}",
            page::segment(name.as_str()),
            params.with(None, None)
        ),
        Scope::Org => "/annotations".into(),
    };
    html! {
        section aria-labelledby="context" {
            h2 id="context" { "Annotations and disputes" }
            p { "What happened around these figures, and where a team says they mislead. They are drawn on the charts above." }
            (list(p, annotations, &next))
            @if !choices.is_empty() {
                (forms(p, &choices, &next, window))
            }
        }
    }
}

/// Annotations and disputes as a list; admins get a resolve form per open dispute.
pub fn list(p: &Principal, annotations: &[AnnotationJson], next: &str) -> Markup {
    html! {
        @if annotations.is_empty() {
            p.empty { "None in this window." }
        } @else {
            ul.annotations {
                @for a in annotations {
                    li data-annotation=(a.id) {
                        span class={ "kind kind-" (a.kind) } { (a.kind.replace('_', " ")) }
                        " " strong { (a.title) }
                        " · " (span_text(a))
                        @if let Some(m) = &a.metric { " · metric " code { (m) } }
                        @if let Some(s) = a.status { " · " em { (s) } }
                        @if let Some(r) = &a.resolution { " — resolution: " (r) }
                        @if p.grant.role == Role::Admin && a.status == Some("open") {
                            form.inline method="post" action={ "/disputes/" (a.id) "/resolve" } {
                                (page::token_field(p))
                                input type="hidden" name="next" value=(next);
                                label { "Resolution " input type="text" name="note" required maxlength="500"; }
                                button type="submit" { "Resolve" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn span_text(a: &AnnotationJson) -> String {
    let from = Timestamp::parse_rfc3339(&a.from)
        .map(day)
        .unwrap_or_default();
    match a
        .to
        .as_deref()
        .and_then(|t| Timestamp::parse_rfc3339(t).ok())
    {
        Some(to) => format!("{from} to {}", day(to)),
        None => format!("from {from}"),
    }
}

fn scope_field(choices: &[(String, String)], chosen: &str) -> Markup {
    html! {
        @if let [(value, label)] = choices {
            input type="hidden" name="scope" value=(value);
            p.for-scope { "For " (label) }
        } @else {
            label { "Scope " select name="scope" required {
                @for (value, label) in choices { option value=(value) selected[value == chosen] { (label) } }
            } }
        }
    }
}

/// What the forms hold: empty, or what was sent when it was refused.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AnnotationForm {
    scope: String,
    kind: String,
    from: String,
    to: Option<String>,
    title: String,
    next: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DisputeForm {
    scope: String,
    metric: String,
    from: String,
    to: String,
    context: String,
    next: Option<String>,
}

/// The forms to annotate and to dispute, for the scopes in `choices`,
/// holding what was sent before (`sent`) when it was refused.
pub fn forms(p: &Principal, choices: &[(String, String)], next: &str, window: Window) -> Markup {
    let (from, to) = (day(window.from), day(window.to));
    let annotation = AnnotationForm {
        from: to.clone(),
        ..Default::default()
    };
    let dispute = DisputeForm {
        from,
        to,
        ..Default::default()
    };
    filled_forms(p, choices, next, &annotation, &dispute)
}

fn filled_forms(
    p: &Principal,
    choices: &[(String, String)],
    next: &str,
    a: &AnnotationForm,
    d: &DisputeForm,
) -> Markup {
    html! {
        div.forms {
            form.annotate method="post" action="/annotations" {
                (page::token_field(p))
                h3 { "Add an annotation" }
                (scope_field(choices, &a.scope))
                input type="hidden" name="next" value=(next);
                label { "Kind " select name="kind" {
                    @for (name, kind) in AnnotationKind::ALL {
                        @if kind != AnnotationKind::Dispute { option value=(name) selected[a.kind == name] { (name.replace('_', " ")) } }
                    }
                } }
                label { "From " (page::date_input("from", &a.from, true)) }
                label { "To (optional) " (page::date_input("to", a.to.as_deref().unwrap_or(""), false)) }
                label { "What happened " input type="text" name="title" required maxlength="200" placeholder="release freeze for the year-end" value=(a.title); }
                button type="submit" { "Add the annotation" }
            }
            form.dispute method="post" action="/disputes" {
                (page::token_field(p))
                h3 { "Dispute a figure" }
                (scope_field(choices, &d.scope))
                input type="hidden" name="next" value=(next);
                label { "Metric " select name="metric" {
                    @for m in metric_docs() { option value=(m.key) selected[d.metric == m.key] { (m.title) } }
                } }
                label { "From " (page::date_input("from", &d.from, true)) }
                label { "To " (page::date_input("to", &d.to, true)) }
                label { "Why it misleads " input type="text" name="context" required maxlength="500" placeholder="the migration week skews this" value=(d.context); }
                button type="submit" { "Open the dispute" }
            }
        }
    }
}

/// A form refused for what was in it: the page says why, above the same
/// form holding everything that was sent (nothing typed is lost).
pub fn refused_form(
    state: &AppState,
    p: &Principal,
    title: &str,
    problem: &Problem,
    form: Markup,
) -> Response {
    let body = html! {
        h1 { (title) }
        div.form-error role="alert" data-refused {
            p { strong { "Nothing was saved: " } (problem.detail) }
            p { "Correct it below and send it again." }
        }
        (form)
    };
    let status = axum::http::StatusCode::from_u16(problem.status)
        .unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    (status, page::shell(state, Some(p), title, body)).into_response()
}

/// Whether a refusal is about what was typed (then the form comes back
/// filled); access and server errors keep their own pages.
pub fn about_the_input(problem: &Problem) -> bool {
    matches!(problem.status, 400 | 422)
}

fn scope_json(value: &str) -> Result<serde_json::Value, Problem> {
    match value.split_once(':') {
        None if value == "org" => Ok(serde_json::json!({"org": true})),
        Some(("team", t)) => Ok(serde_json::json!({ "team": t })),
        Some(("service", s)) => Ok(serde_json::json!({ "service": s })),
        _ => Err(Problem::bad_request(
            "scope: `org`, `team:NAME` or `service:NAME`",
        )),
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

pub async fn add_annotation(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<AnnotationForm>,
) -> Result<Response, Problem> {
    // Where to go back to is decided before anything is written.
    let back = page::local_path(f.next.as_deref());
    let sent = f.clone();
    let attempt = async {
        let request = api::AnnotationRequest {
            kind: f.kind,
            scope: scope_json(&f.scope)?,
            from: f.from,
            to: non_empty(f.to),
            title: f.title,
        };
        api::add_annotation(
            State(state.clone()),
            Extension(p.clone()),
            JsonBody(request),
        )
        .await
    };
    let outcome = attempt.await;
    answered(
        &state,
        &p,
        &back,
        outcome,
        "The annotation was not added",
        |choices| filled_forms(&p, choices, &back, &sent, &DisputeForm::default()),
    )
}

pub async fn open_dispute(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<DisputeForm>,
) -> Result<Response, Problem> {
    // Where to go back to is decided before anything is written.
    let back = page::local_path(f.next.as_deref());
    let sent = f.clone();
    let attempt = async {
        let request = api::DisputeRequest {
            metric: f.metric,
            scope: scope_json(&f.scope)?,
            from: f.from,
            to: f.to,
            context: f.context,
        };
        api::open_dispute(
            State(state.clone()),
            Extension(p.clone()),
            JsonBody(request),
        )
        .await
    };
    let outcome = attempt.await;
    answered(
        &state,
        &p,
        &back,
        outcome,
        "The dispute was not opened",
        |choices| filled_forms(&p, choices, &back, &AnnotationForm::default(), &sent),
    )
}

/// A form's answer: back to the page it came from, or — refused for what
/// was typed — the same form filled in, with why (`refill` draws it for
/// the scopes this reader may add to).
fn answered<T>(
    state: &AppState,
    p: &Principal,
    back: &str,
    outcome: Result<T, Problem>,
    title: &str,
    refill: impl FnOnce(&[(String, String)]) -> Markup,
) -> Result<Response, Problem> {
    match outcome {
        Ok(_) => Ok(Redirect::to(back).into_response()),
        Err(problem) if about_the_input(&problem) => {
            let choices = contributable(state, p);
            Ok(refused_form(state, p, title, &problem, refill(&choices)))
        }
        Err(problem) => Err(problem),
    }
}

#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    note: String,
    next: Option<String>,
}

pub async fn resolve_dispute(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    id: Path<String>,
    Form(f): Form<ResolveForm>,
) -> Result<Response, Problem> {
    let request = api::Resolution { note: f.note };
    // Where to go back to is decided before anything is written.
    let back = page::local_path(f.next.as_deref());
    api::resolve_dispute(State(state), Extension(p), id, JsonBody(request)).await?;
    Ok(Redirect::to(&back).into_response())
}

/// Every annotation and dispute, newest window first, with the forms.
pub async fn annotations_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> Result<Html<String>, Problem> {
    let (list_all, disputes) = api::everything(&state).await?;
    let now = Timestamp::now();
    let everything = Window::new(
        Timestamp::from_micros(0),
        now.plus_micros(3660 * MICROS_PER_DAY),
    )
    .map_err(Problem::internal)?;
    let teams = &state.app().teams;
    let all =
        lantern_app::annotations::for_report(&list_all, &disputes, &Scope::Org, &everything, teams);
    let choices = contributable(&state, &p);
    let recent =
        Window::new(now.plus_micros(-30 * MICROS_PER_DAY), now).map_err(Problem::internal)?;
    let body = html! {
        h1 { "Annotations and disputes" }
        p { "Annotations say what happened around the figures (a freeze, a migration, an outage of a dependency); a dispute says where a team finds a figure misleading, until an admin resolves it. Both are drawn on the charts of the scopes they touch. Updated " (moment(now)) "." }
        (list(&p, &all, "/annotations"))
        @if choices.is_empty() {
            p.note { "Your role reads annotations; team members and admins add them." }
        } @else {
            (forms(&p, &choices, "/annotations", recent))
        }
    };
    Ok(page::shell(
        &state,
        Some(&p),
        "Annotations and disputes",
        body,
    ))
}
