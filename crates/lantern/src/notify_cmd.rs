//! `lantern notify`: the `[[notify]]` targets and their messages — list
//! them, check a target's wiring, send a team's digest now, and send what
//! is due (for installations where no server runs the schedule).

use anyhow::{Result, anyhow};
use clap::Subcommand;
use lantern_app::Settings;
use lantern_app::notify::{self, Posted};
use lantern_events::{MICROS_PER_DAY, Timestamp};
use lantern_store::Store;
use std::fmt::Write;

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// The targets, and each one's latest messages with how they went.
    List {
        /// Only this target.
        #[arg(long)]
        target: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send a short test message to a target, now.
    Test {
        #[arg(long)]
        target: String,
    },
    /// Send a target's team digest of one week now (whatever was sent
    /// before): the seven UTC days before `--week-ending` [default: today].
    Digest {
        #[arg(long)]
        target: String,
        /// The day after the week's last (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        week_ending: Option<String>,
    },
    /// Queue what is due now (digests, burn-rate alerts) and post every
    /// message due, retries included; `lantern serve` does this each
    /// minute on its own.
    Send,
}

pub fn run(store: &mut dyn Store, settings: &Settings, command: &NotifyCommand) -> Result<String> {
    let now = Timestamp::now();
    let actor = "cli";
    let mut out = String::new();
    match command {
        NotifyCommand::List { target, json } => {
            return list(store, settings, target.as_deref(), *json);
        }
        NotifyCommand::Test { target } => {
            let target = notify::target(settings, target)?;
            let message =
                notify::compose::test_message(settings, &target.team, target.name.as_str());
            let key = format!("test:{}", now.micros());
            notify::queue(store, target, key, &message, now, actor)?;
        }
        NotifyCommand::Digest {
            target,
            week_ending,
        } => {
            let target = notify::target(settings, target)?;
            let to = match week_ending {
                Some(text) => {
                    Timestamp::parse_bound(text).map_err(|m| anyhow!("--week-ending: {m}"))?
                }
                None => {
                    Timestamp::from_micros(now.micros().div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY)
                }
            };
            if to.micros().rem_euclid(MICROS_PER_DAY) != 0 {
                return Err(anyhow!(
                    "--week-ending: give a day (YYYY-MM-DD), the week ends at its start"
                ));
            }
            let week = lantern_engine::Window {
                from: to.plus_micros(-7 * MICROS_PER_DAY),
                to,
            };
            crate::report_cmd::refresh_facts(store, settings, true)?;
            let message = notify::compose::digest(store, settings, &target.team, week, now)?;
            let key = format!(
                "digest:{}:sent-by-hand:{}",
                lantern_app::format::day(to),
                now.micros()
            );
            notify::queue(store, target, key, &message, now, actor)?;
        }
        NotifyCommand::Send => {
            crate::report_cmd::refresh_facts(store, settings, true)?;
            let planned = notify::plan(store, settings, now, actor)?;
            let _ = writeln!(
                out,
                "queued {} and {}",
                lantern_app::format::plural(planned.digests, "digest", "digests"),
                lantern_app::format::plural(planned.alerts, "alert", "alerts")
            );
        }
    }
    let run = send_due(store, settings, now)?;
    let _ = writeln!(
        out,
        "sent: {} delivered, {} to be retried, {} given up on",
        run.delivered, run.retrying, run.given_up
    );
    if run.retrying + run.given_up > 0 {
        let _ = writeln!(out, "`lantern notify list` shows what went wrong");
    }
    Ok(out)
}

/// Posts every message due at `now`, one at a time, and records how each went.
fn send_due(
    store: &mut dyn Store,
    settings: &Settings,
    now: Timestamp,
) -> Result<lantern_server::notify::SendRun> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = runtime.block_on(async { lantern_server::notify::client() });
    let mut run = lantern_server::notify::SendRun::default();
    for item in notify::due(store, settings, now, 1000)? {
        let posted = match (&item.target, &item.body) {
            (Some(target), Ok(body)) => runtime.block_on(lantern_server::notify::post(
                &client,
                target.url.expose(),
                body,
            )),
            (_, Err(why)) => Posted::Refused(why.clone()),
            (None, Ok(_)) => Posted::Refused("the target is no longer in lantern.toml".into()),
        };
        let attempt = notify::attempt(&item.notification, posted, now);
        run.count(&attempt);
        notify::attempted(store, item.notification.id, &attempt)?;
    }
    Ok(run)
}

fn list(store: &dyn Store, settings: &Settings, only: Option<&str>, json: bool) -> Result<String> {
    if let Some(name) = only {
        notify::target(settings, name)?;
    }
    let targets: Vec<&notify::Target> = settings
        .notify
        .iter()
        .filter(|t| only.is_none_or(|n| t.name.as_str() == n))
        .collect();
    let messages = store.notifications(only, 50)?;
    if json {
        let doc = serde_json::json!({
            "targets": targets.iter().map(|t| target_json(t)).collect::<Vec<_>>(),
            "messages": messages.iter().map(message_json).collect::<Vec<_>>(),
        });
        return Ok(format!("{}\n", serde_json::to_string_pretty(&doc)?));
    }
    let mut out = String::new();
    if targets.is_empty() {
        out.push_str("No [[notify]] targets in lantern.toml.\n");
    }
    for t in &targets {
        let _ = writeln!(
            out,
            "{} ({}, {}) for team {}: {} — digest {}",
            t.name,
            t.format.as_str(),
            t.url.redacted(),
            t.team,
            t.sends_text(),
            t.digest_time()
        );
    }
    if !messages.is_empty() {
        out.push('\n');
    }
    for m in &messages {
        let _ = writeln!(
            out,
            "#{} {} {} {} to {}: {}{}{}",
            m.id,
            m.created_at.to_rfc3339(),
            m.kind,
            m.team,
            m.target,
            m.state.as_str(),
            match m.attempts {
                0 | 1 => String::new(),
                n => format!(" after {n} attempts"),
            },
            m.last_error
                .as_deref()
                .filter(|_| m.state != lantern_store::Delivery::Delivered)
                .map(|e| format!(" — {e}"))
                .unwrap_or_default()
        );
    }
    Ok(out)
}

pub fn target_json(t: &notify::Target) -> serde_json::Value {
    serde_json::json!({
        "name": t.name.as_str(),
        "format": t.format.as_str(),
        "url": t.url.redacted(),
        "team": t.team.as_str(),
        "send": t.send.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "digest": {"day": notify::target::WEEKDAYS[usize::from(t.digest_day)], "hour_utc": t.digest_hour},
    })
}

pub fn message_json(m: &lantern_store::Notification) -> serde_json::Value {
    serde_json::json!({
        "id": m.id,
        "target": m.target,
        "kind": m.kind,
        "team": m.team.as_str(),
        "created_at": m.created_at.to_rfc3339(),
        "state": m.state.as_str(),
        "attempts": m.attempts,
        "last_at": m.last_at.map(|t| t.to_rfc3339()),
        "next_at": (m.state == lantern_store::Delivery::Pending).then(|| m.next_at.to_rfc3339()),
        "last_error": m.last_error,
    })
}
