//! `lantern pulse`, `lantern experiment` and `lantern team-health`
//! (health.md): the CLI's words for `lantern_app::pulse`,
//! `lantern_app::experiments` and `lantern_app::team_health`.

use crate::governance_cmd::cli_record;
use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use lantern_app::Settings;
use lantern_app::experiments::{self, ExperimentJson, ExperimentWords, NewExperiment};
use lantern_app::pulse::{self, OpenRound, QuestionResult, RoundJson};
use lantern_app::report::Reader;
use lantern_app::team_health;
use lantern_events::Timestamp;
use lantern_store::Store;
use std::fmt::Write;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum PulseCommand {
    /// Open a round for a team (its members' answers stay anonymous).
    Open {
        #[arg(long)]
        team: String,
        /// When it stops taking answers: YYYY-MM-DD (midnight UTC, the
        /// start of that day) or RFC 3339.
        #[arg(long)]
        closes: String,
        /// `team`: only its members and admins see the results; `org`: org
        /// viewers too. Cannot be widened later.
        #[arg(long, default_value = "team", value_parser = ["team", "org"])]
        visibility: String,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        format: Output,
    },
    /// Print N single-use answer links, once: hand one to each person.
    Codes {
        #[arg(long)]
        round: i64,
        #[arg(long, default_value_t = 10)]
        count: u32,
        /// The dashboard's address as people reach it.
        #[arg(
            long,
            env = "LANTERN_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        base_url: String,
    },
    /// Close a round now; its results show if enough people answered.
    Close {
        #[arg(long)]
        round: i64,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        format: Output,
    },
    /// A round's results, or every round of a team.
    Results {
        #[arg(long, conflicts_with = "team", required_unless_present = "team")]
        round: Option<i64>,
        #[arg(long)]
        team: Option<String>,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        format: Output,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExperimentCommand {
    /// Record a team's commitment to move one indicator (health.md).
    Add {
        #[arg(long)]
        team: String,
        /// The constraint, in a sentence ("PRs wait for review").
        #[arg(long)]
        constraint: String,
        /// A path into the report, e.g. pr_stages.pickup.median_s.
        #[arg(long)]
        indicator: String,
        #[arg(long, value_parser = ["up", "down"])]
        direction: String,
        /// YYYY-MM-DD or RFC 3339.
        #[arg(long)]
        from: String,
        /// When to review it: YYYY-MM-DD or RFC 3339.
        #[arg(long)]
        review: String,
        /// A figure expected to dip meanwhile (repeatable), e.g.
        /// deployment_frequency.per_day: drawn as planned, not a regression.
        #[arg(long)]
        expect_dip: Vec<String>,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        format: Output,
    },
    /// Every experiment with its baseline, current value and verdict.
    List {
        #[arg(long)]
        team: Option<String>,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        format: Output,
    },
    /// End an experiment now.
    End {
        id: i64,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        format: Output,
    },
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

pub fn pulse(store: &mut dyn Store, config: &Settings, command: &PulseCommand) -> Result<String> {
    let now = Timestamp::now();
    let record = |a: &str, s: &str, o: &str| cli_record(a, s, o);
    match command {
        PulseCommand::Open {
            team,
            closes,
            visibility,
            format,
        } => {
            let request = OpenRound::parse(config, team, closes, Some(visibility), now)?;
            let round = pulse::open(store, config, Reader::Operator, &request, now, &record)?;
            match format {
                Output::Json => json(&round),
                Output::Table => Ok(format!(
                    "opened round {} for {} (visibility {}), closing {}\nnext: lantern pulse codes --round {} --count N\n",
                    round.round, round.team, round.visibility, round.closes, round.round
                )),
            }
        }
        PulseCommand::Codes {
            round,
            count,
            base_url,
        } => {
            let codes = pulse::issue_codes(store, Reader::Operator, *round, *count, now, &record)?;
            let mut out = format!(
                "{} single-use answer links for round {round}, shown once (only their hashes are kept):\n",
                codes.len()
            );
            for code in codes {
                let _ = writeln!(out, "{}", pulse::link(base_url, *round, &code));
            }
            Ok(out)
        }
        PulseCommand::Close { round, format } => {
            let r = pulse::close(store, config, Reader::Operator, *round, now, &record)?;
            match format {
                Output::Json => json(&r),
                Output::Table => Ok(round_table(&r)),
            }
        }
        PulseCommand::Results {
            round,
            team,
            format,
        } => {
            let rounds = match (round, team) {
                (Some(id), _) => vec![pulse::round(store, config, Reader::Operator, *id, now)?],
                (None, Some(t)) => {
                    let name = config.team(t)?.name.clone();
                    pulse::rounds(store, config, Reader::Operator, &name, now)?
                }
                (None, None) => anyhow::bail!("give --round R or --team T"),
            };
            crate::governance_cmd::record_cli(
                store,
                "pulse.results",
                &team.as_deref().map_or_else(
                    || format!("round {}", round.unwrap_or_default()),
                    |t| format!("team:{t}"),
                ),
                "read",
            )?;
            match (format, round) {
                (Output::Json, Some(_)) => json(&rounds[0]),
                (Output::Json, None) => json(&rounds),
                (Output::Table, _) if rounds.is_empty() => {
                    Ok("no pulse rounds yet: lantern pulse open --team T --closes DATE\n".into())
                }
                (Output::Table, _) => Ok(rounds.iter().map(round_table).collect()),
            }
        }
    }
}

fn round_table(r: &RoundJson) -> String {
    let mut out = format!(
        "round {} · {} · opened {} · closes {} · {} · visibility {}\n",
        r.round, r.team, r.opened, r.closes, r.status, r.visibility
    );
    if let Some(note) = &r.note {
        let _ = writeln!(out, "  {note}");
    }
    if let (Some(n), Some(q)) = (r.respondents, &r.questions) {
        let _ = writeln!(out, "  {n} respondents");
        for ((key, result), (_, statement)) in q.0.iter().zip(pulse::QUESTIONS) {
            match result {
                QuestionResult::Shown {
                    responses,
                    mean,
                    counts,
                } => {
                    let _ = writeln!(
                        out,
                        "  {key:<21} {mean:.2} of 5 ({responses} answers: {counts:?} gave 1…5)  {statement}"
                    );
                }
                QuestionResult::Suppressed { reason, .. } => {
                    let _ = writeln!(out, "  {key:<21} not shown: {reason}");
                }
            }
        }
    }
    out
}

pub fn experiment(
    store: &mut dyn Store,
    config: &Settings,
    command: &ExperimentCommand,
) -> Result<String> {
    let now = Timestamp::now();
    let record = |a: &str, s: &str, o: &str| cli_record(a, s, o);
    let (list, format) = match command {
        ExperimentCommand::Add {
            team,
            constraint,
            indicator,
            direction,
            from,
            review,
            expect_dip,
            format,
        } => {
            let words = ExperimentWords {
                team,
                constraint,
                indicator,
                direction,
                from,
                review,
                expect_dip: expect_dip.iter().map(String::as_str).collect(),
            };
            let new = NewExperiment::parse(config, &words)?;
            let e = experiments::add(store, config, Reader::Operator, new, now, &record)?;
            if *format == Output::Json {
                return json(&e);
            }
            (vec![e], *format)
        }
        ExperimentCommand::List { team, format } => {
            let list = experiments::list(store, config, Reader::Operator, team.as_deref(), now)?;
            if *format == Output::Json {
                return json(&list);
            }
            (list, *format)
        }
        ExperimentCommand::End { id, format } => {
            let e = experiments::end(store, config, Reader::Operator, *id, now, &record)?;
            if *format == Output::Json {
                return json(&e);
            }
            (vec![e], *format)
        }
    };
    debug_assert_eq!(format, Output::Table);
    if list.is_empty() {
        return Ok("no experiments yet: lantern experiment add --team T --constraint … --indicator … --direction down --from … --review …\n".into());
    }
    Ok(list.iter().map(experiment_table).collect())
}

fn experiment_table(e: &ExperimentJson) -> String {
    let value = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.4}"));
    let mut out = format!(
        "experiment {} · {} · {} · {} {} · {} to {} · {}\n  baseline {}  current {}  change {}  verdict {}\n",
        e.id,
        e.team,
        e.constraint,
        e.indicator,
        e.direction,
        &e.from[..10],
        &e.review[..10],
        e.status,
        value(e.baseline),
        value(e.current),
        value(e.change),
        serde_json::to_value(e.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    if !e.expect_dip.is_empty() {
        let _ = writeln!(out, "  expected to dip: {}", e.expect_dip.join(", "));
    }
    out
}

#[derive(clap::Args, Debug)]
pub struct TeamHealthArgs {
    #[arg(long)]
    pub team: String,
    /// Start: YYYY-MM-DD or RFC 3339 [default: 90 days before --to].
    #[arg(long)]
    pub from: Option<String>,
    /// End, exclusive [default: the start of today, UTC].
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub format: Output,
}

pub fn team_health(
    store: &mut dyn Store,
    config: &Settings,
    args: &TeamHealthArgs,
) -> Result<String> {
    let now = Timestamp::now();
    let window = crate::report_cmd::window(args.from.as_deref(), args.to.as_deref(), now)?;
    let h = team_health::team_health(store, config, Reader::Operator, &args.team, window, now)?;
    if args.format == Output::Json {
        return json(&h);
    }
    let l = &h.operational_load;
    let mut out = format!(
        "{} · {}\noperational load: {} incidents ({:.1} a week), {} outside working time{}, {:.1} incident hours\nstrain at {}:\n",
        h.team,
        lantern_app::format::window(&window),
        l.incidents,
        l.per_week,
        l.out_of_hours.count,
        l.out_of_hours
            .share
            .map_or(String::new(), |s| format!(" ({:.0} %)", s * 100.0)),
        l.incident_hours,
        h.strain.at
    );
    for s in team_health::sentences(&h.strain) {
        let _ = writeln!(out, "  {s}");
    }
    Ok(out)
}
