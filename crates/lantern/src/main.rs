//! The `lantern` binary: the edge where errors become messages and exit
//! codes. Everything it does goes sources → events → store → engine →
//! output; see docs/ARCHITECTURE.md.

use clap::Parser;
use lantern::{cli, telemetry};
use std::process::ExitCode;

/// A report allocates and frees some hundred thousand small vectors (kept
/// tallies, decoded rows); mimalloc serves them faster than glibc's
/// allocator (docs/performance.md, issue 23's tenth step).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init(cli.verbose);
    let _ = lantern::allocator::sqlite_uses_mimalloc();
    match cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            // Asking for what does not exist (a service no event names) is
            // a usage error, like a wrong flag: exit 2, as clap's.
            match e.downcast_ref::<lantern_app::AppError>() {
                Some(lantern_app::AppError::NotFound { .. }) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
