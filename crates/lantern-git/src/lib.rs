//! Lantern's git source: a repository's history as canonical events, for
//! teams whose repository is the only delivery record they have.
//!
//! [`import`] reads a local repository (bare or not) with gix and maps it
//! to events: every new commit a `change`, pull requests recovered from
//! merge and squash subjects, deployments from tags or a branch, and
//! rollbacks and hotfixes from reverts and naming conventions. Like every
//! source it only maps: the store keeps the events and the engine computes
//! the figures. What it reads beyond the events (tips per ref, reverts
//! waiting for their deployment) is an [`ImportState`] and a [`RepoState`]
//! the caller keeps.
//!
//! Invariants:
//! - no commit message, path or e-mail leaves this crate; authors leave
//!   only as pseudonyms;
//! - the same repository and options give the same events, so re-running
//!   is idempotent; a re-run reads only commits the caller does not
//!   already hold ([`Prior::changes`]).

mod deploys;
mod import;
mod message;
mod repo;
mod version;

pub use import::{DeployRefs, Outcome, Summary, import};

use lantern_events::{Change, Name};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// What counts as a production deployment of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployRule {
    /// Every tag matching the glob (taken in time order, ties by id).
    Tags(String),
    /// Every commit on the branch's first-parent line.
    FirstParent(String),
    /// Every merge commit on the branch's first-parent line.
    Merges(String),
}

impl FromStr for DeployRule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (kind, arg) = text.split_once(':').ok_or_else(|| {
            format!("`{text}`: expected tags:GLOB, first-parent:BRANCH or merges:BRANCH")
        })?;
        if arg.is_empty() {
            return Err(format!("`{text}`: nothing after `{kind}:`"));
        }
        match kind {
            "tags" => Ok(DeployRule::Tags(arg.into())),
            "first-parent" => Ok(DeployRule::FirstParent(arg.into())),
            "merges" => Ok(DeployRule::Merges(arg.into())),
            _ => Err(format!(
                "`{kind}` is not a deployment rule: expected tags:GLOB, first-parent:BRANCH or merges:BRANCH"
            )),
        }
    }
}

impl fmt::Display for DeployRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeployRule::Tags(g) => write!(f, "tags:{g}"),
            DeployRule::FirstParent(b) => write!(f, "first-parent:{b}"),
            DeployRule::Merges(b) => write!(f, "merges:{b}"),
        }
    }
}

/// Which deployments were hotfixes.
#[derive(Debug, Clone)]
pub struct HotfixRule {
    /// Globs, matched case-insensitively against the tag name or the branch
    /// a merge brought in.
    pub patterns: Vec<String>,
    /// A `vX.Y.Z` tag with Z > 0 within this many days after `vX.Y.0` is a
    /// hotfix; 0 turns the rule off.
    pub semver_patch_days: u32,
}

impl Default for HotfixRule {
    fn default() -> Self {
        HotfixRule {
            patterns: vec!["*hotfix*".into(), "*-patch*".into()],
            semver_patch_days: 14,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub service: Name,
    pub repo: Name,
    pub deploys: DeployRule,
    /// Only commits touching this directory count for the service.
    pub path_prefix: Option<String>,
    pub hotfix: HotfixRule,
}

/// Every git import's state is kept under a key starting with this.
pub const STATE_KEY_PREFIX: &str = "git\u{1f}";

impl Options {
    /// The key under which the caller keeps this import's [`ImportState`].
    pub fn state_key(&self) -> String {
        format!(
            "{STATE_KEY_PREFIX}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.service,
            self.repo,
            self.deploys,
            self.path_prefix.as_deref().unwrap_or("")
        )
    }

    /// The key under which the caller keeps the repository's [`RepoState`].
    pub fn repo_state_key(&self) -> String {
        format!("gitrepo\u{1f}{}", self.repo)
    }
}

/// What earlier imports left: this import's state, what is known of the
/// repository's commits, and the stored changes of the repository (so that
/// only new commits are read).
#[derive(Debug, Default)]
pub struct Prior {
    pub changes: Vec<Change>,
    pub state: ImportState,
    pub repo: RepoState,
}

/// What the messages of a repository's commits said, kept per repository
/// rather than per import: when several services import one monorepo,
/// the commits the first import read are not read again, and the others
/// still need to know which of them were reverts and which branches the
/// merges brought in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepoState {
    /// Revert commit → the commit it reverts, for every revert seen.
    pub reverts: BTreeMap<String, String>,
    /// Merge commit → the branch it brought in.
    pub merge_branches: BTreeMap<String, String>,
}

/// Kept between runs of one import (service, repository, rule, prefix).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportState {
    /// The commit each deployment ref pointed to (full ref name → sha).
    pub tips: BTreeMap<String, String>,
    /// Ids of the deployments already emitted.
    pub deployments: BTreeSet<String>,
    /// Ids of the pull requests already emitted.
    pub pull_requests: BTreeSet<String>,
    /// How the deployments were found, for the report's heuristics note.
    pub service: String,
    pub repo: String,
    pub rule: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path} is not a git repository: {reason}")]
    NotARepository { path: String, reason: String },
    #[error("could not read {what} from the repository: {reason}")]
    Read { what: String, reason: String },
    #[error(
        "the repository has no tags, so `--deploys tags:…` finds no deployments; try --deploys first-parent:BRANCH or merges:BRANCH"
    )]
    NoTags,
    #[error("no tag matches `{glob}`; the repository's tags include: {existing}")]
    NoTagMatches { glob: String, existing: String },
    #[error(
        "no branch `{branch}` (looked for refs/heads/{branch} and refs/remotes/origin/{branch}); branches: {existing}"
    )]
    NoBranch { branch: String, existing: String },
    #[error("`{0}` is not a usable glob")]
    BadGlob(String),
}

impl GitError {
    fn read<E: fmt::Display>(what: impl Into<String>) -> impl FnOnce(E) -> GitError {
        let what = what.into();
        move |e| GitError::Read {
            what,
            reason: e.to_string(),
        }
    }
}

/// What a report should say about a service whose figures come from a
/// git import.
pub fn heuristics_note(state: &ImportState) -> String {
    let how = match state.rule.parse::<DeployRule>() {
        Ok(DeployRule::Tags(g)) => format!("the tags matching `{g}`"),
        Ok(DeployRule::FirstParent(b)) => format!("the commits on `{b}`"),
        Ok(DeployRule::Merges(b)) => format!("the merges into `{b}`"),
        Err(_) => format!("`{}`", state.rule),
    };
    format!(
        "{}: deployments are {how} in the git repository `{}`; failed deployments are found only \
         through reverts and hotfix names, pull requests only through merge and squash subjects, \
         and their open and review times are unknown (`lantern explain git-mode`).",
        state.service, state.repo
    )
}

/// `lantern explain git-mode`.
pub const EXPLANATION: &str = include_str!("explain.md");
