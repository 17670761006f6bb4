//! `[[notify]]` in lantern.toml: where messages go, in which format, for
//! which team, and which of them. A webhook's address is a secret (it is
//! the only credential chat webhooks have): it may come from the
//! environment, and it is never printed, logged or shown.

use crate::AppError;
use crate::settings::Team;
use lantern_events::Name;
use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifyEntry {
    name: String,
    format: String,
    url: Option<String>,
    team: String,
    send: Option<Vec<String>>,
    digest_day: Option<String>,
    digest_hour: Option<u32>,
}

/// How a target wants its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Slack's incoming webhooks (and the chat tools that accept their
    /// JSON: Mattermost, Rocket.Chat, Zulip's Slack endpoint).
    Slack,
    /// Microsoft Teams: an Adaptive Card in a message, as Teams' incoming
    /// webhooks and Workflows take it.
    Teams,
    /// Lantern's own JSON, for any receiver.
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Slack => "slack",
            Format::Teams => "teams",
            Format::Json => "json",
        }
    }
}

/// What a target may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// The weekly team digest.
    Digest,
    /// An SLO's burn-rate alert.
    Burn,
    /// A deploy gate's deny.
    Gate,
    /// `lantern notify test`: checks the wiring (always allowed).
    Test,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Digest => "digest",
            Kind::Burn => "burn",
            Kind::Gate => "gate",
            Kind::Test => "test",
        }
    }

    fn parse(text: &str) -> Option<Kind> {
        [Kind::Digest, Kind::Burn, Kind::Gate]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A webhook address: shown as its scheme and host only.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// The whole address, for the one place that posts to it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `https://hooks.example.com/…`: enough to tell targets apart.
    pub fn redacted(&self) -> String {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("", &self.0));
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit('@').next().unwrap_or(host);
        format!("{scheme}://{host}/…")
    }

    fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err("is not an address (http:// or https://)".into());
        };
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "uses `{scheme}`; only http and https are posted to"
            ));
        }
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || text.chars().any(char::is_whitespace) {
            return Err("has no host, or holds a space".into());
        }
        Ok(WebhookUrl(text.to_string()))
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookUrl({})", self.redacted())
    }
}

/// A checked `[[notify]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: Name,
    pub format: Format,
    pub url: WebhookUrl,
    pub team: Name,
    pub send: BTreeSet<Kind>,
    /// 0 = Monday … 6 = Sunday.
    pub digest_day: u8,
    /// The UTC hour the digest leaves, 0–23.
    pub digest_hour: u8,
}

impl Target {
    pub fn sends(&self, kind: Kind) -> bool {
        kind == Kind::Test || self.send.contains(&kind)
    }

    /// What it is sent, as people read it: "digest, burn, gate".
    pub fn sends_text(&self) -> String {
        let kinds: Vec<&str> = self.send.iter().map(|k| k.as_str()).collect();
        kinds.join(", ")
    }

    /// When its digest leaves: "monday 09:00 UTC".
    pub fn digest_time(&self) -> String {
        format!(
            "{} {:02}:00 UTC",
            WEEKDAYS[usize::from(self.digest_day)],
            self.digest_hour
        )
    }
}

pub const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The environment variable that may hold a target's address:
/// `LANTERN_NOTIFY_<NAME>_URL`, the name upper-cased with `-` as `_`.
pub fn url_variable(name: &str) -> String {
    format!(
        "LANTERN_NOTIFY_{}_URL",
        name.to_uppercase().replace(['-', '.'], "_")
    )
}

/// The entries, checked: a unique name, a known format, an address (from
/// the file or the environment, the environment winning), a team of the
/// catalog, known kinds, a weekday and an hour.
pub(crate) fn targets(
    entries: Vec<NotifyEntry>,
    teams: &[Team],
    where_: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Target>, AppError> {
    let mut out: Vec<Target> = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let at = format!("{where_}: notify[{i}]");
        let bad = |m: String| AppError::Config(format!("{at}{m}"));
        let name = Name::parse(&e.name).map_err(|m| bad(format!(".name {m}")))?;
        if out.iter().any(|t| t.name == name) {
            return Err(bad(format!(": the target `{name}` is defined twice")));
        }
        let format = match e.format.as_str() {
            "slack" => Format::Slack,
            "teams" => Format::Teams,
            "json" => Format::Json,
            other => {
                return Err(bad(format!(
                    ".format `{other}` is not one of slack, teams, json"
                )));
            }
        };
        let variable = url_variable(name.as_str());
        let url = match env(&variable).filter(|v| !v.trim().is_empty()).or(e.url) {
            Some(u) => WebhookUrl::parse(&u).map_err(|m| bad(format!(".url {m}")))?,
            None => {
                return Err(bad(format!(
                    " (`{name}`) has no url: set `url`, or {variable} in the environment"
                )));
            }
        };
        let team = teams
            .iter()
            .find(|t| t.name.as_str() == e.team)
            .ok_or_else(|| {
                let known: Vec<&str> = teams.iter().map(|t| t.name.as_str()).collect();
                bad(format!(
                    ".team `{}` is not a team of the catalog (teams: {})",
                    e.team,
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ))
            })?
            .name
            .clone();
        let send = match e.send {
            None => [Kind::Digest, Kind::Burn, Kind::Gate].into_iter().collect(),
            Some(list) => {
                let mut kinds = BTreeSet::new();
                for word in list {
                    kinds.insert(Kind::parse(&word).ok_or_else(|| {
                        bad(format!(".send `{word}` is not one of digest, burn, gate"))
                    })?);
                }
                kinds
            }
        };
        let day = e.digest_day.unwrap_or_else(|| "monday".into());
        let digest_day = WEEKDAYS
            .iter()
            .position(|d| d.eq_ignore_ascii_case(&day))
            .ok_or_else(|| {
                bad(format!(
                    ".digest_day `{day}` is not a weekday (monday … sunday)"
                ))
            })? as u8;
        let digest_hour = match e.digest_hour.unwrap_or(9) {
            h @ 0..=23 => h as u8,
            h => return Err(bad(format!(".digest_hour must be 0 to 23 (UTC), got {h}"))),
        };
        out.push(Target {
            name,
            format,
            url,
            team,
            send,
            digest_day,
            digest_hour,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_shown_by_its_host_only() {
        let u = WebhookUrl::parse("https://hooks.slack.com/services/T0/B0/secret").unwrap();
        assert_eq!(u.redacted(), "https://hooks.slack.com/…");
        assert!(!format!("{u:?}").contains("secret"));
        let u = WebhookUrl::parse("http://user:pw@127.0.0.1:9/x").unwrap();
        assert_eq!(u.redacted(), "http://127.0.0.1:9/…");
        assert!(WebhookUrl::parse("ftp://x/y").is_err());
        assert!(WebhookUrl::parse("hooks.slack.com").is_err());
        assert!(WebhookUrl::parse("https:///x").is_err());
        assert!(WebhookUrl::parse("https://a b/").is_err());
    }

    #[test]
    fn the_variable_is_the_upper_cased_name() {
        assert_eq!(
            url_variable("payments-chat"),
            "LANTERN_NOTIFY_PAYMENTS_CHAT_URL"
        );
    }
}
