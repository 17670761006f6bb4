//! Issue 23's kept form on PostgreSQL, as SQLite's (`sqlite/kept.rs`;
//! what both share is `crate::kept`): a `DeployTally` per service and UTC
//! day (`deployment_days`), which incidents are linked (`linked_incidents`)
//! and the organisation's `PrTally` per repository and day
//! (`pull_request_days`), so that the organisation's report over whole
//! days reads a few hundred thousand bytes of tallies instead of every
//! deployment and pull request of its window with their facts.
//!
//! Kept current under the facts' lock (`FACTS_LOCK`): a first import's
//! refresh builds them all in its transaction; a partial refresh notes
//! its closure's services and repositories stale in its own; a report
//! that finds any of its scope stale rebuilds them (every stale one)
//! holding the lock exclusive, then reads again in one snapshot, as it
//! does for facts. **Invariant:** a report from kept tallies equals the
//! report from the rows (`tests/facts.rs`, on both stores).

use super::facts::{self, read_in};
use super::schema::FACTS_LOCK;
use crate::Result;
use crate::codec::*;
use crate::kept::*;
use crate::tally_codec::{add_pr_tally, add_tally};
use lantern_engine::*;
use lantern_events::*;
use postgres::{Client, Transaction};
use std::collections::BTreeSet;

/// What a report's read of kept tallies found.
pub(super) enum KeptRead {
    /// The report's input.
    Input(Box<ReportInput>),
    /// Facts or tallies it reads are stale: [`refresh`], then read again.
    Stale,
    /// Retention purged events: the report reads rows. An incident past
    /// the horizon blaming a purged deployment is linked in a build over
    /// all time and not in a window's read (SQLite found it first); until
    /// the two agree, purged stores read rows, as SQLite's do.
    Purged,
}

/// A report's input over whole UTC days from kept tallies, in one
/// snapshot, when everything it reads is current.
pub(super) fn read_kept(
    client: &mut Client,
    url: &str,
    services: Option<&BTreeSet<Name>>,
    window: Window,
    ends: (Timestamp, &KeptCuts),
    config: &EngineConfig,
) -> Result<KeptRead> {
    let mut tx = facts::repeatable_read(client)?;
    if !facts::current(&mut tx, services, config)? {
        return Ok(KeptRead::Stale);
    }
    let scope: Vec<&str> = services.into_iter().flatten().map(Name::as_str).collect();
    // One round trip: purged, built with these settings, anything of the
    // scope stale (the organisation reads pull-request tallies too).
    let head = "SELECT EXISTS (SELECT 1 FROM retained_deployments),
                       (SELECT value FROM meta WHERE key = 'tallies'),";
    let row = match services {
        Some(_) => super::query_one(
            &mut tx,
            &format!("{head} EXISTS (SELECT 1 FROM stale_tallies WHERE service = ANY($1))"),
            &[&scope],
        )?,
        None => super::query_one(
            &mut tx,
            &format!(
                "{head} EXISTS (SELECT 1 FROM stale_tallies) OR EXISTS (SELECT 1 FROM stale_pr_tallies)"
            ),
            &[],
        )?,
    };
    if row.try_get::<_, bool>(0)? {
        return Ok(KeptRead::Purged);
    }
    let built: Option<String> = row.try_get(1)?;
    if built.as_deref() != Some(tally_fingerprint(config).as_str()) || row.try_get::<_, bool>(2)? {
        return Ok(KeptRead::Stale);
    }
    let input = read_in(&mut tx, url, services, window, ends, config, Reading::Kept)?;
    tx.commit()?;
    Ok(KeptRead::Input(Box::new(input)))
}

/// Brings what a kept report over `services` reads up to date: their
/// facts, then every stale tally (all of them when none were built with
/// these settings).
pub(super) fn refresh(
    client: &mut Client,
    url: &str,
    services: Option<&BTreeSet<Name>>,
    config: &EngineConfig,
) -> Result<()> {
    facts::refresh(client, url, config, services, &|_, _| {})?;
    current_tallies(client, url, config)
}

/// Rebuilds every stale tally, or all of them when none were built with
/// these settings.
pub(super) fn current_tallies(client: &mut Client, url: &str, config: &EngineConfig) -> Result<()> {
    let mut tx = client.transaction()?;
    // Exclusive, as a refresh of facts: no write commits meanwhile, and
    // no other replica builds the same tallies at the same time.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FACTS_LOCK])?;
    let built: Option<String> =
        super::query_opt(&mut tx, "SELECT value FROM meta WHERE key = 'tallies'", &[])?
            .map(|r| r.try_get(0))
            .transpose()?;
    if built.as_deref() != Some(tally_fingerprint(config).as_str()) {
        build_tallies(&mut tx, url, config)?;
        // Built a chunk of services at a time, the rows of a day lay all
        // over the table: a window's range read 22 500 of its 36 000
        // pages at ten times the organisation. In day order it reads a
        // window's share (the organisation's 90 days' deployment tallies
        // there: 0.30–0.38 s → 0.20–0.25 s to send; both tables sorted
        // in 7.6 s of a 327 s import).
        tx.batch_execute(
            "CLUSTER deployment_days USING deployment_days_pkey;
             CLUSTER pull_request_days USING pull_request_days_pkey;",
        )?;
        tx.commit()?;
        // Their plans need statistics (a window of 889 000 rows was
        // estimated at 14 000 without).
        client.batch_execute("ANALYZE deployment_days, pull_request_days, linked_incidents")?;
        return Ok(());
    }
    let services = names(&mut tx, "SELECT service FROM stale_tallies")?;
    let repos = names(&mut tx, "SELECT repo FROM stale_pr_tallies")?;
    if !services.is_empty() {
        build_deployment_tallies(&mut tx, url, config, Some(services), &mut |_| Ok(()))?;
    }
    if !repos.is_empty() {
        build_pr_tallies(&mut tx, repos, config)?;
    }
    tx.commit()?;
    Ok(())
}

/// Notes, in a refresh's transaction, that the tallies of these services
/// and repositories are stale.
pub(super) fn tallies_stale(
    tx: &mut Transaction,
    services: &[&String],
    repos: &[&String],
) -> Result<()> {
    super::query(
        tx,
        "INSERT INTO stale_tallies SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        &[&services],
    )?;
    super::query(
        tx,
        "INSERT INTO stale_pr_tallies SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
        &[&repos],
    )?;
    Ok(())
}

/// Builds every tally anew with these settings, in `tx`, which holds the
/// facts' lock and reads current facts. The pull requests' tallies are
/// added up on a second connection, in this transaction's snapshot,
/// while this one builds the deployments' (3.3 s and 5.1 s one after the
/// other at full size); this one writes both.
fn build_tallies(tx: &mut Transaction, url: &str, config: &EngineConfig) -> Result<()> {
    let started = std::time::Instant::now();
    let snapshot: String = super::query_one(tx, "SELECT pg_export_snapshot()", &[])?.try_get(0)?;
    tx.batch_execute("DELETE FROM pull_request_days")?;
    let mut deployments_s = 0.0;
    std::thread::scope(|threads| -> Result<()> {
        let (send, pr_rows) = std::sync::mpsc::sync_channel::<Result<Vec<TallyRow>>>(1);
        let snapshot = snapshot.as_str();
        threads.spawn(move || pr_tallies_beside(url, snapshot, config, send));
        // A chunk the other connection has added up is written between
        // two of the deployments' chunks, so at most two wait in memory.
        let mut write_ready = |tx: &mut Transaction| -> Result<()> {
            while let Ok(rows) = pr_rows.try_recv() {
                put_tallies(tx, "pull_request_days", &rows?)?;
            }
            Ok(())
        };
        build_deployment_tallies(tx, url, config, None, &mut write_ready)?;
        deployments_s = started.elapsed().as_secs_f64();
        for rows in pr_rows.iter() {
            put_tallies(tx, "pull_request_days", &rows?)?;
        }
        Ok(())
    })?;
    tx.batch_execute("DELETE FROM stale_pr_tallies")?;
    tracing::info!(
        deployments_s,
        total_s = started.elapsed().as_secs_f64(),
        "tallies built"
    );
    super::query(
        tx,
        "INSERT INTO meta (key, value) VALUES ('tallies', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&tally_fingerprint(config)],
    )?;
    Ok(())
}

/// Every repository's pull-request tally rows, a chunk of repositories at
/// a time, read on a connection of its own in the exported `snapshot`
/// and sent; stops at the first error (sent) or when nobody receives.
fn pr_tallies_beside(
    url: &str,
    snapshot: &str,
    config: &EngineConfig,
    send: std::sync::mpsc::SyncSender<Result<Vec<TallyRow>>>,
) {
    let read = facts::in_snapshot(url, snapshot, |tx| {
        let repos = names(tx, EVERY_MERGING_REPO)?;
        let mut names = Names::default();
        for chunk in repos.chunks(REPOS_PER_BUILD) {
            let rows = pr_tally_chunk(tx, chunk, config, &mut names)?;
            if send.send(Ok(rows)).is_err() {
                break;
            }
        }
        Ok(())
    });
    if let Err(e) = read {
        let _ = send.send(Err(e));
    }
}

/// Every repository with a merged pull request, kept or retained.
const EVERY_MERGING_REPO: &str =
    "SELECT DISTINCT repo FROM pull_requests WHERE merged_at IS NOT NULL
     UNION SELECT DISTINCT repo FROM retained_pull_requests";

fn names(tx: &mut Transaction, sql: &str) -> Result<Vec<String>> {
    super::query(tx, sql, &[])?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// The tallies and links of these services (`None`: all of them,
/// replacing everything kept), from their reads over all time, written a
/// chunk at a time.
fn build_deployment_tallies(
    tx: &mut Transaction,
    url: &str,
    config: &EngineConfig,
    services: Option<Vec<String>>,
    between_chunks: &mut dyn FnMut(&mut Transaction) -> Result<()>,
) -> Result<()> {
    let everything = services.is_none();
    let list = match services {
        Some(list) => {
            clear(
                tx,
                &["deployment_days", "linked_incidents"],
                "service",
                &list,
            )?;
            list
        }
        None => {
            tx.batch_execute("DELETE FROM deployment_days; DELETE FROM linked_incidents;")?;
            names(
                tx,
                "SELECT DISTINCT service FROM deployments
                 UNION SELECT DISTINCT service FROM retained_deployments",
            )?
        }
    };
    let whole = all_time();
    let (mut read_s, mut engine_s, mut write_s) = (0.0, 0.0, 0.0);
    for chunk in list.chunks(SERVICES_PER_BUILD) {
        let set = name_set(chunk)?;
        let t = std::time::Instant::now();
        let input = read_in(
            tx,
            url,
            Some(&set),
            whole,
            (whole.to, &KeptCuts::every_day()),
            config,
            Reading::ForTallies,
        )?;
        read_s += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let (days, links) = deployment_rows(&input, &set, config)?;
        drop(input);
        engine_s += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        put_tallies(tx, "deployment_days", &days)?;
        for part in links.chunks(WRITE_ROWS) {
            let incidents: Vec<&str> = part.iter().map(|(i, _)| i.as_str()).collect();
            let services: Vec<&str> = part.iter().map(|(_, s)| s.as_str()).collect();
            super::query(
                tx,
                "INSERT INTO linked_incidents SELECT * FROM unnest($1::text[], $2::text[])
                 ON CONFLICT DO NOTHING",
                &[&incidents, &services],
            )?;
        }
        write_s += t.elapsed().as_secs_f64();
        between_chunks(tx)?;
    }
    tracing::debug!(
        read_s,
        engine_s,
        write_s,
        services = list.len(),
        "deployment tallies built"
    );
    match everything {
        true => tx.batch_execute("DELETE FROM stale_tallies")?,
        false => {
            super::query(
                tx,
                "DELETE FROM stale_tallies WHERE service = ANY($1)",
                &[&list],
            )?;
        }
    }
    Ok(())
}

/// What a build reads of some repositories' merged pull requests: by
/// repository (`pull_requests_repo`, `pull_request_facts_repo`), not by
/// merge over all time.
const MERGED_OF_REPOS: &str = "SELECT p.merged_at, p.id, p.repo, p.opened_at, p.first_review_at, f.first_commit_at, f.deploys,
        p.additions + p.deletions, p.review_kept
   FROM pull_requests p JOIN pull_request_facts f ON f.pull_request = p.id AND f.repo = ANY($3)
  WHERE p.merged_at >= $1 AND p.merged_at < $2";

/// The organisation's pull-request tallies of these repositories again,
/// from their pull requests over all time.
fn build_pr_tallies(tx: &mut Transaction, repos: Vec<String>, config: &EngineConfig) -> Result<()> {
    clear(tx, &["pull_request_days"], "repo", &repos)?;
    let mut names = Names::default();
    for chunk in repos.chunks(REPOS_PER_BUILD) {
        let rows = pr_tally_chunk(tx, chunk, config, &mut names)?;
        put_tallies(tx, "pull_request_days", &rows)?;
    }
    super::query(
        tx,
        "DELETE FROM stale_pr_tallies WHERE repo = ANY($1)",
        &[&repos],
    )?;
    Ok(())
}

/// The pull-request tally rows of these repositories, read in `tx`.
fn pr_tally_chunk(
    tx: &mut Transaction,
    repos: &[String],
    config: &EngineConfig,
    names: &mut Names,
) -> Result<Vec<TallyRow>> {
    let mut input = ReportInput::default();
    for (select, column) in [
        (MERGED_OF_REPOS, "p.repo"),
        (super::retention::RETAINED_MERGED, "repo"),
    ] {
        super::retention::add_merged_pull_requests(
            tx,
            select,
            column,
            all_time(),
            Some(repos),
            names,
            &mut input,
        )?;
    }
    Ok(pull_request_rows(&input, config))
}

/// Rows a statement writes.
const WRITE_ROWS: usize = 10_000;

/// Writes tally rows (day, name, tally) into `table`, many a statement.
fn put_tallies(tx: &mut Transaction, table: &str, rows: &[TallyRow]) -> Result<()> {
    for part in rows.chunks(WRITE_ROWS) {
        let days: Vec<i64> = part.iter().map(|r| r.0).collect();
        let names: Vec<&str> = part.iter().map(|r| r.1.as_str()).collect();
        let tallies: Vec<&[u8]> = part.iter().map(|r| r.2.as_slice()).collect();
        super::query(
            tx,
            &format!(
                "INSERT INTO {table} SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])"
            ),
            &[&days, &names, &tallies],
        )?;
    }
    Ok(())
}

/// Empties these kept tables of the rows whose `column` is one of `names`.
fn clear(tx: &mut Transaction, tables: &[&str], column: &str, names: &[String]) -> Result<()> {
    for table in tables {
        super::query(
            tx,
            &format!("DELETE FROM {table} WHERE {column} = ANY($1)"),
            &[&names],
        )?;
    }
    Ok(())
}

/// A report input holding the kept tallies of the scope's services on
/// the days a report over `(from, to)` reads (the organisation's pull
/// requests' are read beside them: [`kept_pull_requests`]).
pub(super) fn kept_input(
    tx: &mut Transaction,
    services: Option<&BTreeSet<Name>>,
    (from, to): (i64, i64),
    (first_end, cuts): (Timestamp, &KeptCuts),
    names: &mut Names,
) -> Result<ReportInput> {
    let (first, end) = deployment_days(from, to, first_end);
    let scope: Vec<&str> = services.into_iter().flatten().map(Name::as_str).collect();
    let (mut tallies, mut deployed) = (KeptTallies::new(cuts.clone()), Vec::new());
    let select = "SELECT day, service, tally FROM deployment_days WHERE day >= $1 AND day < $2";
    let mut add = |r: &postgres::Row| -> Result<()> {
        let service = names.get(r.try_get(1)?)?;
        let day: i64 = r.try_get(0)?;
        add_tally(r.try_get(2)?, tallies.day(&service, day))?;
        deployed.push((service, day));
        Ok(())
    };
    match services {
        Some(_) => super::for_each_row(
            tx,
            &format!("{select} AND service = ANY($3)"),
            &[&first, &end, &scope],
            &mut add,
        )?,
        None => super::for_each_row(tx, select, &[&first, &end], &mut add)?,
    }
    Ok(input_of_tallies(tallies, deployed))
}

/// The organisation's kept pull-request tallies of the window's days.
pub(super) fn kept_pull_requests(
    tx: &mut Transaction,
    window: Window,
    cuts: &KeptCuts,
    names: &mut Names,
) -> Result<Vec<((Name, DaySpan), PrTally)>> {
    let mut kept = KeptTallies::new(cuts.clone());
    super::for_each_row(
        tx,
        "SELECT day, repo, tally FROM pull_request_days WHERE day >= $1 AND day < $2",
        &[
            &window.from.micros().div_euclid(MICROS_PER_DAY),
            &end_day(window.to.micros()),
        ],
        |r| {
            let repo = names.get(r.try_get(1)?)?;
            add_pr_tally(r.try_get(2)?, kept.day(&repo, r.try_get(0)?))?;
            Ok(())
        },
    )?;
    Ok(kept.finish())
}

/// Every incident linked to a deployment: for the organisation, one scan
/// (20 000 at full size) rather than its incidents bound as an array and
/// looked up (5 ms to bind, 8 to run).
pub(super) fn every_linked(tx: &mut Transaction) -> Result<foldhash::HashSet<EventId>> {
    let mut linked = foldhash::HashSet::default();
    super::for_each_row(
        tx,
        "SELECT DISTINCT incident FROM linked_incidents",
        &[],
        |r| {
            linked.insert(id(r.try_get(0)?)?);
            Ok(())
        },
    )?;
    Ok(linked)
}

/// Which of these incidents are linked to a deployment.
pub(super) fn kept_links(
    tx: &mut Transaction,
    incidents: &[Incident],
) -> Result<foldhash::HashSet<EventId>> {
    let ids: Vec<&str> = incidents.iter().map(|i| i.id.as_str()).collect();
    let mut linked = foldhash::HashSet::default();
    super::for_each_row(
        tx,
        "SELECT DISTINCT incident FROM linked_incidents WHERE incident = ANY($1)",
        &[&ids],
        |r| {
            linked.insert(id(r.try_get(0)?)?);
            Ok(())
        },
    )?;
    Ok(linked)
}
