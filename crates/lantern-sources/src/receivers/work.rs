//! Work items from the trackers teams use (flow.md): Jira issues, GitHub
//! issues and Projects items, GitLab issues. Each delivery gives the item
//! as it now is (its team or service, its kind) and, when its state
//! changed, the state it entered. Only ids, kinds, states and times are
//! read: never an assignee, a reporter, a title or a description (work
//! belongs to a team).
//!
//! The catalog maps a tracker's own words (`[flow.states]`, `[flow.kinds]`,
//! `[flow.teams]`); a state that maps to none of the four is reported
//! back (`Mapped::Work`'s `unmapped`), counted and shown, never dropped
//! in silence.

use super::fields::{id, name, text};
use super::{MapError, Mapped, SourceSettings};
use lantern_events::{Event, EventId, FlowState, Name, Timestamp, WorkItem, WorkKind, WorkState};
use serde_json::Value;
use std::collections::BTreeMap;

/// `[flow]` of the catalog: how trackers' words become flow.md's.
#[derive(Debug, Clone, Default)]
pub struct FlowMapping {
    /// A tracker's state, status or label (compared without case) → state.
    pub states: BTreeMap<String, FlowState>,
    /// An issue type or label (without case) → kind.
    pub kinds: BTreeMap<String, WorkKind>,
    /// A Jira project key, component or field value, a GitHub repository
    /// (`owner/name`), a GitLab project path, a GitHub project's node id →
    /// the owning team.
    pub teams: BTreeMap<String, String>,
    /// Jira: the field naming the team (a custom field's id), read before
    /// the components and the project key.
    pub jira_team_field: Option<String>,
}

impl FlowMapping {
    fn lookup<'m, T>(map: &'m BTreeMap<String, T>, key: &str) -> Option<&'m T> {
        map.get(key).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }

    /// The catalog's state for a tracker's word.
    pub fn state(&self, word: &str) -> Option<FlowState> {
        Self::lookup(&self.states, word.trim()).copied()
    }

    /// The catalog's kind for a tracker's word, else the common words
    /// (bug, defect → defect; security, vulnerability, risk → risk; debt,
    /// tech debt, refactor → debt).
    pub fn kind(&self, word: &str) -> Option<WorkKind> {
        let word = word.trim();
        if let Some(k) = Self::lookup(&self.kinds, word) {
            return Some(*k);
        }
        match word.to_lowercase().as_str() {
            "bug" | "defect" | "incident" => Some(WorkKind::Defect),
            "security" | "vulnerability" | "risk" | "compliance" => Some(WorkKind::Risk),
            "debt" | "tech debt" | "technical debt" | "tech-debt" | "refactor" => {
                Some(WorkKind::Debt)
            }
            "feature" | "story" | "enhancement" => Some(WorkKind::Feature),
            _ => None,
        }
    }

    pub fn team(&self, key: &str) -> Option<&str> {
        Self::lookup(&self.teams, key).map(String::as_str)
    }
}

/// What a delivery says of one item.
struct Work {
    id: String,
    team: Option<String>,
    service: Option<String>,
    kind: WorkKind,
    created_at: Timestamp,
    /// The state it entered, and when (none: the delivery changed no state).
    state: Option<(FlowState, Timestamp)>,
    unmapped: Vec<String>,
}

impl Work {
    fn mapped(self) -> Result<Mapped, MapError> {
        let item_id = id(self.id)?;
        let mut events = vec![Event::WorkItem(WorkItem {
            id: item_id.clone(),
            team: self.team.as_deref().map(|t| name(t, "team")).transpose()?,
            service: self
                .service
                .as_deref()
                .map(|s| name(s, "service"))
                .transpose()?,
            kind: self.kind,
            created_at: self.created_at,
        })];
        if let Some((state, at)) = self.state {
            events.push(state_event(&item_id, state, at)?);
        }
        Ok(Mapped::Work {
            events,
            unmapped: self.unmapped,
        })
    }
}

fn state_event(item: &EventId, state: FlowState, at: Timestamp) -> Result<Event, MapError> {
    Ok(Event::WorkState(WorkState {
        id: WorkState::default_id(item, at).map_err(MapError)?,
        item: item.clone(),
        at,
        state,
    }))
}

/// The first of `words` the mapping knows as a kind; a feature otherwise.
fn kind_of<'w>(flow: &FlowMapping, words: impl IntoIterator<Item = &'w str>) -> WorkKind {
    words
        .into_iter()
        .find_map(|w| flow.kind(w))
        .unwrap_or(WorkKind::Feature)
}

fn label_names(labels: Option<&Value>, key: &str) -> Vec<String> {
    labels
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|l| l.get(key).and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The state an open issue's labels give: the first that maps to one
/// (GitLab's scoped `workflow::…`, or any label named in `[flow.states]`);
/// scoped labels that map to none are reported unmapped.
fn label_state(
    flow: &FlowMapping,
    labels: &[String],
    unmapped: &mut Vec<String>,
) -> Option<FlowState> {
    let mut found = None;
    for l in labels {
        match flow.state(l) {
            Some(s) if found.is_none() => found = Some(s),
            Some(_) => {}
            None if l.contains("::") => unmapped.push(l.clone()),
            None => {}
        }
    }
    found
}

// ------------------------------------------------------------------ Jira

/// Jira's default: the status category (new → backlog, indeterminate →
/// active, done → done).
fn jira_category(key: &str) -> Option<FlowState> {
    match key {
        "new" => Some(FlowState::Backlog),
        "indeterminate" => Some(FlowState::Active),
        "done" => Some(FlowState::Done),
        _ => None,
    }
}

/// A Jira issue that is not an incident: a work item of the team its
/// field, component or project names.
pub fn jira(v: &Value, settings: &SourceSettings, event: &str) -> Result<Mapped, MapError> {
    let flow = &settings.flow;
    let key = text(v, "/issue/key")?;
    let fields = v
        .pointer("/issue/fields")
        .ok_or_else(|| MapError("`/issue/fields` is missing".into()))?;
    let named = |f: &Value| -> Vec<String> {
        match f {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    other => other
                        .get("value")
                        .or_else(|| other.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                })
                .collect(),
            other => other
                .get("value")
                .or_else(|| other.get("name"))
                .and_then(Value::as_str)
                .map(|s| vec![s.to_string()])
                .unwrap_or_default(),
        }
    };
    let mut candidates: Vec<String> = Vec::new();
    if let Some(field) = &flow.jira_team_field {
        candidates.extend(fields.get(field.as_str()).map(named).unwrap_or_default());
    }
    candidates.extend(fields.get("components").map(named).unwrap_or_default());
    let project = v
        .pointer("/issue/fields/project/key")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| key.split('-').next().unwrap_or(key).to_string());
    candidates.push(project.clone());
    let Some(team) = candidates.iter().find_map(|c| flow.team(c)) else {
        return Ok(Mapped::Ignored(format!(
            "Jira issue {key} names no team: map its project `{project}`, a component or [flow] jira_team_field's value to a team in [flow.teams]"
        )));
    };
    let issue_type = text(v, "/issue/fields/issuetype/name")?;
    let created = super::trackers::jira_time(v, "/issue/fields/created")?;
    // When the delivery happened: Jira's `timestamp` (ms), else the
    // issue's last update.
    let at = match v.get("timestamp") {
        Some(_) => super::fields::epoch(v, "/timestamp", 1000)?,
        None => match v.pointer("/issue/fields/updated") {
            Some(_) => super::trackers::jira_time(v, "/issue/fields/updated")?,
            None => created,
        },
    };
    let current_name = v
        .pointer("/issue/fields/status/name")
        .and_then(Value::as_str);
    let current_category = v
        .pointer("/issue/fields/status/statusCategory/key")
        .and_then(Value::as_str);
    // A status by name: the catalog's word, else the category of the
    // issue's status when that is the one named.
    let resolve = |status: &str, unmapped: &mut Vec<String>| -> Option<FlowState> {
        flow.state(status)
            .or_else(|| {
                (current_name.is_none_or(|c| c.eq_ignore_ascii_case(status)))
                    .then(|| current_category.and_then(jira_category))
                    .flatten()
            })
            .or_else(|| {
                unmapped.push(status.to_string());
                None
            })
    };
    let mut unmapped = Vec::new();
    let state = match event {
        "jira:issue_created" => {
            let s = match current_name {
                Some(name) => resolve(name, &mut unmapped),
                None => current_category.and_then(jira_category),
            };
            s.map(|s| (s, created))
        }
        _ => {
            let change = v
                .pointer("/changelog/items")
                .and_then(Value::as_array)
                .and_then(|items| {
                    items.iter().rev().find(|i| {
                        i.get("field").and_then(Value::as_str) == Some("status")
                            || i.get("fieldId").and_then(Value::as_str) == Some("status")
                    })
                });
            match change
                .and_then(|c| c.get("toString"))
                .and_then(Value::as_str)
            {
                Some(status) => resolve(status, &mut unmapped).map(|s| (s, at)),
                None => None,
            }
        }
    };
    Work {
        id: format!("jira:{key}"),
        team: Some(team.to_string()),
        service: None,
        kind: kind_of(flow, [issue_type]),
        created_at: created,
        state,
        unmapped,
    }
    .mapped()
}

// ---------------------------------------------------------------- GitHub

/// GitHub's `issues` event for an issue that is not an incident. Its id is
/// the issue's node id, which Projects items name too.
pub fn github_issue(
    v: &Value,
    service: Name,
    settings: &SourceSettings,
) -> Result<Mapped, MapError> {
    let flow = &settings.flow;
    let action = text(v, "/action")?;
    let full = text(v, "/repository/full_name")?;
    let node = text(v, "/issue/node_id")?;
    let created = super::fields::time(v, "/issue/created_at")?;
    let updated = super::fields::opt_time(v, "/issue/updated_at")?.unwrap_or(created);
    let mut labels = label_names(v.pointer("/issue/labels"), "name");
    let changed = v
        .pointer("/label/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    // The label an `unlabeled` event removed is gone, whatever the
    // issue's list still says.
    if action == "unlabeled" {
        labels.retain(|l| !l.eq_ignore_ascii_case(changed));
    }
    let mut unmapped = Vec::new();
    let labelled = label_state(flow, &labels, &mut unmapped);
    let state = match action {
        "opened" => Some((labelled.unwrap_or(FlowState::Backlog), created)),
        "closed" => Some((
            FlowState::Done,
            super::fields::opt_time(v, "/issue/closed_at")?.unwrap_or(updated),
        )),
        "reopened" => Some((labelled.unwrap_or(FlowState::Backlog), updated)),
        // A state label added or removed: the state the labels now give
        // (an open issue without one is back in the backlog).
        "labeled" | "unlabeled" => {
            let open = v.pointer("/issue/state").and_then(Value::as_str) != Some("closed");
            match (flow.state(changed).is_some() && open, labelled) {
                (true, Some(s)) => Some((s, updated)),
                (true, None) => Some((FlowState::Backlog, updated)),
                (false, _) => None,
            }
        }
        _ => None,
    };
    let team = flow.team(full).map(str::to_string);
    Work {
        id: format!("github:issue:{node}"),
        service: team.is_none().then(|| service.to_string()),
        team,
        kind: kind_of(flow, labels.iter().map(String::as_str)),
        created_at: created,
        state,
        unmapped,
    }
    .mapped()
}

/// GitHub Projects' `projects_v2_item`: a change of its status field
/// (`Status`) moves the item it holds; the state from `[flow.states]`,
/// else GitHub's default columns (Todo, In Progress, Done).
pub fn github_project_item(v: &Value, settings: &SourceSettings) -> Result<Mapped, MapError> {
    let action = text(v, "/action")?;
    if action != "edited" {
        return Ok(Mapped::Ignored(format!(
            "projects_v2_item `{action}` moves no item"
        )));
    }
    let field = v
        .pointer("/changes/field_value/field_name")
        .and_then(Value::as_str);
    let Some(to) = v
        .pointer("/changes/field_value/to/name")
        .and_then(Value::as_str)
    else {
        return Ok(Mapped::Ignored(
            "the change names no new value of a single-select field (`changes.field_value.to`)"
                .into(),
        ));
    };
    if field.is_some_and(|f| !f.eq_ignore_ascii_case("status")) {
        return Ok(Mapped::Ignored(format!(
            "the project field `{}` is not Status",
            field.unwrap_or_default()
        )));
    }
    let content = text(v, "/projects_v2_item/content_node_id")?;
    let at = super::fields::time(v, "/projects_v2_item/updated_at")?;
    let state = settings
        .flow
        .state(to)
        .or(match to.to_lowercase().as_str() {
            "todo" | "backlog" => Some(FlowState::Backlog),
            "in progress" => Some(FlowState::Active),
            "done" => Some(FlowState::Done),
            _ => None,
        });
    let item = id(format!("github:issue:{content}"))?;
    match state {
        Some(s) => Ok(Mapped::Work {
            events: vec![state_event(&item, s, at)?],
            unmapped: vec![],
        }),
        None => Ok(Mapped::Work {
            events: vec![],
            unmapped: vec![to.to_string()],
        }),
    }
}

// ---------------------------------------------------------------- GitLab

/// GitLab's issue hook for an issue that is not an incident: opened and
/// reopened issues in the backlog (or the state their labels give), a
/// closed one done, a change of labels the state they now give.
pub fn gitlab_issue(
    v: &Value,
    settings: &SourceSettings,
    time: impl Fn(&Value, &str) -> Result<Timestamp, MapError>,
) -> Result<Mapped, MapError> {
    let flow = &settings.flow;
    let path = text(v, "/project/path_with_namespace")?;
    let iid = super::fields::number(v, "/object_attributes/iid")?;
    let action = v
        .pointer("/object_attributes/action")
        .and_then(Value::as_str)
        .unwrap_or("update");
    let created = time(v, "/object_attributes/created_at")?;
    let updated = match v.pointer("/object_attributes/updated_at") {
        None | Some(Value::Null) => created,
        Some(_) => time(v, "/object_attributes/updated_at")?,
    };
    let labels = {
        let mut l = label_names(v.pointer("/labels"), "title");
        if l.is_empty() {
            l = label_names(v.pointer("/object_attributes/labels"), "title");
        }
        l
    };
    let mut unmapped = Vec::new();
    let labelled = label_state(flow, &labels, &mut unmapped);
    let labels_changed = v.pointer("/changes/labels").is_some();
    let closed = text(v, "/object_attributes/state")? == "closed";
    let state = match action {
        "close" => Some((
            FlowState::Done,
            match v.pointer("/object_attributes/closed_at") {
                None | Some(Value::Null) => updated,
                Some(_) => time(v, "/object_attributes/closed_at")?,
            },
        )),
        "open" => Some((labelled.unwrap_or(FlowState::Backlog), created)),
        "reopen" => Some((labelled.unwrap_or(FlowState::Backlog), updated)),
        _ if labels_changed && !closed => Some((labelled.unwrap_or(FlowState::Backlog), updated)),
        _ => None,
    };
    let team = flow.team(path).map(str::to_string);
    let service = settings.services.get(path).cloned().unwrap_or_else(|| {
        settings.service(
            v.pointer("/project/name")
                .and_then(Value::as_str)
                .unwrap_or(path),
        )
    });
    Work {
        id: format!("gitlab:{path}#{iid}"),
        service: team.is_none().then_some(service),
        team,
        kind: kind_of(flow, labels.iter().map(String::as_str)),
        created_at: created,
        state,
        unmapped,
    }
    .mapped()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_map_without_case_and_kinds_have_common_defaults() {
        let flow = FlowMapping {
            states: BTreeMap::from([("In Review".into(), FlowState::Waiting)]),
            kinds: BTreeMap::from([("Spike".into(), WorkKind::Debt)]),
            teams: BTreeMap::from([("PAY".into(), "payments".into())]),
            jira_team_field: None,
        };
        assert_eq!(flow.state("in review"), Some(FlowState::Waiting));
        assert_eq!(flow.state("QA"), None);
        assert_eq!(flow.kind("spike"), Some(WorkKind::Debt));
        assert_eq!(flow.kind("Bug"), Some(WorkKind::Defect));
        assert_eq!(flow.kind("Epic"), None);
        assert_eq!(flow.team("pay"), Some("payments"));
        let mut unmapped = Vec::new();
        let labels = ["workflow::qa".to_string(), "In review".to_string()];
        assert_eq!(
            label_state(&flow, &labels, &mut unmapped),
            Some(FlowState::Waiting)
        );
        assert_eq!(unmapped, ["workflow::qa"]);
    }
}
