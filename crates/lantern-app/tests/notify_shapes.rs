//! Lantern's chat messages have the shapes the vendors document for their
//! incoming webhooks (tests/fixtures/notify, sources in its README): the
//! same keys at every level, the same block and element types.

use lantern_app::notify::render::{Message, render};
use lantern_app::notify::target::Format;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/notify/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn message() -> Message {
    Message {
        kind: "digest".into(),
        team: "payments".into(),
        title: "payments: the week 2026-11-23 to 2026-11-29".into(),
        lines: vec![
            "Deployment frequency: 1 a day (week before 0.57 a day; +0.43 a day (+75 %))".into(),
            "Lead time for changes: 2 hours".into(),
        ],
        link: Some("https://lantern.example/teams/payments".into()),
        data: serde_json::json!({}),
    }
}

/// The same keys in every object, the same `type` wherever the vendor's
/// example names one; arrays compared item by item up to the shorter.
fn same_shape(ours: &Value, theirs: &Value, at: &str) {
    match (ours, theirs) {
        (Value::Object(o), Value::Object(t)) => {
            let ok: Vec<&String> = o.keys().collect();
            let tk: Vec<&String> = t.keys().collect();
            assert_eq!(ok, tk, "keys at {at}");
            if let Some(kind) = t.get("type") {
                assert_eq!(o.get("type"), Some(kind), "type at {at}");
            }
            for (k, v) in t {
                same_shape(&o[k], v, &format!("{at}.{k}"));
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            for (i, (a, b)) in o.iter().zip(t).enumerate() {
                same_shape(a, b, &format!("{at}[{i}]"));
            }
        }
        (a, b) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{at}: {a} against {b}"
        ),
    }
}

#[test]
fn slack_messages_have_the_documented_incoming_webhook_shape() {
    let ours = render(Format::Slack, &message());
    same_shape(&ours, &fixture("slack-incoming-webhook.json"), "slack");
    assert_eq!(ours["blocks"].as_array().unwrap().len(), 3);
}

#[test]
fn teams_messages_are_the_documented_adaptive_card_message() {
    let ours = render(Format::Teams, &message());
    let mut theirs = fixture("teams-incoming-webhook.json");
    // The vendor's example has two text blocks; ours one per line and the title.
    let body = theirs["attachments"][0]["content"]["body"]
        .as_array()
        .unwrap()
        .clone();
    theirs["attachments"][0]["content"]["body"] =
        Value::Array(vec![body[0].clone(), body[1].clone(), body[1].clone()]);
    same_shape(&ours, &theirs, "teams");
}
