//! Which kept facts a report must re-derive before it reads: the stale
//! closure of its scope. Both stores compute it the same way from a few
//! reads of their own (`StaleReads`), so a scope's report refreshes only
//! what it reads while writes keep marking other services stale.

use crate::Result;
use crate::touched::fingerprint;
use lantern_engine::EngineConfig;
use lantern_events::Name;
use std::collections::BTreeSet;

/// What a partial refresh re-derives: these services' deployments and
/// incident links, and these repositories' pull requests.
#[derive(Debug, Default)]
pub(crate) struct Closure {
    pub services: Vec<String>,
    pub repos: BTreeSet<String>,
}

impl Closure {
    pub(crate) fn is_empty(&self) -> bool {
        self.services.is_empty() && self.repos.is_empty()
    }
}

/// What a closure starts from.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    /// The settings the kept facts were derived with (`None`: never).
    pub derived_with: Option<String>,
    /// The services and repositories marked stale.
    pub services: BTreeSet<String>,
    pub repos: BTreeSet<String>,
}

/// The deployments columns a closure follows.
#[derive(Clone, Copy)]
pub(crate) enum Column {
    Service,
    Repo,
}

impl Column {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Column::Service => "service",
            Column::Repo => "repo",
        }
    }
}

/// [`LOOSE_SERVICES`] as a literal, for statements that embed it.
macro_rules! loose_services {
    () => {
        "SELECT DISTINCT service FROM deployments WHERE repo IS NULL AND (changes IS NOT NULL OR sha IS NOT NULL)"
    };
}
pub(crate) use loose_services;

/// What `StaleReads::loose_services` asks, on either store (each has a
/// partial index for it).
pub(crate) const LOOSE_SERVICES: &str = loose_services!();

/// The reads a closure needs, in one store's snapshot.
pub(crate) trait StaleReads {
    /// The settings the kept facts were derived with and the names
    /// marked stale (one read: it starts every report).
    fn marks(&mut self) -> Result<Marks>;
    /// Services with a deployment naming commits without a repository
    /// (a sha, or an explicit change list): such commits can be any
    /// repository's.
    fn loose_services(&mut self) -> Result<BTreeSet<String>>;
    /// `SELECT DISTINCT want FROM deployments WHERE by IN values`, nulls
    /// left out.
    fn names_by(
        &mut self,
        want: Column,
        by: Column,
        values: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>>;
    /// The services of deployments (or rollouts) that incidents of these
    /// services, or of several, blame.
    fn blamed_services(&mut self, scope: &BTreeSet<String>) -> Result<BTreeSet<String>>;
}

/// What must be re-derived for a report over `scope` (`None`: all of it)
/// to be current, or `None` when everything must be (never derived,
/// derived with other settings, or a stale deployment without a
/// repository, whose commits' repositories nobody marked). The closure is
/// complete: every stale service in it brings its repositories, every
/// repository brings every service that deploys it, and any repository
/// brings the services whose deployments name commits of any repository.
pub(crate) fn stale_closure(
    reads: &mut impl StaleReads,
    config: &EngineConfig,
    scope: Option<&BTreeSet<Name>>,
) -> Result<Option<Closure>> {
    let marks = reads.marks()?;
    closure_of(reads, marks, config, scope)
}

/// [`stale_closure`] from marks already read.
pub(crate) fn closure_of(
    reads: &mut impl StaleReads,
    marks: Marks,
    config: &EngineConfig,
    scope: Option<&BTreeSet<Name>>,
) -> Result<Option<Closure>> {
    let Marks {
        derived_with,
        services: stale_services,
        repos: stale_repos,
    } = marks;
    if derived_with.as_deref() != Some(fingerprint(config).as_str()) {
        return Ok(None);
    }
    // The common case, and no scan of anything.
    if stale_services.is_empty() && stale_repos.is_empty() {
        return Ok(Some(Closure::default()));
    }
    // (By a partial index on both stores: a scan of every deployment took
    // 0.5 s at the benchmark size.)
    let loose_services = reads.loose_services()?;
    // A new deployment without a repository marks only its service, yet
    // may be the first deployment of any repository's pull requests.
    if !stale_services.is_disjoint(&loose_services) {
        return Ok(None);
    }
    let (mut services, mut repos) = match scope {
        None => (stale_services.clone(), stale_repos.clone()),
        Some(scope) => {
            let scope: BTreeSet<String> = scope.iter().map(Name::to_string).collect();
            let scope_repos = reads.names_by(Column::Repo, Column::Service, &scope)?;
            let reads_any = !scope.is_disjoint(&loose_services);
            let mut services: BTreeSet<String> =
                stale_services.intersection(&scope).cloned().collect();
            // A scope's report also reads other services' deployments
            // that its incidents name (`caused_by`, a deployment or a
            // rollout): an incident naming a stored deployment is linked
            // (hygiene.md F2), so those services' facts must be current.
            services.extend(
                reads
                    .blamed_services(&scope)?
                    .intersection(&stale_services)
                    .cloned(),
            );
            let repos = stale_repos
                .iter()
                .filter(|r| reads_any || scope_repos.contains(*r))
                .cloned()
                .collect();
            (services, repos)
        }
    };
    loop {
        let size = (services.len(), repos.len());
        // A stale service's deployments change its repositories' pull
        // requests' first deployments...
        let stale_here: BTreeSet<String> =
            services.intersection(&stale_services).cloned().collect();
        repos.extend(reads.names_by(Column::Repo, Column::Service, &stale_here)?);
        // ...which every service deploying them contributes to, and so
        // does every deployment naming commits without a repository.
        services.extend(reads.names_by(Column::Service, Column::Repo, &repos)?);
        if !repos.is_empty() {
            services.extend(loose_services.iter().cloned());
        }
        if (services.len(), repos.len()) == size {
            break;
        }
    }
    Ok(Some(Closure {
        services: services.into_iter().collect(),
        repos,
    }))
}
