//! `lantern import events FILE`: JSON Lines into the store.
//!
//! One thread reads and parses while the caller's thread writes, so parsing
//! and SQLite share the two cores instead of taking turns. Batches are one
//! transaction each, so a crash or a full disk never leaves half a batch
//! behind. A bad line is reported with its number and field and skipped;
//! the good ones load.

use crate::instance::Instance;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use lantern_app::Settings;
use lantern_events::Event;
use lantern_sources::{LineError, read_jsonl};
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
    let (send, receive) = sync_channel::<Vec<Event>>(4);
    let mut loaded = 0u64;

    let (written, parsed) = std::thread::scope(|scope| {
        let bar = &bar;
        let parser = scope.spawn(move || -> std::io::Result<Parsed> {
            let mut parsed = Parsed {
                rejected: 0,
                errors: Vec::new(),
            };
            let mut batch = Vec::with_capacity(BATCH);
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
                            if batch.len() == BATCH {
                                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
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
        let mut written: Result<()> = Ok(());
        let sampling = &config.governance.review_sampling;
        for mut batch in receive {
            // Rule 6: unsampled review detail never reaches the store.
            sampling.apply(&pseudonymiser_for_sampling, &mut batch);
            if let Err(e) = store.write(&batch) {
                written = Err(anyhow::Error::from(e).context(format!(
                    "writing to the store failed after {loaded} events were committed; nothing of the failed batch was written"
                )));
                break; // dropping the receiver stops the parser
            }
            loaded += batch.len() as u64;
        }
        let parsed = parser
            .join()
            .map_err(|_| anyhow::anyhow!("the parser thread panicked"));
        (written, parsed)
    });
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
