//! Retention (governance.md rule 5): raw events older than the horizon
//! leave the store, and what reports read of them stays as anonymous
//! measurements.
//!
//! Reports already read only the window tables (`deployment_window`,
//! `pull_request_window`, `incident_links`) and incidents, so those rows
//! *are* the measurements: a purge renames their ids to opaque aliases
//! (`retained:<kind>:<horizon day>:<rank>`, ranked in the rows' own order
//! so ties sort as before), drops every sha, pseudonym, title and
//! commit list, and deletes the raw changes, pull requests and
//! deployments. What suppression needs of contributors is kept as a
//! distinct count per repository and day; which repositories a service
//! deployed, as pairs. The invariant, tested on random histories: a report
//! over a window that ends at or before the horizon is the same before
//! and after.
//!
//! Aliased rows are never re-derived: a refresh deletes and rebuilds only
//! rows with real ids (and keeps incident links to aliased deployments).
//! A purge makes every other fact stale, so the next report re-derives
//! them from what remains: the horizon is then the start of each
//! service's history (its first deployment after it is a baseline), which
//! changes nothing before the horizon — as the PostgreSQL store does,
//! so that `lantern migrate` finds both stores agreeing.

use crate::Result;
use crate::Store;
use crate::codec::{shas_to_text, text_to_shas};
use crate::retained::{PLACEHOLDER_SHA, RETAINED_GLOB, RETAINED_PREFIX, RetentionRun};
use crate::sqlite::SqliteStore;
use crate::sqlite::governance::append_audit;
use lantern_engine::EngineConfig;
use lantern_events::{MICROS_PER_DAY, Sha};
use lantern_governance::AuditRecord;
use lantern_governance::retention::Horizons;
use rusqlite::{OptionalExtension, Transaction, params};
use std::collections::HashSet;

impl SqliteStore {
    /// Applies retention at `horizons`; `record` is the audit entry of the
    /// run (its outcome is filled in). Facts are brought up to date first:
    /// the measurements kept are the facts of the full history.
    pub(crate) fn run_retention(
        &mut self,
        config: &EngineConfig,
        horizons: &Horizons,
        record: AuditRecord,
    ) -> Result<RetentionRun> {
        self.refresh_facts(config, &|_, _| {})?;
        self.conn().pragma_update(None, "secure_delete", true)?;
        let tx = self.conn_mut().transaction()?;
        let mut run = purge_raw(&tx, horizons.raw.micros())?;
        run.raw_horizon = horizons.raw.to_rfc3339();
        run.dead_letters = tx.execute(
            "DELETE FROM dead_letters WHERE received_at < ?1",
            [horizons.dead_letters.micros()],
        )? as u64;
        run.audit_entries = drop_audit(&tx, horizons.audit.micros())?;
        run.measurements = drop_measurements(&tx, horizons.aggregates.micros())?;
        if run.purged_events() {
            tx.execute("DELETE FROM meta WHERE key = 'facts'", [])?;
        }
        run.sessions = tx.execute(
            "DELETE FROM sessions WHERE expires_at < ?1",
            [record.at.micros()],
        )? as u64;
        if run.purged_anything() {
            tx.execute(crate::BUMP_VERSION, [crate::GENERATION])?;
        }
        append_audit(&tx, run.recorded(record))?;
        tx.commit()?;
        if run.purged_anything() {
            // Deleted rows are zeroed (secure_delete); the WAL still holds
            // old page images and freed pages stay in the file until these.
            self.conn().execute_batch(
                "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
            )?;
        }
        Ok(run)
    }
}

/// Opaque, order-keeping aliases for the rows `select` lists (old id
/// first, in the order they sort), in temp table `alias_<kind>`.
fn alias(tx: &Transaction, kind: &str, day: i64, select: &str, h: i64) -> rusqlite::Result<u64> {
    tx.execute_batch(&format!(
        "DROP TABLE IF EXISTS temp.alias_{kind};
         CREATE TEMP TABLE alias_{kind} (old TEXT PRIMARY KEY, new TEXT NOT NULL);"
    ))?;
    let mut insert = tx.prepare(&format!(
        "INSERT OR IGNORE INTO alias_{kind} VALUES (?1, ?2)"
    ))?;
    let mut stmt = tx.prepare(select)?;
    let mut rows = stmt.query([h])?;
    let mut rank = 0u64;
    while let Some(r) = rows.next()? {
        let old: String = r.get(0)?;
        rank += 1;
        insert.execute(params![
            old,
            format!("{RETAINED_PREFIX}{kind}:{day}:{rank:09}")
        ])?;
    }
    Ok(rank)
}

fn purge_raw(tx: &Transaction, h: i64) -> Result<RetentionRun> {
    let day = h.div_euclid(MICROS_PER_DAY);
    let deployments = alias(
        tx,
        "d",
        day,
        "SELECT id FROM deployments WHERE finished_at < ?1 ORDER BY finished_at, id",
        h,
    )?;
    let incidents = alias(
        tx,
        "i",
        day,
        &format!(
            "SELECT id FROM incidents WHERE started_at < ?1 AND resolved_at IS NOT NULL AND resolved_at < ?1 AND id NOT GLOB '{RETAINED_GLOB}' ORDER BY started_at, id"
        ),
        h,
    )?;
    let pull_requests = alias(
        tx,
        "p",
        day,
        "SELECT id FROM pull_requests WHERE merged_at < ?1 OR (merged_at IS NULL AND closed_at < ?1) ORDER BY coalesce(merged_at, closed_at), id",
        h,
    )?;
    tx.execute_batch(
        "DROP TABLE IF EXISTS temp.purged_shas;
         CREATE TEMP TABLE purged_shas (sha TEXT PRIMARY KEY);",
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO purged_shas SELECT sha FROM changes WHERE committed_at < ?1",
        [h],
    )?;

    // What suppression and team scopes still need, without people.
    tx.execute(
        "INSERT INTO retained_contributors (repo, day, contributors)
         SELECT repo, day, count(DISTINCT author) FROM (
             SELECT repo, committed_at / 86400000000 AS day, author FROM changes
              WHERE committed_at < ?1 AND author IS NOT NULL
             UNION ALL
             SELECT repo, merged_at / 86400000000, author FROM pull_requests
              WHERE merged_at < ?1 AND author IS NOT NULL
         ) GROUP BY repo, day
         UNION ALL
         SELECT '', day, count(DISTINCT author) FROM (
             SELECT committed_at / 86400000000 AS day, author FROM changes
              WHERE committed_at < ?1 AND author IS NOT NULL
             UNION ALL
             SELECT merged_at / 86400000000, author FROM pull_requests
              WHERE merged_at < ?1 AND author IS NOT NULL
         ) GROUP BY day
         ON CONFLICT (repo, day) DO UPDATE SET contributors = max(contributors, excluded.contributors)",
        [h],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO retained_deployed_repos
         SELECT DISTINCT service, repo FROM deployments WHERE finished_at < ?1 AND repo IS NOT NULL",
        [h],
    )?;

    // An incident that blames a purged sha (or is itself purged) keeps
    // the deployment the sha led to as an explicit blame, chosen as the
    // engine chooses (earliest, then by id); with none, a placeholder sha
    // that no change has keeps it from being inferred instead.
    tx.execute_batch(&format!(
        "UPDATE incidents SET caused_by = (
             SELECT deployment FROM incident_links l WHERE l.incident = incidents.id
              ORDER BY l.finished_at, l.deployment LIMIT 1)
          WHERE caused_by IS NULL AND caused_by_sha IS NOT NULL
            AND (caused_by_sha IN (SELECT sha FROM purged_shas) OR id IN (SELECT old FROM alias_i));
         UPDATE incidents SET caused_by_sha = CASE WHEN caused_by IS NULL THEN '{PLACEHOLDER_SHA}' END
          WHERE caused_by_sha IS NOT NULL
            AND (caused_by_sha IN (SELECT sha FROM purged_shas) OR id IN (SELECT old FROM alias_i));"
    ))?;
    // The measurements take their aliases.
    tx.execute_batch(
        "UPDATE deployment_window SET deployment = (SELECT new FROM alias_d WHERE old = deployment)
          WHERE deployment IN (SELECT old FROM alias_d);
         UPDATE deployment_window SET rollback_of = (SELECT new FROM alias_d WHERE old = rollback_of)
          WHERE rollback_of IN (SELECT old FROM alias_d);
         UPDATE pull_request_window SET pull_request = (SELECT new FROM alias_p WHERE old = pull_request)
          WHERE pull_request IN (SELECT old FROM alias_p);
         UPDATE incident_links SET deployment = (SELECT new FROM alias_d WHERE old = deployment)
          WHERE deployment IN (SELECT old FROM alias_d);
         UPDATE incident_links SET incident = (SELECT new FROM alias_i WHERE old = incident)
          WHERE incident IN (SELECT old FROM alias_i);
         UPDATE incidents SET caused_by = (SELECT new FROM alias_d WHERE old = caused_by)
          WHERE caused_by IN (SELECT old FROM alias_d);
         UPDATE incidents SET id = (SELECT new FROM alias_i WHERE old = id), title = NULL
          WHERE id IN (SELECT old FROM alias_i);
         UPDATE deployments SET rollback_of = (SELECT new FROM alias_d WHERE old = rollback_of)
          WHERE rollback_of IN (SELECT old FROM alias_d);
         UPDATE deployments SET sha = NULL WHERE sha IN (SELECT sha FROM purged_shas);
         UPDATE changes SET pull_request = (SELECT new FROM alias_p WHERE old = pull_request)
          WHERE pull_request IN (SELECT old FROM alias_p);
         UPDATE pull_requests SET merge_sha = NULL WHERE merge_sha IN (SELECT sha FROM purged_shas);
         UPDATE pull_requests SET head_sha = NULL WHERE head_sha IN (SELECT sha FROM purged_shas);",
    )?;
    // Lists of shas in the events that stay: the purged ones leave them.
    let purged = |tx: &Transaction| -> rusqlite::Result<HashSet<String>> {
        let mut stmt = tx.prepare("SELECT sha FROM purged_shas")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    };
    let purged = purged(tx)?;
    if !purged.is_empty() {
        strip_shas(tx, &purged, "changes", "parents", "committed_at >= ?1", h)?;
        strip_shas(
            tx,
            &purged,
            "deployments",
            "changes",
            "finished_at >= ?1 AND changes IS NOT NULL",
            h,
        )?;
        strip_shas(
            tx,
            &purged,
            "pull_requests",
            "commits",
            "id NOT IN (SELECT old FROM alias_p) AND ?1 = ?1",
            h,
        )?;
    }

    let changes = tx.execute("DELETE FROM changes WHERE committed_at < ?1", [h])? as u64;
    let pipeline_runs = anonymise_runs(tx, h)?;
    let work_items = anonymise_work(tx, h)?;
    let mut panel_events = 0;
    for sql in crate::retained::ALIAS_PANEL_EVENTS {
        let sql = sql
            .replace("{alias}", "lower(hex(randomblob(12)))")
            .replace("{h}", "?1");
        panel_events += tx.execute(&sql, [h])? as u64;
    }
    tx.execute_batch(
        "DELETE FROM pull_requests WHERE id IN (SELECT old FROM alias_p);
         DELETE FROM deployments WHERE id IN (SELECT old FROM alias_d);
         DROP TABLE alias_d; DROP TABLE alias_i; DROP TABLE alias_p; DROP TABLE purged_shas;",
    )?;
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

/// See `retained::WORK_ALIAS_PREFIX`.
fn anonymise_work(tx: &Transaction, h: i64) -> Result<u64> {
    let prefix = crate::retained::WORK_ALIAS_PREFIX;
    tx.execute(
        &format!(
            "CREATE TEMP TABLE work_alias AS
             SELECT id AS old, '{prefix}' || lower(hex(randomblob(12))) AS alias
               FROM work_items WHERE last_at < ?1 AND substr(id, 1, {}) != '{prefix}'",
            prefix.len()
        ),
        [h],
    )?;
    tx.execute_batch(
        "CREATE TEMP TABLE state_alias AS
         SELECT s.id AS old, a.alias AS item,
                a.alias || ':' || printf('%06d', ROW_NUMBER() OVER (PARTITION BY s.item ORDER BY s.at, s.id)) AS id
           FROM work_states s JOIN work_alias a ON a.old = s.item;
         UPDATE work_states SET
             item = (SELECT item FROM state_alias WHERE old = work_states.id),
             id = (SELECT id FROM state_alias WHERE old = work_states.id)
          WHERE id IN (SELECT old FROM state_alias);
         UPDATE work_items SET id = (SELECT alias FROM work_alias WHERE old = work_items.id)
          WHERE id IN (SELECT old FROM work_alias);",
    )?;
    let n: i64 = tx.query_row("SELECT count(*) FROM work_alias", [], |r| r.get(0))?;
    tx.execute_batch("DROP TABLE state_alias; DROP TABLE work_alias;")?;
    Ok(n as u64)
}

/// Removes purged shas from a list column of the rows `filter` selects.
fn strip_shas(
    tx: &Transaction,
    purged: &HashSet<String>,
    table: &str,
    column: &str,
    filter: &str,
    h: i64,
) -> Result<()> {
    let mut read = tx.prepare(&format!("SELECT id, {column} FROM {table} WHERE {filter}"))?;
    let mut write = tx.prepare(&format!("UPDATE {table} SET {column} = ?2 WHERE id = ?1"))?;
    let mut rows = read.query([h])?;
    while let Some(r) = rows.next()? {
        let Some(text) = r.get_ref(1)?.as_str_or_null()? else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        let shas = text_to_shas(text)?;
        if shas.iter().any(|s| purged.contains(s.hex().as_str())) {
            let kept: Vec<Sha> = shas
                .into_iter()
                .filter(|s| !purged.contains(s.hex().as_str()))
                .collect();
            let id: String = r.get(0)?;
            write.execute(params![id, shas_to_text(&kept)])?;
        }
    }
    Ok(())
}

/// Drops audit entries older than the horizon, recording where the kept
/// chain starts so that `audit verify` still checks what remains.
fn drop_audit(tx: &Transaction, horizon: i64) -> Result<u64> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit_log WHERE at < ?1 ORDER BY seq DESC LIMIT 1",
            [horizon],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((seq, hash)) = last else {
        return Ok(0);
    };
    tx.execute(
        "INSERT OR REPLACE INTO audit_chain (end_name, seq, hash) VALUES ('dropped', ?1, ?2)",
        params![seq, hash],
    )?;
    Ok(tx.execute("DELETE FROM audit_log WHERE seq <= ?1", [seq])? as u64)
}

/// CI runs past the raw horizon become measurements: what hygiene.md reads
/// of them stays (repository, pipeline, times, status, attempt, and which
/// runs were on one commit), but their ids and commits become aliases, so
/// no purged id or sha is left. Every run of an aliased commit takes the
/// alias, so a re-run after the horizon still pairs with its first attempt.
fn anonymise_runs(tx: &Transaction, h: i64) -> Result<u64> {
    let retained = RETAINED_GLOB;
    tx.execute(
        &format!(
            "CREATE TEMP TABLE run_alias AS SELECT repo, sha, lower(hex(randomblob(20))) AS alias
             FROM (SELECT DISTINCT repo, sha FROM pipeline_runs
                    WHERE (finished_at < ?1 AND id NOT GLOB '{retained}') OR sha IN (SELECT sha FROM purged_shas))"
        ),
        [h],
    )?;
    tx.execute_batch(
        "UPDATE pipeline_runs SET sha = (SELECT alias FROM run_alias a WHERE a.repo = pipeline_runs.repo AND a.sha = pipeline_runs.sha)
          WHERE (repo, sha) IN (SELECT repo, sha FROM run_alias);
         DROP TABLE run_alias;",
    )?;
    Ok(tx.execute(
        &format!(
            "UPDATE pipeline_runs SET id = 'retained:run:' || lower(hex(randomblob(12)))
              WHERE finished_at < ?1 AND id NOT GLOB '{retained}'"
        ),
        [h],
    )? as u64)
}

/// Arrivals go with their events: future-dated notes of events that are
/// gone (or renamed to measurements), and deliveries before the horizon.
fn forget_arrivals(tx: &Transaction, h: i64) -> Result<()> {
    tx.execute_batch(crate::FORGET_GONE_ARRIVALS)?;
    tx.execute("DELETE FROM future_events WHERE received_at < ?1", [h])?;
    tx.execute(
        "DELETE FROM deliveries WHERE minute < ?1",
        [h.div_euclid(60 * lantern_events::MICROS_PER_SECOND)],
    )?;
    Ok(())
}

/// Measurements older than the aggregate horizon.
fn drop_measurements(tx: &Transaction, horizon: i64) -> Result<u64> {
    let retained = RETAINED_GLOB;
    let mut n = tx.execute(
        &format!("DELETE FROM pipeline_runs WHERE finished_at < ?1 AND id GLOB '{retained}'"),
        [horizon],
    )?;
    n += tx.execute(
        &format!(
            "DELETE FROM deployment_window WHERE finished_at < ?1 AND deployment GLOB '{retained}'"
        ),
        [horizon],
    )?;
    n += tx.execute(
        &format!("DELETE FROM pull_request_window WHERE merged_at < ?1 AND pull_request GLOB '{retained}'"),
        [horizon],
    )?;
    n += tx.execute(
        &format!("DELETE FROM incident_links WHERE incident GLOB '{retained}' AND incident IN (SELECT id FROM incidents WHERE resolved_at < ?1)"),
        [horizon],
    )?;
    n += tx.execute(
        &format!("DELETE FROM incidents WHERE resolved_at < ?1 AND id GLOB '{retained}'"),
        [horizon],
    )?;
    let work = format!("{}%", crate::retained::WORK_ALIAS_PREFIX);
    n += tx.execute(
        "DELETE FROM work_states WHERE item LIKE ?2 AND item IN (SELECT id FROM work_items WHERE last_at < ?1)",
        rusqlite::params![horizon, work],
    )?;
    n += tx.execute(
        "DELETE FROM work_items WHERE last_at < ?1 AND id LIKE ?2",
        rusqlite::params![horizon, work],
    )?;
    for sql in crate::retained::DROP_PANEL_EVENTS {
        n += tx.execute(&sql.replace("{h}", "?1"), [horizon])?;
    }
    let day = horizon.div_euclid(MICROS_PER_DAY);
    tx.execute("DELETE FROM retained_contributors WHERE day < ?1", [day])?;
    tx.execute("DELETE FROM change_days WHERE day < ?1", [day])?;
    // Their packed form: the horizon's block again from what is left.
    let block = day.div_euclid(64);
    tx.execute("DELETE FROM change_day_bits WHERE block <= ?1", [block])?;
    tx.execute(
        "INSERT INTO change_day_bits
         SELECT repo, ?1, SUM(1 << (day - ?1 * 64)) FROM change_days
         WHERE day >= ?1 * 64 AND day < (?1 + 1) * 64 GROUP BY repo",
        [block],
    )?;
    Ok(n as u64)
}
