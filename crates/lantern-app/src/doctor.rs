//! The data's health check (hygiene.md): every fault a report's
//! `data_quality` finds, for every scope a reader may see, each with its
//! fix in words — `lantern doctor` and the dashboard's `/data-health`.
//! A silent source reads as a slow team; this says which it is.

use crate::report::{Loaded, Reader, stamped};
use crate::{AppError, Settings};
use lantern_engine::{Note, Scope, Window};
use lantern_events::Name;
use lantern_store::Store;
use serde::Serialize;
use std::collections::BTreeSet;

/// Which scopes to check.
#[derive(Debug, Clone)]
pub enum Focus {
    /// The organisation, every team and every service.
    Everything,
    Team(Name),
    Service(Name),
}

/// The findings of one scope, or why it is withheld from this reader.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeHealth {
    /// `organisation`, `team NAME` or `service NAME`.
    pub scope: String,
    /// Set when rule 2 withholds this scope's figures from the reader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
    pub findings: Vec<Note>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checkup {
    pub from: String,
    pub to: String,
    pub scopes: Vec<ScopeHealth>,
}

impl Checkup {
    /// How many faults were found (withheld scopes count none).
    pub fn faults(&self) -> usize {
        self.scopes.iter().map(|s| s.findings.len()).sum()
    }
}

/// The findings of `focus` over `window`, as `reader` may see them.
pub fn check(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    focus: &Focus,
    window: Window,
) -> Result<Checkup, AppError> {
    let scopes = scopes(store, settings, focus)?;
    let services: BTreeSet<Name> = scopes
        .iter()
        .filter_map(|(_, s)| s.services())
        .flatten()
        .collect();
    let everything = matches!(focus, Focus::Everything);
    let loaded =
        Loaded::load_services(store, settings, (!everything).then_some(&services), window)?;
    let ledger = loaded.ledger(settings).with_scope_index();
    let mut out = Vec::with_capacity(scopes.len());
    for (label, scope) in scopes {
        let health = match loaded.withheld(store, settings, reader, &scope)? {
            Some(why) => ScopeHealth {
                scope: label,
                withheld: Some(why),
                findings: Vec::new(),
            },
            None => {
                let report = stamped(settings, &ledger, &scope, window);
                let mut findings = report.data_quality.findings();
                // A team's or the organisation's list would repeat its
                // services' lists: it keeps only what is its own.
                if !matches!(scope, Scope::Service(_)) {
                    findings.retain(|n| {
                        matches!(n.check, "silent_sources" | "unknown_incident_services")
                    });
                }
                ScopeHealth {
                    scope: label,
                    withheld: None,
                    findings,
                }
            }
        };
        out.push(health);
    }
    // Trackers' states that map to none of flow.md's four belong to no
    // scope (they were not stored): the organisation's findings say so.
    if let Some(org) = out
        .iter_mut()
        .find(|h| h.scope == "organisation" && h.withheld.is_none())
    {
        for u in crate::flow::unmapped_states(store)? {
            org.findings.push(lantern_engine::Note {
                check: "unmapped_states",
                fault: true,
                text: format!(
                    "{} sent the state `{}` {}, which maps to none of backlog, active, waiting and done: those transitions were not stored. Add it to [flow.states] in lantern.toml.",
                    u.source,
                    u.state,
                    crate::format::plural(u.count, "time", "times")
                ),
            });
        }
    }
    // Messages to chat that do not get through belong to no scope either.
    if let Some(org) = out
        .iter_mut()
        .find(|h| h.scope == "organisation" && h.withheld.is_none())
    {
        org.findings.extend(crate::notify::problems(
            store,
            lantern_events::Timestamp::now(),
        )?);
    }
    Ok(Checkup {
        from: window.from.to_rfc3339(),
        to: window.to.to_rfc3339(),
        scopes: out,
    })
}

/// The scopes a focus covers, labelled, in a fixed order.
fn scopes(
    store: &dyn Store,
    settings: &Settings,
    focus: &Focus,
) -> Result<Vec<(String, Scope)>, AppError> {
    let team = |t: &crate::Team| {
        (
            format!("team {}", t.name),
            Scope::Team {
                name: t.name.clone(),
                services: t.services.clone(),
            },
        )
    };
    let service = |s: &Name| (format!("service {s}"), Scope::Service(s.clone()));
    Ok(match focus {
        Focus::Everything => {
            let mut services: BTreeSet<Name> = store.services()?;
            for t in &settings.teams {
                services.extend(t.services.iter().cloned());
            }
            let mut out = vec![("organisation".to_string(), Scope::Org)];
            out.extend(settings.teams.iter().map(team));
            out.extend(services.iter().map(service));
            out
        }
        Focus::Team(name) => {
            let t = settings
                .teams
                .iter()
                .find(|t| &t.name == name)
                .ok_or_else(|| AppError::NotFound {
                    what: "team",
                    message: format!("no team `{name}` in the catalog"),
                })?;
            let mut out = vec![team(t)];
            out.extend(t.services.iter().map(service));
            out
        }
        Focus::Service(s) => vec![service(s)],
    })
}
