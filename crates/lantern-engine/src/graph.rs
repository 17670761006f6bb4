//! The commit graph of every repository, for "which changes did this
//! deployment ship".
//!
//! Each commit gets a generation number (1 + the largest generation of its
//! stored parents). A child always has a higher generation than its parents,
//! so walking from two tips in decreasing generation order decides, when a
//! commit is reached, whether it is also an ancestor of the other tip — the
//! walk stops as soon as only shared history is left, instead of reading the
//! whole history for every deployment (git's `rev-list A ^B` does the same).

use foldhash::{HashMap, HashMapExt};
use lantern_events::{Change, Sha};
use std::collections::BinaryHeap;

/// A change, as (repository index, commit index in that repository).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChangeRef {
    pub repo: u32,
    pub idx: u32,
}

pub struct RepoGraph<'e> {
    index: HashMap<Sha, u32>,
    changes: Vec<&'e Change>,
    parent_start: Vec<u32>,
    parents: Vec<u32>,
    generation: Vec<u32>,
}

pub struct ChangeGraph<'e> {
    repo_ids: HashMap<&'e str, u32>,
    repos: Vec<RepoGraph<'e>>,
}

const FROM_NEW: u8 = 1;
const FROM_OLD: u8 = 2;
const DONE: u8 = 4;

impl<'e> ChangeGraph<'e> {
    pub fn build(changes: &'e [Change]) -> Self {
        let mut repo_ids: HashMap<&'e str, u32> = HashMap::new();
        let mut members: Vec<Vec<&'e Change>> = Vec::new();
        for c in changes {
            let next = repo_ids.len() as u32;
            let id = *repo_ids.entry(c.repo.as_str()).or_insert(next);
            if id as usize == members.len() {
                members.push(Vec::new());
            }
            members[id as usize].push(c);
        }
        let repos = members.into_iter().map(RepoGraph::build).collect();
        ChangeGraph { repo_ids, repos }
    }

    pub fn repo_id(&self, repo: &str) -> Option<u32> {
        self.repo_ids.get(repo).copied()
    }

    pub fn change(&self, r: ChangeRef) -> &'e Change {
        self.repos[r.repo as usize].changes[r.idx as usize]
    }

    /// The stored change with this sha in this repository.
    pub fn find(&self, repo: &str, sha: &Sha) -> Option<ChangeRef> {
        let rid = self.repo_id(repo)?;
        let idx = *self.repos[rid as usize].index.get(sha)?;
        Some(ChangeRef { repo: rid, idx })
    }

    /// Every stored change with this sha, in any repository.
    pub fn find_anywhere<'a>(&'a self, sha: &'a Sha) -> impl Iterator<Item = ChangeRef> + 'a {
        self.repos.iter().enumerate().filter_map(move |(rid, g)| {
            g.index.get(sha).map(|&idx| ChangeRef {
                repo: rid as u32,
                idx,
            })
        })
    }

    /// The changes reachable from `new` (itself included) that are not
    /// reachable from `old`, following only stored changes.
    pub fn reachable_from_not_from(&self, repo: &str, new: &Sha, old: &Sha) -> Vec<ChangeRef> {
        let Some(rid) = self.repo_id(repo) else {
            return Vec::new();
        };
        let g = &self.repos[rid as usize];
        let Some(&start) = g.index.get(new) else {
            return Vec::new();
        };
        let mut flags: HashMap<u32, u8> = HashMap::new();
        let mut heap = BinaryHeap::new();
        let mut pending_new = 1usize; // queued commits reached only from `new`
        flags.insert(start, FROM_NEW);
        heap.push((g.generation[start as usize], start));
        if let Some(&stop) = g.index.get(old) {
            if stop == start {
                return Vec::new();
            }
            flags.insert(stop, FROM_OLD);
            heap.push((g.generation[stop as usize], stop));
        }
        let mut out = Vec::new();
        while pending_new > 0 {
            let Some((_, node)) = heap.pop() else { break };
            let flag = flags[&node];
            flags.insert(node, flag | DONE);
            if flag == FROM_NEW {
                pending_new -= 1;
                out.push(ChangeRef {
                    repo: rid,
                    idx: node,
                });
            }
            for &p in g.parents_of(node) {
                let seen = flags.get(&p).copied();
                if flag & FROM_OLD != 0 {
                    match seen {
                        None => {
                            flags.insert(p, FROM_OLD);
                            heap.push((g.generation[p as usize], p));
                        }
                        Some(f) if f & FROM_OLD == 0 => {
                            flags.insert(p, f | FROM_OLD);
                            // Only a cycle can reach a commit after it was
                            // popped; then it was already counted.
                            if f & DONE == 0 {
                                pending_new -= 1;
                            }
                        }
                        Some(_) => {}
                    }
                } else if seen.is_none() {
                    flags.insert(p, FROM_NEW);
                    heap.push((g.generation[p as usize], p));
                    pending_new += 1;
                }
            }
        }
        out
    }

    /// For tips taken in order, the changes each one reaches first: those
    /// reachable from it and from no earlier tip. This is rules 2 and 4 over
    /// a sequence of deployments of one repository, in one pass over the
    /// history. A tip that is not stored reaches nothing.
    pub fn first_reached(&self, repo: &str, tips: &[Sha]) -> Vec<Vec<ChangeRef>> {
        let Some(rid) = self.repo_id(repo) else {
            return vec![Vec::new(); tips.len()];
        };
        let g = &self.repos[rid as usize];
        let mut seen = vec![false; g.changes.len()];
        let mut stack = Vec::new();
        tips.iter()
            .map(|tip| {
                let mut out = Vec::new();
                if let Some(&start) = g.index.get(tip)
                    && !std::mem::replace(&mut seen[start as usize], true)
                {
                    stack.push(start);
                }
                while let Some(n) = stack.pop() {
                    out.push(ChangeRef { repo: rid, idx: n });
                    for &p in g.parents_of(n) {
                        if !std::mem::replace(&mut seen[p as usize], true) {
                            stack.push(p);
                        }
                    }
                }
                out
            })
            .collect()
    }

    /// Every change reachable from `tip` (itself included).
    #[cfg(test)]
    pub fn ancestors(&self, repo: &str, tip: &Sha) -> Vec<ChangeRef> {
        self.first_reached(repo, std::slice::from_ref(tip))
            .pop()
            .unwrap_or_default()
    }
}

impl<'e> RepoGraph<'e> {
    fn build(changes: Vec<&'e Change>) -> Self {
        let mut index = HashMap::with_capacity(changes.len());
        for (i, c) in changes.iter().enumerate() {
            // Two events for one commit (different ids): the first one wins,
            // the graph has one node per sha.
            index.entry(c.sha).or_insert(i as u32);
        }
        let mut parent_start = Vec::with_capacity(changes.len() + 1);
        let mut parents = Vec::with_capacity(changes.len());
        for c in &changes {
            parent_start.push(parents.len() as u32);
            for p in &c.parents {
                if let Some(&pi) = index.get(p) {
                    parents.push(pi);
                }
            }
        }
        parent_start.push(parents.len() as u32);
        let mut g = RepoGraph {
            index,
            changes,
            parent_start,
            parents,
            generation: Vec::new(),
        };
        g.generation = g.generations();
        g
    }

    fn parents_of(&self, n: u32) -> &[u32] {
        let (a, b) = (
            self.parent_start[n as usize] as usize,
            self.parent_start[n as usize + 1] as usize,
        );
        &self.parents[a..b]
    }

    /// Iterative post-order DFS (histories are deeper than any stack). An
    /// edge back into the current path — a cycle, which only forged input
    /// can contain — is ignored rather than looping forever.
    fn generations(&self) -> Vec<u32> {
        const UNSEEN: u32 = 0;
        const ON_PATH: u32 = u32::MAX;
        let n = self.changes.len();
        let mut generation = vec![UNSEEN; n];
        let mut stack: Vec<(u32, usize)> = Vec::new();
        for root in 0..n as u32 {
            if generation[root as usize] != UNSEEN {
                continue;
            }
            generation[root as usize] = ON_PATH;
            stack.push((root, 0));
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                let ps = self.parents_of(node);
                if *next < ps.len() {
                    let p = ps[*next];
                    *next += 1;
                    if generation[p as usize] == UNSEEN {
                        generation[p as usize] = ON_PATH;
                        stack.push((p, 0));
                    }
                } else {
                    let g = ps
                        .iter()
                        .map(|&p| generation[p as usize])
                        .filter(|&g| g != ON_PATH)
                        .max()
                        .unwrap_or(0);
                    generation[node as usize] = g + 1;
                    stack.pop();
                }
            }
        }
        generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_events::{EventId, Name, Timestamp};

    fn sha(n: u32) -> Sha {
        Sha::parse(&format!("{n:07x}")).unwrap()
    }

    fn linear_change(n: u32) -> Change {
        if n > 1 {
            change(n, &[n - 1])
        } else {
            change(n, &[])
        }
    }

    fn change(n: u32, parents: &[u32]) -> Change {
        Change {
            id: EventId::parse(&format!("r@{n}")).unwrap(),
            repo: Name::parse("r").unwrap(),
            sha: sha(n),
            parents: parents.iter().map(|&p| sha(p)).collect(),
            committed_at: Timestamp::from_micros(n as i64),
            authored_at: Timestamp::from_micros(n as i64),
            author: None,
            pull_request: None,
        }
    }

    /// Changes from (commit, its parents) pairs.
    fn history(commits: &[(u32, &[u32])]) -> Vec<Change> {
        commits
            .iter()
            .map(|(n, parents)| change(*n, parents))
            .collect()
    }

    fn shipped(g: &ChangeGraph, new: u32, old: u32) -> Vec<u32> {
        let mut v: Vec<u32> = g
            .reachable_from_not_from("r", &sha(new), &sha(old))
            .into_iter()
            .map(|r| r.idx + 1)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn first_reached_gives_each_commit_to_the_first_tip_that_reaches_it() {
        // 0 <- 1 <- 2 <- 4 (merge of 2 and 3), 1 <- 3
        let changes = history(&[(0, &[]), (1, &[0]), (2, &[1]), (3, &[1]), (4, &[2, 3])]);
        let g = ChangeGraph::build(&changes);
        let sets: Vec<Vec<u32>> = g
            .first_reached("r", &[sha(2), sha(9), sha(3), sha(4), sha(2)])
            .into_iter()
            .map(|s| {
                let mut v: Vec<u32> = s.into_iter().map(|r| r.idx).collect();
                v.sort();
                v
            })
            .collect();
        assert_eq!(sets, vec![vec![0, 1, 2], vec![], vec![3], vec![4], vec![]]);
    }

    #[test]
    fn linear_history() {
        let cs: Vec<Change> = (1..=5).map(linear_change).collect();
        let g = ChangeGraph::build(&cs);
        assert_eq!(shipped(&g, 5, 2), [3, 4, 5]);
        assert_eq!(shipped(&g, 2, 5), Vec::<u32>::new());
        assert_eq!(shipped(&g, 3, 3), Vec::<u32>::new());
        // Unknown old tip: everything reachable.
        assert_eq!(shipped(&g, 3, 99), [1, 2, 3]);
        assert_eq!(shipped(&g, 99, 1), Vec::<u32>::new());
    }

    #[test]
    fn merge_brings_in_the_side_branch() {
        // 1 - 2 - 4 (merge of 3) - 5 ; 1 - 3
        let cs = history(&[(1, &[]), (2, &[1]), (3, &[1]), (4, &[2, 3]), (5, &[4])]);
        let g = ChangeGraph::build(&cs);
        assert_eq!(shipped(&g, 5, 2), [3, 4, 5]);
        assert_eq!(shipped(&g, 4, 3), [2, 4]);
        // A long side branch whose base is older than `old` is still found.
        assert_eq!(shipped(&g, 5, 4), [5]);
    }

    #[test]
    fn cycles_from_forged_input_terminate() {
        let cs = vec![change(1, &[3]), change(2, &[1]), change(3, &[2])];
        let g = ChangeGraph::build(&cs);
        assert_eq!(shipped(&g, 3, 99).len(), 3);
        assert_eq!(g.ancestors("r", &sha(1)).len(), 3);
    }

    #[test]
    fn deep_history_does_not_overflow_the_stack() {
        let cs: Vec<Change> = (1..=200_000).map(linear_change).collect();
        let g = ChangeGraph::build(&cs);
        assert_eq!(shipped(&g, 200_000, 199_990).len(), 10);
        assert_eq!(g.ancestors("r", &sha(200_000)).len(), 200_000);
    }
}
