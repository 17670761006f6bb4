//! Lantern's benchmarks, outside the product binary:
//! `cargo run --release -p lantern-bench -- [git|serve|dashboard] …`.
//! Without a subcommand: a synthetic organisation at scale, and how long
//! the real import and report paths take on it. Numbers go to
//! docs/performance.md.

mod dashboard;
mod flow;
mod git;
mod git_fixture;
mod http;
mod serve;
mod slo;

use anyhow::{Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use lantern::import::import_events;
use lantern::instance::Instance;
use lantern::rng::Rng;
use lantern_app::report::Loaded;
use lantern_engine::{Scope, Window};
use lantern_events::{MICROS_PER_DAY, Name, Timestamp};
use lantern_store::Store;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "lantern-bench", args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub target: Option<BenchTarget>,
    #[arg(long, default_value_t = 500)]
    pub services: u32,
    #[arg(long, default_value_t = 730)]
    pub days: u32,
    /// Production deployments per service per day.
    #[arg(long, default_value_t = 2.74)]
    pub deploys_per_day: f64,
    /// New commits per deployment.
    #[arg(long, default_value_t = 5)]
    pub changes_per_deploy: u32,
    /// CI runs (`pipeline_run` events) per deployment, on its commit: one
    /// pipeline's first attempt and re-runs, a few failing (hygiene.md).
    #[arg(long, default_value_t = 0)]
    pub runs_per_deploy: u32,
    /// Where the data and database go [default: a temporary folder, removed after].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Time only the reports, on the database a previous run left in --dir.
    #[arg(long, requires = "dir")]
    pub reuse: bool,
    /// Then the same import and reports on this PostgreSQL database (empty;
    /// e.g. postgres://postgres@127.0.0.1/bench), for a side-by-side.
    #[arg(long, value_name = "URL", conflicts_with = "reuse")]
    pub postgres: Option<String>,
    /// With --postgres: skip SQLite's import and reports (for sizes where
    /// only PostgreSQL is asked about, such as ten times the organisation).
    #[arg(long, requires = "postgres")]
    pub postgres_only: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchTarget {
    /// `lantern import git` against `git log` on one repository.
    Git(crate::git::GitBenchArgs),
    /// Webhook ingest into `lantern serve` while reports are read.
    Serve(crate::serve::ServeBenchArgs),
    /// The dashboard's pages, on the demo organisation and a large one.
    Dashboard(crate::dashboard::DashboardBenchArgs),
    /// SLO counts: import, slo status, and the gate under ingest.
    Slo(crate::slo::SloBenchArgs),
    /// Flow (flow.md): import of work items, lantern flow for one team and every team.
    Flow(crate::flow::FlowBenchArgs),
}

#[derive(Debug, serde::Serialize)]
struct Results {
    store: &'static str,
    services: u32,
    days: u32,
    events: u64,
    production_deployments: u64,
    changes: u64,
    /// The next four are absent with --reuse.
    generate_s: Option<f64>,
    import_s: Option<f64>,
    import_derive_facts_s: Option<f64>,
    import_events_per_s: Option<f64>,
    org_report_ms: Timing,
    service_report_ms: Timing,
    /// The same reports as whole `lantern report` processes, as users
    /// (and scripts) run them.
    process_org_report_ms: ProcessTiming,
    process_service_report_ms: ProcessTiming,
    peak_rss_mib: f64,
}

/// Whole processes: the first run (right after the import, when the
/// import was timed) and the median of the runs after it.
#[derive(Debug, serde::Serialize)]
struct ProcessTiming {
    first: f64,
    median: f64,
    runs: usize,
}

/// Runs `lantern report` as a process `runs` times on the store `db`
/// names (`--db …` and for PostgreSQL its `--key-file`).
fn time_process(
    db: &[String],
    window: Window,
    service: Option<&str>,
    runs: usize,
) -> Result<ProcessTiming> {
    let exe = crate::git::lantern_binary()?;
    let (from, to) = (window.from.to_rfc3339(), window.to.to_rfc3339());
    let mut args: Vec<&str> = db.iter().map(String::as_str).collect();
    args.extend(["report", "--from", &from, "--to", &to, "--format", "json"]);
    if let Some(s) = service {
        args.extend(["--service", s]);
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (seconds, out) = crate::git::timed(&exe, &args)?;
        if !out.contains("\"deployment_frequency\"") {
            anyhow::bail!("lantern report answered no report: {out}");
        }
        samples.push(seconds * 1000.0);
    }
    let first = samples[0];
    let mut later = samples[1..].to_vec();
    later.sort_by(f64::total_cmp);
    Ok(ProcessTiming {
        first,
        median: later.get(later.len() / 2).copied().unwrap_or(first),
        runs,
    })
}

#[derive(Debug, serde::Serialize)]
struct Timing {
    load: f64,
    compute: f64,
    total: f64,
}

/// Two years of history ending before today (2026-12): events dated after
/// their arrival would be counted as clock skew (hygiene.md F3).
pub const START: i64 = 1_730_419_200; // 2024-11-01T00:00:00Z

/// Where a benchmark keeps its data: `--dir` (kept, for `--reuse`), or
/// a temporary folder removed after.
pub enum WorkDir {
    Kept(PathBuf),
    Temporary(tempfile::TempDir),
}

impl WorkDir {
    pub fn new(dir: Option<&Path>) -> Result<Self> {
        Ok(match dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                WorkDir::Kept(d.to_path_buf())
            }
            None => WorkDir::Temporary(tempfile::TempDir::new()?),
        })
    }

    pub fn path(&self) -> &Path {
        match self {
            WorkDir::Kept(d) => d,
            WorkDir::Temporary(t) => t.path(),
        }
    }
}

/// Counts, the import's figures and the reports' timings on one store.
fn measure(
    instance: &mut Instance,
    store: &'static str,
    db: &[String],
    import: Option<(f64, lantern::import::ImportSummary)>,
    args: &BenchArgs,
    config: &lantern_app::Settings,
) -> Result<Results> {
    let counts = instance.store.counts()?;
    let end = Timestamp::from_micros((START + args.days as i64 * 86_400) * 1_000_000);
    let window =
        Window::new(end.plus_micros(-90 * MICROS_PER_DAY), end).map_err(anyhow::Error::msg)?;
    let org_report_ms = time_report(instance.store.as_mut(), &Scope::Org, window, config, 5)?;
    let service = Scope::Service(Name::parse("service-7").map_err(anyhow::Error::msg)?);
    let service_report_ms = time_report(instance.store.as_mut(), &service, window, config, 11)?;
    let process_org_report_ms = time_process(db, window, None, 10)?;
    let process_service_report_ms = time_process(db, window, Some("service-7"), 10)?;
    Ok(Results {
        store,
        services: args.services,
        days: args.days,
        events: counts.changes
            + counts.pull_requests
            + counts.deployments
            + counts.incidents
            + counts.annotations
            + counts.pipeline_runs,
        // The synthetic organisation deploys to production only.
        production_deployments: counts.deployments,
        changes: counts.changes,
        generate_s: import.as_ref().map(|(g, _)| *g),
        import_s: import.as_ref().map(|(_, s)| s.seconds),
        import_derive_facts_s: import.as_ref().map(|(_, s)| s.derive_seconds),
        import_events_per_s: import.as_ref().map(|(_, s)| s.loaded as f64 / s.seconds),
        org_report_ms,
        service_report_ms,
        process_org_report_ms,
        process_service_report_ms,
        peak_rss_mib: lantern::telemetry::peak_rss_mib(),
    })
}

fn print(results: &Results, label: bool) {
    if label {
        println!("== {}", results.store);
    }
    println!("events                 {}", results.events);
    if let (Some(seconds), Some(rate)) = (results.import_s, results.import_events_per_s) {
        println!("import                 {seconds:.1}s, {rate:.0} events/s");
    }
    for (name, t) in [
        ("org report (90 days)", &results.org_report_ms),
        ("service report", &results.service_report_ms),
    ] {
        println!(
            "{name:<22} {:.1} ms (load {:.1} ms, compute {:.1} ms)",
            t.total, t.load, t.compute
        );
    }
    for (name, t) in [
        ("org report, process", &results.process_org_report_ms),
        ("service report, proc.", &results.process_service_report_ms),
    ] {
        println!(
            "{name:<22} {:.1} ms median of {} (the first: {:.1} ms)",
            t.median,
            t.runs - 1,
            t.first
        );
    }
    println!("peak memory            {:.0} MiB", results.peak_rss_mib);
}

/// The allocator the `lantern` binary uses (for SQLite's allocations as
/// well, see `main`), so that in-process figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = BenchArgs::parse();
    let _ = lantern::allocator::sqlite_uses_mimalloc();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &BenchArgs) -> Result<()> {
    match &args.target {
        Some(BenchTarget::Git(git)) => return crate::git::run(git),
        Some(BenchTarget::Serve(serve)) => return crate::serve::run(serve),
        Some(BenchTarget::Dashboard(d)) => return crate::dashboard::run(d),
        Some(BenchTarget::Slo(s)) => return crate::slo::run(s),
        Some(BenchTarget::Flow(f)) => return crate::flow::run(f),
        None => {}
    }
    let work = WorkDir::new(args.dir.as_deref())?;
    let dir = work.path();
    let data = dir.join("bench-events.jsonl");
    let db = dir.join("bench.db");
    let config = lantern_app::Settings::parse("", None)?;
    let (mut instance, generate_s, import) = if args.reuse {
        if !db.exists() {
            anyhow::bail!("--reuse: no {} from an earlier run", db.display());
        }
        (Some(Instance::open_file(&db)?), 0.0, None)
    } else {
        for f in [
            db.clone(),
            dir.join("bench.db-wal"),
            dir.join("bench.db-shm"),
        ] {
            let _ = std::fs::remove_file(f);
        }
        let t = Instant::now();
        let (events, deployments, changes) = generate(args, &data)?;
        let generate_s = t.elapsed().as_secs_f64();
        eprintln!(
            "generated {events} events ({deployments} production deployments, {changes} changes) in {generate_s:.1}s"
        );
        if args.postgres_only {
            (None, generate_s, None)
        } else {
            let mut instance = Instance::open_file(&db)?;
            let summary = import_events(&mut instance, &data, false, &config)?;
            eprintln!(
                "imported in {:.1}s (deriving facts {:.1}s)",
                summary.seconds, summary.derive_seconds
            );
            (Some(instance), generate_s, Some(summary))
        }
    };
    let mut all = Vec::new();
    if let Some(instance) = &mut instance {
        let sqlite_db = ["--db".to_string(), db.display().to_string()];
        let import = import.map(|summary| (generate_s, summary));
        all.push(measure(
            instance, "sqlite", &sqlite_db, import, args, &config,
        )?);
    }
    if let Some(url) = &args.postgres {
        let target = lantern::instance::Target {
            location: lantern_store::Location::Postgres(url.clone()),
            key_file: dir.join("bench-postgres.key"),
        };
        let mut instance = Instance::open(&target)?;
        require_empty(&instance)?;
        let t = Instant::now();
        let summary = import_events(&mut instance, &data, false, &config)?;
        eprintln!(
            "imported into PostgreSQL in {:.1}s",
            t.elapsed().as_secs_f64()
        );
        let postgres_db = [
            "--db".to_string(),
            url.clone(),
            "--key-file".to_string(),
            target.key_file.display().to_string(),
        ];
        all.push(measure(
            &mut instance,
            "postgres",
            &postgres_db,
            Some((generate_s, summary)),
            args,
            &config,
        )?);
    }
    if args.json {
        match &all[..] {
            [one] => println!("{}", serde_json::to_string_pretty(one)?),
            _ => println!("{}", serde_json::to_string_pretty(&all)?),
        }
    } else {
        for results in &all {
            print(results, all.len() > 1);
        }
    }
    Ok(())
}

/// The median of `runs` timed reports, through the application layer's
/// own entry points: loading what the report reads, then computing it.
fn time_report(
    store: &mut dyn Store,
    scope: &Scope,
    window: Window,
    settings: &lantern_app::Settings,
    runs: usize,
) -> Result<Timing> {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        // As `lantern report` reads it: the window alone, no trend.
        let loaded = Loaded::load_ending(store, settings, scope, window, None)?;
        let load = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let report = loaded.ledger(settings).report(scope, window);
        let compute = t.elapsed().as_secs_f64() * 1000.0;
        std::hint::black_box(report);
        samples.push((load + compute, load, compute));
    }
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (total, load, compute) = samples[samples.len() / 2];
    Ok(Timing {
        load,
        compute,
        total,
    })
}

/// A linear history with a merge now and then, one PR per deployment, and
/// a failure (incident, rollback or hotfix) in a few per cent of them.
pub fn generate(args: &BenchArgs, path: &Path) -> Result<(u64, u64, u64)> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut rng = Rng::new(2026);
    let per_service = (args.deploys_per_day * args.days as f64).round() as u64;
    let gap = (args.days as f64 * 86_400.0 / per_service.max(1) as f64) as i64;
    let bar = ProgressBar::new(args.services as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} generating {bar:30} {pos}/{len} services")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut events, mut deployments, mut changes) = (0u64, 0u64, 0u64);
    let iso = |s: i64| Timestamp::from_micros(s * 1_000_000).to_rfc3339();
    for s in 0..args.services {
        let repo = format!("org/repo-{s}");
        let service = format!("service-{s}");
        let mut tip = rng.sha();
        writeln!(
            out,
            r#"{{"type":"change","repo":"{repo}","sha":"{tip}","committed_at":"{}"}}"#,
            iso(START - 86_400)
        )?;
        events += 1;
        changes += 1;
        let mut t = START + rng.below(gap as u64) as i64;
        for d in 0..per_service {
            let first = t - gap / 2;
            let mut side = String::new();
            for c in 0..args.changes_per_deploy {
                let sha = rng.sha();
                let at = first + (c as i64) * 60 + rng.below(600) as i64;
                let author = rng.below(12);
                let merge = c + 1 == args.changes_per_deploy && !side.is_empty();
                let parents = if merge {
                    format!(r#""{tip}","{side}""#)
                } else {
                    format!(r#""{tip}""#)
                };
                writeln!(
                    out,
                    r#"{{"type":"change","repo":"{repo}","sha":"{sha}","parents":[{parents}],"committed_at":"{}","author":"dev-{s}-{author}"}}"#,
                    iso(at)
                )?;
                events += 1;
                changes += 1;
                if c == 1 && !merge && rng.chance(0.3) {
                    // A side-branch commit, merged by the last commit of this batch.
                    side = sha;
                    continue;
                }
                tip = sha;
            }
            let id = format!("{service}-{d}");
            writeln!(
                out,
                r#"{{"type":"pull_request","id":"{repo}#{d}","repo":"{repo}","opened_at":"{}","first_review_at":"{}","merged_at":"{}","merge_sha":"{tip}"}}"#,
                iso(first + 900),
                iso(first + 3600),
                iso(t - 1800)
            )?;
            let kind = if rng.chance(0.01) {
                r#","kind":"hotfix""#
            } else {
                ""
            };
            writeln!(
                out,
                r#"{{"type":"deployment","id":"{id}","service":"{service}","environment":"production","finished_at":"{}","repo":"{repo}","sha":"{tip}"{kind}}}"#,
                iso(t)
            )?;
            events += 2;
            deployments += 1;
            for r in 0..args.runs_per_deploy {
                // Attempts of the "ci" pipeline, then other pipelines.
                let (pipeline, attempt) = match r {
                    0 | 1 => ("ci", r + 1),
                    _ => (["lint", "test", "build", "e2e"][(r as usize - 2) % 4], 1),
                };
                let status = if r == 0 && rng.chance(0.1) {
                    "failure"
                } else {
                    "success"
                };
                let start = t - 1500 + (r as i64) * 120;
                writeln!(
                    out,
                    r#"{{"type":"pipeline_run","id":"{id}-run-{r}","repo":"{repo}","sha":"{tip}","pipeline":"{pipeline}","attempt":{attempt},"started_at":"{}","finished_at":"{}","status":"{status}"}}"#,
                    iso(start),
                    iso(start + 300 + rng.below(300) as i64)
                )?;
                events += 1;
            }
            if rng.chance(0.02) {
                writeln!(
                    out,
                    r#"{{"type":"incident","id":"{id}-inc","service":"{service}","started_at":"{}","resolved_at":"{}","caused_by":"{id}"}}"#,
                    iso(t + 600),
                    iso(t + 4200)
                )?;
                events += 1;
            }
            t += gap / 2 + rng.below(gap as u64) as i64;
        }
        bar.inc(1);
    }
    // On disk before the import is timed, as a user's file is: otherwise
    // the import shares the disk with the writeback of the file it reads
    // (a full-size import measured 39–44 s instead of 32–33).
    out.into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    bar.finish_and_clear();
    Ok((events, deployments, changes))
}

/// A `--postgres` database must be empty: the benchmarks count what they
/// add and write data of their own.
pub(crate) fn require_empty(instance: &Instance) -> anyhow::Result<()> {
    if instance.store.counts()? != Default::default() {
        anyhow::bail!("--postgres: the database already holds events; give an empty one");
    }
    Ok(())
}
