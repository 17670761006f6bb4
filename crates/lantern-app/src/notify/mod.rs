//! Digests and alerts to chat (`[[notify]]`): what is due, queued once in
//! the store's outbox, and how a failed delivery is tried again.
//!
//! - [`target`]: the `[[notify]]` entries of lantern.toml;
//! - [`compose`]: what each message says, through governance;
//! - [`render`]: a message as Slack, Teams or plain JSON takes it.
//!
//! Planning is idempotent: a message's key (the digest's week, an alert's
//! SLO, tier and day, a gate answer's instant) is queued once per target,
//! so every replica may plan at every tick. Sending is the caller's (the
//! server's task, or `lantern notify send`): it posts what [`due`] returns
//! and records each attempt with [`attempted`].

pub mod compose;
pub mod render;
pub mod target;

use crate::slos::SloAnswer;
use crate::{AppError, Settings};
use lantern_engine::{Note, Window};
use lantern_events::{MICROS_PER_DAY, MICROS_PER_SECOND, Name, Timestamp};
use lantern_governance::AuditRecord;
use lantern_store::{Attempt, Delivery, NewNotification, Notification, Store};
pub use render::Message;
pub use target::{Format, Kind, Target};

/// Attempts before a message is given up on.
pub const MAX_ATTEMPTS: u32 = 8;

/// How long after a failed attempt the next is: 30 s, doubling each time,
/// at most an hour (eight attempts span about an hour: 30 s … 32 min).
pub fn backoff(failures_before: u32) -> i64 {
    let seconds = 30i64.saturating_mul(1i64 << failures_before.min(20));
    seconds.min(3600) * MICROS_PER_SECOND
}

/// How an attempt to post went, as the sender saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// A 2xx answer.
    Accepted,
    /// An answer that will not change by asking again (400, 401, 403,
    /// 404, 410: a removed or wrong webhook).
    Refused(String),
    /// A failure worth another try (no connection, a timeout, 408, 429,
    /// 5xx), with the receiver's `Retry-After` in seconds when it said.
    Failed {
        why: String,
        retry_after: Option<u64>,
    },
}

/// What to record after an attempt on `message` at `now`.
pub fn attempt(message: &Notification, posted: Posted, now: Timestamp) -> Attempt {
    match posted {
        Posted::Accepted => Attempt::Delivered { at: now },
        Posted::Refused(why) => Attempt::GaveUp {
            at: now,
            error: format!("refused: {why}"),
        },
        Posted::Failed { why, .. } if message.attempts + 1 >= MAX_ATTEMPTS => Attempt::GaveUp {
            at: now,
            error: format!("{why} (gave up after {MAX_ATTEMPTS} attempts)"),
        },
        Posted::Failed { why, retry_after } => {
            let wait = backoff(message.attempts)
                .max(retry_after.map_or(0, |s| s.min(3600) as i64 * MICROS_PER_SECOND));
            Attempt::Retry {
                at: now,
                error: why,
                next_at: now.plus_micros(wait),
            }
        }
    }
}

/// The week a target's digest covers if one is due at `now`: the seven
/// whole UTC days before its weekday, from its hour on that day until a
/// day later (a server that was down longer skips that week's digest
/// rather than sending a stale one).
pub fn digest_due(target: &Target, now: Timestamp) -> Option<Window> {
    let today = now.micros().div_euclid(MICROS_PER_DAY);
    // 1970-01-01 was a Thursday (3, counting Monday as 0).
    let weekday = (today + 3).rem_euclid(7);
    let mut day = today - (weekday - i64::from(target.digest_day)).rem_euclid(7);
    let hour = i64::from(target.digest_hour) * 3600 * MICROS_PER_SECOND;
    if day * MICROS_PER_DAY + hour > now.micros() {
        day -= 7;
    }
    let due = day * MICROS_PER_DAY + hour;
    (now.micros() - due < MICROS_PER_DAY).then(|| Window {
        from: Timestamp::from_micros((day - 7) * MICROS_PER_DAY),
        to: Timestamp::from_micros(day * MICROS_PER_DAY),
    })
}

/// Queues `message` for `target` under `key`, recorded in the audit log
/// as an export of team figures (governance.md rule 4); false when that
/// key was queued before.
pub fn queue(
    store: &mut dyn Store,
    target: &Target,
    key: String,
    message: &Message,
    now: Timestamp,
    actor: &str,
) -> Result<bool, AppError> {
    let body = serde_json::to_string(message)
        .map_err(|e| AppError::Invalid(format!("a message could not be written: {e}")))?;
    let record = AuditRecord {
        at: now,
        actor: actor.into(),
        purpose: format!("{} to the `{}` notify target", message.kind, target.name),
        action: format!("notify.{}", message.kind),
        scope: format!("team:{}", target.team),
        outcome: format!("queued for {}", target.url.redacted()),
    };
    Ok(store.queue_notification(
        &NewNotification {
            target: target.name.to_string(),
            key,
            kind: message.kind.clone(),
            team: target.team.clone(),
            message: body,
            created_at: now,
        },
        record,
    )?)
}

/// What planning at one instant queued.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Planned {
    pub digests: usize,
    pub alerts: usize,
}

/// Queues every digest due at `now` and every firing burn-rate alert not
/// sent today, for every target that takes them.
pub fn plan(
    store: &mut dyn Store,
    settings: &Settings,
    now: Timestamp,
    actor: &str,
) -> Result<Planned, AppError> {
    let mut planned = Planned::default();
    for target in &settings.notify {
        if target.sends(Kind::Digest)
            && let Some(week) = digest_due(target, now)
        {
            let key = format!("digest:{}", crate::format::day(week.to));
            if !queued(store, target, &key)? {
                let message = compose::digest(store, settings, &target.team, week, now)?;
                planned.digests += usize::from(queue(store, target, key, &message, now, actor)?);
            }
        }
        if target.sends(Kind::Burn) {
            planned.alerts += alerts(store, settings, target, now, actor)?;
        }
    }
    Ok(planned)
}

/// Whether `key` was queued for `target` already (the store's unique key
/// decides; this only spares composing a digest twice).
fn queued(store: &dyn Store, target: &Target, key: &str) -> Result<bool, AppError> {
    Ok(store
        .notifications(Some(target.name.as_str()), 200)?
        .iter()
        .any(|n| n.key == key))
}

fn alerts(
    store: &mut dyn Store,
    settings: &Settings,
    target: &Target,
    now: Timestamp,
    actor: &str,
) -> Result<usize, AppError> {
    let scope = settings.team_scope(target.team.as_str())?;
    let all = crate::slos::figures(store, settings, &scope, now)?;
    // Each minute, most often nothing fires: rule 2's reads only then.
    let firing = |a: &SloAnswer| matches!(a, SloAnswer::Figures(s) if !s.alerts.is_empty());
    if !all.iter().any(firing) {
        return Ok(0);
    }
    let grant = compose::audience();
    let shown = crate::slos::visible(
        store,
        settings,
        crate::report::Reader::Grant(&grant),
        all.clone(),
        now,
    )?;
    let mut queued = 0;
    for (figures, shown) in all.iter().zip(&shown) {
        let SloAnswer::Figures(status) = figures else {
            continue;
        };
        for alert in &status.alerts {
            let key = format!(
                "burn:{}:{}:{}",
                status.slo.name,
                alert.tier,
                crate::format::day(now)
            );
            let message = compose::burn_alert(settings, &target.team, shown, alert);
            queued += usize::from(queue(store, target, key, &message, now, actor)?);
        }
    }
    Ok(queued)
}

/// Queues a gate's deny (or would-deny) for the targets of the teams that
/// own its service.
pub fn gate_denied(
    store: &mut dyn Store,
    settings: &Settings,
    answer: &crate::gate::GateAnswer,
    at: Timestamp,
    actor: &str,
) -> Result<(), AppError> {
    let Ok(service) = Name::parse(&answer.service) else {
        return Ok(());
    };
    let owners = settings.owners(&service);
    for target in settings
        .notify
        .iter()
        .filter(|t| t.sends(Kind::Gate) && owners.contains(&t.team))
    {
        let message = compose::gate_denied(settings, &target.team, answer);
        let key = format!("gate:{}:{}", answer.service, at.micros());
        queue(store, target, key, &message, at, actor)?;
    }
    Ok(())
}

/// The target of this name, or a clear error naming the known ones.
pub fn target<'s>(settings: &'s Settings, name: &str) -> Result<&'s Target, AppError> {
    settings
        .notify
        .iter()
        .find(|t| t.name.as_str() == name)
        .ok_or_else(|| {
            let known: Vec<&str> = settings.notify.iter().map(|t| t.name.as_str()).collect();
            AppError::NotFound {
                what: "notify target",
                message: format!(
                    "no [[notify]] target `{name}`; targets: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            }
        })
}

/// A message due to be sent, with its target and body.
pub struct Due {
    pub notification: Notification,
    /// `None`: the target is gone from lantern.toml.
    pub target: Option<Target>,
    pub body: Result<serde_json::Value, String>,
}

/// The messages due at `now`, each with where and what to post.
pub fn due(
    store: &dyn Store,
    settings: &Settings,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<Due>, AppError> {
    Ok(store
        .due_notifications(now, limit)?
        .into_iter()
        .map(|n| {
            let target = settings
                .notify
                .iter()
                .find(|t| t.name.as_str() == n.target)
                .cloned();
            let body = serde_json::from_str::<Message>(&n.message)
                .map_err(|e| format!("the queued message cannot be read: {e}"))
                .and_then(|m| {
                    target
                        .as_ref()
                        .map(|t| render::render(t.format, &m))
                        .ok_or_else(|| {
                            format!("the target `{}` is no longer in lantern.toml", n.target)
                        })
                });
            Due {
                notification: n,
                target,
                body,
            }
        })
        .collect())
}

/// Records an attempt.
pub fn attempted(store: &mut dyn Store, id: i64, attempt: &Attempt) -> Result<(), AppError> {
    Ok(store.record_attempt(id, attempt)?)
}

/// What `lantern doctor` and the admin pages say about deliveries: a
/// finding per target with messages given up on in the last week or
/// being retried now.
pub fn problems(store: &dyn Store, now: Timestamp) -> Result<Vec<Note>, AppError> {
    let week_ago = now.plus_micros(-7 * MICROS_PER_DAY);
    let mut by_target: std::collections::BTreeMap<String, (usize, usize, String)> =
        Default::default();
    for n in store.notifications(None, 500)? {
        let failing = match n.state {
            Delivery::Failed => n.last_at.is_some_and(|t| t >= week_ago),
            Delivery::Pending => n.attempts > 0,
            Delivery::Delivered => false,
        };
        if !failing {
            continue;
        }
        let entry = by_target.entry(n.target.clone()).or_default();
        match n.state {
            Delivery::Failed => entry.0 += 1,
            _ => entry.1 += 1,
        }
        if entry.2.is_empty() {
            entry.2 = n.last_error.clone().unwrap_or_default();
        }
    }
    Ok(by_target
        .into_iter()
        .map(|(target, (failed, retrying, error))| {
            let mut parts = Vec::new();
            if failed > 0 {
                parts.push(format!("{} given up on this week", crate::format::plural(failed as u64, "message", "messages")));
            }
            if retrying > 0 {
                parts.push(format!("{} being retried", crate::format::plural(retrying as u64, "message", "messages")));
            }
            Note {
                check: "notify_failures",
                fault: true,
                text: format!(
                    "The notify target `{target}`: {} (last error: {error}). Check its url and the receiver; `lantern notify list` shows each message.",
                    parts.join(", ")
                ),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(day: u8, hour: u8) -> Target {
        let settings = crate::Settings::parse(
            &format!(
                "[[teams]]\nname = \"t\"\n[[notify]]\nname = \"x\"\nformat = \"json\"\nurl = \"http://127.0.0.1:9/\"\nteam = \"t\"\ndigest_day = \"{}\"\ndigest_hour = {hour}\n",
                target::WEEKDAYS[usize::from(day)]
            ),
            None,
        )
        .unwrap();
        settings.notify[0].clone()
    }

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn the_backoff_doubles_from_30_s_to_an_hour() {
        let waits: Vec<i64> = (0..9).map(|n| backoff(n) / MICROS_PER_SECOND).collect();
        assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff(u32::MAX), 3600 * MICROS_PER_SECOND);
    }

    #[test]
    fn a_digest_is_due_for_a_day_from_its_hour_and_covers_the_week_before() {
        // 2026-11-30 is a Monday.
        let monday_nine = target(0, 9);
        assert_eq!(digest_due(&monday_nine, t("2026-11-30T08:59:59Z")), None);
        let week = digest_due(&monday_nine, t("2026-11-30T09:00:00Z")).unwrap();
        assert_eq!(
            (week.from, week.to),
            (t("2026-11-23T00:00:00Z"), t("2026-11-30T00:00:00Z"))
        );
        assert_eq!(
            digest_due(&monday_nine, t("2026-12-01T08:59:59Z")),
            Some(week)
        );
        assert_eq!(
            digest_due(&monday_nine, t("2026-12-01T09:00:00Z")),
            None,
            "a day late is skipped"
        );
        let sunday_23 = target(6, 23);
        let week = digest_due(&sunday_23, t("2026-12-06T23:30:00Z")).unwrap();
        assert_eq!(
            (week.from, week.to),
            (t("2026-11-29T00:00:00Z"), t("2026-12-06T00:00:00Z"))
        );
        assert_eq!(
            digest_due(&sunday_23, t("2026-12-07T22:00:00Z")),
            Some(week),
            "past midnight, still the same day's digest"
        );
    }

    #[test]
    fn a_refusal_gives_up_at_once_and_a_failure_after_eight_attempts() {
        let mut n = Notification {
            id: 1,
            target: "x".into(),
            key: "k".into(),
            kind: "test".into(),
            team: Name::parse("t").unwrap(),
            message: "{}".into(),
            created_at: t("2026-11-30T09:00:00Z"),
            state: Delivery::Pending,
            attempts: 0,
            next_at: t("2026-11-30T09:00:00Z"),
            last_at: None,
            last_error: None,
        };
        let now = t("2026-11-30T09:00:00Z");
        assert!(matches!(
            attempt(&n, Posted::Refused("HTTP 404".into()), now),
            Attempt::GaveUp { .. }
        ));
        let failed = || Posted::Failed {
            why: "HTTP 503".into(),
            retry_after: Some(90_000),
        };
        assert_eq!(
            attempt(&n, failed(), now),
            Attempt::Retry {
                at: now,
                error: "HTTP 503".into(),
                next_at: now.plus_micros(3600 * MICROS_PER_SECOND)
            },
            "a Retry-After is honoured up to an hour"
        );
        n.attempts = MAX_ATTEMPTS - 1;
        assert!(matches!(attempt(&n, failed(), now), Attempt::GaveUp { .. }));
        assert_eq!(
            attempt(&n, Posted::Accepted, now),
            Attempt::Delivered { at: now }
        );
    }

    #[test]
    fn targets_are_checked_with_clear_errors() {
        let bad = |notify: &str| {
            crate::Settings::parse(
                &format!("[[teams]]\nname = \"t\"\n[[notify]]\n{notify}"),
                None,
            )
            .unwrap_err()
            .to_string()
        };
        let base = "name = \"x\"\nformat = \"json\"\nteam = \"t\"\n";
        assert!(bad(base).contains("has no url: set `url`, or LANTERN_NOTIFY_X_URL"));
        assert!(bad(&format!("{base}url = \"ftp://h/\"")).contains("only http and https"));
        assert!(
            bad("name = \"x\"\nformat = \"irc\"\nteam = \"t\"\nurl = \"http://h/\"")
                .contains("`irc` is not one of slack, teams, json")
        );
        assert!(
            bad("name = \"x\"\nformat = \"json\"\nteam = \"z\"\nurl = \"http://h/\"")
                .contains("`z` is not a team of the catalog (teams: t)")
        );
        assert!(
            bad(&format!("{base}url = \"http://h/\"\nsend = [\"pager\"]"))
                .contains("`pager` is not one of digest, burn, gate")
        );
        assert!(
            bad(&format!(
                "{base}url = \"http://h/\"\ndigest_day = \"someday\""
            ))
            .contains("not a weekday")
        );
        assert!(bad(&format!("{base}url = \"http://h/\"\ndigest_hour = 24")).contains("0 to 23"));
        assert!(bad(&format!("{base}url = \"http://h/\"\nsecret = 1")).contains("unknown field"));
        let twice = format!("{base}url = \"http://h/\"\n[[notify]]\n{base}url = \"http://h/\"");
        assert!(bad(&twice).contains("defined twice"));
    }
}
