//! What governance keeps (governance.md rules 3, 4 and 8): grants, sign-in
//! sessions, the audit log and disputes. Every change here is written in
//! the same transaction as the audit entry that records it, so the log
//! never misses a change nor records one that did not happen.

use crate::Result;
use lantern_events::{AnnotationScope, Timestamp};
use lantern_governance::{AuditEntry, AuditRecord, Grant, TokenParts};

/// What a replica hears of grants changed by other processes sharing its
/// store ([`crate::Store::watch_grants`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantNotice {
    /// The watch listens (again): whatever was heard before may have
    /// missed changes, so whatever was remembered of grants is stale.
    Listening,
    /// This grant was revoked (committed).
    Revoked(String),
    /// Nothing within the wait.
    Quiet,
    /// The watch stopped listening (why): until it says `Listening`
    /// again, changes go unheard.
    Lost(String),
}

/// Revocations as they are committed, by any process sharing the store.
pub trait GrantWatch: Send {
    /// The next notice, waiting up to `wait` for one (`Quiet` then). After
    /// `Lost`, the next call tries to listen again.
    fn next(&mut self, wait: std::time::Duration) -> GrantNotice;
}

/// A sign-in session to keep: the hash of its cookie value, for a grant.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub hash: &'a [u8; 32],
    pub grant_id: &'a str,
    pub expires_at: Timestamp,
}

/// A challenge to a metric reading (rule 8). Who opened or resolved it is
/// in the audit log, not here: disputes are shown to every reader.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispute {
    /// Assigned by the store.
    pub id: i64,
    pub metric: String,
    pub scope: AnnotationScope,
    pub from: Timestamp,
    pub to: Timestamp,
    pub context: String,
    pub opened_at: Timestamp,
    pub resolution: Option<String>,
    pub resolved_at: Option<Timestamp>,
}

/// Where the audit chain starts (after retention) and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEnds {
    /// The last entry retention dropped, or `(0, GENESIS)`.
    pub start: (u64, String),
    /// The last entry appended, when there is one.
    pub head: Option<(u64, String)>,
}

/// How finely a grant's last use is kept: a use within this of the last
/// recorded one is not written again (the access review needs the day,
/// not the request).
pub const GRANT_USE_RESOLUTION_MICROS: i64 = 60 * lantern_events::MICROS_PER_SECOND;

/// Whether a use at `at` would move `grant`'s recorded last use: callers
/// skip [`GovernanceStore::touch_grant`]'s write when it would not.
pub fn use_is_new(grant: &Grant, at: Timestamp) -> bool {
    grant
        .last_used_at
        .is_none_or(|last| last.micros() < at.micros() - GRANT_USE_RESOLUTION_MICROS)
}

pub trait GovernanceStore {
    /// Saves a new grant with its token's hash.
    fn add_grant(
        &mut self,
        grant: &Grant,
        secret_hash: &[u8; 32],
        audit: AuditRecord,
    ) -> Result<()>;

    /// Every grant, revoked and expired ones too, oldest first.
    fn grants(&self) -> Result<Vec<Grant>>;

    /// The grant a presented token belongs to, if its secret matches
    /// (active or not: the caller decides, and says why it refused).
    fn grant_for_token(&self, token: &TokenParts) -> Result<Option<Grant>>;

    /// Revokes a grant and its sessions; false when there is no such grant
    /// or it was already revoked.
    fn revoke_grant(&mut self, id: &str, audit: AuditRecord) -> Result<bool>;

    /// Records a use, at most once a minute per grant
    /// ([`GRANT_USE_RESOLUTION_MICROS`]).
    fn touch_grant(&mut self, id: &str, at: Timestamp) -> Result<()>;

    /// A sign-in session: the hash of its cookie value, for a grant.
    fn add_session(&mut self, session: NewSession, audit: AuditRecord) -> Result<()>;

    /// The grant behind a session cookie, while the session lasts.
    fn session_grant(&self, hash: &[u8; 32], now: Timestamp) -> Result<Option<Grant>>;

    fn remove_session(&mut self, hash: &[u8; 32]) -> Result<()>;

    /// Appends an entry to the audit log.
    fn audit(&mut self, record: AuditRecord) -> Result<AuditEntry>;

    /// The audit log from `since` on (everything when `None`), in order.
    fn audit_entries(&self, since: Option<Timestamp>) -> Result<Vec<AuditEntry>>;

    fn audit_ends(&self) -> Result<AuditEnds>;

    /// Opens a dispute; returns its id.
    fn add_dispute(&mut self, dispute: &Dispute, audit: AuditRecord) -> Result<i64>;

    fn disputes(&self) -> Result<Vec<Dispute>>;

    /// Resolves an open dispute with a note; false when there is no open
    /// dispute with this id.
    fn resolve_dispute(
        &mut self,
        id: i64,
        resolution: &str,
        at: Timestamp,
        audit: AuditRecord,
    ) -> Result<bool>;

    /// Writes annotations (events) and their audit entry together.
    fn add_annotations(
        &mut self,
        annotations: Vec<lantern_events::Annotation>,
        audit: AuditRecord,
    ) -> Result<()>;

    /// Records the configuration in effect: when its `fingerprint` differs
    /// from the last one recorded, appends `audit` (governance.md rule 4:
    /// changes to catalog, retention or configuration are logged) and
    /// returns true.
    fn note_configuration(&mut self, fingerprint: &str, audit: AuditRecord) -> Result<bool>;

    /// Applies retention (governance.md rule 5) at `horizons`, recorded
    /// with `audit` (its outcome says what went). Idempotent.
    fn apply_retention(
        &mut self,
        config: &lantern_engine::EngineConfig,
        horizons: &lantern_governance::retention::Horizons,
        audit: AuditRecord,
    ) -> Result<crate::RetentionRun>;
}
