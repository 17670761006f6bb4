//! Retention as a periodic task of the server (governance.md rule 5): a
//! minute after start (not at once: a restart must not race the first
//! deliveries with a long purge) and then every `retention_every`, the
//! store applies the configured horizons. Each run is one transaction with its audit entry;
//! a failed run is logged and tried again at the next tick.
//!
//! Several replicas on one database each tick, but only the holder of the
//! job's lease (in the database) runs it; another takes over once a
//! holder stops renewing.

use crate::problem::Problem;
use crate::state::AppState;
use lantern_events::Timestamp;
use lantern_governance::AuditRecord;
use std::time::Duration;

pub async fn every(state: AppState, period: Duration) {
    let first = tokio::time::Instant::now() + period.min(Duration::from_secs(60));
    let mut ticks = tokio::time::interval_at(first, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let holder = replica_id();
    loop {
        ticks.tick().await;
        match lease(&state, "retention", &holder, period).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("retention: another replica holds the lease");
                continue;
            }
            Err(p) => {
                tracing::error!(detail = %p.detail, "retention: cannot take the lease; trying again later");
                continue;
            }
        }
        match run(&state).await {
            Ok(run) if run.purged_anything() => tracing::info!(?run, "applied retention"),
            Ok(_) => tracing::debug!("retention: nothing past its horizon"),
            Err(p) => tracing::error!(detail = %p.detail, "retention failed; trying again later"),
        }
    }
}

/// This process among the replicas: random, so that two never share one.
pub(crate) fn replica_id() -> String {
    let mut bytes = [0u8; 8];
    // Without randomness, the process id still tells replicas on one
    // host apart; hosts differ in practice through the time.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = (u64::from(std::process::id()) ^ Timestamp::now().micros() as u64).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Takes or renews `job`'s lease for `period`: true when this replica
/// holds it.
pub(crate) async fn lease(
    state: &AppState,
    job: &'static str,
    holder: &str,
    period: Duration,
) -> Result<bool, Problem> {
    let holder = holder.to_string();
    let micros = i64::try_from(period.as_micros()).unwrap_or(i64::MAX);
    state
        .with_store(move |store, _| {
            let now = Timestamp::now();
            store
                .take_lease(job, &holder, now, now.plus_micros(micros))
                .map_err(Problem::from)
        })
        .await
}

pub async fn run(state: &AppState) -> Result<lantern_store::RetentionRun, Problem> {
    state
        .with_store(|store, state| {
            let now = Timestamp::now();
            let settings = state.app();
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
                .map_err(Problem::from)
        })
        .await
}
