//! The command line's side of governance.md: tokens and the access
//! review (rule 3), the audit log (rule 4), annotations and disputes
//! (rule 8). Whoever runs these has the database file, so they act as the
//! local administrator — and every change is still audit-logged, as `cli`.

use crate::instance::Instance;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use lantern_app::Settings;
use lantern_app::annotations::{self as context, AnnotationJson};
use lantern_app::audit::{AuditJson, GrantJson, describe, verify_audit};
use lantern_engine::Window;
use lantern_events::{AnnotationScope, EventId, Name, Timestamp};
use lantern_governance::{AuditRecord, IssuedToken, NewGrant, Role};
use lantern_store::Store;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once and kept only as a hash.
    Create {
        /// admin, org_viewer, team_member, reviewer, ingest or gate.
        #[arg(long)]
        role: String,
        /// A team the token is for (team_member, reviewer); repeat for more.
        #[arg(long = "team")]
        teams: Vec<String>,
        /// The source an ingest token writes (e.g. github, events).
        #[arg(long)]
        source: Option<String>,
        /// Why this access exists, in a sentence (required).
        #[arg(long)]
        purpose: String,
        /// Days until it expires [default: 90; reviewers 14].
        #[arg(long)]
        days: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Every token, with its status.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token (its sessions end too).
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum AccessCommand {
    /// Every grant with its purpose, creation, last use and expiry; flags
    /// grants unused for 30 days.
    Review {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// The audit log, oldest first.
    List {
        /// Only entries from this time (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Check the hash chain; exits non-zero and names the first bad entry
    /// when any entry was edited, removed or reordered.
    Verify,
}

/// A scope on the command line.
#[derive(Args, Debug)]
pub struct ScopeArgs {
    #[arg(long, conflicts_with_all = ["team", "org"])]
    service: Option<String>,
    #[arg(long, conflicts_with = "org")]
    team: Option<String>,
    /// The whole organisation.
    #[arg(long)]
    org: bool,
}

#[derive(Subcommand, Debug)]
pub enum AnnotationCommand {
    /// Add context shown beside the figures it touches.
    Add {
        /// freeze, migration, dependency_outage, reorg or note.
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// YYYY-MM-DD or RFC 3339.
        #[arg(long)]
        from: String,
        /// Absent: a single point in time.
        #[arg(long)]
        to: Option<String>,
        /// What happened, in a sentence.
        #[arg(long)]
        title: String,
    },
    /// Annotations and disputes touching a window (default: 90 days to now).
    List {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum DisputeCommand {
    /// Challenge a metric reading for a scope and window.
    Open {
        /// The metric (e.g. lead_time, cfr).
        #[arg(long)]
        metric: String,
        #[command(flatten)]
        scope: ScopeArgs,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// What the figure misses, in a sentence.
        #[arg(long)]
        context: String,
    },
    /// Every dispute, open and resolved.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Resolve an open dispute with a note.
    Resolve {
        /// As listed (`dispute-7`) or its number.
        id: String,
        #[arg(long)]
        note: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Purge what is past its horizon now (`lantern serve` does this
    /// hourly): raw events become anonymous measurements, old dead
    /// letters and audit entries go. Idempotent.
    Run {
        #[arg(long)]
        json: bool,
    },
}

pub fn retention(
    instance: &mut Instance,
    config: &Settings,
    command: &RetentionCommand,
) -> Result<()> {
    let RetentionCommand::Run { json } = command;
    note_configuration(instance.store.as_mut(), config, "cli")?;
    let now = Timestamp::now();
    let horizons = config.governance.retention.horizons(now);
    let record = cli_record("retention.run", "-", "");
    let run = instance
        .store
        .apply_retention(&config.engine, &horizons, record)
        .context("applying retention")?;
    if *json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else if run.purged_anything() {
        println!(
            "Before {}: {} changes, {} pull requests, {} deployments and {} incidents became anonymous measurements; {} dead letters, {} audit entries and {} measurements past their own horizons were removed.",
            run.raw_horizon,
            run.changes,
            run.pull_requests,
            run.deployments,
            run.incidents,
            run.dead_letters,
            run.audit_entries,
            run.measurements
        );
    } else {
        println!(
            "Nothing is past its horizon (raw events before {}).",
            run.raw_horizon
        );
    }
    Ok(())
}

/// Audit-logs the configuration when it changed since it was last
/// recorded (rule 4), by whoever runs with it (`cli` or `lantern serve`).
pub fn note_configuration(store: &mut dyn Store, config: &Settings, actor: &str) -> Result<()> {
    let effective = format!(
        "{:?}",
        (
            &config.teams,
            &config.engine,
            &config.git_hotfix,
            &config.sources,
            &config.governance
        )
    );
    let fingerprint = lantern_governance::audit::fingerprint(&effective);
    let g = &config.governance;
    let r = &g.retention;
    let summary = format!(
        "configuration {}: {} teams, min_group_size {}, review_sample_rate {}, retention raw {} d, dead letters {} d, audit {} d, measurements {} d, {} receivers",
        &fingerprint[..12],
        config.teams.len(),
        g.min_group_size,
        g.review_sampling.rate,
        r.raw_days,
        r.dead_letter_days,
        r.audit_days,
        r.aggregate_days,
        config.sources.len()
    );
    let record = AuditRecord {
        actor: actor.into(),
        ..cli_record("configuration.change", "-", &summary)
    };
    store.note_configuration(&fingerprint, record)?;
    Ok(())
}

/// Records an action of the command line in the audit log (rule 4).
pub fn record_cli(store: &mut dyn Store, action: &str, scope: &str, outcome: &str) -> Result<()> {
    store.audit(cli_record(action, scope, outcome))?;
    Ok(())
}

/// An audit record of the operator at the host (the CLI).
pub fn cli_record(action: &str, scope: &str, outcome: &str) -> AuditRecord {
    AuditRecord {
        at: Timestamp::now(),
        actor: "cli".into(),
        purpose: "local administration on the Lantern host".into(),
        action: action.into(),
        scope: scope.into(),
        outcome: outcome.into(),
    }
}

impl ScopeArgs {
    fn parse(&self, config: &Settings) -> Result<AnnotationScope> {
        let value = match (&self.service, &self.team, self.org) {
            (Some(s), None, false) => serde_json::json!({ "service": s }),
            (None, Some(t), false) => serde_json::json!({ "team": t }),
            (None, None, true) => serde_json::json!({ "org": true }),
            _ => bail!("give one of --service NAME, --team NAME or --org"),
        };
        context::parse_scope(&value, &config.teams).map_err(anyhow::Error::from)
    }
}

fn time(field: &str, v: &str) -> Result<Timestamp> {
    Timestamp::parse_bound(v).map_err(|m| anyhow::anyhow!("--{field}: {m}"))
}

/// Issues a token and stores its grant with the audit entry saying so.
pub fn create_token(
    store: &mut dyn Store,
    config: &Settings,
    new: NewGrant,
    now: Timestamp,
) -> Result<IssuedToken> {
    let known: Vec<Name> = config.teams.iter().map(|t| t.name.clone()).collect();
    let mut random = [0u8; 38];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
    let issued = new.issue(now, random, &known)?;
    let record = cli_record(
        "token.create",
        &format!("grant:{}", issued.grant.id),
        &describe(&issued.grant),
    );
    store.add_grant(&issued.grant, &issued.secret_hash, record)?;
    Ok(issued)
}

pub fn token(instance: &mut Instance, config: &Settings, command: &TokenCommand) -> Result<()> {
    let store = instance.store.as_mut();
    let now = Timestamp::now();
    match command {
        TokenCommand::Create {
            role,
            teams,
            source,
            purpose,
            days,
            json,
        } => {
            let teams = teams
                .iter()
                .map(|t| Name::parse(t).map_err(|m| anyhow::anyhow!("--team: {m}")))
                .collect::<Result<Vec<_>>>()?;
            let new = NewGrant {
                role: Role::parse(role)?,
                teams,
                source: source.clone(),
                purpose: purpose.clone(),
                days: *days,
            };
            let issued = create_token(store, config, new, now)?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "token": issued.token,
                        "grant": GrantJson::new(&issued.grant, now),
                    }))?
                );
            } else {
                println!("{}", issued.token);
                eprintln!(
                    "Token {} ({}) created; it is shown only now, so keep it somewhere safe.",
                    issued.grant.id,
                    describe(&issued.grant)
                );
            }
        }
        TokenCommand::List { json } => print_grants(store, now, *json)?,
        TokenCommand::Revoke { id } => {
            if !store.revoke_grant(
                id,
                cli_record("token.revoke", &format!("grant:{id}"), "revoked"),
            )? {
                bail!("no active token `{id}` (`lantern token list` shows them)");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn print_grants(store: &dyn Store, now: Timestamp, json: bool) -> Result<()> {
    let grants: Vec<GrantJson> = store
        .grants()?
        .iter()
        .map(|g| GrantJson::new(g, now))
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&grants)?);
        return Ok(());
    }
    if grants.is_empty() {
        println!("no tokens; `lantern token create --role admin --purpose \"…\"` makes one");
    }
    for g in &grants {
        let scope = match (&g.source, g.teams.is_empty()) {
            (Some(s), _) => format!(" source {s}"),
            (None, false) => format!(" teams {}", g.teams.join(",")),
            (None, true) => String::new(),
        };
        let day = |t: &str| t.get(..10).unwrap_or(t).to_string();
        println!(
            "{}  {:<11}{}  {}  created {}  last used {}  expires {}{}\n    purpose: {}",
            g.id,
            g.role,
            scope,
            g.status,
            day(&g.created_at),
            g.last_used_at
                .as_deref()
                .map(day)
                .unwrap_or_else(|| "never".into()),
            day(&g.expires_at),
            if g.unused_30_days {
                "  ! unused for 30 days: revoke it?"
            } else {
                ""
            },
            g.purpose
        );
    }
    Ok(())
}

pub fn access(instance: &mut Instance, command: &AccessCommand) -> Result<()> {
    let AccessCommand::Review { json } = command;
    let store = instance.store.as_mut();
    store.audit(cli_record("access.review", "-", "listed"))?;
    print_grants(store, Timestamp::now(), *json)
}

/// Returns false when the chain is broken.
pub fn audit(instance: &mut Instance, command: &AuditCommand) -> Result<bool> {
    let store = instance.store.as_ref();
    match command {
        AuditCommand::List { since, json } => {
            let since = since.as_deref().map(|s| time("since", s)).transpose()?;
            let entries = store.audit_entries(since)?;
            if *json {
                let list: Vec<AuditJson> = entries.iter().map(Into::into).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for e in &entries {
                    let r = &e.record;
                    println!(
                        "{:>6}  {}  {}  {}  {}  {}  ({})",
                        e.seq,
                        r.at.to_rfc3339(),
                        r.actor,
                        r.action,
                        r.scope,
                        r.outcome,
                        r.purpose
                    );
                }
            }
            Ok(true)
        }
        AuditCommand::Verify => {
            let v = verify_audit(store)?;
            if v.intact {
                println!("the audit log is intact: {} entries chained", v.entries);
            } else {
                println!(
                    "the audit log is broken at entry {}: {}",
                    v.broken_at.unwrap_or_default(),
                    v.reason.unwrap_or_default()
                );
            }
            Ok(v.intact)
        }
    }
}

pub fn annotation(
    instance: &mut Instance,
    config: &Settings,
    command: &AnnotationCommand,
) -> Result<()> {
    let store = instance.store.as_mut();
    match command {
        AnnotationCommand::Add {
            kind,
            scope,
            from,
            to,
            title,
        } => {
            let scope = scope.parse(config)?;
            let mut random = [0u8; 8];
            getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
            let id = format!("a-{}", u64::from_be_bytes(random));
            let label = context::scope_label(&scope);
            let a = context::new_annotation(
                EventId::parse(&id).map_err(anyhow::Error::msg)?,
                kind,
                scope,
                time("from", from)?,
                to.as_deref().map(|t| time("to", t)).transpose()?,
                title,
            )?;
            store.add_annotations(
                vec![a],
                cli_record("annotation.create", &label, &format!("created {id}")),
            )?;
            println!("added annotation {id}");
        }
        AnnotationCommand::List { from, to, json } => {
            let window = Window::from_bounds(from.as_deref(), to.as_deref(), Timestamp::now())
                .map_err(anyhow::Error::msg)?;
            let list = context::for_report(
                &store.annotations()?,
                &store.disputes()?,
                &lantern_engine::Scope::Org,
                &window,
                &config.teams,
            );
            print_annotations(&list, *json)?;
        }
    }
    Ok(())
}

fn print_annotations(list: &[AnnotationJson], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(list)?);
        return Ok(());
    }
    for a in list {
        let until =
            a.to.as_deref()
                .map(|t| format!(" to {t}"))
                .unwrap_or_default();
        let status = match (&a.metric, a.status) {
            (Some(m), Some(s)) => format!(" [{s} dispute on {m}]"),
            _ => String::new(),
        };
        println!(
            "{}  {}  {}  {}{}{}: {}",
            a.id, a.kind, a.scope, a.from, until, status, a.title
        );
        if let Some(r) = &a.resolution {
            println!("    resolution: {r}");
        }
    }
    Ok(())
}

pub fn dispute(instance: &mut Instance, config: &Settings, command: &DisputeCommand) -> Result<()> {
    let store = instance.store.as_mut();
    match command {
        DisputeCommand::Open {
            metric,
            scope,
            from,
            to,
            context: text,
        } => {
            let scope = scope.parse(config)?;
            let label = context::scope_label(&scope);
            let window =
                Window::new(time("from", from)?, time("to", to)?).map_err(anyhow::Error::msg)?;
            let d = context::new_dispute(metric, scope, window, text, Timestamp::now())?;
            let id = store.add_dispute(
                &d,
                cli_record("dispute.open", &label, &format!("metric {}", d.metric)),
            )?;
            println!("opened dispute {id}");
        }
        DisputeCommand::List { json } => {
            let list: Vec<AnnotationJson> = store.disputes()?.iter().map(Into::into).collect();
            print_annotations(&list, *json)?;
        }
        DisputeCommand::Resolve { id, note } => {
            let id = &context::dispute_number(id)?;
            let note = note.trim();
            if note.is_empty() || note.chars().count() > 500 || note.chars().any(char::is_control) {
                bail!("--note: a sentence of 1 to 500 characters on one line");
            }
            let done = store
                .resolve_dispute(
                    *id,
                    note,
                    Timestamp::now(),
                    cli_record("dispute.resolve", &format!("dispute:{id}"), "resolved"),
                )
                .context("resolving the dispute")?;
            if !done {
                bail!("no open dispute {id} (`lantern dispute list` shows them)");
            }
            println!("resolved dispute {id}");
        }
    }
    Ok(())
}
