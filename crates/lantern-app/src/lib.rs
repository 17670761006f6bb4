//! Lantern's use cases, written once: the CLI, the API and the dashboard
//! call these and only translate (arguments, query strings and forms in;
//! tables, JSON and pages out). Typed inputs in, typed results or an
//! [`AppError`] out; no HTTP, no terminal.
//!
//! - [`settings`]: lantern.toml — the catalog, the engine's, receivers'
//!   and governance's settings (not how the server listens);
//! - [`report`]: the one report entry point (scope, window, buckets,
//!   reader), with governance rule 2 applied;
//! - [`annotations`]: annotations and disputes (rule 8);
//! - [`audit`]: what grants allow, as recorded, and the audit log's check;
//! - [`deployments`]: one deployment explained;
//! - [`blocking`]: seed 001's four questions and the largest lead-time stage;
//! - [`compare`]: a report beside the same over an earlier window;
//! - [`experiments`]: an improvement experiment's measure and verdict;
//! - [`flow`]: flow.md's figures for a team, a service or every team;
//! - [`pulse`]: pulse surveys — rounds, single-use codes, answers, and
//!   results only past the threshold, for everyone;
//! - [`team_health`]: a team's operational load and strain (health.md);
//! - [`format`]: figures as people read them (one duration format);
//! - [`export`]: figures as CSV, for the CLI and the API;
//! - [`notify`]: weekly digests and alerts to chat, through an outbox.
//!
//! Invariant: a figure reaches a reader only through [`report`], so
//! suppression cannot be forgotten by a new front end.

pub mod annotations;
pub mod audit;
pub mod backstage;
pub mod blocking;
pub mod chains;
pub mod compare;
pub mod deployments;
pub mod doctor;
mod error;
pub mod experiments;
pub mod export;
pub mod exposition;
pub mod flow;
pub mod format;
pub mod gate;
pub mod notify;
pub mod openslo;
pub mod pooled;
pub mod pulse;
pub mod rating;
pub mod report;
pub mod settings;
pub mod slos;
pub mod team_health;

pub use error::AppError;
pub use settings::{Governance, Settings, Team};
