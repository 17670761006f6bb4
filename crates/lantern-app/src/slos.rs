//! Service level objectives (slo.md): what the catalog declares. The
//! figures come from `lantern_engine::slo`; the counts from `sli` events
//! or Prometheus (the SLO issue wires those next).

use crate::Settings;
use serde::Serialize;

/// A declared SLO as `lantern slo list` and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeclaredSlo {
    pub name: String,
    pub service: String,
    pub objective: f64,
    pub window_days: u32,
    pub description: Option<String>,
    /// `prometheus` (pulled by `lantern serve`) or `events` (sent).
    pub counts_from: &'static str,
}

/// The catalog's SLOs, ordered by name.
pub fn declared(settings: &Settings) -> Vec<DeclaredSlo> {
    let mut out: Vec<DeclaredSlo> = settings
        .slos
        .iter()
        .map(|s| DeclaredSlo {
            name: s.spec.name.clone(),
            service: s.spec.service.to_string(),
            objective: s.spec.objective,
            window_days: s.spec.window_days,
            description: s.description.clone(),
            counts_from: match s.prometheus {
                Some(_) => "prometheus",
                None => "events",
            },
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One SLO as a reader may see it: its figures at an instant, or why they
/// are withheld (governance.md rule 2, as for any figure of its service).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum SloAnswer {
    Figures(Box<lantern_engine::slo::SloStatus>),
    Suppressed {
        name: String,
        service: String,
        suppressed: bool,
        reason: String,
    },
}

/// The SLOs of a scope at `at`, ordered by name (slo.md's report shape):
/// `lantern slo status` and `GET /api/v1/slos`.
pub fn status(
    store: &mut dyn lantern_store::Store,
    settings: &Settings,
    reader: crate::report::Reader,
    scope: &lantern_engine::Scope,
    at: lantern_events::Timestamp,
) -> Result<Vec<SloAnswer>, crate::AppError> {
    use lantern_engine::slo::SliSeries;
    use lantern_engine::{Scope, Window};
    let mut slos: Vec<&crate::settings::Slo> = settings
        .slos
        .iter()
        .filter(|s| scope.contains(&s.spec.service))
        .collect();
    slos.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    let mut out = Vec::with_capacity(slos.len());
    for slo in slos {
        let spec = &slo.spec;
        let window_micros = i64::from(spec.window_days) * lantern_events::MICROS_PER_DAY;
        let window = Window::new(at.plus_micros(-window_micros), at)?;
        let service = Scope::Service(spec.service.clone());
        let loaded = crate::report::Loaded::load(store, settings, &service, window)?;
        if let Some(reason) = loaded.withheld_over(store, settings, reader, &service, window)? {
            out.push(SloAnswer::Suppressed {
                name: spec.name.clone(),
                service: spec.service.to_string(),
                suppressed: true,
                reason,
            });
            continue;
        }
        // The window, and the three days the slowest burn rate reads.
        let reach = window_micros.max(3 * lantern_events::MICROS_PER_DAY);
        let counts = store.sli_counts(&spec.name, at.plus_micros(-reach), at)?;
        let series = SliSeries::new(spec, &counts);
        out.push(SloAnswer::Figures(Box::new(series.status(at))));
    }
    Ok(out)
}
