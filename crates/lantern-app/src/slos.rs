//! Service level objectives (slo.md): what the catalog declares. The
//! figures come from `lantern_engine::slo`; the counts from `sli` events
//! or Prometheus (the SLO issue wires those next).

use crate::Settings;
use serde::Serialize;

/// A declared SLO as `lantern slo list` and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
