//! One import run: read what is new, then map the whole history (the
//! caller's stored changes plus the new commits) to the events that are new.

use crate::deploys::{self, DeployPoint, sha_of};
use crate::message::{self, HowMerged, MessageFacts, PrRef};
use crate::repo::{RefTip, Repo};
use crate::{DeployRule, GitError, ImportState, Options, Prior, RepoState};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use gix::ObjectId;
use lantern_engine::ChangeGraph;
use lantern_events::{
    Change, Deployment, DeploymentKind, DeploymentStatus, Event, EventId, MICROS_PER_SECOND, Name,
    Pseudonymiser, PullRequest, Sha, Timestamp,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The new deployments of one run (changes and pull requests were
/// streamed to the caller as soon as they were known) and the state to
/// keep for the next.
#[derive(Debug)]
pub struct Outcome {
    pub events: Vec<Event>,
    pub state: ImportState,
    pub repo_state: RepoState,
    pub summary: Summary,
    /// Things the user should know, e.g. that the clone is shallow.
    pub warnings: Vec<String>,
}

/// What one run found that was new.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub commits: u64,
    pub pull_requests: u64,
    pub deployments: u64,
    /// New commits that revert another.
    pub reverts: u64,
    pub rollbacks: u64,
    pub hotfixes: u64,
    /// No ref moved since the last run: nothing was read.
    pub up_to_date: bool,
}

/// A repository's deployment refs (for `options.deploys`), read once: a
/// caller can compare [`DeployRefs::tips`] with an earlier import's before
/// loading anything, then hand them to [`import`].
pub struct DeployRefs {
    path: PathBuf,
    refs: Vec<RefTip>,
}

impl DeployRefs {
    pub fn read(path: &Path, rule: &DeployRule) -> Result<Self, GitError> {
        let mut repo = Repo::open(path)?;
        Ok(DeployRefs {
            path: path.to_path_buf(),
            refs: deploys::deploy_refs(&mut repo, rule)?,
        })
    }

    /// Where the refs point (full ref name → sha): equal to
    /// [`ImportState::tips`] means an import has nothing to read.
    pub fn tips(&self) -> BTreeMap<String, String> {
        self.refs
            .iter()
            .map(|r| (r.name.clone(), r.commit.to_string()))
            .collect()
    }
}

/// Reads what is new in the repository behind `refs`. New commits go to
/// `emit` in batches while the history is read, then the new pull
/// requests, so the caller can write them while the rest is worked out;
/// `progress` hears how many commits were read.
pub fn import(
    refs: DeployRefs,
    options: &Options,
    prior: Prior,
    pseudonymiser: &Pseudonymiser,
    progress: &mut dyn FnMut(u64),
    emit: &mut dyn FnMut(Vec<Event>),
) -> Result<Outcome, GitError> {
    let mut repo = Repo::open(&refs.path)?;
    let mut warnings = Vec::new();
    if repo.is_shallow()? {
        warnings.push(format!(
            "{} is a shallow clone: its history is cut, so the oldest deployments look like they shipped less \
             than they did; `git fetch --unshallow` gives the whole history",
            refs.path.display()
        ));
    }
    let tips = refs.tips();
    let refs = refs.refs;
    let mut state = prior.state;
    let mut repo_state = prior.repo;
    if !state.tips.is_empty() && state.tips == tips {
        return Ok(Outcome {
            events: Vec::new(),
            state,
            repo_state,
            summary: Summary {
                up_to_date: true,
                ..Summary::default()
            },
            warnings,
        });
    }

    let (new_changes, facts) = read_new_commits(
        &mut repo,
        refs.iter().map(|r| r.commit).collect(),
        &prior.changes,
        &options.repo,
        pseudonymiser,
        progress,
        emit,
    )?;
    let mut reverts = 0;
    for (sha, f) in &facts {
        if let Some(reverted) = f.reverts {
            repo_state
                .reverts
                .insert(sha.to_string(), reverted.to_string());
            reverts += 1;
        }
        if let Some(branch) = &f.source_branch {
            repo_state
                .merge_branches
                .insert(sha.to_string(), branch.clone());
        }
    }
    let mut all = prior.changes;
    let prior_len = all.len();
    all.extend(new_changes);

    let graph = ChangeGraph::build(&all);
    let repo_name = options.repo.as_str();
    let pull_requests = pull_requests(&graph, &all, &facts, options, &state);
    let summary_prs = pull_requests.len() as u64;
    for pr in &pull_requests {
        state.pull_requests.insert(pr.id.to_string());
    }
    emit(pull_requests.into_iter().map(Event::PullRequest).collect());

    let mut points = match &options.deploys {
        DeployRule::Tags(_) => deploys::tag_points(&refs),
        DeployRule::FirstParent(_) | DeployRule::Merges(_) => {
            let merges_only = matches!(options.deploys, DeployRule::Merges(_));
            first_parent_points(
                &graph,
                &all,
                repo_name,
                sha_of(&refs[0].commit),
                merges_only,
                &repo_state,
            )
        }
    };
    // A tag on the merge of a hotfix branch is a hotfix release too.
    if matches!(options.deploys, DeployRule::Tags(_)) {
        for p in &mut points {
            if let Some(branch) = repo_state.merge_branches.get(&p.sha.to_string()) {
                p.hotfix_names.push(branch.clone());
            }
        }
    }
    let points: Vec<DeployPoint> = points
        .into_iter()
        .filter(|p| graph.find(repo_name, &p.sha).is_some())
        .collect();
    let at: Vec<Timestamp> = points
        .iter()
        .map(|p| {
            p.tagged_at.unwrap_or_else(|| {
                graph
                    .find(repo_name, &p.sha)
                    .map_or(Timestamp::from_micros(0), |r| graph.change(r).committed_at)
            })
        })
        .collect();
    // metrics.md orders a service's deployments by finished_at, ties by id
    // (bytes), and rule 4 gives a change to its first deployment in that
    // order: what each shipped is computed in it, whatever order the
    // versions or the branch put them in (a maintenance tag made after a
    // newer release ships only what no earlier deployment did).
    let ids: Vec<EventId> = points.iter().map(|p| deployment_id(options, p)).collect();
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        (at[a], ids[a].as_str().as_bytes()).cmp(&(at[b], ids[b].as_str().as_bytes()))
    });
    let mut slots: Vec<Option<DeployPoint>> = points.into_iter().map(Some).collect();
    let points: Vec<DeployPoint> = order.iter().filter_map(|&i| slots[i].take()).collect();
    let at: Vec<Timestamp> = order.iter().map(|&i| at[i]).collect();
    let ids: Vec<EventId> = order.iter().map(|&i| ids[i].clone()).collect();
    let shas: Vec<Sha> = points.iter().map(|p| p.sha).collect();
    let shipped = graph.first_reached(repo_name, &shas);
    let mut first_deploy: HashMap<Sha, usize> = HashMap::with_capacity(all.len());
    for (i, set) in shipped.iter().enumerate() {
        for r in set {
            first_deploy.insert(graph.change(*r).sha, i);
        }
    }
    let mut touches = options.path_prefix.as_deref().map(PathFilter::new);
    let mut rollback_of: Vec<Option<usize>> = vec![None; points.len()];
    for (revert, reverted) in &repo_state.reverts {
        let (Ok(revert), Ok(reverted)) = (Sha::parse(revert), Sha::parse(reverted)) else {
            continue;
        };
        let (Some(&dr), Some(&dx)) = (first_deploy.get(&revert), first_deploy.get(&reverted))
        else {
            continue;
        };
        // Only new rollbacks matter, and in a monorepo only reverts of
        // this service's own commits.
        if dx >= dr || state.deployments.contains(ids[dr].as_str()) {
            continue;
        }
        if let Some(filter) = touches.as_mut() {
            let Some(r) = graph.find(repo_name, &reverted) else {
                continue;
            };
            if !filter.touches(&mut repo, graph.change(r))? {
                continue;
            }
        }
        rollback_of[dr] = rollback_of[dr].max(Some(dx));
    }
    let hotfix = deploys::hotfixes(&points, &at, &options.hotfix);

    let baseline_pending = state.deployments.is_empty();
    let mut summary = Summary::default();
    let mut deployments = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if state.deployments.contains(ids[i].as_str()) {
            continue;
        }
        let changes = if i == 0 && baseline_pending {
            // The first deployment is the baseline: what came before it is
            // not a lead time (metrics.md rule 3).
            None
        } else {
            let mut list = Vec::with_capacity(shipped[i].len());
            for r in &shipped[i] {
                let c = graph.change(*r);
                let keep = match touches.as_mut() {
                    Some(filter) => filter.touches(&mut repo, c)?,
                    None => true,
                };
                if keep {
                    list.push(c.sha);
                }
            }
            Some(list)
        };
        let kind = if rollback_of[i].is_some() {
            summary.rollbacks += 1;
            Some(DeploymentKind::Rollback)
        } else if hotfix[i] {
            summary.hotfixes += 1;
            Some(DeploymentKind::Hotfix)
        } else {
            None
        };
        deployments.push(Deployment {
            id: ids[i].clone(),
            service: options.service.clone(),
            environment: Name::parse("production").expect("a valid name"),
            status: DeploymentStatus::Success,
            started_at: None,
            finished_at: at[i],
            repo: Some(options.repo.clone()),
            sha: Some(p.sha),
            changes,
            kind,
            rollback_of: rollback_of[i].map(|j| ids[j].clone()),
            automated: None,
            rollout: None,
        });
    }
    drop(graph);

    summary.commits = (all.len() - prior_len) as u64;
    summary.reverts = reverts;
    summary.pull_requests = summary_prs;
    summary.deployments = deployments.len() as u64;
    for d in &deployments {
        state.deployments.insert(d.id.to_string());
    }
    state.tips = tips;
    state.service = options.service.to_string();
    state.repo = options.repo.to_string();
    state.rule = options.deploys.to_string();

    let events: Vec<Event> = deployments.into_iter().map(Event::Deployment).collect();
    Ok(Outcome {
        events,
        state,
        repo_state,
        summary,
        warnings,
    })
}

const EMIT_EVERY: usize = 8192;

fn seconds(s: i64) -> Timestamp {
    Timestamp::from_micros(s.saturating_mul(MICROS_PER_SECOND))
}

/// Reads every commit reachable from `tips` that is not among `known`, as
/// changes, with what the messages of the new commits said.
fn read_new_commits(
    repo: &mut Repo,
    tips: Vec<ObjectId>,
    known: &[Change],
    repo_name: &Name,
    pseudonymiser: &Pseudonymiser,
    progress: &mut dyn FnMut(u64),
    emit: &mut dyn FnMut(Vec<Event>),
) -> Result<(Vec<Change>, HashMap<Sha, MessageFacts>), GitError> {
    let known: HashSet<Sha> = known.iter().map(|c| c.sha).collect();
    let mut seen: HashSet<ObjectId> = HashSet::with_capacity(1024);
    let mut stack = tips;
    stack.retain(|id| !known.contains(&sha_of(id)) && seen.insert(*id));
    let mut changes = Vec::new();
    let mut facts = HashMap::new();
    let mut authors: HashMap<Vec<u8>, lantern_events::Pseudonym> = HashMap::new();
    let mut parents = Vec::new();
    let (mut emitted, mut batch) = (0, 1024);
    while let Some(id) = stack.pop() {
        let Some(c) = repo.commit(id, &mut parents)? else {
            continue;
        };
        let sha = sha_of(&c.id);
        let author = if c.author.is_empty() {
            None
        } else if let Some(p) = authors.get(c.author) {
            Some(p.clone())
        } else {
            // E-mail addresses compare without case.
            let who = String::from_utf8_lossy(c.author).to_lowercase();
            let p = pseudonymiser.pseudonymise(&who);
            authors.insert(c.author.to_vec(), p.clone());
            Some(p)
        };
        let f = message::read(c.message, c.parents.len() > 1);
        if f != MessageFacts::default() {
            facts.insert(sha, f);
        }
        let mut parent_shas = Vec::with_capacity(c.parents.len());
        for p in c.parents {
            let ps = sha_of(p);
            parent_shas.push(ps);
            if !known.contains(&ps) && seen.insert(*p) {
                stack.push(*p);
            }
        }
        changes.push(Change {
            id: EventId::for_change(repo_name, &sha),
            repo: repo_name.clone(),
            sha,
            parents: parent_shas,
            committed_at: seconds(c.committer_time),
            authored_at: seconds(c.author_time),
            author,
            pull_request: None,
        });
        if changes.len() - emitted == batch {
            progress(changes.len() as u64);
            emit(as_events(&changes[emitted..]));
            emitted = changes.len();
            // A small first batch sets the writer going early.
            batch = EMIT_EVERY;
        }
    }
    progress(changes.len() as u64);
    emit(as_events(&changes[emitted..]));
    Ok((changes, facts))
}

/// The reader keeps its changes for the graph; the writer gets copies.
fn as_events(changes: &[Change]) -> Vec<Event> {
    changes.iter().cloned().map(Event::Change).collect()
}

/// Pull requests named by new commits and not emitted before. Their
/// commits are listed in the event (`commits`); changes are not rewritten
/// to point at them, so changes can be written while they are read.
fn pull_requests(
    graph: &ChangeGraph,
    all: &[Change],
    facts: &HashMap<Sha, MessageFacts>,
    options: &Options,
    state: &ImportState,
) -> Vec<PullRequest> {
    let repo = options.repo.as_str();
    // One commit per pull request: a true merge over a squash-like subject
    // (cherry-picks keep `(#123)`), then the earliest.
    let mut chosen: HashMap<PrRef, (bool, Timestamp, usize)> = HashMap::new();
    for (sha, f) in facts {
        let Some((pr, how)) = f.pull_request else {
            continue;
        };
        let Some(r) = graph.find(repo, sha) else {
            continue;
        };
        let c = graph.change(r);
        let candidate = (how != HowMerged::Merge, c.committed_at, r.idx as usize);
        chosen
            .entry(pr)
            .and_modify(|best| *best = (*best).min(candidate))
            .or_insert(candidate);
    }
    let mut chosen: Vec<(PrRef, (bool, Timestamp, usize))> = chosen.into_iter().collect();
    chosen.sort_unstable();
    let mut prs = Vec::with_capacity(chosen.len());
    for (pr, (squash, merged_at, idx)) in chosen {
        let id = match pr {
            PrRef::Hash(n) => format!("{repo}#{n}"),
            PrRef::Bang(n) => format!("{repo}!{n}"),
        };
        if state.pull_requests.contains(&id) {
            continue;
        }
        let Ok(id) = EventId::parse(&id) else {
            continue;
        };
        let m = &all[idx];
        let (commits, head_sha): (Vec<usize>, Option<Sha>) = match (squash, m.parents.as_slice()) {
            (false, [first, second, ..]) => (
                graph
                    .reachable_from_not_from(repo, second, first)
                    .into_iter()
                    .map(|r| r.idx as usize)
                    .collect(),
                Some(*second),
            ),
            _ => (vec![idx], None),
        };
        let first_commit_at = commits.iter().map(|&i| all[i].authored_at).min();
        // Git does not record when a pull request was opened: the merge
        // time stands in, so `coding` spans first commit to merge.
        let mut pr = PullRequest::opened(id, options.repo.clone(), merged_at);
        pr.merged_at = Some(merged_at);
        pr.closed_at = Some(merged_at);
        pr.merge_sha = Some(m.sha);
        pr.head_sha = head_sha;
        pr.commits = commits.iter().map(|&i| all[i].sha).collect();
        pr.first_commit_at = first_commit_at;
        prs.push(pr);
    }
    prs
}

/// The branch's first-parent line, oldest first; only merges when asked.
fn first_parent_points(
    graph: &ChangeGraph,
    all: &[Change],
    repo: &str,
    tip: Sha,
    merges_only: bool,
    known: &RepoState,
) -> Vec<DeployPoint> {
    let branches: HashMap<Sha, &str> = known
        .merge_branches
        .iter()
        .filter_map(|(sha, b)| Some((Sha::parse(sha).ok()?, b.as_str())))
        .collect();
    let mut line = Vec::new();
    let mut seen = HashSet::new();
    let mut next = graph.find(repo, &tip);
    while let Some(r) = next {
        if !seen.insert(r.idx) {
            break; // only forged input has cycles
        }
        let c = &all[r.idx as usize];
        if !merges_only || c.parents.len() > 1 {
            line.push(DeployPoint {
                label: c.sha.to_string(),
                sha: c.sha,
                tagged_at: None,
                hotfix_names: branches
                    .get(&c.sha)
                    .map(|b| b.to_string())
                    .into_iter()
                    .collect(),
            });
        }
        next = c.parents.first().and_then(|p| graph.find(repo, p));
    }
    line.reverse();
    line
}

fn deployment_id(options: &Options, p: &DeployPoint) -> EventId {
    let (s, r) = (&options.service, &options.repo);
    let id = match options.deploys {
        DeployRule::Tags(_) => format!("git:{s}:{r}:tag:{}", p.label),
        _ => format!("git:{s}:{r}:{}", p.sha),
    };
    EventId::parse(&id)
        .or_else(|_| EventId::parse(&format!("git:{s}:{r}:{}", p.sha)))
        .expect("service and repository names are short enough")
}

/// Whether a commit touched a directory: its entry there differs from
/// every parent's (so a merge counts only when it resolved something
/// there itself), as `git log -- DIR` shows commits.
struct PathFilter {
    components: Vec<String>,
    entries: HashMap<Sha, Option<ObjectId>>,
    parents: Vec<ObjectId>,
}

impl PathFilter {
    fn new(prefix: &str) -> Self {
        PathFilter {
            components: prefix
                .split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .map(str::to_string)
                .collect(),
            entries: HashMap::new(),
            parents: Vec::new(),
        }
    }

    fn entry(&mut self, repo: &mut Repo, sha: Sha) -> Result<Option<ObjectId>, GitError> {
        if let Some(e) = self.entries.get(&sha) {
            return Ok(*e);
        }
        let Ok(id) = ObjectId::from_hex(sha.to_string().as_bytes()) else {
            return Ok(None);
        };
        let tree = repo.commit(id, &mut self.parents)?.and_then(|c| c.tree);
        let parts: Vec<&str> = self.components.iter().map(String::as_str).collect();
        let entry = match tree {
            Some(t) => repo.entry_at(t, &parts)?,
            None => None,
        };
        self.entries.insert(sha, entry);
        Ok(entry)
    }

    fn touches(&mut self, repo: &mut Repo, c: &Change) -> Result<bool, GitError> {
        let own = self.entry(repo, c.sha)?;
        if c.parents.is_empty() {
            return Ok(own.is_some());
        }
        for p in &c.parents {
            if self.entry(repo, *p)? == own {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
