//! Keeping the engine's derived facts, and loading only what a window needs.
//!
//! Every write marks the facts stale (in the same transaction); the next
//! report or import re-derives them, a chunk of services at a time so that
//! memory stays bounded. Facts also record which production environment
//! names they were derived with: changing them in the configuration makes
//! the facts stale too.

use crate::codec::*;
use crate::sqlite::{DEPLOYMENT_COLUMNS, SqliteStore, placeholders, read_deployment};
use crate::{Store, StoreError};
use lantern_engine::*;
use lantern_events::*;
use rusqlite::types::Value;
use rusqlite::{Transaction, params, params_from_iter};
use std::collections::BTreeSet;

const SERVICES_PER_CHUNK: usize = 25;

pub(crate) fn mark_stale(tx: &Transaction) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT OR REPLACE INTO meta VALUES ('facts', 'stale')")?
        .execute([])?;
    Ok(())
}

fn fingerprint(config: &EngineConfig) -> String {
    let mut names = config.production.clone();
    names.sort();
    format!("v1:{}", names.join("\u{1f}"))
}

fn encode_times(times: &[Timestamp]) -> Vec<u8> {
    times
        .iter()
        .flat_map(|t| t.micros().to_le_bytes())
        .collect()
}

fn decode_times(blob: &[u8]) -> Result<Vec<Timestamp>, StoreError> {
    if blob.len() % 8 != 0 {
        return Err(StoreError::Corrupt {
            what: "a deployment's shipped-change blob".into(),
        });
    }
    Ok(blob
        .chunks_exact(8)
        .map(|c| Timestamp::from_micros(i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))))
        .collect())
}

impl SqliteStore {
    pub fn facts_are_fresh(&self, config: &EngineConfig) -> Result<bool, StoreError> {
        let state: Option<String> = self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = 'facts'", [], |r| {
                r.get(0)
            })
            .ok();
        // A database with no events has nothing to derive.
        Ok(match state {
            Some(s) => s == fingerprint(config),
            None => {
                let c = self.counts()?;
                c.deployments + c.pull_requests == 0
            }
        })
    }

    /// Re-derives every fact from the stored history. `progress` is told
    /// (services done, services in all) as chunks finish.
    pub fn refresh_facts(
        &mut self,
        config: &EngineConfig,
        progress: &dyn Fn(usize, usize),
    ) -> Result<(), StoreError> {
        let services: Vec<Name> = {
            let mut names = Names::default();
            let mut stmt = self
                .conn()
                .prepare("SELECT DISTINCT service FROM deployments")?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(names.get(r.get_ref(0)?.as_str()?)?);
            }
            out
        };
        let tx = self.conn_mut().transaction()?;
        tx.execute_batch("DELETE FROM deployment_facts; DELETE FROM pull_request_facts; DELETE FROM first_deploys;")?;
        tx.commit()?;
        let total = services.len();
        for (i, chunk) in services.chunks(SERVICES_PER_CHUNK).enumerate() {
            let set: BTreeSet<Name> = chunk.iter().cloned().collect();
            let events = self.load(Some(&set))?;
            let facts = derive(&events, config);
            self.write_facts(&facts)?;
            progress(((i + 1) * SERVICES_PER_CHUNK).min(total), total);
        }
        // Pull requests of repositories no service deploys still count for
        // the organisation's coding, pickup and review stages.
        let orphans: Vec<String> = {
            let mut stmt = self.conn().prepare(
                "SELECT DISTINCT repo FROM pull_requests WHERE merged_at IS NOT NULL AND id NOT IN (SELECT pull_request FROM pull_request_facts)",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        for chunk in orphans.chunks(100) {
            let args: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let events = self.load_repos(&args)?;
            self.write_facts(&derive(&events, config))?;
        }
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO meta VALUES ('facts', ?1)",
            params![fingerprint(config)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn write_facts(&mut self, facts: &Facts) -> Result<(), StoreError> {
        let tx = self.conn_mut().transaction()?;
        {
            let mut dep = tx.prepare_cached(
                "INSERT OR REPLACE INTO deployment_facts VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (id, f) in &facts.deployments {
                dep.execute(params![
                    id.as_str(),
                    f.rule.code(),
                    f.sha_known,
                    encode_times(&f.shipped)
                ])?;
            }
            let mut pr =
                tx.prepare_cached("INSERT OR REPLACE INTO pull_request_facts VALUES (?1, ?2)")?;
            for (id, f) in &facts.pull_requests {
                pr.execute(params![
                    id.as_str(),
                    f.first_commit_at.map(Timestamp::micros)
                ])?;
            }
            let mut first = tx.prepare_cached(
                "INSERT OR REPLACE INTO first_deploys VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (kind, list) in [("pr", &facts.pr_deploys), ("incident", &facts.sha_links)] {
                for f in list {
                    first.execute(params![
                        kind,
                        f.subject.as_str(),
                        f.service.as_str(),
                        f.finished_at.micros(),
                        f.deployment.as_str()
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// What a report over these services (`None`: the organisation) and
    /// this window needs, from kept facts: deployments from the window's
    /// start on (and rollbacks that name what they roll back, whenever they
    /// were), every incident, pull requests merged in the window.
    pub fn report_input(
        &mut self,
        services: Option<&BTreeSet<Name>>,
        window: Window,
        config: &EngineConfig,
    ) -> Result<ReportInput, StoreError> {
        if !self.facts_are_fresh(config)? {
            self.refresh_facts(config, &|_, _| {})?;
        }
        let mut names = Names::default();
        let scope_args: Vec<String> = services.map(|s| s.iter().map(|n| n.to_string()).collect()).unwrap_or_default();
        let in_scope = |column: &str| match services {
            Some(_) => format!("AND {column} IN ({})", placeholders(scope_args.len())),
            None => String::new(),
        };
        let with_scope = |first: Vec<Value>| -> Vec<Value> {
            first.into_iter().chain(scope_args.iter().map(|s| Value::from(s.clone()))).collect()
        };
        let (from, to) = (window.from.micros(), window.to.micros());
        let mut input = ReportInput::default();

        // Deployments from the window's start on, and earlier rollbacks that
        // name what they roll back (they may name a deployment in the window).
        for condition in ["d.finished_at >= ?", "d.rollback_of IS NOT NULL AND d.finished_at < ?"] {
            let sql = format!(
                "SELECT {DEPLOYMENT_COLUMNS}, f.rule, f.sha_known, f.shipped FROM deployments d
                 LEFT JOIN deployment_facts f ON f.deployment = d.id WHERE {condition} {}",
                in_scope("d.service")
            );
            let mut stmt = self.conn().prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(with_scope(vec![from.into()])))?;
            while let Some(r) = rows.next()? {
                let d = read_deployment(r, &mut names)?;
                if let Some(rule) = r.get::<_, Option<u8>>(12)? {
                    let rule = ShipRule::from_code(rule)
                        .ok_or_else(|| StoreError::Corrupt { what: format!("rule {rule}") })?;
                    let facts = DeploymentFacts {
                        rule,
                        sha_known: r.get(13)?,
                        shipped: decode_times(r.get_ref(14)?.as_blob()?)?,
                    };
                    input.facts.deployments.insert(d.id.clone(), facts);
                }
                input.deployments.push(d);
            }
        }

        // Incidents: for a scope, those affecting it (or naming several
        // services, which is rare) and those blaming one of its deployments.
        input.incidents = match services {
            None => self.load_incidents(&mut names, "", [])?,
            Some(_) => {
                let list = placeholders(scope_args.len());
                let clause = format!(
                    "WHERE service IN ({list}) OR services != '' OR caused_by IN (SELECT id FROM deployments WHERE service IN ({list}))"
                );
                let args: Vec<&String> = scope_args.iter().chain(scope_args.iter()).collect();
                self.load_incidents(&mut names, &clause, params_from_iter(args))?
            }
        };
        let mut stmt = self.conn().prepare(
            "SELECT subject, service, finished_at, deployment FROM first_deploys WHERE kind = 'incident'",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            input.facts.sha_links.push(read_first_deploy(r, &mut names)?);
        }
        drop(rows);
        drop(stmt);

        // Pull requests merged in the window, of the repositories the scope
        // deploys. CROSS JOIN keeps SQLite from driving the joins from the
        // (much larger) fact tables.
        let mut repos: Vec<Value> = Vec::new();
        if services.is_some() {
            let sql = format!("SELECT DISTINCT service, repo FROM deployments WHERE repo IS NOT NULL {}", in_scope("service"));
            let mut stmt = self.conn().prepare(&sql)?;
            let mut rows = stmt.query(params_from_iter(scope_args.iter()))?;
            while let Some(r) = rows.next()? {
                let repo = names.get(r.get_ref(1)?.as_str()?)?;
                repos.push(Value::from(repo.to_string()));
                input.deployed_repos.insert((names.get(r.get_ref(0)?.as_str()?)?, repo));
            }
        }
        let in_repos = match services {
            Some(_) => format!("AND p.repo IN ({})", placeholders(repos.len())),
            None => String::new(),
        };
        let pr_args: Vec<Value> = [Value::from(from), Value::from(to)].into_iter().chain(repos).collect();
        let merged = format!("p.merged_at >= ? AND p.merged_at < ? {in_repos}");
        input.pull_requests =
            self.pull_requests_where(&mut names, &format!("p WHERE {merged}"), params_from_iter(pr_args.iter()))?;
        let mut stmt = self.conn().prepare(&format!(
            "SELECT p.id, f.first_commit_at FROM pull_requests p CROSS JOIN pull_request_facts f ON f.pull_request = p.id WHERE {merged}"
        ))?;
        let mut rows = stmt.query(params_from_iter(pr_args.iter()))?;
        while let Some(r) = rows.next()? {
            let first_commit_at = r.get::<_, Option<i64>>(1)?.map(time);
            input.facts.pull_requests.insert(id(r.get_ref(0)?.as_str()?)?, PullRequestFacts { first_commit_at });
        }
        drop(rows);
        drop(stmt);
        let mut stmt = self.conn().prepare(&format!(
            "SELECT fd.subject, fd.service, fd.finished_at, fd.deployment FROM pull_requests p
             CROSS JOIN first_deploys fd ON fd.kind = 'pr' AND fd.subject = p.id WHERE {merged}"
        ))?;
        let mut rows = stmt.query(params_from_iter(pr_args.iter()))?;
        while let Some(r) = rows.next()? {
            input.facts.pr_deploys.push(read_first_deploy(r, &mut names)?);
        }
        Ok(input)
    }
}

fn read_first_deploy(r: &rusqlite::Row, names: &mut Names) -> Result<FirstDeploy, StoreError> {
    Ok(FirstDeploy {
        subject: id(r.get_ref(0)?.as_str()?)?,
        service: names.get(r.get_ref(1)?.as_str()?)?,
        finished_at: time(r.get(2)?),
        deployment: id(r.get_ref(3)?.as_str()?)?,
    })
}
