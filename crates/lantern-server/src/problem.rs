//! RFC 9457 problem details: every error the server answers with.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What was wrong, and where.
    pub detail: String,
    /// Seconds after which the same request may succeed (503s).
    #[serde(skip)]
    #[schema(ignore)]
    pub retry_after: Option<u32>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:lantern:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// A failure that is not the client's: the cause goes to the log
    /// under a reference, the client gets only the reference (a database
    /// message can name tables, paths or other tenants' data).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut bytes = [0u8; 6];
        let reference = match getrandom::fill(&mut bytes) {
            Ok(()) => lantern_events::hex(&bytes),
            Err(_) => "unavailable".into(),
        };
        tracing::error!(reference, %cause, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!(
                "Lantern could not answer this request; its log has the cause under reference {reference}"
            ),
        )
    }
}

impl Problem {
    /// The store is busy with another writer: nothing was done, and the
    /// sender should try again (a webhook sender's retry, a reader's
    /// reload). Never a 500: the request was fine.
    pub fn busy() -> Self {
        tracing::warn!("the store was busy past its timeout; answered 503");
        Problem {
            retry_after: Some(1),
            ..Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the store is busy with another writer; nothing was done, try again shortly",
            )
        }
    }
}

impl Problem {
    /// Too many refused requests of one kind this minute.
    pub fn too_many(retry_after: u32) -> Self {
        Problem {
            retry_after: Some(retry_after),
            ..Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-refusals",
                "too many refused requests like this one in the last minute; try again later",
            )
        }
    }
}

impl From<lantern_app::AppError> for Problem {
    fn from(e: lantern_app::AppError) -> Self {
        use lantern_app::AppError;
        match e {
            AppError::Invalid(message) => Problem::bad_request(message),
            AppError::NotFound { what, message } => {
                Problem::new(StatusCode::NOT_FOUND, &format!("unknown-{what}"), message)
            }
            AppError::Forbidden(message) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", message)
            }
            AppError::Conflict(message) => Problem::new(StatusCode::CONFLICT, "conflict", message),
            AppError::Config(cause) => Problem::internal(cause),
            AppError::Store(cause) => cause.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<lantern_engine::WindowError> for Problem {
    fn from(e: lantern_engine::WindowError) -> Self {
        Problem::bad_request(e.to_string())
    }
}

impl From<lantern_store::StoreError> for Problem {
    fn from(e: lantern_store::StoreError) -> Self {
        if e.is_busy() {
            Problem::busy()
        } else {
            Problem::internal(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_store_is_a_503_to_retry_never_a_500() {
        let locked = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database is locked".into()),
        );
        let problem = Problem::from(lantern_store::StoreError::from(locked));
        assert_eq!(problem.status, 503);
        let response = problem.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        // Any other store failure stays an internal error, told by reference.
        let other = lantern_store::StoreError::Corrupt { what: "x".into() };
        let problem = Problem::from(other);
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains('x'), "{}", problem.detail);
    }
}
