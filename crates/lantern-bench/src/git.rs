//! `lantern bench git`: `lantern import git` against `git log` on the same
//! repository in one run, for docs/performance.md. The target is an import
//! within 1.5× the time of `git log --all --format='%H %P %ct %at'`.

use crate::WorkDir;
use crate::git_fixture::{self, Shape};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct GitBenchArgs {
    /// Commits in the synthetic repository.
    #[arg(long, default_value_t = 100_000)]
    pub commits: u64,
    /// Time this repository instead of generating one.
    #[arg(long, conflicts_with = "commits")]
    pub repo: Option<PathBuf>,
    /// The deployment rule for `--repo` [default: tags:v*].
    #[arg(long, default_value = "tags:v*")]
    pub deploys: lantern_git::DeployRule,
    /// Timed runs of each side; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Where the repository and databases go [default: a temporary folder].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, serde::Serialize)]
struct Results {
    commits: u64,
    git_log_lines: u64,
    git_log_s: f64,
    /// `lantern import git` into a new database, the whole command.
    import_s: f64,
    /// import_s ÷ git_log_s, the figure the target is about.
    ratio: f64,
    /// The first report after the import, which derives what each
    /// deployment shipped (the import leaves that to it).
    first_report_s: f64,
    /// (import_s + first_report_s) ÷ git_log_s.
    ratio_with_first_report: f64,
    /// A report once facts are derived.
    report_s: f64,
    reimport_unchanged_s: f64,
    peak_rss_mib: f64,
}

pub fn run(args: &GitBenchArgs) -> Result<()> {
    let work = WorkDir::new(args.dir.as_deref())?;
    let dir = work.path();
    let repo = match &args.repo {
        Some(r) => r.clone(),
        None => {
            let repo = dir.join("repo");
            if !repo.join(".git").exists() {
                let t = Instant::now();
                let w = git_fixture::generate(
                    &repo,
                    &Shape {
                        commits: args.commits,
                        seed: 7,
                    },
                )?;
                eprintln!(
                    "generated {} commits ({} merges, {} squashes, {} tags) in {:.1}s",
                    w.commits,
                    w.merges,
                    w.squashes,
                    w.tags,
                    t.elapsed().as_secs_f64()
                );
            }
            repo
        }
    };
    let runs = args.runs.max(1);
    let log_file = dir.join("git-log.txt");
    let mut git_log = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        git_log_into(&repo, &log_file)?;
        git_log.push(t.elapsed().as_secs_f64());
    }
    let lines = std::fs::read(&log_file)?
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    let _ = std::fs::remove_file(&log_file);
    // Whole commands, as a user runs them, like git log.
    let exe = lantern_binary()?;
    let repo_arg = repo.display().to_string();
    let rule = args.deploys.to_string();
    let mut import = Vec::new();
    let mut first_report = Vec::new();
    let mut report = Vec::new();
    let mut again = Vec::new();
    let mut commits = 0;
    let mut peak_rss_mib = 0.0f64;
    for run in 0..runs {
        let db = dir.join(format!("bench-git-{run}.db"));
        for suffix in ["", "-wal", "-shm", ".key"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let db = db.display().to_string();
        let import_args = [
            "--db",
            &db,
            "import",
            "git",
            &repo_arg,
            "--service",
            "bench",
            "--repo",
            "bench",
            "--deploys",
            &rule,
            "--quiet",
            "--json",
        ];
        let (seconds, out) = timed(&exe, &import_args)?;
        let summary: serde_json::Value = serde_json::from_str(&out)?;
        commits = summary["commits"].as_u64().unwrap_or(0);
        peak_rss_mib = peak_rss_mib.max(summary["peak_rss_mib"].as_f64().unwrap_or(f64::NAN));
        import.push(seconds);
        let report_args = [
            "--db",
            &db,
            "report",
            "--service",
            "bench",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--format",
            "json",
        ];
        for times in [&mut first_report, &mut report] {
            times.push(timed(&exe, &report_args)?.0);
        }
        let (seconds, out) = timed(&exe, &import_args)?;
        let summary: serde_json::Value = serde_json::from_str(&out)?;
        if summary["up_to_date"] != true {
            bail!("a second import of an unchanged repository found something new");
        }
        again.push(seconds);
    }
    // Tags mode reads what tags reach; `git log --all` also prints commits
    // after the last tag. Far fewer would mean the import missed history.
    if commits > lines || commits < lines * 9 / 10 {
        bail!("the import read {commits} commits, git log printed {lines}");
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (g, i, f) = (
        median(&mut git_log),
        median(&mut import),
        median(&mut first_report),
    );
    let results = Results {
        commits,
        git_log_lines: lines,
        git_log_s: g,
        import_s: i,
        ratio: i / g,
        first_report_s: f,
        ratio_with_first_report: (i + f) / g,
        report_s: median(&mut report),
        reimport_unchanged_s: median(&mut again),
        peak_rss_mib,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        println!("commits imported       {}", results.commits);
        println!(
            "git log --all          {:.3}s ({} commits)",
            results.git_log_s, results.git_log_lines
        );
        println!(
            "lantern import git     {:.3}s ({:.2}× git log)",
            results.import_s, results.ratio
        );
        println!(
            "first report           {:.3}s, deriving what shipped ({:.2}× git log with the import)",
            results.first_report_s, results.ratio_with_first_report
        );
        println!("later reports          {:.3}s", results.report_s);
        println!(
            "re-import, unchanged   {:.3}s",
            results.reimport_unchanged_s
        );
        println!("peak memory            {:.0} MiB", results.peak_rss_mib);
    }
    Ok(())
}

/// The `lantern` binary built beside this one (`cargo build --release`
/// builds both): whole commands are timed as users run them.
pub(crate) fn lantern_binary() -> Result<PathBuf> {
    let me = std::env::current_exe().context("finding this benchmark's binary")?;
    let exe = me.with_file_name(format!("lantern{}", std::env::consts::EXE_SUFFIX));
    if !exe.exists() {
        bail!(
            "no {} beside the benchmark: run `cargo build --release -p lantern` first",
            exe.display()
        );
    }
    Ok(exe)
}

/// Runs a lantern command to its end; its time and standard output.
pub(crate) fn timed(exe: &Path, args: &[&str]) -> Result<(f64, String)> {
    let t = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .env_remove("LANTERN_CONFIG")
        .output()
        .context("running lantern")?;
    let seconds = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "lantern {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok((seconds, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// The reference command, its output into a file.
fn git_log_into(repo: &Path, file: &Path) -> Result<()> {
    let out = std::fs::File::create(file)?;
    let status = Command::new("git")
        .args(["log", "--all", "--format=%H %P %ct %at"])
        .current_dir(repo)
        .stdout(out)
        .status()
        .context("running git log")?;
    if !status.success() {
        bail!("git log failed in {}", repo.display());
    }
    Ok(())
}
