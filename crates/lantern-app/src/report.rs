//! The report: the one way every front end gets figures. [`report`] turns
//! a scope, a window and a reader into metrics.md's document or into why
//! its figures are withheld (governance.md rule 2); [`Loaded`] is the same
//! for pages that show several scopes or comparison windows from one
//! read. Nothing outside the engine's own tests builds a `Ledger` but
//! this module.
//!
//! The document is what programs read, from the CLI (`--format json`) and
//! the API alike: metrics.md's object, then a `heuristics` array when
//! figures were inferred (git mode), `annotations` when some touch the
//! scope and window, then `buckets` when a trend was asked for.

use crate::compare::{CompareMode, Comparison};
use crate::{AppError, Settings};
use lantern_engine::{Bucket, Ledger, Report, ReportInput, Scope, Window, buckets};
use lantern_events::Name;
use lantern_governance::{Grant, ReportScope, suppression};
use lantern_store::Store;
use serde::Serialize;
use std::collections::BTreeSet;

/// A bound on what one request can ask the engine to compute: ten years
/// of ISO weeks, or about 27 years of days.
pub const MAX_BUCKETS: usize = 10_000;

/// Who reads: the operator at the CLI (who holds the database and sees
/// everything), or the holder of a grant, to whom rule 2 applies.
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    Operator,
    Grant(&'a Grant),
}

impl Reader<'_> {
    /// Whether this reader acts for `team`: the operator, an admin, or a
    /// team member of it (who runs its pulse rounds and experiments).
    pub fn acts_for(self, team: &lantern_events::Name) -> bool {
        match self {
            Reader::Operator => true,
            Reader::Grant(g) => {
                g.role == lantern_governance::Role::Admin
                    || (g.role == lantern_governance::Role::TeamMember && g.is_member_of(team))
            }
        }
    }
}

/// What is asked: a scope, a window and, for trends, a bucket size.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub scope: Scope,
    pub window: Window,
    pub bucket: Option<Bucket>,
    /// Also the same figures over an earlier window (health.md).
    pub compare: Option<CompareMode>,
}

impl ReportRequest {
    /// The trend's windows, at most [`MAX_BUCKETS`] of them.
    pub fn trend(&self) -> Result<Option<Vec<Window>>, AppError> {
        let Some(size) = self.bucket else {
            return Ok(None);
        };
        let windows = buckets(&self.window, size);
        if windows.len() > MAX_BUCKETS {
            return Err(AppError::Invalid(format!(
                "bucket: this window would be cut into {} reports, at most {MAX_BUCKETS} are computed; use a larger bucket or a shorter window",
                windows.len()
            )));
        }
        Ok(Some(windows))
    }
}

/// The scope a request names: a service, a team of the catalog, or the
/// organisation when neither is given.
pub fn scope(
    settings: &Settings,
    service: Option<&str>,
    team: Option<&str>,
) -> Result<Scope, AppError> {
    match (service, team) {
        (Some(_), Some(_)) => Err(AppError::invalid("give service or team, not both")),
        (Some(s), None) => Name::parse(s)
            .map(Scope::Service)
            .map_err(|m| AppError::Invalid(format!("service: {m}"))),
        (None, Some(t)) => settings.team_scope(t),
        (None, None) => Ok(Scope::Org),
    }
}

/// The report one reader may see for one scope and window: the document
/// with its trend, annotations and heuristics, or why it is withheld
/// (then nothing is computed at all).
pub fn report(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    request: &ReportRequest,
) -> Result<ReportAnswer, AppError> {
    let trend = request.trend()?;
    known_scope(store, settings, &request.scope)?;
    let loaded = Loaded::load_ending(
        store,
        settings,
        &request.scope,
        request.window,
        trend.as_deref(),
    )?;
    if let Some(reason) = loaded.withheld(store, settings, reader, &request.scope)? {
        return Ok(ReportAnswer::Suppressed(SuppressedReport {
            scope: (&request.scope).into(),
            window: request.window.into(),
            suppressed: true,
            reason,
        }));
    }
    let ledger = loaded.ledger(settings);
    let mut document = loaded.document(store, settings, &ledger, reader, &request.scope, trend)?;
    if let Some(mode) = request.compare {
        document.compare = Some(comparison(
            store,
            settings,
            reader,
            &request.scope,
            request.window,
            &document.report,
            mode,
        )?);
    }
    Ok(ReportAnswer::Figures(Box::new(document)))
}

/// `now` (the report of `scope` over its window) compared with the same
/// scope over the earlier window `mode` names, withheld from this reader
/// where that window's own group is too small (rule 2).
pub fn comparison(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    scope: &Scope,
    window: Window,
    now: &Report,
    mode: CompareMode,
) -> Result<Comparison, AppError> {
    let earlier = mode.window(&window);
    let loaded = Loaded::load_ending(store, settings, scope, earlier, None)?;
    let then = match loaded.withheld(store, settings, reader, scope)? {
        Some(reason) => Err(reason),
        None => Ok(stamped(settings, &loaded.ledger(settings), scope, earlier)),
    };
    Ok(Comparison::of(
        mode,
        earlier,
        now,
        then.as_ref().map_err(Clone::clone),
    ))
}

/// Whether rule 2 can withhold `scope`'s figures from this reader at all:
/// the operator, members and admins see them whatever the group's size,
/// so the contributors need not be counted (nor the history read).
pub fn count_can_matter(settings: &Settings, reader: Reader, scope: &Scope) -> bool {
    let Reader::Grant(grant) = reader else {
        return false;
    };
    let min_group = settings.governance.min_group_size;
    let rule_scope = rule_scope(settings, scope);
    suppression(grant, &rule_scope, u64::MAX, min_group).is_some()
        || suppression(grant, &rule_scope, 0, min_group).is_some()
}

/// Rule 2 for one scope and window, for a figure that is not a report
/// (flow): the history is read only when the reader's role can make the
/// group's size matter.
pub fn withheld_from(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    scope: &Scope,
    window: Window,
) -> Result<Option<String>, AppError> {
    if !count_can_matter(settings, reader, scope) {
        return Ok(None);
    }
    Loaded::load_ending(store, settings, scope, window, None)?
        .withheld(store, settings, reader, scope)
}

/// Rule 2's view of a scope: whose team it is.
pub(crate) fn rule_scope(settings: &Settings, scope: &Scope) -> ReportScope {
    match scope {
        Scope::Service(s) => ReportScope::Service {
            owners: settings.owners(s),
        },
        Scope::Team { name, .. } => ReportScope::Team(name.clone()),
        Scope::Org => ReportScope::Org,
    }
}

/// A service nothing names — no deployment, incident or annotation, no
/// team of the catalog — is an error, not a report of zeros rated low (a
/// typo would read as a failing service).
pub fn known_scope(store: &dyn Store, settings: &Settings, scope: &Scope) -> Result<(), AppError> {
    let Scope::Service(name) = scope else {
        return Ok(());
    };
    let in_catalog = || !settings.owners(name).is_empty();
    let annotated = || -> Result<bool, AppError> {
        Ok(store
            .annotations()?
            .iter()
            .any(|a| matches!(&a.scope, lantern_events::AnnotationScope::Service(s) if s == name)))
    };
    if store.has_service(name)? || in_catalog() || annotated()? {
        return Ok(());
    }
    let services = store.services()?;
    let mut known: Vec<&str> = services.iter().take(20).map(|n| n.as_str()).collect();
    if services.len() > known.len() {
        known.push("…");
    }
    Err(AppError::NotFound {
        what: "service",
        message: format!(
            "no deployment or incident names service `{name}`; known services: {}",
            match known.is_empty() {
                true => "none yet (import events or wire a webhook first)".to_string(),
                false => known.join(", "),
            }
        ),
    })
}

/// The figures alone, as the operator sees them (no annotations, no
/// governance): for comparing stores and for benchmarks.
pub fn figures(
    store: &mut dyn Store,
    settings: &Settings,
    scope: &Scope,
    window: Window,
) -> Result<Report, AppError> {
    let loaded = Loaded::load_ending(store, settings, scope, window, None)?;
    Ok(stamped(settings, &loaded.ledger(settings), scope, window))
}

/// What the report of a window reads from the store, read once: one
/// scope's services, or several scopes' together (the organisation page).
pub struct Loaded {
    pub input: ReportInput,
    pub window: Window,
}

/// Above this many deployments and pull requests, an input is freed on a
/// thread of its own.
const FREED_APART: usize = 20_000;

impl Drop for Loaded {
    /// An organisation's window is some hundred thousand deployments and
    /// pull requests, each with allocations of its own: freeing them took
    /// a tenth of `lantern report`'s time, after the answer was ready.
    /// The answer need not wait (a process that exits meanwhile leaves
    /// the rest to the system).
    fn drop(&mut self) {
        let kept = self.input.kept.as_ref().map_or(0, |k| k.tallies.len());
        if self.input.deployments.len() + self.input.pull_requests.len() + kept < FREED_APART {
            return;
        }
        let input = std::mem::take(&mut self.input);
        // Should no thread start, the input is freed here as before.
        let freeing = std::thread::Builder::new()
            .name("free-input".into())
            .spawn(move || drop(input));
        if let Ok(handle) = freeing {
            let mut pending = PENDING_FREE.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(earlier) = pending.replace(handle) {
                let _ = earlier.join();
            }
        }
    }
}

/// The input being freed apart, if any. A long-lived process (the
/// server, the benchmark) loading its next large input waits for it
/// first: the two held at once took a report's memory to twice its own
/// (docs/performance.md, issue 23's fifth step). Freeing is long done by
/// then in all but back-to-back reports.
static PENDING_FREE: std::sync::Mutex<Option<std::thread::JoinHandle<()>>> =
    std::sync::Mutex::new(None);

/// Waits until the input being freed apart, if any, is freed.
fn finish_pending_free() {
    let pending = PENDING_FREE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(handle) = pending {
        let _ = handle.join();
    }
}

impl Loaded {
    /// What `scope`'s reports over `window` (or any window inside it) need.
    pub fn load(
        store: &mut dyn Store,
        settings: &Settings,
        scope: &Scope,
        window: Window,
    ) -> Result<Self, AppError> {
        let mut loaded = Self::load_services(store, settings, scope.services().as_ref(), window)?;
        loaded.add_assist_usage(store, scope)?;
        Ok(loaded)
    }

    /// What `scope`'s reports over `window`, and over the windows of its
    /// `trend` (each inside it), need — and only those: kept tallies may
    /// come added up over the days between these windows' edges.
    pub fn load_ending(
        store: &mut dyn Store,
        settings: &Settings,
        scope: &Scope,
        window: Window,
        trend: Option<&[Window]>,
    ) -> Result<Self, AppError> {
        // The window alone needs no look-back before it; a trend reads
        // back from its first bucket's end.
        let first_end = match trend {
            Some(windows) => windows.first().map_or(window.from, |w| w.to),
            None => window.to,
        };
        finish_pending_free();
        let services = scope.services();
        // Every window a report reads inside this one is cut at midnights
        // when it starts and ends at them (buckets, comparisons).
        let midnight = |t: lantern_events::Timestamp| {
            t.micros().rem_euclid(lantern_events::MICROS_PER_DAY) == 0
        };
        let engine = &settings.engine;
        let mut input = match [window.from, window.to, first_end]
            .into_iter()
            .all(midnight)
        {
            true => {
                let cuts = lantern_engine::KeptCuts::of_report(window, trend);
                store.report_input_kept(services.as_ref(), window, first_end, &cuts, engine)?
            }
            false => store.report_input_ending(services.as_ref(), window, first_end, engine)?,
        };
        add_findings(store, services.as_ref(), window, &mut input)?;
        let mut loaded = Loaded { input, window };
        loaded.add_assist_usage(store, scope)?;
        Ok(loaded)
    }

    /// The same for a set of services (`None`: every one).
    pub fn load_services(
        store: &mut dyn Store,
        settings: &Settings,
        services: Option<&BTreeSet<Name>>,
        window: Window,
    ) -> Result<Self, AppError> {
        finish_pending_free();
        let mut input = store.report_input(services, window, &settings.engine)?;
        add_findings(store, services, window, &mut input)?;
        Ok(Loaded { input, window })
    }

    /// panels.md: every repository's findings, for the organisation's
    /// report of a read of some services (the organisation page's).
    pub fn add_every_finding(&mut self, store: &dyn Store) -> Result<(), AppError> {
        self.input.findings = store.findings(None, self.window)?;
        Ok(())
    }

    /// panels.md: a team's AI-assistant days (only a team report shows
    /// them).
    fn add_assist_usage(&mut self, store: &dyn Store, scope: &Scope) -> Result<(), AppError> {
        if let Scope::Team { name, .. } = scope {
            self.input.assist_usage = store.assist_usage(name, self.window)?;
        }
        Ok(())
    }

    /// The ledger the reports are computed from.
    pub fn ledger(&self, settings: &Settings) -> Ledger<'_> {
        Ledger::build(&self.input, &settings.engine)
    }

    /// Rule 2 for this reader and one scope of what was loaded: the reason
    /// its figures are withheld, if they are.
    pub fn withheld(
        &self,
        store: &dyn Store,
        settings: &Settings,
        reader: Reader,
        scope: &Scope,
    ) -> Result<Option<String>, AppError> {
        self.withheld_over(store, settings, reader, scope, self.window)
    }

    /// The same for a window inside the loaded one (a bucket, a
    /// comparison): a group large enough over the whole window can be one
    /// person on one day.
    pub fn withheld_over(
        &self,
        store: &dyn Store,
        settings: &Settings,
        reader: Reader,
        scope: &Scope,
        window: Window,
    ) -> Result<Option<String>, AppError> {
        // Members and admins see the figures whatever the count: ask for it
        // only when it can change the answer.
        let Reader::Grant(grant) = reader else {
            return Ok(None);
        };
        if !count_can_matter(settings, reader, scope) {
            return Ok(None);
        }
        let min_group = settings.governance.min_group_size;
        let rule_scope = rule_scope(settings, scope);
        let repos: Option<BTreeSet<Name>> = self
            .input
            .repos_deployed_by(scope)
            .map(|repos| repos.cloned().collect());
        let contributors = store.contributors(repos.as_ref(), window, min_group)?;
        Ok(suppression(grant, &rule_scope, contributors, min_group))
    }
}

impl Loaded {
    /// The document of one scope over the loaded window for this reader:
    /// the report, the heuristics note, the annotations and disputes it
    /// touches, and the `trend` buckets, each withheld where its own group
    /// is too small. (Whether the whole report is withheld is asked
    /// first, with [`Loaded::withheld`].)
    pub fn document(
        &self,
        store: &dyn Store,
        settings: &Settings,
        ledger: &Ledger,
        reader: Reader,
        scope: &Scope,
        trend: Option<Vec<Window>>,
    ) -> Result<ReportDocument, AppError> {
        let mut document = ReportDocument {
            report: stamped(settings, ledger, scope, self.window),
            heuristics: heuristics(store, scope)?,
            annotations: crate::annotations::for_report(
                &store.annotations()?,
                &store.disputes()?,
                scope,
                &self.window,
                &settings.teams,
            ),
            buckets: None,
            compare: None,
            pooled: None,
        };
        // The dominant service is named only to a reader who may see its
        // own figures (rule 2).
        if let Some(mut p) = crate::pooled::pooled(ledger, scope, self.window) {
            if let Some(s) = p.dominant.clone()
                && self
                    .withheld_over(store, settings, reader, &Scope::Service(s), self.window)?
                    .is_some()
            {
                p.dominant = None;
            }
            document.pooled = Some(p);
        }
        // Each window of the trend is withheld from this reader when its
        // own group is too small.
        let slos = crate::slos::SloFigures::load(store, settings, scope, self.window)?;
        slos.attach(ledger, scope, self.window, &mut document.report);
        // flow.md: a team report's work items.
        let flow_items = match scope {
            Scope::Team { .. } => store.flow_items(scope, Some(self.window))?,
            _ => Vec::new(),
        };
        document.report.flow = lantern_engine::flow::in_report(&flow_items, scope, self.window);
        if let Some(windows) = trend {
            let mut buckets = Vec::with_capacity(windows.len());
            for w in windows {
                buckets.push(
                    match self.withheld_over(store, settings, reader, scope, w)? {
                        Some(reason) => BucketReport::Suppressed(SuppressedReport {
                            scope: scope.into(),
                            window: w.into(),
                            suppressed: true,
                            reason,
                        }),
                        None => {
                            let mut report = stamped(settings, ledger, scope, w);
                            report.slos = slos.over(w);
                            report.flow = lantern_engine::flow::in_report(&flow_items, scope, w);
                            BucketReport::Figures(Box::new(report))
                        }
                    },
                );
            }
            document.buckets = Some(buckets);
        }
        Ok(document)
    }

    /// The reports of the last `days` of the window each (the dashboard's
    /// 7/30/90-day comparisons), looking back from its end; a window
    /// shorter than the longest reads the longer history.
    ///
    /// A window whose own group is too small for this reader is `None`.
    pub fn trailing(
        &self,
        store: &mut dyn Store,
        settings: &Settings,
        ledger: &Ledger,
        reader: Reader,
        scope: &Scope,
        days: &[u32],
    ) -> Result<Vec<(u32, Option<Report>)>, AppError> {
        let end = self.window.to;
        let back = |d: u32| end.plus_micros(-(d as i64) * lantern_events::MICROS_PER_DAY);
        let compare = |loaded: &Loaded, ledger: &Ledger, store: &dyn Store| {
            days.iter()
                .map(|&d| {
                    let w = Window::new(back(d), end)?;
                    let shown = match loaded.withheld_over(store, settings, reader, scope, w)? {
                        Some(_) => None,
                        None => Some(ledger.report(scope, w)),
                    };
                    Ok((d, shown))
                })
                .collect::<Result<Vec<_>, AppError>>()
        };
        let longest = back(days.iter().copied().max().unwrap_or(0));
        if self.window.from <= longest {
            return compare(self, ledger, store);
        }
        let hull = Window::new(longest, end)?;
        let longer = Loaded::load(store, settings, scope, hull)?;
        compare(&longer, &longer.ledger(settings), store)
    }
}

/// panels.md: the findings of the repositories the services deploy
/// (every one for the organisation), once the input knows those.
fn add_findings(
    store: &dyn Store,
    services: Option<&BTreeSet<Name>>,
    window: Window,
    input: &mut ReportInput,
) -> Result<(), AppError> {
    input.findings = store.findings(input.repos_of(services).as_ref(), window)?;
    Ok(())
}

/// A report with what only the settings know: the review sample rate it
/// rests on (rule 6) and the incidents of services no team owns
/// (hygiene.md F2).
pub fn stamp(
    settings: &Settings,
    ledger: &Ledger,
    scope: &Scope,
    window: Window,
    mut report: Report,
) -> Report {
    report.pr_stages.review_sample_rate = settings.governance.review_sampling.stated_rate();
    let owned: BTreeSet<Name> = settings
        .teams
        .iter()
        .flat_map(|t| t.services.iter().cloned())
        .collect();
    // Without a catalog no service is anyone's: nothing to point out.
    if !settings.teams.is_empty() {
        report.data_quality.unknown_incident_services =
            ledger.unknown_incident_services(scope, &window, &owned);
    }
    report
}

/// The report of a scope and window, stamped.
pub fn stamped(settings: &Settings, ledger: &Ledger, scope: &Scope, window: Window) -> Report {
    stamp(
        settings,
        ledger,
        scope,
        window,
        ledger.report(scope, window),
    )
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportDocument {
    #[serde(flatten)]
    pub report: Report,
    /// Which services' figures rest on heuristics rather than recorded
    /// events, and what that means for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heuristics: Vec<String>,
    /// Annotations and disputes that touch the scope and window.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<crate::annotations::AnnotationJson>,
    /// The same report per day, ISO week or month, when asked for; a
    /// bucket whose own group is too small for this reader is withheld
    /// like a whole report (rule 2 holds for every window shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Comparison>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<BucketReport>>,
    /// What a pooled lead time takes together, for the sentence front ends
    /// show beside it (not part of the report's JSON).
    #[serde(skip)]
    pub pooled: Option<crate::pooled::Pooled>,
}

/// One bucket of a trend: its figures, or why they are withheld.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum BucketReport {
    Figures(Box<Report>),
    Suppressed(SuppressedReport),
}

impl BucketReport {
    /// The figures, unless they are withheld.
    pub fn figures(&self) -> Option<&Report> {
        match self {
            BucketReport::Figures(r) => Some(r),
            BucketReport::Suppressed(_) => None,
        }
    }

    pub fn window(&self) -> &lantern_engine::WindowJson {
        match self {
            BucketReport::Figures(r) => &r.window,
            BucketReport::Suppressed(s) => &s.window,
        }
    }
}

/// What a reader outside a small scope's team gets instead of its figures
/// (governance.md rule 2).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuppressedReport {
    pub scope: lantern_engine::ScopeJson,
    pub window: lantern_engine::WindowJson,
    /// Always true.
    pub suppressed: bool,
    /// E.g. "fewer than 3 contributors".
    pub reason: String,
}

/// A report, or why its figures are not shown to this reader.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ReportAnswer {
    Figures(Box<ReportDocument>),
    Suppressed(SuppressedReport),
}

/// Which services of the scope have figures from git heuristics rather
/// than recorded deployments, and what that means for them.
pub fn heuristics(store: &dyn Store, scope: &Scope) -> Result<Vec<String>, AppError> {
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
