//! Axum's extractors with Lantern's rejection: a query string, path, form
//! or JSON body that cannot be read is answered 400 with a problem that
//! says what is wrong and where, and the handler never runs.

use crate::problem::Problem;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use lantern_events::{EventId, Name};
use serde::de::DeserializeOwned;

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

/// A service named in a path, or a 400 that says why it is not one.
pub fn service(text: &str) -> Result<Name, Problem> {
    Name::parse(text).map_err(|m| Problem::bad_request(format!("service: {m}")))
}

/// An event's id named in a path (`what`: "incident", "deployment"), or a
/// 400 that says why it is not one.
pub fn event_id(what: &str, text: &str) -> Result<EventId, Problem> {
    EventId::parse(text).map_err(|m| Problem::bad_request(format!("{what} id: {m}")))
}
