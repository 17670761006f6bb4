//! Issue 23's kept form on SQLite: a `DeployTally` per service and UTC
//! day (`deployment_days`), and which incidents are linked to a
//! deployment (`linked_incidents`), so that the report of the
//! organisation or a large team over whole days adds a few tens of
//! thousands of small tallies instead of reading and relating every
//! deployment of its window.
//!
//! Kept current the way facts are: a refresh of some services' facts
//! (which every write that touches them makes stale, `facts::mark_stale`,
//! incidents blaming their deployments included) notes their tallies
//! stale; the next report that reads tallies rebuilds those first, from
//! the same windowed reads and the same engine a report uses, over all
//! time. A full refresh rebuilds them all. **Invariant:** a report from
//! kept tallies equals the report from the rows (`tests/facts.rs`,
//! `stored_reports_equal_the_engines`).

use crate::Result;
use crate::codec::*;
use crate::kept::*;
use crate::sqlite::{SqliteStore, placeholders};
use crate::tally_codec::{add_pr_tally, add_tally};
use lantern_engine::*;
use lantern_events::*;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

impl SqliteStore {
    /// What a report over whole UTC days needs, with kept tallies standing
    /// in for the deployments when the scope is large (a few services'
    /// rows are read faster than their tallies are added).
    pub(super) fn read_window_kept(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        (first_end, cuts): (Timestamp, &KeptCuts),
        config: &EngineConfig,
    ) -> Result<ReportInput> {
        // After a retention purge, rows: an incident past the horizon that
        // blamed a purged deployment is linked in a build over all time
        // and not in a window's read (`both_stores_agree_after_a_purge`
        // found it); until the two agree, purged stores read rows.
        let purged: bool = self.conn().query_row(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM deployment_window WHERE deployment GLOB '{}')",
                crate::retained::RETAINED_GLOB
            ),
            [],
            |r| r.get(0),
        )?;
        if purged || services.is_some_and(|s| s.len() <= super::facts::SERVICES_PER_CHUNK) {
            return self.read_window(services, window, first_end, config);
        }
        self.refresh_for(services, config)?;
        self.current_tallies(config)?;
        self.window_input(services, window, (first_end, cuts), config, Reading::Kept)
    }

    /// Notes, in a refresh's transaction, that the tallies of these
    /// services and repositories are stale.
    pub(super) fn tallies_stale(
        tx: &rusqlite::Transaction,
        services: &[String],
        repos: &BTreeSet<String>,
    ) -> Result<()> {
        let mut note = tx.prepare_cached("INSERT OR IGNORE INTO stale_tallies VALUES (?1)")?;
        for s in services {
            note.execute([s])?;
        }
        let mut note = tx.prepare_cached("INSERT OR IGNORE INTO stale_pr_tallies VALUES (?1)")?;
        for r in repos {
            note.execute([r])?;
        }
        Ok(())
    }

    /// Rebuilds what is stale: every tally when none were built with
    /// these settings, else the services and repositories noted stale.
    pub(super) fn current_tallies(&mut self, config: &EngineConfig) -> Result<()> {
        let built: Option<String> = self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = 'tallies'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if built.as_deref() != Some(tally_fingerprint(config).as_str()) {
            self.build_tallies(config)?;
            // Built once (after an upgrade, or new settings): fold what it
            // wrote into the file, as a full refresh does, or every later
            // report reads through it (a 93 MB WAL took `service-7` from
            // 10 to 35 ms as a process).
            self.conn()
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            return Ok(());
        }
        let services = self.distinct_names("SELECT service FROM stale_tallies")?;
        let repos = self.distinct_names("SELECT repo FROM stale_pr_tallies")?;
        if !services.is_empty() {
            self.build_deployment_tallies(services, config)?;
        }
        if !repos.is_empty() {
            self.build_pr_tallies(repos, config)?;
        }
        Ok(())
    }

    /// Builds every tally anew, with these settings, on two connections:
    /// a second one reads and adds up the pull requests' tallies, then
    /// takes chunks of services from the same queue as this one
    /// (docs/performance.md, issue 23's thirteenth and fourteenth steps).
    /// Both read only what the refresh committed.
    pub(super) fn build_tallies(&mut self, config: &EngineConfig) -> Result<()> {
        let repos = self.distinct_names("SELECT DISTINCT repo FROM pull_request_window")?;
        let services = self.distinct_names(
            "SELECT DISTINCT service FROM deployments
             UNION SELECT DISTINCT service FROM deployment_window",
        )?;
        // Two chunks are in memory at once: half as many services each.
        let chunks: Vec<&[String]> = services.chunks(SERVICES_PER_BUILD.div_ceil(2)).collect();
        let next = AtomicUsize::new(0);
        let mut reader = self.bulk_reader()?;
        let (mine, theirs) = std::thread::scope(|threads| {
            let (list, chunks, next) = (&repos, &chunks, &next);
            let helper = threads.spawn(move || -> Result<_> {
                let prs = pr_tally_rows(reader.conn(), list, config)?;
                Ok((prs, reader.deployment_rows_of(chunks, next, config)?))
            });
            let mine = self.deployment_rows_of(chunks, next, config);
            if mine.is_err() {
                // The helper stops at its next chunk.
                next.store(chunks.len(), Ordering::Relaxed);
            }
            let theirs = helper
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (mine, theirs)
        });
        let mut rows = mine?;
        let (pr_rows, more) = theirs?;
        rows.0.extend(more.0);
        rows.1.extend(more.1);
        self.write_deployment_tallies(None, rows)?;
        self.write_pr_tallies(&repos, true, pr_rows)?;
        self.conn().execute(
            "INSERT OR REPLACE INTO meta VALUES ('tallies', ?1)",
            [tally_fingerprint(config)],
        )?;
        Ok(())
    }

    /// Rebuilds the organisation's pull-request tallies of these
    /// repositories from their pull requests over all time.
    fn build_pr_tallies(&mut self, repos: Vec<String>, config: &EngineConfig) -> Result<()> {
        let rows = pr_tally_rows(self.conn(), &repos, config)?;
        self.write_pr_tallies(&repos, false, rows)
    }

    /// Replaces the kept pull-request tallies of these repositories
    /// (`everything`: all of them) with `rows`, written in key order.
    fn write_pr_tallies(
        &mut self,
        repos: &[String],
        everything: bool,
        mut rows: Vec<TallyRow>,
    ) -> Result<()> {
        rows.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let tx = self.conn.transaction()?;
        let cleared = (!everything).then_some(repos);
        clear_kept(
            &tx,
            &["pull_request_days", "stale_pr_tallies"],
            "repo",
            cleared,
        )?;
        {
            let mut put = tx.prepare("INSERT INTO pull_request_days VALUES (?1, ?2, ?3)")?;
            for (day, repo, blob) in &rows {
                put.execute(params![day, repo, blob])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Rebuilds the tallies and links of these services from their reads
    /// over all time.
    fn build_deployment_tallies(
        &mut self,
        services: Vec<String>,
        config: &EngineConfig,
    ) -> Result<()> {
        let chunks: Vec<&[String]> = services.chunks(SERVICES_PER_BUILD).collect();
        let rows = self.deployment_rows_of(&chunks, &AtomicUsize::new(0), config)?;
        self.write_deployment_tallies(Some(&services), rows)
    }

    /// The tally and link rows of the chunks of services this connection
    /// takes from `next`, a queue it may share with another thread's.
    fn deployment_rows_of(
        &mut self,
        chunks: &[&[String]],
        next: &AtomicUsize,
        config: &EngineConfig,
    ) -> Result<(Vec<TallyRow>, Vec<LinkRow>)> {
        let whole = all_time();
        let (mut days, mut links) = (Vec::new(), Vec::new());
        while let Some(chunk) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
            let set = name_set(chunk)?;
            let input = self.window_input(
                Some(&set),
                whole,
                (whole.to, &KeptCuts::every_day()),
                config,
                Reading::ForTallies,
            )?;
            let (more_days, more_links) = deployment_rows(&input, &set, config)?;
            days.extend(more_days);
            links.extend(more_links);
        }
        Ok((days, links))
    }

    /// Replaces the kept tallies and links of these services (`None`: all
    /// of them) with `rows`, written in key order: appended to the tables'
    /// B-trees rather than inserted all over them.
    fn write_deployment_tallies(
        &mut self,
        services: Option<&[String]>,
        (mut days, mut links): (Vec<TallyRow>, Vec<LinkRow>),
    ) -> Result<()> {
        days.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        links.sort_unstable();
        let tx = self.conn.transaction()?;
        let tables = ["deployment_days", "linked_incidents", "stale_tallies"];
        clear_kept(&tx, &tables, "service", services)?;
        {
            let mut day = tx.prepare("INSERT INTO deployment_days VALUES (?1, ?2, ?3)")?;
            for (d, service, blob) in &days {
                day.execute(params![d, service, blob])?;
            }
            let mut link = tx.prepare("INSERT OR IGNORE INTO linked_incidents VALUES (?1, ?2)")?;
            for (incident, service) in &links {
                link.execute([incident, service])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A report input holding the kept tallies of the scope's services on
    /// the days from the window's start (or 90 days before `first_end`,
    /// which hygiene.md F1 looks back to) to its end.
    pub(super) fn kept_input(
        &self,
        services: Option<&BTreeSet<Name>>,
        scope_args: &[Value],
        (from, to): (i64, i64),
        (first_end, cuts): (Timestamp, &KeptCuts),
        names: &mut Names,
    ) -> Result<ReportInput> {
        let (first, end) = deployment_days(from, to, first_end);
        let in_scope = match services {
            Some(_) => format!("AND service IN ({})", placeholders(scope_args.len())),
            None => String::new(),
        };
        let mut stmt = self.conn().prepare(&format!(
            "SELECT day, service, tally FROM deployment_days WHERE day >= ? AND day < ? {in_scope}"
        ))?;
        let args = [Value::from(first), Value::from(end)]
            .into_iter()
            .chain(scope_args.iter().cloned());
        let mut rows = stmt.query(params_from_iter(args))?;
        let (mut tallies, mut deployed) = (KeptTallies::new(cuts.clone()), Vec::new());
        while let Some(r) = rows.next()? {
            let service = names.get(r.get_ref(1)?.as_str()?)?;
            let day: i64 = r.get(0)?;
            add_tally(r.get_ref(2)?.as_blob()?, tallies.day(&service, day))?;
            deployed.push((service, day));
        }
        Ok(input_of_tallies(tallies, deployed))
    }
}

/// The organisation's kept pull-request tallies of the days of `(from,
/// to)` (see `PrTally`), each repository's added up between `cuts`.
pub(super) fn kept_pull_requests(
    conn: &rusqlite::Connection,
    (from, to): (i64, i64),
    cuts: &KeptCuts,
    names: &mut Names,
) -> Result<Vec<((Name, DaySpan), PrTally)>> {
    let mut stmt = conn
        .prepare("SELECT day, repo, tally FROM pull_request_days WHERE day >= ?1 AND day < ?2")?;
    let mut rows = stmt.query([from.div_euclid(MICROS_PER_DAY), end_day(to)])?;
    let mut kept = KeptTallies::new(cuts.clone());
    while let Some(r) = rows.next()? {
        let repo = names.get(r.get_ref(1)?.as_str()?)?;
        add_pr_tally(r.get_ref(2)?.as_blob()?, kept.day(&repo, r.get(0)?))?;
    }
    Ok(kept.finish())
}

/// Which of these incidents are linked to a deployment. Every linked
/// incident is scanned (one index scan: 20 000 at full size) rather than
/// these looked up, 500 a statement (11 ms of the organisation's 50), and
/// matched against these without copying the others.
pub(super) fn linked(
    conn: &rusqlite::Connection,
    incidents: &[Incident],
) -> Result<foldhash::HashSet<EventId>> {
    let wanted: foldhash::HashMap<&str, &EventId> =
        incidents.iter().map(|i| (i.id.as_str(), &i.id)).collect();
    let mut stmt = conn.prepare("SELECT DISTINCT incident FROM linked_incidents")?;
    let mut rows = stmt.query([])?;
    let mut out = foldhash::HashSet::default();
    while let Some(r) = rows.next()? {
        if let Some(&id) = wanted.get(r.get_ref(0)?.as_str()?) {
            out.insert(id.clone());
        }
    }
    Ok(out)
}

/// The pull-request tallies of these repositories over all time, read on
/// `conn` (any connection: the full build reads them on a second one).
fn pr_tally_rows(
    conn: &rusqlite::Connection,
    repos: &[String],
    config: &EngineConfig,
) -> Result<Vec<TallyRow>> {
    let whole = all_time();
    let mut rows: Vec<TallyRow> = Vec::new();
    let mut names = Names::default();
    for chunk in repos.chunks(REPOS_PER_BUILD) {
        let args: Vec<Value> = chunk.iter().map(|r| Value::from(r.clone())).collect();
        let mut input = ReportInput::default();
        (input.pull_requests, input.pull_request_facts) = super::facts::window_pull_requests(
            conn,
            Some(&args),
            (whole.from.micros(), whole.to.micros()),
            &mut names,
        )?;
        rows.extend(pull_request_rows(&input, config));
    }
    Ok(rows)
}

/// Empties these kept tables of the rows whose `column` is one of `names`
/// (`None`: of every row), before a build writes them again.
fn clear_kept(
    tx: &rusqlite::Transaction,
    tables: &[&str],
    column: &str,
    names: Option<&[String]>,
) -> Result<()> {
    for table in tables {
        match names {
            None => {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
            Some(list) => {
                for chunk in list.chunks(500) {
                    tx.execute(
                        &format!(
                            "DELETE FROM {table} WHERE {column} IN ({})",
                            placeholders(chunk.len())
                        ),
                        params_from_iter(chunk.iter()),
                    )?;
                }
            }
        }
    }
    Ok(())
}
