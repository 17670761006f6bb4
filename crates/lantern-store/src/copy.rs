//! Moving a whole installation from a SQLite file into PostgreSQL
//! (`lantern migrate`): every table both stores keep, row for row, in one
//! PostgreSQL transaction — events, source positions, dead letters,
//! grants (token hashes), sessions, the audit log with its chain ends,
//! disputes, pulse rounds with their codes and answers, experiments, the
//! notification outbox, what retention kept (its aliased window rows become the
//! `retained_*` tables). SQLite's derived facts and tallies, and the
//! settings they were derived with (meta `facts`, `tallies`), are not copied:
//! PostgreSQL derives its own at the first report.

use crate::Result;
use crate::postgres::{Cell, insert_rows};
use crate::retained::RETAINED_GLOB;
use crate::{PostgresStore, SqliteStore, StoreError};
use postgres::types::Type;
use rusqlite::types::Value;

/// The tables copied, parents before children (sessions name grants).
pub const TABLES: &[&str] = &[
    "changes",
    "pull_requests",
    "deployments",
    "incidents",
    "annotations",
    "slis",
    "pipeline_runs",
    "work_items",
    "work_states",
    "findings",
    "assist_usage",
    "future_events",
    "deliveries",
    "change_days",
    "service_repos",
    "source_state",
    "dead_letters",
    "meta",
    "grants",
    "sessions",
    "audit_chain",
    "audit_log",
    "disputes",
    "pulse_rounds",
    "pulse_codes",
    "pulse_answers",
    "experiments",
    "notifications",
    "retained_contributors",
    "retained_deployed_repos",
    "retained_deployments",
    "retained_pull_requests",
    "retained_incident_links",
];

/// Where a PostgreSQL table's rows are in SQLite: the same table, but for
/// what retention kept of purged events, which SQLite keeps as the
/// aliased rows of its window tables (the same columns).
fn sqlite_source(table: &str) -> String {
    let aliased = |from: &str, id: &str| format!("{from} WHERE {id} GLOB '{RETAINED_GLOB}'");
    match table {
        "retained_deployments" => aliased("deployment_window", "deployment"),
        "retained_pull_requests" => aliased("pull_request_window", "pull_request"),
        "retained_incident_links" => format!(
            "incident_links WHERE incident GLOB '{RETAINED_GLOB}' OR deployment GLOB '{RETAINED_GLOB}'"
        ),
        // What facts and tallies were derived with: PostgreSQL derives
        // its own (copied, it took their settings for facts and tallies it
        // never built, and reported no lead time).
        "meta" => "meta WHERE key NOT IN ('facts', 'tallies')".to_string(),
        _ => table.to_string(),
    }
}

/// Rows read from SQLite before they are sent.
const BATCH: usize = 500;

/// Copies every table into `to`, which must hold no events, grants or
/// audit entries yet; `progress` hears (table, rows copied so far).
/// Returns the rows copied per table.
pub fn copy_sqlite_to_postgres(
    from: &SqliteStore,
    to: &mut PostgresStore,
    progress: &dyn Fn(&str, u64),
) -> Result<Vec<(&'static str, u64)>> {
    let mut tx = to.client().transaction()?;
    for table in ["changes", "deployments", "incidents", "grants", "audit_log"] {
        let n: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
            .get(0);
        if n > 0 {
            return Err(StoreError::Unsupported {
                what: format!(
                    "migrating into a database that already holds data ({n} rows in {table}); migrate into a new, empty database"
                ),
            });
        }
    }
    let mut copied = Vec::new();
    for &table in TABLES {
        // The target's column types decide each value's conversion.
        let columns: Vec<(String, Type)> = {
            let stmt = tx.prepare(&format!("SELECT * FROM {table} LIMIT 0"))?;
            stmt.columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_().clone()))
                .collect()
        };
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let mut stmt = from.conn().prepare(&format!(
            "SELECT {} FROM {}",
            names.join(", "),
            sqlite_source(table)
        ))?;
        let mut rows = stmt.query([])?;
        let mut batch: Vec<Vec<Cell>> = Vec::new();
        let mut count = 0u64;
        loop {
            let row = rows.next()?;
            if let Some(r) = row {
                let mut values: Vec<Cell> = Vec::with_capacity(columns.len());
                for (i, (name, ty)) in columns.iter().enumerate() {
                    values.push(convert(r.get::<_, Value>(i)?, ty, table, name)?);
                }
                batch.push(values);
            }
            if batch.len() == BATCH || (row.is_none() && !batch.is_empty()) {
                insert_rows(&mut tx, table, &names, &batch, "")?;
                count += batch.len() as u64;
                batch.clear();
                progress(table, count);
            }
            if row.is_none() {
                break;
            }
        }
        copied.push((table, count));
    }
    // Ids given by SQLite: the sequences continue after them.
    for table in [
        "dead_letters",
        "disputes",
        "pulse_rounds",
        "experiments",
        "notifications",
    ] {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
            ),
            &[],
        )?;
    }
    tx.commit()?;
    Ok(copied)
}

/// A SQLite value as the PostgreSQL column's type wants it.
fn convert(value: Value, ty: &Type, table: &str, column: &str) -> Result<Cell> {
    let mismatch = |v: &Value| StoreError::Corrupt {
        what: format!("{table}.{column} holds {v:?}, not the {ty} PostgreSQL keeps there"),
    };
    Ok(match (value, ty) {
        (Value::Null, &Type::INT8) => Box::new(None::<i64>),
        (Value::Null, &Type::BOOL) => Box::new(None::<bool>),
        (Value::Null, &Type::BYTEA) => Box::new(None::<Vec<u8>>),
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Integer(i), &Type::INT8) => Box::new(i),
        (Value::Integer(i), &Type::BOOL) => Box::new(i != 0),
        (Value::Text(t), &Type::TEXT) => Box::new(t),
        (Value::Blob(b), &Type::BYTEA) => Box::new(b),
        (v, _) => return Err(mismatch(&v)),
    })
}
