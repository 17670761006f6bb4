//! The report as programs read it, from the CLI (`--format json`) and the
//! API alike: metrics.md's object, then a `heuristics` array when figures
//! were inferred (git mode), then `buckets` when a trend was asked for.

use lantern_engine::{Report, Scope};
use lantern_events::Name;
use lantern_store::{Store, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDocument {
    #[serde(flatten)]
    pub report: Report,
    /// Which services' figures rest on heuristics rather than recorded
    /// events, and what that means for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heuristics: Vec<String>,
    /// The same report per day, ISO week or month, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<Report>>,
}

/// Which services of the scope have figures from git heuristics rather
/// than recorded deployments, and what that means for them.
pub fn heuristics(store: &dyn Store, scope: &Scope) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for (_, value) in store.source_states(lantern_git::STATE_KEY_PREFIX)? {
        let Ok(state) = serde_json::from_str::<lantern_git::ImportState>(&value) else {
            continue;
        };
        let Ok(service) = Name::parse(&state.service) else {
            continue;
        };
        if scope.contains(&service) {
            out.push(lantern_git::heuristics_note(&state));
        }
    }
    Ok(out)
}
