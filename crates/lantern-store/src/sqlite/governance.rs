//! `GovernanceStore` for SQLite.

use crate::Result;
use crate::SqliteStore;
use crate::codec::{Names, grant_role, grant_teams, read_scope, scope_columns};
use crate::governance::{AuditEnds, Dispute, GovernanceStore, NewSession};
use lantern_events::*;
use lantern_governance::grant::same_hash;
use lantern_governance::{AuditEntry, AuditRecord, GENESIS, Grant, TokenParts};
use rusqlite::{OptionalExtension, Row, Transaction, params};

/// Appends `record` to the chain inside `tx`.
pub(crate) fn append_audit(tx: &Transaction, record: AuditRecord) -> Result<AuditEntry> {
    let (seq, hash): (i64, String) = tx
        .query_row(
            "SELECT seq, hash FROM audit_chain WHERE end_name = 'head'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, GENESIS.to_string()));
    let entry = AuditEntry::chain(seq as u64, &hash, record);
    let r = &entry.record;
    tx.execute(
        "INSERT INTO audit_log (seq, at, actor, purpose, action, scope, outcome, prev, hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
        params![
            entry.seq as i64,
            r.at.micros(),
            r.actor,
            r.purpose,
            r.action,
            r.scope,
            r.outcome,
            entry.prev,
            entry.hash
        ],
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO audit_chain (end_name, seq, hash) VALUES ('head', ?1, ?2)",
        params![entry.seq as i64, entry.hash],
    )?;
    Ok(entry)
}

const GRANT_COLUMNS: &str = "g.id, g.role, g.teams, g.source, g.purpose, g.created_at, g.expires_at, g.revoked_at, g.last_used_at, g.secret_hash";

fn read_grant(r: &Row) -> Result<(Grant, Vec<u8>)> {
    let grant = Grant {
        id: r.get(0)?,
        role: grant_role(r.get_ref(1)?.as_str()?)?,
        teams: grant_teams(r.get_ref(2)?.as_str()?)?,
        source: r.get(3)?,
        purpose: r.get(4)?,
        created_at: Timestamp::from_micros(r.get(5)?),
        expires_at: Timestamp::from_micros(r.get(6)?),
        revoked_at: r.get::<_, Option<i64>>(7)?.map(Timestamp::from_micros),
        last_used_at: r.get::<_, Option<i64>>(8)?.map(Timestamp::from_micros),
    };
    Ok((grant, r.get(9)?))
}

fn read_entry(r: &Row) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get::<_, i64>(0)? as u64,
        record: AuditRecord {
            at: Timestamp::from_micros(r.get(1)?),
            actor: r.get(2)?,
            purpose: r.get(3)?,
            action: r.get(4)?,
            scope: r.get(5)?,
            outcome: r.get(6)?,
        },
        prev: r.get(7)?,
        hash: r.get(8)?,
    })
}

impl GovernanceStore for SqliteStore {
    fn add_grant(
        &mut self,
        grant: &Grant,
        secret_hash: &[u8; 32],
        audit: AuditRecord,
    ) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        let teams: Vec<&str> = grant.teams.iter().map(Name::as_str).collect();
        tx.execute(
            "INSERT INTO grants (id, role, teams, source, purpose, secret_hash, created_at, expires_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            params![
                grant.id,
                grant.role.as_str(),
                teams.join("\n"),
                grant.source,
                grant.purpose,
                &secret_hash[..],
                grant.created_at.micros(),
                grant.expires_at.micros()
            ],
        )?;
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    fn grants(&self) -> Result<Vec<Grant>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {GRANT_COLUMNS} FROM grants g ORDER BY g.created_at, g.id"
        ))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_grant(r)?.0);
        }
        Ok(out)
    }

    fn grant_for_token(&self, token: &TokenParts) -> Result<Option<Grant>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {GRANT_COLUMNS} FROM grants g WHERE g.id = ?1"
        ))?;
        let mut rows = stmt.query([&token.id])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        let (grant, hash) = read_grant(r)?;
        Ok(same_hash(&hash, &token.hash).then_some(grant))
    }

    fn revoke_grant(&mut self, id: &str, audit: AuditRecord) -> Result<bool> {
        let tx = self.conn_mut().transaction()?;
        let changed = tx.execute(
            "UPDATE grants SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, audit.at.micros()],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        tx.execute("DELETE FROM sessions WHERE grant_id = ?1", [id])?;
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(true)
    }

    fn touch_grant(&mut self, id: &str, at: Timestamp) -> Result<()> {
        self.conn().execute(
            "UPDATE grants SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?3)",
            params![id, at.micros(), at.micros() - crate::GRANT_USE_RESOLUTION_MICROS],
        )?;
        Ok(())
    }

    fn add_session(&mut self, session: NewSession, audit: AuditRecord) -> Result<()> {
        let NewSession {
            hash,
            grant_id,
            expires_at,
        } = session;
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1",
            [audit.at.micros()],
        )?;
        tx.execute(
            "INSERT INTO sessions (hash, grant_id, expires_at) VALUES (?1, ?2, ?3)",
            params![&hash[..], grant_id, expires_at.micros()],
        )?;
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    fn session_grant(&self, hash: &[u8; 32], now: Timestamp) -> Result<Option<Grant>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {GRANT_COLUMNS} FROM sessions s JOIN grants g ON g.id = s.grant_id WHERE s.hash = ?1 AND s.expires_at > ?2"
        ))?;
        let mut rows = stmt.query(params![&hash[..], now.micros()])?;
        match rows.next()? {
            Some(r) => Ok(Some(read_grant(r)?.0)),
            None => Ok(None),
        }
    }

    fn remove_session(&mut self, hash: &[u8; 32]) -> Result<()> {
        self.conn()
            .execute("DELETE FROM sessions WHERE hash = ?1", [&hash[..]])?;
        Ok(())
    }

    fn audit(&mut self, record: AuditRecord) -> Result<AuditEntry> {
        let tx = self.conn_mut().transaction()?;
        let entry = append_audit(&tx, record)?;
        tx.commit()?;
        Ok(entry)
    }

    fn audit_entries(&self, since: Option<Timestamp>) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn().prepare(
            "SELECT seq, at, actor, purpose, action, scope, outcome, prev, hash FROM audit_log WHERE at >= ?1 ORDER BY seq",
        )?;
        let since = since.map_or(i64::MIN, Timestamp::micros);
        let rows = stmt.query_map([since], read_entry)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn audit_ends(&self) -> Result<AuditEnds> {
        let end = |name: &str| -> Result<Option<(u64, String)>> {
            Ok(self
                .conn()
                .query_row(
                    "SELECT seq, hash FROM audit_chain WHERE end_name = ?1",
                    [name],
                    |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
                )
                .optional()?)
        };
        Ok(AuditEnds {
            start: end("dropped")?.unwrap_or((0, GENESIS.to_string())),
            head: end("head")?,
        })
    }

    fn add_dispute(&mut self, d: &Dispute, audit: AuditRecord) -> Result<i64> {
        let tx = self.conn_mut().transaction()?;
        let (kind, name) = scope_columns(&d.scope);
        tx.execute(
            "INSERT INTO disputes (metric, scope_kind, scope_name, from_at, to_at, context, opened_at) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![
                d.metric,
                kind,
                name,
                d.from.micros(),
                d.to.micros(),
                d.context,
                d.opened_at.micros()
            ],
        )?;
        let id = tx.last_insert_rowid();
        let mut audit = audit;
        audit.outcome = format!("{} (dispute {id})", audit.outcome);
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(id)
    }

    fn disputes(&self) -> Result<Vec<Dispute>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, metric, scope_kind, scope_name, from_at, to_at, context, opened_at, resolution, resolved_at FROM disputes ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        let mut names = Names::default();
        while let Some(r) = rows.next()? {
            out.push(Dispute {
                id: r.get(0)?,
                metric: r.get(1)?,
                scope: read_scope(
                    &mut names,
                    r.get_ref(2)?.as_str()?,
                    r.get_ref(3)?.as_str_or_null()?,
                )?,
                from: Timestamp::from_micros(r.get(4)?),
                to: Timestamp::from_micros(r.get(5)?),
                context: r.get(6)?,
                opened_at: Timestamp::from_micros(r.get(7)?),
                resolution: r.get(8)?,
                resolved_at: r.get::<_, Option<i64>>(9)?.map(Timestamp::from_micros),
            });
        }
        Ok(out)
    }

    fn resolve_dispute(
        &mut self,
        id: i64,
        resolution: &str,
        at: Timestamp,
        audit: AuditRecord,
    ) -> Result<bool> {
        let tx = self.conn_mut().transaction()?;
        let changed = tx.execute(
            "UPDATE disputes SET resolution = ?2, resolved_at = ?3 WHERE id = ?1 AND resolved_at IS NULL",
            params![id, resolution, at.micros()],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(true)
    }

    fn add_annotations(&mut self, annotations: Vec<Annotation>, audit: AuditRecord) -> Result<()> {
        let events: Vec<Event> = annotations.into_iter().map(Event::Annotation).collect();
        let tx = self.conn_mut().transaction()?;
        SqliteStore::write_events(&tx, &events)?;
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    fn note_configuration(&mut self, fingerprint: &str, audit: AuditRecord) -> Result<bool> {
        let tx = self.conn_mut().transaction()?;
        let last: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'configuration'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if last.as_deref() == Some(fingerprint) {
            return Ok(false);
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('configuration', ?1)",
            [fingerprint],
        )?;
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(true)
    }

    fn apply_retention(
        &mut self,
        config: &lantern_engine::EngineConfig,
        horizons: &lantern_governance::retention::Horizons,
        audit: AuditRecord,
    ) -> Result<crate::RetentionRun> {
        self.run_retention(config, horizons, audit)
    }
}
