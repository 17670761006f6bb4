//! GitLab webhooks (`object_kind` in the body): `deployment` (a final
//! status is a deployment; tier `production` makes it production),
//! `merge_request` (opened, approved, merged, closed: merged into what is
//! stored), `push` (its commits, each with the one before as parent) and
//! `pipeline` (a finished pipeline is a `pipeline_run`), `issue`
//! (`trackers`) and `vulnerability` (a `finding`: `findings`).
//! GitLab writes times as `2021-04-28 21:50:00 +0200`, `… UTC` or ISO 8601;
//! all are read.

use super::fields::{commits, id, name, pushed_changes, text};
use super::{MapError, Mapped, SourceSettings};
use lantern_events::{
    Deployment, DeploymentStatus, Event, PipelineRun, PipelineStatus, Pseudonymiser, PullRequest,
    Sha, Timestamp,
};
use serde_json::Value;

/// GitLab's several timestamp formats.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(t) = Timestamp::parse_rfc3339(text) {
        return Some(t);
    }
    let utc =
        |naive: chrono::NaiveDateTime| Timestamp::from_micros(naive.and_utc().timestamp_micros());
    if let Ok(t) = chrono::DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z") {
        return Some(Timestamp::from_micros(t.timestamp_micros()));
    }
    if let Some(plain) = text.strip_suffix(" UTC") {
        return chrono::NaiveDateTime::parse_from_str(plain, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(utc);
    }
    None
}

fn time(v: &Value, path: &str) -> Result<Timestamp, MapError> {
    let raw = text(v, path)?;
    parse_time(raw)
        .ok_or_else(|| MapError(format!("`{path}`: `{raw}` is not a time GitLab writes")))
}

fn opt_time(v: &Value, path: &str) -> Result<Option<Timestamp>, MapError> {
    match v.pointer(path) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => time(v, path).map(Some),
    }
}

pub fn map(
    body: &[u8],
    settings: &SourceSettings,
    pseudonymiser: &Pseudonymiser,
) -> Result<Mapped, MapError> {
    let v = super::fields::parse(body)?;
    match v.get("object_kind").and_then(Value::as_str) {
        Some("deployment") => deployment(&v, settings),
        Some("merge_request") => merge_request(&v, pseudonymiser),
        Some("push") => push(&v, pseudonymiser),
        Some("pipeline") => pipeline(&v),
        Some("issue") => super::trackers::gitlab_issue(&v, settings, time),
        Some("vulnerability") => super::findings::gitlab_vulnerability(&v, time),
        Some(other) => Ok(Mapped::Ignored(format!(
            "GitLab `{other}` hooks are not used"
        ))),
        None => Err(MapError("`object_kind` is missing".into())),
    }
}

/// A finished pipeline. GitLab retries jobs inside one pipeline, which keeps
/// its id, so every pipeline is a first attempt; its later outcome
/// replaces the earlier one (the hook says nothing of attempts).
fn pipeline(v: &Value) -> Result<Mapped, MapError> {
    let status = match text(v, "/object_attributes/status")? {
        "success" => PipelineStatus::Success,
        "failed" => PipelineStatus::Failure,
        "canceled" | "cancelled" => PipelineStatus::Cancelled,
        other => {
            return Ok(Mapped::Ignored(format!(
                "pipeline status `{other}` is not final"
            )));
        }
    };
    let path = text(v, "/project/path_with_namespace")?;
    let number = super::fields::number(v, "/object_attributes/id")?;
    let pipeline = v
        .pointer("/object_attributes/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or(".gitlab-ci.yml");
    let sha = Sha::parse(text(v, "/object_attributes/sha")?)
        .map_err(|m| MapError(format!("`/object_attributes/sha`: {m}")))?;
    let started_at = time(v, "/object_attributes/created_at")?;
    let finished_at = opt_time(v, "/object_attributes/finished_at")?.unwrap_or(started_at);
    Ok(Mapped::Events(vec![Event::PipelineRun(PipelineRun {
        id: id(format!("gitlab:{path}:pipeline:{number}"))?,
        repo: name(path, "project")?,
        sha,
        pipeline: name(pipeline, "pipeline")?,
        started_at,
        finished_at,
        status,
        attempt: 1,
    })]))
}

fn deployment(v: &Value, settings: &SourceSettings) -> Result<Mapped, MapError> {
    let status = match text(v, "/status")? {
        "success" => DeploymentStatus::Success,
        "failed" => DeploymentStatus::Failure,
        "canceled" | "cancelled" => DeploymentStatus::Cancelled,
        other => {
            return Ok(Mapped::Ignored(format!(
                "deployment status `{other}` is not final"
            )));
        }
    };
    let path = text(v, "/project/path_with_namespace")?;
    let environment = match v.get("environment_tier").and_then(Value::as_str) {
        Some("production") => "production",
        _ => text(v, "/environment")?,
    };
    // The payload has the full sha only in the commit's URL.
    let sha = text(v, "/commit_url")
        .ok()
        .and_then(|u| u.rsplit('/').next())
        .and_then(|s| Sha::parse(s).ok())
        .or_else(|| {
            v.get("short_sha")
                .and_then(Value::as_str)
                .and_then(|s| Sha::parse(s).ok())
        });
    let number = v
        .get("deployment_id")
        .and_then(Value::as_u64)
        .ok_or_else(|| MapError("`deployment_id` is missing or not a number".into()))?;
    let service = settings
        .services
        .get(path)
        .cloned()
        .unwrap_or_else(|| settings.service(text(v, "/project/name").unwrap_or(path)));
    let mut d = Deployment::finished(
        id(format!("gitlab:{path}:deployment:{number}"))?,
        name(&service, "service")?,
        name(environment, "environment")?,
        status,
        time(v, "/status_changed_at")?,
    );
    d.repo = Some(name(path, "repository")?);
    d.sha = sha;
    Ok(Mapped::Merge(vec![Event::Deployment(d)]))
}

fn merge_request(v: &Value, pseudonymiser: &Pseudonymiser) -> Result<Mapped, MapError> {
    let path = text(v, "/project/path_with_namespace")?;
    let a = v
        .get("object_attributes")
        .ok_or_else(|| MapError("`object_attributes` is missing".into()))?;
    let iid = a
        .get("iid")
        .and_then(Value::as_u64)
        .ok_or_else(|| MapError("`/object_attributes/iid` is missing or not a number".into()))?;
    let action = a.get("action").and_then(Value::as_str).unwrap_or("");
    let state = a.get("state").and_then(Value::as_str).unwrap_or("");
    let updated = opt_time(a, "/updated_at")?;
    let mut pr = PullRequest::opened(
        id(format!("{path}!{iid}"))?,
        name(path, "repository")?,
        time(a, "/created_at")?,
    );
    pr.closed_at = opt_time(a, "/closed_at")?;
    pr.head_sha = a
        .pointer("/last_commit/id")
        .and_then(Value::as_str)
        .and_then(|s| Sha::parse(s).ok());
    if state == "merged" {
        pr.merged_at = opt_time(a, "/merged_at")?.or(updated);
        pr.merge_sha = a
            .get("merge_commit_sha")
            .and_then(Value::as_str)
            .and_then(|s| Sha::parse(s).ok());
    }
    // An approval by someone other than the author is also the first review.
    let author = a.get("author_id").and_then(Value::as_u64);
    let actor = v.pointer("/user/id").and_then(Value::as_u64);
    if action == "approved" && author != actor {
        pr.approved_at = updated;
        pr.first_review_at = updated;
    }
    pr.author = author.map(|id| pseudonymiser.pseudonymise(&format!("gitlab-user:{id}")));
    Ok(Mapped::Merge(vec![Event::PullRequest(pr)]))
}

fn push(v: &Value, pseudonymiser: &Pseudonymiser) -> Result<Mapped, MapError> {
    let repo = name(text(v, "/project/path_with_namespace")?, "repository")?;
    let commits = commits(v)?;
    // GitLab sends the newest 20 commits: only a complete list starts at
    // `before`.
    let complete = v
        .get("total_commits_count")
        .and_then(Value::as_u64)
        .is_none_or(|n| n as usize == commits.len());
    let before = v.get("before").and_then(Value::as_str).unwrap_or("");
    let parent = (complete && !before.bytes().all(|b| b == b'0'))
        .then(|| Sha::parse(before).ok())
        .flatten();
    let events = pushed_changes(
        &repo,
        commits,
        parent,
        &["/author/email"],
        time,
        pseudonymiser,
    )?;
    Ok(Mapped::Merge(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlabs_time_formats() {
        let want = Timestamp::parse_rfc3339("2021-04-28T19:50:00Z").unwrap();
        for text in [
            "2021-04-28 21:50:00 +0200",
            "2021-04-28 19:50:00 UTC",
            "2021-04-28T19:50:00Z",
            "2021-04-28T21:50:00+02:00",
        ] {
            assert_eq!(parse_time(text), Some(want), "{text}");
        }
        assert_eq!(parse_time("2021-04-28 21:50:00"), None, "no zone: refused");
        assert_eq!(parse_time("yesterday"), None);
    }
}
