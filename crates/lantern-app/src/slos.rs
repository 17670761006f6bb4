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
    let all = figures(store, settings, scope, at)?;
    visible(store, settings, reader, all, at)
}

/// Every SLO of the scope at `at`, as the operator sees them. The store
/// sums the few ranges a status reads: no row of the counts leaves it.
pub fn figures(
    store: &dyn lantern_store::Store,
    settings: &Settings,
    scope: &lantern_engine::Scope,
    at: lantern_events::Timestamp,
) -> Result<Vec<SloAnswer>, crate::AppError> {
    let mut slos: Vec<&crate::settings::Slo> = settings
        .slos
        .iter()
        .filter(|s| scope.contains(&s.spec.service))
        .collect();
    slos.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    let mut out = Vec::with_capacity(slos.len());
    for slo in slos {
        let spec = &slo.spec;
        let ranges = lantern_engine::slo::status_ranges(spec, at);
        let sums = store.sli_sums(&spec.name, &ranges)?;
        let series =
            lantern_engine::slo::SliSeries::from_sums(spec, ranges.into_iter().zip(sums).collect());
        let mut status = series.status(at);
        if slo.prometheus.is_some() {
            let gaps = store.source_state(&gap_key(&spec.name))?;
            status.slo_gaps = Some(gaps.and_then(|n| n.parse().ok()).unwrap_or(0));
        }
        out.push(SloAnswer::Figures(Box::new(status)));
    }
    Ok(out)
}

/// Where the count of an SLO's Prometheus gaps is kept (a source state).
pub fn gap_key(slo: &str) -> String {
    format!("prometheus.gaps.{slo}")
}

/// The answers as `reader` may see them: an SLO whose service's group is
/// too small over the SLO's window is withheld (rule 2). The store is
/// asked once per service and window, and never for the operator.
pub fn visible(
    store: &mut dyn lantern_store::Store,
    settings: &Settings,
    reader: crate::report::Reader,
    answers: Vec<SloAnswer>,
    at: lantern_events::Timestamp,
) -> Result<Vec<SloAnswer>, crate::AppError> {
    use lantern_engine::{Scope, Window};
    let crate::report::Reader::Grant(grant) = reader else {
        return Ok(answers);
    };
    let mut asked: std::collections::BTreeMap<(String, u32), Option<String>> = Default::default();
    let mut out = Vec::with_capacity(answers.len());
    for answer in answers {
        let SloAnswer::Figures(s) = &answer else {
            out.push(answer);
            continue;
        };
        let key = (s.slo.service.clone(), s.slo.window_days);
        let withheld = match asked.get(&key) {
            Some(w) => w.clone(),
            None => {
                let days = i64::from(s.slo.window_days) * lantern_events::MICROS_PER_DAY;
                let window = Window::new(at.plus_micros(-days), at)?;
                let name = lantern_events::Name::parse(&s.slo.service)
                    .map_err(crate::AppError::Invalid)?;
                // Members of the owning team and admins see it whatever
                // the count: only others need the store counted.
                let rule = lantern_governance::ReportScope::Service {
                    owners: settings.owners(&name),
                };
                let min = settings.governance.min_group_size;
                let reads_figures = lantern_governance::Need::Aggregates
                    .check(grant, &|_: &lantern_events::Name| Vec::new())
                    .is_ok();
                let w = match lantern_governance::suppression(grant, &rule, 0, min) {
                    // A gate or ingest token asks and writes; it reads no
                    // figure, so it gets the decision without the detail.
                    _ if !reads_figures => {
                        Some(format!("a {} token reads no figures", grant.role.as_str()))
                    }
                    None => None,
                    Some(_) => {
                        let service = Scope::Service(name);
                        let loaded =
                            crate::report::Loaded::load(store, settings, &service, window)?;
                        loaded.withheld_over(store, settings, reader, &service, window)?
                    }
                };
                asked.insert(key, w.clone());
                w
            }
        };
        out.push(match withheld {
            Some(reason) => SloAnswer::Suppressed {
                name: s.slo.name.clone(),
                service: s.slo.service.clone(),
                suppressed: true,
                reason,
            },
            None => answer,
        });
    }
    Ok(out)
}

/// The SLOs of a report's scope with the counts its window needs: what a
/// service's or team's report shows beside the DORA figures (slo.md,
/// "Report shape").
pub struct SloFigures<'s> {
    series: Vec<(
        &'s lantern_engine::slo::SloSpec,
        Vec<lantern_engine::slo::SliCount>,
    )>,
}

impl<'s> SloFigures<'s> {
    /// The SLOs of the scope's services (none for the organisation) and
    /// their counts from the window's start, less the longest SLO window
    /// or the three days the slowest burn rate reads, to its end.
    pub fn load(
        store: &dyn lantern_store::Store,
        settings: &'s Settings,
        scope: &lantern_engine::Scope,
        window: lantern_engine::Window,
    ) -> Result<Self, crate::AppError> {
        let mut series = Vec::new();
        if matches!(scope, lantern_engine::Scope::Org) {
            return Ok(SloFigures { series });
        }
        for slo in settings
            .slos
            .iter()
            .filter(|s| scope.contains(&s.spec.service))
        {
            let reach = (i64::from(slo.spec.window_days) * lantern_events::MICROS_PER_DAY)
                .max(3 * lantern_events::MICROS_PER_DAY);
            let after = window.from.plus_micros(-reach);
            series.push((
                &slo.spec,
                store.sli_counts(&slo.spec.name, after, window.to)?,
            ));
        }
        series.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(SloFigures { series })
    }

    fn each(&self) -> impl Iterator<Item = lantern_engine::slo::SliSeries<'_>> {
        self.series
            .iter()
            .map(|(spec, counts)| lantern_engine::slo::SliSeries::new(spec, counts))
    }

    /// Sets the report's `slos` (each at the window's end) and
    /// `deployments_followed_by_burn` (over P of the services with an SLO;
    /// an hour not yet over by now or the window's end has no figure).
    pub fn attach(
        &self,
        ledger: &lantern_engine::Ledger,
        scope: &lantern_engine::Scope,
        window: lantern_engine::Window,
        report: &mut lantern_engine::Report,
    ) {
        if self.series.is_empty() {
            return;
        }
        let series: Vec<_> = self.each().collect();
        // A window may end after now (`--to` tomorrow): its status is
        // today's, not that of hours nothing has been counted in yet.
        let known_until = window.to.min(lantern_events::Timestamp::now());
        report.slos = Some(
            series
                .iter()
                .map(|s| lantern_engine::slo::SloFigure::Status(Box::new(s.status(known_until))))
                .collect(),
        );
        let deployments = ledger.production_finishes(scope, &window);
        report.deployments_followed_by_burn = Some(lantern_engine::slo::followed_by_burn(
            &deployments,
            &series,
            known_until,
        ));
    }

    /// Each SLO's SLI and burn rate over one trend bucket.
    pub fn over(
        &self,
        bucket: lantern_engine::Window,
    ) -> Option<Vec<lantern_engine::slo::SloFigure>> {
        (!self.series.is_empty()).then(|| {
            self.each()
                .map(|s| s.over(bucket.from, bucket.to))
                .collect()
        })
    }
}

/// One SLO in the hour after a deployment (slo.md, "Deployments and
/// budgets").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurnAfter {
    pub slo: String,
    /// The burn rate over [finished_at, finished_at + 1 h); `None` when
    /// nothing was counted then or the hour is not over.
    pub burn_rate: Option<f64>,
    /// Above half the fast tier's threshold: where to look.
    pub followed_by_burn: bool,
}

/// Each SLO of `service` in the hour after `finished_at`, known up to
/// `known_until` (now, or a report's end).
pub fn burn_after(
    store: &dyn lantern_store::Store,
    settings: &Settings,
    service: &lantern_events::Name,
    finished_at: lantern_events::Timestamp,
    known_until: lantern_events::Timestamp,
) -> Result<Vec<BurnAfter>, crate::AppError> {
    let hour = 3600 * lantern_events::MICROS_PER_SECOND;
    let mut out = Vec::new();
    for slo in settings.slos.iter().filter(|s| &s.spec.service == service) {
        let counts =
            store.sli_counts(&slo.spec.name, finished_at, finished_at.plus_micros(hour))?;
        let series = lantern_engine::slo::SliSeries::new(&slo.spec, &counts);
        out.push(BurnAfter {
            slo: slo.spec.name.clone(),
            burn_rate: series.burn_after(finished_at, known_until),
            followed_by_burn: series.followed_by_burn(finished_at, known_until),
        });
    }
    out.sort_by(|a, b| a.slo.cmp(&b.slo));
    Ok(out)
}
