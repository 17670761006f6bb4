//! Where canonical events live. The [`Store`] trait is all the rest of
//! Lantern sees; [`SqliteStore`] is the embedded default, and a PostgreSQL
//! store can be added behind the same trait without touching the engine.
//!
//! Invariants every implementation keeps:
//! - a write is one transaction: all of a batch or none of it;
//! - same type + id replaces (last write wins), so re-sending is idempotent;
//! - facts derived from history are kept beside it and marked stale by
//!   every write, so a report never reads facts older than the events;
//! - only what the events carry is stored — person fields arrive already
//!   pseudonymised (see `lantern_events::Pseudonymiser`).

mod closure;
mod codec;
mod copy;
mod flow;
mod governance;
mod health;
mod kept;
mod notify;
mod panels;
mod postgres;
mod retained;
mod sqlite;
mod tally_codec;
mod touched;

use lantern_engine::{EngineConfig, EventSet, ReportInput, Window};
use lantern_events::{Change, Event, Name};
use std::collections::BTreeSet;

/// The store's results: `Result<T>` fails with a [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub use copy::{TABLES, copy_sqlite_to_postgres};

/// One service's `/metrics` figures as kept ([`Store::kept_exposition`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptExposition {
    pub service: String,
    /// The fact versions the rows were read at.
    pub generation: i64,
    pub version: i64,
    /// The UTC day (days since 1970) `contributors` was counted for, and
    /// the count it stopped at.
    pub day: i64,
    pub at_least: i64,
    pub contributors: i64,
    /// The figures, as the reader wrote them (JSON).
    pub rows: String,
}

pub(crate) const KEPT_EXPOSITION_COLUMNS: &str =
    "service, generation, version, day, at_least, contributors, rows";

/// [`Store::fact_versions`]: what changed since a reader last looked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FactVersions {
    pub generation: i64,
    pub services: std::collections::BTreeMap<String, i64>,
}

impl FactVersions {
    /// A service's version together with the generation.
    pub fn of(&self, service: &str) -> (i64, i64) {
        (
            self.generation,
            self.services.get(service).copied().unwrap_or(0),
        )
    }

    /// One row of `fact_versions` as both stores read it.
    pub(crate) fn add(&mut self, service: String, version: i64) {
        if service == GENERATION {
            self.generation = version;
        } else {
            self.services.insert(service, version);
        }
    }
}

/// The row of `fact_versions` that holds the generation.
pub(crate) const GENERATION: &str = "*";

/// Bumps the version of `$1` (a service, or [`GENERATION`]); the same
/// statement on both stores (SQLite numbers `$1` as the first parameter).
pub(crate) const BUMP_VERSION: &str = "INSERT INTO fact_versions (service, version) VALUES ($1, 1)
     ON CONFLICT (service) DO UPDATE SET version = fact_versions.version + 1";
pub use governance::{
    AuditEnds, Dispute, GRANT_USE_RESOLUTION_MICROS, GovernanceStore, GrantNotice, GrantWatch,
    NewSession, use_is_new,
};
pub use health::{Answered, Experiment, HealthStore, PulseRound, PulseValues, Visibility};
pub use notify::{Attempt, Delivery, NewNotification, Notification, NotifyStore};
pub use postgres::{PostgresStore, redacted};
pub use retained::{RETAINED_PREFIX, RetentionRun};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", postgres_message(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("not supported yet: {what}")]
    Unsupported { what: String },
    #[error("cannot connect to PostgreSQL at {url}: {reason}")]
    Connect { url: String, reason: String },
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
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the database holds a value this Lantern cannot read ({what}); was it edited by hand?")]
    Corrupt { what: String },
}

/// A PostgreSQL error with the server's own message and detail, which
/// `postgres::Error`'s display leaves out ("db error").
impl StoreError {
    /// Whether the store was too busy to answer in time (another writer
    /// held it past the busy timeout, or PostgreSQL gave up on a lock):
    /// nothing was written, and the same request can succeed later.
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            StoreError::Postgres(e) => e.code().is_some_and(|c| {
                [
                    ::postgres::error::SqlState::T_R_SERIALIZATION_FAILURE,
                    ::postgres::error::SqlState::T_R_DEADLOCK_DETECTED,
                    ::postgres::error::SqlState::LOCK_NOT_AVAILABLE,
                ]
                .contains(c)
            }),
            _ => false,
        }
    }

    /// A store written by a newer Lantern is refused, not misread.
    pub(crate) fn check_version(path: &str, found: i64, known: i64) -> Result<()> {
        if found > known {
            return Err(StoreError::TooNew {
                path: path.to_string(),
                found,
                known,
            });
        }
        Ok(())
    }
}

pub(crate) fn postgres_message(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        // "error connecting to server" says little; its cause says what.
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// How many events of each type a store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub changes: u64,
    pub pull_requests: u64,
    pub deployments: u64,
    pub incidents: u64,
    pub annotations: u64,
    pub slis: u64,
    pub pipeline_runs: u64,
}

/// hygiene.md F3: how far past its arrival an event may be dated before
/// it counts as a future timestamp.
pub const FUTURE_SLACK_MICROS: i64 = 5 * 60 * lantern_events::MICROS_PER_SECOND;

/// Whether an event received at `now` (µs) carries a time more than
/// five minutes after it.
/// A pull request's size as a window row keeps it (panels.md): additions
/// + deletions when it gives both.
pub(crate) fn pull_request_size(p: &lantern_events::PullRequest) -> Option<i64> {
    let (a, d) = (p.additions?, p.deletions?);
    Some(a.saturating_add(d).min(i64::MAX as u64) as i64)
}

/// What a report reads of a kept size: the sum as `additions`, with
/// `deletions` 0 (`ReportInput::pull_requests`).
pub(crate) fn set_pull_request_size(p: &mut lantern_events::PullRequest, size: Option<i64>) {
    if let Some(size) = size {
        p.additions = Some(size.max(0) as u64);
        p.deletions = Some(0);
    }
}

/// Adds what a refresh loaded of repositories nobody deploys to the
/// events loaded beside them: their pull requests, and the changes not
/// loaded yet. Deriving loads no change ids, so a change is its
/// repository and sha here.
pub(crate) fn add_orphan_history(
    events: &mut EventSet,
    changes: Vec<Change>,
    pull_requests: Vec<lantern_events::PullRequest>,
) {
    let more: Vec<Change> = {
        let loaded: foldhash::HashSet<(&Name, &lantern_events::Sha)> =
            events.changes.iter().map(|c| (&c.repo, &c.sha)).collect();
        changes
            .into_iter()
            .filter(|c| !loaded.contains(&(&c.repo, &c.sha)))
            .collect()
    };
    events.changes.extend(more);
    events.pull_requests.extend(pull_requests);
}

pub(crate) fn is_future(event: &lantern_events::Event, now: i64) -> bool {
    event.latest_time().micros() > now.saturating_add(FUTURE_SLACK_MICROS)
}

/// The (repository, UTC day) pairs the changes among `events` fall on,
/// each once: what hygiene.md F7 keeps of changes (`change_days`).
pub(crate) fn change_days(events: &[lantern_events::Event]) -> Vec<(&str, i64)> {
    let mut days: Vec<(&str, i64)> = events
        .iter()
        .filter_map(|e| match e {
            lantern_events::Event::Change(c) => Some((
                c.repo.as_str(),
                c.committed_at
                    .micros()
                    .div_euclid(lantern_events::MICROS_PER_DAY),
            )),
            _ => None,
        })
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

/// The (repository, sha, pipeline) of each failed run among `runs`, once:
/// where a later successful attempt would make it flaky (hygiene.md F4).
pub(crate) fn failed_run_keys(
    runs: &[lantern_events::PipelineRun],
) -> Vec<(String, String, String)> {
    let mut keys: Vec<(String, String, String)> = runs
        .iter()
        .filter(|r| r.status == lantern_events::PipelineStatus::Failure)
        .map(|r| {
            (
                r.repo.to_string(),
                r.sha.to_string(),
                r.pipeline.to_string(),
            )
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Adds to `runs` those of `later` it does not hold yet (by id).
pub(crate) fn add_later_runs(
    runs: &mut Vec<lantern_events::PipelineRun>,
    later: Vec<lantern_events::PipelineRun>,
) {
    if later.is_empty() {
        return;
    }
    let held: std::collections::HashSet<String> = runs.iter().map(|r| r.id.to_string()).collect();
    runs.extend(later.into_iter().filter(|r| !held.contains(r.id.as_str())));
}

/// Retention forgets the future-dated notes of events that are gone (or
/// renamed to measurements): the same statement in both stores.
pub(crate) const FORGET_GONE_ARRIVALS: &str = "DELETE FROM future_events WHERE
    (kind = 'change' AND NOT EXISTS (SELECT 1 FROM changes t WHERE t.id = future_events.id))
 OR (kind = 'pull_request' AND NOT EXISTS (SELECT 1 FROM pull_requests t WHERE t.id = future_events.id))
 OR (kind = 'deployment' AND NOT EXISTS (SELECT 1 FROM deployments t WHERE t.id = future_events.id))
 OR (kind = 'incident' AND NOT EXISTS (SELECT 1 FROM incidents t WHERE t.id = future_events.id))
 OR (kind = 'pipeline_run' AND NOT EXISTS (SELECT 1 FROM pipeline_runs t WHERE t.id = future_events.id));";

/// How far before a window a report's input reaches for webhook
/// deliveries: hygiene.md's silent sources look at the 30 days before a
/// window's (or a trend bucket's) end.
pub const SILENCE_LOOK_BACK_MICROS: i64 = 30 * lantern_events::MICROS_PER_DAY;

/// How far before a window a report's input reaches for successful
/// deployments: hygiene.md's silent services look at the 90 days before
/// a window's (or a trend bucket's) end.
pub const LOOK_BACK_MICROS: i64 = 90 * lantern_events::MICROS_PER_DAY;

/// A webhook body that could not be turned into events, kept so that it
/// can be shown and replayed once the mapping is fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Assigned by the store; ignored when adding.
    pub id: i64,
    pub received_at: lantern_events::Timestamp,
    /// The receiver, e.g. `events`, `github`.
    pub source: String,
    pub reason: String,
    /// The request headers the mapping reads (name, value), e.g. the
    /// event type; never secrets or signatures.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A batch of a bulk import split in two, for the importer's connection
/// and its [`Store::bulk_partner`], in their order. Whatever one event's
/// write can meet of another's goes to the same side, so that the two
/// transactions never wait on each other's rows nor reorder two versions
/// of an event: events of the same id (the upsert's key), and a work item
/// with its states (a state's write works out its item's summary,
/// `flow::SUMMARY_UPDATE`, for the items `flow::item_of` names).
pub fn split_for_partner(events: Vec<Event>) -> (Vec<Event>, Vec<Event>) {
    use std::hash::BuildHasher;
    let hasher = foldhash::fast::FixedState::default();
    let mut mine = Vec::with_capacity(events.len() / 2 + 1);
    let mut theirs = Vec::with_capacity(events.len() / 2 + 1);
    for event in events {
        let key = flow::item_of(&event).unwrap_or(event.id().as_str());
        if hasher.hash_one(key) & 1 == 0 {
            mine.push(event);
        } else {
            theirs.push(event);
        }
    }
    (mine, theirs)
}

/// See [`Store::session`].
pub trait WriteSession {
    fn write(&mut self, events: &[Event]) -> Result<()>;

    /// Commits everything written, with each `(key, state)` saved as a
    /// source adapter's position.
    fn commit(self: Box<Self>, source_states: &[(&str, &str)]) -> Result<()>;
}

pub trait Store: GovernanceStore + HealthStore + NotifyStore {
    /// Whether other processes (replicas) write to this store too, so that
    /// no process may answer from what it remembers instead of asking.
    fn is_shared(&self) -> bool {
        false
    }

    /// For a shared store: a watch on revocations committed by any process
    /// on it, so that a replica may remember verified tokens and still
    /// refuse a revoked one as soon as the revocation is heard. `None`
    /// where there is nothing to hear (SQLite) or no way to listen.
    fn watch_grants(&self) -> Option<Box<dyn GrantWatch>> {
        None
    }

    /// Another connection to the same store, for a server that works on
    /// several requests at once; `None` where one connection is all there
    /// is (SQLite: one writer at a time anyway).
    fn another_connection(&self) -> Option<Result<Box<dyn Store + Send>>> {
        None
    }

    /// For a bulk import (between `bulk_writes(true)` and `(false)`): a
    /// second connection writing in the same mode, on which the importer
    /// writes part of each batch at the same time ([`split_for_partner`]
    /// says which part). `None` where one writer is all the store allows
    /// (SQLite).
    fn bulk_partner(&self) -> Option<Result<Box<dyn Store + Send>>> {
        None
    }

    /// Takes or renews the lease on a periodic `job` (retention) for
    /// `holder` until `until`, unless another holder's lease is still
    /// running at `now`: so that such a job runs on one replica at a time.
    fn take_lease(
        &mut self,
        job: &str,
        holder: &str,
        now: lantern_events::Timestamp,
        until: lantern_events::Timestamp,
    ) -> Result<bool>;

    /// Writes a batch in one transaction; an event replaces any stored one
    /// of the same type and id.
    fn write(&mut self, events: &[Event]) -> Result<()>;

    /// One transaction for a stream of batches, committed with a source
    /// adapter's position (so the position never runs ahead of the events,
    /// and a crash part-way leaves nothing of the stream). Dropping the
    /// session without committing rolls it back.
    fn session(&mut self) -> Result<Box<dyn WriteSession + '_>>;

    /// Tells the store that a bulk import writes (`true`) until it says
    /// `false`: SQLite keeps a large page cache only meanwhile; PostgreSQL
    /// writes event tables that were empty without their secondary
    /// indexes, and builds those at `false` (postgres/bulk.rs).
    fn bulk_writes(&mut self, _on: bool) -> Result<()> {
        Ok(())
    }

    /// A source adapter's saved position.
    fn source_state(&self, key: &str) -> Result<Option<String>>;

    /// Every saved position whose key starts with `prefix`, by key.
    fn source_states(&self, prefix: &str) -> Result<Vec<(String, String)>>;

    /// The stored event of this type and id (annotations: never found, they
    /// are always replaced whole).
    fn find(
        &self,
        kind: lantern_events::EventKind,
        id: &lantern_events::EventId,
    ) -> Result<Option<Event>>;

    /// Writes a batch in one transaction, each event merged into the
    /// stored one of the same type and id (`Event::fill_from`): for
    /// sources that report one fact at a time.
    fn write_merged(&mut self, events: Vec<Event>) -> Result<()> {
        self.write_deliveries(vec![(events, true)])
    }

    /// Several deliveries in one transaction (a server's group commit), in
    /// order; those marked `true` are merged into what is stored or was
    /// delivered before them.
    fn write_deliveries(&mut self, deliveries: Vec<(Vec<Event>, bool)>) -> Result<()> {
        let mut all: Vec<Event> = Vec::with_capacity(deliveries.iter().map(|d| d.0.len()).sum());
        for (events, merge) in deliveries {
            for mut e in events {
                if merge {
                    // An earlier event of the same batch counts as stored.
                    let earlier = match all
                        .iter()
                        .rev()
                        .find(|m: &&Event| m.kind() == e.kind() && m.id() == e.id())
                    {
                        Some(m) => Some(m.clone()),
                        None => self.find(e.kind(), e.id())?,
                    };
                    if let Some(earlier) = earlier {
                        e.fill_from(&earlier);
                    }
                }
                all.push(e);
            }
        }
        self.write(&all)
    }

    /// A service's deployments (any environment, any status) that
    /// finished in the window, in time order: event-level detail.
    fn deployments_in(
        &self,
        service: &Name,
        window: lantern_engine::Window,
    ) -> Result<Vec<lantern_events::Deployment>>;

    /// The incidents affecting a service that were open at some time in
    /// the window, by start.
    fn incidents_in(
        &self,
        service: &Name,
        window: lantern_engine::Window,
    ) -> Result<Vec<lantern_events::Incident>>;

    /// The changes committed in the window to the repositories a service
    /// deploys, by commit time: event-level detail. Their authors are left
    /// out (`author` is `None`).
    fn changes_in(
        &self,
        service: &Name,
        window: lantern_engine::Window,
    ) -> Result<Vec<lantern_events::Change>>;

    /// Every annotation.
    fn annotations(&self) -> Result<Vec<lantern_events::Annotation>>;

    /// An SLO's counts whose interval ends in (`after`, `until`]: what its
    /// figures over [after, until) sum (slo.md).
    fn sli_counts(
        &self,
        slo: &str,
        after: lantern_events::Timestamp,
        until: lantern_events::Timestamp,
    ) -> Result<Vec<lantern_engine::slo::SliCount>>;

    /// An SLO's (good, total) over each range [a, b) in microseconds (the
    /// intervals whose end lies in (a, b]), summed by the store.
    fn sli_sums(&self, slo: &str, ranges: &[(i64, i64)]) -> Result<Vec<(u128, u128)>>;

    /// Keeps a body that could not be mapped; returns its id.
    fn add_dead_letter(&mut self, letter: &DeadLetter) -> Result<i64>;

    /// Every kept dead letter, oldest first.
    fn dead_letters(&self) -> Result<Vec<DeadLetter>>;

    /// Drops a dead letter (after a successful replay); false when absent.
    fn remove_dead_letter(&mut self, id: i64) -> Result<bool>;

    /// Every stored change of one repository (ids and authors left out).
    fn changes_of_repo(&self, repo: &Name) -> Result<Vec<Change>>;

    /// The events a report over these services needs (`None`: the whole
    /// organisation). May return more than needed, never less: the engine
    /// filters by scope itself.
    fn load(&self, services: Option<&BTreeSet<Name>>) -> Result<EventSet>;

    /// Distinct people (pseudonyms) who authored commits committed in the
    /// window, or pull requests merged in it, in these repositories
    /// (`None`: all) — counted up to `at_least`, where rule 2 stops caring.
    fn contributors(
        &self,
        repos: Option<&BTreeSet<Name>>,
        window: Window,
        at_least: u64,
    ) -> Result<u64>;

    /// Every service named by a deployment or an incident.
    fn services(&self) -> Result<BTreeSet<Name>>;

    /// Whether a deployment or an incident names `service` (what
    /// `services` holds), without listing every service where a store
    /// can ask its indexes.
    fn has_service(&self, service: &Name) -> Result<bool> {
        Ok(self.services()?.contains(service))
    }

    fn counts(&self) -> Result<Counts>;

    /// Notes that these webhook receivers delivered at `at`: one row per
    /// receiver and minute (hygiene.md F1, silent sources).
    fn record_deliveries(
        &mut self,
        receivers: &[&str],
        at: lantern_events::Timestamp,
    ) -> Result<()>;

    /// Whether the kept facts (see `lantern_engine::Facts`) match the stored
    /// history and these settings.
    fn facts_are_fresh(&self, config: &EngineConfig) -> Result<bool>;

    /// Re-derives the kept facts from the whole history; `progress` hears
    /// (services done, services in all).
    fn refresh_facts(
        &mut self,
        config: &EngineConfig,
        progress: &dyn Fn(usize, usize),
    ) -> Result<()>;

    /// Re-derives what is stale (as a report's read does for its scope),
    /// for every service.
    fn refresh_stale_facts(&mut self, config: &EngineConfig) -> Result<()>;

    /// The facts' versions: a service's version changes whenever a refresh
    /// re-derives its facts, and `generation` whenever every service's may
    /// have changed (a whole refresh, retention). Equal versions, equal
    /// facts.
    fn fact_versions(&self) -> Result<FactVersions>;

    /// What `/metrics` last read of each service, with the versions it
    /// was read at: derived, so any process may replace it.
    fn kept_exposition(&self) -> Result<Vec<KeptExposition>>;

    /// Replaces the kept rows of these services.
    fn keep_exposition(&mut self, rows: &[KeptExposition]) -> Result<()>;

    /// What a report over these services (`None`: the organisation) and
    /// window needs — from kept facts, refreshed first when stale — without
    /// reading the history.
    fn report_input(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        config: &EngineConfig,
    ) -> Result<ReportInput> {
        self.report_input_ending(services, window, window.from, config)
    }

    /// The same for reports over `window` and windows inside it that end
    /// at `first_end` or later (a trend's first bucket; `window.to` for the
    /// window alone): hygiene.md's silent services look back 90 days from
    /// a report's end, and a window of 90 days or more needs nothing
    /// before it for its own report.
    fn report_input_ending(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        first_end: lantern_events::Timestamp,
        config: &EngineConfig,
    ) -> Result<ReportInput>;

    /// The same for reports over whole UTC days only (`window` and every
    /// window inside it the caller reports on start and end at
    /// midnights): a store may hand over kept day tallies instead of the
    /// deployments (`ReportInput::kept`, issue 23), which only a report
    /// can read. `cuts` names every window the caller will ask of them:
    /// a store may add up a service's days between two cuts as it reads
    /// them (`KeptTallies`). Without kept tallies,
    /// [`Store::report_input_ending`].
    fn report_input_kept(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        first_end: lantern_events::Timestamp,
        _cuts: &lantern_engine::KeptCuts,
        config: &EngineConfig,
    ) -> Result<ReportInput> {
        self.report_input_ending(services, window, first_end, config)
    }

    /// The scope's work items with their whole `work_state` history
    /// (flow.md), ordered by item id; with a window, only those whose
    /// figures over it, or over any window inside it, can need them.
    fn flow_items(
        &self,
        scope: &lantern_engine::Scope,
        window: Option<Window>,
    ) -> Result<Vec<lantern_engine::FlowItem>>;

    /// panels.md: the findings of these repositories (`None`: every one)
    /// open at some time in the window, ordered by id.
    fn findings(
        &self,
        repos: Option<&BTreeSet<Name>>,
        window: Window,
    ) -> Result<Vec<lantern_events::Finding>>;

    /// panels.md: the team's AI-assistant days in the window, in day order.
    fn assist_usage(&self, team: &Name, window: Window)
    -> Result<Vec<lantern_events::AssistUsage>>;
}

/// Where a store lives, as a user writes it (`--db`, `LANTERN_DB`):
/// `postgres://…` (or `postgresql://…`) for PostgreSQL, else a SQLite
/// file's path, optionally written `sqlite:PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(text: &str) -> Location {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(text.to_string())
        } else {
            Location::Sqlite(text.strip_prefix("sqlite:").unwrap_or(text).into())
        }
    }

    /// Opens (creating if needed) and migrates the store.
    pub fn open(&self) -> Result<Box<dyn Store + Send>> {
        Ok(match self {
            Location::Sqlite(path) => Box::new(SqliteStore::open(path)?),
            Location::Postgres(url) => Box::new(PostgresStore::connect(url)?),
        })
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => write!(f, "{}", redacted(url)),
        }
    }
}

/// For tests of every crate: a fresh PostgreSQL database per test, on the
/// server `LANTERN_TEST_POSTGRES` names, dropped afterwards.
#[doc(hidden)]
pub mod testing {
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub const VARIABLE: &str = "LANTERN_TEST_POSTGRES";

    pub struct TestDatabase {
        admin: String,
        name: String,
        /// The new database's address.
        pub url: String,
    }

    /// `url` with its database name replaced.
    fn with_database(url: &str, name: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (url, String::new()),
        };
        let after_scheme = base.find("://").map_or(0, |i| i + 3);
        let host_end = base[after_scheme..]
            .find('/')
            .map_or(base.len(), |i| after_scheme + i);
        format!("{}/{name}{query}", &base[..host_end])
    }

    /// A new empty database, or `None` (after saying so on stderr) when
    /// `LANTERN_TEST_POSTGRES` is not set. Set but unreachable panics: a
    /// run that asked for PostgreSQL must not pass without it.
    pub fn database(test: &str) -> Option<TestDatabase> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let Ok(admin) = std::env::var(VARIABLE) else {
            eprintln!(
                "SKIPPED the PostgreSQL half of `{test}`: set {VARIABLE}=postgres://postgres@127.0.0.1:5432/test to run it"
            );
            return None;
        };
        let name = format!(
            "lantern_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        off_the_runtime(|| {
            let mut client =
                postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| {
                    panic!("{VARIABLE} is set but PostgreSQL cannot be reached: {e}")
                });
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        });
        Some(TestDatabase {
            url: with_database(&admin, &name),
            admin,
            name,
        })
    }

    /// The blocking client on a thread of its own: tests that call this
    /// from an async runtime may not block its threads.
    fn off_the_runtime(work: impl FnOnce() + Send) {
        std::thread::scope(|s| {
            s.spawn(work)
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    impl Drop for TestDatabase {
        fn drop(&mut self) {
            off_the_runtime(|| {
                if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
                    let _ = client.batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.name
                    ));
                }
            });
        }
    }
}

/// The look-back of hygiene.md's silent services, gathered from
/// deployment rows read by time alone: (service, finished_at) of each
/// successful production deployment, a rollout's members merged into one
/// (its last finish; a success when every member read succeeded). Rows
/// handed over as deployments already, and members of rollouts they
/// began, are left out (the engine reads them there).
pub(crate) struct EarlierDeployments<'a> {
    config: &'a lantern_engine::EngineConfig,
    loaded: foldhash::HashSet<String>,
    loaded_rollouts: std::collections::BTreeSet<(String, String)>,
    singles: Vec<(lantern_events::Name, lantern_events::Timestamp)>,
    rollouts: std::collections::HashMap<(String, String), (i64, bool)>,
}

impl<'a> EarlierDeployments<'a> {
    /// `earlier_than`: where the rows read by time end.
    pub(crate) fn new(
        config: &'a lantern_engine::EngineConfig,
        input: &lantern_engine::ReportInput,
        earlier_than: lantern_events::Timestamp,
    ) -> Self {
        let (loaded_rollouts, _) = input.rollouts_begun();
        // Only a deployment loaded from before the window can be read again
        // by time (one an incident names, a rollback): a few, not every id.
        let early = earlier_than.micros();
        EarlierDeployments {
            config,
            loaded: input
                .deployments
                .iter()
                .filter(|d| d.finished_at.micros() < early)
                .map(|d| d.id.to_string())
                .collect(),
            loaded_rollouts,
            singles: Vec::new(),
            rollouts: std::collections::HashMap::new(),
        }
    }

    /// One row: its id, service, environment, finish (µs), whether it
    /// succeeded, and its rollout.
    pub(crate) fn add(
        &mut self,
        names: &mut codec::Names,
        (id, service, environment, finished_at, success, rollout): (
            &str,
            &str,
            &str,
            i64,
            bool,
            Option<&str>,
        ),
    ) -> Result<()> {
        if !self.config.is_production(environment) || self.loaded.contains(id) {
            return Ok(());
        }
        match rollout {
            None if success => self
                .singles
                .push((names.get(service)?, codec::time(finished_at))),
            None => {}
            Some(r) => {
                let key = (service.to_string(), r.to_string());
                if self.loaded_rollouts.contains(&key) {
                    return Ok(());
                }
                let merged = self.rollouts.entry(key).or_insert((finished_at, true));
                merged.0 = merged.0.max(finished_at);
                merged.1 &= success;
            }
        }
        Ok(())
    }

    pub(crate) fn finish(
        mut self,
        names: &mut codec::Names,
    ) -> Result<Vec<(lantern_events::Name, lantern_events::Timestamp)>> {
        for ((service, _), (finished_at, success)) in self.rollouts {
            if success {
                self.singles
                    .push((names.get(&service)?, codec::time(finished_at)));
            }
        }
        Ok(self.singles)
    }
}
