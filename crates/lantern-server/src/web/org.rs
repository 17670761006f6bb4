//! The organisation page: the organisation's figures, how many services
//! sit in each band (a distribution, never a ranking), and every team and
//! service in alphabetical order. A scope whose figures this reader may
//! not see (rule 2) is listed as withheld, with why.

use super::figures::METRICS;
use super::overview::{BANDED, Figures, Overview};
use super::page::{self, WindowParams};
use crate::extract::Query;
use crate::policy::Principal;
use crate::problem::Problem;
use crate::routes::access::store_error;
use crate::state::AppState;
use axum::extract::{Extension, State};
use axum::response::Html;
use lantern_app::report::{self, Loaded, Reader};
use lantern_engine::{Ledger, Report, Scope, find_metric_doc};
use lantern_events::{Name, Timestamp};
use maud::{Markup, html};
use std::collections::{BTreeMap, BTreeSet};

struct Computed {
    /// Services per SLO status (the worst of each service's SLOs), and how
    /// many are withheld from this reader.
    slo_statuses: Option<(Vec<(&'static str, usize)>, usize)>,
    org: Figures,
    /// The organisation's figures per bucket (`None`: withheld) and
    /// against the period before, when its figures are shown.
    org_trend: Vec<Option<Report>>,
    org_previous: Option<lantern_app::compare::Comparison>,
    /// Every team's flow (flow.md), for the distribution of kinds.
    flow: Option<lantern_app::flow::TeamsFlow>,
    teams: Vec<(String, Figures)>,
    services: Vec<(String, Figures)>,
    /// Set while no event names a service: what a first run still lacks.
    getting_started: Option<lantern_store::Counts>,
}

pub async fn org_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(params): Query<WindowParams>,
) -> Result<Html<String>, Problem> {
    let window = params.window(Timestamp::now())?;
    let (bucket, trend) = params.bucket(&window)?;
    let reader = p.clone();
    let c = state
        .with_store(move |store, state| {
            let settings = state.app();
            let mut services: BTreeSet<Name> = store.services().map_err(store_error)?;
            // Nothing names a service yet: a first run (counting is cheap
            // on an empty store, and only done then).
            let getting_started = match services.is_empty() {
                true => Some(store.counts().map_err(store_error)?),
                false => None,
            };
            for t in &settings.teams {
                services.extend(t.services.iter().cloned());
            }
            // One read of the store and one ledger for every scope; the
            // index makes each scope's report cost what its own events cost.
            let mut loaded = Loaded::load_services(store, settings, Some(&services), window)?;
            // The organisation's findings are every repository's, as its
            // report through the API counts them.
            loaded.add_every_finding(store)?;
            let ledger = loaded.ledger(settings).with_scope_index();
            let mut scopes = vec![(String::new(), Scope::Org)];
            scopes.extend(settings.teams.iter().map(|t| {
                let scope = Scope::Team {
                    name: t.name.clone(),
                    services: t.services.clone(),
                };
                (t.name.to_string(), scope)
            }));
            scopes.extend(
                services
                    .iter()
                    .map(|s| (s.to_string(), Scope::Service(s.clone()))),
            );
            // Rule 2 first (it may ask the store), then the reports.
            let withheld = scopes
                .iter()
                .map(|(_, scope)| {
                    loaded.withheld(store, settings, Reader::Grant(&reader.grant), scope)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut reports = reports_in_parallel(&ledger, &scopes, &withheld, window).into_iter();
            let mut figures =
                withheld
                    .into_iter()
                    .zip(&scopes)
                    .map(|(why, (_, scope))| match why {
                        Some(reason) => Figures::Withheld(reason),
                        None => {
                            let r = reports.next().expect("one report per scope shown");
                            Figures::Shown(Box::new(report::stamp(
                                settings, &ledger, scope, window, r,
                            )))
                        }
                    });
            let org = figures.next().expect("the organisation is the first scope");
            // The organisation over time and against the period before:
            // each bucket withheld where its own group is too small.
            let (mut org_trend, mut org_previous) = (Vec::new(), None);
            // A first run has nothing to compare or draw.
            if let (Figures::Shown(now), None) = (&org, &getting_started) {
                let reader = Reader::Grant(&reader.grant);
                for w in &trend {
                    org_trend.push(
                        match loaded.withheld_over(store, settings, reader, &Scope::Org, *w)? {
                            Some(_) => None,
                            None => Some(ledger.report(&Scope::Org, *w)),
                        },
                    );
                }
                org_previous = Some(report::comparison(
                    store,
                    settings,
                    reader,
                    &Scope::Org,
                    window,
                    now,
                    lantern_app::compare::CompareMode::Previous,
                )?);
            }
            let mut named = scopes.iter().skip(1).map(|(n, _)| n.clone()).zip(figures);
            let teams = named.by_ref().take(settings.teams.len()).collect();
            let slo_statuses = slo_distribution(store, settings, Reader::Grant(&reader.grant))?;
            let flow = match lantern_app::flow::flow(
                store,
                settings,
                Reader::Grant(&reader.grant),
                &lantern_app::flow::FlowRequest {
                    scope: None,
                    window,
                    bucket: None,
                },
            )? {
                lantern_app::flow::FlowResult::Teams(t) => Some(t),
                lantern_app::flow::FlowResult::One(_) => None,
            };
            Ok(Computed {
                slo_statuses,
                org,
                org_trend,
                org_previous,
                flow,
                teams,
                services: named.collect(),
                getting_started,
            })
        })
        .await?;
    let body = render(&state, &params, window, bucket, c);
    Ok(page::shell(&state, Some(&p), "Organisation", body))
}

/// How many services are in each SLO status at this moment: each counted
/// once, by its worst SLO (exhausted, burning, warning, no data, ok).
#[allow(clippy::type_complexity)]
fn slo_distribution(
    store: &mut dyn lantern_store::Store,
    settings: &lantern_app::Settings,
    reader: Reader,
) -> Result<Option<(Vec<(&'static str, usize)>, usize)>, Problem> {
    use lantern_app::slos::SloAnswer;
    use lantern_engine::slo::SloState;
    if settings.slos.is_empty() {
        return Ok(None);
    }
    const ORDER: [(SloState, &str); 5] = [
        (SloState::Exhausted, "exhausted"),
        (SloState::Burning, "burning"),
        (SloState::Warning, "warning"),
        (SloState::NoData, "no data"),
        (SloState::Ok, "ok"),
    ];
    let answers =
        lantern_app::slos::status(store, settings, reader, &Scope::Org, Timestamp::now())?;
    let mut worst: BTreeMap<String, usize> = BTreeMap::new();
    let mut withheld = BTreeSet::new();
    for a in &answers {
        match a {
            SloAnswer::Figures(s) => {
                let rank = ORDER
                    .iter()
                    .position(|(st, _)| *st == s.status)
                    .unwrap_or(4);
                let e = worst.entry(s.slo.service.clone()).or_insert(rank);
                *e = (*e).min(rank);
            }
            SloAnswer::Suppressed { service, .. } => {
                withheld.insert(service.clone());
            }
        }
    }
    let counts = ORDER
        .iter()
        .enumerate()
        .map(|(i, (_, name))| (*name, worst.values().filter(|r| **r == i).count()))
        .collect();
    Ok(Some((counts, withheld.len())))
}

/// The reports of the scopes not withheld, in order. The organisation's
/// alone costs what all the others together cost, so the scopes are shared
/// out to the machine's cores as each finishes its last one.
fn reports_in_parallel(
    ledger: &Ledger,
    scopes: &[(String, Scope)],
    withheld: &[Option<String>],
    window: lantern_engine::Window,
) -> Vec<Report> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let shown: Vec<&Scope> = scopes
        .iter()
        .zip(withheld)
        .filter(|(_, w)| w.is_none())
        .map(|((_, s), _)| s)
        .collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let mut done: Vec<(usize, Report)> = std::thread::scope(|spawner| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                spawner.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(scope) = shown.get(i) else {
                            return mine;
                        };
                        mine.push((i, ledger.report(scope, window)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// A first run's checklist: each step, whether it is done, and how.
fn getting_started(counts: &lantern_store::Counts) -> Markup {
    let events = counts.changes
        + counts.pull_requests
        + counts.deployments
        + counts.incidents
        + counts.pipeline_runs;
    let steps: [(bool, &str, Markup); 3] = [
        (
            true,
            "Create a token",
            html! { "You signed in with one. Create one per source that sends events: " code { "lantern token create --role ingest --source events --purpose \"CI deploy hook\"" } "." },
        ),
        (
            events > 0,
            "Send events",
            html! {
                "Wire a webhook (GitHub, GitLab, PagerDuty, Opsgenie, Alertmanager or CDEvents, each at " code { "/hooks/…" } "), post canonical events to " code { "/hooks/events" } ", or run " code { "lantern import events FILE" } " or " code { "lantern import git REPO" } "."
            },
        ),
        (
            counts.deployments > 0,
            "See the first deployment arrive",
            html! { "The figures start with the first production deployment; each service then appears below with its own page." },
        ),
    ];
    html! {
        section.getting-started aria-labelledby="getting-started" data-getting-started {
            h2 id="getting-started" { "Getting started" }
            p { "Nothing has been measured yet: no deployment or incident names a service. Three steps:" }
            ol {
                @for (done, title, how) in steps {
                    li data-done=(done) {
                        strong { (title) } " — " (if done { "done. " } else { "to do. " }) (how)
                    }
                }
            }
        }
    }
}

fn render(
    state: &AppState,
    params: &WindowParams,
    window: lantern_engine::Window,
    bucket: lantern_engine::Bucket,
    c: Computed,
) -> Markup {
    let overview = Overview::build(&c.teams, &c.services);
    let (teams, services) = (by_name(&c.teams), by_name(&c.services));
    let with = params.with(None, None);
    let d = &overview.distribution;
    html! {
        h1 { "Organisation" }
        p.lede {
            (overview.teams.len()) " teams and " (overview.services.len()) " services, in alphabetical order. "
            "A band describes a delivery system against the DORA benchmarks; it is not a score, and this page is not a ranking."
        }
        @if let Some(counts) = &c.getting_started {
            (getting_started(counts))
        }
        (page::window_controls(params, &window, bucket))
        section aria-labelledby="org" {
            h2 id="org" { "The organisation as a whole" }
            @match &c.org {
                Figures::Shown(r) => {
                    dl.org-figures {
                        @for m in &METRICS {
                            div {
                                dt { a href={ "/docs/metrics#" (m.key) } { (m.title) } }
                                dd { (m.figure(r)) " " (m.chip(r)) }
                                @if !c.org_trend.is_empty() { dd.trend {
                                    (page::svg(super::chart::sparkline(
                                        &format!("{} by {}", m.title, page::bucket_name(bucket)),
                                        &c.org_trend.iter().map(|b| b.as_ref().and_then(m.value)).collect::<Vec<_>>(),
                                    )))
                                    @if let Some(previous) = &c.org_previous {
                                        (m.change(previous, &page::previous_label(&previous.window), None))
                                    }
                                } }
                            }
                        }
                    }
                }
                Figures::Withheld(why) => p.notice { "Withheld from you: " (why) "." }
            }
        }
        @if let Figures::Shown(r) = &c.org {
            (super::panels::panels(r, &[], true))
        }
        section aria-labelledby="distribution" {
            h2 id="distribution" { "How many services are in each band" }
            p { "Each row counts services, not people. It shows where the organisation's delivery systems are, without naming a first or a last." }
            div.table-scroll tabindex="0" role="region" aria-label="Scrollable table" { table.distribution {
                thead { tr { th scope="col" { "Metric" } @for b in ["elite", "high", "medium", "low", "nothing to measure"] { th scope="col" { (b) } } } }
                tbody {
                    @for (i, key) in BANDED.iter().enumerate() {
                        tr data-distribution=(key) {
                            th scope="row" { (find_metric_doc(key).map(|d| d.title).unwrap_or(key)) }
                            @for n in d.counts[i] {
                                td { span.bar style={ "--n:" (n) } {} (n) }
                            }
                        }
                    }
                }
            } }
            @if d.withheld > 0 {
                p.note { (d.withheld) " services are not counted: their figures are withheld from you (small groups, governance rule 2)." }
            }
        }
        @if let Some(flow) = &c.flow {
            (super::flow::distribution(flow))
        }
        @if let Some((counts, withheld)) = &c.slo_statuses {
            section aria-labelledby="slo-statuses" {
                h2 id="slo-statuses" { "How many services are in each SLO status" }
                p { "Each service counts once, by its worst SLO, now. A distribution, not a ranking: no service is named here." }
                div.table-scroll tabindex="0" role="region" aria-label="Scrollable table" { table.distribution {
                    thead { tr { @for (name, _) in counts { th scope="col" { (name) } } } }
                    tbody { tr data-slo-statuses="" { @for (_, n) in counts { td { span.bar style={ "--n:" (n) } {} (n) } } } }
                } }
                @if *withheld > 0 {
                    p.note { (withheld) " services are not counted: their figures are withheld from you (governance rule 2)." }
                }
            }
        }
        section aria-labelledby="teams" {
            h2 id="teams" { "Teams" }
            (rows_table("team", &overview.teams, &teams, "/teams/", &with))
        }
        section aria-labelledby="services" {
            h2 id="services" { "Services" }
            (rows_table("service", &overview.services, &services, "/services/", &with))
        }
        @if state.app().teams.is_empty() {
            p.note { "No teams are configured: add [[teams]] to lantern.toml to see team pages." }
        }
    }
}

/// The shown reports by name, for the rows the overview put in order.
fn by_name(list: &[(String, Figures)]) -> BTreeMap<&str, &Report> {
    list.iter()
        .filter_map(|(n, f)| match f {
            Figures::Shown(r) => Some((n.as_str(), &**r)),
            Figures::Withheld(_) => None,
        })
        .collect()
}

fn rows_table(
    what: &str,
    rows: &[super::overview::Row],
    reports: &BTreeMap<&str, &Report>,
    link: &str,
    query: &str,
) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "None yet: send deployments to /hooks/events or import a repository." }
        } @else {
            div.table-scroll tabindex="0" role="region" aria-label="Scrollable table" { table.scopes data-scopes=(what) {
                thead { tr { th scope="col" { (what) } @for m in &METRICS { th scope="col" { (m.title) } } } }
                tbody {
                    @for row in rows {
                        tr data-scope=(row.name) {
                            th scope="row" { a href={ (link) (super::page::segment(&row.name)) (query) } { (row.name) } }
                            @match reports.get(row.name.as_str()) {
                                Some(r) => { @for m in &METRICS { td { (m.figure(r)) " " (m.chip(r)) } } }
                                None => td.withheld colspan="5" { "withheld: " (row.withheld.as_deref().unwrap_or("not shown to you")) }
                            }
                        }
                    }
                }
            } }
        }
    }
}
