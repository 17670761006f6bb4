//! Real repositories built with the git CLI, with fixed author and
//! committer dates, for tests of `lantern import git`. Also used by the
//! CLI's tests (included by path).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// 2026-01-05T00:00:00Z, a Monday.
pub const T0: i64 = 1_767_571_200;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 86_400;

pub struct TestRepo {
    pub dir: tempfile::TempDir,
    /// The time the next git command records, in seconds.
    pub now: i64,
    files: u32,
}

impl TestRepo {
    pub fn new() -> Self {
        let repo = TestRepo {
            dir: tempfile::tempdir().unwrap(),
            now: T0,
            files: 0,
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args, self.now)
    }

    /// A commit changing one new file under `dir` (or the root).
    pub fn commit_in(&mut self, dir: &str, message: &str) -> String {
        self.files += 1;
        let folder = self.path().join(dir);
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join(format!("f{}.txt", self.files));
        std::fs::write(&file, format!("{message}\n")).unwrap();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.head()
    }

    pub fn commit(&mut self, message: &str) -> String {
        self.commit_in("", message)
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    pub fn at(&mut self, seconds: i64) -> &mut Self {
        self.now = seconds;
        self
    }

    pub fn tag(&self, name: &str) {
        self.git(&["tag", name]);
    }

    pub fn annotated_tag(&self, name: &str) {
        self.git(&["tag", "-a", name, "-m", &format!("Release {name}")]);
    }

    /// `git merge --no-ff BRANCH -m MESSAGE` into the current branch.
    pub fn merge(&self, branch: &str, message: &str) -> String {
        self.git(&["merge", "-q", "--no-ff", branch, "-m", message]);
        self.head()
    }

    pub fn revert(&self, sha: &str) -> String {
        self.git(&["revert", "--no-edit", sha]);
        self.head()
    }

    pub fn commit_time(&self, rev: &str) -> i64 {
        self.git(&["log", "-1", "--format=%ct", rev])
            .trim()
            .parse()
            .unwrap()
    }
}

pub fn git_in(dir: &Path, args: &[&str], now: i64) -> String {
    let date = format!("@{now} +0100");
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn clone_into(from: &Path, to: &Path, extra: &[&str]) -> PathBuf {
    let url = format!("file://{}", from.display());
    let mut args = vec!["clone", "-q"];
    args.extend_from_slice(extra);
    args.push(&url);
    let target = to.display().to_string();
    args.push(&target);
    git_in(from, &args, T0);
    to.to_path_buf()
}
