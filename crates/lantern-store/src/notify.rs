//! The outbox of notifications to chat and other webhooks (`[[notify]]`):
//! what is to be sent, to which target, and how each attempt went.
//!
//! A message is queued once per target and key (a digest's week, an
//! alert's SLO, tier and day, a gate answer): queueing the same key again
//! does nothing, so every replica may plan and only one message leaves.
//! A message holds team-level text and figures only — it was composed
//! through governance before it was queued — and its queueing is recorded
//! in the audit log in the same transaction (an export, rule 4).

use crate::Result;
use lantern_events::{Name, Timestamp};
use lantern_governance::AuditRecord;

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Given up on: refused for good, or out of attempts.
    Failed,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Pending => "pending",
            Delivery::Delivered => "delivered",
            Delivery::Failed => "failed",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self> {
        match text {
            "pending" => Ok(Delivery::Pending),
            "delivered" => Ok(Delivery::Delivered),
            "failed" => Ok(Delivery::Failed),
            other => Err(crate::StoreError::Corrupt {
                what: format!("a notification's state `{other}`"),
            }),
        }
    }
}

/// A message to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// The `[[notify]]` target's name.
    pub target: String,
    /// What makes it one message: queued once per target and key.
    pub key: String,
    /// `digest`, `burn`, `gate` or `test`.
    pub kind: String,
    pub team: Name,
    /// The composed message (JSON), rendered for the target when sent.
    pub message: String,
    pub created_at: Timestamp,
}

/// A queued message and how its delivery went.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub target: String,
    pub key: String,
    pub kind: String,
    pub team: Name,
    pub message: String,
    pub created_at: Timestamp,
    pub state: Delivery,
    pub attempts: u32,
    /// When the next attempt is due (pending messages).
    pub next_at: Timestamp,
    /// When it was delivered, or last tried.
    pub last_at: Option<Timestamp>,
    /// What the last failed attempt met (never the target's URL).
    pub last_error: Option<String>,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Delivered {
        at: Timestamp,
    },
    /// Failed; tried again at `next_at`.
    Retry {
        at: Timestamp,
        error: String,
        next_at: Timestamp,
    },
    /// Failed for good.
    GaveUp {
        at: Timestamp,
        error: String,
    },
}

pub trait NotifyStore {
    /// Queues a message with its audit entry, in one transaction; false
    /// (and nothing written) when its target and key were queued before.
    fn queue_notification(&mut self, message: &NewNotification, audit: AuditRecord)
    -> Result<bool>;

    /// Pending messages due at `now`, oldest first, at most `limit`.
    fn due_notifications(&self, now: Timestamp, limit: usize) -> Result<Vec<Notification>>;

    /// Records an attempt on a message.
    fn record_attempt(&mut self, id: i64, attempt: &Attempt) -> Result<()>;

    /// The newest messages (of one target, when given), at most `limit`.
    fn notifications(&self, target: Option<&str>, limit: usize) -> Result<Vec<Notification>>;
}

/// The columns every read selects, in [`Notification`]'s order.
pub(crate) const COLUMNS: &str = "id, target, key, kind, team, message, created_at, state, attempts, next_at, last_at, last_error";

/// An attempt as the row's new state, attempt count step, times and error.
pub(crate) fn attempt_columns(attempt: &Attempt) -> (&'static str, i64, Option<i64>, Option<&str>) {
    match attempt {
        Attempt::Delivered { at } => ("delivered", at.micros(), None, None),
        Attempt::Retry { at, error, next_at } => {
            ("pending", at.micros(), Some(next_at.micros()), Some(error))
        }
        Attempt::GaveUp { at, error } => ("failed", at.micros(), None, Some(error)),
    }
}
