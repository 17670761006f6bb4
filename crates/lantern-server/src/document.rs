//! The report as programs read it, from the CLI (`--format json`) and the
//! API alike: metrics.md's object, then a `heuristics` array when figures
//! were inferred (git mode), `annotations` when some touch the scope and
//! window, then `buckets` when a trend was asked for.

use lantern_engine::{Ledger, Report, Scope, Window};
use lantern_events::Name;
use lantern_governance::ReviewSampling;
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
    /// Annotations and disputes that touch the scope and window.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<crate::context::AnnotationJson>,
    /// The same report per day, ISO week or month, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<Report>>,
}

impl ReportDocument {
    /// The document of one scope and window, as the API and the CLI give
    /// it: the report and its `trend` buckets with the review sample rate
    /// stated, the heuristics note, and the annotations and disputes the
    /// scope and window touch.
    pub fn build(
        store: &dyn Store,
        ledger: &Ledger,
        scope: &Scope,
        window: Window,
        trend: Option<Vec<Window>>,
        sampling: &ReviewSampling,
        teams: &[crate::Team],
    ) -> Result<Self, StoreError> {
        let stamp = |mut r: Report| {
            r.pr_stages.review_sample_rate = sampling.stated_rate();
            r
        };
        Ok(ReportDocument {
            report: stamp(ledger.report(scope, window)),
            heuristics: heuristics(store, scope)?,
            annotations: crate::context::for_report(
                &store.annotations()?,
                &store.disputes()?,
                scope,
                &window,
                teams,
            ),
            buckets: trend.map(|ws| {
                ws.into_iter()
                    .map(|w| stamp(ledger.report(scope, w)))
                    .collect()
            }),
        })
    }
}

/// What a reader outside a small scope's team gets instead of its figures
/// (governance.md rule 2).
#[derive(Debug, Serialize, ToSchema)]
pub struct SuppressedReport {
    pub scope: lantern_engine::ScopeJson,
    pub window: lantern_engine::WindowJson,
    /// Always true.
    pub suppressed: bool,
    /// E.g. "fewer than 3 contributors".
    pub reason: String,
}

/// A report, or why its figures are not shown to this reader.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReportAnswer {
    Figures(Box<ReportDocument>),
    Suppressed(SuppressedReport),
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
