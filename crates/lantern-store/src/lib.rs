//! Where canonical events live. The [`Store`] trait is all the rest of
//! Lantern sees; [`SqliteStore`] is the embedded default, and a PostgreSQL
//! store can be added behind the same trait without touching the engine.
//!
//! Invariants every implementation keeps:
//! - a write is one transaction: all of a batch or none of it;
//! - same type + id replaces (last write wins), so re-sending is idempotent;
//! - only what the events carry is stored — person fields arrive already
//!   pseudonymised (see `lantern_events::Pseudonymiser`).

mod codec;
mod schema;
mod sqlite;

use lantern_engine::EventSet;
use lantern_events::{Event, Name};
use std::collections::BTreeSet;

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database holds a value of the wrong type: {0}")]
    Type(#[from] rusqlite::types::FromSqlError),
    #[error(
        "the database {path} was written by a newer Lantern (schema version {found}, this one knows up to {known}); upgrade Lantern"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("the database holds a value this Lantern cannot read ({what}); was it edited by hand?")]
    Corrupt { what: String },
}

/// How many events of each type a store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub changes: u64,
    pub pull_requests: u64,
    pub deployments: u64,
    pub incidents: u64,
    pub annotations: u64,
}

pub trait Store {
    /// Writes a batch in one transaction; an event replaces any stored one
    /// of the same type and id.
    fn write(&mut self, events: &[Event]) -> Result<(), StoreError>;

    /// The events a report over these services needs (`None`: the whole
    /// organisation). May return more than needed, never less: the engine
    /// filters by scope itself.
    fn load(&self, services: Option<&BTreeSet<Name>>) -> Result<EventSet, StoreError>;

    /// Every service named by a deployment or an incident.
    fn services(&self) -> Result<BTreeSet<Name>, StoreError>;

    fn counts(&self) -> Result<Counts, StoreError>;
}
