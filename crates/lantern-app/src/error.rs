//! The one error type of the use cases. Front ends map it: the server to
//! RFC 9457 problems (internal causes go to the log, never to the client),
//! the CLI to a message with its context.

use lantern_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is wrong; the message says what and where.
    #[error("{0}")]
    Invalid(String),
    /// Something it names does not exist (`what`: `team`, `service`,
    /// `dispute`, …).
    #[error("{message}")]
    NotFound { what: &'static str, message: String },
    /// This reader may not do or see this; the message says who may.
    #[error("{0}")]
    Forbidden(String),
    /// The request is right but the state it meets refuses it (a pulse
    /// code used before, a round that has closed).
    #[error("{0}")]
    Conflict(String),
    /// lantern.toml (or its environment) is wrong.
    #[error("{0}")]
    Config(String),
    /// The store failed: not the caller's fault.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppError {
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::Invalid(message.into())
    }
}

impl From<lantern_engine::WindowError> for AppError {
    fn from(e: lantern_engine::WindowError) -> Self {
        AppError::Invalid(e.to_string())
    }
}
