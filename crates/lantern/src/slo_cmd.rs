//! `lantern slo list`: the SLOs the catalog declares (slo.md), from
//! `lantern_app::slos`.

use anyhow::Result;
use clap::Subcommand;
use lantern_app::Settings;
use std::fmt::Write;

#[derive(Subcommand, Debug)]
pub enum SloCommand {
    /// The declared SLOs: service, objective, window and where their
    /// counts come from.
    List {
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: &Settings, command: &SloCommand) -> Result<String> {
    let SloCommand::List { json } = command;
    let slos = lantern_app::slos::declared(config);
    if *json {
        return Ok(serde_json::to_string_pretty(&slos)? + "\n");
    }
    if slos.is_empty() {
        return Ok(
            "No SLOs: declare them in lantern.toml as [[slos]] (name, service, objective, window_days).\n"
                .into(),
        );
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<32} {:<20} {:>10} {:>7}  counts from",
        "SLO", "service", "objective", "window"
    );
    for s in &slos {
        let _ = writeln!(
            out,
            "{:<32} {:<20} {:>10} {:>6}d  {}",
            s.name,
            s.service,
            format!("{}%", lantern_app::format::decimals(s.objective * 100.0, 4)),
            s.window_days,
            s.counts_from
        );
        if let Some(d) = &s.description {
            let _ = writeln!(out, "  {d}");
        }
    }
    Ok(out)
}
