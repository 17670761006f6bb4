//! Pulse surveys on pages (health.md): the answer page anyone with a link
//! opens — no account, no script needed, made for a phone — and, on the
//! team page, the results per question over rounds and the forms that
//! open a round, hand out its links and close it.
//!
//! The answer page reads no cookie and writes no audit entry: the code in
//! the form is the only credential, and nothing of the request is kept.

use super::page::{self, day};
use crate::extract::{Form, Path};
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::team_health as api;
use crate::state::AppState;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use lantern_app::pulse::{self, Answer, QUESTIONS, QuestionResult, RoundJson, SCALE};
use lantern_events::{MICROS_PER_DAY, Timestamp};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What the answer form holds: empty, or what was sent when refused.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    code: String,
    #[serde(flatten)]
    values: BTreeMap<String, String>,
}

fn answer_form(round: i64, sent: &AnswerForm) -> Markup {
    html! {
        form.pulse method="post" action={ "/pulse/" (round) } {
            div.code-field {
                label for="code" { "Your code: the letters and digits after # in your link" }
                input #code type="text" name="code" required autocomplete="off" autocapitalize="off" spellcheck="false" inputmode="text" pattern="[0-9a-fA-F]{32}" value=(sent.code);
            }
            @for (key, statement) in QUESTIONS {
                @let chosen = sent.values.get(key).map(String::as_str).unwrap_or("");
                fieldset.question data-question=(key) {
                    legend { (statement) }
                    div.scale {
                        @for (i, words) in SCALE.iter().enumerate() {
                            @let v = (i + 1).to_string();
                            label {
                                input type="radio" name=(key) value=(v) checked[chosen == v];
                                span { (v) " " (words) }
                            }
                        }
                        label.skip {
                            input type="radio" name=(key) value="" checked[chosen.is_empty()];
                            span { "Skip" }
                        }
                    }
                }
            }
            button type="submit" { "Send my answers" }
        }
    }
}

fn answer_shell(state: &AppState, title: &str, body: Markup) -> Html<String> {
    page::shell(state, None, title, body)
}

/// The answer page: six statements, 1 to 5 each, any of them skipped.
pub async fn answer_page(
    State(state): State<AppState>,
    Path(round): Path<i64>,
) -> Result<Html<String>, Problem> {
    let k = pulse::threshold(state.app());
    // Whether the round takes answers: said before anyone fills the form.
    let found = state
        .with_store(move |store, _| match pulse::find(store, round) {
            Ok(r) => Ok(r),
            Err(lantern_app::AppError::NotFound { .. }) => Err(Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-round",
                format!("there is no pulse round {round}: check that the link was copied whole"),
            )),
            Err(e) => Err(e.into()),
        })
        .await?;
    if found.is_closed(Timestamp::now()) {
        let body = html! {
            h1 { "Team pulse" }
            p.notice role="status" data-closed { "This round of team " (found.team) "'s pulse has closed: it takes no more answers. Thank you all the same." }
        };
        return Ok(answer_shell(&state, "Team pulse", body));
    }
    let body = html! {
        h1 { "Team " (found.team) "'s pulse" }
        p.lede { "Six statements, about a minute. Answer as many as you like; "
            "your answers are stored with no link to your code, your name, your address or the time — "
            "and they are shown only as totals, once the round has closed, and only where at least " (k) " people answered a statement." }
        (answer_form(round, &AnswerForm::default()))
        // Fills the code from the link (#code) where script runs; the
        // page works the same without it.
        script src="/assets/pulse.js" {}
    };
    Ok(answer_shell(&state, "Team pulse", body))
}

/// An answer sent from the page: thanks, or why not with the form refilled.
pub async fn answer(
    State(state): State<AppState>,
    Path(round): Path<i64>,
    Form(f): Form<AnswerForm>,
) -> Result<Response, Problem> {
    let parsed = Answer::parse(
        &f.code,
        f.values.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(Problem::from);
    let outcome = match parsed {
        Ok(a) => api::submit(&state, round, a).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            let body = html! {
                h1 { "Thank you" }
                p role="status" data-answered { "Your answers were stored. Nothing joins them to your link, and they are shown only as totals once the round closes." }
                p { "You can close this page." }
            };
            Ok(answer_shell(&state, "Thank you", body).into_response())
        }
        Err(problem) => {
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut sent = f;
            // A used or unknown code is no use to send again.
            if matches!(problem.status, 404 | 409) {
                sent.code.clear();
            }
            let body = html! {
                h1 { "Team pulse" }
                div.form-error role="alert" data-refused {
                    p { strong { "Nothing was stored: " } (problem.detail) }
                    @if problem.status == 400 { p { "Your choices are kept below; correct it and send again." } }
                }
                (answer_form(round, &sent))
                script src="/assets/pulse.js" {}
            };
            Ok((status, answer_shell(&state, "Team pulse", body)).into_response())
        }
    }
}

/// The team page's pulse section: results per question over the rounds
/// this reader may see, and the forms of those who run them.
pub fn section(p: &Principal, team: &str, rounds: &[RoundJson], may_run: bool) -> Markup {
    let closed: Vec<&RoundJson> = rounds.iter().filter(|r| r.status == "closed").collect();
    let open: Vec<&RoundJson> = rounds.iter().filter(|r| r.status == "open").collect();
    let next_week = day(Timestamp::now().plus_micros(8 * MICROS_PER_DAY));
    html! {
        section aria-labelledby="pulse" data-pulse {
            h2 id="pulse" { "Team pulse" }
            p { "Anonymous answers to six statements, 1 (strongly disagree) to 5 (strongly agree). A round shows nothing until it closes, and a statement fewer than "
                (rounds.first().map_or(3, |r| r.threshold)) " people answered shows nothing to anyone — the team and admins included." }
            @if closed.is_empty() {
                p.empty { "No closed round yet." }
            } @else {
                table.pulse-results {
                    caption { "Mean answer per statement, by round (how many answered)" }
                    thead { tr {
                        th scope="col" { "Statement" }
                        @for r in &closed { th scope="col" { "Round " (r.round) br; small { "opened " (r.opened) } } }
                    } }
                    tbody {
                        @for (i, (key, statement)) in QUESTIONS.iter().enumerate() {
                            tr data-question=(key) {
                                th scope="row" { (statement) }
                                @for r in &closed {
                                    td data-round=(r.round) {
                                        @match r.questions.as_ref().map(|q| &q.0[i].1) {
                                            Some(QuestionResult::Shown { mean, responses, .. }) => {
                                                span data-mean=(mean) { (format!("{mean:.1}")) } " (" (responses) ")"
                                            }
                                            _ => abbr title="Too few answers to show anything" { "not shown" },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @for r in &closed {
                    @if let Some(note) = &r.note { p.note data-round-note=(r.round) { "Round " (r.round) ": " (note) } }
                }
            }
            @for r in &open {
                div.round-open data-open-round=(r.round) {
                    p { "Round " (r.round) " is open until " (r.closes) " (visibility " (r.visibility) "): nothing is shown before it closes." }
                    @if may_run {
                        form.inline method="post" action={ "/pulse-rounds/" (r.round) "/codes" } {
                            (page::token_field(p))
                            label { "Links to hand out " input type="number" name="count" min="1" max="500" value="8" required; }
                            button type="submit" { "Create answer links" }
                        }
                        form.inline method="post" action={ "/pulse-rounds/" (r.round) "/close" } {
                            (page::token_field(p))
                            button type="submit" { "Close the round now" }
                        }
                    }
                }
            }
            @if may_run {
                (open_form(p, team, &OpenForm { closes: next_week, visibility: None }))
            }
        }
    }
}

/// The form that opens a round, holding what was sent when refused.
fn open_form(p: &Principal, team: &str, f: &OpenForm) -> Markup {
    let org = f.visibility.as_deref() == Some("org");
    html! {
        form.open-round method="post" action={ "/teams/" (page::segment(team)) "/pulse" } {
            (page::token_field(p))
            h3 { "Open a round" }
            label { "Closes (YYYY-MM-DD, at midnight UTC) " (page::date_input("closes", &f.closes, true)) }
            label { "Results are shown to "
                select name="visibility" {
                    option value="team" selected[!org] { "the team's members and admins" }
                    option value="org" selected[org] { "also org viewers" }
                }
            }
            button type="submit" { "Open the round" }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct OpenForm {
    closes: String,
    visibility: Option<String>,
}

/// Opens a round from the team page, through the API's handler.
pub async fn open_round(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(team): Path<String>,
    Form(f): Form<OpenForm>,
) -> Result<Response, Problem> {
    let sent = f.clone();
    let request = api::OpenRoundRequest {
        team: team.clone(),
        closes: f.closes,
        visibility: f.visibility,
    };
    let outcome = api::open_round(
        State(state.clone()),
        Extension(p.clone()),
        crate::extract::JsonBody(request),
    )
    .await;
    match outcome {
        Ok(_) => {
            Ok(Redirect::to(&format!("/teams/{}#pulse", page::segment(&team))).into_response())
        }
        Err(problem) if super::context::about_the_input(&problem) => {
            Ok(super::context::refused_form(
                &state,
                &p,
                "The round was not opened",
                &problem,
                open_form(&p, &team, &sent),
            ))
        }
        Err(problem) => Err(problem),
    }
}

#[derive(Debug, Deserialize)]
pub struct CodesForm {
    count: u32,
}

/// Creates answer links and shows them this once.
pub async fn codes(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(round): Path<i64>,
    Form(f): Form<CodesForm>,
) -> Result<Response, Problem> {
    let (_, axum::Json(answer)) = api::codes(
        State(state.clone()),
        Extension(p.clone()),
        Path(round),
        crate::extract::JsonBody(api::CodesRequest { count: f.count }),
    )
    .await?;
    let team = state
        .with_store(move |store, _| Ok(pulse::find(store, round)?.team.to_string()))
        .await?;
    let body = html! {
        h1 { "Answer links for round " (round) }
        p.notice role="status" { "These links are shown this once: only their hashes are kept. Hand one to each person; each answers once. The code after # never reaches a server's log." }
        ol.links data-links {
            @for link in &answer.links { li { code { (link) } } }
        }
        p { "Each link is this dashboard's address followed by the path above." }
        p { a href={ "/teams/" (page::segment(&team)) "#pulse" } { "Back to team " (team) } }
    };
    Ok(page::shell(&state, Some(&p), "Answer links", body).into_response())
}

/// Closes a round from the team page.
pub async fn close(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(round): Path<i64>,
) -> Result<Response, Problem> {
    let axum::Json(r) = api::close_round(State(state), Extension(p), Path(round)).await?;
    Ok(Redirect::to(&format!("/teams/{}#pulse", page::segment(&r.team))).into_response())
}
