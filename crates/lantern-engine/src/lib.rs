//! Lantern's metrics engine: the exact figures of metrics.md.
//!
//! Pure by design: events, a scope and a window in, a report out. No I/O,
//! no clock, no randomness (`rng` is a seeded generator for generated
//! histories; no figure uses it) — the same input gives the same report on
//! any machine, and the server, the CLI and the tests all call the same
//! code.
//!
//! Work is split in three: [`derive`] turns history into [`Facts`] (what
//! each deployment shipped — the expensive part, which a store can keep);
//! [`Ledger::build`] relates deployments, rollbacks, hotfixes and incidents;
//! [`Ledger::report`] filters for one scope and window, so trend buckets
//! reuse one ledger.

mod bands;
mod calendar;
mod docs;
mod explain;
pub mod exposition;
mod facts;
pub mod flow;
mod graph;
mod hygiene;
mod input;
mod kept;
mod ledger;
pub mod load;
pub mod panels;
mod pr_tally;
mod prs;
mod report;
pub mod rng;
mod rollout;
mod runs;
mod scope_index;
pub mod slo;
mod stats;
mod tally;

pub use bands::Band;
pub use calendar::{Bucket, buckets, is_partial};
pub use docs::{MetricDoc, find_metric_doc, metric_docs};
pub use explain::{DeploymentExplanation, FailureCause};
pub use facts::{DeploymentFacts, Facts, FirstDeploy, PullRequestFacts, ShipRule, derive};
pub use flow::{FlowItem, FlowReport, flow_items, flow_report};
pub use graph::{ChangeGraph, ChangeRef};
pub use hygiene::Signals;
pub use input::{Arrival, EngineConfig, EventSet, ReportInput, Scope, Window, WindowError};
pub use kept::{DaySpan, KeptCuts, KeptDays, KeptTallies};
pub use ledger::{Ledger, LinkKind, first_shipped};
pub use pr_tally::PrTally;
pub use report::*;
pub use rollout::Rollouts;
pub use runs::{RunDay, RunFact, RunFacts};
pub use stats::{Stats, percentile};
pub use tally::DeployTally;

/// The report of metrics.md for one scope and window.
pub fn report(events: &EventSet, scope: &Scope, window: Window, config: &EngineConfig) -> Report {
    let input = ReportInput::from_events(events.clone(), config);
    let mut report = Ledger::build(&input, config).report(scope, window);
    report.flow = flow::in_report(
        &flow_items(&events.work_items, &events.work_states),
        scope,
        window,
    );
    report
}

/// The same report for each day, ISO week or month of the window.
pub fn bucketed(
    events: &EventSet,
    scope: &Scope,
    window: Window,
    size: Bucket,
    config: &EngineConfig,
) -> Vec<Report> {
    let input = ReportInput::from_events(events.clone(), config);
    let ledger = Ledger::build(&input, config);
    let items = flow_items(&events.work_items, &events.work_states);
    buckets(&window, size)
        .into_iter()
        .map(|w| {
            let mut report = ledger.report(scope, w);
            report.flow = flow::in_report(&items, scope, w);
            report
        })
        .collect()
}
