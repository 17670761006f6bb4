//! The `lantern` binary: the edge where errors become messages and exit
//! codes. Everything it does goes sources → events → store → engine →
//! output; see docs/ARCHITECTURE.md.

mod bench;
mod bench_dashboard;
mod bench_git;
mod bench_serve;
mod cli;
mod demo;
mod git_fixture;
mod governance_cmd;
mod import;
mod import_git;
mod instance;
mod migrate_cmd;
mod render;
mod report_cmd;
mod rng;
mod serve;
mod telemetry;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init(cli.verbose);
    match cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
