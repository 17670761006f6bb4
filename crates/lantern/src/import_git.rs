//! `lantern import git PATH`: a repository's history into the store, for
//! teams whose repository is the only delivery record they have.
//!
//! The events and the import's state (the tips it read, the reverts still
//! waiting for a deployment) are committed in one transaction, so a re-run
//! after a crash repeats nothing and loses nothing.

use crate::instance::Instance;
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lantern_app::Settings;
use lantern_events::{Event, Name};
use lantern_git::{DeployRule, ImportState, Options, Prior, RepoState, Summary};
use lantern_store::Store;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct GitArgs {
    /// The repository (a working copy or a bare repository).
    pub path: PathBuf,
    /// The service these deployments are of.
    #[arg(long)]
    pub service: String,
    /// The repository's name in Lantern [default: the folder's name].
    #[arg(long)]
    pub repo: Option<String>,
    /// What a production deployment is: tags:GLOB (in version order),
    /// first-parent:BRANCH (every commit on it) or merges:BRANCH (every
    /// merge into it).
    #[arg(long, default_value = "tags:v*", value_name = "RULE")]
    pub deploys: DeployRule,
    /// Count only commits that touch this directory (a service in a monorepo).
    #[arg(long, value_name = "DIR")]
    pub path_prefix: Option<String>,
    /// Tag or branch names that mark a hotfix (repeatable; replaces the
    /// configured patterns, default `*hotfix*` and `*-patch*`).
    #[arg(long = "hotfix", value_name = "GLOB")]
    pub hotfix: Vec<String>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct GitImportSummary {
    pub service: String,
    pub repo: String,
    pub deploys: String,
    #[serde(flatten)]
    pub found: Summary,
    pub warnings: Vec<String>,
    /// Reading the repository and committing the events.
    pub seconds: f64,
    /// This process's peak resident memory so far (Linux; else NaN).
    pub peak_rss_mib: f64,
}

pub fn options(args: &GitArgs, config: &Settings) -> Result<Options> {
    let repo = match &args.repo {
        Some(r) => r.clone(),
        None => default_repo_name(&args.path)?,
    };
    let mut hotfix = config.git_hotfix.clone();
    if !args.hotfix.is_empty() {
        hotfix.patterns = args.hotfix.clone();
    }
    Ok(Options {
        service: Name::parse(&args.service).map_err(|m| anyhow::anyhow!("--service {m}"))?,
        repo: Name::parse(&repo).map_err(|m| anyhow::anyhow!("--repo {m}"))?,
        deploys: args.deploys.clone(),
        path_prefix: args
            .path_prefix
            .as_deref()
            .map(|p| p.trim_matches('/').to_string())
            .filter(|p| !p.is_empty()),
        hotfix,
    })
}

/// `~/src/shop/.git` and `~/src/shop.git` are both `shop`.
fn default_repo_name(path: &std::path::Path) -> Result<String> {
    let abs = std::path::absolute(path)?;
    let mut dir = abs.as_path();
    if dir.file_name().is_some_and(|n| n == ".git") {
        dir = dir.parent().unwrap_or(dir);
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".git").to_string())
        .filter(|n| !n.is_empty())
        .with_context(|| {
            format!(
                "cannot name the repository at {}: give --repo NAME",
                path.display()
            )
        })?;
    Ok(name)
}

pub fn import_git(
    instance: &mut Instance,
    args: &GitArgs,
    config: &Settings,
) -> Result<GitImportSummary> {
    let options = options(args, config)?;
    let started = Instant::now();
    let key = options.state_key();
    let store = instance.store.as_mut();
    let state: ImportState = saved(store, &key)?;
    let repo_key = options.repo_state_key();
    let repo_state: RepoState = saved(store, &repo_key)?;
    // Nothing moved: say so without loading the stored history.
    // The refs are read once: to see that nothing moved, then to import.
    let refs = lantern_git::DeployRefs::read(&args.path, &options.deploys)?;
    if !state.tips.is_empty() && refs.tips() == state.tips {
        return Ok(GitImportSummary {
            service: options.service.to_string(),
            repo: options.repo.to_string(),
            deploys: options.deploys.to_string(),
            found: Summary {
                up_to_date: true,
                ..Summary::default()
            },
            warnings: Vec::new(),
            seconds: started.elapsed().as_secs_f64(),
            peak_rss_mib: crate::telemetry::peak_rss_mib(),
        });
    }
    let bar = progress(args.quiet);
    // What is stored already is not read from git again.
    let changes = store.changes_of_repo(&options.repo)?;
    let pseudonymiser = instance.pseudonymiser.clone();
    store.bulk_writes(true)?;
    let mut session = store.session()?;
    // One thread reads the repository, this one writes what it read.
    let (send, receive) = sync_channel::<Vec<Event>>(4);
    let (outcome, written) = std::thread::scope(|scope| {
        let (bar, options) = (&bar, &options);
        let reader = scope.spawn(move || {
            lantern_git::import(
                refs,
                options,
                Prior {
                    changes,
                    state,
                    repo: repo_state,
                },
                &pseudonymiser,
                &mut |n| bar.set_position(n),
                // A failed write drops the receiver; the reader then
                // finishes without sending and its result is discarded.
                &mut |batch| {
                    let _ = send.send(batch);
                },
            )
        });
        let mut written: Result<(), lantern_store::StoreError> = Ok(());
        for mut batch in receive {
            // In key order, the inserts walk the B-tree instead of jumping
            // around it (commits arrive in graph order, their ids at random).
            batch.sort_unstable_by(|a, b| a.id().cmp(b.id()));
            if let Err(e) = session.write(&batch) {
                written = Err(e);
                break;
            }
        }
        let outcome = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the repository reader panicked"));
        (outcome, written)
    });
    bar.finish_and_clear();
    let outcome = outcome??;
    written.context("writing the imported history; nothing of it was committed")?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "read the repository"
    );
    if outcome.summary.up_to_date {
        drop(session);
    } else {
        let state = serde_json::to_string(&outcome.state)?;
        let repo_state = serde_json::to_string(&outcome.repo_state)?;
        session.write(&outcome.events)?;
        session
            .commit(&[(&key, &state), (&repo_key, &repo_state)])
            .context("writing the imported history; nothing of it was committed")?;
    }
    store.bulk_writes(false)?;
    // Facts are left stale for the next report to refresh: an import run
    // from cron every few minutes must not re-derive the organisation's
    // whole history each time when nobody reads in between.
    Ok(GitImportSummary {
        service: options.service.to_string(),
        repo: options.repo.to_string(),
        deploys: options.deploys.to_string(),
        found: outcome.summary,
        warnings: outcome.warnings,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss_mib: crate::telemetry::peak_rss_mib(),
    })
}

/// A saved state, or the default when there is none.
fn saved<T: serde::de::DeserializeOwned + Default>(store: &dyn Store, key: &str) -> Result<T> {
    match store.source_state(key)? {
        Some(text) => serde_json::from_str(&text).with_context(|| {
            format!(
                "the saved state `{}` is damaged; delete it from the source_state table to import afresh",
                key.replace('\u{1f}', "/")
            )
        }),
        None => Ok(T::default()),
    }
}

pub fn describe(s: &GitImportSummary) -> String {
    let f = &s.found;
    if f.up_to_date {
        return format!(
            "{} ({}) for {}: up to date, no ref moved since the last import\n",
            s.repo, s.deploys, s.service
        );
    }
    format!(
        "{} ({}) for {}: {} new commits ({} reverts), {} pull requests, {} deployments ({} rollbacks, {} hotfixes) in {:.1}s ({:.0} commits/s)\n",
        s.repo,
        s.deploys,
        s.service,
        f.commits,
        f.reverts,
        f.pull_requests,
        f.deployments,
        f.rollbacks,
        f.hotfixes,
        s.seconds,
        f.commits as f64 / s.seconds.max(1e-9)
    )
}

fn progress(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::no_length();
    bar.set_style(
        ProgressStyle::with_template("{spinner} reading history: {human_pos} commits ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
