//! Signing in on a page: a token (pasted, or from a sign-in link's
//! `#token=` fragment, which the browser never sends to a server) becomes
//! the same session cookie the API's `POST /api/v1/session` sets.

use super::page;
use crate::extract::{Form, JsonBody, Query};
use crate::problem::Problem;
use crate::routes::access::{self as api, SignIn};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct Next {
    next: Option<String>,
}

fn form(state: &AppState, next: &str, error: Option<&str>) -> Html<String> {
    let body = html! {
        h1 { "Sign in to Lantern" }
        @if let Some(e) = error { p.problem role="alert" { (e) } }
        p { "Paste a Lantern token. An admin creates one with " code { "lantern token create" } "; " code { "lantern demo" } " prints a sign-in link." }
        form.sign-in method="post" action="/sign-in" {
            input type="hidden" name="next" value=(next);
            label { "Token " input type="password" name="token" id="token" autocomplete="off" required; }
            button type="submit" { "Sign in" }
        }
        p.note { "Signing in sets a session cookie for at most 12 hours. What you may see depends on the token's role." }
    };
    page::shell(state, None, "Sign in", body)
}

pub async fn sign_in_page(
    State(state): State<AppState>,
    query: Result<Query<Next>, Problem>,
) -> Html<String> {
    let next = query.map(|Query(n)| n.next).unwrap_or_default();
    form(&state, &page::local_path(next.as_deref()), None)
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    token: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Result<Response, Problem> {
    let next = page::local_path(f.next.as_deref());
    match api::sign_in(
        State(state.clone()),
        headers,
        JsonBody(SignIn { token: f.token }),
    )
    .await
    {
        Ok(response) => Ok(redirect_with_cookie(&next, &response)),
        Err(p) if p.status == StatusCode::UNAUTHORIZED.as_u16() => Ok((
            StatusCode::UNAUTHORIZED,
            form(
                &state,
                &next,
                Some("That is not a valid, active Lantern token."),
            ),
        )
            .into_response()),
        Err(p) => Err(p),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let response = api::sign_out(State(state), headers).await?;
    Ok(redirect_with_cookie("/sign-in", &response))
}

/// A redirect to `to` that carries the cookie the API's answer set.
fn redirect_with_cookie(to: &str, api_answer: &Response) -> Response {
    let mut redirect = Redirect::to(to).into_response();
    if let Some(cookie) = api_answer.headers().get(header::SET_COOKIE) {
        redirect
            .headers_mut()
            .insert(header::SET_COOKIE, cookie.clone());
    }
    redirect
}
