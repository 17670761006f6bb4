//! The data a Backstage DORA plugin reads (issue 22): per-service
//! deployments with their lead time and failure, in the shape of
//! `@liatrio/backstage-dora-plugin`'s data endpoint (`{"records": [...]}`,
//! each with `repository`, `team`, `sha`, `status`, `created_at`,
//! `merged_at`, `failed_at`, `fixed_at`, `deploy_url`,
//! `total_cycle_time`) minus its `user` and `title`. A Backstage entity
//! names its Lantern service with the annotation `lantern.dev/service`;
//! the plugin's `repositories` are those service names.

use crate::AppError;
use crate::report::Loaded;
use crate::settings::Settings;
use lantern_engine::Window;
use lantern_events::{Name, Timestamp};
use lantern_store::Store;
use serde::Serialize;

/// The entity annotation that names a Lantern service.
pub const ANNOTATION: &str = "lantern.dev/service";

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Record {
    /// The Lantern service (the plugin's "repository").
    pub repository: String,
    /// The catalog team that owns it ("" when none does).
    pub team: String,
    pub sha: Option<String>,
    /// Successful production deployments only: always true.
    pub status: bool,
    /// When it finished.
    pub created_at: String,
    /// The earliest commit it shipped (Lantern's lead time starts there).
    pub merged_at: Option<String>,
    /// When its failure showed (metrics.md: a linked incident, a rollback
    /// or a hotfix after it); null when it did not fail.
    pub failed_at: Option<String>,
    /// When it recovered; null while it has not, or did not fail.
    pub fixed_at: Option<String>,
    /// This deployment explained, on Lantern's dashboard.
    pub deploy_url: String,
    /// The median lead time of the changes it shipped, in hours.
    pub total_cycle_time: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Records {
    pub records: Vec<Record>,
}

/// The records of these services' deployments that finished in `window`
/// (services in the given order, each in time order). The report reads
/// history from 90 days before the window, as any report does.
pub fn records(
    store: &mut dyn Store,
    settings: &Settings,
    services: &[Name],
    window: Window,
) -> Result<Records, AppError> {
    let set = services.iter().cloned().collect();
    let loaded = Loaded::load_services(store, settings, Some(&set), window)?;
    let ledger = loaded.ledger(settings);
    let time = |t: Timestamp| t.to_rfc3339();
    let mut records = Vec::new();
    for s in services {
        let team = settings
            .owners(s)
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        for r in ledger.deployment_records(s, &window) {
            records.push(Record {
                repository: s.to_string(),
                team: team.clone(),
                sha: r.deployment.sha.map(|sha| sha.to_string()),
                status: true,
                created_at: time(r.finished_at),
                merged_at: r.first_commit_at.map(time),
                failed_at: r.failed_at.map(time),
                fixed_at: r.recovered_at.map(time),
                deploy_url: format!(
                    "/services/{}/deployments/{}",
                    encode(s.as_str()),
                    encode(r.deployment.id.as_str())
                ),
                total_cycle_time: r.lead_time_s.map(|s| s / 3600.0),
            });
        }
    }
    Ok(Records { records })
}

/// A path segment, percent-encoded.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
