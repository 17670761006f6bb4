//! `lantern serve`: the HTTP API that dashboards and scripts read, and the
//! webhook receivers the delivery tools of a team feed.
//!
//! Layout, as in zero2prod: [`startup`] builds the application (tests
//! spawn it on a random port), [`routes`] holds one module per area,
//! [`sources`] maps each receiver's payload to canonical events (pure: no
//! HTTP, no store, so `lantern deadletter replay` reuses it), and
//! [`problem`] is the one error shape (RFC 9457 problem details).
//!
//! Invariants:
//! - a webhook gets a 2xx only after its events are committed;
//! - a body that cannot be mapped is answered 400 and kept as a dead
//!   letter with the reason, never dropped;
//! - no handler panics on input: every rejection is a problem document.

pub mod context;
pub mod document;
mod grant_cache;
mod openapi;
pub mod policy;
pub mod problem;
pub mod retention;
mod routes;
pub mod sources;
mod startup;
mod state;
mod verify;
pub mod web;

pub use document::{ReportDocument, heuristics};
pub use routes::access::{AuditJson, AuditVerdict, GrantJson, describe, verify_audit};
pub use sources::SourceSettings;
pub use startup::{Application, DEFAULT_BODY_LIMIT, Governance, Settings, Team};
