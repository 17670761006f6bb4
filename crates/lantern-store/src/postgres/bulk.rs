//! A bulk import into empty event tables writes them without their
//! secondary indexes and builds those once, sorted, at its end — what
//! `pg_restore` does. Inserting millions of rows at random places of
//! B-trees that outgrow `shared_buffers` was most of an import's time
//! (docs/performance.md, "Issue 23, seventh step").
//!
//! Invariants:
//! - only tables empty when the import begins lose indexes: a store with
//!   data keeps every index while anything writes into it;
//! - primary keys and unique indexes are never dropped (every write is an
//!   upsert on them);
//! - what is dropped is written down (`bulk_dropped_indexes`) in the
//!   transaction that drops it, and built again by the importer at its
//!   end, or — if it died — by the next connection that finds the list
//!   and can take [`BULK_LOCK`] (held by a live importer's session).

use super::write::put_change_days;
use crate::Result;
use foldhash::HashMap;
use postgres::{Client, Transaction};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Held by the session of an import that dropped indexes, for its life.
pub(crate) const BULK_LOCK: i64 = 0x4c61_6e74_6572_6e04;

/// The event tables an import fills in bulk and whose secondary indexes
/// no write reads. Not `work_states`: every batch works out its items'
/// summaries through `work_states_by_item` (crate::flow), and without it
/// each batch would scan every state written before it.
const TABLES: [&str; 8] = [
    "changes",
    "pull_requests",
    "deployments",
    "incidents",
    "slis",
    "pipeline_runs",
    "findings",
    "assist_usage",
];

/// An index's name and definition (`pg_get_indexdef`).
type Index = (String, String);

/// Memory each index build may sort in (PostgreSQL's default is 64 MB,
/// which spills a ten-million-row sort to disk).
const BUILD_MEMORY: &str = "256MB";

/// Drops the secondary indexes of the tables in [`TABLES`] that are
/// empty, if no other import holds them dropped. Returns those tables if
/// this session now holds [`BULK_LOCK`] (and must call [`end`]).
pub(crate) fn begin(client: &mut Client) -> Result<Option<Vec<&'static str>>> {
    if !try_lock(client)? {
        return Ok(None);
    }
    let dropped = (|| -> Result<Vec<&'static str>> {
        let mut tx = client.transaction()?;
        let mut empty: Vec<&str> = Vec::new();
        for table in TABLES {
            let any: bool = tx
                .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[])?
                .get(0);
            if !any {
                empty.push(table);
            }
        }
        for (name, definition) in drop_secondary(&mut tx, &empty)? {
            tx.execute(
                "INSERT INTO bulk_dropped_indexes (name, definition) VALUES ($1, $2)",
                &[&name, &definition],
            )?;
        }
        tx.commit()?;
        Ok(empty)
    })();
    match dropped {
        Ok(empty) => Ok(Some(empty)),
        Err(e) => {
            unlock(client)?;
            Err(e)
        }
    }
}

/// Builds every index written down as dropped, then lets go of
/// [`BULK_LOCK`] (which this session holds). With `url`, a second
/// connection builds about half of them meanwhile.
pub(crate) fn end(client: &mut Client, url: Option<&str>, days: Option<Days>) -> Result<()> {
    let built = rebuild(client, url, days);
    let unlocked = unlock(client);
    built?;
    unlocked
}

/// After a connection's schema check: indexes an import dropped and
/// never built again (it died) are built now, unless an import still
/// runs. Cheap when nothing was dropped (one `EXISTS`).
pub(crate) fn recover(client: &mut Client) -> Result<()> {
    let any: bool = client
        .query_one("SELECT EXISTS (SELECT 1 FROM bulk_dropped_indexes)", &[])?
        .get(0);
    if !any {
        return Ok(());
    }
    if try_lock(client)? {
        end(client, None, None)
    } else {
        Ok(())
    }
}

fn rebuild(client: &mut Client, url: Option<&str>, days: Option<Days>) -> Result<()> {
    let started = std::time::Instant::now();
    let mut tx = client.transaction()?;
    let dropped: Vec<Index> = tx
        .query(
            "SELECT name, definition FROM bulk_dropped_indexes ORDER BY name",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let count = dropped.len();
    // The second connection's share, and its URL.
    let ((mine, theirs), helper_url) = match url {
        Some(url) if count > 1 => (halves(&mut tx, &dropped)?, Some(url)),
        _ => ((dropped, Vec::new()), None),
    };
    if helper_url.is_some() {
        tx.batch_execute(ONE_CORE_EACH)?;
    }
    let mut tables = std::thread::scope(|scope| -> Result<Vec<String>> {
        let helper = helper_url.map(|url| scope.spawn(|| build_apart(url, &theirs)));
        let mut tables = build(&mut tx, &mine)?;
        if let Some(helper) = helper {
            let their_tables = helper
                .join()
                .map_err(|_| crate::codec::corrupt("an index build stopped unexpectedly"))??;
            tables.extend(their_tables);
        }
        Ok(tables)
    })?;
    tables.sort();
    tables.dedup();
    match days {
        Some(days) => days.write(&mut tx)?,
        // A recovery: what the importer gathered died with it.
        None if tables.iter().any(|t| t == "changes") => tx.batch_execute(FILL_CHANGE_DAYS)?,
        None => {}
    }
    tx.execute("DELETE FROM bulk_dropped_indexes", &[])?;
    // The planner has no statistics of tables filled a moment ago; the
    // refresh that follows an import plans its joins on them.
    for table in &tables {
        tx.batch_execute(&format!("ANALYZE {table}"))?;
    }
    tx.commit()?;
    if count > 0 {
        tracing::info!(
            indexes = count,
            seconds = started.elapsed().as_secs_f64(),
            "indexes dropped for a bulk import built again"
        );
    }
    Ok(())
}

/// The days (`change_days`) of the changes a bulk import's batches wrote
/// into an empty `changes`, gathered by both its connections and written
/// with the list of dropped indexes' end: one statement, where every
/// batch's had waited on the other connection's commit for the days both
/// wrote (docs/performance.md, "Issue 23, nineteenth step").
#[derive(Clone, Default)]
pub(crate) struct Days(Arc<Mutex<HashMap<String, BTreeSet<i64>>>>);

impl Days {
    pub(crate) fn add(&self, days: Vec<(&str, i64)>) {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (repo, day) in days {
            match all.get_mut(repo) {
                Some(set) => {
                    set.insert(day);
                }
                None => {
                    all.insert(repo.to_string(), BTreeSet::from([day]));
                }
            }
        }
    }

    fn write(self, tx: &mut Transaction<'_>) -> Result<()> {
        let all = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        // A webhook may have written some of them meanwhile.
        put_change_days(
            tx,
            None,
            all.iter()
                .flat_map(|(repo, days)| days.iter().map(move |&day| (repo.as_str(), day))),
        )
    }
}

/// What [`Days`] would have gathered, from the changes stored: for a
/// recovery, which finds the list of an import that died. Days as
/// `crate::change_days` counts them (floored, before 1970 too).
const FILL_CHANGE_DAYS: &str = "
    INSERT INTO change_days (repo, day)
    SELECT DISTINCT repo, committed_at / 86400000000
                          - (committed_at % 86400000000 < 0)::int
      FROM changes
    ON CONFLICT DO NOTHING";

/// Two connections building at once, without parallel workers: with
/// them each build's workers took the other's core.
const ONE_CORE_EACH: &str = "SET LOCAL max_parallel_maintenance_workers = 0";

/// Builds `indexes` on a connection of its own, committed apart: two
/// connections build on two cores (an import's largest two, both on
/// `changes`, took 4.5 and 4.2 s one after the other). Built again by a
/// recovery if the importer's own transaction fails after this one
/// commits, hence `IF NOT EXISTS` in [`build`].
fn build_apart(url: &str, indexes: &[Index]) -> Result<Vec<String>> {
    let mut client = super::open_client(url)?;
    let mut tx = client.transaction()?;
    tx.batch_execute(ONE_CORE_EACH)?;
    let tables = build(&mut tx, indexes)?;
    tx.commit()?;
    Ok(tables)
}

/// `indexes` in two lists of about the same work, the larger tables'
/// first, each to the list with less so far (a build's time follows its
/// table's size).
fn halves(tx: &mut Transaction<'_>, indexes: &[Index]) -> Result<(Vec<Index>, Vec<Index>)> {
    let mut sized: Vec<(i64, &Index)> = Vec::new();
    for index in indexes {
        let size: i64 = match table_of(&index.1) {
            Some(table) => tx
                .query_one(
                    "SELECT coalesce(pg_relation_size(to_regclass($1)), 0)",
                    &[&table],
                )?
                .get(0),
            None => 0,
        };
        sized.push((size, index));
    }
    sized.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.0.cmp(&b.1.0)));
    let (mut halves, mut work) = ((Vec::new(), Vec::new()), (0i64, 0i64));
    for (size, index) in sized {
        if work.0 <= work.1 {
            halves.0.push(index.clone());
            work.0 += size.max(1);
        } else {
            halves.1.push(index.clone());
            work.1 += size.max(1);
        }
    }
    Ok(halves)
}

/// The table of an index's definition as `pg_get_indexdef` writes it:
/// `CREATE INDEX name ON [ONLY] schema.table USING …`.
fn table_of(definition: &str) -> Option<&str> {
    let mut words = definition.split(" ON ").nth(1)?.split_whitespace();
    match words.next()? {
        "ONLY" => words.next(),
        table => Some(table),
    }
}

/// Drops the indexes of `tables` that are neither primary keys nor
/// unique, in `tx`; returns each one's name and definition.
pub(crate) fn drop_secondary(tx: &mut Transaction<'_>, tables: &[&str]) -> Result<Vec<Index>> {
    let indexes: Vec<Index> = tx
        .query(
            "SELECT c.relname::text, pg_get_indexdef(i.indexrelid)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indrelid = ANY($1::text[]::regclass[]) AND NOT i.indisunique",
            &[&tables],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (name, _) in &indexes {
        tx.batch_execute(&format!("DROP INDEX \"{name}\""))?;
    }
    Ok(indexes)
}

/// Builds `indexes` (names and definitions, as [`drop_secondary`] gives
/// them) in `tx`, each sorted in [`BUILD_MEMORY`]. Returns their tables.
pub(crate) fn build(tx: &mut Transaction<'_>, indexes: &[Index]) -> Result<Vec<String>> {
    tx.batch_execute(&format!(
        "SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"
    ))?;
    let mut tables: Vec<String> = Vec::new();
    for (name, definition) in indexes {
        // The catalog's own definition: `CREATE INDEX name ON …`; a
        // recovery may find it built by a helper that committed.
        tx.batch_execute(&definition.replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))?;
        let table: String = tx
            .query_one(
                "SELECT indrelid::regclass::text FROM pg_index WHERE indexrelid = $1::text::regclass",
                &[name],
            )?
            .get(0);
        if !tables.contains(&table) {
            tables.push(table);
        }
    }
    Ok(tables)
}

/// Takes [`BULK_LOCK`] for this session if no other session holds it.
fn try_lock(client: &mut Client) -> Result<bool> {
    Ok(client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&BULK_LOCK])?
        .get(0))
}

fn unlock(client: &mut Client) -> Result<()> {
    client.execute("SELECT pg_advisory_unlock($1)", &[&BULK_LOCK])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::table_of;

    #[test]
    fn an_index_definition_names_its_table() {
        assert_eq!(
            table_of("CREATE INDEX changes_sha ON public.changes USING btree (sha)"),
            Some("public.changes")
        );
        assert_eq!(
            table_of("CREATE INDEX p_day ON ONLY public.p USING btree (day)"),
            Some("public.p")
        );
        assert_eq!(table_of("CREATE INDEX broken"), None);
    }
}
