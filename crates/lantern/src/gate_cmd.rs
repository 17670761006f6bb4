//! `lantern gate`: the deploy gate of slo.md for a pipeline step. Exit 0
//! to go ahead (allow or warn), 3 to stop (deny), 2 for a service the
//! catalog does not know; every answer is recorded in the audit log.

use crate::instance::Instance;
use anyhow::{Result, anyhow};
use clap::{Args, ValueEnum};
use lantern_app::gate::Decision;
use lantern_app::report::Reader;
use lantern_app::{AppError, Settings};
use lantern_events::{DeploymentKind, Timestamp};
use std::fmt::Write;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct GateArgs {
    /// The service about to be deployed.
    #[arg(long)]
    service: String,
    /// What kind of deployment it is.
    #[arg(long, value_enum, default_value_t = GateKind::Planned)]
    kind: GateKind,
    /// Ask as of this instant (YYYY-MM-DD or RFC 3339) [default: now].
    #[arg(long)]
    at: Option<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum GateKind {
    Planned,
    Hotfix,
    Rollback,
}

pub fn run(config: &Settings, args: &GateArgs, instance: &mut Instance) -> Result<ExitCode> {
    let at = match &args.at {
        Some(text) => Timestamp::parse_bound(text).map_err(|m| anyhow!("--at: {m}"))?,
        None => Timestamp::now(),
    };
    let kind = match args.kind {
        GateKind::Planned => DeploymentKind::Planned,
        GateKind::Hotfix => DeploymentKind::Hotfix,
        GateKind::Rollback => DeploymentKind::Rollback,
    };
    crate::report_cmd::refresh_facts(instance.store.as_mut(), config, true)?;
    let answer = match lantern_app::gate::decide(
        instance.store.as_mut(),
        config,
        Reader::Operator,
        (&args.service, Some(kind)),
        at,
        crate::governance_cmd::cli_record,
    ) {
        Ok(answer) => answer,
        Err(e @ AppError::NotFound { .. }) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        let mut out = format!(
            "{}: {} — {}\n",
            answer.service,
            answer.decision.as_str(),
            answer.reason
        );
        for slo in &answer.slos {
            if let lantern_app::slos::SloAnswer::Figures(s) = slo {
                let _ = writeln!(out, "  {} {}", s.slo.name, s.status.as_str());
            }
        }
        print!("{out}");
    }
    Ok(match answer.decision {
        Decision::Deny => ExitCode::from(3),
        Decision::Allow | Decision::Warn => ExitCode::SUCCESS,
    })
}
