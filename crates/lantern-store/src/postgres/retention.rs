//! Retention on PostgreSQL (governance.md rule 5): the outcome of the
//! embedded store's (`crate::sqlite` retention.rs), reached the other way round.
//!
//! SQLite keeps the facts of purged rows in its window tables, renamed
//! in place. Here a purge derives facts once over the whole history
//! (exactly what every report before it read), keeps those of the purged deployments, pull requests and
//! incident links in the `retained_*` tables under the same opaque,
//! order-keeping aliases (`retained:<kind>:<horizon day>:<rank>`), and
//! then deletes the raw events and strips every purged id, sha, title and
//! pseudonym from the ones that stay, and drops the kept facts (the next
//! report derives them again from what remains). Reports add the
//! retained rows to what they read (`add_retained`). The
//! invariant is SQLite's, tested on random histories on both stores: a
//! report over a window that ends at or before the horizon is the same
//! before and after.
//!
//! A run holds the event tables against writes (EXCLUSIVE: reads go on)
//! from reading the history to committing, as SQLite's single writer
//! does: a webhook arriving meanwhile waits rather than being lost
//! between the read and the rewrite. The lock also makes runs take turns;
//! the server's lease already makes them one across replicas.

use super::governance::append_audit;
use super::{CHANGE_COLUMNS, Cell, PostgresStore, insert_rows, load_all, write_events};
use crate::Result;
use crate::StoreError;
use crate::codec::{
    Names, corrupt, decode_deploys, decode_times, encode_deploys, encode_times, enum_text,
    enum_value, id, opt_enum, time,
};
use crate::retained::{PLACEHOLDER_SHA, RETAINED_PREFIX, RetentionRun};
use foldhash::{HashMap, HashSet};
use lantern_engine::{
    DeploymentFacts, EngineConfig, EventSet, FirstDeploy, PullRequestFacts, ReportInput, ShipRule,
    Window, derive,
};
use lantern_events::*;
use lantern_governance::AuditRecord;
use lantern_governance::retention::Horizons;
use postgres::{GenericClient, Row, Transaction};
use std::collections::BTreeSet;

type Aliases = HashMap<EventId, EventId>;

impl PostgresStore {
    pub(crate) fn run_retention(
        &mut self,
        config: &EngineConfig,
        horizons: &Horizons,
        record: AuditRecord,
    ) -> Result<RetentionRun> {
        let client = self.client();
        let mut tx = client.transaction()?;
        let mut run = purge_raw(&mut tx, config, horizons.raw.micros())?;
        if run.purged_events() {
            // Kept facts name purged events: everything is derived again
            // from what remains, as on SQLite.
            tx.batch_execute(super::facts::FORGET)?;
        }
        run.raw_horizon = horizons.raw.to_rfc3339();
        run.dead_letters = tx.execute(
            "DELETE FROM dead_letters WHERE received_at < $1",
            &[&horizons.dead_letters.micros()],
        )?;
        run.audit_entries = drop_audit(&mut tx, horizons.audit.micros())?;
        run.measurements = drop_measurements(&mut tx, horizons.aggregates.micros())?;
        run.sessions = tx.execute(
            "DELETE FROM sessions WHERE expires_at < $1",
            &[&record.at.micros()],
        )?;
        if run.purged_anything() {
            tx.execute(crate::BUMP_VERSION, &[&crate::GENERATION])?;
        }
        append_audit(&mut tx, run.recorded(record))?;
        tx.commit()?;
        if run.purged_anything() {
            // Deleted rows stay in the table files as dead versions until a
            // vacuum frees their space (autovacuum would, later). What the
            // server's WAL archive and backups hold is the operator's to
            // expire (README, "At scale").
            // The purge has committed: a vacuum that fails is autovacuum's
            // to do, not a failed run.
            if let Err(e) = client.batch_execute(
                "VACUUM changes, pull_requests, deployments, incidents, dead_letters, audit_log,
                        retained_deployments, retained_pull_requests, retained_incident_links",
            ) {
                tracing::warn!(error = %crate::postgres_message(&e), "vacuum after retention failed");
            }
        }
        Ok(run)
    }
}

/// Order-keeping aliases for `(sort key, id)` pairs: ranked by key, then
/// id bytes, as SQLite's `ORDER BY key, id` ranks them.
fn aliases<'a>(kind: &str, day: i64, rows: impl Iterator<Item = (i64, &'a EventId)>) -> Aliases {
    let mut rows: Vec<(i64, &EventId)> = rows.collect();
    rows.sort_by(|a, b| (a.0, a.1.as_str()).cmp(&(b.0, b.1.as_str())));
    rows.into_iter()
        .enumerate()
        .filter_map(|(rank, (_, old))| {
            let new = format!("{RETAINED_PREFIX}{kind}:{day}:{:09}", rank + 1);
            Some((old.clone(), EventId::parse(&new).ok()?))
        })
        .collect()
}

fn renamed(aliases: &Aliases, id: &EventId) -> EventId {
    aliases.get(id).unwrap_or(id).clone()
}

/// Points a reference at the alias of what it names, when that leaves;
/// true when it did.
fn follow(reference: &mut Option<EventId>, aliases: &Aliases) -> bool {
    match reference.as_ref().and_then(|r| aliases.get(r)) {
        Some(alias) => {
            *reference = Some(alias.clone());
            true
        }
        None => false,
    }
}

/// What is purged at horizon `h` (microseconds).
struct Purge {
    deployments: Aliases,
    incidents: Aliases,
    pull_requests: Aliases,
    changes: Vec<String>,
    shas: HashSet<Sha>,
}

impl Purge {
    fn at(events: &EventSet, h: i64) -> Purge {
        let day = h.div_euclid(MICROS_PER_DAY);
        let deployments = events
            .deployments
            .iter()
            .filter(|d| d.finished_at.micros() < h)
            .map(|d| (d.finished_at.micros(), &d.id));
        let incidents = events
            .incidents
            .iter()
            .filter(|i| {
                i.started_at.micros() < h
                    && i.resolved_at.is_some_and(|r| r.micros() < h)
                    && !i.id.as_str().starts_with(RETAINED_PREFIX)
            })
            .map(|i| (i.started_at.micros(), &i.id));
        // Merged before the horizon, or closed unmerged before it.
        let pull_requests = events.pull_requests.iter().filter_map(|p| {
            let at = p.merged_at.or(p.closed_at)?.micros();
            (at < h).then_some((at, &p.id))
        });
        let old_changes = || {
            events
                .changes
                .iter()
                .filter(|c| c.committed_at.micros() < h)
        };
        Purge {
            deployments: aliases("d", day, deployments),
            incidents: aliases("i", day, incidents),
            pull_requests: aliases("p", day, pull_requests),
            changes: old_changes().map(|c| c.id.to_string()).collect(),
            shas: old_changes().map(|c| c.sha).collect(),
        }
    }

    fn kept(&self, list: &mut Vec<Sha>) -> bool {
        let before = list.len();
        list.retain(|s| !self.shas.contains(s));
        list.len() != before
    }

    fn gone(&self, sha: &mut Option<Sha>) -> bool {
        let gone = sha.is_some_and(|s| self.shas.contains(&s));
        if gone {
            *sha = None;
        }
        gone
    }
}

fn purge_raw(tx: &mut Transaction, config: &EngineConfig, h: i64) -> Result<RetentionRun> {
    // As a writer does, the facts lock first (shared), then the tables:
    // one order for every transaction that takes both.
    tx.execute(
        "SELECT pg_advisory_xact_lock_shared($1)",
        &[&super::schema::FACTS_LOCK],
    )?;
    tx.batch_execute(
        "LOCK TABLE changes, pull_requests, deployments, incidents IN EXCLUSIVE MODE",
    )?;
    let mut events = load_all(tx, CHANGE_COLUMNS)?;
    let facts = derive(&events, config);
    let purge = Purge::at(&events, h);
    keep_anonymous_counts(tx, h)?;
    keep_measurements(tx, &events, &facts, &purge)?;

    // Links kept by earlier runs, for incidents that blame a sha.
    let mut links = facts.sha_links;
    links.extend(read_links(
        tx,
        "retained_incident_links",
        &mut Names::default(),
    )?);
    let mut earliest: HashMap<&EventId, &FirstDeploy> = HashMap::default();
    for l in &links {
        // As the engine chooses: earliest, then by id.
        let earlier = |a: &FirstDeploy, b: &FirstDeploy| {
            (a.finished_at, a.deployment.as_str()) < (b.finished_at, b.deployment.as_str())
        };
        earliest
            .entry(&l.subject)
            .and_modify(|e| {
                if earlier(l, e) {
                    *e = l;
                }
            })
            .or_insert(l);
    }
    let placeholder = Sha::parse(PLACEHOLDER_SHA).map_err(|what| StoreError::Corrupt { what })?;

    // The events that stay, rewritten where they name what leaves.
    let mut rewritten: Vec<Event> = Vec::new();
    let mut renamed_incidents: Vec<String> = Vec::new();
    for mut c in std::mem::take(&mut events.changes) {
        if c.committed_at.micros() < h {
            continue;
        }
        let changed = purge.kept(&mut c.parents);
        if changed | follow(&mut c.pull_request, &purge.pull_requests) {
            rewritten.push(Event::Change(c));
        }
    }
    for mut p in std::mem::take(&mut events.pull_requests) {
        if purge.pull_requests.contains_key(&p.id) {
            continue;
        }
        let changed = purge.gone(&mut p.merge_sha) | purge.gone(&mut p.head_sha);
        if changed | purge.kept(&mut p.commits) {
            rewritten.push(Event::PullRequest(p));
        }
    }
    for mut d in std::mem::take(&mut events.deployments) {
        if purge.deployments.contains_key(&d.id) {
            continue;
        }
        let mut changed = purge.gone(&mut d.sha);
        if let Some(list) = &mut d.changes {
            changed |= purge.kept(list);
        }
        if changed | follow(&mut d.rollback_of, &purge.deployments) {
            rewritten.push(Event::Deployment(d));
        }
    }
    for mut i in std::mem::take(&mut events.incidents) {
        let alias = purge.incidents.get(&i.id);
        let before = (i.caused_by.clone(), i.caused_by_sha);
        // An incident that blames a purged sha (or is itself purged)
        // keeps the deployment the sha led to as an explicit blame, chosen
        // as the engine chooses (earliest, then by id); with none, a
        // placeholder sha that no change has keeps it from being inferred.
        let sha_gone = i.caused_by_sha.is_some_and(|s| purge.shas.contains(&s));
        if i.caused_by_sha.is_some() && (sha_gone || alias.is_some()) {
            if i.caused_by.is_none() {
                i.caused_by = earliest.get(&i.id).map(|l| l.deployment.clone());
            }
            i.caused_by_sha = i.caused_by.is_none().then_some(placeholder);
        }
        i.caused_by = i.caused_by.map(|d| renamed(&purge.deployments, &d));
        let mut changed = before != (i.caused_by.clone(), i.caused_by_sha);
        if let Some(alias) = alias {
            renamed_incidents.push(i.id.to_string());
            i.id = alias.clone();
            i.title = None;
            changed = true;
        }
        if changed {
            rewritten.push(Event::Incident(i));
        }
    }

    let ids =
        |aliases: &Aliases| -> Vec<String> { aliases.keys().map(|k| k.to_string()).collect() };
    let changes = tx.execute("DELETE FROM changes WHERE id = ANY($1)", &[&purge.changes])?;
    let pull_requests = tx.execute(
        "DELETE FROM pull_requests WHERE id = ANY($1)",
        &[&ids(&purge.pull_requests)],
    )?;
    let deployments = tx.execute(
        "DELETE FROM deployments WHERE id = ANY($1)",
        &[&ids(&purge.deployments)],
    )?;
    let incidents = tx.execute(
        "DELETE FROM incidents WHERE id = ANY($1)",
        &[&renamed_incidents],
    )?;
    write_events(tx, &mut super::Prepared::default(), &rewritten)?;
    let purged_shas: Vec<String> = purge.shas.iter().map(Sha::to_string).collect();
    let pipeline_runs = anonymise_runs(tx, h, &purged_shas)?;
    let work_items = anonymise_work(tx, h)?;
    let mut panel_events = 0;
    for sql in crate::retained::ALIAS_PANEL_EVENTS {
        let sql = sql
            .replace("{alias}", "md5(random()::text || id)")
            .replace("{h}", "$1");
        panel_events += tx.execute(&sql, &[&h])?;
    }
    forget_arrivals(tx, h)?;
    Ok(RetentionRun {
        changes,
        pull_requests,
        deployments,
        incidents,
        pipeline_runs,
        work_items,
        panel_events,
        ..RetentionRun::default()
    })
}

/// What suppression and team scopes still need of the purged events,
/// without people: distinct contributors per repository and day (and
/// over all repositories, `''`), and which repositories each service
/// deployed.
fn keep_anonymous_counts(tx: &mut Transaction, h: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO retained_contributors (repo, day, contributors)
         SELECT repo, day, count(DISTINCT author) FROM (
             SELECT repo, committed_at / 86400000000 AS day, author FROM changes
              WHERE committed_at < $1 AND author IS NOT NULL
             UNION ALL
             SELECT repo, merged_at / 86400000000, author FROM pull_requests
              WHERE merged_at < $1 AND author IS NOT NULL
         ) by_repo GROUP BY repo, day
         UNION ALL
         SELECT '', day, count(DISTINCT author) FROM (
             SELECT committed_at / 86400000000 AS day, author FROM changes
              WHERE committed_at < $1 AND author IS NOT NULL
             UNION ALL
             SELECT merged_at / 86400000000, author FROM pull_requests
              WHERE merged_at < $1 AND author IS NOT NULL
         ) everywhere GROUP BY day
         ON CONFLICT (repo, day) DO UPDATE
            SET contributors = GREATEST(retained_contributors.contributors, EXCLUDED.contributors)",
        &[&h],
    )?;
    tx.execute(
        "INSERT INTO retained_deployed_repos
         SELECT DISTINCT service, repo FROM deployments WHERE finished_at < $1 AND repo IS NOT NULL
         ON CONFLICT DO NOTHING",
        &[&h],
    )?;
    Ok(())
}

/// The facts of the purged deployments and merged pull requests, and the
/// incident links that name a purged deployment or incident, under their
/// aliases; rows kept by earlier runs that name what is purged now are
/// renamed too.
fn keep_measurements(
    tx: &mut Transaction,
    events: &EventSet,
    facts: &lantern_engine::Facts,
    purge: &Purge,
) -> Result<()> {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for d in &events.deployments {
        let Some(alias) = purge.deployments.get(&d.id) else {
            continue;
        };
        let f = facts.deployments.get(&d.id);
        rows.push(vec![
            Box::new(d.finished_at.micros()),
            Box::new(alias.to_string()),
            Box::new(d.service.to_string()),
            Box::new(d.environment.to_string()),
            Box::new(enum_text(&DeploymentStatus::ALL, d.status)),
            Box::new(d.kind.map(|k| enum_text(&DeploymentKind::ALL, k))),
            Box::new(
                d.rollback_of
                    .as_ref()
                    .map(|t| renamed(&purge.deployments, t).to_string()),
            ),
            Box::new(d.repo.as_ref().map(Name::to_string)),
            Box::new(f.map(|f| i64::from(f.rule.code()))),
            Box::new(f.map(|f| f.sha_known)),
            Box::new(f.map(|f| encode_times(&f.shipped))),
            Box::new(d.started_at.map(Timestamp::micros)),
            Box::new(d.automated),
            Box::new(d.rollout.as_ref().map(EventId::to_string)),
        ]);
    }
    insert_batches(tx, "retained_deployments", DEPLOYMENT_ROW, rows)?;

    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for p in &events.pull_requests {
        let (Some(alias), Some(merged_at), Some(f)) = (
            purge.pull_requests.get(&p.id),
            p.merged_at,
            facts.pull_requests.get(&p.id),
        ) else {
            continue;
        };
        rows.push(vec![
            Box::new(merged_at.micros()),
            Box::new(alias.to_string()),
            Box::new(p.repo.to_string()),
            Box::new(p.opened_at.micros()),
            Box::new(p.first_review_at.map(Timestamp::micros)),
            Box::new(f.first_commit_at.map(Timestamp::micros)),
            Box::new(encode_deploys(&f.first_deploys)),
            Box::new(crate::pull_request_size(p)),
            Box::new(p.review_kept),
        ]);
    }
    insert_batches(tx, "retained_pull_requests", PULL_REQUEST_ROW, rows)?;

    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for l in &facts.sha_links {
        if !purge.deployments.contains_key(&l.deployment)
            && !purge.incidents.contains_key(&l.subject)
        {
            continue;
        }
        rows.push(vec![
            Box::new(renamed(&purge.incidents, &l.subject).to_string()),
            Box::new(l.service.to_string()),
            Box::new(l.finished_at.micros()),
            Box::new(renamed(&purge.deployments, &l.deployment).to_string()),
        ]);
    }
    insert_batches(tx, "retained_incident_links", LINK_ROW, rows)?;

    // Rows of earlier runs naming what this one purges.
    for (table, column, aliases) in [
        ("retained_deployments", "rollback_of", &purge.deployments),
        ("retained_incident_links", "deployment", &purge.deployments),
        ("retained_incident_links", "incident", &purge.incidents),
    ] {
        let (old, new): (Vec<String>, Vec<String>) = aliases
            .iter()
            .map(|(o, n)| (o.to_string(), n.to_string()))
            .unzip();
        tx.execute(
            &format!(
                "UPDATE {table} SET {column} = a.new FROM unnest($1::text[], $2::text[]) AS a(old, new)
                  WHERE {table}.{column} = a.old"
            ),
            &[&old, &new],
        )?;
    }
    Ok(())
}

const DEPLOYMENT_ROW: &[&str] = &[
    "finished_at",
    "deployment",
    "service",
    "environment",
    "status",
    "kind",
    "rollback_of",
    "repo",
    "rule",
    "sha_known",
    "shipped",
    "started_at",
    "automated",
    "rollout",
];
const PULL_REQUEST_ROW: &[&str] = &[
    "merged_at",
    "pull_request",
    "repo",
    "opened_at",
    "first_review_at",
    "first_commit_at",
    "deploys",
    "size",
    "review_kept",
];
const LINK_ROW: &[&str] = &["incident", "service", "finished_at", "deployment"];

fn insert_batches(
    tx: &mut impl GenericClient,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Cell>>,
) -> Result<()> {
    for batch in rows.chunks(500) {
        insert_rows(tx, table, columns, batch, "ON CONFLICT DO NOTHING")?;
    }
    Ok(())
}

/// Drops audit entries older than the horizon, recording where the kept
/// chain starts so that `audit verify` still checks what remains (the
/// append-only trigger lets through exactly these deletions).
fn drop_audit(tx: &mut Transaction, horizon: i64) -> Result<u64> {
    let Some(last) = super::query_opt(
        tx,
        "SELECT seq, hash FROM audit_log WHERE at < $1 ORDER BY seq DESC LIMIT 1",
        &[&horizon],
    )?
    else {
        return Ok(0);
    };
    let (seq, hash): (i64, String) = (last.try_get(0)?, last.try_get(1)?);
    tx.execute(
        "INSERT INTO audit_chain (end_name, seq, hash) VALUES ('dropped', $1, $2)
         ON CONFLICT (end_name) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash",
        &[&seq, &hash],
    )?;
    Ok(tx.execute("DELETE FROM audit_log WHERE seq <= $1", &[&seq])?)
}

/// CI runs past the raw horizon become measurements, as in the SQLite
/// store: ids and commits become aliases, the rest stays.
fn anonymise_runs(tx: &mut Transaction, h: i64, purged: &[String]) -> Result<u64> {
    let retained = format!("{RETAINED_PREFIX}%");
    tx.execute(
        "UPDATE pipeline_runs r SET sha = a.alias
           FROM (SELECT repo, sha, md5(random()::text || repo || sha) AS alias
                   FROM (SELECT DISTINCT repo, sha FROM pipeline_runs
                          WHERE (finished_at < $1 AND id NOT LIKE $2) OR sha = ANY($3)) k) a
          WHERE r.repo = a.repo AND r.sha = a.sha",
        &[&h, &retained, &purged],
    )?;
    Ok(tx.execute(
        "UPDATE pipeline_runs SET id = 'retained:run:' || md5(random()::text || id)
          WHERE finished_at < $1 AND id NOT LIKE $2",
        &[&h, &retained],
    )?)
}

/// As the SQLite store's (see `retained::WORK_ALIAS_PREFIX`).
fn anonymise_work(tx: &mut Transaction, h: i64) -> Result<u64> {
    let prefix = crate::retained::WORK_ALIAS_PREFIX;
    let like = format!("{prefix}%");
    tx.execute(
        "CREATE TEMP TABLE work_alias ON COMMIT DROP AS
         SELECT id AS old, $2 || md5(random()::text || id) AS alias
           FROM work_items WHERE last_at < $1 AND id NOT LIKE $3",
        &[&h, &prefix, &like],
    )?;
    tx.batch_execute(
        "UPDATE work_states s SET item = a.item, id = a.id
           FROM (SELECT s.id AS old, w.alias AS item,
                        w.alias || ':' || lpad((ROW_NUMBER() OVER (PARTITION BY s.item ORDER BY s.at, s.id COLLATE \"C\"))::text, 6, '0') AS id
                   FROM work_states s JOIN work_alias w ON w.old = s.item) a
          WHERE s.id = a.old;
         UPDATE work_items i SET id = a.alias FROM work_alias a WHERE i.id = a.old;",
    )?;
    let n: i64 = super::query_one(tx, "SELECT count(*) FROM work_alias", &[])?.get(0);
    tx.batch_execute("DROP TABLE work_alias")?;
    Ok(n as u64)
}

/// Arrivals go with their events, as in the SQLite store.
fn forget_arrivals(tx: &mut Transaction, h: i64) -> Result<()> {
    tx.batch_execute(crate::FORGET_GONE_ARRIVALS)?;
    tx.execute("DELETE FROM future_events WHERE received_at < $1", &[&h])?;
    tx.execute(
        "DELETE FROM deliveries WHERE minute < $1",
        &[&h.div_euclid(60 * lantern_events::MICROS_PER_SECOND)],
    )?;
    Ok(())
}

/// Measurements older than the aggregate horizon.
fn drop_measurements(tx: &mut Transaction, horizon: i64) -> Result<u64> {
    let retained = format!("{RETAINED_PREFIX}%");
    let mut n = tx.execute(
        "DELETE FROM pipeline_runs WHERE finished_at < $1 AND id LIKE $2",
        &[&horizon, &retained],
    )?;
    let work = format!("{}%", crate::retained::WORK_ALIAS_PREFIX);
    n += tx.execute(
        "DELETE FROM work_states WHERE item LIKE $2 AND item IN (SELECT id FROM work_items WHERE last_at < $1)",
        &[&horizon, &work],
    )?;
    n += tx.execute(
        "DELETE FROM work_items WHERE last_at < $1 AND id LIKE $2",
        &[&horizon, &work],
    )?;
    n += tx.execute(
        "DELETE FROM retained_deployments WHERE finished_at < $1",
        &[&horizon],
    )?;
    n += tx.execute(
        "DELETE FROM retained_pull_requests WHERE merged_at < $1",
        &[&horizon],
    )?;
    n += tx.execute(
        "DELETE FROM retained_incident_links WHERE incident LIKE $2
            AND incident IN (SELECT id FROM incidents WHERE resolved_at < $1)",
        &[&horizon, &retained],
    )?;
    n += tx.execute(
        "DELETE FROM incidents WHERE resolved_at < $1 AND id LIKE $2",
        &[&horizon, &retained],
    )?;
    for sql in crate::retained::DROP_PANEL_EVENTS {
        n += tx.execute(&sql.replace("{h}", "$1"), &[&horizon])?;
    }
    tx.execute(
        "DELETE FROM retained_contributors WHERE day < $1",
        &[&horizon.div_euclid(MICROS_PER_DAY)],
    )?;
    tx.execute(
        "DELETE FROM change_days WHERE day < $1",
        &[&horizon.div_euclid(MICROS_PER_DAY)],
    )?;
    Ok(n)
}

/// `AND column = ANY($n)` for a scope; nothing for the organisation.
pub(super) fn in_scope(services: Option<&BTreeSet<Name>>, column: &str, n: usize) -> String {
    match services {
        Some(_) => format!("AND {column} = ANY(${n})"),
        None => String::new(),
    }
}

/// Adds the pull requests merged in the window, with their facts, that
/// `select` reads (its `$1` and `$2` are the window's bounds); with
/// `repos`, only those of these repositories (`repo_column`).
pub(super) fn add_merged_pull_requests(
    c: &mut impl GenericClient,
    select: &str,
    repo_column: &str,
    window: Window,
    repos: Option<&[String]>,
    names: &mut Names,
    input: &mut ReportInput,
) -> Result<()> {
    let (from, to) = (window.from.micros(), window.to.micros());
    let add = |r: &postgres::Row| -> Result<()> {
        let (pr, f) = read_measured_pull_request(r, names)?;
        input.pull_requests.push(pr);
        input.pull_request_facts.push(Some(f));
        Ok(())
    };
    match repos {
        Some(repos) => super::for_each_row(
            c,
            &format!("{select} AND {repo_column} = ANY($3)"),
            &[&from, &to, &repos],
            add,
        ),
        None => super::for_each_row(c, select, &[&from, &to], add),
    }
}

/// Adds to a report's input what retention kept of purged events in its
/// scope (`None`: the organisation): deployments from the window's start
/// on and rollbacks that name what they roll back, pull requests merged
/// in the window of the repositories the scope deploys, and every kept
/// incident link — what SQLite's report reads of its aliased rows.
pub(super) fn add_retained(
    c: &mut impl GenericClient,
    services: Option<&BTreeSet<Name>>,
    window: Window,
    first_end: Timestamp,
    config: &EngineConfig,
    input: &mut ReportInput,
) -> Result<()> {
    add_kept(c, services, window, config.link_window_micros, input)?;
    super::facts::add_earlier(c, services, window, first_end, config, input)?;
    // Everything is read: rollouts can be merged (hygiene.md).
    input.merge_rollouts(config);
    Ok(())
}

/// What retention kept of the pull requests merged in a window.
pub(super) const RETAINED_MERGED: &str = "SELECT merged_at, pull_request, repo, opened_at, first_review_at, first_commit_at, deploys, size, review_kept
   FROM retained_pull_requests WHERE merged_at >= $1 AND merged_at < $2";

fn add_kept(
    c: &mut impl GenericClient,
    services: Option<&BTreeSet<Name>>,
    window: Window,
    link_window: i64,
    input: &mut ReportInput,
) -> Result<()> {
    let mut names = Names::default();
    let scope: Vec<&str> = services.into_iter().flatten().map(Name::as_str).collect();
    let in_scope = |column: &str, n: usize| in_scope(services, column, n);
    let window_from = window.from.micros();
    let from = window_from - link_window;
    // The same rows as of live deployments (`facts::read_input`).
    // (A union of ids, then one join: see `facts::read_input`.)
    let sql = format!(
        "WITH wanted AS (
             SELECT deployment AS id FROM retained_deployments
              WHERE (finished_at >= $1 OR rollback_of IS NOT NULL) {}
             UNION SELECT caused_by FROM incidents WHERE caused_by IS NOT NULL AND started_at >= {window_from}
             UNION SELECT deployment FROM retained_incident_links WHERE incident IN (SELECT id FROM incidents WHERE started_at >= {window_from})
             UNION SELECT r.deployment FROM retained_deployments r WHERE r.rollout IN
                 (SELECT deployment FROM retained_incident_links WHERE incident IN (SELECT id FROM incidents WHERE started_at >= {window_from}))
             UNION SELECT r.deployment FROM retained_deployments r
              WHERE r.rollout IS NOT NULL AND (r.service, r.rollout) IN
                   (SELECT service, rollout FROM retained_deployments
                     WHERE rollout IS NOT NULL AND finished_at >= $1)
             UNION SELECT w.deployment FROM incidents i JOIN retained_deployments w
                 ON w.service = i.service AND w.finished_at <= i.started_at
                 AND w.finished_at >= i.started_at - {link_window}
                 WHERE i.started_at >= {window_from})
         SELECT finished_at, deployment, service, environment, status, kind, rollback_of, rule, sha_known, shipped, started_at, automated, rollout
           FROM wanted JOIN retained_deployments ON deployment = wanted.id",
        in_scope("service", 2)
    );
    let rows = match services {
        Some(_) => super::query(c, &sql, &[&from, &scope])?,
        None => super::query(c, &sql, &[&from])?,
    };
    for r in rows {
        let (d, f) = read_measured_deployment(&r, &mut names)?;
        input.deployments.push(d);
        input.deployment_facts.push(f);
    }
    // Kept members of the rollouts of what is loaded, live or kept: a
    // rollout may straddle the raw horizon.
    add_rollout_members(
        c,
        "SELECT finished_at, deployment, service, environment, status, kind, rollback_of, rule, sha_known, shipped, started_at, automated, rollout
           FROM retained_deployments WHERE rollout = ANY($1)",
        input,
        &mut names,
    )?;

    let repos: Vec<String> = input
        .deployed_repos
        .iter()
        .filter(|(s, _)| services.is_none_or(|scope| scope.contains(s)))
        .map(|(_, r)| r.to_string())
        .collect();
    add_merged_pull_requests(
        c,
        RETAINED_MERGED,
        "repo",
        window,
        services.map(|_| repos.as_slice()),
        &mut names,
        input,
    )?;

    input
        .sha_links
        .extend(read_links(c, "retained_incident_links", &mut names)?);
    Ok(())
}

/// A deployment as reports read it, with its facts: columns finished_at,
/// id, service, environment, status, kind, rollback_of, rule, sha_known,
/// shipped (kept facts and retained rows alike).
/// Adds the members `select` finds (its `$1`: rollout ids) of the
/// rollouts of the deployments already in `input`, each once: the engine
/// merges a rollout only from all its members.
pub(super) fn add_rollout_members(
    c: &mut impl GenericClient,
    select: &str,
    input: &mut ReportInput,
    names: &mut Names,
) -> Result<()> {
    let (rollouts, members) = input.rollouts_begun();
    if rollouts.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = rollouts.iter().map(|(_, r)| r.as_str()).collect();
    for r in super::query(c, select, &[&ids])? {
        let key = (r.try_get::<_, String>(2)?, r.try_get::<_, String>(12)?);
        if rollouts.contains(&key) && !members.contains(r.try_get::<_, &str>(1)?) {
            let (d, f) = read_measured_deployment(&r, names)?;
            input.deployments.push(d);
            input.deployment_facts.push(f);
        }
    }
    Ok(())
}

pub(super) fn read_measured_deployment(
    r: &Row,
    names: &mut Names,
) -> Result<(Deployment, Option<DeploymentFacts>)> {
    let d = Deployment {
        id: id(r.try_get(1)?)?,
        service: names.get(r.try_get(2)?)?,
        environment: names.get(r.try_get(3)?)?,
        status: enum_value(&DeploymentStatus::ALL, r.try_get(4)?)?,
        started_at: None,
        finished_at: time(r.try_get(0)?),
        repo: None,
        sha: None,
        changes: None,
        kind: opt_enum(&DeploymentKind::ALL, r.try_get(5)?)?,
        rollback_of: r.try_get::<_, Option<&str>>(6)?.map(id).transpose()?,
        automated: None,
        rollout: None,
    };
    // When it started, whether it was automated, its rollout (hygiene.md).
    let d = Deployment {
        started_at: r.try_get::<_, Option<i64>>(10)?.map(time),
        automated: r.try_get(11)?,
        rollout: r.try_get::<_, Option<&str>>(12)?.map(id).transpose()?,
        ..d
    };
    let facts = match r.try_get::<_, Option<i64>>(7)? {
        Some(rule) => Some(DeploymentFacts {
            rule: u8::try_from(rule)
                .ok()
                .and_then(ShipRule::from_code)
                .ok_or_else(|| corrupt("a shipping rule"))?,
            sha_known: r.try_get::<_, Option<bool>>(8)?.unwrap_or(true),
            shipped: decode_times(r.try_get::<_, Option<&[u8]>>(9)?.unwrap_or_default())?,
        }),
        None => None,
    };
    Ok((d, facts))
}

/// A merged pull request as reports read it, with its facts: columns
/// merged_at, id, repo, opened_at, first_review_at, first_commit_at,
/// deploys.
pub(super) fn read_measured_pull_request(
    r: &Row,
    names: &mut Names,
) -> Result<(PullRequest, PullRequestFacts)> {
    let mut pr = PullRequest::opened(
        id(r.try_get(1)?)?,
        names.get(r.try_get(2)?)?,
        time(r.try_get(3)?),
    );
    pr.first_review_at = r.try_get::<_, Option<i64>>(4)?.map(time);
    pr.merged_at = Some(time(r.try_get(0)?));
    let facts = PullRequestFacts {
        first_commit_at: r.try_get::<_, Option<i64>>(5)?.map(time),
        first_deploys: decode_deploys(r.try_get(6)?, names)?,
    };
    crate::set_pull_request_size(&mut pr, r.try_get(7)?);
    pr.review_kept = r.try_get(8)?;
    Ok((pr, facts))
}

/// The incident links a table keeps (`incident_links` or
/// `retained_incident_links`).
pub(super) fn read_links(
    c: &mut impl GenericClient,
    table: &str,
    names: &mut Names,
) -> Result<Vec<FirstDeploy>> {
    super::query(
        c,
        &format!("SELECT incident, service, finished_at, deployment FROM {table}"),
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(FirstDeploy {
            subject: id(r.try_get(0)?)?,
            service: names.get(r.try_get(1)?)?,
            finished_at: time(r.try_get(2)?),
            deployment: id(r.try_get(3)?)?,
        })
    })
    .collect()
}
