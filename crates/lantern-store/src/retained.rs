//! What both stores share about retention (governance.md rule 5): the
//! aliases of kept measurements and what one run did.

/// The prefix of every alias: ids a refresh must leave alone.
pub const RETAINED_PREFIX: &str = lantern_events::RESERVED_ID_PREFIX;
/// The same, as a GLOB pattern for SQL.
pub(crate) const RETAINED_GLOB: &str = "retained:*";

/// Stands for a purged sha an incident blamed that no deployment shipped.
pub(crate) const PLACEHOLDER_SHA: &str = "0000000";

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionRun {
    /// The raw horizon, RFC 3339.
    pub raw_horizon: String,
    pub changes: u64,
    pub pull_requests: u64,
    pub deployments: u64,
    pub incidents: u64,
    /// CI runs finished before the raw horizon (they feed no kept fact).
    pub pipeline_runs: u64,
    /// Work items (flow.md) whose last state is before the raw horizon:
    /// their tracker ids became aliases; their states stay.
    pub work_items: u64,
    /// Findings fixed and AI-assistant days (panels.md) before the raw
    /// horizon: their ids became aliases.
    pub panel_events: u64,
    pub dead_letters: u64,
    pub audit_entries: u64,
    /// Anonymous measurements older than the aggregate horizon.
    pub measurements: u64,
    pub sessions: u64,
}

impl RetentionRun {
    /// Whether raw events left: every kept fact of the rest is then
    /// derived again (the horizon starts each service's history).
    pub(crate) fn purged_events(&self) -> bool {
        self.changes + self.pull_requests + self.deployments + self.incidents > 0
    }

    pub fn purged_anything(&self) -> bool {
        self.changes
            + self.pull_requests
            + self.deployments
            + self.incidents
            + self.work_items
            + self.panel_events
            + self.dead_letters
            + self.audit_entries
            + self.measurements
            > 0
    }

    /// The run's audit entry: `record` with what the run did as outcome.
    pub(crate) fn recorded(
        &self,
        record: lantern_governance::AuditRecord,
    ) -> lantern_governance::AuditRecord {
        lantern_governance::AuditRecord {
            outcome: self.summary(),
            ..record
        }
    }

    pub(crate) fn summary(&self) -> String {
        format!(
            "horizon {}: {} changes, {} pull requests, {} deployments, {} incidents, {} work items, {} findings and assistant days, {} dead letters, {} audit entries, {} old measurements",
            self.raw_horizon,
            self.changes,
            self.pull_requests,
            self.deployments,
            self.incidents,
            self.work_items,
            self.panel_events,
            self.dead_letters,
            self.audit_entries,
            self.measurements
        )
    }
}

/// Work items (flow.md) past the raw horizon, as measurements: an item
/// whose last state is before it loses its tracker id (an alias takes its
/// place, in its states too), and everything the figures read stays — its
/// team or service, its kind, every state and when, and the order of
/// states at one instant (their new ids keep it) — so a report over a
/// window before the horizon is unchanged. An item still open keeps its
/// id: later deliveries name it. Dropped at the aggregate horizon.
pub(crate) const WORK_ALIAS_PREFIX: &str = "retained:work:";

/// panels.md past the raw horizon: a finding fixed before it, and an AI
/// assistant's team day before it, lose their ids (`{alias}` stands for
/// each store's random alias); what the figures read stays until the
/// aggregate horizon. An open finding keeps its id and its `opened_at`:
/// a later delivery fixes it.
pub(crate) const ALIAS_PANEL_EVENTS: [&str; 2] = [
    "UPDATE findings SET id = 'retained:finding:' || {alias} WHERE fixed_at < {h} AND id NOT LIKE 'retained:%'",
    "UPDATE assist_usage SET id = 'retained:assist:' || {alias} WHERE day < {h} AND id NOT LIKE 'retained:%'",
];

/// The same measurements past the aggregate horizon.
pub(crate) const DROP_PANEL_EVENTS: [&str; 2] = [
    "DELETE FROM findings WHERE fixed_at < {h} AND id LIKE 'retained:%'",
    "DELETE FROM assist_usage WHERE day < {h} AND id LIKE 'retained:%'",
];
