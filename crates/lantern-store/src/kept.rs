//! Issue 23's kept form, what both stores share: which settings tallies
//! depend on, the read a build makes over all time, and the rows a build
//! writes — a `DeployTally` per service and UTC day, which incidents are
//! linked, and the organisation's `PrTally` per repository and day —
//! from the same engine a report uses. Each store keeps the rows in its
//! own tables (`sqlite/kept.rs`, `postgres/kept.rs`) and marks them stale
//! when a refresh re-derives their services' facts. **Invariant:** a
//! report from kept tallies equals the report from the rows.

use crate::tally_codec::{encode_pr_tally, encode_tally};
use crate::touched::fingerprint;
use lantern_engine::*;
use lantern_events::*;
use std::collections::BTreeSet;

/// Services whose tallies are built from one read.
pub(crate) const SERVICES_PER_BUILD: usize = 25;

/// Repositories whose pull-request tallies are built from one read.
pub(crate) const REPOS_PER_BUILD: usize = 50;

/// What a window's read is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// A report, from the deployments' rows.
    Rows,
    /// A report over whole days, from kept tallies.
    Kept,
    /// Building tallies: deployments and incidents only.
    ForTallies,
}

/// The settings tallies depend on: what facts do, and how incidents link.
pub(crate) fn tally_fingerprint(config: &EngineConfig) -> String {
    format!(
        "t1:{}:{}:{}",
        fingerprint(config),
        config.link_window_micros,
        config.infer_incident_links
    )
}

/// All of time, for a build's read: wide enough for any stored instant,
/// narrow enough that no bound overflows when a link window is taken off.
pub(crate) fn all_time() -> Window {
    let edge = 1i64 << 58;
    Window {
        from: Timestamp::from_micros(-edge),
        to: Timestamp::from_micros(edge),
    }
}

/// The days whose deployment tallies a report over `(from, to)` reads,
/// as `[first, end)`: from the window's start, or 90 days before
/// `first_end` (hygiene.md F1 looks back that far), to its end.
pub(crate) fn deployment_days(from: i64, to: i64, first_end: Timestamp) -> (i64, i64) {
    let look_back = first_end.micros() - 90 * MICROS_PER_DAY;
    let first = from.min(look_back).div_euclid(MICROS_PER_DAY);
    (first, end_day(to))
}

/// The first day a window ending at `to` does not touch.
pub(crate) fn end_day(to: i64) -> i64 {
    to.div_euclid(MICROS_PER_DAY) + i64::from(to.rem_euclid(MICROS_PER_DAY) != 0)
}

/// A tally row: its day, its service or repository, its encoded tally.
pub(crate) type TallyRow = (i64, String, Vec<u8>);

/// (incident, service): the incident is linked to a deployment of it.
pub(crate) type LinkRow = (String, String);

/// A build's rows for these services from `input`, their read over all
/// time: their day tallies, and (incident, service) for every incident
/// linked to one of their deployments.
pub(crate) fn deployment_rows(
    input: &ReportInput,
    services: &BTreeSet<Name>,
    config: &EngineConfig,
) -> crate::Result<(Vec<TallyRow>, Vec<LinkRow>)> {
    let whole = all_time();
    let ledger = Ledger::build(input, config);
    let scope = Scope::Team {
        name: Name::parse("kept").map_err(|what| crate::StoreError::Corrupt { what })?,
        services: services.clone(),
    };
    let days = ledger
        .day_tallies(&scope, &whole)
        .into_iter()
        .map(|((service, day), tally)| (day, service.to_string(), encode_tally(&tally)))
        .collect();
    let links = ledger
        .incident_links_by_service()
        .into_iter()
        .filter(|(_, s)| services.contains(s))
        .map(|(i, s)| (i.to_string(), s.to_string()))
        .collect();
    Ok((days, links))
}

/// A build's pull-request rows from `input`, some repositories' merged
/// pull requests over all time.
pub(crate) fn pull_request_rows(input: &ReportInput, config: &EngineConfig) -> Vec<TallyRow> {
    Ledger::build(input, config)
        .pr_day_tallies(&all_time())
        .into_iter()
        .map(|((repo, day), tally)| (day, repo.to_string(), encode_pr_tally(&tally)))
        .collect()
}

/// Service names as the engine's.
pub(crate) fn name_set(names: &[String]) -> crate::Result<BTreeSet<Name>> {
    names
        .iter()
        .map(|s| Name::parse(s))
        .collect::<Result<_, _>>()
        .map_err(|what| crate::StoreError::Corrupt { what })
}

/// A report input whose deployments are these kept tallies, read on
/// these (service, day)s.
pub(crate) fn input_of_tallies(
    tallies: KeptTallies<DeployTally>,
    deployed: Vec<(Name, i64)>,
) -> ReportInput {
    ReportInput {
        kept: Some(KeptDays {
            tallies: tallies.finish(),
            deployed,
            ..KeptDays::default()
        }),
        ..ReportInput::default()
    }
}

/// Of these incidents (a report's), those a build linked (`linked`
/// answers for every linked incident): what `KeptDays::linked_incidents`
/// holds.
pub(crate) fn linked_among(
    incidents: &[Incident],
    linked: impl Fn(&EventId) -> bool,
) -> foldhash::HashSet<EventId> {
    incidents
        .iter()
        .filter(|i| linked(&i.id))
        .map(|i| i.id.clone())
        .collect()
}
