//! `lantern deployment show`: why one deployment counts as it does, from
//! `lantern_app::deployments` (the same explanation as the API's and the
//! dashboard's). A read of event-level detail: recorded in the audit log.

use anyhow::Result;
use clap::Subcommand;
use lantern_app::Settings;
use lantern_app::format::duration;
use lantern_engine::FailureCause;
use lantern_events::{EventId, Name};
use lantern_store::Store;
use std::fmt::Write;

#[derive(Subcommand, Debug)]
pub enum DeploymentCommand {
    /// The rule that decided what it shipped, what that was, the pull
    /// requests it took to production, whether and why it failed.
    Show {
        /// The service it deployed.
        #[arg(long)]
        service: String,
        /// The deployment's id.
        id: String,
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(
    store: &mut dyn Store,
    config: &Settings,
    command: &DeploymentCommand,
) -> Result<String> {
    let DeploymentCommand::Show { service, id, json } = command;
    let service = Name::parse(service).map_err(|m| anyhow::anyhow!("--service {m}"))?;
    let id = EventId::parse(id).map_err(|m| anyhow::anyhow!("deployment id: {m}"))?;
    // Facts must be current before a deployment is explained from them.
    crate::report_cmd::refresh_facts(store, config, true)?;
    let e = lantern_app::deployments::explain(store, config, &service, &id)?;
    crate::governance_cmd::record_cli(
        store,
        "deployment.show",
        &format!("service:{service}"),
        &format!("explained {id}"),
    )?;
    if *json {
        return Ok(serde_json::to_string_pretty(&e)? + "\n");
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Deployment {} of {}, finished {}",
        e.deployment, e.service, e.finished_at
    );
    let rule = match (e.rule, &e.since) {
        ("explicit", _) => "the source listed its changes".to_string(),
        ("graph", Some(prev)) => format!("what its sha reaches that {prev} did not"),
        ("graph", None) => "what its sha reaches".to_string(),
        _ => "baseline: the service's first deployment ships nothing measurable".to_string(),
    };
    let _ = writeln!(out, "  shipped:       {rule}");
    if e.rule != "baseline" {
        let _ = writeln!(
            out,
            "  changes:       {}{}",
            e.changes,
            match (&e.earliest_commit_at, &e.latest_commit_at) {
                (Some(a), Some(b)) => format!(", committed {a} to {b}"),
                _ => " (nothing new: earlier deployments shipped it all)".into(),
            }
        );
    }
    let prs = match e.pull_requests.is_empty() {
        true => "none".to_string(),
        false => e.pull_requests.join(", "),
    };
    let _ = writeln!(out, "  pull requests: {prs}");
    let _ = writeln!(
        out,
        "  failed:        {}",
        if e.failed { "yes" } else { "no" }
    );
    for cause in &e.failure {
        let line = match cause {
            FailureCause::Incident { id, link } => format!("incident {id} (linked {link})"),
            FailureCause::RolledBackBy { deployment } => format!("rolled back by {deployment}"),
            FailureCause::HotfixBy { deployment } => format!("followed by the hotfix {deployment}"),
        };
        let _ = writeln!(out, "    - {line}");
    }
    if e.failed {
        let recovery = e.recovery_s.map_or("not yet".to_string(), duration);
        let _ = writeln!(out, "  recovered:     {recovery}");
    }
    let _ = writeln!(
        out,
        "  rework:        {}",
        if e.rework { "yes" } else { "no" }
    );
    Ok(out)
}
