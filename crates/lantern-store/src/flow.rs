//! The work items a flow report reads (flow.md), the same for both
//! stores: which items a scope holds, and the rows of items and their
//! states assembled into `FlowItem`s.

use crate::Result;
use crate::codec::{Names, enum_value, id, time};
use lantern_engine::{FlowItem, Scope};
use lantern_events::{FlowState, WorkItem, WorkKind};

/// The work item an event touches: a written item, or a written state's
/// item, whose summary (`SUMMARY_UPDATE`) is worked out again.
pub(crate) fn item_of(event: &lantern_events::Event) -> Option<&str> {
    match event {
        lantern_events::Event::WorkItem(w) => Some(w.id.as_str()),
        lantern_events::Event::WorkState(s) => Some(s.item.as_str()),
        _ => None,
    }
}

/// The items a batch touches ([`item_of`]).
pub fn touched_items(events: &[lantern_events::Event]) -> Vec<&str> {
    let mut ids: Vec<&str> = events.iter().filter_map(item_of).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// What a window's read filters on, kept on each item from its states:
/// the last state and when (ties by id), and the first active or waiting
/// state. `{where}` picks the items, `{bytes}` makes ids compare as
/// bytes (PostgreSQL's `COLLATE "C"`; SQLite's default). The same SQL in
/// both stores.
pub const SUMMARY_UPDATE: &str = "UPDATE work_items SET
    last_at = (SELECT at FROM work_states WHERE item = work_items.id ORDER BY at DESC, id {bytes} DESC LIMIT 1),
    last_state = (SELECT state FROM work_states WHERE item = work_items.id ORDER BY at DESC, id {bytes} DESC LIMIT 1),
    first_flow_at = (SELECT min(at) FROM work_states WHERE item = work_items.id AND state IN ('active', 'waiting'))
    WHERE {where}";

/// The items a window's figures can need (the rest are left unread): those
/// done in it (velocity, time, efficiency, distribution, closed unstarted),
/// and those in flow at one of its day ends — started before its end, and
/// not finished or parked before its start. `{from}` and `{to}` are
/// placeholders.
pub const WINDOW_CLAUSE: &str = "((i.last_state = 'done' AND i.last_at >= {from} AND i.last_at < {to})
    OR (i.first_flow_at < {to} AND (i.last_at >= {from} OR i.last_state IN ('active', 'waiting'))))";

/// The columns read, items joined to their states (a state-less item
/// still comes, once, with NULL state columns).
pub const COLUMNS: &str = "i.id, i.team, i.service, i.kind, i.created_at, s.at, s.state";

/// The condition on `work_items i` that picks a scope's items, and its
/// arguments; `placeholder(n)` spells the n-th (from 1).
pub fn scope_clause(scope: &Scope, placeholder: impl Fn(usize) -> String) -> (String, Vec<String>) {
    match scope {
        Scope::Org => ("TRUE".into(), vec![]),
        Scope::Service(s) => (
            format!("i.service = {}", placeholder(1)),
            vec![s.to_string()],
        ),
        // A team's own items, and those naming no team that are for a
        // service it owns (the team wins over the service).
        Scope::Team { name, services } => {
            let mut args = vec![name.to_string()];
            let owned: Vec<String> = services
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    args.push(s.to_string());
                    placeholder(i + 2)
                })
                .collect();
            let clause = match owned.is_empty() {
                true => format!("i.team = {}", placeholder(1)),
                false => format!(
                    "(i.team = {} OR (i.team IS NULL AND i.service IN ({})))",
                    placeholder(1),
                    owned.join(",")
                ),
            };
            (clause, args)
        }
    }
}

/// One row of [`COLUMNS`].
pub struct Row<'r> {
    pub id: &'r str,
    pub team: Option<&'r str>,
    pub service: Option<&'r str>,
    pub kind: &'r str,
    pub created_at: i64,
    pub state: Option<(i64, &'r str)>,
}

/// Rows ordered by item, then by each state's `at` and `id` (as bytes),
/// into items.
#[derive(Default)]
pub struct Assembler {
    names: Names,
    items: Vec<FlowItem>,
    current: Option<(WorkItem, Vec<(lantern_events::Timestamp, FlowState)>)>,
}

impl Assembler {
    pub fn push(&mut self, row: Row) -> Result<()> {
        if self
            .current
            .as_ref()
            .is_none_or(|(w, _)| w.id.as_str() != row.id)
        {
            self.flush();
            let item = WorkItem {
                id: id(row.id)?,
                team: row.team.map(|t| self.names.get(t)).transpose()?,
                service: row.service.map(|s| self.names.get(s)).transpose()?,
                kind: enum_value(&WorkKind::ALL, row.kind)?,
                created_at: time(row.created_at),
            };
            self.current = Some((item, Vec::new()));
        }
        if let (Some((at, state)), Some((_, states))) = (row.state, self.current.as_mut()) {
            states.push((time(at), enum_value(&FlowState::ALL, state)?));
        }
        Ok(())
    }

    fn flush(&mut self) {
        if let Some((item, states)) = self.current.take() {
            self.items.push(FlowItem::from_ordered(&item, states));
        }
    }

    pub fn finish(mut self) -> Vec<FlowItem> {
        self.flush();
        self.items
    }
}
