//! `lantern flow`: flow.md's figures for a team, a service, or every team.

use crate::render::Format;
use anyhow::Result;
use clap::Args;
use lantern_app::Settings;
use lantern_app::export::scope_name;
use lantern_app::flow::{FlowAnswer, FlowBucket, FlowDocument, FlowRequest, FlowResult};
use lantern_app::report::Reader;
use lantern_engine::flow::FlowReport;
use lantern_engine::{Bucket, Scope};
use lantern_events::{Name, Timestamp};
use lantern_store::Store;
use std::fmt::Write;

#[derive(Args, Debug, Clone)]
pub struct FlowArgs {
    /// A team of the catalog [default: every team].
    #[arg(long, conflicts_with = "service")]
    pub team: Option<String>,
    /// One service: the work items that name it.
    #[arg(long)]
    pub service: Option<String>,
    /// Start of the window: YYYY-MM-DD (midnight UTC) or RFC 3339 [default: 90 days before --to].
    #[arg(long)]
    pub from: Option<String>,
    /// End of the window, exclusive [default: the start of today, UTC].
    #[arg(long)]
    pub to: Option<String>,
    /// Also the same figures per day, ISO week or month.
    #[arg(long, value_parser = ["day", "week", "month"])]
    pub bucket: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(store: &mut dyn Store, config: &Settings, args: &FlowArgs) -> Result<String> {
    let scope = match (&args.team, &args.service) {
        (Some(t), _) => Some(config.team_scope(t)?),
        (None, Some(s)) => Some(Scope::Service(
            Name::parse(s).map_err(|m| anyhow::anyhow!("--service {m}"))?,
        )),
        (None, None) => None,
    };
    let window =
        crate::report_cmd::window(args.from.as_deref(), args.to.as_deref(), Timestamp::now())?;
    let bucket = args
        .bucket
        .as_deref()
        .map(Bucket::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let request = FlowRequest {
        scope,
        window,
        bucket,
    };
    let result = lantern_app::flow::flow(store, config, Reader::Operator, &request)?;
    if matches!(args.format, Format::Json | Format::Csv) {
        crate::governance_cmd::record_cli(
            store,
            "flow.export",
            &args
                .team
                .as_ref()
                .map(|t| format!("team:{t}"))
                .or_else(|| args.service.as_ref().map(|s| format!("service:{s}")))
                .unwrap_or_else(|| "teams".into()),
            &format!(
                "{:?} {} to {}",
                args.format,
                window.from.to_rfc3339(),
                window.to.to_rfc3339()
            ),
        )?;
    }
    Ok(match args.format {
        Format::Json => {
            let mut out = serde_json::to_string_pretty(&result)?;
            out.push('\n');
            out
        }
        Format::Csv => lantern_app::export::flow_csv(&result),
        Format::Table | Format::Markdown => {
            let markdown = matches!(args.format, Format::Markdown);
            match &result {
                FlowResult::One(a) => text(a, markdown),
                FlowResult::Teams(t) if t.teams.is_empty() => {
                    "No teams in the catalog: add [[teams]] to lantern.toml, or ask for --service.\n"
                        .into()
                }
                FlowResult::Teams(t) => t
                    .teams
                    .iter()
                    .map(|a| text(a, markdown))
                    .collect::<Vec<_>>()
                    .join("\n"),
            }
        }
    })
}

fn text(answer: &FlowAnswer, markdown: bool) -> String {
    let doc: &FlowDocument = match answer {
        FlowAnswer::Figures(d) => d,
        FlowAnswer::Suppressed(s) => {
            return format!("{}: withheld ({})\n", scope_name(&s.scope), s.reason);
        }
    };
    let window = lantern_engine::Window {
        from: Timestamp::parse_rfc3339(&doc.window.from).unwrap_or(Timestamp::from_micros(0)),
        to: Timestamp::parse_rfc3339(&doc.window.to).unwrap_or(Timestamp::from_micros(0)),
    };
    let mut out = String::new();
    let heading = format!(
        "Flow · {} · {}",
        scope_name(&doc.scope),
        lantern_app::format::window(&window)
    );
    let lines = lines(&doc.flow);
    if markdown {
        let _ = writeln!(out, "## {heading}\n\n| Flow metric | Value |\n|---|---|");
        for (title, value) in &lines {
            let _ = writeln!(out, "| {title} | {value} |");
        }
    } else {
        let _ = writeln!(out, "{heading}");
        for (title, value) in &lines {
            let _ = writeln!(out, "  {title:<18} {value}");
        }
    }
    if let Some(buckets) = &doc.buckets {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<12} {:>6} {:>12} {:>11} {:>9}",
            "from", "done", "flow time", "efficiency", "load"
        );
        for b in buckets {
            match b {
                FlowBucket::Figures { window, flow } => {
                    let _ = writeln!(
                        out,
                        "{:<12} {:>6} {:>12} {:>11} {:>9}",
                        window.from.get(..10).unwrap_or(&window.from),
                        flow.flow_velocity.count,
                        flow.flow_time
                            .median_s
                            .map(lantern_app::format::duration)
                            .unwrap_or_else(|| "–".into()),
                        percent(flow.flow_efficiency.ratio),
                        lantern_app::format::decimals(flow.flow_load.mean, 1),
                    );
                }
                FlowBucket::Suppressed(s) => {
                    let _ = writeln!(
                        out,
                        "{:<12} withheld",
                        s.window.from.get(..10).unwrap_or("")
                    );
                }
            }
        }
    }
    out
}

fn percent(share: Option<f64>) -> String {
    share
        .map(|s| format!("{} %", lantern_app::format::decimals(s * 100.0, 1)))
        .unwrap_or_else(|| "–".into())
}

/// The five figures as (title, words).
fn lines(f: &FlowReport) -> Vec<(&'static str, String)> {
    use lantern_app::format::{decimals, duration, plural};
    let v = &f.flow_velocity;
    let k = &v.by_kind;
    let t = &f.flow_time;
    vec![
        (
            "Flow velocity",
            format!(
                "{} done, {} a week ({}, {}, {}, {} debt); {} closed unstarted",
                plural(v.count, "item", "items"),
                decimals(v.per_week, 2),
                plural(k.feature, "feature", "features"),
                plural(k.defect, "defect", "defects"),
                plural(k.risk, "risk", "risks"),
                k.debt,
                v.closed_unstarted
            ),
        ),
        (
            "Flow time",
            match (t.median_s, t.p90_s) {
                (Some(m), Some(p90)) => format!("median {}, p90 {}", duration(m), duration(p90)),
                _ => "nothing done".into(),
            },
        ),
        (
            "Flow efficiency",
            match f.flow_efficiency.ratio {
                Some(r) => format!(
                    "active {} %, waiting {} %",
                    decimals(r * 100.0, 1),
                    decimals((1.0 - r) * 100.0, 1)
                ),
                None => "nothing to measure".into(),
            },
        ),
        (
            "Flow load",
            format!(
                "{} in progress a day on average, at most {}, {} at the end",
                decimals(f.flow_load.mean, 1),
                f.flow_load.max,
                f.flow_load.at_end
            ),
        ),
        (
            "Flow distribution",
            match f.flow_distribution.feature {
                None => "nothing done".into(),
                Some(_) => {
                    let d = &f.flow_distribution;
                    let p = |s: Option<f64>| percent(s);
                    format!(
                        "features {}, defects {}, risks {}, debt {}",
                        p(d.feature),
                        p(d.defect),
                        p(d.risk),
                        p(d.debt)
                    )
                }
            },
        ),
    ]
}
