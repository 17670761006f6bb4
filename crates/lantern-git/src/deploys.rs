//! Which commits were production deployments, in order, and which of them
//! were hotfixes by name.

use crate::repo::{RefTip, Repo};
use crate::{DeployRule, GitError, HotfixRule, version};
use foldhash::{HashMap, HashMapExt};
use gix::bstr::BStr;
use gix::glob::wildmatch;
use lantern_events::{MICROS_PER_DAY, MICROS_PER_SECOND, Sha, Timestamp};

/// One deployment found in the history, before it becomes an event.
#[derive(Debug, Clone)]
pub struct DeployPoint {
    /// The tag name, or the commit id for branch rules.
    pub label: String,
    pub sha: Sha,
    /// The tagger time of an annotated tag; otherwise the commit time is
    /// used, once the commit has been read.
    pub tagged_at: Option<Timestamp>,
    /// The names that decide "hotfix": the tag, and the branch the
    /// deployed commit merged, when it is a merge.
    pub hotfix_names: Vec<String>,
}

pub fn matches(glob: &str, name: &str, ignore_case: bool) -> bool {
    let mode = if ignore_case {
        wildmatch::Mode::IGNORE_CASE
    } else {
        wildmatch::Mode::empty()
    };
    gix::glob::wildmatch(BStr::new(glob), BStr::new(name), mode)
}

/// The refs a rule reads: the matching tags, or the branch.
pub fn deploy_refs(repo: &mut Repo, rule: &DeployRule) -> Result<Vec<RefTip>, GitError> {
    match rule {
        DeployRule::Tags(glob) => {
            let all = repo.refs("refs/tags/")?;
            if all.is_empty() {
                return Err(GitError::NoTags);
            }
            let mut matching: Vec<RefTip> = all
                .iter()
                .filter(|t| matches(glob, short(&t.name), false))
                .cloned()
                .collect();
            if matching.is_empty() {
                return Err(GitError::NoTagMatches {
                    glob: glob.clone(),
                    existing: listing(all.iter().map(|t| short(&t.name))),
                });
            }
            matching.sort_by(|a, b| version::compare(short(&a.name), short(&b.name)));
            Ok(matching)
        }
        DeployRule::FirstParent(branch) | DeployRule::Merges(branch) => {
            for name in [
                format!("refs/heads/{branch}"),
                format!("refs/remotes/origin/{branch}"),
                branch.clone(),
            ] {
                if name.starts_with("refs/")
                    && let Some(tip) = repo.find_ref(&name)?
                {
                    return Ok(vec![tip]);
                }
            }
            let mut branches: Vec<String> = repo
                .refs("refs/heads/")?
                .into_iter()
                .chain(repo.refs("refs/remotes/")?)
                .map(|r| short(&r.name).to_string())
                .collect();
            branches.sort();
            branches.dedup();
            Err(GitError::NoBranch {
                branch: branch.clone(),
                existing: listing(branches.iter().map(String::as_str)),
            })
        }
    }
}

/// `refs/tags/v1` → `v1`, `refs/heads/main` → `main`,
/// `refs/remotes/origin/main` → `origin/main`.
pub fn short(name: &str) -> &str {
    ["refs/tags/", "refs/heads/", "refs/remotes/"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

fn listing<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        return "(none)".into();
    }
    let shown = names
        .iter()
        .take(20)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 20 {
        format!("{shown} … ({} in all)", names.len())
    } else {
        shown
    }
}

pub fn tag_points(tags: &[RefTip]) -> Vec<DeployPoint> {
    tags.iter()
        .map(|t| {
            let name = short(&t.name).to_string();
            DeployPoint {
                label: name.clone(),
                sha: sha_of(&t.commit),
                tagged_at: t
                    .tagged_at
                    .map(|s| Timestamp::from_micros(s.saturating_mul(MICROS_PER_SECOND))),
                hotfix_names: vec![name],
            }
        })
        .collect()
}

pub fn sha_of(id: &gix::oid) -> Sha {
    Sha::from_bytes(id.as_bytes()).expect("git object ids are 20 or 32 bytes")
}

/// Which points are hotfixes: by name, or as a quick semver patch release.
/// `at` gives each point's deployment time.
pub fn hotfixes(points: &[DeployPoint], at: &[Timestamp], rule: &HotfixRule) -> Vec<bool> {
    let by_name = |p: &DeployPoint| {
        p.hotfix_names
            .iter()
            .any(|n| rule.patterns.iter().any(|g| matches(g, n, true)))
    };
    let window = rule.semver_patch_days as i64 * MICROS_PER_DAY;
    // When each vX.Y.0 was deployed (one lookup per patch, not a scan).
    let mut minors: HashMap<(u64, u64), Vec<Timestamp>> = HashMap::new();
    let versions: Vec<Option<(u64, u64, u64)>> =
        points.iter().map(|p| version::semver(&p.label)).collect();
    for (v, t) in versions.iter().zip(at) {
        if let Some((x, y, 0)) = v {
            minors.entry((*x, *y)).or_default().push(*t);
        }
    }
    let quick_patch = |i: usize| match versions[i] {
        Some((x, y, z)) if z > 0 && window > 0 => minors.get(&(x, y)).is_some_and(|times| {
            times
                .iter()
                .any(|t| *t <= at[i] && at[i].micros() - t.micros() <= window)
        }),
        _ => false,
    };
    (0..points.len())
        .map(|i| by_name(&points[i]) || quick_patch(i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(label: &str) -> DeployPoint {
        DeployPoint {
            label: label.into(),
            sha: Sha::parse("0000000").unwrap(),
            tagged_at: None,
            hotfix_names: vec![label.into()],
        }
    }

    #[test]
    fn hotfixes_by_name_and_by_quick_patch_release() {
        let day = |d: i64| Timestamp::from_micros(d * MICROS_PER_DAY);
        let points: Vec<DeployPoint> = [
            "v1.0.0",
            "v1.0.1",
            "v1.1.0",
            "v1.1.1",
            "Release-HOTFIX-2",
            "v2.0.0-patch1",
            "v1.2.3",
        ]
        .into_iter()
        .map(point)
        .collect();
        let at = [day(0), day(3), day(10), day(40), day(41), day(42), day(43)];
        assert_eq!(
            hotfixes(&points, &at, &HotfixRule::default()),
            // v1.1.1 is 30 days after v1.1.0; v1.2.3 has no v1.2.0.
            vec![false, true, false, false, true, true, false]
        );
        let off = HotfixRule {
            patterns: vec![],
            semver_patch_days: 0,
        };
        assert!(hotfixes(&points, &at, &off).iter().all(|h| !h));
    }

    #[test]
    fn globs_follow_git() {
        assert!(matches("v*", "v1.2.0", false));
        assert!(!matches("v*", "release-1", false));
        assert!(matches("*hotfix*", "fix/HotFix-login", true));
        assert!(matches("release-[0-9]*", "release-2", false));
    }
}
