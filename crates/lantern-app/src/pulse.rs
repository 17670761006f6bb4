//! Pulse surveys (health.md): rounds per team, single-use answer codes,
//! the six questions, and results that exist only once a round has closed
//! and only for questions enough people answered — for every reader, the
//! team's own members and admins included.
//!
//! Invariant: nothing here, nor in the store, joins an answer to a code,
//! a reader or a time finer than the round's days (see
//! `lantern_store::HealthStore`). Answering writes no audit entry.

use crate::AppError;
use crate::report::Reader;
use crate::settings::Settings;
use lantern_events::{MICROS_PER_DAY, Name, Timestamp};
use lantern_governance::{AuditRecord, Role};
use lantern_store::{Answered, PulseRound, PulseValues, Store, Visibility};
use serde::Serialize;
use serde::ser::SerializeMap;

/// health.md's questions: (key, statement), in the answer columns' order.
pub const QUESTIONS: [(&str, &str); 6] = [
    (
        "psychological_safety",
        "On this team it is safe to raise a problem or admit a mistake.",
    ),
    (
        "workload",
        "My workload over the last weeks was sustainable.",
    ),
    ("clarity", "I know what the team's priorities are and why."),
    ("on_call", "On-call duty and interruptions were manageable."),
    (
        "decisions",
        "The decisions we need are made quickly enough.",
    ),
    (
        "satisfaction",
        "I would recommend this team as a place to work.",
    ),
];

/// The Likert scale's words, 1 to 5.
pub const SCALE: [&str; 5] = [
    "Strongly disagree",
    "Disagree",
    "Neither",
    "Agree",
    "Strongly agree",
];

/// How many answers a question (and a round) needs before anything of it
/// is shown: max(3, `min_group_size`).
pub fn threshold(settings: &Settings) -> u64 {
    settings.governance.min_group_size.max(3)
}

/// Midnight UTC of `t`'s day.
pub fn day_of(t: Timestamp) -> Timestamp {
    Timestamp::from_micros(t.micros().div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY)
}

/// The instant a round stopped taking answers: its closing time, or the
/// day it was closed early.
pub fn closed_at(round: &PulseRound) -> Timestamp {
    match round.closed_on {
        Some(day) => day.min(round.closes_at),
        None => round.closes_at,
    }
}

/// Whether `reader` may see a round's results: its team's members and
/// admins; org viewers too when it was opened with `org` visibility.
pub fn may_read(reader: Reader, round: &PulseRound) -> Result<(), AppError> {
    let Reader::Grant(grant) = reader else {
        return Ok(());
    };
    let allowed = match grant.role {
        Role::Admin => true,
        Role::TeamMember => grant.is_member_of(&round.team),
        Role::OrgViewer => round.visibility == Visibility::Org,
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    Err(AppError::Forbidden(match round.visibility {
        Visibility::Team => format!(
            "round {} of `{}` was opened for its team: its results are for the team's members and admins",
            round.id, round.team
        ),
        Visibility::Org => format!(
            "round {} of `{}` is shown to the team's members, org viewers and admins",
            round.id, round.team
        ),
    }))
}

/// Admins, and team members of the round's team, run its rounds.
pub fn may_run(reader: Reader, team: &Name) -> Result<(), AppError> {
    if reader.acts_for(team) {
        return Ok(());
    }
    Err(AppError::Forbidden(format!(
        "pulse rounds of `{team}` are run by its team's members and admins"
    )))
}

/// One question's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum QuestionResult {
    Shown {
        responses: u64,
        mean: f64,
        /// How many gave 1, 2, 3, 4 and 5.
        counts: [u64; 5],
    },
    Suppressed {
        suppressed: bool,
        reason: String,
    },
}

/// The six questions' results, keyed in the questions' order.
#[derive(Debug, Clone, PartialEq)]
pub struct Questions(pub Vec<(&'static str, QuestionResult)>);

impl Serialize for Questions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// health.md's results of a closed round's answers.
pub fn results(answers: &[PulseValues], threshold: u64) -> Questions {
    Questions(
        QUESTIONS
            .iter()
            .enumerate()
            .map(|(i, (key, _))| {
                let mut counts = [0u64; 5];
                for v in answers.iter().filter_map(|a| a[i]) {
                    counts[usize::from(v - 1)] += 1;
                }
                let responses: u64 = counts.iter().sum();
                let result = if responses >= threshold {
                    let sum: u64 = counts
                        .iter()
                        .enumerate()
                        .map(|(k, n)| (k as u64 + 1) * n)
                        .sum();
                    QuestionResult::Shown {
                        responses,
                        mean: sum as f64 / responses as f64,
                        counts,
                    }
                } else {
                    QuestionResult::Suppressed {
                        suppressed: true,
                        reason: format!(
                            "fewer than {threshold} answers: shown to no one, so that no answer can be told apart"
                        ),
                    }
                };
                (*key, result)
            })
            .collect(),
    )
}

/// The pooled mean of every non-skipped answer to the questions shown
/// (health.md's strain); `None` when no question is shown.
pub fn pooled_mean(questions: &Questions) -> Option<f64> {
    let (sum, n) = questions
        .0
        .iter()
        .filter_map(|(_, q)| match q {
            QuestionResult::Shown { counts, .. } => Some(counts),
            QuestionResult::Suppressed { .. } => None,
        })
        .flat_map(|c| c.iter().enumerate())
        .fold((0u64, 0u64), |(s, n), (k, c)| {
            (s + (k as u64 + 1) * c, n + c)
        });
    (n > 0).then(|| sum as f64 / n as f64)
}

/// A round as every front end shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundJson {
    pub round: i64,
    pub team: String,
    /// `team` or `org`: who besides the team's members and admins sees
    /// its results. Chosen at opening; never widened.
    pub visibility: &'static str,
    /// The day it opened (YYYY-MM-DD).
    pub opened: String,
    /// Answers are taken until this instant (RFC 3339).
    pub closes: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// Answers needed per question before it is shown.
    pub threshold: u64,
    /// How many answered; `null` while open or below the threshold.
    pub respondents: Option<u64>,
    /// Per question: `responses`, `mean`, `counts` (1…5), or `suppressed`
    /// and why; `null` while the round is open.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub questions: Option<Questions>,
    /// Why nothing is shown, when nothing is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A round with what may be shown of it at `now`.
pub fn round_json(
    store: &dyn Store,
    settings: &Settings,
    round: &PulseRound,
    now: Timestamp,
) -> Result<RoundJson, AppError> {
    let k = threshold(settings);
    let closed = round.is_closed(now);
    let (respondents, questions, note) = if !closed {
        (
            None,
            None,
            Some(format!(
                "the round is open until {}: nothing is shown before it closes",
                round.closes_at.to_rfc3339()
            )),
        )
    } else {
        let answers = store.pulse_answers(round.id)?;
        let n = answers.len() as u64;
        if n < k {
            (
                None,
                Some(results(&[], k)),
                Some(format!(
                    "fewer than {k} people answered: nothing of this round is shown to anyone"
                )),
            )
        } else {
            (Some(n), Some(results(&answers, k)), None)
        }
    };
    Ok(RoundJson {
        round: round.id,
        team: round.team.to_string(),
        visibility: round.visibility.as_str(),
        opened: crate::format::day(round.opened_on),
        closes: round.closes_at.to_rfc3339(),
        status: if closed { "closed" } else { "open" },
        threshold: k,
        respondents,
        questions,
        note,
    })
}

/// The rounds of a team the reader may see, oldest first.
pub fn rounds(
    store: &dyn Store,
    settings: &Settings,
    reader: Reader,
    team: &Name,
    now: Timestamp,
) -> Result<Vec<RoundJson>, AppError> {
    settings.team(team.as_str())?;
    store
        .pulse_rounds(Some(team))?
        .iter()
        .filter(|r| may_read(reader, r).is_ok())
        .map(|r| round_json(store, settings, r, now))
        .collect()
}

/// One round's results, for a reader who may see them.
pub fn round(
    store: &dyn Store,
    settings: &Settings,
    reader: Reader,
    id: i64,
    now: Timestamp,
) -> Result<RoundJson, AppError> {
    let round = find(store, id)?;
    may_read(reader, &round)?;
    round_json(store, settings, &round, now)
}

/// A round by its number (`NotFound` when there is none).
pub fn find(store: &dyn Store, id: i64) -> Result<PulseRound, AppError> {
    store
        .pulse_rounds(None)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AppError::NotFound {
            what: "round",
            message: format!("no pulse round {id}"),
        })
}

/// What opening a round needs.
#[derive(Debug, Clone)]
pub struct OpenRound {
    pub team: Name,
    pub closes: Timestamp,
    pub visibility: Visibility,
}

impl OpenRound {
    /// Checks the words of a request: a catalog team, a closing time
    /// after `now` and at most a year away, `team` or `org`.
    pub fn parse(
        settings: &Settings,
        team: &str,
        closes: &str,
        visibility: Option<&str>,
        now: Timestamp,
    ) -> Result<Self, AppError> {
        let team = settings.team(team)?.name.clone();
        let closes = Timestamp::parse_bound(closes)
            .map_err(|m| AppError::Invalid(format!("closes: {m}")))?;
        if closes <= now {
            return Err(AppError::invalid(
                "closes: that time has passed; a round closes in the future (YYYY-MM-DD is midnight UTC at the start of that day)",
            ));
        }
        if closes.micros() - now.micros() > 366 * MICROS_PER_DAY {
            return Err(AppError::invalid(
                "closes: at most a year away; a pulse is a short round",
            ));
        }
        let v = visibility.unwrap_or("team");
        let visibility = Visibility::parse(v).ok_or_else(|| {
            AppError::Invalid(format!(
                "visibility `{v}`: `team` (its members and admins) or `org` (also org viewers)"
            ))
        })?;
        Ok(OpenRound {
            team,
            closes,
            visibility,
        })
    }
}

/// Opens a round (audit-logged with `record`'s actor).
pub fn open(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    request: &OpenRound,
    now: Timestamp,
    record: &dyn Fn(&str, &str, &str) -> AuditRecord,
) -> Result<RoundJson, AppError> {
    may_run(reader, &request.team)?;
    let round = PulseRound {
        id: 0,
        team: request.team.clone(),
        visibility: request.visibility,
        opened_on: day_of(now),
        closes_at: request.closes,
        closed_on: None,
    };
    let scope = format!("team:{}", request.team);
    let audit = record(
        "pulse.open",
        &scope,
        &format!(
            "opened, visibility {}, closes {}",
            request.visibility.as_str(),
            request.closes.to_rfc3339()
        ),
    );
    let id = store.add_pulse_round(&round, audit)?;
    round_json(store, settings, &PulseRound { id, ..round }, now)
}

/// Issues `count` new single-use codes for an open round. The codes are
/// returned once; only their hashes are kept.
pub fn issue_codes(
    store: &mut dyn Store,
    reader: Reader,
    id: i64,
    count: u32,
    now: Timestamp,
    record: &dyn Fn(&str, &str, &str) -> AuditRecord,
) -> Result<Vec<String>, AppError> {
    if !(1..=500).contains(&count) {
        return Err(AppError::invalid("count: 1 to 500 codes at a time"));
    }
    let round = find(store, id)?;
    may_run(reader, &round.team)?;
    if round.is_closed(now) {
        return Err(AppError::Conflict(format!(
            "round {id} has closed: open a new round for new codes"
        )));
    }
    let mut codes = Vec::with_capacity(count as usize);
    let mut hashes = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let code = random_hex::<16>()?;
        hashes.push(lantern_governance::grant::secret_hash(&code));
        codes.push(code);
    }
    let audit = record(
        "pulse.codes",
        &format!("team:{}", round.team),
        &format!("issued {count} answer codes for round {id}"),
    );
    store.add_pulse_codes(id, &hashes, audit)?;
    Ok(codes)
}

/// The link a code is handed out as: the code after `#`, so that it never
/// reaches a server log or a `Referer`.
pub fn link(base: &str, round: i64, code: &str) -> String {
    format!("{}/pulse/{round}#{code}", base.trim_end_matches('/'))
}

/// Closes a round now (its codes are forgotten).
pub fn close(
    store: &mut dyn Store,
    settings: &Settings,
    reader: Reader,
    id: i64,
    now: Timestamp,
    record: &dyn Fn(&str, &str, &str) -> AuditRecord,
) -> Result<RoundJson, AppError> {
    let round = find(store, id)?;
    may_run(reader, &round.team)?;
    if round.is_closed(now) {
        return Err(AppError::Conflict(format!("round {id} is closed already")));
    }
    let audit = record(
        "pulse.close",
        &format!("team:{}", round.team),
        &format!("closed round {id}"),
    );
    store.close_pulse_round(id, day_of(now), audit)?;
    let round = find(store, id)?;
    round_json(store, settings, &round, now)
}

/// An answer as sent: the code and each question's value, 1…5 or none.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub code: String,
    pub values: PulseValues,
}

impl Answer {
    /// Reads `(key, value)` pairs; an empty value is a skipped question.
    pub fn parse<'a>(
        code: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, AppError> {
        let code = code.trim().trim_start_matches('#').to_ascii_lowercase();
        if code.len() != 32 || !code.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::invalid(
                "code: the 32 letters and digits after `#` in your answer link",
            ));
        }
        let mut values = [None; 6];
        for (key, value) in pairs {
            let i = QUESTIONS
                .iter()
                .position(|(k, _)| *k == key)
                .ok_or_else(|| {
                    AppError::Invalid(format!("`{key}` is not a question of the pulse"))
                })?;
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            values[i] = match value.parse::<u8>() {
                Ok(v @ 1..=5) => Some(v),
                _ => {
                    return Err(AppError::Invalid(format!(
                        "{key}: 1 (strongly disagree) to 5 (strongly agree), or nothing to skip it"
                    )));
                }
            };
        }
        if values.iter().all(Option::is_none) {
            return Err(AppError::invalid(
                "answer at least one question (your link still works)",
            ));
        }
        Ok(Answer { code, values })
    }
}

/// Stores an answer if its code is unused and the round open. Needs no
/// reader: the code is the only credential, and nothing of who sent it is
/// kept.
pub fn answer(
    store: &mut dyn Store,
    round: i64,
    answer: &Answer,
    now: Timestamp,
) -> Result<(), AppError> {
    let hash = lantern_governance::grant::secret_hash(&answer.code);
    let id = random_hex::<16>()?;
    match store.answer_pulse(round, &hash, &id, &answer.values, now)? {
        Answered::Stored => Ok(()),
        Answered::UnknownCode => Err(AppError::NotFound {
            what: "code",
            message: format!(
                "this link is not one of round {round}'s: check that it was copied whole"
            ),
        }),
        Answered::UsedCode => Err(AppError::Conflict(
            "this link was used already: each link answers once".into(),
        )),
        Answered::Closed => Err(AppError::Conflict(format!(
            "round {round} is not open: it has closed, or never existed"
        ))),
    }
}

/// `N` random bytes as lowercase hex.
fn random_hex<const N: usize>() -> Result<String, AppError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Config(format!("no randomness from the system: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_shows_from_the_threshold_on_and_never_below() {
        let a = |v: [Option<u8>; 6]| v;
        let answers = vec![
            a([Some(5), Some(1), None, None, None, None]),
            a([Some(4), Some(2), Some(3), None, None, None]),
            a([Some(3), None, Some(3), None, None, None]),
        ];
        let r = results(&answers, 3);
        assert_eq!(
            r.0[0].1,
            QuestionResult::Shown {
                responses: 3,
                mean: 4.0,
                counts: [0, 0, 1, 1, 1]
            }
        );
        assert!(matches!(r.0[1].1, QuestionResult::Suppressed { .. }));
        assert!(matches!(r.0[5].1, QuestionResult::Suppressed { .. }));
        assert_eq!(pooled_mean(&r), Some(4.0), "only the shown question");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["psychological_safety"]["counts"][4], 1);
        assert_eq!(json["workload"]["suppressed"], true);
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 6);
    }

    #[test]
    fn answers_parse_or_say_what_is_wrong() {
        let code = "0123456789abcdef0123456789ABCDEF";
        let ok = Answer::parse(code, [("workload", "4"), ("clarity", "")]).unwrap();
        assert_eq!(ok.values, [None, Some(4), None, None, None, None]);
        assert_eq!(ok.code, code.to_ascii_lowercase());
        for (code, pairs, said) in [
            ("short", vec![("workload", "4")], "32 letters"),
            (code, vec![("workload", "6")], "1 (strongly disagree)"),
            (code, vec![("mood", "3")], "not a question"),
            (code, vec![("workload", "")], "at least one"),
        ] {
            let e = Answer::parse(code, pairs).unwrap_err().to_string();
            assert!(e.contains(said), "{e}");
        }
    }
}
