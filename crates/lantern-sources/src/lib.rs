//! Every way data comes into Lantern, each mapped to canonical events
//! (`shared/spec/events.md`) and nothing else: no HTTP, no store.
//!
//! - [`receivers`]: the webhook receivers (`/hooks/NAME`), each one
//!   [`Receiver`] that knows its name, how its sender proves itself, which
//!   headers its mapping reads (kept with a dead letter for the replay)
//!   and how its body maps. The server has one handler for all of them;
//!   `lantern deadletter replay` uses the same table.
//! - [`jsonl`]: canonical events as JSON Lines (`lantern import events`).
//! - [`git`]: a local repository (`lantern import git`), the `lantern-git`
//!   crate (kept apart: it alone depends on gix).
//!
//! Invariant: a mapping is a pure function of the body, the kept headers,
//! the receiver's settings and the pseudonymisation key; person fields are
//! pseudonymised here, before anything is stored.

pub mod receivers;
mod verify;

pub mod jsonl;
pub use jsonl::{LineError, read_jsonl};
pub use lantern_git as git;
pub use receivers::{
    Chain, Delivery, FlowMapping, MapError, Mapped, PendingRun, RECEIVERS, Receiver,
    SourceSettings, receiver,
};
