//! Deliveries tied into chains (CDEvents' `chainId` and `links`): a
//! merged change is remembered under its chain and context, and a later
//! deployment of the same chain, or linking to it, ships that change's
//! commits when they are known (attribution issue, part 5). The mapping
//! stays pure; these two steps read and write the store around it.

use crate::AppError;
use lantern_events::{Event, EventKind, PipelineRun, Timestamp};
use lantern_sources::Chain;
use lantern_store::Store;

/// Fills in, for each deployment of `events` that names no commit, what
/// the merged change its chain names shipped: its repository and merge
/// (or head) commit, else its listed commits. A chain that names nothing
/// known leaves the deployment as it came (frequency and failures count
/// it; lead time cannot).
pub fn resolve(store: &dyn Store, chain: &Chain, events: &mut Vec<Event>) -> Result<(), AppError> {
    let mut found = None;
    for key in &chain.look_up {
        let Some(id) = store.source_state(key)? else {
            continue;
        };
        let Ok(id) = lantern_events::EventId::parse(&id) else {
            continue;
        };
        if let Some(Event::PullRequest(pr)) = store.find(EventKind::PullRequest, &id)? {
            found = Some(pr);
            break;
        }
    }
    let Some(pr) = found else {
        // A run whose commit nobody knows is not recorded.
        return Ok(());
    };
    if let (Some(run), Some(sha)) = (&chain.run, pr.merge_sha.or(pr.head_sha)) {
        let started_at = store
            .source_state(&run.start_key)?
            .and_then(|t| t.parse::<i64>().ok())
            .map(Timestamp::from_micros)
            .filter(|&t| t <= run.finished_at)
            .unwrap_or(run.finished_at);
        events.push(Event::PipelineRun(PipelineRun {
            id: run.id.clone(),
            repo: pr.repo.clone(),
            sha,
            pipeline: run.pipeline.clone(),
            started_at,
            finished_at: run.finished_at,
            status: run.status,
            attempt: 1,
        }));
    }
    for event in events.iter_mut() {
        let Event::Deployment(d) = event else {
            continue;
        };
        if d.sha.is_some() || d.changes.is_some() {
            continue;
        }
        d.repo = Some(pr.repo.clone());
        match pr.merge_sha.or(pr.head_sha) {
            Some(sha) => d.sha = Some(sha),
            None if !pr.commits.is_empty() => d.changes = Some(pr.commits.clone()),
            None => d.repo = None,
        }
    }
    Ok(())
}

/// Remembers the pull request of `events` under the chain's keys, so that
/// later deliveries find it.
pub fn remember(store: &mut dyn Store, chain: &Chain, events: &[Event]) -> Result<(), AppError> {
    // A CI run's start, for its `finished` delivery.
    if let Some((key, at)) = &chain.started {
        let micros = at.micros().to_string();
        store
            .session()?
            .commit(&[(key.as_str(), micros.as_str())])?;
    }
    let Some(Event::PullRequest(pr)) = events.iter().find(|e| matches!(e, Event::PullRequest(_)))
    else {
        return Ok(());
    };
    if chain.remember.is_empty() {
        return Ok(());
    }
    let id = pr.id.to_string();
    let states: Vec<(&str, &str)> = chain
        .remember
        .iter()
        .map(|k| (k.as_str(), id.as_str()))
        .collect();
    let session = store.session()?;
    session.commit(&states)?;
    Ok(())
}
