//! `lantern bench serve`: webhook ingest against the real server while
//! reports are read, on loopback. Clients keep one HTTP/1.1 connection each
//! and send one canonical event per delivery, each acknowledged only once
//! committed; a reader asks for reports meanwhile and records how long
//! each took. Numbers go to docs/performance.md.

use anyhow::{Result, bail};
use clap::Args;
use lantern::instance::Instance;
use lantern_app::Settings;
use lantern_server::Application;
use std::net::SocketAddr;

pub use crate::http::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct ServeBenchArgs {
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Client connections sending deliveries.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Services the deliveries are spread over.
    #[arg(long, default_value_t = 50)]
    pub services: usize,
    /// Deliveries per second in all, paced (0: as fast as answers come).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// An empty PostgreSQL database to serve from instead of a SQLite
    /// file (e.g. postgres://postgres@127.0.0.1/bench).
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Servers on the one database, each with its own connection, as
    /// replicas behind a load balancer: deliveries and reports go to each
    /// in turn. More than one needs --postgres.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub replicas: u16,
    /// Connections each server keeps to PostgreSQL (`lantern serve
    /// --connections`, whose default this is); SQLite uses one.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub connections: u16,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, serde::Serialize)]
struct Results {
    store: &'static str,
    replicas: u16,
    seconds: f64,
    clients: usize,
    acknowledged: u64,
    events_per_s: f64,
    failed: u64,
    /// Reports of a demo service the deliveries do not touch.
    quiet_report_ms: Percentiles,
    /// Reports of a service being written to (each refreshes its facts).
    busy_report_ms: Percentiles,
    stored_after: u64,
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// A token for a day, issued straight into the benchmark's store.
pub(crate) fn token(
    instance: &mut Instance,
    config: &Settings,
    role: lantern_governance::Role,
    source: Option<&str>,
) -> Result<Arc<str>> {
    let new = lantern_governance::NewGrant {
        role,
        teams: Vec::new(),
        source: source.map(str::to_string),
        purpose: "lantern-bench: load on loopback".into(),
        days: Some(1),
    };
    let now = lantern_events::Timestamp::now();
    let issued = lantern::governance_cmd::create_token(instance.store.as_mut(), config, new, now)?;
    Ok(issued.token.into())
}

/// With the engine's own percentile (linear between closest ranks).
pub(crate) fn percentiles(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if v.is_empty() {
            f64::NAN
        } else {
            lantern_engine::percentile(&v, q)
        }
    };
    Percentiles {
        count: v.len(),
        p50: at(0.5),
        p99: at(0.99),
        max: at(1.0),
    }
}

pub fn run(args: &ServeBenchArgs) -> Result<()> {
    if args.replicas > 1 && args.postgres.is_none() {
        bail!("--replicas: more than 1 needs --postgres (replicas share one PostgreSQL database)");
    }
    let temp = tempfile::TempDir::new()?;
    let target = match &args.postgres {
        Some(url) => lantern::instance::Target {
            location: lantern_store::Location::Postgres(url.clone()),
            key_file: temp.path().join("serve-bench.key"),
        },
        None => lantern::instance::Target::sqlite(&temp.path().join("serve-bench.db")),
    };
    let until = lantern_events::Timestamp::now().date();
    let mut instance = Instance::open_for_serving(&target)?;
    if args.postgres.is_some() {
        crate::require_empty(&instance)?;
    }
    lantern::demo::write_into(&mut instance, 42, until, 120)?;
    let config = Settings::parse(&lantern::demo::catalog_toml(), None)?;
    lantern::report_cmd::refresh_facts(instance.store.as_mut(), &config, true)?;
    let before = instance.store.counts()?;
    // The clients write as the `events` source, the reader reads as an org
    // viewer: the policy layer's cost is part of what is measured.
    let mut token = |role, source| token(&mut instance, &config, role, source);
    let ingest = token(lantern_governance::Role::Ingest, Some("events"))?;
    let viewer = token(lantern_governance::Role::OrgViewer, None)?;

    let mut settings = lantern::serve::settings(
        &config,
        "127.0.0.1:0".parse()?,
        lantern_server::DEFAULT_BODY_LIMIT,
    );
    settings.connections = usize::from(args.connections);
    // The first replica serves the instance that wrote the demo; each
    // other opens its own (the key file the first one wrote).
    let mut servers = vec![BenchServer::start(settings.clone(), instance)?];
    for _ in 1..args.replicas {
        let replica = Instance::open_for_serving(&target)?;
        servers.push(BenchServer::start(settings.clone(), replica)?);
    }
    let addresses: Vec<SocketAddr> = servers.iter().map(|s| s.address).collect();

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let clients: Vec<_> = (0..args.clients)
        .map(|c| {
            let (stop, ok, bad) = (stop.clone(), acknowledged.clone(), failed.clone());
            let ingest = ingest.clone();
            let address = addresses[c % addresses.len()];
            let services = args.services;
            // Each client's share of the rate, as a gap between deliveries.
            let gap = (args.rate > 0)
                .then(|| Duration::from_secs_f64(args.clients as f64 / args.rate as f64));
            std::thread::spawn(move || -> Result<()> {
                let mut conn = Connection::open(address, &ingest)?;
                let mut n = 0u64;
                let begun = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(gap) = gap {
                        let due = begun + gap * n as u32;
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                    let body = delivery(c, n, services);
                    match conn.request("POST", "/hooks/events", &body)? {
                        (200, _) => ok.fetch_add(1, Ordering::Relaxed),
                        _ => bad.fetch_add(1, Ordering::Relaxed),
                    };
                    n += 1;
                }
                Ok(())
            })
        })
        .collect();
    let (mut quiet, mut busy) = (Vec::new(), Vec::new());
    let mut readers = addresses
        .iter()
        .map(|&a| Connection::open(a, &viewer))
        .collect::<Result<Vec<_>>>()?;
    let mut i = 0u64;
    let to = until.succ_opt().unwrap_or(until);
    while started.elapsed() < Duration::from_secs(args.seconds) {
        let (path, into) = if i % 4 == 3 {
            (
                format!(
                    "/api/v1/report?service=load-{}&to={to}",
                    i % args.services as u64
                ),
                &mut busy,
            )
        } else {
            (
                format!("/api/v1/report?service=checkout&to={to}"),
                &mut quiet,
            )
        };
        let t = Instant::now();
        let reader = &mut readers[i as usize % addresses.len()];
        let (status, body) = reader.request("GET", &path, "")?;
        if status != 200 {
            bail!("a report failed ({status}): {body}");
        }
        into.push(t.elapsed().as_secs_f64() * 1000.0);
        i += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join()
            .map_err(|_| anyhow::anyhow!("a client panicked"))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    for server in servers {
        server.stop()?;
    }
    let after = target.location.open()?.counts()?;
    let acked = acknowledged.load(Ordering::Relaxed);
    let stored = (after.changes + after.deployments) - (before.changes + before.deployments);
    let results = Results {
        store: match args.postgres {
            Some(_) => "postgres",
            None => "sqlite",
        },
        replicas: args.replicas,
        seconds,
        clients: args.clients,
        acknowledged: acked,
        events_per_s: acked as f64 / seconds,
        failed: failed.load(Ordering::Relaxed),
        quiet_report_ms: percentiles(quiet),
        busy_report_ms: percentiles(busy),
        stored_after: stored,
    };
    if stored != acked {
        bail!("{acked} deliveries were acknowledged but {stored} new events are stored");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        println!(
            "ingest        {:.0} events/s ({} acknowledged, {} failed, {} clients, {} replica(s) on {}, {:.1}s)",
            results.events_per_s,
            results.acknowledged,
            results.failed,
            args.clients,
            args.replicas,
            results.store,
            seconds
        );
        for (name, p) in [
            ("quiet report", &results.quiet_report_ms),
            ("busy report", &results.busy_report_ms),
        ] {
            println!(
                "{name:<13} p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} reports)",
                p.p50, p.p99, p.max, p.count
            );
        }
    }
    Ok(())
}

/// One event per delivery: commits and deployments of many services, each
/// id new, so every acknowledgement adds exactly one stored event.
fn delivery(client: usize, n: u64, services: usize) -> String {
    let s = (client as u64 * 7919 + n) % services as u64;
    let sha = format!("{:08x}{:032x}", client, n);
    let at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ");
    if n.is_multiple_of(2) {
        // Commits have authors, as real ones do (a dozen people a service):
        // small-group suppression then counts a few rows, not a history.
        let author = (client as u64 + n) % 12;
        format!(
            r#"{{"type":"change","repo":"load/{s}","sha":"{sha}","committed_at":"{at}","author":"dev-{author}"}}"#
        )
    } else {
        let prev = format!("{:08x}{:032x}", client, n - 1);
        format!(
            r#"{{"type":"deployment","id":"load-{client}-{n}","service":"load-{s}","environment":"production","finished_at":"{at}","repo":"load/{s}","sha":"{prev}"}}"#
        )
    }
}

/// The real server on a free loopback port, on its own two-worker runtime
/// (as `lantern serve` runs), for a benchmark's clients to talk to.
pub struct BenchServer {
    runtime: tokio::runtime::Runtime,
    pub address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl BenchServer {
    pub fn start(settings: lantern_server::Settings, instance: Instance) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let app = runtime.block_on(Application::build(
            settings,
            instance.store,
            instance.pseudonymiser,
        ))?;
        let address = app.address()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = runtime.spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Ok(BenchServer {
            runtime,
            address,
            stop,
            served,
        })
    }

    /// Stops it after the requests in flight.
    pub fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        self.runtime.block_on(self.served)??;
        Ok(())
    }
}
