//! `lantern slo list` and `lantern slo status`: the SLOs the catalog
//! declares (slo.md) and their figures at an instant, from
//! `lantern_app::slos`.

use crate::instance::Instance;
use anyhow::{Result, anyhow};
use clap::{Subcommand, ValueEnum};
use lantern_app::Settings;
use lantern_app::format::decimals;
use lantern_app::report::Reader;
use lantern_app::slos::SloAnswer;
use lantern_events::Timestamp;
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
    /// Adds the SLOs of an OpenSLO v1 file (`kind: SLO`, a `ratioMetric`
    /// of Prometheus queries) to lantern.toml as `[[slos]]`, checked first:
    /// an unsupported field is an error naming it, and nothing is written.
    Import { file: std::path::PathBuf },
    /// Each SLO's SLI, budget remaining, burn rates, firing alerts and
    /// status at an instant (the organisation's, a team's or a service's).
    Status {
        #[arg(long)]
        service: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// The instant: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: now].
        #[arg(long)]
        at: Option<String>,
        #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
        format: StatusFormat,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Table,
    Json,
}

pub fn run(
    config: &Settings,
    command: &SloCommand,
    open: impl FnOnce() -> Result<Instance>,
) -> Result<String> {
    match command {
        SloCommand::Import { file } => import(config, file),
        SloCommand::List { json } => list(config, *json),
        SloCommand::Status {
            service,
            team,
            at,
            format,
        } => {
            let scope = lantern_app::report::scope(config, service.as_deref(), team.as_deref())?;
            let at = match at {
                Some(text) => Timestamp::parse_bound(text).map_err(|m| anyhow!("--at: {m}"))?,
                None => Timestamp::now(),
            };
            let mut instance = open()?;
            crate::report_cmd::refresh_facts(instance.store.as_mut(), config, true)?;
            let answers = lantern_app::slos::status(
                instance.store.as_mut(),
                config,
                Reader::Operator,
                &scope,
                at,
            )?;
            match format {
                StatusFormat::Json => Ok(serde_json::to_string_pretty(&answers)? + "\n"),
                StatusFormat::Table => Ok(status_table(&answers, at)),
            }
        }
    }
}

fn import(config: &Settings, file: &std::path::Path) -> Result<String> {
    let catalog = config
        .source
        .clone()
        .unwrap_or_else(|| "lantern.toml".into());
    let existing = std::fs::read_to_string(&catalog).map_err(|e| {
        anyhow!(
            "cannot read the catalog {}: {e} (an SLO names a service of [[teams]]: create it with its team first)",
            catalog.display()
        )
    })?;
    let yaml = std::fs::read_to_string(file)
        .map_err(|e| anyhow!("cannot read {}: {e}", file.display()))?;
    let added = lantern_app::openslo::to_catalog(&yaml, &file.display().to_string())?;
    let separator = if existing.ends_with('\n') || existing.is_empty() {
        ""
    } else {
        "\n"
    };
    let combined = format!("{existing}{separator}{added}");
    // The whole catalog must still hold: services known, names unique.
    let checked = Settings::parse(&combined, Some(&catalog))?;
    let tmp = catalog.with_extension("toml.importing");
    std::fs::write(&tmp, &combined)
        .and_then(|()| std::fs::rename(&tmp, &catalog))
        .map_err(|e| anyhow!("cannot write {}: {e}", catalog.display()))?;
    let new: Vec<&str> = checked
        .slos
        .iter()
        .skip(config.slos.len())
        .map(|s| s.spec.name.as_str())
        .collect();
    Ok(format!(
        "imported {} into {}: {}\n",
        if new.len() == 1 {
            "1 SLO".to_string()
        } else {
            format!("{} SLOs", new.len())
        },
        catalog.display(),
        new.join(", ")
    ))
}

fn list(config: &Settings, json: bool) -> Result<String> {
    let slos = lantern_app::slos::declared(config);
    if json {
        return Ok(serde_json::to_string_pretty(&slos)? + "\n");
    }
    if slos.is_empty() {
        return Ok(NONE.into());
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
            format!("{}%", decimals(s.objective * 100.0, 4)),
            s.window_days,
            s.counts_from
        );
        if let Some(d) = &s.description {
            let _ = writeln!(out, "  {d}");
        }
    }
    Ok(out)
}

const NONE: &str =
    "No SLOs: declare them in lantern.toml as [[slos]] (name, service, objective, window_days).\n";

/// The SLOs at `at`, one line each (also the report table's SLO block).
pub fn status_table(answers: &[SloAnswer], at: Timestamp) -> String {
    if answers.is_empty() {
        return NONE.into();
    }
    let share = |v: Option<f64>| v.map_or("–".into(), |v| format!("{}%", decimals(v * 100.0, 3)));
    let rate = |v: Option<f64>| v.map_or("–".into(), |v| decimals(v, 2));
    let mut out = format!("SLOs at {}\n", at.to_rfc3339());
    let _ = writeln!(
        out,
        "{:<32} {:<10} {:>10} {:>11} {:>8} {:>8}  alerts",
        "SLO", "status", "SLI", "budget left", "burn 1h", "burn 6h"
    );
    for answer in answers {
        match answer {
            SloAnswer::Figures(s) => {
                let alerts: Vec<String> = s
                    .alerts
                    .iter()
                    .map(|a| format!("{} ({})", a.tier, decimals(a.long, 2)))
                    .collect();
                let _ = writeln!(
                    out,
                    "{:<32} {:<10} {:>10} {:>11} {:>8} {:>8}  {}",
                    s.slo.name,
                    s.status.as_str(),
                    share(s.sli),
                    share(s.budget_remaining),
                    rate(s.burn_rates.0[2]),
                    rate(s.burn_rates.0[4]),
                    if alerts.is_empty() {
                        "none".into()
                    } else {
                        alerts.join(", ")
                    }
                );
            }
            SloAnswer::Suppressed { name, reason, .. } => {
                let _ = writeln!(out, "{name:<32} withheld: {reason}");
            }
        }
    }
    out
}
