//! CDEvents 0.4 and 0.5, in CloudEvents binary mode (the CDEvent is the
//! body, `ce-*` headers carry the envelope) or structured mode (the body is
//! a CloudEvent whose `data` is the CDEvent), or a bare CDEvent.
//!
//! - `service.deployed|upgraded|rolledback`: a deployment of the subject
//!   service to `environment.id` (a rollback says so);
//! - `incident.detected|reported|resolved`: an incident of
//!   `content.service.id`, fact by fact;
//! - `change.created|reviewed|merged|abandoned`: a pull request of
//!   `content.repository.id`, fact by fact;
//! - `pipelinerun.finished`: a `pipeline_run` (hygiene.md) on the commit of
//!   the merged change its chain names, when Lantern knows one (a
//!   pipelineRun names no commit; `pipelinerun.started` gives its start);
//!   of a pipeline in `deploy_workflows`, also a production deployment of
//!   the service the pipeline is mapped to;
//! - `ticket.created|closed` with `ticketType` `incident`: an incident;
//! - anything else: accepted and ignored.
//!
//! A deployment feeds lead time when its `artifactId` is a package URL
//! that names a commit (see [`commit_of`]): a `vcs_url` qualifier ending in
//! `@COMMIT`, or a `pkg:github|gitlab|bitbucket/OWNER/REPO@COMMIT`. Other
//! artifacts (an OCI image digest, a version number) name no commit: those
//! deployments count for frequency and failures but not lead time.

use super::fields::{id, name, text};
use super::{Chain, MapError, Mapped, PendingRun, SourceSettings};
use lantern_events::{
    Deployment, DeploymentKind, DeploymentStatus, Event, Incident, PipelineStatus, PullRequest,
    Sha, Timestamp,
};
use serde_json::Value;

pub fn map(
    ce_type: Option<&str>,
    body: &[u8],
    settings: &SourceSettings,
) -> Result<Mapped, MapError> {
    let v = super::fields::parse(body)?;
    // Structured mode wraps the CDEvent in a CloudEvent's `data`.
    let event = match v.get("data") {
        Some(data) if data.get("context").is_some() => data,
        _ => &v,
    };
    if event.get("context").is_none() {
        return Err(MapError("no CDEvent: `context` is missing".into()));
    }
    let kind = match ce_type {
        Some(t) => t,
        None => text(event, "/context/type")?,
    };
    let mut parts = kind.strip_prefix("dev.cdevents.").unwrap_or("").split('.');
    let (subject, predicate) = match (parts.next(), parts.next()) {
        (Some(s), Some(p)) if !s.is_empty() => (s, p),
        _ => {
            return Err(MapError(format!(
                "`{kind}` is not a CDEvents type (dev.cdevents.SUBJECT.PREDICATE.VERSION)"
            )));
        }
    };
    let at = Timestamp::parse_rfc3339(text(event, "/context/timestamp")?)
        .map_err(|m| MapError(format!("`/context/timestamp`: {m}")))?;
    let content = event.pointer("/subject/content").unwrap_or(&Value::Null);
    match (subject, predicate) {
        ("service", "deployed" | "upgraded" | "rolledback") => {
            let service = settings.service(text(event, "/subject/id")?);
            let commit = content
                .get("artifactId")
                .and_then(Value::as_str)
                .and_then(commit_of);
            let (repo, sha) = match commit {
                Some((repo, sha)) => (Some(name(&repo, "repository")?), Some(sha)),
                None => (None, None),
            };
            let mut d = Deployment::finished(
                id(format!("cdevents:{}", text(event, "/context/id")?))?,
                name(&service, "service")?,
                name(text(content, "/environment/id")?, "environment")?,
                DeploymentStatus::Success,
                at,
            );
            d.kind = (predicate == "rolledback").then_some(DeploymentKind::Rollback);
            if sha.is_none() {
                // No commit in the artifact: the chain may name the merged
                // change this deployment carried.
                let chain = Chain {
                    look_up: chain_keys(event),
                    ..Chain::default()
                };
                return Ok(Mapped::Chained {
                    events: vec![Event::Deployment(d)],
                    chain,
                });
            }
            (d.repo, d.sha) = (repo, sha);
            Ok(Mapped::Merge(vec![Event::Deployment(d)]))
        }
        ("incident", "detected" | "reported" | "resolved") => {
            let mut i = incident(event, content, settings, "/service/id", at)?;
            match predicate {
                "detected" => i.detected_at = Some(at),
                "resolved" => i.resolved_at = Some(at),
                _ => {}
            }
            Ok(Mapped::Merge(vec![Event::Incident(i)]))
        }
        ("ticket", "created" | "closed")
            if content.get("ticketType").and_then(Value::as_str) == Some("incident") =>
        {
            let service = content
                .get("group")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    MapError("an incident ticket needs `group` to name its service".into())
                })?;
            let mut i = incident(event, content, settings, "", at)?;
            i.service = name(&settings.service(service), "service")?;
            if predicate == "closed" {
                i.resolved_at = Some(at);
            }
            Ok(Mapped::Merge(vec![Event::Incident(i)]))
        }
        ("change", "created" | "reviewed" | "merged" | "abandoned") => {
            let repo = text(content, "/repository/id")?;
            let mut pr = PullRequest::opened(
                id(format!("{repo}#{}", text(event, "/subject/id")?))?,
                name(repo, "repository")?,
                at,
            );
            match predicate {
                "reviewed" => pr.first_review_at = Some(at),
                "merged" => {
                    pr.merged_at = Some(at);
                    pr.closed_at = Some(at);
                }
                "abandoned" => pr.closed_at = Some(at),
                _ => {}
            }
            if predicate == "merged" {
                // Later events of its chain, or linking to it, find it.
                let mut remember = vec![context_key(text(event, "/context/id")?)];
                remember.extend(
                    event
                        .pointer("/context/chainId")
                        .and_then(Value::as_str)
                        .map(chain_key),
                );
                let chain = Chain {
                    remember,
                    ..Chain::default()
                };
                return Ok(Mapped::Chained {
                    events: vec![Event::PullRequest(pr)],
                    chain,
                });
            }
            Ok(Mapped::Merge(vec![Event::PullRequest(pr)]))
        }
        ("pipelinerun", "started") => Ok(Mapped::Chained {
            events: Vec::new(),
            chain: Chain {
                started: Some((run_key(text(event, "/subject/id")?), at)),
                ..Chain::default()
            },
        }),
        ("pipelinerun", "finished") => {
            let pipeline = text(content, "/pipelineName")?;
            let status = match content.get("outcome").and_then(Value::as_str) {
                Some("success") => PipelineStatus::Success,
                Some("cancel" | "cancelled") => PipelineStatus::Cancelled,
                _ => PipelineStatus::Failure,
            };
            let subject = text(event, "/subject/id")?;
            // A pipelineRun names no commit: the run is recorded on the
            // commit of the merged change its chain names, if known.
            let run = PendingRun {
                id: id(format!("cdevents:run:{subject}"))?,
                pipeline: name(pipeline, "pipeline")?,
                finished_at: at,
                status,
                start_key: run_key(subject),
            };
            let mut events = Vec::new();
            if settings.deploy_workflows.iter().any(|w| w == pipeline) {
                let status = match status {
                    PipelineStatus::Success => DeploymentStatus::Success,
                    PipelineStatus::Failure => DeploymentStatus::Failure,
                    PipelineStatus::Cancelled => DeploymentStatus::Cancelled,
                };
                let mut d = Deployment::finished(
                    id(format!("cdevents:{}", text(event, "/context/id")?))?,
                    name(&settings.service(pipeline), "service")?,
                    name("production", "environment")?,
                    status,
                    at,
                );
                d.automated = Some(true);
                events.push(Event::Deployment(d));
            }
            Ok(Mapped::Chained {
                events,
                chain: Chain {
                    look_up: chain_keys(event),
                    run: Some(run),
                    ..Chain::default()
                },
            })
        }
        _ => Ok(Mapped::Ignored(format!(
            "CDEvents `{subject}.{predicate}` is not used"
        ))),
    }
}

fn run_key(subject: &str) -> String {
    format!("cdevents.run.{subject}")
}

fn chain_key(chain: &str) -> String {
    format!("cdevents.chain.{chain}")
}

fn context_key(context: &str) -> String {
    format!("cdevents.context.{context}")
}

/// Where a deployment's merged change may be found: its chain, and the
/// contexts its `links` point at (CDEvents 0.4+: `from` and `target`).
fn chain_keys(event: &Value) -> Vec<String> {
    let mut keys: Vec<String> = event
        .pointer("/context/chainId")
        .and_then(Value::as_str)
        .map(chain_key)
        .into_iter()
        .collect();
    for link in event
        .pointer("/context/links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for end in ["/from/contextId", "/target/contextId"] {
            keys.extend(link.pointer(end).and_then(Value::as_str).map(context_key));
        }
    }
    keys
}

/// An incident named by its subject; `service_path` in the content names
/// its service (empty: the caller sets it).
fn incident(
    event: &Value,
    content: &Value,
    settings: &SourceSettings,
    service_path: &str,
    at: Timestamp,
) -> Result<Incident, MapError> {
    let service = if service_path.is_empty() {
        "unknown".to_string()
    } else {
        settings.service(text(content, service_path)?)
    };
    Ok(Incident {
        id: id(format!(
            "cdevents:{}:{}",
            text(event, "/subject/source").or_else(|_| text(event, "/context/source"))?,
            text(event, "/subject/id")?
        ))?,
        service: name(&service, "service")?,
        services: Vec::new(),
        started_at: at,
        detected_at: None,
        acknowledged_at: None,
        resolved_at: None,
        severity: event
            .pointer("/customData/severity")
            .or_else(|| content.get("priority"))
            .and_then(Value::as_str)
            .map(str::to_string),
        cause: None,
        caused_by: None,
        caused_by_sha: None,
        title: None,
    })
}

/// The repository and commit a package URL (purl) names, when it names
/// one: its `vcs_url` qualifier (`git+https://host/owner/repo.git@COMMIT`),
/// or a source host's package (`pkg:github/owner/repo@COMMIT`, likewise
/// `gitlab` and `bitbucket`) whose version is a commit id.
pub fn commit_of(purl: &str) -> Option<(String, Sha)> {
    let rest = purl.strip_prefix("pkg:")?;
    let (path, qualifiers) = match rest.split_once('?') {
        Some((p, q)) => (p, q.split('#').next().unwrap_or("")),
        None => (rest.split('#').next().unwrap_or(rest), ""),
    };
    for pair in qualifiers.split('&') {
        if let Some(url) = pair.strip_prefix("vcs_url=") {
            let url = percent_decode(url)?;
            let (location, commit) = url.rsplit_once('@')?;
            let location = location.trim_end_matches(".git");
            let repo = location.rsplitn(3, '/').collect::<Vec<_>>();
            if let [name, owner, _] = repo[..] {
                return Some((format!("{owner}/{name}"), Sha::parse(commit).ok()?));
            }
            return None;
        }
    }
    let (kind, rest) = path.split_once('/')?;
    if !matches!(kind, "github" | "gitlab" | "bitbucket") {
        return None;
    }
    let (repo, version) = rest.rsplit_once('@')?;
    let repo = percent_decode(repo)?;
    Some((repo, Sha::parse(&percent_decode(version)?).ok()?))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_urls_name_a_commit_only_when_they_say_one() {
        let sha = |s: &str| Sha::parse(s).unwrap();
        assert_eq!(
            commit_of("pkg:github/acme/shop@9f2c1e0a3b4c5d6e7f8091a2b3c4d5e6f7081920"),
            Some((
                "acme/shop".into(),
                sha("9f2c1e0a3b4c5d6e7f8091a2b3c4d5e6f7081920")
            ))
        );
        assert_eq!(
            commit_of(
                "pkg:oci/shop@sha256%3Aabc?vcs_url=git%2Bhttps%3A%2F%2Fgithub.com%2Facme%2Fshop.git%409f2c1e0"
            ),
            Some(("acme/shop".into(), sha("9f2c1e0")))
        );
        // An image digest, a version, a tag: no commit.
        for none in [
            "pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427",
            "pkg:github/acme/shop@v1.2.0",
            "pkg:npm/left-pad@1.3.0",
            "not a purl",
            "pkg:github/acme/shop@%zz",
        ] {
            assert_eq!(commit_of(none), None, "{none}");
        }
    }

    #[test]
    fn a_deployment_that_names_its_commit_feeds_lead_time() {
        let fixture = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../lantern-server/tests/fixtures/cdevents/v0.4.1/conformance/service_deployed.json"
        ));
        let mut v: Value = serde_json::from_str(fixture).unwrap();
        let settings = SourceSettings::default();
        let deployment = |v: &Value| match map(None, v.to_string().as_bytes(), &settings) {
            Ok(Mapped::Merge(events) | Mapped::Chained { events, .. }) => match &events[0] {
                Event::Deployment(d) => d.clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        // The conformance example deploys an image digest: no commit.
        let d = deployment(&v);
        assert_eq!((d.repo, d.sha), (None, None));
        v["subject"]["content"]["artifactId"] =
            "pkg:github/acme/shop@9f2c1e0a3b4c5d6e7f8091a2b3c4d5e6f7081920".into();
        let d = deployment(&v);
        assert_eq!(d.repo.unwrap().as_str(), "acme/shop");
        assert_eq!(
            d.sha.unwrap(),
            Sha::parse("9f2c1e0a3b4c5d6e7f8091a2b3c4d5e6f7081920").unwrap()
        );
    }
}
