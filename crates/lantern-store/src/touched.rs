//! What both stores share about kept facts: which services and
//! repositories a batch of events makes stale, and the settings the facts
//! were derived with.

use lantern_engine::EngineConfig;
use lantern_events::{Event, EventId, Name};
use std::collections::BTreeSet;

/// What a batch of events touches, for marking facts stale (both stores):
/// the services and repositories the new versions name, and the ids of
/// stored versions they may replace, whose services and repositories
/// become stale too.
pub(crate) struct Touched<'e> {
    pub services: BTreeSet<String>,
    pub repos: BTreeSet<String>,
    pub deployments: Vec<&'e str>,
    pub incidents: Vec<&'e str>,
    /// The deployments the incidents' new versions blame (`caused_by`):
    /// their services' kept tallies count the link.
    pub blamed: Vec<&'e str>,
    /// Only changes with ids of their own: a default id (`repo@sha`)
    /// cannot move to another repository.
    pub changes: Vec<&'e str>,
    pub pull_requests: Vec<&'e str>,
}

impl<'e> Touched<'e> {
    pub(crate) fn of(events: &'e [Event]) -> Self {
        let mut t = Touched {
            services: BTreeSet::new(),
            repos: BTreeSet::new(),
            deployments: Vec::new(),
            incidents: Vec::new(),
            blamed: Vec::new(),
            changes: Vec::new(),
            pull_requests: Vec::new(),
        };
        for e in events {
            match e {
                Event::Deployment(d) => {
                    t.services.insert(d.service.to_string());
                    t.repos.extend(d.repo.as_ref().map(Name::to_string));
                    t.deployments.push(d.id.as_str());
                }
                Event::Incident(i) => {
                    t.services.extend(i.affected().map(Name::to_string));
                    t.incidents.push(i.id.as_str());
                    t.blamed.extend(i.caused_by.as_ref().map(EventId::as_str));
                }
                Event::Change(c) => {
                    t.repos.insert(c.repo.to_string());
                    if c.id.as_str() != EventId::for_change(&c.repo, &c.sha).as_str() {
                        t.changes.push(c.id.as_str());
                    }
                }
                Event::PullRequest(p) => {
                    t.repos.insert(p.repo.to_string());
                    t.pull_requests.push(p.id.as_str());
                }
                Event::Annotation(_)
                | Event::Sli(_)
                | Event::PipelineRun(_)
                | Event::WorkItem(_)
                | Event::WorkState(_)
                | Event::Finding(_)
                | Event::AssistUsage(_) => {}
            }
        }
        t
    }
}

pub(crate) fn fingerprint(config: &EngineConfig) -> String {
    let mut names = config.production.clone();
    names.sort();
    format!("v1:{}", names.join("\u{1f}"))
}
