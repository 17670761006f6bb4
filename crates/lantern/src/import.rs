//! `lantern import events FILE`: JSON Lines into the store.
//!
//! One thread reads and parses while the caller's thread writes, so parsing
//! and SQLite share the two cores instead of taking turns. Batches are one
//! transaction each, so a crash or a full disk never leaves half a batch
//! behind; on PostgreSQL two connections write each batch at once, split
//! by event id, in a transaction each (`write_in_pairs`). A bad line is
//! reported with its number and field and skipped; the good ones load.

use crate::instance::Instance;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use lantern_app::Settings;
use lantern_events::Event;
use lantern_sources::{LineError, read_jsonl};
use lantern_store::Store;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

const BATCH: usize = 20_000;
const ERRORS_SHOWN: usize = 50;

#[derive(Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub loaded: u64,
    pub rejected: u64,
    /// All of it, deriving facts included.
    pub seconds: f64,
    /// Of which deriving facts.
    pub derive_seconds: f64,
}

struct Parsed {
    rejected: u64,
    errors: Vec<LineError>,
}

pub fn import_events(
    instance: &mut Instance,
    file: &Path,
    quiet: bool,
    config: &Settings,
) -> Result<ImportSummary> {
    let (reader, len): (Box<dyn Read + Send>, Option<u64>) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let bar = progress(len, quiet);
    let started = Instant::now();
    let pseudonymiser = instance.pseudonymiser.clone();
    let pseudonymiser_for_sampling = instance.pseudonymiser.clone();
    let store = instance.store.as_mut();
    store.bulk_writes(true)?;
    let mut partner = match store.bulk_partner() {
        Some(Ok(partner)) => Some(partner),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "no second connection for the import: it writes on one");
            None
        }
        None => None,
    };
    // Each connection's transaction as large as one writer's: a table's
    // rows go by `COPY` from a few thousand a batch (postgres/write.rs).
    let batch_len = if partner.is_some() { 2 * BATCH } else { BATCH };
    let (send, receive) = sync_channel::<Vec<Event>>(4);
    let mut loaded = 0u64;

    let (written, parsed) = std::thread::scope(|scope| {
        let bar = &bar;
        let parser = scope.spawn(move || -> std::io::Result<Parsed> {
            let mut parsed = Parsed {
                rejected: 0,
                errors: Vec::new(),
            };
            let mut batch = Vec::with_capacity(batch_len);
            let mut writer_gone = false;
            read_jsonl(
                BufReader::with_capacity(1 << 20, reader),
                &pseudonymiser,
                |line, bytes| {
                    bar.inc(bytes);
                    if writer_gone {
                        return;
                    }
                    match line {
                        Ok(event) => {
                            batch.push(event);
                            if batch.len() == batch_len {
                                let full =
                                    std::mem::replace(&mut batch, Vec::with_capacity(batch_len));
                                writer_gone = send.send(full).is_err();
                            }
                        }
                        Err(e) => {
                            parsed.rejected += 1;
                            if parsed.errors.len() < ERRORS_SHOWN {
                                parsed.errors.push(e);
                            }
                        }
                    }
                },
            )?;
            if !writer_gone {
                let _ = send.send(batch);
            }
            Ok(parsed)
        });
        let sampling = &config.governance.review_sampling;
        let batches = receive.into_iter().map(|mut batch| {
            // Rule 6: unsampled review detail never reaches the store.
            sampling.apply(&pseudonymiser_for_sampling, &mut batch);
            batch
        });
        let written = match partner.as_mut() {
            Some(partner) => write_in_pairs(store, partner.as_mut(), batches, &mut loaded),
            None => write_alone(store, batches, &mut loaded),
        };
        // dropping the receiver (in `batches`) stops the parser
        let parsed = parser
            .join()
            .map_err(|_| anyhow::anyhow!("the parser thread panicked"));
        (written, parsed)
    });
    // Its transactions are over; the indexes are built after it is gone.
    drop(partner);
    // The large cache goes before the refresh (which reads each page once)
    // whether or not the writes succeeded.
    store.bulk_writes(false)?;
    crate::allocator::give_back_free_memory();
    written?;
    let parsed = parsed?.with_context(|| format!("reading {}", file.display()))?;
    bar.finish_and_clear();
    // Part of ingestion: the next report then reads only its window.
    let deriving = Instant::now();
    crate::report_cmd::refresh_facts(store, config, quiet)?;
    for e in &parsed.errors {
        eprintln!("{}: {e}", file.display());
    }
    if parsed.rejected as usize > parsed.errors.len() {
        eprintln!(
            "… and {} more rejected lines",
            parsed.rejected as usize - parsed.errors.len()
        );
    }
    Ok(ImportSummary {
        loaded,
        rejected: parsed.rejected,
        seconds: started.elapsed().as_secs_f64(),
        derive_seconds: deriving.elapsed().as_secs_f64(),
    })
}

fn write_alone(
    store: &mut dyn Store,
    batches: impl Iterator<Item = Vec<Event>>,
    loaded: &mut u64,
) -> Result<()> {
    for batch in batches {
        store.write(&batch).map_err(|e| {
            anyhow::Error::from(e).context(format!(
                "writing to the store failed after {loaded} events were committed; nothing of the failed batch was written"
            ))
        })?;
        *loaded += batch.len() as u64;
    }
    Ok(())
}

/// Each batch split between two connections (`Store::bulk_partner`),
/// written at the same time in a transaction each: PostgreSQL turns rows
/// into tuples and index entries on one core per connection, and one
/// connection left a third of two cores idle (docs/performance.md, "Issue
/// 23, seventeenth step"). The next batch starts when both have committed.
fn write_in_pairs(
    store: &mut dyn Store,
    partner: &mut (dyn Store + Send),
    batches: impl Iterator<Item = Vec<Event>>,
    loaded: &mut u64,
) -> Result<()> {
    let (to_partner, halves) = sync_channel::<Vec<Event>>(1);
    let (results, from_partner) = sync_channel::<lantern_store::Result<usize>>(1);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for half in halves {
                let written = partner.write(&half).map(|()| half.len());
                if results.send(written).is_err() {
                    return;
                }
            }
        });
        // Owning the sender, so that the partner's loop ends with it.
        let write_all = move || -> Result<()> {
            for batch in batches {
                let (mine, theirs) = lantern_store::split_for_partner(batch);
                if to_partner.send(theirs).is_err() {
                    anyhow::bail!("the import's second writer stopped");
                }
                let here = store.write(&mine).map(|()| mine.len());
                let there = from_partner
                    .recv()
                    .map_err(|_| anyhow::anyhow!("the import's second writer stopped"))?;
                let failed = match (here, there) {
                    (Ok(a), Ok(b)) => {
                        *loaded += (a + b) as u64;
                        continue;
                    }
                    (Err(e), Ok(b)) | (Ok(b), Err(e)) => {
                        *loaded += b as u64;
                        e
                    }
                    (Err(e), Err(_)) => e,
                };
                return Err(anyhow::Error::from(failed).context(format!(
                    "writing to the store failed after {loaded} events were committed; each batch is written as two transactions and nothing of a failed one is kept (importing the file again is safe: an event replaces the stored one of its id)"
                )));
            }
            Ok(())
        };
        write_all()
    })
}

fn progress(len: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} importing {bar:30} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
