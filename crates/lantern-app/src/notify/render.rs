//! A message as each kind of target takes it. Pure: a composed
//! [`Message`] in, the JSON body to post out.
//!
//! - Slack: an incoming webhook's `text` (the notification's fallback)
//!   and `blocks` (a header, the lines as mrkdwn, a link), as Slack's
//!   "Sending messages using incoming webhooks" documents;
//! - Teams: a `message` with one Adaptive Card attachment (schema 1.4), as
//!   Microsoft's "Create and send messages" documents for incoming
//!   webhooks and Workflows;
//! - JSON: Lantern's own stable shape, `{"lantern": 1, …}`.

use super::target::Format;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What is said, before it is shaped for a target: what the outbox keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `digest`, `burn`, `gate` or `test`.
    pub kind: String,
    pub team: String,
    pub title: String,
    /// The body, a line each, for people.
    pub lines: Vec<String>,
    /// Where the dashboard shows more (when a public address is known).
    pub link: Option<String>,
    /// The same for programs: figures, states, windows.
    pub data: Value,
}

/// The body to post to a target of `format`.
pub fn render(format: Format, message: &Message) -> Value {
    match format {
        Format::Slack => slack(message),
        Format::Teams => teams(message),
        Format::Json => json!({
            "lantern": 1,
            "kind": message.kind,
            "team": message.team,
            "title": message.title,
            "lines": message.lines,
            "link": message.link,
            "data": message.data,
        }),
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack(m: &Message) -> Value {
    let body = m
        .lines
        .iter()
        .map(|l| slack_escape(l))
        .collect::<Vec<_>>()
        .join("\n");
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": truncate(&m.title, 150)}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(&body, 3000)}}),
    ];
    if let Some(link) = &m.link {
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format!("<{link}|Open in Lantern>")}]
        }));
    }
    json!({"text": m.title, "blocks": blocks})
}

fn teams(m: &Message) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": m.title, "wrap": true
    })];
    body.extend(
        m.lines
            .iter()
            .map(|l| json!({"type": "TextBlock", "text": l, "wrap": true})),
    );
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if let Some(link) = &m.link {
        card["actions"] =
            json!([{"type": "Action.OpenUrl", "title": "Open in Lantern", "url": link}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }]
    })
}

/// Slack refuses a header over 150 characters and a section over 3000.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            kind: "digest".into(),
            team: "payments".into(),
            title: "payments: the week to 2026-11-30".into(),
            lines: vec!["Deployment frequency: 2 a day".into(), "a < b & c".into()],
            link: Some("https://lantern.example/teams/payments".into()),
            data: json!({"x": 1}),
        }
    }

    #[test]
    fn slack_gets_a_fallback_text_and_escaped_blocks() {
        let v = render(Format::Slack, &message());
        assert_eq!(v["text"], "payments: the week to 2026-11-30");
        assert_eq!(v["blocks"][0]["type"], "header");
        assert_eq!(
            v["blocks"][1]["text"]["text"],
            "Deployment frequency: 2 a day\na &lt; b &amp; c"
        );
        assert_eq!(
            v["blocks"][2]["elements"][0]["text"],
            "<https://lantern.example/teams/payments|Open in Lantern>"
        );
    }

    #[test]
    fn teams_gets_an_adaptive_card() {
        let v = render(Format::Teams, &message());
        assert_eq!(v["type"], "message");
        let card = &v["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["content"]["type"], "AdaptiveCard");
        assert_eq!(card["content"]["body"].as_array().unwrap().len(), 3);
        assert_eq!(card["content"]["body"][2]["text"], "a < b & c");
        assert_eq!(card["content"]["actions"][0]["type"], "Action.OpenUrl");
    }

    #[test]
    fn json_keeps_the_data() {
        let v = render(Format::Json, &message());
        assert_eq!(v["lantern"], 1);
        assert_eq!(v["data"]["x"], 1);
        assert_eq!(v["lines"][1], "a < b & c");
    }

    #[test]
    fn long_text_is_cut_to_what_slack_takes() {
        let mut m = message();
        m.title = "x".repeat(400);
        let v = render(Format::Slack, &m);
        assert_eq!(
            v["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            150
        );
    }
}
