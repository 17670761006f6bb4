//! The embedded store: one SQLite file in WAL mode.

mod facts;
pub(crate) mod governance;
mod health;
mod kept;
mod notify;
mod retention;
mod runs;
pub(crate) mod schema;

use crate::Result;
use crate::codec::*;
use crate::{Counts, DeadLetter, Store, StoreError, WriteSession};
use lantern_engine::{EngineConfig, EventSet, ReportInput, Window};
use lantern_events::*;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use std::collections::BTreeSet;
use std::path::Path;

pub struct SqliteStore {
    conn: Connection,
    path: std::path::PathBuf,
    /// A refresh re-derives only the stale services' closure when it fits
    /// one chunk of services, or holds at most this share of all services
    /// (else everything, which the bulk path does faster).
    pub(crate) partial_share: f64,
    /// While serving: keeps the background checkpoint thread alive.
    checkpointer: Option<std::sync::Arc<()>>,
}

/// The insert statements, prepared once per batch rather than looked
/// up in the statement cache once per event.
struct Inserts<'t> {
    change: rusqlite::Statement<'t>,
    pull_request: rusqlite::Statement<'t>,
    deployment: rusqlite::Statement<'t>,
    incident: rusqlite::Statement<'t>,
    annotation: rusqlite::Statement<'t>,
    sli: rusqlite::Statement<'t>,
    pipeline_run: rusqlite::Statement<'t>,
    work_item: rusqlite::Statement<'t>,
    work_state: rusqlite::Statement<'t>,
    finding: rusqlite::Statement<'t>,
    assist_usage: rusqlite::Statement<'t>,
    future_put: rusqlite::Statement<'t>,
    future_drop: rusqlite::Statement<'t>,
    /// When Lantern received the batch (every row records it).
    now: i64,
    /// Whether `future_events` may hold a row this batch replaces.
    any_future: bool,
    /// A change's parents as text, reused from row to row.
    scratch: String,
}

impl<'t> Inserts<'t> {
    fn prepare(tx: &'t rusqlite::Transaction) -> rusqlite::Result<Self> {
        Ok(Inserts {
            change: tx.prepare("INSERT OR REPLACE INTO changes VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?,
            pull_request: tx.prepare("INSERT OR REPLACE INTO pull_requests VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)")?,
            deployment: tx.prepare("INSERT OR REPLACE INTO deployments VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)")?,
            incident: tx.prepare("INSERT OR REPLACE INTO incidents VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)")?,
            annotation: tx.prepare("INSERT OR REPLACE INTO annotations VALUES (?1,?2,?3,?4,?5,?6,?7,?8)")?,
            sli: tx.prepare("INSERT OR REPLACE INTO slis VALUES (?1,?2,?3,?4,?5,?6,?7)")?,
            pipeline_run: tx.prepare(
                // An upsert, not a replace: SQLite fires no delete trigger
                // for the row a replace removes, and the run's old day
                // must be summed again (schema 15).
                "INSERT INTO pipeline_runs VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)
                 ON CONFLICT (id) DO UPDATE SET repo = ?2, sha = ?3, pipeline = ?4,
                 started_at = ?5, finished_at = ?6, status = ?7, attempt = ?8, received_at = ?9",
            )?,
            work_item: tx.prepare("INSERT OR REPLACE INTO work_items (id, team, service, kind, created_at, received_at) VALUES (?1,?2,?3,?4,?5,?6)")?,
            work_state: tx.prepare("INSERT OR REPLACE INTO work_states VALUES (?1,?2,?3,?4,?5)")?,
            finding: tx.prepare("INSERT OR REPLACE INTO findings VALUES (?1,?2,?3,?4,?5,?6,?7)")?,
            assist_usage: tx.prepare("INSERT OR REPLACE INTO assist_usage VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?,
            future_put: tx.prepare("INSERT OR REPLACE INTO future_events VALUES (?1,?2,?3,?4,?5)")?,
            future_drop: tx.prepare("DELETE FROM future_events WHERE kind = ?1 AND id = ?2")?,
            now: Timestamp::now().micros(),
            any_future: tx.query_row("SELECT EXISTS (SELECT 1 FROM future_events)", [], |r| r.get(0))?,
            scratch: String::new(),
        })
    }
}

struct SqliteSession<'c> {
    tx: rusqlite::Transaction<'c>,
}

impl WriteSession for SqliteSession<'_> {
    fn write(&mut self, events: &[Event]) -> Result<()> {
        SqliteStore::write_events(&self.tx, events)
    }

    fn commit(self: Box<Self>, source_states: &[(&str, &str)]) -> Result<()> {
        for (key, state) in source_states {
            self.tx.execute(
                "INSERT OR REPLACE INTO source_state (key, value) VALUES (?1, ?2)",
                [key, state],
            )?;
        }
        self.tx.commit()?;
        Ok(())
    }
}

/// How much of the database file reports map into memory. Pages of a map
/// are read without a system call and a copy; SQLite caps the map when it
/// is built (`SQLITE_MAX_MMAP_SIZE`, raised in `.cargo/config.toml`: by
/// default 2 GiB, and a large installation's file is larger). Address
/// space only; the pages read count as memory.
pub(crate) const REPORT_MMAP_BYTES: i64 = 256 << 30;

/// The page size of a new database file. Existing files keep theirs.
pub(crate) const PAGE_BYTES: i64 = 16 << 10;

/// The page cache of a store's connection (KiB) while a bulk import
/// writes: it inserts into large indexes at random places.
pub(crate) const INGEST_CACHE_KIB: i64 = 256 << 10;

/// The page cache of a store's connection (KiB) otherwise. Reports read
/// through a memory map, not the cache; a full import-sized cache was
/// filled by any scan (the bench's counts of every table) and held for
/// the connection's life: 1.1 GiB peak for a bench re-reading a full-size
/// store (docs/performance.md, issue 23's sixth step).
pub(crate) const CACHE_KIB: i64 = 16 << 10;

/// The page cache while a bulk refresh reads the history back service by
/// service, each page once: a full cache doubled the import's peak memory
/// and made it no faster (docs/performance.md, issue 23's fifth step).
pub(crate) const REFRESH_CACHE_KIB: i64 = 32 << 10;

/// The deployment columns, in the order `read_deployment` reads them.
pub(crate) const DEPLOYMENT_COLUMNS: &str = "d.id, d.service, d.environment, d.status, d.started_at, d.finished_at, d.repo, d.sha, d.changes, d.kind, d.rollback_of, d.automated, d.rollout";

impl SqliteStore {
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// For a long-running server with a steady trickle of small writes: no
    /// request folds the WAL into the database (the commit that crosses the
    /// threshold would pay for the copy, and a report waiting behind it
    /// too). A thread with its own connection does it instead, twice a
    /// second and without the store's lock (a passive checkpoint runs
    /// beside readers and writers). It stops when the store is dropped.
    pub fn tune_for_serving(&mut self) -> Result<()> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let alive = std::sync::Arc::new(());
        let running = std::sync::Arc::downgrade(&alive);
        let path = self.path.clone();
        std::thread::Builder::new()
            .name("lantern-checkpoint".into())
            .spawn(move || {
                let Ok(conn) = Connection::open(&path) else {
                    return;
                };
                let _ = conn.busy_timeout(std::time::Duration::from_secs(1));
                loop {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    if running.upgrade().is_none() {
                        return;
                    }
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "a background checkpoint failed");
                    }
                }
            })?;
        self.checkpointer = Some(alive);
        Ok(())
    }

    /// See `partial_share`; tests set 1.0 so that every refresh after the
    /// first is partial.
    #[doc(hidden)]
    pub fn set_partial_refresh_share(&mut self, share: f64) {
        self.partial_share = share;
    }

    /// A second, read-only connection to the same file, for reading beside
    /// `conn` on another thread (WAL lets readers run side by side).
    pub(crate) fn open_reader(&self) -> Result<Connection> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "mmap_size", REPORT_MMAP_BYTES)?;
        Ok(conn)
    }

    /// A store reading the committed data through a second, read-only
    /// connection, for a bulk refresh's reads on another thread: no memory
    /// map (it would count the file as this process's memory) and the
    /// refresh's small page cache (each page is read once).
    pub(crate) fn bulk_reader(&self) -> Result<SqliteStore> {
        let conn = self.open_reader()?;
        conn.pragma_update(None, "mmap_size", 0)?;
        conn.pragma_update(None, "cache_size", -REFRESH_CACHE_KIB)?;
        Ok(SqliteStore {
            conn,
            path: self.path.clone(),
            partial_share: self.partial_share,
            checkpointer: None,
        })
    }

    /// Opens (creating if needed) the database file and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Every transaction takes the write lock when it begins (waiting
        // its turn, up to the busy timeout): a transaction that read first
        // and wrote later could not wait, SQLite would refuse it at once
        // when another process (`lantern serve`, a cron import) had
        // written meanwhile.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        // Only a new file takes it (before its first write; WAL mode keeps
        // an existing file's size). A quarter of the system calls and page
        // headers of SQLite's 4 KiB default: a full-size import took 36–40 s
        // instead of 46–47 (docs/performance.md, issue 23's fourteenth step).
        conn.pragma_update(None, "page_size", PAGE_BYTES)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // WAL + NORMAL: a commit survives a process crash; only a power loss
        // can take the last transactions back, never corrupt the file.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Bulk imports raise it (`bulk_writes`); reports turn on a memory
        // map (see facts.rs).
        conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
        // Checkpoint every 65 536 pages of WAL (1 GiB of 16 KiB pages)
        // rather than 1 000: bulk imports write gigabytes, and each
        // checkpoint syncs the database file; an import of a few hundred
        // thousand commits then commits without one. Readers go through a
        // WAL this size without harm: its index holds one entry per page,
        // and a refresh folds the WAL into the file (see facts.rs).
        conn.pragma_update(None, "wal_autocheckpoint", 65_536)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Closing need not fold the WAL into the file: the next open reads
        // through it, and a large import would otherwise pay for a copy of
        // everything it wrote on the way out.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
        schema::migrate(&mut conn, &path.display().to_string())?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            partial_share: 0.5,
            checkpointer: None,
        })
    }

    pub(crate) fn write_events(tx: &rusqlite::Transaction, events: &[Event]) -> Result<()> {
        // Marks read the versions being replaced: before the inserts.
        facts::mark_stale(tx, events)?;
        let mut inserts = Inserts::prepare(tx)?;
        for e in events {
            Self::write_event(&mut inserts, e)?;
        }
        Self::write_change_days(tx, events)?;
        Self::write_flow_summaries(tx, events)?;
        runs::note_stale_days(tx, events)
    }

    /// The summaries of the work items the batch touched (flow.md).
    fn write_flow_summaries(tx: &rusqlite::Transaction, events: &[Event]) -> Result<()> {
        let touched = crate::flow::touched_items(events);
        if touched.is_empty() {
            return Ok(());
        }
        let sql = crate::flow::SUMMARY_UPDATE
            .replace("{where}", "id = ?1")
            .replace("{bytes}", "");
        let mut update = tx.prepare_cached(&sql)?;
        for id in touched {
            update.execute([id])?;
        }
        Ok(())
    }

    /// hygiene.md F7: the days each repository had changes, kept apart so
    /// that a report reads them without scanning the changes — and packed
    /// 64 to a row (`change_day_bits`, what reports read).
    fn write_change_days(tx: &rusqlite::Transaction, events: &[Event]) -> Result<()> {
        let mut put = tx.prepare_cached("INSERT OR IGNORE INTO change_days VALUES (?1, ?2)")?;
        let mut bit = tx.prepare_cached(
            "INSERT INTO change_day_bits VALUES (?1, ?2, ?3)
             ON CONFLICT (repo, block) DO UPDATE SET bits = bits | excluded.bits",
        )?;
        for (repo, day) in crate::change_days(events) {
            if put.execute(params![repo, day])? > 0 {
                bit.execute(params![
                    repo,
                    day.div_euclid(64),
                    1i64 << day.rem_euclid(64)
                ])?;
            }
        }
        Ok(())
    }

    fn write_event(ins: &mut Inserts, event: &Event) -> rusqlite::Result<()> {
        // hygiene.md F3: an event dated well after its arrival is kept, and
        // noted, so reports can count it without scanning every table.
        let kind = event.kind().as_str();
        if crate::is_future(event, ins.now) {
            let (services, repo) = event.scope_keys();
            let services: Vec<&str> = services.iter().map(|s| s.as_str()).collect();
            ins.future_put.execute(params![
                kind,
                event.id().as_str(),
                services.join("\n"),
                repo.map(Name::as_str),
                ins.now
            ])?;
            ins.any_future = true;
        } else if ins.any_future {
            ins.future_drop
                .execute(params![kind, event.id().as_str()])?;
        }
        let opt_t = |t: Option<Timestamp>| t.map(Timestamp::micros);
        let opt_sha = |s: &Option<Sha>| s.as_ref().map(Sha::to_string);
        match event {
            Event::Change(c) => {
                ins.change.execute(params![
                    c.id.as_str(),
                    c.repo.as_str(),
                    c.sha.hex().as_str(),
                    shas_into(&mut ins.scratch, &c.parents),
                    c.committed_at.micros(),
                    c.authored_at.micros(),
                    c.author.as_ref().map(Pseudonym::as_stored),
                    c.pull_request.as_ref().map(EventId::as_str),
                    ins.now,
                ])?;
            }
            Event::PullRequest(p) => {
                ins.pull_request.execute(params![
                    p.id.as_str(),
                    p.repo.as_str(),
                    p.opened_at.micros(),
                    opt_t(p.first_review_at),
                    opt_t(p.approved_at),
                    opt_t(p.merged_at),
                    opt_t(p.closed_at),
                    opt_sha(&p.merge_sha),
                    opt_sha(&p.head_sha),
                    shas_to_text(&p.commits),
                    opt_t(p.first_commit_at),
                    p.additions.map(|v| v.min(i64::MAX as u64) as i64),
                    p.deletions.map(|v| v.min(i64::MAX as u64) as i64),
                    p.author.as_ref().map(Pseudonym::as_stored),
                    ins.now,
                    p.review_kept,
                ])?;
            }
            Event::Deployment(d) => {
                ins.deployment.execute(params![
                    d.id.as_str(),
                    d.service.as_str(),
                    d.environment.as_str(),
                    enum_text(&DeploymentStatus::ALL, d.status),
                    opt_t(d.started_at),
                    d.finished_at.micros(),
                    d.repo.as_ref().map(Name::as_str),
                    opt_sha(&d.sha),
                    d.changes.as_deref().map(shas_to_text),
                    d.kind.map(|k| enum_text(&DeploymentKind::ALL, k)),
                    d.rollback_of.as_ref().map(EventId::as_str),
                    d.automated,
                    d.rollout.as_ref().map(EventId::as_str),
                    ins.now,
                ])?;
            }
            Event::Incident(i) => {
                let services: Vec<&str> = i.services.iter().map(Name::as_str).collect();
                ins.incident.execute(params![
                    i.id.as_str(),
                    i.service.as_str(),
                    // Names may hold spaces but never control characters.
                    services.join("\n"),
                    i.started_at.micros(),
                    opt_t(i.detected_at),
                    opt_t(i.acknowledged_at),
                    opt_t(i.resolved_at),
                    i.severity,
                    i.cause.map(|c| enum_text(&IncidentCause::ALL, c)),
                    i.caused_by.as_ref().map(EventId::as_str),
                    opt_sha(&i.caused_by_sha),
                    i.title,
                    ins.now,
                ])?;
            }
            Event::Annotation(a) => {
                let (scope_kind, scope_name) = match &a.scope {
                    AnnotationScope::Service(s) => ("service", Some(s.as_str())),
                    AnnotationScope::Team(t) => ("team", Some(t.as_str())),
                    AnnotationScope::Org => ("org", None),
                };
                ins.annotation.execute(params![
                    a.id.as_str(),
                    scope_kind,
                    scope_name,
                    a.kind.as_str(),
                    a.from.micros(),
                    opt_t(a.to),
                    a.title,
                    ins.now,
                ])?;
            }
            Event::Sli(s) => {
                let count = |n: u64| n.min(i64::MAX as u64) as i64;
                ins.sli.execute(params![
                    s.id.as_str(),
                    s.slo.as_str(),
                    s.from.micros(),
                    s.to.micros(),
                    count(s.good),
                    count(s.total),
                    ins.now,
                ])?;
            }
            Event::PipelineRun(r) => {
                ins.pipeline_run.execute(params![
                    r.id.as_str(),
                    r.repo.as_str(),
                    r.sha.to_string(),
                    r.pipeline.as_str(),
                    r.started_at.micros(),
                    r.finished_at.micros(),
                    enum_text(&PipelineStatus::ALL, r.status),
                    r.attempt,
                    ins.now,
                ])?;
            }
            Event::WorkItem(w) => {
                ins.work_item.execute(params![
                    w.id.as_str(),
                    w.team.as_ref().map(Name::as_str),
                    w.service.as_ref().map(Name::as_str),
                    w.kind.as_str(),
                    w.created_at.micros(),
                    ins.now,
                ])?;
            }
            Event::WorkState(w) => {
                ins.work_state.execute(params![
                    w.id.as_str(),
                    w.item.as_str(),
                    w.at.micros(),
                    w.state.as_str(),
                    ins.now,
                ])?;
            }
            Event::Finding(f) => {
                ins.finding.execute(params![
                    f.id.as_str(),
                    f.repo.as_str(),
                    f.severity.as_str(),
                    f.category.as_str(),
                    f.opened_at.micros(),
                    opt_t(f.fixed_at),
                    ins.now,
                ])?;
            }
            Event::AssistUsage(a) => {
                let count = |n: u64| n.min(i64::MAX as u64) as i64;
                ins.assist_usage.execute(params![
                    a.id.as_str(),
                    a.team.as_str(),
                    a.day.micros(),
                    count(a.active_users),
                    count(a.suggestions),
                    count(a.acceptances),
                    a.lines_suggested.map(count),
                    a.lines_accepted.map(count),
                    ins.now,
                ])?;
            }
        }
        Ok(())
    }

    /// Services a scoped load must include beyond the scope itself: those
    /// sharing an incident linked by sha, because that link goes to the
    /// earliest deployment across all the incident's services.
    fn widen(&self, incidents: &[Incident], services: &BTreeSet<Name>) -> BTreeSet<Name> {
        let mut wide = services.clone();
        for inc in incidents {
            if inc.caused_by_sha.is_some() && inc.affected().any(|s| services.contains(s)) {
                wide.extend(inc.affected().cloned());
            }
        }
        wide
    }

    fn deployments_where(
        &self,
        names: &mut Names,
        filter: Option<&BTreeSet<Name>>,
    ) -> Result<Vec<Deployment>> {
        let mut sql = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d");
        let args: Vec<&str> = filter
            .map(|f| f.iter().map(Name::as_str).collect())
            .unwrap_or_default();
        if filter.is_some() {
            sql.push_str(&format!(
                " WHERE d.service IN ({})",
                placeholders(args.len())
            ));
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_deployment(r, names)?);
        }
        Ok(out)
    }

    fn changes_where(
        &self,
        names: &mut Names,
        clause: &str,
        args: &[&str],
        fields: Fields,
    ) -> Result<Vec<Change>> {
        // Deriving facts never reads who wrote a change nor a change's own
        // id: skip both columns (and millions of allocations).
        let (id_column, author) = match fields {
            Fields::All => ("id", "author"),
            Fields::ForDeriving => ("NULL", "NULL"),
        };
        let unnamed = id("-")?;
        let sql = format!(
            "SELECT {id_column}, repo, sha, parents, committed_at, authored_at, {author}, pull_request FROM changes {clause}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(Change {
                id: match r.get_ref(0)?.as_str_or_null()? {
                    Some(text) => id(text)?,
                    None => unnamed.clone(),
                },
                repo: names.get(r.get_ref(1)?.as_str()?)?,
                sha: sha(r.get_ref(2)?.as_str()?)?,
                parents: text_to_shas(r.get_ref(3)?.as_str()?)?,
                committed_at: time(r.get(4)?),
                authored_at: time(r.get(5)?),
                author: r.get::<_, Option<String>>(6)?.map(Pseudonym::from_stored),
                pull_request: r.get::<_, Option<String>>(7)?.map(|s| id(&s)).transpose()?,
            });
        }
        Ok(out)
    }

    pub(crate) fn pull_requests_where(
        &self,
        names: &mut Names,
        clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<PullRequest>> {
        let sql = format!(
            "SELECT id, repo, opened_at, first_review_at, approved_at, merged_at, closed_at, merge_sha, head_sha, commits, first_commit_at, additions, deletions, author, review_kept FROM pull_requests {clause}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(args)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let opt_t = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
                Ok(r.get::<_, Option<i64>>(i)?.map(time))
            };
            let opt_sha = |i: usize| -> Result<Option<Sha>> {
                r.get::<_, Option<String>>(i)?.map(|s| sha(&s)).transpose()
            };
            out.push(PullRequest {
                id: id(&r.get::<_, String>(0)?)?,
                repo: names.get(r.get_ref(1)?.as_str()?)?,
                opened_at: time(r.get(2)?),
                first_review_at: opt_t(3)?,
                approved_at: opt_t(4)?,
                merged_at: opt_t(5)?,
                closed_at: opt_t(6)?,
                merge_sha: opt_sha(7)?,
                head_sha: opt_sha(8)?,
                commits: text_to_shas(r.get_ref(9)?.as_str()?)?,
                first_commit_at: opt_t(10)?,
                additions: r.get::<_, Option<i64>>(11)?.map(|v| v.max(0) as u64),
                deletions: r.get::<_, Option<i64>>(12)?.map(|v| v.max(0) as u64),
                author: r.get::<_, Option<String>>(13)?.map(Pseudonym::from_stored),
                review_kept: r.get(14)?,
            });
        }
        Ok(out)
    }

    pub(crate) fn load_incidents(
        &self,
        names: &mut Names,
        clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Incident>> {
        read_incidents(&self.conn, names, clause, args)
    }

    pub(crate) fn pipeline_runs_where(
        &self,
        names: &mut Names,
        clause: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<PipelineRun>> {
        read_pipeline_runs(&self.conn, names, clause, args)
    }

    fn load_annotations(&self, names: &mut Names) -> Result<Vec<Annotation>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, scope_kind, scope_name, kind, from_at, to_at, title FROM annotations",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let scope_kind: String = r.get(1)?;
            let scope_name: Option<String> = r.get(2)?;
            let scope = match (scope_kind.as_str(), scope_name) {
                ("service", Some(n)) => AnnotationScope::Service(names.get(&n)?),
                ("team", Some(n)) => AnnotationScope::Team(names.get(&n)?),
                ("org", _) => AnnotationScope::Org,
                (k, _) => {
                    return Err(StoreError::Corrupt {
                        what: format!("annotation scope `{k}`"),
                    });
                }
            };
            out.push(Annotation {
                id: id(&r.get::<_, String>(0)?)?,
                scope,
                kind: enum_value(&AnnotationKind::ALL, &r.get::<_, String>(3)?)?,
                from: time(r.get(4)?),
                to: r.get::<_, Option<i64>>(5)?.map(time),
                title: r.get(6)?,
            });
        }
        Ok(out)
    }
}

/// Incidents chosen by `clause` (on any connection: reports read them on
/// the second one).
pub(crate) fn read_incidents(
    conn: &rusqlite::Connection,
    names: &mut Names,
    clause: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<Incident>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT id, service, services, started_at, detected_at, acknowledged_at, resolved_at, severity, cause, caused_by, caused_by_sha, title FROM incidents {clause}"
    ))?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let opt_t = |i: usize| -> rusqlite::Result<Option<Timestamp>> {
            Ok(r.get::<_, Option<i64>>(i)?.map(time))
        };
        let services_text: String = r.get(2)?;
        out.push(Incident {
            id: id(&r.get::<_, String>(0)?)?,
            service: names.get(r.get_ref(1)?.as_str()?)?,
            services: services_text
                .split('\n')
                .filter(|s| !s.is_empty())
                .map(|s| names.get(s))
                .collect::<Result<_, _>>()?,
            started_at: time(r.get(3)?),
            detected_at: opt_t(4)?,
            acknowledged_at: opt_t(5)?,
            resolved_at: opt_t(6)?,
            severity: r.get(7)?,
            cause: r
                .get::<_, Option<String>>(8)?
                .map(|c| enum_value(&IncidentCause::ALL, &c))
                .transpose()?,
            caused_by: r.get::<_, Option<String>>(9)?.map(|s| id(&s)).transpose()?,
            caused_by_sha: r
                .get::<_, Option<String>>(10)?
                .map(|s| sha(&s))
                .transpose()?,
            title: r.get(11)?,
        });
    }
    Ok(out)
}

/// Pipeline runs chosen by `clause`, on any connection.
pub(crate) fn read_pipeline_runs(
    conn: &rusqlite::Connection,
    names: &mut Names,
    clause: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<PipelineRun>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT id, repo, sha, pipeline, started_at, finished_at, status, attempt FROM pipeline_runs {clause}"
    ))?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(PipelineRun {
            id: id(r.get_ref(0)?.as_str()?)?,
            repo: names.get(r.get_ref(1)?.as_str()?)?,
            sha: sha(r.get_ref(2)?.as_str()?)?,
            pipeline: names.get(r.get_ref(3)?.as_str()?)?,
            started_at: time(r.get(4)?),
            finished_at: time(r.get(5)?),
            status: enum_value(&PipelineStatus::ALL, r.get_ref(6)?.as_str()?)?,
            attempt: r.get(7)?,
        });
    }
    Ok(out)
}

pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

pub(crate) fn read_deployment(r: &Row, names: &mut Names) -> Result<Deployment> {
    Ok(Deployment {
        id: id(&r.get::<_, String>(0)?)?,
        service: names.get(r.get_ref(1)?.as_str()?)?,
        environment: names.get(r.get_ref(2)?.as_str()?)?,
        status: enum_value(&DeploymentStatus::ALL, r.get_ref(3)?.as_str()?)?,
        started_at: r.get::<_, Option<i64>>(4)?.map(time),
        finished_at: time(r.get(5)?),
        repo: r
            .get_ref(6)?
            .as_str_or_null()?
            .map(|s| names.get(s))
            .transpose()?,
        sha: r.get_ref(7)?.as_str_or_null()?.map(sha).transpose()?,
        changes: r
            .get_ref(8)?
            .as_str_or_null()?
            .map(text_to_shas)
            .transpose()?,
        kind: opt_enum(&DeploymentKind::ALL, r.get_ref(9)?.as_str_or_null()?)?,
        rollback_of: r.get_ref(10)?.as_str_or_null()?.map(id).transpose()?,
        automated: r.get(11)?,
        rollout: r.get_ref(12)?.as_str_or_null()?.map(id).transpose()?,
    })
}

/// What a load reads of each change.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fields {
    All,
    /// What `lantern_engine::derive` reads: no author (pseudonym) and no
    /// change id, which it never looks at.
    ForDeriving,
}

impl SqliteStore {
    /// See `Store::load`; `Fields::ForDeriving` leaves out change ids and authors.
    pub(crate) fn load_events(
        &self,
        services: Option<&BTreeSet<Name>>,
        fields: Fields,
    ) -> Result<EventSet> {
        let mut names = Names::default();
        let incidents = self.load_incidents(&mut names, "", [])?;
        let annotations = self.load_annotations(&mut names)?;
        let Some(services) = services else {
            return Ok(EventSet {
                changes: self.changes_where(&mut names, "", &[], fields)?,
                pull_requests: self.pull_requests_where(&mut names, "", [])?,
                deployments: self.deployments_where(&mut names, None)?,
                incidents,
                annotations,
                pipeline_runs: self.pipeline_runs_where(&mut names, "", [])?,
                ..EventSet::default()
            });
        };
        let wide = self.widen(&incidents, services);
        let deployments = self.deployments_where(&mut names, Some(&wide))?;
        let repos: BTreeSet<&str> = deployments
            .iter()
            .filter_map(|d| d.repo.as_ref())
            .map(Name::as_str)
            .collect();
        let repo_args: Vec<&str> = repos.iter().copied().collect();
        let in_repos = format!("WHERE repo IN ({})", placeholders(repo_args.len()));
        let mut changes = self.changes_of_repos(&mut names, &repo_args, fields)?;
        // Explicit change lists without a repo name shas of any repository.
        let loose: BTreeSet<String> = deployments
            .iter()
            .filter(|d| d.repo.is_none())
            .flat_map(|d| d.changes.iter().flatten().chain(d.sha.iter()))
            .map(Sha::to_string)
            .collect();
        for chunk in loose
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .chunks(500)
        {
            let clause = format!(
                "WHERE sha IN ({}) AND repo NOT IN ({})",
                placeholders(chunk.len()),
                placeholders(repo_args.len())
            );
            let args: Vec<&str> = chunk.iter().chain(repo_args.iter()).copied().collect();
            changes.extend(self.changes_where(&mut names, &clause, &args, fields)?);
        }
        let pull_requests =
            self.pull_requests_where(&mut names, &in_repos, params_from_iter(repo_args.iter()))?;
        let pipeline_runs =
            self.pipeline_runs_where(&mut names, &in_repos, params_from_iter(repo_args.iter()))?;
        Ok(EventSet {
            changes,
            pull_requests,
            deployments,
            incidents,
            annotations,
            pipeline_runs,
            ..EventSet::default()
        })
    }

    /// Every change of these repositories: those with the default id
    /// (`repo@sha`) are one range of the primary key; the others come from
    /// the partial index `changes_named_otherwise`.
    fn changes_of_repos(
        &self,
        names: &mut Names,
        repos: &[&str],
        fields: Fields,
    ) -> Result<Vec<Change>> {
        let mut out = Vec::new();
        for repo in repos {
            // '@' + 1 = 'A': [repo@, repoA) holds exactly the ids starting with "repo@".
            let (from, to) = (format!("{repo}@"), format!("{repo}A"));
            let range = "WHERE id >= ?1 AND id < ?2 AND repo = ?3";
            out.extend(self.changes_where(names, range, &[&from, &to, repo], fields)?);
            let others =
                "WHERE repo = ?3 AND id != repo || '@' || sha AND NOT (id >= ?1 AND id < ?2)";
            out.extend(self.changes_where(names, others, &[&from, &to, repo], fields)?);
        }
        Ok(out)
    }

    /// The history and pull requests of these repositories (no deployments).
    pub(crate) fn load_repos(&self, repos: &[&str]) -> Result<EventSet> {
        let mut names = Names::default();
        let clause = format!("WHERE repo IN ({})", placeholders(repos.len()));
        Ok(EventSet {
            changes: self.changes_of_repos(&mut names, repos, Fields::ForDeriving)?,
            pull_requests: self.pull_requests_where(
                &mut names,
                &clause,
                params_from_iter(repos.iter()),
            )?,
            ..EventSet::default()
        })
    }
}

impl Store for SqliteStore {
    fn take_lease(
        &mut self,
        job: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool> {
        Ok(self.conn.execute(
            "INSERT INTO leases (job, holder, expires_at) VALUES (?1, ?2, ?4)
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3",
            params![job, holder, now.micros(), until.micros()],
        )? == 1)
    }

    fn refresh_stale_facts(&mut self, config: &EngineConfig) -> Result<()> {
        match self.stale_closure(config, None)? {
            Some(c) if c.is_empty() => {}
            None if self.facts_are_fresh(config)? => {}
            closure => self.refresh_closure(config, closure, &|_, _| {})?,
        }
        Ok(())
    }

    fn fact_versions(&self) -> Result<crate::FactVersions> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT service, version FROM fact_versions")?;
        let mut rows = stmt.query([])?;
        let mut out = crate::FactVersions::default();
        while let Some(r) = rows.next()? {
            out.add(r.get(0)?, r.get(1)?);
        }
        Ok(out)
    }

    fn kept_exposition(&self) -> Result<Vec<crate::KeptExposition>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {} FROM kept_exposition",
            crate::KEPT_EXPOSITION_COLUMNS
        ))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(crate::KeptExposition {
                service: r.get(0)?,
                generation: r.get(1)?,
                version: r.get(2)?,
                day: r.get(3)?,
                at_least: r.get(4)?,
                contributors: r.get(5)?,
                rows: r.get(6)?,
            });
        }
        Ok(out)
    }

    fn keep_exposition(&mut self, rows: &[crate::KeptExposition]) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        {
            let mut put = tx.prepare(&format!(
                "INSERT OR REPLACE INTO kept_exposition ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                crate::KEPT_EXPOSITION_COLUMNS
            ))?;
            for k in rows {
                put.execute(rusqlite::params![
                    k.service,
                    k.generation,
                    k.version,
                    k.day,
                    k.at_least,
                    k.contributors,
                    k.rows
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn facts_are_fresh(&self, config: &EngineConfig) -> Result<bool> {
        let state: Option<String> = self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = 'facts'", [], |r| {
                r.get(0)
            })
            .ok();
        Ok(match state {
            Some(s) => s == crate::touched::fingerprint(config) && !self.any_stale()?,
            // A database with no events has nothing to derive.
            None => {
                let c = self.counts()?;
                c.deployments + c.pull_requests == 0
            }
        })
    }

    fn refresh_facts(
        &mut self,
        config: &EngineConfig,
        progress: &dyn Fn(usize, usize),
    ) -> Result<()> {
        self.refresh_run_days()?;
        match self.stale_closure(config, None)? {
            Some(c) if c.is_empty() => Ok(()),
            closure => self.refresh_closure(config, closure, progress),
        }
    }

    fn findings(
        &self,
        repos: Option<&BTreeSet<Name>>,
        window: Window,
    ) -> Result<Vec<lantern_events::Finding>> {
        let mut args: Vec<rusqlite::types::Value> =
            vec![window.from.micros().into(), window.to.micros().into()];
        let in_repos = match repos {
            Some(r) => {
                args.extend(
                    r.iter()
                        .map(|n| rusqlite::types::Value::Text(n.to_string())),
                );
                format!("AND repo IN ({})", placeholders(r.len()))
            }
            None => String::new(),
        };
        let sql = crate::panels::FINDINGS
            .replace("{p1}", "?1")
            .replace("{p2}", "?2")
            .replace("{repos}", &in_repos);
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(crate::panels::finding(
                (r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?),
                (r.get_ref(2)?.as_str()?, r.get_ref(3)?.as_str()?),
                (r.get(4)?, r.get(5)?),
            )?);
        }
        Ok(out)
    }

    fn assist_usage(
        &self,
        team: &Name,
        window: Window,
    ) -> Result<Vec<lantern_events::AssistUsage>> {
        let sql = crate::panels::ASSIST_USAGE
            .replace("{p1}", "?1")
            .replace("{p2}", "?2")
            .replace("{p3}", "?3");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params![
            team.as_str(),
            window.from.micros(),
            window.to.micros()
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(crate::panels::assist_usage(
                (r.get_ref(0)?.as_str()?, r.get_ref(1)?.as_str()?),
                r.get(2)?,
                [r.get(3)?, r.get(4)?, r.get(5)?],
                [r.get(6)?, r.get(7)?],
            )?);
        }
        Ok(out)
    }

    fn flow_items(
        &self,
        scope: &lantern_engine::Scope,
        window: Option<Window>,
    ) -> Result<Vec<lantern_engine::FlowItem>> {
        let (mut clause, mut args) = crate::flow::scope_clause(scope, |n| format!("?{n}"));
        if window.is_some() {
            let n = args.len();
            clause = format!(
                "{clause} AND {}",
                crate::flow::WINDOW_CLAUSE
                    .replace("{from}", &format!("?{}", n + 1))
                    .replace("{to}", &format!("?{}", n + 2))
            );
        }
        let mut values: Vec<rusqlite::types::Value> =
            args.drain(..).map(rusqlite::types::Value::Text).collect();
        if let Some(w) = window {
            values.push(rusqlite::types::Value::Integer(w.from.micros()));
            values.push(rusqlite::types::Value::Integer(w.to.micros()));
        }
        // Ids compare as bytes (BINARY), as flow.md orders ties.
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {} FROM work_items i LEFT JOIN work_states s ON s.item = i.id
             WHERE {clause} ORDER BY i.id, s.at, s.id",
            crate::flow::COLUMNS
        ))?;
        let mut rows = stmt.query(params_from_iter(values))?;
        let mut items = crate::flow::Assembler::default();
        while let Some(r) = rows.next()? {
            let state = match r.get_ref(5)?.as_i64_or_null()? {
                Some(at) => Some((at, r.get_ref(6)?.as_str()?)),
                None => None,
            };
            items.push(crate::flow::Row {
                id: r.get_ref(0)?.as_str()?,
                team: r.get_ref(1)?.as_str_or_null()?,
                service: r.get_ref(2)?.as_str_or_null()?,
                kind: r.get_ref(3)?.as_str()?,
                created_at: r.get(4)?,
                state,
            })?;
        }
        Ok(items.finish())
    }

    fn report_input_ending(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        first_end: Timestamp,
        config: &EngineConfig,
    ) -> Result<ReportInput> {
        self.read_window(services, window, first_end, config)
    }

    fn report_input_kept(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        first_end: lantern_events::Timestamp,
        cuts: &lantern_engine::KeptCuts,
        config: &EngineConfig,
    ) -> Result<ReportInput> {
        self.read_window_kept(services, window, (first_end, cuts), config)
    }

    fn write(&mut self, events: &[Event]) -> Result<()> {
        // Nothing written, nothing stale: an import of only rejected lines
        // must not make the next report re-derive every fact.
        if events.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        Self::write_events(&tx, events)?;
        tx.commit()?;
        Ok(())
    }

    fn bulk_writes(&mut self, on: bool) -> Result<()> {
        let kib = if on { INGEST_CACHE_KIB } else { CACHE_KIB };
        self.conn.pragma_update(None, "cache_size", -kib)?;
        Ok(())
    }

    fn session(&mut self) -> Result<Box<dyn WriteSession + '_>> {
        Ok(Box::new(SqliteSession {
            tx: self.conn.transaction()?,
        }))
    }

    fn source_state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM source_state WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn source_states(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM source_state WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key")?;
        let rows = stmt.query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn find(&self, kind: EventKind, event_id: &EventId) -> Result<Option<Event>> {
        let mut names = Names::default();
        let key = event_id.as_str();
        Ok(match kind {
            EventKind::Change => self
                .changes_where(&mut names, "WHERE id = ?1", &[key], Fields::All)?
                .pop()
                .map(Event::Change),
            EventKind::PullRequest => self
                .pull_requests_where(&mut names, "WHERE id = ?1", [key])?
                .pop()
                .map(Event::PullRequest),
            EventKind::Incident => self
                .load_incidents(&mut names, "WHERE id = ?1", [key])?
                .pop()
                .map(Event::Incident),
            EventKind::Deployment => {
                let mut stmt = self.conn.prepare(&format!(
                    "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.id = ?1"
                ))?;
                let mut rows = stmt.query([key])?;
                match rows.next()? {
                    Some(r) => Some(Event::Deployment(read_deployment(r, &mut names)?)),
                    None => None,
                }
            }
            EventKind::Sli => self
                .conn
                .query_row(
                    "SELECT id, slo, from_at, to_at, good, total FROM slis WHERE id = ?1",
                    [key],
                    |r| {
                        Ok((
                            (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                            (r.get(2)?, r.get(3)?),
                            (r.get(4)?, r.get(5)?),
                        ))
                    },
                )
                .optional()?
                .map(|((id, slo), times, counts)| sli((&id, &slo), times, counts))
                .transpose()?
                .map(Event::Sli),
            EventKind::PipelineRun => self
                .pipeline_runs_where(&mut names, "WHERE id = ?1", [key])?
                .pop()
                .map(Event::PipelineRun),
            // Never merged: a work item or state replaces its own id.
            EventKind::Annotation
            | EventKind::WorkItem
            | EventKind::WorkState
            | EventKind::Finding
            | EventKind::AssistUsage => None,
        })
    }

    fn deployments_in(&self, service: &Name, window: Window) -> Result<Vec<Deployment>> {
        let mut names = Names::default();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM deployments d WHERE d.service = ?1 AND d.finished_at >= ?2 AND d.finished_at < ?3 ORDER BY d.finished_at, d.id"
        ))?;
        let mut rows = stmt.query(params![
            service.as_str(),
            window.from.micros(),
            window.to.micros()
        ])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_deployment(r, &mut names)?);
        }
        Ok(out)
    }

    fn changes_in(&self, service: &Name, window: Window) -> Result<Vec<Change>> {
        let mut names = Names::default();
        let repos: Vec<String> = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT repo FROM deployments WHERE service = ?1 AND repo IS NOT NULL
                 UNION SELECT repo FROM retained_deployed_repos WHERE service = ?1",
            )?
            .query_map([service.as_str()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let repos: Vec<&str> = repos.iter().map(String::as_str).collect();
        // A repository's history is one range of the key; the window is
        // applied here rather than scanning every change by time.
        let mut changes = self.changes_of_repos(&mut names, &repos, Fields::All)?;
        changes.retain(|c| window.contains(c.committed_at));
        for c in &mut changes {
            c.author = None;
        }
        changes.sort_by(|a, b| (a.committed_at, &a.id).cmp(&(b.committed_at, &b.id)));
        Ok(changes)
    }

    fn incidents_in(&self, service: &Name, window: Window) -> Result<Vec<Incident>> {
        let mut names = Names::default();
        let mut incidents = self.load_incidents(
            &mut names,
            "WHERE started_at < ?1 AND (resolved_at IS NULL OR resolved_at >= ?2) ORDER BY started_at, id",
            params![window.to.micros(), window.from.micros()],
        )?;
        incidents.retain(|i| i.affected().any(|s| s == service));
        Ok(incidents)
    }

    fn annotations(&self) -> Result<Vec<Annotation>> {
        self.load_annotations(&mut Names::default())
    }

    fn record_deliveries(&mut self, receivers: &[&str], at: Timestamp) -> Result<()> {
        let minute = at.micros().div_euclid(60 * MICROS_PER_SECOND);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        {
            let mut put = tx.prepare_cached("INSERT OR IGNORE INTO deliveries VALUES (?1, ?2)")?;
            for r in receivers {
                put.execute(params![r, minute])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn add_dead_letter(&mut self, letter: &DeadLetter) -> Result<i64> {
        let headers = headers_to_text(&letter.headers);
        self.conn.execute(
            "INSERT INTO dead_letters (received_at, source, reason, headers, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                letter.received_at.micros(),
                letter.source,
                letter.reason,
                headers,
                letter.body
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, received_at, source, reason, headers, body FROM dead_letters ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            let headers: String = r.get(4)?;
            Ok(DeadLetter {
                id: r.get(0)?,
                received_at: Timestamp::from_micros(r.get(1)?),
                source: r.get(2)?,
                reason: r.get(3)?,
                headers: text_to_headers(&headers),
                body: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn remove_dead_letter(&mut self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM dead_letters WHERE id = ?1", [id])?
            > 0)
    }

    fn changes_of_repo(&self, repo: &Name) -> Result<Vec<Change>> {
        let mut names = Names::default();
        self.changes_of_repos(&mut names, &[repo.as_str()], Fields::ForDeriving)
    }

    fn load(&self, services: Option<&BTreeSet<Name>>) -> Result<EventSet> {
        self.load_events(services, Fields::All)
    }

    fn contributors(
        &self,
        repos: Option<&BTreeSet<Name>>,
        window: Window,
        at_least: u64,
    ) -> Result<u64> {
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let (from, to) = (window.from.micros(), window.to.micros());
        let mut collect = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<bool> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let mut rows = stmt.query(args)?;
            while let Some(r) = rows.next()? {
                seen.insert(r.get(0)?);
                if seen.len() as u64 >= at_least {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        // Streamed and stopped as soon as the group is large enough: an
        // organisation's answer comes after a few rows, not a full scan.
        match repos {
            None => {
                if collect(
                    "SELECT author FROM changes WHERE author IS NOT NULL AND committed_at >= ?1 AND committed_at < ?2",
                    &[&from, &to],
                )? || collect(
                    "SELECT author FROM pull_requests WHERE author IS NOT NULL AND merged_at >= ?1 AND merged_at < ?2",
                    &[&from, &to],
                )? {
                    return Ok(seen.len() as u64);
                }
            }
            Some(repos) => {
                for repo in repos {
                    let (lo, hi) = (format!("{repo}@"), format!("{repo}A"));
                    let r = repo.as_str();
                    if collect(
                        "SELECT author FROM changes WHERE id >= ?1 AND id < ?2 AND repo = ?3 AND author IS NOT NULL AND committed_at >= ?4 AND committed_at < ?5",
                        &[&lo, &hi, &r, &from, &to],
                    )? || collect(
                        "SELECT author FROM changes WHERE id != repo || '@' || sha AND repo = ?1 AND author IS NOT NULL AND committed_at >= ?2 AND committed_at < ?3",
                        &[&r, &from, &to],
                    )? || collect(
                        "SELECT author FROM pull_requests WHERE repo = ?1 AND author IS NOT NULL AND merged_at >= ?2 AND merged_at < ?3",
                        &[&r, &from, &to],
                    )? {
                        return Ok(seen.len() as u64);
                    }
                }
            }
        }
        // Purged days keep a distinct count per repository and day: the
        // largest count of a day wholly inside the window is a lower bound
        // of the window's (a partly covered day could count people outside
        // it, so it is left out).
        let first_day =
            (from + lantern_events::MICROS_PER_DAY - 1).div_euclid(lantern_events::MICROS_PER_DAY);
        let end_day = to.div_euclid(lantern_events::MICROS_PER_DAY);
        let retained: Option<i64> = match repos {
            None => self.conn.query_row(
                "SELECT max(contributors) FROM retained_contributors WHERE repo = '' AND day >= ?1 AND day < ?2",
                [first_day, end_day],
                |r| r.get(0),
            )?,
            Some(repos) => {
                let mut best = None;
                let mut stmt = self.conn.prepare_cached(
                    "SELECT max(contributors) FROM retained_contributors WHERE repo = ?1 AND day >= ?2 AND day < ?3",
                )?;
                for repo in repos {
                    let n: Option<i64> = stmt.query_row(
                        rusqlite::params![repo.as_str(), first_day, end_day],
                        |r| r.get(0),
                    )?;
                    best = best.max(n);
                }
                best
            }
        };
        Ok((seen.len() as u64).max(retained.unwrap_or(0) as u64))
    }

    fn has_service(&self, service: &Name) -> Result<bool> {
        let name = service.as_str();
        for sql in [
            "SELECT 1 FROM deployments WHERE service = ?1 LIMIT 1",
            "SELECT 1 FROM deployment_window WHERE service = ?1 LIMIT 1",
            // `services` lists every affected service, one per line.
            "SELECT 1 FROM incidents WHERE service = ?1 OR (services != '' AND instr(char(10) || services || char(10), char(10) || ?1 || char(10)) > 0) LIMIT 1",
        ] {
            if self
                .conn
                .query_row(sql, [name], |_| Ok(()))
                .optional()?
                .is_some()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn services(&self) -> Result<BTreeSet<Name>> {
        let mut names = Names::default();
        let mut out = BTreeSet::new();
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT service FROM deployments UNION SELECT DISTINCT service FROM deployment_window")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            out.insert(names.get(r.get_ref(0)?.as_str()?)?);
        }
        for inc in self.load_incidents(&mut names, "", [])? {
            out.extend(inc.affected().cloned());
        }
        Ok(out)
    }

    fn sli_counts(
        &self,
        slo: &str,
        after: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<lantern_engine::slo::SliCount>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT from_at, to_at, good, total FROM slis WHERE slo = ?1 AND to_at > ?2 AND to_at <= ?3",
        )?;
        let mut rows = stmt.query(params![slo, after.micros(), until.micros()])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(sli_count(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)?);
        }
        Ok(out)
    }

    fn sli_sums(&self, slo: &str, ranges: &[(i64, i64)]) -> Result<Vec<(u128, u128)>> {
        // One range scan of the covering index each: cheaper than one scan
        // that tests every row against every range.
        let mut stmt = self.conn.prepare_cached(
            "SELECT COALESCE(SUM(good), 0), COALESCE(SUM(total), 0) FROM slis WHERE slo = ?1 AND to_at > ?2 AND to_at <= ?3",
        )?;
        ranges
            .iter()
            .map(|&(a, b)| {
                let (good, total): (i64, i64) =
                    stmt.query_row(params![slo, a, b], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok((good.max(0) as u128, total.max(0) as u128))
            })
            .collect()
    }

    fn counts(&self) -> Result<Counts> {
        let count = |table: &str| -> Result<u64> {
            let n: i64 = self
                .conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            Ok(n as u64)
        };
        Ok(Counts {
            changes: count("changes")?,
            pull_requests: count("pull_requests")?,
            deployments: count("deployments")?,
            incidents: count("incidents")?,
            annotations: count("annotations")?,
            slis: count("slis")?,
            pipeline_runs: count("pipeline_runs")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_kib(store: &SqliteStore) -> i64 {
        -store
            .conn
            .query_row("PRAGMA main.cache_size", [], |r| r.get::<_, i64>(0))
            .unwrap()
    }

    /// One deployment for each of more services than a chunk holds, so
    /// that refreshing them is a bulk refresh.
    fn deployments(prefix: &str) -> Vec<Event> {
        let pseudonymiser = Pseudonymiser::from_key([7; 32]);
        (0..2 * facts::SERVICES_PER_CHUNK)
            .map(|n| {
                let line = format!(
                    r#"{{"type":"deployment","id":"{prefix}{n}","service":"s{n:03}","environment":"production","finished_at":"2026-03-02T00:00:00Z","repo":"r{n}","sha":"0000000"}}"#
                );
                parse_event_json(&line, &pseudonymiser).unwrap()
            })
            .collect()
    }

    /// A new file gets 16 KiB pages; a file made with SQLite's default
    /// 4 KiB pages (every store before this size) keeps them, opens, takes
    /// writes and reports as before.
    #[test]
    fn new_files_get_large_pages_and_older_files_keep_theirs() {
        let page_size = |store: &SqliteStore| -> i64 {
            store
                .conn
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::default();
        let mut new = SqliteStore::open(&dir.path().join("new.db")).unwrap();
        assert_eq!(page_size(&new), PAGE_BYTES);
        new.write(&deployments("a")).unwrap();
        new.refresh_facts(&config, &|_, _| {}).unwrap();

        let older = dir.path().join("older.db");
        {
            let conn = Connection::open(&older).unwrap();
            conn.pragma_update(None, "page_size", 4096).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        }
        let mut older = SqliteStore::open(&older).unwrap();
        assert_eq!(page_size(&older), 4096);
        older.write(&deployments("a")).unwrap();
        older.refresh_facts(&config, &|_, _| {}).unwrap();
        drop(older);
        let older = SqliteStore::open(&dir.path().join("older.db")).unwrap();
        assert_eq!(page_size(&older), 4096, "reopened");

        let deployments = |store: &SqliteStore| store.counts().unwrap().deployments;
        assert_eq!(deployments(&new), 2 * facts::SERVICES_PER_CHUNK as u64);
        assert_eq!(deployments(&older), deployments(&new));
    }

    /// The large cache lives only while a bulk import writes: a bulk
    /// refresh (which shrinks it while it reads) gives back the cache the
    /// connection had, and ending the bulk writes gives the small one.
    #[test]
    fn the_large_page_cache_lasts_only_while_bulk_writes_do() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("l.db")).unwrap();
        let config = EngineConfig::default();
        assert_eq!(cache_kib(&store), CACHE_KIB);

        store.bulk_writes(true).unwrap();
        assert_eq!(cache_kib(&store), INGEST_CACHE_KIB);
        store.write(&deployments("a")).unwrap();
        store.refresh_facts(&config, &|_, _| {}).unwrap();
        assert_eq!(cache_kib(&store), INGEST_CACHE_KIB, "during bulk writes");

        store.bulk_writes(false).unwrap();
        assert_eq!(cache_kib(&store), CACHE_KIB);
        store.write(&deployments("b")).unwrap();
        store.refresh_facts(&config, &|_, _| {}).unwrap();
        assert_eq!(cache_kib(&store), CACHE_KIB, "after bulk writes");
    }
}
