//! Refusals of senders Lantern cannot name (a wrong token, a forged
//! cookie, an unsigned delivery) are recorded, but not one row each: a
//! scanner or a misconfigured sender would fill the audit log (kept two
//! years) at the speed of the network. Refusals of the same kind — the same
//! route or receiver, credential kind and reason — are recorded once a
//! minute, the first of the minute with how many the minute before had
//! beyond its own row; past `LIMIT` in a minute they are answered 429
//! without touching the store at all.

use std::collections::HashMap;
use std::sync::Mutex;

/// Refusals of one kind answered normally in one minute; past it, 429.
pub const LIMIT: u32 = 120;

/// What to do with one refusal.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Record it, noting how many of its kind went unrecorded in the
    /// minute before (0: none).
    Record { unrecorded_before: u32 },
    /// Counted, not recorded: its kind has a row this minute.
    Counted,
    /// Too many of its kind this minute: answer 429, retry after this
    /// many seconds.
    Limited { retry_after: u32 },
}

#[derive(Default)]
pub struct Refusals(Mutex<HashMap<String, (i64, u32)>>);

impl Refusals {
    /// Notes a refusal of kind `key` at `seconds` (Unix time).
    pub fn note(&self, key: &str, seconds: i64) -> Refusal {
        let minute = seconds.div_euclid(60);
        let mut kinds = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if kinds.len() > 10_000 {
            kinds.retain(|_, (m, _)| *m >= minute - 1);
        }
        let entry = kinds.entry(key.to_string()).or_insert((minute - 2, 0));
        if entry.0 == minute {
            entry.1 += 1;
            return match entry.1 {
                n if n > LIMIT => Refusal::Limited {
                    retry_after: (60 - seconds.rem_euclid(60)) as u32,
                },
                _ => Refusal::Counted,
            };
        }
        let unrecorded_before = match entry.0 == minute - 1 {
            true => entry.1.saturating_sub(1),
            false => 0,
        };
        *entry = (minute, 1);
        Refusal::Record { unrecorded_before }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_a_minute_per_kind_and_a_limit() {
        let r = Refusals::default();
        let t = 1_800_000_000; // a whole minute
        assert_eq!(
            r.note("a", t),
            Refusal::Record {
                unrecorded_before: 0
            }
        );
        assert_eq!(
            r.note("b", t),
            Refusal::Record {
                unrecorded_before: 0
            }
        );
        for _ in 1..LIMIT {
            assert_eq!(r.note("a", t + 5), Refusal::Counted);
        }
        assert_eq!(r.note("a", t + 50), Refusal::Limited { retry_after: 10 });
        // The next minute's first says how many were not recorded (the
        // counted ones and the one answered 429).
        assert_eq!(
            r.note("a", t + 61),
            Refusal::Record {
                unrecorded_before: LIMIT
            }
        );
        // After a quiet minute, nothing is carried over.
        assert_eq!(
            r.note("b", t + 200),
            Refusal::Record {
                unrecorded_before: 0
            }
        );
    }
}
