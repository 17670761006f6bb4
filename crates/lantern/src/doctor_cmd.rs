//! `lantern doctor`: every fault in the data (hygiene.md F1–F7 and the
//! rest of `data_quality`), for the organisation, a team or a service,
//! with the fix in words. Exit 1 when there is any, so a scheduled job
//! can alert; 0 when the data is clean; 2 when the check itself could not
//! run (a wrong flag, an unknown team, a store that cannot be read).

use crate::instance::Instance;
use anyhow::{Result, anyhow};
use clap::Args;
use lantern_app::Settings;
use lantern_app::doctor::{Checkup, Focus};
use lantern_app::report::Reader;
use lantern_events::{Name, Timestamp};
use std::fmt::Write;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Only this team and its services.
    #[arg(long, conflicts_with = "service")]
    team: Option<String>,
    /// Only this service.
    #[arg(long)]
    service: Option<String>,
    /// Start of the window: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: 90 days before --to].
    #[arg(long)]
    from: Option<String>,
    /// End of the window (exclusive) [default: now].
    #[arg(long)]
    to: Option<String>,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(config: &Settings, args: &DoctorArgs, instance: &mut Instance) -> Result<ExitCode> {
    match checkup(config, args, instance) {
        Ok(checkup) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&checkup)?);
            } else {
                print!("{}", render(&checkup));
            }
            Ok(match checkup.faults() {
                0 => ExitCode::SUCCESS,
                _ => ExitCode::from(1),
            })
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(2))
        }
    }
}

fn checkup(config: &Settings, args: &DoctorArgs, instance: &mut Instance) -> Result<Checkup> {
    let name = |flag: &str, v: &str| Name::parse(v).map_err(|m| anyhow!("--{flag} `{v}`: {m}"));
    let focus = match (&args.team, &args.service) {
        (Some(t), _) => Focus::Team(name("team", t)?),
        (None, Some(s)) => Focus::Service(name("service", s)?),
        (None, None) => Focus::Everything,
    };
    let window =
        crate::report_cmd::window(args.from.as_deref(), args.to.as_deref(), Timestamp::now())?;
    crate::report_cmd::refresh_facts(instance.store.as_mut(), config, true)?;
    Ok(lantern_app::doctor::check(
        instance.store.as_mut(),
        config,
        Reader::Operator,
        &focus,
        window,
    )?)
}

/// The findings for people: each scope with faults, then a summary line.
fn render(c: &Checkup) -> String {
    let mut out = String::new();
    for s in &c.scopes {
        if s.findings.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{}:", s.scope);
        for f in &s.findings {
            let _ = writeln!(out, "  - {}", f.text);
        }
    }
    let clean = c.scopes.iter().filter(|s| s.findings.is_empty()).count();
    let _ = writeln!(
        out,
        "{} finding(s) in {} scope(s) from {} to {}; {clean} scope(s) clean.",
        c.faults(),
        c.scopes.len() - clean,
        c.from,
        c.to
    );
    out
}
