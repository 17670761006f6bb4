//! Flow metrics (flow.md) for a team, a service, or every team of the
//! catalog: `lantern flow`, `GET /api/v1/flow` and the dashboard's flow
//! panel all ask here. Rule 2 holds as for reports: a small group's
//! figures are shown to its own team only.

use crate::report::{Reader, withheld_from};
use crate::{AppError, Settings};
use lantern_engine::flow::{FlowReport, flow_report};
use lantern_engine::{Bucket, FlowItem, Scope, ScopeJson, Window, WindowJson, buckets};
use lantern_store::Store;
use serde::Serialize;

/// What is asked: one scope (a team or a service) or, with `None`, every
/// team of the catalog; a window; and, for trends, a bucket size.
#[derive(Debug, Clone)]
pub struct FlowRequest {
    pub scope: Option<Scope>,
    pub window: Window,
    pub bucket: Option<Bucket>,
}

/// One scope's flow over the window: flow.md's five objects beside the
/// scope and window, and each bucket's when a trend was asked for.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlowDocument {
    pub scope: ScopeJson,
    pub window: WindowJson,
    #[serde(flatten)]
    pub flow: FlowReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Vec<FlowBucket>>,
}

/// One bucket of a trend: its figures, or why they are withheld (rule 2
/// holds for every window shown, as in reports).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum FlowBucket {
    Figures {
        window: WindowJson,
        #[serde(flatten)]
        flow: Box<FlowReport>,
    },
    Suppressed(crate::report::SuppressedReport),
}

/// A scope's flow, or why it is withheld from this reader.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum FlowAnswer {
    Figures(Box<FlowDocument>),
    Suppressed(crate::report::SuppressedReport),
}

/// Every team's flow, alphabetically (`lantern flow` without a scope).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamsFlow {
    pub window: WindowJson,
    pub teams: Vec<FlowAnswer>,
}

/// The answer to a [`FlowRequest`].
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum FlowResult {
    One(FlowAnswer),
    Teams(TeamsFlow),
}

/// The organisation has no flow of its own: flow belongs to teams.
pub fn flow(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    request: &FlowRequest,
) -> Result<FlowResult, AppError> {
    let windows = match request.bucket {
        Some(size) => {
            let w = buckets(&request.window, size);
            if w.len() > crate::report::MAX_BUCKETS {
                return Err(AppError::Invalid(format!(
                    "bucket: this window would be cut into {} reports, at most {} are computed; use a larger bucket or a shorter window",
                    w.len(),
                    crate::report::MAX_BUCKETS
                )));
            }
            Some(w)
        }
        None => None,
    };
    match &request.scope {
        Some(Scope::Org) => Err(AppError::invalid(
            "flow belongs to teams: give a team or a service (or neither, for every team)",
        )),
        Some(scope) => {
            crate::report::known_scope(store, settings, scope)?;
            let items = store.flow_items(scope, Some(request.window))?;
            Ok(FlowResult::One(answer(
                store,
                settings,
                reader,
                scope,
                &items,
                request.window,
                windows.as_deref(),
            )?))
        }
        None => {
            // One read for every team: the organisation's items, each
            // team picking its own.
            let items = store.flow_items(&Scope::Org, Some(request.window))?;
            let mut teams = Vec::with_capacity(settings.teams.len());
            let mut sorted: Vec<&crate::Team> = settings.teams.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            for team in sorted {
                let scope = Scope::Team {
                    name: team.name.clone(),
                    services: team.services.clone(),
                };
                teams.push(answer(
                    store,
                    settings,
                    reader,
                    &scope,
                    &items,
                    request.window,
                    windows.as_deref(),
                )?);
            }
            Ok(FlowResult::Teams(TeamsFlow {
                window: request.window.into(),
                teams,
            }))
        }
    }
}

fn answer(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    scope: &Scope,
    items: &[FlowItem],
    window: Window,
    windows: Option<&[Window]>,
) -> Result<FlowAnswer, AppError> {
    if let Some(reason) = withheld_from(store, settings, reader, scope, window)? {
        return Ok(FlowAnswer::Suppressed(crate::report::SuppressedReport {
            scope: scope.into(),
            window: window.into(),
            suppressed: true,
            reason,
        }));
    }
    let figures = |w: Window| flow_report(items.iter().filter(|i| i.in_scope(scope)), w);
    let buckets = match windows {
        Some(list) => {
            let mut out = Vec::with_capacity(list.len());
            for w in list {
                out.push(match withheld_from(store, settings, reader, scope, *w)? {
                    Some(reason) => FlowBucket::Suppressed(crate::report::SuppressedReport {
                        scope: scope.into(),
                        window: (*w).into(),
                        suppressed: true,
                        reason,
                    }),
                    None => FlowBucket::Figures {
                        window: (*w).into(),
                        flow: Box::new(figures(*w)),
                    },
                });
            }
            Some(out)
        }
        None => None,
    };
    Ok(FlowAnswer::Figures(Box::new(FlowDocument {
        scope: scope.into(),
        window: window.into(),
        flow: figures(window),
        buckets,
    })))
}

/// Where the unmapped states are counted: `source_state` keys
/// `flow.unmapped:SOURCE:STATE`, each holding its count.
const UNMAPPED: &str = "flow.unmapped:";

/// A tracker's state that maps to none of flow.md's four, as counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnmappedState {
    pub source: String,
    pub state: String,
    /// Deliveries that named it.
    pub count: u64,
}

/// Counts the states a delivery named that the catalog's `[flow.states]`
/// does not map: a data-quality finding (`lantern doctor`, the data
/// health page), never a silent drop.
pub fn note_unmapped(
    store: &mut dyn Store,
    source: &str,
    states: &[String],
) -> Result<(), AppError> {
    if states.is_empty() {
        return Ok(());
    }
    let mut counted: Vec<(String, String)> = Vec::new();
    for state in states {
        let key = format!("{UNMAPPED}{source}:{state}");
        let before = match counted.iter().find(|(k, _)| *k == key) {
            Some((_, v)) => v.parse::<u64>().unwrap_or(0),
            None => store
                .source_state(&key)?
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0),
        };
        counted.retain(|(k, _)| *k != key);
        counted.push((key, (before + 1).to_string()));
    }
    let pairs: Vec<(&str, &str)> = counted
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    store.session()?.commit(&pairs)?;
    Ok(())
}

/// Every unmapped state counted, by source and state.
pub fn unmapped_states(store: &dyn Store) -> Result<Vec<UnmappedState>, AppError> {
    Ok(store
        .source_states(UNMAPPED)?
        .into_iter()
        .filter_map(|(key, value)| {
            let rest = key.strip_prefix(UNMAPPED)?;
            let (source, state) = rest.split_once(':')?;
            Some(UnmappedState {
                source: source.to_string(),
                state: state.to_string(),
                count: value.parse().ok()?,
            })
        })
        .collect())
}
