//! `GovernanceStore` for PostgreSQL: the same rows as SQLite's, and every
//! change in one transaction with the audit entry that records it.

use super::schema::AUDIT_LOCK;
use super::{PostgresStore, write_events};
use crate::Result;
use crate::StoreError;
use crate::codec::{Names, grant_role, grant_teams, read_scope, scope_columns, time};
use crate::governance::{AuditEnds, Dispute, GovernanceStore, NewSession};
use lantern_events::*;
use lantern_governance::grant::same_hash;
use lantern_governance::{AuditEntry, AuditRecord, GENESIS, Grant, TokenParts};
use postgres::{Row, Transaction};

/// Appends `record` to the chain inside `tx`. The advisory lock, held to
/// the end of the transaction, makes appends from every replica take
/// turns: each reads the head the previous one committed, so the chain
/// neither forks nor skips.
pub(crate) fn append_audit(tx: &mut Transaction, record: AuditRecord) -> Result<AuditEntry> {
    append(tx, record, "SELECT pg_advisory_xact_lock($1)")
}

/// [`append_audit`] with `lock`, the statement that takes the lock.
fn append(tx: &mut Transaction, record: AuditRecord, lock: &str) -> Result<AuditEntry> {
    // Statements of one round trip each (args.rs): an audited read
    // appends on every request. The head is read by a statement of its
    // own, after the lock: a statement's snapshot is taken as it starts,
    // so one that waited for the lock could read a head already moved.
    super::query(tx, lock, &[&AUDIT_LOCK])?;
    let (seq, hash): (i64, String) = super::query_opt(
        tx,
        "SELECT seq, hash FROM audit_chain WHERE end_name = 'head'",
        &[],
    )?
    .map(|r| (r.get(0), r.get(1)))
    .unwrap_or((0, GENESIS.to_string()));
    let entry = AuditEntry::chain(seq as u64, &hash, record);
    let r = &entry.record;
    // The entry and the new head in one statement.
    super::query(
        tx,
        "WITH logged AS (
             INSERT INTO audit_log (seq, at, actor, purpose, action, scope, outcome, prev, hash)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9))
         INSERT INTO audit_chain (end_name, seq, hash) VALUES ('head', $1, $9)
         ON CONFLICT (end_name) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash",
        &[
            &(entry.seq as i64),
            &r.at.micros(),
            &r.actor,
            &r.purpose,
            &r.action,
            &r.scope,
            &r.outcome,
            &entry.prev,
            &entry.hash,
        ],
    )?;
    Ok(entry)
}

macro_rules! grant_columns {
    () => {
        "g.id, g.role, g.teams, g.source, g.purpose, g.created_at, g.expires_at, g.revoked_at, g.last_used_at, g.secret_hash"
    };
}
const GRANT_COLUMNS: &str = grant_columns!();
/// Run on every authenticated request: prepared once per connection.
const GRANT_BY_ID: &str = concat!(
    "SELECT ",
    grant_columns!(),
    " FROM grants g WHERE g.id = $1"
);
const GRANT_BY_SESSION: &str = concat!(
    "SELECT ",
    grant_columns!(),
    " FROM sessions s JOIN grants g ON g.id = s.grant_id WHERE s.hash = $1 AND s.expires_at > $2"
);

fn read_grant(r: &Row) -> Result<(Grant, Vec<u8>)> {
    let grant = Grant {
        id: r.try_get(0)?,
        role: grant_role(r.try_get(1)?)?,
        teams: grant_teams(r.try_get(2)?)?,
        source: r.try_get(3)?,
        purpose: r.try_get(4)?,
        created_at: time(r.try_get(5)?),
        expires_at: time(r.try_get(6)?),
        revoked_at: r.try_get::<_, Option<i64>>(7)?.map(time),
        last_used_at: r.try_get::<_, Option<i64>>(8)?.map(time),
    };
    Ok((grant, r.try_get(9)?))
}

fn read_entry(r: &Row) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.try_get::<_, i64>(0)? as u64,
        record: AuditRecord {
            at: time(r.try_get(1)?),
            actor: r.try_get(2)?,
            purpose: r.try_get(3)?,
            action: r.try_get(4)?,
            scope: r.try_get(5)?,
            outcome: r.try_get(6)?,
        },
        prev: r.try_get(7)?,
        hash: r.try_get(8)?,
    })
}

impl PostgresStore {
    /// `change` and the audit entry in one transaction; `change` returning
    /// `None` means nothing changed: no entry, rolled back.
    pub(crate) fn audited<T>(
        &mut self,
        audit: AuditRecord,
        change: impl FnOnce(&mut Transaction, &mut AuditRecord) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        let mut tx = self.client().transaction()?;
        let mut audit = audit;
        let Some(out) = change(&mut tx, &mut audit)? else {
            return Ok(None);
        };
        append_audit(&mut tx, audit)?;
        tx.commit()?;
        Ok(Some(out))
    }
}

impl GovernanceStore for PostgresStore {
    fn add_grant(
        &mut self,
        grant: &Grant,
        secret_hash: &[u8; 32],
        audit: AuditRecord,
    ) -> Result<()> {
        let teams: Vec<&str> = grant.teams.iter().map(Name::as_str).collect();
        self.audited(audit, |tx, _| {
            tx.execute(
                "INSERT INTO grants (id, role, teams, source, purpose, secret_hash, created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
                &[
                    &grant.id,
                    &grant.role.as_str(),
                    &teams.join("\n"),
                    &grant.source,
                    &grant.purpose,
                    &&secret_hash[..],
                    &grant.created_at.micros(),
                    &grant.expires_at.micros(),
                ],
            )?;
            Ok(Some(()))
        })?;
        Ok(())
    }

    fn grants(&self) -> Result<Vec<Grant>> {
        self.read(|c| {
            super::query(
                c,
                &format!("SELECT {GRANT_COLUMNS} FROM grants g ORDER BY g.created_at, g.id"),
                &[],
            )?
            .iter()
            .map(|r| Ok(read_grant(r)?.0))
            .collect()
        })
    }

    fn grant_for_token(&self, token: &TokenParts) -> Result<Option<Grant>> {
        let row = self.read_prepared(|c, prepared| {
            let sql = prepared.get(c, GRANT_BY_ID)?;
            Ok(c.query_opt(&sql, &[&token.id])?)
        })?;
        let Some(r) = row else {
            return Ok(None);
        };
        let (grant, hash) = read_grant(&r)?;
        Ok(same_hash(&hash, &token.hash).then_some(grant))
    }

    fn revoke_grant(&mut self, id: &str, audit: AuditRecord) -> Result<bool> {
        let at = audit.at.micros();
        Ok(self
            .audited(audit, |tx, _| {
                let changed = tx.execute(
                    "UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                    &[&id, &at],
                )?;
                if changed == 0 {
                    return Ok(None);
                }
                tx.execute("DELETE FROM sessions WHERE grant_id = $1", &[&id])?;
                // Heard by every replica's `RevocationWatch` when (and only
                // if) this commits.
                tx.execute("SELECT pg_notify($1, $2)", &[&REVOCATIONS, &id])?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn touch_grant(&mut self, id: &str, at: Timestamp) -> Result<()> {
        self.client().execute(
            "UPDATE grants SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
            &[&id, &at.micros(), &(at.micros() - crate::GRANT_USE_RESOLUTION_MICROS)],
        )?;
        Ok(())
    }

    fn add_session(&mut self, session: NewSession, audit: AuditRecord) -> Result<()> {
        let NewSession {
            hash,
            grant_id,
            expires_at,
        } = session;
        let now = audit.at.micros();
        self.audited(audit, |tx, _| {
            tx.execute("DELETE FROM sessions WHERE expires_at <= $1", &[&now])?;
            tx.execute(
                "INSERT INTO sessions (hash, grant_id, expires_at) VALUES ($1, $2, $3)",
                &[&&hash[..], &grant_id, &expires_at.micros()],
            )?;
            Ok(Some(()))
        })?;
        Ok(())
    }

    fn session_grant(&self, hash: &[u8; 32], now: Timestamp) -> Result<Option<Grant>> {
        let row = self.read_prepared(|c, prepared| {
            let sql = prepared.get(c, GRANT_BY_SESSION)?;
            Ok(c.query_opt(&sql, &[&&hash[..], &now.micros()])?)
        })?;
        row.map(|r| Ok(read_grant(&r)?.0)).transpose()
    }

    fn remove_session(&mut self, hash: &[u8; 32]) -> Result<()> {
        self.client()
            .execute("DELETE FROM sessions WHERE hash = $1", &[&&hash[..]])?;
        Ok(())
    }

    fn audit(&mut self, record: AuditRecord) -> Result<AuditEntry> {
        let mut tx = self.client().transaction()?;
        // An entry alone records something done elsewhere (a report read,
        // a refusal, a gate's answer), not a change of this store: its
        // commit does not wait for the WAL to reach the disk, as SQLite's
        // commits never do (WAL + NORMAL). A crash of the database server
        // can take back the last fraction of a second of such entries,
        // never a part of the chain: a later synchronous commit (any change
        // and its entry) flushes every entry before it. Waiting cost each
        // report an fsync, 3–5 ms, inside the lock every replica's entries
        // take turns on (docs/performance.md, issue 23's sixth step).
        // (`SET LOCAL`, in the statement that takes the lock.)
        let entry = append(
            &mut tx,
            record,
            "SELECT pg_advisory_xact_lock($1), set_config('synchronous_commit', 'off', true)",
        )?;
        tx.commit()?;
        Ok(entry)
    }

    fn audit_entries(&self, since: Option<Timestamp>) -> Result<Vec<AuditEntry>> {
        let since = since.map_or(i64::MIN, Timestamp::micros);
        self.read(|c| {
            super::query(
                c,
                "SELECT seq, at, actor, purpose, action, scope, outcome, prev, hash FROM audit_log WHERE at >= $1 ORDER BY seq",
                &[&since],
            )?
            .iter()
            .map(read_entry)
            .collect()
        })
    }

    fn audit_ends(&self) -> Result<AuditEnds> {
        self.read(|c| {
            let mut end = |name: &str| -> Result<Option<(u64, String)>> {
                Ok(super::query_opt(
                    c,
                    "SELECT seq, hash FROM audit_chain WHERE end_name = $1",
                    &[&name],
                )?
                .map(|r| (r.get::<_, i64>(0) as u64, r.get(1))))
            };
            Ok(AuditEnds {
                start: end("dropped")?.unwrap_or((0, GENESIS.to_string())),
                head: end("head")?,
            })
        })
    }

    fn add_dispute(&mut self, d: &Dispute, audit: AuditRecord) -> Result<i64> {
        let (kind, name) = scope_columns(&d.scope);
        let id = self.audited(audit, |tx, audit| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO disputes (metric, scope_kind, scope_name, from_at, to_at, context, opened_at) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
                    &[
                        &d.metric,
                        &kind,
                        &name,
                        &d.from.micros(),
                        &d.to.micros(),
                        &d.context,
                        &d.opened_at.micros(),
                    ],
                )?
                .get(0);
            audit.outcome = format!("{} (dispute {id})", audit.outcome);
            Ok(Some(id))
        })?;
        id.ok_or_else(|| StoreError::Corrupt {
            what: "a dispute without an id".into(),
        })
    }

    fn disputes(&self) -> Result<Vec<Dispute>> {
        self.read(|c| {
            let mut names = Names::default();
            super::query(
                c,
                "SELECT id, metric, scope_kind, scope_name, from_at, to_at, context, opened_at, resolution, resolved_at FROM disputes ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Dispute {
                    id: r.try_get(0)?,
                    metric: r.try_get(1)?,
                    scope: read_scope(&mut names, r.try_get(2)?, r.try_get(3)?)?,
                    from: time(r.try_get(4)?),
                    to: time(r.try_get(5)?),
                    context: r.try_get(6)?,
                    opened_at: time(r.try_get(7)?),
                    resolution: r.try_get(8)?,
                    resolved_at: r.try_get::<_, Option<i64>>(9)?.map(time),
                })
            })
            .collect()
        })
    }

    fn resolve_dispute(
        &mut self,
        id: i64,
        resolution: &str,
        at: Timestamp,
        audit: AuditRecord,
    ) -> Result<bool> {
        Ok(self
            .audited(audit, |tx, _| {
                let changed = tx.execute(
                    "UPDATE disputes SET resolution = $2, resolved_at = $3 WHERE id = $1 AND resolved_at IS NULL",
                    &[&id, &resolution, &at.micros()],
                )?;
                Ok((changed > 0).then_some(()))
            })?
            .is_some())
    }

    fn add_annotations(&mut self, annotations: Vec<Annotation>, audit: AuditRecord) -> Result<()> {
        let events: Vec<Event> = annotations.into_iter().map(Event::Annotation).collect();
        self.audited(audit, |tx, _| {
            write_events(tx, &mut super::Prepared::default(), &events)?;
            Ok(Some(()))
        })?;
        Ok(())
    }

    fn note_configuration(&mut self, fingerprint: &str, audit: AuditRecord) -> Result<bool> {
        Ok(self
            .audited(audit, |tx, _| {
                // Locked so that replicas starting together record it once.
                tx.execute("LOCK TABLE meta IN SHARE ROW EXCLUSIVE MODE", &[])?;
                let last: Option<String> = tx
                    .query_opt("SELECT value FROM meta WHERE key = 'configuration'", &[])?
                    .map(|r| r.get(0));
                if last.as_deref() == Some(fingerprint) {
                    return Ok(None);
                }
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('configuration', $1)
                     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    &[&fingerprint],
                )?;
                Ok(Some(()))
            })?
            .is_some())
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

/// The channel revocations are announced on (`NOTIFY`).
const REVOCATIONS: &str = "lantern_grant_revoked";

/// [`crate::GrantWatch`] on PostgreSQL: a connection of its own that
/// `LISTEN`s on [`REVOCATIONS`]; after losing it, the next call connects
/// again (at most once a second).
pub(crate) struct RevocationWatch {
    url: String,
    client: Option<postgres::Client>,
    last_try: Option<std::time::Instant>,
}

impl RevocationWatch {
    pub(crate) fn new(url: &str) -> Self {
        RevocationWatch {
            url: url.to_string(),
            client: None,
            last_try: None,
        }
    }

    fn listen(&mut self) -> Result<()> {
        let mut client = super::open_client(&self.url)?;
        client.batch_execute(&format!("LISTEN {REVOCATIONS}"))?;
        self.client = Some(client);
        Ok(())
    }
}

impl crate::GrantWatch for RevocationWatch {
    fn next(&mut self, wait: std::time::Duration) -> crate::GrantNotice {
        use crate::GrantNotice;
        let Some(client) = self.client.as_mut() else {
            if let Some(pause) = self
                .last_try
                .and_then(|t| std::time::Duration::from_secs(1).checked_sub(t.elapsed()))
            {
                std::thread::sleep(pause.min(wait));
                return GrantNotice::Quiet;
            }
            self.last_try = Some(std::time::Instant::now());
            return match self.listen() {
                Ok(()) => GrantNotice::Listening,
                Err(e) => GrantNotice::Lost(e.to_string()),
            };
        };
        use postgres::fallible_iterator::FallibleIterator;
        let heard = client.notifications().timeout_iter(wait).next();
        match heard {
            Ok(Some(n)) => GrantNotice::Revoked(n.payload().to_string()),
            Err(e) => {
                self.client = None;
                GrantNotice::Lost(crate::postgres_message(&e))
            }
            Ok(None) if client.is_closed() => {
                self.client = None;
                GrantNotice::Lost("the connection closed".into())
            }
            Ok(None) => GrantNotice::Quiet,
        }
    }
}
