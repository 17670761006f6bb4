//! Why a pooled figure can sit above most of its services' own: a team's
//! or the organisation's lead time takes every change of every service
//! together, so the service with most changes weighs most. Said in one
//! sentence where the figure stands, with that service named (issue 19).

use lantern_engine::{Ledger, Scope, Window};
use lantern_events::Name;

/// The service holding the most of a pooled lead time's changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pooled {
    /// `None` when this reader may not see that service's figures.
    pub dominant: Option<Name>,
    pub dominant_changes: u64,
    pub changes: u64,
    pub services: usize,
}

/// For a team or the organisation over two or more services with changes:
/// which service's changes weigh most in the lead time (the values are
/// every shipped change's, negatives left out, as metrics.md counts them).
pub fn pooled(ledger: &Ledger, scope: &Scope, window: Window) -> Option<Pooled> {
    if matches!(scope, Scope::Service(_)) {
        return None;
    }
    let mut per_service = ledger.lead_times_by_service(scope, &window);
    per_service.retain(|_, n| *n > 0);
    let changes: u64 = per_service.values().sum();
    // The first of the largest, in name order: stable between runs.
    let (dominant, &most) =
        per_service
            .iter()
            .fold(None, |best: Option<(&&Name, &u64)>, (s, n)| match best {
                Some((_, b)) if b >= n => best,
                _ => Some((s, n)),
            })?;
    (per_service.len() >= 2).then(|| Pooled {
        dominant: Some((*dominant).clone()),
        dominant_changes: most,
        changes,
        services: per_service.len(),
    })
}

impl Pooled {
    /// The sentence a page or a table shows beside the lead time.
    pub fn sentence(&self) -> String {
        let share = (self.dominant_changes as f64 / self.changes as f64 * 100.0).round();
        let who = match &self.dominant {
            Some(s) => format!("{s} holds {share} % of them, so it weighs most"),
            None => format!("one service holds {share} % of them, so it weighs most"),
        };
        format!(
            "Lead time pools all {} changes of {} services: {who}; each service's own page shows its own. Lead time counts commits and the pull-request stages count pull requests, so the stages do not add up to it (lantern explain lead_time).",
            self.changes, self.services
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_engine::{EngineConfig, EventSet, ReportInput};
    use lantern_events::{Pseudonymiser, Timestamp, parse_event_json};

    /// `api` ships three changes in one deployment, `web` one.
    fn ledger_input() -> ReportInput {
        let p = Pseudonymiser::from_key([3; 32]);
        let lines = [
            // First deployments are baselines (they ship nothing).
            r#"{"type":"change","repo":"a","sha":"a000000","committed_at":"2026-10-01T09:00:00Z"}"#,
            r#"{"type":"change","repo":"w","sha":"b000000","committed_at":"2026-10-01T09:00:00Z"}"#,
            r#"{"type":"deployment","id":"d0","service":"api","environment":"production","finished_at":"2026-10-02T10:00:00Z","repo":"a","sha":"a000000"}"#,
            r#"{"type":"deployment","id":"e0","service":"web","environment":"production","finished_at":"2026-10-02T10:00:00Z","repo":"w","sha":"b000000"}"#,
            r#"{"type":"change","repo":"a","sha":"a000001","parents":["a000000"],"committed_at":"2026-11-02T09:00:00Z"}"#,
            r#"{"type":"change","repo":"a","sha":"a000002","parents":["a000001"],"committed_at":"2026-11-02T10:00:00Z"}"#,
            r#"{"type":"change","repo":"a","sha":"a000003","parents":["a000002"],"committed_at":"2026-11-02T11:00:00Z"}"#,
            r#"{"type":"change","repo":"w","sha":"b000001","parents":["b000000"],"committed_at":"2026-11-02T09:00:00Z"}"#,
            r#"{"type":"deployment","id":"d1","service":"api","environment":"production","finished_at":"2026-11-03T10:00:00Z","repo":"a","sha":"a000003"}"#,
            r#"{"type":"deployment","id":"d2","service":"web","environment":"production","finished_at":"2026-11-03T10:00:00Z","repo":"w","sha":"b000001"}"#,
        ];
        let events = lines.iter().map(|l| parse_event_json(l, &p).unwrap());
        ReportInput::from_events(EventSet::from_events(events), &EngineConfig::default())
    }

    #[test]
    fn the_service_with_most_changes_is_named_with_its_share() {
        let input = ledger_input();
        let ledger = Ledger::build(&input, &EngineConfig::default());
        let window =
            Window::from_bounds(Some("2026-11-01"), Some("2026-12-01"), Timestamp::now()).unwrap();
        let p = pooled(&ledger, &Scope::Org, window).unwrap();
        assert_eq!(p.dominant.as_ref().map(Name::as_str), Some("api"));
        assert_eq!((p.dominant_changes, p.changes, p.services), (3, 4, 2));
        assert!(
            p.sentence()
                .contains("all 4 changes of 2 services: api holds 75 %"),
            "{}",
            p.sentence()
        );
        // One service is its own figure: nothing pooled.
        let api = Scope::Service(Name::parse("api").unwrap());
        assert_eq!(pooled(&ledger, &api, window), None);
    }
}
