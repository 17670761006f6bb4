//! `lantern serve`: the HTTP API that dashboards and scripts read, and the
//! webhook receivers the delivery tools of a team feed.
//!
//! Layout, as in zero2prod: [`startup`] builds the application (tests
//! spawn it on a random port), [`routes`] holds one module per area of the
//! API, [`web`] the dashboard's pages, and [`problem`] is the one error
//! shape (RFC 9457 problem details). What a request does is a use case of
//! `lantern-app`; what a delivery means is a receiver of `lantern-sources`.
//!
//! Invariants:
//! - a webhook gets a 2xx only after its events are committed;
//! - a body that cannot be mapped is answered 400 and kept as a dead
//!   letter with the reason, never dropped;
//! - no handler panics on input: every rejection is a problem document.

mod export;
mod extract;
mod grant_cache;
pub mod notify;
mod openapi;
pub mod policy;
pub mod problem;
pub mod prometheus;
mod refusals;
pub mod retention;
pub mod routes;
mod security;
mod settings;
mod startup;
mod state;
pub mod web;

pub use settings::{DEFAULT_BODY_LIMIT, Settings};
pub use startup::Application;
