//! The notification outbox on both stores: one message per target and
//! key, each queueing audit-logged, attempts recorded as they went.

use lantern_events::{Name, Timestamp};
use lantern_governance::AuditRecord;
use lantern_store::{Attempt, Delivery, Location, NewNotification};

mod each_store;
use each_store::each_store;

on_each_store! {
    a_key_is_queued_once_and_attempts_are_kept("notify_outbox") => outbox;
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn audit() -> AuditRecord {
    AuditRecord {
        at: t("2026-05-04T09:00:00Z"),
        actor: "lantern serve".into(),
        purpose: "weekly digest".into(),
        action: "notify.digest".into(),
        scope: "team:payments".into(),
        outcome: "queued for chat".into(),
    }
}

fn message(target: &str, key: &str) -> NewNotification {
    NewNotification {
        target: target.into(),
        key: key.into(),
        kind: "digest".into(),
        team: Name::parse("payments").unwrap(),
        message: r#"{"title":"week"}"#.into(),
        created_at: t("2026-05-04T09:00:00Z"),
    }
}

fn outbox(at: &Location) {
    let mut store = at.open().unwrap();
    let audits = |store: &dyn lantern_store::Store| {
        store
            .audit_entries(None)
            .unwrap()
            .iter()
            .filter(|e| e.record.action == "notify.digest")
            .count()
    };
    assert!(
        store
            .queue_notification(&message("chat", "digest:2026-05-04"), audit())
            .unwrap()
    );
    assert!(
        !store
            .queue_notification(&message("chat", "digest:2026-05-04"), audit())
            .unwrap(),
        "the same target and key is queued once"
    );
    assert_eq!(audits(&*store), 1, "a message not queued is not recorded");
    assert!(
        store
            .queue_notification(&message("other", "digest:2026-05-04"), audit())
            .unwrap(),
        "another target gets its own"
    );
    assert_eq!(audits(&*store), 2);

    let before = t("2026-05-04T08:59:59Z");
    assert!(store.due_notifications(before, 10).unwrap().is_empty());
    let now = t("2026-05-04T09:00:00Z");
    let due = store.due_notifications(now, 10).unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!(due[0].target, "chat");
    assert_eq!(due[0].state, Delivery::Pending);
    assert_eq!(due[0].attempts, 0);
    assert_eq!(due[0].message, r#"{"title":"week"}"#);
    assert_eq!(store.due_notifications(now, 1).unwrap().len(), 1);

    let retry_at = t("2026-05-04T09:00:30Z");
    store
        .record_attempt(
            due[0].id,
            &Attempt::Retry {
                at: now,
                error: "HTTP 503".into(),
                next_at: retry_at,
            },
        )
        .unwrap();
    store
        .record_attempt(due[1].id, &Attempt::Delivered { at: now })
        .unwrap();
    assert!(
        store.due_notifications(now, 10).unwrap().is_empty(),
        "a retry waits for its time; a delivered message is done"
    );
    let again = store.due_notifications(retry_at, 10).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(again[0].last_at, Some(now));
    store
        .record_attempt(
            again[0].id,
            &Attempt::GaveUp {
                at: retry_at,
                error: "HTTP 404".into(),
            },
        )
        .unwrap();
    assert!(
        store
            .due_notifications(t("2027-01-01T00:00:00Z"), 10)
            .unwrap()
            .is_empty()
    );

    let all = store.notifications(None, 10).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].target, "other", "newest first");
    assert_eq!(all[0].state, Delivery::Delivered);
    assert_eq!(all[0].last_error, None);
    let chat = store.notifications(Some("chat"), 10).unwrap();
    assert_eq!(chat.len(), 1);
    assert_eq!(chat[0].state, Delivery::Failed);
    assert_eq!(chat[0].attempts, 2);
    assert_eq!(chat[0].last_error.as_deref(), Some("HTTP 404"));
    assert_eq!(chat[0].last_at, Some(retry_at));
}
