//! Sources that report one fact at a time (an incident triggered, then
//! acknowledged, then resolved; a pull request opened, then reviewed, then
//! merged) send partial versions of one event. Merging a new version with
//! the stored one keeps what the new one leaves out.

use crate::{Event, Timestamp};

impl Event {
    /// Fills what this version leaves out from an `earlier` version of the
    /// same event; where both know a start time, the earlier one wins. A
    /// different type, or an annotation, is left as it is (replaced whole).
    pub fn fill_from(&mut self, earlier: &Event) {
        /// Each named field the newer event does not know, from the older.
        macro_rules! keep {
            ($new:ident, $old:ident; $($field:ident),+) => {
                $(if $new.$field.is_none() {
                    $new.$field.clone_from(&$old.$field);
                })+
            };
        }
        match (self, earlier) {
            (Event::Incident(n), Event::Incident(o)) => {
                n.started_at = n.started_at.min(o.started_at);
                // Detected once: the first notification (Alertmanager sends
                // one a delivery) is when.
                n.detected_at = earliest(n.detected_at, o.detected_at);
                keep! { n, o;
                    acknowledged_at, resolved_at, severity, cause,
                    caused_by, caused_by_sha, title
                }
                for s in &o.services {
                    if !n.services.contains(s) && *s != n.service {
                        n.services.push(s.clone());
                    }
                }
            }
            (Event::PullRequest(n), Event::PullRequest(o)) => {
                n.opened_at = n.opened_at.min(o.opened_at);
                n.first_review_at = earliest(n.first_review_at, o.first_review_at);
                keep! { n, o;
                    approved_at, merged_at, closed_at, merge_sha, head_sha,
                    first_commit_at, additions, deletions, author
                }
                for c in &o.commits {
                    if !n.commits.contains(c) {
                        n.commits.push(*c);
                    }
                }
            }
            (Event::Deployment(n), Event::Deployment(o)) => {
                keep! { n, o;
                    started_at, repo, sha, changes, kind, rollback_of, automated, rollout
                }
            }
            (Event::Change(n), Event::Change(o)) => {
                if n.parents.is_empty() {
                    n.parents.clone_from(&o.parents);
                }
                keep! { n, o;
                    author, pull_request
                }
            }
            _ => {}
        }
    }
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Pseudonymiser, parse_event_json};

    fn event(json: &str) -> crate::Event {
        parse_event_json(json, &Pseudonymiser::from_key([1; 32])).unwrap()
    }

    #[test]
    fn an_incident_is_completed_fact_by_fact() {
        let triggered = event(
            r#"{"type":"incident","id":"i","service":"api","started_at":"2026-01-01T10:00:00Z","title":"Errors"}"#,
        );
        let mut acked = event(
            r#"{"type":"incident","id":"i","service":"api","started_at":"2026-01-01T10:05:00Z","acknowledged_at":"2026-01-01T10:07:00Z"}"#,
        );
        acked.fill_from(&triggered);
        let mut resolved = event(
            r#"{"type":"incident","id":"i","service":"api","started_at":"2026-01-01T10:05:00Z","resolved_at":"2026-01-01T11:00:00Z"}"#,
        );
        resolved.fill_from(&acked);
        let whole = event(
            r#"{"type":"incident","id":"i","service":"api","started_at":"2026-01-01T10:00:00Z","acknowledged_at":"2026-01-01T10:07:00Z","resolved_at":"2026-01-01T11:00:00Z","title":"Errors"}"#,
        );
        assert_eq!(resolved, whole);
    }

    #[test]
    fn a_pull_request_keeps_its_first_review_through_later_updates() {
        let reviewed = event(
            r#"{"type":"pull_request","id":"p","repo":"r","opened_at":"2026-01-01T10:00:00Z","first_review_at":"2026-01-01T12:00:00Z"}"#,
        );
        let mut merged = event(
            r#"{"type":"pull_request","id":"p","repo":"r","opened_at":"2026-01-01T10:00:00Z","merged_at":"2026-01-02T10:00:00Z","merge_sha":"abcdef0"}"#,
        );
        merged.fill_from(&reviewed);
        let whole = event(
            r#"{"type":"pull_request","id":"p","repo":"r","opened_at":"2026-01-01T10:00:00Z","first_review_at":"2026-01-01T12:00:00Z","merged_at":"2026-01-02T10:00:00Z","merge_sha":"abcdef0"}"#,
        );
        assert_eq!(merged, whole);
        // A different type is not merged.
        let mut other = event(
            r#"{"type":"annotation","id":"p","scope":{"org":true},"kind":"note","from":"2026-01-01T00:00:00Z","title":"x"}"#,
        );
        let before = other.clone();
        other.fill_from(&reviewed);
        assert_eq!(other, before);
    }
}
