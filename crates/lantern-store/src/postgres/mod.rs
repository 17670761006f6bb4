//! The store for installations past one machine: PostgreSQL, shared by
//! several `lantern serve` replicas.
//!
//! Same contract as the SQLite store (see the crate's invariants): a write
//! is one transaction, same type + id replaces, person fields arrive
//! pseudonymised. What differs, and why:
//! - Kept facts are refreshed by whichever replica reports next, under an
//!   advisory lock that writers hold shared (`facts.rs`), and a report
//!   reads in one snapshot without stale marks; what retention purged is
//!   kept apart (`retention.rs`).
//! - Nothing is cached in the process: every read goes to the database,
//!   so a replica sees what another acknowledged as soon as it committed.
//! - The audit chain is appended under a transaction-scoped advisory lock,
//!   so concurrent writers on several replicas never fork it (and the
//!   chain's `seq` primary key would refuse a fork if they tried).

mod args;
mod bulk;
mod facts;
mod governance;
mod health;
mod kept;
mod notify;
mod retention;
mod schema;
mod write;

pub(crate) use args::{Arg, for_each_row, query, query_one, query_opt};
pub(crate) use write::{Cell, insert_rows, write_events};

use crate::Result;
use crate::codec::*;
use crate::{Counts, DeadLetter, Store, StoreError, WriteSession};
use lantern_engine::{EngineConfig, EventSet, ReportInput, Window};
use lantern_events::*;
use postgres::{Client, GenericClient, NoTls, Row};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// Rule 2's count of people in a window, in one round trip (a report
/// asks on every read): those who wrote or merged, counted in the
/// database (no pseudonym leaves it) and stopped at `$4`, which is all
/// rule 2 needs; and the largest count kept of a purged day wholly inside
/// the window (`$5`, `$6`), a lower bound. `$1`, `$2`: the window; `$3`:
/// the repositories, `NULL` for all (whose purged days are kept under
/// the repository `''`).
const CONTRIBUTORS: &str = "SELECT (SELECT count(*) FROM (
        SELECT author FROM changes WHERE author IS NOT NULL AND committed_at >= $1 AND committed_at < $2 AND ($3::TEXT[] IS NULL OR repo = ANY($3))
        UNION
        SELECT author FROM pull_requests WHERE author IS NOT NULL AND merged_at >= $1 AND merged_at < $2 AND ($3::TEXT[] IS NULL OR repo = ANY($3))
        LIMIT $4
    ) people),
    (SELECT max(contributors) FROM retained_contributors
      WHERE repo = ANY(COALESCE($3, ARRAY['']::TEXT[])) AND day >= $5 AND day < $6)";

pub struct PostgresStore {
    /// In a cell because the trait reads through `&self` while a client
    /// needs `&mut` for every query; the store is used by one thread at a
    /// time (the server keeps it behind a lock).
    /// Always `Some` until dropped (see `Drop`).
    client: Option<RefCell<Client>>,
    /// Statements prepared once on this connection (see `Prepared`).
    prepared: RefCell<Prepared>,
    /// What it connected to, for another connection.
    url: String,
    /// Whether this session holds `bulk::BULK_LOCK`: a bulk import into
    /// empty tables dropped their secondary indexes, to be built at its end.
    bulk: bool,
}

/// The statements a connection runs on every request or delivery (a
/// grant's lookup, a write's stale marks), prepared once: an unprepared
/// statement costs PostgreSQL a parse and a plan, and the client a round
/// trip, each time. Prepared statements outlive transactions, rolled back
/// ones included; a statement is closed when dropped.
#[derive(Default)]
pub(crate) struct Prepared {
    statements: HashMap<&'static str, postgres::Statement>,
    /// Statements built at run time that a write repeats (an `INSERT` of
    /// so many rows into one table), up to [`KEPT_TEXTS`] of them.
    texts: HashMap<String, postgres::Statement>,
    /// Also the connection's write mode: the event tables a bulk import
    /// copies its rows straight into, without the upsert's staging table
    /// (they were empty when it began, `bulk.rs`), until a row meets a
    /// stored one of the same id.
    pub(crate) straight: BTreeSet<&'static str>,
    /// A bulk import into an empty `changes` (both its connections):
    /// the days its batches' changes fell on, written into `change_days`
    /// once, when its indexes are built (`bulk::end`), instead of by
    /// every batch.
    pub(crate) bulk_days: Option<bulk::Days>,
}

impl Prepared {
    pub(crate) fn get(
        &mut self,
        c: &mut impl GenericClient,
        sql: &'static str,
    ) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    /// `sql`, built at run time, prepared once while fewer than
    /// [`KEPT_TEXTS`] are kept (then prepared for this run only, as an
    /// unkept statement is).
    pub(crate) fn get_text(
        &mut self,
        c: &mut impl GenericClient,
        sql: String,
    ) -> Result<postgres::Statement> {
        if let Some(s) = self.texts.get(&sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(&sql)?;
        if self.texts.len() < KEPT_TEXTS {
            self.texts.insert(sql, s.clone());
        }
        Ok(s)
    }
}

/// Run-time statements a connection keeps prepared: a delivery group's
/// inserts are a few tables times a few row counts, each of which the
/// server keeps parsed (and, after five runs, planned) for the session.
/// The largest, 32 rows into `changes`, holds about 105 KB of the
/// server's memory (`pg_backend_memory_contexts`): at most some 6 MB a
/// connection.
const KEPT_TEXTS: usize = 64;

/// A bare connection to `url`, the schema unchecked (`PostgresStore::connect`
/// checks it; a report's second reader runs in a snapshot of a store's).
///
/// Every session runs without JIT compilation (`jit = off`, in the
/// start-up packet: no round trip). Lantern's statements are range scans
/// and look-ups whose estimated cost passes `jit_above_cost` at full size
/// while they run in tens of milliseconds: compiling them cost about 50 ms
/// each, a tenth of the organisation's report (docs/performance.md).
pub(crate) fn open_client(url: &str) -> Result<Client> {
    let failed = |e: postgres::Error| StoreError::Connect {
        url: redacted(url),
        reason: crate::postgres_message(&e),
    };
    let mut config: postgres::Config = url.parse().map_err(failed)?;
    let options = match config.get_options() {
        Some(given) => format!("-c jit=off {given}"),
        None => "-c jit=off".to_string(),
    };
    config.options(&options);
    config.connect(NoTls).map_err(failed)
}

impl Drop for PostgresStore {
    /// Closing a connection blocks on the client's own runtime, which
    /// panics on a thread that drives another (a server shutting down, an
    /// async test): close it on a thread of its own.
    fn drop(&mut self) {
        let prepared = self.prepared.get_mut();
        prepared.statements.clear();
        prepared.texts.clear();
        if let Some(client) = self.client.take() {
            std::thread::scope(|s| {
                s.spawn(move || drop(client));
            });
        }
    }
}

/// `postgres://user:secret@host/db` without the secret, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl PostgresStore {
    /// Connects (`postgres://…` or `postgresql://…`, libpq's key=value form
    /// also works) and brings the schema up to date.
    pub fn connect(url: &str) -> Result<Self> {
        let mut client = open_client(url)?;
        schema::migrate(&mut client, &redacted(url))?;
        Ok(PostgresStore {
            client: Some(RefCell::new(client)),
            prepared: RefCell::default(),
            url: url.to_string(),
            bulk: false,
        })
    }

    fn cell(&self) -> &RefCell<Client> {
        self.client
            .as_ref()
            .expect("the client is only taken when the store is dropped")
    }

    pub(crate) fn client(&mut self) -> &mut Client {
        self.parts().0
    }

    /// Runs a read with the client.
    pub(crate) fn read<T>(&self, work: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        work(&mut self.cell().borrow_mut())
    }

    /// Runs a read with the client and the connection's prepared statements.
    pub(crate) fn read_prepared<T>(
        &self,
        work: impl FnOnce(&mut Client, &mut Prepared) -> Result<T>,
    ) -> Result<T> {
        work(
            &mut self.cell().borrow_mut(),
            &mut self.prepared.borrow_mut(),
        )
    }

    /// The client and the connection's prepared statements, for writes.
    pub(crate) fn parts(&mut self) -> (&mut Client, &mut Prepared) {
        let client = self
            .client
            .as_mut()
            .expect("the client is only taken when the store is dropped")
            .get_mut();
        (client, self.prepared.get_mut())
    }
}

/// What deriving facts reads of a change: not its id nor its author (a
/// pseudonym), which are most of a row's bytes. The id is a placeholder.
const DERIVING_CHANGE_COLUMNS: &str =
    "'-', repo, sha, parents, committed_at, authored_at, NULL::TEXT, pull_request";
const CHANGE_COLUMNS: &str =
    "id, repo, sha, parents, committed_at, authored_at, author, pull_request";
const PULL_REQUEST_COLUMNS: &str = "id, repo, opened_at, first_review_at, approved_at, merged_at, closed_at, merge_sha, head_sha, commits, first_commit_at, additions, deletions, author, review_kept";
const DEPLOYMENT_COLUMNS: &str = "id, service, environment, status, started_at, finished_at, repo, sha, changes, kind, rollback_of, automated, rollout";
const INCIDENT_COLUMNS: &str = "id, service, services, started_at, detected_at, acknowledged_at, resolved_at, severity, cause, caused_by, caused_by_sha, title";
const ANNOTATION_COLUMNS: &str = "id, scope_kind, scope_name, kind, from_at, to_at, title";
const SLI_COLUMNS: &str = "id, slo, from_at, to_at, good, total";
const PIPELINE_RUN_COLUMNS: &str =
    "id, repo, sha, pipeline, started_at, finished_at, status, attempt";
const WORK_ITEM_COLUMNS: &str = "id, team, service, kind, created_at";
const WORK_STATE_COLUMNS: &str = "id, item, at, state";
const FINDING_COLUMNS: &str = "id, repo, severity, category, opened_at, fixed_at";
const ASSIST_USAGE_COLUMNS: &str =
    "id, team, day, active_users, suggestions, acceptances, lines_suggested, lines_accepted";

fn opt_time(r: &Row, i: usize) -> Result<Option<Timestamp>> {
    Ok(r.try_get::<_, Option<i64>>(i)?.map(time))
}

fn opt_sha_at(r: &Row, i: usize) -> Result<Option<Sha>> {
    r.try_get::<_, Option<&str>>(i)?.map(sha).transpose()
}

fn read_change(r: &Row, names: &mut Names) -> Result<Change> {
    Ok(Change {
        id: id(r.try_get(0)?)?,
        repo: names.get(r.try_get(1)?)?,
        sha: sha(r.try_get(2)?)?,
        parents: text_to_shas(r.try_get(3)?)?,
        committed_at: time(r.try_get(4)?),
        authored_at: time(r.try_get(5)?),
        author: r
            .try_get::<_, Option<String>>(6)?
            .map(Pseudonym::from_stored),
        pull_request: r.try_get::<_, Option<&str>>(7)?.map(id).transpose()?,
    })
}

fn read_pull_request(r: &Row, names: &mut Names) -> Result<PullRequest> {
    Ok(PullRequest {
        id: id(r.try_get(0)?)?,
        repo: names.get(r.try_get(1)?)?,
        opened_at: time(r.try_get(2)?),
        first_review_at: opt_time(r, 3)?,
        approved_at: opt_time(r, 4)?,
        merged_at: opt_time(r, 5)?,
        closed_at: opt_time(r, 6)?,
        merge_sha: opt_sha_at(r, 7)?,
        head_sha: opt_sha_at(r, 8)?,
        commits: text_to_shas(r.try_get(9)?)?,
        first_commit_at: opt_time(r, 10)?,
        additions: r.try_get::<_, Option<i64>>(11)?.map(|v| v.max(0) as u64),
        deletions: r.try_get::<_, Option<i64>>(12)?.map(|v| v.max(0) as u64),
        author: r
            .try_get::<_, Option<String>>(13)?
            .map(Pseudonym::from_stored),
        review_kept: r.try_get(14)?,
    })
}

fn read_deployment(r: &Row, names: &mut Names) -> Result<Deployment> {
    Ok(Deployment {
        id: id(r.try_get(0)?)?,
        service: names.get(r.try_get(1)?)?,
        environment: names.get(r.try_get(2)?)?,
        status: enum_value(&DeploymentStatus::ALL, r.try_get(3)?)?,
        started_at: opt_time(r, 4)?,
        finished_at: time(r.try_get(5)?),
        repo: r
            .try_get::<_, Option<&str>>(6)?
            .map(|s| names.get(s))
            .transpose()?,
        sha: opt_sha_at(r, 7)?,
        changes: r
            .try_get::<_, Option<&str>>(8)?
            .map(text_to_shas)
            .transpose()?,
        kind: opt_enum(&DeploymentKind::ALL, r.try_get(9)?)?,
        rollback_of: r.try_get::<_, Option<&str>>(10)?.map(id).transpose()?,
        automated: r.try_get(11)?,
        rollout: r.try_get::<_, Option<&str>>(12)?.map(id).transpose()?,
    })
}

fn read_incident(r: &Row, names: &mut Names) -> Result<Incident> {
    Ok(Incident {
        id: id(r.try_get(0)?)?,
        service: names.get(r.try_get(1)?)?,
        services: r
            .try_get::<_, &str>(2)?
            .split('\n')
            .filter(|s| !s.is_empty())
            .map(|s| names.get(s))
            .collect::<Result<_, _>>()?,
        started_at: time(r.try_get(3)?),
        detected_at: opt_time(r, 4)?,
        acknowledged_at: opt_time(r, 5)?,
        resolved_at: opt_time(r, 6)?,
        severity: r.try_get(7)?,
        cause: r
            .try_get::<_, Option<&str>>(8)?
            .map(|c| enum_value(&IncidentCause::ALL, c))
            .transpose()?,
        caused_by: r.try_get::<_, Option<&str>>(9)?.map(id).transpose()?,
        caused_by_sha: opt_sha_at(r, 10)?,
        title: r.try_get(11)?,
    })
}

fn read_annotation(r: &Row, names: &mut Names) -> Result<Annotation> {
    Ok(Annotation {
        id: id(r.try_get(0)?)?,
        scope: read_scope(names, r.try_get(1)?, r.try_get(2)?)?,
        kind: enum_value(&AnnotationKind::ALL, r.try_get(3)?)?,
        from: time(r.try_get(4)?),
        to: opt_time(r, 5)?,
        title: r.try_get(6)?,
    })
}

fn read_pipeline_run(r: &Row, names: &mut Names) -> Result<PipelineRun> {
    Ok(PipelineRun {
        id: id(r.try_get(0)?)?,
        repo: names.get(r.try_get(1)?)?,
        sha: sha(r.try_get(2)?)?,
        pipeline: names.get(r.try_get(3)?)?,
        started_at: time(r.try_get(4)?),
        finished_at: time(r.try_get(5)?),
        status: enum_value(&PipelineStatus::ALL, r.try_get(6)?)?,
        attempt: u32::try_from(r.try_get::<_, i64>(7)?).map_err(|_| StoreError::Corrupt {
            what: "a pipeline run's attempt".into(),
        })?,
    })
}

/// Pipeline runs chosen by `rest` (`FROM pipeline_runs …`).
pub(crate) fn pipeline_runs(
    c: &mut impl GenericClient,
    rest: &str,
    args: &[&dyn Arg],
) -> Result<Vec<PipelineRun>> {
    select(c, PIPELINE_RUN_COLUMNS, rest, args, read_pipeline_run)
}

type Reader<T> = fn(&Row, &mut Names) -> Result<T>;

fn select<T>(
    client: &mut impl GenericClient,
    columns: &str,
    rest: &str,
    args: &[&dyn Arg],
    read: Reader<T>,
) -> Result<Vec<T>> {
    let mut names = Names::default();
    let mut read_rows = Vec::new();
    for_each_row(client, &format!("SELECT {columns} {rest}"), args, |row| {
        read_rows.push(read(row, &mut names)?);
        Ok(())
    })?;
    Ok(read_rows)
}

fn annotations(c: &mut impl GenericClient) -> Result<Vec<Annotation>> {
    select(
        c,
        ANNOTATION_COLUMNS,
        "FROM annotations",
        &[],
        read_annotation,
    )
}

fn load_all(c: &mut impl GenericClient, changes: &str) -> Result<EventSet> {
    Ok(EventSet {
        changes: select(c, changes, "FROM changes", &[], read_change)?,
        pull_requests: select(
            c,
            PULL_REQUEST_COLUMNS,
            "FROM pull_requests",
            &[],
            read_pull_request,
        )?,
        deployments: select(
            c,
            DEPLOYMENT_COLUMNS,
            "FROM deployments",
            &[],
            read_deployment,
        )?,
        incidents: select(c, INCIDENT_COLUMNS, "FROM incidents", &[], read_incident)?,
        annotations: annotations(c)?,
        pipeline_runs: pipeline_runs(c, "FROM pipeline_runs", &[])?,
        ..EventSet::default()
    })
}

/// What a report over these services needs: their deployments (and those
/// of services sharing an incident linked by sha with them, since that
/// link goes to the earliest deployment across the incident's services),
/// the history and pull requests of the repositories those deploy (or did
/// before retention purged their deployments), the
/// changes named by deployments without a repository, every incident
/// and annotation. The same as the SQLite store's scoped load.
fn load_scoped(
    c: &mut impl GenericClient,
    services: &BTreeSet<Name>,
    changes: &str,
) -> Result<EventSet> {
    let incidents = every_incident(c)?;
    load_scoped_with(c, services, changes, incidents)
}

/// Every incident: any can affect or blame a scope's services.
fn every_incident(c: &mut impl GenericClient) -> Result<Vec<Incident>> {
    select(c, INCIDENT_COLUMNS, "FROM incidents", &[], read_incident)
}

/// [`load_scoped`] with every incident read already (a refresh's reader
/// reads them once for all its chunks, not once a chunk).
fn load_scoped_with(
    c: &mut impl GenericClient,
    services: &BTreeSet<Name>,
    changes: &str,
    incidents: Vec<Incident>,
) -> Result<EventSet> {
    let mut wide: BTreeSet<&str> = services.iter().map(Name::as_str).collect();
    for inc in &incidents {
        if inc.caused_by_sha.is_some() && inc.affected().any(|s| services.contains(s)) {
            wide.extend(inc.affected().map(Name::as_str));
        }
    }
    let wide: Vec<&str> = wide.into_iter().collect();
    let deployments = select(
        c,
        DEPLOYMENT_COLUMNS,
        "FROM deployments WHERE service = ANY($1)",
        &[&wide],
        read_deployment,
    )?;
    let repos: Vec<String> = deployed_repos(c, &wide)?
        .into_iter()
        .map(|(_, repo)| repo)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Explicit change lists without a repository name shas of any.
    let loose: Vec<String> = deployments
        .iter()
        .filter(|d| d.repo.is_none())
        .flat_map(|d| d.changes.iter().flatten().chain(d.sha.iter()))
        .map(Sha::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(EventSet {
        changes: select(
            c,
            changes,
            "FROM changes WHERE repo = ANY($1) OR sha = ANY($2)",
            &[&repos, &loose],
            read_change,
        )?,
        pull_requests: select(
            c,
            PULL_REQUEST_COLUMNS,
            "FROM pull_requests WHERE repo = ANY($1)",
            &[&repos],
            read_pull_request,
        )?,
        deployments,
        incidents,
        annotations: annotations(c)?,
        pipeline_runs: pipeline_runs(c, "FROM pipeline_runs WHERE repo = ANY($1)", &[&repos])?,
        ..EventSet::default()
    })
}

/// `changes`: `CHANGE_COLUMNS`, or `DERIVING_CHANGE_COLUMNS` for a report.
fn load(
    c: &mut impl GenericClient,
    services: Option<&BTreeSet<Name>>,
    changes: &str,
) -> Result<EventSet> {
    match services {
        Some(services) => load_scoped(c, services, changes),
        None => load_all(c, changes),
    }
}

/// (service, repository) for every repository these services'
/// deployments name, now or before retention purged them.
fn deployed_repos(c: &mut impl GenericClient, services: &[&str]) -> Result<Vec<(String, String)>> {
    query(
        c,
        "SELECT DISTINCT service, repo FROM deployments WHERE repo IS NOT NULL AND service = ANY($1)
         UNION SELECT service, repo FROM retained_deployed_repos WHERE service = ANY($1)",
        &[&services],
    )?
    .iter()
    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
    .collect()
}

struct PostgresSession<'c> {
    tx: postgres::Transaction<'c>,
    prepared: &'c mut Prepared,
}

impl WriteSession for PostgresSession<'_> {
    fn write(&mut self, events: &[Event]) -> Result<()> {
        write_events(&mut self.tx, self.prepared, events)
    }

    fn commit(mut self: Box<Self>, source_states: &[(&str, &str)]) -> Result<()> {
        for (key, state) in source_states {
            self.tx.execute(
                "INSERT INTO source_state (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[key, state],
            )?;
        }
        self.tx.commit()?;
        Ok(())
    }
}

impl Store for PostgresStore {
    fn is_shared(&self) -> bool {
        true
    }

    fn another_connection(&self) -> Option<Result<Box<dyn Store + Send>>> {
        Some(PostgresStore::connect(&self.url).map(|s| Box::new(s) as Box<dyn Store + Send>))
    }

    fn bulk_partner(&self) -> Option<Result<Box<dyn Store + Send>>> {
        Some(PostgresStore::connect(&self.url).map(|mut partner| {
            // The tables this import copies straight into (it holds
            // `bulk::BULK_LOCK` for both; the partner never builds indexes).
            let mine = self.prepared.borrow();
            let theirs = partner.prepared.get_mut();
            theirs.straight = mine.straight.clone();
            theirs.bulk_days = mine.bulk_days.clone();
            Box::new(partner) as Box<dyn Store + Send>
        }))
    }

    fn watch_grants(&self) -> Option<Box<dyn crate::GrantWatch>> {
        Some(Box::new(governance::RevocationWatch::new(&self.url)))
    }

    fn take_lease(
        &mut self,
        job: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool> {
        Ok(self.client().execute(
            "INSERT INTO leases (job, holder, expires_at) VALUES ($1, $2, $4)
             ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
             WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= $3",
            &[&job, &holder, &now.micros(), &until.micros()],
        )? == 1)
    }

    fn write(&mut self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let (client, prepared) = self.parts();
        let mut tx = client.transaction()?;
        write_events(&mut tx, prepared, events)?;
        tx.commit()?;
        Ok(())
    }

    fn bulk_writes(&mut self, on: bool) -> Result<()> {
        if on && !self.bulk {
            if let Some(empty) = bulk::begin(self.client())? {
                self.bulk = true;
                let prepared = self.prepared.get_mut();
                prepared.bulk_days = empty.contains(&"changes").then(bulk::Days::default);
                prepared.straight = empty.into_iter().collect();
            }
        } else if !on && self.bulk {
            self.bulk = false;
            let prepared = self.prepared.get_mut();
            prepared.straight.clear();
            let days = prepared.bulk_days.take();
            let url = self.url.clone();
            bulk::end(self.client(), Some(&url), days)?;
        }
        Ok(())
    }

    fn session(&mut self) -> Result<Box<dyn WriteSession + '_>> {
        let (client, prepared) = self.parts();
        Ok(Box::new(PostgresSession {
            tx: client.transaction()?,
            prepared,
        }))
    }

    fn source_state(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                query_opt(c, "SELECT value FROM source_state WHERE key = $1", &[&key])?
                    .map(|r| r.get(0)),
            )
        })
    }

    fn source_states(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.read(|c| {
            Ok(query(
                c,
                "SELECT key, value FROM source_state WHERE starts_with(key, $1) ORDER BY key",
                &[&prefix],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })
    }

    fn find(&self, kind: EventKind, event_id: &EventId) -> Result<Option<Event>> {
        let key = event_id.as_str();
        self.read(|c| {
            let (columns, table) = match kind {
                EventKind::Change => (CHANGE_COLUMNS, "changes"),
                EventKind::PullRequest => (PULL_REQUEST_COLUMNS, "pull_requests"),
                EventKind::Deployment => (DEPLOYMENT_COLUMNS, "deployments"),
                EventKind::Incident => (INCIDENT_COLUMNS, "incidents"),
                EventKind::Sli => (SLI_COLUMNS, "slis"),
                EventKind::PipelineRun => (PIPELINE_RUN_COLUMNS, "pipeline_runs"),
                // Never merged: a work item or state replaces its own id.
                EventKind::Annotation
                | EventKind::WorkItem
                | EventKind::WorkState
                | EventKind::Finding
                | EventKind::AssistUsage => {
                    return Ok(None);
                }
            };
            let sql = format!("SELECT {columns} FROM {table} WHERE id = $1");
            let Some(r) = query_opt(c, &sql, &[&key])? else {
                return Ok(None);
            };
            let names = &mut Names::default();
            Ok(Some(match kind {
                EventKind::Change => Event::Change(read_change(&r, names)?),
                EventKind::PullRequest => Event::PullRequest(read_pull_request(&r, names)?),
                EventKind::Deployment => Event::Deployment(read_deployment(&r, names)?),
                EventKind::Sli => Event::Sli(crate::codec::sli(
                    (r.try_get(0)?, r.try_get(1)?),
                    (r.try_get(2)?, r.try_get(3)?),
                    (r.try_get(4)?, r.try_get(5)?),
                )?),
                EventKind::PipelineRun => Event::PipelineRun(read_pipeline_run(&r, names)?),
                _ => Event::Incident(read_incident(&r, names)?),
            }))
        })
    }

    fn deployments_in(&self, service: &Name, window: Window) -> Result<Vec<Deployment>> {
        self.read(|s| {
            select(s,
                DEPLOYMENT_COLUMNS,
                "FROM deployments WHERE service = $1 AND finished_at >= $2 AND finished_at < $3 ORDER BY finished_at, id",
                &[&service.as_str(), &window.from.micros(), &window.to.micros()],
                read_deployment,
            )
        })
    }

    fn incidents_in(&self, service: &Name, window: Window) -> Result<Vec<Incident>> {
        let mut incidents = self.read(|s| {
            select(s,
                INCIDENT_COLUMNS,
                "FROM incidents WHERE started_at < $1 AND (resolved_at IS NULL OR resolved_at >= $2) ORDER BY started_at, id",
                &[&window.to.micros(), &window.from.micros()],
                read_incident,
            )
        })?;
        incidents.retain(|i| i.affected().any(|s| s == service));
        Ok(incidents)
    }

    fn changes_in(&self, service: &Name, window: Window) -> Result<Vec<Change>> {
        let mut changes = self.read(|c| {
            let repos: Vec<String> = deployed_repos(c, &[service.as_str()])?
                .into_iter()
                .map(|(_, repo)| repo)
                .collect();
            select(
                c,
                CHANGE_COLUMNS,
                "FROM changes WHERE repo = ANY($1) AND committed_at >= $2 AND committed_at < $3",
                &[&repos, &window.from.micros(), &window.to.micros()],
                read_change,
            )
        })?;
        for c in &mut changes {
            c.author = None;
        }
        changes.sort_by(|a, b| (a.committed_at, &a.id).cmp(&(b.committed_at, &b.id)));
        Ok(changes)
    }

    fn annotations(&self) -> Result<Vec<Annotation>> {
        self.read(annotations)
    }

    fn record_deliveries(&mut self, receivers: &[&str], at: Timestamp) -> Result<()> {
        let minute = at.micros().div_euclid(60 * MICROS_PER_SECOND);
        self.client().execute(
            "INSERT INTO deliveries (receiver, minute) SELECT r, $2 FROM unnest($1::text[]) r
             ON CONFLICT DO NOTHING",
            &[&receivers, &minute],
        )?;
        Ok(())
    }

    fn add_dead_letter(&mut self, letter: &DeadLetter) -> Result<i64> {
        let headers = headers_to_text(&letter.headers);
        Ok(self
            .client()
            .query_one(
                "INSERT INTO dead_letters (received_at, source, reason, headers, body) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[
                    &letter.received_at.micros(),
                    &letter.source,
                    &letter.reason,
                    &headers,
                    &letter.body,
                ],
            )?
            .get(0))
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        self.read(|c| {
            query(
                c,
                "SELECT id, received_at, source, reason, headers, body FROM dead_letters ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| {
                let headers: &str = r.try_get(4)?;
                Ok(DeadLetter {
                    id: r.try_get(0)?,
                    received_at: time(r.try_get(1)?),
                    source: r.try_get(2)?,
                    reason: r.try_get(3)?,
                    headers: text_to_headers(headers),
                    body: r.try_get(5)?,
                })
            })
            .collect()
        })
    }

    fn remove_dead_letter(&mut self, id: i64) -> Result<bool> {
        Ok(self
            .client()
            .execute("DELETE FROM dead_letters WHERE id = $1", &[&id])?
            > 0)
    }

    fn changes_of_repo(&self, repo: &Name) -> Result<Vec<Change>> {
        let mut changes = self.read(|s| {
            select(
                s,
                CHANGE_COLUMNS,
                "FROM changes WHERE repo = $1",
                &[&repo.as_str()],
                read_change,
            )
        })?;
        for c in &mut changes {
            c.author = None;
        }
        Ok(changes)
    }

    fn load(&self, services: Option<&BTreeSet<Name>>) -> Result<EventSet> {
        self.read(|c| load(c, services, CHANGE_COLUMNS))
    }

    fn contributors(
        &self,
        repos: Option<&BTreeSet<Name>>,
        window: Window,
        at_least: u64,
    ) -> Result<u64> {
        let (from, to) = (window.from.micros(), window.to.micros());
        let repos: Option<Vec<&str>> = repos.map(|r| r.iter().map(Name::as_str).collect());
        let at_least = at_least.min(i64::MAX as u64) as i64;
        let first_day = (from + MICROS_PER_DAY - 1).div_euclid(MICROS_PER_DAY);
        let end_day = to.div_euclid(MICROS_PER_DAY);
        let (live, retained): (i64, Option<i64>) = self.read(|c| {
            let row = query_one(
                c,
                CONTRIBUTORS,
                &[&from, &to, &repos, &at_least, &first_day, &end_day],
            )?;
            Ok((row.try_get(0)?, row.try_get(1)?))
        })?;
        Ok(live.max(retained.unwrap_or(0)) as u64)
    }

    /// Whether `services()` holds it, without listing every service (a
    /// `DISTINCT` over every deployment: 150 ms of a 190 ms service
    /// report at full size).
    fn has_service(&self, service: &Name) -> Result<bool> {
        self.read(|c| {
            // `services` lists every affected service, one per line.
            let row = query_one(
                c,
                "SELECT EXISTS (SELECT 1 FROM deployments WHERE service = $1)
                     OR EXISTS (SELECT 1 FROM incidents WHERE service = $1
                                   OR (services <> '' AND position(E'\n' || $1 || E'\n' in E'\n' || services || E'\n') > 0))",
                &[&service.as_str()],
            )?;
            Ok(row.try_get(0)?)
        })
    }

    fn services(&self) -> Result<BTreeSet<Name>> {
        self.read(|c| {
            let mut names = Names::default();
            let mut out = BTreeSet::new();
            for r in query(c, "SELECT DISTINCT service FROM deployments", &[])? {
                out.insert(names.get(r.try_get(0)?)?);
            }
            for inc in select(c, INCIDENT_COLUMNS, "FROM incidents", &[], read_incident)? {
                out.extend(inc.affected().cloned());
            }
            Ok(out)
        })
    }

    fn sli_counts(
        &self,
        slo: &str,
        after: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<lantern_engine::slo::SliCount>> {
        self.read(|c| {
            let rows = query(
                c,
                "SELECT from_at, to_at, good, total FROM slis WHERE slo = $1 AND to_at > $2 AND to_at <= $3",
                &[&slo, &after.micros(), &until.micros()],
            )?;
            rows.iter()
                .map(|r| sli_count(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
                .collect()
        })
    }

    fn sli_sums(&self, slo: &str, ranges: &[(i64, i64)]) -> Result<Vec<(u128, u128)>> {
        let n = ranges.len();
        let (lo, hi) = sli_scan(ranges);
        let sql = sli_sums_sql(
            n,
            |i| format!("${i}"),
            &format!("${}", 2 * n + 2),
            &format!("${}", 2 * n + 3),
        );
        let slo = slo.to_string();
        let mut args: Vec<&dyn Arg> = vec![&slo];
        for (a, b) in ranges {
            args.push(a);
            args.push(b);
        }
        args.push(&lo);
        args.push(&hi);
        self.read(|c| {
            // SUM of BIGINT is NUMERIC in PostgreSQL: cast back.
            let sql = sql
                .replace("THEN good END)", "THEN good END)::BIGINT")
                .replace("THEN total END)", "THEN total END)::BIGINT");
            let row = query_one(c, &sql, &args)?;
            Ok((0..n)
                .map(|i| {
                    let (g, t): (i64, i64) = (row.get(2 * i), row.get(2 * i + 1));
                    (g.max(0) as u128, t.max(0) as u128)
                })
                .collect())
        })
    }

    fn counts(&self) -> Result<Counts> {
        self.read(|c| {
            let row = query_one(
                c,
                "SELECT (SELECT count(*) FROM changes), (SELECT count(*) FROM pull_requests),
                        (SELECT count(*) FROM deployments), (SELECT count(*) FROM incidents),
                        (SELECT count(*) FROM annotations), (SELECT count(*) FROM slis),
                        (SELECT count(*) FROM pipeline_runs)",
                &[],
            )?;
            let n = |i: usize| row.get::<_, i64>(i) as u64;
            Ok(Counts {
                changes: n(0),
                pull_requests: n(1),
                deployments: n(2),
                incidents: n(3),
                annotations: n(4),
                slis: n(5),
                pipeline_runs: n(6),
            })
        })
    }

    fn facts_are_fresh(&self, config: &EngineConfig) -> Result<bool> {
        self.read(|c| facts::fresh(c, config))
    }

    fn kept_exposition(&self) -> Result<Vec<crate::KeptExposition>> {
        self.read(|c| {
            query(
                c,
                &format!(
                    "SELECT {} FROM kept_exposition",
                    crate::KEPT_EXPOSITION_COLUMNS
                ),
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(crate::KeptExposition {
                    service: r.try_get(0)?,
                    generation: r.try_get(1)?,
                    version: r.try_get(2)?,
                    day: r.try_get(3)?,
                    at_least: r.try_get(4)?,
                    contributors: r.try_get(5)?,
                    rows: r.try_get(6)?,
                })
            })
            .collect()
        })
    }

    fn keep_exposition(&mut self, rows: &[crate::KeptExposition]) -> Result<()> {
        let mut tx = self.client().transaction()?;
        let put = tx.prepare(&format!(
            "INSERT INTO kept_exposition ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (service) DO UPDATE SET generation = EXCLUDED.generation,
                 version = EXCLUDED.version, day = EXCLUDED.day, at_least = EXCLUDED.at_least,
                 contributors = EXCLUDED.contributors, rows = EXCLUDED.rows",
            crate::KEPT_EXPOSITION_COLUMNS
        ))?;
        for k in rows {
            tx.execute(
                &put,
                &[
                    &k.service,
                    &k.generation,
                    &k.version,
                    &k.day,
                    &k.at_least,
                    &k.contributors,
                    &k.rows,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn refresh_stale_facts(&mut self, config: &EngineConfig) -> Result<()> {
        let url = self.url.clone();
        facts::refresh(self.client(), &url, config, None, &|_, _| {})
    }

    fn fact_versions(&self) -> Result<crate::FactVersions> {
        self.read(|c| {
            let mut out = crate::FactVersions::default();
            for r in query(c, "SELECT service, version FROM fact_versions", &[])? {
                out.add(r.try_get(0)?, r.try_get(1)?);
            }
            Ok(out)
        })
    }

    fn refresh_facts(
        &mut self,
        config: &EngineConfig,
        progress: &dyn Fn(usize, usize),
    ) -> Result<()> {
        let url = self.url.clone();
        facts::refresh(self.client(), &url, config, None, progress)
    }

    fn findings(
        &self,
        repos: Option<&BTreeSet<Name>>,
        window: Window,
    ) -> Result<Vec<lantern_events::Finding>> {
        let list: Vec<&str> = repos.into_iter().flatten().map(Name::as_str).collect();
        let sql = crate::panels::FINDINGS
            .replace("{p1}", "$1")
            .replace("{p2}", "$2")
            .replace(
                "{repos}",
                if repos.is_some() {
                    "AND repo = ANY($3)"
                } else {
                    ""
                },
            );
        let (from, to) = (window.from.micros(), window.to.micros());
        self.read(|c| {
            let rows = match repos {
                Some(_) => query(c, &sql, &[&from, &to, &list])?,
                None => query(c, &sql, &[&from, &to])?,
            };
            rows.iter()
                .map(|r| {
                    crate::panels::finding(
                        (r.try_get(0)?, r.try_get(1)?),
                        (r.try_get(2)?, r.try_get(3)?),
                        (r.try_get(4)?, r.try_get(5)?),
                    )
                })
                .collect()
        })
    }

    fn assist_usage(
        &self,
        team: &Name,
        window: Window,
    ) -> Result<Vec<lantern_events::AssistUsage>> {
        let sql = crate::panels::ASSIST_USAGE
            .replace("{p1}", "$1")
            .replace("{p2}", "$2")
            .replace("{p3}", "$3");
        let (from, to) = (window.from.micros(), window.to.micros());
        self.read(|c| {
            query(c, &sql, &[&team.as_str(), &from, &to])?
                .iter()
                .map(|r| {
                    crate::panels::assist_usage(
                        (r.try_get(0)?, r.try_get(1)?),
                        r.try_get(2)?,
                        [r.try_get(3)?, r.try_get(4)?, r.try_get(5)?],
                        [r.try_get(6)?, r.try_get(7)?],
                    )
                })
                .collect()
        })
    }

    fn flow_items(
        &self,
        scope: &lantern_engine::Scope,
        window: Option<Window>,
    ) -> Result<Vec<lantern_engine::FlowItem>> {
        let (mut clause, args) = crate::flow::scope_clause(scope, |n| format!("${n}"));
        let bounds: Vec<i64> = window
            .iter()
            .flat_map(|w| [w.from.micros(), w.to.micros()])
            .collect();
        if window.is_some() {
            let n = args.len();
            clause = format!(
                "{clause} AND {}",
                crate::flow::WINDOW_CLAUSE
                    .replace("{from}", &format!("${}", n + 1))
                    .replace("{to}", &format!("${}", n + 2))
            );
        }
        // Ids compare as bytes ("C"), as flow.md orders ties and SQLite does.
        let sql = format!(
            "SELECT {} FROM work_items i LEFT JOIN work_states s ON s.item = i.id
             WHERE {clause} ORDER BY i.id COLLATE \"C\", s.at, s.id COLLATE \"C\"",
            crate::flow::COLUMNS
        );
        self.read(|c| {
            let params: Vec<&dyn Arg> = args
                .iter()
                .map(|a| a as &dyn Arg)
                .chain(bounds.iter().map(|b| b as &dyn Arg))
                .collect();
            let mut items = crate::flow::Assembler::default();
            for r in query(c, &sql, &params)? {
                let at: Option<i64> = r.try_get(5)?;
                let state = match at {
                    Some(at) => Some((at, r.try_get::<_, &str>(6)?)),
                    None => None,
                };
                items.push(crate::flow::Row {
                    id: r.try_get(0)?,
                    team: r.try_get(1)?,
                    service: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                    state,
                })?;
            }
            Ok(items.finish())
        })
    }

    /// From kept tallies (`kept.rs`) for the organisation and teams of
    /// more than one build's services, refreshed first when stale; from
    /// rows for fewer services (read faster than their tallies are added)
    /// and on purged stores.
    fn report_input_kept(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        first_end: lantern_events::Timestamp,
        cuts: &lantern_engine::KeptCuts,
        config: &EngineConfig,
    ) -> Result<ReportInput> {
        if services.is_none_or(|s| s.len() > crate::kept::SERVICES_PER_BUILD) {
            let url = self.url.clone();
            let ends = (first_end, cuts);
            for _ in 0..3 {
                match kept::read_kept(self.client(), &url, services, window, ends, config)? {
                    kept::KeptRead::Input(input) => return Ok(*input),
                    kept::KeptRead::Purged => break,
                    kept::KeptRead::Stale => kept::refresh(self.client(), &url, services, config)?,
                }
            }
        }
        self.report_input_ending(services, window, first_end, config)
    }

    /// From kept facts, refreshed first when stale. Writes committing
    /// between a refresh and the read make the facts stale again; after a
    /// few tries the report derives its facts from the events instead,
    /// which is exact too, only slower.
    fn report_input_ending(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        first_end: lantern_events::Timestamp,
        config: &EngineConfig,
    ) -> Result<ReportInput> {
        for _ in 0..3 {
            let url = self.url.clone();
            if let Some(input) =
                facts::read_input(self.client(), &url, services, window, first_end, config)?
            {
                return Ok(input);
            }
            // A scope's report reads under the refresh's lock: webhooks
            // writing its services would make its facts stale again.
            match services {
                Some(scope) => {
                    let read = facts::refresh_and_read(
                        self.client(),
                        &url,
                        scope,
                        window,
                        first_end,
                        config,
                    )?;
                    if let Some(input) = read {
                        return Ok(input);
                    }
                }
                None => facts::refresh(self.client(), &url, config, services, &|_, _| {})?,
            }
        }
        self.derived_input(services, window, config)
    }
}

impl PostgresStore {
    /// A report's input derived from the events instead of kept facts
    /// (which writes kept making stale): one snapshot for every read, as
    /// a purge committing in between must not show both an event and
    /// what retention kept of it.
    fn derived_input(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        config: &EngineConfig,
    ) -> Result<ReportInput> {
        let mut tx = facts::repeatable_read(self.client())?;
        if services.is_some() {
            facts::plan_by_index(&mut tx)?;
        }
        let events = load(&mut tx, services, DERIVING_CHANGE_COLUMNS)?;
        let mut input = ReportInput::from_events(events, config);
        // Repositories deployed before retention purged their deployments.
        let scope: Vec<&str> = services.into_iter().flatten().map(Name::as_str).collect();
        let mut names = Names::default();
        for (service, repo) in deployed_repos(&mut tx, &scope)? {
            input
                .deployed_repos
                .insert((names.get(&service)?, names.get(&repo)?));
        }
        retention::add_retained(&mut tx, services, window, window.from, config, &mut input)?;
        // What no event holds, as a report from kept facts reads it.
        facts::add_arrivals(&mut tx, services, window, &mut input, &mut names)?;
        tx.commit()?;
        Ok(input)
    }
}

/// The SQL that sums an SLO's counts over `n` ranges in one pass: for
/// range i, parameters `p(2 + 2i)` and `p(3 + 2i)` are its bounds, `p(1)`
/// the SLO; `lo` and `hi` bound the scan.
fn sli_sums_sql(n: usize, p: impl Fn(usize) -> String, lo: &str, hi: &str) -> String {
    let mut columns = Vec::with_capacity(2 * n);
    for i in 0..n {
        let (a, b) = (p(2 + 2 * i), p(3 + 2 * i));
        for column in ["good", "total"] {
            columns.push(format!(
                "COALESCE(SUM(CASE WHEN to_at > {a} AND to_at <= {b} THEN {column} END), 0)"
            ));
        }
    }
    format!(
        "SELECT {} FROM slis WHERE slo = {} AND to_at > {lo} AND to_at <= {hi}",
        columns.join(", "),
        p(1)
    )
}

/// The bounds of a scan covering every range.
fn sli_scan(ranges: &[(i64, i64)]) -> (i64, i64) {
    let lo = ranges.iter().map(|r| r.0).min().unwrap_or(0);
    let hi = ranges.iter().map(|r| r.1).max().unwrap_or(0);
    (lo, hi)
}

#[cfg(test)]
mod tests {
    /// Sessions run without JIT, and options the URL gives still apply.
    #[test]
    fn sessions_run_without_jit_and_keep_the_urls_options() {
        let Some(db) = crate::testing::database("sessions_without_jit") else {
            return;
        };
        let show = |url: &str, setting: &str| -> String {
            super::open_client(url)
                .unwrap()
                .query_one(&format!("SHOW {setting}"), &[])
                .unwrap()
                .get(0)
        };
        assert_eq!(show(&db.url, "jit"), "off");
        let sep = if db.url.contains('?') { '&' } else { '?' };
        let with = format!("{}{sep}options=-c%20statement_timeout%3D4321", db.url);
        assert_eq!(show(&with, "jit"), "off");
        assert_eq!(show(&with, "statement_timeout"), "4321ms");
    }

    fn store(db: &crate::testing::TestDatabase) -> super::PostgresStore {
        super::PostgresStore::connect(&db.url).unwrap()
    }

    fn events(lines: &[String]) -> Vec<lantern_events::Event> {
        let p = lantern_events::Pseudonymiser::from_key([5; 32]);
        lines
            .iter()
            .map(|l| lantern_events::parse_event_json(l, &p).unwrap())
            .collect()
    }

    fn commit(n: usize) -> String {
        format!(
            r#"{{"type":"change","repo":"r","sha":"{n:07x}","committed_at":"2026-10-01T09:00:00Z"}}"#
        )
    }

    /// A production deployment of `service` finished at `at` (RFC 3339).
    fn deployment(id: &str, service: &str, at: &str) -> String {
        format!(
            r#"{{"type":"deployment","id":"{id}","service":"{service}","environment":"production","finished_at":"{at}"}}"#
        )
    }

    /// Day `n` of October 2026 (from 0, in 28), at 09:00.
    fn october_day(n: usize) -> String {
        format!("2026-10-{:02}T09:00:00Z", 1 + n % 28)
    }

    /// `days` after `now` (RFC 3339).
    fn days_after(now: lantern_events::Timestamp, days: i64) -> String {
        now.plus_micros(days * 86_400_000_000).to_rfc3339()
    }

    fn october() -> lantern_engine::Window {
        let day = |s: &str| lantern_events::Timestamp::parse_rfc3339(s).unwrap();
        lantern_engine::Window::new(day("2026-10-01T00:00:00Z"), day("2026-11-01T00:00:00Z"))
            .unwrap()
    }

    fn scope(service: &str) -> std::collections::BTreeSet<lantern_events::Name> {
        [lantern_events::Name::parse(service).unwrap()].into()
    }

    /// The one number `sql` reads from PostgreSQL's cumulative statistics,
    /// once this session's counts have reached them (a backend sends them
    /// when it is next idle after being asked to).
    fn flushed_stat(store: &mut super::PostgresStore, sql: &str) -> i64 {
        let client = store.client();
        client
            .batch_execute("SELECT pg_stat_force_next_flush()")
            .unwrap();
        client.query_one(sql, &[]).unwrap().get(0)
    }

    /// How many statements this connection keeps prepared whose text
    /// starts with `start`.
    fn kept(store: &mut super::PostgresStore, start: &str) -> i64 {
        store
            .client()
            .query_one(
                "SELECT count(*) FROM pg_prepared_statements WHERE starts_with(statement, $1)",
                &[&start],
            )
            .unwrap()
            .get(0)
    }

    /// A delivery group's insert is prepared once per connection and row
    /// count, not parsed and planned again for every group.
    #[test]
    fn small_writes_keep_their_inserts_prepared() {
        use crate::Store;
        let Some(db) = crate::testing::database("small_writes_prepared") else {
            return;
        };
        let mut store = store(&db);
        for n in 0..3 {
            store.write(&events(&[commit(n)])).unwrap();
        }
        store.write(&events(&[commit(10), commit(11)])).unwrap();
        assert_eq!(
            kept(&mut store, "INSERT INTO changes"),
            2,
            "one a row count"
        );
        assert_eq!(kept(&mut store, "INSERT INTO change_days"), 1);
        assert_eq!(store.counts().unwrap().changes, 5);
        // A statement kept for one batch writes the next batch's rows.
        store
            .write(&events(&[commit(0).replace("09:00", "10:00")]))
            .unwrap();
        let at: i64 = store
            .client()
            .query_one(
                "SELECT committed_at FROM changes WHERE sha = '0000000'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(
            at,
            lantern_events::Timestamp::parse_rfc3339("2026-10-01T10:00:00Z")
                .unwrap()
                .micros()
        );
    }

    /// Past the bound, a statement is prepared for its run only.
    #[test]
    fn kept_statements_stop_at_their_bound() {
        let Some(db) = crate::testing::database("kept_statements_bound") else {
            return;
        };
        let mut client = super::open_client(&db.url).unwrap();
        let mut prepared = super::Prepared::default();
        for n in 0..super::KEPT_TEXTS + 10 {
            let s = prepared
                .get_text(&mut client, format!("SELECT {n}::bigint"))
                .unwrap();
            let got: i64 = client.query_one(&s, &[]).unwrap().get(0);
            assert_eq!(got, n as i64);
        }
        assert_eq!(prepared.texts.len(), super::KEPT_TEXTS);
        let kept: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT %::bigint'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(kept, super::KEPT_TEXTS as i64);
    }

    /// An audit entry alone commits without waiting for the disk, and
    /// says so only for its own transaction: the session's later changes
    /// still commit synchronously. Entries chain.
    #[test]
    fn an_audit_entry_does_not_make_the_session_commit_asynchronously() {
        use crate::governance::GovernanceStore;
        let Some(db) = crate::testing::database("audit_commit") else {
            return;
        };
        let mut store = store(&db);
        let record = |action: &str| lantern_governance::AuditRecord {
            at: lantern_events::Timestamp::parse_rfc3339("2026-10-01T09:00:00Z").unwrap(),
            actor: "a".into(),
            purpose: "p".into(),
            action: action.into(),
            scope: "org".into(),
            outcome: "ok".into(),
        };
        let first = store.audit(record("report.read")).unwrap();
        let second = store.audit(record("report.export")).unwrap();
        assert_eq!((first.seq, second.seq), (1, 2));
        assert_eq!(second.prev, first.hash);
        let setting: String = store
            .client()
            .query_one("SHOW synchronous_commit", &[])
            .unwrap()
            .get(0);
        assert_eq!(setting, "on");
        let entries = store.audit_entries(None).unwrap();
        assert_eq!(entries, vec![first, second.clone()]);
        let ends = store.audit_ends().unwrap();
        assert_eq!(ends.head, Some((2, second.hash)));
    }

    /// hygiene.md F3: a deployment dated days ahead is noted, and its
    /// later version dated now is no longer (the delivery group's check
    /// for noted events rides on the statement that reads the facts'
    /// mark).
    #[test]
    fn a_later_version_not_dated_ahead_is_no_longer_noted() {
        use crate::Store;
        let Some(db) = crate::testing::database("future_noted") else {
            return;
        };
        let mut store = store(&db);
        let now = lantern_events::Timestamp::now();
        let deployment = |id: &str, days: i64| deployment(id, "s", &days_after(now, days));
        let noted = |store: &mut super::PostgresStore| -> Vec<String> {
            store
                .client()
                .query("SELECT id FROM future_events ORDER BY id", &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect()
        };
        store
            .write(&events(&[deployment("ahead", 3), deployment("later", 4)]))
            .unwrap();
        assert_eq!(noted(&mut store), ["ahead", "later"]);
        store.write(&events(&[deployment("ahead", 0)])).unwrap();
        assert_eq!(noted(&mut store), ["later"]);
    }

    /// A scope's report reads its services' rows by index even when the
    /// planner's statistics are stale: here they were taken when the
    /// quiet service was every deployment, before 20 000 others arrived,
    /// and the planner would scan the whole table for it.
    #[test]
    fn a_scopes_report_reads_deployments_by_index_under_stale_statistics() {
        use crate::Store;
        let Some(db) = crate::testing::database("scope_by_index") else {
            return;
        };
        let mut store = store(&db);
        let quiet: Vec<String> = (0..60)
            .map(|n| deployment(&format!("q{n}"), "quiet", &october_day(n)))
            .collect();
        store.write(&events(&quiet)).unwrap();
        let config = lantern_engine::EngineConfig::default();
        store.refresh_facts(&config, &|_, _| {}).unwrap();
        store
            .client()
            .batch_execute(
                "ALTER TABLE deployments SET (autovacuum_enabled = false);
                 ANALYZE deployments;
                 INSERT INTO deployments (id, service, environment, status, finished_at)
                 SELECT 'l' || n, 'load-' || n % 50, 'production', 'success',
                        1790000000000000 + n::bigint * 1000000
                   FROM generate_series(1, 20000) n",
            )
            .unwrap();
        let scans = |store: &mut super::PostgresStore| {
            flushed_stat(
                store,
                "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'deployments'",
            )
        };
        let before = scans(&mut store);
        let input = store
            .report_input(Some(&scope("quiet")), october(), &config)
            .unwrap();
        assert_eq!(input.deployments.len(), 60);
        assert_eq!(
            scans(&mut store),
            before,
            "no deployment was read by a scan"
        );
        // Planned as estimated again afterwards: the setting was the
        // transaction's.
        let setting: String = store
            .client()
            .query_one("SHOW enable_seqscan", &[])
            .unwrap()
            .get(0);
        assert_eq!(setting, "on");
    }

    /// A report of a service whose facts are stale reads in the
    /// transaction of its refresh, under its lock, so no write can make
    /// them stale again before it reads: it commits one transaction, as a
    /// report of current facts does. (It had committed the refresh, then
    /// read in a second snapshot, which webhooks writing the service
    /// often found stale again.)
    #[test]
    fn a_stale_scopes_report_reads_in_its_refreshs_transaction() {
        use crate::Store;
        let Some(db) = crate::testing::database("stale_scope_one_transaction") else {
            return;
        };
        let busy = |n: usize| deployment(&format!("d{n}"), "busy", &october_day(n));
        let mut store = store(&db);
        store
            .write(&events(&(0..10).map(busy).collect::<Vec<_>>()))
            .unwrap();
        let config = lantern_engine::EngineConfig::default();
        store.refresh_facts(&config, &|_, _| {}).unwrap();
        // Transactions this database committed.
        let commits = |store: &mut super::PostgresStore| {
            flushed_stat(
                store,
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
            )
        };
        let report = |store: &mut super::PostgresStore| -> (i64, usize) {
            let before = commits(store);
            let input = store
                .report_input(Some(&scope("busy")), october(), &config)
                .unwrap();
            (commits(store) - before, input.deployments.len())
        };
        let (current, read) = report(&mut store);
        assert_eq!(read, 10);
        store.write(&events(&[busy(10)])).unwrap();
        let (stale, read) = report(&mut store);
        assert_eq!(read, 11, "the new deployment is read");
        assert_eq!(
            stale, current,
            "one transaction commits, as for current facts"
        );
        let version: i64 = store
            .client()
            .query_one(
                "SELECT version FROM fact_versions WHERE service = 'busy'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(version, 1, "derived again once, by the report's refresh");
    }

    /// A report's input derived from the events (after kept facts were
    /// found stale three times) holds what no event does, as one from
    /// kept facts: events dated ahead of their arrival (hygiene.md F3),
    /// flag changes (F5) and each receiver's delivery minutes (F1).
    #[test]
    fn an_input_derived_from_the_events_reads_arrivals_flags_and_deliveries() {
        use crate::Store;
        let Some(db) = crate::testing::database("derived_input_arrivals") else {
            return;
        };
        let mut store = store(&db);
        let now = lantern_events::Timestamp::now();
        let at = |days: i64| days_after(now, days);
        store
            .write(&events(&[
                deployment("d1", "s", &at(-2)),
                deployment("d2", "s", &at(3)),
                format!(
                    r#"{{"type":"annotation","id":"f1","scope":{{"org":true}},"kind":"feature_flag","from":"{}","title":"flag"}}"#,
                    at(-1)
                ),
            ]))
            .unwrap();
        store.record_deliveries(&["events"], now).unwrap();
        let config = lantern_engine::EngineConfig::default();
        store.refresh_facts(&config, &|_, _| {}).unwrap();
        let window = lantern_engine::Window::new(
            now.plus_micros(-10 * 86_400_000_000),
            now.plus_micros(86_400_000_000),
        )
        .unwrap();
        let s = scope("s");
        let kept = store.report_input(Some(&s), window, &config).unwrap();
        let derived = store.derived_input(Some(&s), window, &config).unwrap();
        assert_eq!(kept.future_events.len(), 1);
        assert_eq!(derived.future_events, kept.future_events);
        assert_eq!(kept.flag_changes.len(), 1);
        assert_eq!(derived.flag_changes, kept.flag_changes);
        assert_eq!(kept.deliveries.len(), 1);
        assert_eq!(derived.deliveries, kept.deliveries);
    }

    /// Rule 2's count of people: distinct authors of a window's commits
    /// and merges, of some repositories or all, stopped at `at_least`;
    /// a purged day's kept count is a lower bound (both read in one
    /// statement).
    #[test]
    fn contributors_count_live_authors_and_purged_days_in_one_read() {
        use crate::Store;
        let Some(db) = crate::testing::database("contributors_one_read") else {
            return;
        };
        let mut store = store(&db);
        let commit = |repo: &str, n: usize, author: &str| {
            format!(
                r#"{{"type":"change","repo":"{repo}","sha":"{n:07x}","committed_at":"2026-10-02T09:00:00Z","author":"{author}"}}"#
            )
        };
        store
            .write(&events(&[
                commit("r", 1, "ann"),
                commit("r", 2, "bob"),
                commit("r", 3, "ann"),
                commit("r", 4, "cy"),
                commit("q", 5, "dee"),
            ]))
            .unwrap();
        let day = |d: &str| lantern_events::Timestamp::parse_rfc3339(d).unwrap();
        let window =
            lantern_engine::Window::new(day("2026-10-01T00:00:00Z"), day("2026-10-05T00:00:00Z"))
                .unwrap();
        assert_eq!(store.contributors(None, window, u64::MAX).unwrap(), 4);
        assert_eq!(
            store
                .contributors(Some(&scope("r")), window, u64::MAX)
                .unwrap(),
            3
        );
        assert_eq!(store.contributors(Some(&scope("r")), window, 2).unwrap(), 2);
        let kept_day = day("2026-10-03T00:00:00Z").micros() / 86_400_000_000;
        store
            .client()
            .execute(
                "INSERT INTO retained_contributors (repo, day, contributors) VALUES ('r', $1, 7), ('', $1, 9)",
                &[&kept_day],
            )
            .unwrap();
        assert_eq!(
            store
                .contributors(Some(&scope("r")), window, u64::MAX)
                .unwrap(),
            7
        );
        assert_eq!(
            store
                .contributors(Some(&scope("q")), window, u64::MAX)
                .unwrap(),
            1
        );
        assert_eq!(store.contributors(None, window, u64::MAX).unwrap(), 9);
    }
}
