//! `lantern serve` and `lantern deadletter`: the server's edge in the CLI.

use crate::instance::{Instance, Target};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use lantern_app::Settings;
use lantern_server::{Application, DEFAULT_BODY_LIMIT};
use lantern_sources::{Delivery, Mapped};
use std::net::SocketAddr;
use std::path::Path;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The largest request body accepted, in bytes (413 past it).
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
    /// Requests worked on at once against PostgreSQL (one connection
    /// each); the embedded SQLite store always uses one.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub connections: u16,
}

pub fn serve(target: &Target, config: &Settings, args: &ServeArgs) -> Result<()> {
    let mut settings = settings(config, args.listen, args.body_limit);
    settings.connections = usize::from(args.connections);
    serve_with(target, config, settings, |address| {
        eprintln!(
            "Lantern is serving http://{address} (the dashboard; the API is described at /api/v1/openapi.json); Ctrl-C stops it"
        );
    })
}

/// What `lantern serve` says on a store where no token can sign in yet.
pub const NO_TOKEN_YET: &str = "No token can sign in yet. Create one, then open /sign-in with it:\n  lantern token create --role admin --purpose \"run Lantern\"\nand one for each source that sends webhooks, e.g.\n  lantern token create --role ingest --source events --purpose \"CI deploy hook\"";

/// Serves until Ctrl-C or SIGTERM; `ready` hears the bound address.
fn serve_with(
    target: &Target,
    config: &Settings,
    settings: lantern_server::Settings,
    ready: impl FnOnce(SocketAddr),
) -> Result<()> {
    let listen = settings.listen;
    let mut instance = Instance::open_for_serving(target)?;
    crate::governance_cmd::note_configuration(instance.store.as_mut(), config, "lantern serve")?;
    // Every page and route but the webhooks asks for a token: a first
    // run must not meet a sign-in page with no way to sign in.
    let now = lantern_events::Timestamp::now();
    if !instance.store.grants()?.iter().any(|g| g.is_active(now)) {
        eprintln!("{}", NO_TOKEN_YET);
    }
    // Two cores: two workers; SQLite work goes to tokio's blocking pool.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = Application::build(settings, instance.store, instance.pseudonymiser)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = app.address()?;
        tracing::info!(%address, db = %target.location, "serving");
        ready(address);
        app.run_until(shutdown_signal()).await?;
        tracing::info!("stopped after finishing the requests in flight");
        Ok(())
    })
}

/// `lantern demo` after writing the demo: an admin token for the demo, the
/// dashboard on a local port, its address and a sign-in link printed, and
/// a browser opened on the link where there is one.
pub fn demo(db: &Path, args: &crate::report_cmd::DemoArgs) -> Result<()> {
    let catalog = db.with_extension("toml");
    let config = Settings::load(Some(&catalog))?;
    let issued = {
        let mut instance = Instance::open_file(db)?;
        crate::governance_cmd::create_token(
            instance.store.as_mut(),
            &config,
            lantern_governance::NewGrant {
                role: lantern_governance::Role::Admin,
                teams: Vec::new(),
                source: None,
                purpose: "exploring the demo organisation".into(),
                days: Some(7),
            },
            lantern_events::Timestamp::now(),
        )?
    };
    serve_with(
        &crate::instance::Target::sqlite(db),
        &config,
        settings(&config, args.listen, DEFAULT_BODY_LIMIT),
        |address| {
            let link = format!("http://{address}/sign-in#token={}", issued.token);
            println!("\nThe dashboard is at http://{address}/");
            println!(
                "Sign in with this link (it carries an admin token for the demo, valid 7 days):"
            );
            println!("  {link}");
            println!(
                "Ctrl-C stops the server; the demo stays in {}.",
                db.display()
            );
            if !args.no_open {
                open_browser(&link);
            }
        },
    )
}

/// Opens `url` in the desktop's browser, if there is a desktop; otherwise
/// (a server, a container) the printed link is the way in.
fn open_browser(url: &str) {
    let command = if let Ok(browser) = std::env::var("BROWSER") {
        Some((browser, Vec::new()))
    } else if cfg!(target_os = "macos") {
        Some(("open".to_string(), Vec::new()))
    } else if cfg!(windows) {
        Some((
            "cmd".to_string(),
            vec!["/C".to_string(), "start".to_string(), String::new()],
        ))
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        Some(("xdg-open".to_string(), Vec::new()))
    } else {
        None
    };
    let Some((program, mut arguments)) = command else {
        println!("(No desktop browser found: open the link above in yours.)");
        return;
    };
    arguments.push(url.to_string());
    let spawned = std::process::Command::new(&program)
        .args(&arguments)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        println!("(Could not start `{program}`: open the link above in your browser.)");
    }
}

/// The server's settings from the configuration.
pub fn settings(
    config: &Settings,
    listen: SocketAddr,
    body_limit: usize,
) -> lantern_server::Settings {
    lantern_server::Settings {
        listen,
        body_limit,
        connections: 1,
        notify_every: lantern_server::notify::TICK,
        prime_metrics: true,
        app: config.clone(),
    }
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
}

#[derive(Subcommand, Debug)]
pub enum DeadLetterCommand {
    /// Webhook bodies that could not be mapped, with why.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Maps kept bodies again (after a fix) and stores what now maps;
    /// without ids, all of them.
    Replay { ids: Vec<i64> },
}

pub fn dead_letters(
    target: &Target,
    config: &Settings,
    command: &DeadLetterCommand,
) -> Result<bool> {
    let mut instance = Instance::open(target)?;
    let store = instance.store.as_mut();
    let letters = store.dead_letters()?;
    match command {
        DeadLetterCommand::List { json } => {
            // Dead letters are raw deliveries: reading them is recorded.
            crate::governance_cmd::record_cli(
                store,
                "deadletter.list",
                "-",
                &format!("{} dead letters listed", letters.len()),
            )?;
            if *json {
                let rows: Vec<serde_json::Value> = letters
                    .iter()
                    .map(|l| {
                        serde_json::json!({
                            "id": l.id,
                            "received_at": l.received_at.to_rfc3339(),
                            "source": l.source,
                            "reason": l.reason,
                            "bytes": l.body.len(),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if letters.is_empty() {
                println!("no dead letters");
            } else {
                for l in &letters {
                    println!(
                        "{:>5}  {}  {:<12} {:>8} bytes  {}",
                        l.id,
                        l.received_at.to_rfc3339(),
                        l.source,
                        l.body.len(),
                        l.reason
                    );
                }
            }
            Ok(true)
        }
        DeadLetterCommand::Replay { ids } => {
            let missing: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|id| !letters.iter().any(|l| l.id == *id))
                .collect();
            if !missing.is_empty() {
                anyhow::bail!("no dead letter {missing:?}; `lantern deadletter list` shows them");
            }
            let (mut stored, mut failing) = (0, 0);
            for l in letters
                .iter()
                .filter(|l| ids.is_empty() || ids.contains(&l.id))
            {
                let settings = config.sources.get(&l.source).cloned().unwrap_or_default();
                let delivery = Delivery {
                    headers: &l.headers,
                    body: &l.body,
                    settings: &settings,
                    pseudonymiser: &instance.pseudonymiser,
                    received_at: l.received_at,
                };
                match lantern_sources::receiver(&l.source).and_then(|r| r.map(&delivery)) {
                    Ok(Mapped::Events(events)) => {
                        store.write(&events)?;
                        store.remove_dead_letter(l.id)?;
                        println!("{}: stored {} events", l.id, events.len());
                        stored += 1;
                    }
                    Ok(Mapped::Chained { mut events, chain }) => {
                        lantern_app::chains::resolve(&*store, &chain, &mut events)?;
                        store.write_merged(events.clone())?;
                        lantern_app::chains::remember(store, &chain, &events)?;
                        store.remove_dead_letter(l.id)?;
                        println!("{}: stored {} events", l.id, events.len());
                        stored += 1;
                    }
                    Ok(Mapped::Work { events, unmapped }) => {
                        store.write(&events)?;
                        lantern_app::flow::note_unmapped(store, &l.source, &unmapped)?;
                        store.remove_dead_letter(l.id)?;
                        println!("{}: stored {} events", l.id, events.len());
                        stored += 1;
                    }
                    Ok(Mapped::Merge(events)) => {
                        let n = events.len();
                        store.write_merged(events)?;
                        store.remove_dead_letter(l.id)?;
                        println!("{}: stored {n} events", l.id);
                        stored += 1;
                    }
                    Ok(Mapped::Ignored(why)) => {
                        store.remove_dead_letter(l.id)?;
                        println!("{}: nothing to store ({why})", l.id);
                        stored += 1;
                    }
                    Err(e) => {
                        println!("{}: still failing: {e}", l.id);
                        failing += 1;
                    }
                }
            }
            crate::governance_cmd::record_cli(
                store,
                "deadletter.replay",
                &if ids.is_empty() {
                    "all".to_string()
                } else {
                    format!("{ids:?}")
                },
                &format!("replayed {stored}, still failing {failing}"),
            )?;
            println!("replayed {stored}, still failing {failing}");
            Ok(failing == 0)
        }
    }
}
