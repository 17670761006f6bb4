//! `lantern report` and `lantern demo`: load what a scope needs, compute,
//! render.

use crate::instance::Instance;
use crate::render::{self, Format};
use anyhow::{Context, Result, bail};
use clap::Args;
use lantern_app::Settings;
use lantern_app::annotations::{annotation_scope, scope_label};
use lantern_app::report::{self, Reader, ReportAnswer, ReportRequest};
use lantern_engine::{Bucket, Scope, Window, WindowError};
use lantern_events::{MICROS_PER_DAY, Name, Timestamp};
use lantern_store::Store;
use std::fmt::Write;
use std::path::Path;

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// One service.
    #[arg(long, conflicts_with = "team")]
    pub service: Option<String>,
    /// A team of the catalog (lantern.toml).
    #[arg(long)]
    pub team: Option<String>,
    /// Start of the window: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: 90 days before --to].
    #[arg(long)]
    pub from: Option<String>,
    /// End of the window, exclusive [default: the start of today, UTC].
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also the same report per day, ISO week or month, for trends.
    #[arg(long, value_parser = ["day", "week", "month"])]
    pub bucket: Option<String>,
    /// Also the same figures over the period before (`previous`) or the
    /// window 91 days earlier (`quarter`), with the change.
    #[arg(long, value_parser = ["previous", "quarter"])]
    pub compare: Option<String>,
}

/// The window `--from` and `--to` ask for, errors worded for the command
/// line.
pub fn window(from: Option<&str>, to: Option<&str>, now: Timestamp) -> Result<Window> {
    Window::from_bounds(from, to, now).map_err(|e| match e {
        WindowError::Bound { bound, message } => anyhow::anyhow!("--{bound} {message}"),
        WindowError::Empty { from, to } => {
            anyhow::anyhow!("the window is empty: --from {from} is not before --to {to}")
        }
    })
}

pub fn scope(config: &Settings, args: &ReportArgs) -> Result<Scope> {
    Ok(match (&args.service, &args.team) {
        (Some(s), _) => {
            Scope::Service(Name::parse(s).map_err(|m| anyhow::anyhow!("--service {m}"))?)
        }
        (None, Some(t)) => config.team_scope(t)?,
        (None, None) => Scope::Org,
    })
}

/// Computes and renders the report the arguments ask for.
pub fn run(
    store: &mut dyn Store,
    config: &Settings,
    args: &ReportArgs,
    at: Option<Timestamp>,
) -> Result<String> {
    let scope = scope(config, args)?;
    let window = window(
        args.from.as_deref(),
        args.to.as_deref(),
        at.unwrap_or_else(Timestamp::now),
    )?;
    let bucket = args
        .bucket
        .as_deref()
        .map(Bucket::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let compare = args
        .compare
        .as_deref()
        .map(lantern_app::compare::CompareMode::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let request = ReportRequest {
        scope: scope.clone(),
        window,
        bucket,
        compare,
    };
    request
        .trend()
        .with_context(|| format!("--bucket {}", args.bucket.as_deref().unwrap_or_default()))?;
    refresh_facts(store, config, false)?;
    let document = match report::report(store, config, Reader::Operator, &request)? {
        ReportAnswer::Figures(document) => document,
        // The operator sees every figure; should that ever change, say so.
        ReportAnswer::Suppressed(s) => bail!("the figures are withheld: {}", s.reason),
    };
    // Rule 4: exports for programs (JSON, CSV) are recorded.
    if matches!(args.format, Format::Json | Format::Csv) {
        crate::governance_cmd::record_cli(
            store,
            "report.export",
            &scope_label(&annotation_scope(&scope)),
            &format!(
                "{:?} {} to {}",
                args.format,
                window.from.to_rfc3339(),
                window.to.to_rfc3339()
            ),
        )?;
    }
    Ok(render::render(args.format, &document))
}

/// Re-derives the facts kept from history when events changed since,
/// with a progress bar: on a large history this takes a while.
pub fn refresh_facts(store: &mut dyn Store, config: &Settings, quiet: bool) -> Result<()> {
    if store.facts_are_fresh(&config.engine)? {
        return Ok(());
    }
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(0)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} deriving shipped changes {bar:30} {pos}/{len} services",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    store.refresh_facts(&config.engine, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    Ok(())
}

/// `lantern demo`: the demo organisation, its report, and its dashboard.
#[derive(Args)]
pub struct DemoArgs {
    /// The same seed always gives the same organisation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How many days of history.
    #[arg(long, default_value_t = 120)]
    pub days: u32,
    /// The last day of history (YYYY-MM-DD) [default: today].
    #[arg(long)]
    pub until: Option<String>,
    /// Where the dashboard listens (port 0: a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Only write the demo and print its report; do not start the dashboard.
    #[arg(long)]
    pub no_serve: bool,
    /// Start the dashboard without opening a browser.
    #[arg(long)]
    pub no_open: bool,
}

/// Writes the demo organisation into `db` and renders what a newcomer
/// should see first.
pub fn demo(db: &Path, args: &DemoArgs) -> Result<String> {
    let until = match &args.until {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .with_context(|| format!("--until `{d}` is not a date (YYYY-MM-DD)"))?,
        None => Timestamp::now().date(),
    };
    if args.days == 0 || args.days > 3660 {
        bail!("--days must be between 1 and 3660");
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot replace {}", Path::new(&p).display()));
            }
        }
    }
    let mut instance = Instance::open_file(db)?;
    let written = crate::demo::write_into(&mut instance, args.seed, until, args.days)?;
    let catalog_path = db.with_extension("toml");
    std::fs::write(&catalog_path, crate::demo::catalog_toml())
        .with_context(|| format!("cannot write {}", catalog_path.display()))?;
    let config = Settings::parse(&crate::demo::catalog_toml(), Some(&catalog_path))?;

    let to = Timestamp::from_date(until);
    let window =
        Window::new(to.plus_micros(-90 * MICROS_PER_DAY), to).map_err(anyhow::Error::msg)?;
    let org = report::figures(instance.store.as_mut(), &config, &Scope::Org, window)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Demo organisation (seed {}): {} events, {} days, in {}\n",
        args.seed,
        written,
        args.days,
        db.display()
    );
    out.push_str(&render::table(&org, None));
    let _ = writeln!(
        out,
        "\nTeams, in alphabetical order. Bands describe each team's delivery system;\nthis is not a ranking.\n"
    );
    let row = |out: &mut String, cells: [&str; 6]| {
        let [a, b, c, d, e, f] = cells;
        let _ = writeln!(out, "{a:<13} {b:>9} {c:>9} {d:>11} {e:>9} {f:>8}");
    };
    let band = |r: &lantern_engine::Report, metric: &str| {
        lantern_app::rating::rating(r, metric).short_label()
    };
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    row(
        &mut out,
        ["team", "deploys", "per day", "lead time", "CFR", "recovery"],
    );
    for team in crate::demo::team_names() {
        let scope = config.team_scope(team)?;
        let r = report::figures(instance.store.as_mut(), &config, &scope, window)?;
        let df = &r.deployment_frequency;
        let lead = or_dash(r.lead_time.stats.median_s.map(render::duration));
        let recovery = or_dash(
            r.failed_deployment_recovery_time
                .stats
                .median_s
                .map(render::duration),
        );
        let cfr = or_dash(
            r.change_failure_rate
                .rate
                .map(|x| format!("{:.0} %", x * 100.0)),
        );
        let (count, per_day) = (df.count.to_string(), format!("{:.2}", df.per_day));
        row(&mut out, [team, &count, &per_day, &lead, &cfr, &recovery]);
        row(
            &mut out,
            [
                "",
                "",
                band(&r, "deployment_frequency"),
                band(&r, "lead_time"),
                band(&r, "change_failure_rate"),
                band(&r, "failed_deployment_recovery_time"),
            ],
        );
    }
    let db_arg = db.display();
    let _ = writeln!(out, "\nExplore it:");
    let _ = writeln!(
        out,
        "  lantern --db {db_arg} --config {} report --team payments",
        catalog_path.display()
    );
    let _ = writeln!(
        out,
        "  lantern --db {db_arg} report --service ledger-monolith --bucket month"
    );
    let _ = writeln!(out, "  lantern --db {db_arg} report --format json");
    let _ = writeln!(
        out,
        "  lantern --db {db_arg} --config {} flow --team payments",
        catalog_path.display()
    );
    let _ = writeln!(out, "  lantern explain change_failure_rate");
    let _ = writeln!(
        out,
        "  lantern --db {db_arg} token create --role org_viewer \\\n      --purpose \"exploring the demo\""
    );
    let _ = writeln!(
        out,
        "  lantern --db {db_arg} --config {} serve",
        catalog_path.display()
    );
    let _ = writeln!(
        out,
        "  (the API takes that token: `Authorization: Bearer <token>`)"
    );
    Ok(out)
}
