//! Kept facts on PostgreSQL: the SQLite store's design (`crate::sqlite` facts.rs)
//! for several replicas. What each successful production deployment
//! shipped, each merged pull request's first commit and deployments, and
//! each sha-blamed incident's first deployment per service are kept, so a
//! report reads the window's deployments and pull requests with their
//! facts instead of the whole history.
//!
//! Every write marks what it touched stale, in its own transaction (the
//! services of its deployments and incidents, the repositories of its
//! changes, pull requests and deployments — old versions too). A refresh
//! re-derives a closure of stale services, the repositories they deploy
//! and every service deploying those (a pull request's first deployments
//! span them), from their scoped history; or everything when the facts
//! were derived with other settings or never. Writers hold `FACTS_LOCK` shared and a
//! refresh holds it exclusive: no write commits while a refresh reads, so
//! the marks it clears are exactly those its facts cover.
//!
//! A report reads in one snapshot, and only when that snapshot has no
//! stale mark in its scope's closure (`crate::closure`, as SQLite's):
//! facts and events then agree for everything it reads. Otherwise it
//! refreshes that closure and tries again (see `report_input`); marks of
//! other services stay for the reports that read them.

use super::retention::in_scope;
use super::schema::FACTS_LOCK;
use super::{
    DERIVING_CHANGE_COLUMNS, PULL_REQUEST_COLUMNS, Prepared, insert_rows, load_scoped, read_change,
    read_pull_request, select,
};
use crate::Result;
use crate::StoreError;
use crate::closure::{self, Closure, Column, Marks, StaleReads};
use crate::codec::*;
use crate::kept::Reading;
use crate::touched::{Touched, fingerprint};
use lantern_engine::*;
use lantern_events::*;
use postgres::{Client, GenericClient, IsolationLevel, Transaction};
use std::collections::{BTreeSet, HashSet};

/// Drops every kept fact: the next refresh derives them all again.
pub(super) const FORGET: &str = "DELETE FROM deployment_facts; DELETE FROM pull_request_facts;
     DELETE FROM incident_links; DELETE FROM stale_facts; DELETE FROM service_repos;
     DELETE FROM meta WHERE key IN ('facts', 'tallies');";

/// Marks what a batch touches, before it is written (old versions too: a
/// deployment moved to another service leaves its old one's facts wrong).
/// Until facts were derived once there is nothing to mark. Returns
/// whether any event is noted as dated in the future (`write::note_future`
/// asks, and the statement that reads the facts' mark reads it too: one
/// round trip less for every delivery group).
pub(crate) fn mark_stale(
    tx: &mut impl GenericClient,
    prepared: &mut Prepared,
    events: &[Event],
) -> Result<bool> {
    let lock = prepared.get(tx, "SELECT pg_advisory_xact_lock_shared($1)")?;
    tx.execute(&lock, &[&FACTS_LOCK])?;
    // After the lock, in a statement of its own: a refresh that held the
    // lock has committed its mark by now.
    let marks = prepared.get(
        tx,
        "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'facts'),
                EXISTS (SELECT 1 FROM future_events)",
    )?;
    let row = tx.query_one(&marks, &[])?;
    let (derived, future): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    if !derived {
        return Ok(future);
    }
    let mut t = Touched::of(events);
    let mut blamed: Vec<String> = t.blamed.iter().map(|b| b.to_string()).collect();
    // A stored deployment's service and repository, a stored incident's
    // services and the deployment it blamed.
    for (sql, ids) in [
        (
            "SELECT service, repo, NULL::TEXT, NULL::TEXT FROM deployments WHERE id = ANY($1)",
            &t.deployments,
        ),
        (
            "SELECT service, NULL::TEXT, services, caused_by FROM incidents WHERE id = ANY($1)",
            &t.incidents,
        ),
    ] {
        for r in old_rows(tx, sql, ids)? {
            t.services.insert(r.try_get(0)?);
            t.repos.extend(r.try_get::<_, Option<String>>(1)?);
            let more: Option<&str> = r.try_get(2)?;
            t.services
                .extend(more.into_iter().flat_map(str::lines).map(str::to_string));
            blamed.extend(r.try_get::<_, Option<String>>(3)?);
        }
    }
    // A deployment's kept tally (postgres/kept.rs) counts the incidents
    // that blame it, whichever service they are of.
    let blamed: Vec<&str> = blamed.iter().map(String::as_str).collect();
    for r in old_rows(
        tx,
        "SELECT service FROM deployments WHERE id = ANY($1)",
        &blamed,
    )? {
        t.services.insert(r.try_get(0)?);
    }
    for (sql, ids) in [
        ("SELECT repo FROM changes WHERE id = ANY($1)", &t.changes),
        (
            "SELECT repo FROM pull_requests WHERE id = ANY($1)",
            &t.pull_requests,
        ),
    ] {
        for r in old_rows(tx, sql, ids)? {
            t.repos.insert(r.try_get(0)?);
        }
    }
    let services: Vec<String> = t.services.into_iter().collect();
    let repos: Vec<String> = t.repos.into_iter().collect();
    let mark = prepared.get(
        tx,
        "INSERT INTO stale_facts (kind, name)
         SELECT 'service', unnest($1::text[]) UNION ALL SELECT 'repo', unnest($2::text[])
         ON CONFLICT DO NOTHING",
    )?;
    tx.execute(&mark, &[&services, &repos])?;
    Ok(future)
}

/// The stored rows `sql` selects for these ids (none for no ids). Not
/// prepared: PostgreSQL's generic plan for `id = ANY($1)` (taken after
/// five runs) scans the table, where a plan for the given array looks
/// each id up (a scan per delivery group cost 2.7 ms in the serve bench).
fn old_rows(tx: &mut impl GenericClient, sql: &str, ids: &[&str]) -> Result<Vec<postgres::Row>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    super::query(tx, sql, &[&ids])
}

fn distinct(tx: &mut Transaction, sql: &str, args: &[&dyn super::Arg]) -> Result<BTreeSet<String>> {
    super::query(tx, sql, args)?
        .iter()
        .map(|r| r.try_get::<_, String>(0).map_err(StoreError::from))
        .collect()
}

/// Brings the kept facts up to date with the stored events and `config`:
/// what a report over `scope` reads (`None`: everything stale).
pub(super) fn refresh(
    client: &mut Client,
    url: &str,
    config: &EngineConfig,
    scope: Option<&BTreeSet<Name>>,
    progress: &dyn Fn(usize, usize),
) -> Result<()> {
    refresh_then(client, url, config, scope, progress, |_| Ok(()))?;
    Ok(())
}

/// [`refresh`], then `then` in its transaction, still under the lock: no
/// write commits in between, so what `then` reads of the scope's facts is
/// current. A report of a service that webhooks keep writing had found
/// its facts stale again after a refresh of its own, or paid a second
/// snapshot's reads to learn that they were not (docs/performance.md,
/// issue 23's sixteenth step). `None` (and `then` not run) after a
/// refresh of everything, which commits in parts.
pub(super) fn refresh_then<T>(
    client: &mut Client,
    url: &str,
    config: &EngineConfig,
    scope: Option<&BTreeSet<Name>>,
    progress: &dyn Fn(usize, usize),
    then: impl FnOnce(&mut Transaction) -> Result<T>,
) -> Result<Option<T>> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FACTS_LOCK])?;
    // Under the lock no write commits: the closure is exactly what is
    // stale now.
    let Some(closure) = closure::stale_closure(&mut Reads::new(&mut tx), config, scope)? else {
        // Never derived (a first import): no report can be reading facts,
        // so their tables are written without their secondary indexes,
        // built once at the end in this transaction (postgres/bulk.rs).
        let first: bool = super::query_one(
            &mut tx,
            "SELECT NOT EXISTS (SELECT 1 FROM deployment_facts)
                    AND NOT EXISTS (SELECT 1 FROM pull_request_facts)",
            &[],
        )?
        .get(0);
        tx.batch_execute(FORGET)?;
        let dropped = match first {
            true => super::bulk::drop_secondary(&mut tx, &DERIVED_TABLES)?,
            false => Vec::new(),
        };
        let services: Vec<String> =
            distinct(&mut tx, "SELECT DISTINCT service FROM deployments", &[])?
                .into_iter()
                .collect();
        rederive(&mut tx, url, config, &services, None, progress)?;
        super::bulk::build(&mut tx, &dropped)?;
        tx.execute(crate::BUMP_VERSION, &[&crate::GENERATION])?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('facts', $1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&fingerprint(config)],
        )?;
        tx.commit()?;
        analyze(client)?;
        // Tallies rest on facts: built now, so that the first report
        // after an import finds them; after the statistics, which their
        // reads' plans need (in the refresh's transaction, before them,
        // the build took 13 s at full size instead of 8).
        super::kept::current_tallies(client, url, config)?;
        return Ok(None);
    };
    if closure.is_empty() {
        let read = then(&mut tx)?;
        tx.commit()?;
        return Ok(Some(read));
    }
    let Closure { services, repos } = closure;
    let service_list: Vec<&String> = services.iter().collect();
    let repo_list: Vec<&String> = repos.iter().collect();
    // One statement, one round trip (a busy service's report refreshes
    // it under load).
    tx.execute(
        "WITH facts AS (DELETE FROM deployment_facts WHERE service = ANY($1)),
              repos AS (DELETE FROM service_repos WHERE service = ANY($1)),
              links AS (DELETE FROM incident_links WHERE service = ANY($1))
         DELETE FROM pull_request_facts WHERE repo = ANY($2)",
        &[&service_list, &repo_list],
    )?;
    let derived = rederive(&mut tx, url, config, &services, Some(&repos), progress)?;
    super::kept::tallies_stale(&mut tx, &service_list, &repo_list)?;
    // Marks outside the closure stay for the reports that read them.
    tx.execute(
        "DELETE FROM stale_facts WHERE (kind = 'service' AND name = ANY($1))
            OR (kind = 'repo' AND name = ANY($2))",
        &[&service_list, &repo_list],
    )?;
    for s in &service_list {
        tx.execute(crate::BUMP_VERSION, &[s])?;
    }
    let read = then(&mut tx)?;
    tx.commit()?;
    if derived >= BULK_ROWS {
        analyze(client)?;
    }
    Ok(Some(read))
}

/// Services derived together in a refresh.
const SERVICES_PER_CHUNK: usize = 25;

/// The tables of derived facts.
const DERIVED_TABLES: [&str; 4] = [
    "deployment_facts",
    "pull_request_facts",
    "incident_links",
    "service_repos",
];

/// Derives the facts of these services and of these repositories' pull
/// requests (`None`: every one) again, a chunk of services at a time, as
/// SQLite's store does: the whole history at once held 4.3 GiB at full
/// size. What it re-derives was deleted first. A pull request whose
/// repository services of several chunks deploy gets each chunk's first
/// deployments (`write_facts` appends them); repositories no chunk
/// deploys come last. Returns how many deployments and changes it read.
fn rederive(
    tx: &mut Transaction,
    url: &str,
    config: &EngineConfig,
    services: &[String],
    only_repos: Option<&BTreeSet<String>>,
    progress: &dyn Fn(usize, usize),
) -> Result<usize> {
    progress(0, services.len());
    // A refresh of everything emptied the facts' tables: its rows are
    // copied straight in (`write_facts`).
    let mut straight: BTreeSet<&'static str> = match only_repos {
        None => DERIVED_TABLES.into_iter().collect(),
        Some(_) => BTreeSet::new(),
    };
    let mut read = 0;
    let mut names = Names::default();
    // Services deploying without a repository can ship any repository's
    // commits: they come along with every chunk, so each pull request's
    // first deployments include theirs (as a closure holds them).
    let loose: BTreeSet<Name> = distinct(tx, closure::LOOSE_SERVICES, &[])?
        .iter()
        .map(|s| names.get(s))
        .collect::<Result<_, _>>()?;
    let mut written: BTreeSet<String> = BTreeSet::new();
    // Where a refresh's time goes, for the log: waiting for reads,
    // deriving, writing.
    let mut spent = [std::time::Duration::ZERO; 3];
    let chunks: Vec<BTreeSet<Name>> = services
        .chunks(SERVICES_PER_CHUNK)
        .map(|chunk| {
            let mut scope = loose.clone();
            for s in chunk {
                scope.insert(names.get(s)?);
            }
            Ok(scope)
        })
        .collect::<Result<_>>()?;
    let mut derive_chunk = |tx: &mut Transaction,
                            i: usize,
                            chunk: &[String],
                            events: EventSet,
                            waited: std::time::Duration|
     -> Result<()> {
        read += events.deployments.len() + events.changes.len();
        spent[0] += waited;
        let t = std::time::Instant::now();
        let facts = derive(&events, config);
        spent[1] += t.elapsed();
        let t = std::time::Instant::now();
        // The pull requests of the repositories this chunk deploys (or
        // deployed, before retention purged it).
        let set: BTreeSet<String> = chunk.iter().cloned().collect();
        let chunk_names: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let repos: BTreeSet<String> = super::deployed_repos(tx, &chunk_names)?
            .into_iter()
            .map(|(_, repo)| repo)
            .filter(|r| only_repos.is_none_or(|only| only.contains(r)))
            .collect();
        write_facts(
            tx,
            &events,
            &facts,
            (Some(&set), Some(&repos)),
            &mut straight,
        )?;
        spent[2] += t.elapsed();
        written.extend(repos);
        progress(
            ((i + 1) * SERVICES_PER_CHUNK).min(services.len()),
            services.len(),
        );
        Ok(())
    };
    let service_chunks = services.chunks(SERVICES_PER_CHUNK).enumerate();
    if chunks.len() <= 1 {
        // A few services (a partial refresh before a report or after a
        // webhook): read here, no second connection to open.
        for (i, chunk) in service_chunks {
            let t = std::time::Instant::now();
            let events = super::load_scoped(tx, &chunks[i], DERIVING_CHANGE_COLUMNS)?;
            derive_chunk(tx, i, chunk, events, t.elapsed())?;
        }
    } else {
        // Each chunk's history is read on a second connection, in this
        // transaction's snapshot, while this one derives and writes the
        // chunk before it: reading was over half of a refresh (23 of 40 s
        // at full size), and the two connections' work runs on two
        // cores. One chunk is read ahead, no more, to bound memory. (The
        // reader sees none of this transaction's writes, and needs none:
        // it reads events, which a refresh does not change.)
        let snapshot: String =
            super::query_one(tx, "SELECT pg_export_snapshot()", &[])?.try_get(0)?;
        std::thread::scope(|threads| -> Result<()> {
            let (send, histories) = std::sync::mpsc::sync_channel::<Result<EventSet>>(1);
            let (chunks, snapshot) = (&chunks, snapshot.as_str());
            threads.spawn(move || read_ahead(url, snapshot, chunks, send));
            for (i, chunk) in service_chunks {
                let t = std::time::Instant::now();
                let events = histories
                    .recv()
                    .map_err(|_| corrupt("the history reader stopped unexpectedly"))??;
                derive_chunk(tx, i, chunk, events, t.elapsed())?;
            }
            Ok(())
        })?;
    }
    let orphans: Vec<String> = match only_repos {
        Some(repos) => repos.clone(),
        None => distinct(tx, "SELECT DISTINCT repo FROM pull_requests", &[])?,
    }
    .into_iter()
    .filter(|r| !written.contains(r))
    .collect();
    // Read once, copied for each chunk of orphans.
    let loose_events = match loose.is_empty() || orphans.is_empty() {
        true => EventSet::default(),
        false => load_scoped(tx, &loose, DERIVING_CHANGE_COLUMNS)?,
    };
    for chunk in orphans.chunks(100) {
        let mut events = loose_events.clone();
        let chunk: Vec<&String> = chunk.iter().collect();
        add_orphans(tx, &mut events, &chunk)?;
        read += events.deployments.len() + events.changes.len();
        let facts = derive(&events, config);
        let only: BTreeSet<String> = chunk.into_iter().cloned().collect();
        write_facts(
            tx,
            &events,
            &facts,
            (Some(&BTreeSet::new()), Some(&only)),
            &mut straight,
        )?;
    }
    tracing::info!(
        services = services.len(),
        read_wait_s = spent[0].as_secs_f64(),
        derive_s = spent[1].as_secs_f64(),
        write_s = spent[2].as_secs_f64(),
        "facts derived"
    );
    Ok(read)
}

/// Reads each chunk's history (`load_scoped`) in the exported `snapshot`
/// of a refresh, on a connection of its own, and sends it; stops at the
/// first error (sent) or when the refresh stops receiving.
fn read_ahead(
    url: &str,
    snapshot: &str,
    chunks: &[BTreeSet<Name>],
    send: std::sync::mpsc::SyncSender<Result<EventSet>>,
) {
    let read = in_snapshot(url, snapshot, |tx| {
        let incidents = super::every_incident(tx)?;
        for scope in chunks {
            let events =
                super::load_scoped_with(tx, scope, DERIVING_CHANGE_COLUMNS, incidents.clone())?;
            if send.send(Ok(events)).is_err() {
                break;
            }
        }
        Ok(())
    });
    if let Err(e) = read {
        let _ = send.send(Err(e));
    }
}

/// Adds the history of repositories no service deploys, which still have
/// pull requests to derive (`crate::add_orphan_history`).
fn add_orphans(tx: &mut Transaction, events: &mut EventSet, orphans: &[&String]) -> Result<()> {
    if orphans.is_empty() {
        return Ok(());
    }
    let changes = select(
        tx,
        DERIVING_CHANGE_COLUMNS,
        "FROM changes WHERE repo = ANY($1)",
        &[&orphans],
        read_change,
    )?;
    let pull_requests = select(
        tx,
        PULL_REQUEST_COLUMNS,
        "FROM pull_requests WHERE repo = ANY($1)",
        &[&orphans],
        read_pull_request,
    )?;
    crate::add_orphan_history(events, changes, pull_requests);
    Ok(())
}

/// A refresh re-deriving this many deployments and changes follows a bulk
/// write (an import, a first run over a migrated history).
const BULK_ROWS: usize = 50_000;

/// Fresh planner statistics after a bulk write, as SQLite's side runs
/// `PRAGMA optimize`: autovacuum analyses a table only some time after
/// its rows changed, and until then the planner works from default
/// estimates — a full-size organisation report ran a parallel scan of
/// every deployment for 14 minutes right after an import
/// (docs/performance.md).
fn analyze(client: &mut Client) -> Result<()> {
    let t = std::time::Instant::now();
    client.batch_execute(
        "ANALYZE changes, pull_requests, deployments, incidents, deployment_facts,
                 pull_request_facts, incident_links, service_repos, change_days,
                 pipeline_runs, findings, assist_usage",
    )?;
    tracing::info!(
        analyze_s = t.elapsed().as_secs_f64(),
        "statistics refreshed"
    );
    Ok(())
}

fn deployment_row(d: &Deployment, f: &DeploymentFacts) -> Vec<super::Cell> {
    let rule = i64::from(f.rule.code());
    let shipped = encode_times(&f.shipped);
    vec![
        Box::new(d.id.to_string()),
        Box::new(d.service.to_string()),
        Box::new(rule),
        Box::new(f.sha_known),
        Box::new(shipped),
        Box::new(d.finished_at.micros()),
    ]
}

fn pull_request_row(p: &PullRequest, f: &PullRequestFacts) -> Vec<super::Cell> {
    let deploys = encode_deploys(&f.first_deploys);
    vec![
        Box::new(p.id.to_string()),
        Box::new(p.repo.to_string()),
        Box::new(f.first_commit_at.map(Timestamp::micros)),
        Box::new(deploys),
        Box::new(p.merged_at.map(Timestamp::micros)),
    ]
}

fn link_row(l: &FirstDeploy) -> Vec<super::Cell> {
    let at = l.finished_at.micros();
    vec![
        Box::new(l.subject.to_string()),
        Box::new(l.service.to_string()),
        Box::new(at),
        Box::new(l.deployment.to_string()),
    ]
}

/// The rows that `row` makes of `items` (none for an item it skips).
fn rows_of<T>(items: &[T], row: impl Fn(&T) -> Option<Vec<super::Cell>>) -> Vec<Vec<super::Cell>> {
    items.iter().filter_map(row).collect()
}

/// Writes the facts of `events`: of these services' deployments and
/// incident links, and of these repositories' pull requests (`None`:
/// all). A pull request already written gets these first deployments
/// added to its own (a refresh deletes what it re-derives first).
///
/// `straight`: the tables still copied straight into
/// (`write::copy_while_straight`). A deployment's facts and an incident's
/// links are written once; a pull request's again, to add first
/// deployments, by each chunk whose services deploy its repository — the
/// first chunk that meets one a chunk before it wrote upserts, and every
/// chunk after it, so at most one chunk's copy is wasted.
fn write_facts(
    tx: &mut Transaction,
    events: &EventSet,
    facts: &Facts,
    (services, repos): (Option<&BTreeSet<String>>, Option<&BTreeSet<String>>),
    straight: &mut BTreeSet<&'static str>,
) -> Result<()> {
    let service_in = |s: &Name| services.is_none_or(|set| set.contains(s.as_str()));
    let repo_in = |r: &Name| repos.is_none_or(|set| set.contains(r.as_str()));
    let deployments = rows_of(&events.deployments, |d| {
        let f = facts.deployments.get(&d.id)?;
        service_in(&d.service).then(|| deployment_row(d, f))
    });
    let pull_requests = rows_of(&events.pull_requests, |p| {
        let f = facts.pull_requests.get(&p.id)?;
        repo_in(&p.repo).then(|| pull_request_row(p, f))
    });
    let links = rows_of(&facts.sha_links, |l| {
        service_in(&l.service).then(|| link_row(l))
    });
    // Which repositories each service deploys (derived, like the facts).
    let mut pairs: Vec<(&str, &str)> = events
        .deployments
        .iter()
        .filter(|d| service_in(&d.service))
        .filter_map(|d| d.repo.as_ref().map(|r| (d.service.as_str(), r.as_str())))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();
    let pairs: Vec<Vec<super::Cell>> = pairs
        .into_iter()
        .map(|(s, r)| -> Vec<super::Cell> {
            vec![Box::new(s.to_string()), Box::new(r.to_string())]
        })
        .collect();
    insert_rows(
        tx,
        "service_repos",
        &["service", "repo"],
        &pairs,
        "ON CONFLICT DO NOTHING",
    )?;
    // Each table with its conflict clause.
    let tables: [(&str, &[&str], _, &str); 3] = [
        (
            "deployment_facts",
            &[
                "deployment",
                "service",
                "rule",
                "sha_known",
                "shipped",
                "finished_at",
            ],
            deployments,
            "ON CONFLICT (deployment) DO UPDATE SET service = EXCLUDED.service, rule = EXCLUDED.rule,
             sha_known = EXCLUDED.sha_known, shipped = EXCLUDED.shipped,
             finished_at = EXCLUDED.finished_at",
        ),
        (
            "pull_request_facts",
            &[
                "pull_request",
                "repo",
                "first_commit_at",
                "deploys",
                "merged_at",
            ],
            pull_requests,
            "ON CONFLICT (pull_request) DO UPDATE SET repo = EXCLUDED.repo,
             first_commit_at = EXCLUDED.first_commit_at, merged_at = EXCLUDED.merged_at,
             deploys = pull_request_facts.deploys || EXCLUDED.deploys",
        ),
        (
            "incident_links",
            &["incident", "service", "finished_at", "deployment"],
            links,
            "ON CONFLICT (incident, service) DO UPDATE SET finished_at = EXCLUDED.finished_at,
             deployment = EXCLUDED.deployment",
        ),
    ];
    for (table, columns, rows, on_conflict) in tables {
        if super::write::copy_while_straight(tx, straight, table, columns, &rows)? {
            continue;
        }
        insert_rows(tx, table, columns, &rows, on_conflict)?;
    }
    Ok(())
}

/// Whether the facts were derived with `config` and nothing is stale, in
/// the snapshot `c` reads.
pub(super) fn fresh(c: &mut impl GenericClient, config: &EngineConfig) -> Result<bool> {
    let row = super::query_one(
        c,
        "SELECT (SELECT value FROM meta WHERE key = 'facts'), EXISTS (SELECT 1 FROM stale_facts),
                EXISTS (SELECT 1 FROM deployments) OR EXISTS (SELECT 1 FROM pull_requests)
                OR EXISTS (SELECT 1 FROM incidents)",
        &[],
    )?;
    let have: Option<String> = row.try_get(0)?;
    let (stale, any_events): (bool, bool) = (row.try_get(1)?, row.try_get(2)?);
    Ok(match have {
        Some(have) => have == fingerprint(config) && !stale,
        // Never derived: fresh only while there is nothing to derive from.
        None => !any_events,
    })
}

/// A report's input from kept facts, in one snapshot; `None` when that
/// snapshot holds stale facts (a write committed since the last refresh).
pub(super) fn read_input(
    client: &mut Client,
    url: &str,
    services: Option<&BTreeSet<Name>>,
    window: Window,
    first_end: Timestamp,
    config: &EngineConfig,
) -> Result<Option<ReportInput>> {
    let mut tx = repeatable_read(client)?;
    if services.is_some() {
        plan_by_index(&mut tx)?;
    }
    if !current(&mut tx, services, config)? {
        return Ok(None);
    }
    let input = read_rows(&mut tx, url, services, window, first_end, config)?;
    tx.commit()?;
    Ok(Some(input))
}

/// A scope's report input, read by [`refresh_then`] in the refresh's
/// transaction; `None` after a refresh of everything.
pub(super) fn refresh_and_read(
    client: &mut Client,
    url: &str,
    services: &BTreeSet<Name>,
    window: Window,
    first_end: Timestamp,
    config: &EngineConfig,
) -> Result<Option<ReportInput>> {
    refresh_then(client, url, config, Some(services), &|_, _| {}, |tx| {
        plan_by_index(tx)?;
        read_rows(tx, url, Some(services), window, first_end, config)
    })
}

/// A report's input from kept facts that are current in `tx`.
fn read_rows(
    tx: &mut Transaction,
    url: &str,
    services: Option<&BTreeSet<Name>>,
    window: Window,
    first_end: Timestamp,
    config: &EngineConfig,
) -> Result<ReportInput> {
    let every_day = KeptCuts::every_day();
    read_in(
        tx,
        url,
        services,
        window,
        (first_end, &every_day),
        config,
        Reading::Rows,
    )
}

/// A read-only transaction in one snapshot, as a report reads.
pub(super) fn repeatable_read(client: &mut Client) -> Result<Transaction<'_>> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?)
}

/// Plans the rest of `tx` without sequential scans, for a scope's reads:
/// a few services' rows, which an index always serves. The planner's
/// statistics lag behind a growing table (autovacuum analyzes it a minute
/// later at best), and while webhooks poured 20 000 deployments into a
/// table analyzed at 1 000, it still took a quiet service for a third of
/// the table and scanned all of it: 7 ms instead of 0.7 ms for one
/// statement, growing with the table, and half of such a report's time
/// under load (docs/performance.md, issue 23's sixteenth step). Where no
/// index applies (a small table), PostgreSQL still scans.
pub(super) fn plan_by_index(tx: &mut Transaction) -> Result<()> {
    tx.batch_execute("SET LOCAL enable_seqscan = off")?;
    Ok(())
}

/// Whether the facts a report over `services` reads are current in the
/// snapshot `tx` reads. Only what this scope reads must be, as on SQLite:
/// writes keep marking busy services stale while a quiet one is reported.
pub(super) fn current(
    tx: &mut Transaction,
    services: Option<&BTreeSet<Name>>,
    config: &EngineConfig,
) -> Result<bool> {
    let mut reads = Reads::new(tx);
    let marks = reads.marks()?;
    // One of the scope's own services marked (the common case while
    // webhooks write it): its closure holds that service, so it is not
    // current, and the closure's other reads would only say so again.
    // (Nothing is marked before facts were first derived.)
    if services.is_some_and(|scope| scope.iter().any(|s| marks.services.contains(s.as_str()))) {
        return Ok(false);
    }
    Ok(
        match closure::closure_of(&mut reads, marks, config, services)? {
            Some(c) => c.is_empty(),
            None => fresh(tx, config)?,
        },
    )
}

/// What a report (or a tally build, `reading`) over `services` and
/// `window` reads, in `tx`, whose facts are current.
pub(super) fn read_in(
    tx: &mut Transaction,
    url: &str,
    services: Option<&BTreeSet<Name>>,
    window: Window,
    (first_end, cuts): (Timestamp, &KeptCuts),
    config: &EngineConfig,
    reading: Reading,
) -> Result<ReportInput> {
    let for_report = reading != Reading::ForTallies;
    // The organisation's pull requests (as many rows as its deployments)
    // are read on a second connection in this same snapshot while this
    // one reads the rest, as SQLite's store reads them on a second
    // connection. The snapshot stays exported until this transaction ends,
    // after the reader is joined. With kept tallies, the organisation's
    // pull requests come as tallies, read the same way (at ten times the
    // organisation, 460 000 of each kind).
    let beside = match services {
        None if for_report => {
            let snapshot: String =
                super::query_one(tx, "SELECT pg_export_snapshot()", &[])?.try_get(0)?;
            let (url, cuts) = (url.to_string(), cuts.clone());
            Some(std::thread::spawn(move || {
                pull_requests_beside(&url, &snapshot, (window, &cuts), reading)
            }))
        }
        _ => None,
    };
    let mut names = Names::default();
    let mut input = ReportInput::default();
    let scope: Vec<&str> = services.into_iter().flatten().map(Name::as_str).collect();
    let from = window.from.micros();

    match reading {
        Reading::Kept => {
            input = super::kept::kept_input(
                tx,
                services,
                (from, window.to.micros()),
                (first_end, cuts),
                &mut names,
            )?
        }
        Reading::Rows | Reading::ForTallies => {
            let whole_scope = reading == Reading::ForTallies;
            read_deployments(
                tx,
                services,
                (from, whole_scope),
                config,
                &mut names,
                &mut input,
            )?
        }
    }
    let since = from - config.link_window_micros;

    // Incidents: for a scope, those affecting it (or naming several
    // services) and those blaming one of its deployments, as SQLite's.
    input.incidents = match services {
        // From kept tallies, only those the organisation's figures read
        // (as SQLite's: started or resolved in the window, or open).
        None if reading == Reading::Kept => select(
            tx,
            super::INCIDENT_COLUMNS,
            "FROM incidents WHERE started_at >= $1 OR resolved_at IS NULL OR resolved_at >= $1",
            &[&window.from.micros()],
            super::read_incident,
        )?,
        None => select(
            tx,
            super::INCIDENT_COLUMNS,
            "FROM incidents",
            &[],
            super::read_incident,
        )?,
        Some(_) => select(
            tx,
            super::INCIDENT_COLUMNS,
            // One index for each way an incident can be the scope's (as
            // an array, the deployments are looked up in the index, not
            // every incident read into a hash join). Of those blaming its
            // deployments, only the ones blaming a deployment read above
            // can link: one that finished earlier is in no figure.
            "FROM incidents WHERE id IN (
                SELECT id FROM incidents WHERE service = ANY($1)
                UNION ALL SELECT id FROM incidents WHERE services <> ''
                UNION ALL SELECT id FROM incidents WHERE caused_by = ANY(ARRAY(
                    SELECT id FROM deployments WHERE service = ANY($1) AND finished_at >= $2
                    UNION SELECT deployment FROM retained_deployments
                     WHERE service = ANY($1) AND finished_at >= $2)))",
            &[&scope, &since],
            super::read_incident,
        )?,
    };
    input.sha_links = super::retention::read_links(tx, "incident_links", &mut names)?;

    // Which repositories the scope deploys (now or before retention), and
    // their pull requests merged in the window.
    // Kept with the facts (fresh here): every service's for the
    // organisation, which a gap check reads.
    let pairs = match services {
        Some(_) => super::query(
            tx,
            "SELECT service, repo FROM service_repos WHERE service = ANY($1)
             UNION SELECT service, repo FROM retained_deployed_repos WHERE service = ANY($1)",
            &[&scope],
        )?,
        None => super::query(
            tx,
            "SELECT service, repo FROM service_repos UNION SELECT service, repo FROM retained_deployed_repos",
            &[],
        )?,
    };
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_>>()?;
    for (service, repo) in pairs {
        input
            .deployed_repos
            .insert((names.get(&service)?, names.get(&repo)?));
    }
    let repos: Vec<String> = input
        .deployed_repos
        .iter()
        .map(|(_, r)| r.to_string())
        .collect();
    if !for_report {
        // A build reads what retention kept of its deployments too.
        super::retention::add_retained(tx, services, window, first_end, config, &mut input)?;
        return Ok(input);
    }
    match beside {
        Some(beside) => {
            let part = beside
                .join()
                .map_err(|_| corrupt("the pull-request reader stopped unexpectedly"))??;
            input.pull_requests = part.pull_requests;
            input.pull_request_facts = part.pull_request_facts;
            if let (Some(k), Some(part)) = (&mut input.kept, part.kept) {
                k.pull_requests = part.pull_requests;
                // Every linked incident, narrowed below.
                k.linked_incidents = part.linked_incidents;
            }
        }
        None => super::retention::add_merged_pull_requests(
            tx,
            MERGED_PULL_REQUESTS,
            "p.repo",
            window,
            services.map(|_| repos.as_slice()),
            &mut names,
            &mut input,
        )?,
    }

    // Runs of those repositories finished in the window, and every other
    // attempt of the same pipeline on the same commit.
    // The days those repositories had changes (hygiene.md F7).
    let days = [from, window.to.micros()].map(|t| t.div_euclid(MICROS_PER_DAY));
    // A repository's days as one array: the organisation's 46 000 rows
    // (500 repositories, 92 days) cost 37 ms to send and decode one by one.
    let rows = match services {
        Some(_) => super::query(
            tx,
            "SELECT repo, array_agg(day) FROM change_days
              WHERE day >= $1 AND day <= $2 AND repo = ANY($3) GROUP BY repo",
            &[&days[0], &days[1], &repos],
        )?,
        None => super::query(
            tx,
            "SELECT repo, array_agg(day) FROM change_days WHERE day >= $1 AND day <= $2 GROUP BY repo",
            &[&days[0], &days[1]],
        )?,
    };
    for r in rows {
        let repo = names.get(r.try_get(0)?)?;
        let days: Vec<i64> = r.try_get(1)?;
        input
            .change_days
            .extend(days.into_iter().map(|day| (repo.clone(), day)));
    }
    // Runs of those repositories finished in the window, and the
    // successful attempts of the pipelines that failed in it on the same
    // commit (hygiene.md: flaky runs), as the SQLite store reads them.
    let to = window.to.micros();
    let in_window = "FROM pipeline_runs WHERE finished_at >= $1 AND finished_at < $2";
    let mut runs = match services {
        Some(_) => super::pipeline_runs(
            tx,
            &format!("{in_window} AND repo = ANY($3)"),
            &[&from, &to, &repos],
        )?,
        None => super::pipeline_runs(tx, in_window, &[&from, &to])?,
    };
    let failed = crate::failed_run_keys(&runs);
    if !failed.is_empty() {
        let column = |i: usize| -> Vec<&str> {
            failed
                .iter()
                .map(|k| match i {
                    0 => k.0.as_str(),
                    1 => k.1.as_str(),
                    _ => k.2.as_str(),
                })
                .collect()
        };
        let later = super::pipeline_runs(
            tx,
            "FROM pipeline_runs WHERE status = 'success' AND (repo, sha, pipeline) IN
               (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))",
            &[&column(0), &column(1), &column(2)],
        )?;
        crate::add_later_runs(&mut runs, later);
    }
    input.pipeline_runs = lantern_engine::RunFacts::of_runs(&runs);

    match reading {
        // Kept tallies are read from unpurged stores only (`kept.rs`):
        // retention kept nothing to add.
        Reading::Kept => {
            if let Some(k) = &mut input.kept {
                k.linked_incidents = match services {
                    None => crate::kept::linked_among(&input.incidents, |id| {
                        k.linked_incidents.contains(id)
                    }),
                    Some(_) => super::kept::kept_links(tx, &input.incidents)?,
                };
            }
            input.merge_rollouts(config);
        }
        Reading::Rows | Reading::ForTallies => {
            super::retention::add_retained(tx, services, window, first_end, config, &mut input)?
        }
    }
    add_arrivals(tx, services, window, &mut input, &mut names)?;
    Ok(input)
}

/// The deployments a report over `services` from `from` on reads, with
/// their facts: see the comments inside.
fn read_deployments(
    tx: &mut Transaction,
    services: Option<&BTreeSet<Name>>,
    (from, whole_scope): (i64, bool),
    config: &EngineConfig,
    names: &mut Names,
    input: &mut ReportInput,
) -> Result<()> {
    let scope: Vec<&str> = services.into_iter().flatten().map(Name::as_str).collect();
    let in_scope = |column: &str, n: usize| in_scope(services, column, n);
    // Deployments from the window's start on (less the link window: an
    // incident early in it may be inferred to one before it), rollbacks
    // that name what they roll back, and, of any service, every deployment
    // an incident of the window may be linked to (hygiene.md: is an
    // incident linked?): named, linked by sha, or of its own service within
    // the link window before it. The same rows as the SQLite store's.
    //
    // First the ids, as a union; then the rows, by id. As one statement
    // (`OR … IN (subquery)` filters, or a join with the union) the planner
    // took the last subquery for hundreds of deployments per incident
    // instead of a few: it re-ran it for each of a million deployments (a
    // full-size organisation report did not finish in 14 minutes), or
    // scanned every deployment and fact for one service's few thousand.
    // Given the ids as an array it knows how many there are.
    // A scope's report asks only of incidents that can be its own (of its
    // services, or of several), as SQLite's does.
    let of_scope = |alias: &str| match services {
        Some(_) => format!("AND ({alias}service = ANY($2) OR {alias}services <> '')"),
        None => String::new(),
    };
    // The organisation reads the range itself by a join of two range
    // scans (below); its ids are only those before the range.
    // So does a build of tallies (`whole_scope`): its scope's every
    // deployment, by service. Looked up by id, a chunk of 25 services'
    // 50 000 took 440 ms.
    let (range, scope_sql) = match services {
        Some(_) if !whole_scope => (
            "finished_at >= $1 OR rollback_of IS NOT NULL",
            in_scope("service", 2),
        ),
        _ => (
            "rollback_of IS NOT NULL AND finished_at < $1",
            in_scope("service", 2),
        ),
    };
    // The organisation reads every deployment from `since` on (below), so
    // of the deployments an incident of the window may be inferred to
    // (of its service, within the link window before its start, which is
    // on or after the window's start) none is new: that part of the union
    // is a scope's only.
    let inferable = match services {
        Some(_) => format!(
            "UNION SELECT w.id FROM incidents i JOIN deployments w
             ON w.service = i.service AND w.finished_at <= i.started_at
             AND w.finished_at >= i.started_at - {link_window}
             WHERE i.started_at >= {from} {scoped_i}",
            scoped_i = of_scope("i."),
            link_window = config.link_window_micros,
        ),
        None => String::new(),
    };
    let ids_sql = format!(
        "SELECT id FROM deployments WHERE ({range}) {scope_sql}
         UNION SELECT caused_by FROM incidents WHERE caused_by IS NOT NULL AND started_at >= {from} {scoped}
         UNION SELECT deployment FROM incident_links WHERE incident IN (SELECT id FROM incidents WHERE started_at >= {from} {scoped})
         UNION SELECT r.id FROM deployments r WHERE r.rollout IN
             (SELECT deployment FROM incident_links WHERE incident IN (SELECT id FROM incidents WHERE started_at >= {from} {scoped}))
         {inferable}",
        scoped = of_scope(""),
    );
    let since = from - config.link_window_micros;
    let ids: Vec<String> = match services {
        Some(_) => super::query(tx, &ids_sql, &[&since, &scope])?,
        None => super::query(tx, &ids_sql, &[&since])?,
    }
    .iter()
    .map(|r| r.try_get(0))
    .collect::<std::result::Result<_, _>>()?;
    const MEASURED: &str =
        "SELECT d.finished_at, d.id, d.service, d.environment, d.status, d.kind, d.rollback_of,
                f.rule, f.sha_known, f.shipped, d.started_at, d.automated, d.rollout
           FROM deployments d LEFT JOIN deployment_facts f ON f.deployment = d.id";
    let mut add =
        |tx: &mut Transaction, sql: &str, args: &[&dyn super::Arg], input: &mut ReportInput| {
            super::for_each_row(tx, sql, args, |r| {
                let (d, f) = super::retention::read_measured_deployment(r, names)?;
                input.deployments.push(d);
                input.deployment_facts.push(f);
                Ok(())
            })
        };
    match services {
        Some(_) if !whole_scope => add(
            tx,
            &format!("{MEASURED} WHERE d.id = ANY($1)"),
            &[&ids],
            input,
        )?,
        _ => {
            // A fact's finish and service are its deployment's (written
            // together): the condition lets the planner range-scan the
            // facts too.
            match services {
                None => add(
                    tx,
                    &format!("{MEASURED} AND f.finished_at >= $1 WHERE d.finished_at >= $1"),
                    &[&since],
                    input,
                )?,
                Some(_) => add(
                    tx,
                    &format!("{MEASURED} AND f.service = ANY($1) WHERE d.service = ANY($1)"),
                    &[&scope],
                    input,
                )?,
            }
            // Of the ids, only those the range did not hold (finished
            // before it) are looked up, by key. Asked for all of them with
            // `finished_at < since`, the planner scanned every deployment
            // in parallel to find, most often, none (150–230 ms at full
            // size).
            let read: HashSet<&str> = input.deployments.iter().map(|d| d.id.as_str()).collect();
            let before: Vec<&str> = ids
                .iter()
                .map(String::as_str)
                .filter(|id| !read.contains(id))
                .collect();
            drop(read);
            if !before.is_empty() {
                let in_range = input.deployments.len();
                add(
                    tx,
                    &format!("{MEASURED} WHERE d.id = ANY($1)"),
                    &[&before],
                    input,
                )?;
                // Older first, as they were read before.
                input.deployments.rotate_left(in_range);
                input.deployment_facts.rotate_left(in_range);
            }
        }
    }
    // Every member of a rollout any of these belong to: the engine merges
    // them into one (hygiene.md).
    super::retention::add_rollout_members(
        tx,
        "SELECT d.finished_at, d.id, d.service, d.environment, d.status, d.kind, d.rollback_of,
                f.rule, f.sha_known, f.shipped, d.started_at, d.automated, d.rollout
           FROM deployments d LEFT JOIN deployment_facts f ON f.deployment = d.id
          WHERE d.rollout = ANY($1)",
        input,
        names,
    )?;
    Ok(())
}

/// hygiene.md F1 and F3: events of the window dated after their arrival,
/// and each receiver's delivery minutes from 30 days before (as the SQLite
/// store reads them).
pub(super) fn add_arrivals(
    c: &mut impl GenericClient,
    services: Option<&BTreeSet<Name>>,
    window: Window,
    input: &mut ReportInput,
    names: &mut Names,
) -> Result<()> {
    let (from, to) = (window.from.micros(), window.to.micros());
    let select = "SELECT services, repo, received_at FROM future_events WHERE received_at >= $1 AND received_at < $2";
    let rows = match services {
        // A scope's own: its services (an incident of several, always),
        // or its repositories.
        Some(services) => {
            let names: Vec<&str> = services.iter().map(Name::as_str).collect();
            let repos: Vec<String> = input
                .deployed_repos
                .iter()
                .map(|(_, r)| r.to_string())
                .collect();
            super::query(
                c,
                &format!(
                    "{select} AND (services = ANY($3) OR position(E'\\n' in services) > 0 OR repo = ANY($4))"
                ),
                &[&from, &to, &names, &repos],
            )?
        }
        None => super::query(c, select, &[&from, &to])?,
    };
    for r in rows {
        input.future_events.push(lantern_engine::Arrival {
            services: r
                .try_get::<_, &str>(0)?
                .split('\n')
                .filter(|s| !s.is_empty())
                .map(|s| names.get(s))
                .collect::<Result<_, _>>()?,
            repo: r
                .try_get::<_, Option<&str>>(1)?
                .map(|s| names.get(s))
                .transpose()?,
            received_at: Timestamp::from_micros(r.try_get(2)?),
        });
    }
    // hygiene.md F5: flag changes touching the window.
    input.set_flag_changes(super::annotations(c)?, window);
    let minute = 60 * MICROS_PER_SECOND;
    let since = (window.from.micros() - crate::SILENCE_LOOK_BACK_MICROS).div_euclid(minute);
    let until = window.to.micros().div_euclid(minute) + 1;
    let rows = super::query(
        c,
        "SELECT receiver, minute FROM deliveries WHERE minute >= $1 AND minute < $2 ORDER BY receiver, minute",
        &[&since, &until],
    )?;
    for r in rows {
        let receiver: &str = r.try_get(0)?;
        let at = Timestamp::from_micros(r.try_get::<_, i64>(1)? * minute);
        input.add_delivery(receiver, at);
    }
    Ok(())
}

/// The 90 days before the window by time alone, live and kept (hygiene.md's
/// silent services look back that far from a trend bucket's end), once
/// every deployment row a report reads is in `input` and before rollouts
/// are merged: as the SQLite store reads them.
pub(super) fn add_earlier(
    c: &mut impl GenericClient,
    services: Option<&BTreeSet<Name>>,
    window: Window,
    first_end: Timestamp,
    config: &EngineConfig,
    input: &mut ReportInput,
) -> Result<()> {
    let mut names = Names::default();
    let scope: Vec<&str> = services.into_iter().flatten().map(Name::as_str).collect();
    let window_from = window.from.micros();
    let (early, until) = (
        first_end.micros() - crate::LOOK_BACK_MICROS,
        window_from - config.link_window_micros,
    );
    let mut earlier = crate::EarlierDeployments::new(config, input, time(until));
    for (id, table) in [
        ("id", "deployments"),
        ("deployment", "retained_deployments"),
    ] {
        let sql = format!(
            "SELECT {id}, service, environment, finished_at, status, rollout FROM {table}
              WHERE finished_at >= $1 AND finished_at < $2 {}",
            super::retention::in_scope(services, "service", 3)
        );
        let rows = match services {
            Some(_) => super::query(c, &sql, &[&early, &until, &scope])?,
            None => super::query(c, &sql, &[&early, &until])?,
        };
        for r in rows {
            earlier.add(
                &mut names,
                (
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get::<_, &str>(4)? == "success",
                    r.try_get(5)?,
                ),
            )?;
        }
    }
    input.earlier_deployments = earlier.finish(&mut names)?;
    Ok(())
}

/// A closure's reads on PostgreSQL, in the caller's transaction.
struct Reads<'t, 'c> {
    tx: &'t mut Transaction<'c>,
    /// `loose_services`, read with the marks.
    loose: Option<BTreeSet<String>>,
}

impl<'t, 'c> Reads<'t, 'c> {
    fn new(tx: &'t mut Transaction<'c>) -> Self {
        Reads { tx, loose: None }
    }
}

/// The marks and the loose services in one round trip: every report
/// starts with them, and while webhooks write something is always stale,
/// so the loose services are asked for next (docs/performance.md, issue
/// 23's fifteenth step).
const MARKS: &str = concat!(
    "SELECT (SELECT value FROM meta WHERE key = 'facts'),
            ARRAY(SELECT name FROM stale_facts WHERE kind = 'service'),
            ARRAY(SELECT name FROM stale_facts WHERE kind = 'repo'),
            ARRAY(",
    closure::loose_services!(),
    ")"
);

impl StaleReads for Reads<'_, '_> {
    fn marks(&mut self) -> Result<Marks> {
        let row = super::query_one(self.tx, MARKS, &[])?;
        let set = |i: usize| -> Result<BTreeSet<String>> {
            Ok(row.try_get::<_, Vec<String>>(i)?.into_iter().collect())
        };
        self.loose = Some(set(3)?);
        Ok(Marks {
            derived_with: row.try_get(0)?,
            services: set(1)?,
            repos: set(2)?,
        })
    }

    fn loose_services(&mut self) -> Result<BTreeSet<String>> {
        match self.loose.take() {
            Some(loose) => Ok(loose),
            None => distinct(self.tx, closure::LOOSE_SERVICES, &[]),
        }
    }

    fn names_by(
        &mut self,
        want: Column,
        by: Column,
        values: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>> {
        if values.is_empty() {
            return Ok(BTreeSet::new());
        }
        let (want, by) = (want.name(), by.name());
        let list: Vec<&String> = values.iter().collect();
        distinct(
            self.tx,
            &format!(
                "SELECT DISTINCT {want} FROM deployments WHERE {by} = ANY($1) AND {want} IS NOT NULL"
            ),
            &[&list],
        )
    }

    fn blamed_services(&mut self, scope: &BTreeSet<String>) -> Result<BTreeSet<String>> {
        let list: Vec<&String> = scope.iter().collect();
        distinct(
            self.tx,
            "SELECT DISTINCT d.service FROM deployments d WHERE d.id = ANY(ARRAY(
                 SELECT caused_by FROM incidents WHERE caused_by IS NOT NULL
                    AND (service = ANY($1) OR services <> '')))
             UNION SELECT DISTINCT d.service FROM deployments d WHERE d.rollout = ANY(ARRAY(
                 SELECT caused_by FROM incidents WHERE caused_by IS NOT NULL
                    AND (service = ANY($1) OR services <> '')))",
            &[&list],
        )
    }
}

/// What a report reads of the pull requests merged in its window. A
/// fact's merge is its pull request's (written together): the condition
/// lets the planner range-scan the facts too, not hash every one.
const MERGED_PULL_REQUESTS: &str = "SELECT p.merged_at, p.id, p.repo, p.opened_at, p.first_review_at, f.first_commit_at, f.deploys,
        p.additions + p.deletions, p.review_kept
   FROM pull_requests p JOIN pull_request_facts f ON f.pull_request = p.id
        AND f.merged_at >= $1 AND f.merged_at < $2
  WHERE p.merged_at >= $1 AND p.merged_at < $2";

/// Runs `read` in a read-only transaction of a connection of its own that
/// imports another transaction's exported `snapshot` (its name checked:
/// it is spliced into `SET TRANSACTION SNAPSHOT`, which takes no
/// parameter).
pub(super) fn in_snapshot<T>(
    url: &str,
    snapshot: &str,
    read: impl FnOnce(&mut Transaction) -> Result<T>,
) -> Result<T> {
    if !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(corrupt(&format!(
            "an unexpected snapshot name {snapshot:?}"
        )));
    }
    let mut client = super::open_client(url)?;
    let mut tx = repeatable_read(&mut client)?;
    tx.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))?;
    let out = read(&mut tx)?;
    tx.commit()?;
    Ok(out)
}

/// Every pull request merged in the window (or, `Reading::Kept`, their
/// kept tallies), read on a connection of its own in the exported
/// `snapshot` of another transaction.
fn pull_requests_beside(
    url: &str,
    snapshot: &str,
    (window, cuts): (Window, &KeptCuts),
    reading: Reading,
) -> Result<ReportInput> {
    in_snapshot(url, snapshot, |tx| {
        let (mut names, mut input) = (Names::default(), ReportInput::default());
        match reading {
            Reading::Kept => {
                input.kept = Some(KeptDays {
                    pull_requests: Some(super::kept::kept_pull_requests(
                        tx, window, cuts, &mut names,
                    )?),
                    linked_incidents: super::kept::every_linked(tx)?,
                    ..KeptDays::default()
                })
            }
            _ => super::retention::add_merged_pull_requests(
                tx,
                MERGED_PULL_REQUESTS,
                "p.repo",
                window,
                None,
                &mut names,
                &mut input,
            )?,
        }
        Ok(input)
    })
}
