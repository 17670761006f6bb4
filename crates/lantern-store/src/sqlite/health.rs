//! `HealthStore` for SQLite. The code and answer tables have no rowid
//! (`WITHOUT ROWID`, keyed by a hash and a random id), so not even the
//! order of insertion is kept beside them.

use super::governance::append_audit;
use crate::Result;
use crate::SqliteStore;
use crate::health::*;
use lantern_events::{Name, Timestamp};
use lantern_governance::AuditRecord;
use rusqlite::{OptionalExtension, params};

fn read_round(r: &rusqlite::Row) -> Result<PulseRound> {
    Ok(PulseRound {
        id: r.get(0)?,
        team: team_name(r.get_ref(1)?.as_str()?)?,
        visibility: visibility(r.get_ref(2)?.as_str()?)?,
        opened_on: Timestamp::from_micros(r.get(3)?),
        closes_at: Timestamp::from_micros(r.get(4)?),
        closed_on: r.get::<_, Option<i64>>(5)?.map(Timestamp::from_micros),
    })
}

fn read_experiment(r: &rusqlite::Row) -> Result<Experiment> {
    Ok(Experiment {
        id: r.get(0)?,
        team: team_name(r.get_ref(1)?.as_str()?)?,
        constraint: r.get(2)?,
        indicator: r.get(3)?,
        direction: r.get(4)?,
        from: Timestamp::from_micros(r.get(5)?),
        review: Timestamp::from_micros(r.get(6)?),
        expect_dip: expect_dip_list(r.get_ref(7)?.as_str()?),
        ended_at: r.get::<_, Option<i64>>(8)?.map(Timestamp::from_micros),
    })
}

impl HealthStore for SqliteStore {
    fn add_pulse_round(&mut self, round: &PulseRound, audit: AuditRecord) -> Result<i64> {
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "INSERT INTO pulse_rounds (team, visibility, opened_on, closes_at) VALUES (?1,?2,?3,?4)",
            params![
                round.team.as_str(),
                round.visibility.as_str(),
                round.opened_on.micros(),
                round.closes_at.micros()
            ],
        )?;
        let id = tx.last_insert_rowid();
        let mut audit = audit;
        audit.outcome = format!("{} (round {id})", audit.outcome);
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(id)
    }

    fn pulse_rounds(&self, team: Option<&Name>) -> Result<Vec<PulseRound>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, team, visibility, opened_on, closes_at, closed_on FROM pulse_rounds
             WHERE ?1 IS NULL OR team = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([team.map(Name::as_str)])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_round(r)?);
        }
        Ok(out)
    }

    fn close_pulse_round(&mut self, id: i64, day: Timestamp, audit: AuditRecord) -> Result<bool> {
        let tx = self.conn_mut().transaction()?;
        let changed = tx.execute(
            "UPDATE pulse_rounds SET closed_on = ?2 WHERE id = ?1 AND closed_on IS NULL",
            params![id, day.micros()],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        tx.execute("DELETE FROM pulse_codes WHERE round = ?1", [id])?;
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(true)
    }

    fn add_pulse_codes(
        &mut self,
        round: i64,
        hashes: &[[u8; 32]],
        audit: AuditRecord,
    ) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        {
            let mut insert =
                tx.prepare("INSERT INTO pulse_codes (hash, round, used) VALUES (?1, ?2, 0)")?;
            for h in hashes {
                insert.execute(params![&h[..], round])?;
            }
        }
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(())
    }

    fn answer_pulse(
        &mut self,
        round: i64,
        code_hash: &[u8; 32],
        answer_id: &str,
        values: &PulseValues,
        now: Timestamp,
    ) -> Result<Answered> {
        let tx = self.conn_mut().transaction()?;
        let open: Option<i64> = tx
            .query_row(
                "SELECT id FROM pulse_rounds WHERE id = ?1 AND closed_on IS NULL AND closes_at > ?2",
                params![round, now.micros()],
                |r| r.get(0),
            )
            .optional()?;
        if open.is_none() {
            return Ok(Answered::Closed);
        }
        let used: Option<bool> = tx
            .query_row(
                "SELECT used FROM pulse_codes WHERE hash = ?1 AND round = ?2",
                params![&code_hash[..], round],
                |r| r.get(0),
            )
            .optional()?;
        match used {
            None => return Ok(Answered::UnknownCode),
            Some(true) => return Ok(Answered::UsedCode),
            Some(false) => {}
        }
        tx.execute(
            "UPDATE pulse_codes SET used = 1 WHERE hash = ?1",
            [&code_hash[..]],
        )?;
        let v = |i: usize| values[i].map(i64::from);
        tx.execute(
            &format!("INSERT INTO pulse_answers (id, round, {ANSWER_COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"),
            params![answer_id, round, v(0), v(1), v(2), v(3), v(4), v(5)],
        )?;
        tx.commit()?;
        Ok(Answered::Stored)
    }

    fn pulse_answers(&self, round: i64) -> Result<Vec<PulseValues>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {ANSWER_COLUMNS} FROM pulse_answers WHERE round = ?1 ORDER BY id"
        ))?;
        let mut rows = stmt.query([round])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut values = [None; 6];
            for (i, v) in values.iter_mut().enumerate() {
                *v = answer_value(r.get(i)?)?;
            }
            out.push(values);
        }
        Ok(out)
    }

    fn add_experiment(&mut self, e: &Experiment, audit: AuditRecord) -> Result<i64> {
        let tx = self.conn_mut().transaction()?;
        tx.execute(
            "INSERT INTO experiments (team, constraint_text, indicator, direction, from_at, review_at, expect_dip) VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![
                e.team.as_str(),
                e.constraint,
                e.indicator,
                e.direction,
                e.from.micros(),
                e.review.micros(),
                expect_dip_text(&e.expect_dip)
            ],
        )?;
        let id = tx.last_insert_rowid();
        let mut audit = audit;
        audit.outcome = format!("{} (experiment {id})", audit.outcome);
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(id)
    }

    fn experiments(&self, team: Option<&Name>) -> Result<Vec<Experiment>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, team, constraint_text, indicator, direction, from_at, review_at, expect_dip, ended_at
             FROM experiments WHERE ?1 IS NULL OR team = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([team.map(Name::as_str)])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(read_experiment(r)?);
        }
        Ok(out)
    }

    fn end_experiment(&mut self, id: i64, at: Timestamp, audit: AuditRecord) -> Result<bool> {
        let tx = self.conn_mut().transaction()?;
        let changed = tx.execute(
            "UPDATE experiments SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
            params![id, at.micros()],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        append_audit(&tx, audit)?;
        tx.commit()?;
        Ok(true)
    }
}
