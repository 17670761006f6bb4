//! What team health keeps (health.md): pulse rounds, their single-use
//! answer codes and their answers, and improvement experiments.
//!
//! Invariant (pulse anonymity): an answer row holds a random id, its round
//! and the six values — no code, no time, no reader. A code is kept only
//! as its hash with a `used` flag, in another table, and is forgotten when
//! its round closes. Nothing a store keeps can join an answer to a code, a
//! token, an address or a time finer than the round's days. Answering
//! writes no audit entry (an entry has a time and would date the answer).

use crate::Result;
use lantern_events::{Name, Timestamp};
use lantern_governance::AuditRecord;

/// Who may read a round's results besides its team's members and admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Only the team's members and admins.
    Team,
    /// Also org viewers.
    Org,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Team => "team",
            Visibility::Org => "org",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "team" => Some(Visibility::Team),
            "org" => Some(Visibility::Org),
            _ => None,
        }
    }
}

/// A pulse round of one team.
#[derive(Debug, Clone, PartialEq)]
pub struct PulseRound {
    /// Assigned by the store; ignored when adding.
    pub id: i64,
    pub team: Name,
    pub visibility: Visibility,
    /// The day it opened (midnight UTC): no finer time is kept.
    pub opened_on: Timestamp,
    /// Answers are taken until this instant.
    pub closes_at: Timestamp,
    /// When it was closed early (the day only), if it was.
    pub closed_on: Option<Timestamp>,
}

impl PulseRound {
    /// Closed early, or past its closing time.
    pub fn is_closed(&self, now: Timestamp) -> bool {
        self.closed_on.is_some() || now >= self.closes_at
    }
}

/// The six answers of one respondent (health.md's questions, in their
/// order), each 1…5 or skipped.
pub type PulseValues = [Option<u8>; 6];

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Stored,
    /// No such code in this round.
    UnknownCode,
    /// The code was used before.
    UsedCode,
    /// The round is closed (or does not exist).
    Closed,
}

/// An improvement experiment (health.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Assigned by the store; ignored when adding.
    pub id: i64,
    pub team: Name,
    pub constraint: String,
    /// A path into the report, e.g. `lead_time.median_s`.
    pub indicator: String,
    /// `up` or `down`.
    pub direction: String,
    pub from: Timestamp,
    pub review: Timestamp,
    /// Report paths expected to dip while it runs.
    pub expect_dip: Vec<String>,
    pub ended_at: Option<Timestamp>,
}

pub trait HealthStore {
    /// Opens a round; returns its id.
    fn add_pulse_round(&mut self, round: &PulseRound, audit: AuditRecord) -> Result<i64>;

    /// Every round (of one team, when given), oldest first.
    fn pulse_rounds(&self, team: Option<&Name>) -> Result<Vec<PulseRound>>;

    /// Closes an open round on `day` and forgets its codes; false when
    /// there is no such open round.
    fn close_pulse_round(&mut self, id: i64, day: Timestamp, audit: AuditRecord) -> Result<bool>;

    /// Keeps the hashes of new answer codes for a round.
    fn add_pulse_codes(
        &mut self,
        round: i64,
        hashes: &[[u8; 32]],
        audit: AuditRecord,
    ) -> Result<()>;

    /// Uses a code once and stores its answers under `answer_id` (random),
    /// in one transaction, if the round is open at `now`.
    fn answer_pulse(
        &mut self,
        round: i64,
        code_hash: &[u8; 32],
        answer_id: &str,
        values: &PulseValues,
        now: Timestamp,
    ) -> Result<Answered>;

    /// A round's answers, in the order of their random ids.
    fn pulse_answers(&self, round: i64) -> Result<Vec<PulseValues>>;

    /// Records an experiment; returns its id.
    fn add_experiment(&mut self, experiment: &Experiment, audit: AuditRecord) -> Result<i64>;

    /// Every experiment (of one team, when given), by id.
    fn experiments(&self, team: Option<&Name>) -> Result<Vec<Experiment>>;

    /// Ends a running experiment at `at`; false when there is no such
    /// experiment or it has ended.
    fn end_experiment(&mut self, id: i64, at: Timestamp, audit: AuditRecord) -> Result<bool>;
}

/// The six answer columns, in the questions' order.
pub(crate) const ANSWER_COLUMNS: &str =
    "psychological_safety, workload, clarity, on_call, decisions, satisfaction";

pub(crate) fn expect_dip_text(list: &[String]) -> String {
    list.join(",")
}

pub(crate) fn expect_dip_list(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn visibility(text: &str) -> Result<Visibility> {
    Visibility::parse(text).ok_or_else(|| crate::StoreError::Corrupt {
        what: format!("a pulse round's visibility `{text}`"),
    })
}

pub(crate) fn team_name(text: &str) -> Result<Name> {
    Name::parse(text).map_err(|_| crate::StoreError::Corrupt {
        what: format!("the team name `{text}`"),
    })
}

pub(crate) fn answer_value(v: Option<i64>) -> Result<Option<u8>> {
    match v {
        None => Ok(None),
        Some(n @ 1..=5) => Ok(Some(n as u8)),
        Some(n) => Err(crate::StoreError::Corrupt {
            what: format!("a pulse answer of {n}"),
        }),
    }
}
