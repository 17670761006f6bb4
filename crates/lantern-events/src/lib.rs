//! Lantern's canonical events (events.md, version 1).
//!
//! Every source is turned into these types before anything is stored, and
//! the metrics engine reads nothing else. Parsing is where validation
//! happens and where person fields become pseudonyms: a value of one of
//! these types is already known to be well-formed and free of names.

mod event;
mod ids;
mod json;
mod merge;
mod parse;
mod pseudonym;
mod time;

pub use event::*;
pub use ids::{EventId, Name, Sha, ShaHex};
pub use parse::{FieldError, RESERVED_ID_PREFIX, parse_event, parse_event_json};
pub use pseudonym::{KeyError, Pseudonym, Pseudonymiser, hex};
pub use time::{MICROS_PER_DAY, MICROS_PER_SECOND, Timestamp};
