//! GitHub webhooks. The event type comes from `X-GitHub-Event`:
//! - `deployment_status`: a final state (success, failure, error) is a
//!   deployment of the repository's service; `production_environment`
//!   makes it production whatever its name;
//! - `push`: its commits, each with the one before as parent (GitHub does
//!   not send parents; a push of a linear history is exact);
//! - `pull_request`: the pull request as it now is (opened, merged,
//!   closed), merged into what is stored;
//! - `pull_request_review`: a review by someone other than the author sets
//!   the first review (and, when approving, the approval);
//! - `workflow_run`: every completed run is a `pipeline_run` (each attempt
//!   its own); a run of a workflow named in `deploy_workflows` is also a
//!   production deployment;
//! - `issues` with the incident label: an incident (`trackers`); other
//!   issues are work items, and `projects_v2_item` status changes move
//!   them (`work`);
//! - `code_scanning_alert`: the alert as a `finding` (no path, message
//!   or person; `findings`);
//! - `deployment` (not final yet), `ping` and the rest: accepted, ignored.

use super::fields::{
    commits, id, name, number, opt_count, opt_time, pushed_changes, sha, text, time,
};
use super::{MapError, Mapped, SourceSettings};
use lantern_events::{
    Deployment, DeploymentStatus, Event, EventId, Name, PipelineRun, PipelineStatus, Pseudonymiser,
    PullRequest, Sha,
};
use serde_json::Value;

/// The repository's Lantern service: mapped by full name, then by name.
fn service(v: &Value, settings: &SourceSettings) -> Result<Name, MapError> {
    let full = text(v, "/repository/full_name")?;
    let short = text(v, "/repository/name")?;
    let mapped = settings
        .services
        .get(full)
        .or_else(|| settings.services.get(short))
        .map(String::as_str)
        .unwrap_or(short);
    name(mapped, "service")
}

pub fn map(
    event: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
    settings: &SourceSettings,
    pseudonymiser: &Pseudonymiser,
    received_at: lantern_events::Timestamp,
) -> Result<Mapped, MapError> {
    let Some(event) = event else {
        return Err(MapError("the `X-GitHub-Event` header is missing".into()));
    };
    let v = super::fields::parse(&json_body(content_type, body)?)?;
    match event {
        "deployment_status" => deployment_status(&v, settings),
        "push" => push(&v, pseudonymiser),
        "pull_request" => pull_request(&v, pseudonymiser),
        "pull_request_review" => review(&v, pseudonymiser),
        "workflow_run" => workflow_run(&v, settings),
        "issues" => super::trackers::github_issue(&v, service(&v, settings)?, settings),
        "projects_v2_item" => super::work::github_project_item(&v, settings),
        "code_scanning_alert" => super::findings::github_code_scanning(&v, received_at),
        "ping" => Ok(Mapped::Ignored("ping: the hook reaches Lantern".into())),
        "deployment" => Ok(Mapped::Ignored(
            "a deployment counts once a deployment_status says how it ended".into(),
        )),
        other => Ok(Mapped::Ignored(format!(
            "GitHub `{other}` events are not used"
        ))),
    }
}

/// A hook set to `application/x-www-form-urlencoded` sends the JSON as
/// the form's `payload` field (GitHub's docs, "Creating webhooks"); the
/// signature covers the form body as sent, so this runs after it is checked.
fn json_body<'b>(
    content_type: Option<&str>,
    body: &'b [u8],
) -> Result<std::borrow::Cow<'b, [u8]>, MapError> {
    let form = content_type.is_some_and(|t| {
        t.split(';').next().is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    if !form {
        return Ok(std::borrow::Cow::Borrowed(body));
    }
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| std::borrow::Cow::Owned(v.into_owned().into_bytes()))
        .ok_or_else(|| MapError("a form-encoded delivery has no `payload` field".into()))
}

fn deployment_status(v: &Value, settings: &SourceSettings) -> Result<Mapped, MapError> {
    let status = match text(v, "/deployment_status/state")? {
        "success" => DeploymentStatus::Success,
        "failure" | "error" => DeploymentStatus::Failure,
        other => {
            return Ok(Mapped::Ignored(format!(
                "deployment state `{other}` is not final"
            )));
        }
    };
    let production = v.pointer("/deployment/production_environment") == Some(&Value::Bool(true));
    let environment = if production {
        "production"
    } else {
        text(v, "/deployment/environment")?
    };
    let full = text(v, "/repository/full_name")?;
    let deployment_id = number(v, "/deployment/id")?;
    let mut d = Deployment::finished(
        id(format!("github:{full}:deployment:{deployment_id}"))?,
        service(v, settings)?,
        name(environment, "environment")?,
        status,
        time(v, "/deployment_status/created_at")?,
    );
    d.started_at = opt_time(v, "/deployment/created_at")?;
    d.repo = Some(name(full, "repository")?);
    d.sha = Some(sha(v, "/deployment/sha")?);
    Ok(Mapped::Merge(vec![Event::Deployment(d)]))
}

fn push(v: &Value, pseudonymiser: &Pseudonymiser) -> Result<Mapped, MapError> {
    let repo = name(text(v, "/repository/full_name")?, "repository")?;
    let before = text(v, "/before")?;
    let parent = (!before.bytes().all(|b| b == b'0'))
        .then(|| Sha::parse(before))
        .transpose()
        .map_err(|m| MapError(format!("`before`: {m}")))?;
    let authors = ["/author/email", "/author/username"];
    let events = pushed_changes(&repo, commits(v)?, parent, &authors, time, pseudonymiser)?;
    Ok(Mapped::Merge(events))
}

fn pr_id(v: &Value) -> Result<(EventId, Name), MapError> {
    let full = text(v, "/repository/full_name")?;
    let number = number(v, "/pull_request/number")?;
    Ok((id(format!("{full}#{number}"))?, name(full, "repository")?))
}

fn pull_request(v: &Value, pseudonymiser: &Pseudonymiser) -> Result<Mapped, MapError> {
    let (id, repo) = pr_id(v)?;
    let mut pr = PullRequest::opened(id, repo, time(v, "/pull_request/created_at")?);
    pr.merged_at = opt_time(v, "/pull_request/merged_at")?;
    pr.closed_at = opt_time(v, "/pull_request/closed_at")?;
    // GitHub fills merge_commit_sha with a test merge while a pull request
    // is open: it is what landed only once merged.
    if pr.merged_at.is_some() {
        pr.merge_sha = Some(sha(v, "/pull_request/merge_commit_sha")?);
    }
    pr.head_sha = v
        .pointer("/pull_request/head/sha")
        .and_then(Value::as_str)
        .and_then(|s| Sha::parse(s).ok());
    pr.additions = opt_count(v, "/pull_request/additions")?;
    pr.deletions = opt_count(v, "/pull_request/deletions")?;
    pr.author = v
        .pointer("/pull_request/user/login")
        .and_then(Value::as_str)
        .map(|l| pseudonymiser.pseudonymise(&l.to_lowercase()));
    Ok(Mapped::Merge(vec![Event::PullRequest(pr)]))
}

fn review(v: &Value, pseudonymiser: &Pseudonymiser) -> Result<Mapped, MapError> {
    if v.get("action").and_then(Value::as_str) != Some("submitted") {
        return Ok(Mapped::Ignored("only submitted reviews are used".into()));
    }
    let reviewer = text(v, "/review/user/login")?;
    let author = text(v, "/pull_request/user/login")?;
    if reviewer.eq_ignore_ascii_case(author) {
        return Ok(Mapped::Ignored(
            "a review by the pull request's author is not a first review".into(),
        ));
    }
    let (id, repo) = pr_id(v)?;
    let submitted = time(v, "/review/submitted_at")?;
    let mut pr = PullRequest::opened(id, repo, time(v, "/pull_request/created_at")?);
    pr.first_review_at = Some(submitted);
    if text(v, "/review/state")?.eq_ignore_ascii_case("approved") {
        pr.approved_at = Some(submitted);
    }
    pr.author = Some(pseudonymiser.pseudonymise(&author.to_lowercase()));
    Ok(Mapped::Merge(vec![Event::PullRequest(pr)]))
}

/// Every completed run is a `pipeline_run` (hygiene.md), each attempt its
/// own; a successful, failed or cancelled run of a workflow named in
/// `deploy_workflows` is also a production deployment.
fn workflow_run(v: &Value, settings: &SourceSettings) -> Result<Mapped, MapError> {
    if v.get("action").and_then(Value::as_str) != Some("completed") {
        return Ok(Mapped::Ignored("the run has not completed".into()));
    }
    let conclusion = text(v, "/workflow_run/conclusion")?;
    let status = match conclusion {
        "success" => PipelineStatus::Success,
        "failure" | "timed_out" | "startup_failure" => PipelineStatus::Failure,
        "cancelled" => PipelineStatus::Cancelled,
        other => {
            return Ok(Mapped::Ignored(format!(
                "conclusion `{other}` is neither a success nor a failure"
            )));
        }
    };
    // A run names its workflow; GitHub's own example leaves the name empty,
    // so the workflow's, then its file's, stand in.
    let workflow = ["/workflow_run/name", "/workflow/name", "/workflow_run/path"]
        .iter()
        .find_map(|p| {
            v.pointer(p)
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
        })
        .ok_or_else(|| MapError("`/workflow_run/name` is missing or empty".into()))?;
    let full = text(v, "/repository/full_name")?;
    let run = number(v, "/workflow_run/id")?;
    let attempt = match opt_count(v, "/workflow_run/run_attempt")? {
        None => 1,
        Some(n @ 1..=0xFFFF_FFFF) => n as u32,
        Some(n) => {
            return Err(MapError(format!(
                "`/workflow_run/run_attempt` must be from 1 to 2^32 − 1, got {n}"
            )));
        }
    };
    let repo = name(full, "repository")?;
    let head = sha(v, "/workflow_run/head_sha")?;
    let finished_at = time(v, "/workflow_run/updated_at")?;
    let started_at = opt_time(v, "/workflow_run/run_started_at")?;
    let mut events = vec![Event::PipelineRun(PipelineRun {
        id: id(format!("github:{full}:run:{run}:{attempt}"))?,
        repo: repo.clone(),
        sha: head,
        pipeline: name(workflow, "workflow")?,
        started_at: started_at.unwrap_or(finished_at),
        finished_at,
        status,
        attempt,
    })];
    if settings.deploy_workflows.iter().any(|w| w == workflow) {
        let status = match status {
            PipelineStatus::Success => DeploymentStatus::Success,
            PipelineStatus::Failure => DeploymentStatus::Failure,
            PipelineStatus::Cancelled => DeploymentStatus::Cancelled,
        };
        let mut d = Deployment::finished(
            id(format!("github:{full}:run:{run}"))?,
            service(v, settings)?,
            name("production", "environment")?,
            status,
            finished_at,
        );
        d.started_at = started_at;
        d.repo = Some(repo);
        d.sha = Some(head);
        d.automated = Some(true);
        events.push(Event::Deployment(d));
    }
    Ok(Mapped::Merge(events))
}
