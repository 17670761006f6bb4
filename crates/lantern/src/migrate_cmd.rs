//! `lantern migrate --from sqlite:PATH --to postgres://…`: moves a whole
//! installation into PostgreSQL, then proves it by computing the same
//! reports on both (the organisation, every team and every service, over
//! the last 90 days and over all of the history) and comparing them, and
//! by verifying the audit chain on the target.

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lantern_app::Settings;
use lantern_engine::{Scope, Window};
use lantern_events::{MICROS_PER_DAY, Pseudonymiser, Timestamp};
use lantern_store::{Location, PostgresStore, SqliteStore, Store};
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct MigrateArgs {
    /// The installation to move: sqlite:PATH (or a path).
    #[arg(long, value_name = "sqlite:PATH")]
    pub from: String,
    /// The new, empty PostgreSQL database: postgres://user@host/db.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct Migrated {
    pub tables: Vec<(String, u64)>,
    /// Reports computed on both stores and found equal.
    pub reports_compared: usize,
    pub audit_entries_verified: u64,
    /// The key every replica must be given (`--key-file`).
    pub key_file: PathBuf,
}

pub fn migrate(args: &MigrateArgs, config: &Settings) -> Result<Migrated> {
    let Location::Sqlite(path) = Location::parse(&args.from) else {
        bail!(
            "--from must be a SQLite file (sqlite:PATH), not {}",
            args.from
        );
    };
    let Location::Postgres(url) = Location::parse(&args.to) else {
        bail!("--to must be a PostgreSQL address (postgres://user@host/db)");
    };
    if !path.exists() {
        bail!("no database at {}", path.display());
    }
    let key_file = Pseudonymiser::key_path_for(&path);
    if !key_file.exists() {
        bail!(
            "no pseudonymisation key at {}: the pseudonyms in {} cannot be carried on without it",
            key_file.display(),
            path.display()
        );
    }
    let mut from = SqliteStore::open(&path)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    let mut to = PostgresStore::connect(&url)?;

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")?);
    let tables = lantern_store::copy_sqlite_to_postgres(&from, &mut to, &|table, n| {
        bar.set_message(format!("copying {table}: {n} rows"));
        bar.tick();
    })?;
    bar.set_message("comparing reports");
    let reports_compared = compare_reports(&mut from, &mut to, config)?;
    let audit = lantern_app::audit::verify_audit(&to)?;
    bar.finish_and_clear();
    if !audit.intact {
        bail!(
            "the audit chain on PostgreSQL breaks at entry {}: {}",
            audit.broken_at.unwrap_or_default(),
            audit.reason.unwrap_or_default()
        );
    }
    Ok(Migrated {
        tables: tables
            .into_iter()
            .map(|(t, n)| (t.to_string(), n))
            .collect(),
        reports_compared,
        audit_entries_verified: audit.entries,
        key_file,
    })
}

/// The organisation, every team and every service, over the last 90 days
/// and over everything stored: equal on both stores, or an error naming
/// the first that differs.
fn compare_reports(
    from: &mut SqliteStore,
    to: &mut PostgresStore,
    config: &Settings,
) -> Result<usize> {
    let now = Timestamp::now();
    let windows = [
        Window::new(now.plus_micros(-90 * MICROS_PER_DAY), now).map_err(anyhow::Error::msg)?,
        Window::new(Timestamp::from_micros(0), now.plus_micros(MICROS_PER_DAY))
            .map_err(anyhow::Error::msg)?,
    ];
    let mut scopes = vec![Scope::Org];
    for team in &config.teams {
        scopes.push(config.team_scope(team.name.as_str())?);
    }
    for service in from.services()? {
        scopes.push(Scope::Service(service));
    }
    let mut compared = 0;
    for window in windows {
        for scope in &scopes {
            let report = |store: &mut dyn Store| -> Result<serde_json::Value> {
                let report = lantern_app::report::figures(store, config, scope, window)?;
                Ok(serde_json::to_value(report)?)
            };
            let (before, after) = (report(from)?, report(to)?);
            if before != after {
                bail!(
                    "the {scope:?} report from {} to {} differs after the move:\nSQLite:     {before}\nPostgreSQL: {after}",
                    window.from,
                    window.to
                );
            }
            compared += 1;
        }
    }
    Ok(compared)
}

pub fn describe(m: &Migrated) -> String {
    let mut out = String::from("Moved into PostgreSQL:\n");
    for (table, n) in &m.tables {
        out.push_str(&format!("  {table:<24} {n:>10} rows\n"));
    }
    out.push_str(&format!(
        "Verified: {} reports equal on both stores; audit chain intact ({} entries).\n\
         Start every replica with --key-file {} (the same key on each: pseudonyms depend on it).\n",
        m.reports_compared,
        m.audit_entries_verified,
        m.key_file.display()
    ));
    out
}
