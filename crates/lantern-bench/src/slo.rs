//! `lantern-bench slo`: the SLO issue's targets. 200 SLOs with 90 days of
//! 5-minute counts (5.2 million `sli` events) imported as
//! `lantern import events` does; `slo status` for one service and for the
//! organisation; and the deploy gate's latency while webhooks are ingested
//! at a steady rate. Numbers go to docs/performance.md.

use crate::serve::{BenchServer, Connection};
use anyhow::{Result, bail};
use clap::Args;
use lantern::instance::{Instance, Target};
use lantern_app::Settings;
use lantern_app::report::Reader;
use lantern_engine::Scope;
use lantern_events::{Name, Timestamp};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct SloBenchArgs {
    /// SLOs, one per service.
    #[arg(long, default_value_t = 200)]
    pub slos: u32,
    /// Days of 5-minute counts each.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Webhook deliveries a second while the gate is asked.
    #[arg(long, default_value_t = 2000)]
    pub ingest_rate: u64,
    /// Seconds of gate questions under ingest.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

fn catalog(slos: u32) -> String {
    let mut toml = String::new();
    for team in 0..slos.div_ceil(10) {
        let services: Vec<String> = (team * 10..(team * 10 + 10).min(slos))
            .map(|i| format!("\"svc-{i}\""))
            .collect();
        toml.push_str(&format!(
            "[[teams]]\nname = \"team-{team}\"\nservices = [{}]\n",
            services.join(", ")
        ));
    }
    for i in 0..slos {
        toml.push_str(&format!(
            "[[slos]]\nname = \"svc-{i}-availability\"\nservice = \"svc-{i}\"\nobjective = 0.999\n"
        ));
    }
    toml
}

pub fn run(args: &SloBenchArgs) -> Result<()> {
    let temp = tempfile::TempDir::new()?;
    let config = Settings::parse(&catalog(args.slos), None)?;
    // The counts, as a JSON Lines file.
    let five = 300 * lantern_events::MICROS_PER_SECOND;
    let end = Timestamp::now().micros() / five * five;
    let steps = i64::from(args.days) * 288;
    let file = temp.path().join("counts.jsonl");
    let written = Instant::now();
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for i in 0..args.slos {
            for k in 0..steps {
                let from = Timestamp::from_micros(end - (steps - k) * five);
                let to = from.plus_micros(five);
                // One bad hour a day, 2 % bad; otherwise 0.05 %.
                let bad = if k % 288 < 12 { 20 } else { 0 } + (k % 2) as u64;
                writeln!(
                    out,
                    r#"{{"type":"sli","slo":"svc-{i}-availability","from":"{}","to":"{}","good":{},"total":1000}}"#,
                    from.to_rfc3339(),
                    to.to_rfc3339(),
                    1000 - bad
                )?;
            }
        }
        out.flush()?;
    }
    let events = u64::from(args.slos) * steps as u64;
    eprintln!(
        "wrote {events} counts in {:.1}s",
        written.elapsed().as_secs_f64()
    );

    let db = temp.path().join("slo-bench.db");
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
        "import        {events} sli events in {import_s:.1}s: {:.0} events/s",
        events as f64 / import_s
    );

    let at = Timestamp::from_micros(end);
    let store = instance.store.as_mut();
    let time = |f: &mut dyn FnMut() -> Result<usize>| -> Result<Vec<f64>> {
        let mut ms = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let n = f()?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            if n == 0 {
                bail!("no SLO answered");
            }
        }
        Ok(ms)
    };
    let mut i = 0u32;
    let one = time(&mut || {
        i = (i + 7) % args.slos;
        let scope = Scope::Service(Name::parse(&format!("svc-{i}")).map_err(anyhow::Error::msg)?);
        Ok(lantern_app::slos::status(store, &config, Reader::Operator, &scope, at)?.len())
    })?;
    let org = time(&mut || {
        Ok(lantern_app::slos::status(store, &config, Reader::Operator, &Scope::Org, at)?.len())
    })?;
    let p = crate::serve::percentiles;
    let (one, org) = (p(one), p(org));
    println!(
        "slo status    one service p50 {:.1} ms, p99 {:.1} ms",
        one.p50, one.p99
    );
    println!(
        "slo status    organisation p50 {:.1} ms, p99 {:.1} ms",
        org.p50, org.p99
    );

    gate_under_ingest(args, instance, &config)
}

/// The gate asked by a pipeline's token while clients deliver webhooks at
/// `ingest_rate` a second.
fn gate_under_ingest(args: &SloBenchArgs, mut instance: Instance, config: &Settings) -> Result<()> {
    let mut token = |role, source| crate::serve::token(&mut instance, config, role, source);
    let ingest = token(lantern_governance::Role::Ingest, Some("events"))?;
    let gate = token(lantern_governance::Role::Gate, None)?;
    let settings = lantern::serve::settings(
        config,
        "127.0.0.1:0".parse()?,
        lantern_server::DEFAULT_BODY_LIMIT,
    );
    let server = BenchServer::start(settings, instance)?;
    let address = server.address;
    let stop = Arc::new(AtomicBool::new(false));
    let clients = 8usize;
    let gap = Duration::from_secs_f64(clients as f64 / args.ingest_rate.max(1) as f64);
    let writers: Vec<_> = (0..clients)
        .map(|c| {
            let (stop, ingest) = (stop.clone(), ingest.clone());
            std::thread::spawn(move || -> Result<u64> {
                let mut conn = Connection::open(address, &ingest)?;
                let begun = Instant::now();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if let Some(wait) = (begun + gap * n as u32).checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let body = format!(
                        r#"{{"type":"deployment","id":"bench-{c}-{n}","service":"svc-{}","environment":"staging","finished_at":"{}"}}"#,
                        n % 200,
                        Timestamp::now().to_rfc3339()
                    );
                    let (status, answer) = conn.request("POST", "/hooks/events", &body)?;
                    if status != 200 {
                        bail!("a delivery failed ({status}): {answer}");
                    }
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut asker = Connection::open(address, &gate)?;
    let mut ms = Vec::new();
    let started = Instant::now();
    let mut i = 0u32;
    while started.elapsed() < Duration::from_secs(args.seconds) {
        i = (i + 13) % args.slos;
        let t = Instant::now();
        let (status, body) = asker.request("GET", &format!("/api/v1/gate?service=svc-{i}"), "")?;
        if status != 200 {
            bail!("the gate failed ({status}): {body}");
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let mut delivered = 0;
    for w in writers {
        delivered += w
            .join()
            .map_err(|_| anyhow::anyhow!("a writer panicked"))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    server.stop()?;
    let g = crate::serve::percentiles(ms);
    println!(
        "gate          p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} answers) while ingesting {:.0} events/s",
        g.p50,
        g.p99,
        g.max,
        g.count,
        delivered as f64 / seconds
    );
    Ok(())
}
