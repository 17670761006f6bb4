//! Writing events: each batch as a few multi-row upserts (one per table
//! and 500 rows) rather than a round trip per event — the difference
//! between 11 000 and 69 000 events a second on a local server
//! (docs/performance.md).

use super::Prepared;
use super::{
    ANNOTATION_COLUMNS, ASSIST_USAGE_COLUMNS, CHANGE_COLUMNS, DEPLOYMENT_COLUMNS, FINDING_COLUMNS,
    INCIDENT_COLUMNS, PIPELINE_RUN_COLUMNS, PULL_REQUEST_COLUMNS, SLI_COLUMNS, WORK_ITEM_COLUMNS,
    WORK_STATE_COLUMNS,
};
use crate::Result;
use crate::codec::{enum_text, scope_columns, shas_to_text};
use foldhash::{HashMap, HashMapExt};
use lantern_events::*;
use postgres::GenericClient;
use postgres::types::ToSql;
use std::collections::BTreeSet;

/// One column's value of a row to insert.
pub(crate) type Cell = Box<dyn ToSql + Sync>;

const TABLES: [(&str, &str); 11] = [
    ("changes", CHANGE_COLUMNS),
    ("pull_requests", PULL_REQUEST_COLUMNS),
    ("deployments", DEPLOYMENT_COLUMNS),
    ("incidents", INCIDENT_COLUMNS),
    ("annotations", ANNOTATION_COLUMNS),
    ("slis", SLI_COLUMNS),
    ("pipeline_runs", PIPELINE_RUN_COLUMNS),
    ("work_items", WORK_ITEM_COLUMNS),
    ("work_states", WORK_STATE_COLUMNS),
    ("findings", FINDING_COLUMNS),
    ("assist_usage", ASSIST_USAGE_COLUMNS),
];

/// Rows per statement: well under PostgreSQL's 65 535 parameters.
const ROWS: usize = 500;

/// Writes `events`, each replacing any stored one of the same type and id
/// (and any earlier one of the batch: an upsert may not touch a row twice,
/// so the batch keeps the last of each, as writing them in order would).
/// The summaries of the work items a batch touched (flow.md), in one
/// statement.
fn write_flow_summaries(tx: &mut impl GenericClient, events: &[Event]) -> Result<()> {
    let touched = crate::flow::touched_items(events);
    if touched.is_empty() {
        return Ok(());
    }
    let sql = crate::flow::SUMMARY_UPDATE
        .replace("{where}", "id = ANY($1)")
        .replace("{bytes}", "COLLATE \"C\"");
    tx.execute(&sql, &[&touched])?;
    Ok(())
}

pub(crate) fn write_events(
    tx: &mut impl GenericClient,
    prepared: &mut Prepared,
    events: &[Event],
) -> Result<()> {
    let any_future = super::facts::mark_stale(tx, prepared, events)?;
    let mut rows: [Vec<Vec<Cell>>; 11] = Default::default();
    let mut seen: HashMap<(usize, &str), usize> = HashMap::new();
    // Every row records when Lantern received it (hygiene.md F1, F3).
    let now = Timestamp::now().micros();
    for event in events {
        let (table, mut cells) = row(event);
        cells.push(Box::new(now));
        let list = &mut rows[table];
        match seen.get(&(table, event.id().as_str())) {
            Some(&i) => list[i] = cells,
            None => {
                seen.insert((table, event.id().as_str()), list.len());
                list.push(cells);
            }
        }
    }
    for (table, list) in rows.iter().enumerate() {
        let (name, columns) = TABLES[table];
        let names: Vec<&str> = columns.split(", ").chain(["received_at"]).collect();
        let updates: Vec<String> = names[1..]
            .iter()
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect();
        if copy_while_straight(tx, &mut prepared.straight, name, &names, list)? {
            continue;
        }
        let upsert = format!("ON CONFLICT (id) DO UPDATE SET {}", updates.join(", "));
        insert_rows_with(tx, Some(prepared), name, &names, list, &upsert)?;
    }
    // hygiene.md F7: the days each repository had changes, kept apart so
    // that a report reads them without scanning the changes. A bulk
    // import's are written at its end: its two connections' batches share
    // most of their days, and each waited for the other's commit on them.
    match &prepared.bulk_days {
        Some(bulk) => bulk.add(crate::change_days(events)),
        None => put_change_days(tx, Some(prepared), crate::change_days(events))?,
    }
    write_flow_summaries(tx, events)?;
    note_future(tx, prepared, events, now, any_future)
}

/// Rows of `change_days` (repository, day), each kept once.
pub(crate) fn put_change_days<'d>(
    tx: &mut impl GenericClient,
    prepared: Option<&mut Prepared>,
    days: impl IntoIterator<Item = (&'d str, i64)>,
) -> Result<()> {
    let rows: Vec<Vec<Cell>> = days
        .into_iter()
        .map(|(repo, day)| -> Vec<Cell> { vec![Box::new(repo.to_string()), Box::new(day)] })
        .collect();
    insert_rows_with(
        tx,
        prepared,
        "change_days",
        &["repo", "day"],
        &rows,
        "ON CONFLICT DO NOTHING",
    )
}

/// hygiene.md F3: an event dated well after its arrival is kept, and
/// noted in `future_events`, so reports count them without a scan; a
/// later version that is not is no longer noted.
fn note_future(
    tx: &mut impl GenericClient,
    prepared: &mut Prepared,
    events: &[Event],
    now: i64,
    any: bool,
) -> Result<()> {
    let mut future: Vec<Vec<Cell>> = Vec::new();
    let mut present: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in events {
        let kind = e.kind().as_str();
        if crate::is_future(e, now) {
            let (services, repo) = e.scope_keys();
            let services: Vec<&str> = services.iter().map(|s| s.as_str()).collect();
            future.push(vec![
                Box::new(kind.to_string()),
                Box::new(e.id().to_string()),
                Box::new(services.join("\n")),
                Box::new(repo.map(Name::to_string)),
                Box::new(now),
            ]);
        } else {
            present.entry(kind).or_default().push(e.id().as_str());
        }
    }
    // `any`: whether this transaction found any noted when it began.
    if any {
        for (kind, ids) in present {
            tx.execute(
                "DELETE FROM future_events WHERE kind = $1 AND id = ANY($2)",
                &[&kind, &ids],
            )?;
        }
    }
    insert_rows_with(
        tx,
        Some(prepared),
        "future_events",
        &["kind", "id", "services", "repo", "received_at"],
        &future,
        "ON CONFLICT (kind, id) DO UPDATE SET services = EXCLUDED.services, repo = EXCLUDED.repo, received_at = EXCLUDED.received_at",
    )
}

/// From this many rows, a table's rows are sent with `COPY`.
const COPY_ROWS: usize = 2_000;

/// `INSERT INTO table (columns) VALUES (…), (…) then` in statements of
/// at most `ROWS` rows; a bulk write ([`COPY_ROWS`] or more) is copied
/// into a staging table in PostgreSQL's binary format and inserted from
/// there in one statement, `then` and all.
pub(crate) fn insert_rows(
    tx: &mut impl GenericClient,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Cell>],
    then: &str,
) -> Result<()> {
    insert_rows_with(tx, None, table, columns, rows, then)
}

/// Rows of a statement the connection keeps prepared (a delivery group's
/// table's rows; more are rare, and each count would be another plan).
const KEPT_ROWS: usize = 32;

/// [`insert_rows`], each statement of up to [`KEPT_ROWS`] rows prepared
/// once on the connection when `prepared` is given: a webhook delivery
/// group's inserts had cost a parse, a plan and a second round trip each
/// (docs/performance.md, issue 23's fifteenth step).
fn insert_rows_with(
    tx: &mut impl GenericClient,
    mut prepared: Option<&mut Prepared>,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Cell>],
    then: &str,
) -> Result<()> {
    if rows.len() >= COPY_ROWS {
        return copy_rows(tx, table, columns, rows, then);
    }
    let width = columns.len();
    for chunk in rows.chunks(ROWS) {
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let cells: Vec<String> =
                    (1..=width).map(|c| format!("${}", r * width + c)).collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {} {then}",
            columns.join(", "),
            values.join(", ")
        );
        let args: Vec<&(dyn ToSql + Sync)> = chunk
            .iter()
            .flat_map(|r| r.iter().map(|c| c.as_ref()))
            .collect();
        match prepared.as_deref_mut() {
            Some(kept) if chunk.len() <= KEPT_ROWS => {
                let statement = kept.get_text(tx, sql)?;
                tx.execute(&statement, &args)?
            }
            _ => tx.execute(&sql, &args)?,
        };
    }
    Ok(())
}

/// [`insert_rows`] for a bulk write: one `COPY` into a staging table
/// (the session's own, emptied at commit), then one `INSERT … SELECT`, so
/// conflicts are handled as the row-by-row statements handle them.
fn copy_rows(
    tx: &mut impl GenericClient,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Cell>],
    then: &str,
) -> Result<()> {
    let staged = format!("staged_{table}");
    let list = columns.join(", ");
    // In a transaction of its own (a savepoint inside the caller's): the
    // staged rows live until its end.
    let mut tx = tx.transaction()?;
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {staged} (LIKE {table}) ON COMMIT DELETE ROWS;
         TRUNCATE {staged};"
    ))?;
    copy_in(&mut tx, &staged, columns, rows)?;
    tx.execute(
        &format!("INSERT INTO {table} ({list}) SELECT {list} FROM {staged} {then}"),
        &[],
    )?;
    tx.commit()?;
    Ok(())
}

/// [`copy_straight`] when `table` is one of `straight` (tables the caller
/// emptied, or found empty) and `rows` are enough for a `COPY`. A table
/// whose rows met a stored one leaves `straight`: the caller upserts
/// them, and every later batch of that table. `true` when written.
pub(crate) fn copy_while_straight(
    tx: &mut impl GenericClient,
    straight: &mut BTreeSet<&'static str>,
    table: &'static str,
    columns: &[&str],
    rows: &[Vec<Cell>],
) -> Result<bool> {
    if rows.len() < COPY_ROWS || !straight.contains(table) {
        return Ok(false);
    }
    if copy_straight(tx, table, columns, rows)? {
        return Ok(true);
    }
    straight.remove(table);
    Ok(false)
}

/// A bulk import's rows `COPY`'d straight into `table`, which held none
/// of its ids when the import began (postgres/bulk.rs): half the time of
/// staging them and upserting (docs/performance.md, "Issue 23, seventh
/// step"). `false`, and nothing written, when one of them is stored
/// already (written since, by the import or a webhook): the caller
/// upserts them instead.
fn copy_straight(
    tx: &mut impl GenericClient,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Cell>],
) -> Result<bool> {
    let mut attempt = tx.transaction()?;
    match copy_in(&mut attempt, table, columns, rows) {
        Ok(()) => {
            attempt.commit()?;
            Ok(true)
        }
        Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Sends `rows` to `table` in PostgreSQL's binary `COPY` format.
fn copy_in(
    tx: &mut postgres::Transaction<'_>,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Cell>],
) -> std::result::Result<(), postgres::Error> {
    let list = columns.join(", ");
    let types: Vec<postgres::types::Type> = tx
        .prepare(&format!("SELECT {list} FROM {table}"))?
        .columns()
        .iter()
        .map(|c| c.type_().clone())
        .collect();
    let sink = tx.copy_in(&format!("COPY {table} ({list}) FROM STDIN (FORMAT binary)"))?;
    let mut writer = postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
    for row in rows {
        let cells: Vec<&(dyn ToSql + Sync)> = row.iter().map(|c| c.as_ref()).collect();
        writer.write(&cells)?;
    }
    writer.finish()?;
    Ok(())
}

/// The table (index into `TABLES`) and the columns of one event.
fn row(event: &Event) -> (usize, Vec<Cell>) {
    let t = |t: Timestamp| -> Cell { Box::new(t.micros()) };
    let opt_t = |t: Option<Timestamp>| -> Cell { Box::new(t.map(Timestamp::micros)) };
    let opt_sha = |s: &Option<Sha>| -> Cell { Box::new(s.as_ref().map(Sha::to_string)) };
    let text = |s: &str| -> Cell { Box::new(s.to_string()) };
    let opt_text = |s: Option<&str>| -> Cell { Box::new(s.map(str::to_string)) };
    let clamp = |v: Option<u64>| -> Cell { Box::new(v.map(|v| v.min(i64::MAX as u64) as i64)) };
    match event {
        Event::Change(c) => (
            0,
            vec![
                text(c.id.as_str()),
                text(c.repo.as_str()),
                text(c.sha.hex().as_str()),
                Box::new(shas_to_text(&c.parents)),
                t(c.committed_at),
                t(c.authored_at),
                opt_text(c.author.as_ref().map(Pseudonym::as_stored)),
                opt_text(c.pull_request.as_ref().map(EventId::as_str)),
            ],
        ),
        Event::PullRequest(p) => (
            1,
            vec![
                text(p.id.as_str()),
                text(p.repo.as_str()),
                t(p.opened_at),
                opt_t(p.first_review_at),
                opt_t(p.approved_at),
                opt_t(p.merged_at),
                opt_t(p.closed_at),
                opt_sha(&p.merge_sha),
                opt_sha(&p.head_sha),
                Box::new(shas_to_text(&p.commits)),
                opt_t(p.first_commit_at),
                clamp(p.additions),
                clamp(p.deletions),
                opt_text(p.author.as_ref().map(Pseudonym::as_stored)),
                Box::new(p.review_kept),
            ],
        ),
        Event::Deployment(d) => (
            2,
            vec![
                text(d.id.as_str()),
                text(d.service.as_str()),
                text(d.environment.as_str()),
                text(enum_text(&DeploymentStatus::ALL, d.status)),
                opt_t(d.started_at),
                t(d.finished_at),
                opt_text(d.repo.as_ref().map(Name::as_str)),
                opt_sha(&d.sha),
                Box::new(d.changes.as_deref().map(shas_to_text)),
                opt_text(d.kind.map(|k| enum_text(&DeploymentKind::ALL, k))),
                opt_text(d.rollback_of.as_ref().map(EventId::as_str)),
                Box::new(d.automated),
                opt_text(d.rollout.as_ref().map(EventId::as_str)),
            ],
        ),
        Event::Incident(i) => {
            let services: Vec<&str> = i.services.iter().map(Name::as_str).collect();
            (
                3,
                vec![
                    text(i.id.as_str()),
                    text(i.service.as_str()),
                    // Names may hold spaces but never control characters.
                    Box::new(services.join("\n")),
                    t(i.started_at),
                    opt_t(i.detected_at),
                    opt_t(i.acknowledged_at),
                    opt_t(i.resolved_at),
                    Box::new(i.severity.clone()),
                    opt_text(i.cause.map(|c| enum_text(&IncidentCause::ALL, c))),
                    opt_text(i.caused_by.as_ref().map(EventId::as_str)),
                    opt_sha(&i.caused_by_sha),
                    Box::new(i.title.clone()),
                ],
            )
        }
        Event::Annotation(a) => {
            let (kind, name) = scope_columns(&a.scope);
            (
                4,
                vec![
                    text(a.id.as_str()),
                    text(kind),
                    opt_text(name),
                    text(a.kind.as_str()),
                    t(a.from),
                    opt_t(a.to),
                    Box::new(a.title.clone()),
                ],
            )
        }
        Event::Sli(s) => {
            let counts = [s.good, s.total].map(|n| clamp(Some(n)));
            let [good, total] = counts;
            let interval = [t(s.from), t(s.to)];
            let [from, to] = interval;
            (
                5,
                vec![
                    text(s.id.as_str()),
                    text(s.slo.as_str()),
                    from,
                    to,
                    good,
                    total,
                ],
            )
        }
        Event::PipelineRun(r) => (
            6,
            vec![
                text(r.id.as_str()),
                text(r.repo.as_str()),
                Box::new(r.sha.to_string()),
                text(r.pipeline.as_str()),
                t(r.started_at),
                t(r.finished_at),
                text(enum_text(&PipelineStatus::ALL, r.status)),
                Box::new(i64::from(r.attempt)),
            ],
        ),
        Event::WorkItem(w) => (
            7,
            vec![
                text(w.id.as_str()),
                opt_text(w.team.as_ref().map(Name::as_str)),
                opt_text(w.service.as_ref().map(Name::as_str)),
                text(w.kind.as_str()),
                t(w.created_at),
            ],
        ),
        Event::WorkState(w) => (
            8,
            vec![
                text(w.id.as_str()),
                text(w.item.as_str()),
                t(w.at),
                text(w.state.as_str()),
            ],
        ),
        Event::Finding(f) => (
            9,
            vec![
                text(f.id.as_str()),
                text(f.repo.as_str()),
                text(f.severity.as_str()),
                text(f.category.as_str()),
                t(f.opened_at),
                opt_t(f.fixed_at),
            ],
        ),
        Event::AssistUsage(a) => (
            10,
            vec![
                text(a.id.as_str()),
                text(a.team.as_str()),
                t(a.day),
                clamp(Some(a.active_users)),
                clamp(Some(a.suggestions)),
                clamp(Some(a.acceptances)),
                clamp(a.lines_suggested),
                clamp(a.lines_accepted),
            ],
        ),
    }
}
