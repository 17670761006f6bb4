//! `HealthStore` for PostgreSQL: the same rows as SQLite's. A row's
//! transaction id (`xmin`) would tie an answer to the code marked used in
//! the same transaction, so answering rewrites every code and every answer
//! of the round in that transaction: all of them then carry its id.

use super::PostgresStore;
use crate::Result;
use crate::codec::time;
use crate::health::*;
use lantern_events::{Name, Timestamp};
use lantern_governance::AuditRecord;
use postgres::Row;

fn read_round(r: &Row) -> Result<PulseRound> {
    Ok(PulseRound {
        id: r.try_get(0)?,
        team: team_name(r.try_get(1)?)?,
        visibility: visibility(r.try_get(2)?)?,
        opened_on: time(r.try_get(3)?),
        closes_at: time(r.try_get(4)?),
        closed_on: r.try_get::<_, Option<i64>>(5)?.map(time),
    })
}

fn read_experiment(r: &Row) -> Result<Experiment> {
    Ok(Experiment {
        id: r.try_get(0)?,
        team: team_name(r.try_get(1)?)?,
        constraint: r.try_get(2)?,
        indicator: r.try_get(3)?,
        direction: r.try_get(4)?,
        from: time(r.try_get(5)?),
        review: time(r.try_get(6)?),
        expect_dip: expect_dip_list(r.try_get(7)?),
        ended_at: r.try_get::<_, Option<i64>>(8)?.map(time),
    })
}

impl HealthStore for PostgresStore {
    fn add_pulse_round(&mut self, round: &PulseRound, audit: AuditRecord) -> Result<i64> {
        let id = self.audited(audit, |tx, audit| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO pulse_rounds (team, visibility, opened_on, closes_at) VALUES ($1,$2,$3,$4) RETURNING id",
                    &[
                        &round.team.as_str(),
                        &round.visibility.as_str(),
                        &round.opened_on.micros(),
                        &round.closes_at.micros(),
                    ],
                )?
                .get(0);
            audit.outcome = format!("{} (round {id})", audit.outcome);
            Ok(Some(id))
        })?;
        id.ok_or_else(|| crate::StoreError::Corrupt {
            what: "a pulse round without an id".into(),
        })
    }

    fn pulse_rounds(&self, team: Option<&Name>) -> Result<Vec<PulseRound>> {
        let team = team.map(Name::as_str);
        self.read(|c| {
            c.query(
                "SELECT id, team, visibility, opened_on, closes_at, closed_on FROM pulse_rounds
                 WHERE $1::TEXT IS NULL OR team = $1 ORDER BY id",
                &[&team],
            )?
            .iter()
            .map(read_round)
            .collect()
        })
    }

    fn close_pulse_round(&mut self, id: i64, day: Timestamp, audit: AuditRecord) -> Result<bool> {
        Ok(self
            .audited(audit, |tx, _| {
                let changed = tx.execute(
                    "UPDATE pulse_rounds SET closed_on = $2 WHERE id = $1 AND closed_on IS NULL",
                    &[&id, &day.micros()],
                )?;
                if changed == 0 {
                    return Ok(None);
                }
                tx.execute("DELETE FROM pulse_codes WHERE round = $1", &[&id])?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn add_pulse_codes(
        &mut self,
        round: i64,
        hashes: &[[u8; 32]],
        audit: AuditRecord,
    ) -> Result<()> {
        self.audited(audit, |tx, _| {
            let insert =
                tx.prepare("INSERT INTO pulse_codes (hash, round, used) VALUES ($1, $2, FALSE)")?;
            for h in hashes {
                tx.execute(&insert, &[&&h[..], &round])?;
            }
            Ok(Some(()))
        })?;
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
        let mut tx = self.client().transaction()?;
        // Answers to one round take turns (a close waits for them too).
        let open = tx.query_opt(
            "SELECT id FROM pulse_rounds WHERE id = $1 AND closed_on IS NULL AND closes_at > $2 FOR UPDATE",
            &[&round, &now.micros()],
        )?;
        if open.is_none() {
            return Ok(Answered::Closed);
        }
        let used: Option<bool> = tx
            .query_opt(
                "SELECT used FROM pulse_codes WHERE hash = $1 AND round = $2",
                &[&&code_hash[..], &round],
            )?
            .map(|r| r.try_get(0))
            .transpose()?;
        match used {
            None => return Ok(Answered::UnknownCode),
            Some(true) => return Ok(Answered::UsedCode),
            Some(false) => {}
        }
        let v: Vec<Option<i64>> = values.iter().map(|v| v.map(i64::from)).collect();
        tx.execute(
            &format!("INSERT INTO pulse_answers (id, round, {ANSWER_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"),
            &[&answer_id, &round, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]],
        )?;
        // Every code and answer row of the round now gets this
        // transaction's id, the used code among them.
        tx.execute(
            "UPDATE pulse_codes SET used = (used OR hash = $1) WHERE round = $2",
            &[&&code_hash[..], &round],
        )?;
        tx.execute(
            "UPDATE pulse_answers SET round = round WHERE round = $1",
            &[&round],
        )?;
        tx.commit()?;
        Ok(Answered::Stored)
    }

    fn pulse_answers(&self, round: i64) -> Result<Vec<PulseValues>> {
        self.read(|c| {
            let rows = c.query(
                &format!(
                    "SELECT {ANSWER_COLUMNS} FROM pulse_answers WHERE round = $1 ORDER BY id COLLATE \"C\""
                ),
                &[&round],
            )?;
            rows.iter()
                .map(|r| {
                    let mut values = [None; 6];
                    for (i, v) in values.iter_mut().enumerate() {
                        *v = answer_value(r.try_get(i)?)?;
                    }
                    Ok(values)
                })
                .collect()
        })
    }

    fn add_experiment(&mut self, e: &Experiment, audit: AuditRecord) -> Result<i64> {
        let id = self.audited(audit, |tx, audit| {
            let id: i64 = tx
                .query_one(
                    "INSERT INTO experiments (team, constraint_text, indicator, direction, from_at, review_at, expect_dip) VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
                    &[
                        &e.team.as_str(),
                        &e.constraint,
                        &e.indicator,
                        &e.direction,
                        &e.from.micros(),
                        &e.review.micros(),
                        &expect_dip_text(&e.expect_dip),
                    ],
                )?
                .get(0);
            audit.outcome = format!("{} (experiment {id})", audit.outcome);
            Ok(Some(id))
        })?;
        id.ok_or_else(|| crate::StoreError::Corrupt {
            what: "an experiment without an id".into(),
        })
    }

    fn experiments(&self, team: Option<&Name>) -> Result<Vec<Experiment>> {
        let team = team.map(Name::as_str);
        self.read(|c| {
            c.query(
                "SELECT id, team, constraint_text, indicator, direction, from_at, review_at, expect_dip, ended_at
                 FROM experiments WHERE $1::TEXT IS NULL OR team = $1 ORDER BY id",
                &[&team],
            )?
            .iter()
            .map(read_experiment)
            .collect()
        })
    }

    fn end_experiment(&mut self, id: i64, at: Timestamp, audit: AuditRecord) -> Result<bool> {
        Ok(self
            .audited(audit, |tx, _| {
                let changed = tx.execute(
                    "UPDATE experiments SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL",
                    &[&id, &at.micros()],
                )?;
                Ok((changed > 0).then_some(()))
            })?
            .is_some())
    }
}
