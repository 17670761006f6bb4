//! Keeping the engine's derived facts, and loading only what a window needs.
//!
//! Every write marks what it touched stale (in the same transaction): the
//! services of its deployments and incidents, the repositories of its
//! changes, pull requests and deployments. The next report re-derives the
//! facts of those services and of every service that shares a repository
//! with them (a pull request's first deployments span the services that
//! deploy its repository) — or everything, when that is most of it, a
//! chunk of services at a time so that memory stays bounded. Facts also
//! record which production environment names they were derived with:
//! changing them in the configuration makes every fact stale.
//!
//! Facts are kept in time order together with what a report reads of each
//! deployment (`deployment_window`) and merged pull request
//! (`pull_request_window`), so a window is one range scan rather than a
//! lookup per row.

use crate::Result;
use crate::closure::{self, Closure, Column, Marks, StaleReads};
use crate::codec::*;
use crate::kept::Reading;
use crate::sqlite::{Fields, SqliteStore, placeholders};
use crate::touched::{Touched, fingerprint};
use crate::{Store, StoreError};
use lantern_engine::*;
use lantern_events::*;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};
use std::collections::BTreeSet;
use std::time::Instant;

pub(super) const SERVICES_PER_CHUNK: usize = 25;

/// A bulk refresh's staged rows: appended in order and read once, sorted,
/// they need little cache.
const STAGING_CACHE_KIB: i64 = 16 << 10;

/// Marks what a batch touches, before it is written: the services and
/// repositories of the new versions and of the stored versions they
/// replace (a deployment moved to another service leaves its old one's
/// facts wrong too). Until facts were derived once with these settings
/// there is nothing to mark: the next refresh derives everything.
pub(crate) fn mark_stale(tx: &Transaction, events: &[Event]) -> rusqlite::Result<()> {
    let derived: Option<String> = tx
        .prepare_cached("SELECT value FROM meta WHERE key = 'facts'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    if derived.is_none_or(|v| !v.starts_with("v1:")) {
        return Ok(());
    }
    let mut t = Touched::of(events);
    let mut old_deployment =
        tx.prepare_cached("SELECT service, repo FROM deployments WHERE id = ?1")?;
    for id in t.deployments {
        if let Some((s, r)) = old_deployment
            .query_row([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .optional()?
        {
            t.services.insert(s);
            t.repos.extend(r);
        }
    }
    let mut old_incident =
        tx.prepare_cached("SELECT service, services, caused_by FROM incidents WHERE id = ?1")?;
    let mut blamed: Vec<String> = t.blamed.iter().map(|b| b.to_string()).collect();
    for id in t.incidents {
        if let Some((s, more, caused_by)) = old_incident
            .query_row([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .optional()?
        {
            t.services.insert(s);
            t.services.extend(more.lines().map(str::to_string));
            blamed.extend(caused_by);
        }
    }
    // A deployment's kept tally counts the incidents that blame it.
    let mut blamed_service = tx.prepare_cached("SELECT service FROM deployments WHERE id = ?1")?;
    for id in blamed {
        if let Some(s) = blamed_service
            .query_row([id], |r| r.get::<_, String>(0))
            .optional()?
        {
            t.services.insert(s);
        }
    }
    for (sql, ids) in [
        ("SELECT repo FROM changes WHERE id = ?1", t.changes),
        (
            "SELECT repo FROM pull_requests WHERE id = ?1",
            t.pull_requests,
        ),
    ] {
        let mut old = tx.prepare_cached(sql)?;
        for id in ids {
            if let Some(r) = old.query_row([id], |r| r.get::<_, String>(0)).optional()? {
                t.repos.insert(r);
            }
        }
    }
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO stale_facts (kind, name) VALUES (?1, ?2)")?;
    for s in t.services {
        stmt.execute(["service", s.as_str()])?;
    }
    for r in t.repos {
        stmt.execute(["repo", r.as_str()])?;
    }
    Ok(())
}

/// Rebuilding the window tables. Each chunk of services appends its rows to
/// unindexed temporary tables; `finish` then fills the window tables in key
/// order and builds their secondary indexes afterwards. Appending in order
/// is many times faster than inserting each chunk's rows all over two years
/// of a B-tree, and SQLite's sorter spills to disk, so memory stays small.
struct Staging<'c> {
    tx: rusqlite::Transaction<'c>,
}

impl<'c> Staging<'c> {
    /// `unchecked_transaction` borrows the connection shared, so the
    /// history can be read on it while rows are staged.
    fn begin(
        conn: &'c rusqlite::Connection,
        partial: Option<&Closure>,
        bulk: bool,
    ) -> Result<Self> {
        // A few services' rows stay in memory. A bulk refresh stages a few
        // hundred bytes a deployment and a pull request: in memory that
        // was 0.4 GiB for a million of each, on top of the page cache. In a
        // temporary file with a small cache of its own, the operating
        // system's file cache holds them instead, and the refresh took no
        // longer (docs/performance.md, issue 23's fifth step). The sorts
        // that fill the window tables and rebuild their indexes may use
        // a second core (issue 23's thirteenth step).
        match bulk {
            true => conn.execute_batch(&format!(
                "PRAGMA temp_store = FILE; PRAGMA temp.cache_size = -{STAGING_CACHE_KIB};
                 PRAGMA main.cache_size = -{}; PRAGMA threads = 2;",
                super::REFRESH_CACHE_KIB
            ))?,
            false => conn.pragma_update(None, "temp_store", "MEMORY")?,
        }
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(
            "CREATE TEMP TABLE staged_deployments AS SELECT * FROM deployment_window WHERE 0;
             CREATE TEMP TABLE staged_pull_requests AS SELECT * FROM pull_request_window WHERE 0;",
        )?;
        // Links are written as chunks are derived: clear the old ones first
        // (not those retention kept: to a purged deployment, or of a
        // purged incident, nothing can re-derive them).
        match partial {
            None => tx.execute_batch(
                "DELETE FROM incident_links WHERE incident NOT GLOB 'retained:*' AND deployment NOT GLOB 'retained:*';
                 DELETE FROM service_repos;",
            )?,
            Some(closure) => {
                let mut delete = tx.prepare("DELETE FROM incident_links WHERE service = ?1 AND incident NOT GLOB 'retained:*' AND deployment NOT GLOB 'retained:*'")?;
                let mut forget = tx.prepare("DELETE FROM service_repos WHERE service = ?1")?;
                for s in &closure.services {
                    delete.execute([s])?;
                    forget.execute([s])?;
                }
            }
        }
        Ok(Staging { tx })
    }

    /// One chunk's events and facts. A service outside the chunk can come
    /// along (it shares an incident); its rows are the same each time.
    /// With `repos`, only those repositories' pull requests are staged (a
    /// partial refresh rebuilds only theirs).
    fn add(
        &mut self,
        events: &EventSet,
        facts: &Facts,
        repos: Option<&BTreeSet<String>>,
    ) -> Result<()> {
        let mut pair = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO service_repos VALUES (?1, ?2)")?;
        for d in &events.deployments {
            if let Some(repo) = &d.repo {
                pair.execute([d.service.as_str(), repo.as_str()])?;
            }
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO staged_deployments VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for d in &events.deployments {
            let f = facts.deployments.get(&d.id);
            stmt.execute(params![
                d.finished_at.micros(),
                d.id.as_str(),
                d.service.as_str(),
                d.environment.as_str(),
                enum_text(&DeploymentStatus::ALL, d.status),
                d.kind.map(|k| enum_text(&DeploymentKind::ALL, k)),
                d.rollback_of.as_ref().map(EventId::as_str),
                d.repo.as_ref().map(Name::as_str),
                f.map(|f| f.rule.code()),
                f.map(|f| f.sha_known),
                f.map(|f| encode_times(&f.shipped)),
                d.started_at.map(Timestamp::micros),
                d.automated,
                d.rollout.as_ref().map(EventId::as_str),
            ])?;
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO staged_pull_requests VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for pr in &events.pull_requests {
            let (Some(merged_at), Some(f)) = (pr.merged_at, facts.pull_requests.get(&pr.id)) else {
                continue;
            };
            if repos.is_some_and(|r| !r.contains(pr.repo.as_str())) {
                continue;
            }
            stmt.execute(params![
                merged_at.micros(),
                pr.id.as_str(),
                pr.repo.as_str(),
                pr.opened_at.micros(),
                pr.first_review_at.map(Timestamp::micros),
                f.first_commit_at.map(Timestamp::micros),
                encode_deploys(&f.first_deploys),
                crate::pull_request_size(pr),
                pr.review_kept,
            ])?;
        }
        // A link retention kept goes to a purged deployment, earlier than
        // any re-derived one for the same incident and service: it stays
        // (the engine takes the earliest).
        let mut stmt = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO incident_links VALUES (?1, ?2, ?3, ?4)")?;
        for l in &facts.sha_links {
            stmt.execute(params![
                l.subject.as_str(),
                l.service.as_str(),
                l.finished_at.micros(),
                l.deployment.as_str()
            ])?;
        }
        Ok(())
    }

    /// Replaces the window tables with the staged rows, in key order. A pull
    /// request staged by several chunks (its repository is deployed by
    /// services of several) gets all their first deployments.
    fn finish(self, fingerprint: &str, partial: Option<&Closure>) -> Result<()> {
        let tx = self.tx;
        match partial {
            None => {
                tx.execute_batch(crate::sqlite::schema::DROP_WINDOW_INDEXES)?;
                tx.execute_batch(
                    "DELETE FROM deployment_window WHERE deployment NOT GLOB 'retained:*';
                     DELETE FROM pull_request_window WHERE pull_request NOT GLOB 'retained:*';",
                )?;
            }
            Some(closure) => {
                tx.execute_batch(
                    "CREATE TEMP TABLE refresh_services (name TEXT PRIMARY KEY);
                     CREATE TEMP TABLE refresh_repos (name TEXT PRIMARY KEY);",
                )?;
                {
                    let mut add =
                        tx.prepare("INSERT OR IGNORE INTO refresh_services VALUES (?1)")?;
                    for s in &closure.services {
                        add.execute([s])?;
                    }
                    let mut add = tx.prepare("INSERT OR IGNORE INTO refresh_repos VALUES (?1)")?;
                    for r in &closure.repos {
                        add.execute([r])?;
                    }
                }
                tx.execute_batch(
                    "DELETE FROM deployment_window WHERE service IN (SELECT name FROM refresh_services) AND deployment NOT GLOB 'retained:*';
                     DELETE FROM pull_request_window WHERE repo IN (SELECT name FROM refresh_repos) AND pull_request NOT GLOB 'retained:*';
                     DROP TABLE refresh_services; DROP TABLE refresh_repos;",
                )?;
            }
        }
        tx.execute_batch(
            "INSERT OR REPLACE INTO deployment_window SELECT * FROM staged_deployments ORDER BY finished_at, deployment;",
        )?;
        {
            let mut read =
                tx.prepare("SELECT * FROM staged_pull_requests ORDER BY merged_at, pull_request")?;
            let mut write = tx.prepare(
                "INSERT INTO pull_request_window VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut rows = read.query([])?;
            // The fields before `deploys`, `deploys`, and those after it.
            type Pending = (Vec<Value>, Vec<u8>, [Value; 2]);
            let mut pending: Option<Pending> = None;
            let flush = |pending: Option<Pending>| -> rusqlite::Result<()> {
                if let Some((mut fields, deploys, tail)) = pending {
                    fields.push(Value::Blob(deploys));
                    fields.extend(tail);
                    write.execute(params_from_iter(fields))?;
                }
                Ok(())
            };
            let mut flush = flush;
            while let Some(r) = rows.next()? {
                let fields: Vec<Value> = (0..6)
                    .map(|i| r.get::<_, Value>(i))
                    .collect::<Result<_, _>>()?;
                let deploys = r.get_ref(6)?.as_blob()?;
                let tail = [r.get::<_, Value>(7)?, r.get::<_, Value>(8)?];
                match &mut pending {
                    Some((held, blob, _)) if held[..2] == fields[..2] => {
                        blob.extend_from_slice(deploys)
                    }
                    _ => {
                        flush(pending.take())?;
                        pending = Some((fields, deploys.to_vec(), tail));
                    }
                }
            }
            flush(pending)?;
        }
        if partial.is_none() {
            tx.execute_batch(crate::sqlite::schema::CREATE_WINDOW_INDEXES)?;
        }
        tx.execute_batch("DROP TABLE staged_deployments; DROP TABLE staged_pull_requests;")?;
        match partial {
            None => {
                tx.execute_batch("DELETE FROM stale_facts;")?;
                tx.execute(crate::BUMP_VERSION, [crate::GENERATION])?;
            }
            Some(closure) => {
                let mut clear =
                    tx.prepare("DELETE FROM stale_facts WHERE kind = ?1 AND name = ?2")?;
                let mut bump = tx.prepare(crate::BUMP_VERSION)?;
                for s in &closure.services {
                    clear.execute(["service", s.as_str()])?;
                    bump.execute([s.as_str()])?;
                }
                for r in &closure.repos {
                    clear.execute(["repo", r.as_str()])?;
                }
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta VALUES ('facts', ?1)",
            params![fingerprint],
        )?;
        tx.commit()?;
        Ok(())
    }
}

/// Past this, a refresh folds the WAL into the database file.
const LARGE_WAL_BYTES: u64 = 256 << 20;

impl SqliteStore {
    /// Re-derives a closure (`None`: everything).
    pub(super) fn refresh_closure(
        &mut self,
        config: &EngineConfig,
        closure: Option<Closure>,
        progress: &dyn Fn(usize, usize),
    ) -> Result<()> {
        // No memory map for bulk work: it would count the whole file as
        // this process's memory.
        self.conn().pragma_update(None, "mmap_size", 0)?;
        let started = Instant::now();
        // Re-deriving most services one by one costs more than all at once.
        // A closure that fits one chunk is never worse partial, and skips
        // listing every service (a scan of all deployments, on the path of
        // every report while the server takes writes).
        let (closure, services) = match closure {
            Some(c) if c.services.len() <= SERVICES_PER_CHUNK => {
                let services = c.services.clone();
                (Some(c), services)
            }
            closure => {
                let all = self.distinct_names("SELECT DISTINCT service FROM deployments")?;
                let limit = self.partial_share * all.len() as f64;
                match closure.filter(|c| c.services.len() as f64 <= limit) {
                    Some(c) => {
                        let services = c.services.clone();
                        (Some(c), services)
                    }
                    None => (None, all),
                }
            }
        };
        let repos = closure.as_ref().map(|c| &c.repos);
        let bulk = services.len() > SERVICES_PER_CHUNK;
        // The page cache to give back after a bulk refresh shrinks it (a
        // bulk import's large one, or the usual small one).
        let cache_size: i64 = match bulk {
            true => self
                .conn()
                .query_row("PRAGMA main.cache_size", [], |r| r.get(0))?,
            false => 0,
        };
        let mut staging = Staging::begin(self.conn(), closure.as_ref(), bulk)?;
        let (mut load_s, mut derive_s) = (0.0, 0.0);
        // Services deploying without a repository can ship any repository's
        // commits: they come along with every chunk, so each pull request's
        // first deployments include theirs (as a closure holds them).
        let loose: BTreeSet<Name> = self
            .distinct_names(crate::closure::LOOSE_SERVICES)?
            .iter()
            .map(|s| Name::parse(s))
            .collect::<Result<_, _>>()
            .map_err(|what| StoreError::Corrupt { what })?;
        // Two chunks are in memory at once when they are read beside
        // staging: half as many services each keeps the peak.
        let per_chunk = match bulk {
            true => SERVICES_PER_CHUNK.div_ceil(2),
            false => SERVICES_PER_CHUNK,
        };
        let chunks: Vec<BTreeSet<Name>> = services
            .chunks(per_chunk)
            .map(|chunk| {
                let mut set: BTreeSet<Name> = chunk
                    .iter()
                    .map(|s| Name::parse(s))
                    .collect::<Result<_, _>>()
                    .map_err(|what| StoreError::Corrupt { what })?;
                set.extend(loose.iter().cloned());
                Ok(set)
            })
            .collect::<Result<_>>()?;
        let mut derive_chunk = |i: usize, events: EventSet| -> Result<()> {
            let t = Instant::now();
            let facts = derive(&events, config);
            staging.add(&events, &facts, repos)?;
            derive_s += t.elapsed().as_secs_f64();
            progress(((i + 1) * per_chunk).min(services.len()), services.len());
            Ok(())
        };
        match bulk {
            // Reading a chunk's history and deriving the one before it
            // take the two cores: a second connection reads the committed
            // history while this one stages (docs/performance.md, issue
            // 23's thirteenth step). One chunk waits at most, so memory
            // holds two.
            true => {
                let reader = self.bulk_reader()?;
                std::thread::scope(|scope| -> Result<()> {
                    let (send, receive) = std::sync::mpsc::sync_channel::<EventSet>(0);
                    let loader = scope.spawn(move || -> Result<f64> {
                        let mut load_s = 0.0;
                        for set in &chunks {
                            let t = Instant::now();
                            let events = reader.load_events(Some(set), Fields::ForDeriving)?;
                            load_s += t.elapsed().as_secs_f64();
                            if send.send(events).is_err() {
                                break; // staging failed: its error is reported
                            }
                        }
                        Ok(load_s)
                    });
                    let staged = receive
                        .into_iter()
                        .enumerate()
                        .try_for_each(|(i, events)| derive_chunk(i, events));
                    // Dropping the receiver stops the loader at its next chunk.
                    let loaded = loader
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    staged?;
                    load_s = loaded?;
                    Ok(())
                })?;
            }
            false => {
                for (i, set) in chunks.iter().enumerate() {
                    let t = Instant::now();
                    let events = self.load_events(Some(set), Fields::ForDeriving)?;
                    load_s += t.elapsed().as_secs_f64();
                    derive_chunk(i, events)?;
                }
            }
        }
        // Pull requests of repositories no service deploys still count for
        // the organisation's coding, pickup and review stages.
        let orphans: Vec<String> = match repos {
            // A partial refresh looks only at its own repositories.
            Some(set) => {
                let mut orphans = Vec::new();
                let mut check = self.conn().prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM pull_requests WHERE repo = ?1)
                     AND NOT EXISTS (SELECT 1 FROM deployments WHERE repo = ?1)",
                )?;
                for r in set {
                    if check.query_row([r], |row| row.get::<_, bool>(0))? {
                        orphans.push(r.clone());
                    }
                }
                orphans
            }
            None => {
                let deployed: BTreeSet<String> = self
                    .distinct_names("SELECT DISTINCT repo FROM deployments WHERE repo IS NOT NULL")?
                    .into_iter()
                    .collect();
                self.distinct_names("SELECT DISTINCT repo FROM pull_requests")?
                    .into_iter()
                    .filter(|r| !deployed.contains(r))
                    .collect()
            }
        };
        let orphans: Vec<&str> = orphans.iter().map(String::as_str).collect();
        // Read once, copied for each chunk of orphans.
        let loose_events = match loose.is_empty() || orphans.is_empty() {
            true => EventSet::default(),
            false => self.load_events(Some(&loose), Fields::ForDeriving)?,
        };
        for chunk in orphans.chunks(100) {
            let orphan = self.load_repos(chunk)?;
            let mut events = loose_events.clone();
            crate::add_orphan_history(&mut events, orphan.changes, orphan.pull_requests);
            let facts = derive(&events, config);
            staging.add(&events, &facts, repos)?;
        }
        let t = Instant::now();
        staging.finish(&fingerprint(config), closure.as_ref())?;
        // Tallies rest on facts: a partial refresh notes its services'
        // stale for the next report that reads tallies; a full one builds
        // them all now, so that the first report after an import finds
        // them.
        match &closure {
            Some(c) => {
                let tx = self.conn.transaction()?;
                Self::tallies_stale(&tx, &c.services, &c.repos)?;
                tx.commit()?;
            }
            None => self.build_tallies(config)?,
        }
        if bulk {
            self.conn().execute_batch(&format!(
                "PRAGMA temp_store = MEMORY; PRAGMA main.cache_size = {cache_size};"
            ))?;
            release_free_memory();
        }
        let write_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        // After a bulk write the WAL can hold gigabytes, and readers look
        // every page up in it: fold it into the database. A small WAL is
        // left to SQLite's own checkpoints (copying it costs more than
        // reading through it).
        let wal = std::fs::metadata(format!("{}-wal", self.path().display()))
            .map(|m| m.len())
            .unwrap_or(0);
        if closure.is_none() && wal > LARGE_WAL_BYTES {
            self.conn()
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        }
        let checkpoint_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        // Statistics change with bulk work, not with a few services.
        if closure.is_none() {
            self.conn().execute_batch("PRAGMA optimize")?;
        }
        let optimize_s = t.elapsed().as_secs_f64();
        tracing::info!(
            load_s,
            derive_s,
            write_s,
            checkpoint_s,
            optimize_s,
            services = services.len(),
            partial = closure.is_some(),
            total_s = started.elapsed().as_secs_f64(),
            "facts refreshed"
        );
        Ok(())
    }

    pub(super) fn any_stale(&self) -> Result<bool> {
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM stale_facts) OR EXISTS (SELECT 1 FROM run_days_stale)",
            [],
            |r| r.get(0),
        )?)
    }

    /// What must be re-derived for a report over `scope` (`None`: all of
    /// it) to be current; `None`: everything (see `closure::stale_closure`).
    pub(super) fn stale_closure(
        &self,
        config: &EngineConfig,
        scope: Option<&BTreeSet<Name>>,
    ) -> Result<Option<Closure>> {
        closure::stale_closure(&mut Reads(self.conn()), config, scope)
    }

    pub(super) fn distinct_names(&self, sql: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What a report over these services (`None`: the organisation) and
    /// this window needs, from kept facts, once the facts it reads are
    /// current: deployments from the window's start on (and rollbacks that
    /// name what they roll back, whenever they were), the incidents that
    /// can matter, pull requests merged in the window, its CI runs.
    /// Deployments and pull requests carry only what reports read.
    pub(super) fn read_window(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        first_end: Timestamp,
        config: &EngineConfig,
    ) -> Result<ReportInput> {
        self.refresh_for(services, config)?;
        let every_day = KeptCuts::every_day();
        self.window_input(
            services,
            window,
            (first_end, &every_day),
            config,
            Reading::Rows,
        )
    }

    /// Brings what a report over these services reads up to date.
    pub(super) fn refresh_for(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        config: &EngineConfig,
    ) -> Result<()> {
        // Only what this scope reads must be current.
        self.refresh_run_days()?;
        match self.stale_closure(config, services)? {
            Some(c) if c.is_empty() => {}
            None if self.facts_are_fresh(config)? => {}
            closure => self.refresh_closure(config, closure, &|_, _| {})?,
        }
        Ok(())
    }

    /// [`Self::read_window`] once current, read as `reading` says.
    pub(super) fn window_input(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        (first_end, cuts): (Timestamp, &KeptCuts),
        config: &EngineConfig,
        reading: Reading,
    ) -> Result<ReportInput> {
        // Reports read ranges of a file that can be gigabytes; a map saves
        // a system call per page and only counts the pages read. Building
        // tallies reads all of it: mapped, the whole file would count as
        // this process's memory.
        let mmap = match reading {
            Reading::ForTallies => 0,
            _ => super::REPORT_MMAP_BYTES,
        };
        self.conn().pragma_update(None, "mmap_size", mmap)?;
        let for_report = reading != Reading::ForTallies;
        let mut names = Names::default();
        let scope_args: Vec<Value> = services
            .map(|s| s.iter().map(|n| Value::from(n.to_string())).collect())
            .unwrap_or_default();
        let (from, to) = (window.from.micros(), window.to.micros());
        // What `window_deployments` reads of the scope's own by time.
        let loaded_from = from - config.link_window_micros;
        let (deployed_repos, repos) = scope_repos(self.conn(), services, &scope_args, &mut names)?;
        // A few services' reads take less than opening a second
        // connection (its schema parsed again, its memory map made and
        // unmapped): they are read here, one after the other.
        let beside = match !for_report || services.is_some_and(|s| s.len() <= SERVICES_PER_CHUNK) {
            true => None,
            false => Some(self.open_reader()?),
        };
        std::thread::scope(|threads| {
            let (args, repos) = (&scope_args, repos.as_deref());
            let reads = beside.map(|reader| {
                threads.spawn(move || {
                    window_reads_beside_deployments(
                        &reader,
                        services,
                        args,
                        repos,
                        (from, to),
                        loaded_from,
                        (reading, cuts),
                    )
                })
            });
            // The two threads take about as long: deployments and runs
            // here, pull requests and incidents there (with kept tallies:
            // the deployments' here, the pull requests' there).
            let mut input = match reading {
                Reading::Kept => {
                    let ends = (first_end, cuts);
                    self.kept_input(services, &scope_args, (from, to), ends, &mut names)?
                }
                Reading::Rows | Reading::ForTallies => self.window_deployments(
                    services,
                    &scope_args,
                    config,
                    (from, first_end.micros()),
                    &mut names,
                )?,
            };
            if for_report {
                input.pipeline_runs =
                    crate::sqlite::runs::window_runs(self.conn(), &mut names, repos, (from, to))?;
            }
            let reads = match reads {
                Some(reads) => reads
                    .join()
                    .map_err(|_| corrupt("the pull-request reader stopped unexpectedly"))??,
                None => window_reads_beside_deployments(
                    self.conn(),
                    services,
                    args,
                    repos,
                    (from, to),
                    loaded_from,
                    (reading, cuts),
                )?,
            };
            input.incidents = reads.incidents;
            input.sha_links = reads.sha_links;
            input.pull_requests = reads.pull_requests;
            input.pull_request_facts = reads.pull_request_facts;
            input.change_days = reads.change_days;
            input.deployed_repos = deployed_repos;
            if let (Some(k), Some(read)) = (&mut input.kept, reads.kept) {
                k.linked_incidents = read.linked_incidents;
                k.pull_requests = read.pull_requests;
            }
            input.merge_rollouts(config);
            if for_report {
                self.add_arrivals(services, window, &mut input, &mut names)?;
            }
            Ok(input)
        })
    }

    /// hygiene.md F1 and F3: events of the window dated after their
    /// arrival, and each receiver's delivery minutes from 30 days before.
    fn add_arrivals(
        &self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        input: &mut ReportInput,
        names: &mut Names,
    ) -> Result<()> {
        // A scope's own: its services (an incident of several, always),
        // or its repositories.
        let mut args: Vec<Value> = vec![window.from.micros().into(), window.to.micros().into()];
        let mut clause = String::new();
        if let Some(services) = services {
            let repos: BTreeSet<String> = input
                .deployed_repos
                .iter()
                .map(|(_, r)| r.to_string())
                .collect();
            clause = format!(
                "AND (services IN ({}) OR instr(services, char(10)) > 0 OR repo IN ({}))",
                placeholders(services.len()),
                placeholders(repos.len())
            );
            args.extend(services.iter().map(|s| Value::from(s.to_string())));
            args.extend(repos.into_iter().map(Value::from));
        }
        let mut stmt = self.conn().prepare(&format!(
            "SELECT services, repo, received_at FROM future_events WHERE received_at >= ? AND received_at < ? {clause}"
        ))?;
        let mut rows = stmt.query(params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            input.future_events.push(Arrival {
                services: r
                    .get_ref(0)?
                    .as_str()?
                    .split('\n')
                    .filter(|s| !s.is_empty())
                    .map(|s| names.get(s))
                    .collect::<Result<_, _>>()?,
                repo: r
                    .get_ref(1)?
                    .as_str_or_null()?
                    .map(|s| names.get(s))
                    .transpose()?,
                received_at: time(r.get(2)?),
            });
        }
        // hygiene.md F5: flag changes touching the window.
        input.set_flag_changes(self.load_annotations(names)?, window);
        let minute = 60 * MICROS_PER_SECOND;
        let since = (window.from.micros() - crate::SILENCE_LOOK_BACK_MICROS).div_euclid(minute);
        let mut stmt = self.conn().prepare(
            "SELECT receiver, minute FROM deliveries WHERE minute >= ?1 AND minute < ?2 ORDER BY receiver, minute",
        )?;
        let mut rows = stmt.query([since, window.to.micros().div_euclid(minute) + 1])?;
        while let Some(r) = rows.next()? {
            let receiver = r.get_ref(0)?.as_str()?;
            let at = Timestamp::from_micros(r.get::<_, i64>(1)? * minute);
            input.add_delivery(receiver, at);
        }
        Ok(())
    }

    fn window_deployments(
        &self,
        services: Option<&BTreeSet<Name>>,
        scope_args: &[Value],
        config: &EngineConfig,
        (window_from, first_end): (i64, i64),
        names: &mut Names,
    ) -> Result<ReportInput> {
        let from = window_from - config.link_window_micros;
        let in_scope = |column: &str| match services {
            Some(_) => format!("AND {column} IN ({})", placeholders(scope_args.len())),
            None => String::new(),
        };
        let mut input = ReportInput::default();

        // Deployments from the window's start on (less the link window: an
        // incident early in it may be inferred to one before it), earlier
        // rollbacks that name what they roll back (they may name one in the
        // window), and, of any service, every deployment an incident of the
        // window may be linked to (hygiene.md: is an incident linked?): the
        // ones incidents name or were linked to by sha, and those of an
        // incident's own service within the link window before it.
        let link_window = config.link_window_micros;
        // Each its own query: a disjunction would scan the whole window.
        // Only incidents of the window ask (hygiene.md: unlinked
        // incidents); older links are to deployments before it.
        // A scope's report asks only of incidents that can be its own (of
        // its services, or of several): a service's report decoded some
        // ten thousand other services' deployments for nothing.
        // Written as a disjunction of whole conditions, each of which an
        // index answers (`incidents_of_service`, `incidents_of_several`).
        let of_window = |alias: &str| match services {
            Some(_) => format!(
                "(({alias}service IN ({}) AND {alias}started_at >= {window_from}) OR ({alias}services != '' AND {alias}started_at >= {window_from}))",
                placeholders(scope_args.len())
            ),
            // The organisation reads a tenth of all incidents: a scan
            // beats an index's lookup of each (`+` keeps it off).
            None => format!("+{alias}started_at >= {window_from}"),
        };
        let named = format!(
            "deployment IN (SELECT caused_by FROM incidents WHERE caused_by IS NOT NULL AND {})",
            of_window("")
        );
        let by_sha = format!(
            "SELECT deployment FROM incident_links WHERE incident IN (SELECT id FROM incidents WHERE {})",
            of_window("")
        );
        let linked_by_sha = format!("deployment IN ({by_sha})");
        let rollout_by_sha = format!("rollout IS NOT NULL AND rollout IN ({by_sha})");
        let inferable = format!(
            "deployment IN (SELECT w.deployment FROM incidents i JOIN deployment_window w
                 ON w.service = i.service AND w.finished_at <= i.started_at AND w.finished_at >= i.started_at - {link_window}
                 WHERE ({}) {})",
            of_window("i."),
            // The organisation's first condition loaded the rest.
            match services {
                None => format!("AND w.finished_at < {from}"),
                Some(_) => String::new(),
            }
        );
        let in_scope_names: Option<BTreeSet<&str>> =
            services.map(|s| s.iter().map(Name::as_str).collect());
        let mut linked: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (condition, scoped) in [
            ("finished_at >= ?", true),
            ("rollback_of IS NOT NULL AND finished_at < ?", true),
            (named.as_str(), false),
            (linked_by_sha.as_str(), false),
            (rollout_by_sha.as_str(), false),
            (inferable.as_str(), false),
        ] {
            let sql = format!(
                "SELECT {WINDOW_COLUMNS} FROM deployment_window WHERE ({condition}) {}",
                match (scoped, services) {
                    (true, _) => in_scope("service"),
                    // The organisation's first condition loaded every
                    // deployment from `from` on: only older ones are new.
                    (false, None) => format!("AND finished_at < {from}"),
                    (false, Some(_)) => String::new(),
                }
            );
            let mut stmt = self.conn().prepare(&sql)?;
            let args: Vec<Value> = match scoped {
                true => std::iter::once(Value::from(from))
                    .chain(scope_args.iter().cloned())
                    .collect(),
                false => scope_args.to_vec(),
            };
            let mut rows = stmt.query(params_from_iter(args))?;
            while let Some(r) = rows.next()? {
                // Skip what the first two conditions loaded already.
                if !scoped {
                    let service = r.get_ref(2)?.as_str()?;
                    let finished: i64 = r.get(0)?;
                    let rollback = r.get_ref(6)?.as_str_or_null()?.is_some();
                    if in_scope_names.as_ref().is_none_or(|s| s.contains(service))
                        && (finished >= from || rollback)
                    {
                        continue;
                    }
                    if !linked.insert(r.get_ref(1)?.as_str()?.to_string()) {
                        continue;
                    }
                }
                let (d, facts) = window_row(r, names)?;
                input.deployment_facts.push(facts);
                input.deployments.push(d);
            }
        }
        // Every member of a rollout any of these belong to: the engine
        // merges them into one (hygiene.md).
        let (rollouts, members) = input.rollouts_begun();
        let ids: Vec<&str> = rollouts
            .iter()
            .map(|(_, r)| r.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {WINDOW_COLUMNS} FROM deployment_window WHERE rollout IS NOT NULL AND rollout IN ({})",
                placeholders(chunk.len())
            );
            let mut stmt = self.conn().prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(chunk.iter()))?;
            while let Some(r) = rows.next()? {
                let key = (
                    r.get_ref(2)?.as_str()?.to_string(),
                    r.get_ref(12)?.as_str()?.to_string(),
                );
                if !rollouts.contains(&key) || members.contains(r.get_ref(1)?.as_str()?) {
                    continue;
                }
                let (d, facts) = window_row(r, names)?;
                input.deployment_facts.push(facts);
                input.deployments.push(d);
            }
        }

        // The 90 days before the window by time alone (hygiene.md's silent
        // services look back that far from a trend bucket's end): half as
        // many rows again as the window's, which no other figure reads.
        let sql = format!(
            "SELECT deployment, service, environment, finished_at, status, rollout FROM deployment_window
              WHERE finished_at >= ? AND finished_at < ? {}",
            in_scope("service")
        );
        let mut earlier = crate::EarlierDeployments::new(config, &input, time(from));
        let mut stmt = self.conn().prepare(&sql)?;
        let args = [
            Value::from(first_end - crate::LOOK_BACK_MICROS),
            Value::from(from),
        ]
        .into_iter()
        .chain(scope_args.iter().cloned());
        let mut rows = stmt.query(params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            earlier.add(
                names,
                (
                    r.get_ref(0)?.as_str()?,
                    r.get_ref(1)?.as_str()?,
                    r.get_ref(2)?.as_str()?,
                    r.get(3)?,
                    r.get_ref(4)?.as_str()? == "success",
                    r.get_ref(5)?.as_str_or_null()?,
                ),
            )?;
        }
        drop(rows);
        drop(stmt);
        input.earlier_deployments = earlier.finish(names)?;

        Ok(input)
    }
}

/// What a report reads of a window row.
const WINDOW_COLUMNS: &str = "finished_at, deployment, service, environment, status, kind, rollback_of, rule, sha_known, shipped, started_at, automated, rollout";

/// A window row (`WINDOW_COLUMNS`) as the deployment a report reads and
/// its facts.
fn window_row(
    r: &rusqlite::Row,
    names: &mut Names,
) -> Result<(Deployment, Option<DeploymentFacts>)> {
    let d = Deployment {
        id: id(r.get_ref(1)?.as_str()?)?,
        service: names.get(r.get_ref(2)?.as_str()?)?,
        environment: names.get(r.get_ref(3)?.as_str()?)?,
        status: enum_value(&DeploymentStatus::ALL, r.get_ref(4)?.as_str()?)?,
        started_at: r.get::<_, Option<i64>>(10)?.map(time),
        finished_at: time(r.get(0)?),
        repo: None,
        sha: None,
        changes: None,
        kind: opt_enum(&DeploymentKind::ALL, r.get_ref(5)?.as_str_or_null()?)?,
        rollback_of: r.get_ref(6)?.as_str_or_null()?.map(id).transpose()?,
        automated: r.get(11)?,
        rollout: r.get_ref(12)?.as_str_or_null()?.map(id).transpose()?,
    };
    let facts = match r.get::<_, Option<u8>>(7)? {
        Some(rule) => Some(DeploymentFacts {
            rule: ShipRule::from_code(rule).ok_or_else(|| corrupt("a shipping rule"))?,
            sha_known: r.get(8)?,
            shipped: decode_times(r.get_ref(9)?.as_blob()?)?,
        }),
        None => None,
    };
    Ok((d, facts))
}

type DeployedRepos = foldhash::HashSet<(Name, Name)>;

/// The repositories a scope deploys, as pairs for the engine and as
/// values to bind (`None` for the organisation, which reads every
/// repository: no list to bind).
fn scope_repos(
    conn: &rusqlite::Connection,
    services: Option<&BTreeSet<Name>>,
    scope_args: &[Value],
    names: &mut Names,
) -> Result<(DeployedRepos, Option<Vec<Value>>)> {
    let in_scope = match services {
        Some(_) => format!("AND service IN ({})", placeholders(scope_args.len())),
        None => String::new(),
    };
    let sql = format!(
        "SELECT service, repo FROM service_repos WHERE 1 {in_scope}
         UNION SELECT service, repo FROM retained_deployed_repos WHERE 1 {in_scope}"
    );
    let mut pairs = DeployedRepos::default();
    let mut repos: Vec<Value> = Vec::new();
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(scope_args.iter().chain(scope_args)))?;
    while let Some(r) = rows.next()? {
        let repo = names.get(r.get_ref(1)?.as_str()?)?;
        repos.push(Value::from(repo.to_string()));
        pairs.insert((names.get(r.get_ref(0)?.as_str()?)?, repo));
    }
    Ok((pairs, services.map(|_| repos)))
}

/// The pull requests merged in `(from, to)` of these repositories (`None`:
/// every one), with their facts: what a report reads of each.
pub(super) fn window_pull_requests(
    conn: &rusqlite::Connection,
    repos: Option<&[Value]>,
    (from, to): (i64, i64),
    names: &mut Names,
) -> Result<(Vec<PullRequest>, Vec<Option<PullRequestFacts>>)> {
    let mut out = ReportInput::default();
    let in_repos = match repos {
        Some(r) => format!("AND repo IN ({})", placeholders(r.len())),
        None => String::new(),
    };
    let repos = repos.unwrap_or_default();
    let args: Vec<Value> = [Value::from(from), Value::from(to)]
        .into_iter()
        .chain(repos.iter().cloned())
        .collect();
    let where_merged = format!("WHERE merged_at >= ? AND merged_at < ? {in_repos}");
    // Counted first (by index, a few ms): an organisation's window holds
    // some hundred thousand, and growing the vectors row by row copied
    // and faulted in each of them again.
    let count: i64 = conn.query_row(
        &format!("SELECT count(*) FROM pull_request_window {where_merged}"),
        params_from_iter(&args),
        |r| r.get(0),
    )?;
    let count = usize::try_from(count).unwrap_or(0);
    out.pull_requests.reserve_exact(count);
    out.pull_request_facts.reserve_exact(count);
    let sql = format!(
        "SELECT merged_at, pull_request, repo, opened_at, first_review_at, first_commit_at, deploys, size, review_kept
         FROM pull_request_window {where_merged}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(&args))?;
    while let Some(r) = rows.next()? {
        // What a report reads of a pull request; the rest stays empty.
        let mut pr = PullRequest::opened(
            id(r.get_ref(1)?.as_str()?)?,
            names.get(r.get_ref(2)?.as_str()?)?,
            time(r.get(3)?),
        );
        pr.first_review_at = r.get::<_, Option<i64>>(4)?.map(time);
        pr.merged_at = Some(time(r.get(0)?));
        crate::set_pull_request_size(&mut pr, r.get(7)?);
        pr.review_kept = r.get(8)?;
        let first_commit_at = r.get::<_, Option<i64>>(5)?.map(time);
        let first_deploys = decode_deploys(r.get_ref(6)?.as_blob()?, names)?;
        let facts = PullRequestFacts {
            first_commit_at,
            first_deploys,
        };
        out.pull_request_facts.push(Some(facts));
        out.pull_requests.push(pr);
    }
    Ok((out.pull_requests, out.pull_request_facts))
}

/// What a report reads beside the deployments and runs: the pull requests
/// merged in the window, of the scope's repositories, with their facts;
/// the incidents and their sha links; the days with changes. Runs on its
/// own read-only connection, beside the deployment scan: the two are
/// independent and the machine has two cores.
fn window_reads_beside_deployments(
    conn: &rusqlite::Connection,
    services: Option<&BTreeSet<Name>>,
    scope_args: &[Value],
    repos: Option<&[Value]>,
    (from, to): (i64, i64),
    loaded_from: i64,
    (reading, cuts): (Reading, &KeptCuts),
) -> Result<ReportInput> {
    let mut names = Names::default();
    let mut out = ReportInput::default();
    // With kept tallies the organisation's pull requests are tallies too.
    let kept = reading == Reading::Kept;
    if reading != Reading::ForTallies && !(kept && services.is_none()) {
        (out.pull_requests, out.pull_request_facts) =
            window_pull_requests(conn, repos, (from, to), &mut names)?;
    }
    // Incidents: for a scope, those affecting it (or naming several
    // services, which is rare) and those blaming one of its deployments.
    out.incidents = match services {
        // From kept tallies (links and recoveries already counted), the
        // organisation's report needs only the incidents its figures read:
        // started or resolved in the window, or still open (metrics.md's
        // open_incidents) — a tenth of all of them over two years.
        None if kept => crate::sqlite::read_incidents(
            conn,
            &mut names,
            "WHERE started_at >= ?1 OR resolved_at IS NULL OR resolved_at >= ?1",
            [from],
        )?,
        None => crate::sqlite::read_incidents(conn, &mut names, "", [])?,
        Some(_) => {
            let list = placeholders(scope_args.len());
            // One index for each way an incident can be the scope's (a
            // disjunction scanned every incident ever stored). Of those
            // blaming its deployments, only the ones blaming a deployment
            // the report reads can link: one that finished before
            // `loaded_from` is in no figure (and looking up each of a
            // service's every deployment took most of the read).
            let clause = format!(
                "WHERE id IN (SELECT id FROM incidents WHERE service IN ({list})
                   UNION ALL SELECT id FROM incidents WHERE services != ''
                   UNION ALL SELECT id FROM incidents WHERE caused_by IN (SELECT deployment FROM deployment_window WHERE service IN ({list}) AND finished_at >= ?))"
            );
            let since = Value::from(loaded_from);
            let args = scope_args
                .iter()
                .chain(scope_args.iter())
                .chain(std::iter::once(&since));
            crate::sqlite::read_incidents(conn, &mut names, &clause, params_from_iter(args))?
        }
    };
    let mut stmt =
        conn.prepare("SELECT incident, service, finished_at, deployment FROM incident_links")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        out.sha_links.push(FirstDeploy {
            subject: id(r.get_ref(0)?.as_str()?)?,
            service: names.get(r.get_ref(1)?.as_str()?)?,
            finished_at: time(r.get(2)?),
            deployment: id(r.get_ref(3)?.as_str()?)?,
        });
    }
    drop(rows);
    drop(stmt);

    out.change_days = change_days(conn, repos, (from, to), &mut names)?;
    if kept {
        out.kept = Some(KeptDays {
            linked_incidents: crate::sqlite::kept::linked(conn, &out.incidents)?,
            pull_requests: match services {
                None => Some(crate::sqlite::kept::kept_pull_requests(
                    conn,
                    (from, to),
                    cuts,
                    &mut names,
                )?),
                Some(_) => None,
            },
            ..KeptDays::default()
        });
    }
    Ok(out)
}

/// The days these repositories (`None`: every one) had changes in
/// `(from, to)` (hygiene.md F7), from their packed form.
fn change_days(
    conn: &rusqlite::Connection,
    repos: Option<&[Value]>,
    (from, to): (i64, i64),
    names: &mut Names,
) -> Result<Vec<(Name, i64)>> {
    let in_repos = match repos {
        Some(r) => format!("AND repo IN ({})", placeholders(r.len())),
        None => String::new(),
    };
    let repos = repos.unwrap_or_default();
    let days = (from.div_euclid(MICROS_PER_DAY))..=(to.div_euclid(MICROS_PER_DAY));
    let sql = format!(
        "SELECT repo, block, bits FROM change_day_bits WHERE block >= ? AND block <= ? {in_repos}"
    );
    let blocks = [days.start(), days.end()].map(|d| Value::from(d.div_euclid(64)));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(blocks.iter().chain(repos)))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let repo = names.get(r.get_ref(0)?.as_str()?)?;
        let (block, bits): (i64, i64) = (r.get(1)?, r.get(2)?);
        let first = (block.checked_mul(64))
            .filter(|f| f.checked_add(63).is_some())
            .ok_or_else(|| corrupt("a block of change_day_bits"))?;
        let mut bits = bits as u64;
        while bits != 0 {
            let day = first + i64::from(bits.trailing_zeros());
            bits &= bits - 1;
            if days.contains(&day) {
                out.push((repo.clone(), day));
            }
        }
    }
    Ok(out)
}

/// A closure's reads on SQLite.
struct Reads<'c>(&'c rusqlite::Connection);

impl Reads<'_> {
    fn names(&self, sql: &str, args: &[&String]) -> Result<BTreeSet<String>> {
        let mut stmt = self.0.prepare(sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl StaleReads for Reads<'_> {
    fn marks(&mut self) -> Result<Marks> {
        let derived_with = self
            .0
            .query_row("SELECT value FROM meta WHERE key = 'facts'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let stale = |kind: &str| {
            self.names(
                "SELECT name FROM stale_facts WHERE kind = ?1",
                &[&kind.to_string()],
            )
        };
        Ok(Marks {
            derived_with,
            services: stale("service")?,
            repos: stale("repo")?,
        })
    }

    fn loose_services(&mut self) -> Result<BTreeSet<String>> {
        self.names(closure::LOOSE_SERVICES, &[])
    }

    fn names_by(
        &mut self,
        want: Column,
        by: Column,
        values: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>> {
        let (want, by) = (want.name(), by.name());
        let mut out = BTreeSet::new();
        let values: Vec<&String> = values.iter().collect();
        for chunk in values.chunks(500) {
            out.extend(self.names(
                &format!(
                    "SELECT DISTINCT {want} FROM deployments WHERE {by} IN ({}) AND {want} IS NOT NULL",
                    placeholders(chunk.len())
                ),
                chunk,
            )?);
        }
        Ok(out)
    }

    fn blamed_services(&mut self, scope: &BTreeSet<String>) -> Result<BTreeSet<String>> {
        let scope: Vec<&String> = scope.iter().collect();
        let mut out = BTreeSet::new();
        for chunk in scope.chunks(500) {
            out.extend(self.names(
                &format!(
                    "SELECT DISTINCT d.service FROM incidents i JOIN deployments d
                       ON d.id = i.caused_by OR (d.rollout IS NOT NULL AND d.rollout = i.caused_by)
                     WHERE i.caused_by IS NOT NULL AND (i.service IN ({}) OR i.services != '')",
                    placeholders(chunk.len())
                ),
                chunk,
            )?);
        }
        Ok(out)
    }
}

/// Hands the heap's free pages back to the system. A bulk import leaves
/// hundreds of megabytes free but resident (the page cache it shrank, the
/// chunks it derived), and what the process does next — a report reading
/// on two threads, so from two of glibc's arenas — grew past them: the
/// import and reports in one process peaked at 674 MiB, and at 643 MiB
/// with this (one run; docs/performance.md, issue 23's fifth step).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only returns free memory to the system; it
    // takes no pointer and glibc's allocator locks its own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}
