//! The `lantern` command's parts: each command's arguments and how it
//! runs (through `lantern-app`'s use cases), as a library so that the
//! benchmarks (`crates/lantern-bench`) time exactly what users run.

pub mod allocator;
pub mod cli;
pub mod demo;
pub mod deployment_cmd;
pub mod doctor_cmd;
pub mod flow_cmd;
pub mod gate_cmd;
pub mod governance_cmd;
pub mod health_cmd;
pub mod import;
pub mod import_git;
pub mod instance;
pub mod migrate_cmd;
pub mod notify_cmd;
pub mod render;
pub mod report_cmd;
pub use lantern_engine::rng;
pub mod serve;
pub mod slo_cmd;
pub mod telemetry;
