//! What reports read of CI pipeline runs (hygiene.md F4 `flaky_runs`,
//! `pipeline_success_rate`, M10 `time_in_ci`), in a form a store can keep
//! summed per repository and UTC day: an organisation's window holds
//! hundreds of thousands of runs, and a report must not decode each.

use foldhash::{HashMap, HashMapExt};
use lantern_events::{MICROS_PER_DAY, Name, PipelineRun, PipelineStatus, Sha, Timestamp};

/// One run as reports read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFact {
    pub repo: Name,
    pub finished_at: Timestamp,
    /// The outcome of a first attempt (`attempt` 1); `None` for re-runs.
    pub first_attempt: Option<PipelineStatus>,
    /// `finished_at − started_at` in µs when the run succeeded.
    pub success_micros: Option<i64>,
    /// A failed run that a higher attempt of the same repository, commit
    /// and pipeline made good.
    pub flaky: bool,
}

/// The runs of one repository finished on one whole UTC day, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDay {
    pub repo: Name,
    /// Days since 1970-01-01.
    pub day: i64,
    pub first_success: u64,
    pub first_failure: u64,
    pub flaky: u64,
    /// `finished_at − started_at` in µs of each successful run.
    pub success_micros: Vec<i64>,
}

/// What a report reads of the runs: whole days summed, and single runs on
/// the days a store's window does not hold whole. A run is in one or the
/// other, never both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFacts {
    pub days: Vec<RunDay>,
    pub runs: Vec<RunFact>,
}

impl RunFact {
    /// The facts of each of `runs`, in order. A failed run is flaky when
    /// a higher attempt among `runs` succeeded, so `runs` must hold every
    /// later successful attempt of the failed ones.
    pub fn of_runs(runs: &[PipelineRun]) -> Vec<RunFact> {
        let mut best: HashMap<(&Name, &Sha, &Name), u32> = HashMap::new();
        for r in runs.iter().filter(|r| r.status == PipelineStatus::Success) {
            let top = best.entry((&r.repo, &r.sha, &r.pipeline)).or_insert(0);
            *top = (*top).max(r.attempt);
        }
        runs.iter()
            .map(|r| {
                let rescued = best
                    .get(&(&r.repo, &r.sha, &r.pipeline))
                    .is_some_and(|&top| top > r.attempt);
                RunFact::new(
                    r.repo.clone(),
                    (r.started_at, r.finished_at),
                    r.status,
                    r.attempt,
                    rescued,
                )
            })
            .collect()
    }

    /// One run's facts; `rescued`: a higher attempt of the same
    /// repository, commit and pipeline succeeded (flaky if this failed).
    pub fn new(
        repo: Name,
        (started_at, finished_at): (Timestamp, Timestamp),
        status: PipelineStatus,
        attempt: u32,
        rescued: bool,
    ) -> RunFact {
        RunFact {
            repo,
            finished_at,
            first_attempt: (attempt == 1).then_some(status),
            success_micros: (status == PipelineStatus::Success)
                .then(|| finished_at.micros().saturating_sub(started_at.micros())),
            flaky: status == PipelineStatus::Failure && rescued,
        }
    }

    /// Adds this run's first-attempt outcome and flakiness to counts.
    fn count(&self, first_success: &mut u64, first_failure: &mut u64, flaky: &mut u64) {
        match self.first_attempt {
            Some(PipelineStatus::Success) => *first_success += 1,
            Some(PipelineStatus::Failure) => *first_failure += 1,
            Some(PipelineStatus::Cancelled) | None => {}
        }
        *flaky += u64::from(self.flaky);
    }
}

impl RunDay {
    /// The sum of `runs`, all of `repo` and finished on `day`.
    pub fn of(repo: Name, day: i64, runs: &[RunFact]) -> RunDay {
        let mut out = RunDay {
            repo,
            day,
            first_success: 0,
            first_failure: 0,
            flaky: 0,
            success_micros: Vec::new(),
        };
        for r in runs {
            out.add(r);
        }
        out
    }

    /// Adds one run of this repository and day.
    pub fn add(&mut self, r: &RunFact) {
        r.count(
            &mut self.first_success,
            &mut self.first_failure,
            &mut self.flaky,
        );
        self.success_micros.extend(r.success_micros);
    }

    pub fn starts_at(&self) -> Timestamp {
        Timestamp::from_micros(self.day.saturating_mul(MICROS_PER_DAY))
    }

    /// The instant the day ends (exclusive).
    pub fn ends_at(&self) -> Timestamp {
        Timestamp::from_micros(self.day.saturating_add(1).saturating_mul(MICROS_PER_DAY))
    }
}

impl RunFacts {
    /// Every run of a history as single runs (what a report of events
    /// reads; a store sums whole days instead).
    pub fn of_runs(runs: &[PipelineRun]) -> RunFacts {
        RunFacts {
            days: Vec::new(),
            runs: RunFact::of_runs(runs),
        }
    }
}

/// The runs' figures of one scope and window.
#[derive(Debug, Default)]
pub(crate) struct RunTally {
    pub first_success: u64,
    pub first_failure: u64,
    pub flaky: u64,
    /// µs, for [`crate::Stats::of_micros`].
    pub success_micros: Vec<i64>,
}

impl RunTally {
    pub(crate) fn add_day(&mut self, d: &RunDay) {
        self.first_success += d.first_success;
        self.first_failure += d.first_failure;
        self.flaky += d.flaky;
        self.success_micros.extend_from_slice(&d.success_micros);
    }

    pub(crate) fn add_run(&mut self, r: &RunFact) {
        r.count(
            &mut self.first_success,
            &mut self.first_failure,
            &mut self.flaky,
        );
        self.success_micros.extend(r.success_micros);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_events::EventId;

    fn run(sha: &str, attempt: u32, status: PipelineStatus, at: i64) -> PipelineRun {
        PipelineRun {
            id: EventId::parse(&format!("r-{sha}-{attempt}")).unwrap(),
            repo: Name::parse("acme/api").unwrap(),
            sha: Sha::parse(sha).unwrap(),
            pipeline: Name::parse("ci").unwrap(),
            started_at: Timestamp::from_micros(at - 60_000_000),
            finished_at: Timestamp::from_micros(at),
            status,
            attempt,
        }
    }

    #[test]
    fn a_failure_is_flaky_only_below_a_successful_higher_attempt() {
        use PipelineStatus::*;
        let runs = [
            run("aaaaaaa", 1, Failure, 1_000_000_000),
            run("aaaaaaa", 2, Failure, 2_000_000_000),
            run("aaaaaaa", 3, Success, 3_000_000_000),
            run("bbbbbbb", 2, Failure, 1_000_000_000),
            run("bbbbbbb", 1, Success, 1_000_000_000),
        ];
        let facts = RunFact::of_runs(&runs);
        let flaky: Vec<bool> = facts.iter().map(|f| f.flaky).collect();
        assert_eq!(flaky, [true, true, false, false, false]);
        let day = RunDay::of(Name::parse("acme/api").unwrap(), 0, &facts);
        assert_eq!((day.first_success, day.first_failure, day.flaky), (1, 1, 2));
        assert_eq!(day.success_micros, [60_000_000, 60_000_000]);
    }
}
