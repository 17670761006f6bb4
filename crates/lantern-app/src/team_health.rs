//! A team's health beside its delivery (health.md): operational load from
//! its incidents, in its own working time, and **strain** — two facts a
//! team page states in words, never as a score and never ranked.

use crate::AppError;
use crate::pulse;
use crate::report::Reader;
use crate::settings::Settings;
use lantern_engine::Scope;
use lantern_engine::Window;
use lantern_engine::load::{OperationalLoad, WorkingTime, operational_load};
use lantern_events::{Incident, MICROS_PER_DAY, Name, Timestamp};
use lantern_store::{PulseRound, PulseValues, Store};
use serde::Serialize;
use std::collections::BTreeMap;

const DAYS_30: i64 = 30 * MICROS_PER_DAY;

/// The incidents fact: incidents in [to − 30 d, to) ≥ 3 and ≥ 1.5 × those
/// in [to − 60 d, to − 30 d).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentsFact {
    pub last_30_days: u64,
    pub previous_30_days: u64,
    pub holds: bool,
}

/// The pulse fact: the last closed round's pooled mean at least 0.5 below
/// the round before's, both with enough respondents.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PulseFact {
    pub last_round: Option<i64>,
    pub previous_round: Option<i64>,
    pub last_mean: Option<f64>,
    pub previous_mean: Option<f64>,
    /// `false` also when the two rounds cannot be compared (see `note`).
    pub holds: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// health.md's strain at `at`: both facts hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Strain {
    pub at: String,
    pub holds: bool,
    pub incidents: IncidentsFact,
    pub pulse: PulseFact,
}

/// A closed round as strain reads it: when it stopped taking answers, and
/// its answers.
pub struct ClosedRound<'a> {
    pub id: i64,
    pub closed_at: Timestamp,
    pub answers: &'a [PulseValues],
}

/// The rule itself, pure: `incidents` of any services (the team's are
/// picked by `scope`), `rounds` the team's rounds (any order; those
/// closed after `to` are ignored), `k` = max(3, `min_group_size`).
pub fn strain(
    incidents: &[Incident],
    scope: &Scope,
    to: Timestamp,
    rounds: &[ClosedRound],
    k: u64,
) -> Strain {
    let count = |from: i64, to: i64| {
        let w = Window {
            from: Timestamp::from_micros(from),
            to: Timestamp::from_micros(to),
        };
        operational_load(incidents, scope, w, to_ts(to), &WorkingTime::default()).incidents
    };
    let t = to.micros();
    let last = count(t - DAYS_30, t);
    let previous = count(t - 2 * DAYS_30, t - DAYS_30);
    let incidents = IncidentsFact {
        last_30_days: last,
        previous_30_days: previous,
        holds: last >= 3 && last as f64 >= 1.5 * previous as f64,
    };
    let mut closed: Vec<&ClosedRound> = rounds.iter().filter(|r| r.closed_at <= to).collect();
    closed.sort_by_key(|r| (r.closed_at, r.id));
    let pulse = match closed.as_slice() {
        [.., before, last] => {
            let mean = |r: &ClosedRound| {
                (r.answers.len() as u64 >= k)
                    .then(|| pulse::pooled_mean(&pulse::results(r.answers, k)))
                    .flatten()
            };
            let (l, p) = (mean(last), mean(before));
            let note = (l.is_none() || p.is_none())
                .then(|| format!("a round needs at least {k} respondents to be compared"));
            PulseFact {
                last_round: Some(last.id),
                previous_round: Some(before.id),
                last_mean: l,
                previous_mean: p,
                holds: matches!((l, p), (Some(l), Some(p)) if l <= p - 0.5),
                note,
            }
        }
        _ => PulseFact {
            last_round: closed.last().map(|r| r.id),
            previous_round: None,
            last_mean: None,
            previous_mean: None,
            holds: false,
            note: Some("fewer than two closed pulse rounds".into()),
        },
    };
    Strain {
        at: to.to_rfc3339(),
        holds: incidents.holds && pulse.holds,
        incidents,
        pulse,
    }
}

fn to_ts(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros)
}

/// What the team page and `GET /api/v1/team-health` show of a team.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamHealth {
    pub team: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub window: lantern_engine::WindowJson,
    pub operational_load: OperationalLoad,
    /// At the window's end.
    pub strain: Strain,
}

/// The incidents of a team's services open at some time in `window`.
pub fn team_incidents(
    store: &dyn Store,
    services: &std::collections::BTreeSet<Name>,
    window: Window,
) -> Result<Vec<Incident>, AppError> {
    let mut by_id: BTreeMap<String, Incident> = BTreeMap::new();
    for s in services {
        for i in store.incidents_in(s, window)? {
            by_id.insert(i.id.to_string(), i);
        }
    }
    Ok(by_id.into_values().collect())
}

/// A team's operational load over `window` and its strain at the
/// window's end. The pulse fact reads rounds this reader may see only.
pub fn team_health(
    store: &dyn Store,
    settings: &Settings,
    reader: Reader,
    team: &str,
    window: Window,
    now: Timestamp,
) -> Result<TeamHealth, AppError> {
    let t = settings.team(team)?;
    let scope = Scope::Team {
        name: t.name.clone(),
        services: t.services.clone(),
    };
    let reach = Window {
        from: to_ts(window.from.micros().min(window.to.micros() - 2 * DAYS_30)),
        to: window.to,
    };
    let incidents = team_incidents(store, &t.services, reach)?;
    let load = operational_load(&incidents, &scope, window, now, &t.working);
    let strain = strain_of(
        store, settings, reader, &scope, &t.name, &incidents, window.to, now,
    )?;
    Ok(TeamHealth {
        team: t.name.to_string(),
        window: window.into(),
        operational_load: load,
        strain,
    })
}

#[allow(clippy::too_many_arguments)]
fn strain_of(
    store: &dyn Store,
    settings: &Settings,
    reader: Reader,
    scope: &Scope,
    team: &Name,
    incidents: &[Incident],
    to: Timestamp,
    now: Timestamp,
) -> Result<Strain, AppError> {
    let k = pulse::threshold(settings);
    let rounds: Vec<PulseRound> = store
        .pulse_rounds(Some(team))?
        .into_iter()
        .filter(|r| r.is_closed(now))
        .collect();
    let visible = rounds.iter().all(|r| pulse::may_read(reader, r).is_ok());
    // The rule compares the last two rounds closed by `to`: only theirs
    // are read.
    let mut compared: Vec<&PulseRound> = rounds
        .iter()
        .filter(|r| pulse::closed_at(r) <= to)
        .collect();
    compared.sort_by_key(|r| (pulse::closed_at(r), r.id));
    let compared = &compared[compared.len().saturating_sub(2)..];
    let answers: Vec<Vec<PulseValues>> = if visible {
        compared
            .iter()
            .map(|r| store.pulse_answers(r.id))
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    let closed: Vec<ClosedRound> = compared
        .iter()
        .zip(&answers)
        .map(|(r, a)| ClosedRound {
            id: r.id,
            closed_at: pulse::closed_at(r),
            answers: a,
        })
        .collect();
    let mut strain = strain(incidents, scope, to, &closed, k);
    if !visible {
        strain.pulse = PulseFact {
            last_round: None,
            previous_round: None,
            last_mean: None,
            previous_mean: None,
            holds: false,
            note: Some("the team's pulse rounds are shown to its members and admins".into()),
        };
        strain.holds = false;
    }
    Ok(strain)
}

/// The facts in words, for the team page: what holds, never a score.
pub fn sentences(strain: &Strain) -> Vec<String> {
    let i = &strain.incidents;
    let mut out = vec![if i.holds {
        format!(
            "Incidents are rising: {} in the last 30 days, against {} in the 30 days before.",
            i.last_30_days, i.previous_30_days
        )
    } else {
        format!(
            "Incidents are not rising sharply: {} in the last 30 days, {} in the 30 days before.",
            i.last_30_days, i.previous_30_days
        )
    }];
    let p = &strain.pulse;
    out.push(match (p.last_mean, p.previous_mean, &p.note) {
        (Some(l), Some(b), _) if p.holds => format!(
            "The pulse fell: the last round averaged {l:.1} of 5, against {b:.1} the round before."
        ),
        (Some(l), Some(b), _) => format!(
            "The pulse did not fall by half a point: {l:.1} of 5 in the last round, {b:.1} the round before."
        ),
        (_, _, Some(note)) => format!("The pulse cannot be compared: {note}."),
        _ => "The pulse cannot be compared.".into(),
    });
    out.push(if strain.holds {
        "Both hold: the team may be under strain. This is a prompt to talk about workload and on-call together, not a score.".into()
    } else {
        "Strain is named only when both hold; here they do not.".into()
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantern_events::EventId;
    use std::collections::BTreeSet;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn incident(id: &str, at: &str) -> Incident {
        Incident {
            id: EventId::parse(id).unwrap(),
            service: Name::parse("api").unwrap(),
            services: vec![],
            started_at: t(at),
            detected_at: None,
            acknowledged_at: None,
            resolved_at: None,
            severity: None,
            cause: None,
            caused_by: None,
            caused_by_sha: None,
            title: None,
        }
    }

    #[test]
    fn strain_needs_both_facts() {
        let scope = Scope::Team {
            name: Name::parse("t").unwrap(),
            services: BTreeSet::from([Name::parse("api").unwrap()]),
        };
        let to = t("2026-06-01T00:00:00Z");
        let incidents: Vec<Incident> = [
            "2026-05-20T00:00:00Z",
            "2026-05-10T00:00:00Z",
            "2026-05-02T00:00:00Z",
            "2026-04-10T00:00:00Z",
        ]
        .iter()
        .enumerate()
        .map(|(i, at)| incident(&format!("i{i}"), at))
        .collect();
        let good = vec![[Some(4), Some(4), None, None, None, None]; 3];
        let bad = vec![[Some(3), Some(4), None, None, None, None]; 3];
        let rounds = [
            ClosedRound {
                id: 1,
                closed_at: t("2026-04-01T00:00:00Z"),
                answers: &good,
            },
            ClosedRound {
                id: 2,
                closed_at: t("2026-05-15T00:00:00Z"),
                answers: &bad,
            },
        ];
        let s = strain(&incidents, &scope, to, &rounds, 3);
        assert_eq!(
            (s.incidents.last_30_days, s.incidents.previous_30_days),
            (3, 1)
        );
        assert!(s.incidents.holds);
        assert_eq!(
            (s.pulse.last_mean, s.pulse.previous_mean),
            (Some(3.5), Some(4.0))
        );
        assert!(s.pulse.holds, "3.5 is 0.5 below 4.0");
        assert!(s.holds);
        let few = vec![[Some(1), None, None, None, None, None]; 2];
        let rounds = [
            ClosedRound {
                id: 1,
                closed_at: t("2026-04-01T00:00:00Z"),
                answers: &good,
            },
            ClosedRound {
                id: 2,
                closed_at: t("2026-05-15T00:00:00Z"),
                answers: &few,
            },
        ];
        let s = strain(&incidents, &scope, to, &rounds, 3);
        assert!(!s.pulse.holds && !s.holds);
        assert!(s.pulse.note.unwrap().contains("3 respondents"));
        let s = strain(&incidents[..2], &scope, to, &[], 3);
        assert!(!s.incidents.holds, "two incidents are not enough");
    }
}
