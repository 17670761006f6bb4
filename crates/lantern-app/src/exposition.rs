//! `GET /metrics` (issue 22): Lantern's figures for Prometheus, in the
//! text format (0.0.4, what `promtool check metrics` reads) or OpenMetrics
//! 1.0 (what Prometheus asks for first). Every value is read from the
//! store at the scrape — counters grow with history, the same on every
//! replica and after a restart. Labels are `service`, `environment`,
//! `team` and, for SLOs, `slo` (the catalog's names): never a sha, a pull
//! request or a person, so the series grow with services and teams only.
//! A service whose group is too small for this reader (governance.md
//! rule 2, over the last 90 days) exports nothing.

use crate::AppError;
use crate::report::{Loaded, Reader};
use crate::settings::Settings;
use lantern_engine::exposition::{DURATION_BUCKETS, Histogram};
use lantern_engine::{Scope, Window};
use lantern_events::{MICROS_PER_DAY, Name, Timestamp};
use lantern_store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Which text format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the scraper's `Accept` names it.
    pub fn from_accept(accept: &str) -> Self {
        if accept.contains("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A label value, escaped as both formats want.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A float as both formats write it.
fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

/// The families, written in order.
struct Writer {
    out: String,
    format: Format,
}

impl Writer {
    /// `name` is the family's name without `_total` (counters) or `_info`.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let (declared, kind) = match (self.format, kind) {
            (Format::Text, "counter") => (format!("{name}_total"), "counter"),
            (Format::Text, "info") => (format!("{name}_info"), "gauge"),
            (_, kind) => (name.to_string(), kind),
        };
        let _ = writeln!(self.out, "# HELP {declared} {help}");
        let _ = writeln!(self.out, "# TYPE {declared} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: f64) {
        let _ = writeln!(self.out, "{name}{labels} {}", number(value));
    }

    fn histogram(&mut self, name: &str, service: &str, h: &Histogram) {
        for (bound, n) in DURATION_BUCKETS.iter().zip(h.buckets) {
            let le = format!("{bound:.1}");
            let l = labels(&[("service", service), ("le", &le)]);
            self.sample(&format!("{name}_bucket"), &l, n as f64);
        }
        let l = labels(&[("service", service), ("le", "+Inf")]);
        self.sample(&format!("{name}_bucket"), &l, h.count as f64);
        let l = labels(&[("service", service)]);
        self.sample(&format!("{name}_sum"), &l, h.sum);
        self.sample(&format!("{name}_count"), &l, h.count as f64);
    }
}

/// What one service exports, owned: the figures are read a few services
/// at a time (see [`CHUNK`]) and only these rows are kept.
#[derive(Debug, Clone)]
struct ServiceRows {
    service: Name,
    deployed: u64,
    failed: u64,
    rework: u64,
    lead_time: Histogram,
    recovery_time: Histogram,
    last_deployment: Option<Timestamp>,
    open_incidents: u64,
    /// Whether the ledger has series for it (a service known only from an
    /// incident or the catalog has none: only its info and open incidents).
    has_series: bool,
    /// Every deployment but production successes: (environment, result).
    others: BTreeMap<(String, String), u64>,
    /// The repositories it deploys, whose contributors rule 2 counts.
    repos: Option<BTreeSet<Name>>,
}

/// [`ServiceRows`] as the store keeps them between processes (JSON).
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptRows {
    deployed: u64,
    failed: u64,
    rework: u64,
    lead_time: Histogram,
    recovery_time: Histogram,
    /// Microseconds since 1970.
    last_deployment: Option<i64>,
    open_incidents: u64,
    has_series: bool,
    others: Vec<(String, String, u64)>,
    repos: Option<Vec<String>>,
}

impl ServiceRows {
    fn kept(&self) -> String {
        serde_json::to_string(&KeptRows {
            deployed: self.deployed,
            failed: self.failed,
            rework: self.rework,
            lead_time: self.lead_time.clone(),
            recovery_time: self.recovery_time.clone(),
            last_deployment: self.last_deployment.map(Timestamp::micros),
            open_incidents: self.open_incidents,
            has_series: self.has_series,
            others: self
                .others
                .iter()
                .map(|((e, r), n)| (e.clone(), r.clone(), *n))
                .collect(),
            repos: self
                .repos
                .as_ref()
                .map(|r| r.iter().map(Name::to_string).collect()),
        })
        .unwrap_or_default()
    }

    /// Rows kept by an earlier process; `None` when they cannot be read
    /// (then they are read from the store again).
    fn from_kept(service: Name, text: &str) -> Option<Self> {
        let k: KeptRows = serde_json::from_str(text).ok()?;
        let names = |list: Vec<String>| -> Option<BTreeSet<Name>> {
            list.iter().map(|n| Name::parse(n).ok()).collect()
        };
        Some(ServiceRows {
            service,
            deployed: k.deployed,
            failed: k.failed,
            rework: k.rework,
            lead_time: k.lead_time,
            recovery_time: k.recovery_time,
            last_deployment: k.last_deployment.map(Timestamp::from_micros),
            open_incidents: k.open_incidents,
            has_series: k.has_series,
            others: k.others.into_iter().map(|(e, r, n)| ((e, r), n)).collect(),
            repos: match k.repos {
                None => None,
                Some(list) => Some(names(list)?),
            },
        })
    }
}

/// Services whose whole history is read at once. A service's series
/// depend on its own events only, so reading in chunks changes no figure;
/// it bounds a scrape's memory by the chunk, not by the organisation.
const CHUNK: usize = 20;

/// One service as the last scrape read it.
#[derive(Debug, Clone)]
struct Cached {
    /// The store's (generation, service version) its rows were read at.
    versions: (i64, i64),
    rows: ServiceRows,
    /// Contributors over rule 2's 90 days before `day` (at most the
    /// minimum group: past it the count changes nothing).
    contributors: u64,
    day: i64,
}

/// What a server keeps between scrapes: each service's rows with the
/// facts' versions they were read at ([`Store::fact_versions`]), and its
/// contributor count with the day it was counted for. A scrape reads
/// again only the services whose facts changed since (and, once a day,
/// the counts): figures equal to reading everything, at the cost of the
/// changes. Rows hold no reader's view: rule 2 is applied at each scrape.
#[derive(Debug, Default)]
pub struct ExpositionCache {
    /// Whether what the store kept was read (once per process).
    read_kept: bool,
    generation: Option<i64>,
    known: BTreeSet<Name>,
    services: BTreeMap<Name, Cached>,
    /// How many services the last scrape read from the store again.
    pub last_read: usize,
}

/// The rows of the services in `chunk`, from one read of their whole
/// history.
fn chunk_rows(
    store: &mut dyn Store,
    settings: &Settings,
    chunk: &BTreeSet<Name>,
    all: Window,
) -> Result<Vec<ServiceRows>, AppError> {
    let loaded = Loaded::load_services(store, settings, Some(chunk), all)?;
    let production = |env: &str| settings.engine.is_production(env);
    let ledger = loaded.ledger(settings);
    let repos = |s: &Name| {
        loaded
            .input
            .repos_deployed_by(&Scope::Service(s.clone()))
            .map(|repos| repos.cloned().collect::<BTreeSet<Name>>())
    };
    let mut rows: BTreeMap<Name, ServiceRows> = ledger
        .service_series()
        .into_iter()
        .filter(|s| chunk.contains(s.service))
        .map(|s| {
            (
                s.service.clone(),
                ServiceRows {
                    service: s.service.clone(),
                    deployed: s.deployed,
                    failed: s.failed,
                    rework: s.rework,
                    lead_time: s.lead_time,
                    recovery_time: s.recovery_time,
                    last_deployment: s.last_deployment,
                    open_incidents: 0,
                    has_series: true,
                    others: BTreeMap::new(),
                    repos: repos(s.service),
                },
            )
        })
        .collect();
    for s in chunk {
        rows.entry(s.clone()).or_insert_with(|| ServiceRows {
            service: s.clone(),
            deployed: 0,
            failed: 0,
            rework: 0,
            lead_time: Histogram::default(),
            recovery_time: Histogram::default(),
            last_deployment: None,
            open_incidents: 0,
            has_series: false,
            others: BTreeMap::new(),
            repos: repos(s),
        });
    }
    // Deployments by result: production successes as metrics.md counts
    // them (a rollout once), every other deployment event as it came.
    for d in &loaded.input.deployments {
        let success = d.status == lantern_events::DeploymentStatus::Success;
        if success && production(d.environment.as_str()) {
            continue;
        }
        let Some(row) = rows.get_mut(&d.service) else {
            continue;
        };
        let env = if production(d.environment.as_str()) {
            "production".to_string()
        } else {
            d.environment.to_string()
        };
        let result = match d.status {
            lantern_events::DeploymentStatus::Success => "success",
            lantern_events::DeploymentStatus::Failure => "failure",
            lantern_events::DeploymentStatus::Cancelled => "cancelled",
        };
        *row.others.entry((env, result.to_string())).or_default() += 1;
    }
    // An incident of several services is read with each one's chunk and
    // counted for this chunk's services only.
    for i in loaded
        .input
        .incidents
        .iter()
        .filter(|i| i.resolved_at.is_none())
    {
        for s in i.affected() {
            if let Some(row) = rows.get_mut(s) {
                row.open_incidents += 1;
            }
        }
    }
    Ok(rows.into_values().collect())
}

impl ExpositionCache {
    /// Brings every service's rows and count up to the store at `now`.
    fn update(
        &mut self,
        store: &mut dyn Store,
        settings: &Settings,
        now: Timestamp,
    ) -> Result<(), AppError> {
        store.refresh_stale_facts(&settings.engine)?;
        // Read before the rows: a refresh after this makes them older, never
        // newer, than what is recorded, so the next scrape reads them again.
        let versions = store.fact_versions()?;
        let min_group = settings.governance.min_group_size;
        if !self.read_kept {
            self.read_kept = true;
            let kept = store.kept_exposition()?;
            // Every service known at a generation was kept at it: the
            // known set is theirs, without a scan of the deployments.
            if !kept.is_empty() && kept.iter().all(|k| k.generation == versions.generation) {
                self.generation = Some(versions.generation);
                self.known = settings
                    .teams
                    .iter()
                    .flat_map(|t| t.services.iter().cloned())
                    .collect();
            }
            for k in kept {
                let Ok(service) = Name::parse(&k.service) else {
                    continue;
                };
                let Some(rows) = ServiceRows::from_kept(service.clone(), &k.rows) else {
                    continue;
                };
                if self.generation.is_some() {
                    self.known.insert(service.clone());
                }
                let counted = u64::try_from(k.at_least).ok() == Some(min_group);
                self.services.insert(
                    service,
                    Cached {
                        versions: (k.generation, k.version),
                        rows,
                        contributors: u64::try_from(k.contributors).unwrap_or(0),
                        day: if counted { k.day } else { i64::MIN },
                    },
                );
            }
        }
        if self.generation != Some(versions.generation) {
            self.known = store.services()?;
            self.known.extend(
                settings
                    .teams
                    .iter()
                    .flat_map(|t| t.services.iter().cloned()),
            );
            self.generation = Some(versions.generation);
        }
        // A service first derived since: named by a version of its own.
        self.known
            .extend(versions.services.keys().filter_map(|s| Name::parse(s).ok()));
        self.services.retain(|s, _| self.known.contains(s));
        let stale: Vec<Name> = self
            .known
            .iter()
            .filter(|s| {
                self.services
                    .get(*s)
                    .is_none_or(|c| c.versions != versions.of(s.as_str()))
            })
            .cloned()
            .collect();
        self.last_read = stale.len();
        let all = Window {
            from: Timestamp::from_micros(0),
            to: now,
        };
        let today = now.micros().div_euclid(MICROS_PER_DAY);
        for chunk in stale.chunks(CHUNK) {
            let chunk: BTreeSet<Name> = chunk.iter().cloned().collect();
            for rows in chunk_rows(store, settings, &chunk, all)? {
                let versions = versions.of(rows.service.as_str());
                self.services.insert(
                    rows.service.clone(),
                    Cached {
                        versions,
                        rows,
                        contributors: 0,
                        day: i64::MIN,
                    },
                );
            }
        }
        // Rule 2 over the 90 whole UTC days before today (a report's
        // default window), counted again each day and after each change.
        let recent = Window {
            from: Timestamp::from_micros((today - 90) * MICROS_PER_DAY),
            to: Timestamp::from_micros(today * MICROS_PER_DAY),
        };
        let mut changed = Vec::new();
        for cached in self.services.values_mut().filter(|c| c.day != today) {
            cached.contributors =
                store.contributors(cached.rows.repos.as_ref(), recent, min_group)?;
            cached.day = today;
            changed.push(lantern_store::KeptExposition {
                service: cached.rows.service.to_string(),
                generation: cached.versions.0,
                version: cached.versions.1,
                day: today,
                at_least: i64::try_from(min_group).unwrap_or(i64::MAX),
                contributors: i64::try_from(cached.contributors).unwrap_or(i64::MAX),
                rows: cached.rows.kept(),
            });
        }
        // Kept for the next process (a restart, another replica).
        if !changed.is_empty() {
            store.keep_exposition(&changed)?;
        }
        Ok(())
    }
}

/// The whole exposition for this reader at `now`, reading from the store
/// only what changed since `cache` was last brought up to date.
pub fn exposition(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    now: Timestamp,
    format: Format,
    cache: &mut ExpositionCache,
) -> Result<String, AppError> {
    cache.update(store, settings, now)?;
    let min_group = settings.governance.min_group_size;
    let visible = |c: &Cached| match reader {
        Reader::Operator => true,
        Reader::Grant(grant) => {
            let scope =
                crate::report::rule_scope(settings, &Scope::Service(c.rows.service.clone()));
            lantern_governance::suppression(grant, &scope, c.contributors, min_group).is_none()
        }
    };
    let shown_rows: Vec<&ServiceRows> = cache
        .services
        .values()
        .filter(|c| visible(c))
        .map(|c| &c.rows)
        .collect();
    let shown: BTreeSet<&Name> = shown_rows.iter().map(|r| &r.service).collect();
    let open: Vec<(&Name, u64)> = shown_rows
        .iter()
        .map(|r| (&r.service, r.open_incidents))
        .collect();
    let series: Vec<&ServiceRows> = shown_rows.into_iter().filter(|r| r.has_series).collect();

    let mut w = Writer {
        out: String::new(),
        format,
    };
    w.family(
        "lantern_build",
        "info",
        "The Lantern that answers this scrape.",
    );
    w.sample(
        "lantern_build_info",
        &labels(&[("version", env!("CARGO_PKG_VERSION"))]),
        1.0,
    );
    w.family(
        "lantern_scrape_services_read",
        "gauge",
        "Services whose figures this scrape read from the store again; the others had not changed since the scrape before.",
    );
    w.sample("lantern_scrape_services_read", "", cache.last_read as f64);
    w.family(
        "lantern_service",
        "info",
        "Which catalog team owns each service (join on service for a team's series).",
    );
    for t in &settings.teams {
        for s in t.services.iter().filter(|s| shown.contains(s)) {
            let l = labels(&[("service", s.as_str()), ("team", t.name.as_str())]);
            w.sample("lantern_service_info", &l, 1.0);
        }
    }

    w.family(
        "lantern_deployments",
        "counter",
        "Deployments by environment and result; production successes as metrics.md counts them (a rollout once).",
    );
    let mut rows: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for s in &series {
        rows.insert(
            (s.service.to_string(), "production".into(), "success".into()),
            s.deployed,
        );
        for ((env, result), n) in &s.others {
            rows.insert((s.service.to_string(), env.clone(), result.clone()), *n);
        }
    }
    for ((service, env, result), n) in &rows {
        let l = labels(&[
            ("service", service),
            ("environment", env),
            ("result", result),
        ]);
        w.sample("lantern_deployments_total", &l, *n as f64);
    }
    w.family(
        "lantern_failed_deployments",
        "counter",
        "Successful production deployments that failed (metrics.md: a linked incident, a rollback or a hotfix after it).",
    );
    for s in &series {
        let l = labels(&[("service", s.service.as_str())]);
        w.sample("lantern_failed_deployments_total", &l, s.failed as f64);
    }
    w.family(
        "lantern_rework_deployments",
        "counter",
        "Production deployments that were unplanned rework (metrics.md).",
    );
    for s in &series {
        let l = labels(&[("service", s.service.as_str())]);
        w.sample("lantern_rework_deployments_total", &l, s.rework as f64);
    }
    w.family(
        "lantern_lead_time_seconds",
        "histogram",
        "Lead time for changes: commit to its first production deployment, per change.",
    );
    for s in &series {
        w.histogram(
            "lantern_lead_time_seconds",
            s.service.as_str(),
            &s.lead_time,
        );
    }
    w.family(
        "lantern_recovery_time_seconds",
        "histogram",
        "Failed deployment recovery time, per failed deployment that recovered.",
    );
    for s in &series {
        w.histogram(
            "lantern_recovery_time_seconds",
            s.service.as_str(),
            &s.recovery_time,
        );
    }
    w.family(
        "lantern_last_deployment_timestamp_seconds",
        "gauge",
        "When the service's last successful production deployment finished (Unix seconds).",
    );
    for s in &series {
        if let Some(t) = s.last_deployment {
            let l = labels(&[("service", s.service.as_str())]);
            w.sample(
                "lantern_last_deployment_timestamp_seconds",
                &l,
                t.micros() as f64 / 1e6,
            );
        }
    }
    w.family(
        "lantern_open_incidents",
        "gauge",
        "Incidents of the service not resolved yet.",
    );
    for (s, n) in &open {
        w.sample(
            "lantern_open_incidents",
            &labels(&[("service", s.as_str())]),
            *n as f64,
        );
    }

    // SLOs (slo.md) at now, those of shown services.
    let slos = crate::slos::status(store, settings, reader, &Scope::Org, now)?;
    let figures: Vec<_> = slos
        .iter()
        .filter_map(|a| match a {
            crate::slos::SloAnswer::Figures(f) => Some(f),
            crate::slos::SloAnswer::Suppressed { .. } => None,
        })
        .collect();
    // Declared even without an SLO to show: the families stay the same.
    {
        w.family(
            "lantern_slo_budget_remaining_ratio",
            "gauge",
            "Share of the SLO's error budget left over its window (0-1; below 0 when overspent).",
        );
        for f in &figures {
            if let Some(v) = f.budget_remaining {
                let l = labels(&[("service", &f.slo.service), ("slo", &f.slo.name)]);
                w.sample("lantern_slo_budget_remaining_ratio", &l, v);
            }
        }
        w.family(
            "lantern_slo_burn_rate",
            "gauge",
            "How fast the SLO's budget burns over each window (1 spends it exactly over the SLO's window).",
        );
        for f in &figures {
            for ((window, _), rate) in lantern_engine::slo::BURN_WINDOWS
                .iter()
                .zip(&f.burn_rates.0)
            {
                if let Some(rate) = rate {
                    let l = labels(&[
                        ("service", &f.slo.service),
                        ("slo", &f.slo.name),
                        ("window", window),
                    ]);
                    w.sample("lantern_slo_burn_rate", &l, *rate);
                }
            }
        }
    }
    if format == Format::OpenMetrics {
        w.out.push_str("# EOF\n");
    }
    Ok(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_numbers_written_as_prometheus_reads_them() {
        assert_eq!(
            labels(&[("service", "a\"b\\c\nd")]),
            r#"{service="a\"b\\c\nd"}"#
        );
        assert_eq!(number(1.5), "1.5");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(
            Format::from_accept("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
            Format::OpenMetrics
        );
        assert_eq!(Format::from_accept("*/*"), Format::Text);
    }
}
