//! Axum's extractors with Lantern's rejection: a query string, path, form
//! or JSON body that cannot be read is answered 400 with a problem that
//! says what is wrong and where, and the handler never runs.

use crate::problem::Problem;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use lantern_engine::Window;
use lantern_events::{EventId, Name, Timestamp};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;

macro_rules! extractor {
    ($(#[$doc:meta])* $name:ident, $inner:ty, parts) => {
        $(#[$doc])*
        pub struct $name<T>(pub T);

        impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for $name<T> {
            type Rejection = Problem;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
                <$inner>::from_request_parts(parts, state)
                    .await
                    .map(|read| $name(read.0))
                    .map_err(|e| Problem::bad_request(e.body_text()))
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, $inner:ty, body) => {
        $(#[$doc])*
        pub struct $name<T>(pub T);

        impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for $name<T> {
            type Rejection = Problem;

            async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
                <$inner>::from_request(request, state)
                    .await
                    .map(|read| $name(read.0))
                    .map_err(|e| Problem::bad_request(e.body_text()))
            }
        }
    };
}

extractor!(
    /// The query string.
    Query,
    axum::extract::Query<T>,
    parts
);
extractor!(
    /// The route's parameters.
    Path,
    axum::extract::Path<T>,
    parts
);
extractor!(
    /// A JSON body (`axum::Json` still answers with JSON).
    JsonBody,
    axum::Json<T>,
    body
);
extractor!(
    /// A form body.
    Form,
    axum::Form<T>,
    body
);

/// The service a path names (`/services/{service}…`, its first
/// parameter), or a 400 that says why it is not a name.
pub struct ServicePath(pub Name);

impl<S: Send + Sync> FromRequestParts<S> for ServicePath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(params) = Path::<Vec<String>>::from_request_parts(parts, state).await?;
        let first = params.first().map(String::as_str).unwrap_or_default();
        Ok(ServicePath(service(first)?))
    }
}

/// A service and one of its events named in a path
/// (`/services/{service}/deployments/{id}`, `…/incidents/{id}`).
pub struct ServiceEvent(pub Name, pub EventId);

impl<S: Send + Sync> FromRequestParts<S> for ServiceEvent {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path((name, id)) = Path::<(String, String)>::from_request_parts(parts, state).await?;
        let what = match parts.uri.path().contains("/incidents/") {
            true => "incident",
            false => "deployment",
        };
        let id =
            EventId::parse(&id).map_err(|m| Problem::bad_request(format!("{what} id: {m}")))?;
        Ok(ServiceEvent(service(&name)?, id))
    }
}

fn service(text: &str) -> Result<Name, Problem> {
    Name::parse(text).map_err(|m| Problem::bad_request(format!("service: {m}")))
}

/// The window of a read (`from`, `to`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// Start: YYYY-MM-DD or RFC 3339 [default: 90 days before `to`].
    from: Option<String>,
    /// End, exclusive [default: now].
    to: Option<String>,
}

impl WindowQuery {
    pub fn window(&self) -> Result<Window, Problem> {
        window(self.from.as_deref(), self.to.as_deref())
    }
}

/// The window that `from` and `to` of a query name, or a 400 that says why
/// they name none.
pub fn window(from: Option<&str>, to: Option<&str>) -> Result<Window, Problem> {
    Window::from_bounds(from, to, Timestamp::now()).map_err(Problem::from)
}
