//! `lantern import events FILE`: JSON Lines into the store.
//!
//! Lines are parsed and written in batches, each batch one transaction, so
//! a crash or a full disk never leaves half a batch behind. A bad line is
//! reported with its number and field and skipped; the good ones load.

use crate::config::Config;
use crate::instance::Instance;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use lantern_events::{Event, LineError, read_jsonl};
use lantern_store::Store;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::Instant;

const BATCH: usize = 20_000;
const ERRORS_SHOWN: usize = 50;

#[derive(Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub loaded: u64,
    pub rejected: u64,
    pub seconds: f64,
}

pub fn import_events(
    instance: &mut Instance,
    file: &Path,
    quiet: bool,
    config: &Config,
) -> Result<ImportSummary> {
    let (reader, len): (Box<dyn Read>, Option<u64>) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let bar = progress(len, quiet);
    let started = Instant::now();
    let mut summary = ImportSummary::default();
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut errors: Vec<LineError> = Vec::new();
    let mut write_error: Option<anyhow::Error> = None;
    let pseudonymiser = instance.pseudonymiser.clone();
    let store = &mut instance.store;
    read_jsonl(
        BufReader::with_capacity(1 << 20, reader),
        &pseudonymiser,
        |line, bytes| {
            bar.inc(bytes);
            if write_error.is_some() {
                return;
            }
            match line {
                Ok(event) => {
                    batch.push(event);
                    if batch.len() == BATCH {
                        match store.write(&batch) {
                            Ok(()) => summary.loaded += batch.len() as u64,
                            Err(e) => write_error = Some(e.into()),
                        }
                        batch.clear();
                    }
                }
                Err(e) => {
                    summary.rejected += 1;
                    if errors.len() < ERRORS_SHOWN {
                        errors.push(e);
                    }
                }
            }
        },
    )
    .with_context(|| format!("reading {}", file.display()))?;
    if let Some(e) = write_error {
        return Err(e.context(format!(
            "writing to the store failed after {} events were committed; nothing of the failed batch was written",
            summary.loaded
        )));
    }
    store.write(&batch).context("writing to the store")?;
    summary.loaded += batch.len() as u64;
    bar.finish_and_clear();
    // Part of ingestion: the next report then reads only its window.
    if quiet {
        store.refresh_facts(&config.engine, &|_, _| {})?;
    } else {
        crate::report_cmd::refresh_facts(store, config)?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    for e in &errors {
        eprintln!("{}: {e}", file.display());
    }
    if summary.rejected as usize > errors.len() {
        eprintln!(
            "… and {} more rejected lines",
            summary.rejected as usize - errors.len()
        );
    }
    Ok(summary)
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
