//! The webhook receivers, one [`Receiver`] each, in one table
//! ([`RECEIVERS`]): the server's one handler, the configuration's check of
//! `[sources.NAME]` and the dead-letter replay all read it.

mod cdevents;
mod events;
mod fields;
mod findings;
mod flags;
mod github;
mod gitlab;
mod incidents;
mod trackers;
mod work;

pub use work::FlowMapping;

use crate::verify;
use lantern_events::{Event, Pseudonymiser, Timestamp};
use std::collections::BTreeMap;

/// A receiver's settings (`[sources.NAME]` in lantern.toml).
#[derive(Debug, Clone, Default)]
pub struct SourceSettings {
    /// Shared secrets or signing keys; several while one is rotated out.
    pub secrets: Vec<String>,
    /// The source's name for a service → Lantern's.
    pub services: BTreeMap<String, String>,
    /// CI workflows whose successful run is a production deployment
    /// (GitHub `workflow_run`).
    pub deploy_workflows: Vec<String>,
    /// Keep the source's own incident titles (PagerDuty's title, Opsgenie's
    /// message, Alertmanager's summary). Off by default: events.md stores
    /// no free text from a source unless it is asked to.
    pub keep_titles: bool,
    /// GitHub: the label that makes an issue an incident (default
    /// `incident`).
    pub incident_label: Option<String>,
    /// Jira: the issue types that are incidents (default `Incident`).
    pub incident_types: Vec<String>,
    /// Jira: the field naming an incident's service (a custom field's id;
    /// default the first of `components`).
    pub service_field: Option<String>,
    /// The catalog's `[flow]`: trackers' states, kinds and teams (the same
    /// for every receiver).
    pub flow: FlowMapping,
}

impl SourceSettings {
    pub fn service(&self, name: &str) -> String {
        self.services
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }
}

/// What a delivery means.
#[derive(Debug)]
pub enum Mapped {
    /// Events to store (possibly none).
    Events(Vec<Event>),
    /// Facts to merge into the stored events of the same type and id.
    Merge(Vec<Event>),
    /// Work items and states (flow.md), and the tracker's states that map
    /// to none of flow.md's four: counted and shown, never dropped in
    /// silence.
    Work {
        events: Vec<Event>,
        unmapped: Vec<String>,
    },
    /// A kind of delivery Lantern does not use (answered 202 so that the
    /// sender does not retry); the reason says which.
    Ignored(String),
    /// Facts to merge, tied to others of the same chain (CDEvents'
    /// `chainId` and `links`): what the delivery lets later ones find, and
    /// what it looks up. Storing applies them; the mapping stays pure.
    Chained { events: Vec<Event>, chain: Chain },
}

/// How a delivery ties into a chain of deliveries (CDEvents).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Chain {
    /// Keys under which this delivery's pull request is found later.
    pub remember: Vec<String>,
    /// Keys that may name a merged pull request this delivery's deployment
    /// shipped: its commits, if known, become the deployment's.
    pub look_up: Vec<String>,
    /// A CI run that names no commit (CDEvents `pipelinerun.finished`):
    /// it becomes a `pipeline_run` on the merged pull request's commit
    /// that `look_up` finds, and is dropped when none is found.
    pub run: Option<PendingRun>,
    /// When a CI run started (CDEvents `pipelinerun.started`), kept under
    /// this key for its `finished` delivery.
    pub started: Option<(String, lantern_events::Timestamp)>,
}

/// A CI run waiting for its commit (see [`Chain::run`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRun {
    pub id: lantern_events::EventId,
    pub pipeline: lantern_events::Name,
    pub finished_at: lantern_events::Timestamp,
    pub status: lantern_events::PipelineStatus,
    /// Where its `started` delivery left the start (else it started when
    /// it finished, as far as Lantern knows).
    pub start_key: String,
}

/// Why a delivery could not be mapped, saying what is wrong and where.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MapError(pub String);

/// How a receiver's sender proves that a delivery is theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    /// `sha256=` and the hex HMAC-SHA256 of the body, in this header.
    HmacHeader(&'static str),
    /// The hex HMAC-SHA256 of the body alone, in this header (LaunchDarkly).
    PlainHmacHeader(&'static str),
    /// `v1=` hex HMAC-SHA256 values, comma-separated (PagerDuty: several
    /// during a rotation), in this header.
    VersionedHmacHeader(&'static str),
    /// The shared secret itself, in this header.
    SecretHeader(&'static str),
    /// `Authorization: Bearer <secret>`.
    Bearer,
}

/// One delivery as a mapping reads it.
pub struct Delivery<'a> {
    /// The headers the receiver keeps (its `kept_headers`), by name.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    pub settings: &'a SourceSettings,
    pub pseudonymiser: &'a Pseudonymiser,
    /// When Lantern received it (a dead letter's first receipt when
    /// replayed): Alertmanager's first notification is when an alert was
    /// detected.
    pub received_at: Timestamp,
}

impl Delivery<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A webhook receiver (`POST /hooks/NAME`).
pub struct Receiver {
    /// The name in its path, its `[sources.NAME]` table, its ingest
    /// tokens' `--source` and its dead letters.
    pub name: &'static str,
    proof: Proof,
    /// The headers its mapping reads, which a dead letter keeps.
    pub kept_headers: &'static [&'static str],
    mapping: fn(&Delivery) -> Result<Mapped, MapError>,
}

/// Every receiver.
pub const RECEIVERS: &[Receiver] = &[
    Receiver {
        name: "events",
        proof: Proof::Bearer,
        kept_headers: &[],
        mapping: |d| events::map(d.body, d.pseudonymiser).map(Mapped::Events),
    },
    // SLO counts only (slo.md): an exporter's ingest token for `sli` can
    // write counts and nothing else.
    Receiver {
        name: "sli",
        proof: Proof::Bearer,
        kept_headers: &[],
        mapping: |d| events::map_sli(d.body, d.pseudonymiser).map(Mapped::Events),
    },
    Receiver {
        name: "github",
        proof: Proof::HmacHeader("x-hub-signature-256"),
        kept_headers: &["x-github-event", "x-github-delivery", "content-type"],
        mapping: |d| {
            github::map(
                d.header("x-github-event"),
                d.header("content-type"),
                d.body,
                d.settings,
                d.pseudonymiser,
                d.received_at,
            )
        },
    },
    Receiver {
        name: "gitlab",
        proof: Proof::SecretHeader("x-gitlab-token"),
        kept_headers: &[],
        mapping: |d| gitlab::map(d.body, d.settings, d.pseudonymiser),
    },
    Receiver {
        name: "pagerduty",
        proof: Proof::VersionedHmacHeader("x-pagerduty-signature"),
        kept_headers: &[],
        mapping: |d| incidents::pagerduty(d.body, d.settings),
    },
    Receiver {
        name: "opsgenie",
        proof: Proof::Bearer,
        kept_headers: &[],
        mapping: |d| incidents::opsgenie(d.body, d.settings),
    },
    Receiver {
        name: "alertmanager",
        proof: Proof::Bearer,
        kept_headers: &[],
        mapping: |d| incidents::alertmanager(d.body, d.settings, d.received_at),
    },
    // Feature-flag tools: flag changes become annotations (hygiene.md F5).
    Receiver {
        name: "launchdarkly",
        proof: Proof::PlainHmacHeader("x-ld-signature"),
        kept_headers: &[],
        mapping: |d| flags::launchdarkly(d.body, d.settings),
    },
    Receiver {
        name: "unleash",
        proof: Proof::Bearer,
        kept_headers: &[],
        mapping: |d| flags::unleash(d.body, d.settings),
    },
    // Jira Cloud signs with a secret as GitHub does.
    Receiver {
        name: "jira",
        proof: Proof::HmacHeader("x-hub-signature"),
        kept_headers: &[],
        mapping: |d| trackers::jira(d.body, d.settings),
    },
    Receiver {
        name: "cdevents",
        proof: Proof::Bearer,
        kept_headers: &["ce-type", "ce-id"],
        mapping: |d| cdevents::map(d.header("ce-type"), d.body, d.settings),
    },
];

/// The receiver of this name.
pub fn receiver(name: &str) -> Result<&'static Receiver, MapError> {
    RECEIVERS.iter().find(|r| r.name == name).ok_or_else(|| {
        let known: Vec<&str> = RECEIVERS.iter().map(|r| r.name).collect();
        MapError(format!(
            "no receiver `{name}`; receivers: {}",
            known.join(", ")
        ))
    })
}

impl Receiver {
    /// Maps one delivery (a live one, or a dead letter replayed).
    pub fn map(&self, delivery: &Delivery) -> Result<Mapped, MapError> {
        (self.mapping)(delivery)
    }

    /// Whether the delivery carries this source's signature or shared
    /// secret; `header` reads a request header by lower-case name. A
    /// receiver with no secret configured refuses everything rather than
    /// trusting everyone.
    pub fn signed<'h>(
        &self,
        settings: &SourceSettings,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
    ) -> bool {
        let secrets = &settings.secrets;
        match self.proof {
            Proof::HmacHeader(name) => header(name)
                .and_then(|s| s.strip_prefix("sha256="))
                .is_some_and(|sig| verify::hmac_sha256_matches(secrets, body, sig)),
            Proof::PlainHmacHeader(name) => {
                header(name).is_some_and(|sig| verify::hmac_sha256_matches(secrets, body, sig))
            }
            Proof::VersionedHmacHeader(name) => header(name).is_some_and(|all| {
                all.split(',')
                    .filter_map(|s| s.trim().strip_prefix("v1="))
                    .any(|sig| verify::hmac_sha256_matches(secrets, body, sig))
            }),
            Proof::SecretHeader(name) => {
                header(name).is_some_and(|token| verify::secret_matches(secrets, token))
            }
            Proof::Bearer => verify::bearer_matches(secrets, header("authorization")),
        }
    }

    /// Whether the delivery carries credentials at all (its proof's header
    /// or `Authorization`): a refusal of those is worth recording, a bare
    /// request is not.
    pub fn carries_credentials(&self, has_header: impl Fn(&str) -> bool) -> bool {
        let proof = match self.proof {
            Proof::HmacHeader(h)
            | Proof::PlainHmacHeader(h)
            | Proof::VersionedHmacHeader(h)
            | Proof::SecretHeader(h) => h,
            Proof::Bearer => "authorization",
        };
        has_header(proof) || has_header("authorization")
    }
}
