//! Lantern's metrics engine: the exact figures of metrics.md.
//!
//! Pure by design: events, a scope and a window in, a report out. No I/O,
//! no clock, no randomness — the same input gives the same report on any
//! machine, and the server, the CLI and the tests all call the same code.
//!
//! Work is split in two: [`Ledger::build`] derives the window-independent
//! facts (deployment order, shipped changes, incident links, failures) once;
//! [`Ledger::report`] filters them for one window, so trend buckets reuse
//! one ledger.

mod bands;
mod calendar;
mod docs;
mod graph;
mod input;
mod ledger;
mod prs;
mod report;
mod stats;

pub use bands::Band;
pub use calendar::{Bucket, buckets};
pub use docs::{MetricDoc, find_metric_doc, metric_docs};
pub use input::{EngineConfig, EventSet, Scope, Window};
pub use ledger::Ledger;
pub use report::*;
pub use stats::Stats;

/// The report of metrics.md for one scope and window.
pub fn report(events: &EventSet, scope: &Scope, window: Window, config: &EngineConfig) -> Report {
    Ledger::build(events, config).report(scope, window)
}

/// The same report for each day, ISO week or month of the window.
pub fn bucketed(
    events: &EventSet,
    scope: &Scope,
    window: Window,
    size: Bucket,
    config: &EngineConfig,
) -> Vec<Report> {
    let ledger = Ledger::build(events, config);
    buckets(&window, size)
        .into_iter()
        .map(|w| ledger.report(scope, w))
        .collect()
}
