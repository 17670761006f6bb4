//! `lantern bench git`: `lantern import git` against `git log` on the same
//! repository in one run, for docs/performance.md. The target is an import
//! within 1.5× the time of `git log --all --format='%H %P %ct %at'`.

use crate::config::Config;
use crate::git_fixture::{self, Shape};
use crate::import_git::{GitArgs, import_git};
use crate::instance::Instance;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
    /// `lantern import git`: reading the repository and committing the events.
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
    let temp;
    let dir: &Path = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d
        }
        None => {
            temp = crate::bench::TempDir::new()?;
            &temp.0
        }
    };
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
    let mut git_log = Vec::new();
    let mut lines = 0;
    for _ in 0..runs {
        let t = Instant::now();
        lines = git_log_lines(&repo)?;
        git_log.push(t.elapsed().as_secs_f64());
    }
    let config = Config::parse("", None)?;
    let git_args = GitArgs {
        path: repo.clone(),
        service: "bench".into(),
        repo: Some("bench".into()),
        deploys: args.deploys.clone(),
        path_prefix: None,
        hotfix: Vec::new(),
        quiet: true,
        json: false,
    };
    let mut import = Vec::new();
    let mut first_report = Vec::new();
    let mut report = Vec::new();
    let mut again = Vec::new();
    let mut commits = 0;
    for run in 0..runs {
        let db = dir.join(format!("bench-git-{run}.db"));
        for suffix in ["", "-wal", "-shm", ".key"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let mut instance = Instance::open(&db)?;
        let s = import_git(&mut instance, &git_args, &config)?;
        commits = s.found.commits;
        import.push(s.seconds);
        for times in [&mut first_report, &mut report] {
            let t = Instant::now();
            service_report(&mut instance, &config)?;
            times.push(t.elapsed().as_secs_f64());
        }
        let t = Instant::now();
        let s = import_git(&mut instance, &git_args, &config)?;
        if !s.found.up_to_date {
            bail!("a second import of an unchanged repository found something new");
        }
        again.push(t.elapsed().as_secs_f64());
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
        peak_rss_mib: crate::bench::peak_rss_mib(),
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

/// The service's report over the whole history, as `lantern report` makes it.
fn service_report(instance: &mut Instance, config: &Config) -> Result<()> {
    let args = crate::report_cmd::ReportArgs {
        service: Some("bench".into()),
        team: None,
        from: Some("2000-01-01".into()),
        to: Some("2100-01-01".into()),
        format: crate::render::Format::Json,
        bucket: None,
    };
    std::hint::black_box(crate::report_cmd::run(
        &mut instance.store,
        config,
        &args,
        None,
    )?);
    Ok(())
}

/// Runs the reference command and counts its lines (one per commit).
fn git_log_lines(repo: &Path) -> Result<u64> {
    let mut child = Command::new("git")
        .args(["log", "--all", "--format=%H %P %ct %at"])
        .current_dir(repo)
        .stdout(Stdio::piped())
        .spawn()
        .context("running git log")?;
    let mut out = child.stdout.take().context("git log's output")?;
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 0u64;
    loop {
        let n = out.read(&mut buf)?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    if !child.wait()?.success() {
        bail!("git log failed in {}", repo.display());
    }
    Ok(lines)
}
