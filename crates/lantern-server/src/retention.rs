//! Retention as a periodic task of the server (governance.md rule 5): a
//! minute after start (not at once: a restart must not race the first
//! deliveries with a long purge) and then every `retention_every`, the
//! store applies the configured horizons. Each run is one transaction with its audit entry;
//! a failed run is logged and tried again at the next tick.

use crate::problem::Problem;
use crate::state::AppState;
use lantern_events::Timestamp;
use lantern_governance::AuditRecord;
use std::time::Duration;

pub async fn every(state: AppState, period: Duration) {
    let first = tokio::time::Instant::now() + period.min(Duration::from_secs(60));
    let mut ticks = tokio::time::interval_at(first, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match run(&state).await {
            Ok(run) if run.purged_anything() => tracing::info!(?run, "applied retention"),
            Ok(_) => tracing::debug!("retention: nothing past its horizon"),
            Err(p) => tracing::error!(detail = %p.detail, "retention failed; trying again later"),
        }
    }
}

pub async fn run(state: &AppState) -> Result<lantern_store::RetentionRun, Problem> {
    state
        .with_store(|store, state| {
            let now = Timestamp::now();
            let settings = state.settings();
            let horizons = settings.governance.retention.horizons(now);
            let record = AuditRecord {
                at: now,
                actor: "lantern serve".into(),
                purpose: "scheduled retention (governance.md rule 5)".into(),
                action: "retention.run".into(),
                scope: "-".into(),
                outcome: String::new(),
            };
            store
                .apply_retention(&settings.engine, &horizons, record)
                .map_err(|e| Problem::internal(e.to_string()))
        })
        .await
}
