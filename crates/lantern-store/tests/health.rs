//! Pulse rounds, codes, answers and experiments on both stores, and the
//! anonymity invariant read from the database itself: every column of the
//! answer and code tables, and nothing that joins them.

use lantern_events::{Name, Timestamp};
use lantern_governance::AuditRecord;
use lantern_store::{Answered, Experiment, Location, PulseRound, Visibility};

mod each_store;
use each_store::each_store;

on_each_store! {
    pulse_codes_work_once_and_answers_keep_nothing_that_joins_them("pulse_codes_work_once") => pulse;
    experiments_are_kept_and_ended_once("experiments_are_kept_and_ended_once") => experiments;
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn audit(action: &str) -> AuditRecord {
    AuditRecord {
        at: t("2026-05-01T10:00:00Z"),
        actor: "test".into(),
        purpose: "test".into(),
        action: action.into(),
        scope: "team:payments".into(),
        outcome: "done".into(),
    }
}

/// Every column of a table, as text, for every row (nothing left out).
fn columns_and_rows(at: &Location, table: &str) -> (Vec<String>, Vec<Vec<String>>) {
    match at {
        Location::Sqlite(path) => {
            let c = rusqlite::Connection::open(path).unwrap();
            let mut stmt = c.prepare(&format!("SELECT * FROM {table}")).unwrap();
            let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
            let n = names.len();
            let rows = stmt
                .query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => "NULL".into(),
                                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                                rusqlite::types::ValueRef::Text(t) => {
                                    String::from_utf8_lossy(t).into()
                                }
                                rusqlite::types::ValueRef::Blob(b) => format!("{b:02x?}"),
                                rusqlite::types::ValueRef::Real(v) => v.to_string(),
                            })
                        })
                        .collect::<rusqlite::Result<Vec<String>>>()
                })
                .unwrap()
                .collect::<rusqlite::Result<Vec<_>>>()
                .unwrap();
            (names, rows)
        }
        Location::Postgres(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
            let rows = c
                .query(&format!("SELECT row_to_json(x)::text FROM {table} x"), &[])
                .unwrap();
            let names: Vec<String> = c
                .query(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
                    &[&table],
                )
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            let rows = rows.iter().map(|r| vec![r.get::<_, String>(0)]).collect();
            (names, rows)
        }
    }
}

fn pulse(at: &Location) {
    let mut store = at.open().unwrap();
    let team = Name::parse("payments").unwrap();
    let round = PulseRound {
        id: 0,
        team: team.clone(),
        visibility: Visibility::Team,
        opened_on: t("2026-05-01T00:00:00Z"),
        closes_at: t("2026-05-15T00:00:00Z"),
        closed_on: None,
    };
    let id = store.add_pulse_round(&round, audit("pulse.open")).unwrap();
    let other = store
        .add_pulse_round(
            &PulseRound {
                visibility: Visibility::Org,
                ..round.clone()
            },
            audit("pulse.open"),
        )
        .unwrap();
    assert_ne!(id, other);
    let codes: Vec<[u8; 32]> = (0..4u8).map(|i| [i; 32]).collect();
    store
        .add_pulse_codes(id, &codes, audit("pulse.codes"))
        .unwrap();
    let now = t("2026-05-02T12:34:56Z");
    let v = [Some(4), None, Some(2), Some(5), Some(1), Some(3)];
    assert_eq!(
        store.answer_pulse(id, &codes[0], "aaaa", &v, now).unwrap(),
        Answered::Stored
    );
    assert_eq!(
        store.answer_pulse(id, &codes[0], "bbbb", &v, now).unwrap(),
        Answered::UsedCode,
        "a code works once"
    );
    assert_eq!(
        store
            .answer_pulse(other, &codes[1], "cccc", &v, now)
            .unwrap(),
        Answered::UnknownCode,
        "a code belongs to its round"
    );
    assert_eq!(
        store.answer_pulse(id, &[9; 32], "dddd", &v, now).unwrap(),
        Answered::UnknownCode
    );
    assert_eq!(
        store
            .answer_pulse(id, &codes[1], "eeee", &v, t("2026-05-15T00:00:00Z"))
            .unwrap(),
        Answered::Closed,
        "answers are taken until closes_at, exclusive"
    );
    store
        .answer_pulse(
            id,
            &codes[2],
            "0000",
            &[None, Some(1), None, None, None, None],
            now,
        )
        .unwrap();
    // Ordered by the random id, not by arrival.
    assert_eq!(
        store.pulse_answers(id).unwrap(),
        vec![[None, Some(1), None, None, None, None], v]
    );
    assert!(store.pulse_answers(other).unwrap().is_empty());

    // What the database holds: no time, no code, no reader beside an answer.
    let (answer_columns, answers) = columns_and_rows(at, "pulse_answers");
    assert_eq!(
        answer_columns,
        [
            "id",
            "round",
            "psychological_safety",
            "workload",
            "clarity",
            "on_call",
            "decisions",
            "satisfaction"
        ]
    );
    assert_eq!(answers.len(), 2);
    let (code_columns, _) = columns_and_rows(at, "pulse_codes");
    assert_eq!(code_columns, ["hash", "round", "used"]);
    // The answer's day, as microseconds: not even the day is kept.
    let day = (now.micros().div_euclid(lantern_events::MICROS_PER_DAY)
        * lantern_events::MICROS_PER_DAY)
        .to_string();
    for table in ["pulse_answers", "pulse_codes", "pulse_rounds", "audit_log"] {
        let (_, rows) = columns_and_rows(at, table);
        for row in rows {
            let text = row.join(" ");
            assert!(
                !text.contains(&now.micros().to_string()) && !text.contains(&day),
                "{table} holds the answer's time: {text}"
            );
        }
    }
    // No audit entry was written by answering.
    let (_, log) = columns_and_rows(at, "audit_log");
    assert_eq!(log.len(), 3, "open, open, codes: {log:?}");

    let rounds = store.pulse_rounds(Some(&team)).unwrap();
    assert_eq!(rounds.len(), 2);
    assert_eq!(rounds[0].visibility, Visibility::Team);
    assert_eq!(rounds[1].visibility, Visibility::Org);
    // Closing forgets the round's codes.
    assert!(
        store
            .close_pulse_round(id, t("2026-05-03T00:00:00Z"), audit("pulse.close"))
            .unwrap()
    );
    assert!(
        !store
            .close_pulse_round(id, t("2026-05-03T00:00:00Z"), audit("pulse.close"))
            .unwrap()
    );
    let (_, codes_left) = columns_and_rows(at, "pulse_codes");
    assert!(codes_left.is_empty(), "{codes_left:?}");
    assert_eq!(
        store.answer_pulse(id, &codes[3], "ffff", &v, now).unwrap(),
        Answered::Closed
    );
    let closed = &store.pulse_rounds(None).unwrap()[0];
    assert_eq!(closed.closed_on, Some(t("2026-05-03T00:00:00Z")));
    assert!(closed.is_closed(now));
}

fn experiments(at: &Location) {
    let mut store = at.open().unwrap();
    let e = Experiment {
        id: 0,
        team: Name::parse("payments").unwrap(),
        constraint: "PRs wait for review".into(),
        indicator: "pr_stages.pickup.median_s".into(),
        direction: "down".into(),
        from: t("2026-03-01T00:00:00Z"),
        review: t("2026-04-12T00:00:00Z"),
        expect_dip: vec![
            "deployment_frequency.per_day".into(),
            "lead_time.median_s".into(),
        ],
        ended_at: None,
    };
    let id = store
        .add_experiment(&e, audit("experiment.create"))
        .unwrap();
    let other = store
        .add_experiment(
            &Experiment {
                team: Name::parse("search").unwrap(),
                expect_dip: vec![],
                ..e.clone()
            },
            audit("experiment.create"),
        )
        .unwrap();
    let kept = store.experiments(Some(&e.team)).unwrap();
    assert_eq!(kept, vec![Experiment { id, ..e.clone() }]);
    assert_eq!(store.experiments(None).unwrap().len(), 2);
    assert!(store.experiments(None).unwrap()[1].expect_dip.is_empty());
    let end = t("2026-03-20T00:00:00Z");
    assert!(
        store
            .end_experiment(id, end, audit("experiment.end"))
            .unwrap()
    );
    assert!(
        !store
            .end_experiment(id, end, audit("experiment.end"))
            .unwrap()
    );
    assert!(
        !store
            .end_experiment(999, end, audit("experiment.end"))
            .unwrap()
    );
    assert_eq!(store.experiments(None).unwrap()[0].ended_at, Some(end));
    assert_eq!(store.experiments(None).unwrap()[1].id, other);
    let log = store.audit_entries(None).unwrap();
    assert_eq!(log.len(), 3, "two added, one ended");
    assert!(log[0].record.outcome.contains(&format!("experiment {id}")));
}
