//! SQLite's sums of pipeline runs per repository and UTC day (schema 15),
//! and what a report reads of a window's runs: the whole days summed, the
//! runs of the days the window cuts one by one.
//!
//! Invariant: after [`SqliteStore::refresh_run_days`] (which every report
//! and facts refresh runs first), `run_days` is a function of
//! `pipeline_runs`. The write path notes the (repository, day) of each run
//! it adds ([`note_stale_days`]), triggers note what updates and deletes
//! change, and the refresh sums those days again together with the days
//! of the failed attempts their successful re-runs rescue.

use crate::Result;
use crate::codec::*;
use crate::sqlite::{SqliteStore, placeholders, read_pipeline_runs};
use foldhash::{HashMap, HashMapExt};
use lantern_engine::{RunDay, RunFact, RunFacts};
use lantern_events::*;
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};
use std::collections::BTreeSet;

/// Past this many stale days, one pass over every run is cheaper than a
/// look-up per day (a bulk import, a first migration).
const DAYS_BY_LOOK_UP: usize = 2_000;

impl SqliteStore {
    /// Sums again every day noted stale, and the days of the failed
    /// attempts that a successful re-run on one of them makes flaky.
    pub(super) fn refresh_run_days(&mut self) -> Result<()> {
        let tx = self.conn_mut().transaction()?;
        let stale: Vec<(String, i64)> = {
            let mut stmt = tx.prepare("SELECT repo, day FROM run_days_stale")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        if stale.is_empty() {
            return Ok(());
        }
        let mut put = tx.prepare("INSERT INTO run_days VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        let mut write = |d: &RunDay| -> Result<()> {
            put.execute(params![
                d.day,
                d.repo.as_str(),
                count(d.first_success),
                count(d.first_failure),
                count(d.flaky),
                encode_durations(&d.success_micros),
            ])?;
            Ok(())
        };
        if stale.len() > DAYS_BY_LOOK_UP {
            tx.execute_batch("DELETE FROM run_days")?;
            for d in sum_every_run(&tx)? {
                write(&d)?;
            }
        } else {
            let mut clear = tx.prepare("DELETE FROM run_days WHERE day = ?1 AND repo = ?2")?;
            let mut done: BTreeSet<(String, i64)> = BTreeSet::new();
            let mut todo = stale;
            while let Some((repo, day)) = todo.pop() {
                if !done.insert((repo.clone(), day)) {
                    continue;
                }
                let (summed, rescued) = sum_one_day(&tx, &repo, day)?;
                clear.execute(params![day, repo])?;
                if let Some(d) = summed {
                    write(&d)?;
                }
                todo.extend(rescued.into_iter().map(|d| (repo.clone(), d)));
            }
        }
        drop(put);
        tx.execute_batch("DELETE FROM run_days_stale")?;
        tx.commit()?;
        Ok(())
    }
}

/// Notes the (repository, day) of each run among `events`, once per batch:
/// what [`SqliteStore::refresh_run_days`] sums again.
pub(super) fn note_stale_days(tx: &rusqlite::Transaction, events: &[Event]) -> Result<()> {
    let days: BTreeSet<(&str, i64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::PipelineRun(r) => Some((
                r.repo.as_str(),
                r.finished_at.micros().div_euclid(MICROS_PER_DAY),
            )),
            _ => None,
        })
        .collect();
    let mut put = tx.prepare_cached("INSERT OR IGNORE INTO run_days_stale VALUES (?1, ?2)")?;
    for (repo, day) in days {
        put.execute(params![repo, day])?;
    }
    Ok(())
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn day_start(day: i64) -> i64 {
    day.saturating_mul(MICROS_PER_DAY)
}

/// The runs of one repository and day, summed (`None`: it has none), and
/// the days of the failed attempts its successful re-runs make flaky.
fn sum_one_day(conn: &Connection, repo: &str, day: i64) -> Result<(Option<RunDay>, Vec<i64>)> {
    let mut names = Names::default();
    let mut runs = read_pipeline_runs(
        conn,
        &mut names,
        "WHERE repo = ?1 AND finished_at >= ?2 AND finished_at < ?3",
        params![repo, day_start(day), day_start(day + 1)],
    )?;
    if runs.is_empty() {
        return Ok((None, Vec::new()));
    }
    let mut rescued = Vec::new();
    {
        let mut failed_below = conn.prepare_cached(
            "SELECT finished_at FROM pipeline_runs WHERE repo = ?1 AND sha = ?2 AND pipeline = ?3
               AND status = 'failure' AND attempt < ?4",
        )?;
        for r in runs
            .iter()
            .filter(|r| r.status == PipelineStatus::Success && r.attempt > 1)
        {
            let days = failed_below.query_map(
                params![repo, r.sha.to_string(), r.pipeline.as_str(), r.attempt],
                |row| row.get::<_, i64>(0),
            )?;
            for at in days {
                rescued.push(at?.div_euclid(MICROS_PER_DAY));
            }
        }
    }
    rescued.retain(|&d| d != day);
    let of_day = runs.len();
    runs.extend(later_successes(conn, &mut names, &runs)?);
    let facts = RunFact::of_runs(&runs);
    let repo = names.get(repo)?;
    Ok((
        Some(in_order(RunDay::of(repo, day, &facts[..of_day]))),
        rescued,
    ))
}

/// The successful runs of the pipelines that failed among `runs`, on the
/// same commit: what makes a failed run flaky (hygiene.md F4).
pub(crate) fn later_successes(
    conn: &Connection,
    names: &mut Names,
    runs: &[PipelineRun],
) -> Result<Vec<PipelineRun>> {
    let failed = crate::failed_run_keys(runs);
    let mut later = Vec::new();
    for chunk in failed.chunks(100) {
        // A disjunction of equalities, which SQLite answers by index; a
        // row value `IN (VALUES …)` it answers with a scan of every run.
        let sql = format!(
            "WHERE status = 'success' AND ({})",
            vec!["(repo = ? AND sha = ? AND pipeline = ?)"; chunk.len()].join(" OR ")
        );
        let args = chunk
            .iter()
            .flat_map(|(r, s, p)| [r.clone(), s.clone(), p.clone()]);
        later.extend(read_pipeline_runs(
            conn,
            names,
            &sql,
            params_from_iter(args),
        )?);
    }
    Ok(later)
}

/// Every day of every repository summed, in one pass over every run: each
/// failure asks the index by commit whether a higher attempt succeeded (a
/// map of every successful re-run, grouped by SQLite, took four times as
/// long at 5 M runs).
fn sum_every_run(conn: &Connection) -> Result<Vec<RunDay>> {
    let mut names = Names::default();
    let mut rescued = conn.prepare(
        "SELECT EXISTS (SELECT 1 FROM pipeline_runs WHERE repo = ?1 AND sha = ?2 AND pipeline = ?3
           AND status = 'success' AND attempt > ?4)",
    )?;
    let mut sums: HashMap<(Name, i64), RunDay> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT repo, sha, pipeline, started_at, finished_at, status, attempt FROM pipeline_runs",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let repo = names.get(r.get_ref(0)?.as_str()?)?;
        let finished_at: i64 = r.get(4)?;
        let day = finished_at.div_euclid(MICROS_PER_DAY);
        let status = enum_value(&PipelineStatus::ALL, r.get_ref(5)?.as_str()?)?;
        let attempt: u32 = r.get(6)?;
        let started_at: i64 = r.get(3)?;
        let flaky = status == PipelineStatus::Failure
            && rescued.query_row(
                params![
                    repo.as_str(),
                    r.get_ref(1)?.as_str()?,
                    r.get_ref(2)?.as_str()?,
                    attempt
                ],
                |row| row.get::<_, bool>(0),
            )?;
        let fact = RunFact::new(
            repo.clone(),
            (time(started_at), time(finished_at)),
            status,
            attempt,
            flaky,
        );
        sums.entry((repo.clone(), day))
            .or_insert_with(|| RunDay::of(repo, day, &[]))
            .add(&fact);
    }
    let mut out: Vec<RunDay> = sums.into_values().map(in_order).collect();
    out.sort_by(|a, b| (a.day, &a.repo).cmp(&(b.day, &b.repo)));
    Ok(out)
}

/// Durations shortest first: a day's sum does not depend on the order
/// its runs were read in.
fn in_order(mut day: RunDay) -> RunDay {
    day.success_micros.sort_unstable();
    day
}

fn encode_durations(micros: &[i64]) -> Vec<u8> {
    micros.iter().flat_map(|m| m.to_le_bytes()).collect()
}

fn decode_durations(blob: &[u8]) -> Result<Vec<i64>> {
    if !blob.len().is_multiple_of(8) {
        return Err(corrupt(&format!(
            "run_days.success holds {} bytes, not whole 8-byte durations",
            blob.len()
        )));
    }
    Ok(blob
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect())
}

/// What a report reads of the runs of `repos` (empty: every repository)
/// finished in `[from, to)`: the whole days from `run_days`, the runs of
/// the days the window cuts one by one.
pub(super) fn window_runs(
    conn: &Connection,
    names: &mut Names,
    repos: Option<&[Value]>,
    (from, to): (i64, i64),
) -> Result<RunFacts> {
    let mut out = RunFacts::default();
    if from >= to || repos.is_some_and(<[Value]>::is_empty) {
        return Ok(out);
    }
    let in_repos = match repos {
        None => String::new(),
        Some(r) => format!("AND repo IN ({})", placeholders(r.len())),
    };
    let repos = repos.unwrap_or_default();
    // Whole days: [first, last).
    let first = from.div_euclid(MICROS_PER_DAY) + i64::from(from.rem_euclid(MICROS_PER_DAY) != 0);
    let last = to.div_euclid(MICROS_PER_DAY);
    let mut cut = Vec::new();
    if first < last {
        let sql = format!(
            "SELECT repo, day, first_success, first_failure, flaky, success FROM run_days
             WHERE day >= ? AND day < ? {in_repos}"
        );
        let mut stmt = conn.prepare(&sql)?;
        let args = [Value::from(first), Value::from(last)]
            .into_iter()
            .chain(repos.iter().cloned());
        let mut rows = stmt.query(params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            out.days.push(RunDay {
                repo: names.get(r.get_ref(0)?.as_str()?)?,
                day: r.get(1)?,
                first_success: r.get::<_, i64>(2)?.max(0) as u64,
                first_failure: r.get::<_, i64>(3)?.max(0) as u64,
                flaky: r.get::<_, i64>(4)?.max(0) as u64,
                success_micros: decode_durations(r.get_ref(5)?.as_blob()?)?,
            });
        }
    }
    // The cut days, each within one day (for the organisation's look-up
    // of that day's repositories).
    match first <= last {
        true => cut.extend([(from, day_start(first)), (day_start(last), to)]),
        false => cut.push((from, to)),
    }
    for (a, b) in cut.into_iter().filter(|(a, b)| a < b) {
        // By (repo, finished_at): the organisation's are the repositories
        // with runs that day (summed just before), so no index by time
        // alone is needed.
        let day = a.div_euclid(MICROS_PER_DAY);
        let (clause, args): (String, Vec<Value>) = match repos.is_empty() {
            true => (
                "WHERE repo IN (SELECT repo FROM run_days WHERE day = ?) AND finished_at >= ? AND finished_at < ?".into(),
                vec![day.into(), a.into(), b.into()],
            ),
            false => (
                format!("WHERE finished_at >= ? AND finished_at < ? {in_repos}"),
                [Value::from(a), Value::from(b)]
                    .into_iter()
                    .chain(repos.iter().cloned())
                    .collect(),
            ),
        };
        let mut runs = read_pipeline_runs(conn, names, &clause, params_from_iter(args))?;
        let cut_runs = runs.len();
        runs.extend(later_successes(conn, names, &runs)?);
        out.runs
            .extend(RunFact::of_runs(&runs).into_iter().take(cut_runs));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use lantern_engine::rng::Rng;

    /// Random runs over a few repositories and days: re-runs that fail
    /// and succeed, on one commit or another, finished on other days.
    fn random_runs(seed: u64, n: usize) -> Vec<Event> {
        let mut rng = Rng::new(seed);
        let repos: [&str; 3] = ["acme/api", "acme/web", "acme/jobs"];
        let pipelines: [&str; 2] = ["ci", "lint"];
        let shas: Vec<String> = (0..20).map(|_| rng.sha()).collect();
        let statuses = [
            PipelineStatus::Success,
            PipelineStatus::Failure,
            PipelineStatus::Cancelled,
        ];
        (0..n)
            .map(|i| {
                let repo = *rng.pick(&repos);
                let pipeline = *rng.pick(&pipelines);
                let finished = 1_767_225_600_000_000 + rng.below(10 * MICROS_PER_DAY as u64) as i64;
                Event::PipelineRun(PipelineRun {
                    id: EventId::parse(&format!("run-{i}")).unwrap(),
                    repo: Name::parse(repo).unwrap(),
                    sha: Sha::parse(rng.pick(&shas).as_str()).unwrap(),
                    pipeline: Name::parse(pipeline).unwrap(),
                    started_at: time(finished - rng.below(3_600_000_000) as i64),
                    finished_at: time(finished),
                    status: *rng.pick(&statuses),
                    attempt: 1 + rng.below(3) as u32,
                })
            })
            .collect()
    }

    #[test]
    fn one_pass_over_every_run_sums_each_day_as_a_look_up_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("runs.db")).unwrap();
        store.write(&random_runs(7, 600)).unwrap();
        let conn = store.conn();
        let stale: Vec<(String, i64)> = conn
            .prepare("SELECT repo, day FROM run_days_stale ORDER BY repo, day")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(stale.len() >= 25, "{} stale days", stale.len());
        let by_look_up: Vec<RunDay> = stale
            .iter()
            .map(|(repo, day)| sum_one_day(conn, repo, *day).unwrap().0.unwrap())
            .collect();
        let mut every = sum_every_run(conn).unwrap();
        every.sort_by(|a, b| (&a.repo, a.day).cmp(&(&b.repo, b.day)));
        assert_eq!(every, by_look_up);
        let flaky: u64 = by_look_up.iter().map(|d| d.flaky).sum();
        assert!(flaky > 10, "{flaky} flaky runs");
    }

    /// A session (a source's events with its position) writes what
    /// `write` does: its runs' days are noted for summing, as theirs are.
    #[test]
    fn runs_written_in_a_session_note_their_days_as_a_write_does() {
        let dir = tempfile::tempdir().unwrap();
        let stale = |store: &SqliteStore| -> Vec<(String, i64)> {
            store
                .conn()
                .prepare("SELECT repo, day FROM run_days_stale ORDER BY repo, day")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let runs = random_runs(11, 200);
        let mut written = SqliteStore::open(&dir.path().join("written.db")).unwrap();
        written.write(&runs).unwrap();
        let mut in_session = SqliteStore::open(&dir.path().join("session.db")).unwrap();
        let mut session = in_session.session().unwrap();
        session.write(&runs).unwrap();
        session.commit(&[("ci:position", "200")]).unwrap();
        assert!(stale(&written).len() >= 20);
        assert_eq!(stale(&in_session), stale(&written));
    }

    #[test]
    fn a_rerun_on_a_later_day_sums_the_failed_attempts_day_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("runs.db")).unwrap();
        let run = |id: &str, attempt: u32, status, day: i64| {
            let at = day * MICROS_PER_DAY + 3_600_000_000;
            Event::PipelineRun(PipelineRun {
                id: EventId::parse(id).unwrap(),
                repo: Name::parse("acme/api").unwrap(),
                sha: Sha::parse("abcdef1").unwrap(),
                pipeline: Name::parse("ci").unwrap(),
                started_at: time(at - 60_000_000),
                finished_at: time(at),
                status,
                attempt,
            })
        };
        let flaky_on = |store: &mut SqliteStore, day: i64| -> i64 {
            store.refresh_run_days().unwrap();
            store
                .conn()
                .query_row(
                    "SELECT coalesce(sum(flaky), 0) FROM run_days WHERE day = ?1",
                    [day],
                    |r| r.get(0),
                )
                .unwrap()
        };
        store
            .write(&[run("a1", 1, PipelineStatus::Failure, 20_000)])
            .unwrap();
        assert_eq!(flaky_on(&mut store, 20_000), 0);
        store
            .write(&[run("a2", 2, PipelineStatus::Success, 20_001)])
            .unwrap();
        assert_eq!(flaky_on(&mut store, 20_000), 1);
        // The same run delivered again as a failure: nothing is flaky now.
        store
            .write(&[run("a2", 2, PipelineStatus::Failure, 20_001)])
            .unwrap();
        assert_eq!(flaky_on(&mut store, 20_000), 0);
        store
            .write(&[run("a3", 3, PipelineStatus::Success, 20_003)])
            .unwrap();
        assert_eq!(flaky_on(&mut store, 20_000), 1);
        assert_eq!(flaky_on(&mut store, 20_001), 1);
        store
            .conn()
            .execute("DELETE FROM pipeline_runs WHERE id = 'a3'", [])
            .unwrap();
        assert_eq!(flaky_on(&mut store, 20_000), 0);
        assert_eq!(flaky_on(&mut store, 20_003), 0);
        let days: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM run_days", [], |r| r.get(0))
            .unwrap();
        assert_eq!(days, 2, "the emptied day's sum is gone");
    }
}
