//! `NotifyStore` for PostgreSQL: the same rows as SQLite's.

use super::PostgresStore;
use crate::Result;
use crate::codec::time;
use crate::health::team_name;
use crate::notify::*;
use lantern_events::Timestamp;
use lantern_governance::AuditRecord;
use postgres::Row;
use postgres::types::ToSql;

fn read(r: &Row) -> Result<Notification> {
    Ok(Notification {
        id: r.try_get(0)?,
        target: r.try_get(1)?,
        key: r.try_get(2)?,
        kind: r.try_get(3)?,
        team: team_name(r.try_get(4)?)?,
        message: r.try_get(5)?,
        created_at: time(r.try_get(6)?),
        state: Delivery::parse(r.try_get(7)?)?,
        attempts: r.try_get::<_, i64>(8)?.clamp(0, i64::from(u32::MAX)) as u32,
        next_at: time(r.try_get(9)?),
        last_at: r.try_get::<_, Option<i64>>(10)?.map(time),
        last_error: r.try_get(11)?,
    })
}

impl PostgresStore {
    fn notifications_where(
        &self,
        condition: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Notification>> {
        self.read(|c| {
            c.query(
                &format!("SELECT {COLUMNS} FROM notifications {condition}"),
                params,
            )?
            .iter()
            .map(read)
            .collect()
        })
    }
}

impl NotifyStore for PostgresStore {
    fn queue_notification(&mut self, n: &NewNotification, audit: AuditRecord) -> Result<bool> {
        let queued = self.audited(audit, |tx, _| {
            let rows = tx.execute(
                "INSERT INTO notifications (target, key, kind, team, message, created_at, state, attempts, next_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6)
                 ON CONFLICT (target, key) DO NOTHING",
                &[
                    &n.target,
                    &n.key,
                    &n.kind,
                    &n.team.as_str(),
                    &n.message,
                    &n.created_at.micros(),
                ],
            )?;
            Ok((rows > 0).then_some(()))
        })?;
        Ok(queued.is_some())
    }

    fn due_notifications(&self, now: Timestamp, limit: usize) -> Result<Vec<Notification>> {
        self.notifications_where(
            "WHERE state = 'pending' AND next_at <= $1 ORDER BY next_at, id LIMIT $2",
            &[&now.micros(), &(limit as i64)],
        )
    }

    fn record_attempt(&mut self, id: i64, attempt: &Attempt) -> Result<()> {
        let (state, at, next_at, error) = attempt_columns(attempt);
        self.client().execute(
            "UPDATE notifications SET state = $2, attempts = attempts + 1, last_at = $3,
                 next_at = coalesce($4, next_at), last_error = coalesce($5, last_error)
             WHERE id = $1",
            &[&id, &state, &at, &next_at, &error],
        )?;
        Ok(())
    }

    fn notifications(&self, target: Option<&str>, limit: usize) -> Result<Vec<Notification>> {
        self.notifications_where(
            "WHERE $1::TEXT IS NULL OR target = $1 ORDER BY id DESC LIMIT $2",
            &[&target, &(limit as i64)],
        )
    }
}
