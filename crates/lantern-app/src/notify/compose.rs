//! What each message says, composed through the same use cases and the
//! same governance as every other output: the digest is the team's report
//! as an organisation viewer may see it (rule 2 withholds a week whose
//! group is too small, and says so), never anything about a person.

use super::render::Message;
use crate::compare::{CompareMode, figure_text};
use crate::report::{Reader, ReportAnswer, ReportRequest};
use crate::slos::SloAnswer;
use crate::{AppError, Settings};
use lantern_engine::Window;
use lantern_engine::slo::SloState;
use lantern_events::{Name, Timestamp};
use lantern_governance::{Grant, Role};
use lantern_store::Store;
use serde_json::{Value, json};

/// Who reads a chat channel: anybody in it, so an organisation viewer —
/// the reader rule 2 withholds small groups from.
pub(crate) fn audience() -> Grant {
    Grant {
        id: "notify".into(),
        role: Role::OrgViewer,
        teams: Vec::new(),
        source: None,
        purpose: "a chat digest".into(),
        created_at: Timestamp::from_micros(0),
        expires_at: Timestamp::from_micros(i64::MAX),
        revoked_at: None,
        last_used_at: None,
    }
}

fn link(settings: &Settings, path: &str) -> Option<String> {
    settings
        .public_url
        .as_ref()
        .map(|base| format!("{base}{path}"))
}

fn state_words(state: SloState) -> &'static str {
    match state {
        SloState::NoData => "no data",
        SloState::Exhausted => "budget exhausted",
        SloState::Burning => "burning its budget",
        SloState::Warning => "warning",
        SloState::Ok => "within budget",
    }
}

/// The weekly digest of `team` for `week`: the five figures beside the
/// week before, the annotations of the week, its SLOs now, and what is
/// wrong with the data.
pub fn digest(
    store: &mut dyn Store,
    settings: &Settings,
    team: &Name,
    week: Window,
    now: Timestamp,
) -> Result<Message, AppError> {
    let scope = settings.team_scope(team.as_str())?;
    let grant = audience();
    let reader = Reader::Grant(&grant);
    let request = ReportRequest {
        scope: scope.clone(),
        window: week,
        bucket: None,
        compare: Some(CompareMode::Previous),
    };
    let title = format!(
        "{team}: the week {} to {}",
        crate::format::day(week.from),
        crate::format::day(week.to.plus_micros(-1))
    );
    let mut lines = Vec::new();
    let mut data = json!({
        "window": {"from": week.from.to_rfc3339(), "to": week.to.to_rfc3339()},
    });
    match crate::report::report(store, settings, reader, &request)? {
        ReportAnswer::Suppressed(s) => {
            lines.push(format!(
                "Figures not shown here: {}. The team's own dashboard shows them.",
                s.reason
            ));
            data["suppressed"] = json!(true);
            data["reason"] = json!(s.reason);
        }
        ReportAnswer::Figures(doc) => {
            let mut figures = serde_json::Map::new();
            if let Some(c) = &doc.compare {
                for (key, d) in &c.figures {
                    let metric = key.split('.').next().unwrap_or(key);
                    let title = lantern_engine::find_metric_doc(metric).map_or(metric, |m| m.title);
                    let now_text = d.now.map_or("–".into(), |v| figure_text(key, v));
                    let before = match (&c.withheld, d.then) {
                        (Some(_), _) => "the week before withheld".to_string(),
                        (None, None) => "no figure the week before".to_string(),
                        (None, Some(then)) => {
                            let change = crate::compare::describe(d, |v| figure_text(key, v))
                                .unwrap_or_default();
                            format!("week before {}; {change}", figure_text(key, then))
                        }
                    };
                    lines.push(format!("{title}: {now_text} ({before})"));
                    figures.insert(
                        key.to_string(),
                        serde_json::to_value(d).unwrap_or(Value::Null),
                    );
                }
                if let Some(reason) = &c.withheld {
                    data["previous_withheld"] = json!(reason);
                }
            }
            data["figures"] = Value::Object(figures);
            let notes: Vec<String> = doc
                .annotations
                .iter()
                .map(|a| {
                    format!(
                        "{} ({}): {}",
                        a.kind,
                        a.from.get(..10).unwrap_or(&a.from),
                        a.title
                    )
                })
                .collect();
            if !notes.is_empty() {
                lines.push(String::new());
                lines.push("Noted this week:".into());
                lines.extend(notes.iter().map(|n| format!("• {n}")));
            }
            data["annotations"] = json!(notes);
            let warnings: Vec<String> = doc
                .report
                .data_quality
                .findings()
                .into_iter()
                .map(|n| n.text)
                .collect();
            if !warnings.is_empty() {
                lines.push(String::new());
                lines.push("Data quality:".into());
                lines.extend(warnings.iter().take(5).map(|w| format!("• {w}")));
                if warnings.len() > 5 {
                    lines.push(format!(
                        "• … and {} more (lantern doctor)",
                        warnings.len() - 5
                    ));
                }
            }
            data["data_quality"] = json!(warnings);
        }
    }
    let slos = crate::slos::status(store, settings, reader, &scope, now)?;
    if !slos.is_empty() {
        lines.push(String::new());
        lines.push("SLOs now:".into());
    }
    let mut slo_data = Vec::new();
    for answer in &slos {
        match answer {
            SloAnswer::Figures(s) => {
                let left = s
                    .budget_remaining
                    .map(|b| {
                        format!(
                            ", {} % of the budget left",
                            crate::format::decimals(b * 100.0, 0)
                        )
                    })
                    .unwrap_or_default();
                lines.push(format!(
                    "• {} ({}): {}{left}",
                    s.slo.name,
                    s.slo.service,
                    state_words(s.status)
                ));
                slo_data.push(json!({"name": s.slo.name, "service": s.slo.service, "status": s.status.as_str(), "budget_remaining": s.budget_remaining}));
            }
            SloAnswer::Suppressed {
                name,
                service,
                reason,
                ..
            } => {
                lines.push(format!("• {name} ({service}): not shown here ({reason})"));
                slo_data.push(
                    json!({"name": name, "service": service, "suppressed": true, "reason": reason}),
                );
            }
        }
    }
    data["slos"] = json!(slo_data);
    Ok(Message {
        kind: "digest".into(),
        team: team.to_string(),
        title,
        lines,
        link: link(settings, &format!("/teams/{team}")),
        data,
    })
}

/// A firing burn-rate alert of one SLO (slo.md's tiers).
pub fn burn_alert(
    settings: &Settings,
    team: &Name,
    answer: &SloAnswer,
    alert: &lantern_engine::slo::Alert,
) -> Message {
    let (name, service) = match answer {
        SloAnswer::Figures(s) => (s.slo.name.clone(), s.slo.service.clone()),
        SloAnswer::Suppressed { name, service, .. } => (name.clone(), service.clone()),
    };
    let severity = match alert.severity {
        lantern_engine::slo::Severity::Page => "page",
        lantern_engine::slo::Severity::Ticket => "ticket",
    };
    let title = format!("{name} is burning its error budget ({severity})");
    let mut lines = vec![format!(
        "The {} tier fires: the burn rate is {} over the long window and {} over the short one, above {} (slo.md).",
        alert.tier,
        crate::format::decimals(alert.long, 1),
        crate::format::decimals(alert.short, 1),
        crate::format::decimals(alert.threshold, 1),
    )];
    let mut data = json!({
        "slo": name, "service": service, "tier": alert.tier, "severity": severity,
        "threshold": alert.threshold, "long": alert.long, "short": alert.short,
    });
    if let SloAnswer::Figures(s) = answer {
        if let Some(b) = s.budget_remaining {
            lines.push(format!(
                "{} % of the budget is left.",
                crate::format::decimals(b * 100.0, 0)
            ));
        }
        data["budget_remaining"] = json!(s.budget_remaining);
        data["status"] = json!(s.status.as_str());
    }
    if settings.gate.enforce {
        lines.push(format!("The deploy gate denies planned deployments of {service} until it recovers; hotfixes and rollbacks go ahead."));
    }
    Message {
        kind: "burn".into(),
        team: team.to_string(),
        title,
        lines,
        link: link(settings, &format!("/services/{service}")),
        data,
    }
}

/// The deploy gate said no (or would have, with `enforce` off).
pub fn gate_denied(settings: &Settings, team: &Name, answer: &crate::gate::GateAnswer) -> Message {
    let title = match answer.enforced {
        true => format!("The deploy gate denied a deployment of {}", answer.service),
        false => format!(
            "The deploy gate would deny a deployment of {}",
            answer.service
        ),
    };
    Message {
        kind: "gate".into(),
        team: team.to_string(),
        title,
        lines: vec![format!("{}.", answer.reason)],
        link: link(settings, &format!("/services/{}", answer.service)),
        data: json!({
            "service": answer.service, "kind": answer.kind,
            "decision": answer.decision.as_str(), "enforced": answer.enforced,
            "reason": answer.reason,
        }),
    }
}

/// `lantern notify test`: says where it came from and nothing else.
pub fn test_message(settings: &Settings, team: &Name, target: &str) -> Message {
    Message {
        kind: "test".into(),
        team: team.to_string(),
        title: format!("Lantern can reach `{target}`"),
        lines: vec![format!(
            "This target gets {team}'s weekly digest and alerts. Nothing else was sent."
        )],
        link: link(settings, &format!("/teams/{team}")),
        data: json!({}),
    }
}
