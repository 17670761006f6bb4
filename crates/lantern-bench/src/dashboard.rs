//! `lantern bench dashboard`: how long the dashboard's pages take, on the
//! demo organisation and on a large one (500 services by default), through
//! the real server on loopback — authentication, policy, store, engine and
//! HTML included. Read as an admin (who sees everything) and as an org
//! viewer (whose pages check small-group suppression scope by scope).
//! Numbers go to docs/performance.md.

use crate::serve::{BenchServer, Connection};
use crate::{BenchArgs, START};
use anyhow::{Result, bail};
use clap::Args;
use lantern::instance::Instance;
use lantern_app::Settings;
use lantern_governance::Role;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct DashboardBenchArgs {
    /// Services of the large organisation (in teams of 10).
    #[arg(long, default_value_t = 500)]
    pub services: u32,
    /// Days of history of the large organisation.
    #[arg(long, default_value_t = 180)]
    pub days: u32,
    /// Requests per page and role.
    #[arg(long, default_value_t = 20)]
    pub repeat: usize,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, serde::Serialize)]
struct PageTiming {
    organisation: &'static str,
    page: String,
    role: &'static str,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    bytes: usize,
}

pub fn run(args: &DashboardBenchArgs) -> Result<()> {
    if args.repeat == 0 || args.services == 0 {
        bail!("--repeat and --services must be at least 1");
    }
    let temp = tempfile::TempDir::new()?;
    let mut results = Vec::new();

    // The demo organisation, as `lantern demo` writes it.
    let demo_db = temp.path().join("demo.db");
    let until = lantern_events::Timestamp::now().date();
    {
        let mut instance = Instance::open_file(&demo_db)?;
        lantern::demo::write_into(&mut instance, 42, until, 120)?;
    }
    let demo_config = Settings::parse(&lantern::demo::catalog_toml(), None)?;
    let to = until.format("%Y-%m-%d");
    let window = format!("days=90&to={to}");
    let pages: Vec<String> = [
        "/".to_string(),
        "/teams/payments".into(),
        "/services/checkout".into(),
    ]
    .iter()
    .map(|p| format!("{p}?{window}"))
    .chain(["/metrics".to_string(), "/annotations".into()])
    .collect();
    results.extend(measure(
        "demo",
        &demo_db,
        &demo_config,
        &pages,
        args.repeat,
    )?);

    // A large organisation: the bench generator's history, 10 services a team.
    let large_db = temp.path().join("large.db");
    let data = temp.path().join("large.jsonl");
    let generated = BenchArgs {
        target: None,
        services: args.services,
        days: args.days,
        deploys_per_day: 2.74,
        changes_per_deploy: 5,
        runs_per_deploy: 0,
        dir: None,
        json: false,
        reuse: false,
        postgres: None,
        postgres_only: false,
    };
    crate::generate(&generated, &data)?;
    let mut catalog = String::new();
    for team in 0..args.services.div_ceil(10) {
        let services: Vec<String> = (team * 10..((team + 1) * 10).min(args.services))
            .map(|s| format!("\"service-{s}\""))
            .collect();
        catalog.push_str(&format!(
            "[[teams]]\nname = \"team-{team}\"\nservices = [{}]\n\n",
            services.join(", ")
        ));
    }
    let large_config = Settings::parse(&catalog, None)?;
    {
        let mut instance = Instance::open_file(&large_db)?;
        lantern::import::import_events(&mut instance, &data, false, &large_config)?;
    }
    let end =
        lantern_events::Timestamp::from_micros((START + args.days as i64 * 86_400) * 1_000_000);
    let window = format!("days=90&to={}", end.date().format("%Y-%m-%d"));
    // team-3 and service-7 where there are that many (as recorded in
    // docs/performance.md), else the last ones.
    let team = 3.min(args.services.div_ceil(10) - 1);
    let service = 7.min(args.services - 1);
    let pages: Vec<String> = [
        "/".to_string(),
        format!("/teams/team-{team}"),
        format!("/services/service-{service}"),
    ]
    .iter()
    .map(|p| format!("{p}?{window}"))
    .collect();
    let organisation = if args.services == 500 {
        "500 services"
    } else {
        "large"
    };
    results.extend(measure(
        organisation,
        &large_db,
        &large_config,
        &pages,
        args.repeat,
    )?);

    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        println!(
            "{:<13} {:<44} {:<10} {:>8} {:>8} {:>8} {:>8}",
            "organisation", "page", "role", "p50 ms", "p99 ms", "max ms", "KiB"
        );
        for r in &results {
            println!(
                "{:<13} {:<44} {:<10} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
                r.organisation,
                r.page,
                r.role,
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                r.bytes as f64 / 1024.0
            );
        }
    }
    Ok(())
}

/// Serves `db` and requests every page `repeat` times per role (after one
/// request that brings the kept facts up to date).
fn measure(
    organisation: &'static str,
    db: &Path,
    config: &Settings,
    pages: &[String],
    repeat: usize,
) -> Result<Vec<PageTiming>> {
    let mut instance = Instance::open_for_serving(&lantern::instance::Target::sqlite(db))?;
    lantern::report_cmd::refresh_facts(instance.store.as_mut(), config, true)?;
    let mut tokens = Vec::new();
    for (role, name) in [
        (Role::Admin, "admin"),
        (Role::OrgViewer, "org viewer"),
        (Role::Metrics, "metrics"),
    ] {
        let new = lantern_governance::NewGrant {
            role,
            teams: Vec::new(),
            source: None,
            purpose: "lantern bench dashboard".into(),
            days: Some(1),
        };
        let now = lantern_events::Timestamp::now();
        let issued =
            lantern::governance_cmd::create_token(instance.store.as_mut(), config, new, now)?;
        tokens.push((name, Arc::<str>::from(issued.token)));
    }
    let mut settings = lantern::serve::settings(
        config,
        "127.0.0.1:0".parse()?,
        lantern_server::DEFAULT_BODY_LIMIT,
    );
    settings.app.governance.retention_every = None;
    let server = BenchServer::start(settings, instance)?;
    let address = server.address;
    let mut out = Vec::new();
    for (role, token) in &tokens {
        let mut connection = Connection::open(address, token)?;
        // `/metrics` is scraped with a metrics token, and only it is.
        let scraper = *role == "metrics";
        for page in pages
            .iter()
            .filter(|p| (p.as_str() == "/metrics") == scraper)
        {
            let (status, body) = connection.request("GET", page, "")?;
            if status != 200 {
                bail!("{page} as {role}: {status}: {body}");
            }
            let mut samples = Vec::with_capacity(repeat);
            let mut bytes = 0;
            for _ in 0..repeat {
                let t = Instant::now();
                let (status, body) = connection.request("GET", page, "")?;
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
                if status != 200 {
                    bail!("{page} as {role}: {status}");
                }
                bytes = body.len();
            }
            samples.sort_by(f64::total_cmp);
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            out.push(PageTiming {
                organisation,
                page: page.clone(),
                role,
                p50_ms: at(0.5),
                p99_ms: at(0.99),
                max_ms: at(1.0),
                bytes,
            });
        }
    }
    server.stop()?;
    Ok(out)
}
