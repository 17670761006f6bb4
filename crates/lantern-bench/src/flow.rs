//! `lantern-bench flow`: the flow issue's targets. 100 teams and 2 years
//! of tickets — 200 000 work items with about a million state changes —
//! imported as `lantern import events` does; then `lantern flow` for one
//! team and for every team, as the command runs (store read, figures,
//! rendering) and its inner steps. Numbers go to docs/performance.md.

use anyhow::{Result, bail};
use clap::Args;
use lantern::flow_cmd::FlowArgs;
use lantern::instance::{Instance, Target};
use lantern::render::Format;
use lantern::rng::Rng;
use lantern_app::Settings;
use lantern_engine::{Scope, Window};
use lantern_events::{MICROS_PER_DAY, Name, Timestamp};
use std::io::Write;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct FlowBenchArgs {
    #[arg(long, default_value_t = 100)]
    pub teams: u32,
    #[arg(long, default_value_t = 200_000)]
    pub items: u32,
    #[arg(long, default_value_t = 730)]
    pub days: u32,
    /// Where the data and database go [default: a temporary folder, removed after].
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
}

fn catalog(teams: u32) -> String {
    (0..teams)
        .map(|t| format!("[[teams]]\nname = \"team-{t}\"\nservices = [\"svc-{t}\"]\n"))
        .collect()
}

fn ts(micros: i64) -> String {
    Timestamp::from_micros(micros).to_rfc3339()
}

/// The tickets as JSON Lines: each created, in the backlog a while, then
/// active and waiting by turns until done (a few closed unstarted, some
/// still open at the end). Returns (events, state changes).
fn generate(args: &FlowBenchArgs, file: &std::path::Path) -> Result<(u64, u64)> {
    let mut rng = Rng::new(2026);
    let start = crate::START * 1_000_000;
    let span = i64::from(args.days) * MICROS_PER_DAY;
    let hour = 3_600_000_000i64;
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    let (mut events, mut states) = (0u64, 0u64);
    for i in 0..args.items {
        let team = i % args.teams;
        let created = start + (i128::from(i) * i128::from(span) / i128::from(args.items)) as i64;
        let kind =
            ["feature", "feature", "feature", "defect", "debt", "risk"][rng.below(6) as usize];
        // Half name their team, half the team's service.
        let owner = if i % 2 == 0 {
            format!(r#""team":"team-{team}""#)
        } else {
            format!(r#""service":"svc-{team}""#)
        };
        writeln!(
            out,
            r#"{{"type":"work_item","id":"T{team}-{i}","kind":"{kind}",{owner},"created_at":"{}"}}"#,
            ts(created)
        )?;
        events += 1;
        let mut at = created;
        let mut path: Vec<&str> = vec!["backlog"];
        if rng.chance(0.05) {
            path.push("done");
        } else {
            path.extend(["active", "waiting"]);
            if rng.chance(0.5) {
                path.extend(["active", "waiting"]);
            }
            path.extend(["active", "done"]);
        }
        for (k, state) in path.iter().enumerate() {
            if k > 0 {
                at += (rng.duration(20.0, 1.5) * hour as f64) as i64 + 1;
            }
            writeln!(
                out,
                r#"{{"type":"work_state","item":"T{team}-{i}","at":"{}","state":"{state}"}}"#,
                ts(at)
            )?;
            events += 1;
            states += 1;
        }
    }
    out.flush()?;
    Ok((events, states))
}

pub fn run(args: &FlowBenchArgs) -> Result<()> {
    let work = crate::WorkDir::new(args.dir.as_deref())?;
    let config = Settings::parse(&catalog(args.teams), None)?;
    let file = work.path().join("flow.jsonl");
    let written = Instant::now();
    let (events, states) = generate(args, &file)?;
    eprintln!(
        "wrote {events} events ({} items, {states} state changes) in {:.1}s",
        args.items,
        written.elapsed().as_secs_f64()
    );
    let db = work.path().join("flow-bench.db");
    let _ = std::fs::remove_file(&db);
    let mut instance = Instance::open(&Target::sqlite(&db))?;
    let started = Instant::now();
    let summary = lantern::import::import_events(&mut instance, &file, true, &config)?;
    let import_s = started.elapsed().as_secs_f64();
    if summary.loaded != events || summary.rejected != 0 {
        bail!(
            "loaded {} and rejected {} of {events}",
            summary.loaded,
            summary.rejected
        );
    }
    println!(
        "import          {events} events in {import_s:.1}s: {:.0} events/s",
        events as f64 / import_s
    );

    let end = (crate::START + i64::from(args.days) * 86_400) * 1_000_000;
    let window = Window::new(
        Timestamp::from_micros(end - 90 * MICROS_PER_DAY),
        Timestamp::from_micros(end),
    )
    .map_err(anyhow::Error::msg)?;
    let (from, to) = (window.from.to_rfc3339(), window.to.to_rfc3339());
    let store = instance.store.as_mut();
    let flow_args = |team: Option<String>| FlowArgs {
        team,
        service: None,
        from: Some(from.clone()),
        to: Some(to.clone()),
        bucket: None,
        format: Format::Table,
    };
    let mut time = |runs: usize,
                    f: &mut dyn FnMut(&mut dyn lantern_store::Store, usize) -> Result<usize>|
     -> Result<crate::serve::Percentiles> {
        let mut ms = Vec::new();
        for i in 0..runs {
            let t = Instant::now();
            if f(store, i)? == 0 {
                bail!("nothing was computed");
            }
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(crate::serve::percentiles(ms))
    };
    let teams = args.teams as usize;
    let one = time(30, &mut |store, i| {
        let team = format!("team-{}", (i * 37) % teams);
        Ok(lantern::flow_cmd::run(store, &config, &flow_args(Some(team)))?.len())
    })?;
    println!(
        "lantern flow    one team p50 {:.1} ms, p99 {:.1} ms (target ≤ 20 ms)",
        one.p50, one.p99
    );
    let all = time(10, &mut |store, _| {
        Ok(lantern::flow_cmd::run(store, &config, &flow_args(None))?.len())
    })?;
    println!(
        "lantern flow    every team p50 {:.1} ms, p99 {:.1} ms (target ≤ 300 ms)",
        all.p50, all.p99
    );
    // Inner steps: the store's read, and the figures from it.
    let read = time(30, &mut |store, i| {
        let name =
            Name::parse(&format!("team-{}", (i * 37) % teams)).map_err(anyhow::Error::msg)?;
        let scope = config.team_scope(name.as_str())?;
        Ok(store.flow_items(&scope, Some(window))?.len())
    })?;
    let read_all = time(10, &mut |store, _| {
        Ok(store.flow_items(&Scope::Org, Some(window))?.len())
    })?;
    let items = store.flow_items(&Scope::Org, Some(window))?;
    let scope = config.team_scope("team-0")?;
    let t = Instant::now();
    let mut n = 0;
    for _ in 0..10 {
        n += lantern_engine::flow::for_scope(&items, &scope, window)
            .map_or(0, |f| f.flow_velocity.count);
    }
    let compute_ms = t.elapsed().as_secs_f64() * 100.0;
    println!(
        "  inner         read one team p50 {:.1} ms; read every team's p50 {:.1} ms; figures of one team over every item {compute_ms:.2} ms ({n} done)",
        read.p50, read_all.p50
    );
    println!(
        "peak RSS        {:.0} MiB",
        lantern::telemetry::peak_rss_mib()
    );
    Ok(())
}
