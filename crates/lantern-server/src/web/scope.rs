//! The team page and the service page: the five DORA metrics side by side
//! (value, band, sparkline, 7/30/90-day comparison, the explanation a
//! click away), a chart per metric with annotations on the time axis, the
//! lead-time stages, data-quality warnings in plain words, annotations and
//! disputes with their forms, and — for those allowed to see detail — the
//! service's timeline of deployments and incidents (audit-logged).

use super::chart::{self, Marker, Point};
use super::figures::METRICS;
use super::page::{self, WindowParams, day, moment, svg};
use crate::extract::{Path, Query, ServicePath};
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::access::store_error;
use crate::state::AppState;
use axum::extract::{Extension, State};
use axum::response::Html;
use lantern_app::annotations::AnnotationJson;
use lantern_app::report::{Loaded, Reader, ReportDocument};
use lantern_engine::{Bucket, Report, Scope, Window, find_metric_doc};
use lantern_events::{Deployment, Incident, Timestamp};
use lantern_governance::Need;
use maud::{Markup, html};

/// The comparison columns of a metric card.
const COMPARED_DAYS: [u32; 3] = [7, 30, 90];

pub async fn team_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    query: Query<WindowParams>,
) -> Result<Html<String>, Problem> {
    let team = state
        .app()
        .teams
        .iter()
        .find(|t| t.name.as_str() == name)
        .ok_or_else(|| {
            Problem::new(
                axum::http::StatusCode::NOT_FOUND,
                "unknown-team",
                format!("no team `{name}` in the catalog"),
            )
        })?;
    let scope = Scope::Team {
        name: team.name.clone(),
        services: team.services.clone(),
    };
    scope_page(state, p, scope, query).await
}

pub async fn service_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    ServicePath(service): ServicePath,
    query: Query<WindowParams>,
) -> Result<Html<String>, Problem> {
    scope_page(state, p, Scope::Service(service), query).await
}

/// What a figures page shows, computed with the store held once.
struct Computed {
    document: ReportDocument,
    /// The windows of the document's buckets, in order.
    trend: Vec<Window>,
    /// The comparison windows; `None` where withheld from this reader.
    compared: Vec<(u32, Option<Report>)>,
    /// The figures against the period just before (health.md's `compare`).
    previous: lantern_app::compare::Comparison,
    /// Incidents in the window, when the reader may see detail.
    incidents: Option<Vec<Incident>>,
    /// The service page's deployments, when the reader may see detail.
    deployments: Option<Vec<Deployment>>,
    /// What the deploy gate would answer now (a service with SLOs).
    gate: Option<(lantern_app::gate::Decision, String)>,
    /// The service page's deployments followed by burn (detail readers).
    burned: Vec<(String, Timestamp)>,
    /// The ids of the service page's deployments that failed (metrics.md).
    failed: std::collections::HashSet<String>,
    /// flow.md over the window, and the load of each bucket shown.
    flow: Option<(lantern_engine::FlowReport, Vec<Option<f64>>)>,
    /// A team's operational load (health.md), and its working time.
    load: Option<(
        lantern_engine::load::OperationalLoad,
        lantern_engine::load::WorkingTime,
    )>,
    /// A team page's strain, pulse and experiments (health.md).
    team: Option<TeamSections>,
    /// The experiments of the scope's teams running now: their expected
    /// dips are drawn as planned.
    running: Vec<lantern_store::Experiment>,
}

struct TeamSections {
    strain: lantern_app::team_health::Strain,
    rounds: Vec<lantern_app::pulse::RoundJson>,
    may_run: bool,
    experiments: Vec<lantern_app::experiments::ExperimentJson>,
}

/// Whether the reader may see event-level detail of every service of the
/// scope (the organisation is never shown as detail).
fn detail_allowed(state: &AppState, p: &Principal, scope: &Scope) -> bool {
    let Some(services) = scope.services() else {
        return false;
    };
    !services.is_empty()
        && services.iter().all(|s| {
            Need::Detail { service: s.clone() }
                .check(&p.grant, &|s| state.owners(s))
                .is_ok()
        })
}

async fn scope_page(
    state: AppState,
    p: Principal,
    scope: Scope,
    Query(params): Query<WindowParams>,
) -> Result<Html<String>, Problem> {
    let window = params.window(Timestamp::now())?;
    let (bucket, windows) = params.bucket(&window)?;
    let detail = detail_allowed(&state, &p, &scope);
    let (reader, for_store) = (p.clone(), scope.clone());
    let computed = state
        .with_store(move |store, state| {
            let settings = state.app();
            let scope = for_store;
            // A service nothing names is a 404, as in the API.
            lantern_app::report::known_scope(store, settings, &scope)?;
            let loaded = Loaded::load(store, settings, &scope, window)?;
            let reader = Reader::Grant(&reader.grant);
            if let Some(reason) = loaded.withheld(store, settings, reader, &scope)? {
                return Ok(Err(reason));
            }
            let ledger = loaded.ledger(settings);
            let trend = Some(windows.clone());
            let document = loaded.document(store, settings, &ledger, reader, &scope, trend)?;
            let compared =
                loaded.trailing(store, settings, &ledger, reader, &scope, &COMPARED_DAYS)?;
            let previous = lantern_app::report::comparison(
                store,
                settings,
                reader,
                &scope,
                window,
                &document.report,
                lantern_app::compare::CompareMode::Previous,
            )?;
            let input = &loaded.input;
            let incidents = detail.then(|| {
                input
                    .incidents
                    .iter()
                    .filter(|i| i.affected().any(|s| scope.contains(s)))
                    .cloned()
                    .collect()
            });
            let deployments = match (&scope, detail) {
                (Scope::Service(s), true) => {
                    Some(store.deployments_in(s, window).map_err(store_error)?)
                }
                _ => None,
            };
            // Deployments whose next hour burned budget fast: drawn on
            // the charts for those who may see the service's detail.
            let mut burned = Vec::new();
            if let (Scope::Service(s), Some(list)) = (&scope, &deployments)
                && document.report.slos.is_some()
            {
                let until = window.to.min(Timestamp::now());
                for d in list
                    .iter()
                    .filter(|d| d.status == lantern_events::DeploymentStatus::Success)
                {
                    let after =
                        lantern_app::slos::burn_after(store, settings, s, d.finished_at, until)?;
                    if after.iter().any(|b| b.followed_by_burn) {
                        burned.push((d.id.to_string(), d.finished_at));
                    }
                }
            }
            let failed = match &deployments {
                Some(_) => ledger
                    .spds
                    .iter()
                    .filter(|d| scope.contains(&d.d.service) && window.contains(d.finished_at))
                    .filter(|d| d.failed())
                    .map(|d| d.d.id.to_string())
                    .collect(),
                None => Default::default(),
            };
            // A team's load and strain (health.md), in its working time,
            // its pulse rounds this reader may see, and its experiments.
            let now = Timestamp::now();
            let (load, team) = match &scope {
                Scope::Team { name, .. } => {
                    let t = settings.team(name.as_str())?;
                    let health = lantern_app::team_health::team_health(
                        store,
                        settings,
                        reader,
                        name.as_str(),
                        window,
                        now,
                    )?;
                    let sections = TeamSections {
                        rounds: lantern_app::pulse::rounds(store, settings, reader, name, now)?,
                        may_run: lantern_app::pulse::may_run(reader, name).is_ok(),
                        experiments: lantern_app::experiments::list(
                            store,
                            settings,
                            reader,
                            Some(name.as_str()),
                            now,
                        )?,
                        strain: health.strain,
                    };
                    (
                        Some((health.operational_load, t.working.clone())),
                        Some(sections),
                    )
                }
                _ => (None, None),
            };
            let mut running = Vec::new();
            let teams: Vec<lantern_events::Name> = match &scope {
                Scope::Team { name, .. } => vec![name.clone()],
                Scope::Service(s) => settings.owners(s),
                Scope::Org => vec![],
            };
            for t in &teams {
                running.extend(lantern_app::experiments::running(store, t, now)?);
            }
            // The scope's work items (flow.md). A team's report carries its
            // flow, in every bucket too; a service's is read here.
            let flow = match &scope {
                Scope::Org => None,
                Scope::Team { .. } => document.report.flow.clone().map(|f| {
                    let load = document
                        .buckets
                        .iter()
                        .flatten()
                        .map(|b| {
                            b.figures()
                                .and_then(|r| r.flow.as_ref())
                                .map(|f| f.flow_load.mean)
                        })
                        .collect();
                    (f, load)
                }),
                Scope::Service(_) => {
                    let items = store
                        .flow_items(&scope, Some(window))
                        .map_err(store_error)?;
                    let of = |w: Window| lantern_engine::flow::for_scope(&items, &scope, w);
                    let load = document
                        .buckets
                        .iter()
                        .flatten()
                        .zip(&windows)
                        .map(|(b, w)| b.figures().and_then(|_| of(*w)).map(|f| f.flow_load.mean))
                        .collect();
                    of(window).map(|f| (f, load))
                }
            };
            let gate = match &scope {
                Scope::Service(s) if document.report.slos.is_some() => Some(
                    lantern_app::gate::would_answer(store, settings, s, Timestamp::now())?,
                ),
                _ => None,
            };
            Ok(Ok(Computed {
                document,
                flow,
                load,
                team,
                running,
                gate,
                burned,
                failed,
                trend: windows,
                compared,
                previous,
                incidents,
                deployments,
            }))
        })
        .await?;
    let title = match &scope {
        Scope::Service(s) => format!("Service {s}"),
        Scope::Team { name, .. } => format!("Team {name}"),
        Scope::Org => "Organisation".to_string(),
    };
    let body = match computed {
        Err(reason) => html! {
            h1 { (title) }
            (page::window_controls(&params, &window, bucket))
            p.notice role="status" {
                "This scope's figures are not shown to you: " (reason) ". "
                "Lantern shows a small group's figures only to its own team, so that no figure can be read as one person's (governance rule 2)."
            }
        },
        Ok(c) => {
            if c.incidents.is_some() {
                let label = lantern_app::annotations::scope_label(
                    &lantern_app::annotations::annotation_scope(&scope),
                );
                let shown = c.deployments.as_ref().map_or(0, Vec::len)
                    + c.incidents.as_ref().map_or(0, Vec::len);
                // Rule 4: detail shown on a page is a read like any other.
                state
                    .audit(p.record(
                        &format!("read page {}", page_path(&scope)),
                        &label,
                        &format!("200: {shown} events shown"),
                    ))
                    .await?;
            }
            figures_page(&state, &p, &scope, &title, &params, window, bucket, &c)
        }
    };
    Ok(page::shell(&state, Some(&p), &title, body))
}

fn page_path(scope: &Scope) -> String {
    match scope {
        Scope::Service(s) => format!("/services/{}", page::segment(s.as_str())),
        Scope::Team { name, .. } => format!("/teams/{}", page::segment(name.as_str())),
        Scope::Org => "/".into(),
    }
}

/// Annotations, disputes and (for detail readers) incidents as chart markers.
fn markers(annotations: &[AnnotationJson], incidents: Option<&Vec<Incident>>) -> Vec<Marker> {
    let mut out: Vec<Marker> = annotations
        .iter()
        .filter_map(|a| {
            Some(Marker {
                from: Timestamp::parse_rfc3339(&a.from).ok()?,
                to: a
                    .to
                    .as_deref()
                    .and_then(|t| Timestamp::parse_rfc3339(t).ok()),
                kind: a.kind.to_string(),
                label: match &a.metric {
                    Some(m) => format!("{} ({m})", a.title),
                    None => a.title.clone(),
                },
            })
        })
        .collect();
    for i in incidents.into_iter().flatten() {
        out.push(Marker {
            from: i.started_at,
            to: i.resolved_at,
            kind: "incident".into(),
            label: format!(
                "incident {}{}",
                i.id,
                i.severity
                    .as_deref()
                    .map(|s| format!(", severity {s}"))
                    .unwrap_or_default()
            ),
        });
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn figures_page(
    state: &AppState,
    p: &Principal,
    scope: &Scope,
    title: &str,
    params: &WindowParams,
    window: Window,
    bucket: Bucket,
    c: &Computed,
) -> Markup {
    let report = &c.document.report;
    let buckets = c.document.buckets.as_deref().unwrap_or(&[]);
    let mut markers = markers(&c.document.annotations, c.incidents.as_ref());
    markers.extend(c.burned.iter().map(|(id, at)| Marker {
        from: *at,
        to: Some(at.plus_micros(3600 * lantern_events::MICROS_PER_SECOND)),
        kind: "burn".into(),
        label: format!("deployment {id} followed by burn"),
    }));
    let stages = &report.pr_stages;
    let stage_list = [
        ("coding", stages.coding.median_s),
        ("pickup", stages.pickup.median_s),
        ("review", stages.review.median_s),
        ("deploy", stages.deploy.median_s),
    ];
    // Faults are in the workflow-health panel; here, what is no fault but
    // still shapes the figures (baselines, open incidents, inferred links).
    let warnings: Vec<String> = report
        .data_quality
        .notes()
        .into_iter()
        .filter(|n| !n.fault)
        .map(|n| n.text)
        .collect();
    html! {
        h1 { (title) }
        @if let Scope::Service(s) = scope {
            p.lede {
                @let owners = state.owners(s);
                @if owners.is_empty() { "No team of the catalog owns this service." }
                @else {
                    "Owned by "
                    @for (i, t) in owners.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href={ "/teams/" (page::segment(t.as_str())) } { "team " (t) }
                    }
                    "."
                }
            }
        }
        @if let Scope::Team { services, .. } = scope {
            p.lede {
                "Services: "
                @for (i, s) in services.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href={ "/services/" (page::segment(s.as_str())) (params.with(None, None)) } { (s) }
                }
                ". These figures describe the team's delivery system, not any person in it."
            }
        }
        (page::window_controls(params, &window, bucket))
        // Team pages open with seed 001's questions (health.md).
        @if let Scope::Team { .. } = scope {
            @let disputes = c.document.annotations.iter().filter(|a| a.kind == "dispute").count();
            @let annotations = c.document.annotations.len() - disputes;
            section.blocking aria-labelledby="blocking" data-blocking {
                h2 id="blocking" { "Where the team stands" }
                dl {
                    @for (question, answer) in lantern_app::blocking::sentences(report, annotations, disputes) {
                        div { dt { (question) } dd { (answer) } }
                    }
                }
            }
        }
        @if let Some((load, working)) = &c.load {
            (super::health::operational_load(load, working))
        }
        @if let (Some(t), Scope::Team { name, .. }) = (&c.team, scope) {
            (super::team_health::strain(&t.strain))
            (super::team_health::experiments(p, name.as_str(), &t.experiments, t.may_run))
            (super::pulse::section(p, name.as_str(), &t.rounds, t.may_run))
        }
        (super::health::banner(report))
        section aria-labelledby="dora" {
            h2 id="dora" { "The five DORA metrics" }
            div.cards {
                @for m in &METRICS {
                    @let doc = find_metric_doc(m.key);
                    article.card data-card=(m.key) {
                        h3 { (m.title) }
                        p.value { (m.figure(report)) }
                        p.sub { (m.figure) " " (m.chip(report)) }
                        (m.change(&c.previous, &page::previous_label(&c.previous.window), super::team_health::expected(&c.running, m.key).as_deref()))
                        (svg(chart::sparkline(
                            &format!("{} by {}", m.title, page::bucket_name(bucket)),
                            &buckets.iter().map(|b| b.figures().and_then(m.value)).collect::<Vec<_>>(),
                        )))
                        table.compare {
                            caption { "The last 7, 30 and 90 days to " (day(window.to.plus_micros(-1))) }
                            tr { @for (d, _) in &c.compared { th scope="col" { (d) " days" } } }
                            tr { @for (_, r) in &c.compared { td { @match r { Some(r) => (m.text(r)), None => abbr title="Too few contributors in this window to show its figures outside the team (governance rule 2)" { "withheld" } } } } }
                        }
                        @if let Some(doc) = doc {
                            details {
                                summary { "What this measures" }
                                p { (doc.measures) }
                                p { strong { "It does not measure: " } (doc.does_not_measure) }
                                p { a href={ "/docs/metrics#" (m.key) } { "The full definition, and how it is misread" } }
                            }
                        }
                    }
                }
            }
        }
        (supporting(report))
        @if let Some(p) = &c.document.pooled {
            p.note data-pooled { (p.sentence()) " " a href="/docs/metrics#lead_time" { "What lead time measures" } }
        }
        (super::slos::panel(report, buckets, c.gate.as_ref()))
        (super::panels::panels(report, buckets, false))
        (super::health::panel(report, buckets))
        section aria-labelledby="quality" {
            h2 id="quality" { "Data quality" }
            @if warnings.is_empty() && c.document.heuristics.is_empty() {
                p { "Nothing in this window's data weakens these figures." }
            } @else {
                ul.warnings {
                    @for w in &warnings { li { (w) } }
                    @for h in &c.document.heuristics { li { (h) } }
                }
            }
        }
        section aria-labelledby="stages" {
            h2 id="stages" { "Lead time, stage by stage" }
            p { "The median of each pull-request stage: where changes wait." }
            (svg(chart::stacked_bar("Lead-time stages, medians", &stage_list, lantern_app::format::duration)))
            ul.legend {
                @for (i, (name, v)) in stage_list.iter().enumerate() {
                    li { span class={ "swatch s" (i) } {} (name) ": "
                        (v.map(|v| chart::format_value(chart::Unit::Duration, v)).unwrap_or_else(|| "nothing to measure".into())) }
                }
            }
            @if let Some(rate) = stages.review_sample_rate {
                p.note { "Review detail is sampled: these stages rest on " (chart::format_value(chart::Unit::Share, rate)) " of pull requests." }
            }
        }
        @if let Some((flow, load)) = &c.flow {
            (super::flow::panel(Some(flow), load))
        }
        section aria-labelledby="trends" {
            h2 id="trends" { "Over time" }
            p { "One point per " (page::bucket_name(bucket)) ". Shaded spans are annotations, disputes"
                @if c.incidents.is_some() { " and incidents" }
                @if !c.burned.is_empty() { ", and the hour after each deployment followed by burn" } "; Tab to a point, tap it or point at it for its value (each chart's values are also in the table below it). A hollow point is a " (page::bucket_name(bucket)) " the window holds only part of: its counts cover fewer days." }
            @let kinds = marker_kinds(&markers);
            @if !kinds.is_empty() {
                ul.markers-legend aria-label="Shaded spans" {
                    @for (kind, words) in &kinds {
                        li { span class={ "swatch marker-" (kind) } {} (words) }
                    }
                }
            }
            div.charts {
                @for m in &METRICS {
                    @let points: Vec<Point> = buckets.iter().zip(&c.trend).map(|(b, w)| Point {
                        bucket: *w,
                        value: b.figures().and_then(m.value),
                        href: bucket_timeline(scope, c, b.window()),
                        partial: lantern_engine::is_partial(w, bucket),
                    }).collect();
                    figure data-chart=(m.key) {
                        @let drawn: Vec<Marker> = markers.iter().cloned().chain(super::team_health::planned(&c.running, m.key)).collect();
                        (svg(chart::line_chart(m.title, m.unit, &points, &drawn)))
                        figcaption { (m.title) ", " (m.figure) ", by " (page::bucket_name(bucket)) }
                        // Every value as text: for screen readers, the
                        // keyboard and touch (a tooltip needs a pointer).
                        details.chart-table {
                            summary { "The values as a table" }
                            table {
                                thead { tr { th scope="col" { (page::bucket_name(bucket)) " from" } th scope="col" { (m.title) } } }
                                tbody {
                                    @for p in &points {
                                        tr data-partial=[p.partial.then_some("true")] {
                                            td { (day(p.bucket.from)) @if p.partial { " (partial)" } }
                                            td { (p.value.map(|v| chart::format_value(m.unit, v)).unwrap_or_else(|| "nothing to measure".into())) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (super::context::section(state, p, scope, &c.document.annotations, params, window))
        @if let Some(deployments) = &c.deployments {
            (timeline(state, scope, params, deployments, c))
        }
    }
}

/// Where a chart point leads on a service page the reader may see the
/// detail of: the same page over that bucket's window, at its timeline,
/// where each deployment links to the page that explains it.
fn bucket_timeline(scope: &Scope, c: &Computed, w: &lantern_engine::WindowJson) -> Option<String> {
    let Scope::Service(service) = scope else {
        return None;
    };
    c.deployments.as_ref()?;
    Some(format!(
        "/services/{}?from={}&to={}#timeline",
        page::segment(service.as_str()),
        page::encode(&w.from),
        page::encode(&w.to)
    ))
}

/// Rows of the service timeline a page shows.
const TIMELINE_PAGE: usize = 50;

/// The service's deployments and incidents, newest first: production only
/// unless `timeline=all`, `TIMELINE_PAGE` rows a page (`page=N`), failed
/// deployments marked, each row linked to its own page.
fn timeline(
    state: &AppState,
    scope: &Scope,
    params: &WindowParams,
    deployments: &[Deployment],
    c: &Computed,
) -> Markup {
    let Scope::Service(service) = scope else {
        return html! {};
    };
    let incidents = c.incidents.as_deref().unwrap_or(&[]);
    let all = params.timeline.as_deref() == Some("all");
    let production = |d: &Deployment| state.app().engine.is_production(d.environment.as_str());
    enum Row<'a> {
        Deployment(&'a Deployment),
        Incident(&'a Incident),
    }
    let mut rows: Vec<(Timestamp, Row)> = deployments
        .iter()
        .filter(|d| all || production(d))
        .map(|d| (d.finished_at, Row::Deployment(d)))
        .chain(incidents.iter().map(|i| (i.started_at, Row::Incident(i))))
        .collect();
    rows.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    let pages = rows.len().div_ceil(TIMELINE_PAGE).max(1);
    let page_no = (params.page.unwrap_or(1) as usize).clamp(1, pages);
    let shown = rows
        .iter()
        .skip((page_no - 1) * TIMELINE_PAGE)
        .take(TIMELINE_PAGE);
    let base = params.with(None, None);
    let link = |page: usize, all: bool| {
        let sep = if base.is_empty() { "?" } else { "&" };
        let mut q = base.clone();
        if all {
            q.push_str(&format!("{sep}timeline=all"));
        }
        if page > 1 {
            let sep = if q.is_empty() { "?" } else { "&" };
            q.push_str(&format!("{sep}page={page}"));
        }
        format!("{q}#timeline")
    };
    let hidden = deployments.iter().filter(|d| !production(d)).count();
    html! {
        section aria-labelledby="timeline" {
            h2 id="timeline" { "Timeline" }
            p { "Deployments and incidents of " (service) " in the window, newest first; failed deployments are marked. You see this because your role may see this service's detail; this read is recorded in the audit log." }
            p.timeline-filter {
                @if all {
                    "Every environment. " a href=(link(1, false)) { "Production only" }
                } @else {
                    "Production only"
                    @if hidden > 0 { " (" (lantern_app::format::plural(hidden, "deployment", "deployments")) " elsewhere not shown)" }
                    ". " a href=(link(1, true)) { "Every environment" }
                }
            }
            div.table-scroll tabindex="0" role="region" aria-label="Scrollable table" { table.timeline {
                thead { tr { th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Detail" } } }
                tbody {
                    @for (t, row) in shown {
                        @match row {
                            Row::Deployment(d) => {
                                @let failed = c.failed.contains(d.id.as_str()) || d.status == lantern_events::DeploymentStatus::Failure;
                                tr.deployment.failed[failed] data-failed=[failed.then_some("true")] {
                                    td { (moment(*t)) }
                                    td { "Deployment to " (d.environment) @if failed { " " strong.failed-mark { "failed" } } }
                                    td { a href=(super::deployment::href(d.service.as_str(), d.id.as_str())) { code { (d.id) } } " " (lantern_events::enum_name(&lantern_events::DeploymentStatus::ALL, d.status))
                                        @if let Some(sha) = &d.sha { " · " code { (sha.to_string().get(..12).unwrap_or_default()) } } }
                                }
                            },
                            Row::Incident(i) => tr.incident {
                                td { (moment(*t)) }
                                td { a href={ "/services/" (page::segment(service.as_str())) "/incidents/" (page::segment(i.id.as_str())) } { "Incident " (i.id) } }
                                td { @if let Some(s) = &i.severity { "severity " (s) " · " }
                                    @match i.resolved_at { Some(r) => { "resolved " (moment(r)) }, None => "still open" } }
                            },
                        }
                    }
                }
            } }
            @if pages > 1 {
                nav.pager aria-label="Timeline pages" {
                    "Page " (page_no) " of " (pages) ". "
                    @if page_no > 1 { a href=(link(page_no - 1, all)) rel="prev" { "Newer" } " " }
                    @if page_no < pages { a href=(link(page_no + 1, all)) rel="next" { "Older" } }
                }
            }
        }
    }
}

/// The figures that explain the five, with the sample each rests on:
/// time to restore service, time to detect, deployment success rate.
fn supporting(report: &Report) -> Markup {
    use lantern_app::format::{duration, plural};
    let median = |s: &lantern_engine::Stats| s.median_s.map(duration);
    let rows: [(&str, &str, Option<String>, String); 3] = [
        (
            "time_to_restore",
            "Time to restore service",
            median(&report.time_to_restore).map(|m| format!("median {m}")),
            plural(report.time_to_restore.count, "incident", "incidents"),
        ),
        (
            "time_to_detect",
            "Time to detect",
            median(&report.time_to_detect).map(|m| format!("median {m}")),
            plural(report.time_to_detect.count, "incident", "incidents"),
        ),
        (
            "deployment_success_rate",
            "Deployment success rate",
            report
                .deployment_success_rate
                .rate
                .map(|r| chart::format_value(chart::Unit::Share, r)),
            format!(
                "{} of {}",
                report.deployment_success_rate.succeeded,
                plural(
                    report.deployment_success_rate.attempts,
                    "attempt",
                    "attempts"
                )
            ),
        ),
    ];
    html! {
        section aria-labelledby="supporting" {
            h2 id="supporting" { "What explains them" }
            dl.supporting {
                @for (key, title, value, sample) in rows {
                    div data-supporting=(key) {
                        dt { a href={ "/docs/metrics#" (key) } { (title) } }
                        dd { (value.unwrap_or_else(|| "nothing to measure".into())) " " span.sample { "(" (sample) ")" } }
                    }
                }
            }
        }
    }
}

/// The kinds of shaded span a page's charts draw, each with the words its
/// legend says (annotations of any kind share one colour).
fn marker_kinds(markers: &[Marker]) -> Vec<(&'static str, &'static str)> {
    let mut kinds = Vec::new();
    for (kind, words) in [
        ("annotation", "annotation (freeze, migration, …)"),
        ("incident", "incident"),
        ("dispute", "dispute"),
        ("burn", "the hour after a deployment followed by burn"),
        (
            "planned",
            "planned: an experiment expects this figure to dip",
        ),
    ] {
        let present = markers.iter().any(|m| match kind {
            "annotation" => !matches!(m.kind.as_str(), "incident" | "dispute" | "burn" | "planned"),
            k => m.kind == k,
        });
        if present {
            kinds.push((kind, words));
        }
    }
    kinds
}

#[cfg(test)]
mod legend_tests {
    use super::*;

    #[test]
    fn the_legend_names_each_kind_of_span_drawn_once() {
        let at = Timestamp::from_micros(0);
        let marker = |kind: &str| Marker {
            from: at,
            to: None,
            kind: kind.into(),
            label: String::new(),
        };
        let kinds = marker_kinds(&[marker("freeze"), marker("migration"), marker("incident")]);
        let names: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["annotation", "incident"]);
        assert!(marker_kinds(&[]).is_empty());
    }
}
