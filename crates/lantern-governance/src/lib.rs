//! The rules of governance.md as pure code: no I/O, no clock, no
//! randomness (callers pass `now` and random bytes), so that every rule is
//! tested directly and the server, the CLI and the store apply the same one.
//!
//! - [`grant`]: roles, tokens and what each grant is (rule 3);
//! - [`policy`]: what a request needs and whether a grant has it, and
//!   small-group suppression (rules 2 and 3);
//! - [`audit`]: the hash chain of the audit log (rule 4);
//! - [`sampling`]: which pull requests keep their review detail (rule 6);
//! - [`retention`]: how long each kind of data is kept (rule 5).

pub mod audit;
pub mod grant;
pub mod policy;
pub mod retention;
pub mod sampling;

pub use audit::{AuditBreak, AuditEntry, AuditRecord, GENESIS};
pub use grant::{Grant, GrantError, IssuedToken, NewGrant, Role, TokenParts};
pub use policy::{Denied, Need, ReportScope, suppression};
pub use retention::Retention;
pub use sampling::ReviewSampling;
