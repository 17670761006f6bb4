//! `NotifyStore` for SQLite.

use super::governance::append_audit;
use crate::Result;
use crate::SqliteStore;
use crate::health::team_name;
use crate::notify::*;
use lantern_events::Timestamp;
use lantern_governance::AuditRecord;
use rusqlite::params;

fn read(r: &rusqlite::Row) -> Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        target: r.get(1)?,
        key: r.get(2)?,
        kind: r.get(3)?,
        team: team_name(r.get_ref(4)?.as_str()?)?,
        message: r.get(5)?,
        created_at: Timestamp::from_micros(r.get(6)?),
        state: Delivery::parse(r.get_ref(7)?.as_str()?)?,
        attempts: r.get::<_, i64>(8)?.clamp(0, i64::from(u32::MAX)) as u32,
        next_at: Timestamp::from_micros(r.get(9)?),
        last_at: r.get::<_, Option<i64>>(10)?.map(Timestamp::from_micros),
        last_error: r.get(11)?,
    })
}

impl SqliteStore {
    fn notifications_where(
        &self,
        condition: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Notification>> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM notifications {condition}"))?;
        let mut rows = stmt.query(params)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read(r)?);
        }
        Ok(out)
    }
}

impl NotifyStore for SqliteStore {
    fn queue_notification(&mut self, n: &NewNotification, audit: AuditRecord) -> Result<bool> {
        let tx = self.conn_mut().transaction()?;
        let queued = tx.execute(
            "INSERT OR IGNORE INTO notifications (target, key, kind, team, message, created_at, state, attempts, next_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?6)",
            params![
                n.target,
                n.key,
                n.kind,
                n.team.as_str(),
                n.message,
                n.created_at.micros()
            ],
        )?;
        if queued == 0 {
            return Ok(false);
        }
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(true)
    }

    fn due_notifications(&self, now: Timestamp, limit: usize) -> Result<Vec<Notification>> {
        self.notifications_where(
            "WHERE state = 'pending' AND next_at <= ?1 ORDER BY next_at, id LIMIT ?2",
            params![now.micros(), limit as i64],
        )
    }

    fn record_attempt(&mut self, id: i64, attempt: &Attempt) -> Result<()> {
        let (state, at, next_at, error) = attempt_columns(attempt);
        self.conn().execute(
            "UPDATE notifications SET state = ?2, attempts = attempts + 1, last_at = ?3,
                 next_at = coalesce(?4, next_at), last_error = coalesce(?5, last_error)
             WHERE id = ?1",
            params![id, state, at, next_at, error],
        )?;
        Ok(())
    }

    fn notifications(&self, target: Option<&str>, limit: usize) -> Result<Vec<Notification>> {
        self.notifications_where(
            "WHERE ?1 IS NULL OR target = ?1 ORDER BY id DESC LIMIT ?2",
            params![target, limit as i64],
        )
    }
}
