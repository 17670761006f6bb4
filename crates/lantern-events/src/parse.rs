//! JSON → canonical event, with an error that names the field.
//!
//! Unknown fields are ignored (forward compatibility); `null` is read as
//! "absent", so a source that writes `"resolved_at": null` for an open
//! incident is understood.

use crate::event::*;
use crate::json::{Json, Object};
use crate::{EventId, Name, Pseudonymiser, Sha, Timestamp};
use serde_json::Value;
use std::fmt;

/// What is wrong with one event, and in which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "field `{}`: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for FieldError {}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Parses one event from JSON text.
pub fn parse_event_json(text: &str, pseudonymiser: &Pseudonymiser) -> Result<Event, FieldError> {
    let value = Json::parse(text).map_err(|e| err("", json_error(text, &e)))?;
    parse_json(&value, pseudonymiser)
}

/// What is wrong with `text` as JSON, placed within it: a column for one
/// line (a JSON Lines reader says which line), "at the end" when the text
/// stops too early. serde's own "at line 2 column 0" counted the line's
/// newline as a second line.
fn json_error(text: &str, e: &serde_json::Error) -> String {
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    let what = message.strip_suffix(&position).unwrap_or(&message);
    let lines = text.trim_end_matches(['\n', '\r']).lines().count().max(1);
    let place = if e.is_eof() || e.line() > lines {
        "at the end".to_string()
    } else if lines == 1 {
        format!("at column {}", e.column())
    } else {
        format!("at line {}, column {}", e.line(), e.column())
    };
    format!("not valid JSON {place}: {what}")
}

/// Parses one event from a JSON value. Person fields are pseudonymised here,
/// so a name never reaches anything after parsing.
pub fn parse_event(value: &Value, pseudonymiser: &Pseudonymiser) -> Result<Event, FieldError> {
    parse_json(&Json::borrow(value), pseudonymiser)
}

fn parse_json(value: &Json, pseudonymiser: &Pseudonymiser) -> Result<Event, FieldError> {
    let Some(obj) = value.as_object() else {
        return Err(err("", "an event must be a JSON object"));
    };
    let fields = Fields { obj, pseudonymiser };
    let kind = fields.required_str("type")?;
    match kind {
        "change" => fields.change().map(Event::Change),
        "pull_request" => fields.pull_request().map(Event::PullRequest),
        "deployment" => fields.deployment().map(Event::Deployment),
        "incident" => fields.incident().map(Event::Incident),
        "annotation" => fields.annotation().map(Event::Annotation),
        "sli" => fields.sli().map(Event::Sli),
        "pipeline_run" => fields.pipeline_run().map(Event::PipelineRun),
        "work_item" => fields.work_item().map(Event::WorkItem),
        "work_state" => fields.work_state().map(Event::WorkState),
        "finding" => fields.finding().map(Event::Finding),
        "assist_usage" => fields.assist_usage().map(Event::AssistUsage),
        other => Err(err(
            "type",
            format!(
                "unknown event type `{other}`; expected change, pull_request, deployment, incident, annotation, sli, pipeline_run, work_item, work_state, finding or assist_usage"
            ),
        )),
    }
}

struct Fields<'a> {
    obj: &'a Object<'a>,
    pseudonymiser: &'a Pseudonymiser,
}

impl<'a> Fields<'a> {
    fn get(&self, field: &str) -> Option<&'a Json<'a>> {
        self.obj.get(field).filter(|v| !v.is_null())
    }

    fn required<T>(
        &self,
        field: &str,
        read: impl Fn(&str, &'a Json<'a>) -> Result<T, FieldError>,
    ) -> Result<T, FieldError> {
        match self.get(field) {
            Some(v) => read(field, v),
            None => Err(err(field, "is required")),
        }
    }

    fn optional<T>(
        &self,
        field: &str,
        read: impl Fn(&str, &'a Json<'a>) -> Result<T, FieldError>,
    ) -> Result<Option<T>, FieldError> {
        self.get(field).map(|v| read(field, v)).transpose()
    }

    fn required_str(&self, field: &str) -> Result<&'a str, FieldError> {
        self.required(field, as_str)
    }

    fn id(&self) -> Result<EventId, FieldError> {
        self.required("id", as_event_id)
    }

    fn person(&self, field: &str) -> Result<Option<crate::Pseudonym>, FieldError> {
        Ok(self
            .optional(field, as_str)?
            .map(|p| self.pseudonymiser.pseudonymise(p)))
    }

    fn change(&self) -> Result<Change, FieldError> {
        let repo = self.required("repo", as_name)?;
        let sha = self.required("sha", as_sha)?;
        let id = match self.optional("id", as_event_id)? {
            Some(id) => id,
            None => EventId::parse(&format!("{repo}@{sha}")).map_err(|m| err("id", m))?,
        };
        let committed_at = self.required("committed_at", as_time)?;
        Ok(Change {
            id,
            repo,
            sha,
            parents: self.optional("parents", as_shas)?.unwrap_or_default(),
            committed_at,
            authored_at: self
                .optional("authored_at", as_time)?
                .unwrap_or(committed_at),
            author: self.person("author")?,
            pull_request: self.optional("pull_request", as_event_id)?,
        })
    }

    fn pull_request(&self) -> Result<PullRequest, FieldError> {
        Ok(PullRequest {
            id: self.id()?,
            repo: self.required("repo", as_name)?,
            opened_at: self.required("opened_at", as_time)?,
            first_review_at: self.optional("first_review_at", as_time)?,
            approved_at: self.optional("approved_at", as_time)?,
            merged_at: self.optional("merged_at", as_time)?,
            closed_at: self.optional("closed_at", as_time)?,
            merge_sha: self.optional("merge_sha", as_sha)?,
            head_sha: self.optional("head_sha", as_sha)?,
            commits: self.optional("commits", as_shas)?.unwrap_or_default(),
            first_commit_at: self.optional("first_commit_at", as_time)?,
            additions: self.optional("additions", as_count)?,
            deletions: self.optional("deletions", as_count)?,
            author: self.person("author")?,
            review_kept: true,
        })
    }

    fn deployment(&self) -> Result<Deployment, FieldError> {
        Ok(Deployment {
            id: self.id()?,
            service: self.required("service", as_name)?,
            environment: self.required("environment", as_name)?,
            status: self
                .optional("status", |f, v| as_enum(f, v, &DeploymentStatus::ALL))?
                .unwrap_or(DeploymentStatus::Success),
            started_at: self.optional("started_at", as_time)?,
            finished_at: self.required("finished_at", as_time)?,
            repo: self.optional("repo", as_name)?,
            sha: self.optional("sha", as_sha)?,
            changes: self.optional("changes", as_shas)?,
            kind: self.optional("kind", |f, v| as_enum(f, v, &DeploymentKind::ALL))?,
            rollback_of: self.optional("rollback_of", as_event_id)?,
            automated: self.optional("automated", as_bool)?,
            rollout: self.optional("rollout", as_event_id)?,
        })
    }

    fn incident(&self) -> Result<Incident, FieldError> {
        Ok(Incident {
            id: self.id()?,
            service: self.required("service", as_name)?,
            services: self.optional("services", as_names)?.unwrap_or_default(),
            started_at: self.required("started_at", as_time)?,
            detected_at: self.optional("detected_at", as_time)?,
            acknowledged_at: self.optional("acknowledged_at", as_time)?,
            resolved_at: self.optional("resolved_at", as_time)?,
            severity: self.optional("severity", |f, v| as_text(f, v, 100))?,
            cause: self.optional("cause", |f, v| as_enum(f, v, &IncidentCause::ALL))?,
            caused_by: self.optional("caused_by", as_event_id)?,
            caused_by_sha: self.optional("caused_by_sha", as_sha)?,
            title: self.optional("title", |f, v| as_text(f, v, 500))?,
        })
    }

    fn sli(&self) -> Result<Sli, FieldError> {
        let slo = self.required("slo", as_name)?;
        let from = self.required("from", as_time)?;
        let to = self.required("to", as_time)?;
        if to <= from {
            return Err(err("to", "must be after `from`"));
        }
        let good = self.required("good", as_count)?;
        let total = self.required("total", as_count)?;
        if good > total {
            return Err(err(
                "good",
                format!("must not exceed `total` ({good} > {total})"),
            ));
        }
        let id = match self.optional("id", as_event_id)? {
            Some(id) => id,
            None => Sli::default_id(&slo, from).map_err(|m| err("id", m))?,
        };
        Ok(Sli {
            id,
            slo,
            from,
            to,
            good,
            total,
        })
    }

    fn pipeline_run(&self) -> Result<PipelineRun, FieldError> {
        let attempt = match self.optional("attempt", as_count)? {
            None => 1,
            Some(n @ 1..=0xFFFF_FFFF) => n as u32,
            Some(n) => {
                return Err(err(
                    "attempt",
                    format!("must be from 1 to 2^32 − 1, got {n}"),
                ));
            }
        };
        Ok(PipelineRun {
            id: self.id()?,
            repo: self.required("repo", as_name)?,
            sha: self.required("sha", as_sha)?,
            pipeline: self.required("pipeline", as_name)?,
            started_at: self.required("started_at", as_time)?,
            finished_at: self.required("finished_at", as_time)?,
            status: self.required("status", |f, v| as_enum(f, v, &PipelineStatus::ALL))?,
            attempt,
        })
    }

    /// A ticket: its assignee, reporter, title and description are not
    /// read at all (flow.md: work belongs to a team).
    fn work_item(&self) -> Result<WorkItem, FieldError> {
        let team = self.optional("team", as_name)?;
        let service = self.optional("service", as_name)?;
        if team.is_none() && service.is_none() {
            return Err(err(
                "team",
                "is required when `service` is absent: a work item belongs to a team (or a service a team owns)",
            ));
        }
        Ok(WorkItem {
            id: self.id()?,
            team,
            service,
            kind: self
                .optional("kind", |f, v| as_enum(f, v, &WorkKind::ALL))?
                .unwrap_or(WorkKind::Feature),
            created_at: self.required("created_at", as_time)?,
        })
    }

    /// A scanner's finding: a path, code snippet or message is not read
    /// at all (panels.md).
    fn finding(&self) -> Result<Finding, FieldError> {
        let opened_at = self.required("opened_at", as_time)?;
        let fixed_at = self.optional("fixed_at", as_time)?;
        if fixed_at.is_some_and(|f| f < opened_at) {
            return Err(err("fixed_at", "must not be before `opened_at`"));
        }
        Ok(Finding {
            id: self.id()?,
            repo: self.required("repo", as_name)?,
            severity: self.required("severity", |f, v| as_enum(f, v, &Severity::ALL))?,
            category: self.required("category", as_name)?,
            opened_at,
            fixed_at,
        })
    }

    /// One team's day of an AI assistant's counts (panels.md).
    fn assist_usage(&self) -> Result<AssistUsage, FieldError> {
        let team = self.required("team", as_name)?;
        let day = self.required("day", as_day)?;
        let suggestions = self.required("suggestions", as_count)?;
        let acceptances = self.required("acceptances", as_count)?;
        if acceptances > suggestions {
            return Err(err(
                "acceptances",
                format!("must not exceed `suggestions` ({acceptances} > {suggestions})"),
            ));
        }
        let lines_suggested = self.optional("lines_suggested", as_count)?;
        let lines_accepted = self.optional("lines_accepted", as_count)?;
        if let (Some(s), Some(a)) = (lines_suggested, lines_accepted)
            && a > s
        {
            return Err(err(
                "lines_accepted",
                format!("must not exceed `lines_suggested` ({a} > {s})"),
            ));
        }
        let id = match self.optional("id", as_event_id)? {
            Some(id) => id,
            None => AssistUsage::default_id(&team, day).map_err(|m| err("id", m))?,
        };
        Ok(AssistUsage {
            id,
            team,
            day,
            active_users: self.required("active_users", as_count)?,
            suggestions,
            acceptances,
            lines_suggested,
            lines_accepted,
        })
    }

    fn work_state(&self) -> Result<WorkState, FieldError> {
        let item = self.required("item", as_event_id)?;
        let at = self.required("at", as_time)?;
        let state = self.required("state", |f, v| as_enum(f, v, &FlowState::ALL))?;
        let id = match self.optional("id", as_event_id)? {
            Some(id) => id,
            None => WorkState::default_id(&item, at).map_err(|m| err("id", m))?,
        };
        Ok(WorkState {
            id,
            item,
            at,
            state,
        })
    }

    fn annotation(&self) -> Result<Annotation, FieldError> {
        Ok(Annotation {
            id: self.id()?,
            scope: self.required("scope", as_scope)?,
            kind: self.required("kind", |f, v| as_enum(f, v, &AnnotationKind::ALL))?,
            from: self.required("from", as_time)?,
            to: self.optional("to", as_time)?,
            title: self.required("title", |f, v| as_text(f, v, 500))?,
        })
    }
}

fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn as_str<'v>(field: &str, v: &'v Json) -> Result<&'v str, FieldError> {
    v.as_str()
        .ok_or_else(|| err(field, format!("must be a string, got {}", type_name(v))))
}

/// Ids Lantern gives the anonymous measurements retention keeps
/// (governance.md rule 5); an event may not take or name one.
pub const RESERVED_ID_PREFIX: &str = "retained:";

fn as_event_id(field: &str, v: &Json) -> Result<EventId, FieldError> {
    let text = as_str(field, v)?;
    if text.starts_with(RESERVED_ID_PREFIX) {
        return Err(err(
            field,
            format!(
                "ids starting with `{RESERVED_ID_PREFIX}` are Lantern's own (retained measurements)"
            ),
        ));
    }
    EventId::parse(text).map_err(|m| err(field, m))
}

fn as_name(field: &str, v: &Json) -> Result<Name, FieldError> {
    Name::parse(as_str(field, v)?).map_err(|m| err(field, m))
}

fn as_sha(field: &str, v: &Json) -> Result<Sha, FieldError> {
    Sha::parse(as_str(field, v)?).map_err(|m| err(field, m))
}

fn as_time(field: &str, v: &Json) -> Result<crate::Timestamp, FieldError> {
    Timestamp::parse_rfc3339(as_str(field, v)?).map_err(|m| err(field, m))
}

/// A UTC day, `YYYY-MM-DD`, as its midnight.
fn as_day(field: &str, v: &Json) -> Result<crate::Timestamp, FieldError> {
    let text = as_str(field, v)?;
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == text)
        .map(Timestamp::from_date)
        .ok_or_else(|| {
            err(
                field,
                format!(
                    "must be a day as YYYY-MM-DD, got `{}`",
                    text.chars().take(40).collect::<String>()
                ),
            )
        })
}

fn as_bool(field: &str, v: &Json) -> Result<bool, FieldError> {
    v.as_bool().ok_or_else(|| {
        err(
            field,
            format!("must be true or false, got {}", type_name(v)),
        )
    })
}

/// Below 2^63: the largest count a store keeps (an INTEGER column), so a
/// larger one is refused rather than wrapped or clamped.
fn as_count(field: &str, v: &Json) -> Result<u64, FieldError> {
    v.as_u64().filter(|&n| n <= i64::MAX as u64).ok_or_else(|| {
        err(
            field,
            format!(
                "must be a whole number from 0 to 2^63 − 1, got {}",
                v.to_value()
                    .to_string()
                    .chars()
                    .take(40)
                    .collect::<String>()
            ),
        )
    })
}

fn as_text(field: &str, v: &Json, max_chars: usize) -> Result<String, FieldError> {
    let s = as_str(field, v)?;
    let n = s.chars().count();
    if n == 0 || n > max_chars {
        return Err(err(
            field,
            format!("must be 1 to {max_chars} characters, got {n}"),
        ));
    }
    Ok(s.to_string())
}

fn as_array<'v, 'a>(field: &str, v: &'v Json<'a>) -> Result<&'v [Json<'a>], FieldError> {
    v.as_array()
        .ok_or_else(|| err(field, format!("must be an array, got {}", type_name(v))))
}

/// A list whose items are each read by `item`; an error names the item's
/// place (`changes[2]`).
fn as_list<T>(
    field: &str,
    v: &Json,
    item: fn(&str, &Json) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    // The item's place is written out only for an error: five million
    // changes' parent lists had each paid a `format!` per sha.
    as_array(field, v)?
        .iter()
        .enumerate()
        .map(|(i, value)| {
            item(field, value).map_err(|mut e| {
                e.field = format!("{field}[{i}]");
                e
            })
        })
        .collect()
}

fn as_shas(field: &str, v: &Json) -> Result<Vec<Sha>, FieldError> {
    as_list(field, v, as_sha)
}

fn as_names(field: &str, v: &Json) -> Result<Vec<Name>, FieldError> {
    as_list(field, v, as_name)
}

fn as_enum<T: Copy>(field: &str, v: &Json, table: &[(&'static str, T)]) -> Result<T, FieldError> {
    let s = as_str(field, v)?;
    table
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            err(field, format!("`{s}` is not one of {}", names.join(", ")))
        })
}

fn as_scope(field: &str, v: &Json) -> Result<AnnotationScope, FieldError> {
    let obj = v
        .as_object()
        .ok_or_else(|| err(field, format!("must be an object, got {}", type_name(v))))?;
    if let Some(s) = obj.get("service") {
        return as_name(&format!("{field}.service"), s).map(AnnotationScope::Service);
    }
    if let Some(t) = obj.get("team") {
        return as_name(&format!("{field}.team"), t).map(AnnotationScope::Team);
    }
    if obj.get("org").and_then(Json::as_bool) == Some(true) {
        return Ok(AnnotationScope::Org);
    }
    Err(err(
        field,
        r#"must be {"service": "..."}, {"team": "..."} or {"org": true}"#,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Pseudonymiser {
        Pseudonymiser::from_key([7; 32])
    }

    fn parse(text: &str) -> Result<Event, FieldError> {
        parse_event_json(text, &p())
    }

    #[test]
    fn retention_aliases_are_not_event_ids() {
        for text in [
            r#"{"type":"deployment","id":"retained:d:1:1","service":"s","environment":"production","finished_at":"2026-03-03T11:00:00Z"}"#,
            r#"{"type":"incident","id":"i","service":"s","started_at":"2026-03-03T11:00:00Z","caused_by":"retained:d:1:1"}"#,
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.to_string().contains("Lantern's own"), "{e}");
        }
    }

    #[test]
    fn every_example_of_events_md_parses() {
        let examples = [
            r#"{"type":"change","repo":"acme/shop","sha":"9f2c1e0","parents":["77ab310"],"committed_at":"2026-03-02T09:15:00Z","author":"dev-17"}"#,
            r#"{"type":"pull_request","id":"acme/shop#42","repo":"acme/shop","opened_at":"2026-03-02T10:00:00Z","first_review_at":"2026-03-02T13:30:00Z","merged_at":"2026-03-03T08:00:00Z","merge_sha":"9f2c1e0"}"#,
            r#"{"type":"deployment","id":"d-881","service":"shop-api","environment":"production","finished_at":"2026-03-03T11:00:00Z","repo":"acme/shop","sha":"9f2c1e0"}"#,
            r#"{"type":"incident","id":"inc-12","service":"shop-api","started_at":"2026-03-03T11:20:00Z","resolved_at":"2026-03-03T12:05:00Z","caused_by":"d-881"}"#,
            r#"{"type":"annotation","id":"a-1","scope":{"team":"payments"},"kind":"freeze","from":"2026-03-20T00:00:00Z","to":"2026-03-27T00:00:00Z","title":"Quarter-end change freeze"}"#,
        ];
        for e in examples {
            parse(e).unwrap_or_else(|err| panic!("{e}: {err}"));
        }
    }

    #[test]
    fn change_defaults_follow_the_spec() {
        let Event::Change(c) = parse(r#"{"type":"change","repo":"acme/shop","sha":"9F2C1E0","committed_at":"2026-03-02T09:15:00+01:00","author":"dev-17","unknown":1}"#).unwrap() else { panic!() };
        assert_eq!(c.id.as_str(), "acme/shop@9f2c1e0");
        assert_eq!(c.authored_at, c.committed_at);
        assert_eq!(c.author, Some(p().pseudonymise("dev-17")));
    }

    #[test]
    fn deployment_defaults_to_success_and_keeps_an_empty_change_list() {
        let Event::Deployment(d) = parse(r#"{"type":"deployment","id":"d","service":"s","environment":"prod","finished_at":"2026-03-03T11:00:00Z","changes":[]}"#).unwrap() else { panic!() };
        assert_eq!(d.status, DeploymentStatus::Success);
        assert_eq!(d.changes, Some(vec![]));
        assert_eq!(d.kind, None);
    }

    #[test]
    fn a_pipeline_run_is_a_first_attempt_unless_it_says_otherwise() {
        let key = Pseudonymiser::from_key([1; 32]);
        let run = r#"{"type":"pipeline_run","id":"r1","repo":"acme/shop","sha":"abcdef0","pipeline":"ci","started_at":"2026-03-01T10:00:00Z","finished_at":"2026-03-01T10:07:00Z","status":"failure"}"#;
        let Ok(Event::PipelineRun(r)) = parse_event_json(run, &key) else {
            panic!("not a pipeline run")
        };
        assert_eq!((r.attempt, r.status), (1, PipelineStatus::Failure));
        let again = run.replace(r#""status":"failure""#, r#""status":"success","attempt":2"#);
        let Ok(Event::PipelineRun(r)) = parse_event_json(&again, &key) else {
            panic!("not a pipeline run")
        };
        assert_eq!((r.attempt, r.status), (2, PipelineStatus::Success));
        for (bad, field) in [
            (
                run.replace(r#""status":"failure""#, r#""status":"skipped""#),
                "status",
            ),
            (
                run.replace(r#""status":"failure""#, r#""status":"failure","attempt":0"#),
                "attempt",
            ),
            (run.replace(r#""pipeline":"ci","#, ""), "pipeline"),
        ] {
            assert_eq!(
                parse_event_json(&bad, &key).unwrap_err().field,
                field,
                "{bad}"
            );
        }
    }

    #[test]
    fn sli_counts_are_checked_and_one_instant_gives_one_id() {
        let p = Pseudonymiser::from_key([7; 32]);
        let parse = |line: &str| parse_event_json(line, &p);
        let a = parse(r#"{"type":"sli","slo":"checkout-availability","from":"2026-04-01T01:00:00+01:00","to":"2026-04-01T00:05:00Z","good":998,"total":1000}"#).unwrap();
        let b = parse(r#"{"type":"sli","slo":"checkout-availability","from":"2026-04-01T00:00:00Z","to":"2026-04-01T00:05:00Z","good":999,"total":1000}"#).unwrap();
        assert_eq!(
            a.id().as_str(),
            "checkout-availability@2026-04-01T00:00:00.000000Z"
        );
        assert_eq!(a.id(), b.id(), "last write wins per interval");
        let Event::Sli(sli) = a else {
            panic!("not an sli: {a:?}")
        };
        assert_eq!((sli.good, sli.total), (998, 1000));
        for (line, field, says) in [
            (
                r#"{"type":"sli","slo":"s","from":"2026-04-01T00:00:00Z","to":"2026-04-01T00:05:00Z","good":2,"total":1}"#,
                "good",
                "must not exceed `total`",
            ),
            (
                r#"{"type":"sli","slo":"s","from":"2026-04-01T00:00:00Z","to":"2026-04-01T00:05:00Z","good":-1,"total":1}"#,
                "good",
                "whole number",
            ),
            (
                r#"{"type":"sli","slo":"s","from":"2026-04-01T00:05:00Z","to":"2026-04-01T00:05:00Z","good":0,"total":0}"#,
                "to",
                "after `from`",
            ),
            (
                r#"{"type":"sli","from":"2026-04-01T00:00:00Z","to":"2026-04-01T00:05:00Z","good":0,"total":0}"#,
                "slo",
                "required",
            ),
        ] {
            let e = parse(line).unwrap_err();
            assert_eq!(e.field, field, "{line}: {e}");
            assert!(e.message.contains(says), "{line}: {e}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                r#"{"type":"change","repo":"r","committed_at":"2026-03-02T09:15:00Z"}"#,
                "sha",
                "required",
            ),
            (
                r#"{"type":"change","repo":"r","sha":"abcdef0","committed_at":"2026-03-02T09:15:00"}"#,
                "committed_at",
                "offset",
            ),
            (
                r#"{"type":"deployment","id":"d","service":"s","environment":"p","finished_at":"2026-03-03T11:00:00Z","status":"ok"}"#,
                "status",
                "not one of",
            ),
            (
                r#"{"type":"deployment","id":7,"service":"s","environment":"p","finished_at":"2026-03-03T11:00:00Z"}"#,
                "id",
                "string",
            ),
            (
                r#"{"type":"deployment","id":"d","service":"s","environment":"p","finished_at":"2026-03-03T11:00:00Z","changes":["abcdef0","nope"]}"#,
                "changes[1]",
                "commit id",
            ),
            (
                r#"{"type":"incident","id":"i","service":"","started_at":"2026-03-03T11:00:00Z"}"#,
                "service",
                "1 to 200",
            ),
            (
                r#"{"type":"annotation","id":"a","scope":{"person":"x"},"kind":"note","from":"2026-03-03T11:00:00Z","title":"t"}"#,
                "scope",
                "must be",
            ),
            (
                r#"{"type":"pull_request","id":"p","repo":"r","opened_at":"2026-03-03T11:00:00Z","additions":-1}"#,
                "additions",
                "whole number",
            ),
            (
                r#"{"type":"pull_request","id":"p","repo":"r","opened_at":"2026-03-03T11:00:00Z","deletions":9223372036854775808}"#,
                "deletions",
                "2^63",
            ),
            (
                r#"{"type":"release","id":"x"}"#,
                "type",
                "unknown event type",
            ),
            (r#"{"id":"x"}"#, "type", "required"),
        ];
        for (text, field, needle) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.field, field, "{text}: {e}");
            assert!(e.message.contains(needle), "{text}: {e}");
        }
        assert!(parse("[1]").unwrap_err().message.contains("object"));
        assert!(parse("{").unwrap_err().message.contains("JSON"));
    }

    #[test]
    fn null_is_absent() {
        let Event::Incident(i) = parse(r#"{"type":"incident","id":"i","service":"s","started_at":"2026-03-03T11:00:00Z","resolved_at":null}"#).unwrap() else { panic!() };
        assert_eq!(i.resolved_at, None);
        assert!(
            parse(
                r#"{"type":"incident","id":"i","service":null,"started_at":"2026-03-03T11:00:00Z"}"#
            )
            .is_err()
        );
    }
}
