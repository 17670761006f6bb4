//! Commands and flags.

use crate::governance_cmd::{
    AccessCommand, AnnotationCommand, AuditCommand, DisputeCommand, RetentionCommand, TokenCommand,
};
use crate::instance::{Instance, Target};
use crate::{deployment_cmd, governance_cmd, import, import_git, migrate_cmd, report_cmd, serve};
use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use lantern_app::Settings;
use lantern_engine::{find_metric_doc, metric_docs};
use lantern_store::Location;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "lantern",
    version,
    about = "DORA delivery metrics for services and teams — never for people.",
    after_help = "Start with `lantern demo`. Every metric explains itself: `lantern explain lead_time`."
)]
pub struct Cli {
    /// The database: a SQLite file, or postgres://user@host/db for several
    /// replicas [default: ./lantern.db; ./lantern-demo.db for `demo`].
    #[arg(long, global = true, env = "LANTERN_DB", value_name = "PATH|URL")]
    pub db: Option<String>,
    /// The pseudonymisation key [default: the SQLite file's path + .key;
    /// required with PostgreSQL, the same file on every replica].
    #[arg(long, global = true, env = "LANTERN_KEY_FILE", value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// The catalog and settings [default: ./lantern.toml when present].
    #[arg(long, global = true, env = "LANTERN_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Load events into the store.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The DORA report for a service, a team or the organisation.
    Report(report_cmd::ReportArgs),
    /// Flow metrics (flow.md): velocity, time, efficiency, load and
    /// distribution of a team's work items [default: every team].
    Flow(crate::flow_cmd::FlowArgs),
    /// Generate a demo organisation, show its report, and open it in the
    /// dashboard (`--no-serve`: only the report).
    Demo(report_cmd::DemoArgs),
    /// Why one deployment counts as it does (event-level detail; the read
    /// is recorded).
    #[command(subcommand)]
    Deployment(deployment_cmd::DeploymentCommand),
    /// Service level objectives declared in the catalog (`[[slos]]`).
    #[command(subcommand)]
    Slo(crate::slo_cmd::SloCommand),
    /// The deploy gate for a pipeline step: exit 0 allow or warn, 3 deny,
    /// 2 for a service the catalog does not know (recorded).
    Gate(crate::gate_cmd::GateArgs),
    /// Every fault in the data (silent sources and services, unlinked
    /// incidents, clock skew, flaky runs, …) with its fix; exit 1 if any.
    Doctor(crate::doctor_cmd::DoctorArgs),
    /// What a metric measures, what it does not, and how it is misread.
    Explain {
        /// A metric (e.g. lead_time, cfr); omit to list them all.
        metric: Option<String>,
        /// Print the explanations as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the HTTP API and the webhook receivers.
    Serve(serve::ServeArgs),
    /// Webhook bodies that could not be mapped: list them, replay them.
    #[command(subcommand)]
    Deadletter(serve::DeadLetterCommand),
    /// API tokens: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Review who has access, why, and whether they still use it.
    #[command(subcommand)]
    Access(AccessCommand),
    /// The audit log of detail reads and changes: list, verify.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Context beside the figures: freezes, migrations, outages, reorgs.
    #[command(subcommand)]
    Annotation(AnnotationCommand),
    /// Challenge a metric reading; admins resolve with a note.
    #[command(subcommand)]
    Dispute(DisputeCommand),
    /// Pulse surveys of a team (health.md): open a round, hand out
    /// single-use links, close it, read its results.
    #[command(subcommand)]
    Pulse(crate::health_cmd::PulseCommand),
    /// Improvement experiments: a team's commitment to move one indicator,
    /// judged against the same span before it.
    #[command(subcommand)]
    Experiment(crate::health_cmd::ExperimentCommand),
    /// A team's operational load and strain (health.md), in words.
    TeamHealth(crate::health_cmd::TeamHealthArgs),
    /// Weekly digests and alerts to chat (`[[notify]]`): list targets and
    /// messages, test a target, send a digest or what is due.
    #[command(subcommand)]
    Notify(crate::notify_cmd::NotifyCommand),
    /// Apply the retention periods of [governance] now.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Print the API's OpenAPI 3.1 document (what `GET
    /// /api/v1/openapi.json` serves), for client generators and checks.
    Openapi,
    /// Move a whole installation from a SQLite file into PostgreSQL, and
    /// verify it by comparing reports before and after.
    Migrate(migrate_cmd::MigrateArgs),
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Canonical events as JSON Lines (events.md); `-` reads standard input.
    Events {
        file: PathBuf,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// A git repository's history: commits, pull requests from merge and
    /// squash subjects, deployments from tags or a branch, and rollbacks and
    /// hotfixes by heuristics (`lantern explain git-mode`). Re-running reads
    /// only what is new.
    Git(import_git::GitArgs),
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let (db, key_file) = (cli.db, cli.key_file);
    let target = |default: &str| Target::resolve(db.as_deref(), key_file.as_deref(), default);
    let settings = || Settings::load(cli.config.as_deref());
    let open = || Instance::open(&target("lantern.db")?);
    let exit = |success: bool| match success {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    };
    match cli.command {
        Command::Import(ImportCommand::Events { file, quiet }) => {
            let (config, mut instance) = (settings()?, open()?);
            let s = import::import_events(&mut instance, &file, quiet, &config)?;
            println!(
                "loaded {}, rejected {} ({:.1}s, {:.0} events/s)",
                s.loaded,
                s.rejected,
                s.seconds,
                s.loaded as f64 / s.seconds.max(1e-9)
            );
            Ok(exit(s.rejected == 0))
        }
        Command::Import(ImportCommand::Git(args)) => {
            let (config, mut instance) = (settings()?, open()?);
            let s = import_git::import_git(&mut instance, &args, &config)?;
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            if args.json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                print!("{}", import_git::describe(&s));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => {
            let config = settings()?;
            let target = target("lantern.db")?;
            if let Location::Sqlite(db) = &target.location
                && !db.exists()
            {
                bail!(
                    "no database at {}: import events first (`lantern import events FILE`), or try `lantern demo`",
                    db.display()
                );
            }
            let mut instance = Instance::open(&target)?;
            print!(
                "{}",
                report_cmd::run(instance.store.as_mut(), &config, &args, None)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Flow(args) => {
            let (config, mut instance) = (settings()?, open()?);
            print!(
                "{}",
                crate::flow_cmd::run(instance.store.as_mut(), &config, &args)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            let target = target("lantern-demo.db")?;
            let db = target.sqlite_path()?;
            print!("{}", report_cmd::demo(db, &args)?);
            if !args.no_serve {
                serve::demo(db, &args)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Deployment(command) => {
            let (config, mut instance) = (settings()?, open()?);
            print!(
                "{}",
                deployment_cmd::run(instance.store.as_mut(), &config, &command)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Gate(args) => crate::gate_cmd::run(&settings()?, &args, &mut open()?),
        Command::Notify(command) => {
            let (config, mut instance) = (settings()?, open()?);
            print!(
                "{}",
                crate::notify_cmd::run(instance.store.as_mut(), &config, &command)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor(args) => crate::doctor_cmd::run(&settings()?, &args, &mut open()?),
        Command::Slo(command) => {
            print!("{}", crate::slo_cmd::run(&settings()?, &command, open)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain { metric, json } => {
            print!("{}", explain(metric.as_deref(), json)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => {
            let config = settings()?;
            serve::serve(&target("lantern.db")?, &config, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Deadletter(command) => {
            let all_stored = serve::dead_letters(&target("lantern.db")?, &settings()?, &command)?;
            Ok(exit(all_stored))
        }
        Command::Token(command) => {
            governance_cmd::token(&mut open()?, &settings()?, &command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Access(command) => {
            governance_cmd::access(&mut open()?, &command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(command) => Ok(exit(governance_cmd::audit(&mut open()?, &command)?)),
        Command::Annotation(command) => {
            governance_cmd::annotation(&mut open()?, &settings()?, &command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dispute(command) => {
            governance_cmd::dispute(&mut open()?, &settings()?, &command)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Pulse(command) => {
            let (config, mut instance) = (settings()?, open()?);
            print!(
                "{}",
                crate::health_cmd::pulse(instance.store.as_mut(), &config, &command)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Experiment(command) => {
            let (config, mut instance) = (settings()?, open()?);
            print!(
                "{}",
                crate::health_cmd::experiment(instance.store.as_mut(), &config, &command)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::TeamHealth(args) => {
            let (config, mut instance) = (settings()?, open()?);
            print!(
                "{}",
                crate::health_cmd::team_health(instance.store.as_mut(), &config, &args)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&lantern_server::routes::routes().document)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(args) => {
            let config = settings()?;
            let migrated = migrate_cmd::migrate(&args, &config)?;
            print!("{}", migrate_cmd::describe(&migrated));
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention(command) => {
            let (config, mut instance) = (settings()?, open()?);
            governance_cmd::retention(&mut instance, &config, &command)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn explain(metric: Option<&str>, json: bool) -> Result<String> {
    if let Some(topic) = metric
        && matches!(
            topic.trim().to_lowercase().as_str(),
            "git-mode" | "git_mode" | "git"
        )
    {
        return Ok(if json {
            serde_json::to_string_pretty(&serde_json::json!({
                "key": "git-mode",
                "text": lantern_git::EXPLANATION,
            }))? + "\n"
        } else {
            lantern_git::EXPLANATION.to_string()
        });
    }
    let docs: Vec<_> = match metric {
        None => metric_docs().iter().collect(),
        Some(name) => match find_metric_doc(name) {
            Some(d) => vec![d],
            None => {
                let keys: Vec<&str> = metric_docs().iter().map(|d| d.key).collect();
                bail!(
                    "no metric `{name}`; metrics: {} (and the topic git-mode)",
                    keys.join(", ")
                );
            }
        },
    };
    if json {
        return Ok(serde_json::to_string_pretty(&docs)? + "\n");
    }
    if metric.is_none() {
        let mut out = String::from("Metrics (lantern explain METRIC for the whole text):\n\n");
        for d in docs {
            out.push_str(&format!("  {:<33} {}\n", d.key, d.summary));
        }
        out.push_str("\nAlso: lantern explain git-mode (how `lantern import git` infers deployments and failures).\n");
        return Ok(out);
    }
    let d = docs[0];
    let mut out = format!(
        "{} ({})\n{}\n\n",
        d.title,
        d.key,
        "=".repeat(d.title.len() + d.key.len() + 3)
    );
    for (heading, text) in [
        ("What it measures", d.measures),
        ("What it does not measure", d.does_not_measure),
        ("How it is commonly misread or gamed", d.misread_or_gamed),
        ("Exact definition", d.definition),
    ] {
        out.push_str(heading);
        out.push('\n');
        out.push_str(&crate::render::wrap_text(text, 78, "  "));
        out.push('\n');
    }
    Ok(out)
}
